"""Azure-side verdicts found wrong in red-team round three, each against the AKS semantics it cites."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .conftest import outcome_of, scan, write_files

SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
MC = "Microsoft.ContainerService/managedClusters"


def template(*resources: dict, **extra: Any) -> str:
    return json.dumps({"$schema": SCHEMA, "contentVersion": "1.0.0.0", "resources": list(resources), **extra},
                      indent=1)


def cluster(api: str = "2024-05-01", name: str = "aks", **props: Any) -> dict:
    return {"type": MC, "apiVersion": api, "name": name, "location": "westeurope",
            "identity": {"type": "SystemAssigned"}, "properties": props}


# --- ARM property names are case-insensitive: AgentPoolProfiles is agentPoolProfiles ------------------

def test_pool_defaults_fill_pools_whose_array_key_is_pascal_case(tmp_path: Path) -> None:
    # ARM (and the AKS RP) match property names whatever their case; a pool in "AgentPoolProfiles" leaves
    # out kubeletConfig, linuxOSConfig and maxPods like any other: AKS's defaults apply (custom node
    # configuration reference: podMaxPids -1, containerLogMaxSizeMB 50, swapFileSizeMB none; kubenet 110 pods).
    # Before: the defaults were not applied, and the rules' 'less'/'greater' on the absent value were errors.
    c = cluster(kubernetesVersion="1.29.9",
                AgentPoolProfiles=[{"Name": "sys", "Mode": "System", "Count": 3, "VmSize": "Standard_D4ds_v5"}])
    write_files(tmp_path, {"t.json": template(c)})
    run = scan(tmp_path / "t.json", controls=["AKS-074", "AKS-075", "AKS-076", "AKS-030"])
    expected = {"AKS-074": "failed", "AKS-075": "passed", "AKS-076": "passed", "AKS-030": "passed"}
    got = {cid: outcome_of(run, cid).outcome.value for cid in expected}
    assert got == expected, {cid: outcome_of(run, cid).reason for cid in expected}
    assert any("AKS default" in e.actual for e in outcome_of(run, "AKS-074").evidence)


def test_a_separate_pool_merges_into_a_pascal_case_pool_array(tmp_path: Path) -> None:
    # The cluster's inline pool (key AgentPoolProfiles, Name) and a separate agentPools resource of the same
    # name are one pool: ARM GET lists it once, with the agentPools resource's settings. Before: the merge
    # wrote a second 'agentPoolProfiles' key beside 'AgentPoolProfiles', and the rules read only one of them.
    c = cluster(AgentPoolProfiles=[{"Name": "sys", "Mode": "System", "Count": 3, "EnableNodePublicIP": False},
                                   {"Name": "user", "Mode": "User", "Count": 3}])
    pool = {"type": f"{MC}/agentPools", "apiVersion": "2024-05-01", "name": "aks/sys", "dependsOn": ["aks"],
            "properties": {"mode": "System", "count": 3, "enableNodePublicIP": True}}
    write_files(tmp_path, {"t.json": template(c, pool)})
    run = scan(tmp_path / "t.json", controls=["AKS-011", "AKS-072"])
    r11 = outcome_of(run, "AKS-011")
    assert r11.outcome.value == "failed", r11.evidence
    # the user pool of the inline array is still read (it is not hidden by a second array key)
    assert outcome_of(run, "AKS-072").outcome.value == "passed", outcome_of(run, "AKS-072").evidence
    pools = [e.path for e in outcome_of(run, "AKS-072").evidence if "agentPoolProfiles[" in e.path]
    assert any("[1]" in p for p in pools), pools


def test_legacy_defender_shape_is_read_whatever_the_case_of_security_profile(tmp_path: Path) -> None:
    # securityProfile.azureDefender (2021 preview APIs) is securityProfile.defender.securityMonitoring now;
    # "SecurityProfile" is the same property (ARM names are case-insensitive).
    c = cluster("2021-07-01", SecurityProfile={"azureDefender": {"enabled": True, "logAnalyticsWorkspaceResourceId": "/w"}},
                agentPoolProfiles=[{"name": "sys", "mode": "System", "count": 3}])
    write_files(tmp_path, {"t.json": template(c)})
    r = outcome_of(scan(tmp_path / "t.json", controls=["AKS-009"]), "AKS-009")
    assert r.outcome.value == "passed", (r.reason, r.evidence)


# --- the network plugin AKS picks when a request leaves it out depends on the Kubernetes version ---------
# Azure/azure-rest-api-specs#30844/#30845 (AKS, 2024-10-03): "NetworkPlugin will be defaulted based on k8s
# version rather than API version going forward. The default value in k8s < 1.30 will remain kubenet while
# in 1.30+ it will be CNI Overlay" (Azure CNI with networkPluginMode overlay; Azure/AKS#4897: a 1.30.10
# cluster created without a plugin reads back networkPlugin azure, networkPluginMode overlay).

POOL = {"name": "sys", "mode": "System", "count": 3}


def test_an_absent_plugin_is_azure_cni_overlay_from_kubernetes_1_30(tmp_path: Path) -> None:
    write_files(tmp_path, {"t.json": template(cluster(kubernetesVersion="1.33.5", agentPoolProfiles=[POOL]))})
    run = scan(tmp_path / "t.json", controls=["AKS-027", "AKS-028", "AKS-030"])
    r27 = outcome_of(run, "AKS-027")
    assert r27.outcome.value == "passed", (r27.reason, r27.evidence)
    assert '"azure"' in r27.evidence[0].actual and "AKS default" in r27.evidence[0].actual
    assert outcome_of(run, "AKS-028").outcome.value == "not_applicable"  # overlay: pods take no subnet addresses
    assert any("250" in e.actual for e in outcome_of(run, "AKS-030").evidence)  # overlay: 250 pods per node


def test_an_absent_plugin_and_version_is_overlay_as_the_default_version_is_1_30_or_later(tmp_path: Path) -> None:
    write_files(tmp_path, {"t.json": template(cluster("2025-01-01", agentPoolProfiles=[POOL]))})
    r = outcome_of(scan(tmp_path / "t.json", controls=["AKS-027"]), "AKS-027")
    assert r.outcome.value == "passed", (r.reason, r.evidence)


def test_an_absent_plugin_is_kubenet_before_kubernetes_1_30(tmp_path: Path) -> None:
    write_files(tmp_path, {"t.json": template(cluster(kubernetesVersion="1.29", agentPoolProfiles=[POOL]))})
    run = scan(tmp_path / "t.json", controls=["AKS-027", "AKS-030"])
    r27 = outcome_of(run, "AKS-027")
    assert r27.outcome.value == "failed" and "kubenet" in r27.evidence[0].actual, r27.evidence
    assert any("110" in e.actual for e in outcome_of(run, "AKS-030").evidence)


def test_an_absent_plugin_with_an_unresolved_version_is_unknown(tmp_path: Path) -> None:
    c = cluster(kubernetesVersion="[parameters('k8s')]", agentPoolProfiles=[POOL])
    write_files(tmp_path, {"t.json": template(c, parameters={"k8s": {"type": "string"}})})
    r = outcome_of(scan(tmp_path / "t.json", controls=["AKS-027"]), "AKS-027")
    assert r.outcome.value == "unknown" and "kubernetesVersion" in r.reason, r.reason


def test_an_explicit_azure_plugin_without_a_mode_stays_node_subnet_cni(tmp_path: Path) -> None:
    # only an absent plugin takes the overlay default: networkPlugin azure alone is Azure CNI (node subnet)
    c = cluster(kubernetesVersion="1.33.5", networkProfile={"networkPlugin": "azure"}, agentPoolProfiles=[POOL])
    write_files(tmp_path, {"t.json": template(c)})
    r = outcome_of(scan(tmp_path / "t.json", controls=["AKS-030"]), "AKS-030")
    assert r.outcome.value == "failed" and any("30" in e.actual for e in r.evidence), r.evidence


# --- only System pools are system pools: Gateway and Machines pools are neither System nor User -----------
# AgentPoolMode (AKS API): System, User, Gateway ("dedicated to providing static egress IPs to pods"),
# Machines ("dedicated to hosting machines"), ManagedSystem ("a system pool managed by AKS").

def _gateway_cluster(system_count: int) -> dict:
    return cluster("2025-05-02-preview", agentPoolProfiles=[
        {"name": "sys", "mode": "System", "count": system_count, "nodeTaints": ["CriticalAddonsOnly=true:NoSchedule"]},
        {"name": "egress", "mode": "Gateway", "count": 2},
        {"name": "machines", "mode": "Machines", "count": 2}])


def test_a_gateway_pool_needs_no_critical_addons_taint(tmp_path: Path) -> None:
    # Before: every pool whose mode was not User had to carry CriticalAddonsOnly, so the egress gateway pool failed.
    write_files(tmp_path, {"t.json": template(_gateway_cluster(3))})
    r = outcome_of(scan(tmp_path / "t.json", controls=["AKS-034"]), "AKS-034")
    assert r.outcome.value == "passed", (r.reason, r.evidence)


def test_gateway_nodes_are_not_counted_as_system_nodes(tmp_path: Path) -> None:
    # Before: the gateway and machines pools' nodes were summed with the system pool's (1 + 2 + 2 >= 3: passed).
    write_files(tmp_path, {"t.json": template(_gateway_cluster(1))})
    r = outcome_of(scan(tmp_path / "t.json", controls=["AKS-033"]), "AKS-033")
    assert r.outcome.value == "failed", (r.reason, r.evidence)


# --- a switch that is not a boolean is malformed, not a pass ---------------------------------------------
# The AKS REST API types these properties boolean and rejects anything else (the cluster is never created);
# "true"/"false" as strings are read as the booleans they spell, as Azure Policy compares them. Before:
# enableRBAC "yes" passed AKS-003 (notEquals false), enableNodePublicIP "maybe" passed AKS-011.

def test_a_boolean_property_holding_another_value_is_an_error(tmp_path: Path) -> None:
    c = cluster(enableRBAC="yes", agentPoolProfiles=[{"name": "sys", "mode": "System", "count": 3}])
    write_files(tmp_path, {"t.json": template(c)})
    r = outcome_of(scan(tmp_path / "t.json", controls=["AKS-003"]), "AKS-003")
    assert r.outcome.value == "error" and "properties.enableRBAC must be a boolean" in r.reason, r.reason


def test_a_pool_switch_holding_another_value_is_an_error(tmp_path: Path) -> None:
    c = cluster(agentPoolProfiles=[{"name": "sys", "mode": "System", "count": 3, "enableNodePublicIP": "maybe"}])
    write_files(tmp_path, {"t.json": template(c)})
    r = outcome_of(scan(tmp_path / "t.json", controls=["AKS-011"]), "AKS-011")
    assert r.outcome.value == "error" and "enableNodePublicIP must be a boolean" in r.reason, r.reason


def test_an_addon_switch_holding_a_number_is_an_error_and_string_booleans_are_read(tmp_path: Path) -> None:
    c = cluster(addonProfiles={"kubeDashboard": {"enabled": 0}, "azurepolicy": {"enabled": "True"}},
                agentPoolProfiles=[{"name": "sys", "mode": "System", "count": 3}])
    write_files(tmp_path, {"t.json": template(c)})
    run = scan(tmp_path / "t.json", controls=["AKS-015", "AKS-006"])
    assert outcome_of(run, "AKS-015").outcome.value == "error", outcome_of(run, "AKS-015").reason
    c = cluster(addonProfiles={"azurepolicy": {"enabled": "True"}}, agentPoolProfiles=[{"name": "sys", "count": 3}])
    write_files(tmp_path, {"t.json": template(c)})
    assert outcome_of(scan(tmp_path / "t.json", controls=["AKS-006"]), "AKS-006").outcome.value == "passed"
