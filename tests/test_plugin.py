"""The suite as users run it: pytest tests_compliance and aks-compliance scan, in subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from .conftest import FIXTURES, ROOT

SUITE = str(ROOT / "tests_compliance")
SCHEMA = json.loads((ROOT / "src" / "aks_compliance" / "schemas" / "results-v1.schema.json").read_text())
EXAMPLES = ["--arm", str(FIXTURES / "examples"), "--arm-subscription-id", "6f1c2a3e-7b8d-4c9e-a1f2-3b4c5d6e7f80",
            "--arm-resource-group", "rg-platform-weu"]

pytest_plugins = ["pytester"]


def run_pytest(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(SUITE, "-p", "no:cacheprovider", *args)


def test_no_input_runs_nothing_and_says_how_to_give_input(pytester: pytest.Pytester) -> None:
    result = run_pytest(pytester)
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    result.stdout.fnmatch_lines(["*no input given*--arm PATH*"])


def test_examples_give_readable_ids_and_a_valid_results_json(pytester: pytest.Pytester, tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    result = run_pytest(pytester, *EXAMPLES, "--results-json", str(out), "-rA", "-q")
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # the example estate has weak clusters
    result.stdout.fnmatch_lines_random(["PASSED *test_controls?AKS-001-estate-export/aks-prod-weu?",
                                        "FAILED *test_controls?AKS-001-estate-export/aks-dev-weu?*"])
    doc = json.loads(out.read_text())
    jsonschema.validate(doc, SCHEMA)
    assert {i["kind"] for i in doc["inputs"]} == {"arm-template", "arm-parameters", "arm-resources"}
    clusters = {r["target"]["name"] for r in doc["results"]
                if r["target"]["type"] == "Microsoft.ContainerService/managedClusters"}
    assert len(clusters) == 4
    assert "crplatformweu" in {r["target"]["name"] for r in doc["results"]}  # the registry is a target too
    by = {(r["control_id"], r["target"]["name"]): r for r in doc["results"]}
    # the diagnostic setting comes from a different file than the cluster it belongs to
    assert by[("AKS-012", "aks-prod-weu")]["outcome"] == "passed"
    assert by[("AKS-012", "aks-prod-weu")]["evidence"][0]["file"].endswith("diagnostic-settings.json")
    # the deployment template with its parameter file resolves to the prod variant
    assert by[("AKS-001", "aks-payments-prod")]["outcome"] == "passed"
    assert by[("AKS-010", "aks-payments-prod")]["outcome"] == "passed"


def test_failure_message_is_evidence_not_a_traceback(pytester: pytest.Pytester) -> None:
    result = run_pytest(pytester, *EXAMPLES, "-k", "AKS-011 and aks-dev-weu")
    text = result.stdout.str()
    # the failing pool in plain words (issue 16), at its file and line
    assert "pool `tools`: enableNodePublicIP is true, must not be true" in text
    assert "estate-export.json:" in text
    assert "Traceback" not in text and "def test_controls" not in text


def test_bad_inputs_are_error_items_and_the_rest_goes_on(pytester: pytest.Pytester, tmp_path: Path) -> None:
    bad = tmp_path / "inputs"
    bad.mkdir()
    (bad / "broken.json").write_text('{"resources": [ {"type": "x" ')
    good = json.loads((FIXTURES / "controls" / "AKS-002" / "passed-disabled.json").read_text())
    (bad / "good.json").write_text(json.dumps(good))
    from aks_compliance.jsonc import load_document
    template = load_document(FIXTURES / "controls" / "AKS-006" / "passed-template-with-comments.json").data
    template["resources"][0]["properties"]["disableLocalAccounts"] = "[notAFunction(true())]"
    (bad / "unknown-function.json").write_text(json.dumps(template, indent=2))
    out = tmp_path / "r.json"
    result = run_pytest(pytester, "--arm", str(bad), "--arm-parameters", str(tmp_path / "missing.parameters.json"),
                        "--results-json", str(out), "-q", "-rE")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    text = result.stdout.str()
    assert "broken.json:1:" in text and "invalid JSON" in text
    assert "unknown-function.json:" in text and "unknown function 'notafunction'" in text
    assert "missing.parameters.json" in text and "parameter file does not exist" in text
    doc = json.loads(out.read_text())
    errors = [r for r in doc["results"] if r["outcome"] == "error"]
    # the three inputs' errors; the cluster whose request ARM cannot evaluate is never created: each of its
    # controls is an error naming the expression (arm-semantics-11), the good file's cluster is judged
    assert len([r for r in errors if not r["control_id"]]) == 3 and all(r["reason"] for r in errors)
    ok = [r for r in doc["results"] if r["control_id"] == "AKS-002" and r["target"]["name"] == "aks-fixture"]
    assert ok and ok[0]["outcome"] == "passed"
    broken = [r for r in doc["results"] if r["control_id"] and r["target"]["name"] == "aks-commented"]
    assert broken and all(r["outcome"] == "error" and "notafunction" in r["reason"] for r in broken)


def test_cli_scan_exit_status(tmp_path: Path) -> None:
    exe = str(Path(sys.executable).with_name("aks-compliance"))
    ok = subprocess.run([exe, "scan", "--arm", str(FIXTURES / "controls" / "AKS-002" / "passed-disabled.json"),
                         "--controls", "AKS-002"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    failed = subprocess.run([exe, "scan", "--arm", str(FIXTURES / "controls" / "AKS-002" / "failed-enabled.json"),
                             "--controls", "AKS-002"], capture_output=True, text=True)
    assert failed.returncode == 1
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    err = subprocess.run([exe, "scan", "--arm", str(broken)], capture_output=True, text=True)
    assert err.returncode == 2 and "broken.json" in err.stdout
    none = subprocess.run([exe, "scan"], capture_output=True, text=True)
    assert none.returncode == 5 and "no input given" in none.stdout


def test_xdist_gives_the_same_results(pytester: pytest.Pytester, tmp_path: Path) -> None:
    serial, parallel = tmp_path / "serial.json", tmp_path / "parallel.json"
    run_pytest(pytester, *EXAMPLES, "--results-json", str(serial), "-q")
    run_pytest(pytester, *EXAMPLES, "--results-json", str(parallel), "-q", "-n", "2")

    def comparable(path: Path) -> list:
        return sorted(json.dumps(r, sort_keys=True) for r in json.loads(path.read_text())["results"])

    assert comparable(serial) == comparable(parallel) and comparable(serial)


def test_junit_items_carry_control_properties(pytester: pytest.Pytester, tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    run_pytest(pytester, *EXAMPLES, "--junitxml", str(junit), "-k", "AKS-001", "-o", "junit_family=xunit1")
    xml = junit.read_text()
    assert '<property name="control_id" value="AKS-001"' in xml
    assert '<property name="cis_aks" value="5.4.1"' in xml
