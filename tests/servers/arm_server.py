"""A small Azure Resource Manager REST server for tests, on 127.0.0.1, for the *real* Azure SDK clients.

Point a management client at it with ``base_url=server.url`` and either

* ``tls=True`` (a self-signed certificate made on the fly; give the client
  ``connection_verify=server.ca_file``, or set ``REQUESTS_CA_BUNDLE``) and a credential whose token
  the server accepts (``ArmServer(token="...")`` checks ``Authorization: Bearer <token>``), so the
  SDK's real bearer-token policy runs; or
* plain HTTP and ``authentication_policy=azure.core.pipeline.policies.SansIOHTTPPolicy()`` (the
  ARM bearer policy refuses to send a token over http; ecosystem-notes.md §4.4).

What it offers, all optional:

* a route table: ``server.route("GET", "/subscriptions/{sub}/resourcegroups", handler)``; patterns
  are matched case-insensitively on the path (``{name}`` is one segment, ``{name*}`` the rest);
  a handler gets the :class:`Request` and the captured names and returns a :class:`Reply`, a
  JSON-able body (200), or ``None`` (204);
* :class:`ResourceStore`, generic ARM resource CRUD for any ``.../providers/<Ns>/<type>/<name>`` path
  (PUT creates or updates, GET, DELETE, and list on the collection path with paging through
  ``nextLink``): ``server.serve_resources()``;
* fault injection per route: ``server.fault("PUT", pattern, 429, times=2, retry_after=0)``, with ARM
  error bodies; ``Fault.malformed`` answers a 200 whose body is not JSON; ``Fault.reset`` sends the
  headers and half the body, then resets the connection (TCP RST); ``Fault.chunk_delay=S`` sends the
  headers at once and then the body one byte every S seconds (a slow body); ``after=N`` lets the first N
  matching requests through;
* long-running operations: ``server.lro("POST", pattern, result)`` answers 202 with
  ``Azure-AsyncOperation`` and ``Location`` headers, reports InProgress ``polls`` times, then the
  final status and result (``result`` may be a callable of the request and the captured names,
  returning the result, or a :class:`Reply` sent at once instead of starting the operation);
* Azure Resource Graph: ``server.resource_graph()`` answers ``POST /providers/Microsoft.ResourceGraph/
  resources`` with rows (by default the store's resources of the type the query names) paged with
  ``$skipToken``;
* Azure Policy states: ``server.policy_states(states)`` answers the ``policyStates/{latest,default}/
  queryResults`` POSTs at subscription, resource group and management group scope, paged with
  ``@odata.nextLink`` (which the client POSTs again), with ``$filter`` (``eq`` joined by ``or``/``and``)
  and ``$select``;
* paging of any list: :func:`paged` splits items into pages linked by ``nextLink``;
* a log of every request (``server.requests``) for assertions.

Requests that match nothing get ARM's 404 body. The server stops with the context manager.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import socket
import ssl
import struct
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs, urlencode, urlsplit

__all__ = ["ArmServer", "Fault", "Reply", "Request", "ResourceStore", "arm_error", "make_self_signed_cert", "paged",
           "odata_filter"]


@dataclass
class Request:
    method: str
    path: str  # without the query
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: Any  # parsed JSON, or None
    raw: bytes = b""

    @property
    def api_version(self) -> str | None:
        return self.query.get("api-version")


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # JSON-able, or bytes/str sent as is
    headers: dict[str, str] = field(default_factory=dict)
    reset: bool = False  # headers and half the body, then a TCP reset
    chunk_delay: float | None = None  # the body one byte at a time, this many seconds apart


def arm_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Reply:
    """A reply in ARM's error format."""
    return Reply(status, {"error": {"code": code, "message": message}}, dict(headers or {}))


_DEFAULT_CODES = {
    400: ("InvalidRequestContent", "The request content was invalid."),
    401: ("InvalidAuthenticationToken", "The access token is invalid."),
    403: ("AuthorizationFailed", "The client does not have authorization to perform this action."),
    404: ("ResourceNotFound", "The resource was not found."),
    409: ("Conflict", "The request conflicts with the current state of the resource."),
    429: ("TooManyRequests", "Number of requests exceeded the limit. Try again later."),
    500: ("InternalServerError", "Encountered internal server error."),
    503: ("ServiceUnavailable", "The service is unavailable."),
}


@dataclass
class Fault:
    """An injected failure for requests matching ``method`` and ``pattern``."""

    method: str
    pattern: str
    status: int
    times: int | None = 1  # None: every matching request
    code: str | None = None
    message: str | None = None
    retry_after: float | None = None
    malformed: bool = False  # a 200 (or ``status``) whose body is not JSON
    after: int = 0  # let this many matching requests through first (e.g. fail the second page of a list)
    reset: bool = False  # answer ``status`` with a well-formed body, cut by a TCP reset halfway
    chunk_delay: float | None = None  # answer ``status`` with a body trickling in a byte at a time
    body: Any = None  # the body for reset / chunk_delay (default: an empty ARM list)
    hits: int = 0
    seen: int = 0

    def reply(self) -> Reply:
        headers = {}
        if self.retry_after is not None:
            headers["Retry-After"] = str(int(self.retry_after)) if float(self.retry_after).is_integer() \
                else str(self.retry_after)
        if self.status == 401:
            headers["WWW-Authenticate"] = ('Bearer authorization_uri="https://login.microsoftonline.com/common", '
                                           'error="invalid_token", error_description="The access token is invalid"')
        if self.reset or self.chunk_delay is not None:
            body = self.body if self.body is not None else {"value": []}
            return Reply(self.status, body, headers, reset=self.reset, chunk_delay=self.chunk_delay)
        if self.malformed:
            headers["Content-Type"] = "application/json"
            return Reply(self.status, b"<html><body>upstream proxy error</body></html>", headers)
        code, message = _DEFAULT_CODES.get(self.status, ("Error", "Injected failure."))
        return arm_error(self.status, self.code or code, self.message or message, headers)


def _compile(pattern: str) -> re.Pattern[str]:
    out = []
    for part in re.split(r"(\{[A-Za-z_][A-Za-z0-9_]*\*?\})", pattern.rstrip("/")):
        m = re.fullmatch(r"\{([A-Za-z_][A-Za-z0-9_]*)(\*?)\}", part)
        if m:
            out.append(f"(?P<{m.group(1)}>.+)" if m.group(2) else f"(?P<{m.group(1)}>[^/]+)")
        else:
            out.append(re.escape(part))
    return re.compile("^" + "".join(out) + "/?$", re.I)


def paged(request: Request, items: list[Any], page_size: int, base_url: str) -> dict[str, Any]:
    """One page of ``items`` (``$skiptoken`` is the offset) with a ``nextLink`` to the next, as ARM lists do."""
    start = int(request.query.get("$skiptoken", "0") or 0)
    page = {"value": items[start:start + page_size]}
    if start + page_size < len(items):
        query = {k: v for k, v in request.query.items() if k != "$skiptoken"}
        query["$skiptoken"] = str(start + page_size)
        page["nextLink"] = f"{base_url.rstrip('/')}{request.path}?{urlencode(query)}"
    return page


class ResourceStore:
    """Generic ARM resources by id (case-insensitive), as ARM GET returns them.

    ``on_put(resource_type, body)`` may decorate a stored body (e.g. add server-side metadata).
    ``put_status(resource_type, created)``: 201 on create, 200 on update, except types whose REST
    spec answers 201 to every PUT (policy definitions and assignments).
    """

    ALWAYS_201 = {"microsoft.authorization/policydefinitions", "microsoft.authorization/policyassignments"}

    def __init__(self, page_size: int = 100, on_put: Callable[[str, dict], None] | None = None) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.page_size = page_size
        self.on_put = on_put
        self._lock = threading.Lock()

    @staticmethod
    def type_of(resource_id: str) -> str | None:
        parts = resource_id.strip("/").split("/")
        low = [p.lower() for p in parts]
        if "providers" not in low:
            return None
        i = len(low) - 1 - low[::-1].index("providers")
        rest = parts[i + 1:]
        if len(rest) < 2:
            return None
        return "/".join([rest[0]] + rest[1::2])

    def put_status(self, resource_type: str, created: bool) -> int:
        return 201 if created or resource_type.lower() in self.ALWAYS_201 else 200

    def get(self, resource_id: str) -> dict[str, Any] | None:
        return self.items.get(resource_id.rstrip("/").lower())

    def put(self, resource_id: str, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        rid = resource_id.rstrip("/")
        rtype = self.type_of(rid) or ""
        now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc).isoformat()
        with self._lock:
            created = rid.lower() not in self.items
            stored = {**json.loads(json.dumps(body or {})), "id": rid, "name": rid.rsplit("/", 1)[1], "type": rtype}
            stored.setdefault("systemData", {"createdAt": now, "lastModifiedAt": now})
            if self.on_put is not None:
                self.on_put(rtype, stored)
            self.items[rid.lower()] = stored
        return stored, created

    def delete(self, resource_id: str) -> bool:
        with self._lock:
            return self.items.pop(resource_id.rstrip("/").lower(), None) is not None

    def children(self, collection: str) -> list[dict[str, Any]]:
        prefix = collection.rstrip("/").lower() + "/"
        return [v for k, v in sorted(self.items.items())
                if k.startswith(prefix) and "/" not in k[len(prefix):]]

    def in_group(self, subscription: str, group: str) -> list[dict[str, Any]]:
        """Top-level resources of a resource group (child resources such as agentPools are not listed)."""
        prefix = f"/subscriptions/{subscription}/resourcegroups/{group}/providers/".lower()
        out = []
        for k, v in sorted(self.items.items()):
            if k.startswith(prefix):
                rest = k[len(prefix):].split("/")
                if len(rest) == 3:
                    out.append(v)
        return out

    def handle(self, server: "ArmServer", request: Request) -> Reply | None:
        """ARM semantics for resource paths; None when the path is not one."""
        path = request.path.rstrip("/")
        group = _GROUP_RESOURCES.match(path)
        if group and request.method == "GET":  # GET .../resourceGroups/{g}/resources: the group's resources
            if request.api_version is None:
                return arm_error(400, "MissingApiVersionParameter", "The api-version query parameter is required.")
            return Reply(200, paged(request, self.in_group(group.group(1), group.group(2)), self.page_size,
                                    server.url))
        rtype = self.type_of(path)
        parts = path.strip("/").split("/")
        low = [p.lower() for p in parts]
        if "providers" not in low:
            return None
        i = len(low) - 1 - low[::-1].index("providers")
        is_item = len(parts[i + 1:]) >= 3 and len(parts[i + 1:]) % 2 == 1
        if request.api_version is None:
            return arm_error(400, "MissingApiVersionParameter", "The api-version query parameter is required.")
        if is_item:
            if request.method == "GET":
                found = self.get(path)
                if found is None:
                    return arm_error(404, "ResourceNotFound", f"The resource '{path}' was not found.")
                return Reply(200, found)
            if request.method == "PUT":
                if not isinstance(request.body, dict):
                    return arm_error(400, "InvalidRequestContent", "The request body must be a JSON object.")
                stored, created = self.put(path, request.body)
                return Reply(self.put_status(rtype or "", created), stored)
            if request.method == "DELETE":
                return Reply(200 if self.delete(path) else 204, None)
        elif request.method == "GET" and rtype:
            return Reply(200, paged(request, self.children(path), self.page_size, server.url))
        return None


_GROUP_RESOURCES = re.compile(r"^/subscriptions/([^/]+)/resourcegroups/([^/]+)/resources$", re.I)
_ODATA_CLAUSE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s+eq\s+'((?:[^']|'')*)'$", re.I)


def odata_filter(expression: str | None) -> Callable[[dict[str, Any]], bool]:
    """A predicate for the small OData subset ARM list filters use: ``name eq 'v'`` clauses joined by ``or``
    (and ``and``, which binds tighter); names and values compare case-insensitively. ValueError otherwise."""
    if not expression or not expression.strip():
        return lambda _item: True
    alternatives = []
    for alt in re.split(r"\s+or\s+", expression.strip(), flags=re.I):
        clauses = []
        for clause in re.split(r"\s+and\s+", alt.strip(), flags=re.I):
            m = _ODATA_CLAUSE.match(clause.strip().strip("()").strip())
            if not m:
                raise ValueError(f"unsupported $filter clause: {clause!r}")
            clauses.append((m.group(1).lower(), m.group(2).replace("''", "'").lower()))
        alternatives.append(clauses)

    def test(item: dict[str, Any]) -> bool:
        low = {k.lower(): v for k, v in item.items()}
        return any(all(str(low.get(k, "")).lower() == v for k, v in clauses) for clauses in alternatives)
    return test


@dataclass
class _Route:
    method: str
    pattern: str
    regex: re.Pattern[str]
    handler: Callable[..., Any]


class ArmServer:
    def __init__(self, *, tls: bool = False, token: str | None = None) -> None:
        self.tls = tls
        self.token = token
        self.routes: list[_Route] = []
        self.faults: list[Fault] = []
        self.requests: list[Request] = []
        self.store: ResourceStore | None = None
        self.ca_file: str | None = None
        self._lock = threading.Lock()
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lro_ids = itertools.count(1)

    # -- configuration --
    def route(self, method: str, pattern: str, handler: Callable[..., Any]) -> None:
        self.routes.append(_Route(method.upper(), pattern, _compile(pattern), handler))

    def fault(self, method: str, pattern: str, status: int, **kwargs: Any) -> Fault:
        f = Fault(method.upper(), pattern, status, **kwargs)
        with self._lock:
            self.faults.append(f)
        return f

    def serve_resources(self, store: ResourceStore | None = None) -> ResourceStore:
        self.store = store or ResourceStore()
        return self.store

    def lro(self, method: str, pattern: str, result: Any, *, polls: int = 1, final_status: str = "Succeeded",
            error: dict[str, Any] | None = None) -> None:
        """A long-running operation: 202, then ``polls`` x InProgress, then ``final_status`` and ``result``.

        ``result`` may be ``callable(request, **captured)``: it computes the result when the operation
        starts, or returns a :class:`Reply` to answer at once (a validation error such as a 409)."""
        def start(request: Request, **captured: str) -> Reply:
            value = result(request, **captured) if callable(result) else result
            if isinstance(value, Reply):
                return value
            op = str(next(self._lro_ids))
            state = {"left": polls}

            def status(_req: Request, **__: str) -> Reply:
                if state["left"] > 0:
                    state["left"] -= 1
                    return Reply(200, {"status": "InProgress"}, {"Retry-After": "0"})
                body: dict[str, Any] = {"status": final_status}
                if error is not None:
                    body["error"] = error
                return Reply(200, body)

            self.route("GET", f"/_operations/{op}", status)
            self.route("GET", f"/_operations/{op}/result", lambda _r, **__: Reply(200, value))
            return Reply(202, None, {"Azure-AsyncOperation": f"{self.url}_operations/{op}",
                                     "Location": f"{self.url}_operations/{op}/result", "Retry-After": "0"})
        self.route(method, pattern, start)

    def resource_graph(self, rows: list[dict[str, Any]] | Callable[[Request], list[dict[str, Any]]] | None = None, *,
                       management_groups: dict[str, list[str]] | None = None, max_page: int = 1000) -> None:
        """Azure Resource Graph's query API (``POST /providers/Microsoft.ResourceGraph/resources``).

        Rows are ``rows`` (or ``rows(request)``), else the store's resources whose type the query names
        (``type =~ '...'`` or ``type == '...'``), each with ARG's ``subscriptionId`` and ``resourceGroup``
        columns; they are limited to the request's ``subscriptions`` (or the subscriptions of its
        ``managementGroups``, per ``management_groups``; all when unknown), ordered by id, and paged: up to
        ``options.$top`` rows (default 100, at most ``max_page``) and an opaque ``$skipToken`` while more remain.
        """
        def query(request: Request, **_: str) -> Reply:
            body = request.body if isinstance(request.body, dict) else None
            if body is None or not isinstance(body.get("query"), str):
                return arm_error(400, "BadRequest", "Please provide a query.")
            options = body.get("options") or {}
            if callable(rows):
                data = list(rows(request))
            elif rows is not None:
                data = list(rows)
            else:
                m = re.search(r"\btype\s*(?:=~|==)\s*'([^']+)'", body["query"], re.I)
                wanted = m.group(1).lower() if m else None
                items = list(self.store.items.values()) if self.store is not None else []
                data = []
                for item in items:
                    if wanted is None or str(item.get("type", "")).lower() == wanted:
                        parts = str(item.get("id", "")).split("/")
                        data.append({**item, "subscriptionId": parts[2] if len(parts) > 2 else "",
                                     "resourceGroup": parts[4].lower() if len(parts) > 4 else ""})
            subs: set[str] | None = None
            if body.get("subscriptions"):
                subs = {s.lower() for s in body["subscriptions"]}
            if body.get("managementGroups") and management_groups is not None:
                subs = (subs or set()) | {s.lower() for mg in body["managementGroups"]
                                          for s in management_groups.get(mg, [])}
            if subs is not None:
                data = [r for r in data if str(r.get("id", "")).split("/")[2:3] and
                        str(r.get("id", "")).split("/")[2].lower() in subs]
            data.sort(key=lambda r: str(r.get("id", "")).lower())
            top = min(int(options.get("$top") or 100), max_page)
            token = options.get("$skipToken")
            try:
                start = int(bytes.fromhex(token).decode()) if token else 0
            except ValueError:
                return arm_error(400, "InvalidSkipToken", "The skip token is not valid.")
            page = data[start:start + top]
            reply: dict[str, Any] = {"totalRecords": len(data), "count": len(page), "data": page, "facets": [],
                                     "resultTruncated": "false"}
            if start + top < len(data):
                reply["$skipToken"] = str(start + top).encode().hex()
            return Reply(200, reply)
        self.route("POST", "/providers/Microsoft.ResourceGraph/resources", query)

    def policy_states(self, states: list[dict[str, Any]], *, page_size: int = 100,
                      management_groups: dict[str, list[str]] | None = None) -> None:
        """Azure Policy's compliance states (Microsoft.PolicyInsights, ``queryResults`` is a POST).

        Serves ``states`` (camelCase, as the REST API returns them) under subscription, resource group
        and management group scope (by ``resourceId`` prefix; a management group holds the subscriptions
        ``management_groups`` names, all when not given), with ``$filter`` and ``$select``, ``page_size``
        per page and an ``@odata.nextLink`` that the client POSTs again.
        """
        def serve(request: Request, scope_prefix: str | None, subs: set[str] | None) -> Reply:
            try:
                keep = odata_filter(request.query.get("$filter"))
            except ValueError as exc:
                return arm_error(400, "InvalidFilterInQueryString", str(exc))
            out = []
            for s in states:
                rid = str(s.get("resourceId", "")).lower()
                if scope_prefix is not None and not (rid == scope_prefix or rid.startswith(scope_prefix + "/")):
                    continue
                if subs is not None and rid.split("/")[2:3] and rid.split("/")[2] not in subs:
                    continue
                if keep(s):
                    out.append(s)
            select = request.query.get("$select")
            if select:
                wanted = {f.strip().lower() for f in select.split(",")}
                out = [{k: v for k, v in s.items() if k.lower() in wanted or k.startswith("@odata")} for s in out]
            start = int(request.query.get("$skiptoken", "0") or 0)
            page: dict[str, Any] = {"@odata.context": "https://management.azure.com/providers/"
                                                      "Microsoft.PolicyInsights/policyStates/$metadata#latest",
                                    "@odata.count": len(out[start:start + page_size]),
                                    "value": out[start:start + page_size]}
            if start + page_size < len(out):
                query = {k: v for k, v in request.query.items() if k != "$skiptoken"}
                query["$skiptoken"] = str(start + page_size)
                page["@odata.nextLink"] = f"{self.url.rstrip('/')}{request.path}?{urlencode(query)}"
            return Reply(200, page)

        tail = "/providers/Microsoft.PolicyInsights/policyStates/{resource}/queryResults"
        self.route("POST", "/subscriptions/{sub}/resourceGroups/{group}" + tail,
                   lambda r, sub, group, **_: serve(r, f"/subscriptions/{sub}/resourcegroups/{group}".lower(), None))
        self.route("POST", "/subscriptions/{sub}" + tail,
                   lambda r, sub, **_: serve(r, f"/subscriptions/{sub}".lower(), None))
        self.route("POST", "/providers/Microsoft.Management/managementGroups/{mg}" + tail,
                   lambda r, mg, **_: serve(r, None, None if management_groups is None else
                                            {s.lower() for s in management_groups.get(mg, [])}))

    # -- lifecycle --
    @property
    def url(self) -> str:
        assert self._httpd is not None, "the server is not started"
        host, port = self._httpd.server_address[:2]
        return f"{'https' if self.tls else 'http'}://{host}:{port}/"

    def start(self) -> "ArmServer":
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in separate writes: no 40 ms delayed-ACK stall

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def _serve(self) -> None:
                split = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except json.JSONDecodeError:
                    body = None
                request = Request(self.command, split.path, {k: v[-1] for k, v in parse_qs(split.query).items()},
                                  {k.lower(): v for k, v in self.headers.items()}, body, raw)
                reply = server.dispatch(request)
                self._send(reply)

            def _send(self, reply: Reply) -> None:
                headers = dict(reply.headers)
                if reply.body is None:
                    data = b""
                elif isinstance(reply.body, bytes):
                    data = reply.body
                elif isinstance(reply.body, str):
                    data = reply.body.encode()
                else:
                    data = json.dumps(reply.body).encode()
                    headers.setdefault("Content-Type", "application/json; charset=utf-8")
                headers.setdefault("x-ms-request-id", str(uuid.uuid4()))
                try:
                    self.send_response(reply.status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    if reply.reset:
                        self.wfile.write(data[: len(data) // 2])
                        self.wfile.flush()
                        # SO_LINGER 0: closing sends a TCP reset instead of a clean end of stream
                        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                        self.connection.close()
                        self.close_connection = True
                    elif reply.chunk_delay is not None:
                        self.wfile.flush()
                        for i in range(len(data)):
                            time.sleep(reply.chunk_delay)
                            self.wfile.write(data[i:i + 1])
                            self.wfile.flush()
                    elif data:
                        self.wfile.write(data)
                except OSError:
                    self.close_connection = True  # the client gave up (a timeout or deadline): the point

            do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = do_HEAD = _serve

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        httpd.daemon_threads = True
        if self.tls:
            self._tmp = tempfile.TemporaryDirectory(prefix="arm-server-")
            cert, key = make_self_signed_cert(Path(self._tmp.name))
            self.ca_file = str(cert)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert, key)
            httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="arm-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> "ArmServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- dispatch --
    def dispatch(self, request: Request) -> Reply:
        with self._lock:
            self.requests.append(request)
        if self.token is not None:
            auth = request.headers.get("authorization", "")
            if auth != f"Bearer {self.token}":
                return Fault("*", "*", 401).reply()
        with self._lock:
            for f in self.faults:
                if f.method in (request.method, "*") and (f.pattern == "*" or _compile(f.pattern).match(request.path)):
                    f.seen += 1
                    if f.seen > f.after and (f.times is None or f.hits < f.times):
                        f.hits += 1
                        return f.reply()
        for r in self.routes:
            m = r.regex.match(request.path)
            if m and r.method in (request.method, "*"):
                return self._as_reply(r.handler(request, **m.groupdict()))
        if self.store is not None:
            reply = self.store.handle(self, request)
            if reply is not None:
                return reply
        return arm_error(404, "NotFound", f"No route for {request.method} {request.path}.")

    @staticmethod
    def _as_reply(value: Any) -> Reply:
        if isinstance(value, Reply):
            return value
        if value is None:
            return Reply(204, None)
        return Reply(200, value)

    def calls(self, method: str | None = None, contains: str = "") -> list[Request]:
        """Logged requests, optionally by method and a case-insensitive path substring."""
        return [r for r in list(self.requests) if (method is None or r.method == method)
                and contains.lower() in r.path.lower()]


def make_self_signed_cert(directory: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """A self-signed certificate for ``host`` (also valid as its own CA), as (cert.pem, key.pem)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host)),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path
