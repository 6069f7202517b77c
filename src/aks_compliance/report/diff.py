"""``aks-compliance diff OLD.json NEW.json``: what changed between two results documents.

For "only new findings fail the build" baselines. A result is identified by control, target type,
target (resource id, else name), namespace and the file it was declared in. Results are matched
exactly first; what is left is matched again ignoring the file (one to one), so a moved or renamed
template does not turn its findings into new ones, while two same-named resources in different files
never absorb each other's findings.

Categories: new failures (failed now, not failed before), fixed (failed before, now passed or not
applicable), still failing, gone (failed before, the target is no longer scanned), new and resolved
unknowns and unknowns whose reason changed, new errors, newly waived.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from ..errors import InputError
from ..inputfiles import read_input_text
from ..jsonc import number_too_long
from ..redaction import redact_strings
from ..wording import TYPE_WORDS, json_type
from .common import OUTCOMES, SEVERITY_RANK, location_text, severity_at_least

FAILING = ("failed",)


def identity(r: Mapping[str, Any], with_file: bool = True) -> tuple:
    t = r.get("target", {})
    src = t.get("source") or {}
    base = (r.get("control_id") or "", t.get("type") or "", (t.get("id") or t.get("name") or "").lower(),
            t.get("namespace") or "")
    if r.get("control_id") is None:  # an input error: identified by its file and message
        return (*base, src.get("file") or "", r.get("reason", ""))
    return (*base, src.get("file") or "") if with_file else base


def match(old: list[Mapping[str, Any]], new: list[Mapping[str, Any]]) -> tuple[list[tuple], list, list]:
    """(pairs, only_old, only_new): exact identity first, then identity without the file, one to one."""
    pairs: list[tuple[Mapping[str, Any], Mapping[str, Any]]] = []
    rest_old: list[Mapping[str, Any]] = []
    index: dict[tuple, list[Mapping[str, Any]]] = {}
    for r in new:
        index.setdefault(identity(r), []).append(r)
    for r in old:
        bucket = index.get(identity(r))
        if bucket:
            pairs.append((r, bucket.pop(0)))
        else:
            rest_old.append(r)
    rest_new = [r for bucket in index.values() for r in bucket]
    loose: dict[tuple, list[Mapping[str, Any]]] = {}
    for r in rest_new:
        loose.setdefault(identity(r, with_file=False), []).append(r)
    only_old = []
    for r in rest_old:
        bucket = loose.get(identity(r, with_file=False)) if r.get("control_id") else None
        if bucket:
            pairs.append((r, bucket.pop(0)))
        else:
            only_old.append(r)
    only_new = [r for bucket in loose.values() for r in bucket]
    return pairs, only_old, only_new


@dataclass
class Diff:
    new_failures: list[Mapping[str, Any]] = field(default_factory=list)
    fixed: list[Mapping[str, Any]] = field(default_factory=list)
    still_failing: list[Mapping[str, Any]] = field(default_factory=list)
    gone: list[Mapping[str, Any]] = field(default_factory=list)
    new_unknowns: list[Mapping[str, Any]] = field(default_factory=list)
    resolved_unknowns: list[tuple[Mapping[str, Any], Mapping[str, Any]]] = field(default_factory=list)
    changed_unknowns: list[tuple[Mapping[str, Any], Mapping[str, Any]]] = field(default_factory=list)
    new_errors: list[Mapping[str, Any]] = field(default_factory=list)
    newly_waived: list[Mapping[str, Any]] = field(default_factory=list)
    severity: dict[str, str] = field(default_factory=dict)

    def sev(self, r: Mapping[str, Any]) -> str:
        return self.severity.get(r.get("control_id") or "", "")

    def failing(self, fail_on: str = "info") -> list[Mapping[str, Any]]:
        """New failures at or above ``fail_on``: what fails a baseline build."""
        return [r for r in self.new_failures if severity_at_least(self.sev(r), fail_on)]

    def as_dict(self) -> dict[str, Any]:
        def brief(r: Mapping[str, Any]) -> dict[str, Any]:
            return {"control_id": r.get("control_id"), "severity": self.sev(r), "target": r["target"].get("name"),
                    "target_id": r["target"].get("id"), "outcome": r.get("outcome"), "reason": r.get("reason", ""),
                    "location": location_text(r)}

        return {
            "new_failures": [brief(r) for r in self.new_failures],
            "fixed": [brief(r) for r in self.fixed],
            "still_failing": len(self.still_failing),
            "gone": [brief(r) for r in self.gone],
            "new_unknowns": [brief(r) for r in self.new_unknowns],
            "resolved_unknowns": [{**brief(n), "old_reason": o.get("reason", "")} for o, n in self.resolved_unknowns],
            "changed_unknowns": [{**brief(n), "old_reason": o.get("reason", "")} for o, n in self.changed_unknowns],
            "new_errors": [brief(r) for r in self.new_errors],
            "newly_waived": [brief(r) for r in self.newly_waived],
        }


def diff_documents(old: Mapping[str, Any], new: Mapping[str, Any]) -> Diff:
    d = Diff()
    for doc in (old, new):
        for c in doc.get("controls", []):
            d.severity[c["id"]] = c.get("severity", "")
    pairs, only_old, only_new = match(list(old.get("results", [])), list(new.get("results", [])))
    for o, n in pairs:
        oo, no = o.get("outcome"), n.get("outcome")
        if no in FAILING and oo not in FAILING:
            d.new_failures.append(n)
        elif oo in FAILING and no in ("passed", "not_applicable"):
            d.fixed.append(n)
        elif oo in FAILING and no in FAILING:
            d.still_failing.append(n)
        if oo in FAILING and no == "waived":
            d.newly_waived.append(n)
        if no == "unknown" and oo != "unknown":
            d.new_unknowns.append(n)
        elif oo == "unknown" and no != "unknown":
            d.resolved_unknowns.append((o, n))
        elif oo == no == "unknown" and o.get("reason") != n.get("reason"):
            d.changed_unknowns.append((o, n))
        if no == "error" and oo != "error":
            d.new_errors.append(n)
    for n in only_new:
        if n.get("outcome") in FAILING:
            d.new_failures.append(n)
        elif n.get("outcome") == "unknown":
            d.new_unknowns.append(n)
        elif n.get("outcome") == "error":
            d.new_errors.append(n)
    for o in only_old:
        if o.get("outcome") in FAILING:
            d.gone.append(o)
        elif o.get("outcome") == "unknown":
            d.resolved_unknowns.append((o, {**o, "outcome": "gone", "reason": "no longer scanned"}))
    key = lambda r: (SEVERITY_RANK.get(d.sev(r), 9), r.get("control_id") or "", r["target"].get("name", ""))  # noqa: E731
    for lst in (d.new_failures, d.fixed, d.gone, d.new_unknowns, d.new_errors, d.newly_waived):
        lst.sort(key=key)
    return d


def format_text(d: Diff, fail_on: str = "info") -> str:
    def line(r: Mapping[str, Any]) -> str:
        sev = d.sev(r)
        loc = location_text(r)
        return f"  {r.get('control_id') or 'input'} [{sev or '-'}] {r['target'].get('name', '')}" + (f"  {loc}" if loc else "")

    out = [f"new failures: {len(d.new_failures)}  fixed: {len(d.fixed)}  still failing: {len(d.still_failing)}  "
           f"gone: {len(d.gone)}  new unknowns: {len(d.new_unknowns)}  resolved unknowns: {len(d.resolved_unknowns)}  "
           f"changed unknowns: {len(d.changed_unknowns)}  new errors: {len(d.new_errors)}  "
           f"newly waived: {len(d.newly_waived)}"]
    sections: list[tuple[str, Iterable[str]]] = [
        ("new failures", (line(r) for r in d.new_failures)),
        ("fixed", (line(r) for r in d.fixed)),
        ("gone (failed before, target no longer scanned)", (line(r) for r in d.gone)),
        ("new unknowns", (line(r) + f"\n      {r.get('reason', '')}" for r in d.new_unknowns)),
        ("changed unknowns", (line(n) + f"\n      was: {o.get('reason', '')}\n      now: {n.get('reason', '')}"
                              for o, n in d.changed_unknowns)),
        ("resolved unknowns", (line(o) + f" -> {n.get('outcome')}" for o, n in d.resolved_unknowns)),
        ("new errors", (line(r) + f"\n      {r.get('reason', '')}" for r in d.new_errors)),
        ("newly waived", (line(r) for r in d.newly_waived)),
    ]
    for title, items in sections:
        items = list(items)
        if items:
            out.append(f"{title} ({len(items)}):")
            out.extend(items)
    failing = d.failing(fail_on)
    out.append(f"{len(failing)} new failure(s) at or above '{fail_on}'" + (": the build fails" if failing else ""))
    return "\n".join(out)


MAX_RESULTS_BYTES = 2 * 1024 * 1024 * 1024  # a results document of about 2 million results
_SCHEMA = Path(__file__).resolve().parents[1] / "schemas" / "results-v1.schema.json"


class _NotJson(ValueError):
    pass


def _not_json(name: str) -> Any:
    """NaN and Infinity: Python's reader takes them, JSON has no such values (and this tool never writes them)."""
    raise _NotJson(f"{name} is not a JSON value")


def load(path: str) -> dict[str, Any]:
    """A results document from anywhere, checked before any report reads it: a regular file within a byte
    limit, JSON, the results-v1 schema (every field but the results, which :func:`shape_problem` checks in
    linear time), so a malformed document is refused naming the field (exit status 4), never a traceback."""
    if not Path(path).exists() and not Path(path).is_symlink():
        raise ValueError(f"{path}: file does not exist")
    try:
        doc = json.loads(read_input_text(path, MAX_RESULTS_BYTES, "the results document"),
                         parse_constant=_not_json)
    except InputError as exc:
        raise ValueError(str(exc)) from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not a results JSON: {exc}") from None
    except _NotJson as exc:
        raise ValueError(f"{path}: not a results JSON: {exc}") from None
    except ValueError as exc:  # an integer longer than Python converts
        long = number_too_long(exc)
        raise ValueError(f"{path}: not a results JSON: {long[0] if long else exc}") from None
    except RecursionError:
        raise ValueError(f"{path}: not a results JSON: nested too deeply to read") from None
    if not isinstance(doc, dict) or doc.get("schema") != "aks-compliance/results/v1":
        raise ValueError(f"{path}: not an aks-compliance results document (schema aks-compliance/results/v1)")
    # a document from elsewhere (an older version, a hand-edited file) may hold credentials in any text taken
    # from an input: redacted before a message quotes a field or a report shows it, as in any other input.
    # The catalog's own prose is not ("automountServiceAccountToken: false" is a remediation, not a secret).
    for section in _FROM_INPUTS:
        redact_strings(doc.get(section))
    problem = schema_problem(doc) or shape_problem(doc)
    if problem:
        raise ValueError(f"{path}: not a valid results document: {problem}")
    return doc


_NONE = type(None)
# the sections of a results document whose texts come from the scanned inputs
_FROM_INPUTS = ("results", "diagnostics", "waivers", "attestations", "coverage", "inputs", "governance_files")
_RESULT_FIELDS = (("control_id", (str, _NONE)), ("key", (str,)), ("reason", (str, _NONE)), ("title", (str, _NONE)),
                  ("waiver", (dict, _NONE)), ("attestation", (dict, _NONE)))
_EVIDENCE_FIELDS = (("path", (str,)), ("expected", (str,)), ("actual", (str,)), ("file", (str, _NONE)),
                    ("line", (int, _NONE)), ("failing", (bool,)), ("text", (str,)))
MAX_LINE = 1_000_000_000  # a line number beyond any file this tool reads
_TARGET_FIELDS = (("name", (str,)), ("id", (str, _NONE)), ("file", (str, _NONE)), ("line", (int, _NONE)),
                  ("type", (str, _NONE)), ("cluster", (str, _NONE)), ("namespace", (str, _NONE)))


def _shapes_only(schema: Any) -> Any:
    """The schema without constraints on the *text* of strings (const, enum, pattern, format): a report
    shows any text as text; what it cannot survive is a value of the wrong shape (a list where an id
    belongs, ``"waivers": 5``). Outcomes, severities and waiver states are checked by shape_problem."""
    if isinstance(schema, dict):
        return {k: _shapes_only(v) for k, v in schema.items() if k not in ("const", "enum", "pattern", "format")}
    if isinstance(schema, list):
        return [_shapes_only(v) for v in schema]
    return schema


def schema_problem(doc: Mapping[str, Any]) -> str | None:
    """The first place where ``doc`` breaks the results-v1 schema, outside the results list, or None."""
    import jsonschema

    schema = _shapes_only(json.loads(_SCHEMA.read_text(encoding="utf-8")))
    schema["properties"]["results"] = {"type": "array"}  # checked by shape_problem: 100,000s of them
    try:
        error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(doc))
    except RecursionError:
        return "nested too deeply"
    if error is None:
        return None
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".")
    message = error.message if len(error.message) <= 200 else error.message[:197] + "..."
    return f"{where or 'the document'}: {message}"


def _line_problem(where: str, line: Any) -> str | None:
    if not isinstance(line, int) or 0 <= line <= MAX_LINE:
        return None
    shown = str(line) if abs(line) < 10 ** 12 else f"a number of {len(str(abs(line)))} digits"
    return f"{where} is {shown}, not a line number"


def shape_problem(doc: Mapping[str, Any]) -> str | None:
    """What the reports rely on, checked before rendering a document that may come from anywhere: the
    lists and objects they walk and the values they look up (outcomes, severities, waiver states)."""
    def one_of(where: str, value: Any, allowed: Iterable[str], optional: bool = False) -> str | None:
        if optional and value is None:
            return None
        allowed = tuple(allowed)
        return None if value in allowed else f"{where} is {value!r}, not one of {', '.join(allowed)}"

    for name in ("inputs", "controls", "results"):
        if not isinstance(doc.get(name), list):
            return f"'{name}' is not a list"
    for i, c in enumerate(doc["controls"]):
        if not isinstance(c, dict) or not isinstance(c.get("id"), str):
            return f"controls[{i}] is not an object with an 'id'"
        bad = one_of(f"controls[{i}].severity", c.get("severity"), SEVERITY_RANK)
        if bad:
            return bad
    for i, r in enumerate(doc["results"]):
        if not isinstance(r, dict) or not isinstance(r.get("target"), dict):
            return f"results[{i}] is not an object with a 'target' object"
        for name, kinds in _RESULT_FIELDS:
            if name in r and not isinstance(r[name], kinds):
                return f"results[{i}].{name} is {json_type(r[name])}, not {TYPE_WORDS[kinds[0]]}"
        for name, kinds in _TARGET_FIELDS:
            if name in r["target"] and not isinstance(r["target"][name], kinds):
                return f"results[{i}].target.{name} is {json_type(r['target'][name])}, not {TYPE_WORDS[kinds[0]]}"
        bad = one_of(f"results[{i}].outcome", r.get("outcome"), OUTCOMES) or \
            one_of(f"results[{i}].severity", r.get("severity"), SEVERITY_RANK, optional=True)
        if bad:
            return bad
        if not isinstance(r.get("evidence", []), list) or not isinstance(r["target"].get("source", {}), dict):
            return f"results[{i}] has evidence that is not a list or a source that is not an object"
        bad = _line_problem(f"results[{i}].target.line", r["target"].get("line"))
        if bad:
            return bad
        for j, e in enumerate(r.get("evidence", [])):
            if not isinstance(e, dict):
                return f"results[{i}].evidence[{j}] is {json_type(e)}, not an object"
            for name, kinds in _EVIDENCE_FIELDS:
                if name in e and not isinstance(e[name], kinds):
                    return f"results[{i}].evidence[{j}].{name} is {json_type(e[name])}, not {TYPE_WORDS[kinds[0]]}"
            bad = _line_problem(f"results[{i}].evidence[{j}].line", e.get("line"))
            if bad:
                return bad
    for i, w in enumerate(doc.get("waivers") or []):
        bad = one_of(f"waivers[{i}].status", w.get("status") if isinstance(w, dict) else w,
                     ("active", "expired", "unused", "out_of_scope"))
        if bad:
            return bad
    return None
