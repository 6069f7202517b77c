"""Key Vaults next to the cluster: the vault behind KMS etcd encryption and the Secrets Store CSI driver."""

from __future__ import annotations

from ...policy.conditions import Truth
from ...resources import Resource
from ..checks import Check, all_of, any_of, lower
from ..model import Control, Mappings, Severity

KV = "Microsoft.KeyVault/vaults"
T, F, U = Truth.TRUE, Truth.FALSE, Truth.UNKNOWN

_KV_GAP = ("The alias catalog this project verifies against covers Microsoft.ContainerService, Microsoft.Network "
           "application gateways, Microsoft.Insights and Microsoft.ContainerRegistry only, so the "
           "Microsoft.KeyVault alias used here is unverified and no definition is generated; Key Vault built-ins "
           "cover the concept ({builtin}).")


def vault_purge_protection(c: Check, vault: Resource) -> Truth:
    path, value = c.value(f"{KV}/enablePurgeProtection", vault)
    return c.record(c.joined(vault, path, "keyVault"), "equals", True, value, T if value is True else F)


def vault_network_restricted(c: Check, vault: Resource) -> Truth:
    public_path, public = c.value(f"{KV}/publicNetworkAccess", vault)
    action_path, action = c.value(f"{KV}/networkAcls.defaultAction", vault)
    return any_of([
        c.record(c.joined(vault, public_path, "keyVault"), "equals", "Disabled", public,
                 T if lower(public) == "disabled" else F),
        c.record(c.joined(vault, action_path, "keyVault"), "equals", "Deny", action,
                 T if lower(action) == "deny" else F),
    ])


def vault_protected(c: Check, vault: Resource) -> Truth:
    return all_of([vault_purge_protection(c, vault), vault_network_restricted(c, vault)])


CONTROLS = [
    Control(
        id="AKS-066",
        title="Key vaults have purge protection enabled",
        severity=Severity.MEDIUM,
        section="Key Vault",
        resource_type=KV,
        rationale=(
            "The vault next to an AKS cluster holds the KMS key that encrypts etcd and the secrets the Secrets "
            "Store CSI driver mounts. Without purge protection, a deleted vault or key can be purged at once, "
            "by mistake or by an attacker: with KMS, the cluster's secrets become unreadable for good. Purge "
            "protection keeps deleted vaults and keys recoverable for the retention period. An absent value is "
            "off."),
        remediation=(
            "Set properties.enablePurgeProtection to true (with enableSoftDelete) "
            "(az keyvault update --name <vault> --enable-purge-protection true); it cannot be turned off again."),
        references=("https://learn.microsoft.com/azure/key-vault/general/soft-delete-overview",),
        mappings=Mappings(psrule=("Azure.KeyVault.PurgeProtect",), checkov=("CKV_AZURE_110",), nist=("CP-9", "SC-12")),
        rule={"field": f"{KV}/enablePurgeProtection", "equals": True},
        policy_gap=_KV_GAP.format(builtin="'Key vaults should have deletion protection enabled'"),
    ),
    Control(
        id="AKS-067",
        title="Key vaults deny public network access by default",
        severity=Severity.MEDIUM,
        section="Key Vault",
        resource_type=KV,
        rationale=(
            "A vault reachable from any network exposes its keys and secrets to credential theft from anywhere. "
            "With public network access disabled, or a network ACL whose default action is Deny (with the "
            "cluster's subnets or private endpoint allowed), only the intended networks reach it. An absent "
            "networkAcls allows all networks."),
        remediation=(
            "Set properties.publicNetworkAccess to Disabled and use a private endpoint, or set "
            "properties.networkAcls.defaultAction to Deny with bypass AzureServices and the allowed subnets "
            "(az keyvault update --name <vault> --default-action Deny --public-network-access Disabled)."),
        references=("https://learn.microsoft.com/azure/key-vault/general/network-security",),
        mappings=Mappings(psrule=("Azure.KeyVault.Firewall",), checkov=("CKV_AZURE_109", "CKV_AZURE_189"),
                          nist=("SC-7", "AC-4")),
        rule={"anyOf": [
            {"field": f"{KV}/publicNetworkAccess", "equals": "Disabled"},
            {"field": f"{KV}/networkAcls.defaultAction", "equals": "Deny"},
        ]},
        policy_gap=_KV_GAP.format(builtin="'Azure Key Vault should have firewall enabled or public network access "
                                          "disabled'"),
    ),
]
