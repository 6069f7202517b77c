"""Azure-side verdicts, red-team round eleven: what ARM or AKS rejects as a request is an error naming the
place, never a verdict (AKS REST API managedClusters reference, ARM template functions reference)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from .conftest import outcome_of, scan, write_files

SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
MC = "Microsoft.ContainerService/managedClusters"
POOL = {"name": "sys", "mode": "System", "count": 3, "vmSize": "Standard_D4s_v5"}


def template(*resources: dict, **extra: Any) -> str:
    return json.dumps({"$schema": SCHEMA, "contentVersion": "1.0.0.0", "resources": list(resources), **extra},
                      indent=1)


def cluster(api: str = "2024-05-01", name: str = "aks", identity: Any = None, **props: Any) -> dict:
    return {"type": MC, "apiVersion": api, "name": name, "location": "westeurope",
            "identity": identity or {"type": "SystemAssigned"},
            "properties": {"agentPoolProfiles": [POOL], "disableLocalAccounts": True,
                           "aadProfile": {"managed": True, "enableAzureRBAC": True}, **props}}


def cluster_results(run) -> list:
    return [r for r in run.results if r.target.type == MC]


# --- an expression ARM cannot evaluate: the deployment fails, so the cluster is never created --------------

FAILING = [
    # in a property no control reads: the controls passed beside an error item of no control
    ("unread-property", {"nodeResourceGroup": "[div(1, 0)]"}, "properties.nodeResourceGroup", "div(1, 0)"),
    ("unread-unknown-function", {"nodeResourceGroup": "[concat('rg-', nosuchfunction())]"},
     "properties.nodeResourceGroup", "nosuchfunction()"),
    # in a property a control reads: AKS-002 was unknown, other controls passed
    ("read-property", {"disableLocalAccounts": "[createObject('a', 1, 'b').a]"}, "properties.disableLocalAccounts",
     "createObject('a', 1, 'b')"),
    ("in-a-pool", {"agentPoolProfiles": [{**POOL, "tags": {"team": "[parameters('missing')]"}}]},
     "properties.agentPoolProfiles[0].tags.team", "parameters('missing')"),
]


@pytest.mark.parametrize("name,props,path,expression", FAILING, ids=[f[0] for f in FAILING])
def test_an_expression_arm_cannot_evaluate_makes_every_control_of_the_resource_an_error(
        tmp_path: Path, name: str, props: dict, path: str, expression: str) -> None:
    write_files(tmp_path, {"t.json": template(cluster(**props))})
    mine = cluster_results(scan(tmp_path / "t.json"))
    assert mine and {r.outcome.value for r in mine} == {"error"}, {r.control_id: r.outcome.value for r in mine}
    reason = mine[0].reason
    assert re.search(r"t\.json:\d+ \(at /resources/0/properties/", reason), reason  # file, line, pointer
    assert path in reason and expression in reason, reason
    assert mine[0].evidence and mine[0].evidence[0].line


@pytest.mark.parametrize("expression", ["[parseUri('https://contoso.com/a').host]", "[deployer().objectId]",
                                        "[buildUri(createObject('scheme', 'https', 'host', 'contoso.com'))]"])
def test_a_documented_function_this_tool_does_not_evaluate_rejects_nothing(tmp_path: Path, expression: str) -> None:
    # ARM knows these functions: the value is unknown here, the deployment does not fail on it
    write_files(tmp_path, {"t.json": template(cluster(nodeResourceGroup=expression))})
    mine = cluster_results(scan(tmp_path / "t.json"))
    assert mine and "error" not in {r.outcome.value for r in mine}
    assert outcome_of(scan(tmp_path / "t.json"), "AKS-002").outcome.value == "passed"


def test_an_expression_error_in_a_separate_pool_is_an_error_of_the_cluster_it_joins(tmp_path: Path) -> None:
    pool = {"type": f"{MC}/agentPools", "apiVersion": "2024-05-01", "name": "aks/user", "dependsOn": ["aks"],
            "properties": {"mode": "User", "count": 3, "vmSize": "[div(1, 0)]"}}
    write_files(tmp_path, {"t.json": template(cluster(), pool)})
    mine = cluster_results(scan(tmp_path / "t.json"))
    assert {r.outcome.value for r in mine} == {"error"}
    assert "(at /resources/1/properties/vmSize)" in mine[0].reason, mine[0].reason


# --- a related resource AKS rejects cannot satisfy a control ----------------------------------------------

WINDOW = {"maintenanceWindow": {"schedule": {"weekly": {"intervalWeeks": 1, "dayOfWeek": "Sunday"}},
                                "durationHours": 4, "startTime": "01:00"}}


def schedule(name: str, properties: Any) -> dict:
    return {"type": f"{MC}/maintenanceConfigurations", "apiVersion": "2024-05-01", "name": f"aks/{name}",
            "dependsOn": ["aks"], "properties": properties}


@pytest.mark.parametrize("properties,expected", [
    (WINDOW, "passed"),
    # AKS rejects a configuration whose properties are not an object: there is no schedule (AKS-040 passed on
    # the name alone)
    ("yo", "error"),
    ({"maintenanceWindow": "[div(1, 0)]"}, "error"),
    # a schedule without a maintenanceWindow plans no window (timeInWeek is the 'default' configuration's field,
    # for AKS's weekly releases): it passed on its name alone
    ({"timeInWeek": [{"day": "Sunday", "hourSlots": [1, 2]}]}, "failed"),
    ({}, "failed"),
    ({"maintenanceWindow": "[parameters('window')]"}, "unknown"),
])
def test_a_maintenance_schedule_aks_rejects_is_no_schedule(tmp_path: Path, properties: Any, expected: str) -> None:
    write_files(tmp_path, {"t.json": template(
        cluster(autoUpgradeProfile={"upgradeChannel": "stable", "nodeOSUpgradeChannel": "NodeImage"}),
        schedule("aksManagedAutoUpgradeSchedule", properties), schedule("aksManagedNodeOSUpgradeSchedule", WINDOW),
        parameters={"window": {"type": "object"}})})
    result = outcome_of(scan(tmp_path / "t.json", controls=["AKS-040"]), "AKS-040")
    assert result.outcome.value == expected, (result.reason, result.evidence)
    if expected == "failed":
        assert any(e.failing and "maintenanceWindow" in e.path and e.line > 10 for e in result.evidence), \
            result.evidence
    if expected == "error":
        assert re.search(r"t\.json:\d+ \(at /resources/1/properties", result.reason), result.reason
        assert result.evidence[0].line and result.evidence[0].line > 10, result.evidence  # the schedule's line


# --- documented "must" that AKS does not enforce at create time: judged, not rejected -------------------------

def test_local_accounts_disabled_without_entra_integration_is_judged_as_written(tmp_path: Path) -> None:
    # The REST reference says disableLocalAccounts "must only be used on Managed Clusters that are AAD enabled",
    # but AKS creates such a cluster (clients fail later: "Getting static credential is not allowed because this
    # cluster is set to disable local accounts", hashicorp/terraform-provider-azurerm#15489): local accounts are
    # off, so AKS-002 passes; no rejection is invented from the wording
    write_files(tmp_path, {"t.json": template(cluster(aadProfile=None))})
    assert outcome_of(scan(tmp_path / "t.json", controls=["AKS-002"]), "AKS-002").outcome.value == "passed"


# --- a condition ARM cannot evaluate fails the deployment as well ------------------------------------------

@pytest.mark.parametrize("condition,words", [
    ("[equals(div(1, 0), 1)]", "div(1, 0)"),
    ("yes", "must be a boolean"),  # ARM requires a boolean condition: the controls passed beside an error item
])
def test_a_condition_arm_cannot_evaluate_rejects_the_resource(tmp_path: Path, condition: str, words: str) -> None:
    write_files(tmp_path, {"t.json": template({**cluster(), "condition": condition})})
    mine = cluster_results(scan(tmp_path / "t.json"))
    assert mine and {r.outcome.value for r in mine} == {"error"}, {r.control_id: r.outcome.value for r in mine}
    assert re.search(r"t\.json:\d+ \(at /resources/0/condition\)", mine[0].reason), mine[0].reason
    assert words in mine[0].reason, mine[0].reason


def test_an_unknown_condition_still_judges_what_would_be_deployed(tmp_path: Path) -> None:
    write_files(tmp_path, {"t.json": template({**cluster(), "condition": "[parameters('deploy')]"},
                                              parameters={"deploy": {"type": "bool"}})})
    result = outcome_of(scan(tmp_path / "t.json", controls=["AKS-002"]), "AKS-002")
    assert result.outcome.value == "passed" and "condition" in result.reason, result.reason


def test_a_copy_count_arm_cannot_evaluate_rejects_the_resource(tmp_path: Path) -> None:
    looped = {**cluster(name="[concat('aks', copyIndex())]"), "copy": {"name": "loop", "count": "[div(1, 0)]"}}
    write_files(tmp_path, {"t.json": template(looped)})
    mine = cluster_results(scan(tmp_path / "t.json"))
    assert mine and {r.outcome.value for r in mine} == {"error"}, {r.control_id: r.outcome.value for r in mine}
    assert re.search(r"t\.json:\d+ \(at /resources/0/copy/count\)", mine[0].reason), mine[0].reason
    assert "div(1, 0)" in mine[0].reason and "condition" not in mine[0].reason, mine[0].reason


# --- outputs keep every result whatever pytest plugins run ----------------------------------------------

def test_error_results_reach_the_results_json_when_pytest_html_runs(tmp_path: Path) -> None:
    # pytest-html's row annotation set the report attribute that marks a per-target item: an error result (one
    # failed setup report) then counted as 'every result of a target named aks' and none was written
    pytest.importorskip("pytest_html")
    import subprocess
    import sys
    write_files(tmp_path, {"t.json": template({**cluster(), "properties": "yo"})})
    exe = str(Path(sys.executable).with_name("aks-compliance"))
    done = subprocess.run([exe, "scan", "--arm", str(tmp_path / "t.json"), "--results-json", str(tmp_path / "r.json"),
                           "--html", str(tmp_path / "r.html"), "--self-contained-html"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    doc = json.loads((tmp_path / "r.json").read_text())
    outcomes = {r["outcome"] for r in doc["results"] if r["control_id"]}
    assert outcomes == {"error"}, (outcomes, done.stdout[-2000:])


def test_an_api_version_that_is_not_a_string_is_an_error(tmp_path: Path) -> None:
    # ARM takes the apiVersion as a string of the form yyyy-mm-dd[-preview]; 20240201 read as "no version" made
    # the version-dependent defaults unknown and the other controls judge a request ARM refuses
    write_files(tmp_path, {"t.json": template(cluster(api=20240201))})  # type: ignore[arg-type]
    mine = cluster_results(scan(tmp_path / "t.json"))
    assert mine and {r.outcome.value for r in mine} == {"error"}, {r.control_id: r.outcome.value for r in mine}
    assert re.search(r"t\.json:\d+ \(at /resources/0/apiVersion\)", mine[0].reason), mine[0].reason
