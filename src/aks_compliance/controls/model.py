"""The control model: one declaration per control, used by the tests, the policies and the reports."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping

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


@dataclass(frozen=True)
class Related:
    """A cross-resource check (AuditIfNotExists): compliant iff some related resource satisfies the condition."""

    type: str  # e.g. Microsoft.Insights/diagnosticSettings
    existence_condition: Mapping[str, Any]
    missing: str  # what the evidence says when no related resource exists


Check = Callable[["Target", Mapping[str, Any]], "Verdict"]


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

    @property
    def resource_types(self) -> tuple[str, ...]:
        return (self.resource_type,) if isinstance(self.resource_type, str) else tuple(self.resource_type)

    @property
    def azure_side(self) -> bool:
        """Evaluated on Azure resources (ARM types), not on Kubernetes objects."""
        return all(t.startswith("Microsoft.") for t in self.resource_types)

    @property
    def manual(self) -> bool:
        """No rule, related check or check function: an auditor decides (attestations)."""
        return self.rule is None and self.related is None and self.check is None

    def applies_to_type(self, target_type: str) -> bool:
        low = target_type.lower()
        return any(t.lower() == low for t in self.resource_types)

    def parameter_defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.parameters}

    def summary(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "severity": self.severity.value,
                "section": self.section, "mappings": self.mappings.as_dict()}
