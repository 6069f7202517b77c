"""A small Kubernetes API server for tests: the list API over recorded objects, with injectable faults.

Speaks what the collector uses, as the real API server does: ``GET /version/``, cluster-wide list
paths (``/api/v1/pods``, ``/apis/apps/v1/deployments`` ...) with ``limit`` and ``continue`` (opaque
tokens, a stable ``resourceVersion`` per list, items without ``kind``/``apiVersion``), ``POST``
SelfSubjectAccessReview and SelfSubjectReview, Status objects for errors, and bearer-token checks.
Custom resources (Cilium's policies) are served as a cluster with their CRDs installed serves them: API
discovery (``GET /apis/cilium.io/v2``, an APIResourceList with each resource's ``namespaced`` flag) and
list paths whose items keep ``kind``/``apiVersion``; with ``serve_cilium=False`` both answer 404, as on a
cluster without Cilium.
Listens on 127.0.0.1 only; threads are daemons and every fault is bounded (a slow answer sleeps a
fixed time), so a test cannot hang on it.

Faults (per resource plural, e.g. ``"pods"``):

* ``forbidden``: the access review says no, and a list answers 403;
* ``forbidden_list_only``: the access review says yes, but the list answers 403 (authorizer mismatch);
* ``expire_continue``: the first request carrying a continue token answers 410 Gone (then fine);
* ``throttle_once``: the first request answers 429 with ``Retry-After: 0``;
* ``fail_always``: every request answers 500;
* ``slow``: {plural: seconds} sleep before answering each list request;
* ``no_access_review``: the access review API answers 404.

Generic faults, ``Faults(faults={plural: [Fault(...)]})`` (``after=N`` lets the first N list requests of
that plural through, ``times`` bounds how often it fires, None = always):

* ``Fault("status", status=503, retry_after="1")``: any status with a Kubernetes Status body;
* ``Fault("reset")``: headers and half the body, then the socket is reset (RST);
* ``Fault("slow_body", chunk_delay=1.0)``: headers at once, then the body a byte every ``chunk_delay`` s;
* ``Fault("malformed")``: a 200 whose body is an HTML error page, not JSON;
* ``Fault("repeat_continue")``: the page is served, but its continue token is the one the request carried
  (or, on the first page, a token that points at the first page again): a pagination loop;
* ``Fault("body", body=...)``: a 200 (or ``status``) whose body is ``body``: bytes as they are (a truncated or
  garbled answer), anything else as JSON (an answer of the wrong shape: a list, ``items: null`` ...); a callable
  gets the page the request would have had and returns the body (a page with one item garbled).

A request to ``/version`` is checked against the plural ``"version"``, API discovery of a custom resource group
against its path (``"/apis/cilium.io/v2"``).

Each node's kubelet configuration is served at ``GET /api/v1/nodes/{name}/proxy/configz`` as the API server
proxies it from the kubelet (``{"kubeletconfig": {...}}``, from ``configz={node: config}``), checked against the
plural ``"nodes/proxy"``: ``forbidden={"nodes/proxy"}`` makes the access review (verb get, resource nodes,
subresource proxy) say no and the endpoint answer 403; ``forbidden_list_only={"nodes/proxy"}`` only the endpoint.
Per node: ``gone_nodes`` answer 404 (the node was deleted after the list), ``slow_nodes={name: seconds}`` sleep
before answering, and a node without a configuration answers 503 as the proxy does when the kubelet is down.
"""

from __future__ import annotations

import base64
import json
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

from aks_compliance.k8s.kinds import BY_KIND, BY_PLURAL, COLLECTED


@dataclass
class Fault:
    kind: str  # status | reset | slow_body | malformed | repeat_continue | body
    status: int = 500
    body: Any = None  # for kind "body": bytes sent as they are, a callable of the page, else JSON
    retry_after: str | None = None
    chunk_delay: float = 1.0
    times: int | None = None  # None: every matching request
    after: int = 0  # let this many requests through first
    continued: bool = False  # only requests that carry a continue token (pages after the first)
    seen: int = 0
    hits: int = 0


_REASONS = {401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 409: "Conflict", 410: "Expired",
            429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable"}


@dataclass
class Faults:
    forbidden: set[str] = field(default_factory=set)
    forbidden_list_only: set[str] = field(default_factory=set)
    expire_continue: set[str] = field(default_factory=set)
    throttle_once: set[str] = field(default_factory=set)
    fail_always: set[str] = field(default_factory=set)
    slow: dict[str, float] = field(default_factory=dict)
    no_access_review: bool = False
    faults: dict[str, list[Fault]] = field(default_factory=dict)
    gone_nodes: set[str] = field(default_factory=set)
    slow_nodes: dict[str, float] = field(default_factory=dict)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    authorization: str | None
    status: int = 0
    repeat: bool = False  # a repeat_continue fault fired on it
    reviewed: str = ""  # a SelfSubjectAccessReview's verb and resource ("list pods", "get nodes/proxy")


Generated = tuple[int, Callable[[int], dict[str, Any]]]  # (count, item number -> object)

_PATHS = {spec.path: spec for spec in COLLECTED}
_DISCOVERY: dict[str, list[Any]] = {}
for _spec in COLLECTED:
    if _spec.custom:
        _DISCOVERY.setdefault(f"/apis/{_spec.group}/{_spec.version}", []).append(_spec)


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason, "code": code}


class FakeKubeAPI:
    def __init__(self, objects: list[dict[str, Any]] | None = None, *, faults: Faults | None = None,
                 token: str | None = "test-token", git_version: str = "v1.30.5",
                 generated: dict[str, Generated] | None = None, username: str = "system:serviceaccount:aks-compliance:scanner",
                 record: bool = True, serve_cilium: bool = True,
                 configz: dict[str, dict[str, Any]] | None = None) -> None:
        self.faults = faults or Faults()
        self.token = token
        self.git_version = git_version
        self.username = username
        self.record = record
        self.serve_cilium = serve_cilium
        self.configz: dict[str, dict[str, Any]] = dict(configz or {})
        self.items: dict[str, list[dict[str, Any]]] = {}
        self.generated: dict[str, Generated] = dict(generated or {})
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, str], int] = {}
        self._rv = 1000
        for obj in objects or []:
            self.add(obj)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- data --
    def add(self, obj: dict[str, Any]) -> None:
        spec = BY_KIND[obj["kind"]]
        # list items of built-in kinds come without kind/apiVersion; custom resources keep them
        item = dict(obj) if spec.custom else {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}
        self.items.setdefault(spec.plural, []).append(item)

    def count_of(self, plural: str) -> int:
        if plural in self.generated:
            return self.generated[plural][0]
        return len(self.items.get(plural, []))

    def item(self, plural: str, i: int) -> dict[str, Any]:
        if plural in self.generated:
            return self.generated[plural][1](i)
        return self.items[plural][i]

    # -- lifecycle --
    def start(self) -> "FakeKubeAPI":
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def setup(self) -> None:
                super().setup()
                # headers and body go out in two writes: without this, Nagle waits for a delayed ACK
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_GET(self) -> None:  # noqa: N802
                api._handle(self, "GET")

            def do_POST(self) -> None:  # noqa: N802
                api._handle(self, "POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-kube-api", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "FakeKubeAPI":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def write_kubeconfig(self, path: Path, context: str = "aks-test", user: str = "scanner") -> Path:
        cfg = {
            "apiVersion": "v1", "kind": "Config", "current-context": context,
            "clusters": [{"name": "test-cluster", "cluster": {"server": self.url}}],
            "users": [{"name": user, "user": {"token": self.token or "unused"}}],
            "contexts": [{"name": context, "context": {"cluster": "test-cluster", "user": user}},
                         {"name": "other", "context": {"cluster": "test-cluster", "user": user}}],
        }
        path.write_text(json.dumps(cfg))
        return path

    # -- queries for tests --
    def lists(self, plural: str, first_page_only: bool = False) -> list[Request]:
        spec = BY_PLURAL[plural]
        return [r for r in self.requests if r.method == "GET" and r.path == spec.path
                and (not first_page_only or "continue" not in r.query)]

    # -- handling --
    def _send(self, h: BaseHTTPRequestHandler, code: int, body: dict[str, Any], headers: dict[str, str] | None = None,
              req: Request | None = None) -> None:
        data = json.dumps(body).encode()
        if req is not None:
            req.status = code
        try:
            h.send_response(code)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                h.send_header(k, v)
            h.end_headers()
            h.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout): that is the point of some tests

    def _raw(self, h: BaseHTTPRequestHandler, code: int, data: bytes, req: Request) -> None:
        req.status = code
        try:
            h.send_response(code)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _once(self, plural: str, what: str) -> bool:
        """True the first time ``what`` happens for ``plural``."""
        with self._lock:
            n = self._seen.get((plural, what), 0)
            self._seen[(plural, what)] = n + 1
            return n == 0

    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(h.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        req = Request(method, parts.path, query, h.headers.get("Authorization"))
        if self.record:
            with self._lock:
                self.requests.append(req)
        body = b""
        if method == "POST":
            length = int(h.headers.get("Content-Length") or 0)
            body = h.rfile.read(length) if length else b""
        if self.token is not None and req.authorization != f"Bearer {self.token}":
            return self._send(h, 401, _status(401, "Unauthorized", "Unauthorized"), req=req)
        path = parts.path.rstrip("/") or "/"
        if path == "/version":
            if self._generic(h, "version", req):
                return
            major, minor = self.git_version.lstrip("v").split(".")[:2]
            return self._send(h, 200, {"major": major, "minor": minor, "gitVersion": self.git_version,
                                       "platform": "linux/amd64"}, req=req)
        if method == "POST" and path == "/apis/authentication.k8s.io/v1/selfsubjectreviews":
            return self._send(h, 201, {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview",
                                       "status": {"userInfo": {"username": self.username,
                                                               "groups": ["system:serviceaccounts", "system:authenticated"]}}},
                              req=req)
        if method == "POST" and path == "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews":
            if self.faults.no_access_review:
                return self._send(h, 404, _status(404, "NotFound", "the server could not find the requested resource"),
                                  req=req)
            review = json.loads(body or b"{}")
            attrs = (review.get("spec") or {}).get("resourceAttributes") or {}
            resource = attrs.get("resource", "") + (f"/{attrs['subresource']}" if attrs.get("subresource") else "")
            req.reviewed = f"{attrs.get('verb', '')} {attrs.get('group', '')}/{resource}"
            allowed = resource not in self.faults.forbidden and resource != "secrets"
            status = {"allowed": allowed}
            if allowed:
                status["reason"] = 'RBAC: allowed by ClusterRoleBinding "aks-compliance-reader"'
            review["status"] = status
            return self._send(h, 201, review, req=req)
        if method == "GET" and path in _DISCOVERY:
            if self._generic(h, path, req):  # faults of API discovery: keyed by its path, "/apis/cilium.io/v2"
                return
            if not self._serves(path):
                return self._send(h, 404, _status(404, "NotFound", "the server could not find the requested resource"),
                                  req=req)
            group_version = path[len("/apis/"):]
            return self._send(h, 200, {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version,
                                       "resources": [{"name": k.plural, "singularName": k.kind.lower(),
                                                      "namespaced": k.namespaced, "kind": k.kind,
                                                      "verbs": ["get", "list", "watch"]}
                                                     for k in _DISCOVERY[path]]}, req=req)
        if method == "GET" and path.startswith("/api/v1/nodes/") and path.endswith("/proxy/configz"):
            return self._configz(h, path[len("/api/v1/nodes/"):-len("/proxy/configz")], req)
        spec = _PATHS.get(path)
        if spec is not None and spec.custom and not self._serves(f"/apis/{spec.group}/{spec.version}"):
            spec = None
        if method != "GET" or spec is None:
            return self._send(h, 404, _status(404, "NotFound", "the server could not find the requested resource"),
                              req=req)
        return self._list(h, spec.plural, spec, query, req)

    def _configz(self, h: BaseHTTPRequestHandler, node: str, req: Request) -> None:
        f = self.faults
        if self._generic(h, "nodes/proxy", req):
            return
        if "nodes/proxy" in f.forbidden or "nodes/proxy" in f.forbidden_list_only:
            return self._send(h, 403, _status(403, "Forbidden", f'nodes "{node}" is forbidden: User "{self.username}" '
                                              'cannot get resource "nodes/proxy" in API group "" at the cluster scope'),
                              req=req)
        known = {(o.get("metadata") or {}).get("name") for o in self.items.get("nodes", [])}
        if node in f.gone_nodes or node not in known:
            return self._send(h, 404, _status(404, "NotFound", f'nodes "{node}" not found'), req=req)
        delay = f.slow_nodes.get(node)
        if delay:
            time.sleep(delay)
        if node not in self.configz:
            return self._send(h, 503, _status(503, "ServiceUnavailable", f"error trying to reach service: dial tcp "
                                              f"{node}:10250: connect: connection refused"), req=req)
        return self._send(h, 200, {"kubeletconfig": self.configz[node]}, req=req)

    def _serves(self, discovery_path: str) -> bool:
        return self.serve_cilium or not discovery_path.startswith("/apis/cilium.io/")

    def _pick(self, plural: str, continued: bool = False) -> Fault | None:
        with self._lock:
            for fault in self.faults.faults.get(plural, []):
                if fault.continued and not continued:
                    continue
                fault.seen += 1
                if fault.seen > fault.after and (fault.times is None or fault.hits < fault.times):
                    fault.hits += 1
                    return fault
        return None

    def _generic(self, h: BaseHTTPRequestHandler, plural: str, req: Request, body: dict[str, Any] | None = None) -> bool:
        """Answer with an injected fault (True), or leave the request to the normal path (False)."""
        fault = self._pick(plural, bool(parse_qs(urlsplit(h.path).query).get("continue")))
        if fault is not None and fault.kind == "repeat_continue":
            req.repeat = True
        if fault is None or fault.kind == "repeat_continue":
            return False
        if fault.kind == "body":
            given = fault.body(body) if callable(fault.body) else fault.body
            data = given if isinstance(given, bytes) else json.dumps(given).encode()
            self._raw(h, fault.status if fault.status != 500 else 200, data, req)
            return True
        if fault.kind == "status":
            headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            reason = _REASONS.get(fault.status, "InternalError")
            self._send(h, fault.status, _status(fault.status, reason, f"injected {fault.status} {reason}"),
                       headers, req=req)
            return True
        req.status = -1 if fault.kind == "reset" else 200
        data = json.dumps(body or {"kind": "Status", "apiVersion": "v1", "metadata": {}, "items": []}).encode()
        if fault.kind == "malformed":
            data = b"<html><body><h1>502 Bad Gateway</h1>upstream connect error</body></html>"
        try:
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            if fault.kind == "reset":
                h.wfile.write(data[: len(data) // 2])
                h.wfile.flush()
                # SO_LINGER 0: close sends a TCP reset instead of a clean end of stream
                h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                h.connection.close()
                h.close_connection = True
            elif fault.kind == "slow_body":
                h.wfile.flush()
                for i in range(len(data)):
                    time.sleep(fault.chunk_delay)
                    h.wfile.write(data[i:i + 1])
                    h.wfile.flush()
            else:
                h.wfile.write(data)
        except OSError:
            h.close_connection = True  # the client gave up (timeout, deadline): that is the point
        return True

    def _list(self, h: BaseHTTPRequestHandler, plural: str, spec: Any, query: dict[str, str], req: Request) -> None:
        f = self.faults
        if self._generic(h, plural, req, self._page(plural, spec, query)[1]):
            return
        delay = f.slow.get(plural)
        if delay:
            time.sleep(delay)
        if plural in f.forbidden or plural in f.forbidden_list_only:
            return self._send(h, 403, _status(403, "Forbidden", f'{plural}{"." + spec.group if spec.group else ""} is '
                                              f'forbidden: User "{self.username}" cannot list resource "{plural}" in '
                                              f'API group "{spec.group}" at the cluster scope'), req=req)
        if plural in f.fail_always:
            return self._send(h, 500, _status(500, "InternalError", "etcdserver: request timed out"), req=req)
        if plural in f.throttle_once and self._once(plural, "throttle"):
            return self._send(h, 429, _status(429, "TooManyRequests", "too many requests, please try again later"),
                              headers={"Retry-After": "0"}, req=req)
        token = query.get("continue")
        if token and plural in f.expire_continue and self._once(plural, "expire"):
            return self._send(h, 410, _status(410, "Expired", "The provided continue parameter is too old to "
                                              "display a consistent list result. You can start a new list "
                                              "without the continue parameter."), req=req)
        code, page = self._page(plural, spec, query)
        if code != 200:
            return self._send(h, code, page, req=req)
        if req.repeat:  # the pagination loop: hand back the token that was sent (or one pointing at the start)
            page["metadata"]["continue"] = token or base64.urlsafe_b64encode(
                json.dumps({"start": 0, "rv": page["metadata"]["resourceVersion"]}).encode()).decode()
        return self._send(h, 200, page, req=req)

    def _page(self, plural: str, spec: Any, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        token = query.get("continue")
        start = 0
        rv = str(self._rv)
        if token:
            try:
                decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
                start, rv = int(decoded["start"]), str(decoded["rv"])
            except (ValueError, KeyError, TypeError):
                return 400, _status(400, "BadRequest", "continue key is not valid")
        total = self.count_of(plural)
        limit = int(query.get("limit") or 0) or total
        end = min(total, start + limit)
        items = [self.item(plural, i) for i in range(start, end)]
        meta: dict[str, Any] = {"resourceVersion": rv}
        if end < total:
            meta["continue"] = base64.urlsafe_b64encode(json.dumps({"start": end, "rv": rv}).encode()).decode()
            meta["remainingItemCount"] = total - end
        kind = f"{spec.kind}List"
        return 200, {"kind": kind, "apiVersion": spec.api_version, "metadata": meta, "items": items}
