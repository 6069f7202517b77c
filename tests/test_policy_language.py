"""The condition evaluator against the 94 policy-language cases (../shared/azure-policy)."""

from __future__ import annotations

import json

import pytest

from aks_compliance.policy.aliases import CatalogAliases
from aks_compliance.policy.conditions import PolicyDefinitionError, Subject, Truth, evaluate_condition

from .conftest import SHARED, require_shared


def _cases() -> list[dict]:
    path = SHARED / "azure-policy" / "policy-language-cases.json"
    if not path.exists():
        return [{"id": "shared-missing"}]
    return json.loads(path.read_text())["cases"]


@pytest.fixture(scope="module")
def aliases() -> CatalogAliases:
    path = require_shared("azure-policy", "aliases", "alias-index.flat.json")
    return CatalogAliases(json.loads(path.read_text()))


@pytest.mark.parametrize("case", _cases(), ids=lambda c: c["id"])
def test_case(case: dict, aliases: CatalogAliases) -> None:
    require_shared("azure-policy", "policy-language-cases.json")
    try:
        verdict = evaluate_condition(case["condition"], Subject(case["resource"]), case.get("parameters") or {},
                                     aliases)
        got = {Truth.TRUE: True, Truth.FALSE: False, Truth.ERROR: "error", Truth.UNKNOWN: "unknown"}[verdict.truth]
    except PolicyDefinitionError:
        got = "invalid"
    assert got == case["expected"], f"{case['id']} {case['title']}: expected {case['expected']}, got {got}"


def test_all_94_cases_are_there() -> None:
    require_shared("azure-policy", "policy-language-cases.json")
    assert len(_cases()) == 94


def test_count_without_where_counts_unknown_members_but_not_an_unknown_array() -> None:
    from aks_compliance.values import Unknown
    pools = "Microsoft.ContainerService/managedClusters/agentPoolProfiles[*]"
    known_length = {"properties": {"agentPoolProfiles": [{"name": "a"}, Unknown("pool b is unknown")]}}
    verdict = evaluate_condition({"count": {"field": pools}, "equals": 2}, Subject(known_length))
    assert verdict.truth is Truth.TRUE
    unknown_array = {"properties": {"agentPoolProfiles": Unknown("the pools come from a parameter")}}
    verdict = evaluate_condition({"count": {"field": pools}, "equals": 2}, Subject(unknown_array))
    assert verdict.truth is Truth.UNKNOWN and "parameter" in verdict.reasons[0]
    where = {"count": {"field": pools, "where": {"field": pools + ".name", "equals": "a"}}, "equals": 1}
    assert evaluate_condition(where, Subject(known_length)).truth is Truth.UNKNOWN  # b might be 'a' too


def test_placeholder_location_decides_nothing() -> None:
    from aks_compliance.values import Placeholder
    resource = {"location": Placeholder("resource-group-location", "the deployment location is not known")}
    verdict = evaluate_condition({"field": "location", "in": ["westeurope", "northeurope"]}, Subject(resource))
    assert verdict.truth is Truth.UNKNOWN and "deployment location" in verdict.reasons[0]
