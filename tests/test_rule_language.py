"""The object-rule language (k8s/rule_lang.py): each operator means the same in the Python engine
(``rules.compare``) and in its Rego twin (k8s/rego.py), run in regopy over a grid of JSON values; image references
are read the same way; bad rules are load errors naming the place; YAML controls declare object rules."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from aks_compliance.controls import CatalogError, Decision, load_catalog
from aks_compliance.controls.config import ControlConfigError, validate_control_params
from aks_compliance.k8s.gatekeeper import Engine
from aks_compliance.k8s.rego import IMAGE_LIBRARY, IMPORTS, LIBRARY, OPS
from aks_compliance.k8s.rule_lang import AllOf, AnyOf, Cmp, Each, RuleError, Some, negate, parse_predicate
from aks_compliance.k8s.rules import ABSENT, KubeRule, WORKLOAD_KINDS, compare, parse_image
from aks_compliance.policy import kubernetes

from .conftest import ROOT

CATALOG = load_catalog([])

MISSING = object()  # the field is not in the object at all
VALUES: list[Any] = [MISSING, None, True, False, 0, 1, 1.0, 2.5, -5, "", "a", "Default", "ALL", "localhost/x",
                     "docker.io/library/nginx", [], ["ALL"], ["x", "ALL"], [1, 2], {}, {"a": 1}]
OPERANDS: dict[str, list[Any]] = {
    "equals": [True, False, 0, 1, "", "a", "Default", [], {"a": 1}, ["ALL"]],
    "in": [["Default", ""], [0, 1], [True], [["ALL"]], [], "notalist"],
    "exists": [True],
    "empty": [True],
    "like": ["*", "a*", "localhost/*", "?", "[AD]*", "*nginx"],
    "likeAny": [["a*", "D*"], ["*/x"], [], ["*"], "notalist"],
    "startsWith": ["", "a", "localhost/", "D"],
    "contains": ["ALL", 1, "x"],
    "greaterOrEquals": [0, 1, 1.5, -10],
    "lessOrEquals": [0, 1, 1.5, -10],
    "fromRegistry": [["docker.io"], ["*.io"], ["docker.io/library/*"], ["DOCKER.IO"], []],
    # a regular expression matching the whole string (not a part of it: "a" does not match "ALL")
    "matches": ["a", "A", "[AD].*", "", ".*", "x|ALL", "localhost/.+", 7],
}


def _module() -> str:
    return ("package t\n\n" + IMPORTS + "\n"
            "v := _get(input.review.object, [\"v\"])\n\n"
            "unary(op) if { op == \"exists\"; _exists(v) }\n"
            "unary(op) if { op == \"empty\"; _empty(v) }\n"
            + "".join(f"binary(op, x) if {{ op == \"{op}\"; {fn}(v, x) }}\n"
                      for op, fn in OPS.items() if op not in ("exists", "empty"))
            + "\nr := unary(input.parameters.op) if { input.parameters.op in [\"exists\", \"empty\"] } "
              "else := binary(input.parameters.op, input.parameters.x)\n" + LIBRARY + IMAGE_LIBRARY)


@pytest.fixture(scope="module")
def ops_engine() -> Engine:
    return Engine(_module().replace("\t", "    "))


@pytest.mark.parametrize("op", sorted(OPERANDS))
def test_every_operator_means_the_same_in_both_engines(op: str, ops_engine: Engine) -> None:
    checked = 0
    for value in VALUES:
        obj = {} if value is MISSING else {"v": value}
        python_value = ABSENT if value is MISSING or value is None else value
        for operand in OPERANDS[op]:
            rego = ops_engine.value("r", obj, {"op": op, "x": operand}) is True
            assert rego == compare(op, python_value, operand), (op, value, operand)
            checked += 1
    assert checked >= len(VALUES)


# resource.Quantity spellings (apimachinery ParseQuantity): the zero ones, then non-zero ones that look alike
ZERO_QUANTITIES = ["0", "0m", "0Mi", "00Gi", "0.0", "+0", "-0", "0e3", "0E-2", ".0", "0.", "000.000n", "0Ki", "0k",
                   " 0 ", "\t0\n", "+.0e+5"]
NONZERO_QUANTITIES = ["1", "0.5", "0.05", "10m", "100Mi", "0.5Gi", "1e3", "10", "0.001", "00.1", "0e", "e0", "",
                      "0x0", "1.0", ".5", "01"]


def test_zero_quantities_read_the_same_in_both_engines(ops_engine: Engine) -> None:
    """A zero limit sets no limit (the kubelet sets no CFS quota for 0 millicores, no memory cgroup limit for 0
    bytes): the resource controls tell every spelling of zero in both engines."""
    from aks_compliance.k8s.shapes import ZERO_QUANTITY
    for text in ZERO_QUANTITIES + NONZERO_QUANTITIES:
        zero = text in ZERO_QUANTITIES
        assert compare("matches", text, ZERO_QUANTITY) is zero, text
        assert (ops_engine.value("r", {"v": text}, {"op": "matches", "x": ZERO_QUANTITY}) is True) is zero, text


IMAGES = ["nginx", "nginx:1.25", "library/nginx:latest", "docker.io/nginx", "myacr.azurecr.io/team/app:2.1",
          "MyAcr.AzureCR.io/team/app", "localhost/app:dev", "localhost:5000/a/b:c", "reg.example.com:443/x/y:z",
          "ghcr.io/o/r@sha256:abc", "ghcr.io/o/r:v1@sha256:abc", "registry/with:port/and/path:tag", "a@", "@sha",
          "mcr.microsoft.com/oss/istio/proxyv2:1.22.3", "ubuntu@sha256:1:2", "[fd00::1]:5000/app:1.0",
          "[fd00::1]/a/b@sha256:abc"]


def test_image_references_are_read_the_same_in_both_engines(ops_engine: Engine) -> None:
    module = ("package img\n\n" + IMPORTS + "\nimg := input.review.object.image\n"
              "parts := [_image_registry(img), _image_repository(img), _image_tag(img), _image_digest(img)]\n"
              + LIBRARY + IMAGE_LIBRARY).replace("\t", "    ")
    rego = Engine(module)
    for image in IMAGES:
        assert rego.value("parts", {"image": image}, {}) == list(parse_image(image)), image


def test_ipv6_literal_image_hosts_read_the_same_in_both_engines(ops_engine: Engine) -> None:
    """AKS-126/127's well-formedness predicate on IPv6 literal hosts (written in three parts, with [Z-^] classes for
    the brackets): the same verdict in Rego as in Python, both as the reference grammar says."""
    from aks_compliance.k8s.rules import compare as python_compare
    from .test_k8s_semantics import IPV6_IMAGES, well_formed_by_rule

    def rego_compare(op: str, value: Any, operand: Any) -> bool:
        return ops_engine.value("r", {"v": value}, {"op": op, "x": operand}) is True
    for image, ok in IPV6_IMAGES:
        assert well_formed_by_rule(image, python_compare) is ok, image
        assert well_formed_by_rule(image, rego_compare) is ok, image


def test_negation_keeps_negation_normal_form() -> None:
    p = parse_predicate({"not": {"allOf": [{"field": "a", "equals": 1},
                                           {"each": "b", "require": {"field": ".", "in": [1]}}]}}, "t")
    assert isinstance(p, AnyOf)
    first, second = p.items
    assert isinstance(first, Cmp) and first.negated and first.op_text == "notEquals"
    assert isinstance(second, Some) and isinstance(second.require, Cmp) and second.require.negated
    assert negate(negate(p)) == p
    assert isinstance(negate(second), Each) and isinstance(negate(AnyOf((first,))), AllOf)
    assert parse_predicate({"field": "x", "exists": False}, "t") == parse_predicate(
        {"not": {"field": "x", "exists": True}}, "t")


@pytest.mark.parametrize("spec,message", [
    ({"kinds": "workloads", "checks": [{"scope": "containers", "require": {"field": "a", "equalz": 1}}]},
     "exactly one operator"),
    ({"kinds": "workloads", "checks": [{"scope": "containers"}]}, "'require' is missing"),
    ({"kinds": "workloads", "checks": [{"scope": "pod", "require": {"field": "x", "matches": "a("}}]},
     "not a regular expression"),
    ({"kinds": "workloads", "checks": [{"scope": "pod", "require": {"field": "x", "notMatches": 0}}]},
     "a string"),
    # Python-only syntax (RE2, Gatekeeper's engine, has no lookaround or backreferences): one meaning in both
    ({"kinds": "workloads", "checks": [{"scope": "pod", "require": {"field": "x", "matches": "(?=a)a"}}]},
     "both engines"),
    ({"kinds": ["Service"], "checks": [{"scope": "object", "require": {"field": "$pod.x", "exists": True}}]},
     "reads a pod spec"),
    ({"kinds": ["Service"], "checks": [{"scope": "containers", "require": {"field": "x", "exists": True}}]},
     "needs kinds: workloads"),
    ({"kinds": "workloads", "checks": [{"scope": "pod", "require": {"field": "x", "in": {"derived": "nope"}}}]},
     "not declared under derived"),
    ({"kinds": "workloads", "checks": [{"scope": "pod", "require": {"field": "x", "exists": "yes"}}]},
     "true or false"),
    ({"kinds": "workloads", "checks": [{"scope": "pod", "require": {"field": "$spec.x", "exists": True}}]},
     "unknown path root"),
    ({"kinds": "workloads", "applies": [{"when": {"field": "x", "exists": True}, "reason": "r"}],
      "checks": [{"scope": "pod", "require": {"field": "x", "exists": True}}]}, "relative to no item"),
    ({"kinds": "workloads", "checks": [{"scope": "pod", "require": {"field": "x", "greaterOrEquals": "1"}}]},
     "a number"),
    ({"kinds": "workloads", "derived": {"d": {"pssVersion": [{"since": "1.30", "value": 1},
                                                              {"since": "1.2", "value": 2}]}},
      "checks": [{"scope": "pod", "require": {"field": "x", "in": {"derived": "d"}}}]}, "ascending"),
    ({"kinds": "everything", "checks": []}, "kinds"),
])
def test_bad_rules_are_errors_that_name_the_place(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(RuleError, match=message):
        KubeRule(spec)


def test_paths_read_bracketed_keys_and_the_container_name() -> None:
    rule = KubeRule({"kinds": "workloads", "checks": [{"scope": "containers", "require": {
        "field": "$meta.annotations['container.apparmor.security.beta.kubernetes.io/{name}']", "exists": False}}]})
    cmp = rule.spec.checks[0].require
    assert cmp.ref.base == "meta" and cmp.ref.segments[0] == "annotations"
    assert cmp.ref.segments[1].template == "container.apparmor.security.beta.kubernetes.io/{name}"
    assert set(rule.spec.kinds) == set(WORKLOAD_KINDS)


def test_a_rule_reading_an_undeclared_parameter_does_not_compile() -> None:
    from aks_compliance.controls import Mappings, Severity
    from aks_compliance.k8s.checks import k8s_control

    rule = KubeRule({"kinds": "workloads", "checks": [{"scope": "pod", "require": {
        "field": "serviceAccountName", "notIn": {"param": "forbidden"}}}]})
    control = k8s_control(id="ACME-100", title="t", severity=Severity.LOW, section="s", rationale="r",
                          remediation="m", mappings=Mappings(), exclusions="workload-admission", rule=rule)
    with pytest.raises(RuleError, match="parameter 'forbidden'"):
        control.object_rule.to_rego(control)
    with pytest.raises(ValueError, match="no policy_gap"):
        k8s_control(id="ACME-101", title="t", severity=Severity.LOW, section="s", rationale="r", remediation="m",
                    mappings=Mappings(), exclusions="workload-admission", rule=rule, policy_gap="why")


def test_the_example_yaml_control_is_an_object_rule_with_a_gatekeeper_policy() -> None:
    catalog = load_catalog([str(ROOT / "examples" / "custom-controls")])
    control = catalog["CONTOSO-102"]
    assert control.decision is Decision.OBJECT_RULE and control.policy_engine == "gatekeeper"
    assert control.no_policy_reason() is None and control.parameter_defaults()["exemptContainers"]
    assert "package akscompliancecontoso102" in control.object_rule.to_rego(control)


@pytest.mark.parametrize("change,message", [
    ({"exclusions": None}, "exclusions"),
    ({"resource_type": "k8s/workload"}, "should not be valid"),
    ({"object_rule": {"kinds": "workloads", "checks": [{"scope": "pod", "require": {"field": "x", "nope": 1}}]}},
     "exactly one operator"),
    ({"object_rule": {"kinds": "workloads", "checks": [{"scope": "pod", "require": {
        "field": "x", "in": {"param": "undeclared"}}}]}}, "parameter 'undeclared'"),
])
def test_bad_yaml_object_rules_are_load_errors_naming_file_and_line(change: dict[str, Any], message: str,
                                                                    tmp_path: Path) -> None:
    import yaml

    doc = yaml.safe_load((ROOT / "examples" / "custom-controls" / "controls" / "contoso_cluster.yaml").read_text())
    entry = doc["controls"][0]
    for key, value in change.items():
        if value is None:
            entry.pop(key)
        else:
            entry[key] = value
    path = tmp_path / "bad.yaml"
    path.write_text("# leading comment\n" + yaml.safe_dump(doc, sort_keys=False))
    with pytest.raises(CatalogError, match=message) as exc:
        load_catalog([str(path)])
    assert f"{path}:" in str(exc.value)
    json.dumps(str(exc.value))


# --- patterns both engines read alike (tests/test_gatekeeper_fuzz.py found the others) ----------------------

@pytest.mark.parametrize("values", [
    {"exemptRoles": ["r{a,b}"]}, {"exemptRoles": ["r[1*"]}, {"allowedPublicServices": ["app/s{1,2}"]},
    {"allowedRegistries": ["mcr.microsoft.com["]}, {"allowedRegistries": ["docker.io\\x"]},
    {"excludedNamespaces": ["a?p"]}, {"excludedNamespaces": ["[a]pp"]}, {"excludedNamespaces": ["kube-*-x"]},
    {"excludedNamespaces": ["Kube-System"]}])
def test_patterns_read_differently_are_refused(values: dict[str, Any]) -> None:
    """Patterns Python (fnmatch, an exact namespace) and Gatekeeper (glob.match's alternatives and escapes;
    match.excludedNamespaces' prefix and suffix wildcards) would read differently are refused as parameter values,
    in the generated template's schema and definition too, so no verdict rests on one engine's reading."""
    (name, value), = values.items()
    control = next(c for c in CATALOG if c.object_rule is not None and name in c.parameter_defaults())
    with pytest.raises(ControlConfigError):
        validate_control_params({control.id: values}, CATALOG)
    if name != "excludedNamespaces":
        pattern = kubernetes.build_template(control)["spec"]["crd"]["spec"]["validation"]["openAPIV3Schema"][
            "properties"][name]["items"]["pattern"]
        assert not re.search(pattern, value[0])
    definition = kubernetes.definition_parameters(control)[name]
    assert not re.search(definition["schema"]["items"]["pattern"], value[0])


def test_a_refused_glob_is_an_error_in_the_python_engine_too() -> None:
    """A value that never passed the parameter check (a library caller) is an error, never fnmatch's reading."""
    for op, pattern in (("likeAny", ["r{a,b}"]), ("fromRegistry", ["docker.io["]), ("like", "a\\b"),
                        ("like", "[z-a]*")):
        with pytest.raises(RuleError):
            compare(op, "ra", pattern)
    with pytest.raises(RuleError, match="not a glob"):
        KubeRule({"kinds": ["Role"], "checks": [{"scope": "object", "require": {
            "field": "metadata.name", "notLike": "system:{a,b}"}}]})


@pytest.mark.parametrize("pattern,matched,unmatched", [
    ("kube-system", ["kube-system"], ["kube-system-2", "x-kube-system"]),
    ("kube-*", ["kube-system", "kube-", "kube-public"], ["akube-system", "kube"]),
    ("*-system", ["kube-system", "-system"], ["kube-system-2"]), ("*arc*", ["azure-arc", "arc", "xarcx"], ["ar-c"]),
    ("*", ["a", ""], []), ("**", ["a"], []), ("*a**", ["xa*"], ["xa", "a"])])
def test_excluded_namespaces_read_as_gatekeeper_reads_its_match(pattern: str, matched: list[str],
                                                                unmatched: list[str]) -> None:
    """Gatekeeper's match (pkg/wildcard Wildcard.Matches): a leading and/or trailing '*', one trimmed from each end;
    Python's exclusion and the test engine's match read an entry the same way."""
    from aks_compliance.k8s.checks import namespace_wildcard
    from aks_compliance.k8s.gatekeeper import matches
    for ns in matched:
        assert namespace_wildcard(ns, pattern), (pattern, ns)
    for ns in unmatched:
        assert not namespace_wildcard(ns, pattern), (pattern, ns)
    for ns in matched + unmatched:
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": ns}}
        assert matches({"excludedNamespaces": [pattern]}, pod) != namespace_wildcard(ns, pattern)
