"""CIS AKS 4.1: RBAC and service accounts, checked by walking each binding to its role.

Binding controls evaluate every RoleBinding and ClusterRoleBinding: the role is resolved within the
scope (see :mod:`aks_compliance.k8s.rbac`), the rules granting the permission in question are cited
from the role's own file and line, and the failing evidence names every subject that holds the grant.
Subjects listed in ``exemptSubjects`` (default: the built-in ``system:masters`` group) and service
accounts of namespaces excluded on purpose (``excludedNamespaces``, empty by default: kube-system's
service accounts and bindings count) do not count; bindings matching ``exemptBindings`` (default
``system:*``, Kubernetes' reserved prefix) are not applicable, and say so.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from ...k8s import kinds
from ...k8s.checks import CLUSTER_ACCESS, SEVERAL_OBJECTS, ABSENT, Findings, cite, gap_text, glob_any, k8s_control, object_of, scope_of, unknown
from ...k8s.podspec import as_dict, as_list
from ...k8s.rules import KubeRule
from ...k8s.rbac import (AGGREGATE_LABEL, BUILTIN_AGGREGATION, Grant, cluster_admin_rules, group_matches,
                         is_cluster_admin_equivalent, resolve_grant, resource_matches, rule_grants, subjects,
                         verb_matches)
from ...k8s.scope import labels_of, meta
from ...policy.conditions import Verdict
from ...targets import Target
from ..model import Mappings, Parameter, Severity

BINDINGS = (kinds.ROLE_BINDING, kinds.CLUSTER_ROLE_BINDING)
SECTION = "CIS 4.1"
RBAC_REF = "https://kubernetes.io/docs/concepts/security/rbac-good-practices/"
EXEMPT_BINDINGS = Parameter(
    "exemptBindings", ["system:*"],
    "Binding names (globs) not checked: Kubernetes reserves the system: prefix for its own bindings. The "
    "results list them as not applicable.", type="Array")
EXEMPT_SUBJECTS = Parameter(
    "exemptSubjects", ["Group/system:masters"],
    "Subjects (Kind/name or ServiceAccount/namespace/name, globs) whose grants do not count: by default "
    "the built-in system:masters group.", type="Array")
RULE_PARAMS = (EXEMPT_BINDINGS, EXEMPT_SUBJECTS)


def _exempt_binding(target: Target, params: Mapping[str, Any]) -> str | None:
    obj = object_of(target)
    if obj is None:
        return None
    pattern = glob_any(obj.name, params.get("exemptBindings") or [])
    if pattern:
        return f"{obj.kind} {obj.name} is exempt by parameter exemptBindings (pattern {pattern!r})"
    return None


def _rule_text(rule: dict[str, Any]) -> dict[str, Any]:
    return {k: rule[k] for k in ("apiGroups", "resources", "verbs", "resourceNames", "nonResourceURLs") if k in rule}


def _cite_grant(target: Target, grant: Grant) -> None:
    for path, _, role in grant.rules:
        if role is not None:
            cite(target, role.resource, path.split(".rules[")[0])
    if grant.role is not None:
        cite(target, grant.role.resource, grant.role_label)


def binding_check(what: str, predicate: Callable[[dict[str, Any]], bool],
                  by_name: Callable[[dict[str, Any]], bool] | None = None,
                  in_namespace: Callable[[dict[str, Any]], bool] | None = None,
                  together: Callable[[list[dict[str, Any]]], list[int]] | None = None):
    """A check failing bindings whose role has a rule matching ``predicate`` and that has counted subjects.
    ``in_namespace``: what a RoleBinding's rule must match instead (it grants only requests in its namespace,
    so rules on cluster-scoped resources grant nothing through it). ``together``: the indexes of the role's rules that
    grant it together (a power no single rule need hold), instead of ``predicate``."""

    def check(target: Target, params: Mapping[str, Any]) -> Verdict:
        scope = scope_of(target)
        obj = object_of(target)
        assert obj is not None
        ref = as_dict(obj.body.get("roleRef"))
        named = by_name is not None and by_name(ref)
        grant = resolve_grant(scope, obj)
        if isinstance(grant, str) and not named:
            return unknown(f"what {obj.kind} {obj.name} grants is unknown: {grant}")
        f = Findings()
        matching: list[tuple[str, dict[str, Any]]] = []
        if isinstance(grant, Grant):
            _cite_grant(target, grant)
            matches = in_namespace if in_namespace is not None and obj.kind == "RoleBinding" else predicate
            if together is not None:
                matching = [grant.rules[i][:2] for i in together([rule for _, rule, _ in grant.rules])]
            else:
                matching = [(path, rule) for path, rule, _ in grant.rules if matches(rule)]
        excluded_ns = set(params.get("excludedNamespaces") or ())
        exempt = params.get("exemptSubjects") or []
        counted, skipped = [], []
        for s in subjects(obj):
            account = s.service_account  # a ServiceAccount, or a User named by its account's user name
            if glob_any(s.key, exempt) or (account is not None and (
                    glob_any(f"ServiceAccount/{account[0]}/{account[1]}", exempt) or account[0] in excluded_ns)):
                skipped.append(s)
            else:
                counted.append(s)
        if (matching or named) and counted:
            if named:
                f.fail("roleRef.name", "notEquals", ref.get("name"), ref.get("name"))
            for path, rule in matching:
                f.fail(path, "grants no", what, _rule_text(rule))
            for s in counted:
                f.fail(s.path, "equals", f"no subject granted {what}", s.text)
            return f.verdict()
        if matching or named:
            f.ok("subjects", "contains only", "exempt subjects (parameters exemptSubjects, excludedNamespaces)",
                 [s.text for s in skipped] or "no subjects")
            return f.verdict()
        label = grant.role_label if isinstance(grant, Grant) else "roleRef"
        note = f" ({grant.note})" if isinstance(grant, Grant) and grant.note else ""
        if isinstance(grant, Grant) and matches is not predicate and any(predicate(r) for _, r, _ in grant.rules):
            note += f" (a RoleBinding grants only within namespace {obj.namespace}: its rules on cluster-scoped " \
                    f"resources grant nothing through it)"
        f.ok(f"{label}.rules", "grants no", what, f"{len(grant.rules) if isinstance(grant, Grant) else 0} rule(s), "
                                                     f"none grants it{note}")
        return f.verdict()

    check.__name__ = f"binding_grants_no_{what.replace(' ', '_')}"
    return check


def _grants(verbs: set[str], resources: set[str], groups: set[str], by_name: bool = False
            ) -> Callable[[dict[str, Any]], bool]:
    return lambda rule: rule_grants(rule, verbs, resources, groups, by_name)


def _nodes_proxy(rule: dict[str, Any]) -> bool:
    # any verb, even on one named node: that node's kubelet runs commands in every pod on it
    return isinstance(rule, dict) and bool(as_list(rule.get("verbs"))) and \
        group_matches(rule, "") and resource_matches(rule, "nodes/proxy")


def _bind_escalate_impersonate(rule: dict[str, Any]) -> bool:
    # resourceNames do not make these safe: bind on cluster-admin by name, impersonating one admin account, are
    # the escalation itself (CIS 4.1.8 names the verbs, whatever they are restricted to)
    return rule_grants(rule, {"bind", "escalate"}, {"roles", "clusterroles"}, {"rbac.authorization.k8s.io"}, True) or \
        rule_grants(rule, {"impersonate"}, {"users", "groups", "serviceaccounts", "uids", "userextras/scopes"},
                    {"", "authentication.k8s.io"}, True)


def _bind_escalate_impersonate_in_namespace(rule: dict[str, Any]) -> bool:
    """What of it a RoleBinding grants: bind is asked in the binding's namespace (binding a ClusterRole there
    included), escalate in the namespace of the Role changed, impersonation of a service account in the account's
    namespace; users, groups, uids, user extras and changing ClusterRoles are cluster-scoped requests."""
    return rule_grants(rule, {"bind"}, {"roles", "clusterroles"}, {"rbac.authorization.k8s.io"}, True) or \
        rule_grants(rule, {"escalate"}, {"roles"}, {"rbac.authorization.k8s.io"}, True) or \
        rule_grants(rule, {"impersonate"}, {"serviceaccounts"}, {""}, True)


COREDNS_CONFIGMAPS = ("coredns", "coredns-custom")  # the CoreDNS configuration AKS reads (coredns-custom: yours)


def _coredns_write(rule: dict[str, Any]) -> bool:
    """update/patch on configmaps, unrestricted or restricted to CoreDNS's own (resourceNames are the target here)."""
    if not isinstance(rule, dict) or not group_matches(rule, "") or not resource_matches(rule, "configmaps") or \
            not any(verb_matches(rule, v) for v in ("update", "patch")):
        return False
    names = [str(n) for n in as_list(rule.get("resourceNames"))]
    return not names or any(n in COREDNS_CONFIGMAPS for n in names)


def _grants_in_kube_system(target: Target, params: Mapping[str, Any]) -> str | None:
    why = _exempt_binding(target, params)
    if why:
        return why
    obj = object_of(target)
    if obj is not None and obj.kind == "RoleBinding" and obj.namespace != "kube-system":
        return f"RoleBinding {obj.namespace}/{obj.name} grants nothing in kube-system"
    return None


def _cluster_scoped(what: str) -> Callable[[Target, Mapping[str, Any]], str | None]:
    """Not applicable to a RoleBinding: it grants its role only within its namespace, and the RBAC authorizer consults
    RoleBindings for namespaced requests only, so nothing on a cluster-scoped resource (nodes, persistentvolumes,
    certificatesigningrequests, webhook configurations) is granted by one."""

    def applies(target: Target, params: Mapping[str, Any]) -> str | None:
        why = _exempt_binding(target, params)
        if why:
            return why
        obj = object_of(target)
        if obj is not None and obj.kind == "RoleBinding":
            return (f"RoleBinding {obj.namespace}/{obj.name} grants only within namespace {obj.namespace}: {what} "
                    f"cluster-scoped, so only a ClusterRoleBinding grants access to them")
        return None

    return applies


# What reaches edit or admin: their own labels, and view's, which the bootstrap policy aggregates into edit (view is
# labelled aggregate-to-edit, edit aggregate-to-admin).
EDIT_AGGREGATION = {AGGREGATE_LABEL.format(n) for n in BUILTIN_AGGREGATION["admin"]}


def _not_edit_aggregation(target: Target, params: Mapping[str, Any]) -> str | None:
    obj = object_of(target)
    if obj is None:
        return None
    labels = labels_of(meta(obj.body))
    if obj.name in ("edit", "admin", "view", "system:aggregate-to-edit", "system:aggregate-to-admin",
                    "system:aggregate-to-view") or any(labels.get(k) == "true" for k in EDIT_AGGREGATION):
        return None
    return f"ClusterRole {obj.name} is not the edit, admin or view role and does not aggregate into them"


def no_endpoint_write(target: Target, params: Mapping[str, Any]) -> Verdict:
    obj = object_of(target)
    assert obj is not None
    f = Findings()
    write = {"create", "update", "patch"}
    rules = [(i, r) for i, r in enumerate(as_list(obj.body.get("rules"))) if isinstance(r, dict)]
    for i, r in rules:
        bad = rule_grants(r, write, {"endpoints"}, {""}) or \
            rule_grants(r, write, {"endpointslices"}, {"discovery.k8s.io"})
        f.check(not bad, f"rules[{i}]", "grants no", "create/update/patch on endpoints or endpointslices",
                _rule_text(r))
    if not rules:
        f.ok("rules", "grants no", "endpoint write", "no rules")
    return f.verdict()


# '*', and '*/<subresource>' (that subresource of every resource, RBAC's only other wildcard form). The authorizer
# reads nothing else as one (APIGroupMatches and VerbMatches: "*" or the exact name; ResourceMatches: "*", the exact
# name or "*/" + the subresource): '*.example.com' is a group of that literal name, no wildcard.
NO_WILDCARD = {"field": ".", "notEquals": "*"}
NO_RESOURCE_WILDCARD = {"allOf": [NO_WILDCARD, {"field": ".", "notStartsWith": "*/"}]}
# A non-resource URL ending in '*' is a prefix match (RBAC's NonResourceURLMatches: '*' is every path the API server
# serves, '/debug/*' every debug endpoint, pprof included): CIS 4.1.3's wildcard over the objects of a rule.
# (every '*' followed by another character: a regular expression, since a glob cannot name a literal '*' in both engines)
NO_URL_WILDCARD = {"field": ".", "matches": "([^*]|[*]+[^*])*"}
WILDCARD_ROLES = KubeRule({
    "kinds": ["Role", "ClusterRole"],
    "applies": [{"when": {"field": "$object.metadata.name", "notLikeAny": {"param": "exemptRoles"}},
                 "reason": "{value} is exempt by parameter exemptRoles"}],
    "checks": [{"scope": "object", "require": {"each": "rules", "require": {"allOf": [
        {"each": "apiGroups", "require": NO_WILDCARD}, {"each": "resources", "require": NO_RESOURCE_WILDCARD},
        {"each": "verbs", "require": NO_WILDCARD},
        {"each": "nonResourceURLs", "require": NO_URL_WILDCARD}]}}}]})


def _default_account_subjects(scope: Any) -> dict[str | None, list[tuple[str, Any, Any]]]:
    """The bindings' subjects naming a namespace's default service account, by namespace (RoleBindings first, in
    the scope's order): indexed once per scope, not walked again for each of hundreds of namespaces."""
    index = scope.memo.get("default_account_subjects")
    if index is None:
        index = scope.memo["default_account_subjects"] = {}
        for kind in ("RoleBinding", "ClusterRoleBinding"):
            for b in scope.of(kind):
                for s in subjects(b):
                    account = s.service_account  # named as a ServiceAccount, or as a User by its user name
                    if account is not None and account[1] == "default":
                        index.setdefault(account[0], []).append((kind, b, s))
    return index


def default_service_account(target: Target, params: Mapping[str, Any]) -> Verdict:
    obj = object_of(target)
    assert obj is not None
    scope = scope_of(target)
    f = Findings()
    if target.context.get("implied"):
        # not among the manifests: Kubernetes creates it with automountServiceAccountToken unset
        f.fail(f"(ServiceAccount {obj.namespace}/default, created by Kubernetes)", "equals",
               "automountServiceAccountToken false", "unset: the default ServiceAccount is not among the manifests")
    else:
        value = obj.body.get("automountServiceAccountToken", None)
        f.check(value is False, "automountServiceAccountToken", "equals", False,
                value if value is not None else ABSENT)
    gaps = [g for g in (scope.gap("RoleBinding"), scope.gap("ClusterRoleBinding")) if g]
    for kind, b, s in _default_account_subjects(scope).get(obj.namespace, ()):
        prefix = cite(target, b.resource, f"{kind}/{b.name}")
        f.fail(f"{prefix}.{s.path}", "equals", "no binding to the default service account", s.text)
    others = [o for o in scope.of("ServiceAccount", obj.namespace) if o.name != "default"]
    if others:
        prefix = cite(target, others[0].resource, f"ServiceAccount/{others[0].name}")
        f.ok(f"{prefix}.metadata.name", "exists", f"a service account of namespace {obj.namespace} besides default",
             [o.name for o in others][:10])
    elif scope.gap("ServiceAccount"):
        gaps.append(str(scope.gap("ServiceAccount")))
    else:
        f.fail(f"(ServiceAccounts of namespace {obj.namespace})", "contains",
               "a service account besides default, for workloads that need API access", "none in the scope")
    if gaps and not f.bad:
        return unknown(f"bindings of the default service account cannot be checked: {'; '.join(gaps)}", f.good)
    if not f.bad:
        f.ok("(bindings)", "contains no", "RoleBinding or ClusterRoleBinding to this service account",
             "none in the scope")
    return f.verdict()


ALL_USERS = {("User", "system:anonymous"), ("Group", "system:unauthenticated"), ("Group", "system:authenticated")}


def all_users_grants(target: Target, params: Mapping[str, Any]) -> Verdict:
    obj = object_of(target)
    assert obj is not None
    ref = as_dict(obj.body.get("roleRef"))
    allowed = set(params.get("allowedRoles") or [])
    f = Findings()
    broad = [s for s in subjects(obj) if (s.kind, s.name) in ALL_USERS]
    if broad and ref.get("name") not in allowed:
        f.fail("roleRef.name", "in", sorted(allowed), ref.get("name"))
        for s in broad:
            f.fail(s.path, "notIn", sorted(f"{k} {n}" for k, n in ALL_USERS), s.text)
        return f.verdict()
    if broad:
        f.ok("roleRef.name", "in", sorted(allowed), ref.get("name"))
    else:
        f.ok("subjects", "notIn", sorted(f"{k} {n}" for k, n in ALL_USERS),
             [s.text for s in subjects(obj)] or "no subjects")
    return f.verdict()


def _rbac(id: str, title: str, cis: str, kubescape: tuple[str, ...], what: str, predicate, rationale: str,
          remediation: str, severity: Severity = Severity.MEDIUM, azure: tuple[str, ...] = (),
          by_name=None, mitre: tuple[str, ...] = (), applies=None, mapping_note: str = "",
          in_namespace=None, together=None) -> Any:
    return k8s_control(
        id=id, title=title, severity=severity, section=SECTION, rationale=rationale, remediation=remediation,
        mappings=Mappings(cis_aks=(cis,) if cis else (), kubescape=kubescape, azure_policy=azure, mitre=mitre),
        types=BINDINGS,
        check=binding_check(what, predicate, by_name, in_namespace, together), parameters=RULE_PARAMS, applies=applies or _exempt_binding,
        mapping_note=mapping_note,
        references=(RBAC_REF,), policy_gap=gap_text(SEVERAL_OBJECTS.format(what="the binding, the Role or ClusterRole it references and the roles aggregated into it"), azure[0] if azure else None), exclusions=CLUSTER_ACCESS)


CONTROLS = [
    _rbac("AKS-134", "The cluster-admin role (or an equivalent) is bound only where required", "4.1.1",
          ("C-0185", "C-0035"), "cluster-admin (all verbs on all resources in all API groups)",
          is_cluster_admin_equivalent,
          "cluster-admin is unrestricted access to the whole cluster. Bindings to it, or to any role granting "
          "every verb on every resource in every API group (in one rule, or in several whose verbs add up to all "
          "of them), should exist only for break-glass identities. A "
          "RoleBinding to such a ClusterRole still gives full control of its namespace. The built-in "
          "system:masters group is exempt (parameter exemptSubjects).",
          "Bind narrower roles (admin, edit, or custom roles) instead; keep cluster-admin for a break-glass group "
          "and prefer Entra ID (Azure RBAC) with just-in-time elevation.", Severity.HIGH,
          ("a3dc4946-dba6-43e6-950d-f96532848c9f",),
          by_name=lambda ref: ref.get("kind") == "ClusterRole" and ref.get("name") == "cluster-admin", mitre=('T1098.006', 'T1078'),
          together=cluster_admin_rules),
    _rbac("AKS-135", "Access to secrets is minimized", "4.1.2", ("C-0186", "C-0015"), "get/list/watch on secrets",
          _grants({"get", "list", "watch"}, {"secrets"}, {""}),
          "Reading Secrets reveals credentials, tokens and keys, including service account tokens that act with "
          "other identities' permissions. list and watch return every secret's data, not only names. Rules limited "
          "to resourceNames are not counted.",
          "Remove get/list/watch on secrets from roles bound to people and workloads that do not need them; "
          "restrict necessary access with resourceNames.", Severity.HIGH, mitre=('T1552.007',)),
    k8s_control(
        id="AKS-136", exclusions=CLUSTER_ACCESS, title="Roles and ClusterRoles avoid wildcards", severity=Severity.MEDIUM, section=SECTION,
        rationale=(
            "A '*' in apiGroups, resources or verbs grants everything that exists now and everything added later "
            "(new CRDs, new subresources such as ephemeral containers), so the role's real power cannot be "
            "reviewed; a resource '*/<subresource>' (such as '*/scale') is a wildcard too, over every resource, and so is a "
            "non-resource URL ending in '*' ('*' is every path the API server serves, /metrics and /debug/pprof "
            "included; '/debug/*' every path below /debug). An aggregating "
            "ClusterRole is judged with the rules the aggregation controller gives it: in manifests, those of the "
            "ClusterRoles its aggregationRule selects among them. cluster-admin and Kubernetes' system: roles are exempt (parameter exemptRoles)."),
        remediation="List the API groups, resources, non-resource URLs and verbs the role needs instead of '*'.",
        references=(RBAC_REF,),
        mappings=Mappings(cis_aks=("4.1.3",), kubescape=("C-0187",), azure_policy=("ca8d5704-aa2b-40cf-b110-dc19052825ad",),
                          mitre=("T1098.006",)),
        mapping_note=("CIS 4.1.3 asks to minimize any wildcard; kubescape C-0187's rule flags only a rule with '*' in "
                      "verbs, resources and apiGroups together (and reports it through the subjects bound to the "
                      "role). A role with one wildcard, such as verbs: ['*'] on pods, fails here and passes C-0187."),
        rule=WILDCARD_ROLES,
        parameters=(Parameter("exemptRoles", ["cluster-admin", "system:*"],
                              "Role names (globs) not checked; listed as not applicable.", type="Array"),)),
    _rbac("AKS-137", "Access to create pods is minimized", "4.1.4", ("C-0188",), "create on pods",
          _grants({"create"}, {"pods"}, {""}),
          "Whoever can create pods can run any image with any service account of the namespace, mount its secrets "
          "and, without Pod Security Admission, escape to the node: pod creation is a path to every permission "
          "in the namespace.",
          "Grant create on pods only to controllers and CI identities that deploy; let people deploy through them.", mitre=('T1610',)),
    _rbac("AKS-138", "Bind, escalate and impersonate permissions are limited", "4.1.7", ("C-0191",),
          "bind/escalate on roles or impersonate on users, groups or service accounts", _bind_escalate_impersonate,
          "bind and escalate let a subject grant or create roles with permissions it does not hold, bypassing "
          "RBAC's escalation prevention; impersonate lets it act as any user, group or service account. Each is "
          "a route to cluster-admin, even restricted by resourceNames (bind on cluster-admin by name is the "
          "escalation itself), so such rules count. A RoleBinding grants only within its namespace: bind (a "
          "ClusterRole included), escalate on Roles and impersonating its service accounts count there; "
          "impersonating users, groups, uids or user extras and escalating ClusterRoles are cluster-scoped and "
          "count only through ClusterRoleBindings.",
          "Remove bind, escalate and impersonate verbs from roles except for the few administrative identities "
          "that need them.", Severity.HIGH, mitre=('T1098.006',), in_namespace=_bind_escalate_impersonate_in_namespace),
    _rbac("AKS-139", "Access to create persistent volumes is minimized", "4.1.8", ("C-0278",),
          "create on persistentvolumes", _grants({"create"}, {"persistentvolumes"}, {""}),
          "A PersistentVolume can point at a hostPath or any storage backend: creating one and claiming it gives "
          "a pod access to node files or other tenants' data, bypassing Pod Security Admission's volume rules. PersistentVolumes are cluster-scoped: only "
          "ClusterRoleBindings can grant them, so RoleBindings are not applicable.",
          "Let dynamic provisioning (StorageClasses) create volumes; remove create on persistentvolumes from users.", mitre=('T1611',),
          applies=_cluster_scoped("persistentvolumes are")),
    _rbac("AKS-140", "Access to the nodes/proxy subresource is minimized", "4.1.9", ("C-0279",),
          "access to nodes/proxy", _nodes_proxy,
          "nodes/proxy reaches the kubelet API directly: with it a subject can run commands in any pod on the node "
          "(kubelet /exec, /run) without the API server's admission or audit of pods/exec. A rule restricted to named "
          "nodes counts: one node's kubelet reaches every pod on it. Nodes are cluster-scoped: only ClusterRoleBindings "
          "grant access to them, so RoleBindings are not applicable.",
          "Remove nodes/proxy from roles; monitoring agents can use the metrics endpoints instead.", Severity.HIGH, mitre=('T1609',),
          applies=_cluster_scoped("nodes are")),
    _rbac("AKS-141", "Access to approve certificate signing requests is minimized", "4.1.10", ("C-0280",),
          "update/patch on certificatesigningrequests/approval",
          _grants({"update", "patch"}, {"certificatesigningrequests/approval"}, {"certificates.k8s.io"}),
          "Approving a CertificateSigningRequest issues a client certificate: a subject able to create and "
          "approve CSRs can mint credentials for any user or group, including system:masters where allowed. CSRs are cluster-scoped: RoleBindings are not applicable.",
          "Remove update/patch on certificatesigningrequests/approval except for the controllers that need it.",
          Severity.HIGH, mitre=('T1649',), applies=_cluster_scoped("certificatesigningrequests are")),
    _rbac("AKS-142", "Access to webhook configuration objects is minimized", "4.1.11", ("C-0281",),
          "create/update/patch/delete on validating or mutating webhook configurations",
          _grants({"create", "update", "patch", "delete", "deletecollection"},
                  {"validatingwebhookconfigurations", "mutatingwebhookconfigurations"}, {"admissionregistration.k8s.io"}),
          "Whoever controls admission webhooks sees and can change every object written to the API, secrets "
          "included, or can disable the policy engine's validation (Azure Policy / Gatekeeper). Webhook configurations are "
          "cluster-scoped: RoleBindings are not applicable.",
          "Remove write access to webhook configurations except for the policy engine and cluster operators.",
          Severity.HIGH, mitre=('T1562.001',), applies=_cluster_scoped("webhook configurations are")),
    _rbac("AKS-143", "Access to create service account tokens is minimized", "4.1.12", ("C-0282",),
          "create on serviceaccounts/token", _grants({"create"}, {"serviceaccounts/token"}, {""}, by_name=True),
          "The TokenRequest API issues tokens for a service account: whoever can create them acts with that "
          "account's permissions, for as long as the token lives. A rule restricted to named service accounts counts: "
          "a token for one powerful account is the whole risk.",
          "Remove create on serviceaccounts/token from roles that do not issue tokens.", mitre=('T1528',)),
    k8s_control(
        id="AKS-144", exclusions=CLUSTER_ACCESS, title="Default service accounts are not actively used", severity=Severity.MEDIUM,
        section=SECTION,
        rationale=(
            "Every namespace's default service account is used by any pod that names no other. If it mounts "
            "tokens or is granted roles, every such pod gets those permissions. CIS 4.1.5 asks that the default "
            "account have automountServiceAccountToken: false and no bindings (joined within the scope; a binding may name "
            "it as a ServiceAccount or as a User by its user name, system:serviceaccount:<namespace>:default), and that "
            "workloads needing API access get a service account of their own, so the namespace has one besides "
            "default. Every namespace has its default ServiceAccount: in manifests that do not declare it, it is "
            "judged as Kubernetes creates it (automountServiceAccountToken unset)."),
        remediation=(
            "Set automountServiceAccountToken: false on each namespace's default ServiceAccount and move its "
            "bindings to dedicated service accounts."),
        references=(RBAC_REF,),
        mappings=Mappings(cis_aks=("4.1.5",), kubescape=("C-0189", "C-0239"), mitre=("T1078.001",)),
        types=kinds.DEFAULT_SERVICE_ACCOUNT, check=default_service_account,
        policy_gap=gap_text(SEVERAL_OBJECTS.format(what="the default ServiceAccount and every binding that names it"))),
    k8s_control(
        id="AKS-145", exclusions=CLUSTER_ACCESS, title="Nothing is granted to anonymous or all authenticated users", severity=Severity.HIGH,
        section=SECTION,
        rationale=(
            "Bindings to system:anonymous, system:unauthenticated or system:authenticated grant their role to "
            "everyone who can reach the API server, or to every identity of the tenant (with Entra ID: every user "
            "and workload identity). Only Kubernetes' discovery roles should be granted that broadly."),
        remediation="Bind specific users, groups or service accounts instead, and remove these subjects.",
        references=(RBAC_REF,),
        mappings=Mappings(kubescape=("C-0262", "C-0265"), mitre=("T1078",)),
        types=BINDINGS, check=all_users_grants, policy_gap=gap_text(SEVERAL_OBJECTS.format(what="the binding, the Role or ClusterRole it references and the roles aggregated into it")),
        parameters=(Parameter("allowedRoles", ["system:basic-user", "system:discovery", "system:public-info-viewer"],
                              "Roles that may be granted to all users (Kubernetes' discovery defaults).", type="Array"),)),
    _rbac("AKS-162", "Access to exec into or attach to pods is minimized", "", ("C-0002",),
          "create/get on pods/exec or pods/attach", _grants({"create", "get"}, {"pods/exec", "pods/attach"}, {""}),
          "pods/exec and pods/attach run commands in, or take over the terminal of, any container of the namespace: "
          "its secrets, its service account token and its network position become the subject's, outside the "
          "workload's own audit trail. get counts as well as create: a WebSocket upgrade was authorised as get "
          "before Kubernetes 1.30.",
          "Remove pods/exec and pods/attach from roles bound to people and workloads; use ephemeral debug "
          "containers under just-in-time access instead.", Severity.HIGH, mitre=("T1609",),
          mapping_note=("kubescape C-0002 names pods/exec only; a binding granting only pods/attach, or get on "
                        "pods/exec, fails here as well (both run commands in, or take over, a container).")),
    _rbac("AKS-163", "Access to port-forward to pods is minimized", "", ("C-0063",),
          "create/get on pods/portforward", _grants({"create", "get"}, {"pods/portforward"}, {""}),
          "pods/portforward opens a tunnel from the subject's machine to any port of any pod of the namespace, past "
          "network policies, ingress controllers and their authentication.",
          "Remove pods/portforward from roles that do not need it.", mitre=("T1572",),
          mapping_note=("get on pods/portforward counts here as well as create (a WebSocket upgrade was authorised as "
                        "get before Kubernetes 1.30).")),
    _rbac("AKS-164", "Access to delete Kubernetes events is minimized", "", ("C-0031",),
          "delete/deletecollection on events", lambda r: rule_grants(r, {"delete", "deletecollection"}, {"events"}, {""})
          or rule_grants(r, {"delete", "deletecollection"}, {"events"}, {"events.k8s.io"}),
          "Events record what happened in the cluster (pods created, images pulled, probes failed). A subject that "
          "can delete them can erase the traces of its own actions before anyone looks.",
          "Remove delete and deletecollection on events from every role but the controllers that garbage-collect "
          "them.", mitre=("T1070",)),
    _rbac("AKS-165", "Access to change CoreDNS's configuration in kube-system is minimized", "", ("C-0037",),
          "update/patch on configmaps in kube-system (or on coredns / coredns-custom by name)", _coredns_write,
          "CoreDNS reads its configuration from the ConfigMaps coredns and coredns-custom in kube-system. Whoever can "
          "update them can rewrite the cluster's name resolution and send any service's traffic, and the "
          "credentials in it, to a host of their choice (DNS poisoning). ClusterRoleBindings and RoleBindings in "
          "kube-system are checked; a rule limited by resourceNames still counts when it names CoreDNS's "
          "ConfigMaps.",
          "Remove update and patch on configmaps from roles that reach kube-system; let only cluster operators "
          "change coredns-custom.", Severity.HIGH, mitre=("T1557",), applies=_grants_in_kube_system),
    k8s_control(
        id="AKS-174", exclusions=CLUSTER_ACCESS,
        title="The aggregated edit and admin roles do not grant endpoint write (CVE-2021-25740)",
        severity=Severity.MEDIUM, section=SECTION,
        rationale=(
            "Endpoints and EndpointSlices name the pod addresses behind a Service. Whoever can write them can point "
            "a Service of their namespace at pods of another namespace, and traffic an ingress controller or "
            "LoadBalancer sends there crosses the namespace boundary (CVE-2021-25740). Kubernetes 1.22 removed "
            "endpoint write from system:aggregate-to-edit, but clusters upgraded from older versions keep it (RBAC "
            "reconciliation adds, never removes). Checked on the edit and admin ClusterRoles and every ClusterRole "
            "aggregated into them, through view too (Kubernetes aggregates view into edit)."),
        remediation=(
            "Remove create, update and patch on endpoints and endpointslices from system:aggregate-to-edit (and any "
            "role labelled aggregate-to-edit or aggregate-to-admin)."),
        references=("https://github.com/kubernetes/kubernetes/issues/103675",),
        mappings=Mappings(azure_policy=("1ddac26b-ed48-4c30-8cc5-3a68c79b8001",), mitre=("T1557",)),
        types=kinds.CLUSTER_ROLE, check=no_endpoint_write, applies=_not_edit_aggregation,
        policy_gap=gap_text(SEVERAL_OBJECTS.format(what="the edit and admin ClusterRoles and every ClusterRole "
                                                        "aggregated into them"), "1ddac26b-ed48-4c30-8cc5-3a68c79b8001")),
]
