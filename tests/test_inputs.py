"""Input forms: REST JSON (one, a list, {"value": [...]}), Resource Graph answers, deployment-wrapped templates,
directories."""

from __future__ import annotations

import json
from pathlib import Path

from aks_compliance.arm.inputs import classify

from .conftest import FIXTURES, outcome_of, scan

CLUSTER = json.loads((FIXTURES / "controls" / "AKS-002" / "failed-enabled.json").read_text())


def test_classify() -> None:
    assert classify({"$schema": ".../deploymentTemplate.json#", "resources": []}) == "template"
    assert classify({"$schema": ".../deploymentParameters.json#", "parameters": {}}) == "parameters"
    assert classify({"value": []}) == "resources"
    assert classify([CLUSTER]) == "resources"
    assert classify(CLUSTER) == "resources"
    assert classify({"hello": "world"}) is None


def test_az_aks_show_output_with_cli_extras(tmp_path: Path) -> None:
    shown = dict(CLUSTER, resourceGroup="rg-fixtures", provisioningState="Succeeded")
    (tmp_path / "show.json").write_text(json.dumps(shown))
    run = scan(tmp_path / "show.json", controls=["AKS-002"])
    assert outcome_of(run, "AKS-002").outcome.value == "failed"
    assert run.targets[0].resource.id.endswith("/managedClusters/aks-fixture")


def test_list_and_value_forms(tmp_path: Path) -> None:
    second = json.loads(json.dumps(CLUSTER).replace("aks-fixture", "aks-two"))
    (tmp_path / "list.json").write_text(json.dumps([CLUSTER]))
    (tmp_path / "value.json").write_text(json.dumps({"value": [second], "nextLink": None}))
    run = scan(tmp_path, controls=["AKS-002"])
    assert sorted(t.resource.full_name for t in run.targets) == ["aks-fixture", "aks-two"]


def test_psrule_style_nested_child_resources(tmp_path: Path) -> None:
    cluster = json.loads(json.dumps(CLUSTER))
    cluster["properties"]["agentPoolProfiles"] = [{"name": "system", "count": 3, "enableEncryptionAtHost": True}]
    cluster["resources"] = [{
        "id": cluster["id"] + "/agentPools/user", "name": "user",
        "type": "Microsoft.ContainerService/managedClusters/agentPools",
        "properties": {"count": 2, "enableEncryptionAtHost": False}}]
    (tmp_path / "exported.json").write_text(json.dumps([cluster]))
    result = outcome_of(scan(tmp_path, controls=["AKS-010"]), "AKS-010")
    assert result.outcome.value == "failed"
    assert any(e.path == "properties.agentPoolProfiles[1].enableEncryptionAtHost" for e in result.evidence)


def test_template_wrapped_as_a_deployment_resource(tmp_path: Path) -> None:
    template = json.loads((FIXTURES / "controls" / "AKS-001" / "passed-template-private-from-parameter-default.json")
                          .read_text())
    wrapped = {"type": "Microsoft.Resources/deployments", "name": "aks-release-42",
               "properties": {"mode": "Incremental", "template": template,
                              "parameters": {"privateCluster": {"value": False}}}}
    (tmp_path / "deployment.json").write_text(json.dumps(wrapped))
    run = scan(tmp_path, controls=["AKS-001"])
    result = outcome_of(run, "AKS-001")
    assert result.outcome.value == "failed"
    assert result.target.pointer == "/properties/template/resources/0"


def test_unrecognised_json_is_listed_in_a_directory_an_error_when_named_and_the_rest_goes_on(tmp_path: Path) -> None:
    # issue 16: a repository root holds package.json and the like; they are listed as skipped, not errors
    (tmp_path / "package.json").write_text('{"name": "not-arm"}')
    (tmp_path / "cluster.json").write_text(json.dumps(CLUSTER))
    run = scan(tmp_path, controls=["AKS-002"])
    assert not run.errors
    skipped = {e.name: e.reason for e in run.ledger.entries if e.status == "skipped"}
    assert "not an ARM template" in skipped[str(tmp_path / "package.json")]
    assert outcome_of(run, "AKS-002").outcome.value == "failed"
    run = scan(tmp_path / "package.json", tmp_path / "cluster.json", controls=["AKS-002"])
    assert [d.file for d in run.errors] == [str(tmp_path / "package.json")]
    assert outcome_of(run, "AKS-002").outcome.value == "failed"


def test_missing_input_path_is_an_error(tmp_path: Path) -> None:
    run = scan(tmp_path / "nope")
    assert run.errors and "does not exist" in run.errors[0].message


def test_resource_graph_answers_are_read_and_a_page_of_more_is_said(tmp_path: Path) -> None:
    """`az graph query -q "resources | where type =~ 'microsoft.containerservice/managedclusters'"` prints
    {count, data, skip_token, total_records}; the REST API answers {totalRecords, count, data, facets,
    resultTruncated, $skipToken}. The rows are the resources; a result with more pages says the rest were not
    read (a scan that looks complete without them would hide clusters), as a REST list with a nextLink does."""
    row = dict(CLUSTER, resourceGroup="rg-fixtures", subscriptionId="00000000-0000-0000-0000-000000000000",
               tenantId="11111111-1111-1111-1111-111111111111")
    two = json.loads(json.dumps(row).replace("aks-fixture", "aks-two"))
    (tmp_path / "cli.json").write_text(json.dumps({"count": 1, "data": [row], "skip_token": None,
                                                   "total_records": 1}, indent=2))
    (tmp_path / "rest.json").write_text(json.dumps({"totalRecords": 1, "count": 1, "data": [two], "facets": [],
                                                    "resultTruncated": "false"}, indent=2))
    assert classify(json.loads((tmp_path / "cli.json").read_text())) == "resources"
    run = scan(tmp_path, controls=["AKS-002"])
    assert sorted(t.resource.full_name for t in run.targets) == ["aks-fixture", "aks-two"]
    assert {r.outcome.value for r in run.results} == {"failed"}
    assert not [d for d in run.diagnostics if d.severity in ("warning", "error")]

    paged = tmp_path / "paged"
    paged.mkdir()
    (paged / "first-page.json").write_text(json.dumps({"count": 1, "data": [row], "skip_token": "ew0KICAi",
                                                       "total_records": 1500}, indent=2))
    (paged / "list.json").write_text(json.dumps({"value": [two], "nextLink": "https://management.azure.com/"
                                                 "subscriptions/x/providers/Microsoft.ContainerService/"
                                                 "managedClusters?api-version=2024-05-01&$skiptoken=abc"}, indent=2))
    run = scan(paged, controls=["AKS-002"])
    assert len(run.targets) == 2  # what was given is judged
    warned = {Path(d.file).name: d for d in run.diagnostics if d.severity == "warning"}
    def line_of(name: str, key: str) -> int:
        return (paged / name).read_text().split(f'"{key}"')[0].count("\n") + 1

    assert "1 of 1500 rows" in warned["first-page.json"].message
    assert warned["first-page.json"].line == line_of("first-page.json", "data") == 3
    assert "nextLink" in warned["list.json"].message
    assert warned["list.json"].line == line_of("list.json", "nextLink") > 3
    assert classify({"count": 2, "data": ["a", "b"]}) is None  # a word list under 'data' is not Resource Graph
