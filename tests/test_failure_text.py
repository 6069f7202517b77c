"""Failure output a person can act on (issue 16, point 5).

What the terminal, JUnit and pytest-html show of a failure (``outcomes.failure_text``): the control's
title, the failing conditions first in plain words, the remediation and a link to the control's
documentation; the full evidence stays in the results JSON and the audit report.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from aks_compliance.outcomes import failure_text

from .conftest import FIXTURES, outcome_of, scan

SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
MC = "Microsoft.ContainerService/managedClusters"


def _template(resources: list) -> str:
    return json.dumps({"$schema": SCHEMA, "contentVersion": "1.0.0.0", "resources": resources}, indent=1)


def _cluster(**props) -> dict:
    return {"type": MC, "apiVersion": "2024-05-01", "name": "aks-prod", "location": "westeurope",
            "properties": {"dnsPrefix": "aks-prod", **props}}


POOLS = [{"name": "system", "mode": "System", "count": 3, "vmSize": "Standard_D4ds_v5", "osDiskType": "Ephemeral",
          "enableEncryptionAtHost": True},
         {"name": "user1", "mode": "User", "count": 3, "vmSize": "Standard_D4ds_v5", "osDiskType": "Ephemeral",
          "enableEncryptionAtHost": False}]


def test_failing_pool_in_plain_words_title_remediation_and_link(tmp_path: Path) -> None:
    (tmp_path / "aks.json").write_text(_template([_cluster(agentPoolProfiles=POOLS)]))
    run = scan(tmp_path / "aks.json", controls=["AKS-010"])
    text = failure_text(outcome_of(run, "AKS-010"), run.catalog)
    lines = text.splitlines()
    assert "AKS-010" in lines[0] and "Every node pool encrypts temporary disks and caches at host" in lines[0]
    assert lines[1].strip().startswith("pool `user1`: enableEncryptionAtHost is false, must be true"), text
    assert "system" not in text.split("remediation")[0], text  # the compliant pool is not a finding
    assert "counted where" not in text and "(not counted)" not in text
    assert "remediation: Set enableEncryptionAtHost to true" in text
    assert "docs/controls.md#aks-010" in text


def test_an_absent_property_and_a_top_level_one(tmp_path: Path) -> None:
    (tmp_path / "aks.json").write_text(_template([_cluster(agentPoolProfiles=POOLS[:1], disableLocalAccounts=False)]))
    run = scan(tmp_path / "aks.json", controls=["AKS-002", "AKS-036"])
    local = failure_text(outcome_of(run, "AKS-002"), run.catalog)
    assert "disableLocalAccounts is false, must be true" in local, local
    cmk = failure_text(outcome_of(run, "AKS-036"), run.catalog)
    assert "diskEncryptionSetID is not set, must be set" in cmk, cmk
    assert "docs/controls.md#aks-036" in cmk


def test_aks_053_names_the_missing_log_category(tmp_path: Path) -> None:
    setting = {"type": "Microsoft.Insights/diagnosticSettings", "apiVersion": "2021-05-01-preview",
               "name": "to-law", "scope": f"[resourceId('{MC}', 'aks-prod')]",
               "properties": {"workspaceId": "/subscriptions/0/resourceGroups/rg/providers/"
                                             "Microsoft.OperationalInsights/workspaces/law",
                              "logs": [{"category": "kube-apiserver", "enabled": True},
                                       {"category": "kube-audit-admin", "enabled": True}]}}
    (tmp_path / "aks.json").write_text(_template([_cluster(agentPoolProfiles=POOLS[:1]), setting]))
    run = scan(tmp_path / "aks.json", controls=["AKS-053"])
    result = outcome_of(run, "AKS-053")
    assert result.outcome.value == "failed"
    text = failure_text(result, run.catalog)
    first = text.splitlines()[1]
    assert "kube-controller-manager" in first and "to-law" in first, text
    assert "kube-apiserver" not in first


def test_junit_shows_the_readable_failure(tmp_path: Path) -> None:
    (tmp_path / "aks.json").write_text(_template([_cluster(agentPoolProfiles=POOLS)]))
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    proc = subprocess.run([sys.executable, "-m", "aks_compliance", "scan", "--arm", "aks.json", "--controls", "AKS-010",
                           "--junitxml", "junit.xml"], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env=env)
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    case = next(c for c in ET.parse(tmp_path / "junit.xml").iter("testcase") if "AKS-010" in c.get("name", ""))
    failure = case.find("failure")
    assert failure is not None
    body = (failure.get("message") or "") + (failure.text or "")
    assert "Every node pool encrypts temporary disks" in body
    assert "pool `user1`: enableEncryptionAtHost is false, must be true" in body
    assert "pool `user1`: enableEncryptionAtHost is false, must be true" in proc.stdout
