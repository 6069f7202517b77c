"""The recorded Azure estate (fixtures/azure/estate.json) served by tests/servers/arm_server.py.

The real Azure SDK clients (azure-mgmt-resource, -resourcegraph, -policyinsights) talk HTTPS to the
server on 127.0.0.1 with a self-signed certificate and a bearer token the server checks; the token is
a JWT (unsigned: the server compares it whole) whose claims name the identity the snapshot records.
"""

from __future__ import annotations

import base64
import json
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from aks_compliance.azure.collector import AzureOptions, collect_snapshot

from .conftest import FIXTURES
from .servers.arm_server import ArmServer, Request, ResourceStore, arm_error

ESTATE = json.loads((FIXTURES / "azure" / "estate.json").read_text(encoding="utf-8"))
SUB = ESTATE["subscription"]
TENANT = ESTATE["tenant"]
OBJECT_ID = "5b0e7c1a-3d2f-4e6a-9b8c-1d2e3f4a5b6c"
APP_ID = "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b"


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


TOKEN = ".".join([_b64({"alg": "RS256", "typ": "JWT", "kid": "test"}),
                  _b64({"aud": "https://management.azure.com", "iss": f"https://sts.windows.net/{TENANT}/",
                        "tid": TENANT, "oid": OBJECT_ID, "appid": APP_ID, "idtyp": "app",
                        "exp": 4102444800}),
                  "c2lnbmF0dXJlLW5vdC1jaGVja2Vk"])


class StaticCredential:
    """A TokenCredential (the protocol azure-core calls) with a fixed token; no network."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token

    def get_token(self, *scopes: str, **kwargs: Any):
        from azure.core.credentials import AccessToken
        return AccessToken(self.token, int(time.time()) + 3600)


def export_template(resources: list[dict[str, Any]]) -> dict[str, Any]:
    """What the export API returns for stored resources (SkipAllParameterization: literal names)."""
    out = []
    for r in resources:
        parts = r["id"].split("/providers/", 1)[1].split("/")
        out.append({"type": r["type"], "apiVersion": "2024-05-01", "name": "/".join(parts[2::2]),
                    **{k: r[k] for k in ("location", "sku", "properties") if k in r}})
    return {"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
            "contentVersion": "1.0.0.0", "parameters": {}, "variables": {}, "resources": out}


def serve_exports(server: ArmServer, recorded: dict[str, dict[str, Any]] | None = None, limit: int = 200) -> None:
    """POST .../resourcegroups/{group}/exportTemplate as a long-running operation: the recorded template of the
    group, or one built from the store; 409 for "*" on a group over ``limit`` resources, as the service does."""
    def start(request: Request, sub: str, group: str) -> Any:
        body = request.body if isinstance(request.body, dict) else {}
        wanted = body.get("resources") or []
        store = server.store
        in_group = store.in_group(sub, group) if store is not None else []
        if wanted == ["*"]:
            if len(in_group) > limit:
                return arm_error(409, "ExportTemplateTooManyResources",
                                 f"Export template is not supported for resource groups that have more than '{limit}' "
                                 f"resources. The resource group '{group}' has {len(in_group)} resources.")
            if recorded and group in recorded:
                return {"template": recorded[group]}
            return {"template": export_template(in_group)}
        if len(wanted) > limit:
            return arm_error(400, "InvalidRequestContent", f"At most {limit} resources can be exported at once.")
        ids = {w.lower() for w in wanted}
        return {"template": export_template([r for r in in_group if r["id"].lower() in ids])}
    server.lro("POST", "/subscriptions/{sub}/resourcegroups/{group}/exportTemplate", start, polls=1)


def load_estate(server: ArmServer, page_size: int = 2, exports: bool = True) -> ResourceStore:
    store = server.serve_resources(ResourceStore(page_size=page_size))
    for r in ESTATE["resources"]:
        store.put(r["id"], r)
        stored = store.get(r["id"])
        stored["type"] = r["type"]  # as recorded (ARM answers with the canonical type name)
        stored.pop("systemData", None)
    if exports:
        serve_exports(server, ESTATE["exports"])
    server.policy_states(ESTATE["policy_states"], page_size=2)
    server.resource_graph()
    return store


@contextmanager
def estate_server(token: str = TOKEN, page_size: int = 2, exports: bool = True) -> Iterator[ArmServer]:
    with ArmServer(tls=True, token=token) as server:
        load_estate(server, page_size, exports)
        yield server


def no_proxy(monkeypatch: Any) -> None:
    """requests honours proxy variables: traffic to the local server must not go anywhere else."""
    for var in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


def client_settings(server: ArmServer) -> dict[str, Any]:
    """Fast retries and LRO polls for tests (the server sends Retry-After 0 where it means it)."""
    return {"retry_backoff_factor": 0.01, "retry_backoff_max": 0.05, "polling_interval": 0}


def options(server: ArmServer, **changes: Any) -> AzureOptions:
    base: dict[str, Any] = {"subscription": SUB, "resource_groups": list(ESTATE["groups"]),
                            "endpoint": server.url.rstrip("/"), "ca_file": server.ca_file, "retries": 2}
    base.update(changes)
    return AzureOptions(**base)


def collect(server: ArmServer, path: Path, credential: Any = None, lines: list[str] | None = None,
            **changes: Any) -> dict[str, Any]:
    out = lines if lines is not None else []
    return collect_snapshot(path, options(server, **changes), credential=credential or StaticCredential(),
                            out=out.append, **client_settings(server))
