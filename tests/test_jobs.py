"""--jobs N: the inputs read once, N forked processes evaluate the shards, the parts merged into the run one
process computes (jobs.py). That the documents, result lines, JUnit cases and outcomes are those of one
process is tested with pytest-xdist and --aksc-shard in test_shards.py; here: the option, the failures of a
job (an internal error naming the shard, never a partial run passed off as whole) and interrupts (no job is
left running)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from aks_compliance import jobs
from aks_compliance.arm.inputs import ArmOptions
from aks_compliance.scan import ScanOptions

from .conftest import FIXTURES, process_gone, scan_after

EXAMPLES = str(FIXTURES / "examples")
STARTED = "2026-11-02T09:00:00+00:00"

pytestmark = pytest.mark.skipif(not jobs.can_fork(), reason="--jobs forks: Linux only")


@pytest.mark.parametrize("value, expected", [("1", 1), ("3", 3), (" auto ", None), (None, 1)])
def test_jobs_option_values(value: str | None, expected: int | None) -> None:
    n = jobs.jobs_for(value)
    assert n == (expected if expected is not None else len(os.sched_getaffinity(0)))


@pytest.mark.parametrize("value", ["0", "-2", "two", "1.5"])
def test_a_bad_jobs_value_is_a_usage_error(value: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="--jobs expects a positive number"):
        jobs.jobs_for(value)
    proc = scan_after("", ["--arm", EXAMPLES, "--jobs", value], tmp_path)
    assert proc.returncode == 4, proc.stdout[-1500:] + proc.stderr[-1500:]
    assert "--jobs expects a positive number" in proc.stdout + proc.stderr


def test_never_more_jobs_than_targets() -> None:
    assert jobs.worth_forking(8, 3) == 3 and jobs.worth_forking(8, 0) == 1 and jobs.worth_forking(1, 100) == 1


def test_the_engine_with_jobs_gives_the_results_of_one_process() -> None:
    def run(n: int) -> list[str]:
        options = ScanOptions(inputs=[ArmOptions(paths=[EXAMPLES])], started=STARTED, run_id="r", jobs=n)
        r = jobs.run_scan_in_jobs(options)
        return [json.dumps(x.as_dict(), sort_keys=True) for x in r.results]

    one = run(1)
    assert len(one) > 50 and run(4) == one


def test_a_job_that_fails_is_an_internal_error_naming_its_shard(tmp_path: Path) -> None:
    boom = ("import os, aks_compliance.scan as s\n"
            "PARENT = os.getpid()\n"
            "original = s.PreparedScan.evaluate\n"
            "def evaluate(self, indices, progress=None):\n"
            "    if os.getpid() != PARENT: raise RuntimeError('boom in a job')\n"
            "    return original(self, indices, progress)\n"
            "s.PreparedScan.evaluate = evaluate\n")
    out = tmp_path / "r.json"
    proc = scan_after(boom, ["--arm", EXAMPLES, "--jobs", "3", "--results-json", str(out)], tmp_path)
    assert proc.returncode == 3, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "internal error" in proc.stdout and "boom in a job" in proc.stdout
    assert "shard 2 of 3" in proc.stdout or "shard 3 of 3" in proc.stdout
    assert not out.exists()  # never a partial run written as if it were whole


def test_an_interrupt_while_jobs_run_stops_them_all(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    pids.mkdir()
    # the jobs hang; the parent is terminated once it has evaluated its own shard and the jobs have started
    hang = ("import os, signal, time, aks_compliance.scan as s\n"
            f"PIDS = {str(pids)!r}\n"
            "PARENT = os.getpid()\n"
            "original = s.PreparedScan.evaluate\n"
            "def evaluate(self, indices, progress=None):\n"
            "    if os.getpid() != PARENT:\n"
            "        open(os.path.join(PIDS, str(os.getpid())), 'w').close()\n"
            "        time.sleep(120)\n"
            "    out = original(self, indices, progress)\n"
            "    deadline = time.monotonic() + 60\n"
            "    while len(os.listdir(PIDS)) < 2 and time.monotonic() < deadline: time.sleep(0.02)\n"
            "    os.kill(PARENT, signal.SIGTERM)\n"
            "    return out\n"
            "s.PreparedScan.evaluate = evaluate\n")
    began = time.monotonic()
    proc = scan_after(hang, ["--arm", EXAMPLES, "--jobs", "3", "--results-json", str(tmp_path / "r.json")], tmp_path)
    assert time.monotonic() - began < 100
    assert proc.returncode == 3, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "Traceback" not in proc.stdout + proc.stderr
    children = [int(p.name) for p in pids.iterdir()]
    assert len(children) == 2 and all(process_gone(pid) for pid in children)
    assert not (tmp_path / "r.json").exists()
    assert not [p for p in Path(os.environ.get("TMPDIR", "/tmp")).glob("aksc-jobs-*") if p.stat().st_mtime > began - 1]


def test_jobs_show_the_progress_of_the_whole_run() -> None:
    """The progress line counts every job's targets (shared memory), not only this process's shard."""
    seen: list[int] = []

    class Recorder:
        def start(self, total: int) -> None:
            seen.append(-total)

        def update(self, done: int) -> None:
            seen.append(done)

        def finish(self, done: int) -> None:
            seen.append(done)

    counts = jobs._Counts(3)
    counts.set(1, 40)
    counts.set(2, 2)
    share = jobs._Share(counts, 0, Recorder())  # type: ignore[arg-type]
    share.start(10)  # a shard's own total is not the run's
    share.update(5)
    assert seen == [47]
    run = jobs.run_scan_in_jobs(ScanOptions(inputs=[ArmOptions(paths=[EXAMPLES])], started=STARTED, run_id="r",
                                            jobs=2, progress=Recorder()))  # type: ignore[arg-type]
    targets = -seen[1]
    assert targets == len({r.label for r in run.results if r.control_id}) and seen[-1] == targets


def test_jobs_where_fork_is_not_offered_run_in_one_process_and_say_so(tmp_path: Path) -> None:
    no_fork = "import aks_compliance.jobs as j\nj.can_fork = lambda: False\n"
    out = tmp_path / "r.json"
    proc = scan_after(no_fork, ["--arm", EXAMPLES, "--jobs", "4", "--results-json", str(out)], tmp_path)
    assert proc.returncode in (0, 1), proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "--jobs 4: the scan's processes are forked" in proc.stdout + proc.stderr
    assert json.loads(out.read_text())["results"]


@pytest.mark.parametrize("other", [["--aksc-shard", "1/2"], ["-n", "2"]])
def test_jobs_beside_shards_or_workers_is_said_to_be_ignored(other: list[str], tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    proc = scan_after("", ["--arm", EXAMPLES, "--jobs", "2", *other, "--results-json", str(out)], tmp_path)
    assert proc.returncode in (0, 1), proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "--jobs 2 is for a scan in one pytest process" in proc.stdout + proc.stderr
    assert json.loads(out.read_text())["results"]
