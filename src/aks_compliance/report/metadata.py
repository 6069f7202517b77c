"""What the results document says about the run and the controls, beyond the verdicts.

Everything here ends up in reports: values given on the command line that may be secret (template
parameters) are never recorded, only their names.
"""

from __future__ import annotations

import getpass
import os
import re
import socket
from typing import Any, Iterable
from urllib.parse import urlsplit, urlunsplit

from ..redaction import REDACTED, SECRET_SETTING, redact_text

_SUB = re.compile(r"^/subscriptions/([^/]+)(?:/resourceGroups/([^/]+))?", re.I)

# CI systems: who triggered the run and where it can be found (names of env variables only).
_CI = (
    ("GitHub Actions", "GITHUB_ACTIONS", "GITHUB_ACTOR", ("GITHUB_REPOSITORY", "GITHUB_RUN_ID", "GITHUB_SHA")),
    ("Azure Pipelines", "TF_BUILD", "BUILD_REQUESTEDFOR", ("BUILD_REPOSITORY_NAME", "BUILD_BUILDID", "BUILD_SOURCEVERSION")),
    ("GitLab CI", "GITLAB_CI", "GITLAB_USER_LOGIN", ("CI_PROJECT_PATH", "CI_PIPELINE_ID", "CI_COMMIT_SHA")),
    ("Jenkins", "JENKINS_URL", "BUILD_USER_ID", ("JOB_NAME", "BUILD_NUMBER", "GIT_COMMIT")),
)


def strip_userinfo(value: str) -> str:
    """https://user:token@host/x -> https://host/x (credentials in URLs never reach a report); other
    credential shapes (a ?sig=, a token) are redacted."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return redact_text(value)
    if parts.scheme and "@" in parts.netloc:
        value = urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))
    return redact_text(value)


def redact_mapping(data: dict[str, Any]) -> dict[str, Any]:
    """Values of secret-looking keys replaced, credentials stripped from URLs, recursively."""
    out: dict[str, Any] = {}
    for k, v in data.items():
        if SECRET_SETTING.search(str(k)):
            out[k] = REDACTED
        elif isinstance(v, dict):
            out[k] = redact_mapping(v)
        elif isinstance(v, str):
            out[k] = strip_userinfo(v)
        else:
            out[k] = v
    return out


def who_ran() -> dict[str, Any]:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = os.environ.get("USER") or os.environ.get("USERNAME") or "unknown"
    out: dict[str, Any] = {"user": user, "host": socket.gethostname()}
    for name, flag, actor, refs in _CI:
        if os.environ.get(flag):
            out["ci"] = {"system": name, "actor": os.environ.get(actor, ""),
                         **{r.lower(): strip_userinfo(os.environ[r]) for r in refs if os.environ.get(r)}}
            break
    return out


def scope(options: Any, targets: Iterable[Any]) -> dict[str, Any]:
    """Subscription, resource group and cluster identifiers of the run."""
    subs: set[str] = set()
    groups: set[str] = set()
    clusters: dict[str, dict[str, Any]] = {}
    for t in targets:
        ref = t.ref()
        rid = ref.id if isinstance(ref.id, str) else ""
        m = _SUB.match(rid)
        if m:
            subs.add(m.group(1))
            if m.group(2):
                groups.add(m.group(2))
        if "managedclusters" in ref.type.lower() and "/" not in ref.type.lower().split("managedclusters", 1)[1]:
            clusters.setdefault(rid or ref.name, {"name": ref.name, "id": rid or None, "file": ref.file})
    return {
        "subscription_id": getattr(options, "subscription_id", None),
        "resource_group": getattr(options, "resource_group", None),
        "location": getattr(options, "location", None),
        "subscriptions": sorted(subs), "resource_groups": sorted(groups),
        "clusters": sorted(clusters.values(), key=lambda c: (c["name"], c["id"] or "")),
    }


def run_metadata(options: Any, targets: Iterable[Any]) -> dict[str, Any]:
    """The ``run`` block of the results document: who ran what, on which scope, with which options."""
    opts: dict[str, Any] = {
        "controls": getattr(options, "controls", None),
        "control_params": getattr(options, "control_params", {}) or {},
        # template parameter values may be secrets: only their names are recorded
        "arm_param_names": sorted((getattr(options, "arm_params", {}) or {}).keys()),
        "arm_parameter_files": list(getattr(options, "arm_parameter_files", []) or []),
    }
    return {**who_ran(), "scope": scope(options, targets), "options": redact_mapping(opts)}


def control_document(control: Any) -> dict[str, Any]:
    """A control as the results document describes it: the summary plus the prose a report lays out."""
    out = dict(control.summary())
    out.update({
        "rationale": control.rationale, "remediation": control.remediation,
        "references": list(control.references), "policy_gap": control.policy_gap,
        "manual": control.manual,
        "policy": _policy_reference(control),
        "builtin_deviation": getattr(control, "builtin_deviation", None),
        "parameters": [{"name": p.name, "default": p.default, "description": p.description}
                       for p in control.parameters],
    })
    practice = getattr(control, "practice", None) or _practice(control)
    if practice:
        out["practice"] = practice
    out.update(_policy(control))
    return out


def _policy(control: Any) -> dict[str, Any]:
    """The generated Azure Policy definition (name, file) or why there is none, from the generator."""
    deviation = getattr(control, "builtin_deviation", None)
    out: dict[str, Any] = {"builtin_deviation": deviation} if deviation else {}
    try:
        from ..policy.generate import (DEFAULT_EFFECTS, DEFINITIONS_DIR, RELATED_EFFECTS, definition_name,
                                       skip_reason)
        gap = skip_reason(control)
    except Exception:  # the generator is optional to the report: without it, policy_gap alone is shown
        return out
    if gap is not None:
        return {**out, "policy_gap": control.policy_gap or gap}
    effects = list(RELATED_EFFECTS if control.related is not None else DEFAULT_EFFECTS)
    return {**out, "policy": {"name": definition_name(control.id), "display_name": f"[{control.id}] {control.title}",
                              "path": f"policies/{DEFINITIONS_DIR}/{control.id}.json",
                              "effect": effects[0], "effects": effects}}


def _policy_reference(control: Any) -> dict[str, Any] | None:
    """The generated Azure Policy definition of a control (see aks_compliance.policy.generate)."""
    from ..policy.generate import policy_reference
    return policy_reference(control)


def _practice(control: Any) -> str:
    """The practice area a control belongs to: the catalog module it is declared in (access, network, ...)."""
    from ..controls.catalog import MODULES
    for m in MODULES:
        if any(c is control or c.id == control.id for c in getattr(m, "CONTROLS", ())):
            return m.__name__.rsplit(".", 1)[-1].replace("_", " ")
    return ""
