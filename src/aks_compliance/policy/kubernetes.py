"""Azure Policy for Kubernetes from the in-cluster controls decided by an object rule (Decision.OBJECT_RULE).

Per control, a folder laid out as gatekeeper-library lays out a policy::

    kubernetes/AKS-100/template.yaml      the ConstraintTemplate (the rule compiled to Rego, k8s/rego.py)
    kubernetes/AKS-100/constraint.yaml    a constraint: match (kinds, excludedNamespaces) and the parameters
    kubernetes/AKS-100/samples/*.yaml     allowed and disallowed objects, from the control's fixtures
    kubernetes/AKS-100/suite.yaml         the cases for Gatekeeper's own ``gator verify``

and an Azure Policy definition (``definitions/AKS-100.json``, mode ``Microsoft.Kubernetes.Data``) that carries
the template as ``templateInfo`` (``sourceType: Base64Encoded``), the kinds, ``excludedNamespaces``,
``namespaces``, ``labelSelector`` and the control's parameters as ``values``, with the Kubernetes effects
``audit`` (the default: audit first), ``deny`` and ``disabled``.

A sample is the object a fixture holds for the control (the one ``# expect-target:`` names, when several); its
case expects a violation when the fixture's outcome is ``failed`` and none when ``passed`` or
``not_applicable`` (an excluded namespace is not matched by the constraint). ``unknown`` fixtures and snapshots
have no admission counterpart and give no sample. Fixtures that set parameters get a constraint of their own.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..controls import CATALOG_VERSION, Control
from ..k8s.rego import TARGET, constraint_kind, template_name

KUBERNETES_DIR = "kubernetes"
EFFECTS = ("audit", "deny", "disabled")
CLUSTER_TYPES = ["Microsoft.Kubernetes/connectedClusters", "Microsoft.ContainerService/managedClusters"]
_OUTCOME = re.compile(r"^(passed|failed|not_applicable|unknown|manual)-")
_TARGET = re.compile(r"^#\s*expect-target:\s*(\S+)\s*$", re.M)
_PARAM = re.compile(r"^#\s*control-param:\s*([A-Za-z][A-Za-z0-9]*)=(.*?)\s*$", re.M)
LABEL_SELECTOR_SCHEMA = {
    "description": "A label query over the resources to evaluate: matchLabels and matchExpressions are ANDed; "
                   "empty matches all.",
    "type": "object",
    "properties": {
        "matchLabels": {"type": "object", "additionalProperties": {"type": "string"}, "minProperties": 1},
        "matchExpressions": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["key", "operator"], "additionalProperties": False,
            "properties": {"key": {"type": "string"},
                           "operator": {"type": "string", "enum": ["In", "NotIn", "Exists", "DoesNotExist"]},
                           "values": {"type": "array", "items": {"type": "string"}}}}},
    },
    "additionalProperties": False,
}


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    if "\n" in value:  # the Rego module: a literal block, readable in the file
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _str)


def dump_yaml(doc: Any) -> str:
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120, default_flow_style=False)


@dataclass(frozen=True)
class Sample:
    name: str  # the fixture's stem
    obj: dict[str, Any]
    violation: bool
    parameters: dict[str, Any] | None = None  # parameters other than the defaults (its own constraint)


@dataclass
class KubePolicy:
    control: Control
    template: dict[str, Any]
    constraint: dict[str, Any]
    samples: list[Sample] = field(default_factory=list)

    @property
    def folder(self) -> str:
        return f"{KUBERNETES_DIR}/{self.control.id}"

    def template_text(self) -> str:
        return dump_yaml(self.template)

    def files(self) -> dict[str, str]:
        out = {f"{self.folder}/template.yaml": self.template_text(),
               f"{self.folder}/constraint.yaml": dump_yaml(self.constraint)}
        for s in self.samples:
            out[f"{self.folder}/samples/{s.name}.yaml"] = dump_yaml(s.obj)
            if s.parameters is not None:
                out[f"{self.folder}/samples/{s.name}.constraint.yaml"] = dump_yaml(
                    constraint_for(self.control, s.parameters))
        out[f"{self.folder}/suite.yaml"] = dump_yaml(self.suite())
        return out

    def suite(self) -> dict[str, Any]:
        tests = []
        default = [s for s in self.samples if s.parameters is None]
        if default or not self.samples:
            tests.append({"name": self.control.id.lower(), "template": "template.yaml",
                          "constraint": "constraint.yaml", "cases": [_case(s) for s in default]})
        for s in self.samples:
            if s.parameters is not None:
                tests.append({"name": f"{self.control.id.lower()}-{s.name}", "template": "template.yaml",
                              "constraint": f"samples/{s.name}.constraint.yaml", "cases": [_case(s)]})
        return {"apiVersion": "test.gatekeeper.sh/v1alpha1", "kind": "Suite",
                "metadata": {"name": self.control.id.lower()}, "tests": tests}


def _case(s: Sample) -> dict[str, Any]:
    return {"name": s.name, "object": f"samples/{s.name}.yaml",
            "assertions": [{"violations": "yes" if s.violation else "no"}]}


# --- the template and the constraint ----------------------------------------------------------------------

def _schema(value: Any, type_name: str) -> dict[str, Any]:
    kind = type_name.lower()
    if kind == "array":
        items = value[0] if isinstance(value, list) and value else ""
        item_type = "integer" if isinstance(items, int) and not isinstance(items, bool) else \
            "boolean" if isinstance(items, bool) else "string"
        return {"type": "array", "items": {"type": item_type}}
    if kind == "object":
        return {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    return {"type": {"integer": "integer", "boolean": "boolean", "float": "number"}.get(kind, "string")}


def _items_pattern(param: Any) -> str | None:
    """The pattern every item of an Array parameter must match (globs, namespace wildcards), or None."""
    items = (param.schema or {}).get("items") if param.type.lower() == "array" else None
    return items.get("pattern") if isinstance(items, dict) else None


def rule_parameters(control: Control) -> list[Any]:
    """The control's parameters that reach the Rego (excludedNamespaces is the constraint's match)."""
    return [p for p in control.parameters if p.name != "excludedNamespaces"]


def build_template(control: Control) -> dict[str, Any]:
    assert control.object_rule is not None
    properties = {p.name: {**_schema(p.default, p.type), "description": " ".join(p.description.split())}
                  for p in rule_parameters(control)}
    for p in rule_parameters(control):  # Gatekeeper refuses a constraint whose pattern the engines read differently
        if _items_pattern(p):
            properties[p.name]["items"]["pattern"] = _items_pattern(p)
    crd: dict[str, Any] = {"names": {"kind": constraint_kind(control.id)}}
    if properties:
        crd["validation"] = {"openAPIV3Schema": {"type": "object", "properties": properties}}
    return {
        "apiVersion": "templates.gatekeeper.sh/v1",
        "kind": "ConstraintTemplate",
        "metadata": {"name": template_name(control.id), "annotations": {
            "metadata.gatekeeper.sh/title": f"[{control.id}] {control.title}",
            "metadata.gatekeeper.sh/version": CATALOG_VERSION,
            "description": " ".join(control.rationale.split()),
            "aks-compliance/control": control.id,
            **_pss_annotations(control)}},
        "spec": {"crd": {"spec": crd}, "targets": [{"target": TARGET, "rego": control.object_rule.to_rego(control)}]},
    }


def _pss_annotations(control: Control) -> dict[str, str]:
    """The Pod Security Standards level and check a template implements, for whoever selects templates by level."""
    out = {}
    if control.mappings.pss:
        out["aks-compliance/pss-level"] = ",".join(control.mappings.pss)
    checks = [t.split(":", 1)[1] for t in control.tags if t.startswith("pss:")]
    if checks:
        out["aks-compliance/pss-check"] = ",".join(checks)
    return out


def match_of(control: Control, excluded: list[str] | None = None) -> dict[str, Any]:
    assert control.object_rule is not None
    match: dict[str, Any] = {"kinds": control.object_rule.match_kinds()}
    if excluded is None:
        excluded = list(control.parameter_defaults().get("excludedNamespaces") or [])
    if excluded:
        match["excludedNamespaces"] = list(excluded)
    return match


def constraint_for(control: Control, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    values = {**control.parameter_defaults(), **(overrides or {})}
    spec: dict[str, Any] = {"match": match_of(control, list(values.get("excludedNamespaces") or []))}
    params = {p.name: values[p.name] for p in rule_parameters(control)}
    if params:
        spec["parameters"] = params
    return {"apiVersion": "constraints.gatekeeper.sh/v1beta1", "kind": constraint_kind(control.id),
            "metadata": {"name": control.id.lower()}, "spec": spec}


# --- samples from the fixtures ----------------------------------------------------------------------------

def _parse_value(text: str) -> Any:
    from ..option_values import parse_value
    return parse_value(text)


def samples_of(control: Control, fixtures: Path | None) -> list[Sample]:
    folder = fixtures / control.id if fixtures is not None else None
    if folder is None or not folder.is_dir():
        return []
    from ..k8s.targets import as_in_cluster
    assert control.object_rule is not None
    kinds = set(control.object_rule.spec.kinds)
    out = []
    for path in sorted(folder.iterdir()):
        m = _OUTCOME.match(path.name)
        if not m or path.suffix not in (".yaml", ".yml") or m.group(1) not in ("passed", "failed", "not_applicable"):
            continue
        text = path.read_text(encoding="utf-8")
        docs = [d for d in yaml.safe_load_all(text) if isinstance(d, dict)]
        as_in_cluster(docs, str(path))
        candidates = [d for d in docs if d.get("kind") in kinds]
        wanted = _TARGET.search(text)
        if wanted:
            candidates = [d for d in candidates if _names(d, wanted.group(1))]
        if len(candidates) != 1:
            continue  # the harness (testing.py) reports fixtures that do not hold one target
        params = {k: _parse_value(v) for k, v in _PARAM.findall(text)}
        out.append(Sample(path.stem, _admitted(candidates[0]), m.group(1) == "failed", params or None))
    return out


def _admitted(obj: dict[str, Any]) -> dict[str, Any]:
    """A sample as the API server admits it: a namespaced object written without a namespace is in kubectl's,
    default (k8s.gatekeeper.admitted_object), which the constraint's match then reads."""
    from ..k8s.gatekeeper import admitted_object
    from ..k8s.kinds import BUILTIN_CLUSTER_SCOPED
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    if obj.get("kind") in BUILTIN_CLUSTER_SCOPED or meta.get("namespace"):
        return obj
    return admitted_object(obj, "default")


def _names(obj: dict[str, Any], wanted: str) -> bool:
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    parts = wanted.split("/")
    if len(parts) == 2:
        return [obj.get("kind"), meta.get("name")] == parts
    if len(parts) == 3:
        return [meta.get("namespace"), obj.get("kind"), meta.get("name")] == parts
    return False


def build_policy(control: Control, fixtures: Path | None) -> KubePolicy:
    return KubePolicy(control, build_template(control), constraint_for(control), samples_of(control, fixtures))


# --- the Azure Policy definition --------------------------------------------------------------------------

def definition_parameters(control: Control) -> dict[str, Any]:
    defaults = control.parameter_defaults()
    excluded = next((p for p in control.parameters if p.name == "excludedNamespaces"), None)
    params: dict[str, Any] = {
        "effect": {"type": "String", "metadata": {
            "displayName": "Effect",
            "description": "audit reports non-compliant objects (Gatekeeper's audit), deny also rejects them at "
                           "admission, disabled turns the policy off. Start with audit."},
            "allowedValues": list(EFFECTS), "defaultValue": EFFECTS[0]},
        "excludedNamespaces": {"type": "Array", "metadata": {
            "displayName": "Namespace exclusions",
            "description": "Namespaces whose objects are not evaluated (Gatekeeper's match.excludedNamespaces): "
                           "names, or prefix and suffix globs (kube-*, *-system)."},
            "defaultValue": list(defaults.get("excludedNamespaces") or [])},
        "namespaces": {"type": "Array", "metadata": {
            "displayName": "Namespace inclusions",
            "description": "Namespaces to evaluate only; empty evaluates all namespaces."}, "defaultValue": []},
        "labelSelector": {"type": "Object", "metadata": {
            "displayName": "Kubernetes label selector",
            "description": "Objects to evaluate, by label; empty evaluates all."},
            "defaultValue": {}, "schema": LABEL_SELECTOR_SCHEMA},
    }
    for p in rule_parameters(control):
        if p.name in params:
            raise ValueError(f"{control.id}: parameter {p.name} is reserved in a Kubernetes definition")
        params[p.name] = p.policy_parameter()
        if _items_pattern(p):
            params[p.name]["schema"] = {"type": "array", "items": {"type": "string", "pattern": _items_pattern(p)}}
    if excluded is not None and _items_pattern(excluded):
        params["excludedNamespaces"]["schema"] = {"type": "array", "items": {"type": "string",
                                                                             "pattern": _items_pattern(excluded)}}
    return params


def policy_rule(control: Control, template_text: str) -> dict[str, Any]:
    assert control.object_rule is not None
    kinds = control.object_rule.match_kinds()
    details: dict[str, Any] = {
        "templateInfo": {"sourceType": "Base64Encoded",
                         "content": base64.b64encode(template_text.encode("utf-8")).decode("ascii")},
        "apiGroups": sorted({g for k in kinds for g in k["apiGroups"]}),
        "kinds": [k for entry in kinds for k in entry["kinds"]],
        "excludedNamespaces": "[parameters('excludedNamespaces')]",
        "namespaces": "[parameters('namespaces')]",
        "labelSelector": "[parameters('labelSelector')]",
    }
    values = {p.name: f"[parameters('{p.name}')]" for p in rule_parameters(control)}
    if values:
        details["values"] = values
    return {"if": {"field": "type", "in": CLUSTER_TYPES},
            "then": {"effect": "[parameters('effect')]", "details": details}}


__all__ = ["EFFECTS", "KUBERNETES_DIR", "KubePolicy", "Sample", "build_policy", "build_template", "constraint_for",
           "definition_parameters", "dump_yaml", "match_of", "policy_rule", "rule_parameters", "samples_of"]
