"""Template readings found wrong in expander red-team round five, each against the ARM semantics it cites.

The templates are in tests/fixtures/arm-expander-5 (written for these tests)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

from aks_compliance.arm.inputs import ArmOptions, load_arm
from aks_compliance.values import Placeholder, Unknown

from .conftest import outcome_of, scan

HERE = Path(__file__).resolve().parent / "fixtures" / "arm-expander-5"
MC = "Microsoft.ContainerService/managedClusters"


def resources(name: str, **options):
    arm = ArmOptions(paths=[str(HERE / name)], **options)
    arm.scope = arm.deployment_scope(dt.datetime.now(dt.timezone.utc))
    loaded = load_arm(arm)
    return loaded, {(r.type, r.full_name): r for r in loaded.resources}


# --- the deployment location's stand-in is never decided on ------------------------------------------

def test_a_decision_on_the_unknown_deployment_location_is_unknown() -> None:
    """resourceGroup().location is a stand-in when --arm-location is not given: contains(), endsWith(),
    indexOf() on it answered from the stand-in's own text ('resource-group-location'), so a zone-region list
    decided the pools had no zones and maxPods was 30; what ARM deploys depends on the real location."""
    _, by = resources("location-decisions.json")
    (name, aks), = [(k[1], r) for k, r in by.items() if k[0] == MC]
    pool = aks.body["properties"]["agentPoolProfiles"][0]
    for key in ("availabilityZones", "maxPods", "osDiskSizeGB"):
        assert isinstance(pool[key], Unknown), key
        assert "deployment location" in pool[key].reason, key
    # text built from it still names things consistently (the separate pool finds its cluster) ...
    assert isinstance(name, Placeholder) and name == "aks-resource-group-location"
    user = by[(f"{MC}/agentPools", "aks-resource-group-location/user")]
    assert isinstance(user.body["properties"]["availabilityZones"], Unknown)


def test_the_deployment_location_given_decides_as_arm_would() -> None:
    _, by = resources("location-decisions.json", location="westeurope")
    aks = by[(MC, "aks-westeurope")]
    pool = aks.body["properties"]["agentPoolProfiles"][0]
    assert pool["availabilityZones"] == ["1", "2", "3"] and pool["maxPods"] == 50 and pool["osDiskSizeGB"] == 128


def test_max_pods_decided_by_the_unknown_location_is_an_unknown_verdict() -> None:
    run = scan(HERE / "location-decisions.json")
    result = outcome_of(run, "AKS-030", "aks-resource-group-location")
    assert result.outcome == "unknown", (result.outcome, result.reason)
    assert "deployment location" in result.reason


# --- tryGet on an object only partly known -------------------------------------------------------------

def test_try_get_of_a_member_a_partly_known_object_may_have_is_unknown() -> None:
    """Bicep compiles 'x.?y' to tryGet(x, 'y'). deployment().properties has templateLink when the template is
    deployed from a URI, and reference() of a deployment has its runtime properties: tryGet answered null for
    both, as if ARM had said they are absent. Members of a wholly known object (the outputs) stay null."""
    loaded, by = resources("partly-known-tryget.json")
    props = by[(MC, "aks-tryget")].body["properties"]
    oidc = props["oidcIssuerProfile"]["enabled"]
    assert isinstance(oidc, Unknown) and "templateLink" in oidc.reason
    wi = props["securityProfile"]["workloadIdentity"]["enabled"]
    assert isinstance(wi, Unknown) and "reference('net')" in wi.reason
    net = props["networkProfile"]
    assert net == {"networkPlugin": "azure", "networkPolicy": "cilium", "networkDataplane": "cilium"}
    assert not [d for d in loaded.diagnostics if d.severity == "error"]


# --- template structure keys are case-insensitive ------------------------------------------------------

def test_template_sections_and_resource_fields_are_read_whatever_their_case() -> None:
    """ARM reads "Resources", "Properties", "Copy", "Condition", "DefaultValue" as their camelCase spellings:
    such a template deployed a cluster and four pools, and the scan read nothing from it, said nothing, and
    listed nothing in the coverage ledger."""
    loaded, by = resources("structure-case.json")
    aks = by[(MC, "aks-case")]
    props = aks.body["properties"]
    assert props["networkProfile"]["networkPolicy"] == "calico"
    assert [p["name"] for p in props["agentPoolProfiles"]] == ["sys0", "sys1"]
    assert props["agentPoolProfiles"][0]["availabilityZones"] == ["1", "2", "3"]
    pools = sorted(name for (t, name) in by if t == f"{MC}/agentPools")
    assert pools == ["aks-case/child", "aks-case/loop0", "aks-case/loop1"]
    assert by[(f"{MC}/agentPools", "aks-case/child")].body["properties"]["enableNodePublicIP"] is True
    off = [c for c in loaded.coverage if c.name == "aks-case/off"]
    assert off and off[0].reason == "not deployed: its condition is false"
    assert not loaded.diagnostics


def test_a_child_pool_in_a_capitalised_template_is_judged() -> None:
    run = scan(HERE / "structure-case.json")
    assert outcome_of(run, "AKS-011", "aks-case").outcome == "failed"  # the child pool's public node IPs


# --- a nested deployment into another resource group ---------------------------------------------------

def test_an_outer_scope_nested_deployment_deploys_into_the_group_it_names() -> None:
    """A nested deployment with resourceGroup 'rg-other' deploys its resources there, whatever its expression
    scope; with outer scope its expressions still see the parent's resourceGroup(). The cluster's id named the
    parent's group, so it was not the resource ARM creates (a diagnostic setting or pool addressed to the real
    id would not find it)."""
    _, by = resources("cross-group.json", resource_group="rg-main")
    aks = by[(MC, "aks-cross")]
    assert aks.id.endswith("/resourceGroups/rg-other/providers/Microsoft.ContainerService/managedClusters/aks-cross")
    assert aks.body["tags"]["functionsSee"] == "rg-main"
    pool = by[(f"{MC}/agentPools", "aks-cross/user")]
    assert "/resourceGroups/rg-other/" in pool.id


def test_an_inner_scope_deployment_into_another_group_does_not_know_that_groups_location() -> None:
    """--arm-location is the location of the group the template deploys to; resourceGroup().location inside a
    deployment into another group is that group's, which the scan is not told."""
    _, by = resources("cross-group.json", resource_group="rg-main", location="westeurope")
    aks = by[(MC, "aks-third")]
    assert aks.id.endswith("/resourceGroups/rg-third/providers/Microsoft.ContainerService/managedClusters/aks-third")
    assert aks.body["tags"]["functionsSee"] == "rg-third"
    zones = aks.body["properties"]["agentPoolProfiles"][0]["availabilityZones"]
    assert isinstance(zones, Unknown) and "rg-third" in zones.reason


# --- languageVersion 2.0: a module of a loop, referenced by index ---------------------------------------

def test_a_module_of_a_loop_is_referenced_by_its_symbolic_name_and_index() -> None:
    """Bicep (symbolic names) reads the outputs of module 'sizing[1]' as reference(format('sizing[{0}]', 1));
    the reference was not resolved, so maxPods was unknown although the module's output is in the template."""
    _, by = resources("module-loop.json")
    pool = by[(MC, "aks-loop")].body["properties"]["agentPoolProfiles"][0]
    assert pool["maxPods"] == 60


# --- parameter constraints as ARM checks them ----------------------------------------------------------

def test_supplied_values_outside_min_and_max_are_rejected_as_arm_rejects_them() -> None:
    """ARM rejects a deployment whose parameter value is under minValue or over maxValue (ints) or outside
    minLength/maxLength (strings, arrays); the scan used systemCount 1 against minValue 3 and judged a
    one-node system pool (AKS-033 failed) and an empty zone list, on a deployment that cannot happen."""
    loaded, by = resources("parameter-bounds.json")
    pool = by[(MC, "aks-bounds")].body["properties"]["agentPoolProfiles"][0]
    assert isinstance(pool["count"], Unknown) and "less than its minValue 3" in pool["count"].reason
    assert isinstance(pool["availabilityZones"], Unknown) and "minLength 1" in pool["availabilityZones"].reason
    errors = [d for d in loaded.diagnostics if d.severity == "error"]
    assert {d.pointer for d in errors} == {"/parameters/systemCount", "/parameters/zones"}
    assert all(d.file.endswith("parameter-bounds.json") and d.line for d in errors)


def test_allowed_values_compare_strings_without_case_as_arm_does() -> None:
    """ARM accepts 'standard' for an allowed 'Standard' (only Bicep's @allowed decorator checks case): the scan
    said ARM would reject the deployment and left the tier unknown."""
    loaded, by = resources("parameter-bounds.json")
    assert by[(MC, "aks-bounds")].body["sku"]["tier"] == "standard"
    assert not [d for d in loaded.diagnostics if "tier" in d.message]


def test_a_default_value_is_checked_against_the_parameters_constraints_as_arm_checks_it() -> None:
    """ARM validates the default value it uses as it validates a given one: a default tier 'Paid' outside the
    allowed values, or a default count under minValue, is a deployment ARM rejects. The scan used them (AKS-033
    judged a one-node system pool). A default built from the resource group's location is a stand-in,
    not the value ARM checks, and is not judged; a secure default's value never reaches the message."""
    loaded, by = resources("default-bounds.json")
    aks = by[(MC, "aks-defaults")]
    assert isinstance(aks.body["sku"]["tier"], Unknown) and "not one of its allowed values" in aks.body["sku"]["tier"].reason
    pool = aks.body["properties"]["agentPoolProfiles"][0]
    assert isinstance(pool["count"], Unknown) and "less than its minValue 3" in pool["count"].reason
    assert pool["availabilityZones"] == ["1", "2", "3"]
    assert isinstance(aks.body["location"], Placeholder)
    errors = [d for d in loaded.diagnostics if d.severity == "error"]
    assert {d.pointer for d in errors} == {"/parameters/tier/defaultValue", "/parameters/systemCount/defaultValue",
                                           "/parameters/adminPassword/defaultValue"}
    assert all(d.file.endswith("default-bounds.json") and d.line for d in errors)
    assert all("default value" in d.message and "Hunter2" not in d.message for d in errors)
    run = scan(HERE / "default-bounds.json")
    assert "Hunter2" not in repr([(r.reason, r.evidence) for r in run.results])


def test_a_decision_on_the_unknown_resource_group_or_subscription_is_unknown() -> None:
    """Without --arm-resource-group, resourceGroup().name was the text 'resource-group', so a template choosing
    its SKU tier by the group's name (endsWith(..., '-prd')) was judged as the non-production branch (AKS-041
    failed on 'Free'); the same for a decision on subscription().subscriptionId. Ids built from them still
    join (the diagnostic setting finds its cluster) and what is decided on an id alone stands."""
    run = scan(HERE / "scope-name-decisions.json")
    tier, local = outcome_of(run, "AKS-041"), outcome_of(run, "AKS-002")
    assert tier.outcome.value == "unknown" and "resource group's name" in tier.reason and \
        "--arm-resource-group" in tier.reason
    assert local.outcome.value == "unknown" and "subscription id" in local.reason
    assert outcome_of(run, "AKS-012").outcome.value == "passed"
    told = scan(HERE / "scope-name-decisions.json", resource_group="rg-payments-prd",
                subscription_id="11111111-1111-1111-1111-111111111111")
    assert outcome_of(told, "AKS-041").outcome.value == "passed"
    assert outcome_of(told, "AKS-002").outcome.value == "passed"
    rbac = outcome_of(run, "AKS-016")
    assert rbac.outcome.value == "unknown" and "--arm-tenant-id" in rbac.reason


def test_the_tenant_id_is_given_on_the_command_line(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    proc = subprocess.run([sys.executable, "-m", "aks_compliance", "scan", "--arm",
                           str(HERE / "scope-name-decisions.json"), "--arm-tenant-id",
                           "22222222-2222-2222-2222-222222222222", "--results-json", str(out), "-q"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode in (0, 1), proc.stderr
    doc = json.loads(out.read_text())
    (rbac,) = [r for r in doc["results"] if r["control_id"] == "AKS-016"]
    assert rbac["outcome"] == "passed"
    assert doc["run"]["options"]["tenant_id"] == "22222222-2222-2222-2222-222222222222"


# --- what a declaration with an unknown condition holds ------------------------------------------------

def test_resources_inside_a_deployment_or_parent_with_an_unknown_condition_share_it() -> None:
    """ARM deploys nothing a nested deployment holds when its condition is false, and no child declared
    inside a parent that is not deployed. With the condition unknown (a parameter without a value), the
    deployment carried the unknown condition and what it holds was read as deployed unconditionally."""
    _, by = resources("unknown-enclosing-condition.json")
    for key in ((MC, "aks-platform"), (f"{MC}/agentPools", "aks-maybe/user")):
        r = by[key]
        assert isinstance(r.condition, Unknown), key
        assert any("deployed only if its condition holds" in n for n in r.notes), key
    assert "deployPlatform" in by[(MC, "aks-platform")].condition.reason
    assert "deployCluster" in by[(f"{MC}/agentPools", "aks-maybe/user")].condition.reason


def test_a_stand_in_survives_copying_and_pickling_with_its_reason() -> None:
    # a sharded run pickles what it sends and the expander deep-copies bodies: a stand-in must stay one
    import copy
    import pickle

    value = Placeholder("aks-resource-group-location", "the deployment location is not known")
    for copied in (copy.deepcopy(value), pickle.loads(pickle.dumps(value)), copy.deepcopy({"name": [value]})["name"][0]):
        assert isinstance(copied, Placeholder) and copied == value and copied.reason == value.reason
