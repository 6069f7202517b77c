"""A live-mode scan of a recorded Azure estate, with the real Azure SDK clients against a local ARM server.

Two resource groups, three clusters (tests/azure_estate.py, fixtures/azure/estate.json): the snapshot
is written first, then scanned with the ordinary ARM pipeline; Azure Policy's states sit beside our
verdicts, and aks-prod-weu's Defender state disagrees with our AKS-009.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from aks_compliance.azure.snapshot import SCHEMA, is_azure_snapshot, read_snapshot
from aks_compliance.policy.generate import definition_name
from aks_compliance.report.html import render_report
from aks_compliance.results import Outcome
from aks_compliance.scan import ScanOptions, run_scan
from aks_compliance.arm.inputs import ArmOptions

from .azure_estate import APP_ID, OBJECT_ID, SUB, TENANT, TOKEN, collect, estate_server, no_proxy
from .conftest import FIXTURES, ROOT, outcome_of

PROD, DEV, BATCH = "aks-prod-weu", "aks-dev-weu", "aks-batch-weu"


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    no_proxy(monkeypatch)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory):
    """One live collection of the recorded estate (module scope: the server's request log is kept)."""
    path = tmp_path_factory.mktemp("azure") / "estate.json.gz"
    with pytest.MonkeyPatch.context() as mp, estate_server() as server:
        no_proxy(mp)
        lines: list[str] = []
        meta = collect(server, path, lines=lines)
        requests = list(server.requests)
    run = run_scan(ScanOptions(inputs=[ArmOptions(paths=[str(path)])]))
    return path, meta, requests, run, lines


def test_the_snapshot_is_written_first_with_time_identity_scopes_and_what_was_read(live) -> None:
    path, meta, _requests, _run, lines = live
    assert is_azure_snapshot(path)
    text = gzip.decompress(path.read_bytes()).decode()
    assert text.startswith('{"schema": "%s"' % SCHEMA)
    snap = read_snapshot(path)
    m = snap.meta
    assert m["identity"] == {"tenant_id": TENANT, "object_id": OBJECT_ID, "app_id": APP_ID, "type": "app",
                             "issuer": f"https://sts.windows.net/{TENANT}/", "audience": "https://management.azure.com"}
    assert m["cloud"] == "AzureCloud" and m["tool"]["name"] == "aks-compliance" and m["taken"] <= m["finished"]
    assert [s["resource_group"] for s in m["scopes"]] == ["rg-batch-weu", "rg-platform-weu"]
    assert m["counts"] == {"resources": 12, "graph": 0, "exports": 2, "policy_states": 7, "errors": 0, "gaps": 0}
    assert m["complete"] is True
    ids = [r["id"].rsplit("/", 1)[-1] for r in snap.section("resources")]
    assert {PROD, DEV, BATCH, "system", "apps", "nodepool1", "tools", "spot", "aksManagedAutoUpgradeSchedule",
            "audit-to-law", "apiserver-only"} <= set(ids)
    # the bearer token never reaches the snapshot (nor its signature part)
    assert TOKEN not in text and TOKEN.split(".")[2] not in text
    assert any("reading resource group rg-platform-weu" in line for line in lines)


def test_the_real_sdk_clients_spoke_arm_rest(live) -> None:
    _path, _meta, requests, _run, _lines = live
    assert requests and all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in requests)
    clusters = [r for r in requests if r.path.lower().endswith("/managedclusters")]
    assert clusters and all(r.api_version == "2025-09-01" for r in clusters)
    # agent pools page through nextLink (the store pages by 2): aks-prod-weu has two pools, one page
    assert any(r.path.endswith("/agentPools") for r in requests)
    # the export is a long-running operation: a POST answered 202, then polled
    exports = [r for r in requests if r.method == "POST" and r.path.endswith("/exportTemplate")]
    assert len(exports) == 2 and all(r.body["resources"] == ["*"] for r in exports)
    assert any(r.path.startswith("/_operations/") for r in requests)
    # policy states are POSTs, and so is every next link (the estate group has more states than a page)
    states = [r for r in requests if "/policyStates/latest/queryResults" in r.path]
    assert all(r.method == "POST" for r in states)
    assert any("$skiptoken" in r.query for r in states), "the next link was followed"
    assert all("resourceType eq 'Microsoft.ContainerService/managedClusters'" in r.query["$filter"] for r in states)


def test_live_state_feeds_the_arm_pipeline(live) -> None:
    path, _meta, _requests, run, _lines = live
    labels = sorted(t.label for t in run.targets)
    assert labels == ["rg-batch-weu/aks-batch-weu", "rg-platform-weu/aks-dev-weu", "rg-platform-weu/aks-prod-weu",
                      "rg-platform-weu/crplatformweu"]
    prod = next(t for t in run.targets if t.label.endswith(PROD))
    # pools merged (ARM GET lists them; the separate agentPools resources replace the same names)
    assert [p["name"] for p in prod.body["properties"]["agentPoolProfiles"]] == ["system", "apps"]
    # diagnostic settings and the maintenance configuration attached
    assert [r.name for r in prod.related["microsoft.insights/diagnosticsettings"]] == ["audit-to-law"]
    assert [r.name for r in prod.related["microsoft.containerservice/managedclusters/maintenanceconfigurations"]] == \
        ["aksManagedAutoUpgradeSchedule"]
    assert outcome_of(run, "AKS-012", PROD).outcome is Outcome.PASSED  # kube-audit-admin to a workspace
    assert outcome_of(run, "AKS-012", BATCH).outcome is Outcome.FAILED  # apiserver logs only
    # the live GET wins over the export: the export's aks-prod-weu lacks securityProfile, the GET has Defender on
    defender = outcome_of(run, "AKS-009", PROD)
    assert defender.outcome is Outcome.PASSED
    # evidence cites the snapshot, at the line of the property in the decompressed text
    text = gzip.decompress(path.read_bytes()).decode().splitlines()
    ev = next(e for e in defender.evidence if "defender" in e.path.lower())
    assert ev.file == str(path) and "enabled" in text[ev.line - 1], (ev, text[ev.line - 1])
    # the export supplied the group's other resources: the registry is a target, the vnet is in the index
    vnet = f"/subscriptions/{SUB}/resourceGroups/rg-batch-weu/providers/Microsoft.Network/virtualNetworks/" \
           "vnet-batch-weu"
    assert prod.context["index"].get(vnet) is not None
    assert not run.errors
    assert run.inputs == [{"path": str(path), "sha256": read_snapshot(path).sha256, "kind": "azure-snapshot"}]


def test_azure_policy_verdicts_sit_beside_ours_and_a_disagreement_is_flagged(live) -> None:
    _path, _meta, _requests, run, _lines = live
    annotated = {r.key: r.azure_policy for r in run.results if r.azure_policy}
    assert set(annotated) == {f"AKS-009-rg-platform-weu/{PROD}", f"AKS-001-rg-platform-weu/{PROD}",
                              f"AKS-012-rg-platform-weu/{PROD}", f"AKS-056-rg-platform-weu/{PROD}",
                              f"AKS-009-rg-platform-weu/{DEV}", f"AKS-036-rg-batch-weu/{BATCH}"}
    disagree = annotated[f"AKS-009-rg-platform-weu/{PROD}"]
    assert disagree["verdict"] == "NonCompliant" and disagree["disagrees"] is True
    assert disagree["matched_by"] == "built-in" and disagree["definition"] == "a1840de2-8088-4ea8-b153-b4c723e9cb01"
    assert disagree["timestamp"].startswith("2026-11-02") and "wrong or stale" in disagree["note"]
    assert disagree["source"]["pointer"].startswith("/policy_states/") and disagree["source"]["line"] > 1
    assert [k for k, v in annotated.items() if v["disagrees"]] == [f"AKS-009-rg-platform-weu/{PROD}"]
    assert annotated[f"AKS-009-rg-platform-weu/{DEV}"]["comparison"] == "agree"
    # our unknown beside their Compliant: shown, not a disagreement
    unknown = annotated[f"AKS-056-rg-platform-weu/{PROD}"]
    assert outcome_of(run, "AKS-056", PROD).outcome is Outcome.UNKNOWN
    assert unknown["comparison"] == "not comparable" and unknown["disagrees"] is False
    # the generated definition is preferred to the built-in; the built-in's state is kept beside it
    generated = annotated[f"AKS-036-rg-batch-weu/{BATCH}"]
    assert generated["matched_by"] == "generated" and generated["definition"] == definition_name("AKS-036")
    assert generated["comparison"] == "agree"
    assert generated["others"] == [{"definition": "7d7be79c-23ba-4033-84dd-45e2a5ccdd67", "matched_by": "built-in",
                                    "verdict": "Compliant"}]


def test_results_document_validates_and_the_report_shows_azure_policy_says(live) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    _path, _meta, _requests, run, _lines = live
    doc = run.document()
    schema = json.loads((ROOT / "src/aks_compliance/schemas/results-v1.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(doc, schema)
    html = render_report(doc)
    section = html.split('<h2 id="azure-policy">Azure Policy says</h2>', 1)[1].split("<h2", 1)[0]
    assert "1 disagreement(s) in 6 result(s) with a state" in section
    rows = section.split("<tr")[2:]
    assert 'class="disagree-row"' in rows[0] and "AKS-009" in rows[0] and PROD in rows[0]
    assert "NonCompliant" in rows[0] and "DISAGREES" in rows[0]
    assert sum("DISAGREES" in r for r in rows) == 1
    assert "Azure Policy says (1 disagreeing)" in html  # in the table of contents


def test_an_offline_scan_without_azure_policy_has_no_such_section() -> None:
    run = run_scan(ScanOptions(inputs=[ArmOptions(paths=[str(FIXTURES / "examples" / "estate-export.json")])]))
    assert not any(r.azure_policy for r in run.results)
    html = render_report(run.document())
    assert 'id="azure-policy"' not in html and "Azure Policy says" not in html


def test_the_snapshot_rescanned_offline_gives_the_same_results(live, tmp_path: Path) -> None:
    path, _meta, _requests, run, _lines = live
    again = run_scan(ScanOptions(inputs=[ArmOptions(paths=[str(path)])]))
    assert [r.as_dict() for r in again.results] == [r.as_dict() for r in run.results]
    # an uncompressed copy reads the same (the layout is the same text)
    plain = tmp_path / "estate.json"
    plain.write_text(gzip.decompress(path.read_bytes()).decode(), encoding="utf-8")
    third = run_scan(ScanOptions(inputs=[ArmOptions(paths=[str(plain)])]))
    strip = lambda d: json.loads(json.dumps(d).replace(str(plain), "F").replace(str(path), "F"))  # noqa: E731
    assert [strip(r.as_dict()) for r in third.results] == [strip(r.as_dict()) for r in run.results]


def test_a_reformatted_snapshot_still_reads_with_lines(live, tmp_path: Path) -> None:
    path, _meta, _requests, run, _lines = live
    data = json.loads(gzip.decompress(path.read_bytes()))
    pretty = tmp_path / "pretty.json"
    pretty.write_text(json.dumps(data, indent=4), encoding="utf-8")
    again = run_scan(ScanOptions(inputs=[ArmOptions(paths=[str(pretty)])]))
    assert [(r.key, r.outcome) for r in again.results] == [(r.key, r.outcome) for r in run.results]
    ev = next(e for e in outcome_of(again, "AKS-009", PROD).evidence if "defender" in e.path.lower())
    assert "enabled" in pretty.read_text(encoding="utf-8").splitlines()[ev.line - 1]


def test_secrets_never_reach_the_snapshot(tmp_path: Path) -> None:
    with estate_server() as server:
        cid = f"/subscriptions/{SUB}/resourceGroups/rg-platform-weu/providers/Microsoft.ContainerService/" \
              f"managedClusters/{DEV}"
        body = server.store.get(cid)
        body["properties"]["windowsProfile"] = {"adminUsername": "azureuser", "adminPassword": "Hunter2-secret!"}
        body["properties"]["servicePrincipalProfile"] = {"clientId": "msi", "secret": "sp-secret-value"}
        server.store.get(f"/subscriptions/{SUB}/resourceGroups/rg-platform-weu/providers/Microsoft.ContainerRegistry/"
                         f"registries/crplatformweu")  # present
        path = tmp_path / "s.json.gz"
        collect(server, path)
    text = gzip.decompress(path.read_bytes()).decode()
    assert "Hunter2-secret!" not in text and "sp-secret-value" not in text
    assert '"adminPassword": "<redacted>"' in text and '"adminUsername": "azureuser"' in text
    # a setting that merely mentions secrets keeps its value: it decides controls
    assert '"enableSecretRotation": "true"' in text
    assert read_snapshot(path).meta["redacted_values"] == 2


def test_two_snapshots_of_the_same_estate_keep_their_ids_apart(live, tmp_path: Path) -> None:
    path, _meta, _requests, _run, _lines = live
    copy = tmp_path / "again.json.gz"
    copy.write_bytes(path.read_bytes())
    run = run_scan(ScanOptions(inputs=[ArmOptions(paths=[str(path), str(copy)])]))
    keys = [r.key for r in run.results]
    assert len(keys) == len(set(keys))
    assert f"AKS-009-rg-platform-weu/{PROD}" in keys and f"AKS-009-rg-platform-weu/{PROD}#2" in keys


def test_the_snapshot_ledger_accounts_for_every_resource_read(live) -> None:
    """Every REST body and export resource of the snapshot is judged, related to a target, or listed with the
    reason (an export's clusters are superseded by their ARM GET; gaps are not objects)."""
    path, _meta, _requests, run, _lines = live
    entries = [e for e in run.ledger.entries if e.file == str(path)]
    assert all(e.family == "azure" for e in entries), {e.family for e in entries}
    snap = read_snapshot(path)
    read = {f"/resources/{i}" for i in range(len(snap.section("resources")))}
    pointers = {e.pointer for e in entries}
    assert read <= pointers, sorted(read - pointers)[:5]
    by_status = {(e.type.lower(), e.status) for e in entries}
    assert ("microsoft.containerservice/managedclusters", "evaluated") in by_status
    assert ("microsoft.insights/diagnosticsettings", "related") in by_status
    superseded = [e for e in entries if "judged from their ARM GET" in e.reason]
    assert superseded and all(not e.is_relevant for e in superseded)
    assert not any(e.name.startswith("<name unresolved") and e.status == "related" for e in entries)
