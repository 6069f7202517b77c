"""Control-plane access, identity and authorization."""

from typing import Any, Callable, Mapping

from ...cidrs import Network, cover_everything, network
from ...policy.conditions import Leaf, Truth, Verdict
from ...targets import Target
from ..checks import Check
from ..model import Control, Mappings, Severity

MC = "Microsoft.ContainerService/managedClusters"
_RANGES = f"{MC}/apiServerAccessProfile.authorizedIPRanges[*]"
_PRIVATE = {"field": f"{MC}/apiServerAccessProfile.enablePrivateCluster", "equals": True}


def _authorized_ranges_restrict() -> dict:
    """The API server admits only authorized IP ranges, none of which admits any address (AKS-001, AKS-090).

    A range admits any address when it contains 0.0.0.0/0, however it is spelled (10.1.2.3/0 is 0.0.0.0/0: AKS
    accepts host bits). A member that is no IPv4 range makes ipRangeContains fail, an evaluation error in Azure
    Policy as here; AKS rejects such a cluster anyway (arm/shapes.py IPV4_RANGE)."""
    ranges = f"{MC}/apiServerAccessProfile.authorizedIPRanges[*]"
    return {"allOf": [
        {"count": {"field": ranges}, "greater": 0},
        {"count": {"field": ranges, "where": {"value": f"[ipRangeContains(current('{ranges}'), '0.0.0.0/0')]",
                                              "equals": True}},
         "equals": 0},
    ]}


def _union_admits_everything(c: Check) -> tuple[str, list[str]] | None:
    """The array path and the known ranges, when those ranges together admit every IPv4 address.

    The API server admits the union of its authorized ranges: 0.0.0.0/1 and 128.0.0.0/1 admit what 0.0.0.0/0
    does. A member not known offline (a reference()) can only widen the union, so the known ones decide when they
    already cover everything; one that is no IPv4 range is the rule's to report (ipRangeContains fails)."""
    nets: list[Network] = []
    texts: list[str] = []
    where = ""
    for path, value in c.select(_RANGES):
        where = where or path.rsplit("[", 1)[0]
        net = network(value) if isinstance(value, str) else None  # AKS takes host bits (10.1.2.3/8)
        if net is not None and net.version == 4:
            nets.append(net)
            texts.append(value)
    if not cover_everything(nets, 4):
        return None
    return where, texts


def _restricted_or(*others: dict) -> Callable[[Target, Mapping[str, Any]], Verdict]:
    """The condition ``anyOf(others..., ranges restrict)``, with the ranges' union judged too: ranges that admit
    every IPv4 address together restrict nothing, so that branch is false and the others decide."""
    rule = {"anyOf": [*others, _authorized_ranges_restrict()]}
    rest = others[0] if len(others) == 1 else {"anyOf": list(others)}

    def check_authorized_ranges(target: Target, params: Mapping[str, Any]) -> Verdict:
        c = Check(target, params)
        verdict = c._ev(None).verdict(rule)
        if verdict.truth in (Truth.TRUE, Truth.UNKNOWN):
            union = _union_admits_everything(c)
            if union is not None:
                verdict = c._ev(None).verdict(rest)
                verdict.leaves.append(Leaf(union[0], "ranges together admit", "not every IPv4 address",
                                           f"every IPv4 address ({', '.join(union[1])} cover 0.0.0.0/0)",
                                           Truth.FALSE))
        return verdict

    return check_authorized_ranges


_UNION_GAP = ("The API server admits the union of the authorized ranges, and whether ranges admit every IPv4 "
              "address together (0.0.0.0/1 and 128.0.0.0/1 do) is beyond the condition language: it compares ranges "
              "only by containment (ipRangeContains), under which 0.0.0.0/1 with 128.0.0.0/1 and 0.0.0.0/1 with "
              "128.0.0.0/2 look alike, though the first admits every address and the second does not; so the verdict "
              "stays in Python. The rule would be {rule}at least one authorized range, none containing 0.0.0.0/0, "
              "and their union short of all of IPv4.")

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
            "of 0.0.0.0/0 (or any /0, such as 10.1.2.3/0) restricts nothing and does not count, nor do ranges "
            "that admit every IPv4 address together (0.0.0.0/1 with 128.0.0.0/1: the API server admits their "
            "union); a member that is not an IPv4 address or CIDR range is rejected by AKS and is an error."),
        remediation=(
            "Set properties.apiServerAccessProfile.enablePrivateCluster to true, or list the allowed ranges in "
            "properties.apiServerAccessProfile.authorizedIPRanges "
            "(az aks update --api-server-authorized-ip-ranges <cidr>,<cidr>; az aks create --enable-private-cluster)."),
        references=("https://learn.microsoft.com/azure/aks/api-server-authorized-ip-ranges",
                    "https://learn.microsoft.com/azure/aks/private-clusters"),
        mappings=Mappings(cis_aks=("5.4.1",), azure_policy=("0e246bcf-5f6f-4f87-bc6f-775d4712c7ea",),
                          psrule=("Azure.AKS.AuthorizedIPs",), checkov=("CKV_AZURE_6",), nist=("AC-3", "SC-7")),
        builtin_deviation=(
            "The built-in only asks that authorizedIPRanges exist (or the cluster be private): it accepts a range "
            "list that admits any address (0.0.0.0/0, any /0 range, or ranges whose union is all of IPv4), which "
            "this control fails, and it is compliant where the ranges come from a reference() this control cannot "
            "resolve offline (unknown here)."),
        check=_restricted_or(_PRIVATE),
        policy_gap=_UNION_GAP.format(rule="enablePrivateCluster = true or ") + (
            " The built-in 0e246bcf audits that authorized ranges are set (or the cluster is private)."),
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
            "cluster API. RBAC is the basis for least privilege inside the cluster. From API 2020-04-01 AKS enables it "
            "when the property is omitted; earlier API versions leave it off, and API 2017-08-31 has no RBAC at all "
            "(see the defaults below). Deployed state that omits it is unknown."),
        remediation=(
            "Set properties.enableRBAC to true (or omit it; az aks create enables it unless --disable-rbac is given). "
            "RBAC cannot be turned on for an existing cluster; the cluster has to be recreated."),
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
        builtin_deviation=(
            "The built-in only checks that aadProfile exists, so legacy (non-managed) Entra ID integration is "
            "compliant there; this control requires aadProfile.managed = true."),
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
        builtin_deviation=(
            "The built-in flags only a servicePrincipalProfile whose clientId is not msi, so a cluster that declares "
            "neither a managed identity nor a service principal is compliant there; this control requires a "
            "SystemAssigned or UserAssigned identity (or clientId msi without identity type None) and fails it."),
        # clientId "msi" is how a managed-identity cluster's servicePrincipalProfile reads; an explicit identity
        # type None says the opposite ("Type 'None' will not use MSI for the managed cluster, service principal
        # will be used instead", ManagedClusterIdentity in the REST specification), so it does not count then
        rule={"anyOf": [
            {"field": "identity.type", "in": ["SystemAssigned", "UserAssigned"]},
            {"allOf": [
                {"field": f"{MC}/servicePrincipalProfile.clientId", "equals": "msi"},
                {"field": "identity.type", "notEquals": "None"},
            ]},
        ]},
    ),
]

CONTROLS += [
    Control(
        id="AKS-016",
        title="Kubernetes authorization uses Azure RBAC",
        severity=Severity.MEDIUM,
        section="CIS 5.5",
        rationale=(
            "With Azure RBAC for Kubernetes authorization, who may do what in the cluster is granted by Azure "
            "role assignments on the cluster or namespace scope: one place to review, with Privileged Identity "
            "Management and access reviews, instead of RoleBindings scattered through the cluster. Without it, "
            "Entra ID only authenticates and every grant lives in Kubernetes objects. Azure RBAC needs managed Entra "
            "ID integration (aadProfile.managed): enableAzureRBAC without it does not count."),
        remediation=(
            "Set properties.aadProfile.enableAzureRBAC to true (needs aadProfile.managed, AKS-004) "
            "(az aks update --enable-azure-rbac), then assign the Azure Kubernetes Service RBAC roles."),
        references=("https://learn.microsoft.com/azure/aks/manage-azure-rbac",),
        mappings=Mappings(cis_aks=("5.5.2",), psrule=("Azure.AKS.AzureRBAC",), nist=("AC-3", "AC-6")),
        # Azure RBAC authorizes Entra ID identities: "You need managed Microsoft Entra integration enabled on your
        # cluster before you can add Azure RBAC for Kubernetes authorization" (Learn, manage-azure-rbac)
        rule={"allOf": [
            {"field": f"{MC}/aadProfile.enableAzureRBAC", "equals": True},
            {"field": f"{MC}/aadProfile.managed", "equals": True},
        ]},
    ),
    Control(
        id="AKS-017",
        title="An Entra ID group is named as cluster administrators",
        severity=Severity.MEDIUM,
        section="CIS 5.5",
        rationale=(
            "With managed Entra ID integration, cluster-admin is granted to the groups in "
            "aadProfile.adminGroupObjectIDs. With no group, the only way in as administrator is the local admin "
            "credential (or an Azure role with the same power), which defeats the point of disabling local "
            "accounts. A named group makes administrative access reviewable."),
        remediation=(
            "List the administrators' group in properties.aadProfile.adminGroupObjectIDs "
            "(az aks update --aad-admin-group-object-ids <group-object-id>)."),
        references=("https://learn.microsoft.com/azure/aks/enable-authentication-microsoft-entra-id",),
        mappings=Mappings(cis_aks=("5.5.1",), azure_policy=("36a27de4-199b-40fb-b336-945a8475d6c5",),
                          nist=("AC-2", "AC-6")),
        # the DeployIfNotExists built-in asks for named groups; the fixtures name this one
        builtin_parameters={"36a27de4-199b-40fb-b336-945a8475d6c5": {
            "adminGroupObjectIDs": ["11111111-2222-3333-4444-555555555555"]}},
        applicability={"field": f"{MC}/aadProfile.managed", "equals": True},
        applicability_text="managed Entra ID integration is not enabled, so there are no admin groups (see AKS-004)",
        rule={"count": {"field": f"{MC}/aadProfile.adminGroupObjectIDs[*]"}, "greater": 0},
    ),
    Control(
        id="AKS-018",
        title="Command invoke (run command) is disabled",
        severity=Severity.MEDIUM,
        section="CIS 5.4",
        rationale=(
            "Command invoke (az aks command invoke) runs kubectl inside the cluster through the Azure API, which "
            "reaches even a private cluster from anywhere a user holds the Azure role. It bypasses the network "
            "controls on the API server. Disabling it keeps private clusters private."),
        remediation=(
            "Set properties.apiServerAccessProfile.disableRunCommand to true "
            "(az aks update --disable-run-command)."),
        references=("https://learn.microsoft.com/azure/aks/access-private-cluster",),
        mappings=Mappings(azure_policy=("89f2d532-c53c-4f8f-9afa-4927b1114a0d",), nist=("AC-17", "SC-7")),
        rule={"field": f"{MC}/apiServerAccessProfile.disableRunCommand", "equals": True},
    ),
    Control(
        id="AKS-019",
        title="The cluster is private (API server on a private endpoint)",
        severity=Severity.MEDIUM,
        section="CIS 5.4",
        rationale=(
            "A private cluster exposes its API server only on a private IP address in the cluster's virtual "
            "network, so the control plane is unreachable from the internet whatever the authorized ranges say. "
            "It is the strongest form of AKS-001 and what CIS 5.4.2 asks for."),
        remediation=(
            "Set properties.apiServerAccessProfile.enablePrivateCluster to true when creating the cluster "
            "(az aks create --enable-private-cluster); an existing cluster can move to API server VNet integration "
            "(az aks update --enable-private-cluster with --enable-apiserver-vnet-integration)."),
        references=("https://learn.microsoft.com/azure/aks/private-clusters",),
        mappings=Mappings(cis_aks=("5.4.2",), azure_policy=("040732e8-d947-40b8-95d6-854c95024bf8",),
                          checkov=("CKV_AZURE_115",), nist=("SC-7", "AC-17")),
        rule={"field": f"{MC}/apiServerAccessProfile.enablePrivateCluster", "equals": True},
    ),
    Control(
        id="AKS-020",
        title="A private cluster has no public FQDN",
        severity=Severity.LOW,
        section="CIS 5.4",
        rationale=(
            "By default a private cluster also gets a public DNS name that resolves to the private endpoint. It "
            "discloses the cluster and its private address in public DNS. CIS 5.4.2 asks for public access to be "
            "disabled; with the public FQDN off, the name resolves only through the private DNS zone."),
        remediation=(
            "Set properties.apiServerAccessProfile.enablePrivateClusterPublicFQDN to false "
            "(az aks update --disable-public-fqdn); an absent value gets the public FQDN."),
        references=("https://learn.microsoft.com/azure/aks/private-clusters#disable-a-public-fqdn",),
        mappings=Mappings(cis_aks=("5.4.2",), nist=("SC-7",)),
        applicability={"field": f"{MC}/apiServerAccessProfile.enablePrivateCluster", "equals": True},
        applicability_text="the cluster is not private (see AKS-019)",
        rule={"field": f"{MC}/apiServerAccessProfile.enablePrivateClusterPublicFQDN", "equals": False},
    ),
    Control(
        id="AKS-021",
        title="Workload identity is enabled",
        severity=Severity.MEDIUM,
        section="Identity",
        rationale=(
            "Workload identity lets pods obtain Entra ID tokens through federated service account tokens, so "
            "applications reach Azure services without secrets in the cluster and without the node's identity. "
            "It replaces the retired pod-managed identity and client secrets in Kubernetes Secrets."),
        remediation=(
            "Set properties.securityProfile.workloadIdentity.enabled and properties.oidcIssuerProfile.enabled "
            "to true (az aks update --enable-oidc-issuer --enable-workload-identity)."),
        references=("https://learn.microsoft.com/azure/aks/workload-identity-overview",),
        mappings=Mappings(azure_policy=("2cc2e023-0dac-4046-875b-178f683929d5",), nist=("IA-5", "AC-6")),
        rule={"field": f"{MC}/securityProfile.workloadIdentity.enabled", "equals": True},
    ),
    Control(
        id="AKS-022",
        title="SSH access to nodes is disabled on every node pool",
        severity=Severity.MEDIUM,
        section="Node access",
        rationale=(
            "SSH to nodes with the cluster's admin key gives root on the node, around Kubernetes RBAC and audit "
            "logging. With sshAccess Disabled, AKS removes the SSH service; node debugging goes through "
            "kubectl debug, which is authorized and audited. Every pool counts; a pool that does not state "
            "sshAccess keeps the default, LocalUser (SSH on)."),
        remediation=(
            "Set securityProfile.sshAccess to Disabled on every pool in properties.agentPoolProfiles and every "
            "agentPools resource (az aks nodepool update --ssh-access disabled; az aks create --ssh-access disabled)."),
        references=("https://learn.microsoft.com/azure/aks/manage-ssh-node-access",),
        mappings=Mappings(azure_policy=("28257686-e9db-403e-b9e2-a5eecbe03da9",), nist=("AC-17", "CM-7")),
        rule={"count": {"field": f"{MC}/agentPoolProfiles[*]",
                        "where": {"field": f"{MC}/agentPoolProfiles[*].securityProfile.sshAccess",
                                  "notEquals": "Disabled"}},
              "equals": 0},
    ),
    Control(
        id="AKS-023",
        title="The cluster's access to container registries is read-only",
        severity=Severity.MEDIUM,
        section="CIS 5.1",
        rationale=(
            "The kubelet identity pulls images; if it can also push or delete, a compromised node can poison the "
            "registry for every cluster that pulls from it. CIS 5.1.3 asks that the cluster's access be limited "
            "to AcrPull. The role assignments live on the registries, often in other templates or subscriptions, "
            "so the template alone cannot show them: this control is checked by hand."),
        remediation=(
            "Audit: find the kubelet identity (properties.identityProfile.kubeletidentity.objectId, or "
            "az aks show --query identityProfile.kubeletidentity.objectId) and list its role assignments on each "
            "registry (az role assignment list --assignee <object-id> --all). Only AcrPull (or Container Registry "
            "Repository Reader) should appear; remove any other role (az role assignment delete) and attach "
            "registries with az aks update --attach-acr, which grants AcrPull only."),
        references=("https://learn.microsoft.com/azure/aks/cluster-container-registry-integration",),
        mappings=Mappings(cis_aks=("5.1.3",), nist=("AC-6",)),
        policy_gap=("Manual: role assignments on registries are not cluster properties, and no alias or built-in "
                    "expresses 'the kubelet identity holds only AcrPull'."),
    ),
    Control(
        id="AKS-024",
        title="The retired pod-managed identity add-on is not enabled",
        severity=Severity.LOW,
        section="Identity",
        rationale=(
            "Entra pod-managed identity (podIdentityProfile) ran the NMI daemon with host networking to intercept "
            "instance metadata calls; it was deprecated in 2022 and left support in 2025. A template that still "
            "enables it runs an unsupported privileged component. Workload identity (AKS-021) replaces it."),
        remediation=(
            "Set properties.podIdentityProfile.enabled to false or remove it (az aks update "
            "--disable-pod-identity) and move the workloads to workload identity."),
        references=("https://learn.microsoft.com/azure/aks/use-azure-ad-pod-identity",),
        mappings=Mappings(nist=("CM-7", "SA-22")),
        rule={"field": f"{MC}/podIdentityProfile.enabled", "notEquals": True},
    ),
    Control(
        id="AKS-090",
        title="A cluster with local accounts does not expose its API server to the internet",
        severity=Severity.CRITICAL,
        section="CIS 5.4",
        rationale=(
            "Each of local accounts (AKS-002) and a public API server without authorized ranges (AKS-001) is a "
            "high finding; together they are critical. The local cluster-admin credential is a client certificate "
            "that bypasses Entra ID: no conditional access, no multi-factor authentication, nothing revoked when "
            "its holder leaves, and anyone who copies the kubeconfig (a laptop, a CI log, a backup) can take over "
            "the cluster from any address on the internet, with the API server answering every connection. "
            "Either disabling local accounts or restricting the API server to a private endpoint or known ranges "
            "(0.0.0.0/0 does not count, nor do ranges that admit every address together) removes the path."),
        remediation=(
            "First close the path: set properties.disableLocalAccounts to true (az aks update "
            "--disable-local-accounts; needs Entra ID integration), or restrict the API server "
            "(properties.apiServerAccessProfile.authorizedIPRanges, az aks update --api-server-authorized-ip-ranges "
            "<cidr>; or a private cluster). Then rotate the cluster certificates (az aks rotate-certs): local "
            "credentials already handed out stay valid until rotated."),
        references=("https://learn.microsoft.com/azure/aks/manage-local-accounts-managed-azure-ad",
                    "https://learn.microsoft.com/azure/aks/api-server-authorized-ip-ranges",
                    "https://learn.microsoft.com/azure/aks/certificate-rotation"),
        mappings=Mappings(nist=("AC-2", "AC-17", "SC-7")),
        check=_restricted_or({"field": f"{MC}/disableLocalAccounts", "equals": True}, _PRIVATE),
        policy_gap=_UNION_GAP.format(rule="disableLocalAccounts = true, or enablePrivateCluster = true, or ") + (
            " No built-in covers the combination."),
    ),
]
