"""The Kubernetes input family's scan: ``--k8s`` paths (manifests or snapshots) and live clusters.

A live cluster (``--kube-context`` / ``--kubeconfig`` / ``--kube-in-cluster``) is first collected into
a snapshot under ``--k8s-snapshot-dir`` (the plugin does that once, in the controller, so xdist workers
all read the same file: ``k8s/family.py``); then each ``--k8s`` argument, snapshot or manifests, becomes
one scope.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..diagnostics import Diagnostic

if TYPE_CHECKING:
    from ..family import SourceResult


@dataclass
class K8sOptions:
    """The Kubernetes family's options."""

    paths: list[str] = field(default_factory=list)  # --k8s: manifests or snapshots, one cluster scope each
    context: str | None = None  # --kube-context
    kubeconfig: str | None = None  # --kubeconfig
    in_cluster: bool = False  # --kube-in-cluster
    snapshot_dir: str = "reports"  # where a live run writes its snapshot
    error: str | None = None  # a live collection that failed before the scan (reported as an input error)
    exclude: list[str] = field(default_factory=list)  # --exclude GLOB: left out of directory walks
    # folders left out of directory walks with the reason (discovery.control_fixtures: your controls' fixtures)
    reserved: dict[str, str] = field(default_factory=dict)

    @property
    def live(self) -> bool:
        return bool(self.context or self.kubeconfig or self.in_cluster)

    def clear_live(self) -> None:
        self.context, self.kubeconfig, self.in_cluster = None, None, False


def load_k8s_source(options: K8sOptions, started: dt.datetime) -> "SourceResult | None":
    from ..family import SourceResult
    from .targets import build_targets, coverage, load_scope  # only a run with Kubernetes inputs reads them

    paths = list(options.paths)
    result = SourceResult()
    if options.error:
        result.diagnostics.append(Diagnostic("error", f"cannot read the live cluster: {options.error}", "kubernetes"))
    if options.live:
        from .collector import CollectError, snapshot_for_options
        try:
            paths.append(str(snapshot_for_options(options, started)))
        except CollectError as exc:
            result.diagnostics.append(Diagnostic("error", str(exc), exc.where))
    if not paths and not result.diagnostics:
        return None
    taken: set[str] = set()
    for arg in paths:
        scope, diagnostics, inputs, skipped = load_scope(arg, taken, options.exclude, options.reserved)
        result.diagnostics.extend(diagnostics)
        result.inputs.extend(inputs)
        result.coverage.extend(skipped)
        if scope is not None:
            targets = build_targets(scope)
            result.targets.extend(targets)
            result.coverage.extend(coverage(scope, targets))
    return result
