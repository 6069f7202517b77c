"""Reading a live cluster with the official ``kubernetes`` client, into a snapshot.

Safely and at scale:

* **Read-only, no secrets.** Only get/list on the kinds in :data:`kinds.COLLECTED` (what
  ``deploy/scanner-rbac.yaml`` grants). Secrets are never requested, not even their metadata.
* **Permissions first.** Before listing, a SelfSubjectAccessReview per kind says whether the
  collector may list it; a kind it may not read (denied, or 403 when listed) becomes a *gap* in the
  snapshot, and every control that needs it is unknown with that reason - never passed.
* **Pagination.** Lists are chunked (``limit`` / ``continue``); an expired continue token (410 Gone)
  restarts that kind's list from the beginning, a bounded number of times.
* **Bounded retries.** 429 and 5xx answers, timeouts and connection errors are retried with
  exponential backoff (honouring ``Retry-After``), a bounded number of times; then the kind is a gap.
* **Timeouts** on every request (connect, read) and a deadline for a whole answer, so a body that
  trickles in slower than the read timeout ever notices still ends (then it is retried like a timeout).
* **Partial lists are kept and marked.** A kind whose list fails after some pages (retries exhausted,
  a malformed page, a continue token the server repeats, too many pages) keeps the objects already
  read, with the status ``partial``: those objects are checked, and the kind is a gap, so whatever
  depends on the list being complete (absence, joins) is unknown.
* **A rejected credential stops the collection** (HTTP 401: every further request would fail the same
  way): the kinds read so far are kept, and each kind not read is a gap that says why.
* **Flat memory.** Each page is parsed as raw JSON (``_preload_content=False``: camelCase, as kubectl
  shows it, and no client model objects), its items are written to a spool file at once, and the page
  is dropped. The snapshot is assembled from the spools at the end.
* **The kubelet's configuration, opt-in.** When the identity may ``get`` the ``nodes/proxy`` subresource
  (deploy/scanner-rbac-kubelet-config.yaml: a separate ClusterRole, since CIS 4.1.9 asks to minimise that
  permission), each node's running kubelet configuration is read from ``/api/v1/nodes/{name}/proxy/configz``
  and kept as one ``KubeletConfigz`` record per node (k8s/kubelet.py). Without the permission it is a gap:
  the kubelet controls say unknown with that reason. A node that went away (404) or answers too slowly is
  listed with its reason; the other nodes are read.
* **Evidence.** The snapshot records the server URL and version, the collection time, the identity
  the collector authenticated as (SelfSubjectReview), each list's outcome and resourceVersion, and the
  permission gaps. ``metadata.managedFields``, the ``last-applied-configuration`` annotation and node
  image lists are dropped (bulk without evidential value; the last-applied copy duplicates the spec).

One kind that fails costs nothing else: the other kinds are still collected.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from ..version import __version__
from . import kinds as K
from ..redaction import redact_text, scrub
from ..wording import json_type, not_objects
from .kubelet import redact_configz
from .sensitive import redact_env
from .snapshot import write_snapshot

if TYPE_CHECKING:
    from .source import K8sOptions

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
REDACTIONS = ["metadata.managedFields", f"metadata.annotations[{LAST_APPLIED}]", "Node status.images",
              "credential-looking literal env values in pod specs (replaced by a marker AKS-123 recognises)",
              "kubelet configuration staticPodURLHeader values (HTTP headers may carry credentials)"]


class CollectError(Exception):
    """The cluster cannot be read at all (bad kubeconfig, unreachable API server)."""

    def __init__(self, message: str, where: str = "kubernetes") -> None:
        super().__init__(message)
        self.where = where


@dataclass
class CollectOptions:
    page_size: int = 500
    timeout: tuple[float, float] = (5.0, 30.0)  # connect, read (seconds)
    retries: int = 4  # further attempts after the first, for 429/5xx/timeouts/connection errors
    backoff: float = 0.5  # first delay; doubled per retry
    max_backoff: float = 8.0
    restarts: int = 3  # restarts of one kind's list after 410 Gone
    deadline: float = 120.0  # seconds for one whole answer (headers and body), whatever the read timeout
    # bytes of one answer: a page of page_size objects is a few MB; a server (or a proxy) sending without end
    # must not fill the memory before the deadline says so
    max_response_bytes: int = 256 * 1024 * 1024
    max_pages: int = 100_000  # pages of one list (50 million objects at the default page size)
    kinds: tuple[K.KindSpec, ...] = K.COLLECTED
    kubelet_config: bool = True  # read each node's configz where nodes/proxy get is permitted
    configz_retries: int = 1  # further attempts per node: a slow node must not hold the collection for long


PROGRESS_PAGES = 20  # a progress line every this many pages of one list


class _Gone(Exception):
    pass


class _Failed(Exception):
    """A request that will not succeed (forbidden, not found, retries exhausted)."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        reason = redact_text(reason)  # the server's words may quote a credential (a webhook's token, a header)
        super().__init__(reason)
        self.reason = reason
        self.status = status


class _Partial(Exception):
    """A list that failed after some pages: what was read stays in the spool."""

    def __init__(self, reason: str, count: int, pages: int, status: int | None = None,
                 resource_version: str | None = None) -> None:
        reason = redact_text(reason)
        super().__init__(reason)
        self.reason = reason
        self.count = count
        self.pages = pages
        self.status = status
        self.resource_version = resource_version


class _DeadlineExceeded(Exception):
    pass


@dataclass
class _Stats:
    requests: int = 0
    retries: int = 0
    notes: list[str] = field(default_factory=list)


def _status_message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, (bytes, bytearray)):
        body = body.decode("utf-8", "replace")
    try:
        msg = json.loads(body).get("message") if body else None
    except (ValueError, AttributeError):
        msg = None
    reason = getattr(exc, "reason", None) or ""
    if not isinstance(msg, str):
        msg = None
    # the message is the server's (or a webhook's, or a proxy's): it may quote a token or a URL's signature
    return redact_text(f"HTTP {exc.status} {reason}".strip() + (f": {msg[:500]}" if msg else ""))


def _retry_after(exc: Any) -> float | None:
    headers = getattr(exc, "headers", None) or {}
    try:
        value = headers.get("Retry-After") or headers.get("retry-after")
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


class Collector:
    def __init__(self, api_client: Any, options: CollectOptions | None = None,
                 sleep: Callable[[float], None] = time.sleep, out: Callable[[str], None] | None = None) -> None:
        import kubernetes.client as kc  # the client is needed only here, for a live cluster
        import urllib3

        self.kc = kc
        self.urllib3 = urllib3
        self.api = api_client
        self.opts = options or CollectOptions()
        self.sleep = sleep
        self.out = out or (lambda _line: None)  # progress: a line per kind, and every PROGRESS_PAGES pages of one
        self.stats = _Stats()
        self._discovered: dict[str, Any] = {}  # group/version -> APIResourceList, None (not served) or why it failed

    # -- one request, with bounded retries ------------------------------------------------------------
    def call(self, fn: Callable[[], Any], what: str, retries: int | None = None) -> bytes:
        retries = self.opts.retries if retries is None else retries
        attempt = 0
        while True:
            self.stats.requests += 1
            delay_hint = None
            try:
                started = time.monotonic()
                resp = fn()
                try:
                    return self._body(resp, started)
                finally:
                    resp.release_conn()
            except self.kc.ApiException as exc:
                status = exc.status or 0
                if status == 410:
                    raise _Gone(_status_message(exc)) from None
                if status == 429 or 500 <= status < 600:
                    last = _status_message(exc)
                    delay_hint = _retry_after(exc)
                elif status == 0:  # the client's wrapper for TLS errors
                    last = f"connection error: {exc.reason}"
                else:
                    raise _Failed(_status_message(exc), status) from None
            except _DeadlineExceeded:
                last = f"the answer did not arrive within the {self.opts.deadline:g} s deadline (a body trickling in)"
            except self.urllib3.exceptions.HTTPError as exc:
                timed_out = isinstance(exc, self.urllib3.exceptions.TimeoutError) or "timed out" in str(exc).lower()
                last = (f"no answer within the {self.opts.timeout[1]:g} s read timeout" if timed_out
                        else f"connection error: {_connection_error(exc)}")
            except (ValueError, TypeError) as exc:
                # the client could not build the request: http.client refuses a header value with a line break
                # ("Invalid header value b'Bearer <the token>\n'": the message quotes the credential, so never it)
                if "header" in str(exc).lower():
                    raise _Failed("the request could not be sent: an HTTP header the client built from the "
                                  "kubeconfig is invalid (a credential with a line break or a control character?)"
                                  ) from None
                raise _Failed(f"the request could not be sent ({type(exc).__name__})") from None
            if attempt >= retries:
                raise _Failed(f"{last} (gave up after {attempt + 1} attempts)")
            delay = min(self.opts.max_backoff, self.opts.backoff * (2 ** attempt))
            if delay_hint is not None:
                delay = min(self.opts.max_backoff, max(delay, delay_hint))
            self.stats.retries += 1
            self.stats.notes.append(f"{what}: {last}; retry {attempt + 1} in {delay:g} s")
            self.sleep(delay)
            attempt += 1

    def _body(self, resp: Any, started: float) -> bytes:
        """The whole body, read as it arrives (``read1``) so the deadline is checked between pieces: the
        read timeout alone bounds each socket read, not a body sent a byte at a time."""
        deadline = started + self.opts.deadline
        chunks: list[bytes] = []
        size = 0
        read = getattr(resp, "read1", None) or (lambda n: resp.read(min(n, 8192)))  # urllib3 1.x has no read1
        while True:
            if time.monotonic() > deadline:
                resp.close()  # drop the connection: it is still sending
                raise _DeadlineExceeded()
            chunk = read(1 << 16)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > self.opts.max_response_bytes:  # not retried: the same answer would come again
                resp.close()
                raise _Failed(f"the answer is larger than {self.opts.max_response_bytes:,} bytes and was not read "
                              f"(a page asks for at most {self.opts.page_size} objects; a proxy or server sending "
                              f"without end?)")
            chunks.append(chunk)

    def _json(self, fn: Callable[[], Any], what: str, retries: int | None = None) -> dict[str, Any]:
        data = self.call(fn, what, retries)
        try:
            out = json.loads(data)
        except (ValueError, RecursionError):
            start = data[:60].decode("utf-8", "replace").strip()
            raise _Failed(f"{what}: the answer is not JSON ({len(data)} bytes starting {start!r}); a proxy "
                          "or gateway may be in the way") from None
        if not isinstance(out, dict):  # every answer the collector asks for is an object
            raise _Failed(f"{what}: the answer is {json_type(out)}, not the JSON object the API returns")
        if out.get("kind") == "Status" and out.get("status") == "Failure":  # an error in a 2xx answer
            raise _Failed(f"{what}: the answer is a failure Status: {str(out.get('message') or out.get('reason'))[:300]}")
        return out

    # -- cluster facts ----------------------------------------------------------------------------------
    def version(self) -> dict[str, Any]:
        api = self.kc.VersionApi(self.api)
        return self._json(lambda: api.get_code(_preload_content=False, _request_timeout=self.opts.timeout), "version")

    def identity(self) -> tuple[dict[str, Any] | None, str | None]:
        api = self.kc.AuthenticationV1Api(self.api)
        try:
            review = self._json(lambda: api.create_self_subject_review(
                body=self.kc.V1SelfSubjectReview(), _preload_content=False, _request_timeout=self.opts.timeout),
                "selfsubjectreview")
        except _Failed as exc:
            return None, f"SelfSubjectReview failed: {exc.reason}"
        info = (review.get("status") or {}).get("userInfo") or {}
        return {"username": info.get("username"), "groups": info.get("groups") or []}, None

    def may_list(self, spec: K.KindSpec) -> tuple[bool | None, str]:
        """(allowed, reason) from a SelfSubjectAccessReview; allowed None when the review itself failed."""
        return self.may("list", spec.group, spec.plural)

    def may(self, verb: str, group: str, resource: str, subresource: str | None = None) -> tuple[bool | None, str]:
        api = self.kc.AuthorizationV1Api(self.api)
        body = self.kc.V1SelfSubjectAccessReview(spec=self.kc.V1SelfSubjectAccessReviewSpec(
            resource_attributes=self.kc.V1ResourceAttributes(verb=verb, group=group, resource=resource,
                                                             subresource=subresource)))
        what = f"{resource}/{subresource}" if subresource else resource
        try:
            review = self._json(lambda: api.create_self_subject_access_review(
                body=body, _preload_content=False, _request_timeout=self.opts.timeout), f"access review {what}")
        except _Failed as exc:
            return None, f"SelfSubjectAccessReview failed: {exc.reason}"
        status = review.get("status") or {}
        full = f"{what}.{group}" if group else what
        reason = status.get("reason") or ""
        if status.get("allowed") is True:
            return True, reason
        return False, f"not permitted to {verb} {full} (SelfSubjectAccessReview: allowed=false" + (
            f", {reason}" if reason else "") + ")"

    def discover(self, spec: K.KindSpec) -> tuple[bool | None, Any]:
        """For a custom kind: (True, namespaced) when its API group/version serves it, (False, why) when the
        cluster does not serve it (the CRD is not installed: no such objects can exist), (None, why) when API
        discovery failed. One discovery request per group/version."""
        gv = f"{spec.group}/{spec.version}"
        if gv not in self._discovered:
            api = self.kc.CustomObjectsApi(self.api)
            try:
                self._discovered[gv] = self._json(lambda: api.get_api_resources(
                    spec.group, spec.version, _preload_content=False, _request_timeout=self.opts.timeout),
                    f"discovery {gv}")
            except (_Failed, _Gone) as exc:
                status = getattr(exc, "status", None)
                self._discovered[gv] = getattr(exc, "reason", str(exc)) if status != 404 else None
        found = self._discovered[gv]
        if found is None:
            return False, f"the API server does not serve {gv} (the custom resource is not installed)"
        if isinstance(found, str):
            return None, f"API discovery of {gv} failed: {found}"
        # Only a well-formed APIResourceList can say a kind is not served: a garbled answer is a failed
        # discovery (a gap: the controls that need the kind are unknown), never "no such objects exist".
        resources = found.get("resources")
        if not isinstance(resources, list):
            return None, (f"API discovery of {gv} failed: the answer has no 'resources' list (an APIResourceList "
                          f"has one; got {json_type(resources)})")
        for r in resources:
            if isinstance(r, dict) and r.get("name") == spec.plural:
                if isinstance(r.get("namespaced"), bool):
                    return True, r["namespaced"]
                return None, (f"API discovery of {gv} failed: resource {spec.plural} has no boolean 'namespaced' "
                              f"(got {json_type(r.get('namespaced'))})")
        if any(not isinstance(r, dict) or not isinstance(r.get("name"), str) for r in resources):
            return None, f"API discovery of {gv} failed: its 'resources' list holds entries that are not resources"
        return False, f"{gv} is served but has no resource {spec.plural}"

    # -- one kind -----------------------------------------------------------------------------------------
    def _lister(self, spec: K.KindSpec) -> Callable[..., Any]:
        api = getattr(self.kc, spec.api)(self.api)
        method = getattr(api, spec.method)
        if spec.custom:
            return lambda **kw: method(spec.group, spec.version, spec.plural, **kw)
        return method

    def list_kind(self, spec: K.KindSpec, spool: Any) -> dict[str, Any]:
        method = self._lister(spec)
        restarts = 0
        retries_before = self.stats.retries
        while True:
            spool.seek(0)
            spool.truncate()
            token: str | None = None
            seen: set[str] = set()
            count = pages = 0
            unread: list[str] = []  # list items that are not objects: where, and what they were
            resource_version = None
            try:
                while True:
                    tok = token
                    try:
                        page = self._json(lambda: method(limit=self.opts.page_size, _continue=tok,
                                                         _preload_content=False, _request_timeout=self.opts.timeout),
                                          f"list {spec.plural}")
                        items = page.get("items", ())
                        if items is not None and not isinstance(items, list):  # null: Go's empty list
                            raise _Failed(f"list {spec.plural}: the answer has no 'items' list (got "
                                          f"{json_type(items) if items != () else 'none'}); a proxy or gateway may "
                                          "be in the way")
                    except _Failed as exc:
                        if pages:
                            raise _Partial(exc.reason, count, pages, exc.status, resource_version) from None
                        raise
                    pages += 1
                    for n, item in enumerate(items or ()):
                        if isinstance(item, dict):
                            spool.write(json.dumps(_normalise(item, spec), ensure_ascii=False, separators=(",", ":")))
                            spool.write("\n")
                            count += 1
                        else:  # nothing to judge, but not nothing: the list is incomplete (said below)
                            unread.append(f"page {pages} item {n + 1}: {json_type(item)}")
                    meta = page.get("metadata") if isinstance(page.get("metadata"), dict) else {}
                    resource_version = resource_version or meta.get("resourceVersion")
                    token = meta.get("continue") or None
                    del page
                    if not token:
                        break
                    if not isinstance(token, str) or token in seen:
                        # following it again would read the same pages forever
                        raise _Partial("the API server repeated a continue token (a pagination loop); stopped "
                                       "following it", count, pages, None, resource_version)
                    seen.add(token)
                    if not pages % PROGRESS_PAGES:  # a large list is visibly alive
                        self.out(f"  listing {spec.plural}: {count:,} objects so far ({pages:,} pages)")
                    if pages >= self.opts.max_pages:
                        raise _Partial(f"more than {self.opts.max_pages:,} pages; the list was cut", count, pages,
                                       None, resource_version)
            except _Gone as exc:
                restarts += 1
                self.stats.notes.append(f"list {spec.plural}: continue token expired ({exc}); restarting the list")
                if restarts > self.opts.restarts:
                    reason = f"continue token expired {restarts} times (410 Gone); gave up"
                    if pages:  # the last attempt's pages are kept
                        raise _Partial(reason, count, pages, 410, resource_version) from None
                    return {"status": "failed", "reason": reason, "restarts": restarts}
                continue
            if unread:
                raise _Partial(not_objects(unread), count, pages, None, resource_version)
            return {"status": "complete", "count": count, "pages": pages, "resourceVersion": resource_version,
                    "restarts": restarts, "retries": self.stats.retries - retries_before,
                    "apiVersion": spec.api_version, "resource": spec.plural}

    # -- each node's kubelet configuration (opt-in through RBAC) -------------------------------------------
    def kubelet_configs(self, nodes: list[str], spool: Any) -> dict[str, Any]:
        """Read ``/api/v1/nodes/{name}/proxy/configz`` of each node into ``spool``; the list record for the meta."""
        record: dict[str, Any] = {"resource": "nodes/proxy", "path": K.KUBELET_CONFIGZ_PATH,
                                  "apiVersion": K.KUBELET_CONFIGZ_API}
        allowed, why = self.may("get", "", "nodes", "proxy")
        if allowed is False:
            return {**record, "status": "forbidden", "reason": why + "; grant it with the opt-in ClusterRole in "
                    "deploy/scanner-rbac-kubelet-config.yaml (CIS 4.1.9 asks to minimise nodes/proxy access)"}
        if allowed is None:
            record["access_review"] = why
        api = self.kc.CoreV1Api(self.api)
        failed: dict[str, str] = {}
        count = 0
        for done, name in enumerate(nodes):
            if done and not done % PROGRESS_PAGES:
                self.out(f"  kubelet configuration: {done:,} of {len(nodes):,} nodes read")
            try:
                answer = self._json(lambda n=name: api.connect_get_node_proxy_with_path(
                    n, "configz", _preload_content=False, _request_timeout=self.opts.timeout),
                    f"configz of node {name}", retries=self.opts.configz_retries)
            except (_Failed, _Gone) as exc:
                status = getattr(exc, "status", None)
                reason = getattr(exc, "reason", str(exc))
                if status in (401, 403):  # the same answer for every node: the permission is missing
                    return {**record, "status": "forbidden" if status == 403 else "unauthorized",
                            "reason": f"reading node {name}'s configz: {reason}", "count": 0}
                failed[name] = (f"the node is gone ({reason}): it was listed, then removed before its "
                                "configuration was read" if status == 404 else reason)
                continue
            config = answer.get("kubeletconfig")
            if not isinstance(config, dict):
                failed[name] = "the configz answer has no 'kubeletconfig' object"
                continue
            item = {"apiVersion": K.KUBELET_CONFIGZ_API, "kind": K.KUBELET_CONFIGZ, "metadata": {"name": name},
                    "source": K.KUBELET_CONFIGZ_PATH.format(name=name), "kubeletconfig": redact_configz(config)}
            spool.write(json.dumps(item, ensure_ascii=False, separators=(",", ":")) + "\n")
            count += 1
        record.update(count=count, nodes=len(nodes))
        if failed:
            record.update(status="partial" if count else "failed", failed_nodes=failed,
                          reason=f"{len(failed)} of {len(nodes)} node(s) not read")
        else:
            record["status"] = "complete"
        return record

    def _stop_reason(self, spec: K.KindSpec, reason: str) -> str:
        self.stats.notes.append(f"list {spec.plural}: {reason}; the collection stopped (credentials rejected)")
        return (f"the API server rejected the credentials while listing {spec.plural} ({reason}); the collection "
                "stopped there: renew the credentials (kubeconfig token, az login) and collect again")

    def _configz(self, lists: dict[str, Any], gaps: list[dict[str, Any]], spools: list[tuple[Any, Any]],
                 out: Path, stopped: str | None) -> None:
        """The kubelet configurations of the nodes listed: a spool of records, a list record, a gap when none."""
        kind = K.KUBELET_CONFIGZ
        node_spool = next((sp for spec, sp in spools if spec.kind == "Node"), None)
        if stopped:
            record: dict[str, Any] = {"status": "not-read", "reason": f"not read: {stopped}"}
        elif node_spool is None:
            why = (lists.get("Node") or {}).get("reason") or "nodes were not listed"
            record = {"status": "not-read", "reason": f"not read: the nodes could not be listed ({why})"}
        else:
            spool = tempfile.TemporaryFile("w+", encoding="utf-8", dir=out.parent, prefix=".k8s-spool-")
            record = self.kubelet_configs(_node_names(node_spool), spool)
            spools.append((K.KindSpec(kind, "configz", K.KUBELET_CONFIGZ_GROUP, "v1", False, "CoreV1Api",
                                      "connect_get_node_proxy_with_path", "kubelet configuration", custom=True), spool))
        record.setdefault("resource", "nodes/proxy")
        lists[kind] = record
        if record["status"] not in ("complete", "partial"):
            gaps.append({"kind": kind, "resource": "nodes/proxy", "reason": record["reason"]})

    # -- everything ---------------------------------------------------------------------------------------
    def collect(self, out: Path, scope: str, info: dict[str, Any]) -> dict[str, Any]:
        started = dt.datetime.now(dt.timezone.utc)
        try:
            version = self.version()
        except (_Failed, _Gone) as exc:
            raise CollectError(f"cannot read the API server's version at {info.get('server')}: {exc}",
                               info.get("context") or "kubernetes") from None
        identity, identity_error = self.identity()
        lists: dict[str, Any] = {}
        gaps: list[dict[str, Any]] = []
        spools: list[tuple[K.KindSpec, Any]] = []
        out.parent.mkdir(parents=True, exist_ok=True)
        try:
            stopped: str | None = None  # why the collection stopped early (a rejected credential)
            for spec in self.opts.kinds:
                if stopped:
                    reason = f"not read: {stopped}"
                    gaps.append({"kind": spec.kind, "resource": spec.plural, "reason": reason})
                    lists[spec.kind] = {"status": "not-read", "reason": reason, "resource": spec.plural}
                    continue
                namespaced: bool | None = None
                if spec.custom:
                    served, found = self.discover(spec)
                    if served is False:
                        lists[spec.kind] = {"status": "not-served", "reason": found, "resource": spec.plural,
                                            "apiVersion": spec.api_version}
                        continue
                    if served is None:
                        gaps.append({"kind": spec.kind, "resource": spec.plural, "reason": found})
                        lists[spec.kind] = {"status": "failed", "reason": found, "resource": spec.plural}
                        continue
                    namespaced = found
                allowed, why = self.may_list(spec)
                if allowed is False:
                    gaps.append({"kind": spec.kind, "resource": spec.plural, "reason": why})
                    lists[spec.kind] = {"status": "forbidden", "reason": why, "resource": spec.plural}
                    continue
                spool = tempfile.TemporaryFile("w+", encoding="utf-8", dir=out.parent, prefix=".k8s-spool-")
                try:
                    result = self.list_kind(spec, spool)
                except _Partial as exc:
                    # the objects already read are kept and checked; the kind is a gap (not complete)
                    reason = (f"{exc.reason}; the list is incomplete: {exc.count} object(s) from {exc.pages} "
                              "page(s) were read and are checked, the rest were not read")
                    gaps.append({"kind": spec.kind, "resource": spec.plural, "reason": reason, "partial": True})
                    lists[spec.kind] = {"status": "partial", "reason": reason, "count": exc.count,
                                        "pages": exc.pages, "resourceVersion": exc.resource_version,
                                        "apiVersion": spec.api_version, "resource": spec.plural}
                    spools.append((spec, spool))
                    if exc.status == 401:
                        stopped = self._stop_reason(spec, exc.reason)
                    continue
                except _Failed as exc:
                    spool.close()
                    status = {401: "unauthorized", 403: "forbidden", 404: "not-served"}.get(exc.status or 0, "failed")
                    reason = exc.reason + (f" ({why})" if allowed is None and why else "")
                    if exc.status == 404:
                        reason += f"; {spec.api_version} {spec.plural} is not served by this API server"
                    gaps.append({"kind": spec.kind, "resource": spec.plural, "reason": reason})
                    lists[spec.kind] = {"status": status, "reason": reason, "resource": spec.plural}
                    if exc.status == 401:
                        stopped = self._stop_reason(spec, exc.reason)
                    continue
                if result["status"] != "complete":
                    spool.close()
                    gaps.append({"kind": spec.kind, "resource": spec.plural, "reason": result["reason"]})
                    lists[spec.kind] = dict(result, resource=spec.plural)
                    continue
                if allowed is None:
                    result["access_review"] = why
                if namespaced is not None:
                    result["namespaced"] = namespaced  # from API discovery
                lists[spec.kind] = result
                spools.append((spec, spool))
                self.out(f"  {spec.kind}: {result['count']:,} objects ({result['pages']:,} page(s))")
            if self.opts.kubelet_config:
                self._configz(lists, gaps, spools, out, stopped)
            finished = dt.datetime.now(dt.timezone.utc)
            meta = {
                "scope": scope,
                "cluster": {"server": info.get("server"), "version": version},
                "collected": {"started": started.isoformat(timespec="seconds"),
                              "finished": finished.isoformat(timespec="seconds")},
                "collector": {"tool": "aks-compliance", "version": __version__, "context": info.get("context"),
                              "kubeconfig_user": info.get("user"), "identity": identity,
                              "identity_error": identity_error,
                              "options": {"page_size": self.opts.page_size, "timeout": list(self.opts.timeout),
                                          "retries": self.opts.retries, "restarts": self.opts.restarts}},
                "lists": lists, "gaps": gaps, "redactions": REDACTIONS,
                "requests": self.stats.requests, "retries": self.stats.retries, "notes": self.stats.notes[-50:],
            }
            meta = scrub(meta)  # reasons quote servers and plugins: no credential reaches the file
            write_snapshot(out, meta, _spooled(spools))  # atomic: a failed collection leaves no half file
            return meta
        finally:
            for _, spool in spools:
                spool.close()


def _node_names(spool: Any) -> list[str]:
    spool.seek(0)
    names = []
    for line in spool:
        try:
            name = (json.loads(line).get("metadata") or {}).get("name")
        except ValueError:
            continue
        if isinstance(name, str) and name:
            names.append(name)
    return names


def _connection_error(exc: Exception) -> str:
    """What went wrong with a connection, in words (urllib3 wraps the socket error)."""
    text = str(exc)
    for marker, words in (("Connection reset", "the connection was reset"),
                          ("Connection aborted", "the connection was closed mid-answer"),
                          ("IncompleteRead", "the connection closed before the whole answer arrived"),
                          ("Connection broken", "the connection broke mid-answer"),
                          ("Connection refused", "connection refused"),
                          ("RemoteDisconnected", "the server closed the connection without an answer")):
        if marker in text:
            return f"{words} ({type(exc).__name__})"
    return type(exc).__name__


def _spooled(spools: list[tuple[K.KindSpec, Any]]) -> Iterator[str]:
    for _, spool in spools:
        spool.seek(0)
        for line in spool:
            line = line.rstrip("\n")
            if line:
                yield line


def _normalise(item: dict[str, Any], spec: K.KindSpec) -> dict[str, Any]:
    """List items lack kind/apiVersion; bulky fields without evidential value are dropped."""
    out = {"apiVersion": item.get("apiVersion") or spec.api_version, "kind": item.get("kind") or spec.kind}
    out.update((k, v) for k, v in item.items() if k not in ("apiVersion", "kind"))
    meta = out.get("metadata")
    if isinstance(meta, dict):
        meta.pop("managedFields", None)
        ann = meta.get("annotations")
        if isinstance(ann, dict):
            ann.pop(LAST_APPLIED, None)
    if spec.kind == "Node" and isinstance(out.get("status"), dict):
        out["status"].pop("images", None)
    if spec.kind in K.POD_PATHS:
        pod_spec: Any = out
        for key in K.POD_PATHS[spec.kind][0]:
            pod_spec = pod_spec.get(key) if isinstance(pod_spec, dict) else None
        redact_env(pod_spec)
    return scrub(out)  # credential shapes anywhere (an annotation's webhook URL, a token in args)


# Seconds the kubeconfig's credential plugin (exec: kubelogin, az, aws...) has to answer when the configuration is
# loaded: the client waits for it without a limit, and a plugin waiting for an interactive login (a device code
# nobody enters in CI) held the scan forever
CREDENTIAL_TIMEOUT = 120.0


def make_api_client(kubeconfig: str | None = None, context: str | None = None,
                    in_cluster: bool = False,
                    credential_timeout: float = CREDENTIAL_TIMEOUT) -> tuple[Any, dict[str, Any]]:
    """An ApiClient for the chosen kubeconfig/context (or the pod's service account) and what it is."""
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    cfg = client.Configuration()
    where = "in-cluster" if in_cluster else (context or kubeconfig or "kubeconfig")
    try:
        if in_cluster:
            config.load_incluster_config(client_configuration=cfg)
            info = {"context": "in-cluster", "user": "(pod service account)"}
        else:
            _check_kubeconfig_files(kubeconfig, where)
            contexts, current = config.list_kube_config_contexts(config_file=kubeconfig)
            chosen = next((c for c in contexts if c.get("name") == context), None) if context else current
            if context and chosen is None:
                raise CollectError(f"context {context!r} is not in the kubeconfig "
                                   f"({', '.join(c.get('name', '?') for c in contexts)})", where)
            with _client_config_errors() as config_errors:
                _within(credential_timeout, lambda: config.load_kube_config(
                    config_file=kubeconfig, context=context, client_configuration=cfg, persist_config=False),
                    f"the kubeconfig user's credential plugin (exec) did not answer within {credential_timeout:g} s "
                    f"(waiting for an interactive login? log in first, or use a non-interactive login such as "
                    f"kubelogin convert-kubeconfig -l azurecli, workloadidentity or spn)", where)
            if config_errors and not cfg.api_key and not cfg.cert_file:
                # the client logs a failed exec credential plugin and carries on without a credential (every
                # request is then a bare 401): say what failed, in the plugin's words, redacted
                raise CollectError("cannot load the Kubernetes configuration: the kubeconfig user's credential "
                                   f"plugin failed: {redact_text(config_errors[0])[:500]}", where)
            info = {"context": (chosen or {}).get("name"), "user": ((chosen or {}).get("context") or {}).get("user")}
    except (ConfigException, OSError, TypeError, ValueError) as exc:
        raise CollectError(f"cannot load the Kubernetes configuration: {_config_problem(str(exc))}", where) from None
    _trim_tokens(cfg)
    cfg.retries = False  # retries are ours: bounded, with backoff, per status
    info["server"] = cfg.host
    return client.ApiClient(cfg), info


def _within(seconds: float, fn: Callable[[], Any], message: str, where: str) -> Any:
    """``fn()``, or a CollectError with ``message`` when it has not returned after ``seconds`` (it runs on in a
    daemon thread that the process leaves behind: the client offers no way to stop its plugin)."""
    import threading

    box: dict[str, Any] = {}
    done = threading.Event()

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc
        finally:
            done.set()
    threading.Thread(target=run, name="aksc-kubeconfig", daemon=True).start()
    if not done.wait(seconds):
        raise CollectError(message, where)
    if "error" in box:
        raise box["error"]
    return box.get("value")


def _config_problem(text: str) -> str:
    """The client's configuration error in the kubeconfig's terms ("Invalid kube-config file. Expected object with
    name ghost in FILE/contexts list" names a context, cluster or user that the kubeconfig does not define)."""
    m = re.search(r"Expected object with name (.*) in (.*)/(contexts|clusters|users) list", text)
    if not m:
        return redact_text(text)
    name, file, section = m.groups()
    what = {"contexts": "context", "clusters": "cluster", "users": "user"}[section]
    if not name:
        return f"{file} names no context to use (no current-context): give --kube-context NAME"
    fix = "give --kube-context NAME with a context it defines" if what == "context" else \
        f"add the {what} or point the context at one that exists"
    return f"{file} has no {what} named {name!r} (referred to by its current-context or a context): {fix}"


def _trim_tokens(cfg: Any) -> None:
    """Bearer tokens without surrounding whitespace, as client-go trims a ``tokenFile``: the Python client
    sends the file as it is, and a token file ending in a newline (``echo $TOKEN > file``) makes every request
    fail in http.client with the token in the message. The client re-reads its credential before each request
    (its refresh hook resets ``api_key``), so the key is trimmed where it is read."""
    read = cfg.get_api_key_with_prefix

    def trimmed(identifier: str, alias: str | None = None) -> str | None:
        key = read(identifier, alias)
        return key.strip() or None if isinstance(key, str) else key
    cfg.get_api_key_with_prefix = trimmed


@contextmanager
def _client_config_errors() -> Iterator[list[str]]:
    """What the ``kubernetes`` client's configuration loader logs as errors while loading (a failed exec
    credential plugin: its exit status and stderr). It logs them on the root logger, which would configure
    logging for the whole process and print the plugin's words unredacted: held back and handed to the caller."""
    import logging

    messages: list[str] = []

    def keep(record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR and "kubernetes" in record.pathname.replace("\\", "/").split("/"):
            messages.append(record.getMessage())
            return False
        return True
    root = logging.getLogger()
    sink = logging.NullHandler()  # a root with a handler: logging.error() does not call basicConfig
    root.addFilter(keep)
    root.addHandler(sink)
    try:
        yield messages
    finally:
        root.removeHandler(sink)
        root.removeFilter(keep)


def _check_kubeconfig_files(kubeconfig: str | None, where: str) -> None:
    """The files the client would read (``--kubeconfig``, else each of $KUBECONFIG, else ~/.kube/config) read
    first as our own inputs are: a FIFO would block the client's open forever, ``/dev/zero`` would fill memory
    and an alias bomb would expand in its YAML loader. A problem is a collection error naming the file."""
    from ..errors import InputError
    from ..inputfiles import read_input
    from ..yaml_input import read_yaml

    if kubeconfig:
        paths = [kubeconfig]
    elif os.environ.get("KUBECONFIG"):
        paths = [p for p in os.environ["KUBECONFIG"].split(os.pathsep) if p]
    else:
        paths = [os.path.expanduser("~/.kube/config")]
    for path in paths:
        if not os.path.lexists(path):
            continue  # the client names a missing file itself
        try:
            data, _ = read_yaml(path, "the kubeconfig", line_depth=1)
            for ref in _referenced_files(data, os.path.dirname(os.path.abspath(path))):
                read_input(ref, MAX_CREDENTIAL_FILE, "a file the kubeconfig refers to")
        except InputError as exc:
            raise CollectError(f"cannot load the Kubernetes configuration: {exc}", where) from None


MAX_CREDENTIAL_FILE = 4 * 1024 * 1024  # a token, certificate or key file; the client reads them whole
_FILE_KEYS = {"users": ("tokenFile", "client-certificate", "client-key"), "clusters": ("certificate-authority",)}


def _referenced_files(data: Any, base: str) -> Iterator[str]:
    """The files a kubeconfig's users and clusters name (relative to the kubeconfig, as the client resolves
    them): the client opens them itself, so a FIFO there would block it forever and /dev/zero fill memory."""
    if not isinstance(data, dict):
        return
    for section, keys in _FILE_KEYS.items():
        for entry in data.get(section) or []:
            body = entry.get(section[:-1]) if isinstance(entry, dict) else None
            for key in keys if isinstance(body, dict) else ():
                ref = body.get(key)
                if isinstance(ref, str) and ref:
                    ref = os.path.join(base, os.path.expanduser(ref))
                    if os.path.lexists(ref):  # a missing file: the client names it
                        yield ref


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "cluster"


def collect_snapshot(out: str | Path, *, kubeconfig: str | None = None, context: str | None = None,
                     in_cluster: bool = False, options: CollectOptions | None = None,
                     sleep: Callable[[float], None] = time.sleep,
                     progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    api, info = make_api_client(kubeconfig, context, in_cluster)
    try:
        scope = info.get("context") or _safe(str(info.get("server")))
        if progress is not None:
            progress(f"reading {scope} ({info.get('server')})")
        return Collector(api, options, sleep, progress).collect(Path(out), scope, info)
    finally:
        api.close()


def default_snapshot_path(directory: str | Path, context: str | None, started: dt.datetime) -> Path:
    return Path(directory) / f"k8s-snapshot-{_safe(context or 'cluster')}-{started.strftime('%Y%m%dT%H%M%SZ')}.json.gz"


def snapshot_for_options(options: "K8sOptions", started: dt.datetime) -> Path:
    """Collect the live cluster the options name into ``options.snapshot_dir``; the snapshot's path."""
    name = "in-cluster" if options.in_cluster else options.context
    out = default_snapshot_path(options.snapshot_dir or "reports", name, started)
    collect_snapshot(out, kubeconfig=options.kubeconfig, context=options.context, in_cluster=options.in_cluster)
    return out.resolve()
