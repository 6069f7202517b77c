"""Egress to the instance metadata endpoint (169.254.169.254), per workload.

On AKS the endpoint answers with the node's managed identity tokens (the kubelet identity, often with rights
on the node resource group and the container registry) to anything on the node that asks, pods included,
unless a network policy stops them. A workload passes when the network policies that select it (Kubernetes
NetworkPolicy, CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy: :mod:`aks_compliance.k8s.netpol`) deny
that address, or isolate egress without allowing it; a pod on the host network is not subject to them.
"""

from __future__ import annotations

from typing import Any, Mapping

from ...k8s import kinds
from ...k8s.checks import ABSENT, CLUSTER_ACCESS, SEVERAL_OBJECTS, Findings, cite, gap_text, glob_any, k8s_control, scope_of, unknown
from ...k8s.netpol import HOST_NETWORK_EXPECTED, namespace_labels, policy_rules
from ...k8s.podspec import pod_view
from ...policy.conditions import Verdict
from ...targets import Target
from ..model import Mappings, Parameter, Severity

IMDS = "169.254.169.254"
IMDS_PORT = 80


def metadata_blocked(target: Target, params: Mapping[str, Any]) -> Verdict:
    v = pod_view(target)
    f = Findings()
    if v.spec.get("hostNetwork") is True:
        f.fail(v.p("hostNetwork"), "equals", HOST_NETWORK_EXPECTED, True)
        return f.verdict()
    ns = target.namespace or "default"
    rules = policy_rules(scope_of(target), ns)
    if isinstance(rules, str):
        return unknown(rules)
    sa = v.spec.get("serviceAccountName") or v.spec.get("serviceAccount") or "default"
    ns_labels = namespace_labels(scope_of(target), ns)
    selecting = [r for r in rules if r.selects(ns, v.labels, str(sa), ns_labels)]
    for r in selecting:
        decided, paths = r.egress_to(IMDS, IMDS_PORT)
        if decided is False and paths:  # a deny rule covering the address wins over every allow (Cilium)
            cite(target, r.obj.resource, r.label)
            f.ok(paths[0], "denies", f"egress to {IMDS}:{IMDS_PORT}", "a deny rule covering it")
            return f.verdict()
    isolating = [r for r in selecting if r.isolates("egress")]
    if not isolating:
        f.fail(v.mp("labels"), "selected by",
               f"a network policy isolating egress that does not allow {IMDS} (or denies it)", v.labels or ABSENT)
        return f.verdict()
    undecided: list[str] = []
    for r in selecting:
        decided, paths = r.egress_to(IMDS, IMDS_PORT)
        cite(target, r.obj.resource, r.label)
        if decided is True:
            f.fail(paths[0], "allows no", f"egress to {IMDS}:{IMDS_PORT} (the instance metadata endpoint)",
                   f"a rule covering {IMDS}")
        elif decided is None:
            undecided.extend(paths)
    if f.bad:
        return f.verdict()
    if undecided:
        return unknown(f"whether {', '.join(undecided)} allow{'s' if len(undecided) == 1 else ''} port {IMDS_PORT} "
                       f"cannot be told (a named port)")
    for r in isolating:
        f.ok(r.selector_path, "selects", f"this workload, isolating egress without allowing {IMDS}", v.labels)
    return f.verdict()


def _allowed(target: Target, params: Mapping[str, Any]) -> str | None:
    name = f"{target.namespace}/{target.resource.name}"
    pattern = glob_any(name, params.get("allowedWorkloads") or [])
    if pattern:
        return f"workload {name} may reach the metadata endpoint (parameter allowedWorkloads, pattern {pattern!r})"
    return None


CONTROLS = [
    k8s_control(
        id="AKS-169", exclusions=CLUSTER_ACCESS,
        title="Workloads cannot reach the instance metadata endpoint (169.254.169.254)", severity=Severity.HIGH,
        section="Microsegmentation",
        rationale=(
            "The Azure Instance Metadata Service answers on 169.254.169.254 to anything on the node, pods included: "
            "it hands out tokens for the node's managed identity (on AKS the kubelet identity, which can pull from "
            "the registry and often change the node resource group) and describes the node. A compromised pod that "
            "reaches it acts as the node in Azure. Workloads that do not need it (all but a few node agents, which "
            "use it on purpose: list them in allowedWorkloads) should be selected by a network policy that denies "
            "the address or isolates egress without allowing it; Microsoft Entra Workload ID gives pods their own "
            "identity without the endpoint. A pod on the host network is not subject to network policies and fails."),
        remediation=(
            "Add an egress network policy for the namespace that allows only what the workloads need (an ipBlock "
            "0.0.0.0/0 with except 169.254.169.254/32 for internet egress), or a CiliumClusterwideNetworkPolicy with "
            "egressDeny toCIDR 169.254.169.254/32; move workloads to Workload ID."),
        references=("https://learn.microsoft.com/azure/virtual-machines/instance-metadata-service",
                    "https://learn.microsoft.com/azure/aks/imds-restriction"),
        mappings=Mappings(kubescape=("C-0052",), mitre=("T1552.005",)),
        mapping_note=("kubescape C-0052 asks whether the nodes can reach the cloud's metadata service (a node-level "
                      "probe); the cluster-side answer is whether network policies stop the pods."),
        types=kinds.WORKLOAD, check=metadata_blocked, applies=_allowed,
        policy_gap=gap_text(SEVERAL_OBJECTS.format(what="the workload and every egress network policy that selects it")),
        parameters=(Parameter("allowedWorkloads", [], "Workloads (namespace/name globs) that need the metadata "
                                                      "endpoint; listed as not applicable.", type="Array"),)),
]
