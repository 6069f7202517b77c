"""One scan: read the inputs, build targets, evaluate every control once."""

from __future__ import annotations

import datetime as dt
import gc
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .version import __version__
from .diagnostics import Declaration, Diagnostic, Ledger, build_ledger
from .controls import CATALOG_VERSION, Catalog, load_catalog
from .engine import evaluate_all
from .controls.document import control_document
from .family import LoadContext
from .results import Outcome, Result, TargetRef, results_document
from .run_metadata import run_metadata
from .sources import FAMILIES, SourceResult, family_named, family_of
from .targets import Target
from .waivers import Governance, apply_governance, load_governance


@dataclass
class ScanOptions:
    """What one scan reads and how: each input family's options, and what is common to all of them."""

    # Each input family's options (ArmOptions, K8sOptions, AzureOptions, ...), by family name; a list of
    # options objects is accepted and keyed by the family they belong to.
    inputs: dict[str, Any] | list[Any] = field(default_factory=dict)
    controls: list[str] | None = None  # control ids to run (default: every control of the catalog)
    control_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    # ISO time the run started: utcNow() in templates evaluates to it, so every process of one run
    # (pytest-xdist workers) computes the same names; None means now.
    started: str | None = None
    # One id per run, on every output it writes (results JSON, reports, SARIF, CSV, JUnit), so a reader can
    # tell a set of files from one run from a mix of two; every process of one run shares it. None: new.
    run_id: str | None = None
    waivers_file: str | None = None  # waivers.py: applied after evaluation
    attestations_file: str | None = None
    governance: Governance | None = None  # the files above, already loaded (the plugin validates them early)
    # The catalog of this run (built-ins, the user's controls, overlays): loaded once by the caller and
    # passed along; None means the built-in controls.
    catalog: Catalog | None = None

    def __post_init__(self) -> None:
        if isinstance(self.inputs, (list, tuple)):
            self.inputs = {family_of(o).name: o for o in self.inputs}

    def input(self, family: str) -> Any:
        """The options of one family (its defaults when none were given)."""
        opts = self.inputs.get(family)
        if opts is None:
            opts = self.inputs[family] = family_named(family).options_type()
        return opts

    @property
    def has_input(self) -> bool:
        return any(f.has_input(self.inputs[f.name]) for f in FAMILIES if f.name in self.inputs)

    def full_catalog(self) -> Catalog:
        return self.catalog if self.catalog is not None else load_catalog()


@dataclass
class ScanRun:
    started: str
    catalog: Catalog
    inputs: list[dict[str, Any]]
    targets: list[Target]
    results: list[Result]
    diagnostics: list[Diagnostic]
    declarations: list[Declaration]
    governance: Governance = field(default_factory=Governance)  # waiver/attestation register
    meta: dict[str, Any] = field(default_factory=dict)  # who ran, scope, options (run_metadata.py)
    ledger: Ledger = field(default_factory=Ledger)  # every object read: evaluated or why not

    def document(self) -> dict[str, Any]:
        return self.document_for(self.results)

    def document_for(self, results: list[Result]) -> dict[str, Any]:
        return results_document(
            tool_version=__version__, started=self.started, inputs=self.inputs,
            controls=[control_document(c) for c in self.catalog], results=results,
            extra={"catalog_version": CATALOG_VERSION, "run": self.meta, "catalog": self.catalog.scope_document(),
                   **self.governance.document(dt.date.fromisoformat(self.started[:10])),
                   "diagnostics": [{"severity": d.severity, "message": d.message, "file": d.file,
                                    "pointer": d.pointer, "line": d.line} for d in self.diagnostics],
                   "declarations": [d.__dict__ for d in self.declarations],
                   "coverage": self.ledger.document()})

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]


def error_results(diagnostics: list[Diagnostic]) -> list[Result]:
    out: list[Result] = []
    seen: dict[str, int] = {}
    for d in diagnostics:
        if d.severity != "error":
            continue
        base = f"input-error-{Path(d.file).name}" + (f":{d.line}" if d.line else "")
        n = seen.get(base, 0)
        seen[base] = n + 1
        key = base if not n else f"{base}#{n + 1}"
        ref = TargetRef(type="file", name=d.file, file=d.file, pointer=d.pointer or None, line=d.line)
        out.append(Result(None, ref, Outcome.ERROR, f"{d.where()}: {d.message}", [], key=key))
    return out


def recorded_options(options: ScanOptions) -> dict[str, Any]:
    """What the results document records of the options: common ones and each family's (no secret values)."""
    out: dict[str, Any] = {"controls": options.controls, "control_params": options.control_params}
    for f in FAMILIES:
        if f.name in options.inputs:
            out.update(f.recorded_options(options.inputs[f.name]))
    return out


def run_scan(options: ScanOptions) -> ScanRun:
    # The scan builds millions of small objects that live to its end; the cyclic garbage collector
    # would traverse them again and again (a third of the time at 100,000 results). Reference
    # counting still frees what dies; the collector runs again afterwards.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _run_scan(options)
    finally:
        if enabled:
            gc.enable()


def _run_scan(options: ScanOptions) -> ScanRun:
    started = dt.datetime.fromisoformat(options.started) if options.started else dt.datetime.now(dt.timezone.utc)
    full = options.full_catalog()
    catalog = full.select(options.controls)
    context = LoadContext(started=started, control_params=options.control_params, catalog=catalog)
    loaded: list[SourceResult] = [r for r in (f.load(options.inputs[f.name], context) for f in FAMILIES
                                              if f.name in options.inputs) if r is not None]
    targets = [t for r in loaded for t in r.targets]
    results = evaluate_all(catalog, targets, options.control_params)
    for annotate in (a for r in loaded for a in r.annotators):
        annotate(results, catalog)
    diagnostics = [d for r in loaded for d in r.diagnostics]
    results.extend(error_results(diagnostics))
    governance = options.governance if options.governance is not None else \
        load_governance(options.waivers_file, options.attestations_file, full, started.date())
    apply_governance(governance, results, [c.id for c in catalog], started.date())
    diagnostics.extend(governance.diagnostics)
    return ScanRun(started=started.isoformat(timespec="seconds"), catalog=catalog,
                   inputs=[i for r in loaded for i in r.inputs], targets=targets, results=results,
                   diagnostics=diagnostics, declarations=[d for r in loaded for d in r.declarations],
                   governance=governance,
                   meta={"id": options.run_id or str(uuid.uuid4()),
                         **run_metadata(options, targets, recorded_options(options))},
                   ledger=build_ledger(targets, results, (e for r in loaded for e in r.coverage)))
