"""Reading input files: one way for every input (ARM, Kubernetes manifests and snapshots, Azure snapshots,
waivers, attestations, control configuration, results documents for report and diff).

* Only **regular files** are read. A FIFO blocks a reader forever, ``/dev/zero`` (size 0 by ``stat``) never
  ends, a socket or a directory cannot be read: each is an input error naming the file. The type is checked
  with ``stat`` before opening and again with ``fstat`` on the opened descriptor, which is opened
  non-blocking (a FIFO swapped in between the two would otherwise block the ``open`` itself).
* A **byte limit** is enforced while reading, not only from the size ``stat`` reports (which a growing file
  or a special file can contradict), and while decompressing gzip (a 3 MB file can inflate to 3 GB).
* **Text** is UTF-8 (with or without BOM), UTF-16 or UTF-32 with a BOM; BOM-less UTF-16/32 (recognised by
  the zero bytes around the first character) is reported as such, anything else names the line and byte.
* **Directories** are walked without following links; one that cannot be listed is reported, not skipped.
"""

from __future__ import annotations

import codecs
import io
import os
import re
import stat
import zlib
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

from .errors import InputError

MiB = 1024 * 1024
GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _not_regular(path: str | Path, mode: int) -> InputError:
    return InputError(f"{_kind(mode)}, not a regular file: only regular files are read", file=str(path))


def is_regular(path: str | Path) -> bool:
    """Whether ``path`` (links followed) is a regular file; False when it cannot be stat'ed."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def open_input(path: str | Path) -> BinaryIO:
    """``path`` opened for reading, if it is a regular file; otherwise an :class:`InputError` naming it."""
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            raise _not_regular(path, st.st_mode)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror or exc}", file=str(path)) from None
    except ValueError as exc:  # a NUL in the name
        raise InputError(f"cannot read file: {exc}", file=str(path)) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise _not_regular(path, mode)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def _over(path: str | Path, limit: int, what: str, after: str = "") -> InputError:
    size = f"{limit // MiB} MB" if limit % MiB == 0 else f"{limit:,} bytes"
    return InputError(f"{what} is over the {size} limit{after}; not read", file=str(path))


def read_input(path: str | Path, limit: int, what: str = "the file", gunzip: bool = False) -> bytes:
    """The bytes of a regular file, at most ``limit`` of them (more is an error); with ``gunzip`` a gzip
    file is decompressed, the limit applying to the decompressed bytes."""
    try:
        with open_input(path) as fh:
            head = fh.read(2)
            if gunzip and head == GZIP_MAGIC:
                return _gunzip(fh, head, path, limit, what)
            data = head + fh.read(limit + 1 - len(head))
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror or exc}", file=str(path)) from None
    if len(data) > limit:
        raise _over(path, limit, what)
    return data


def gunzip(raw: bytes, path: str | Path, limit: int, what: str = "the file") -> bytes:
    """gzip data already in memory, decompressed within ``limit`` bytes."""
    return _gunzip(io.BytesIO(raw), b"", path, limit, what)


def _gunzip(fh: BinaryIO, head: bytes, path: str | Path, limit: int, what: str) -> bytes:
    out = bytearray()
    for chunk in _inflate(fh, head, path, limit, what):
        out += chunk
    return bytes(out)


def _inflate(fh: BinaryIO, head: bytes, path: str | Path, limit: int, what: str) -> Iterator[bytes]:
    """Decompressed chunks of a gzip stream (every member), never more than ``limit`` bytes in all."""
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    total = 0
    in_member = False  # input fed to a member that has not ended
    data = head
    while True:
        if not data:
            data = fh.read(_CHUNK)
            if not data:
                break
        in_member = True
        try:
            # at most a chunk at a time: a stream's reader may need only the start (a header, a first line)
            chunk = d.decompress(data, min(_CHUNK, limit + 1 - total))
        except zlib.error as exc:
            raise InputError(f"not readable gzip: {exc}", file=str(path)) from None
        total += len(chunk)
        if total > limit:
            raise _over(path, limit, what, " once decompressed")
        if chunk:
            yield chunk
        if d.eof:  # another gzip member may follow
            data = d.unused_data
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            in_member = False
        else:
            data = d.unconsumed_tail
    if in_member:
        raise InputError("not readable gzip: the compressed data ends early", file=str(path))


class _Limited(io.RawIOBase):
    """A readable stream over the (decompressed) content of a file, failing past ``limit`` bytes."""

    def __init__(self, chunks: Iterator[bytes], close: Callable[[], None]) -> None:
        self._chunks = chunks
        self._buffer = b""
        self._close = close

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[override]
        while not self._buffer:
            try:
                self._buffer = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(b), len(self._buffer))
        b[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n

    def close(self) -> None:
        if not self.closed:
            self._close()
        super().close()


def open_input_stream(path: str | Path, limit: int, what: str = "the file") -> BinaryIO:
    """A buffered binary stream of a regular file's content, gzip decompressed when it is gzip; reading past
    ``limit`` (decompressed) bytes raises :class:`InputError`."""
    fh = open_input(path)
    try:
        head = fh.read(2)
    except OSError as exc:
        fh.close()
        raise InputError(f"cannot read file: {exc.strerror or exc}", file=str(path)) from None
    if head == GZIP_MAGIC:
        chunks = _inflate(fh, head, path, limit, what)
    else:
        chunks = _plain_chunks(fh, head, path, limit, what)
    return io.BufferedReader(_Limited(chunks, fh.close), buffer_size=_CHUNK)  # type: ignore[return-value]


def _plain_chunks(fh: BinaryIO, head: bytes, path: str | Path, limit: int, what: str) -> Iterator[bytes]:
    total = len(head)
    if head:
        yield head
    while True:
        data = fh.read(_CHUNK)
        if not data:
            return
        total += len(data)
        if total > limit:
            raise _over(path, limit, what)
        yield data


# -- text ---------------------------------------------------------------------------------------------

_BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32"), (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32"),
         (codecs.BOM_UTF8, "utf-8", "UTF-8"), (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"),
         (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"))


def text_encoding(raw: bytes) -> tuple[str, int, str]:
    """(codec, length of the BOM, name) of text: a BOM decides; without one, JSON/YAML text starts with an
    ASCII character, so the zero bytes around it tell UTF-16/32 and their byte order (RFC 4627, 3)."""
    for bom, codec, name in _BOMS:  # UTF-32 LE before UTF-16 LE: its BOM starts with UTF-16's
        if raw.startswith(bom):
            return codec, len(bom), name
    head = raw[:4]

    def text(b: int) -> bool:  # a character JSON or YAML text starts with
        return 0x20 <= b < 0x7f or b in (0x09, 0x0a, 0x0d)

    if len(head) == 4:
        if head[:3] == b"\0\0\0" and text(head[3]):
            return "utf-32-be", 0, "UTF-32"
        if text(head[0]) and head[1:] == b"\0\0\0":
            return "utf-32-le", 0, "UTF-32"
    if len(head) >= 2:
        if head[0] == 0 and text(head[1]):
            return "utf-16-be", 0, "UTF-16"
        if text(head[0]) and head[1] == 0:
            return "utf-16-le", 0, "UTF-16"
    return "utf-8", 0, "UTF-8"


def decode_text(raw: bytes, file: str) -> str:
    """Text of an input file's bytes (see :func:`text_encoding`); errors name the file, line and byte."""
    codec, skip, name = text_encoding(raw)
    if name != "UTF-8" and not skip:
        # read as UTF-8 it would be invalid YAML or JSON with a puzzling message; guessing the encoding
        # silently is not what YAML (or kubectl, or ARM) does either
        raise InputError(f"the text looks like {name} without a byte order mark (zero bytes between its "
                         f"characters): invalid YAML or JSON as UTF-8; save it as UTF-8 or with a BOM",
                         file=file, line=1)
    try:
        text = raw[skip:].decode(codec)
    except UnicodeDecodeError as exc:
        start = skip + exc.start
        line = raw[:start].count(b"\n" if name == "UTF-8" else "\n".encode(codec)) + 1
        raise InputError(f"not valid {name} text: byte 0x{raw[start]:02x} at offset {start} is not {name}",
                         file=file, line=line) from None
    # A carriage return alone ends a line as a newline does (classic Mac files; editors and YAML count it): every
    # line count here counts newlines, so a CR-only file was all "line 1". Outside strings both are whitespace,
    # inside a JSON string neither is allowed, and YAML reads either as a line break: the meaning is unchanged.
    return _LONE_CR.sub("\n", text) if "\r" in text else text


_LONE_CR = re.compile(r"\r(?!\n)")


def read_input_text(path: str | Path, limit: int, what: str = "the file") -> str:
    return decode_text(read_input(path, limit, what), str(path))


# -- directories ----------------------------------------------------------------------------------------
