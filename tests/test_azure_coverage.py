"""Nothing dropped in silence on the Azure side: stand-alone node pools are judged, malformed pool names
are errors, and every resource read is in the coverage ledger (evaluated, related, or not, with the reason)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from aks_compliance.diagnostics import EVALUATED, NOT_EVALUATED, RELATED, SKIPPED

from .conftest import outcome_of, scan, write_files

SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
PARAMS = "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#"
MC = "Microsoft.ContainerService/managedClusters"
POOL_TYPE = f"{MC}/agentPools"
SUB = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg"


def template(*resources: dict, **extra: Any) -> str:
    return json.dumps({"$schema": SCHEMA, "contentVersion": "1.0.0.0", "resources": list(resources), **extra}, indent=1)


def pool(name: str = "aks-prod/user1", **props: Any) -> dict:
    return {"type": POOL_TYPE, "apiVersion": "2024-05-01", "name": name,
            "properties": {"mode": "User", "count": 3, "vmSize": "Standard_D4s_v5", **props}}


def entries(run, **match: Any) -> list:
    return [e for e in run.ledger.entries if all(getattr(e, k) == v for k, v in match.items())]


# --- stand-alone node pools ---------------------------------------------------------------------------

def test_a_node_pool_without_its_cluster_is_a_target_judged_by_pool_level_controls(tmp_path: Path) -> None:
    write_files(tmp_path, {"pool.json": template(pool(enableNodePublicIP=True, type="VirtualMachineScaleSets"))})
    run = scan(tmp_path / "pool.json")
    assert not run.errors
    (target,) = run.targets
    assert target.resource.type == POOL_TYPE and target.ref().name == "aks-prod/user1"
    assert outcome_of(run, "AKS-011").outcome.value == "failed"  # public IPs on this pool
    assert outcome_of(run, "AKS-031").outcome.value == "passed"  # a scale set
    evidence = outcome_of(run, "AKS-011").evidence
    assert evidence[0].path == "properties.agentPoolProfiles[0].enableNodePublicIP"
    line = next(i for i, t in enumerate((tmp_path / "pool.json").read_text().splitlines(), 1) if "enableNodePublicIP" in t)
    assert evidence[0].file.endswith("pool.json") and evidence[0].line == line  # the pool's own line
    for cid in ("AKS-001", "AKS-002", "AKS-003", "AKS-012", "AKS-041", "AKS-055"):
        r = outcome_of(run, cid)
        assert r.outcome.value == "unknown", (cid, r.outcome, r.reason)
        assert "cluster 'aks-prod'" in r.reason and "not among the scanned inputs" in r.reason, (cid, r.reason)
    # a pool-level control whose default depends on the cluster says so
    assert "networkPlugin" in outcome_of(run, "AKS-030").reason
    # aggregate over the cluster's pools: the others are not known
    assert outcome_of(run, "AKS-033").outcome.value == "unknown"
    (entry,) = entries(run, type=POOL_TYPE)
    assert entry.status == EVALUATED and entry.controls == len([r for r in run.results if r.control_id])


def test_a_rest_node_pool_without_its_cluster_is_judged_too(tmp_path: Path) -> None:
    body = {"id": f"{SUB}/providers/{MC}/aks-prod/agentPools/spot", "name": "spot", "type": POOL_TYPE,
            "properties": {"mode": "User", "count": 2, "enableNodePublicIP": False, "osDiskType": "Ephemeral"}}
    write_files(tmp_path, {"pool.json": json.dumps(body)})
    run = scan(tmp_path / "pool.json")
    assert outcome_of(run, "AKS-011").outcome.value == "passed"
    assert outcome_of(run, "AKS-035").outcome.value == "passed"
    # deployed state: an absent pool property is unknown, not the request default
    assert outcome_of(run, "AKS-031").outcome.value == "unknown"


def test_a_pool_only_file_gives_results_not_no_input(tmp_path: Path) -> None:
    write_files(tmp_path, {"pool.json": template(pool(enableNodePublicIP=True))})
    exe = str(Path(sys.executable).with_name("aks-compliance"))
    done = subprocess.run([exe, "scan", "--arm", str(tmp_path / "pool.json"), "--controls", "AKS-011"],
                          capture_output=True, text=True)
    assert done.returncode == 1, done.stdout + done.stderr  # failed, not 5 (no input)


def test_a_node_pool_named_without_its_cluster_is_an_error_as_arm_says(tmp_path: Path) -> None:
    write_files(tmp_path, {"pool.json": template(pool(name="user1"))})
    run = scan(tmp_path / "pool.json")
    (err,) = run.errors
    assert "incorrect segment lengths" in err.message and "'user1'" in err.message and "<managedClusters>/<agentPools>" \
        in err.message and err.pointer == "/resources/0/name"
    assert err.line == next(i for i, t in enumerate((tmp_path / "pool.json").read_text().splitlines(), 1) if "user1" in t)
    assert not run.targets
    (entry,) = entries(run, type=POOL_TYPE)
    assert entry.status == NOT_EVALUATED and entry.reason.startswith("input error: ")
    assert [r.outcome.value for r in run.results] == ["error"]


def test_a_pool_of_a_scanned_cluster_is_related_to_it(tmp_path: Path) -> None:
    cluster = {"type": MC, "apiVersion": "2024-05-01", "name": "aks-prod", "location": "westeurope",
               "properties": {"agentPoolProfiles": [{"name": "sys", "mode": "System", "count": 3}]}}
    write_files(tmp_path, {"t.json": template(cluster, pool())})
    run = scan(tmp_path / "t.json")
    assert [t.resource.type for t in run.targets] == [MC]
    (entry,) = entries(run, type=POOL_TYPE)
    assert entry.status == RELATED and entry.target == run.targets[0].label


# --- the ledger ---------------------------------------------------------------------------------------

def test_every_declaration_is_judged_or_listed_with_its_reason(tmp_path: Path) -> None:
    cluster = {"type": MC, "apiVersion": "2024-05-01", "name": "aks", "location": "westeurope",
               "properties": {"agentPoolProfiles": [{"name": "sys", "mode": "System", "count": 3}]}}
    resources = [
        cluster,
        {"type": MC, "apiVersion": "2024-05-01", "name": "aks-old", "existing": True},
        {"type": "Microsoft.KeyVault/vaults", "apiVersion": "2023-07-01", "name": "kv-off", "condition": False,
         "location": "westeurope", "properties": {}},
        {"type": "Microsoft.ContainerRegistry/registries", "apiVersion": "2023-07-01", "name": "[concat('acr', copyIndex())]",
         "copy": {"name": "acrs", "count": 0}, "location": "westeurope", "properties": {}},
        {"type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-04-01", "name": "vnet", "location": "westeurope",
         "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}},
        {"type": "Microsoft.Insights/diagnosticSettings", "apiVersion": "2021-05-01-preview", "name": "diag-elsewhere",
         "scope": f"{SUB}/providers/{MC}/aks-not-here", "properties": {"logs": []}},
        {"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "inner", "condition": False,
         "properties": {"mode": "Incremental", "template": {"resources": [
             {"type": MC, "apiVersion": "2024-05-01", "name": "aks-inner", "location": "westeurope", "properties": {}}]}}},
        {"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "linked",
         "properties": {"mode": "Incremental", "templateLink": {"uri": "https://example.invalid/t.json"}}},
    ]
    write_files(tmp_path, {"t.json": template(*resources),
                           "t.parameters.json": json.dumps({"$schema": PARAMS, "contentVersion": "1.0.0.0",
                                                            "parameters": {}}),
                           "orphan.parameters.json": json.dumps({"$schema": PARAMS, "contentVersion": "1.0.0.0",
                                                                 "parameters": {}})})
    run = scan(tmp_path)
    by_ptr = {e.pointer: e for e in run.ledger.entries if e.file and e.file.endswith("t.json")}
    expect = {
        "/resources/0": (EVALUATED, ""),
        "/resources/1": (NOT_EVALUATED, "an existing-resource reference"),
        "/resources/2": (NOT_EVALUATED, "its condition is false"),
        "/resources/3": (NOT_EVALUATED, "its copy count is 0"),
        "/resources/4": (NOT_EVALUATED, "no control judges Microsoft.Network/virtualNetworks on its own"),
        "/resources/5": (NOT_EVALUATED, "which is not among the scanned targets"),
        "/resources/6": (NOT_EVALUATED, "its condition is false"),
        "/resources/6/properties/template/resources/0": (NOT_EVALUATED, "not reached"),
        "/resources/7": (NOT_EVALUATED, "linked deployment (templateLink): its template is not fetched"),
    }
    for ptr, (status, why) in expect.items():
        e = by_ptr.get(ptr)
        assert e is not None, f"{ptr} is missing from the ledger"
        assert e.status == status and why in e.reason, (ptr, e.status, e.reason)
    files = {Path(e.name).name: e for e in run.ledger.entries if e.status == SKIPPED}
    assert "bound into" in files["t.parameters.json"].reason
    assert "not paired" in files["orphan.parameters.json"].reason
    relevant = {e.pointer for e in run.ledger.unjudged_relevant()}
    assert {"/resources/1", "/resources/2", "/resources/3", "/resources/5",
            "/resources/6/properties/template/resources/0"} <= relevant
    assert "/resources/4" not in relevant  # a network is not an AKS-relevant type


def test_broken_files_are_in_the_ledger_as_skipped(tmp_path: Path) -> None:
    write_files(tmp_path, {"broken.json": "{", "other.json": json.dumps({"hello": "world"})})
    run = scan(tmp_path)
    reasons = {Path(e.name).name: e.reason for e in run.ledger.entries if e.status == SKIPPED}
    # found in a directory, JSON that is no ARM document is skipped (issue 16); named, it is an input error
    assert reasons["broken.json"].startswith("input error") and reasons["other.json"].startswith("not an ARM")
    run = scan(tmp_path / "other.json")
    reasons = {Path(e.name).name: e.reason for e in run.ledger.entries if e.status == SKIPPED}
    assert reasons["other.json"].startswith("input error")


# --- where the ledger shows ---------------------------------------------------------------------------

EVIL = "<script>alert(1)</script>"


def _ledger_inputs(tmp_path: Path) -> Path:
    cluster = {"type": MC, "apiVersion": "2024-05-01", "name": "aks", "location": "westeurope",
               "properties": {"agentPoolProfiles": [{"name": "sys", "mode": "System", "count": 3}]}}
    kv = {"type": "Microsoft.KeyVault/vaults", "apiVersion": "2023-07-01", "name": "kv-evil", "condition": False,
          "location": "westeurope", "properties": {}, "tags": {"x": EVIL}}
    existing = {"type": MC, "apiVersion": "2024-05-01", "name": EVIL.replace("/", ""), "existing": True}
    write_files(tmp_path, {"t.json": template(cluster, kv, existing)})
    return tmp_path / "t.json"


def test_the_audit_report_scope_shows_the_counts_and_every_unjudged_aks_object(tmp_path: Path) -> None:
    from aks_compliance.report.html import render_report
    run = scan(_ledger_inputs(tmp_path), controls=["AKS-002"])
    page = render_report(run.document())
    scope = page[page.index('id="scope"'):page.index('id="summary"')]
    assert "What was read and what was judged" in scope
    assert re.search(r"3 object\(s\) read: <b>1</b> evaluated by controls", scope), scope[:2000]
    assert "kv-evil" in scope and "not deployed: its condition is false" in scope
    assert "an existing-resource reference: its settings are not in this template" in scope
    assert "<script>alert(1)" not in scope and "&lt;script&gt;alert(1)" in scope  # names are escaped


class _Terminal:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def section(self, title: str, **kw: Any) -> None:
        self.lines.append(f"== {title}")

    def write_line(self, text: str, **kw: Any) -> None:
        self.lines.append(text)


def test_the_terminal_summary_shows_the_counts_and_every_unjudged_aks_object(tmp_path: Path) -> None:
    from aks_compliance.report.terminal import write_summary
    run = scan(_ledger_inputs(tmp_path), controls=["AKS-002"])
    tr = _Terminal()
    write_summary(tr, run, run.results, None, False, [])
    text = "\n".join(tr.lines)
    assert "objects read: 3 (1 evaluated, 0 judged with their target, 2 not evaluated)" in text, text
    assert "AKS-relevant objects not evaluated (2):" in text
    assert re.search(r"KeyVault/vaults  kv-evil  .*t\.json:\d+  not deployed: its condition is false", text), text


def test_a_kubernetes_object_declared_through_bicep_is_listed_as_aks_relevant_with_the_way_to_judge_it(
        tmp_path: Path) -> None:
    # Bicep's Kubernetes extension compiles `resource web 'apps/Deployment@v1'` into a resource of type
    # group/Kind@version: a privileged container declared so is judged by nothing here, and the report must say it
    web = {"import": "kubernetes", "type": "apps/Deployment@v1",
           "properties": {"metadata": {"name": "web"}, "spec": {"template": {"spec": {"containers": [
               {"name": "web", "image": "nginx", "securityContext": {"privileged": True}}]}}}}}
    write_files(tmp_path, {"main.json": json.dumps({
        "$schema": SCHEMA, "languageVersion": "2.1-experimental", "contentVersion": "1.0.0.0",
        "imports": {"kubernetes": {"provider": "Kubernetes", "version": "1.0.0"}},
        "resources": {"web": web, "cluster": {"type": MC, "apiVersion": "2024-05-01", "name": "aks-prod",
                                              "properties": {"dnsPrefix": "p"}}}})})
    run = scan(tmp_path)
    [entry] = entries(run, type="apps/Deployment@v1")
    assert entry.status == NOT_EVALUATED and entry.is_relevant
    assert "Bicep's Kubernetes extension" in entry.reason and "--k8s" in entry.reason
    assert entries(run, type=MC)[0].status == EVALUATED  # the cluster beside it is judged as before


def test_with_q_the_unjudged_list_is_cut_as_the_failures_are(tmp_path: Path) -> None:
    """`scan -q` printed every AKS-relevant object not evaluated (41 lines for the landing-zone template) while
    failures are cut at 25 per severity: the count stays, the rest is in the ledger."""
    from types import SimpleNamespace

    from aks_compliance.report import terminal
    vaults = [{"type": "Microsoft.KeyVault/vaults", "apiVersion": "2023-07-01", "name": f"kv-{i}",
               "location": "westeurope", "condition": False, "properties": {}} for i in range(40)]
    write_files(tmp_path, {"t.json": json.dumps({
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0", "resources": vaults})})
    run = scan(tmp_path / "t.json", controls=["AKS-002"])
    for verbose, shown in ((0, 40), (-1, terminal.MAX_UNJUDGED_QUIET)):
        tr = _Terminal()
        tr.config = SimpleNamespace(option=SimpleNamespace(verbose=verbose))  # type: ignore[attr-defined]
        terminal.write_summary(tr, run, run.results, None, False, [])
        text = "\n".join(tr.lines)
        assert "AKS-relevant objects not evaluated (40):" in text, text
        assert sum(1 for line in tr.lines if "KeyVault/vaults  kv-" in line) == shown
        assert ("... and 15 more" in text) == (verbose < 0), text
