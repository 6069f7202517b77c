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

from typing import Any, Callable, Iterator

from ..policy.conditions import MISSING, MalformedValue
from ..values import Unknown

OBJECT, ARRAY = "an object", "an array"

_POOL = (
    ("", OBJECT), ("availabilityZones", ARRAY), ("nodeTaints", ARRAY), ("nodeLabels", OBJECT), ("tags", OBJECT),
    ("securityProfile", OBJECT), ("upgradeSettings", OBJECT), ("kubeletConfig", OBJECT), ("linuxOSConfig", OBJECT),
    ("kubeletConfig.allowedUnsafeSysctls", ARRAY), ("linuxOSConfig.sysctls", OBJECT),
    ("networkProfile", OBJECT), ("creationData", OBJECT), ("powerState", OBJECT),
)

SHAPES: dict[str, tuple[tuple[str, str], ...]] = {
    "microsoft.containerservice/managedclusters": (
        ("properties", OBJECT), ("sku", OBJECT), ("identity", OBJECT), ("tags", OBJECT),
        ("identity.userAssignedIdentities", OBJECT),
        ("properties.agentPoolProfiles", ARRAY),
        *((f"properties.agentPoolProfiles[*]{'.' + p if p else ''}", k) for p, k in _POOL),
        ("properties.addonProfiles", OBJECT), ("properties.addonProfiles{*}", OBJECT),
        ("properties.addonProfiles{*}.config", OBJECT),
        ("properties.aadProfile", OBJECT), ("properties.aadProfile.adminGroupObjectIDs", ARRAY),
        ("properties.apiServerAccessProfile", OBJECT), ("properties.apiServerAccessProfile.authorizedIPRanges", ARRAY),
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
    ),
    "microsoft.containerservice/managedclusters/agentpools": tuple(
        (f"properties{'.' + p if p else ''}", k) for p, k in _POOL),
}


def _ci(obj: dict[str, Any], key: str) -> Any:
    v = obj.get(key, MISSING)
    if v is MISSING:
        low = key.lower()
        v = next((val for k, val in obj.items() if k.lower() == low), MISSING)
    return MISSING if v is None else v


def _values(value: Any, path: str, segments: list[str]) -> Iterator[tuple[str, Any]]:
    """(concrete path, value) of every value a shape path names (absent and unknown parents yield nothing)."""
    if not segments:
        yield path, value
        return
    if not isinstance(value, (dict, list)):
        return  # absent, unknown, or a wrong type on the way (reported by its own, shorter, shape path)
    seg, rest = segments[0], segments[1:]
    if seg == "[*]":
        if isinstance(value, list):
            for i, v in enumerate(value):
                yield from _values(v, f"{path}[{i}]", rest)
        return
    if seg == "{*}":
        if isinstance(value, dict):
            for k, v in value.items():
                yield from _values(v, f"{path}.{k}", rest)
        return
    if isinstance(value, dict):
        yield from _values(_ci(value, seg), f"{path}.{seg}" if path else seg, rest)


def _segments(path: str) -> list[str]:
    out: list[str] = []
    for part in path.replace("[*]", ".[*]").replace("{*}", ".{*}").split("."):
        if part:
            out.append(part)
    return out


def malformed(rtype: str, body: dict[str, Any], where: Callable[[str], str] | None = None) -> MalformedValue | None:
    """The first value of ``body`` (a resource of ``rtype``) whose type the API rejects, or None."""
    shapes = SHAPES.get(rtype.lower())
    if shapes is None:
        shapes = (("properties", OBJECT),)  # every ARM resource: properties is an object
    for path, kind in shapes:
        for concrete, value in _values(body, "", _segments(path)):
            if value is MISSING or value is None or isinstance(value, Unknown):
                continue
            ok = isinstance(value, dict) if kind == OBJECT else isinstance(value, list)
            if not ok:
                return MalformedValue(concrete, kind, value, where(concrete) if where else "")
    return None
