"""docs/controls.md is what the catalog generates, and it shows what an auditor needs."""

from __future__ import annotations

import re
import json
import subprocess
import sys
from pathlib import Path

from aks_compliance.controls import load_catalog
from aks_compliance.controls.docs import CIS_SECTIONS, render_markdown

from .conftest import ROOT

DOC = ROOT / "docs" / "controls.md"


def test_committed_document_is_what_the_catalog_generates() -> None:
    assert DOC.read_text(encoding="utf-8") == render_markdown(), (
        "docs/controls.md is out of date with the catalog; run 'aks-compliance catalog --markdown docs/controls.md'")


def test_every_control_is_listed_with_its_mappings_and_policy_status() -> None:
    text = render_markdown()
    for c in load_catalog():
        assert f"\n### {c.id}\n" in text, c.id
        row = next(line for line in text.splitlines() if line.startswith(f"| [{c.id}]("))
        for ref in (*c.mappings.cis_aks, *c.mappings.azure_policy, *c.mappings.psrule, *c.mappings.checkov):
            assert ref in row, (c.id, ref)
        status = "manual" if c.manual else "Gatekeeper" if c.policy_engine == "gatekeeper" else \
            "yes" if c.policy_engine else "no"
        assert row.rstrip().endswith(f"| {status} |"), row
        if c.policy_gap:
            assert c.policy_gap in text
        # each control's doc names its policy, or why there is none
        section = text.split(f"\n### {c.id}\n", 1)[1].split("\n### ", 1)[0]
        if c.policy_engine:
            assert f"`policies/definitions/{c.id}.json`" in section, c.id
        if c.policy_engine == "gatekeeper":
            assert f"`policies/kubernetes/{c.id}/`" in section, c.id
        if not c.policy_engine and not c.manual:
            assert c.no_policy_reason() in section, c.id
        for p in c.parameters:
            assert f"| `{p.name}` |" in text, (c.id, p.name)


def test_cis_coverage_table_per_section() -> None:
    text = render_markdown()
    for number, name, recs in CIS_SECTIONS:
        assert re.search(rf"^\| {re.escape(number)} \| {re.escape(name)} \| {len(recs)} \|", text, re.M), number
    for cis in ("2.1.1", "5.1.1", "5.3.1", "5.4.1", "5.4.2", "5.4.3", "5.4.4", "5.5.1", "5.5.2"):
        assert re.search(rf"^\| {re.escape(cis)} \| Azure resource \| automated \| AKS-0", text, re.M), cis
    assert re.search(r"^\| 5\.1\.3 \| [^|]+ \| manual \| AKS-023 \|", text, re.M)


def test_the_comparison_can_fail(tmp_path: Path) -> None:
    catalog = load_catalog()
    from aks_compliance.controls import Catalog
    import dataclasses
    changed = Catalog([dataclasses.replace(c, title=c.title + " (edited)") if c.id == "AKS-001" else c
                       for c in catalog])
    assert render_markdown(changed) != render_markdown(catalog)


def test_cli_writes_the_document(tmp_path: Path) -> None:
    exe = str(Path(sys.executable).with_name("aks-compliance"))
    out = tmp_path / "nested" / "controls.md"
    done = subprocess.run([exe, "catalog", "--markdown", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert out.read_text(encoding="utf-8") == render_markdown()
    # with no argument: one line per control (id, severity, how decided, CIS, title), in the terminal
    listing = subprocess.run([exe, "catalog"], capture_output=True, text=True)
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    assert lines[0].split()[:3] == ["ID", "SEVERITY", "DECIDED"]
    row = next(line for line in lines if line.startswith("AKS-001 "))
    assert row.split()[1:4] == ["high", "python", "5.4.1"]  # the union of ranges: beyond the policy language
    row = next(line for line in lines if line.startswith("AKS-002 "))
    assert row.split()[1:4] == ["high", "condition", "5.5.1"]
    as_json = subprocess.run([exe, "catalog", "--format", "JSON"], capture_output=True, text=True)
    assert as_json.returncode == 0 and json.loads(as_json.stdout)["controls"][0]["id"] == "AKS-001"
    bad = subprocess.run([exe, "catalog", "--format", "xml"], capture_output=True, text=True)
    assert bad.returncode == 4 and "--format" in bad.stderr


def test_the_cis_table_has_all_51_recommendations_each_automated_by_an_input_or_manual() -> None:
    text = render_markdown()
    rows = re.findall(r"^\| (\d\.\d\.\d+) \| [^|]+ \| (automated|manual|not covered) \| ([^|]+) \| ([^|]+) \|", text, re.M)
    assert len(rows) == 51 and len({r[0] for r in rows}) == 51
    assert not [r for r in rows if r[1] == "not covered"]
    for cis, status, controls, inputs in rows:
        assert controls.strip() != "–", cis
        if status == "automated":
            assert inputs.strip() != "–", cis  # which input decides it
    by_id = {r[0]: r for r in rows}
    assert "kube-bench" in by_id["3.1.1"][3] and "kube-bench" in by_id["3.2.4"][3]
    assert "kubelet configuration" in by_id["3.2.4"][3] and by_id["4.4.1"][1] == "manual" == by_id["4.6.1"][1]


def test_the_kubelet_settings_aks_manages_are_listed_with_their_source() -> None:
    from aks_compliance.arm.defaults import AKS_KUBELET, SOURCES
    text = render_markdown()
    section = text[text.index("## Kubelet settings AKS manages"):text.index("## Control details")]
    for row in AKS_KUBELET:
        line = next(l for l in section.splitlines() if l.startswith(f"| {row.cis} |"))
        assert row.control in line and SOURCES[row.source] in line
        assert ("| yes |" in line) is (row.compliant is True)
    assert "| 3.2.9 |" in section and "not established" in section
