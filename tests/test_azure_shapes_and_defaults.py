"""Azure-side verdicts an auditor can rely on: malformed shapes are errors, absent properties take the
default of the request's API version (and are unknown in deployed state), each default with its source."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from aks_compliance.arm.defaults import DEFAULTS, LEGACY, SOURCES, parse_api_version
from aks_compliance.controls import load_catalog
from aks_compliance.controls.docs import aliases
from aks_compliance.policy.conditions import Subject, evaluate_condition

from .conftest import outcome_of, scan, write_files

SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
MC = "Microsoft.ContainerService/managedClusters"
CATALOG = load_catalog()


def template(*resources: dict, **extra: Any) -> str:
    return json.dumps({"$schema": SCHEMA, "contentVersion": "1.0.0.0", "resources": list(resources), **extra},
                      indent=1)


def cluster(api: str = "2024-05-01", name: str = "aks", **props: Any) -> dict:
    body: dict[str, Any] = {"type": MC, "apiVersion": api, "name": name, "location": "westeurope",
                            "identity": {"type": "SystemAssigned"}}
    body["properties"] = props
    return body


def rest_cluster(**props: Any) -> str:
    return json.dumps({"id": "/subscriptions/s/resourceGroups/g/providers/Microsoft.ContainerService/managedClusters/aks",
                       "name": "aks", "type": MC, "location": "westeurope", "properties": props}, indent=1)


# --- malformed shapes ---------------------------------------------------------------------------------

POOL = {"name": "sys", "mode": "System", "count": 3}
INT32 = "an integer within the 32-bit range"
MALFORMED = [
    ("properties-string", template({**cluster(), "properties": "yo"}), "properties", "an object", "a string"),
    ("addon-profiles-string", template(cluster(addonProfiles="yo", agentPoolProfiles=[POOL])),
     "properties.addonProfiles", "an object", "a string"),
    ("one-addon-a-boolean", template(cluster(addonProfiles={"azurepolicy": True}, agentPoolProfiles=[POOL])),
     "properties.addonProfiles.azurepolicy", "an object", "a boolean"),
    ("pools-string", template(cluster(agentPoolProfiles="yo")), "properties.agentPoolProfiles", "an array", "a string"),
    ("pools-object", template(cluster(agentPoolProfiles={"name": "sys"})), "properties.agentPoolProfiles",
     "an array", "an object"),
    ("pool-member-string", template(cluster(agentPoolProfiles=[POOL, "user"])), "properties.agentPoolProfiles[1]",
     "an object", "a string"),
    # a null member is not an absent one: AKS rejects [null] (read as absent, no pool had a public IP)
    ("pool-member-null", template(cluster(agentPoolProfiles=[POOL, None])), "properties.agentPoolProfiles[1]",
     "an object", "null"),
    ("authorized-ranges-string", template(cluster(apiServerAccessProfile={"authorizedIPRanges": "10.0.0.0/8"},
                                                  agentPoolProfiles=[POOL])),
     "properties.apiServerAccessProfile.authorizedIPRanges", "an array", "a string"),
    # a null member decodes to "", which AKS rejects as a range (AKS-001 would have counted it as a restriction)
    ("authorized-range-null", template(cluster(apiServerAccessProfile={"authorizedIPRanges": ["10.0.0.0/8", None]},
                                               agentPoolProfiles=[POOL])),
     "properties.apiServerAccessProfile.authorizedIPRanges[1]", "an IPv4 address or CIDR range", "null"),
    ("authorized-range-ipv6", template(cluster(apiServerAccessProfile={"authorizedIPRanges": ["::/0"]},
                                               agentPoolProfiles=[POOL])),
     "properties.apiServerAccessProfile.authorizedIPRanges[0]", "an IPv4 address or CIDR range", "a string"),
    ("sku-string", template({**cluster(agentPoolProfiles=[POOL]), "sku": "Standard"}), "sku", "an object", "a string"),
    ("identity-string", template({**cluster(agentPoolProfiles=[POOL]), "identity": "SystemAssigned"}), "identity",
     "an object", "a string"),
    ("network-profile-array-in-rest", rest_cluster(networkProfile=[{"networkPlugin": "azure"}], agentPoolProfiles=[POOL]),
     "properties.networkProfile", "an object", "an array"),
    ("separate-pool-properties-string", template(cluster(agentPoolProfiles=[POOL]), {
        "type": f"{MC}/agentPools", "apiVersion": "2024-05-01", "name": "aks/user",
        "dependsOn": ["aks"], "properties": "yo"}),
     "properties.agentPoolProfiles[1]", "an object", "a string"),
    # int32 properties (AKS REST API): a number AKS cannot decode into an int32 is rejected, never compared
    # (an infinite count passed AKS-072; 1.5 was judged as a count of one and a half nodes)
    ("pool-count-infinite", template(cluster(agentPoolProfiles=[POOL, {**POOL, "name": "user", "mode": "User",
                                                                        "count": "[float('1e400')]"}])),
     "properties.agentPoolProfiles[1].count", INT32, "a number that is not an integer (infinite)"),
    ("pool-count-fraction", template(cluster(agentPoolProfiles=[{**POOL, "count": 1.5}])),
     "properties.agentPoolProfiles[0].count", INT32, "a number that is not an integer"),
    ("pool-max-count-over-int32", template(cluster(agentPoolProfiles=[{**POOL, "enableAutoScaling": True,
                                                                         "minCount": 3,
                                                                         "maxCount": 99999999999999999999999}])),
     "properties.agentPoolProfiles[0].maxCount", INT32, "an integer outside the 32-bit range"),
    ("pool-max-pods-from-expression", template(cluster(agentPoolProfiles=[{**POOL,
                                                                             "maxPods": "[mul(2147483647, 2)]"}])),
     "properties.agentPoolProfiles[0].maxPods", INT32, "an integer outside the 32-bit range"),
    ("kubelet-pid-limit-fraction", template(cluster(agentPoolProfiles=[{**POOL, "kubeletConfig": {
        "podMaxPids": 0.5}}])),
     "properties.agentPoolProfiles[0].kubeletConfig.podMaxPids", INT32, "a number that is not an integer"),
    ("sysctl-over-int32", template(cluster(agentPoolProfiles=[{**POOL, "linuxOSConfig": {"sysctls": {
        "netCoreSomaxconn": 2147483648}}}])),
     "properties.agentPoolProfiles[0].linuxOSConfig.sysctls.netCoreSomaxconn", INT32,
     "an integer outside the 32-bit range"),
    ("outbound-ip-count-fraction", template(cluster(agentPoolProfiles=[POOL], networkProfile={
        "loadBalancerProfile": {"managedOutboundIPs": {"count": 2.5}}})),
     "properties.networkProfile.loadBalancerProfile.managedOutboundIPs.count", INT32,
     "a number that is not an integer"),
    ("separate-pool-count-infinite", template(cluster(agentPoolProfiles=[POOL]), {
        "type": f"{MC}/agentPools", "apiVersion": "2024-05-01", "name": "aks/user",
        "dependsOn": ["aks"], "properties": {"mode": "User", "count": "[float('-1e400')]"}}),
     "properties.agentPoolProfiles[1].count", INT32, "a number that is not an integer (infinite)"),
    # a string or a boolean where AKS has an int32 is rejected as well (AKS decodes typed fields, it does not
    # convert): "3" made AKS-072 an error with no file or line, and a boolean maxPods passed every control
    ("pool-count-string", template(cluster(agentPoolProfiles=[{**POOL, "count": "3"}])),
     "properties.agentPoolProfiles[0].count", INT32, "a string"),
    ("pool-max-pods-boolean", template(cluster(agentPoolProfiles=[{**POOL, "maxPods": True}])),
     "properties.agentPoolProfiles[0].maxPods", INT32, "a boolean"),
    ("separate-pool-os-disk-string", template(cluster(agentPoolProfiles=[POOL]), {
        "type": f"{MC}/agentPools", "apiVersion": "2024-05-01", "name": "aks/user",
        "dependsOn": ["aks"], "properties": {"mode": "User", "count": 3, "osDiskSizeGB": "[string(128)]"}}),
     "properties.agentPoolProfiles[1].osDiskSizeGB", INT32, "a string"),
    # ManagedClusterIdentity.type is one of SystemAssigned, UserAssigned, None: a cluster has one identity type
    # (the combined type of other providers failed AKS-025 as a service principal)
    ("identity-system-and-user", template({**cluster(agentPoolProfiles=[POOL]), "identity": {
        "type": "SystemAssigned, UserAssigned", "userAssignedIdentities": {
            "/subscriptions/s/resourceGroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/u": {}}}}),
     "identity.type", "one of SystemAssigned, UserAssigned or None", "a string 'SystemAssigned, UserAssigned'"),
    # add-on config is map[string]string: a boolean enableSecretRotation passed AKS-046 as the string "true" would
    ("addon-config-boolean", template(cluster(agentPoolProfiles=[POOL], addonProfiles={
        "azureKeyvaultSecretsProvider": {"enabled": True, "config": {"enableSecretRotation": True}}})),
     "properties.addonProfiles.azureKeyvaultSecretsProvider.config.enableSecretRotation", "a string", "a boolean"),
    ("addon-config-object", template(cluster(agentPoolProfiles=[POOL], addonProfiles={
        "omsagent": {"enabled": True, "config": {"logAnalyticsWorkspaceResourceID": {"id": "/subscriptions/s"}}}})),
     "properties.addonProfiles.omsagent.config.logAnalyticsWorkspaceResourceID", "a string", "an object"),
]


@pytest.mark.parametrize("name,text,path,expected,actual", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_a_malformed_shape_is_an_error_for_every_control_naming_file_line_pointer_and_types(
        tmp_path: Path, name: str, text: str, path: str, expected: str, actual: str) -> None:
    write_files(tmp_path, {f"{name}.json": text})
    run = scan(tmp_path / f"{name}.json")
    mine = [r for r in run.results if r.target.type == MC]
    assert mine, "the cluster is a target"
    outcomes = {r.outcome.value for r in mine}
    assert outcomes == {"error"}, f"no control may pass or fail over a malformed value: {outcomes}"
    reason = mine[0].reason
    assert f"{name}.json:" in reason and re.search(r"\.json:\d+ \(at /", reason), reason  # file, line, pointer
    assert f"{path} must be {expected}" in reason and f"found {actual}" in reason, reason
    assert mine[0].evidence and mine[0].evidence[0].line


def test_the_pointer_of_a_malformed_separate_pool_is_its_own_resource(tmp_path: Path) -> None:
    name, text = next((m[0], m[1]) for m in MALFORMED if m[0] == "separate-pool-properties-string")
    write_files(tmp_path, {"t.json": text})
    reason = scan(tmp_path / "t.json").results[0].reason
    assert "(at /resources/1/properties)" in reason, reason


def test_a_malformed_related_resource_is_an_error_of_the_control_reading_it(tmp_path: Path) -> None:
    ds = {"type": "Microsoft.Insights/diagnosticSettings", "apiVersion": "2021-05-01-preview", "name": "to-la",
          "scope": "[resourceId('Microsoft.ContainerService/managedClusters', 'aks')]",
          "properties": {"workspaceId": "/subscriptions/s/resourceGroups/g/providers/Microsoft.OperationalInsights/"
                                        "workspaces/la", "logs": "all"}}
    write_files(tmp_path, {"t.json": template(cluster(agentPoolProfiles=[POOL]), ds)})
    run = scan(tmp_path / "t.json", controls=["AKS-012", "AKS-002"])
    assert outcome_of(run, "AKS-012").outcome.value == "error"
    assert "properties.logs must be an array" in outcome_of(run, "AKS-012").reason
    assert outcome_of(run, "AKS-002").outcome.value == "failed", "the cluster itself is well formed"


def test_the_azure_policy_emulation_keeps_azure_semantics() -> None:
    # Azure Policy reads a path through a non-object as absent; only controls are strict.
    body = {"properties": {"addonProfiles": "yo"}}
    verdict = evaluate_condition({"field": f"{MC}/addonProfiles.azurepolicy.enabled", "exists": "false"}, Subject(body))
    assert verdict.truth.value == "true"
    strict = evaluate_condition({"field": f"{MC}/addonProfiles.azurepolicy.enabled", "exists": "false"},
                                Subject(body, strict=True))
    assert strict.truth.value == "error" and "must be an object" in strict.reasons[0]


# --- API-version-aware defaults -----------------------------------------------------------------------

@pytest.mark.parametrize("api,expected", [
    ("2017-08-31", "failed"), ("2018-03-31", "failed"), ("2019-08-01", "failed"), ("2020-03-01", "failed"),
    ("2020-04-01", "passed"), ("2024-05-01", "passed"), ("2025-01-02-preview", "passed")])
def test_an_absent_enable_rbac_takes_the_default_of_the_api_version(tmp_path: Path, api: str, expected: str) -> None:
    write_files(tmp_path, {"t.json": template(cluster(api, agentPoolProfiles=[POOL]))})
    result = outcome_of(scan(tmp_path / "t.json", controls=["AKS-003"]), "AKS-003")
    assert result.outcome.value == expected, (result.reason, result.evidence)
    assert f"absent: the AKS default at API {api}" in result.evidence[0].actual


def test_an_absent_property_in_deployed_state_is_unknown_not_the_request_default(tmp_path: Path) -> None:
    write_files(tmp_path, {"c.json": rest_cluster(agentPoolProfiles=[POOL])})
    run = scan(tmp_path / "c.json", controls=["AKS-002", "AKS-003", "AKS-008", "AKS-025", "AKS-041"])
    for cid in ("AKS-002", "AKS-003", "AKS-008", "AKS-025", "AKS-041"):
        r = outcome_of(run, cid)
        assert r.outcome.value == "unknown" and "absent from deployed state" in r.reason, (cid, r.reason)


def test_an_unknown_api_version_makes_a_version_dependent_default_unknown(tmp_path: Path) -> None:
    c = cluster("[parameters('api')]", agentPoolProfiles=[POOL])
    write_files(tmp_path, {"t.json": template(c, parameters={"api": {"type": "string"}})})
    run = scan(tmp_path / "t.json", controls=["AKS-003", "AKS-002"])
    assert outcome_of(run, "AKS-003").outcome.value == "unknown"
    assert "depends on the API version" in outcome_of(run, "AKS-003").reason
    # a default that is the same at every version does not need the version
    assert outcome_of(run, "AKS-002").outcome.value == "failed"


@pytest.mark.parametrize("api,channel_outcome,window_outcome", [
    ("2023-05-01", "failed", "not_applicable"), ("2023-06-01", "passed", "failed")])
def test_node_os_channel_defaults_to_node_image_from_2023_06_01_and_then_needs_its_window(
        tmp_path: Path, api: str, channel_outcome: str, window_outcome: str) -> None:
    write_files(tmp_path, {"t.json": template(cluster(api, agentPoolProfiles=[POOL]))})
    run = scan(tmp_path / "t.json", controls=["AKS-008", "AKS-040"])
    assert outcome_of(run, "AKS-008").outcome.value == channel_outcome
    assert outcome_of(run, "AKS-040").outcome.value == window_outcome


# 'Basic and Paid will be removed in the 2023-07-01 API version' (free-standard-pricing-tiers): the service took
# Paid until then, although the REST specifications list no Paid from 2023-02-01; from 2023-07-01 AKS rejects it
@pytest.mark.parametrize("api,expected", [("2022-11-01", "passed"), ("2023-02-01", "passed"), ("2023-06-01", "passed"),
                                          ("2023-07-01", "error")])
def test_the_paid_tier_is_standard_only_where_the_api_version_has_it(tmp_path: Path, api: str, expected: str) -> None:
    write_files(tmp_path, {"t.json": template({**cluster(api, agentPoolProfiles=[POOL]),
                                               "sku": {"name": "Basic", "tier": "Paid"}})})
    result = outcome_of(scan(tmp_path / "t.json", controls=["AKS-041"]), "AKS-041")
    assert result.outcome.value == expected
    if expected == "passed":
        assert "Standard was named Paid before API 2023-07-01" in result.evidence[0].actual
    else:
        assert "a value API 2023-07-01 takes" in result.reason and "AKS rejects the request" in result.reason


def test_pool_defaults_follow_the_pool_resource_and_the_cluster_network(tmp_path: Path) -> None:
    pool = {"type": f"{MC}/agentPools", "apiVersion": "2019-08-01", "name": "aks/user", "dependsOn": ["aks"],
            "properties": {"mode": "User", "count": 2}}
    c = cluster("2024-05-01", agentPoolProfiles=[POOL], networkProfile={"networkPlugin": "azure"})
    write_files(tmp_path, {"t.json": template(c, pool)})
    run = scan(tmp_path / "t.json", controls=["AKS-031", "AKS-030"])
    r31 = outcome_of(run, "AKS-031")  # the separate pool at 2019-08-01 defaults to an availability set
    assert r31.outcome.value == "failed", r31.evidence
    r30 = outcome_of(run, "AKS-030")  # Azure CNI node subnet: 30 pods per node
    assert r30.outcome.value == "failed" and any("30" in e.actual for e in r30.evidence), r30.evidence


def test_every_default_cites_a_source_and_names_real_controls() -> None:
    ids = {c.id for c in CATALOG}
    for row in DEFAULTS:
        assert row.source in SOURCES and SOURCES[row.source].startswith("https://"), row
        assert row.fact, row
        assert set(row.controls) <= ids, (row.path, set(row.controls) - ids)
        for v in (row.since, row.until):
            assert v is None or parse_api_version(v), v
    for r in LEGACY:
        assert r.source in SOURCES and parse_api_version(r.until)


def test_every_rule_reading_a_defaulted_property_lists_the_default() -> None:
    """A control whose condition reads a property of the table relies on its default: the table says so
    (docs/controls.md shows it under the control)."""
    by_alias = {}
    for row in DEFAULTS:
        if row.scope == "cluster":
            alias = f"{MC}/" + row.path.removeprefix("properties.")
        else:
            alias = f"{MC}/agentPoolProfiles[*].{row.path}"
        by_alias.setdefault(alias.lower(), set()).update(row.controls)
    for c in CATALOG:
        for a in aliases(c):
            listed = by_alias.get(a.lower())
            if listed is not None:
                assert c.id in listed, f"{c.id} reads {a} but the defaults table does not list it"


def test_a_default_of_some_versions_only_is_unknown_without_the_version(tmp_path: Path) -> None:
    # nodeOSUpgradeChannel has a default from 2023-06-01 only: without a readable apiVersion it is unknown
    c = cluster("[parameters('api')]", agentPoolProfiles=[POOL])
    write_files(tmp_path, {"t.json": template(c, parameters={"api": {"type": "string"}})})
    r = outcome_of(scan(tmp_path / "t.json", controls=["AKS-008"]), "AKS-008")
    assert r.outcome.value == "unknown" and "depends on the API version" in r.reason, (r.outcome, r.reason)


def test_null_and_unknown_values_are_not_malformed(tmp_path: Path) -> None:
    c = cluster(agentPoolProfiles=[POOL], addonProfiles={"azurepolicy": None, "omsagent": {"enabled": True}},
                networkProfile=None, apiServerAccessProfile="[parameters('access')]")
    write_files(tmp_path, {"t.json": template(c, parameters={"access": {"type": "object"}})})
    run = scan(tmp_path / "t.json", controls=["AKS-006", "AKS-001", "AKS-002"])
    assert outcome_of(run, "AKS-006").outcome.value == "failed"  # a null add-on is absent, not malformed
    assert outcome_of(run, "AKS-001").outcome.value == "unknown"  # a parameter without a value
    assert outcome_of(run, "AKS-002").outcome.value == "failed"


# --- a cluster none of whose pools is among the inputs -------------------------------------------------

POOL_CONTROLS = ("AKS-010", "AKS-011")  # encryption at host on every pool; no pool with public node IPs


@pytest.mark.parametrize("pools", [None, []], ids=["absent", "empty"])
def test_pool_controls_are_unknown_when_no_pool_of_the_cluster_was_read(tmp_path: Path, pools: Any) -> None:
    """AKS requires a system pool: a template (an update of a cluster whose pools are separate resources) or an
    export without pools says nothing about them. "No pool has a public IP" over zero pools passed."""
    props = {"dnsPrefix": "aks"} if pools is None else {"dnsPrefix": "aks", "agentPoolProfiles": pools}
    write_files(tmp_path, {"t.json": template(cluster(**props))})
    run = scan(tmp_path / "t.json", controls=list(POOL_CONTROLS))
    for cid in POOL_CONTROLS:
        r = outcome_of(run, cid)
        assert r.outcome.value == "unknown", (cid, r.outcome, r.reason)
        assert r.reason.startswith("no node pool of this cluster is among the inputs"), r.reason
    # the generated Azure Policy definitions say the same on the same target
    from aks_compliance.policy.definitions import State, evaluate_on_target
    from .conftest import ROOT
    for cid in POOL_CONTROLS:
        definition = json.loads((ROOT / "policies" / "definitions" / f"{cid}.json").read_text(encoding="utf-8"))
        assert evaluate_on_target(definition, run.targets[0]).state is State.UNKNOWN, cid


def test_pool_controls_judge_pools_read_as_separate_resources(tmp_path: Path) -> None:
    pool = {"type": f"{MC}/agentPools", "apiVersion": "2024-05-01", "name": "aks/sys", "dependsOn": ["aks"],
            "properties": {"mode": "System", "count": 3, "enableNodePublicIP": True, "enableEncryptionAtHost": True}}
    write_files(tmp_path, {"t.json": template(cluster(dnsPrefix="aks"), pool)})
    run = scan(tmp_path / "t.json", controls=list(POOL_CONTROLS))
    assert outcome_of(run, "AKS-010").outcome.value == "passed"
    assert outcome_of(run, "AKS-011").outcome.value == "failed"
    # in another file of the same scan, found by the cluster's id
    (tmp_path / "two").mkdir()
    write_files(tmp_path / "two", {"cluster.json": template(cluster(dnsPrefix="aks")), "pool.json": template(
        {**pool, "dependsOn": [], "name": "aks/sys"})})
    run = scan(tmp_path / "two", controls=list(POOL_CONTROLS))
    assert outcome_of(run, "AKS-011").outcome.value == "failed"


def test_custom_node_configuration_absent_from_deployed_state_is_the_aks_default(tmp_path: Path) -> None:
    # Azure returns kubeletConfig/linuxOSConfig only when they were set (the REST reference's Agent Pools - Get
    # sample of a pool without custom node configuration has neither): their absence is the documented default
    write_files(tmp_path, {"c.json": rest_cluster(agentPoolProfiles=[POOL])})
    run = scan(tmp_path / "c.json", controls=["AKS-073", "AKS-074", "AKS-075", "AKS-076"])
    assert {cid: outcome_of(run, cid).outcome.value for cid in ("AKS-073", "AKS-074", "AKS-075", "AKS-076")} == {
        "AKS-073": "passed", "AKS-074": "failed", "AKS-075": "passed", "AKS-076": "passed"}
    ev = [e for e in outcome_of(run, "AKS-074").evidence if e.path.endswith("kubeletConfig.podMaxPids")]
    assert ev and "Azure returns the setting only when it was set" in ev[0].actual, outcome_of(run, "AKS-074")
