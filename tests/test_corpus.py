"""The real-world ARM corpus (../shared/corpus/arm): found, expanded, judged, never crashed."""

from __future__ import annotations

import json
import re

import pytest

from aks_compliance.controls import load_catalog
from aks_compliance.scan import ScanOptions, ScanRun, run_scan

from .conftest import require_shared

CLUSTER = "microsoft.containerservice/managedclusters"


@pytest.fixture(scope="module")
def corpus_run() -> ScanRun:
    arm = require_shared("corpus", "arm")
    baseline = arm / "aks-baseline"
    return run_scan(ScanOptions(
        arm_paths=[str(arm)],
        arm_parameter_files=[f"{baseline / 'cluster-stamp.json'}={baseline / 'azuredeploy.parameters.prod.json'}"]))


def _declarations_in(data, found: list) -> None:
    if isinstance(data, dict):
        resources = data.get("resources")
        items = resources.values() if isinstance(resources, dict) else resources if isinstance(resources, list) else []
        for r in items:
            if isinstance(r, dict) and str(r.get("type", "")).lower() == CLUSTER:
                found.append(r)
        for v in data.values():
            _declarations_in(v, found)
    elif isinstance(data, list):
        for v in data:
            _declarations_in(v, found)


def test_every_managed_cluster_declaration_is_found(corpus_run: ScanRun) -> None:
    arm = require_shared("corpus", "arm")
    expected = 0
    for path in arm.rglob("*.json"):
        text = path.read_text(encoding="utf-8-sig")
        try:
            data = json.loads(text)
        except ValueError:
            from aks_compliance.jsonc import clean_jsonc
            data = json.loads(clean_jsonc(text))
        found: list = []
        _declarations_in(data, found)
        expected += len(found)
    assert expected == 13, "the corpus holds 13 managedClusters declarations (nested deployments included)"
    assert len(corpus_run.declarations) == expected
    statuses = sorted(d.status for d in corpus_run.declarations)
    assert statuses.count("deployed") == 10, statuses
    assert all(d.detail for d in corpus_run.declarations if d.status != "deployed")
    assert len(corpus_run.targets) == 10


def test_every_cluster_gets_a_verdict_from_every_control(corpus_run: ScanRun) -> None:
    catalog = load_catalog()
    for target in corpus_run.targets:
        results = [r for r in corpus_run.results if r.key.endswith("-" + target.label) and r.control_id]
        assert sorted(r.control_id for r in results) == sorted(c.id for c in catalog), target.label
        for r in results:
            assert r.outcome.value in ("passed", "failed", "unknown"), (r.key, r.outcome, r.reason)


def test_unknown_always_names_the_unresolved_expression_or_parameter(corpus_run: ScanRun) -> None:
    unknown = [r for r in corpus_run.results if r.outcome.value == "unknown"]
    assert unknown
    for r in unknown:
        assert re.search(r"parameter '[^']+'|[A-Za-z]+\(.*\)", r.reason), (r.key, r.reason)


def test_expressions_built_from_parameter_defaults_resolve(corpus_run: ScanRun) -> None:
    # AKS-Construction builds the whole properties object with union(createObject(...), if(...)):
    # enableRBAC is true() inside it. Checkov reports this as failed.
    peered = [r for r in corpus_run.results if r.control_id == "AKS-003" and "peered-vnet" in r.key]
    assert len(peered) == 2
    for r in peered:
        assert r.outcome.value == "passed"
        assert [e.actual for e in r.evidence] == ["true"], r.evidence
    # ... and their Entra ID profile comes from if(parameters('enable_aad'), createObject(...), null()).
    aad = [r for r in corpus_run.results if r.control_id == "AKS-004" and "peered-vnet" in r.key]
    assert {r.outcome.value for r in aad} == {"passed"}


def test_hardened_reference_passes_most_security_controls(corpus_run: ScanRun) -> None:
    baseline = [r for r in corpus_run.results if r.control_id and "cluster-stamp" in r.key]
    passed = [r for r in baseline if r.outcome.value == "passed"]
    assert len(passed) >= len(baseline) // 2, [(r.control_id, r.outcome.value) for r in baseline]
    # its prod parameter file carries placeholder text where an array of ranges belongs:
    ranges = next(r for r in baseline if r.control_id == "AKS-001")
    assert ranges.outcome.value == "unknown" and "clusterAuthorizedIPRanges" in ranges.reason


def test_broken_templates_are_reported_with_file_and_line(corpus_run: ScanRun) -> None:
    errors = [r for r in corpus_run.results if r.outcome.value == "error"]
    assert errors, "three AKS-Construction samples pass createObject an odd number of arguments"
    for r in errors:
        assert r.target.file and r.target.line, r.key
    assert any("createObject" in r.reason for r in errors)


def test_quickstart_parameter_file_naming_an_undeclared_parameter_warns(corpus_run: ScanRun) -> None:
    warnings = [d for d in corpus_run.diagnostics if d.severity == "warning"]
    assert any("authorizedIPRange" in d.message for d in warnings)
