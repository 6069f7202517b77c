"""Properties a request's AKS API version lacks (arm/api_versions.py): AKS ignored them before API 2024-01-01 and
rejects them from it (Azure/AKS#4060). The verdicts are in fixtures/controls (``*-api-*``); here, what the
evidence and the errors say, and the table's own consistency."""

from __future__ import annotations

import json
from pathlib import Path

from aks_compliance.arm.api_versions import PROPERTIES, STRICT_STABLE
from aks_compliance.arm.defaults import SOURCES, parse_api_version
from aks_compliance.controls import load_catalog

from .conftest import FIXTURES, outcome_of, scan


def _cluster(api: str, props: dict, top: dict | None = None) -> dict:
    return {"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
            "contentVersion": "1.0.0.0",
            "resources": [{"type": "Microsoft.ContainerService/managedClusters", "apiVersion": api, "name": "aks",
                           "location": "westeurope", **(top or {}),
                           "properties": {"dnsPrefix": "aks", "agentPoolProfiles": [
                               {"name": "system", "count": 3, "vmSize": "Standard_D4ds_v5"}], **props}}]}


def test_an_ignored_property_is_cited_where_it_is_written_and_says_why(tmp_path: Path) -> None:
    path = tmp_path / "old.json"
    path.write_text(json.dumps(_cluster("2018-03-31", {"apiServerAccessProfile": {"enablePrivateCluster": True}}),
                               indent=2))
    result = outcome_of(scan(path, controls=["AKS-019"]), "AKS-019")
    assert result.outcome.value == "failed"
    [ev] = [e for e in result.evidence if e.path == "properties.apiServerAccessProfile.enablePrivateCluster"]
    assert "API 2018-03-31 has no apiServerAccessProfile" in ev.actual and "AKS ignored it" in ev.actual
    assert '"enablePrivateCluster": true' in path.read_text().splitlines()[ev.line - 1]


def test_a_version_that_rejects_unknown_fields_is_an_error_for_every_control(tmp_path: Path) -> None:
    path = tmp_path / "new.json"
    path.write_text(json.dumps(_cluster("2024-05-01", {"disableLocalAccounts": True,
                                                        "apiServerAuthorizedIPRanges": ["203.0.113.0/24"]}), indent=2))
    run = scan(path, controls=["AKS-001", "AKS-002"])
    for control in ("AKS-001", "AKS-002"):
        result = outcome_of(run, control)
        assert result.outcome.value == "error", result
        assert "properties.apiServerAuthorizedIPRanges must be absent: API 2024-05-01 has no such property" \
            in result.reason
        assert f"{path}:" in result.reason and "/properties/apiServerAuthorizedIPRanges" in result.reason


def test_deployed_state_is_what_azure_returned_and_is_not_gated() -> None:
    # a REST GET read at API 2019-06-01 has the legacy top-level ranges: they are the cluster's
    path = FIXTURES / "controls" / "AKS-001" / "passed-legacy-api-authorized-ranges.json"
    assert outcome_of(scan(path, controls=["AKS-001"]), "AKS-001").outcome.value == "passed"


def test_the_table_is_consistent() -> None:
    ids = {c.id for c in load_catalog()}
    for row in PROPERTIES:
        assert parse_api_version(row.lacking) < parse_api_version(row.having), row
        if row.gone or row.last:
            assert row.gone and row.last and parse_api_version(row.having) <= parse_api_version(row.last) \
                < parse_api_version(row.gone), row
        else:
            # a property added from API 2024-01-01 would be rejected, not ignored, at older strict versions
            assert parse_api_version(row.having) < STRICT_STABLE, row
        assert set(row.controls) <= ids, row
        assert row.source in SOURCES


# --- values only some versions take (VALUES): AKS rejects the request at every version, unlike a field it lacks ---

def _tier(tmp_path: Path, api: str, tier: str, name: str | None = None) -> str:
    path = tmp_path / f"tier-{api}-{tier}.json"
    sku = {"tier": tier, **({"name": name} if name else {})}
    path.write_text(json.dumps(_cluster(api, {}, {"sku": sku}), indent=2))
    result = outcome_of(scan(path, controls=["AKS-041", "AKS-003"]), "AKS-041")
    return result.outcome.value


def test_tier_values_follow_the_documented_api_versions(tmp_path: Path) -> None:
    # 'Basic and Paid will be removed in the 2023-07-01 API version' (free-standard-pricing-tiers): until then
    # Paid is the Standard tier, though the specifications list no Paid from 2023-02-01
    assert _tier(tmp_path, "2023-02-01", "Paid") == "passed"
    assert _tier(tmp_path, "2023-06-01", "paid") == "passed"
    assert _tier(tmp_path, "2023-07-01", "Paid") == "error"
    assert _tier(tmp_path, "2023-08-01", "Free", "Basic") == "error"
    # Standard and Base came with 2023-01-01
    assert _tier(tmp_path, "2022-11-01", "Standard") == "error"
    assert _tier(tmp_path, "2022-09-01", "Free", "Base") == "error"
    assert _tier(tmp_path, "2023-01-01", "Standard", "Base") == "passed"
    # a preview version older than the first stable one that takes it is not established
    assert _tier(tmp_path, "2022-11-02-preview", "Standard") == "unknown"
    # Premium: listed from 2023-05-01, earlier versions not established
    assert _tier(tmp_path, "2023-05-01", "Premium") == "passed"
    assert _tier(tmp_path, "2022-04-01", "Premium") == "unknown"


def test_a_rejected_value_is_an_error_for_every_control_naming_the_place(tmp_path: Path) -> None:
    path = tmp_path / "paid.json"
    path.write_text(json.dumps(_cluster("2024-05-01", {}, {"sku": {"name": "Base", "tier": "Paid"}}), indent=2))
    result = outcome_of(scan(path, controls=["AKS-003"]), "AKS-003")
    assert result.outcome.value == "error"
    assert f"{path}:" in result.reason and "/sku/tier" in result.reason and "AKS rejects the request" in result.reason


def test_deployed_state_values_are_not_gated() -> None:
    path = FIXTURES / "controls" / "AKS-041" / "passed-legacy-paid-tier.json"
    assert outcome_of(scan(path, controls=["AKS-041"]), "AKS-041").outcome.value == "passed"


def _outbound(tmp_path: Path, api: str, outbound: str) -> str:
    path = tmp_path / f"outbound-{api}-{outbound}.json"
    path.write_text(json.dumps(_cluster(api, {"networkProfile": {"networkPlugin": "azure",
                                                                   "outboundType": outbound}}), indent=2))
    return outcome_of(scan(path, controls=["AKS-026"]), "AKS-026").outcome.value


def test_outbound_types_that_came_after_the_property(tmp_path: Path) -> None:
    # NAT gateway types are listed from 2021-07-01/types.md (2021-05-01 has loadBalancer/userDefinedRouting only)
    assert _outbound(tmp_path, "2021-05-01", "managedNATGateway") == "unknown"
    assert _outbound(tmp_path, "2021-07-01", "userAssignedNATGateway") == "passed"
    # block is listed by no stable specification read (through 2024-09-01): unknown there, as written after it
    assert _outbound(tmp_path, "2024-09-01", "block") == "unknown"
    assert _outbound(tmp_path, "2024-06-02-preview", "block") == "unknown"
    assert _outbound(tmp_path, "2025-05-01", "block") == "passed"
    # values the table does not list are untouched
    assert _outbound(tmp_path, "2021-05-01", "userDefinedRouting") == "passed"
