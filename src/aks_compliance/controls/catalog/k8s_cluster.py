"""Cluster-wide in-cluster controls, evaluated once per scope (target type ``k8s/cluster``)."""

from __future__ import annotations

from typing import Any, Mapping

from ...k8s import kinds
from ...k8s.checks import CLUSTER_STATE, CLUSTER_WIDE, Findings, cite, gap_text, k8s_control, scope_of, unknown
from ...k8s.podspec import as_dict, as_list
from ...policy.conditions import Verdict
from ...targets import Target
from ..model import Mappings, Severity

ENGINE_WEBHOOKS = ("gatekeeper-validating-webhook-configuration", "azure-policy-validating-webhook-configuration")
ENGINE_DEPLOYMENTS = (("gatekeeper-system", "gatekeeper-controller"), ("gatekeeper-system", "gatekeeper-controller-manager"),
                      ("gatekeeper-system", "gatekeeper-audit"), ("kube-system", "azure-policy"),
                      ("kube-system", "azure-policy-webhook"))


def policy_engine(target: Target, params: Mapping[str, Any]) -> Verdict:
    scope = scope_of(target)
    f = Findings()
    for wh in scope.of("ValidatingWebhookConfiguration"):
        services = [as_dict(as_dict(w).get("clientConfig")).get("service") for w in as_list(wh.body.get("webhooks"))]
        in_gatekeeper = any(as_dict(s).get("namespace") == "gatekeeper-system" for s in services)
        if wh.name in ENGINE_WEBHOOKS or in_gatekeeper:
            prefix = cite(target, wh.resource, f"ValidatingWebhookConfiguration/{wh.name}")
            f.ok(f"{prefix}.metadata.name", "in", list(ENGINE_WEBHOOKS) + ["(a webhook served from gatekeeper-system)"],
                 wh.name)
    for ns, name in ENGINE_DEPLOYMENTS:
        d = scope.get("Deployment", ns, name)
        if d is not None:
            prefix = cite(target, d.resource, f"Deployment/{name}")
            f.ok(f"{prefix}.metadata.name", "equals", f"{ns}/{name}", f"{ns}/{name}")
    if f.good:
        return f.verdict()
    if not scope.is_snapshot:
        return f.verdict()  # not reached: manifests without an engine are not applicable
    gaps = [g for g in (scope.gap("ValidatingWebhookConfiguration"), scope.gap("Deployment")) if g]
    if gaps:
        return unknown("whether a policy engine is installed cannot be told: " + "; ".join(gaps))
    f.fail("(ValidatingWebhookConfiguration objects)", "contains", list(ENGINE_WEBHOOKS),
           sorted(w.name for w in scope.of("ValidatingWebhookConfiguration")) or "none")
    return f.verdict()


def _manifests_without_engine(target: Target, params: Mapping[str, Any]) -> str | None:
    scope = scope_of(target)
    if scope.is_snapshot:
        return None
    found = any(w.name in ENGINE_WEBHOOKS for w in scope.of("ValidatingWebhookConfiguration")) or \
        any(scope.get("Deployment", ns, n) for ns, n in ENGINE_DEPLOYMENTS)
    if not found:
        return ("the scope is a set of manifests, not a cluster: the policy engine is a cluster add-on that "
                "workload manifests do not contain (check a cluster snapshot, or the ARM side's Azure Policy add-on)")
    return None


CONTROLS = [
    k8s_control(
        id="AKS-153", title="A policy engine (Azure Policy add-on / Gatekeeper) is running in the cluster",
        severity=Severity.MEDIUM, section="CIS 4.3",
        rationale=(
            "Azure Policy for Kubernetes enforces and audits the in-cluster built-ins through Gatekeeper's "
            "admission webhook. Without it no Pod Security, registry or RBAC policy is enforced at admission, "
            "whatever is assigned in Azure. Seen in the cluster as Gatekeeper's or Azure Policy's validating "
            "webhook configuration or their deployments."),
        remediation=(
            "Enable the Azure Policy add-on (az aks enable-addons --addons azure-policy) and assign the Kubernetes "
            "pod security initiatives."),
        references=("https://learn.microsoft.com/azure/governance/policy/concepts/policy-for-kubernetes",),
        mappings=Mappings(azure_policy=("0a15ec92-a229-4763-bb14-0ea34a568f8d",), mitre=("T1562.001",)),
        mapping_note=("kubescape C-0036 and C-0039 list validating and mutating webhooks for review (a malicious "
                      "admission controller); this control asks for the policy engine's, so they are not mapped."),
        types=kinds.CLUSTER, check=policy_engine, applies=_manifests_without_engine, exclusions=CLUSTER_WIDE,
        policy_gap=gap_text(CLUSTER_STATE.format(what="a policy engine running in it"),
                            "0a15ec92-a229-4763-bb14-0ea34a568f8d") + " That built-in audits the ARM add-on "
                   "setting; this control looks for the engine running in the cluster."),
]


# --- encryption in transit on Calico (the Azure-side twin for Cilium is AKS-070) ---------------------------

FELIX = "FelixConfiguration"
CALICO_WORKLOADS = (("DaemonSet", "kube-system", "calico-node"), ("DaemonSet", "calico-system", "calico-node"),
                    ("Deployment", "tigera-operator", "tigera-operator"))


def _felix_configs(target: Target) -> list:
    return scope_of(target).of(FELIX)


def _calico_workload(target: Target):
    scope = scope_of(target)
    return next((o for kind, ns, name in CALICO_WORKLOADS if (o := scope.get(kind, ns, name)) is not None), None)


def calico_wireguard(target: Target, params: Mapping[str, Any]) -> Verdict:
    """Felix encrypts pod traffic between nodes when the global FelixConfiguration ('default') sets
    wireguardEnabled, and no node-specific one ('node.<name>') turns it off. Felix's own default is off."""
    scope = scope_of(target)
    configs = _felix_configs(target)
    f = Findings()
    glob = next((c for c in configs if c.name == "default"), None)
    if glob is None:
        why = scope.gap(FELIX) or (f"the global {FELIX} 'default' is not among the scanned objects (Calico runs: "
                                   f"{_calico_workload(target).name if _calico_workload(target) else 'it'})")
        return unknown(f"whether Calico encrypts traffic between nodes cannot be told: {why}")
    prefix = cite(target, glob.resource, f"{FELIX}/default")
    spec = as_dict(glob.body.get("spec"))
    value = spec.get("wireguardEnabled", ABSENT_VALUE)
    f.check(value is True, f"{prefix}.spec.wireguardEnabled", "equals", True,
            "(absent): Felix's default is false" if value is ABSENT_VALUE else value)
    for c in configs:
        if c.name.startswith("node.") and as_dict(c.body.get("spec")).get("wireguardEnabled") is False:
            p = cite(target, c.resource, f"{FELIX}/{c.name}")
            f.fail(f"{p}.spec.wireguardEnabled", "notEquals", False, False)
    return f.verdict()


ABSENT_VALUE = object()


def _without_calico(target: Target, params: Mapping[str, Any]) -> str | None:
    scope = scope_of(target)
    if _felix_configs(target) or _calico_workload(target) is not None:
        return None
    if scope.is_snapshot and (scope.gap("DaemonSet") or scope.gap("Deployment")):
        return None  # cannot tell whether Calico runs: the check says unknown
    return ("Calico is not in this scope (no FelixConfiguration, no calico-node DaemonSet or tigera-operator): on "
            "Azure CNI powered by Cilium, encryption between nodes is the Azure-side AKS-070")


CONTROLS += [
    k8s_control(
        id="AKS-190", title="Calico encrypts pod traffic between nodes (FelixConfiguration wireguardEnabled)",
        severity=Severity.MEDIUM, section="Encryption in transit",
        rationale=(
            "Pod traffic between nodes crosses the virtual network in clear text unless the dataplane encrypts it. "
            "With Calico (AKS network policy calico, or a bring-your-own Calico), Felix encrypts it with WireGuard "
            "when the global FelixConfiguration named default sets spec.wireguardEnabled to true; Felix's default "
            "is false, and a node-specific FelixConfiguration (node.<name>) can turn it off for one node. On Azure "
            "CNI powered by Cilium the ARM property decides instead (AKS-070)."),
        remediation=(
            "Set spec.wireguardEnabled: true in the FelixConfiguration named default "
            "(kubectl patch felixconfiguration default --type merge -p '{\"spec\":{\"wireguardEnabled\":true}}'; "
            "the nodes' kernel must support WireGuard) and remove wireguardEnabled: false from node-specific ones."),
        references=("https://docs.tigera.io/calico/latest/network-policy/encrypt-cluster-pod-traffic",
                    "https://docs.tigera.io/calico/latest/reference/resources/felixconfig"),
        mappings=Mappings(nist=("SC-8", "SC-8(1)"), mitre=("T1040",)),
        types=kinds.CLUSTER, check=calico_wireguard, applies=_without_calico, exclusions=CLUSTER_WIDE,
        policy_gap=gap_text(CLUSTER_STATE.format(what="Calico's FelixConfigurations, the default and node-specific ones"))),
]
