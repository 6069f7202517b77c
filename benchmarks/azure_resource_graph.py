"""Fleet scale over Azure Resource Graph: N generated managed clusters served by the local ARM server.

    .venv/bin/python benchmarks/azure_resource_graph.py          # N = 5000
    .venv/bin/python benchmarks/azure_resource_graph.py 1000 5000

The clusters (hardened, default and misconfigured; 50 subscriptions under one management group, one
Azure Policy state each) are served by tests/servers/arm_server.py over HTTPS with a bearer token. Each
step runs in a fresh child process; peak RSS is the child's own maximum (os.wait4):

  collect  - aks-compliance snapshot --azure-scope management-group:...: the real ResourceGraphClient pages
             through every cluster (1000 rows a page, $skipToken), the real PolicyInsightsClient reads the
             states (POST next links); the snapshot is written
  engine   - run_scan() of the snapshot: reading, targets, evaluation, the policy-state join
  suite    - aks-compliance scan --arm SNAPSHOT --results-json: the full pytest run users get
"""

from __future__ import annotations

import gzip
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# The measured processes use bytecode caches, as an installed package does (pip compiles them): with
# PYTHONDONTWRITEBYTECODE set, as on some CI images, every start compiles the whole package again.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent
MG = "mg-fleet"
SUBS = [f"{i:08x}-0000-4000-8000-{i:012x}" for i in range(1, 51)]

COLLECT = """
import os, sys, time
from azure.core.credentials import AccessToken
from aks_compliance.azure.cli import snapshot_command

class Token:
    def get_token(self, *scopes, **kwargs):
        return AccessToken(os.environ["BENCH_TOKEN"], int(time.time()) + 3600)

sys.exit(snapshot_command(sys.argv[1:], credential=Token()))
"""
ENGINE = ("import sys; from aks_compliance.scan import ScanOptions, run_scan; from aks_compliance.arm.inputs import ArmOptions; "
          "run = run_scan(ScanOptions(inputs=[ArmOptions(paths=[sys.argv[1]])])); print(len(run.results))")


def cluster(i: int, rng: random.Random) -> tuple[str, dict]:
    kind = ("hardened", "default", "misconfigured")[i % 3]
    sub = SUBS[i % len(SUBS)]
    name = f"aks-{kind}-{i:05d}"
    rid = f"/subscriptions/{sub}/resourceGroups/rg-team{i % 40:02d}/providers/Microsoft.ContainerService/" \
          f"managedClusters/{name}"
    version = rng.choice(["1.29.8", "1.30.5", "1.31.2"])
    pools = [{"name": "system", "mode": "System", "count": 3, "vmSize": "Standard_D4ds_v5", "osType": "Linux",
              "osDiskType": "Ephemeral", "orchestratorVersion": version, "enableEncryptionAtHost": kind == "hardened",
              "availabilityZones": ["1", "2", "3"] if kind == "hardened" else None, "maxPods": 110,
              "enableNodePublicIP": kind == "misconfigured", "provisioningState": "Succeeded",
              "powerState": {"code": "Running"}, "nodeImageVersion": "AKSUbuntu-2204gen2containerd-202611.03.0"}]
    for p in range(rng.randint(0, 2)):
        pools.append({**pools[0], "name": f"user{p}", "mode": "User", "count": rng.randint(1, 10),
                      "vmSize": "Standard_D8ds_v5"})
    props: dict = {
        "provisioningState": "Succeeded", "powerState": {"code": "Running"}, "kubernetesVersion": version,
        "currentKubernetesVersion": version, "dnsPrefix": name, "fqdn": f"{name}.hcp.westeurope.azmk8s.io",
        "enableRBAC": kind != "misconfigured", "agentPoolProfiles": pools, "nodeResourceGroup": f"MC_{name}",
        "networkProfile": {"networkPlugin": "azure", "networkPluginMode": "overlay", "loadBalancerSku": "standard",
                           "outboundType": "loadBalancer", "serviceCidr": "10.0.0.0/16", "dnsServiceIP": "10.0.0.10"},
        "maxAgentPools": 100, "supportPlan": "KubernetesOfficial",
    }
    if kind == "hardened":
        props.update({
            "disableLocalAccounts": True, "aadProfile": {"managed": True, "enableAzureRBAC": True},
            "apiServerAccessProfile": {"enablePrivateCluster": True},
            "addonProfiles": {"azurepolicy": {"enabled": True}},
            "autoUpgradeProfile": {"upgradeChannel": "stable", "nodeOSUpgradeChannel": "NodeImage"},
            "securityProfile": {"defender": {"securityMonitoring": {"enabled": True}},
                                "workloadIdentity": {"enabled": True}},
            "oidcIssuerProfile": {"enabled": True},
        })
        props["networkProfile"]["networkPolicy"] = rng.choice(["azure", "calico", "cilium"])
    elif kind == "misconfigured":
        props["addonProfiles"] = {"httpApplicationRouting": {"enabled": True}, "kubeDashboard": {"enabled": True}}
        props["apiServerAccessProfile"] = {"authorizedIPRanges": ["0.0.0.0/0"]}
    body = {"id": rid, "name": name, "type": "microsoft.containerservice/managedclusters", "location": "westeurope",
            "tags": {"team": f"team{i % 40:02d}"}, "sku": {"name": "Base", "tier": "Standard"},
            "identity": {"type": "SystemAssigned"}, "properties": props,
            "subscriptionId": sub, "resourceGroup": f"rg-team{i % 40:02d}"}
    return rid, body


def measure(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, int, str]:
    with tempfile.TemporaryFile("w+") as log:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        log.seek(0)
        return wall, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status), log.read()


def main(sizes: list[int]) -> None:
    from tests.servers.arm_server import ArmServer

    token = "bench-token"
    env = {k: v for k, v in os.environ.items() if not k.upper().endswith("_PROXY")}
    env.update({"NO_PROXY": "127.0.0.1,localhost", "BENCH_TOKEN": token})
    print(f"{'N':>6} {'pages':>6} {'states':>7} {'collect s':>10} {'collect MB':>11} {'snapshot MB':>12} "
          f"{'results':>8} {'engine s':>9} {'engine MB':>10} {'suite s':>8} {'suite MB':>9} {'results/s':>10}")
    for n in sizes:
        rng = random.Random(20261129)
        rows = []
        states = []
        for i in range(n):
            rid, body = cluster(i, rng)
            rows.append(body)
            states.append({"resourceId": rid, "resourceType": "Microsoft.ContainerService/managedClusters",
                           "policyDefinitionName": "a1840de2-8088-4ea8-b153-b4c723e9cb01",
                           "policyDefinitionId": "/providers/Microsoft.Authorization/policyDefinitions/"
                                                 "a1840de2-8088-4ea8-b153-b4c723e9cb01",
                           "policyAssignmentId": f"/providers/Microsoft.Management/managementGroups/{MG}/providers/"
                                                 "Microsoft.Authorization/policyAssignments/aks-baseline",
                           "complianceState": "Compliant" if i % 3 == 0 else "NonCompliant",
                           "timestamp": "2026-11-28T03:14:07Z"})
        with tempfile.TemporaryDirectory() as tmp, ArmServer(tls=True, token=token) as server:
            server.resource_graph(rows, management_groups={MG: SUBS})
            server.policy_states(states, page_size=1000, management_groups={MG: SUBS})
            snap = Path(tmp) / "fleet.json.gz"
            c_wall, c_rss, code, text = measure(
                [sys.executable, "-c", COLLECT, "--azure-scope", f"management-group:{MG}", "--azure-endpoint",
                 server.url.rstrip("/"), "--azure-ca-file", str(server.ca_file), "-o", str(snap)], env)
            if code not in (0, 1):
                raise SystemExit(f"collection of N={n} failed with exit status {code}:\n{text[-2000:]}")
            pages = len(server.calls("POST", "/providers/Microsoft.ResourceGraph/resources"))
            meta = json.loads(gzip.open(snap, "rt", encoding="utf-8").readline().rstrip().rstrip(",") + "}")["meta"]
            e_wall, e_rss, code, text = measure([sys.executable, "-c", ENGINE, str(snap)], env)
            if code:
                raise SystemExit(f"engine run of N={n} failed:\n{text[-2000:]}")
            out = Path(tmp) / "results.json"
            s_wall, s_rss, code, text = measure([str(BIN / "aks-compliance"), "scan", "--arm", str(snap),
                                                 "--results-json", str(out)], env)
            if code not in (0, 1):
                raise SystemExit(f"scan of N={n} failed with exit status {code}:\n{text[-2000:]}")
            results = json.loads(out.read_text())["results"]
            joined = sum(1 for r in results if r.get("azure_policy"))
            print(f"{n:>6} {pages:>6} {meta['counts']['policy_states']:>7} {c_wall:>10.2f} {c_rss:>11.0f} "
                  f"{snap.stat().st_size / 2**20:>12.2f} {len(results):>8} {e_wall:>9.2f} {e_rss:>10.0f} "
                  f"{s_wall:>8.2f} {s_rss:>9.0f} {len(results) / s_wall:>10.0f}"
                  f"   ({meta['counts']['graph']} clusters read, {joined} results with Azure Policy's verdict)")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [5000])
