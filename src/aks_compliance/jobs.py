"""One scan evaluated by several processes of this machine (``--jobs N``): read once, forked, merged.

pytest-xdist's workers (distributed.py) are separate interpreters: each reads every input and builds every
target again, and their results reach the controller as test reports and shard parts. Here the inputs are
read and the targets built once; the process then forks ``N - 1`` children, which share all of it
copy-on-write, and each evaluates one shard (shards.py: the partition ``--aksc-shard`` and xdist use) and
writes its part of the results document to a private spool, while this process evaluates the first shard.
The parts are merged as a pytest-xdist controller merges its workers' (``merge_shards``): the results, the
results document and every output are those of one process. Linux only (``fork``); elsewhere the scan
runs in this process.
"""

from __future__ import annotations

import mmap
import os
import shutil
import signal
import struct
import tempfile
import time
import traceback
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .progress import Progress
    from .scan import PreparedScan, ScanOptions, ScanRun

_SLOT = struct.Struct("<q")


def can_fork() -> bool:
    """Only where ``fork`` is the platform's own (Linux): macOS frameworks are not fork-safe."""
    import sys

    return sys.platform.startswith("linux") and hasattr(os, "fork")


def jobs_for(value: str | int | None) -> int:
    """``--jobs``: a positive number, or ``auto`` (the CPUs this process may run on)."""
    if value in (None, "", 1, "1"):
        return 1
    if isinstance(value, str) and value.strip().lower() == "auto":
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except (AttributeError, OSError):
            return max(1, os.cpu_count() or 1)
    try:
        n = int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        n = 0
    if n < 1:
        raise ValueError(f"--jobs expects a positive number of processes or 'auto', got {value!r}")
    return n


def worth_forking(jobs: int, targets: int) -> int:
    """How many processes to use for ``targets`` targets when ``jobs`` were asked for (1: this one): never more
    than there are targets (a fork costs a few milliseconds; asked for, it is done however small the scan)."""
    if jobs <= 1 or not can_fork():
        return 1
    return max(1, min(jobs, targets))


class _Counts:
    """How many targets each process has evaluated, in memory shared across the fork (for the progress line)."""

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs
        self.memory = mmap.mmap(-1, _SLOT.size * jobs)  # anonymous and shared: children write, the parent reads

    def set(self, job: int, done: int) -> None:
        _SLOT.pack_into(self.memory, job * _SLOT.size, done)

    def total(self) -> int:
        return sum(_SLOT.unpack_from(self.memory, j * _SLOT.size)[0] for j in range(self.jobs))


class _Share:
    """The progress interface ``PreparedScan.evaluate`` calls, for one process's shard: it records the shard's
    count and (in this process) shows the whole run's."""

    def __init__(self, counts: _Counts, job: int, shown: "Progress | None") -> None:
        self.counts, self.job, self.shown = counts, job, shown

    def start(self, total: int) -> None:
        pass  # the whole run's line was started by run_in_jobs

    def update(self, done: int) -> None:
        self.counts.set(self.job, done)
        if self.shown is not None:
            self.shown.update(self.counts.total())

    def finish(self, done: int) -> None:
        self.counts.set(self.job, done)


def run_scan_in_jobs(options: "ScanOptions") -> "ScanRun":
    """``scan.run_scan`` with ``options.jobs`` processes (where forking is possible and there are targets to
    share): the same run."""
    from .scan import collector_paused, prepare_scan

    with collector_paused():
        prepared = prepare_scan(options)
        jobs = worth_forking(options.jobs, len(prepared.targets))
        if jobs > 1:
            return run_in_jobs(prepared, jobs, options.progress)
        return prepared.run(prepared.evaluate(range(len(prepared.targets)), options.progress))


def run_in_jobs(prepared: "PreparedScan", jobs: int, progress: "Progress | None" = None) -> "ScanRun":
    """The run of ``prepared`` evaluated by ``jobs`` processes: the run one process computes."""
    from .scan import collector_paused
    from .shards import LIVE, ShardedScan, merge_shards, part_of

    sharded = ShardedScan(prepared, jobs)
    prepared.meta()  # the run's id and who ran it: made once, before the children copy the scan
    prepared.ledger()
    counts = _Counts(jobs)
    texts: dict[int, str] = {}
    spool = tempfile.mkdtemp(prefix="aksc-jobs-")
    children: dict[int, int] = {}
    try:
        for job in range(1, jobs):
            pid = os.fork()
            if pid == 0:  # pragma: no cover - runs in the child (coverage does not follow it)
                _child(sharded, job, spool, counts)
            children[job] = pid
        if progress is not None:
            progress.start(len(prepared.targets))
        run, common, own = sharded.part(0, _Share(counts, 0, progress))
        own[LIVE] = run.results  # this process's results go into the merge as they are
        failures = []
        while children:  # the others' shards: the progress line goes on while they finish
            for job, pid in list(children.items()):
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    del children[job]
                    failure = _collect(spool, job, jobs, status, texts)
                    if failure:
                        failures.append(failure)
            if children:
                if progress is not None:
                    progress.update(counts.total())
                time.sleep(0.05)
        if failures:
            raise RuntimeError("; ".join(failures))
        if progress is not None:
            progress.finish(len(prepared.targets))
        with collector_paused(freeze=True):  # the merged run lives to the end of the session
            parts = [own] + [part_of(texts[job]) for job in range(1, jobs)]
            texts.clear()
            return merge_shards([{**common, **part} for part in parts], catalog=prepared.catalog,
                                run_id=prepared.meta()["id"])
    finally:
        for pid in children.values():  # an interrupt or a failure here: no child is left running
            try:
                os.kill(pid, signal.SIGTERM)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        shutil.rmtree(spool, ignore_errors=True)


def _child(sharded: Any, job: int, spool: str, counts: _Counts) -> None:  # pragma: no cover - in the child
    from .atomic import interrupt_on_sigterm
    from .shards import part_json

    code = 1
    try:
        signal.signal(signal.SIGTERM, interrupt_on_sigterm)  # stopped by the parent: unwind, write nothing
        run, _, part = sharded.part(job, _Share(counts, job, None))
        text = part_json(part, run.results)  # the results as the results JSON writes them: not encoded again
        path = os.path.join(spool, f"part-{job}.json")
        with open(path + ".tmp", "w", encoding="utf-8", errors="surrogatepass") as fh:
            fh.write(text)
        os.replace(path + ".tmp", path)
        code = 0
    except KeyboardInterrupt:
        code = 2
    except BaseException as exc:
        try:
            with open(os.path.join(spool, f"error-{job}.txt"), "w", encoding="utf-8", errors="replace") as fh:
                fh.write(f"{type(exc).__name__}: {exc}\n{''.join(traceback.format_tb(exc.__traceback__)[-5:])}")
        except BaseException:
            pass
    finally:
        os._exit(code)


def _collect(spool: str, job: int, jobs: int, status: int, texts: dict[int, str]) -> str | None:
    """A finished child's part into ``texts``; or why there is none."""
    code = os.waitstatus_to_exitcode(status)
    path = os.path.join(spool, f"part-{job}.json")
    if code == 0 and os.path.exists(path):
        with open(path, "rb") as fh:
            texts[job] = fh.read().decode("utf-8", "surrogatepass")
        os.unlink(path)
        return None
    try:
        with open(os.path.join(spool, f"error-{job}.txt"), encoding="utf-8") as fh:
            why = fh.read().splitlines()[0]
    except (OSError, IndexError):
        why = f"killed by signal {-code}" if code < 0 else f"exit status {code}"
    return f"the process evaluating shard {job + 1} of {jobs} failed: {why}"
