"""Findings point at the failing thing (issue 16, point 4).

The condition evaluator knows each comparison's truth, the `not`s above it and whether it sits inside a
count's `where`; from that the evidence says which items are the failing ones. SARIF's primary location,
the terminal summary and the failure text lead with the first failing item, not the first item.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from aks_compliance.policy.conditions import Evaluator, Subject, Truth
from aks_compliance.report.sarif import sarif_document

from .conftest import FIXTURES, outcome_of, scan

TEMPLATE = FIXTURES / "controls" / "AKS-010" / "failed-template-separate-agentpool-resource.json"
MC = "Microsoft.ContainerService/managedClusters"


def _line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def failing(rule: dict, body: dict) -> tuple[Truth, list[tuple[str, bool]]]:
    v = Evaluator(Subject(body)).verdict(rule)
    return v.truth, [(leaf.path, leaf.failing) for leaf in v.leaves]


POOLS = {"properties": {"agentPoolProfiles": [{"name": "system", "enableEncryptionAtHost": True},
                                              {"name": "user1", "enableEncryptionAtHost": False}]}}


def test_the_evaluator_marks_the_failing_leaves() -> None:
    # none may match: the counted member is the failing one, the compliant member is not
    none_may = {"count": {"field": f"{MC}/agentPoolProfiles[*]",
                          "where": {"field": f"{MC}/agentPoolProfiles[*].enableEncryptionAtHost", "notEquals": True}},
                "equals": 0}
    truth, leaves = failing(none_may, POOLS)
    assert truth is Truth.FALSE
    assert ("properties.agentPoolProfiles[1].enableEncryptionAtHost", True) in leaves
    assert ("properties.agentPoolProfiles[0].enableEncryptionAtHost", False) in leaves
    # every member must match: the uncounted member is the failing one
    every = {"count": {"field": f"{MC}/agentPoolProfiles[*]",
                       "where": {"field": f"{MC}/agentPoolProfiles[*].enableEncryptionAtHost", "equals": True}},
             "equals": "[length(field('" + MC + "/agentPoolProfiles[*]'))]"}
    truth, leaves = failing(every, POOLS)
    assert truth is Truth.FALSE
    assert dict(leaves)["properties.agentPoolProfiles[1].enableEncryptionAtHost"] is True
    assert dict(leaves)["properties.agentPoolProfiles[0].enableEncryptionAtHost"] is False
    # at least one must match and none does: the count itself is what fails, not each member
    some = {"count": {"field": f"{MC}/agentPoolProfiles[*]",
                      "where": {"field": f"{MC}/agentPoolProfiles[*].name", "equals": "gpu"}}, "greater": 0}
    truth, leaves = failing(some, POOLS)
    assert truth is Truth.FALSE and dict(leaves) == {
        "properties.agentPoolProfiles[0].name": False, "properties.agentPoolProfiles[1].name": False,
        f"count({MC}/agentPoolProfiles[*])": True}
    # not: a true comparison under a not is what fails
    truth, leaves = failing({"not": {"field": "name", "equals": "aks"}}, {"name": "aks"})
    assert truth is Truth.FALSE and dict(leaves) == {"name": True}
    # allOf: only the false branch; a passing verdict has no failing leaves
    truth, leaves = failing({"allOf": [{"field": "name", "equals": "aks"}, {"field": "location", "equals": "eastus"}]},
                            {"name": "aks", "location": "westeurope"})
    assert truth is Truth.FALSE and dict(leaves) == {"name": False, "location": True}
    truth, leaves = failing({"anyOf": [{"field": "name", "equals": "aks"}, {"field": "location", "equals": "x"}]},
                            {"name": "aks", "location": "westeurope"})
    assert truth is Truth.TRUE and not any(f for _, f in leaves)


def test_evidence_leads_with_the_failing_pool_of_a_separate_agent_pool_resource() -> None:
    run = scan(TEMPLATE, controls=["AKS-010"])
    result = outcome_of(run, "AKS-010")
    assert result.outcome.value == "failed"
    first = result.evidence[0]
    assert first.failing and first.path == "properties.agentPoolProfiles[1].enableEncryptionAtHost", result.evidence
    # the agentPools resource (not the cluster's system pool) is where the finding points
    assert _line_of(TEMPLATE, "managedClusters/agentPools") <= first.line <= len(TEMPLATE.read_text().splitlines())
    passing = [e for e in result.evidence if e.path == "properties.agentPoolProfiles[0].enableEncryptionAtHost"]
    assert passing and not passing[0].failing
    doc = run.document()
    evidence = next(r for r in doc["results"] if r["control_id"] == "AKS-010")["evidence"]
    assert evidence[0]["failing"] is True and "failing" not in passing[0].as_dict()


def test_sarif_primary_location_and_terminal_line_are_the_failing_pool(tmp_path: Path) -> None:
    system_line = _line_of(TEMPLATE, '"name": "system"')
    run = scan(TEMPLATE, controls=["AKS-010"])
    line = outcome_of(run, "AKS-010").evidence[0].line
    assert line > _line_of(TEMPLATE, "managedClusters/agentPools")
    sarif = sarif_document(run.document(), root=FIXTURES.parent)
    finding = next(r for r in sarif["runs"][0]["results"] if r["ruleId"] == "AKS-010")
    assert finding["locations"][0]["physicalLocation"]["region"]["startLine"] == line
    assert {rl["physicalLocation"]["region"]["startLine"] for rl in finding.get("relatedLocations", [])} >= {system_line}
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    proc = subprocess.run([sys.executable, "-m", "aks_compliance", "scan", "--arm", str(TEMPLATE), "--controls",
                           "AKS-010"], cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env)
    summary = proc.stdout[proc.stdout.index("failures by severity"):]
    assert f"{TEMPLATE.name}:{line}" in summary.splitlines()[2], summary
    assert json.dumps(finding)  # serialisable
