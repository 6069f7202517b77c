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
from pathlib import Path
from typing import Any, Iterable

from ..resources import AGENT_POOL_TYPE, CLUSTER_TYPE, Resource, Source, id_parent
from ..targets import Target
from ..values import Unknown
from .defaults import apply_cluster_defaults, apply_pool_defaults
from .inputs import ArmScan

# Resource types that are targets of their own (lower case), besides clusters.
NEIGHBOUR_TYPES = (
    "microsoft.containerregistry/registries",
    "microsoft.keyvault/vaults",
    "microsoft.network/applicationgateways",
    "microsoft.network/applicationgatewaywebapplicationfirewallpolicies",
    "microsoft.security/pricings",
)
VNET_TYPE = "microsoft.network/virtualnetworks"
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
        props = vnet.body.get("properties")
        subnets = props.get("subnets") if isinstance(props, dict) else None
        if isinstance(subnets, list):
            for i, s in enumerate(subnets):
                if isinstance(s, dict) and str(s.get("name", "")).lower() == name:
                    return vnet, ("properties", "subnets", i)
        return None


def _label(r: Resource, labels: dict[str, int]) -> str:
    stem = Path(r.source.file).name.rsplit(".", 1)[0]
    name = r.display_name() if isinstance(r.full_name, str) else f"unnamed@{r.source.line}"
    label = f"{stem}/{name}"
    n = labels.get(label, 0)
    labels[label] = n + 1
    return f"{label}#{n + 1}" if n else label


def build_arm_targets(scan: ArmScan) -> list[Target]:
    index = ResourceIndex(scan.resources)
    clusters = [r for r in scan.resources if r.type_lower == CLUSTER_TYPE]

    targets: list[Target] = []
    target_by_id: dict[str, Target] = {}
    labels: dict[str, int] = {}
    for c in clusters:
        label = _label(c, labels)
        view = Resource(c.type, c.full_name, c.id, c.source, condition=c.condition, state=c.state,
                        api_version=c.api_version)
        view._make_body = _copy_body(c, view)
        view.notes.extend(c.notes)
        t = Target(view, label, context={"index": index})
        targets.append(t)
        k = _key(c.id)
        if k and k not in target_by_id:
            target_by_id[k] = t

    docs_targets: dict[str, list[Target]] = {}
    for t in targets:
        docs_targets.setdefault(t.resource.source.file, []).append(t)

    for r in scan.resources:
        low = r.type_lower
        if low == CLUSTER_TYPE:
            continue
        if low in NEIGHBOUR_TYPES:
            targets.append(Target(r, _label(r, labels), context={"index": index}))
            continue
        if low == AGENT_POOL_TYPE:
            parent = id_parent(r.id) if isinstance(r.id, str) else None
            t = target_by_id.get(parent.lower()) if parent else None
            if t is not None:
                _merge_pool(t, r)
            elif isinstance(r.id, Unknown):
                for t in docs_targets.get(r.source.file, []):
                    _merge_unknown_pool(t, r)
            continue
        owner_id = r.scope_id if r.scope_id is not None else (id_parent(r.id) if isinstance(r.id, str) else None)
        if isinstance(owner_id, str):
            t = target_by_id.get(owner_id.lower())
            if t is not None:
                t.related.setdefault(_related_type(r), []).append(r)
        elif isinstance(owner_id, Unknown):
            for t in docs_targets.get(r.source.file, []):
                t.maybe_related.setdefault(_related_type(r), []).append(r)
    return targets


def _related_type(r: Resource) -> str:
    return r.type_lower


def _copy_body(c: Resource, view: Resource):
    def make() -> dict[str, Any]:
        body = c.body
        out = dict(body)
        props = body.get("properties")
        if isinstance(props, dict):
            out["properties"] = dict(props)
            pools = props.get("agentPoolProfiles")
            if isinstance(pools, list):
                out["properties"]["agentPoolProfiles"] = list(pools)
            _current_api_shape(out["properties"], c, view)
        apply_cluster_defaults(out, c, view.value_notes)
        return out
    return make


def _current_api_shape(props: dict[str, Any], c: Resource, view: Resource) -> None:
    """Translate legacy API shapes to the ones ARM GET returns at current API versions.

    ``securityProfile.azureDefender`` (2021-x preview APIs) is ``securityProfile.defender`` with
    ``securityMonitoring.enabled`` now (the alias ``.../securityProfile.azureDefender.enabled`` maps to
    that path); ``apiServerAuthorizedIPRanges`` (2019 APIs) is ``apiServerAccessProfile.authorizedIPRanges``.
    Evidence for the translated values cites the legacy property's line.
    """
    base = c.source.pointer + "/properties"
    sec = props.get("securityProfile")
    if isinstance(sec, dict):
        legacy = next((v for k, v in sec.items() if k.lower() == "azuredefender"), None)
        has_new = any(k.lower() == "defender" and v is not None for k, v in sec.items())
        if isinstance(legacy, dict) and not has_new:
            enabled = next((v for k, v in legacy.items() if k.lower() == "enabled"), None)
            workspace = next((v for k, v in legacy.items() if k.lower() == "loganalyticsworkspaceresourceid"), None)
            defender: dict[str, Any] = {"securityMonitoring": {"enabled": enabled}}
            if workspace is not None:
                defender["logAnalyticsWorkspaceResourceId"] = workspace
            props["securityProfile"] = dict(sec, defender=defender)
            view.origins[("properties", "securityProfile", "defender")] = Source(
                c.source.file, base + "/securityProfile/azureDefender", c.source.doc)
    legacy_ranges = next((v for k, v in props.items() if k.lower() == "apiserverauthorizedipranges"), None)
    if legacy_ranges is not None:
        access = props.get("apiServerAccessProfile")
        if access is None or (isinstance(access, dict) and access.get("authorizedIPRanges") is None):
            props["apiServerAccessProfile"] = dict(access or {}, authorizedIPRanges=legacy_ranges)
            view.origins[("properties", "apiServerAccessProfile", "authorizedIPRanges")] = Source(
                c.source.file, base + "/apiServerAuthorizedIPRanges", c.source.doc)


def _merge_pool(t: Target, pool: Resource) -> None:
    body = t.resource.body
    props = body.get("properties")
    if not isinstance(props, dict):
        return
    pools = props.get("agentPoolProfiles")
    if isinstance(pools, Unknown):
        return
    if not isinstance(pools, list):
        pools = []
        props["agentPoolProfiles"] = pools
    pool_props = pool.body.get("properties")
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
                str(existing.get("name", "")).lower() == pool_name.lower():
            index = i
            break
    if index == len(pools):
        pools.append(entry)
    else:
        pools[index] = entry
    if isinstance(entry, dict):
        apply_pool_defaults(entry, pool, index, body, t.resource.value_notes)
    t.resource.origins[("properties", "agentPoolProfiles", index)] = Source(
        pool.source.file, pool.source.pointer + "/properties", pool.source.doc)
    t.notes.append(f"node pool {pool.display_name()} comes from a separate agentPools resource at "
                   f"{pool.source.file}:{pool.source.line}")


def _merge_unknown_pool(t: Target, pool: Resource) -> None:
    body = t.resource.body
    props = body.get("properties")
    if not isinstance(props, dict) or isinstance(props.get("agentPoolProfiles"), Unknown):
        return
    pools = props.setdefault("agentPoolProfiles", [])
    if not isinstance(pools, list):
        return
    reason = pool.id.reason if isinstance(pool.id, Unknown) else "its parent is unknown"
    pools.append(Unknown(f"a node pool at {pool.source.file}:{pool.source.line} may belong to this cluster "
                         f"({reason})"))
