"""The nodes' kubelet configuration at scale: what reading configz per node costs the collection and the scan.

    .venv/bin/python benchmarks/kubelet_config.py            # 200 and 1000 nodes
    .venv/bin/python benchmarks/kubelet_config.py 500

tests/servers/k8s_server.py serves N nodes (three pools) with each node's configz; the collector (the real
kubernetes client) reads them one request per node, then run_scan() judges the CIS 3.2 node controls and the
report groups the nodes by pool. Timed: the collection with and without the kubelet configuration (the difference
is the per-node requests), the scan, and the report's grouping.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.servers

from aks_compliance.k8s.collector import CollectOptions, collect_snapshot  # noqa: E402
from aks_compliance.k8s.source import K8sOptions  # noqa: E402
from aks_compliance.report.cis_nodes import node_pools  # noqa: E402
from aks_compliance.scan import ScanOptions, run_scan  # noqa: E402
from tests.servers.k8s_server import FakeKubeAPI  # noqa: E402

CONFIG = json.loads((ROOT / "fixtures" / "node-pools" / "cluster.json").read_text())["configz"]
BASE = CONFIG["aks-system-12345678-vmss000000"]


def nodes(n: int) -> tuple[list[dict], dict[str, dict]]:
    objs, configz = [], {}
    for i in range(n):
        pool = ("system", "apps", "batch")[i % 3]
        name = f"aks-{pool}-12345678-vmss{i:06d}"
        objs.append({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": {
            "kubernetes.azure.com/agentpool": pool}}, "status": {"nodeInfo": {"kubeletVersion": "v1.31.7"}}})
        configz[name] = dict(BASE, readOnlyPort=10255) if pool == "batch" and i % 7 == 0 else BASE
    return objs, configz


def run(n: int) -> None:
    objs, configz = nodes(n)
    with FakeKubeAPI(objs, configz=configz, record=False) as api, tempfile.TemporaryDirectory() as tmp:
        kubeconfig = str(api.write_kubeconfig(Path(tmp) / "kubeconfig"))
        times = {}
        collect_snapshot(Path(tmp) / "warm-up.json.gz", kubeconfig=kubeconfig, context="aks-test",
                         options=CollectOptions(kubelet_config=False))  # client imports and first connection
        for label, name, on in (("collect without configz", "without", False), ("collect with configz", "with", True)):
            start = time.perf_counter()
            collect_snapshot(Path(tmp) / f"{name}.json.gz", kubeconfig=kubeconfig, context="aks-test",
                             options=CollectOptions(kubelet_config=on))
            times[label] = time.perf_counter() - start
        start = time.perf_counter()
        scan = run_scan(ScanOptions(inputs=[K8sOptions(paths=[str(Path(tmp) / "with.json.gz")])],
                                    controls=[f"AKS-{c}" for c in range(180, 189)]))
        assert not scan.errors and len(scan.results) == 9 * n
        times["scan (9 node controls)"] = time.perf_counter() - start
        start = time.perf_counter()
        groups = node_pools(scan.document()["results"])
        times["report: nodes by pool"] = time.perf_counter() - start
    per_node = (times["collect with configz"] - times["collect without configz"]) / n * 1000
    print(f"{n} nodes: " + ", ".join(f"{k} {v:.2f} s" for k, v in times.items()) +
          f"; {per_node:.1f} ms per node's configz; {len(scan.results)} results, {len(groups)} pools")


if __name__ == "__main__":
    for size in [int(a) for a in sys.argv[1:]] or [200, 1000]:
        run(size)
