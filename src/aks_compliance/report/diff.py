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


def load(path: str) -> dict[str, Any]:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{path}: file does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a results JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("schema") != "aks-compliance/results/v1":
        raise ValueError(f"{path}: not an aks-compliance results document (schema aks-compliance/results/v1)")
    problem = shape_problem(doc)
    if problem:
        raise ValueError(f"{path}: not a valid results document: {problem}")
    return doc


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
        bad = one_of(f"results[{i}].outcome", r.get("outcome"), OUTCOMES) or \
            one_of(f"results[{i}].severity", r.get("severity"), SEVERITY_RANK, optional=True)
        if bad:
            return bad
        if not isinstance(r.get("evidence", []), list) or not isinstance(r["target"].get("source", {}), dict):
            return f"results[{i}] has evidence that is not a list or a source that is not an object"
    for i, w in enumerate(doc.get("waivers") or []):
        bad = one_of(f"waivers[{i}].status", w.get("status") if isinstance(w, dict) else w,
                     ("active", "expired", "unused", "out_of_scope"))
        if bad:
            return bad
    return None
