"""Lean pytest items: one per precomputed result, reported without pytest's per-item machinery.

A control test function (``def test_controls(aksc_result)``) is collected as one ``ResultItem`` per
result instead of parametrized ``Function`` items: no fixture setup, no call frames, no traceback
formatting. Their run protocol builds the reports directly — the call report always, setup and
teardown reports only for consumers that need them (JUnit XML closes a test case on its teardown
report). At fleet scale (100,000 items) this is what keeps pytest's per-item cost small.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pytest
from _pytest.reports import TestReport

from .outcomes import ResultError, check_result, evidence_words, failure_text, pytest_outcome
from .results import Outcome, Result
from .stash import RUN_KEY
from .textsafe import escape_controls

if TYPE_CHECKING:
    from .controls import Catalog


# Above this many results, "auto" reports one item per target: pytest's per-item cost (tens of
# microseconds even for lean items) would otherwise outweigh the checks (see benchmarks/fleet.py).
AUTO_TARGET_ITEMS = 20_000


class ResultItem(pytest.Item):
    """One (control, target) result, or one input error, as a test item."""

    def __init__(self, *, result: Result, lineno: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.result = result
        self._lineno = lineno

    def runtest(self) -> None:  # used only if another plugin runs the default protocol
        check_result(self.result)

    def reportinfo(self) -> tuple[Any, int, str]:
        return self.path, self._lineno, self.name

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        if excinfo.errisinstance(ResultError):
            return f"ERROR: {self.result.reason}"
        if self.result.outcome is Outcome.FAILED:
            from .stash import RUN_KEY
            run = self.config.stash.get(RUN_KEY, None)
            return failure_text(self.result, run.catalog if run is not None else None)
        return super().repr_failure(excinfo, style)


class ShardItem(pytest.Item):
    """Under pytest-xdist, a control test function is collected as a fixed number of shard items, alike on
    every worker. Running one evaluates that shard's targets (shards.py) and reports each of its results
    (or targets) as the item a single process collects, under the same node id; the shard item itself
    reports nothing (``distributed.py``)."""

    def __init__(self, *, function: str, shard: int, shards: int, lineno: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.function = function
        self.shard = shard
        self.shards = shards
        self._lineno = lineno

    def runtest(self) -> None:  # pragma: no cover - the plugin's protocol runs shard items
        raise RuntimeError("shard items are run by the aks-compliance plugin (pytest_runtest_protocol)")

    def reportinfo(self) -> tuple[Any, int, str]:
        return self.path, self._lineno, self.name


class TargetItem(pytest.Item):
    """All results of one target as one test item: used when a run has too many results for one
    item each to be affordable (see ``--aksc-items``). Results and reports keep every result."""

    def __init__(self, *, results: list[Result], lineno: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.results = results
        self._lineno = lineno

    def runtest(self) -> None:  # used only if another plugin runs the default protocol
        if target_outcome(self.results)[0] in ("error", "failed"):
            pytest.fail(target_failure_text(self.results), pytrace=False)

    def reportinfo(self) -> tuple[Any, int, str]:
        return self.path, self._lineno, self.name


def make_items(parent: pytest.Collector, function: str, results: list[Result], catalog: "Catalog | None",
               lineno: int, mode: str) -> list[pytest.Item]:
    """The items of a control test function: one per result (``mode`` "result") or one per target ("target";
    an input error stays an item of its own), named ``function[key]``."""
    if mode == "target":
        return _target_items(parent, function, results, catalog, lineno)
    items: list[pytest.Item] = []
    location = None
    for r in results:
        item = ResultItem.from_parent(parent, name=f"{function}[{escape_controls(r.key)}]", result=r, lineno=lineno)
        item.user_properties = user_properties(r, catalog)
        # every item of this function has the same file and line: compute pytest's (cached)
        # location once instead of once per item
        if location is None:
            location = item.location
        else:
            item.__dict__["location"] = (location[0], location[1], item.name)
        items.append(item)
    return items


def _target_items(parent: pytest.Collector, function: str, results: list[Result], catalog: "Catalog | None",
                  lineno: int) -> list[pytest.Item]:
    groups: dict[str, list[Result]] = {}
    for r in results:
        label = r.label
        groups.setdefault(label, []).append(r)
    items: list[pytest.Item] = []
    for label, group in groups.items():
        label = escape_controls(label)  # a test id is shown by JUnit XML and pytest-html, not only the terminal
        if group[0].control_id is None:  # an input error stays an item of its own
            item = ResultItem.from_parent(parent, name=f"{function}[{label}]", result=group[0], lineno=lineno)
            item.user_properties = user_properties(group[0], catalog)
        else:
            item = TargetItem.from_parent(parent, name=f"{function}[{label}]", results=group, lineno=lineno)
            item.user_properties = [("target", escape_controls(group[0].target.name)),
                                    ("failed_controls", ",".join(r.control_id or "" for r in group
                                                                 if r.outcome is Outcome.FAILED))]
            if any(r.outcome is Outcome.ERROR for r in group):
                item.user_properties.append(("error_controls", ",".join(
                    r.control_id or "" for r in group if r.outcome is Outcome.ERROR)))
        items.append(item)
    return items


def target_failure_text(results: list[Result]) -> str:
    failed = [r for r in results if r.outcome is Outcome.FAILED]
    errors = [r for r in results if r.outcome is Outcome.ERROR]
    t = results[0].target
    what = [f"{len(errors)} of {len(results)} controls could not be evaluated (error)"] if errors else []
    if failed or not errors:
        what.append(f"{len(failed)} of {len(results)} controls failed")
    lines = [f"{' and '.join(what)} for {t.type} {t.name} ({t.file}:{t.line})"]
    lines += [f"  {r.control_id}: ERROR: {r.reason}" for r in errors]
    for r in failed:
        first = next((e for e in r.evidence if e.failing), r.evidence[0] if r.evidence else None)
        detail = f": {evidence_words(first)} [{first.location()}]" \
            if first is not None else (f": {r.reason}" if r.reason else "")
        lines.append(f"  {r.control_id}{detail}")
    return "\n".join(lines)


def target_outcome(results: list[Result]) -> tuple[str, str]:
    """(pytest outcome, skip reason) of a target item: an error (as an item per result is) if a control could
    not be evaluated; failed if a control failed; unknown (a skip) if none failed but one is unknown — never
    passed over an error or an unknown."""
    outcomes = {r.outcome for r in results}
    if Outcome.ERROR in outcomes:
        return "error", ""
    if Outcome.FAILED in outcomes:
        return "failed", ""
    unknown = [r for r in results if r.outcome is Outcome.UNKNOWN]
    if unknown:
        ids = ", ".join(r.control_id or "" for r in unknown[:10]) + (" ..." if len(unknown) > 10 else "")
        return "skipped", f"UNKNOWN: {len(unknown)} control(s) unknown ({ids}): {unknown[0].reason}"
    return "passed", ""


def user_properties(result: Result, catalog: "Catalog | None") -> list[tuple[str, str]]:
    """JUnit ``<properties>`` of a result's test case."""
    control = catalog.get(result.control_id) if catalog is not None and result.control_id else None
    props = [("control_id", result.control_id or ""), ("target", escape_controls(result.target.name)),
             ("outcome", result.outcome.value)]
    if control is not None:
        props += [("severity", control.severity.value), ("cis_aks", ",".join(control.mappings.cis_aks))]
    if result.waiver:
        props.append(("waiver", str(result.waiver.get("id", ""))))
    return props


def build_reports(item: "ResultItem | TargetItem", catalog: "Catalog | None",
                  with_setup_teardown: bool) -> list[TestReport]:
    """The reports a result (or a target's results) gives, as pytest's runner would have made them."""
    if isinstance(item, TargetItem):
        return _target_reports(item, with_setup_teardown)
    r = item.result
    start = time.time()
    keywords = {item.name: 1}
    props = item.user_properties
    location = item.location

    def report(when: str, outcome: str, longrepr: Any = None) -> TestReport:
        rep = TestReport(item.nodeid, location, keywords, outcome, _shown(longrepr), when, (), 0.0, start, start,
                         props)
        rep.aksc_key = r.key
        rep.aksc_outcome = r.outcome.value
        return rep

    phase, outcome, message = pytest_outcome(r, catalog)
    if phase == "setup":
        reports = [report("setup", "failed", message)]
        if with_setup_teardown:
            reports.append(report("teardown", "passed"))
        return reports
    if outcome == "passed":
        call = report("call", "passed")
    elif outcome == "failed":
        call = report("call", "failed", message)
    elif outcome == "xfailed":
        call = report("call", "skipped", (str(location[0]), location[1] or 0, message))
        call.wasxfail = message
    else:
        call = report("call", "skipped", (str(location[0]), location[1] or 0, f"Skipped: {message}"))
    if not with_setup_teardown:
        return [call]
    return [report("setup", "passed"), call, report("teardown", "passed")]


def _shown(longrepr: Any) -> Any:
    """A report's text (or skip tuple's message) as JUnit XML and pytest-html show it: no control characters or
    bidi overrides from the inputs (the terminal escapes its own)."""
    if isinstance(longrepr, str):
        return escape_controls(longrepr)
    if isinstance(longrepr, tuple) and len(longrepr) == 3 and isinstance(longrepr[2], str):
        return (longrepr[0], longrepr[1], escape_controls(longrepr[2]))
    return longrepr


def _target_reports(item: TargetItem, with_setup_teardown: bool) -> list[TestReport]:
    start = time.time()
    keywords = {item.name: 1}
    location = item.location
    first = item.results[0]
    label = first.label
    outcome, reason = target_outcome(item.results)

    def report(when: str, state: str, longrepr: Any = None) -> TestReport:
        rep = TestReport(item.nodeid, location, keywords, state, _shown(longrepr), when, (), 0.0, start, start,
                         item.user_properties)
        rep.aksc_key = first.key
        rep.aksc_target = label  # the target, as pytest-html's column shows it
        rep.aksc_all_of = label  # every result of the target was reported (not a list of keys: 500,000 at scale)
        # what the exit status reads (cli.py): an error among the target's results is the run's error, as it
        # is with an item per result
        rep.aksc_outcome = outcome if outcome in ("error", "failed") else first.outcome.value
        return rep

    if outcome == "error":  # in the setup phase, as pytest reports an item that could not run
        reports = [report("setup", "failed", target_failure_text(item.results))]
        return reports + [report("teardown", "passed")] if with_setup_teardown else reports
    if outcome == "failed":
        call = report("call", "failed", target_failure_text(item.results))
    elif outcome == "skipped":
        call = report("call", "skipped", (str(location[0]), location[1] or 0, f"Skipped: {reason}"))
    else:
        call = report("call", "passed")
    if not with_setup_teardown:
        return [call]
    return [report("setup", "passed"), call, report("teardown", "passed")]


def item_mode(config: pytest.Config, results: int) -> str:
    """"result" or "target": --aksc-items, "auto" deciding by the number of results of the whole run."""
    mode = config.getoption("aksc_items")
    if mode == "auto":
        mode = "target" if results > AUTO_TARGET_ITEMS else "result"
    return mode


def report_result_item(item: "ResultItem | TargetItem", catalog: Any = None) -> None:
    config = item.config
    ihook = item.ihook
    # JUnit XML and pytest-html finish a test case on its teardown report: give them the full set.
    html = bool(getattr(config.option, "htmlpath", None))
    full = html or bool(getattr(config.option, "xmlpath", None))
    ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    if catalog is None:
        run = config.stash.get(RUN_KEY, None)
        catalog = run.catalog if run is not None else None
    # a sharded run's first item: how many items the run has; a shard's first: where its part is spooled
    announced = {k: getattr(item, k) for k in ("aksc_total", "aksc_part") if hasattr(item, k)}
    for report in build_reports(item, catalog, full):
        report.__dict__.update(announced)
        if html and isinstance(item, ResultItem) and (report.when == "call" or report.failed):
            from .report.pytest_html import annotate
            control = catalog.get(item.result.control_id) if catalog is not None and item.result.control_id else None
            annotate(report, item.result, control)
        ihook.pytest_runtest_logreport(report=report)
    ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
