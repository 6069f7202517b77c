"""Invalid values are usage errors, never findings (issue 16, point 6).

Every control parameter has a JSON Schema (a type, and constraints where a type is not enough: a version
pattern, item enums, ranges, regular expressions, dates); a bad value from --control-param or
--control-config exits 4 naming the file, line and entry. A template parameter given with --arm-param that no
template declares is a warning.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from aks_compliance.controls import load_catalog
from aks_compliance.controls.config import ControlConfigError, load_control_config, validate_control_params

from .conftest import FIXTURES, scan

CATALOG = load_catalog()
TEMPLATE = FIXTURES / "controls" / "AKS-010" / "failed-template-separate-agentpool-resource.json"


def _valid(schema: dict, value) -> bool:
    try:
        jsonschema.validate(value, schema, format_checker=jsonschema.FormatChecker())
    except jsonschema.ValidationError:
        return False
    return True


def test_every_default_satisfies_its_own_schema() -> None:
    for control in CATALOG:
        for p in control.parameters:
            assert _valid(p.json_schema(), p.default), (control.id, p.name, p.default, p.json_schema())


# Values a person might type by mistake; each must be refused by the schema of every parameter of that kind.
BAD_FOR_TYPE = {"integer": ["banana", 1.5, True, None], "array": ["stable", {"a": 1}, None],
                "boolean": ["yes", 1, None], "string": [None, 12, ["a"]]}


def test_every_parameter_refuses_values_of_the_wrong_type() -> None:
    for control in CATALOG:
        for p in control.parameters:
            schema = p.json_schema()
            for bad in BAD_FOR_TYPE[schema["type"]]:
                assert not _valid(schema, bad), (control.id, p.name, bad)
            if schema["type"] == "array":
                assert not _valid(schema, [12]), (control.id, p.name, "an array of numbers")


@pytest.mark.parametrize("cid, name, bad", [
    ("AKS-038", "minimumKubernetesVersion", "banana"),
    ("AKS-038", "minimumKubernetesVersion", "1.x"),
    ("AKS-007", "allowedUpgradeChannels", ["stabel"]),
    ("AKS-030", "minimumMaxPods", 5),
    ("AKS-030", "minimumMaxPods", 500),
    ("AKS-032", "minimumZones", 0),
    ("AKS-039", "maxMinorVersionSkew", -1),
    ("AKS-056", "minimumRetentionDays", -3),
    ("AKS-050", "clusterNameFormat", "aks-(prod"),
    ("AKS-175", "endOfLifeDate", "2026-02-30"),
    ("AKS-032", "zonalRegions", ["West Europe"]),
])
def test_constrained_parameters_refuse_impossible_values(cid: str, name: str, bad) -> None:
    control = CATALOG.get(cid)
    assert control is not None and name in {p.name for p in control.parameters}, (cid, name)
    with pytest.raises(ControlConfigError, match=f"{cid}.{name}"):
        validate_control_params({cid: {name: bad}}, CATALOG)


def _scan(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    return subprocess.run([sys.executable, "-m", "aks_compliance", "scan", "--arm", str(TEMPLATE), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300, env=env)


def test_a_bad_control_param_is_a_usage_error_naming_the_entry(tmp_path: Path) -> None:
    proc = _scan(tmp_path, "--control-param", "AKS-038.minimumKubernetesVersion=banana", "--results-json", "r.json")
    assert proc.returncode == 4, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "--control-param AKS-038.minimumKubernetesVersion='banana'" in proc.stderr, proc.stderr
    assert not (tmp_path / "r.json").exists()  # never a finding on the user's template


def test_a_bad_value_in_the_control_config_names_file_line_and_entry(tmp_path: Path) -> None:
    config = tmp_path / "thresholds.yaml"
    config.write_text("# thresholds\nAKS-030:\n  minimumMaxPods: 60\nAKS-038:\n  minimumKubernetesVersion: banana\n")
    with pytest.raises(ControlConfigError, match=r"thresholds.yaml:5: AKS-038.minimumKubernetesVersion='banana'"):
        validate_control_params(load_control_config(config), CATALOG)
    proc = _scan(tmp_path, "--control-config", str(config))
    assert proc.returncode == 4
    assert f"{config}:5: AKS-038.minimumKubernetesVersion='banana'" in proc.stderr, proc.stderr
    config.write_text("AKS-007:\n  allowedUpgradeChannels: stable\n")
    proc = _scan(tmp_path, "--control-config", str(config))
    assert proc.returncode == 4 and f"{config}:2: AKS-007.allowedUpgradeChannels='stable'" in proc.stderr, proc.stderr
    config.write_text("AKS-030:\n  minimumMaxPod: 60\n")
    proc = _scan(tmp_path, "--control-config", str(config))
    assert proc.returncode == 4 and f"{config}:2: AKS-030 has no parameter 'minimumMaxPod'" in proc.stderr, proc.stderr


def test_an_arm_param_no_template_declares_is_a_warning(tmp_path: Path) -> None:
    run = scan(TEMPLATE, controls=["AKS-010"])
    assert not [d for d in run.diagnostics if d.severity == "warning"]
    from aks_compliance.arm.inputs import ArmOptions
    from aks_compliance.scan import ScanOptions, run_scan
    run = run_scan(ScanOptions(inputs=[ArmOptions(paths=[str(TEMPLATE)], parameters={"nosuch": 1, "clusterName": "x"})],
                               controls=["AKS-010"]))
    warnings = [str(d) for d in run.diagnostics if d.severity == "warning"]
    assert len(warnings) == 1 and TEMPLATE.name in warnings[0], warnings
    assert "--arm-param sets parameter 'nosuch', which the template does not declare" in warnings[0]
    proc = _scan(tmp_path, "--arm-param", "nosuch=1", "--controls", "AKS-010")
    assert "--arm-param sets parameter 'nosuch', which the template does not declare" in proc.stdout, proc.stdout[-2000:]
    assert json.dumps(warnings)
