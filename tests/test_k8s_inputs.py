"""Reading Kubernetes inputs: manifests (YAML/JSON, multi-document, List kinds, Helm template output) with
file:line provenance and clear errors; snapshots; one scope per --k8s argument."""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

from aks_compliance.k8s.snapshot import SCHEMA, read_snapshot, write_snapshot
from aks_compliance.scan import ScanOptions, run_scan
from aks_compliance.k8s.source import K8sOptions

POD = """apiVersion: v1
kind: Pod
metadata:
  name: {name}
  namespace: {ns}
spec:
  containers:
  - name: app
    image: myacr.azurecr.io/app:1.0
    securityContext:
      privileged: {priv}
"""


def scan(*paths: Path, controls: list[str] | None = None, **kw):
    return run_scan(ScanOptions(inputs=[K8sOptions(paths=[str(p) for p in paths])], controls=controls, **kw))


def result(run, key: str):
    matches = [r for r in run.results if r.key == key]
    assert len(matches) == 1, [r.key for r in run.results if r.control_id == key.split("-")[0] + "-" + key.split("-")[1]]
    return matches[0]


def test_helm_template_output_multi_document_with_lines(tmp_path: Path) -> None:
    text = ("---\n# Source: shop/templates/sa.yaml\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: web\n"
            "  namespace: shop\n---\n# Source: shop/templates/empty.yaml\n---\n# Source: shop/templates/pod.yaml\n"
            + POD.format(name="web", ns="shop", priv="true"))
    f = tmp_path / "rendered.yaml"
    f.write_text(text)
    run = scan(f, controls=["AKS-100"])
    assert not run.diagnostics
    r = result(run, "AKS-100-rendered/shop/Pod/web")
    assert r.outcome.value == "failed"
    ev = r.evidence[0]
    assert ev.path == "spec.containers[0].securityContext.privileged"
    assert text.splitlines()[ev.line - 1].strip() == "privileged: true"
    assert r.target.line == text.splitlines().index("apiVersion: v1", 5) + 1
    assert r.target.pointer == "/2"  # the third document (the empty one counts)


def test_list_kinds_and_json_manifests(tmp_path: Path) -> None:
    doc = {"apiVersion": "v1", "kind": "List", "items": [
        json.loads(json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a", "namespace": "x"},
                               "spec": {"containers": [{"name": "c", "image": "i:1", "securityContext": {"privileged": True}}]}})),
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "b", "namespace": "x"},
         "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "i:1"}]}}}}]}
    f = tmp_path / "list.json"
    f.write_text(json.dumps(doc, indent=2))
    typed = tmp_path / "pods.yaml"  # kubectl get pods -o yaml: items of a PodList may omit kind
    typed.write_text("apiVersion: v1\nkind: PodList\nitems:\n- metadata:\n    name: c\n    namespace: x\n  spec:\n"
                     "    containers:\n    - name: c\n      image: i:1\n      securityContext:\n        privileged: true\n")
    run = scan(f, typed, controls=["AKS-100"])
    assert not run.diagnostics
    a = result(run, "AKS-100-list/x/Pod/a")
    assert a.outcome.value == "failed" and a.target.pointer == "/items/0"
    assert '"privileged": true' in f.read_text().splitlines()[a.evidence[0].line - 1]
    assert result(run, "AKS-100-list/x/Deployment/b").outcome.value == "passed"
    c = result(run, "AKS-100-pods/x/Pod/c")
    assert c.outcome.value == "failed" and c.target.pointer == "/0/items/0" and c.evidence[0].line == 12


def test_bad_yaml_names_file_line_and_column_and_the_rest_goes_on(tmp_path: Path) -> None:
    d = tmp_path / "manifests"
    d.mkdir()
    (d / "good.yaml").write_text(POD.format(name="ok", ns="shop", priv="true"))
    (d / "broken.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n  labels: [a\n")
    (d / "dup.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: d\n  name: e\nspec: {}\n")
    (d / "noname.yaml").write_text("apiVersion: v1\nkind: Service\nmetadata:\n  namespace: shop\n---\n"
                                   + POD.format(name="lost", ns="shop", priv="false"))
    (d / "notes.yaml").write_text("# nothing but a comment\n")
    (d / "patch.yaml").write_text("- op: replace\n  path: /spec/replicas\n  value: 3\n")
    (d / "bad.json").write_text('{"apiVersion": "v1", "kind": "Pod",, }')
    run = scan(d, controls=["AKS-100"])
    errors = {Path(e.file).name: e for e in run.errors}
    assert set(errors) == {"broken.yaml", "dup.yaml", "noname.yaml", "bad.json"}
    assert errors["broken.yaml"].line == 6 and "invalid YAML" in errors["broken.yaml"].message
    assert errors["dup.yaml"].line == 5 and "'name' appears twice" in errors["dup.yaml"].message
    assert errors["noname.yaml"].line == 1 and "Service has no metadata.name" in errors["noname.yaml"].message
    assert errors["bad.json"].line == 1 and "invalid JSON" in errors["bad.json"].message
    warnings = [d for d in run.diagnostics if d.severity == "warning"]
    assert [Path(w.file).name for w in warnings] == ["patch.yaml"] and "not a Kubernetes object" in warnings[0].message
    # a file with an error contributes no objects (its other documents would be checked without it)
    keys = {r.key for r in run.results if r.control_id == "AKS-100"}
    assert keys == {"AKS-100-manifests/shop/Pod/ok"}
    assert result(run, "AKS-100-manifests/shop/Pod/ok").outcome.value == "failed"
    assert {r.key.split(":")[0] for r in run.results if r.control_id is None} == {
        "input-error-broken.yaml", "input-error-dup.yaml", "input-error-noname.yaml", "input-error-bad.json"}


def test_each_argument_is_its_own_scope(tmp_path: Path) -> None:
    netpol = ("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: deny\n  namespace: shop\n"
              "spec:\n  podSelector: {}\n  policyTypes: [Ingress, Egress]\n")
    a = tmp_path / "team-a"
    b = tmp_path / "team-b"
    a.mkdir()
    b.mkdir()
    (a / "netpol.yaml").write_text(netpol)
    (a / "pod.yaml").write_text(POD.format(name="web", ns="shop", priv="false"))
    (b / "pod.yaml").write_text(POD.format(name="web", ns="shop", priv="false"))
    run = scan(a, b, controls=["AKS-146", "AKS-149"])
    assert result(run, "AKS-149-team-a/shop/Pod/web").outcome.value == "passed"
    assert result(run, "AKS-149-team-b/shop/Pod/web").outcome.value == "failed"  # a's policy is not b's
    assert result(run, "AKS-146-team-a/Namespace/shop").outcome.value == "passed"
    assert result(run, "AKS-146-team-b/Namespace/shop").outcome.value == "failed"
    refs = {r.target.cluster for r in run.results}
    assert refs == {"team-a", "team-b"}
    # the same directory twice: two scopes, told apart
    again = scan(a, a, controls=["AKS-146"])
    assert {r.target.cluster for r in again.results} == {"team-a", "team-a-2"}


def test_duplicate_objects_in_one_scope_keep_unique_ids(tmp_path: Path) -> None:
    f = tmp_path / "twice.yaml"
    f.write_text(POD.format(name="web", ns="shop", priv="false") + "---\n" + POD.format(name="web", ns="shop", priv="true"))
    run = scan(f, controls=["AKS-100"])
    keys = sorted(r.key for r in run.results if r.control_id == "AKS-100")
    assert keys == ["AKS-100-twice/shop/Pod/web", "AKS-100-twice/shop/Pod/web#2"]


def test_snapshot_round_trip_pretty_printed_and_broken(tmp_path: Path) -> None:
    items = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop", "labels": {"x": "y"}}},
             {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "shop"},
              "spec": {"containers": [{"name": "c", "image": "i:1", "securityContext": {"privileged": True}}]}}]
    meta = {"scope": "aks-x", "lists": {"Namespace": {"status": "complete"}, "Pod": {"status": "complete"}}, "gaps": []}
    gz = tmp_path / "s.json.gz"
    assert write_snapshot(gz, meta, iter(items)) == 2
    snap = read_snapshot(gz)
    assert [o for o, _ in snap.objects] == items and snap.objects[1][1].line == 4
    # someone pretty-printed it: still readable, lines from the JSON itself
    pretty = tmp_path / "pretty.json"
    pretty.write_text(json.dumps(json.loads(gzip.open(gz, "rt").read()), indent=2))
    run = scan(pretty, controls=["AKS-100"])
    r = result(run, "AKS-100-aks-x/shop/Pod/p")
    assert r.outcome.value == "failed" and '"privileged": true' in pretty.read_text().splitlines()[r.evidence[0].line - 1]
    # a truncated gzip or a foreign JSON: input errors naming the file
    (tmp_path / "cut.json.gz").write_bytes(gz.read_bytes()[:40])
    (tmp_path / "other.json.gz").write_bytes(gzip.compress(b'{"schema": "something-else"}'))
    run = scan(tmp_path / "cut.json.gz", tmp_path / "other.json.gz")
    msgs = sorted((Path(e.file).name, e.message) for e in run.errors)
    assert msgs[0][0] == "cut.json.gz" and "cannot read snapshot" in msgs[0][1]
    assert msgs[1][0] == "other.json.gz" and SCHEMA in msgs[1][1]


def test_offline_manifest_scans_do_not_import_the_kubernetes_client(tmp_path: Path) -> None:
    import subprocess
    f = tmp_path / "p.yaml"
    f.write_text(POD.format(name="web", ns="shop", priv="false"))
    code = ("import sys; from aks_compliance.scan import ScanOptions, run_scan; "
            "from aks_compliance.k8s.source import K8sOptions; "
            f"run_scan(ScanOptions(inputs=[K8sOptions(paths=[{str(f)!r}])])); print('kubernetes' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


CLUSTER_SCOPED_CRS = """apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata:
  name: letsencrypt
spec:
  acme:
    server: https://acme-v02.api.letsencrypt.org/directory
---
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata:
  name: deny-imds
spec:
  endpointSelector: {}
  egressDeny:
  - toCIDR:
    - 169.254.169.254/32
---
apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: k8srequiredlabels
---
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sRequiredLabels
metadata:
  name: ns-must-have-owner
---
apiVersion: example.com/v1
kind: Widget
metadata:
  name: mystery
---
apiVersion: example.com/v1
kind: Widget
metadata:
  name: placed
  namespace: shop
"""


def test_cluster_scoped_custom_resources_invent_no_namespace(tmp_path: Path) -> None:
    """A ClusterIssuer or a CiliumClusterwideNetworkPolicy is cluster-scoped: no 'default' namespace is invented
    (and then failed); an object of unknown scope (a custom kind without metadata.namespace) creates no namespace
    either, and the coverage ledger says why no control judges it."""
    f = tmp_path / "crs.yaml"
    f.write_text(CLUSTER_SCOPED_CRS)
    run = scan(f)
    assert not run.errors
    namespaces = sorted(t.resource.name for t in run.targets if t.match_type == "k8s/Namespace")
    assert namespaces == ["shop"], namespaces
    entries = {(e.type, e.name): e for e in run.ledger.entries if e.family == "k8s" and e.status == "not_evaluated"}
    for key in (("cert-manager.io/v1/ClusterIssuer", "letsencrypt"),
                ("cilium.io/v2/CiliumClusterwideNetworkPolicy", "deny-imds"),
                ("templates.gatekeeper.sh/v1/ConstraintTemplate", "k8srequiredlabels"),
                ("constraints.gatekeeper.sh/v1beta1/K8sRequiredLabels", "ns-must-have-owner")):
        assert key in entries and "cluster-scoped" in entries[key].reason, (key, sorted(entries))
        assert entries[key].file == str(f) and entries[key].line
    mystery = entries[("example.com/v1/Widget", "mystery")]
    assert "scope" in mystery.reason and "unknown" in mystery.reason
    # the one with a namespace makes namespace shop exist; as a custom resource no control judges it
    assert "custom resource" in entries[("example.com/v1/Widget", "shop/placed")].reason


def test_snapshot_objects_without_a_namespace_are_cluster_scoped(tmp_path: Path) -> None:
    """The API server sets metadata.namespace on every namespaced object: in a snapshot an object without one is
    cluster-scoped, whatever its kind, and never lands in 'default'."""
    items = [{"apiVersion": "cilium.io/v2", "kind": "CiliumClusterwideNetworkPolicy", "metadata": {"name": "ccnp"},
              "spec": {"endpointSelector": {}}},
             {"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g"}},
             {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}]
    meta = {"scope": "aks-x", "lists": {"Namespace": {"status": "complete"}}, "gaps": []}
    gz = tmp_path / "s.json.gz"
    write_snapshot(gz, meta, items)
    run = scan(gz)
    assert sorted(t.resource.name for t in run.targets if t.match_type == "k8s/Namespace") == ["shop"]
    names = {e.name: e for e in run.ledger.entries if e.family == "k8s" and e.status == "not_evaluated"}
    assert "cluster-scoped" in names["ccnp"].reason and "cluster-scoped" in names["g"].reason


def test_custom_resources_the_controls_read_raise_no_unknown_kind_warning(tmp_path: Path) -> None:
    f = tmp_path / "cilium.yaml"
    f.write_text("apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: p, namespace: shop}\n"
                 "spec: {endpointSelector: {}, ingress: [{}]}\n---\n"
                 "apiVersion: example.com/v1\nkind: Frobnicator\nmetadata: {name: f, namespace: shop}\n")
    run = scan(f)
    warnings = [d.message for d in run.diagnostics if d.severity == "warning"]
    assert len(warnings) == 1 and "Frobnicator" in warnings[0]


def test_an_api_version_no_longer_served_is_judged_and_said(tmp_path: Path) -> None:
    # extensions/v1beta1 Deployments were removed in Kubernetes 1.16: the API server refuses the manifest as written,
    # but its pod template is what apps/v1 would run (the spec is the same), so the workload is judged, and the scan
    # says, once per apiVersion and kind, that the object must move to apps/v1 before it can be applied.
    f = tmp_path / "old.yaml"
    pod = {"containers": [{"name": "web", "image": "myacr.azurecr.io/web:1.0", "securityContext": {"privileged": True}}]}
    f.write_text(json.dumps({"apiVersion": "extensions/v1beta1", "kind": "Deployment",
                             "metadata": {"name": "a", "namespace": "shop"}, "spec": {"template": {"spec": pod}}})
                 + "\n---\n" + json.dumps({"apiVersion": "extensions/v1beta1", "kind": "Deployment",
                                           "metadata": {"name": "b", "namespace": "shop"},
                                           "spec": {"template": {"spec": pod}}})
                 + "\n---\n" + json.dumps({"apiVersion": "policy/v1beta1", "kind": "PodSecurityPolicy",
                                           "metadata": {"name": "psp"}, "spec": {"privileged": True}})
                 + "\n---\n" + json.dumps({"apiVersion": "apps/v1", "kind": "Deployment",
                                           "metadata": {"name": "c", "namespace": "shop"},
                                           "spec": {"template": {"spec": pod}}}) + "\n")
    run = scan(f, controls=["AKS-100", "AKS-101"])
    assert [r.outcome.value for r in run.results if r.control_id == "AKS-100"] == ["failed"] * 3
    warnings = [d.message for d in run.diagnostics if d.severity == "warning"]
    old = [w for w in warnings if "extensions/v1beta1" in w]
    assert len(old) == 1 and "2 object(s)" in old[0] and "1.16" in old[0] and "apps/v1" in old[0], warnings
    psp = [w for w in warnings if "PodSecurityPolicy" in w]
    assert len(psp) == 1 and "1.25" in psp[0] and "not checked" in psp[0], warnings
    assert not [w for w in warnings if "'apps/v1'" in w]
    hostpid = {r.label.rsplit("/", 1)[-1]: r for r in run.results if r.control_id == "AKS-101"}
    assert hostpid["a"].outcome.value == "passed" and "extensions/v1beta1" in hostpid["a"].reason and "apps/v1" in hostpid["a"].reason
    assert "v1beta1" not in (hostpid["c"].reason or "")
