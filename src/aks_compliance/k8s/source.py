"""The Kubernetes input family for ``sources.LOADERS``: ``--k8s`` paths and live clusters.

A live cluster (``--kube-context`` / ``--kubeconfig`` / ``--kube-in-cluster``) is first collected into
a snapshot under ``reports/`` (the pytest plugin does that once, in the controller, so xdist workers
all read the same file); then each ``--k8s`` argument, snapshot or manifests, becomes one scope.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from ..diagnostics import Diagnostic
from .targets import build_targets, coverage, load_scope

if TYPE_CHECKING:
    from ..scan import ScanOptions
    from ..sources import SourceResult


def wants_live(options: "ScanOptions") -> bool:
    return bool(getattr(options, "kube_context", None) or getattr(options, "kubeconfig", None)
                or getattr(options, "kube_in_cluster", False))


def load_k8s_source(options: "ScanOptions", started: dt.datetime) -> "SourceResult | None":
    from ..sources import SourceResult

    paths = list(getattr(options, "k8s_paths", []) or [])
    result = SourceResult()
    if getattr(options, "kube_error", None):
        result.diagnostics.append(Diagnostic("error", f"cannot read the live cluster: {options.kube_error}",
                                             "kubernetes"))
    if wants_live(options):
        from .collector import CollectError, snapshot_for_options
        try:
            paths.append(str(snapshot_for_options(options, started)))
        except CollectError as exc:
            result.diagnostics.append(Diagnostic("error", str(exc), exc.where))
    if not paths and not result.diagnostics:
        return None
    taken: set[str] = set()
    for arg in paths:
        scope, diagnostics, inputs = load_scope(arg, taken)
        result.diagnostics.extend(diagnostics)
        result.inputs.extend(inputs)
        if scope is not None:
            targets = build_targets(scope)
            result.targets.extend(targets)
            result.coverage.extend(coverage(scope, targets))
    return result
