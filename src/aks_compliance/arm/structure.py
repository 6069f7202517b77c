"""The keys of a template's structure, spelt as ARM reads them: case-insensitively.

ARM reads a template's sections and a resource's declaration fields whatever their case (``"Resources"``,
``"Properties"``, ``"DefaultValue"``, ``"Copy"``, as its functions and property accesses are), so a template
written that way deploys like one in camelCase. The expander reads the canonical spellings only; this module
gives it a template whose structural keys are spelt canonically. Only the structure is renamed: a resource's
``properties`` are the resource provider's (read case-insensitively where controls read them) and are kept as
written, except the inline template and parameters of a nested deployment, which are structure again.
Pointers built from the canonical keys still find their lines (line lookups ignore case).
"""

from __future__ import annotations

import functools
from typing import Any

_TEMPLATE = ("$schema", "contentVersion", "languageVersion", "apiProfile", "definitions", "parameters", "variables",
             "functions", "resources", "outputs", "metadata", "imports", "extensions")
_PARAMETER = ("type", "defaultValue", "allowedValues", "minValue", "maxValue", "minLength", "maxLength", "metadata",
              "nullable", "$ref", "items", "properties")
_COPY = ("name", "count", "mode", "batchSize", "input")
_RESOURCE = ("type", "apiVersion", "name", "location", "properties", "copy", "condition", "dependsOn", "resources",
             "scope", "existing", "sku", "kind", "identity", "tags", "zones", "plan", "comments", "import",
             "extension", "managedBy", "resourceGroup", "subscriptionId", "metadata", "extendedLocation")
_DEPLOYMENT_PROPERTIES = ("mode", "template", "templateLink", "parameters", "parametersLink",
                          "expressionEvaluationOptions")
_OUTPUT = ("type", "value", "copy", "condition")
_FUNCTION_NAMESPACE = ("namespace", "members")
_FUNCTION = ("parameters", "output")
_NESTED_TEMPLATE_TYPES = ("microsoft.resources/deployments", "microsoft.blueprint/blueprints/artifacts")


@functools.lru_cache(maxsize=None)
def _spellings(names: tuple[str, ...]) -> tuple[frozenset[str], dict[str, str]]:
    return frozenset(names), {n.lower(): n for n in names}


def _canon(obj: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """``obj`` with the keys in ``names`` spelt as there (order kept); a key spelt exactly wins over another
    spelling of it, as ARM reads the first it matches only when the spelling is not exact."""
    exact, wanted = _spellings(names)
    for k in obj:
        if k not in exact and isinstance(k, str) and k.lower() in wanted:
            break
    else:
        return obj  # already canonical (nearly every template): no copy
    out: dict[str, Any] = {}
    for k, v in obj.items():
        canonical = wanted.get(k.lower())
        if canonical is None:
            out[k] = v
        elif k == canonical:
            out[k] = v
        elif canonical not in obj:
            out.setdefault(canonical, v)
    return out


def canonical_copy(spec: dict[str, Any]) -> dict[str, Any]:
    """A copy loop (of a resource, property, variable or output) with ``name``, ``count``, ``input``... spelt
    canonically."""
    return _canon(spec, _COPY)


def is_property_copy(key: str, value: Any) -> bool:
    """Whether ``key: value`` inside a resource's properties is a property copy loop (``"copy": [{..."input"}]``)."""
    return key.lower() == "copy" and isinstance(value, list) and bool(value) and all(
        isinstance(c, dict) and any(k.lower() == "input" for k in c) for c in value)


def _each(value: Any, fn) -> Any:
    if isinstance(value, dict):
        return {k: fn(v) if isinstance(v, dict) else v for k, v in value.items()}
    return value


def canonical_template(template: Any) -> Any:
    """``template`` with its structural keys (sections, parameters, copy loops, resources, nested templates,
    outputs, functions) spelt canonically."""
    if not isinstance(template, dict):
        return template
    t = dict(_canon(template, _TEMPLATE))
    if isinstance(t.get("parameters"), dict):
        t["parameters"] = _each(t["parameters"], lambda p: _canon(p, _PARAMETER))
    variables = t.get("variables")
    if isinstance(variables, dict):
        variables = _canon(variables, ("copy",))
        if isinstance(variables.get("copy"), list):
            variables = dict(variables)
            variables["copy"] = [_canon(c, _COPY) if isinstance(c, dict) else c for c in variables["copy"]]
        t["variables"] = variables
    if isinstance(t.get("functions"), list):
        t["functions"] = [_function_namespace(ns) for ns in t["functions"]]
    if isinstance(t.get("outputs"), dict):
        t["outputs"] = _each(t["outputs"], _output)
    resources = t.get("resources")
    if isinstance(resources, list):
        t["resources"] = [canonical_resource(r) for r in resources]
    elif isinstance(resources, dict):
        t["resources"] = {k: canonical_resource(r) for k, r in resources.items()}
    return t


def _output(spec: dict[str, Any]) -> dict[str, Any]:
    out = _canon(spec, _OUTPUT)
    if isinstance(out.get("copy"), dict):
        out = dict(out)
        out["copy"] = _canon(out["copy"], _COPY)
    return out


def _function_namespace(ns: Any) -> Any:
    if not isinstance(ns, dict):
        return ns
    ns = dict(_canon(ns, _FUNCTION_NAMESPACE))
    if isinstance(ns.get("members"), dict):
        ns["members"] = _each(ns["members"], _function)
    return ns


def _function(spec: dict[str, Any]) -> dict[str, Any]:
    spec = dict(_canon(spec, _FUNCTION))
    if isinstance(spec.get("parameters"), list):
        spec["parameters"] = [_canon(p, ("name", "type")) if isinstance(p, dict) else p for p in spec["parameters"]]
    if isinstance(spec.get("output"), dict):
        spec["output"] = _canon(spec["output"], ("type", "value"))
    return spec


def canonical_resource(raw: Any) -> Any:
    """A resource declaration with its fields, copy loop, children and (for a nested deployment or blueprint
    artifact) inline template spelt canonically."""
    if not isinstance(raw, dict):
        return raw
    r = _canon(raw, _RESOURCE)
    copied = r is not raw
    def own() -> dict[str, Any]:
        nonlocal r, copied
        if not copied:
            r, copied = dict(r), True
        return r
    if isinstance(r.get("copy"), dict):
        own()["copy"] = _canon(r["copy"], _COPY)
    children = r.get("resources")
    if isinstance(children, list):
        own()["resources"] = [canonical_resource(c) for c in children]
    rtype = r.get("type")
    props = r.get("properties")
    if isinstance(rtype, str) and rtype.lower() in _NESTED_TEMPLATE_TYPES and isinstance(props, dict):
        props = dict(_canon(props, _DEPLOYMENT_PROPERTIES))
        if isinstance(props.get("template"), dict):
            props["template"] = canonical_template(props["template"])
        if isinstance(props.get("parameters"), dict):
            props["parameters"] = _each(props["parameters"], lambda p: _canon(p, ("value", "reference")))
        if isinstance(props.get("expressionEvaluationOptions"), dict):
            props["expressionEvaluationOptions"] = _canon(props["expressionEvaluationOptions"], ("scope",))
        own()["properties"] = props
    return r
