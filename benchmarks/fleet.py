"""Scan a generated fleet of N cluster templates; compare with Checkov on the same files when available.

    .venv/bin/python benchmarks/fleet.py                 # N = 100, 1000, 2000, 5000
    .venv/bin/python benchmarks/fleet.py 100 2000        # chosen sizes
    .venv/bin/python benchmarks/fleet.py --xdist 2000    # also -n auto, and compare its results JSON

Each fleet is generated deterministically (hardened, default and misconfigured clusters; pools in
agentPoolProfiles and as separate agentPools resources; parameters with defaults; diagnostic
settings as extension resources) and scanned in fresh processes:

  engine  run_scan() alone: reading, expansion, evaluation of every control
  suite   pytest tests_compliance with --results-json and --audit-report: what users run in CI
  checkov checkov -d DIR --framework arm --skip-download -o json (when `checkov` is importable:
          pip install -e '.[bench]'), alternating with the suite, same files, same machine

Peak RSS is each child's own maximum (os.wait4). The suite runs with -q --tb=no -rN, as CI at
fleet scale would; `-p no:hypothesispytest` leaves out a plugin that only the project's test
extras install. Times are the best of --repeat runs (default 2), which on a noisy machine is
closer to the cost than a mean.
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
import time
from pathlib import Path

SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
ROOT = Path(__file__).resolve().parents[1]
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


def measure(cmd: list[str], stdout: int | None = subprocess.DEVNULL) -> tuple[float, float, int]:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    return time.perf_counter() - start, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


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


def startup() -> float:
    small = ROOT / "fixtures" / "controls" / "AKS-002" / "failed-enabled.json"
    cmd = [sys.executable, "-m", "pytest", SUITE, "--arm", str(small), "-q", "-p", "no:cacheprovider"]
    return min(measure(cmd)[0] for _ in range(3))


def results_of(path: Path) -> list[str]:
    return sorted(json.dumps(r, sort_keys=True) for r in json.loads(path.read_text())["results"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sizes", nargs="*", type=int, default=[100, 1000, 2000, 5000])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--xdist", action="store_true", help="also run the suite with -n auto at the largest N")
    args = parser.parse_args()
    have_checkov = importlib.util.find_spec("checkov") is not None
    print(f"start-up: pytest tests_compliance --arm <one small template>: {startup():.2f} s wall")
    if not have_checkov:
        print("checkov is not importable here (pip install -e '.[bench]'): no comparison")
    print(f"\n{'N':>5} {'results':>8} {'engine s':>8} {'suite s':>8} {'suite MB':>8} {'results/s':>9} "
          f"{'ms/cluster':>10}" + (f" {'checkov s':>9} {'checkov MB':>10} {'time x':>7} {'RSS x':>6}"
                                    if have_checkov else ""))
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            fleet, out = Path(tmp) / "fleet", Path(tmp) / "out"
            out.mkdir()
            generate(n, fleet)
            engine = best([measure([sys.executable, "-c", ENGINE, str(fleet)]) for _ in range(1)])
            suites, checkovs = [], []
            for _ in range(args.repeat):  # alternate, so both see the same machine state
                suites.append(measure(suite_cmd(fleet, out)))
                if suites[-1][2] not in (0, 1):
                    raise SystemExit(f"the suite failed on N={n} (exit status {suites[-1][2]})")
                if have_checkov:
                    checkovs.append(measure(checkov_cmd(fleet)))  # type: ignore[arg-type]
            s_wall, s_rss, _ = best(suites)
            results = len(json.loads((out / "results.json").read_text())["results"])
            line = (f"{n:>5} {results:>8} {engine[0]:>8.2f} {s_wall:>8.2f} {s_rss:>8.0f} {results / s_wall:>9.0f} "
                    f"{1000 * s_wall / n:>10.2f}")
            if have_checkov:
                c_wall, c_rss, _ = best(checkovs)
                line += f" {c_wall:>9.2f} {c_rss:>10.0f} {s_wall / c_wall:>7.2f} {s_rss / c_rss:>6.2f}"
            print(line, flush=True)
            if args.xdist and n == max(args.sizes):
                serial = results_of(out / "results.json")
                x_wall, x_rss, _ = measure(suite_cmd(fleet, out, "-n", "auto"))
                same = results_of(out / "results.json") == serial
                print(f"      -n auto: {x_wall:.2f} s, {x_rss:.0f} MB (controller), results JSON "
                      f"{'identical to' if same else 'DIFFERENT from'} the serial run")


if __name__ == "__main__":
    main()
