"""Microsoft Defender for Containers: the subscription plan and its registry vulnerability scanning."""

from __future__ import annotations

from ..model import Control, Mappings, Severity

PR = "Microsoft.Security/pricings"

_GAP = ("The alias catalog this project verifies against does not cover Microsoft.Security, so the pricing alias "
        "used here is unverified and no definition is generated; the built-in {builtin} covers the concept "
        "(AuditIfNotExists at subscription scope).")

CONTROLS = [
    Control(
        id="AKS-057",
        title="Microsoft Defender for Containers is on (Standard tier)",
        severity=Severity.HIGH,
        section="CIS 5.1",
        resource_type=PR,
        rationale=(
            "The Defender for Containers plan is what turns on runtime threat detection, control-plane anomaly "
            "detection and vulnerability assessment for the subscription's clusters and registries; the "
            "cluster's Defender profile (AKS-009) only deploys the sensor. The plan is the pricing named "
            "Containers, or the legacy KubernetesService; Checkov's CKV_AZURE_85 looks only at the legacy "
            "name, so a Containers pricing passes it whatever its tier. Other pricings (VirtualMachines, ...) do "
            "not apply."),
        remediation=(
            "Deploy Microsoft.Security/pricings named Containers with properties.pricingTier Standard at "
            "subscription scope (az security pricing create --name Containers --tier Standard)."),
        references=("https://learn.microsoft.com/azure/defender-for-cloud/defender-for-containers-enable",),
        mappings=Mappings(cis_aks=("5.1.1",), azure_policy=("1c988dd6-ade4-430f-a608-2a3e5b0a6d38",
                                                            "523b5cd1-3e23-492f-a539-13118b6d1e3a"),
                          psrule=("Azure.Defender.Containers",), checkov=("CKV_AZURE_85",), nist=("SI-4", "RA-5")),
        applicability={"field": "name", "in": ["Containers", "KubernetesService"]},
        applicability_text="this pricing is not the Defender for Containers plan (Containers or KubernetesService)",
        rule={"field": f"{PR}/pricingTier", "equals": "Standard"},
        policy_gap=_GAP.format(builtin="1c988dd6"),
    ),
    Control(
        id="AKS-058",
        title="Defender scans container registry images for vulnerabilities",
        severity=Severity.MEDIUM,
        section="CIS 5.1",
        resource_type=PR,
        rationale=(
            "Images pushed to and pulled from Azure Container Registry should be scanned for known "
            "vulnerabilities (CIS 5.1.1). Defender for Containers does it through its "
            "ContainerRegistriesVulnerabilityAssessments extension, on by default with the Standard plan; the "
            "legacy ContainerRegistry plan scanned too. The plan must be Standard and the extension must not be "
            "turned off. Checkov's CKV_AZURE_163 only checks the registry SKU, which says nothing about scanning."),
        remediation=(
            "Set properties.pricingTier Standard on the Containers pricing and keep "
            "{\"name\": \"ContainerRegistriesVulnerabilityAssessments\", \"isEnabled\": \"True\"} in "
            "properties.extensions (az security pricing create --name Containers --tier Standard "
            "--extensions name=ContainerRegistriesVulnerabilityAssessments isEnabled=True)."),
        references=("https://learn.microsoft.com/azure/defender-for-cloud/agentless-vulnerability-assessment-azure",),
        mappings=Mappings(cis_aks=("5.1.1",), azure_policy=("efd4031d-b232-4595-babf-ae817348e91b",),
                          psrule=("Azure.ACR.ContainerScan",), checkov=("CKV_AZURE_163",), nist=("RA-5", "SI-2")),
        applicability={"field": "name", "in": ["Containers", "ContainerRegistry"]},
        applicability_text="this pricing is not a plan that scans registries (Containers or ContainerRegistry)",
        rule={"allOf": [
            {"field": f"{PR}/pricingTier", "equals": "Standard"},
            {"count": {"field": f"{PR}/extensions[*]",
                       "where": {"allOf": [
                           {"field": f"{PR}/extensions[*].name", "equals": "ContainerRegistriesVulnerabilityAssessments"},
                           {"field": f"{PR}/extensions[*].isEnabled", "equals": False},
                       ]}},
             "equals": 0},
        ]},
        policy_gap=_GAP.format(builtin="efd4031d (DeployIfNotExists with the extensions)"),
    ),
]
