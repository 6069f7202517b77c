"""The helpers behind Python checks, joins across resources, and the legacy API shapes targets translate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aks_compliance.controls.checks import body_path_text, parse_version, version_at_least

from .conftest import FIXTURES, outcome_of, scan

CONTROLS = FIXTURES / "controls"


@pytest.mark.parametrize("version,minimum,ok", [
    ("1.33.5", "1.33.0", True), ("1.33", "1.33.7", True),  # a bare minor is its newest patch
    ("1.32.9", "1.33.0", False), ("1.9.0", "1.30.0", False),  # numeric, not string, order
    ("1.100.0", "1.33.0", True), ("v1.34.1", "1.34.1", True), ("2.0", "1.99.9", True),
])
def test_version_comparison(version: str, minimum: str, ok: bool) -> None:
    v, m = parse_version(version), parse_version(minimum)
    assert v is not None and m is not None
    assert version_at_least(v, m) is ok


@pytest.mark.parametrize("text", ["", "latest", "1", "1.x", None, 1.33])
def test_not_a_version(text) -> None:
    assert parse_version(text) is None


def test_body_path_text() -> None:
    assert body_path_text(("properties", "subnets", 2, "properties")) == "properties.subnets[2].properties"
    assert body_path_text(()) == ""


def _line_of(path: Path, line: int) -> str:
    return path.read_text().splitlines()[line - 1]


def test_joined_resource_evidence_cites_the_other_resource() -> None:
    path = CONTROLS / "AKS-068" / "passed-waf-policy-in-prevention.json"
    result = outcome_of(scan(path, controls=["AKS-068"]), "AKS-068")
    mode = next(e for e in result.evidence if e.path.endswith("policySettings.mode"))
    assert mode.path.startswith("wafPolicy:waf-ingress.")
    assert '"mode": "Prevention"' in _line_of(path, mode.line)
    state = next(e for e in result.evidence if e.path.endswith("policySettings.state"))
    assert '"state": "Enabled"' in _line_of(path, state.line)


def test_subnet_joined_from_its_virtual_network_is_cited_at_its_prefix() -> None:
    path = CONTROLS / "AKS-028" / "failed-pod-subnet-too-small.json"
    result = outcome_of(scan(path, controls=["AKS-028"]), "AKS-028")
    (prefix,) = result.evidence
    assert prefix.path == "subnet:vnet-spoke.properties.subnets[1].properties.addressPrefix"
    assert "10.240.8.0/26" in _line_of(path, prefix.line)


@pytest.mark.parametrize("location,outcome", [(None, "unknown"), ("westeurope", "failed"),
                                              ("westcentralus", "passed")])
def test_region_awareness_follows_the_deployment_location(location, outcome) -> None:
    path = CONTROLS / "AKS-032" / "unknown-template-location-from-resource-group.json"
    result = outcome_of(scan(path, controls=["AKS-032"], location=location), "AKS-032")
    assert result.outcome.value == outcome, (result.reason, result.evidence)
    if outcome == "unknown":
        assert "resourceGroup().location" in result.reason and "--arm-location" in result.reason


def test_legacy_azure_defender_property_is_read_as_the_current_shape() -> None:
    path = CONTROLS / "AKS-009" / "passed-legacy-azure-defender-property.json"
    result = outcome_of(scan(path, controls=["AKS-009"]), "AKS-009")
    assert result.outcome.value == "passed"
    (e,) = result.evidence
    assert e.path == "properties.securityProfile.defender.securityMonitoring.enabled"
    assert '"azureDefender"' in _line_of(path, e.line)


def test_legacy_authorized_ranges_property_is_read_as_the_current_shape() -> None:
    path = CONTROLS / "AKS-001" / "passed-legacy-api-authorized-ranges.json"
    run = scan(path, controls=["AKS-001"])
    assert outcome_of(run, "AKS-001").outcome.value == "passed"
    (target,) = run.targets
    assert target.body["properties"]["apiServerAccessProfile"]["authorizedIPRanges"] == ["203.0.113.0/24"]
    source, rest = target.resource.source_for(("properties", "apiServerAccessProfile", "authorizedIPRanges", 0))
    from aks_compliance.jsonc import pointer
    assert "203.0.113.0/24" in _line_of(path, source.line_of(pointer(*rest)))


def test_neighbour_targets_are_built_and_labelled_uniquely(tmp_path: Path) -> None:
    registry = json.loads((CONTROLS / "AKS-059" / "failed-admin-user-enabled.json").read_text())
    cluster = json.loads((CONTROLS / "AKS-002" / "failed-enabled.json").read_text())
    (tmp_path / "estate.json").write_text(json.dumps([cluster, registry, dict(registry)]))
    run = scan(tmp_path)
    labels = sorted(t.label for t in run.targets)
    assert labels == ["estate/aks-fixture", "estate/crfixtures", "estate/crfixtures#2"]
    # a cluster control never runs on a registry, and a registry control never on a cluster
    for r in run.results:
        if r.control_id == "AKS-059":
            assert r.target.type == "Microsoft.ContainerRegistry/registries"
        if r.control_id == "AKS-002":
            assert r.target.type == "Microsoft.ContainerService/managedClusters"


def test_unknown_is_never_counted_as_passed_by_a_check() -> None:
    # the KMS vault is not among the inputs: neither pass nor fail, and the reason names the vault
    path = CONTROLS / "AKS-044" / "unknown-vault-not-among-inputs.json"
    result = outcome_of(scan(path, controls=["AKS-044"]), "AKS-044")
    assert result.outcome.value == "unknown" and "kv-aks-kms" in result.reason
    # a vault of another name does not stand in for it
    other = scan(path, CONTROLS / "AKS-066" / "passed-purge-protection.json", controls=["AKS-044"])
    assert outcome_of(other, "AKS-044", "aks-fixture").outcome.value == "unknown"
