"""kube-bench's JSON output as an input (--kube-bench): its shapes, bad input, node naming, the ledger.

Fixtures of kube-bench's documented shape (check/controls.go, check/check.go; cmd/testdata/result.json) are
written here and in fixtures/k8s/AKS-176..181 and fixtures/node-pools/kube-bench.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path

import pytest

from aks_compliance.kubebench.checks import defect, mapped
from aks_compliance.kubebench.family import KubeBenchOptions, pool_from_node_name
from aks_compliance.kubebench.reader import read_run
from aks_compliance.scan import ScanOptions, run_scan

from .conftest import FIXTURES

BATCH = FIXTURES / "node-pools" / "kube-bench" / "aks-batch-31415926-vmss000000.json"
DOC = json.loads(BATCH.read_text(encoding="utf-8"))
NODE_CONTROLS = [f"AKS-{n}" for n in range(176, 189)]


def scan(*paths: str, cluster: str | None = None, controls: list[str] | None = NODE_CONTROLS):
    return run_scan(ScanOptions(inputs=[KubeBenchOptions(paths=list(paths), cluster=cluster)], controls=controls))


def outcomes(run) -> dict[str, str]:
    return {r.control_id: r.outcome.value for r in run.results if r.control_id}


def test_the_three_documented_shapes_read_alike(tmp_path: Path) -> None:
    current = outcomes(scan(str(BATCH)))
    bare = tmp_path / "aks-batch-31415926-vmss000000.json"
    bare.write_text(json.dumps(DOC["Controls"], indent=1))  # older releases: a list of Controls
    assert outcomes(scan(str(bare))) == current
    one = tmp_path / "one" / "aks-batch-31415926-vmss000000.json"
    one.parent.mkdir()
    one.write_text(json.dumps(DOC["Controls"][0], indent=1))  # one Controls object (--targets node)
    assert outcomes(scan(str(one))) == current
    assert current["AKS-183"] == "failed" and current["AKS-176"] == "passed"
    # evidence cites the check's line in each layout
    for path in (BATCH, bare, one):
        r = next(r for r in scan(str(path)).results if r.control_id == "AKS-183")
        lines = path.read_text(encoding="utf-8").splitlines()
        assert '"3.2.4"' in "".join(lines[r.evidence[0].line - 2:r.evidence[0].line + 1]) or \
            '"FAIL"' in lines[r.evidence[0].line - 1], (path.name, r.evidence[0].line)


def test_the_node_is_named_by_the_argument_or_the_file(tmp_path: Path) -> None:
    named = scan(f"aks-spot-99999999-vmss00000a={BATCH}")
    assert {r.target.name for r in named.results} == {"aks-spot-99999999-vmss00000a"}
    assert {r.target.pool for r in named.results} == {"spot"}
    assert {r.key.split("-", 2)[2] for r in named.results} == {"kube-bench/Node/aks-spot-99999999-vmss00000a"}
    directory = scan(str(BATCH.parent), cluster="aks-prod-weu")
    assert {r.target.name for r in directory.results} == {"aks-batch-31415926-vmss000000", "aks-apps-27182818-vmss000001"}
    assert all(r.key.endswith("(kube-bench)") and r.target.cluster == "aks-prod-weu" for r in directory.results)
    assert pool_from_node_name("aks-nodepool1-12345678-vmss000000") == "nodepool1"
    assert pool_from_node_name("worker-1") is None


def test_a_broken_check_is_an_error_at_its_line_and_costs_nothing_else(tmp_path: Path) -> None:
    doc = copy.deepcopy(DOC)
    doc["Controls"][0]["tests"][1]["results"][3]["status"] = "GREEN"  # 3.2.4
    del doc["Controls"][0]["tests"][0]["results"][0]["test_number"]  # 3.1.1
    f = tmp_path / "aks-batch-31415926-vmss000000.json"
    f.write_text(json.dumps(doc, indent=1))
    run = scan(str(f))
    errors = [d for d in run.diagnostics if d.severity == "error"]
    assert len(errors) == 2 and all(d.file == str(f) and d.line for d in errors)
    assert "'GREEN'" in errors[1].message or "'GREEN'" in errors[0].message
    got = outcomes(run)
    assert got["AKS-183"] == "unknown" and got["AKS-176"] == "unknown"  # the broken checks: not read, never passed
    assert got["AKS-186"] == "failed" and got["AKS-177"] == "passed"  # the others are still read
    assert sum(r.control_id is None for r in run.results) == 2  # the errors are results of their own


@pytest.mark.parametrize("content,message", [
    ("{not json", "invalid JSON"),
    ('{"apiVersion": "v1", "kind": "Pod"}', "not kube-bench JSON output"),
    ('[1, 2]', "not an object"),
])
def test_a_file_that_is_not_kube_bench_output_is_an_input_error(tmp_path: Path, content: str, message: str) -> None:
    f = tmp_path / "node-a.json"
    f.write_text(content)
    run = scan(str(f), str(BATCH))
    errors = [d for d in run.diagnostics if d.severity == "error"]
    assert errors and message in errors[0].message and errors[0].file == str(f)
    assert outcomes(run)["AKS-183"] == "failed"  # the good file is still read


def test_missing_paths_and_a_named_directory_are_usage_errors(tmp_path: Path) -> None:
    run = scan(str(tmp_path / "absent.json"), f"node-a={BATCH.parent}")
    messages = [d.message for d in run.diagnostics]
    assert any("does not exist" in m for m in messages) and any("NODE=FILE" in m for m in messages)


def test_another_benchmarks_numbering_is_never_read_as_cis_aks(tmp_path: Path) -> None:
    doc = copy.deepcopy(DOC)
    for ctl in doc["Controls"]:
        ctl["version"] = "cis-1.23"  # the generic benchmark: its 3.x are not CIS AKS's 3.x
    f = tmp_path / "aks-batch-31415926-vmss000000.json"
    f.write_text(json.dumps(doc))
    run = scan(str(f))
    assert set(outcomes(run).values()) == {"unknown"}
    assert all("numbers its checks differently" in r.reason for r in run.results if r.control_id)
    ledger = [e for e in run.ledger.entries if e.type == "kube-bench/check"]
    assert ledger and all(e.status == "not_evaluated" and "cis-1.23" in e.reason for e in ledger)


def test_warn_and_info_are_unknown_with_kube_benchs_reason() -> None:
    run = scan(str(FIXTURES / "k8s" / "AKS-180" / "unknown-kube-bench-warn.json"), controls=["AKS-180"])
    (r,) = run.results
    assert r.outcome.value == "unknown" and "could not decide" in r.reason and "exit status 1" in r.reason


def test_known_defects_are_recognised_from_the_check_itself() -> None:
    run = read_run(BATCH, "n")
    by_id = {c.id: c for c in run.checks}
    assert "instead of azure.json" in defect(by_id["3.1.3"]) and "/etc/default/kubeletconfig.json" in defect(by_id["3.1.3"])
    assert "--anonymous-auth flag instead of --authorization-mode" in defect(by_id["3.2.2"])
    assert defect(by_id["3.2.4"]) is None and mapped(by_id["3.2.4"]) is None
    # a corrected benchmark file is read as a verdict again
    fixed = dataclasses.replace(by_id["3.1.3"], audit="/bin/sh -c 'stat -c permissions=%a /etc/kubernetes/azure.json' ")
    assert defect(fixed) is None
    from_config = dataclasses.replace(by_id["3.2.2"], expected_result="'{.authorization.mode}' does not have 'AlwaysAllow'")
    assert defect(from_config) is None


def test_secrets_in_kube_benchs_audit_output_never_reach_the_results(tmp_path: Path) -> None:
    doc = copy.deepcopy(DOC)
    check = doc["Controls"][0]["tests"][1]["results"][0]  # 3.2.1
    check["actual_value"] = ("kubelet --bootstrap-token=7f3a9c.deadbeefcafe0042 --client-secret=hunter2-secret "
                             "--kubeconfig=/var/lib/kubelet/kubeconfig https://user:p4ssw0rd@registry.example/x")
    f = tmp_path / "aks-batch-31415926-vmss000000.json"
    f.write_text(json.dumps(doc))
    text = json.dumps(scan(str(f)).document())
    for secret in ("deadbeefcafe0042", "hunter2-secret", "p4ssw0rd"):
        assert secret not in text
    assert "--bootstrap-token=<redacted>" in text
