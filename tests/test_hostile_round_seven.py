"""Hostile input, round seven (issue 19): variations rounds two to six did not cover.

* cost: a user's regular expression (AKS-123's ``sensitiveValues``, AKS-050's name formats, the ``matches``
  operator of an object rule reading a parameter or its own literal) was run by Python's ``re`` without a bound:
  ``(a|aa)+$`` against forty ``a`` and a ``!`` hung the scan for good. It now runs with a time bound
  (user_regex.py); a match stopped is an error result naming the control and the parameter, and every other
  value, object and control is still judged.

Every test is bounded by construction: the time bounds are passed in small (tens of milliseconds), and the
hostile patterns meet the bound on every value they are run on.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from aks_compliance import user_regex
from aks_compliance.controls.loading import load_catalog
from aks_compliance.k8s.source import K8sOptions
from aks_compliance.scan import ScanOptions, run_scan

from .conftest import scan

CANARY = "CNRYround7SecretQw5"
SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
MC = "Microsoft.ContainerService/managedClusters"
EXE = str(Path(sys.executable).with_name("aks-compliance"))
# Exponential for a backtracking matcher on "a" * n + "!" (the regex module's own shortcuts do not apply to it).
EVIL = "(a|aa)+$"
EVIL_TEXT = "a" * 40 + "!"


def everything_said(run: Any) -> str:
    return json.dumps(run.document(), ensure_ascii=False) + "".join(str(d) for d in run.diagnostics)


@pytest.fixture
def quick_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """Time bounds of tens of milliseconds, and patterns compiled afresh (with nothing spent yet)."""
    monkeypatch.setattr(user_regex, "MATCH_SECONDS", 0.05)
    monkeypatch.setattr(user_regex, "PATTERN_SECONDS", 0.2)
    user_regex.user_pattern.cache_clear()
    yield
    user_regex.user_pattern.cache_clear()


def pod(name: str, env: dict[str, str]) -> str:
    lines = "".join(f"    - name: {k}\n      value: {json.dumps(v)}\n" for k, v in env.items())
    return (f"apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: shop}}\nspec:\n  containers:\n"
            f"  - name: app\n    image: myacr.azurecr.io/app:1.0\n    env:\n{lines}")


def by_name(run: Any, control: str) -> dict[str, Any]:
    return {r.target.name.rpartition("/")[2]: r for r in run.results if r.control_id == control}


# -- a user's regular expression is bounded in time ---------------------------------------------------------

def test_a_catastrophic_sensitive_value_pattern_is_an_error_and_the_rest_is_judged(tmp_path: Path,
                                                                                    quick_bound: None) -> None:
    (tmp_path / "p.yaml").write_text("---\n".join([
        pod("hostile", {"X": EVIL_TEXT + CANARY}),
        pod("leaky", {"UPSTREAM": f"token-{CANARY}"}),
        pod("clean", {"MODE": "fast"})]))
    run = run_scan(ScanOptions(inputs=[K8sOptions(paths=[str(tmp_path / "p.yaml")])], controls=["AKS-123", "AKS-100"],
                               control_params={"AKS-123": {"sensitiveValues": [EVIL, "token-"]}}))
    results = by_name(run, "AKS-123")
    assert results["hostile"].outcome.value == "error", results["hostile"]
    assert "parameter sensitiveValues" in results["hostile"].reason and EVIL in results["hostile"].reason
    assert results["leaky"].outcome.value == "failed", results["leaky"]
    assert results["clean"].outcome.value == "passed", results["clean"]
    assert {r.outcome.value for r in by_name(run, "AKS-100").values()} == {"passed"}
    assert CANARY not in everything_said(run)


def test_a_catastrophic_allowed_values_pattern_is_an_error_naming_its_parameter(tmp_path: Path,
                                                                                quick_bound: None) -> None:
    (tmp_path / "p.yaml").write_text(pod("hostile", {"X": EVIL_TEXT}))
    run = run_scan(ScanOptions(inputs=[K8sOptions(paths=[str(tmp_path / "p.yaml")])], controls=["AKS-123"],
                               control_params={"AKS-123": {"sensitiveValuesAllowed": [EVIL]}}))
    [result] = run.results
    assert result.outcome.value == "error" and "parameter sensitiveValuesAllowed" in result.reason, result


def test_a_pattern_that_spent_its_time_costs_milliseconds_a_value_after(tmp_path: Path, quick_bound: None) -> None:
    """Many hostile values: once the pattern's time is spent each is stopped at once (an error each), so the
    cost is the bound and then a little per value, never the bound per value."""
    pattern = user_regex.user_pattern(EVIL)
    outcomes = []
    for _ in range(200):  # 200 x 0.05 s would be ten seconds; the pattern's 0.2 s then 2 ms each is under one
        try:
            outcomes.append(pattern.search(EVIL_TEXT))
        except user_regex.PatternTooSlow as exc:
            outcomes.append(str(exc))
    assert all(isinstance(o, str) and EVIL_TEXT not in o for o in outcomes)
    assert pattern.search("aaa") and not pattern.search("bbb")  # quick matches still run


def test_a_catastrophic_name_format_is_an_error_naming_its_parameter(tmp_path: Path, quick_bound: None) -> None:
    pools = [{"name": "sys" + "a" * 8 + "!", "mode": "System", "count": 1, "vmSize": "Standard_D4s_v5"}]
    (tmp_path / "t.json").write_text(json.dumps({"$schema": SCHEMA, "contentVersion": "1.0.0.0", "resources": [
        {"type": MC, "apiVersion": "2024-05-01", "name": "a" * 40 + "b", "location": "westeurope",
         "properties": {"dnsPrefix": "x", "agentPoolProfiles": pools}}]}))
    run = scan(tmp_path / "t.json", controls=["AKS-050", "AKS-002"],
               control_params={"AKS-050": {"clusterNameFormat": "(a|aa)+", "systemPoolNameFormat": "sys[a-z]+"}})
    [naming] = [r for r in run.results if r.control_id == "AKS-050"]
    assert naming.outcome.value == "error" and "parameter clusterNameFormat" in naming.reason, naming
    assert [r.outcome.value for r in run.results if r.control_id == "AKS-002"] == ["failed"]


CUSTOM = """controls:
  - id: ACME-701
    title: Images are named by the convention
    exclusions: workload-admission
    severity: low
    section: Acme
    rationale: Names that follow the convention tell which team owns an image.
    remediation: Rename the image.
    parameters:
      - name: imagePattern
        type: String
        default: "[a-z./:0-9]+"
        description: The image names allowed.
    object_rule:
      kinds: workloads
      checks:
        - scope: containers
          require: {field: image, matches: {param: imagePattern}}
  - id: ACME-702
    title: Container names are short words
    exclusions: workload-admission
    severity: low
    section: Acme
    rationale: Short names read well in logs.
    remediation: Rename the container.
    object_rule:
      kinds: workloads
      checks:
        - scope: containers
          require: {field: name, matches: "(a|aa)+"}
"""


def test_a_catastrophic_matches_operand_is_an_error_for_that_object_only(tmp_path: Path, quick_bound: None) -> None:
    (tmp_path / "controls.yaml").write_text(CUSTOM)
    hostile = pod("hostile", {}).replace("name: app", "name: " + "a" * 40 + "b").replace(
        "myacr.azurecr.io/app:1.0", "a" * 40 + "!")
    (tmp_path / "p.yaml").write_text(hostile + "---\n" + pod("plain", {}).replace("name: app", "name: aaaa"))
    catalog = load_catalog([str(tmp_path / "controls.yaml")], entry_points=False)
    run = run_scan(ScanOptions(inputs=[K8sOptions(paths=[str(tmp_path / "p.yaml")])], catalog=catalog,
                               controls=["ACME-701", "ACME-702"],
                               control_params={"ACME-701": {"imagePattern": EVIL}}))
    for control in ("ACME-701", "ACME-702"):
        results = by_name(run, control)
        assert results["hostile"].outcome.value == "error", results["hostile"]
        assert "matches: the regular expression" in results["hostile"].reason
    assert by_name(run, "ACME-702")["plain"].outcome.value == "passed"
    assert by_name(run, "ACME-701")["plain"].outcome.value == "failed"  # "myacr..." is not (a|aa)+


def test_a_catastrophic_control_param_from_the_command_line_is_an_error_with_every_output(tmp_path: Path) -> None:
    """The real bound (one second) through the CLI: the scan ends, the control is an error naming the
    parameter, every report is written, and the value is quoted nowhere."""
    (tmp_path / "p.yaml").write_text(pod("hostile", {"X": EVIL_TEXT + CANARY}) + "---\n" +
                                     pod("leaky", {"PASSWORD": CANARY}))
    out = tmp_path / "out"
    proc = subprocess.run([EXE, "scan", "--k8s", str(tmp_path / "p.yaml"), "--controls", "AKS-123", "-p",
                           "no:cacheprovider", "--control-param", f"AKS-123.sensitiveValues={json.dumps([EVIL])}",
                           "--results-json", str(out / "r.json"), "--csv", str(out / "r.csv"),
                           "--sarif", str(out / "r.sarif"), "--audit-report", str(out / "r.html"),
                           "--junitxml", str(out / "j.xml")], capture_output=True, timeout=120)
    terminal = (proc.stdout + proc.stderr).decode(errors="replace")
    assert proc.returncode == 2, terminal[-2000:]  # an error result
    assert "Traceback" not in terminal and CANARY not in terminal
    results = {r["target"]["name"].rpartition("/")[2]: r for r in json.loads((out / "r.json").read_text())["results"]}
    assert results["hostile"]["outcome"] == "error" and "parameter sensitiveValues" in results["hostile"]["reason"]
    assert results["leaky"]["outcome"] == "failed"
    for report in ("r.json", "r.csv", "r.sarif", "r.html", "j.xml"):
        assert CANARY not in (out / report).read_text(encoding="utf-8"), report


# -- a byte order mark opening a later document of a stream ------------------------------------------------
# kubectl splits a stream at '---' lines and decodes each document on its own (go-yaml drops a BOM at the start of
# what it decodes), so a stream concatenated from files saved with BOMs applies whole; libyaml counted the BOM as a
# column and the document broke at its second line, taking every other object of the file with it.

@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_a_bom_opening_a_later_document_is_read_as_kubectl_reads_it(tmp_path: Path, newline: str) -> None:
    first, second = pod("first", {"MODE": "a"}), pod("second", {"PASSWORD": "hunter2hunter2"})
    text = "\ufeff" + first + "--- # the second file\n\ufeff" + second + "---\n\ufeff" + pod("third", {})
    (tmp_path / "p.yaml").write_bytes(text.replace("\n", newline).encode("utf-8"))
    run = run_scan(ScanOptions(inputs=[K8sOptions(paths=[str(tmp_path / "p.yaml")])], controls=["AKS-123"]))
    assert not run.diagnostics, run.diagnostics
    assert {k: r.outcome.value for k, r in by_name(run, "AKS-123").items()} == {
        "first": "passed", "second": "failed", "third": "passed"}


def test_a_bom_inside_a_document_is_still_its_text_or_an_error() -> None:
    from aks_compliance.errors import InputError
    from aks_compliance.k8s.manifests import parse_yaml_stream
    [(_, data, _)] = parse_yaml_stream('a: "x\n\ufeffy"\n', "f")[0]
    assert data == {"a": "x \ufeffy"}
    with pytest.raises(InputError, match=r"f:2:\d+: invalid YAML"):
        parse_yaml_stream("a: 1\n\ufeffb: 2\nc: 3\n", "f")


# -- functions that read more than they return are charged what they read ----------------------------------
# The budget charged what a function built; equals, contains, indexOf, uniqueString ... read their whole
# arguments and return a boolean, a number or 13 characters, so equals of a shared million-node tree in a map of
# 10,000 ran for hours (uniqueString of a megabyte 3,000 times: half a minute, now a few seconds).

def _template(variables: dict[str, str]) -> dict:
    return {"$schema": SCHEMA, "contentVersion": "1.0.0.0", "variables": variables, "resources": [
        {"type": MC, "apiVersion": "2024-05-01", "name": "aks-x", "location": "westeurope",
         "properties": {"dnsPrefix": "[string(length(variables('l')))]", "disableLocalAccounts": True}}]}


def _ten(name: str) -> str:
    return "[createArray(" + ", ".join([f"variables('{name}')"] * 10) + ")]"


READERS = {
    "equals": "equals(variables('c'), variables('d'))",
    "contains": "contains(variables('c'), variables('d'))",
    "indexOf": "indexOf(variables('c'), variables('d'))",
    "intersection": "length(intersection(variables('c'), variables('d')))",
}


@pytest.mark.parametrize("fn", sorted(READERS))
def test_a_function_reading_a_large_value_in_a_loop_is_stopped_by_the_budget(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fn: str) -> None:
    from aks_compliance.arm import functions
    work = [0]  # what the functions read, counted where they read it: a bound the test cannot outlive

    def counted(name: str, real: Any, size: Any) -> Any:
        def wrapper(*args: Any) -> Any:
            work[0] += sum(size(a) for a in args)
            assert work[0] < 20_000_000, f"{name} read {work[0]:,} units and was not stopped"
            return real(*args)
        monkeypatch.setattr(functions, name, wrapper)

    counted("arm_equals", functions.arm_equals, lambda a: 1)
    variables = {"a": "[range(0, 10000)]", "b": _ten("a"), "c": _ten("b"), "a2": "[range(0, 10000)]",
                 "d": "[createArray(variables('a2'))]",
                 "l": f"[map(range(0, 10000), lambda('i', {READERS[fn]}))]"}
    (tmp_path / "t.json").write_text(json.dumps(_template(variables)))
    (tmp_path / "good.json").write_text(json.dumps(_template({"l": "[createArray(1)]"})).replace("aks-x", "aks-good"))
    run = scan(tmp_path, controls=["AKS-002"])
    errors = [str(d) for d in run.diagnostics]
    assert any("work units" in e and "t.json" in e for e in errors), errors
    assert [r.outcome.value for r in run.results if r.target.name == "aks-good"] == ["passed"]
