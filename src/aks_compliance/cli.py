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

from .atomic import terminate_as_interrupt
from .version import __version__
from .results import Outcome
from .textsafe import EscapingFile


def suite_dir() -> Path:
    packaged = Path(__file__).parent / "_suite"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "tests_compliance"


class _Outcomes:
    """Collects result outcomes as pytest reports them, to compute the exit status."""

    def __init__(self) -> None:
        self.outcomes: set[str] = set()

    def pytest_addoption(self, parser: pytest.Parser) -> None:
        parser.prog = "aks-compliance scan"  # usage errors name the command the user ran, not pytest.main()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        outcome = getattr(report, "aksc_outcome", None)
        if outcome is not None:
            self.outcomes.add(outcome)


# pytest's options a scan is run with most: shown after ours in `scan --help` (all of pytest's: --help-all)
PYTEST_OPTIONS = (
    (("-k",), "EXPRESSION", "run only the results whose test id matches, e.g. -k 'AKS-011 and prod' (the run is then "
                            "recorded as partial in every output)"),
    (("-n",), "NUM", "pytest-xdist workers (the xdist extra): -n auto; helps live collection, not offline templates"),
    (("--junitxml",), "PATH", "JUnit XML: one test case per control and target, with control, CIS ids and severity "
                              "as properties"),
    (("--html",), "PATH", "pytest-html report (the html extra); add --self-contained-html for one file"),
    (("-q", "-v"), None, "less or more output"),
    (("--collect-only",), None, "list the test ids (control-target) without reporting verdicts"),
    (("--help-all",), None, "every option, pytest's own included"),
)


class _OptionRecorder:
    """Stands in for pytest's parser and option group: records the plugin's options for our own short help."""

    def __init__(self) -> None:
        self.options: list[tuple[tuple[str, ...], dict]] = []

    def getgroup(self, *args: object, **kwargs: object) -> "_OptionRecorder":
        return self

    def addoption(self, *names: str, **attrs: object) -> None:
        self.options.append((names, attrs))


def scan_help() -> str:
    """`aks-compliance scan --help`: our options (the plugin's, as it declares them) first, then the pytest
    options people use with a scan, the exit statuses, and how to see all of pytest's."""
    from . import plugin

    recorder = _OptionRecorder()
    plugin.pytest_addoption(recorder)  # type: ignore[arg-type]
    parser = argparse.ArgumentParser(
        prog="aks-compliance scan", add_help=False, formatter_class=argparse.RawDescriptionHelpFormatter,
        usage="aks-compliance scan (--arm PATH | --k8s PATH | --kube-context NAME | --azure-...) [options]",
        description="Run the AKS compliance controls over the given inputs (the pytest suite, with its own "
                    "configuration).",
        epilog="Exit status: 0 compliant, 1 failed controls (at or above --fail-on), 2 input errors, 3 internal "
               "error, 4 usage error, 5 no input.\nDocumentation: README.md and docs/ of the aks-compliance repository; "
               "'aks-compliance catalog' lists the controls, 'aks-compliance catalog ID' shows one in full.")
    ours = parser.add_argument_group("aks-compliance options")
    # tuning and advanced options (--aksc-*: items, shards, progress; endpoints and CA files) are named in one
    # line: the short help stays short; --help-all describes them
    advanced = [names[0] for names, attrs in recorder.options
                if names[0].startswith("--aksc-") or str(attrs.get("help", "")).startswith("advanced:")]
    for names, attrs in recorder.options:
        if names[0] in advanced:
            continue
        shown = {k: v for k, v in attrs.items() if k in ("action", "metavar", "help", "choices", "nargs")}
        if attrs.get("default") not in (None, [], False, "") and "help" in shown and "default" not in str(
                shown["help"]):
            shown["help"] = f"{shown['help']} (default: {attrs['default']})"
        ours.add_argument(*names, **shown)
    if advanced:
        parser.epilog = f"Advanced options (described by --help-all): {', '.join(advanced)}.\n{parser.epilog}"
    common = parser.add_argument_group("pytest options often used with a scan")
    for names, metavar, text in PYTEST_OPTIONS:
        if metavar:
            common.add_argument(*names, metavar=metavar, help=text)
        else:
            common.add_argument(*names, action="store_true", help=text)
    return parser.format_help()


def scan(argv: list[str]) -> int:
    """Run the suite with its own configuration: the ini file beside it (``-c``), its own rootdir and
    conftest cut-off, and no ``PYTEST_ADDOPTS``; a user's pytest configuration in the working directory
    (``addopts = -x``, ``--cov``, markers) never changes what a scan checks or reports."""
    import os
    import shutil
    import tempfile

    collector = _Outcomes()
    suite = suite_dir()
    argv, faults = _directory_outputs(argv)
    args = [str(suite), "-c", str(suite / "pytest.ini"), "--rootdir", str(suite), "--confcutdir", str(suite),
            "-p", "no:cacheprovider", "-q", "-rN", *argv]
    # A private base for temporary directories (pytest-xdist gives each worker one): otherwise pytest makes its
    # numbered directories under the user's /tmp/pytest-of-USER and, at the end, deletes the user's older ones
    # beyond the last three (seconds, when their own test runs left many files there). Removed after the run.
    basetemp = None
    if not any(a == "--basetemp" or a.startswith("--basetemp=") for a in argv):
        basetemp = tempfile.mkdtemp(prefix="aksc-basetemp-")
        args += ["--basetemp", basetemp]
    saved = os.environ.pop("PYTEST_ADDOPTS", None)
    stderr = sys.stderr  # pytest's own messages (a -k expression it cannot parse, a warning) quote our options
    sys.stderr = EscapingFile(stderr, keep_colour=_isatty(stderr))
    try:
        code = pytest.main(args, plugins=[collector, _OutputFaults(faults)])
    except KeyboardInterrupt:  # SIGTERM or Ctrl-C where pytest does not catch it (its writers at session end)
        print("aks-compliance: interrupted (exit status 3)", file=stderr)
        code = pytest.ExitCode.INTERRUPTED
    finally:
        sys.stderr = stderr
        if saved is not None:
            os.environ["PYTEST_ADDOPTS"] = saved
        if basetemp is not None:
            shutil.rmtree(basetemp, ignore_errors=True)
    if code in (pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.INTERRUPTED):
        return 4 if code == pytest.ExitCode.USAGE_ERROR else 3
    if code == pytest.ExitCode.NO_TESTS_COLLECTED:
        return 5
    if Outcome.ERROR.value in collector.outcomes:
        return 2
    if code == pytest.ExitCode.TESTS_FAILED:  # the plugin applied --fail-on/--fail-on-unknown to this
        return 1
    return 0 if code == pytest.ExitCode.OK else int(code)


# pytest's own outputs whose option refuses a directory while parsing, before any plugin can step in
_PYTEST_FILE_OPTIONS = {"--junitxml": "JUnit XML", "--junit-xml": "JUnit XML", "--html": "pytest-html report"}


def _directory_outputs(argv: list[str]) -> tuple[list[str], list[tuple[str, str, str]]]:
    """``argv`` without pytest's own outputs given a directory, and those as (label, path, why): pytest would
    refuse the whole run; the scan names them instead and writes its other outputs (exit status 4)."""
    kept: list[str] = []
    faults: list[tuple[str, str, str]] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        name, eq, value = arg.partition("=")
        if name in _PYTEST_FILE_OPTIONS and (eq or i + 1 < len(argv)):
            path = value if eq else argv[i + 1]
            step = 1 if eq else 2
            if Path(path).is_dir():
                faults.append((_PYTEST_FILE_OPTIONS[name], path, "is a directory"))
            else:
                kept.extend(argv[i:i + step])
            i += step
            continue
        kept.append(arg)
        i += 1
    return kept, faults


class _OutputFaults:
    """Hands the outputs :func:`_directory_outputs` left out to the reporter, which names them."""

    def __init__(self, faults: list[tuple[str, str, str]]) -> None:
        self.faults = faults

    def pytest_configure(self, config: pytest.Config) -> None:
        from .stash import OUTPUT_FAULTS_KEY
        if self.faults:
            config.stash.setdefault(OUTPUT_FAULTS_KEY, []).extend(self.faults)


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


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
    if command == "scan":  # the suite guards its own terminal (and scan() pytest's early messages)
        return _scan_command(rest)
    # every other command prints names, reasons and paths from its inputs (a results document, a snapshot):
    # through one escaping layer, so none of them acts on the terminal or fails to encode (a lone surrogate)
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = EscapingFile(stdout, keep_colour=False), EscapingFile(stderr, keep_colour=False)
    terminate_as_interrupt()  # a file being written (a snapshot, a report) is removed, never left half-written
    try:
        return _command(parser, argv, command, rest)
    except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM: said, with the status of an interrupted scan
        print(f"aks-compliance {command}: {exc or 'interrupted'}; stopped, and no file was left half-written "
              "(exit status 3)", file=sys.stderr)
        return 3
    finally:
        sys.stdout, sys.stderr = stdout, stderr


def _scan_command(rest: list[str]) -> int:
    if "--help-all" in rest:  # pytest's whole help, ours included
        return scan(["--help" if a == "--help-all" else a for a in rest])
    if any(a in ("-h", "--help") for a in rest):
        print(scan_help(), end="")
        return 0
    return scan(rest)


def _command(parser: argparse.ArgumentParser, argv: list[str], command: str, rest: list[str]) -> int:
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
