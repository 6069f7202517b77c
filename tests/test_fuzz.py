"""Property-based tests of the two evaluators: never an unexpected exception, never a hang.

The CI budget is small (AKSC_FUZZ_EXAMPLES, default 150 examples per property); a longer run:
    AKSC_FUZZ_EXAMPLES=20000 .venv/bin/pytest tests/test_fuzz.py -q
"""

from __future__ import annotations

import json
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aks_compliance.arm.context import DeploymentScope, TemplateContext
from aks_compliance.arm.expressions import Call, Index, Lit, Member, Node, parse, unparse
from aks_compliance.arm.functions import BUILTINS
from aks_compliance.arm.template import Expander
from aks_compliance.errors import ExpressionError
from aks_compliance.jsonc import JsonDocument
from aks_compliance.policy.conditions import PolicyDefinitionError, Subject, Truth, evaluate_condition
from aks_compliance.values import Unknown

EXAMPLES = int(os.environ.get("AKSC_FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=2000, suppress_health_check=[HealthCheck.too_slow],
                derandomize=os.environ.get("AKSC_FUZZ_RANDOM") != "1")

# --- ARM expressions -------------------------------------------------------------------------------

names = st.sampled_from(sorted(BUILTINS) + ["parameters", "variables", "copyindex", "resourceid",
                                            "resourcegroup", "subscription", "deployment", "reference"])
literals = st.one_of(st.integers(-10**6, 10**6), st.text(max_size=12), st.booleans(), st.none())


def expressions(depth: int = 3) -> st.SearchStrategy[Node]:
    leaf = literals.map(Lit)
    if depth == 0:
        return leaf
    sub = expressions(depth - 1)
    return st.one_of(
        leaf,
        st.builds(lambda n, a: Call(n, a, ""), names, st.lists(sub, max_size=4)),
        st.builds(Member, sub, st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)),
        st.builds(lambda o, i: Index(o, i, ""), sub, sub),
    )


def same(a: Node, b: Node) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, Lit):
        return a.value == b.value and type(a.value) is type(b.value)
    if isinstance(a, Call):
        return a.name == b.name and len(a.args) == len(b.args) and all(same(x, y) for x, y in zip(a.args, b.args))
    if isinstance(a, Member):
        return a.name == b.name and same(a.obj, b.obj)
    return same(a.obj, b.obj) and same(a.index, b.index)


def context() -> TemplateContext:
    template = {"parameters": {"p": {"type": "string", "defaultValue": "v"}, "n": {"type": "int"}},
                "variables": {"x": [1, 2, 3], "o": {"a": {"b": "c"}}}, "resources": []}
    doc = JsonDocument("fuzz.json", template, json.dumps(template))
    return TemplateContext(template, {}, DeploymentScope(), doc, "", Expander(doc))


@FUZZ
@given(st.text(max_size=80))
def test_parser_accepts_or_raises_expression_error(text: str) -> None:
    try:
        parse(text)
    except ExpressionError:
        pass


@FUZZ
@given(st.text(alphabet="()[]',.abcxyz019- ", max_size=60))
def test_parser_on_expression_like_text(text: str) -> None:
    try:
        parse(text)
    except ExpressionError:
        pass


@FUZZ
@given(expressions())
def test_unparse_parse_round_trip(node: Node) -> None:
    assert same(parse(unparse(node)), node)


@FUZZ
@given(expressions())
def test_evaluation_gives_a_value_an_unknown_or_an_expression_error(node: Node) -> None:
    ctx = context()
    text = unparse(node)
    value = ctx.eval_expression(text, "/fuzz")
    # errors become Unknown values plus a diagnostic naming the place
    if isinstance(value, Unknown):
        assert value.reason
    for d in ctx.expander.diagnostics:
        assert d.file == "fuzz.json" and d.pointer == "/fuzz"


# --- policy conditions -----------------------------------------------------------------------------

A = "Microsoft.ContainerService/managedClusters/"
fields = st.sampled_from([
    "name", "type", "location", "tags", "tags.env", "identity.type", A + "enableRBAC", A + "kubernetesVersion",
    A + "agentPoolProfiles[*].count", A + "agentPoolProfiles[*].name", A + "addonProfiles.azurePolicy.enabled",
    A + "apiServerAccessProfile.authorizedIPRanges[*]", A + "networkProfile.networkPolicy"])
operators = st.sampled_from(["equals", "notEquals", "like", "notLike", "match", "notMatch", "contains", "notContains",
                             "in", "notIn", "containsKey", "notContainsKey", "less", "lessOrEquals", "greater",
                             "greaterOrEquals", "exists", "matchInsensitively"])
operands = st.one_of(literals, st.lists(literals, max_size=3), st.sampled_from(["[field('name')]", "[concat('a', 'b')]",
                                                                                 "[parameters('x')]", "true", "*"]))
json_values = st.recursive(literals, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                            st.dictionaries(st.text(max_size=6), inner, max_size=3)),
                           max_leaves=12)


def conditions(depth: int = 2) -> st.SearchStrategy[dict]:
    leaf = st.one_of(
        st.builds(lambda f, o, v: {"field": f, o: v}, fields, operators, operands),
        st.builds(lambda o, v, w: {"value": v, o: w}, operators, operands, operands),
        st.builds(lambda o, n, w: {"count": {"field": A + "agentPoolProfiles[*]", "where": w}, o: n},
                  st.sampled_from(["equals", "greater", "less"]), st.integers(-1, 3),
                  st.builds(lambda f, o, v: {"field": f, o: v}, fields, operators, operands)),
    )
    if depth == 0:
        return leaf
    sub = conditions(depth - 1)
    return st.one_of(leaf, st.builds(lambda c: {"not": c}, sub),
                     st.builds(lambda cs: {"allOf": cs}, st.lists(sub, min_size=1, max_size=3)),
                     st.builds(lambda cs: {"anyOf": cs}, st.lists(sub, min_size=1, max_size=3)))


resources = st.fixed_dictionaries({
    "name": st.text(max_size=10), "type": st.just("Microsoft.ContainerService/managedClusters"),
    "location": st.sampled_from(["westeurope", "East US 2"]),
    "tags": st.dictionaries(st.sampled_from(["env", "owner"]), st.text(max_size=5), max_size=2),
    "properties": st.fixed_dictionaries({}, optional={
        "enableRBAC": st.one_of(st.booleans(), st.text(max_size=4)),
        "kubernetesVersion": st.sampled_from(["1.29.4", "1.30.0", 130]),
        "agentPoolProfiles": st.lists(st.fixed_dictionaries({}, optional={"name": st.text(max_size=5),
                                                                          "count": st.integers(0, 5)}), max_size=3),
        "addonProfiles": st.dictionaries(st.sampled_from(["azurepolicy", "omsagent"]),
                                         st.fixed_dictionaries({"enabled": st.booleans()}), max_size=2),
        "networkProfile": json_values,
    }),
})


@FUZZ
@given(conditions(), resources, st.dictionaries(st.just("x"), json_values, max_size=1))
def test_condition_evaluation_is_total(condition: dict, resource: dict, params: dict) -> None:
    try:
        verdict = evaluate_condition(condition, Subject(resource), params)
    except PolicyDefinitionError:
        return
    assert verdict.truth in Truth
    if verdict.truth in (Truth.UNKNOWN, Truth.ERROR):
        assert verdict.reasons


@FUZZ
@given(conditions(), resources)
def test_double_negation_and_excluded_middle(condition: dict, resource: dict) -> None:
    try:
        base = evaluate_condition(condition, Subject(resource)).truth
    except PolicyDefinitionError:
        return
    assert evaluate_condition({"not": {"not": condition}}, Subject(resource)).truth is base
    assert evaluate_condition({"allOf": [condition]}, Subject(resource)).truth is base
    either = evaluate_condition({"anyOf": [condition, {"not": condition}]}, Subject(resource)).truth
    assert either is (Truth.TRUE if base in (Truth.TRUE, Truth.FALSE) else base)
