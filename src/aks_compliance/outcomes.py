"""How a result becomes a pytest outcome, in one place: the control test's body, the lean items' reports,
the status letters, and the failure text a person reads."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from .results import Outcome, Result

if TYPE_CHECKING:
    from .controls import Catalog

# Non-passing, non-failing outcomes are pytest skips whose reason starts with the outcome.
SKIP_PREFIX = {Outcome.UNKNOWN: "UNKNOWN", Outcome.NOT_APPLICABLE: "NOT APPLICABLE", Outcome.MANUAL: "MANUAL"}

# (when, pytest outcome) -> pytest_report_teststatus answer for result items
STATUS = {
    ("call", "passed"): ("passed", ".", "PASSED"),
    ("call", "failed"): ("failed", "F", "FAILED"),
    ("call", "skipped"): ("skipped", "s", "SKIPPED"),
    ("setup", "failed"): ("error", "E", "ERROR"),
    ("setup", "passed"): ("", "", ""),
    ("teardown", "passed"): ("", "", ""),
}


class ResultError(Exception):
    """An error result (bad input, an unevaluable rule) raised as a test error."""

    def __init__(self, result: Result) -> None:
        super().__init__(result.reason)
        self.result = result


def check_result(result: Result, catalog: "Catalog | None" = None) -> None:
    """The body of every control test: turn the precomputed result into a pytest outcome."""
    o = result.outcome
    if o is Outcome.PASSED:
        return
    if o is Outcome.FAILED:
        pytest.fail(failure_text(result, catalog), pytrace=False)
    if o in SKIP_PREFIX:
        pytest.skip(f"{SKIP_PREFIX[o]}: {result.reason}")
    if o is Outcome.WAIVED:
        pytest.xfail(f"WAIVED: {result.reason}")
    raise ResultError(result)


def failure_text(result: Result, catalog: "Catalog | None" = None) -> str:
    t = result.target
    control = catalog.get(result.control_id) if catalog is not None and result.control_id else None
    title = f": {control.title}" if control is not None else ""
    lines = [f"{result.control_id} failed for {t.type} {t.name} ({t.file}:{t.line}){title}"]
    if result.reason:
        lines.append(f"  reason: {result.reason}")
    for e in result.evidence:
        loc = f"  [{e.location()}]" if e.file else ""
        lines.append(f"  {e.path}: expected {e.expected}, actual {e.actual}{loc}")
    if control is not None and control.remediation:
        lines.append(f"  remediation: {control.remediation}")
    return "\n".join(lines)
