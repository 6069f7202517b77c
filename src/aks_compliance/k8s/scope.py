"""One cluster scope: the objects of one ``--k8s`` argument, indexed for the joins controls make.

Two kinds of scope differ in what a missing object means:

* ``snapshot`` - every kind the collector listed completely is the whole truth: an object that is
  not there does not exist. A kind it could not read (forbidden, failed) is a *gap*: anything that
  depends on it is unknown, with the reason.
* ``manifests`` - the files are part of what will be applied: an object that is not among them may
  well exist in the cluster, so joins to it are unknown (except Kubernetes built-ins known here).

Objects of namespaced kinds without ``metadata.namespace`` in manifests are placed in ``default`` (what
``kubectl apply`` does without ``-n``), remembered as *assumed* so controls about the namespace itself can
say the namespace is decided at apply time. Cluster-scoped kinds (built-in, or well-known custom resources:
``kinds.scope_of_kind``) have no namespace; a custom object of unknown scope without ``metadata.namespace``
has none either (``scope_unknown``): it never makes a namespace exist. In a snapshot the API server has set
the namespace of every namespaced object, so an object without one is cluster-scoped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..resources import Resource
from . import kinds


def meta(body: dict[str, Any]) -> dict[str, Any]:
    m = body.get("metadata")
    return m if isinstance(m, dict) else {}


def labels_of(m: dict[str, Any]) -> dict[str, str]:
    lab = m.get("labels")
    return {str(k): str(v) for k, v in lab.items()} if isinstance(lab, dict) else {}


def annotations_of(m: dict[str, Any]) -> dict[str, Any]:
    ann = m.get("annotations")
    return ann if isinstance(ann, dict) else {}


@dataclass
class K8sObject:
    """Scope bookkeeping beside a Resource: kind, namespace (effective) and name."""

    kind: str
    namespace: str | None
    name: str
    resource: Resource
    namespace_assumed: bool = False
    scope_unknown: bool = False  # a custom kind of unknown scope, without metadata.namespace

    def __repr__(self) -> str:
        return f"K8sObject({self.kind} {self.namespace or '-'}/{self.name})"

    @property
    def body(self) -> dict[str, Any]:
        return self.resource.body


@dataclass
class K8sScope:
    name: str
    kind: str  # "snapshot" | "manifests"
    path: str
    objects: list[K8sObject] = field(default_factory=list)
    gaps: dict[str, str] = field(default_factory=dict)  # kind -> why it could not be read
    listed: set[str] = field(default_factory=set)  # kinds read completely (snapshots)
    server_version: tuple[int, int] | None = None
    meta: dict[str, Any] = field(default_factory=dict)  # snapshot meta (evidence)
    namespaced: dict[str, bool] = field(default_factory=dict)  # kind -> namespaced, from the API's discovery

    def __post_init__(self) -> None:
        self._by_kind: dict[str, list[K8sObject]] = {}
        self._by_kind_ns: dict[tuple[str, str | None], list[K8sObject]] = {}
        self.memo: dict[Any, Any] = {}  # indexes the joins build once per scope (e.g. bindings by subject)
        self._index: dict[tuple[str, str | None, str], K8sObject] = {}
        self._by_resource: dict[int, K8sObject] = {}

    def __repr__(self) -> str:  # short: tracebacks show it, and its objects may be 100,000s of bodies
        return f"K8sScope({self.name!r}, {self.kind}, {len(self.objects)} objects)"

    def add(self, obj: K8sObject) -> None:
        self.objects.append(obj)
        self._by_kind.setdefault(obj.kind, []).append(obj)
        self._by_kind_ns.setdefault((obj.kind, obj.namespace), []).append(obj)
        self._index.setdefault((obj.kind, obj.namespace, obj.name), obj)
        self._by_resource[id(obj.resource)] = obj

    def of(self, kind: str, namespace: str | None = None) -> list[K8sObject]:
        if namespace is None:
            return self._by_kind.get(kind, [])
        return self._by_kind_ns.get((kind, namespace), [])

    def get(self, kind: str, namespace: str | None, name: str) -> K8sObject | None:
        return self._index.get((kind, namespace if kind not in kinds.CLUSTER_SCOPED else None, name))

    def kind_scope(self, api_version: Any, kind: str) -> str | None:
        """'cluster', 'namespaced' or None (unknown): the live API's discovery first, then what is known of the kind."""
        if kind in self.namespaced:
            return "namespaced" if self.namespaced[kind] else "cluster"
        return kinds.scope_of_kind(api_version, kind)

    def object_of(self, resource: Resource) -> K8sObject | None:
        return self._by_resource.get(id(resource))

    @property
    def is_snapshot(self) -> bool:
        return self.kind == "snapshot"

    def gap(self, kind: str) -> str | None:
        """Why objects of ``kind`` are not known in this scope (None: they are)."""
        if not self.is_snapshot:
            return None
        if kind in self.gaps:
            return self.gaps[kind]
        if kind not in self.listed:
            return f"the snapshot {self.path} does not contain {kind} objects (not collected)"
        return None

    def absent_reason(self, kind: str, namespace: str | None, name: str) -> tuple[bool, str]:
        """For an object that is not in the scope: (known not to exist, explanation)."""
        where = f"{kind} {namespace + '/' if namespace and kind not in kinds.CLUSTER_SCOPED else ''}{name}"
        gap = self.gap(kind)
        if gap:
            return False, f"{where} cannot be looked up: {gap}"
        if self.is_snapshot:
            return True, f"{where} does not exist in the cluster snapshot"
        return False, f"{where} is not among the scanned manifests (it may exist in the cluster)"
