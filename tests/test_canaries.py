"""Canary secrets through every input family at once; no output may contain any of them.

One ``aks-compliance scan`` run (the CLI, a subprocess) reads:

* an ARM template with a securestring parameter whose default is a canary, a parameter file giving another
  securestring a canary value, the output of ``listKeys()`` (``{"keys": [{"value": ...}]}``) given to a
  secureObject parameter and to a plain object parameter, a storage SAS URL (``?sv=...&sig=<canary>``) as a
  parameter default that reaches a property the controls read, and another as a literal tag and diagnostic
  setting value; a canary as ``--arm-param`` on the command line;
* Kubernetes manifests with a Secret (``data`` and ``stringData`` canaries), pods whose env holds literal
  credentials (by name and by shape) and values taken from Secrets;
* a live cluster (tests/servers/k8s_server.py) through a kubeconfig whose user token is a canary (the
  server accepts only that token, so the collection proves it was used), serving pods with literal
  credentials, a SAS URL in env and a canary in the last-applied-configuration annotation, and a node whose
  kubelet configuration (configz) carries a canary in a static pod URL header;
* kube-bench's JSON output for a node whose audit output (the kubelet's command line) holds a bootstrap token
  and a client secret;

an Azure access token (a canary signature) and SAS URLs in live resources' tags for a live Azure collection, in process, with every log record
captured at DEBUG (the CLI collects in ``pytest_configure``, before pytest's log capture starts, so its
log outputs alone would prove nothing);

and writes every output: the terminal (stdout and stderr, with ``-o log_cli=true --log-level=DEBUG``), a
DEBUG log file, --results-json, --audit-report, --sarif, --csv, --junitxml, --html (pytest-html) and the
live cluster's snapshot (decompressed). No canary may appear in any of them, in plain text or base64.
"""

from __future__ import annotations

import base64
import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from .servers.k8s_server import FakeKubeAPI

EXE = str(Path(sys.executable).with_name("aks-compliance"))
CANARIES = {
    "securestring-param-file": "CNRYa1ParamFileSecureQx7",
    "securestring-default": "CNRYa2TemplateDefaultQx7",
    "cli-arm-param": "CNRYa3CommandLineQx7",
    "listkeys-secureobject": "CNRYa4ListKeysSecureObjQx7",
    "listkeys-plain-object": "CNRYa5ListKeysPlainObjQx7",
    "sas-param-default": "CNRYa6SasSigParamDefaultQx7",
    "sas-tag": "CNRYa7SasSigTagQx7",
    "sas-diagnostic-setting": "CNRYa8SasSigDiagQx7",
    "k8s-secret-data": "CNRYb1SecretDataQx7",
    "k8s-secret-stringdata": "CNRYb2SecretStringDataQx7",
    "k8s-env-literal-by-name": "CNRYb3EnvPasswordQx7",
    "k8s-env-literal-by-shape": "CNRYb4EnvAccountKeyQx7",
    "kubeconfig-token": "CNRYc1KubeconfigTokenQx7",
    "live-env-literal": "CNRYc2LiveEnvTokenQx7",
    "live-env-sas": "CNRYc3LiveEnvSasSigQx7",
    "live-last-applied": "CNRYc4LiveLastAppliedQx7",
    "azure-access-token": "CNRYd1AzureAccessTokenSignatureQx7",
    "azure-live-sas-tag": "CNRYd2AzureLiveSasTagQx7",
    # secure parameters on their error paths (a value ARM would reject is reported, never quoted)
    "securestring-wrong-type": "CNRYe1SecureWrongTypeQx7",
    "securestring-not-allowed": "CNRYe2SecureNotAllowedQx7",
    "secureobject-cli-string": "CNRYe3SecureObjectCliQx7",
    "secure-default-bad-expression": "CNRYe4SecureDefaultExprQx7",
    "nested-secure-wrong-type": "CNRYe5NestedSecureQx7",
    "secure-allowed-values": "CNRYe6SecureAllowedListQx7",
    # credential-shaped property values that controls read and show as evidence
    "bearer-token": "CNRYf1BearerTokenQx7abc123",
    "github-token": "CNRYf2GithubTokenQx7",
    "slack-token": "CNRYf3SlackTokenQx7",
    "slack-webhook": "CNRYf4SlackWebhookQx7",
    "quoted-password": "CNRYf5QuotedPasswordQx7",
    "teams-webhook": "CNRYf6TeamsWebhookQx7",
    # Kubernetes: annotations, ConfigMaps, a live annotation (scrubbed from the snapshot)
    "k8s-annotation-webhook": "CNRYg1AnnotationWebhookQx7",
    "k8s-configmap-connection": "CNRYg2ConfigMapConnQx7",
    "k8s-env-bearer": "CNRYg3EnvBearerQx7abc123",
    "live-annotation-webhook": "CNRYg4LiveAnnotationQx7",
    "configz-static-pod-header": "CNRYe1ConfigzHeaderQx7",
    "kube-bench-bootstrap-token": "cnrye2.kubebenchtokenqx7",
    "kube-bench-client-secret": "CNRYe3KubeBenchSecretQx7",
}


def sas(sig: str) -> str:
    return (f"https://stcanary.blob.core.windows.net/bootstrap/setup.sh?sv=2022-11-02&ss=b&srt=o&sp=r"
            f"&se=2030-01-01T00:00:00Z&spr=https&sig={sig}")


def forms(secret: str) -> list[str]:
    """A canary as it could leak: itself and base64 (Secret data)."""
    return [secret, base64.b64encode(secret.encode()).decode()]


def arm_inputs(folder: Path) -> None:
    c = CANARIES
    keys = {"keys": [{"keyName": "key1", "value": c["listkeys-secureobject"], "permissions": "FULL"}]}
    plain = {"keys": [{"keyName": "key1", "value": c["listkeys-plain-object"], "permissions": "FULL"}]}
    mc = "Microsoft.ContainerService/managedClusters"
    template = {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "parameters": {
            "spSecret": {"type": "securestring"},
            "adminPassword": {"type": "securestring", "defaultValue": c["securestring-default"]},
            "cliPassword": {"type": "securestring", "defaultValue": "placeholder-given-on-the-command-line"},
            "storageKeys": {"type": "secureObject"},
            "monitoringKeys": {"type": "object"},
            "networkPolicy": {"type": "string", "defaultValue": sas(c["sas-param-default"])},
        },
        "resources": [
            {"type": mc, "apiVersion": "2024-05-01", "name": "aks-canary", "location": "westeurope",
             "tags": {"bootstrap": sas(c["sas-tag"])},
             "properties": {
                 "dnsPrefix": "canary", "disableLocalAccounts": False, "kubernetesVersion": "1.30.5",
                 "networkProfile": {"networkPlugin": "azure", "networkPolicy": "[parameters('networkPolicy')]"},
                 "servicePrincipalProfile": {"clientId": "11111111-2222-3333-4444-555555555555",
                                             "secret": "[parameters('spSecret')]"},
                 "windowsProfile": {"adminUsername": "azureuser", "adminPassword": "[parameters('adminPassword')]"},
                 "linuxProfile": {"adminUsername": "[parameters('cliPassword')]",
                                  "ssh": {"publicKeys": [{"keyData": "[string(parameters('storageKeys'))]"}]}},
                 "addonProfiles": {"omsagent": {"enabled": True, "config": {
                     "logAnalyticsWorkspaceResourceID": "/subscriptions/s/resourceGroups/g/providers/"
                                                        "Microsoft.OperationalInsights/workspaces/la"}}},
                 "agentPoolProfiles": [{"name": "system", "mode": "System", "count": 3, "vmSize": "Standard_D4ds_v5"}],
             }},
            # a listKeys()-shaped object as an add-on config: config is map[string]string, so AKS rejects it and
            # every control is an error whose message names the value's type, never the value (arm-semantics-11:
            # it sat in aks-canary, which is now judged on its own)
            {"type": mc, "apiVersion": "2024-05-01", "name": "aks-monitoring-keys", "location": "westeurope",
             "properties": {
                 "dnsPrefix": "keys", "addonProfiles": {"omsagent": {"enabled": True,
                                                                    "config": "[parameters('monitoringKeys')]"}},
                 "agentPoolProfiles": [{"name": "system", "mode": "System", "count": 3, "vmSize": "Standard_D4ds_v5"}],
             }},
            {"type": "Microsoft.Insights/diagnosticSettings", "apiVersion": "2021-05-01-preview", "name": "audit",
             "scope": f"[resourceId('{mc}', 'aks-canary')]",
             "properties": {"storageAccountId": sas(c["sas-diagnostic-setting"]),
                            "logs": [{"category": "kube-audit", "enabled": True}]}},
        ],
    }
    (folder / "cluster.json").write_text(json.dumps(template, indent=2))
    secure_errors(folder)
    credential_shapes(folder)
    (folder / "cluster.parameters.json").write_text(json.dumps({
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#",
        "contentVersion": "1.0.0.0",
        "parameters": {"spSecret": {"value": c["securestring-param-file"]}, "storageKeys": {"value": keys},
                       "monitoringKeys": {"value": plain}}}, indent=2))


PARAMS_SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#"
TEMPLATE_SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"


def secure_errors(folder: Path) -> None:
    """Secure parameters given values ARM would reject, from a parameter file, the command line (see
    ``run``), a default expression that fails and a nested deployment; each is an error naming the parameter."""
    c = CANARIES
    mc = "Microsoft.ContainerService/managedClusters"
    inner = {"$schema": TEMPLATE_SCHEMA, "contentVersion": "1.0.0.0",
             "parameters": {"innerSecret": {"type": "securestring"}},
             "resources": [{"type": mc, "apiVersion": "2024-05-01", "name": "aks-inner", "location": "westeurope",
                            "properties": {"dnsPrefix": "[parameters('innerSecret')]", "disableLocalAccounts": True}}]}
    template = {
        "$schema": TEMPLATE_SCHEMA, "contentVersion": "1.0.0.0",
        "parameters": {
            "wrongType": {"type": "securestring"},
            "notAllowed": {"type": "securestring", "allowedValues": ["a", "b"]},
            "allowedList": {"type": "securestring", "allowedValues": [c["secure-allowed-values"]]},
            "cliObject": {"type": "secureObject", "defaultValue": {}},
            "badDefault": {"type": "securestring",
                           "defaultValue": f"[int(concat('x', '{c['secure-default-bad-expression']}'))]"},
        },
        "resources": [
            {"type": mc, "apiVersion": "2024-05-01", "name": "aks-secure-errors", "location": "westeurope",
             "properties": {"dnsPrefix": "[concat(parameters('wrongType'), parameters('notAllowed'), "
                                         "parameters('allowedList'), parameters('badDefault'))]",
                            "linuxProfile": {"adminUsername": "[string(parameters('cliObject'))]"},
                            "disableLocalAccounts": False}},
            {"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "inner",
             "properties": {"mode": "Incremental", "expressionEvaluationOptions": {"scope": "inner"},
                            "parameters": {"innerSecret": {"value": {"leak": c["nested-secure-wrong-type"]}}},
                            "template": inner}},
        ],
    }
    (folder / "secure-errors.json").write_text(json.dumps(template, indent=2))
    (folder / "secure-errors.parameters.json").write_text(json.dumps({
        "$schema": PARAMS_SCHEMA, "contentVersion": "1.0.0.0",
        "parameters": {"wrongType": {"value": {"password": c["securestring-wrong-type"]}},
                       "notAllowed": {"value": c["securestring-not-allowed"]},
                       "allowedList": {"value": "not-the-listed-one"}}}, indent=2))


def credential_shapes(folder: Path) -> None:
    """Plain string properties holding credentials, read by controls (so shown as evidence, redacted)."""
    c = CANARIES
    body = {"kubernetesVersion": f"https://hooks.slack.com/services/T0000/B0000/{c['slack-webhook']}",
            "dnsPrefix": f"Server=tcp:db;Password='{c['quoted-password']} x';Encrypt=true",
            "disableLocalAccounts": False,
            "networkProfile": {"networkPlugin": f"Bearer {c['bearer-token']}",
                               "networkPolicy": f"ghp_{c['github-token']}abcdefghijklmnop",
                               "outboundType": f"xoxb-1234-{c['slack-token']}",
                               "loadBalancerSku": "https://contoso.webhook.office.com/webhookb2/a@b/IncomingWebhook/"
                                                  f"{c['teams-webhook']}/guid"}}
    (folder / "shapes.json").write_text(json.dumps({
        "id": "/subscriptions/0/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks-shapes",
        "name": "aks-shapes", "type": "Microsoft.ContainerService/managedClusters", "location": "westeurope",
        "properties": body}, indent=2))


def k8s_manifests(folder: Path) -> None:
    c = CANARIES
    data = base64.b64encode(c["k8s-secret-data"].encode()).decode()
    (folder / "app.yaml").write_text(f"""\
apiVersion: v1
kind: Secret
metadata: {{name: db, namespace: shop}}
type: Opaque
data: {{password: {data}}}
stringData: {{token: {c["k8s-secret-stringdata"]}}}
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
        - {{name: DB_PASSWORD, value: {c["k8s-env-literal-by-name"]}}}
        - {{name: STORAGE, value: "DefaultEndpointsProtocol=https;AccountName=st;AccountKey={c["k8s-env-literal-by-shape"]}=="}}
        - name: API_TOKEN
          valueFrom: {{secretKeyRef: {{name: db, key: password}}}}
        - {{name: UPSTREAM_AUTH, value: "Bearer {c["k8s-env-bearer"]}"}}
        envFrom:
        - secretRef: {{name: db}}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: shop
  annotations: {{alerts: "https://hooks.slack.com/services/T1/B1/{c["k8s-annotation-webhook"]}"}}
data: {{db: "Server=db;Password='{c["k8s-configmap-connection"]}';"}}
---
apiVersion: v1
kind: Pod
metadata:
  name: annotated
  namespace: shop
  annotations: {{notify: "https://hooks.slack.com/services/T1/B1/{c["k8s-annotation-webhook"]}"}}
spec:
  containers:
  - {{name: app, image: myacr.azurecr.io/shop/app:1.0, securityContext: {{privileged: true}}}}
""")


def kube_bench_input(folder: Path) -> None:
    c = CANARIES
    line = (f"root 2812 1 4 Nov28 ? 01:12:40 /usr/local/bin/kubelet --bootstrap-token={c['kube-bench-bootstrap-token']} "
            f"--client-secret={c['kube-bench-client-secret']} --anonymous-auth=false")
    check = {"test_number": "3.2.1", "test_desc": "Ensure that the --anonymous-auth argument is set to false (Automated)",
             "audit": "/bin/ps -fC kubelet", "AuditConfig": "", "type": "", "remediation": "...", "test_info": ["..."],
             "status": "PASS", "actual_value": line, "scored": True, "expected_result": "'--anonymous-auth' is equal to 'false'"}
    doc = {"Controls": [{"id": "3", "version": "aks-1.8", "text": "Worker Node Security Configuration", "node_type": "node",
                         "tests": [{"section": "3.2", "desc": "Kubelet", "pass": 1, "fail": 0, "warn": 0, "info": 0,
                                    "results": [check]}], "total_pass": 1, "total_fail": 0, "total_warn": 0,
                         "total_info": 0}], "Totals": {"total_pass": 1, "total_fail": 0, "total_warn": 0, "total_info": 0}}
    (folder / "aks-canary-12345678-vmss000000.json").write_text(json.dumps(doc, indent=1))


NODE = "aks-canary-12345678-vmss000000"
CONFIGZ = {NODE: {"authentication": {"anonymous": {"enabled": False}, "x509": {"clientCAFile": "/etc/kubernetes/certs/ca.crt"}},
                  "authorization": {"mode": "Webhook"}, "streamingConnectionIdleTimeout": "4h0m0s",
                  "makeIPTablesUtilChains": True, "eventRecordQPS": 0, "rotateCertificates": True,
                  "staticPodURL": "https://config.example/pods",
                  "staticPodURLHeader": {"Authorization": [f"Bearer {CANARIES['configz-static-pod-header']}"]}}}


def live_objects() -> list[dict]:
    c = CANARIES
    last_applied = json.dumps({"kind": "Pod", "spec": {"env": [{"name": "TOKEN", "value": c["live-last-applied"]}]}})
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
        {"apiVersion": "v1", "kind": "Node", "metadata": {"name": NODE, "labels": {"kubernetes.azure.com/agentpool": "canary"}},
         "status": {"nodeInfo": {"kubeletVersion": "v1.30.5"}}},
        {"apiVersion": "v1", "kind": "Pod",
         "metadata": {"name": "api", "namespace": "shop",
                      "annotations": {"kubectl.kubernetes.io/last-applied-configuration": last_applied,
                                      "alerts": "https://hooks.slack.com/services/T2/B2/"
                                                + c["live-annotation-webhook"]}},
         "spec": {"containers": [{"name": "api", "image": "myacr.azurecr.io/shop/api:2.0",
                                  "env": [{"name": "SERVICE_TOKEN", "value": c["live-env-literal"]},
                                          {"name": "BLOB", "value": sas(c["live-env-sas"])},
                                          {"name": "FROM_SECRET", "valueFrom": {"secretKeyRef": {"name": "db",
                                                                                                 "key": "password"}}}],
                                  "securityContext": {"privileged": True}}]}},
    ]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("canaries")
    (tmp / "arm").mkdir()
    (tmp / "k8s").mkdir()
    (tmp / "kube-bench").mkdir()
    arm_inputs(tmp / "arm")
    k8s_manifests(tmp / "k8s")
    kube_bench_input(tmp / "kube-bench")
    out = tmp / "out"
    files = {k: out / f for k, f in (("results-json", "results.json"), ("audit-report", "report.html"),
                                     ("sarif", "results.sarif"), ("csv", "matrix.csv"), ("junitxml", "junit.xml"),
                                     ("pytest-html", "pytest.html"), ("log-file", "debug.log"))}
    with FakeKubeAPI(live_objects(), token=CANARIES["kubeconfig-token"], configz=CONFIGZ) as api:
        kubeconfig = api.write_kubeconfig(tmp / "kubeconfig", context="aks-live")
        done = subprocess.run(
            [EXE, "scan", "--arm", str(tmp / "arm"), "--k8s", str(tmp / "k8s"), "--kube-bench", str(tmp / "kube-bench"),
             "--kubeconfig", str(kubeconfig), "--kube-context", "aks-live", "--k8s-snapshot-dir", str(out / "snapshots"),
             "--arm-param", f"cliPassword={CANARIES['cli-arm-param']}",
             "--arm-param", f"cliObject={CANARIES['secureobject-cli-string']}",
             "--results-json", str(files["results-json"]), "--audit-report", str(files["audit-report"]),
             "--sarif", str(files["sarif"]), "--csv", str(files["csv"]), "--junitxml", str(files["junitxml"]),
             "--html", str(files["pytest-html"]), "--self-contained-html",
             "-o", "log_cli=true", "--log-level=DEBUG", "--log-file", str(files["log-file"]),
             "--log-file-level=DEBUG", "-rA"],
            cwd=tmp, capture_output=True, text=True, timeout=300)
        authorized = [r for r in api.requests if r.authorization == f"Bearer {CANARIES['kubeconfig-token']}"]
    snapshots = sorted((out / "snapshots").glob("*.json.gz"))
    texts = {"terminal": done.stdout + "\n" + done.stderr}
    for kind, path in files.items():
        texts[kind] = path.read_text(errors="replace") if path.exists() else ""
    for snap in snapshots:
        texts[f"snapshot {snap.name}"] = gzip.open(snap, "rt").read()
    return {"done": done, "files": files, "texts": texts, "snapshots": snapshots, "authorized": len(authorized),
            "tmp": tmp}


def test_the_run_read_every_input_and_wrote_every_output(run: dict) -> None:
    done = run["done"]
    assert done.returncode in (1, 2), done.stdout[-3000:] + done.stderr[-3000:]
    for kind, path in run["files"].items():  # the log file may be empty: see the in-process log test
        assert path.exists() and (path.stat().st_size > 0 or kind == "log-file"), kind
    assert len(run["snapshots"]) == 1
    assert run["authorized"] > 20, "the live collection authenticated with the canary token"
    doc = json.loads(run["texts"]["results-json"])
    judged = {(r["control_id"], r["target"]["name"], r["outcome"]) for r in doc["results"]}
    # the canaries' carriers were read and judged, so a leak had its chance
    assert ("AKS-123", "shop/web", "failed") in judged and ("AKS-123", "shop/api", "failed") in judged
    assert ("AKS-005", "aks-canary", "failed") in judged  # evidence: the network policy, a SAS URL
    # its listKeys() config was read and refused (the error names the path, never the value)
    assert "/resources/1/properties/addonProfiles/omsagent/config/keys" in run["texts"]["terminal"]
    assert ("AKS-005", "aks-monitoring-keys", "error") in judged
    evidence = [e["actual"] for r in doc["results"] if r["control_id"] == "AKS-005" for e in r["evidence"]]
    assert any("&sig=<redacted>" in a for a in evidence), evidence
    snap = run["texts"][f"snapshot {run['snapshots'][0].name}"]
    assert '"name":"api"' in snap and "SERVICE_TOKEN" in snap
    assert "hooks.slack.com/services/<redacted>" in snap  # the live annotation was kept, redacted
    # the secure parameters' error paths were taken: each named, none quoted
    messages = " ".join(d.get("message", "") for d in doc.get("diagnostics", doc.get("errors", [])) if isinstance(d, dict))
    messages += run["texts"]["terminal"]
    for name in ("wrongType", "notAllowed", "allowedList", "cliObject", "badDefault", "innerSecret"):
        assert f"secure parameter '{name}'" in messages, name
    shapes = [e["actual"] for r in doc["results"] if r["target"]["name"] == "aks-shapes" for e in r["evidence"]]
    assert sum("redacted" in a for a in shapes) >= 4, shapes
    assert '"kind":"KubeletConfigz"' in snap and '"staticPodURLHeader":{"Authorization":["<redacted>"]}' in snap
    assert ("AKS-180", NODE, "passed") in judged  # kube-bench's check (its audit output carried the canaries)
    assert any(r["control_id"] == "AKS-180" and r["target"]["type"] == "Node" for r in doc["results"])


@pytest.mark.parametrize("output", ["terminal", "log-file", "results-json", "audit-report", "sarif", "csv",
                                    "junitxml", "pytest-html", "snapshot"])
def test_no_canary_in(run: dict, output: str) -> None:
    texts = {k: v for k, v in run["texts"].items() if k == output or k.startswith(output + " ")}
    assert texts, output
    leaks = [(where, name) for where, text in texts.items() for name, secret in CANARIES.items()
             for form in forms(secret) if form in text]
    assert not leaks, leaks


def test_no_canary_anywhere_the_run_wrote(run: dict) -> None:
    """Every file under the run's directory except the inputs (reports, snapshots, logs, caches)."""
    tmp: Path = run["tmp"]
    inputs = {tmp / "arm", tmp / "k8s", tmp / "kube-bench", tmp / "kubeconfig"}
    leaks = []
    for path in tmp.rglob("*"):
        if not path.is_file() or any(path == i or i in path.parents for i in inputs):
            continue
        data = path.read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        for name, secret in CANARIES.items():
            if any(f.encode() in data for f in forms(secret)):
                leaks.append((str(path.relative_to(tmp)), name))
    assert not leaks, leaks


def test_no_canary_in_the_debug_logs_of_live_collections(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import logging

    from aks_compliance.k8s.collector import collect_snapshot

    from .azure_estate import StaticCredential, TOKEN, collect as azure_collect, estate_server, no_proxy

    no_proxy(monkeypatch)
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = Keep(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    token = TOKEN.rsplit(".", 1)[0] + "." + CANARIES["azure-access-token"]
    try:
        with FakeKubeAPI(live_objects(), token=CANARIES["kubeconfig-token"], configz=CONFIGZ) as api:
            kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig", context="aks-live")
            collect_snapshot(tmp_path / "k8s.json.gz", kubeconfig=str(kubeconfig), context="aks-live")
        with estate_server(token=token) as server:
            for body in server.store.items.values():  # a live cluster tagged with a SAS URL
                if body["type"].lower().endswith("/managedclusters"):
                    body.setdefault("tags", {})["bootstrap"] = sas(CANARIES["azure-live-sas-tag"])
            meta = azure_collect(server, tmp_path / "azure.json.gz", credential=StaticCredential(token))
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    assert meta["complete"] and meta["identity"]["object_id"], meta  # the token was used (claims read)
    assert meta["redacted_values"] >= 3  # the tagged SAS URLs
    text = "\n".join(records)
    assert "urllib3.connectionpool DEBUG" in text and "/api/v1/pods" in text  # the logs are real
    assert "azure.core.pipeline.policies.http_logging_policy" in text and "Authorization" in text
    snapshots = gzip.open(tmp_path / "k8s.json.gz", "rt").read() + gzip.open(tmp_path / "azure.json.gz", "rt").read()
    leaks = [(where, name) for where, blob in (("logs", text), ("snapshots", snapshots))
             for name, secret in CANARIES.items() for form in forms(secret) if form in blob]
    assert not leaks, leaks
