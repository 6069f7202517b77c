"""Kubernetes semantics the controls rely on: RBAC rule matching, label selectors, policy types,
image references."""

from __future__ import annotations

import pytest

from aks_compliance.k8s.rules import parse_image
from aks_compliance.k8s.rbac import is_cluster_admin_equivalent, rule_grants
from aks_compliance.k8s.selectors import allow_all_rules, policy_types, selector_matches, selects_all


@pytest.mark.parametrize("rule,expected", [
    ({"apiGroups": [""], "resources": ["pods"], "verbs": ["create"]}, True),
    ({"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}, True),
    ({"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]}, False),  # a subresource is not the resource
    ({"apiGroups": ["apps"], "resources": ["pods"], "verbs": ["create"]}, False),  # wrong group
    ({"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}, False),
    ({"apiGroups": [""], "resources": ["pods"], "resourceNames": ["one"], "verbs": ["create"]}, False),
    ({"nonResourceURLs": ["*"], "verbs": ["*"]}, False),
])
def test_create_pods_rule_matching(rule: dict, expected: bool) -> None:
    assert rule_grants(rule, {"create"}, {"pods"}, {""}) is expected


def test_subresource_wildcards_follow_the_authorizer() -> None:
    proxy = {"apiGroups": [""], "resources": ["*/proxy"], "verbs": ["get"]}
    assert rule_grants(proxy, {"get"}, {"nodes/proxy"}, {""})
    assert not rule_grants(proxy, {"get"}, {"nodes"}, {""})
    assert not rule_grants({"apiGroups": [""], "resources": ["nodes"], "verbs": ["*"]}, {"get"}, {"nodes/proxy"}, {""})


def test_cluster_admin_equivalence_needs_every_verb_on_everything() -> None:
    assert is_cluster_admin_equivalent({"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]})
    assert is_cluster_admin_equivalent({"apiGroups": ["*"], "resources": ["*"],
                                        "verbs": ["delete", "get", "list", "watch", "create", "update", "patch"]})
    assert not is_cluster_admin_equivalent({"apiGroups": [""], "resources": ["*"], "verbs": ["*"]})
    assert not is_cluster_admin_equivalent({"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list"]})


def test_label_selectors() -> None:
    labels = {"app": "web", "tier": "front"}
    assert selector_matches({}, labels) and selects_all({}) and not selector_matches(None, labels)
    assert selector_matches({"matchLabels": {"app": "web"}}, labels)
    assert not selector_matches({"matchLabels": {"app": "api"}}, labels)
    assert selector_matches({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["front", "back"]}]}, labels)
    assert not selector_matches({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["front"]}]}, labels)
    assert selector_matches({"matchExpressions": [{"key": "env", "operator": "DoesNotExist"}]}, labels)
    assert not selector_matches({"matchExpressions": [{"key": "env", "operator": "Exists"}]}, labels)


def test_policy_types_default_and_allow_all_rules() -> None:
    assert policy_types({"spec": {"podSelector": {}}}) == ["Ingress"]
    assert policy_types({"spec": {"egress": [{}]}}) == ["Ingress", "Egress"]
    np = {"spec": {"ingress": [{}, {"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]},
                               {"from": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}]},
                               {"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"port": 443}]}]}}
    assert allow_all_rules(np, "ingress") == [0, 1]


@pytest.mark.parametrize("image,expected", [
    ("nginx", ("docker.io", "library/nginx", None, None)),
    ("nginx:1.27", ("docker.io", "library/nginx", "1.27", None)),
    ("bitnami/redis:7", ("docker.io", "bitnami/redis", "7", None)),
    ("myacr.azurecr.io/shop/web:1.4.2", ("myacr.azurecr.io", "shop/web", "1.4.2", None)),
    ("registry.contoso.com:5000/shop/web", ("registry.contoso.com:5000", "shop/web", None, None)),
    ("localhost/app@sha256:abc", ("localhost", "app", None, "sha256:abc")),
    ("MCR.Microsoft.com/dotnet/aspnet:8.0", ("mcr.microsoft.com", "dotnet/aspnet", "8.0", None)),
    ("[fd00::1]:5000/app:1.0", ("[fd00::1]:5000", "app", "1.0", None)),  # an IPv6 literal host
    ("[fd00::1]/shop/app", ("[fd00::1]", "shop/app", None, None)),
])
def test_image_references(image: str, expected: tuple) -> None:
    assert parse_image(image) == expected


IPV6_IMAGES = [
    ("[fd00::1]:5000/app:1.0", True), ("[FD00:0:0::1]/app", True), ("[::1]:5000/a/b@sha256:" + "a" * 64, True),
    ("[fd00::1[:5000/app", False), ("[fd00::1^/app", False), ("Zfd00::1]/app", False), ("[fd00::1]app", False),
    ("[fd00::g]/app", False), ("[]/app", False), ("[fd00::1]:/app", False), ("[fd00::1]:5000/app:", False),
    ("[fd00::1%eth0]/app", False),  # zone identifiers are excluded by the grammar
]


def well_formed_by_rule(image: str, compare) -> bool:
    """The verdict of AKS-126/127's well-formedness predicate, through ``compare`` (one engine's operators)."""
    from aks_compliance.controls.catalog.k8s_workloads import WELL_FORMED_IMAGE
    plain, ipv6 = WELL_FORMED_IMAGE["anyOf"]
    return compare("matches", image, plain["matches"]) or all(
        compare(op.replace("notMatches", "matches"), image, operand) is (op != "notMatches")
        for cmp in ipv6["allOf"] for op, operand in cmp.items() if op != "field")


@pytest.mark.parametrize("image,ok", IPV6_IMAGES)
def test_ipv6_literal_registry_hosts_follow_the_reference_grammar(image: str, ok: bool) -> None:
    """distribution/reference (v0.6, which Kubernetes and containerd use) reads a host "[" IPv6 "]" with an optional
    port; the object-rule predicate (in three parts, since the shared regex syntax cannot write a bracket) and the
    Python check agree with it."""
    from aks_compliance.k8s.rules import compare, well_formed_image
    assert well_formed_image(image) is ok
    assert well_formed_by_rule(image, compare) is ok


@pytest.mark.parametrize("name,value,flagged", [
    ("DB_PASSWORD", "hunter2-hunter2", True),
    ("dbPassword", "hunter2-hunter2", True),  # camelCase words
    ("API_SECRET_FILE", "/etc/secret/key", False),  # a path: the remedy
    ("TLS_KEY_PATH", "C:\\certs\\tls.key", False),
    ("MONKEY", "banana", False),  # 'key' only as a whole word
    ("SIGNING_KEY", "k3y-value-123", True),
    ("TOKEN_TTL", "3600", False), ("SECRET_ROTATION", "enabled", False),
    ("CLIENT_SECRET", "$(CLIENT_SECRET_FROM_FILE)", False),
    ("CLIENT_SECRET", "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/s/)", False),
    ("TOKEN_URL", "https://login.example.com/token", False),
    ("TOKEN_URL", "https://api.example.com/x?token=abc123", True),  # a credential in the URL
    ("AUTH", "Bearer abcdefghijklmnop", True), ("AUTH", "BEARER abcdefghijklmnop", True),
    ("AUTH", "bearer", False),  # the word alone is no token
    ("GREETING", "-----BEGIN RSA PRIVATE KEY-----\nMIIE", True),
    ("STORAGE", "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=abc==", True),
])
def test_credential_judgement_reads_names_and_values(name: str, value: str, flagged: bool) -> None:
    from aks_compliance.k8s.sensitive import looks_sensitive
    assert bool(looks_sensitive(name, value)) is flagged, looks_sensitive(name, value)


def test_sensitive_rules_take_kubescape_inputs() -> None:
    from aks_compliance.k8s.sensitive import SensitiveRules
    rules = SensitiveRules.from_params({"sensitiveKeyNames": ["licence"], "sensitiveKeyNamesAllowed": ["PUBLIC_KEY"],
                                        "sensitiveValuesAllowed": ["^eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0"]})
    assert rules.judge("VENDOR_LICENCE", "LX-4455") and not rules.judge("DB_PASSWORD", "x-y-z-secret")
    assert not SensitiveRules.from_params({"sensitiveKeyNamesAllowed": ["PUBLIC_KEY"]}).judge("PUBLIC_KEY_ID", "abc")
    with pytest.raises(ValueError, match="sensitiveValues"):
        SensitiveRules.from_params({"sensitiveValues": ["(unclosed"]})


def _cilium(kind: str, spec: dict, ns: str | None = "shop"):
    from aks_compliance.k8s.netpol import rules_of
    from aks_compliance.k8s.scope import K8sObject
    from aks_compliance.resources import Resource, Source
    body = {"apiVersion": "cilium.io/v2", "kind": kind, "metadata": {"name": "p", **({"namespace": ns} if ns else {})},
            "spec": spec}
    res = Resource(type=kind, full_name="p", id=None, source=Source("f", "", None), body=body)
    return rules_of(K8sObject(kind, ns, "p", res))[0]


def test_cilium_selection_isolation_and_allow_all() -> None:
    r = _cilium("CiliumNetworkPolicy", {"endpointSelector": {"matchLabels": {"k8s:app": "web"}}, "ingress": [{}]})
    assert r.selects("shop", {"app": "web"}, "web", {}) and not r.selects("other", {"app": "web"}, "web", {})
    assert r.isolates("ingress") and not r.isolates("egress") and not r.allow_all("ingress")
    assert not r.selects_whole_namespace("shop", {})
    empty = _cilium("CiliumNetworkPolicy", {"endpointSelector": {}, "ingress": []})
    assert not empty.isolates("ingress")  # an empty section does not apply
    off = _cilium("CiliumNetworkPolicy", {"endpointSelector": {}, "ingress": [{}], "enableDefaultDeny": {"ingress": False}})
    assert not off.isolates("ingress")
    ccnp = _cilium("CiliumClusterwideNetworkPolicy",
                   {"endpointSelector": {"matchLabels": {"io.kubernetes.pod.namespace": "shop"}},
                    "egress": [{"toEntities": ["world"]}]}, ns=None)
    assert ccnp.selects_whole_namespace("shop", {}) and not ccnp.applies_to_namespace("payments", {})
    assert ccnp.isolates("egress") and ccnp.allow_all("egress")
    host = _cilium("CiliumClusterwideNetworkPolicy", {"nodeSelector": {}, "ingress": [{}]}, ns=None)
    assert not host.applies_to_namespace("shop", {})


def test_egress_to_an_address_follows_cidrs_ports_and_deny_rules() -> None:
    imds = "169.254.169.254"
    allow_world = _cilium("CiliumNetworkPolicy", {"endpointSelector": {}, "egress": [{"toEntities": ["world"]}]})
    assert allow_world.egress_to(imds, 80)[0] is True
    deny = _cilium("CiliumNetworkPolicy", {"endpointSelector": {}, "egress": [{"toEntities": ["world"]}],
                                           "egressDeny": [{"toCIDR": ["169.254.169.254/32"]}]})
    assert deny.egress_to(imds, 80)[0] is False
    except_imds = _cilium("CiliumNetworkPolicy", {"endpointSelector": {}, "egress": [
        {"toCIDRSet": [{"cidr": "0.0.0.0/0", "except": ["169.254.0.0/16"]}]}]})
    assert except_imds.egress_to(imds, 80)[0] is False
    https_only = _cilium("CiliumNetworkPolicy", {"endpointSelector": {}, "egress": [
        {"toCIDR": ["0.0.0.0/0"], "toPorts": [{"ports": [{"port": "443", "protocol": "TCP"}]}]}]})
    assert https_only.egress_to(imds, 80)[0] is False
    fqdn = _cilium("CiliumNetworkPolicy", {"endpointSelector": {}, "egress": [{"toFQDNs": [{"matchName": "x.io"}]}]})
    assert fqdn.egress_to(imds, 80)[0] is False  # names, not the link-local address


@pytest.mark.parametrize("kind,name,namespace,expected", [
    ("ServiceAccount", "web", "shop", ("shop", "web")),
    ("User", "system:serviceaccount:shop:web", None, ("shop", "web")),  # RBAC matches the account's user name
    ("User", "system:serviceaccount:shop", None, None),
    ("User", "system:serviceaccount:shop:web:x", None, None),
    ("User", "system:serviceaccounts:shop", None, None),
    ("Group", "system:serviceaccount:shop:web", None, None),  # a group of that name is no account
    ("User", "alice@contoso.com", None, None),
])
def test_a_subject_names_a_service_account_by_kind_or_by_user_name(kind, name, namespace, expected) -> None:
    from aks_compliance.k8s.rbac import Subject
    assert Subject(kind, name, namespace, "subjects[0]").service_account == expected


def test_cluster_admin_equivalence_may_be_spread_over_rules() -> None:
    from aks_compliance.k8s.rbac import cluster_admin_rules
    read = {"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list", "watch"]}
    write = {"apiGroups": ["*"], "resources": ["*"], "verbs": ["create", "update", "patch", "delete"]}
    assert cluster_admin_rules([read, write]) == [0, 1]
    assert cluster_admin_rules([read, {**write, "apiGroups": ["apps"]}]) == []  # writes only in one group
    assert cluster_admin_rules([read, {**write, "resourceNames": ["x"]}]) == []
    assert cluster_admin_rules([read, {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]) == [1]
    assert cluster_admin_rules([{"nonResourceURLs": ["*"], "verbs": ["*"]}]) == []


@pytest.mark.parametrize("audience,api", [
    (None, True), ("", True),  # unset: the API server's own identifier
    ("https://kubernetes.default.svc", True), ("https://shop-aks-1a2b3c.hcp.westeurope.azmk8s.io:443", True),
    ("api://AzureADTokenExchange", False), ("vault", False), ("https://sts.amazonaws.com", False),
])
def test_a_projected_token_is_an_api_token_only_for_the_api_servers_audience(audience, api) -> None:
    from aks_compliance.controls.catalog.k8s_workload_rbac import _api_audience
    assert _api_audience(audience) is api


def test_aggregated_rules_are_filled_once_through_nested_aggregates(tmp_path) -> None:
    """The manifest reader adds to an aggregating ClusterRole the rules the aggregation controller gives it (through
    an aggregate that is itself filled, each rule once; the rules written in it kept, as a role dumped from a cluster
    holds them), and a binding's grant cites each rule once, from the role that holds it."""
    from aks_compliance.k8s.rbac import resolve_grant
    from aks_compliance.k8s.targets import load_scope

    def role(name: str, labels: dict, select: str | None, rules: list) -> str:
        agg = f"aggregationRule:\n  clusterRoleSelectors:\n  - matchLabels: {{agg: {select}}}\n" if select else ""
        return (f"apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: {name}\n"
                f"  labels: {labels}\n{agg}rules: {rules}\n---\n")
    leaf = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]
    written = [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]
    text = (role("top", {}, "top", [])
            + role("middle", {"agg": "top"}, "middle", written)
            + role("leaf", {"agg": "middle"}, None, leaf)
            + "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: b}\n"
              "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: top}\n"
              "subjects: [{kind: Group, name: g, apiGroup: rbac.authorization.k8s.io}]\n")
    (tmp_path / "m.yaml").write_text(text.replace("'", '"'), encoding="utf-8")
    scope, diags, _, _ = load_scope(str(tmp_path), set())
    assert scope is not None, diags
    assert scope.get("ClusterRole", None, "middle").body["rules"] == written + leaf
    assert scope.get("ClusterRole", None, "top").body["rules"] == written + leaf
    grant = resolve_grant(scope, scope.get("ClusterRoleBinding", None, "b"))
    assert not isinstance(grant, str), grant
    assert [path for path, _, _ in grant.rules] == ["ClusterRole/middle.rules[0]", "ClusterRole/leaf.rules[0]"]


def _blocks(*blocks: tuple) -> dict:
    return {"to": [{"ipBlock": {"cidr": c, **({"except": list(e)} if e else {})}} for c, *e in blocks]}


@pytest.mark.parametrize("rule,expected", [
    (_blocks(("0.0.0.0/1",), ("128.0.0.0/1",)), True),  # together every IPv4 address
    (_blocks(("10.1.2.3/0",)), True),  # host bits: a /0 is everything however spelled
    (_blocks(("0.0.0.0/0", "10.0.0.0/8"), ("10.0.0.0/8",)), True),  # the except is allowed by the other peer
    (_blocks(("::/1",), ("8000::/1",)), True),
    (_blocks(("0.0.0.0/0", "10.0.0.0/8")), False),
    (_blocks(("0.0.0.0/1",), ("128.0.0.0/2",)), False),
    (_blocks(("0.0.0.0/1",), ("not-a-cidr",)), False),
])
def test_peers_allow_all_when_their_ip_blocks_cover_every_address(rule: dict, expected: bool) -> None:
    """A rule's peers are a union: ipBlocks that together cover every IPv4 (or IPv6) address, excepts removed,
    allow what 0.0.0.0/0 does, in NetworkPolicies and in Cilium's toCIDR/toCIDRSet alike."""
    assert allow_all_rules({"spec": {"egress": [rule]}}, "egress") == ([0] if expected else [])
    cidr_set = [{"cidr": p["ipBlock"]["cidr"], **({"except": p["ipBlock"]["except"]} if "except" in p["ipBlock"]
                                                  else {})} for p in rule["to"]]
    r = _cilium("CiliumNetworkPolicy", {"endpointSelector": {}, "egress": [{"toCIDRSet": cidr_set}]})
    assert bool(r.allow_all("egress")) is expected
