"""Failures of a live Azure read, each a clear error item (or a retry), with the rest of the scan going on.

The real SDK clients against tests/servers/arm_server.py with injected faults: a rejected token (401)
and a missing credential, a 403 on one resource group, 429 with Retry-After that clears and one that
persists, 500, a malformed body, a failed export operation and a group over 200 resources that must be
exported in batches. Retries are the SDK's, bounded (``retries=2``: three calls at most).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from aks_compliance.azure.snapshot import read_snapshot
from aks_compliance.results import Outcome
from aks_compliance.scan import ScanOptions, run_scan
from aks_compliance.arm.inputs import ArmOptions

from .azure_estate import SUB, collect, estate_server, no_proxy
from .conftest import FIXTURES, outcome_of

PROD, DEV, BATCH = "aks-prod-weu", "aks-dev-weu", "aks-batch-weu"
RG = "/subscriptions/{s}/resourceGroups/{g}"
CLUSTERS = RG + "/providers/Microsoft.ContainerService/managedClusters"
CLUSTER = CLUSTERS + "/{c}"


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    no_proxy(monkeypatch)


def _errors(run) -> list[str]:
    return [r.reason for r in run.results if r.outcome is Outcome.ERROR]


def _scan(path: Path, *more: Path):
    return run_scan(ScanOptions(inputs=[ArmOptions(paths=[str(path), *map(str, more)])]))


def _no_traceback(messages: list[str]) -> None:
    assert messages and all("Traceback" not in m and 'File "' not in m for m in messages), messages


def test_a_rejected_token_is_one_authentication_error_and_other_inputs_are_still_scanned(tmp_path: Path) -> None:
    path = tmp_path / "s.json.gz"
    with estate_server(token="the-right-token") as server:
        meta = collect(server, path)  # our credential's token is not the one the server accepts
        calls = len(server.requests)
    assert calls == 1, "a rejected token ends the collection: every further call would fail the same way"
    assert meta["counts"]["errors"] == 1 and meta["counts"]["resources"] == 0
    run = _scan(path, FIXTURES / "examples" / "estate-export.json")
    errors = _errors(run)
    assert len(errors) == 1
    assert "Azure: listing managed clusters (resource group rg-batch-weu in subscription" in errors[0]
    assert "authentication failed (HTTP 401 InvalidAuthenticationToken" in errors[0] and "az login" in errors[0]
    _no_traceback(errors)
    # the rest of the scan goes on: the template's clusters are judged
    assert outcome_of(run, "AKS-009", "aks-prod-weu").outcome is Outcome.PASSED


def test_no_credential_is_a_clear_error(tmp_path: Path) -> None:
    from azure.core.exceptions import ClientAuthenticationError

    class NoCredential:
        def get_token(self, *scopes, **kwargs):
            raise ClientAuthenticationError("DefaultAzureCredential failed to retrieve a token from the included "
                                            "credentials.\nAttempted credentials:\n\tAzureCliCredential: Please run "
                                            "'az login' to set up an account")

    path = tmp_path / "s.json.gz"
    with estate_server() as server:
        collect(server, path, credential=NoCredential())
        assert not server.requests
    errors = _errors(_scan(path))
    assert len(errors) == 1 and "getting an access token" in errors[0]
    assert "no Azure credential could be obtained (DefaultAzureCredential failed to retrieve a token" in errors[0]
    assert "AZURE_CLIENT_ID" in errors[0]
    _no_traceback(errors)


def test_a_403_on_one_group_is_an_error_item_and_the_other_group_is_scanned(tmp_path: Path) -> None:
    path = tmp_path / "s.json.gz"
    with estate_server() as server:
        fault = server.fault("GET", CLUSTERS.format(s=SUB, g="rg-batch-weu"), 403, times=None)
        collect(server, path)
        assert fault.hits == 1, "a 403 is not retried"
        assert not server.calls("POST", "/resourcegroups/rg-batch-weu/exportTemplate"), \
            "an unreadable group's export and states are not tried"
        assert server.calls("POST", "/resourcegroups/rg-platform-weu/exportTemplate")
    run = _scan(path)
    errors = _errors(run)
    assert len(errors) == 1
    assert "listing managed clusters (resource group rg-batch-weu in subscription" in errors[0]
    assert "permission denied (HTTP 403 AuthorizationFailed" in errors[0] and "Reader role" in errors[0]
    assert "request id" in errors[0]
    _no_traceback(errors)
    assert sorted(t.label for t in run.targets) == ["rg-platform-weu/aks-dev-weu", "rg-platform-weu/aks-prod-weu",
                                                    "rg-platform-weu/crplatformweu"]
    assert outcome_of(run, "AKS-009", PROD).azure_policy["disagrees"] is True  # the other group's states joined


def test_a_429_with_retry_after_is_retried_and_clears(tmp_path: Path) -> None:
    path = tmp_path / "s.json.gz"
    with estate_server() as server:
        fault = server.fault("POST", RG + "/providers/Microsoft.PolicyInsights/policyStates/{r}/queryResults", 429,
                             times=1, retry_after=1)
        started = time.monotonic()
        meta = collect(server, path)
        elapsed = time.monotonic() - started
    assert fault.hits == 1
    assert elapsed >= 0.9, "Retry-After: 1 was honoured"
    assert meta["requests"]["throttled"] == 1 and meta["counts"]["errors"] == 0 and meta["complete"]
    run = _scan(path)
    assert not _errors(run)
    assert outcome_of(run, "AKS-009", PROD).azure_policy["verdict"] == "NonCompliant"


def test_a_429_that_persists_is_an_error_and_the_controls_it_hides_are_unknown(tmp_path: Path) -> None:
    path = tmp_path / "s.json.gz"
    cid = CLUSTER.format(s=SUB, g="rg-platform-weu", c=PROD)
    with estate_server() as server:
        fault = server.fault("GET", cid + "/providers/Microsoft.Insights/diagnosticSettings", 429, times=None,
                             retry_after=1)
        started = time.monotonic()
        collect(server, path)
        assert time.monotonic() - started < 15
    assert fault.hits == 3, "retries are bounded: the call and 2 retries"
    run = _scan(path)
    errors = _errors(run)
    assert len(errors) == 1
    assert f"listing diagnostic settings (managed cluster {PROD}): throttled by Azure Resource Manager " \
           "(HTTP 429 TooManyRequests" in errors[0]
    assert "still throttled after up to 2 retries (Retry-After 1 s)" in errors[0]
    _no_traceback(errors)
    # not read is not absent: the audit-log control is unknown for that cluster, never failed or passed
    audit = outcome_of(run, "AKS-012", PROD)
    assert audit.outcome is Outcome.UNKNOWN
    assert "listing diagnostic settings of aks-prod-weu failed (throttled, HTTP 429)" in audit.reason
    assert outcome_of(run, "AKS-012", BATCH).outcome is Outcome.FAILED  # the others as before
    assert outcome_of(run, "AKS-009", PROD).outcome is Outcome.PASSED


def test_a_500_is_retried_then_an_error_and_the_cluster_is_still_judged(tmp_path: Path) -> None:
    path = tmp_path / "s.json.gz"
    cid = CLUSTER.format(s=SUB, g="rg-platform-weu", c=DEV)
    with estate_server() as server:
        fault = server.fault("GET", cid + "/agentPools", 500, times=None)
        collect(server, path)
    assert fault.hits == 3
    run = _scan(path)
    errors = _errors(run)
    assert len(errors) == 1
    assert f"listing agent pools (managed cluster {DEV}): Azure failed (HTTP 500 InternalServerError" in errors[0]
    assert "still failing after up to 2 retries" in errors[0]
    # the cluster's own body lists its pools: pool controls are still decided
    dev = next(t for t in run.targets if t.label.endswith(DEV))
    assert [p["name"] for p in dev.body["properties"]["agentPoolProfiles"]] == ["nodepool1", "tools"]
    assert outcome_of(run, "AKS-009", DEV).outcome is Outcome.FAILED


def test_a_malformed_body_is_named_as_such(tmp_path: Path) -> None:
    path = tmp_path / "s.json.gz"
    cid = CLUSTER.format(s=SUB, g="rg-platform-weu", c=PROD)
    with estate_server() as server:
        server.fault("GET", cid + "/maintenanceConfigurations", 200, malformed=True)
        collect(server, path)
    run = _scan(path)
    errors = _errors(run)
    assert len(errors) == 1
    assert f"listing maintenance configurations (managed cluster {PROD}): the response is not the JSON the API " \
           "returns (HTTP 200, application/json" in errors[0] and "proxy or gateway" in errors[0]
    _no_traceback(errors)
    windows = outcome_of(run, "AKS-040", PROD)  # planned maintenance for the auto-upgrade channel
    assert windows.outcome is Outcome.UNKNOWN


def test_a_malformed_policy_states_page_keeps_the_scan_and_drops_only_the_join(tmp_path: Path) -> None:
    path = tmp_path / "s.json.gz"
    with estate_server() as server:
        server.fault("POST", RG + "/providers/Microsoft.PolicyInsights/policyStates/{r}/queryResults", 200,
                     malformed=True, times=None)
        collect(server, path)
    run = _scan(path)
    errors = _errors(run)
    assert len(errors) == 2 and all("reading Azure Policy states" in e and "not the JSON" in e for e in errors)
    assert not any(r.azure_policy for r in run.results)
    assert outcome_of(run, "AKS-009", PROD).outcome is Outcome.PASSED


def test_a_failed_export_operation_is_an_error_and_the_clusters_are_still_scanned(tmp_path: Path) -> None:
    path = tmp_path / "s.json.gz"
    with estate_server(exports=False) as server:
        server.lro("POST", RG + "/exportTemplate", None, polls=1, final_status="Failed",
                   error={"code": "ExportTemplateFailed", "message": "Could not export resources of type "
                          "'Microsoft.ContainerService/managedClusters/agentPools'."})
        collect(server, path)
        polls = [r for r in server.requests if r.path.startswith("/_operations/")]
        assert len(polls) >= 4, "both groups' operations were polled to their end"
    run = _scan(path)
    errors = _errors(run)
    assert len(errors) == 2
    assert all("exporting the resource group's template" in e and "the export failed" in e and
               "ExportTemplateFailed" in e for e in errors), errors
    _no_traceback(errors)
    # the clusters come from their GETs; only what the export alone supplied (the registry) is missing
    assert sorted(t.label for t in run.targets) == ["rg-batch-weu/aks-batch-weu", "rg-platform-weu/aks-dev-weu",
                                                    "rg-platform-weu/aks-prod-weu"]
    assert outcome_of(run, "AKS-009", PROD).outcome is Outcome.PASSED


def test_a_group_over_200_resources_is_exported_in_batches(tmp_path: Path) -> None:
    path = tmp_path / "s.json.gz"
    group = "rg-big"
    with estate_server() as server:
        store = server.store
        cid = CLUSTER.format(s=SUB, g=group, c="aks-big")
        pools = [{"name": "system", "count": 3}]
        store.put(cid, {"location": "westeurope", "properties": {"kubernetesVersion": "1.31.2",
                                                                 "agentPoolProfiles": pools}})
        for i in range(230):
            store.put(f"/subscriptions/{SUB}/resourceGroups/{group}/providers/Microsoft.Network/"
                      f"networkSecurityGroups/nsg-{i:03d}", {"location": "westeurope", "properties": {}})
        lines: list[str] = []
        collect(server, path, lines=lines, resource_groups=[group])
        exports = server.calls("POST", f"/resourcegroups/{group}/exportTemplate")
        assert [len(r.body["resources"]) for r in exports] == [1, 200, 31]
        assert exports[0].body["resources"] == ["*"]
        assert sorted(i for r in exports[1:] for i in r.body["resources"]) == sorted(
            r["id"] for r in store.in_group(SUB, group))
    assert any("231 resources: exporting in 2 batches of at most 200" in line for line in lines)
    snap = read_snapshot(path)
    assert [e["batch"] for e in snap.section("exports")] == ["1/2", "2/2"]
    assert not snap.section("errors")
    run = _scan(path)
    assert not _errors(run)
    big = next(t for t in run.targets if t.label == f"{group}/aks-big")
    assert len(big.context["index"].of_type("Microsoft.Network/networkSecurityGroups")) == 230
