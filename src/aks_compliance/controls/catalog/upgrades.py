"""Upgrades and lifecycle."""

from ..model import Control, Mappings, Parameter, Severity

MC = "Microsoft.ContainerService/managedClusters"

CONTROLS = [
    Control(
        id="AKS-007",
        title="Cluster auto-upgrade is enabled",
        severity=Severity.MEDIUM,
        section="Upgrades",
        rationale=(
            "Kubernetes minor versions leave support after about a year and patch releases carry security fixes. "
            "An auto-upgrade channel keeps the control plane and nodes on supported, patched versions without "
            "relying on someone remembering to upgrade. The channel none, or no channel, fails."),
        remediation=(
            "Set properties.autoUpgradeProfile.upgradeChannel to patch, stable, rapid or node-image "
            "(az aks update --auto-upgrade-channel stable), and pair it with a planned maintenance window."),
        references=("https://learn.microsoft.com/azure/aks/auto-upgrade-cluster",),
        mappings=Mappings(azure_policy=("5c345cdf-2049-47e0-b8fe-b0e96bc2df35",), psrule=("Azure.AKS.AutoUpgrade",),
                          checkov=("CKV_AZURE_171",), nist=("SI-2",)),
        parameters=(Parameter("allowedUpgradeChannels", ["patch", "stable", "rapid", "node-image"],
                              "Auto-upgrade channels that count as compliant.", type="Array",
                              allowed=("rapid", "stable", "patch", "node-image", "none")),),
        rule={"field": f"{MC}/autoUpgradeProfile.upgradeChannel", "in": "[parameters('allowedUpgradeChannels')]"},
    ),
    Control(
        id="AKS-008",
        title="Node OS images are upgraded automatically",
        severity=Severity.MEDIUM,
        section="Upgrades",
        rationale=(
            "Node images carry the OS kernel and packages; security fixes reach nodes only when the image is "
            "updated. The NodeImage or SecurityPatch node OS channel (or the node-image cluster channel) applies "
            "them automatically; None and Unmanaged leave nodes on their original image."),
        remediation=(
            "Set properties.autoUpgradeProfile.nodeOSUpgradeChannel to NodeImage or SecurityPatch "
            "(az aks update --node-os-upgrade-channel NodeImage)."),
        references=("https://learn.microsoft.com/azure/aks/auto-upgrade-node-os-image",),
        mappings=Mappings(azure_policy=("04408ca5-aa10-42ce-8536-98955cdddd4c",),
                          psrule=("Azure.AKS.NodeAutoUpgrade",), nist=("SI-2",)),
        parameters=(Parameter("allowedNodeOsUpgradeChannels", ["NodeImage", "SecurityPatch"],
                              "Node OS upgrade channels that count as compliant.", type="Array",
                              allowed=("None", "Unmanaged", "NodeImage", "SecurityPatch")),),
        rule={"anyOf": [
            {"field": f"{MC}/autoUpgradeProfile.upgradeChannel", "equals": "node-image"},
            {"field": f"{MC}/autoUpgradeProfile.nodeOSUpgradeChannel",
             "in": "[parameters('allowedNodeOsUpgradeChannels')]"},
        ]},
    ),
]
