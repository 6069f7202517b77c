"""A documented way in for CI (issue 16, point 7), each README section tested.

The wheel is built from this checkout and installed into a fresh virtual environment outside it; the
Dockerfile's install and entry point, the GitHub Actions and Azure Pipelines definitions (their shell steps,
as written, in a git repository of this project's fixtures with a main branch) and the pre-commit hook run
with it. No network: the wheel is built without build isolation, and the fresh environment takes the
dependencies from this project's environment (a ``.pth`` line) while the package, its entry points, its
console script and the suite inside it come from the wheel (``PIP_NO_DEPS``/``PIP_NO_INDEX`` make the
documented ``pip install`` lines install only the wheel).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import venv
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
import yaml

from .conftest import FIXTURES, ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
EXAMPLES = FIXTURES / "examples"


def section(title: str) -> str:
    """A README section: from its heading to the next heading of the same or a higher level (outside code)."""
    level = len(title) - len(title.lstrip("#"))
    lines = README.splitlines(keepends=True)
    start = lines.index(title + "\n")
    out, fenced = [lines[start]], False
    for line in lines[start + 1:]:
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and re.match(rf"#{{1,{level}}} ", line):
            break
        out.append(line)
    return "".join(out)


def code_blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text, re.S)


def run(cmd: list[str] | str, cwd: Path, env: dict[str, str] | None = None, shell: bool = False,
        timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, env=env, shell=shell, capture_output=True, text=True, timeout=timeout,
                          executable="/bin/bash" if shell else None)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built as the README says (without build isolation: no network in tests)."""
    out = tmp_path_factory.mktemp("dist")
    proc = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", str(out),
                str(ROOT)], cwd=out)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    [built] = out.glob("aks_compliance-*.whl")
    return built


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Path:
    """A new virtual environment outside the checkout, with pip; dependencies resolved from this environment."""
    env_dir = tmp_path_factory.mktemp("fresh") / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    site = run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=env_dir)
    (Path(site.stdout.strip()) / "aksc-test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return env_dir


def fresh_env(fresh: Path, **extra: str) -> dict[str, str]:
    # PYTHONPATH too: a worktree's tests run with it, and it would put the checkout's package before the wheel's
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PIP_", "VIRTUAL_ENV", "PYTHONPATH"))}
    env.update(PATH=f"{fresh / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}", PIP_NO_DEPS="1", PIP_NO_INDEX="1",
               PIP_DISABLE_PIP_VERSION_CHECK="1", **extra)
    return env


# -- the wheel ----------------------------------------------------------------------------------------------------

def test_the_wheel_carries_the_suite_and_the_extras(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        metadata = z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
        entry_points = z.read(next(n for n in names if n.endswith(".dist-info/entry_points.txt"))).decode()
    assert {"aks_compliance/_suite/pytest.ini", "aks_compliance/_suite/test_controls.py",
            "aks_compliance/schemas/results-v1.schema.json"} <= names
    assert not any(n.startswith(("tests/", "fixtures/")) for n in names)
    extras = set(re.findall(r"^Provides-Extra: (\S+)$", metadata, re.M))
    install = section("## Install into a project")
    for used in re.findall(r"\[([a-z,]+)\]\"", install):
        assert set(used.split(",")) <= extras, (used, extras)
    assert {"html", "xdist"} <= extras
    assert re.search(r"^Requires-Dist: jsonschema", metadata, re.M)  # used at run time, not only in tests
    assert "aks_compliance = aks_compliance.plugin" in entry_points and "aks-compliance = aks_compliance.cli:main" in entry_points
    assert wheel.name in install  # the README's wheel name is the one built


def test_installed_from_the_wheel_outside_the_checkout(fresh: Path, wheel: Path, tmp_path: Path) -> None:
    install = next(line for line in code_blocks(section("## Install into a project"), "sh")[0].splitlines()
                   if line.startswith("python -m pip install \"dist/"))
    dist = tmp_path / "dist"
    dist.mkdir()
    shutil.copy(wheel, dist)
    proc = run(install, cwd=tmp_path, env=fresh_env(fresh), shell=True)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    where = run([str(fresh / "bin" / "python"), "-c", "import aks_compliance; print(aks_compliance.__file__)"],
                cwd=tmp_path, env=fresh_env(fresh))
    assert Path(where.stdout.strip()).is_relative_to(fresh), where.stdout + where.stderr
    (tmp_path / "infra").mkdir()
    shutil.copy(EXAMPLES / "estate-export.json", tmp_path / "infra")
    scan = next(line for line in code_blocks(section("## Install into a project"), "sh")[0].splitlines()
                if line.startswith("aks-compliance scan"))
    proc = run(scan, cwd=tmp_path, env=fresh_env(fresh), shell=True)
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-2000:]  # the example has failures
    assert "PytestAssertRewriteWarning" not in proc.stdout + proc.stderr
    assert "warnings summary" not in proc.stdout
    sarif = json.loads((tmp_path / "reports" / "results.sarif").read_text())
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"]
    plain = run([str(fresh / "bin" / "python"), "-m", "pytest", "--version"], cwd=tmp_path, env=fresh_env(fresh))
    assert "PytestAssertRewriteWarning" not in plain.stdout + plain.stderr


# -- the container image ------------------------------------------------------------------------------------------

def dockerfile() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    return [(m.group(1).upper(), m.group(2).strip()) for m in re.finditer(r"^(\w+)\s+(.*)$", text, re.M)
            if not m.group(0).startswith("#")]


def test_the_dockerfile_installs_the_wheel_and_runs_as_documented(fresh: Path, wheel: Path, tmp_path: Path) -> None:
    steps = dockerfile()
    stages = [i for i, (op, _) in enumerate(steps) if op == "FROM"]
    assert len(stages) == 2, "a build stage and the image"
    build = [arg for op, arg in steps[: stages[1]] if op == "RUN"]
    image = steps[stages[1]:]
    # the build stage: the wheel from the checkout (COPY . .), as the wheel fixture builds it
    assert build == ["python -m pip wheel --no-deps --wheel-dir /wheels ."]
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    shutil.copy(wheel, wheels)
    runs = [arg for op, arg in image if op == "RUN"]
    install = next(r for r in runs if "pip install" in r)
    proc = run(install.replace("/wheels", str(wheels)), cwd=tmp_path, env=fresh_env(fresh), shell=True)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert not wheels.exists()  # the image keeps no wheel
    assert dict((op, arg) for op, arg in image)["USER"] not in ("root", "0")
    entrypoint = json.loads(dict(image)["ENTRYPOINT"])
    cmd = json.loads(dict(image)["CMD"])
    work = tmp_path / "work"
    (work / "infra").mkdir(parents=True)
    shutil.copy(EXAMPLES / "estate-export.json", work / "infra")
    shown = run(entrypoint + cmd, cwd=work, env=fresh_env(fresh))
    assert shown.returncode == 0 and shown.stdout.startswith("usage: aks-compliance scan"), shown.stdout[:500]
    documented = next(line for line in code_blocks(section("## Container image"), "sh")[0].splitlines()
                      if line.startswith("docker run"))
    args = shlex.split(documented.split(" aks-compliance ", 1)[1])  # what follows the image name
    proc = run(entrypoint + args, cwd=work, env=fresh_env(fresh))
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert json.loads((work / "reports" / "results.json").read_text())["results"]
    assert "PytestAssertRewriteWarning" not in proc.stdout + proc.stderr
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "reports"} <= set(ignored)


# -- CI: GitHub Actions and Azure Pipelines -----------------------------------------------------------------------

def git(cwd: Path, *args: str) -> str:
    proc = run(["git", "-c", "user.name=ci", "-c", "user.email=ci@example.com", "-c", "init.defaultBranch=main",
                *args], cwd=cwd)
    assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
    return proc.stdout


# A registry named from utcNow(), as real templates name resources (the AKS landing zone accelerator's registry
# and key vault): every scan expands it at its own start time, so the scan of main and the scan of the pull request
# name it differently unless they share one (the pipelines' baseline passes the first scan's start). Its admin
# user is enabled: a high finding on both branches, never a new one.
TIME_NAMED = {
    "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
    "contentVersion": "1.0.0.0",
    "parameters": {"registryName": {"type": "string",
                                    "defaultValue": "[format('acr{0}', uniqueString(resourceGroup().id, utcNow()))]"}},
    "resources": [{"type": "Microsoft.ContainerRegistry/registries", "apiVersion": "2023-07-01",
                   "name": "[parameters('registryName')]", "location": "westeurope", "sku": {"name": "Premium"},
                   "properties": {"adminUserEnabled": True}}],
}


def repository(tmp_path: Path, change: bool) -> Path:
    """A clone of an origin whose main branch holds the example templates under infra/ (and a registry named from
    the time), on a feature branch that changes nothing, or makes a cluster keep local accounts (a new high
    finding)."""
    origin = tmp_path / "origin.git"
    seed = tmp_path / "seed"
    (seed / "infra").mkdir(parents=True)
    for item in EXAMPLES.iterdir():
        (shutil.copytree if item.is_dir() else shutil.copy)(item, seed / "infra" / item.name)
    (seed / "infra" / "registry.json").write_text(json.dumps(TIME_NAMED, indent=2))
    (seed / "package.json").write_text('{"name": "infra"}')
    git(tmp_path, "init", "-q", "--bare", str(origin))
    git(seed, "init", "-q")
    git(seed, "add", "-A")
    git(seed, "commit", "-qm", "main")
    git(seed, "push", "-q", str(origin), "HEAD:refs/heads/main")
    work = tmp_path / "work"
    git(tmp_path, "clone", "-q", str(origin), str(work))
    git(work, "checkout", "-q", "-b", "feature")
    if change:
        template = work / "infra" / "estate-export.json"
        text = template.read_text()
        assert text.count('"disableLocalAccounts": true') == 1
        template.write_text(text.replace('"disableLocalAccounts": true', '"disableLocalAccounts": false'))
        git(work, "commit", "-qam", "keep local accounts")
    return work


def _gh_steps(doc: dict) -> tuple[dict[str, str], list[dict]]:
    [job] = doc["jobs"].values()
    return {k: str(v) for k, v in doc.get("env", {}).items()}, job["steps"]


def _az_steps(doc: dict) -> tuple[dict[str, str], list[dict]]:
    return {k: str(v) for k, v in doc.get("variables", {}).items()}, doc["steps"]


PIPELINES = {"github-actions.yml": ("### GitHub Actions", _gh_steps, "run", ["-eo", "pipefail"], "RUNNER_TEMP"),
             "azure-pipelines.yml": ("### Azure Pipelines", _az_steps, "script", [], "AGENT_TEMPDIRECTORY")}


def test_the_readme_shows_the_example_pipelines() -> None:
    for name, (title, *_rest) in PIPELINES.items():
        [block] = code_blocks(section(title), "yaml")
        assert block == (ROOT / "examples" / "ci" / name).read_text(), f"README {title} differs from examples/ci/{name}"


def _outputs(step: dict) -> list[str]:
    """Files a publishing step (an action or a task) reads: they must exist after the shell steps."""
    inputs = step.get("with") or step.get("inputs") or {}
    keys = ("sarif_file", "report_paths", "path", "testResultsFiles", "PathtoPublish", "targetPath")
    return [str(inputs[k]) for k in keys if k in inputs]


@pytest.mark.parametrize("change", [False, True], ids=["no-new-findings", "new-high-finding"])
@pytest.mark.parametrize("pipeline", list(PIPELINES))
def test_the_pipeline_runs_as_written(pipeline: str, change: bool, fresh: Path, wheel: Path, tmp_path: Path) -> None:
    title, steps_of, key, bash_flags, temp_var = PIPELINES[pipeline]
    doc = yaml.safe_load((ROOT / "examples" / "ci" / pipeline).read_text())
    variables, steps = steps_of(doc)
    work = repository(tmp_path, change)
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir()
    assert variables["AKSC_PACKAGE"].startswith("aks-compliance[html] @ git+https://")
    variables["AKSC_PACKAGE"] = f"{wheel}[html]"  # the built wheel stands for the git URL
    env = fresh_env(fresh, **variables, **{temp_var: str(runner_temp)})
    results: dict[str, int] = {}
    publishers = []
    for step in steps:
        if key in step:
            name = step.get("name") or step.get("displayName")
            proc = run(["bash", "--noprofile", "--norc", *bash_flags, "-c", step[key]], cwd=work, env=env)
            results[name] = proc.returncode
            if name == "Only new findings fail":
                diff_output = proc.stdout
            elif proc.returncode != 0:
                pytest.fail(f"step {name!r} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}")
        elif "uses" in step or "task" in step:
            publishers.append(step)
    assert list(results) == ["Install aks-compliance", "Scan", "Baseline from main", "Only new findings fail"]
    if change:
        assert results["Only new findings fail"] == 1 and "AKS-002" in diff_output, diff_output
    else:
        assert results["Only new findings fail"] == 0, diff_output
    assert "AKS-059" not in diff_output.split("still failing")[0] and "gone: 0" in diff_output, diff_output
    # the publishing steps run whatever the gate said, and find what they publish
    for step in publishers:
        if _outputs(step):
            condition = step.get("if") or step.get("condition")
            assert condition in ("always()", "succeededOrFailed()"), step
        for path in _outputs(step):
            assert (work / path).exists(), (step, path)
    sarif = json.loads((work / "reports" / "results.sarif").read_text())
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"]
    assert sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].startswith("infra/")
    assert len(list(ET.parse(work / "reports" / "junit.xml").iter("testcase"))) > 100
    assert (work / "reports" / "report.html").stat().st_size > 10_000
    assert json.loads((work / "reports" / "diff.json").read_text())["new"].endswith("results.json")


# -- pre-commit ---------------------------------------------------------------------------------------------------

def test_the_pre_commit_hook_runs_as_defined(fresh: Path, tmp_path: Path) -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    [hook] = hooks
    assert {"id", "name", "entry", "language"} <= set(hook) and hook["language"] == "python"
    assert hook["pass_filenames"] is False  # the scan reads its own inputs: filenames would become pytest args
    assert re.search(hook["files"], "infra/aks.json") and re.search(hook["files"], "deploy/app.yaml")
    documented = yaml.safe_load(code_blocks(section("## pre-commit"), "yaml")[0])
    [configured] = documented["repos"][0]["hooks"]
    assert configured["id"] == hook["id"]
    repo = repository(tmp_path, change=False)
    for args, status in ((hook["args"], 1), (configured["args"], 1)):
        proc = run(shlex.split(hook["entry"]) + list(args), cwd=repo, env=fresh_env(fresh))
        assert proc.returncode == status, proc.stdout[-2000:] + proc.stderr[-2000:]
        assert "high (" in proc.stdout and "error:" not in proc.stdout
    compliant = tmp_path / "compliant"
    (compliant / "infra").mkdir(parents=True)
    shutil.copy(FIXTURES / "controls" / "AKS-090" / "passed-private-cluster-with-local-accounts.json",
                compliant / "infra" / "aks.json")
    proc = run(shlex.split(hook["entry"]) + ["--arm", "infra", "--controls", "AKS-090,AKS-001"], cwd=compliant,
               env=fresh_env(fresh))
    assert proc.returncode == 0, proc.stdout[-2000:]


# -- contributing -------------------------------------------------------------------------------------------------

def test_the_readme_lists_every_test_that_skips_without_shared() -> None:
    text = section("## Contributing")
    assert "../shared" in text and "AKSC_REQUIRE_SHARED=1" in text and "-n auto" in text
    listed = set(re.findall(r"`(tests/test_\w+\.py)`", text))
    needing = {f"tests/{p.name}" for p in (ROOT / "tests").glob("test_*.py")
               if "require_shared(" in p.read_text(encoding="utf-8") or "shared(" in p.read_text(encoding="utf-8")}
    needing.discard("tests/test_ci_integration.py")
    assert listed == needing
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^test:.*\n\t.*pytest -n auto", makefile, re.M)
