"""The plugin's terminal summary: totals first, then failures by severity with control, target and
``file:line``, then waived, unknown reasons, diagnostics and what decided the exit status."""

from __future__ import annotations

from collections import Counter
from typing import Any

from .common import OUTCOMES, SEVERITIES, Gate, clip

MAX_PER_SEVERITY = 25
MAX_WAIVED = 10
MAX_UNJUDGED = 200
MAX_UNJUDGED_QUIET = 25  # with -q: as many as failures of one severity; the count and the ledger say the rest


def _loc(result: Any) -> str:
    """Where a finding points: its first failing evidence with a file, else any evidence with one."""
    for e in sorted(result.evidence, key=lambda e: not e.failing):
        if e.file:
            return e.location()
    t = result.target
    return f"{t.file}:{t.line}" if t.file and t.line else (t.file or "")


def _coverage(tr: Any, run: Any) -> None:
    """The ledger's counts, and every AKS-relevant object that no control judged, with the reason."""
    ledger = getattr(run, "ledger", None)
    if ledger is None or not ledger.entries:
        return
    c = ledger.counts()
    tr.write_line(f"objects read: {c['objects']} ({c['evaluated']} evaluated, {c['related']} judged with their target, "
                  f"{c['not_evaluated']} not evaluated)" + (f"; {c['skipped_files']} file(s) without objects or "
                                                           f"not read" if c["skipped_files"] else ""))
    unjudged = ledger.unjudged_relevant()
    if unjudged:
        tr.write_line(f"AKS-relevant objects not evaluated ({len(unjudged)}):", yellow=True)
        quiet = getattr(getattr(getattr(tr, "config", None), "option", None), "verbose", 0) < 0
        most = MAX_UNJUDGED_QUIET if quiet else MAX_UNJUDGED
        for e in unjudged[:most]:
            where = f"{e.file}:{e.line}" if e.file and e.line else (e.file or "")
            tr.write_line(f"    {e.type.removeprefix('Microsoft.')}  {clip(e.name, 60)}  {where}  {clip(e.reason, 160)}")
        if len(unjudged) > most:
            tr.write_line(f"    ... and {len(unjudged) - most} more (see coverage in the results JSON or the "
                          f"audit report)")


def write_summary(tr: Any, run: Any, ran: list[Any], gate: Gate | None, gated: bool,
                  outputs: list[tuple[str, str]]) -> None:
    counts = Counter(r.outcome.value for r in ran)
    tr.section("aks-compliance")
    total = ", ".join(f"{counts[o]} {o.replace('_', ' ')}" for o in OUTCOMES if counts.get(o))
    tr.write_line(f"{len(ran)} result(s): {total or 'none'}", bold=True)
    tr.write_line(f"{run.target_count} target(s), {len(run.catalog)} control(s), {len(run.inputs)} input file(s)")
    _coverage(tr, run)

    severity_of = {c.id: c.severity.value for c in run.catalog}
    failed = [r for r in ran if r.outcome.value == "failed"]
    if failed:
        by_sev: dict[str, list[Any]] = {s: [] for s in SEVERITIES}
        for r in failed:
            by_sev.setdefault(severity_of.get(r.control_id or "", "info"), []).append(r)
        tr.write_line(f"failures by severity ({len(failed)}):", red=True)
        for sev in SEVERITIES:
            rs = sorted(by_sev.get(sev, []), key=lambda r: (r.control_id or "", r.target.name))
            if not rs:
                continue
            tr.write_line(f"  {sev} ({len(rs)})", red=sev in ("critical", "high"), yellow=sev == "medium")
            width = max(len(r.target.name) for r in rs[:MAX_PER_SEVERITY])
            for r in rs[:MAX_PER_SEVERITY]:
                tr.write_line(f"    {r.control_id}  {r.target.name:<{min(width, 40)}}  {_loc(r)}")
            if len(rs) > MAX_PER_SEVERITY:
                tr.write_line(f"    ... and {len(rs) - MAX_PER_SEVERITY} more (see the results JSON or audit report)")
    waived = [r for r in ran if r.outcome.value == "waived"]
    if waived:
        tr.write_line(f"waived ({len(waived)}): reported as waived, not passed")
        for r in waived[:MAX_WAIVED]:
            w = r.waiver or {}
            tr.write_line(f"    {r.control_id}  {r.target.name}  {w.get('id', '')}, approved by "
                          f"{w.get('approver', '?')}, expires {w.get('expires', '?')}")
        if len(waived) > MAX_WAIVED:
            tr.write_line(f"    ... and {len(waived) - MAX_WAIVED} more")
    unknown = [r for r in ran if r.outcome.value == "unknown"]
    if unknown:
        reasons = Counter(r.reason for r in unknown)
        tr.write_line(f"unknown verdicts ({len(unknown)}) by reason:", yellow=True)
        for reason, n in reasons.most_common(10):
            tr.write_line(f"  {n:4d} x {clip(reason, 220)}")
    for d in [d for d in run.diagnostics if d.severity == "warning"][:20]:
        tr.write_line(f"warning: {d}", yellow=True)
    for d in run.errors[:20]:
        tr.write_line(f"error: {d}", red=True)
    if gate is not None and gated:
        verdict = "fails" if gate.fails else "passes"
        tr.write_line(f"--fail-on {gate.fail_on}{' --fail-on-unknown' if gate.fail_on_unknown else ''}: "
                      f"the run {verdict} ({gate.explain()})", red=gate.fails, green=not gate.fails)
    for label, path in outputs:
        tr.write_line(f"{label}: {path}")
