"""The suite over Kubernetes inputs as users run it: pytest tests_compliance with --k8s, and a live cluster
(the local API server) with --kubeconfig/--kube-context, serially and under pytest-xdist."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from .conftest import FIXTURES, ROOT
from .servers.k8s_server import FakeKubeAPI, Faults
from .test_k8s_collector import cluster_objects

SUITE = str(ROOT / "tests_compliance")
SCHEMA = json.loads((ROOT / "src" / "aks_compliance" / "schemas" / "results-v1.schema.json").read_text())

pytest_plugins = ["pytester"]


def run_pytest(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(SUITE, "-p", "no:cacheprovider", *args, timeout=300)


def test_live_cluster_is_snapshotted_into_reports_then_checked(pytester: pytest.Pytester, tmp_path: Path) -> None:
    with FakeKubeAPI(cluster_objects(12), faults=Faults(forbidden={"networkpolicies"})) as api:
        kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig")
        out = tmp_path / "results.json"
        result = run_pytest(pytester, "--kubeconfig", str(kubeconfig), "--kube-context", "aks-test",
                            "--results-json", str(out), "-rA", "-q")
        first_pages = len(api.lists("pods", first_page_only=True))
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert first_pages == 1
    result.stdout.fnmatch_lines_random([
        "PASSED *test_controls?AKS-100-aks-test/shop/Pod/web-00001?",
        "FAILED *test_controls?AKS-100-aks-test/shop/Pod/web-00007?*",
        "SKIPPED *UNKNOWN: network policies cannot be checked: not permitted to list networkpolicies*",
        "*NOT APPLICABLE: namespace kube-system is excluded by parameter excludedNamespaces*"])
    snapshots = list((pytester.path / "reports").glob("k8s-snapshot-aks-test-*.json.gz"))
    assert len(snapshots) == 1
    doc = json.loads(out.read_text())
    jsonschema.validate(doc, SCHEMA)
    record = next(i for i in doc["inputs"] if i["kind"] == "k8s-snapshot")
    assert Path(record["path"]) == snapshots[0].resolve() and record["gaps"][0]["kind"] == "NetworkPolicy"
    k8s = [r for r in doc["results"] if r["control_id"] and r["control_id"] >= "AKS-100"]
    assert k8s and {r["target"]["cluster"] for r in k8s} == {"aks-test"}
    bad = next(r for r in k8s if r["control_id"] == "AKS-100" and r["target"]["name"] == "shop/web-00007")
    assert bad["target"]["id"] == "k8s://aks-test/shop/Pod/web-00007" and bad["target"]["namespace"] == "shop"
    assert bad["evidence"][0]["file"] == str(snapshots[0].resolve()) and bad["evidence"][0]["line"] > 2


def _pairs(path: Path) -> list[tuple[str, str, str]]:
    doc = json.loads(path.read_text())
    return sorted((r["control_id"] or "", r["target"]["id"] or r["target"]["name"], r["outcome"]) for r in doc["results"])


def test_xdist_workers_check_the_one_snapshot_the_controller_took(pytester: pytest.Pytester, tmp_path: Path) -> None:
    with FakeKubeAPI(cluster_objects(30)) as api:
        kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig")
        serial, parallel = tmp_path / "serial.json", tmp_path / "parallel.json"
        run_pytest(pytester, "--kubeconfig", str(kubeconfig), "--kube-context", "aks-test", "--results-json",
                   str(serial), "-q")
        before = len(api.lists("pods", first_page_only=True))
        result = run_pytest(pytester, "--kubeconfig", str(kubeconfig), "--kube-context", "aks-test",
                            "--results-json", str(parallel), "-q", "-n", "2")
        collections = len(api.lists("pods", first_page_only=True)) - before
    assert "Different tests were collected" not in result.stdout.str()
    assert collections == 1, "the controller collects once; workers read its snapshot"
    assert _pairs(serial) == _pairs(parallel) and _pairs(serial)


def test_manifests_give_readable_ids_and_one_scope_per_argument(pytester: pytest.Pytester, tmp_path: Path) -> None:
    a = FIXTURES / "k8s" / "AKS-146" / "passed-with-policy.yaml"
    b = FIXTURES / "k8s" / "AKS-146" / "failed-policy-absent.yaml"
    out = tmp_path / "r.json"
    result = run_pytest(pytester, "--k8s", str(a), "--k8s", str(b), "--controls", "AKS-146", "-rA", "-q",
                        "--results-json", str(out))
    result.stdout.fnmatch_lines_random(["PASSED *test_controls?AKS-146-passed-with-policy/Namespace/shop?",
                                        "FAILED *test_controls?AKS-146-failed-policy-absent/Namespace/shop?*"])
    doc = json.loads(out.read_text())
    assert {r["target"]["cluster"] for r in doc["results"]} == {"passed-with-policy", "failed-policy-absent"}


def test_cli_exit_status_for_kubernetes_inputs(tmp_path: Path) -> None:
    exe = str(Path(sys.executable).with_name("aks-compliance"))
    ok = subprocess.run([exe, "scan", "--k8s", str(FIXTURES / "k8s" / "AKS-100" / "passed-deployment-privileged-absent.yaml"),
                         "--controls", "AKS-100"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout
    failed = subprocess.run([exe, "scan", "--k8s", str(FIXTURES / "k8s" / "AKS-100" / "failed-init-container-privileged.yaml"),
                             "--controls", "AKS-100"], capture_output=True, text=True)
    assert failed.returncode == 1
    # the failing container in plain words (issue 16), at its line
    assert "init container `fix-perms`: securityContext.privileged is true, must not be true  [" in failed.stdout
    assert "failed-init-container-privileged.yaml:53]" in failed.stdout
    broken = tmp_path / "broken.yaml"
    broken.write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n  labels: [a\n")
    err = subprocess.run([exe, "scan", "--k8s", str(broken)], capture_output=True, text=True)
    assert err.returncode == 2 and "broken.yaml:" in err.stdout and "invalid YAML" in err.stdout
