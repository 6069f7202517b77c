"""Deploying the generated definitions and initiative with the Azure SDK (``aks-compliance policies deploy``).

Reads ``policies/definitions/*.json`` and ``policies/initiative.json`` (as generated and committed),
compares each with what the subscription or management group holds (GET), and creates or updates
what differs (PUT), through ``azure-mgmt-resource-policy``'s ``PolicyClient`` with a credential from
azure-identity's ``DefaultAzureCredential``. ``dry_run`` only reads and reports what would change.
Optionally assigns the initiative at a scope.

Every service or credential failure becomes a :class:`DeployError` whose message names the
operation, the resource and the cause (HTTP status and ARM error code), without a traceback. The
Azure SDK is imported lazily, so scans never load it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from .generate import SCOPE_PLACEHOLDER, GenerationError, load_documents

DEFAULT_ENDPOINT = "https://management.azure.com"
ASSIGNMENT_NAME = "aks-compliance"  # <= 24 characters: valid at management group scope too
# PolicyClient wants a subscription id even when only management-group operations are used.
_NO_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
# Properties we own and compare; the service adds others (policyType, createdBy in metadata, ...).
_COMPARED = ("displayName", "description", "mode", "metadata", "parameters", "policyRule",
             "policyDefinitions", "policyDefinitionGroups", "policyDefinitionId", "enforcementMode")


class DeployError(Exception):
    """A deployment step failed; the message says which, where and why."""


@dataclass
class DeployOptions:
    policies_dir: Path
    subscription: str | None = None
    management_group: str | None = None
    dry_run: bool = False
    assign_scope: str | None = None
    endpoint: str | None = None  # the ARM endpoint (another cloud, or a test server)

    @property
    def scope(self) -> str:
        if self.management_group:
            return f"/providers/Microsoft.Management/managementGroups/{self.management_group}"
        return f"/subscriptions/{self.subscription}"


@dataclass
class Change:
    kind: str  # definition | initiative | assignment
    name: str
    label: str
    action: str  # create | update | unchanged
    fields: list[str] = field(default_factory=list)

    def line(self, dry_run: bool) -> str:
        verb = self.action if dry_run or self.action == "unchanged" else {"create": "created",
                                                                           "update": "updated"}[self.action]
        what = f" ({', '.join(self.fields)})" if self.fields else ""
        return f"{self.kind} {self.label} [{self.name}]: {verb}{what}"


def validate(options: DeployOptions) -> None:
    if bool(options.subscription) == bool(options.management_group):
        raise DeployError("give exactly one of --subscription ID or --management-group ID")
    if options.subscription and not _GUID.match(options.subscription):
        raise DeployError(f"--subscription {options.subscription!r} is not a subscription id (a GUID)")
    if options.management_group and not re.fullmatch(r"[A-Za-z0-9_().-]{1,90}", options.management_group):
        raise DeployError(f"--management-group {options.management_group!r} is not a management group id")
    if options.assign_scope is not None:
        scope = options.assign_scope.rstrip("/")
        if not scope.startswith("/"):
            raise DeployError(f"--assign {options.assign_scope!r} must be a scope id, e.g. /subscriptions/<id> or "
                              "/subscriptions/<id>/resourceGroups/<name>")
        if options.subscription and not scope.lower().startswith(options.scope.lower()):
            raise DeployError(f"--assign {options.assign_scope!r} is outside {options.scope}, where the initiative "
                              "is defined; an initiative can only be assigned at or below its scope")


def _clean(value: Any) -> Any:
    return json.loads(json.dumps(value))


def _drop_nulls(value: Any) -> Any:
    """The service writes unset optional properties as null; they say nothing about a difference."""
    if isinstance(value, Mapping):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def _ci_get(d: Mapping[str, Any], key: str) -> Any:
    for k, v in d.items():
        if k.lower() == key.lower():
            return v
    return None


def differing(desired: Mapping[str, Any], existing: Mapping[str, Any]) -> list[str]:
    """The compared properties in which ``existing`` differs from ``desired`` (server-added keys ignored)."""
    out = []
    for key in _COMPARED:
        if key not in desired:
            continue
        want = _drop_nulls(_clean(desired[key]))
        have = _drop_nulls(_ci_get(existing, key))
        if key == "metadata" and isinstance(have, Mapping) and isinstance(want, Mapping):
            have = {k: v for k, v in have.items() if k in want}  # createdBy, updatedOn ... are the service's
        if key == "policyDefinitions" and isinstance(have, list):
            have = [{k: v for k, v in ref.items() if k in ("policyDefinitionId", "policyDefinitionReferenceId",
                                                              "parameters", "groupNames")}
                    if isinstance(ref, Mapping) else ref for ref in have]
            for ref in have:
                if isinstance(ref, Mapping) and isinstance(ref.get("policyDefinitionId"), str):
                    ref["policyDefinitionId"] = ref["policyDefinitionId"].lower()
            want = [{**ref, "policyDefinitionId": ref["policyDefinitionId"].lower()} for ref in want]
        if isinstance(want, str) and isinstance(have, str) and key == "policyDefinitionId":
            want, have = want.lower(), have.lower()
        if _clean(have) != want:
            out.append(key)
    return out


def _message(exc: Exception, action: str, endpoint: str) -> str:
    """A clear, one-paragraph explanation of an SDK or credential failure."""
    from azure.core.exceptions import (ClientAuthenticationError, DecodeError, HttpResponseError,
                                       ServiceRequestError, ServiceResponseError)

    if isinstance(exc, DecodeError) or (isinstance(exc, ValueError) and not isinstance(exc, HttpResponseError)):
        return (f"{action}: Azure Resource Manager at {endpoint} sent a response that is not the JSON the API "
                f"returns ({str(exc).splitlines()[0][:200]}); a proxy or gateway may be in the way")
    if isinstance(exc, ClientAuthenticationError) and getattr(exc, "response", None) is None:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return (f"{action}: no Azure credential could be obtained ({first[:300]}). DefaultAzureCredential tries "
                "environment variables (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET), workload and "
                "managed identity, and a signed-in Azure CLI ('az login')")
    if isinstance(exc, HttpResponseError):
        status = exc.status_code
        code = getattr(getattr(exc, "error", None), "code", None)
        text = getattr(getattr(exc, "error", None), "message", None) or (exc.reason or "")
        request_id = ""
        if exc.response is not None:
            request_id = exc.response.headers.get("x-ms-request-id", "")
        detail = f"HTTP {status}{' ' + code if code else ''}: {str(text).strip()[:400]}"
        tail = f" (request id {request_id})" if request_id else ""
        if status == 401:
            return (f"{action}: authentication failed ({detail}){tail}. The token was rejected; sign in again "
                    "('az login') or check the service principal's tenant and secret")
        if status == 403:
            return (f"{action}: permission denied ({detail}){tail}. Deploying policy definitions needs the "
                    "'Resource Policy Contributor' role (or Owner) at the target scope")
        if status == 409:
            return (f"{action}: conflict ({detail}){tail}. Another change to the same resource may be in "
                    "progress, or the resource is in use; retry, or inspect it in the portal")
        if status == 429:
            retry = exc.response.headers.get("Retry-After") if exc.response is not None else None
            return (f"{action}: throttled by Azure Resource Manager ({detail}){tail}; still throttled after the "
                    f"client's retries{f' (Retry-After {retry} s)' if retry else ''}. Try again later")
        if status is not None and status >= 500:
            return (f"{action}: Azure Resource Manager failed ({detail}){tail}; still failing after the client's "
                    "retries. Try again later")
        return f"{action}: the request was rejected ({detail}){tail}"
    if isinstance(exc, (ServiceRequestError, ServiceResponseError)):
        return f"{action}: cannot reach Azure Resource Manager at {endpoint} ({str(exc).splitlines()[0][:300]})"
    return f"{action}: {type(exc).__name__}: {exc}"


def make_client(options: DeployOptions, credential: Any = None, **client_kwargs: Any) -> Any:
    """A real ``PolicyClient`` (credential: DefaultAzureCredential unless given)."""
    try:
        from azure.mgmt.resource.policy import PolicyClient
    except ImportError as exc:  # pragma: no cover - a broken install
        raise DeployError(f"the Azure SDK is not installed ({exc}); install aks-compliance with its dependencies "
                          "(pip install aks-compliance)") from None
    endpoint = (options.endpoint or DEFAULT_ENDPOINT).rstrip("/")
    if credential is None:
        from azure.identity import DefaultAzureCredential
        try:
            credential = DefaultAzureCredential()
        except ValueError as exc:  # e.g. an invalid AZURE_TOKEN_CREDENTIALS value
            raise DeployError(f"cannot set up Azure credentials: {exc}") from None
    kwargs: dict[str, Any] = {"retry_total": 3}
    if options.endpoint:
        kwargs["credential_scopes"] = [endpoint + "/.default"]
    kwargs.update(client_kwargs)
    return PolicyClient(credential, options.subscription or _NO_SUBSCRIPTION, base_url=endpoint, **kwargs)


def _raw(pipeline_response: Any, _deserialized: Any, _headers: Any) -> Any:
    return pipeline_response.http_response.json()


class _Deployer:
    def __init__(self, options: DeployOptions, client: Any, out: Callable[[str], None]) -> None:
        self.o = options
        self.client = client
        self.out = out
        self.endpoint = (options.endpoint or DEFAULT_ENDPOINT).rstrip("/")
        self.changes: list[Change] = []

    def _call(self, action: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        from azure.core.exceptions import AzureError, ResourceNotFoundError
        try:
            return fn(*args, cls=_raw, **kwargs)
        except ResourceNotFoundError:
            return None
        except (AzureError, ValueError) as exc:
            raise DeployError(_message(exc, action, self.endpoint)) from None

    def _put(self, action: str, fn: Callable[..., Any], *args: Any) -> Any:
        from azure.core.exceptions import AzureError
        try:
            return fn(*args, cls=_raw)
        except (AzureError, ValueError) as exc:
            raise DeployError(_message(exc, action, self.endpoint)) from None

    def _apply(self, kind: str, name: str, label: str, desired: dict[str, Any], existing: Any,
               write: Callable[[], Any]) -> Change:
        if existing is None:
            change = Change(kind, name, label, "create")
        else:
            fields = differing(desired, _ci_get(existing, "properties") or {})
            change = Change(kind, name, label, "update" if fields else "unchanged", fields)
        if change.action != "unchanged" and not self.o.dry_run:
            write()
        self.changes.append(change)
        self.out(change.line(self.o.dry_run))
        return change

    def definitions(self, definitions: list[dict[str, Any]]) -> None:
        ops = self.client.policy_definitions
        mg = self.o.management_group
        for doc in definitions:
            name, props = doc["name"], doc["properties"]
            label = props.get("displayName", name)
            where = f"policy definition {label} ({name}) at {self.o.scope}"
            existing = self._call(f"reading {where}", ops.get_at_management_group if mg else ops.get,
                                  *((mg, name) if mg else (name,)))
            body = {"properties": props}
            self._apply("definition", name, label, props, existing, lambda: self._put(
                f"writing {where}", ops.create_or_update_at_management_group if mg else ops.create_or_update,
                *((mg, name, body) if mg else (name, body))))

    def initiative(self, initiative: dict[str, Any]) -> str:
        ops = self.client.policy_set_definitions
        mg = self.o.management_group
        name = initiative["name"]
        props = json.loads(json.dumps(initiative["properties"]).replace(SCOPE_PLACEHOLDER, self.o.scope))
        label = props.get("displayName", name)
        where = f"initiative {label} ({name}) at {self.o.scope}"
        existing = self._call(f"reading {where}", ops.get_at_management_group if mg else ops.get,
                              *((mg, name) if mg else (name,)))
        body = {"properties": props}
        self._apply("initiative", name, label, props, existing, lambda: self._put(
            f"writing {where}", ops.create_or_update_at_management_group if mg else ops.create_or_update,
            *((mg, name, body) if mg else (name, body))))
        return f"{self.o.scope}/providers/Microsoft.Authorization/policySetDefinitions/{name}"

    def assignment(self, initiative_id: str, display_name: str) -> None:
        scope = (self.o.assign_scope or "").rstrip("/")
        ops = self.client.policy_assignments
        where = f"assignment {ASSIGNMENT_NAME} at {scope}"
        props = {"displayName": display_name, "policyDefinitionId": initiative_id,
                 "description": "Assigns the aks-compliance initiative (deployed by aks-compliance policies deploy).",
                 "enforcementMode": "Default", "metadata": {"source": "aks-compliance"}}
        existing = self._call(f"reading {where}", ops.get, scope.lstrip("/"), ASSIGNMENT_NAME)
        body = {"properties": props}
        self._apply("assignment", ASSIGNMENT_NAME, display_name, props, existing,
                    lambda: self._put(f"writing {where}", ops.create, scope.lstrip("/"), ASSIGNMENT_NAME, body))


def deploy(options: DeployOptions, *, credential: Any = None, out: Callable[[str], None] = print,
           **client_kwargs: Any) -> list[Change]:
    """Create or update the definitions, the initiative and (with ``assign_scope``) its assignment."""
    validate(options)
    try:
        definitions, initiative = load_documents(options.policies_dir)
    except GenerationError as exc:
        raise DeployError(str(exc)) from None
    try:
        from .generate import differences
        stale = differences(options.policies_dir)
    except GenerationError:
        stale = []
    if stale:
        out(f"warning: {options.policies_dir} differs from what the control catalog generates ({len(stale)} file(s), "
            f"e.g. {stale[0]}); deploying the files as they are (run 'aks-compliance policies generate' first to "
            "deploy the current catalog)")
    client = make_client(options, credential, **client_kwargs)
    d = _Deployer(options, client, out)
    try:
        d.definitions(definitions)
        initiative_id = d.initiative(initiative)
        if options.assign_scope:
            d.assignment(initiative_id, initiative["properties"].get("displayName", initiative["name"]))
    finally:
        close = getattr(client, "close", None)
        if close is not None:
            close()
    counts = {a: sum(1 for c in d.changes if c.action == a) for a in ("create", "update", "unchanged")}
    if options.dry_run:
        out(f"dry run at {options.scope}: {counts['create']} to create, {counts['update']} to update, "
            f"{counts['unchanged']} unchanged; nothing was changed")
    else:
        out(f"deployed to {options.scope}: {counts['create']} created, {counts['update']} updated, "
            f"{counts['unchanged']} unchanged")
    return d.changes


__all__ = ["ASSIGNMENT_NAME", "Change", "DeployError", "DeployOptions", "deploy", "differing", "make_client",
           "validate"]
