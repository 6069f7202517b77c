"""The reports read results through read-only views (results.ResultView), not a dict per result: a view
reads as the result's dict, and every report written from views is the one written from dicts."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from aks_compliance.report.csv_matrix import write_csv
from aks_compliance.report.html import write_report
from aks_compliance.report.sarif import write_sarif
from aks_compliance.results import ResultView, ResultViews, write_results
from aks_compliance.waivers import load_governance

from .conftest import FIXTURES, scan

WAIVER = """waivers:
  - id: W-1
    control: AKS-002
    target: "*"
    justification: break-glass account kept during the migration
    approver: secops@example.com
    expires: {expires}
"""


@pytest.fixture(scope="module")
def run():
    return scan(FIXTURES / "controls")


def test_a_view_reads_as_the_results_dict(run) -> None:
    assert len(run.results) > 100
    for r in run.results:
        view, made = ResultView(r), r.as_dict()
        assert dict(view) == made and len(view) == len(made) and list(view) == list(made)
        assert view["target"] is made["target"]  # the dict the target's results share
        assert view.get("waiver") == made.get("waiver") and ("waiver" in view) == ("waiver" in made)
        with pytest.raises(KeyError):
            view["no such key"]


def test_governance_fields_read_through_a_view(tmp_path: Path) -> None:
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(WAIVER.format(expires=(dt.date.today() + dt.timedelta(days=30)).isoformat()))
    base = scan(FIXTURES / "controls" / "AKS-002")
    governed = scan(FIXTURES / "controls" / "AKS-002",
                    governance=load_governance(str(waivers), None, base.catalog, dt.date.today()))
    waived = [r for r in governed.results if r.waiver is not None]
    assert waived, "the fixture has a failing AKS-002 cluster to waive"
    for r in waived:
        assert dict(ResultView(r)) == r.as_dict() and ResultView(r)["waiver"]["id"] == "W-1"


def _generated(text: str) -> str:
    return re.sub(r"report generated [0-9T:+-]+", "report generated -", text)


@pytest.mark.parametrize("write", [write_report, write_csv, write_sarif, write_results])
def test_every_output_from_views_is_the_output_from_dicts(run, tmp_path: Path, write) -> None:
    from_dicts = run.document_for(run.results)
    from_views = run.document_for(run.results, lazy=True)
    from_views["results"] = from_views["results"].made()
    assert isinstance(from_views["results"], ResultViews)
    write(str(tmp_path / "dicts"), from_dicts)
    write(str(tmp_path / "views"), from_views)
    assert _generated((tmp_path / "views").read_text()) == _generated((tmp_path / "dicts").read_text())


def test_evidence_json_is_the_compact_json_of_its_dict() -> None:
    """Evidence.as_json builds the text from remembered field encodings: byte for byte COMPACT(as_dict())."""
    from aks_compliance.results import COMPACT, Evidence

    cases = [Evidence("a.b", "equals true", "false"),
             Evidence("p", "in [\"x\"]", "\"caf\u00e9\" \udc80", "f.yaml", 3, True, "plain words \u202e"),
             Evidence("p", "e", "a", "f.json", None), Evidence("p", "e", "a", "", 7, False, ""),
             Evidence("\"quoted\"\n", "\\", "\x00\x1b", "dir/f.json", 0, True, "t")]
    for e in cases + cases:  # twice: the second time from the remembered encodings
        assert e.as_json() == COMPACT(e.as_dict())
