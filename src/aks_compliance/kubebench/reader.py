"""Reading kube-bench's JSON output (``kube-bench run --json``), as its ``check`` package writes it.

The document is ``{"Controls": [Controls...], "Totals": {...}}`` (kube-bench 0.6 and later; ``OverallControls``),
a bare list of Controls (older releases), or one Controls object. A Controls object is ``{"id", "version",
"detected_version", "text", "node_type", "tests": [Group...], "total_pass", ...}``; a Group is ``{"section",
"desc", "results": [Check...]}``; a Check is ``{"test_number", "test_desc", "audit", "AuditConfig", "type",
"remediation", "test_info", "status", "actual_value", "scored", "expected_result", "reason"}`` with ``status``
one of PASS, FAIL, WARN, INFO (kube-bench ``check/controls.go``, ``check/check.go``; ``cmd/testdata/result.json``).

kube-bench does not name the node it ran on: the node is given with the file (``NODE=FILE``) or is the file's
name. A check whose shape is wrong is an error at its line; the file's other checks are still read.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..diagnostics import Diagnostic
from ..errors import InputError
from ..inputfiles import open_input, read_input
from ..jsonc import MAX_INPUT_BYTES, JsonDocument, load_document
from ..resources import Source
from ..wording import json_type

STATUSES = ("PASS", "FAIL", "WARN", "INFO")
RESOURCE_TYPE = "KubeBenchResults"  # the type of a node's kube-bench run, as results name their target


@dataclass
class Check:
    """One kube-bench check of one node."""

    id: str  # test_number, e.g. "3.2.1"
    status: str  # PASS | FAIL | WARN | INFO
    path: str  # body path in the run's document, e.g. Controls[0].tests[1].results[3]
    benchmark: str | None  # the Controls' version, e.g. "aks-1.8"
    node_type: str | None
    text: str = ""
    type: str = ""  # "", "manual", "skip"
    audit: str = ""
    audit_config: str = ""
    actual_value: str = ""
    expected_result: str = ""
    reason: str = ""
    scored: bool | None = None
    line: int | None = None
    pointer: str = ""  # JSON pointer of the check in its file


@dataclass
class Run:
    """One kube-bench run (one file, one node)."""

    path: str
    node: str
    body: dict[str, Any]  # {"Controls": [...]}: what targets and evidence read
    source: Source  # the file, and where "Controls" is in it
    root_offset: tuple  # body path prefix -> the file's own layout (a bare list or one Controls object)
    checks: list[Check] = field(default_factory=list)
    benchmarks: list[str] = field(default_factory=list)
    sha256: str = ""
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def checks_for(self, cis_id: str) -> list[Check]:
        return [c for c in self.checks if c.id == cis_id]


def _sha256(path: Path) -> str:
    return hashlib.sha256(read_input(path, MAX_INPUT_BYTES)).hexdigest()


def _str(v: Any) -> str:
    return v if isinstance(v, str) else ""


def _controls_object(item: Any) -> bool:
    # a kube-bench Controls object (check/controls.go): its node type and its groups of checks
    return isinstance(item, dict) and isinstance(item.get("tests"), list) and "node_type" in item


def is_kube_bench_document(data: Any) -> bool:
    """Whether parsed JSON is kube-bench output in one of the layouts :func:`read_run` reads (a document with a
    ``Controls`` list, a bare list of Controls objects, one Controls object), told by its Controls objects."""
    if isinstance(data, dict) and isinstance(data.get("Controls"), list):
        data = data["Controls"]
    if isinstance(data, list):
        return bool(data) and all(_controls_object(x) for x in data)
    return _controls_object(data)


def looks_like_kube_bench(path: str | Path) -> bool:
    """Whether a file holds kube-bench JSON output (its first bytes name a Controls document)."""
    try:
        with open_input(path) as fh:  # never a FIFO or a device: opening one would block or never end
            head = fh.read(4096)
    except (OSError, InputError):
        return False
    return b'"test_number"' in head or (b'"Controls"' in head and b'"node_type"' in head) or \
        (b'"node_type"' in head and b'"tests"' in head)


def read_run(path: str | Path, node: str) -> Run:
    """A kube-bench run; InputError when the file is not kube-bench JSON at all."""
    p = Path(path)
    file = str(p)
    doc: JsonDocument = load_document(p)
    data = doc.data
    if isinstance(data, dict) and isinstance(data.get("Controls"), list):
        controls, offset, pointer = data["Controls"], (), ""
    elif isinstance(data, list):
        controls, offset, pointer = data, ("Controls",), ""
    elif isinstance(data, dict) and isinstance(data.get("tests"), list):
        controls, offset, pointer = [data], ("Controls", 0), ""
    else:
        raise InputError("not kube-bench JSON output: expected an object with a 'Controls' list (kube-bench run "
                         "--json), a list of Controls objects, or one Controls object with 'tests'", file=file, line=1)
    body = {"Controls": controls}
    run = Run(path=file, node=node, body=body, source=Source(file, pointer, doc), root_offset=offset,
              sha256=_sha256(p))

    def ptr(*steps: Any) -> str:  # a body path's JSON pointer in the file (its own layout)
        return "".join(f"/{s}" for s in steps[len(offset):])

    def line(pointer_: str) -> int | None:
        return doc.lines.nearest_line(pointer_)[0]

    def bad(message: str, pointer_: str) -> None:
        run.diagnostics.append(Diagnostic("error", message, file, pointer_, line(pointer_)))

    for i, ctl in enumerate(controls):
        if not isinstance(ctl, dict):
            bad(f"a Controls entry is {json_type(ctl)}, not an object; skipped", ptr("Controls", i))
            continue
        version = ctl.get("version") if isinstance(ctl.get("version"), str) else None
        if version and version not in run.benchmarks:
            run.benchmarks.append(version)
        groups = ctl.get("tests")
        if not isinstance(groups, list):
            bad("a Controls entry has no 'tests' list; its checks are not read", ptr("Controls", i))
            continue
        for j, group in enumerate(groups):
            results = group.get("results") if isinstance(group, dict) else None
            if not isinstance(results, list):
                bad("a group ('tests' entry) has no 'results' list; skipped", ptr("Controls", i, "tests", j))
                continue
            for k, res in enumerate(results):
                where = ptr("Controls", i, "tests", j, "results", k)
                if not isinstance(res, dict):
                    bad(f"a check is {json_type(res)}, not an object; skipped", where)
                    continue
                test_number, status = res.get("test_number"), res.get("status")
                if not isinstance(test_number, str) or not test_number.strip():
                    bad("a check has no 'test_number'; skipped", where)
                    continue
                if status not in STATUSES:
                    bad(f"check {test_number} has status {status!r}, not one of {', '.join(STATUSES)}; not read as "
                        "a verdict", where)
                    continue
                run.checks.append(Check(
                    id=test_number.strip(), status=status, path=f"Controls[{i}].tests[{j}].results[{k}]",
                    benchmark=version, node_type=_str(ctl.get("node_type")) or None, text=_str(res.get("test_desc")),
                    type=_str(res.get("type")), audit=_str(res.get("audit")),
                    audit_config=_str(res.get("AuditConfig") or res.get("audit_config")),
                    actual_value=_str(res.get("actual_value")), expected_result=_str(res.get("expected_result")),
                    reason=_str(res.get("reason")), scored=res.get("scored") if isinstance(res.get("scored"), bool)
                    else None, line=line(where), pointer=where))
    return run


def node_of(arg: str) -> tuple[str | None, str]:
    """``NODE=FILE`` -> (NODE, FILE); ``FILE`` -> (None, FILE) (a path containing '=' is read as a path when it exists)."""
    if "=" in arg and not Path(arg).exists():
        node, _, path = arg.partition("=")
        if node.strip() and path.strip():
            return node.strip(), path.strip()
    return None, arg


def node_from_path(path: Path) -> str:
    name = path.name
    for suffix in (".kube-bench.json", ".json"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)] or name
    return path.stem
