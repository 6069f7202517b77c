"""``aks-compliance``: a thin front over the pytest suite, for people who do not think in pytest.

``aks-compliance scan`` takes the same options as ``pytest tests_compliance`` and runs the same suite.
Exit status: 0 compliant, 1 failed controls (with --fail-on SEVERITY: a failure at or above it remains
after waivers; with --fail-on-unknown also an unknown or unattested manual result at or above it),
2 input errors (bad files, broken expressions), 3 internal error, 4 usage error (also a bad waiver or
attestation file), 5 no input.
``aks-compliance report RESULTS.json -o FILE`` rebuilds reports from saved results (0, or 4 on bad input);
``aks-compliance diff OLD.json NEW.json`` compares two runs (1 when new failures at or above --fail-on).
``aks-compliance merge SHARD.json... -o results.json`` merges the shards of one run (--aksc-shard K/N jobs).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pytest

from .version import __version__
from .results import Outcome


def suite_dir() -> Path:
    packaged = Path(__file__).parent / "_suite"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "tests_compliance"


class _Outcomes:
    """Collects result outcomes as pytest reports them, to compute the exit status."""

    def __init__(self) -> None:
        self.outcomes: set[str] = set()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        outcome = getattr(report, "aksc_outcome", None)
        if outcome is not None:
            self.outcomes.add(outcome)


def scan(argv: list[str]) -> int:
    """Run the suite with its own configuration: the ini file beside it (``-c``), its own rootdir and
    conftest cut-off, and no ``PYTEST_ADDOPTS``; a user's pytest configuration in the working directory
    (``addopts = -x``, ``--cov``, markers) never changes what a scan checks or reports."""
    import os

    collector = _Outcomes()
    suite = suite_dir()
    args = [str(suite), "-c", str(suite / "pytest.ini"), "--rootdir", str(suite), "--confcutdir", str(suite),
            "-p", "no:cacheprovider", "-q", "-rN", *argv]
    saved = os.environ.pop("PYTEST_ADDOPTS", None)
    try:
        code = pytest.main(args, plugins=[collector])
    finally:
        if saved is not None:
            os.environ["PYTEST_ADDOPTS"] = saved
    if code in (pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.INTERRUPTED):
        return 4 if code == pytest.ExitCode.USAGE_ERROR else 3
    if code == pytest.ExitCode.NO_TESTS_COLLECTED:
        return 5
    if Outcome.ERROR.value in collector.outcomes:
        return 2
    if code == pytest.ExitCode.TESTS_FAILED:  # the plugin applied --fail-on/--fail-on-unknown to this
        return 1
    return 0 if code == pytest.ExitCode.OK else int(code)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog="aks-compliance",
        description="AKS compliance controls as a pytest suite. 'scan' passes its options to the suite "
                    "(see 'aks-compliance scan --help' for --arm, --results-json, ...).")
    parser.add_argument("--version", action="version", version=f"aks-compliance {__version__}")
    parser.add_argument("command", choices=["scan", "policies", "report", "diff", "merge", "catalog", "snapshot"],
                        help="scan: run the controls over the given inputs; policies: generate or deploy the "
                             "Azure Policy definitions (see 'aks-compliance policies --help'); report: rebuild "
                             "the auditor report (and SARIF/CSV) from a results JSON; diff: compare two results "
                             "JSON files (new failures, fixed, changed unknowns); merge: combine the shard results of "
                             "one run (jobs run with --aksc-shard K/N) into one results JSON; catalog: write the control "
                             "catalog document (catalog --markdown docs/controls.md); snapshot: read a live cluster "
                             "into a snapshot file (snapshot --kube-context NAME -o FILE), or live Azure (snapshot "
                             "--azure-subscription ID --azure-resource-group NAME -o FILE, --azure-scope ...)")
    if not argv or argv[0] in ("-h", "--help", "--version"):
        parser.parse_args(argv)
        return 0
    command, rest = argv[0], argv[1:]
    if command == "scan":
        return scan(rest)
    if command == "snapshot":  # one subcommand, two families: --azure-... (azure/cli.py), else Kubernetes (k8s/cli.py)
        if any(a.startswith("--azure") for a in rest):
            from .azure.cli import snapshot_command as azure_snapshot
            return azure_snapshot([a for a in rest if a != "--azure"])
        if any(a in ("-h", "--help") for a in rest):
            print("Live Azure: aks-compliance snapshot --azure-subscription ID --azure-resource-group NAME -o FILE "
                  "(see 'aks-compliance snapshot --azure --help'). Kubernetes:")
        from .k8s.cli import snapshot_command
        return snapshot_command(rest)
    if command == "policies":
        from .policy.commands import main as policies
        return policies(rest)
    if command == "catalog":
        from .controls.docs import catalog_command
        return catalog_command(rest)
    if command == "merge":
        from .shards import merge_command
        return merge_command(rest)
    if command in ("report", "diff"):
        from .report import commands
        return commands.report(rest) if command == "report" else commands.diff(rest)
    parser.parse_args(argv)
    return 4
