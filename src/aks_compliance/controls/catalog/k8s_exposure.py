"""Exposure of workloads outside the cluster, and the ways traffic meant for one Service reaches another.

* **Workload exposure** joins a workload to the Services whose selector matches its pod labels (same
  namespace) and to what routes to those Services: a Service of type NodePort, or LoadBalancer without the
  Azure internal annotation (AKS-170); an Ingress backend (AKS-170); a Gateway API route attached to a
  Gateway, or an Istio VirtualService bound to an ingress gateway (AKS-171). Deliberately exposed workloads go
  in ``allowedExposedWorkloads`` and pass, saying so.
* **Traffic interception**: Service ``externalIPs`` outside an allow-list (CVE-2020-8554), Ingress hosts that
  are wildcards, missing, or claimed by an Ingress of another namespace (AKS-172, AKS-173).
"""

from __future__ import annotations

import ipaddress
from typing import Any, Iterable, Mapping

from ...k8s import kinds
from ...k8s.checks import BEYOND_RULES, CLUSTER_ACCESS, SEVERAL_OBJECTS, Findings, cite, gap_text, glob_any, k8s_control, object_of, scope_of, unknown
from ...k8s.podspec import as_dict, as_list, pod_view
from ...k8s.scope import K8sObject, K8sScope, annotations_of, meta
from ...policy.conditions import Verdict
from ...targets import Target
from ..model import Mappings, Parameter, Severity
from .k8s_network import INTERNAL_LB, OTHER_LOAD_BALANCER_REASON, is_internal_load_balancer, other_load_balancer_class

SECTION = "Exposure"
ALLOWED_EXPOSED = Parameter(
    "allowedExposedWorkloads", [], "Workloads (namespace/name globs) exposed on purpose: they pass, and say so.",
    type="Array")


def _str_selector(svc: K8sObject) -> dict[str, str]:
    return {str(k): str(v) for k, v in as_dict(as_dict(svc.body.get("spec")).get("selector")).items()}


def services_selecting(scope: K8sScope, namespace: str, labels: dict[str, str]) -> list[K8sObject]:
    """Services of ``namespace`` whose (non-empty) selector matches the pod labels, in the order read."""
    index = _services_by_selector_item(scope, namespace)
    found = []
    for item in labels.items():
        if isinstance(item[1], str):  # (a selector's values are text: another value matches none)
            for n, svc, sel in index.get(item, ()):
                if all(labels.get(k) == v for k, v in sel.items()):
                    found.append((n, svc))
    found.sort(key=lambda f: f[0])
    return [svc for _, svc in found]


def _services_by_selector_item(scope: K8sScope, namespace: str) -> dict[tuple[str, str], list[tuple[int, K8sObject,
                                                                                                  dict[str, str]]]]:
    """A namespace's Services with a selector, each under one (key, value) of it (its least): a pod matches a
    Service only if it has that label, so a pod's labels find the candidates; built once per namespace (every pod
    searched every Service: 5,000 pods behind 5,000 Services took minutes)."""
    memo = scope.memo.setdefault("services_by_selector_item", {})
    index = memo.get(namespace)
    if index is None:
        index = memo[namespace] = {}
        for n, svc in enumerate(scope.of("Service", namespace)):
            sel = _str_selector(svc)
            if sel:
                index.setdefault(min(sel.items()), []).append((n, svc, sel))
    return index


def _public_service_type(svc: K8sObject) -> str | None:
    spec = as_dict(svc.body.get("spec"))
    t = spec.get("type", "ClusterIP")
    if t == "NodePort":
        return "NodePort"
    if t == "LoadBalancer":
        return None if is_internal_load_balancer(annotations_of(meta(svc.body))) else "LoadBalancer (public)"
    return None


def _ingress_backends(ing: K8sObject) -> Iterable[tuple[str, str]]:
    """(evidence path, Service name) of every backend of an Ingress (networking.k8s.io/v1 and the old form)."""
    spec = as_dict(ing.body.get("spec"))
    for key in ("defaultBackend", "backend"):
        b = as_dict(spec.get(key))
        name = as_dict(b.get("service")).get("name") or b.get("serviceName")
        if isinstance(name, str):
            yield f"spec.{key}", name
    for i, rule in enumerate(as_list(spec.get("rules"))):
        for j, path in enumerate(as_list(as_dict(as_dict(rule).get("http")).get("paths"))):
            b = as_dict(as_dict(path).get("backend"))
            name = as_dict(b.get("service")).get("name") or b.get("serviceName")
            if isinstance(name, str):
                yield f"spec.rules[{i}].http.paths[{j}].backend", name


def _allowed_exposure(target: Target, params: Mapping[str, Any], f: Findings) -> bool:
    name = f"{target.namespace}/{target.resource.name}"
    pattern = glob_any(name, params.get("allowedExposedWorkloads") or [])
    if pattern:
        f.ok("metadata.name", "in", f"allowedExposedWorkloads (pattern {pattern!r})", name)
    return bool(pattern)


def exposed_by_services(target: Target, params: Mapping[str, Any]) -> Verdict:
    scope, ns = scope_of(target), target.namespace or "default"
    gaps = [g for g in (scope.gap("Service"), scope.gap("Ingress")) if g]
    if gaps:
        return unknown("exposure cannot be told: " + "; ".join(gaps))
    f = Findings()
    services = services_selecting(scope, ns, pod_view(target).labels)
    exposures: list[tuple[str, str, Any]] = []
    untold: list[tuple[str, str]] = []  # load balancers of another class: public or not is that class's
    names = {s.name for s in services}
    for svc in services:
        prefix = cite(target, svc.resource, f"Service/{svc.name}")
        if other_load_balancer_class(as_dict(svc.body.get("spec"))) is not None:
            untold.append((f"{prefix}.spec.loadBalancerClass", svc.name))
            continue
        kind = _public_service_type(svc)
        if kind:
            exposures.append((f"{prefix}.spec.type", f"a Service of type {kind} selecting the workload",
                              as_dict(svc.body.get("spec")).get("type")))
    for ing in scope.of("Ingress", ns):
        for path, name in _ingress_backends(ing):
            if name in names:
                prefix = cite(target, ing.resource, f"Ingress/{ing.name}")
                exposures.append((f"{prefix}.{path}", f"an Ingress routing to Service {name}", name))
    if (exposures or untold) and _allowed_exposure(target, params, f):
        return f.verdict()
    for path, what, actual in exposures:
        f.fail(path, "exposes not", what, actual)
    for path, name in untold:
        f.cannot_tell(path, "exposes not", "a public load balancer", f"Service {name}: {OTHER_LOAD_BALANCER_REASON}")
    if not exposures:
        f.ok(pod_view(target).mp("labels"), "selected by no", "NodePort or public LoadBalancer Service, or Service an "
             "Ingress routes to", sorted(names) or "no Service")
    return f.verdict()


def _route_services(route: K8sObject) -> Iterable[tuple[str, str, str]]:
    """(evidence path, namespace, Service name) of every Service backend of a Gateway API route."""
    for i, rule in enumerate(as_list(as_dict(route.body.get("spec")).get("rules"))):
        for j, ref in enumerate(as_list(as_dict(rule).get("backendRefs"))):
            ref = as_dict(ref)
            if ref.get("kind", "Service") != "Service" or ref.get("group", "") not in ("", "core"):
                continue
            if isinstance(ref.get("name"), str):
                yield f"spec.rules[{i}].backendRefs[{j}]", str(ref.get("namespace") or route.namespace), ref["name"]


def _istio_host(host: str, vs_namespace: str) -> tuple[str, str] | None:
    """(namespace, Service) an Istio destination host names, when it is a cluster Service."""
    parts = host.split(".")
    if len(parts) == 1:
        return vs_namespace, parts[0]
    if len(parts) == 2 or (len(parts) >= 3 and parts[2] == "svc"):
        return parts[1], parts[0]
    return None


def _virtual_service_destinations(vs: K8sObject) -> Iterable[tuple[str, str, str]]:
    spec = as_dict(vs.body.get("spec"))
    for proto in ("http", "tcp", "tls"):
        for i, route in enumerate(as_list(spec.get(proto))):
            for j, dest in enumerate(as_list(as_dict(route).get("route"))):
                host = as_dict(as_dict(dest).get("destination")).get("host")
                found = _istio_host(host, vs.namespace or "default") if isinstance(host, str) else None
                if found:
                    yield f"spec.{proto}[{i}].route[{j}].destination.host", found[0], found[1]


def exposed_by_gateways(target: Target, params: Mapping[str, Any]) -> Verdict:
    scope, ns = scope_of(target), target.namespace or "default"
    gaps = [g for g in (scope.gap(k) for k in (*kinds.GATEWAY_ROUTE_KINDS, "VirtualService", "Service")) if g]
    if gaps:
        return unknown("exposure through gateways cannot be told: " + "; ".join(gaps))
    f = Findings()
    names = {s.name for s in services_selecting(scope, ns, pod_view(target).labels)}
    exposures: list[tuple[str, str, Any]] = []
    for kind in kinds.GATEWAY_ROUTE_KINDS:
        for route in scope.of(kind):
            parents = [p for p in as_list(as_dict(route.body.get("spec")).get("parentRefs"))
                       if as_dict(p).get("kind", "Gateway") == "Gateway"]
            if not parents:
                continue  # a route attached to no Gateway carries no traffic
            for path, svc_ns, svc in _route_services(route):
                if svc_ns == ns and svc in names:
                    prefix = cite(target, route.resource, f"{kind}/{route.name}")
                    exposures.append((f"{prefix}.{path}", f"a {kind} attached to Gateway "
                                      f"{as_dict(parents[0]).get('name')} routing to Service {svc}", svc))
    for vs in scope.of("VirtualService"):
        gateways = [str(g) for g in as_list(as_dict(vs.body.get("spec")).get("gateways")) if str(g) != "mesh"]
        if not gateways:
            continue  # routes inside the mesh only
        for path, svc_ns, svc in _virtual_service_destinations(vs):
            if svc_ns == ns and svc in names:
                prefix = cite(target, vs.resource, f"VirtualService/{vs.name}")
                exposures.append((f"{prefix}.{path}", f"an Istio VirtualService bound to gateway {gateways[0]} "
                                  f"routing to Service {svc}", svc))
    if exposures and _allowed_exposure(target, params, f):
        return f.verdict()
    for path, what, actual in exposures:
        f.fail(path, "exposes not", what, actual)
    if not exposures:
        f.ok(pod_view(target).mp("labels"), "reached by no", "Gateway API route or Istio VirtualService bound to a "
             "gateway", sorted(names) or "no Service")
    return f.verdict()


# -- traffic interception ------------------------------------------------------------------------------------

def _ip_allowed(ip: str, allowed: Iterable[Any]) -> bool:
    for a in allowed:
        try:
            if "/" in str(a):
                if ipaddress.ip_address(ip) in ipaddress.ip_network(str(a), strict=False):
                    return True
            elif ipaddress.ip_address(ip) == ipaddress.ip_address(str(a)):
                return True
        except ValueError:
            continue
    return False


def external_ips(target: Target, params: Mapping[str, Any]) -> Verdict:
    allowed = list(params.get("allowedExternalIPs") or [])
    ips = as_list(as_dict(target.body.get("spec")).get("externalIPs"))
    f = Findings()
    for i, ip in enumerate(ips):
        f.check(_ip_allowed(str(ip), allowed), f"spec.externalIPs[{i}]", "in", allowed or "(none allowed)", ip)
    if not ips:
        f.ok("spec.externalIPs", "contains no", "external IPs", "none")
    return f.verdict()


def _hosts(ing: K8sObject) -> list[tuple[str, Any]]:
    return [(f"spec.rules[{i}].host", as_dict(r).get("host")) for i, r in enumerate(as_list(as_dict(ing.body.get("spec"))
                                                                                        .get("rules")))]


def ingress_hosts(target: Target, params: Mapping[str, Any]) -> Verdict:
    obj = object_of(target)
    assert obj is not None
    scope = scope_of(target)
    wildcards_ok = params.get("allowWildcardHosts") is True
    f = Findings()
    others = [o for o in scope.of("Ingress") if o.namespace != obj.namespace]
    hosts = _hosts(obj)
    for path, host in hosts:
        if not isinstance(host, str) or not host:
            f.fail(path, "exists", "a host (a rule without one answers every name the controller serves)", host)
            continue
        if host.startswith("*") and not wildcards_ok:
            f.fail(path, "notMatches", "a wildcard (it answers names other teams may need)", host)
            continue
        claims = [(o, p) for o in others for p, h in _hosts(o) if h == host]
        for o, p in claims:
            prefix = cite(target, o.resource, f"Ingress/{o.namespace}/{o.name}")
            f.fail(f"{prefix}.{p}", "notEquals", f"host {host} of {obj.namespace}/{obj.name} (claimed by another "
                   f"namespace: which backend gets the traffic is up to the controller)", f"{o.namespace}/{o.name}")
        if not claims:
            f.ok(path, "claimed by", "this Ingress's namespace only", host)
    if not hosts:
        f.fail("spec.rules", "exists", "rules with hosts (a default backend answers every name)", "none")
    if not f.bad and scope.gap("Ingress"):
        return unknown(f"Ingresses of other namespaces cannot be compared: {scope.gap('Ingress')}", f.good)
    return f.verdict()


CONTROLS = [
    k8s_control(
        id="AKS-170", exclusions=CLUSTER_ACCESS,
        title="Workloads are not exposed through NodePort or public LoadBalancer Services or Ingresses unless allowed",
        severity=Severity.MEDIUM, section=SECTION,
        rationale=(
            "An attacker's first step is a workload reachable from outside. A workload is exposed when a Service "
            "selecting its pods is of type NodePort (a port on every node) or LoadBalancer without the annotation "
            f"{INTERNAL_LB}: \"true\" (a public IP), or when an Ingress routes to such a Service. Each exposure "
            "should be deliberate, reviewed and protected (WAF, authentication): list those in "
            "allowedExposedWorkloads; the rest fail. A LoadBalancer Service with spec.loadBalancerClass is ignored by "
            "the Azure cloud provider and served by that class's implementation: such an exposure is unknown."),
        remediation=(
            "Use ClusterIP Services behind the ingress controller, internal load balancers, or list the workload in "
            "allowedExposedWorkloads once its exposure is reviewed."),
        references=("https://learn.microsoft.com/azure/aks/internal-lb",),
        mappings=Mappings(kubescape=("C-0256",), mitre=("T1133", "T1190")),
        mapping_note=("an internal Azure load balancer is not exposure here; kubescape C-0256 does not know the "
                      "annotation. A LoadBalancer Service with spec.loadBalancerClass (another implementation's) is "
                      "unknown here, exposure for C-0256."),
        types=kinds.WORKLOAD, check=exposed_by_services, parameters=(ALLOWED_EXPOSED,),
        policy_gap=gap_text(SEVERAL_OBJECTS.format(what="the workload and the Services and Ingresses that reach it"))),
    k8s_control(
        id="AKS-171", exclusions=CLUSTER_ACCESS,
        title="Workloads are not exposed through Gateway API routes or Istio ingress gateways unless allowed",
        severity=Severity.MEDIUM, section=SECTION,
        rationale=(
            "The Gateway API (HTTPRoute, GRPCRoute, TLSRoute, TCPRoute, UDPRoute attached to a Gateway) and Istio "
            "(a VirtualService bound to an ingress gateway, such as AKS's Istio add-on's) expose Services without "
            "an Ingress or a LoadBalancer of their own, so controls that look only at those miss them. A workload is "
            "exposed when such a route sends traffic to a Service selecting its pods. List deliberate exposures in "
            "allowedExposedWorkloads."),
        remediation=(
            "Remove the route, bind it to an internal Gateway, or list the workload in allowedExposedWorkloads once "
            "its exposure is reviewed."),
        references=("https://gateway-api.sigs.k8s.io/", "https://learn.microsoft.com/azure/aks/istio-deploy-ingress"),
        mappings=Mappings(kubescape=("C-0266",), mitre=("T1133", "T1190")),
        types=kinds.WORKLOAD, check=exposed_by_gateways, parameters=(ALLOWED_EXPOSED,),
        policy_gap=gap_text(SEVERAL_OBJECTS.format(what="the workload and the Gateway API routes and Istio gateways that reach it"))),
    k8s_control(
        id="AKS-172", exclusions=CLUSTER_ACCESS,
        title="Services use only allowed external IPs (CVE-2020-8554)", severity=Severity.HIGH, section=SECTION,
        rationale=(
            "Whoever can create a Service can set spec.externalIPs to any address, and every node then captures "
            "traffic to that address, the cluster's own pods' traffic to external services included: a "
            "man-in-the-middle on any IP (CVE-2020-8554, unfixed by design). Only addresses the cluster owns should "
            "appear there: list them (or CIDRs) in allowedExternalIPs."),
        remediation=(
            "Remove spec.externalIPs (use a LoadBalancer Service), and enforce the allow-list at admission with "
            "Azure Policy's built-in d46c275d."),
        references=("https://github.com/kubernetes/kubernetes/issues/97076",),
        mappings=Mappings(azure_policy=("d46c275d-1680-448d-b2ec-e495a3b6cc89",), mitre=("T1557",)),
        types=kinds.SERVICE, check=external_ips, policy_gap=gap_text(BEYOND_RULES.format(
            what="addresses compared with CIDR ranges"), "d46c275d-1680-448d-b2ec-e495a3b6cc89"),
        parameters=(Parameter("allowedExternalIPs", [], "Addresses or CIDRs Services may claim as external IPs.",
                              type="Array"),),
       builtin_deviation=("The built-in compares external IPs exactly and excludes kube-system; this control accepts CIDR ranges in allowedExternalIPs and excludes no namespace.")),
    k8s_control(
        id="AKS-173", exclusions=CLUSTER_ACCESS,
        title="Ingress hosts are specific and owned by one namespace", severity=Severity.MEDIUM, section=SECTION,
        rationale=(
            "An Ingress rule without a host, or with a wildcard host, answers names that other applications may "
            "need; two Ingresses in different namespaces claiming the same host leave it to the controller which "
            "one gets the traffic, so one team can take over another's domain and its credentials (traffic "
            "takeover). Every rule should name a host, no host should be a wildcard (unless allowWildcardHosts), "
            "and no host should be claimed from another namespace (joined across the scope)."),
        remediation=(
            "Name the host in every rule; give each host to one namespace (and enforce it with the controller's "
            "admission webhook or a policy engine)."),
        mappings=Mappings(azure_policy=("d8c942c6-16a3-400b-8f2e-785f44030036",), mitre=("T1557",)),
        types=kinds.INGRESS, check=ingress_hosts, policy_gap=gap_text(SEVERAL_OBJECTS.format(
            what="the Ingress and the other namespaces' Ingresses"), "d8c942c6-16a3-400b-8f2e-785f44030036"),
        parameters=(Parameter("allowWildcardHosts", False, "Accept wildcard hosts (*.example.com).",
                              type="Boolean"),)),
]
