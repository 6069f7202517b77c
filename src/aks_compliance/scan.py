"""One scan: read the inputs, build targets, evaluate every control once."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__
from .arm.template import Declaration, Diagnostic
from .controls import CATALOG_VERSION, Catalog, load_catalog
from .engine import evaluate_all
from .results import Outcome, Result, TargetRef, results_document
from .sources import LOADERS, SourceResult
from .targets import Target


@dataclass
class ScanOptions:
    arm_paths: list[str] = field(default_factory=list)
    arm_parameter_files: list[str] = field(default_factory=list)
    arm_params: dict[str, Any] = field(default_factory=dict)
    subscription_id: str | None = None
    resource_group: str | None = None
    location: str | None = None
    controls: list[str] | None = None
    control_params: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def has_input(self) -> bool:
        return bool(self.arm_paths)


@dataclass
class ScanRun:
    started: str
    catalog: Catalog
    inputs: list[dict[str, Any]]
    targets: list[Target]
    results: list[Result]
    diagnostics: list[Diagnostic]
    declarations: list[Declaration]

    def document(self) -> dict[str, Any]:
        return self.document_for(self.results)

    def document_for(self, results: list[Result]) -> dict[str, Any]:
        return results_document(
            tool_version=__version__, started=self.started, inputs=self.inputs,
            controls=[c.summary() for c in self.catalog], results=results,
            extra={"catalog_version": CATALOG_VERSION,
                   "diagnostics": [{"severity": d.severity, "message": d.message, "file": d.file,
                                    "pointer": d.pointer, "line": d.line} for d in self.diagnostics],
                   "declarations": [d.__dict__ for d in self.declarations]})

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


def run_scan(options: ScanOptions) -> ScanRun:
    started = dt.datetime.now(dt.timezone.utc)
    catalog = load_catalog().select(options.controls)
    loaded: list[SourceResult] = [r for r in (load(options, started) for load in LOADERS) if r is not None]
    targets = [t for r in loaded for t in r.targets]
    results = evaluate_all(catalog, targets, options.control_params)
    diagnostics = [d for r in loaded for d in r.diagnostics]
    results.extend(error_results(diagnostics))
    return ScanRun(started=started.isoformat(timespec="seconds"), catalog=catalog,
                   inputs=[i for r in loaded for i in r.inputs], targets=targets, results=results,
                   diagnostics=diagnostics, declarations=[d for r in loaded for d in r.declarations])
