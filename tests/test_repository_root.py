"""A repository root as input (issue 16, points 2 and 3).

`--arm .` on an ordinary infrastructure repository: files that are not ARM inputs (package.json,
renovate.json, bicepconfig.json, .bicep, YAML, the tool's own earlier outputs) are skipped and listed in
the coverage ledger with the reason, never input errors; `--exclude GLOB` and the default exclusions
(.git, node_modules, .venv, reports/) keep whole trees out. The common wrong inputs get a message that
says what to do instead.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from aks_compliance.arm.inputs import ArmOptions, classify, not_an_arm_input
from aks_compliance.k8s.source import K8sOptions
from aks_compliance.scan import ScanOptions, run_scan

from .conftest import FIXTURES, scan

TEMPLATE = FIXTURES / "controls" / "AKS-010" / "failed-template-separate-agentpool-resource.json"
K8S_SNAPSHOT = FIXTURES / "k8s" / "AKS-153" / "failed-snapshot-without-engine.json"
DEPLOYMENT_YAML = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx:1.27}]
"""


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    return subprocess.run([sys.executable, "-m", "aks_compliance", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env=env)


def make_repository(root: Path) -> Path:
    """An ordinary infrastructure repository: templates beside the files every repository has."""
    (root / "infra").mkdir(parents=True)
    shutil.copy(TEMPLATE, root / "infra" / "aks.json")
    (root / "infra" / "main.bicep").write_text("param location string = resourceGroup().location\n")
    (root / "infra" / "main.bicepparam").write_text("using './main.bicep'\n")
    (root / "package.json").write_text(json.dumps({"name": "infra", "version": "1.0.0", "type": "module",
                                                   "scripts": {"lint": "eslint ."}}))
    (root / "renovate.json").write_text(json.dumps({"$schema": "https://docs.renovatebot.com/renovate-schema.json",
                                                    "extends": ["config:recommended"]}))
    (root / "bicepconfig.json").write_text(json.dumps({"analyzers": {"core": {"enabled": True}}}))
    (root / "tsconfig.json").write_text('{ // comments, as tsconfig allows\n "compilerOptions": {"strict": true},\n}\n')
    (root / "cspell.json").write_text(json.dumps(["aks", "bicep"]))
    (root / "k8s").mkdir()
    (root / "k8s" / "deploy.yaml").write_text(DEPLOYMENT_YAML)
    (root / "k8s" / "service.json").write_text(json.dumps({"apiVersion": "v1", "kind": "Service",
                                                           "metadata": {"name": "web"}, "spec": {}}))
    shutil.copy(K8S_SNAPSHOT, root / "k8s" / "cluster-snapshot.json")
    for skipped_tree in ("node_modules/left-pad", ".venv/lib", ".git", "reports"):
        (root / skipped_tree).mkdir(parents=True)
    (root / "node_modules" / "left-pad" / "package.json").write_text('{"name": "left-pad"}')
    (root / "node_modules" / "left-pad" / "broken.json").write_text("{ not json")
    (root / ".venv" / "lib" / "broken.json").write_text("{ not json")
    (root / "reports" / "broken.json").write_text("{ not json")
    return root


def _skipped(doc: dict) -> dict[str, str]:
    return {Path(e["name"]).as_posix(): e["reason"] for e in doc["coverage"]["entries"] if e["status"] == "skipped"}


# -- point 2: a repository root ------------------------------------------------------------------------------------

def test_classify_tells_arm_documents_from_everything_else() -> None:
    assert classify(json.loads(TEMPLATE.read_text())) == "template"
    for other in ({"name": "infra", "version": "1.0.0", "type": "module"},
                  {"$schema": "https://docs.renovatebot.com/renovate-schema.json", "extends": []},
                  {"analyzers": {}}, ["aks", "bicep"], [1, 2, 3], {"apiVersion": "v1", "kind": "Service"},
                  {"kind": "Something", "spec": {}},
                  {"schema": "aks-compliance/results/v1", "results": []},
                  {"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0", "runs": []}):
        assert classify(other) is None, other
        assert not_an_arm_input(other), other
    assert "aks-compliance" in not_an_arm_input({"schema": "aks-compliance/results/v1", "results": []})
    assert "SARIF" in not_an_arm_input({"version": "2.1.0", "runs": [], "$schema": "https://x/sarif-schema.json"})
    assert "--k8s" in not_an_arm_input({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {}})
    assert "--k8s" in not_an_arm_input({"schema": "aks-compliance/k8s-snapshot/v1", "meta": {}})


def test_a_repository_root_is_scanned_and_what_is_not_an_input_is_listed(tmp_path: Path) -> None:
    repo = make_repository(tmp_path / "repo")
    first = cli(repo, "scan", "--arm", ".", "--fail-on", "none", "--results-json", "out/results.json",
                "--sarif", "out/results.sarif", "--junitxml", "out/junit.xml")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-2000:]
    # a second run reads the first run's outputs among the inputs: they are recognised, not errors
    second = cli(repo, "scan", "--arm", ".", "--fail-on", "none", "--results-json", "out/results.json")
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-2000:]
    doc = json.loads((repo / "out" / "results.json").read_text())
    assert not [d for d in doc["diagnostics"] if d["severity"] == "error"], doc["diagnostics"]
    assert not [r for r in doc["results"] if r["outcome"] == "error"]
    assert {r["target"]["name"] for r in doc["results"]} == {"aks-pools"}
    skipped = _skipped(doc)
    for name in ("package.json", "renovate.json", "bicepconfig.json", "tsconfig.json", "cspell.json"):
        assert "not an ARM template, parameter file, REST resource or export" in skipped[name], (name, skipped)
    assert "az bicep build" in skipped["infra/main.bicep"] and "bicep build" in skipped["infra/main.bicepparam"]
    assert "--k8s" in skipped["k8s/deploy.yaml"] and "--k8s" in skipped["k8s/service.json"]
    assert "--k8s" in skipped["k8s/cluster-snapshot.json"]
    assert "aks-compliance output" in skipped["out/results.json"] and "SARIF" in skipped["out/results.sarif"]
    for tree in ("node_modules", ".venv", ".git", "reports"):
        assert "excluded by default" in skipped[tree], (tree, skipped)
    assert not any(name.startswith(("node_modules/", ".venv/", "reports/")) for name in skipped)
    assert doc["coverage"]["summary"]["skipped_files"] == len(skipped)
    # the terminal says how many files were skipped, and where to find them
    assert "file(s) without objects or not read" in second.stdout


def test_exclude_globs_keep_files_and_trees_out(tmp_path: Path) -> None:
    repo = make_repository(tmp_path / "repo")
    (repo / "legacy").mkdir()
    (repo / "legacy" / "old.json").write_text("{ broken")
    (repo / "infra" / "aks.dev.json").write_text("{ broken")
    broken = scan(repo)
    assert {Path(d.file).name for d in broken.errors} == {"old.json", "aks.dev.json"}
    run = run_scan(ScanOptions(inputs=[ArmOptions(paths=[str(repo)], exclude=["legacy", "*.dev.json"])]))
    assert not run.errors, [str(d) for d in run.errors]
    reasons = {Path(e.name).relative_to(repo).as_posix(): e.reason for e in run.ledger.entries
               if e.status == "skipped"}
    assert "--exclude legacy" in reasons["legacy"] and "--exclude *.dev.json" in reasons["infra/aks.dev.json"]
    # the same from the command line, repeatable, for --k8s too
    proc = cli(repo, "scan", "--arm", ".", "--k8s", "k8s", "--exclude", "legacy", "--exclude", "*.dev.json",
               "--exclude", "cluster-snapshot.json", "--fail-on", "none", "--results-json", "out/r.json")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    doc = json.loads((repo / "out" / "r.json").read_text())
    assert not any(i["path"].endswith("cluster-snapshot.json") for i in doc["inputs"] if i["kind"].startswith("k8s"))


def test_an_explicitly_named_file_that_is_no_arm_input_is_an_error(tmp_path: Path) -> None:
    repo = make_repository(tmp_path / "repo")
    run = scan(repo / "package.json", TEMPLATE)
    assert [Path(d.file).name for d in run.errors] == ["package.json"]
    assert "not an ARM template, parameter file, REST resource or export" in run.errors[0].message


# -- point 3: the common wrong inputs --------------------------------------------------------------------------------

def test_a_bicep_file_says_to_compile_it(tmp_path: Path) -> None:
    repo = make_repository(tmp_path / "repo")
    run = scan(repo / "infra" / "main.bicep", TEMPLATE)
    assert len(run.errors) == 1 and "az bicep build" in run.errors[0].message, [str(d) for d in run.errors]
    assert "bicep build" in run.errors[0].message and "pass the JSON" in run.errors[0].message


@pytest.mark.parametrize("name", ["deploy.yaml", "service.json", "cluster-snapshot.json"])
def test_kubernetes_input_given_to_arm_says_use_k8s(tmp_path: Path, name: str) -> None:
    repo = make_repository(tmp_path / "repo")
    run = scan(repo / "k8s" / name)
    assert len(run.errors) == 1 and "--k8s" in run.errors[0].message, [str(d) for d in run.errors]


def _chart(root: Path) -> Path:
    chart = root / "charts" / "web"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: web\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("replicas: 2\n")
    (chart / "templates" / "deployment.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n"
        "spec:\n  replicas: {{ .Values.replicas }}\n")
    return chart


def test_a_helm_chart_given_to_k8s_says_to_render_it(tmp_path: Path) -> None:
    chart = _chart(tmp_path)
    run = run_scan(ScanOptions(inputs=[K8sOptions(paths=[str(chart)])]))
    assert len(run.errors) == 1 and "helm template" in run.errors[0].message, [str(d) for d in run.errors]
    # inside a directory of manifests, the chart is skipped and listed with the same hint; the rest is read
    (tmp_path / "deploy.yaml").write_text(DEPLOYMENT_YAML)
    run = run_scan(ScanOptions(inputs=[K8sOptions(paths=[str(tmp_path)])]))
    assert not run.errors, [str(d) for d in run.errors]
    assert any(t.resource.display_name().endswith("web") for t in run.targets)
    skipped = {Path(e.name).as_posix(): e.reason for e in run.ledger.entries if e.status == "skipped"}
    assert "helm template" in skipped[(tmp_path / "charts" / "web").as_posix()], skipped


@pytest.mark.parametrize("option", ["--arm", "--k8s"])
def test_an_empty_directory_says_so_and_exits_5(tmp_path: Path, option: str) -> None:
    (tmp_path / "empty").mkdir()
    proc = cli(tmp_path, "scan", option, "empty")
    assert proc.returncode == 5, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "empty: the directory is empty" in proc.stdout


def test_a_directory_without_arm_input_says_what_it_skipped(tmp_path: Path) -> None:
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "package.json").write_text('{"name": "web"}')
    (tmp_path / "web" / "main.bicep").write_text("param x string\n")
    proc = cli(tmp_path, "scan", "--arm", "web")
    assert proc.returncode == 5, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "web: no ARM input found (2 file(s) skipped" in proc.stdout


def test_arm_inputs_and_kustomizations_in_a_k8s_directory_say_what_they_are(tmp_path: Path) -> None:
    """The mirror of "a Kubernetes YAML given to --arm says use --k8s": `--k8s .` on a repository lists its
    ARM templates as such, and a kustomization.yaml (which needs no apiVersion or kind) with the kustomize hint."""
    shutil.copy(TEMPLATE, tmp_path / "cluster.json")
    (tmp_path / "cluster.parameters.json").write_text(json.dumps({
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#",
        "contentVersion": "1.0.0.0", "parameters": {"name": {"value": "x"}}}))
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "kustomization.yaml").write_text("resources: [deploy.yaml]\n")
    (tmp_path / "base" / "deploy.yaml").write_text(DEPLOYMENT_YAML)
    (tmp_path / "package.json").write_text('{"name": "x"}')
    run = run_scan(ScanOptions(inputs=[K8sOptions(paths=[str(tmp_path)])]))
    assert not run.errors, [str(d) for d in run.errors]
    reasons = {Path(e.file).name: e.reason for e in run.ledger.entries if e.type == "document"}
    assert reasons == {
        "cluster.json": "skipped: an ARM template, not a Kubernetes object: scan it with --arm",
        "cluster.parameters.json": "skipped: an ARM parameter file, not a Kubernetes object: scan it with --arm",
        "kustomization.yaml": "skipped: kustomize configuration, not a cluster object: render it with "
                              "'kustomize build' and scan the output",
        "package.json": "skipped: not a Kubernetes object (no 'kind')"}, reasons


def test_exclude_takes_a_path_as_the_user_writes_it_from_the_working_directory_or_absolute(tmp_path: Path) -> None:
    """`--arm infra --exclude infra/legacy` (the path from where the command runs, not from the directory given),
    `--exclude ./infra/legacy/`, or an absolute path: each leaves the tree out, as `--exclude legacy` does.
    Before, only the path relative to the given directory matched and these kept the tree in without a word."""
    repo = make_repository(tmp_path / "repo")
    (repo / "infra" / "legacy").mkdir()
    (repo / "infra" / "legacy" / "old.json").write_text("{ broken")
    (repo / "infra" / "aks.dev.json").write_text("{ broken")
    for pattern in ("infra/legacy", "./infra/legacy/", str(repo / "infra" / "legacy"), "infra/*/old.json",
                    str(repo / "infra" / "leg*")):
        proc = cli(repo, "scan", "--arm", "infra", "--exclude", pattern, "--exclude", "infra/aks.dev.json",
                   "--fail-on", "none", "--results-json", "out/r.json")
        assert proc.returncode == 0, (pattern, proc.stdout[-3000:] + proc.stderr[-2000:])
        doc = json.loads((repo / "out" / "r.json").read_text())
        skipped = {e["name"]: e["reason"] for e in doc["coverage"]["entries"] if e["status"] == "skipped"}
        assert any(f"--exclude {pattern}" in r for r in skipped.values()), (pattern, skipped)
        assert skipped["infra/aks.dev.json"] == "excluded by --exclude infra/aks.dev.json"
    # given as an absolute directory, a path from the working directory still names the same tree
    proc = cli(repo, "scan", "--arm", str(repo / "infra"), "--exclude", "infra/legacy", "--exclude", "*.dev.json",
               "--fail-on", "none")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]


KUBE_BENCH = FIXTURES / "node-pools" / "kube-bench" / "aks-batch-31415926-vmss000000.json"
NODE_SNAPSHOT = FIXTURES / "node-pools" / "snapshot-aks-prod-weu.json"


def test_kube_bench_output_in_a_repository_says_use_kube_bench(tmp_path: Path) -> None:
    """kube-bench's JSON (a Controls document, a bare list, one Controls object) kept in a repository is listed
    with the option that reads it, by --arm and --k8s alike; named on --arm, it is an error saying so."""
    doc = json.loads(KUBE_BENCH.read_text())
    for shape in (doc, doc["Controls"], doc["Controls"][0]):
        assert "--kube-bench" in not_an_arm_input(shape), shape
    shutil.copy(TEMPLATE, tmp_path / "aks.json")
    (tmp_path / "bench").mkdir()
    shutil.copy(KUBE_BENCH, tmp_path / "bench" / "node-1.json")
    (tmp_path / "bench" / "node-2.json").write_text(json.dumps(doc["Controls"]))
    for options in (ArmOptions(paths=[str(tmp_path)]), K8sOptions(paths=[str(tmp_path / "bench")])):
        run = run_scan(ScanOptions(inputs=[options]))
        reasons = {Path(e.file).name: e.reason for e in run.ledger.entries if Path(e.file).parent.name == "bench"}
        assert len(reasons) == 2 and all("kube-bench's JSON output: give it to --kube-bench" in r
                                         for r in reasons.values()), reasons
        assert not run.errors, [str(d) for d in run.errors]
    named = scan(tmp_path / "bench" / "node-1.json", TEMPLATE)
    assert [Path(d.file).name for d in named.errors] == ["node-1.json"]
    assert "give it to --kube-bench" in named.errors[0].message


def test_the_node_pool_snapshot_example_is_a_snapshot_as_the_collector_writes_it() -> None:
    """The example is plain JSON in the collector's line layout (so jq reads it, and `--arm .` on this repository
    lists it as a snapshot, not as broken JSON), as make_node_pools.py writes it."""
    lines = NODE_SNAPSHOT.read_text(encoding="utf-8").split("\n")
    assert lines[0].endswith(",") and lines[1] == '"items":['
    data = json.loads(NODE_SNAPSHOT.read_text(encoding="utf-8"))
    assert data["schema"] == "aks-compliance/k8s-snapshot/v1"
    run = run_scan(ScanOptions(inputs=[ArmOptions(paths=[str(NODE_SNAPSHOT.parent)])]))
    assert not run.errors, [str(d) for d in run.errors]
    reasons = {Path(e.file).name: e.reason for e in run.ledger.entries if e.type == "file"}
    assert "a Kubernetes snapshot" in reasons[NODE_SNAPSHOT.name], reasons


# -- a repository that holds its own controls (newuser-6) -----------------------------------------------------------

def test_the_fixtures_of_a_control_repository_given_are_not_scanned_as_infrastructure(tmp_path: Path) -> None:
    """`--arm . --k8s . --controls-path compliance` read the control repository's fixtures (failed-*.json, made to
    fail) as the user's infrastructure: every fixture was findings of the built-in and the user's controls, in
    SARIF and the gate. The fixtures folder beside the controls is left out and listed; named, it is scanned."""
    repo = make_repository(tmp_path / "repo")
    example = Path(__file__).resolve().parent.parent / "examples" / "custom-controls"
    shutil.copytree(example, repo / "compliance")
    proc = cli(repo, "scan", "--arm", ".", "--k8s", ".", "--controls-path", "compliance", "--fail-on", "none",
               "--exclude", "cluster-snapshot.json", "--results-json", "out/results.json")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    doc = json.loads((repo / "out" / "results.json").read_text())
    assert not [r for r in doc["results"] if "compliance/" in (r["target"].get("source") or {}).get("file", "")]
    reasons = [e["reason"] for e in doc["coverage"]["entries"]
               if e["status"] == "skipped" and Path(e["name"]).as_posix() == "compliance/fixtures"]
    assert len(reasons) == 2, reasons  # once per family that walked it
    assert all("the fixtures of the control repository compliance (--controls-path)" in r for r in reasons)
    named = cli(repo, "scan", "--arm", "compliance/fixtures/CONTOSO-001", "--controls-path", "compliance",
                "--controls", "CONTOSO-001", "--results-json", "out/fixtures.json")
    assert named.returncode == 1, named.stdout[-3000:]  # named, the fixtures are read (and some fail)
    # without --controls-path the folder is ordinary JSON and YAML
    plain = cli(repo, "scan", "--arm", ".", "--fail-on", "none", "--results-json", "out/plain.json")
    assert any("compliance/fixtures/" in (r["target"].get("source") or {}).get("file", "")
               for r in json.loads((repo / "out" / "plain.json").read_text())["results"]), plain.stdout[-2000:]


@pytest.mark.parametrize("name, hint, status", [
    ("cluster.json", "error: cluster.json:1: an ARM template, not a Kubernetes object: scan it with --arm", 2),
    ("kustomization.yaml", "render it with 'kustomize build' and scan the output", 5)])
def test_a_file_named_to_k8s_that_holds_no_kubernetes_object_is_no_input(tmp_path: Path, name: str, hint: str,
                                                                         status: int) -> None:
    """`--k8s azuredeploy.json` or `--k8s kustomization.yaml` was a warning, '3 skipped' and exit status 0: a CI
    gate that judged nothing and passed. An ARM input is an error, the mirror of `--arm deploy.yaml` ('use
    --k8s'); a file without a Kubernetes object is no input (exit status 5, as an empty directory)."""
    shutil.copy(TEMPLATE, tmp_path / "cluster.json")
    (tmp_path / "kustomization.yaml").write_text("resources: [deploy.yaml]\n")
    proc = cli(tmp_path, "scan", "--k8s", name)
    assert proc.returncode == status, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert hint in proc.stdout, proc.stdout[-2000:]
    assert ("no Kubernetes object to check" in proc.stdout) == (status == 5), proc.stdout[-2000:]
    # a file of objects with one such document besides keeps the warning: its objects are judged
    (tmp_path / "mixed.yaml").write_text(DEPLOYMENT_YAML + "---\n" + (tmp_path / "kustomization.yaml").read_text())
    run = run_scan(ScanOptions(inputs=[K8sOptions(paths=[str(tmp_path / "mixed.yaml")])]))
    assert not run.errors and any(d.message.startswith("skipped:") for d in run.diagnostics if d.severity == "warning")


def test_the_generated_policies_in_a_repository_are_not_scanned_as_infrastructure(tmp_path: Path) -> None:
    """`aks-compliance policies generate --out my-policies` and then `scan --k8s .`: the Gatekeeper test samples
    (pods made to fail) were read as the user's workloads, 979 failed results, and every definition JSON was a
    warning. The generated folder (its initiative says it comes from aks-compliance) is left out and listed;
    named, it is read; a folder that only looks alike (another initiative) is searched as before."""
    repo = make_repository(tmp_path / "repo")
    gen = cli(repo, "policies", "generate", "--out", "my-policies")
    assert gen.returncode == 0, gen.stdout[-2000:] + gen.stderr[-2000:]
    proc = cli(repo, "scan", "--arm", ".", "--k8s", ".", "--fail-on", "none", "--results-json", "out/results.json")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    doc = json.loads((repo / "out" / "results.json").read_text())
    assert not [r for r in doc["results"] if "my-policies" in (r["target"].get("source") or {}).get("file", "")]
    assert not [d for d in doc["diagnostics"] if "my-policies" in (d.get("file") or "")]
    reasons = [e["reason"] for e in doc["coverage"]["entries"]
               if e["status"] == "skipped" and Path(e["name"]).as_posix() == "my-policies"]
    assert len(reasons) == 2 and all("aks-compliance policies generate" in r for r in reasons), reasons
    named = cli(repo, "scan", "--k8s", "my-policies/kubernetes/AKS-100/samples", "--controls", "AKS-100",
                "--results-json", "out/samples.json")
    assert named.returncode == 1, named.stdout[-3000:]  # named, the samples are read (and made to fail)
    # an initiative of someone else's: the folder is searched
    other = repo / "my-policies" / "initiative.json"
    data = json.loads(other.read_text())
    data["properties"]["metadata"]["source"] = "contoso"
    other.write_text(json.dumps(data))
    again = cli(repo, "scan", "--k8s", ".", "--fail-on", "none", "--results-json", "out/again.json")
    assert any("my-policies/" in (r["target"].get("source") or {}).get("file", "")
               for r in json.loads((repo / "out" / "again.json").read_text())["results"]), again.stdout[-2000:]
