"""Azure PowerShell and PSRule for Azure resource exports, read as the ARM GET shape.

``Get-AzResource -ExpandProperties | ConvertTo-Json -Depth N`` and PSRule's ``Export-AzRuleData`` write
PowerShell objects: PascalCase keys (``Name``, ``ResourceId``/``Id``, ``ResourceType``/``Type``,
``ResourceGroupName``, ``Location``, ``Tags``, ``Sku``, ``Kind``, ``Identity``, ``Properties``), the
resource's own ``Properties`` as the REST API returned them, and (Export-AzRuleData) child and extension
resources nested under ``resources`` (diagnostic settings, maintenance configurations, ...), in either
shape. Such a file is recognised by its shape, without a flag, and each object becomes a resource as ARM
GET returns it (``id``, ``name``, ``type``, ``location``, ``tags``, ``sku``, ``kind``, ``identity``,
``properties``), with every key cited at its own line. The resource cmdlets (``Get-AzAksCluster``,
``Get-AzAksNodePool``, ``Get-AzDiagnosticSetting``) write the settings flattened beside the envelope, with no
``Properties``: they are read as the properties (the few whose names differ from the REST API's renamed,
``_FLAT_NAMES``). It is deployed state: an absent property is unknown,
not a request default (arm/defaults.py).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from ..jsonc import JsonDocument, escape_pointer_token
from ..resources import Resource, Source, name_from_id, type_from_id
from ..values import Unknown
from .shapes import ARRAY, ARM_SHAPES, NULLABLE_OBJECT, OBJECT
from .azcli import LISTING_FIELDS
from .template import rest_resource

# PowerShell property -> ARM GET property (top level). Sku and Identity keep their PascalCase members:
# paths are read case-insensitively.
_TOP = {"location": "location", "tags": "tags", "sku": "sku", "kind": "kind", "identity": "identity",
        "properties": "properties", "zones": "zones", "plan": "plan", "managedby": "managedBy",
        "extendedlocation": "extendedLocation", "etag": "etag", "systemdata": "systemData"}
_MARKERS = ("ResourceType", "ResourceId", "ResourceName", "ResourceGroupName", "SubscriptionId")


def is_powershell_object(obj: Any) -> bool:
    """A PowerShell resource object: PascalCase ``Type``/``ResourceType`` and an id, no ARM ``type``."""
    if not isinstance(obj, dict) or "type" in obj:
        return False
    has_type = isinstance(obj.get("ResourceType"), str) or isinstance(obj.get("Type"), str)
    has_id = isinstance(obj.get("ResourceId"), str) or isinstance(obj.get("Id"), str)
    return has_type and (has_id or any(k in obj for k in _MARKERS) or "Properties" in obj)


def is_powershell_export(data: Any) -> bool:
    if isinstance(data, list):
        objects = [o for o in data if isinstance(o, dict)]
        return bool(objects) and all(is_powershell_object(o) for o in objects)
    return is_powershell_object(data)


def arm_body(obj: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The ARM GET body of a PowerShell object, and body key -> the PowerShell key it came from."""
    rid = obj.get("ResourceId") if isinstance(obj.get("ResourceId"), str) else obj.get("Id")
    rtype = obj.get("ResourceType") if isinstance(obj.get("ResourceType"), str) else obj.get("Type")
    if not isinstance(rtype, str) and isinstance(rid, str):
        rtype = type_from_id(rid)
    body: dict[str, Any] = {"type": rtype}
    keys: dict[str, str] = {}
    if isinstance(rid, str):
        body["id"] = rid
        keys["id"] = "ResourceId" if "ResourceId" in obj else "Id"
    name = obj.get("Name") if isinstance(obj.get("Name"), str) else obj.get("ResourceName")
    if isinstance(rid, str):
        name = name_from_id(rid).rsplit("/", 1)[-1]
    if isinstance(name, str):
        body["name"] = name
    for k, v in obj.items():
        arm = _TOP.get(k.lower())
        if arm is None or v is None or (arm in ("kind", "zones", "plan", "managedBy") and v in ("", [])):
            continue
        body[arm] = v
        keys[arm] = k
    return body, keys


# What ConvertTo-Json writes for an object or array deeper than its -Depth (default 2): the value's string
# form. A PSCustomObject (Properties as Get-AzResource expands them) is '@{a=1; b=...}', an array its members'
# strings joined by spaces ('@{..} @{..}', '1 2 3', '' when empty), any other object its .NET type name.
_CUT = re.compile(r"@\{.*\}|System\.[\w.`+]+(\[[^\]]*\])*|Microsoft\.Azure\.(Commands|Management)\.[\w.`+]+", re.S)


def _cut_reason(path: str) -> Unknown:
    return Unknown(f"{path} was written as a string by ConvertTo-Json, whose -Depth was too small for it, so its "
                   f"value is not in the export (export again with ConvertTo-Json -Depth 100)")


def _uncut(value: Any, path: str) -> Any:
    """``value`` with every string ConvertTo-Json left for a value it cut (its string form or type name)
    replaced by an Unknown naming where it was: what was there is not in the file, so nothing can be
    decided on it, and the user's resource is not malformed."""
    if isinstance(value, str):
        return _cut_reason(path) if _CUT.fullmatch(value) else value
    if isinstance(value, dict):
        return {k: _uncut(v, f"{path}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_uncut(v, f"{path}[{i}]") for i, v in enumerate(value)]
    return value


def _uncut_body(body: dict[str, Any]) -> None:
    """Undo what a too-small ConvertTo-Json -Depth did to ``body``'s values, in place (on copies of the
    file's values): its marked strings, and any string where the REST API has an object or array (Azure
    never returns one there; a cut array of strings is its members joined: '1 2 3', or '' when empty)."""
    for key in ("properties", "sku", "identity", "tags", "plan", "extendedLocation", "systemData"):
        if isinstance(body.get(key), (dict, list)):
            body[key] = _uncut(copy.deepcopy(body[key]), key)
        elif isinstance(body.get(key), str) and _CUT.fullmatch(body[key]):
            body[key] = _cut_reason(key)
    for path, kind, value, holder, at in ARM_SHAPES.mismatches(str(body.get("type")), body):
        if isinstance(value, str) and kind in (OBJECT, ARRAY, NULLABLE_OBJECT):
            holder[at] = _cut_reason(path)


# What a PowerShell object holds besides its envelope that is no setting: its ids and names, and a listing's times
_NOT_SETTINGS = frozenset({"id", "resourceid", "type", "resourcetype", "name", "resourcename", "resourcegroupname",
                           "resources"}) | LISTING_FIELDS


def _flattened(obj: dict[str, Any]) -> dict[str, Any] | None:
    """The settings of an object a resource cmdlet wrote flattened (``Get-AzAksCluster``, ``Get-AzAksNodePool``:
    the SDK model's properties beside Id, Name, Type, Location, no ``Properties``), or None when it holds none
    beyond its envelope and a listing's fields. PascalCase names stay: every lookup ignores case."""
    if any(k.lower() == "properties" for k in obj):
        return None
    others = {k: v for k, v in obj.items() if k.lower() not in _TOP and k.lower() not in _NOT_SETTINGS}
    if not others:
        return None
    return {k: v for k, v in obj.items()
            if k.lower() not in _TOP and k.lower() not in _NOT_SETTINGS - {"provisioningstate"} and v is not None}


# Flattened settings whose PowerShell name is not the REST API's (other names differ only in case, which every
# lookup ignores). Get-AzDiagnosticSetting (Az.Monitor 4+, the DiagnosticSettingsResource model; Learn:
# powershell/module/az.monitor/get-azdiagnosticsetting, and New-AzDiagnosticSettingLogSettingsObject for the members
# Category, CategoryGroup, Enabled, RetentionPolicyDay, RetentionPolicyEnabled) writes the REST `logs` and `metrics`
# as `Log` and `Metric`: read under their own names they were absent, and AKS-012 failed a cluster whose setting
# routes kube-audit. The older PSServiceDiagnosticSettings wrote `Logs`/`Metrics`, which already match.
_FLAT_NAMES = {"microsoft.insights/diagnosticsettings": {"log": "logs", "metric": "metrics"}}


def _rename_flat(rtype: Any, flat: dict[str, Any]) -> dict[str, str]:
    """Rename ``flat``'s PowerShell-only keys to the REST API's, in place; REST name -> the key in the file."""
    names = _FLAT_NAMES.get(rtype.lower(), {}) if isinstance(rtype, str) else {}
    present = {k.lower() for k in flat}
    renamed: dict[str, str] = {}
    for key in list(flat):
        rest = names.get(key.lower())
        if rest is not None and rest not in present:  # a file with both names keeps the REST one as it is
            flat[rest] = flat.pop(key)
            renamed[rest] = key
    return renamed


def powershell_resource(doc: JsonDocument, obj: dict[str, Any], ptr: str) -> Resource:
    body, keys = arm_body(obj)
    flat = _flattened(obj)
    renamed: dict[str, str] = {}
    if flat is not None:
        renamed = _rename_flat(body.get("type"), flat)
        body["properties"] = flat
    _uncut_body(body)
    if "properties" not in body:
        # Get-AzResource lists resources with Properties null unless -ExpandProperties (or -ResourceId) asks for
        # them: what was deployed is not in the file, which is not a resource without settings
        key = next((k for k in obj if k.lower() == "properties"), None)
        body["properties"] = Unknown(
            f"{'Properties is null' if key else 'there is no Properties'} in this PowerShell export, so the "
            f"resource's settings are not in it (Get-AzResource writes them only with -ExpandProperties)")
    resource = rest_resource(doc, body, ptr)
    if flat is not None:  # the settings are the object's own keys: cited there
        resource.origins[("properties",)] = Source(doc.path, ptr, doc)
        for rest, ps in renamed.items():  # a renamed one under the name the file spells
            resource.origins[("properties", rest)] = Source(doc.path, f"{ptr}/{escape_pointer_token(ps)}", doc)
    for arm, ps in keys.items():
        # cite each part at its own line: the PowerShell key, not the ARM one, is in the file
        resource.origins[(arm,)] = Source(doc.path, f"{ptr}/{escape_pointer_token(ps)}", doc)
        value = obj.get(ps)
        if arm in ("sku", "identity") and isinstance(value, dict):
            for sub in value:
                resource.origins[(arm, sub[:1].lower() + sub[1:])] = Source(
                    doc.path, f"{ptr}/{escape_pointer_token(ps)}/{escape_pointer_token(sub)}", doc)
    return resource


def is_cut(value: Any) -> bool:
    """A string ConvertTo-Json wrote for an object or array deeper than its -Depth."""
    return isinstance(value, str) and _CUT.fullmatch(value) is not None


_CUT_FIELD = re.compile(r"(?:^@\{|; )(ResourceType|Type|ResourceId|Id)=([^;{}@\s]+)")


def cut_child(doc: JsonDocument, text: str, ptr: str, parent_id: Any) -> Resource | None:
    """A child resource ConvertTo-Json cut to its string form ('@{Name=..; ResourceType=..; ResourceId=..;
    Properties=@{..}}'): a resource of the type and id that string still names, whose properties are unknown
    (controls that look for such a resource say unknown, not that there is none); None when it names no type."""
    fields: dict[str, str] = {}
    for key, value in _CUT_FIELD.findall(text):
        fields.setdefault(key.lower(), value)
    rtype = fields.get("resourcetype") or fields.get("type")
    rid = fields.get("resourceid") or fields.get("id")
    if not rtype or "/" not in rtype:
        return None
    body: dict[str, Any] = {"type": rtype, "properties": _cut_reason(f"the child resource at {ptr} ({rtype})")}
    if rid and rid.startswith("/"):
        body["id"] = rid
    resource = rest_resource(doc, body, ptr)
    if "id" not in body and isinstance(parent_id, str) and not rtype.lower().endswith("/agentpools"):
        resource.scope_id = parent_id  # an extension or child of the object it is nested under
    return resource


def children(obj: dict[str, Any], ptr: str) -> list[tuple[str, Any]]:
    """Child and extension resources an export nests under ``resources`` (either case)."""
    for key in ("resources", "Resources"):
        kids = obj.get(key)
        if isinstance(kids, list):
            return [(f"{ptr}/{key}/{i}", c) for i, c in enumerate(kids)]
    return []
