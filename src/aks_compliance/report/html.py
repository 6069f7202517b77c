"""The auditor HTML report: one self-contained file rendered with jinja2 from the results document.

Everything that came from inputs is escaped by autoescaping; the page needs no JavaScript to read.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import jinja2

from ..controls import load_catalog

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("aks_compliance.report", "templates"),
    autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

OUTCOMES = ("passed", "failed", "unknown", "not_applicable", "waived", "manual", "error")


def build_context(doc: dict[str, Any]) -> dict[str, Any]:
    catalog = load_catalog()
    results = doc.get("results", [])
    by_control: dict[str, list[dict[str, Any]]] = defaultdict(list)
    input_errors = []
    for r in results:
        if r.get("control_id"):
            by_control[r["control_id"]].append(r)
        else:
            input_errors.append(r)
    controls = []
    for c in doc.get("controls", []):
        decl = catalog.get(c["id"])
        rs = by_control.get(c["id"], [])
        controls.append({
            "summary": c, "results": rs, "counts": Counter(r["outcome"] for r in rs),
            "rationale": decl.rationale if decl else "", "remediation": decl.remediation if decl else "",
            "references": list(decl.references) if decl else [],
            "policy_gap": decl.policy_gap if decl else None,
        })
    targets = sorted({r["target"]["name"] for r in results if r.get("control_id")})
    matrix = {(r["control_id"], r["target"]["name"]): r["outcome"] for r in results if r.get("control_id")}
    sections: dict[str, Counter] = defaultdict(Counter)
    for c in controls:
        sections[c["summary"].get("section", "")].update(c["counts"])
    return {"doc": doc, "controls": controls, "targets": targets, "matrix": matrix,
            "totals": Counter(r["outcome"] for r in results), "outcomes": OUTCOMES,
            "sections": dict(sorted(sections.items())), "input_errors": input_errors,
            "diagnostics": doc.get("diagnostics", [])}


def render_report(doc: dict[str, Any]) -> str:
    return _ENV.get_template("report.html.j2").render(**build_context(doc))


def write_report(path: str, doc: dict[str, Any]) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(render_report(doc))
