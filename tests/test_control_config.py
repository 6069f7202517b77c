"""Control thresholds from --control-config FILE (YAML), overridden by --control-param."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aks_compliance.controls import load_catalog
from aks_compliance.controls.config import (ControlConfigError, load_control_config, merge_control_params,
                                            validate_control_params)

from .conftest import FIXTURES, ROOT, outcome_of, scan

SUITE = str(ROOT / "tests_compliance")
FIXTURE = FIXTURES / "controls" / "AKS-030" / "failed-one-pool-at-30.json"

pytest_plugins = ["pytester"]

CATALOG = load_catalog()


def test_load_merge_and_validate(tmp_path: Path) -> None:
    f = tmp_path / "thresholds.yaml"
    f.write_text("AKS-030:\n  minimumMaxPods: 30\nAKS-038:\n  minimumKubernetesVersion: '1.34.0'\n")
    loaded = load_control_config(f)
    assert loaded == {"AKS-030": {"minimumMaxPods": 30}, "AKS-038": {"minimumKubernetesVersion": "1.34.0"}}
    merged = merge_control_params(loaded, {"AKS-030": {"minimumMaxPods": 110}})
    assert merged["AKS-030"] == {"minimumMaxPods": 110} and merged["AKS-038"]["minimumKubernetesVersion"] == "1.34.0"
    validate_control_params(merged, CATALOG)
    with pytest.raises(ControlConfigError, match="unknown control id AKS-998"):
        validate_control_params({"AKS-998": {"x": 1}}, CATALOG)
    with pytest.raises(ControlConfigError, match="AKS-030 has no parameter 'minimumMaxPod'"):
        validate_control_params({"AKS-030": {"minimumMaxPod": 1}}, CATALOG)
    (tmp_path / "bad.yaml").write_text("- a list\n")
    with pytest.raises(ControlConfigError, match="mapping of control id"):
        load_control_config(tmp_path / "bad.yaml")


def test_threshold_changes_the_verdict() -> None:
    assert outcome_of(scan(FIXTURE, controls=["AKS-030"]), "AKS-030").outcome.value == "failed"
    relaxed = scan(FIXTURE, controls=["AKS-030"], control_params={"AKS-030": {"minimumMaxPods": 30}})
    assert outcome_of(relaxed, "AKS-030").outcome.value == "passed"


def _outcome(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, str | None]:
    out = pytester.path / "results.json"
    out.unlink(missing_ok=True)
    result = pytester.runpytest_subprocess(SUITE, "-p", "no:cacheprovider", "--arm", str(FIXTURE),
                                           "--controls", "AKS-030", "--results-json", str(out), *args)
    if not out.exists():
        return result, None
    doc = json.loads(out.read_text())
    return result, next(r["outcome"] for r in doc["results"] if r["control_id"] == "AKS-030")


def test_pytest_option_and_command_line_override(pytester: pytest.Pytester) -> None:
    config = pytester.path / "thresholds.yaml"
    config.write_text("AKS-030:\n  minimumMaxPods: 30\n")
    assert _outcome(pytester)[1] == "failed"
    assert _outcome(pytester, "--control-config", str(config))[1] == "passed"
    # the command line wins over the file
    assert _outcome(pytester, "--control-config", str(config), "--control-param", "AKS-030.minimumMaxPods=110")[1] == "failed"
    bad = pytester.path / "typo.yaml"
    bad.write_text("AKS-030:\n  minimumMaxPod: 30\n")
    result, outcome = _outcome(pytester, "--control-config", str(bad))
    assert outcome is None and result.ret == pytest.ExitCode.USAGE_ERROR
    assert "minimumMaxPod" in result.stderr.str()
