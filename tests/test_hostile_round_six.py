"""Hostile input, round six (issue 19): variations rounds two to five did not cover.

* malformed values: a ConfigMap's ``data`` value that is a number or a list, a Secret's ``data`` value that is not
  base64 (the API server decodes it into bytes and refuses the object) were read as they were: AKS-123 passed a
  ConfigMap holding ``DB_PASSWORD: 5``, and every control judged Secrets that cannot exist;
* cost: the scan-wide budget let a directory of small templates (400 bytes each) burn 50,000,000 work units, a
  minute and more, and once it was spent a good template beside them was silently not judged at all; an Azure
  snapshot's export templates and a REST file's blueprint artifacts were expanded outside the scan budget (each
  export its own 2,000,000 units, so a snapshot of 100 exports cost minutes).

Every test is bounded by construction: small inputs, or budgets of a few template budgets whose cost is charged
before the work is done.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from aks_compliance.k8s.source import K8sOptions
from aks_compliance.scan import ScanOptions, run_scan

from .test_bad_inputs_k8s import GOOD as GOOD_POD, _good_verdict

CANARY = "CNRYround6SecretQz4"
SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
MC = "Microsoft.ContainerService/managedClusters"


def everything_said(run: Any) -> str:
    return json.dumps(run.document(), ensure_ascii=False) + "".join(str(d) for d in run.diagnostics)


# -- map[string]string and map[string][]byte: ConfigMap and Secret values ----------------------------------
# ConfigMap.data and Secret.stringData are map[string]string; Secret.data and ConfigMap.binaryData are
# map[string][]byte, which encoding/json reads from base64 text (StdEncoding: padded, line breaks ignored).
# The API server refuses anything else ("json: cannot unmarshal number into Go struct field ConfigMap.data of
# type string", "illegal base64 data at input byte 3"): such an object never exists, so every control of it is an
# error, and the message says what kind of value was there, never the value (it may be the secret).
B64 = base64.b64encode(b"a real secret").decode()
MAP_CASES = [
    ("ConfigMap", "data: {DB_PASSWORD: 5}", "data.DB_PASSWORD must be a string", "a number"),
    ("ConfigMap", f"data: {{API_TOKEN: [{CANARY}]}}", "data.API_TOKEN must be a string", "an array"),
    ("ConfigMap", f"binaryData: {{blob: 'not base64 {CANARY}!'}}", "binaryData.blob must be base64-encoded data",
     "a string"),
    ("Secret", "data: {password: 12345}", "data.password must be base64-encoded data", "a number"),
    ("Secret", f"data: {{password: '{CANARY}!!'}}", "data.password must be base64-encoded data", "a string"),
    ("Secret", f"data: {{password: 'YWJj{CANARY}'}}", "data.password must be base64-encoded data", "a string"),
    ("Secret", f"stringData: {{token: {{value: {CANARY}}}}}", "stringData.token must be a string", "an object"),
    ("Secret", f"type: 5\nstringData: {{token: {CANARY}}}", "type must be a string", "a number"),
    ("Secret", f"immutable: 'yes'\nstringData: {{token: {CANARY}}}", "immutable must be a boolean", "a string"),
    ("ConfigMap", "immutable: 1\ndata: {a: b}", "immutable must be a boolean", "a number"),
]


@pytest.mark.parametrize("kind,body,message,found", MAP_CASES, ids=[f"{i}-{c[0]}-{c[3]}" for i, c in enumerate(MAP_CASES)])
def test_a_configmap_or_secret_value_the_api_server_refuses_is_an_error_never_quoted(
        tmp_path: Path, kind: str, body: str, message: str, found: str) -> None:
    manifest = f"apiVersion: v1\nkind: {kind}\nmetadata: {{name: obj, namespace: shop}}\n{body}\n"
    (tmp_path / "obj.yaml").write_text(manifest)
    (tmp_path / "good.yaml").write_text(GOOD_POD)
    run = run_scan(ScanOptions(inputs=[K8sOptions(paths=[str(tmp_path / "obj.yaml"), str(tmp_path / "good.yaml")])]))
    assert _good_verdict(run) == "failed"  # the rest of the scan goes on
    mine = [r for r in run.results if r.target.name == "shop/obj"]
    assert mine and {r.outcome.value for r in mine} == {"error"}, sorted({(r.control_id, r.outcome.value) for r in mine})
    assert all(f"{message} (the REST API rejects anything else), found {found}" in r.reason for r in mine), \
        mine[0].reason
    assert CANARY not in everything_said(run)


def test_configmap_and_secret_values_of_their_own_types_are_judged(tmp_path: Path) -> None:
    """Base64 as the API server reads it: padded, with line breaks (a YAML block scalar) ignored; empty values
    and null (absent) are valid."""
    wrapped = base64.b64encode(b"x" * 100).decode()
    wrapped = "\n".join(wrapped[i:i + 40] for i in range(0, len(wrapped), 40))
    (tmp_path / "ok.yaml").write_text(
        f"apiVersion: v1\nkind: Secret\nmetadata: {{name: s, namespace: shop}}\ntype: Opaque\nimmutable: true\n"
        f"data:\n  a: {B64}\n  b: ''\n  c: null\n  wrapped: |\n" + "".join(f"    {line}\n" for line in wrapped.split("\n"))
        + "stringData: {d: plain}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\n"
        f"data: {{LOG_LEVEL: info, EMPTY: ''}}\nbinaryData: {{blob: {B64}}}\n")
    run = run_scan(ScanOptions(inputs=[K8sOptions(paths=[str(tmp_path / "ok.yaml")])]))
    mine = [r for r in run.results if r.target.name in ("shop/s", "shop/c")]
    assert {r.target.name for r in mine} == {"shop/s", "shop/c"}
    assert not [r.reason for r in mine if r.outcome.value == "error"]
