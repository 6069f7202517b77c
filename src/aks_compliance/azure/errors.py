"""Failures of Azure calls as clear, named error records (never tracebacks).

Every failure of a read becomes a :class:`CallError` whose record names the operation, the scope, the
cause (HTTP status and ARM error code, the request id) and what to do. The collector keeps the record
in the snapshot and goes on with the rest; a record becomes an error item of the scan. Some failures
end the collection (``fatal``): no credential, a rejected token, an unreachable endpoint -- every further
call would fail the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..redaction import redact_text

_HINTS = {
    "resources": "Reading needs the Reader role (Microsoft.ContainerService/managedClusters/read, "
                 "Microsoft.Insights/diagnosticSettings/read) on the resource group or cluster",
    "export": "Exporting needs Microsoft.Resources/subscriptions/resourceGroups/exportTemplate/action on the "
              "resource group (Reader does not include it; Contributor or a custom role does)",
    "graph": "Azure Resource Graph returns only what the identity can read: Reader on the management group or "
             "subscriptions",
    "policy": "Reading policy states needs Microsoft.PolicyInsights/policyStates/queryResults/read (Reader "
              "includes it) at that scope",
}


@dataclass
class CallError(Exception):
    """A failed Azure call, classified."""

    # credential | auth | permission | not_found | conflict | throttled | service | malformed | network |
    # interrupted (the connection dropped or stalled mid-answer) | export | rejected | not_read
    kind: str
    operation: str  # what was being done, e.g. "listing managed clusters"
    scope: str  # where, e.g. "resource group rg-x in subscription S"
    detail: str = ""  # HTTP status, code and service message
    status: int | None = None
    code: str | None = None
    request_id: str | None = None
    retry_after: str | None = None
    hint: str = ""
    retries: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # the detail quotes Azure (an ARM error's message, a credential's complaint, a URL with its SAS
        # signature): it reaches the snapshot, the terminal and every report, so never with a credential in it
        self.detail = redact_text(self.detail)
        super().__init__(self.message)

    @property
    def fatal(self) -> bool:
        return self.kind in ("credential", "auth", "network")

    @property
    def message(self) -> str:
        what = f"{self.operation} ({self.scope})" if self.scope else self.operation
        rid = f" (request id {self.request_id})" if self.request_id else ""
        d = f" ({self.detail}){rid}" if self.detail else rid
        k = self.kind
        if k == "credential":
            return (f"{what}: no Azure credential could be obtained{d}. DefaultAzureCredential tries environment "
                    "variables (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET), workload identity, managed "
                    "identity and a signed-in Azure CLI ('az login'); for a sovereign cloud give --azure-cloud")
        if k == "auth":
            return (f"{what}: authentication failed{d}. The token was rejected: sign in again ('az login'), or "
                    "check the tenant and the cloud (--azure-cloud)")
        if k == "permission":
            return f"{what}: permission denied{d}. {self.hint or _HINTS['resources']}"
        if k == "not_found":
            return f"{what}: not found{d}; check the name or resource id"
        if k == "conflict":
            return f"{what}: refused by Azure because of the resource's current state{d}; try again when it is idle"
        if k == "throttled":
            after = f" (Retry-After {self.retry_after} s)" if self.retry_after else ""
            return (f"{what}: throttled by Azure Resource Manager{d}; still throttled after up to {self.retries} "
                    f"retries{after}. Try again later, or scan fewer scopes per run")
        if k == "service":
            return f"{what}: Azure failed{d}; still failing after up to {self.retries} retries. Try again later"
        if k == "malformed":
            return (f"{what}: the response is not the JSON the API returns{d}; a proxy or gateway may be in "
                    "the way")
        if k == "network":
            return f"{what}: cannot reach Azure Resource Manager{d}"
        if k == "interrupted":
            return (f"{what}: the answer did not arrive whole{d}; still failing after up to {self.retries} retries "
                    "(the connection was reset or stalled). Try again later")
        if k == "not_read":
            return f"{what}: not read{d}"
        if k == "export":
            return f"{what}: the export failed{d}"
        return f"{what}: the request was rejected{d}"

    def record(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "operation": self.operation, "scope": self.scope,
                               "message": self.message}
        for k in ("status", "code", "request_id", "retry_after"):
            v = getattr(self, k)
            if v is not None:
                out[k] = v
        out.update(self.extra)
        return out


def _first_line(text: Any, limit: int = 300) -> str:
    s = str(text).strip()
    return (s.splitlines()[0] if s else "")[:limit]


def kind_of_status(status: int | None) -> str:
    if status == 401:
        return "auth"
    if status == 403:
        return "permission"
    if status == 404:
        return "not_found"
    if status == 409:
        return "conflict"
    if status == 429:
        return "throttled"
    if status is not None and status >= 500:
        return "service"
    return "rejected"


def from_response(status: int, body: bytes | str | None, headers: Any, operation: str, scope: str,
                  hint: str = "", retries: int = 0) -> CallError:
    """A failed HTTP response (ARM error body ``{"error": {"code", "message"}}`` when it parses)."""
    import json

    code = message = None
    try:
        data = json.loads(body) if body else None
    except (ValueError, UnicodeDecodeError):
        data = None
    if isinstance(data, dict):
        err = data.get("error") if isinstance(data.get("error"), dict) else data
        code = err.get("code") if isinstance(err.get("code"), str) else None
        message = err.get("message") if isinstance(err.get("message"), str) else None
    detail = f"HTTP {status}{' ' + code if code else ''}" + (f": {_first_line(message, 400)}" if message else "")
    get = getattr(headers, "get", lambda _k, _d=None: None)
    return CallError(kind_of_status(status), operation, scope, detail, status, code,
                     get("x-ms-request-id"), get("Retry-After"), hint, retries)


def from_exception(exc: BaseException, operation: str, scope: str, hint: str = "", retries: int = 0) -> CallError:
    """An exception of the Azure SDK (or its transport, or a credential) as a :class:`CallError`."""
    if isinstance(exc, CallError):
        return exc
    from azure.core.exceptions import (ClientAuthenticationError, DecodeError, HttpResponseError,
                                       IncompleteReadError, ServiceRequestError, ServiceResponseError)

    if isinstance(exc, (ServiceResponseError, IncompleteReadError)):
        # the request went out and the answer broke off (reset, stall, cut short): this call failed, not the
        # endpoint, so the collection goes on (a connection that cannot be made at all is "network", fatal)
        return CallError("interrupted", operation, scope, _first_line(exc), hint=hint, retries=retries)
    if isinstance(exc, DecodeError) or (isinstance(exc, ValueError) and not isinstance(exc, HttpResponseError)):
        response = getattr(exc, "response", None)
        where = ""
        if response is not None:
            where = f"HTTP {response.status_code}, {response.headers.get('Content-Type') or 'no content type'}: "
        return CallError("malformed", operation, scope, where + _first_line(exc, 200), hint=hint,
                         request_id=response.headers.get("x-ms-request-id") if response is not None else None)
    if isinstance(exc, HttpResponseError) and getattr(exc, "response", None) is not None:
        response = exc.response
        status = exc.status_code
        err = getattr(exc, "error", None)
        code = getattr(err, "code", None)
        text = getattr(err, "message", None)
        if not code:
            got = from_response(status or 0, _body(response), response.headers, operation, scope, hint, retries)
            code, text = got.code, text or (got.detail.split(": ", 1)[1] if ": " in got.detail else None)
        if text is None:
            text = exc.reason or ""
        detail = f"HTTP {status}{' ' + code if code else ''}" + (f": {_first_line(text, 400)}" if text else "")
        return CallError(kind_of_status(status), operation, scope, detail, status, code,
                         response.headers.get("x-ms-request-id"), response.headers.get("Retry-After"), hint, retries)
    if isinstance(exc, ClientAuthenticationError):  # no response: the credential could not get a token
        # DefaultAzureCredential lists each credential it tried and why it could not be used: keep that
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        parts = lines[:1]
        for ln in lines[1:]:
            m = re.match(r"^(\w+Credential): (.*)$", ln)
            if m:  # "AzureCliCredential: Azure CLI not found on path. ..." -> its first sentence
                parts.append(f"{m.group(1)}: {m.group(2).split('. ')[0].rstrip('.')}")
        detail = "; ".join(parts)[:900] or type(exc).__name__
        return CallError("credential", operation, scope, detail, hint=hint)
    if isinstance(exc, ServiceRequestError):
        return CallError("network", operation, scope, _first_line(exc), hint=hint)
    return CallError("rejected", operation, scope, f"{type(exc).__name__}: {_first_line(exc)}", hint=hint)


def _body(response: Any) -> bytes | None:
    try:
        return response.body() if callable(getattr(response, "body", None)) else response.content
    except Exception:  # a streamed or closed response: no body to quote
        return None
