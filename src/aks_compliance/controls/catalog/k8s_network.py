"""Network controls over Kubernetes objects: network policies per namespace (CIS 4.4.2), default-deny
ingress and restricted egress (microsegmentation), workloads covered by policies, internal load
balancers, and TLS / HTTPS-only ingress (CIS 5.4.5).

Network policies are Kubernetes NetworkPolicies and, on Azure CNI powered by Cilium, CiliumNetworkPolicies
and CiliumClusterwideNetworkPolicies (one view: :mod:`aks_compliance.k8s.netpol`), joined within one scope;
policies are additive, so a single rule allowing all traffic to the pods it selects undoes isolation for them.
"""

from __future__ import annotations

import fnmatch
from typing import Any, Mapping

from ...k8s import kinds
from ...k8s.checks import CLUSTER_ACCESS, BEYOND_RULES, SEVERAL_OBJECTS, ABSENT, Findings, cite, gap_text, k8s_control, scope_of, unknown
from ...k8s.podspec import as_dict, as_list, pod_view
from ...k8s.netpol import HOST_NETWORK_EXPECTED, PolicyRule, namespace_labels, policy_rules
from ...k8s.rules import KubeRule
from ...policy.conditions import Verdict
from ...targets import Target
from ..model import Mappings, Parameter, Severity

NETPOL_REF = "https://kubernetes.io/docs/concepts/services-networking/network-policies/"
SECTION = "CIS 4.4"
MICRO = "Microsegmentation"


def _ns_name(target: Target) -> str:
    return str(target.resource.name)


def _rules(target: Target, ns: str) -> list[PolicyRule] | str:
    return policy_rules(scope_of(target), ns)


def _cite(target: Target, rule: PolicyRule) -> None:
    cite(target, rule.obj.resource, rule.label)


def netpol_per_namespace(target: Target, params: Mapping[str, Any]) -> Verdict:
    ns = _ns_name(target)
    rules = _rules(target, ns)
    if isinstance(rules, str):
        return unknown(rules)
    f = Findings()
    for r in rules:
        _cite(target, r)
        if r.obj.namespace is not None:
            f.ok(f"{r.label}.metadata.namespace", "equals", ns, ns)
        else:
            f.ok(r.selector_path, "selects", f"endpoints of namespace {ns}", as_dict(r.body.get("endpointSelector")))
    if not rules:
        f.fail(f"(network policies of namespace {ns})", "exists",
               "a NetworkPolicy or CiliumNetworkPolicy in the namespace, or a CiliumClusterwideNetworkPolicy selecting it",
               "none in the scope")
    return f.verdict()


def _namespace_isolation(direction: str):
    ptype = "Ingress" if direction == "ingress" else "Egress"

    def check(target: Target, params: Mapping[str, Any]) -> Verdict:
        ns = _ns_name(target)
        rules = _rules(target, ns)
        if isinstance(rules, str):
            return unknown(rules)
        ns_labels = namespace_labels(scope_of(target), ns)
        f = Findings()
        isolating = []
        for r in rules:
            _cite(target, r)
            opening = r.allow_all(direction)
            for path, rule in opening:
                f.fail(path, "notEquals", f"a rule allowing all {direction}", rule)
            if r.isolates(direction) and r.selects_whole_namespace(ns, ns_labels) and not opening:
                isolating.append(r)
        for r in isolating:
            f.ok(r.selector_path, "selects", f"every pod of namespace {ns}, isolating {direction}",
                 as_dict(r.body.get("endpointSelector" if r.is_cilium else "podSelector")))
        if not isolating:
            f.fail(f"(network policies of namespace {ns})", "contains",
                   f"a policy selecting all pods (podSelector: {{}} with policyTypes {ptype}, or a Cilium "
                   f"endpointSelector for the whole namespace with an {direction} section)",
                   sorted({r.label for r in rules}) or "none in the scope")
        return f.verdict()

    check.__name__ = f"namespace_{direction}_isolated"
    return check


def workload_covered(target: Target, params: Mapping[str, Any]) -> Verdict:
    ns = target.namespace or "default"
    view = pod_view(target)
    if view.spec.get("hostNetwork") is True:  # whatever policies select it, none applies
        f = Findings()
        f.fail(view.p("hostNetwork"), "equals", HOST_NETWORK_EXPECTED, True)
        return f.verdict()
    rules = _rules(target, ns)
    if isinstance(rules, str):
        return unknown(rules)
    labels = view.labels
    sa = view.spec.get("serviceAccountName") or view.spec.get("serviceAccount") or "default"
    ns_labels = namespace_labels(scope_of(target), ns)
    f = Findings()
    for direction in ("ingress", "egress"):
        ptype = "Ingress" if direction == "ingress" else "Egress"
        covering = []
        for r in rules:
            if not r.isolates(direction) or not r.selects(ns, labels, str(sa), ns_labels):
                continue
            _cite(target, r)
            covering.append(r)
            for path, rule in r.allow_all(direction):
                f.fail(path, "notEquals", f"a rule allowing all {direction}", rule)
        for r in covering:
            f.ok(r.selector_path, "matches", f"the pod labels, isolating {direction}", labels)
        if not covering:
            f.fail(view.mp("labels"), "selected by",
                   f"a network policy isolating {ptype} in namespace {ns} (NetworkPolicy, CiliumNetworkPolicy or "
                   f"CiliumClusterwideNetworkPolicy)", labels or ABSENT)
    return f.verdict()


INTERNAL_LB = "service.beta.kubernetes.io/azure-load-balancer-internal"
# The Azure cloud provider makes a load balancer internal only for exactly "true" (cloud-provider-azure
# requiresInternalLoadBalancer: l == "true"; Azure Policy's 3fc4dc25 compares the same): "True" gets a public IP.
INTERNAL_LB_VALUE = "true"


def is_internal_load_balancer(annotations: Mapping[str, Any]) -> bool:
    return annotations.get(INTERNAL_LB) == INTERNAL_LB_VALUE


# A Service with spec.loadBalancerClass is left by the cloud provider's default implementation to the implementation
# of that class ("Any default load balancer implementation (for example, the one provided by the cloud provider) will
# ignore Services that have this field set", kubernetes.io Service docs; k8s.io/cloud-provider's wantsLoadBalancer):
# no Azure load balancer is made, the annotation means nothing, and whether the address is public is that
# implementation's, which no manifest shows.
OTHER_LOAD_BALANCER_CLASS = {"field": "spec.loadBalancerClass", "exists": True}
OTHER_LOAD_BALANCER_REASON = ("spec.loadBalancerClass is set: the Azure cloud provider ignores the Service and the "
                              "implementation of that class serves it, so whether its address is public is not told "
                              "by the Service")


def other_load_balancer_class(spec: Mapping[str, Any]) -> Any:
    """The loadBalancerClass of a LoadBalancer Service that the Azure cloud provider leaves to another implementation."""
    cls = spec.get("loadBalancerClass")
    return cls if spec.get("type") == "LoadBalancer" and cls is not None else None


INTERNAL_LOAD_BALANCER = KubeRule({
    "kinds": ["Service"],
    "applies": [{"when": {"field": "$object.spec.type", "equals": "LoadBalancer"},
                 "reason": "Service type {value} is not a load balancer"}],
    "checks": [{"scope": "object", "unknown_when": OTHER_LOAD_BALANCER_CLASS,
                "unknown_reason": OTHER_LOAD_BALANCER_REASON, "require": {"anyOf": [
        {"field": f"metadata.annotations['{INTERNAL_LB}']", "equals": INTERNAL_LB_VALUE},
        {"field": "$namespacedName", "likeAny": {"param": "allowedPublicServices"}}]}}]})


def _host_covered(host: str, tls_hosts: list[str]) -> bool:
    for h in tls_hosts:
        if h == host or (h.startswith("*.") and fnmatch.fnmatchcase(host, h) and host.count(".") == h.count(".")):
            return True
    return False


def ingress_tls(target: Target, params: Mapping[str, Any]) -> Verdict:
    spec = as_dict(target.body.get("spec"))
    tls = [t for t in as_list(spec.get("tls")) if isinstance(t, dict)]
    f = Findings()
    if not tls:
        f.fail("spec.tls", "exists", True, ABSENT)
        return f.verdict()
    tls_hosts = [str(h) for t in tls for h in as_list(t.get("hosts"))]
    f.ok("spec.tls", "exists", True, [{"hosts": t.get("hosts", [])} for t in tls])
    for i, rule in enumerate(as_list(spec.get("rules"))):
        host = as_dict(rule).get("host")
        if isinstance(host, str) and host and tls_hosts:
            f.check(_host_covered(host, tls_hosts), f"spec.rules[{i}].host", "in", tls_hosts, host)
    return f.verdict()


# The controllers read these annotations with Go's strconv.ParseBool: these spellings, and no others, are a boolean
PARSE_BOOL_TRUE = ["1", "t", "T", "TRUE", "true", "True"]
PARSE_BOOL_FALSE = ["0", "f", "F", "FALSE", "false", "False"]
HTTP_OFF = (("kubernetes.io/ingress.allow-http", PARSE_BOOL_FALSE),
            ("nginx.ingress.kubernetes.io/force-ssl-redirect", PARSE_BOOL_TRUE),
            ("nginx.ingress.kubernetes.io/ssl-redirect", PARSE_BOOL_TRUE),
            ("appgw.ingress.kubernetes.io/ssl-redirect", PARSE_BOOL_TRUE),
            ("traefik.ingress.kubernetes.io/router.tls", PARSE_BOOL_TRUE))
# ingress-nginx (and the AKS application routing add-on, which runs it) redirects HTTP to HTTPS by default for an
# Ingress with TLS ("Server-side HTTPS enforcement through redirect", ingress-nginx TLS user guide), unless the
# Ingress sets ssl-redirect: "false" (or the controller's ConfigMap turns it off for all, which manifests do not show)
NGINX_CLASSES = ["nginx", "webapprouting.kubernetes.azure.com"]
NGINX_DEFAULT_REDIRECT = {"allOf": [
    {"anyOf": [{"field": "spec.ingressClassName", "in": NGINX_CLASSES},
               {"field": "metadata.annotations['kubernetes.io/ingress.class']", "in": NGINX_CLASSES}]},
    {"field": "metadata.annotations['nginx.ingress.kubernetes.io/ssl-redirect']", "notIn": PARSE_BOOL_FALSE}]}
HTTPS_ONLY = KubeRule({"kinds": ["Ingress"], "checks": [{"scope": "object", "require": {"allOf": [
    {"field": "spec.tls", "empty": False},
    {"anyOf": [*({"field": f"metadata.annotations['{key}']", "in": values} for key, values in HTTP_OFF),
               NGINX_DEFAULT_REDIRECT]}]}}]})


CONTROLS = [
    k8s_control(
        id="AKS-146", exclusions=CLUSTER_ACCESS, title="Every namespace has network policies", severity=Severity.MEDIUM, section=SECTION,
        rationale=(
            "Without a NetworkPolicy every pod of a namespace accepts traffic from every pod of the cluster and can "
            "reach anything: one compromised workload reaches all others. CIS 4.4.2 asks that every namespace "
            "define network policies (the cluster needs a network policy engine, checked on the ARM side)."),
        remediation="Add NetworkPolicy objects to each namespace, starting with a default-deny policy.",
        references=(NETPOL_REF,),
        mappings=Mappings(cis_aks=("4.4.2",), kubescape=("C-0206", "C-0054"), mitre=("T1210",)),
        types=kinds.NAMESPACE, check=netpol_per_namespace, policy_gap=gap_text(SEVERAL_OBJECTS.format(what="every NetworkPolicy and Cilium policy of the scope that selects it"))),
    k8s_control(
        id="AKS-147", exclusions=CLUSTER_ACCESS, title="Namespaces isolate all pods for ingress (default-deny ingress)", severity=Severity.MEDIUM,
        section=MICRO,
        rationale=(
            "Microsegmentation starts with a policy selecting every pod of the namespace (podSelector: {}) with "
            "policyType Ingress: from then on only traffic some policy allows gets in. Any policy rule allowing all "
            "ingress (no from and no ports, or ip blocks that together cover every address, such as 0.0.0.0/0) undoes the isolation for the pods it selects."),
        remediation=(
            "Add a NetworkPolicy with podSelector: {} and policyTypes: [Ingress] (and no ingress rules) to each "
            "namespace, then allow the needed flows with narrower policies."),
        references=(NETPOL_REF,),
        mappings=Mappings(cis_aks=("4.4.2",), mitre=("T1210",)),
        mapping_note=("kubescape C-0260 and C-0030 judge workloads (is each selected by a policy), not namespaces: "
                      "C-0030 is mapped to AKS-149, C-0260 to none (see AKS-149)."),
        types=kinds.NAMESPACE, check=_namespace_isolation("ingress"), policy_gap=gap_text(SEVERAL_OBJECTS.format(what="every NetworkPolicy and Cilium policy of the scope that selects it"))),
    k8s_control(
        id="AKS-148", exclusions=CLUSTER_ACCESS, title="Egress is restricted by network policy", severity=Severity.MEDIUM, section=MICRO,
        rationale=(
            "Unrestricted egress lets a compromised pod reach the internet (exfiltration, command and control) and "
            "every internal endpoint. A policy selecting all pods with policyType Egress restricts it to what is "
            "allowed; a rule allowing all egress (no to and no ports, or ip blocks that together cover every address, such as 0.0.0.0/0 or 0.0.0.0/1 with "
            "128.0.0.0/1) undoes that."),
        remediation=(
            "Add a NetworkPolicy with podSelector: {} and policyTypes: [Egress] allowing only DNS and the needed "
            "destinations; route internet egress through Azure Firewall."),
        references=(NETPOL_REF,),
        mappings=Mappings(mitre=("T1041",)),
        mapping_note=("kubescape C-0260 and C-0030 judge workloads (is each selected by a policy), not namespaces: "
                      "C-0030 is mapped to AKS-149, C-0260 to none (see AKS-149)."),
        types=kinds.NAMESPACE, check=_namespace_isolation("egress"), policy_gap=gap_text(SEVERAL_OBJECTS.format(what="every NetworkPolicy and Cilium policy of the scope that selects it"))),
    k8s_control(
        id="AKS-149", exclusions=CLUSTER_ACCESS, title="Workloads are selected by network policies for ingress and egress",
        severity=Severity.MEDIUM, section=MICRO,
        rationale=(
            "A pod is isolated only for the directions some policy selecting it declares. A workload whose labels "
            "no Ingress (or Egress) policy selects accepts (or sends) any traffic, whatever other policies of the "
            "namespace say. A policy that selects it with a type and no rules denies that direction, which counts "
            "as restricted; one of its rules allowing all traffic of that direction (no peers and no ports, or ip "
            "blocks that together cover every address) undoes the restriction and fails. policyTypes left out mean Ingress, plus Egress when the "
            "policy has egress rules (Kubernetes' defaulting). A pod on the node's network (hostNetwork) fails: "
            "network plugins apply no pod selector to it, so no policy isolates it."),
        remediation=(
            "Make sure a NetworkPolicy with policyTypes Ingress and Egress selects the workload's pod labels (a "
            "namespace-wide podSelector: {} does)."),
        references=(NETPOL_REF,),
        mappings=Mappings(kubescape=("C-0030",), mitre=("T1210", "T1041")),
        mapping_note=("kubescape C-0030 asks for an ingress and an egress policy over each pod, as here. C-0260 (missing "
                      "network policy) passes a workload any policy selects, whatever its types: a workload selected "
                      "only by an Ingress policy passes it and fails here, so C-0260 is not mapped."),
        types=kinds.WORKLOAD, check=workload_covered, policy_gap=gap_text(SEVERAL_OBJECTS.format(what="every NetworkPolicy and Cilium policy of the scope that selects it"))),
    k8s_control(
        id="AKS-150", exclusions=CLUSTER_ACCESS, title="Load balancer services are internal", severity=Severity.HIGH, section="CIS 5.4",
        rationale=(
            "A Service of type LoadBalancer without the annotation service.beta.kubernetes.io/"
            "azure-load-balancer-internal: \"true\" gets a public IP on the Azure load balancer, exposing the "
            "workload to the internet outside the ingress path, WAF and firewall. The Azure cloud provider compares "
            "the value with \"true\" exactly: \"True\" or \"yes\" still gets a public IP. Where only internal ingress is "
            "wanted every load balancer must be internal; deliberate exceptions go in allowedPublicServices. A "
            "Service with spec.loadBalancerClass is ignored by the Azure cloud provider and served by that class's "
            "implementation: whether it is public is unknown here."),
        remediation=(
            "Add the annotation service.beta.kubernetes.io/azure-load-balancer-internal: \"true\" (and "
            "azure-load-balancer-internal-subnet) or expose the workload through the ingress controller."),
        references=("https://learn.microsoft.com/azure/aks/internal-lb",),
        mappings=Mappings(azure_policy=("3fc4dc25-5baf-40d8-9b05-7fe74c1bc64e",), mitre=("T1133",)),
        mapping_note=("kubescape C-0256 judges workloads (exposed through a NodePort or LoadBalancer Service or an "
                      "Ingress): that is AKS-170."),
        rule=INTERNAL_LOAD_BALANCER,
        parameters=(Parameter("allowedPublicServices", [], "Services (namespace/name globs) allowed a public "
                                                          "load balancer.", type="Array"),),
       builtin_deviation=("The template in the reference set flags a Service that leaves spec.type out (the API defaults it to ClusterIP); this control does not apply to it. It flags a Service with spec.loadBalancerClass, which the Azure cloud provider ignores (unknown here).")),
    k8s_control(
        id="AKS-151", exclusions=CLUSTER_ACCESS, title="Ingresses terminate TLS for their hosts", severity=Severity.HIGH, section="CIS 5.4",
        rationale=(
            "An Ingress without spec.tls serves plain HTTP: credentials and data cross the network readable and "
            "modifiable. CIS 5.4.5 asks for TLS on HTTPS load balancers; every host the rules serve should be "
            "covered by a TLS entry (wildcards count)."),
        remediation="Add spec.tls with the rule hosts and a certificate secret (or the ingress controller's default "
                    "certificate, e.g. from Key Vault through the Secrets Store CSI driver).",
        references=("https://kubernetes.io/docs/concepts/services-networking/ingress/#tls",),
        mappings=Mappings(cis_aks=("5.4.5",), kubescape=("C-0245", "C-0263"), azure_policy=("1a5b4dca-0b6f-4cf5-907c-56316bc1bf3d",),
                          mitre=("T1040", "T1557")),
        types=kinds.INGRESS, check=ingress_tls, policy_gap=gap_text(BEYOND_RULES.format(
            what="each rule host compared with every TLS host, a wildcard covering one label"),
            "1a5b4dca-0b6f-4cf5-907c-56316bc1bf3d"),
       builtin_deviation=("The built-in (ingress-https-only) also requires kubernetes.io/ingress.allow-http: false, which is AKS-152, and excludes kube-system; this control asks that TLS cover the hosts and excludes no namespace.")),
    k8s_control(
        id="AKS-152", exclusions=CLUSTER_ACCESS, title="Ingresses serve HTTPS only (plain HTTP disabled or redirected)", severity=Severity.MEDIUM,
        section="CIS 5.4",
        rationale=(
            "TLS on an Ingress does not by itself stop the controller from also serving the same routes over plain "
            "HTTP. HTTPS-only needs TLS plus HTTP disabled (kubernetes.io/ingress.allow-http: \"false\") or "
            "redirected (nginx or Application Gateway ssl-redirect, Traefik router.tls). ingress-nginx, and the AKS "
            "application routing add-on that runs it (classes nginx and webapprouting.kubernetes.azure.com), "
            "redirects by default when the Ingress has TLS, unless ssl-redirect is \"false\" on the Ingress; its "
            "ConfigMap can turn the redirect off for every Ingress, which the objects checked here do not show. "
            "Annotation values are read as the controllers read them (Go's strconv.ParseBool: \"1\", \"t\", "
            "\"true\", \"TRUE\"... are true; \"yes\" is no boolean and ignored)."),
        remediation=(
            "Set kubernetes.io/ingress.allow-http: \"false\" or the controller's redirect annotation "
            "(nginx.ingress.kubernetes.io/force-ssl-redirect: \"true\", appgw.ingress.kubernetes.io/ssl-redirect: "
            "\"true\", traefik.ingress.kubernetes.io/router.tls: \"true\") together with spec.tls."),
        mappings=Mappings(cis_aks=("5.4.5",), azure_policy=("1a5b4dca-0b6f-4cf5-907c-56316bc1bf3d",), mitre=("T1040", "T1557")),
        mapping_note="kubescape C-0245 and C-0263 ask for TLS on the Ingress, which is AKS-151; HTTP disabled is more.",
        rule=HTTPS_ONLY,
       builtin_deviation=("The built-in accepts only kubernetes.io/ingress.allow-http: false, not a controller's redirect annotation nor ingress-nginx's default redirect of an Ingress with TLS, and excludes kube-system; this control excludes no namespace.")),
]
