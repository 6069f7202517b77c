"""Cluster-wide in-cluster controls, evaluated once per scope (target type ``k8s/cluster``)."""

from __future__ import annotations

from typing import Any, Mapping

from ...k8s import kinds
from ...k8s.checks import CLUSTER_WIDE, Findings, cite, gap_text, k8s_control, scope_of, unknown
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
        policy_gap=gap_text("0a15ec92-a229-4763-bb14-0ea34a568f8d") + " That built-in audits the ARM add-on "
                   "setting; this control looks for the engine running in the cluster."),
]
