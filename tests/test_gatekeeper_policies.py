"""Azure Policy for Kubernetes from the object rules, proven in a real Rego engine (regopy, Microsoft's rego-cpp).

* Differential: every committed ConstraintTemplate (policies/kubernetes/<id>/template.yaml) runs on every fixture
  of its control and agrees with the pytest verdict: ``failed`` <-> a violation; ``passed`` <-> matched by the
  constraint and no violation; ``not_applicable`` because of an excluded namespace <-> not matched (Gatekeeper's
  ``match``, emulated by ``k8s.gatekeeper.matches``); any other ``not_applicable`` <-> no violation. ``unknown``
  has no admission counterpart: a snapshot gap or a namespace only implied by other objects is no object to
  admit (counted, not run); an object the control cannot judge (a container without an image) must not be
  denied (no violation).
* The same on seeded random workloads, for every Pod Security Standards version that changes a check, and the
  version-derived values of both engines for every version.
* A deliberately wrong rule, and a wrong Rego operator, make the differential fail.
* Every generated ``suite.yaml`` passes as ``gator verify`` would run it.
* Microsoft's built-in templates (../shared/azure-policy/kubernetes) that share a mapping with a control run on the
  control's fixtures: agreements are counted, every difference is declared on the control (``builtin_deviation``).
* The definitions: mode, templateInfo, kinds, match parameters, values, effects, schemas.
"""

from __future__ import annotations

import base64
import copy
import functools
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from aks_compliance.controls import Catalog, Control, Decision
from aks_compliance.k8s import kinds as kindlib
from aks_compliance.k8s.checks import LATEST_PSS, pss_version
from aks_compliance.k8s.gatekeeper import Engine, matches, rego_v1, template_rego
from aks_compliance.k8s.rules import KubeRule, version_number
from aks_compliance.policy import generate, kubernetes
from aks_compliance.scan import ScanOptions, run_scan
from aks_compliance.k8s.source import K8sOptions
from aks_compliance.testing import (FixtureCase, FixtureError, check_fixture_in_gatekeeper, fixture_cases,
                                    fixture_result)

from .conftest import FIXTURES, ROOT, require_shared
from .k8s_pods import workloads
from .test_policy_generation import CATALOG, PLAN, _errors, _validator

POLICIES = ROOT / "policies"
K8S = FIXTURES / "k8s"
KUBE = {g.control.id: g for g in PLAN.generated if g.control.policy_engine == "gatekeeper"}
CASES = [c for c in fixture_cases(K8S, CATALOG) if c.control_id in KUBE]


@functools.lru_cache(maxsize=None)
def committed(control_id: str, name: str) -> dict[str, Any]:
    path = POLICIES / kubernetes.KUBERNETES_DIR / control_id / name
    assert path.exists(), f"{path} is not committed: run 'aks-compliance policies generate'"
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=None)
def engine(control_id: str) -> Engine:
    return Engine(template_rego(committed(control_id, "template.yaml")))


@functools.lru_cache(maxsize=None)
def verdict(case: FixtureCase) -> tuple[Any, Any]:
    """(the pytest result, the target it judged) of a fixture."""
    result, run = fixture_result(case, CATALOG)
    label = result.key[len(case.control_id) + 1:]
    target = next(t for t in run.targets if t.label == label)
    return result, target


def no_object(target: Any) -> bool:
    """A target that stands for no object an admission request could carry."""
    return "gap" in target.context or bool(target.context.get("implied"))


# --- the differential ----------------------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_generated_template_agrees_with_the_control(case: FixtureCase) -> None:
    """The committed template (not a fresh compilation) on the fixture; testing.admission_expectation says what
    each pytest verdict requires of admission."""
    check_fixture_in_gatekeeper(case, CATALOG, rego=template_rego(committed(case.control_id, "template.yaml")))


def test_the_differential_covers_every_generated_policy() -> None:
    assert len(KUBE) >= 30
    counted = {"compared": 0, "no object": 0}
    for case in CASES:
        result, target = verdict(case)
        counted["no object" if no_object(target) else "compared"] += 1
    without = sorted(set(KUBE) - {c.control_id for c in CASES})
    assert not without, f"controls with a Kubernetes policy but no fixtures: {without}"
    assert counted["compared"] >= 3 * len(KUBE), counted


def _disagreements(control: Control, rego: str) -> list[str]:
    catalog = Catalog([control if c.id == control.id else c for c in CATALOG])
    out = []
    for case in CASES:
        if case.control_id == control.id:
            try:
                check_fixture_in_gatekeeper(case, catalog, rego=rego)
            except FixtureError as exc:
                out.append(str(exc))
    return out


def test_a_wrong_rule_makes_the_differential_fail() -> None:
    """AKS-116 without the pod-level fallback: the Rego of that rule disagrees with the control's verdicts."""
    control = CATALOG["AKS-116"]
    spec = copy.deepcopy(dict(control.object_rule.spec.source))
    spec["checks"][1]["require"]["field"] = "securityContext.runAsNonRoot"
    wrong = KubeRule(spec)
    assert not _disagreements(control, control.object_rule.to_rego(control))
    assert _disagreements(control, wrong.to_rego(control)), "a rule that ignores pod-level runAsNonRoot went unnoticed"


def test_a_wrong_rego_operator_makes_the_differential_fail() -> None:
    """The twin of rules.compare('in', ...) taking the first element only: caught on the fixtures."""
    control = CATALOG["AKS-106"]
    rego = control.object_rule.to_rego(control)
    broken = rego.replace("    some x in xs\n    x == v\n", "    xs[0] == v\n")
    assert broken != rego
    assert not _disagreements(control, rego) and _disagreements(control, broken)


# --- both engines on random workloads, at every version that changes a check ----------------------------

WORKLOAD_RULES = [c for c in CATALOG if c.decision is Decision.OBJECT_RULE and c.object_rule.spec.workloads]
VERSIONS = ["latest", "v1.18", "v1.22", "v1.34"]


@pytest.mark.parametrize("version", VERSIONS)
def test_both_engines_agree_on_random_workloads(version: str, tmp_path: Path) -> None:
    objs = workloads(seed=VERSIONS.index(version) + 11, count=30)
    path = tmp_path / "workloads.yaml"
    path.write_text(yaml.safe_dump_all(objs), encoding="utf-8")
    ids = [c.id for c in WORKLOAD_RULES]
    params = {c.id: {"pssVersion": version} for c in WORKLOAD_RULES if "pssVersion" in c.parameter_defaults()}
    run = run_scan(ScanOptions(inputs=[K8sOptions(paths=[str(path)])], controls=ids, control_params=params))
    by_name = {o["metadata"]["name"]: o for o in objs}
    compared, mismatches = 0, []
    for r in run.results:
        if r.control_id not in ids:
            continue
        control = CATALOG[r.control_id]
        obj = by_name[r.key.rsplit("/", 1)[-1]]
        constraint = kubernetes.constraint_for(control, params.get(control.id))
        got = engine(control.id).count(obj, constraint["spec"].get("parameters", {})) > 0
        compared += 1
        if got != (r.outcome.value == "failed"):
            mismatches.append(f"{r.control_id} on {obj['metadata']['name']}: {r.outcome.value}, Rego "
                              f"{'violation' if got else 'none'}")
    assert compared >= 30 * len(ids) * 0.9
    assert not mismatches, mismatches[:10]


PSS_RULES = [c for c in WORKLOAD_RULES if "pssVersion" in c.parameter_defaults()]
VERSION_INPUTS = ["latest", "cluster", "LATEST", " v1.30 ", "1.19", "v1.100", "junk", None, True] + \
    [f"v1.{n}" for n in range(0, 41)]


@pytest.mark.parametrize("control", [c for c in PSS_RULES if c.object_rule.spec.derived or
                                     any(g for g in c.object_rule.spec.guards)] + [CATALOG["AKS-109"]],
                         ids=lambda c: c.id)
def test_version_derived_values_are_the_same_in_both_engines(control: Control) -> None:
    rego = engine(control.id)
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "app"},
           "spec": {"containers": [{"name": "c", "image": "i:1"}]}}
    for raw in VERSION_INPUTS:
        params = {} if raw is None else {"pssVersion": raw}
        python_version = version_number(pss_version(params, None))
        assert rego.value("_pss_version", pod, params) == python_version, raw
        for name, value in control.object_rule.derived_values(params, python_version).items():
            assert rego.value(f"_d_{name}", pod, params) == value, (raw, name)
    assert version_number(LATEST_PSS) == rego.value("_pss_version", pod, {"pssVersion": "cluster"})


# --- gator verify ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("control_id", sorted(KUBE))
def test_every_suite_passes_as_gator_verify_runs_it(control_id: str) -> None:
    folder = POLICIES / kubernetes.KUBERNETES_DIR / control_id
    suite = yaml.safe_load((folder / "suite.yaml").read_text(encoding="utf-8"))
    assert suite["kind"] == "Suite" and suite["apiVersion"] == "test.gatekeeper.sh/v1alpha1"
    cases = 0
    for test in suite["tests"]:
        template = yaml.safe_load((folder / test["template"]).read_text(encoding="utf-8"))
        constraint = yaml.safe_load((folder / test["constraint"]).read_text(encoding="utf-8"))
        assert constraint["kind"] == template["spec"]["crd"]["spec"]["names"]["kind"]
        assert template["metadata"]["name"] == constraint["kind"].lower()
        rego = Engine(template_rego(template))
        for case in test["cases"]:
            obj = yaml.safe_load((folder / case["object"]).read_text(encoding="utf-8"))
            n = len(rego.violations(obj, constraint["spec"].get("parameters", {}))) \
                if matches(constraint["spec"]["match"], obj) else 0
            for assertion in case["assertions"]:
                want = assertion["violations"]
                assert (n > 0) if want == "yes" else (n == 0) if want == "no" else n == int(want), \
                    (control_id, case["name"], n)
            cases += 1
    assert cases >= 2, f"{control_id}: a suite with a passing and a failing sample"
    names = {c["name"] for t in suite["tests"] for c in t["cases"]}
    assert any(n.startswith("passed-") for n in names) and any(n.startswith("failed-") for n in names)


# --- the definitions ------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def definition(control_id: str) -> dict[str, Any]:
    path = POLICIES / generate.DEFINITIONS_DIR / f"{control_id}.json"
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("control_id", sorted(KUBE))
def test_kubernetes_definition_carries_the_template_match_and_parameters(control_id: str) -> None:
    control = CATALOG[control_id]
    props = definition(control_id)["properties"]
    assert props["mode"] == "Microsoft.Kubernetes.Data" and props["metadata"]["category"] == "Kubernetes"
    assert props["metadata"]["aksCompliance"]["controlId"] == control_id
    assert props["metadata"]["aksCompliance"]["mappings"] == control.mappings.as_dict()
    params = props["parameters"]
    assert params["effect"]["allowedValues"] == ["audit", "deny", "disabled"]
    assert params["effect"]["defaultValue"] == "audit"
    assert params["excludedNamespaces"]["defaultValue"] == control.parameter_defaults()["excludedNamespaces"]
    assert params["namespaces"]["defaultValue"] == [] and params["labelSelector"]["defaultValue"] == {}
    rule = props["policyRule"]
    assert rule["if"] == {"field": "type", "in": ["Microsoft.Kubernetes/connectedClusters",
                                                  "Microsoft.ContainerService/managedClusters"]}
    details = rule["then"]["details"]
    assert details["templateInfo"]["sourceType"] == "Base64Encoded"
    text = (POLICIES / kubernetes.KUBERNETES_DIR / control_id / "template.yaml").read_text(encoding="utf-8")
    assert base64.b64decode(details["templateInfo"]["content"]).decode("utf-8") == text
    match = committed(control_id, "constraint.yaml")["spec"]["match"]
    assert sorted(details["apiGroups"]) == sorted({g for k in match["kinds"] for g in k["apiGroups"]})
    assert sorted(details["kinds"]) == sorted(k for entry in match["kinds"] for k in entry["kinds"])
    for key in ("excludedNamespaces", "namespaces", "labelSelector"):
        assert details[key] == f"[parameters('{key}')]"
    template_params = set(committed(control_id, "template.yaml")["spec"]["crd"]["spec"].get(
        "validation", {}).get("openAPIV3Schema", {}).get("properties", {}))
    values = details.get("values", {})
    assert set(values) == template_params == set(committed(control_id, "constraint.yaml")["spec"].get("parameters", {}))
    for name, value in values.items():
        assert value == f"[parameters('{name}')]" and params[name]["defaultValue"] == control.parameter_defaults()[name]
    assert set(params) == {"effect", "excludedNamespaces", "namespaces", "labelSelector"} | set(values)


def test_kubernetes_definitions_validate_against_the_schemas() -> None:
    """The ARM schema's PolicyDefinitionProperties accepts them whole. The 2020-10-01 rule schema predates the
    Kubernetes details (templateInfo, kinds ...) and rejects Microsoft's own Kubernetes built-ins there too: the rule
    is validated against it without ``then.details``, and the built-in's failure shows the gap is the schema's."""
    rule_schema = _validator("https://schema.management.azure.com/schemas/2020-10-01/policyDefinition.json")
    props_schema = _validator("https://schema.management.azure.com/schemas/2025-03-01/Microsoft.Authorization.json",
                              "/definitions/PolicyDefinitionProperties")
    problems = []
    for cid in KUBE:
        props = definition(cid)["properties"]
        rule = copy.deepcopy(props["policyRule"])
        del rule["then"]["details"]
        problems += [f"{cid} policyRule {e}" for e in _errors(rule_schema, rule)]
        problems += [f"{cid} properties {e}" for e in _errors(props_schema, props)]
    assert not problems, "\n".join(problems)
    builtin = json.loads(require_shared("azure-policy", "kubernetes", "definitions", "ContainerNoPrivilege.json")
                         .read_text(encoding="utf-8"))["properties"]["policyRule"]
    assert [e.split(":", 1)[0] for e in _errors(rule_schema, builtin)] == ["then/details"]


def test_a_converted_control_keeps_no_policy_gap_and_names_its_policy() -> None:
    from aks_compliance.controls.document import control_document

    for cid in KUBE:
        control = CATALOG[cid]
        assert control.policy_gap is None and control.policy_engine == "gatekeeper"
        doc = control_document(control)
        assert doc["policy"]["gatekeeper"] == f"policies/kubernetes/{cid}/" and doc["policy"]["effect"] == "audit"
    python_k8s = [c for c in CATALOG if not c.azure_side and c.decision is Decision.PYTHON]
    assert python_k8s and all(c.no_policy_reason() for c in python_k8s)


# --- Microsoft's built-in templates on the same fixtures ------------------------------------------------

@functools.lru_cache(maxsize=None)
def _builtins() -> dict[str, tuple[dict[str, Any], dict[str, Any], str]]:
    """GUID -> (definition properties, template, template name) for the built-ins whose template is in the set."""
    root = require_shared("azure-policy", "kubernetes")
    out = {}
    for line in (root / "INDEX.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        file, guid, _, template, _, in_repo = line.split("\t")
        if in_repo == "True":
            props = json.loads((root / "definitions" / file).read_text(encoding="utf-8"))["properties"]
            doc = yaml.safe_load((root / "templates" / template / "template.yaml").read_text(encoding="utf-8"))
            out[guid] = (props, doc, template)
    return out


def _resolve(value: Any, params: dict[str, Any]) -> Any:
    """A definition's ``values`` entry with its ``[parameters('x')]`` (and ``.prop``) references resolved."""
    if isinstance(value, str):
        m = re.fullmatch(r"\[parameters\('([^']+)'\)((?:\.\w+)*)\]", value)
        if not m:
            return value
        out = params[m.group(1)]
        for prop in m.group(2).split(".")[1:]:
            out = out[prop]
        return out
    if isinstance(value, dict):
        return {k: _resolve(v, params) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, params) for v in value]
    return value


def builtin_inputs(control: Control, guid: str, props: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the constraint's match, its values) as Azure Policy makes them from the built-in definition: its defaults,
    then the control's ``builtin_parameters`` (a definition parameter by name; any other name is a template
    input, for the templates of the reference set that are older than the definition that points to them)."""
    given = dict(control.builtin_parameters.get(guid, {}))
    params = {k: v.get("defaultValue") for k, v in props["parameters"].items()}
    params.update({k: v for k, v in given.items() if k in params})
    details = props["policyRule"]["then"]["details"]
    values = _resolve(details.get("values", {}), params)
    values.update({k: v for k, v in given.items() if k not in params})
    match = {"kinds": [{"apiGroups": details.get("apiGroups", [""]), "kinds": details["kinds"]}],
             "excludedNamespaces": params.get("excludedNamespaces") or [], "namespaces": params.get("namespaces") or []}
    return match, values


def as_admitted(obj: dict[str, Any]) -> dict[str, Any]:
    """What a built-in (matching Pods) sees of a workload: the Pod its controller creates from the template."""
    kind = obj.get("kind")
    if kind == "Pod" or kind not in kindlib.POD_PATHS:
        return obj
    spec_path, meta_path = kindlib.POD_PATHS[kind]

    def dig(path: tuple[str, ...]) -> dict[str, Any]:
        cur: Any = obj
        for key in path:
            cur = cur.get(key) if isinstance(cur, dict) else None
        return cur if isinstance(cur, dict) else {}

    meta = dict(dig(meta_path))
    meta.setdefault("name", f"{obj['metadata'].get('name')}-pod")
    meta["namespace"] = obj["metadata"].get("namespace", "default")
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": dig(spec_path)}


def compare_builtins(control: Control) -> dict[str, Any]:
    record: dict[str, Any] = {"comparisons": 0, "agree": 0, "differences": []}
    for guid in control.mappings.azure_policy:
        found = _builtins().get(guid)
        if found is None:
            continue
        props, template, name = found
        match, values = builtin_inputs(control, guid, props)
        rego = Engine(rego_v1(template_rego(template)))
        for case in fixture_cases(K8S, CATALOG):
            if case.control_id != control.id:
                continue
            result, target = verdict(case)
            if no_object(target):
                continue
            obj = as_admitted(target.resource.body)
            got = "not matched" if not matches(match, obj) else \
                "violation" if rego.violations(obj, values) else "no violation"
            record["comparisons"] += 1
            if (got == "violation") == (result.outcome.value == "failed"):
                record["agree"] += 1
            else:
                record["differences"].append(f"{control.id} vs built-in {name} ({guid}) on {case.path.name}: "
                                             f"control {result.outcome.value}, built-in {got}")
    return record


MAPPED = [c for c in CATALOG if not c.azure_side and any(g in _builtins() for g in c.mappings.azure_policy)] \
    if (ROOT.parent / "shared" / "azure-policy" / "kubernetes").is_dir() else []


@pytest.mark.parametrize("control", MAPPED, ids=lambda c: c.id)
def test_builtin_template_agrees_or_the_deviation_is_declared(control: Control) -> None:
    record = compare_builtins(control)
    assert record["comparisons"], f"{control.id}: no fixture to compare its built-in(s) on"
    if not control.builtin_deviation:
        assert not record["differences"], ("a built-in template disagrees and the control declares no "
                                           "builtin_deviation:\n  " + "\n  ".join(record["differences"]))
    else:
        assert record["differences"], (f"{control.id} declares a deviation from its built-in(s) but every fixture "
                                       "agrees: add a fixture that shows it, or remove the declaration")


def test_builtin_template_summary(capsys: pytest.CaptureFixture[str]) -> None:
    require_shared("azure-policy", "kubernetes")
    totals = {"comparisons": 0, "agree": 0, "differences": 0}
    deviating = []
    for control in MAPPED:
        record = compare_builtins(control)
        totals["comparisons"] += record["comparisons"]
        totals["agree"] += record["agree"]
        totals["differences"] += len(record["differences"])
        if record["differences"]:
            deviating.append(control.id)
    templates = {g for c in MAPPED for g in c.mappings.azure_policy if g in _builtins()}
    with capsys.disabled():
        print(f"\nbuilt-in Kubernetes templates: {totals['comparisons']} comparisons of {len(templates)} templates "
              f"with {len(MAPPED)} controls; {totals['agree']} agree, {totals['differences']} differ as declared by "
              f"{len(deviating)} control(s) ({', '.join(deviating) or 'none'})")
    assert totals["comparisons"] > 100 and totals["agree"] > totals["differences"]


def test_builtin_comparison_can_fail() -> None:
    """A built-in template turned into its opposite disagrees with the control on the fixtures."""
    control = CATALOG["AKS-103"]
    props, template, _ = _builtins()["82985f06-dc18-4a48-bc1c-b9f4f0098cfe"]
    match, values = builtin_inputs(control, "82985f06-dc18-4a48-bc1c-b9f4f0098cfe", props)
    good = Engine(rego_v1(template_rego(template)))
    bad = Engine(rego_v1(template_rego(template)).replace("input.review.object.spec.hostNetwork",
                                                          "not input.review.object.spec.hostNetwork"))
    differ = {"good": 0, "bad": 0}
    for case in fixture_cases(K8S, CATALOG):
        if case.control_id != "AKS-103":
            continue
        result, target = verdict(case)
        obj = as_admitted(target.resource.body)
        if not matches(match, obj):
            continue
        for key, rego in (("good", good), ("bad", bad)):
            differ[key] += bool(rego.violations(obj, values)) != (result.outcome.value == "failed")
    assert differ == {"good": 0, "bad": differ["bad"]} and differ["bad"] > 0


def test_every_builtin_template_runs_in_regopy_after_conversion() -> None:
    root = require_shared("azure-policy", "kubernetes", "templates")
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "app"},
           "spec": {"containers": [{"name": "c", "image": "i:1"}]}}
    for path in sorted(root.glob("*/template.yaml")):
        rego = Engine(rego_v1(template_rego(yaml.safe_load(path.read_text(encoding="utf-8")))))
        assert isinstance(rego.violations(pod, {}), list), path


def test_rego_v1_conversion_keeps_the_meaning() -> None:
    v0 = """package t

violation[{"msg": msg, "details": {}}] {
  c := input_containers[_]
  has_disallowed(c)
  msg := sprintf("no: %v", [c.name])
}

input_containers[c] {
  c := input.review.object.spec.containers[_]
}

has_disallowed(c) {
  input.parameters.denied[_] == c.caps[_]
}

has_disallowed(c) {
  startswith(c.name, trim(input.parameters.prefixes[_], "*"))
}

level(x) = out {
  x > 1
  out := "high"
}

ok = true { true }
"""
    v1 = rego_v1(v0)
    assert "violation contains {\"msg\": msg, \"details\": {}} if {" in v1
    assert "input_containers contains c if {" in v1 and "has_disallowed(c) if {" in v1
    assert "level(x) = out if {" in v1 and "ok = true if { true }" in v1
    rego = Engine(v1)
    pod = {"kind": "Pod", "spec": {"containers": [{"name": "a", "caps": ["X"]}, {"name": "b-1", "caps": []},
                                                  {"name": "c", "caps": ["Y"]}]}}
    msgs = sorted(v["msg"] for v in rego.violations(pod, {"denied": ["X"], "prefixes": ["b-*"]}))
    assert msgs == ["no: a", "no: b-1"]
    assert rego.value("level(2)", pod, {}) == "high"
