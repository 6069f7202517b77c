"""Helpers for controls whose logic goes beyond the Azure Policy condition language.

A check is ``check(target, params) -> Verdict``. It reads values through the condition evaluator's
``select`` (so an unresolved expression arrives as an :class:`~aks_compliance.values.Unknown` and
is never mistaken for a value), records one :class:`~aks_compliance.policy.conditions.Leaf` per
comparison as evidence, and combines the comparisons with the same three-valued logic the evaluator
uses: a verdict depends on an unknown only when it must.

Values read from *another* resource (a WAF policy joined to its gateway, the vault behind a KMS key,
a subnet, a Log Analytics workspace) are cited at that resource's own file and line: their evidence
paths start with a join key (``WAF policy:waf-prod.properties.policySettings.mode``) that is
registered as an origin of the target's resource.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Mapping

from ..policy.conditions import MISSING, Evaluator, Leaf, Subject, Truth, Verdict
from ..resources import Resource
from ..targets import Target
from ..values import Placeholder, Unknown

T, F, U = Truth.TRUE, Truth.FALSE, Truth.UNKNOWN
MC = "Microsoft.ContainerService/managedClusters"
DS = "Microsoft.Insights/diagnosticSettings"
POOLS = f"{MC}/agentPoolProfiles[*]"


def all_of(truths: Iterable[Truth]) -> Truth:
    ts = list(truths)
    if F in ts:
        return F
    return U if U in ts else T


def any_of(truths: Iterable[Truth]) -> Truth:
    ts = list(truths)
    if T in ts:
        return T
    return U if U in ts else F


def lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def known(value: Any, what: str) -> Any:
    """A Placeholder (the deployment location) is a stand-in: deciding on it is unknown."""
    if isinstance(value, Placeholder):
        return Unknown(f"{what} is {value.reason}")
    return value


class Check:
    """The working state of one check on one target: value reading, evidence, reasons."""

    def __init__(self, target: Target, params: Mapping[str, Any]) -> None:
        self.target = target
        self.params = params
        self.leaves: list[Leaf] = []
        self.reasons: list[str] = []
        self._evaluators: dict[int, Evaluator] = {}

    # -- reading --
    def _ev(self, resource: Resource | None) -> Evaluator:
        r = resource or self.target.resource
        ev = self._evaluators.get(id(r))
        if ev is None:
            ev = Evaluator(Subject(r.body, strict=True, where=r.where_of), self.params)
            self._evaluators[id(r)] = ev
        return ev

    def select(self, alias: str, resource: Resource | None = None, member: tuple[str, Any] | None = None,
               prefix: str | None = None) -> list[tuple[str, Any]]:
        """``[(path, value)]`` of an alias on a resource (value MISSING when absent, Unknown if unknowable).

        With ``member`` (a ``(path, value)`` from a ``[*]`` selection) and the ``prefix`` alias it
        was selected with, reads the alias relative to that member, as a count's ``where`` would.
        """
        ev = self._ev(resource)
        bindings: tuple = ()
        if member is not None and prefix is not None:
            from ..policy.conditions import Member
            alias_obj = ev.aliases.resolve(prefix)
            assert alias_obj is not None, prefix
            bindings = (Member(alias_obj.segments, member[0], member[1]),)
        return ev.select(alias, bindings)[1]

    def value(self, alias: str, resource: Resource | None = None, member: tuple[str, Any] | None = None,
              prefix: str | None = None) -> tuple[str, Any]:
        values = self.select(alias, resource, member, prefix)
        return values[0] if values else ("", MISSING)

    def members(self, alias: str, resource: Resource | None = None) -> list[tuple[str, Any]] | Unknown:
        """The members of a ``[*]`` alias; an Unknown when the array itself (or a member) is unknowable."""
        values = self.select(alias, resource)
        for _, v in values:
            if isinstance(v, Unknown):
                return v
        return [(p, v) for p, v in values if v is not MISSING]

    def intact(self, resource: Resource, label: str) -> None:
        """Raise why ARM or AKS rejects ``resource``, a resource the verdict rests on (a malformed shape, an
        expression ARM cannot evaluate), cited at its own file and line: it is never created, so it satisfies
        nothing, and the control is an error naming it."""
        from ..arm.shapes import rejection_of
        bad = rejection_of(resource)
        if bad is not None:
            bad.path = self.joined(resource, bad.path, label)
            raise bad

    # -- evidence --
    def joined(self, resource: Resource, path: str, label: str) -> str:
        """An evidence path for ``path`` in another resource, cited at that resource's file and line."""
        if resource is self.target.resource:
            return path
        name = resource.display_name() if isinstance(resource.full_name, str) else f"@{resource.source.line}"
        key = re.sub(r"[^A-Za-z0-9_:@-]", "_", f"{label}:{name}")
        origins = self.target.resource.origins
        origins[(key,)] = resource.source
        for prefix, cited in resource.origins.items():  # parts it read from elsewhere (the CLI's top level)
            origins[(key, *prefix)] = cited
        return f"{key}.{path}" if path else key

    def record(self, path: str, operator: str, expected: Any, actual: Any, truth: Truth,
               reason: str | None = None) -> Truth:
        if isinstance(actual, Unknown):
            truth = U
            self.reasons.append(actual.reason)
        elif truth is U and reason:
            self.reasons.append(reason)
        elif truth is U:
            self.reasons.append(f"{path}: the value cannot be known offline")
        self.leaves.append(Leaf(path, operator, expected, actual, truth))
        return truth

    def compare(self, path: str, operator: str, expected: Any, actual: Any, ok: bool) -> Truth:
        return self.record(path, operator, expected, actual, T if ok else F)

    def unknown(self, path: str, reason: str, expected: Any = "a known value", operator: str = "is") -> Truth:
        return self.record(path, operator, expected, Unknown(reason), U)

    def verdict(self, truth: Truth) -> Verdict:
        reasons = list(dict.fromkeys(self.reasons)) if truth is U else []
        return Verdict(truth, reasons, self.leaves)


# --- versions ----------------------------------------------------------------------------------------

_VERSION = re.compile(r"^\s*v?(\d+)\.(\d+)(?:\.(\d+))?\s*$")


def parse_version(text: Any) -> tuple[int, int, int | None] | None:
    """``"1.30.5"`` -> (1, 30, 5); ``"1.30"`` -> (1, 30, None): AKS picks the newest patch of 1.30."""
    if not isinstance(text, str):
        return None
    m = _VERSION.match(text)
    if not m:
        return None
    return int(m.group(1)), int(m.group(2)), int(m.group(3)) if m.group(3) is not None else None


def version_at_least(version: tuple[int, int, int | None], minimum: tuple[int, int, int | None]) -> bool:
    """A version without a patch is the newest patch of its minor, so it meets a minimum of that minor."""
    if version[:2] != minimum[:2]:
        return version[:2] > minimum[:2]
    if version[2] is None or minimum[2] is None:
        return True
    return version[2] >= minimum[2]


# --- node pools --------------------------------------------------------------------------------------

def pools(check: Check) -> list[tuple[str, Any]] | Unknown:
    """Every node pool of the cluster (agentPoolProfiles, with separate agentPools resources merged in)."""
    return check.members(POOLS)


def pool_field(check: Check, pool: tuple[str, Any], field: str) -> tuple[str, Any]:
    return check.value(f"{POOLS}.{field}", member=pool, prefix=POOLS)


def pool_name(check: Check, pool: tuple[str, Any]) -> str:
    _, name = pool_field(check, pool, "name")
    return name if isinstance(name, str) else pool[0]


# Pool modes that are not system pools (AgentPoolMode: User runs applications, Gateway provides static egress
# IPs, Machines hosts machines; System and ManagedSystem are system pools).
NON_SYSTEM_MODES = ("User", "Gateway", "Machines")


def is_system_pool(check: Check, pool: tuple[str, Any]) -> Any:
    """A pool is a system pool unless its mode says otherwise (an absent mode counts as System, as PSRule counts;
    ARM always returns a mode). A request at an API version before 2020-03-01 has no mode: AKS made its pools
    User pools, and arm/defaults.py fills that in."""
    _, mode = pool_field(check, pool, "mode")
    if isinstance(mode, Unknown):
        return mode
    return lower(mode) not in {m.lower() for m in NON_SYSTEM_MODES}


def body_path_text(steps: tuple) -> str:
    """("properties", "subnets", 2) -> "properties.subnets[2]"."""
    out = ""
    for s in steps:
        out += f"[{s}]" if isinstance(s, int) else (f".{s}" if out else str(s))
    return out
