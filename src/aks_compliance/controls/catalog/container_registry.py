"""Azure Container Registry: where the cluster's images come from."""

from __future__ import annotations

from ..model import Control, Mappings, Severity

CR = "Microsoft.ContainerRegistry/registries"
_PREMIUM = {"field": f"{CR}/sku.name", "equals": "Premium"}

CONTROLS = [
    Control(
        id="AKS-059",
        title="The registry's admin user is disabled",
        severity=Severity.HIGH,
        section="CIS 5.1",
        resource_type=CR,
        rationale=(
            "The admin user is a shared username and password with push and pull rights on the whole registry. "
            "It cannot be tied to a person, is often copied into pipelines and image pull secrets, and bypasses "
            "Entra ID. CIS 5.1.2 asks to minimize user access to the registry. An absent value is disabled."),
        remediation=(
            "Set properties.adminUserEnabled to false (az acr update --name <registry> --admin-enabled false) and "
            "use Entra ID identities (AcrPull for clusters) instead."),
        references=("https://learn.microsoft.com/azure/container-registry/container-registry-authentication#admin-account",),
        mappings=Mappings(cis_aks=("5.1.2",), azure_policy=("dc921057-6b28-4fbe-9b83-f7bec05db6c2",),
                          psrule=("Azure.ACR.AdminUser",), checkov=("CKV_AZURE_137",), nist=("AC-2", "IA-2")),
        rule={"field": f"{CR}/adminUserEnabled", "notEquals": True},
    ),
    Control(
        id="AKS-060",
        title="The registry does not allow anonymous pull",
        severity=Severity.HIGH,
        section="CIS 5.1",
        resource_type=CR,
        rationale=(
            "With anonymous pull anyone who can reach the registry can download every image, with the code, "
            "configuration and sometimes secrets baked into them. An absent value is disabled."),
        remediation=(
            "Set properties.anonymousPullEnabled to false (az acr update --name <registry> "
            "--anonymous-pull-enabled false)."),
        references=("https://learn.microsoft.com/azure/container-registry/anonymous-pull-access",),
        mappings=Mappings(cis_aks=("5.1.2",), azure_policy=("9f2dea28-e834-476c-99c5-3507b4728395",),
                          psrule=("Azure.ACR.AnonymousAccess",), checkov=("CKV_AZURE_138",), nist=("AC-3", "AC-14")),
        rule={"field": f"{CR}/anonymousPullEnabled", "notEquals": True},
    ),
    Control(
        id="AKS-061",
        title="The registry is not open to all networks",
        severity=Severity.MEDIUM,
        section="CIS 5.1",
        resource_type=CR,
        rationale=(
            "A registry reachable from any network can be probed and, with a leaked credential, pushed to from "
            "anywhere. Public network access Disabled (private endpoints only), or network rules whose default "
            "action is Deny (Premium), limit it to the cluster's networks. An absent publicNetworkAccess is "
            "Enabled; absent network rules allow all."),
        remediation=(
            "Set properties.publicNetworkAccess to Disabled and add a private endpoint, or set "
            "properties.networkRuleSet.defaultAction to Deny with the allowed ranges "
            "(az acr update --name <registry> --public-network-enabled false; "
            "az acr update --default-action Deny)."),
        references=("https://learn.microsoft.com/azure/container-registry/container-registry-access-selected-networks",),
        mappings=Mappings(azure_policy=("0fdf0491-d080-4575-b627-ad0e843cba0f", "d0793b48-0edc-4296-a390-4c75d1bdfd71"),
                          psrule=("Azure.ACR.Firewall",), checkov=("CKV_AZURE_139",), nist=("SC-7", "AC-4")),
        builtin_deviation=("0fdf0491 accepts only public network access Disabled; this control, like d0793b48, also "
                           "accepts network rules that deny by default."),
        rule={"anyOf": [
            {"field": f"{CR}/publicNetworkAccess", "equals": "Disabled"},
            {"field": f"{CR}/networkRuleSet.defaultAction", "equals": "Deny"},
        ]},
    ),
    Control(
        id="AKS-062",
        title="A Premium registry purges untagged manifests (retention policy)",
        severity=Severity.LOW,
        section="Registry",
        resource_type=CR,
        rationale=(
            "Untagged manifests accumulate with every push of a moving tag; they keep old, unpatched image layers "
            "pullable by digest and grow storage without bound. The retention policy deletes them after a set "
            "number of days. It is a Premium feature, so other SKUs do not apply."),
        remediation=(
            "Set properties.policies.retentionPolicy.status to enabled with days "
            "(az acr config retention update --registry <registry> --status enabled --days 30 --type UntaggedManifests)."),
        references=("https://learn.microsoft.com/azure/container-registry/container-registry-retention-policy",),
        mappings=Mappings(psrule=("Azure.ACR.Retention",), nist=("CM-2", "SI-12")),
        applicability=_PREMIUM,
        applicability_text="the retention policy needs the Premium SKU",
        rule={"field": f"{CR}/policies.retentionPolicy.status", "equals": "enabled"},
    ),
    Control(
        id="AKS-063",
        title="A Premium registry quarantines new images until they are scanned",
        severity=Severity.INFO,
        section="Registry",
        resource_type=CR,
        rationale=(
            "With the quarantine policy, a pushed image cannot be pulled until a scanner marks it as passed, so "
            "an image with critical vulnerabilities never reaches a cluster. The feature is a Premium preview "
            "and needs a scanner integration; the control is informational."),
        remediation=(
            "Set properties.policies.quarantinePolicy.status to enabled and integrate a scanner that clears "
            "images (az acr update --name <registry> --set policies.quarantinePolicy.status=enabled)."),
        references=("https://github.com/Azure/acr/tree/main/docs/preview/quarantine",),
        mappings=Mappings(psrule=("Azure.ACR.Quarantine",), checkov=("CKV_AZURE_166",), nist=("SI-3", "RA-5")),
        applicability=_PREMIUM,
        applicability_text="the quarantine policy needs the Premium SKU",
        rule={"field": f"{CR}/policies.quarantinePolicy.status", "equals": "enabled"},
    ),
    Control(
        id="AKS-064",
        title="A Premium registry does not allow artifact export",
        severity=Severity.LOW,
        section="Registry",
        resource_type=CR,
        rationale=(
            "Export pipelines and import from this registry into another one move images across network "
            "boundaries; with export disabled (which requires public network access disabled), artifacts leave "
            "only through the private network. This follows Microsoft's built-in, which applies to Premium."),
        remediation=(
            "Set properties.policies.exportPolicy.status to disabled and properties.publicNetworkAccess to "
            "Disabled (az acr update --name <registry> --allow-exports false --public-network-enabled false)."),
        references=("https://learn.microsoft.com/azure/container-registry/data-loss-prevention",),
        mappings=Mappings(azure_policy=("524b0254-c285-4903-bee6-bb8126cde579",), nist=("AC-4", "SC-7")),
        builtin_deviation=("The built-in audits every SKU; export policies exist only on Premium, so this control does "
                           "not apply to other SKUs."),
        applicability=_PREMIUM,
        applicability_text="export policies need the Premium SKU",
        rule={"allOf": [
            {"field": f"{CR}/policies.exportPolicy.status", "equals": "disabled"},
            {"field": f"{CR}/publicNetworkAccess", "equals": "Disabled"},
        ]},
    ),
    Control(
        id="AKS-065",
        title="User access to the registry is minimal",
        severity=Severity.MEDIUM,
        section="CIS 5.1",
        resource_type=CR,
        rationale=(
            "Who can push to a registry decides what runs in every cluster that pulls from it. CIS 5.1.2 asks "
            "that user access be limited to those who need it, through Entra ID role assignments rather than "
            "shared credentials. The assignments live in Microsoft.Authorization, often outside the template, so "
            "this control is checked by hand (AKS-059 and AKS-060 check the shared credentials automatically)."),
        remediation=(
            "Audit: list role assignments on the registry (az role assignment list --scope <registry-id> "
            "--include-inherited) and confirm that only named groups hold AcrPush, AcrDelete, Contributor or "
            "Owner, that pipelines use managed identities, and that scope maps/tokens (az acr token list) are "
            "justified; remove the rest (az role assignment delete)."),
        references=("https://learn.microsoft.com/azure/container-registry/container-registry-roles",),
        mappings=Mappings(cis_aks=("5.1.2",), nist=("AC-6", "AC-2")),
        policy_gap=("Manual: role assignments are separate Microsoft.Authorization resources, and no built-in "
                    "expresses 'only these principals may push'."),
    ),
]
