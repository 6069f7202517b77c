"""Every fault of the issue against both live collectors: the documented outcome, bounded retries, partial
results kept and marked, and a report that says what was not read.

The real ``kubernetes`` client against tests/servers/k8s_server.py, and the real Azure SDK clients against
tests/servers/arm_server.py (the recorded estate), with injected faults. The outcomes are the tables in
README.md (Kubernetes, Live Azure). test_k8s_collector.py and test_azure_faults.py hold the first tests of
403, 410 restarts, 429, 500, slow answers, malformed bodies and rejected tokens; this file completes the
matrix: 401, 403, 404, 409, 410, 429 with Retry-After, 500, 503, connection reset, a body trickling past
the timeout, malformed JSON, and (Kubernetes) a continue token the server repeats, and (Azure) a nextLink
it repeats.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from aks_compliance.k8s.collector import CollectError, CollectOptions, collect_snapshot
from aks_compliance.k8s.kinds import COLLECTED
from aks_compliance.k8s.snapshot import read_snapshot
from aks_compliance.report.html import write_report
from aks_compliance.results import Outcome
from aks_compliance.scan import ScanOptions, run_scan
from aks_compliance.arm.inputs import ArmOptions
from aks_compliance.k8s.source import K8sOptions

from .azure_estate import SUB, collect as azure_collect, estate_server, no_proxy
from .conftest import outcome_of
from .servers.arm_server import paged
from .servers.k8s_server import Fault, FakeKubeAPI, Faults
from .test_k8s_collector import cluster_objects

FAST = CollectOptions(page_size=100, timeout=(2.0, 0.4), retries=2, backoff=0.01, max_backoff=0.05, deadline=1.0)
ORDER = [k.kind for k in COLLECTED]


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    no_proxy(monkeypatch)


def k8s_collect(api: FakeKubeAPI, tmp_path: Path, options: CollectOptions = FAST, sleeps: list | None = None):
    kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig")
    out = tmp_path / "snap.json.gz"
    sleep = sleeps.append if sleeps is not None else (lambda s: time.sleep(min(s, 0.05)))
    meta = collect_snapshot(out, kubeconfig=str(kubeconfig), context="aks-test", options=options, sleep=sleep)
    return meta, out


def scan_k8s(snapshot: Path, controls: list[str] | None = None):
    run = run_scan(ScanOptions(inputs=[K8sOptions(paths=[str(snapshot)])], controls=controls))
    return run, {r.key: r for r in run.results}


# -- Kubernetes: one fault on one kind -------------------------------------------------------------------
# (id, plural, faults, expected list status, reason substring, list requests of that plural, objects kept)
K8S_CASES = [
    ("403-list", "pods", [Fault("status", 403)], "forbidden", "HTTP 403 Forbidden", 1, 0),
    ("404-kind-not-served", "cronjobs", [Fault("status", 404)], "not-served",
     "batch/v1 cronjobs is not served by this API server", 1, 0),
    ("409-conflict", "pods", [Fault("status", 409)], "failed", "HTTP 409 Conflict", 1, 0),
    ("410-on-every-continue", "pods", [Fault("status", 410, continued=True)], "partial",
     "continue token expired 4 times (410 Gone); gave up; the list is incomplete: 100 object(s) from 1 page(s)",
     8, 100),
    ("429-persistent", "pods", [Fault("status", 429, retry_after="0")], "failed",
     "HTTP 429 Too Many Requests: injected 429 TooManyRequests (gave up after 3 attempts)", 3, 0),
    ("500-persistent", "pods", [Fault("status", 500)], "failed", "HTTP 500 Internal Server Error", 3, 0),
    ("500-from-page-2", "pods", [Fault("status", 500, after=1)], "partial",
     "(gave up after 3 attempts); the list is incomplete: 100 object(s) from 1 page(s) were read", 4, 100),
    ("503-once", "pods", [Fault("status", 503, retry_after="0", times=1)], "complete", "", 5, 350),
    ("503-persistent", "pods", [Fault("status", 503, retry_after="0")], "failed", "HTTP 503 Service Unavailable",
     3, 0),
    ("reset-once", "pods", [Fault("reset", times=1)], "complete", "", 5, 350),
    ("reset-persistent", "pods", [Fault("reset")], "failed", "connection error: the connection was", 3, 0),
    ("reset-from-page-3", "pods", [Fault("reset", after=2)], "partial", "200 object(s) from 2 page(s)", 5, 200),
    ("slow-body-stalls-past-read-timeout", "pods", [Fault("slow_body", chunk_delay=1.0)], "failed",
     "no answer within the 0.4 s read timeout (gave up after 3 attempts)", 3, 0),
    ("slow-body-trickles-past-deadline", "pods", [Fault("slow_body", chunk_delay=0.05)], "failed",
     "did not arrive within the 1 s deadline (a body trickling in) (gave up after 3 attempts)", 3, 0),
    ("malformed-json", "pods", [Fault("malformed")], "failed", "the answer is not JSON (72 bytes starting '<html>", 1, 0),
    ("malformed-json-page-2", "pods", [Fault("malformed", after=1)], "partial",
     "the answer is not JSON", 2, 100),
    ("repeated-continue-token", "pods", [Fault("repeat_continue", after=1)], "partial",
     "the API server repeated a continue token (a pagination loop); stopped following it; the list is incomplete: "
     "200 object(s) from 2 page(s)", 2, 200),
]


@pytest.mark.parametrize("case_id,plural,faults,status,reason,requests,kept", K8S_CASES,
                         ids=[c[0] for c in K8S_CASES])
def test_k8s_fault(tmp_path: Path, case_id: str, plural: str, faults: list, status: str, reason: str,
                   requests: int, kept: int) -> None:
    kind = next(k.kind for k in COLLECTED if k.plural == plural)
    start = time.monotonic()
    with FakeKubeAPI(cluster_objects(350), faults=Faults(faults={plural: faults})) as api:
        meta, out = k8s_collect(api, tmp_path)
        calls = api.lists(plural)
    elapsed = time.monotonic() - start
    assert elapsed < 12, f"{case_id} took {elapsed:.1f} s"
    info = meta["lists"][kind]
    assert info["status"] == status, info
    assert len(calls) == requests, [r.status for r in calls]  # retries are bounded
    # every other kind is unaffected
    assert all(v["status"] == "complete" for k, v in meta["lists"].items() if k != kind), meta["gaps"]
    objects = [o for o, _ in read_snapshot(out).objects if o["kind"] == kind]
    assert len(objects) == kept and len({o["metadata"]["name"] for o in objects}) == kept  # kept, no duplicates
    gaps = [g for g in meta["gaps"] if g["kind"] == kind]
    if status == "complete":
        assert not gaps and info["count"] == kept
        return
    assert len(gaps) == 1 and reason in gaps[0]["reason"], gaps
    assert "Traceback" not in gaps[0]["reason"]
    # the scan: what was read is checked, what was not is unknown with the reason, never passed
    run, by = scan_k8s(out, ["AKS-100"])
    placeholder = by.get(f"AKS-100-aks-test/{plural}(unreadable)")
    if kind == "Pod":
        assert placeholder is not None and placeholder.outcome is Outcome.UNKNOWN and reason in placeholder.reason
        checked = [r for r in run.results if "/Pod/" in r.key]
        assert len(checked) == kept
        if kept:
            assert by["AKS-100-aks-test/shop/Pod/web-00007"].outcome is Outcome.FAILED  # read on page 1
    assert any(reason in d.message for d in run.diagnostics if d.severity == "warning")


def test_k8s_429_honours_retry_after_within_the_backoff_cap(tmp_path: Path) -> None:
    options = CollectOptions(page_size=100, timeout=(2.0, 0.4), retries=2, backoff=0.01, max_backoff=8.0)
    sleeps: list[float] = []
    faults = Faults(faults={"pods": [Fault("status", 429, retry_after="3", times=1)],
                            "deployments": [Fault("status", 429, retry_after="600")]})
    with FakeKubeAPI(cluster_objects(5), faults=faults) as api:
        meta, _ = k8s_collect(api, tmp_path, options, sleeps)
        assert [r.status for r in api.lists("pods")] == [429, 200]
        assert [r.status for r in api.lists("deployments")] == [429, 429, 429]
    assert meta["lists"]["Pod"]["status"] == "complete" and meta["lists"]["Pod"]["retries"] == 1
    # Retry-After: 3 is honoured; Retry-After: 600 is capped at max_backoff (8 s), and retried twice at most
    assert sleeps == [3.0, 8.0, 8.0]
    assert "gave up after 3 attempts" in next(g["reason"] for g in meta["gaps"] if g["kind"] == "Deployment")


def test_k8s_401_on_the_first_request_is_one_error_that_never_shows_the_token(tmp_path: Path) -> None:
    with FakeKubeAPI(cluster_objects(5), token="the-server-wants-this") as api:
        kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig", user="scanner")
        cfg = json.loads(kubeconfig.read_text())
        cfg["users"][0]["user"]["token"] = "Sup3rSecretExpiredToken-401"
        kubeconfig.write_text(json.dumps(cfg))
        with pytest.raises(CollectError) as info:
            collect_snapshot(tmp_path / "s.json.gz", kubeconfig=str(kubeconfig), context="aks-test", options=FAST)
        assert len(api.requests) == 1  # a 401 is not retried
        run = run_scan(ScanOptions(inputs=[K8sOptions(kubeconfig=str(kubeconfig), context="aks-test", snapshot_dir=str(tmp_path / "snaps"))]))
        assert len(api.requests) == 2
    assert "HTTP 401 Unauthorized" in str(info.value) and "Sup3rSecretExpiredToken" not in str(info.value)
    assert not (tmp_path / "s.json.gz").exists()
    assert [r.outcome for r in run.results] == [Outcome.ERROR]
    assert "HTTP 401" in run.errors[0].message and "Sup3rSecret" not in json.dumps(run.document())


def test_k8s_401_mid_collection_stops_keeps_what_was_read_and_names_what_was_not(tmp_path: Path) -> None:
    faults = Faults(faults={"services": [Fault("status", 401)]})
    with FakeKubeAPI(cluster_objects(20), faults=faults) as api:
        meta, out = k8s_collect(api, tmp_path)
        at = next(i for i, r in enumerate(api.requests) if r.status == 401)
        after = api.requests[at + 1:]
    assert after == [], "nothing is requested after the credentials were rejected"
    stop = ORDER.index("Service")
    assert all(meta["lists"][k]["status"] == "complete" for k in ORDER[:stop])
    assert meta["lists"]["Service"]["status"] == "unauthorized"
    # every kind after it, and the nodes' kubelet configurations, are not read, each a gap saying why
    for kind in ORDER[stop + 1:] + ["KubeletConfigz"]:
        assert meta["lists"][kind]["status"] == "not-read"
        assert meta["lists"][kind]["reason"].startswith("not read: the API server rejected the credentials while "
                                                        "listing services (HTTP 401")
    assert len(meta["gaps"]) == len(ORDER) - stop + 1
    run, by = scan_k8s(out, ["AKS-100", "AKS-134"])
    assert by["AKS-100-aks-test/shop/Pod/web-00007"].outcome is Outcome.FAILED  # pods were read before
    crb = by["AKS-134-aks-test/clusterrolebindings(unreadable)"]
    assert crb.outcome is Outcome.UNKNOWN and "rejected the credentials" in crb.reason


def test_k8s_report_says_what_was_not_read(tmp_path: Path) -> None:
    faults = Faults(faults={"pods": [Fault("status", 500, after=1)], "roles": [Fault("status", 403)],
                            "cronjobs": [Fault("status", 404)]})
    with FakeKubeAPI(cluster_objects(250), faults=faults) as api:
        _, out = k8s_collect(api, tmp_path)
    run = run_scan(ScanOptions(inputs=[K8sOptions(paths=[str(out)])]))
    doc = run.document()
    record = next(i for i in doc["inputs"] if i["kind"] == "k8s-snapshot")
    assert sorted(g["kind"] for g in record["gaps"]) == ["CronJob", "Pod", "Role"]
    warned = [d["message"] for d in doc["diagnostics"] if d["severity"] == "warning"]
    assert any(m.startswith("Pod could not be read from the cluster: HTTP 500") and "100 object(s)" in m for m in warned)
    assert any("CronJob could not be read" in m and "not served" in m for m in warned)
    html = tmp_path / "report.html"
    write_report(str(html), doc)
    page = html.read_text()
    for text in ("Pod could not be read from the cluster", "the list is incomplete: 100 object(s) from 1 page(s)",
                 "Role could not be read", "CronJob could not be read"):
        assert text in page, text
    unknown = [r for r in doc["results"] if r["outcome"] == "unknown" and "pods could not be read" in (r["reason"] or "")]
    assert unknown, "the controls over the pods that were not read are unknown"


# -- Azure -----------------------------------------------------------------------------------------------
RG = "/subscriptions/{s}/resourceGroups/{g}"
CLUSTERS = RG + "/providers/Microsoft.ContainerService/managedClusters"
CLUSTER = CLUSTERS + "/{c}"
PROD, DEV, BATCH = "aks-prod-weu", "aks-dev-weu", "aks-batch-weu"
PLATFORM = "rg-platform-weu"


def _scan(path: Path):
    return run_scan(ScanOptions(inputs=[ArmOptions(paths=[str(path)])]))


def _errors(run) -> list[str]:
    return [r.reason for r in run.results if r.outcome is Outcome.ERROR]


def _targets(run) -> list[str]:
    return sorted(t.label for t in run.targets if "managedclusters" in t.resource.type.lower())


def test_azure_404_resource_group_that_does_not_exist(tmp_path: Path) -> None:
    path = tmp_path / "s.json.gz"
    with estate_server() as server:
        fault = server.fault("GET", CLUSTERS.format(s=SUB, g="rg-nope"), 404, times=None, code="ResourceGroupNotFound",
                             message="Resource group 'rg-nope' could not be found.")
        azure_collect(server, path, resource_groups=["rg-nope", "rg-batch-weu", PLATFORM])
        assert fault.hits == 1, "a 404 is not retried"
    run = _scan(path)
    errors = _errors(run)
    assert len(errors) == 1
    assert "listing managed clusters (resource group rg-nope in subscription" in errors[0]
    assert "not found (HTTP 404 ResourceGroupNotFound: Resource group 'rg-nope' could not be found.)" in errors[0]
    assert len(_targets(run)) == 3  # the other groups are read


def test_azure_409_on_the_export_is_a_conflict_and_the_clusters_are_still_checked(tmp_path: Path) -> None:
    path = tmp_path / "s.json.gz"
    with estate_server() as server:
        fault = server.fault("POST", RG + "/exportTemplate", 409, times=None, code="ResourceGroupBeingDeleted",
                             message="The resource group is being deleted.")
        azure_collect(server, path)
        assert fault.hits == 2, "one per group, not retried"
    run = _scan(path)
    errors = _errors(run)
    assert len(errors) == 2 and all("exporting the resource group's template" in e and "refused by Azure because of "
                                    "the resource's current state (HTTP 409 ResourceGroupBeingDeleted" in e
                                    for e in errors), errors
    assert _targets(run) == [f"rg-batch-weu/{BATCH}", f"{PLATFORM}/{DEV}", f"{PLATFORM}/{PROD}"]


def test_azure_503_with_retry_after_is_retried_and_clears(tmp_path: Path) -> None:
    path = tmp_path / "s.json.gz"
    with estate_server() as server:
        fault = server.fault("GET", CLUSTERS.format(s=SUB, g=PLATFORM), 503, times=1, retry_after=1)
        started = time.monotonic()
        meta = azure_collect(server, path)
        assert time.monotonic() - started >= 0.9, "Retry-After: 1 was honoured"
    assert fault.hits == 1 and meta["requests"]["server_errors"] == 1 and meta["complete"]
    assert not _errors(_scan(path))


def test_azure_503_that_persists_is_an_error_and_a_gap(tmp_path: Path) -> None:
    path = tmp_path / "s.json.gz"
    cid = CLUSTER.format(s=SUB, g=PLATFORM, c=PROD)
    with estate_server() as server:
        fault = server.fault("GET", cid + "/providers/Microsoft.Insights/diagnosticSettings", 503, times=None,
                             retry_after=0)
        azure_collect(server, path)
    assert fault.hits == 3, "the call and 2 retries"
    run = _scan(path)
    errors = _errors(run)
    assert len(errors) == 1 and "Azure failed (HTTP 503 ServiceUnavailable" in errors[0]
    assert outcome_of(run, "AKS-012", PROD).outcome is Outcome.UNKNOWN


def test_azure_connection_reset_once_is_retried(tmp_path: Path) -> None:
    path = tmp_path / "s.json.gz"
    cid = CLUSTER.format(s=SUB, g=PLATFORM, c=PROD)
    with estate_server() as server:
        fault = server.fault("GET", cid + "/providers/Microsoft.Insights/diagnosticSettings", 200, reset=True, times=1)
        meta = azure_collect(server, path)
    assert fault.hits == 1 and meta["complete"], meta
    assert not _errors(_scan(path))


def test_azure_connection_reset_that_persists_costs_only_that_list(tmp_path: Path) -> None:
    path = tmp_path / "s.json.gz"
    cid = CLUSTER.format(s=SUB, g=PLATFORM, c=PROD)
    with estate_server() as server:
        fault = server.fault("GET", cid + "/providers/Microsoft.Insights/diagnosticSettings", 200, reset=True,
                             times=None)
        azure_collect(server, path)
        exports = server.calls("POST", "/exportTemplate")
    assert fault.hits == 3, "bounded: the call and 2 retries"
    assert len(exports) == 2, "not fatal: the collection went on"
    run = _scan(path)
    errors = _errors(run)
    assert len(errors) == 1
    assert f"listing diagnostic settings (managed cluster {PROD}): the answer did not arrive whole" in errors[0]
    audit = outcome_of(run, "AKS-012", PROD)
    assert audit.outcome is Outcome.UNKNOWN and "(interrupted)" in audit.reason
    assert outcome_of(run, "AKS-012", BATCH).outcome is Outcome.FAILED  # as without the fault


def test_azure_body_trickling_past_the_deadline_is_bounded(tmp_path: Path) -> None:
    path = tmp_path / "s.json.gz"
    cid = CLUSTER.format(s=SUB, g=PLATFORM, c=PROD)
    with estate_server() as server:
        fault = server.fault("GET", cid + "/maintenanceConfigurations", 200, chunk_delay=0.05, times=None,
                             body={"value": [{"id": f"{cid}/maintenanceConfigurations/w{i}"} for i in range(20)]})
        started = time.monotonic()
        azure_collect(server, path, timeout=1.0, deadline=1.0)
        elapsed = time.monotonic() - started
    assert fault.hits == 3 and elapsed < 12, elapsed
    errors = _errors(_scan(path))
    assert len(errors) == 1 and "listing maintenance configurations" in errors[0]
    assert "the answer did not arrive whole" in errors[0] and "1 s deadline" in errors[0]


def test_azure_a_list_failing_on_page_2_keeps_page_1(tmp_path: Path) -> None:
    path = tmp_path / "s.json.gz"
    with estate_server(page_size=1) as server:
        fault = server.fault("GET", CLUSTERS.format(s=SUB, g=PLATFORM), 500, after=1, times=None)
        azure_collect(server, path)
    assert fault.hits == 3
    run = _scan(path)
    errors = _errors(run)
    assert len(errors) == 1 and "listing managed clusters (resource group rg-platform-weu" in errors[0]
    assert "the list is incomplete: 1 item(s) were read before this" in errors[0]
    assert _targets(run) == [f"rg-batch-weu/{BATCH}", f"{PLATFORM}/{DEV}"]  # page 1 (dev) is checked
    assert outcome_of(run, "AKS-009", DEV).outcome is Outcome.FAILED


def test_azure_a_malformed_second_page_keeps_the_first(tmp_path: Path) -> None:
    path = tmp_path / "s.json.gz"
    cid = CLUSTER.format(s=SUB, g=PLATFORM, c=PROD)
    with estate_server(page_size=1) as server:
        server.fault("GET", cid + "/agentPools", 200, malformed=True, after=1)
        azure_collect(server, path)
    snap = read_azure(path)
    pools = [r for r in snap.section("resources") if r["type"].lower().endswith("/agentpools") and PROD in r["id"]]
    assert len(pools) == 1  # the first page's pool is kept
    errors = _errors(_scan(path))
    assert len(errors) == 1 and "the response is not the JSON the API returns" in errors[0]
    assert "1 item(s) were read before this" in errors[0]


def read_azure(path: Path):
    from aks_compliance.azure.snapshot import read_snapshot as read
    return read(path)


def test_azure_a_repeated_next_link_is_detected_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "s.json.gz"
    with estate_server(page_size=1) as server:
        store = server.store

        def loop(request, **_):  # every page points at the same next page
            page = paged(request, store.children(request.path), 1, server.url)
            page["nextLink"] = f"{server.url.rstrip('/')}{request.path}?api-version=2025-09-01&$skiptoken=0"
            return page
        server.route("GET", CLUSTERS.format(s=SUB, g=PLATFORM), loop)
        azure_collect(server, path)
        calls = server.calls("GET", CLUSTERS.format(s=SUB, g=PLATFORM).rstrip("/"))
    lists = [c for c in calls if c.path.lower().endswith("/managedclusters")]
    assert len(lists) == 2, "page 1, the page it links to, and not that page again"
    run = _scan(path)
    errors = _errors(run)
    assert len(errors) == 1 and "the service repeated a nextLink" in errors[0]
    assert f"{PLATFORM}/{DEV}" in _targets(run)


def test_azure_401_mid_run_names_everything_it_did_not_read(tmp_path: Path) -> None:
    path = tmp_path / "s.json.gz"
    dev = CLUSTER.format(s=SUB, g=PLATFORM, c=DEV)
    with estate_server() as server:
        fault = server.fault("GET", dev + "/agentPools", 401, times=None)
        meta = azure_collect(server, path)
        after = server.requests[[r.path for r in server.requests].index(server.calls("GET", dev + "/agentPools")[0].path) + 1:]
    assert fault.hits == 1 and after == [], "nothing is requested after the token was rejected"
    assert meta["counts"]["errors"] == 1
    run = _scan(path)
    errors = _errors(run)
    assert len(errors) == 1
    assert f"listing agent pools (managed cluster {DEV}): authentication failed (HTTP 401" in errors[0]
    assert "Not read because of this: reading the managed cluster (/subscriptions/" in errors[0]
    assert f"managedClusters/{PROD})" in errors[0]
    assert "exporting the resource group's template and reading its policy states (resource group " \
           f"{PLATFORM}" in errors[0]
    # the cluster whose lists were not read is unknown where they matter, never failed
    assert outcome_of(run, "AKS-012", DEV).outcome is Outcome.UNKNOWN
    assert outcome_of(run, "AKS-012", BATCH).outcome is Outcome.FAILED  # read before the 401
    assert PROD not in " ".join(_targets(run))
    # the auditor report says what was not read
    html = tmp_path / "report.html"
    write_report(str(html), run.document())
    page = html.read_text()
    assert "Not read because of this: reading the managed cluster" in page and f"managedClusters/{PROD}" in page


def test_azure_resource_graph_page_failing_keeps_the_rows_read(tmp_path: Path) -> None:
    from .test_azure_graph import GRAPH, MG, _collect, fleet_server

    path = tmp_path / "fleet.json.gz"
    server = fleet_server(25)
    try:
        fault = server.fault("POST", GRAPH, 503, after=1, times=None, retry_after=0)
        meta = _collect(server, path, scopes=[f"management-group:{MG}"])
    finally:
        server.stop()
    assert fault.hits == 3
    assert meta["counts"]["graph"] == 7  # the first page (page size 7)
    snap = read_azure(path)
    err = snap.section("errors")[0]
    assert err["rows_read"] == 7 and "querying Azure Resource Graph (page 2)" in err["message"]
    run = _scan(path)
    assert len([t for t in run.targets if "managedclusters" in t.resource.type.lower()]) == 7
