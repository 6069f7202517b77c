"""One scan: read the inputs, build targets, evaluate every control once."""

from __future__ import annotations

import datetime as dt
import gc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__
from .diagnostics import Declaration, Diagnostic, Ledger, build_ledger
from .controls import CATALOG_VERSION, Catalog, load_catalog
from .engine import evaluate_all
from .report.metadata import control_document, run_metadata
from .results import Outcome, Result, TargetRef, results_document
from .sources import LOADERS, SourceResult
from .targets import Target
from .waivers import Governance, apply_governance, load_governance


@dataclass
class ScanOptions:
    arm_paths: list[str] = field(default_factory=list)
    arm_parameter_files: list[str] = field(default_factory=list)
    arm_params: dict[str, Any] = field(default_factory=dict)
    subscription_id: str | None = None
    resource_group: str | None = None
    location: str | None = None
    arm_template_uri: str | None = None  # deployment().properties.templateLink.uri (a linked deployment)
    controls: list[str] | None = None
    control_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    # ISO time the run started: utcNow() in templates evaluates to it, so every process of one run
    # (pytest-xdist workers) computes the same names; None means now.
    started: str | None = None
    waivers_file: str | None = None  # waivers.py: applied after evaluation
    attestations_file: str | None = None

    # Kubernetes: --k8s (manifests or snapshots, one cluster scope each) and a live cluster
    k8s_paths: list[str] = field(default_factory=list)
    kube_context: str | None = None
    kubeconfig: str | None = None
    kube_in_cluster: bool = False
    k8s_snapshot_dir: str = "reports"  # where a live run writes its snapshot
    kube_error: str | None = None  # a live collection that failed before the scan (reported as an input error)

    # Live Azure (azure/): resource groups or clusters (ARM GET + export), fleets (Resource Graph);
    # snapshotted into azure_snapshot_dir first, then scanned from the snapshot (as --arm SNAPSHOT)
    azure_subscription: str | None = None
    azure_resource_groups: list[str] = field(default_factory=list)
    azure_clusters: list[str] = field(default_factory=list)  # managed cluster resource ids
    azure_scopes: list[str] = field(default_factory=list)  # management-group:ID | subscription:ID
    azure_cloud: str | None = None  # AzureCloud | AzureUSGovernment | AzureChinaCloud
    azure_endpoint: str | None = None  # Resource Manager endpoint override (Azure Stack, private, tests)
    azure_ca_file: str | None = None  # CA bundle for that endpoint
    azure_snapshot_dir: str = "reports"
    azure_error: str | None = None  # a live collection that failed before the scan (an input error)

    @property
    def has_input(self) -> bool:
        return bool(self.arm_paths or self.k8s_paths or self.kube_context or self.kubeconfig
                    or self.kube_in_cluster or self.kube_error or self.azure_subscription
                    or self.azure_resource_groups or self.azure_clusters or self.azure_scopes or self.azure_error)


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
    meta: dict[str, Any] = field(default_factory=dict)  # who ran, scope, options (report/metadata.py)
    ledger: Ledger = field(default_factory=Ledger)  # every object read: evaluated or why not

    def document(self) -> dict[str, Any]:
        return self.document_for(self.results)

    def document_for(self, results: list[Result]) -> dict[str, Any]:
        return results_document(
            tool_version=__version__, started=self.started, inputs=self.inputs,
            controls=[control_document(c) for c in self.catalog], results=results,
            extra={"catalog_version": CATALOG_VERSION, "run": self.meta,
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
    catalog = load_catalog().select(options.controls)
    loaded: list[SourceResult] = [r for r in (load(options, started) for load in LOADERS) if r is not None]
    targets = [t for r in loaded for t in r.targets]
    results = evaluate_all(catalog, targets, options.control_params)
    for annotate in (a for r in loaded for a in r.annotators):
        annotate(results)
    diagnostics = [d for r in loaded for d in r.diagnostics]
    results.extend(error_results(diagnostics))
    governance = load_governance(options.waivers_file, options.attestations_file, load_catalog(), started.date())
    apply_governance(governance, results, [c.id for c in catalog], started.date())
    diagnostics.extend(governance.diagnostics)
    return ScanRun(started=started.isoformat(timespec="seconds"), catalog=catalog,
                   inputs=[i for r in loaded for i in r.inputs], targets=targets, results=results,
                   diagnostics=diagnostics, declarations=[d for r in loaded for d in r.declarations],
                   governance=governance, meta=run_metadata(options, targets),
                   ledger=build_ledger(targets, results, (e for r in loaded for e in r.coverage)))
