"""Azure snapshots: what a live run read, kept as evidence (gzip JSON), re-checked offline with ``--arm``.

Layout of the decompressed text::

    {"schema": "aks-compliance/azure-snapshot/v1", "meta": {...},      <- line 1: time, tool, identity,
    "resources": [                                                         cloud, scopes, mode, counts
    {                                                                   <- one REST resource (ARM GET),
     "id": "/subscriptions/.../managedClusters/aks-prod",                  pretty-printed: evidence cites
     ...                                                                   the line of each property
    },
    ...
    ],
    "graph": [ ...managed clusters as Azure Resource Graph returned them... ],
    "exports": [ ...{subscription, resource_group, batch, template, error}... ],
    "policy_states": [ ...Azure Policy's latest states, as the REST API returns them... ],
    "errors": [ ...{kind, operation, scope, status, code, message, request_id}... ],
    "gaps": [ ...what was not read, per cluster or for every Resource Graph cluster, and why... ]
    }

Each item starts with a line ``{`` and ends with ``}`` (or ``},``) in column 0, so the reader finds the
items without a second parse and maps a JSON pointer to a line inside one item only: a snapshot of
thousands of clusters does not need a line index of the whole file. A snapshot that was reformatted
still reads (a plain parse and a whole-file line index).

Never stored: the access token (the identity comes from its claims), values of secret-looking keys
(``adminPassword``, ``clientSecret``, ``...Key``, ``...ConnectionString``: replaced by ``<redacted>``), and
default values of secure or secret-looking parameters of export templates.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from ..atomic import atomic_write
from ..errors import InputError
from ..jsonc import JsonDocument, LineIndex, number_too_long
from ..inputfiles import GZIP_MAGIC, gunzip, open_input_stream, read_input
from ..redaction import SECRET_PARAMETER, is_secure_type, scrub

SCHEMA = "aks-compliance/azure-snapshot/v1"
SECTIONS = ("resources", "graph", "exports", "policy_states", "errors", "gaps")


# -- writing ---------------------------------------------------------------------------------------------

def scrub_template(template: Any, counter: list[int] | None = None) -> Any:
    """An export template without default values of secure or secret-looking parameters, then :func:`scrub`."""
    if not isinstance(template, dict):
        return template
    params = template.get("parameters")
    if isinstance(params, dict):
        cleaned = {}
        for name, spec in params.items():
            secure = isinstance(spec, dict) and is_secure_type(spec.get("type"))
            if isinstance(spec, dict) and "defaultValue" in spec and (secure or SECRET_PARAMETER.search(name)):
                spec = {k: v for k, v in spec.items() if k != "defaultValue"}
                if counter is not None:
                    counter[0] += 1
            cleaned[name] = spec
        template = {**template, "parameters": cleaned}
    return scrub(template, counter)


def _dump(item: Any) -> str:
    return json.dumps(item, indent=1, ensure_ascii=False)


def write_snapshot(path: str | Path, meta: dict[str, Any],
                   sections: dict[str, Iterable[dict[str, Any]]]) -> dict[str, int]:
    """Write a snapshot (gzip when the name ends in .gz). Returns the item count per section."""
    p = Path(path)
    counts: dict[str, int] = {}
    with atomic_write(p) as fh:  # gzip when the name ends in .gz; a crash leaves the previous file
        fh.write(json.dumps({"schema": SCHEMA, "meta": meta}, ensure_ascii=False)[:-1] + ",\n")
        for si, name in enumerate(SECTIONS):
            fh.write(f'"{name}": [\n')
            n = 0
            for item in sections.get(name, ()):
                if n:
                    fh.write(",\n")
                fh.write(_dump(item))
                n += 1
            counts[name] = n
            fh.write(("\n" if n else "") + ("],\n" if si < len(SECTIONS) - 1 else "]\n"))
        fh.write("}\n")
    return counts


def is_azure_snapshot(path: str | Path) -> bool:
    """A file (not a directory) whose first line names the Azure snapshot schema, gzip or plain."""
    p = Path(path)
    try:
        if not p.is_file():
            return False
        with open_input_stream(p, MAX_SNAPSHOT_BYTES, "the snapshot") as fh:
            head = fh.read(512)
    except (OSError, EOFError, InputError):
        return False
    # any aks-compliance snapshot (another version, or the Kubernetes family): read_snapshot names what it is
    return SCHEMA.encode() in head or (b"aks-compliance/" in head and b"-snapshot/" in head)


# -- reading ---------------------------------------------------------------------------------------------

class _Block:
    __slots__ = ("start", "text", "_index")

    def __init__(self, start: int, text: str) -> None:
        self.start = start
        self.text = text
        self._index: LineIndex | None = None

    def nearest_line(self, ptr: str) -> tuple[int, str]:
        if self._index is None:
            self._index = LineIndex(self.text)
        line, found = self._index.nearest_line(ptr)
        return self.start + line - 1, found


class BlockLines:
    """``nearest_line`` for the snapshot layout: ``/<section>/<i>/...`` inside item i's own text."""

    def __init__(self, blocks: dict[str, list[_Block]]) -> None:
        self.blocks = blocks

    def nearest_line(self, ptr: str) -> tuple[int, str]:
        parts = ptr.split("/", 3)
        if len(parts) >= 3 and parts[2].isdigit():
            items = self.blocks.get(parts[1])
            i = int(parts[2])
            if items is not None and i < len(items):
                line, found = items[i].nearest_line("/" + parts[3] if len(parts) > 3 else "")
                return line, f"/{parts[1]}/{i}{found}"
        return 1, ""


@dataclass
class AzureSnapshot:
    path: str
    doc: JsonDocument
    sha256: str
    meta: dict[str, Any] = field(default_factory=dict)

    def section(self, name: str) -> list[dict[str, Any]]:
        items = self.doc.data.get(name)
        return items if isinstance(items, list) else []


# Decompressed, like a Kubernetes snapshot's limit: the whole text is parsed in memory.
MAX_SNAPSHOT_BYTES = 512 * 1024 * 1024


def _read_text(path: Path) -> tuple[str, str]:
    raw = read_input(path, MAX_SNAPSHOT_BYTES, "the snapshot")
    sha = hashlib.sha256(raw).hexdigest()
    if raw[:2] == GZIP_MAGIC:
        try:
            raw = gunzip(raw, path, MAX_SNAPSHOT_BYTES, "the snapshot")
        except InputError as exc:
            raise InputError(exc.message if "limit" in exc.message else
                             f"the snapshot is not readable gzip: {exc.message}", str(path)) from None
    try:
        return raw.decode("utf-8-sig"), sha
    except UnicodeDecodeError as exc:
        raise InputError(f"the snapshot is not UTF-8 text: {exc}", str(path)) from None


_SECTION_START = re.compile(r'^"([a-z_]+)": \[$')


def _split(text: str) -> tuple[dict[str, Any], dict[str, list[_Block]]] | None:
    """The items of a snapshot in the writer's layout, or None when the text has another layout."""
    first, _, rest = text.partition("\n")
    if not first.startswith("{") or not first.rstrip().endswith(","):
        return None
    try:
        head = json.loads(first.rstrip()[:-1] + "}")
    except ValueError:  # not this layout, or a number Python cannot convert: the whole text says which
        return None
    data: dict[str, Any] = dict(head)
    blocks: dict[str, list[_Block]] = {}
    section: str | None = None
    start = 0
    buf: list[str] = []
    for n, line in enumerate(io.StringIO(rest), start=2):
        line = line.rstrip("\n")
        if section is None:
            m = _SECTION_START.match(line)
            if m:
                section = m.group(1)
                data[section], blocks[section] = [], []
                continue
            if line == "}" or line == "":
                continue
            return None
        if buf:
            buf.append(line)
            if line in ("}", "},"):
                text_item = "\n".join(buf)[: -1 if line == "}," else None]
                try:
                    data[section].append(json.loads(text_item))
                except ValueError:
                    return None
                blocks[section].append(_Block(start, text_item))
                buf = []
            continue
        if line == "{":
            start, buf = n, [line]
        elif line in ("]", "],"):
            section = None
        else:
            return None
    if buf or section is not None:
        return None
    return data, blocks


def read_snapshot(path: str | Path) -> AzureSnapshot:
    """Read a snapshot; InputError (naming the file) when it is not one."""
    p = Path(path)
    try:
        text, sha = _read_text(p)
    except OSError as exc:
        raise InputError(f"cannot read the snapshot: {exc.strerror or exc}", str(p)) from None
    try:
        split = _split(text)
    except RecursionError:
        raise InputError("the snapshot is nested too deeply to read", str(p)) from None
    if split is not None:
        data, blocks = split
        doc = JsonDocument(str(path), data, text)
        doc._lines = BlockLines(blocks)  # type: ignore[assignment]
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"the snapshot is not JSON: {exc.msg}", str(p), exc.lineno) from None
        except ValueError as exc:  # an integer longer than Python converts: one input error, never a crash
            long = number_too_long(exc, text)
            raise InputError(long[0] if long else f"the snapshot is not JSON: {exc}", str(p),
                             long[1] if long else None) from None
        except RecursionError:
            raise InputError("the snapshot is nested too deeply to read", str(p)) from None
        doc = JsonDocument(str(path), data, text)
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        found = data.get("schema") if isinstance(data, dict) else None
        hint = ""
        if isinstance(found, str) and found.startswith("aks-compliance/k8s-snapshot/"):
            hint = " (a Kubernetes snapshot: give it to --k8s)"
        elif isinstance(found, str) and found.startswith(SCHEMA.rsplit("/", 1)[0] + "/"):
            hint = " (another version of the format: read it with the aks-compliance version that wrote it)"
        shown = repr(found) if isinstance(found, str) else "no 'schema'"
        raise InputError(f"not an Azure snapshot this version reads: expected schema {SCHEMA!r}, found "
                         f"{shown}{hint}", str(p), 1)
    meta = data.get("meta") if isinstance(data.get("meta"), dict) else {}
    return AzureSnapshot(str(path), doc, sha, meta)
