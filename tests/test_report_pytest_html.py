"""pytest-html columns, title, redacted environment and lean rows; JUnit properties under xunit2."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from .conftest import FIXTURES, ROOT

SUITE = str(ROOT / "tests_compliance")
EXAMPLES = ["--arm", str(FIXTURES / "examples"), "--arm-subscription-id", "6f1c2a3e-7b8d-4c9e-a1f2-3b4c5d6e7f80",
            "--arm-resource-group", "rg-platform-weu"]

pytest_plugins = ["pytester"]
pytest.importorskip("pytest_html", reason="pytest-html is the `html` extra")


def html_data(path: Path) -> dict:
    page = path.read_text()
    m = re.search(r'data-jsonblob="([^"]*)"', page)
    assert m, "pytest-html 4 keeps its rows in data-jsonblob"
    return json.loads(html.unescape(m.group(1)))


def test_pytest_html_columns_title_and_lean_rows(pytester: pytest.Pytester, tmp_path: Path) -> None:
    out = tmp_path / "pytest.html"
    result = pytester.runpytest_subprocess(SUITE, "-p", "no:cacheprovider", *EXAMPLES, "--controls",
                                           "AKS-001,AKS-002,AKS-012", "--html", str(out), "--self-contained-html")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    page = out.read_text()
    for header in ("Control", "CIS AKS", "Severity", "Target", "Evidence"):
        assert re.search(rf'<th[^>]*data-column-type="\w+">{header}</th>', page), header
    data = html_data(out)
    assert data["title"] == "AKS compliance: pytest report"
    rows = {tid.split("[", 1)[1][:-1]: entries[-1] for tid, entries in data["tests"].items()}
    failed = rows["AKS-002-estate-export/aks-dev-weu"]
    cells = "".join(failed["resultsTableRow"])
    assert '<td class="col-control">AKS-002</td>' in cells and '<td class="col-cis">5.5.1</td>' in cells
    assert '<td class="col-severity">high</td>' in cells and '<td class="col-target">aks-dev-weu</td>' in cells
    # absent in the template: the evidence shows the value AKS applies and says it is the API's default
    assert re.search(r'<td class="col-evidence">disableLocalAccounts is false \(absent[^<\[]*\), must be true '
                     r"\[.*estate-export.json:\d+\]</td>", cells)
    assert failed["control"] == "AKS-002" and failed["severity"] == "high"  # sortable columns
    assert "AKS-002 failed for" in failed["log"]  # the failure's evidence stays
    passed = rows["AKS-001-estate-export/aks-prod-weu"]
    assert passed["result"] == "Passed" and passed["log"] == ""  # no logs for passed rows
    assert all(len(json.dumps(e)) < 1500 for e in rows.values() if e["result"] == "Passed")


def test_environment_metadata_with_credentials_redacted(pytester: pytest.Pytester, tmp_path: Path) -> None:
    out = tmp_path / "pytest.html"
    pytester.runpytest_subprocess(
        SUITE, "-p", "no:cacheprovider", *EXAMPLES, "--controls", "AKS-002", "--html", str(out),
        "--self-contained-html", "--metadata", "AZURE_CLIENT_SECRET", "hunter2-secret",
        "--metadata", "Repo", "https://ci-user:ghp_tokenvalue123@github.example.com/org/repo.git",
        "--metadata", "ARM_ACCESS_KEY", "k3y-value", "--arm-param", "adminPassword=CliPa55w0rd")
    page = out.read_text()
    env = html_data(out)["environment"]
    for secret in ("hunter2-secret", "ghp_tokenvalue123", "ci-user:", "k3y-value", "CliPa55w0rd"):
        assert secret not in page, secret
    assert env["AZURE_CLIENT_SECRET"] == "<redacted>" and env["ARM_ACCESS_KEY"] == "<redacted>"
    assert env["Repo"] == "https://github.example.com/org/repo.git"
    assert env["aks-compliance"] and env["Subscription"] == "6f1c2a3e-7b8d-4c9e-a1f2-3b4c5d6e7f80"
    assert env["Template parameters set"] == "adminPassword"  # the name only


def test_junit_properties_under_the_default_xunit2_without_warnings(pytester: pytest.Pytester, tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    waivers = tmp_path / "w.yaml"
    waivers.write_text("waivers:\n  - id: W-7\n    control: AKS-002\n    target: aks-dev-weu\n    justification: j\n"
                       f"    approver: a\n    expires: {dt.date.today() + dt.timedelta(days=400)}\n")
    result = pytester.runpytest_subprocess(SUITE, "-p", "no:cacheprovider", *EXAMPLES, "--controls", "AKS-001,AKS-002",
                                           "--junitxml", str(junit), "--waivers", str(waivers), "-W", "error")
    assert "PytestWarning" not in result.stdout.str() and "record_property" not in result.stdout.str()
    root = ET.parse(junit).getroot()
    cases = {tc.get("name"): tc for tc in root.iter("testcase")}
    assert len(cases) == 8
    for name, tc in cases.items():
        props = {p.get("name"): p.get("value") for p in tc.iter("property")}
        assert props["control_id"] == name.split("[", 1)[1][:7]
        assert props["target"] == name.rsplit("/", 1)[1].rstrip("]")
        assert props["severity"] == "high" and props["cis_aks"] in ("5.4.1", "5.5.1")
        assert props["outcome"] in ("passed", "failed", "waived")
    waived = cases["test_controls[AKS-002-estate-export/aks-dev-weu]"]
    assert {p.get("name"): p.get("value") for p in waived.iter("property")}["waiver"] == "W-7"
    assert waived.find("skipped") is not None and "WAIVED" in waived.find("skipped").get("message")
    # each property once, even though several reports are written per test case
    assert all(len([p for p in tc.iter("property") if p.get("name") == "control_id"]) == 1 for tc in cases.values())
