"""Hostile input, round nine (issue 19): variations rounds two to eight did not cover.

* a YAML scalar its explicit tag cannot read (``!!int <secret>``, ``!!float <secret>``) was an input error quoting
  the scalar in Python's words ("invalid literal for int() with base 10: '...'") into every output, and named the
  document's first line: it is now named by its tag and its own line, never its text;
* characters that show nothing or reorder text were printed raw in names on the terminal, in the HTML report and
  in CSV: a zero-width space (``aks-pr<U+200B>od`` reads as ``aks-prod``), the Arabic letter mark (a bidi mark,
  as U+200E/F are), word joiner, soft hyphen, tag characters, line separators. They are escaped as bidi
  overrides already were;
* a JSON template with carriage-return-only line endings put every evidence item on "line 1": a lone CR now ends
  a line as editors and YAML count it.

Every test is bounded by construction: small inputs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from aks_compliance.errors import InputError
from aks_compliance.k8s.manifests import parse_yaml_stream
from aks_compliance.textsafe import escape_controls
from aks_compliance.waivers import GovernanceError, load_waivers

from .conftest import scan
from .test_bad_inputs_k8s import GOOD, POD_HEAD, _scan_beside_good

CANARY = "CANARYr9Tq4Zw8"
SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
MC = "Microsoft.ContainerService/managedClusters"


def cluster(name: str, **properties) -> dict:
    return {"type": MC, "apiVersion": "2024-05-01", "name": name, "location": "westeurope",
            "properties": {"dnsPrefix": "x", "disableLocalAccounts": True, **properties}}


def template(resources: list[dict]) -> dict:
    return {"$schema": SCHEMA, "contentVersion": "1.0.0.0", "resources": resources}


# -- a scalar its tag cannot read: named by tag and line, never quoted ----------------------------------------

@pytest.mark.parametrize("tag,text", [("!!int", CANARY), ("!!float", CANARY), ("!!bool", CANARY),
                                      ("!!timestamp", CANARY), ("!!timestamp", "''"), ("!!bool", "''")])
def test_a_tagged_scalar_that_is_not_its_type_is_never_quoted(tmp_path: Path, tag: str, text: str) -> None:
    manifest = POD_HEAD + f"  annotations:\n    a: ok\n    b: {tag} {text}\n"
    with pytest.raises(InputError) as caught:
        parse_yaml_stream(manifest, "p.yaml")
    assert CANARY not in str(caught.value) and tag in str(caught.value)
    assert caught.value.line == 8, caught.value  # the scalar's own line, not the document's first
    run = _scan_beside_good(tmp_path, "p.yaml", manifest)
    texts = [str(d) for d in run.diagnostics] + [r.reason for r in run.results]
    assert any("p.yaml:8" in t and tag in t for t in texts), texts
    assert not [t for t in texts if CANARY in t]


def test_a_tagged_scalar_in_a_later_document_names_its_line(tmp_path: Path) -> None:
    manifest = GOOD.replace("good", "first") + "---\n" + POD_HEAD + f"  labels: {{a: !!int {CANARY}}}\n"
    with pytest.raises(InputError) as caught:
        parse_yaml_stream(manifest, "p.yaml")
    assert caught.value.line == manifest.count("\n") and CANARY not in str(caught.value)


def test_a_tagged_waiver_field_is_never_quoted(tmp_path: Path) -> None:
    (tmp_path / "w.yaml").write_text("waivers:\n  - id: W-1\n    control: AKS-002\n    target: '*'\n"
                                     f"    justification: !!float {CANARY}\n    approver: a\n"
                                     "    expires: 2027-01-01\n")
    with pytest.raises(GovernanceError) as caught:
        load_waivers(str(tmp_path / "w.yaml"), ["AKS-002"])
    assert CANARY not in str(caught.value) and "w.yaml:5" in str(caught.value), caught.value


def test_tagged_scalars_of_their_type_are_read() -> None:
    manifest = POD_HEAD + "  annotations: {a: !!str 1, b: !!int '7', c: !!float '1.5'}\n"
    docs, _ = parse_yaml_stream(manifest, "p.yaml")
    assert docs[0][1]["metadata"]["annotations"] == {"a": "1", "b": 7, "c": 1.5}


# -- characters that show nothing or reorder text are escaped ---------------------------------------------------

INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\u061c", "\u00ad", "\ufeff", "\u2028", "\u2029",
             "\u2063", "\u180e", "\U000e0041", "\ufff9", "\u3164"]


@pytest.mark.parametrize("char", INVISIBLE, ids=[f"U+{ord(c):04X}" for c in INVISIBLE])
def test_invisible_characters_are_escaped(char: str) -> None:
    shown = escape_controls(f"aks-pr{char}od")
    assert char not in shown and shown.isascii() and f"{ord(char):02x}" in shown


def test_visible_text_of_other_scripts_is_kept() -> None:
    for text in ("café", "クラスター", "кластер", "نام", "😀", "a\tb\nc"):
        assert escape_controls(text) == text


def test_invisible_characters_in_a_name_reach_no_output_raw(tmp_path: Path) -> None:
    name = "aks-pr\u200bod\u061c\u2060\U000e0041"
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "t.json").write_text(json.dumps(template([cluster(name, disableLocalAccounts=False)])))
    out = tmp_path / "out"
    exe = str(Path(sys.executable).with_name("aks-compliance"))
    proc = subprocess.run([exe, "scan", "--arm", str(tmp_path / "in"), "--controls", "AKS-002", "-p",
                           "no:cacheprovider", "--csv", str(out / "r.csv"), "--audit-report", str(out / "r.html"),
                           "--results-json", str(out / "r.json")], capture_output=True, timeout=300)
    terminal = (proc.stdout + proc.stderr).decode("utf-8", "replace")
    assert proc.returncode == 1 and "Traceback" not in terminal, terminal[-2000:]
    assert "aks-pr\\u200bod" in terminal
    for text in (terminal, (out / "r.csv").read_text(), (out / "r.html").read_text()):
        assert not [c for c in "\u200b\u061c\u2060\U000e0041" if c in text]
    # the results JSON is data, not a display: it keeps the name as it is
    assert name in {r["target"]["name"] for r in json.loads((out / "r.json").read_text())["results"]}


# -- a carriage return alone ends a line -------------------------------------------------------------------------

@pytest.mark.parametrize("ending", ["\r", "\r\n", "\n"], ids=["cr", "crlf", "lf"])
def test_json_lines_are_counted_at_any_line_ending(tmp_path: Path, ending: str) -> None:
    text = json.dumps(template([cluster("aks-cr", disableLocalAccounts=False)]), indent=1)
    expected = next(i for i, line in enumerate(text.split("\n"), 1) if "disableLocalAccounts" in line)
    (tmp_path / "t.json").write_bytes(text.replace("\n", ending).encode())
    run = scan(tmp_path / "t.json", controls=["AKS-002"])
    (result,) = [r for r in run.results if r.control_id]
    assert result.outcome.value == "failed" and [e.line for e in result.evidence] == [expected], result.evidence


def test_yaml_lines_are_counted_at_a_lone_carriage_return(tmp_path: Path) -> None:
    manifest = (POD_HEAD + "spec:\n  containers:\n  - name: app\n    image: myacr.azurecr.io/app:1.0\n"
                "    securityContext: {privileged: true}\n")
    run = _scan_beside_good(tmp_path, "cr.yaml", manifest.replace("\n", "\r"))
    lines = {e.line for r in run.results if r.target.name == "shop/p" and r.control_id == "AKS-100"
             for e in r.evidence}
    assert lines == {manifest.count("\n")}, lines


# -- what a snapshot from elsewhere says of its cluster is redacted in every report ------------------------------

def test_a_snapshots_server_and_identity_reach_the_reports_redacted(tmp_path: Path) -> None:
    from aks_compliance.report.html import render_report
    from aks_compliance.results import write_results
    from .test_bad_inputs_k8s import _scan
    snapshot = json.loads((Path(__file__).parents[1] / "fixtures/k8s/AKS-146/passed-snapshot-cilium-policy.json")
                          .read_text())
    snapshot["meta"]["cluster"]["server"] = f"https://admin:{CANARY}@aks.example.io:443"
    snapshot["meta"]["cluster"]["version"]["gitVersion"] = "v1.30." + "9" * 100_000
    snapshot["meta"]["collector"]["identity"] = {"username": "scanner", "token": CANARY,
                                                 "extra": {"password": [CANARY], "note": f"password={CANARY}"}}
    (tmp_path / "s.json").write_text(json.dumps(snapshot))
    run = _scan(tmp_path / "s.json")
    (record,) = run.inputs
    assert record["server"] == "https://<redacted>@aks.example.io:443" and record["identity"]["username"] == "scanner"
    assert len(record["server_version"]) < 300
    write_results(str(tmp_path / "r.json"), run.document())
    (tmp_path / "a.html").write_text(render_report(run.document()))
    for name in ("r.json", "a.html"):
        assert CANARY not in (tmp_path / name).read_text(), name


# -- a credential flag given as two words (--token VALUE) is redacted as --token=VALUE is ---------------------

@pytest.mark.parametrize("line,kept", [
    (f"kubelet --v=2 --bootstrap-token abcdef.{CANARY} --config=/etc/k.json", "--config=/etc/k.json"),
    (f"kubelet --token {CANARY} --v=2", "--v=2"),
    (f"kubelet --kubeconfig-password\t'{CANARY}'", "kubelet --kubeconfig-password"),
    (f"app --client-secret \"{CANARY}\" --port 80", "--port 80"),
])
def test_a_credential_flag_and_its_value_as_two_words_is_redacted(line: str, kept: str) -> None:
    from aks_compliance.redaction import redact_text
    shown = redact_text(line)
    assert CANARY not in shown and kept in shown and "<redacted>" in shown, shown


@pytest.mark.parametrize("line", ["--token-auth-file /etc/tokens.csv", "--secret-name app-tls", "--token --v=2",
                                  "--tls-cert-file /etc/x.crt"])
def test_flags_that_name_a_file_or_are_followed_by_a_flag_are_kept(line: str) -> None:
    from aks_compliance.redaction import redact_text
    assert redact_text(line) == line


def test_a_kubelet_command_line_with_a_two_word_token_never_reaches_evidence(tmp_path: Path) -> None:
    from aks_compliance.kubebench.family import KubeBenchOptions
    from aks_compliance.scan import ScanOptions, run_scan
    fixture = Path(__file__).parents[1] / "fixtures/k8s/AKS-180/failed-kube-bench-anonymous-auth-true.json"
    text = fixture.read_text().replace("--bootstrap-token=abcdef.0123456789abcdef",
                                       f"--bootstrap-token abcdef.{CANARY}")
    assert CANARY in text
    (tmp_path / "aks-nodepool1-12345678-vmss000000.json").write_text(text)
    run = run_scan(ScanOptions(inputs=[KubeBenchOptions(paths=[str(tmp_path)])]))
    assert any(r.outcome.value == "failed" for r in run.results if r.control_id)
    assert CANARY not in json.dumps(run.document(), default=str)


# -- many pods beside many network policies: each policy is read once, not once per pod -------------------------

def test_each_network_policy_is_checked_and_read_once_for_all_the_pods_of_its_namespace(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """1,000 pods and 1,000 NetworkPolicies in one namespace cost 80 s: every pod's controls checked the shape of
    every policy again (a million walks) and read each selector again. Counted here, not timed."""
    from aks_compliance.k8s import netpol, shapes
    n = 40
    items = [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"p{i}", "namespace": "shop",
                                                               "labels": {"app": f"a{i}"}},
              "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]}} for i in range(n)]
    items += [{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
               "metadata": {"name": f"np{i}", "namespace": "shop"},
               "spec": {"podSelector": {"matchLabels": {"app": f"a{i}"}}, "policyTypes": ["Ingress", "Egress"]}}
              for i in range(n)]
    (tmp_path / "big.json").write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    calls = {"shape": [], "selector": 0}
    real_malformed = shapes.K8S_SHAPES.malformed
    reader = "_read_selector" if hasattr(netpol.PolicyRule, "_read_selector") else "_selector"
    real_selector = getattr(netpol.PolicyRule, reader)

    def counting_malformed(kind, body, *args, **kwargs):
        calls["shape"].append(id(body))
        return real_malformed(kind, body, *args, **kwargs)

    def counting_selector(self):
        calls["selector"] += 1
        return real_selector(self)

    monkeypatch.setattr(shapes.K8S_SHAPES, "malformed", counting_malformed)
    monkeypatch.setattr(netpol.PolicyRule, reader, counting_selector)
    from .test_bad_inputs_k8s import _scan
    run = _scan(tmp_path / "big.json")
    # each pod is covered by its own policy (AKS-149: an ingress and an egress policy select the workload)
    assert {r.target.name: r.outcome.value for r in run.results if r.control_id == "AKS-149"} == \
        {f"shop/p{i}": "passed" for i in range(n)}
    assert len(calls["shape"]) == len(set(calls["shape"])), "an object's shape was checked twice"
    assert calls["selector"] <= n, calls["selector"]  # once per rule


def test_aggregated_cluster_roles_are_filled_in_without_walking_every_role_for_every_role_taken_in(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """500 ClusterRoles labelled for aggregation and 500 aggregating them cost 287 s: for each role taken in, the
    walk went over every ClusterRole again (that role aggregates nothing), and each rule was compared with every
    rule already taken. Counted here, not timed."""
    from aks_compliance.k8s import rbac
    n = 30
    items = [{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
              "metadata": {"name": f"src-{i}", "labels": {"agg": "x"}},
              "rules": [{"apiGroups": [""], "resources": [f"r{i}"], "verbs": ["get"]}]} for i in range(n)]
    items += [{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": f"agg-{i}"},
               "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"agg": "x"}}]}} for i in range(n)]
    (tmp_path / "roles.json").write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    calls = _counted(monkeypatch, rbac, "labels_of")
    from .test_bad_inputs_k8s import _scan
    run = _scan(tmp_path / "roles.json")
    filled = [t for t in run.targets if t.resource.type == "ClusterRole" and t.resource.name.startswith("agg-")]
    assert len(filled) == n and all(len(t.resource.body["rules"]) == n for t in filled)  # each source rule once
    # each aggregate reads the labels of every ClusterRole once (when filled in, and when its rules are read for
    # a control): a few times n * 2n, not n * n * 2n
    assert calls[0] <= 4 * n * 2 * n, calls[0]


def test_each_service_selector_is_read_once_for_all_the_pods_of_its_namespace(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """5,000 pods behind 5,000 Services took minutes: every pod's exposure controls read every Service's selector
    again. Counted here, not timed; the pods a Service selects are still found, in the order read."""
    from aks_compliance.controls.catalog import k8s_exposure
    n = 40
    items = []
    for i in range(n):
        items.append({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"p{i}", "namespace": "shop",
                                                                      "labels": {"app": f"a{i}", "tier": "web"}},
                      "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]}})
        items.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"s{i}", "namespace": "shop"},
                      "spec": {"type": "LoadBalancer" if i % 2 else "ClusterIP",
                               "selector": {"app": f"a{i}", "tier": "web"}, "ports": [{"port": 80}]}})
    (tmp_path / "svc.json").write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    calls = _counted(monkeypatch, k8s_exposure, "_str_selector")
    from .test_bad_inputs_k8s import _scan
    run = _scan(tmp_path / "svc.json")
    exposed = {r.target.name: r.outcome.value for r in run.results if r.control_id == "AKS-170"}
    assert {name for name, o in exposed.items() if o == "failed"} == {f"shop/p{i}" for i in range(1, n, 2)}
    assert calls[0] <= n, calls[0]  # once per Service


def _counted(monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> list[int]:
    """``owner.name`` replaced by itself counting its calls (in the returned list's one cell)."""
    calls = [0]
    real = getattr(owner, name)

    def counting(*args: object, **kwargs: object) -> object:
        calls[0] += 1
        return real(*args, **kwargs)
    monkeypatch.setattr(owner, name, counting)
    return calls
