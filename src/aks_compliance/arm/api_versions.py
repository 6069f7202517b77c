"""Which properties an AKS API version has: a request that sets one its version lacks did not set it.

AKS decodes a request at its ``apiVersion``. Before API 2024-01-01 (2024-01-02-preview) it silently dropped every
field that version does not define: "you included a valid field in the right spot, but the template API version
was too old and doesn't support that field" (Azure/AKS#4060, ``SOURCES["aks-4060"]``). A template at API
2018-03-31 that sets ``apiServerAccessProfile.authorizedIPRanges`` or ``disableLocalAccounts`` deploys a cluster
with neither: read as written, AKS-001 and AKS-002 passed it. From API 2024-01-01 such a field makes AKS reject
the request (an error, as a malformed value is).

``PROPERTIES`` says, per property the controls read, the newest stable API version known to lack it and the
oldest known to have it (and, for the two AKS removed, the last that had it and the first without). What lies
between the two, and a preview version older than the first stable one that has it, is not established here:
the property is then *unknown* with that reason, never guessed. Deployed state is what Azure returned and is not
gated. The facts are read from the REST API specifications as Bicep's type index renders them per version
(``SOURCES["bicep-types"]``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..policy.conditions import MalformedValue
from ..resources import REQUEST, Resource
from ..values import Unknown
from ..wording import json_type
from .defaults import CLUSTER, POOL, SOURCES, _copy, ci_key, parse_api_version

STRICT_STABLE = (2024, 1, 1)  # from this version AKS rejects unknown fields (Azure/AKS#4060)
STRICT_PREVIEW = (2024, 1, 2)  # 2024-01-02-preview


@dataclass(frozen=True)
class Property:
    """A property that exists only at some stable API versions."""

    scope: str  # CLUSTER (path from the resource body) or POOL (path from one node pool object)
    path: str
    lacking: str  # newest stable version known not to have it (before ``having``)
    having: str  # oldest stable version known to have it
    last: str | None = None  # removed: the newest stable version known to have it
    gone: str | None = None  # removed: the oldest stable version known not to have it
    controls: tuple[str, ...] = ()
    source: str = "bicep-types"

    def fact(self) -> str:
        text = f"stable API {self.lacking} has it not, {self.having} has it"
        if self.gone:
            text += f", {self.last} is the last known to have it and {self.gone} has it not"
        return text


_P = Property
PROPERTIES: tuple[Property, ...] = (
    # API 2017-08-31 has dnsPrefix, kubernetesVersion, agentPoolProfiles, linuxProfile, servicePrincipalProfile only
    _P(CLUSTER, "properties.enableRBAC", "2017-08-31", "2018-03-31", controls=("AKS-003",)),
    _P(CLUSTER, "properties.aadProfile", "2017-08-31", "2018-03-31", controls=("AKS-004", "AKS-016", "AKS-017")),
    _P(CLUSTER, "properties.addonProfiles", "2017-08-31", "2018-03-31",
       controls=("AKS-006", "AKS-014", "AKS-015", "AKS-029", "AKS-045", "AKS-046")),
    _P(CLUSTER, "properties.networkProfile", "2017-08-31", "2018-03-31",
       controls=("AKS-005", "AKS-025", "AKS-026", "AKS-027", "AKS-028")),
    _P(CLUSTER, "properties.apiServerAuthorizedIPRanges", "2018-03-31", "2019-02-01", last="2019-06-01",
       gone="2019-08-01", controls=("AKS-001", "AKS-090")),
    _P(CLUSTER, "properties.apiServerAccessProfile", "2019-06-01", "2019-08-01",
       controls=("AKS-001", "AKS-018", "AKS-019", "AKS-020", "AKS-090")),
    _P(CLUSTER, "identity", "2019-02-01", "2019-04-01", controls=("AKS-013",)),
    _P(CLUSTER, "properties.networkProfile.loadBalancerSku", "2019-02-01", "2019-04-01", controls=("AKS-025",)),
    _P(CLUSTER, "properties.diskEncryptionSetID", "2019-08-01", "2020-02-01", controls=("AKS-036",)),
    _P(CLUSTER, "sku", "2020-02-01", "2020-03-01", controls=("AKS-041",)),
    _P(CLUSTER, "properties.aadProfile.managed", "2020-02-01", "2020-03-01", controls=("AKS-004", "AKS-016", "AKS-017")),
    _P(CLUSTER, "properties.aadProfile.adminGroupObjectIDs", "2020-02-01", "2020-03-01", controls=("AKS-017",)),
    _P(CLUSTER, "properties.networkProfile.outboundType", "2019-08-01", "2020-03-01", controls=("AKS-026",)),
    _P(CLUSTER, "properties.aadProfile.enableAzureRBAC", "2020-04-01", "2020-06-01", controls=("AKS-016",)),
    _P(CLUSTER, "properties.autoUpgradeProfile", "2020-09-01", "2020-11-01",
       controls=("AKS-007", "AKS-008", "AKS-038", "AKS-040")),
    _P(CLUSTER, "properties.podIdentityProfile", "2020-09-01", "2020-11-01", controls=("AKS-024",)),
    _P(CLUSTER, "properties.disableLocalAccounts", "2021-02-01", "2021-03-01", controls=("AKS-002", "AKS-090")),
    _P(CLUSTER, "properties.securityProfile", "2021-05-01", "2021-07-01",
       controls=("AKS-009", "AKS-021", "AKS-042", "AKS-043", "AKS-044", "AKS-047")),
    _P(CLUSTER, "properties.securityProfile.azureDefender", "2021-05-01", "2021-07-01", last="2022-04-01",
       gone="2022-06-01", controls=("AKS-009",)),
    _P(CLUSTER, "properties.apiServerAccessProfile.disableRunCommand", "2021-07-01", "2021-08-01",
       controls=("AKS-018",)),
    _P(CLUSTER, "properties.apiServerAccessProfile.enablePrivateClusterPublicFQDN", "2021-03-01", "2021-07-01",
       controls=("AKS-020",)),
    _P(CLUSTER, "properties.securityProfile.defender", "2022-04-01", "2022-06-01", controls=("AKS-009",)),
    _P(CLUSTER, "properties.securityProfile.azureKeyVaultKms", "2022-04-01", "2022-06-01",
       controls=("AKS-042", "AKS-043", "AKS-044")),
    _P(CLUSTER, "properties.storageProfile", "2022-01-01", "2022-04-01", controls=("AKS-049",)),
    _P(CLUSTER, "properties.oidcIssuerProfile", "2022-06-01", "2023-02-01"),
    _P(CLUSTER, "properties.securityProfile.workloadIdentity", "2023-01-01", "2023-02-01", controls=("AKS-021",)),
    _P(CLUSTER, "properties.securityProfile.imageCleaner", "2023-01-01", "2023-02-01", controls=("AKS-047",)),
    # overlay and the Cilium dataplane: 2023-01-01/types.md has neither property, 2023-02-01/types.md has both
    _P(CLUSTER, "properties.networkProfile.networkPluginMode", "2023-01-01", "2023-02-01",
       controls=("AKS-027", "AKS-028", "AKS-030")),
    _P(CLUSTER, "properties.networkProfile.networkDataplane", "2023-01-01", "2023-02-01",
       controls=("AKS-005", "AKS-070", "AKS-071")),
    # the node OS channel is GA from API 2023-06-01 (arm/defaults.py, types-2023-06-01)
    _P(CLUSTER, "properties.autoUpgradeProfile.nodeOSUpgradeChannel", "2023-05-01", "2023-06-01",
       controls=("AKS-008", "AKS-040"), source="types-2023-06-01"),
    # node pools (agentPoolProfiles entries, agentPools resources at their own apiVersion)
    *(_P(POOL, p, "2018-03-31", "2019-02-01", controls=c) for p, c in (
        ("type", ("AKS-031", "AKS-032", "AKS-037")), ("availabilityZones", ("AKS-032",)),
        ("enableAutoScaling", ("AKS-033", "AKS-037", "AKS-072")), ("minCount", ("AKS-033", "AKS-072")),
        ("orchestratorVersion", ("AKS-038", "AKS-039")))),
    *(_P(POOL, p, "2019-04-01", "2019-06-01", controls=c) for p, c in (
        ("enableNodePublicIP", ("AKS-011",)), ("nodeTaints", ("AKS-034",)), ("scaleSetPriority", ("AKS-072",)))),
    _P(POOL, "mode", "2020-02-01", "2020-03-01", controls=("AKS-033", "AKS-034", "AKS-050", "AKS-072")),
    _P(POOL, "osDiskType", "2020-06-01", "2020-09-01", controls=("AKS-035",), source="python-sdk-9.4.0"),
    _P(POOL, "kubeletConfig", "2020-09-01", "2020-11-01", controls=("AKS-073", "AKS-074", "AKS-075")),
    _P(POOL, "linuxOSConfig", "2020-09-01", "2020-11-01", controls=("AKS-076",)),
    *(_P(POOL, f"kubeletConfig.{p}", "2020-11-01", "2020-12-01", controls=c) for p, c in (
        ("podMaxPids", ("AKS-074",)), ("containerLogMaxSizeMB", ("AKS-075",)),
        ("containerLogMaxFiles", ("AKS-075",)))),
    _P(POOL, "enableEncryptionAtHost", "2020-11-01", "2020-12-01", controls=("AKS-010",)),
)


@dataclass(frozen=True)
class Value:
    """A value of an enumerated property that only some API versions take (matched case-insensitively).

    Before ``having`` (or from ``gone``) AKS rejects a request naming it, at every API version: an unknown value
    of an enumeration is not an ignored field. Versions between ``lacking`` and ``having`` (all of them before
    ``having`` when ``lacking`` is None, and previews older than ``having``) are not established: unknown. The
    REST specifications' enumerations are not the service's word here: they dropped Paid at 2023-02-01 while
    AKS took it until 2023-07-01."""

    scope: str
    path: str
    value: str
    source: str
    fact: str
    having: str | None = None  # oldest stable version known to take it (None: every version before ``gone``)
    lacking: str | None = None  # newest stable version known to reject it (None: no version before is known to)
    gone: str | None = None  # first stable version that rejects it again
    controls: tuple[str, ...] = ()
    # no stable specification known lists it, up to and including this version (the newest one read): those
    # versions, and previews up to it, are not established; later ones are taken as written (nothing sourced)
    unlisted_through: str | None = None


_V = Value
_TIERS = ("the tiers per API version (MicrosoftDocs free-standard-pricing-tiers): before 2023-01-01 sku.name Basic "
          "and sku.tier Free or Paid; from 2023-01-01 name Basic or Base and tier Free, Paid or Standard; from "
          "2023-07-01 name Base and tier Free or Standard: 'Basic and Paid will be removed in the 2023-07-01 API "
          "version, and this will be a breaking change'")
VALUES: tuple[Value, ...] = (
    _V(CLUSTER, "sku.tier", "Paid", "learn-pricing-tiers", _TIERS, gone="2023-07-01", controls=("AKS-041",)),
    _V(CLUSTER, "sku.name", "Basic", "learn-pricing-tiers", _TIERS, gone="2023-07-01", controls=("AKS-041",)),
    _V(CLUSTER, "sku.tier", "Standard", "learn-pricing-tiers", _TIERS, having="2023-01-01", lacking="2022-11-01",
       controls=("AKS-041",)),
    _V(CLUSTER, "sku.name", "Base", "learn-pricing-tiers", _TIERS, having="2023-01-01", lacking="2022-11-01",
       controls=("AKS-041",)),
    # Premium (long-term support) is in the stable specification from 2023-05-01; no source says which earlier
    # versions the service took it at
    _V(CLUSTER, "sku.tier", "Premium", "bicep-types", "sku.tier 'Free' | 'Premium' | 'Standard' from "
       "2023-05-01/types.md; earlier versions are not established", having="2023-05-01", controls=("AKS-041",)),
    # the channel arrived with autoUpgradeProfile at 2020-11-01 as none/patch/rapid/stable; node-image is listed
    # from 2021-03-01 (2021-02-01/types.md has not it); the service's word on the versions between is not sourced
    _V(CLUSTER, "properties.autoUpgradeProfile.upgradeChannel", "node-image", "bicep-types",
       "upgradeChannel 'none' | 'patch' | 'rapid' | 'stable' at 2021-02-01/types.md, 'node-image' | 'none' | "
       "'patch' | 'rapid' | 'stable' from 2021-03-01/types.md; earlier versions are not established",
       having="2021-03-01", controls=("AKS-007", "AKS-008", "AKS-040")),
    # values that came after their property (bicep-types <version>/types.md); before ``having`` the service's word
    # is not sourced (the enumerations are modelAsString: the specification alone does not say AKS rejected them)
    *(_V(CLUSTER, "properties.networkProfile.outboundType", v, "bicep-types",
         "outboundType 'loadBalancer' | 'userDefinedRouting' at 2021-05-01/types.md, 'loadBalancer' | "
         "'managedNATGateway' | 'userAssignedNATGateway' | 'userDefinedRouting' from 2021-07-01/types.md; earlier "
         "versions are not established", having="2021-07-01", controls=("AKS-026",))
      for v in ("managedNATGateway", "userAssignedNATGateway")),
    *(_V(CLUSTER, "properties.networkProfile.outboundType", v, "bicep-types",
         "outboundType 'loadBalancer' | 'managedNATGateway' | 'userAssignedNATGateway' | 'userDefinedRouting' at "
         "every stable version through 2024-09-01/types.md (none is listed at 2025-10-02-preview, block at no "
         "version read); those versions are not established", unlisted_through="2024-09-01",
         controls=("AKS-026",))
      for v in ("none", "block")),
    # the identity arrived at 2019-04-01 as None/SystemAssigned (a closed enumeration, no '| string'); UserAssigned
    # is listed at 2020-06-01/types.md (2019-08-01/types.md has not it)
    _V(CLUSTER, "identity.type", "UserAssigned", "bicep-types",
       "identity.type 'None' | 'SystemAssigned' at 2019-08-01/types.md, 'None' | 'SystemAssigned' | 'UserAssigned' "
       "at 2020-06-01/types.md; the versions between are not established", having="2020-06-01",
       lacking="2019-08-01", controls=("AKS-013",)),
    # clientId "msi" is a managed-identity cluster's placeholder; before identity (2019-04-01/types.md has it,
    # 2019-02-01/types.md has not) every cluster has a service principal and "msi" names none: AKS looks the
    # service principal up and refuses a clientId it does not find
    _V(CLUSTER, "properties.servicePrincipalProfile.clientId", "msi", "bicep-types",
       "managed identities came with identity at 2019-04-01/types.md (2019-02-01/types.md has none, and its "
       "servicePrincipalProfile.clientId is 'The ID for the service principal'); the versions between are not "
       "established", having="2019-04-01", lacking="2019-02-01", controls=("AKS-013",)),
    _V(CLUSTER, "properties.networkProfile.networkPlugin", "none", "bicep-types",
       "networkPlugin 'azure' | 'kubenet' at 2022-04-01/types.md, 'azure' | 'kubenet' | 'none' from "
       "2022-06-01/types.md; earlier versions are not established", having="2022-06-01",
       controls=("AKS-027", "AKS-028", "AKS-030")),
    _V(CLUSTER, "properties.networkProfile.networkPolicy", "cilium", "bicep-types",
       "networkPolicy 'azure' | 'calico' at 2023-01-01/types.md, 'azure' | 'calico' | 'cilium' from "
       "2023-02-01/types.md; earlier versions are not established", having="2023-02-01", controls=("AKS-005",)),
    # the node OS channel arrived at 2023-06-01 as NodeImage/None/Unmanaged (also at 2023-07-01, 2023-10-01 and
    # 2024-02-01/types.md); SecurityPatch is listed at 2024-05-01/types.md
    _V(CLUSTER, "properties.autoUpgradeProfile.nodeOSUpgradeChannel", "SecurityPatch", "bicep-types",
       "nodeOSUpgradeChannel 'NodeImage' | 'None' | 'Unmanaged' at 2023-06-01 to 2024-02-01/types.md, 'NodeImage' "
       "| 'None' | 'SecurityPatch' | 'Unmanaged' at 2024-05-01/types.md; earlier versions are not established",
       having="2024-05-01", controls=("AKS-008", "AKS-040")),
)

_BY_SCOPE: dict[str, list[Property]] = {}
for _row in PROPERTIES:
    _BY_SCOPE.setdefault(_row.scope, []).append(_row)
_VALUES_BY_SCOPE: dict[str, list[Value]] = {}
for _value in VALUES:
    _VALUES_BY_SCOPE.setdefault(_value.scope, []).append(_value)


def rows_for(control_id: str) -> list[Property]:
    return [r for r in PROPERTIES if control_id in r.controls]


def _version(api: Any) -> tuple[tuple[int, int, int], bool] | None:
    parsed = parse_api_version(api)
    return None if parsed is None else (parsed, api.strip().lower().endswith("-preview"))


def _v(text: str) -> tuple[int, int, int]:
    parsed = parse_api_version(text)
    assert parsed is not None, text
    return parsed


def _standing(row: Property, version: tuple[int, int, int], preview: bool) -> bool | str:
    """True: the version has the property; False: it has not; a str: why that is not known."""
    if row.gone is not None and row.last is not None and version > _v(row.last):
        if preview or version < _v(row.gone):
            return (f"whether API versions after {row.last} (the last stable one known to have it) still had it is "
                    f"not established, before {row.gone} (the first without it)")
        return False
    if version >= _v(row.having):
        return True
    if version <= _v(row.lacking) and not preview:
        return False
    if preview:
        return (f"a preview API version older than {row.having} (the first stable version known to have it) may "
                f"or may not have had it")
    return f"the stable versions between {row.lacking} (without it) and {row.having} (with it) are not established"


def _value_standing(row: Value, version: tuple[int, int, int], preview: bool) -> bool | str:
    """True: the version takes the value; False: AKS rejects it; a str: why that is not known."""
    if row.unlisted_through is not None:
        if version <= _v(row.unlisted_through):
            return (f"no stable specification through {row.unlisted_through} lists it; this version is not "
                    f"established")
        return True
    if row.gone is not None and version >= _v(row.gone) and not preview:
        return False
    if row.having is None or version >= _v(row.having):
        if row.gone is not None and preview and version >= _v(row.gone):
            return f"whether a preview API version from {row.gone} still takes it is not established"
        return True
    if row.lacking is not None and version <= _v(row.lacking) and not preview:
        return False
    return (f"it is known from API {row.having}" + (f" and rejected at {row.lacking}" if row.lacking else "")
            + "; this version is not established")


def _strict(version: tuple[int, int, int], preview: bool) -> bool:
    return version >= (STRICT_PREVIEW if preview else STRICT_STABLE)


def _find(obj: Any, path: str) -> tuple[dict[str, Any], str] | None:
    """The object holding ``path``'s last segment and its key there (matched as ARM does), when present."""
    segs = path.split(".")
    for seg in segs[:-1]:
        key = ci_key(obj, seg, None) if isinstance(obj, dict) else None
        if key is None:
            return None
        obj = obj[key]
    if not isinstance(obj, dict):
        return None
    key = ci_key(obj, segs[-1], None)
    return None if key is None or obj[key] is None else (obj, key)


def _writable(obj: dict[str, Any], path: str) -> tuple[dict[str, Any], str] | None:
    """Like ``_find``, copying each object on the way (bodies are shared with the input)."""
    segs = path.split(".")
    for seg in segs[:-1]:
        key = ci_key(obj, seg, None)
        child = obj.get(key) if key is not None else None
        if not isinstance(child, dict):
            return None
        obj[key] = child = _copy(child)
        obj = child
    key = ci_key(obj, segs[-1], None)
    return None if key is None else (obj, key)


def _rejection(resource: Resource, where: str, api: str, value: Any) -> MalformedValue:
    return MalformedValue(where, f"absent: API {api} has no such property, and from API 2024-01-01 AKS rejects a "
                                 f"request with a field its version lacks ({SOURCES['aks-4060']})", value,
                          resource.where_of(where), found=json_type(value))


def gate(obj: dict[str, Any], scope: str, resource: Resource, prefix: str, into: Resource) -> MalformedValue | None:
    """Drop from ``obj`` (a cluster body, or one pool of it) what the API version of the request ``resource`` does
    not have, as AKS did; make unknown what is not established; return the rejection of a version that refuses
    unknown fields. Each property dropped is noted in ``into.subtree_notes`` (the target's view) under its body
    path (``prefix`` + the row's path), which covers what lies below it."""
    if resource.state != REQUEST:
        return None
    parsed = _version(resource.api_version)
    if parsed is None:
        return None  # an unknown or unparsable apiVersion: the defaults say what that leaves unknown
    version, preview = parsed
    api = str(resource.api_version).strip()
    for row in _BY_SCOPE.get(scope, ()):
        if _find(obj, row.path) is None:
            continue
        standing = _standing(row, version, preview)
        if standing is True:
            continue
        held = _writable(obj, row.path)
        if held is None:
            continue
        holder, key = held
        where = f"{prefix}{row.path}"
        if isinstance(standing, str):
            holder[key] = Unknown(f"{where} is set, but whether API {api} has it is not known: {standing} "
                                  f"({row.fact()}; {SOURCES[row.source]}); AKS ignored fields its version lacks")
            continue
        if _strict(version, preview):
            return _rejection(into, where, api, holder[key])
        del holder[key]
        notes = into.subtree_notes if into.subtree_notes is not None else {}
        into.subtree_notes = notes
        notes[where] = (f"set, but API {api} has no {row.path.rsplit('.', 1)[-1]} ({row.fact()}): AKS ignored it, "
                        f"as it ignored every field its version lacks before API 2024-01-01 ({SOURCES['aks-4060']})")
    return _values(obj, scope, version, preview, api, prefix, into)


def _values(obj: dict[str, Any], scope: str, version: tuple[int, int, int], preview: bool, api: str, prefix: str,
            into: Resource) -> MalformedValue | None:
    """Enumerated values the request's version does not take: AKS rejects the request; unknown where that is
    not established."""
    for row in _VALUES_BY_SCOPE.get(scope, ()):
        found = _find(obj, row.path)
        if found is None:
            continue
        holder, key = found
        value = holder[key]
        if not isinstance(value, str) or value.strip().lower() != row.value.lower():
            continue
        standing = _value_standing(row, version, preview)
        if standing is True:
            continue
        where = f"{prefix}{row.path}"
        if isinstance(standing, str):
            held = _writable(obj, row.path)
            if held is not None:
                held[0][held[1]] = Unknown(f"{where} is {value!r}: whether API {api} takes it is not known: "
                                           f"{standing} ({row.fact}; {SOURCES[row.source]})")
            continue
        return MalformedValue(where, f"a value API {api} takes: {row.fact} ({SOURCES[row.source]}); AKS rejects "
                                     f"the request", value, into.where_of(where), found=repr(value))
    return None


def note_for(resource: Resource, path: str) -> str | None:
    """The note of an ignored property at ``path`` or above it."""
    notes = resource.subtree_notes
    if not notes:
        return None
    for where, note in notes.items():
        if path == where or path.startswith(where + ".") or path.startswith(where + "["):
            return note
    return None


__all__ = ["PROPERTIES", "Property", "VALUES", "Value", "gate", "note_for", "rows_for"]
