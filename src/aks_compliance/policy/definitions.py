"""Evaluating whole Azure Policy definitions (``policyRule`` with its effect) offline.

The condition language is :mod:`aks_compliance.policy.conditions`; this module adds what a
definition has around it, as ``policy-language.md`` §8-§9 describe for an offline evaluator:

* parameters: each one's ``defaultValue``, or a value given by the caller (an assignment);
* ``mode``: ``Indexed`` skips types that do not carry tags and location (reported NotApplicable);
* the effect, usually ``[parameters('effect')]``: ``disabled`` is not evaluated; ``audit``, ``deny``,
  ``modify``, ``append``: ``if`` true -> NonCompliant; ``auditIfNotExists``/``deployIfNotExists``:
  ``if`` true -> Compliant iff some related resource of ``details.type`` (and ``details.name`` when
  given) satisfies ``existenceCondition``; ``field()`` inside it refers to the if-resource;
  ``manual``: ``details.defaultState``.

A third value, Unknown, carries over from the condition evaluator (a value not knowable offline),
and Error is Azure's evaluation failure. Related resources come in two lists, as targets hold them:
those known to belong to the resource, and those whose scope could not be resolved (these can make
a verdict unknown, never compliant).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from ..arm.shapes import rejection_of
from .aliases import DEFAULT_ALIASES, AliasResolver
from .conditions import Evaluator, PolicyDefinitionError, Subject, Truth


class State(str, enum.Enum):
    COMPLIANT = "Compliant"
    NON_COMPLIANT = "NonCompliant"
    NOT_APPLICABLE = "NotApplicable"  # mode Indexed on a type without tags/location
    DISABLED = "Disabled"  # effect disabled: Azure does not evaluate
    UNKNOWN = "Unknown"  # a value this offline evaluation cannot know
    ERROR = "Error"  # Azure's evaluation failure (template function error, type mismatch)


# Types evaluated in mode Indexed: resource types that carry tags and location. Child resources and
# extension resources (diagnostic settings, Defender pricings, maintenance assignments) do not.
INDEXED_TYPES = frozenset(t.lower() for t in (
    "Microsoft.ContainerService/managedClusters",
    "Microsoft.ContainerService/fleets",
    "Microsoft.ContainerRegistry/registries",
    "Microsoft.KeyVault/vaults",
    "Microsoft.KeyVault/managedHSMs",
    "Microsoft.Network/applicationGateways",
    "Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies",
    "Microsoft.Network/frontDoorWebApplicationFirewallPolicies",
    "Microsoft.Network/networkSecurityGroups",
    "Microsoft.Network/virtualNetworks",
    "Microsoft.Network/publicIPAddresses",
    "Microsoft.Network/privateEndpoints",
    "Microsoft.Network/azureFirewalls",
    "Microsoft.Network/firewallPolicies",
    "Microsoft.Network/routeTables",
    "Microsoft.Network/loadBalancers",
    "Microsoft.OperationalInsights/workspaces",
    "Microsoft.Storage/storageAccounts",
    "Microsoft.Compute/diskEncryptionSets",
    "Microsoft.ManagedIdentity/userAssignedIdentities",
    "Microsoft.Maintenance/maintenanceConfigurations",
))


def supports_indexed(resource_type: str) -> bool:
    return resource_type.lower() in INDEXED_TYPES


@dataclass
class RelatedSet:
    """Related resources of one type, as (body, full_name) pairs."""

    known: list[tuple[Mapping[str, Any], str | None]] = field(default_factory=list)
    maybe: list[tuple[Mapping[str, Any], str | None]] = field(default_factory=list)


@dataclass
class DefinitionVerdict:
    state: State
    effect: str
    reasons: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = f"{self.state.value} (effect {self.effect})"
        return text + (": " + "; ".join(self.reasons) if self.reasons else "")


def _ci(node: Mapping[str, Any]) -> dict[str, Any]:
    return {k.lower(): v for k, v in node.items()}


def properties_of(definition: Mapping[str, Any]) -> Mapping[str, Any]:
    """A definition document (``{name, properties: {...}}``) or its bare properties."""
    props = _ci(definition).get("properties")
    return props if isinstance(props, Mapping) else definition


def resolve_parameters(definition: Mapping[str, Any], given: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Each declared parameter's value: given (case-insensitive name) or its defaultValue."""
    declared = _ci(properties_of(definition)).get("parameters") or {}
    given_ci = {k.lower(): v for k, v in (given or {}).items()}
    unknown = sorted(set(given_ci) - {k.lower() for k in declared})
    if unknown:
        raise PolicyDefinitionError(f"the definition declares no parameter(s) {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for name, spec in declared.items():
        spec_ci = _ci(spec) if isinstance(spec, Mapping) else {}
        if name.lower() in given_ci:
            value = given_ci[name.lower()]
        elif "defaultvalue" in spec_ci:
            value = spec_ci["defaultvalue"]
        else:
            raise PolicyDefinitionError(f"parameter '{name}' has no defaultValue and no value was given")
        allowed = spec_ci.get("allowedvalues")
        if isinstance(allowed, list):
            items = value if isinstance(value, list) and str(spec_ci.get("type", "")).lower() == "array" else [value]
            low = [a.lower() if isinstance(a, str) else a for a in allowed]
            bad = [v for v in items if (v.lower() if isinstance(v, str) else v) not in low]
            if bad:
                raise PolicyDefinitionError(f"parameter '{name}': {bad} not among the allowedValues {allowed}")
        values[name] = value
    return values


class _ExistenceEvaluator(Evaluator):
    """Evaluates an existenceCondition on a related resource; ``field()`` reads the if-resource."""

    def __init__(self, related: Subject, if_evaluator: Evaluator, parameters: Mapping[str, Any],
                 aliases: AliasResolver) -> None:
        super().__init__(related, parameters, aliases)
        self._if = if_evaluator

    def field_function(self, name: str, bindings: tuple) -> Any:
        return self._if.field_function(name, ())


def evaluate_definition(definition: Mapping[str, Any], body: Mapping[str, Any], *,
                        resource_type: str | None = None, full_name: str | None = None,
                        related: Mapping[str, RelatedSet] | None = None,
                        parameters: Mapping[str, Any] | None = None,
                        aliases: AliasResolver = DEFAULT_ALIASES) -> DefinitionVerdict:
    """The compliance state Azure would record for this resource under ``definition``.

    ``related`` maps lower-case resource types to the related resources found for this resource.
    Raises :class:`PolicyDefinitionError` when the definition itself is invalid.
    """
    props = _ci(properties_of(definition))
    rule = props.get("policyrule")
    if not isinstance(rule, Mapping):
        raise PolicyDefinitionError("the definition has no policyRule object")
    rule_ci = _ci(rule)
    if "if" not in rule_ci or not isinstance(rule_ci.get("then"), Mapping):
        raise PolicyDefinitionError("policyRule needs 'if' and 'then'")
    then = _ci(rule_ci["then"])
    values = resolve_parameters(definition, parameters)
    if_eval = Evaluator(Subject(body, full_name=full_name), values, aliases)

    raw_effect = then.get("effect")
    effect = if_eval.operand(raw_effect, ()) if isinstance(raw_effect, str) else raw_effect
    if not isinstance(effect, str):
        raise PolicyDefinitionError(f"the effect must be a string, not {raw_effect!r}")
    eff = effect.lower()
    if eff == "disabled":
        return DefinitionVerdict(State.DISABLED, effect)

    mode = str(props.get("mode") or "Indexed").lower()
    if mode not in ("all", "indexed"):
        raise PolicyDefinitionError(f"mode {props.get('mode')} is a Resource Provider mode (e.g. Azure Policy for "
                                    "Kubernetes); this evaluator covers the ARM modes All and Indexed")
    rtype = resource_type or (body.get("type") if isinstance(body.get("type"), str) else "")
    if mode == "indexed" and not supports_indexed(str(rtype)):
        return DefinitionVerdict(State.NOT_APPLICABLE, effect, [f"mode Indexed does not evaluate {rtype}"])

    verdict = if_eval.verdict(rule_ci["if"])
    if verdict.truth is Truth.FALSE:
        return DefinitionVerdict(State.COMPLIANT, effect)
    if verdict.truth is Truth.ERROR:
        return DefinitionVerdict(State.ERROR, effect, verdict.reasons)
    if verdict.truth is Truth.UNKNOWN:
        # whether the rule applies is unknown: so is the compliance state (unknown is never compliant)
        return DefinitionVerdict(State.UNKNOWN, effect, verdict.reasons)

    if eff in ("audit", "deny", "modify", "append", "denyaction"):
        return DefinitionVerdict(State.NON_COMPLIANT, effect)
    details = _ci(then.get("details") or {})
    if eff == "manual":
        default = str(details.get("defaultstate", "Unknown"))
        state = {"compliant": State.COMPLIANT, "noncompliant": State.NON_COMPLIANT}.get(default.lower(), State.UNKNOWN)
        return DefinitionVerdict(state, effect, [f"manual effect, defaultState {default}"])
    if eff not in ("auditifnotexists", "deployifnotexists"):
        raise PolicyDefinitionError(f"unknown effect '{effect}'")
    own = (str(rtype), body, full_name)
    return _existence(details, if_eval, related or {}, values, aliases, effect, own)


def _existence(details: Mapping[str, Any], if_eval: Evaluator, related: Mapping[str, RelatedSet],
               values: Mapping[str, Any], aliases: AliasResolver, effect: str,
               own: tuple[str, Mapping[str, Any], str | None]) -> DefinitionVerdict:
    rtype = details.get("type")
    if not isinstance(rtype, str):
        raise PolicyDefinitionError(f"{effect} needs details.type")
    condition = details.get("existencecondition")
    wanted_name = details.get("name")
    if isinstance(wanted_name, str):
        wanted_name = if_eval.operand(wanted_name, ())
    found = related.get(rtype.lower(), RelatedSet())
    if own[0].lower() == rtype.lower():
        # details.type is the resource's own type (e.g. with name [field('name')]): the resource itself
        # is a candidate, as Azure finds it among the resources of that type in its resource group
        found = RelatedSet(known=[(own[1], own[2])] + list(found.known), maybe=list(found.maybe))

    def candidates(items: Iterable[tuple[Mapping[str, Any], str | None]]) -> list:
        out = []
        for body, name in items:
            if isinstance(wanted_name, str):
                short = (name or str(body.get("name", ""))).rsplit("/", 1)[-1]
                if short.lower() != wanted_name.lower():
                    continue
            out.append((body, name))
        return out

    known, maybe = candidates(found.known), candidates(found.maybe)
    reasons: list[str] = []
    errors: list[str] = []
    for i, (body, name) in enumerate(known + maybe):
        is_known = i < len(known)
        if condition is None:
            truth, why = Truth.TRUE, []
        else:
            v = _ExistenceEvaluator(Subject(body, full_name=name), if_eval, values, aliases).verdict(condition)
            truth, why = v.truth, v.reasons
        if truth is Truth.TRUE:
            if is_known:
                return DefinitionVerdict(State.COMPLIANT, effect)
            reasons.append(f"{rtype} {name or '?'} satisfies the existenceCondition but its scope is unknown")
        elif truth is Truth.UNKNOWN:
            reasons.extend(why)
        elif truth is Truth.ERROR:
            errors.extend(why)
    if errors:
        return DefinitionVerdict(State.ERROR, effect, errors)
    if reasons:
        return DefinitionVerdict(State.UNKNOWN, effect, list(dict.fromkeys(reasons)))
    if not known and not maybe:
        return DefinitionVerdict(State.NON_COMPLIANT, effect, [f"no related {rtype}"])
    return DefinitionVerdict(State.NON_COMPLIANT, effect, [f"no related {rtype} satisfies the existenceCondition"])


def evaluate_on_target(definition: Mapping[str, Any], target: Any, parameters: Mapping[str, Any] | None = None,
                       aliases: AliasResolver = DEFAULT_ALIASES) -> DefinitionVerdict:
    """:func:`evaluate_definition` on a scan :class:`~aks_compliance.targets.Target`."""
    def pairs(resources: list) -> list[tuple[Mapping[str, Any], str | None]]:
        return [(r.body, r.full_name if isinstance(r.full_name, str) else None) for r in resources]

    related: dict[str, RelatedSet] = {}
    for rtype, resources in target.related.items():
        related.setdefault(rtype.lower(), RelatedSet()).known.extend(pairs(resources))
    for rtype, resources in target.maybe_related.items():
        related.setdefault(rtype.lower(), RelatedSet()).maybe.extend(pairs(resources))
    resource = target.resource
    name = resource.full_name if isinstance(resource.full_name, str) else None
    verdict = evaluate_definition(definition, resource.body, resource_type=resource.type, full_name=name,
                                  related=related, parameters=parameters, aliases=aliases)
    # what ARM or AKS rejects as a whole (a malformed shape, a field the API version lacks, an expression ARM
    # cannot evaluate): the request fails, as the engine says (arm/shapes.rejection_of, one place for both)
    rejection = rejection_of(resource) if isinstance(resource.type, str) and \
        not resource.type.lower().startswith("k8s/") else None
    if rejection is not None:  # the API rejects the request as a whole: no resource for a definition to judge
        return DefinitionVerdict(State.ERROR, verdict.effect, [str(rejection)])
    return verdict


__all__ = ["DefinitionVerdict", "INDEXED_TYPES", "RelatedSet", "State", "evaluate_definition", "evaluate_on_target",
           "properties_of", "resolve_parameters", "supports_indexed"]
