"""Cluster networking."""

from ..model import Control, Mappings, Severity

MC = "Microsoft.ContainerService/managedClusters"

CONTROLS = [
    Control(
        id="AKS-005",
        title="A network policy engine is enabled",
        severity=Severity.MEDIUM,
        section="CIS 5.4",
        rationale=(
            "Without a network policy engine, Kubernetes NetworkPolicy objects are accepted but not enforced: "
            "every pod can reach every other pod, so one compromised workload can move laterally through the "
            "cluster. Azure, Calico and Cilium network policy all enforce them."),
        remediation=(
            "Set properties.networkProfile.networkPolicy to azure, calico or cilium "
            "(az aks create --network-policy azure|calico|cilium; existing clusters: az aks update "
            "--network-policy)."),
        references=("https://learn.microsoft.com/azure/aks/use-network-policies",),
        mappings=Mappings(cis_aks=("5.4.4",), psrule=("Azure.AKS.NetworkPolicy",), checkov=("CKV_AZURE_7",),
                          nist=("SC-7", "AC-4")),
        rule={"field": f"{MC}/networkProfile.networkPolicy", "in": ["azure", "calico", "cilium"]},
    ),
    Control(
        id="AKS-011",
        title="No node pool gives its nodes public IP addresses",
        severity=Severity.HIGH,
        section="CIS 5.4",
        rationale=(
            "Nodes with public IP addresses can be reached from the internet directly, around the load balancer, "
            "firewall and network security groups in front of the cluster. Every pool counts: pools declared in "
            "agentPoolProfiles and pools deployed as separate agentPools resources."),
        remediation=(
            "Set enableNodePublicIP to false (or omit it) on every pool in properties.agentPoolProfiles and on "
            "every Microsoft.ContainerService/managedClusters/agentPools resource; the setting cannot be changed "
            "on an existing pool, so create a new pool without --enable-node-public-ip and delete the old one."),
        references=("https://learn.microsoft.com/azure/aks/use-node-public-ips",),
        mappings=Mappings(cis_aks=("5.4.3",), checkov=("CKV_AZURE_143",), nist=("SC-7",)),
        rule={"count": {"field": f"{MC}/agentPoolProfiles[*]",
                        "where": {"field": f"{MC}/agentPoolProfiles[*].enableNodePublicIP", "equals": True}},
              "equals": 0},
    ),
]
