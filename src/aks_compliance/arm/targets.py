"""Targets from ARM input: each managed cluster as ARM would return it after deployment, and the
neighbour resources the catalog judges on their own (registries, key vaults, application gateways,
WAF policies, Defender pricings).

A cluster's body is its own, with node pools deployed as separate ``agentPools`` resources merged
into ``agentPoolProfiles`` (ARM GET of a cluster lists every pool), legacy API shapes translated to
the current ones (``securityProfile.azureDefender``, ``apiServerAuthorizedIPRanges``), and its
extension and child resources (diagnostic settings, maintenance configurations) attached, wherever
in the scanned inputs they were declared. Every target's ``context["index"]`` is a
:class:`ResourceIndex` over all scanned resources, for controls that join across resources (a
gateway to its WAF policy, a KMS key to its vault, a pool to its subnet).
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any, Iterable

from ..diagnostics import NOT_EVALUATED, RELATED, CoverageEntry
from ..resources import AGENT_POOL_TYPE, CLUSTER_TYPE, DEPLOYMENT_TYPE, NEIGHBOUR_TYPES, Resource, Source, id_parent, \
    type_from_id
from ..targets import Target
from ..values import Partial, Unknown
from .api_versions import gate
from .diagnostic_settings import gate_category_groups
from .defaults import CLUSTER, POOL, apply_cluster_defaults, apply_pool_defaults, ci_get, ci_key
from .inputs import ArmScan

# Resource types that are targets of their own (lower case), besides clusters.
VNET_TYPE = "microsoft.network/virtualnetworks"
MAINTENANCE_TYPE = "microsoft.containerservice/managedclusters/maintenanceconfigurations"
BLUEPRINT_ARTIFACT_TYPE = "microsoft.blueprint/blueprints/artifacts"
SUBNET_TYPE = "microsoft.network/virtualnetworks/subnets"


def _key(value: Any) -> str | None:
    return value.lower() if isinstance(value, str) else None


class ResourceIndex:
    """Every scanned resource by id and by type (lower case), for joins across resources."""

    def __init__(self, resources: Iterable[Resource]) -> None:
        self.by_id: dict[str, Resource] = {}
        self.by_type: dict[str, list[Resource]] = {}
        for r in resources:
            self.by_type.setdefault(r.type_lower, []).append(r)
            k = _key(r.id)
            if k:
                self.by_id.setdefault(k, r)

    def get(self, resource_id: Any) -> Resource | None:
        k = _key(resource_id)
        return self.by_id.get(k) if k else None

    def of_type(self, rtype: str) -> list[Resource]:
        return self.by_type.get(rtype.lower(), [])

    def subnet(self, subnet_id: Any) -> tuple[Resource, tuple] | None:
        """The resource that declares a subnet, and the body path of the subnet object in it.

        A subnet is either its own ``virtualNetworks/subnets`` resource (path ``()``) or an entry of
        its virtual network's ``properties.subnets`` (path ``("properties", "subnets", i)``).
        """
        own = self.get(subnet_id)
        if own is not None and own.type_lower == SUBNET_TYPE:
            return own, ()
        if not isinstance(subnet_id, str) or "/subnets/" not in subnet_id.lower():
            return None
        low = subnet_id.lower()
        cut = low.rindex("/subnets/")
        vnet = self.get(subnet_id[:cut])
        name = subnet_id[cut + len("/subnets/"):].strip("/").lower()
        if vnet is None or vnet.type_lower != VNET_TYPE:
            return None
        # ARM property names are case-insensitive (a PowerShell export writes Properties, Subnets, Name).
        props_key = ci_key(vnet.body, "properties", None)
        props = vnet.body.get(props_key) if props_key is not None else None
        subnets_key = ci_key(props, "subnets", None) if isinstance(props, dict) else None
        subnets = props.get(subnets_key) if subnets_key is not None else None
        if isinstance(subnets, list):
            for i, s in enumerate(subnets):
                if isinstance(s, dict) and str(s.get(ci_key(s, "name", "name"), "")).lower() == name:
                    return vnet, (props_key, subnets_key, i)
        return None


def _label(r: Resource, labels: dict[str, int]) -> str:
    stem = Path(r.source.file).name.rsplit(".", 1)[0]
    name = r.display_name() if isinstance(r.full_name, str) else f"unnamed@{r.source.line}"
    label = f"{stem}/{name}"
    n = labels.get(label, 0)
    labels[label] = n + 1
    return f"{label}#{n + 1}" if n else label


def build_arm_targets(scan: ArmScan) -> list[Target]:
    """The targets of the scanned resources; every other resource goes into ``scan.coverage`` with the reason."""
    index = ResourceIndex(scan.resources)
    clusters = [r for r in scan.resources if r.type_lower == CLUSTER_TYPE]

    targets: list[Target] = []
    target_by_id: dict[str, Target] = {}
    labels: dict[str, int] = {}
    for c in clusters:
        label = _label(c, labels)
        view = Resource(c.type, c.full_name, c.id, c.source, condition=c.condition, state=c.state,
                        api_version=c.api_version)
        view.rejection = c.rejection  # a request ARM rejects as a whole (a name it cannot evaluate) stays rejected
        view._make_body = _copy_body(c, view)
        view.notes.extend(c.notes)
        view.origins.update(c.origins)  # where the file holds parts of the body (the CLI: properties at the top)
        t = Target(view, label, context={"index": index})
        targets.append(t)
        k = _key(c.id)
        if k and k not in target_by_id:
            target_by_id[k] = t

    cluster_targets = list(targets)
    docs_targets: dict[str, list[Target]] = {}
    for t in targets:
        docs_targets.setdefault(t.resource.source.file, []).append(t)

    def ledger(r: Resource, reason: str, **kw: Any) -> None:
        scan.coverage.append(CoverageEntry(family="arm", type=r.type, name=r.display_name(), reason=reason,
                                           file=r.source.file, pointer=r.source.pointer, line=r.source.line,
                                           **{"status": NOT_EVALUATED, **kw}))

    neighbours: dict[str, Target] = {}
    for r in scan.resources:
        if r.type_lower in NEIGHBOUR_TYPES:
            t = Target(r, _label(r, labels), context={"index": index})
            targets.append(t)
            if isinstance(r.id, str):
                neighbours.setdefault(r.id.lower(), t)

    # pools are merged into their cluster's body when it is first read: a process of a sharded run builds
    # every target but expands only the bodies of its shard
    merges: dict[int, tuple[Target, list[tuple[Any, Resource]]]] = {}
    for r in scan.resources:
        low = r.type_lower
        if low == CLUSTER_TYPE or low in NEIGHBOUR_TYPES:
            continue
        if low == AGENT_POOL_TYPE:
            parent = id_parent(r.id) if isinstance(r.id, str) else None
            t = target_by_id.get(parent.lower()) if parent else None
            same_file = docs_targets.get(r.source.file, []) if isinstance(r.id, Unknown) else []
            if t is not None:
                merges.setdefault(id(t), (t, []))[1].append((_merge_pool, r))
                ledger(r, f"node pool of {t.label}: judged with its cluster", status=RELATED, target=t.label)
            elif same_file:
                for t in same_file:
                    merges.setdefault(id(t), (t, []))[1].append((_merge_unknown_pool, r))
                ledger(r, f"node pool whose cluster is unknown ({r.id.reason}): it may belong to "  # type: ignore[union-attr]
                          f"{', '.join(t.label for t in same_file)}, whose pool controls say unknown",
                       status=RELATED, target=same_file[0].label)
            else:
                targets.append(_standalone_pool(r, _label(r, labels), index))
            continue
        gate_category_groups(r)  # each resource is visited once here
        owner_id = r.scope_id if r.scope_id is not None else (id_parent(r.id) if isinstance(r.id, str) else None)
        if isinstance(owner_id, str) and (t := target_by_id.get(owner_id.lower())) is not None:
            t.related.setdefault(_related_type(r), []).append(r)  # in the ledger as related (scan.py)
        elif isinstance(owner_id, Unknown) and docs_targets.get(r.source.file):
            for t in docs_targets[r.source.file]:
                t.maybe_related.setdefault(_related_type(r), []).append(r)
        else:
            neighbour = neighbours.get(owner_id.lower()) if isinstance(owner_id, str) else None
            bicep_k8s = _is_bicep_kubernetes(r.type_lower)
            ledger(r, _why_not_judged(r, owner_id, neighbour), **({"relevant": True} if bicep_k8s else {}))
    for t in cluster_targets:
        _merge_when_read(t, merges[id(t)][1] if id(t) in merges else [])
    return targets


def _merge_when_read(t: Target, pending: list[tuple[Any, Resource]]) -> None:
    """Merge ``pending`` pools (in the order they were read) into the cluster's body once it is made; then a
    cluster with no pool at all has pools that are unknown."""
    view = t.resource
    if view._make_body is None:  # already made: merge now
        for merge, pool in pending:
            merge(t, pool)
        _pools_unknown_if_none(view.body)
        return
    make = view._make_body

    def make_and_merge() -> dict[str, Any]:
        body = make()
        view._body, view._make_body = body, None  # the merges read the body through the resource
        for merge, pool in pending:
            merge(t, pool)
        _pools_unknown_if_none(body)
        return body
    view._make_body = make_and_merge


NO_POOLS = ("no node pool of this cluster is among the inputs (properties.agentPoolProfiles is absent or empty, and "
            "no agentPools resource of it was read): AKS requires at least one system pool, so its pools are unknown")


def _pools_unknown_if_none(body: Any) -> None:
    """Pools neither declared nor read from agentPools resources exist all the same (a template that updates a
    cluster whose pools are managed as separate resources): "no pool has a public IP" over zero pools would
    pass a cluster whose pools were never looked at."""
    props = ci_get(body, "properties")
    if type(props) is not dict:  # absent, malformed, or partly known (values.Partial)
        return
    key = ci_key(props, "agentPoolProfiles", "agentPoolProfiles")
    pools = props.get(key)
    if pools is None or pools == []:
        props[key] = Unknown(NO_POOLS)


# Types controls read through joins from a target (a pool's subnet, a KMS key's vault, a gateway's WAF policy)
JOINED_TYPES = {VNET_TYPE: "a node pool's subnet (AKS-028)", SUBNET_TYPE: "a node pool's subnet (AKS-028)",
                "microsoft.network/publicipaddresses": "a gateway's frontend (AKS-029)",
                "microsoft.operationalinsights/workspaces": "a diagnostic setting's destination"}


# A Kubernetes object declared through Bicep's Kubernetes extension (import 'kubernetes'): 'apps/Deployment@v1',
# 'core/Service@v1', 'networking.k8s.io/NetworkPolicy@v1' (group/Kind@version, no resource provider namespace).
_BICEP_KUBERNETES = re.compile(r"(core|[a-z0-9-]+(\.[a-z0-9-]+)*)/[a-z0-9]+@v[0-9a-z]+")


def _is_bicep_kubernetes(low: str) -> bool:
    return "@" in low and not low.startswith("microsoft.") and _BICEP_KUBERNETES.fullmatch(low) is not None


def _why_not_judged(r: Resource, owner_id: Any, neighbour: Target | None) -> str:
    low = r.type_lower
    if _is_bicep_kubernetes(low):
        return (f"a Kubernetes object ({r.type}) declared through Bicep's Kubernetes extension: the in-cluster "
                "controls judge manifests, so render it (or read the cluster) and scan it with --k8s")
    if low == DEPLOYMENT_TYPE:
        if r.coverage_reason:
            return r.coverage_reason
        body_props = r.body.get("properties") if isinstance(r.body, dict) else None
        if isinstance(body_props, dict) and any(k.lower() == "templatelink" for k in body_props):
            return "a linked deployment (templateLink): its template is not fetched, so what it deploys is not scanned"
        return "a nested deployment: the resources of its inline template are listed on their own"
    if low == BLUEPRINT_ARTIFACT_TYPE:
        return "a blueprint artifact: the resources of its template are listed on their own"
    if neighbour is not None:
        return f"attached to {neighbour.label}: no control judges the {r.type} of a {neighbour.resource.type}"
    attached = r.scope_id is not None or low in ("microsoft.insights/diagnosticsettings", MAINTENANCE_TYPE)
    if isinstance(owner_id, str):
        owner_type = type_from_id(owner_id) or "resource"
        if owner_type.lower() == CLUSTER_TYPE or owner_type.lower() in NEIGHBOUR_TYPES:
            return f"attached to {owner_id}, which is not among the scanned targets (not in the inputs, or " \
                   f"an existing reference)"
        if attached:
            return f"attached to a {owner_type} ({owner_id.rsplit('/', 1)[-1]}), which no control judges"
    elif isinstance(owner_id, Unknown) and attached:
        return f"attached to a resource that is unknown: {owner_id.reason}"
    if low in JOINED_TYPES:
        return f"no control judges {r.type} on its own; controls read it as {JOINED_TYPES[low]}"
    return f"no control judges {r.type}"


def _standalone_pool(pool: Resource, label: str, index: ResourceIndex) -> Target:
    """A node pool whose cluster is not among the inputs: a target of its own. Its body is a cluster that
    holds only this pool; everything else about the cluster is unknown (values.Partial), so pool-level
    controls judge the pool and cluster-level ones say why they cannot (Checkov judges pools alone too)."""
    parent = id_parent(pool.id) if isinstance(pool.id, str) else None
    cluster_name = pool.display_name().rsplit("/", 1)[0] if isinstance(pool.full_name, str) else "(unknown)"
    reason = (f"cluster '{cluster_name}' of node pool {pool.display_name()} ({pool.source.file}:{pool.source.line}) "
              f"is not among the scanned inputs: only the pool was read")
    view = Resource(pool.type, pool.full_name, pool.id, pool.source, condition=pool.condition, state=pool.state,
                    api_version=pool.api_version)
    view.rejection = pool.rejection
    view.notes.extend(pool.notes)

    def make() -> dict[str, Any]:
        props = pool.body.get("properties")
        if isinstance(props, Unknown) or (props is not None and not isinstance(props, dict)):
            entry: Any = props  # unknown or malformed: controls reading the pool say so
        else:
            entry = {"name": pool.name, **(props or {})}
        cluster_props = Partial({"agentPoolProfiles": [entry]}, reason)
        body = Partial({"type": "Microsoft.ContainerService/managedClusters", "name": cluster_name,
                        "id": parent if parent else Unknown(reason), "properties": cluster_props}, reason)
        if isinstance(entry, dict):
            view.rejection = view.rejection or gate(entry, POOL, pool, "properties.agentPoolProfiles[0].", view)
            apply_pool_defaults(entry, pool, 0, body, view.value_notes)
        return body

    view._make_body = make
    _cite_pool(view, ("properties", "agentPoolProfiles", 0), pool)
    return Target(view, label, match_type="Microsoft.ContainerService/managedClusters", cluster=cluster_name,
                  context={"index": index, "unknown_related": reason, "pool_only": reason})


def _related_type(r: Resource) -> str:
    return r.type_lower


def _copy_body(c: Resource, view: Resource):
    def make() -> dict[str, Any]:
        body = c.body
        out = _shallow(body)
        # ARM property names are case-insensitive: Properties, AgentPoolProfiles are the same properties
        props_key = ci_key(body, "properties", "properties")
        props = body.get(props_key)
        if isinstance(props, dict):
            out[props_key] = props = _shallow(props)
            pools_key = ci_key(props, "agentPoolProfiles", None)
            if pools_key is not None and isinstance(props[pools_key], list):
                props[pools_key] = pools = list(props[pools_key])  # defaults and merges write to the list: a copy
                for i, p in enumerate(pools):
                    if isinstance(p, dict):
                        pools[i] = _shallow(p)
                        view.rejection = view.rejection or gate(pools[i], POOL, c, f"properties.agentPoolProfiles[{i}].",
                                                                view)
        # what the request's API version lacks, AKS ignored (or, from API 2024-01-01, rejected): before the legacy
        # shapes are translated and the defaults fill what is absent
        view.rejection = view.rejection or gate(out, CLUSTER, c, "", view)
        props = out.get(props_key)
        if isinstance(props, dict):
            _current_api_shape(props, c, view)
        apply_cluster_defaults(out, c, view.value_notes)
        return out
    return make


def _shallow(obj: dict[str, Any]) -> dict[str, Any]:
    """A shallow copy that keeps a partly known object (values.Partial, a reference() result) partly known."""
    return dict(obj) if type(obj) is dict else copy.copy(obj)


def _current_api_shape(props: dict[str, Any], c: Resource, view: Resource) -> None:
    """Translate legacy API shapes to the ones ARM GET returns at current API versions.

    ``securityProfile.azureDefender`` (2021-x preview APIs) is ``securityProfile.defender`` with
    ``securityMonitoring.enabled`` now (the alias ``.../securityProfile.azureDefender.enabled`` maps to
    that path); ``apiServerAuthorizedIPRanges`` (2019 APIs) is ``apiServerAccessProfile.authorizedIPRanges``.
    Evidence for the translated values cites the legacy property's line.
    """
    held, base = c.pointer_of("properties")  # where the file holds the properties (the CLI: at the top level)
    sec_key = ci_key(props, "securityProfile", "securityProfile")
    sec = props.get(sec_key)
    if isinstance(sec, dict):
        legacy = next((v for k, v in sec.items() if k.lower() == "azuredefender"), None)
        has_new = any(k.lower() == "defender" and v is not None for k, v in sec.items())
        if isinstance(legacy, Unknown) and not has_new:  # a version not known to have it (arm/api_versions.py)
            props[sec_key] = dict(sec, defender=legacy)
        elif isinstance(legacy, dict) and not has_new:
            enabled = next((v for k, v in legacy.items() if k.lower() == "enabled"), None)
            workspace = next((v for k, v in legacy.items() if k.lower() == "loganalyticsworkspaceresourceid"), None)
            defender: dict[str, Any] = {"securityMonitoring": {"enabled": enabled}}
            if workspace is not None:
                defender["logAnalyticsWorkspaceResourceId"] = workspace
            props[sec_key] = dict(sec, defender=defender)
            view.origins[("properties", "securityProfile", "defender")] = Source(
                held.file, base + "/securityProfile/azureDefender", held.doc)
    legacy_ranges = next((v for k, v in props.items() if k.lower() == "apiserverauthorizedipranges"), None)
    if legacy_ranges is not None:
        access_key = ci_key(props, "apiServerAccessProfile", "apiServerAccessProfile")
        access = props.get(access_key)
        if access is None or (isinstance(access, dict) and ci_get(access, "authorizedIPRanges") is None):
            props[access_key] = dict(access or {}, authorizedIPRanges=legacy_ranges)
            view.origins[("properties", "apiServerAccessProfile", "authorizedIPRanges")] = Source(
                held.file, base + "/apiServerAuthorizedIPRanges", held.doc)


def _merge_pool(t: Target, pool: Resource) -> None:
    body = t.resource.body
    props = ci_get(body, "properties")
    if not isinstance(props, dict):
        return
    pools_key = ci_key(props, "agentPoolProfiles", "agentPoolProfiles")
    pools = props.get(pools_key)
    if isinstance(pools, Unknown):
        return
    if not isinstance(pools, list):
        pools = []
        props[pools_key] = pools
    pool_props = ci_get(pool.body, "properties")
    pool_name = pool.name
    if isinstance(pool_props, Unknown):
        entry: Any = Unknown(f"node pool {pool.display_name()} ({pool.source.file}:{pool.source.line}) has "
                             f"settings that are unknown: {pool_props.reason}")
    elif pool_props is not None and not isinstance(pool_props, dict):
        entry = pool_props  # malformed: kept as it is, so every control reading the pool says so
    else:
        entry = {"name": pool_name}
        if isinstance(pool_props, dict):
            entry.update(copy.copy(pool_props))
    index = len(pools)
    for i, existing in enumerate(pools):
        if isinstance(existing, dict) and isinstance(pool_name, str) and \
                str(ci_get(existing, "name") or "").lower() == pool_name.lower():
            index = i
            break
    if index == len(pools):
        pools.append(entry)
    else:
        pools[index] = entry
    if isinstance(entry, dict):
        t.resource.rejection = t.resource.rejection or gate(entry, POOL, pool, f"properties.agentPoolProfiles[{index}].",
                                                            t.resource)
        apply_pool_defaults(entry, pool, index, body, t.resource.value_notes)
    _cite_pool(t.resource, ("properties", "agentPoolProfiles", index), pool)
    t.notes.append(f"node pool {pool.display_name()} comes from a separate agentPools resource at "
                   f"{pool.source.file}:{pool.source.line}")


def _cite_pool(view: Resource, at: tuple, pool: Resource) -> None:
    """Cite a pool merged at body path ``at`` where its own resource has its properties: under ``properties``
    (REST), ``Properties`` (PowerShell) or at the top level of the object (the Azure CLI), renamed keys included."""
    source, pointer = pool.pointer_of("properties")
    view.origins[at] = Source(source.file, pointer, source.doc)
    for prefix, cited in pool.origins.items():
        if len(prefix) > 1 and prefix[0] == "properties":
            view.origins[at + prefix[1:]] = cited


def _merge_unknown_pool(t: Target, pool: Resource) -> None:
    body = t.resource.body
    props = ci_get(body, "properties")
    pools_key = ci_key(props, "agentPoolProfiles", "agentPoolProfiles") if isinstance(props, dict) else ""
    if not isinstance(props, dict) or isinstance(props.get(pools_key), Unknown):
        return
    pools = props.setdefault(pools_key, [])
    if not isinstance(pools, list):
        return
    reason = pool.id.reason if isinstance(pool.id, Unknown) else "its parent is unknown"
    pools.append(Unknown(f"a node pool at {pool.source.file}:{pool.source.line} may belong to this cluster "
                         f"({reason})"))
