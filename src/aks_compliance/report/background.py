"""One output written by a forked child while this process writes the others.

At the end of a large run the outputs are written one after the other by one process, and the auditor
report is the longest of them (about 40 % of the time after the scan: 5,000 clusters, 325,000 results).
On Linux the report is written by a child forked from the process that holds the results (the fork shares
its memory copy-on-write: nothing is copied or encoded to hand over), while the parent writes the results
JSON, SARIF, CSV, JUnit XML and pytest-html's report; the parent waits for the child before it says what
was written and decides the exit status. Elsewhere (no ``fork``), and for small runs, outputs are written
in order as before.

The child never returns into pytest: it writes its one file (atomically, so an interrupt leaves the
previous file and no temporary), sends one line of JSON with what happened through a pipe and leaves with
``os._exit`` (no atexit handlers, no flush of the parent's buffered terminal output).
"""

from __future__ import annotations

import json
import os
import signal
import warnings
from typing import Callable

from ..atomic import interrupt_on_sigterm

FORK_MIN_RESULTS = 5_000  # below this the report takes a few tenths of a second: not worth a process
_MAX_MESSAGE = 2_000  # characters of an error message sent back (the pipe holds 64 KiB without a reader)


class Background:
    """``write()`` run in a forked child; ``join()`` waits for it and says how it went."""

    def __init__(self, write: Callable[[], None]) -> None:
        read_end, write_end = os.pipe()
        with warnings.catch_warnings():
            # Python 3.12+ warns when a process with threads forks (pytest-xdist's controller has execnet's
            # I/O threads). The child only renders text and writes its own file: it takes no lock those
            # threads may hold, and CPython reinitialises its own locks (import, GIL) in the child.
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # pragma: no cover - the child's lines run in the child (coverage does not follow it)
            os.close(read_end)
            _child(write, write_end)
        os.close(write_end)
        self.pid: int | None = pid
        self._fd = read_end

    def join(self) -> tuple[str, str] | None:
        """None when the output was written; else (kind, message): kind ``oserror`` (the path's problem,
        a usage error), ``interrupted`` or ``internal`` (a bug of ours)."""
        if self.pid is None:
            return ("internal", "already joined")
        chunks: list[bytes] = []
        try:
            while chunk := os.read(self._fd, 65536):
                chunks.append(chunk)
            _, status = os.waitpid(self.pid, 0)
        except BaseException:  # an interrupt while waiting: the child is stopped too (it removes its temporary)
            self.terminate()
            raise
        finally:
            os.close(self._fd)
        self.pid = None
        try:
            answer = json.loads(b"".join(chunks).decode("utf-8"))
            kind, message = answer["kind"], answer["message"]
        except (ValueError, KeyError, TypeError):
            code = os.waitstatus_to_exitcode(status)
            how = f"signal {-code}" if code < 0 else f"status {code}"
            return ("internal", f"the process writing it ended without saying how ({how})")
        return None if kind == "ok" else (kind, message)

    def terminate(self) -> None:
        """Stop the child (SIGTERM: an interrupt there, which removes its temporary file) and reap it."""
        if self.pid is None:
            return
        try:
            os.kill(self.pid, signal.SIGTERM)
            os.waitpid(self.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        self.pid = None


def _child(write: Callable[[], None], fd: int) -> None:  # pragma: no cover - runs in the child
    kind, message = "internal", "not run"
    try:
        # SIGTERM unwinds the writer (its temporary is removed) wherever the parent had not made it so
        signal.signal(signal.SIGTERM, interrupt_on_sigterm)
        write()
        kind, message = "ok", ""
    except OSError as exc:  # the path's problem (read-only place, disk full): the user's, a usage error
        kind, message = "oserror", exc.strerror or str(exc)
    except KeyboardInterrupt:
        kind, message = "interrupted", "not written: the run was interrupted"
    except BaseException as exc:
        kind, message = "internal", f"internal error: {type(exc).__name__}: {exc}"
    try:
        os.write(fd, json.dumps({"kind": kind, "message": message[:_MAX_MESSAGE]}).encode("utf-8"))
    finally:
        os._exit(0)
