"""Hostile input, round eight (issue 19): variations rounds two to seven did not cover.

* integers ARM cannot hold: ``range(9223372036854775800, 100)`` built integers beyond 64 bits and the template
  passed; ARM's ``range`` takes a 32-bit start and refuses a start + count over 2147483647 (the ARM template
  function reference), so it is now an error item naming file, line and expression;
* a copy loop whose name expression fails for some instances (``copyIndex(9223372036854775807)`` overflows from
  the second instance on) gave an error item and two instances judged *passed*: ARM rejects the deployment, so
  every control of such an instance is an error naming the expression.

Every test is bounded by construction: small inputs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .conftest import scan

SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
MC = "Microsoft.ContainerService/managedClusters"


def cluster(name: str, **extra: Any) -> dict[str, Any]:
    return {"type": MC, "apiVersion": "2024-05-01", "name": name, "location": "westeurope",
            "properties": {"dnsPrefix": "x", "disableLocalAccounts": True}, **extra}


def template(resources: list[dict[str, Any]], variables: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"$schema": SCHEMA, "contentVersion": "1.0.0.0", "variables": variables or {}, "resources": resources}


def write(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(json.dumps(doc, indent=1))
    return path


# -- range: ARM's bounds, checked before the array is built --------------------------------------------------

@pytest.mark.parametrize("start,count", [(9223372036854775800, 100), (2147483647, 1), (2147483600, 48),
                                         (-2147483649, 1), (-(2 ** 70), 3)])
def test_a_range_outside_arms_bounds_is_an_error_naming_the_expression(tmp_path: Path, start: int,
                                                                       count: int) -> None:
    bad = cluster("aks-bad")
    bad["properties"]["dnsPrefix"] = "[string(length(variables('r')))]"
    write(tmp_path / "t.json", template([bad], {"r": f"[range({start}, {count})]"}))
    write(tmp_path / "good.json", template([cluster("aks-good")]))
    run = scan(tmp_path, controls=["AKS-002"])
    errors = [d for d in run.diagnostics if d.severity == "error"]
    assert any("'range'" in str(e) and "2147483647" in str(e) and f"range({start}, {count})" in str(e)
               and e.file.endswith("t.json") and e.line for e in errors), [str(e) for e in errors]
    assert {r.target.name: r.outcome.value for r in run.results if r.control_id} == {"aks-bad": "passed",
                                                                                    "aks-good": "passed"}


@pytest.mark.parametrize("start,count", [(2147483600, 47), (-2147483648, 3), (0, 10000)])
def test_a_range_inside_arms_bounds_is_built(tmp_path: Path, start: int, count: int) -> None:
    bad = cluster("aks-r")
    bad["properties"]["dnsPrefix"] = "[string(last(variables('r')))]"
    write(tmp_path / "t.json", template([bad], {"r": f"[range({start}, {count})]"}))
    run = scan(tmp_path / "t.json", controls=["AKS-002"])
    assert not run.diagnostics, [str(d) for d in run.diagnostics]


# -- an instance whose name ARM cannot evaluate is rejected, never passed ------------------------------------

NAME_FAILS = {
    "copyIndex overflow": "[concat('aks-', string(copyIndex(9223372036854775807)))]",
    "add overflow": "[concat('aks-', string(add(9223372036854775807, copyIndex())))]",
    "index out of range": "[concat('aks-', createArray('a')[copyIndex()])]",
    "division by zero": "[concat('aks-', string(div(1, max(0, sub(1, copyIndex())))))]",
}


@pytest.mark.parametrize("case", sorted(NAME_FAILS))
def test_copy_instances_whose_name_fails_are_errors_and_the_others_are_judged(tmp_path: Path, case: str) -> None:
    looped = cluster(NAME_FAILS[case], copy={"name": "c", "count": 3})
    write(tmp_path / "t.json", template([looped, cluster("aks-good")]))
    run = scan(tmp_path / "t.json", controls=["AKS-002"])
    outcomes = sorted((r.outcome.value, r.target.name.startswith("<name unresolved")) for r in run.results
                      if r.control_id)
    # one instance evaluates (its name is known and it is judged), two fail: errors naming the expression
    assert outcomes.count(("error", True)) == 2, outcomes
    assert ("passed", True) not in outcomes and ("unknown", True) not in outcomes
    assert [r.outcome.value for r in run.results if r.target.name == "aks-good"] == ["passed"]
    for r in run.results:
        if r.outcome.value == "error" and r.control_id:
            assert "name expression ARM cannot evaluate" in r.reason and "t.json:" in r.reason, r.reason
    assert any(d.severity == "error" and d.file.endswith("t.json") for d in run.diagnostics)


def test_a_child_of_a_parent_whose_name_fails_is_rejected_too(tmp_path: Path) -> None:
    pool = {"type": "agentPools", "apiVersion": "2024-05-01", "name": "pool1",
            "properties": {"mode": "User", "count": 1, "vmSize": "Standard_D4s_v5"}}
    parent = cluster("[concat('aks-', string(add(9223372036854775807, 1)))]", resources=[pool])
    write(tmp_path / "t.json", template([parent, cluster("aks-good")]))
    run = scan(tmp_path / "t.json")
    unresolved = [r for r in run.results if r.target.name.startswith("<name unresolved")]
    assert unresolved and {r.outcome.value for r in unresolved} == {"error"}, \
        sorted({(r.control_id, r.outcome.value) for r in unresolved})
    assert {r.outcome.value for r in run.results if r.target.name == "aks-good"} - {"error"}


def test_a_name_unknown_for_want_of_a_parameter_is_still_judged(tmp_path: Path) -> None:
    """Not an error: a parameter without a value is unknown offline, and the body is judged as before."""
    doc = template([cluster("[parameters('clusterName')]")])
    doc["parameters"] = {"clusterName": {"type": "string"}}
    write(tmp_path / "t.json", doc)
    run = scan(tmp_path / "t.json", controls=["AKS-002"])
    assert [r.outcome.value for r in run.results if r.control_id] == ["passed"], run.results
