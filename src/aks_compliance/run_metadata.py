"""What the results document says about the run, beyond the verdicts: who ran it, on which scope, with which options.

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

from .redaction import REDACTED, SECRET_SETTING, redact_text

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


def scope(recorded: dict[str, Any], targets: Iterable[Any]) -> dict[str, Any]:
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
        "subscription_id": recorded.get("subscription_id"),
        "resource_group": recorded.get("resource_group"),
        "location": recorded.get("location"),
        "subscriptions": sorted(subs), "resource_groups": sorted(groups),
        "clusters": sorted(clusters.values(), key=lambda c: (c["name"], c["id"] or "")),
    }


def run_metadata(options: Any, targets: Iterable[Any], recorded: dict[str, Any]) -> dict[str, Any]:
    """The ``run`` block of the results document: who ran what, on which scope, with which options
    (``recorded``: what the scan and each input family record of theirs, never secret values)."""
    opts = {k: v for k, v in recorded.items() if k not in ("subscription_id", "resource_group", "location")}
    return {**who_ran(), "scope": scope(recorded, targets), "options": redact_mapping(opts)}
