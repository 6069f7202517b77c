"""Governance and threat protection add-ons, and add-ons that should be off."""

from ..model import Control, Mappings, Severity

MC = "Microsoft.ContainerService/managedClusters"

CONTROLS = [
    Control(
        id="AKS-006",
        title="The Azure Policy add-on is enabled",
        severity=Severity.MEDIUM,
        section="Governance",
        rationale=(
            "The Azure Policy add-on runs Gatekeeper in the cluster and enforces or audits in-cluster policies "
            "(pod security, allowed images, ...) from Azure Policy assignments. Without it, the in-cluster "
            "built-ins have no effect. The add-on key is matched case-insensitively (azurepolicy, azurePolicy)."),
        remediation=(
            "Set properties.addonProfiles.azurepolicy.enabled to true (az aks enable-addons --addons azure-policy)."),
        references=("https://learn.microsoft.com/azure/governance/policy/concepts/policy-for-kubernetes",),
        mappings=Mappings(azure_policy=("0a15ec92-a229-4763-bb14-0ea34a568f8d",),
                          psrule=("Azure.AKS.AzurePolicyAddOn",), checkov=("CKV_AZURE_116",), nist=("CM-7",)),
        rule={"field": f"{MC}/addonProfiles.azurePolicy.enabled", "equals": True},
    ),
    Control(
        id="AKS-009",
        title="The Microsoft Defender security profile is enabled",
        severity=Severity.MEDIUM,
        section="CIS 5.1",
        rationale=(
            "The Defender profile deploys the Defender for Containers sensor, which detects runtime threats "
            "(crypto-miners, reverse shells, privilege escalation) on the nodes and reports them to Defender for "
            "Cloud. The subscription's Containers plan alone does not collect runtime events from a cluster "
            "without the profile."),
        remediation=(
            "Set properties.securityProfile.defender.securityMonitoring.enabled to true with "
            "logAnalyticsWorkspaceResourceId (az aks update --enable-defender)."),
        references=("https://learn.microsoft.com/azure/defender-for-cloud/defender-for-containers-enable",),
        mappings=Mappings(cis_aks=("5.1.1",), azure_policy=("a1840de2-8088-4ea8-b153-b4c723e9cb01",),
                          psrule=("Azure.AKS.DefenderProfile",), nist=("SI-4",)),
        rule={"field": f"{MC}/securityProfile.defender.securityMonitoring.enabled", "equals": True},
    ),
    Control(
        id="AKS-014",
        title="The HTTP application routing add-on is not enabled",
        severity=Severity.MEDIUM,
        section="Governance",
        rationale=(
            "HTTP application routing is meant for development only: it creates a public DNS zone and an ingress "
            "controller without TLS hardening, and it is retired. Production ingress should use the application "
            "routing add-on (web app routing) or a managed ingress controller."),
        remediation=(
            "Set properties.addonProfiles.httpApplicationRouting.enabled to false or remove it "
            "(az aks disable-addons --addons http_application_routing)."),
        references=("https://learn.microsoft.com/azure/aks/http-application-routing",),
        mappings=Mappings(psrule=("Azure.AKS.HttpAppRouting",), checkov=("CKV_AZURE_246",), nist=("CM-7",)),
        rule={"field": f"{MC}/addonProfiles.httpApplicationRouting.enabled", "notEquals": True},
        policy_gap="Azure Policy has no alias for addonProfiles.httpApplicationRouting; no built-in covers it.",
    ),
    Control(
        id="AKS-015",
        title="The Kubernetes dashboard add-on is not enabled",
        severity=Severity.LOW,
        section="Governance",
        rationale=(
            "The Kubernetes dashboard add-on ran with broad service account permissions and was a common entry "
            "point for cluster takeover. It is retired on AKS; a template that still enables it is stale. An "
            "absent kubeDashboard block passes (Checkov's CKV_AZURE_8 fails it, which is noise)."),
        remediation="Remove properties.addonProfiles.kubeDashboard or set its enabled to false.",
        references=("https://learn.microsoft.com/azure/aks/kubernetes-dashboard",),
        mappings=Mappings(checkov=("CKV_AZURE_8",), nist=("CM-7",)),
        rule={"field": f"{MC}/addonProfiles.kubeDashboard.enabled", "notEquals": True},
        policy_gap="Azure Policy has no alias for addonProfiles.kubeDashboard; no built-in covers it.",
    ),
]
