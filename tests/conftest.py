"""Shared helpers for the project's own tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from aks_compliance.scan import ScanOptions, ScanRun, run_scan
from aks_compliance.arm.inputs import ArmOptions

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
FIXTURES = ROOT / "fixtures"


def require_shared(*parts: str) -> Path:
    """A path under ../shared; skips when absent, fails when AKSC_REQUIRE_SHARED=1 (CI)."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        message = f"{path} is not available"
        if os.environ.get("AKSC_REQUIRE_SHARED") == "1":
            pytest.fail(f"{message}, and AKSC_REQUIRE_SHARED=1 requires it")
        pytest.skip(message)
    return path


@pytest.fixture
def shared():
    return require_shared


def scan(*paths: str | Path, location: str | None = None, subscription_id: str | None = None,
         resource_group: str | None = None, template_uri: str | None = None, parameters: dict | None = None,
         **options) -> ScanRun:
    """Scan ARM paths; keyword arguments are the ARM family's deployment options or ScanOptions fields."""
    arm = ArmOptions(paths=[str(p) for p in paths], location=location, subscription_id=subscription_id,
                     resource_group=resource_group, template_uri=template_uri, parameters=parameters or {})
    return run_scan(ScanOptions(inputs=[arm], **options))


def line_of(path: Path, needle: str, after: str | None = None) -> int:
    """The line of the first ``needle`` in a file (after the first line holding ``after``, if given)."""
    lines = path.read_text().splitlines()
    start = next(i for i, t in enumerate(lines) if after in t) if after else 0
    return next(i for i, t in enumerate(lines[start:], start + 1) if needle in t)


def outcome_of(run: ScanRun, control_id: str, target_name: str | None = None):
    matches = [r for r in run.results if r.control_id == control_id
               and (target_name is None or r.target.name == target_name)]
    assert len(matches) == 1, f"expected one {control_id} result, got {[m.key for m in matches]}"
    return matches[0]


def write_files(folder: Path, files: dict[str, Any]) -> None:
    """Write ``{name: text | bytes | callable(path)}`` into ``folder`` (callables make what text cannot)."""
    for name, content in files.items():
        path = folder / name
        if callable(content):
            content(path)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def scan_after(prelude: str, cli_args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """`aks-compliance scan CLI_ARGS` in a child Python that first runs ``prelude`` (which patches a part to fail)."""
    code = prelude + f"import sys; from aks_compliance.cli import main; sys.exit(main(['scan', *{cli_args!r}]))"
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=300)


def process_gone(pid: int) -> bool:
    """Whether no process ``pid`` exists (any more)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False
