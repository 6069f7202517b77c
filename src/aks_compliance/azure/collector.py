"""Reading a live Azure estate with the Azure SDK into a snapshot.

Per resource group (``--azure-subscription ID --azure-resource-group NAME``) or cluster
(``--azure-cluster RESOURCE_ID``):

* the managed clusters, by ARM GET at a current api-version (the body Azure Policy evaluates), their
  agent pools, maintenance configurations and diagnostic settings (``send_request`` through the
  ``ResourceManagementClient``'s pipeline: its bearer-token policy, retries with Retry-After, logging);
* the group's export template (``resource_groups.begin_export_template``, a long-running operation),
  for the group's other resources; a group over 200 resources (the service's limit) is exported in
  batches of resource ids;
* Azure Policy's latest states for the group (``policy_states.list_query_results_for_resource_group``).

For a fleet (``--azure-scope management-group:ID`` / ``subscription:ID``): one Azure Resource Graph query
for every managed cluster, paged with skip tokens (:mod:`.graph`), and the scope's policy states.

Each failure is a clear error record (:mod:`.errors`) and the rest goes on: a 403 on one group skips that
group, a failed export or policy-state read leaves the clusters scanned, a related list that could not
be read is a *gap* (the controls that need it are unknown, never failed). A rejected token or missing
credential ends the collection with one error, and everything not read after it is listed. Retries are
the SDK's, bounded by ``retries``; every answer has a deadline (a body trickling in below the read
timeout still ends). A list that fails after some pages keeps what it read, and says it is incomplete.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from ..wording import json_type, not_objects
from . import AKS_API_VERSION, DIAGNOSTIC_SETTINGS_API_VERSION, EXPORT_LIMIT, RESOURCES_API_VERSION
from .cloud import CLOUD_NAMES, cloud_named, default_credential, endpoint_and_scope, identity_from_token
from .errors import _HINTS, CallError, from_exception, from_response
from ..redaction import redact_text
from .snapshot import scrub, scrub_template, write_snapshot

CLUSTER_TYPE = "Microsoft.ContainerService/managedClusters"
DIAGNOSTIC_TYPE = "microsoft.insights/diagnosticsettings"
MAINTENANCE_TYPE = "microsoft.containerservice/managedclusters/maintenanceconfigurations"
AGENT_POOL_TYPE = "microsoft.containerservice/managedclusters/agentpools"
# the types whose policy states are read: what the catalog judges (clusters and their neighbours)
STATE_TYPES = (CLUSTER_TYPE, "Microsoft.ContainerRegistry/registries", "Microsoft.KeyVault/vaults",
               "Microsoft.Network/applicationGateways",
               "Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies")
STATE_FIELDS = ("timestamp", "resourceId", "resourceType", "policyAssignmentId", "policyAssignmentName",
                "policyDefinitionId", "policyDefinitionName", "policyDefinitionReferenceId", "policySetDefinitionId",
                "policySetDefinitionName", "policyDefinitionAction", "complianceState", "isCompliant")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_GROUP = re.compile(r"^[-\w._()]{1,90}$")
_CLUSTER_ID = re.compile(r"^/subscriptions/([^/]+)/resourceGroups/([^/]+)/providers/Microsoft\.ContainerService/"
                         r"managedClusters/([^/]+)$", re.I)
MAX_PAGES = 10_000  # a list that pages longer than this is cut (and says so)


class AzureUsageError(ValueError):
    """Options that cannot work (bad ids, missing subscription): a usage error, before any call."""


@dataclass
class AzureOptions:
    subscription: str | None = None
    resource_groups: list[str] = field(default_factory=list)
    clusters: list[str] = field(default_factory=list)  # managed cluster resource ids
    scopes: list[str] = field(default_factory=list)  # management-group:ID | subscription:ID
    cloud: str = "AzureCloud"
    endpoint: str | None = None  # Resource Manager endpoint (Azure Stack, a private endpoint, tests)
    ca_file: str | None = None  # CA bundle that signs the endpoint's certificate
    retries: int = 3  # retries per request after 429 (honouring Retry-After), 5xx and timeouts
    timeout: float = 60.0  # read timeout per request, seconds
    export: bool = True  # read the groups' export templates
    policy_states: bool = True  # read Azure Policy's latest states
    page_size: int = 1000  # Resource Graph rows per page (the service's maximum)
    poll_interval: float = 2.0  # seconds between export status polls when the service sends no Retry-After
    deadline: float | None = None  # seconds for one whole answer; default 5 x timeout
    # The scan's side: where a live read is snapshotted, the Azure snapshot files to scan (a live read's,
    # and any given to --arm), and a live read that failed before the scan (an input error).
    snapshot_dir: str = "reports"
    snapshots: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def live(self) -> bool:
        return bool(self.subscription or self.resource_groups or self.clusters or self.scopes)

    def clear_live(self) -> None:
        self.subscription, self.resource_groups, self.clusters, self.scopes = None, [], [], []

    def groups(self) -> list[tuple[str, str]]:
        return [(self.subscription or "", g) for g in self.resource_groups]

    def graph_scopes(self) -> list[tuple[str, str]]:
        """(kind, id) of the fleet scopes: management groups and subscriptions for Resource Graph."""
        out: list[tuple[str, str]] = []
        for s in self.scopes:
            out.append(parse_scope(s))
        if self.subscription and not self.resource_groups and not self.clusters:
            out.append(("subscription", self.subscription))  # a whole subscription is a fleet
        return list(dict.fromkeys(out))

    def validate(self) -> None:
        try:
            cloud_named(self.cloud)
        except ValueError as exc:
            raise AzureUsageError(f"--azure-cloud: {exc}") from None
        if self.subscription and not _GUID.match(self.subscription):
            raise AzureUsageError(f"--azure-subscription {self.subscription!r} is not a subscription id (a GUID)")
        if self.resource_groups and not self.subscription:
            raise AzureUsageError("--azure-resource-group needs --azure-subscription ID (the group's subscription)")
        for g in self.resource_groups:
            if not _GROUP.match(g):
                raise AzureUsageError(f"--azure-resource-group {g!r} is not a resource group name")
        for c in self.clusters:
            if not _CLUSTER_ID.match(c.rstrip("/")):
                raise AzureUsageError(f"--azure-cluster {c!r} is not a managed cluster resource id "
                                      "(/subscriptions/ID/resourceGroups/NAME/providers/Microsoft.ContainerService/"
                                      "managedClusters/NAME)")
        for s in self.scopes:
            parse_scope(s)
        if self.retries < 0 or self.timeout <= 0 or not 1 <= self.page_size <= 1000 or \
                (self.deadline is not None and self.deadline <= 0):
            raise AzureUsageError("--azure retries must be >= 0, the timeout positive, the page size 1..1000")
        if self.endpoint and not re.match(r"^https?://", self.endpoint):
            raise AzureUsageError(f"--azure-endpoint {self.endpoint!r} must be an http(s) URL")


def parse_scope(text: str) -> tuple[str, str]:
    """``management-group:ID`` / ``subscription:ID`` (or the scope's resource id) -> (kind, id)."""
    s = text.strip()
    m = re.match(r"^/providers/Microsoft\.Management/managementGroups/([^/]+)/?$", s, re.I)
    if m:
        return "management-group", m.group(1)
    m = re.match(r"^/subscriptions/([^/]+)/?$", s, re.I)
    if m:
        s = "subscription:" + m.group(1)
    kind, _, ident = s.partition(":")
    kind = {"mg": "management-group", "managementgroup": "management-group", "sub": "subscription"}.get(
        kind.lower().replace("_", "-"), kind.lower())
    if kind == "management-group" and re.fullmatch(r"[A-Za-z0-9_().-]{1,90}", ident):
        return kind, ident
    if kind == "subscription" and _GUID.match(ident):
        return kind, ident
    raise AzureUsageError(f"--azure-scope {text!r}: expected management-group:ID or subscription:ID "
                          "(a subscription id is a GUID)")


def cluster_parts(resource_id: str) -> tuple[str, str, str] | None:
    m = _CLUSTER_ID.match(resource_id.rstrip("/"))
    return (m.group(1), m.group(2), m.group(3)) if m else None


def _deadline_transport(deadline: float, **connection: Any) -> Any:
    """azure-core's requests transport with a deadline for each whole answer.

    requests' read timeout bounds each socket read, so a body sent a byte at a time below it never ends;
    this adapter reads the body as it arrives (``read1``) and gives up at the deadline, raising what
    requests raises for a read timeout, so the SDK's retry policy and errors treat it as one.
    """
    import requests
    from azure.core.pipeline.transport import RequestsTransport
    from urllib3.exceptions import HTTPError as Urllib3Error, ProtocolError, ReadTimeoutError

    class DeadlineAdapter(requests.adapters.HTTPAdapter):
        def send(self, request: Any, stream: bool = False, **kwargs: Any) -> Any:  # type: ignore[override]
            started = time.monotonic()
            response = super().send(request, stream=True, **kwargs)
            if stream:
                return response
            chunks: list[bytes] = []
            raw = response.raw
            read = getattr(raw, "read1", None) or (lambda n, **kw: raw.read(min(n, 8192), **kw))  # urllib3 1.x
            try:
                while True:
                    if time.monotonic() - started > deadline:
                        response.close()
                        raise requests.exceptions.ReadTimeout(
                            f"the answer did not arrive within the {deadline:g} s deadline", request=request)
                    chunk = read(1 << 16, decode_content=True)
                    if not chunk:
                        break
                    chunks.append(chunk)
            except ReadTimeoutError as exc:
                response.close()
                raise requests.exceptions.ReadTimeout(exc, request=request) from None
            except (ProtocolError, Urllib3Error) as exc:
                response.close()
                raise requests.exceptions.ConnectionError(ProtocolError(str(exc)), request=request) from None
            response._content = b"".join(chunks)
            response._content_consumed = True
            response.raw.release_conn()
            return response

    session = requests.Session()
    adapter = DeadlineAdapter()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return RequestsTransport(session=session, session_owner=True, **connection)


def _chunks(items: list[Any], n: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), n):
        yield items[i:i + n]


class Collector:
    """One collection run; fills the snapshot's sections. ``run()`` never raises for Azure failures."""

    def __init__(self, options: AzureOptions, credential: Any = None, out: Callable[[str], None] | None = None,
                 **client_kwargs: Any) -> None:
        self.o = options
        self.cloud = cloud_named(options.cloud)
        self.endpoint, self.scope = endpoint_and_scope(self.cloud, options.endpoint)
        self.credential = credential
        self.out = out or (lambda _line: None)
        self.client_kwargs = client_kwargs
        self.resources: list[dict[str, Any]] = []
        self.graph: list[dict[str, Any]] = []
        self.exports: list[dict[str, Any]] = []
        self.states: list[dict[str, Any]] = []
        self.errors: list[dict[str, Any]] = []
        self.gaps: list[dict[str, Any]] = []
        self.stats: Counter = Counter()
        self.identity: dict[str, Any] = {"type": "unknown"}
        self.stopped: CallError | None = None
        self._stop_record: dict[str, Any] | None = None
        self._redacted = [0]
        self._clients: dict[tuple, Any] = {}
        self._cluster_ids: set[str] = set()
        self._done_groups: set[tuple[str, str]] = set()

    # -- plumbing ---------------------------------------------------------------------------------------
    def _hook(self, response: Any) -> None:
        status = response.http_response.status_code
        self.stats["requests"] += 1
        if status == 429:
            self.stats["throttled"] += 1
        elif status >= 500:
            self.stats["server_errors"] += 1

    def _kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"base_url": self.endpoint, "credential_scopes": [self.scope],
                                  "retry_total": self.o.retries, "read_timeout": self.o.timeout,
                                  "connection_timeout": min(10.0, self.o.timeout), "raw_response_hook": self._hook,
                                  "polling_interval": self.o.poll_interval}
        if self.o.ca_file:
            kwargs["connection_verify"] = self.o.ca_file
        kwargs.update(self.client_kwargs)
        if "transport" not in kwargs:  # one per client: closing a client closes its transport
            connection = {k: kwargs[k] for k in ("connection_verify", "read_timeout", "connection_timeout")
                          if k in kwargs}
            kwargs["transport"] = _deadline_transport(self.o.deadline or 5 * self.o.timeout, **connection)
        return kwargs

    def _resources_client(self, subscription: str) -> Any:
        key = ("rm", subscription)
        if key not in self._clients:
            from azure.mgmt.resource.resources import ResourceManagementClient
            self._clients[key] = ResourceManagementClient(self.credential, subscription or "0" * 8, **self._kwargs())
        return self._clients[key]

    def _insights_client(self) -> Any:
        if "pi" not in self._clients:
            from azure.mgmt.policyinsights import PolicyInsightsClient
            self._clients["pi"] = PolicyInsightsClient(self.credential, self.o.subscription or "0" * 8,
                                                       **self._kwargs())
        return self._clients["pi"]

    def _graph_client(self) -> Any:
        if "graph" not in self._clients:
            from azure.mgmt.resourcegraph import ResourceGraphClient
            self._clients["graph"] = ResourceGraphClient(self.credential, **self._kwargs())
        return self._clients["graph"]

    def close(self) -> None:
        for client in self._clients.values():
            close = getattr(client, "close", None)
            if close is not None:
                close()
        self._clients.clear()

    def fail(self, error: CallError, **extra: Any) -> None:
        error.retries = self.o.retries
        record = error.record()
        record.update(extra)
        self.errors.append(record)
        self.out(f"  error: {error.message}")
        if error.fatal and self.stopped is None:
            self.stopped = error
            self._stop_record = record

    def _get(self, client: Any, url: str, operation: str, scope: str, hint: str = "",
             params: dict[str, str] | None = None) -> dict[str, Any]:
        from azure.core.exceptions import AzureError
        from azure.core.rest import HttpRequest
        try:
            response = client.send_request(HttpRequest("GET", url, params=params or {}))
        except AzureError as exc:
            raise from_exception(exc, operation, scope, hint, self.o.retries) from None
        if response.status_code >= 400:
            raise from_response(response.status_code, response.content, response.headers, operation, scope, hint,
                                self.o.retries)
        try:
            data = response.json()
        except ValueError as exc:
            ctype = response.headers.get("Content-Type", "")
            raise CallError("malformed", operation, scope,
                            f"HTTP {response.status_code}, {ctype or 'no content type'}: {str(exc)[:120]}",
                            response.status_code,
                            request_id=response.headers.get("x-ms-request-id")) from None
        if not isinstance(data, dict):
            raise CallError("malformed", operation, scope, f"HTTP {response.status_code}: "
                            f"{json_type(data)}, not an object", response.status_code)
        return data

    def _list(self, client: Any, path: str, api_version: str, operation: str, scope: str,
              hint: str = "") -> list[dict[str, Any]]:
        """Every item of an ARM list, following ``nextLink``. A failure after the first page raises a
        CallError whose ``extra["partial"]`` holds the items read before it (the caller keeps them)."""
        data = self._get(client, path, operation, scope, hint, {"api-version": api_version})
        items: list[dict[str, Any]] = []
        unread: list[str] = []  # members of 'value' that are not objects: where, and what they were
        seen: set[str] = set()
        try:
            for page in range(MAX_PAGES):
                value = data.get("value")
                if not isinstance(value, list):
                    raise CallError("malformed", operation, scope, f"page {page + 1} of the list has no 'value' array")
                for n, v in enumerate(value):
                    if isinstance(v, dict):
                        items.append(v)
                    else:
                        unread.append(f"page {page + 1} item {n + 1}: {json_type(v)}")
                link = data.get("nextLink")
                if link is None or link == "":
                    if unread:  # not read, so not judged: whether one of them satisfies a control is unknown
                        raise CallError("malformed", operation, scope, not_objects(unread))
                    return items
                if not isinstance(link, str) or link in seen:
                    raise CallError("malformed", operation, scope, f"page {page + 1} links to a page already read "
                                    "(the service repeated a nextLink); stopped following it")
                seen.add(link)
                data = self._get(client, link, operation, scope, hint)
            raise CallError("rejected", operation, scope, f"more than {MAX_PAGES} pages; the list was cut")
        except CallError as exc:
            if items:
                exc.extra["partial"] = items
                exc.detail += f"; the list is incomplete: {len(items)} item(s) were read before this"
            raise

    # -- the run ----------------------------------------------------------------------------------------
    def run(self) -> None:
        self.o.validate()
        if self.credential is None:
            try:
                self.credential = default_credential(self.cloud)
            except (ValueError, ImportError) as exc:
                self.fail(CallError("credential", "setting up Azure credentials", "", str(exc)[:300]))
        if not self.stopped:
            try:
                token = self.credential.get_token(self.scope)
                self.identity = identity_from_token(token.token)
                del token
            except Exception as exc:  # noqa: BLE001 - any credential failure is one clear error
                error = from_exception(exc, "getting an access token", f"for {self.scope}")
                if error.kind not in ("credential", "auth", "network"):
                    error.kind = "credential"
                self.fail(error)
        try:
            for sub, group in self.o.groups():
                if self.stopped:
                    self.not_read(f"resource group {group} in subscription {sub}", "reading the resource group")
                    continue
                self.read_group(sub, group)
            for cid in self.o.clusters:
                if self.stopped:
                    self.not_read(cid.rstrip("/"), "reading the managed cluster")
                    continue
                self.read_cluster_id(cid.rstrip("/"))
            scopes = self.o.graph_scopes()
            if scopes and self.stopped:
                for kind, ident in scopes:
                    self.not_read(f"{kind} {ident}", "querying Azure Resource Graph")
            elif scopes:
                self.read_fleet(scopes)
        finally:
            self.close()

    def not_read(self, scope: str, operation: str) -> None:
        """What a stopped collection did not read: named on the one error that stopped it (its record says
        ``not_read``, its message ends with the list), so the report says what is missing."""
        assert self.stopped is not None
        record = self._stop_record
        if record is None:
            return
        names = record.setdefault("not_read", [])
        names.append(f"{operation} ({scope})")
        shown = "; ".join(names[:10]) + (f"; and {len(names) - 10} more" if len(names) > 10 else "")
        record["message"] = f"{self.stopped.message}. Not read because of this: {shown}"

    def read_group(self, sub: str, group: str) -> None:
        scope = f"resource group {group} in subscription {sub}"
        self.out(f"reading {scope}")
        rm = self._resources_client(sub)
        path = f"/subscriptions/{sub}/resourceGroups/{group}/providers/Microsoft.ContainerService/managedClusters"
        try:
            clusters = self._list(rm, path, AKS_API_VERSION, "listing managed clusters", scope)
        except CallError as exc:
            partial = exc.extra.pop("partial", None)
            self.fail(exc)  # the group cannot be read: its export and states are not tried either
            for body in partial or []:  # the clusters of the pages read are still checked
                if not self.stopped:
                    self.add_cluster(rm, body, scope)
            return
        for body in clusters:
            if self.stopped:
                self.not_read(str(body.get("id") or body.get("name")), "reading the managed cluster")
                continue
            self.add_cluster(rm, body, scope)
        if self.stopped:
            self.not_read(scope, "exporting the resource group's template and reading its policy states")
            return
        self.after_group(sub, group)

    def read_cluster_id(self, cid: str) -> None:
        parts = cluster_parts(cid)
        assert parts is not None  # validated
        sub, group, name = parts
        scope = f"managed cluster {name} in resource group {group}"
        self.out(f"reading {scope}")
        rm = self._resources_client(sub)
        if cid.lower() not in self._cluster_ids:
            try:
                body = self._get(rm, cid, "reading the managed cluster", scope, params={"api-version": AKS_API_VERSION})
            except CallError as exc:
                self.fail(exc)
                return
            self.add_cluster(rm, body, scope)
        self.after_group(sub, group)

    def after_group(self, sub: str, group: str) -> None:
        """The group's export and policy states, once per group."""
        if (sub.lower(), group.lower()) in self._done_groups or self.stopped:
            return
        self._done_groups.add((sub.lower(), group.lower()))
        if self.o.export:
            self.export_group(sub, group)
        if self.o.policy_states and not self.stopped:
            self.read_states("resource-group", sub, group)

    def add_cluster(self, rm: Any, body: dict[str, Any], where: str = "") -> None:
        cid = body.get("id")
        if not isinstance(cid, str) or not isinstance(body.get("type"), str):
            self.fail(CallError("malformed", "reading a managed cluster", where, "a cluster without 'id' or 'type' "
                                f"(name {body.get('name')!r})" if isinstance(body.get("name"), str) else
                                "a cluster without 'id' or 'type'"))
            return
        if cid.lower() in self._cluster_ids:
            return
        self._cluster_ids.add(cid.lower())
        self.resources.append(scrub(body, self._redacted))
        name = cid.rsplit("/", 1)[-1]
        scope = f"managed cluster {name}"
        for suffix, api, operation, rtype in (
                ("/agentPools", AKS_API_VERSION, "listing agent pools", AGENT_POOL_TYPE),
                ("/maintenanceConfigurations", AKS_API_VERSION, "listing maintenance configurations", MAINTENANCE_TYPE),
                ("/providers/Microsoft.Insights/diagnosticSettings", DIAGNOSTIC_SETTINGS_API_VERSION,
                 "listing diagnostic settings", DIAGNOSTIC_TYPE)):
            if self.stopped:  # not read: unknown, never "none exists"
                if rtype != AGENT_POOL_TYPE:
                    self.gaps.append({"resource_id": cid, "type": rtype,
                                      "reason": f"{operation} of {name} was not done: the collection stopped after "
                                                f"an earlier failure ({self.stopped.kind}), so whether one satisfies "
                                                "the control is unknown"})
                continue
            try:
                items = self._list(rm, cid + suffix, api, operation, scope)
            except CallError as exc:
                partial = exc.extra.pop("partial", None) or []
                self.fail(exc, items_read=len(partial))
                self.resources.extend(scrub(i, self._redacted) for i in partial)  # what was read is kept
                if rtype != AGENT_POOL_TYPE:  # pools are in the cluster's own body too
                    self.gaps.append({"resource_id": cid, "type": rtype,
                                      "reason": f"{operation} of {name} failed ({exc.kind}"
                                                f"{', HTTP ' + str(exc.status) if exc.status else ''})"
                                                f"{f' after {len(partial)} item(s)' if partial else ''}, so whether "
                                                "one satisfies the control is unknown"})
                continue
            self.resources.extend(scrub(i, self._redacted) for i in items)

    # -- export ---------------------------------------------------------------------------------------
    def export_group(self, sub: str, group: str) -> None:
        scope = f"resource group {group} in subscription {sub}"
        rm = self._resources_client(sub)
        try:
            self._export(rm, sub, group, ["*"], "1/1")
            return
        except CallError as exc:
            if not _too_many(exc):
                self.fail(exc, resource_group=group, subscription=sub)
                return
        # The service exports at most 200 resources at a time: export the group's resources by id, in batches.
        try:
            ids = [r["id"] for r in self._list(rm, f"/subscriptions/{sub}/resourceGroups/{group}/resources",
                                               RESOURCES_API_VERSION, "listing the group's resources for a batched "
                                               "export", scope, _HINTS["export"])
                   if isinstance(r.get("id"), str)]
        except CallError as exc:
            self.fail(exc, resource_group=group, subscription=sub)
            return
        batches = list(_chunks(ids, EXPORT_LIMIT))
        self.out(f"  {scope} has {len(ids)} resources: exporting in {len(batches)} batches of at most {EXPORT_LIMIT}")
        for k, batch in enumerate(batches, 1):
            if self.stopped:
                return
            try:
                self._export(rm, sub, group, batch, f"{k}/{len(batches)}")
            except CallError as exc:
                self.fail(exc, resource_group=group, subscription=sub, batch=f"{k}/{len(batches)}")

    def _export(self, rm: Any, sub: str, group: str, resources: list[str], batch: str) -> None:
        from azure.core.exceptions import AzureError
        scope = f"resource group {group} in subscription {sub}" + (f", batch {batch}" if batch != "1/1" else "")
        operation = "exporting the resource group's template"
        try:
            poller = rm.resource_groups.begin_export_template(
                group, {"resources": resources, "options": "SkipAllParameterization"})
        except AzureError as exc:
            raise from_exception(exc, operation, scope, _HINTS["export"], self.o.retries) from None
        try:
            result = poller.result()
        except AzureError as exc:
            error = from_exception(exc, operation, scope, _HINTS["export"], self.o.retries)
            if error.kind in ("rejected",) or (error.status or 0) < 400:
                error.kind = "export"  # the operation ran and failed: its status (an HTTP 200) said so
                error.detail = re.sub(r"^HTTP \d+ ", "operation status Failed, ", error.detail)
            raise error from None
        template = getattr(result, "template", None)
        err = getattr(result, "error", None)
        entry: dict[str, Any] = {"subscription": sub, "resource_group": group, "batch": batch,
                                 "resources": resources if resources != ["*"] else "*",
                                 "template": scrub_template(template, self._redacted) if isinstance(template, dict)
                                 else None}
        if err is not None:
            code, message = getattr(err, "code", None), getattr(err, "message", None)
            entry["error"] = scrub({"code": code, "message": message})
            if isinstance(template, dict):  # "completed with errors": some resources could not be exported
                self.errors.append({"kind": "export", "severity": "warning", "operation": operation, "scope": scope,
                                    "code": code, "message": f"{operation} ({scope}): completed with errors "
                                    f"({code}: {redact_text(str(message)[:300])}); resources it could not export "
                                    "are missing from the scan unless read directly"})
            else:
                raise CallError("export", operation, scope, f"{code}: {str(message)[:300]}", code=code)
        elif not isinstance(template, dict):
            raise CallError("malformed", operation, scope, "the export result has no template")
        self.exports.append(entry)

    # -- Azure Policy states -----------------------------------------------------------------------------
    def read_states(self, kind: str, ident: str, group: str | None = None) -> None:
        from azure.core.exceptions import AzureError
        from azure.mgmt.policyinsights.models import QueryOptions

        client = self._insights_client()
        ops = client.policy_states
        query = QueryOptions(filter=" or ".join(f"resourceType eq '{t}'" for t in STATE_TYPES),
                             select=",".join(STATE_FIELDS))
        if kind == "resource-group":
            scope = f"resource group {group} in subscription {ident}"
            pager = ops.list_query_results_for_resource_group("latest", ident, group, query_options=query)
        elif kind == "subscription":
            scope = f"subscription {ident}"
            pager = ops.list_query_results_for_subscription("latest", ident, query_options=query)
        else:
            scope = f"management group {ident}"
            pager = ops.list_query_results_for_management_group("latest", ident, query_options=query)
        n = 0
        try:
            for state in pager:
                raw = state.serialize(keep_readonly=True)
                self.states.append({k: raw[k] for k in STATE_FIELDS if k in raw})
                n += 1
        except AzureError as exc:
            self.fail(from_exception(exc, "reading Azure Policy states", scope, _HINTS["policy"], self.o.retries),
                      states_read=n)
            return
        self.out(f"  {n} Azure Policy state(s) for {scope}")

    # -- fleet: Resource Graph ---------------------------------------------------------------------------
    def read_fleet(self, scopes: list[tuple[str, str]]) -> None:
        from .graph import query_clusters

        label = ", ".join(f"{k} {i}" for k, i in scopes)
        self.out(f"querying Azure Resource Graph for managed clusters in {label}")
        before = len(self.graph)
        try:
            for row in query_clusters(self._graph_client(), scopes, self.o.page_size, self.stats):
                if isinstance(row.get("id"), str) and row["id"].lower() in self._cluster_ids:
                    continue  # read by ARM GET already (a group or cluster scope): that body wins
                self.graph.append(scrub(row, self._redacted))
        except CallError as exc:
            self.fail(exc, rows_read=len(self.graph) - before)
        n = len(self.graph) - before
        self.out(f"  {n} managed cluster(s) from Resource Graph in {self.stats['graph_pages']} page(s)")
        if n:
            for rtype, what in ((DIAGNOSTIC_TYPE, "diagnostic settings"),
                                (MAINTENANCE_TYPE, "maintenance configurations")):
                self.gaps.append({"source": "graph", "type": rtype,
                                  "reason": f"a fleet scan reads each cluster's own body from Azure Resource Graph, "
                                            f"not its {what}; scan its resource group (--azure-resource-group) to "
                                            "check them"})
        if self.o.policy_states:
            for kind, ident in scopes:
                if self.stopped:
                    return
                self.read_states(kind, ident)

    # -- the snapshot -----------------------------------------------------------------------------------
    def meta(self, taken: dt.datetime, finished: dt.datetime) -> dict[str, Any]:
        from ..version import __version__

        scopes: list[dict[str, Any]] = [{"kind": "resource-group", "subscription": s, "resource_group": g}
                                        for s, g in self.o.groups()]
        scopes += [{"kind": "cluster", "id": c} for c in self.o.clusters]
        scopes += [{"kind": k, "id": i} for k, i in self.o.graph_scopes()]
        return {
            "taken": taken.isoformat(timespec="seconds"), "finished": finished.isoformat(timespec="seconds"),
            "tool": {"name": "aks-compliance", "version": __version__},
            "identity": self.identity, "cloud": self.cloud.name, "endpoint": self.endpoint,
            "scopes": scopes,
            "api_versions": {"managedClusters": AKS_API_VERSION, "diagnosticSettings": DIAGNOSTIC_SETTINGS_API_VERSION,
                             "resources": RESOURCES_API_VERSION},
            "requests": dict(self.stats), "redacted_values": self._redacted[0],
            "complete": not self.errors and not self.gaps,
        }

    def sections(self) -> dict[str, list[dict[str, Any]]]:
        return {"resources": self.resources, "graph": self.graph, "exports": self.exports,
                "policy_states": self.states, "errors": scrub(self.errors), "gaps": scrub(self.gaps)}


def _too_many(error: CallError) -> bool:
    """The export API's refusal of a group with more than 200 resources."""
    text = f"{error.code or ''} {error.detail}".lower()
    return error.status in (400, 409) and "200" in text and "resource" in text


def collect_snapshot(path: str | Path, options: AzureOptions, *, credential: Any = None,
                     out: Callable[[str], None] | None = None, **client_kwargs: Any) -> dict[str, Any]:
    """Read what ``options`` name and write the snapshot to ``path``; returns its meta (with ``counts``).

    Raises :class:`AzureUsageError` for options that cannot work; Azure failures are in the snapshot.
    """
    taken = dt.datetime.now(dt.timezone.utc)
    collector = Collector(options, credential, out, **client_kwargs)
    collector.run()
    meta = collector.meta(taken, dt.datetime.now(dt.timezone.utc))
    sections = collector.sections()
    meta["counts"] = {k: len(v) for k, v in sections.items()}
    write_snapshot(path, meta, sections)
    return meta


def default_snapshot_path(directory: str | Path, options: AzureOptions, taken: dt.datetime) -> Path:
    if options.resource_groups:
        name = "-".join(options.resource_groups[:3]) + ("-more" if len(options.resource_groups) > 3 else "")
    elif options.clusters:
        name = "-".join(c.rstrip("/").rsplit("/", 1)[-1] for c in options.clusters[:3])
    else:
        name = "-".join(i for _k, i in options.graph_scopes()[:2]) or "fleet"
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", name)[:80] or "azure"
    return Path(directory) / f"azure-snapshot-{safe}-{taken.strftime('%Y%m%dT%H%M%SZ')}.json.gz"


__all__ = ["AzureOptions", "AzureUsageError", "CLOUD_NAMES", "Collector", "collect_snapshot",
           "default_snapshot_path", "parse_scope"]
