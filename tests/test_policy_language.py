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
