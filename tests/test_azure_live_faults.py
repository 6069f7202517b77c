"""Red-team round on the live Azure input: credentials in Azure's words, lists and Resource Graph pages of the
wrong shape, a skip token the service repeats, and a resource read without its properties. The real SDK
clients against tests/servers/arm_server.py; each fault is an error item naming where, the rest is judged, and
no credential reaches the snapshot, the results or the terminal lines.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from aks_compliance.results import Outcome
from aks_compliance.scan import ScanOptions, run_scan
from aks_compliance.arm.inputs import ArmOptions

from .azure_estate import SUB, collect, estate_server, no_proxy
from .conftest import outcome_of
from .servers.arm_server import Reply

PROD, DEV, BATCH = "aks-prod-weu", "aks-dev-weu", "aks-batch-weu"
PLATFORM = "rg-platform-weu"
CLUSTERS = "/subscriptions/{s}/resourceGroups/{g}/providers/Microsoft.ContainerService/managedClusters"
CLUSTER = CLUSTERS + "/{c}"
GRAPH = "/providers/Microsoft.ResourceGraph/resources"


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    no_proxy(monkeypatch)


def _scan(path: Path):
    return run_scan(ScanOptions(inputs=[ArmOptions(paths=[str(path)])]))


def _errors(run) -> list[str]:
    return [r.reason for r in run.results if r.outcome is Outcome.ERROR]


def _targets(run) -> list[str]:
    return sorted(t.label for t in run.targets if t.resource.type.lower().endswith("/managedclusters"))


LEAKY = ("The client does not have authorization. Diagnostics: https://acct.blob.core.windows.net/logs/x.json?"
         "sv=2022-11-02&sig=CANARYsig0123456789abc Authorization: Bearer Zx9CanaryOpaqueTok3n "
         "client_secret=CANARYclientSecret password: CANARYpassw0rd")
CANARIES = ("CANARYsig0123456789abc", "Zx9CanaryOpaqueTok3n", "CANARYclientSecret", "CANARYpassw0rd")


def _no_canary(path: Path, run, lines: list[str]) -> None:
    text = gzip.open(path, "rt").read()
    doc = json.dumps(run.document())
    for canary in CANARIES:
        assert canary not in text, f"{canary} in the snapshot"
        assert canary not in doc, f"{canary} in the results"
        assert not any(canary in line for line in lines), f"{canary} on the terminal"


def test_an_arm_error_quoting_credentials_is_redacted_everywhere_and_the_other_group_is_judged(tmp_path: Path) -> None:
    path, lines = tmp_path / "s.json.gz", []
    with estate_server() as server:
        server.fault("GET", CLUSTERS.format(s=SUB, g=PLATFORM), 403, times=None, code="AuthorizationFailed",
                     message=LEAKY)
        collect(server, path, lines=lines)
    run = _scan(path)
    errors = _errors(run)
    assert len(errors) == 1 and "permission denied (HTTP 403 AuthorizationFailed: The client does not have " \
                                "authorization" in errors[0] and f"resource group {PLATFORM}" in errors[0]
    assert _targets(run) == [f"rg-batch-weu/{BATCH}"]
    _no_canary(path, run, lines)


def test_a_credential_failure_quoting_a_secret_is_one_clear_error_without_it(tmp_path: Path) -> None:
    class Rejected:
        def get_token(self, *scopes, **kwargs):
            raise RuntimeError(f"AADSTS7000215: Invalid client secret provided. {LEAKY}")
    path, lines = tmp_path / "s.json.gz", []
    with estate_server() as server:
        meta = collect(server, path, credential=Rejected(), lines=lines)
        assert server.requests == []
    assert meta["counts"]["errors"] == 1
    run = _scan(path)
    errors = _errors(run)
    assert len(errors) == 1 and "getting an access token" in errors[0] and "AADSTS7000215" in errors[0]
    assert "Traceback" not in errors[0]
    _no_canary(path, run, lines)


def test_list_members_that_are_not_objects_are_an_error_and_a_gap_not_an_empty_list(tmp_path: Path) -> None:
    """A diagnostic settings list whose members are not objects was read as "no diagnostic settings": AKS-012
    failed the cluster on a list nobody could read."""
    cid = CLUSTER.format(s=SUB, g=PLATFORM, c=PROD)
    path = tmp_path / "s.json.gz"
    with estate_server() as server:
        server.route("GET", cid + "/providers/Microsoft.Insights/diagnosticSettings",
                     lambda _r, **_: {"value": ["not a setting", 7]})
        collect(server, path)
    run = _scan(path)
    errors = _errors(run)
    assert len(errors) == 1 and f"listing diagnostic settings (managed cluster {PROD})" in errors[0]
    assert "2 item(s) of the list are not objects and were not read (page 1 item 1: a string; page 1 item 2: " \
           "a number)" in errors[0]
    assert outcome_of(run, "AKS-012", PROD).outcome is Outcome.UNKNOWN
    assert outcome_of(run, "AKS-012", BATCH).outcome is Outcome.FAILED  # as without the fault


def test_resource_graph_rows_that_are_not_objects_are_an_error_and_the_rows_read_are_judged(tmp_path: Path) -> None:
    from .test_azure_graph import MG, _collect, fleet_server

    server = fleet_server(6)
    try:
        real = next(r for r in server.routes if r.pattern == GRAPH).handler

        def garble(request, **kw):
            reply = real(request, **kw)
            reply.body["data"].insert(1, "not a row")
            return reply
        server.route("POST", GRAPH, garble)
        server.routes.insert(0, server.routes.pop())  # ahead of the real one
        path = tmp_path / "fleet.json.gz"
        meta = _collect(server, path, scopes=[f"management-group:{MG}"])
    finally:
        server.stop()
    run = _scan(path)
    errors = _errors(run)
    assert len(errors) == 1 and "querying Azure Resource Graph" in errors[0]
    assert "row(s) are not objects and were not read (page 1 row 2: a string" in errors[0]
    assert meta["counts"]["graph"] == len(_targets(run)) == 4  # the clusters of the management group's subscriptions


def test_a_repeated_skip_token_is_detected_and_bounded(tmp_path: Path) -> None:
    """Resource Graph handing back the skip token it was sent paged up to 100,000 times."""
    from .test_azure_graph import MG, _collect, fleet_server

    server = fleet_server(6)
    try:
        real = next(r for r in server.routes if r.pattern == GRAPH).handler

        def loop(request, **kw):
            reply = real(request, **kw)
            if isinstance(reply, Reply) and isinstance(reply.body, dict):
                reply.body["$skipToken"] = "31"  # always "the page after the first"
            return reply
        server.route("POST", GRAPH, loop)
        server.routes.insert(0, server.routes.pop())
        path = tmp_path / "fleet.json.gz"
        _collect(server, path, scopes=[f"management-group:{MG}"], page_size=2)
        queries = server.calls("POST", GRAPH)
    finally:
        server.stop()
    assert len(queries) == 2, "page 1, the page its token names, and not that page again"
    run = _scan(path)
    errors = _errors(run)
    assert len(errors) == 1 and "the service repeated a skip token" in errors[0]
    assert _targets(run), "the rows read are judged"


def test_a_cluster_read_without_properties_is_an_error_and_not_judged(tmp_path: Path) -> None:
    """``properties: null`` on a cluster's GET was read as every property absent: 20 controls passed."""
    path = tmp_path / "s.json.gz"
    cid = CLUSTER.format(s=SUB, g=PLATFORM, c=PROD)
    with estate_server() as server:
        server.store.get(cid)["properties"] = None
        collect(server, path)
    run = _scan(path)
    errors = [d.message for d in run.diagnostics if d.severity == "error"]
    assert any(f"managedClusters/{PROD} was read from Azure without a 'properties' object (got null)" in m
               for m in errors), errors
    assert PROD not in " ".join(_targets(run))
    cluster_level = [r for r in run.results if r.target.name == PROD and r.outcome is Outcome.PASSED
                     and "agentpools" not in r.target.type.lower()]
    assert not cluster_level, [r.key for r in cluster_level]
    assert outcome_of(run, "AKS-009", DEV).outcome is Outcome.FAILED  # the other clusters are judged
    # the ledger lists it as read and not judged, with the reason
    ledger = [e for e in run.document()["coverage"]["entries"] if e.get("name") == PROD
              and "'properties'" in e.get("reason", "")]
    assert len(ledger) == 1 and ledger[0]["status"] == "not_evaluated", ledger
