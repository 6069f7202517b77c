"""What a scan says about its inputs besides verdicts: diagnostics, cluster declarations and the coverage ledger.

Every input family uses these (ARM, Kubernetes, live Azure, ...), so they live here, in a leaf module.

The **coverage ledger** accounts for every object a scan reads: each one is either *evaluated* (a target
of controls, or a related resource attached to one) or *not evaluated*, with the reason. Families add a
:class:`CoverageEntry` for each object they read that does not become a target (an ``existing``
reference, a resource whose condition is false, a type no control covers, a file that is not an ARM
document, ...); ``scan`` adds the targets and their related resources itself and counts the controls
that judged each (``build_ledger``). An auditor can then tell "compliant" from "never looked at".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from .redaction import redact_capped
from .textsafe import MAX_MESSAGE, cap

if TYPE_CHECKING:
    from .targets import Target


@dataclass
class Diagnostic:
    severity: str  # "error", "warning" or "info"
    message: str
    file: str
    pointer: str = ""
    line: int | None = None

    def __post_init__(self) -> None:
        # a message may quote an input's text (a bad value, an expression): credential shapes never pass
        self.message = redact_capped(self.message, MAX_MESSAGE)

    def where(self) -> str:
        loc = self.file + (f":{self.line}" if self.line else "")
        return loc + (f" (at {self.pointer})" if self.pointer else "")

    def __str__(self) -> str:
        return f"{self.where()}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {"severity": self.severity, "message": self.message, "file": self.file, "pointer": self.pointer,
                "line": self.line}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Diagnostic":
        return cls(d["severity"], d["message"], d["file"], d.get("pointer", ""), d.get("line"))


@dataclass
class Declaration:
    """A managedClusters declaration in a file and what became of it."""

    file: str
    pointer: str
    line: int | None
    status: str  # deployed | existing | condition-false | not-reached
    detail: str = ""


# Coverage statuses
EVALUATED = "evaluated"  # a target of controls
RELATED = "related"  # evaluated as a related resource of a target (a diagnostic setting of a cluster)
NOT_EVALUATED = "not_evaluated"  # read, judged by no control: ``reason`` says why
SKIPPED = "skipped"  # a file (or directory entry) not read as input: ``reason`` says why

# Types an auditor of AKS expects to be judged: listed one by one when not evaluated (lower case).
AKS_RELEVANT_TYPES = frozenset({
    "microsoft.containerservice/managedclusters",
    "microsoft.containerservice/managedclusters/agentpools",
    "microsoft.containerservice/managedclusters/maintenanceconfigurations",
    "microsoft.insights/diagnosticsettings",
    "microsoft.containerregistry/registries",
    "microsoft.keyvault/vaults",
    "microsoft.network/applicationgateways",
    "microsoft.network/applicationgatewaywebapplicationfirewallpolicies",
    "microsoft.security/pricings",
    "microsoft.blueprint/blueprints/artifacts",
})


@dataclass
class CoverageEntry:
    """One object (or file) the scan read, and whether controls judged it."""

    family: str  # "arm", "k8s", "azure", ...
    type: str  # ARM resource type, Kubernetes kind (apiVersion/kind), or "file"
    name: str
    status: str  # EVALUATED | RELATED | NOT_EVALUATED | SKIPPED
    reason: str = ""  # why not evaluated / skipped; for RELATED, the target it belongs to
    file: str | None = None
    pointer: str = ""
    line: int | None = None
    target: str | None = None  # the label of the target it is (EVALUATED) or belongs to (RELATED)
    controls: int = 0  # controls that judged it (EVALUATED), filled by build_ledger
    relevant: bool | None = None  # None: decided from the type (AKS_RELEVANT_TYPES)

    def __post_init__(self) -> None:
        self.name, self.type = cap(self.name), cap(self.type)
        self.reason = cap(self.reason, MAX_MESSAGE)
        self.target = cap(self.target) if self.target else self.target

    @property
    def is_relevant(self) -> bool:
        if self.relevant is not None:
            return self.relevant
        return self.type.lower() in AKS_RELEVANT_TYPES

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"family": self.family, "type": self.type, "name": self.name, "status": self.status}
        if self.reason:
            out["reason"] = self.reason
        if self.target is not None:
            out["target"] = self.target
        if self.status == EVALUATED:
            out["controls"] = self.controls
        out["source"] = {"file": self.file, "pointer": self.pointer, "line": self.line}
        if self.is_relevant:
            out["aks_relevant"] = True
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "CoverageEntry":
        src = d.get("source") or {}
        return cls(family=d["family"], type=d["type"], name=d["name"], status=d["status"], reason=d.get("reason", ""),
                   file=src.get("file"), pointer=src.get("pointer", ""), line=src.get("line"),
                   target=d.get("target"), controls=d.get("controls", 0), relevant=bool(d.get("aks_relevant")))


@dataclass
class Ledger:
    entries: list[CoverageEntry] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"Ledger({len(self.entries)} entries)"

    def counts(self) -> dict[str, Any]:
        by_status: dict[str, int] = {}
        reasons: dict[str, int] = {}
        for e in self.entries:
            by_status[e.status] = by_status.get(e.status, 0) + 1
            if e.status in (NOT_EVALUATED, SKIPPED):
                reasons[e.reason] = reasons.get(e.reason, 0) + 1
        objects = sum(n for s, n in by_status.items() if s != SKIPPED)
        return {"objects": objects, "evaluated": by_status.get(EVALUATED, 0), "related": by_status.get(RELATED, 0),
                "not_evaluated": by_status.get(NOT_EVALUATED, 0), "skipped_files": by_status.get(SKIPPED, 0),
                "reasons": dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])))}

    def unjudged_relevant(self) -> list[CoverageEntry]:
        """AKS-relevant objects no control judged: each is listed in the terminal and the reports."""
        return [e for e in self.entries if e.status == NOT_EVALUATED and e.is_relevant]

    def document(self) -> dict[str, Any]:
        return {"summary": self.counts(), "entries": [e.as_dict() for e in self.entries]}


def _family_of(target: "Target") -> str:
    return target.context.get("family") or ("k8s" if target.type.lower().startswith("k8s/") else "arm")


def build_ledger(targets: Iterable["Target"], controls: Mapping[str, int],
                 entries: Iterable[CoverageEntry]) -> Ledger:
    """The ledger of a run: the families' entries plus one per target and per related resource, with the
    number of controls that judge each target (``controls``: by target label; every control that applies
    to a target gives it one result, so a sharded run knows the counts of targets it does not evaluate)."""
    out: list[CoverageEntry] = []
    seen_related: set[int] = set()
    for t in targets:
        res = t.resource
        src = res.source
        name = res.display_name()
        n = controls.get(t.label, 0)
        out.append(CoverageEntry(family=_family_of(t), type=res.type, name=name,
                                 status=EVALUATED if n else NOT_EVALUATED,
                                 reason="" if n else "no selected control applies to this type",
                                 file=src.file, pointer=src.pointer, line=src.line, target=t.label, controls=n))
        for group in (t.related, t.maybe_related):
            for related in group.values():
                for r in related:
                    if id(r) in seen_related or getattr(r, "state", None) == "unread":
                        continue  # seen, or a stand-in for what could not be read (a gap, not an object)
                    seen_related.add(id(r))
                    out.append(CoverageEntry(family=_family_of(t), type=r.type, name=r.display_name(), status=RELATED,
                                             reason=f"related resource of {t.label}", file=r.source.file,
                                             pointer=r.source.pointer, line=r.source.line, target=t.label))
    out.extend(entries)
    return Ledger(out)
