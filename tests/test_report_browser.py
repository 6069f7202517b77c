"""The auditor report in a real browser: Debian's chromium, headless, over the DevTools protocol.

`make test` and `.ci/run` install chromium when it is missing (apt-get, as root). When it is missing
here, this module tries the same install; it skips, saying why, only when chromium is absent and
cannot be installed (not root, no apt-get, or the install failed).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from aks_compliance.report.browser import Chromium, find_chromium
from aks_compliance.report.html import write_report

from .conftest import FIXTURES, scan
from .test_report_injection import EVIL_ANNOTATION, EVIL_DIR, EVIL_NAME, EVIL_VALUE, build_outputs

EXAMPLES = dict(subscription_id="6f1c2a3e-7b8d-4c9e-a1f2-3b4c5d6e7f80", resource_group="rg-platform-weu")


def ensure_chromium() -> str:
    exe = find_chromium()
    if exe:
        return exe
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("chromium is not installed and cannot be installed here (needs root and apt-get; "
                    "`make test` installs it where it can)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium"]
    proc = subprocess.run(install, capture_output=True, text=True, env=env, timeout=1200)
    if proc.returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, env=env, timeout=600)
        proc = subprocess.run(install, capture_output=True, text=True, env=env, timeout=1200)
    exe = find_chromium()
    if not exe:
        pytest.skip(f"chromium is not installed and apt-get could not install it: {proc.stderr.strip()[-300:]}")
    return exe


@pytest.fixture(scope="module")
def browser():
    ensure_chromium()
    with Chromium(window=(1400, 1000)) as b:
        yield b


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    tmp = tmp_path_factory.mktemp("browser")
    today = dt.date.today()
    waivers = tmp / "waivers.yaml"
    waivers.write_text(f"waivers:\n  - id: W-1\n    control: AKS-011\n    target: aks-dev-weu\n    justification: lab\n"
                       f"    approver: Jane\n    expires: {today + dt.timedelta(days=90)}\n"
                       f"  - id: W-2\n    control: AKS-002\n    target: aks-batch-weu\n    justification: old\n"
                       f"    approver: Jane\n    expires: {today - dt.timedelta(days=1)}\n")
    doc = scan(FIXTURES / "examples", waivers_file=str(waivers), **EXAMPLES).document()
    path = tmp / "report.html"
    write_report(str(path), doc)
    return path, doc


SORT = """(() => {
  const th = document.querySelectorAll('#control-summary thead th')[2];
  th.click();
  const asc = [...document.querySelectorAll('#control-summary tbody tr')].map(r => +r.cells[2].dataset.v);
  th.click();
  const desc = [...document.querySelectorAll('#control-summary tbody tr')].map(r => +r.cells[2].dataset.v);
  return {asc, desc, aria: th.getAttribute('aria-sort')};
})()"""
FILTER = """(() => {
  const f = document.getElementById('matrix-filter');
  f.value = 'dev'; f.dispatchEvent(new Event('input'));
  const shown = [...document.querySelectorAll('#matrix tbody tr')].filter(r => !r.hidden).map(r => r.cells[0].textContent);
  f.value = ''; f.dispatchEvent(new Event('input'));
  const rows = [...document.querySelectorAll('#matrix tbody tr')];
  rows[0].classList.add('ok');  // as if the first target passed everything
  const ok = rows.filter(r => r.classList.contains('ok')).length;
  document.getElementById('only-problems').click();
  const visible = rows.filter(r => getComputedStyle(r).display !== 'none').length;
  const first = getComputedStyle(rows[0]).display;
  document.getElementById('only-problems').click();
  const after = rows.filter(r => getComputedStyle(r).display !== 'none').length;
  return {shown, visible, first, after, ok, total: rows.length};
})()"""


def test_the_report_loads_without_console_errors_and_shows_its_parts(browser: Chromium, report, tmp_path: Path) -> None:
    path, doc = report
    pdf = tmp_path / "report.pdf"
    page = browser.check(path, pdf=pdf, screenshot=tmp_path / "report.png", expressions={
        "title": "document.title",
        "status": "document.getElementById('status').innerText",
        "js": "document.documentElement.classList.contains('js')",
        "rows": "document.querySelectorAll('#matrix tbody tr').length",
        "columns": "document.querySelectorAll('#matrix thead th.c').length",
        "svgs": "document.querySelectorAll('svg').length",
        "bars": "document.querySelectorAll('svg rect').length",
        "waivers": "[...document.querySelectorAll('#waiver-register tbody tr')].map(r => r.cells[6].innerText)",
        "visible": "['status', 'matrix', 'control-summary', 'waiver-register', 'AKS-001'].filter(id => {"
                   " const e = document.getElementById(id); return e && e.getBoundingClientRect().height > 0; })",
        "sort": SORT, "filter": FILTER,
    })
    assert page.errors == [] and page.dialogs == [], page.errors
    v = page.values
    assert v["title"].startswith("AKS compliance report")
    assert v["status"].startswith("Not compliant:")
    assert v["js"] is True  # the inline script ran (its CSP hash matched)
    targets = {r["target"]["name"] for r in doc["results"]}
    assert v["rows"] == len(targets) and v["columns"] == len({r["control_id"] for r in doc["results"]})
    assert v["svgs"] == 3 and v["bars"] > 10
    assert sorted(v["waivers"]) == ["active", "expired"]
    assert v["visible"] == ["status", "matrix", "control-summary", "waiver-register", "AKS-001"]
    assert v["sort"]["asc"] == sorted(v["sort"]["asc"]) and v["sort"]["desc"] == sorted(v["sort"]["desc"], reverse=True)
    assert v["sort"]["aria"] == "descending"
    assert v["filter"]["shown"] == ["aks-dev-weu"]
    f = v["filter"]  # the CSS-only toggle (works without script) hides targets with nothing to see
    assert f["first"] == "none" and f["visible"] == f["total"] - f["ok"] and f["after"] == f["total"]
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and data.count(b"/Type /Page") + data.count(b"/Type/Page") > 3
    assert (tmp_path / "report.png").read_bytes().startswith(b"\x89PNG")


def test_hostile_inputs_show_as_text_and_nothing_executes(browser: Chromium, tmp_path: Path) -> None:
    out = build_outputs(tmp_path)
    probes = {"text": "document.body.textContent",
              "handlers": "document.querySelectorAll('[onerror],[onload],[onmouseover],iframe').length",
              "scripts": "document.scripts.length",
              "js_links": "[...document.querySelectorAll('a[href]')].filter(a => a.href.startsWith('javascript')).length"}
    audit = browser.check(out["audit"], expressions=probes, settle=0.5)
    assert audit.dialogs == [] and audit.errors == [], audit.errors
    assert audit.values["handlers"] == 0 and audit.values["scripts"] == 1 and audit.values["js_links"] == 0
    for literal in (EVIL_NAME, EVIL_VALUE, EVIL_DIR, EVIL_ANNOTATION):
        assert literal in audit.values["text"], literal
    pyhtml = browser.check(out["html"], expressions=probes, settle=0.5)
    assert pyhtml.dialogs == [] and pyhtml.values["handlers"] == 0
    assert pyhtml.errors == [], pyhtml.errors
    assert EVIL_NAME in pyhtml.values["text"]
