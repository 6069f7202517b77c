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
    run_id = cell((doc.get("run") or {}).get("id", ""))
    # A row is a control's cells, a target's cells and the result's own: the first two are made once each (a
    # run's results share their target's dict; 1,000,000 rows are 21,000,000 cells otherwise)
    of_control: dict[str, list[str]] = {}
    of_target: dict[int, tuple[Any, list[str]]] = {}
    for r in doc.get("results", []):
        cid = r.get("control_id") or ""
        head = of_control.get(cid)
        if head is None:
            c = controls.get(cid, {})
            m = c.get("mappings", {})
            head = of_control[cid] = [cell(v) for v in (
                cid, c.get("title", "input error" if not cid else ""), c.get("severity", ""), c.get("section", ""),
                c.get("practice", ""), " ".join(m.get("cis_aks", [])), " ".join(m.get("azure_policy", [])))]
        t = r["target"]
        hit = of_target.get(id(t))
        if hit is None or hit[0] is not t:  # the entry holds the dict: its id is not reused while it lives
            hit = of_target[id(t)] = (t, [cell(v) for v in (t.get("type"), t.get("name"), t.get("id"),
                                                           t.get("cluster"), t.get("namespace"))])
        w = r.get("waiver") or {}
        a = r.get("attestation") or {}
        yield head + hit[1] + [cell(v) for v in (
            r.get("outcome"), r.get("reason"), location_text(r), w.get("id"), w.get("approver"), w.get("expires"),
            a.get("owner"), a.get("expires"))] + [run_id]


def write_csv(path: str, doc: Mapping[str, Any]) -> int:
    n = 0
    with atomic_write(path, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        for row in rows(doc):
            writer.writerow(row)
            n += 1
    return n
