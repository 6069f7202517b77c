"""The pytest plugin: options, parametrization from one scan, reporting.

The scan runs once per process (each xdist worker computes the same deterministic scan); items are
parametrized with its results and only report them, so per-item cost stays small.
"""

from __future__ import annotations

import datetime as _dt
import gc
from pathlib import Path
from typing import Any

import pytest

from .arm.inputs import OptionValueError, parse_param_value
from .items import ResultItem, TargetItem, build_reports, user_properties
from .report.common import FAIL_ON_CHOICES, Gate, gate
from .results import Outcome, Result, write_results
from .scan import ScanOptions, ScanRun, run_scan
from .waivers import GovernanceError

RUN_KEY = pytest.StashKey[ScanRun]()
OPTIONS_KEY = pytest.StashKey[ScanOptions]()
RAN_KEY = pytest.StashKey[set]()
NO_INPUT_KEY = pytest.StashKey[bool]()
GATE_KEY = pytest.StashKey[Gate]()
RESULT_FIXTURE = "aksc_result"
INPUT_HELP = ("aks-compliance: no input given, nothing to check. Give input with --arm PATH (a template, "
              "export or REST resource JSON, or a directory of them; repeatable), optionally with "
              "--arm-parameters FILE and --arm-param NAME=VALUE; or Kubernetes objects with --k8s PATH (manifests "
              "or a snapshot), or a live cluster with --kube-context NAME / --kubeconfig FILE; or live Azure with "
              "--azure-subscription ID --azure-resource-group NAME, --azure-cluster RESOURCE_ID or --azure-scope "
              "management-group:ID (snapshotted first; re-check a snapshot offline with --arm FILE).")


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
    g.addoption("--k8s", action="append", default=[], metavar="PATH",
                help="Kubernetes objects: YAML/JSON manifests (multi-document, List kinds, helm template output), "
                     "a directory of them, or a snapshot (aks-compliance snapshot). Each --k8s is one cluster "
                     "scope: objects of different arguments never see each other. Repeatable.")
    g.addoption("--kube-context", default=None, metavar="NAME",
                help="read the live cluster of this kubeconfig context (snapshotted into --k8s-snapshot-dir "
                     "first, then checked from the snapshot)")
    g.addoption("--kubeconfig", default=None, metavar="FILE", help="kubeconfig file for the live cluster")
    g.addoption("--kube-in-cluster", action="store_true", default=False,
                help="read the cluster this runs in (the pod's service account)")
    g.addoption("--k8s-snapshot-dir", default="reports", metavar="DIR",
                help="where a live run writes its snapshot (default: reports)")
    from .azure import pytest_support as _azure  # --azure-subscription, --azure-resource-group, ...
    _azure.addoption(g)
    g.addoption("--arm-location", default=None, metavar="LOCATION",
                help="location of that resource group (resourceGroup().location)")
    g.addoption("--controls", default=None, metavar="IDS", help="comma-separated control ids to run (default: all)")
    g.addoption("--control-param", action="append", default=[], metavar="ID.NAME=VALUE",
                help="override a control parameter, e.g. AKS-007.allowedUpgradeChannels='[\"stable\"]'")
    g.addoption("--control-config", default=None, metavar="FILE",
                help="YAML file of control thresholds: {control id: {parameter: value}}; --control-param "
                     "overrides it")
    g.addoption("--results-json", default=None, metavar="FILE", help="write the results JSON (schema v1) to FILE")
    g.addoption("--aksc-items", default="auto", choices=("auto", "result", "target"),
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
    g.addoption("--fail-on", default=None, choices=FAIL_ON_CHOICES, metavar="SEVERITY",
                help="exit status 1 only when a failure at or above SEVERITY remains after waivers (or an input "
                     "error occurred); failures below it are reported but do not fail the run. "
                     "One of: " + ", ".join(FAIL_ON_CHOICES) + ". Default: any failure fails (pytest's own rule).")
    g.addoption("--fail-on-unknown", action="store_true", default=False,
                help="count unknown and unattested manual results at or above --fail-on (default: any) as failing")


def _azure_options(config: pytest.Config) -> dict[str, Any]:
    from .azure.pytest_support import options_from_config as azure_options
    return azure_options(config)


def options_from_config(config: pytest.Config) -> ScanOptions:
    try:
        return _options_from_config(config)
    except OptionValueError as exc:  # a deeply nested --arm-param / --control-param value
        raise pytest.UsageError(str(exc)) from None


def _options_from_config(config: pytest.Config) -> ScanOptions:
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
        control_params.setdefault(cid, {})[name] = parse_param_value(v, f"--control-param {k}")
    from .controls.config import ControlConfigError, load_control_config, merge_control_params, validate_control_params
    try:
        config_file = config.getoption("control_config")
        control_params = merge_control_params(load_control_config(config_file) if config_file else {}, control_params)
        validate_control_params(control_params)
    except ControlConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
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
        k8s_paths=list(config.getoption("k8s")),
        kube_context=config.getoption("kube_context"),
        kubeconfig=config.getoption("kubeconfig"),
        kube_in_cluster=bool(config.getoption("kube_in_cluster")),
        k8s_snapshot_dir=config.getoption("k8s_snapshot_dir"),
        **_azure_options(config),
        waivers_file=config.getoption("waivers"),
        attestations_file=config.getoption("attestations"),
    )


def pytest_configure(config: pytest.Config) -> None:
    from .textsafe import guard_terminal
    guard_terminal(config)  # names from inputs never reach the terminal as control characters
    options = config.stash[OPTIONS_KEY] = options_from_config(config)
    worker_input = getattr(config, "workerinput", None)
    options.started = (worker_input or {}).get(STARTED_INPUT) or \
        _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    config.stash[RAN_KEY] = set()
    _k8s_live_snapshot(config, options)
    from .azure.pytest_support import live_snapshot as _azure_live_snapshot
    _azure_live_snapshot(config, options)  # live Azure: snapshot once here, workers read the same file
    if options.waivers_file or options.attestations_file:  # fail early, on every process, with file and entry
        import datetime as dt
        from .controls import load_catalog
        from .waivers import load_governance
        try:
            load_governance(options.waivers_file, options.attestations_file, load_catalog(),
                            dt.datetime.now(dt.timezone.utc).date())
        except GovernanceError as exc:
            raise pytest.UsageError(str(exc)) from None
    config.pluginmanager.register(_Reporter(config), "aks-compliance-reporter")
    if config.getoption("generate_policies") and not _is_worker(config):
        from .policy.generate import generate_for_pytest
        generate_for_pytest(config, config.getoption("generate_policies"))
    if config.pluginmanager.hasplugin("html"):  # pytest-html is optional (the `html` extra)
        from .report.pytest_html import HtmlHooks
        config.pluginmanager.register(HtmlHooks(config), "aks-compliance-html")


def get_run(config: pytest.Config) -> ScanRun:
    run = config.stash.get(RUN_KEY, None)
    if run is None:
        try:
            run = run_scan(config.stash[OPTIONS_KEY])
        except KeyError as exc:  # unknown control id
            raise pytest.UsageError(str(exc.args[0])) from None
        except GovernanceError as exc:
            raise pytest.UsageError(str(exc)) from None
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
    config.stash[ITEMS_MODE_KEY] = mode
    items: list[pytest.Item] = []
    location = None
    if mode == "target":
        groups: dict[str, list[Result]] = {}
        for r in run.results:
            label = r.key[len(r.control_id) + 1:] if r.control_id else r.key
            groups.setdefault(label, []).append(r)
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
    for report in build_reports(item, failure_text, full):
        if html and isinstance(item, ResultItem) and (report.when == "call" or report.failed):
            from .report.pytest_html import annotate
            control = run.catalog.get(item.result.control_id) if run and item.result.control_id else None
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


_STATUS = {  # (when, outcome) -> pytest_report_teststatus answer for result items
    ("call", "passed"): ("passed", ".", "PASSED"),
    ("call", "failed"): ("failed", "F", "FAILED"),
    ("call", "skipped"): ("skipped", "s", "SKIPPED"),
    ("setup", "failed"): ("error", "E", "ERROR"),
    ("setup", "passed"): ("", "", ""),
    ("teardown", "passed"): ("", "", ""),
}


@pytest.hookimpl(tryfirst=True)
def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> tuple[str, str, str] | None:
    """Answer for result items at once (the firstresult hook then skips the other plugins)."""
    if getattr(report, "aksc_key", None) is None:
        return None
    if getattr(report, "wasxfail", None) and report.skipped:
        return "xfailed", "x", "XFAIL"
    return _STATUS.get((report.when, report.outcome))


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


def pytest_report_header(config: pytest.Config) -> list[str]:
    options = config.stash[OPTIONS_KEY]
    from . import __version__
    from .controls import load_catalog
    n = len(load_catalog().select(options.controls))
    if not options.has_input:
        return [f"aks-compliance {__version__}: {n} controls; no input given"]
    inputs = [f"ARM inputs: {', '.join(options.arm_paths)}"] if options.arm_paths else []
    if options.k8s_paths:
        inputs.append(f"Kubernetes: {', '.join(options.k8s_paths)}")
    from .azure.pytest_support import header_lines as _azure_header
    inputs.extend(_azure_header(config))
    return [f"aks-compliance {__version__}: {n} controls; {'; '.join(inputs) or 'no input given'}"]


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


class _Reporter:
    """Session-end reporting; keeps which results ran (under xdist, as the controller sees reports)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.other_failures = 0  # failures of tests that are not controls: --fail-on never hides them

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        key = getattr(report, "aksc_key", None)
        if key is None:
            if report.failed:
                self.other_failures += 1
            return
        if report.when in ("setup", "call"):
            self.config.stash[RAN_KEY].update(getattr(report, "aksc_keys", None) or (key,))
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
        severity = {c.id: c.severity.value for c in run.catalog}
        fail_on, fail_on_unknown = config.getoption("fail_on"), config.getoption("fail_on_unknown")
        g = config.stash[GATE_KEY] = gate(((r, r.outcome.value, severity.get(r.control_id or "")) for r in ran),
                                          fail_on or "info", fail_on_unknown)
        if (fail_on or fail_on_unknown) and not self.other_failures and \
                session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
            # pytest says 1 for any failed item; the threshold decides instead (waived items are xfail: 0)
            session.exitstatus = pytest.ExitCode.TESTS_FAILED if g.fails else pytest.ExitCode.OK
        outputs = [config.getoption(o) for o in ("results_json", "audit_report", "sarif", "csv")]
        if not any(outputs):
            return
        doc = run.document_for(ran)
        if fail_on or fail_on_unknown:  # what decided the exit status, for the auditor
            doc["run"] = {**doc.get("run", {}), "options": {**doc.get("run", {}).get("options", {}),
                                                            "fail_on": fail_on or "info", "fail_on_unknown": fail_on_unknown}}
        json_path, report_path, sarif_path, csv_path = outputs
        for path in filter(None, outputs):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        if json_path:
            write_results(json_path, doc)
        if report_path:
            from .report.html import write_report
            write_report(report_path, doc)
        if sarif_path:
            from .report.sarif import write_sarif
            write_sarif(sarif_path, doc)
        if csv_path:
            from .report.csv_matrix import write_csv
            write_csv(csv_path, doc)

    def pytest_terminal_summary(self, terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
        options = config.stash[OPTIONS_KEY]
        tr = terminalreporter
        if not options.has_input:
            if config.stash.get(NO_INPUT_KEY, False):
                tr.write_line(INPUT_HELP, yellow=True)
            return
        if _is_worker(config):
            return
        from .report.terminal import write_summary
        outputs = [(label, config.getoption(opt)) for label, opt in (
            ("results JSON", "results_json"), ("audit report", "audit_report"), ("SARIF", "sarif"),
            ("CSV matrix", "csv")) if config.getoption(opt)]
        write_summary(tr, get_run(config), self._ran(), config.stash.get(GATE_KEY, None),
                      bool(config.getoption("fail_on") or config.getoption("fail_on_unknown")), outputs)


# -- Kubernetes: a live cluster is snapshotted once, by the controller; workers read the same file --------

SNAPSHOT_INPUT = "aksc_k8s_snapshot"


def _k8s_live_snapshot(config: pytest.Config, options: ScanOptions) -> None:
    from .k8s.source import wants_live

    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        path = workerinput.get(SNAPSHOT_INPUT)
        if path:
            options.k8s_paths.append(path)
            options.kube_context, options.kubeconfig, options.kube_in_cluster = None, None, False
        elif workerinput.get(SNAPSHOT_INPUT + "_error"):
            options.kube_error = workerinput[SNAPSHOT_INPUT + "_error"]
            options.kube_context, options.kubeconfig, options.kube_in_cluster = None, None, False
        return
    if not wants_live(options) or config.option.help or config.option.version:
        return
    import datetime as dt
    from .k8s.collector import CollectError, snapshot_for_options

    try:
        path = str(snapshot_for_options(options, dt.datetime.now(dt.timezone.utc)))
        options.k8s_paths.append(path)
        config.stash[SNAPSHOT_KEY] = path
    except CollectError as exc:
        options.kube_error = f"{exc.where}: {exc}"
    options.kube_context, options.kubeconfig, options.kube_in_cluster = None, None, False


SNAPSHOT_KEY = pytest.StashKey[str]()
ITEMS_MODE_KEY = pytest.StashKey[str]()
# Above this many results, "auto" reports one item per target: pytest's per-item cost (tens of
# microseconds even for lean items) would otherwise outweigh the checks (see benchmarks/fleet.py).
AUTO_TARGET_ITEMS = 20_000
STARTED_INPUT = "aksc_started"


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist: hand the controller's start time and snapshot (or its collection error) to each worker."""
    config = node.config
    node.workerinput[STARTED_INPUT] = config.stash[OPTIONS_KEY].started
    path = config.stash.get(SNAPSHOT_KEY, None)
    if path:
        node.workerinput[SNAPSHOT_INPUT] = path
    elif config.stash[OPTIONS_KEY].kube_error:
        node.workerinput[SNAPSHOT_INPUT + "_error"] = config.stash[OPTIONS_KEY].kube_error
    from .azure.pytest_support import configure_node as _azure_configure_node
    _azure_configure_node(node)
