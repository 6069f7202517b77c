"""kube-bench's verdict beside ours, for the same node and the same control (CIS recommendation).

A node control (CIS 3.2) judges a node twice when both inputs are given: from the kubelet configuration a live
snapshot read (target type Node) and from kube-bench's check of that node (target type KubeBenchResults). Both
results stay; this annotator sets ``Result.kube_bench`` on ours with kube-bench's status, its evidence line and
whether the two agree, as ``azure/policy_states.py`` does with Azure Policy's states. Nodes match by name, and by
cluster when ``--kube-bench-cluster`` names it.

A disagreement is our ``passed`` against kube-bench's ``failed``, or our ``failed`` against its ``passed``: one
of the two read another value (a stale run, another node image) or decides differently (kube-bench's 3.2.7
accepts only an eventRecordQPS of 0). An unknown on either side is shown, not compared.
"""

from __future__ import annotations

from typing import Any, Callable

from ..redaction import redact_text
from ..results import Outcome, Result
from .reader import RESOURCE_TYPE, Run

MAX_OUTPUT = 300


def comparison(ours: Outcome, theirs: Outcome) -> str:
    decided = (Outcome.PASSED, Outcome.FAILED)
    if ours not in decided or theirs not in decided:
        return "not comparable"
    return "agree" if ours is theirs else "disagree"


def annotator(runs: list[Run], cluster: str | None) -> Callable[[list[Result], Any], None]:
    by_node = {r.node: r for r in runs}

    def annotate(results: list[Result], catalog: Any) -> None:
        theirs: dict[tuple[str, str], Result] = {}
        for r in results:
            if r.control_id and r.target.type == RESOURCE_TYPE:
                theirs.setdefault((r.control_id, r.target.name), r)
        if not theirs:
            return
        for r in results:
            if not r.control_id or r.target.type != "Node" or (cluster and r.target.cluster != cluster):
                continue
            other = theirs.get((r.control_id, r.target.name))
            run = by_node.get(r.target.name)
            if other is None or run is None or not _checks(run, r.control_id, catalog):
                continue  # kube-bench did not check this recommendation on this node: nothing to show beside ours
            r.kube_bench = _info(r, other, run, catalog)

    return annotate


def _checks(run: Run, control_id: str, catalog: Any) -> list:
    control = catalog.get(control_id) if catalog is not None else None
    return [c for cis in (control.mappings.cis_aks if control is not None else ()) for c in run.checks_for(cis)]


def _info(ours: Result, theirs: Result, run: Run, catalog: Any) -> dict[str, Any]:
    checks = _checks(run, ours.control_id or "", catalog)
    cis = checks[0].id
    agreement = comparison(ours.outcome, theirs.outcome)
    info: dict[str, Any] = {
        "outcome": theirs.outcome.value, "check": cis, "status": ", ".join(c.status for c in checks),
        "benchmark": checks[0].benchmark, "comparison": agreement,
        "disagrees": agreement == "disagree", "target": theirs.key,
    }
    c = checks[0]
    info["source"] = {"file": run.path, "pointer": c.pointer, "line": c.line}
    output = redact_text(c.actual_value.strip())
    info["audit_output"] = output if len(output) <= MAX_OUTPUT else output[: MAX_OUTPUT - 3] + "..."
    if theirs.reason:
        info["reason"] = theirs.reason
    if agreement == "disagree":
        info["note"] = (f"we say {ours.outcome.value} from the node's kubelet configuration, kube-bench says "
                        f"{theirs.outcome.value}: one of the two read another value (a run at another time, another "
                        "node image) or decides differently")
    elif agreement == "not comparable":
        info["note"] = ("shown for reference, not compared: " + (
            f"kube-bench's result is {theirs.outcome.value}" + (f" ({theirs.reason})" if theirs.reason else "")
            if theirs.outcome not in (Outcome.PASSED, Outcome.FAILED) else f"our result is {ours.outcome.value}"))
    return info
