"""Large but honest inputs (issue 19, class 8): each case is scanned by the CLI in its own process, with every
output written; prints wall seconds, peak RSS and the exit status.

    .venv/bin/python benchmarks/hostile_sizes.py                 # every case at full size
    .venv/bin/python benchmarks/hostile_sizes.py --scale 0.1     # a tenth of each size (quick)
    .venv/bin/python benchmarks/hostile_sizes.py waivers name    # chosen cases

Cases (full size):
  clusters   - 100,000 managed clusters in one REST export file ({"value": [...]}), one control
  stream     - a 50,000-document YAML stream of Deployments (one file), two controls
  list       - a Kubernetes List of 100,000 Pods in one JSON file, two controls
  waivers    - 100,000 waivers (one per cluster) over 100,000 clusters, one control
  name       - a cluster whose name is 10 MB (names are capped in evidence, test ids and reports)
Every case also scans a good cluster beside it, which must still be judged.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The measured processes use bytecode caches, as an installed package does (pip compiles them): with
# PYTHONDONTWRITEBYTECODE set, as on some CI images, every start compiles the whole package again.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


EXE = str(Path(sys.executable).with_name("aks-compliance"))
MC = "Microsoft.ContainerService/managedClusters"
GOOD = Path(__file__).resolve().parents[1] / "fixtures" / "controls" / "AKS-002" / "failed-enabled.json"


def cluster(name: str) -> dict:
    return {"id": f"/subscriptions/0/resourceGroups/rg/providers/{MC}/{name}", "name": name, "type": MC,
            "location": "westeurope", "properties": {"disableLocalAccounts": True, "kubernetesVersion": "1.30.5"}}


def clusters(d: Path, n: int) -> list[str]:
    (d / "export.json").write_text(json.dumps({"value": [cluster(f"aks-{i}") for i in range(n)]}))
    return ["--arm", str(d / "export.json"), "--controls", "AKS-002"]


def deployment(i: int) -> str:
    return (f"apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: app-{i}, namespace: ns-{i % 50}}}\n"
            f"spec:\n  selector: {{matchLabels: {{app: a{i}}}}}\n  template:\n    metadata: {{labels: {{app: a{i}}}}}\n"
            f"    spec:\n      containers:\n      - {{name: c, image: 'registry.example/app:{i}'}}\n")


def stream(d: Path, n: int) -> list[str]:
    (d / "k8s").mkdir()
    (d / "k8s" / "all.yaml").write_text("---\n".join(deployment(i) for i in range(n)))
    return ["--k8s", str(d / "k8s"), "--controls", "AKS-101,AKS-102"]


def k8s_list(d: Path, n: int) -> list[str]:
    (d / "k8s").mkdir()
    items = [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"p{i}", "namespace": f"ns-{i % 50}"},
              "spec": {"containers": [{"name": "c", "image": f"r.example/a:{i}"}]}} for i in range(n)]
    (d / "k8s" / "list.json").write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    return ["--k8s", str(d / "k8s"), "--controls", "AKS-101,AKS-102"]


def waivers(d: Path, n: int) -> list[str]:
    args = clusters(d, n)
    expires = (dt.date.today() + dt.timedelta(days=300)).isoformat()
    (d / "waivers.yaml").write_text("waivers:\n" + "".join(
        f"- {{id: W-{i}, control: AKS-002, target: aks-{i}, justification: j, approver: a, expires: {expires}}}\n"
        for i in range(n)))
    return args + ["--waivers", str(d / "waivers.yaml")]


def name(d: Path, n: int) -> list[str]:
    body = cluster("aks-" + "n" * (n * 100))  # 100,000 -> a 10 MB name
    body["properties"]["disableLocalAccounts"] = False
    (d / "long.json").write_text(json.dumps(body))
    return ["--arm", str(d / "long.json"), "--controls", "AKS-002"]


CASES = {"clusters": (clusters, 100_000), "stream": (stream, 50_000), "list": (k8s_list, 100_000),
         "waivers": (waivers, 100_000), "name": (name, 100_000)}


def run(case: str, scale: float) -> None:
    make, full = CASES[case]
    n = max(1, int(full * scale))
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        args = make(d, n)
        out = d / "out"
        cmd = [EXE, "scan", *args, "--arm", str(GOOD), "-p", "no:cacheprovider", "-q",
               "--results-json", str(out / "r.json"), "--audit-report", str(out / "r.html"),
               "--csv", str(out / "r.csv"), "--sarif", str(out / "r.sarif"), "--junitxml", str(out / "j.xml")]
        start = time.perf_counter()
        with tempfile.TemporaryFile() as out_f, tempfile.TemporaryFile() as err_f:
            child = subprocess.Popen(cmd, stdout=out_f, stderr=err_f)
            _, status, usage = os.wait4(child.pid, 0)  # this child's own peak, not the largest of all cases so far
            wall = time.perf_counter() - start
            out_f.seek(0)
            err_f.seek(0)
            proc = subprocess.CompletedProcess(cmd, os.waitstatus_to_exitcode(status), out_f.read(), err_f.read())
        rss = usage.ru_maxrss
        written = sum(p.stat().st_size for p in out.iterdir()) if out.exists() else 0
        judged = (out / "r.json").exists() and "aks-fixture" in (out / "r.json").read_text()
        traceback = b"Traceback" in proc.stdout + proc.stderr
        print(f"{case:9} n={n:>7,} {wall:7.1f} s  peak RSS {rss / 1024:6.0f} MB  exit {proc.returncode}"
              f"  outputs {written / 1e6:7.1f} MB  good cluster judged: {judged}  traceback: {traceback}",
              flush=True)


def main(argv: list[str]) -> None:
    scale = 1.0
    if "--scale" in argv:
        i = argv.index("--scale")
        scale = float(argv[i + 1])
        argv = argv[:i] + argv[i + 2:]
    for case in argv or list(CASES):
        run(case, scale)


if __name__ == "__main__":
    main(sys.argv[1:])
