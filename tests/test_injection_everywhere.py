"""Markup through every field that reaches the auditor report and pytest-html; nothing executes.

test_report_injection.py sends markup through a resource name, a property value, an annotation, a
directory name, a control parameter, waiver fields and an attestation link. This file completes it:

* **every string of a results document**: a real document (ARM examples with waivers and attestations,
  Kubernetes manifests, a live Azure snapshot with Azure Policy states) whose every string value carries
  a numbered payload (control ids consistently, so joins still hold) is rebuilt with ``aks-compliance
  report``; the report holds each payload only as text, the browser runs no injected handler, and the
  fields that reached the page are counted. A document whose enumerations (outcome, severity) are markup
  is refused (exit 4, naming the field), not rendered;
* **inputs of a live run** into pytest-html and the auditor report: the kube context name (scope, test ids,
  snapshot name), the identity the API server reports, namespaces, label and annotation keys and values,
  an unknown kind (a warning), a broken file's name (an error), an expression in an unknown reason, and
  ``--arm-resource-group`` (the report's scope).
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .conftest import FIXTURES, ROOT
from .servers.k8s_server import FakeKubeAPI
from .test_report_browser import browser  # noqa: F401 - the browser fixture (headless Chromium)

EXE = str(Path(sys.executable).with_name("aks-compliance"))
PAYLOAD = re.compile(r"<img src=x onerror=alert\((\d+)\)>")
# values the reports look up rather than show: markup there makes the document invalid (tested below)
ENUMS = {"schema", "outcome", "severity", "status", "state", "kind", "verdict", "comparison", "matched_by",
         "started", "finished", "date", "expires", "generated", "timestamp", "taken"}
PROBES = {"text": "document.body.textContent",
          "handlers": "document.querySelectorAll('[onerror],[onload],[onmouseover],[onclick],iframe,object,embed')"
                      ".length",
          "images": "document.querySelectorAll('img').length",
          "scripts": "document.scripts.length",
          "js_links": "[...document.querySelectorAll('a[href]')].filter(a => !/^(https?:|#|mailto:)/.test("
                      "a.getAttribute('href'))).length"}


def _tags(page: str) -> list[tuple[str, tuple[str, ...]]]:
    """Every element of the page as (tag, attribute names), parsed as a browser tokenises it."""
    from html.parser import HTMLParser

    found: list[tuple[str, tuple[str, ...]]] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.append((tag, tuple(a for a, _ in attrs)))

    Collect().feed(page)
    return found


def _field(path: list[Any]) -> str:
    return ".".join(p for p in path if isinstance(p, str))


def poison(doc: Any) -> tuple[Any, dict[int, str]]:
    """Every string gets ``<img src=x onerror=alert(N)>``; returns the document and N -> field."""
    fields: dict[int, str] = {}
    ids: dict[str, str] = {}

    def walk(v: Any, path: list[Any]) -> Any:
        if isinstance(v, dict):
            return {k: (x if k in ENUMS else walk(x, path + [k])) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x, path + [i]) for i, x in enumerate(v)]
        if isinstance(v, str):
            if re.fullmatch(r"AKS-\d+", v):  # ids join results to controls: the same markup everywhere
                if v not in ids:
                    n = len(fields) + 1
                    fields[n] = "control id"
                    ids[v] = f"{v}<img src=x onerror=alert({n})>"
                return ids[v]
            n = len(fields) + 1
            fields[n] = _field(path)
            return f"{v}<img src=x onerror=alert({n})>"
        return v
    return walk(doc, []), fields


@pytest.fixture(scope="module")
def hostile_document(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> dict[str, Any]:
    import datetime as dt

    from aks_compliance.arm.inputs import ArmOptions
    from aks_compliance.k8s.source import K8sOptions
    from aks_compliance.kubebench.family import KubeBenchOptions
    from aks_compliance.scan import ScanOptions, run_scan

    from .azure_estate import collect, estate_server

    tmp = tmp_path_factory.mktemp("poisoned")
    monkeypatch = pytest.MonkeyPatch()
    request.addfinalizer(monkeypatch.undo)
    from .azure_estate import no_proxy
    no_proxy(monkeypatch)
    snapshot = tmp / "azure.json.gz"
    with estate_server() as server:
        collect(server, snapshot)
    today = dt.date.today()
    waivers = tmp / "waivers.yaml"
    waivers.write_text(f"waivers:\n  - id: W-1\n    control: AKS-011\n    target: aks-dev-weu\n    justification: lab\n"
                       f"    approver: Jane\n    reference: SEC-1\n    expires: {today + dt.timedelta(days=90)}\n"
                       f"  - id: W-2\n    control: AKS-002\n    target: nothing-matches\n    justification: old\n"
                       f"    approver: Jane\n    expires: {today + dt.timedelta(days=10)}\n")
    from aks_compliance.controls import load_catalog
    manual = next(c.id for c in load_catalog() if c.manual)
    attestations = tmp / "attestations.yaml"
    attestations.write_text(f"attestations:\n  - control: {manual}\n    status: passed\n    owner: Platform\n"
                            f"    evidence: https://wiki.example.com/x\n    date: {today}\n"
                            f"    expires: {today + dt.timedelta(days=90)}\n")
    run = run_scan(ScanOptions(inputs=[ArmOptions(paths=[str(FIXTURES / "examples"), str(snapshot)], subscription_id="6f1c2a3e-7b8d-4c9e-a1f2-3b4c5d6e7f80", resource_group="rg-platform-weu"), K8sOptions(paths=[str(FIXTURES / "k8s" / "AKS-100"), str(FIXTURES / "node-pools" / "snapshot-aks-prod-weu.json")]), KubeBenchOptions(paths=[str(FIXTURES / "node-pools" / "kube-bench")], cluster="aks-prod-weu")], waivers_file=str(waivers), attestations_file=str(attestations)))
    doc = run.document()
    assert any(r.get("azure_policy") for r in doc["results"]) and doc["waivers"] and doc["attestations"]
    assert any(r.get("kube_bench") for r in doc["results"])
    bad, fields = poison(doc)
    path = tmp / "results.json"
    path.write_text(json.dumps(bad))
    out = {"html": tmp / "report.html", "sarif": tmp / "r.sarif", "csv": tmp / "r.csv"}
    done = subprocess.run([EXE, "report", str(path), "-o", str(out["html"]), "--sarif", str(out["sarif"]),
                           "--csv", str(out["csv"])], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return {"doc": bad, "fields": fields, "out": out, "tmp": tmp, "path": path}


def test_every_string_of_a_results_document_is_text_in_the_report(hostile_document: dict[str, Any]) -> None:
    page = hostile_document["out"]["html"].read_text()
    assert not PAYLOAD.search(page), "a payload reached the page unescaped"
    tags = _tags(page)
    assert not [t for t in tags if any(a.startswith("on") for a in t[1])], "an event handler attribute"
    assert not [t for t in tags if t[0] in ("img", "iframe", "object", "embed", "svg", "math", "base", "form")
                and t[0] != "svg" or (t[0] == "svg" and "role" not in t[1])], "an injected element"
    assert [t for t in tags if t[0] == "script"] == [("script", ())], "one script: the report's own"
    shown = {int(n) for n in re.findall(r"&lt;img src=x onerror=alert\((\d+)\)&gt;", page)}
    fields = hostile_document["fields"]
    reached = sorted({fields[n] for n in shown})
    # what an auditor reads: every one of these fields carried markup to the page, as text
    expected = {"control id", "controls.title", "controls.section", "controls.rationale", "controls.remediation",
                "results.target.name", "results.target.source.file", "results.reason", "results.evidence.path",
                "results.evidence.expected", "results.evidence.actual", "results.evidence.file",
                "results.azure_policy.assignment", "results.azure_policy.definition", "results.target.pool",
                "results.kube_bench.audit_output", "results.kube_bench.note", "waivers.justification",
                "waivers.approver", "waivers.target", "waivers.id", "waivers.reference", "attestations.owner",
                "attestations.evidence", "inputs.path", "run.scope.subscriptions", "tool.version"}
    missing = expected - set(reached)
    assert not missing, (missing, reached)
    assert len(reached) >= 40, reached
    print(f"\n{len(reached)} fields of the results document carried markup into the auditor report: {reached}")


def test_machine_formats_keep_markup_as_data(hostile_document: dict[str, Any]) -> None:
    sarif = json.loads(hostile_document["out"]["sarif"].read_text())
    results = sarif["runs"][0]["results"]
    assert results and all("markdown" not in r["message"] for r in results)
    uris = [loc["physicalLocation"]["artifactLocation"]["uri"] for r in results for loc in r["locations"]]
    assert uris and all("<" not in u and " " not in u for u in uris)
    rules = sarif["runs"][0]["tool"]["driver"]["rules"]
    # rule help is markdown for code scanning: markup from the document is escaped there, never raw HTML
    assert rules and all("<img" not in r["help"]["markdown"] and "<svg" not in r["help"]["markdown"] for r in rules)
    assert any("&lt;img src=x onerror=alert(" in r["help"]["markdown"] for r in rules)
    rows = hostile_document["out"]["csv"].read_text().splitlines()
    assert len(rows) > 10 and any("onerror=alert(" in row for row in rows)  # data, for a spreadsheet


def test_a_document_whose_enumerations_are_markup_is_refused(hostile_document: dict[str, Any]) -> None:
    doc = json.loads(hostile_document["path"].read_text())
    doc["results"][0]["outcome"] = "failed<svg onload=alert(1)>"
    bad = hostile_document["tmp"] / "enum.json"
    bad.write_text(json.dumps(doc))
    out = hostile_document["tmp"] / "enum.html"
    done = subprocess.run([EXE, "report", str(bad), "-o", str(out)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 4 and "results[0].outcome is 'failed<svg onload=alert(1)>', not one of passed" \
        in done.stderr and "Traceback" not in done.stderr
    assert not out.exists()


def test_nothing_executes_in_the_browser(browser, hostile_document: dict[str, Any]) -> None:  # noqa: F811
    page = browser.check(hostile_document["out"]["html"], expressions=PROBES, settle=0.5)
    assert page.dialogs == [] and page.errors == [], page.errors
    v = page.values
    assert v["handlers"] == 0 and v["images"] == 0 and v["scripts"] == 1 and v["js_links"] == 0
    assert "<img src=x onerror=alert(" in v["text"]  # shown as text


# -- a live run: markup through the inputs into pytest-html and the auditor report -------------------------
CONTEXT = '../../<svg onload=alert(101)>'
USERNAME = "system:serviceaccount:x:<img src=x onerror=alert(102)>"
NAMESPACE = "<img src=x onerror=alert(103)>"
LABEL_KEY = "<b onmouseover=alert(104)>k"
LABEL_VALUE = "<img src=x onerror=alert(105)>"
ANNOTATION_KEY = "<iframe src=javascript:alert(106)>"
KIND = "<script>alert(107)</script>"
BROKEN_FILE = "<img src=x onerror=alert(108)>.yaml"
EXPRESSION = "[reference('<img src=x onerror=alert(109)>').properties.x]"
GROUP = "<img src=x onerror=alert(110)>"
ALL = (CONTEXT, USERNAME, NAMESPACE, LABEL_KEY, LABEL_VALUE, ANNOTATION_KEY, KIND, BROKEN_FILE, GROUP,
       "<img src=x onerror=alert(109)>")


@pytest.fixture(scope="module")
def live_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("live-hostile")
    k8s = tmp / "k8s"
    k8s.mkdir()
    (k8s / "app.yaml").write_text(json.dumps({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "namespace": NAMESPACE, "labels": {LABEL_KEY: "x", "app": LABEL_VALUE},
                     "annotations": {ANNOTATION_KEY: LABEL_VALUE}},
        "spec": {"containers": [{"name": "c", "image": "nginx", "securityContext": {"privileged": True}}]}}) +
        "\n---\n" + json.dumps({"apiVersion": "example.com/v1", "kind": KIND, "metadata": {"name": "x"}}))
    (k8s / BROKEN_FILE).write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: [\n")
    arm = tmp / "arm"
    arm.mkdir()
    (arm / "t.json").write_text(json.dumps({
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0", "resources": [{
            "type": "Microsoft.ContainerService/managedClusters", "apiVersion": "2024-05-01", "name": "aks-x",
            "location": "westeurope", "properties": {"dnsPrefix": "x", "disableLocalAccounts": EXPRESSION}}]}))
    out = {"audit": tmp / "out" / "report.html", "html": tmp / "out" / "pytest.html"}
    snapshots = tmp / "out" / "snapshots"
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "live", "namespace": NAMESPACE,
                                                           "labels": {LABEL_KEY: LABEL_VALUE}},
           "spec": {"containers": [{"name": "c", "image": "nginx", "securityContext": {"privileged": True}}]}}
    with FakeKubeAPI([pod], username=USERNAME) as api:
        kubeconfig = api.write_kubeconfig(tmp / "kubeconfig", context=CONTEXT)
        done = subprocess.run([sys.executable, "-m", "pytest", str(ROOT / "tests_compliance"), "-p", "no:cacheprovider",
                               "--k8s", str(k8s), "--arm", str(arm), "--arm-resource-group", GROUP,
                               "--kubeconfig", str(kubeconfig), "--kube-context", CONTEXT,
                               "--k8s-snapshot-dir", str(snapshots), "--audit-report", str(out["audit"]),
                               "--html", str(out["html"]), "--self-contained-html", "-rA"],
                              cwd=tmp, capture_output=True, text=True, timeout=300)
    return {"done": done, "out": out, "snapshots": snapshots, "tmp": tmp}


def test_live_inputs_reach_both_reports_as_text(live_run: dict[str, Any]) -> None:
    done = live_run["done"]
    assert done.returncode in (1, 2), done.stdout[-2000:] + done.stderr[-2000:]
    audit = live_run["out"]["audit"].read_text()
    pyhtml = live_run["out"]["html"].read_text()
    for name, page in (("audit", audit), ("pytest-html", pyhtml)):
        for raw in ALL:
            assert raw not in page, (name, raw)
    text = html.unescape(re.sub(r"<[^>]+>", " ", audit))
    for raw in (NAMESPACE, LABEL_VALUE, BROKEN_FILE, GROUP, "<img src=x onerror=alert(109)>", KIND, CONTEXT):
        assert raw in text, raw  # each reached the auditor report, as text
    assert CONTEXT in html.unescape(pyhtml) and NAMESPACE in html.unescape(pyhtml)


def test_a_context_name_never_steers_where_the_snapshot_is_written(live_run: dict[str, Any]) -> None:
    snapshots = list(live_run["snapshots"].iterdir())
    assert len(snapshots) == 1 and snapshots[0].parent == live_run["snapshots"]
    name = snapshots[0].name
    assert "/" not in name and "<" not in name and not name.startswith(".")
    written = [p for p in live_run["tmp"].rglob("*") if p.is_file() and "k8s-snapshot" in p.name]
    assert written == snapshots  # nothing outside the snapshot directory


def test_live_inputs_execute_nothing_in_the_browser(browser, live_run: dict[str, Any]) -> None:  # noqa: F811
    # pytest-html's own page has one handler of its own (a reload button's onclick): count the others
    probes = dict(PROBES, handlers=PROBES["handlers"].replace("[onclick],", ""))
    for key in ("audit", "html"):
        page = browser.check(live_run["out"][key], expressions=probes, settle=0.5)
        assert page.dialogs == [] and page.errors == [], (key, page.errors)
        assert page.values["handlers"] == 0 and page.values["js_links"] == 0, key
        assert NAMESPACE in page.values["text"], key
