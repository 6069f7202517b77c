"""Label selectors (matchLabels, matchExpressions) and network policy semantics."""

from __future__ import annotations

from typing import Any

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


_ANY = ("0.0.0.0/0", "::/0")


def _peer_is_anywhere(peer: Any) -> bool:
    block = as_dict(as_dict(peer).get("ipBlock"))
    return block.get("cidr") in _ANY and not as_list(block.get("except"))


def rule_allows_all(rule: Any, peers_key: str) -> bool:
    """A rule with no peer restriction (or 0.0.0.0/0) and no port restriction: everything is allowed."""
    r = as_dict(rule)
    if as_list(r.get("ports")):
        return False
    peers = as_list(r.get(peers_key))
    return not peers or any(_peer_is_anywhere(p) for p in peers)


def allow_all_rules(np: dict[str, Any], direction: str) -> list[int]:
    """Indexes of rules of ``direction`` ('ingress'/'egress') that allow all traffic."""
    spec = as_dict(np.get("spec"))
    peers_key = "from" if direction == "ingress" else "to"
    return [i for i, r in enumerate(as_list(spec.get(direction))) if rule_allows_all(r, peers_key)]
