"""Reading Kubernetes manifests: YAML (multi-document, Helm ``template`` output) and JSON, ``List`` kinds.

Every object keeps where it came from: the file, a JSON pointer into the file (``/<document>`` for
YAML, then ``/items/<i>`` inside a List) and, through a pointer -> line map built from PyYAML's node
marks, the line of any field inside it, so evidence cites ``file:line``. Bad input (invalid YAML,
duplicate keys, an object without a name) is an error diagnostic naming file and line; the file is
skipped and the rest of the scan goes on. Documents that are not Kubernetes objects (kustomize
configuration, JSON patches, empty documents) are skipped with a warning or silently (empty).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..arm.template import Diagnostic
from ..errors import InputError
from ..jsonc import LineIndex, escape_pointer_token, parse_json
from ..resources import Source

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
MAX_MANIFEST_BYTES = 64 * 1024 * 1024
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class PointerLines:
    """Pointer -> line for one YAML file; the same lookup interface as :class:`jsonc.LineIndex`."""

    __slots__ = ("_lines",)

    def __init__(self) -> None:
        self._lines: dict[str, int] = {}

    def set(self, ptr: str, line: int) -> None:
        self._lines.setdefault(ptr.lower(), line)

    def nearest_line(self, ptr: str) -> tuple[int, str]:
        cur = ptr
        while True:
            line = self._lines.get(cur.lower())
            if line is not None:
                return line, cur
            if not cur:
                return 1, ""
            cur = cur.rsplit("/", 1)[0]


class LineDocument:
    """What :class:`resources.Source` needs of a document: its path and a ``lines`` lookup."""

    __slots__ = ("path", "lines")

    def __init__(self, path: str, lines: Any) -> None:
        self.path = path
        self.lines = lines


@dataclass
class ReadResult:
    objects: list[tuple[dict[str, Any], Source]] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    inputs: list[dict[str, Any]] = field(default_factory=list)


def discover(path: Path) -> list[Path]:
    """Manifest files under ``path`` (recursively, sorted; hidden entries skipped), or the file itself."""
    if path.is_file():
        return [path]
    out = []
    for p in sorted(path.rglob("*")):
        rel = p.relative_to(path)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if p.is_file() and p.suffix.lower() in MANIFEST_SUFFIXES:
            out.append(p)
    return out


def _decode(raw: bytes, file: str) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    elif raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(f"not UTF-8 text (byte {exc.start})", file=file, line=line) from None


def read_bytes(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_MANIFEST_BYTES:
            raise InputError(f"file is {size / 1048576:.1f} MB, over the {MAX_MANIFEST_BYTES // 1048576} MB "
                             "limit for a manifest file", file=str(path))
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror or exc}", file=str(path)) from None


# -- YAML with lines ---------------------------------------------------------------------------------

def _key_text(node: yaml.Node) -> str:
    return str(node.value) if isinstance(node, yaml.ScalarNode) else f"<{node.tag}>"


def _walk(node: yaml.Node, ptr: str, lines: PointerLines, seen: set[int], file: str) -> None:
    """Record the line of ``node`` and everything below it; fail on duplicate keys as kubectl does."""
    if id(node) in seen:  # an alias: its lines are those of the anchor (bounded work on alias bombs)
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        keys: set[str] = set()
        for k, v in node.value:
            key = _key_text(k)
            if key == "<<" and k.tag.endswith(":merge"):
                continue
            if key in keys:
                raise InputError(f"key {key!r} appears twice in the same mapping (kubectl rejects this)",
                                 file=file, line=k.start_mark.line + 1, column=k.start_mark.column + 1)
            keys.add(key)
            child = ptr + "/" + escape_pointer_token(key)
            lines.set(child, k.start_mark.line + 1)
            _walk(v, child, lines, seen, file)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            child = f"{ptr}/{i}"
            lines.set(child, item.start_mark.line + 1)
            _walk(item, child, lines, seen, file)


def parse_yaml_stream(text: str, file: str) -> tuple[list[tuple[int, Any, int]], PointerLines]:
    """[(document index, data, first line)] and the file's pointer -> line map (pointers ``/<doc>/...``)."""
    lines = PointerLines()
    docs: list[tuple[int, Any, int]] = []
    loader = _Loader(text)
    try:
        index = 0
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                index += 1
                continue
            ptr = f"/{index}"
            lines.set(ptr, node.start_mark.line + 1)
            _walk(node, ptr, lines, set(), file)
            docs.append((index, loader.construct_document(node), node.start_mark.line + 1))
            index += 1
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        raise InputError(f"invalid YAML: {problem}", file=file,
                         line=mark.line + 1 if mark else None, column=mark.column + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise InputError(f"invalid YAML: {exc}", file=file) from None
    except RecursionError:
        raise InputError("YAML nested too deeply to read", file=file) from None
    finally:
        loader.dispose()
    return docs, lines


# -- objects -------------------------------------------------------------------------------------------

def _is_list(doc: dict[str, Any]) -> bool:
    kind = doc.get("kind")
    return isinstance(kind, str) and kind.endswith("List") and isinstance(doc.get("items"), list)


def _object_problem(obj: Any) -> str | None:
    """Why ``obj`` cannot be checked as a Kubernetes object (None when it can)."""
    if not isinstance(obj, dict):
        return f"not a Kubernetes object (a YAML {type(obj).__name__})"
    if not isinstance(obj.get("kind"), str) or not obj.get("kind"):
        return "not a Kubernetes object (no 'kind')"
    if not isinstance(obj.get("apiVersion"), str):
        return f"{obj['kind']} has no 'apiVersion'"
    return None


def _name_problem(obj: dict[str, Any]) -> str | None:
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        return f"{obj['kind']} has no 'metadata' object"
    name = meta.get("name")
    if not (isinstance(name, str) and name) and not (isinstance(meta.get("generateName"), str)
                                                     and meta.get("generateName")):
        return f"{obj['kind']} has no metadata.name"
    ns = meta.get("namespace")
    if ns is not None and not isinstance(ns, str):
        return f"{obj['kind']} metadata.namespace is not a string"
    return None


def _collect(doc: Any, ptr: str, file: str, line: int, make_source, result: ReadResult,
             errors: list[Diagnostic]) -> None:
    if doc is None:
        return
    if isinstance(doc, dict) and _is_list(doc):
        list_kind = doc["kind"]
        item_kind = list_kind[:-4] if list_kind != "List" else None
        for i, item in enumerate(doc["items"]):
            iptr = f"{ptr}/items/{i}"
            if isinstance(item, dict) and "kind" not in item and item_kind:
                item = {"kind": item_kind, "apiVersion": doc.get("apiVersion", "v1"), **item}
            _collect(item, iptr, file, line, make_source, result, errors)
        return
    problem = _object_problem(doc)
    if problem is None and isinstance(doc, dict) and (
            doc.get("kind") == "Kustomization" or str(doc.get("apiVersion", "")).startswith("kustomize.config.k8s.io")):
        problem = "kustomize configuration, not a cluster object: render it with 'kustomize build' and scan the output"
    if problem is not None:
        src = make_source(ptr)
        result.diagnostics.append(Diagnostic("warning", f"skipped: {problem}", file, ptr, src.line or line))
        return
    name_problem = _name_problem(doc)
    if name_problem is not None:
        src = make_source(ptr)
        errors.append(Diagnostic("error", name_problem, file, ptr, src.line or line))
        return
    result.objects.append((doc, make_source(ptr)))


def read_file(path: Path) -> ReadResult:
    """The objects of one manifest file. On an error the file contributes no objects, only the error."""
    file = str(path)
    result = ReadResult()
    try:
        raw = read_bytes(path)
        sha = hashlib.sha256(raw).hexdigest()
        text = _decode(raw, file)
        errors: list[Diagnostic] = []
        if path.suffix.lower() == ".json":
            data = parse_json(text, file)
            doc = LineDocument(file, LineIndex(text))
            _collect(data, "", file, 1, lambda ptr: Source(file, ptr, doc), result, errors)
        else:
            docs, lines = parse_yaml_stream(text, file)
            ydoc = LineDocument(file, lines)
            for index, data, line in docs:
                _collect(data, f"/{index}", file, line, lambda ptr: Source(file, ptr, ydoc), result, errors)
    except InputError as exc:
        return ReadResult(diagnostics=[Diagnostic("error", exc.message, exc.file or file, exc.pointer or "",
                                                  exc.line)], inputs=[{"path": file, "sha256": "", "kind": "k8s-manifest"}])
    if errors:
        result.objects = []
        result.diagnostics.extend(errors)
    result.inputs.append({"path": file, "sha256": sha, "kind": "k8s-manifest"})
    return result


def read_manifests(path: Path) -> ReadResult:
    """Every object of every manifest file under ``path``."""
    total = ReadResult()
    files = discover(path)
    if not files:
        total.diagnostics.append(Diagnostic("error", "no manifest files (.yaml, .yml, .json) found", str(path)))
    for f in files:
        r = read_file(f)
        total.objects.extend(r.objects)
        total.diagnostics.extend(r.diagnostics)
        total.inputs.extend(r.inputs)
    return total
