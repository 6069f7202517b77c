"""Node pools."""

from ..model import Control, Mappings, Severity

MC = "Microsoft.ContainerService/managedClusters"

CONTROLS = [
    Control(
        id="AKS-010",
        title="Every node pool encrypts temporary disks and caches at host",
        severity=Severity.MEDIUM,
        section="Encryption",
        rationale=(
            "Without encryption at host, the node VMs' temporary disks, OS and data disk caches are stored "
            "unencrypted on the host, outside the server-side encryption of managed disks. Every pool counts: "
            "pools in agentPoolProfiles and separate agentPools resources; a cluster whose template declares "
            "no pool at all fails, since there is nothing to show the setting."),
        remediation=(
            "Set enableEncryptionAtHost to true on every pool (az aks nodepool add --enable-encryption-at-host); "
            "the subscription needs the EncryptionAtHost feature, and existing pools must be replaced."),
        references=("https://learn.microsoft.com/azure/aks/enable-host-encryption",),
        mappings=Mappings(azure_policy=("41425d9f-d1a5-499a-9932-f8ed8453932c",), checkov=("CKV_AZURE_227",),
                          nist=("SC-28",)),
        rule={"allOf": [
            {"count": {"field": f"{MC}/agentPoolProfiles[*]"}, "greater": 0},
            {"count": {"field": f"{MC}/agentPoolProfiles[*]",
                       "where": {"field": f"{MC}/agentPoolProfiles[*].enableEncryptionAtHost", "notEquals": True}},
             "equals": 0},
        ]},
    ),
]
