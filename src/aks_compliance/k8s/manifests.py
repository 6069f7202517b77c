"""Reading Kubernetes manifests: YAML (multi-document, Helm ``template`` output) and JSON, ``List`` kinds.

Every object keeps where it came from: the file, a JSON pointer into the file (``/<document>`` for
YAML, then ``/items/<i>`` inside a List) and, through a pointer -> line map built from PyYAML's node
marks, the line of any field inside it, so evidence cites ``file:line``. Bad input (invalid YAML,
duplicate keys, an object without a name) is an error diagnostic naming file and line; the file is
skipped and the rest of the scan goes on. Documents that are not Kubernetes objects (kustomize
configuration, JSON patches, empty documents) are skipped with a warning or silently (empty).

Hostile YAML is bounded: PyYAML's safe loader (no Python tags; an unknown tag such as ``!Ref`` or
``!!python/object`` is an error, never constructed), at most :data:`MAX_YAML_NODES` nodes per file
(counted from the parser's events before any node is built), aliases expanding a document by at most
:data:`MAX_ALIAS_EXPANSION` values (a "billion laughs" document is small as a graph but explodes in
anything that walks it as a tree) and no recursive aliases.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..diagnostics import NOT_EVALUATED, SKIPPED, CoverageEntry, Diagnostic
from ..discovery import no_input_message, own_output, own_output_reason, walk
from ..errors import InputError
from ..inputfiles import decode_text, read_input
from ..jsonc import LineIndex, escape_pointer_token, parse_json
from ..resources import Source
from ..wording import json_type

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
MAX_MANIFEST_BYTES = 64 * 1024 * 1024
# Each node costs about 500 bytes while a file is read (node, marks, value, its pointer -> line entry):
# 2,000,000 nodes is about 35,000 typical objects in one file. Bigger inventories: use a snapshot.
MAX_YAML_NODES = 2_000_000
_COUNT_NODES_ABOVE = 512 * 1024  # a smaller file cannot hold enough nodes to matter
MAX_ALIAS_EXPANSION = 100_000  # values aliases may add to one document, expanded as a tree
MAX_INT_DIGITS = 4000  # Python refuses to convert longer digit strings (sys.get_int_max_str_digits)
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# A byte order mark opening a document of a stream (the line after its '---'): kubectl splits a stream at '---'
# lines and decodes each document as a stream of its own (apimachinery's YAMLReader, then go-yaml), which drops a
# BOM at its start; libyaml reads one stream and counts the BOM as a column, so the document's first key is
# indented by one and the next line ends it. Dropped here as kubectl does.
_BOM_AFTER_MARKER = re.compile(r"^(---(?:[ \t][^\n]*|\r)?\n)\ufeff", re.M)


class ScalarTagError(ValueError):
    """A scalar its explicit tag cannot read (``!!int abc``): named by tag and line, never by its text (it may be a
    secret, and Python's own message quotes it: "invalid literal for int() with base 10: '...'")."""

    def __init__(self, node: yaml.Node) -> None:
        tag = node.tag.replace("tag:yaml.org,2002:", "!!") if isinstance(node.tag, str) else "its tag"
        super().__init__(f"a value tagged {tag} is not one")
        self.line = node.start_mark.line + 1


class TextDatesLoader(_Loader):  # type: ignore[misc, valid-type]
    """Timestamps stay text, for files whose dates are validated field by field (waivers, attestations):
    ``expires: 2027-02-30`` is then an error naming the entry, not a failure of the whole document."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        # what PyYAML's scalar constructors raise on text not of their tag: KeyError (!!bool), AttributeError
        # (!!timestamp of an empty text), ValueError (!!int, !!float)
        except (ValueError, TypeError, OverflowError, KeyError, IndexError, AttributeError) as exc:
            if isinstance(node, yaml.ScalarNode) and not isinstance(exc, ScalarTagError):
                raise ScalarTagError(node) from None
            raise


TextDatesLoader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_yaml_str)


class KubeYamlLoader(TextDatesLoader):
    """Scalars as Kubernetes reads YAML (sigs.k8s.io/yaml decodes with go-yaml v2 into interface{}, then JSON): a
    timestamp stays the text it is (`version: 2024-01-01` is the label value "2024-01-01", not a date), unless
    explicitly tagged !!timestamp and not a date, and ``!!binary`` is the text it encodes."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._text = stream if isinstance(stream, str) else None

    def construct_text_of_timestamp(self, node: yaml.Node) -> str:
        # An explicit !!timestamp must be a date (go-yaml fails "cannot decode !!str as a !!timestamp"); a plain
        # scalar that only looks like one (2024-13-45) is text. The node starts at its tag when it has one.
        if self._text is not None and self._text.startswith("!", node.start_mark.index):
            yaml.SafeLoader.construct_yaml_timestamp(self, node)  # raises ValueError for a date that is not one
        return node.value

    def construct_text_of_binary(self, node: yaml.Node) -> str:
        # go-yaml sets string(data); JSON then replaces bytes that are not UTF-8
        return yaml.SafeLoader.construct_yaml_binary(self, node).decode("utf-8", errors="replace")


KubeYamlLoader.add_constructor("tag:yaml.org,2002:timestamp", KubeYamlLoader.construct_text_of_timestamp)
KubeYamlLoader.add_constructor("tag:yaml.org,2002:binary", KubeYamlLoader.construct_text_of_binary)
DUPLICATE_KEY = "key {key!r} appears twice in the same mapping (kubectl rejects this)"


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
    skipped: list[CoverageEntry] = field(default_factory=list)  # files and directories not read, and why


HELM_HINT = "a Helm chart: render it with `helm template` and scan the output"


def helm_chart(path: Path) -> str | None:
    """A directory holding Chart.yaml is a Helm chart: its templates are not manifests until rendered."""
    return HELM_HINT if (path / "Chart.yaml").is_file() or (path / "Chart.yml").is_file() else None


def discover(path: Path, exclude: Any = (), reserved: Any = None) -> Any:
    """Manifest files under ``path`` (recursively, sorted; hidden directories, the default exclusions,
    ``exclude`` and Helm charts left out and listed), or the file itself."""
    return walk([str(path)], "k8s", lambda p: p.suffix.lower() in MANIFEST_SUFFIXES, exclude,
                other_dir=helm_chart, reserved=reserved)


def _decode(raw: bytes, file: str) -> str:
    return decode_text(raw, file)


def read_bytes(path: Path) -> bytes:
    return read_input(path, MAX_MANIFEST_BYTES, "the manifest file")


# -- YAML with lines ---------------------------------------------------------------------------------

def _key_text(node: yaml.Node) -> str:
    return str(node.value) if isinstance(node, yaml.ScalarNode) else f"<{node.tag}>"


def _walk(node: yaml.Node, ptr: str, lines: PointerLines | None, seen: set[int], file: str,
          duplicate: str = DUPLICATE_KEY, depth: int = 0, line_depth: int | None = None) -> None:
    """Record the line of ``node`` and everything below it (to ``line_depth`` levels; deeper only the
    checks); fail on duplicate keys as kubectl does."""
    if id(node) in seen:  # an alias: its lines are those of the anchor (bounded work on alias bombs)
        return
    seen.add(id(node))
    if line_depth is not None and depth >= line_depth:
        lines = None
    if isinstance(node, yaml.MappingNode):
        keys: set[str] = set()
        for k, v in node.value:
            key = _key_text(k)
            if key == "<<" and k.tag.endswith(":merge"):
                continue
            if key in keys:
                raise InputError(duplicate.format(key=key), file=file, line=k.start_mark.line + 1,
                                 column=k.start_mark.column + 1)
            keys.add(key)
            child = ptr + "/" + escape_pointer_token(key) if lines is not None else ptr
            if lines is not None:
                lines.set(child, k.start_mark.line + 1)
            _walk(v, child, lines, seen, file, duplicate, depth + 1, line_depth)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            child = f"{ptr}/{i}" if lines is not None else ptr
            if lines is not None:
                lines.set(child, item.start_mark.line + 1)
            _walk(item, child, lines, seen, file, duplicate, depth + 1, line_depth)
    elif node.tag.endswith(":int") and len(node.value) > MAX_INT_DIGITS:
        raise InputError(f"a number of {len(node.value):,} digits (more than {MAX_INT_DIGITS:,} cannot be read)",
                         file=file, line=node.start_mark.line + 1, column=node.start_mark.column + 1)


def _count_nodes(text: str, file: str) -> None:
    """Refuse a file of more than MAX_YAML_NODES nodes before composing any (flat memory: events only)."""
    loader = _Loader(text)
    n = 0
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, (yaml.ScalarEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                n += 1
                if n > MAX_YAML_NODES:
                    raise InputError(f"more than {MAX_YAML_NODES:,} YAML values in one file (the limit that keeps "
                                     "memory bounded); split the file, or scan a cluster snapshot instead",
                                     file=file, line=event.start_mark.line + 1)
    except yaml.YAMLError:
        pass  # the real parse reports it, with its place
    finally:
        loader.dispose()


def _check_aliases(root: yaml.Node, file: str) -> None:
    """Refuse a document whose aliases expand it by more than MAX_ALIAS_EXPANSION values, or refer to
    themselves (a cycle). Linear in the distinct nodes: each node's expanded size is computed once."""
    size: dict[int, int] = {}
    visiting: set[int] = set()
    distinct = 0
    shared: yaml.Node | None = None  # the first node reached twice: an anchor that aliases reuse
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            visiting.discard(key)
            kids = [c for kv in node.value for c in kv] if isinstance(node, yaml.MappingNode) else node.value
            size[key] = min(1 + sum(size[id(c)] for c in kids), 1 << 40)
            continue
        if key in size:
            shared = shared or node
            continue
        if key in visiting:
            raise InputError("a YAML alias refers to a node that contains it (a recursive alias): the value "
                             "would be infinite", file=file, line=node.start_mark.line + 1)
        distinct += 1
        if isinstance(node, yaml.ScalarNode):
            size[key] = 1
            continue
        visiting.add(key)
        stack.append((node, True))
        kids = [c for kv in node.value for c in kv] if isinstance(node, yaml.MappingNode) else node.value
        stack.extend((c, False) for c in reversed(kids))
    extra = size[id(root)] - distinct
    if extra > MAX_ALIAS_EXPANSION:
        where = f"; the anchor at line {shared.start_mark.line + 1} is reused" if shared is not None else ""
        raise InputError(f"YAML aliases expand this document by {extra:,} values, over the limit of "
                         f"{MAX_ALIAS_EXPANSION:,} (an alias bomb?){where}",
                         file=file, line=root.start_mark.line + 1)


def parse_yaml_stream(text: str, file: str, line_offset: int = 0, first_index: int = 0,
                      loader: Any = KubeYamlLoader, duplicate: str = DUPLICATE_KEY, line_depth: int | None = None
                      ) -> tuple[list[tuple[int, Any, int]], PointerLines]:
    """[(document index, data, first line)] and the file's pointer -> line map (pointers ``/<doc>/...``).

    ``line_offset`` and ``first_index``: ``text`` is a part of a file starting after that many lines, whose
    first document has that index (used to read the documents of a broken file one by one)."""
    lines = PointerLines()
    docs: list[tuple[int, Any, int]] = []
    if "\ufeff" in text:
        text = _BOM_AFTER_MARKER.sub(r"\1", text)
    if len(text) > _COUNT_NODES_ABOVE and not line_offset:
        _count_nodes(text, file)
    # an alias needs an anchor ('&'): a text without one cannot expand or recurse, so skip the check
    anchors = "&" in text
    loader = loader(text)
    node: yaml.Node | None = None
    try:
        index = first_index
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                index += 1
                continue
            ptr = f"/{index}"
            lines.set(ptr, node.start_mark.line + 1)
            if anchors:
                _check_aliases(node, file)
            _walk(node, ptr, lines, set(), file, duplicate, line_depth=line_depth)
            try:
                data = loader.construct_document(node)
            except ScalarTagError as exc:  # e.g. !!timestamp of a date that is not one, !!int of a word
                raise InputError(f"a value cannot be read: {exc}", file=file, line=exc.line) from None
            except (ValueError, TypeError, OverflowError) as exc:
                raise InputError(f"a value cannot be read: {str(exc).split('; ')[0]}", file=file,
                                 line=node.start_mark.line + 1) from None
            docs.append((index, data, node.start_mark.line + 1 + line_offset))
            index += 1
    except InputError as exc:
        if exc.line is not None and line_offset:
            exc.line += line_offset
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        raise InputError(f"invalid YAML: {problem}", file=file,
                         line=mark.line + 1 + line_offset if mark else None,
                         column=mark.column + 1 if mark else None) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow: no mark, a position
        hint = " (UTF-16 text without its byte order mark?)" if exc.character in (0, "\x00") else ""
        raise InputError(f"invalid YAML: {exc.reason}, character #x{ord(exc.character) if isinstance(exc.character, str) else exc.character:04x}"
                         f"{hint}", file=file, line=text.count("\n", 0, exc.position) + 1 + line_offset) from None
    except yaml.YAMLError as exc:
        raise InputError(f"invalid YAML: {exc}", file=file) from None
    except RecursionError:
        raise InputError("YAML nested too deeply to read", file=file,
                         line=node.start_mark.line + 1 + line_offset if node is not None else None) from None
    finally:
        loader.dispose()
    if line_offset:
        lines._lines = {k: v + line_offset for k, v in lines._lines.items()}
    return docs, lines


_DOCUMENT_START = re.compile(r"^---(?:[ \t]|$)", re.M)


def _documents_of_broken_file(text: str, file: str) -> tuple[list[InputError], list[str]]:
    """A file whose stream does not parse, read one document at a time (split at ``---`` lines, which
    YAML never allows inside a document): every broken document's error, and the objects of the good
    ones (``Kind namespace/name (line N)``), so the report can say what was not checked."""
    starts = [0] + [m.start() for m in _DOCUMENT_START.finditer(text) if m.start()]
    errors: list[InputError] = []
    objects: list[str] = []
    index = 0
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(text)
        part = text[start:end]
        offset = text.count("\n", 0, start)
        try:
            docs, _ = parse_yaml_stream(part, file, line_offset=offset, first_index=index)
        except InputError as exc:
            if exc.line is None:
                exc.line = offset + 1
            errors.append(exc)
            index += 1
            continue
        index += max(1, len(docs))
        for _i, data, line in docs:
            items = data.get("items") if isinstance(data, dict) and _is_list(data) else [data]
            for item in items:
                if isinstance(item, dict) and isinstance(item.get("kind"), str):
                    objects.append(f"{item['kind']} {_display_name(item)} (line {line})")
    return errors, objects


def _display_name(obj: dict[str, Any]) -> str:
    m = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    return "/".join(str(x) for x in (m.get("namespace"), m.get("name")) if x) or "(unnamed)"


def _not_checked(objects: list[str]) -> str:
    if not objects:
        return ""
    shown = ", ".join(objects[:5]) + (f" and {len(objects) - 5} more" if len(objects) > 5 else "")
    return (f"; the file's other objects are not checked either ({shown}): objects checked without the rest "
            "of their file could fail falsely")


# -- objects -------------------------------------------------------------------------------------------

def _is_list(doc: dict[str, Any]) -> bool:
    kind = doc.get("kind")
    return isinstance(kind, str) and kind.endswith("List") and isinstance(doc.get("items"), list)


def _object_problem(obj: Any) -> str | None:
    """Why ``obj`` cannot be checked as a Kubernetes object (None when it can)."""
    if not isinstance(obj, dict):
        return f"not a Kubernetes object ({json_type(obj)})"
    kind = obj.get("kind")
    if kind is None:  # absent or null
        return "not a Kubernetes object (no 'kind')"
    if not isinstance(obj.get("apiVersion"), str):
        return f"{kind if isinstance(kind, str) and kind else 'a document'} has no 'apiVersion'"
    return None  # a kind of the wrong type beside an apiVersion is an error (_kind_problem)


ARM_HINT = "scan it with --arm"
KUSTOMIZE_HINT = "kustomize configuration, not a cluster object: render it with 'kustomize build' and scan the output"
_KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "kustomization")


def _other_tool(doc: dict[str, Any], file: str) -> str | None:
    """What a document that is no cluster object is for, when that is known, and what to do with it: a
    kustomization (which may omit apiVersion and kind) is rendered first, an ARM input goes to --arm."""
    if doc.get("kind") == "Kustomization" or str(doc.get("apiVersion", "")).startswith("kustomize.config.k8s.io") \
            or (Path(file).name.lower() in _KUSTOMIZATION_FILES and "kind" not in doc):
        return KUSTOMIZE_HINT
    if "kind" in doc:
        return None
    from ..arm.inputs import classify  # the ARM reader only for a document without a kind
    what = classify(doc)
    if what is not None:
        noun = {"template": "an ARM template", "parameters": "an ARM parameter file"}.get(what, "Azure resource JSON")
        return f"{noun}, not a Kubernetes object: {ARM_HINT}"
    return None


def _kind_problem(obj: dict[str, Any]) -> str | None:
    """A document that names a kind that is not a non-empty string (``kind: [Pod]``, ``kind: ""``)."""
    kind = obj.get("kind")
    if isinstance(kind, str) and kind:
        return None
    shown = "empty" if kind == "" else json_type(kind)
    return f"kind must be a non-empty string (the API server rejects anything else), found {shown}"


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


def collect(doc: Any, ptr: str, file: str, line: int, make_source, result: ReadResult,
            errors: list[Diagnostic]) -> None:
    """Sort one document (or a List's items) into ``result``: an object to judge, a document skipped with its
    reason (listed in the coverage), or an error the API server would have rejected (into ``errors``)."""
    if doc is None:
        return
    if isinstance(doc, dict) and _is_list(doc):
        list_kind = doc["kind"]
        item_kind = list_kind[:-4] if list_kind != "List" else None
        for i, item in enumerate(doc["items"]):
            iptr = f"{ptr}/items/{i}"
            if isinstance(item, dict) and "kind" not in item and item_kind:
                item = {"kind": item_kind, "apiVersion": doc.get("apiVersion", "v1"), **item}
            collect(item, iptr, file, line, make_source, result, errors)
        return
    problem = _object_problem(doc)
    if isinstance(doc, dict) and (problem is None or doc.get("kind") is None):
        problem = _other_tool(doc, file) or problem
    if problem is not None:
        src = make_source(ptr)
        result.diagnostics.append(Diagnostic("warning", f"skipped: {problem}", file, ptr, src.line or line))
        # listed in the scan's coverage too: read, and judged by nothing
        result.skipped.append(CoverageEntry(family="k8s", type="document", name=f"{file}#{ptr or '/'}",
                                            status=NOT_EVALUATED, reason=f"skipped: {problem}", file=file,
                                            pointer=ptr, line=src.line or line, relevant=False))
        return
    kind_problem = _kind_problem(doc)
    if kind_problem is not None:  # an object the API server rejects: an error, never skipped in silence
        src = make_source(ptr)
        errors.append(Diagnostic("error", kind_problem, file, ptr, src.line or line))
        return
    name_problem = _name_problem(doc)
    if name_problem is not None:
        src = make_source(ptr)
        errors.append(Diagnostic("error", name_problem, file, ptr, src.line or line))
        return
    result.objects.append((doc, make_source(ptr)))


def read_file(path: Path) -> ReadResult:
    """The objects of one manifest file. On an error the file contributes no objects, only the error(s)."""
    file = str(path)
    result = ReadResult()
    text = ""
    try:
        raw = read_bytes(path)
        sha = hashlib.sha256(raw).hexdigest()
        text = _decode(raw, file)
        errors: list[Diagnostic] = []
        if path.suffix.lower() == ".json":
            data = parse_json(text, file)
            own = own_output(data)
            if own is not None:  # this tool's own output (results, SARIF, a snapshot): never read back
                result.skipped.append(CoverageEntry(family="k8s", type="file", name=file, status=SKIPPED,
                                                    reason=own_output_reason(own), file=file, line=1, relevant=False))
                return result
            doc = LineDocument(file, LineIndex(text))
            collect(data, "", file, 1, lambda ptr: Source(file, ptr, doc), result, errors)
        else:
            docs, lines = parse_yaml_stream(text, file)
            ydoc = LineDocument(file, lines)
            for index, data, line in docs:
                collect(data, f"/{index}", file, line, lambda ptr: Source(file, ptr, ydoc), result, errors)
    except InputError as exc:
        failed = [exc]
        others: list[str] = []
        if text and path.suffix.lower() != ".json" and _DOCUMENT_START.search(text) and \
                not exc.message.startswith("more than"):
            failed, others = _documents_of_broken_file(text, file)
            failed = failed or [exc]
        diagnostics = [Diagnostic("error", e.message + (_not_checked(others) if i == 0 else ""), e.file or file,
                                  e.pointer or "", e.line) for i, e in enumerate(failed)]
        return ReadResult(diagnostics=diagnostics, inputs=[{"path": file, "sha256": "", "kind": "k8s-manifest"}])
    if errors:
        checked = [f"{o['kind']} {_display_name(o)} (line {src.line})" for o, src in result.objects]
        result.objects = []
        first = errors[0]
        errors[0] = Diagnostic(first.severity, first.message + _not_checked(checked), first.file, first.pointer,
                               first.line)
        result.diagnostics.extend(errors)
    result.inputs.append({"path": file, "sha256": sha, "kind": "k8s-manifest"})
    return result


def read_manifests(path: Path, exclude: Any = (), reserved: Any = None) -> ReadResult:
    """Every object of every manifest file under ``path``."""
    total = ReadResult()
    if path.is_dir() and helm_chart(path):
        total.diagnostics.append(Diagnostic("error", HELM_HINT, str(path)))
        return total
    found = discover(path, exclude, reserved)
    total.skipped.extend(found.skipped)
    total.diagnostics.extend(Diagnostic("error", why, where) for where, why in found.unreadable)
    for f in found.files:
        r = read_file(f)
        total.objects.extend(r.objects)
        total.diagnostics.extend(r.diagnostics)
        total.inputs.extend(r.inputs)
        total.skipped.extend(r.skipped)
    if not path.is_dir():  # named on the command line: a file that is not an input is an error, not a skip
        total.diagnostics.extend(Diagnostic("error", e.reason, e.name, "", e.line) for e in total.skipped
                                 if e.status == SKIPPED)
        total.skipped = [e for e in total.skipped if e.status != SKIPPED]
        if not total.objects:  # and so is an ARM input, as `--arm deploy.yaml` is: the other option is meant
            total.diagnostics = [Diagnostic("error", d.message[len("skipped: "):], d.file, d.pointer, d.line)
                                 if d.severity == "warning" and d.message.startswith("skipped: ")
                                 and d.message.endswith(ARM_HINT) else d for d in total.diagnostics]
    elif not total.inputs:
        listed, anything = found.roots.get(str(path), (0, False))
        files = sum(1 for e in total.skipped if e.status == SKIPPED)
        total.diagnostics.append(Diagnostic("warning", no_input_message(
            listed + files - len(found.skipped), anything,
            "manifest files (.yaml, .yml, .json)"), str(path)))
    return total
