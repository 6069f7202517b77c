"""Hostile input, round eight (issue 19): variations rounds two to seven did not cover.

* integers ARM cannot hold: ``range(9223372036854775800, 100)`` built integers beyond 64 bits and the template
  passed; ARM's ``range`` takes a 32-bit start and refuses a start + count over 2147483647 (the ARM template
  function reference), so it is now an error item naming file, line and expression;
* a copy loop whose name expression fails for some instances (``copyIndex(9223372036854775807)`` overflows from
  the second instance on) gave an error item and two instances judged *passed*: ARM rejects the deployment, so
  every control of such an instance is an error naming the expression;
* inputs that are not regular files: a FIFO or a link to ``/dev/zero`` inside a ``--controls-path`` directory
  or a ``--kube-bench`` directory was skipped in silence (a control file or a node's results lost without a
  word), ``--controls-path FIFO`` was "no such file or directory", and a Python control module that is a FIFO
  would have been imported (blocking); each is now refused naming the file and what it is;
* ``cidrSubnet('10.0.0.0/8', 1099511627776, 0)`` computed ``2 ** (prefix - 8)`` before any bound: an integer of
  2^40 bits (gigabytes, and minutes); a prefix of 33 gave a Python message ("unsupported operand type(s)"). A
  prefix longer than the address is now refused first, in ARM's terms;
* ``split`` at an array of delimiters is a regular-expression alternation tried delimiter by delimiter at every
  position: a megabyte split at 10,000 delimiters sharing a prefix cost 25 s of one expression, uncharged. It is
  charged (text length x delimiters) before the work;
* ``aks-compliance merge`` of a shard whose ``started`` or a waiver's ``expires`` is a string but no date
  (``2027-02-30``) raised ValueError with a traceback and exit 1; it is exit 4 naming the shard and the field.

Every test is bounded by construction: small inputs.
"""

from __future__ import annotations

import copy
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from aks_compliance.arm.inputs import ArmOptions
from aks_compliance.controls.loading import load_catalog
from aks_compliance.controls.model import CatalogError
from aks_compliance.kubebench.family import KubeBenchOptions
from aks_compliance.scan import ScanOptions, prepare_scan, run_scan
from aks_compliance.shards import MergeError, ShardedScan, merge_shards

from .conftest import FIXTURES, scan

SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
MC = "Microsoft.ContainerService/managedClusters"


def cluster(name: str, **extra: Any) -> dict[str, Any]:
    return {"type": MC, "apiVersion": "2024-05-01", "name": name, "location": "westeurope",
            "properties": {"dnsPrefix": "x", "disableLocalAccounts": True}, **extra}


def template(resources: list[dict[str, Any]], variables: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"$schema": SCHEMA, "contentVersion": "1.0.0.0", "variables": variables or {}, "resources": resources}


def write(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(json.dumps(doc, indent=1))
    return path


# -- range: ARM's bounds, checked before the array is built --------------------------------------------------

def outcome_of_target(run, name: str):
    return next(r for r in run.results if r.control_id and r.target.name == name)


@pytest.mark.parametrize("start,count", [(9223372036854775800, 100), (2147483647, 1), (2147483600, 48),
                                         (-2147483649, 1), (-(2 ** 70), 3)])
def test_a_range_outside_arms_bounds_is_an_error_naming_the_expression(tmp_path: Path, start: int,
                                                                       count: int) -> None:
    bad = cluster("aks-bad")
    bad["properties"]["dnsPrefix"] = "[string(length(variables('r')))]"
    write(tmp_path / "t.json", template([bad], {"r": f"[range({start}, {count})]"}))
    write(tmp_path / "good.json", template([cluster("aks-good")]))
    run = scan(tmp_path, controls=["AKS-002"])
    errors = [d for d in run.diagnostics if d.severity == "error"]
    assert any("'range'" in str(e) and "2147483647" in str(e) and f"range({start}, {count})" in str(e)
               and e.file.endswith("t.json") and e.line for e in errors), [str(e) for e in errors]
    # ARM fails the deployment of a resource whose expression it cannot evaluate: the bad cluster is never
    # created, so its controls are errors naming the expression (arm-semantics-11; it passed before), the other
    # file's cluster is judged as usual
    assert {r.target.name: r.outcome.value for r in run.results if r.control_id} == {"aks-bad": "error",
                                                                                    "aks-good": "passed"}
    assert f"range({start}, {count})" in outcome_of_target(run, "aks-bad").reason


@pytest.mark.parametrize("start,count", [(2147483600, 47), (-2147483648, 3), (0, 10000)])
def test_a_range_inside_arms_bounds_is_built(tmp_path: Path, start: int, count: int) -> None:
    bad = cluster("aks-r")
    bad["properties"]["dnsPrefix"] = "[string(last(variables('r')))]"
    write(tmp_path / "t.json", template([bad], {"r": f"[range({start}, {count})]"}))
    run = scan(tmp_path / "t.json", controls=["AKS-002"])
    assert not run.diagnostics, [str(d) for d in run.diagnostics]


# -- an instance whose name ARM cannot evaluate is rejected, never passed ------------------------------------

NAME_FAILS = {
    "copyIndex overflow": "[concat('aks-', string(copyIndex(9223372036854775807)))]",
    "add overflow": "[concat('aks-', string(add(9223372036854775807, copyIndex())))]",
    "index out of range": "[concat('aks-', createArray('a')[copyIndex()])]",
    "division by zero": "[concat('aks-', string(div(1, max(0, sub(1, copyIndex())))))]",
}


@pytest.mark.parametrize("case", sorted(NAME_FAILS))
def test_copy_instances_whose_name_fails_are_errors_and_the_others_are_judged(tmp_path: Path, case: str) -> None:
    looped = cluster(NAME_FAILS[case], copy={"name": "c", "count": 3})
    write(tmp_path / "t.json", template([looped, cluster("aks-good")]))
    run = scan(tmp_path / "t.json", controls=["AKS-002"])
    outcomes = sorted((r.outcome.value, r.target.name.startswith("<name unresolved")) for r in run.results
                      if r.control_id)
    # one instance evaluates (its name is known and it is judged), two fail: errors naming the expression
    assert outcomes.count(("error", True)) == 2, outcomes
    assert ("passed", True) not in outcomes and ("unknown", True) not in outcomes
    assert [r.outcome.value for r in run.results if r.target.name == "aks-good"] == ["passed"]
    for r in run.results:
        if r.outcome.value == "error" and r.control_id:
            assert "name expression ARM cannot evaluate" in r.reason and "t.json:" in r.reason, r.reason
    assert any(d.severity == "error" and d.file.endswith("t.json") for d in run.diagnostics)


def test_a_child_of_a_parent_whose_name_fails_is_rejected_too(tmp_path: Path) -> None:
    pool = {"type": "agentPools", "apiVersion": "2024-05-01", "name": "pool1",
            "properties": {"mode": "User", "count": 1, "vmSize": "Standard_D4s_v5"}}
    parent = cluster("[concat('aks-', string(add(9223372036854775807, 1)))]", resources=[pool])
    write(tmp_path / "t.json", template([parent, cluster("aks-good")]))
    run = scan(tmp_path / "t.json")
    unresolved = [r for r in run.results if r.target.name.startswith("<name unresolved")]
    assert unresolved and {r.outcome.value for r in unresolved} == {"error"}, \
        sorted({(r.control_id, r.outcome.value) for r in unresolved})
    assert {r.outcome.value for r in run.results if r.target.name == "aks-good"} - {"error"}


def test_a_name_unknown_for_want_of_a_parameter_is_still_judged(tmp_path: Path) -> None:
    """Not an error: a parameter without a value is unknown offline, and the body is judged as before."""
    doc = template([cluster("[parameters('clusterName')]")])
    doc["parameters"] = {"clusterName": {"type": "string"}}
    write(tmp_path / "t.json", doc)
    run = scan(tmp_path / "t.json", controls=["AKS-002"])
    assert [r.outcome.value for r in run.results if r.control_id] == ["passed"], run.results


# -- what is not a regular file is refused by name, never skipped in silence nor read -----------------------

CONTROL_YAML = """controls:
  - id: ACME-801
    title: Every cluster carries a cost-center tag
    severity: low
    section: Acme
    rationale: Finance charges clusters by tag.
    remediation: Add the tag.
    resource_type: Microsoft.ContainerService/managedClusters
    rule: {field: "tags['costCenter']", exists: true}
"""


def _special(path: Path, kind: str) -> None:
    if kind == "fifo":
        os.mkfifo(path)
    else:
        os.symlink("/dev/zero", path)


@pytest.mark.parametrize("kind,words", [("fifo", r"named pipe \(FIFO\)"), ("devzero", "character device")])
@pytest.mark.parametrize("name", ["more.yaml", "more.py"])
def test_a_special_file_in_a_controls_directory_is_refused_by_name(tmp_path: Path, kind: str, words: str,
                                                                   name: str) -> None:
    (tmp_path / "controls").mkdir()
    (tmp_path / "controls" / "acme.yaml").write_text(CONTROL_YAML)
    _special(tmp_path / "controls" / name, kind)
    with pytest.raises(CatalogError, match=rf"{name}: a {words}, not a regular file"):
        load_catalog([str(tmp_path)], entry_points=False)


@pytest.mark.parametrize("kind,words", [("fifo", r"named pipe \(FIFO\)"), ("devzero", "character device")])
@pytest.mark.parametrize("name", ["controls", "controls.yaml", "controls.py"])
def test_a_special_file_given_as_controls_path_is_named_for_what_it_is(tmp_path: Path, kind: str, words: str,
                                                                       name: str) -> None:
    _special(tmp_path / name, kind)
    with pytest.raises(CatalogError, match=rf"{name}: a {words}, not a regular file"):
        load_catalog([str(tmp_path / name)], entry_points=False)


def test_a_special_file_in_a_kube_bench_directory_is_an_input_error_and_the_others_are_read(tmp_path: Path) -> None:
    import shutil
    shutil.copy(FIXTURES / "k8s" / "AKS-180" / "failed-kube-bench-anonymous-auth-true.json",
                tmp_path / "aks-nodepool1-12345678-vmss000000.json")
    _special(tmp_path / "aks-nodepool1-12345678-vmss000001.json", "fifo")
    _special(tmp_path / "aks-nodepool1-12345678-vmss000002.json", "devzero")
    run = run_scan(ScanOptions(inputs=[KubeBenchOptions(paths=[str(tmp_path)])]))
    errors = {Path(d.file).name: d.message for d in run.diagnostics if d.severity == "error"}
    assert "named pipe" in errors.get("aks-nodepool1-12345678-vmss000001.json", ""), errors
    assert "character device" in errors.get("aks-nodepool1-12345678-vmss000002.json", ""), errors
    assert any(r.outcome.value == "failed" for r in run.results if r.control_id), run.results  # the good node


def test_an_empty_kube_bench_directory_is_said(tmp_path: Path) -> None:
    run = run_scan(ScanOptions(inputs=[KubeBenchOptions(paths=[str(tmp_path)])]))
    assert any(d.severity == "warning" and "no NODE.json" in d.message for d in run.diagnostics), run.diagnostics


# -- merge: the dates it computes with are checked, not only their type ------------------------------------

def _shards(tmp_path: Path) -> list[dict[str, Any]]:
    (tmp_path / "waivers.yaml").write_text(
        "waivers:\n  - control: AKS-002\n    target: aks-*\n    justification: lab\n    approver: me\n"
        "    expires: 2027-01-31\n")
    write(tmp_path / "a.json", template([cluster("aks-a")]))
    write(tmp_path / "b.json", template([cluster("aks-b")]))
    options = ScanOptions(inputs=[ArmOptions(paths=[str(tmp_path / "a.json"), str(tmp_path / "b.json")])],
                          started="2026-11-02T09:00:00+00:00", run_id="r",
                          waivers_file=str(tmp_path / "waivers.yaml"))
    sharded = ShardedScan(prepare_scan(options), 2)
    return [json.loads(json.dumps(sharded.run(k, sharded.evaluate(k)).document())) for k in range(2)]


BAD_DATES = [
    (lambda d: d.__setitem__("started", "1999-99-99T00:00:00Z"), "started"),
    (lambda d: d.__setitem__("started", "\x1b[2J"), "started"),
    (lambda d: d["waivers"][0].__setitem__("expires", "2027-02-30"), "waivers[0].expires"),
    (lambda d: d["waivers"][0].__setitem__("expires", "soon"), "waivers[0].expires"),
]


@pytest.mark.parametrize("which", [0, 1])
@pytest.mark.parametrize("case", range(len(BAD_DATES)))
def test_merge_refuses_a_date_it_cannot_read_naming_the_field(tmp_path: Path, which: int, case: int) -> None:
    docs = _shards(tmp_path)
    merge_shards(copy.deepcopy(docs))  # the shards as written merge
    change, field = BAD_DATES[case]
    change(docs[which])
    with pytest.raises(MergeError, match=rf"{re.escape(field)} is .*, not an ISO 8601 date"):
        merge_shards(docs)


def test_merge_command_exits_4_on_a_bad_date(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from aks_compliance.shards import merge_command
    docs = _shards(tmp_path)
    docs[0]["attestations"] = []
    docs[1]["waivers"][0]["expires"] = "2027-13-01"
    for k, d in enumerate(docs):
        (tmp_path / f"s{k}.json").write_text(json.dumps(d))
    assert merge_command([str(tmp_path / "s0.json"), str(tmp_path / "s1.json"), "-o", str(tmp_path / "m.json")]) == 4
    assert "s1.json: waivers[0].expires is '2027-13-01'" in capsys.readouterr().err
    assert not (tmp_path / "m.json").exists()


# -- a message from our own internals is never the error text -----------------------------------------------

@pytest.mark.parametrize("cidr,prefix", [("10.0.0.0/8", 33), ("10.0.0.0/8", 10 ** 6), ("::/0", 129)])
def test_cidr_subnet_of_a_prefix_longer_than_the_address_is_an_error_in_arms_terms(tmp_path: Path, cidr: str,
                                                                                   prefix: int) -> None:
    bad = cluster("aks-bad")
    bad["properties"]["dnsPrefix"] = f"[cidrSubnet('{cidr}', {prefix}, 0)]"
    write(tmp_path / "t.json", template([bad]))
    run = scan(tmp_path / "t.json", controls=["AKS-002"])
    [error] = [str(d) for d in run.diagnostics if d.severity == "error"]
    assert f"new prefix /{prefix} is longer than an IPv" in error and "float" not in error, error


# -- split at many delimiters is charged before it runs -----------------------------------------------------

def test_a_split_at_many_delimiters_is_stopped_by_the_budget_and_the_rest_is_judged(tmp_path: Path) -> None:
    """Sized so the uncharged split costs about a second (it is refused before it runs once charged)."""
    bad = cluster("aks-bad")
    bad["properties"]["dnsPrefix"] = "[string(length(split(variables('big'), variables('delims'))))]"
    write(tmp_path / "t.json", template([bad], {
        "big": "[padLeft('', 200000, 'a')]",
        "delims": "[map(range(0, 2000), lambda('i', concat(padLeft('', 20, 'a'), string(lambdaVariables('i')))))]"}))
    ok = cluster("aks-ok")
    ok["properties"]["dnsPrefix"] = "[string(length(split('a,b;c d', createArray(',', ';', ' '))))]"
    write(tmp_path / "good.json", template([ok]))
    run = scan(tmp_path, controls=["AKS-002"])
    errors = [str(d) for d in run.diagnostics if d.severity == "error"]
    assert any("work units" in e and "t.json" in e and "split(" in e for e in errors), errors
    assert not any("good.json" in e for e in errors), errors
    assert {r.target.name: r.outcome.value for r in run.results if r.control_id} == {"aks-bad": "passed",
                                                                                    "aks-ok": "passed"}


# -- a byte order mark *before* a '---' line: kubectl does not split there ----------------------------------
# apimachinery's YAMLReader takes a line as a separator only when it starts with '---' (bytes.Index == 0): a
# line '\ufeff---' is not one, so the documents around it are one document to go-yaml, whose scanner skips the
# BOM at column 0 and then reads '---' at column 1 as a plain scalar where a key belongs ("did not find expected
# key"): kubectl refuses the stream there. The same here: an input error naming the file and line (the file's
# other objects are listed as not checked, as for any broken file), never a silent split into two objects.

def test_a_bom_before_a_separator_line_is_the_error_kubectl_gives_and_other_files_are_judged(tmp_path: Path) -> None:
    from aks_compliance.k8s.source import K8sOptions
    pod = ("apiVersion: v1\nkind: Pod\nmetadata: {{name: {}, namespace: shop}}\nspec:\n  containers:\n"
           "  - name: app\n    image: myacr.azurecr.io/app:1.0\n")
    (tmp_path / "a.yaml").write_text(pod.format("a") + "\ufeff---\n" + pod.format("b"), encoding="utf-8")
    (tmp_path / "good.yaml").write_text(pod.format("good"))
    run = run_scan(ScanOptions(inputs=[K8sOptions(paths=[str(tmp_path / "a.yaml"), str(tmp_path / "good.yaml")])],
                               controls=["AKS-100"]))
    [error] = [d for d in run.diagnostics if d.severity == "error"]
    assert error.file.endswith("a.yaml") and error.line == 8 and "invalid YAML" in error.message, str(error)
    assert {r.target.name: r.outcome.value for r in run.results if r.control_id} == {"shop/good": "passed"}
