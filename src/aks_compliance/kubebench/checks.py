"""What a kube-bench check says about a CIS AKS v1.8.0 recommendation on one node.

* **Numbering.** kube-bench ``cfg/aks-1.8`` numbers its checks as this catalog does; ``cfg/aks-1.7`` has the same
  layout for the worker-node section (3.1.1-3.2.9). Other benchmarks (``aks-1.0``, ``cis-1.x``, ``eks-...``)
  number differently: their checks are listed in the coverage ledger, never read as verdicts of another id.
* **Status.** PASS is passed, FAIL failed; WARN (a manual check, or one kube-bench could not carry out) and INFO
  (a skipped check) are unknown with kube-bench's reason: never passed.
* **Known defects of the benchmark files** (``../shared/reference/cluster-controls.md`` section 1): 3.1.3 and
  3.1.4 stat the kubelet configuration file instead of ``azure.json``; 3.2.2 tests the ``--anonymous-auth`` flag
  where ``--authorization-mode`` is meant. Where a check's own audit shows the defect, its verdict is not about
  the recommendation: unknown, with the reason.
"""

from __future__ import annotations

import re

from ..policy.conditions import Leaf, Truth, Verdict
from .reader import Check

# kube-bench benchmarks whose worker-node checks carry the CIS AKS v1.8.0 ids
MAPPED_BENCHMARKS = ("aks-1.8", "aks-1.7")
NODE_IDS = frozenset({*(f"3.1.{i}" for i in range(1, 5)), *(f"3.2.{i}" for i in range(1, 10))})
_STAT_FILE = re.compile(r"stat\s+-c\s+\S+\s+([^'\"\s]+)")


def mapped(check: Check) -> str | None:
    """None when the check's id is a CIS AKS v1.8.0 id; else why it is not read as one."""
    if check.benchmark in MAPPED_BENCHMARKS:
        return None
    if check.benchmark is None:
        return ("the Controls entry names no benchmark version: its numbering cannot be matched to CIS AKS v1.8.0 "
                "(run kube-bench with --benchmark aks-1.8)")
    return (f"kube-bench benchmark {check.benchmark} numbers its checks differently from CIS AKS v1.8.0 (kube-bench "
            "cfg/aks-1.8): not read as a verdict of another recommendation (run kube-bench with --benchmark aks-1.8)")


def defect(check: Check) -> str | None:
    """Why this check's verdict is not about its recommendation (a known defect its audit shows), or None."""
    if check.id in ("3.1.3", "3.1.4"):
        audited = _STAT_FILE.search(check.audit)
        target = audited.group(1) if audited else None
        if "azure.json" not in check.audit:
            return (f"kube-bench's {check.id} audits {target or 'another file'} instead of azure.json (a known defect "
                    f"of cfg/{check.benchmark or 'aks-1.8'}: 3.1.3 and 3.1.4 stat $kubeletconf); its {check.status} "
                    "is not about azure.json: check the file on the node (stat -c '%a %U:%G' "
                    "/etc/kubernetes/azure.json)")
    if check.id == "3.2.2" and "--anonymous-auth" in check.expected_result:
        return (f"kube-bench's 3.2.2 tested the --anonymous-auth flag instead of --authorization-mode (a known defect "
                f"of cfg/{check.benchmark or 'aks-1.8'}): its {check.status} says nothing about the authorization mode")
    return None


def verdict(checks: list[Check], cis: str, node: str) -> Verdict:
    """The verdict of kube-bench's check(s) ``cis`` for one node, with the check as evidence (body paths)."""
    if not checks:
        return Verdict(Truth.UNKNOWN, [f"kube-bench's output for node {node} has no check {cis} (kube-bench ran "
                                       "without it: --check/--skip, or another --targets)"], [])
    leaves: list[Leaf] = []
    reasons: list[str] = []
    truths: list[Truth] = []
    for c in checks:
        why = mapped(c) or defect(c)
        if why is None and c.status in ("WARN", "INFO"):
            what = "skipped the check" if c.status == "INFO" else "could not decide the check"
            why = f"kube-bench {what} ({c.status}: {c.reason or ('a manual check' if c.type == 'manual' else 'no reason given')})"
        truth = Truth.UNKNOWN if why else (Truth.TRUE if c.status == "PASS" else Truth.FALSE)
        if why:
            reasons.append(why)
        truths.append(truth)
        leaves.append(Leaf(f"{c.path}.status", "equals", "PASS", c.status, truth))
        for key, label, value in (("audit", "audit command", c.audit), ("actual_value", "audit output", c.actual_value),
                                  ("expected_result", "expected result", c.expected_result)):
            if value:
                leaves.append(Leaf(f"{c.path}.{key}", "kube-bench", label, value, truth))
    truth = Truth.FALSE if Truth.FALSE in truths else Truth.UNKNOWN if Truth.UNKNOWN in truths else Truth.TRUE
    if truth is Truth.FALSE:
        leaves.sort(key=lambda leaf: leaf.truth is not Truth.FALSE)
    return Verdict(truth, list(dict.fromkeys(reasons)) if truth is Truth.UNKNOWN else [], leaves)

