"""The ARM template function library checked against Microsoft's documented example outputs.

Each group cites the reference page (https://learn.microsoft.com/azure/azure-resource-manager/templates/
<page>) whose example templates and output tables the cases come from; the example templates themselves
are in github.com/Azure/azure-docs-json-samples (azure-resource-manager/functions/...). Parameters and
variables the examples declare are declared here the same way, so ``parameters('x')`` and
``variables('x')`` go through the template context as they would in a deployment.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest

from aks_compliance.arm.context import DeploymentScope, TemplateContext
from aks_compliance.arm.expressions import Call, Index, Member, evaluate, literal_or_expression, parse
from aks_compliance.arm.template import Expander
from aks_compliance.errors import ExpressionError
from aks_compliance.jsonc import JsonDocument
from aks_compliance.values import Unknown

SUB = "00000000-0000-0000-0000-000000000000"
RG = "examplegroup"
# The utcNow() example output on template-functions-date (20190305T175318Z).
NOW = dt.datetime(2019, 3, 5, 17, 53, 18, tzinfo=dt.timezone.utc)


def scope() -> DeploymentScope:
    return DeploymentScope(subscription_id=SUB, resource_group=RG, location="westus",
                           deployment_name="deployment", now=NOW)


def template(params: dict[str, Any] | None = None, variables: dict[str, Any] | None = None,
             **extra: Any) -> dict[str, Any]:
    """A template declaring ``params`` (name -> default value) and ``variables``."""
    tpl: dict[str, Any] = {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "parameters": {k: {"type": _param_type(v), "defaultValue": v} for k, v in (params or {}).items()},
        "variables": dict(variables or {}),
        "resources": [],
    }
    tpl.update(extra)
    return tpl


def _param_type(v: Any) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return "string"


def context(tpl: dict[str, Any] | None = None) -> TemplateContext:
    tpl = tpl if tpl is not None else template()
    doc = JsonDocument("t.json", tpl, json.dumps(tpl))
    return TemplateContext(tpl, {}, scope(), doc, "", Expander(doc))


def ev(expr: str, tpl: dict[str, Any] | None = None) -> Any:
    """Evaluate a template string value (``"[...]"``) as the engine does; any error fails the test."""
    ctx = context(tpl)
    value = ctx.eval_value(expr, "")
    assert not ctx.expander.diagnostics, [d.message for d in ctx.expander.diagnostics]
    return value


def ev_default(expr: str) -> Any:
    """``ev`` of an expression ARM allows only in a parameter's default value (utcNow(), newGuid()), there."""
    return ev("[parameters('value')]", template(params={"value": expr}))


def raises(expr: str, tpl: dict[str, Any] | None = None) -> ExpressionError:
    """The ExpressionError evaluating ``expr`` (without brackets) raises."""
    with pytest.raises(ExpressionError) as info:
        evaluate(parse(expr), context(tpl))
    return info.value


def same(actual: Any, expected: Any) -> bool:
    """Equality that also tells booleans from integers (True == 1 in Python, not in ARM)."""
    if type(actual) is not type(expected) and not (isinstance(actual, (int, float))
                                                   and isinstance(expected, (int, float))
                                                   and not isinstance(actual, bool)
                                                   and not isinstance(expected, bool)):
        return False
    if isinstance(expected, dict):
        return actual.keys() == expected.keys() and all(same(actual[k], expected[k]) for k in expected)
    if isinstance(expected, list):
        return len(actual) == len(expected) and all(same(a, b) for a, b in zip(actual, expected))
    return actual == expected


# --- string functions: template-functions-string -----------------------------------------------------

STRING_TPL = template(
    params={
        # base64.json
        "stringData": "one, two, three",
        "jsonFormattedData": "{'one': 'a', 'two': 'b'}",
        # datauri.json
        "stringToTest": "Hello",
        "dataFormattedString": "data:;base64,SGVsbG8sIFdvcmxkIQ==",
        # format.json
        "greeting": "Hello",
        "name": "User",
        "numberToFormat": 8175133,
        # replace.json / padleft.json / substring.json / trim.json / tolower.json / skip.json / take.json
        "testString": "123-123-1234",
        "padString": "123",
        "substringString": "one two three",
        "trimString": "    one two three   ",
        "caseString": "One Two Three",
        # split.json
        "firstString": "one,two,three",
        "secondString": "one;two,three",
        # string.json
        "testObject": {"valueA": 10, "valueB": "Example Text"},
        "testArray": ["a", "b", "c"],
        "testInt": 5,
        # first.json / last.json / skip.json / take.json
        "arrayToTest": ["one", "two", "three"],
    },
    variables={
        "delimiters": [",", ";"],
        "arrayString": ["one", "two", "three"],
        "uriFormat": "[uri('http://contoso.com/resources/', 'nested/azuredeploy.json')]",
        "uriEncoded": "[uriComponent(variables('uriFormat'))]",
    },
)

STRING_CASES = [
    # base64 / base64ToString / base64ToJson (base64.json)
    ("[base64(parameters('stringData'))]", "b25lLCB0d28sIHRocmVl"),
    ("[base64ToString(base64(parameters('stringData')))]", "one, two, three"),
    ("[base64ToJson(base64(parameters('jsonFormattedData')))]", {"one": "a", "two": "b"}),
    # dataUri / dataUriToString (datauri.json)
    ("[dataUri(parameters('stringToTest'))]", "data:text/plain;charset=utf8;base64,SGVsbG8="),
    ("[dataUriToString(parameters('dataFormattedString'))]", "Hello, World!"),
    # format (format.json); "{0:D3}" is the .NET composite format the page refers to
    ("[format('{0}, {1}. Formatted number: {2:N0}', parameters('greeting'), parameters('name'), "
     "parameters('numberToFormat'))]", "Hello, User. Formatted number: 8,175,133"),
    ("[format('{0:D3}', 7)]", "007"),
    ("[format('vm-{0:D3}-{1}', 42, 'x')]", "vm-042-x"),
    ("[format('{{literal}} {0}', 'x')]", "{literal} x"),
    # padLeft (padleft.json); an int is padded too; a longer value is left alone
    ("[padLeft(parameters('padString'), 10, '0')]", "0000000123"),
    ("[padLeft(123, 5, '0')]", "00123"),
    ("[padLeft('abcdef', 3, '0')]", "abcdef"),
    ("[padLeft('ab', 4)]", "  ab"),
    # replace (replace.json)
    ("[replace(parameters('testString'), '-', '')]", "1231231234"),
    ("[replace(parameters('testString'), '1234', 'xxxx')]", "123-123-xxxx"),
    # substring (substring.json)
    ("[substring(parameters('substringString'), 4, 3)]", "two"),
    ("[substring('abc', 1)]", "bc"),
    ("[substring('abc', 3, 0)]", ""),
    # split (split.json)
    ("[split(parameters('firstString'), ',')]", ["one", "two", "three"]),
    ("[split(parameters('secondString'), variables('delimiters'))]", ["one", "two", "three"]),
    # join (join.json)
    ("[join(variables('arrayString'), ',')]", "one,two,three"),
    ("[join(variables('arrayString'), ';')]", "one;two;three"),
    # toLower / toUpper (tolower.json), trim (trim.json)
    ("[toLower(parameters('caseString'))]", "one two three"),
    ("[toUpper(parameters('caseString'))]", "ONE TWO THREE"),
    ("[trim(parameters('trimString'))]", "one two three"),
    # startsWith / endsWith are case-insensitive (startsendswith.json)
    ("[startsWith('abcdef', 'ab')]", True),
    ("[startsWith('abcdef', 'A')]", True),
    ("[startsWith('abcdef', 'e')]", False),
    ("[endsWith('abcdef', 'ef')]", True),
    ("[endsWith('abcdef', 'F')]", True),
    ("[endsWith('abcdef', 'e')]", False),
    # indexOf / lastIndexOf on strings are case-insensitive (indexof.json)
    ("[indexOf('test', 't')]", 0),
    ("[lastIndexOf('test', 't')]", 3),
    ("[indexOf('abcdef', 'CD')]", 2),
    ("[lastIndexOf('abcdef', 'AB')]", 0),
    ("[indexOf('abcdef', 'z')]", -1),
    # string (string.json); booleans print as .NET does
    ("[string(parameters('testObject'))]", '{"valueA":10,"valueB":"Example Text"}'),
    ("[string(parameters('testArray'))]", '["a","b","c"]'),
    ("[string(parameters('testInt'))]", "5"),
    ("[string(true())]", "True"),
    ("[string(false())]", "False"),
    ("[string('already')]", "already"),
    # uri / uriComponent / uriComponentToString (uri.json and the page's trailing-slash rules)
    ("[variables('uriFormat')]", "http://contoso.com/resources/nested/azuredeploy.json"),
    ("[variables('uriEncoded')]", "http%3A%2F%2Fcontoso.com%2Fresources%2Fnested%2Fazuredeploy.json"),
    ("[uriComponentToString(variables('uriEncoded'))]", "http://contoso.com/resources/nested/azuredeploy.json"),
    ("[uri('http://contoso.org/firstpath', 'myscript.sh')]", "http://contoso.org/myscript.sh"),
    ("[uri('http://contoso.org/firstpath/', 'myscript.sh')]", "http://contoso.org/firstpath/myscript.sh"),
    ("[uri('http://contoso.org/firstpath/azuredeploy.json', 'myscript.sh')]",
     "http://contoso.org/firstpath/myscript.sh"),
    ("[uri('http://contoso.org/firstpath/azuredeploy.json/', 'myscript.sh')]",
     "http://contoso.org/firstpath/azuredeploy.json/myscript.sh"),
    # empty (empty.json), first / last (first.json, last.json), length (length.json)
    ("[empty('')]", True),
    ("[empty('a')]", False),
    ("[first(parameters('arrayToTest'))]", "one"),
    ("[first('One Two Three')]", "O"),
    ("[last(parameters('arrayToTest'))]", "three"),
    ("[last('One Two Three')]", "e"),
    ("[length('One Two Three')]", 13),
    # skip / take (skip.json, take.json); out-of-range counts as the parameter table describes
    ("[skip(parameters('arrayToTest'), 2)]", ["three"]),
    ("[skip(parameters('substringString'), 4)]", "two three"),
    ("[skip(parameters('arrayToTest'), 0)]", ["one", "two", "three"]),
    ("[skip(parameters('arrayToTest'), -1)]", ["one", "two", "three"]),
    ("[skip('abc', 10)]", ""),
    ("[take(parameters('arrayToTest'), 2)]", ["one", "two"]),
    ("[take(parameters('substringString'), 2)]", "on"),
    ("[take(parameters('arrayToTest'), -1)]", []),
    ("[take('abc', 10)]", "abc"),
    # concat of strings
    ("[concat('prefix', '-', 'suffix')]", "prefix-suffix"),
]


@pytest.mark.parametrize("expr,expected", [pytest.param(e, x, id=e) for e, x in STRING_CASES])
def test_string_functions(expr: str, expected: Any) -> None:
    assert same(ev(expr, STRING_TPL), expected)


def test_substring_beyond_the_end_fails() -> None:
    # template-functions-string, substring remarks: the example with length 11 on "1234567890" fails.
    err = raises("substring('1234567890', 0, 11)")
    assert "substring" in str(err)
    raises("substring('1234567890', 0, -1)")
    raises("substring('1234567890', 11)")


# uniqueString: 13 base-32 characters of ARM's 64-bit MurmurHash over the arguments joined with '-'.
@pytest.mark.parametrize("args,expected", [
    (["test"], "rbgf3xv4ufgzg"),
    (["hello", "world"], "a7wkljktk6wne"),
    (["abc"], "cgtzqvhu4i23s"),
    (["/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/my-rg"], "bmg7c6xu4tw46"),
    (["foo", "bar", "baz"], "xzi4ioaxtmth4"),
])
def test_unique_string_vectors(args: list[str], expected: str) -> None:
    expr = "[uniqueString(" + ", ".join(f"'{a}'" for a in args) + ")]"
    assert ev(expr) == expected


def test_unique_string_of_resource_group_id() -> None:
    # template-functions-string, uniqueString: "[uniqueString(resourceGroup().id)]" scopes to the group.
    tpl = template()
    doc = JsonDocument("t.json", tpl, "{}")
    ctx = TemplateContext(tpl, {}, DeploymentScope(subscription_id=SUB, resource_group="my-rg"), doc, "",
                          Expander(doc))
    assert ctx.eval_value("[uniqueString(resourceGroup().id)]", "") == "bmg7c6xu4tw46"


# guid: a version-5 UUID in ARM's namespace over the arguments joined with '-' (the page documents
# the scoping examples; no fixed output is documented, so the UUIDv5 definition is the reference).
_ARM_GUID_NS = uuid.UUID("11fb06fb-712d-4ddd-98c7-e71bbd588830")


@pytest.mark.parametrize("expr,name", [
    ("[guid('test')]", "test"),
    ("[guid('a', 'b', 'c')]", "a-b-c"),
    ("[guid(subscription().subscriptionId)]", SUB),
    ("[guid(resourceGroup().id)]", f"/subscriptions/{SUB}/resourceGroups/{RG}"),
    ("[guid(resourceGroup().id, deployment().name)]", f"/subscriptions/{SUB}/resourceGroups/{RG}-deployment"),
])
def test_guid(expr: str, name: str) -> None:
    value = ev(expr)
    assert value == str(uuid.uuid5(_ARM_GUID_NS, name))
    assert len(value) == 36 and uuid.UUID(value).version == 5


def test_guid_depends_on_argument_order() -> None:
    assert ev("[guid('a', 'b')]") != ev("[guid('b', 'a')]")


# --- array functions: template-functions-array -------------------------------------------------------

ARRAY_TPL = template(
    params={
        # array.json
        "intToConvert": 1,
        "stringToConvert": "efgh",
        "objectToConvert": {"a": "b", "c": "d"},
        # concat-array.json
        "firstArray": ["1-1", "1-2", "1-3"],
        "secondArray": ["2-1", "2-2", "2-3"],
        # contains.json / createarray.json
        "stringToTest": "OneTwoThree",
        "objectToTest": {"one": "a", "two": "b", "three": "c"},
        "arrayToTest": ["one", "two", "three"],
        # empty.json
        "testArray": [],
        "testObject": {},
        "testString": "",
        # intersection.json
        "firstObject": {"one": "a", "two": "b", "three": "c"},
        "secondObject": {"one": "a", "two": "z", "three": "c"},
        "secondArrayForIntersection": ["two", "three"],
        # max.json / min.json
        "numbers": [0, 3, 2, 5, 4],
        # range.json
        "startingInt": 5,
        "numberOfElements": 3,
    },
    variables={
        # indexof example on the array page
        "names": ["one", "two", "three"],
        "numbers": [4, 5, 6],
        "collection": ["[variables('names')]", "[variables('numbers')]"],
        "duplicates": [1, 2, 3, 1],
    },
)

ARRAY_CASES = [
    # array (array.json)
    ("[array(parameters('intToConvert'))]", [1]),
    ("[array(parameters('stringToConvert'))]", ["efgh"]),
    ("[array(parameters('objectToConvert'))]", [{"a": "b", "c": "d"}]),
    ("[array(parameters('arrayToTest'))]", ["one", "two", "three"]),
    # concat of arrays (concat-array.json)
    ("[concat(parameters('firstArray'), parameters('secondArray'))]",
     ["1-1", "1-2", "1-3", "2-1", "2-2", "2-3"]),
    # contains (contains.json): strings case-sensitive, object keys case-insensitive
    ("[contains(parameters('stringToTest'), 'e')]", True),
    ("[contains(parameters('stringToTest'), 'z')]", False),
    ("[contains(parameters('stringToTest'), 'one')]", False),
    ("[contains(parameters('objectToTest'), 'one')]", True),
    ("[contains(parameters('objectToTest'), 'ONE')]", True),
    ("[contains(parameters('objectToTest'), 'a')]", False),
    ("[contains(parameters('arrayToTest'), 'three')]", True),
    ("[contains(parameters('arrayToTest'), 'four')]", False),
    ("[contains(parameters('arrayToTest'), 'Three')]", False),
    ("[contains(createArray(1, 2), 2)]", True),
    ("[contains(createArray(1, 2), '2')]", False),
    # createArray (createarray.json)
    ("[createArray('a', 'b', 'c')]", ["a", "b", "c"]),
    ("[createArray(1, 2, 3)]", [1, 2, 3]),
    ("[createArray(parameters('objectToTest'))]", [{"one": "a", "two": "b", "three": "c"}]),
    ("[createArray(parameters('arrayToTest'))]", [["one", "two", "three"]]),
    ("[createArray()]", []),
    # empty (empty.json)
    ("[empty(parameters('testArray'))]", True),
    ("[empty(parameters('testObject'))]", True),
    ("[empty(parameters('testString'))]", True),
    ("[empty(parameters('arrayToTest'))]", False),
    # flatten (flatten example on the array page)
    ("[flatten(createArray(createArray('one', 'two'), createArray('three'), createArray('four', 'five')))]",
     ["one", "two", "three", "four", "five"]),
    # indexOf / lastIndexOf on arrays: exact (case-sensitive, typed) matches
    ("[lastIndexOf(variables('names'), 'two')]", 1),
    ("[indexOf(variables('names'), 'one')]", 0),
    ("[lastIndexOf(variables('names'), 'Three')]", -1),
    ("[lastIndexOf(variables('numbers'), 4)]", 0),
    ("[indexOf(variables('numbers'), 6)]", 2),
    ("[lastIndexOf(variables('numbers'), '5')]", -1),
    ("[indexOf(variables('collection'), variables('numbers'))]", 1),
    ("[indexOf(variables('duplicates'), 1)]", 0),
    ("[lastIndexOf(variables('duplicates'), 1)]", 3),
    # intersection (intersection.json)
    ("[intersection(parameters('firstObject'), parameters('secondObject'))]", {"one": "a", "three": "c"}),
    ("[intersection(parameters('arrayToTest'), parameters('secondArrayForIntersection'))]", ["two", "three"]),
    # length (length.json)
    ("[length(parameters('arrayToTest'))]", 3),
    ("[length(createObject('propA', 'one', 'propB', 'two', 'propC', 'three', 'propD', "
     "createObject('propD-1', 'sub', 'propD-2', 'sub')))]", 4),
    # max / min (max.json, min.json)
    ("[max(parameters('numbers'))]", 5),
    ("[max(0, 3, 2, 5, 4)]", 5),
    ("[min(parameters('numbers'))]", 0),
    ("[min(0, 3, 2, 5, 4)]", 0),
    # range (range.json)
    ("[range(parameters('startingInt'), parameters('numberOfElements'))]", [5, 6, 7]),
    ("[range(0, 0)]", []),
    # first / last on an empty array
    ("[first(createArray())]", None),
]


@pytest.mark.parametrize("expr,expected", [pytest.param(e, x, id=e) for e, x in ARRAY_CASES])
def test_array_functions(expr: str, expected: Any) -> None:
    assert same(ev(expr, ARRAY_TPL), expected)


# --- object functions: template-functions-object -----------------------------------------------------

OBJECT_TPL = template(
    params={
        # union.json
        "firstObject": {"one": "a", "two": "b", "three": "c1"},
        "secondObject": {"three": "c2", "four": "d", "five": "e"},
        "firstArray": ["one", "two", "three"],
        "secondArray": ["three", "four"],
        # json.json; "[[" escapes the leading bracket of a literal string
        "jsonEmptyObject": "null",
        "jsonObject": '{"a": "b"}',
        "jsonString": '"test"',
        "jsonBoolean": "true",
        "jsonInt": "3",
        "jsonArray": "[[1,2,3 ]",
        "concatValue": "demo value",
        # coalesce.json (comparison page)
        "objectToTest": {"null1": None, "null2": None, "string": "default", "int": 1,
                         "object": {"first": "default"}, "array": [1]},
    },
    variables={
        # the deep merge example of union
        "deepFirstObject": {"property": {"one": "a", "two": "b", "three": "c1"}, "nestedArray": [1, 2]},
        "deepSecondObject": {"property": {"three": "c2", "four": "d", "five": "e"}, "nestedArray": [3, 4]},
        "deepFirstArray": [["one", "two"], ["three"]],
        "deepSecondArray": [["three"], ["four", "two"]],
        # the items example
        "entities": {
            "item002": {"enabled": False, "displayName": "Example item 2", "number": 200},
            "item001": {"enabled": True, "displayName": "Example item 1", "number": 300},
        },
        # the shallowMerge example
        "shallowFirst": [{"one": "a"}, {"two": "b"}, {"two": "c"}],
        "shallowSecond": [{"one": "a", "nested": {"a": 1, "nested": {"c": 3}}}, {"two": "b", "nested": {"b": 2}}],
        # the tryGet example
        "users": {"name": "John Doe", "age": 30},
    },
)

OBJECT_CASES = [
    # union (union.json and the deep merge example): objects merge recursively, arrays don't
    ("[union(parameters('firstObject'), parameters('secondObject'))]",
     {"one": "a", "two": "b", "three": "c2", "four": "d", "five": "e"}),
    ("[union(parameters('firstArray'), parameters('secondArray'))]", ["one", "two", "three", "four"]),
    ("[union(variables('deepFirstObject'), variables('deepSecondObject'))]",
     {"property": {"one": "a", "two": "b", "three": "c2", "four": "d", "five": "e"}, "nestedArray": [3, 4]}),
    ("[union(variables('deepFirstArray'), variables('deepSecondArray'))]",
     [["one", "two"], ["three"], ["four", "two"]]),
    # createObject (createobject.json)
    ("[createObject('intProp', 1, 'stringProp', 'abc', 'boolProp', true(), 'arrayProp', "
     "createArray('a', 'b', 'c'), 'objectProp', createObject('key1', 'value1'))]",
     {"intProp": 1, "stringProp": "abc", "boolProp": True, "arrayProp": ["a", "b", "c"],
      "objectProp": {"key1": "value1"}}),
    ("[createObject()]", {}),
    # json (json.json)
    ("[empty(json(parameters('jsonEmptyObject')))]", True),
    ("[json(parameters('jsonObject'))]", {"a": "b"}),
    ("[json(parameters('jsonString'))]", "test"),
    ("[json(parameters('jsonBoolean'))]", True),
    ("[json(parameters('jsonInt'))]", 3),
    ("[json(parameters('jsonArray'))]", [1, 2, 3]),
    ("[json(concat('{\"a\": \"', parameters('concatValue'), '\"}'))]", {"a": "demo value"}),
    ("[json('null')]", None),
    # null (null.json)
    ("[empty(null())]", True),
    # items: an array of key/value objects sorted by key
    ("[items(variables('entities'))]",
     [{"key": "item001", "value": {"enabled": True, "displayName": "Example item 1", "number": 300}},
      {"key": "item002", "value": {"enabled": False, "displayName": "Example item 2", "number": 200}}]),
    ("[items(variables('entities'))[0].value.displayName]", "Example item 1"),
    # objectKeys
    ("[objectKeys(createObject('a', 1, 'b', 2))]", ["a", "b"]),
    # shallowMerge: later objects replace whole top-level values
    ("[shallowMerge(variables('shallowFirst'))]", {"one": "a", "two": "c"}),
    ("[shallowMerge(variables('shallowSecond'))]", {"one": "a", "nested": {"b": 2}, "two": "b"}),
    # tryGet: the value, or null when the key is missing
    ("[tryGet(variables('users'), 'name')]", "John Doe"),
    ("[tryGet(variables('users'), 'address')]", None),
    # length of an object counts root-level properties (length.json)
    ("[length(parameters('firstObject'))]", 3),
]


@pytest.mark.parametrize("expr,expected", [pytest.param(e, x, id=e) for e, x in OBJECT_CASES])
def test_object_functions(expr: str, expected: Any) -> None:
    assert same(ev(expr, OBJECT_TPL), expected)


def test_items_key_order_is_sorted() -> None:
    keys = [e["key"] for e in ev("[items(createObject('b', 1, 'c', 2, 'a', 3))]")]
    assert keys == ["a", "b", "c"]


def test_json_accepts_single_quoted_strings() -> None:
    # base64.json decodes "{'one': 'a', 'two': 'b'}" to an object: ARM's JSON reader accepts single quotes.
    assert ev("[json('{''one'': ''a'', ''two'': \"it''s\"}')]") == {"one": "a", "two": "it's"}
    raises("json('{not json')")


# --- comparison functions: template-functions-comparison ---------------------------------------------

COMPARISON_TPL = template(params={
    "firstInt": 1, "secondInt": 2, "firstString": "A", "secondString": "a",
    "objectToTest": {"null1": None, "null2": None, "string": "default", "int": 1,
                     "object": {"first": "default"}, "array": [1]},
})

COMPARISON_CASES = [
    # coalesce (coalesce.json)
    ("[coalesce(parameters('objectToTest').null1, parameters('objectToTest').null2, "
     "parameters('objectToTest').string)]", "default"),
    ("[coalesce(parameters('objectToTest').null1, parameters('objectToTest').null2, "
     "parameters('objectToTest').int)]", 1),
    ("[coalesce(parameters('objectToTest').null1, parameters('objectToTest').null2, "
     "parameters('objectToTest').object)]", {"first": "default"}),
    ("[coalesce(parameters('objectToTest').null1, parameters('objectToTest').null2, "
     "parameters('objectToTest').array)]", [1]),
    ("[empty(coalesce(parameters('objectToTest').null1, parameters('objectToTest').null2))]", True),
    ("[coalesce('', 'x')]", ""),
    # equals (equals.json, not-equals.json): deep, typed, case-sensitive for strings
    ("[equals(1, 1)]", True),
    ("[equals('a', 'a')]", True),
    ("[equals(createArray('a', 'b'), createArray('a', 'b'))]", True),
    ("[equals(createObject('a', 'b'), createObject('a', 'b'))]", True),
    ("[not(equals(1, 2))]", True),
    ("[equals('a', 'A')]", False),
    ("[equals(1, '1')]", False),
    ("[equals(createArray('a', 'b'), createArray('b', 'a'))]", False),
    ("[equals(createObject('a', createArray(1, 2)), createObject('a', createArray(1, 2)))]", True),
    ("[equals(createObject('a', createArray(1, 2)), createObject('a', createArray(1, 3)))]", False),
    ("[equals(true(), 1)]", False),
    # greater / greaterOrEquals / less / lessOrEquals (greater.json ... lessorequals.json):
    # with default values 1 vs 2 and 'A' vs 'a'
    ("[greater(parameters('firstInt'), parameters('secondInt'))]", False),
    ("[greater(parameters('firstString'), parameters('secondString'))]", True),
    ("[greaterOrEquals(parameters('firstInt'), parameters('secondInt'))]", False),
    ("[greaterOrEquals(parameters('firstString'), parameters('secondString'))]", True),
    ("[less(parameters('firstInt'), parameters('secondInt'))]", True),
    ("[less(parameters('firstString'), parameters('secondString'))]", False),
    ("[lessOrEquals(parameters('firstInt'), parameters('secondInt'))]", True),
    ("[lessOrEquals(parameters('firstString'), parameters('secondString'))]", False),
    # ordering is alphabetical first, case only breaks ties
    ("[less('a', 'B')]", True),
    ("[less('B', 'c')]", True),
    ("[greater('b', 'A')]", True),
    ("[lessOrEquals('a', 'a')]", True),
    ("[greaterOrEquals(2, 2)]", True),
    ("[less(10, 9)]", False),
]


@pytest.mark.parametrize("expr,expected", [pytest.param(e, x, id=e) for e, x in COMPARISON_CASES])
def test_comparison_functions(expr: str, expected: Any) -> None:
    assert same(ev(expr, COMPARISON_TPL), expected)


def test_comparing_a_string_with_an_int_fails() -> None:
    raises("less('1', 2)")


# --- logical functions: template-functions-logical ---------------------------------------------------

LOGICAL_CASES = [
    # andornot.json
    ("[and(bool('true'), bool('false'))]", False),
    ("[or(bool('true'), bool('false'))]", True),
    ("[not(bool('true'))]", False),
    ("[and(true(), true(), true())]", True),
    ("[or(false(), false(), true())]", True),
    # bool.json
    ("[bool('true')]", True),
    ("[bool('false')]", False),
    ("[bool(1)]", True),
    ("[bool(0)]", False),
    # if.json
    ("[if(equals('a', 'a'), 'yes', 'no')]", "yes"),
    ("[if(equals('a', 'b'), 'yes', 'no')]", "no"),
    ("[if(equals('a', 'a'), json('{\"test\": \"value1\"}'), json('null'))]", {"test": "value1"}),
    # "When the condition is True, only the true value is evaluated" (if remarks)
    ("[if(true(), 'a', substring('x', 5, 1))]", "a"),
    ("[if(false(), substring('x', 5, 1), 'b')]", "b"),
    ("[if(false(), reference('missing').x, 'b')]", "b"),
    # true.json / false.json
    ("[true()]", True),
    ("[false()]", False),
]


@pytest.mark.parametrize("expr,expected", [pytest.param(e, x, id=e) for e, x in LOGICAL_CASES])
def test_logical_functions(expr: str, expected: Any) -> None:
    assert same(ev(expr), expected)


def test_if_with_an_unknown_condition_is_unknown() -> None:
    value = ev("[if(equals(reference('x').state, 'on'), 'a', 'b')]")
    assert isinstance(value, Unknown) and "reference('x')" in value.reason


# --- numeric functions: template-functions-numeric ---------------------------------------------------

NUMERIC_TPL = template(params={"first": 8, "second": 3, "stringToConvert": "4"})

NUMERIC_CASES = [
    ("[add(5, 3)]", 8),  # add.json
    ("[sub(7, 3)]", 4),  # sub.json
    ("[mul(5, 3)]", 15),  # mul.json
    ("[div(parameters('first'), parameters('second'))]", 2),  # div.json
    ("[mod(7, 3)]", 1),  # mod.json
    ("[int(parameters('stringToConvert'))]", 4),  # int.json
    ("[float('3.0')]", 3.0),  # float examples
    ("[float(3)]", 3.0),
    # integer division truncates toward zero, and the remainder takes the dividend's sign (.NET)
    ("[div(-7, 2)]", -3),
    ("[div(7, -2)]", -3),
    ("[div(-7, -2)]", 3),
    ("[mod(-7, 2)]", -1),
    ("[mod(7, -2)]", 1),
    ("[mod(-7, -2)]", -1),
    ("[add(-1, 2)]", 1),
    ("[sub(2, 5)]", -3),
    ("[mul(-4, 3)]", -12),
]


@pytest.mark.parametrize("expr,expected", [pytest.param(e, x, id=e) for e, x in NUMERIC_CASES])
def test_numeric_functions(expr: str, expected: Any) -> None:
    assert same(ev(expr, NUMERIC_TPL), expected)


def test_division_by_zero_fails() -> None:
    raises("div(1, 0)")
    raises("mod(1, 0)")


# --- lambda functions: template-functions-lambda -----------------------------------------------------

DOGS = [
    {"name": "Evie", "age": 5, "interests": ["Ball", "Frisbee"]},
    {"name": "Casper", "age": 3, "interests": ["Other dogs"]},
    {"name": "Indy", "age": 2, "interests": ["Butter"]},
    {"name": "Kira", "age": 8, "interests": ["Rubs"]},
]
DOGS_WITH_PROPERTIES = [{"name": d["name"], "properties": {"age": d["age"], "interests": d["interests"]}}
                        for d in DOGS]

LAMBDA_TPL = template(variables={
    "dogs": DOGS,
    "dogsWithProperties": DOGS_WITH_PROPERTIES,
    "ages": "[map(variables('dogs'), lambda('dog', lambdaVariables('dog').age))]",
    "copy": [{"name": "itemForLoop", "count": "[length(range(0, 10))]",
              "input": "[range(0, 10)[copyIndex('itemForLoop')]]"}],
    "inputObject": {"foo": "foo", "bar": "bar"},
})

LAMBDA_CASES = [
    # filter
    ("[filter(variables('dogs'), lambda('dog', greaterOrEquals(lambdaVariables('dog').age, 5)))]",
     [DOGS[0], DOGS[3]]),
    ("[filter(variables('itemForLoop'), lambda('i', greater(lambdaVariables('i'), 5)))]", [6, 7, 8, 9]),
    ("[filter(range(0, 10), lambda('i', equals(0, mod(lambdaVariables('i'), 2))))]", [0, 2, 4, 6, 8]),
    # map
    ("[map(variables('dogs'), lambda('dog', lambdaVariables('dog').name))]", ["Evie", "Casper", "Indy", "Kira"]),
    ("[map(variables('dogs'), lambda('dog', format('Hello {0}!', lambdaVariables('dog').name)))]",
     ["Hello Evie!", "Hello Casper!", "Hello Indy!", "Hello Kira!"]),
    ("[map(range(0, length(variables('dogs'))), lambda('i', createObject('i', lambdaVariables('i'), 'dog', "
     "variables('dogs')[lambdaVariables('i')].name, 'greeting', format('Ahoy, {0}!', "
     "variables('dogs')[lambdaVariables('i')].name))))]",
     [{"i": 0, "dog": "Evie", "greeting": "Ahoy, Evie!"}, {"i": 1, "dog": "Casper", "greeting": "Ahoy, Casper!"},
      {"i": 2, "dog": "Indy", "greeting": "Ahoy, Indy!"}, {"i": 3, "dog": "Kira", "greeting": "Ahoy, Kira!"}]),
    # reduce
    ("[reduce(variables('ages'), 0, lambda('cur', 'next', add(lambdaVariables('cur'), lambdaVariables('next'))))]",
     18),
    ("[reduce(variables('ages'), 1, lambda('cur', 'next', add(lambdaVariables('cur'), lambdaVariables('next'))))]",
     19),
    ("[reduce(createArray(createObject('foo', 123), createObject('bar', 456), createObject('baz', 789)), "
     "createObject(), lambda('cur', 'next', union(lambdaVariables('cur'), lambdaVariables('next'))))]",
     {"foo": 123, "bar": 456, "baz": 789}),
    # sort
    ("[sort(variables('dogs'), lambda('a', 'b', less(lambdaVariables('a').age, lambdaVariables('b').age)))]",
     [DOGS[2], DOGS[1], DOGS[0], DOGS[3]]),
    # toObject, with and without a value function
    ("[toObject(variables('dogs'), lambda('entry', lambdaVariables('entry').name))]",
     {d["name"]: d for d in DOGS}),
    ("[toObject(variables('dogs'), lambda('entry', lambdaVariables('entry').name), "
     "lambda('entry', lambdaVariables('entry')))]", {d["name"]: d for d in DOGS}),
    ("[toObject(variables('dogsWithProperties'), lambda('entry', lambdaVariables('entry').name), "
     "lambda('entry', lambdaVariables('entry').properties))]",
     {d["name"]: d["properties"] for d in DOGS_WITH_PROPERTIES}),
    # groupBy and mapValues (the examples of their sections)
    ("[groupBy(createArray('foo', 'bar', 'baz'), lambda('x', substring(lambdaVariables('x'), 0, 1)))]",
     {"f": ["foo"], "b": ["bar", "baz"]}),
    ("[mapValues(variables('inputObject'), lambda('val', toUpper(lambdaVariables('val'))))]",
     {"foo": "FOO", "bar": "BAR"}),
    # lambda variables are scoped: a nested lambda sees the outer one
    ("[map(createArray(1, 2), lambda('x', map(createArray(10), lambda('y', add(lambdaVariables('x'), "
     "lambdaVariables('y'))))))]", [[11], [12]]),
]


@pytest.mark.parametrize("expr,expected", [pytest.param(e, x, id=e) for e, x in LAMBDA_CASES])
def test_lambda_functions(expr: str, expected: Any) -> None:
    assert same(ev(expr, LAMBDA_TPL), expected)


def test_group_by_keeps_first_seen_key_order() -> None:
    assert list(ev("[groupBy(createArray('foo', 'bar', 'baz'), lambda('x', "
                   "substring(lambdaVariables('x'), 0, 1)))]")) == ["f", "b"]


# --- CIDR functions: template-functions-cidr ---------------------------------------------------------

CIDR_CASES = [
    ("[parseCidr('10.144.0.0/20')]",
     {"network": "10.144.0.0", "netmask": "255.255.240.0", "broadcast": "10.144.15.255",
      "firstUsable": "10.144.0.1", "lastUsable": "10.144.15.254", "cidr": 20}),
    ("[parseCidr('fdad:3236:5555::/48')]",
     {"network": "fdad:3236:5555::", "netmask": "ffff:ffff:ffff::", "firstUsable": "fdad:3236:5555::",
      "lastUsable": "fdad:3236:5555:ffff:ffff:ffff:ffff:ffff", "cidr": 48}),
    ("[map(range(0, 5), lambda('i', cidrSubnet('10.144.0.0/20', 24, lambdaVariables('i'))))]",
     ["10.144.0.0/24", "10.144.1.0/24", "10.144.2.0/24", "10.144.3.0/24", "10.144.4.0/24"]),
    ("[map(range(0, 5), lambda('i', cidrSubnet('fdad:3236:5555::/48', 52, lambdaVariables('i'))))]",
     ["fdad:3236:5555::/52", "fdad:3236:5555:1000::/52", "fdad:3236:5555:2000::/52",
      "fdad:3236:5555:3000::/52", "fdad:3236:5555:4000::/52"]),
    ("[map(range(0, 5), lambda('i', cidrHost('10.144.3.0/24', lambdaVariables('i'))))]",
     ["10.144.3.1", "10.144.3.2", "10.144.3.3", "10.144.3.4", "10.144.3.5"]),
    ("[map(range(0, 5), lambda('i', cidrHost('fdad:3236:5555:3000::/52', lambdaVariables('i'))))]",
     ["fdad:3236:5555:3000::1", "fdad:3236:5555:3000::2", "fdad:3236:5555:3000::3",
      "fdad:3236:5555:3000::4", "fdad:3236:5555:3000::5"]),
    # the cidrHost description: index 0 of 192.168.1.0/24 is 192.168.1.1, the last usable is .254
    ("[cidrHost('192.168.1.0/24', 0)]", "192.168.1.1"),
    ("[cidrHost('192.168.1.0/24', 253)]", "192.168.1.254"),
]


@pytest.mark.parametrize("expr,expected", [pytest.param(e, x, id=e) for e, x in CIDR_CASES])
def test_cidr_functions(expr: str, expected: Any) -> None:
    assert same(ev(expr), expected)


def test_cidr_copy_loop_like_the_documented_template() -> None:
    # The documented template builds the list with an output copy loop over copyIndex().
    loop = {"name": "v4subnets", "count": "[length(range(0, 5))]",
            "input": "[cidrSubnet('10.144.0.0/20', 24, range(0, 5)[copyIndex('v4subnets')])]"}
    tpl = template(variables={"copy": [loop]})
    assert ev("[variables('v4subnets')]", tpl) == [f"10.144.{i}.0/24" for i in range(5)]


def test_cidr_errors() -> None:
    raises("cidrSubnet('10.144.0.0/20', 16, 0)")  # the new prefix must not be shorter
    raises("cidrSubnet('10.144.0.0/20', 24, 16)")  # only 16 /24 subnets in a /20
    raises("cidrHost('192.168.1.0/24', 254)")  # .255 is the broadcast address


# --- date functions: template-functions-date ---------------------------------------------------------

DATE_CASES = [
    # utcNow example outputs for 2019-03-05T17:53:18Z
    ("[utcNow()]", "20190305T175318Z"),
    ("[utcNow('d')]", "03/05/2019"),
    ("[utcNow('M d')]", "3 5"),
    ("[utcNow('u')]", "2019-03-05 17:53:18Z"),
    ("[utcNow('yyyy-MM-dd')]", "2019-03-05"),
    # other .NET standard and custom formats the page points to (invariant culture)
    ("[utcNow('r')]", "Tue, 05 Mar 2019 17:53:18 GMT"),
    ("[utcNow('D')]", "Tuesday, 05 March 2019"),
    ("[utcNow('o')]", "2019-03-05T17:53:18.0000000Z"),
    ("[utcNow('s')]", "2019-03-05T17:53:18"),
    ("[utcNow('G')]", "03/05/2019 17:53:18"),
    ("[utcNow('t')]", "17:53"),
    ("[utcNow('hh:mm tt')]", "05:53 PM"),
    ("[utcNow('dddd, MMMM d')]", "Tuesday, March 5"),
    # dateTimeAdd remarks: years are 365 days and months 30 days, leap years or not
    ("[dateTimeAdd('2023-01-01 00:00:00Z', 'P1Y')]", "2024-01-01T00:00:00Z"),
    ("[dateTimeAdd('2024-01-01 00:00:00Z', 'P1Y')]", "2024-12-31T00:00:00Z"),
    ("[dateTimeAdd('2023-02-01 00:00:00Z', 'P1M')]", "2023-03-03T00:00:00Z"),
    ("[dateTimeAdd('2024-02-01 00:00:00Z', 'P1M')]", "2024-03-02T00:00:00Z"),
    # dateTimeAdd example for a base time of 2020-04-07 14:53:14Z (4/7/2023, 3/29/2020, 4/7/2020 3:53 PM)
    ("[dateTimeAdd('2020-04-07 14:53:14Z', 'P3Y')]", "2023-04-07T14:53:14Z"),
    ("[dateTimeAdd('2020-04-07 14:53:14Z', '-P9D')]", "2020-03-29T14:53:14Z"),
    ("[dateTimeAdd('2020-04-07 14:53:14Z', 'PT1H')]", "2020-04-07T15:53:14Z"),
    ("[dateTimeAdd('2020-04-07 14:53:14Z', 'PT1H', 'yyyy-MM-dd HH:mm')]", "2020-04-07 15:53"),
    ("[dateTimeAdd(utcNow('u'), 'PT1H')]", "2019-03-05T18:53:18Z"),
    # dateTimeToEpoch / dateTimeFromEpoch
    ("[dateTimeFromEpoch(1683040573)]", "2023-05-02T15:16:13Z"),
    ("[dateTimeToEpoch('2023-05-02T15:16:13Z')]", 1683040573),
]


@pytest.mark.parametrize("expr,expected", [pytest.param(e, x, id=e) for e, x in DATE_CASES])
def test_date_functions(expr: str, expected: Any) -> None:
    assert same(ev_default(expr) if "utcNow" in expr else ev(expr), expected)


@pytest.mark.parametrize("expr", ["utcNow()", "utcNow('u')", "newGuid()", "concat('x', newGuid())"])
def test_utc_now_and_new_guid_outside_a_parameter_default_are_errors(expr: str) -> None:
    """ARM accepts utcNow() and newGuid() only in a parameter's default value and rejects a template using them
    anywhere else (a variable, a resource property): the scan evaluated them there as if ARM would deploy."""
    assert "only in the default value of a parameter" in str(raises(expr))
    tpl = template(variables={"stamp": f"[{expr}]"})
    ctx = context(tpl)
    ctx.eval_value("[variables('stamp')]", "/resources/0/tags/stamp")
    assert any("only in the default value of a parameter" in d.message for d in ctx.expander.diagnostics)


def test_date_time_add_rejects_a_bad_duration() -> None:
    raises("dateTimeAdd('2020-04-07 14:53:14Z', '3 days')")


# --- resource and scope functions: template-functions-resource, template-functions-scope -------------

RESOURCE_CASES = [
    # resourceid.json
    ("[resourceId('Microsoft.Storage/storageAccounts', 'examplestorage')]",
     f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Storage/storageAccounts/examplestorage"),
    ("[resourceId('otherResourceGroup', 'Microsoft.Storage/storageAccounts', 'examplestorage')]",
     f"/subscriptions/{SUB}/resourceGroups/otherResourceGroup/providers/Microsoft.Storage/storageAccounts/"
     "examplestorage"),
    ("[resourceId('11111111-1111-1111-1111-111111111111', 'otherResourceGroup', "
     "'Microsoft.Storage/storageAccounts', 'examplestorage')]",
     "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/otherResourceGroup/providers/"
     "Microsoft.Storage/storageAccounts/examplestorage"),
    ("[resourceId('Microsoft.SQL/servers/databases', 'serverName', 'databaseName')]",
     f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.SQL/servers/serverName/databases/"
     "databaseName"),
    ("[resourceId('Microsoft.SQL/servers/databases', 'serverName/databaseName')]",
     f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.SQL/servers/serverName/databases/"
     "databaseName"),
    # subscriptionresourceid.json, tenantresourceid.json
    ("[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '8e3af657-a8ff-443c-a75c-2fe8c4bcb635')]",
     f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635"),
    ("[subscriptionResourceId('11111111-1111-1111-1111-111111111111', 'Microsoft.Authorization/roleDefinitions', "
     "'acdd72a7-3385-48ef-bd42-f606fba81ae7')]",
     "/subscriptions/11111111-1111-1111-1111-111111111111/providers/Microsoft.Authorization/roleDefinitions/"
     "acdd72a7-3385-48ef-bd42-f606fba81ae7"),
    ("[subscriptionResourceId('Microsoft.Resources/resourceGroups', resourceGroup().name)]",
     f"/subscriptions/{SUB}/providers/Microsoft.Resources/resourceGroups/{RG}"),
    ("[tenantResourceId('Microsoft.Authorization/policyDefinitions', '0a914e76-4921-4c19-b460-a2d36003525a')]",
     "/providers/Microsoft.Authorization/policyDefinitions/0a914e76-4921-4c19-b460-a2d36003525a"),
    # extensionresourceid.json (note the capitalised .Id: property access is case-insensitive)
    ("[extensionResourceId(resourceGroup().Id, 'Microsoft.Authorization/locks', 'myLock')]",
     f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Authorization/locks/myLock"),
    ("[extensionResourceId(resourceId('Microsoft.Storage/storageAccounts', 'sa'), "
     "'Microsoft.Authorization/locks', 'myLock')]",
     f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Storage/storageAccounts/sa/providers/"
     "Microsoft.Authorization/locks/myLock"),
    ("[managementGroupResourceId('mg1', 'Microsoft.Authorization/policyDefinitions', 'p1')]",
     "/providers/Microsoft.Management/managementGroups/mg1/providers/Microsoft.Authorization/policyDefinitions/p1"),
    # resourceGroup(), subscription() (scope functions)
    ("[resourceGroup().id]", f"/subscriptions/{SUB}/resourceGroups/{RG}"),
    ("[resourceGroup().name]", RG),
    ("[resourceGroup().location]", "westus"),
    ("[subscription().subscriptionId]", SUB),
    ("[subscription().id]", f"/subscriptions/{SUB}"),
]


@pytest.mark.parametrize("expr,expected", [pytest.param(e, x, id=e) for e, x in RESOURCE_CASES])
def test_resource_functions(expr: str, expected: Any) -> None:
    assert same(ev(expr), expected)


def test_resource_id_name_count_must_match_the_type() -> None:
    raises("resourceId('Microsoft.SQL/servers/databases', 'serverName')")


# --- deployment functions: template-functions-deployment ---------------------------------------------

DEPLOYMENT_TPL = template(
    params={"stringParameter": "option 1", "intParameter": 1, "objectParameter": {"one": "a", "two": "b"},
            "arrayParameter": [1, 2, 3], "crossParameter": "[parameters('stringParameter')]"},
    variables={"var1": "myVariable", "var2": ["[variables('var1')]"], "var3": "[variables('var1')]",
               "var4": {"property1": "value1", "property2": "value2"},
               "concatVar": "[concat(createArray(1, 2), createArray(3, 4))]"},
    outputs={"deploymentOutput": {"type": "Object", "value": "[deployment()]"}},
)

DEPLOYMENT_CASES = [
    # parameters.json
    ("[parameters('stringParameter')]", "option 1"),
    ("[parameters('intParameter')]", 1),
    ("[parameters('objectParameter')]", {"one": "a", "two": "b"}),
    ("[parameters('arrayParameter')]", [1, 2, 3]),
    ("[parameters('crossParameter')]", "option 1"),
    ("[parameters('STRINGPARAMETER')]", "option 1"),
    # variables.json
    ("[variables('var1')]", "myVariable"),
    ("[variables('concatVar')]", [1, 2, 3, 4]),
    ("[variables('var3')]", "myVariable"),
    ("[variables('var4')]", {"property1": "value1", "property2": "value2"}),
    # deployment.json: name, the template as deployed, mode
    ("[deployment().name]", "deployment"),
    ("[deployment().properties.template.contentVersion]", "1.0.0.0"),
    ("[deployment().properties.template.outputs.deploymentOutput.value]", "[deployment()]"),
    ("[deployment().properties.mode]", "Incremental"),
    # environment.json (global Azure)
    ("[environment().name]", "AzureCloud"),
    ("[environment().resourceManager]", "https://management.azure.com/"),
    ("[environment().authentication.loginEndpoint]", "https://login.microsoftonline.com/"),
    ("[environment().suffixes.storage]", "core.windows.net"),
    ("[environment().suffixes.keyvaultDns]", ".vault.azure.net"),
]


@pytest.mark.parametrize("expr,expected", [pytest.param(e, x, id=e) for e, x in DEPLOYMENT_CASES])
def test_deployment_functions(expr: str, expected: Any) -> None:
    assert same(ev(expr, DEPLOYMENT_TPL), expected)


def test_missing_parameter_and_variable_fail() -> None:
    assert "nope" in str(raises("parameters('nope')"))
    assert "nope" in str(raises("variables('nope')"))


# --- values that are not known offline ---------------------------------------------------------------

@pytest.mark.parametrize("expr,named", [
    ("[reference('myStorage')]", "reference('myStorage')"),
    ("[reference(resourceId('Microsoft.Storage/storageAccounts', 'sa'), '2022-09-01').primaryEndpoints]",
     "reference(resourceId('Microsoft.Storage/storageAccounts', 'sa'), '2022-09-01')"),
    ("[listKeys(resourceId('Microsoft.Storage/storageAccounts', 'sa'), '2022-09-01').keys[0].value]",
     "listKeys(resourceId('Microsoft.Storage/storageAccounts', 'sa'), '2022-09-01')"),
    ("[listSecrets('x', '2020-01-01')]", "listSecrets('x', '2020-01-01')"),
    ("[listAccountSas('sa', '2021-04-01', createObject())]", "listAccountSas('sa', '2021-04-01', createObject())"),
    ("[newGuid()]", "newGuid()"),
    ("[concat('x', newGuid())]", "newGuid()"),
    ("[toUpper(reference('a').b)]", "reference('a')"),
    ("[pickZones('Microsoft.Compute', 'virtualMachines', 'westus2')]", "pickZones("),
])
def test_runtime_values_are_unknown_and_name_the_expression(expr: str, named: str) -> None:
    value = ev_default(expr) if "newGuid" in expr else ev(expr)
    assert isinstance(value, Unknown), value
    assert named in value.reason


def test_parameter_without_value_is_unknown() -> None:
    tpl = template()
    tpl["parameters"]["p"] = {"type": "string"}
    value = ev("[parameters('p')]", tpl)
    assert isinstance(value, Unknown) and "'p'" in value.reason


def test_new_guid_default_value_is_unknown() -> None:
    # subscriptionresourceid.json uses newGuid() as a parameter's default value.
    tpl = template(params={"roleNameGuid": "[newGuid()]"})
    assert isinstance(ev("[parameters('roleNameGuid')]", tpl), Unknown)


def test_unknown_function_is_an_error_naming_it() -> None:
    err = raises("concat('a', frobnicate(1))")
    assert "frobnicate" in str(err)
    err = raises("contoso.missing('a')")
    assert "contoso.missing" in str(err)


# --- parser ------------------------------------------------------------------------------------------

PARSER_CASES = [
    # '' is an escaped quote inside a string literal
    ("[concat('it''s', ' ok')]", "it's ok"),
    ("['''quoted''']", "'quoted'"),
    ("['']", ""),
    # brackets and commas inside strings are text
    ("[concat('a]', '[b', ',')]", "a][b,"),
    # member access, indexing by name and position, chained
    ("[createObject('a', createObject('b', 1)).a.b]", 1),
    ("[createObject('x', 2)['x']]", 2),
    ("[createArray(1, 2, 3)[0]]", 1),
    ("[createArray(createObject('k', createArray('v0', 'v1')))[0].k[1]]", "v1"),
    ("[json('{\"a\": [10, 20]}').a[add(0, 1)]]", 20),
    # property names are case-insensitive
    ("[createObject('Name', 'v').name]", "v"),
    ("[createObject('name', 'v').NAME]", "v"),
    ("[json('{\"Key\": 1}')['KEY']]", 1),
    ("[resourceGroup().NAME]", RG),
    # function names are case-insensitive
    ("[CONCAT('a', ToUpper('b'))]", "aB"),
    # whitespace, numbers, keywords
    ("[  add( 1 ,  -2 )  ]", -1),
    ("[createArray(true, false, null)]", [True, False, None]),
    # not an expression: plain strings, "[[" escapes, brackets inside text
    ("plain", "plain"),
    ("[[not an expression]", "[not an expression]"),
    ("[[concat('a')]", "[concat('a')]"),
    ("a [b]", "a [b]"),
]


@pytest.mark.parametrize("expr,expected", [pytest.param(e, x, id=e) for e, x in PARSER_CASES])
def test_parser(expr: str, expected: Any) -> None:
    assert same(ev(expr), expected)


def test_literal_or_expression() -> None:
    assert literal_or_expression("[concat('a')]") == (True, "concat('a')")
    assert literal_or_expression("[[concat('a')]") == (False, "[concat('a')]")
    assert literal_or_expression("[[x") == (False, "[x")
    assert literal_or_expression("plain") == (False, "plain")
    assert literal_or_expression("[not closed") == (False, "[not closed")


def test_parse_tree_shapes() -> None:
    node = parse("createObject('a', 1).a['b'][0]")
    assert isinstance(node, Index) and isinstance(node.obj, Index) and isinstance(node.obj.obj, Member)
    call = parse("Contoso.UniqueName('x')")
    assert isinstance(call, Call) and call.name == "contoso.uniquename" and len(call.args) == 1
    assert parse("concat('it''s')").args[0].value == "it's"  # type: ignore[attr-defined]


@pytest.mark.parametrize("text", [
    "concat('a'",  # unclosed call
    "concat('a)",  # unterminated string
    "concat('a'))",  # trailing token
    "a.b",  # bare identifier
    "concat('a') concat('b')",
    "createArray(1)[0",
    "",
])
def test_parse_errors(text: str) -> None:
    with pytest.raises(ExpressionError):
        parse(text)


def test_user_defined_function_in_a_namespace() -> None:
    # user-defined-functions page: namespace "contoso", member "uniqueName".
    tpl = template(params={"storageNamePrefix": "STG"})
    tpl["functions"] = [{
        "namespace": "contoso",
        "members": {"uniqueName": {
            "parameters": [{"name": "namePrefix", "type": "string"}],
            "output": {"type": "string",
                       "value": "[concat(toLower(parameters('namePrefix')), uniqueString('test'))]"},
        }},
    }]
    assert ev("[contoso.uniqueName(parameters('storageNamePrefix'))]", tpl) == "stgrbgf3xv4ufgzg"
    assert ev("[Contoso.UNIQUENAME('X')]", tpl) == "xrbgf3xv4ufgzg"


@pytest.mark.parametrize("expr", ["dateTimeAdd('2020-01-01', 'P99999999999Y')", "dateTimeFromEpoch(99999999999999999)",
                                  "dateTimeAdd('2020-01-01', 'PT99999999999999999999H')"])
def test_a_date_beyond_the_calendar_is_said_plainly(expr: str) -> None:
    # Python's own words ("Python int too large to convert to C int", "[Errno 75]") are not a user's
    message = str(raises(expr))
    assert "out of range (dates run from year 1 to 9999)" in message, message
    assert "C int" not in message and "Errno" not in message, message


def test_a_wrong_argument_type_is_named_with_its_article() -> None:
    # "'length' expects a string, array or object, not an Integer" (not "not a Integer")
    assert "not an Integer" in str(raises("length(3)"))
    assert "cannot compare an Integer with a String" in str(raises("less(1, 'a')"))


# --- documented functions this evaluator does not compute --------------------------------------------------
# (template-functions: deployer() in the deployment functions, parseUri/buildUri in the string functions)

@pytest.mark.parametrize("expr, name", [
    ("[parseUri('https://contoso.com/a?b=c').host]", "parseUri"),
    ("[buildUri(createObject('scheme', 'https', 'host', 'contoso.com'))]", "buildUri"),
    ("[deployer().objectId]", "deployer"),
])
def test_a_documented_function_not_evaluated_is_unknown_never_an_unknown_function(expr: str, name: str) -> None:
    value = ev(expr)  # no diagnostic: ARM knows the function, the deployment does not fail on it
    assert isinstance(value, Unknown) and name in value.reason, value


def test_a_name_arm_does_not_know_is_still_an_unknown_function() -> None:
    ctx = context()
    ctx.eval_value("[parseUrl('https://contoso.com')]", "")
    assert any("unknown function 'parseurl'" in d.message.lower() for d in ctx.expander.diagnostics)
