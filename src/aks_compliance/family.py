"""The input-family protocol: how one kind of input (ARM files, Kubernetes objects, live Azure, ...) takes
part in a run.

A family owns everything about its input: its command-line options, how it reads them from pytest's
config, what the controller does before the scan (a live snapshot), what it hands to pytest-xdist
workers, its header line, and the scan itself (targets, input records, diagnostics, coverage). Adding a
family is one module with a subclass of :class:`InputFamily` and a line in ``sources.FAMILIES``; the
plugin, the scan and the reports do not change.

Leaf module: it imports nothing of the package but the data types a family returns.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

from .diagnostics import CoverageEntry, Declaration, Diagnostic
from .targets import Target


@dataclass
class SourceResult:
    """What a family's scan gives: targets, input records, diagnostics, declarations and coverage."""

    targets: list[Target] = field(default_factory=list)
    inputs: list[dict[str, Any]] = field(default_factory=list)  # {path, sha256, kind}
    diagnostics: list[Diagnostic] = field(default_factory=list)
    declarations: list[Declaration] = field(default_factory=list)
    # Objects read that did not become targets (and files skipped), each with the reason: the coverage
    # ledger (diagnostics.py). Targets and their related resources are added by the scan itself.
    coverage: list[CoverageEntry] = field(default_factory=list)
    # Called with every result of the run and the run's catalog after evaluation, before waivers (e.g. the
    # Azure Policy states a live Azure snapshot holds, joined to the results: azure/policy_states.py).
    annotators: list[Callable[[list[Any], Any], None]] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"SourceResult({len(self.targets)} targets, {len(self.diagnostics)} diagnostics)"

    def merge(self, other: "SourceResult") -> None:
        for name in ("targets", "inputs", "diagnostics", "declarations", "coverage", "annotators"):
            getattr(self, name).extend(getattr(other, name))


@dataclass
class LoadContext:
    """What every family's scan shares: the run's start (utcNow() in templates) and its control parameters."""

    started: dt.datetime
    control_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    catalog: Any = None  # the run's (selected) catalog: a family may say in its ledger which controls read what


class InputFamily:
    """One kind of input. Subclasses set ``name`` and ``options_type`` and implement the hooks they need."""

    name: ClassVar[str]
    options_type: ClassVar[type]

    # -- command line (pytest options, in the aks-compliance group) --
    def add_options(self, group: Any) -> None:
        """Add this family's options to the plugin's option group."""

    def options_from_config(self, config: Any) -> Any:
        """This family's options from pytest's config (raise ``pytest.UsageError`` on bad values)."""
        return self.options_type()

    def has_input(self, options: Any) -> bool:
        raise NotImplementedError

    # -- the controller, before any scan (a live read is snapshotted once, then scanned from the file) --
    def prepare(self, config: Any, options: Any, started: dt.datetime) -> None:
        """Controller only: e.g. read a live source into a snapshot file and point the options at it."""

    def worker_input(self, options: Any) -> dict[str, Any]:
        """Controller -> each pytest-xdist worker: what the worker needs to scan the same inputs (JSON-able)."""
        return {}

    def from_worker_input(self, options: Any, data: dict[str, Any]) -> None:
        """Worker: adopt what ``worker_input`` handed over (a snapshot path instead of a live source)."""

    def header(self, options: Any, config: Any = None) -> list[str]:
        """Lines for pytest's report header (and the terminal summary)."""
        return []

    # -- the scan --
    def load(self, options: Any, context: LoadContext) -> SourceResult | None:
        """Read this family's inputs into targets; None when its options ask nothing of it."""
        raise NotImplementedError

    # -- sharded runs (shards.py) --
    def shard_key(self, target: Target) -> str:
        """What this family's targets are partitioned by in a sharded run (hashed, so the assignment is
        stable across runs and machines). Every process reads the complete inputs, so any key gives the
        results of a whole run; the key decides balance and what one shard's targets share (a file's
        resources, a namespace's objects are evaluated by one process). Default: the target's file."""
        return target.resource.source.file

    def recorded_options(self, options: Any) -> dict[str, Any]:
        """What the results document records of the options (never secret values)."""
        return {}
