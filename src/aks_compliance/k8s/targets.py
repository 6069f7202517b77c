"""Scopes from inputs, and targets from scopes.

Every object becomes a :class:`Resource` (type = kind, full name ``namespace/name``, id
``k8s://<scope>/<namespace>/<kind>/<name>``, source = file + pointer + line). Objects some control
selects on also become a :class:`Target` whose ``match_type`` is what controls select (``k8s/workload``
for Pods and every workload controller, ``k8s/Namespace``, ``k8s/RoleBinding`` ...), with
``cluster`` = the scope's name and ``context = {"scope": scope, "object": obj}``. Besides objects:

* one ``k8s/cluster`` target per scope, for cluster-wide controls (policy engine present);
* for manifests, a ``k8s/Namespace`` target for each namespace objects use but no Namespace object
  declares (``context["implied"]``), so per-namespace controls still run in CI;
* for each kind a snapshot could not read, one placeholder target per target type of that kind
  (``context["gap"]``), so the controls that would have checked those objects say *unknown* with the
  reason instead of passing by silence.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any

from ..diagnostics import NOT_EVALUATED, CoverageEntry, Diagnostic
from ..errors import InputError
from ..redaction import redact_capped, redact_text, scrub
from ..resources import Resource, Source
from ..targets import Target
from ..textsafe import MAX_NAME
from . import kinds
from .manifests import LineDocument, read_manifests
from .rbac import fill_aggregated_rules
from .scope import K8sObject, K8sScope, meta
from .snapshot import SnapshotLines, is_snapshot_file, read_snapshot

_VERSION = re.compile(r"v?(\d+)\.(\d+)")


def scope_name_for(path: Path) -> str:
    # `--k8s .` (or ..): the directory's own name, so test ids read my-app/ns/Kind/name, not /ns/Kind/name
    name = path.name if path.name not in ("", ".", "..") else (path.resolve().name or "root")
    for suffix in (".json.gz", ".yaml.gz", ".gz", ".yaml", ".yml", ".json"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)] or name
    return name


def _unique(name: str, taken: set[str]) -> str:
    out, n = name, 1
    while out in taken:
        n += 1
        out = f"{name}-{n}"
    taken.add(out)
    return out


def parse_version(value: Any) -> tuple[int, int] | None:
    if isinstance(value, dict):
        major, minor = str(value.get("major", "")), re.sub(r"\D.*$", "", str(value.get("minor", "")))
        if major.isdigit() and minor.isdigit():
            return int(major), int(minor)
        value = value.get("gitVersion")
    if isinstance(value, str):
        m = _VERSION.match(value.strip())
        if m:
            return int(m.group(1)), int(m.group(2))
    return None


def _add_objects(scope: K8sScope, objects: list[tuple[dict[str, Any], Source]]) -> None:
    for body, source in objects:
        kind = body.get("kind")
        if not isinstance(kind, str):
            continue
        m = meta(body)
        name = m.get("name") if isinstance(m.get("name"), str) and m.get("name") else f"{m.get('generateName', '')}*"
        given = m.get("namespace") if isinstance(m.get("namespace"), str) and m.get("namespace") else None
        kind_scope = scope.kind_scope(body.get("apiVersion"), kind)
        assumed = unknown_scope = False
        if kind_scope == "cluster":
            ns = None
        elif given is not None:
            ns = given
        elif scope.is_snapshot:
            ns = None  # the API server sets the namespace of every namespaced object
        elif kind_scope == "namespaced":
            ns, assumed = "default", True  # what kubectl apply does without -n
        else:
            ns, unknown_scope = None, True
        full = f"{ns}/{name}" if ns else name
        rid = f"k8s://{scope.name}/{ns}/{kind}/{name}" if ns else f"k8s://{scope.name}/{kind}/{name}"
        res = Resource(type=kind, full_name=full, id=rid, source=source, body=body)
        scope.add(K8sObject(kind, ns, name, res, assumed, unknown_scope))


def unknown_kinds(scope: K8sScope) -> list[Diagnostic]:
    """One warning per kind that is neither a Kubernetes built-in nor selected by a control: its objects
    are kept (for lookups) but no control checks them; a misspelt kind is named with what it resembles."""
    first: dict[str, K8sObject] = {}
    count: dict[str, int] = {}
    for obj in scope.objects:
        # custom resources the controls read (Cilium's policies, Gateway API and Istio routes) are no surprise
        if obj.kind not in kinds.BUILTIN_KINDS and obj.kind not in kinds.BY_KIND \
                and obj.kind not in kinds.READ_CUSTOM_KINDS:
            first.setdefault(obj.kind, obj)
            count[obj.kind] = count.get(obj.kind, 0) + 1
    out = []
    for kind, obj in first.items():
        close = difflib.get_close_matches(kind, sorted(kinds.BUILTIN_KINDS), n=1, cutoff=0.8) or \
            [k for k in sorted(kinds.BUILTIN_KINDS) if k.lower() == kind.lower()]
        api = obj.body.get("apiVersion")
        what = (f"did you mean {close[0]}? A misspelt kind is not checked as one" if close else
                "a custom resource or a kind this tool does not know")
        src = obj.resource.source
        out.append(Diagnostic("warning", f"{count[kind]} object(s) of kind {kind!r} (apiVersion {api!r}) are not "
                              f"checked by any control: {what}; they are kept for lookups only",
                              src.file, src.pointer or "", src.line))
    return out


def unserved_api_versions(scope: K8sScope) -> list[Diagnostic]:
    """One warning per apiVersion and kind that Kubernetes no longer serves (kinds.REMOVED_API_VERSIONS), with a note
    on each object's verdicts. The object is judged as its replacement would be: the replacement keeps the spec the
    controls read (a workload's pod template, an Ingress's hosts, RBAC rules), and what the manifest asks to run is
    what an auditor needs judged; but it cannot be applied as written. A kind without a replacement (PodSecurityPolicy
    since 1.25) is checked by no control: the scan says so."""
    groups: dict[tuple[str, str], list[K8sObject]] = {}
    for obj in scope.objects:
        api = obj.resource.body.get("apiVersion")
        if isinstance(api, str) and (api, obj.kind) in kinds.REMOVED_API_VERSIONS:
            groups.setdefault((api, obj.kind), []).append(obj)
    out = []
    for (api, kind), objs in groups.items():
        release, replacement = kinds.REMOVED_API_VERSIONS[(api, kind)]
        served = f"apiVersion {api!r} of kind {kind} is not served since Kubernetes {release}"
        if replacement is None:
            what = (f"{len(objs)} object(s) of kind {kind} use apiVersion {api!r}, not served since Kubernetes "
                    f"{release}, and the kind has no replacement today: no current cluster holds them, and they are "
                    f"not checked by any control")
        else:
            what = (f"{len(objs)} object(s) of kind {kind} use apiVersion {api!r}, which Kubernetes no longer serves "
                    f"(removed in {release}; the API server refuses them as written): move them to {replacement}; "
                    f"they are read as {replacement} objects, whose spec is the same")
            for obj in objs:
                obj.resource.notes.append(f"{served}: read as {replacement} (move the manifest to it)")
        src = objs[0].resource.source
        out.append(Diagnostic("warning", what, src.file, src.pointer or "", src.line))
    return out


def load_scope(arg: str, taken: set[str], exclude: Any = (), reserved: Any = None) -> tuple[K8sScope | None, list[Diagnostic],
                                                                     list[dict[str, Any]], list[CoverageEntry]]:
    """The scope of one ``--k8s`` argument, its diagnostics, its input records and what it skipped (None as
    scope when it read no file: an empty directory, a Helm chart)."""
    path = Path(arg)
    if not path.exists():
        return None, [Diagnostic("error", "does not exist", arg)], [], []
    if path.is_file() and is_snapshot_file(path):
        try:
            snap = read_snapshot(path)
        except InputError as exc:
            return None, [Diagnostic("error", exc.message, exc.file or arg, exc.pointer or "", exc.line)], \
                [{"path": arg, "sha256": "", "kind": "k8s-snapshot"}], []
        m = snap.meta
        name = _unique(str(m.get("scope") or scope_name_for(path)), taken)
        cluster = m.get("cluster") if isinstance(m.get("cluster"), dict) else {}
        scope = K8sScope(name=name, kind="snapshot", path=arg, server_version=parse_version(cluster.get("version")),
                         meta=m)
        for gap in m.get("gaps") or []:
            if isinstance(gap, dict) and isinstance(gap.get("kind"), str):
                # a snapshot from elsewhere (or an older collector) may quote a server's credential in a reason
                scope.gaps[gap["kind"]] = redact_text(str(gap.get("reason") or "could not be read"))
        for kind, info in (m.get("lists") or {}).items():
            # a custom kind whose API group the cluster does not serve has no objects: that is complete too;
            # kubelet configurations read for some nodes only name the others, each with its reason
            if isinstance(info, dict) and (info.get("status") in ("complete", "not-served") or
                                           (kind == kinds.KUBELET_CONFIGZ and info.get("status") == "partial")):
                scope.listed.add(kind)
            if isinstance(info, dict) and isinstance(info.get("namespaced"), bool):
                scope.namespaced[kind] = info["namespaced"]
        _add_objects(scope, snap.objects)
        diags = unknown_kinds(scope) + unserved_api_versions(scope) + [Diagnostic("warning", f"{kind} could not be read from the cluster: {reason}; controls that need "
                            f"it are unknown", arg, "/meta/gaps", 1) for kind, reason in sorted(scope.gaps.items())]
        # what the snapshot says of its cluster is shown in every report: a snapshot from elsewhere may hold a
        # server URL with a password in it or an identity with a token (ours are scrubbed when written)
        record = {"path": arg, "sha256": snap.sha256, "kind": "k8s-snapshot", "scope": name,
                  "server": _shown(cluster.get("server")),
                  "server_version": _shown((cluster.get("version") or {}).get("gitVersion")
                                           if isinstance(cluster.get("version"), dict) else cluster.get("version")),
                  "collected": (m.get("collected") or {}).get("finished") if isinstance(m.get("collected"), dict) else None,
                  "identity": scrub((m.get("collector") or {}).get("identity"))
                  if isinstance(m.get("collector"), dict) else None,
                  "objects": len(snap.objects),
                  "gaps": [{"kind": k, "reason": r} for k, r in sorted(scope.gaps.items())]}
        return scope, snap.diagnostics + diags, [record], snap.skipped
    read = read_manifests(path, exclude, reserved)
    if not read.inputs:  # nothing read: no scope (a cluster target of nothing would judge nothing)
        return None, read.diagnostics, [], read.skipped
    if not read.objects and not any(d.severity == "error" for d in read.diagnostics):
        # files read, but not one Kubernetes object in them (a kustomization, prose): no scope either, so that a
        # scan given nothing else says it had no input (exit status 5) instead of passing on a cluster of nothing
        return None, read.diagnostics + [Diagnostic("warning", "no Kubernetes object to check: every document was "
                                                    "skipped (see above)", arg)], read.inputs, read.skipped
    scope = K8sScope(name=_unique(scope_name_for(path), taken), kind="manifests", path=arg)
    _add_objects(scope, read.objects)
    fill_aggregated_rules(scope)
    return scope, read.diagnostics + unknown_kinds(scope) + unserved_api_versions(scope), read.inputs, read.skipped


def as_in_cluster(docs: list[dict[str, Any]], file: str) -> None:
    """Manifest documents changed in place into what the cluster holds once they are applied: an aggregating
    ClusterRole's rules filled in (the generated policies' samples are the objects Gatekeeper sees)."""
    scope = K8sScope(name="sample", kind="manifests", path=file)
    _add_objects(scope, [(d, Source(file)) for d in docs])
    fill_aggregated_rules(scope)


def _label(scope: K8sScope, obj: K8sObject) -> str:
    return f"{scope.name}/{obj.namespace}/{obj.kind}/{obj.name}" if obj.namespace else \
        f"{scope.name}/{obj.kind}/{obj.name}"


def build_targets(scope: K8sScope) -> list[Target]:
    targets: list[Target] = []
    labels: dict[str, int] = {}

    def unique_label(label: str) -> str:
        n = labels.get(label, 0) + 1
        labels[label] = n
        return label if n == 1 else f"{label}#{n}"

    declared_ns = {o.name for o in scope.of("Namespace")}
    implied: dict[str, K8sObject] = {}
    for obj in scope.objects:
        # only a definite namespace makes a namespace exist (never a cluster-scoped object or one of unknown scope)
        if obj.namespace and obj.namespace not in declared_ns and obj.namespace not in implied:
            implied[obj.namespace] = obj
        mt = kinds.match_type(obj.kind, obj.name) if (obj.namespace or obj.kind in kinds.BUILTIN_CLUSTER_SCOPED) \
            else None
        if mt is None:
            continue
        target = Target(resource=obj.resource, label=unique_label(_label(scope, obj)), match_type=mt,
                        cluster=scope.name, namespace=obj.namespace, context={"scope": scope, "object": obj})
        if mt == kinds.NODE:
            _node_context(scope, obj, target)
        elif mt == kinds.NAMESPACE:
            obj.resource.value_notes.update(kinds.psa_label_notes(obj.resource.body))
        targets.append(target)
    if not scope.is_snapshot or scope.gap("Namespace"):
        for ns, first in implied.items():
            body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
            res = Resource(type="Namespace", full_name=ns, id=f"k8s://{scope.name}/Namespace/{ns}",
                           source=first.resource.source, body=body)
            res.notes.append(f"implied by {first.kind} {first.resource.full_name}: no Namespace object among the inputs")
            obj = K8sObject("Namespace", None, ns, res)
            targets.append(Target(resource=res, label=unique_label(f"{scope.name}/Namespace/{ns}"),
                                  match_type=kinds.NAMESPACE, cluster=scope.name, namespace=ns,
                                  context={"scope": scope, "object": obj, "implied": True}))
    if not scope.is_snapshot:
        # every namespace has a default service account, whether or not the manifests declare it
        sources = {o.name: o for o in scope.of("Namespace")} | implied
        for ns in sorted(set(sources)):
            if scope.get("ServiceAccount", ns, "default") is not None:
                continue
            first = sources[ns]
            body = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": ns}}
            res = Resource(type="ServiceAccount", full_name=f"{ns}/default",
                           id=f"k8s://{scope.name}/{ns}/ServiceAccount/default", source=first.resource.source,
                           body=body)
            res.notes.append(f"implied: Kubernetes creates the default ServiceAccount of namespace {ns}; it is not "
                             "among the manifests")
            obj = K8sObject("ServiceAccount", ns, "default", res)
            targets.append(Target(resource=res, label=unique_label(f"{scope.name}/{ns}/ServiceAccount/default"),
                                  match_type=kinds.DEFAULT_SERVICE_ACCOUNT, cluster=scope.name, namespace=ns,
                                  context={"scope": scope, "object": obj, "implied": True}))
    head = LineDocument(scope.path, SnapshotLines()) if scope.is_snapshot else None
    cluster = Resource(type="KubernetesCluster", full_name=scope.name, id=f"k8s://{scope.name}",
                       source=Source(scope.path, "/meta" if head else "", head),
                       body={"kind": "KubernetesCluster", "metadata": {"name": scope.name}})
    targets.append(Target(resource=cluster, label=unique_label(f"{scope.name}/cluster"), match_type=kinds.CLUSTER,
                          cluster=scope.name, context={"scope": scope}))
    for kind, reason in sorted(scope.gaps.items()):
        spec = kinds.BY_KIND.get(kind)
        plural = spec.plural if spec else kind.lower()
        for mt in kinds.match_types_of_kind(kind):
            res = Resource(type=kind, full_name=f"({plural}: not readable)", id=None,
                           source=Source(scope.path, "/meta", head), body={})
            suffix = "" if mt != kinds.DEFAULT_SERVICE_ACCOUNT else ":default"
            targets.append(Target(resource=res, label=unique_label(f"{scope.name}/{plural}{suffix}(unreadable)"),
                                  match_type=mt, cluster=scope.name,
                                  context={"scope": scope, "gap": f"{plural} could not be read: {reason}",
                                           "gap_kind": kind}))
    return targets


def node_pool(body: dict[str, Any]) -> str | None:
    """The AKS node pool a Node belongs to (its agentpool label)."""
    labels = meta(body).get("labels")
    if isinstance(labels, dict):
        for key in kinds.AGENT_POOL_LABELS:
            if isinstance(labels.get(key), str) and labels[key]:
                return labels[key]
    return None


def _node_context(scope: K8sScope, obj: K8sObject, target: Target) -> None:
    """A Node target carries its pool and its kubelet configuration (a related object: judged with the node)."""
    target.context["pool"] = node_pool(obj.body)
    configz = scope.get(kinds.KUBELET_CONFIGZ, None, obj.name)
    if configz is not None:
        target.context["configz"] = configz
        target.related[kinds.KUBELET_CONFIGZ.lower()] = [configz.resource]


def coverage(scope: K8sScope, targets: list[Target]) -> list[CoverageEntry]:
    """A coverage entry for each object of the scope that is not a target, with the reason no control judges it."""
    judged = {id(t.resource) for t in targets} | {id(r) for t in targets for rs in t.related.values() for r in rs}
    out = []
    for obj in scope.objects:
        if id(obj.resource) in judged:
            continue
        api = obj.body.get("apiVersion")
        if obj.scope_unknown:
            why = (f"scope unknown: {obj.kind} ({api}) is neither a Kubernetes built-in nor a known cluster-scoped "
                   "custom resource and has no metadata.namespace, so it makes no namespace exist; no control "
                   "judges it")
        elif obj.kind == kinds.KUBELET_CONFIGZ:
            why = (f"the kubelet configuration of node {obj.name}, which is not among the scanned Node objects: no "
                   "control reads it without its node")
        elif obj.kind in kinds.NETWORK_POLICY_KINDS:
            why = (f"{'cluster-scoped ' if obj.namespace is None else ''}{obj.kind} is read by the network-policy "
                   "controls for the namespaces and workloads it selects; it is not judged on its own")
        elif obj.namespace is None:
            why = f"cluster-scoped {obj.kind}: no control judges this kind"
        else:
            why = f"custom resource {obj.kind} ({api}): no control judges this kind; kept for lookups"
        src = obj.resource.source
        out.append(CoverageEntry(family="k8s", type=f"{api}/{obj.kind}" if isinstance(api, str) else obj.kind,
                                 name=obj.resource.display_name(), status=NOT_EVALUATED, reason=why, file=src.file,
                                 pointer=src.pointer, line=src.line, relevant=False))
    return out


def _shown(value: Any) -> Any:
    """A snapshot's own text about its cluster, as reports show it: credentials redacted, length capped."""
    return redact_capped(value, MAX_NAME) if isinstance(value, str) else value if isinstance(value, (int, float)) else None
