"""Logging and monitoring."""

from ..model import Control, Mappings, Related, Severity

DS = "Microsoft.Insights/diagnosticSettings"

CONTROLS = [
    Control(
        id="AKS-012",
        title="Kubernetes audit logs are sent to a destination by a diagnostic setting",
        severity=Severity.HIGH,
        section="CIS 2.1",
        rationale=(
            "The API server's audit log records who did what in the cluster. AKS keeps it only if a diagnostic "
            "setting on the cluster sends the kube-audit or kube-audit-admin category (or the audit / allLogs "
            "category group) to Log Analytics, a storage account or an event hub. Without it there is no trail "
            "for incident response. The setting may be declared anywhere in the scanned inputs, as an extension "
            "resource with a scope or as a .../providers/diagnosticSettings child."),
        remediation=(
            "Deploy a Microsoft.Insights/diagnosticSettings resource scoped to the cluster with the kube-audit-admin "
            "(or kube-audit) category enabled and a workspaceId (az monitor diagnostic-settings create "
            "--resource <cluster-id> --logs '[{\"category\":\"kube-audit-admin\",\"enabled\":true}]' "
            "--workspace <workspace-id>)."),
        references=("https://learn.microsoft.com/azure/aks/monitor-aks#aks-control-planeresource-logs",),
        mappings=Mappings(cis_aks=("2.1.1",), azure_policy=("245fc9df-fa96-4414-9a0b-3738c2f7341c",),
                          psrule=("Azure.AKS.AuditLogs",), nist=("AU-2", "AU-12")),
        related=Related(
            type=DS,
            existence_condition={"allOf": [
                {"anyOf": [
                    {"field": f"{DS}/workspaceId", "exists": True},
                    {"field": f"{DS}/storageAccountId", "exists": True},
                    {"field": f"{DS}/eventHubAuthorizationRuleId", "exists": True},
                    {"field": f"{DS}/marketplacePartnerId", "exists": True},
                ]},
                {"count": {"field": f"{DS}/logs[*]",
                           "where": {"allOf": [
                               {"field": f"{DS}/logs[*].enabled", "equals": True},
                               {"anyOf": [
                                   {"field": f"{DS}/logs[*].category", "in": ["kube-audit", "kube-audit-admin"]},
                                   {"field": f"{DS}/logs[*].categoryGroup", "in": ["audit", "allLogs"]},
                               ]},
                           ]}},
                 "greater": 0},
            ]},
            missing="no diagnostic setting on this cluster sends kube-audit or kube-audit-admin to a destination",
        ),
    ),
]
