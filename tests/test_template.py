"""Template mechanics: parameters, variables, loops, conditions, nesting, extension resources."""

from __future__ import annotations

import json
from pathlib import Path

from aks_compliance.arm.context import DeploymentScope
from aks_compliance.arm.inputs import ArmOptions, load_arm
from aks_compliance.arm.template import expand
from aks_compliance.jsonc import JsonDocument
from aks_compliance.arm.targets import build_arm_targets
from aks_compliance.values import Unknown

SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"


def run(template: dict, supplied: dict | None = None):
    doc = JsonDocument("t.json", template, json.dumps(template, indent=1))
    return expand(doc, template, supplied or {}, DeploymentScope())


def cluster(name="aks", **props) -> dict:
    return {"type": "Microsoft.ContainerService/managedClusters", "apiVersion": "2024-05-01", "name": name,
            "location": "westeurope", "properties": props}


def test_parameter_default_may_use_other_parameters_and_functions() -> None:
    t = {"$schema": SCHEMA, "parameters": {
        "env": {"type": "string", "defaultValue": "prod"},
        "name": {"type": "string", "defaultValue": "[format('aks-{0}-{1}', parameters('env'), uniqueString('x'))]"}},
        "resources": [cluster("[parameters('name')]")]}
    (r,) = run(t).resources
    assert r.full_name.startswith("aks-prod-") and len(r.full_name) == len("aks-prod-") + 13


def test_variables_with_copy_and_cycles() -> None:
    t = {"$schema": SCHEMA, "variables": {
        "copy": [{"name": "zones", "count": 3, "input": "[string(add(copyIndex('zones'), 1))]"}],
        "a": "[variables('b')]", "b": "[variables('a')]"},
        "resources": [cluster(zones="[variables('zones')]", loop="[variables('a')]")]}
    e = run(t)
    body = e.resources[0].body["properties"]
    assert body["zones"] == ["1", "2", "3"]
    assert isinstance(body["loop"], Unknown) and "refers to itself" in body["loop"].reason
    assert any("refers to itself" in d.message for d in e.diagnostics)


def test_resource_copy_and_condition() -> None:
    r = cluster("[concat('aks-', copyIndex(1))]")
    r["copy"] = {"name": "clusters", "count": 3}
    r["condition"] = "[not(equals(copyIndex(), 1))]"
    names = [x.full_name for x in run({"$schema": SCHEMA, "resources": [r]}).resources]
    assert names == ["aks-1", "aks-3"]


def test_condition_false_drops_resource_and_is_recorded() -> None:
    r = cluster()
    r["condition"] = False
    e = run({"$schema": SCHEMA, "resources": [r]})
    assert e.resources == [] and e.declarations[0].status == "condition-false"


def test_unknown_copy_count_gives_one_unknown_instance() -> None:
    r = cluster("[concat('aks-', copyIndex())]")
    r["copy"] = {"name": "c", "count": "[length(reference('x').items)]"}
    (res,) = run({"$schema": SCHEMA, "resources": [r]}).resources
    assert isinstance(res.full_name, Unknown) and "copy count" in res.full_name.reason


def test_copy_count_beyond_arm_limit_is_an_error() -> None:
    r = cluster("[concat('aks-', copyIndex())]")
    r["copy"] = {"name": "c", "count": 1000000000}
    e = run({"$schema": SCHEMA, "resources": [r]})
    assert any("outside 0..800" in d.message for d in e.diagnostics)


def test_outer_scope_nested_template_sees_parent_parameters() -> None:
    t = {"$schema": SCHEMA, "parameters": {"name": {"type": "string", "defaultValue": "aks-outer"}},
         "resources": [{"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "nested",
                        "properties": {"mode": "Incremental", "template": {
                            "$schema": SCHEMA, "resources": [cluster("[parameters('name')]")]}}}]}
    names = [r.full_name for r in run(t).resources if "managedClusters" in r.type]
    assert names == ["aks-outer"]


def test_inner_scope_nested_template_has_its_own_parameters_and_outputs_flow_back() -> None:
    module = {"$schema": SCHEMA, "parameters": {"prefix": {"type": "string"}},
              "resources": [],
              "outputs": {"clusterName": {"type": "string", "value": "[concat(parameters('prefix'), '-aks')]"}}}
    t = {"$schema": SCHEMA, "resources": [
        cluster("[reference(resourceId('Microsoft.Resources/deployments', 'naming')).outputs.clusterName.value]"),
        {"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "naming",
         "properties": {"expressionEvaluationOptions": {"scope": "inner"}, "mode": "Incremental",
                        "parameters": {"prefix": {"value": "payments"}}, "template": module}}]}
    names = [r.full_name for r in run(t).resources if "managedClusters" in r.type]
    assert names == ["payments-aks"]


def test_language_version_2_symbolic_reference_to_module_outputs() -> None:
    module = {"$schema": SCHEMA, "resources": {}, "outputs": {"channel": {"type": "string", "value": "stable"}}}
    t = {"$schema": SCHEMA, "languageVersion": "2.0", "resources": {
        "cfg": {"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "cfg",
                "properties": {"expressionEvaluationOptions": {"scope": "inner"}, "mode": "Incremental",
                               "template": module}},
        "aks": cluster(autoUpgradeProfile={"upgradeChannel": "[reference('cfg').outputs.channel.value]"})}}
    (c,) = [r for r in run(t).resources if "managedClusters" in r.type]
    assert c.body["properties"]["autoUpgradeProfile"]["upgradeChannel"] == "stable"


def test_user_defined_functions() -> None:
    t = {"$schema": SCHEMA, "functions": [{"namespace": "naming", "members": {"cluster": {
        "parameters": [{"name": "env", "type": "string"}],
        "output": {"type": "string", "value": "[concat('aks-', toLower(parameters('env')))]"}}}}],
         "resources": [cluster("[naming.cluster('PROD')]")]}
    assert run(t).resources[0].full_name == "aks-prod"


def test_extension_resources_attach_to_their_cluster(tmp_path: Path) -> None:
    t = {"$schema": SCHEMA, "resources": [
        cluster("aks-a"), cluster("aks-b"),
        {"type": "Microsoft.Insights/diagnosticSettings", "apiVersion": "2021-05-01-preview", "name": "d1",
         "scope": "[resourceId('Microsoft.ContainerService/managedClusters', 'aks-a')]", "properties": {}},
        {"type": "Microsoft.ContainerService/managedClusters/providers/diagnosticSettings",
         "apiVersion": "2021-05-01-preview", "name": "aks-b/Microsoft.Insights/d2", "properties": {}},
        {"type": "Microsoft.ContainerService/managedClusters/maintenanceConfigurations", "apiVersion": "2024-05-01",
         "name": "aks-b/aksManagedAutoUpgradeSchedule", "properties": {}}]}
    path = tmp_path / "t.json"
    path.write_text(json.dumps(t))
    targets = {t.resource.full_name: t for t in build_arm_targets(load_arm(ArmOptions(paths=[str(path)])))}
    assert [r.full_name for r in targets["aks-a"].related["microsoft.insights/diagnosticsettings"]] == ["d1"]
    assert [r.full_name for r in targets["aks-b"].related["microsoft.insights/diagnosticsettings"]] == ["d2"]
    assert "microsoft.containerservice/managedclusters/maintenanceconfigurations" in targets["aks-b"].related


def test_separate_agent_pools_merge_into_the_cluster_view(tmp_path: Path) -> None:
    t = {"$schema": SCHEMA, "resources": [
        cluster("aks", agentPoolProfiles=[{"name": "system", "count": 3}]),
        {"type": "Microsoft.ContainerService/managedClusters/agentPools", "apiVersion": "2024-05-01",
         "name": "aks/system", "properties": {"count": 5}},
        {"type": "Microsoft.ContainerService/managedClusters/agentPools", "apiVersion": "2024-05-01",
         "name": "aks/user", "properties": {"count": 2}}]}
    path = tmp_path / "t.json"
    path.write_text(json.dumps(t))
    (target,) = build_arm_targets(load_arm(ArmOptions(paths=[str(path)])))
    pools = target.body["properties"]["agentPoolProfiles"]
    assert [(p["name"], p["count"]) for p in pools] == [("system", 5), ("user", 2)]


def test_parameter_file_pairing_type_check_and_undeclared_names(tmp_path: Path) -> None:
    t = {"$schema": SCHEMA, "parameters": {"ranges": {"type": "array"}, "sku": {"type": "string",
                                                                                "allowedValues": ["Free", "Standard"]}},
         "resources": [cluster(apiServerAccessProfile={"authorizedIPRanges": "[parameters('ranges')]"},
                               sku="[parameters('sku')]")]}
    (tmp_path / "main.json").write_text(json.dumps(t))
    (tmp_path / "main.parameters.json").write_text(json.dumps({
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#",
        "parameters": {"ranges": {"value": "[put your ranges here]"}, "sku": {"value": "Premium"},
                       "extra": {"value": 1}}}))
    scan = load_arm(ArmOptions(paths=[str(tmp_path)]))
    (c,) = scan.resources
    props = c.body["properties"]
    assert isinstance(props["apiServerAccessProfile"]["authorizedIPRanges"], Unknown)
    assert "expected an array" in props["apiServerAccessProfile"]["authorizedIPRanges"].reason
    assert isinstance(props["sku"], Unknown) and "allowed values" in props["sku"].reason
    messages = [d.message for d in scan.diagnostics]
    assert any("'extra', which the template does not declare" in m for m in messages)


def test_secure_parameters_are_never_read() -> None:
    t = {"$schema": SCHEMA, "parameters": {"secret": {"type": "securestring", "defaultValue": "hunter2"}},
         "resources": [cluster(windowsProfile={"adminPassword": "[parameters('secret')]"})]}
    value = run(t).resources[0].body["properties"]["windowsProfile"]["adminPassword"]
    assert isinstance(value, Unknown) and "hunter2" not in value.reason


def test_unknown_function_is_an_error_naming_file_and_place() -> None:
    t = {"$schema": SCHEMA, "resources": [cluster(enableRBAC="[frobnicate(true())]")]}
    e = run(t)
    value = e.resources[0].body["properties"]["enableRBAC"]
    assert isinstance(value, Unknown)
    (d,) = e.diagnostics
    assert d.severity == "error" and "unknown function 'frobnicate'" in d.message
    assert d.file == "t.json" and d.pointer == "/resources/0/properties/enableRBAC" and d.line
