"""Smaller things a new user trips over (issue 16, point 8): a short `scan --help` of our own, option values
in any case, reasons never cut mid-word, test ids for `--k8s .`, and a `critical` severity that controls
carry."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

from aks_compliance.controls import load_catalog
from aks_compliance.controls.model import Severity
from aks_compliance.report.terminal import write_summary
from aks_compliance.results import Outcome, Result, TargetRef

from .conftest import FIXTURES, ROOT, outcome_of, scan

TEMPLATE = FIXTURES / "controls" / "AKS-010" / "failed-template-separate-agentpool-resource.json"


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    return subprocess.run([sys.executable, "-m", "aks_compliance", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env=env)


def test_scan_help_is_ours_and_short(tmp_path: Path) -> None:
    proc = cli(tmp_path, "scan", "--help")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.startswith("usage: aks-compliance scan"), out[:300]
    assert "pytest.main" not in out and len(out.splitlines()) < 150
    for option in ("--arm PATH", "--k8s", "--exclude GLOB", "--fail-on SEVERITY", "--results-json FILE", "--sarif FILE",
                   "--control-param", "--junitxml", "-k EXPRESSION", "--help-all"):
        assert option in out, option
    assert out.index("--arm PATH") < out.index("--junitxml")  # ours first, then the pytest options people use
    full = cli(tmp_path, "scan", "--help-all")
    assert full.returncode == 0 and "--arm" in full.stdout and "--strict-markers" in full.stdout


def test_a_usage_error_names_the_command_that_was_run(tmp_path: Path) -> None:
    proc = cli(tmp_path, "scan", "--arm", str(FIXTURES / "controls" / "AKS-002"), "--no-such-option")
    assert proc.returncode == 4, proc.stderr
    assert "aks-compliance scan: error: unrecognized arguments: --no-such-option" in proc.stderr, proc.stderr
    assert "pytest.main" not in proc.stdout + proc.stderr


def test_option_values_are_case_insensitive(tmp_path: Path) -> None:
    proc = cli(tmp_path, "scan", "--arm", str(TEMPLATE), "--controls", "aks-010,Aks-002", "--fail-on", "HIGH",
               "--aksc-items", "RESULT", "--results-json", "r.json")
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]  # AKS-002 (high) fails
    doc = json.loads((tmp_path / "r.json").read_text())
    assert {r["control_id"] for r in doc["results"]} == {"AKS-010", "AKS-002"}
    assert doc["run"]["options"]["fail_on"] == "high"
    proc = cli(tmp_path, "scan", "--arm", str(TEMPLATE), "--controls", "aks-010", "--fail-on", "High")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]  # AKS-010 is medium
    diff = cli(tmp_path, "diff", "r.json", "r.json", "--fail-on", "CRITICAL")
    assert diff.returncode == 0, diff.stdout + diff.stderr


class _Terminal:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def section(self, title: str, **_: object) -> None:
        self.lines.append(f"== {title} ==")

    def write_line(self, line: str, **_: object) -> None:
        self.lines.append(line)


def test_unknown_reasons_are_never_cut_mid_word() -> None:
    words = " ".join(f"word{i:03d}" for i in range(80))  # 640 characters, no word longer than 7
    reason = f"the value of parameter 'pools' is unknown: {words}"
    result = Result("AKS-010", TargetRef("Microsoft.ContainerService/managedClusters", "aks"), Outcome.UNKNOWN, reason)
    run = SimpleNamespace(targets=[], target_count=0, catalog=load_catalog(), inputs=[], diagnostics=[], errors=[],
                          ledger=None)
    tr = _Terminal()
    write_summary(tr, run, [result], None, False, [])
    line = next(line for line in tr.lines if "parameter 'pools'" in line)
    shown = line.split(" x ", 1)[1]
    assert shown.endswith("\u2026") and len(shown) < len(reason)
    assert reason.startswith(shown[:-1].rstrip()) and re.search(r"word\d{3}$", shown[:-1].rstrip()), shown


def test_test_ids_of_k8s_dot_have_no_leading_slash(tmp_path: Path) -> None:
    app = tmp_path / "my-app"
    app.mkdir()
    shutil.copy(next((FIXTURES / "k8s" / "AKS-100").glob("failed-*.yaml")), app / "deploy.yaml")
    proc = cli(app, "scan", "--k8s", ".", "--collect-only")
    ids = [line for line in proc.stdout.splitlines() if "::test_controls[" in line]
    assert ids, proc.stdout[-2000:] + proc.stderr[-2000:]
    for node in ids:
        label = node.split("[", 1)[1]
        assert not re.match(r"AKS-\d+-/", label) and "[/" not in node, node
    assert any("-my-app/" in node for node in ids), ids[:5]


def test_a_critical_control_exists_and_is_documented() -> None:
    catalog = load_catalog()
    critical = [c for c in catalog if c.severity is Severity.CRITICAL]
    assert [c.id for c in critical] == ["AKS-090"]
    assert "critical" in (ROOT / "README.md").read_text().split("## Severity", 1)[1].split("\n## ", 1)[0]
    exposed = FIXTURES / "controls" / "AKS-090"
    assert outcome_of(scan(exposed / "failed-local-accounts-and-public-api.json", controls=["AKS-090"]),
                      "AKS-090").outcome.value == "failed"
    proc = cli(ROOT, "scan", "--arm", str(exposed / "failed-local-accounts-and-public-api.json"), "--controls",
               "AKS-090,AKS-001", "--fail-on", "critical")
    assert proc.returncode == 1 and "critical (1)" in proc.stdout, proc.stdout[-2000:]


def test_an_unknown_control_id_says_why_it_is_not_there(tmp_path: Path) -> None:
    """'unknown control id(s): ACME-001' for the user's own control run without --controls-path, and for a
    built-in their overlay disabled: both exist, and the message should say what to do."""
    shutil.copy(TEMPLATE, tmp_path / "aks.json")
    proc = cli(tmp_path, "scan", "--arm", "aks.json", "--controls", "AKS-001,ACME-001")
    assert proc.returncode == 4, proc.stdout[-2000:]
    assert "ACME-001: no control of the prefix ACME- is loaded (your own controls are loaded with --controls-path " \
           "DIR or an installed package)" in proc.stdout + proc.stderr, proc.stdout[-2000:]
    (tmp_path / "overlay.yaml").write_text('overlay: {name: contoso, version: "1"}\n'
                                           'controls:\n  AKS-015: {enabled: false, reason: no dashboard here}\n')
    proc = cli(tmp_path, "scan", "--arm", "aks.json", "--overlay", "overlay.yaml", "--controls", "aks-015")
    assert proc.returncode == 4, proc.stdout[-2000:]
    assert "aks-015: disabled by overlay contoso: no dashboard here" in proc.stdout + proc.stderr, proc.stdout[-2000:]


def test_a_failure_points_at_a_page_the_user_has(tmp_path: Path) -> None:
    """'docs: docs/controls.md#aks-010' named a file of this repository, which a project that installed the
    wheel does not have; 'aks-compliance catalog AKS-010' shows the control wherever the tool is installed."""
    shutil.copy(TEMPLATE, tmp_path / "aks.json")
    proc = cli(tmp_path, "scan", "--arm", "aks.json", "--controls", "AKS-010")
    assert proc.returncode == 1, proc.stdout[-2000:]
    assert "docs: aks-compliance catalog AKS-010 (docs/controls.md#aks-010 in the aks-compliance repository)" \
        in proc.stdout, proc.stdout[-3000:]
    shown = cli(tmp_path, "catalog", "aks-010")
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert out.startswith("AKS-010  Every node pool encrypts temporary disks and caches at host\n"), out[:300]
    for part in ("severity: medium", "decided by: condition", "CIS AKS: ", "rationale: ", "remediation: Set "
                 "enableEncryptionAtHost to true", "Azure Policy definition: "):
        assert part in out, (part, out)
    custom = cli(ROOT, "catalog", "CONTOSO-001", "--controls-path", "examples/custom-controls")
    assert custom.returncode == 0 and "parameters: tagName (String, default 'costCenter'): The tag every cluster " \
                                      "carries" in custom.stdout, custom.stdout + custom.stderr
    assert "declared in: examples/custom-controls/controls/contoso_azure.yaml" in custom.stdout
    unknown = cli(tmp_path, "catalog", "AKS-999")
    assert unknown.returncode == 4 and "unknown control id(s): AKS-999" in unknown.stderr
