"""``aks-compliance policies ...``: generate the Azure Policy definitions, and deploy them.

Exit status: 0 done, 1 ``generate --check`` found policies/ out of date, 2 generation or deployment
failed (the message says where and why), 4 usage error.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aks-compliance policies",
                                     description="Azure Policy definitions generated from the controls.")
    sub = parser.add_subparsers(dest="action", required=True)
    gen = sub.add_parser("generate", help="write one custom definition per expressible control, the initiative, "
                                          "an ARM template and a README into DIR")
    gen.add_argument("--out", default="policies", metavar="DIR", help="output directory (default: policies)")
    gen.add_argument("--check", action="store_true",
                     help="write nothing; exit 1 if DIR differs from what the catalog generates")
    gen.add_argument("--controls-path", action="append", default=[], metavar="PATH",
                     help="also your own controls (as 'scan --controls-path'); repeatable")
    gen.add_argument("--overlay", action="append", default=[], metavar="FILE",
                     help="apply an overlay (disabled controls get no definition; severities and parameter "
                          "defaults as the overlay sets them); repeatable")
    gen.add_argument("--fixtures", default=None, metavar="DIR",
                     help="fixtures (DIR/<control id>/) the Kubernetes policies' samples and gator suites come from "
                          "(default: the project's fixtures/k8s, in a source checkout)")
    gen.add_argument("--custom-only", action="store_true",
                     help="generate only your own controls (from --controls-path and installed packages)")
    dep = sub.add_parser("deploy", help="create or update the definitions and the initiative with the Azure SDK "
                                        "(credentials: DefaultAzureCredential)")
    target = dep.add_mutually_exclusive_group(required=True)
    target.add_argument("--subscription", metavar="ID", help="define them in this subscription")
    target.add_argument("--management-group", metavar="ID", help="define them in this management group")
    dep.add_argument("--dry-run", action="store_true", help="only read, and print what would change")
    dep.add_argument("--assign", metavar="SCOPE", default=None,
                     help="also assign the initiative at SCOPE (e.g. /subscriptions/<id>/resourceGroups/<rg>)")
    dep.add_argument("--policies", default="policies", metavar="DIR",
                     help="the generated definitions to deploy (default: policies)")
    dep.add_argument("--arm-endpoint", default=None, metavar="URL",
                     help="Azure Resource Manager endpoint (default: https://management.azure.com; another cloud's "
                          "endpoint, e.g. https://management.chinacloudapi.cn)")
    return parser


def main(argv: list[str]) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return 0 if exc.code == 0 else 4
    if args.action == "generate":
        from ..controls import Catalog, CatalogError, load_catalog
        from .generate import GenerationError, differences, summary, write
        try:
            catalog = load_catalog(args.controls_path, entry_points=True, overlays=args.overlay)
        except CatalogError as exc:
            print(f"aks-compliance policies generate: error: {exc}", file=sys.stderr)
            return 4
        if args.custom_only:
            catalog = Catalog([c for c in catalog if not c.builtin], overlays=catalog.overlays,
                              sources=catalog.sources, disabled=catalog.disabled)
        fixtures = {"fixtures": args.fixtures} if args.fixtures else {}
        # the command that regenerates this folder, as given (what the README and --check's hint say)
        fixtures["command"] = " ".join(["aks-compliance", "policies"] + [shlex.quote(a) for a in argv if a != "--check"])
        try:
            if args.check:
                diffs = differences(args.out, catalog, **fixtures)
                for d in diffs:
                    print(f"{Path(args.out) / d.split(':', 1)[0]}: {d.split(': ', 1)[1]}")
                if diffs:
                    print(f"aks-compliance policies: out of date; run '{fixtures['command']}'", file=sys.stderr)
                    return 1
                print(f"{args.out}: up to date")
                return 0
            result = write(args.out, catalog, **fixtures)
        except GenerationError as exc:
            print(f"aks-compliance policies generate: error: {exc}", file=sys.stderr)
            return 2
        for line in summary(result):
            print(line)
        print(f"written to {args.out}/")
        return 0
    from .deploy import DeployError, DeployOptions, deploy
    options = DeployOptions(policies_dir=Path(args.policies), subscription=args.subscription,
                            management_group=args.management_group, dry_run=args.dry_run,
                            assign_scope=args.assign, endpoint=args.arm_endpoint)
    try:
        deploy(options, out=print)
    except DeployError as exc:
        print(f"aks-compliance policies deploy: error: {exc}", file=sys.stderr)
        return 2
    return 0
