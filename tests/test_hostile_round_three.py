"""Hostile input, round three (issue 19): variations of the classes rounds one and two cover.

Each test names the Kubernetes, ARM or output semantics it builds on; all are bounded by construction (small
inputs, no timers).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from .test_bad_inputs_k8s import _scan_beside_good

# -- a scalar of the wrong JSON type is an error, never a pass ---------------------------------------------
# The API server decodes manifests strictly into typed Go structs: a string where a bool belongs
# (`privileged: "true"`), a number where a string belongs (`image: 5`, the classic unquoted env value) or a list
# where a resource.Quantity belongs is rejected ("json: cannot unmarshal string into Go struct field
# SecurityContext.spec.containers.securityContext.privileged of type bool"): such an object never runs. Read as
# "not true", `privileged: "true"` passed AKS-100 and `hostPID: 1` passed AKS-101.
POD = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec:\n"
C = "  containers:\n  - name: c\n    image: nginx:1.25\n"

SCALAR_CASES = [
    (POD + C + "    securityContext: {privileged: 'true'}\n",
     "spec.containers[0].securityContext.privileged must be a boolean", "a string"),
    (POD + "  hostPID: 1\n" + C, "spec.hostPID must be a boolean", "a number"),
    (POD + "  hostNetwork: 'yes'\n" + C, "spec.hostNetwork must be a boolean", "a string"),
    (POD + "  automountServiceAccountToken: 'false'\n" + C, "spec.automountServiceAccountToken must be a boolean",
     "a string"),
    (POD + "  securityContext: {runAsUser: '0'}\n" + C, "spec.securityContext.runAsUser must be an integer",
     "a string"),
    (POD + C + "    securityContext: {allowPrivilegeEscalation: 1}\n",
     "spec.containers[0].securityContext.allowPrivilegeEscalation must be a boolean", "a number"),
    (POD + C + "    securityContext: {capabilities: {add: [[SYS_ADMIN]]}}\n",
     "spec.containers[0].securityContext.capabilities.add[0] must be a string", "an array"),
    (POD + C + "    resources: {limits: {cpu: [1], memory: 1Gi}}\n",
     "spec.containers[0].resources.limits.cpu must be a non-negative resource quantity (such as 500m, 128Mi or 1.5)",
     "an array"),
    (POD + C + "    env: [{name: API_TOKEN, value: {a: b}}]\n", "spec.containers[0].env[0].value must be a string",
     "an object"),
    (POD + C + "    ports: [{containerPort: 80, hostPort: '80'}]\n",
     "spec.containers[0].ports[0].hostPort must be an integer", "a string"),
    (POD + "  containers:\n  - name: c\n    image: [nginx:latest]\n", "spec.containers[0].image must be a string",
     "an array"),
    (POD + C + "  volumes: [{name: v, hostPath: {path: {a: /}}}]\n", "spec.volumes[0].hostPath.path must be a string",
     "an object"),
    ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: shop}\n"
     "spec: {template: {spec: {containers: [{name: c, image: x, securityContext: {readOnlyRootFilesystem: 'true'}}]}}}\n",
     "spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem must be a boolean", "a string"),
    ("apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: default, namespace: shop}\n"
     "automountServiceAccountToken: 'false'\n", "automountServiceAccountToken must be a boolean", "a string"),    # label and annotation values are strings (ObjectMeta map[string]string): `version: 1.0` unquoted is the
    # classic manifest that kubectl refuses
    ("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop, labels: {app: web, version: 1.0}}\nspec:\n" + C,
     "metadata.labels.version must be a string", "a number"),
    ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: shop}\n"
     "spec: {template: {metadata: {annotations: {sidecar: true}}, spec: {containers: [{name: c, image: x}]}}}\n",
     "spec.template.metadata.annotations.sidecar must be a string", "a boolean"),
]


@pytest.mark.parametrize("manifest,message,found", SCALAR_CASES, ids=[m for _, m, _ in SCALAR_CASES])
def test_a_scalar_of_a_type_the_api_server_rejects_is_an_error_for_every_control(
        tmp_path: Path, manifest: str, message: str, found: str) -> None:
    run = _scan_beside_good(tmp_path, "bad.yaml", manifest)
    name = manifest.split("name: ", 1)[1].split(",", 1)[0]
    mine = [r for r in run.results if r.target.file.endswith("bad.yaml") and r.target.name == f"shop/{name}"]
    assert mine and {r.outcome.value for r in mine} == {"error"}, \
        sorted({(r.control_id, r.outcome.value) for r in mine})
    assert all(f"{message} (the REST API rejects anything else), found {found}" in r.reason for r in mine), \
        mine[0].reason


def test_scalars_of_their_own_types_are_judged(tmp_path: Path) -> None:
    """The forms the API server takes: quantities as strings or numbers (`cpu: 0.5`, `memory: 128Mi`),
    integers, booleans, and null (absent)."""
    manifest = (POD + "  hostPID: false\n  automountServiceAccountToken: null\n  securityContext: {runAsUser: 1000}\n"
                + C + "    securityContext: {privileged: false, capabilities: {drop: [ALL]}}\n"
                "    resources: {limits: {cpu: 0.5, memory: 128Mi}, requests: {cpu: 0.25}}\n"
                "    env: [{name: A, value: '5'}, {name: B}]\n    ports: [{containerPort: 80}]\n")
    run = _scan_beside_good(tmp_path, "ok.yaml", manifest)
    mine = [r for r in run.results if r.target.file.endswith("ok.yaml") and r.control_id]
    assert mine and not [r.reason for r in mine if r.outcome.value == "error"]


# -- a secure output is a secret ---------------------------------------------------------------------------
# Outputs of type securestring/secureObject are not returned with a deployment's outputs (ARM keeps them out of
# the deployment history; `listOutputsWithSecureValues` is an explicit, authorised call): a nested deployment's
# secure output read through reference() was shown as evidence, with the secret it carries.
CANARY = "CNRYround3SecureOutputQx5"


def _arm(tmp_path: Path, t: dict, **options: object):
    import json

    from .conftest import scan
    (tmp_path / "t.json").write_text(json.dumps(t, indent=1))
    run = scan(tmp_path / "t.json", **options)
    return run, json.dumps(run.document(), ensure_ascii=False) + "".join(str(d) for d in run.diagnostics)


def _template(resources: list, **extra: object) -> dict:
    return {"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
            "contentVersion": "1.0.0.0", "resources": resources, **extra}


def _cluster(name: str, **props: object) -> dict:
    return {"type": "Microsoft.ContainerService/managedClusters", "apiVersion": "2024-05-01", "name": name,
            "location": "westeurope", "properties": props}


@pytest.mark.parametrize("otype", ["securestring", "secureObject", "SecureString"])
def test_a_secure_output_of_a_nested_deployment_is_never_read(tmp_path: Path, otype: str) -> None:
    value = f"[parameters('p')]" if otype.lower() == "securestring" else {"k": "[parameters('p')]"}
    inner = _template([], parameters={"p": {"type": "string"}},
                      outputs={"o": {"type": otype, "value": value}, "plain": {"type": "string", "value": "1.30.5"}})
    t = _template([
        {"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "inner",
         "properties": {"mode": "Incremental", "expressionEvaluationOptions": {"scope": "inner"},
                        "parameters": {"p": {"value": CANARY}}, "template": inner}},
        _cluster("aks-out", kubernetesVersion="[reference('inner').outputs.plain.value]",
                 networkProfile={"networkPlugin": "[string(reference('inner').outputs.o.value)]"},
                 disableLocalAccounts=True)])
    run, said = _arm(tmp_path, t)
    assert CANARY not in said
    shown = [e.actual for r in run.results for e in r.evidence if e.path.endswith("networkPlugin")]
    assert shown and all("secure output 'o' of nested deployment 'inner' is not read" in a for a in shown), shown
    assert any(e.actual == '"1.30.5"' for r in run.results for e in r.evidence
               if e.path.endswith("kubernetesVersion"))  # plain outputs are still read


# -- command-line values: JSON has no NaN or Infinity -------------------------------------------------------
# `--arm-param NAME=VALUE` reads VALUE as JSON when it parses, else as a string. Python's reader takes NaN,
# Infinity and 1e999 (a float infinity), which JSON (RFC 8259, section 6) does not have: `p=NaN` was the float
# nan, so a string parameter named NaN was "expected a string, got 'nan'" and an object held Infinity.
@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity", '{"a": NaN}', "[1e999]", "9" * 5000],
                         ids=["nan", "inf", "-inf", "nested-nan", "1e999", "5000-digits"])
def test_an_option_value_that_is_not_json_is_the_string(text: str) -> None:
    from aks_compliance.option_values import parse_value
    assert parse_value(text) == text


def test_option_values_that_are_json_are_read_as_json() -> None:
    from aks_compliance.option_values import parse_value
    assert parse_value('{"a": [1, 2.5, -3e2, true, null]}') == {"a": [1, 2.5, -300.0, True, None]}
    assert parse_value("12") == 12 and parse_value('"x"') == "x" and parse_value("1.30.5") == "1.30.5"


# -- an int parameter takes what ARM takes ------------------------------------------------------------------
# ARM integers are 64-bit; a value that is not an integer (`--5`, the superscript `²` Python's isdigit accepts, a
# number of 6,000 digits) is a type error naming the parameter, not Python's "invalid literal for int()".
@pytest.mark.parametrize("value", ["--5", "\u00b2", "9" * 6000, 2 ** 63, "9223372036854775808", 1.5],
                         ids=["dashes", "superscript", "6000-digits", "int-2^63", "text-2^63", "float"])
def test_an_int_parameter_out_of_range_or_not_an_integer_is_a_type_error(tmp_path: Path, value: object) -> None:
    t = _template([_cluster("aks-int", kubernetesVersion="[string(parameters('n'))]", disableLocalAccounts=True)],
                  parameters={"n": {"type": "int"}})
    run, said = _arm(tmp_path, t, parameters={"n": value})
    messages = [d.message for d in run.diagnostics]
    assert any("parameter 'n' from --arm-param: expected an integer" in m for m in messages), messages
    assert "invalid literal" not in said and "int_max_str_digits" not in said


@pytest.mark.parametrize("value,expected", [("-5", -5), (" 42 ", 42), (-(2 ** 63), -(2 ** 63)), ("7", 7)])
def test_an_int_parameter_given_as_digits_is_read(tmp_path: Path, value: object, expected: int) -> None:
    t = _template([_cluster("aks-int", kubernetesVersion="[string(parameters('n'))]", disableLocalAccounts=True)],
                  parameters={"n": {"type": "int"}})
    run, _ = _arm(tmp_path, t, parameters={"n": value})
    assert not run.diagnostics
    assert run.targets[0].body["properties"]["kubernetesVersion"] == str(expected)


# -- a plain parameter named like a secret ------------------------------------------------------------------
# The names that say "secret" are one list (redaction.py): `dbPwd`, `apiKey`, `sshPrivateKeyData`, `sasUrl` hold
# credentials as surely as `adminPassword` does; a value ARM would reject is described by its type alone.
@pytest.mark.parametrize("name", ["dbPwd", "apiKeyValue", "sshPrivateKeyData", "clientCertPassword", "storageSasUrl",
                                  "githubPat", "authHeader"])
def test_a_parameter_named_like_any_secret_is_not_quoted(tmp_path: Path, name: str) -> None:
    t = _template([_cluster("aks-n", kubernetesVersion=f"[string(parameters('{name}'))]", disableLocalAccounts=True)],
                  parameters={name: {"type": "int"}})
    run, said = _arm(tmp_path, t, parameters={name: CANARY})
    assert any(f"parameter '{name}'" in d.message and "expected an integer" in d.message for d in run.diagnostics)
    assert CANARY not in said


# -- characters that act, in every report --------------------------------------------------------------------
# The terminal and the CSV escaped control characters and bidi overrides from names; the HTML report, SARIF and
# JUnit XML wrote them raw: a right-to-left override in a file or resource name reverses what an auditor reads
# ("Trojan Source", CVE-2021-42574), NUL and ESC have no place in HTML (a parse error) or XML 1.0.
ACTING = ["\x1b", "\x07", "\x00", "\x0b", "\x85", "\u202e", "\u2066", "\u200f"]


def test_characters_that_act_reach_no_report_raw(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys
    hostile = "x\x1b[2J\x07\u202eevil\x00\x0b\x85\u2066\u200fz"
    inputs = tmp_path / "in"
    inputs.mkdir()
    for name, body in ((f"aks-{hostile}", {"kubernetesVersion": f"1.2{hostile}", "disableLocalAccounts": False}),
                       ("aks-plain", {"kubernetesVersion": "1.28.0", "disableLocalAccounts": False})):
        file = inputs / (f"t{hostile.replace(chr(0), '')}.json" if name != "aks-plain" else "plain.json")
        file.write_text(json.dumps(_template([_cluster(name, **body)])))
    (inputs / f"broken{hostile.replace(chr(0), '')}.json").write_text("{broken")
    out = tmp_path / "out"
    exe = str(Path(sys.executable).with_name("aks-compliance"))
    proc = subprocess.run([exe, "scan", "--arm", str(inputs), "--controls", "AKS-002,AKS-038", "-p", "no:cacheprovider",
                           "--results-json", str(out / "r.json"), "--audit-report", str(out / "r.html"),
                           "--sarif", str(out / "r.sarif"), "--csv", str(out / "r.csv"),
                           "--junitxml", str(out / "j.xml")], capture_output=True, timeout=300)
    assert proc.returncode == 2, (proc.stdout + proc.stderr).decode(errors="replace")[-2000:]
    for report in ("r.html", "r.sarif", "r.csv", "j.xml"):
        text = (out / report).read_text(encoding="utf-8")
        assert "\\u202e" in text or "\\u202E" in text, report  # shown, escaped
        texts = [text]
        if report == "r.sarif":  # JSON: what a reader decodes, too
            texts.append(json.dumps(json.loads(text), ensure_ascii=False))
        for t in texts:
            raw = sorted({repr(c) for c in ACTING if c in t})
            assert not raw, (report, raw)
    import xml.dom.minidom
    xml.dom.minidom.parse(str(out / "j.xml"))
    json.loads((out / "r.json").read_text())  # the results JSON keeps the data as it is (escaped by JSON)


@given(st.text(alphabet=st.characters(codec=None, min_codepoint=0, max_codepoint=0x2100) | st.sampled_from(
    ["\x1b", "\x00", "\x7f", "\x85", "\u202e", "\u2066", "\ud800", "\t", "\n"]), max_size=40))
@settings(max_examples=400, deadline=None)
def test_escape_controls_leaves_no_unsafe_character_and_changes_nothing_else(text: str) -> None:
    from aks_compliance.textsafe import _UNSAFE, escape_controls
    shown = escape_controls(text)
    assert not _UNSAFE.search(shown)
    assert (shown == text) == (not _UNSAFE.search(text))


def test_dates_and_binary_in_a_manifest_are_the_strings_kubernetes_reads(tmp_path: Path) -> None:
    # sigs.k8s.io/yaml decodes YAML with go-yaml v2, which keeps a timestamp-like scalar as its text and a !!binary
    # scalar as the text it encodes: these labels are valid strings, not errors (an unquoted number is not)
    from aks_compliance.k8s.manifests import parse_yaml_stream
    manifest = ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: shop\n"
                "  labels: {released: 2024-01-01, at: 2024-01-01T10:00:00Z, who: !!binary aGVsbG8=}\nspec:\n" + C)
    docs, _ = parse_yaml_stream(manifest, "p.yaml")
    assert docs[0][1]["metadata"]["labels"] == {"released": "2024-01-01", "at": "2024-01-01T10:00:00Z", "who": "hello"}
    run = _scan_beside_good(tmp_path, "p.yaml", manifest)
    mine = [r for r in run.results if r.target.file.endswith("p.yaml")]
    assert mine and "error" not in {r.outcome.value for r in mine}, [r.reason for r in mine if r.reason][:1]
