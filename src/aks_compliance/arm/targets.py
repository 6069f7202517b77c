"""Targets from ARM input: each managed cluster as ARM would return it after deployment.

Its own body, with node pools deployed as separate ``agentPools`` resources merged into
``agentPoolProfiles`` (ARM GET of a cluster lists every pool), and its extension and child
resources (diagnostic settings, maintenance configurations) attached, wherever in the scanned
inputs they were declared.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from ..resources import AGENT_POOL_TYPE, CLUSTER_TYPE, Resource, Source, id_parent
from ..targets import Target
from ..values import Unknown
from .inputs import ArmScan


def _key(value: Any) -> str | None:
    return value.lower() if isinstance(value, str) else None


def build_arm_targets(scan: ArmScan) -> list[Target]:
    clusters = [r for r in scan.resources if r.type_lower == CLUSTER_TYPE]
    by_id: dict[str, Resource] = {}
    for c in clusters:
        k = _key(c.id)
        if k:
            by_id.setdefault(k, c)

    targets: list[Target] = []
    target_by_id: dict[str, Target] = {}
    labels: dict[str, int] = {}
    for c in clusters:
        stem = Path(c.source.file).name.rsplit(".", 1)[0]
        name = c.display_name() if isinstance(c.full_name, str) else f"unnamed@{c.source.line}"
        label = f"{stem}/{name}"
        n = labels.get(label, 0)
        labels[label] = n + 1
        if n:
            label = f"{label}#{n + 1}"
        view = Resource(c.type, c.full_name, c.id, c.source, make_body=_copy_body(c), condition=c.condition)
        view.notes.extend(c.notes)
        t = Target(view, label)
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


def _copy_body(c: Resource):
    def make() -> dict[str, Any]:
        body = c.body
        out = dict(body)
        props = body.get("properties")
        if isinstance(props, dict):
            out["properties"] = dict(props)
            pools = props.get("agentPoolProfiles")
            if isinstance(pools, list):
                out["properties"]["agentPoolProfiles"] = list(pools)
        return out
    return make


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
