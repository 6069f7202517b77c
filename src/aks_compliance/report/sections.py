"""The sections of a large auditor report rendered by several processes at once.

A large report spends most of its time in the per-control sections (findings pivoted by evidence shape, passes
grouped, every value escaped: about half of it at 130,000 results), and the sections do not depend on each
other. On Linux, above :data:`PARALLEL_MIN_RESULTS`, the process rendering the report forks helpers that share
its results copy-on-write (nothing is encoded to hand them over); each renders its share of the sections into a
spool file (unlinked), while this process renders its own share. The page is the same text as
rendered by one process: a section is rendered by the same function wherever it runs, and put back in order.

A helper that fails sends less than its share; its sections are then rendered here, so a fault in rendering
is raised where it would have been without helpers (an error of ours, reported as such), never a gap in
the page. An interrupt stops the helpers.
"""

from __future__ import annotations

import os
import signal
import struct
import tempfile
import warnings
from typing import IO, Any, Callable, Sequence, TypeVar

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
    helpers: list[tuple[int, IO[bytes], list[int]]] = []  # (pid, its spool, the items' indexes)
    out: list[str | None] = [None] * len(work)
    try:
        for share in shares[1:]:
            helpers.append(_start(work, render, share))
        for i in shares[0]:
            out[i] = render(*work[i])
        while helpers:
            pid, spool, share = helpers[0]
            os.waitpid(pid, 0)
            helpers.pop(0)
            with spool:
                texts = _receive(spool, len(share))
            for n, i in enumerate(share):  # what a failed helper did not send is rendered here
                out[i] = texts[n] if n < len(texts) else render(*work[i])
    finally:
        for pid, spool, _ in helpers:  # an interrupt or an error here: the helpers are not needed any more
            _stop(pid, spool)
    return out  # type: ignore[return-value]


def _processes(total: int, items: int) -> int:
    if total < PARALLEL_MIN_RESULTS or items < 2:
        return 1
    from ..jobs import can_fork, jobs_for
    if not can_fork():
        return 1
    return max(1, min(jobs_for("auto"), MAX_PROCESSES, items))  # the CPUs this process may run on


def _share(weights: list[int], count: int) -> list[list[int]]:
    """Item indexes per process, heaviest first to the least loaded (each share in the items' order)."""
    loads = [0] * count
    shares: list[list[int]] = [[] for _ in range(count)]
    for i in sorted(range(len(weights)), key=lambda i: -weights[i]):
        k = loads.index(min(loads))
        shares[k].append(i)
        loads[k] += weights[i] + 1
    return [sorted(s) for s in shares if s] or [[]]


def _start(work: Sequence[Any], render: Callable[..., str], share: list[int]) -> tuple[int, IO[bytes], list[int]]:
    # a file, not a pipe: a pipe holds 64 KiB, and a helper blocked on it would wait for this process to finish
    # its own share before it could go on with its
    spool = tempfile.TemporaryFile()
    with warnings.catch_warnings():
        # Python 3.12+ warns when a process with threads forks; the helper only renders text into its spool
        # (background.py says why that is safe)
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the helper (coverage does not follow it)
        try:
            with os.fdopen(os.dup(spool.fileno()), "wb", buffering=1 << 20) as fh:
                for i in share:
                    data = render(*work[i]).encode("utf-8", "surrogatepass")
                    fh.write(_LENGTH.pack(len(data)))
                    fh.write(data)
        finally:
            os._exit(0)  # never back into the caller: what was written is what the parent uses
    return pid, spool, share


def _receive(spool: IO[bytes], expected: int) -> list[str]:
    """The texts a finished helper wrote, in order; fewer than ``expected`` when it stopped early."""
    texts: list[str] = []
    spool.seek(0)
    while len(texts) < expected:
        head = spool.read(_LENGTH.size)
        if len(head) < _LENGTH.size:
            break
        (size,) = _LENGTH.unpack(head)
        data = spool.read(size)
        if len(data) < size:
            break
        texts.append(data.decode("utf-8", "surrogatepass"))
    return texts


def _stop(pid: int, spool: IO[bytes]) -> None:
    """Stop a helper and reap it (SIGKILL: a helper holds nothing to clean up, and a SIGTERM that came before
    it could reset the handler it inherited would be lost), and drop its spool."""
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass
    spool.close()


__all__ = ["MAX_PROCESSES", "PARALLEL_MIN_RESULTS", "render_all"]
