"""The kube-bench input family: ``--kube-bench [NODE=]FILE|DIR`` (repeatable), ``--kube-bench-cluster NAME``.

Each file is one node's ``kube-bench run --benchmark aks-1.8 --json`` output (kube-bench's AKS job runs on one
node; run it per node, e.g. one Job per node pool, and keep each output). The node is named by ``NODE=`` or by
the file's name (``aks-nodepool1-12345678-vmss000000.json``); a directory gives one node per ``.json`` file.

Each file becomes one target (``k8s/kube-bench``): the node controls of CIS 3.1 and 3.2 judge it from
kube-bench's checks (``checks.py``), with kube-bench's audit command and output as evidence. Every check is in
the coverage ledger: read by a control, or not with the reason (another benchmark's numbering, a check our
controls decide from Kubernetes objects, an id no control maps). Where our own node control judged the same
node from its kubelet configuration, ``compare.py`` shows kube-bench's verdict beside ours.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..diagnostics import NOT_EVALUATED, RELATED, CoverageEntry, Diagnostic
from ..errors import InputError
from ..family import InputFamily, LoadContext, SourceResult
from ..k8s import kinds
from ..resources import Resource, Source
from ..targets import Target
from .checks import NODE_IDS, mapped
from .compare import annotator
from .reader import RESOURCE_TYPE, Run, looks_like_kube_bench, node_from_path, node_of, read_run

FAMILY = "kube-bench"
# AKS names its VM scale set nodes aks-<pool>-<number>-vmss<instance>
_AKS_NODE = re.compile(r"^aks-(?P<pool>[a-z][a-z0-9]{0,11})-\d+-vmss[0-9a-z]{6}$")


def pool_from_node_name(node: str) -> str | None:
    m = _AKS_NODE.match(node)
    return m.group("pool") if m else None


@dataclass
class KubeBenchOptions:
    paths: list[str] = field(default_factory=list)  # --kube-bench: [NODE=]FILE or a directory of NODE.json files
    cluster: str | None = None  # --kube-bench-cluster: the cluster scope the nodes belong to


def _files(arg: str) -> tuple[list[tuple[str, Path]], list[Diagnostic]]:
    node, path = node_of(arg)
    p = Path(path)
    if not p.exists():
        return [], [Diagnostic("error", "does not exist (--kube-bench takes [NODE=]FILE or a directory)", path)]
    if p.is_dir():
        if node is not None:
            return [], [Diagnostic("error", f"{node}=DIRECTORY: name nodes per file (NODE=FILE), or give the "
                                            "directory alone (one NODE.json per node)", path)]
        # every NODE.json but a directory: one that is not a regular file (a FIFO, a link to a device) is an
        # input error naming it when it is read, never skipped in silence
        try:
            files = sorted(f for f in p.iterdir() if f.suffix.lower() == ".json" and not f.is_dir())
        except OSError as exc:
            return [], [Diagnostic("error", f"directory cannot be read: {exc.strerror or exc}", path)]
        if not files:  # said, as an empty --k8s directory is: a path that gave nothing is not a clean node
            return [], [Diagnostic("warning", "the directory holds no NODE.json file: no kube-bench results read",
                                   path)]
        return [(node_from_path(f), f) for f in files], []
    return [(node or node_from_path(p), p)], []


class KubeBenchFamily(InputFamily):
    name = FAMILY
    options_type = KubeBenchOptions

    def add_options(self, group: Any) -> None:
        group.addoption("--kube-bench", action="append", default=[], metavar="[NODE=]FILE|DIR",
                        help="kube-bench results: the JSON output of 'kube-bench run --benchmark aks-1.8 --json' for "
                             "one node (the node named by NODE= or by the file name), or a directory of them (one "
                             "NODE.json per node). Read as results of the CIS 3.1/3.2 node controls, beside the "
                             "kubelet configuration a live snapshot holds. Repeatable.")
        group.addoption("--kube-bench-cluster", default=None, metavar="NAME",
                        help="the cluster the --kube-bench nodes belong to (the --k8s snapshot's scope, e.g. its "
                             "kube context): kube-bench's verdicts are then compared only with that cluster's nodes")

    def options_from_config(self, config: Any) -> KubeBenchOptions:
        return KubeBenchOptions(paths=list(config.getoption("kube_bench") or []),
                                cluster=config.getoption("kube_bench_cluster"))

    def has_input(self, options: KubeBenchOptions) -> bool:
        return bool(options.paths)

    def header(self, options: KubeBenchOptions, config: Any = None) -> list[str]:
        return [f"kube-bench: {', '.join(options.paths)}"] if options.paths else []

    def recorded_options(self, options: KubeBenchOptions) -> dict[str, Any]:
        return {"kube_bench": list(options.paths), "kube_bench_cluster": options.cluster} if options.paths else {}

    def load(self, options: KubeBenchOptions, context: LoadContext) -> SourceResult | None:
        if not options.paths:
            return None

        result = SourceResult()
        runs: list[tuple[Run, Target]] = []
        labels: dict[str, int] = {}
        for arg in options.paths:
            files, diagnostics = _files(arg)
            result.diagnostics.extend(diagnostics)
            for node, path in files:
                try:
                    run = read_run(path, node)
                except InputError as exc:
                    hint = "" if looks_like_kube_bench(path) else " (is this kube-bench --json output?)"
                    result.diagnostics.append(Diagnostic("error", exc.message + hint, exc.file or str(path),
                                                         exc.pointer or "", exc.line))
                    result.inputs.append({"path": str(path), "sha256": "", "kind": "kube-bench", "node": node})
                    continue
                result.diagnostics.extend(run.diagnostics)
                target = _target(run, options.cluster, labels)
                runs.append((run, target))
                result.targets.append(target)
                result.inputs.append({"path": run.path, "sha256": run.sha256, "kind": "kube-bench", "node": node,
                                      "benchmarks": run.benchmarks, "checks": len(run.checks)})
                result.coverage.extend(_ledger(run, target, context.catalog))
        result.annotators.append(annotator([r for r, _ in runs], options.cluster))
        return result


def _target(run: Run, cluster: str | None, labels: dict[str, int]) -> Target:
    res = Resource(type=RESOURCE_TYPE, full_name=run.node, id=f"kube-bench://{cluster or '-'}/{run.node}",
                   source=run.source, body=run.body)
    if run.root_offset:  # a bare list, or one Controls object: body paths map onto the file's own layout
        res.origins[run.root_offset] = Source(run.source.file, "", run.source.doc)
    label = f"{cluster}/Node/{run.node}(kube-bench)" if cluster else f"kube-bench/Node/{run.node}"
    n = labels.get(label, 0) + 1
    labels[label] = n
    return Target(resource=res, label=label if n == 1 else f"{label}#{n}", match_type=kinds.KUBE_BENCH,
                  cluster=cluster or FAMILY,
                  context={"kube_bench": run, "family": FAMILY, "node": run.node,
                           "pool": pool_from_node_name(run.node)})


def _readers(catalog: Any) -> dict[str, list[str]]:
    """CIS id -> the controls of this run that read kube-bench's check of that id."""
    out: dict[str, list[str]] = {}
    for c in catalog or ():
        if any(t.lower() == kinds.KUBE_BENCH for t in c.resource_types):
            for cis in c.mappings.cis_aks:
                out.setdefault(cis, []).append(c.id)
    return out


def _deciders(catalog: Any) -> dict[str, list[str]]:
    """CIS id -> the controls of this run that decide it from other inputs."""
    out: dict[str, list[str]] = {}
    for c in catalog or ():
        for cis in c.mappings.cis_aks:
            out.setdefault(cis, []).append(c.id)
    return out


def _ledger(run: Run, target: Target, catalog: Any) -> list[CoverageEntry]:
    readers, deciders = _readers(catalog), _deciders(catalog)
    out = []
    for c in run.checks:
        why = mapped(c)
        status, reason = NOT_EVALUATED, why or ""
        if why is None and c.id in readers:
            status, reason = RELATED, f"read by {', '.join(readers[c.id])} (CIS {c.id}) on {target.label}"
        elif why is None and c.id in NODE_IDS:
            reason = f"CIS {c.id}: no control of this run reads it (narrowed by --control?)"
        elif why is None and c.id in deciders:
            reason = (f"CIS {c.id} is decided from the cluster's own objects or Azure resources by "
                      f"{', '.join(sorted(deciders[c.id]))}; kube-bench's cluster-wide check ({c.status}"
                      f"{': ' + c.reason if c.reason else ''}) is kept as a record, not read as a node verdict")
        elif why is None:
            reason = f"{c.id} is not a CIS AKS v1.8.0 recommendation any control of this run maps"
        out.append(CoverageEntry(family=FAMILY, type="kube-bench/check", name=f"{run.node} {c.id} ({c.status})",
                                 status=status, reason=reason, file=run.path,
                                 pointer=target.resource.pointer_of(c.path)[1], line=c.line,
                                 target=target.label if status == RELATED else None, relevant=False))
    return out
