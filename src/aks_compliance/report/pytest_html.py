"""pytest-html integration: registered by the plugin only when pytest-html is active.

Columns for control id, CIS ids, severity, target and one short evidence line (cells are HTML
strings in pytest-html 4: every value is escaped here); a title; environment metadata from
pytest-metadata with credentials redacted; no captured logs for passed rows (lean rows).
"""

from __future__ import annotations

from html import escape
from typing import Any

import pytest

from ..redaction import REDACTED, SECRET_SETTING
from ..run_metadata import redact_mapping, strip_userinfo
from ..sources import FAMILIES
from ..stash import OPTIONS_KEY
from .common import clip

TITLE = "AKS compliance: pytest report"
COLUMNS = (("control", "Control", True), ("cis", "CIS AKS", False), ("severity", "Severity", True),
           ("target", "Target", True), ("evidence", "Evidence", False))
MAX_EVIDENCE = 200
_TEST_ID_CELL = '<td class="col-testId">'


def evidence_line(result: Any) -> str:
    """One short line: the reason for non-passing results, else the first evidence item."""
    o = result.outcome.value
    if o in ("unknown", "error", "waived", "not_applicable", "manual") and result.reason:
        text = result.reason
    elif result.evidence:
        e = next((x for x in result.evidence if x.failing), result.evidence[0])
        # the location is what an auditor follows: shorten the comparison, never the file:line
        tail = (f" [{e.location()}]" if e.file else "") + (
            f" (+{len(result.evidence) - 1})" if len(result.evidence) > 1 else "")
        head = e.text or f"{e.path}: expected {e.expected}, actual {e.actual}"
        room = max(MAX_EVIDENCE - len(tail), 40)
        return clip(head, room) + tail
    else:
        text = result.reason
    return clip(text, MAX_EVIDENCE)


def annotate(report: Any, result: Any, control: Any) -> None:
    """Plain-string attributes on the report (they cross xdist's process boundary)."""
    report.aksc_control = result.control_id or ""
    report.aksc_cis = ", ".join(control.mappings.cis_aks) if control is not None else ""
    report.aksc_severity = control.severity.value if control is not None else ""
    report.aksc_target = result.target.name
    report.aksc_evidence = evidence_line(result)


def redact_metadata(metadata: dict[str, Any]) -> None:
    """In place: secret-looking keys get <redacted>, URLs lose user:password@, and every value is escaped:
    pytest-html 4 inserts environment values as HTML (``<div>${value}</div>``), and they include input
    paths, --arm-resource-group, --metadata and CI variables such as a branch name anyone can choose."""
    for key in list(metadata):
        value = metadata[key]
        if SECRET_SETTING.search(str(key)):
            metadata[key] = REDACTED
        elif isinstance(value, dict):
            metadata[key] = {escape(str(k)): _escaped(v) for k, v in redact_mapping(value).items()}
        else:
            metadata[key] = _escaped(strip_userinfo(value) if isinstance(value, str) else value)


def _escaped(value: Any) -> Any:
    if isinstance(value, str):
        return escape(value)
    if isinstance(value, list):
        return [_escaped(v) for v in value]
    return value


class HtmlHooks:
    def __init__(self, config: pytest.Config, get_run: Any = None) -> None:
        self.config = config
        self.get_run = get_run

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        try:
            from pytest_metadata.plugin import metadata_key
        except ImportError:  # pragma: no cover - pytest-html depends on pytest-metadata
            return
        metadata = self.config.stash.get(metadata_key, None)
        if metadata is None:
            return
        from ..version import __version__
        from ..controls import CATALOG_VERSION
        options = self.config.stash.get(OPTIONS_KEY, None)
        metadata["aks-compliance"] = __version__
        metadata["Control catalog"] = CATALOG_VERSION
        if options is not None:
            metadata["Run id"] = options.run_id or ""
            for family in FAMILIES:
                for line in family.header(options.inputs[family.name], self.config):
                    label, _, value = line.partition(": ")
                    metadata[label] = value
            arm = options.input("arm")
            if arm.subscription_id:
                metadata["Subscription"] = arm.subscription_id
            if arm.resource_group:
                metadata["Resource group"] = arm.resource_group
            if arm.parameters:  # values may be secrets: names only
                metadata["Template parameters set"] = ", ".join(sorted(arm.parameters))
            for label, value in (("Waivers", options.waivers_file), ("Attestations", options.attestations_file)):
                if value:
                    metadata[label] = value
        fail_on = self.config.getoption("fail_on", None)
        if fail_on:
            metadata["Fail on"] = fail_on + (" (+unknown)" if self.config.getoption("fail_on_unknown", False) else "")
        redact_metadata(metadata)

    def pytest_html_report_title(self, report: Any) -> None:
        report.title = TITLE

    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        for i, (name, label, sortable) in enumerate(COLUMNS):
            cls = ' class="sortable"' if sortable else ""
            cells.insert(2 + i, f'<th{cls} data-column-type="{name}">{label}</th>')

    def pytest_html_results_table_row(self, report: Any, cells: list[str]) -> None:
        # pytest-html 4 writes the test id into its cell unescaped, and its page inserts the row with
        # innerHTML: a namespace or object name like <img src=x onerror=...> (it is in the test id) would
        # run. Escape that cell here, whatever pytest-html does.
        for i, cell in enumerate(cells):
            if cell.startswith(_TEST_ID_CELL) and cell.endswith("</td>"):
                cells[i] = _TEST_ID_CELL + escape(cell[len(_TEST_ID_CELL):-5], quote=False) + "</td>"
        for i, (name, _, _) in enumerate(COLUMNS):
            value = getattr(report, f"aksc_{name}", "")
            cells.insert(2 + i, f'<td class="col-{name}">{escape(str(value))}</td>')

    def pytest_html_results_table_html(self, report: Any, data: list[str]) -> None:
        if report.passed:
            del data[:]
