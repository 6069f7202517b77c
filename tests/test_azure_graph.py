"""Fleet scale: managed clusters from Azure Resource Graph (real azure-mgmt-resourcegraph client), paged
with skip tokens, and the scope's Azure Policy states (management group and subscription queries)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from aks_compliance.azure.collector import AzureOptions, AzureUsageError, parse_scope
from aks_compliance.azure.snapshot import read_snapshot
from aks_compliance.results import Outcome
from aks_compliance.scan import ScanOptions, run_scan
from aks_compliance.arm.inputs import ArmOptions

from .azure_estate import SUB, StaticCredential, TOKEN, client_settings, collect, estate_server, no_proxy
from .conftest import outcome_of
from .servers.arm_server import ArmServer, ResourceStore

SUBS = ["11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222",
        "33333333-3333-4333-8333-333333333333"]
MG = "mg-platform"
GRAPH = "/providers/Microsoft.ResourceGraph/resources"


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    no_proxy(monkeypatch)


def fleet_cluster(i: int, sub: str) -> tuple[str, dict]:
    hardened = i % 2 == 0
    rid = f"/subscriptions/{sub}/resourceGroups/rg-fleet-{i % 4}/providers/Microsoft.ContainerService/" \
          f"managedClusters/aks-{i:04d}"
    props = {"kubernetesVersion": "1.31.2", "enableRBAC": True, "provisioningState": "Succeeded",
             "agentPoolProfiles": [{"name": "system", "mode": "System", "count": 3, "vmSize": "Standard_D4ds_v5"}]}
    if hardened:
        props["securityProfile"] = {"defender": {"securityMonitoring": {"enabled": True}}}
    return rid, {"location": "westeurope", "identity": {"type": "SystemAssigned"}, "properties": props}


def fleet_server(n: int = 25) -> ArmServer:
    server = ArmServer(tls=True, token=TOKEN).start()
    store = server.serve_resources(ResourceStore())
    states = []
    for i in range(n):
        rid, body = fleet_cluster(i, SUBS[i % 3])
        store.put(rid, body)
        store.get(rid)["type"] = "microsoft.containerservice/managedclusters"  # Resource Graph's lower case
        if i % 5 == 0:
            states.append({"resourceId": rid, "resourceType": "Microsoft.ContainerService/managedClusters",
                           "policyDefinitionName": "a1840de2-8088-4ea8-b153-b4c723e9cb01",
                           "policyAssignmentId": f"/providers/Microsoft.Management/managementGroups/{MG}/providers/"
                                                 "Microsoft.Authorization/policyAssignments/defender",
                           "complianceState": "Compliant" if i % 2 == 0 else "NonCompliant",
                           "timestamp": "2026-11-28T00:00:00Z"})
    groups = {MG: SUBS[:2]}
    server.resource_graph(management_groups=groups)
    server.policy_states(states, page_size=2, management_groups=groups)
    return server


def _collect(server: ArmServer, path: Path, **options):
    base = {"endpoint": server.url.rstrip("/"), "ca_file": server.ca_file, "retries": 2, "page_size": 7}
    base.update(options)
    from aks_compliance.azure.collector import collect_snapshot
    return collect_snapshot(path, AzureOptions(**base), credential=StaticCredential(), **client_settings(server))


def test_a_management_group_is_one_paged_resource_graph_query(tmp_path: Path) -> None:
    path = tmp_path / "fleet.json.gz"
    server = fleet_server(25)
    try:
        meta = _collect(server, path, scopes=[f"management-group:{MG}"])
        queries = server.calls("POST", GRAPH)
        states = server.calls("POST", f"/managementGroups/{MG}/providers/Microsoft.PolicyInsights/policyStates/latest/")
    finally:
        server.stop()
    in_mg = [i for i in range(25) if i % 3 < 2]
    assert meta["counts"]["graph"] == len(in_mg) == 17
    assert len(queries) == math.ceil(17 / 7) == 3
    assert all(q.body["managementGroups"] == [MG] and q.body["options"]["$top"] == 7 for q in queries)
    assert all(q.body["options"]["resultFormat"] == "objectArray" for q in queries)
    assert "skipToken" not in str(queries[0].body["options"]) and all("$skipToken" in q.body["options"]
                                                                      for q in queries[1:])
    assert "microsoft.containerservice/managedclusters" in queries[0].body["query"]
    assert meta["requests"]["graph_pages"] == 3
    assert len(states) > 1 and all("$skiptoken" in r.query for r in states[1:]), "policy state next links POSTed"

    snap = read_snapshot(path)
    rows = snap.section("graph")
    assert all(r["type"] == "Microsoft.ContainerService/managedClusters" for r in rows)
    assert not any("subscriptionId" in r or "resourceGroup" in r for r in rows), "graph columns dropped"
    assert [g["type"] for g in snap.section("gaps")] == [
        "microsoft.insights/diagnosticsettings", "microsoft.containerservice/managedclusters/maintenanceconfigurations"]

    run = run_scan(ScanOptions(inputs=[ArmOptions(paths=[str(path)])]))
    assert len(run.targets) == 17 and not run.errors
    assert outcome_of(run, "AKS-009", "aks-0000").outcome is Outcome.PASSED
    assert outcome_of(run, "AKS-009", "aks-0001").outcome is Outcome.FAILED
    # diagnostic settings are not read in a fleet scan: unknown with the reason, never failed
    audit = outcome_of(run, "AKS-012", "aks-0000")
    assert audit.outcome is Outcome.UNKNOWN and "a fleet scan reads each cluster's own body" in audit.reason
    assert not [r for r in run.results if r.control_id == "AKS-012" and r.outcome is Outcome.FAILED]
    joined = {r.target.name: r.azure_policy for r in run.results if r.azure_policy}
    # clusters 0, 10 and 15 are in the management group's subscriptions and have a Defender state
    assert {k: v["verdict"] for k, v in joined.items()} == {"aks-0000": "Compliant", "aks-0010": "Compliant",
                                                           "aks-0015": "NonCompliant"}
    assert joined["aks-0015"]["comparison"] == "agree"


def test_several_subscriptions(tmp_path: Path) -> None:
    path = tmp_path / "subs.json.gz"
    server = fleet_server(12)
    try:
        meta = _collect(server, path, scopes=[f"subscription:{SUBS[0]}", f"/subscriptions/{SUBS[2]}"],
                        page_size=1000)
        queries = server.calls("POST", GRAPH)
        sub_states = server.calls("POST", f"/subscriptions/{SUBS[2]}/providers/Microsoft.PolicyInsights/")
    finally:
        server.stop()
    assert len(queries) == 1 and queries[0].body["subscriptions"] == [SUBS[0], SUBS[2]]
    assert meta["counts"]["graph"] == 8 and sub_states
    names = sorted(r["name"] for r in read_snapshot(path).section("graph"))
    assert names == [f"aks-{i:04d}" for i in range(12) if i % 3 != 1]


def test_a_throttled_page_is_retried_and_a_malformed_page_is_an_error_keeping_the_rows_read(tmp_path: Path) -> None:
    server = fleet_server(25)
    try:
        throttled = server.fault("POST", GRAPH, 429, times=1, retry_after=0, after=1)
        meta = _collect(server, tmp_path / "a.json.gz", scopes=[f"management-group:{MG}"])
        assert throttled.hits == 1 and meta["counts"]["graph"] == 17 and meta["counts"]["errors"] == 0
        server.faults.clear()
        server.fault("POST", GRAPH, 200, malformed=True, times=1, after=1)
        meta = _collect(server, tmp_path / "b.json.gz", scopes=[f"management-group:{MG}"])
    finally:
        server.stop()
    assert meta["counts"]["graph"] == 7, "the first page's rows are kept"
    run = run_scan(ScanOptions(inputs=[ArmOptions(paths=[str(tmp_path / "b.json.gz")])]))
    errors = [r.reason for r in run.results if r.outcome is Outcome.ERROR]
    assert len(errors) == 1 and "querying Azure Resource Graph (page 2) (management group(s) mg-platform)" in errors[0]
    assert "not the JSON the API returns" in errors[0]
    assert len(run.targets) == 7


def test_a_cluster_read_by_arm_get_is_not_taken_again_from_resource_graph(tmp_path: Path) -> None:
    path = tmp_path / "mixed.json.gz"
    with estate_server() as server:
        collect(server, path, resource_groups=["rg-platform-weu"], scopes=[f"subscription:{SUB}"])
    snap = read_snapshot(path)
    assert [r["name"] for r in snap.section("graph")] == ["aks-batch-weu"]
    run = run_scan(ScanOptions(inputs=[ArmOptions(paths=[str(path)])]))
    assert sorted(t.label for t in run.targets) == ["rg-batch-weu/aks-batch-weu", "rg-platform-weu/aks-dev-weu",
                                                    "rg-platform-weu/aks-prod-weu", "rg-platform-weu/crplatformweu"]
    assert outcome_of(run, "AKS-012", "aks-prod-weu").outcome is Outcome.PASSED  # read with its settings
    assert outcome_of(run, "AKS-012", "aks-batch-weu").outcome is Outcome.UNKNOWN  # from the graph only


@pytest.mark.parametrize("scope,ok", [
    ("management-group:mg-platform", ("management-group", "mg-platform")),
    ("/providers/Microsoft.Management/managementGroups/mg1", ("management-group", "mg1")),
    (f"subscription:{SUBS[0]}", ("subscription", SUBS[0])),
    ("subscription:not-a-guid", None), ("tenant:x", None), ("management-group:", None),
])
def test_scope_syntax(scope: str, ok) -> None:
    if ok is None:
        with pytest.raises(AzureUsageError, match="expected management-group:ID or subscription:ID"):
            parse_scope(scope)
    else:
        assert parse_scope(scope) == ok


def test_usage_errors_are_found_before_any_call() -> None:
    with pytest.raises(AzureUsageError, match="needs --azure-subscription"):
        AzureOptions(resource_groups=["rg"]).validate()
    with pytest.raises(AzureUsageError, match="not a managed cluster resource id"):
        AzureOptions(clusters=["/subscriptions/x/resourceGroups/g/providers/Microsoft.Compute/vms/v"]).validate()
    with pytest.raises(AzureUsageError, match="unknown Azure cloud"):
        AzureOptions(subscription=SUB, cloud="Mars").validate()
