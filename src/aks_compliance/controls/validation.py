"""Checking a user's control declaration when it is loaded, the same for Python, YAML and entry points.

A declaration that cannot work is a usage error (exit 4) naming the file, the line and the control, found at
load: never an error result on every target, a crash in the middle of a scan, or a control that quietly
judges nothing. The YAML schema (``schemas/control-v1.schema.json``) checks a YAML file's shape first; this
checks what Python declarations can get wrong too (types, callables, parameters) and every rule: its
operators (by evaluating it once on an empty resource), its expressions and the parameters they read.
"""

from __future__ import annotations

from typing import Any

from .model import Control, Parameter, Severity

_PARAMETER_TYPES = ("string", "array", "integer", "boolean", "object", "float")


def declaration_problems(control: Control) -> list[tuple[str, str]]:
    """What is wrong with a control's declaration: (the field it is in, the problem); empty when nothing is."""
    problems: list[tuple[str, str]] = []
    for name in ("title", "rationale", "remediation", "section"):
        value = getattr(control, name)
        if not isinstance(value, str) or not value.strip():
            problems.append((name, f"{name} must be a non-empty string, not {value!r:.60}"))
    if not isinstance(control.severity, Severity):
        problems.append(("severity", f"severity must be one of {', '.join(s.value for s in Severity)}"))
    types = control.resource_types
    if not types or not all(isinstance(t, str) and t.strip() for t in types):
        problems.append(("resource_type", f"resource_type must be a type name or a list of them, not "
                                          f"{control.resource_type!r:.80}"))
    else:
        problems.extend(("resource_type", p) for p in _type_problems(types))
    if control.related is not None and (why := _related_type_problem(control.related.type)) is not None:
        problems.append(("related", why))
    for name in ("check", "not_applicable"):
        fn = getattr(control, name)
        if fn is not None and not callable(fn):
            problems.append((name, f"{name} must be a function (target, params), not {fn!r:.60}"))
    problems.extend(("parameters", p) for p in _parameter_problems(control.parameters))
    if not problems:
        problems.extend(_rule_problems(control))
    return problems


def declaration_error(control: Control) -> str | None:
    """The problems of a declaration in one message, or None."""
    problems = declaration_problems(control)
    return "; ".join(p for _, p in problems) if problems else None


def judged_types() -> tuple[str, ...]:
    """Every target type an input family gives: the Azure resources that are targets (arm/targets.py) and the
    Kubernetes target types. A control on any other type would judge nothing, and say nothing about it."""
    from ..k8s.kinds import TARGET_TYPES
    from ..resources import CLUSTER_TYPE, NEIGHBOUR_TYPES
    return (CLUSTER_TYPE, *NEIGHBOUR_TYPES, *TARGET_TYPES)


def _type_problems(types: tuple[str, ...]) -> list[str]:
    """A type no input gives is named, with the one it resembles (a misspelling) or the list of them."""
    import difflib

    known = judged_types()
    lower = {t.lower(): t for t in known}
    problems = []
    for t in types:
        if t.lower() in lower:
            continue
        close = difflib.get_close_matches(t.lower(), list(lower), n=1, cutoff=0.85)
        shown = [_spelled(k) for k in known]
        hint = f" (did you mean {_spelled(lower[close[0]])}?)" if close else \
            f"; the types it judges are: {', '.join(shown)}"
        problems.append(f"resource_type {t!r} is not a type this tool judges{hint}")
    return problems


# Azure types as Azure spells them (the tool's type lists keep them in lower case, for comparison)
_SPELLED = {t.lower(): t for t in (
    "Microsoft.ContainerService/managedClusters", "Microsoft.ContainerService/managedClusters/agentPools",
    "Microsoft.ContainerService/managedClusters/maintenanceConfigurations", "Microsoft.Insights/diagnosticSettings",
    "Microsoft.ContainerRegistry/registries", "Microsoft.KeyVault/vaults", "Microsoft.Network/applicationGateways",
    "Microsoft.Network/applicationGatewayWebApplicationFirewallPolicies", "Microsoft.Security/pricings",
    "Microsoft.Blueprint/blueprints/artifacts")}


def _spelled(t: str) -> str:
    return _SPELLED.get(t, t)


def _related_type_problem(rtype: Any) -> str | None:
    """A related type that misses one this tool attaches to its targets by a letter or two (the related types
    are open: a type scoped to a cluster is related to it, so only a near miss is known to be wrong)."""
    import difflib

    from ..diagnostics import AKS_RELEVANT_TYPES
    if not isinstance(rtype, str) or rtype.lower() in AKS_RELEVANT_TYPES:
        return None
    close = difflib.get_close_matches(rtype.lower(), sorted(AKS_RELEVANT_TYPES), n=1, cutoff=0.9)
    if not close:
        return None
    return f"related.type {rtype!r} is not a type this tool relates to a target (did you mean {_spelled(close[0])}?)"


def _parameter_problems(parameters: Any) -> list[str]:
    if not isinstance(parameters, tuple | list) or not all(isinstance(p, Parameter) for p in parameters):
        return ["parameters must be a tuple of aks_compliance.controls.Parameter"]
    problems: list[str] = []
    seen: set[str] = set()
    for p in parameters:
        if not isinstance(p.name, str) or not p.name:
            problems.append(f"a parameter's name must be a non-empty string, not {p.name!r:.60}")
            continue
        if p.name.lower() in seen:  # parameters are looked up case-insensitively, as Azure Policy does
            problems.append(f"parameter {p.name!r} is declared twice")
        seen.add(p.name.lower())
        if not isinstance(p.type, str) or p.type.lower() not in _PARAMETER_TYPES:
            problems.append(f"parameter {p.name!r}: type {p.type!r} is not one of String, Array, Integer, Boolean, "
                            "Object, Float")
            continue
        problems.extend(f"parameter {p.name!r}: its default {p.default!r:.80} {why}" for why in _default_problems(p))
    return problems


def _default_problems(p: Parameter) -> list[str]:
    import jsonschema

    try:
        jsonschema.validate(p.default, p.json_schema())
    except jsonschema.ValidationError as exc:
        return [f"does not fit its declaration: {exc.message}"]
    except jsonschema.SchemaError as exc:
        return [f"cannot be checked: its schema is invalid: {exc.message}"]
    return []


def _rule_problems(control: Control) -> list[tuple[str, str]]:
    """Each condition evaluated once on an empty resource (an unknown operator fails here), and its expressions
    read without evaluating them (a parameter the control lacks, a function the language lacks)."""
    from ..policy.conditions import Evaluator, PolicyDefinitionError, Subject, expression_problems

    if control.object_rule is not None:
        try:
            control.object_rule.to_rego(control)  # a parameter the rule reads but the control lacks fails here
        except (ValueError, TypeError, KeyError) as exc:
            return [("object_rule", f"object_rule: {exc}")]
        return []
    params = control.parameter_defaults()
    names = [p.name for p in control.parameters]
    conditions = [("rule", control.rule), ("applicability", control.applicability)]
    if control.related is not None:
        conditions.append(("related.existence_condition", control.related.existence_condition))
    problems: list[tuple[str, str]] = []
    for name, cond in conditions:
        if cond is None:
            continue
        key = name.split(".")[0]
        if not isinstance(cond, dict):
            problems.append((key, f"{name} must be a condition (an object), not {cond!r:.60}"))
            continue
        on = (control.related.type,) if name == "related.existence_condition" and control.related else \
            control.resource_types
        found = [f"{name}: {p}" for p in expression_problems(cond, names)]
        found += [f"{name}: field '{f}' is an alias of another resource type ({other}), not of {' or '.join(on)}: on "
                  "the resources this control judges it is always absent"
                  + (f" (and {n - 1} more field(s) of that type)" if n > 1 else "")
                  for other, (f, n) in _foreign_fields(cond, on).items()]
        if not found:
            try:
                Evaluator(Subject({"type": control.resource_types[0], "properties": {}}), params).verdict(cond)
            except PolicyDefinitionError as exc:
                found.append(f"{name}: {exc}")
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                found.append(f"{name}: cannot be evaluated: {type(exc).__name__}: {exc}")
        problems.extend((key, p) for p in found)
    return problems


def _foreign_fields(condition: Any, types: tuple[str, ...]) -> dict[str, tuple[str, int]]:
    """{the type it is an alias of: (the first such field, how many)} for the fields of a condition (count and
    where included) that are aliases of a type other than ``types``: one problem per type, not per field."""
    from ..policy.aliases import foreign_alias

    out: dict[str, tuple[str, int]] = {}

    def visit(node: Any) -> None:  # in document order: the first field named is the one shown
        if isinstance(node, dict):
            for key, value in node.items():
                if key.lower() == "field" and isinstance(value, str):
                    other = foreign_alias(value, types)
                    if other is not None:
                        first, n = out.get(other, (value, 0))
                        out[other] = (first, n + 1)
                else:
                    visit(value)
        elif isinstance(node, list):
            for item in node:
                visit(item)

    visit(condition)
    return out
