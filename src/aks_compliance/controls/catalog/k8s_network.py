"""Network controls over Kubernetes objects: network policies per namespace (CIS 4.4.2), default-deny
ingress and restricted egress (microsegmentation), workloads covered by policies, internal load
balancers, and TLS / HTTPS-only ingress (CIS 5.4.5).

Network policies are joined within one scope and one namespace; policies are additive, so a single
policy allowing all traffic to the pods it selects undoes isolation for them.
"""

from __future__ import annotations

import fnmatch
from typing import Any, Mapping

from ...k8s import kinds
from ...k8s.checks import CLUSTER_ACCESS, ABSENT, Findings, cite, gap_text, glob_any, k8s_control, object_of, scope_of, unknown
from ...k8s.podspec import as_dict, as_list, pod_view
from ...k8s.scope import K8sObject, annotations_of, meta
from ...k8s.selectors import allow_all_rules, policy_types, selector_matches, selects_all
from ...policy.conditions import Verdict
from ...targets import Target
from ..model import Mappings, Parameter, Severity

NETPOL_REF = "https://kubernetes.io/docs/concepts/services-networking/network-policies/"
SECTION = "CIS 4.4"
MICRO = "Microsegmentation"


def _ns_name(target: Target) -> str:
    return str(target.resource.name)


def _policies(target: Target, ns: str) -> list[K8sObject] | str:
    scope = scope_of(target)
    gap = scope.gap("NetworkPolicy")
    if gap:
        return f"network policies cannot be checked: {gap}"
    return scope.of("NetworkPolicy", ns)


def netpol_per_namespace(target: Target, params: Mapping[str, Any]) -> Verdict:
    ns = _ns_name(target)
    pols = _policies(target, ns)
    if isinstance(pols, str):
        return unknown(pols)
    f = Findings()
    for np in pols:
        prefix = cite(target, np.resource, f"NetworkPolicy/{np.name}")
        f.ok(f"{prefix}.metadata.namespace", "equals", ns, ns)
    if not pols:
        f.fail(f"(NetworkPolicy objects in namespace {ns})", "exists", True, "none in the scope")
    return f.verdict()


def _namespace_isolation(direction: str):
    ptype = "Ingress" if direction == "ingress" else "Egress"

    def check(target: Target, params: Mapping[str, Any]) -> Verdict:
        ns = _ns_name(target)
        pols = _policies(target, ns)
        if isinstance(pols, str):
            return unknown(pols)
        f = Findings()
        isolating = []
        for np in pols:
            spec = as_dict(np.body.get("spec"))
            prefix = cite(target, np.resource, f"NetworkPolicy/{np.name}")
            opening = allow_all_rules(np.body, direction)
            for i in opening:
                f.fail(f"{prefix}.spec.{direction}[{i}]", "notEquals", f"a rule allowing all {direction}",
                       as_dict(as_list(spec.get(direction))[i]))
            if ptype in policy_types(np.body) and selects_all(spec.get("podSelector")) and not opening:
                isolating.append(prefix)
        for prefix in isolating:
            f.ok(f"{prefix}.spec.podSelector", "equals", f"{{}} (all pods) with policyType {ptype}", {})
        if not isolating:
            f.fail(f"(NetworkPolicy objects in namespace {ns})", "contains",
                   f"a policy selecting all pods (podSelector: {{}}) with policyTypes {ptype}",
                   [p.name for p in pols] or "none in the scope")
        return f.verdict()

    check.__name__ = f"namespace_{direction}_isolated"
    return check


def workload_covered(target: Target, params: Mapping[str, Any]) -> Verdict:
    ns = target.namespace or "default"
    pols = _policies(target, ns)
    if isinstance(pols, str):
        return unknown(pols)
    labels = pod_view(target).labels
    f = Findings()
    for ptype, direction in (("Ingress", "ingress"), ("Egress", "egress")):
        covering = []
        for np in pols:
            spec = as_dict(np.body.get("spec"))
            if ptype not in policy_types(np.body) or not selector_matches(spec.get("podSelector"), labels):
                continue
            prefix = cite(target, np.resource, f"NetworkPolicy/{np.name}")
            covering.append(prefix)
            for i in allow_all_rules(np.body, direction):
                f.fail(f"{prefix}.spec.{direction}[{i}]", "notEquals", f"a rule allowing all {direction}",
                       as_dict(as_list(spec.get(direction))[i]))
        for prefix in covering:
            f.ok(f"{prefix}.spec.podSelector", "matches", f"the pod labels, with policyType {ptype}", labels)
        if not covering:
            f.fail(pod_view(target).mp("labels"), "selected by",
                   f"a NetworkPolicy with policyType {ptype} in namespace {ns}", labels or ABSENT)
    return f.verdict()


INTERNAL_LB = "service.beta.kubernetes.io/azure-load-balancer-internal"


def _not_load_balancer(target: Target, params: Mapping[str, Any]) -> str | None:
    t = as_dict(target.body.get("spec")).get("type", "ClusterIP")
    if t != "LoadBalancer":
        return f"Service type {t} is not a load balancer"
    return None


def internal_load_balancer(target: Target, params: Mapping[str, Any]) -> Verdict:
    obj = object_of(target)
    f = Findings()
    ann = annotations_of(meta(target.body))
    value = ann.get(INTERNAL_LB, ABSENT)
    allowed = glob_any(f"{obj.namespace}/{obj.name}" if obj else "", params.get("allowedPublicServices") or [])
    if allowed and str(value).lower() != "true":
        f.ok(f"metadata.annotations.{INTERNAL_LB}", "equals", f"true, or the service allowed public by "
             f"parameter allowedPublicServices (pattern {allowed!r})", value)
        return f.verdict()
    f.check(str(value).lower() == "true", f"metadata.annotations.{INTERNAL_LB}", "equals", "true", value)
    return f.verdict()


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


HTTP_OFF = (("kubernetes.io/ingress.allow-http", "false"),
            ("nginx.ingress.kubernetes.io/force-ssl-redirect", "true"),
            ("nginx.ingress.kubernetes.io/ssl-redirect", "true"),
            ("appgw.ingress.kubernetes.io/ssl-redirect", "true"),
            ("traefik.ingress.kubernetes.io/router.tls", "true"))


def https_only(target: Target, params: Mapping[str, Any]) -> Verdict:
    spec = as_dict(target.body.get("spec"))
    ann = annotations_of(meta(target.body))
    f = Findings()
    tls = as_list(spec.get("tls"))
    f.check(bool(tls), "spec.tls", "exists", True, [as_dict(t).get("hosts", []) for t in tls] or ABSENT)
    hits = [(k, v) for k, v in HTTP_OFF if str(ann.get(k, "")).lower() == v]
    if hits:
        for k, v in hits:
            f.ok(f"metadata.annotations.{k}", "equals", v, ann.get(k))
    else:
        f.fail("metadata.annotations", "contains", [f"{k}: {v}" for k, v in HTTP_OFF],
               {k: ann[k] for k, _ in HTTP_OFF if k in ann} or ABSENT)
    return f.verdict()


CONTROLS = [
    k8s_control(
        id="AKS-146", exclusions=CLUSTER_ACCESS, title="Every namespace has network policies", severity=Severity.MEDIUM, section=SECTION,
        rationale=(
            "Without a NetworkPolicy every pod of a namespace accepts traffic from every pod of the cluster and can "
            "reach anything: one compromised workload reaches all others. CIS 4.4.2 asks that every namespace "
            "define network policies (the cluster needs a network policy engine, checked on the ARM side)."),
        remediation="Add NetworkPolicy objects to each namespace, starting with a default-deny policy.",
        references=(NETPOL_REF,),
        mappings=Mappings(cis_aks=("4.4.2",), kubescape=("C-0206", "C-0054")),
        types=kinds.NAMESPACE, check=netpol_per_namespace, policy_gap=gap_text(None)),
    k8s_control(
        id="AKS-147", exclusions=CLUSTER_ACCESS, title="Namespaces isolate all pods for ingress (default-deny ingress)", severity=Severity.MEDIUM,
        section=MICRO,
        rationale=(
            "Microsegmentation starts with a policy selecting every pod of the namespace (podSelector: {}) with "
            "policyType Ingress: from then on only traffic some policy allows gets in. Any policy rule allowing all "
            "ingress (no from and no ports, or 0.0.0.0/0) undoes the isolation for the pods it selects."),
        remediation=(
            "Add a NetworkPolicy with podSelector: {} and policyTypes: [Ingress] (and no ingress rules) to each "
            "namespace, then allow the needed flows with narrower policies."),
        references=(NETPOL_REF,),
        mappings=Mappings(cis_aks=("4.4.2",), kubescape=("C-0260", "C-0030")),
        types=kinds.NAMESPACE, check=_namespace_isolation("ingress"), policy_gap=gap_text(None)),
    k8s_control(
        id="AKS-148", exclusions=CLUSTER_ACCESS, title="Egress is restricted by network policy", severity=Severity.MEDIUM, section=MICRO,
        rationale=(
            "Unrestricted egress lets a compromised pod reach the internet (exfiltration, command and control) and "
            "every internal endpoint. A policy selecting all pods with policyType Egress restricts it to what is "
            "allowed; a rule allowing all egress (no to and no ports, or 0.0.0.0/0) undoes that."),
        remediation=(
            "Add a NetworkPolicy with podSelector: {} and policyTypes: [Egress] allowing only DNS and the needed "
            "destinations; route internet egress through Azure Firewall."),
        references=(NETPOL_REF,),
        mappings=Mappings(kubescape=("C-0260", "C-0030")),
        types=kinds.NAMESPACE, check=_namespace_isolation("egress"), policy_gap=gap_text(None)),
    k8s_control(
        id="AKS-149", exclusions=CLUSTER_ACCESS, title="Workloads are selected by network policies for ingress and egress",
        severity=Severity.MEDIUM, section=MICRO,
        rationale=(
            "A pod is isolated only for the directions some policy selecting it declares. A workload whose labels "
            "no Ingress (or Egress) policy selects accepts (or sends) any traffic, whatever other policies of the "
            "namespace say. A policy that selects it with a type and no rules denies that direction, which counts "
            "as restricted."),
        remediation=(
            "Make sure a NetworkPolicy with policyTypes Ingress and Egress selects the workload's pod labels (a "
            "namespace-wide podSelector: {} does)."),
        references=(NETPOL_REF,),
        mappings=Mappings(kubescape=("C-0260",)),
        types=kinds.WORKLOAD, check=workload_covered, policy_gap=gap_text(None)),
    k8s_control(
        id="AKS-150", exclusions=CLUSTER_ACCESS, title="Load balancer services are internal", severity=Severity.HIGH, section="CIS 5.4",
        rationale=(
            "A Service of type LoadBalancer without the annotation service.beta.kubernetes.io/"
            "azure-load-balancer-internal: \"true\" gets a public IP on the Azure load balancer, exposing the "
            "workload to the internet outside the ingress path, WAF and firewall. Where only internal ingress is "
            "wanted every load balancer must be internal; deliberate exceptions go in allowedPublicServices."),
        remediation=(
            "Add the annotation service.beta.kubernetes.io/azure-load-balancer-internal: \"true\" (and "
            "azure-load-balancer-internal-subnet) or expose the workload through the ingress controller."),
        references=("https://learn.microsoft.com/azure/aks/internal-lb",),
        mappings=Mappings(kubescape=("C-0256",), azure_policy=("3fc4dc25-5baf-40d8-9b05-7fe74c1bc64e",)),
        types=kinds.SERVICE, check=internal_load_balancer, applies=_not_load_balancer,
        parameters=(Parameter("allowedPublicServices", [], "Services (namespace/name globs) allowed a public "
                                                          "load balancer.", type="Array"),),
        policy_gap=gap_text("3fc4dc25-5baf-40d8-9b05-7fe74c1bc64e")),
    k8s_control(
        id="AKS-151", exclusions=CLUSTER_ACCESS, title="Ingresses terminate TLS for their hosts", severity=Severity.HIGH, section="CIS 5.4",
        rationale=(
            "An Ingress without spec.tls serves plain HTTP: credentials and data cross the network readable and "
            "modifiable. CIS 5.4.5 asks for TLS on HTTPS load balancers; every host the rules serve should be "
            "covered by a TLS entry (wildcards count)."),
        remediation="Add spec.tls with the rule hosts and a certificate secret (or the ingress controller's default "
                    "certificate, e.g. from Key Vault through the Secrets Store CSI driver).",
        references=("https://kubernetes.io/docs/concepts/services-networking/ingress/#tls",),
        mappings=Mappings(cis_aks=("5.4.5",), kubescape=("C-0245",), azure_policy=("1a5b4dca-0b6f-4cf5-907c-56316bc1bf3d",)),
        types=kinds.INGRESS, check=ingress_tls, policy_gap=gap_text("1a5b4dca-0b6f-4cf5-907c-56316bc1bf3d")),
    k8s_control(
        id="AKS-152", exclusions=CLUSTER_ACCESS, title="Ingresses serve HTTPS only (plain HTTP disabled or redirected)", severity=Severity.MEDIUM,
        section="CIS 5.4",
        rationale=(
            "TLS on an Ingress does not by itself stop the controller from also serving the same routes over plain "
            "HTTP. HTTPS-only needs TLS plus HTTP disabled (kubernetes.io/ingress.allow-http: \"false\") or "
            "redirected (nginx or Application Gateway ssl-redirect, Traefik router.tls)."),
        remediation=(
            "Set kubernetes.io/ingress.allow-http: \"false\" or the controller's redirect annotation "
            "(nginx.ingress.kubernetes.io/force-ssl-redirect: \"true\", appgw.ingress.kubernetes.io/ssl-redirect: "
            "\"true\", traefik.ingress.kubernetes.io/router.tls: \"true\") together with spec.tls."),
        mappings=Mappings(cis_aks=("5.4.5",), kubescape=("C-0245",), azure_policy=("1a5b4dca-0b6f-4cf5-907c-56316bc1bf3d",)),
        types=kinds.INGRESS, check=https_only, policy_gap=gap_text("1a5b4dca-0b6f-4cf5-907c-56316bc1bf3d")),
]
