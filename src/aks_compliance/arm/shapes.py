"""The JSON shapes the AKS REST API requires of the properties the catalog reads.

Where the API expects an object or an array and a request (or an export) has another type, AKS rejects
the whole request: the cluster is never created. So must the scan: a target with such a value is an
*error* for every control, naming file, line, JSON pointer, the expected type and the actual one,
instead of controls reading the value as absent and passing over it (a node-pool rule is vacuously true
over zero pools). The condition evaluator's strict walk (``Subject.strict``) is the safety net for any
other path a control reads.

Paths are body paths; ``[*]`` is every member of an array; ``{*}`` every value of a map (add-on profiles).
Absent and null are fine (absent); an unknown value is unknown, not malformed.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Callable

from ..errors import EvaluationLimit
from ..policy.conditions import MISSING, MalformedValue
from ..wording import json_type
from ..redaction import redact_capped
from ..values import Unknown

OBJECT, ARRAY = "an object", "an array"
# A switch the AKS REST API types boolean: true or false (the strings "true"/"false" in any case are read as the
# booleans they spell, as Azure Policy compares them); "yes", 0 or "on" is rejected, never read as not-true.
SWITCH = "a boolean (true or false)"
# An array member that may also be null: Kubernetes decodes null into the zero value of the member's type, which
# for some types is valid (an empty NetworkPolicy rule allows all traffic)
NULLABLE_OBJECT = "an object or null"
# Scalars, for APIs that decode strictly into typed fields (the Kubernetes API server: a string where a bool
# belongs is rejected, not converted: `privileged: "true"` never reaches a cluster, and read as a string it is not
# true, so it would pass). An API adds its own kinds to its ShapeTable (Kubernetes: a resource quantity).
BOOLEAN, INTEGER, STRING = "a boolean", "an integer", "a string"
# An API server authorized IP range (ManagedClusterAPIServerAccessProfile.authorizedIPRanges: "IP ranges are
# specified in CIDR format, e.g. 137.117.106.88/29"; the API server has an IPv4 address only). A bare address is one
# host, and host bits may be set (Learn, api-server-authorized-ip-ranges: 137.117.106.90/29 is valid); a prefix over
# 32, a name, "*" or "" is rejected by AKS, so the cluster never exists.
IPV4_RANGE = "an IPv4 address or CIDR range (such as 203.0.113.0/24)"
_DOTTED = re.compile(r"\d{1,3}(\.\d{1,3}){3}(/\d{1,2})?")  # no netmask or integer spellings ipaddress also takes


def _is_ipv4_range(v: Any) -> bool:
    if not isinstance(v, str) or not _DOTTED.fullmatch(v):
        return False
    try:
        ipaddress.IPv4Network(v, strict=False)
    except ValueError:
        return False
    return True


def _is_integer(v: Any) -> bool:
    # an integral float (1000.0, as JSON may spell an integer) is decoded into an integer field
    return (type(v) is int) or (type(v) is float and v.is_integer())


# A property the AKS REST API types int32 (count, maxPods, osDiskSizeGB, ...): a number that is not an integer (1.5,
# Infinity from float('1e400')) or lies outside int32 is rejected by the API, so it is malformed, never compared
# (an infinite count would pass AKS-072). A string ("3") or a boolean is rejected too: AKS decodes the body into
# typed fields and does not convert; read as it is, "3" made AKS-072 an error with no place and a boolean maxPods
# passed every control.
INT32 = "an integer within the 32-bit range (-2147483648 to 2147483647)"
_INT32_MIN, _INT32_MAX = -2 ** 31, 2 ** 31 - 1


def _is_number(v: Any) -> bool:
    return type(v) in (int, float)


def _fits_int32(v: Any) -> bool:
    return _is_integer(v) and _INT32_MIN <= v <= _INT32_MAX


def _found_int32(v: Any) -> str | None:
    """What an int32 value that does not fit is, in words (never its text); None for a value of another JSON
    type (its type says it)."""
    if not _is_number(v):
        return None
    if type(v) is float and not v.is_integer():
        return "a number that is not an integer" + (" (infinite)" if v in (float("inf"), float("-inf")) else "")
    return "an integer outside the 32-bit range"


# ManagedClusterIdentity.type (AKS REST API, ResourceIdentityType): "SystemAssigned" | "UserAssigned" | "None". A
# cluster has one identity type; the "SystemAssigned, UserAssigned" of other resource providers is not among them,
# so AKS rejects it (it failed AKS-025 as if the cluster used a service principal). Which versions have UserAssigned
# is arm/api_versions.py's; letter case is not judged here.
CLUSTER_IDENTITY_TYPE = "one of SystemAssigned, UserAssigned or None"
_CLUSTER_IDENTITY_TYPES = frozenset({"systemassigned", "userassigned", "none"})


def _found_value(v: Any) -> str | None:
    """A string value that is not one the API names, quoted in words (redacted, capped), else None."""
    return f"{json_type(v)} {redact_capped(repr(v), 80)}" if isinstance(v, str) else None


_FITS: dict[str, Callable[[Any], bool]] = {
    OBJECT: lambda v: isinstance(v, dict), NULLABLE_OBJECT: lambda v: isinstance(v, dict),
    ARRAY: lambda v: isinstance(v, list), BOOLEAN: lambda v: type(v) is bool, SWITCH: lambda v: _is_boolean(v),
    INTEGER: _is_integer, INT32: _fits_int32,
    STRING: lambda v: isinstance(v, str), IPV4_RANGE: _is_ipv4_range,
    CLUSTER_IDENTITY_TYPE: lambda v: isinstance(v, str) and v.lower() in _CLUSTER_IDENTITY_TYPES,
}
# What a value that does not fit is, in words, where its JSON type alone would not say (a string that is no enum
# member is still "a string"); kinds not listed are described by their type
_FOUND: dict[str, Callable[[Any], str | None]] = {INT32: lambda v: _found_int32(v), CLUSTER_IDENTITY_TYPE: _found_value}
# A null member of an array is malformed where a container belongs, or where its zero value ("") is itself rejected
_NULL_MEMBER_REJECTED = (OBJECT, ARRAY, IPV4_RANGE)

_POOL = (
    ("", OBJECT), ("availabilityZones", ARRAY), ("nodeTaints", ARRAY), ("nodeLabels", OBJECT), ("tags", OBJECT),
    ("securityProfile", OBJECT), ("upgradeSettings", OBJECT), ("kubeletConfig", OBJECT), ("linuxOSConfig", OBJECT),
    ("kubeletConfig.allowedUnsafeSysctls", ARRAY), ("linuxOSConfig.sysctls", OBJECT),
    ("networkProfile", OBJECT), ("creationData", OBJECT), ("powerState", OBJECT),
    ("enableNodePublicIP", SWITCH), ("enableEncryptionAtHost", SWITCH), ("enableAutoScaling", SWITCH),
    # int32 in ManagedClusterAgentPoolProfile(Properties), KubeletConfig, LinuxOSConfig, SysctlConfig (AKS REST API)
    *((p, INT32) for p in (
        "count", "minCount", "maxCount", "maxPods", "osDiskSizeGB",
        "upgradeSettings.drainTimeoutInMinutes", "upgradeSettings.nodeSoakDurationInMinutes",
        "kubeletConfig.imageGcHighThreshold", "kubeletConfig.imageGcLowThreshold",
        "kubeletConfig.containerLogMaxSizeMB", "kubeletConfig.containerLogMaxFiles", "kubeletConfig.podMaxPids",
        "linuxOSConfig.swapFileSizeMB",
        *(f"linuxOSConfig.sysctls.{k}" for k in (
            "netCoreSomaxconn", "netCoreNetdevMaxBacklog", "netCoreRmemDefault", "netCoreRmemMax",
            "netCoreWmemDefault", "netCoreWmemMax", "netCoreOptmemMax", "netIpv4TcpMaxSynBacklog",
            "netIpv4TcpMaxTwBuckets", "netIpv4TcpFinTimeout", "netIpv4TcpKeepaliveTime", "netIpv4TcpKeepaliveProbes",
            "netIpv4TcpkeepaliveIntvl", "netIpv4NeighDefaultGcThresh1", "netIpv4NeighDefaultGcThresh2",
            "netIpv4NeighDefaultGcThresh3", "netNetfilterNfConntrackMax", "netNetfilterNfConntrackBuckets",
            "fsInotifyMaxUserWatches", "fsFileMax", "fsAioMaxNr", "fsNrOpen", "kernelThreadsMax", "vmMaxMapCount",
            "vmSwappiness", "vmVfsCachePressure")))),
)

SHAPES: dict[str, tuple[tuple[str, str], ...]] = {
    "microsoft.containerservice/managedclusters": (
        ("properties", OBJECT), ("sku", OBJECT), ("identity", OBJECT), ("tags", OBJECT),
        ("apiVersion", STRING),  # ARM's yyyy-mm-dd[-preview] (a number is no version: every default misread)
        ("identity.userAssignedIdentities", OBJECT), ("identity.type", CLUSTER_IDENTITY_TYPE),
        ("properties.agentPoolProfiles", ARRAY),
        *((f"properties.agentPoolProfiles[*]{'.' + p if p else ''}", k) for p, k in _POOL),
        ("properties.addonProfiles", OBJECT), ("properties.addonProfiles{*}", OBJECT),
        # config is map[string]string (ManagedClusterAddonProfile.config: Record<string, string>): a boolean true
        # for enableSecretRotation is rejected, so it must not pass AKS-046 as the string "true" would
        ("properties.addonProfiles{*}.config", OBJECT), ("properties.addonProfiles{*}.config{*}", STRING),
        ("properties.aadProfile", OBJECT), ("properties.aadProfile.adminGroupObjectIDs", ARRAY),
        ("properties.apiServerAccessProfile", OBJECT), ("properties.apiServerAccessProfile.authorizedIPRanges", ARRAY),
        ("properties.apiServerAccessProfile.authorizedIPRanges[*]", IPV4_RANGE),
        ("properties.autoUpgradeProfile", OBJECT),
        ("properties.networkProfile", OBJECT), ("properties.networkProfile.loadBalancerProfile", OBJECT),
        ("properties.networkProfile.natGatewayProfile", OBJECT),
        ("properties.networkProfile.advancedNetworking", OBJECT),
        ("properties.networkProfile.advancedNetworking.security", OBJECT),
        ("properties.networkProfile.advancedNetworking.security.transitEncryption", OBJECT),
        ("properties.networkProfile.advancedNetworking.observability", OBJECT),
        ("properties.networkProfile.podCidrs", ARRAY), ("properties.networkProfile.serviceCidrs", ARRAY),
        ("properties.securityProfile", OBJECT), ("properties.securityProfile.defender", OBJECT),
        ("properties.securityProfile.defender.securityMonitoring", OBJECT),
        ("properties.securityProfile.azureDefender", OBJECT),
        ("properties.securityProfile.workloadIdentity", OBJECT), ("properties.securityProfile.azureKeyVaultKms", OBJECT),
        ("properties.securityProfile.imageCleaner", OBJECT), ("properties.securityProfile.imageIntegrity", OBJECT),
        ("properties.storageProfile", OBJECT), ("properties.storageProfile.diskCSIDriver", OBJECT),
        ("properties.storageProfile.fileCSIDriver", OBJECT), ("properties.storageProfile.snapshotController", OBJECT),
        ("properties.storageProfile.blobCSIDriver", OBJECT),
        ("properties.azureMonitorProfile", OBJECT), ("properties.azureMonitorProfile.metrics", OBJECT),
        ("properties.azureMonitorProfile.containerInsights", OBJECT),
        ("properties.oidcIssuerProfile", OBJECT), ("properties.podIdentityProfile", OBJECT),
        ("properties.servicePrincipalProfile", OBJECT), ("properties.identityProfile", OBJECT),
        ("properties.linuxProfile", OBJECT), ("properties.windowsProfile", OBJECT),
        ("properties.autoScalerProfile", OBJECT), ("properties.workloadAutoScalerProfile", OBJECT),
        ("properties.ingressProfile", OBJECT), ("properties.serviceMeshProfile", OBJECT),
        *((f"properties.{p}", SWITCH) for p in (
            "enableRBAC", "disableLocalAccounts", "aadProfile.managed", "aadProfile.enableAzureRBAC",
            "apiServerAccessProfile.enablePrivateCluster", "apiServerAccessProfile.enablePrivateClusterPublicFQDN",
            "apiServerAccessProfile.disableRunCommand", "addonProfiles{*}.enabled",
            "securityProfile.defender.securityMonitoring.enabled", "securityProfile.azureDefender.enabled",
            "securityProfile.workloadIdentity.enabled", "securityProfile.azureKeyVaultKms.enabled",
            "securityProfile.imageCleaner.enabled", "securityProfile.imageIntegrity.enabled",
            "storageProfile.diskCSIDriver.enabled", "storageProfile.fileCSIDriver.enabled",
            "storageProfile.snapshotController.enabled", "azureMonitorProfile.containerInsights.enabled",
            "oidcIssuerProfile.enabled", "podIdentityProfile.enabled", "networkProfile.advancedNetworking.enabled",
            "networkProfile.advancedNetworking.security.enabled")),
        # int32 in ManagedClusterLoadBalancerProfile, ManagedClusterNATGatewayProfile, imageCleaner (AKS REST API)
        *((f"properties.{p}", INT32) for p in (
            "networkProfile.loadBalancerProfile.allocatedOutboundPorts",
            "networkProfile.loadBalancerProfile.idleTimeoutInMinutes",
            "networkProfile.loadBalancerProfile.managedOutboundIPs.count",
            "networkProfile.loadBalancerProfile.managedOutboundIPs.countIPv6",
            "networkProfile.natGatewayProfile.idleTimeoutInMinutes",
            "networkProfile.natGatewayProfile.managedOutboundIPProfile.count",
            "securityProfile.imageCleaner.intervalHours")),
    ),
    "microsoft.containerservice/managedclusters/agentpools": (("apiVersion", STRING), *(
        (f"properties{'.' + p if p else ''}", k) for p, k in _POOL)),
}


def _segments(path: str) -> list[str]:
    out: list[str] = []
    for part in path.replace("[*]", ".[*]").replace("{*}", ".{*}").split("."):
        if part:
            out.append(part)
    return out


class _Node:
    """The shape paths of a type as a tree: one walk of a body checks all of them."""

    __slots__ = ("checks", "keys", "members", "values")

    def __init__(self) -> None:
        self.checks: list[tuple[int, str]] = []  # (position in the shape list, a kind of _FITS)
        self.keys: dict[str, _Node] = {}
        self.members: _Node | None = None  # [*]
        self.values: _Node | None = None  # {*}


def _tree(shapes: tuple[tuple[str, str], ...]) -> _Node:
    root = _Node()
    for n, (path, kind) in enumerate(shapes):
        node = root
        for seg in _segments(path):
            if seg == "[*]":
                node.members = node.members or _Node()
                node = node.members
            elif seg == "{*}":
                node.values = node.values or _Node()
                node = node.values
            else:
                node = node.keys.setdefault(seg, _Node())
        node.checks.append((n, kind))
    return root


_DEFAULT = (("properties", OBJECT),)  # every ARM resource: properties is an object


def _is_boolean(value: Any) -> bool:
    return isinstance(value, bool) or (isinstance(value, str) and value.lower() in ("true", "false"))


def _walk(value: Any, path: str, node: _Node, found: list[tuple[Any, ...]], fold: bool,
          fits: dict[str, Callable[[Any], bool]] = _FITS, parent: Any = None, key: Any = None) -> None:
    """Every value the shape paths name that has the wrong type: (shape position, order found, concrete
    path, expected kind, value, the object or array holding it, its key or index there). Absent, null and unknown values are fine (but a null member of an array is
    not); a wrong type stops the walk below it
    (what lies below is reported by nothing: the shorter path already is). ``fold``: keys match whatever
    their case (ARM), else exactly (Kubernetes)."""
    if value is MISSING or value is None or isinstance(value, Unknown):
        return
    is_dict = isinstance(value, dict)
    for n, kind in node.checks:
        if not fits[kind](value):
            found.append((n, len(found), path, kind, value, parent, key))
    if is_dict:
        folded: dict[str, Any] | None = None  # lower-cased keys, made once per object when a key is not exact
        for seg, child in node.keys.items():
            v = value.get(seg, MISSING)
            if v is MISSING and fold:
                folded = _folded(value) if folded is None else folded
                v = folded.get(seg.lower(), MISSING)
            if v is MISSING or v is None or isinstance(v, Unknown):
                continue  # absent: nothing to check, and no path to format
            real = seg if seg in value else next(k for k in value if isinstance(k, str) and k.lower() == seg.lower())
            _walk(v, f"{path}.{seg}" if path else seg, child, found, fold, fits, value, real)
        if node.values is not None:
            for k, v in value.items():
                _walk(v, f"{path}.{k}", node.values, found, fold, fits, value, k)
    elif isinstance(value, list) and node.members is not None:
        members = node.members
        for i, v in enumerate(value):
            if v is None:  # a member that is null is not absent: the API rejects [null] where objects belong
                # (Go decodes a null scalar member to its zero value: "" or 0, a value the checks then judge)
                found.extend((n, len(found), f"{path}[{i}]", kind, v, value, i) for n, kind in members.checks
                             if kind in _NULL_MEMBER_REJECTED)
                continue
            _walk(v, f"{path}[{i}]", members, found, fold, fits, value, i)


def _folded(value: dict[Any, Any]) -> dict[str, Any]:
    """An object's members by lower-cased key, the first of keys equal but for case winning (as _ci)."""
    folded: dict[str, Any] = {}
    for k, val in value.items():
        if isinstance(k, str):
            folded.setdefault(k.lower(), val)
    return folded


def _fits(value: Any, node: _Node, fold: bool, fits: dict[str, Callable[[Any], bool]]) -> bool:
    """Whether ``_walk`` would find nothing: the same walk without the paths and places it reports (made for
    every node it visits; nearly every object fits, and only one that does not is walked again for them)."""
    if value is MISSING or value is None or isinstance(value, Unknown):
        return True
    for _, kind in node.checks:
        if not fits[kind](value):
            return False
    if isinstance(value, dict):
        folded: dict[str, Any] | None = None
        for seg, child in node.keys.items():
            v = value.get(seg, MISSING)
            if v is MISSING and fold:
                folded = _folded(value) if folded is None else folded
                v = folded.get(seg.lower(), MISSING)
            if not _fits(v, child, fold, fits):
                return False
        if node.values is not None:
            for v in value.values():
                if not _fits(v, node.values, fold, fits):
                    return False
    elif isinstance(value, list) and node.members is not None:
        members = node.members
        for v in value:
            if v is None:
                if any(kind in _NULL_MEMBER_REJECTED for _, kind in members.checks):
                    return False
                continue
            if not _fits(v, members, fold, fits):
                return False
    return True


class ShapeTable:
    """The shapes an API requires, by resource type (case-insensitive), checked in one walk of a body."""

    def __init__(self, shapes: dict[str, tuple[tuple[str, str], ...]], default: tuple[tuple[str, str], ...] = (),
                 fold: bool = True, kinds: dict[str, Callable[[Any], bool]] | None = None) -> None:
        self.fits = {**_FITS, **(kinds or {})}  # an API's own value kinds besides JSON's (a quantity)
        self.shapes = {k.lower(): v for k, v in shapes.items()}
        self.default = default
        self.fold = fold
        self._trees: dict[str, _Node] = {}

    def malformed(self, rtype: str, body: Any, where: Callable[[str], str] | None = None) -> MalformedValue | None:
        """The first value of ``body`` (a resource of ``rtype``) whose type the API rejects, in the order of
        the shape list (and of members within one shape path), or None."""
        found = self._mismatches(rtype.lower(), body)
        if not found:
            return None
        _, _, concrete, kind, value, _, _ = min(found, key=lambda f: (f[0], f[1]))
        found_as = _FOUND.get(kind)
        return MalformedValue(concrete, kind, value, where(concrete) if where else "",
                              found_as(value) if found_as is not None else None)

    def mismatches(self, rtype: str, body: Any) -> list[tuple[str, str, Any, Any, Any]]:
        """Every value of ``body`` whose type the API rejects: (concrete path, expected kind, value, the
        object or array holding it, its key or index there), in the order found."""
        found = self._mismatches(rtype.lower(), body)
        return [(f[2], f[3], f[4], f[5], f[6]) for f in sorted(found, key=lambda f: f[1])]

    def _mismatches(self, key: str, body: Any) -> list[tuple[Any, ...]]:
        tree = self._trees.get(key)
        if tree is None:
            shapes = self.shapes.get(key, self.default)
            if not shapes:
                return []
            tree = self._trees[key] = _tree(shapes)
        found: list[tuple[Any, ...]] = []
        if not _fits(body, tree, self.fold, self.fits):
            _walk(body, "", tree, found, self.fold, self.fits)
        return found


ARM_SHAPES = ShapeTable(SHAPES, _DEFAULT)
malformed = ARM_SHAPES.malformed


class FailedExpression(MalformedValue):
    """A value of a request whose template expression ARM cannot evaluate (div(1, 0), an unknown function, a
    parameter the template lacks): ARM fails the deployment, so the resource is never created. Like a malformed
    shape, every control of the resource is an error naming the place and the expression, including controls
    that read nothing near it (they passed beside an error item of no control)."""

    def __init__(self, path: str, reason: str, where: str) -> None:
        detail = reason.split(" ", 2)[-1] if reason.startswith("expression error") else reason
        if where and detail.startswith(f"at {where}: "):
            detail = detail[len(f"at {where}: "):]  # said once: where the value is is where the expression is
        # the reason was redacted where the unknown was made (values.Unknown): it may quote a literal credential
        super().__init__(path, "a value ARM can evaluate", None, where,
                         found=f"an expression ARM cannot evaluate ({detail})")
        self.args = (f"{where + ': ' if where else ''}{path}: ARM cannot evaluate its expression and fails the "
                     f"deployment: {detail}",)


def failed_expression(body: Any, where: Callable[[str], str], error_prefix: str, path: str = "") -> \
        FailedExpression | None:
    """The first value of ``body`` that is unknown because ARM cannot evaluate its expression (its reason
    begins with ``error_prefix``; not one stopped by a limit of this scan), or None."""
    if isinstance(body, Unknown):
        reason = body.reason
        return FailedExpression(path or "(the resource)", reason, where(path)) \
            if reason.startswith(error_prefix) and EvaluationLimit.MARK not in reason else None
    items = body.items() if isinstance(body, dict) else enumerate(body) if isinstance(body, list) else ()
    for k, v in items:
        if isinstance(v, (dict, list, Unknown)):
            found = failed_expression(v, where, error_prefix,
                                      f"{path}[{k}]" if isinstance(k, int) else f"{path}.{k}" if path else str(k))
            if found is not None:
                return found
    return None


def rejection_of(resource: Any) -> MalformedValue | None:
    """Why ARM or AKS rejects an ARM ``resource`` (a Resource) as a whole, or None: a value of a shape its API
    refuses, a rejection made with its body (a field its API version lacks, arm/api_versions.py; a name ARM
    cannot evaluate), or an expression ARM cannot evaluate. Such a resource is never created."""
    from .expressions import EXPRESSION_ERROR
    body = resource.body
    found = ARM_SHAPES.malformed(resource.type, body, resource.where_of)
    if found is None:
        found = resource.rejection
    if found is None:
        found = failed_expression(body, resource.where_of, EXPRESSION_ERROR)
    return found
