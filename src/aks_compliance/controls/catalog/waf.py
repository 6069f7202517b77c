"""Web application firewalls in front of the cluster: Application Gateway WAF and WAF policies."""

from __future__ import annotations

from typing import Any, Mapping

from ...policy.conditions import MISSING, Truth, Verdict
from ...resources import Resource
from ...targets import Target
from ...values import Unknown
from ..checks import Check, all_of, lower
from ..model import Control, Mappings, Severity

AG = "Microsoft.Network/applicationGateways"
WP = "Microsoft.Network/applicationGatewayWebApplicationFirewallPolicies"
T, F, U = Truth.TRUE, Truth.FALSE, Truth.UNKNOWN


def policy_prevention(c: Check, policy: Resource) -> Truth:
    """A WAF policy is enabled (an absent state is Enabled) and in Prevention mode (absent is Detection)."""
    state_path, state = c.value(f"{WP}/policySettings.state", policy)
    mode_path, mode = c.value(f"{WP}/policySettings.mode", policy)
    return all_of([
        c.record(c.joined(policy, state_path, "wafPolicy"), "notEquals", "Disabled", state,
                 F if lower(state) == "disabled" else T),
        c.record(c.joined(policy, mode_path, "wafPolicy"), "equals", "Prevention", mode,
                 T if lower(mode) == "prevention" else F),
    ])


def gateway_waf(c: Check, gw: Resource) -> Truth:
    """Whether an application gateway runs a WAF in Prevention mode.

    A WAF policy (``properties.firewallPolicy.id``) takes precedence over the classic
    ``webApplicationFirewallConfiguration``; it is joined by id to the policy resource among the
    scanned inputs (unknown when it is not there). The gateway's tier must be a WAF tier.
    """
    index = c.target.context.get("index")
    label = "applicationGateway"
    tier_path, tier = c.value(f"{AG}/sku.tier", gw)
    policy_path, policy_id = c.value(f"{AG}/firewallPolicy.id", gw)
    truths: list[Truth] = []
    if isinstance(tier, Unknown) or tier is not MISSING:
        tier_ok = lower(tier) in ("waf", "waf_v2")
        truths.append(c.record(c.joined(gw, tier_path, label), "in", ["WAF", "WAF_v2"], tier, T if tier_ok else F))
        if truths[-1] is F:
            return F
    if isinstance(policy_id, Unknown):
        truths.append(c.unknown(c.joined(gw, policy_path, label), policy_id.reason))
    elif policy_id not in (MISSING, None, ""):
        policy = index.get(policy_id) if index is not None else None
        if policy is None:
            truths.append(c.unknown(c.joined(gw, policy_path, label),
                                    f"WAF policy {policy_id} is not among the scanned inputs"))
        else:
            truths.append(policy_prevention(c, policy))
    else:
        config_path, config = c.value(f"{AG}/webApplicationFirewallConfiguration", gw)
        if isinstance(config, Unknown):
            truths.append(c.unknown(c.joined(gw, config_path, label), config.reason))
        elif config is MISSING:
            truths.append(c.compare(c.joined(gw, "properties.firewallPolicy", label), "is",
                                    "a WAF policy or webApplicationFirewallConfiguration", MISSING, False))
        else:
            enabled_path, enabled = c.value(f"{AG}/webApplicationFirewallConfiguration.enabled", gw)
            mode_path, mode = c.value(f"{AG}/webApplicationFirewallConfiguration.firewallMode", gw)
            truths.append(c.record(c.joined(gw, enabled_path, label), "equals", True, enabled,
                                   T if enabled is True else F))
            truths.append(c.record(c.joined(gw, mode_path, label), "equals", "Prevention", mode,
                                   T if lower(mode) == "prevention" else F))
    return all_of(truths)


def check_gateway_waf(target: Target, params: Mapping[str, Any]) -> Verdict:
    c = Check(target, params)
    return c.verdict(gateway_waf(c, target.resource))


CONTROLS = [
    Control(
        id="AKS-068",
        title="A public Application Gateway runs a WAF in Prevention mode",
        severity=Severity.HIGH,
        section="Ingress",
        resource_type=AG,
        rationale=(
            "The Application Gateway in front of an AKS ingress is the internet edge of the workloads. Without a "
            "web application firewall, or with one in Detection mode, injection and protocol attacks reach the pods "
            "and are at best logged. The WAF is either a WAF policy associated with the gateway (which takes "
            "precedence; it is joined by id to the policy among the scanned inputs, unknown when the policy is "
            "declared elsewhere, failed when it is in Detection mode) or the classic "
            "webApplicationFirewallConfiguration; the gateway tier must be WAF_v2. Gateways with only private "
            "frontends do not apply."),
        remediation=(
            "Use sku.tier WAF_v2 and associate a WAF policy in Prevention mode: properties.firewallPolicy.id "
            "pointing at an ApplicationGatewayWebApplicationFirewallPolicies resource with "
            "policySettings.mode Prevention (az network application-gateway waf-policy create ... then "
            "az network application-gateway update --waf-policy <id>); or, classic, set "
            "properties.webApplicationFirewallConfiguration.enabled true and firewallMode Prevention."),
        references=("https://learn.microsoft.com/azure/web-application-firewall/ag/ag-overview",
                    "https://learn.microsoft.com/azure/architecture/reference-architectures/containers/aks/baseline-aks"),
        mappings=Mappings(azure_policy=("564feb30-bf6a-4854-b4bb-0d2d2d1e6c66", "12430be1-6cc8-4527-a9a8-e3d38f250096",
                                        "ff1f1879-a60d-4f23-9641-41e7391ec19a"),
                          psrule=("Azure.AppGw.UseWAF", "Azure.AppGw.WAFEnabled", "Azure.AppGw.Prevention"),
                          nist=("SC-7", "SI-4")),
        applicability={"count": {"field": f"{AG}/frontendIPConfigurations[*]",
                                 "where": {"field": f"{AG}/frontendIPConfigurations[*].publicIPAddress",
                                           "exists": True}},
                       "greater": 0},
        applicability_text="the gateway has no public frontend IP configuration",
        check=check_gateway_waf,
        builtin_parameters={"12430be1-6cc8-4527-a9a8-e3d38f250096": {"modeRequirement": "Prevention"}},
        builtin_deviation=("564feb30 is satisfied by any WAF configuration or policy, Detection mode included, and "
                           "ff1f1879 only by a WAF policy (not the classic configuration); this control wants a WAF "
                           "in Prevention mode either way, and skips gateways without a public frontend."),
        policy_gap=("Joins the gateway to its WAF policy, another resource; built-ins 564feb30 (WAF present) and "
                    "12430be1 (policy mode, assign with modeRequirement Prevention) cover the two halves."),
    ),
    Control(
        id="AKS-069",
        title="Application Gateway WAF policies are enabled and in Prevention mode",
        severity=Severity.HIGH,
        section="Ingress",
        resource_type=WP,
        rationale=(
            "A WAF policy in Detection mode only logs attacks; a disabled policy does nothing. The policy is what "
            "gateways (and listeners) associate, so judging it on its own catches every gateway that uses it. "
            "Microsoft's built-in defaults its required mode to Detection; this control requires Prevention. "
            "An absent mode is Detection; an absent state is Enabled."),
        remediation=(
            "Set properties.policySettings.mode to Prevention and properties.policySettings.state to Enabled "
            "(az network application-gateway waf-policy policy-setting update --mode Prevention --state Enabled)."),
        references=("https://learn.microsoft.com/azure/web-application-firewall/ag/policy-overview",),
        mappings=Mappings(azure_policy=("12430be1-6cc8-4527-a9a8-e3d38f250096",),
                          psrule=("Azure.AppGwWAF.PreventionMode", "Azure.AppGwWAF.Enabled"), nist=("SC-7", "SI-4")),
        builtin_parameters={"12430be1-6cc8-4527-a9a8-e3d38f250096": {"modeRequirement": "Prevention"}},
        builtin_deviation="The built-in checks the mode only; this control also fails a disabled policy.",
        rule={"allOf": [
            {"field": f"{WP}/policySettings.state", "notEquals": "Disabled"},
            {"field": f"{WP}/policySettings.mode", "equals": "Prevention"},
        ]},
    ),
]
