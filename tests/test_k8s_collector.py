"""The collector: the real ``kubernetes`` client against a local API server (tests/servers/k8s_server.py).

Each fault has a documented outcome, and the rest of the scan completes:

| fault                                | outcome                                                                 |
|--------------------------------------|-------------------------------------------------------------------------|
| pagination (continue tokens)         | every object once; one request per page, each with ``limit``             |
| access review denies a kind          | the kind is never listed; gap "not permitted ..."; its controls unknown  |
| review allows, list answers 403      | gap "HTTP 403 Forbidden ..."; its controls unknown                       |
| continue token expired (410)         | that kind's list restarts from the start; no duplicates; restarts=1      |
| 429 once (Retry-After: 0)            | retried with backoff; the kind is complete; retries=1                    |
| 500 that persists                    | retries+1 attempts, then a gap naming the status; controls unknown       |
| answer slower than the read timeout  | retries+1 attempts within bounded time, then a gap naming the timeout    |
| no access-review API (404)           | lists anyway; the snapshot notes the review failed                       |
| unreachable API server / bad context | no snapshot; an input error naming the context (scan exit status 2)      |
"""

from __future__ import annotations

import gzip
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aks_compliance.k8s.collector import CollectError, CollectOptions, collect_snapshot
from aks_compliance.k8s.kinds import COLLECTED
from aks_compliance.k8s.snapshot import read_snapshot
from aks_compliance.scan import ScanOptions, run_scan
from aks_compliance.k8s.source import K8sOptions

from .servers.k8s_server import FakeKubeAPI, Faults

FAST = CollectOptions(page_size=100, timeout=(2.0, 0.4), retries=2, backoff=0.01, max_backoff=0.05)


def pod(i: int, ns: str = "shop", privileged: bool = False) -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"web-{i:05d}", "namespace": ns, "uid": f"uid-{i}",
                         "managedFields": [{"manager": "kube-controller-manager", "operation": "Update"}],
                         "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{...}"}},
            "spec": {"serviceAccountName": "web", "containers": [
                {"name": "web", "image": "myacr.azurecr.io/shop/web:1.0",
                 # (the API server refuses allowPrivilegeEscalation false beside privileged true)
                 "securityContext": {"privileged": privileged, "allowPrivilegeEscalation": privileged}}]}}


def cluster_objects(n_pods: int = 250) -> list[dict]:
    objs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in ("shop", "kube-system", "default")]
    objs += [pod(i, privileged=(i == 7)) for i in range(n_pods)]
    objs.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                 "metadata": {"name": "deny", "namespace": "shop"}, "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}})
    objs.append({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "shop", "namespace": "shop"},
                 "spec": {"rules": [{"host": "shop.contoso.com"}]}})
    objs.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "admins"},
                 "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
                 "subjects": [{"kind": "User", "name": "alice@contoso.com"}]})
    objs.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "cluster-admin"},
                 "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]})
    return objs


def collect(api: FakeKubeAPI, tmp_path: Path, options: CollectOptions = FAST, context: str = "aks-test"):
    kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig")
    out = tmp_path / "snap.json.gz"
    meta = collect_snapshot(out, kubeconfig=str(kubeconfig), context=context, options=options)
    return meta, out


def results_of(snapshot: Path, controls: list[str] | None = None):
    run = run_scan(ScanOptions(inputs=[K8sOptions(paths=[str(snapshot)])], controls=controls))
    return run, {r.key: r for r in run.results}


def test_pagination_reads_every_object_once_page_by_page(tmp_path: Path) -> None:
    with FakeKubeAPI(cluster_objects(1234)) as api:
        meta, out = collect(api, tmp_path)
        pod_requests = api.lists("pods")
    assert meta["lists"]["Pod"] == {"status": "complete", "count": 1234, "pages": 13, "resourceVersion": "1000",
                                    "restarts": 0, "retries": 0, "apiVersion": "v1", "resource": "pods"}
    assert len(pod_requests) == 13 and all(r.query["limit"] == "100" for r in pod_requests)
    assert "continue" not in pod_requests[0].query and all("continue" in r.query for r in pod_requests[1:])
    assert all(r.authorization == "Bearer test-token" for r in api.requests)
    snap = read_snapshot(out)
    names = [o["metadata"]["name"] for o, _ in snap.objects if o["kind"] == "Pod"]
    assert len(names) == len(set(names)) == 1234
    first = next(o for o, _ in snap.objects if o["kind"] == "Pod")
    assert first["apiVersion"] == "v1" and "managedFields" not in first["metadata"]
    assert "kubectl.kubernetes.io/last-applied-configuration" not in first["metadata"]["annotations"]
    # evidence about an object cites its line in the (decompressed) snapshot
    run, by = results_of(out, ["AKS-100"])
    bad = by["AKS-100-aks-test/shop/Pod/web-00007"]
    assert bad.outcome.value == "failed" and bad.evidence[0].file == str(out)
    text = gzip.open(out, "rt").read().splitlines()
    assert '"name":"web-00007"' in text[bad.evidence[0].line - 1]


def test_snapshot_records_server_version_time_identity_and_never_asks_for_secrets(tmp_path: Path) -> None:
    with FakeKubeAPI(cluster_objects(3)) as api:
        meta, out = collect(api, tmp_path)
        requests = list(api.requests)
        url = api.url
    assert meta["cluster"]["server"] == url and meta["cluster"]["version"]["gitVersion"] == "v1.30.5"
    assert meta["collector"]["identity"]["username"] == "system:serviceaccount:aks-compliance:scanner"
    assert meta["collector"]["context"] == "aks-test" and meta["collected"]["finished"]
    assert meta["scope"] == "aks-test" and meta["gaps"] == []
    assert not [r for r in requests if "secret" in r.path]
    listed = {r.path for r in requests if r.method == "GET" and r.path != "/version/"}
    # every collected kind's list, and API discovery of the custom resource groups (Cilium's)
    assert listed == {k.path for k in COLLECTED} | {f"/apis/{k.group}/{k.version}" for k in COLLECTED if k.custom}
    reviews = [r for r in requests if r.path.endswith("selfsubjectaccessreviews")]
    # one per collected kind, and one for get on nodes/proxy (the nodes' kubelet configuration, opt-in); counted
    # by what was reviewed: on a loaded machine a review that outlives the 0.4 s read timeout is asked again
    assert len({r.reviewed for r in reviews}) == len(COLLECTED) + 1
    run, by = results_of(out)
    doc = run.document()
    record = next(i for i in doc["inputs"] if i["kind"] == "k8s-snapshot")
    assert record["server"] == url and record["server_version"] == "v1.30.5" and record["gaps"] == []
    assert record["identity"]["username"].endswith(":scanner") and len(record["sha256"]) == 64
    assert by["AKS-134-aks-test/ClusterRoleBinding/admins"].outcome.value == "failed"


def test_a_kind_the_access_review_denies_is_never_listed_and_its_controls_are_unknown(tmp_path: Path) -> None:
    with FakeKubeAPI(cluster_objects(5), faults=Faults(forbidden={"networkpolicies"})) as api:
        meta, out = collect(api, tmp_path)
        assert api.lists("networkpolicies") == []
    assert meta["lists"]["NetworkPolicy"]["status"] == "forbidden"
    assert "not permitted to list networkpolicies.networking.k8s.io" in meta["gaps"][0]["reason"]
    run, by = results_of(out)
    r = by["AKS-146-aks-test/Namespace/shop"]
    assert r.outcome.value == "unknown" and "not permitted to list networkpolicies" in r.reason
    assert by["AKS-149-aks-test/shop/Pod/web-00001"].outcome.value == "unknown"
    # the rest of the scan is unaffected
    assert by["AKS-100-aks-test/shop/Pod/web-00001"].outcome.value == "passed"
    assert any("NetworkPolicy could not be read" in d.message for d in run.diagnostics if d.severity == "warning")


def test_a_list_answering_403_is_a_gap(tmp_path: Path) -> None:
    with FakeKubeAPI(cluster_objects(5), faults=Faults(forbidden_list_only={"clusterrolebindings"})) as api:
        meta, out = collect(api, tmp_path)
        assert len(api.lists("clusterrolebindings")) == 1  # 403 is not retried
    assert meta["lists"]["ClusterRoleBinding"]["status"] == "forbidden"
    assert meta["gaps"][0]["reason"].startswith("HTTP 403 Forbidden: clusterrolebindings.rbac.authorization.k8s.io is forbidden")
    run, by = results_of(out, ["AKS-134"])
    placeholder = by["AKS-134-aks-test/clusterrolebindings(unreadable)"]
    assert placeholder.outcome.value == "unknown" and "403 Forbidden" in placeholder.reason
    assert not [r for r in run.results if r.outcome.value == "passed" and "ClusterRoleBinding" in r.key]


def test_an_expired_continue_token_restarts_the_list(tmp_path: Path) -> None:
    with FakeKubeAPI(cluster_objects(350), faults=Faults(expire_continue={"pods"})) as api:
        meta, out = collect(api, tmp_path)
        first_pages = api.lists("pods", first_page_only=True)
        statuses = [r.status for r in api.lists("pods")]
    assert len(first_pages) == 2 and 410 in statuses
    assert meta["lists"]["Pod"]["status"] == "complete" and meta["lists"]["Pod"]["restarts"] == 1
    names = [o["metadata"]["name"] for o, _ in read_snapshot(out).objects if o["kind"] == "Pod"]
    assert len(names) == len(set(names)) == 350


def test_too_many_requests_is_retried(tmp_path: Path) -> None:
    with FakeKubeAPI(cluster_objects(5), faults=Faults(throttle_once={"deployments", "pods"})) as api:
        meta, _ = collect(api, tmp_path)
        assert [r.status for r in api.lists("pods")] == [429, 200]
    assert meta["lists"]["Pod"]["status"] == "complete" and meta["lists"]["Pod"]["retries"] == 1
    assert meta["lists"]["Deployment"]["status"] == "complete" and meta["gaps"] == []


def test_a_persistent_server_error_gives_up_after_bounded_retries(tmp_path: Path) -> None:
    with FakeKubeAPI(cluster_objects(5), faults=Faults(fail_always={"ingresses"})) as api:
        meta, out = collect(api, tmp_path)
        assert len(api.lists("ingresses")) == FAST.retries + 1
    gap = next(g for g in meta["gaps"] if g["kind"] == "Ingress")
    assert gap["reason"] == "HTTP 500 Internal Server Error: etcdserver: request timed out (gave up after 3 attempts)"
    _, by = results_of(out)
    assert by["AKS-151-aks-test/ingresses(unreadable)"].outcome.value == "unknown"
    assert meta["lists"]["Pod"]["status"] == "complete"


def test_a_response_slower_than_the_timeout_is_a_gap_and_the_rest_completes(tmp_path: Path) -> None:
    start = time.monotonic()
    with FakeKubeAPI(cluster_objects(5), faults=Faults(slow={"roles": 1.5})) as api:
        meta, out = collect(api, tmp_path)
        assert len(api.lists("roles")) == FAST.retries + 1
    assert time.monotonic() - start < 10
    gap = next(g for g in meta["gaps"] if g["kind"] == "Role")
    assert "no answer within the 0.4 s read timeout" in gap["reason"]
    assert [g["kind"] for g in meta["gaps"]] == ["Role"]
    assert all(v["status"] == "complete" for k, v in meta["lists"].items() if k != "Role")
    _, by = results_of(out, ["AKS-135"])
    # bindings to Roles cannot be resolved: unknown; ClusterRole bindings still decide
    assert by["AKS-135-aks-test/ClusterRoleBinding/admins"].outcome.value == "failed"


def test_every_fault_at_once_costs_only_its_own_kind(tmp_path: Path) -> None:
    faults = Faults(forbidden={"networkpolicies"}, forbidden_list_only={"rolebindings"}, expire_continue={"pods"},
                    throttle_once={"namespaces"}, fail_always={"ingresses"}, slow={"roles": 1.5})
    with FakeKubeAPI(cluster_objects(450), faults=faults) as api:
        meta, out = collect(api, tmp_path)
    assert sorted(g["kind"] for g in meta["gaps"]) == ["Ingress", "NetworkPolicy", "Role", "RoleBinding"]
    assert meta["lists"]["Pod"]["count"] == 450 and meta["lists"]["Namespace"]["status"] == "complete"
    run, by = results_of(out)
    assert not run.errors
    assert by["AKS-100-aks-test/shop/Pod/web-00007"].outcome.value == "failed"
    unknown = {r.control_id for r in run.results if r.outcome.value == "unknown"}
    assert {"AKS-146", "AKS-147", "AKS-148", "AKS-149", "AKS-151", "AKS-152", "AKS-136"} <= unknown


def test_without_the_access_review_api_the_collector_lists_anyway(tmp_path: Path) -> None:
    with FakeKubeAPI(cluster_objects(3), faults=Faults(no_access_review=True)) as api:
        meta, _ = collect(api, tmp_path)
    assert meta["gaps"] == [] and meta["lists"]["Pod"]["count"] == 3
    assert "SelfSubjectAccessReview failed: HTTP 404" in meta["lists"]["Pod"]["access_review"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_cluster_is_an_input_error_naming_the_context(tmp_path: Path) -> None:
    api = FakeKubeAPI()
    api._server = type("S", (), {"server_address": ("127.0.0.1", _free_port())})()  # nothing listens there
    kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig")
    api._server = None
    with pytest.raises(CollectError, match="cannot read the API server's version"):
        collect_snapshot(tmp_path / "s.json.gz", kubeconfig=str(kubeconfig), context="aks-test",
                         options=CollectOptions(retries=1, backoff=0.01, timeout=(0.5, 0.5)))
    with pytest.raises(CollectError, match="context 'nope' is not in the kubeconfig"):
        collect_snapshot(tmp_path / "s.json.gz", kubeconfig=str(kubeconfig), context="nope")
    run = run_scan(ScanOptions(inputs=[K8sOptions(kubeconfig=str(kubeconfig), context="nope", snapshot_dir=str(tmp_path))]))
    assert len(run.errors) == 1 and "context 'nope' is not in the kubeconfig" in run.errors[0].message
    assert [r.outcome.value for r in run.results] == ["error"]
    assert not (tmp_path / "s.json.gz").exists()


def test_snapshot_command(tmp_path: Path) -> None:
    exe = str(Path(sys.executable).with_name("aks-compliance"))
    with FakeKubeAPI(cluster_objects(20), faults=Faults(forbidden={"networkpolicies"})) as api:
        kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig")
        out = tmp_path / "evidence" / "aks-test.json.gz"
        done = subprocess.run([exe, "snapshot", "--kubeconfig", str(kubeconfig), "--kube-context", "aks-test",
                               "-o", str(out), "--page-size", "7"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "20 objects" not in done.stdout and "Pod" in done.stdout and "NOT READ" in done.stdout
    assert "not permitted to list networkpolicies" in done.stdout
    meta = read_snapshot(out).meta
    assert meta["lists"]["Pod"]["pages"] == 3 and meta["gaps"][0]["kind"] == "NetworkPolicy"
    # the auditor re-runs the same evidence offline
    scan = subprocess.run([exe, "scan", "--k8s", str(out), "--controls", "AKS-100", "--results-json",
                           str(tmp_path / "r.json")], capture_output=True, text=True, timeout=120)
    assert scan.returncode == 1, scan.stdout  # web-00007 is privileged
    doc = json.loads((tmp_path / "r.json").read_text())
    assert {r["target"]["cluster"] for r in doc["results"]} == {"aks-test"}
    bad = subprocess.run([exe, "snapshot", "--kubeconfig", str(kubeconfig), "--kube-context", "nope", "-o",
                          str(tmp_path / "x.json.gz")], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "context 'nope'" in bad.stderr


def test_credential_looking_env_literals_never_reach_the_snapshot(tmp_path: Path) -> None:
    leaky = pod(1)
    leaky["spec"]["containers"][0]["env"] = [{"name": "DB_PASSWORD", "value": "hunter2-Very-Secret"},
                                             {"name": "GREETING", "value": "hello"},
                                             {"name": "BLOB", "value": "DefaultEndpointsProtocol=https;AccountKey=abc123=="}]
    with FakeKubeAPI([leaky]) as api:
        meta, out = collect(api, tmp_path)
    text = gzip.open(out, "rt").read()
    assert "hunter2-Very-Secret" not in text and "AccountKey=abc123" not in text and '"hello"' in text
    assert any("credential-looking" in r for r in meta["redactions"])
    _, by = results_of(out, ["AKS-123"])
    r = by["AKS-123-aks-test/shop/Pod/web-00001"]
    assert r.outcome.value == "failed" and len(r.evidence) == 2
    assert all("not shown" in e.actual for e in r.evidence)


CILIUM_DENY = {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
               "metadata": {"name": "default-deny", "namespace": "shop"},
               "spec": {"endpointSelector": {}, "ingress": [{}], "egress": [{}]}}
CILIUM_CLUSTERWIDE = {"apiVersion": "cilium.io/v2", "kind": "CiliumClusterwideNetworkPolicy",
                      "metadata": {"name": "kube-system-baseline"},
                      "spec": {"endpointSelector": {"matchLabels": {"k8s:io.kubernetes.pod.namespace": "kube-system"}},
                               "ingress": [{"fromEntities": ["cluster"]}]}}


def test_cilium_policies_are_collected_with_the_scope_discovery_gives(tmp_path: Path) -> None:
    """Azure CNI powered by Cilium: both Cilium policy kinds are listed (CustomObjectsApi), their scope comes from
    API discovery, and the network-policy controls count them."""
    objs = [o for o in cluster_objects(3) if o["kind"] != "NetworkPolicy"] + [CILIUM_DENY, CILIUM_CLUSTERWIDE]
    with FakeKubeAPI(objs) as api:
        meta, out = collect(api, tmp_path)
        assert api.lists("ciliumnetworkpolicies") and api.lists("ciliumclusterwidenetworkpolicies")
        assert [r for r in api.requests if r.path == "/apis/cilium.io/v2"]  # discovery
    assert meta["lists"]["CiliumNetworkPolicy"]["status"] == "complete"
    assert meta["lists"]["CiliumNetworkPolicy"]["namespaced"] is True
    assert meta["lists"]["CiliumClusterwideNetworkPolicy"]["namespaced"] is False
    snap = read_snapshot(out)
    ccnp = next(o for o, _ in snap.objects if o["kind"] == "CiliumClusterwideNetworkPolicy")
    assert ccnp["apiVersion"] == "cilium.io/v2"
    run, by = results_of(out, ["AKS-146", "AKS-147", "AKS-148"])
    assert by["AKS-146-aks-test/Namespace/shop"].outcome.value == "passed"
    assert by["AKS-147-aks-test/Namespace/shop"].outcome.value == "passed"
    assert by["AKS-148-aks-test/Namespace/shop"].outcome.value == "passed"
    assert by["AKS-146-aks-test/Namespace/kube-system"].outcome.value == "passed"  # the clusterwide policy
    assert by["AKS-146-aks-test/Namespace/default"].outcome.value == "failed"
    # the clusterwide policy is cluster-scoped: no namespace is invented for it
    assert not [t for t in run.targets if t.match_type == "k8s/Namespace" and t.context.get("implied")]


def test_a_cluster_without_cilium_serves_no_cilium_group_and_that_is_no_gap(tmp_path: Path) -> None:
    with FakeKubeAPI(cluster_objects(3), serve_cilium=False) as api:
        meta, out = collect(api, tmp_path)
        assert not api.lists("ciliumnetworkpolicies")
    assert meta["lists"]["CiliumNetworkPolicy"]["status"] == "not-served"
    assert meta["gaps"] == []
    run, by = results_of(out, ["AKS-146"])
    assert by["AKS-146-aks-test/Namespace/shop"].outcome.value == "passed"  # its NetworkPolicy
    assert by["AKS-146-aks-test/Namespace/default"].outcome.value == "failed"


def test_cilium_policies_the_scanner_may_not_read_make_the_network_controls_unknown(tmp_path: Path) -> None:
    with FakeKubeAPI(cluster_objects(3), faults=Faults(forbidden={"ciliumnetworkpolicies"})) as api:
        meta, out = collect(api, tmp_path)
    assert meta["lists"]["CiliumNetworkPolicy"]["status"] == "forbidden"
    run, by = results_of(out, ["AKS-146", "AKS-149"])
    r = by["AKS-146-aks-test/Namespace/default"]
    assert r.outcome.value == "unknown" and "ciliumnetworkpolicies" in r.reason


def test_gateway_api_routes_and_istio_routes_are_collected_live(tmp_path: Path) -> None:
    deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"},
              "spec": {"selector": {"matchLabels": {"app": "web"}},
                       "template": {"metadata": {"labels": {"app": "web"}},
                                    "spec": {"containers": [{"name": "web", "image": "myacr.azurecr.io/web:1"}]}}}}
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "shop"},
           "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}
    route = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
             "metadata": {"name": "web", "namespace": "shop"},
             "spec": {"parentRefs": [{"name": "public"}], "rules": [{"backendRefs": [{"name": "web", "port": 80}]}]}}
    with FakeKubeAPI([*cluster_objects(1), deploy, svc, route]) as api:
        meta, out = collect(api, tmp_path)
        assert api.lists("httproutes") and api.lists("virtualservices")
    assert meta["lists"]["HTTPRoute"]["status"] == "complete" and meta["lists"]["HTTPRoute"]["namespaced"] is True
    run, by = results_of(out, ["AKS-171"])
    r = by["AKS-171-aks-test/shop/Deployment/web"]
    assert r.outcome.value == "failed" and any(e.path.startswith("HTTPRoute/web") for e in r.evidence)


def test_a_snapshot_interrupted_while_written_leaves_no_file_and_says_so(tmp_path: Path) -> None:
    """SIGTERM while the snapshot is written (here: after its header): the default action killed the process
    and left the temporary file; now the command unwinds, removes it, and exits 3 saying it was interrupted."""
    term = ("import os, signal, sys\n"
            "import aks_compliance.k8s.collector as c\n"
            "orig = c.write_snapshot\n"
            "def items_then_term(path, meta, items):\n"
            "    def gen():\n"
            "        for n, item in enumerate(items):\n"
            "            if n == 5: os.kill(os.getpid(), signal.SIGTERM)\n"
            "            yield item\n"
            "    return orig(path, meta, gen())\n"
            "c.write_snapshot = items_then_term\n"
            "from aks_compliance.cli import main\n"
            "sys.exit(main(sys.argv[1:]))\n")
    with FakeKubeAPI(cluster_objects(20)) as api:
        kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig")
        out = tmp_path / "evidence" / "aks-test.json.gz"
        done = subprocess.run([sys.executable, "-c", term, "snapshot", "--kubeconfig", str(kubeconfig),
                               "--kube-context", "aks-test", "-o", str(out)], capture_output=True, text=True,
                              timeout=120)
    assert done.returncode == 3, done.stdout[-1500:] + done.stderr[-1500:]
    assert "aks-compliance snapshot: terminated (SIGTERM); stopped" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert not out.exists()
    leftovers = [p.name for p in out.parent.iterdir()] if out.parent.exists() else []
    assert not leftovers, leftovers  # the temporary file is removed with the interrupted write
