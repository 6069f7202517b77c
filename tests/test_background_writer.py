"""The auditor report of a large run is written by a forked child while the other outputs are written
(report/background.py). The forked path must give the same report, and keep every promise of the inline
one: a crash of the writer is an internal error (3) naming the output, the others are still written, an
interrupt (in the child or in the parent while the child writes) leaves no temporary file and no process."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import pytest

from aks_compliance.atomic import atomic_write
from aks_compliance.jobs import can_fork
from aks_compliance.report.background import Background

from .conftest import FIXTURES, process_gone, scan_after

EXAMPLES = str(FIXTURES / "examples")
FORKED = "import aks_compliance.report.background as bg\nbg.FORK_MIN_RESULTS = 0\n"
INLINE = "import aks_compliance.report.background as bg\nbg.FORK_MIN_RESULTS = 10**12\n"

pytestmark = pytest.mark.skipif(not can_fork(), reason="the report is forked only where fork is Linux's")


def outputs(out: Path) -> list[str]:
    return ["--results-json", str(out / "r.json"), "--audit-report", str(out / "r.html"), "--sarif",
            str(out / "r.sarif"), "--csv", str(out / "r.csv")]


# --- the child itself ---------------------------------------------------------------------------------------

def test_a_child_writes_its_file_and_says_so(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"

    def write() -> None:
        with atomic_write(target) as fh:
            fh.write("written by pid %d" % os.getpid())

    child = Background(write)
    assert child.join() is None
    assert target.read_text().startswith("written by pid ") and target.read_text() != f"written by pid {os.getpid()}"


def test_a_childs_failures_come_back_as_what_they_are(tmp_path: Path) -> None:
    def read_only() -> None:
        raise PermissionError(13, "Permission denied")

    def bug() -> None:
        raise TypeError("boom " + "x" * 100_000)  # a long message fits the pipe, cut

    assert Background(read_only).join() == ("oserror", "Permission denied")
    kind, message = Background(bug).join()
    assert kind == "internal" and message.startswith("internal error: TypeError: boom") and len(message) <= 2_000


def test_a_child_that_dies_without_a_word_is_an_internal_error() -> None:
    def die() -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    kind, message = Background(die).join()
    assert kind == "internal" and "signal 9" in message


def test_a_stopped_child_removes_its_temporary_and_is_reaped(tmp_path: Path) -> None:
    target, started = tmp_path / "report.html", tmp_path / "started"

    def slow() -> None:
        with atomic_write(target) as fh:
            fh.write("<html>half")
            fh.flush()
            started.write_text("yes")
            time.sleep(60)

    child = Background(slow)
    pid = child.pid
    deadline = time.monotonic() + 30
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert started.exists() and any(p.name.endswith(".tmp") for p in tmp_path.iterdir())
    child.terminate()
    assert process_gone(pid)
    assert not target.exists() and not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


# --- through a scan ------------------------------------------------------------------------------------------

def _normalised(html: str) -> str:
    html = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "RUN-ID", html)
    return re.sub(r"report generated [0-9T:+-]+", "report generated TIME", html)


def test_the_forked_report_is_the_inline_one(tmp_path: Path) -> None:
    started = "2026-12-01T10:00:00+00:00"
    pages = {}
    for name, prelude in (("forked", FORKED), ("inline", INLINE)):
        out = tmp_path / name
        proc = scan_after(prelude, ["--arm", EXAMPLES, *outputs(out), "--aksc-started", started], tmp_path)
        assert proc.returncode in (0, 1), proc.stdout[-2000:] + proc.stderr[-2000:]
        # what was written is listed in the order of the outputs, whichever process wrote it
        listed = [line.split(":", 1)[0] for line in proc.stdout.splitlines()
                  if line.startswith(("results JSON:", "audit report:", "SARIF:", "CSV matrix:"))]
        assert listed == ["results JSON", "audit report", "SARIF", "CSV matrix"], proc.stdout[-1500:]
        pages[name] = _normalised((out / "r.html").read_text(encoding="utf-8"))
    assert len(pages["forked"]) > 10_000
    assert pages["forked"] == pages["inline"]


def test_a_crash_of_the_forked_writer_exits_3_and_the_others_are_written(tmp_path: Path) -> None:
    out = tmp_path / "out"
    boom = FORKED + ("import aks_compliance.report.html as h\n"
                     "def crash(path, doc): raise TypeError('boom in the forked report')\n"
                     "h.write_report = crash\n")
    proc = scan_after(boom, ["--arm", EXAMPLES, *outputs(out)], tmp_path)
    assert proc.returncode == 3, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "audit report NOT written" in proc.stdout and "boom in the forked report" in proc.stdout
    assert "internal error" in proc.stdout
    assert all((out / f).is_file() for f in ("r.json", "r.sarif", "r.csv")) and not (out / "r.html").exists()


def test_an_unwritable_place_for_the_forked_report_is_a_usage_error(tmp_path: Path) -> None:
    out = tmp_path / "out"
    refused = FORKED + ("import aks_compliance.report.html as h\n"
                        "def refuse(path, doc): raise PermissionError(13, 'Permission denied', path)\n"
                        "h.write_report = refuse\n")
    proc = scan_after(refused, ["--arm", EXAMPLES, *outputs(out)], tmp_path)
    assert proc.returncode == 4, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "audit report NOT written" in proc.stdout and "Permission denied" in proc.stdout
    assert (out / "r.json").is_file()


def test_sigterm_in_the_forked_writer_leaves_no_temporary(tmp_path: Path) -> None:
    out = tmp_path / "out"
    term = FORKED + ("import os, signal, aks_compliance.report.html as h\n"
                     "from aks_compliance.atomic import atomic_write\n"
                     "def slow(path, doc):\n"
                     "    with atomic_write(path) as fh:\n"
                     "        fh.write('<html>half')\n"
                     "        os.kill(os.getpid(), signal.SIGTERM)\n"  # the child's own pid: the writer is stopped
                     "        fh.write('never')\n"
                     "h.write_report = slow\n")
    proc = scan_after(term, ["--arm", EXAMPLES, *outputs(out)], tmp_path)
    assert proc.returncode == 3, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "audit report NOT written" in proc.stdout and "the run was interrupted" in proc.stdout
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")] and not (out / "r.html").exists()


def test_sigterm_to_the_run_while_the_child_writes_stops_the_child_too(tmp_path: Path) -> None:
    out, pid_file = tmp_path / "out", tmp_path / "child.pid"
    # the child writes slowly; the parent is terminated once the child has started (while it writes its own)
    term = FORKED + ("import os, signal, time, aks_compliance.report.html as h, aks_compliance.results as res\n"
                     "from aks_compliance.atomic import atomic_write\n"
                     f"PID = {str(pid_file)!r}\n"
                     "def slow(path, doc):\n"
                     "    with atomic_write(path) as fh:\n"
                     "        fh.write('<html>half'); fh.flush()\n"
                     "        open(PID, 'w').write(str(os.getpid()))\n"
                     "        time.sleep(120)\n"
                     "h.write_report = slow\n"
                     "original = res.write_results\n"
                     "def results_then_term(path, doc):\n"
                     "    original(path, doc)\n"
                     "    deadline = time.monotonic() + 60\n"
                     "    while not os.path.exists(PID) and time.monotonic() < deadline: time.sleep(0.02)\n"
                     "    os.kill(os.getpid(), signal.SIGTERM)\n"
                     "res.write_results = results_then_term\n")
    began = time.monotonic()
    proc = scan_after(term, ["--arm", EXAMPLES, *outputs(out)], tmp_path)
    assert time.monotonic() - began < 100  # never waited for the sleeping child
    assert proc.returncode == 3, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "audit report NOT written" in proc.stdout and "the run was interrupted" in proc.stdout
    assert process_gone(int(pid_file.read_text()))
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")] and not (out / "r.html").exists()
    assert (out / "r.json").is_file()
