"""Azure CLI outputs, read as the ARM GET shape.

``az aks show``/``list``, ``az aks nodepool show``/``list``, ``az acr show`` and most ``show``/``list``
commands print what the Python SDK deserialised, not the REST body: the SDK's models flatten ``properties``,
so every property sits at the top level beside ``id``, ``name``, ``type``, ``location``, ``tags``, ``sku`` and
``identity`` (azure.cli.core's ``todict`` over the model's attributes). Keys are the attribute names
camelCased (knack's ``to_camel_case``: ``enable_rbac`` is printed ``enableRbac`` where REST says
``enableRBAC``); an attribute the service did not return is printed ``null``; a flattened property whose name
the envelope already has is renamed by the SDK (an agent pool's ``properties.type`` is ``typePropertiesType``);
and the CLI adds ``resourceGroup``, parsed from the id, to every object that has one. The aaz-generated
``az monitor diagnostic-settings list`` flattens ``properties`` too (``client_flatten``) and prints a plain array
where the SDK-based command printed ``{"value": [...]}``: both are lists ``inputs.py`` reads.

Such an object is recognised by its shape (an ARM id and ``Namespace/type``, no ``properties``, and keys beside
the envelope) and un-flattened: the envelope stays, the CLI's ``resourceGroup`` is dropped, everything else
goes under ``properties`` with the CLI's spelling. ARM names are case-insensitive, and so is every lookup of a
property (aliases, defaults, shapes, evidence lines), so ``enableRbac`` is ``properties.enableRBAC``; ``null``
is absent, as in any deployed state (arm/defaults.py).

A listing (``az resource list``: the envelope with ``properties`` null, and ``provisioningState``,
``createdTime``, ``changedTime``) holds none of the resource's settings: its properties are unknown, with that
reason, never absent.
"""

from __future__ import annotations

import re
from typing import Any

from ..jsonc import JsonDocument
from ..resources import Resource, Source
from ..values import Unknown
from .template import rest_resource

# ARM's resource envelope (lower case): never a property
_ENVELOPE = frozenset({"id", "name", "type", "location", "tags", "sku", "identity", "extendedlocation", "kind",
                       "systemdata", "etag", "zones", "managedby", "plan"})
# Envelope names that are properties of a type: an agent pool's tags and eTag are properties.tags and .eTag
# (the REST agentPools resource is id, name, type and properties)
_INNER = {"microsoft.containerservice/managedclusters/agentpools": frozenset({"tags", "etag"})}
_CHILDREN = "resources"  # child resources an export nests: read as resources, never as a property
# What a listing prints besides the envelope, none of it a setting: az resource list and the REST list of
# resources ($expand), a Resource Graph projection (resourceGroup, subscriptionId, tenantId)
LISTING_FIELDS = frozenset({"resourcegroup", "subscriptionid", "tenantid", "provisioningstate", "createdtime",
                      "changedtime"})
_ARM_ID = ("/subscriptions/", "/providers/")
_RENAMED = re.compile(r"([a-z]+)Properties([A-Z][A-Za-z]*)")  # typePropertiesType: properties.type

FLATTENED, LISTING = "flattened", "listing"

LISTING_REASON = ("the resource's properties are not in this file: it is a listing (az resource list, a REST list "
                  "of resources or a Resource Graph projection prints each resource's id, type, location, sku and "
                  "tags, not its settings); export the resource itself (az aks show, az acr show, az resource show)")


def _properties_key(obj: dict[str, Any]) -> str | None:
    return next((k for k in obj if isinstance(k, str) and k.lower() == "properties"), None)


def cli_shape(obj: Any) -> str | None:
    """FLATTENED for a resource the CLI printed with its properties at the top level, LISTING for one printed
    without them (an envelope and listing fields only), None for any other object (REST, a template, ...)."""
    if not isinstance(obj, dict):
        return None
    rtype, rid = obj.get("type"), obj.get("id")
    if not (isinstance(rtype, str) and "/" in rtype and isinstance(rid, str) and rid.lower().startswith(_ARM_ID)):
        return None
    key = _properties_key(obj)
    if key is not None and obj[key] is not None:
        return None  # the REST shape (az resource show prints it, with a resourceGroup)
    others = {k.lower() for k in obj if isinstance(k, str)} - _ENVELOPE - {"properties", _CHILDREN}
    if not others:
        return None  # an envelope alone: read as REST, as before
    return LISTING if others <= LISTING_FIELDS else FLATTENED


def _group_of(rid: str) -> str | None:
    parts = rid.split("/")
    return parts[4] if len(parts) > 4 and parts[3].lower() == "resourcegroups" else None


def arm_body(obj: dict[str, Any], shape: str) -> dict[str, Any]:
    """The ARM GET body of a CLI object: the envelope, and the rest under properties (unknown for a listing)."""
    inner = _INNER.get(obj["type"].lower(), frozenset())
    group = _group_of(obj["id"])
    body: dict[str, Any] = {}
    props: dict[str, Any] = {}
    for k, v in obj.items():
        low = k.lower()
        if low == "properties":
            continue  # null: the CLI prints an attribute the model has and the service did not return
        if low == "resourcegroup" and isinstance(v, str) and group is not None and v.lower() == group.lower():
            continue  # the CLI's own, from the id (a property of that name that differs from it is kept)
        if (low in _ENVELOPE and low not in inner) or low == _CHILDREN or (shape == LISTING and low in LISTING_FIELDS):
            body[k] = v
        else:
            m = _RENAMED.fullmatch(k)
            props[m.group(1) if m and m.group(1).lower() == m.group(2).lower() else k] = v
    body["properties"] = props if shape == FLATTENED else Unknown(
        f"{'properties is null' if _properties_key(obj) else 'there are no properties'}: {LISTING_REASON}")
    return body


def renamed(obj: dict[str, Any]) -> dict[str, str]:
    """Property name -> the key the CLI printed it under, where they differ (``type`` -> ``typePropertiesType``)."""
    out: dict[str, str] = {}
    for k in obj:
        m = _RENAMED.fullmatch(k) if isinstance(k, str) else None
        if m and m.group(1).lower() == m.group(2).lower():
            out[m.group(1)] = k
    return out


def cite_flattened(resource: Resource, doc: JsonDocument, obj: dict[str, Any], ptr: str) -> None:
    """Cite the properties of an un-flattened object where the CLI printed them: at the top level of the object
    (its keys matched without regard to case, as every ARM lookup is), a renamed one at its printed key."""
    resource.origins[("properties",)] = Source(doc.path, ptr, doc)
    for prop, key in renamed(obj).items():
        resource.origins[("properties", prop)] = Source(doc.path, f"{ptr}/{key}", doc)


def cli_resource(doc: JsonDocument, body: dict[str, Any], obj: dict[str, Any], ptr: str, shape: str) -> Resource:
    """The resource of a CLI object whose ARM GET body is ``body``."""
    resource = rest_resource(doc, body, ptr)
    if shape == FLATTENED:
        cite_flattened(resource, doc, obj, ptr)
    return resource
