"""What looks like a credential in a container's environment (names and literal values).

Used by AKS-123 (literal credentials in env) and by the collector, which never writes such a literal
value into a snapshot: it stores :data:`REDACTED` in its place, which AKS-123 still recognises.
"""

from __future__ import annotations

from typing import Any

from ..redaction import SECRET_ENV_NAME, looks_like_credential

REDACTED = "<redacted by the aks-compliance collector: a credential-looking literal>"


def looks_sensitive(name: Any, value: Any) -> str | None:
    """Why a literal env value looks like a credential ('name' / 'value'), or None."""
    if not isinstance(value, str) or value == "" or value.startswith("$("):
        return None
    if value == REDACTED:
        return "value"
    if SECRET_ENV_NAME.search(str(name or "").replace("-", "_")):
        return "name"
    if looks_like_credential(value):
        return "value"
    return None


def redact_env(pod_spec: Any) -> int:
    """Replace credential-looking literal env values in every container of ``pod_spec``; how many."""
    n = 0
    if not isinstance(pod_spec, dict):
        return 0
    for group in ("containers", "initContainers", "ephemeralContainers"):
        for c in pod_spec.get(group) or []:
            if not isinstance(c, dict):
                continue
            for e in c.get("env") or []:
                if isinstance(e, dict) and looks_sensitive(e.get("name"), e.get("value")):
                    if e["value"] != REDACTED:
                        e["value"] = REDACTED
                        n += 1
    return n
