"""How a result becomes a pytest outcome, in one place: the control test's body, the lean items' reports,
the status letters, and the failure text a person reads."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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


def pytest_outcome(result: Result, catalog: "Catalog | None" = None) -> tuple[str, str, str]:
    """(phase, pytest outcome, message) of a result: the one mapping every reporting path uses.

    passed -> a passing call; failed -> a failing call with the failure text; waived -> an expected
    failure (xfail); unknown, not applicable, manual -> a skip whose reason starts with the outcome;
    error -> an error in setup (bad input is not a control's verdict)."""
    o = result.outcome
    if o is Outcome.PASSED:
        return "call", "passed", ""
    if o is Outcome.FAILED:
        return "call", "failed", failure_text(result, catalog)
    if o is Outcome.WAIVED:
        return "call", "xfailed", f"WAIVED: {result.reason}"
    if o in SKIP_PREFIX:
        return "call", "skipped", f"{SKIP_PREFIX[o]}: {result.reason}"
    return "setup", "failed", f"ERROR: {result.reason}"


class ResultError(Exception):
    """An error result (bad input, an unevaluable rule) raised as a test error."""

    def __init__(self, result: Result) -> None:
        super().__init__(result.reason)
        self.result = result


def check_result(result: Result, catalog: "Catalog | None" = None) -> None:
    """The body of every control test: turn the precomputed result into a pytest outcome."""
    phase, outcome, message = pytest_outcome(result, catalog)
    if phase == "setup":
        raise ResultError(result)
    if outcome == "failed":
        pytest.fail(message, pytrace=False)
    if outcome == "skipped":
        pytest.skip(message)
    if outcome == "xfailed":
        pytest.xfail(message)


DOCS_PAGE = "docs/controls.md"  # every built-in control has a section there, anchored by its lower-case id
MAX_FAILING_SHOWN = 10


def doc_link(control: Any) -> str:
    """Where a person reads more: the built-in's section of the catalog page, else the control's first reference."""
    if control is None:
        return ""
    if getattr(control, "builtin", False):  # the page is in this project's repository, not the user's
        return f"aks-compliance catalog {control.id} ({DOCS_PAGE}#{control.id.lower()} in the aks-compliance repository)"
    refs = [r for r in getattr(control, "references", ()) if isinstance(r, str)]
    return refs[0] if refs else ""


def evidence_words(e: Any) -> str:
    """An evidence item as a person reads it: its plain words, else path, expected and actual."""
    return e.text or f"{e.path}: expected {e.expected}, actual {e.actual}"


def failure_text(result: Result, catalog: "Catalog | None" = None) -> str:
    """What the terminal, JUnit and pytest-html show of a failure: the control and its title, the failing
    conditions in plain words with their file:line, the reason, the remediation and where to read more. The
    whole evidence (passing comparisons too) is in the results JSON and the audit report."""
    t = result.target
    control = catalog.get(result.control_id) if catalog is not None and result.control_id else None
    title = f": {control.title}" if control is not None else ""
    lines = [f"{result.control_id} failed for {t.type} {t.name} ({t.file}:{t.line}){title}"]
    shown = [e for e in result.evidence if e.failing][:MAX_FAILING_SHOWN] or result.evidence[:5]
    for e in shown:
        loc = f"  [{e.location()}]" if e.file else ""
        lines.append(f"  {evidence_words(e)}{loc}")
    if result.reason and not any(result.reason in e.text for e in shown):
        lines.append(f"  reason: {result.reason}")
    more = len(result.evidence) - len(shown)
    if more > 0:
        lines.append(f"  ({more} more evidence item(s), passing comparisons included, in the results JSON and "
                     f"the audit report)")
    if control is not None and control.remediation:
        lines.append(f"  remediation: {control.remediation}")
    link = doc_link(control)
    if link:
        lines.append(f"  docs: {link}")
    return "\n".join(lines)
