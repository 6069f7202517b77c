"""``aks-compliance report`` and ``aks-compliance diff``: reports from saved results documents."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..atomic import write_text
from ..option_values import any_case
from .common import FAIL_ON_CHOICES


def report(argv: list[str]) -> int:
    """Rebuild the auditor report (and optionally SARIF and CSV) from a results JSON. Exit 0, or 4."""
    ap = argparse.ArgumentParser(prog="aks-compliance report",
                                 description="Rebuild reports from a saved results JSON (aks-compliance/results/v1).")
    ap.add_argument("results", metavar="RESULTS.json")
    ap.add_argument("-o", "--output", metavar="FILE", help="the auditor HTML report")
    ap.add_argument("--sarif", metavar="FILE", help="SARIF 2.1.0 for code scanning")
    ap.add_argument("--csv", metavar="FILE", help="the control matrix as CSV")
    try:
        args = ap.parse_args(argv)
    except SystemExit as exc:
        return 0 if exc.code == 0 else 4
    if not (args.output or args.sarif or args.csv):
        print("aks-compliance report: nothing to write; give -o FILE, --sarif FILE or --csv FILE", file=sys.stderr)
        return 4
    from .diff import load
    try:
        doc = load(args.results)
    except ValueError as exc:
        print(f"aks-compliance report: {exc}", file=sys.stderr)
        return 4
    for path in filter(None, (args.output, args.sarif, args.csv)):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    try:
        if args.output:
            from .html import write_report
            write_report(args.output, doc)
            print(f"audit report: {args.output}")
        if args.sarif:
            from .sarif import write_sarif
            log = write_sarif(args.sarif, doc)
            print(f"SARIF: {args.sarif} ({len(log['runs'][0]['results'])} result(s))")
        if args.csv:
            from .csv_matrix import write_csv
            print(f"CSV matrix: {args.csv} ({write_csv(args.csv, doc)} row(s))")
    except Exception as exc:  # noqa: BLE001 - narrowed below
        from jinja2 import TemplateError
        if not isinstance(exc, (LookupError, TypeError, ValueError, AttributeError, TemplateError)):
            raise
        # a document that passed the shape check but is still not what a run writes (edited by hand,
        # from another tool): name it, no traceback; the writers are atomic, so no half report is left
        print(f"aks-compliance report: {args.results} is not a results document the reports can be built from "
              f"({type(exc).__name__}: {str(exc)[:300]})", file=sys.stderr)
        return 4
    return 0


def diff(argv: list[str]) -> int:
    """Exit 2 when NEW has errors OLD had not, else 1 when NEW has failures OLD had not (at or above
    --fail-on; with --fail-on-unknown also new unknowns), else 0; 4 on bad arguments or files."""
    ap = argparse.ArgumentParser(prog="aks-compliance diff",
                                 description="Compare two results JSON files: new failures, fixed ones, changed "
                                             "unknowns. For baselines where only new findings fail the build.")
    ap.add_argument("old", metavar="OLD.json")
    ap.add_argument("new", metavar="NEW.json")
    ap.add_argument("--fail-on", choices=FAIL_ON_CHOICES, type=any_case(FAIL_ON_CHOICES), default="info",
                    metavar="SEVERITY",
                    help="exit 1 when a new failure at or above SEVERITY appears (default: info, i.e. any)")
    ap.add_argument("--fail-on-unknown", action="store_true", help="new unknowns also fail")
    ap.add_argument("--json", metavar="FILE", help="write the differences as JSON")
    try:
        args = ap.parse_args(argv)
    except SystemExit as exc:
        return 0 if exc.code == 0 else 4
    from .diff import diff_documents, format_text, load
    try:
        old, new = load(args.old), load(args.new)
    except ValueError as exc:
        print(f"aks-compliance diff: {exc}", file=sys.stderr)
        return 4
    d = diff_documents(old, new)
    print(format_text(d, args.fail_on))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        write_text(args.json, json.dumps({"old": args.old, "new": args.new, "fail_on": args.fail_on,
                                               **d.as_dict()}, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    if d.new_errors:  # as for scan: an input error (2) outranks failures (1)
        return 2
    if d.failing(args.fail_on) or (args.fail_on_unknown and d.new_unknowns):
        return 1
    return 0
