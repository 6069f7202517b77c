"""Real third-party Kubernetes manifests from ../shared/corpus/k8s.

* Polaris (FairwindsOps/polaris test/checks): for each Polaris check that one of our controls
  matches, every ``success.*`` file passes that control and every ``failure.*`` file fails it, with
  ``_expected.json`` as the oracle. Where our control deliberately differs from Polaris on a file, the
  file is listed below with the reason; checks without a matching control are listed with the reason.
* aks-baseline (mspnp/aks-baseline): the reference architecture's manifests scan cleanly (no errors,
  every object read, only the two non-object files skipped with a warning), with the verdicts one
  expects from reading them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aks_compliance.scan import ScanOptions, run_scan
from aks_compliance.k8s.source import K8sOptions

from .conftest import SHARED, require_shared

POLARIS_DIR = SHARED / "corpus" / "k8s" / "polaris"
# Polaris' default configuration exempts these binding names (the GKE calico binding besides system:*);
# passing the same exemption as our parameter reproduces Polaris' setting.
POLARIS_EXEMPT = {"AKS-134": {"exemptBindings": ["system:*", "gce:podsecuritypolicy:calico-sa"]},
                  # and the default binding named cluster-admin, for its exec/attach checks
                  "AKS-162": {"exemptBindings": ["system:*", "gce:podsecuritypolicy:calico-sa", "cluster-admin"]}}
# Polaris judges the pods of automountServiceAccountToken's files; AKS-130 also judges ServiceAccount objects (CIS
# 4.1.6 reviews them too), which Polaris gives no verdict on: their results are not Polaris' to compare.
POLARIS_NOT_JUDGED = {"AKS-130": "/ServiceAccount/"}
MISSING_ROLE = ("the binding's role is not among the manifests: it may exist in the cluster, so what it grants is "
                "unknown (Polaris fails it)")

# Polaris check -> (our control, files left out with the reason; None = all success./failure. files)
POLARIS: dict[str, tuple[str, dict[str, str]]] = {
    "runAsPrivileged": ("AKS-100", {}),
    "hostPIDSet": ("AKS-101", {}),
    "hostIPCSet": ("AKS-102", {}),
    "hostNetworkSet": ("AKS-103", {}),
    "hostPortSet": ("AKS-104", {}),
    "hostPathSet": ("AKS-105", {}),
    "dangerousCapabilities": ("AKS-106", {}),
    "procMount": ("AKS-107", {}),
    "hostProcess": ("AKS-112", {}),
    "privilegeEscalationAllowed": ("AKS-115", {}),
    "runAsRootAllowed": ("AKS-116", {}),
    "linuxHardening": ("AKS-118", {
        # linuxHardening passes when any one hardening is present; only its seccomp cases are about seccomp.
        "failure.apparmor_incorrect_annotation_names.yaml": "AppArmor annotation names, not seccomp",
        "failure.drop_capabilities_but_add_all.yaml": "capabilities, not seccomp",
        "failure.nothing_is_satisfied.yaml": "composite of all hardenings",
        "failure.selinux_container_missing_subfield.yaml": "SELinux, not seccomp",
        "failure.selinux_pod_missing_subfield.yaml": "SELinux, not seccomp",
        "success.apparmor_2_containers.yaml": "passes Polaris through AppArmor alone; has no seccomp profile",
        "success.drop_capabilities.yaml": "passes Polaris through capabilities alone; has no seccomp profile",
        "success.selinux_container.yaml": "passes Polaris through SELinux alone; has no seccomp profile",
        "success.selinux_pod.yaml": "passes Polaris through SELinux alone; has no seccomp profile",
        "success.seccomp_profile_unconfined_for_pod_but_set_for_container.yaml":
            "PSS restricted forbids a pod-level Unconfined profile even when every container overrides it",
    }),
    "notReadOnlyRootFilesystem": ("AKS-125", {}),
    "tagNotSpecified": ("AKS-127", {}),
    "memoryLimitsMissing": ("AKS-128", {}),
    "cpuLimitsMissing": ("AKS-129", {}),
    "sensitiveContainerEnvVar": ("AKS-123", {}),
    "sensitiveConfigmapContent": ("AKS-123", {}),
    "automountServiceAccountToken": ("AKS-130", {}),
    "tlsSettingsMissing": ("AKS-151", {}),
    "clusterrolebindingClusterAdmin": ("AKS-134", {}),
    "rolebindingClusterAdminClusterRole": ("AKS-134", {}),
    "rolebindingClusterAdminRole": ("AKS-134", {}),
    "cpuRequestsMissing": ("AKS-160", {}),
    "memoryRequestsMissing": ("AKS-161", {}),
    "clusterrolebindingPodExecAttach": ("AKS-162", {"failure.binding_points_to_missing_ref.yaml": MISSING_ROLE}),
    "rolebindingClusterRolePodExecAttach": ("AKS-162", {"failure.binding_points_to_missing_ref.yaml": MISSING_ROLE}),
    "rolebindingRolePodExecAttach": ("AKS-162", {
        "failure.binding_points_to_missing_ref.yaml": MISSING_ROLE,
        "success.role_binding_cluster_role_binding.yaml":
            "a RoleBinding to an all-wildcards ClusterRole grants exec too; Polaris leaves it to its ClusterRole check",
    }),
    "missingNetworkPolicy": ("AKS-149", {
        "failure.netpol_missing_egress_rules.yaml":
            "Egress in policyTypes with no egress rules denies all egress: restricted, so AKS-149 passes it",
        "failure.netpol_missing_ingress_rules.yaml":
            "Ingress in policyTypes with no ingress rules denies all ingress: restricted, so AKS-149 passes it",
    }),
}
UNMAPPED = {
    "insecureCapabilities": "Polaris asks for dropping a list of capabilities; PSS restricted (AKS-119) asks for "
                            "exactly ALL (case-sensitive), so Polaris' success.yaml/success.all.yaml fail AKS-119",
    "clusterrolePodExecAttach": "pods/exec and attach access in a ClusterRole, bound or not: AKS-162 judges bindings",
    "rolePodExecAttach": "pods/exec and attach access in a Role, bound or not: AKS-162 judges bindings",
    "nakedPod": "a custom Polaris check (label equals name) in this folder, not naked pods",
    "pullPolicyNotAlways": "reliability practice, no control",
    "livenessProbeMissing": "reliability practice, no control",
    "readinessProbeMissing": "reliability practice, no control",
    "deploymentMissingReplicas": "reliability practice, no control",
    "missingPodDisruptionBudget": "reliability practice, no control",
    "pdbDisruptionsIsZero": "reliability practice, no control",
    "pdbMinAvailableGreaterThanHPAMinReplicas": "reliability practice, no control",
    "hpaMaxAvailability": "reliability practice, no control",
    "hpaMinAvailability": "reliability practice, no control",
    "priorityClassNotSet": "reliability practice, no control",
    "topologySpreadConstraint": "reliability practice, no control",
    "resourceRange": "resource range thresholds, no control",
    "metadataAndInstanceMismatched": "labelling practice, no control",
    "oneController": "Polaris-specific, no control",
    "_webhook_cases": "all Polaris checks at once under Polaris' default configuration",
}


def _cases() -> list[tuple[str, str, Path, str]]:
    if not POLARIS_DIR.is_dir():
        return []
    out = []
    for check, (cid, skipped) in POLARIS.items():
        expected = json.loads((POLARIS_DIR / check / "_expected.json").read_text())["expected_by_filename_prefix"]
        for name, verdict in sorted(expected.items()):
            if verdict in ("PASS", "FAIL") and name not in skipped:
                out.append((check, cid, POLARIS_DIR / check / name, verdict))
    return out


CASES = _cases()


def _scan(path: Path, control_id: str, params: dict[str, Any] | None = None):
    return run_scan(ScanOptions(inputs=[K8sOptions(paths=[str(path)])], controls=[control_id], control_params={control_id: params or {}}))


@pytest.mark.parametrize("check,control_id,path,verdict", CASES, ids=[f"{c}/{p.name}" for c, _, p, _ in CASES])
def test_polaris_success_passes_and_failure_fails(check: str, control_id: str, path: Path, verdict: str) -> None:
    run = _scan(path, control_id, POLARIS_EXEMPT.get(control_id))
    assert not run.errors, [str(d) for d in run.errors]
    results = [r for r in run.results if r.control_id == control_id
               and not (control_id in POLARIS_NOT_JUDGED and POLARIS_NOT_JUDGED[control_id] in r.key)]
    assert results, f"{control_id} found nothing to check in {path.name}"
    outcomes = {r.key: r.outcome.value for r in results}
    if verdict == "PASS":
        # passed, or not applicable for the same exemption Polaris applies (the reason names it)
        assert set(outcomes.values()) <= {"passed", "not_applicable"} and "passed" in outcomes.values() or \
            all(r.outcome.value == "not_applicable" and "exemptBindings" in r.reason for r in results), outcomes
    else:
        assert "failed" in outcomes.values(), outcomes
        failing = next(r for r in results if r.outcome.value == "failed")
        assert failing.evidence and all(e.file == str(path) and e.line for e in failing.evidence)


def test_polaris_mapping_is_complete_and_current() -> None:
    require_shared("corpus", "k8s", "polaris")
    dirs = {p.name for p in POLARIS_DIR.iterdir() if p.is_dir()}
    assert dirs == set(POLARIS) | set(UNMAPPED), (dirs - set(POLARIS) - set(UNMAPPED), set(POLARIS) | set(UNMAPPED) - dirs)
    for check, (_, skipped) in POLARIS.items():
        expected = json.loads((POLARIS_DIR / check / "_expected.json").read_text())["expected_by_filename_prefix"]
        assert set(skipped) <= set(expected), (check, set(skipped) - set(expected))
    # most files are checked, not excluded
    assert len(CASES) >= 90, len(CASES)


def test_polaris_insecure_capabilities_are_really_unmatched() -> None:
    """The reason given for insecureCapabilities holds: Polaris passes a file that PSS restricted fails."""
    path = require_shared("corpus", "k8s", "polaris", "insecureCapabilities", "success.yaml")
    r = next(r for r in _scan(path, "AKS-119").results if r.control_id == "AKS-119")
    assert r.outcome.value == "failed"


def test_polaris_files_scan_without_errors() -> None:
    root = require_shared("corpus", "k8s", "polaris")
    files = sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".json"))
    run = run_scan(ScanOptions(inputs=[K8sOptions(paths=[str(p) for p in files])], controls=["AKS-100"]))
    assert not run.errors, [str(d) for d in run.errors[:5]]
    # every file with objects is its own scope, named after it, and targets never mix scopes; a file without any
    # (Polaris' _expected.json and its custom check definitions) is said to hold none and makes no scope
    scopes = {t.cluster for t in run.targets}
    empty = {d.file for d in run.diagnostics if "no Kubernetes object to check" in d.message}
    assert empty and all(Path(f).name in ("_expected.json", "check.yaml") for f in empty), sorted(empty)[:5]
    assert len(scopes) == len(files) - len(empty)
    assert not scopes & {Path(f).stem for f in empty}


def test_aks_baseline_scans_cleanly() -> None:
    root = require_shared("corpus", "k8s", "aks-baseline")
    run = run_scan(ScanOptions(inputs=[K8sOptions(paths=[str(root)])]))
    assert not run.errors, [str(d) for d in run.errors]
    assert not [r for r in run.results if r.outcome.value == "error"]
    warnings = sorted((Path(d.file).name, d.message) for d in run.diagnostics if d.severity == "warning")
    assert [w[0] for w in warnings] == ["aspnetapp-ingress-patch.yaml", "kustomization.yaml"], warnings
    kinds = sorted({t.resource.type for t in run.targets})
    assert {"Deployment", "Namespace", "Ingress", "Service", "ClusterRole", "ClusterRoleBinding",
            "ServiceAccount"} <= set(kinds)
    by = {r.key: r for r in run.results}

    def outcome(cid: str, suffix: str) -> str:
        return by[f"{cid}-aks-baseline/{suffix}"].outcome.value

    assert outcome("AKS-146", "Namespace/a0008") == "passed"  # ingress-network-policy.yaml
    assert outcome("AKS-150", "a0008/Service/traefik-ingress-service") == "passed"  # internal ILB annotation
    assert outcome("AKS-151", "a0008/Ingress/aspnetapp-ingress") == "passed"
    assert outcome("AKS-152", "a0008/Ingress/aspnetapp-ingress") == "passed"  # allow-http false
    assert outcome("AKS-125", "a0008/Deployment/traefik-ingress-controller") == "passed"
    assert outcome("AKS-125", "a0008/Deployment/aspnetapp-deployment") == "failed"  # readOnlyRootFilesystem: false
    assert outcome("AKS-130", "a0008/Deployment/aspnetapp-deployment") == "passed"
    # drop: [all] is not ALL for Pod Security Admission (case-sensitive): a real finding
    assert outcome("AKS-119", "a0008/Deployment/aspnetapp-deployment") == "failed"
    assert outcome("AKS-119", "a0008/Deployment/traefik-ingress-controller") == "passed"
    # the traefik ClusterRole reads secrets cluster-wide; the evidence names the service account
    secrets = by["AKS-135-aks-baseline/ClusterRoleBinding/traefik-ingress-controller"]
    assert secrets.outcome.value == "failed"
    assert any("ServiceAccount a0008/traefik-ingress-controller" in e.actual for e in secrets.evidence)
    assert any(e.file.endswith("traefik.yaml") and e.path.startswith("ClusterRole/traefik-ingress-controller.rules[0]")
               for e in secrets.evidence)
    assert outcome("AKS-126", "a0008/Deployment/traefik-ingress-controller") == "failed"  # docker.io
    assert outcome("AKS-126", "a0008/Deployment/aspnetapp-deployment") == "passed"  # mcr.microsoft.com


def test_every_kubernetes_object_read_is_in_the_coverage_ledger() -> None:
    """Nothing is dropped in silence: each object of the corpus manifests is a target of controls or is listed
    as not evaluated with the reason."""
    from aks_compliance.k8s.manifests import read_manifests

    root = require_shared("corpus", "k8s")
    read = read_manifests(root)
    run = run_scan(ScanOptions(inputs=[K8sOptions(paths=[str(root)])]))
    ledger = {(e.file, e.pointer): e for e in run.ledger.entries if e.family == "k8s"}
    missing = [(src.file, src.pointer, body.get("kind")) for body, src in read.objects
               if (src.file, src.pointer) not in ledger]
    assert not missing, missing[:10]
    for body, src in read.objects:
        entry = ledger[(src.file, src.pointer)]
        assert entry.status in ("evaluated", "not_evaluated")
        if entry.status == "not_evaluated":
            assert entry.reason, entry
    assert len(read.objects) > 300
