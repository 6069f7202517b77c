"""Shared vocabulary of the reports: outcome and severity order, locations, the exit-status gate."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

OUTCOMES = ("passed", "failed", "unknown", "not_applicable", "waived", "manual", "error")
SEVERITIES = ("critical", "high", "medium", "low", "info")
SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}  # lower is more severe
FAIL_ON_CHOICES = (*SEVERITIES, "none")


def clip(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters, cut after a whole word with an ellipsis, never mid-word (a single
    word longer than half the room is cut where the room ends)."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:") + "\u2026"


def severity_at_least(severity: str | None, threshold: str) -> bool:
    """Whether ``severity`` is at or above ``threshold`` (``none`` matches nothing)."""
    if threshold == "none":
        return False
    return SEVERITY_RANK.get(severity or "info", len(SEVERITIES)) <= SEVERITY_RANK[threshold]


def location(result: Mapping[str, Any]) -> tuple[str | None, int | None]:
    """Where a result points in the inputs: its first failing evidence with a file, else its first evidence with
    a file, else the target's source."""
    located = getattr(result, "located", None)  # a result view answers without making its evidence dicts
    if located is not None:
        return located()
    for e in sorted(result.get("evidence", ()), key=lambda e: not e.get("failing")):
        if e.get("file"):
            return e["file"], e.get("line")
    src = result.get("target", {}).get("source", {}) or {}
    return src.get("file"), src.get("line")


def location_text(result: Mapping[str, Any]) -> str:
    file, line = location(result)
    return f"{file}:{line}" if file and line else (file or "")


def cis_section(cis_id: str) -> str:
    """'5.4.1' -> 'CIS 5.4'; '2.1' -> 'CIS 2.1'; '3' -> 'CIS 3'."""
    parts = cis_id.split(".")
    return "CIS " + ".".join(parts[:2])


def _section_key(name: str) -> tuple:
    nums = name.replace("CIS ", "").split(".")
    return tuple(int(n) if n.isdigit() else 999 for n in nums) if name.startswith("CIS ") else (10_000,)


def sort_sections(names: Iterable[str]) -> list[str]:
    return sorted(names, key=lambda n: (_section_key(n), n))


@dataclass
class Gate:
    """What decides the exit status: failures at or above ``fail_on`` that remain after waivers, input
    errors, and (with ``fail_on_unknown``) unknown or unattested manual results at or above ``fail_on``."""

    fail_on: str = "info"
    fail_on_unknown: bool = False
    failing: list[Any] = field(default_factory=list)  # failed results at or above the threshold
    below: list[Any] = field(default_factory=list)  # failed results below it (reported, not failing)
    unknown: list[Any] = field(default_factory=list)  # unknown/manual results that count (fail_on_unknown)
    errors: list[Any] = field(default_factory=list)

    @property
    def fails(self) -> bool:
        return bool(self.failing or self.unknown or self.errors)

    def explain(self) -> str:
        parts = []
        if self.failing:
            parts.append(f"{len(self.failing)} failure(s) at or above '{self.fail_on}'")
        if self.unknown:
            parts.append(f"{len(self.unknown)} unknown/manual result(s) (--fail-on-unknown)")
        if self.errors:
            parts.append(f"{len(self.errors)} error(s)")
        if self.below:
            parts.append(f"{len(self.below)} failure(s) below '{self.fail_on}' do not fail the run")
        return "; ".join(parts) if parts else "nothing at or above the threshold"


def gate(items: Iterable[tuple[Any, str, str | None]], fail_on: str = "info", fail_on_unknown: bool = False) -> Gate:
    """``items``: (result, outcome, severity) triples, so both Result objects and result dicts can be gated."""
    g = Gate(fail_on=fail_on, fail_on_unknown=fail_on_unknown)
    for result, outcome, severity in items:
        if outcome == "failed":
            (g.failing if severity_at_least(severity, fail_on) else g.below).append(result)
        elif outcome == "error":
            g.errors.append(result)
        elif fail_on_unknown and outcome in ("unknown", "manual") and severity_at_least(severity, fail_on):
            g.unknown.append(result)
    return g
