"""Two views of the auditor report built from the results document: the CIS AKS v1.8.0 matrix (every
recommendation with its status, "not assessed" included) and the worker nodes grouped by node pool.

* **CIS matrix.** Each of the 51 recommendations (``controls/cis.py``) with the controls of this run that map it
  and the status their results give (the worst of them): failed, error, unknown, manual (unattested), waived,
  passed, not applicable (an undecided kube-bench check of a node whose kubelet configuration decided it is shown
  beside that result, not counted);
  *not assessed* when the controls ran but no input gave them anything to judge (3.1 without kube-bench, 3.2
  without a snapshot or kube-bench), *not in this run* when no control of the run maps it.
* **Node pools.** Results on nodes (kubelet configuration, kube-bench) grouped by cluster and node pool: per
  control the outcomes, the pool's value (what most of its nodes report) and the nodes that differ from it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any, Iterable, Mapping

from ..controls.cis import SECTIONS

NODE_TYPE, KUBE_BENCH_TYPE = "Node", "KubeBenchResults"
# worst first: what a recommendation's status is when its results differ
ORDER = ("failed", "error", "unknown", "manual", "waived", "passed", "not_applicable")
DECIDED = ("passed", "failed")


def input_of(target_type: str) -> str:
    """Which input a result came from, by its target's type."""
    if target_type == NODE_TYPE:
        return "kubelet configuration"
    if target_type == KUBE_BENCH_TYPE:
        return "kube-bench"
    if target_type.startswith("Microsoft."):
        return "Azure resources"
    return "Kubernetes objects"


def cis_matrix(controls: Iterable[Mapping[str, Any]], results: Iterable[Mapping[str, Any]],
               grouped: Mapping[str, list[tuple[Mapping[str, Any], str, Mapping[str, Any]]]] | None = None,
               ) -> list[dict[str, Any]]:
    """One row per CIS AKS v1.8.0 recommendation. ``grouped`` (control id -> (result, outcome, target), in the
    results' order), when the caller has it, saves reading every result again; ``results`` then need only be
    those carrying kube-bench's verdict."""
    by_cis: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for c in controls:
        for cis in (c.get("mappings") or {}).get("cis_aks", []):
            by_cis[cis].append(c)
    results = list(results)
    # kube-bench's undecided check of a node we decided from its kubelet configuration is shown beside ours
    # (Result.kube_bench), not counted against the recommendation: it says nothing about the node
    beside = {(r["control_id"], r["target"]["name"]) for r in results if r.get("kube_bench")
              and r["outcome"] in DECIDED and r["kube_bench"].get("outcome") not in DECIDED}
    if grouped is None:
        by_control: dict[str, list[tuple[Mapping[str, Any], str, Mapping[str, Any]]]] = defaultdict(list)
        for r in results:
            if r.get("control_id"):
                by_control[r["control_id"]].append((r, r["outcome"], r["target"]))
        grouped = by_control
    rows = []
    for number, name, recs in SECTIONS:
        for rec in recs:
            mapped = by_cis.get(rec.id, [])
            rs = [(c["id"], entry) for c in mapped for entry in grouped.get(c["id"], [])]
            counts = Counter(o for _, (_, o, _) in rs)
            counted = Counter(o for cid, (_, o, t) in rs if not (t["type"] == KUBE_BENCH_TYPE and
                                                                   (cid, t["name"]) in beside))
            if not mapped:
                status = "not in this run"
            elif not rs:
                status = "not assessed"
            else:
                status = next(o for o in ORDER if counted.get(o))
            inputs = sorted({input_of(t) for t in {t["type"] for _, (_, _, t) in rs}})
            rows.append({"id": rec.id, "title": rec.title, "section": number, "section_name": name, "status": status,
                         "counts": counts, "controls": [c["id"] for c in mapped],
                         "manual": bool(mapped) and all(c.get("manual") for c in mapped), "inputs": inputs})
    return rows


CONFIGZ_PREFIX = "configz.kubeletconfig."


def _signature(r: Mapping[str, Any]) -> tuple:
    return tuple((e.get("path"), e.get("actual")) for e in r.get("evidence", [])[:1])  # the setting itself


def _shown(sig: tuple) -> str:
    return "; ".join(f"{str(p).removeprefix(CONFIGZ_PREFIX)} = {a}" for p, a in sig)


def node_pools(results: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per (cluster, pool): its nodes and, per control, the outcomes, the pool's value and the nodes that differ."""
    groups: dict[tuple[str, str], dict[str, list[Mapping[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for r in results:
        t = r.get("target") or {}
        if r.get("control_id") and t.get("type") in (NODE_TYPE, KUBE_BENCH_TYPE):
            key = (t.get("cluster") or "", t.get("pool") or "(no node pool label)")
            groups[key][r["control_id"]].append(r)
    out = []
    for (cluster, pool), by_control in sorted(groups.items()):
        nodes = sorted({r["target"]["name"] for rs in by_control.values() for r in rs})
        rows = []
        for cid, rs in sorted(by_control.items()):
            config = [r for r in rs if r["target"]["type"] == NODE_TYPE]
            counts = Counter(r["outcome"] for r in config)
            common = Counter((r["outcome"], _signature(r)) for r in config).most_common(1)
            value, differ = "", []
            if common:
                (outcome, sig), _ = common[0]
                value = _shown(sig) or outcome
                differ = [{"node": r["target"]["name"], "outcome": r["outcome"],
                           "value": _shown(_signature(r)) or r.get("reason", "")}
                          for r in config if (r["outcome"], _signature(r)) != (outcome, sig)]
            rows.append({"control_id": cid, "counts": counts, "value": value, "differ": differ,
                         "kube_bench": Counter(r["outcome"] for r in rs if r["target"]["type"] == KUBE_BENCH_TYPE)})
        out.append({"cluster": cluster, "pool": pool, "nodes": nodes, "rows": rows,
                    "differing": sorted({d["node"] for row in rows for d in row["differ"]})})
    return out


def kube_bench_rows(results: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Our node results with kube-bench's verdict beside them, disagreements first."""
    rows = [r for r in results if r.get("kube_bench")]
    return sorted(rows, key=lambda r: (0 if r["kube_bench"].get("disagrees") else
                                       1 if r["kube_bench"].get("comparison") == "not comparable" else 2,
                                       r.get("control_id") or "", r["target"]["name"]))
