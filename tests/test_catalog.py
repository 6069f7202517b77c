"""Meta-tests of the catalog: ids, prose, mappings, parameters and aliases are real, and the Azure-side
catalog covers what the issue's checklist asks for (CIS AKS v1.8.0 class A, PSRule for Azure's AKS
rules, Checkov's AKS checks, the ARM-level Azure Policy built-ins for AKS).

The per-control tests here cover the Azure-side controls (resource types in ARM namespaces,
AKS-001..099); the in-cluster Kubernetes controls (AKS-100..199) have their own meta-tests.
"""

from __future__ import annotations

import csv
import functools
import json
import re

import pytest

from aks_compliance.controls import Catalog, Control, Decision, Mappings, Severity, load_catalog
from aks_compliance.policy.aliases import KNOWN_ALIASES, conventional_path
from aks_compliance.policy.conditions import aliases_in

from .conftest import require_shared

CATALOG = load_catalog()


AZURE = [c for c in CATALOG if c.azure_side]
CLUSTER = "Microsoft.ContainerService/managedClusters"

# CIS AKS Benchmark v1.8.0 ids (kube-bench cfg/aks-1.8, ../shared/reference/cluster-controls.md §1)
CIS_AKS_180 = {
    "2.1.1", *(f"3.1.{i}" for i in range(1, 5)), *(f"3.2.{i}" for i in range(1, 10)),
    *(f"4.1.{i}" for i in range(1, 13)), *(f"4.2.{i}" for i in range(1, 6)), "4.4.1", "4.4.2", "4.5.1", "4.5.2",
    "4.6.1", "4.6.2", "4.6.3", "5.1.1", "5.1.2", "5.1.3", "5.1.4", "5.2.1", "5.3.1",
    *(f"5.4.{i}" for i in range(1, 6)), "5.5.1", "5.5.2",
}
# Class A (an Azure resource property tells): automated controls must cover them
CIS_CLASS_A = {"2.1.1", "5.1.1", "5.3.1", "5.4.1", "5.4.2", "5.4.3", "5.4.4", "5.5.1", "5.5.2"}
CIS_MANUAL_OK = {"5.1.2", "5.1.3"}

# PSRule for Azure's 36 Azure.AKS.* rules in Azure.Default, and the ones deliberately not mapped
PSRULE_AKS = {
    "Version", "PoolVersion", "PoolScaleSet", "NodeMinPods", "AutoScaling", "CNISubnetSize", "AvailabilityZone",
    "AuditLogs", "PlatformLogs", "MinNodeCount", "MinUserPoolNodes", "UptimeSLA", "EphemeralOSDisk", "AuditAdmin",
    "MaintenanceWindow", "Naming", "SystemPoolNaming", "UserPoolNaming", "ManagedIdentity", "StandardLB",
    "NetworkPolicy", "AzurePolicyAddOn", "ManagedAAD", "AuthorizedIPs", "LocalAccounts", "AzureRBAC", "SecretStore",
    "SecretStoreRotation", "HttpAppRouting", "AutoUpgrade", "UseRBAC", "Name", "DNSPrefix", "ContainerInsights",
    "DefenderProfile", "NodeAutoUpgrade",
}
PSRULE_NOT_MAPPED = {
    "Name": "name syntax that ARM itself rejects at deployment",
    "DNSPrefix": "DNS prefix syntax that ARM itself rejects at deployment",
}
# Checkov: the 12 ARM checks on managedClusters and the 7 Terraform-only AKS checks
CHECKOV_AKS = {f"CKV_AZURE_{n}" for n in (4, 5, 6, 7, 8, 141, 168, 169, 171, 172, 226, 227,
                                          115, 116, 117, 143, 170, 232, 246)}
# ARM-level Azure Policy built-ins for AKS posture (aks-builtin-policies.csv; DINE twins, GitOps, Fleet,
# Arc, deprecated and backup definitions left out)
AKS_POSTURE_BUILTINS = {
    "0e246bcf-5f6f-4f87-bc6f-775d4712c7ea", "040732e8-d947-40b8-95d6-854c95024bf8",
    "89f2d532-c53c-4f8f-9afa-4927b1114a0d", "993c2fcd-2b29-49d2-9eb0-df2c3a730c32",
    "ac4a19c2-fa67-49b4-8ae5-0b2e78c49457", "450d2877-ebea-41e8-b00c-e286317d21bf",
    "36a27de4-199b-40fb-b336-945a8475d6c5", "da6e2401-19da-4532-9141-fb8fbde08431",
    "2cc2e023-0dac-4046-875b-178f683929d5", "28257686-e9db-403e-b9e2-a5eecbe03da9",
    "46238e2f-3f6f-4589-9f3f-77bed4116e67", "0a15ec92-a229-4763-bb14-0ea34a568f8d",
    "a1840de2-8088-4ea8-b153-b4c723e9cb01", "245fc9df-fa96-4414-9a0b-3738c2f7341c",
    "6c66c325-74c8-42fd-a286-a74b0e2939d8", "5c345cdf-2049-47e0-b8fe-b0e96bc2df35",
    "04408ca5-aa10-42ce-8536-98955cdddd4c", "e1352e44-d34d-4e4d-a22e-451a15f759a1",
    "fb893a29-21bb-418c-a157-e99480ec364c", "41425d9f-d1a5-499a-9932-f8ed8453932c",
    "7d7be79c-23ba-4033-84dd-45e2a5ccdd67", "dbbdc317-9734-4dd8-9074-993b29c69008",
    "c5110b6e-5272-4989-9935-59ad06fdf341", "af3c26b2-6fad-493e-9236-9c68928516ab",
    "5dc99dae-cfb2-42cc-8762-9aae02b74e27", "2dec5f47-bc40-40d1-8c7d-a39d9d6808d1",
    "1c988dd6-ade4-430f-a608-2a3e5b0a6d38",
}


def _mapped(field: str) -> set[str]:
    return {x for c in AZURE for x in getattr(c.mappings, field)}


# --- the catalog as a whole ------------------------------------------------------------------------

def test_at_least_fifty_azure_side_controls() -> None:
    assert len(AZURE) >= 50
    assert len([c for c in AZURE if CLUSTER in c.resource_types]) >= 40


def test_ids_are_unique_and_well_formed() -> None:
    ids = [c.id for c in CATALOG]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"AKS-\d{3}", i) for i in ids)
    assert all(int(c.id[4:]) < 100 for c in AZURE), "Azure-side controls use AKS-001..099"
    dup = CATALOG["AKS-001"]
    with pytest.raises(ValueError, match="declared twice"):
        Catalog([dup, dup])


def test_cis_class_a_is_covered_by_automated_controls() -> None:
    automated = {cis for c in AZURE if not c.manual for cis in c.mappings.cis_aks}
    assert CIS_CLASS_A <= automated, sorted(CIS_CLASS_A - automated)
    assert CIS_MANUAL_OK <= _mapped("cis_aks"), sorted(CIS_MANUAL_OK - _mapped("cis_aks"))


def test_psrule_aks_rules_are_covered() -> None:
    mapped = {p.split(".", 2)[2] for p in _mapped("psrule") if p.startswith("Azure.AKS.")}
    assert len(PSRULE_AKS) == 36
    missing = PSRULE_AKS - mapped - set(PSRULE_NOT_MAPPED)
    assert not missing, sorted(missing)
    assert not (mapped & set(PSRULE_NOT_MAPPED)), "a rule listed as not mapped is mapped: update the list"
    assert mapped <= PSRULE_AKS | {"PodIdentity"}, sorted(mapped - PSRULE_AKS)


def test_checkov_aks_checks_are_covered() -> None:
    missing = CHECKOV_AKS - _mapped("checkov")
    assert not missing, sorted(missing)


def test_aks_posture_builtins_are_covered() -> None:
    missing = AKS_POSTURE_BUILTINS - _mapped("azure_policy")
    assert not missing, sorted(missing)


def test_neighbour_resource_types_have_controls() -> None:
    types = {t for c in AZURE for t in c.resource_types}
    for t in ("Microsoft.ContainerRegistry/registries", "Microsoft.KeyVault/vaults",
              "Microsoft.Network/applicationGateways", "Microsoft.Network/applicationGatewayWebApplicationFirewallPolicies",
              "Microsoft.Security/pricings"):
        assert t in types, t


def test_mappings_dict_lists_only_what_applies() -> None:
    m = Mappings(cis_aks=("5.4.1",), checkov=("CKV_AZURE_6",))
    assert m.as_dict() == {"cis_aks": ["5.4.1"], "checkov": ["CKV_AZURE_6"]}


# --- each Azure-side control --------------------------------------------------------------------------

@pytest.mark.parametrize("control", AZURE, ids=lambda c: c.id)
def test_prose_and_rule(control: Control) -> None:
    assert len(control.title) > 10 and len(control.rationale) > 80 and len(control.remediation) > 30
    assert isinstance(control.severity, Severity)
    assert control.section
    assert any(control.mappings.as_dict().values()), "a control maps to at least one outside reference"
    deciders = sum(x is not None for x in (control.rule, control.related, control.check))
    assert deciders <= 1, "a control has at most one way to decide"
    assert (control.decision is Decision.MANUAL) == (deciders == 0), "decision is derived from what is declared"
    # manual-ness is stated once (no rule): reports derive the label from the decision, never from the title or tags
    assert "manual" not in control.tags and "(manual)" not in control.title
    if control.manual:
        # a manual control tells the auditor how to check it, and why nothing can be evaluated
        assert "Audit:" in control.remediation, f"{control.id} is manual but gives no audit instruction"
        assert control.policy_gap and control.policy_gap.startswith("Manual"), control.policy_gap
    # the remediation names the ARM property to set and the CLI to run (or the audit command)
    assert re.search(r"\b(properties|sku|identity)\.[A-Za-z]", control.remediation) or "Audit:" in control.remediation, \
        f"{control.id}: the remediation names no ARM property"
    assert re.search(r"\baz [a-z]", control.remediation), f"{control.id}: no az CLI command in the remediation"
    assert control.references and all(r.startswith("https://") for r in control.references)


@pytest.mark.parametrize("control", AZURE, ids=lambda c: c.id)
def test_mapping_ids_are_well_formed(control: Control) -> None:
    m = control.mappings
    for cis in m.cis_aks:
        assert cis in CIS_AKS_180, f"{control.id}: {cis} is not a CIS AKS v1.8.0 id"
    for rule in m.psrule:
        assert re.fullmatch(r"Azure\.[A-Za-z]+\.[A-Za-z]+", rule), rule
    for check in m.checkov:
        assert re.fullmatch(r"CKV2?_AZURE_\d+", check), check
    for guid in m.azure_policy:
        assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", guid), guid
    for n in m.nist:
        assert re.fullmatch(r"[A-Z]{2}-\d+(\(\d+\))?", n), n
    if m.cis_aks:
        assert control.section.startswith("CIS ") or control.section, control.section


@pytest.mark.parametrize("control", AZURE, ids=lambda c: c.id)
def test_parameters_are_documented_typed_and_used(control: Control) -> None:
    kinds = {"String": str, "Array": list, "Integer": int, "Boolean": bool}
    conditions = json.dumps([control.rule, control.applicability,
                             control.related.existence_condition if control.related else None])
    for p in control.parameters:
        assert len(p.description) > 10, f"{control.id}.{p.name} is not documented"
        assert isinstance(p.default, kinds[p.type]), f"{control.id}.{p.name}: default does not fit type {p.type}"
        if p.allowed is not None and p.type == "Array":
            assert set(p.default) <= set(p.allowed), f"{control.id}.{p.name}: default outside the allowed values"
        if control.check is None:
            assert f"parameters('{p.name}')" in conditions, f"{control.id}.{p.name} is declared but never used"
    for used in re.findall(r"parameters\('([^']+)'\)", conditions):
        assert used in {p.name for p in control.parameters}, f"{control.id} uses undeclared parameter {used}"


@functools.lru_cache(maxsize=None)
def _builtins() -> dict[str, str]:
    """GUID -> name of every built-in in the reference data: the AKS CSV and the built-in definitions."""
    path = require_shared("reference", "aks-builtin-policies.csv")
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    header = [h.strip().lower() for h in rows[0]]
    guid_col = next(i for i, h in enumerate(header) if "guid" in h or h == "name")
    out = {r[guid_col].strip().lower(): r[0] for r in rows[1:] if len(r) > guid_col}
    root = require_shared("azure-policy", "builtin-policies", "policyDefinitions")
    for f in root.rglob("*.json"):
        doc = json.loads(f.read_text(encoding="utf-8-sig"))
        out.setdefault(str(doc.get("name", "")).lower(), f.name)
    return out


@pytest.mark.parametrize("control", AZURE, ids=lambda c: c.id)
def test_azure_policy_mappings_are_real_builtins(control: Control) -> None:
    builtins = _builtins()
    for guid in control.mappings.azure_policy:
        assert guid.lower() in builtins, f"{control.id} maps to {guid}, which is not a known built-in"


@functools.lru_cache(maxsize=None)
def _alias_catalog() -> dict[str, str]:
    path = require_shared("azure-policy", "aliases", "alias-index.flat.json")
    return {k.lower(): v for k, v in json.loads(path.read_text()).items()}


def _conditions(control: Control) -> list:
    out = [c for c in (control.rule, control.applicability) if c is not None]
    if control.related is not None:
        out.append(control.related.existence_condition)
    return out


@pytest.mark.parametrize("control", AZURE, ids=lambda c: c.id)
def test_aliases_are_real_unless_the_gap_is_declared(control: Control) -> None:
    catalog = _alias_catalog()
    aliases = [a for cond in _conditions(control) for a in aliases_in(cond)]
    missing = [a for a in aliases if a.lower() not in catalog]
    decided_by_condition = control.rule is not None or control.related is not None
    if control.policy_gap is None:
        assert decided_by_condition, f"{control.id} is decided in Python (or by hand): it must declare its policy gap"
        assert not missing, f"{control.id} uses aliases Azure Policy does not have: {missing}"
    elif decided_by_condition:
        # a condition-decided control can be a definition unless an alias is missing
        assert missing, f"{control.id} declares a policy gap but all its aliases exist"
    for a in aliases:
        if a.lower() in catalog:
            # our resolver must give Microsoft's path for every real alias we use
            ours = KNOWN_ALIASES.get(a.lower()) or conventional_path(a)
            assert ours and ours.lower() == catalog[a.lower()].lower(), (a, ours, catalog[a.lower()])


def test_the_alias_test_can_fail() -> None:
    catalog = _alias_catalog()
    assert "microsoft.containerservice/managedclusters/addonprofiles.httpapplicationrouting.enabled" not in catalog
    assert "microsoft.containerservice/managedclusters/disablelocalaccounts" in catalog
    # sku.tier of an application gateway is inside properties: convention alone would get it wrong
    alias = "microsoft.network/applicationgateways/sku.tier"
    assert conventional_path(alias) != catalog[alias] and KNOWN_ALIASES[alias] == catalog[alias]
