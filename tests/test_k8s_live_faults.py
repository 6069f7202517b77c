"""Red-team round on the live Kubernetes input: answers of the wrong shape, credentials in the server's words,
and kubeconfig credentials the client handles badly. The real ``kubernetes`` client against
tests/servers/k8s_server.py; each fault is named in the snapshot (a gap or an error), the rest is judged, and
no credential reaches the snapshot, the results or the terminal.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import time
from pathlib import Path

import pytest

from aks_compliance.k8s.collector import CollectError, CollectOptions, collect_snapshot
from aks_compliance.k8s.snapshot import read_snapshot
from aks_compliance.results import Outcome
from aks_compliance.scan import ScanOptions, run_scan
from aks_compliance.k8s.source import K8sOptions

from .servers.k8s_server import Fault, FakeKubeAPI, Faults
from .test_k8s_collector import cluster_objects

FAST = CollectOptions(page_size=100, timeout=(2.0, 0.4), retries=2, backoff=0.01, max_backoff=0.05, deadline=1.0)


def _collect(api: FakeKubeAPI, tmp_path: Path, kubeconfig: Path | None = None):
    kubeconfig = kubeconfig or api.write_kubeconfig(tmp_path / "kubeconfig")
    out = tmp_path / "snap.json.gz"
    meta = collect_snapshot(out, kubeconfig=str(kubeconfig), context="aks-test", options=FAST, sleep=lambda _s: None)
    return meta, out


def _scan(out: Path, controls: list[str] | None = None):
    run = run_scan(ScanOptions(inputs=[K8sOptions(paths=[str(out)])], controls=controls))
    return run, {r.key: r for r in run.results}


# -- answers of the wrong shape --------------------------------------------------------------------------

def test_list_items_that_are_not_objects_make_the_list_partial_not_complete(tmp_path: Path) -> None:
    """A page whose items hold a string or a number: those are objects the collector could not read. They were
    dropped and the list said complete (absence-based checks then passed over them)."""
    def garble(page: dict) -> dict:
        page["items"][3] = "not an object"
        page["items"][5] = 42
        return page
    faults = Faults(faults={"pods": [Fault("body", body=garble, after=1, times=1)]})
    with FakeKubeAPI(cluster_objects(250), faults=faults) as api:
        meta, out = _collect(api, tmp_path)
    info = meta["lists"]["Pod"]
    assert info["status"] == "partial" and info["count"] == 248, info
    assert "2 item(s) of the list are not objects and were not read (page 2 item 4: a string; page 2 item 6: " \
           "a number)" in info["reason"]
    assert [g["kind"] for g in meta["gaps"]] == ["Pod"]
    run, by = _scan(out, ["AKS-100"])
    placeholder = by["AKS-100-aks-test/pods(unreadable)"]
    assert placeholder.outcome is Outcome.UNKNOWN and "not objects" in placeholder.reason
    assert by["AKS-100-aks-test/shop/Pod/web-00007"].outcome is Outcome.FAILED  # the objects read are judged
    assert len([r for r in run.results if "/Pod/" in r.key]) == 248


@pytest.mark.parametrize("body,reason", [
    ({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": {"a": 1}},
     "the answer has no 'items' list (got an object)"),
    ({"kind": "PodList", "apiVersion": "v1", "metadata": {}}, "the answer has no 'items' list (got none)"),
    ([], "the answer is an array, not the JSON object the API returns"),
    ({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": "etcd leader changed", "code": 500},
     "the answer is a failure Status: etcd leader changed"),
], ids=["items-object", "no-items", "array", "failure-status-in-200"])
def test_a_list_answer_of_the_wrong_shape_is_a_gap_not_an_empty_list(tmp_path: Path, body, reason: str) -> None:
    with FakeKubeAPI(cluster_objects(5), faults=Faults(faults={"pods": [Fault("body", body=body)]})) as api:
        meta, out = _collect(api, tmp_path)
    info = meta["lists"]["Pod"]
    assert info["status"] == "failed" and reason in info["reason"], info
    assert all(v["status"] == "complete" for k, v in meta["lists"].items() if k not in ("Pod",)), meta["gaps"]
    _, by = _scan(out, ["AKS-100"])
    assert by["AKS-100-aks-test/pods(unreadable)"].outcome is Outcome.UNKNOWN


def test_items_null_is_an_empty_list(tmp_path: Path) -> None:
    """Go encodes an empty (nil) slice as null: that is a list of no objects, complete."""
    body = {"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "7"}, "items": None}
    with FakeKubeAPI(cluster_objects(5), faults=Faults(faults={"pods": [Fault("body", body=body)]})) as api:
        meta, _ = _collect(api, tmp_path)
    assert meta["lists"]["Pod"]["status"] == "complete" and meta["lists"]["Pod"]["count"] == 0


@pytest.mark.parametrize("body", [
    [], {"kind": "APIResourceList", "resources": "x"}, {"kind": "APIResourceList", "resources": [1, 2]},
    {"kind": "APIResourceList", "resources": [{"name": "ciliumnetworkpolicies"},
                                              {"name": "ciliumclusterwidenetworkpolicies"}]},
], ids=["array", "resources-string", "resources-not-objects", "no-namespaced"])
def test_garbled_api_discovery_is_a_gap_never_not_served(tmp_path: Path, body) -> None:
    """Discovery that answers garbage said "not served" (no gap): a cluster whose Cilium policies could not be
    discovered was judged as one without them."""
    faults = Faults(faults={"/apis/cilium.io/v2": [Fault("body", body=body)]})
    objs = [o for o in cluster_objects(3) if o["kind"] != "NetworkPolicy"]
    with FakeKubeAPI(objs, faults=faults) as api:
        meta, out = _collect(api, tmp_path)
    for kind in ("CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy"):
        info = meta["lists"][kind]
        assert info["status"] == "failed" and "API discovery of cilium.io/v2 failed" in info["reason"], info
    assert {g["kind"] for g in meta["gaps"]} == {"CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy"}
    _, by = _scan(out, ["AKS-146"])
    r = by["AKS-146-aks-test/Namespace/shop"]
    assert r.outcome is Outcome.UNKNOWN and "cilium" in r.reason.lower()


# -- credentials in the server's words --------------------------------------------------------------------

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJDQU5BUllqd3QifQ.c2lnbmF0dXJlLWNhbmFyeQ"
LEAKY = (f"admission webhook said: Authorization: Bearer {JWT} token=CANARYtokenValue9 and the SAS "
         "https://acct.blob.core.windows.net/c?sv=2022&sig=CANARYsig0123456789")
CANARIES = ("CANARYtokenValue9", "CANARYsig0123456789", "eyJzdWIiOiJDQU5BUllqd3QifQ")


def test_credentials_quoted_by_the_server_never_reach_the_snapshot_or_the_results(tmp_path: Path) -> None:
    status = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": LEAKY, "reason": "Forbidden",
              "code": 403}
    html = f"<html><body>proxy error token={'CANARYtokenValue9'}</body></html>".encode()
    faults = Faults(faults={"pods": [Fault("body", status=403, body=status)],
                            "deployments": [Fault("body", body=status)],  # a failure Status in a 200
                            "services": [Fault("body", body=html)],  # not JSON: the start is quoted
                            "roles": [Fault("body", body=status, after=1)]})
    with FakeKubeAPI(cluster_objects(5), faults=faults) as api:
        meta, out = _collect(api, tmp_path)
    assert {"Pod", "Deployment", "Service"} <= {g["kind"] for g in meta["gaps"]}
    assert "admission webhook said" in meta["lists"]["Pod"]["reason"]  # the reason is kept, the credential not
    text = gzip.open(out, "rt").read()
    run, _ = _scan(out)
    doc = json.dumps(run.document())
    for canary in CANARIES:
        assert canary not in text and canary not in doc and canary not in json.dumps(meta), canary


# -- kubeconfig credentials ---------------------------------------------------------------------------------

def _kubeconfig_with_user(api: FakeKubeAPI, tmp_path: Path, user: dict) -> Path:
    path = api.write_kubeconfig(tmp_path / "kubeconfig")
    cfg = json.loads(path.read_text())
    cfg["users"][0]["user"] = user
    path.write_text(json.dumps(cfg))
    return path


def test_a_token_file_ending_in_a_newline_is_read_as_client_go_reads_it(tmp_path: Path) -> None:
    """``echo $TOKEN > file``: client-go trims it; the Python client sent it as it is and http.client raised a
    traceback quoting the token."""
    token_file = tmp_path / "token"
    token_file.write_text("test-token\n")
    with FakeKubeAPI(cluster_objects(3)) as api:
        meta, _ = _collect(api, tmp_path, _kubeconfig_with_user(api, tmp_path, {"tokenFile": str(token_file)}))
    assert meta["gaps"] == [] and meta["lists"]["Pod"]["count"] == 3


def test_a_token_file_that_is_a_fifo_is_an_error_not_a_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "token-fifo"
    os.mkfifo(fifo)
    with FakeKubeAPI(cluster_objects(3)) as api:
        kubeconfig = _kubeconfig_with_user(api, tmp_path, {"tokenFile": "token-fifo"})  # relative to the kubeconfig
        started = time.monotonic()
        with pytest.raises(CollectError, match="token-fifo: a named pipe"):
            _collect(api, tmp_path, kubeconfig)
        assert time.monotonic() - started < 10
        assert api.requests == []


def test_a_failing_exec_credential_plugin_is_named_redacted_and_not_logged(tmp_path: Path, capsys) -> None:
    """The client logged the plugin's stderr on the root logger (configuring logging for the whole process and
    printing it unredacted) and carried on without a credential: a bare 401 that did not say why."""
    plugin = tmp_path / "kubelogin"
    plugin.write_text("#!/bin/sh\necho 'AADSTS700016: client_secret=CANARYexecSecret1 rejected' >&2\nexit 1\n")
    plugin.chmod(0o755)
    handlers = list(logging.getLogger().handlers)
    with FakeKubeAPI(cluster_objects(3)) as api:
        kubeconfig = _kubeconfig_with_user(api, tmp_path, {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1", "command": str(plugin)}})
        with pytest.raises(CollectError) as info:
            _collect(api, tmp_path, kubeconfig)
        assert api.requests == []
    message = str(info.value)
    assert "credential plugin failed: exec: process returned 1. AADSTS700016: client_secret=<redacted>" in message
    assert "CANARYexecSecret1" not in message + "".join(capsys.readouterr())
    assert logging.getLogger().handlers == handlers  # the client did not configure logging for us


@pytest.mark.parametrize("change,expected", [
    (lambda cfg: cfg.update({"current-context": "ghost"}), "has no context named 'ghost'"),
    (lambda cfg: cfg.update({"current-context": ""}), "names no context to use \\(no current-context\\)"),
    (lambda cfg: cfg["contexts"][0]["context"].update({"cluster": "gone"}), "has no cluster named 'gone'"),
], ids=["current-context-missing", "no-current-context", "cluster-missing"])
def test_a_kubeconfig_that_names_what_it_does_not_define_is_a_clear_error(tmp_path: Path, change, expected) -> None:
    with FakeKubeAPI(cluster_objects(1)) as api:
        path = api.write_kubeconfig(tmp_path / "kubeconfig")
    cfg = json.loads(path.read_text())
    change(cfg)
    path.write_text(json.dumps(cfg))
    with pytest.raises(CollectError, match=expected):
        collect_snapshot(tmp_path / "s.json.gz", kubeconfig=str(path), options=FAST)
    assert not (tmp_path / "s.json.gz").exists()


def test_a_stored_snapshot_whose_gap_quotes_a_credential_is_redacted_when_scanned(tmp_path: Path) -> None:
    """A snapshot written elsewhere (or by an older collector) whose gap reason quotes a token: the results'
    input record and the warnings carry the reason without it."""
    with FakeKubeAPI(cluster_objects(3), faults=Faults(forbidden={"roles"})) as api:
        _, out = _collect(api, tmp_path)
    lines = gzip.open(out, "rt").read().splitlines()
    head = json.loads(lines[0].rstrip(",") + "}")  # the first line is the header without its closing brace
    for gap in head["meta"]["gaps"]:
        gap["reason"] = LEAKY
    lines[0] = json.dumps(head, ensure_ascii=False, separators=(",", ":"))[:-1] + ","
    edited = tmp_path / "edited.json"
    edited.write_text("\n".join(lines) + "\n")
    run, _ = _scan(edited)
    doc = json.dumps(run.document())
    assert "admission webhook said" in doc
    for canary in CANARIES:
        assert canary not in doc, canary


# -- a long collection shows progress ----------------------------------------------------------------------

def test_a_long_collection_says_how_far_it_is(tmp_path: Path) -> None:
    """The snapshot command printed nothing until the end: a cluster of 100,000 pods read for minutes in
    silence. Now a line per kind read and one every 20 pages of a long list (not one per page)."""
    lines: list[str] = []
    with FakeKubeAPI(cluster_objects(250)) as api:
        kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig")
        collect_snapshot(tmp_path / "s.json.gz", kubeconfig=str(kubeconfig), context="aks-test",
                         options=CollectOptions(page_size=5, timeout=(2.0, 2.0), retries=0), progress=lines.append)
    assert lines[0].startswith("reading aks-test (http://127.0.0.1:")
    assert [ln for ln in lines if ln.startswith("  listing pods:")] == [
        "  listing pods: 100 objects so far (20 pages)", "  listing pods: 200 objects so far (40 pages)"]
    assert "  Pod: 250 objects (50 page(s))" in lines and "  Namespace: 3 objects (1 page(s))" in lines


def test_the_snapshot_command_shows_progress_on_stderr(tmp_path: Path) -> None:
    import subprocess
    import sys

    exe = str(Path(sys.executable).with_name("aks-compliance"))
    with FakeKubeAPI(cluster_objects(20)) as api:
        kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig")
        done = subprocess.run([exe, "snapshot", "--kubeconfig", str(kubeconfig), "--kube-context", "aks-test",
                               "-o", str(tmp_path / "s.json.gz")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "reading aks-test" in done.stderr and "  Pod: 20 objects (1 page(s))" in done.stderr


def test_an_answer_larger_than_the_limit_is_a_gap_not_memory_without_end(tmp_path: Path) -> None:
    """An answer was read whole whatever its size: a server or proxy sending without end filled the memory before
    the deadline could stop it. Past the collector's limit (CollectOptions.max_response_bytes) the list is a gap
    naming it; the other lists are read."""
    from dataclasses import replace

    small = replace(FAST, max_response_bytes=20_000)
    with FakeKubeAPI(cluster_objects(120), faults=Faults()) as api:
        kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig")
        out = tmp_path / "snap.json.gz"
        meta = collect_snapshot(out, kubeconfig=str(kubeconfig), context="aks-test", options=small,
                                sleep=lambda _s: None)
    info = meta["lists"]["Pod"]
    assert info["status"] == "failed" and "larger than 20,000 bytes" in info["reason"], info
    assert meta["lists"]["Namespace"]["status"] == "complete", meta["lists"]["Namespace"]
    _, by = _scan(out, ["AKS-100"])
    assert by["AKS-100-aks-test/pods(unreadable)"].outcome is Outcome.UNKNOWN


def test_a_credential_plugin_that_never_answers_is_an_error_not_a_hang(tmp_path: Path) -> None:
    """kubelogin waiting for a device-code login nobody enters (CI) held the scan forever: the client waits for
    its exec plugin without a limit. After the credential timeout the collection stops with an error saying so."""
    from aks_compliance.k8s.collector import make_api_client

    plugin = tmp_path / "kubelogin"
    plugin.write_text("#!/bin/sh\necho 'To sign in, use a web browser to open https://microsoft.com/devicelogin' >&2\n"
                      "sleep 30\n")
    plugin.chmod(0o755)
    with FakeKubeAPI(cluster_objects(1)) as api:
        kubeconfig = _kubeconfig_with_user(api, tmp_path, {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1", "command": str(plugin)}})
        started = time.monotonic()
        with pytest.raises(CollectError, match=r"credential plugin \(exec\) did not answer within 1 s"):
            make_api_client(str(kubeconfig), "aks-test", credential_timeout=1.0)
        assert time.monotonic() - started < 10
        assert api.requests == []
