"""``aks-compliance snapshot --azure-...``: read a live Azure estate into a snapshot file for offline checks.

    aks-compliance snapshot --azure-subscription SUB --azure-resource-group rg-aks -o evidence/rg-aks.json.gz
    aks-compliance snapshot --azure-scope management-group:platform -o evidence/fleet.json.gz
    aks-compliance scan --arm evidence/rg-aks.json.gz --results-json reports/results.json

The same ``snapshot`` subcommand reads a Kubernetes cluster with ``--kube-context`` (k8s/cli.py); the
``--azure-...`` options select this family. Exit status: 0 written and complete, 1 written with errors or
gaps (listed; the scan reports each as an error item, the controls that need a gap are unknown),
2 nothing could be read (no credential, rejected token, unreachable endpoint), 4 usage error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..option_values import any_case
from .cloud import CLOUD_NAMES


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="aks-compliance snapshot",
        description="Read live Azure state (managed clusters with their agent pools, maintenance configurations and "
                    "diagnostic settings, resource group exports, or a fleet from Azure Resource Graph) and Azure "
                    "Policy's latest compliance states into a snapshot file, with the time, the identity (from the "
                    "token's claims; never the token), the cloud, the scopes and every error. Re-check it offline "
                    "with 'aks-compliance scan --arm FILE'. Credentials: DefaultAzureCredential (environment, "
                    "workload identity, managed identity, Azure CLI).")
    p.add_argument("--azure-subscription", metavar="ID",
                   help="subscription of --azure-resource-group; alone: every managed cluster in it (Resource Graph)")
    p.add_argument("--azure-resource-group", action="append", default=[], metavar="NAME",
                   help="resource group to read (clusters by ARM GET, their pools, maintenance configurations, "
                        "diagnostic settings, and the group's export). Repeatable.")
    p.add_argument("--azure-cluster", action="append", default=[], metavar="RESOURCE_ID",
                   help="managed cluster to read (and its group's export). Repeatable.")
    p.add_argument("--azure-scope", action="append", default=[], metavar="management-group:ID|subscription:ID",
                   help="fleet scope: every managed cluster in it from one Azure Resource Graph query. Repeatable.")
    p.add_argument("--azure-cloud", default="AzureCloud", choices=CLOUD_NAMES, type=any_case(CLOUD_NAMES),
                   help="sovereign cloud (AzureCloud)")
    p.add_argument("--azure-endpoint", metavar="URL",
                   help="advanced: Resource Manager endpoint (Azure Stack Hub, a private endpoint, a test server)")
    p.add_argument("--azure-ca-file", metavar="FILE", help="advanced: CA bundle for --azure-endpoint")
    p.add_argument("--no-export", action="store_true", help="do not read the resource groups' export templates")
    p.add_argument("--no-policy-states", action="store_true", help="do not read Azure Policy's compliance states")
    p.add_argument("--retries", type=int, default=3, metavar="N",
                   help="retries per request after 429 (honouring Retry-After), 5xx and timeouts (3)")
    p.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS", help="read timeout per request (60)")
    p.add_argument("-o", "--output", required=True, metavar="FILE",
                   help="snapshot file to write (.json.gz: gzip; .json: plain)")
    return p


def snapshot_command(argv: list[str], **collect_kwargs: Any) -> int:
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:
        return 0 if exc.code == 0 else 4
    from .collector import AzureOptions, AzureUsageError, collect_snapshot

    options = AzureOptions(subscription=args.azure_subscription, resource_groups=args.azure_resource_group,
                           clusters=args.azure_cluster, scopes=args.azure_scope, cloud=args.azure_cloud,
                           endpoint=args.azure_endpoint, ca_file=args.azure_ca_file, retries=args.retries,
                           timeout=args.timeout, export=not args.no_export, policy_states=not args.no_policy_states)
    if not options.live:
        print("aks-compliance snapshot: give --azure-subscription ID with --azure-resource-group NAME, "
              "--azure-cluster RESOURCE_ID or --azure-scope management-group:ID|subscription:ID", file=sys.stderr)
        return 4
    try:
        options.validate()
        meta = collect_snapshot(Path(args.output), options, out=print, **collect_kwargs)
    except AzureUsageError as exc:
        print(f"aks-compliance snapshot: {exc}", file=sys.stderr)
        return 4
    except OSError as exc:
        print(f"aks-compliance snapshot: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    from .snapshot import read_snapshot

    snap = read_snapshot(args.output)
    counts = meta["counts"]
    who = meta.get("identity") or {}
    name = who.get("name") or who.get("app_id") or who.get("object_id") or "an unknown identity"
    print(f"snapshot as {name} (tenant {who.get('tenant_id', 'unknown')}) of {meta['cloud']}: "
          f"{counts['resources']} resources by ARM GET, {counts['graph']} clusters from Resource Graph, "
          f"{counts['exports']} export(s), {counts['policy_states']} Azure Policy state(s) -> {args.output}")
    errors = snap.section("errors")
    for i, err in enumerate(errors):
        line = snap.doc.lines.nearest_line(f"/errors/{i}")[0]
        print(f"  {'warning' if err.get('severity') == 'warning' else 'error'} ({args.output}:{line}): "
              f"{err.get('message')}", file=sys.stderr)
    for gap in snap.section("gaps"):
        print(f"  not read: {gap.get('type')}: {gap.get('reason')}", file=sys.stderr)
    read_anything = counts["resources"] or counts["graph"] or counts["exports"] or counts["policy_states"]
    if any(e.get("kind") in ("credential", "auth", "network") for e in errors) and not read_anything:
        return 2
    return 1 if any(e.get("severity") != "warning" for e in errors) or snap.section("gaps") else 0
