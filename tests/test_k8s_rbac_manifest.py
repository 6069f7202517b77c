"""deploy/scanner-rbac.yaml: exactly the read access the collector needs, and nothing more."""

from __future__ import annotations

import yaml

from aks_compliance.k8s.kinds import COLLECTED
from aks_compliance.scan import ScanOptions, run_scan
from aks_compliance.k8s.source import K8sOptions

from .conftest import ROOT

RBAC = ROOT / "deploy" / "scanner-rbac.yaml"
FORBIDDEN_RESOURCES = {"secrets", "configmaps", "nodes/proxy", "pods/exec", "pods/attach", "pods/portforward",
                       "pods/log", "serviceaccounts/token", "*"}


def _docs() -> list[dict]:
    return [d for d in yaml.safe_load_all(RBAC.read_text()) if d]


def test_cluster_role_is_get_list_on_exactly_the_collected_kinds() -> None:
    role = next(d for d in _docs() if d["kind"] == "ClusterRole")
    granted: set[tuple[str, str]] = set()
    for rule in role["rules"]:
        assert set(rule["verbs"]) <= {"get", "list"}, rule
        assert not set(rule["resources"]) & FORBIDDEN_RESOURCES, rule
        assert "*" not in rule["apiGroups"] and not rule.get("nonResourceURLs"), rule
        granted |= {(g, r) for g in rule["apiGroups"] for r in rule["resources"]}
    needed = {(k.group, k.plural) for k in COLLECTED}
    assert granted == needed, (needed - granted, granted - needed)


def test_binding_binds_that_role_to_the_scanner_account() -> None:
    docs = _docs()
    binding = next(d for d in docs if d["kind"] == "ClusterRoleBinding")
    role = next(d for d in docs if d["kind"] == "ClusterRole")
    sa = next(d for d in docs if d["kind"] == "ServiceAccount")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                  "name": role["metadata"]["name"]}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": sa["metadata"]["name"],
                                    "namespace": sa["metadata"]["namespace"]}]


def test_our_own_rbac_controls_pass_the_scanner_role() -> None:
    rbac = [f"AKS-{n}" for n in range(134, 146) if n != 144]
    run = run_scan(ScanOptions(inputs=[K8sOptions(paths=[str(RBAC)])], controls=rbac))
    assert not run.errors
    outcomes = {r.key: r.outcome.value for r in run.results}
    assert outcomes and set(outcomes.values()) == {"passed"}, outcomes
    assert "AKS-135-scanner-rbac/ClusterRoleBinding/aks-compliance-reader" in outcomes  # no secrets read access
