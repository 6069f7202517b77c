"""'aks-compliance scan' runs with its own pytest configuration, and a narrowed run says so everywhere.

A user's working directory may hold pytest configuration for their own tests (addopts, plugins' options,
a conftest.py); none of it may change what a scan checks or reports. And when the selection of results
is narrowed (-k, -x, --deselect, --controls, an interrupt), every output says the run is partial."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import FIXTURES

EXAMPLES = str(FIXTURES / "examples")


def scan(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "aks_compliance", "scan", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env=full_env)


@pytest.fixture
def hostile_dir(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text('[tool.pytest.ini_options]\naddopts = "-x --cov=foo"\n')
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = -x --maxfail=1 --strict-config -p no:terminal\n")
    (tmp_path / "tox.ini").write_text("[pytest]\naddopts = -k nothing\n")
    (tmp_path / "conftest.py").write_text("raise SystemExit('the user conftest was loaded')\n")
    return tmp_path


def test_the_users_pytest_configuration_does_not_leak_into_a_scan(hostile_dir: Path) -> None:
    out = hostile_dir / "out"
    proc = scan(hostile_dir, "--arm", EXAMPLES, "--results-json", str(out / "r.json"), "--sarif", str(out / "r.sarif"),
                env={"PYTEST_ADDOPTS": "-x -k AKS-001"})
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]  # failures found, nothing else
    doc = json.loads((out / "r.json").read_text())
    assert doc["run"]["selection"] == {"complete": True, "narrowed_by": [], "results_reported": len(doc["results"]),
                                       "results_computed": len(doc["results"])}
    assert len({r["control_id"] for r in doc["results"]}) > 40  # every control ran, not only AKS-001
    assert "PARTIAL RUN" not in proc.stdout


@pytest.mark.parametrize("narrowing, expect", [
    (["-k", "AKS-011"], "-k AKS-011"),
    (["-x"], "stopped early"),
    (["--controls", "aks-002"], "--controls aks-002"),
    (["--deselect", "test_controls.py::test_controls[AKS-002-estate-export/aks-prod-weu]"], "--deselect"),
])
def test_a_narrowed_run_says_so_in_every_output(hostile_dir: Path, narrowing: list[str], expect: str) -> None:
    out = hostile_dir / "out"
    proc = scan(hostile_dir, "--arm", EXAMPLES, "--results-json", str(out / "r.json"), "--sarif", str(out / "r.sarif"),
                "--audit-report", str(out / "r.html"), *narrowing)
    assert proc.returncode in (0, 1), proc.stdout[-2000:] + proc.stderr[-2000:]
    doc = json.loads((out / "r.json").read_text())
    selection = doc["run"]["selection"]
    assert selection["complete"] is False and any(expect in n for n in selection["narrowed_by"]), selection
    sarif = json.loads((out / "r.sarif").read_text())
    assert sarif["runs"][0]["properties"]["selection"] == selection
    html = (out / "r.html").read_text()
    assert 'id="partial"' in html and "defaults (all controls" not in html
    assert "PARTIAL RUN" in proc.stdout


def test_a_scan_with_workers_leaves_the_users_pytest_temporary_directories_alone(tmp_path: Path) -> None:
    """pytest-xdist makes pytest create a numbered directory under TMP/pytest-of-USER and delete the user's
    older ones at the end of the session (those beyond the last three: their own test runs' files, and
    seconds of deleting): a scan uses a private base of its own, removed after the run."""
    import getpass

    temp = tmp_path / "tmp"
    mine = temp / f"pytest-of-{getpass.getuser()}"
    for n in range(1, 6):  # five earlier runs of the user's own tests
        (mine / f"pytest-{n}").mkdir(parents=True)
        (mine / f"pytest-{n}" / "kept.txt").write_text("the user's")
    mine.chmod(0o700)
    proc = scan(tmp_path, "--arm", EXAMPLES, "-n", "2", "--results-json", str(tmp_path / "r.json"),
                env={"TMPDIR": str(temp), "PYTEST_DEBUG_TEMPROOT": str(temp)})
    assert proc.returncode in (0, 1), proc.stdout[-2000:] + proc.stderr[-2000:]
    assert json.loads((tmp_path / "r.json").read_text())["results"]
    assert sorted(p.name for p in mine.iterdir()) == [f"pytest-{n}" for n in range(1, 6)]
    assert all((mine / f"pytest-{n}" / "kept.txt").is_file() for n in range(1, 6))
    assert not [p.name for p in temp.iterdir() if p.name.startswith("aksc-basetemp-")]  # ours is removed
