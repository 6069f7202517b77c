"""Input families: each turns the options it owns into targets, input records and diagnostics.

A family is a function ``load(options, started) -> SourceResult | None`` (None when the options ask
nothing of it). ``LOADERS`` lists them; ``run_scan`` runs each once and evaluates every control over
the union of their targets.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from .diagnostics import CoverageEntry, Declaration, Diagnostic
from .targets import Target

if TYPE_CHECKING:
    from .scan import ScanOptions


@dataclass
class SourceResult:
    targets: list[Target] = field(default_factory=list)
    inputs: list[dict[str, Any]] = field(default_factory=list)  # {path, sha256, kind}
    diagnostics: list[Diagnostic] = field(default_factory=list)
    declarations: list[Declaration] = field(default_factory=list)
    # Objects read that did not become targets (and files skipped), each with the reason: the coverage
    # ledger (diagnostics.py). Targets and their related resources are added by the scan itself.
    coverage: list[CoverageEntry] = field(default_factory=list)
    # Called with every result of the run after evaluation, before waivers (e.g. the Azure Policy states
    # a live Azure snapshot holds, joined to the results: azure/policy_states.py).
    annotators: list[Callable[[list[Any]], None]] = field(default_factory=list)


Loader = Callable[["ScanOptions", dt.datetime], "SourceResult | None"]


def load_arm_source(options: "ScanOptions", started: dt.datetime) -> SourceResult | None:
    if not options.arm_paths:
        return None
    from .azure.snapshot import is_azure_snapshot

    arm_paths = [p for p in options.arm_paths if not is_azure_snapshot(p)]  # Azure snapshots: load_azure_source
    if not arm_paths:
        return None
    from .arm.context import DeploymentScope
    from .arm.inputs import ArmOptions, load_arm
    from .arm.targets import build_arm_targets

    scope = DeploymentScope(now=started)
    changes: dict[str, Any] = {}
    if options.subscription_id:
        changes["subscription_id"] = options.subscription_id
    if options.resource_group:
        changes["resource_group"] = options.resource_group
    if options.location:
        changes["location"] = options.location
    if getattr(options, "arm_template_uri", None):
        changes["template_uri"] = options.arm_template_uri
    if changes:
        scope = scope.child(**changes)
    scan = load_arm(ArmOptions(paths=arm_paths, parameter_files=options.arm_parameter_files,
                               parameters=options.arm_params, scope=scope))
    # scan.diagnostics is shared with lazily evaluated resource bodies: the caller reads it after
    # evaluation, so that expression errors found then are reported too.
    targets = build_arm_targets(scan)
    return SourceResult(targets=targets, inputs=[i.as_dict() for i in scan.inputs],
                        diagnostics=scan.diagnostics, declarations=scan.declarations, coverage=scan.coverage)


def load_k8s_source(options: "ScanOptions", started: dt.datetime) -> SourceResult | None:
    from .k8s.source import load_k8s_source as load

    return load(options, started)


def load_azure_source(options: "ScanOptions", started: dt.datetime) -> SourceResult | None:
    """Live Azure (--azure-...: snapshotted first) and Azure snapshots given to --arm (azure/source.py)."""
    from .azure.source import load_azure_source as load

    return load(options, started)


LOADERS: list[Loader] = [load_arm_source, load_k8s_source, load_azure_source]
