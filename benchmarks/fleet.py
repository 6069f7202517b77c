"""Scan a generated fleet of N cluster templates and print time and peak memory.

    .venv/bin/python benchmarks/fleet.py            # N = 100, 1000
    .venv/bin/python benchmarks/fleet.py 100 2000   # chosen sizes

Each size is generated deterministically (hardened, default and misconfigured clusters; pools in
agentPoolProfiles and as separate agentPools resources; parameters with defaults; extension
resources) into a temporary directory, then scanned twice in fresh processes:
  engine  - run_scan() only: reading, expansion, evaluation (what every item then reports)
  suite   - aks-compliance scan with --results-json: the full pytest run users get
Peak RSS is the child process's own maximum (os.wait4), not this script's.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
BIN = Path(sys.executable).parent


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


def measure(cmd: list[str]) -> tuple[float, float, int]:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    return wall, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


ENGINE = ("import sys; from aks_compliance.scan import ScanOptions, run_scan; "
          "run = run_scan(ScanOptions(arm_paths=[sys.argv[1]])); print(len(run.results))")


def main(sizes: list[int]) -> None:
    print(f"{'N':>6} {'results':>8} {'engine s':>9} {'engine MB':>10} {'suite s':>8} {'suite MB':>9} "
          f"{'results/s':>10} {'ms/cluster':>11}")
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            fleet = Path(tmp) / "fleet"
            generate(n, fleet)
            out = Path(tmp) / "results.json"
            e_wall, e_rss, _ = measure([sys.executable, "-c", ENGINE, str(fleet)])
            s_wall, s_rss, code = measure([str(BIN / "aks-compliance"), "scan", "--arm", str(fleet),
                                           "--results-json", str(out)])
            if code not in (0, 1):
                raise SystemExit(f"scan of N={n} failed with exit status {code}")
            results = len(json.loads(out.read_text())["results"])
            print(f"{n:>6} {results:>8} {e_wall:>9.2f} {e_rss:>10.0f} {s_wall:>8.2f} {s_rss:>9.0f} "
                  f"{results / s_wall:>10.0f} {1000 * s_wall / n:>11.2f}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [100, 1000])
