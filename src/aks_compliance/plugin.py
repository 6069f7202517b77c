"""The pytest plugin: hook implementations only.

The scan runs once per process (each xdist worker computes the same deterministic scan); items are
collected from its results and only report them, so per-item cost stays small. Options come from the
input families (``sources.FAMILIES``) and the run-wide options below; state lives in ``config.stash``
(``stash.py``); session-end outputs are the reporter's (``report/reporter.py``); how a result becomes a
pytest outcome is ``outcomes.py``.
"""

from __future__ import annotations

import datetime as _dt
import sys
import uuid
from typing import Any

import pytest

from .atomic import terminate_as_interrupt
from .distributed import HANDOFF, USAGE_ERRORS, Controller, get_crash_safe, merged_run, run_shard_item, shard_items, \
    sharded_xdist, spool_for
from .items import ResultItem, ShardItem, TargetItem, item_mode, make_items, report_result_item
from .option_values import any_case
from .outcomes import STATUS
from .report.common import FAIL_ON_CHOICES
from .progress import progress_for
from .scan import ScanOptions, ScanRun, collector_paused
from .sources import FAMILIES
from .waivers import GovernanceError
from .stash import CATALOG_KEY, NO_INPUT_KEY, OPTIONS_KEY, RAN_KEY, RUN_KEY, SHARD_KEY, is_worker

RESULT_FIXTURE = "aksc_result"
WORKER_INPUT = HANDOFF  # the controller's hand-off to each pytest-xdist worker (workerinput key)


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("aks-compliance", "AKS compliance controls")
    for family in FAMILIES:
        family.add_options(g)
    g.addoption("--exclude", action="append", default=[], metavar="GLOB",
                help="leave files or directories matching GLOB (relative to a directory given or to the working "
                     "directory, absolute, or a name) out of "
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
    g.addoption("--aksc-shard", default=None, metavar="K/N",
                help="run shard K of N only (a CI matrix job): targets are partitioned by a hash of their file "
                     "(ARM, manifests), resource group (live Azure) or namespace (Kubernetes snapshots), stable "
                     "across runs; the results JSON is a shard document for 'aks-compliance merge'")
    g.addoption("--aksc-started", default=None, metavar="ISO-8601",
                help="the run's start time (what utcNow() gives templates; default: now). The jobs of one "
                     "--aksc-shard run pass the same, so templates that build names from the time agree")
    g.addoption("--aksc-xdist-shards", default=None, type=int, metavar="N",
                help="under pytest-xdist, split the scan into N shards (default: 4 per worker); each worker "
                     "evaluates the shards it is given and the controller merges them")
    g.addoption("--jobs", default="1", metavar="N",
                help="evaluate the targets in N processes of this machine (Linux; 'auto': one per CPU): the "
                     "inputs are read once and shared, the results are those of one process. Across "
                     "processes and machines: pytest-xdist (-n, --tx) or --aksc-shard jobs")
    g.addoption("--aksc-progress", default="auto", choices=("auto", "always", "never"),
                help="a progress line (targets scanned / total, rate) while the scan runs: auto shows it on a "
                     "terminal for scans above a few seconds; always also in CI logs (a line every few seconds)")
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
    from .option_values import OptionValueError, name_value_pairs, parse_value

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


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """Before pytest's own writers configure themselves: an output path of theirs that cannot be written (a
    directory, a read-only place, /proc) is named and left out, so the run's other outputs are still written."""
    from .report.reporter import refuse_colliding_outputs, refuse_unwritable_pytest_outputs
    refuse_colliding_outputs(config)
    refuse_unwritable_pytest_outputs(config)


def pytest_configure(config: pytest.Config) -> None:
    from .redaction import redact_text
    from .textsafe import MAX_MESSAGE, cap, escape_terminal, guard_terminal
    guard_terminal(config)  # names from inputs never reach the terminal as control characters
    try:
        _configure(config)
    except pytest.UsageError as exc:  # printed by pytest before any terminal guard: a control id, a file
        # name or a waiver field quoted in it must not act on the terminal either, nor a credential it quotes
        raise pytest.UsageError(*(cap(escape_terminal(redact_text(str(a))), MAX_MESSAGE) for a in exc.args)) \
            from None


def _configure(config: pytest.Config) -> None:
    try:
        options = config.stash[OPTIONS_KEY] = options_from_config(config)
        options.catalog.select(options.controls)  # unknown ids are a usage error, now
    except USAGE_ERRORS as exc:
        raise pytest.UsageError(str(exc)) from None
    from .jobs import can_fork, jobs_for
    try:
        options.jobs = jobs_for(config.getoption("jobs"))
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    if options.jobs > 1 and not can_fork():  # said, not silently ignored
        config.issue_config_time_warning(pytest.PytestConfigWarning(
            f"--jobs {options.jobs}: the scan's processes are forked, which this platform ({sys.platform}) does not "
            "offer safely; the scan runs in one process (pytest-xdist's -n works everywhere)"), stacklevel=2)
        options.jobs = 1
    shard = config.getoption("aksc_shard")
    if shard:
        from .shards import parse_shard
        try:
            config.stash[SHARD_KEY] = parse_shard(shard)
        except ValueError as exc:
            raise pytest.UsageError(str(exc)) from None
        if sharded_xdist(config):
            raise pytest.UsageError("--aksc-shard runs one shard in one process: run several jobs with it, or "
                                    "pytest-xdist (-n) without it (the workers then share the scan)")
    if options.jobs > 1 and (shard or sharded_xdist(config)) and getattr(config, "workerinput", None) is None:
        config.issue_config_time_warning(pytest.PytestConfigWarning(
            f"--jobs {options.jobs} is for a scan in one pytest process: with {'--aksc-shard' if shard else '-n'} "
            "the shards are evaluated by the jobs or workers already, each in one process"), stacklevel=2)
        options.jobs = 1
    worker_input = getattr(config, "workerinput", None)
    config.stash[RAN_KEY] = set()
    if worker_input is not None:
        handed = worker_input.get(WORKER_INPUT) or {}
        options.started = handed.get("started")
        options.run_id = handed.get("run_id")
        for family in FAMILIES:
            family.from_worker_input(options.inputs[family.name], handed.get(family.name) or {})
    else:
        options.started = _started(config.getoption("aksc_started"))
        options.run_id = str(uuid.uuid4())
        terminate_as_interrupt()  # outputs being written are removed, not left half-written
        if not (config.option.help or config.option.version):
            started = _dt.datetime.fromisoformat(options.started)
            for family in FAMILIES:  # live sources are snapshotted once, here; every process scans the file
                family.prepare(config, options.inputs[family.name], started)
    if options.waivers_file or options.attestations_file:  # fail early, on every process, with file and entry
        from .waivers import load_governance
        try:  # loaded once per process; the scan applies it. It lives to the end (100,000 waivers: a
            # million objects the collector would traverse again at every later collection): frozen
            with collector_paused(freeze=True):
                options.governance = load_governance(options.waivers_file, options.attestations_file,
                                                     options.catalog,
                                                     _dt.datetime.fromisoformat(options.started).date())
        except GovernanceError as exc:
            raise pytest.UsageError(str(exc)) from None
    from .report.reporter import Reporter
    config.pluginmanager.register(Reporter(config, get_run), "aks-compliance-reporter")
    if worker_input is None and sharded_xdist(config) and options.has_input:
        config.pluginmanager.register(Controller(config, get_run), "aks-compliance-xdist-controller")
    if config.getoption("generate_policies") and not is_worker(config):
        from .policy.generate import generate_for_pytest
        generate_for_pytest(config, config.getoption("generate_policies"), options.catalog)
    if config.pluginmanager.hasplugin("html"):  # pytest-html is optional (the `html` extra)
        from .report.pytest_html import HtmlHooks
        config.pluginmanager.register(HtmlHooks(config, get_run), "aks-compliance-html")


def _started(given: str | None) -> str:
    if not given:
        return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    try:
        when = _dt.datetime.fromisoformat(given.replace("Z", "+00:00"))
    except ValueError:
        raise pytest.UsageError(f"--aksc-started expects an ISO-8601 time (2026-11-02T09:00:00Z), got {given!r}") \
            from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=_dt.timezone.utc)
    return when.astimezone(_dt.timezone.utc).isoformat(timespec="seconds")


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist: hand the controller's start time and each family's inputs (a live source's snapshot,
    or its collection error) to each worker, so every process scans the same inputs."""
    options = node.config.stash[OPTIONS_KEY]
    sharded = sharded_xdist(node.config)
    handed: dict[str, Any] = {"started": options.started, "run_id": options.run_id, "sharded": sharded}
    if sharded:
        handed["spool"] = spool_for(node.config)
    for family in FAMILIES:
        handed[family.name] = family.worker_input(options.inputs[family.name])
    node.workerinput[WORKER_INPUT] = handed


def get_run(config: pytest.Config) -> ScanRun:
    """The scan of this process, computed on first use: the whole run, one shard of it (--aksc-shard), or
    on the controller of a sharded pytest-xdist run, the workers' shards merged. A crash here is an
    internal error (exit 3), never a control's failure."""
    run = config.stash.get(RUN_KEY, None)
    if run is None:
        run = config.stash[RUN_KEY] = get_crash_safe(config, _compute_run)
    return run


def _compute_run(config: pytest.Config) -> ScanRun:
    from . import scan
    from .scan import collector_paused, prepare_scan

    options = config.stash[OPTIONS_KEY]
    # The run lives until the session ends: frozen out of the garbage collector's reach (one scan per
    # pytest process, so nothing accumulates)
    with collector_paused(freeze=True):
        if not is_worker(config) and sharded_xdist(config):
            merged = merged_run(config)
            if merged is not None:
                return merged
            # no worker sent a shard (they failed before): the controller scans, so the outputs still say why
        options.progress = progress_for(config)
        shard = config.stash.get(SHARD_KEY, None)
        if shard is None and options.jobs > 1:
            from .jobs import run_scan_in_jobs
            return run_scan_in_jobs(options)
        if shard is None:
            return scan._run_scan(options)
        from .shards import ShardedScan

        index, count = shard
        sharded = ShardedScan(prepare_scan(options), count)
        run = sharded.run(index - 1, sharded.evaluate(index - 1, options.progress))
        run.narrowed.append(f"shard {index} of {count}")
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
    lineno = _first_line(obj)
    if is_worker(config) and sharded_xdist(config):  # a pytest-xdist worker: shard items, alike on every worker
        return shard_items(collector, name, lineno)
    run = get_run(config)
    return make_items(collector, name, run.results, run.catalog, lineno,
                      item_mode(config, len(run.results)))


def _argnames(fn: object) -> tuple[str, ...]:
    code = getattr(fn, "__code__", None)
    return code.co_varnames[: code.co_argcount] if code is not None else ()


def _first_line(fn: object) -> int:
    code = getattr(fn, "__code__", None)
    return code.co_firstlineno - 1 if code is not None else 0


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> Any:
    """Shard items are not selected by -k, -m or --deselect (nor reordered by other plugins): the results
    each reports are, when it runs (distributed.run_shard_item)."""
    shards = [i for i in items if isinstance(i, ShardItem)]
    if not shards:
        return (yield)
    items[:] = [i for i in items if not isinstance(i, ShardItem)]
    try:
        return (yield)
    finally:
        items[:] = shards + items


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> bool | None:
    """Report a precomputed result directly: pytest's runner would add fixture and call overhead.

    Used under pytest-xdist (whose workers run their own loop); a plain run goes through
    ``pytest_runtestloop`` below, which skips even the per-item protocol wrappers."""
    if isinstance(item, ShardItem):
        run_shard_item(item)
        return True
    if not isinstance(item, (ResultItem, TargetItem)):
        return None
    report_result_item(item)
    return True


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
    # the reports of result items live to the session's end (terminal statistics, JUnit test cases): the
    # collector would traverse them again and again (a fifth of a 100,000-target run); frozen when done
    with collector_paused(freeze=True):
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


def pytest_sessionfinish(session: pytest.Session) -> None:
    """A shard without targets (--aksc-shard K/N: no file hashed to it) is a complete job, not "no tests"."""
    config = session.config
    if SHARD_KEY in config.stash and session.exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED and \
            config.stash[OPTIONS_KEY].has_input and RUN_KEY in config.stash:
        session.exitstatus = pytest.ExitCode.OK


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
