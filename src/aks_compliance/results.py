"""Results: one per (control, target), or one per input error; and the results JSON (schema v1)."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from collections.abc import Mapping
from typing import Any, Iterator, Sequence

from .atomic import atomic_write
from .memo import Memo

SCHEMA_ID = "aks-compliance/results/v1"
# One compact line per result in the results JSON (write_results)
COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class Outcome(str, enum.Enum):
    PASSED = "passed"
    FAILED = "failed"
    UNKNOWN = "unknown"
    NOT_APPLICABLE = "not_applicable"
    WAIVED = "waived"
    MANUAL = "manual"
    ERROR = "error"


_OUTCOMES = {o.value: o for o in Outcome}


@dataclass(slots=True)
class Evidence:
    path: str
    expected: str
    actual: str
    file: str | None = None
    line: int | None = None
    # One of the comparisons the result fails because of (a failed result's evidence lists them first), and
    # what it says in plain words ("pool `user1`: enableEncryptionAtHost is false, must be true").
    failing: bool = False
    text: str = ""

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "expected": self.expected, "actual": self.actual}
        if self.file:
            out["file"] = self.file
            out["line"] = self.line
        if self.failing:
            out["failing"] = True
        if self.text:
            out["text"] = self.text
        return out

    def as_json(self) -> str:
        """``COMPACT(as_dict())``, byte for byte, from the fields' encodings: paths, expected texts, files and
        many values repeat on every target of a type, each encoded once."""
        enc = _encoded
        parts = ['{"path":', enc(self.path), ',"expected":', enc(self.expected), ',"actual":', enc(self.actual)]
        if self.file:
            line = self.line
            parts += [',"file":', enc(self.file), ',"line":', str(line) if type(line) is int else COMPACT(line)]
        if self.failing:
            parts.append(',"failing":true')
        if self.text:
            parts += [',"text":', enc(self.text)]
        parts.append("}")
        return "".join(parts)

    def location(self) -> str:
        return f"{self.file}:{self.line}" if self.file and self.line else (self.file or "")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Evidence":
        return cls(d["path"], d["expected"], d["actual"], d.get("file"), d.get("line"), bool(d.get("failing")),
                   d.get("text", ""))


_ENCODED: Memo = Memo(100_000)


def _encoded(value: Any) -> str:
    """``COMPACT(value)`` of an evidence field, remembered for strings (bounded: cleared when large)."""
    if type(value) is not str:
        return COMPACT(value)
    text = _ENCODED.get(value)
    if text is None:
        text = _ENCODED.put(value, COMPACT(value))
    return text


def failing_first(evidence: list[Evidence]) -> list[Evidence]:
    """The failing items, then the others (stable): what a person reads first, and what a report points at."""
    return [e for e in evidence if e.failing] + [e for e in evidence if not e.failing]


@dataclass(slots=True)
class TargetRef:
    """What a result is about, as the results JSON names it."""

    type: str
    name: str
    id: str | None = None
    cluster: str | None = None
    namespace: str | None = None
    file: str | None = None
    pointer: str | None = None
    line: int | None = None
    pool: str | None = None  # the AKS node pool of a node (reports group nodes by it)
    _as_dict: dict[str, Any] | None = field(default=None, init=False, repr=False, compare=False)
    _as_json: str | None = field(default=None, init=False, repr=False, compare=False)

    def as_json(self) -> str:
        """``COMPACT(as_dict())``, encoded once for all the results of the target."""
        if self._as_json is None:
            self._as_json = COMPACT(self.as_dict())
        return self._as_json

    def as_dict(self) -> dict[str, Any]:
        """The target as the results JSON names it; one dict shared by the results of a target (they
        share this ref), built once: read it, never change it."""
        d = self._as_dict
        if d is None:
            d = self._as_dict = {
                "type": self.type, "name": self.name, "id": self.id, "cluster": self.cluster,
                "namespace": self.namespace, "source": {"file": self.file, "pointer": self.pointer, "line": self.line}}
            if self.pool is not None:
                d["pool"] = self.pool
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TargetRef":
        """The ref of a target as a results document names it; ``as_dict`` gives back ``d`` itself."""
        src = d.get("source") or {}
        ref = cls(d["type"], d["name"], d.get("id"), d.get("cluster"), d.get("namespace"), src.get("file"),
                  src.get("pointer"), src.get("line"), d.get("pool"))
        ref._as_dict = d
        return ref


class EvidenceDicts(Sequence):
    """The evidence of a result read from a document, as ``Evidence`` when read (a merged run's results are
    mostly written out again, not read: hundreds of thousands of objects need not be made)."""

    __slots__ = ("_dicts",)

    def __init__(self, dicts: Sequence[dict[str, Any]]) -> None:
        self._dicts = dicts

    def __len__(self) -> int:
        return len(self._dicts)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [Evidence.from_dict(e) for e in self._dicts[index]]
        return Evidence.from_dict(self._dicts[index])

    def __eq__(self, other: object) -> bool:
        return list(self) == list(other) if isinstance(other, (list, Sequence)) else NotImplemented


@dataclass(slots=True)
class Result:
    control_id: str | None  # None for an input error that belongs to no control
    target: TargetRef
    outcome: Outcome
    reason: str = ""
    evidence: list[Evidence] = field(default_factory=list)
    # The target's label (``Target.label``: shared by the target's results): the result's unique, readable id
    # (``key``, the pytest parameter id) is made from it when read, not kept (500,000 results: 49 MB)
    label: str = ""
    # Governance (waivers.py): the waiver that turned a failure into WAIVED, or the attestation that
    # decided a manual control; each a plain dict (id/owner, dates, file and line of the entry).
    waiver: dict[str, Any] | None = None
    attestation: dict[str, Any] | None = None
    # Azure Policy's verdict on the same target (azure/policy_states.py): state, definition, assignment,
    # timestamp and whether it disagrees with ours; None when no policy state matched.
    azure_policy: dict[str, Any] | None = None
    # kube-bench's verdict on the same node for the same CIS recommendation (kubebench/compare.py): its status,
    # check, evidence line and whether it disagrees with ours; None when no kube-bench result matched.
    kube_bench: dict[str, Any] | None = None
    _dict: dict[str, Any] | None = field(default=None, init=False, repr=False, compare=False)
    # A merged result's JSON as its worker wrote it: (text, start, end), its target named by an index
    # (shards.SPLICE); ``as_json`` splices the target's JSON in instead of encoding the result again.
    _span: tuple[str, int, int] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def key(self) -> str:
        """``<control id>-<target label>``, or the label of an input error (which belongs to no control)."""
        return f"{self.control_id}-{self.label}" if self.control_id else self.label

    @classmethod
    def from_dict(cls, d: dict[str, Any], label: str, target: TargetRef | None = None) -> "Result":
        """A result as the results JSON holds it (a shard's, merged: shards.py; the document does not carry
        keys), of the target ``label``; ``target``: its ref, when the caller has it (the results of a target share one). It keeps
        the dict it came from: ``as_dict`` gives it back instead of building it again (merged results are
        not changed)."""
        r = cls(d.get("control_id"), target if target is not None else TargetRef.from_dict(d["target"]),
                _OUTCOMES[d["outcome"]], d.get("reason", ""), EvidenceDicts(d.get("evidence") or ()),  # type: ignore[arg-type]
                label=label, waiver=d.get("waiver"), attestation=d.get("attestation"), azure_policy=d.get("azure_policy"),
                kube_bench=d.get("kube_bench"))
        r._dict = d
        return r

    def as_json(self, target: str | None = None) -> str:
        """``COMPACT(as_dict())``, byte for byte, without building the dict: the target's part is encoded
        once for all its results (the results JSON of a large run is mostly targets and evidence).
        ``target``: JSON text standing for the target instead (pytest-xdist workers send an index)."""
        if self._span is not None and target is None:
            text, start, end = self._span
            at = text.index(',"target":', start, end) + 10  # the first: a JSON string cannot hold it unescaped
            after = text.index(",", at, end)  # the target's index ends there
            return "".join((text[start:at], self.target.as_json(), text[after:end]))
        if self._dict is not None and target is None:
            d = self._dict
            if d.get("target") is self.target._as_dict and next(iter(d)) == "control_id":  # a target's shared dict
                rest = COMPACT({k: v for k, v in d.items() if k != "control_id" and k != "target"})
                return "".join(('{"control_id":', COMPACT(d["control_id"]), ',"target":', self.target.as_json(),
                                "," + rest[1:] if len(rest) > 2 else "}"))
            return COMPACT(d)
        if self._dict is not None:
            return COMPACT({**self._dict, "target": json.loads(target)}) if target is not None else COMPACT(self._dict)
        evidence = "[" + ",".join([e.as_json() if type(e) is Evidence else COMPACT(e.as_dict()) for e in self.evidence]) + "]"
        parts = ['{"control_id":', COMPACT(self.control_id), ',"target":', target or self.target.as_json(), ',"outcome":',
                 COMPACT(self.outcome.value), ',"reason":', COMPACT(self.reason), ',"evidence":', evidence]
        for name, value in (("waiver", self.waiver), ("attestation", self.attestation),
                            ("azure_policy", self.azure_policy), ("kube_bench", self.kube_bench)):
            if value is not None:
                parts += [f',"{name}":', COMPACT(value)]
        parts.append("}")
        return "".join(parts)

    def as_dict(self) -> dict[str, Any]:
        if self._dict is not None:
            return self._dict
        out = {"control_id": self.control_id, "target": self.target.as_dict(), "outcome": self.outcome.value,
               "reason": self.reason, "evidence": [e.as_dict() for e in self.evidence]}
        if self.waiver is not None:
            out["waiver"] = self.waiver
        if self.attestation is not None:
            out["attestation"] = self.attestation
        if self.azure_policy is not None:
            out["azure_policy"] = self.azure_policy
        if self.kube_bench is not None:
            out["kube_bench"] = self.kube_bench
        return out


class ResultDicts(Sequence):
    """The results of a document as dicts, made when read and not kept: the results JSON of a large run is
    written from it without a second copy of every result in memory. Every read makes new dicts: a writer
    that reads the results more than once takes ``list()`` of it first."""

    def __init__(self, results: Sequence[Result]) -> None:
        self._results = results

    def __len__(self) -> int:
        return len(self._results)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [r.as_dict() for r in self._results[index]]
        return self._results[index].as_dict()

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (r.as_dict() for r in self._results)

    def json_lines(self, start: int, stop: int) -> list[str]:
        """Results ``start:stop`` as the compact JSON lines of the results JSON."""
        return [r.as_json() for r in self._results[start:stop]]

    def made(self) -> "ResultViews":
        """The results as read-only dicts for writers that read them more than once (the reports)."""
        return ResultViews(self._results)


_GOVERNANCE_KEYS = ("waiver", "attestation", "azure_policy", "kube_bench")
_KEYS = frozenset(("control_id", "target", "outcome", "reason", "evidence"))


class ResultView(Mapping):
    """A result read as its results-JSON dict without making the dict: the reports read every result more
    than once, and a dict per result and per evidence item, kept for all of them, doubled a large run's
    memory. The target's dict is the one its results share; evidence dicts are made when read."""

    __slots__ = ("_r",)

    def __init__(self, result: Result) -> None:
        self._r = result

    def __getitem__(self, key: str) -> Any:
        r = self._r
        if key == "control_id":
            return r.control_id
        if key == "target":
            return r.target.as_dict()
        if key == "outcome":
            return r.outcome.value
        if key == "reason":
            return r.reason
        if key == "evidence":
            return [e.as_dict() for e in r.evidence]
        if key in _GOVERNANCE_KEYS:
            value = getattr(r, key)
            if value is not None:
                return value
        raise KeyError(key)

    def located(self) -> tuple[str | None, int | None]:
        """``report.common.location`` of this result, read from its evidence without making their dicts."""
        for e in failing_first(self._r.evidence):
            if e.file:
                return e.file, e.line
        src = self._r.target.as_dict()["source"]
        return src.get("file"), src.get("line")

    def get(self, key: str, default: Any = None) -> Any:
        """As ``Mapping.get``, without raising and catching KeyError for every result that has no waiver,
        attestation or other tool's verdict (the reports ask each result for them)."""
        if key in _GOVERNANCE_KEYS:
            value = getattr(self._r, key)
            return default if value is None else value
        return self[key] if key in _KEYS else default

    def __iter__(self) -> Iterator[str]:
        r = self._r
        yield from ("control_id", "target", "outcome", "reason", "evidence")
        yield from (k for k in _GOVERNANCE_KEYS if getattr(r, k) is not None)

    def __len__(self) -> int:
        return 5 + sum(getattr(self._r, k) is not None for k in _GOVERNANCE_KEYS)


class ResultViews(list):
    """The results of a document as read-only dicts (``ResultView``, or the dict a merged result came
    from), beside the results: the results JSON is written from the results themselves (``json_lines``)."""

    def __init__(self, results: Sequence[Result]) -> None:
        super().__init__(r._dict if r._dict is not None else ResultView(r) for r in results)
        self._results = results

    def json_lines(self, start: int, stop: int) -> list[str]:
        return [r.as_json() for r in self._results[start:stop]]


def results_document(*, tool_version: str, started: str, inputs: list[dict[str, Any]],
                     controls: list[dict[str, Any]], results: list[Result],
                     extra: dict[str, Any] | None = None, lazy: bool = False) -> dict[str, Any]:
    """The results document (schema v1); ``lazy``: its results a ``ResultDicts`` (made when read)."""
    doc: dict[str, Any] = {
        "schema": SCHEMA_ID,
        "tool": {"name": "aks-compliance", "version": tool_version},
        "started": started,
        "inputs": inputs,
        "controls": controls,
        "results": ResultDicts(results) if lazy else [r.as_dict() for r in results],
    }
    if extra:
        doc.update(extra)
    return doc


def write_results(path: str, document: dict[str, Any]) -> None:
    """Indented JSON, except one compact line per result: with ``indent`` Python's JSON encoder
    falls back to pure Python (seconds at 100,000 results), and a line per result still diffs well."""
    results = document.get("results", [])
    head = {k: v for k, v in document.items() if k != "results"}
    with atomic_write(path) as fh:  # a crash leaves the previous file, never half of one
        if head:
            fh.write(json.dumps(head, indent=1, ensure_ascii=False)[:-1].rstrip() + ',\n "results": [')
        else:
            fh.write('{\n "results": [')
        if results:
            for start in range(0, len(results), 2000):  # a few large writes, not one per result
                lines = results.json_lines(start, start + 2000) if isinstance(results, (ResultDicts, ResultViews)) else \
                    map(COMPACT, results[start:start + 2000])
                fh.write(("\n  " if start == 0 else ",\n  ") + ",\n  ".join(lines))
        fh.write("\n ]\n}\n")
