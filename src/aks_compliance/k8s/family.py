"""The Kubernetes input family: manifests, snapshots and live clusters (snapshotted once, by the controller)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..discovery import control_fixtures
from ..family import InputFamily, LoadContext, SourceResult
from .source import K8sOptions


class K8sFamily(InputFamily):
    name = "k8s"
    options_type = K8sOptions

    def add_options(self, group: Any) -> None:
        group.addoption("--k8s", action="append", default=[], metavar="PATH",
                        help="Kubernetes objects: YAML/JSON manifests (multi-document, List kinds, helm template "
                             "output), a directory of them, or a snapshot (aks-compliance snapshot). Each --k8s is one "
                             "cluster scope: objects of different arguments never see each other. Repeatable.")
        group.addoption("--kube-context", default=None, metavar="NAME",
                        help="read the live cluster of this kubeconfig context (snapshotted into --k8s-snapshot-dir "
                             "first, then checked from the snapshot)")
        group.addoption("--kubeconfig", default=None, metavar="FILE", help="kubeconfig file for the live cluster")
        group.addoption("--kube-in-cluster", action="store_true", default=False,
                        help="read the cluster this runs in (the pod's service account)")
        group.addoption("--k8s-snapshot-dir", default="reports", metavar="DIR",
                        help="where a live run writes its snapshot (default: reports)")

    def options_from_config(self, config: Any) -> K8sOptions:
        return K8sOptions(paths=list(config.getoption("k8s")), context=config.getoption("kube_context"),
                          kubeconfig=config.getoption("kubeconfig"),
                          in_cluster=bool(config.getoption("kube_in_cluster")),
                          snapshot_dir=config.getoption("k8s_snapshot_dir"), exclude=list(config.getoption("exclude")),
                          reserved=control_fixtures(config.getoption("controls_path")))

    def has_input(self, options: K8sOptions) -> bool:
        return bool(options.paths or options.live or options.error)

    def prepare(self, config: Any, options: K8sOptions, started: dt.datetime) -> None:
        """A live cluster is read once, here in the controller; every process scans the snapshot file."""
        if not options.live:
            return
        from .collector import CollectError, snapshot_for_options
        try:
            options.paths.append(str(snapshot_for_options(options, started)))
        except CollectError as exc:
            options.error = f"{exc.where}: {exc}"
        options.clear_live()

    def worker_input(self, options: K8sOptions) -> dict[str, Any]:
        return {"paths": list(options.paths), "error": options.error}

    def from_worker_input(self, options: K8sOptions, data: dict[str, Any]) -> None:
        options.paths = list(data.get("paths") or [])
        options.error = data.get("error")
        options.clear_live()

    def header(self, options: K8sOptions, config: Any = None) -> list[str]:
        return [f"Kubernetes: {', '.join(options.paths)}"] if options.paths else []

    def shard_key(self, target: Any) -> str:
        """A snapshot's objects by namespace (cluster-wide ones with their cluster scope): a namespace's
        workloads, policies and bindings are evaluated by one process, which builds that namespace's join
        indexes once. Manifests by file."""
        scope = target.context.get("scope")
        if scope is not None and scope.is_snapshot:
            return f"{scope.name}/{target.namespace}" if target.namespace else scope.name
        return target.resource.source.file

    def load(self, options: K8sOptions, context: LoadContext) -> SourceResult | None:
        from .source import load_k8s_source
        return load_k8s_source(options, context.started)
