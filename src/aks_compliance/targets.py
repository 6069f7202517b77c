"""Targets: what controls are evaluated on.

A target wraps one normalised resource (an AKS cluster as ARM returns it, a Kubernetes object, ...)
with what its controls need beyond its own body: related resources (diagnostic settings attached to
a cluster), and a free-form ``context`` (for example the Kubernetes scope an object lives in, for
controls that join across objects). Each input family builds its targets (``arm/targets.py``, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .resources import Resource
from .results import TargetRef
from .textsafe import MAX_NAME, cap


@dataclass
class Target:
    resource: Resource
    label: str  # readable and unique within a run, e.g. cluster-stamp/aks-prod
    related: dict[str, list[Resource]] = field(default_factory=dict)  # lower-case type -> resources
    # Related resources whose scope could not be resolved: they may or may not belong here.
    maybe_related: dict[str, list[Resource]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # The type controls select on, when it differs from the resource type (e.g. "k8s/workload").
    match_type: str | None = None
    cluster: str | None = None  # the cluster (or cluster scope) the target belongs to
    namespace: str | None = None
    context: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.label = cap(self.label)  # labels name test ids: a 10 MB name would be in every line

    def __repr__(self) -> str:  # short: a generated repr walks the context (a whole scope) of every target
        return f"Target({self.label!r}, {self.type})"

    @property
    def type(self) -> str:
        return self.match_type or self.resource.type

    @property
    def body(self) -> dict[str, Any]:
        return self.resource.body

    def ref(self) -> TargetRef:
        r = self.resource
        name = _plain(cap(r.display_name()))
        return TargetRef(type=r.type, name=name, id=_plain(cap(r.id, 2 * MAX_NAME)) if isinstance(r.id, str) else None,
                         cluster=_plain(cap(self.cluster)) or name, namespace=_plain(cap(self.namespace)),
                         file=r.source.file, pointer=r.source.pointer, line=r.source.line,
                         pool=_plain(self.context.get("pool")))


def _plain(value: Any) -> Any:
    """Text as results carry it: a stand-in name (values.Placeholder, built from the resource group's name) is
    plain text once judged; results travel through pickles and pytest-xdist, which take exact types only."""
    return str(value) if isinstance(value, str) and type(value) is not str else value
