"""The auditor HTML report, the CSV matrix and `aks-compliance report`: content, escaping, size."""

from __future__ import annotations

import base64
import copy
import csv
import datetime as dt
import hashlib
import html.parser
import importlib.util
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import markupsafe
import pytest

from aks_compliance.report.csv_matrix import COLUMNS, cell, write_csv
from aks_compliance.report.html import render_report, safe_url

from .conftest import FIXTURES, ROOT, scan

EXE = str(Path(sys.executable).with_name("aks-compliance"))
EXAMPLES = dict(subscription_id="6f1c2a3e-7b8d-4c9e-a1f2-3b4c5d6e7f80", resource_group="rg-platform-weu")
EVIL = "<script>alert(1)</script>"
EVIL_ATTR = '"><img src=x onerror=alert(2)>'


def governance_files(tmp_path: Path) -> dict[str, str]:
    today = dt.date.today()
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(f"""\
waivers:
  - id: W-ACTIVE
    control: AKS-002
    target: aks-dev-weu
    justification: Entra ID rollout
    approver: Jane Doe
    expires: {today + dt.timedelta(days=100)}
  - id: W-EXPIRED
    control: AKS-002
    target: aks-batch-weu
    justification: old exception
    approver: John Roe
    expires: {today - dt.timedelta(days=3)}
  - id: W-UNUSED
    control: AKS-001
    target: aks-prod-*
    justification: no longer needed
    approver: John Roe
    expires: {today + dt.timedelta(days=300)}
""")
    return {"waivers_file": str(waivers)}


@pytest.fixture(scope="module")
def example_doc(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("gov")
    run = scan(FIXTURES / "examples", controls=["AKS-001", "AKS-002", "AKS-005", "AKS-011", "AKS-012"],
               **governance_files(tmp), **EXAMPLES)
    return run.document()


class Elements(html.parser.HTMLParser):
    """Every start tag with its attributes; script bodies."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"
        if tag == "script":
            self.scripts.append("")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data
        else:
            self.text.append(data)


def parse(page: str) -> Elements:
    p = Elements()
    p.feed(page)
    return p


def test_the_report_has_every_part_an_auditor_needs(example_doc: dict) -> None:
    page = render_report(example_doc)
    p = parse(page)
    ids = {a.get("id") for _, a in p.tags}
    for part in ("status", "scope", "summary", "matrix", "control-summary", "controls", "unknowns", "errors",
                 "manual", "waivers", "waiver-register", "AKS-001", "AKS-012"):
        assert part in ids, part
    text = " ".join(p.text)
    # scope and run metadata: inputs with their SHA-256, versions, who ran, subscription and clusters
    for i in example_doc["inputs"]:
        assert i["path"] in text and i["sha256"] in page
    assert f"control catalog {example_doc['catalog_version']}" in text
    assert example_doc["run"]["user"] in text
    assert "6f1c2a3e-7b8d-4c9e-a1f2-3b4c5d6e7f80" in text and "aks-payments-prod" in text
    # charts by CIS section, severity, practice: three inline SVGs with one bar per group
    svgs = [a for t, a in p.tags if t == "svg"]
    assert len(svgs) == 3 and "Compliance by CIS AKS section" in text and "Compliance by severity" in text
    assert sum(1 for t, a in p.tags if t == "rect" and a.get("class") == "s-failed") >= 3
    # evidence with file:line, rationale, remediation, mappings, the policy block
    assert "properties.disableLocalAccounts" in text and "estate-export.json" in text
    assert "Rationale" in text and "Remediation" in text and "cis_aks" in text and "Azure Policy" in text
    # the waiver register with every status, and the waived result labelled waived (not passed)
    assert re.search(r'<tr class="w-active"><td class="nw">W-ACTIVE', page)
    assert 'class="w-expired"' in page and 'class="w-unused"' in page
    assert "waiver W-ACTIVE approved by Jane Doe" in text
    # the matrix: a row per target, a column per control, glyph and class per cell
    matrix = page[page.index('id="matrix"'):page.index("</table>", page.index('id="matrix"'))]
    assert matrix.count("<tr") == 1 + 4 and matrix.count('<th class="c"') == 5
    assert "<td class=w>W" in matrix and "<td class=f>\u2717" in matrix


def test_unknowns_errors_and_manual_controls_are_listed(tmp_path: Path) -> None:
    bad = tmp_path / "in"
    bad.mkdir()
    (bad / "broken.json").write_text("{")
    (bad / "u.json").write_text((FIXTURES / "controls" / "AKS-002" / "unknown-template-parameter-without-value.json")
                                .read_text())
    doc = scan(bad, controls=["AKS-002"]).document()
    doc["controls"].append({"id": "AKS-900", "title": "A manual check", "severity": "low", "section": "CIS 3.1",
                            "mappings": {"cis_aks": ["3.1.1"]}, "manual": True})
    doc["results"].append({"control_id": "AKS-900", "target": doc["results"][0]["target"], "outcome": "manual",
                           "reason": "this control is checked by hand", "evidence": []})
    page = render_report(doc)
    unknowns = page[page.index('id="unknowns"'):page.index('id="errors"')]
    assert "parameter" in unknowns and "disableLocalAccounts" in unknowns and "1 &times;" in unknowns
    errors = page[page.index('id="errors"'):page.index('id="manual"')]
    assert "broken.json" in errors and "invalid JSON" in errors
    manual = page[page.index('id="manual"'):page.index('id="waivers"')]
    assert "AKS-900" in manual and "not attested" in manual
    assert "Compliance not established" in page or "Not compliant" in page


def test_report_rebuilt_from_saved_results_is_the_same(example_doc: dict, tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    results.write_text(json.dumps(example_doc))
    out, sarif, matrix = tmp_path / "r" / "report.html", tmp_path / "r.sarif", tmp_path / "m.csv"
    proc = subprocess.run([EXE, "report", str(results), "-o", str(out), "--sarif", str(sarif), "--csv", str(matrix)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    generated = re.compile(r"report generated [^ ]+")
    assert generated.sub("", out.read_text()) == generated.sub("", render_report(example_doc))
    assert json.loads(sarif.read_text())["version"] == "2.1.0" and matrix.read_text().startswith("control_id,")
    assert subprocess.run([EXE, "report", str(results)], capture_output=True).returncode == 4
    (tmp_path / "x.json").write_text('{"schema": "something else"}')
    proc = subprocess.run([EXE, "report", str(tmp_path / "x.json"), "-o", str(out)], capture_output=True, text=True)
    assert proc.returncode == 4 and "not an aks-compliance results document" in proc.stderr


def hostile(doc: dict) -> dict:
    """Markup in every string an input can reach: names, ids, files, reasons, evidence, waivers, links."""
    doc = copy.deepcopy(doc)
    for r in doc["results"]:
        r["target"]["name"] = EVIL
        r["target"]["id"] = EVIL_ATTR
        r["target"]["source"]["file"] = f"dir/{EVIL}.json"
        r["reason"] = EVIL_ATTR
        for e in r["evidence"]:
            e.update(path=EVIL, expected=EVIL_ATTR, actual=f'"{EVIL}"', file=EVIL)
    for w in doc.get("waivers", []):
        w.update(id=EVIL, justification=EVIL, approver=EVIL_ATTR, target=EVIL)
    doc["inputs"][0]["path"] = EVIL
    doc["controls"][0]["references"] = ["javascript:alert(3)", EVIL]
    doc["run"]["user"] = EVIL
    doc["run"]["scope"]["clusters"] = [{"name": EVIL, "id": EVIL_ATTR}]
    doc["diagnostics"].append({"severity": "warning", "message": EVIL, "file": EVIL, "line": 1})
    return doc


def test_everything_from_inputs_is_escaped(example_doc: dict) -> None:
    page = render_report(hostile(example_doc))
    assert EVIL not in page and "<img" not in page and "onerror=alert" not in page.replace("onerror=alert(2)&gt;", "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    p = parse(page)
    assert [t for t, _ in p.tags].count("script") == 1  # ours, and only ours
    assert all(not k.startswith("on") for _, attrs in p.tags for k in attrs)
    assert all(not (a.get("href") or "").lower().startswith("javascript") for _, a in p.tags)
    assert EVIL in " ".join(p.text)  # it shows as text
    assert safe_url("javascript:alert(1)") is None and safe_url(" https://x.example/a ") == "https://x.example/a"
    assert safe_url("data:text/html,x") is None and safe_url(None) is None


def test_the_only_script_is_allowed_by_the_content_security_policy(example_doc: dict) -> None:
    page = render_report(example_doc)
    p = parse(page)
    [script] = p.scripts
    csp = next(a["content"] for t, a in p.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in csp and "default-src 'none'" in csp
    # no external resource of any kind: one self-contained file
    assert not [a for t, a in p.tags if t in ("link", "img", "iframe", "object") or (t == "script" and a.get("src"))]


def _synthetic(n: int) -> dict:
    spec = importlib.util.spec_from_file_location("report_render", ROOT / "benchmarks" / "report_render.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.synthetic_document(n)


def test_the_page_stays_lean_at_scale() -> None:
    doc = _synthetic(20_000)
    page = render_report(doc)
    per_result = len(page.encode()) / len(doc["results"])
    # 100k results stay about 11 MB (benchmarks/report_render.py); a regression to row-per-evidence
    # markup everywhere shows here as > 400 B per result
    assert per_result < 250, per_result
    assert page.count("<tr") < len(doc["results"]) * 0.8  # passes are grouped, findings pivoted


def test_csv_matrix_one_row_per_result_and_no_formulas(example_doc: dict, tmp_path: Path) -> None:
    doc = copy.deepcopy(example_doc)
    doc["results"][0]["target"]["name"] = '=HYPERLINK("http://evil.example","x")'
    doc["results"][1]["reason"] = "+cmd|' /C calc'!A0"
    path = tmp_path / "m.csv"
    assert write_csv(str(path), doc) == len(doc["results"])
    rows = list(csv.reader(io.StringIO(path.read_text())))
    assert tuple(rows[0]) == COLUMNS and len(rows) == len(doc["results"]) + 1
    cols = {name: i for i, name in enumerate(COLUMNS)}
    assert rows[1][cols["target"]] == "'=HYPERLINK(\"http://evil.example\",\"x\")"
    assert rows[2][cols["reason"]].startswith("'+cmd")
    waived = [r for r in rows[1:] if r[cols["outcome"]] == "waived"]
    assert waived and waived[0][cols["waiver_id"]] == "W-ACTIVE" and waived[0][cols["waiver_approver"]] == "Jane Doe"
    assert all(r[cols["location"]] for r in rows[1:] if r[cols["outcome"]] == "failed")
    assert cell("-1") == "'-1" and cell("a=b") == "a=b" and cell(None) == ""


def test_results_schema_v1_accepts_the_new_fields_and_keeps_its_required_names(example_doc: dict) -> None:
    import jsonschema
    schema = json.loads((ROOT / "src" / "aks_compliance" / "schemas" / "results-v1.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["required"] == ["schema", "tool", "started", "inputs", "controls", "results"]
    assert schema["properties"]["results"]["items"]["required"] == ["control_id", "target", "outcome", "reason",
                                                                    "evidence"]
    jsonschema.validate(example_doc, schema)
    assert example_doc["run"]["scope"]["subscriptions"] == ["6f1c2a3e-7b8d-4c9e-a1f2-3b4c5d6e7f80"]
    assert {c["id"] for c in example_doc["controls"] if c.get("policy")} >= {"AKS-002", "AKS-005"}
    broken = copy.deepcopy(example_doc)
    waived = next(r for r in broken["results"] if r["outcome"] == "waived")
    del waived["waiver"]
    with pytest.raises(jsonschema.ValidationError, match="'waiver' is a required property"):
        jsonschema.validate(broken, schema)
    broken = copy.deepcopy(example_doc)
    broken["waivers"][0]["status"] = "maybe"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)
    broken = copy.deepcopy(example_doc)
    broken["waivers"][0]["expires"] = "31/12/2026"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_findings_mark_what_they_fail_on_in_plain_words() -> None:
    """A failed result's failing evidence is marked, and its plain-words text shown (escaped), in the list of
    findings and in the pivoted table a control with many findings gets."""
    run = scan(FIXTURES / "controls" / "AKS-002" / "failed-enabled.json")
    doc = run.document_for(run.results)
    [failed] = [r for r in doc["results"] if r["control_id"] == "AKS-002"]
    assert failed["outcome"] == "failed"
    [item] = [e for e in failed["evidence"] if e.get("failing")]
    assert item["text"], "the failing item says what is wrong in plain words"
    item["text"] += " <b>&"  # whatever it holds is escaped
    shown = str(markupsafe.escape(item["text"]))
    listed = render_report(doc)
    assert f'<span class="why">{shown}</span>' in listed
    assert re.search(r'<tr class="fe"><td>' + re.escape(item["path"]), listed)
    many = copy.deepcopy(doc)
    many["results"] = [failed] + [{**copy.deepcopy(failed), "target": {**failed["target"], "name": f"aks-{i}"}}
                                  for i in range(45)]
    pivoted = render_report(many)
    assert pivoted.count(f"<span class=why>{shown}</span>") == 46
    assert pivoted.count("<td class=fe>") == 46


def test_a_kubernetes_scan_names_its_clusters_and_no_azure_placeholders(tmp_path: Path) -> None:
    """A snapshot scan's report said "Clusters (0)" and "subscription (placeholder)": an auditor read that
    nothing was scanned. It names the cluster the snapshot was collected from, and the Azure rows are for
    scans that read Azure inputs."""
    from aks_compliance.k8s.snapshot import write_snapshot
    from aks_compliance.k8s.source import K8sOptions
    from aks_compliance.scan import ScanOptions, run_scan

    meta = {"scope": "prod-weu", "cluster": {"server": "https://prod-weu.hcp.example", "version": {"gitVersion": "v1.30.5"}},
            "collected": {"finished": "2026-12-01T10:00:00+00:00"},
            "collector": {"identity": {"username": "aks-compliance-reader", "groups": ["system:authenticated"]}},
            "lists": {"Pod": {"status": "complete"}}, "gaps": []}
    write_snapshot(tmp_path / "s.json.gz", meta, [{"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": "p", "namespace": "shop"}, "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}])
    k8s = render_report(run_scan(ScanOptions(inputs=[K8sOptions(paths=[str(tmp_path / "s.json.gz")])])).document())
    assert "Deployment target given" not in k8s and "Clusters (0)" not in k8s
    assert ("<tr><th>Kubernetes clusters (1)</th><td>prod-weu <code class=\"muted\">https://prod-weu.hcp.example</code> "
            "v1.30.5 &middot; collected 2026-12-01T10:00:00+00:00 by aks-compliance-reader &middot; 1 objects") in k8s
    arm = render_report(scan(FIXTURES / "examples").document())
    assert "Deployment target given" in arm and "Kubernetes clusters" not in arm
