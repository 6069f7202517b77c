"""Linked templates read from disk: a nested deployment's ``templateLink.relativePath``.

ARM resolves ``relativePath`` against the location of the parent template (its URI, or its template spec's
artifacts; TemplateLink in the deployments REST reference). Offline the parent is a file, so the linked
template is the file at ``parent's directory / relativePath``: forward slashes, ``..`` allowed and resolved
as in a URI (lexically), never an absolute path or a URI, and never outside the *scanned root* (the directory
given to ``--arm`` that holds the parent, or the directory of a file given by name), symbolic links
followed. It is read as every input is (a regular file, within the size limit, UTF-8/16/32; the tool's own
outputs are never read) and must be a deployment template.

Which templates are scanned on their own (``standalone``): a file another scanned template links to is
deployed by that parent, with the parameters the parent passes; scanning it alone as well would judge its
resources twice, once with parameters ARM never sees. So a file some scanned template reaches through a link
is scanned only through that parent (listed among the inputs as linked from it).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from ..errors import InputError
from ..jsonc import JsonDocument, parse_json, read_text

_RELATIVE_PATH = re.compile("relativepath", re.IGNORECASE)
_URI_OR_DRIVE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")  # https://..., file:..., C:...


@dataclass(frozen=True)
class LinkedDoc:
    """A linked template read: its document, the template in it, and the file's identity (its real path)."""

    doc: JsonDocument
    template: dict[str, Any]
    key: str


@dataclass
class Reach:
    """One nested deployment that deployed a linked template: from which top-level file's expansion, where."""

    source: str  # key of the file whose expansion it was (a template given or found, or a REST file)
    linked: LinkedDoc
    parent: str  # path of the template holding the link (the source's, or another linked template's)
    pointer: str


def file_key(path: str) -> str:
    """A file's identity: its real path (links resolved), case-folded where the file system is."""
    return os.path.normcase(os.path.realpath(path))


@dataclass
class Linker:
    """Reads the linked templates of one scan, each file once; records which deployment reached which file.

    ``kind`` says what a parsed document is ("template", "parameters", ...; None for none) and ``why_not``
    why a document of no kind is not read (inputs.classify, inputs.not_an_arm_input)."""

    kind: Callable[[Any], str | None]
    why_not: Callable[[Any], str]
    known: dict[str, JsonDocument] = field(default_factory=dict)  # key -> a document the scan read already
    read_files: dict[str, LinkedDoc | str] = field(default_factory=dict)  # key -> linked doc, or why not
    reaches: list[Reach] = field(default_factory=list)

    keys: dict[str, str] = field(default_factory=dict)  # path -> file_key(path): realpath costs a stat per part

    def key(self, path: str) -> str:
        """``file_key(path)``, once per path in a scan."""
        key = self.keys.get(path)
        if key is None:
            key = self.keys[path] = file_key(path)
        return key

    def register(self, doc: JsonDocument) -> None:
        """A file the scan read as input: a link to it uses the same document (one path, one parse)."""
        self.known.setdefault(self.key(doc.path), doc)

    def read(self, parent: str, relative: str, root: str | None) -> LinkedDoc | str:
        """The template ``relative`` to the file ``parent`` names, or why it cannot be read (a sentence)."""
        if not relative:
            return "relativePath is empty"
        if "\\" in relative:
            return "relativePath separates folders with '/', not '\\' (it is resolved like a URI)"
        if "\0" in relative:
            return "relativePath holds a NUL character"
        if relative.startswith("/") or _URI_OR_DRIVE.match(relative):
            return ("relativePath is an absolute path or a URI: it must be relative to the parent template's "
                    "location (a URI goes in templateLink.uri)")
        path = os.path.normpath(os.path.join(os.path.dirname(parent), relative))  # '..' as a URI resolves it
        if root is None:
            return f"the location of {parent} is not known, so {relative!r} cannot be resolved"
        key = self.key(path)
        top = self.key(root)
        if os.path.commonpath([key, top]) != top:
            return (f"it resolves to {path}, outside the scanned root {root}: linked templates are read only "
                    f"within the directory given to --arm (give one that holds the parent and what it links)")
        if key not in self.read_files:
            self.read_files[key] = self._load(path, key)
        return self.read_files[key]

    def _load(self, path: str, key: str) -> LinkedDoc | str:
        doc = self.known.get(key)
        if doc is None:
            if not os.path.lexists(path):
                return f"{path} does not exist"
            try:
                text = read_text(path)
                doc = JsonDocument(path, parse_json(text, path), text)
            except InputError as exc:
                return f"{path}{f':{exc.line}' if exc.line else ''}: {exc.message}"
        kind = self.kind(doc.data)
        if kind != "template":
            what = {"parameters": "a parameter file", "resources": "resources (REST JSON or an export)"}.get(
                kind or "", self.why_not(doc.data))
            return f"{doc.path} is not an ARM template: {what}"
        return LinkedDoc(doc, doc.data, key)

    def reached(self, source: str, linked: LinkedDoc, parent: str, pointer: str) -> None:
        self.reaches.append(Reach(source, linked, parent, pointer))

    def reached_by(self, sources: Iterable[str]) -> dict[str, list[Reach]]:
        """Linked file key -> the reaches of it from the expansions of ``sources`` (in the order they were made)."""
        wanted = set(sources)
        out: dict[str, list[Reach]] = {}
        for r in self.reaches:
            if r.source in wanted and r.linked.key != r.source:
                out.setdefault(r.linked.key, []).append(r)
        return out


def static_links(doc: JsonDocument, key: Callable[[str], str] = file_key) -> set[str]:
    """Keys of the files the template ``doc`` links to by a literal relativePath, found without evaluating it:
    they are read after the templates that link to them. (A key spelt with JSON escapes is not seen here; the
    file is then expanded alone first and taken back when the link is found: inputs._settle_links.)"""
    out: set[str] = set()
    if _RELATIVE_PATH.search(doc.text) is None:  # most templates link nothing: no walk (and no lower-cased copy)
        return out
    data, parent = doc.data, doc.path
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            for k, v in value.items():
                if isinstance(k, str) and k.lower() == "templatelink" and isinstance(v, dict):
                    rel = next((x for kk, x in v.items() if isinstance(kk, str) and kk.lower() == "relativepath"), None)
                    if isinstance(rel, str) and rel and not rel.startswith("["):
                        out.add(key(os.path.normpath(os.path.join(os.path.dirname(parent), rel))))
                elif isinstance(v, (dict, list)):
                    stack.append(v)
        elif isinstance(value, list):
            stack.extend(v for v in value if isinstance(v, (dict, list)))
    return out


def standalone(order: list[str], reaches: dict[str, set[str]]) -> set[str]:
    """Which of the template files ``order`` (keys, in scan order) are scanned on their own, given the files
    each one's expansion reached through links (``reaches``): a file no other one reaches; then, of those
    left (files that reach one another, a cycle), the first whose every reacher it reaches itself. The files a
    kept one reaches are scanned through it."""
    # Files nothing reaches are kept whatever the order (linear: a fleet of thousands has no links at all);
    # only files that links reach are left for the search below, which is quadratic in their number.
    reached = set().union(*(reaches.get(f, ()) for f in order))
    kept = {f for f in order if f not in reached}
    covered = kept.union(*(reaches.get(f, ()) for f in kept))
    pending = [f for f in order if f not in covered]
    while pending:
        def reachers(f: str) -> list[str]:
            return [g for g in pending if g != f and f in reaches.get(g, ())]
        source = next((f for f in pending if all(g in reaches.get(f, ()) for g in reachers(f))), pending[0])
        kept.add(source)
        pending = [f for f in pending if f != source and f not in reaches.get(source, ())]
    return kept
