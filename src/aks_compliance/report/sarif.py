"""SARIF 2.1.0 from the results document, for GitHub code scanning and Azure DevOps.

- Results only for failures (and waived failures, as suppressed results) that have a file location;
  unknown, passed and not-applicable results are not findings. A failure without any file is left
  out (GitHub rejects a whole upload when one result has no location) and counted in the run's
  properties.
- One rule per control: short/full description, help (remediation and references), helpUri, tags
  (``security``, CIS ids as ``CIS-AKS-5.4.1``), ``security-severity`` and a default level.
- Locations: the first *failing* evidence item with a file and line (the failing pool, not the compliant
  one), else the first evidence with a file, else the target's declaration; other evidence locations
  become ``relatedLocations``. The message leads with the failing conditions in plain words. URIs are relative to the source
  root (the enclosing git checkout, else the current directory) with ``uriBaseId`` ``%SRCROOT%``.
- ``partialFingerprints`` hash control, target and file but no line numbers, so an alert survives
  edits above it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import quote

from ..atomic import atomic_write
from ..textsafe import escape_strings
from .common import SEVERITY_RANK

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SRCROOT = "%SRCROOT%"
LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
# GitHub: > 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.5"}
MAX_RESULTS = 25_000  # GitHub code scanning's limit per run; the most severe are kept
MAX_RELATED = 20
MAX_TAGS = 20
FINGERPRINT = "aksComplianceFinding/v1"


def source_root(start: Path | None = None) -> Path:
    """The enclosing git checkout (a directory holding .git), else the current directory."""
    cwd = (start or Path.cwd()).resolve()
    for d in (cwd, *cwd.parents):
        if (d / ".git").exists():
            return d
    return cwd


def _quote(path: str) -> str:
    """A path as a URI: a file name that is not UTF-8 keeps its bytes (surrogate escapes)."""
    try:
        return quote(path, safe="/-._~", errors="surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate that no byte stands for
        return quote(path, safe="/-._~", errors="backslashreplace")


def artifact_location(file: str, root: Path) -> dict[str, Any]:
    path = Path(file)
    absolute = path if path.is_absolute() else (Path.cwd() / path)
    try:
        rel = Path(os.path.normpath(absolute)).relative_to(root)
    except ValueError:
        return {"uri": absolute.resolve().as_uri()}
    return {"uri": _quote(rel.as_posix()), "uriBaseId": SRCROOT}


def _physical(file: str, line: int | None, root: Path) -> dict[str, Any]:
    loc: dict[str, Any] = {"artifactLocation": artifact_location(file, root)}
    if line:
        loc["region"] = {"startLine": int(line)}
    return {"physicalLocation": loc}


_LINKABLE = re.compile(r"^https?://[^\s<>]+$")


def _md_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _rule(c: Mapping[str, Any]) -> dict[str, Any]:
    cis = list(c.get("mappings", {}).get("cis_aks", []))
    tags = ["security", "compliance", "aks"] + [f"CIS-AKS-{x}" for x in cis] + list(c.get("mappings", {}).get("nist", []))
    refs = [u for u in c.get("references", []) if isinstance(u, str)]
    remediation = c.get("remediation", "") or ""
    help_text = remediation + ("\n\nReferences:\n" + "\n".join(refs) if refs else "")
    # markdown: the text escaped (GitHub would take "<registry>" for a tag and drop it, and a results
    # document rebuilt with `aks-compliance report` may hold markup); only http(s) references become links
    help_md = _md_text(remediation) + ("\n\n**References**\n\n" + "\n".join(
        f"- <{u}>" if _LINKABLE.match(u) else f"- {_md_text(u)}" for u in refs) if refs else "")
    if cis:
        help_text += f"\n\nCIS AKS Benchmark: {', '.join(cis)}"
        help_md += f"\n\nCIS AKS Benchmark: {_md_text(', '.join(cis))}"
    severity = c.get("severity", "medium")
    rule: dict[str, Any] = {
        "id": c["id"],
        "name": "".join(w.capitalize() for w in c.get("title", c["id"]).replace("-", " ").split()[:12]) or c["id"],
        "shortDescription": {"text": c.get("title", c["id"])},
        "fullDescription": {"text": c.get("rationale") or c.get("title", c["id"])},
        "help": {"text": help_text or c.get("title", c["id"]), "markdown": help_md or _md_text(c.get("title", c["id"]))},
        "defaultConfiguration": {"level": LEVEL.get(severity, "warning")},
        "properties": {"tags": list(dict.fromkeys(tags))[:MAX_TAGS], "security-severity": SECURITY_SEVERITY.get(severity, "5.5"),
                       "precision": "very-high", "problem.severity": LEVEL.get(severity, "warning")},
    }
    if refs and refs[0].startswith(("http://", "https://")):
        rule["helpUri"] = refs[0]
    return rule


def fingerprint(r: Mapping[str, Any], file: str) -> str:
    t = r["target"]
    key = "\x1f".join([r.get("control_id") or "", t.get("type") or "", t.get("id") or t.get("name") or "",
                       t.get("namespace") or "", Path(file).as_posix()])
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _failing_first(evidence: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [e for e in evidence if e.get("failing")] + [e for e in evidence if not e.get("failing")]


def _message(r: Mapping[str, Any], title: str) -> str:
    t = r["target"]
    lines = [f"{r['control_id']} ({title}) failed for {t.get('type', '')} {t.get('name', '')}."]
    evidence = r.get("evidence", [])
    failing = [e for e in evidence if e.get("failing")]
    # the alert's text: the failing conditions in plain words, as the terminal shows them; the passing
    # comparisons (in the policy language's words) stay in the results JSON and the audit report
    shown = failing[:5] or evidence[:5]
    for e in shown:
        lines.append(e.get("text") or f"{e['path']}: expected {e['expected']}, actual {e['actual']}")
    if r.get("reason") and r["outcome"] == "failed" and not any(r["reason"] in (e.get("text") or "")
                                                                 for e in shown):
        lines.append(f"Reason: {r['reason']}")
    if failing and len(failing) > len(shown):
        lines.append(f"... and {len(failing) - len(shown)} more failing condition(s)")
    rest = len(evidence) - len(failing) if failing else len(evidence) - len(shown)
    if rest > 0:
        lines.append(f"({rest} {'passing comparison(s)' if failing else 'more evidence item(s)'} in the results "
                     "JSON and the audit report)")
    return "\n".join(lines)


def sarif_document(doc: Mapping[str, Any], root: Path | None = None) -> dict[str, Any]:
    root = root or source_root()
    controls = {c["id"]: c for c in doc.get("controls", [])}
    rule_ids = sorted(controls)
    rule_index = {cid: i for i, cid in enumerate(rule_ids)}
    findings = []
    no_location = 0
    for r in doc.get("results", []):
        if r.get("outcome") not in ("failed", "waived") or not r.get("control_id") or r["control_id"] not in controls:
            continue
        # the primary location is the first failing element (the pool that fails, not the compliant one)
        located = [(e["file"], e.get("line"), "evidence: " + e["path"]) for e in _failing_first(r.get("evidence", []))
                   if e.get("file")]
        src = r["target"].get("source") or {}
        if src.get("file"):
            located.append((src["file"], src.get("line"), "resource declaration"))
        if not located:
            no_location += 1
            continue
        findings.append((r, located))
    findings.sort(key=lambda f: (SEVERITY_RANK.get(controls[f[0]["control_id"]].get("severity"), 9),
                                 f[0]["outcome"] != "failed"))
    dropped = max(0, len(findings) - MAX_RESULTS)
    results = []
    for r, located in findings[:MAX_RESULTS]:
        c = controls[r["control_id"]]
        file, line, _ = located[0]
        related, seen = [], {(file, line)}
        for f, ln, label in located[1:]:
            if (f, ln) in seen:
                continue
            seen.add((f, ln))
            related.append({"id": len(related) + 1, **_physical(f, ln, root), "message": {"text": label}})
            if len(related) >= MAX_RELATED:
                break
        res: dict[str, Any] = {
            "ruleId": c["id"], "ruleIndex": rule_index[c["id"]],
            "level": LEVEL.get(c.get("severity", "medium"), "warning"),
            "message": {"text": _message(r, c.get("title", c["id"]))},
            "locations": [_physical(file, line, root)],
            "partialFingerprints": {FINGERPRINT: fingerprint(r, file)},
            "properties": {"target": r["target"].get("name"), "targetType": r["target"].get("type"),
                           "targetId": r["target"].get("id"), "severity": c.get("severity"),
                           "cis_aks": list(c.get("mappings", {}).get("cis_aks", []))},
        }
        if related:
            res["relatedLocations"] = related
        if r["outcome"] == "waived":
            w = r.get("waiver") or {}
            res["suppressions"] = [{"kind": "external", "status": "accepted",
                                    "justification": (f"{w.get('id', '')}: {w.get('justification', r.get('reason', ''))} "
                                                      f"(approved by {w.get('approver', '?')}, expires "
                                                      f"{w.get('expires', '?')})").strip()}]
        results.append(res)
    run: dict[str, Any] = {
        "tool": {"driver": {
            "name": doc.get("tool", {}).get("name", "aks-compliance"),
            "version": doc.get("tool", {}).get("version", ""),
            "semanticVersion": doc.get("tool", {}).get("version", ""),
            "rules": [_rule(controls[cid]) for cid in rule_ids],
            "properties": {"catalogVersion": doc.get("catalog_version", "")},
        }},
        "originalUriBaseIds": {SRCROOT: {"uri": root.as_uri() + "/"}},
        **({"automationDetails": {"guid": (doc.get("run") or {})["id"]}} if _is_guid((doc.get("run") or {}).get("id")) else {}),
        "results": results,
        "invocations": [{"executionSuccessful": not any(r.get("outcome") == "error" for r in doc.get("results", [])),
                         "startTimeUtc": _utc(doc.get("started", ""))}],
        "columnKind": "unicodeCodePoints",
        "properties": {"failuresWithoutLocation": no_location, "resultsDropped": dropped,
                       "selection": (doc.get("run") or {}).get("selection", {"complete": True})},
    }
    if not run["invocations"][0]["startTimeUtc"]:
        del run["invocations"][0]["startTimeUtc"]
    # every text a code-scanning page shows, without control characters or bidi overrides (textsafe.py)
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [escape_strings(run)]}


def _is_guid(value: Any) -> bool:
    import uuid
    try:
        return isinstance(value, str) and str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


def _utc(started: str) -> str:
    """SARIF wants UTC with a Z: 2026-11-29T20:20:00+00:00 -> 2026-11-29T20:20:00Z."""
    import datetime as dt
    try:
        t = dt.datetime.fromisoformat(started)
    except ValueError:
        return ""
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.timezone.utc)
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_sarif(path: str, doc: Mapping[str, Any]) -> dict[str, Any]:
    log = sarif_document(doc)
    big = len(log["runs"][0]["results"]) > 2000  # compact: GitHub takes at most 10 MB gzipped
    with atomic_write(path) as fh:
        json.dump(log, fh, indent=None if big else 1, separators=(",", ":") if big else None, ensure_ascii=False)
        fh.write("\n")
    return log
