"""Hostile and broken Kubernetes input: each case is reported, bounded, and costs nothing else.

Every case is scanned as its own ``--k8s`` scope next to a good scope (a privileged pod). It must give
a clear error or warning naming the file and, where there is one, the line; the good pod must still
be judged; time and memory stay bounded. What each kind of case gives:

| input                                              | outcome                                                   |
|----------------------------------------------------|-----------------------------------------------------------|
| YAML that does not parse, bad encodings, tags      | error naming file:line; the file contributes no objects   |
| unknown tags (``!Ref``, ``!vault``, ``!!python/...``) | error naming the tag; never constructed (safe loader)  |
| alias bombs, recursive aliases                     | error: refused before anything walks the expanded value   |
| more than 2,000,000 values in a file, over 64 MB   | error: refused before the nodes are built                 |
| one broken document among several                 | error per broken document; the first names the file's     |
|                                                    | other objects, which are not checked (design: no object   |
|                                                    | is judged without the rest of its file)                   |
| documents that are not objects, kustomize config   | warning "skipped: ..."; the rest of the file is checked   |
| objects of unknown or misspelt kinds               | warning per kind ("did you mean Deployment?"); kept for   |
|                                                    | lookups, checked by no control                            |
| a snapshot of another version, family or layout    | error naming the expected and the found schema            |
| truncated or corrupt gzip, broken or deep items    | error naming the snapshot (and line)                      |
"""

from __future__ import annotations

import gzip
import json
import os
import resource
import time
from pathlib import Path
from typing import Any

import pytest

from aks_compliance.k8s.manifests import MAX_ALIAS_EXPANSION, MAX_YAML_NODES
from aks_compliance.k8s.snapshot import write_snapshot
from aks_compliance.scan import ScanOptions, run_scan
from aks_compliance.arm.inputs import ArmOptions
from aks_compliance.k8s.source import K8sOptions

from .conftest import write_files

GOOD = """apiVersion: v1
kind: Pod
metadata:
  name: good
  namespace: shop
spec:
  containers:
  - name: app
    image: myacr.azurecr.io/app:1.0
    securityContext:
      privileged: true
"""
POD_HEAD = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: shop\n"
PWNED = "/tmp/aksc-k8s-bad-input-pwned"


def laughs(levels: int = 9, width: int = 9) -> str:
    """The billion-laughs document: 9 anchors, each a list of 9 aliases of the previous (9^9 'lol's)."""
    lines = ["apiVersion: v1", "kind: ConfigMap", "metadata: {name: laughs, namespace: shop}", "data:",
             '  a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        lines.append(f"  a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def laughs_in_pod_labels() -> str:
    anchors = "".join(f"    l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 10) + "]\n" for i in range(1, 8))
    return (POD_HEAD + "  labels:\n    l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n" + anchors +
            "spec:\n  containers:\n  - name: c\n    image: nginx\n    securityContext: {capabilities: {add: *l7}}\n"
            "    env: *l7\n")


def deep_block(depth: int) -> str:
    return "".join("  " * i + f"k{i}:\n" for i in range(depth)) + "  " * depth + "x\n"


def snapshot_text(schema: str = "aks-compliance/k8s-snapshot/v1", meta: Any = None, items: str = "") -> bytes:
    head = json.dumps({"schema": schema, "meta": {"scope": "x", "lists": {}, "gaps": []} if meta is None else meta},
                      separators=(",", ":"))[:-1]
    return gzip.compress((head + ',\n"items":[\n' + items + "\n]}\n").encode())


def _sparse(path: Path, size: int) -> None:
    with open(path, "wb") as fh:
        fh.truncate(size)


def _good_snapshot(path: Path) -> None:
    meta = {"scope": "cut", "lists": {"Pod": {"status": "complete"}}, "gaps": []}
    items = [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"p{i}", "namespace": "shop"}, "spec": {}}
             for i in range(200)]
    write_snapshot(path, meta, iter(items))


def _truncated_snapshot(path: Path) -> None:
    _good_snapshot(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


# (id, {relative path: text, bytes or callable(path)}, message substring, severity, expects a line number)
CASES: list[tuple[str, dict[str, Any], str, str, bool]] = [
    # -- alias bombs and recursion
    ("billion-laughs", {"bomb.yaml": laughs()}, "an alias bomb", "error", True),
    ("laughs-in-pod-labels", {"bomb.yaml": laughs_in_pod_labels()}, "an alias bomb", "error", True),
    ("laughs-after-a-good-document", {"bomb.yaml": GOOD.replace("good", "first") + "---\n" + laughs()},
     "an alias bomb", "error", True),
    ("recursive-alias", {"r.yaml": POD_HEAD + "spec: &s\n  containers: [*s]\n"}, "recursive alias", "error", True),
    ("recursive-alias-in-mapping", {"r.yaml": POD_HEAD + "  labels: &l {self: *l}\n"}, "recursive alias", "error",
     True),
    # -- tags: never constructed
    ("python-object-apply", {"t.yaml": POD_HEAD + f"spec: !!python/object/apply:os.system ['touch {PWNED}']\n"},
     "could not determine a constructor for the tag 'tag:yaml.org,2002:python/object/apply:os.system'", "error", True),
    ("python-name", {"t.yaml": POD_HEAD + "spec: {x: !!python/name:os.system ''}\n"},
     "python/name:os.system", "error", True),
    ("python-object-new", {"t.yaml": POD_HEAD + "spec: !!python/object/new:subprocess.Popen [[touch, x]]\n"},
     "python/object/new:subprocess.Popen", "error", True),
    ("cloudformation-ref", {"t.yaml": "apiVersion: v1\nkind: Pod\nmetadata:\n  name: !Ref PodName\n"},
     "tag '!Ref'", "error", True),
    ("vault-tag", {"t.yaml": POD_HEAD + "spec:\n  containers:\n  - name: c\n    image: !vault secret/image\n"},
     "tag '!vault'", "error", True),
    ("bad-binary", {"t.yaml": POD_HEAD + "  annotations: {x: !!binary '!!not base64!!'}\n"}, "base64", "error", True),
    ("bad-timestamp", {"t.yaml": POD_HEAD + "  annotations: {x: !!timestamp 2024-13-45}\n"}, "a value cannot be read",
     "error", True),
    # -- encodings and syntax
    ("latin-1", {"l.yaml": (POD_HEAD + "  labels: {team: caf\xe9}\n").encode("latin-1")}, "not UTF-8", "error", True),
    ("utf-16-without-bom", {"u.yaml": (POD_HEAD).encode("utf-16-le")}, "invalid YAML", "error", True),
    ("binary-garbage", {"g.yaml": bytes(range(256)) * 8}, "not UTF-8", "error", True),
    ("truncated-document", {"t.yaml": GOOD[: GOOD.index("containers") + 14] + "[{name: app, image: x"},
     "invalid YAML", "error", True),
    ("unbalanced-brackets", {"t.yaml": POD_HEAD + "  labels: {a: [b, c}\n"}, "invalid YAML", "error", True),
    ("unbalanced-quotes", {"t.yaml": POD_HEAD + "  labels: {a: \"b}\n"}, "invalid YAML", "error", True),
    ("tab-indentation", {"t.yaml": POD_HEAD + "spec:\n\tcontainers: []\n"}, "invalid YAML", "error", True),
    ("duplicate-key", {"d.yaml": POD_HEAD + "  name: q\n"}, "'name' appears twice", "error", True),
    ("unhashable-key", {"k.yaml": POD_HEAD + "  labels:\n    ? [a, b]\n    : c\n"}, "unhashable key", "error", True),
    ("one-broken-document-of-three", {"m.yaml": GOOD.replace("good", "first") + "---\n" + POD_HEAD +
                                      "  labels: [broken\n---\n" + GOOD.replace("good", "third")},
     "the file's other objects are not checked either (Pod shop/first (line 1), Pod shop/third", "error", True),
    # -- size and depth
    ("nested-flow-10000", {"n.yaml": "x: " + "[" * 10000 + "]" * 10000 + "\n"}, "maximum nesting depth", "error",
     True),
    ("nested-block-2000", {"n.yaml": deep_block(2000)}, "maximum nesting depth", "error", True),
    ("huge-file-100mb", {"h.yaml": lambda p: _sparse(p, 100 * 1024 * 1024)}, "over the 64 MB limit", "error", False),
    ("too-many-values", {"v.yaml": "[" + "1," * (MAX_YAML_NODES + 10) + "1]\n"}, "YAML values in one file",
     "error", True),
    ("number-of-100000-digits", {"i.yaml": POD_HEAD + "spec: {activeDeadlineSeconds: " + "9" * 100000 + "}\n"},
     "a number of 100,000 digits", "error", True),
    # -- JSON manifests
    ("json-truncated", {"j.json": json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}})[:-5]},
     "invalid JSON", "error", True),
    ("json-nested-10000", {"j.json": "[" * 10000 + "]" * 10000}, "nested too deeply", "error", False),
    ("json-duplicate-key", {"j.json": '{"apiVersion": "v1", "kind": "Pod",\n "kind": "Service"}'}, "appears twice",
     "error", True),
    ("json-array-of-scalars", {"j.json": "[1, 2, 3]"}, "not a Kubernetes object (an array)", "warning", True),
    ("json-number-overflow", {"j.json": '{"apiVersion": "v1", "kind": "Pod", "x": 1e999}'}, "outside the range",
     "error", True),
    # -- documents that are not objects
    ("document-is-a-scalar", {"s.yaml": "just a sentence\n"}, "not a Kubernetes object (a string)", "warning", True),
    ("list-with-non-object-items", {"l.yaml": "apiVersion: v1\nkind: List\nitems:\n- 1\n- two\n- [3]\n"},
     "not a Kubernetes object (a number)", "warning", True),
    ("object-without-kind", {"o.yaml": "apiVersion: v1\nmetadata: {name: x}\n"}, "no 'kind'", "warning", True),
    ("kind-not-a-string", {"o.yaml": "apiVersion: v1\nkind: [Pod]\nmetadata: {name: x}\n"},
     "kind must be a non-empty string (the API server rejects anything else), found an array", "error", True),
    ("object-without-apiversion", {"o.yaml": "kind: Pod\nmetadata: {name: x}\n"}, "has no 'apiVersion'", "warning",
     True),
    ("object-without-name", {"o.yaml": "apiVersion: v1\nkind: Pod\nmetadata: {namespace: shop}\n"},
     "Pod has no metadata.name", "error", True),
    ("namespace-not-a-string", {"o.yaml": "apiVersion: v1\nkind: Pod\nmetadata: {name: x, namespace: [a]}\n"},
     "metadata.namespace is not a string", "error", True),
    ("metadata-not-an-object", {"o.yaml": "apiVersion: v1\nkind: Pod\nmetadata: x\n"}, "no 'metadata' object",
     "error", True),
    ("kustomization", {"kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
                                             "resources: [a.yaml]\n"}, "kustomize build", "warning", True),
    ("unknown-kind", {"crd.yaml": "apiVersion: example.com/v1\nkind: Frobnicator\nmetadata: {name: f, namespace: shop}\n"},
     "kind 'Frobnicator' (apiVersion 'example.com/v1') are not checked by any control", "warning", True),
    ("misspelt-kind", {"typo.yaml": GOOD.replace("kind: Pod", "kind: Deploymnet")},
     "did you mean Deployment?", "warning", True),
    ("lower-case-kind", {"typo.yaml": GOOD.replace("kind: Pod", "kind: pod")}, "did you mean Pod?", "warning", True),
    # -- snapshots
    ("snapshot-newer-version", {"s.json.gz": snapshot_text("aks-compliance/k8s-snapshot/v2")},
     "expected schema 'aks-compliance/k8s-snapshot/v1', found 'aks-compliance/k8s-snapshot/v2' (another version",
     "error", True),
    ("snapshot-of-azure", {"s.json.gz": snapshot_text("aks-compliance/azure-snapshot/v1")},
     "(an Azure snapshot: give it to --arm)", "error", True),
    ("snapshot-uncompressed-newer", {"s.json": json.dumps({"schema": "aks-compliance/k8s-snapshot/v9", "items": []})},
     "found 'aks-compliance/k8s-snapshot/v9'", "error", True),
    ("snapshot-foreign-json", {"s.json.gz": gzip.compress(b'{"schema": "something-else", "items": []}')},
     "found 'something-else'", "error", True),
    ("snapshot-without-schema", {"s.json.gz": gzip.compress(b'{"items": []}')}, "found no 'schema'", "error", True),
    ("snapshot-truncated-gzip", {"s.json.gz": _truncated_snapshot}, "cannot read snapshot", "error", False),
    ("snapshot-gzip-garbage", {"s.json.gz": b"\x1f\x8b" + bytes(range(200))}, "cannot read snapshot", "error", False),
    ("snapshot-broken-item", {"s.json.gz": snapshot_text(items='{"kind": "Pod",\n{"kind":')},
     "snapshot item is not valid JSON", "error", True),
    ("snapshot-deep-item", {"s.json.gz": snapshot_text(items="[" * 100000 + "]" * 100000)},
     "nested too deeply", "error", True),
    ("snapshot-meta-not-an-object", {"s.json.gz": snapshot_text(meta=[1, 2])}, "no 'meta' object", "error", True),
    ("snapshot-not-utf8", {"s.json.gz": gzip.compress(b'{"schema": "aks-compliance/k8s-snapshot/v1", "x": "\xff"}')},
     "cannot read snapshot", "error", False),
]


def _scan(*paths: Path, controls: list[str] | None = None):
    return run_scan(ScanOptions(inputs=[K8sOptions(paths=[str(p) for p in paths])], controls=controls))


def _good_verdict(run) -> str:
    matches = [r for r in run.results if r.key == "AKS-100-good/shop/Pod/good"]
    assert len(matches) == 1, [r.key for r in run.results][:20]
    return matches[0].outcome.value


def _scan_beside_good(tmp_path: Path, name: str, manifest: str):
    """``manifest`` written to ``name`` and scanned (its file its own cluster) beside the good pod, which must
    still be judged: one bad object costs nothing else."""
    (tmp_path / name).write_text(manifest)
    (tmp_path / "good.yaml").write_text(GOOD)
    run = _scan(tmp_path / name, tmp_path / "good.yaml")
    assert _good_verdict(run) == "failed"
    return run


def test_there_are_at_least_50_cases() -> None:
    assert len(CASES) >= 50


@pytest.mark.parametrize("case_id,files,message,severity,has_line", CASES, ids=[c[0] for c in CASES])
def test_bad_input(tmp_path: Path, case_id: str, files: dict, message: str, severity: str, has_line: bool) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    write_files(bad, files)
    (tmp_path / "good.yaml").write_text(GOOD)
    # a single file is given as itself (snapshots are recognised as files, not inside directories)
    target = next(bad.iterdir()) if len(files) == 1 else bad
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    run = _scan(target, tmp_path / "good.yaml", controls=["AKS-100"])
    elapsed = time.perf_counter() - start
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert elapsed < 10, f"{case_id} took {elapsed:.1f}s"
    assert grown_mb < 300, f"{case_id} grew the process by {grown_mb:.0f} MB"
    assert _good_verdict(run) == "failed"  # the rest of the scan goes on
    reported = [d for d in run.diagnostics if d.file.startswith(str(bad))]
    assert reported, f"{case_id}: nothing reported"
    hits = [d for d in reported if message in d.message]
    assert hits, (case_id, [str(d) for d in reported])
    assert hits[0].severity == severity, str(hits[0])
    if has_line:
        assert hits[0].line, (case_id, str(hits[0]))
    assert "Traceback" not in hits[0].message and 'File "' not in hits[0].message
    if severity == "error":
        errors = [r for r in run.results if r.outcome.value == "error"]
        assert errors and all(r.target.file.startswith(str(bad)) for r in errors), [r.key for r in errors]
        # a file with an error contributes no objects: nothing from it is judged
        assert not [r for r in run.results if r.outcome.value != "error" and r.target.file
                    and r.target.file.startswith(str(bad)) and r.control_id == "AKS-100"]
    assert not os.path.exists(PWNED)


def test_alias_bomb_limits_are_documented_values() -> None:
    assert MAX_ALIAS_EXPANSION == 100_000 and MAX_YAML_NODES == 2_000_000


def test_anchors_and_aliases_within_the_limit_still_work(tmp_path: Path) -> None:
    """Anchors are legitimate YAML (shared env blocks, security contexts): a modest reuse is read."""
    text = ("apiVersion: v1\nkind: Pod\nmetadata: {name: shared, namespace: shop}\nspec:\n  containers:\n"
            "  - name: a\n    image: myacr.azurecr.io/a:1\n    securityContext: &sc {privileged: true}\n"
            "  - name: b\n    image: myacr.azurecr.io/b:1\n    securityContext: *sc\n")
    (tmp_path / "anchors.yaml").write_text(text)
    run = _scan(tmp_path / "anchors.yaml", controls=["AKS-100"])
    assert not run.diagnostics
    r = next(r for r in run.results if r.control_id == "AKS-100")
    assert r.outcome.value == "failed" and {e.path for e in r.evidence} == {
        "spec.containers[0].securityContext.privileged", "spec.containers[1].securityContext.privileged"}


def test_valid_unusual_encodings_are_read(tmp_path: Path) -> None:
    (tmp_path / "bom8.yaml").write_bytes(b"\xef\xbb\xbf" + GOOD.replace("good", "bom8").encode())
    (tmp_path / "utf16le.yaml").write_bytes(GOOD.replace("good", "utf16le").encode("utf-16"))
    (tmp_path / "utf16be.yaml").write_bytes(b"\xfe\xff" + GOOD.replace("good", "utf16be").encode("utf-16-be"))
    (tmp_path / "crlf.yaml").write_bytes(GOOD.replace("good", "crlf").replace("\n", "\r\n").encode())
    run = _scan(tmp_path, controls=["AKS-100"])
    assert not run.diagnostics
    got = {r.target.name: r.outcome.value for r in run.results if r.control_id == "AKS-100"}
    assert got == {f"shop/{n}": "failed" for n in ("bom8", "utf16le", "utf16be", "crlf")}
    crlf = next(r for r in run.results if r.target.name == "shop/crlf")
    assert crlf.evidence[0].line == 11


def test_a_value_nested_900_levels_deep_is_judged_and_shown_bounded(tmp_path: Path) -> None:
    """Deep enough to pass the parser's limit: the engine renders evidence of it without recursing."""
    deep = "[" * 900 + "]" * 900
    (tmp_path / "deep.yaml").write_text(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: lb\n  namespace: shop\n  annotations:\n"
        f"    service.beta.kubernetes.io/azure-load-balancer-internal: {deep}\nspec: {{type: LoadBalancer}}\n---\n"
        + GOOD + f"      capabilities: {{add: {deep}}}\n")
    start = time.perf_counter()
    run = _scan(tmp_path / "deep.yaml")
    assert time.perf_counter() - start < 20
    assert not run.errors
    json.dumps(run.document())  # the results document serialises
    # an annotation value is a string (map[string]string): the API server rejects the Service, so it is an error
    # that names the value's type, never the value
    r = next(r for r in run.results if r.key == "AKS-150-deep/shop/Service/lb")
    ev = next(e for e in r.evidence
              if e.path == "metadata.annotations.service.beta.kubernetes.io/azure-load-balancer-internal")
    assert r.outcome.value == "error" and "must be a string" in r.reason, r.reason
    assert len(r.reason) <= 400 and "[[[[" not in r.reason and len(ev.actual) <= 300 and "[[[[" not in ev.actual, ev
    # a capability is a string (core/v1 Capability): the API server rejects the pod, so every control says so, with
    # the value's type, not the value
    for cid in ("AKS-119", "AKS-100"):
        r = next(r for r in run.results if r.key == f"{cid}-deep/shop/Pod/good")
        assert r.outcome.value == "error" and "capabilities.add[0] must be a string" in r.reason, r.reason
        assert len(r.reason) <= 400 and "[[[[" not in r.reason, r.reason


def test_values_of_odd_yaml_types_do_not_crash_the_checks(tmp_path: Path) -> None:
    """Dates, binary, infinities and containers where strings belong: judged or errors, never a crash."""
    (tmp_path / "odd.yaml").write_text(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: lb\n  namespace: shop\n  annotations:\n"
        "    service.beta.kubernetes.io/azure-load-balancer-internal: 2024-01-01\nspec: {type: LoadBalancer}\n---\n"
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: odd\n  namespace: shop\n"
        "  labels: {a: 2024-01-01T00:00:00Z, b: !!binary aGVsbG8=, 3: true}\nspec:\n"
        "  terminationGracePeriodSeconds: .inf\n  containers:\n  - name: c\n    image: 2024-01-01\n"
        "    env: [{name: A, value: !!binary aGVsbG8=}, {name: B, value: {x: 1}}]\n"
        "    securityContext: {privileged: .nan, runAsUser: .inf, capabilities: {add: 1, drop: x}}\n"
        "  - [not, a, container]\n  - name: d\n    image: [a, b]\n")
    run = _scan(tmp_path / "odd.yaml")
    json.dumps(run.document(), allow_nan=False)  # valid JSON: no NaN/Infinity leaks into the results
    assert not run.diagnostics
    for r in run.results:
        if r.outcome.value == "error":
            assert "Traceback" not in r.reason, r.reason
    # a label whose value is a boolean (and a container that is a list, capabilities that are not lists): the API
    # server rejects the pod, so every control of it is an error naming the first wrong shape, none passes over it.
    # The timestamp and the !!binary label values are the strings Kubernetes' YAML decoder makes of them.
    odd = [r for r in run.results if r.target.name == "shop/odd"]
    assert odd and {r.outcome.value for r in odd} == {"error"}
    assert all(r.reason.endswith("odd.yaml:15 (at /1/metadata/labels/3): metadata.labels.3 must be a string (the "
                                 "REST API rejects anything else), found a boolean") for r in odd), odd[0].reason
    assert {(e.path, e.line) for r in odd for e in r.evidence} == {("metadata.labels.3", 15)}
    # the date annotation is the text 2024-01-01, judged as any other value
    assert next(r for r in run.results if r.key == "AKS-150-odd/shop/Service/lb").outcome.value != "error"


def test_symlink_loop_and_dangling_link_in_a_manifest_directory(tmp_path: Path) -> None:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    os.symlink(inputs, inputs / "loop")
    os.symlink(tmp_path / "nowhere.yaml", inputs / "dangling.yaml")
    (inputs / "good.yaml").write_text(GOOD)
    start = time.perf_counter()
    run = _scan(inputs, controls=["AKS-100"])
    assert time.perf_counter() - start < 10
    assert [r.outcome.value for r in run.results if r.control_id == "AKS-100"] == ["failed"]
    dangling = [d for d in run.errors if d.file.endswith("dangling.yaml")]
    assert dangling and "cannot read file" in dangling[0].message


def test_snapshots_given_to_the_other_family_say_where_they_belong(tmp_path: Path) -> None:
    from aks_compliance.azure.snapshot import SCHEMA as AZURE_SCHEMA

    k8s = tmp_path / "k8s.json.gz"
    k8s.write_bytes(snapshot_text())
    newer = tmp_path / "azure-v2.json.gz"
    newer.write_bytes(gzip.compress(json.dumps({"schema": "aks-compliance/azure-snapshot/v2", "meta": {}}).encode()))
    run = run_scan(ScanOptions(inputs=[ArmOptions(paths=[str(k8s), str(newer)])]))
    msgs = {Path(d.file).name: d.message for d in run.errors}
    assert "(a Kubernetes snapshot: give it to --k8s)" in msgs["k8s.json.gz"], msgs
    assert f"expected schema {AZURE_SCHEMA!r}, found 'aks-compliance/azure-snapshot/v2' (another version" \
        in msgs["azure-v2.json.gz"], msgs


def test_unknown_kinds_are_kept_for_lookups_but_checked_by_no_control(tmp_path: Path) -> None:
    (tmp_path / "crd.yaml").write_text(
        "apiVersion: example.com/v1\nkind: Frobnicator\nmetadata: {name: f1, namespace: shop}\n---\n"
        "apiVersion: example.com/v1\nkind: Frobnicator\nmetadata: {name: f2, namespace: shop}\n---\n"
        + GOOD.replace("kind: Pod", "kind: Deploymnet"))
    run = _scan(tmp_path / "crd.yaml")
    warnings = sorted(d.message for d in run.diagnostics)
    assert len(warnings) == 2 and warnings[0].startswith("1 object(s) of kind 'Deploymnet'")
    assert warnings[1].startswith("2 object(s) of kind 'Frobnicator'")
    assert not run.errors
    assert not [r for r in run.results if "Frobnicator" in r.key or "Deploymnet" in r.key]
    # their namespace is still known to exist (implied), so namespace controls run
    assert any(r.key.endswith("Namespace/shop") for r in run.results)


# -- properties (hypothesis; the CI budget of tests/test_fuzz.py, AKSC_FUZZ_EXAMPLES for a longer run) ------
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from aks_compliance.engine import MAX_ACTUAL, _bounded_json, redact, render  # noqa: E402
from aks_compliance.k8s.manifests import parse_yaml_stream, read_file  # noqa: E402
from aks_compliance.redaction import redact_text  # noqa: E402

FUZZ = settings(max_examples=int(os.environ.get("AKSC_FUZZ_EXAMPLES", "150")), deadline=2000,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
                derandomize=os.environ.get("AKSC_FUZZ_RANDOM") != "1")
YAML_BITS = st.sampled_from(["apiVersion: v1\n", "kind: Pod\n", "metadata:\n", "  name: x\n", "---\n", "- ", "[", "]",
                             "{", "}", "&a ", "*a", "!!python/object ", "!Ref ", "? ", ": ", "<<: *a\n", "'", '"',
                             "\t", "  ", "\n", "%YAML 1.1\n", "...\n", "1e999", "9" * 5000, "\x00", "\ufeff", "#"])
YAML_TEXT = st.lists(st.one_of(YAML_BITS, st.text(max_size=8)), max_size=40).map("".join)
JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner,
                                                                                       max_size=5), max_leaves=30)


@FUZZ
@given(YAML_TEXT)
def test_property_any_yaml_text_gives_objects_or_diagnostics_never_an_exception(tmp_path_factory, text: str) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "f.yaml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    result = read_file(path)  # must not raise
    for d in result.diagnostics:
        assert d.severity in ("error", "warning") and d.message and d.file == str(path)
    if any(d.severity == "error" for d in result.diagnostics):
        assert not result.objects


@FUZZ
@given(YAML_TEXT)
def test_property_the_stream_parser_raises_only_input_errors(text: str) -> None:
    try:
        parse_yaml_stream(text, "f.yaml")
    except Exception as exc:  # noqa: BLE001 - the property: nothing but InputError
        from aks_compliance.errors import InputError
        assert isinstance(exc, InputError), repr(exc)


@FUZZ
@given(JSON_VALUES)
def test_property_bounded_rendering_is_json_dumps_of_the_redacted_value(value) -> None:
    def strings(v):  # the reference: key redaction (redact) and value redaction (redact_text) of every string
        if isinstance(v, dict):
            return {k: strings(x) for k, x in v.items()}
        if isinstance(v, list):
            return [strings(x) for x in v]
        return redact_text(v) if isinstance(v, str) else v
    assert _bounded_json(value, 10 ** 9) == json.dumps(redact(strings(value)), ensure_ascii=False, default=str)
    shown = render(value)
    assert len(shown) <= MAX_ACTUAL


@FUZZ
@given(st.text(max_size=40), st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEF0123456789%+/", min_size=8, max_size=40))
def test_property_sas_signatures_never_survive_redaction(prefix: str, sig: str) -> None:
    url = f"https://st.blob.core.windows.net/c/{prefix}?sv=2022-11-02&sp=r&sig={sig}&se=2030"
    once = redact_text(url)
    assert sig not in once.split("sig=", 1)[1] and redact_text(once) == once  # redacted, and idempotent
    assert once.endswith("&se=2030")


SHAPE_CASES = [  # (manifest, target name, the path and expected shape the error names)
    ("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec: {containers: yo}\n",
     "shop/p", "spec.containers must be an array"),
    ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: shop}\nspec: [1, 2]\n",
     "shop/d", "spec must be an object"),
    ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: shop}\n"
     "spec: {template: {spec: {containers: [{name: c, image: x, securityContext: privileged}]}}}\n",
     "shop/d", "spec.template.spec.containers[0].securityContext must be an object"),
    ("apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: j, namespace: shop}\n"
     "spec: {jobTemplate: {spec: {template: {spec: {initContainers: {name: c}}}}}}\n",
     "shop/j", "spec.jobTemplate.spec.template.spec.initContainers must be an array"),
    ("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\n"
     "spec: {containers: [{name: c, image: x}], volumes: [{name: v, hostPath: /etc}]}\n",
     "shop/p", "spec.volumes[0].hostPath must be an object"),
    ("apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: rb, namespace: kube-system}\n"
     "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: admin}\nsubjects: {kind: User, name: eve}\n",
     "kube-system/rb", "subjects must be an array"),
    ("apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: r, namespace: shop}\n"
     "rules: [{apiGroups: [''], resources: secrets, verbs: ['*']}]\n",
     "shop/r", "rules[0].resources must be an array"),
    ("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: np, namespace: shop}\n"
     "spec: {podSelector: {}, ingress: {from: []}}\n",
     "shop/np", "spec.ingress must be an array"),
    ("apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: shop, annotations: [a]}\nspec: {type: LoadBalancer}\n",
     "shop/s", "metadata.annotations must be an object"),
    # typed scalars: the API server's decoder rejects a string for a bool or an integer field (core/v1 types.go:
    # SecurityContext.Privileged *bool, RunAsUser *int64, PodSpec.HostPID bool). Read as strings, "true" is not true
    # and "0" is not 0: privileged, hostPID and runAsUser 0 passed AKS-100, AKS-101 and AKS-117
    ("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\n"
     "spec: {containers: [{name: c, image: x, securityContext: {privileged: 'true'}}]}\n",
     "shop/p", "spec.containers[0].securityContext.privileged must be a boolean"),
    ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: shop}\n"
     "spec: {template: {spec: {hostPID: 'true', containers: [{name: c, image: x}]}}}\n",
     "shop/d", "spec.template.spec.hostPID must be a boolean"),
    ("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\n"
     "spec: {securityContext: {runAsUser: '0'}, containers: [{name: c, image: x}]}\n",
     "shop/p", "spec.securityContext.runAsUser must be an integer"),
    ("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\n"
     "spec: {containers: [{name: c, image: x, ports: [{containerPort: 80, hostPort: '80'}]}]}\n",
     "shop/p", "spec.containers[0].ports[0].hostPort must be an integer"),
    ("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\n"
     "spec: {automountServiceAccountToken: 'false', containers: [{name: c, image: x}]}\n",
     "shop/p", "spec.automountServiceAccountToken must be a boolean"),
    ("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\n"
     "spec: {containers: [{name: c, image: x, securityContext: {capabilities: {add: [{name: SYS_ADMIN}]}}}]}\n",
     "shop/p", "spec.containers[0].securityContext.capabilities.add[0] must be a string"),
    ("apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: sa, namespace: shop}\nautomountServiceAccountToken: 'no'\n",
     "shop/sa", "automountServiceAccountToken must be a boolean"),
    # a pod runs at least one container: the API server rejects a pod spec without (core validation,
    # "spec.containers: Required value"); over zero containers every container-level control passed
    ("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec: {containers: []}\n",
     "shop/p", "spec.containers must be a non-empty array (a pod runs at least one container)"),
    ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: shop}\n"
     "spec: {template: {spec: {initContainers: [{name: i, image: x}]}}}\n",
     "shop/d", "spec.template.spec.containers must be a non-empty array (a pod runs at least one container)"),
    # a resource quantity the API server cannot parse (resource.Quantity: digits with an SI, binary or exponent
    # suffix): read as set, `memory: 1GB` passed AKS-128 although no such pod exists
    ("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\n"
     "spec: {containers: [{name: c, image: x, resources: {limits: {cpu: 500m, memory: 1GB}}}]}\n",
     "shop/p", "spec.containers[0].resources.limits.memory must be a non-negative resource quantity (such as 500m, 128Mi or "
               "1.5)"),
    # a negative quantity (core validation, ValidateNonnegativeQuantity: "must be greater than or equal to 0")
    ("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\n"
     "spec: {containers: [{name: c, image: x, resources: {limits: {cpu: '-1', memory: 128Mi}}}]}\n",
     "shop/p", "spec.containers[0].resources.limits.cpu must be a non-negative resource quantity (such as 500m, 128Mi or "
               "1.5)"),
    # an env var with both a value and valueFrom (core validation, validateEnvVarValueFrom: "may not be specified
    # when `value` is not empty"): read as a literal, the secretKeyRef beside it passed or failed AKS controls on a
    # pod that cannot exist; so do a valueFrom with no source, or with two
    ("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\n"
     "spec: {containers: [{name: c, image: x, env: [{name: A, value: plain, "
     "valueFrom: {secretKeyRef: {name: s, key: k}}}]}]}\n",
     "shop/p", "spec.containers[0].env[0].valueFrom must be absent where value is not empty (the API server: may not be "
               "specified when `value` is not empty)"),
    ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: shop}\n"
     "spec: {template: {spec: {containers: [{name: c, image: x, env: [{name: A, value: ok}, {name: B, "
     "valueFrom: {secretKeyRef: {name: s, key: k}, configMapKeyRef: {name: m, key: k}}}]}]}}}\n",
     "shop/d", "spec.template.spec.containers[0].env[1].valueFrom must be exactly one of fieldRef, resourceFieldRef, "
               "configMapKeyRef, secretKeyRef or fileKeyRef"),
    ("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\n"
     "spec: {initContainers: [{name: i, image: x, env: [{name: A, valueFrom: {}}]}], "
     "containers: [{name: c, image: x}]}\n",
     "shop/p", "spec.initContainers[0].env[0].valueFrom must be exactly one of fieldRef, resourceFieldRef, configMapKeyRef, "
               "secretKeyRef or fileKeyRef"),
    # label values are strings (ObjectMeta.Labels map[string]string: the decoder rejects a number); read as a
    # level, `enforce: 1` would be judged by the Pod Security Admission controls
    ("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {pod-security.kubernetes.io/enforce: 1}}\n",
     "shop", "metadata.labels.pod-security.kubernetes.io/enforce must be a string"),
    # envFrom: exactly one of configMapRef and secretRef (core validation, validateEnvFrom)
    ("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\n"
     "spec: {containers: [{name: c, image: x, envFrom: [{secretRef: {name: s}, configMapRef: {name: m}}]}]}\n",
     "shop/p", "spec.containers[0].envFrom[0] must be exactly one of configMapRef or secretRef"),
    # a request above its limit (core validation, ValidateResourceRequirements: "must be less than or equal to cpu
    # limit"), compared as quantities: 1 CPU is more than 500m, 1Gi more than 512Mi (a string compare says neither)
    ("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\n"
     "spec: {containers: [{name: c, image: x, resources: {requests: {cpu: '1'}, limits: {cpu: 500m}}}]}\n",
     "shop/p", "spec.containers[0].resources.requests.cpu must be at most the cpu limit (500m)"),
    ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: shop}\n"
     "spec: {template: {spec: {initContainers: [{name: i, image: x, resources: {requests: {memory: 1Gi}, "
     "limits: {memory: 512Mi}}}], containers: [{name: c, image: x}]}}}\n",
     "shop/d", "spec.template.spec.initContainers[0].resources.requests.memory must be at most the memory limit (512Mi)"),
    ("apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: j, namespace: shop}\nspec: {schedule: '@daily'}\n",
     "shop/j", "spec.jobTemplate.spec.template.spec.containers must be a non-empty array (a pod runs at least one "
               "container)"),
]


@pytest.mark.parametrize("manifest,name,message", SHAPE_CASES, ids=[m for _, _, m in SHAPE_CASES])
def test_an_object_of_a_shape_the_api_server_rejects_is_an_error_for_every_control(
        tmp_path: Path, manifest: str, name: str, message: str) -> None:
    """Read as absent, `containers: yo` passed every container-level control over zero containers."""
    run = _scan_beside_good(tmp_path, "bad.yaml", manifest)
    mine = [r for r in run.results if r.target.name == name and r.target.file.endswith("bad.yaml")]
    kinds_judged = {r.target.type for r in mine}
    assert mine and {r.outcome.value for r in mine} == {"error"}, (kinds_judged, [r.outcome.value for r in mine])
    for r in mine:
        assert "bad.yaml:" in r.reason and f"{message} (the REST API rejects anything else)" in r.reason, r.reason
        assert len(r.evidence) == 1 and r.evidence[0].file.endswith("bad.yaml") and r.evidence[0].line


def _as_snapshot(path: Path, manifest: str, extra: list[Any] = ()) -> Path:
    """The manifest's objects (and ``extra`` items, as they are) in a snapshot, every list read completely."""
    import yaml
    meta = {"scope": "snap", "lists": {k: {"status": "complete"} for k in (
        "Pod", "Namespace", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding", "NetworkPolicy", "Service",
        "Deployment", "CronJob", "ServiceAccount")}, "gaps": []}
    write_snapshot(path, meta, [*yaml.safe_load_all(manifest), *extra])
    return path


@pytest.mark.parametrize("manifest,name,message", SHAPE_CASES, ids=[m for _, _, m in SHAPE_CASES])
def test_a_snapshot_object_of_a_rejected_shape_is_an_error_too(tmp_path: Path, manifest: str, name: str,
                                                               message: str) -> None:
    """A snapshot is a file a user passes (edited, corrupted, or not from a cluster at all): trusted, a Pod
    with `containers: yo` passed 41 controls over zero containers."""
    (tmp_path / "good.yaml").write_text(GOOD)
    run = _scan(_as_snapshot(tmp_path / "s.json.gz", manifest), tmp_path / "good.yaml")
    assert _good_verdict(run) == "failed"
    mine = [r for r in run.results if r.target.name == name and r.target.file.endswith("s.json.gz")]
    assert mine and {r.outcome.value for r in mine} == {"error"}, [r.outcome.value for r in mine]
    assert all("s.json.gz:3 " in r.reason and message in r.reason for r in mine), mine[0].reason


def test_snapshot_items_that_are_not_objects_are_listed_or_errors_never_dropped(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text(GOOD)
    snap = _as_snapshot(tmp_path / "s.json.gz", "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n", [
        json.dumps("a string"), 7, {"apiVersion": "v1", "metadata": {"name": "no-kind"}},  # a str item is its JSON
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"namespace": "shop"}, "spec": {}},
        {"apiVersion": "v1", "kind": ["Pod"], "metadata": {"name": "p", "namespace": "shop"}}])
    run = _scan(snap, tmp_path / "good.yaml")
    assert _good_verdict(run) == "failed"
    listed = {(e.pointer, e.line, e.reason) for e in run.ledger.entries if e.type == "document"}
    assert listed == {("/items/1", 4, "skipped: not a Kubernetes object (a string)"),
                      ("/items/2", 5, "skipped: not a Kubernetes object (a number)"),
                      ("/items/3", 6, "skipped: not a Kubernetes object (no 'kind')")}
    errors = sorted((d.line, d.message) for d in run.diagnostics if d.severity == "error")
    assert errors == [(7, "Pod has no metadata.name"),
                      (8, "kind must be a non-empty string (the API server rejects anything else), found an array")]


def test_a_document_that_is_not_an_object_is_listed_in_the_coverage(tmp_path: Path) -> None:
    run = _scan_beside_good(tmp_path, "mixed.yaml", GOOD.replace("name: good", "name: other") +
                            "---\nreplicaCount: 3\nimage: {tag: latest}\n")
    entry = next(e for e in run.ledger.entries if e.type == "document")
    assert entry.status == "not_evaluated" and entry.reason == "skipped: not a Kubernetes object (no 'kind')"
    assert entry.file.endswith("mixed.yaml") and entry.pointer == "/1" and entry.line == 13


def test_a_binding_to_a_malformed_role_is_unknown_not_passed(tmp_path: Path) -> None:
    """The role's rules read as absent would grant nothing, and every binding control would pass the binding."""
    run = _scan_beside_good(tmp_path, "rbac.yaml",
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: r, namespace: kube-system}\n"
        "rules: {apiGroups: [''], resources: [secrets], verbs: [get]}\n---\n"
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: rb, namespace: kube-system}\n"
        "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: r}\nsubjects: [{kind: User, name: eve}]\n")
    binding = [r for r in run.results if r.target.name == "kube-system/rb"]
    role = [r for r in run.results if r.target.name == "kube-system/r"]
    assert role and {r.outcome.value for r in role} == {"error"}
    # the controls that read what a binding grants (AKS-133, "the default namespace is not used", does not)
    judged = [r for r in binding if r.outcome.value != "not_applicable" and "AKS-134" <= r.control_id <= "AKS-143"]
    assert judged and "passed" not in {r.outcome.value for r in judged}, [(r.control_id, r.outcome.value) for r in binding]
    unknown = [r for r in judged if r.outcome.value == "unknown"]
    assert unknown and all("the Role r it binds has a shape the API server rejects" in r.reason
                           and "rbac.yaml:4" in r.reason and "rules must be an array" in r.reason for r in unknown)


@pytest.mark.parametrize("part,reason", [
    ("metadata: {name: part, labels: {agg: 'true'}}\nrules: {apiGroups: [''], resources: [secrets], verbs: [get]}\n",
     "aggregates ClusterRole part, which has a shape the API server rejects"),
    ("metadata: {name: part, labels: [agg]}\nrules: [{apiGroups: [''], resources: [secrets], verbs: [get]}]\n",
     "the labels of ClusterRole part have a shape the API server rejects"),
], ids=["rules-not-a-list", "labels-not-an-object"])
def test_a_binding_to_an_aggregate_of_a_malformed_cluster_role_is_unknown_not_passed(
        tmp_path: Path, part: str, reason: str) -> None:
    """The aggregate's rules are those of the ClusterRoles its selectors match: one that cannot be read (its
    rules, or its labels and so whether it is matched) would add nothing unseen."""
    run = _scan_beside_good(tmp_path, "rbac.yaml",
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: agg}\n"
        "aggregationRule: {clusterRoleSelectors: [{matchLabels: {agg: 'true'}}]}\nrules: []\n---\n"
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n" + part + "---\n"
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: crb}\n"
        "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: agg}\n"
        "subjects: [{kind: User, name: eve}]\n")
    binding = [r for r in run.results if r.target.name == "crb" and "AKS-134" <= r.control_id <= "AKS-143"
               and r.outcome.value != "not_applicable"]
    assert binding and "passed" not in {r.outcome.value for r in binding}, [(r.control_id, r.outcome.value) for r in binding]
    assert all(r.outcome.value == "unknown" and reason in r.reason for r in binding), [r.reason for r in binding]


def test_a_binding_to_a_default_role_a_malformed_role_aggregates_into_is_unknown(tmp_path: Path) -> None:
    """The default edit role takes in every ClusterRole labelled aggregate-to-edit (or -view): one that cannot be
    read makes what edit grants unknown, as for an aggregate declared in the manifests."""
    run = _scan_beside_good(tmp_path, "rbac.yaml",
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n"
        "metadata: {name: part, labels: {rbac.authorization.k8s.io/aggregate-to-view: 'true'}}\n"
        "rules: {apiGroups: [''], resources: [nodes/proxy], verbs: [get]}\n---\n"
        # bound cluster-wide: nodes are cluster-scoped, so AKS-140 does not apply to a RoleBinding
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: rb}\n"
        "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}\n"
        "subjects: [{kind: User, name: eve}]\n")
    binding = [r for r in run.results if r.target.name == "rb" and r.control_id == "AKS-140"]
    assert [r.outcome.value for r in binding] == ["unknown"], [(r.outcome.value, r.reason) for r in binding]
    assert "the ClusterRole edit aggregates ClusterRole part, which has a shape the API server rejects" in binding[0].reason


def test_a_namespace_with_a_malformed_network_policy_is_unknown_not_isolated(tmp_path: Path) -> None:
    """The API server rejects the policy, so it is not in force; read as a policy with no rules, it would
    isolate the namespace on paper."""
    manifest = ("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\n"
                "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: shop}\n"
                "spec: {podSelector: {}, policyTypes: [Ingress, Egress], ingress: {from: []}}\n")
    run = _scan_beside_good(tmp_path, "np.yaml", manifest)
    ns = {r.control_id: r for r in run.results if r.label == "np/Namespace/shop"}
    for cid in ("AKS-146", "AKS-147"):
        assert ns[cid].outcome.value == "unknown", (cid, ns[cid].outcome, ns[cid].reason)
        assert "NetworkPolicy deny has a shape the API server rejects" in ns[cid].reason
        assert "np.yaml:8" in ns[cid].reason and "spec.ingress must be an array" in ns[cid].reason
    # the same policy well formed isolates the namespace
    run = _scan_beside_good(tmp_path, "np.yaml", manifest.replace("ingress: {from: []}", "ingress: []"))
    ns = {r.control_id: r for r in run.results if r.label == "np/Namespace/shop"}
    assert ns["AKS-146"].outcome.value == "passed" and ns["AKS-147"].outcome.value == "passed"


def _fresh_render(value):
    from aks_compliance import engine
    engine._RENDERED.clear()
    return render(value)


@FUZZ
@given(JSON_VALUES, JSON_VALUES)
def test_property_a_rendering_remembered_by_content_is_the_rendering_of_the_value(a, b) -> None:
    """Objects are remembered by content (the same securityContext on thousands of pods): a value never
    takes another's text."""
    want_b = _fresh_render(b)
    render(a)
    assert render(b) == want_b
    assert render(json.loads(json.dumps(b))) == want_b  # an equal copy, another object: the same text


@pytest.mark.parametrize("a,b", [({"x": -0.0}, {"x": 0.0}), ({"x": True}, {"x": 1}), ({"x": 1.0}, {"x": 1}),
                                 ({"a": 1, "b": 2}, {"b": 2, "a": 1}), ([None], [False]), ({"k": [1]}, {"k": [True]})])
def test_values_equal_in_python_but_not_in_json_are_rendered_apart(a, b) -> None:
    render(a)
    assert render(b) == _fresh_render(b) == json.dumps(b)


def test_a_null_network_policy_rule_is_the_empty_rule_not_a_malformed_one(tmp_path: Path) -> None:
    """`ingress:` with an empty item (`- `) is decoded by the API server as `- {}`: allow all. A null container is
    not valid (it has no name): the pod is malformed."""
    run = _scan_beside_good(tmp_path, "np.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\n"
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: open, namespace: shop}\n"
        "spec:\n  podSelector: {}\n  policyTypes: [Ingress]\n  ingress:\n  -\n---\n"
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec:\n  containers:\n  -\n")
    policy = [r for r in run.results if r.label == "np/shop/NetworkPolicy/open"]
    assert policy and "error" not in {r.outcome.value for r in policy}
    ns = {r.control_id: r for r in run.results if r.label == "np/Namespace/shop"}
    assert ns["AKS-147"].outcome.value == "failed"  # an allow-all rule: the namespace is not isolated for ingress
    pod = [r for r in run.results if r.label == "np/shop/Pod/p"]
    assert pod and {r.outcome.value for r in pod} == {"error"}
    assert "spec.containers[0] must be an object" in pod[0].reason and "found null" in pod[0].reason


def test_quantities_compare_by_the_number_they_stand_for() -> None:
    # Kubernetes docs (Resource Management for Pods and Containers, memory units): 128974848, 129e6, 129M,
    # 128974848000m and 123Mi are about the same value; the first, fourth and fifth exactly
    from aks_compliance.k8s.shapes import quantity_value as q
    assert q("128974848") == q("128974848000m") == q("123Mi") == q(128974848)
    assert q("129e6") == q("129M") == q("129000k")
    assert q("500m") == q(0.5) < q("1") < q("1Ki") == q("1024") < q("1.1k") and q("1E") == q("1e18")
    assert q("0.5Gi") == q("512Mi") and q(" 2Mi ") == q("2097152")
    assert q("1GB") is None and q(True) is None and q(float("nan")) is None and q([1]) is None
