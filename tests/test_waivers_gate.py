"""--waivers, --fail-on SEVERITY and --fail-on-unknown as users run them: pytest and aks-compliance scan."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import FIXTURES, ROOT

SUITE = str(ROOT / "tests_compliance")
EXE = str(Path(sys.executable).with_name("aks-compliance"))
# within the waiver horizon (waivers.MAX_HORIZON_YEARS after the run date)
EXPIRES = (dt.date.today() + dt.timedelta(days=400)).isoformat()
CONTROLS = ["--controls", "AKS-002,AKS-005,AKS-015"]  # high, medium, low

pytest_plugins = ["pytester"]


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    """aks-fixture fails AKS-002 (high), AKS-005 (medium), AKS-015 (low); the pipeline cluster is unknown on
    AKS-002, fails AKS-005 (no network profile) and passes AKS-015."""
    d = tmp_path / "inputs"
    d.mkdir()
    cluster = json.loads((FIXTURES / "controls" / "AKS-002" / "failed-enabled.json").read_text())
    del cluster["properties"]["networkProfile"]["networkPolicy"]
    cluster["properties"]["addonProfiles"]["kubeDashboard"] = {"enabled": True}
    (d / "cluster.json").write_text(json.dumps(cluster, indent=2))
    unknown = (FIXTURES / "controls" / "AKS-002" / "unknown-template-parameter-without-value.json").read_text()
    (d / "pipeline.json").write_text(unknown)
    return d


def waiver_file(tmp_path: Path, control: str = "AKS-002", target: str = "aks-fixture") -> str:
    path = tmp_path / "waivers.yaml"
    path.write_text(f"waivers:\n  - id: W-9\n    control: {control}\n    target: {target}\n"
                    f"    justification: accepted until the rollout\n    approver: Jane Doe\n    expires: {EXPIRES}\n")
    return str(path)


def run(pytester: pytest.Pytester, inputs: Path, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(SUITE, "-p", "no:cacheprovider", "--arm", str(inputs), *CONTROLS, *args)


def cli(inputs: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([EXE, "scan", "--arm", str(inputs), *CONTROLS, *args], capture_output=True, text=True)


def test_without_fail_on_any_failure_fails(pytester: pytest.Pytester, inputs: Path) -> None:
    result = run(pytester, inputs)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert cli(inputs).returncode == 1


def test_failures_below_the_threshold_are_reported_but_do_not_fail(pytester: pytest.Pytester, inputs: Path,
                                                                   tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    result = run(pytester, inputs, "--fail-on", "critical", "--results-json", str(out))
    assert result.ret == pytest.ExitCode.OK
    assert json.loads(out.read_text())["run"]["options"]["fail_on"] == "critical"  # recorded for the auditor
    result.stdout.fnmatch_lines(["*4 failed*"])  # pytest still shows them as failed items
    result.stdout.fnmatch_lines(["*--fail-on critical: the run passes*4 failure(s) below 'critical' do not fail the run*"])
    assert cli(inputs, "--fail-on", "critical").returncode == 0
    assert cli(inputs, "--fail-on", "medium").returncode == 1
    assert run(pytester, inputs, "--fail-on", "high").ret == pytest.ExitCode.TESTS_FAILED


def test_a_waived_failure_is_xfail_and_does_not_count(pytester: pytest.Pytester, inputs: Path, tmp_path: Path) -> None:
    waivers = waiver_file(tmp_path)
    result = run(pytester, inputs, "--fail-on", "high", "--waivers", waivers, "-rx")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    result.stdout.fnmatch_lines(["XFAIL *AKS-002-cluster/aks-fixture* - WAIVED: waiver W-9 approved by Jane Doe, "
                                 f"expires {EXPIRES}: accepted until the rollout"])
    assert cli(inputs, "--fail-on", "high", "--waivers", waivers).returncode == 0
    # without a threshold the medium and low failures still fail the run
    assert cli(inputs, "--waivers", waivers).returncode == 1


def test_unknowns_count_only_with_fail_on_unknown(pytester: pytest.Pytester, inputs: Path, tmp_path: Path) -> None:
    waivers = waiver_file(tmp_path)
    assert cli(inputs, "--fail-on", "high", "--waivers", waivers).returncode == 0
    assert cli(inputs, "--fail-on", "high", "--waivers", waivers, "--fail-on-unknown").returncode == 1  # AKS-002 is high
    assert cli(inputs, "--fail-on", "critical", "--fail-on-unknown").returncode == 0
    result = run(pytester, inputs, "--fail-on", "high", "--waivers", waivers, "--fail-on-unknown")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*the run fails (1 unknown/manual result(s) (--fail-on-unknown)*"])


def test_the_threshold_holds_under_xdist(pytester: pytest.Pytester, inputs: Path) -> None:
    assert run(pytester, inputs, "--fail-on", "critical", "-n", "2").ret == pytest.ExitCode.OK
    assert run(pytester, inputs, "--fail-on", "high", "-n", "2").ret == pytest.ExitCode.TESTS_FAILED


def test_other_failing_tests_are_never_hidden(pytester: pytest.Pytester, inputs: Path) -> None:
    other = pytester.makepyfile(test_other="def test_unrelated():\n    assert False\n")
    result = pytester.runpytest_subprocess(SUITE, str(other), "-p", "no:cacheprovider", "--arm", str(inputs),
                                           *CONTROLS, "--fail-on", "critical")
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_terminal_summary_totals_first_then_failures_by_severity(pytester: pytest.Pytester, inputs: Path) -> None:
    result = run(pytester, inputs, "-q")
    text = result.stdout.str()
    section = text[text.index("aks-compliance ===="):]
    lines = section.splitlines()
    assert lines[1].startswith("6 result(s): 1 passed, 4 failed, 1 unknown"), lines[1]
    order = [next(i for i, line in enumerate(lines) if line.strip().startswith(k)) for k in
             ("failures by severity (4)", "high (1)", "medium (2)", "low (1)")]
    assert order == sorted(order)
    result.stdout.fnmatch_lines(["    AKS-002  aks-fixture  *cluster.json:17",
                                 "    AKS-005  aks-fixture  *cluster.json:*",
                                 "    AKS-005  aks-local-accounts-from-pipeline  *pipeline.json:*",
                                 "    AKS-015  aks-fixture  *cluster.json:*"])


def test_a_bad_waiver_file_is_a_usage_error_naming_file_and_entry(pytester: pytest.Pytester, inputs: Path,
                                                                   tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"waivers:\n  - control: AKS-002\n    target: '*'\n    approver: x\n    expires: {EXPIRES}\n")
    result = run(pytester, inputs, "--waivers", str(bad))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "bad.yaml:2: waiver #1: missing required field(s) ['justification']" in result.stderr.str()
    proc = cli(inputs, "--waivers", str(bad))
    assert proc.returncode == 4 and "bad.yaml:2" in proc.stdout + proc.stderr
    # and under xdist, too
    assert run(pytester, inputs, "--waivers", str(bad), "-n", "2").ret == pytest.ExitCode.USAGE_ERROR
