"""A user's control that cannot work is found where it is declared, and a user's check that breaks on one
target is one error result: the same for Python and YAML declarations.

* At load (usage error, exit 4, naming file, line and control): a rule with an unknown operator or that reads a
  parameter the control does not declare, a function the policy language lacks, a check that is not a
  function, an empty title, a parameter declared twice or with a default of another type.
* At scan time (exit 2, the rest of the scan goes on): a check that raises, or returns something that is not a
  verdict, names the control, the function and the line of the user's file; never a crash (exit 3).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from aks_compliance.controls import CatalogError, load_catalog

from .conftest import FIXTURES, ROOT

HEAD = "from aks_compliance.controls import Control, Findings, Mappings, Parameter, Severity, k8s_control\n"


def _control(cid: str, extra: str) -> str:
    return (f"    Control(id=\"{cid}\", title=\"t\", severity=Severity.LOW, section=\"s\", rationale=\"r\",\n"
            f"            remediation=\"m\", mappings=Mappings(), {extra}),\n")


def _module(tmp: Path, name: str, *controls: str, prelude: str = "") -> Path:
    p = tmp / name
    p.write_text(HEAD + prelude + "CONTROLS = [\n" + "".join(controls) + "]\n")
    return p


@pytest.mark.parametrize("extra, message", [
    ('rule={"field": "name", "equalz": "x"}', r":3: ACME-001: rule: a condition needs exactly one operator"),
    ('rule={"field": "name", "equals": "[parameters(\'nope\')]"}',
     r":3: ACME-001: rule: \[parameters\('nope'\)\] reads parameters\('nope'\), which is not declared"),
    ('rule={"field": "name", "equals": "[concatt(\'a\')]"}', r":3: ACME-001: rule: .*unknown function 'concatt'"),
    ('check="cluster_name"', r":3: ACME-001: check must be a function"),
    ('check=print, not_applicable=3', r":3: ACME-001: not_applicable must be a function"),
    ('rule={"field": "name", "exists": True}, parameters=(Parameter("a", "x", "d"), Parameter("A", "y", "d"))',
     r":3: ACME-001: parameter 'A' is declared twice"),
    ('rule={"field": "name", "exists": True}, parameters=(Parameter("n", "5", "d", type="Integer"),)',
     r":3: ACME-001: parameter 'n': its default '5' does not fit its declaration"),
])
def test_a_python_declaration_that_cannot_work_is_a_load_error_at_its_line(tmp_path: Path, extra: str,
                                                                           message: str) -> None:
    path = _module(tmp_path, "acme.py", _control("ACME-001", extra))
    with pytest.raises(CatalogError, match="acme.py" + message):
        load_catalog([str(path)])


def test_a_python_declaration_with_an_empty_title_is_a_load_error(tmp_path: Path) -> None:
    path = _module(tmp_path, "acme.py", _control("ACME-001", 'rule={"field": "name", "exists": True}')
                   .replace('title="t"', "title=None"))
    with pytest.raises(CatalogError, match=r"acme.py:3: ACME-001: title must be a non-empty string, not None"):
        load_catalog([str(path)])


YAML = """\
controls:
  - id: ACME-002
    title: t
    severity: low
    rationale: r
    remediation: m
    parameters:
      - {name: size, type: String, default: Standard_D4ds_v5}
    rule:
      field: Microsoft.ContainerService/managedClusters/agentPoolProfiles[*].vmSize
      equals: "[parameters('sizes')]"
"""


def test_a_yaml_rule_reading_an_undeclared_parameter_is_a_load_error_at_the_rule(tmp_path: Path) -> None:
    """Evaluated once on an empty resource, the rule never reads its operand (the field is absent): the
    expressions are read on their own, so the typo is found at load, not as an error on every cluster."""
    path = tmp_path / "acme.yaml"
    path.write_text(YAML)
    with pytest.raises(CatalogError, match=r"acme.yaml:9: ACME-002: rule: \[parameters\('sizes'\)\] reads "
                                           r"parameters\('sizes'\), which is not declared \(parameters: size\)"):
        load_catalog([str(path)])
    path.write_text(YAML.replace("parameters('sizes')", "parameters('SIZE')"))  # names are case-insensitive
    assert "ACME-002" in load_catalog([str(path)])


def test_a_file_named_twice_is_read_once(tmp_path: Path) -> None:
    path = tmp_path / "controls" / "acme.yaml"
    path.parent.mkdir()
    path.write_text(YAML.replace("'sizes'", "'size'"))
    catalog = load_catalog([str(tmp_path), str(path), str(tmp_path / "controls" / ".." / "controls" / "acme.yaml")])
    assert "ACME-002" in catalog
    other = tmp_path / "other.yaml"
    other.write_text(YAML.replace("'sizes'", "'size'"))
    with pytest.raises(CatalogError, match=r"ACME-002 is declared twice: in .*acme.yaml:2 and in .*other.yaml:2"):
        load_catalog([str(path), str(other)])


CHECKS = """\
def boom(target, params):
    return params["missing"]


def nothing(target, params):
    return None


def yes(target, params):
    return True


def pod_none(target, params):
    return None


"""


def test_a_check_that_raises_or_returns_no_verdict_is_an_error_result_and_the_scan_goes_on(tmp_path: Path) -> None:
    module = _module(tmp_path, "acme_checks.py",
                     _control("ACME-010", "check=boom"), _control("ACME-011", "check=nothing"),
                     _control("ACME-012", "check=yes"),
                     '    k8s_control(id="ACME-013", title="t", severity=Severity.LOW, section="s", rationale="r",\n'
                     '                remediation="m", mappings=Mappings(), types=("k8s/Namespace",), check=pod_none,\n'
                     '                policy_gap="a test", exclusions="workload-admission"),\n',
                     prelude=CHECKS)
    out = tmp_path / "results.json"
    proc = subprocess.run([sys.executable, "-m", "aks_compliance", "scan", "--arm",
                           str(FIXTURES / "examples" / "estate-export.json"), "--k8s",
                           str(ROOT / "examples" / "custom-controls" / "fixtures" / "CONTOSO-101"),
                           "--controls-path", str(module), "--results-json", str(out)],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout[-3000:] + proc.stderr[-3000:]  # errors, not a crash (3)
    assert "Traceback" not in proc.stdout + proc.stderr
    results = json.loads(out.read_text())["results"]
    by_control: dict[str, list[dict]] = {}
    for r in results:
        by_control.setdefault(r["control_id"], []).append(r)
    assert {r["outcome"] for cid in ("ACME-010", "ACME-011", "ACME-012") for r in by_control[cid]} == {"error"}
    # an in-cluster check: excluded namespaces are not applicable (decided before the check runs)
    assert {r["outcome"] for r in by_control["ACME-013"]} == {"error", "not_applicable"}
    assert len(by_control["ACME-010"]) == 3  # every cluster of the export, each its own error
    assert "its check boom() raised KeyError: 'missing' at acme_checks.py:3 on Microsoft.ContainerService/" \
           "managedClusters" in by_control["ACME-010"][0]["reason"]
    assert "its check nothing() returned None" in by_control["ACME-011"][0]["reason"]
    assert "its check yes() returned True" in by_control["ACME-012"][0]["reason"]
    assert "its check pod_none() returned None" in by_control["ACME-013"][0]["reason"]
    # the built-in controls judged the same clusters
    assert {r["outcome"] for r in by_control["AKS-001"]} <= {"passed", "failed"}


def test_the_example_repository_still_loads() -> None:
    catalog = load_catalog([str(ROOT / "examples" / "custom-controls")])
    assert {"CONTOSO-001", "CONTOSO-002", "CONTOSO-003", "CONTOSO-101", "CONTOSO-102"} <= set(catalog.ids())


# -- found in a new user's trial (newuser-6): declarations that judged nothing, or said so unclearly ----------------

OBJECT_RULE = """\
controls:
  - id: ACME-101
    title: t
    severity: medium
    section: s
    rationale: r
    remediation: m
    exclusions: workload-admission
    object_rule:
      kinds: KINDS
      checks:
        - scope: object
          require: {field: $object.metadata.labels.team, exists: true}
"""


@pytest.mark.parametrize("kinds, message", [
    ("[Deploymnet]", r"kinds: 'Deploymnet' is not a kind an object rule can match \(did you mean Deployment\?\)"),
    ("[Service, service]", r"kinds: 'service' is not a kind an object rule can match \(did you mean Service\?\)"),
    ("[Certificate]", r"kinds: 'Certificate' is not a kind an object rule can match; they are: .*Deployment"),
])
def test_an_object_rule_on_a_kind_it_can_never_match_is_a_load_error(tmp_path: Path, kinds: str,
                                                                     message: str) -> None:
    """A misspelt kind judged nothing (the scan said nothing about it); a lower-case one matched in the scan
    but not in the generated Gatekeeper policy (Kubernetes kinds are case-sensitive); both failed only when
    the policies were generated."""
    path = tmp_path / "acme.yaml"
    path.write_text(OBJECT_RULE.replace("KINDS", kinds))
    with pytest.raises(CatalogError, match=r"acme.yaml:2: ACME-101: ACME-101.object_rule." + message):
        load_catalog([str(path)])
    path.write_text(OBJECT_RULE.replace("KINDS", "[Deployment, Service]"))
    assert "ACME-101" in load_catalog([str(path)])


def test_an_object_rule_without_exclusions_says_what_to_add(tmp_path: Path) -> None:
    path = tmp_path / "acme.yaml"
    path.write_text(OBJECT_RULE.replace("KINDS", "[Service]").replace("    exclusions: workload-admission\n", ""))
    with pytest.raises(CatalogError) as err:
        load_catalog([str(path)])
    assert "is a dependency of" not in str(err.value)
    assert "acme.yaml:2: ACME-101: an object_rule control needs 'exclusions': workload-admission " \
           "(Azure Policy's excluded namespaces) or cluster-access (none)" in str(err.value)


def test_an_empty_control_file_says_it_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "acme.yaml"
    path.write_text("# nothing yet\n")
    with pytest.raises(CatalogError, match=r"acme.yaml:1: the file is empty: a control file holds 'controls:', "
                                           r"a list of declarations"):
        load_catalog([str(path)])


def test_an_id_declared_twice_names_both_lines(tmp_path: Path) -> None:
    path = tmp_path / "acme.yaml"
    one = YAML.replace("'sizes'", "'size'")
    path.write_text(one + one.split("controls:\n", 1)[1])
    with pytest.raises(CatalogError, match=r"control id ACME-002 is declared twice: in .*acme.yaml:2 and in "
                                           r".*acme.yaml:12"):
        load_catalog([str(path)])
    path.write_text(one)
    module = _module(tmp_path, "acme.py", _control("ACME-002", 'rule={"field": "name", "exists": True}'))
    with pytest.raises(CatalogError, match=r"control id ACME-002 is declared twice: in .*acme.yaml:2 and in "
                                           r".*acme.py:3"):
        load_catalog([str(tmp_path / "acme.yaml"), str(module)])


AZURE_RULE = """\
controls:
  - id: ACME-010
    title: t
    severity: medium
    section: s
    rationale: r
    remediation: m
    resource_type: TYPE
    rule:
      field: FIELD
      notEquals: Standard_B2s
"""
CLUSTERS = "Microsoft.ContainerService/managedClusters"


@pytest.mark.parametrize("rtype, field, message", [
    ("Microsoft.ContainerService/managedCluster", "tags.env",
     r"acme.yaml:8: ACME-010: resource_type 'Microsoft.ContainerService/managedCluster' is not a type this tool "
     r"judges \(did you mean Microsoft.ContainerService/managedClusters\?\)"),
    ("Microsoft.Network/virtualNetworks", "tags.env",
     r"acme.yaml:8: ACME-010: resource_type 'Microsoft.Network/virtualNetworks' is not a type this tool judges; "
     r"the types it judges are: Microsoft.ContainerService/managedClusters, .*k8s/workload"),
    (CLUSTERS, f"{CLUSTERS}/agentPools/vmSize",
     rf"acme.yaml:9: ACME-010: rule: field '{CLUSTERS}/agentPools/vmSize' is an alias of another resource type "
     rf"\({CLUSTERS}/agentPools\), not of {CLUSTERS}: on the resources this control judges it is always absent"),
    (CLUSTERS, "Microsoft.ContainerServices/managedClusters/agentPoolProfiles[*].vmSize",
     r"acme.yaml:9: ACME-010: rule: field 'Microsoft.ContainerServices/managedClusters/agentPoolProfiles\[\*\]"
     r".vmSize' is an alias of another resource type \(Microsoft.ContainerServices/managedClusters\)"),
])
def test_a_control_on_a_type_it_can_never_judge_is_a_load_error(tmp_path: Path, rtype: str, field: str,
                                                                message: str) -> None:
    """A misspelt resource_type judged nothing and the scan said nothing; an alias of another type (a child's
    alias, a misspelt namespace) read a property the judged resource never has, so a rule with notEquals or
    count passed every cluster. Alias names start with their resource type (every one of Microsoft's 6,160 in
    the catalog this project checks against), so this is found without the alias catalog."""
    path = tmp_path / "acme.yaml"
    path.write_text(AZURE_RULE.replace("TYPE", rtype).replace("FIELD", field))
    with pytest.raises(CatalogError, match=message):
        load_catalog([str(path)])
    path.write_text(AZURE_RULE.replace("TYPE", CLUSTERS)
                    .replace("FIELD", f"{CLUSTERS}/agentPoolProfiles[*].vmSize"))
    assert "ACME-010" in load_catalog([str(path)])


def test_a_python_in_cluster_control_on_an_unknown_target_type_is_a_load_error(tmp_path: Path) -> None:
    path = _module(tmp_path, "acme.py",
                   '    k8s_control(id="ACME-013", title="t", severity=Severity.LOW, section="s", rationale="r",\n'
                   '                remediation="m", mappings=Mappings(), types=("k8s/Namespaces",), check=print,\n'
                   '                policy_gap="a test", exclusions="workload-admission"),\n')
    with pytest.raises(CatalogError, match=r"acme.py:3: ACME-013: resource_type 'k8s/Namespaces' is not a type this "
                                           r"tool judges \(did you mean k8s/Namespace\?\)"):
        load_catalog([str(path)])


def test_every_built_in_control_judges_a_type_the_inputs_give() -> None:
    from aks_compliance.controls.validation import judged_types
    known = {t.lower() for t in judged_types()}
    assert {t.lower() for c in load_catalog() for t in c.resource_types} <= known


def test_a_helper_module_beside_the_control_files_is_imported_relatively(tmp_path: Path) -> None:
    """Files named _* are not control files: the place for what several control files share. A relative import
    failed ('attempted relative import with no known parent package'); an absolute one is told how to write it."""
    folder = tmp_path / "controls"
    folder.mkdir()
    (folder / "_shared.py").write_text('SECTION = "Acme"\n')
    (folder / "acme.py").write_text(HEAD + "from ._shared import SECTION\n\nCONTROLS = [\n" +
                                    _control("ACME-001", 'rule={"field": "name", "exists": True}')
                                    .replace('section="s"', "section=SECTION") + "]\n")
    catalog = load_catalog([str(tmp_path)])
    assert catalog["ACME-001"].section == "Acme"
    other = tmp_path / "other" / "controls"  # another repository's helper of the same name stays its own
    other.mkdir(parents=True)
    (other / "_shared.py").write_text('SECTION = "Other"\n')
    (other / "other.py").write_text((folder / "acme.py").read_text().replace("ACME-001", "OTHER-001"))
    catalog = load_catalog([str(tmp_path), str(tmp_path / "other")])
    assert catalog["ACME-001"].section == "Acme" and catalog["OTHER-001"].section == "Other"
    (folder / "absolute.py").write_text((folder / "acme.py").read_text().replace("from ._shared", "from _shared"))
    with pytest.raises(CatalogError, match=r"absolute.py:2: cannot load the control module: ModuleNotFoundError: No "
                                           r"module named '_shared' \(a module beside the control files is imported "
                                           r"relatively: from ._shared import ...\)"):
        load_catalog([str(folder / "absolute.py")])


RELATED = """\
controls:
  - id: ACME-030
    title: API server logs go to a workspace
    severity: medium
    section: s
    rationale: r
    remediation: m
    related:
      type: RELATED_TYPE
      existence_condition:
        count:
          field: Microsoft.Insights/diagnosticSettings/logs[*]
          where:
            allOf:
              - field: Microsoft.Insights/diagnosticSettings/logs[*].category
                equals: kube-apiserver
              - field: Microsoft.Insights/diagnosticSettings/logs[*].enabled
                equals: true
        greater: 0
      missing: no diagnostic setting sends kube-apiserver logs
"""


def test_a_misspelt_related_type_is_named_once_not_as_every_alias_of_the_condition(tmp_path: Path) -> None:
    path = tmp_path / "acme.yaml"
    path.write_text(RELATED.replace("RELATED_TYPE", "Microsoft.Insights/diagnosticSetting"))
    with pytest.raises(CatalogError) as err:
        load_catalog([str(path)])
    assert str(err.value).endswith("acme.yaml:8: ACME-030: related.type 'Microsoft.Insights/diagnosticSetting' is "
                                   "not a type this tool relates to a target (did you mean "
                                   "Microsoft.Insights/diagnosticSettings?)"), str(err.value)
    path.write_text(RELATED.replace("RELATED_TYPE", "Microsoft.Insights/diagnosticSettings")
                    .replace("logs[*].enabled", "log[*].enabled").replace("Insights/diagnosticSettings/logs[*]\n",
                                                                           "Insight/diagnosticSettings/logs[*]\n"))
    with pytest.raises(CatalogError) as err:
        load_catalog([str(path)])
    assert str(err.value).count("is an alias of another resource type") == 1, str(err.value)  # one per type
    assert "field 'Microsoft.Insight/diagnosticSettings/logs[*]' is an alias of another resource type " \
           "(Microsoft.Insight/diagnosticSettings)" in str(err.value)
    path.write_text(RELATED.replace("RELATED_TYPE", "Microsoft.Insights/diagnosticSettings"))
    assert "ACME-030" in load_catalog([str(path)])


def test_an_alias_with_a_wildcard_in_flow_style_yaml_says_to_quote_it(tmp_path: Path) -> None:
    """`- {field: .../logs[*].category, equals: x}` is a YAML error ('while scanning an alias'): in { } the * starts
    a YAML alias. The error names the fix."""
    path = tmp_path / "acme.yaml"
    path.write_text(RELATED.replace("RELATED_TYPE", "Microsoft.Insights/diagnosticSettings").replace(
        "              - field: Microsoft.Insights/diagnosticSettings/logs[*].category\n"
        "                equals: kube-apiserver\n",
        "              - {field: Microsoft.Insights/diagnosticSettings/logs[*].category, equals: kube-apiserver}\n"))
    with pytest.raises(CatalogError, match=r"acme.yaml:15: invalid YAML: while scanning an alias .*; quote a value "
                                           r"holding \[\*\] inside \{ \} or \[ \]: field: \"Microsoft.Insights/"
                                           r"diagnosticSettings/logs\[\*\].category\""):
        load_catalog([str(path)])


def test_a_built_in_id_in_a_users_file_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "acme.yaml"
    path.write_text(YAML.replace("'sizes'", "'size'").replace("ACME-002", "AKS-001"))
    with pytest.raises(CatalogError, match=r"acme.yaml:2: control id AKS-001 uses the prefix AKS-, which is reserved"):
        load_catalog([str(path)])
    module = _module(tmp_path, "acme.py", _control("acme-1", 'rule={"field": "name", "exists": True}'))
    with pytest.raises(CatalogError, match=r"acme.py:3: control id 'acme-1' is not of the form PREFIX-ID"):
        load_catalog([str(module)])


def test_every_type_the_messages_name_is_spelled_as_azure_spells_it() -> None:
    from aks_compliance.controls.validation import _spelled, judged_types
    from aks_compliance.diagnostics import AKS_RELEVANT_TYPES
    for t in [*judged_types(), *AKS_RELEVANT_TYPES]:
        shown = _spelled(t)
        assert shown.lower() == t.lower() and (shown.startswith(("Microsoft.", "k8s/"))), t
