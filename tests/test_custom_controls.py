"""A user's own controls: loaded from --controls-path (Python and YAML) and entry points, taking part in
everything (results JSON, auditor report, SARIF, waivers, policies, catalog), with overlays; bad
declarations are usage errors naming the file and line."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from aks_compliance.controls import Catalog, CatalogError, Control, Decision, load_catalog
from aks_compliance.policy import generate

from .conftest import FIXTURES, ROOT

EXAMPLE = ROOT / "examples" / "custom-controls"
CLI = [sys.executable, "-m", "aks_compliance"]


def run_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_the_example_controls_load_with_their_origin_and_decision() -> None:
    catalog = load_catalog([str(EXAMPLE)])
    custom = {c.id: c for c in catalog if not c.builtin}
    assert set(custom) == {"CONTOSO-001", "CONTOSO-002", "CONTOSO-003", "CONTOSO-101", "CONTOSO-102"}
    assert custom["CONTOSO-001"].decision is Decision.CONDITION
    assert custom["CONTOSO-101"].decision is Decision.PYTHON
    assert custom["CONTOSO-102"].decision is Decision.OBJECT_RULE
    assert custom["CONTOSO-102"].origin.endswith("contoso_cluster.yaml")
    assert custom["CONTOSO-001"].origin.endswith("contoso_azure.yaml")
    assert custom["CONTOSO-101"].origin.endswith("contoso_workloads.py")
    assert custom["CONTOSO-003"].decision is Decision.PYTHON and custom["CONTOSO-003"].azure_side
    assert len(catalog) == len(load_catalog()) + 5
    assert catalog.scope_document()["custom"] == 5


@pytest.fixture(scope="module")
def example_scan(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("custom")
    paths = {"json": out / "results.json", "html": out / "report.html", "sarif": out / "results.sarif"}
    proc = run_cli("scan", "--arm", str(FIXTURES / "examples"), "--arm", str(EXAMPLE / "fixtures" / "CONTOSO-002"),
                   "--k8s", str(EXAMPLE / "fixtures" / "CONTOSO-101"), "--controls-path", str(EXAMPLE),
                   "--waivers", str(EXAMPLE / "waivers.yaml"), "--overlay", str(EXAMPLE / "overlay.yaml"),
                   "--results-json", str(paths["json"]), "--audit-report", str(paths["html"]),
                   "--sarif", str(paths["sarif"]))
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]  # failed controls, nothing else
    return paths


def test_custom_results_reach_the_results_json_with_a_working_waiver(example_scan: dict[str, Path]) -> None:
    doc = json.loads(example_scan["json"].read_text())
    custom = [r for r in doc["results"] if (r["control_id"] or "").startswith("CONTOSO-")]
    outcomes = {(r["control_id"], r["target"]["name"]): r["outcome"] for r in custom}
    # the example estate's clusters carry no costCenter tag
    assert outcomes[("CONTOSO-001", "aks-prod-weu")] == "failed"
    # the waived GPU pool cluster is waived, not passed, and names its waiver
    assert outcomes[("CONTOSO-002", "aks-ml")] == "waived"
    waived = next(r for r in custom if r["outcome"] == "waived")
    assert waived["waiver"]["id"] == "CONTOSO-W-001"
    assert outcomes[("CONTOSO-101", "shop/debug")] == "failed"
    assert {c["id"]: c.get("origin", "") for c in doc["controls"]}["CONTOSO-101"].endswith("contoso_workloads.py")
    assert any(w["id"] == "CONTOSO-W-001" and w["status"] == "active" for w in doc["waivers"])


def test_custom_results_reach_the_auditor_report_and_sarif(example_scan: dict[str, Path]) -> None:
    html = example_scan["html"].read_text()
    assert "CONTOSO-001" in html and "Every cluster carries a cost-center tag" in html
    assert "Your own controls" in html and "contoso-baseline" in html
    sarif = json.loads(example_scan["sarif"].read_text())
    rules = {r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert {"CONTOSO-001", "CONTOSO-101"} <= rules
    assert any(r["ruleId"] == "CONTOSO-001" for r in sarif["runs"][0]["results"])


def test_the_overlay_disables_and_changes_and_is_recorded(example_scan: dict[str, Path]) -> None:
    doc = json.loads(example_scan["json"].read_text())
    assert not [r for r in doc["results"] if r["control_id"] == "AKS-015"]
    assert doc["catalog"]["disabled"][0]["control_id"] == "AKS-015"
    severity = {c["id"]: c["severity"] for c in doc["controls"]}
    assert severity["AKS-038"] == "critical" and severity["CONTOSO-002"] == "medium"
    params = {c["id"]: {p["name"]: p["default"] for p in c["parameters"]} for c in doc["controls"]}
    assert params["AKS-038"]["minimumKubernetesVersion"] == "1.31.0"
    overlay = doc["catalog"]["overlays"][0]
    assert overlay["name"] == "contoso-baseline" and overlay["version"] == "2026.4" and len(overlay["sha256"]) == 64


def _write(tmp: Path, name: str, text: str) -> Path:
    p = tmp / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(textwrap.dedent(text))
    return p


YAML_CONTROL = """\
controls:
  - id: {id}
    title: t
    severity: low
    rationale: r
    remediation: x
    rule: {{field: Microsoft.ContainerService/managedClusters/disableLocalAccounts, equals: true}}
"""


def test_collisions_reserved_prefix_and_bad_declarations_are_usage_errors(tmp_path: Path) -> None:
    a = _write(tmp_path, "a/controls.yaml", YAML_CONTROL.format(id="ACME-001"))
    b = _write(tmp_path, "b/controls.yaml", YAML_CONTROL.format(id="ACME-001"))
    with pytest.raises(CatalogError, match=r"ACME-001 is declared twice: in .*a/controls.yaml:2 and in .*b/controls.yaml:2"):
        load_catalog([str(a.parent), str(b.parent)])
    reserved = _write(tmp_path, "r/controls.yaml", YAML_CONTROL.format(id="AKS-900"))
    with pytest.raises(CatalogError, match="reserved for the built-in controls"):
        load_catalog([str(reserved)])
    bad = _write(tmp_path, "bad.yaml", YAML_CONTROL.format(id="ACME-002").replace("severity: low", "severity: urgent"))
    with pytest.raises(CatalogError, match=r"bad.yaml:4: ACME-002: controls/0/severity: 'urgent' is not one of"):
        load_catalog([str(bad)])
    op = _write(tmp_path, "op.yaml", YAML_CONTROL.format(id="ACME-003").replace("equals: true", "equalz: true"))
    with pytest.raises(CatalogError, match=r"op.yaml:7: ACME-003: rule: .*equalz"):
        load_catalog([str(op)])
    broken = _write(tmp_path, "broken.py", "from aks_compliance.controls import Control\n\nCONTROLS = [undefined_name]\n")
    with pytest.raises(CatalogError, match=r"broken.py:3: cannot load the control module: NameError"):
        load_catalog([str(broken)])
    exits = _write(tmp_path, "exits.py", "import sys\nsys.exit(0)\n")  # SystemExit is no Exception
    with pytest.raises(CatalogError, match=r"exits.py:2: cannot load the control module: SystemExit"):
        load_catalog([str(exits)])
    wrong = _write(tmp_path, "wrong.py", "CONTROLS = ['not a control']\n")
    with pytest.raises(CatalogError, match="CONTROLS must be a list of aks_compliance.controls.Control"):
        load_catalog([str(wrong)])
    with pytest.raises(CatalogError, match="no such file or directory"):
        load_catalog([str(tmp_path / "nowhere")])


def test_a_usage_error_in_a_control_file_exits_4_naming_it(tmp_path: Path) -> None:
    a = _write(tmp_path, "dup/controls.yaml", YAML_CONTROL.format(id="AKS-001"))
    proc = run_cli("scan", "--arm", str(FIXTURES / "examples"), "--controls-path", str(a))
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "AKS-001 uses the prefix AKS-" in proc.stdout + proc.stderr


def test_overlay_errors_name_the_file_and_line(tmp_path: Path) -> None:
    bad = _write(tmp_path, "o.yaml", "controls:\n  AKS-015:\n    enabled: false\n")
    with pytest.raises(CatalogError, match=r"o.yaml:2: controls/AKS-015: 'reason' is a required property"):
        load_catalog(overlays=[str(bad)])
    unknown = _write(tmp_path, "u.yaml", "controls:\n  AKS-998: {severity: low}\n")
    with pytest.raises(CatalogError, match="u.yaml:2: overlay changes unknown control AKS-998"):
        load_catalog(overlays=[str(unknown)])
    param = _write(tmp_path, "p.yaml", "controls:\n  AKS-007: {parameters: {allowedUpgradeChannels: stable}}\n")
    with pytest.raises(CatalogError, match="p.yaml:2: AKS-007.allowedUpgradeChannels='stable': 'stable' is not of "
                                          "type 'array'"):
        load_catalog(overlays=[str(param)])
    deeper = _write(tmp_path, "d.yaml", "controls:\n  AKS-030:\n    parameters:\n      minimumMaxPods: 30\n"
                                        "      noSuchParameter: 3\n")
    with pytest.raises(CatalogError, match="d.yaml:5: AKS-030 has no parameter 'noSuchParameter'"):
        load_catalog(overlays=[str(deeper)])


def test_controls_from_an_installed_package_entry_point(tmp_path: Path) -> None:
    site = tmp_path / "site"
    _write(site, "acme_controls/__init__.py", """\
        from aks_compliance.controls import Control, Mappings, Severity

        CONTROLS = [Control(id="ACME-010", title="Local accounts off (ACME)", severity=Severity.HIGH,
                            rationale="r", remediation="x", mappings=Mappings(), section="ACME",
                            rule={"field": "Microsoft.ContainerService/managedClusters/disableLocalAccounts",
                                  "equals": True})]
        """)
    _write(site, "acme_controls-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: acme-controls\nVersion: 1.0\n")
    _write(site, "acme_controls-1.0.dist-info/entry_points.txt", "[aks_compliance.controls]\nacme = acme_controls\n")
    code = ("from aks_compliance.controls import load_catalog; c = load_catalog(entry_points=True); "
            "x = c['ACME-010']; print(x.origin, x.decision.value)")
    env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["acme-controls:acme_controls", "condition"]


def test_policies_and_catalog_take_the_users_controls(tmp_path: Path) -> None:
    out = tmp_path / "policies"
    proc = run_cli("policies", "generate", "--controls-path", str(EXAMPLE), "--custom-only", "--out", str(out),
                   "--fixtures", str(EXAMPLE / "fixtures"))
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (out / "definitions").iterdir()) == ["CONTOSO-001.json", "CONTOSO-002.json",
                                                                        "CONTOSO-102.json"]
    gatekeeper = json.loads((out / "definitions" / "CONTOSO-102.json").read_text())
    assert gatekeeper["properties"]["mode"] == "Microsoft.Kubernetes.Data"
    assert sorted(p.name for p in (out / "kubernetes" / "CONTOSO-102" / "samples").iterdir()) == [
        "failed-absent-readiness-probe.yaml", "not_applicable-excluded-namespace.yaml", "passed-readiness-probe.yaml"]
    definition = json.loads((out / "definitions" / "CONTOSO-001.json").read_text())
    assert definition["properties"]["displayName"] == "[CONTOSO-001] Every cluster carries a cost-center tag"
    initiative = json.loads((out / "initiative.json").read_text())
    assert initiative["name"] != generate.initiative_name()  # never overwrites the built-in initiative
    listing = run_cli("catalog", "--controls-path", str(EXAMPLE))
    assert listing.returncode == 0 and "CONTOSO-101" in listing.stdout and "AKS-001" in listing.stdout


def test_select_is_case_insensitive_and_names_unknown_ids() -> None:
    catalog = load_catalog()
    assert [c.id for c in catalog.select(["aks-001"])] == ["AKS-001"]
    with pytest.raises(CatalogError, match="unknown control id.*AKS-999"):
        catalog.select(["AKS-999"])


def test_a_control_declares_one_way_of_deciding() -> None:
    with pytest.raises(ValueError, match="declare one of rule, related, check"):
        Control(id="ACME-020", title="t", severity="low", rationale="r", remediation="x", mappings=None,
                section="s", rule={"field": "name", "exists": True}, check=lambda t, p: None)
    manual = Control(id="ACME-021", title="t", severity="low", rationale="r", remediation="x", mappings=None,
                     section="s")
    assert manual.decision is Decision.MANUAL and manual.manual
    assert isinstance(Catalog([manual]), Catalog)


def test_the_documentation_page_shows_the_example_files_verbatim() -> None:
    """docs/custom-controls.md quotes the example repository's files; the example's own tests run them."""
    import re

    doc = (ROOT / "docs" / "custom-controls.md").read_text()
    blocks = re.findall(r"```\w+ file=(\S+)\n(.*?)```\n", doc, re.S)
    assert len(blocks) >= 6
    for rel, text in blocks:
        assert (ROOT / rel).read_text() == text, f"docs/custom-controls.md is out of date with {rel}"
    kinds = {load_catalog([str(ROOT / rel)])[cid].decision
             for rel, text in blocks if "/controls/" in rel for cid in re.findall(r"id[:=] ?\"?([A-Z]+-\d+)", text)}
    assert kinds >= {Decision.CONDITION, Decision.PYTHON}


def test_the_users_generated_policies_say_where_their_controls_are(tmp_path: Path) -> None:
    """The README generated into a user's folder told them to change 'src/aks_compliance/controls/catalog/' (a
    path in this project) and that 'a test fails' when it is out of date; --check's hint named a command that,
    run as told, generated the built-in catalog into policies/."""
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLE, repo / "compliance")
    args = ["policies", "generate", "--controls-path", "compliance", "--custom-only", "--out", "my-policies"]
    proc = run_cli(*args, cwd=repo)
    assert proc.returncode == 0, proc.stderr
    readme = (repo / "my-policies" / "README.md").read_text()
    assert "src/aks_compliance" not in readme and "AKS-NNN" not in readme
    assert "compliance/controls/contoso_azure.yaml" in readme
    assert "aks-compliance policies generate --controls-path compliance --custom-only --out my-policies" in readme
    assert "`definitions/<control id>.json`" in readme
    (repo / "my-policies" / "initiative.json").write_text("{}")
    check = run_cli(*args, "--check", cwd=repo)
    assert check.returncode == 1
    assert "run 'aks-compliance policies generate --controls-path compliance --custom-only --out my-policies'" \
        in check.stderr, check.stderr
    built_in = (ROOT / "policies" / "README.md").read_text()  # the project's own keeps its wording of the catalog
    assert "src/aks_compliance/controls/catalog/" in built_in


def test_the_harness_says_which_fixtures_a_control_still_needs_and_why(tmp_path: Path) -> None:
    """'ACME-101 has no a not_applicable- fixture (the control has an applicability condition)': neither English
    nor what the user declared (an in-cluster control's excluded namespaces)."""
    from aks_compliance.testing import fixture_cases, missing_fixtures

    catalog = load_catalog([str(EXAMPLE)])
    (tmp_path / "CONTOSO-101").mkdir()
    shutil.copy(EXAMPLE / "fixtures" / "CONTOSO-101" / "passed-labelled.yaml", tmp_path / "CONTOSO-101")
    missing = missing_fixtures(catalog["CONTOSO-101"], fixture_cases(tmp_path, catalog))
    assert missing == ["a failing fixture (failed-*)", "an absent-property fixture (a name containing 'absent')",
                       "a not_applicable- fixture (objects in an excluded namespace are not applicable: "
                       "parameter excludedNamespaces)"]
    test = __import__("aks_compliance.testing", fromlist=["x"]).control_fixture_tests(tmp_path, catalog=catalog)
    control_case = next(p for p in test.pytestmark[0].args[1] if p.id == "CONTOSO-101/fixtures")
    with pytest.raises(Exception, match=r"CONTOSO-101 needs a failing fixture \(failed-\*\), an absent-property "
                                        r"fixture .* under .*CONTOSO-101/"):
        test(control_case.values[0])
