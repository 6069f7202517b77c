"""RBAC: from a binding to the rules it grants and the subjects it grants them to.

Rule matching follows Kubernetes' RBAC authorizer (``rbac/v1/evaluation_helpers.go``): a verb
matches ``*`` or itself; an API group ``*`` or itself; a resource ``*``, itself (``pods/exec`` for a
subresource) or ``*/<subresource>``. Rules restricted by ``resourceNames`` are the least-privilege form
and are not counted as broad grants, except where one named object is the whole risk
(``rule_grants(by_name=)``). ClusterRoles with an ``aggregationRule`` get the rules of every ClusterRole their
selectors match, transitively; in manifests the reader writes them into the aggregate as the aggregation controller
does in the cluster (``fill_aggregated_rules``), so object rules judge them too; the default admin, edit
and view roles, when not among the manifests, also get the rules of the manifests' roles labelled to aggregate
into them. A role that may be aggregated but has a shape the API server rejects makes the aggregate unknown, and so
does, in manifests, an aggregated ClusterRole with no rules whose selectors match no ClusterRole among them (the
controller fills it in the cluster from roles the manifests do not show).

When a binding's role is not in the scope, a snapshot that listed roles completely says it does not
exist (the binding grants nothing); manifests say it is unknown, except for the Kubernetes default
ClusterRoles known here (cluster-admin, admin, edit, view), whose relevant rules are built in.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Any, Iterable

from ..resources import Source
from .podspec import as_dict, as_list
from .scope import K8sObject, K8sScope, labels_of, meta
from .selectors import selector_matches
from .shapes import rejected

ALL_VERBS = frozenset({"get", "list", "watch", "create", "update", "patch", "delete"})

_EDIT_WRITE = ["create", "delete", "deletecollection", "patch", "update"]
_READ = ["get", "list", "watch"]
BUILTIN_CLUSTER_ROLES: dict[str, list[dict[str, Any]]] = {
    "cluster-admin": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                      {"nonResourceURLs": ["*"], "verbs": ["*"]}],
    "view": [{"apiGroups": [""], "resources": ["configmaps", "endpoints", "persistentvolumeclaims", "pods",
                                                "replicationcontrollers", "services", "serviceaccounts",
                                                "namespaces", "events", "limitranges", "resourcequotas", "pods/log",
                                                "pods/status"], "verbs": _READ},
             {"apiGroups": ["apps", "batch", "autoscaling", "policy", "networking.k8s.io"], "resources": ["*"],
              "verbs": _READ}],
}
BUILTIN_CLUSTER_ROLES["edit"] = BUILTIN_CLUSTER_ROLES["view"] + [
    {"apiGroups": [""], "resources": ["pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"],
     "verbs": _EDIT_WRITE},
    {"apiGroups": [""], "resources": ["configmaps", "events", "persistentvolumeclaims", "replicationcontrollers",
                                      "replicationcontrollers/scale", "secrets", "serviceaccounts", "services",
                                      "services/proxy"], "verbs": _EDIT_WRITE},
    {"apiGroups": [""], "resources": ["secrets", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy",
                                      "services/proxy"], "verbs": _READ},
    {"apiGroups": [""], "resources": ["serviceaccounts/token"], "verbs": ["create"]},
    {"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["impersonate"]},
    {"apiGroups": ["apps", "batch", "autoscaling", "policy", "networking.k8s.io"],
     "resources": ["daemonsets", "deployments", "deployments/rollback", "deployments/scale", "replicasets",
                   "replicasets/scale", "statefulsets", "statefulsets/scale", "cronjobs", "jobs",
                   "horizontalpodautoscalers", "poddisruptionbudgets", "ingresses", "networkpolicies"],
     "verbs": _EDIT_WRITE},
]
BUILTIN_CLUSTER_ROLES["admin"] = BUILTIN_CLUSTER_ROLES["edit"] + [
    {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles", "rolebindings"],
     "verbs": _EDIT_WRITE + _READ},
    {"apiGroups": ["authorization.k8s.io"], "resources": ["localsubjectaccessreviews"], "verbs": ["create"]},
]


@dataclass
class Grant:
    """What a binding's role grants: rules with where they came from."""

    rules: list[tuple[str, dict[str, Any], K8sObject | None]]  # (evidence path, rule, role it is in)
    role_label: str  # e.g. ClusterRole/edit
    role: K8sObject | None  # None for a built-in known here
    note: str = ""


def _strs(v: Any) -> list[str]:
    return [str(x) for x in as_list(v)]


def verb_matches(rule: dict[str, Any], verb: str) -> bool:
    verbs = _strs(rule.get("verbs"))
    return "*" in verbs or verb in verbs


def group_matches(rule: dict[str, Any], group: str) -> bool:
    groups = _strs(rule.get("apiGroups"))
    return "*" in groups or group in groups


def resource_matches(rule: dict[str, Any], resource: str) -> bool:
    sub = resource.split("/", 1)[1] if "/" in resource else ""
    for r in _strs(rule.get("resources")):
        if r == "*" or r == resource:
            return True
        if sub and r == f"*/{sub}":
            return True
    return False


def rule_grants(rule: dict[str, Any], verbs: Iterable[str], resources: Iterable[str], groups: Iterable[str],
                by_name: bool = False) -> bool:
    """Whether ``rule`` grants any of ``verbs`` on any of ``resources`` in any of ``groups``; a rule restricted by
    ``resourceNames`` counts only with ``by_name`` (where one named object is already the whole risk: binding
    cluster-admin, impersonating one account, one node's kubelet)."""
    if not isinstance(rule, dict) or rule.get("resourceNames") and not by_name or \
            "nonResourceURLs" in rule and not rule.get("resources"):
        return False
    return any(group_matches(rule, g) for g in groups) and any(resource_matches(rule, r) for r in resources) \
        and any(verb_matches(rule, v) for v in verbs)


def is_cluster_admin_equivalent(rule: dict[str, Any]) -> bool:
    if not isinstance(rule, dict) or rule.get("resourceNames"):
        return False
    verbs = set(_strs(rule.get("verbs")))
    return "*" in _strs(rule.get("apiGroups")) and "*" in _strs(rule.get("resources")) and \
        ("*" in verbs or ALL_VERBS <= verbs)


def cluster_admin_rules(rules: list[Any]) -> list[int]:
    """Indexes of the rules that together grant every verb on every resource in every API group: one rule that does,
    or the rules on '*' groups and '*' resources (not limited by resourceNames) whose verbs add up to all of them
    (a role may read everything in one rule and write everything in another). Empty when the role is not
    cluster-admin equivalent."""
    whole = [i for i, r in enumerate(rules) if is_cluster_admin_equivalent(r)]
    if whole:
        return whole
    wide = [i for i, r in enumerate(rules) if isinstance(r, dict) and not r.get("resourceNames")
            and "*" in _strs(r.get("apiGroups")) and "*" in _strs(r.get("resources"))]
    verbs = {v for i in wide for v in _strs(rules[i].get("verbs"))}
    return wide if "*" in verbs or ALL_VERBS <= verbs else []


# The default user-facing roles aggregate every ClusterRole labelled for them, and each other: view is labelled
# aggregate-to-edit and edit aggregate-to-admin (Kubernetes' bootstrap policy), so a role labelled
# aggregate-to-view reaches edit and admin too.
AGGREGATE_LABEL = "rbac.authorization.k8s.io/aggregate-to-{}"
BUILTIN_AGGREGATION: dict[str, tuple[str, ...]] = {
    "view": ("view",), "edit": ("edit", "view"), "admin": ("admin", "edit", "view")}

Rules = list[tuple[str, dict[str, Any], K8sObject | None]]


class _Unreadable(Exception):
    """An aggregate's rules cannot be known: a ClusterRole it may take in has a shape the API server rejects."""


def _aggregated_by(scope: K8sScope, into: str, role: K8sObject | None, selectors: list[dict[str, Any]],
                   seen: set[int]) -> Rules:
    """The rules of every ClusterRole the selectors match, and of the roles those aggregate in turn (in manifests
    an aggregated role's rules are not filled in yet). Raises _Unreadable rather than read a malformed role as
    granting nothing."""
    out: Rules = []
    if not selectors:  # a role that aggregates nothing: not a walk over every ClusterRole (for each role it took in)
        return out
    for other in scope.of("ClusterRole"):
        if other is role or id(other) in seen:
            continue
        bad = rejected(other.resource)
        if bad is not None and bad.path.startswith("metadata"):
            raise _Unreadable(f"the ClusterRole {into} aggregates ClusterRoles by label, and the labels of ClusterRole "
                              f"{other.name} have a shape the API server rejects (so whether it is aggregated cannot "
                              f"be told): {bad}")
        labels = labels_of(meta(other.body))
        if any(selector_matches(s, labels) for s in selectors):
            if bad is not None:  # read as absent, its rules would add nothing to the aggregate unseen
                raise _Unreadable(f"the ClusterRole {into} aggregates ClusterRole {other.name}, which has a shape the "
                                  f"API server rejects: {bad}")
            seen.add(id(other))
            for i, r in enumerate(written_rules(scope, other)):
                if isinstance(r, dict):
                    out.append((f"ClusterRole/{other.name}.rules[{i}]", r, other))
            out += _aggregated_by(scope, into, other, _selectors(other), seen)
    return out


def _selectors(role: K8sObject) -> list[dict[str, Any]]:
    agg = as_dict(role.body.get("aggregationRule"))
    return [s for s in as_list(agg.get("clusterRoleSelectors")) if isinstance(s, dict)]


def role_rules(scope: K8sScope, role: K8sObject, label: str) -> Rules | str:
    """The rules ``role`` grants (with those aggregated into a ClusterRole), or why they are unknown."""
    rules: Rules = [(f"{label}.rules[{i}]", r, role) for i, r in enumerate(written_rules(scope, role))
                    if isinstance(r, dict)]
    if role.kind != "ClusterRole":
        return rules
    selectors = _selectors(role)
    seen = {id(role)}
    out = _plus_aggregated(rules, scope, role.name, role, selectors, seen)
    if not isinstance(out, str) and selectors and not rules and len(seen) == 1 and not scope.is_snapshot:
        # filled by the aggregation controller in the cluster, from roles none of which is among the manifests (a
        # role dumped from a cluster has its rules filled in): what it grants there is unknown, not nothing
        return (f"the ClusterRole {role.name} aggregates ClusterRoles by label ({_selector_text(selectors)}) and none "
                "of them is among the manifests: the aggregation controller fills its rules in the cluster from "
                "roles that may exist there")
    return out


_FILLED = "aggregated_rules_filled"
_RULE_FIELDS = ("apiGroups", "resources", "verbs", "resourceNames", "nonResourceURLs")


def written_rules(scope: K8sScope, role: K8sObject) -> list[Any]:
    """The rules written in the role (of an aggregate filled in by ``fill_aggregated_rules``, those before the
    aggregated ones: the walk over its selectors reaches those again, cited from their own roles)."""
    rules = as_list(role.body.get("rules"))
    written = scope.memo.get(_FILLED, {}).get(id(role))
    return rules if written is None else rules[:written]


def fill_aggregated_rules(scope: K8sScope) -> None:
    """Manifests: add to each aggregating ClusterRole the rules the aggregation controller gives it in the cluster (the
    rules of every ClusterRole its selectors match among the manifests, transitively, each once), so that every
    control reading a role's rules (an object rule such as AKS-136 included, and its Gatekeeper policy, which sees
    the filled object) judges what the cluster holds. Evidence cites the source role's rule. The rules written in
    the aggregate are kept: the controller would replace them, but a role dumped from a cluster holds the
    controller's result from roles the manifests may not show, and dropping them could hide a grant. An aggregate
    whose selectors match no ClusterRole among the manifests is left as written (``role_rules`` says what it grants
    is unknown), and so is one that may take in a role of a shape the API server rejects (noted on the role). A
    snapshot's roles are filled in already."""
    if scope.is_snapshot:
        return
    fills: list[tuple[K8sObject, Rules]] = []
    for role in scope.of("ClusterRole"):  # all computed from the roles as written, then written in
        selectors = _selectors(role)
        if not selectors or rejected(role.resource) is not None:
            continue
        try:
            found = _aggregated_by(scope, role.name, role, selectors, {id(role)})
        except _Unreadable as exc:
            role.resource.notes.append(f"its rules are not filled in as the aggregation controller would: {exc}")
            continue
        if found:
            fills.append((role, found))
    for role, found in fills:
        res = role.resource
        kept = as_list(role.body.get("rules"))
        union: list[Any] = list(kept)
        known = {_rule_key(r) for r in union}  # (a list searched for each rule made 500 rules cost 125,000 compares)
        names: list[str] = []
        for path, rule, src in found:
            key = _rule_key(rule)
            if key in known:  # the controller adds a rule once
                continue
            known.add(key)
            i = len(union)
            union.append(copy.deepcopy(rule))
            m = re.search(r"\.rules\[(\d+)\]$", path)
            if src is not None and m:
                s = src.resource.source
                res.origins[("rules", i)] = Source(s.file, f"{s.pointer}/rules/{m.group(1)}", s.doc)
                names.append(src.name)
            note = f"filled in by the aggregation controller from {path}"
            res.value_notes[f"rules[{i}]"] = note
            for key in _RULE_FIELDS:
                res.value_notes[f"rules[{i}].{key}"] = note
                for k in range(len(as_list(rule.get(key)))):
                    res.value_notes[f"rules[{i}].{key}[{k}]"] = note
        if len(union) == len(kept):
            continue
        shown = ", ".join(dict.fromkeys(names))
        role.body["rules"] = union
        res.value_notes["rules"] = f"with the rules the aggregation controller fills in from ClusterRole {shown}"
        res.notes.append("rules filled in as the aggregation controller does in the cluster: with the rules of the "
                         f"ClusterRoles its aggregationRule selects among the manifests ({shown})")
        scope.memo.setdefault(_FILLED, {})[id(role)] = len(kept)


def _rule_key(rule: Any) -> str:
    """A rule as a set remembers it: equal rules (as Python compares them: members in any order) have one key; the
    roles read have rules of strings (a malformed role is not filled in from), where JSON text is that equality."""
    return json.dumps(rule, sort_keys=True, default=repr)


def _selector_text(selectors: list[dict[str, Any]]) -> str:
    parts = []
    for s in selectors:
        labels = [f"{k}={v}" for k, v in as_dict(s.get("matchLabels")).items()]
        labels += [f"{as_dict(e).get('key')} {as_dict(e).get('operator')}" for e in as_list(s.get("matchExpressions"))]
        parts.append(", ".join(labels) or "every ClusterRole")
    return "; ".join(parts)


def _plus_aggregated(rules: Rules, scope: K8sScope, into: str, role: K8sObject | None,
                     selectors: list[dict[str, Any]], seen: set[int]) -> Rules | str:
    """``rules`` and those the selectors aggregate into ``into``, or why the aggregate is unknown."""
    if not selectors:
        return rules
    try:
        return rules + _aggregated_by(scope, into, role, selectors, seen)
    except _Unreadable as exc:
        return str(exc)


def _builtin_rules(scope: K8sScope, name: str, label: str) -> Rules | str:
    """A default ClusterRole's own rules and those of the manifests' roles labelled to aggregate into it."""
    rules: Rules = [(f"{label} (built-in).rules[{i}]", r, None) for i, r in enumerate(BUILTIN_CLUSTER_ROLES[name])]
    selectors = [{"matchLabels": {AGGREGATE_LABEL.format(n): "true"}} for n in BUILTIN_AGGREGATION.get(name, ())]
    return _plus_aggregated(rules, scope, name, None, selectors, set())


def resolve_grant(scope: K8sScope, binding: K8sObject) -> Grant | str:
    """The rules a binding grants, or why they are unknown. Once per binding: every RBAC control, and every
    workload whose service account it binds, asks again, and an aggregated role walks every ClusterRole."""
    grants = scope.memo.setdefault("grants", {})
    hit = grants.get(id(binding))
    if hit is None:  # the scope holds the binding: its id is not reused while the scan runs
        hit = grants[id(binding)] = _resolve_grant(scope, binding)
    return hit


def _resolve_grant(scope: K8sScope, binding: K8sObject) -> Grant | str:
    ref = as_dict(binding.body.get("roleRef"))
    kind, name = ref.get("kind"), ref.get("name")
    if kind not in ("Role", "ClusterRole") or not isinstance(name, str):
        return f"roleRef of {binding.kind} {binding.name} names no Role or ClusterRole"
    if binding.kind == "ClusterRoleBinding" and kind == "Role":
        return f"ClusterRoleBinding {binding.name} refers to a Role, which Kubernetes rejects"
    ns = binding.namespace if kind == "Role" else None
    role = scope.get(kind, ns, name)
    label = f"{kind}/{name}"
    if role is not None:
        bad = rejected(role.resource)
        if bad is not None:  # read as absent, its rules would grant nothing: the binding would pass unseen
            return f"the {kind} {name} it binds has a shape the API server rejects: {bad}"
        rules = role_rules(scope, role, label)
        return rules if isinstance(rules, str) else Grant(rules, label, role)
    if kind == "ClusterRole" and name in BUILTIN_CLUSTER_ROLES and not scope.is_snapshot:
        rules = _builtin_rules(scope, name, label)
        return rules if isinstance(rules, str) else Grant(
            rules, label, None, note=f"the Kubernetes default ClusterRole {name} (not among the manifests)")
    absent, why = scope.absent_reason(kind, ns, name)
    if absent:
        return Grant([], label, None, note=why)
    return why


@dataclass
class Subject:
    kind: str
    name: str
    namespace: str | None
    path: str

    @property
    def text(self) -> str:
        return f"{self.kind} {self.namespace + '/' if self.namespace else ''}{self.name}"

    @property
    def key(self) -> str:
        return f"{self.kind}/{self.namespace + '/' if self.namespace else ''}{self.name}"

    @property
    def service_account(self) -> tuple[str, str] | None:
        """(namespace, name) of the service account this subject names: a ServiceAccount subject, or a User named by
        the account's user name ``system:serviceaccount:<namespace>:<name>``, which RBAC matches as that account
        (serviceaccount.MatchesUsername)."""
        if self.kind == "ServiceAccount":
            return (self.namespace, self.name) if self.namespace and self.name else None
        if self.kind == "User" and self.name.startswith(SA_USER_PREFIX):
            ns, sep, name = self.name[len(SA_USER_PREFIX):].partition(":")
            if sep and ns and name and ":" not in name:
                return ns, name
        return None


SA_USER_PREFIX = "system:serviceaccount:"
ALL_AUTHENTICATED = "system:authenticated"  # the authenticator adds it to every identity it authenticates
ALL_SERVICE_ACCOUNTS = "system:serviceaccounts"  # and every service account is in this one and its namespace's
# The ClusterRoles Kubernetes' bootstrap policy grants every identity (to the groups above): discovery, self-reviews,
# public cluster information and the service account issuer's OIDC documents. A binding of one of them to such a
# group is a cluster's own default, not a permission given to one workload.
PUBLIC_ROLES = frozenset({"system:basic-user", "system:discovery", "system:public-info-viewer",
                          "system:service-account-issuer-discovery"})


def groups_of_service_account(namespace: str) -> tuple[str, ...]:
    """The groups a service account's token authenticates with."""
    return ALL_SERVICE_ACCOUNTS, f"{ALL_SERVICE_ACCOUNTS}:{namespace}", ALL_AUTHENTICATED


def is_public_default(binding: K8sObject, subject: Subject) -> bool:
    """Whether ``binding`` reaches ``subject`` as Kubernetes' default grant to every identity (a bootstrap role given
    to a group every identity or service account is in)."""
    ref = as_dict(binding.body.get("roleRef"))
    return subject.kind == "Group" and ref.get("kind") == "ClusterRole" and ref.get("name") in PUBLIC_ROLES


def subjects(binding: K8sObject) -> list[Subject]:
    out = []
    for i, s in enumerate(as_list(binding.body.get("subjects"))):
        if not isinstance(s, dict):
            continue
        kind = str(s.get("kind", ""))
        ns = s.get("namespace") if kind == "ServiceAccount" else None
        if kind == "ServiceAccount" and not ns:
            ns = binding.namespace
        out.append(Subject(kind, str(s.get("name", "")), ns, f"subjects[{i}]"))
    return out


def service_account_bindings(scope: K8sScope, namespace: str, name: str) -> list[tuple[K8sObject, Subject]]:
    """Every binding in the scope that grants to ServiceAccount ``namespace/name``: naming it (as a ServiceAccount, or
    a User by its user name), or a group its token is in (``system:serviceaccounts``, ``system:serviceaccounts:<ns>``,
    ``system:authenticated``), in any namespace (a RoleBinding elsewhere grants the account rights there). Indexed
    once per scope."""
    index = scope.memo.get("sa_bindings")
    if index is None:
        index = {}
        for b in [*scope.of("RoleBinding"), *scope.of("ClusterRoleBinding")]:
            for s in subjects(b):
                account = s.service_account
                if account is not None:
                    index.setdefault(("sa", *account), []).append((b, s))
                elif s.kind == "Group" and (s.name in (ALL_SERVICE_ACCOUNTS, ALL_AUTHENTICATED)
                                            or s.name.startswith(f"{ALL_SERVICE_ACCOUNTS}:")):
                    index.setdefault(("group", s.name), []).append((b, s))
        scope.memo["sa_bindings"] = index
    found = list(index.get(("sa", namespace, name), []))
    for group in groups_of_service_account(namespace):
        found += index.get(("group", group), [])
    return found
