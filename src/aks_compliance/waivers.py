"""Governance applied after evaluation: waivers for failures, attestations for manual controls.

Waivers (``--waivers FILE``, YAML)::

    waivers:
      - id: W-001                      # optional; default "<file>#<n>"
        control: AKS-011               # a control id of the catalog
        target: "aks-dev-*"            # glob on the target's name, resource id or cluster/namespace/name
        justification: Dev pools need public IPs for the lab VPN until the migration.
        approver: Jane Doe (CISO office)
        expires: 2026-12-31            # inclusive; a waiver is active through this date (UTC)
        reference: SEC-1234            # optional ticket

A failed result matched by an active waiver becomes ``waived`` (never ``passed``) and keeps its
evidence; the waiver is named in the result. An expired waiver no longer applies: the failure stays
failed and the waiver is reported. A waiver that matches no failure is reported as unused.

Attestations (``--attestations FILE``, YAML) decide manual controls (those with no rule)::

    attestations:
      - control: AKS-040
        target: "*"                    # optional, default every target
        status: passed                 # passed | failed | not_applicable
        owner: Platform team (jane@example.com)
        evidence: https://wiki.example.com/aks/break-glass-review-2026-q3
        date: 2026-09-30               # when it was attested; not in the future
        expires: 2027-03-31
        note: Quarterly break-glass review done.   # optional

Both files are validated strictly (unknown keys, missing fields, bad dates, unknown controls, duplicate
keys): a bad file is a usage error naming the file, line and entry, never a silently ignored waiver.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from .diagnostics import Diagnostic
from .redaction import redact_text
from .errors import InputError
from .inputfiles import read_input
from .yaml_input import MAX_YAML_BYTES, read_yaml
from .results import Evidence, Outcome, Result, TargetRef
from .wording import json_type

WAIVER_FIELDS = {"id", "control", "target", "justification", "approver", "expires", "reference"}
WAIVER_REQUIRED = ("control", "target", "justification", "approver", "expires")
ATTESTATION_FIELDS = {"id", "control", "target", "status", "owner", "evidence", "date", "expires", "note"}
ATTESTATION_REQUIRED = ("control", "status", "owner", "evidence", "date", "expires")
ATTESTATION_STATUS = {"passed": Outcome.PASSED, "failed": Outcome.FAILED, "not_applicable": Outcome.NOT_APPLICABLE}
EXPIRING_SOON_DAYS = 30
# The latest expiry a waiver or attestation may have, in years after the run date: an accepted risk is
# reviewed again; "expires: 9999-12-31" would be an open-ended waiver, which is not allowed.
MAX_HORIZON_YEARS = 3


def horizon(today: dt.date) -> dt.date:
    """The latest allowed expiry for a run on ``today``."""
    try:
        return today.replace(year=today.year + MAX_HORIZON_YEARS)
    except ValueError:  # 29 February
        return today.replace(year=today.year + MAX_HORIZON_YEARS, day=28)


def _within_horizon(expires: dt.date, today: dt.date | None, loc: str) -> dt.date:
    if today is not None and expires > horizon(today):
        raise GovernanceError(f"{loc}: 'expires' {expires.isoformat()} is more than {MAX_HORIZON_YEARS} years after "
                              f"the run date (at most {horizon(today).isoformat()}); open-ended waivers and "
                              f"attestations are not allowed")
    return expires
MAX_LISTED = 50  # targets listed per register entry; the count is always complete


class GovernanceError(Exception):
    """A waiver or attestation file that cannot be used; the message names the file, line and entry."""


@dataclass
class Waiver:
    id: str
    control: str
    target: str
    justification: str
    approver: str
    expires: dt.date
    file: str
    line: int
    reference: str = ""
    status: str = ""  # active | expired | unused | out_of_scope (set by apply)
    detail: str = ""
    waived: list[str] = field(default_factory=list)  # keys of the results it waived (or would have)

    def record(self) -> dict[str, Any]:
        return {"id": self.id, "control": self.control, "target": self.target, "justification": self.justification,
                "approver": self.approver, "expires": self.expires.isoformat(), "reference": self.reference,
                "file": self.file, "line": self.line}


@dataclass
class Attestation:
    id: str
    control: str
    target: str
    status: str
    owner: str
    evidence: str
    date: dt.date
    expires: dt.date
    file: str
    line: int
    note: str = ""
    state: str = ""  # applied | expired | unused | out_of_scope (set by apply)
    detail: str = ""
    applied: list[str] = field(default_factory=list)

    def record(self) -> dict[str, Any]:
        return {"id": self.id, "control": self.control, "target": self.target, "status": self.status,
                "owner": self.owner, "evidence": self.evidence, "date": self.date.isoformat(),
                "expires": self.expires.isoformat(), "note": self.note, "file": self.file, "line": self.line}


@dataclass
class Governance:
    waivers: list[Waiver] = field(default_factory=list)
    attestations: list[Attestation] = field(default_factory=list)
    files: list[dict[str, str]] = field(default_factory=list)  # path, sha256, kind
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def document(self, today: dt.date | None = None) -> dict[str, Any]:
        """The register as the results JSON carries it (``waivers``, ``attestations``, ``governance_files``)."""
        def days(d: dt.date) -> int | None:
            return (d - today).days if today else None

        return {
            "governance_files": self.files,
            "waivers": [{**w.record(), "status": w.status, "detail": w.detail, "count": len(w.waived),
                         "results": w.waived[:MAX_LISTED], "days_left": days(w.expires)} for w in self.waivers],
            "attestations": [{**a.record(), "state": a.state, "detail": a.detail, "count": len(a.applied),
                              "results": a.applied[:MAX_LISTED], "days_left": days(a.expires)}
                             for a in self.attestations],
        }


# ---------------------------------------------------------------------------------------------------
# loading


def _entries(path: str, top_key: str) -> list[tuple[int, dict[str, Any]]]:
    """The entries of a governance file with the line each starts on; strict about the YAML shape."""
    where = path
    try:
        data, lines = read_yaml(path, f"the {top_key} file")
    except InputError as exc:
        loc = f"{where}:{exc.line}" if exc.line else where
        message = exc.message if exc.message != "file does not exist" else "file does not exist"
        raise GovernanceError(f"{loc}: {message}") from None
    if data is None:
        return []
    prefix = "/0"
    if isinstance(data, dict):
        extra = set(data) - {top_key, "version"}
        if extra:
            raise GovernanceError(f"{where}:1: unknown top-level key(s) {sorted(map(str, extra))}; "
                                  f"expected '{top_key}:' with a list of entries")
        if data.get("version", 1) != 1:
            raise GovernanceError(f"{where}:1: unsupported version {data.get('version')!r} (expected 1)")
        data = data.get(top_key) or []
        prefix = f"/0/{top_key}"
    if not isinstance(data, list):
        raise GovernanceError(f"{where}:1: expected a list of {top_key} (or '{top_key}:' with a list)")
    out = []
    for i, entry in enumerate(data):
        line = lines.nearest_line(f"{prefix}/{i}")[0]
        if not isinstance(entry, dict):
            raise GovernanceError(f"{where}:{line}: entry #{i + 1} is not a mapping")
        out.append((line, entry))
    return out


def _date(value: Any, what: str, loc: str) -> dt.date:
    """A date written as YYYY-MM-DD (or a date-time, whose date counts); YAML timestamps arrive as text, so
    an impossible one (2027-02-30, 25:00) is reported here, naming the entry."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
        try:
            return dt.datetime.fromisoformat(text.replace(" ", "T", 1) if len(text) > 10 else text).date()
        except ValueError:
            pass
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise GovernanceError(f"{loc}: '{what}' must be a date YYYY-MM-DD, got {shown!r} (not a real date)")
    raise GovernanceError(f"{loc}: '{what}' must be a date YYYY-MM-DD, got {json_type(value)}")


def _text(entry: dict[str, Any], key: str, loc: str, required: bool) -> str:
    value = entry.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise GovernanceError(f"{loc}: '{key}' is required and must not be empty")
        return ""
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise GovernanceError(f"{loc}: '{key}' must be a string, got {json_type(value)}")
    text = str(value).strip()
    # Free text (an evidence link with ?token=..., a note quoting a password) reaches every output as a
    # result's reason: redacted here, where it is read. The fields that are matched are kept as written.
    return text if key in _MATCHED_FIELDS else redact_text(text)


_MATCHED_FIELDS = frozenset({"control", "target", "status"})


def _common(path: str, line: int, n: int, entry: dict[str, Any], allowed: set[str], required: tuple[str, ...],
            kind: str, known_controls: Iterable[str]) -> tuple[str, str]:
    ident = entry.get("id")
    label = f"{kind} #{n}" + (f" ({ident})" if ident else "")
    loc = f"{path}:{line}: {label}"
    unknown = set(map(str, entry)) - allowed
    if unknown:
        shown = sorted(unknown)[:10] + ([f"... {len(unknown) - 10:,} more"] if len(unknown) > 10 else [])
        raise GovernanceError(f"{loc}: unknown key(s) {shown}; allowed: {sorted(allowed)}")
    missing = [k for k in required if entry.get(k) in (None, "")]
    if missing:
        raise GovernanceError(f"{loc}: missing required field(s) {missing}")
    control = _text(entry, "control", loc, True)
    if control not in set(known_controls):
        raise GovernanceError(f"{loc}: unknown control {control!r}")
    return loc, control


def load_waivers(path: str, known_controls: Iterable[str], today: dt.date | None = None) -> list[Waiver]:
    known = list(known_controls)
    out: list[Waiver] = []
    ids: dict[str, str] = {}
    for n, (line, entry) in enumerate(_entries(path, "waivers"), start=1):
        loc, control = _common(path, line, n, entry, WAIVER_FIELDS, WAIVER_REQUIRED, "waiver", known)
        wid = _text(entry, "id", loc, False) or f"{Path(path).name}#{n}"
        if wid in ids:
            raise GovernanceError(f"{loc}: id {wid!r} is used twice (first at {ids[wid]})")
        ids[wid] = f"{path}:{line}"
        out.append(Waiver(id=wid, control=control, target=_text(entry, "target", loc, True),
                          justification=_text(entry, "justification", loc, True),
                          approver=_text(entry, "approver", loc, True),
                          expires=_within_horizon(_date(entry["expires"], "expires", loc), today, loc),
                          file=path, line=line,
                          reference=_text(entry, "reference", loc, False)))
    return out


def load_attestations(path: str, known_controls: Iterable[str], manual_controls: Iterable[str],
                      today: dt.date) -> list[Attestation]:
    known = list(known_controls)
    manual = set(manual_controls)
    out: list[Attestation] = []
    ids: dict[str, str] = {}
    for n, (line, entry) in enumerate(_entries(path, "attestations"), start=1):
        loc, control = _common(path, line, n, entry, ATTESTATION_FIELDS, ATTESTATION_REQUIRED, "attestation", known)
        if control not in manual:
            raise GovernanceError(f"{loc}: {control} is checked automatically; attestations are for manual "
                                  "controls (use a waiver for an accepted failure)")
        status = _text(entry, "status", loc, True)
        if status not in ATTESTATION_STATUS:
            raise GovernanceError(f"{loc}: 'status' must be one of {sorted(ATTESTATION_STATUS)}, got {status!r}")
        date = _date(entry["date"], "date", loc)
        expires = _within_horizon(_date(entry["expires"], "expires", loc), today, loc)
        if date > today:
            raise GovernanceError(f"{loc}: 'date' {date.isoformat()} is in the future")
        if expires < date:
            raise GovernanceError(f"{loc}: 'expires' {expires.isoformat()} is before 'date' {date.isoformat()}")
        aid = _text(entry, "id", loc, False) or f"{Path(path).name}#{n}"
        if aid in ids:
            raise GovernanceError(f"{loc}: id {aid!r} is used twice (first at {ids[aid]})")
        ids[aid] = f"{path}:{line}"
        out.append(Attestation(id=aid, control=control, target=_text(entry, "target", loc, False) or "*",
                               status=status, owner=_text(entry, "owner", loc, True),
                               evidence=_text(entry, "evidence", loc, True), date=date, expires=expires,
                               file=path, line=line, note=_text(entry, "note", loc, False)))
    return out


def _sha256(path: str) -> str:
    return hashlib.sha256(read_input(path, MAX_YAML_BYTES)).hexdigest()


def load_governance(waivers_file: str | None, attestations_file: str | None, catalog: Iterable[Any],
                    today: dt.date) -> Governance:
    """Read and validate both files against the full catalog; raises GovernanceError."""
    controls = list(catalog)
    ids = [c.id for c in controls]
    manual = [c.id for c in controls if c.manual]
    gov = Governance()
    if waivers_file:
        gov.waivers = load_waivers(waivers_file, ids, today)
        gov.files.append({"path": waivers_file, "sha256": _sha256(waivers_file), "kind": "waivers"})
    if attestations_file:
        gov.attestations = load_attestations(attestations_file, ids, manual, today)
        gov.files.append({"path": attestations_file, "sha256": _sha256(attestations_file), "kind": "attestations"})
    return gov




# ---------------------------------------------------------------------------------------------------
# applying


def target_matches(pattern: str, target: TargetRef) -> bool:
    """Glob (case-insensitive) on the target's name, resource id, or cluster/namespace/name."""
    pat = pattern.lower()
    names = [target.name, target.id or ""]
    if target.cluster and target.cluster != target.name:
        names.append("/".join(p for p in (target.cluster, target.namespace, target.name) if p))
    return any(n and fnmatch.fnmatchcase(n.lower(), pat) for n in names)


def _target_names(target: TargetRef) -> list[str]:
    names = [target.name, target.id or ""]
    if target.cluster and target.cluster != target.name:
        names.append("/".join(p for p in (target.cluster, target.namespace, target.name) if p))
    return [n.lower() for n in names if n]


class _Candidates:
    """Results of each control, and for patterns without wildcards an index by exact name: matching 100,000
    waivers to 100,000 results is linear, not their product."""

    def __init__(self, results: list[Result]) -> None:
        self.by_control: dict[str, list[Result]] = {}
        for r in results:
            if r.control_id:
                self.by_control.setdefault(r.control_id, []).append(r)
        self._exact: dict[str, dict[str, list[int]]] = {}

    def matching(self, control: str, pattern: str) -> list[Result]:
        results = self.by_control.get(control, [])
        if any(c in pattern for c in "*?["):
            return [r for r in results if target_matches(pattern, r.target)]
        index = self._exact.get(control)
        if index is None:
            index = self._exact[control] = {}
            for i, r in enumerate(results):
                for n in set(_target_names(r.target)):
                    index.setdefault(n, []).append(i)
        return [results[i] for i in sorted(index.get(pattern.lower(), ()))]


def _label(r: Result) -> str:
    return f"{r.target.name} ({r.target.file}:{r.target.line})" if r.target.file else r.target.name


def apply_governance(gov: Governance, results: list[Result], in_scope: Iterable[str], today: dt.date) -> None:
    """Turn waived failures into WAIVED and attested manual results into their status, in place; fill
    the register (status of each waiver and attestation) and the diagnostics about them."""
    decide(gov, results, in_scope, today)
    register(gov, results, in_scope, today)


def decide(gov: Governance, results: list[Result], in_scope: Iterable[str], today: dt.date) -> None:
    """The verdicts governance changes, in place: a failure matched by an active waiver (the first, in file
    order) becomes WAIVED; a manual result matched by an attestation takes its status (expired: stays
    manual and says so). Each result's new verdict depends only on itself and the files, so a sharded run
    decides where its results are computed (shards.py) and gets what one process would."""
    scope = set(in_scope)
    index = _Candidates(results)
    for w in gov.waivers:
        if w.control not in scope or w.expires < today:
            continue
        for r in index.matching(w.control, w.target):
            if r.outcome is Outcome.FAILED:
                r.outcome = Outcome.WAIVED
                r.waiver = {**w.record(), "failure_reason": r.reason}
                r.reason = (f"waiver {w.id} approved by {w.approver}, expires {w.expires.isoformat()}: "
                            f"{w.justification}")
    for a in gov.attestations:
        if a.control not in scope:
            continue
        manual = [r for r in index.matching(a.control, a.target) if r.outcome is Outcome.MANUAL]
        if a.expires < today:
            for r in manual:
                r.reason = (f"attestation {a.id} by {a.owner} expired on {a.expires.isoformat()}; "
                            f"re-attest. {r.reason}").strip()
                r.attestation = {**a.record(), "state": "expired"}
            continue
        for r in manual:
            r.outcome = ATTESTATION_STATUS[a.status]
            r.attestation = {**a.record(), "state": "applied"}
            r.reason = (f"attested {a.status} by {a.owner} on {a.date.isoformat()} (expires "
                        f"{a.expires.isoformat()}); evidence: {a.evidence}" + (f"; {a.note}" if a.note else ""))
            r.evidence = [Evidence(path="attestation", expected="attested passed",
                                   actual=f"{a.status} ({a.owner}, {a.date.isoformat()})", file=a.file, line=a.line)]


def register(gov: Governance, results: list[Result], in_scope: Iterable[str], today: dt.date) -> None:
    """The register, from results ``decide`` has seen (all of them: the controller of a sharded run calls
    this once over the merged results): the status of each waiver (active / expired / unused /
    out_of_scope) and attestation, the results each covers, and the warnings about them.

    Entries are read in file order, as ``decide`` applied them: what an entry saw is what was still
    failed (manual) when its turn came, i.e. not yet taken by an earlier entry."""
    scope = set(in_scope)
    index = _Candidates(results)
    waiver_at = {(w.file, w.line): i for i, w in enumerate(gov.waivers)}
    never = len(gov.waivers) + len(gov.attestations)

    def waived_at(r: Result) -> int:  # the position of the waiver that took r (never: none did)
        return waiver_at.get((r.waiver.get("file"), r.waiver.get("line")), never) if r.waiver else never

    for i, w in enumerate(gov.waivers):
        w.waived = []
        if w.control not in scope:
            w.status, w.detail = "out_of_scope", f"{w.control} was not run (--controls)"
            continue
        candidates = index.matching(w.control, w.target)
        # failed when this waiver's turn came: failed now, or waived by this or a later waiver
        failed = [r for r in candidates if r.outcome is Outcome.FAILED
                  or (r.outcome is Outcome.WAIVED and waived_at(r) >= i)]
        taken = [r for r in candidates if r.outcome is Outcome.WAIVED and waived_at(r) < i]
        where = f"waiver {w.id} ({w.control}, target {w.target!r})"
        if w.expires < today:
            w.status = "expired"
            w.waived = [r.key for r in failed]
            w.detail = (f"expired on {w.expires.isoformat()}; " +
                        (f"{len(failed)} failure(s) it covered are failures again" if failed else
                         "it matches no failure") +
                        (f"; {len(taken)} covered by another waiver" if taken else ""))
            gov.diagnostics.append(Diagnostic("warning", f"{where} expired on {w.expires.isoformat()} and no longer "
                                              f"applies ({len(failed)} matching failure(s) stay failed)",
                                              w.file, line=w.line))
            continue
        if not failed:
            w.status = "unused"
            w.detail = ("matches no result" if not candidates else
                        f"its {len(taken)} matching failure(s) are waived by an earlier waiver" if taken else
                        f"matches {len(candidates)} result(s), none failed: remove it, or check the pattern")
            gov.diagnostics.append(Diagnostic("warning", f"{where} matches no failure ({w.detail})",
                                              w.file, line=w.line))
            continue
        w.status = "active"
        days = (w.expires - today).days
        w.detail = f"waives {len(failed)} failure(s); expires in {days} day(s)"
        if days <= EXPIRING_SOON_DAYS:
            gov.diagnostics.append(Diagnostic("warning", f"{where} expires in {days} day(s) "
                                              f"({w.expires.isoformat()})", w.file, line=w.line))
        w.waived = [r.key for r in failed]

    attestation_at = {(a.file, a.line): i for i, a in enumerate(gov.attestations)}

    def decided_at(r: Result) -> int:  # the position of the attestation that decided r (never: none did)
        a = r.attestation
        return attestation_at.get((a.get("file"), a.get("line")), never) if a and a.get("state") == "applied" \
            else never

    for i, a in enumerate(gov.attestations):
        a.applied = []
        if a.control not in scope:
            a.state, a.detail = "out_of_scope", f"{a.control} was not run (--controls)"
            continue
        candidates = index.matching(a.control, a.target)
        # manual when this attestation's turn came: manual now, or decided by this or a later attestation
        manual = [r for r in candidates if r.outcome is Outcome.MANUAL
                  or (r.attestation is not None and decided_at(r) >= i and decided_at(r) != never)]
        where = f"attestation {a.id} ({a.control}, target {a.target!r})"
        if a.expires < today:
            a.state = "expired"
            a.applied = [r.key for r in manual]
            a.detail = f"expired on {a.expires.isoformat()}; {len(manual)} result(s) stay manual"
            gov.diagnostics.append(Diagnostic("warning", f"{where} expired on {a.expires.isoformat()}: re-attest",
                                              a.file, line=a.line))
            continue
        if not manual:
            a.state, a.detail = "unused", "matches no result"
            gov.diagnostics.append(Diagnostic("warning", f"{where} matches no result", a.file, line=a.line))
            continue
        a.state = "applied"
        a.detail = f"decides {len(manual)} result(s); expires in {(a.expires - today).days} day(s)"
        a.applied = [r.key for r in manual]
