"""Every control against its own fixtures: the file name states the expected outcome.

``fixtures/controls/AKS-NNN/<outcome>-<what>.json`` with outcome passed, failed, unknown,
not_applicable, manual or error (a value the resource's API rejects). Each fixture holds exactly one target of the control's resource type (one
cluster, or one registry, key vault, gateway, WAF policy or Defender pricing), possibly with the
resources it is joined to (diagnostic settings, a WAF policy, a vault, a subnet, ...); it is scanned
through the whole pipeline (reading, template expansion, targets, evaluation), exactly as ``--arm``
would. A fixture that needs thresholds other than the defaults has them beside it in
``<fixture>.control-config.yaml`` (the ``--control-config`` format).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from aks_compliance.controls import load_catalog
from aks_compliance.testing import FixtureCase, check_fixture, expected_outcome, fixture_cases, missing_fixtures

from .conftest import FIXTURES, outcome_of, scan

CATALOG = load_catalog()
# The Azure-side controls (ARM resource types, AKS-001..099) keep their fixtures here; the in-cluster
# Kubernetes controls (AKS-100..199) have their own fixture tests.
AZURE = [c for c in CATALOG
         if all(t.startswith("Microsoft.") for t in ((c.resource_type,) if isinstance(c.resource_type, str)
                                                      else c.resource_type))]
CASES = fixture_cases(FIXTURES / "controls", CATALOG)


def fixture_files() -> list[Path]:
    return sorted(p for p in (FIXTURES / "controls").glob("AKS-*/*.json") if not p.name.endswith(".parameters.json"))


@pytest.mark.parametrize("path", fixture_files(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_fixture_outcome(path: Path) -> None:
    case = FixtureCase(path.parent.name, path, expected_outcome(path))
    result, run = check_fixture(case, CATALOG)
    control = CATALOG[case.control_id]
    mine = [t for t in run.targets if control.applies_to_type(t.type)]
    assert len(mine) == 1, (f"a control fixture holds exactly one target of the control's resource type "
                            f"({control.resource_type}), found {[t.label for t in mine]}")
    assert result.target.name == mine[0].ref().name


def _k8s(control) -> bool:
    """In-cluster controls keep their fixtures in fixtures/k8s (tests/test_k8s_control_fixtures.py holds them
    to the same rules)."""
    types = (control.resource_type,) if isinstance(control.resource_type, str) else control.resource_type
    return all(t.lower().startswith("k8s/") for t in types)


@pytest.mark.parametrize("control", [c for c in CATALOG if not _k8s(c)], ids=lambda c: c.id)
def test_every_control_has_fixtures_of_both_outcomes_and_the_absent_case(control) -> None:
    # a manual control never passes or fails by itself: its fixture shows that it says so
    assert not missing_fixtures(control, CASES), f"{control.id} has no {', '.join(missing_fixtures(control, CASES))}"


def test_no_fixture_folder_without_a_control() -> None:
    folders = {p.name for p in (FIXTURES / "controls").iterdir() if p.is_dir()}
    assert folders <= {c.id for c in AZURE}, folders - {c.id for c in AZURE}


def test_sidecar_configs_belong_to_a_fixture() -> None:
    for sidecar in (FIXTURES / "controls").glob("AKS-*/*.control-config.yaml"):
        fixture = sidecar.with_name(sidecar.name.replace(".control-config.yaml", ".json"))
        assert fixture.exists(), f"{sidecar} has no fixture {fixture.name}"


def test_unknown_reasons_name_the_expression_or_parameter() -> None:
    run = scan(FIXTURES / "controls" / "AKS-002" / "unknown-template-parameter-without-value.json", controls=["AKS-002"])
    assert "parameter 'disableLocalAccounts' has no value" in outcome_of(run, "AKS-002").reason
    run = scan(FIXTURES / "controls" / "AKS-001" / "unknown-template-ranges-from-reference.json", controls=["AKS-001"])
    assert "reference(resourceId('Microsoft.Network/publicIPAddresses', 'pip-firewall')" in outcome_of(run, "AKS-001").reason


def test_pool_from_separate_resource_is_cited_at_its_own_line() -> None:
    path = FIXTURES / "controls" / "AKS-010" / "failed-template-separate-agentpool-resource.json"
    result = outcome_of(scan(path, controls=["AKS-010"]), "AKS-010")
    failing = [e for e in result.evidence if e.path.startswith("properties.agentPoolProfiles[1]")]
    assert failing, result.evidence
    text = path.read_text().splitlines()
    line = failing[0].line
    assert "agentPools" in "".join(text[line - 8:line]) or '"properties"' in text[line - 1], (line, text[line - 1])
