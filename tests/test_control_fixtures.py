"""Every control against its own fixtures: the file name states the expected outcome.

``fixtures/controls/AKS-NNN/<outcome>-<what>.json`` with outcome passed, failed, unknown or
not_applicable. Each fixture holds one cluster; it is scanned through the whole pipeline (reading,
template expansion, targets, evaluation), exactly as ``--arm`` would.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from aks_compliance.controls import load_catalog

from .conftest import FIXTURES, outcome_of, scan

CATALOG = load_catalog()
OUTCOMES = ("passed", "failed", "unknown", "not_applicable")


def fixture_files() -> list[Path]:
    return sorted(p for p in (FIXTURES / "controls").glob("AKS-*/*.json") if not p.name.endswith(".parameters.json"))


def expected_outcome(path: Path) -> str:
    for o in OUTCOMES:
        if path.name.startswith(o + "-"):
            return o
    raise AssertionError(f"{path.name} does not start with an outcome ({', '.join(OUTCOMES)})")


@pytest.mark.parametrize("path", fixture_files(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_fixture_outcome(path: Path) -> None:
    control_id = path.parent.name
    run = scan(path, controls=[control_id])
    assert not [d for d in run.errors], [str(d) for d in run.errors]
    assert len(run.targets) == 1, f"a control fixture holds exactly one cluster, found {len(run.targets)}"
    result = outcome_of(run, control_id)
    assert result.outcome.value == expected_outcome(path), (
        f"{control_id} on {path.name}: {result.outcome.value} ({result.reason}) "
        f"evidence={[e.as_dict() for e in result.evidence]}")
    if result.outcome.value in ("unknown", "not_applicable", "error"):
        assert result.reason, "an unknown or not-applicable verdict must say why"
    if result.outcome.value in ("passed", "failed"):
        assert result.evidence, "a verdict carries evidence"
        assert all(e.file and e.line for e in result.evidence), "evidence cites file:line"


@pytest.mark.parametrize("control", list(CATALOG), ids=lambda c: c.id)
def test_every_control_has_fixtures_of_both_outcomes_and_the_absent_case(control) -> None:
    folder = FIXTURES / "controls" / control.id
    names = [p.name for p in folder.glob("*.json")] if folder.is_dir() else []
    assert any(n.startswith("passed-") for n in names), f"{control.id} has no passing fixture"
    assert any(n.startswith("failed-") for n in names), f"{control.id} has no failing fixture"
    assert any("absent" in n for n in names), f"{control.id} has no absent-property fixture"


def test_no_fixture_folder_without_a_control() -> None:
    folders = {p.name for p in (FIXTURES / "controls").iterdir() if p.is_dir()}
    assert folders <= {c.id for c in CATALOG}, folders - {c.id for c in CATALOG}


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
