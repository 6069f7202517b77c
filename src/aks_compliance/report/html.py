"""The auditor HTML report: one self-contained file rendered with jinja2 from the results document.

Everything that came from inputs is escaped by autoescaping (there is no ``|safe`` on input data; the
only unescaped text is this package's own stylesheet and script). The page reads without JavaScript;
a small inline script (allowed by a Content-Security-Policy hash, nothing else may run) sorts tables
and filters the matrix. Built for size: per-control summaries, failing results with full evidence,
passing ones as one compact row each, all in collapsible ``<details>``.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections import Counter, defaultdict
from importlib import resources
from typing import Any, Mapping
from urllib.parse import urlsplit

import jinja2
from markupsafe import Markup, escape

from ..atomic import atomic_write
from ..textsafe import escape_controls
from .charts import compliance, stacked_bars
from .cis_nodes import KUBE_BENCH_TYPE, NODE_TYPE, cis_matrix, kube_bench_rows, node_pools
from .common import OUTCOMES, SEVERITIES, SEVERITY_RANK, cis_section, location_text, sort_sections


def safe_url(value: Any) -> str | None:
    """An http(s) URL usable as a link target, or None (then the text is shown, not linked)."""
    if not isinstance(value, str):
        return None
    try:
        scheme = urlsplit(value.strip()).scheme.lower()
    except ValueError:
        return None
    return value.strip() if scheme in ("http", "https") else None


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("aks_compliance.report", "templates"),
        autoescape=True,  # every template, whatever its name
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_no_acting_characters,
    )
    env.filters["safe_url"] = safe_url
    return env


def _no_acting_characters(value: Any) -> Any:
    """Jinja's ``finalize``: every ``{{ }}`` output without control characters or bidi overrides (a name's
    right-to-left override would reverse what the auditor reads); markup stays markup (the escapes are text)."""
    if type(value) is _Section:  # a section rendered here, finalized value by value already
        return value
    if isinstance(value, str):
        shown = escape_controls(value)
        if shown is value or shown == value:
            return value
        return Markup(shown) if isinstance(value, Markup) else shown
    return value


_ENV = _env()
_SECTION = _ENV.get_template("_control.html.j2")
_STATIC = resources.files("aks_compliance.report") / "templates"
_CSS = (_STATIC / "report.css").read_text(encoding="utf-8")
_JS = (_STATIC / "report.js").read_text(encoding="utf-8")
_JS_HASH = base64.b64encode(hashlib.sha256(_JS.encode("utf-8")).digest()).decode("ascii")
CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
       f"script-src 'sha256-{_JS_HASH}'; base-uri 'none'; form-action 'none'")

CODE = {"passed": "p", "failed": "f", "unknown": "u", "not_applicable": "n", "waived": "w", "manual": "m",
        "error": "e", "": "x"}  # matrix cell classes (short: 100k cells)
PASS_GROUPING = 40  # a control with more passes than this lists them grouped by identical evidence
FINDINGS_PIVOT = 40  # a control with more findings than this shows them pivoted by evidence shape
GLYPH = {"passed": "\u2713", "failed": "\u2717", "unknown": "?", "not_applicable": "\u2013", "waived": "W",
         "manual": "M", "error": "!", "": ""}
_CELL = {o: f"<td class={c}>{GLYPH[o]}" for o, c in CODE.items()}  # a matrix cell, by outcome
PROBLEM_ORDER = {"failed": 0, "error": 1, "unknown": 2, "manual": 3, "waived": 4}
MAX_EVIDENCE_ROWS = 10  # per result in the page; the results JSON keeps all
NODE_TYPES = (NODE_TYPE, KUBE_BENCH_TYPE)  # the targets the node-pool section groups
OPEN_FINDINGS = 60  # a control's findings start expanded when there are at most this many


def _short(text: str, n: int = 28) -> str:
    return text if len(text) <= n else text[: n - 1] + "\u2026"


def _controls(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The document's controls; prose filled from the catalog for documents written before it was carried."""
    out = [dict(c) for c in doc.get("controls", [])]
    if any("rationale" not in c for c in out):
        try:
            from ..controls import load_catalog
            catalog = load_catalog()
        except Exception:  # pragma: no cover - a report must render even if the catalog does not load
            catalog = None
        for c in out:
            decl = catalog.get(c["id"]) if catalog is not None else None
            if "rationale" not in c and decl is not None:
                c.update(rationale=decl.rationale, remediation=decl.remediation,
                         references=list(decl.references), policy_gap=decl.policy_gap)
    for c in out:
        for key, default in (("rationale", ""), ("remediation", ""), ("references", []), ("policy_gap", None),
                             ("parameters", []), ("manual", False), ("mappings", {}), ("section", ""),
                             ("practice", ""), ("policy", None), ("builtin_deviation", None)):
            c.setdefault(key, default)
    return out


def _target_key(t: Mapping[str, Any]) -> tuple:
    src = t.get("source") or {}
    return (t.get("type"), t.get("id") or t.get("name"), src.get("file"))


def _finding_groups(problems: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Findings of one control pivoted for size: one table per evidence shape (the (path, expected)
    pairs, shown once as column headings), one row per target with its actual values and lines."""
    groups: dict[tuple, dict[str, Any]] = {}
    for r in problems:
        evidence = r["evidence"]  # read once: a result view makes the evidence dicts when read
        ev = evidence[:MAX_EVIDENCE_ROWS]
        shape = tuple([(e["path"], e["expected"]) for e in ev])
        g = groups.get(shape)
        if g is None:
            g = groups[shape] = {"columns": shape, "rows": []}
        target = r["target"]
        tf = (target.get("source") or {}).get("file")
        cells = []
        for e in ev:
            file = e.get("file")
            where = ((":" if file == tf else f"{file}:") + str(e.get("line") or "")) if file else ""
            cells.append((e["actual"], where, bool(e.get("failing"))))
        g["rows"].append({"target": target, "outcome": r["outcome"], "reason": r["reason"], "cells": cells,
                          "more": max(0, len(evidence) - MAX_EVIDENCE_ROWS), "why": why(evidence)})
    out = sorted(groups.values(), key=lambda g: (min(PROBLEM_ORDER[x["outcome"]] for x in g["rows"]),
                                                 -len(g["rows"])))
    escaped = _Escaped()
    for g in out:
        g["html"] = Markup("".join([_finding_row(row, escaped) for row in g["rows"]]))
        del g["rows"]  # rendered: a row's dict and cells per finding need not live until the page is written
    return out


def why(evidence: list[Mapping[str, Any]]) -> str:
    """What a failed result fails on, in plain words: its first failing evidence item's text."""
    return next((e["text"] for e in evidence if (type(e) is dict or isinstance(e, Mapping))
                 and e.get("failing") and e.get("text")), "")


class _Escaped(dict):
    """``escape(value)`` as text, once per distinct value (names, files and values repeat across controls)."""

    def __missing__(self, value: Any) -> str:
        text = self[value] = str(escape(value))
        return text


def _finding_row(row: Mapping[str, Any], esc: _Escaped) -> str:
    """One row of a pivoted findings table, escaped here (tens of thousands of rows: the template's per-value
    cost is most of the report's time). The same text the template wrote for it."""
    t = row["target"]
    src = t.get("source") or {}
    outcome = row["outcome"]
    parts = ["<tr><td><b>", esc[t["name"]], "</b> ", esc[src.get("file")], ":", esc[src.get("line")],
             "<td class=", CODE[outcome], ">", esc[outcome.replace("_", " ")]]
    if row["reason"]:
        parts += [" <i>", esc[row["reason"]], "</i>"]
    if row["why"]:
        parts += [" <span class=why>", esc[row["why"]], "</span>"]
    if row["more"]:
        parts += [" <i>(+", esc[row["more"]], " evidence in the JSON)</i>"]
    for actual, where, failing in row["cells"]:  # the values the result fails on are marked
        parts += ["<td class=fe>" if failing else "<td>", esc[actual], "<i>", esc[where], "</i>"]
    parts.append("\n")
    return "".join(parts)


class _Section:
    """A section this module rendered (its values already escaped and finalized), written as it is, once: the
    page lets go of its text when it is written (a large report's sections together are tens of megabytes)."""

    __slots__ = ("_text",)

    def __init__(self, text: str) -> None:
        self._text: str | None = text

    def __html__(self) -> str:
        text, self._text = self._text, None
        if text is None:
            raise RuntimeError("a report section was written twice")
        return text


def _section(c: dict[str, Any], entries: list[tuple[Any, str, Mapping[str, Any]]]) -> str:
    """One control's section of "Controls in detail": its findings (pivoted by evidence shape when many),
    passes (grouped by identical evidence when many) and not-applicable targets, rendered."""
    rs = c["results"]
    problem_keys: list[tuple[int, str, int]] = []
    passed_keys: list[tuple[str, int]] = []
    na: dict[str, list[Any]] = defaultdict(list)
    for n, (r, o, target) in enumerate(entries):
        rank = PROBLEM_ORDER.get(o)
        if rank is not None:
            problem_keys.append((rank, target["name"], n))
        elif o == "passed":
            passed_keys.append((target["name"], n))
        elif o == "not_applicable":
            na[r["reason"]].append(r)
    problems = [rs[n] for *_, n in sorted(problem_keys)]  # n last: equal keys keep the results' order
    passed_keys.sort()
    passed = [rs[n] for _, n in passed_keys]
    pass_groups: list[dict[str, Any]] = []
    if len(passed) > PASS_GROUPING:
        groups: dict[tuple, dict[str, Any]] = {}
        for _, n in passed_keys:
            r = rs[n]
            ev = tuple((e["path"], e["actual"]) for e in r["evidence"][:MAX_EVIDENCE_ROWS])
            reason = r["reason"]
            g = groups.setdefault((ev, reason), {"evidence": ev, "reason": reason, "targets": []})
            g["targets"].append(entries[n][2]["name"])
        pass_groups = sorted(groups.values(), key=lambda g: -len(g["targets"]))
    section = {**c, "problems": problems, "passed": passed, "pass_groups": pass_groups,
               "finding_groups": _finding_groups(problems) if len(problems) > FINDINGS_PIVOT else [],
               "na": sorted(na.items(), key=lambda kv: -len(kv[1])),
               "open": 0 < len(problems) <= OPEN_FINDINGS}
    return _SECTION.render(c=section, outcomes=OUTCOMES, max_ev=MAX_EVIDENCE_ROWS, why=why,
                           location_text=location_text)


def _articles(work: list[tuple[dict[str, Any], list[Any]]]) -> list[_Section]:
    """Every control's section, in order; in forked processes when the results are many (sections.py)."""
    from .sections import render_all
    return [_Section(t) for t in render_all(work, _section, weight=lambda item: len(item[1]))]


def build_context(doc: Mapping[str, Any], generated: str | None = None) -> dict[str, Any]:
    results: list[dict[str, Any]] = doc.get("results", [])
    controls = _controls(doc)
    # Each result is read once here (a result view makes its fields when read; 100,000s of them): its
    # control, target and outcome go with it into the lists the sections below group and sort.
    by_control: dict[str, list[tuple[dict[str, Any], str, Mapping[str, Any]]]] = defaultdict(list)
    input_errors: list[dict[str, Any]] = []
    targets: dict[tuple, dict[str, Any]] = {}
    of_target: dict[int, dict[str, Any]] = {}  # by the target dict's identity: a target's results share it
    unknowns: list[dict[str, Any]] = []
    rule_errors: list[dict[str, Any]] = []
    totals: Counter = Counter()
    # the results other tools' verdicts were put beside, and those of worker nodes: read again below
    azure_policy: list[dict[str, Any]] = []
    kube_bench: list[dict[str, Any]] = []
    of_nodes: list[dict[str, Any]] = []
    for r in results:
        cid = r.get("control_id")
        outcome = r["outcome"]
        totals[outcome] += 1
        if outcome == "unknown":
            unknowns.append(r)
        if r.get("azure_policy"):
            azure_policy.append(r)
        if r.get("kube_bench"):
            kube_bench.append(r)
        if not cid:
            input_errors.append(r)
            continue
        if outcome == "error":
            rule_errors.append(r)
        target = r["target"]
        t = of_target.get(id(target))
        if t is None:
            key = _target_key(target)
            t = targets.get(key)
            if t is None:
                src = target.get("source") or {}
                t = targets[key] = {"name": target["name"], "type": target["type"], "id": target.get("id"),
                                    "file": src.get("file"), "line": src.get("line"), "cells": {}}
            of_target[id(target)] = t
        if target["type"] in NODE_TYPES:
            of_nodes.append(r)
        t["cells"][cid] = outcome
        by_control[cid].append((r, outcome, target))

    # matrix: one row per target, one column per control that has results
    columns = [c for c in controls if c["id"] in by_control]
    names = Counter(t["name"] for t in targets.values())
    matrix = []
    for t in sorted(targets.values(), key=lambda t: (t["name"].lower(), t["file"] or "")):
        cells = [t["cells"].get(c["id"], "") for c in columns]
        label = t["name"] if names[t["name"]] == 1 else f"{t['name']} ({t['file']})"
        ok = all(o in ("passed", "not_applicable", "") for o in cells)
        # rendered here: a row per target, a cell per control (the cells are this module's constants)
        html = Markup("".join(("<tr", ' class="ok"' if ok else "", '><th class="t">', escape(label), "</th>",
                               *(_CELL[o] for o in cells))))
        matrix.append({"label": label, "file": t["file"], "line": t["line"], "cells": cells, "ok": ok,
                       "html": html})

    # per control: the summary's figures here; each section's findings, passes and page text in _articles (the
    # bulk of a large report's time, shared out between processes there)
    cctx = []
    for c in controls:
        entries = by_control.get(c["id"], [])
        counts = Counter(o for _, o, _ in entries)
        pct = compliance(counts)
        cctx.append({**c, "results": [r for r, _, _ in entries], "counts": counts,
                     "cis": list(c["mappings"].get("cis_aks", [])),
                     "percent": "" if pct is None else f"{pct:.0%}"})
    for c, article in zip(cctx, _articles([(c, by_control.get(c["id"], [])) for c in cctx])):
        c["article"] = article

    # executive summary
    by_section: dict[str, Counter] = defaultdict(Counter)
    by_severity: dict[str, Counter] = {s: Counter() for s in SEVERITIES}
    by_practice: dict[str, Counter] = defaultdict(Counter)
    failed_by_severity: Counter = Counter()
    for c in cctx:
        for s in sorted({cis_section(x) for x in c["cis"]}) or ["(no CIS mapping)"]:
            by_section[s].update(c["counts"])
        by_severity.setdefault(c["severity"], Counter()).update(c["counts"])
        by_practice[c["practice"] or c["section"] or "(none)"].update(c["counts"])
        failed_by_severity[c["severity"]] += c["counts"].get("failed", 0)
    charts = [
        stacked_bars("Compliance by CIS AKS section",
                     [(_short(s), by_section[s]) for s in sort_sections(by_section) if sum(by_section[s].values())]),
        stacked_bars("Compliance by severity", [(s, by_severity[s]) for s in by_severity if sum(by_severity[s].values())]),
        stacked_bars("Compliance by practice",
                     [(_short(p), by_practice[p]) for p in sorted(by_practice) if sum(by_practice[p].values())]),
    ]

    unknown_groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in unknowns:
        unknown_groups[r["reason"]].append(r)
    manual = [c for c in cctx if c["manual"]]
    waivers = sorted(doc.get("waivers", []), key=lambda w: (
        {"active": 0, "expired": 1, "unused": 2, "out_of_scope": 3}.get(w.get("status", ""), 4), w.get("expires", "")))

    failing = totals.get("failed", 0) + totals.get("error", 0)
    if failing:
        status, status_class = (f"Not compliant: {totals.get('failed', 0)} failed result(s)" +
                                (f", {totals.get('error', 0)} error(s)" if totals.get("error") else ""), "bad")
    elif totals.get("unknown") or totals.get("manual"):
        status, status_class = (f"Compliance not established: {totals.get('unknown', 0)} unknown, "
                                f"{totals.get('manual', 0)} manual (unattested) result(s)", "warn")
    elif results:
        status, status_class = "Compliant: no failed, unknown or error results", "good"
    else:
        status, status_class = "No results", "warn"
    overall = compliance(totals)

    coverage = doc.get("coverage") or {}
    unjudged = [e for e in coverage.get("entries", []) if e.get("status") == "not_evaluated" and e.get("aks_relevant")]

    inputs = [i for i in doc.get("inputs", []) if isinstance(i, dict)]
    # the Azure rows of the scope (deployment target, subscriptions, AKS clusters) where Azure was read; the
    # Kubernetes clusters a snapshot was collected from where one was: "Clusters (0)" misread a Kubernetes scan
    k8s_only = bool(inputs) and all(str(i.get("kind", "")).startswith(("k8s-", "kube-bench")) for i in inputs)
    snapshots = [i for i in inputs if i.get("kind") == "k8s-snapshot"]
    return {
        "azure_scope": not k8s_only, "k8s_snapshots": snapshots,
        "coverage": coverage.get("summary") or {}, "unjudged": unjudged,
        "doc": doc, "run": doc.get("run", {}) or {}, "controls": cctx, "columns": columns, "matrix": matrix,
        "totals": totals, "outcomes": OUTCOMES, "glyph": GLYPH, "code": CODE, "charts": charts,
        "failed_by_severity": [(s, failed_by_severity.get(s, 0)) for s in SEVERITIES],
        "unknown_groups": sorted(unknown_groups.items(), key=lambda kv: (-len(kv[1]), kv[0])),
        "input_errors": input_errors, "rule_errors": rule_errors, "diagnostics": doc.get("diagnostics", []),
        "declarations": doc.get("declarations", []), "manual": manual, "waivers": waivers,
        "attestations": doc.get("attestations", []), "governance_files": doc.get("governance_files", []),
        "status": status, "status_class": status_class,
        "overall": "n/a" if overall is None else f"{overall:.1%}",
        "generated": generated or dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "max_ev": MAX_EVIDENCE_ROWS, "location_text": location_text, "sev_rank": SEVERITY_RANK, "why": why,
        "css": Markup(_CSS), "js": Markup(_JS), "csp": CSP,
        # "Azure Policy says" (_azure_policy.html.j2): results with Azure Policy's verdict, disagreements first
        "azure_policy_rows": sorted(azure_policy, key=lambda r: (
            0 if r["azure_policy"].get("disagrees") else 1 if r["azure_policy"].get("comparison") == "not comparable"
            else 2, r.get("control_id") or "", r["target"]["name"])),
        "azure_policy_disagreements": sum(1 for r in azure_policy if r["azure_policy"].get("disagrees")),
        # the CIS AKS v1.8.0 matrix (_cis.html.j2): all 51 recommendations, "not assessed" included
        "cis_rows": cis_matrix(controls, kube_bench, grouped=by_control),
        # worker nodes by node pool, and kube-bench's verdicts beside ours (_nodes.html.j2)
        "node_pools": node_pools(of_nodes), "kube_bench_rows": kube_bench_rows(kube_bench),
        "kube_bench_disagreements": sum(1 for r in kube_bench if r["kube_bench"].get("disagrees")),
    }


def render_report(doc: Mapping[str, Any], generated: str | None = None) -> str:
    return _ENV.get_template("report.html.j2").render(**build_context(doc, generated))


def write_report(path: str, doc: Mapping[str, Any]) -> None:
    with atomic_write(path) as fh:  # rendered in chunks: a failure midway leaves the previous report
        buffer: list[str] = []
        for chunk in _ENV.get_template("report.html.j2").generate(**build_context(doc)):
            if len(chunk) > 65536:  # a control's section: written as it is, not copied into a joined buffer
                fh.write("".join(buffer))
                buffer.clear()
                fh.write(chunk)
                continue
            buffer.append(chunk)
            if len(buffer) >= 8192:  # millions of small chunks: written a few thousand at a time
                fh.write("".join(buffer))
                buffer.clear()
        fh.write("".join(buffer))
