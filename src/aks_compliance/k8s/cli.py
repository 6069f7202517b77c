"""``aks-compliance snapshot``: read a live cluster into a snapshot file (gzip JSON) for offline checks.

    aks-compliance snapshot --kube-context aks-prod -o evidence/aks-prod.json.gz
    aks-compliance scan --k8s evidence/aks-prod.json.gz --results-json reports/results.json

Exit status: 0 the snapshot was written (kinds that could not be read are listed: the controls that
need them will be unknown), 2 the cluster could not be read at all, 4 usage error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def snapshot_command(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="aks-compliance snapshot",
        description="Read the Kubernetes objects the in-cluster controls need (read-only, never Secrets) into a "
                    "snapshot file, with the server, version, time, identity and permission gaps.")
    parser.add_argument("--kube-context", metavar="NAME", help="kubeconfig context (default: the current one)")
    parser.add_argument("--kubeconfig", metavar="FILE", help="kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
    parser.add_argument("--in-cluster", action="store_true", help="use the pod's service account (run as a pod)")
    parser.add_argument("-o", "--output", required=True, metavar="FILE",
                        help="snapshot file to write (.json.gz: gzip; .json: plain)")
    parser.add_argument("--page-size", type=int, default=500, metavar="N", help="objects per list request (500)")
    parser.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS", help="read timeout per request (30)")
    parser.add_argument("--retries", type=int, default=4, metavar="N",
                        help="retries of a request after 429/5xx/timeouts, with exponential backoff (4)")
    parser.add_argument("--no-kubelet-config", action="store_true",
                        help="do not read the nodes' kubelet configuration (nodes/{name}/proxy/configz), even where "
                             "get on nodes/proxy is granted: the CIS 3.2 node controls are then unknown")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return 0 if exc.code == 0 else 4
    if args.page_size < 1 or args.timeout <= 0 or args.retries < 0:
        print("aks-compliance snapshot: --page-size, --timeout and --retries must be positive", file=sys.stderr)
        return 4
    from .collector import CollectError, CollectOptions, collect_snapshot

    options = CollectOptions(page_size=args.page_size, timeout=(min(10.0, args.timeout), args.timeout),
                             retries=args.retries, kubelet_config=not args.no_kubelet_config)
    try:
        meta = collect_snapshot(Path(args.output), kubeconfig=args.kubeconfig, context=args.kube_context,
                                in_cluster=args.in_cluster, options=options,
                                progress=lambda line: print(line, file=sys.stderr, flush=True))
    except CollectError as exc:
        print(f"aks-compliance snapshot: {exc.where}: {exc}", file=sys.stderr)
        return 2
    cluster = meta.get("cluster") or {}
    version = (cluster.get("version") or {}).get("gitVersion")
    identity = (meta.get("collector") or {}).get("identity") or {}
    total = sum(v.get("count", 0) for v in meta["lists"].values() if isinstance(v, dict))
    print(f"snapshot of {meta['scope']} ({cluster.get('server')}, Kubernetes {version}) as "
          f"{identity.get('username') or 'unknown identity'}: {total} objects -> {args.output}")
    from .kinds import KUBELET_CONFIGZ
    for kind, info in meta["lists"].items():
        if kind == KUBELET_CONFIGZ and info.get("status") in ("complete", "partial"):
            print(f"  {'kubelet configuration':32} {info.get('count', 0):>7}  (of {info.get('nodes', 0)} node(s), "
                  f"nodes/{{name}}/proxy/configz)")
            for node, why in (info.get("failed_nodes") or {}).items():
                print(f"    {node}: NOT READ: {why}")
        elif info.get("status") == "complete":
            print(f"  {kind:32} {info['count']:>7}  (resourceVersion {info.get('resourceVersion')}, "
                  f"{info.get('pages')} page(s), {info.get('retries', 0)} retries, {info.get('restarts', 0)} restarts)")
    for gap in meta["gaps"]:
        print(f"  {gap['kind']:32} NOT READ: {gap['reason']}")
    if meta["gaps"]:
        print(f"{len(meta['gaps'])} kind(s) could not be read: controls that need them will be unknown, never passed.")
    return 0
