"""Output files: written atomically (a crash leaves the previous file, never half of one), and never to a
path steered by an input.

Every writer (results JSON, auditor report, SARIF, CSV, both snapshot formats, generated policies, the
catalog document, diff JSON) goes through ``aks_compliance.atomic``: a temporary file beside the target,
renamed into place when complete. Each is made to fail midway (the disk fills after a few bytes) and must
leave the previous file intact and no temporary file behind. The auditor report also fails midway through
rendering. Output names that come from inputs (a kube context, resource group or cluster names, control
ids) cannot leave their directory.
"""

from __future__ import annotations

import datetime as dt
import errno
import gzip
import json
import os
import stat
from pathlib import Path
from typing import Any, Callable

import pytest

from aks_compliance import atomic
from aks_compliance.azure.collector import AzureOptions, default_snapshot_path as azure_snapshot_path
from aks_compliance.azure.snapshot import write_snapshot as write_azure_snapshot
from aks_compliance.controls.docs import write_markdown
from aks_compliance.k8s.collector import default_snapshot_path as k8s_snapshot_path
from aks_compliance.k8s.snapshot import write_snapshot as write_k8s_snapshot
from aks_compliance.report.csv_matrix import write_csv
from aks_compliance.report.html import write_report
from aks_compliance.report.sarif import write_sarif
from aks_compliance.results import write_results

from .conftest import FIXTURES, scan

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return scan(FIXTURES / "examples").document()


class DiskFull:
    """A file whose writes fail with ENOSPC once ``limit`` characters were written (the disk filled)."""

    def __init__(self, fh: Any, limit: int) -> None:
        self.fh, self.limit, self.written = fh, limit, 0

    def write(self, data: Any) -> int:
        if self.written + len(data) > self.limit:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.written += len(data)
        return self.fh.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.fh, name)

    def __enter__(self) -> "DiskFull":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.fh.close()


def fill_disk_after(monkeypatch: pytest.MonkeyPatch, limit: int = 50) -> None:
    real_open = open
    monkeypatch.setattr(atomic, "open", lambda *a, **k: DiskFull(real_open(*a, **k), limit), raising=False)


def k8s_items() -> Any:
    return ({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"p{i}", "namespace": "shop"}} for i in range(50))


WRITERS: dict[str, tuple[str, Callable[[Path, dict], Any]]] = {
    "results-json": ("results.json", lambda p, d: write_results(str(p), d)),
    "audit-report": ("report.html", lambda p, d: write_report(str(p), d)),
    "sarif": ("results.sarif", lambda p, d: write_sarif(str(p), d)),
    "csv": ("matrix.csv", lambda p, d: write_csv(str(p), d)),
    "k8s-snapshot": ("k8s.json.gz", lambda p, d: write_k8s_snapshot(p, {"scope": "x"}, k8s_items())),
    "azure-snapshot": ("azure.json.gz", lambda p, d: write_azure_snapshot(
        p, {"taken": "now"}, {"resources": [{"id": f"/x/{i}", "type": "t"} for i in range(50)]})),
    "catalog-markdown": ("controls.md", lambda p, d: write_markdown(p)),
}


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_a_failure_midway_leaves_the_previous_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, doc: dict,
                                                   writer: str) -> None:
    name, write = WRITERS[writer]
    target = tmp_path / "out" / name
    write(target, doc)
    before = target.read_bytes()
    assert len(before) > 150
    os.chmod(target, 0o640)
    with monkeypatch.context() as m:
        fill_disk_after(m)
        with pytest.raises(OSError, match="No space left"):  # the writer went through the atomic path
            write(target, doc)
    assert target.read_bytes() == before, "the previous file is intact"
    assert [p.name for p in target.parent.iterdir()] == [name], "no temporary file is left behind"
    write(target, doc)  # and a later write replaces it, keeping its permissions
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_gzip_outputs_name_the_target_not_the_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "k8s.json.gz"
    write_k8s_snapshot(target, {"scope": "x"}, k8s_items())
    header = target.read_bytes()[:60]
    assert b"k8s.json\x00" in header and b".tmp" not in header  # gzip stores the name without .gz
    assert gzip.decompress(target.read_bytes()).startswith(b'{"schema":"aks-compliance/k8s-snapshot/v1"')


def test_new_files_get_the_usual_permissions(tmp_path: Path, doc: dict) -> None:
    umask = os.umask(0o022)
    try:
        write_results(str(tmp_path / "r.json"), doc)
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "r.json").stat().st_mode) == 0o644  # not mkstemp's 0600


def test_the_auditor_report_failing_midway_through_rendering_leaves_the_previous_report(tmp_path: Path,
                                                                                        doc: dict) -> None:
    target = tmp_path / "report.html"
    write_report(str(target), doc)
    before = target.read_bytes()

    class Late:
        """Fails when the template reaches it, after the head of the page was written."""

        def __str__(self) -> str:
            partial = [p for p in tmp_path.iterdir() if p.name.startswith(".report.html.") and p.stat().st_size]
            assert partial, "rendering had written part of the page when it failed"
            raise RuntimeError("renderer crashed midway")

    broken = json.loads(json.dumps(doc))
    # a warning's message: written by the page's template after the head and the controls' sections (those are
    # rendered before the page is written, report/sections.py)
    broken["diagnostics"] = [*broken.get("diagnostics", []),
                             {"severity": "warning", "message": Late(), "file": "a.json", "line": 1}]
    with pytest.raises(RuntimeError, match="renderer crashed midway"):
        write_report(str(target), broken)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_the_report_command_leaves_the_previous_outputs_when_the_document_is_bad(
        tmp_path: Path, doc: dict, capsys: pytest.CaptureFixture) -> None:
    from aks_compliance.report.commands import report

    good = tmp_path / "results.json"
    write_results(str(good), doc)
    outputs = ["-o", str(tmp_path / "r.html"), "--csv", str(tmp_path / "m.csv")]
    assert report([str(good), *outputs]) == 0
    before = {name: (tmp_path / name).read_bytes() for name in ("r.html", "m.csv")}
    bad = json.loads(good.read_text())
    bad["results"][-1]["evidence"] = [1]  # refused by the shape check, naming the field
    good.write_text(json.dumps(bad))
    capsys.readouterr()
    assert report([str(good), *outputs]) == 4
    err = capsys.readouterr().err
    assert f"not a valid results document: results[{len(bad['results']) - 1}].evidence[0] is a number, not an object" \
        in err and "Traceback" not in err
    assert {name: (tmp_path / name).read_bytes() for name in before} == before  # the previous reports, whole
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no temporary files"


def test_the_report_command_leaves_the_previous_outputs_when_rendering_fails(
        tmp_path: Path, doc: dict, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """A document the shape check passes but the renderer cannot build from (a defect of ours, or of a field
    the check does not cover): exit 4 naming the failure, the previous reports whole, no temporary file."""
    from aks_compliance.report import html
    from aks_compliance.report.commands import report

    good = tmp_path / "results.json"
    write_results(str(good), doc)
    outputs = ["-o", str(tmp_path / "r.html"), "--csv", str(tmp_path / "m.csv")]
    assert report([str(good), *outputs]) == 0
    before = {name: (tmp_path / name).read_bytes() for name in ("r.html", "m.csv")}

    def broken(doc: Any, generated: Any = None) -> Any:
        raise TypeError("a value the template cannot show")
    monkeypatch.setattr(html, "build_context", broken)
    capsys.readouterr()
    assert report([str(good), *outputs]) == 4
    err = capsys.readouterr().err
    assert "is not a results document the reports can be built from (TypeError" in err and "Traceback" not in err
    assert {name: (tmp_path / name).read_bytes() for name in before} == before  # the previous reports, whole
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no temporary files"


@pytest.mark.parametrize("context", ["../../etc/cron.d/x", "/etc/passwd", "..", ".", "a\\b/..\\..", "", "~root",
                                     "aks/../../../tmp/evil", "\x00nul", "<svg onload=alert(1)>"])
def test_a_kube_context_name_never_leaves_the_snapshot_directory(tmp_path: Path, context: str) -> None:
    path = k8s_snapshot_path(tmp_path / "snaps", context, NOW)
    assert path.parent == tmp_path / "snaps"
    assert "/" not in path.name and "\\" not in path.name and "\x00" not in path.name and "<" not in path.name
    assert path.name.startswith("k8s-snapshot-") and path.name.endswith(".json.gz")
    assert path.resolve().parent == (tmp_path / "snaps").resolve()


@pytest.mark.parametrize("options", [
    AzureOptions(resource_groups=["..", "../../etc"]),
    AzureOptions(clusters=["/subscriptions/s/resourceGroups/g/providers/Microsoft.ContainerService/managedClusters/.."]),
    AzureOptions(scopes=["management-group:../../x"]),
    AzureOptions(resource_groups=["/etc/passwd"]),
])
def test_azure_scope_names_never_leave_the_snapshot_directory(tmp_path: Path, options: AzureOptions) -> None:
    try:
        path = azure_snapshot_path(tmp_path / "snaps", options, NOW)
    except Exception as exc:  # noqa: BLE001 - a usage error is an acceptable answer too
        assert "scope" in str(exc)
        return
    assert path.parent == tmp_path / "snaps" and "/" not in path.name
    assert path.name.startswith("azure-snapshot-") and path.resolve().parent == (tmp_path / "snaps").resolve()


def test_generated_policy_files_never_leave_their_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from aks_compliance.policy import generate

    class Plan:
        def files(self) -> dict[str, str]:
            return {"definitions/AKS-001.json": "{}\n", "../escaped.json": "{}\n"}

    monkeypatch.setattr(generate, "plan", lambda catalog=None, fixtures=None, command=None: Plan())
    out = tmp_path / "policies"
    with pytest.raises(ValueError, match="is not inside"):
        generate.write(out)
    assert not (tmp_path / "escaped.json").exists()


def test_generated_policies_are_written_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from aks_compliance.policy import generate

    out = tmp_path / "policies"
    generate.write(out)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    for p in before:
        p.write_text(p.read_text() + " ")  # every file differs, so every one is rewritten
    changed = {p: p.read_bytes() for p in before}
    with monkeypatch.context() as m:
        fill_disk_after(m)
        with pytest.raises(OSError, match="No space left"):
            generate.write(out)
    after = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert set(after) == set(before)  # no temporary files
    assert all(after[p] in (changed[p], before[p]) for p in after)  # each file whole: old or new, never half
