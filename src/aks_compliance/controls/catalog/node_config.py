"""Node configuration on the Azure side: AKS custom node configuration (``kubeletConfig``, ``linuxOSConfig`` on
``agentPoolProfiles[]`` and ``agentPools`` resources), and CIS 4.4.1 (the CNI version), which only an auditor can
decide.

What an absent setting means is data in ``arm/defaults.py`` (the custom node configuration reference, per setting):
it fills absent values before the rules read them, and the evidence says it is AKS's default. The kubelet settings
of CIS AKS section 3.2 have no ARM property at all (AKS sets them on every node): what AKS states of them is the
``AKS_KUBELET`` table there, and the node controls (AKS-180..188) judge the running kubelet. Settings CIS does not
care about (image garbage collection thresholds, CPU manager and topology policies, CFS quota) are not judged.
"""

from __future__ import annotations

from typing import Any, Mapping

from ..model import Control, Mappings, Parameter, Severity

MC = "Microsoft.ContainerService/managedClusters"
POOLS = f"{MC}/agentPoolProfiles[*]"
KUBELET = f"{POOLS}.kubeletConfig"
NODE_CONFIG_DOCS = "https://learn.microsoft.com/azure/aks/custom-node-configuration-reference"


def _no_pool_where(where: Mapping[str, Any]) -> dict[str, Any]:
    """No node pool matches ``where`` (the non-compliant pools)."""
    return {"count": {"field": POOLS, "where": where}, "equals": 0}


_LINUX = {"field": f"{POOLS}.osType", "notEquals": "Windows"}

CONTROLS = [
    Control(
        id="AKS-073",
        title="Node pools allow no unsafe sysctls beyond an approved list",
        severity=Severity.HIGH,
        section="Node configuration",
        rationale=(
            "kubeletConfig.allowedUnsafeSysctls lets pods set namespaced kernel parameters the kubelet otherwise "
            "refuses (kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*, net.*): a pod can then tune the node's "
            "network stack or IPC limits, which the Pod Security Standards baseline forbids (sysctls outside the "
            "safe set). AKS's default allows none. Every pool counts; a name or pattern not in the approved list "
            "(parameter allowedUnsafeSysctls, empty by default) fails."),
        remediation=(
            "Remove properties.agentPoolProfiles[].kubeletConfig.allowedUnsafeSysctls (or list only approved "
            "entries) and recreate the pool with a kubelet configuration file that omits it "
            "(az aks nodepool add --kubelet-config linuxkubeletconfig.json)."),
        references=(NODE_CONFIG_DOCS, "https://kubernetes.io/docs/tasks/administer-cluster/sysctl-cluster/"),
        mappings=Mappings(nist=("CM-7", "SC-39")),
        parameters=(Parameter("allowedUnsafeSysctls", [], "Unsafe sysctls or patterns (as written in "
                              "allowedUnsafeSysctls, e.g. net.core.somaxconn) a pool may allow.", type="Array"),),
        rule=_no_pool_where({"count": {"field": f"{KUBELET}.allowedUnsafeSysctls[*]",
                                       "where": {"field": f"{KUBELET}.allowedUnsafeSysctls[*]",
                                                 "notIn": "[parameters('allowedUnsafeSysctls')]"}},
                             "greater": 0}),
    ),
    Control(
        id="AKS-074",
        title="Linux node pools limit the number of processes per pod",
        severity=Severity.LOW,
        section="Node configuration",
        rationale=(
            "Without a per-pod PID limit one pod can fork until the node runs out of process IDs, starving the "
            "kubelet and every other pod (a fork bomb takes the node down): CIS Kubernetes 4.2.13 asks for a limit "
            "on pod PIDs. AKS's default podMaxPids is -1 (unlimited, per the custom node configuration reference), "
            "so an omitted setting fails; AKS's CIS Kubernetes page reports 4.2.13 as Pass without saying how. "
            "Windows pools have no such setting and are not judged."),
        remediation=(
            "Set properties.agentPoolProfiles[].kubeletConfig.podMaxPids to a positive limit sized for the "
            "workloads (for example 4096) on every Linux pool (az aks nodepool add --kubelet-config "
            "linuxkubeletconfig.json with \"podMaxPids\": 4096)."),
        references=(NODE_CONFIG_DOCS, "https://kubernetes.io/docs/concepts/policy/pid-limiting/"),
        mappings=Mappings(nist=("SC-5", "SC-6")),
        # absent is AKS's -1 (unlimited): Azure Policy sees it absent, so absence is named, not left to the default
        rule=_no_pool_where({"allOf": [_LINUX, {"anyOf": [{"field": f"{KUBELET}.podMaxPids", "exists": False},
                                                          {"field": f"{KUBELET}.podMaxPids", "less": 1}]}]}),
    ),
    Control(
        id="AKS-075",
        title="Node pools keep enough container log before rotating it",
        severity=Severity.LOW,
        section="Node configuration",
        rationale=(
            "The kubelet rotates each container's log at containerLogMaxSizeMB and keeps containerLogMaxFiles "
            "files: set too small, a noisy or attacked workload rotates evidence away before the log agent ships "
            "it. AKS's defaults (50 MB on Linux, 10 MB on Windows, 5 files) meet the default thresholds "
            "(minimumContainerLogMaxSizeMB 10, the upstream kubelet's default; minimumContainerLogMaxFiles 2)."),
        remediation=(
            "Raise properties.agentPoolProfiles[].kubeletConfig.containerLogMaxSizeMB and containerLogMaxFiles to "
            "at least the thresholds, or leave them out for AKS's defaults (az aks nodepool add --kubelet-config "
            "linuxkubeletconfig.json)."),
        references=(NODE_CONFIG_DOCS,
                    "https://kubernetes.io/docs/concepts/cluster-administration/logging/#log-rotation"),
        mappings=Mappings(nist=("AU-4", "AU-11")),
        parameters=(
            Parameter("minimumContainerLogMaxSizeMB", 10, "Smallest containerLogMaxSizeMB accepted (MB).",
                      type="Integer", schema={"minimum": 1}),
            Parameter("minimumContainerLogMaxFiles", 2, "Fewest rotated container log files a pool may keep.",
                      type="Integer", schema={"minimum": 2}),
        ),
        rule=_no_pool_where({"anyOf": [
            {"field": f"{KUBELET}.containerLogMaxSizeMB", "less": "[parameters('minimumContainerLogMaxSizeMB')]"},
            {"field": f"{KUBELET}.containerLogMaxFiles", "less": "[parameters('minimumContainerLogMaxFiles')]"},
        ]}),
    ),
    Control(
        id="AKS-076",
        title="Linux node pools create no swap file",
        severity=Severity.MEDIUM,
        section="Node configuration",
        rationale=(
            "linuxOSConfig.swapFileSizeMB creates a swap file on the nodes' temporary disk: memory pages of pods, "
            "including Secret and service account token volumes (tmpfs), can then be written to a disk that is not "
            "the encrypted OS disk and outlives the pod. AKS's default creates no swap file."),
        remediation=(
            "Remove properties.agentPoolProfiles[].linuxOSConfig.swapFileSizeMB and recreate the pool without it "
            "(az aks nodepool add --linux-os-config linuxosconfig.json without swapFileSizeMB)."),
        references=(NODE_CONFIG_DOCS, "https://kubernetes.io/docs/concepts/cluster-administration/swap-memory-management/"),
        mappings=Mappings(nist=("SC-28", "SC-4")),
        rule=_no_pool_where({"field": f"{POOLS}.linuxOSConfig.swapFileSizeMB", "greater": 0}),
    ),
]


CONTROLS += [
    Control(
        id="AKS-077",
        title="The cluster's CNI plugin is on its latest version",
        severity=Severity.LOW,
        section="CIS 4.4",
        rationale=(
            "CIS 4.4.1 asks for the latest CNI version, which no property states: with networkProfile.networkPlugin "
            "azure or kubenet AKS ships the CNI in the node image and updates it with node image upgrades; with "
            "none, a bring-your-own CNI is installed and updated by the cluster's owner. Nothing here can be "
            "evaluated offline: an auditor decides, and records it as an attestation."),
        remediation=(
            "Audit: read properties.networkProfile.networkPlugin (az aks show --query networkProfile). For azure or "
            "kubenet, compare each pool's nodeImageVersion (az aks nodepool list --query '[].nodeImageVersion') "
            "with the latest in the AKS release tracker and upgrade lagging pools (az aks nodepool upgrade "
            "--node-image-only); for none, compare the installed CNI's version with its project's latest release."),
        references=("https://learn.microsoft.com/azure/aks/concepts-network-cni-overview",
                    "https://learn.microsoft.com/azure/aks/node-image-upgrade"),
        mappings=Mappings(cis_aks=("4.4.1",), kubescape=("C-0205",), nist=("SI-2",)),
        policy_gap="Manual: no resource property states whether the CNI is the latest version.",
    ),
]
