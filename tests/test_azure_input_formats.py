"""The Azure-side formats people already have: PowerShell / PSRule exports (deployed state, detected by
shape), blueprint artifacts (expanded like nested deployments), and templates meant to be deployed from a
URI (``deployment().properties.templateLink``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from aks_compliance.diagnostics import EVALUATED, NOT_EVALUATED, RELATED
from aks_compliance.resources import DEPLOYED, REQUEST

from .conftest import FIXTURES, line_of, outcome_of, scan, write_files

INPUTS = FIXTURES / "inputs"
MC = "Microsoft.ContainerService/managedClusters"



# --- PowerShell / PSRule exports ----------------------------------------------------------------------

def test_get_azresource_output_is_read_as_arm_get_without_a_flag() -> None:
    path = INPUTS / "powershell" / "get-azresource.json"
    run = scan(path)
    assert not run.errors, [str(e) for e in run.errors]
    kinds = {i["path"]: i["kind"] for i in run.inputs}
    assert kinds[str(path)] == "arm-resources"
    by_type = {t.resource.type: t for t in run.targets}
    cluster, registry = by_type[MC], by_type["Microsoft.ContainerRegistry/registries"]
    assert cluster.ref().name == "aks-ps-prod" and cluster.resource.state == DEPLOYED
    assert cluster.label == "get-azresource/aks-ps-prod"
    assert outcome_of(run, "AKS-002", "aks-ps-prod").outcome.value == "passed"
    assert outcome_of(run, "AKS-013", "aks-ps-prod").outcome.value == "passed"  # Identity.Type, PascalCase
    tier = outcome_of(run, "AKS-041", "aks-ps-prod")
    assert tier.outcome.value == "passed" and tier.evidence[0].line == line_of(path, '"Tier": "Standard"')
    assert outcome_of(run, "AKS-059", "acrpsprod").outcome.value == "failed"  # admin user on
    assert registry.resource.id.endswith("/registries/acrpsprod")


def test_export_azruledata_children_attach_to_their_cluster() -> None:
    path = INPUTS / "powershell" / "export-azruledata.json"
    run = scan(path)
    assert not run.errors and [t.resource.type for t in run.targets] == [MC]
    assert outcome_of(run, "AKS-012").outcome.value == "passed"  # the nested diagnostic setting
    assert outcome_of(run, "AKS-003").outcome.value == "failed"
    pools = outcome_of(run, "AKS-011")  # both pools: the inline one and the nested agentPools object
    assert pools.outcome.value == "failed" and any(e.path.startswith("properties.agentPoolProfiles[1]")
                                                   for e in pools.evidence)
    # deployed state: an absent property is unknown, never the request default
    assert outcome_of(run, "AKS-002").outcome.value == "unknown"
    statuses = {(e.type, e.status) for e in run.ledger.entries}
    assert {(MC, EVALUATED), ("Microsoft.Insights/diagnosticSettings", RELATED),
            (f"{MC}/agentPools", RELATED)} <= statuses


def test_values_a_too_small_json_depth_cut_are_unknown_saying_so() -> None:
    # ConvertTo-Json writes what lies deeper than its -Depth as '@{...}' or a type name: the value is not in the
    # file (unknown, with the reason), the user's cluster is not malformed (no error), and nothing passes over it
    run = scan(INPUTS / "powershell" / "shallow-depth.json")
    assert not run.errors and "error" not in {r.outcome.value for r in run.results}
    for control in ("AKS-005", "AKS-011", "AKS-030", "AKS-041"):  # network profile, pools, Sku: all cut
        result = outcome_of(run, control)
        assert result.outcome.value == "unknown" and "ConvertTo-Json" in result.reason, (control, result.reason)
    assert outcome_of(run, "AKS-003").outcome.value == "passed"  # enableRBAC, a scalar, survives


def test_a_cut_array_of_strings_and_cut_child_resources_are_unknown_not_absent() -> None:
    path = INPUTS / "powershell" / "shallow-children.json"
    run = scan(path)
    assert not run.errors, [str(e) for e in run.errors]
    # authorizedIPRanges cut to its one member's string: not an IP range the user wrote, a cut array
    assert "authorizedIPRanges was written as a string by ConvertTo-Json" in outcome_of(run, "AKS-001").reason
    assert outcome_of(run, "AKS-011").outcome.value == "unknown"  # the one pool is '@{...}'
    # the diagnostic setting nested under resources was cut: there may be one, so not 'none found' (a fail)
    for control in ("AKS-012", "AKS-052", "AKS-053"):
        result = outcome_of(run, control)
        assert result.outcome.value == "unknown" and "diagnosticSettings" in result.reason, control
    warnings = [d for d in run.diagnostics if d.severity == "warning" and "ConvertTo-Json cut" in d.message]
    assert [d.pointer for d in warnings] == [f"/0/resources/{i}" for i in range(4)]
    untyped = [e for e in run.ledger.entries if e.pointer == "/0/resources/3"]
    assert [e.status for e in untyped] == [NOT_EVALUATED] and "ConvertTo-Json" in untyped[0].reason


def test_a_single_powershell_object_and_a_value_wrapper_are_recognised(tmp_path: Path) -> None:
    (obj,) = json.loads((INPUTS / "powershell" / "export-azruledata.json").read_text())
    write_files(tmp_path, {"one.json": json.dumps(obj), "wrapped.json": json.dumps({"value": [obj]})})
    for name in ("one.json", "wrapped.json"):
        run = scan(tmp_path / name)
        assert not run.errors and [t.resource.type for t in run.targets] == [MC], name


def test_a_listing_without_expand_properties_is_unknown_not_a_cluster_without_settings() -> None:
    # Get-AzResource without -ExpandProperties writes Properties null: no setting was read, so none is absent
    run = scan(INPUTS / "powershell" / "not-expanded.json")
    assert not run.errors, [str(e) for e in run.errors]
    for control, target in (("AKS-001", "aks-listed"), ("AKS-014", "aks-listed"), ("AKS-059", "acrlisted"),
                            ("AKS-060", "acrlisted")):
        result = outcome_of(run, control, target)
        assert result.outcome.value == "unknown" and "-ExpandProperties" in result.reason, (control, result.reason)
    assert outcome_of(run, "AKS-041", "aks-listed").outcome.value == "failed"  # Sku is there: tier Free


# --- blueprint artifacts ------------------------------------------------------------------------------

def test_a_blueprint_artifact_in_a_template_is_expanded_with_its_parameters() -> None:
    path = INPUTS / "blueprint" / "artifact-in-template.json"
    run = scan(path)
    (target,) = run.targets
    assert target.ref().name == "aks-bp" and target.resource.state == REQUEST
    assert outcome_of(run, "AKS-002").outcome.value == "passed"  # disableLocalAccounts from the artifact
    warnings = [d for d in run.diagnostics if d.severity == "warning"]
    assert any("Azure Blueprints is being retired" in d.message and d.pointer == "/resources/0" for d in warnings)
    (artifact,) = [e for e in run.ledger.entries if e.type == "Microsoft.Blueprint/blueprints/artifacts"]
    assert artifact.status == NOT_EVALUATED and "listed on their own" in artifact.reason
    # the escaped expression [[parameters('adminGroup')] names a blueprint parameter: unknown, with the reason
    admins = target.resource.body["properties"]["aadProfile"]["adminGroupObjectIDs"][0]
    assert "blueprint parameter" in admins.reason


def test_an_exported_blueprint_artifact_is_expanded_too() -> None:
    path = INPUTS / "blueprint" / "exported-artifact.json"
    run = scan(path)
    (target,) = run.targets
    assert outcome_of(run, "AKS-011").outcome.value == "failed"  # publicIPs = true from the artifact
    assert "bp_clusterName" in target.resource.display_name()  # a blueprint parameter: unknown
    assert any("Azure Blueprints is being retired" in d.message for d in run.diagnostics)


def test_non_template_artifacts_are_listed_not_expanded(tmp_path: Path) -> None:
    artifact = {"kind": "policyAssignment", "type": "Microsoft.Blueprint/blueprints/artifacts", "name": "pa",
                "properties": {"policyDefinitionId": "/providers/Microsoft.Authorization/policyDefinitions/x",
                               "parameters": {}}}
    write_files(tmp_path, {"pa.json": json.dumps(artifact)})
    run = scan(tmp_path / "pa.json")
    assert not run.targets and not run.errors
    (entry,) = run.ledger.entries
    assert entry.status == NOT_EVALUATED and "kind 'policyAssignment'" in entry.reason


# --- deployment().properties.templateLink ------------------------------------------------------------

def test_a_quickstart_meant_for_a_uri_is_judged_with_the_link_unknown() -> None:
    path = INPUTS / "linked-quickstart.json"
    run = scan(path)
    assert not run.errors, [str(e) for e in run.errors]
    assert outcome_of(run, "AKS-002").outcome.value == "passed"
    tags = run.targets[0].resource.body["tags"]
    assert "templateLink exists only when the template is deployed from a URI" in tags["scripts"].reason
    assert "--arm-template-uri" in tags["linked"].reason  # contains(deployment().properties, 'templateLink')


def test_arm_template_uri_supplies_the_link(tmp_path: Path) -> None:
    uri = "https://raw.githubusercontent.com/org/repo/main/azuredeploy.json"
    run = scan(INPUTS / "linked-quickstart.json", template_uri=uri)
    assert run.targets[0].resource.body["tags"]["linked"] == "True"
    exe = str(Path(sys.executable).with_name("aks-compliance"))
    out = tmp_path / "r.json"
    done = subprocess.run([exe, "scan", "--arm", str(INPUTS / "linked-quickstart.json"), "--arm-template-uri", uri,
                           "--controls", "AKS-002", "--results-json", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_other_missing_deployment_properties_are_still_errors(tmp_path: Path) -> None:
    template = {"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
                "contentVersion": "1.0.0.0", "resources": [{
                    "type": MC, "apiVersion": "2024-05-01", "name": "aks", "location": "westeurope",
                    "tags": {"x": "[deployment().properties.nope]"}, "properties": {}}]}
    write_files(tmp_path, {"t.json": json.dumps(template)})
    run = scan(tmp_path / "t.json", controls=["AKS-002"])
    run.targets[0].resource.body  # evaluate
    assert any("'nope' doesn't exist" in d.message for d in run.diagnostics), [str(d) for d in run.diagnostics]


def test_get_azakscluster_output_is_read_with_its_flattened_settings() -> None:
    """`Get-AzAksCluster | ConvertTo-Json` writes the cluster's settings beside Id, Name and Type (PascalCase, no
    Properties): every control said unknown ("there is no Properties in this PowerShell export") although the
    values are in the file. They are the properties, cited at their own lines; a listing without them is still
    unknown."""
    path = INPUTS / "powershell" / "get-azakscluster.json"
    run = scan(path)
    assert not run.errors, [str(e) for e in run.errors]
    rbac, local, public = (outcome_of(run, c, "aks-ps") for c in ("AKS-003", "AKS-002", "AKS-011"))
    assert rbac.outcome.value == "passed" and rbac.evidence[0].line == line_of(path, '"EnableRBAC": true')
    assert local.outcome.value == "failed" and local.evidence[0].line == line_of(path, '"DisableLocalAccounts"')
    assert public.outcome.value == "failed" and public.evidence[0].line == line_of(path, '"EnableNodePublicIP"')
    assert outcome_of(run, "AKS-041", "aks-ps").outcome.value == "passed"
    assert run.targets[0].resource.state == DEPLOYED


def test_a_powershell_listing_without_settings_stays_unknown(tmp_path: Path) -> None:
    listing = {"Name": "aks-ps", "ResourceGroupName": "rg", "ResourceType": "Microsoft.ContainerService/managedClusters",
               "Location": "westeurope", "CreatedTime": "2024-01-01T00:00:00Z",
               "ResourceId": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/"
                             "Microsoft.ContainerService/managedClusters/aks-ps"}
    write_files(tmp_path, {"list.json": json.dumps([listing])})
    run = scan(tmp_path / "list.json")
    rbac = outcome_of(run, "AKS-003", "aks-ps")
    assert rbac.outcome.value == "unknown" and "Properties" in rbac.reason


def test_get_azdiagnosticsetting_output_is_read_as_the_diagnostic_setting_it_is() -> None:
    """`Get-AzDiagnosticSetting -ResourceId <cluster> | ConvertTo-Json` (Az.Monitor 4+: the DiagnosticSettingsResource
    model, flattened: Log / Metric arrays of Category, CategoryGroup, Enabled, RetentionPolicyDay/Enabled beside Id,
    Name, Type, WorkspaceId, no Properties) was read with no `logs`: AKS-012 failed ("no diagnostic setting on this
    cluster sends kube-audit...") although the setting in the file sends kube-audit-admin to a workspace."""
    cluster, setting = INPUTS / "powershell" / "get-azakscluster.json", INPUTS / "powershell" / "get-azdiagnosticsetting.json"
    run = scan(cluster, setting)
    assert not run.errors, [str(e) for e in run.errors]
    audit = outcome_of(run, "AKS-012", "aks-ps")
    assert audit.outcome.value == "passed", audit.reason
    assert any(e.file == str(setting) and e.line == line_of(setting, '"kube-audit-admin"') for e in audit.evidence), \
        [(e.file, e.line) for e in audit.evidence]


def test_a_powershell_diagnostic_setting_without_audit_logs_still_fails(tmp_path: Path) -> None:
    setting = json.loads((INPUTS / "powershell" / "get-azdiagnosticsetting.json").read_text())
    setting[0]["Log"] = [{"Category": "kube-audit-admin", "CategoryGroup": None, "Enabled": False,
                          "RetentionPolicyDay": 0, "RetentionPolicyEnabled": False}]
    write_files(tmp_path, {"ds.json": json.dumps(setting, indent=1)})
    run = scan(INPUTS / "powershell" / "get-azakscluster.json", tmp_path / "ds.json")
    assert outcome_of(run, "AKS-012", "aks-ps").outcome.value == "failed"
