"""The control matrix as CSV (``--csv FILE``): one row per control and target, for spreadsheets.

Cells that a spreadsheet would read as a formula (starting with ``= + - @``, tab or carriage return)
are prefixed with an apostrophe, so a resource named ``=HYPERLINK(...)`` stays text; control characters
are written as visible escapes.
"""

from __future__ import annotations

import csv
from typing import Any, Iterable, Mapping

from ..atomic import atomic_write
from ..textsafe import escape_controls
from .common import location_text

COLUMNS = ("control_id", "title", "severity", "section", "practice", "cis_aks", "azure_policy", "target_type",
           "target", "target_id", "cluster", "namespace", "outcome", "reason", "location", "waiver_id",
           "waiver_approver", "waiver_expires", "attested_by", "attestation_expires", "run_id")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    text = "" if value is None else str(value)
    text = "'" + text if text.startswith(_FORMULA) else text
    return escape_controls(text)  # no ESC, NUL or bidi override from an input reaches a spreadsheet raw


def rows(doc: Mapping[str, Any]) -> Iterable[list[str]]:
    controls = {c["id"]: c for c in doc.get("controls", [])}
    run_id = (doc.get("run") or {}).get("id", "")
    for r in doc.get("results", []):
        c = controls.get(r.get("control_id") or "", {})
        m = c.get("mappings", {})
        t = r["target"]
        w = r.get("waiver") or {}
        a = r.get("attestation") or {}
        yield [cell(v) for v in (
            r.get("control_id") or "", c.get("title", "input error" if not r.get("control_id") else ""),
            c.get("severity", ""), c.get("section", ""), c.get("practice", ""), " ".join(m.get("cis_aks", [])),
            " ".join(m.get("azure_policy", [])), t.get("type"), t.get("name"), t.get("id"), t.get("cluster"),
            t.get("namespace"), r.get("outcome"), r.get("reason"), location_text(r), w.get("id"), w.get("approver"),
            w.get("expires"), a.get("owner"), a.get("expires"), run_id)]


def write_csv(path: str, doc: Mapping[str, Any]) -> int:
    n = 0
    with atomic_write(path, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        for row in rows(doc):
            writer.writerow(row)
            n += 1
    return n
