"""Faults of the run itself: an output that cannot be written, a crash of the scan or of a writer, SIGTERM
while writing. Each output is written on its own; a bad output path is a usage error (4), a crash of ours
an internal error (3) from pytest and from 'scan' alike, never "a control failed" (1); temporaries never
stay behind; every output of one run carries the run's id."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from .conftest import FIXTURES, ROOT, scan_after

EXAMPLES = str(FIXTURES / "examples")
SUITE = str(ROOT / "tests_compliance")


def outputs(out: Path) -> dict[str, Path]:
    return {"json": out / "r.json", "html": out / "r.html", "sarif": out / "r.sarif", "csv": out / "r.csv"}


def args(out: dict[str, Path]) -> list[str]:
    return ["--results-json", str(out["json"]), "--audit-report", str(out["html"]), "--sarif", str(out["sarif"]),
            "--csv", str(out["csv"])]


def run_python(code: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_an_output_path_that_is_a_directory_is_named_and_the_others_are_written(tmp_path: Path) -> None:
    out = outputs(tmp_path)
    out["html"].mkdir()  # the audit report's path is a directory
    proc = subprocess.run([sys.executable, "-m", "aks_compliance", "scan", "--arm", EXAMPLES, *args(out),
                           "--sarif", "/proc/version/not-here.sarif"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 4, proc.stdout[-1500:] + proc.stderr[-1500:]
    assert "audit report NOT written" in proc.stdout and "SARIF NOT written" in proc.stdout
    assert out["json"].is_file() and out["csv"].is_file()
    assert "Traceback" not in proc.stdout + proc.stderr


def test_a_crash_of_the_scan_exits_3_from_scan_and_from_pytest(tmp_path: Path) -> None:
    boom = ("import aks_compliance.scan as s\n"
            "def crash(options): raise RuntimeError('boom in the engine')\n"
            "s._run_scan = crash\n")
    scan = scan_after(boom, ["--arm", EXAMPLES], tmp_path)
    assert scan.returncode == 3, scan.stdout[-2000:] + scan.stderr[-2000:]
    assert "internal error" in scan.stdout and "boom in the engine" in scan.stdout
    direct = run_python(boom + f"import sys, pytest; sys.exit(pytest.main([{SUITE!r}, '-p', 'no:cacheprovider', "
                                f"'--arm', {EXAMPLES!r}]))", tmp_path)
    assert direct.returncode == 3, direct.stdout[-2000:] + direct.stderr[-2000:]


def test_a_crash_of_one_writer_exits_3_and_the_others_are_written(tmp_path: Path) -> None:
    out = outputs(tmp_path / "out")
    boom = ("import aks_compliance.report.html as h\n"
            "def crash(path, doc): raise TypeError('boom in the report')\n"
            "h.write_report = crash\n")
    proc = scan_after(boom, ["--arm", EXAMPLES, *args(out)], tmp_path)
    assert proc.returncode == 3, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "audit report NOT written" in proc.stdout and "boom in the report" in proc.stdout
    assert out["json"].is_file() and out["sarif"].is_file() and out["csv"].is_file() and not out["html"].exists()


def test_sigterm_while_writing_leaves_no_temporary_files(tmp_path: Path) -> None:
    out = outputs(tmp_path / "out")
    # the signal arrives while the audit report's temporary file is open and half written
    term = ("import os, signal, aks_compliance.report.html as h\n"
            "from aks_compliance.atomic import atomic_write\n"
            "def slow(path, doc):\n"
            "    with atomic_write(path) as fh:\n"
            "        fh.write('<html>half')\n"
            "        os.kill(os.getpid(), signal.SIGTERM)\n"
            "        fh.write('never')\n"
            "h.write_report = slow\n")
    proc = scan_after(term, ["--arm", EXAMPLES, *args(out)], tmp_path)
    # an interrupted run (3), never a traceback: the signal came where pytest does not catch it
    assert proc.returncode == 3, proc.stdout[-2000:] + proc.stderr[-2000:]
    leftovers = [p.name for p in (tmp_path / "out").iterdir() if p.name.endswith(".tmp")]
    assert not leftovers, leftovers
    assert not out["html"].exists()
    # said in words, with what was and was not written; no traceback (it came out of pytest.main)
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr[-3000:]
    assert "audit report NOT written" in proc.stdout and "the run was interrupted" in proc.stdout
    assert out["json"].is_file()  # written before the signal, whole


def test_sigterm_while_scanning_stops_at_once_and_writes_nothing(tmp_path: Path) -> None:
    """Interrupted mid-scan, the run neither scanned again to write its outputs (it did: a second whole scan
    after Ctrl-C) nor rendered the interrupt's traceback with the scan's frames' arguments (pytest does so in
    full; a generated dataclass repr of the run walked every target's scope: 24 GB on 10,000 pods)."""
    out = outputs(tmp_path / "out")
    count = tmp_path / "evaluated.txt"
    term = ("import atexit, os, signal, aks_compliance.engine as e\n"
            "calls = [0]\n"
            f"atexit.register(lambda: open({str(count)!r}, 'w').write(str(calls[0])))\n"
            "orig = e.Evaluation.evaluate\n"
            "def evaluate(self, target):\n"
            "    calls[0] += 1\n"
            "    if calls[0] == 3:\n"
            "        os.kill(os.getpid(), signal.SIGTERM)\n"
            "    return orig(self, target)\n"
            "e.Evaluation.evaluate = evaluate\n")
    proc = scan_after(term, ["--arm", EXAMPLES, *args(out)], tmp_path)
    assert proc.returncode == 3, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert count.read_text() == "3"  # stopped at the third target, and no second scan for the outputs
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())
    assert "terminated (SIGTERM) while scanning: nothing was judged and no output was written" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


def test_the_runs_objects_have_short_reprs_whatever_their_size(tmp_path: Path) -> None:
    """Tracebacks (pytest's, with every frame's arguments) and debuggers show reprs: bounded by construction."""
    from aks_compliance.k8s.snapshot import write_snapshot
    from aks_compliance.k8s.source import K8sOptions
    from aks_compliance.scan import ScanOptions, prepare_scan, run_scan

    pods = [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"p{i}", "namespace": "shop"},
             "spec": {"containers": [{"name": "c", "image": "x" * 1000}]}} for i in range(300)]
    write_snapshot(tmp_path / "s.json.gz", {"scope": "big", "lists": {"Pod": {"status": "complete"}}, "gaps": []}, pods)
    options = ScanOptions(inputs=[K8sOptions(paths=[str(tmp_path / "s.json.gz")])])
    prepared = prepare_scan(options)
    run = run_scan(options)
    target = prepared.targets[0]
    shown = [prepared, run, run.ledger, target, target.context["scope"], target.context["object"],
             prepared.loaded[0][1]]
    assert all(len(repr(x)) < 200 for x in shown), [repr(x)[:300] for x in shown]
    scope = target.context["scope"]
    assert repr(scope) == f"K8sScope('big', snapshot, {len(scope.objects)} objects)" and len(scope.objects) >= 300


def test_every_output_of_a_run_carries_its_id(tmp_path: Path) -> None:
    out = outputs(tmp_path)
    junit = tmp_path / "j.xml"
    proc = subprocess.run([sys.executable, "-m", "aks_compliance", "scan", "--arm", EXAMPLES, *args(out),
                           "--junitxml", str(junit)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stdout[-1500:] + proc.stderr[-1500:]
    run_id = json.loads(out["json"].read_text())["run"]["id"]
    assert len(run_id) == 36
    assert run_id in out["html"].read_text()
    assert json.loads(out["sarif"].read_text())["runs"][0]["automationDetails"]["guid"] == run_id
    rows = list(csv.DictReader(out["csv"].open(newline="")))
    assert rows and {r["run_id"] for r in rows} == {run_id}
    props = {p.get("name"): p.get("value") for p in ET.parse(junit).getroot().iter("property")}
    assert props["aks_compliance_run_id"] == run_id
    assert f"run id {run_id}" in proc.stdout
    # a second run has another id
    again = subprocess.run([sys.executable, "-m", "aks_compliance", "scan", "--arm", EXAMPLES, "--results-json",
                            str(tmp_path / "second.json")], capture_output=True, text=True, timeout=300)
    assert json.loads((tmp_path / "second.json").read_text())["run"]["id"] != run_id, again.stderr


def test_an_error_result_exits_2_whether_items_are_per_result_or_per_target(tmp_path: Path) -> None:
    """Large runs report an item per target (--aksc-items auto): an error among a target's results (here one
    control's rule raising on the pod, beside its failed controls) was hidden behind the target's "failed",
    and the scan exited 1 instead of 2."""
    (tmp_path / "pods.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: good, namespace: shop}\n"
        "spec: {containers: [{name: c, image: nginx:1.27, securityContext: {privileged: true}}]}\n")
    boom = ("import aks_compliance.k8s.rules as r\n"
            "orig = r.KubeRule.evaluate\n"
            "def evaluate(self, target, params):\n"
            "    if 'readOnlyRootFilesystem' in str(self.describe_checks()): raise RuntimeError('boom')\n"
            "    return orig(self, target, params)\n"
            "r.KubeRule.evaluate = evaluate\n")
    codes = {}
    for mode in ("result", "target"):
        proc = scan_after(boom, ["--k8s", "pods.yaml", "--aksc-items", mode, "--results-json", "r.json"], tmp_path)
        outcomes = {r["outcome"] for r in json.loads((tmp_path / "r.json").read_text())["results"]}
        assert {"error", "failed"} <= outcomes, (outcomes, proc.stdout[-2000:])
        codes[mode] = proc.returncode
        if mode == "target":  # the target's item is an error that names the control, as per-result items are
            assert "1 error" in proc.stdout.splitlines()[-1], proc.stdout[-1500:]
            assert "controls could not be evaluated (error) and " in proc.stdout and ": ERROR: " in proc.stdout
    assert codes == {"result": 2, "target": 2}, codes


def test_a_target_item_is_never_passed_over_an_error() -> None:
    from aks_compliance.items import target_outcome
    from aks_compliance.results import Outcome, Result, TargetRef

    ref = TargetRef(type="Pod", name="shop/p")
    results = [Result("AKS-100", ref, Outcome.PASSED, ""), Result("AKS-101", ref, Outcome.ERROR, "boom"),
               Result("AKS-102", ref, Outcome.UNKNOWN, "?")]
    assert target_outcome(results)[0] == "error"
    assert target_outcome([results[0], results[2]])[0] == "skipped"


def test_outputs_of_pytests_own_writers_that_cannot_be_written_are_named_and_ours_are_written(tmp_path: Path) -> None:
    """JUnit XML given a directory (pytest refuses it while parsing its options), JUnit XML in a place nothing
    can be written (pytest's writer raised at session end, after or instead of ours: a traceback, exit 1) and
    --generate-policies given a file: each is named, the run exits 4, and the other outputs are written."""
    out = outputs(tmp_path / "out")
    (tmp_path / "junit-dir").mkdir()
    (tmp_path / "policies").write_text("a file where a directory belongs")
    for junit in (str(tmp_path / "junit-dir"), "/proc/self/r.xml"):
        proc = subprocess.run([sys.executable, "-m", "aks_compliance", "scan", "--arm", EXAMPLES, *args(out),
                               "--junitxml", junit, "--generate-policies", str(tmp_path / "policies")],
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 4, proc.stdout[-1500:] + proc.stderr[-1500:]
        assert f"JUnit XML NOT written: {junit}" in proc.stdout, proc.stdout[-1500:]
        assert "Azure Policy definitions NOT written" in proc.stdout
        assert "Traceback" not in proc.stdout + proc.stderr
        assert all(p.is_file() for p in out.values())
        for p in out.values():
            p.unlink()
