"""What a workload can do with the API through its service account: the join pod -> service account ->
(Cluster)RoleBindings -> roles -> rules, only where the pod mounts the account's token.

The token is mounted unless the pod (or, when the pod says nothing, its ServiceAccount) sets
``automountServiceAccountToken: false``; a projected ``serviceAccountToken`` volume mounts one whatever those
say, unless it asks for another audience than the API server's (Workload ID's ``api://AzureADTokenExchange``): the
API server rejects such a token. Bindings count when they name the service account (as a ServiceAccount, or as a User by its user name
``system:serviceaccount:<namespace>:<name>``) or a group its token is in (``system:serviceaccounts``,
``system:serviceaccounts:<namespace>``, ``system:authenticated``), RoleBindings of every namespace included (they grant
the account rights in theirs). What a binding's role grants is resolved as for
the binding controls (:mod:`aks_compliance.k8s.rbac`): a role that is not in the scope makes the verdict
unknown, except Kubernetes' default ClusterRoles.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Mapping

from ...k8s import kinds
from ...k8s.checks import CLUSTER_ACCESS, SEVERAL_OBJECTS, Findings, cite, gap_text, glob_any, k8s_control, scope_of, unknown
from ...k8s.podspec import as_dict, as_list, pod_view
from ...k8s.rbac import (cluster_admin_rules, is_cluster_admin_equivalent, is_public_default, resolve_grant,
                         rule_grants, service_account_bindings)
from ...policy.conditions import Verdict
from ...targets import Target
from ..model import Mappings, Parameter, Severity

SECTION = "Workload identity"
WORKLOAD_WRITE = {"pods": "", "deployments": "apps", "daemonsets": "apps", "statefulsets": "apps",
                  "replicasets": "apps", "jobs": "batch", "cronjobs": "batch", "replicationcontrollers": ""}


def _service_account(target: Target) -> tuple[str, str | None]:
    v = pod_view(target)
    for key in ("serviceAccountName", "serviceAccount"):
        name = v.spec.get(key)
        if isinstance(name, str) and name:
            return name, v.p(key)
    return "default", None


# A projected token's audience defaults to the API server's identifier; a token requested for another audience
# (Workload ID's api://AzureADTokenExchange, Vault, a mesh) is rejected by the API server, which accepts only its own
# audiences. Audiences that name the API server: its in-cluster name, an AKS API server's address.
_API_AUDIENCE = re.compile(r"kubernetes\.default\.svc|\.azmk8s\.io(:\d+)?/?$", re.IGNORECASE)


def _api_audience(audience: Any) -> bool:
    return audience is None or audience == "" or (isinstance(audience, str) and bool(_API_AUDIENCE.search(audience)))


def token_mounted(target: Target, f: Findings) -> bool | str:
    """Whether the pod mounts a service account token the API server accepts (evidence added to ``f``), or why that
    is unknown."""
    v = pod_view(target)
    for path, vol in v.volumes():
        for i, src in enumerate(as_list(as_dict(vol.get("projected")).get("sources"))):
            token = src.get("serviceAccountToken") if isinstance(src, dict) else None
            if isinstance(token, dict) and _api_audience(token.get("audience")):
                f.ok(f"{path}.projected.sources[{i}].serviceAccountToken", "exists", "a mounted API token", True)
                return True
            if isinstance(token, dict):
                f.ok(f"{path}.projected.sources[{i}].serviceAccountToken.audience", "is not",
                     "the API server's (a token for another audience is no API token)", token.get("audience"))
    pod_value = v.spec.get("automountServiceAccountToken")
    if isinstance(pod_value, bool):
        f.ok(v.p("automountServiceAccountToken"), "equals", "the token mount", pod_value)
        return pod_value
    scope, ns = scope_of(target), target.namespace or "default"
    name, _ = _service_account(target)
    sa = scope.get("ServiceAccount", ns, name)
    if sa is not None:
        value = sa.body.get("automountServiceAccountToken")
        prefix = cite(target, sa.resource, f"ServiceAccount/{name}")
        f.ok(f"{prefix}.automountServiceAccountToken", "equals", "the token mount (pod unset)",
             value if isinstance(value, bool) else "unset (mounted)")
        return value is not False
    known_absent, why = scope.absent_reason("ServiceAccount", ns, name)
    if known_absent or (name == "default" and not scope.is_snapshot):
        f.ok(v.p("automountServiceAccountToken"), "equals", "the token mount", "unset (mounted by default)")
        return True
    return f"the pod does not set automountServiceAccountToken and {why}"


def workload_grants(what: str, predicate: Callable[[dict[str, Any]], bool], by_name: set[str] = frozenset(),
                    public_defaults_count: bool = True,
                    together: Callable[[list[dict[str, Any]]], list[int]] | None = None):
    """A check failing workloads whose mounted service account token holds a rule matching ``predicate`` (or a
    binding to a ClusterRole named in ``by_name``). ``public_defaults_count=False``: Kubernetes' default grants to
    every identity (discovery roles bound to system:authenticated or system:serviceaccounts) are not counted.
    ``together``: the indexes of a role's rules that grant it together, instead of ``predicate``."""

    def check(target: Target, params: Mapping[str, Any]) -> Verdict:
        scope, ns = scope_of(target), target.namespace or "default"
        name, name_path = _service_account(target)
        if glob_any(f"{ns}/{name}", params.get("allowedServiceAccounts") or []):
            f = Findings()
            f.ok(name_path or pod_view(target).p("serviceAccountName"), "in", "allowedServiceAccounts", f"{ns}/{name}")
            return f.verdict()
        gaps = [g for g in (scope.gap("RoleBinding"), scope.gap("ClusterRoleBinding")) if g]
        f = Findings()
        mounted = token_mounted(target, f)
        if mounted is False:
            return f.verdict()
        hits: list[tuple[str, Any]] = []
        unknowns: list[str] = []
        for b, s in service_account_bindings(scope, ns, name):
            prefix = cite(target, b.resource, f"{b.kind}/{b.name}")
            ref = as_dict(b.body.get("roleRef"))
            if not public_defaults_count and is_public_default(b, s):
                f.ok(f"{prefix}.roleRef.name", "is", f"Kubernetes' default grant to every identity ({s.text})",
                     ref.get("name"))
                continue
            if ref.get("kind") == "ClusterRole" and ref.get("name") in by_name:
                hits.append((f"{prefix}.roleRef.name", ref.get("name")))
                continue
            grant = resolve_grant(scope, b)
            if isinstance(grant, str):
                unknowns.append(f"what {b.kind} {b.name} grants is unknown: {grant}")
                continue
            chosen = set(together([r for _, r, _ in grant.rules])) if together is not None else None
            for i, (path, rule, role) in enumerate(grant.rules):
                if (i in chosen) if chosen is not None else predicate(rule):
                    if role is not None:
                        cite(target, role.resource, path.split(".rules[")[0])
                    hits.append((path, {k: rule[k] for k in ("apiGroups", "resources", "verbs", "resourceNames")
                                        if k in rule}))
            if not grant.rules and not hits:
                f.ok(f"{prefix}.roleRef", "grants no", what, f"{grant.role_label}: no rules")
        if hits and isinstance(mounted, str):
            return unknown(f"{mounted}; service account {ns}/{name} holds {what}", f.good)
        if hits:
            for path, actual in hits:
                f.fail(path, "grants no", f"{what} to service account {ns}/{name}", actual)
            return f.verdict()
        if unknowns or gaps:
            return unknown("; ".join(unknowns + [f"bindings cannot be looked up: {g}" for g in gaps]), f.good)
        f.ok(f"(bindings of service account {ns}/{name})", "grant no", what,
             "none in the scope" if not service_account_bindings(scope, ns, name) else "no such rule")
        return f.verdict()

    check.__name__ = f"workload_holds_no_{what.split()[0]}"
    return check


def _takeover(rule: dict[str, Any]) -> bool:
    writes = any(rule_grants(rule, {"create", "update", "patch"}, {res}, {group}) for res, group in WORKLOAD_WRITE.items())
    return writes or rule_grants(rule, {"get", "list", "watch"}, {"secrets"}, {""})


def _any_rule(rule: dict[str, Any]) -> bool:
    return bool(as_list(rule.get("verbs")))


ALLOWED_SERVICE_ACCOUNTS = Parameter(
    "allowedServiceAccounts", [], "Service accounts (namespace/name globs) whose grants are deliberate (an operator, "
    "a CI agent): their workloads pass, and say so.", type="Array")


def _control(id: str, title: str, severity: Severity, rationale: str, remediation: str, kubescape: tuple[str, ...],
             mitre: tuple[str, ...], check) -> Any:
    return k8s_control(
        id=id, exclusions=CLUSTER_ACCESS, title=title, severity=severity, section=SECTION, rationale=rationale,
        remediation=remediation, mappings=Mappings(kubescape=kubescape, mitre=mitre), types=kinds.WORKLOAD,
        check=check, parameters=(ALLOWED_SERVICE_ACCOUNTS,),
        policy_gap=gap_text(SEVERAL_OBJECTS.format(what="the workload, its ServiceAccount, the bindings that name it and their roles")),
        references=("https://kubernetes.io/docs/concepts/security/rbac-good-practices/",))


CONTROLS = [
    _control("AKS-166", "Workloads do not run with cluster-admin-equivalent roles", Severity.HIGH,
             "A workload whose service account is bound to cluster-admin, or to any role granting every verb on every "
             "resource, hands the whole cluster to whoever gets code execution in one of its containers: the token "
             "is mounted at /var/run/secrets/kubernetes.io/serviceaccount. Joined: pod -> service account -> "
             "bindings -> roles; only a mounted token counts.",
             "Bind the workload's service account to a narrow role, or set automountServiceAccountToken: false if "
             "it does not call the API.", ("C-0272",), ("T1078", "T1528"),
             workload_grants("cluster-admin (all verbs on all resources)", is_cluster_admin_equivalent,
                             {"cluster-admin"}, together=cluster_admin_rules)),
    _control("AKS-167", "Workloads do not run with cluster-takeover roles (workload creation or secret access)",
             Severity.HIGH,
             "Creating or updating pods (or the controllers that make them) lets a subject run any image with any "
             "service account of the namespace and mount its secrets; reading secrets hands it every credential and "
             "token stored there. A workload whose mounted service account holds either is one code-execution bug "
             "away from a cluster takeover. Joined: pod -> service account -> bindings -> roles.",
             "Give the workload a service account with only what it needs; move deployment rights to the CI "
             "identity and secret access to files mounted from Key Vault.", ("C-0267",), ("T1528", "T1610"),
             workload_grants("workload creation/update or secret read access", _takeover)),
    _control("AKS-168", "Workloads that mount a service account token hold no RBAC permissions unless allowed",
             Severity.LOW,
             "Attackers who get into a pod use its service account token against the API server. A workload that "
             "mounts a token whose account has any RoleBinding or ClusterRoleBinding should be a deliberate one "
             "(an operator, a controller): list them in allowedServiceAccounts, and let every other workload run "
             "without API permissions or without a token. Kubernetes' default grants to every identity (the discovery, "
             "basic-user, public-info and service-account-issuer roles bound to system:authenticated or "
             "system:serviceaccounts in every cluster) are not counted; bindings to those groups of any other role "
             "are. A token projected for another audience than the API server's (Microsoft Entra Workload ID's "
             "api://AzureADTokenExchange) is no API token: the API server rejects it.",
             "Set automountServiceAccountToken: false on workloads that do not call the API, or remove the "
             "bindings of their service account.", ("C-0053",), ("T1552.007",),
             workload_grants("RBAC permissions", _any_rule, public_defaults_count=False)),
]
