"""Secrets: KMS etcd encryption with its Key Vault, and the Secrets Store CSI driver."""

from __future__ import annotations

import re
from typing import Any, Mapping

from ...policy.conditions import MISSING, Truth, Verdict
from ...targets import Target
from ...values import Unknown
from ..checks import Check
from ..model import Control, Mappings, Severity
from .keyvault import KV, vault_protected

MC = "Microsoft.ContainerService/managedClusters"
T, F, U = Truth.TRUE, Truth.FALSE, Truth.UNKNOWN
_VAULT_HOST = re.compile(r"^https://([^./]+)\.vault\.", re.I)


def check_kms_vault(target: Target, params: Mapping[str, Any]) -> Verdict:
    """The vault holding the KMS key (from keyVaultResourceId, else the keyId's host) is protected."""
    c = Check(target, params)
    index = target.context.get("index")
    id_path, vault_id = c.value(f"{MC}/securityProfile.azureKeyVaultKms.keyVaultResourceId")
    key_path, key_id = c.value(f"{MC}/securityProfile.azureKeyVaultKms.keyId")
    vault = None
    if isinstance(vault_id, str) and vault_id:
        vault = index.get(vault_id) if index is not None else None
        if vault is None:
            c.unknown(id_path, f"Key Vault {vault_id} is not among the scanned inputs")
            return c.verdict(U)
    else:
        if isinstance(key_id, Unknown):
            c.unknown(key_path, key_id.reason)
            return c.verdict(U)
        m = _VAULT_HOST.match(key_id) if isinstance(key_id, str) else None
        if m is None:
            c.compare(key_path, "is", "a key URL https://<vault>.vault.azure.net/keys/<name>/<version>",
                      key_id if key_id is not None else MISSING, False)
            return c.verdict(F)
        name = m.group(1).lower()
        candidates = [r for r in (index.of_type(KV) if index is not None else [])
                      if isinstance(r.name, str) and r.name.lower() == name]
        unresolved = [r for r in (index.of_type(KV) if index is not None else []) if isinstance(r.name, Unknown)]
        if not candidates:
            reason = f"Key Vault {name} (from keyId {key_id}) is not among the scanned inputs"
            if unresolved:
                reason += f"; vaults with unresolved names at {', '.join(f'{r.source.file}:{r.source.line}' for r in unresolved[:3])} may be it"
            c.unknown(key_path, reason)
            return c.verdict(U)
        vault = candidates[0]
    c.compare(c.joined(vault, "name", "keyVault"), "holds", "the KMS key", vault.display_name(), True)
    return c.verdict(vault_protected(c, vault))


_KMS_ON = {"field": f"{MC}/securityProfile.azureKeyVaultKms.enabled", "equals": True}
_CSI_ON = {"field": f"{MC}/addonProfiles.azureKeyvaultSecretsProvider.enabled", "equals": True}

CONTROLS = [
    Control(
        id="AKS-042",
        title="Kubernetes secrets in etcd are encrypted with a Key Vault key (KMS)",
        severity=Severity.HIGH,
        section="CIS 5.3",
        rationale=(
            "AKS encrypts etcd at rest with platform keys, but Kubernetes Secrets are readable by anyone who "
            "obtains the etcd data. KMS envelope encryption wraps them with a key in the customer's Key Vault, "
            "which can be rotated and revoked, as CIS 5.3.1 asks."),
        remediation=(
            "Set properties.securityProfile.azureKeyVaultKms.enabled to true with keyId (and keyVaultNetworkAccess "
            "Private with keyVaultResourceId) (az aks update --enable-azure-keyvault-kms --azure-keyvault-kms-key-id "
            "<key-id> --azure-keyvault-kms-key-vault-network-access Private)."),
        references=("https://learn.microsoft.com/azure/aks/use-kms-etcd-encryption",),
        mappings=Mappings(cis_aks=("5.3.1",), azure_policy=("dbbdc317-9734-4dd8-9074-993b29c69008",),
                          nist=("SC-28", "SC-12")),
        rule=_KMS_ON,
    ),
    Control(
        id="AKS-043",
        title="The KMS key vault is reached over a private network",
        severity=Severity.MEDIUM,
        section="CIS 5.3",
        rationale=(
            "With keyVaultNetworkAccess Public the vault holding the etcd encryption key must accept traffic from "
            "public networks. Private access lets the vault disable public network access, with the API server "
            "reaching it through a private endpoint. An absent value is Public."),
        remediation=(
            "Set properties.securityProfile.azureKeyVaultKms.keyVaultNetworkAccess to Private and "
            "keyVaultResourceId to the vault's id (az aks update --azure-keyvault-kms-key-vault-network-access "
            "Private --azure-keyvault-kms-key-vault-resource-id <vault-id>)."),
        references=("https://learn.microsoft.com/azure/aks/use-kms-etcd-encryption#enable-kms-with-a-private-key-vault",),
        mappings=Mappings(cis_aks=("5.3.1",), nist=("SC-7", "SC-12")),
        applicability=_KMS_ON,
        applicability_text="KMS etcd encryption is not enabled (see AKS-042)",
        rule={"field": f"{MC}/securityProfile.azureKeyVaultKms.keyVaultNetworkAccess", "equals": "Private"},
    ),
    Control(
        id="AKS-044",
        title="The Key Vault holding the KMS key has purge protection and restricted network access",
        severity=Severity.MEDIUM,
        section="CIS 5.3",
        rationale=(
            "KMS makes the cluster's secrets depend on one key: if its vault is purged, secrets in etcd can no "
            "longer be decrypted, and if the vault is open to all networks, the key is exposed to credential "
            "theft. The vault is joined from keyVaultResourceId, or from the host of keyId "
            "(https://<vault>.vault.azure.net/...), to a Key Vault among the scanned inputs; it must have purge "
            "protection and deny public access by default. Unknown when the vault is declared elsewhere."),
        remediation=(
            "On the vault named in securityProfile.azureKeyVaultKms.keyId set properties.enablePurgeProtection "
            "true and properties.networkAcls.defaultAction Deny or publicNetworkAccess Disabled "
            "(az keyvault update --enable-purge-protection true --default-action Deny)."),
        references=("https://learn.microsoft.com/azure/aks/use-kms-etcd-encryption",),
        mappings=Mappings(cis_aks=("5.3.1",), psrule=("Azure.KeyVault.PurgeProtect", "Azure.KeyVault.Firewall"),
                          nist=("SC-12", "CP-9")),
        applicability=_KMS_ON,
        applicability_text="KMS etcd encryption is not enabled (see AKS-042)",
        check=check_kms_vault,
        policy_gap=("Joins the cluster to its Key Vault, another resource, through the key URL; Key Vault built-ins "
                    "cover the vault side on every vault (see AKS-066, AKS-067)."),
    ),
    Control(
        id="AKS-045",
        title="The Secrets Store CSI driver (Key Vault provider) is enabled",
        severity=Severity.LOW,
        section="CIS 4.5",
        rationale=(
            "The Azure Key Vault provider for the Secrets Store CSI driver mounts secrets, keys and certificates "
            "from Key Vault into pods, so they need not be stored as Kubernetes Secrets or baked into images. "
            "CIS 4.5.2 recommends external secret storage. The add-on key is matched case-insensitively."),
        remediation=(
            "Set properties.addonProfiles.azureKeyvaultSecretsProvider.enabled to true "
            "(az aks enable-addons --addons azure-keyvault-secrets-provider)."),
        references=("https://learn.microsoft.com/azure/aks/csi-secrets-store-driver",),
        mappings=Mappings(cis_aks=("4.5.2",), psrule=("Azure.AKS.SecretStore",), nist=("SC-28", "IA-5")),
        rule=_CSI_ON,
        policy_gap="Azure Policy has no alias for addonProfiles.azureKeyvaultSecretsProvider; no built-in covers it.",
    ),
    Control(
        id="AKS-046",
        title="The Secrets Store CSI driver rotates secrets",
        severity=Severity.LOW,
        section="CIS 4.5",
        rationale=(
            "Without rotation, a secret mounted by the Secrets Store CSI driver keeps its value until the pod is "
            "restarted, so a rotated or revoked credential in Key Vault stays in use. In ARM the setting is the "
            "string \"true\" in the add-on's config (compared case-insensitively); the config holds strings only, "
            "so a boolean there is rejected by AKS and is an error, not a pass. Does not apply when the add-on is "
            "off."),
        remediation=(
            "Set properties.addonProfiles.azureKeyvaultSecretsProvider.config.enableSecretRotation to \"true\" "
            "(and rotationPollInterval) (az aks addon update --addon azure-keyvault-secrets-provider "
            "--enable-secret-rotation)."),
        references=("https://learn.microsoft.com/azure/aks/csi-secrets-store-configuration-options",),
        mappings=Mappings(psrule=("Azure.AKS.SecretStoreRotation",), checkov=("CKV_AZURE_172",), nist=("IA-5(1)",)),
        applicability=_CSI_ON,
        applicability_text="the Secrets Store CSI driver add-on is not enabled (see AKS-045)",
        rule={"field": f"{MC}/addonProfiles.azureKeyvaultSecretsProvider.config.enableSecretRotation", "equals": "true"},
        policy_gap="Azure Policy has no alias for addonProfiles.azureKeyvaultSecretsProvider; no built-in covers it.",
    ),
]
