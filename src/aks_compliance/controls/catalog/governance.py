"""Governance and threat protection add-ons, and add-ons that should be off."""

import re
from typing import Any, Mapping

from ...policy.conditions import Truth, Verdict
from ...targets import Target
from ...user_regex import PatternTooSlow, user_pattern
from ...values import Unknown
from ..checks import Check, all_of, lower, pool_field, pools
from ..model import Control, Mappings, Parameter, Severity

MC = "Microsoft.ContainerService/managedClusters"
T, F, U = Truth.TRUE, Truth.FALSE, Truth.UNKNOWN

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
            "without the profile (the plan itself is AKS-057). Templates on 2021 preview API versions set it as "
            "securityProfile.azureDefender.enabled, which is read as the current property."),
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
        remediation=("Remove properties.addonProfiles.kubeDashboard or set its enabled to false (on a cluster that "
                     "still runs it: az aks disable-addons --addons kube-dashboard)."),
        references=("https://learn.microsoft.com/azure/aks/kubernetes-dashboard",),
        mappings=Mappings(checkov=("CKV_AZURE_8",), nist=("CM-7",)),
        rule={"field": f"{MC}/addonProfiles.kubeDashboard.enabled", "notEquals": True},
        policy_gap="Azure Policy has no alias for addonProfiles.kubeDashboard; no built-in covers it.",
    ),
]


def check_naming(target: Target, params: Mapping[str, Any]) -> Verdict:
    """The cluster name and pool names fully match the configured regular expressions (empty = not checked)."""
    c = Check(target, params)
    truths: list[Truth] = []

    def match(path: str, value: Any, pattern: str, param: str) -> Truth:
        if isinstance(value, Unknown):
            return c.unknown(path, value.reason)
        try:  # the user's pattern: run with a time bound (user_regex.py); too slow is an error naming it
            ok = isinstance(value, str) and user_pattern(pattern).fullmatch(value)
        except re.error as exc:
            return c.compare(f"parameters ({pattern})", "is", "a valid regular expression", str(exc), False)
        except PatternTooSlow as exc:
            raise PatternTooSlow(f"parameter {param}: {exc}") from None
        return c.compare(path, "matches", pattern, value, ok)

    cluster_format = str(params.get("clusterNameFormat") or "")
    if cluster_format:
        name = target.resource.name
        truths.append(match("name", name, cluster_format, "clusterNameFormat"))
    formats = {"system": str(params.get("systemPoolNameFormat") or ""), "user": str(params.get("userPoolNameFormat") or "")}
    if any(formats.values()):
        members = pools(c)
        if isinstance(members, Unknown):
            truths.append(c.unknown("properties.agentPoolProfiles", members.reason))
        else:
            for pool in members:
                mode_path, mode = pool_field(c, pool, "mode")
                if isinstance(mode, Unknown):
                    truths.append(c.unknown(mode_path, mode.reason))
                    continue
                pattern = formats.get(lower(mode)) if isinstance(mode, str) else None
                if pattern:
                    path, name = pool_field(c, pool, "name")
                    truths.append(match(path, name, pattern, f"{lower(mode)}PoolNameFormat"))
    return c.verdict(all_of(truths))


CONTROLS += [
    Control(
        id="AKS-047",
        title="Image Cleaner removes unused, vulnerable images from nodes",
        severity=Severity.LOW,
        section="Images",
        rationale=(
            "Images that no pod uses any more stay cached on nodes, vulnerabilities included, and can be started "
            "again without a pull (and so without registry-side scanning). Image Cleaner (Eraser) removes unused "
            "images with known vulnerabilities on a schedule."),
        remediation=(
            "Set properties.securityProfile.imageCleaner.enabled to true with intervalHours "
            "(az aks update --enable-image-cleaner --image-cleaner-interval-hours 168)."),
        references=("https://learn.microsoft.com/azure/aks/image-cleaner",),
        mappings=Mappings(azure_policy=("af3c26b2-6fad-493e-9236-9c68928516ab",), nist=("CM-7", "SI-2")),
        rule={"field": f"{MC}/securityProfile.imageCleaner.enabled", "equals": True},
    ),
    Control(
        id="AKS-048",
        title="Image Integrity verifies image signatures (preview)",
        severity=Severity.INFO,
        section="Images",
        rationale=(
            "Image Integrity (Ratify with Azure Policy) admits only images whose signatures verify, so a tampered "
            "or unsigned image cannot run. The feature is in preview; Microsoft's only built-in for it is a "
            "preview DeployIfNotExists, so the control is informational."),
        remediation=(
            "Set properties.securityProfile.imageIntegrity.enabled to true and assign the Image Integrity "
            "policies (az aks update --enable-image-integrity)."),
        references=("https://learn.microsoft.com/azure/aks/image-integrity",),
        mappings=Mappings(azure_policy=("5dc99dae-cfb2-42cc-8762-9aae02b74e27",), nist=("SI-7", "CM-14")),
        rule={"field": f"{MC}/securityProfile.imageIntegrity.enabled", "equals": True},
    ),
    Control(
        id="AKS-049",
        title="The CSI storage drivers are not disabled",
        severity=Severity.LOW,
        section="Governance",
        rationale=(
            "The Azure Disk and Azure Files CSI drivers and the snapshot controller replace the in-tree volume "
            "plugins, which are removed upstream; they are the supported path for encrypted (customer-managed key) "
            "disks and for volume snapshots. AKS enables them unless the template turns them off, so only an "
            "explicit false fails, as in Microsoft's built-in."),
        remediation=(
            "Set properties.storageProfile.diskCSIDriver.enabled, fileCSIDriver.enabled and "
            "snapshotController.enabled to true, or omit them (az aks update --enable-disk-driver "
            "--enable-file-driver --enable-snapshot-controller)."),
        references=("https://learn.microsoft.com/azure/aks/csi-storage-drivers",),
        mappings=Mappings(azure_policy=("c5110b6e-5272-4989-9935-59ad06fdf341",), nist=("CM-6",)),
        rule={"allOf": [
            {"field": f"{MC}/storageProfile.diskCSIDriver.enabled", "notEquals": False},
            {"field": f"{MC}/storageProfile.fileCSIDriver.enabled", "notEquals": False},
            {"field": f"{MC}/storageProfile.snapshotController.enabled", "notEquals": False},
        ]},
    ),
    Control(
        id="AKS-050",
        title="Cluster and node pool names follow the configured naming convention",
        severity=Severity.INFO,
        section="Governance",
        rationale=(
            "Names that follow the organisation's convention tell operators and auditors what a cluster or pool "
            "is for (environment, workload, region) and make inventory and policy scoping reliable. The "
            "convention is the organisation's: the control applies only when a format is configured, as "
            "regular expressions that must match the whole name (system pools: mode System; user pools: mode "
            "User)."),
        remediation=(
            "Rename as the convention requires (the resource name and properties.agentPoolProfiles[].name); clusters "
            "and pools cannot be renamed, so create new ones (az aks nodepool add --name <conforming-name>) and move "
            "workloads."),
        references=("https://learn.microsoft.com/azure/cloud-adoption-framework/ready/azure-best-practices/resource-naming",),
        mappings=Mappings(psrule=("Azure.AKS.Naming", "Azure.AKS.SystemPoolNaming", "Azure.AKS.UserPoolNaming"),
                          nist=("CM-8",)),
        parameters=(
            Parameter("clusterNameFormat", "", "Regular expression the cluster name must match (empty: not checked).",
                      schema={"format": "regex"}),
            Parameter("systemPoolNameFormat", "", "Regular expression for System pool names (empty: not checked).",
                      schema={"format": "regex"}),
            Parameter("userPoolNameFormat", "", "Regular expression for User pool names (empty: not checked).",
                      schema={"format": "regex"}),
        ),
        applicability={"anyOf": [
            {"value": "[parameters('clusterNameFormat')]", "notEquals": ""},
            {"value": "[parameters('systemPoolNameFormat')]", "notEquals": ""},
            {"value": "[parameters('userPoolNameFormat')]", "notEquals": ""},
        ]},
        applicability_text="no naming format is configured (set clusterNameFormat, systemPoolNameFormat or userPoolNameFormat)",
        check=check_naming,
        policy_gap=("Regular expressions are beyond the condition language (like/match only know * # ?); "
                    "no built-in covers naming."),
    ),
]
