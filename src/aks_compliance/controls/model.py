"""The control model: one declaration per control, used by the tests, the policies and the reports."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping, Protocol

if TYPE_CHECKING:
    from ..engine import Target
    from ..policy.conditions import Verdict


class Severity(str, enum.Enum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"


@dataclass(frozen=True)
class Mappings:
    """What a control corresponds to elsewhere. Ids only; versions are stated by the field name."""

    cis_aks: tuple[str, ...] = ()  # CIS AKS Benchmark v1.8.0
    azure_policy: tuple[str, ...] = ()  # built-in policy definition GUIDs
    psrule: tuple[str, ...] = ()
    checkov: tuple[str, ...] = ()
    kubescape: tuple[str, ...] = ()
    pss: tuple[str, ...] = ()
    nist: tuple[str, ...] = ()
    mitre: tuple[str, ...] = ()  # MITRE ATT&CK technique ids (containers matrix), e.g. T1611

    def as_dict(self) -> dict[str, list[str]]:
        return {k: list(v) for k, v in self.__dict__.items() if v}


@dataclass(frozen=True)
class Parameter:
    """A threshold or list a user may override (``--control-param AKS-007.name=VALUE``)."""

    name: str
    default: Any
    description: str
    type: str = "String"  # Azure Policy parameter type: String, Array, Integer, Boolean
    allowed: tuple[Any, ...] | None = None
    # Further JSON Schema constraints on a value (a pattern for a version, an item enum, a minimum):
    # overrides from --control-param, --control-config and overlays are validated against them.
    schema: Mapping[str, Any] | None = None

    def policy_parameter(self) -> dict[str, Any]:
        """The parameter as an Azure Policy definition declares it (type, metadata, allowed values, default)."""
        spec: dict[str, Any] = {"type": self.type, "metadata": {"displayName": self.name,
                                                                "description": self.description}}
        if self.allowed is not None:
            spec["allowedValues"] = list(self.allowed)
        spec["defaultValue"] = self.default
        return spec

    def json_schema(self) -> dict[str, Any]:
        """The JSON Schema every value of this parameter must satisfy."""
        kind = _JSON_TYPES.get(self.type.lower())
        out: dict[str, Any] = {"type": kind} if kind else {}
        if self.allowed is not None:
            # as in Azure Policy, an Array parameter's allowed values are those of its items
            if kind == "array":
                out["items"] = {"enum": list(self.allowed)}
            else:
                out["enum"] = list(self.allowed)
        elif kind == "array" and isinstance(self.default, list) and all(isinstance(v, str) for v in self.default):
            out["items"] = {"type": "string"}  # lists of names, globs, categories
        if self.schema:
            for key, value in self.schema.items():  # items constraints add to the items' type
                out[key] = {**out[key], **value} if key == "items" and key in out else value
        return out


_JSON_TYPES = {"string": "string", "array": "array", "integer": "integer", "boolean": "boolean",
               "object": "object", "float": "number"}


@dataclass(frozen=True)
class Related:
    """A cross-resource check (AuditIfNotExists): compliant iff some related resource satisfies the condition."""

    type: str  # e.g. Microsoft.Insights/diagnosticSettings
    existence_condition: Mapping[str, Any]
    missing: str  # what the evidence says when no related resource exists


Check = Callable[["Target", Mapping[str, Any]], "Verdict"]


class Decision(str, enum.Enum):
    """How a control is decided: the one place docs, policy generation and reports derive from."""

    CONDITION = "condition"  # ``rule``: an Azure Policy condition -> a generated Azure Policy definition
    RELATED = "related"  # ``related``: an existence check on a related resource (AuditIfNotExists)
    OBJECT_RULE = "object_rule"  # ``object_rule``: a declarative in-cluster rule -> Python and Gatekeeper Rego
    PYTHON = "python"  # ``check``: a Python function beside the declaration; no generated policy
    MANUAL = "manual"  # nothing to evaluate: an auditor decides (attestations)


class ObjectRule(Protocol):
    """A declarative rule over one Kubernetes object, compiled to two engines: Python for the pytest verdict
    (``evaluate``) and Rego for a Gatekeeper ConstraintTemplate (``to_rego``)."""

    def evaluate(self, target: "Target", params: Mapping[str, Any]) -> "Verdict": ...

    def to_rego(self, control: "Control") -> str: ...


# An ARM resource type: a namespace with a dot, then one or more type segments.
ARM_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z0-9]+)+(/[A-Za-z][A-Za-z0-9-]*)+$")
# Control ids: PREFIX-SUFFIX. The built-ins are AKS-NNN; a user's controls take a prefix of their own.
CONTROL_ID = re.compile(r"^[A-Z][A-Z0-9]{1,15}-[A-Z0-9][A-Z0-9-]{0,39}$")
BUILTIN_PREFIX = "AKS"


@dataclass(frozen=True)
class Control:
    id: str
    title: str
    severity: Severity
    rationale: str
    remediation: str
    mappings: Mappings
    section: str  # grouping for reports: a CIS section ("CIS 5.4") or a practice ("Egress control")
    # The target type(s) the control is evaluated on (Target.type, compared case-insensitively).
    resource_type: str | tuple[str, ...] = "Microsoft.ContainerService/managedClusters"
    references: tuple[str, ...] = ()
    parameters: tuple[Parameter, ...] = ()
    # The compliant state, in the Azure Policy condition language.
    rule: Mapping[str, Any] | None = None
    related: Related | None = None
    # Richer logic than the condition language: a named function beside the declaration.
    check: Check | None = None
    # A declarative in-cluster rule (Decision.OBJECT_RULE): the pytest verdict and a Gatekeeper template
    # both come from it. ``check`` is then its Python form (set by the declaration helper).
    object_rule: ObjectRule | None = None
    # Python applicability beside ``check``: returns why the control does not apply to a target
    # (outcome not_applicable, with that reason), or None. For reasons the condition language cannot
    # state (an excluded Kubernetes namespace, a Pod Security Standards version without the check).
    not_applicable: Callable[["Target", Mapping[str, Any]], str | None] | None = None
    # When false, the control does not apply (outcome not_applicable, with applicability_text).
    applicability: Mapping[str, Any] | None = None
    applicability_text: str = ""
    # Why no Azure Policy definition can be generated (no alias, logic beyond the language), and
    # which built-in covers the concept if one does. None means a definition can be generated.
    policy_gap: str | None = None
    # Why the control deliberately gives a different verdict than its mapped built-in(s)
    # (mappings.azure_policy) on some input; the built-in agreement test expects agreement otherwise.
    builtin_deviation: str | None = None
    # Parameter values for the mapped built-ins when their defaults do not state this control's
    # intent: {built-in GUID: {parameter: value}}.
    builtin_parameters: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # Effects the generated definition allows, first is the default. None: Audit/Deny/Disabled for a
    # rule, AuditIfNotExists/Disabled for a related (cross-resource) check.
    policy_effects: tuple[str, ...] | None = None
    tags: tuple[str, ...] = field(default=())
    # The practice area (catalog module, or a user's file) the control is declared in; set by the loader.
    practice: str = ""
    # Where the control was declared: "aks-compliance" for the built-ins, else the user's file or package.
    origin: str = "aks-compliance"
    # How it is decided, derived once from what was declared (never given).
    decision: Decision = field(init=False, compare=False)

    def __post_init__(self) -> None:
        if self.object_rule is not None:
            decision = Decision.OBJECT_RULE
            if self.rule is not None or self.related is not None:
                raise ValueError(f"{self.id}: an object_rule control has no rule or related check")
        else:
            given = [d for d, v in ((Decision.CONDITION, self.rule), (Decision.RELATED, self.related),
                                    (Decision.PYTHON, self.check)) if v is not None]
            if len(given) > 1:
                raise ValueError(f"{self.id}: declare one of rule, related, check (got {', '.join(d.value for d in given)})")
            decision = given[0] if given else Decision.MANUAL
        object.__setattr__(self, "decision", decision)
        if not isinstance(self.severity, Severity):
            object.__setattr__(self, "severity", Severity(self.severity))

    @property
    def resource_types(self) -> tuple[str, ...]:
        return (self.resource_type,) if isinstance(self.resource_type, str) else tuple(self.resource_type)

    @property
    def azure_side(self) -> bool:
        """Evaluated on Azure resources (ARM types), not on Kubernetes objects."""
        return all(t.startswith("Microsoft.") for t in self.resource_types)

    @property
    def manual(self) -> bool:
        """Nothing to evaluate: an auditor decides (attestations)."""
        return self.decision is Decision.MANUAL

    @property
    def builtin(self) -> bool:
        return self.origin == "aks-compliance"

    @property
    def policy_engine(self) -> str | None:
        """Which generated policy the control gets: "azure-policy" (a definition for ARM resources),
        "gatekeeper" (Azure Policy for Kubernetes with a ConstraintTemplate), or None (see no_policy_reason)."""
        if self.no_policy_reason() is not None:
            return None
        return "gatekeeper" if self.decision is Decision.OBJECT_RULE else "azure-policy"

    def no_policy_reason(self) -> str | None:
        """Why no policy can be generated from this control, or None when one is."""
        if self.decision is Decision.MANUAL:
            return self.policy_gap or "a manual control: nothing to evaluate"
        if self.policy_gap:
            return self.policy_gap
        if self.decision is Decision.OBJECT_RULE:
            return None
        non_arm = [t for t in self.resource_types if not ARM_TYPE.match(t)]
        if non_arm:
            return (f"evaluated on {', '.join(non_arm)}, not an ARM resource type: an in-cluster check is outside "
                    "Azure Policy's ARM modes (Azure Policy for Kubernetes covers such checks with Gatekeeper "
                    "constraint templates)")
        if self.decision is Decision.PYTHON:
            name = getattr(self.check, "__name__", "a Python function")
            return f"decided by the Python function {name}(), beyond the Azure Policy condition language"
        if self.not_applicable is not None:
            name = getattr(self.not_applicable, "__name__", "a Python function")
            return (f"whether it applies is decided by the Python function {name}(), beyond the Azure Policy "
                    "condition language")
        return None

    def applies_to_type(self, target_type: str) -> bool:
        low = target_type.lower()
        return any(t.lower() == low for t in self.resource_types)

    def parameter_defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.parameters}

    def summary(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "severity": self.severity.value,
                "section": self.section, "decision": self.decision.value, "mappings": self.mappings.as_dict()}


CATALOG_VERSION = "0.1.0"


def _declared_at(origin: str, control_id: str) -> list[int]:
    """The lines of a control file that spell the id (YAML ``id: X``, Python ``id="X"``); none for an entry
    point or a file that cannot be read. Only asked when a collision is reported."""
    from pathlib import Path

    try:
        text = Path(origin).read_text(encoding="utf-8", errors="replace")
    except (OSError, ValueError):
        return []
    spelled = re.compile(rf"(?<![\w-]){re.escape(control_id)}(?![\w-])")
    return [n for n, line in enumerate(text.splitlines(), 1) if spelled.search(line)]


def _line_of_id(control: Control) -> str:
    """``:LINE`` of a user's control file where the id is spelled, or "" (a built-in, an entry point)."""
    if control.builtin or not isinstance(control.id, str):
        return ""
    lines = _declared_at(control.origin, control.id)
    return f":{lines[0]}" if lines else ""


class CatalogError(ValueError):
    """A control declaration that cannot be used (bad id, a collision, a broken file): a usage error."""


class Catalog:
    def __init__(self, controls: Iterable[Control], *, overlays: list[dict[str, Any]] | None = None,
                 sources: list[str] | None = None, disabled: dict[str, str] | None = None) -> None:
        seen: dict[str, Control] = {}
        for c in controls:
            if not CONTROL_ID.match(c.id):
                raise CatalogError(f"{c.origin}{_line_of_id(c)}: control id {c.id!r} is not of the form PREFIX-ID "
                                   f"(upper-case letters and digits, e.g. ACME-001)")
            if c.id.startswith(BUILTIN_PREFIX + "-") and not c.builtin:
                raise CatalogError(f"{c.origin}{_line_of_id(c)}: control id {c.id} uses the prefix {BUILTIN_PREFIX}-, "
                                   f"which is reserved for the built-in controls: choose a prefix of your own")
            if c.id in seen:
                first, second = _declared_at(seen[c.id].origin, c.id), _declared_at(c.origin, c.id)
                if seen[c.id].origin == c.origin:  # twice in one file: its first and second spelling
                    first, second = first[:1], first[1:2]
                raise CatalogError(f"control id {c.id} is declared twice: in {seen[c.id].origin}"
                                   f"{''.join(f':{n}' for n in first[:1])} and in {c.origin}"
                                   f"{''.join(f':{n}' for n in second[:1])}")
            seen[c.id] = c
        self._by_id = dict(sorted(seen.items()))
        # What shaped this catalog beyond the built-ins, for the reports' scope section.
        self.overlays = list(overlays or [])
        self.sources = list(sources or [])
        self.disabled = dict(disabled or {})  # control id -> why (an overlay disabled it)

    def __iter__(self) -> Iterator[Control]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, control_id: object) -> bool:
        return control_id in self._by_id

    def __getitem__(self, control_id: str) -> Control:
        return self._by_id[control_id]

    def get(self, control_id: str) -> Control | None:
        return self._by_id.get(control_id)

    def ids(self) -> list[str]:
        return list(self._by_id)

    def select(self, ids: list[str] | None) -> "Catalog":
        """The controls named (case-insensitively); CatalogError naming the ids that do not exist."""
        if not ids:
            return self
        upper = {i.upper(): i for i in self._by_id}
        unknown = [i for i in ids if i.upper() not in upper]
        if unknown:
            raise CatalogError(f"unknown control id(s): {'; '.join(self._why_unknown(i) for i in unknown)}")
        return self._derive([self._by_id[upper[i.upper()]] for i in dict.fromkeys(ids)])

    def _why_unknown(self, given: str) -> str:
        """An id that is not in the catalog, with why when the catalog can tell: a control an overlay disabled, or
        a prefix none of the loaded controls has (the user's own controls, not loaded)."""
        disabled = {k.upper(): v for k, v in self.disabled.items()}
        if given.upper() in disabled:
            return f"{given}: {disabled[given.upper()]}"
        prefix = given.upper().rsplit("-", 1)[0] + "-" if "-" in given else None
        if prefix and not any(i.startswith(prefix) for i in self._by_id):
            return (f"{given}: no control of the prefix {prefix} is loaded (your own controls are loaded with "
                    "--controls-path DIR or an installed package)")
        return given

    def _derive(self, controls: list[Control]) -> "Catalog":
        return Catalog(controls, overlays=self.overlays, sources=self.sources, disabled=self.disabled)

    def scope_document(self) -> dict[str, Any]:
        """What the reports' scope section says about the catalog: custom sources, overlays, disabled controls."""
        return {"version": CATALOG_VERSION, "controls": len(self), "custom": sum(not c.builtin for c in self),
                "sources": self.sources, "overlays": self.overlays,
                "disabled": [{"control_id": k, "reason": v} for k, v in sorted(self.disabled.items())]}
