"""The sections of a large auditor report rendered by several processes at once.

A large report spends most of its time in the per-control sections (findings pivoted by evidence shape, passes
grouped, every value escaped: about half of it at 130,000 results), and the sections do not depend on each
other. On Linux, above :data:`PARALLEL_MIN_RESULTS`, the process rendering the report forks helpers that share
its results copy-on-write (nothing is encoded to hand them over); each renders its share of the sections and
sends the text back through a pipe, while this process renders its own share. The page is the same text as
rendered by one process: a section is rendered by the same function wherever it runs, and put back in order.

A helper that fails sends less than its share; its sections are then rendered here, so a fault in rendering
is raised where it would have been without helpers (an error of ours, reported as such), never a gap in
the page. An interrupt stops the helpers.
"""

from __future__ import annotations

import os
import signal
import struct
import warnings
from typing import Any, Callable, Sequence, TypeVar

PARALLEL_MIN_RESULTS = 20_000  # below this the sections take a few tenths of a second: not worth a process
MAX_PROCESSES = 4  # the page is also read, ordered and written by one process: more helpers gain little
_LENGTH = struct.Struct("<Q")

W = TypeVar("W")


def render_all(work: Sequence[W], render: Callable[..., str], weight: Callable[[W], int]) -> list[str]:
    """``[render(*item) for item in work]``, with the items shared out between processes when they are many."""
    count = _processes(sum(weight(item) for item in work), len(work))
    if count <= 1:
        return [render(*item) for item in work]
    shares = _share([weight(item) for item in work], count)
    helpers: list[tuple[int, int, list[int]]] = []  # (pid, read end, the items' indexes)
    out: list[str | None] = [None] * len(work)
    try:
        for share in shares[1:]:
            helpers.append(_start(work, render, share))
        for i in shares[0]:
            out[i] = render(*work[i])
        while helpers:
            pid, fd, share = helpers[0]
            texts = _receive(fd, len(share))
            helpers.pop(0)
            _stop(pid, fd, kill=False)
            for n, i in enumerate(share):  # what a failed helper did not send is rendered here
                out[i] = texts[n] if n < len(texts) else render(*work[i])
    finally:
        for pid, fd, _ in helpers:  # an interrupt or an error here: the helpers are not needed any more
            _stop(pid, fd)
    return out  # type: ignore[return-value]


def _processes(total: int, items: int) -> int:
    if total < PARALLEL_MIN_RESULTS or items < 2:
        return 1
    from ..jobs import can_fork
    if not can_fork():
        return 1
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, MAX_PROCESSES, items))


def _share(weights: list[int], count: int) -> list[list[int]]:
    """Item indexes per process, heaviest first to the least loaded (each share in the items' order)."""
    loads = [0] * count
    shares: list[list[int]] = [[] for _ in range(count)]
    for i in sorted(range(len(weights)), key=lambda i: -weights[i]):
        k = loads.index(min(loads))
        shares[k].append(i)
        loads[k] += weights[i] + 1
    return [sorted(s) for s in shares if s] or [[]]


def _start(work: Sequence[Any], render: Callable[..., str], share: list[int]) -> tuple[int, int, list[int]]:
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        # Python 3.12+ warns when a process with threads forks; the helper only renders text into its pipe
        # (background.py says why that is safe)
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the helper (coverage does not follow it)
        try:
            os.close(read_end)
            with os.fdopen(write_end, "wb", buffering=1 << 20) as fh:
                for i in share:
                    data = render(*work[i]).encode("utf-8", "surrogatepass")
                    fh.write(_LENGTH.pack(len(data)))
                    fh.write(data)
        finally:
            os._exit(0)  # never back into the caller: what was sent is what the parent uses
    os.close(write_end)
    return pid, read_end, share


def _receive(fd: int, expected: int) -> list[str]:
    """The texts a helper sent, in order; fewer than ``expected`` when it stopped early."""
    texts: list[str] = []
    with os.fdopen(os.dup(fd), "rb") as fh:
        while len(texts) < expected:
            head = fh.read(_LENGTH.size)
            if len(head) < _LENGTH.size:
                break
            (size,) = _LENGTH.unpack(head)
            data = fh.read(size)
            if len(data) < size:
                break
            texts.append(data.decode("utf-8", "surrogatepass"))
    return texts


def _stop(pid: int, fd: int, kill: bool = True) -> None:
    """Reap a helper (stopped first unless it has sent all it will) and close its pipe. SIGKILL: a helper holds
    nothing to clean up, and a SIGTERM that came before it could reset the handler it inherited was lost."""
    try:
        if kill:
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass
    try:
        os.close(fd)
    except OSError:
        pass


__all__ = ["MAX_PROCESSES", "PARALLEL_MIN_RESULTS", "render_all"]
