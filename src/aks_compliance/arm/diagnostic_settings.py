"""A diagnostic setting is a request at its ``apiVersion`` too: log category groups came with 2021-05-01-preview.

``categoryGroup`` (``audit``, ``allLogs``) is a member of a diagnostic setting's ``logs`` entries from API
2021-05-01-preview; at 2017-05-01-preview an entry is ``category``, ``enabled`` and ``retentionPolicy`` only
(``SOURCES["types-insights-2017-05-01-preview"]``). A template that routes AKS's audit logs by a category group
at an older version did not route them as written: Azure Monitor either rejects the entry or ignores the group,
and which is not documented. Such a group is unknown with that reason, never a category group that routes
kube-audit. Deployed state is what Azure returned and is left as it is.
"""

from __future__ import annotations

from typing import Any

from ..resources import REQUEST, Resource
from ..values import Unknown
from .defaults import SOURCES, _copy, ci_key, parse_api_version

DS_TYPE = "microsoft.insights/diagnosticsettings"
GROUPS_SINCE = (2021, 5, 1)  # 2021-05-01-preview


def gate_category_groups(r: Resource) -> None:
    """Make each ``logs[*].categoryGroup`` of a request older than 2021-05-01-preview unknown (lazily, on a copy:
    the body is shared with the input)."""
    if r.type_lower != DS_TYPE or r.state != REQUEST:
        return
    version = parse_api_version(r.api_version)
    if version is None or version >= GROUPS_SINCE:
        return  # an unknown apiVersion leaves the body as written; the controls judge what it says
    api = str(r.api_version).strip()
    make = r._make_body if r._body is None else (lambda body=r._body: body)

    def gated() -> dict[str, Any]:
        body = make()
        props_key = ci_key(body, "properties", None) if isinstance(body, dict) else None
        props = body[props_key] if props_key is not None else None
        logs_key = ci_key(props, "logs", None) if isinstance(props, dict) else None
        logs = props[logs_key] if logs_key is not None else None
        if not isinstance(logs, list):
            return body  # absent or malformed: the evaluator's to judge or report
        out_logs = list(logs)
        for i, entry in enumerate(logs):
            key = ci_key(entry, "categoryGroup", None) if isinstance(entry, dict) else None
            if key is None or entry[key] is None or isinstance(entry[key], Unknown):
                continue
            entry = out_logs[i] = _copy(entry)
            entry[key] = Unknown(
                f"properties.logs[{i}].categoryGroup is {entry[key]!r}, but diagnostic settings API {api} has no "
                f"category groups (from 2021-05-01-preview; {SOURCES['types-insights-2017-05-01-preview']}): "
                f"Azure Monitor rejects or ignores it, and which is not documented")
        out = _copy(body)
        out[props_key] = out_props = _copy(props)
        out_props[logs_key] = out_logs
        return out

    r._body = None
    r._make_body = gated
