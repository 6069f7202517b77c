"""What AKS does with a property a request leaves out, per API version: one table, with its sources.

A template resource is a *request* at its ``apiVersion``: an absent property takes the default the AKS
REST API applies at that version, and some of those defaults changed over the years (RBAC, the load
balancer and pool type in 2020-04-01, the node OS channel in 2023-06-01). *Deployed* state (ARM GET, an
export, Resource Graph, a PowerShell export, an Azure CLI output) is what Azure returned, read at an API
version the file rarely states: an absent property there is unknown (the GET returns enableRBAC, count,
osDiskType, maxPods ... so their absence says nothing), except where Azure returns a property only when it was
set: custom node configuration (``omitted_when_unset``), whose absence is then the documented default.

``apply_defaults`` fills a cluster body (and each node pool in it) before the controls see it: the
default value for a request, an :class:`Unknown` with the reason for deployed state. Every value filled
in is noted on the resource (``Resource.value_notes``) so the evidence says it is a default and cites its
source. A fact that could not be confirmed is stated as such in its row and yields *unknown*, never a
guess. ``docs/controls.md`` lists, per control, the rows it relies on (``Default.controls``).

Sources (``SOURCES``) are cited by key in each row.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from ..resources import CLUSTER_TYPE, DEPLOYED, REQUEST, Resource
from ..values import Unknown

SOURCES: dict[str, str] = {
    "spec-2017-08-31": "https://github.com/Azure/azure-rest-api-specs/blob/main/specification/containerservice/"
                       "resource-manager/Microsoft.ContainerService/stable/2017-08-31/managedClusters.json",
    "aks-changelog-2020-03-09": "https://github.com/Azure/AKS/blob/master/CHANGELOG.md#release-2020-03-09",
    "docs-pr-22220": "https://github.com/MicrosoftDocs/azure-docs/pull/22220",
    "types-2023-02-01": "https://github.com/Azure/bicep-types-az/blob/main/generated/containerservice/"
                        "microsoft.containerservice/2023-02-01/types.md",
    "types-2023-06-01": "https://github.com/Azure/bicep-types-az/blob/main/generated/containerservice/"
                        "microsoft.containerservice/2023-06-01/types.md",
    "rest-create-or-update": "https://learn.microsoft.com/rest/api/aks/managed-clusters/create-or-update",
    "python-sdk-9.4.0": "https://github.com/Azure/azure-sdk-for-python/blob/main/sdk/containerservice/"
                        "azure-mgmt-containerservice/CHANGELOG.md#940-2020-09-11",
    "learn-max-pods": "https://learn.microsoft.com/azure/aks/azure-cni-overview",
    "js-advanced-networking": "https://learn.microsoft.com/javascript/api/@azure/arm-containerservice/"
                              "advancednetworkingsecurity",
    "learn-custom-node-config": "https://learn.microsoft.com/azure/aks/custom-node-configuration-reference",
    # the sample response of a pool created without custom node configuration has no kubeletConfig/linuxOSConfig
    "rest-agent-pools-get": "https://learn.microsoft.com/rest/api/aks/agent-pools/get",
    "learn-cis-kubernetes": "https://learn.microsoft.com/azure/aks/cis-kubernetes",
    "learn-cilium": "https://learn.microsoft.com/azure/aks/azure-cni-powered-by-cilium#network-policy-enforcement",
    "specs-pr-30845": "https://github.com/Azure/azure-rest-api-specs/pull/30845",
    "aks-4060": "https://github.com/Azure/AKS/issues/4060",
    "learn-pricing-tiers": "https://learn.microsoft.com/azure/aks/free-standard-pricing-tiers#uptime-sla",
    "learn-system-pools": "https://learn.microsoft.com/azure/aks/use-system-pools#limitations",
    "learn-private-clusters": "https://learn.microsoft.com/azure/aks/private-clusters",
    # diagnostic settings' LogSettings at 2017-05-01-preview: category, enabled, retentionPolicy (no categoryGroup)
    "types-insights-2017-05-01-preview": "https://github.com/Azure/bicep-types-az/blob/main/generated/monitor/"
                                         "microsoft.insights/2017-05-01-preview/types.md",
    # the REST API specification of each apiVersion, as Bicep's type index renders it (<version>/types.md)
    "bicep-types": "https://github.com/Azure/bicep-types-az/tree/main/generated/containerservice/"
                   "microsoft.containerservice",
}

CLUSTER = "cluster"  # a path relative to the managedClusters body
POOL = "pool"  # a path relative to one node pool object (an agentPoolProfiles entry, an agentPools' properties)
ABSENT = object()  # in ``when``: the property is absent


@dataclass(frozen=True)
class Default:
    """What AKS applies to an absent property of a request, for API versions in [since, until)."""

    scope: str  # CLUSTER or POOL
    path: str  # e.g. "properties.enableRBAC" (cluster) or "maxPods" (pool)
    value: Any  # the default; an Unknown when AKS decides at deploy time from facts a file lacks
    source: str  # key of SOURCES
    fact: str  # the fact, as the source states it
    since: str | None = None  # first API version (inclusive); None: from the first
    until: str | None = None  # first API version it no longer holds (exclusive); None: to this day
    confirmed: bool = True  # False: the version boundary is not confirmed by the source (then the value is Unknown)
    when: tuple[tuple[str, Any], ...] = ()  # ("cluster:path" | "pool:path", value, ABSENT or a predicate): all hold
    controls: tuple[str, ...] = ()  # the controls whose verdict relies on this default
    # True: what AKS made of a request at those versions, not what Azure returns (deployed state read at a
    # later API version carries the value, so its absence there is not this default's to fill)
    request_only: bool = False
    # True: Azure's GET omits the property when it was never set (it is not echoed back), so its absence from
    # deployed state is this default too, not an unknown
    omitted_when_unset: bool = False


@dataclass(frozen=True)
class Predicate:
    """In ``when``: a test of the value (ABSENT when absent) beyond equality: True, False or an Unknown."""

    text: str  # what it asks, for the docs ("1.30 or later")
    test: Callable[[Any], Any]

    def __call__(self, value: Any) -> Any:
        return self.test(value)


_K8S_VERSION = re.compile(r"^\s*v?(\d+)\.(\d+)(?:\.\d+)?\s*$")


def _k8s_at_least(minor: int, value: Any) -> Any:
    """The cluster's Kubernetes version is 1.<minor> or later; absent, AKS deploys its default version (1.30 or
    later since 1.29 left standard support). A value that is not a version makes the default unknown."""
    if value is ABSENT:
        return True
    m = _K8S_VERSION.match(value) if isinstance(value, str) else None
    if m is None:
        return Unknown(f"kubernetesVersion {value!r} is not a Kubernetes version, so the default that depends "
                       f"on it is unknown")
    return (int(m.group(1)), int(m.group(2))) >= (1, minor)


K8S_1_30_OR_LATER = Predicate("1.30 or later (or absent: AKS's default version)", lambda v: _k8s_at_least(30, v))
K8S_BEFORE_1_30 = Predicate("before 1.30", lambda v: (lambda r: r if isinstance(r, Unknown) else not r)(
    _k8s_at_least(30, v)))


def when_text(ref: str, expected: Any) -> str:
    """One condition of a row's ``when``, in words."""
    path = ref.split(":", 1)[1]
    if expected is ABSENT:
        return f"{path} absent"
    if isinstance(expected, Predicate):
        return f"{path} {expected.text}"
    return f"{path} = {expected!r}"


_NO_PLUGIN = ("cluster:properties.networkProfile.networkPlugin", ABSENT)
_K8S = "cluster:properties.kubernetesVersion"
_PLUGIN_BY_K8S = ("the network plugin AKS picks for a request without one depends on the Kubernetes version: "
                  "'NetworkPlugin will be defaulted based on k8s version rather than API version going forward. The "
                  "default value in k8s < 1.30 will remain kubenet while in 1.30+ it will be CNI Overlay' (Azure CNI "
                  "with networkPluginMode overlay)")

DEFAULTS: tuple[Default, ...] = (
    # --- Kubernetes RBAC ---
    Default(CLUSTER, "properties.enableRBAC", False, "spec-2017-08-31",
            "API 2017-08-31 has no enableRBAC property: clusters of that version have no Kubernetes RBAC",
            until="2018-03-31", controls=("AKS-003",)),
    Default(CLUSTER, "properties.enableRBAC", False, "aks-changelog-2020-03-09",
            "before API 2020-04-01 an omitted enableRBAC leaves RBAC off (templates did not enable it: "
            "MicrosoftDocs/azure-docs#22220, 2019-01-11)",
            since="2018-03-31", until="2020-04-01", controls=("AKS-003",)),
    Default(CLUSTER, "properties.enableRBAC", True, "aks-changelog-2020-03-09",
            "AKS API version 2020-04-01 defaults to RBAC enabled", since="2020-04-01", controls=("AKS-003",)),
    # --- VMSS and the Standard load balancer (the same release note) ---
    Default(CLUSTER, "properties.networkProfile.loadBalancerSku", "basic", "aks-changelog-2020-03-09",
            "before API 2020-04-01 clusters default to the Basic load balancer", until="2020-04-01",
            controls=("AKS-025",)),
    Default(CLUSTER, "properties.networkProfile.loadBalancerSku", "standard", "aks-changelog-2020-03-09",
            "AKS API version 2020-04-01 defaults to the Standard load balancer (SLB)", since="2020-04-01",
            controls=("AKS-025",)),
    Default(POOL, "type", "AvailabilitySet", "aks-changelog-2020-03-09",
            "before API 2020-04-01 node pools default to availability sets", until="2020-04-01",
            controls=("AKS-031", "AKS-032", "AKS-037")),
    Default(POOL, "type", "VirtualMachineScaleSets", "aks-changelog-2020-03-09",
            "AKS API version 2020-04-01 defaults to virtual machine scale sets (VMSS)", since="2020-04-01",
            controls=("AKS-031", "AKS-032", "AKS-037")),
    # --- the control-plane tier ---
    Default(CLUSTER, "sku.tier", "Free", "types-2023-02-01", "sku.tier: if not specified, the default is 'Free'",
            controls=("AKS-041",)),
    # --- node OS upgrades ---
    Default(CLUSTER, "properties.autoUpgradeProfile.nodeOSUpgradeChannel", "NodeImage", "types-2023-06-01",
            "nodeOSUpgradeChannel: the default is NodeImage (the property is GA from API 2023-06-01; earlier "
            "preview versions defaulted to Unmanaged, and stable versions before it had no node OS channel)",
            since="2023-06-01", controls=("AKS-008", "AKS-040")),
    # --- local accounts, OIDC issuer: off unless set, at every version that has them ---
    Default(CLUSTER, "properties.disableLocalAccounts", False, "rest-create-or-update",
            "local accounts exist unless disableLocalAccounts is true (before the property existed they could "
            "not be disabled)", controls=("AKS-002", "AKS-090")),
    Default(CLUSTER, "properties.oidcIssuerProfile.enabled", False, "types-2023-06-01",
            "oidcIssuerProfile.enabled: whether the OIDC issuer is enabled (no default stated; off unless set). "
            "Not confirmed for the newest API versions, where AKS may enable it by Kubernetes version"),
    # --- the public FQDN of a private cluster ---
    Default(CLUSTER, "properties.apiServerAccessProfile.enablePrivateClusterPublicFQDN", True, "learn-private-clusters",
            "'When you create a private AKS cluster, AKS creates both private and public fully qualified domain names "
            "(FQDNs) with corresponding DNS zones by default' (before the property existed the public FQDN could not "
            "be turned off)",
            when=(("cluster:properties.apiServerAccessProfile.enablePrivateCluster", True),), controls=("AKS-020",)),
    # --- networking ---
    # networkPluginMode before any networkPlugin row: its condition reads networkPlugin before that default fills it
    Default(CLUSTER, "properties.networkProfile.networkPluginMode", "overlay", "specs-pr-30845",
            _PLUGIN_BY_K8S + ": from Kubernetes 1.30 an absent plugin is Azure CNI in overlay mode",
            since="2018-03-31", when=(_NO_PLUGIN, (_K8S, K8S_1_30_OR_LATER)),
            controls=("AKS-027", "AKS-028", "AKS-030")),
    Default(CLUSTER, "properties.networkProfile.networkPlugin", "kubenet", "spec-2017-08-31",
            "API 2017-08-31 has no networkProfile: every cluster of that version uses kubenet",
            until="2018-03-31", controls=("AKS-027", "AKS-028", "AKS-030")),
    Default(CLUSTER, "properties.networkProfile.networkPlugin", "azure", "specs-pr-30845",
            _PLUGIN_BY_K8S + ": from Kubernetes 1.30 an absent plugin is Azure CNI (overlay)", since="2018-03-31",
            when=((_K8S, K8S_1_30_OR_LATER),), controls=("AKS-027", "AKS-028", "AKS-030")),
    Default(CLUSTER, "properties.networkProfile.networkPlugin", "kubenet", "specs-pr-30845",
            _PLUGIN_BY_K8S + ": before Kubernetes 1.30 an absent plugin is kubenet ('By default, AKS clusters use "
            "kubenet', Microsoft Learn)", since="2018-03-31", when=((_K8S, K8S_BEFORE_1_30),),
            controls=("AKS-027", "AKS-028", "AKS-030")),
    Default(CLUSTER, "properties.networkProfile.networkPolicy", "cilium", "learn-cilium",
            "Azure CNI powered by Cilium: 'Cilium enforces network policies ... you don't need to install a separate "
            "network policy engine' (the networkDataplane cilium enforces them; the API's 'none when not specified' "
            "is for the other dataplanes)",
            when=(("cluster:properties.networkProfile.networkDataplane", "cilium"),), controls=("AKS-005",)),
    # --- Advanced Container Networking Services (Cilium) ---
    Default(CLUSTER, "properties.networkProfile.advancedNetworking.security.transitEncryption.type", "None",
            "js-advanced-networking", "transitEncryption.type: if not specified, the default value is None (no "
            "encryption; before the property existed there was none)", controls=("AKS-070",)),
    Default(CLUSTER, "properties.networkProfile.advancedNetworking.security.advancedNetworkPolicies", "FQDN",
            "js-advanced-networking", "advancedNetworkPolicies: if not specified, the default value is FQDN if "
            "security.enabled is set to true",
            when=(("cluster:properties.networkProfile.advancedNetworking.security.enabled", True),),
            controls=("AKS-071",)),
    # --- node pools ---
    Default(POOL, "mode", "User", "learn-system-pools",
            "'An API version of 2020-03-01 or greater must be used to set a node pool mode. Clusters created on "
            "API versions older than 2020-03-01 contain only user node pools' (a mode such a request sets is "
            "ignored: arm/api_versions.py)", until="2020-03-01", request_only=True,
            controls=("AKS-033", "AKS-034", "AKS-050", "AKS-072")),
    Default(POOL, "count", 1, "spec-2017-08-31",
            "count: the default value is 1 (every API version, 2017-08-31 to today)",
            controls=("AKS-033", "AKS-072")),
    Default(POOL, "osDiskType", "Managed", "python-sdk-9.4.0",
            "osDiskType appeared with API 2020-09-01; before it every OS disk was a managed disk",
            until="2020-09-01", controls=("AKS-035",)),
    Default(POOL, "osDiskType", "Managed", "bicep-types",
            "osDiskType at API 2020-09-01: 'Defaults to Managed' (2020-09-01/types.md); from API 2020-11-01 the "
            "default is Ephemeral where the VM size allows it (2020-11-01/types.md)", since="2020-09-01",
            until="2020-11-01", controls=("AKS-035",)),
    Default(POOL, "osDiskType", Unknown("osDiskType is absent: AKS picks Ephemeral only when the VM size's cache "
                                        "or temporary disk holds the OS disk, which is not known offline"),
            "types-2023-06-01", "osDiskType: the default is 'Ephemeral' if the VM supports it and has a cache disk "
            "larger than the requested OSDiskSizeGB, otherwise 'Managed'", since="2020-11-01",
            controls=("AKS-035",)),
    Default(POOL, "maxPods", 110, "learn-max-pods", "kubenet: 110 pods per node by default",
            when=(("cluster:properties.networkProfile.networkPlugin", "kubenet"),), controls=("AKS-030",)),
    Default(POOL, "maxPods", 250, "learn-max-pods", "Azure CNI Overlay: 250 pods per node by default",
            when=(("cluster:properties.networkProfile.networkPlugin", "azure"),
                  ("cluster:properties.networkProfile.networkPluginMode", "overlay")), controls=("AKS-030",)),
    Default(POOL, "maxPods", 30, "learn-max-pods", "Azure CNI (node subnet): 30 pods per node by default",
            when=(("cluster:properties.networkProfile.networkPlugin", "azure"),
                  ("cluster:properties.networkProfile.networkPluginMode", ABSENT),
                  ("pool:podSubnetID", ABSENT)), controls=("AKS-030",)),
    # --- custom node configuration (kubeletConfig, linuxOSConfig): what a pool runs with when a request leaves a
    # setting out (before these properties existed, no pool could set them: the same defaults held) ---
    Default(POOL, "kubeletConfig.allowedUnsafeSysctls", [], "learn-custom-node-config",
            "allowedUnsafeSysctls: default None (the kubelet allows no unsafe sysctl)", controls=("AKS-073",), omitted_when_unset=True),
    Default(POOL, "kubeletConfig.podMaxPids", -1, "learn-custom-node-config",
            "podMaxPids: default -1 (infinite): no limit on the process IDs of a pod", controls=("AKS-074",), omitted_when_unset=True),
    Default(POOL, "kubeletConfig.containerLogMaxSizeMB", 10, "learn-custom-node-config",
            "Windows kubelet: containerLogMaxSizeMB default 10", when=(("pool:osType", "Windows"),),
            controls=("AKS-075",), omitted_when_unset=True),
    Default(POOL, "kubeletConfig.containerLogMaxSizeMB", 50, "learn-custom-node-config",
            "Linux kubelet: containerLogMaxSizeMB default 50", when=(("pool:osType", "Linux"),),
            controls=("AKS-075",), omitted_when_unset=True),
    Default(POOL, "kubeletConfig.containerLogMaxSizeMB", 50, "learn-custom-node-config",
            "Linux kubelet (osType absent: Linux): containerLogMaxSizeMB default 50", when=(("pool:osType", ABSENT),),
            controls=("AKS-075",), omitted_when_unset=True),
    Default(POOL, "kubeletConfig.containerLogMaxFiles", 5, "learn-custom-node-config",
            "containerLogMaxFiles: default 5 (Linux and Windows)", controls=("AKS-075",), omitted_when_unset=True),
    Default(POOL, "linuxOSConfig.swapFileSizeMB", 0, "learn-custom-node-config",
            "swapFileSizeMB: default None: no swap file is created on the nodes", controls=("AKS-076",), omitted_when_unset=True),
    Default(POOL, "maxPods", Unknown("maxPods is absent on a pool with a pod subnet: the default for Azure CNI "
                                     "with dynamic IP allocation is not stated per API version; set maxPods"),
            "learn-max-pods", "Azure CNI with a pod subnet: the default is not stated per API version",
            when=(("cluster:properties.networkProfile.networkPlugin", "azure"),
                  ("cluster:properties.networkProfile.networkPluginMode", ABSENT)), controls=("AKS-030",)),
)

# The kubelet settings of CIS AKS v1.8.0 section 3.2 are not in the AKS API (custom node configuration exposes
# none of them): AKS sets them on every node, and a template cannot change them, so there is nothing to judge on
# the Azure side. What AKS states of them, for the Kubernetes versions it covers, is data here: the node controls
# cite it beside the running kubelet's value, and docs/controls.md lists which are compliant by AKS's default.
@dataclass(frozen=True)
class ManagedKubelet:
    """A kubelet setting AKS manages (no ARM property changes it), as AKS documents it."""

    cis: str  # CIS AKS v1.8.0 id
    setting: str  # KubeletConfiguration field (what configz shows)
    flag: str  # the kubelet flag
    compliant: bool | None  # None: AKS's own statement does not establish it (then unknown)
    source: str  # key of SOURCES
    fact: str
    since: tuple[int, int]  # first Kubernetes minor the source covers
    until: tuple[int, int]  # last one (inclusive)
    control: str  # the node control that judges the running kubelet (AKS-180..188)


_CIS_K8S = ("AKS's CIS Kubernetes benchmark page (CIS Kubernetes V1.27 Benchmark v1.11.1, results applicable to "
            "AKS 1.29.x through 1.32.x) reports recommendation {k8s} ({what}) as {status} on AKS nodes")
AKS_KUBELET: tuple[ManagedKubelet, ...] = tuple(
    ManagedKubelet(cis, setting, flag, compliant, "learn-cis-kubernetes",
                   _CIS_K8S.format(k8s=k8s, what=what, status="Pass" if compliant else "Fail"), (1, 29), (1, 32),
                   f"AKS-{180 + i}")
    for i, (cis, setting, flag, compliant, k8s, what) in enumerate((
        ("3.2.1", "authentication.anonymous.enabled", "--anonymous-auth", True, "4.2.1", "--anonymous-auth false"),
        ("3.2.2", "authorization.mode", "--authorization-mode", True, "4.2.2", "--authorization-mode not AlwaysAllow"),
        ("3.2.3", "authentication.x509.clientCAFile", "--client-ca-file", True, "4.2.3",
         "--client-ca-file set as appropriate"),
        ("3.2.4", "readOnlyPort", "--read-only-port", True, "4.2.4", "--read-only-port 0"),
        ("3.2.5", "streamingConnectionIdleTimeout", "--streaming-connection-idle-timeout", True, "4.2.5",
         "--streaming-connection-idle-timeout not 0"),
        ("3.2.6", "makeIPTablesUtilChains", "--make-iptables-util-chains", True, "4.2.6",
         "--make-iptables-util-chains true"),
        ("3.2.7", "eventRecordQPS", "--event-qps", True, "4.2.8",
         "eventRecordQPS at a level that ensures appropriate event capture"),
        ("3.2.8", "rotateCertificates", "--rotate-certificates", True, "4.2.10", "--rotate-certificates not false"),
        # AKS reports Fail here, while its node bootstrapper passes --feature-gates=RotateKubeletServerCertificate=true:
        # from the Azure side this cannot be told either way (unknown); the nodes' own configuration can.
        ("3.2.9", "featureGates.RotateKubeletServerCertificate", "--feature-gates", None, "4.2.11",
         "Verify that the RotateKubeletServerCertificate argument is set to true"),
    )))
AKS_KUBELET_BY_CIS: dict[str, ManagedKubelet] = {r.cis: r for r in AKS_KUBELET}


# Values a property may take only at some API versions: a request naming a value its API version does not
# have is not what it seems. ``LEGACY`` values are renamed to their current name where the version has them.
@dataclass(frozen=True)
class Renamed:
    path: str
    old: str
    new: str
    until: str  # the first API version without the old value
    source: str
    fact: str

    @property
    def note(self) -> str:
        return f"{self.new} was named {self.old} before API {self.until}"


LEGACY: tuple[Renamed, ...] = (
    Renamed("sku.tier", "Paid", "Standard", "2023-07-01", "learn-pricing-tiers",
            "the Paid tier is the Standard tier: 'Basic and Paid will be removed in the 2023-07-01 API version' (API "
            "2023-01-01 to before 2023-07-01 takes Free, Paid and Standard; the REST specifications list no Paid "
            "from 2023-02-01, but the service took it until 2023-07-01)"),
)


# --- API versions -------------------------------------------------------------------------------------

_VERSION = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(-preview)?$", re.I)


def parse_api_version(value: Any) -> tuple[int, int, int] | None:
    if not isinstance(value, str):
        return None
    parsed = _PARSED.get(value, _PARSED)
    if parsed is _PARSED:  # asked for every default row of every resource: parsed once per distinct text
        m = _VERSION.match(value.strip())
        parsed = (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None
        if len(_PARSED) < 1024:
            _PARSED[value] = parsed
    return parsed  # type: ignore[return-value]


_PARSED: dict[str, Any] = {}


def _in_range(version: tuple[int, int, int], row: Default) -> bool:
    if row.since is not None and version < parse_api_version(row.since):  # type: ignore[operator]
        return False
    if row.until is not None and version >= parse_api_version(row.until):  # type: ignore[operator]
        return False
    return True


def describe(row: Default) -> str:
    span = (f"API {row.since} and later" if row.since and not row.until else
            f"API before {row.until}" if row.until and not row.since else
            f"API {row.since} to before {row.until}" if row.since else "every API version")
    return f"{span}: {row.fact} ({SOURCES[row.source]})"


# --- reading and writing bodies (case-insensitive keys, copy on write) --------------------------------

def ci_key(obj: dict[str, Any], seg: str, default: Any) -> Any:
    """The first key of ``obj`` equal to ``seg`` but for case (ARM keys are case-insensitive), or ``default``."""
    if seg in obj and next(iter(obj)) == seg:
        return seg  # the common case, exact and first: no scan
    low = seg.lower()
    for k in obj:
        if k.lower() == low:
            return k
    return default


def ci_get(obj: Any, seg: str) -> Any:
    """``obj``'s member ``seg`` matched as ARM matches names (case-insensitively), or None."""
    key = ci_key(obj, seg, None) if isinstance(obj, dict) else None
    return None if key is None else obj[key]


def _get(obj: Any, path: str) -> Any:
    for seg in path.split("."):
        if isinstance(obj, Unknown):
            return obj
        if not isinstance(obj, dict):
            return ABSENT
        key = ci_key(obj, seg, None)
        if key is None and hasattr(obj, "missing_member"):
            return obj.missing_member(seg)  # a partly known object: not absent, unknown
        if key is None or obj[key] is None:
            return ABSENT
        obj = obj[key]
    return obj


def _set(obj: dict[str, Any], path: str, value: Any) -> bool:
    """Set ``path`` in ``obj``, copying each nested object on the way (bodies are shared with the input).
    False when the way crosses a non-object or an unknown (a malformed shape is the evaluator's to report)."""
    segs = path.split(".")
    for seg in segs[:-1]:
        key = ci_key(obj, seg, seg)
        child = obj.get(key)
        if child is None:
            child = {}
        elif not isinstance(child, dict):
            return False
        child = _copy(child)
        obj[key] = child
        obj = child
    obj[segs[-1]] = value
    return True


def _copy(obj: dict[str, Any]) -> dict[str, Any]:
    """A shallow copy that keeps a partly known object partly known (values.Partial, reference() results)."""
    return dict(obj) if type(obj) is dict else copy.copy(obj)


def _matches(actual: Any, expected: Any) -> bool | Unknown:
    if isinstance(actual, Unknown):
        return actual
    if isinstance(expected, Predicate):
        return expected(actual)
    if expected is ABSENT:
        return actual is ABSENT or actual == ""
    if isinstance(expected, bool):
        return actual is expected or (isinstance(actual, str) and actual.lower() == str(expected).lower())
    return isinstance(actual, str) and actual.lower() == str(expected).lower()


# --- applying ----------------------------------------------------------------------------------------

def _choose(rows: Iterable[Default], api: Any, cluster: dict[str, Any], pool: dict[str, Any] | None
            ) -> tuple[Any, str] | None:
    """The default for one absent property: (value, note), or None when no row applies."""
    candidates: list[Default] = []
    for row in rows:
        held = True
        for ref, expected in row.when:
            scope, path = ref.split(":", 1)
            ok = _matches(_get(cluster if scope == CLUSTER else (pool or {}), path), expected)
            if isinstance(ok, Unknown):
                return Unknown(f"the default of {row.path} depends on {path}, which is unknown: {ok.reason}"), ""
            if not ok:
                held = False
                break
        if held:
            candidates.append(row)
    if not candidates:
        return None
    version = parse_api_version(api)
    if version is None:
        values = {repr(r.value) for r in candidates}
        if len(values) == 1 and all(r.confirmed for r in candidates) and _every_version(candidates):
            row = candidates[0]
            return row.value, "absent: the AKS default at every API version"
        what = f"the apiVersion is {'unknown: ' + api.reason if isinstance(api, Unknown) else repr(api)}"
        return Unknown(f"{candidates[0].path} is absent and its default depends on the API version, but {what}"), ""
    for row in candidates:
        if not _in_range(version, row):
            continue
        if isinstance(row.value, Unknown):
            return row.value, ""
        if not row.confirmed:
            return Unknown(f"{row.path} is absent at API {api}: {row.fact} ({SOURCES[row.source]})"), ""
        return row.value, f"absent: the AKS default at API {api}"
    return None


def _may_apply(row: Default, cluster: dict[str, Any], pool: dict[str, Any] | None) -> bool:
    """Whether none of the row's conditions is known not to hold."""
    for ref, expected in row.when:
        scope, path = ref.split(":", 1)
        if _matches(_get(cluster if scope == CLUSTER else (pool or {}), path), expected) is False:
            return False
    return True


def _every_version(rows: list[Default]) -> bool:
    """Do the rows' version ranges, together, cover every API version (no gap, none open at one end)?"""
    ordered = sorted(rows, key=lambda r: parse_api_version(r.since) or (0, 0, 0))
    if ordered[0].since is not None or ordered[-1].until is not None:
        return False
    return all(a.until is not None and a.until == b.since for a, b in zip(ordered, ordered[1:]))


_BY_SCOPE: dict[str, dict[str, list[Default]]] = {}
for _row in DEFAULTS:
    _BY_SCOPE.setdefault(_row.scope, {}).setdefault(_row.path, []).append(_row)


def _fill(obj: dict[str, Any], scope: str, resource: Resource, prefix: str, cluster: dict[str, Any],
          pool: dict[str, Any] | None, notes: dict[str, str]) -> None:
    for path, rows in _BY_SCOPE.get(scope, {}).items():
        if _get(obj, path) is not ABSENT:
            continue
        body_path = f"{prefix}{path}"
        value: Any
        if resource.state == DEPLOYED and all(row.omitted_when_unset for row in rows):
            # custom node configuration: what Azure returned leaves out what was never set, so the default holds
            chosen = _choose(rows, resource.api_version, cluster, pool)
            if chosen is None:
                continue
            value, note = chosen
            if note:
                note = (f"absent from deployed state: Azure returns the setting only when it was set, so the AKS "
                        f"default holds ({SOURCES['rest-agent-pools-get']})")
        elif resource.state == DEPLOYED:
            rows = [row for row in rows if not row.request_only]
            if not any(_may_apply(row, cluster, pool) for row in rows):
                continue  # no row's condition holds (the Cilium row on another dataplane): absent stays absent
            value = Unknown(f"{body_path} is absent from deployed state ({resource.source.file}): what Azure "
                                 f"returned does not say, and a request's default is not assumed for it")
            note = ""
        else:
            chosen = _choose(rows, resource.api_version, cluster, pool)
            if chosen is None:
                continue
            value, note = chosen
        if _set(obj, path, value) and note:
            notes[body_path] = note


def _rename(obj: dict[str, Any], resource: Resource, prefix: str, notes: dict[str, str]) -> None:
    """Legacy values: renamed where the resource's version has them, flagged where it does not."""
    for r in LEGACY:
        value = _get(obj, r.path)
        if not isinstance(value, str) or value.lower() != r.old.lower():
            continue
        where = f"{prefix}{r.path}"
        if resource.state == REQUEST:
            version = parse_api_version(resource.api_version)
            if version is None:
                _set(obj, r.path, Unknown(f"{where} is {r.old!r}: {r.fact} ({SOURCES[r.source]}); the apiVersion "
                                          f"{resource.api_version!r} does not say which applies"))
                continue
            if version >= parse_api_version(r.until):  # type: ignore[operator]
                notes[where] = f"not a value at API {resource.api_version}: {r.note}"
                continue
        _set(obj, r.path, r.new)
        notes[where] = f"written {r.old!r}: {r.note}"


def apply_cluster_defaults(body: dict[str, Any], resource: Resource, notes: dict[str, str]) -> None:
    """Fill a cluster body's absent properties (cluster level, then each inline pool), noting each in ``notes``."""
    if resource.type_lower != CLUSTER_TYPE:
        return
    _rename(body, resource, "", notes)
    _fill(body, CLUSTER, resource, "", body, None, notes)
    pools = ci_get(ci_get(body, "properties"), "agentPoolProfiles")
    if isinstance(pools, list):
        for i, p in enumerate(pools):
            if isinstance(p, dict):
                p = pools[i] = _copy(p)
                _fill(p, POOL, resource, f"properties.agentPoolProfiles[{i}].", body, p, notes)


def apply_pool_defaults(entry: dict[str, Any], pool: Resource, index: int, cluster: dict[str, Any],
                        notes: dict[str, str]) -> None:
    """Fill a node pool merged from a separate agentPools resource, by that resource's own version and state."""
    _fill(entry, POOL, pool, f"properties.agentPoolProfiles[{index}].", cluster, entry, notes)


def rows_for(control_id: str) -> list[Default]:
    return [r for r in DEFAULTS if control_id in r.controls]
