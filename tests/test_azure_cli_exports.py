"""The Azure CLI's own outputs (``az aks show``/``list``, ``az aks nodepool show``/``list``, ``az acr show``,
``az monitor diagnostic-settings list``, ``az resource list``): the CLI prints what the Python SDK deserialised,
with ``properties`` flattened into the top level, keys camelCased from the SDK's attribute names
(``enableRbac``, ``authorizedIpRanges``, ``enableNodePublicIp``), absent attributes as ``null`` and a
``resourceGroup`` of its own. Read as the deployed state they are, judged as the REST shape would be.

The fixtures (tests/fixtures/inputs/azure-cli/) are written from the SDK models' attributes and the CLI's
printing (knack's ``to_camel_case``, ``azure.cli.core``'s ``todict`` and resource-group transform)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aks_compliance.diagnostics import EVALUATED, RELATED
from aks_compliance.resources import DEPLOYED

from .conftest import line_of, outcome_of, scan

HERE = Path(__file__).resolve().parent / "fixtures" / "inputs" / "azure-cli"
MC = "Microsoft.ContainerService/managedClusters"
DS = "Microsoft.Insights/diagnosticSettings"



def lines_cited(result: Any, path: Path) -> set[int | None]:
    return {e.line for e in result.evidence if e.file == str(path)}


def test_az_aks_show_is_read_as_deployed_state_with_its_flattened_keys() -> None:
    path = HERE / "aks-show.json"
    run = scan(path)
    assert not run.errors, [str(e) for e in run.errors]
    assert {i["path"]: i["kind"] for i in run.inputs} == {str(path): "arm-azure-cli"}
    (target,) = run.targets
    assert target.ref().name == "aks-cli-prod" and target.resource.state == DEPLOYED
    # enableRbac (the SDK's enable_rbac camelCased) is properties.enableRBAC, cited at its own line
    rbac = outcome_of(run, "AKS-003")
    assert rbac.outcome.value == "passed", rbac.reason
    assert lines_cited(rbac, path) == {line_of(path, '"enableRbac": true')}
    policy = outcome_of(run, "AKS-006")  # addonProfiles.azurepolicy at the top level
    assert policy.outcome.value == "passed" and lines_cited(policy, path) == {line_of(path, '"enabled": true',
                                                                                     after='"azurepolicy"')}
    # not private (enablePrivateCluster false, cited at its line): passed on apiServerAccessProfile.authorizedIpRanges
    ranges = outcome_of(run, "AKS-001")
    assert ranges.outcome.value == "passed", ranges.reason
    assert line_of(path, '"enablePrivateCluster": false') in lines_cited(ranges, path)
    assert target.resource.body["properties"]["apiServerAccessProfile"]["authorizedIpRanges"] == ["203.0.113.0/24"]
    for control in ("AKS-002", "AKS-004", "AKS-016", "AKS-013", "AKS-021", "AKS-041"):
        assert outcome_of(run, control).outcome.value == "passed", control
    pools = outcome_of(run, "AKS-011")  # the inline pool's enableNodePublicIp
    assert pools.outcome.value == "passed" and line_of(path, '"enableNodePublicIp": false') in lines_cited(pools, path)
    # the CLI's resourceGroup (parsed from the id) is no property of the cluster
    body = target.resource.body
    assert "resourceGroup" not in body and "resourceGroup" not in body["properties"]


def _as_rest(obj: dict[str, Any]) -> dict[str, Any]:
    """The ARM GET body the CLI printed ``obj`` from: the envelope at the top, every other attribute under
    properties, and an attribute printed as null not returned at all."""
    envelope = {"id", "name", "type", "location", "tags", "sku", "identity", "extendedLocation", "systemData"}

    def drop_nulls(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: drop_nulls(x) for k, x in v.items() if x is not None}
        if isinstance(v, list):
            return [drop_nulls(x) for x in v]
        return v
    body = {k: v for k, v in obj.items() if k in envelope and v is not None}
    body["properties"] = {k: v for k, v in obj.items() if k not in envelope and k != "resourceGroup"}
    return drop_nulls(body)


@pytest.mark.parametrize("name", ["aks-show.json", "aks-list.json"])
def test_every_verdict_on_a_cli_export_is_the_one_on_the_rest_body_it_printed(tmp_path: Path, name: str) -> None:
    # deployed state either way: a value printed as null is absent, as the REST API leaves it out (unknown where a
    # control needs it and no default is assumed; absent where absence is the answer, as for any ARM GET)
    data = json.loads((HERE / name).read_text())
    rest = [_as_rest(o) for o in data] if isinstance(data, list) else _as_rest(data)
    (tmp_path / "rest.json").write_text(json.dumps(rest, indent=2))
    cli_run, rest_run = scan(HERE / name), scan(tmp_path / "rest.json")
    assert not cli_run.errors and not rest_run.errors

    def verdicts(run: Any) -> dict[tuple[str, str], str]:
        return {(r.control_id, r.target.name): r.outcome.value for r in run.results}
    assert verdicts(cli_run) == verdicts(rest_run)
    assert {"passed", "failed"} <= set(verdicts(cli_run).values())
    # the pools print kubeletConfig and linuxOSConfig as null (never set): the AKS defaults hold, as for a GET
    # that leaves them out (podMaxPids -1 fails AKS-074; it was unknown before custom node configuration was read
    # as omitted when unset, the one unknown these exports had)
    assert {v for (cid, _), v in verdicts(cli_run).items() if cid == "AKS-074"} == {"failed"}


def test_az_aks_list_and_az_aks_nodepool_list_attach_pools_to_their_cluster() -> None:
    clusters, pools = HERE / "aks-list.json", HERE / "nodepool-list.json"
    run = scan(clusters, pools)
    assert not run.errors, [str(e) for e in run.errors]
    assert {i["path"]: i["kind"] for i in run.inputs} == {str(clusters): "arm-azure-cli", str(pools): "arm-azure-cli"}
    assert sorted(t.ref().name for t in run.targets) == ["aks-cli-batch", "aks-cli-dev"]
    # the dev cluster's own settings, false or null at the top level
    for control in ("AKS-001", "AKS-002", "AKS-003", "AKS-006", "AKS-041"):
        assert outcome_of(run, control, "aks-cli-dev").outcome.value == "failed", control
    assert outcome_of(run, "AKS-003", "aks-cli-batch").outcome.value == "passed"
    # the batch cluster's pools come from the nodepool list: the spot pool has public node IPs
    public = outcome_of(run, "AKS-011", "aks-cli-batch")
    assert public.outcome.value == "failed"
    assert line_of(pools, '"enableNodePublicIp": true') in lines_cited(public, pools)
    # typePropertiesType is the SDK's name for the pool's properties.type (its 'type' is the resource type)
    scale_sets = outcome_of(run, "AKS-031", "aks-cli-batch")
    assert scale_sets.outcome.value == "passed", scale_sets.reason
    assert line_of(pools, '"typePropertiesType"') in lines_cited(scale_sets, pools)
    entries = {(e.name, e.status, e.target) for e in run.ledger.entries if e.type.lower() == f"{MC}/agentPools".lower()}
    assert entries == {("aks-cli-batch/system", RELATED, "aks-list/aks-cli-batch"),
                       ("aks-cli-batch/spot", RELATED, "aks-list/aks-cli-batch")}


def test_a_nodepool_list_without_its_cluster_is_judged_pool_by_pool() -> None:
    pools = HERE / "nodepool-list.json"
    run = scan(pools, controls=["AKS-011", "AKS-003"])
    assert not run.errors, [str(e) for e in run.errors]
    by_pool = {r.target.name: r for r in run.results if r.control_id == "AKS-011"}
    assert by_pool.keys() == {"aks-cli-batch/system", "aks-cli-batch/spot"}, by_pool.keys()
    assert by_pool["aks-cli-batch/system"].outcome.value == "passed"
    spot = by_pool["aks-cli-batch/spot"]
    assert spot.outcome.value == "failed" and line_of(pools, '"enableNodePublicIp": true') in lines_cited(spot, pools)
    assert {r.outcome.value for r in run.results if r.control_id == "AKS-003"} == {"unknown"}  # no cluster read


def test_az_acr_show_is_judged_from_its_flattened_properties() -> None:
    path = HERE / "acr-show.json"
    run = scan(path)
    assert not run.errors and {i["kind"] for i in run.inputs} == {"arm-azure-cli"}
    admin = outcome_of(run, "AKS-059", "acrcliprod")
    assert admin.outcome.value == "failed" and lines_cited(admin, path) == {line_of(path, '"adminUserEnabled": true')}
    assert outcome_of(run, "AKS-061", "acrcliprod").outcome.value == "passed"  # publicNetworkAccess Disabled
    assert outcome_of(run, "AKS-062", "acrcliprod").outcome.value == "passed"  # policies.retentionPolicy enabled
    assert outcome_of(run, "AKS-063", "acrcliprod").outcome.value == "failed"  # quarantine disabled


@pytest.mark.parametrize("settings", ["diagnostic-settings-list.json", "diagnostic-settings-value.json"])
def test_diagnostic_settings_lists_of_either_cli_version_attach_to_the_cluster(settings: str) -> None:
    # the aaz command of current CLI versions prints a plain array, the SDK-based one {"value": [...]} with nulls
    path = HERE / settings
    run = scan(HERE / "aks-show.json", path)
    assert not run.errors, [str(e) for e in run.errors]
    audit = outcome_of(run, "AKS-012")
    assert audit.outcome.value == "passed", audit.reason
    assert line_of(path, '"kube-audit') in lines_cited(audit, path)
    (entry,) = [e for e in run.ledger.entries if e.type.lower() == DS.lower()]
    assert entry.status == RELATED and entry.target == "aks-show/aks-cli-prod"


def test_a_listing_without_properties_is_unknown_and_said_not_a_resource_without_settings() -> None:
    # `az resource list` prints each resource's envelope with properties null (and provisioningState, createdTime,
    # changedTime): whether it is a listing or a flattened object with nothing but a provisioning state, the
    # settings are not in the file. They are unknown with the reason, never absent, and the file says so.
    path = HERE / "resource-list.json"
    run = scan(path)
    assert not run.errors, [str(e) for e in run.errors]
    assert {i["kind"] for i in run.inputs} == {"arm-azure-cli"}
    for control, target in (("AKS-001", "aks-cli-listed"), ("AKS-003", "aks-cli-listed"),
                            ("AKS-011", "aks-cli-listed"), ("AKS-059", "acrclilisted"), ("AKS-061", "acrclilisted")):
        result = outcome_of(run, control, target)
        assert result.outcome.value == "unknown" and "az resource list" in result.reason, (control, result.reason)
    assert outcome_of(run, "AKS-041", "aks-cli-listed").outcome.value == "failed"  # the sku is listed: Free
    assert outcome_of(run, "AKS-013", "aks-cli-listed").outcome.value == "passed"  # and the identity
    (warning,) = [d for d in run.diagnostics if d.severity == "warning"]
    assert warning.file == str(path) and "2 resources" in warning.message and "az resource list" in warning.message
    assert warning.line == line_of(path, '"changedTime"') - 1
    assert {(e.name, e.status) for e in run.ledger.entries} == {("aks-cli-listed", EVALUATED),
                                                                ("acrclilisted", EVALUATED)}
