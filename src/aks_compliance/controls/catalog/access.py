"""Control-plane access, identity and authorization."""

from ..model import Control, Mappings, Severity

MC = "Microsoft.ContainerService/managedClusters"

CONTROLS = [
    Control(
        id="AKS-001",
        title="API server access is restricted to authorized IP ranges or a private endpoint",
        severity=Severity.HIGH,
        section="CIS 5.4",
        rationale=(
            "A public API server that accepts connections from any address exposes the control plane to "
            "credential stuffing and to exploitation of API server vulnerabilities. Limiting it to known "
            "address ranges, or making the cluster private, removes the internet-wide attack surface. A range "
            "of 0.0.0.0/0 restricts nothing and does not count."),
        remediation=(
            "Set properties.apiServerAccessProfile.enablePrivateCluster to true, or list the allowed ranges in "
            "properties.apiServerAccessProfile.authorizedIPRanges "
            "(az aks update --api-server-authorized-ip-ranges <cidr>,<cidr>; az aks create --enable-private-cluster)."),
        references=("https://learn.microsoft.com/azure/aks/api-server-authorized-ip-ranges",
                    "https://learn.microsoft.com/azure/aks/private-clusters"),
        mappings=Mappings(cis_aks=("5.4.1",), azure_policy=("0e246bcf-5f6f-4f87-bc6f-775d4712c7ea",),
                          psrule=("Azure.AKS.AuthorizedIPs",), checkov=("CKV_AZURE_6",), nist=("AC-3", "SC-7")),
        rule={"anyOf": [
            {"field": f"{MC}/apiServerAccessProfile.enablePrivateCluster", "equals": True},
            {"allOf": [
                {"count": {"field": f"{MC}/apiServerAccessProfile.authorizedIPRanges[*]"}, "greater": 0},
                {"count": {"field": f"{MC}/apiServerAccessProfile.authorizedIPRanges[*]",
                           "where": {"field": f"{MC}/apiServerAccessProfile.authorizedIPRanges[*]",
                                     "in": ["0.0.0.0/0", "*", "Internet", "::/0"]}},
                 "equals": 0},
            ]},
        ]},
    ),
    Control(
        id="AKS-002",
        title="Local accounts are disabled",
        severity=Severity.HIGH,
        section="CIS 5.5",
        rationale=(
            "Local accounts (the static cluster-admin credential behind az aks get-credentials --admin) bypass "
            "Entra ID, cannot be audited to a person and are not revoked when someone leaves. With local accounts "
            "disabled, every access goes through Entra ID identities and their conditional access policies."),
        remediation=(
            "Set properties.disableLocalAccounts to true (az aks update --disable-local-accounts); this "
            "requires Entra ID integration (AKS-004)."),
        references=("https://learn.microsoft.com/azure/aks/manage-local-accounts-managed-azure-ad",),
        mappings=Mappings(cis_aks=("5.5.1",), azure_policy=("993c2fcd-2b29-49d2-9eb0-df2c3a730c32",),
                          psrule=("Azure.AKS.LocalAccounts",), checkov=("CKV_AZURE_141",), nist=("AC-2", "IA-2")),
        rule={"field": f"{MC}/disableLocalAccounts", "equals": True},
    ),
    Control(
        id="AKS-003",
        title="Kubernetes RBAC is enabled",
        severity=Severity.HIGH,
        section="CIS 5.5",
        rationale=(
            "Without Kubernetes role-based access control every authenticated identity has full access to the "
            "cluster API. RBAC is the basis for least privilege inside the cluster. The API enables it when the "
            "property is omitted, so only an explicit false fails."),
        remediation=(
            "Set properties.enableRBAC to true (or omit it). RBAC cannot be turned on for an existing cluster; "
            "the cluster has to be recreated."),
        references=("https://learn.microsoft.com/azure/aks/concepts-identity#kubernetes-rbac",),
        mappings=Mappings(cis_aks=("5.5.1",), azure_policy=("ac4a19c2-fa67-49b4-8ae5-0b2e78c49457",),
                          psrule=("Azure.AKS.UseRBAC",), checkov=("CKV_AZURE_5",), nist=("AC-3", "AC-6")),
        rule={"field": f"{MC}/enableRBAC", "notEquals": False},
    ),
    Control(
        id="AKS-004",
        title="Managed Entra ID integration is enabled",
        severity=Severity.HIGH,
        section="CIS 5.5",
        rationale=(
            "Managed Entra ID (Azure AD) integration authenticates cluster users against the organisation's "
            "directory, with MFA and conditional access, and lets group membership drive Kubernetes RBAC. "
            "Legacy (non-managed) integration and no integration leave authentication to certificates."),
        remediation=(
            "Set properties.aadProfile.managed to true and list admin groups in "
            "properties.aadProfile.adminGroupObjectIDs (az aks update --enable-aad "
            "--aad-admin-group-object-ids <group-id>)."),
        references=("https://learn.microsoft.com/azure/aks/enable-authentication-microsoft-entra-id",),
        mappings=Mappings(cis_aks=("5.5.1",), azure_policy=("450d2877-ebea-41e8-b00c-e286317d21bf",),
                          psrule=("Azure.AKS.ManagedAAD",), nist=("IA-2", "AC-2")),
        rule={"field": f"{MC}/aadProfile.managed", "equals": True},
    ),
    Control(
        id="AKS-013",
        title="The cluster uses a managed identity, not a service principal",
        severity=Severity.MEDIUM,
        section="CIS 5.2",
        rationale=(
            "A service principal's client secret has to be stored, rotated and protected; it expires and is "
            "a long-lived credential that can leak. A managed identity has no secret to handle."),
        remediation=(
            "Set identity.type to SystemAssigned or UserAssigned and remove servicePrincipalProfile "
            "(az aks update --enable-managed-identity)."),
        references=("https://learn.microsoft.com/azure/aks/use-managed-identity",),
        mappings=Mappings(cis_aks=("5.2.1",), azure_policy=("da6e2401-19da-4532-9141-fb8fbde08431",),
                          psrule=("Azure.AKS.ManagedIdentity",), nist=("IA-5",)),
        rule={"anyOf": [
            {"field": "identity.type", "in": ["SystemAssigned", "UserAssigned"]},
            {"field": f"{MC}/servicePrincipalProfile.clientId", "equals": "msi"},
        ]},
    ),
]
