"""The pytest plugin: hook implementations only.

The scan runs once per process (each xdist worker computes the same deterministic scan); items are
collected from its results and only report them, so per-item cost stays small. Options come from the
input families (``sources.FAMILIES``) and the run-wide options below; state lives in ``config.stash``
(``stash.py``); session-end outputs are the reporter's (``report/reporter.py``); how a result becomes a
pytest outcome is ``outcomes.py``.
"""

from __future__ import annotations

import datetime as _dt
import gc
import signal
import threading
import uuid
from typing import Any

import pytest

from .controls import CatalogError
from .controls.config import ControlConfigError
from .items import ResultItem, TargetItem, build_reports, user_properties
from .option_values import OptionValueError, any_case
from .outcomes import STATUS
from .report.common import FAIL_ON_CHOICES
from .results import Outcome, Result
from .scan import ScanOptions, ScanRun, run_scan
from .sources import FAMILIES
from .stash import CATALOG_KEY, CRASH_KEY, NO_INPUT_KEY, OPTIONS_KEY, RAN_KEY, RUN_KEY, is_worker
from .waivers import GovernanceError

RESULT_FIXTURE = "aksc_result"
# Above this many results, "auto" reports one item per target: pytest's per-item cost (tens of
# microseconds even for lean items) would otherwise outweigh the checks (see benchmarks/fleet.py).
AUTO_TARGET_ITEMS = 20_000
WORKER_INPUT = "aksc"  # the controller's hand-off to each pytest-xdist worker (workerinput key)
USAGE_ERRORS = (CatalogError, ControlConfigError, GovernanceError, OptionValueError)


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("aks-compliance", "AKS compliance controls")
    for family in FAMILIES:
        family.add_options(g)
    g.addoption("--exclude", action="append", default=[], metavar="GLOB",
                help="leave files or directories matching GLOB (relative to a directory given, or a name) out of "
                     "directory inputs; .git, node_modules, .venv and reports are left out by default. Repeatable.")
    g.addoption("--controls", default=None, metavar="IDS", help="comma-separated control ids to run (default: all)")
    g.addoption("--controls-path", action="append", default=[], metavar="PATH",
                help="load your own controls: a directory (with a controls/ folder, or holding the control files), "
                     "a Python module declaring CONTROLS, or a YAML file of controls. Repeatable. Installed "
                     "packages declaring the entry point 'aks_compliance.controls' are loaded too.")
    g.addoption("--overlay", action="append", default=[], metavar="FILE",
                help="YAML overlay that disables controls or changes their severity or parameters for your "
                     "organisation; recorded in every report. Repeatable, applied in order.")
    g.addoption("--control-param", action="append", default=[], metavar="ID.NAME=VALUE",
                help="override a control parameter, e.g. AKS-007.allowedUpgradeChannels='[\"stable\"]'")
    g.addoption("--control-config", default=None, metavar="FILE",
                help="YAML file of control thresholds: {control id: {parameter: value}}; --control-param "
                     "overrides it")
    g.addoption("--results-json", default=None, metavar="FILE", help="write the results JSON (schema v1) to FILE")
    g.addoption("--aksc-items", default="auto", choices=("auto", "result", "target"),
                type=any_case(("auto", "result", "target")),
                help="test items: one per result (control x target), one per target (its failed controls listed), "
                     "or auto: per result up to 20,000 results, per target above. Results JSON, SARIF and "
                     "reports always hold every result.")
    g.addoption("--audit-report", default=None, metavar="FILE", help="write the auditor HTML report to FILE")
    g.addoption("--sarif", default=None, metavar="FILE",
                help="write SARIF 2.1.0 (failures with a file location) for GitHub code scanning / Azure DevOps")
    g.addoption("--csv", default=None, metavar="FILE", help="write the control matrix as CSV (one row per result)")
    g.addoption("--generate-policies", default=None, metavar="DIR",
                help="write the Azure Policy definitions generated from the controls (one per expressible control, "
                     "the initiative, an ARM template, a README) into DIR, as 'aks-compliance policies generate'")
    g.addoption("--waivers", default=None, metavar="FILE",
                help="YAML waivers (control, target pattern, justification, approver, expires): a matching "
                     "failure is reported as waived (xfail), not passed; expired and unused waivers are reported")
    g.addoption("--attestations", default=None, metavar="FILE",
                help="YAML attestations deciding manual controls (status, owner, evidence link, date, expires)")
    g.addoption("--fail-on", default=None, choices=FAIL_ON_CHOICES, type=any_case(FAIL_ON_CHOICES), metavar="SEVERITY",
                help="exit status 1 only when a failure at or above SEVERITY remains after waivers (or an input "
                     "error occurred); failures below it are reported but do not fail the run. "
                     "One of: " + ", ".join(FAIL_ON_CHOICES) + ". Default: any failure fails (pytest's own rule).")
    g.addoption("--fail-on-unknown", action="store_true", default=False,
                help="count unknown and unattested manual results at or above --fail-on (default: any) as failing")


def _catalog(config: pytest.Config) -> Any:
    from .controls import load_catalog
    return load_catalog(config.getoption("controls_path"), entry_points=True, overlays=config.getoption("overlay"))


def _control_params(config: pytest.Config, catalog: Any) -> dict[str, dict[str, Any]]:
    from .controls.config import ControlParams, load_control_config, merge_control_params, validate_control_params
    from .option_values import name_value_pairs, parse_value

    params = ControlParams()
    for k, v in name_value_pairs(config.getoption("control_param"), "--control-param"):
        if "." not in k:
            raise OptionValueError(f"--control-param expects ID.NAME=VALUE, got {k!r}")
        cid, name = k.split(".", 1)
        cid = cid if cid == "*" or cid in catalog else next((i for i in catalog.ids() if i.upper() == cid.upper()), cid)
        params.setdefault(cid, {})[name] = parse_value(v, f"--control-param {k}")
        params.origins[(cid, name)] = params.origins[(cid, None)] = "--control-param "
    config_file = config.getoption("control_config")
    params = merge_control_params(load_control_config(config_file) if config_file else {}, params)
    validate_control_params(params, catalog)
    return params


def options_from_config(config: pytest.Config) -> ScanOptions:
    catalog = config.stash[CATALOG_KEY] = _catalog(config)
    controls = config.getoption("controls")
    return ScanOptions(
        inputs={f.name: f.options_from_config(config) for f in FAMILIES},
        controls=[c.strip() for c in controls.split(",") if c.strip()] if controls else None,
        control_params=_control_params(config, catalog),
        waivers_file=config.getoption("waivers"),
        attestations_file=config.getoption("attestations"),
        catalog=catalog)


def pytest_configure(config: pytest.Config) -> None:
    from .textsafe import guard_terminal
    guard_terminal(config)  # names from inputs never reach the terminal as control characters
    try:
        options = config.stash[OPTIONS_KEY] = options_from_config(config)
        options.catalog.select(options.controls)  # unknown ids are a usage error, now
    except USAGE_ERRORS as exc:
        raise pytest.UsageError(str(exc)) from None
    worker_input = getattr(config, "workerinput", None)
    config.stash[RAN_KEY] = set()
    if worker_input is not None:
        handed = worker_input.get(WORKER_INPUT) or {}
        options.started = handed.get("started")
        options.run_id = handed.get("run_id")
        for family in FAMILIES:
            family.from_worker_input(options.inputs[family.name], handed.get(family.name) or {})
    else:
        options.started = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        options.run_id = str(uuid.uuid4())
        _terminate_as_interrupt()
        if not (config.option.help or config.option.version):
            started = _dt.datetime.fromisoformat(options.started)
            for family in FAMILIES:  # live sources are snapshotted once, here; every process scans the file
                family.prepare(config, options.inputs[family.name], started)
    if options.waivers_file or options.attestations_file:  # fail early, on every process, with file and entry
        from .waivers import load_governance
        try:  # loaded once per process; the scan applies it
            options.governance = load_governance(options.waivers_file, options.attestations_file, options.catalog,
                                                 _dt.datetime.fromisoformat(options.started).date())
        except GovernanceError as exc:
            raise pytest.UsageError(str(exc)) from None
    from .report.reporter import Reporter
    config.pluginmanager.register(Reporter(config, get_run), "aks-compliance-reporter")
    if config.getoption("generate_policies") and not is_worker(config):
        from .policy.generate import generate_for_pytest
        generate_for_pytest(config, config.getoption("generate_policies"), options.catalog)
    if config.pluginmanager.hasplugin("html"):  # pytest-html is optional (the `html` extra)
        from .report.pytest_html import HtmlHooks
        config.pluginmanager.register(HtmlHooks(config, get_run), "aks-compliance-html")


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist: hand the controller's start time and each family's inputs (a live source's snapshot,
    or its collection error) to each worker, so every process scans the same inputs."""
    options = node.config.stash[OPTIONS_KEY]
    handed: dict[str, Any] = {"started": options.started, "run_id": options.run_id}
    for family in FAMILIES:
        handed[family.name] = family.worker_input(options.inputs[family.name])
    node.workerinput[WORKER_INPUT] = handed


def _terminate_as_interrupt() -> None:
    """SIGTERM (a CI job cancelled, a pod evicted) interrupts the run like Ctrl-C: output files being written
    are removed with their temporaries (atomic.py) instead of left half-written, and the run says it was
    interrupted. Only where nobody else handles the signal."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        def interrupt(signum: int, frame: Any) -> None:
            raise KeyboardInterrupt("terminated (SIGTERM)")
        signal.signal(signal.SIGTERM, interrupt)


def get_run(config: pytest.Config) -> ScanRun:
    """The scan of this process, computed on first use. A crash here is an internal error (exit 3), never a
    control's failure."""
    run = config.stash.get(RUN_KEY, None)
    if run is None:
        try:
            run = run_scan(config.stash[OPTIONS_KEY])
        except USAGE_ERRORS as exc:
            raise pytest.UsageError(str(exc)) from None
        except Exception as exc:
            config.stash[CRASH_KEY] = f"the scan crashed: {type(exc).__name__}: {exc}"
            raise
        config.stash[RUN_KEY] = run
        # The run lives until the session ends: keep the garbage collector from traversing it
        # on every later collection (one scan per pytest process, so nothing accumulates).
        gc.freeze()
    return run


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object) -> list[pytest.Item] | None:
    """A control test function (one taking ``aksc_result``) becomes one lean item per result."""
    if not (name.startswith("test") and callable(obj) and RESULT_FIXTURE in _argnames(obj)):
        return None
    config = collector.config
    if not config.stash[OPTIONS_KEY].has_input:
        config.stash[NO_INPUT_KEY] = True
        return []
    run = get_run(config)
    lineno = _first_line(obj)
    mode = config.getoption("aksc_items")
    if mode == "auto":
        mode = "target" if len(run.results) > AUTO_TARGET_ITEMS else "result"
    if mode == "target":
        return _target_items(collector, name, run, lineno)
    items: list[pytest.Item] = []
    location = None
    for r in run.results:
        item = ResultItem.from_parent(collector, name=f"{name}[{r.key}]", result=r, lineno=lineno)
        item.user_properties = user_properties(r, run.catalog)
        # every item of this function has the same file and line: compute pytest's (cached)
        # location once instead of once per item
        if location is None:
            location = item.location
        else:
            item.__dict__["location"] = (location[0], location[1], item.name)
        items.append(item)
    return items


def _target_items(collector: pytest.Collector, name: str, run: ScanRun, lineno: int) -> list[pytest.Item]:
    groups: dict[str, list[Result]] = {}
    for r in run.results:
        label = r.key[len(r.control_id) + 1:] if r.control_id else r.key
        groups.setdefault(label, []).append(r)
    items: list[pytest.Item] = []
    for label, results in groups.items():
        if results[0].control_id is None:  # an input error stays an item of its own
            item = ResultItem.from_parent(collector, name=f"{name}[{label}]", result=results[0], lineno=lineno)
            item.user_properties = user_properties(results[0], run.catalog)
        else:
            item = TargetItem.from_parent(collector, name=f"{name}[{label}]", results=results, lineno=lineno)
            item.user_properties = [("target", results[0].target.name),
                                    ("failed_controls", ",".join(r.control_id or "" for r in results
                                                                 if r.outcome is Outcome.FAILED))]
        items.append(item)
    return items


def _argnames(fn: object) -> tuple[str, ...]:
    code = getattr(fn, "__code__", None)
    return code.co_varnames[: code.co_argcount] if code is not None else ()


def _first_line(fn: object) -> int:
    code = getattr(fn, "__code__", None)
    return code.co_firstlineno - 1 if code is not None else 0


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> bool | None:
    """Report a precomputed result directly: pytest's runner would add fixture and call overhead.

    Used under pytest-xdist (whose workers run their own loop); a plain run goes through
    ``pytest_runtestloop`` below, which skips even the per-item protocol wrappers."""
    if not isinstance(item, (ResultItem, TargetItem)):
        return None
    report_result_item(item)
    return True


def report_result_item(item: "ResultItem | TargetItem") -> None:
    config = item.config
    ihook = item.ihook
    # JUnit XML and pytest-html finish a test case on its teardown report: give them the full set.
    html = bool(getattr(config.option, "htmlpath", None))
    full = html or bool(getattr(config.option, "xmlpath", None))
    ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    run = config.stash.get(RUN_KEY, None)
    catalog = run.catalog if run is not None else None
    for report in build_reports(item, catalog, full):
        if html and isinstance(item, ResultItem) and (report.when == "call" or report.failed):
            from .report.pytest_html import annotate
            control = catalog.get(item.result.control_id) if catalog is not None and item.result.control_id else None
            annotate(report, item.result, control)
        ihook.pytest_runtest_logreport(report=report)
    ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> bool | None:
    """pytest's loop, except that result items skip the per-item protocol and its wrappers
    (warning capture, fault handler, ...): at 100,000 items those wrappers cost more than the checks."""
    config = session.config
    if hasattr(config, "workerinput") or getattr(config.option, "dist", "no") != "no":
        return None  # pytest-xdist runs its own loop (on workers, through pytest_runtest_protocol)
    if not any(isinstance(i, (ResultItem, TargetItem)) for i in session.items[:1] + session.items[-1:]):
        return None
    if session.testsfailed and not session.config.option.continue_on_collection_errors:
        raise session.Interrupted(f"{session.testsfailed} error{'s' if session.testsfailed != 1 else ''} "
                                  f"during collection")
    if session.config.option.collectonly:
        return True
    items = session.items
    for i, item in enumerate(items):
        if isinstance(item, (ResultItem, TargetItem)):
            report_result_item(item)
        else:
            nextitem = items[i + 1] if i + 1 < len(items) else None
            item.config.hook.pytest_runtest_protocol(item=item, nextitem=nextitem)
        if session.shouldfail:
            raise session.Failed(session.shouldfail)
        if session.shouldstop:
            raise session.Interrupted(session.shouldstop)
    return True


@pytest.hookimpl(tryfirst=True)
def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> tuple[str, str, str] | None:
    """Answer for result items at once (the firstresult hook then skips the other plugins)."""
    if getattr(report, "aksc_key", None) is None:
        return None
    if getattr(report, "wasxfail", None) and report.skipped:
        return "xfailed", "x", "XFAIL"
    return STATUS.get((report.when, report.outcome))


def pytest_report_header(config: pytest.Config) -> list[str]:
    from .version import __version__

    options = config.stash[OPTIONS_KEY]
    n = len(options.catalog.select(options.controls))
    custom = sum(not c.builtin for c in options.catalog)
    what = f"{n} controls" + (f" ({custom} of your own)" if custom else "")
    if not options.has_input:
        return [f"aks-compliance {__version__}: {what}; no input given"]
    inputs = [line for f in FAMILIES for line in f.header(options.inputs[f.name], config)]
    return [f"aks-compliance {__version__}: {what}; {'; '.join(inputs) or 'no input given'}"]
