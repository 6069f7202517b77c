"""Label selectors (matchLabels, matchExpressions) and network policy semantics."""

from __future__ import annotations

from typing import Any, Iterable

from ..cidrs import cover_everything, network
from .podspec import as_dict, as_list


def selector_matches(selector: Any, labels: dict[str, str]) -> bool:
    """Kubernetes LabelSelector semantics; an empty selector matches everything, a null one nothing."""
    if selector is None:
        return False
    sel = as_dict(selector)
    for k, v in as_dict(sel.get("matchLabels")).items():
        if labels.get(str(k)) != str(v):
            return False
    for expr in as_list(sel.get("matchExpressions")):
        e = as_dict(expr)
        key, op, values = str(e.get("key")), e.get("operator"), [str(x) for x in as_list(e.get("values"))]
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
        if op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            return False
    return True


def selects_all(selector: Any) -> bool:
    sel = as_dict(selector)
    return isinstance(selector, dict) and not as_dict(sel.get("matchLabels")) and not as_list(sel.get("matchExpressions"))


def policy_types(np: dict[str, Any]) -> list[str]:
    """Effective policyTypes: as declared, else Ingress plus Egress when egress rules are present."""
    spec = as_dict(np.get("spec"))
    declared = [str(t) for t in as_list(spec.get("policyTypes"))]
    if declared:
        return declared
    return ["Ingress"] + (["Egress"] if as_list(spec.get("egress")) else [])




def cidrs_cover_everything(blocks: Iterable[tuple[Any, Any]]) -> bool:
    """Whether ip blocks ``(cidr, excepts)`` together cover every IPv4 or every IPv6 address. A rule's peers are a
    union: 0.0.0.0/1 with 128.0.0.0/1 allows what 0.0.0.0/0 does, and another peer may allow what one's except
    leaves out. A block (or an except of it) that does not parse covers nothing (the API server rejects it)."""
    covered: dict[int, list[Any]] = {4: [], 6: []}
    for cidr, excepts in blocks:
        net = network(cidr)
        if net is None:
            continue
        parts = [net]
        for text in as_list(excepts):
            ex = network(text)
            if ex is None:
                parts = []
                break
            parts = [q for p in parts for q in _without(p, ex)]
        covered[net.version] += parts
    return any(cover_everything(nets, v) for v, nets in covered.items())


def _without(net: Any, ex: Any) -> list[Any]:
    if ex.version != net.version or not net.overlaps(ex):
        return [net]
    if net.subnet_of(ex):
        return []
    return list(net.address_exclude(ex))  # CIDRs overlap only nested: ex is inside net


def rule_allows_all(rule: Any, peers_key: str) -> bool:
    """A rule with no peer restriction (or ip blocks covering every address) and no port restriction: everything is
    allowed."""
    r = as_dict(rule)
    if as_list(r.get("ports")):
        return False
    peers = as_list(r.get(peers_key))
    blocks = [as_dict(as_dict(p).get("ipBlock")) for p in peers]
    return not peers or cidrs_cover_everything((b.get("cidr"), b.get("except")) for b in blocks if b)


def allow_all_rules(np: dict[str, Any], direction: str) -> list[int]:
    """Indexes of rules of ``direction`` ('ingress'/'egress') that allow all traffic."""
    spec = as_dict(np.get("spec"))
    peers_key = "from" if direction == "ingress" else "to"
    return [i for i, r in enumerate(as_list(spec.get(direction))) if rule_allows_all(r, peers_key)]
