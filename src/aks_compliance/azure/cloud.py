"""Clouds, credentials and the identity a run authenticated as.

``--azure-cloud`` picks the Resource Manager endpoint, the token scope and the Entra ID authority of a
sovereign cloud; ``--azure-endpoint`` overrides the Resource Manager endpoint (an Azure Stack hub, a
private endpoint, or the local server the tests start). Credentials come from azure-identity's
``DefaultAzureCredential`` (environment, workload identity, managed identity, Azure CLI ...).

The identity is read from the access token's claims (tenant, object id, application id, user
principal name) for the snapshot; the token itself is never kept.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Cloud:
    name: str  # as az cloud list names it
    sdk_name: str  # azure.core.AzureClouds member
    resource_manager: str
    scope: str  # token scope for Resource Manager
    authority: str  # Entra ID authority host


CLOUDS = {
    "AzureCloud": Cloud("AzureCloud", "AZURE_PUBLIC_CLOUD", "https://management.azure.com",
                        "https://management.azure.com/.default", "login.microsoftonline.com"),
    "AzureUSGovernment": Cloud("AzureUSGovernment", "AZURE_US_GOVERNMENT", "https://management.usgovcloudapi.net",
                               "https://management.core.usgovcloudapi.net/.default", "login.microsoftonline.us"),
    "AzureChinaCloud": Cloud("AzureChinaCloud", "AZURE_CHINA_CLOUD", "https://management.chinacloudapi.cn",
                             "https://management.chinacloudapi.cn/.default", "login.chinacloudapi.cn"),
}
CLOUD_NAMES = tuple(CLOUDS)


def cloud_named(name: str | None) -> Cloud:
    if not name:
        return CLOUDS["AzureCloud"]
    for key, cloud in CLOUDS.items():
        if key.lower() == name.lower():
            return cloud
    raise ValueError(f"unknown Azure cloud {name!r}: one of {', '.join(CLOUD_NAMES)}")


def endpoint_and_scope(cloud: Cloud, endpoint: str | None) -> tuple[str, str]:
    """The Resource Manager endpoint and token scope (a custom endpoint is its own audience)."""
    if endpoint:
        base = endpoint.rstrip("/")
        return base, base + "/.default"
    return cloud.resource_manager, cloud.scope


def default_credential(cloud: Cloud) -> Any:
    """``DefaultAzureCredential`` for the cloud's authority (raises ValueError on bad configuration)."""
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential(authority=cloud.authority)


def _b64json(part: str) -> dict[str, Any] | None:
    try:
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def identity_from_token(token: str) -> dict[str, Any]:
    """Who a bearer token says we are: tenant, object id, app id, user principal name. Never the token.

    Tokens that are not JWTs (opaque tokens) give ``{"type": "unknown", "note": ...}``. The signature is
    not checked: this is a record of what the run presented, Resource Manager is the one that verifies.
    """
    parts = token.split(".")
    claims = _b64json(parts[1]) if len(parts) == 3 else None
    if claims is None:
        return {"type": "unknown", "note": "the access token is not a JWT; its claims cannot be read"}
    out: dict[str, Any] = {}
    for key, claim in (("tenant_id", "tid"), ("object_id", "oid"), ("app_id", "appid"), ("app_id", "azp"),
                       ("name", "upn"), ("name", "preferred_username"), ("name", "unique_name"),
                       ("issuer", "iss"), ("audience", "aud")):
        value = claims.get(claim)
        if isinstance(value, str) and key not in out:
            out[key] = value
    idtyp = claims.get("idtyp")
    out["type"] = idtyp if isinstance(idtyp, str) else ("user" if "name" in out else "app" if "app_id" in out
                                                        else "unknown")
    if isinstance(claims.get("xms_mirid"), str):  # a managed identity names its resource
        out["managed_identity"] = claims["xms_mirid"]
    return out
