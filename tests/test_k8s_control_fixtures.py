"""Every in-cluster control against its own fixtures: the file name states the expected outcome.

``fixtures/k8s/AKS-1NN/<outcome>-<what>.yaml`` (or a snapshot ``.json``), one cluster scope per file,
scanned through the whole pipeline exactly as ``--k8s`` would. The control must give that outcome for
the single target it matches in the file, or for the target a ``# expect-target: <Kind>/<name>`` (or
``<namespace>/<Kind>/<name>``) comment names. A ``# control-param: NAME=VALUE`` comment (VALUE is JSON, else
a string) sets a parameter of the control for that fixture, as ``--control-param`` would. The meta-rules are those of test_control_fixtures.py:
each control has a passing fixture, a failing one, and one whose name contains ``absent`` (the field
the control reads is missing).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from aks_compliance.controls import Control, load_catalog
from aks_compliance.scan import ScanOptions, run_scan
from aks_compliance.testing import (FixtureCase, check_fixture, expected_outcome, fixture_cases, fixture_params,
                                    missing_fixtures)
from aks_compliance.k8s.source import K8sOptions
from aks_compliance.kubebench.reader import looks_like_kube_bench

from .conftest import FIXTURES

CATALOG = load_catalog()
K8S = FIXTURES / "k8s"


def is_k8s_control(control: Control) -> bool:
    types = (control.resource_type,) if isinstance(control.resource_type, str) else control.resource_type
    return all(t.lower().startswith("k8s/") for t in types)


K8S_CONTROLS = [c for c in CATALOG if is_k8s_control(c)]
CASES = fixture_cases(K8S, CATALOG)


def fixture_files() -> list[Path]:
    return sorted(p for p in K8S.glob("AKS-*/*") if p.suffix in (".yaml", ".yml", ".json", ".gz"))


def scan(path: Path, control_id: str, params: dict | None = None):
    return run_scan(ScanOptions(inputs=[K8sOptions(paths=[str(path)])], controls=[control_id],
                                control_params={control_id: params} if params else {}))


@pytest.mark.parametrize("path", fixture_files(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_fixture_outcome(path: Path) -> None:
    case = FixtureCase(path.parent.name, path, expected_outcome(path))
    params = fixture_params(path)
    known = {p.name for p in CATALOG[case.control_id].parameters}
    assert set(params) <= known, f"{path.name} sets parameters {case.control_id} does not have: {set(params) - known}"
    result, _ = check_fixture(case, CATALOG)
    if looks_like_kube_bench(path):  # one node's kube-bench output: the node is named by the file
        assert result.key == f"{case.control_id}-kube-bench/Node/{path.stem}"
    else:
        assert result.key.startswith(f"{case.control_id}-{path.stem if path.suffix != '.json' else 'aks-fixture'}/")
    if result.outcome.value in ("passed", "failed"):
        assert all(Path(e.file).resolve() == path.resolve() for e in result.evidence)


@pytest.mark.parametrize("control", K8S_CONTROLS, ids=lambda c: c.id)
def test_every_k8s_control_has_fixtures_of_both_outcomes_and_the_absent_case(control: Control) -> None:
    missing = missing_fixtures(control, CASES)
    assert not missing, f"{control.id} has no {', '.join(missing)}"


def test_k8s_controls_are_in_their_range_and_every_folder_has_one() -> None:
    assert len(K8S_CONTROLS) >= 45
    assert all(100 <= int(c.id[4:]) <= 199 for c in K8S_CONTROLS)
    assert not [c.id for c in CATALOG if 100 <= int(c.id[4:]) <= 199 and not is_k8s_control(c)]
    folders = {p.name for p in K8S.iterdir() if p.is_dir()}
    assert folders <= {c.id for c in K8S_CONTROLS}, folders - {c.id for c in K8S_CONTROLS}


def test_pss_controls_cover_both_levels_and_name_the_level() -> None:
    pss = [c for c in K8S_CONTROLS if c.mappings.pss]
    assert all(set(c.mappings.pss) <= {"baseline", "restricted"} for c in pss)
    checks = {t.split(":", 1)[1] for c in pss for t in c.tags if t.startswith("pss:")}
    assert checks == {"privileged", "hostNamespaces", "hostPorts", "hostPathVolumes", "capabilities_baseline",
                      "procMount", "sysctls", "seccompProfile_baseline", "appArmorProfile", "seLinuxOptions",
                      "windowsHostProcess", "hostProbesAndHostLifecycle", "restrictedVolumes",
                      "allowPrivilegeEscalation", "runAsNonRoot", "runAsUser", "seccompProfile_restricted",
                      "capabilities_restricted", "procMount_restricted"}


def test_literal_credentials_never_reach_the_results() -> None:
    for name, secret in (("failed-literal-password.yaml", "Sup3r-S3cret-Pa55"),
                         ("failed-private-key-value.yaml", "MIIEowIBAAKCAQEAfakefakefake"),
                         ("failed-configmap-password.yaml", "Sup3r-S3cret-Pa55"),
                         ("failed-bearer-token.yaml", "3q2+7wAbCdEf0123456789xyzUVW")):
        run = scan(K8S / "AKS-123" / name, "AKS-123")
        text = json.dumps(run.document())
        assert secret not in text
        result = next(r for r in run.results if r.control_id == "AKS-123")
        assert result.outcome.value == "failed" and "not shown" in result.evidence[0].actual


def test_cross_object_evidence_cites_the_other_objects_line() -> None:
    path = K8S / "AKS-134" / "failed-equivalent-role.yaml"
    result = next(r for r in scan(path, "AKS-134").results if r.key.endswith("RoleBinding/payments-super"))
    rule = next(e for e in result.evidence if e.path.startswith("ClusterRole/superuser.rules[0]"))
    lines = path.read_text().splitlines()
    assert lines[rule.line - 1].lstrip().startswith("- apiGroups"), (rule.line, lines[rule.line - 1])
    subject = next(e for e in result.evidence if e.path == "subjects[0]")
    assert "f3c2a1d0-payments-devs" in subject.actual and "subjects" in "".join(lines[subject.line - 2:subject.line])


def test_pss_version_parameter_changes_the_allowed_values() -> None:
    path = K8S / "AKS-108" / "passed-safe-sysctls.yaml"
    old = run_scan(ScanOptions(inputs=[K8sOptions(paths=[str(path)])], controls=["AKS-108"], control_params={"AKS-108": {"pssVersion": "v1.28"}}))
    assert next(r for r in old.results if r.control_id == "AKS-108").outcome.value == "failed"
    probes = K8S / "AKS-113" / "failed-liveness-probe-host.yaml"
    before = run_scan(ScanOptions(inputs=[K8sOptions(paths=[str(probes)])], controls=["AKS-113"], control_params={"AKS-113": {"pssVersion": "1.33"}}))
    r = next(r for r in before.results if r.control_id == "AKS-113")
    assert r.outcome.value == "not_applicable" and "added in v1.34" in r.reason


def test_excluded_namespaces_are_listed_and_can_be_changed_for_every_control() -> None:
    path = K8S / "AKS-100" / "not_applicable-excluded-namespace.yaml"
    run = scan(path, "AKS-100")
    r = next(r for r in run.results if r.control_id == "AKS-100")
    assert r.reason == "namespace kube-system is excluded by parameter excludedNamespaces"
    everywhere = run_scan(ScanOptions(inputs=[K8sOptions(paths=[str(path)])], control_params={"*": {"excludedNamespaces": []}}))
    outcomes = {r.control_id: r.outcome.value for r in everywhere.results if r.control_id}
    assert outcomes["AKS-100"] == "failed"
    assert "not_applicable" not in {o for cid, o in outcomes.items() if cid in ("AKS-101", "AKS-105", "AKS-125")}


def test_seccomp_baseline_before_v1_19_reads_the_annotations(tmp_path: Path) -> None:
    pod = ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: shop\n  annotations:\n"
           "    seccomp.security.alpha.kubernetes.io/pod: {pod}\n"
           "spec:\n  securityContext:\n    seccompProfile:\n      type: Unconfined\n  containers:\n  - name: c\n    image: i:1\n")
    outcomes = {}
    for value in ("runtime/default", "unconfined", "localhost/profile.json"):
        f = tmp_path / f"{value.replace('/', '-')}.yaml"
        f.write_text(pod.format(pod=value))
        for version in ("v1.18", "latest"):
            run = run_scan(ScanOptions(inputs=[K8sOptions(paths=[str(f)])], controls=["AKS-109"], control_params={"AKS-109": {"pssVersion": version}}))
            outcomes[(value, version)] = next(r for r in run.results if r.control_id == "AKS-109").outcome.value
    # before v1.19 only the annotations count; from v1.19 only the fields (here: Unconfined)
    assert outcomes == {("runtime/default", "v1.18"): "passed", ("unconfined", "v1.18"): "failed",
                        ("localhost/profile.json", "v1.18"): "passed", ("runtime/default", "latest"): "failed",
                        ("unconfined", "latest"): "failed", ("localhost/profile.json", "latest"): "failed"}


def test_pss_version_cluster_uses_the_snapshot_server_version(tmp_path: Path) -> None:
    from aks_compliance.k8s.snapshot import write_snapshot

    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "shop"},
           "spec": {"securityContext": {"sysctls": [{"name": "net.ipv4.tcp_rmem", "value": "4096 87380 6291456"}]},
                    "containers": [{"name": "c", "image": "i:1"}]}}
    snap = tmp_path / "s.json.gz"
    write_snapshot(snap, {"scope": "aks-130", "cluster": {"version": {"major": "1", "minor": "30+", "gitVersion": "v1.30.5"}},
                          "lists": {"Pod": {"status": "complete"}}, "gaps": []}, [pod])

    def outcome(version: str) -> str:
        run = run_scan(ScanOptions(inputs=[K8sOptions(paths=[str(snap)])], controls=["AKS-108"], control_params={"AKS-108": {"pssVersion": version}}))
        return next(r for r in run.results if r.control_id == "AKS-108").outcome.value

    assert outcome("cluster") == "failed"  # tcp_rmem is safe from v1.32; the cluster runs v1.30
    assert outcome("latest") == "passed" and outcome("v1.32") == "passed"


# Controls that judge each container carry the tag scope:container; those that judge container resources
# carry scope:container-resources (Kubernetes forbids resources on ephemeral containers).
CONTAINER_LEVEL = [c for c in K8S_CONTROLS if "scope:container" in c.tags]
RESOURCE_LEVEL = [c for c in K8S_CONTROLS if "scope:container-resources" in c.tags]
EPHEMERAL_WORST = K8S / "AKS-125" / "failed-ephemeral-writable-root.yaml"


def _without_ephemeral(path: Path, tmp_path: Path) -> Path:
    docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    for d in docs:
        if d.get("kind") == "Pod":
            assert d["spec"].pop("ephemeralContainers", None), f"{path.name} has no ephemeral containers"
    out = tmp_path / path.name
    out.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    return out


def _outcome(path: Path, control_id: str) -> str:
    results = [r for r in scan(path, control_id, fixture_params(path)).results if r.control_id == control_id]
    assert len(results) == 1, [r.key for r in results]
    return results[0].outcome.value


def test_container_level_controls_are_found_by_their_tag() -> None:
    assert len(CONTAINER_LEVEL) >= 20 and len(RESOURCE_LEVEL) >= 2
    assert not {c.id for c in CONTAINER_LEVEL} & {c.id for c in RESOURCE_LEVEL}


@pytest.mark.parametrize("control", CONTAINER_LEVEL, ids=lambda c: c.id)
def test_every_container_level_control_fails_a_pod_whose_only_offender_is_ephemeral(control: Control,
                                                                                    tmp_path: Path) -> None:
    files = sorted((K8S / control.id).glob("failed-ephemeral*.yaml"))
    assert files, f"{control.id} judges containers: it needs a failed-ephemeral-*.yaml fixture"
    for path in files:
        assert _outcome(path, control.id) == "failed", path.name
        # the ephemeral container is the only offender: without it the same pod passes
        assert _outcome(_without_ephemeral(path, tmp_path), control.id) == "passed", path.name


@pytest.mark.parametrize("control", RESOURCE_LEVEL, ids=lambda c: c.id)
def test_resource_controls_do_not_ask_ephemeral_containers_for_resources(control: Control) -> None:
    path = K8S / control.id / "passed-ephemeral-without-resources.yaml"
    assert _outcome(path, control.id) == "passed"


def test_no_untagged_workload_control_reads_ephemeral_containers(tmp_path: Path) -> None:
    """Drift guard for the tag: a pod whose ephemeral container breaks every container rule at once. A workload
    control that passes the pod without that container but fails it with it judges containers: it must be tagged."""
    pod = yaml.safe_load(EPHEMERAL_WORST.read_text())
    bad = pod["spec"]["ephemeralContainers"][0]
    bad.update({"image": "busybox:latest", "ports": [{"containerPort": 80, "hostPort": 80}],
                "env": [{"name": "API_TOKEN", "value": "literal-token-value-123"},
                        {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}}],
                "livenessProbe": {"tcpSocket": {"host": "10.0.0.1", "port": 22}},
                "securityContext": {"privileged": True, "allowPrivilegeEscalation": True, "runAsUser": 0,
                                    "runAsNonRoot": False, "readOnlyRootFilesystem": False, "procMount": "Unmasked",
                                    "capabilities": {"add": ["SYS_ADMIN", "NET_RAW"]},
                                    "seccompProfile": {"type": "Unconfined"}, "appArmorProfile": {"type": "Unconfined"},
                                    "seLinuxOptions": {"type": "spc_t", "user": "root"},
                                    "windowsOptions": {"hostProcess": True}}})
    with_it = tmp_path / "with.yaml"
    with_it.write_text(yaml.safe_dump(pod, sort_keys=False))
    (tmp_path / "without").mkdir()
    without = _without_ephemeral(with_it, tmp_path / "without")
    tagged = {c.id for c in CONTAINER_LEVEL}
    untagged = []
    for control in K8S_CONTROLS:
        if "k8s/workload" not in control.resource_types or control.id in tagged:
            continue
        if _outcome(without, control.id) == "passed" and _outcome(with_it, control.id) == "failed":
            untagged.append(control.id)
    assert not untagged, f"these controls judge ephemeral containers but are not tagged scope:container: {untagged}"


@pytest.mark.parametrize("control_id,name,label,value,says", [
    ("AKS-121", "passed-enforce-invalid-level-capitalised", "enforce", '"Restricted"', "enforces restricted"),
    ("AKS-155", "passed-enforce-invalid-level-capitalised", "enforce", '"Restricted"', "enforces restricted"),
    ("AKS-155", "passed-enforce-restricted-invalid-version", "enforce-version", '"v1.x"', "the latest version"),
    ("AKS-121", "failed-enforce-privileged-invalid-version", "enforce-version", '"1.27"', "the latest version"),
])
def test_an_invalid_pod_security_label_is_judged_as_admission_reads_it_and_the_evidence_says_so(
        control_id: str, name: str, label: str, value: str, says: str) -> None:
    """Pod Security Admission reads a level it cannot parse as restricted and a version as latest
    (k8s.io/pod-security-admission api.PolicyToEvaluate); the evidence names the label as invalid and says so."""
    path = K8S / control_id / f"{name}.yaml"
    run = scan(path, control_id, fixture_params(path))
    (result,) = [r for r in run.results if r.target.type == "Namespace"]
    assert result.outcome.value == name.split("-")[0]
    shown = [e for e in result.evidence if e.path.endswith(f"pod-security.kubernetes.io/{label}")]
    assert shown, [e.as_dict() for e in result.evidence]
    assert any(e.actual.startswith(value) and "not a value Pod Security Admission accepts" in e.actual
               and says in e.actual for e in shown), [e.as_dict() for e in shown]
