"""Scan a generated fleet of N cluster templates; compare with Checkov on the same files when available.

    .venv/bin/python benchmarks/fleet.py                 # N = 100, 1000, 2000, 5000
    .venv/bin/python benchmarks/fleet.py 100 2000        # chosen sizes
    .venv/bin/python benchmarks/fleet.py --workers 0 2000  # without the pytest-xdist column

Each fleet is generated deterministically (hardened, default and misconfigured clusters; pools in
agentPoolProfiles and as separate agentPools resources; parameters with defaults; diagnostic
settings as extension resources) and scanned in fresh processes:

  engine  run_scan() alone: reading, expansion, evaluation of every control
  suite   pytest tests_compliance with --results-json and --audit-report: what users run in CI
  -n 2    the same suite with pytest-xdist (--workers, default 2): the workers evaluate shards of the
          targets, the controller merges them and writes the same outputs (its results JSON is
          checked to be the single-process one, modulo start time and run id)
  --jobs 2  the same suite with the scan's own forked processes (--jobs, default 2): read once, shards
          evaluated in parallel, merged before pytest collects (checked the same way)
  checkov checkov -d DIR --framework arm --skip-download -o json (when `checkov` is importable:
          pip install -e '.[bench]'), alternating with the suite, same files, same machine

Peak RSS is each child's own maximum (os.wait4): for -n 2 the largest process (the controller or a
worker), and "total" the largest sum over the process tree (sampled every 100 ms). The suite runs with
-q --tb=no -rN, as CI at fleet scale would; `-p no:hypothesispytest` leaves out a plugin that only the
project's test extras install. Times are the best of --repeat runs (default 2), which on a noisy machine
is closer to the cost than a mean; the runs of one size alternate (suite, -n 2, checkov, suite, ...) so
each sees the same machine state, and the ratios are of those runs.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
ROOT = Path(__file__).resolve().parents[1]

# The measured processes use bytecode caches, as an installed package does (pip compiles them): with
# PYTHONDONTWRITEBYTECODE set, as on some CI images, every start compiles the whole package again.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

SUITE = str(ROOT / "tests_compliance")


def cluster_template(i: int, rng: random.Random) -> dict:
    kind = ("hardened", "default", "misconfigured")[i % 3]
    hardened = kind == "hardened"
    props: dict = {
        "kubernetesVersion": rng.choice(["1.29.8", "1.30.5", "1.31.2"]),
        "dnsPrefix": "[parameters('clusterName')]",
        "enableRBAC": kind != "misconfigured",
        "agentPoolProfiles": [{
            "name": "system", "mode": "System", "count": 3, "vmSize": "Standard_D4ds_v5",
            "enableEncryptionAtHost": "[parameters('encryptionAtHost')]",
            "availabilityZones": ["1", "2", "3"] if hardened else [],
        }],
    }
    if hardened:
        props.update({
            "disableLocalAccounts": True,
            "aadProfile": {"managed": True, "enableAzureRBAC": True},
            "apiServerAccessProfile": {"enablePrivateCluster": True},
            "networkProfile": {"networkPlugin": "azure", "networkPolicy": rng.choice(["azure", "calico", "cilium"])},
            "addonProfiles": {"azurepolicy": {"enabled": True}},
            "autoUpgradeProfile": {"upgradeChannel": "stable", "nodeOSUpgradeChannel": "NodeImage"},
            "securityProfile": {"defender": {"securityMonitoring": {"enabled": True}}},
        })
    elif kind == "misconfigured":
        props["addonProfiles"] = {"httpApplicationRouting": {"enabled": True}, "kubeDashboard": {"enabled": True}}
        props["apiServerAccessProfile"] = {"authorizedIPRanges": ["0.0.0.0/0"]}
    resources: list = [{
        "type": "Microsoft.ContainerService/managedClusters", "apiVersion": "2024-05-01",
        "name": "[parameters('clusterName')]", "location": "[parameters('location')]",
        "identity": {"type": "SystemAssigned"}, "properties": props}]
    for p in range(rng.randint(0, 2)):
        resources.append({
            "type": "Microsoft.ContainerService/managedClusters/agentPools", "apiVersion": "2024-05-01",
            "name": f"[format('{{0}}/user{p}', parameters('clusterName'))]",
            "dependsOn": ["[resourceId('Microsoft.ContainerService/managedClusters', parameters('clusterName'))]"],
            "properties": {"mode": "User", "count": 2, "vmSize": "Standard_D8ds_v5",
                           "enableEncryptionAtHost": "[parameters('encryptionAtHost')]",
                           "enableNodePublicIP": kind == "misconfigured" and p == 0}})
    if hardened or rng.random() < 0.3:
        resources.append({
            "type": "Microsoft.Insights/diagnosticSettings", "apiVersion": "2021-05-01-preview", "name": "audit",
            "scope": "[format('Microsoft.ContainerService/managedClusters/{0}', parameters('clusterName'))]",
            "properties": {"workspaceId": "[parameters('workspaceId')]",
                           "logs": [{"category": "kube-audit-admin", "enabled": hardened}]}})
    return {
        "$schema": SCHEMA, "contentVersion": "1.0.0.0",
        "parameters": {
            "clusterName": {"type": "string", "defaultValue": f"aks-{kind}-{i:05d}"},
            "location": {"type": "string", "defaultValue": "[resourceGroup().location]"},
            "encryptionAtHost": {"type": "bool", "defaultValue": hardened},
            "workspaceId": {"type": "string", "defaultValue": "[resourceId('Microsoft.OperationalInsights/workspaces', 'law')]"},
        },
        "resources": resources,
    }


def generate(n: int, directory: Path, seed: int = 20261129) -> None:
    rng = random.Random(seed)
    for i in range(n):
        sub = directory / f"team{i % 20:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"cluster-{i:05d}.json").write_text(json.dumps(cluster_template(i, rng), indent=2))


def _resident_kb(pid: int) -> int:
    """A process's proportional set size (its private pages, and its share of pages it shares: a forked
    process shares its parent's until either writes them, and RSS would count them in both), else its RSS."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    with open(f"/proc/{pid}/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def _tree_rss_mb(root: int) -> float:
    """The resident memory of ``root`` and its descendants now (Linux /proc), in MB: proportional (PSS), so that
    pages shared across a fork count once. Cheap enough to sample while the measured processes run: it reads
    only the tree's own entries."""
    total, frontier, seen = 0, [root], set()
    while frontier:
        pid = frontier.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            total += _resident_kb(pid)
            for tid in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{tid}/children") as fh:
                    frontier.extend(int(c) for c in fh.read().split())
        except (OSError, ValueError):
            continue
    return total / 1024


def measure(cmd: list[str], stdout: int | None = subprocess.DEVNULL,
            tree: bool = False) -> tuple[float, float, int] | tuple[float, float, int, float]:
    """(wall s, peak RSS MB of the largest process, exit status[, peak MB summed over the process tree])."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.DEVNULL)
    peak = [0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.1):
            peak[0] = max(peak[0], _tree_rss_mb(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True) if tree and os.path.isdir("/proc") else None
    if sampler is not None:
        sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    done.set()
    if sampler is not None:
        sampler.join()
        return wall, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status), peak[0]
    return wall, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


ENGINE = ("import sys; from aks_compliance.scan import ScanOptions, run_scan; from aks_compliance.arm.inputs import ArmOptions; "
          "run = run_scan(ScanOptions(inputs=[ArmOptions(paths=[sys.argv[1]])])); print(len(run.results))")


def suite_cmd(fleet: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "pytest", SUITE, "--arm", str(fleet), "-q", "--tb=no", "-rN",
            "-p", "no:cacheprovider", "-p", "no:hypothesispytest",
            "--results-json", str(out / "results.json"), "--audit-report", str(out / "report.html"), *extra]


def checkov_cmd(fleet: Path) -> list[str] | None:
    if importlib.util.find_spec("checkov") is None:
        return None
    return [sys.executable, "-m", "checkov.main", "-d", str(fleet), "--framework", "arm", "--skip-download",
            "-o", "json", "--quiet"]


def best(runs: list[tuple[float, float, int]]) -> tuple[float, float, int]:
    return min(runs, key=lambda r: r[0])


def startup(*extra: str) -> float:
    small = ROOT / "fixtures" / "controls" / "AKS-002" / "failed-enabled.json"
    cmd = [sys.executable, "-m", "pytest", SUITE, "--arm", str(small), "-q", "-p", "no:cacheprovider",
           "-p", "no:hypothesispytest", *extra]
    return min(measure(cmd)[0] for _ in range(5))


def comparable(path: Path) -> str:
    """The results document without what differs between two runs of one scan (start time, run id)."""
    doc = json.loads(path.read_text())
    doc.pop("started", None)
    for key in ("id", "user", "host", "ci"):
        (doc.get("run") or {}).pop(key, None)
    return json.dumps(doc, sort_keys=True)


def _check_documents(single: Path, parallel: Path | None) -> int:
    """The number of results of ``single``, and whether ``parallel`` (if given) is the same document, read in
    a child process: this one stays small, because a child's peak RSS counts the pages it shares with its
    parent when forked (a parent that had read a 140 MB document made the next suite look 70 MB larger)."""
    code = ("import json, sys; sys.path.insert(0, sys.argv[1]); from fleet import comparable; from pathlib import Path; "
            "n = len(json.loads(Path(sys.argv[2]).read_text())['results']); "
            "same = len(sys.argv) < 4 or comparable(Path(sys.argv[2])) == comparable(Path(sys.argv[3])); "
            "print(n if same else -1)")
    args = [sys.executable, "-c", code, str(Path(__file__).parent), str(single)] + ([str(parallel)] if parallel else [])
    return int(subprocess.run(args, capture_output=True, text=True, check=True).stdout)


STARTED = "2026-11-02T09:00:00+00:00"  # one start time for every run of a fleet: comparable documents


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sizes", nargs="*", type=int, default=[100, 1000, 2000, 5000])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="pytest-xdist workers for the -n column (0: none)")
    parser.add_argument("--jobs", type=int, default=2, help="forked processes for the --jobs column (0: none)")
    args = parser.parse_args()
    have_checkov = importlib.util.find_spec("checkov") is not None
    print(f"start-up: pytest tests_compliance --arm <one small template>: {startup():.2f} s wall "
          f"({startup('-p', 'no:html'):.2f} s without the pytest-html plugin)")
    if not have_checkov:
        print("checkov is not importable here (pip install -e '.[bench]'): no comparison")
    n_label = f"-n {args.workers}"
    head = f"{'N':>5} {'results':>8} {'engine s':>8} {'suite s':>8} {'suite MB':>8} {'ms/cluster':>10}"
    if args.workers:
        head += f" {n_label + ' s':>8} {'MB max':>7} {'MB total':>8} {'speed-up':>8}"
    j_label = f"--jobs {args.jobs}"
    if args.jobs:
        head += f" {j_label + ' s':>11} {'MB max':>7} {'MB total':>8} {'speed-up':>8}"
    if have_checkov:
        head += f" {'checkov s':>9} {'checkov MB':>10} {'time x':>7} {'RSS x':>6}"
    print("\n" + head)
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            fleet, out, out_n, out_j = (Path(tmp) / name for name in ("fleet", "out", "out-n", "out-j"))
            for d in (out, out_n, out_j):
                d.mkdir()
            generate(n, fleet)
            engine = measure([sys.executable, "-c", ENGINE, str(fleet)])
            suites, parallel, forked, checkovs = [], [], [], []
            for _ in range(args.repeat):  # alternate, so all see the same machine state
                suites.append(measure(suite_cmd(fleet, out, "--aksc-started", STARTED)))
                if suites[-1][2] not in (0, 1):
                    raise SystemExit(f"the suite failed on N={n} (exit status {suites[-1][2]})")
                if args.workers:
                    # a fresh --basetemp, as `aks-compliance scan` gives itself: pytest-xdist makes pytest create
                    # its numbered temporary directories, and delete the older ones of other pytest runs on this
                    # machine at the end (the project's own test suite leaves thousands of files there: up to
                    # 2.5 s of deleting, which is not the suite's work)
                    parallel.append(measure(suite_cmd(fleet, out_n, "--aksc-started", STARTED, "-n",
                                                      str(args.workers), "--basetemp", str(Path(tmp) / "basetemp")),
                                            tree=True))
                if args.jobs:
                    forked.append(measure(suite_cmd(fleet, out_j, "--aksc-started", STARTED, "--jobs", str(args.jobs)),
                                          tree=True))
                if have_checkov:
                    checkovs.append(measure(checkov_cmd(fleet)))  # type: ignore[arg-type]
            s_wall, s_rss, _ = best(suites)
            results = _check_documents(out / "results.json", out_n / "results.json" if args.workers else None)
            if results < 0:
                raise SystemExit(f"N={n}: the {n_label} results JSON differs from the single-process one")
            if args.jobs and _check_documents(out / "results.json", out_j / "results.json") < 0:
                raise SystemExit(f"N={n}: the {j_label} results JSON differs from the single-process one")
            line = f"{n:>5} {results:>8} {engine[0]:>8.2f} {s_wall:>8.2f} {s_rss:>8.0f} {1000 * s_wall / n:>10.2f}"
            if args.workers:
                p_wall, p_rss, _, p_total = min(parallel, key=lambda r: r[0])  # type: ignore[misc]
                line += f" {p_wall:>8.2f} {p_rss:>7.0f} {p_total:>8.0f} {s_wall / p_wall:>7.2f}x"
            if args.jobs:
                j_wall, j_rss, _, j_total = min(forked, key=lambda r: r[0])  # type: ignore[misc]
                line += f" {j_wall:>11.2f} {j_rss:>7.0f} {j_total:>8.0f} {s_wall / j_wall:>7.2f}x"
            if have_checkov:
                c_wall, c_rss, _ = best(checkovs)
                line += f" {c_wall:>9.2f} {c_rss:>10.0f} {s_wall / c_wall:>7.2f} {s_rss / c_rss:>6.2f}"
            print(line, flush=True)


if __name__ == "__main__":
    main()
