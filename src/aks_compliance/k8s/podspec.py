"""A pod spec wherever it lives: a Pod's ``spec``, a controller's ``spec.template.spec``, a CronJob's
``spec.jobTemplate.spec.template.spec``; with the evidence path of every field.

An object whose fields have shapes the API server rejects (a ``containers`` that is not a list, a
``securityContext`` that is a string) never reaches the checks: the engine makes it an error for every
control first (``k8s/shapes.py``). What is left malformed here (fields no shape is declared for) reads
as absent rather than crashing a check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

from .kinds import POD_PATHS

CONTAINER_GROUPS = ("containers", "initContainers", "ephemeralContainers")
# The groups that may set resources: the API server rejects resources (and ports, probes, lifecycle) on
# ephemeral containers, which run on what the pod was given.
RESOURCE_GROUPS = ("containers", "initContainers")


def dget(obj: Any, *keys: str) -> Any:
    """Nested dict get; None when any step is missing or not a dict."""
    cur = obj
    for k in keys:
        if not isinstance(cur, dict):
            return None
        cur = cur.get(k)
    return cur


def as_dict(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def as_list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else []


@dataclass
class Container:
    path: str  # evidence path of the container, e.g. spec.template.spec.containers[0]
    group: str  # containers | initContainers | ephemeralContainers
    index: int
    body: dict[str, Any]

    @property
    def name(self) -> str:
        n = self.body.get("name")
        return n if isinstance(n, str) and n else f"{self.group}[{self.index}]"

    @property
    def sc(self) -> dict[str, Any]:
        return as_dict(self.body.get("securityContext"))

    def p(self, rel: str) -> str:
        return f"{self.path}.{rel}"


class PodView:
    def __init__(self, kind: str, body: dict[str, Any]) -> None:
        spec_path, meta_path = POD_PATHS[kind]
        self.kind = kind
        self.spec_path = ".".join(spec_path)
        self.meta_path = ".".join(meta_path)
        self.spec = as_dict(dget(body, *spec_path))
        self.meta = as_dict(dget(body, *meta_path))

    def p(self, rel: str) -> str:
        return f"{self.spec_path}.{rel}"

    def mp(self, rel: str) -> str:
        return f"{self.meta_path}.{rel}"

    @property
    def sc(self) -> dict[str, Any]:
        return as_dict(self.spec.get("securityContext"))

    @property
    def annotations(self) -> dict[str, Any]:
        return as_dict(self.meta.get("annotations"))

    @property
    def labels(self) -> dict[str, str]:
        return {str(k): str(v) for k, v in as_dict(self.meta.get("labels")).items()}

    @property
    def is_windows(self) -> bool:
        return dget(self.spec, "os", "name") == "windows"

    @property
    def host_users_false(self) -> bool:
        return self.spec.get("hostUsers") is False

    def containers(self, groups: tuple[str, ...] = CONTAINER_GROUPS) -> Iterator[Container]:
        """Every container of the pod, in every group (the one iterator container-level controls use)."""
        for g in groups:
            for i, c in enumerate(as_list(self.spec.get(g))):
                yield Container(self.p(f"{g}[{i}]"), g, i, c if isinstance(c, dict) else {})

    def volumes(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for i, v in enumerate(as_list(self.spec.get("volumes"))):
            yield self.p(f"volumes[{i}]"), v if isinstance(v, dict) else {}


def pod_view(target: Any) -> PodView:
    """The (cached) pod view of a workload target."""
    view = target.context.get("_pod")
    if view is None:
        view = PodView(target.resource.type, target.resource.body)
        target.context["_pod"] = view
    return view
