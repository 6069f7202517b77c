"""Snapshots: what the collector read from a live cluster, kept as evidence (gzip JSON).

Layout (the decompressed text)::

    {"schema": "aks-compliance/k8s-snapshot/v1", "meta": {...},          <- line 1
    "items": [                                                            <- line 2
    {...first object...},                                                 <- line 3
    ...
    {...last object...}
    ]}

``meta`` holds the cluster's server URL and version, the collection time, the collector's identity,
each list's outcome (complete, forbidden, failed; resourceVersion, pages, retries) and the permission
gaps. One object per line makes ``file:line`` evidence meaningful (line numbers of the decompressed
text) and lets the reader stream the items. A snapshot that was reformatted (pretty-printed) still
reads, through a plain JSON parse; uncompressed snapshots (``.json``) read the same way.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from ..atomic import atomic_write
from ..diagnostics import CoverageEntry, Diagnostic
from ..errors import InputError
from ..inputfiles import open_input, open_input_stream
from ..jsonc import LineIndex, number_too_long
from ..resources import Source
from ..wording import TYPE_WORDS, json_type
from .manifests import LineDocument, ReadResult, collect

SCHEMA = "aks-compliance/k8s-snapshot/v1"
_ITEMS_LINE = '"items":['
FIRST_ITEM_LINE = 3


class SnapshotLines:
    """Line lookup for the streaming layout: ``/items/<i>/...`` is on line 3 + i, the rest on line 1."""

    __slots__ = ()
    flat = True  # every pointer below an item is on the item's line (Resource.location_of reads this)

    def nearest_line(self, ptr: str) -> tuple[int, str]:
        parts = ptr.split("/")
        if len(parts) >= 3 and parts[1] == "items" and parts[2].isdigit():
            return FIRST_ITEM_LINE + int(parts[2]), "/items/" + parts[2]
        return 1, ""


def write_snapshot(path: str | Path, meta: dict[str, Any], items: Iterable[dict[str, Any] | str]) -> int:
    """Write a snapshot; ``items`` may be a generator (nothing is held in memory) of objects or of their
    compact JSON text (one line each). Returns the count."""
    n = 0
    p = Path(path)
    with atomic_write(p) as fh:  # gzip when the name ends in .gz; a crash leaves the previous file
        fh.write(json.dumps({"schema": SCHEMA, "meta": meta}, ensure_ascii=False, separators=(",", ":"))[:-1])
        fh.write(",\n" + _ITEMS_LINE + "\n")
        for item in items:
            if n:
                fh.write(",\n")
            fh.write(item if isinstance(item, str) else json.dumps(item, ensure_ascii=False, separators=(",", ":")))
            n += 1
        fh.write("\n]}\n")
    return n


def is_snapshot_file(path: Path) -> bool:
    """A gzip file, or a JSON file whose first bytes name the snapshot schema."""
    try:
        with open_input(path) as fh:
            head = fh.read(256)
    except (OSError, InputError):
        return False
    if head[:2] == b"\x1f\x8b":
        return True
    # any aks-compliance snapshot (another version, or the Azure family): read_snapshot names what it is
    return SCHEMA.encode() in head or (b"aks-compliance/" in head and b"-snapshot/" in head)


@dataclass
class Snapshot:
    path: str
    meta: dict[str, Any]
    objects: list[tuple[dict[str, Any], Source]] = field(default_factory=list)
    sha256: str = ""
    # items that are not objects the API server would serve (a string, an object without kind or name): a
    # snapshot may be edited or corrupted, and what it holds is judged, listed or an error, never dropped
    diagnostics: list[Diagnostic] = field(default_factory=list)
    skipped: list[CoverageEntry] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"Snapshot({self.path!r}, {len(self.objects)} objects)"


# Decompressed: a snapshot's objects are kept in memory (several times their JSON size) while a scan runs.
MAX_SNAPSHOT_BYTES = 512 * 1024 * 1024


def _open_text(path: Path) -> io.TextIOBase:
    """The snapshot's text, gzip or plain, failing past MAX_SNAPSHOT_BYTES (decompressed)."""
    return io.TextIOWrapper(open_input_stream(path, MAX_SNAPSHOT_BYTES, "the snapshot"), encoding="utf-8-sig")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open_input(path) as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _stream(path: Path, file: str) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """Items of a snapshot in the streaming layout, or None when the file has another layout."""
    with _open_text(path) as fh:
        first = fh.readline()
        second = fh.readline()
        if not first.startswith("{") or second.strip() != _ITEMS_LINE:
            return None
        try:
            head = json.loads(first.rstrip().rstrip(",") + "}")
        except json.JSONDecodeError:
            return None
        except ValueError as exc:  # an integer longer than Python converts: one input error, never a crash
            long = number_too_long(exc)
            raise InputError(long[0] if long else f"snapshot meta is not valid JSON: {exc}", file=file,
                             line=1) from None
        except RecursionError:
            raise InputError("snapshot meta nested too deeply to read", file=file, line=1) from None
        items: list[dict[str, Any]] = []
        line_no = FIRST_ITEM_LINE - 1
        for line in fh:
            line_no += 1
            text = line.rstrip("\n")
            if text in ("]}", ""):
                continue
            if text.endswith(","):
                text = text[:-1]
            try:
                items.append(json.loads(text))
            except json.JSONDecodeError as exc:
                raise InputError(f"snapshot item is not valid JSON: {exc.msg}", file=file, line=line_no,
                                 column=exc.colno) from None
            except ValueError as exc:
                long = number_too_long(exc)
                raise InputError(long[0] if long else f"snapshot item is not valid JSON: {exc}", file=file,
                                 line=line_no) from None
            except RecursionError:
                raise InputError("snapshot item nested too deeply to read", file=file, line=line_no) from None
        return head, items


def schema_problem(found: Any) -> str:
    """Why a file with schema ``found`` is not a snapshot this version reads (expected and actual)."""
    text = f"{found!r}" if isinstance(found, str) else "no 'schema'"
    base = f"not a Kubernetes snapshot this version reads: expected schema {SCHEMA!r}, found {text}"
    if isinstance(found, str) and found.startswith("aks-compliance/azure-snapshot/"):
        return base + " (an Azure snapshot: give it to --arm)"
    if isinstance(found, str) and found.startswith(SCHEMA.rsplit("/", 1)[0] + "/"):
        return base + " (another version of the format: read it with the aks-compliance version that wrote it)"
    return base


# the members of meta the scan reads, and their JSON types (a snapshot is an input: a hand-made or damaged one
# is refused naming the member, never a TypeError that stops the whole scan)
_META_TYPES: dict[str, type] = {"scope": str, "cluster": dict, "collected": dict, "collector": dict, "gaps": list,
                                "lists": dict}


def meta_problem(meta: dict[str, Any]) -> str | None:
    """What is wrong with a snapshot's ``meta`` for the scan (None when nothing)."""
    for key, kind in _META_TYPES.items():
        value = meta.get(key)
        if value is not None and not isinstance(value, kind):
            return f"meta.{key} must be {TYPE_WORDS[kind]}, found {json_type(value)}"
    for kind, info in (meta.get("lists") or {}).items():
        if not isinstance(info, dict):
            return f"meta.lists.{kind} must be an object, found {json_type(info)}"
    return None


def read_snapshot(path: str | Path) -> Snapshot:
    p = Path(path)
    file = str(p)
    try:
        streamed = _stream(p, file)
        if streamed is not None:
            head, items = streamed
            doc = LineDocument(file, SnapshotLines())
        else:
            with _open_text(p) as fh:
                text = fh.read()
            try:
                head = json.loads(text)
            except json.JSONDecodeError as exc:
                raise InputError(f"snapshot is not valid JSON: {exc.msg}", file=file, line=exc.lineno,
                                 column=exc.colno) from None
            except ValueError as exc:
                long = number_too_long(exc, text)
                raise InputError(long[0] if long else f"snapshot is not valid JSON: {exc}", file=file,
                                 line=long[1] if long else None) from None
            except RecursionError:
                raise InputError("snapshot is nested too deeply to read", file=file) from None
            items = head.get("items") if isinstance(head, dict) else None
            doc = LineDocument(file, LineIndex(text))
    except InputError as exc:
        if exc.line:  # a bad item, named by its line
            raise
        raise InputError(f"cannot read snapshot: {exc.message}", file=file) from None
    except (OSError, EOFError, gzip.BadGzipFile, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read snapshot: {exc}", file=file) from None
    if not isinstance(head, dict) or head.get("schema") != SCHEMA:
        raise InputError(schema_problem(head.get("schema") if isinstance(head, dict) else None), file=file, line=1)
    meta = head.get("meta")
    if not isinstance(meta, dict) or not isinstance(items, list):
        raise InputError("snapshot has no 'meta' object or no 'items' list", file=file, line=1)
    problem = meta_problem(meta)
    if problem:
        raise InputError(f"snapshot {problem}", file=file, line=1, pointer="/meta")
    snap = Snapshot(path=file, meta=meta, sha256=_sha256(p))
    read = ReadResult(objects=snap.objects, diagnostics=snap.diagnostics, skipped=snap.skipped)
    make_source = lambda ptr: Source(file, ptr, doc)  # noqa: E731
    for i, item in enumerate(items):
        collect(item, f"/items/{i}", file, FIRST_ITEM_LINE + i, make_source, read, snap.diagnostics)
    return snap
