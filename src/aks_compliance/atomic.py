"""Writing output files atomically: a crash (or an exception) while writing leaves the previous file.

Every report and snapshot is written to a temporary file beside its target (same directory, so the
rename cannot cross filesystems) and renamed into place with ``os.replace`` once complete: a reader
sees the old file or the new one, never half of one. The temporary file is removed when writing fails, and
when the process is interrupted: SIGTERM (a CI job cancelled, a pod evicted) is made an interrupt like Ctrl-C
(``terminate_as_interrupt``), which unwinds through the writer instead of killing the process mid-write.
"""

from __future__ import annotations

import errno
import gzip
import io
import os
import signal
import stat
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Iterator


def terminate_as_interrupt() -> None:
    """SIGTERM raises KeyboardInterrupt, as Ctrl-C does: files being written are removed with their temporaries
    and the command says it was interrupted. Only where nobody else handles the signal."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, interrupt_on_sigterm)


def interrupt_on_sigterm(signum: int, frame: Any) -> None:
    """A SIGTERM handler: the signal unwinds as an interrupt (forked writers and jobs install it unconditionally:
    stopped by their parent, they remove their temporaries and write nothing)."""
    raise KeyboardInterrupt("terminated (SIGTERM)")


def _default_mode() -> int:
    """What ``open(path, "w")`` would create: 0o666 less the umask (mkstemp makes 0o600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextmanager
def atomic_write(path: str | Path, mode: str = "w", *, encoding: str | None = "utf-8", newline: str | None = None,
                 compress: bool | None = None) -> Iterator[IO[Any]]:
    """``with atomic_write(path) as fh: ...``: ``fh`` writes to a temporary file that replaces ``path``
    when the block ends without an exception. ``compress`` (default: the name ends in ``.gz``) gzips."""
    p = Path(path)
    if is_stream(p):
        with _stream(p, mode, encoding=encoding, newline=newline, compress=compress) as fh:
            yield fh
        return
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
    os.close(fd)
    try:
        os.chmod(tmp, p.stat().st_mode & 0o777 if p.exists() else _default_mode())
        with _writer(tmp, p, mode, encoding=encoding, newline=newline, compress=compress) as fh:
            yield fh
        with open(tmp, "rb") as done:  # on disk before the rename: a power cut cannot leave an empty file
            os.fsync(done.fileno())
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def is_stream(p: Path) -> bool:
    """Whether ``p`` names a stream rather than a file: a device, a FIFO or a socket (``/dev/null``,
    ``--results-json >(jq ...)``), or a name in /dev or /proc (``/dev/stdout``, ``/dev/fd/1``). Such a path is
    written to, never replaced: renaming a temporary file over it would replace the device node or the link
    (as root, ``--sarif /dev/null`` left /dev/null a regular file), and there is no half-written file to avoid."""
    try:
        if not stat.S_ISREG(os.stat(p).st_mode) and not stat.S_ISDIR(os.stat(p).st_mode):
            return True
    except (OSError, ValueError):  # absent (a new file), or a name the system refuses: the writer says why
        pass
    try:
        top = Path(os.path.realpath(p.parent)).parts[1:2]
    except (OSError, ValueError):
        return False
    return top in (("dev",), ("proc",), ("sys",))


@contextmanager
def _stream(p: Path, mode: str, *, encoding: str | None, newline: str | None,
            compress: bool | None) -> Iterator[IO[Any]]:
    """Written in place. A FIFO nobody reads is refused at once (it would block the run for ever)."""
    flags = os.O_WRONLY | (os.O_NONBLOCK if _is_fifo(p) else 0)
    try:
        fd = os.open(p, flags)
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise OSError(errno.ENXIO, "a FIFO that nobody reads") from None
        raise
    os.set_blocking(fd, True)
    with _writer(fd, p, mode, encoding=encoding, newline=newline, compress=compress) as fh:
        yield fh


@contextmanager
def _writer(file: str | int, p: Path, mode: str, *, encoding: str | None, newline: str | None,
            compress: bool | None) -> Iterator[IO[Any]]:
    """A handle writing to ``file`` (a path or a descriptor) for output ``p``: text or bytes, gzipped when asked
    (default: ``p`` ends in ``.gz``)."""
    binary = "b" in mode
    compressed = compress if compress is not None else p.suffix == ".gz"
    raw_bytes = binary or compressed
    with open(file, "wb" if raw_bytes else mode,
              # a lone surrogate (a JSON \ud800, a non-UTF-8 file name) is written as the escape \udXXX,
              # which is valid JSON and readable text, rather than failing the whole output
              **({} if raw_bytes else {"encoding": encoding, "newline": newline, "errors": "backslashreplace"})) as raw:
        if compressed:
            # the gzip header names the output, not a temporary file (gunzip -N restores that name)
            with gzip.GzipFile(filename=p.name, mode="wb", fileobj=raw) as gz:
                if binary:
                    yield gz
                else:
                    with io.TextIOWrapper(gz, encoding=encoding, newline=newline, errors="backslashreplace") as text:
                        yield text
        else:
            yield raw


def _is_fifo(p: Path) -> bool:
    try:
        return stat.S_ISFIFO(os.stat(p).st_mode)
    except OSError:
        return False


def write_text(path: str | Path, text: str, encoding: str = "utf-8") -> None:
    with atomic_write(path, encoding=encoding) as fh:
        fh.write(text)


def write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_write(path, "wb") as fh:
        fh.write(data)
