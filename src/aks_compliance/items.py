"""Lean pytest items: one per precomputed result, reported without pytest's per-item machinery.

A control test function (``def test_controls(aksc_result)``) is collected as one ``ResultItem`` per
result instead of parametrized ``Function`` items: no fixture setup, no call frames, no traceback
formatting. Their run protocol builds the reports directly — the call report always, setup and
teardown reports only for consumers that need them (JUnit XML closes a test case on its teardown
report). At fleet scale (100,000 items) this is what keeps pytest's per-item cost small.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Callable

import pytest
from _pytest.reports import TestReport

from .results import Outcome, Result

if TYPE_CHECKING:
    from .controls import Catalog

SKIP_PREFIX = {Outcome.UNKNOWN: "UNKNOWN", Outcome.NOT_APPLICABLE: "NOT APPLICABLE", Outcome.MANUAL: "MANUAL"}


class ResultItem(pytest.Item):
    """One (control, target) result, or one input error, as a test item."""

    def __init__(self, *, result: Result, lineno: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.result = result
        self._lineno = lineno

    def runtest(self) -> None:  # used only if another plugin runs the default protocol
        from .plugin import check_result
        check_result(self.result)

    def reportinfo(self) -> tuple[Any, int, str]:
        return self.path, self._lineno, self.name

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        from .plugin import ResultError, failure_text
        if excinfo.errisinstance(ResultError):
            return f"ERROR: {self.result.reason}"
        if self.result.outcome is Outcome.FAILED:
            return failure_text(self.result)
        return super().repr_failure(excinfo, style)


def user_properties(result: Result, catalog: "Catalog | None") -> list[tuple[str, str]]:
    """JUnit ``<properties>`` of a result's test case."""
    control = catalog.get(result.control_id) if catalog is not None and result.control_id else None
    props = [("control_id", result.control_id or ""), ("target", result.target.name),
             ("outcome", result.outcome.value)]
    if control is not None:
        props += [("severity", control.severity.value), ("cis_aks", ",".join(control.mappings.cis_aks))]
    if result.waiver:
        props.append(("waiver", str(result.waiver.get("id", ""))))
    return props


def build_reports(item: ResultItem, failure_text: Callable[[Result], str],
                  with_setup_teardown: bool) -> list[TestReport]:
    """The reports a result gives, as pytest's runner would have made them."""
    r = item.result
    start = time.time()
    keywords = {item.name: 1}
    props = item.user_properties
    location = item.location

    def report(when: str, outcome: str, longrepr: Any = None) -> TestReport:
        rep = TestReport(item.nodeid, location, keywords, outcome, longrepr, when, (), 0.0, start, start,
                         props)
        rep.aksc_key = r.key
        rep.aksc_outcome = r.outcome.value
        return rep

    o = r.outcome
    if o is Outcome.ERROR:
        reports = [report("setup", "failed", f"ERROR: {r.reason}")]
        if with_setup_teardown:
            reports.append(report("teardown", "passed"))
        return reports
    if o is Outcome.PASSED:
        call = report("call", "passed")
    elif o is Outcome.FAILED:
        call = report("call", "failed", failure_text(r))
    elif o is Outcome.WAIVED:
        call = report("call", "skipped", (str(location[0]), location[1] or 0, f"WAIVED: {r.reason}"))
        call.wasxfail = f"WAIVED: {r.reason}"
    else:
        call = report("call", "skipped",
                      (str(location[0]), location[1] or 0, f"Skipped: {SKIP_PREFIX.get(o, o.value)}: {r.reason}"))
    if not with_setup_teardown:
        return [call]
    return [report("setup", "passed"), call, report("teardown", "passed")]
