"""Each node's kubelet configuration, read through the API server, and the CIS 3.2 controls that judge it.

The real ``kubernetes`` client against the local API server (tests/servers/k8s_server.py), which proxies
``/api/v1/nodes/{name}/proxy/configz``. Each fault has its documented outcome, and the rest of the collection and
scan completes:

| fault                                             | outcome                                                          |
|---------------------------------------------------|------------------------------------------------------------------|
| nodes/proxy get not granted (access review: no)   | no configz request at all; a gap naming the opt-in role; unknown |
| review says yes, the endpoint answers 403         | stops at the first node (same answer for all); gap; unknown      |
| a node deleted after the list (404)               | that node unknown ("gone"); the other nodes judged               |
| a node slower than the read timeout               | bounded time; that node unknown with the timeout; others judged  |
| a kubelet that is down (503 through the proxy)    | retried, then that node unknown; others judged                   |
| the nodes cannot be listed                        | no configuration read; every kubelet control unknown             |
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml

from aks_compliance.k8s.collector import CollectOptions, collect_snapshot
from aks_compliance.k8s.kubelet import Malformed, duration_seconds
from aks_compliance.k8s.snapshot import read_snapshot, write_snapshot
from aks_compliance.k8s.source import K8sOptions
from aks_compliance.scan import ScanOptions, run_scan

from .conftest import FIXTURES, ROOT
from .servers.k8s_server import FakeKubeAPI, Fault, Faults

FAST = CollectOptions(page_size=100, timeout=(2.0, 0.4), retries=2, backoff=0.01, max_backoff=0.05)
KUBELET_CONTROLS = [f"AKS-{n}" for n in range(180, 189)]
NODES = ["aks-system-12345678-vmss000000", "aks-system-12345678-vmss000001", "aks-batch-31415926-vmss000000"]
CONFIG = json.loads((FIXTURES / "node-pools" / "cluster.json").read_text())["configz"]["aks-system-12345678-vmss000000"]


def node(name: str) -> dict:
    pool = name.split("-")[1]
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.azure.com/agentpool": pool}},
            "status": {"nodeInfo": {"kubeletVersion": "v1.31.7"}}}


def serve(faults: Faults | None = None, configz: dict | None = None) -> FakeKubeAPI:
    return FakeKubeAPI([node(n) for n in NODES], faults=faults,
                       configz={n: CONFIG for n in NODES} if configz is None else configz)


def collect(api: FakeKubeAPI, tmp_path: Path, options: CollectOptions = FAST) -> tuple[dict, Path]:
    out = tmp_path / "snap.json.gz"
    meta = collect_snapshot(out, kubeconfig=str(api.write_kubeconfig(tmp_path / "kubeconfig")), context="aks-test",
                            options=options)
    return meta, out


def outcomes(snapshot: Path) -> dict[tuple[str, str], tuple[str, str]]:
    run = run_scan(ScanOptions(inputs=[K8sOptions(paths=[str(snapshot)])], controls=KUBELET_CONTROLS))
    assert not run.errors
    return {(r.control_id, r.target.name): (r.outcome.value, r.reason) for r in run.results}


def configz_requests(api: FakeKubeAPI) -> list[str]:
    return [r.path for r in api.requests if r.path.endswith("/proxy/configz")]


def test_each_nodes_configuration_is_read_through_the_api_and_judged(tmp_path: Path) -> None:
    secret_header = {"Authorization": ["Bearer s3cr3t-static-pod-token"]}
    with serve(configz={n: {**CONFIG, "staticPodURLHeader": secret_header} for n in NODES}) as api:
        meta, out = collect(api, tmp_path)
    assert configz_requests(api) == [f"/api/v1/nodes/{n}/proxy/configz" for n in NODES]
    assert meta["lists"]["KubeletConfigz"]["status"] == "complete" and meta["lists"]["KubeletConfigz"]["count"] == 3
    snap = read_snapshot(out)
    records = [o for o, _ in snap.objects if o["kind"] == "KubeletConfigz"]
    assert [r["metadata"]["name"] for r in records] == NODES
    assert records[0]["source"] == f"/api/v1/nodes/{NODES[0]}/proxy/configz"
    assert records[0]["kubeletconfig"]["authentication"] == CONFIG["authentication"]
    text = gzip_text(out)
    assert "s3cr3t-static-pod-token" not in text and '"Authorization":["<redacted>"]' in text
    results = outcomes(out)
    assert {o for o, _ in results.values()} == {"passed"} and len(results) == 9 * 3


def gzip_text(path: Path) -> str:
    import gzip
    return gzip.decompress(path.read_bytes()).decode()


def test_without_nodes_proxy_nothing_is_requested_and_every_kubelet_control_is_unknown(tmp_path: Path) -> None:
    with serve(Faults(forbidden={"nodes/proxy"})) as api:
        meta, out = collect(api, tmp_path)
    assert configz_requests(api) == []
    record = meta["lists"]["KubeletConfigz"]
    assert record["status"] == "forbidden" and "scanner-rbac-kubelet-config.yaml" in record["reason"]
    assert "CIS 4.1.9" in record["reason"] and {g["kind"] for g in meta["gaps"]} == {"KubeletConfigz"}
    results = outcomes(out)
    assert len(results) == 27 and {o for o, _ in results.values()} == {"unknown"}
    assert all("not permitted to get nodes/proxy" in why for _, why in results.values())


def test_an_endpoint_answering_403_stops_at_the_first_node(tmp_path: Path) -> None:
    with serve(Faults(forbidden_list_only={"nodes/proxy"})) as api:
        meta, out = collect(api, tmp_path)
    assert len(configz_requests(api)) == 1
    assert meta["lists"]["KubeletConfigz"]["status"] == "forbidden" and "HTTP 403" in meta["lists"]["KubeletConfigz"]["reason"]
    assert {o for o, _ in outcomes(out).values()} == {"unknown"}


def test_a_node_that_went_away_is_unknown_and_the_others_are_judged(tmp_path: Path) -> None:
    gone = NODES[2]
    with serve(Faults(gone_nodes={gone})) as api:
        meta, out = collect(api, tmp_path)
    record = meta["lists"]["KubeletConfigz"]
    assert record["status"] == "partial" and set(record["failed_nodes"]) == {gone} and not meta["gaps"]
    results = outcomes(out)
    assert {results[(c, gone)][0] for c in KUBELET_CONTROLS} == {"unknown"}
    assert all("the node is gone" in results[(c, gone)][1] for c in KUBELET_CONTROLS)
    assert {results[(c, n)][0] for c in KUBELET_CONTROLS for n in NODES[:2]} == {"passed"}


def test_a_slow_node_costs_bounded_time_and_only_itself(tmp_path: Path) -> None:
    slow = NODES[1]
    start = time.monotonic()
    with serve(Faults(slow_nodes={slow: 1.5})) as api:
        meta, out = collect(api, tmp_path, CollectOptions(**{**FAST.__dict__, "configz_retries": 1}))
    assert time.monotonic() - start < 8
    assert configz_requests(api).count(f"/api/v1/nodes/{slow}/proxy/configz") == 2  # the attempt and one retry
    assert "read timeout" in meta["lists"]["KubeletConfigz"]["failed_nodes"][slow]
    results = outcomes(out)
    assert results[("AKS-183", slow)][0] == "unknown" and results[("AKS-183", NODES[0])][0] == "passed"


def test_a_kubelet_that_is_down_is_retried_then_unknown(tmp_path: Path) -> None:
    with serve(configz={n: CONFIG for n in NODES[:2]}) as api:  # the proxy answers 503 for the third
        meta, out = collect(api, tmp_path)
    assert configz_requests(api).count(f"/api/v1/nodes/{NODES[2]}/proxy/configz") == 1 + FAST.configz_retries
    assert "503" in meta["lists"]["KubeletConfigz"]["failed_nodes"][NODES[2]]
    assert outcomes(out)[("AKS-180", NODES[2])][0] == "unknown"


def test_a_proxy_fault_mid_answer_is_retried(tmp_path: Path) -> None:
    with serve(Faults(faults={"nodes/proxy": [Fault("reset", times=1)]})) as api:
        meta, out = collect(api, tmp_path, CollectOptions(**{**FAST.__dict__, "configz_retries": 1}))
    assert meta["lists"]["KubeletConfigz"]["status"] == "complete"
    assert {o for o, _ in outcomes(out).values()} == {"passed"}


def test_nodes_that_cannot_be_listed_leave_every_kubelet_control_unknown(tmp_path: Path) -> None:
    with serve(Faults(forbidden={"nodes"})) as api:
        meta, out = collect(api, tmp_path)
    assert configz_requests(api) == [] and meta["lists"]["KubeletConfigz"]["status"] == "not-read"
    results = outcomes(out)
    assert results and {o for o, _ in results.values()} == {"unknown"}
    assert all("nodes could not be read" in why for _, why in results.values())


def test_opting_out_reads_no_configuration(tmp_path: Path) -> None:
    with serve() as api:
        meta, out = collect(api, tmp_path, CollectOptions(**{**FAST.__dict__, "kubelet_config": False}))
    assert configz_requests(api) == [] and "KubeletConfigz" not in meta["lists"]
    assert all("not collected" in why for _, why in outcomes(out).values())


# --- what the configuration's fields mean ---------------------------------------------------------------

def _snapshot(tmp_path: Path, config) -> Path:
    src = FIXTURES / "k8s" / "AKS-180" / "passed-aks-default-kubelet.json"
    snap = read_snapshot(src)
    items = [dict(o, kubeletconfig=config) if o["kind"] == "KubeletConfigz" else o for o, _ in snap.objects]
    out = tmp_path / "node.json"
    write_snapshot(out, snap.meta, items)
    return out


@pytest.mark.parametrize("field,value", [("readOnlyPort", "10255"), ("eventRecordQPS", -1),
                                         ("streamingConnectionIdleTimeout", "forever"), ("authentication", [])])
def test_a_malformed_value_is_an_error_naming_the_line_never_a_pass(tmp_path: Path, field: str, value) -> None:
    out = _snapshot(tmp_path, {**CONFIG, field: value})
    run = run_scan(ScanOptions(inputs=[K8sOptions(paths=[str(out)])], controls=KUBELET_CONTROLS))
    errors = [r for r in run.results if r.outcome.value == "error"]
    assert errors and all(f"{out}:" in r.reason and "malformed kubelet configuration" in r.reason for r in errors)
    assert not any(r.outcome.value == "passed" and r.control_id in {e.control_id for e in errors} for r in run.results)


def test_a_record_without_its_configuration_object_is_an_error(tmp_path: Path) -> None:
    run = run_scan(ScanOptions(inputs=[K8sOptions(paths=[str(_snapshot(tmp_path, "not an object"))])],
                               controls=["AKS-183"]))
    (r,) = [r for r in run.results if r.control_id == "AKS-183"]
    assert r.outcome.value == "error" and "no kubeletconfig object" in r.reason


def test_durations_as_metav1_writes_them() -> None:
    assert duration_seconds("4h0m0s") == 14400 and duration_seconds("5m") == 300 and duration_seconds("0s") == 0
    assert duration_seconds("1h30m0.5s") == 5400.5 and duration_seconds("0") == 0
    for bad in ("4 hours", "", "h", 4):
        with pytest.raises(Malformed):
            duration_seconds(bad)


# --- the opt-in role -----------------------------------------------------------------------------------

RBAC = ROOT / "deploy" / "scanner-rbac-kubelet-config.yaml"


def test_the_opt_in_role_grants_get_on_nodes_proxy_only_and_says_why_it_is_separate() -> None:
    docs = [d for d in yaml.safe_load_all(RBAC.read_text()) if d]
    role = next(d for d in docs if d["kind"] == "ClusterRole")
    assert role["rules"] == [{"apiGroups": [""], "resources": ["nodes/proxy"], "verbs": ["get"]}]
    binding = next(d for d in docs if d["kind"] == "ClusterRoleBinding")
    base = [d for d in yaml.safe_load_all((ROOT / "deploy" / "scanner-rbac.yaml").read_text()) if d]
    sa = next(d for d in base if d["kind"] == "ServiceAccount")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": sa["metadata"]["name"],
                                    "namespace": sa["metadata"]["namespace"]}]
    assert "CIS AKS 4.1.9" in RBAC.read_text()
    # the caveat is real: our own CIS 4.1.9 control flags the binding
    run = run_scan(ScanOptions(inputs=[K8sOptions(paths=[str(RBAC)])], controls=["AKS-140"]))
    assert [r.outcome.value for r in run.results if r.control_id == "AKS-140"] == ["failed"]


def test_the_snapshot_command_reports_the_nodes_configurations_and_can_skip_them(tmp_path: Path) -> None:
    import subprocess
    import sys
    exe = str(Path(sys.executable).with_name("aks-compliance"))
    with serve(Faults(gone_nodes={NODES[2]})) as api:
        kubeconfig = str(api.write_kubeconfig(tmp_path / "kubeconfig"))
        done = subprocess.run([exe, "snapshot", "--kubeconfig", kubeconfig, "--kube-context", "aks-test",
                               "-o", str(tmp_path / "a.json.gz"), "--retries", "0"],
                              capture_output=True, text=True, timeout=120)
        skipped = subprocess.run([exe, "snapshot", "--kubeconfig", kubeconfig, "--kube-context", "aks-test",
                                  "-o", str(tmp_path / "b.json.gz"), "--no-kubelet-config"],
                                 capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "kubelet configuration" in done.stdout and "2 " in done.stdout and "(of 3 node(s)" in done.stdout
    assert f"{NODES[2]}: NOT READ: the node is gone" in done.stdout
    assert skipped.returncode == 0 and "kubelet configuration" not in skipped.stdout
    assert "KubeletConfigz" not in read_snapshot(tmp_path / "b.json.gz").meta["lists"]


def test_aks_statements_name_the_node_control_of_their_recommendation() -> None:
    from aks_compliance.arm.defaults import AKS_KUBELET, SOURCES
    from aks_compliance.controls import load_catalog
    from aks_compliance.k8s.kubelet import BY_CIS
    catalog = load_catalog()
    assert [r.cis for r in AKS_KUBELET] == sorted(BY_CIS, key=lambda c: int(c.rsplit(".", 1)[1]))
    for row in AKS_KUBELET:
        assert catalog[row.control].mappings.cis_aks == (row.cis,) and row.source in SOURCES
        assert BY_CIS[row.cis].dotted == row.setting  # the same KubeletConfiguration field both tables name
