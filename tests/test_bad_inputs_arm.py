"""Hostile and broken ARM input: each case is reported, bounded, and costs nothing else.

Every case is scanned next to a good cluster file. It must give a clear error (or unknown) naming
the file and, where there is one, the line; the good cluster must still be judged; time and memory
stay bounded.
"""

from __future__ import annotations

import json
import os
import resource
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from .conftest import FIXTURES, outcome_of, scan, write_files

SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
PARAMS_SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#"
GOOD = (FIXTURES / "controls" / "AKS-002" / "failed-enabled.json").read_text()


def template(resources: Any = None, **extra: Any) -> dict:
    t = {"$schema": SCHEMA, "contentVersion": "1.0.0.0", "resources": resources if resources is not None else []}
    t.update(extra)
    return t


def cluster(name: Any = "aks-bad", **props: Any) -> dict:
    return {"type": "Microsoft.ContainerService/managedClusters", "apiVersion": "2024-05-01", "name": name,
            "location": "westeurope", "properties": props}


def dumps(v: Any) -> str:
    return json.dumps(v, indent=1)


def nested_deployments(depth: int) -> dict:
    inner: dict = template([cluster("aks-deep", disableLocalAccounts=True)])
    for i in range(depth):
        inner = template([{"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": f"d{i}",
                           "properties": {"mode": "Incremental", "template": inner}}])
    return inner


def doubling_variables(n: int) -> dict:
    variables = {"v0": "abcdefgh"}
    for i in range(1, n):
        variables[f"v{i}"] = f"[concat(variables('v{i - 1}'), variables('v{i - 1}'))]"
    return template([cluster(dnsPrefix=f"[variables('v{n - 1}')]", disableLocalAccounts=True)], variables=variables)


def deep_expression(levels: int) -> str:
    return "[" + "concat(" * levels + "'x'" + ")" * levels + "]"


# (id, {relative path: text or bytes or callable(path)}, message substring, expects a line number)
Writer = Callable[[Path], None]
CASES: list[tuple[str, dict[str, Any], str, bool]] = [
    ("truncated", {"t.json": dumps(template([cluster()]))[:-40]}, "invalid JSON", True),
    ("garbage", {"t.json": "this is not json at all"}, "invalid JSON", True),
    ("empty-file", {"t.json": ""}, "invalid JSON", True),
    ("binary", {"t.json": bytes(range(256)) * 4}, "not valid UTF-8", True),
    ("latin-1", {"t.json": '{"resources": [], "contentVersion": "é"}'.encode("latin-1")}, "not valid UTF-8", True),
    ("huge-file", {"t.json": lambda p: _sparse(p, 100 * 1024 * 1024)}, "over the 32 MB limit", False),
    ("nested-10000", {"t.json": "[" * 10000 + "]" * 10000}, "nested too deeply", False),
    ("duplicate-key", {"t.json": '{\n "resources": [],\n "contentVersion": "1",\n "resources": []\n}'},
     "appears twice", True),
    ("float-overflow", {"t.json": '{"resources": [], "contentVersion": "1", "x": 1e999}'}, "outside the range", True),
    ("nan-literal", {"t.json": '{"resources": [], "contentVersion": "1", "x": NaN}'}, "outside the range", True),
    ("giant-integer", {"t.json": '{"resources": [], "contentVersion": "1", "x": ' + "9" * 5000 + "}"},
     "invalid JSON", False),
    ("resources-not-a-list", {"t.json": dumps(template("abc"))}, "'resources' must be an array", True),
    ("resource-not-an-object", {"t.json": dumps(template([42, cluster(disableLocalAccounts=True)]))},
     "a resource must be an object, not a number", True),  # in JSON's words, not Python's (int)
    ("resource-null", {"t.json": dumps(template([None, cluster(disableLocalAccounts=True)]))},
     "a resource must be an object, not null", True),
    ("resource-without-type", {"t.json": dumps(template([{"name": "x", "properties": {}}]))},
     "resource type must be a string", True),
    ("name-not-a-string", {"t.json": dumps(template([cluster(123)]))}, "resource name must be a string", True),
    ("unknown-function", {"t.json": dumps(template([cluster(disableLocalAccounts="[frobnicate(true())]")]))},
     "unknown function 'frobnicate'", True),
    ("misspelled-function", {"t.json": dumps(template([cluster(dnsPrefix="[concatt('a', 'b')]")]))},
     "unknown function 'concatt'", True),
    ("unbalanced-parenthesis", {"t.json": dumps(template([cluster(dnsPrefix="[concat('a', 'b']")]))},
     "expected ')'", True),
    ("unbalanced-quote", {"t.json": dumps(template([cluster(dnsPrefix="[concat('a, 'b')]")]))},
     "expression", True),
    ("unterminated-string", {"t.json": dumps(template([cluster(dnsPrefix="[concat('abc)]")]))},
     "unterminated string", True),
    ("stray-token", {"t.json": dumps(template([cluster(dnsPrefix="[concat('a') concat('b')]")]))},
     "unexpected", True),
    ("bare-identifier", {"t.json": dumps(template([cluster(dnsPrefix="[abc]")]))}, "not a function call", True),
    ("self-referencing-variable", {"t.json": dumps(template([cluster(dnsPrefix="[variables('a')]")],
                                                          variables={"a": "[variables('a')]"}))},
     "refers to itself", True),
    ("variable-cycle", {"t.json": dumps(template([cluster(dnsPrefix="[variables('a')]")],
                                                variables={"a": "[variables('b')]", "b": "[variables('c')]",
                                                           "c": "[variables('a')]"}))}, "refers to itself", True),
    ("parameter-default-cycle", {"t.json": dumps(template(
        [cluster(dnsPrefix="[parameters('p')]")],
        parameters={"p": {"type": "string", "defaultValue": "[parameters('p')]"}}))}, "refers to itself", True),
    ("exponential-concat", {"t.json": dumps(doubling_variables(64))}, "over the limit", True),
    ("huge-padleft", {"t.json": dumps(template([cluster(dnsPrefix="[padLeft('x', 1000000000, '0')]")]))},
     "over the limit", True),
    ("huge-range", {"t.json": dumps(template([cluster(dnsPrefix="[string(range(0, 1000000000))]")]))},
     "between 0 and 10000", True),
    ("huge-format-width", {"t.json": dumps(template([cluster(dnsPrefix="[format('{0,999999999}', 'x')]")]))},
     "over the limit", True),
    ("replace-blowup", {"t.json": dumps(template(
        [cluster(dnsPrefix="[replace(replace(replace(padLeft('', 1000, 'a'), 'a', padLeft('', 1000, 'a')), "
                           "'a', padLeft('', 1000, 'a')), 'a', 'b')]")]))}, "more than", True),
    ("huge-union", {"t.json": dumps(template([cluster(dnsPrefix="[string(length(union(range(0, 10000), "
                                                              "range(10000, 10000), range(20000, 10000))))]")]))},
     "not evaluated", True),
    ("deep-expression", {"t.json": dumps(template([cluster(dnsPrefix=deep_expression(500))]))},
     "nested too deeply", True),
    ("copy-count-billion", {"t.json": dumps(template([dict(cluster("[concat('aks', copyIndex())]"),
                                                          copy={"name": "c", "count": 1000000000})]))},
     "outside 0..800", True),
    ("copy-count-negative", {"t.json": dumps(template([dict(cluster("[concat('aks', copyIndex())]"),
                                                           copy={"name": "c", "count": -1})]))},
     "outside 0..800", True),
    ("copy-count-not-int", {"t.json": dumps(template([dict(cluster("[concat('aks', copyIndex())]"),
                                                          copy={"name": "c", "count": "many"})]))},
     "must be an integer", True),
    ("property-copy-billion", {"t.json": dumps(template([cluster(copy=[{"name": "agentPoolProfiles",
                                                                        "count": 1000000000, "input": {}}])]))},
     "outside 0..800", True),
    ("copyindex-outside-loop", {"t.json": dumps(template([cluster(dnsPrefix="[string(copyIndex())]")]))},
     "outside a copy loop", True),
    ("undeclared-parameter", {"t.json": dumps(template([cluster(dnsPrefix="[parameters('nope')]")]))},
     "no parameter 'nope'", True),
    ("undeclared-variable", {"t.json": dumps(template([cluster(dnsPrefix="[variables('nope')]")]))},
     "no variable 'nope'", True),
    ("substring-out-of-range", {"t.json": dumps(template([cluster(dnsPrefix="[substring('abc', 2, 5)]")]))},
     "outside the string", True),
    ("division-by-zero", {"t.json": dumps(template([cluster(dnsPrefix="[string(div(1, 0))]")]))},
     "divide by zero", True),
    ("json-of-garbage", {"t.json": dumps(template([cluster(dnsPrefix="[json('{nope')]")]))}, "not valid JSON", True),
    ("map-without-lambda", {"t.json": dumps(template([cluster(dnsPrefix="[string(map(range(0, 2), 'x'))]")]))},
     "expected a lambda", True),
    ("index-out-of-bounds", {"t.json": dumps(template([cluster(dnsPrefix="[createArray('a')[5]]")]))},
     "out of bounds", True),
    ("missing-property", {"t.json": dumps(template([cluster(dnsPrefix="[createObject('a', 1).b]")]))},
     "doesn't exist", True),
    ("condition-not-boolean", {"t.json": dumps(template([dict(cluster(), condition="[string('yes')]")]))},
     "condition must be a boolean", True),
    ("recursive-user-function", {"t.json": dumps(template(
        [cluster(dnsPrefix="[f.loop('x')]")],
        functions=[{"namespace": "f", "members": {"loop": {"parameters": [{"name": "p", "type": "string"}],
                                                            "output": {"type": "string",
                                                                       "value": "[f.loop(parameters('p'))]"}}}}]))},
     "call each other more than 32 deep", True),
    ("nested-deployments-100-deep", {"t.json": dumps(nested_deployments(100))}, "deeper than 64 levels", True),
    ("parameters-not-an-object", {"t.json": dumps(template([cluster(dnsPrefix="[parameters('p')]")],
                                                          parameters={"p": {"type": "string"}})),
                                  "t.parameters.json": dumps({"$schema": PARAMS_SCHEMA, "parameters": []})},
     "needs a 'parameters' object", True),
    ("parameter-without-value", {"t.json": dumps(template([cluster(dnsPrefix="[parameters('p')]")],
                                                         parameters={"p": {"type": "string"}})),
                                 "t.parameters.json": dumps({"$schema": PARAMS_SCHEMA,
                                                             "parameters": {"p": {"val": "x"}}})},
     "needs a 'value'", True),
    ("parameter-file-not-json", {"t.json": dumps(template([cluster(dnsPrefix="[parameters('p')]")],
                                                         parameters={"p": {"type": "string"}})),
                                 "t.parameters.json": "{ not json"}, "invalid JSON", True),
    ("parameter-wrong-type", {"t.json": dumps(template([cluster(agentPoolProfiles="[parameters('pools')]")],
                                                      parameters={"pools": {"type": "array"}})),
                              "t.parameters.json": dumps({"$schema": PARAMS_SCHEMA,
                                                          "parameters": {"pools": {"value": "[fill me in]"}}})},
     "expected an array", True),
    ("parameter-not-allowed", {"t.json": dumps(template([cluster(dnsPrefix="[parameters('env')]")],
                                                       parameters={"env": {"type": "string",
                                                                           "allowedValues": ["dev", "prod"]}})),
                               "t.parameters.json": dumps({"$schema": PARAMS_SCHEMA,
                                                           "parameters": {"env": {"value": "staging"}}})},
     "not one of its allowed values", True),
    # ARM checks every value given, whether the template reads the parameter or not
    ("unused-parameter-wrong-type", {"t.json": dumps(template([cluster()], parameters={"nodes": {"type": "int"}})),
                                     "t.parameters.json": dumps({"$schema": PARAMS_SCHEMA,
                                                                 "parameters": {"nodes": {"value": "three"}}})},
     "expected an integer", True),
    ("rest-item-not-an-object", {"t.json": dumps({"value": [1, "two"]})}, "must be an object with a 'type'", True),
    ("rest-item-without-type", {"t.json": dumps([{"name": "x", "id": "/subscriptions/x"}])},
     "must be an object with a 'type'", True),
    # (JSON that is no ARM document at all is listed as skipped in a directory: tests/test_repository_root.py)
    ("rest-list-with-a-scalar", {"t.json": dumps([{"type": "Microsoft.Network/virtualNetworks", "name": "v"}, 5])},
     "must be an object with a 'type'", True),
    ("rest-list-item-with-id-without-type", {"t.json": dumps([{"id": "/subscriptions/x/resourceGroups/y", "name": "y"},
                                                             [1, 2]])},
     "must be an object with a 'type'", True),
    ("scope-garbage", {"t.json": dumps(template([cluster(disableLocalAccounts=True),
                                                 {"type": "Microsoft.Insights/diagnosticSettings",
                                                  "apiVersion": "2021-05-01-preview", "name": "d",
                                                  "scope": "[json('{}')]", "properties": {}}]))}, "scope must be a resource id", True),
    ("linked-template-only", {"t.json": dumps(template([{"type": "Microsoft.Resources/deployments",
                                                         "apiVersion": "2022-09-01", "name": "linked",
                                                         "properties": {"mode": "Incremental",
                                                                        "templateLink": {"uri": "https://x/t.json"}}}]))},
     "linked templates are not fetched", True),
]


def _sparse(path: Path, size: int) -> None:
    with open(path, "wb") as fh:
        fh.truncate(size)


def test_there_are_at_least_60_cases_counting_the_symlink_loop() -> None:
    assert len(CASES) + 1 >= 60


@pytest.mark.parametrize("case_id,files,message,has_line", CASES, ids=[c[0] for c in CASES])
def test_bad_input(tmp_path: Path, case_id: str, files: dict, message: str, has_line: bool) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    write_files(bad, files)
    (tmp_path / "good.json").write_text(GOOD)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    run = scan(bad, tmp_path / "good.json", controls=["AKS-002"])
    elapsed = time.perf_counter() - start
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert elapsed < 10, f"{case_id} took {elapsed:.1f}s"
    assert grown_mb < 400, f"{case_id} grew the process by {grown_mb:.0f} MB"
    # the good cluster is still judged
    assert outcome_of(run, "AKS-002", "aks-fixture").outcome.value == "failed"
    reported = [d for d in run.diagnostics if d.file.startswith(str(bad))]
    unknown = [r for r in run.results if r.target.name != "aks-fixture" and r.outcome.value == "unknown"]
    assert reported or unknown, f"{case_id}: nothing reported"
    if message:
        texts = [d.message for d in reported] + [r.reason for r in unknown]
        assert any(message in t for t in texts), (case_id, texts)
    if has_line:
        assert any(d.line for d in reported if message in d.message), (case_id, [str(d) for d in reported])
    for r in run.results:
        if r.outcome.value == "error":
            assert r.target.file, r.key


def test_symlink_loop_in_an_input_directory(tmp_path: Path) -> None:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    os.symlink(inputs, inputs / "loop")
    os.symlink(tmp_path / "nowhere.json", inputs / "dangling.json")
    (inputs / "good.json").write_text(GOOD)
    start = time.perf_counter()
    run = scan(inputs, controls=["AKS-002"])
    assert time.perf_counter() - start < 10
    assert outcome_of(run, "AKS-002", "aks-fixture").outcome.value == "failed"
    assert any("dangling.json" in d.file for d in run.errors)


def test_valid_unusual_encodings_are_read(tmp_path: Path) -> None:
    (tmp_path / "bom.json").write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    (tmp_path / "utf16.json").write_bytes(GOOD.replace("aks-fixture", "aks-utf16").encode("utf-16"))
    run = scan(tmp_path, controls=["AKS-002"])
    assert not run.errors
    assert {t.resource.full_name for t in run.targets} == {"aks-fixture", "aks-utf16"}


def test_literal_bracket_strings_are_not_expressions(tmp_path: Path) -> None:
    t = template([cluster(dnsPrefix="[[not-an-expression]", disableLocalAccounts=True)])
    (tmp_path / "t.json").write_text(dumps(t))
    run = scan(tmp_path, controls=["AKS-002"])
    assert not run.errors
    assert run.targets[0].body["properties"]["dnsPrefix"] == "[not-an-expression]"
