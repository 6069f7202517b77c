"""Hostile inputs through the whole pipeline: markup shows as text in every report, secrets appear in none.

Markup enters through a resource name, a property value (evidence "actual"), a Kubernetes annotation, a
directory name (every file:line), a control parameter, waiver fields and an attestation's evidence link.
Secrets enter as a securestring parameter (parameter file and command line), a literal secret in a REST
export, a literal credential in a container's env, a Kubernetes Secret's data, and pytest-metadata. The
browser half (nothing executes) is in test_report_browser.py.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from aks_compliance.controls import load_catalog

from .conftest import ROOT

SUITE = str(ROOT / "tests_compliance")
EVIL_NAME = "<script>alert(1)</script>"
EVIL_VALUE = "<img src=x onerror=alert(2)>"
EVIL_DIR = "<svg onload=alert(5)>"
EVIL_PARAM = '"><b onmouseover=alert(3)>x'
EVIL_LINK = "javascript:alert(4)"
EVIL_ANNOTATION = "<iframe srcdoc=x onload=alert(6)>"
SECRETS = ("ParamFileS3cret-zq9", "CliS3cret-zq9", "RestLiteralS3cret-zq9", "EnvS3cret-zq9", "DefaultS3cret-zq9",
           "K8sLiteralS3cret-zq9", "K8sStringData-zq9", "SzhzU2VjcmV0RGF0YS16cTk=")  # the last: base64 Secret data

K8S = f"""\
apiVersion: v1
kind: Service
metadata:
  name: shop-lb
  namespace: shop
  annotations:
    service.beta.kubernetes.io/azure-load-balancer-internal: "{EVIL_ANNOTATION}"
spec:
  type: LoadBalancer
  ports: [{{port: 443}}]
---
apiVersion: v1
kind: Secret
metadata: {{name: db, namespace: shop}}
data: {{password: SzhzU2VjcmV0RGF0YS16cTk=}}
stringData: {{token: K8sStringData-zq9}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: shop}}
spec:
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - name: web
        image: myacr.azurecr.io/shop/web:1.4.2
        env:
        - {{name: DB_PASSWORD, value: K8sLiteralS3cret-zq9}}
        - name: API_TOKEN
          valueFrom: {{secretKeyRef: {{name: db, key: password}}}}
"""


def hostile_inputs(tmp: Path) -> tuple[Path, Path, Path]:
    inputs = tmp / "inputs" / EVIL_DIR
    inputs.mkdir(parents=True)
    template = {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "parameters": {
            "spSecret": {"type": "securestring"},
            "adminPassword": {"type": "securestring", "defaultValue": "DefaultS3cret-zq9"},
            "policy": {"type": "string", "defaultValue": EVIL_VALUE},
        },
        "resources": [{
            "type": "Microsoft.ContainerService/managedClusters", "apiVersion": "2024-05-01", "name": EVIL_NAME,
            "location": "westeurope", "tags": {"note": "<b>markup in a tag</b>"},
            "properties": {
                "dnsPrefix": "evil", "disableLocalAccounts": False,
                "networkProfile": {"networkPlugin": "azure", "networkPolicy": "[parameters('policy')]"},
                "servicePrincipalProfile": {"clientId": "11111111-2222-3333-4444-555555555555",
                                            "secret": "[parameters('spSecret')]"},
                "windowsProfile": {"adminUsername": "azureuser", "adminPassword": "[parameters('adminPassword')]"},
                "agentPoolProfiles": [{"name": "system", "mode": "System", "count": 3, "vmSize": "Standard_D4ds_v5"}],
            },
        }],
    }
    (inputs / "estate.json").write_text(json.dumps(template, indent=2))
    (inputs / "estate.parameters.json").write_text(json.dumps({
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#",
        "contentVersion": "1.0.0.0", "parameters": {"spSecret": {"value": "ParamFileS3cret-zq9"}}}))
    rest = {"id": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/"
                  "Microsoft.ContainerService/managedClusters/aks-rest",
            "name": "aks-rest", "type": "Microsoft.ContainerService/managedClusters", "location": "westeurope",
            "properties": {"disableLocalAccounts": False, "networkProfile": {"networkPolicy": "none"},
                           "servicePrincipalProfile": {"clientId": "abc", "secret": "RestLiteralS3cret-zq9"},
                           "agentPoolProfiles": [{"name": "p", "mode": "System", "count": 1}]}}
    (inputs / "rest.json").write_text(json.dumps(rest, indent=2))
    until = dt.date.today() + dt.timedelta(days=60)
    waivers = tmp / "waivers.yaml"
    waivers.write_text(yaml.safe_dump({"waivers": [{
        "id": EVIL_PARAM, "control": "AKS-002", "target": "<script>*", "justification": EVIL_VALUE,
        "approver": EVIL_NAME, "expires": until}]}))
    attestations = tmp / "attestations.yaml"
    manual = [c.id for c in load_catalog() if c.manual]
    attestations.write_text(yaml.safe_dump({"attestations": [{
        "control": m, "status": "passed", "owner": EVIL_NAME, "evidence": EVIL_LINK, "date": dt.date.today(),
        "expires": until} for m in manual[:1]]}))
    k8s = tmp / "k8s"
    k8s.mkdir()
    (k8s / "shop.yaml").write_text(K8S)
    return inputs.parent, waivers, attestations


def build_outputs(tmp: Path) -> dict[str, Path]:
    inputs, waivers, attestations = hostile_inputs(tmp)
    out = {k: tmp / "out" / f for k, f in (("json", "results.json"), ("audit", "report.html"), ("sarif", "r.sarif"),
                                           ("csv", "m.csv"), ("html", "pytest.html"), ("junit", "junit.xml"))}
    subprocess.run([
        sys.executable, "-m", "pytest", SUITE, "-p", "no:cacheprovider", "--arm", str(inputs), "--k8s", str(tmp / "k8s"),
        "--waivers", str(waivers),
        "--attestations", str(attestations), "--arm-param", "adminPassword=CliS3cret-zq9",
        "--control-param", f"AKS-134.exemptSubjects={json.dumps(['system:masters', EVIL_PARAM])}",  # any string is valid there
        "--results-json", str(out["json"]), "--audit-report", str(out["audit"]), "--sarif", str(out["sarif"]),
        "--csv", str(out["csv"]), "--html", str(out["html"]), "--self-contained-html", "--junitxml", str(out["junit"]),
        "--metadata", "AZURE_CLIENT_SECRET", "EnvS3cret-zq9"], cwd=tmp, capture_output=True, text=True, timeout=600)
    for k, p in out.items():
        assert p.exists(), k
    return out


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_outputs(tmp_path_factory.mktemp("hostile"))


def test_no_secret_reaches_any_output(outputs: dict[str, Path]) -> None:
    for kind, path in outputs.items():
        text = path.read_text(errors="replace")
        for secret in SECRETS:
            assert secret not in text, f"{secret} in {kind}"
    doc = json.loads(outputs["json"].read_text())
    assert doc["run"]["options"]["arm_param_names"] == ["adminPassword"]  # the name, never the value


def test_evidence_that_reads_secret_bearing_objects_is_redacted_in_every_report(tmp_path: Path) -> None:
    """A probe control compares whole objects holding secrets, so their values would be the evidence;
    the engine redacts them and no report shows them."""
    from aks_compliance.controls import Catalog, Control, Mappings, Severity
    from aks_compliance.engine import evaluate_all
    from aks_compliance.report.csv_matrix import write_csv
    from aks_compliance.report.html import write_report
    from aks_compliance.report.sarif import write_sarif
    from aks_compliance.results import results_document
    from aks_compliance.arm.inputs import ArmOptions
    from aks_compliance.scan import ScanOptions, run_scan

    inputs, _, _ = hostile_inputs(tmp_path)
    run = run_scan(ScanOptions(inputs=[ArmOptions(paths=[str(inputs)], parameters={"adminPassword": "CliS3cret-zq9"})]))
    mc = "Microsoft.ContainerService/managedClusters"
    probe = Control(id="AKS-999", title="probe", severity=Severity.HIGH, rationale="r", remediation="x",
                    mappings=Mappings(), section="test",
                    rule={"allOf": [{"field": f"{mc}/servicePrincipalProfile", "exists": False},
                                    {"field": f"{mc}/windowsProfile", "exists": False}]})
    results = evaluate_all(Catalog([probe]), run.targets)
    actuals = [e.actual for r in results for e in r.evidence]
    assert any('"secret": "<redacted>"' in a for a in actuals), actuals  # the object was read, its secret not
    assert any("adminPassword" in a for a in actuals)
    doc = results_document(tool_version="t", started=run.started, inputs=run.inputs,
                           controls=[probe.summary()], results=results)
    out = tmp_path / "out"
    out.mkdir()
    write_report(str(out / "r.html"), doc)
    write_sarif(str(out / "r.sarif"), doc)
    write_csv(str(out / "r.csv"), doc)
    (out / "r.json").write_text(json.dumps(doc))
    for path in out.iterdir():
        text = path.read_text()
        for secret in SECRETS:
            assert secret not in text, f"{secret} in {path.name}"


def test_markup_is_data_in_the_machine_formats(outputs: dict[str, Path]) -> None:
    doc = json.loads(outputs["json"].read_text())
    names = {r["target"]["name"] for r in doc["results"]}
    assert EVIL_NAME in names
    assert any(EVIL_DIR in (r["target"]["source"]["file"] or "") for r in doc["results"])
    assert any(EVIL_VALUE in e["actual"] for r in doc["results"] for e in r["evidence"])
    assert any(EVIL_ANNOTATION in e["actual"] for r in doc["results"] for e in r["evidence"])  # the annotation
    literal = [r for r in doc["results"] if r["control_id"] == "AKS-123" and r["outcome"] == "failed"]
    assert literal and any("DB_PASSWORD" in json.dumps(r) for r in literal)  # found and named, value kept out
    sarif = json.loads(outputs["sarif"].read_text())
    results = sarif["runs"][0]["results"]
    assert any(EVIL_NAME in r["message"]["text"] for r in results)
    assert all("markdown" not in r["message"] for r in results)  # shown as plain text by code scanning
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results]
    assert uris and all("<" not in u and " " not in u for u in uris)  # percent-encoded
    junit = ET.parse(outputs["junit"]).getroot()  # well-formed XML with the name as text
    assert any(p.get("value") == EVIL_NAME for p in junit.iter("property") if p.get("name") == "target")
    assert EVIL_NAME in outputs["csv"].read_text()


def test_markup_never_reaches_html_unescaped(outputs: dict[str, Path]) -> None:
    for kind in ("audit", "html"):
        page = outputs[kind].read_text()
        for raw in (EVIL_NAME, EVIL_VALUE, EVIL_DIR, EVIL_ANNOTATION, "<b onmouseover"):
            assert raw not in page, f"{raw} unescaped in {kind}"
    audit = outputs["audit"].read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in audit
    assert 'href="javascript' not in audit.lower()
