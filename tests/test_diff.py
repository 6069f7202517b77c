"""`aks-compliance diff OLD NEW`: new failures, fixed ones, changed unknowns; baseline exit status."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

from aks_compliance.report.diff import diff_documents, format_text

from .conftest import FIXTURES, scan

EXE = str(Path(sys.executable).with_name("aks-compliance"))


def res(control: str, name: str, outcome: str, file: str = "a.json", reason: str = "", rid: str | None = None) -> dict:
    return {"control_id": control, "outcome": outcome, "reason": reason, "evidence": [],
            "target": {"type": "Microsoft.ContainerService/managedClusters", "name": name, "id": rid,
                       "cluster": name, "namespace": None, "source": {"file": file, "pointer": "", "line": 3}}}


def doc(*results: dict) -> dict:
    return {"schema": "aks-compliance/results/v1", "tool": {"name": "aks-compliance", "version": "t"},
            "started": "2026-01-01T00:00:00+00:00", "inputs": [],
            "controls": [{"id": "AKS-001", "title": "t", "severity": "high", "mappings": {}},
                         {"id": "AKS-002", "title": "t", "severity": "low", "mappings": {}}],
            "results": list(results)}


def keys(rs) -> list[tuple]:
    return [(r["control_id"], r["target"]["name"]) for r in rs]


def test_categories() -> None:
    old = doc(res("AKS-001", "stays", "failed"), res("AKS-001", "fixed", "failed"), res("AKS-001", "gone", "failed"),
              res("AKS-001", "breaks", "passed"), res("AKS-002", "u1", "unknown", reason="param a"),
              res("AKS-002", "u2", "unknown", reason="param b"), res("AKS-002", "u3", "failed"),
              res("AKS-001", "waive", "failed"))
    new = doc(res("AKS-001", "stays", "failed"), res("AKS-001", "fixed", "passed"), res("AKS-001", "breaks", "failed"),
              res("AKS-001", "brand-new", "failed"), res("AKS-002", "u1", "unknown", reason="param a2"),
              res("AKS-002", "u2", "passed"), res("AKS-002", "u3", "unknown", reason="now unknown"),
              res("AKS-001", "waive", "waived"), res(None, "broken.json", "error", reason="invalid JSON"))
    d = diff_documents(old, new)
    assert keys(d.new_failures) == [("AKS-001", "brand-new"), ("AKS-001", "breaks")]
    assert keys(d.fixed) == [("AKS-001", "fixed")]
    assert keys(d.still_failing) == [("AKS-001", "stays")]
    assert keys(d.gone) == [("AKS-001", "gone")]
    assert keys(d.new_unknowns) == [("AKS-002", "u3")]
    assert [(o["reason"], n["reason"]) for o, n in d.changed_unknowns] == [("param a", "param a2")]
    assert [n["target"]["name"] for _, n in d.resolved_unknowns] == ["u2"]
    assert keys(d.newly_waived) == [("AKS-001", "waive")]
    assert keys(d.new_errors) == [(None, "broken.json")]
    assert keys(d.failing("high")) == keys(d.new_failures)
    assert d.failing("critical") == []
    text = format_text(d, "high")
    assert text.startswith("new failures: 2  fixed: 1  still failing: 1  gone: 1")
    assert "changed unknowns (1):" in text and "was: param a" in text and "now: param a2" in text
    assert text.endswith("2 new failure(s) at or above 'high': the build fails")


def test_a_moved_file_does_not_make_findings_new_but_namesakes_stay_apart() -> None:
    # the same resource moved to another file: matched (not new, not gone)
    d = diff_documents(doc(res("AKS-001", "aks", "failed", file="old/t.json")),
                       doc(res("AKS-001", "aks", "failed", file="new/t.json")))
    assert not d.new_failures and not d.gone and len(d.still_failing) == 1
    # two files each declaring "aks": a new failing one next to an old failing one is still new
    d = diff_documents(doc(res("AKS-001", "aks", "failed", file="a.json")),
                       doc(res("AKS-001", "aks", "failed", file="a.json"), res("AKS-001", "aks", "failed", file="b.json")))
    assert keys(d.new_failures) == [("AKS-001", "aks")] and d.new_failures[0]["target"]["source"]["file"] == "b.json"
    # resource ids identify across files and name case
    d = diff_documents(doc(res("AKS-001", "AKS", "failed", file="x.json", rid="/subscriptions/s/r/AKS")),
                       doc(res("AKS-001", "aks", "passed", file="y.json", rid="/subscriptions/s/r/aks")))
    assert keys(d.fixed) == [("AKS-001", "aks")]


def test_cli_exit_status_for_baselines(tmp_path: Path) -> None:
    baseline = scan(FIXTURES / "examples", controls=["AKS-002", "AKS-015"]).document()
    improved = copy.deepcopy(baseline)
    for r in improved["results"]:
        r["outcome"] = "passed"
    worse = copy.deepcopy(baseline)
    newly = next(r for r in worse["results"] if r["outcome"] == "passed" and r["control_id"] == "AKS-015")
    newly["outcome"] = "failed"
    paths = {}
    for name, d in (("base", baseline), ("improved", improved), ("worse", worse)):
        paths[name] = tmp_path / f"{name}.json"
        paths[name].write_text(json.dumps(d))

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([EXE, "diff", *map(str, args)], capture_output=True, text=True)

    same = run(paths["base"], paths["base"])
    assert same.returncode == 0 and same.stdout.startswith("new failures: 0")
    assert run(paths["base"], paths["improved"]).returncode == 0
    out = tmp_path / "d" / "diff.json"
    worse_run = run(paths["base"], paths["worse"], "--json", out)
    assert worse_run.returncode == 1 and "new failures (1):" in worse_run.stdout and "AKS-015 [low]" in worse_run.stdout
    assert json.loads(out.read_text())["new_failures"][0]["control_id"] == "AKS-015"
    assert run(paths["base"], paths["worse"], "--fail-on", "high").returncode == 0  # AKS-015 is low
    assert run(paths["base"], tmp_path / "missing.json").returncode == 4
    assert run(paths["base"]).returncode == 4
