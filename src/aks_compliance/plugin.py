"""The pytest plugin: options, parametrization from one scan, reporting.

The scan runs once per process (each xdist worker computes the same deterministic scan); items are
parametrized with its results and only report them, so per-item cost stays small.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .arm.inputs import parse_param_value
from .results import Outcome, Result, summarize, write_results
from .scan import ScanOptions, ScanRun, run_scan

RUN_KEY = pytest.StashKey[ScanRun]()
OPTIONS_KEY = pytest.StashKey[ScanOptions]()
RAN_KEY = pytest.StashKey[set]()
NO_INPUT_KEY = pytest.StashKey[bool]()
RESULT_FIXTURE = "aksc_result"
INPUT_HELP = ("aks-compliance: no input given, nothing to check. Give input with --arm PATH (a template, "
              "export or REST resource JSON, or a directory of them; repeatable), optionally with "
              "--arm-parameters FILE and --arm-param NAME=VALUE.")


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("aks-compliance", "AKS compliance controls")
    g.addoption("--arm", action="append", default=[], metavar="PATH",
                help="ARM input: a deployment template, an az group export, REST resource JSON, or a directory "
                     "of them (recursive). Repeatable.")
    g.addoption("--arm-parameters", action="append", default=[], metavar="[TEMPLATE=]FILE",
                help="parameter file for every template given (or only for TEMPLATE). Without it, X.json is "
                     "paired with X.parameters.json beside it.")
    g.addoption("--arm-param", action="append", default=[], metavar="NAME=VALUE",
                help="set a template parameter (VALUE is read as JSON when it parses, else as a string)")
    g.addoption("--arm-subscription-id", default=None, metavar="ID",
                help="subscription id the templates deploy to (default: a placeholder)")
    g.addoption("--arm-resource-group", default=None, metavar="NAME",
                help="resource group the templates deploy to (default: a placeholder)")
    g.addoption("--arm-location", default=None, metavar="LOCATION",
                help="location of that resource group (resourceGroup().location)")
    g.addoption("--controls", default=None, metavar="IDS", help="comma-separated control ids to run (default: all)")
    g.addoption("--control-param", action="append", default=[], metavar="ID.NAME=VALUE",
                help="override a control parameter, e.g. AKS-007.allowedUpgradeChannels='[\"stable\"]'")
    g.addoption("--results-json", default=None, metavar="FILE", help="write the results JSON (schema v1) to FILE")
    g.addoption("--audit-report", default=None, metavar="FILE", help="write the auditor HTML report to FILE")


def options_from_config(config: pytest.Config) -> ScanOptions:
    def pairs(values: list[str], what: str) -> list[tuple[str, str]]:
        out = []
        for v in values:
            if "=" not in v:
                raise pytest.UsageError(f"{what} expects NAME=VALUE, got {v!r}")
            k, val = v.split("=", 1)
            out.append((k.strip(), val))
        return out

    control_params: dict[str, dict[str, Any]] = {}
    for k, v in pairs(config.getoption("control_param"), "--control-param"):
        if "." not in k:
            raise pytest.UsageError(f"--control-param expects ID.NAME=VALUE, got {k!r}")
        cid, name = k.split(".", 1)
        control_params.setdefault(cid, {})[name] = parse_param_value(v)
    controls = config.getoption("controls")
    return ScanOptions(
        arm_paths=list(config.getoption("arm")),
        arm_parameter_files=list(config.getoption("arm_parameters")),
        arm_params={k: parse_param_value(v) for k, v in pairs(config.getoption("arm_param"), "--arm-param")},
        subscription_id=config.getoption("arm_subscription_id"),
        resource_group=config.getoption("arm_resource_group"),
        location=config.getoption("arm_location"),
        controls=[c.strip() for c in controls.split(",") if c.strip()] if controls else None,
        control_params=control_params,
    )


def pytest_configure(config: pytest.Config) -> None:
    config.stash[OPTIONS_KEY] = options_from_config(config)
    config.stash[RAN_KEY] = set()
    config.pluginmanager.register(_Reporter(config), "aks-compliance-reporter")


def get_run(config: pytest.Config) -> ScanRun:
    run = config.stash.get(RUN_KEY, None)
    if run is None:
        try:
            run = run_scan(config.stash[OPTIONS_KEY])
        except KeyError as exc:  # unknown control id
            raise pytest.UsageError(str(exc.args[0])) from None
        config.stash[RUN_KEY] = run
    return run


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if RESULT_FIXTURE not in metafunc.fixturenames:
        return
    options = metafunc.config.stash[OPTIONS_KEY]
    if not options.has_input:
        metafunc.parametrize(RESULT_FIXTURE, [], indirect=True)
        return
    run = get_run(metafunc.config)
    metafunc.parametrize(RESULT_FIXTURE, run.results, ids=[r.key for r in run.results], indirect=True)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.stash[OPTIONS_KEY].has_input:
        return
    ours = [i for i in items if RESULT_FIXTURE in getattr(i, "fixturenames", ())]
    if ours:
        config.stash[NO_INPUT_KEY] = True
        config.hook.pytest_deselected(items=ours)
        items[:] = [i for i in items if i not in ours]


@pytest.fixture
def aksc_result(request: pytest.FixtureRequest) -> Result:
    result: Result = request.param
    if result.outcome is Outcome.ERROR:
        raise ResultError(result)
    return result


class ResultError(Exception):
    def __init__(self, result: Result) -> None:
        super().__init__(result.reason)
        self.result = result


def check_result(result: Result) -> None:
    """The body of every control test: turn the precomputed result into a pytest outcome."""
    o = result.outcome
    if o is Outcome.PASSED:
        return
    if o is Outcome.FAILED:
        pytest.fail(failure_text(result), pytrace=False)
    if o is Outcome.UNKNOWN:
        pytest.skip(f"UNKNOWN: {result.reason}")
    if o is Outcome.NOT_APPLICABLE:
        pytest.skip(f"NOT APPLICABLE: {result.reason}")
    if o is Outcome.MANUAL:
        pytest.skip(f"MANUAL: {result.reason}")
    if o is Outcome.WAIVED:
        pytest.xfail(f"WAIVED: {result.reason}")
    raise ResultError(result)


def failure_text(result: Result) -> str:
    t = result.target
    lines = [f"{result.control_id} failed for {t.type} {t.name} ({t.file}:{t.line})"]
    if result.reason:
        lines.append(f"  reason: {result.reason}")
    for e in result.evidence:
        loc = f"  [{e.location()}]" if e.file else ""
        lines.append(f"  {e.path}: expected {e.expected}, actual {e.actual}{loc}")
    return "\n".join(lines)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    callspec = getattr(item, "callspec", None)
    result = callspec.params.get(RESULT_FIXTURE) if callspec is not None else None
    if not isinstance(result, Result):
        return
    report.aksc_key = result.key
    report.aksc_outcome = result.outcome.value
    if call.excinfo is not None and call.excinfo.errisinstance(ResultError):
        report.longrepr = f"ERROR: {result.reason}"
    if report.when == "setup" and not item.user_properties:
        run = item.config.stash.get(RUN_KEY, None)
        control = run.catalog.get(result.control_id) if run and result.control_id else None
        item.user_properties.append(("control_id", result.control_id or ""))
        item.user_properties.append(("target", result.target.name))
        if control is not None:
            item.user_properties.append(("severity", control.severity.value))
            item.user_properties.append(("cis_aks", ",".join(control.mappings.cis_aks)))


def pytest_report_header(config: pytest.Config) -> list[str]:
    options = config.stash[OPTIONS_KEY]
    from . import __version__
    from .controls import load_catalog
    n = len(load_catalog().select(options.controls))
    if not options.has_input:
        return [f"aks-compliance {__version__}: {n} controls; no input given"]
    return [f"aks-compliance {__version__}: {n} controls; ARM inputs: {', '.join(options.arm_paths)}"]


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


class _Reporter:
    """Session-end reporting; keeps which results ran (under xdist, as the controller sees reports)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        key = getattr(report, "aksc_key", None)
        if key is None:
            return
        if report.when in ("setup", "call"):
            self.config.stash[RAN_KEY].add(key)
        if report.when != "call" and report.passed:
            # pytest's terminal reporter keeps every passing setup/teardown report and scans them all
            # once per failure to find teardown output (quadratic: minutes at 10k failures). Our
            # items have no setup or teardown output, so those reports need not be kept.
            terminal = self.config.pluginmanager.get_plugin("terminalreporter")
            kept = terminal.stats.get("") if terminal is not None else None
            if kept and kept[-1] is report:
                kept.pop()

    def _ran(self) -> list[Result]:
        run = get_run(self.config)
        ran = self.config.stash[RAN_KEY]
        return [r for r in run.results if r.key in ran]

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        config = self.config
        if _is_worker(config) or not config.stash[OPTIONS_KEY].has_input:
            return
        run = get_run(config)
        ran = self._ran()
        json_path = config.getoption("results_json")
        if json_path:
            Path(json_path).parent.mkdir(parents=True, exist_ok=True)
            write_results(json_path, run.document_for(ran))
        report_path = config.getoption("audit_report")
        if report_path:
            from .report.html import write_report
            Path(report_path).parent.mkdir(parents=True, exist_ok=True)
            write_report(report_path, run.document_for(ran))

    def pytest_terminal_summary(self, terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
        options = config.stash[OPTIONS_KEY]
        tr = terminalreporter
        if not options.has_input:
            if config.stash.get(NO_INPUT_KEY, False):
                tr.write_line(INPUT_HELP, yellow=True)
            return
        if _is_worker(config):
            return
        run = get_run(config)
        ran = self._ran()
        counts = summarize(ran)
        tr.section("aks-compliance")
        tr.write_line(f"{len(run.targets)} cluster(s), {len(run.catalog)} controls, {len(run.inputs)} input file(s)")
        tr.write_line("  ".join(f"{k}: {v}" for k, v in counts.items() if v))
        unknown = [r for r in ran if r.outcome is Outcome.UNKNOWN]
        if unknown:
            reasons: dict[str, int] = {}
            for r in unknown:
                reasons[r.reason] = reasons.get(r.reason, 0) + 1
            tr.write_line(f"unknown verdicts ({len(unknown)}) by reason:", yellow=True)
            for reason, n in sorted(reasons.items(), key=lambda kv: -kv[1])[:10]:
                tr.write_line(f"  {n:4d} x {reason[:220]}")
        for d in [d for d in run.diagnostics if d.severity == "warning"][:20]:
            tr.write_line(f"warning: {d}", yellow=True)
        for d in run.errors[:20]:
            tr.write_line(f"error: {d}", red=True)
        for label, opt in (("results JSON", "results_json"), ("audit report", "audit_report")):
            if config.getoption(opt):
                tr.write_line(f"{label}: {config.getoption(opt)}")
