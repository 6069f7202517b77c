"""Meta-tests of the catalog: ids, prose, mappings and aliases are real."""

from __future__ import annotations

import csv
import json
import re

import pytest

from aks_compliance.controls import Catalog, Control, Mappings, Severity, load_catalog
from aks_compliance.policy.aliases import KNOWN_ALIASES, conventional_path
from aks_compliance.policy.conditions import aliases_in

from .conftest import require_shared

CATALOG = load_catalog()


def test_at_least_twelve_arm_controls() -> None:
    assert len([c for c in CATALOG if c.resource_type == "Microsoft.ContainerService/managedClusters"]) >= 12


def test_ids_are_unique_and_well_formed() -> None:
    ids = [c.id for c in CATALOG]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"AKS-\d{3}", i) for i in ids)
    dup = CATALOG["AKS-001"]
    with pytest.raises(ValueError, match="declared twice"):
        Catalog([dup, dup])


@pytest.mark.parametrize("control", list(CATALOG), ids=lambda c: c.id)
def test_prose_and_rule(control: Control) -> None:
    assert len(control.title) > 10 and len(control.rationale) > 80 and len(control.remediation) > 30
    assert isinstance(control.severity, Severity)
    assert control.section
    assert sum(x is not None for x in (control.rule, control.related, control.check)) == 1, \
        "a control has exactly one way to decide"
    assert any(control.mappings.as_dict().values()), "a control maps to at least one outside reference"


def _builtins() -> dict[str, str]:
    path = require_shared("reference", "aks-builtin-policies.csv")
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    header = [h.strip().lower() for h in rows[0]]
    guid_col = next(i for i, h in enumerate(header) if "guid" in h or h == "name")
    return {r[guid_col].strip().lower(): r[0] for r in rows[1:] if len(r) > guid_col}


@pytest.mark.parametrize("control", list(CATALOG), ids=lambda c: c.id)
def test_azure_policy_mappings_are_real_builtins(control: Control) -> None:
    builtins = _builtins()
    for guid in control.mappings.azure_policy:
        assert guid.lower() in builtins, f"{control.id} maps to {guid}, which is not a known built-in"


def _alias_catalog() -> dict[str, str]:
    path = require_shared("azure-policy", "aliases", "alias-index.flat.json")
    return {k.lower(): v for k, v in json.loads(path.read_text()).items()}


def _conditions(control: Control) -> list:
    out = [c for c in (control.rule, control.applicability) if c is not None]
    if control.related is not None:
        out.append(control.related.existence_condition)
    return out


@pytest.mark.parametrize("control", list(CATALOG), ids=lambda c: c.id)
def test_aliases_are_real_unless_the_gap_is_declared(control: Control) -> None:
    catalog = _alias_catalog()
    aliases = [a for cond in _conditions(control) for a in aliases_in(cond)]
    missing = [a for a in aliases if a.lower() not in catalog]
    if control.policy_gap is None:
        assert not missing, f"{control.id} uses aliases Azure Policy does not have: {missing}"
    else:
        assert missing, f"{control.id} declares a policy gap but all its aliases exist"
    for a in aliases:
        if a.lower() in catalog:
            # our resolver must give Microsoft's path for every real alias we use
            ours = KNOWN_ALIASES.get(a.lower()) or conventional_path(a)
            assert ours and ours.lower() == catalog[a.lower()].lower(), (a, ours, catalog[a.lower()])


def test_mappings_dict_lists_only_what_applies() -> None:
    m = Mappings(cis_aks=("5.4.1",), checkov=("CKV_AZURE_6",))
    assert m.as_dict() == {"cis_aks": ["5.4.1"], "checkov": ["CKV_AZURE_6"]}
