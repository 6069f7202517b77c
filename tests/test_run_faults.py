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

from .conftest import FIXTURES, ROOT

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
    scan = run_python(boom + f"import sys; from aks_compliance.cli import main; sys.exit(main(['scan', '--arm', {EXAMPLES!r}]))",
                      tmp_path)
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
    proc = run_python(boom + f"import sys; from aks_compliance.cli import main; "
                             f"sys.exit(main(['scan', '--arm', {EXAMPLES!r}, *{args(out)!r}]))", tmp_path)
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
    proc = run_python(term + f"import sys; from aks_compliance.cli import main; "
                             f"sys.exit(main(['scan', '--arm', {EXAMPLES!r}, *{args(out)!r}]))", tmp_path)
    # an interrupted run (3), never a traceback: the signal came where pytest does not catch it
    assert proc.returncode == 3, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr[-2000:]
    assert "audit report NOT written" in proc.stdout and "interrupted" in proc.stdout
    leftovers = [p.name for p in (tmp_path / "out").iterdir() if p.name.endswith(".tmp")]
    assert not leftovers, leftovers
    assert not out["html"].exists()


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
