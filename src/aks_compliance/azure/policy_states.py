"""Azure Policy's verdicts beside ours: joining policy states to results.

A state (``policy_states`` of a snapshot, as Microsoft.PolicyInsights returns them) names a resource
and a policy definition. It belongs to a result of control C on target T when the resource is T and
the definition is either **C's generated definition** (``policy.generate.definition_name(C.id)``, the
same rule translated to Azure Policy) or **a built-in C maps to** (``C.mappings.azure_policy``). The
generated definition is preferred when both are assigned: it states the same rule, so a difference
there is a real one; a built-in may deliberately differ (``builtin_deviation``, said in the note).

Several states for one definition (several assignments) are aggregated as Azure does: NonCompliant when
any is, else Compliant when any is, else the latest one's state.

A disagreement is our ``passed`` against their ``NonCompliant``, or our ``failed`` (or ``waived``, a
failure) against their ``Compliant``: one of the two is wrong or stale (Azure evaluates on change and
about every 24 hours). Our ``unknown`` (or any other outcome) against anything is shown, not flagged.
"""

from __future__ import annotations

from typing import Any, Iterable

from ..results import Outcome, Result

NONCOMPLIANT = "noncompliant"
COMPLIANT = "compliant"


def index_states(states: Iterable[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """(resource id, definition name), both lower case -> states."""
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for i, s in enumerate(states):
        if not isinstance(s, dict):  # reported where the snapshot is read (azure/source.py)
            continue
        rid, name = s.get("resourceId"), s.get("policyDefinitionName")
        if not isinstance(name, str) and isinstance(s.get("policyDefinitionId"), str):
            name = s["policyDefinitionId"].rsplit("/", 1)[-1]
        if isinstance(rid, str) and isinstance(name, str):
            out.setdefault((rid.lower(), name.lower()), []).append({**s, "_index": i})
    return out


def aggregate(states: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """Azure's rule over several assignments: the verdict and the state that decided it."""
    latest = sorted(states, key=lambda s: str(s.get("timestamp") or ""), reverse=True)
    for wanted in (NONCOMPLIANT, COMPLIANT):
        for s in latest:
            if str(s.get("complianceState", "")).lower() == wanted:
                return str(s["complianceState"]), s
    first = latest[0]
    return str(first.get("complianceState") or "Unknown"), first


def comparison(outcome: Outcome, verdict: str) -> str:
    v = verdict.lower()
    if outcome is Outcome.PASSED:
        return "disagree" if v == NONCOMPLIANT else "agree" if v == COMPLIANT else "not comparable"
    if outcome in (Outcome.FAILED, Outcome.WAIVED):
        return "disagree" if v == COMPLIANT else "agree" if v == NONCOMPLIANT else "not comparable"
    return "not comparable"


def annotate(results: list[Result], states: list[dict[str, Any]], snapshot: str | None = None,
             line_of: Any = None, catalog: Any = None) -> int:
    """Set ``result.azure_policy`` where a state matches; returns the number of disagreements."""
    index = index_states(states)
    if not index:
        return 0
    from ..policy.generate import definition_name

    if catalog is None:
        from ..controls import load_catalog
        catalog = load_catalog()
    candidates: dict[str, list[tuple[str, str]]] = {}
    disagreements = 0
    for r in results:
        rid = r.target.id
        if not r.control_id or not isinstance(rid, str):
            continue
        if r.control_id not in candidates:
            control = catalog.get(r.control_id)
            if control is None:
                candidates[r.control_id] = []
                continue
            candidates[r.control_id] = [("generated", definition_name(control.id).lower())] + [
                ("built-in", g.lower()) for g in control.mappings.azure_policy]
        matches = [(kind, name, index[(rid.lower(), name)]) for kind, name in candidates[r.control_id]
                   if (rid.lower(), name) in index]
        if not matches:
            continue
        kind, name, found = matches[0]
        verdict, decided = aggregate(found)
        agreement = comparison(r.outcome, verdict)
        info: dict[str, Any] = {
            "verdict": verdict, "definition": decided.get("policyDefinitionName") or name,
            "definition_id": decided.get("policyDefinitionId"), "matched_by": kind,
            "assignment": decided.get("policyAssignmentId"), "timestamp": decided.get("timestamp"),
            "states": len(found), "comparison": agreement, "disagrees": agreement == "disagree",
        }
        if snapshot:
            info["source"] = {"file": snapshot, "pointer": f"/policy_states/{decided['_index']}",
                              "line": line_of(f"/policy_states/{decided['_index']}") if line_of else None}
        others = [{"definition": n, "matched_by": k, "verdict": aggregate(s)[0]} for k, n, s in matches[1:]]
        if others:
            info["others"] = others
        if agreement == "disagree":
            disagreements += 1
            ours = "passed" if r.outcome is Outcome.PASSED else "failed"
            when = decided.get("timestamp") or "at an unknown time"
            note = (f"we say {ours}, Azure Policy says {verdict} (evaluated {when}): one of the two is wrong or "
                    "stale; Azure re-evaluates on change and about every 24 hours ('az policy state trigger-scan' "
                    "starts one)")
            if kind == "built-in":
                control = catalog.get(r.control_id)
                deviation = getattr(control, "builtin_deviation", None) if control is not None else None
                if deviation:
                    note += f"; this control deliberately differs from the built-in: {deviation}"
            info["note"] = note
        elif agreement == "not comparable":
            info["note"] = (f"our result is {r.outcome.value}: shown for reference, not compared"
                            if r.outcome not in (Outcome.PASSED, Outcome.FAILED, Outcome.WAIVED)
                            else f"Azure Policy's state {verdict} is neither Compliant nor NonCompliant")
        r.azure_policy = info
    return disagreements
