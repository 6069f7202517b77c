"""Waivers and attestations: strict loading with file, line and entry; what applying them does."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import jsonschema
import pytest

from aks_compliance.controls import load_catalog
from aks_compliance.results import Evidence, Outcome, Result, TargetRef
from aks_compliance.waivers import (Governance, GovernanceError, apply_governance, load_attestations,
                                    load_governance, load_waivers, target_matches)

from .conftest import FIXTURES, ROOT, scan

TODAY = dt.date(2026, 6, 1)
CATALOG = load_catalog()
IDS = [c.id for c in CATALOG]
SCHEMA = json.loads((ROOT / "src" / "aks_compliance" / "schemas" / "results-v1.schema.json").read_text())
EXAMPLES = dict(subscription_id="6f1c2a3e-7b8d-4c9e-a1f2-3b4c5d6e7f80", resource_group="rg-platform-weu")


def write(tmp_path: Path, text: str, name: str = "waivers.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


GOOD = """\
waivers:
  - id: W-1
    control: AKS-002
    target: aks-dev-*
    justification: lab cluster
    approver: Jane
    expires: 2026-12-31
"""


def result(control: str, name: str, outcome: Outcome, rid: str | None = None) -> Result:
    ref = TargetRef(type="Microsoft.ContainerService/managedClusters", name=name, id=rid, cluster=name,
                    file="estate.json", line=10)
    ev = [Evidence("properties.disableLocalAccounts", "equals true", "false", "estate.json", 12)]
    return Result(control, ref, outcome, "", ev if outcome is Outcome.FAILED else [], label=name)


# -- loading -------------------------------------------------------------------------------------


def test_a_good_file_loads_with_lines(tmp_path: Path) -> None:
    [w] = load_waivers(write(tmp_path, GOOD), IDS)
    assert (w.id, w.control, w.target, w.expires, w.line) == ("W-1", "AKS-002", "aks-dev-*", dt.date(2026, 12, 31), 2)
    # a bare list is accepted too
    [w2] = load_waivers(write(tmp_path, GOOD.split("\n", 1)[1].replace("\n  ", "\n").lstrip()), IDS)
    assert w2.id == "W-1"


@pytest.mark.parametrize("text, message", [
    (GOOD.replace("    justification: lab cluster\n", ""), r"waivers.yaml:2: waiver #1 \(W-1\): missing required field\(s\) \['justification'\]"),
    (GOOD.replace("justification: lab cluster", "justification: ''"), r"missing required field\(s\) \['justification'\]"),
    (GOOD.replace("    approver: Jane\n", ""), r"missing required field\(s\) \['approver'\]"),
    (GOOD.replace("    expires: 2026-12-31\n", ""), r"missing required field\(s\) \['expires'\]"),
    (GOOD.replace("expires: 2026-12-31", "expires: next year"), r":2: waiver #1 \(W-1\): 'expires' must be a date YYYY-MM-DD, got 'next year'"),
    (GOOD.replace("control: AKS-002", "control: AKS-999"), r"unknown control 'AKS-999'"),
    (GOOD + "    expiry: 2026-01-01\n", r"unknown key\(s\) \['expiry'\]"),
    (GOOD + "    approver: Bob\n", r"waivers.yaml:8: duplicate key 'approver'"),
    (GOOD + GOOD.split("\n", 1)[1], r"waivers.yaml:8: waiver #2 \(W-1\): id 'W-1' is used twice \(first at .*waivers.yaml:2\)"),
    ("waivers: {control: AKS-002}\n", r"expected a list of waivers"),
    ("exceptions: []\n", r"unknown top-level key\(s\) \['exceptions'\]"),
    ("waivers:\n  - [1, 2]\n", r"waivers.yaml:2: entry #1 is not a mapping"),
    ("waivers:\n  - control: [AKS-002\n", r"waivers.yaml:\d+: invalid YAML"),
])
def test_bad_waiver_files_name_file_line_and_entry(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(GovernanceError, match=message):
        load_waivers(write(tmp_path, text), IDS)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(GovernanceError, match="nope.yaml: file does not exist"):
        load_waivers(str(tmp_path / "nope.yaml"), IDS)


ATTEST = """\
attestations:
  - control: {control}
    status: passed
    owner: Platform team
    evidence: https://wiki.example.com/review
    date: 2026-05-01
    expires: 2026-11-01
"""


def test_attestations_validate_status_dates_and_manual_only(tmp_path: Path) -> None:
    manual = ["AKS-900"]
    ok = load_attestations(write(tmp_path, ATTEST.format(control="AKS-002"), "a.yaml"), [*IDS, "AKS-900"],
                           ["AKS-002"], TODAY)
    assert ok[0].target == "*" and ok[0].status == "passed" and ok[0].line == 2
    cases = [
        (ATTEST.format(control="AKS-002"), manual, "AKS-002 is checked automatically; attestations are for manual"),
        (ATTEST.format(control="AKS-900").replace("status: passed", "status: green"), manual, "'status' must be one of"),
        (ATTEST.format(control="AKS-900").replace("date: 2026-05-01", "date: 2026-07-01"), manual,
         "'date' 2026-07-01 is in the future"),
        (ATTEST.format(control="AKS-900").replace("expires: 2026-11-01", "expires: 2026-04-01"), manual,
         "'expires' 2026-04-01 is before 'date'"),
        (ATTEST.format(control="AKS-900").replace("    owner: Platform team\n", ""), manual, r"\['owner'\]"),
        (ATTEST.format(control="AKS-900").replace("    evidence: https://wiki.example.com/review\n", ""), manual,
         r"\['evidence'\]"),
    ]
    for text, man, message in cases:
        with pytest.raises(GovernanceError, match=message):
            load_attestations(write(tmp_path, text, "a.yaml"), [*IDS, "AKS-900"], man, TODAY)


# -- applying ------------------------------------------------------------------------------------


def test_target_patterns_match_name_or_id_case_insensitively() -> None:
    ref = TargetRef(type="t", name="aks-Dev-weu", id="/subscriptions/s/resourceGroups/rg-x/providers/p/aks-dev-weu")
    assert target_matches("AKS-DEV-*", ref)
    assert target_matches("*/resourceGroups/rg-x/*", ref)
    assert not target_matches("aks-prod-*", ref)
    assert not target_matches("aks-dev", ref)  # a pattern matches the whole name


def governance(tmp_path: Path, text: str) -> Governance:
    return load_governance(write(tmp_path, text), None, CATALOG, TODAY)


def test_a_waived_failure_is_waived_not_passed_and_keeps_its_evidence(tmp_path: Path) -> None:
    results = [result("AKS-002", "aks-dev-weu", Outcome.FAILED), result("AKS-002", "aks-prod-weu", Outcome.FAILED),
               result("AKS-002", "aks-dev-neu", Outcome.PASSED)]
    gov = governance(tmp_path, GOOD)
    apply_governance(gov, results, IDS, TODAY)
    dev, prod, passed = results
    assert dev.outcome is Outcome.WAIVED and dev.evidence and dev.waiver["id"] == "W-1"
    assert "W-1" in dev.reason and "Jane" in dev.reason and "2026-12-31" in dev.reason and "lab cluster" in dev.reason
    assert prod.outcome is Outcome.FAILED and prod.waiver is None
    assert passed.outcome is Outcome.PASSED
    [w] = gov.waivers
    assert (w.status, w.waived) == ("active", ["AKS-002-aks-dev-weu"])
    assert not gov.diagnostics  # expires in 213 days: nothing to warn about


def test_expired_unused_and_out_of_scope_waivers_are_reported(tmp_path: Path) -> None:
    entry = GOOD.split("\n", 1)[1]
    text = GOOD + entry.replace("W-1", "W-2").replace("2026-12-31", "2026-05-31").replace("AKS-002", "AKS-003") \
        + entry.replace("W-1", "W-3").replace("aks-dev-*", "aks-none-*") \
        + entry.replace("W-1", "W-4").replace("AKS-002", "AKS-004") \
        + entry.replace("W-1", "W-5").replace("2026-12-31", "2026-06-15") \
        + entry.replace("W-1", "W-6").replace("2026-12-31", "2026-05-01")
    results = [result("AKS-002", "aks-dev-weu", Outcome.FAILED), result("AKS-003", "aks-dev-weu", Outcome.FAILED)]
    gov = governance(tmp_path, text)
    apply_governance(gov, results, ["AKS-002", "AKS-003"], TODAY)
    status = {w.id: (w.status, w.detail) for w in gov.waivers}
    assert status["W-1"][0] == "active"
    assert status["W-2"] == ("expired", "expired on 2026-05-31; 1 failure(s) it covered are failures again")
    assert status["W-3"] == ("unused", "matches no result")
    assert status["W-4"][0] == "out_of_scope"
    assert status["W-5"] == ("unused", "its 1 matching failure(s) are waived by an earlier waiver")
    assert status["W-6"] == ("expired", "expired on 2026-05-01; it matches no failure; 1 covered by another waiver")
    assert results[1].outcome is Outcome.FAILED  # AKS-003's only waiver expired
    messages = [d.message for d in gov.diagnostics]
    assert any("W-2" in m and "expired on 2026-05-31 and no longer applies" in m for m in messages)
    assert any("W-3" in m and "matches no failure" in m for m in messages)
    assert all(d.file.endswith("waivers.yaml") and d.line for d in gov.diagnostics)


def test_an_expired_waiver_leaves_the_failure_failed(tmp_path: Path) -> None:
    results = [result("AKS-002", "aks-dev-weu", Outcome.FAILED)]
    gov = governance(tmp_path, GOOD.replace("2026-12-31", "2026-05-31"))
    apply_governance(gov, results, IDS, TODAY)
    assert results[0].outcome is Outcome.FAILED and results[0].waiver is None


def test_a_waiver_expiring_soon_warns_but_applies(tmp_path: Path) -> None:
    results = [result("AKS-002", "aks-dev-weu", Outcome.FAILED)]
    gov = governance(tmp_path, GOOD.replace("2026-12-31", "2026-06-10"))
    apply_governance(gov, results, IDS, TODAY)
    assert results[0].outcome is Outcome.WAIVED
    assert any("expires in 9 day(s)" in d.message for d in gov.diagnostics)


def test_waivers_never_touch_unknown_or_error_results(tmp_path: Path) -> None:
    results = [result("AKS-002", "aks-dev-weu", Outcome.UNKNOWN), result("AKS-002", "aks-dev-neu", Outcome.ERROR)]
    gov = governance(tmp_path, GOOD)
    apply_governance(gov, results, IDS, TODAY)
    assert [r.outcome for r in results] == [Outcome.UNKNOWN, Outcome.ERROR]
    assert gov.waivers[0].status == "unused"


def test_attestations_decide_manual_results(tmp_path: Path) -> None:
    text = """\
attestations:
  - id: A-1
    control: AKS-900
    target: aks-prod-*
    status: passed
    owner: Platform team
    evidence: https://wiki.example.com/review
    date: 2026-05-01
    expires: 2026-11-01
  - id: A-2
    control: AKS-900
    target: aks-dev-weu
    status: failed
    owner: Dev team
    evidence: https://wiki.example.com/dev
    date: 2026-05-01
    expires: 2026-11-01
  - id: A-3
    control: AKS-900
    target: aks-old
    status: passed
    owner: Ops
    evidence: https://wiki.example.com/old
    date: 2025-01-01
    expires: 2025-07-01
  - id: A-4
    control: AKS-900
    target: aks-gone
    status: passed
    owner: Ops
    evidence: https://wiki.example.com/gone
    date: 2026-01-01
    expires: 2026-12-01
"""
    path = write(tmp_path, text, "att.yaml")
    gov = Governance(attestations=load_attestations(path, ["AKS-900"], ["AKS-900"], TODAY))
    results = [result("AKS-900", n, Outcome.MANUAL) for n in ("aks-prod-weu", "aks-dev-weu", "aks-old", "aks-new")]
    for r in results:
        r.reason = "this control is checked by hand"
    apply_governance(gov, results, ["AKS-900"], TODAY)
    prod, dev, old, new = results
    assert prod.outcome is Outcome.PASSED and prod.attestation["owner"] == "Platform team"
    assert "attested passed by Platform team on 2026-05-01 (expires 2026-11-01)" in prod.reason
    assert prod.evidence[0].file == path and prod.evidence[0].line == 2
    assert dev.outcome is Outcome.FAILED and dev.evidence[0].location() == f"{path}:10"
    assert old.outcome is Outcome.MANUAL and "expired on 2025-07-01" in old.reason
    assert new.outcome is Outcome.MANUAL and new.attestation is None  # never silently green
    states = {a.id: a.state for a in gov.attestations}
    assert states == {"A-1": "applied", "A-2": "applied", "A-3": "expired", "A-4": "unused"}


# -- through the scan ----------------------------------------------------------------------------


def test_the_scan_applies_waivers_and_the_document_carries_the_register(tmp_path: Path) -> None:
    today = dt.date.today()
    text = f"""\
waivers:
  - id: W-DEV
    control: AKS-002
    target: aks-dev-weu
    justification: Entra ID rollout for the dev cluster
    approver: Jane Doe
    expires: {today + dt.timedelta(days=200)}
  - id: W-OLD
    control: AKS-002
    target: aks-batch-weu
    justification: old
    approver: Jane Doe
    expires: {today - dt.timedelta(days=1)}
"""
    run = scan(FIXTURES / "examples", controls=["AKS-002"], waivers_file=write(tmp_path, text), **EXAMPLES)
    by = {r.target.name: r for r in run.results}
    assert by["aks-dev-weu"].outcome is Outcome.WAIVED
    assert by["aks-batch-weu"].outcome is Outcome.FAILED
    doc = run.document()
    jsonschema.validate(doc, SCHEMA)
    reg = {w["id"]: w for w in doc["waivers"]}
    assert reg["W-DEV"]["status"] == "active" and reg["W-DEV"]["count"] == 1
    assert reg["W-OLD"]["status"] == "expired"
    assert doc["governance_files"][0]["kind"] == "waivers" and len(doc["governance_files"][0]["sha256"]) == 64
    waived = [r for r in doc["results"] if r["outcome"] == "waived"]
    assert waived[0]["waiver"]["approver"] == "Jane Doe" and waived[0]["evidence"]
    assert any("W-OLD" in d["message"] and d["severity"] == "warning" for d in doc["diagnostics"])
