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
from hypothesis import given, settings
from hypothesis import strategies as st

from aks_compliance.k8s.source import K8sOptions
from aks_compliance.scan import ScanOptions, run_scan

from .test_bad_inputs_k8s import GOOD as GOOD_POD, _good_verdict
from .test_hostile_round_four import FRAGMENTS

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


# -- the scan's template budget ------------------------------------------------------------------------------
# A template's own budget (MAX_STEPS) bounds one file; the scan's bounds what many small files can make together.
# Its size was 25 template budgets: 30 files of 400 bytes, each burning its budget in lambdas, took more than a
# minute, and 70 files each copying 800 resources spent it so that a good template read after them was not
# expanded at all: its cluster had no result, not even an error. The scan budget now counts only the work a
# template does beyond its own size in characters (honest templates do less than one unit per character: the
# corpus 0.13-0.61, the 2,000-template fleet about 0.7), so what it bounds is amplification, and a template
# within its own size is never stopped by it.

def _template(resources: list, **extra: Any) -> dict:
    return {"$schema": SCHEMA, "contentVersion": "1.0.0.0", "resources": resources, **extra}


def _copies(n: int = 800, name: str = "v") -> dict:
    """A copy loop of ``n`` virtual networks: ``n`` resource instances charged before they are made."""
    return {"type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-05-01", "name": f"[concat('{name}', "
            "copyIndex())]", "location": "westeurope", "copy": {"name": "c", "count": n}, "properties": {}}


GOOD_TEMPLATE = _template([{"type": MC, "apiVersion": "2024-05-01", "name": "aks-good", "location": "westeurope",
                            "properties": {"disableLocalAccounts": False, "kubernetesVersion": "1.30.5"}}])


def _scan_arm(*paths: Path) -> Any:
    from aks_compliance.arm.inputs import ArmOptions
    return run_scan(ScanOptions(inputs=[ArmOptions(paths=[str(p) for p in paths])], controls=["AKS-002"]))


def _stopped_by_the_scan_budget(run: Any) -> list[str]:
    return [str(d) for d in run.diagnostics if "the scan's template evaluation takes more than" in d.message]


def test_the_scan_budget_is_a_few_template_budgets() -> None:
    from aks_compliance.arm.expressions import MAX_SCAN_STEPS, MAX_STEPS
    assert MAX_SCAN_STEPS <= 5 * MAX_STEPS


def test_small_templates_that_multiply_are_stopped_and_a_good_template_after_them_is_judged(tmp_path: Path) -> None:
    from aks_compliance.arm.expressions import MAX_SCAN_STEPS
    from aks_compliance.arm.template import RESOURCE_UNITS
    n = MAX_SCAN_STEPS // (800 * RESOURCE_UNITS) + 3
    for i in range(n):
        (tmp_path / f"a{i:03}.json").write_text(json.dumps(_template([_copies()])))
    (tmp_path / "z-good.json").write_text(json.dumps(GOOD_TEMPLATE))
    run = _scan_arm(tmp_path)
    assert _stopped_by_the_scan_budget(run), [str(d) for d in run.diagnostics][:5]
    good = [r for r in run.results if r.target.name == "aks-good"]
    assert [r.outcome.value for r in good] == ["failed"], [(r.outcome.value, r.reason) for r in good]


def test_a_template_within_its_own_size_draws_nothing_from_the_scan_budget() -> None:
    from aks_compliance.arm.expressions import Budget, ExpressionError, ScanBudget
    scan = ScanBudget(limit=100)
    big = Budget(limit=10_000, scan=scan, free=500)
    big.spend(500)
    assert scan.spent == 0 and not big.exhausted
    with pytest.raises(ExpressionError, match="the scan's template evaluation"):
        big.spend(101)  # beyond its size: the scan pays, and is spent
    assert big.exhausted
    honest = Budget(limit=10_000, scan=scan, free=300)
    honest.spend(300)  # another template's own work goes on once the scan's share is spent
    assert not honest.exhausted
    with pytest.raises(ExpressionError, match="the scan's template evaluation"):
        honest.spend(1)


def test_real_templates_draw_nothing_from_the_scan_budget(shared, monkeypatch: pytest.MonkeyPatch) -> None:
    from aks_compliance.arm import expressions
    from aks_compliance.arm.inputs import ArmOptions
    budgets: list[Any] = []
    init = expressions.Budget.__init__

    def spy(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        budgets.append(self)
    monkeypatch.setattr(expressions.Budget, "__init__", spy)
    corpus = shared("corpus", "arm")
    run = run_scan(ScanOptions(inputs=[ArmOptions(paths=[str(corpus)])]))
    assert run.results and len(budgets) > 5
    assert all(b.scan is None or b.steps <= b.free for b in budgets), \
        sorted((b.steps, b.free) for b in budgets if b.steps > b.free)[:5]


def test_azure_snapshot_exports_share_the_scan_budget(tmp_path: Path) -> None:
    """Each export template of a snapshot had its own budget and no scan budget: 100 exports of a heavy template
    cost 100 template budgets (minutes)."""
    from aks_compliance.arm.expressions import MAX_SCAN_STEPS
    from aks_compliance.arm.template import RESOURCE_UNITS
    n = MAX_SCAN_STEPS // (800 * RESOURCE_UNITS) + 3
    exports = [{"subscription": "00000000-0000-0000-0000-000000000000", "resource_group": f"rg{i}",
                "template": _template([_copies()])} for i in range(n)]
    (tmp_path / "azure.json").write_text(json.dumps({"schema": "aks-compliance/azure-snapshot/v1", "meta": {},
                                                     "resources": [], "exports": exports}))
    (tmp_path / "good.json").write_text(json.dumps(GOOD_TEMPLATE))
    run = _scan_arm(tmp_path / "azure.json", tmp_path / "good.json")
    assert _stopped_by_the_scan_budget(run), [str(d) for d in run.diagnostics][:5]
    assert [r.outcome.value for r in run.results if r.target.name == "aks-good"] == ["failed"]


def test_blueprint_artifacts_of_a_rest_file_share_the_scan_budget(tmp_path: Path) -> None:
    from aks_compliance.arm.expressions import MAX_SCAN_STEPS
    from aks_compliance.arm.template import RESOURCE_UNITS
    n = MAX_SCAN_STEPS // (800 * RESOURCE_UNITS) + 3
    artifacts = [{"type": "Microsoft.Blueprint/blueprints/artifacts", "kind": "template", "name": f"art{i}",
                  "id": f"/providers/Microsoft.Management/managementGroups/mg/providers/Microsoft.Blueprint/"
                        f"blueprints/bp/artifacts/art{i}",
                  "properties": {"template": _template([_copies()]), "parameters": {}}} for i in range(n)]
    (tmp_path / "artifacts.json").write_text(json.dumps({"value": artifacts}))
    (tmp_path / "good.json").write_text(json.dumps(GOOD_TEMPLATE))
    run = _scan_arm(tmp_path / "artifacts.json", tmp_path / "good.json")
    assert _stopped_by_the_scan_budget(run), [str(d) for d in run.diagnostics][:5]
    assert [r.outcome.value for r in run.results if r.target.name == "aks-good"] == ["failed"]


# -- a number longer than Python converts ----------------------------------------------------------------------
# Python refuses to convert an integer of more than 4,300 digits (ValueError, not the JSON decoder's error): an
# Azure or Kubernetes snapshot holding one stopped the whole scan ("internal error: the scan crashed", exit 3),
# and every other reader quoted Python's advice ("use sys.set_int_max_str_digits() to increase the limit").
LONG = "9" * 5000
POD_ITEM = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "shop"},
            "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]}}


def _k8s_snapshot(layout: str) -> str:
    item = json.dumps(POD_ITEM)[:-1] + f', "x": {LONG}}}'
    if layout == "streaming":  # the writer's layout: one item per line after the head
        return '{"schema": "aks-compliance/k8s-snapshot/v1", "meta": {},\n"items":[\n' + item + "\n]}\n"
    return '{"schema": "aks-compliance/k8s-snapshot/v1", "meta": {}, "items": [' + item + "]}"


def _azure_snapshot(layout: str) -> str:
    body = {"id": f"/subscriptions/0/resourceGroups/rg/providers/{MC}/aks-long", "name": "aks-long", "type": MC,
            "location": "westeurope", "properties": {"disableLocalAccounts": False}}
    item = json.dumps(body, indent=1)[:-2] + f',\n "x": {LONG}\n}}'
    if layout == "streaming":  # the writer's layout: a head line, sections of indented items
        return '{"schema": "aks-compliance/azure-snapshot/v1", "meta": {},\n"resources": [\n' + item + "\n]\n}\n"
    return '{"schema": "aks-compliance/azure-snapshot/v1", "meta": {}, "resources": [' + item + "]}"


@pytest.mark.parametrize("family,layout", [("k8s", "streaming"), ("k8s", "plain"), ("azure", "streaming"),
                                           ("azure", "plain")])
def test_a_number_too_long_in_a_snapshot_is_an_input_error_and_the_scan_goes_on(
        tmp_path: Path, family: str, layout: str) -> None:
    from aks_compliance.arm.inputs import ArmOptions
    snap = tmp_path / "snap.json"
    if family == "k8s":
        snap.write_text(_k8s_snapshot(layout))
        (tmp_path / "good.yaml").write_text(GOOD_POD)
        run = run_scan(ScanOptions(inputs=[K8sOptions(paths=[str(snap), str(tmp_path / "good.yaml")])]))
        assert _good_verdict(run) == "failed"
    else:
        snap.write_text(_azure_snapshot(layout))
        (tmp_path / "good.json").write_text(json.dumps(GOOD_TEMPLATE))
        run = run_scan(ScanOptions(inputs=[ArmOptions(paths=[str(snap), str(tmp_path / "good.json")])],
                                   controls=["AKS-002"]))
        assert [r.outcome.value for r in run.results if r.target.name == "aks-good"] == ["failed"]
    errors = [d for d in run.diagnostics if d.file.endswith("snap.json")]
    assert any("a number of 5,000 digits" in d.message and d.line for d in errors), [str(d) for d in errors]
    assert "set_int_max_str_digits" not in everything_said(run)


def test_a_number_too_long_is_worded_plainly_in_every_json_reader(tmp_path: Path) -> None:
    from aks_compliance.arm.inputs import ArmOptions
    from aks_compliance.report.commands import report
    (tmp_path / "t.json").write_text(json.dumps(_template([{
        "type": MC, "apiVersion": "2024-05-01", "name": "aks-json", "location": "westeurope",
        "properties": {"disableLocalAccounts": False, "kubernetesVersion": f"[string(json('{LONG}'))]"}}])))
    (tmp_path / "broken.json").write_text('{"resources": [], "x": ' + LONG + "}")
    (tmp_path / "pod.json").write_text(json.dumps(POD_ITEM)[:-1] + f', "x": {LONG}}}')
    run = run_scan(ScanOptions(inputs=[ArmOptions(paths=[str(tmp_path / "t.json"), str(tmp_path / "broken.json")]),
                                       K8sOptions(paths=[str(tmp_path / "pod.json")])]))
    said = everything_said(run)
    assert "set_int_max_str_digits" not in said
    for name in ("t.json", "broken.json", "pod.json"):
        assert any(d.file.endswith(name) and "a number of 5,000 digits" in d.message for d in run.diagnostics), name
    (tmp_path / "r.json").write_text('{"schema": "aks-compliance/results/v1", "x": ' + LONG + "}")
    assert report([str(tmp_path / "r.json"), "-o", str(tmp_path / "r.html")]) == 4


# -- an Azure snapshot's sections and entries ----------------------------------------------------------------
# A snapshot is an input like any other (hand-made, edited, damaged): a policy state that was not an object
# stopped the whole scan (AttributeError, exit 3); a section that was not an array ("resources": "x") was read as
# empty, so the snapshot's clusters vanished without a word; a gap that was not an object (a list the collector
# could not read) was skipped, so the controls that needed it were judged as if it had been read.
def _azure(**sections: Any) -> str:
    cluster = {"id": f"/subscriptions/0/resourceGroups/rg/providers/{MC}/aks-snap", "name": "aks-snap", "type": MC,
               "location": "westeurope", "properties": {"disableLocalAccounts": False}}
    return json.dumps({"schema": "aks-compliance/azure-snapshot/v1", "meta": {}, "resources": [cluster],
                       **sections})


def _scan_azure_beside_good(tmp_path: Path, text: str) -> Any:
    from aks_compliance.arm.inputs import ArmOptions
    (tmp_path / "azure.json").write_text(text)
    (tmp_path / "good.json").write_text(json.dumps(GOOD_TEMPLATE))
    run = run_scan(ScanOptions(inputs=[ArmOptions(paths=[str(tmp_path / "azure.json"), str(tmp_path / "good.json")])],
                               controls=["AKS-002"]))
    assert [r.outcome.value for r in run.results if r.target.name == "aks-good"] == ["failed"]
    return run


@pytest.mark.parametrize("section,value", [("resources", "x"), ("resources", {"a": 1}), ("graph", 5),
                                           ("exports", "x"), ("policy_states", {"a": 1}), ("gaps", "all"),
                                           ("errors", 5)])
def test_an_azure_snapshot_section_that_is_not_an_array_is_an_input_error(tmp_path: Path, section: str,
                                                                          value: Any) -> None:
    run = _scan_azure_beside_good(tmp_path, _azure(**{section: value}))
    errors = [d for d in run.diagnostics if d.file.endswith("azure.json") and d.severity == "error"]
    assert any(f"'{section}' must be an array" in d.message and d.line for d in errors), [str(d) for d in errors]


@pytest.mark.parametrize("section,entries,pointer", [
    ("policy_states", [1, None, "x"], "/policy_states/0"),
    ("gaps", [1, {"reason": "forbidden"}], "/gaps/0"),
    ("errors", ["boom"], "/errors/0"),
])
def test_an_azure_snapshot_entry_that_is_not_an_object_is_an_error_never_a_crash(
        tmp_path: Path, section: str, entries: list, pointer: str) -> None:
    run = _scan_azure_beside_good(tmp_path, _azure(**{section: entries}))
    errors = [d for d in run.diagnostics if d.file.endswith("azure.json") and d.severity == "error"]
    assert any(d.pointer == pointer for d in errors), [(str(d), d.pointer) for d in errors]
    assert [r.outcome.value for r in run.results if r.target.name == "aks-snap"]  # the snapshot's cluster is judged


# -- AKS-123's value patterns are linear in the value ---------------------------------------------------------
# kubescape's sensitiveValues, as AKS-123 and the live collector's env scrubbing run them: the JWT pattern
# rescanned the rest of a value from every "eyJ" in it, so an env value of "eyJ" repeated to 600 KB took more
# than two minutes (quadratic). The same fragments that made redaction quadratic (round four) are tried here.
@pytest.mark.parametrize("unit", ["eyJ", "eyJa", "-eyJ", "AKIA", "bearer ", "basic a", "sig=", "xoxb-", "ghp_"])
def test_the_sensitive_value_patterns_on_a_long_value_are_linear(unit: str) -> None:
    from aks_compliance.k8s.sensitive import DEFAULT_RULES, not_a_credential
    value = unit * (600_000 // len(unit) + 1)
    DEFAULT_RULES.judge("X", value)
    not_a_credential(value)


@given(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=3))
@settings(max_examples=20, deadline=None)
def test_the_sensitive_value_patterns_on_any_repeated_fragment_are_linear(parts: list[str]) -> None:
    from aks_compliance.k8s.sensitive import DEFAULT_RULES
    unit = "".join(parts)
    DEFAULT_RULES.judge("DB_PASSWORD", unit * (200_000 // len(unit) + 1))


def test_the_jwt_pattern_still_finds_tokens() -> None:
    from aks_compliance.k8s.sensitive import DEFAULT_RULES
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlc2lnbmF0dXJl"
    for value in (jwt, f"Authorization={jwt}", f"token: {jwt}", f"x {jwt} y"):
        assert DEFAULT_RULES.judge("X", value), value


# -- redaction: a command-line flag is not searched from inside a run of dashes ---------------------------------
# The flag pattern (--kubelet-token=...) tried every "--" of a run of dashes and rescanned the run from each: a
# name of 20,000 dashes and an "=" took 10 s, 80,000 took three minutes (every text of every output is redacted).
@pytest.mark.parametrize("unit,end", [("-", "="), ("--key", "="), ("--token", " key="), ("-xoxb-", "=="),
                                      ("a--", "=")])
def test_redaction_of_a_run_of_dashes_is_linear(unit: str, end: str) -> None:
    from aks_compliance.redaction import redact_text
    redact_text(unit * (1_000_000 // len(unit)) + end)


@pytest.mark.parametrize("flag", ["--kubeconfig-token=SECRETx1", "--password=SECRETx1", "--client-secret='SECRETx1'",
                                  "--bootstrap-token=SECRETx1", "kubelet --token=SECRETx1 --v=2"])
def test_command_line_flags_are_still_redacted(flag: str) -> None:
    from aks_compliance.redaction import redact_text
    assert "SECRETx1" not in redact_text(flag)


# -- a kubelet duration is read in time linear in its length --------------------------------------------------
# streamingConnectionIdleTimeout from a node's configz (a snapshot is a file): "000...0x" was split with findall,
# which rescanned the run of digits from every digit (quadratic: 200,000 digits, minutes).
@pytest.mark.parametrize("text", ["0" * 300_000 + "x", "1" * 300_000, "1." * 150_000 + "s", "5m" * 150_000])
def test_a_long_kubelet_duration_is_malformed_at_once(text: str) -> None:
    from aks_compliance.k8s.kubelet import Malformed, duration_seconds
    with pytest.raises(Malformed) as err:
        duration_seconds(text)
    assert len(str(err.value)) < 200  # said by its length, not quoted


@pytest.mark.parametrize("text,seconds", [("4h0m0s", 14400.0), ("5m", 300.0), ("0", 0.0), ("1.5s", 1.5),
                                          ("-1h", -3600.0), ("300ms", 0.3)])
def test_kubelet_durations_are_read(text: str, seconds: float) -> None:
    from aks_compliance.k8s.kubelet import duration_seconds
    assert duration_seconds(text) == pytest.approx(seconds)


def test_finding_the_line_of_a_number_too_long_is_linear() -> None:
    """Numbers just within the limit before the one over it: the search for its line starts at runs only."""
    from aks_compliance.errors import InputError
    from aks_compliance.jsonc import parse_json
    text = "[\n" + ",\n".join(["9" * 4300] * 2000) + ",\n" + "9" * 4301 + "]"
    with pytest.raises(InputError) as err:
        parse_json(text, "x.json")
    assert err.value.line == 2002 and "a number of 4,301 digits" in err.value.message


# -- credentials in the shapes a live cluster's annotations and env values carry ---------------------------------
# The collector writes annotations and env values to the snapshot file, redacted; these shapes passed through:
# an env list serialised into an annotation or a value ({"name": "DB_PASSWORD", "value": "..."}, YAML flow or
# block), a kubeconfig's exec env and client-key-data (a private key in base64), and a Docker config's "auth"
# (base64 of user:password).
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA" + CANARY + "\n-----END RSA PRIVATE KEY-----\n"
PAIR_SHAPES = [
    f'{{"name": "DB_PASSWORD", "value": "{CANARY}"}}',
    f'[{{"name":"API_TOKEN","value":"{CANARY}"}}]',
    f"{{'name': 'AWS_SECRET_ACCESS_KEY', 'value': '{CANARY}'}}",
    f"env: [{{name: AWS_SECRET_ACCESS_KEY, value: {CANARY}}}]",
    f"- name: DB_PASSWORD\n  value: {CANARY}\n",
    f"env:\n  - name: REDIS_PASSWORD\n    value: \"{CANARY}\"\n",
    f"client-key-data: {base64.b64encode(PEM.encode()).decode()}",
    f"key: {base64.b64encode(('-----BEGIN OPENSSH PRIVATE KEY-----' + CANARY).encode()).decode()}",
    '{"auths": {"r.io": {"auth": "' + base64.b64encode(f"u:{CANARY}".encode()).decode() + '"}}}',
]


@pytest.mark.parametrize("value", PAIR_SHAPES)
def test_credentials_in_env_pairs_kubeconfigs_and_docker_configs_are_redacted(value: str) -> None:
    from aks_compliance.redaction import redact_text
    once = redact_text(value)
    for form in (CANARY, base64.b64encode(f"u:{CANARY}".encode()).decode(), base64.b64encode(PEM.encode()).decode()):
        assert form not in once, once
    assert "redacted" in once and redact_text(once) == once


@pytest.mark.parametrize("value", ['{"name": "LOG_LEVEL", "value": "info"}', "- name: PORT\n  value: '8080'\n",
                                   "{name: http, value: 80}", '{"name": "auth", "enabled": true}',
                                   "auth: required", base64.b64encode(b"-----BEGIN CERTIFICATE-----x").decode()])
def test_ordinary_pairs_and_certificates_are_not_redacted(value: str) -> None:
    from aks_compliance.redaction import redact_text
    assert redact_text(value) == value


@pytest.mark.parametrize("unit", ["name: a_key\n", '{"name":"token","value":', "- name: PASSWORD\n  ", "value: ",
                                  "LS0tLS1CRUdJTi", '"auth": ', "name", "name: x, value"])
def test_redaction_of_the_pair_shapes_is_linear(unit: str) -> None:
    from aks_compliance.redaction import redact_text
    redact_text(unit * (1_000_000 // len(unit)) + "@x.io")


def test_a_live_clusters_annotations_and_env_reach_the_snapshot_redacted(tmp_path: Path) -> None:
    import gzip
    import os
    import subprocess
    import sys

    from .servers.k8s_server import FakeKubeAPI
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": "p", "namespace": "shop", "annotations": {f"example.com/a{i}": v for i, v in enumerate(PAIR_SHAPES)}},
        "spec": {"containers": [{"name": "c", "image": "nginx:1.25",
                                 "env": [{"name": f"CONFIG_{i}", "value": v} for i, v in enumerate(PAIR_SHAPES)]}]}}
    with FakeKubeAPI([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}, pod]) as api:
        kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig", context="live")
        done = subprocess.run([str(Path(sys.executable).with_name("aks-compliance")), "scan", "--kubeconfig",
                               str(kubeconfig), "--kube-context", "live", "--k8s-snapshot-dir", str(tmp_path / "snap"),
                               "--results-json", str(tmp_path / "r.json"), "-p", "no:cacheprovider"],
                              capture_output=True, text=True, timeout=300, env=dict(os.environ))
    assert done.returncode in (1, 2), done.stdout[-2000:] + done.stderr[-2000:]
    snapshots = list((tmp_path / "snap").glob("*.json.gz"))
    assert len(snapshots) == 1
    text = gzip.open(snapshots[0], "rt").read() + (tmp_path / "r.json").read_text()
    assert "example.com/a0" in text and "CONFIG_0" in text
    for form in (CANARY, base64.b64encode(f"u:{CANARY}".encode()).decode(), base64.b64encode(PEM.encode()).decode()):
        assert form not in text


# -- usage errors are redacted like every other output ----------------------------------------------------------
# A control configuration or --control-param value of the wrong type is quoted in the usage error (it is what the
# user typed); one holding a credential shape reached the terminal as it was.
@pytest.mark.parametrize("how", ["control-config", "control-param"])
def test_a_usage_error_quoting_a_credential_is_redacted(tmp_path: Path, how: str) -> None:
    import subprocess
    import sys
    (tmp_path / "good.json").write_text(json.dumps(GOOD_TEMPLATE))
    if how == "control-config":
        (tmp_path / "c.yaml").write_text(f"AKS-123:\n  sensitiveKeyNames: {{password: {CANARY}}}\n")
        extra = ["--control-config", str(tmp_path / "c.yaml")]
    else:
        extra = ["--control-param", f"AKS-123.sensitiveKeyNames=password={CANARY}"]
    proc = subprocess.run([str(Path(sys.executable).with_name("aks-compliance")), "scan", "--arm",
                           str(tmp_path / "good.json"), "-p", "no:cacheprovider", *extra], capture_output=True,
                          timeout=300)
    terminal = (proc.stdout + proc.stderr).decode(errors="replace")
    assert proc.returncode == 4 and "AKS-123.sensitiveKeyNames" in terminal, terminal[-1500:]
    assert CANARY not in terminal and "redacted" in terminal


# -- a long name is redacted about once, not once per sentence that quotes it -------------------------------------
# Evidence sentences and reasons quote names (a container, a namespace) and are redacted whole before they are cut
# to a few hundred characters: a container name of 10 MB was redacted 22 times (14 s), two of 25 MB took 75 s.
# What is kept is the start of a text: only a bounded head of it is redacted.
def test_a_long_container_name_is_not_redacted_once_per_sentence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from aks_compliance import redaction
    redacted: list[int] = []
    real = redaction._redact_text

    def counting(text: str) -> str:
        redacted.append(len(text))
        return real(text)
    monkeypatch.setattr(redaction, "_redact_text", counting)
    name = "c" * 2_000_000
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "n" * 2_000_000},
           "spec": {"containers": [{"name": name, "image": "nginx:1.25", "securityContext": {"privileged": True}}]}}
    (tmp_path / "pod.json").write_text(json.dumps(pod))
    run = run_scan(ScanOptions(inputs=[K8sOptions(paths=[str(tmp_path / "pod.json")])]))
    assert any(r.outcome.value == "failed" for r in run.results)
    assert sum(redacted) <= 3 * 4_000_000, f"{sum(redacted):,} characters redacted for 4,000,000 of names"
    shown = [e.text for r in run.results for e in r.evidence if e.text and "ccc" in e.text]
    assert shown and all(len(t) <= 400 and "characters, #" in t for t in shown), shown[:2]


def test_a_credential_at_the_start_of_a_long_text_is_redacted_before_the_cut() -> None:
    from aks_compliance.redaction import redact_capped
    text = f"password={CANARY} " + "x" * 5_000_000
    shown = redact_capped(text, 300)
    assert CANARY not in shown and "password=<redacted>" in shown and "characters, #" in shown
    assert len(shown) <= 300


# -- scalars inside RBAC rules and bindings, network policies, Ingresses and Services -------------------------------
# The same class as round three's typed scalars, in the kinds it did not reach: a binding whose subject's name is a
# list ({kind: Group, name: [system:anonymous]}) passed AKS-145 ("nothing is granted to anonymous"), a rule with
# resources [[secrets]] passed AKS-136, an Ingress TLS host that is a number passed AKS-151. The API server decodes
# these into typed Go structs (rbacv1.Subject.Name string, PolicyRule.Verbs []string ...) and refuses anything else.
RBAC = "apiVersion: rbac.authorization.k8s.io/v1\n"
BINDING = (RBAC + "kind: ClusterRoleBinding\nmetadata: {name: b}\n"
           "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\n")
TYPED_CASES = [
    (BINDING + "subjects:\n- {kind: Group, name: [system:anonymous], apiGroup: rbac.authorization.k8s.io}\n", "b",
     "subjects[0].name must be a string", "an array"),
    (BINDING + "subjects:\n- {kind: 5, name: system:anonymous}\n", "b", "subjects[0].kind must be a string", "a number"),
    (RBAC + "kind: ClusterRoleBinding\nmetadata: {name: b}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: "
     "ClusterRole, name: [cluster-admin]}\nsubjects:\n- {kind: Group, name: system:anonymous, apiGroup: "
     "rbac.authorization.k8s.io}\n", "b", "roleRef.name must be a string", "an array"),
    (RBAC + "kind: ClusterRole\nmetadata: {name: r}\nrules:\n- {apiGroups: [''], resources: [[secrets]], verbs: [get]}\n",
     "r", "rules[0].resources[0] must be a string", "an array"),
    (RBAC + "kind: ClusterRole\nmetadata: {name: r}\nrules:\n- {apiGroups: ['*'], resources: ['*'], verbs: [['*']]}\n",
     "r", "rules[0].verbs[0] must be a string", "an array"),
    (RBAC + "kind: Role\nmetadata: {name: r, namespace: shop}\nrules:\n- {apiGroups: [1], resources: [pods], verbs: [get]}\n",
     "shop/r", "rules[0].apiGroups[0] must be a string", "a number"),
    ("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: np, namespace: shop}\n"
     "spec: {podSelector: {}, policyTypes: [Ingress, 5]}\n", "shop/np", "spec.policyTypes[1] must be a string",
     "a number"),
    ("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: np, namespace: shop}\n"
     "spec: {podSelector: {matchLabels: {app: 5}}}\n", "shop/np", "spec.podSelector.matchLabels.app must be a string",
     "a number"),
    ("apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i, namespace: shop}\n"
     "spec: {tls: [{hosts: [5], secretName: x}], rules: [{host: shop.example.com}]}\n", "shop/i",
     "spec.tls[0].hosts[0] must be a string", "a number"),
    ("apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i, namespace: shop}\n"
     "spec: {tls: [{hosts: [a.example.com]}], rules: [{host: [b.example.com]}]}\n", "shop/i",
     "spec.rules[0].host must be a string", "an array"),
    ("apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: shop}\n"
     "spec: {type: ClusterIP, ports: [{port: 80}], externalIPs: [[203.0.113.9]]}\n", "shop/s",
     "spec.externalIPs[0] must be a string", "an array"),
]


@pytest.mark.parametrize("manifest,name,message,found", TYPED_CASES, ids=[c[2] for c in TYPED_CASES])
def test_a_typed_field_of_rbac_network_or_ingress_objects_is_an_error_never_a_pass(
        tmp_path: Path, manifest: str, name: str, message: str, found: str) -> None:
    (tmp_path / "bad.yaml").write_text(manifest)
    (tmp_path / "good.yaml").write_text(GOOD_POD)
    run = run_scan(ScanOptions(inputs=[K8sOptions(paths=[str(tmp_path / "bad.yaml"), str(tmp_path / "good.yaml")])]))
    assert _good_verdict(run) == "failed"
    mine = [r for r in run.results if r.target.name == name and r.target.file.endswith("bad.yaml")]
    assert mine and {r.outcome.value for r in mine} == {"error"}, sorted({(r.control_id, r.outcome.value) for r in mine})
    assert all(f"{message} (the REST API rejects anything else), found {found}" in r.reason for r in mine), \
        mine[0].reason


# -- evidence paths and the keys of objects shown are redacted too ----------------------------------------------
# Values were redacted in evidence, keys were not: an annotation key or a map key holding a credential shape was
# shown in the evidence path (metadata.annotations.<key>) and in the object rendered as the actual value.
def test_a_credential_shaped_key_is_redacted_in_evidence_paths_and_rendered_objects(tmp_path: Path) -> None:
    token = f"ghp_{CANARY}abcdefghijklmnop"
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": "p", "namespace": "shop", "labels": {token: "v"},
        "annotations": {f"container.apparmor.security.beta.kubernetes.io/{token}": "unconfined"}},
        "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]}}
    (tmp_path / "p.json").write_text(json.dumps(pod))
    run = run_scan(ScanOptions(inputs=[K8sOptions(paths=[str(tmp_path / "p.json")])]))
    shown = [(e.path, e.actual) for r in run.results for e in r.evidence]
    assert any("redacted" in p for p, _ in shown) and any("redacted" in a for _, a in shown), shown[:5]
    assert CANARY not in everything_said(run)
