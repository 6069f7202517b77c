"""Logging and monitoring."""

from typing import Any, Mapping

from ...policy.conditions import MISSING, Evaluator, Subject, Truth, Verdict, policy_equals
from ...resources import Resource
from ...targets import Target
from ...values import Unknown
from ..checks import Check, all_of, any_of, lower
from ..model import Control, Mappings, Parameter, Related, Severity

DS = "Microsoft.Insights/diagnosticSettings"
MC = "Microsoft.ContainerService/managedClusters"
LAW = "Microsoft.OperationalInsights/workspaces"
T, F, U = Truth.TRUE, Truth.FALSE, Truth.UNKNOWN
DS_TYPE = DS.lower()


def _destination() -> dict[str, Any]:
    """The setting names a destination: a resource id that is set and not empty ("" names no workspace, account,
    event hub or partner, and an ARM template's conditional id often evaluates to it)."""
    return {"anyOf": [{"allOf": [{"field": f"{DS}/{d}", "exists": True}, {"field": f"{DS}/{d}", "notEquals": ""}]}
                      for d in ("workspaceId", "storageAccountId", "eventHubAuthorizationRuleId", "marketplacePartnerId")]}


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
            "(or kube-audit) category enabled in properties.logs and properties.workspaceId (az monitor diagnostic-settings create "
            "--resource <cluster-id> --logs '[{\"category\":\"kube-audit-admin\",\"enabled\":true}]' "
            "--workspace <workspace-id>)."),
        references=("https://learn.microsoft.com/azure/aks/monitor-aks#aks-control-planeresource-logs",),
        mappings=Mappings(cis_aks=("2.1.1",), azure_policy=("245fc9df-fa96-4414-9a0b-3738c2f7341c",),
                          psrule=("Azure.AKS.AuditLogs",), nist=("AU-2", "AU-12")),
        builtin_deviation=(
            "The built-in (resource logs enabled, with a retention check) is satisfied by a diagnostic setting with "
            "any enabled log category and does not require a destination; this control requires kube-audit or "
            "kube-audit-admin (or the audit / allLogs group) enabled and sent to a workspace, storage account, "
            "event hub or partner."),
        related=Related(
            type=DS,
            existence_condition={"allOf": [
                _destination(),
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

_DESTINATION = _destination()
_AUDIT_LOG = {"allOf": [
    {"field": f"{DS}/logs[*].enabled", "equals": True},
    {"anyOf": [
        {"field": f"{DS}/logs[*].category", "in": ["kube-audit", "kube-audit-admin"]},
        {"field": f"{DS}/logs[*].categoryGroup", "in": ["audit", "allLogs"]},
    ]},
]}


def _every_category(parameter: str, array: str, name: str) -> dict[str, Any]:
    """Every category in the array parameter is enabled in ``logs`` / ``metrics`` (allLogs covers every log)."""
    member = {"field": f"{DS}/{array}[*].category", "equals": f"[current('{name}')]"}
    if array == "logs":
        member = {"anyOf": [member, {"field": f"{DS}/logs[*].categoryGroup", "equals": "allLogs"}]}
    return {"count": {"value": f"[parameters('{parameter}')]", "name": name,
                      "where": {"count": {"field": f"{DS}/{array}[*]",
                                          "where": {"allOf": [{"field": f"{DS}/{array}[*].enabled", "equals": True},
                                                              member]}},
                                "greater": 0}},
            "equals": f"[length(parameters('{parameter}'))]"}


def _settings(target: Target) -> tuple[list[Resource], list[Resource]]:
    return target.related.get(DS_TYPE, []), target.maybe_related.get(DS_TYPE, [])


# The log category groups of managedClusters (Azure Monitor, diagnostic settings: a category group routes
# a set of the resource's categories; allLogs routes every one). audit routes the audit categories: kube-audit and
# kube-audit-admin (their tables AKSAudit and AKSAuditAdmin are Azure Monitor's Audit tables). None: every
# category. A group name not here is not documented for managedClusters: what it routes is unknown.
_GROUPS: dict[str, frozenset[str] | None] = {"audit": frozenset({"kube-audit", "kube-audit-admin"}), "alllogs": None}


def _group_routes(group: Any, category: str) -> bool | None:
    """Whether an enabled log category group routes ``category``; None for a group not documented for AKS."""
    key = lower(group)
    if key not in _GROUPS:
        return None
    members = _GROUPS[key]
    return members is None or category in members


def check_audit_admin(target: Target, params: Mapping[str, Any]) -> Verdict:
    """No diagnostic setting on the cluster collects the kube-audit category (kube-audit-admin suffices), by
    name or through a category group that routes it (audit, allLogs)."""
    c = Check(target, params)
    settings, maybe = _settings(target)
    if not settings and not maybe and target.context.get("unknown_related"):
        return c.verdict(c.unknown(DS, target.context["unknown_related"]))
    truths: list[Truth] = []
    for r in settings + maybe:
        logs = c.members(f"{DS}/logs[*]", r)
        if isinstance(logs, Unknown):
            truths.append(c.unknown(c.joined(r, "properties.logs", "diagnosticSetting"), logs.reason))
            continue
        for log in logs:
            cat_path, category = c.value(f"{DS}/logs[*].category", r, log, f"{DS}/logs[*]")
            grp_path, group = c.value(f"{DS}/logs[*].categoryGroup", r, log, f"{DS}/logs[*]")
            _, enabled = c.value(f"{DS}/logs[*].enabled", r, log, f"{DS}/logs[*]")
            u = next((v for v in (category, group, enabled) if isinstance(v, Unknown)), None)
            if u is not None:
                truths.append(c.unknown(c.joined(r, cat_path or grp_path, "diagnosticSetting"), u.reason))
                continue
            if not policy_equals(enabled, True):  # as the rules read it: "true" in any case is true
                continue
            if lower(category) == "kube-audit":
                path, op, expected, actual = cat_path, "notEquals", "kube-audit", category
            elif isinstance(group, str):
                routes = _group_routes(group, "kube-audit")
                if routes is None:
                    truths.append(c.unknown(
                        c.joined(r, grp_path, "diagnosticSetting"),
                        f"the log category group '{group}' is not one managedClusters documents (audit, allLogs): "
                        f"whether it routes kube-audit is unknown", "a documented category group"))
                    continue
                if not routes:
                    continue
                path, op, expected, actual = grp_path, "notIn", ["audit", "allLogs"], group
            else:
                continue
            if r in maybe:
                truths.append(c.unknown(c.joined(r, path, "diagnosticSetting"),
                                        f"a diagnostic setting at {r.source.file}:{r.source.line} enables "
                                        f"kube-audit, but whether it belongs to this cluster is unknown"))
            else:
                truths.append(c.compare(c.joined(r, path, "diagnosticSetting"), op, expected, actual, False))
    if not truths:
        truths.append(c.compare("properties", "no diagnostic setting enables", "kube-audit",
                                f"{len(settings)} diagnostic setting(s) on this cluster, none with kube-audit", True))
    return c.verdict(all_of(truths))


# Where a diagnostic setting writes AKS audit logs in Log Analytics (Diagnostic Settings REST API,
# logAnalyticsDestinationType: "Possible values are: Dedicated and null (null is default.)"): the
# AzureDiagnostics table by default; with Dedicated, the resource-specific table of each category.
_DEDICATED_TABLES = {"kube-audit": "aksaudit", "kube-audit-admin": "aksauditadmin"}


def _audit_tables(c: Check, setting: Resource) -> set[str] | Unknown:
    """The workspace tables (lower-case names) the setting's enabled audit logs land in."""
    _, mode = c.value(f"{DS}/logAnalyticsDestinationType", setting)
    if isinstance(mode, Unknown):
        return mode
    if lower(mode) != "dedicated":
        return {"azurediagnostics"}
    logs = c.members(f"{DS}/logs[*]", setting)
    if isinstance(logs, Unknown):
        return logs
    categories: set[str] = set()
    for log in logs:
        enabled, category, group = (c.value(f"{DS}/logs[*].{name}", setting, log, f"{DS}/logs[*]")[1]
                                    for name in ("enabled", "category", "categoryGroup"))
        for v in (enabled, category, group):
            if isinstance(v, Unknown):
                return v
        if policy_equals(enabled, True):
            categories.add(lower(category) or "")
            categories.update(x for x in _DEDICATED_TABLES if _group_routes(group, x))
    return {_DEDICATED_TABLES[x] for x in categories if x in _DEDICATED_TABLES}


def _days(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _table_retention(c: Check, table: Resource) -> tuple[str, Any, int | None]:
    """A table's total retention, None when it defers to the workspace's.

    Tables REST API (Microsoft.OperationalInsights/workspaces/tables): totalRetentionInDays "-1 will
    default to retentionInDays"; retentionInDays "-1 will default to the workspace retention". An absent
    value defers the same way (Learn, data-retention-configure: a table without long-term retention keeps
    data for its analytics retention; tables follow the workspace default unless set)."""
    total_path, total = c.value(f"{LAW}/tables/totalRetentionInDays", table)
    if _days(total) is not None and total != -1:
        return total_path, total, total
    path, days = c.value(f"{LAW}/tables/retentionInDays", table)
    if _days(days) is not None and days != -1:
        return path, days, days
    return path, days, None


def _archives(c: Check, setting: Resource, minimum: int) -> Truth:
    """Whether one diagnostic setting that collects audit logs keeps them for at least ``minimum`` days."""
    index = c.target.context.get("index")
    label = "diagnosticSetting"
    storage_path, storage = c.value(f"{DS}/storageAccountId", setting)
    if isinstance(storage, Unknown):
        return c.unknown(c.joined(setting, storage_path, label), storage.reason)
    if storage not in (MISSING, None, ""):
        return c.compare(c.joined(setting, storage_path, label), "is", "a storage account (archive)", storage, True)
    ws_path, ws_id = c.value(f"{DS}/workspaceId", setting)
    if isinstance(ws_id, Unknown):
        return c.unknown(c.joined(setting, ws_path, label), ws_id.reason)
    if ws_id in (MISSING, None, ""):
        return c.compare(c.joined(setting, "properties", label), "sends to", "a storage account or Log Analytics",
                         "neither (an event hub or partner destination does not archive by itself)", False)
    workspace = index.get(ws_id) if index is not None else None
    if workspace is None:
        return c.unknown(c.joined(setting, ws_path, label),
                         f"Log Analytics workspace {ws_id} is not among the scanned inputs, so its retention is unknown")
    names = _audit_tables(c, setting)
    if isinstance(names, Unknown):
        return c.unknown(c.joined(setting, "properties.logAnalyticsDestinationType", label), names.reason)
    tables = [r for r in (index.of_type(f"{LAW}/tables") if index is not None else [])
              if isinstance(r.id, str) and isinstance(workspace.id, str)
              and r.id.lower().startswith(workspace.id.lower() + "/tables/")
              and isinstance(r.name, str) and r.name.lower() in names]
    own: list[tuple[Resource, str, Any, int]] = []
    for table in tables:
        path, value, days = _table_retention(c, table)
        if days is not None:
            own.append((table, path, value, days))
    # A table with its own retention keeps it whatever the workspace default says (Learn, data retention).
    defers = len(own) < len(names)
    best = max(own, key=lambda t: t[3], default=None)
    if best is not None and (best[3] >= minimum or not defers):
        return c.compare(c.joined(best[0], best[1], "workspaceTable"), "greaterOrEquals", minimum, best[2],
                         best[3] >= minimum)
    path, days = c.value(f"{LAW}/retentionInDays", workspace)
    if isinstance(days, Unknown):
        return c.unknown(c.joined(workspace, path, "workspace"), days.reason)
    value = days if days is not MISSING else "(absent): 30 days by default"
    n = days if isinstance(days, int) and not isinstance(days, bool) else (30 if days is MISSING else None)
    return c.compare(c.joined(workspace, path, "workspace"), "greaterOrEquals", minimum, value,
                     n is not None and n >= minimum)


def check_archival_retention(target: Target, params: Mapping[str, Any]) -> Verdict:
    """Some diagnostic setting that collects audit logs archives them for at least minimumRetentionDays."""
    c = Check(target, params)
    minimum = int(params["minimumRetentionDays"])
    settings, maybe = _settings(target)
    if not settings and not maybe and target.context.get("unknown_related"):
        return c.verdict(c.unknown(DS, target.context["unknown_related"]))
    truths: list[Truth] = []
    audit_settings = 0
    for r in settings + maybe:
        collects = Evaluator(Subject(r.body, strict=True, where=r.where_of), params).verdict(
            {"count": {"field": f"{DS}/logs[*]", "where": _AUDIT_LOG}, "greater": 0})
        if collects.truth is F:
            continue
        if collects.truth is Truth.ERROR:  # a malformed setting: no verdict may rest on it
            return Verdict(Truth.ERROR, collects.reasons, c.leaves + collects.leaves)
        audit_settings += 1
        if collects.truth is U:
            c.reasons.extend(collects.reasons)
            truths.append(c.unknown(c.joined(r, "properties.logs", "diagnosticSetting"),
                                    "; ".join(collects.reasons) or "whether the setting collects audit logs is unknown"))
            continue
        truth = _archives(c, r, minimum)
        if truth is T and r in maybe:
            truth = c.unknown(c.joined(r, "", "diagnosticSetting"),
                              f"the diagnostic setting at {r.source.file}:{r.source.line} archives audit logs, but "
                              f"whether it belongs to this cluster is unknown")
        truths.append(truth)
    if not audit_settings:
        return c.verdict(c.compare(DS, "is", "a diagnostic setting collecting audit logs",
                                   "none found in the scanned inputs (see AKS-012)", False))
    return c.verdict(any_of(truths))


CONTROLS += [
    Control(
        id="AKS-051",
        title="Container insights collects node and container logs",
        severity=Severity.MEDIUM,
        section="Logging",
        rationale=(
            "Container insights (the monitoring add-on, or Azure Monitor's containerInsights profile) ships "
            "container stdout/stderr, Kubernetes events and node inventory to Log Analytics. Without it, "
            "incident responders have no record of what ran where once pods are gone. Add-on keys are matched "
            "case-insensitively (omsagent, omsAgent)."),
        remediation=(
            "Set properties.addonProfiles.omsagent.enabled to true with config.logAnalyticsWorkspaceResourceID, or "
            "properties.azureMonitorProfile.containerInsights.enabled to true "
            "(az aks enable-addons --addons monitoring --workspace-resource-id <id>)."),
        references=("https://learn.microsoft.com/azure/azure-monitor/containers/container-insights-overview",),
        mappings=Mappings(psrule=("Azure.AKS.ContainerInsights",), checkov=("CKV_AZURE_4",), nist=("AU-6", "SI-4")),
        rule={"anyOf": [
            {"field": f"{MC}/addonProfiles.omsagent.enabled", "equals": True},
            {"field": f"{MC}/azureMonitorProfile.containerInsights.enabled", "equals": True},
            {"field": f"{MC}/azureMonitorProfile.logs.containerInsights.enabled", "equals": True},
        ]},
    ),
    Control(
        id="AKS-052",
        title="Platform logs and metrics are collected by a diagnostic setting",
        severity=Severity.LOW,
        section="Logging",
        rationale=(
            "The control plane's own logs (API server, controller manager, scheduler, cluster autoscaler) and "
            "metrics explain outages and scaling decisions, and are kept only if a diagnostic setting on the "
            "cluster sends them somewhere. One setting must enable every configured log category (or the allLogs "
            "group) and every configured metric category, with a destination."),
        remediation=(
            "Deploy a Microsoft.Insights/diagnosticSettings resource scoped to the cluster with the categories "
            "enabled in properties.logs and AllMetrics in properties.metrics (az monitor diagnostic-settings "
            "create --resource <cluster-id> --workspace <id> --logs '[{\"categoryGroup\":\"allLogs\","
            "\"enabled\":true}]' --metrics '[{\"category\":\"AllMetrics\",\"enabled\":true}]')."),
        references=("https://learn.microsoft.com/azure/aks/monitor-aks#aks-control-planeresource-logs",),
        mappings=Mappings(psrule=("Azure.AKS.PlatformLogs",), nist=("AU-2", "AU-12")),
        parameters=(
            Parameter("platformLogCategories",
                      ["cluster-autoscaler", "kube-apiserver", "kube-controller-manager", "kube-scheduler"],
                      "Log categories that must be enabled.", type="Array"),
            Parameter("platformMetricCategories", ["AllMetrics"], "Metric categories that must be enabled.",
                      type="Array"),
        ),
        related=Related(
            type=DS,
            existence_condition={"allOf": [
                _DESTINATION,
                _every_category("platformLogCategories", "logs", "category"),
                _every_category("platformMetricCategories", "metrics", "metric"),
            ]},
            missing="no diagnostic setting on this cluster sends the platform log and metric categories anywhere",
        ),
    ),
    Control(
        id="AKS-053",
        title="Control-plane and audit logs go to Log Analytics",
        severity=Severity.MEDIUM,
        section="Logging",
        rationale=(
            "Detection rules, workbooks and Defender correlate control-plane activity in Log Analytics. A "
            "diagnostic setting on the cluster must send kube-apiserver, kube-controller-manager (or the "
            "configured categories) and an audit category (kube-audit-admin or kube-audit) to a Log Analytics "
            "workspace; storage or event hub alone keeps the data but makes it unsearchable for responders."),
        remediation=(
            "Deploy a Microsoft.Insights/diagnosticSettings resource scoped to the cluster with properties.workspaceId "
            "and the categories enabled (az monitor diagnostic-settings create --resource <cluster-id> --workspace "
            "<workspace-id> --logs '[{\"category\":\"kube-apiserver\",\"enabled\":true},{\"category\":"
            "\"kube-controller-manager\",\"enabled\":true},{\"category\":\"kube-audit-admin\",\"enabled\":true}]')."),
        references=("https://learn.microsoft.com/azure/aks/monitor-aks",),
        mappings=Mappings(azure_policy=("6c66c325-74c8-42fd-a286-a74b0e2939d8",), nist=("AU-6", "AU-12", "SI-4")),
        builtin_parameters={"6c66c325-74c8-42fd-a286-a74b0e2939d8": {
            "logAnalytics": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-fixtures/providers/"
                            "Microsoft.OperationalInsights/workspaces/law-fixtures"}},
        builtin_deviation=("The DeployIfNotExists built-in wants exactly its eleven categories (each enabled as its "
                           "parameters say) and AllMetrics sent to one given workspace; this control wants "
                           "kube-apiserver, kube-controller-manager and an audit category sent to any workspace."),
        parameters=(Parameter("workspaceLogCategories", ["kube-apiserver", "kube-controller-manager"],
                              "Log categories that must reach Log Analytics besides an audit category.",
                              type="Array"),),
        related=Related(
            type=DS,
            existence_condition={"allOf": [
                {"field": f"{DS}/workspaceId", "exists": True},
                {"field": f"{DS}/workspaceId", "notEquals": ""},
                _every_category("workspaceLogCategories", "logs", "category"),
                {"count": {"field": f"{DS}/logs[*]", "where": _AUDIT_LOG}, "greater": 0},
            ]},
            missing=("no diagnostic setting on this cluster sends kube-apiserver, kube-controller-manager and audit "
                     "logs to Log Analytics"),
        ),
    ),
    Control(
        id="AKS-054",
        title="Entra ID authentication and authorization (guard) logs are collected",
        severity=Severity.LOW,
        section="Logging",
        rationale=(
            "The guard category records Entra ID token validation and Azure RBAC decisions for the API server: "
            "who authenticated, and which authorization checks failed. PSRule counts it as part of the audit "
            "trail. It exists only with managed Entra ID integration."),
        remediation=(
            "Enable the guard category (or the allLogs group) in properties.logs of a diagnostic setting on the "
            "cluster, with a destination such as properties.workspaceId (az monitor diagnostic-settings create --resource <cluster-id> --workspace <id> "
            "--logs '[{\"category\":\"guard\",\"enabled\":true}]')."),
        references=("https://learn.microsoft.com/azure/aks/monitor-aks-reference#resource-logs",),
        mappings=Mappings(psrule=("Azure.AKS.AuditLogs",), nist=("AU-2", "AC-7")),
        applicability={"field": f"{MC}/aadProfile.managed", "equals": True},
        applicability_text="managed Entra ID integration is not enabled, so there is no guard log (see AKS-004)",
        related=Related(
            type=DS,
            existence_condition={"allOf": [
                _DESTINATION,
                {"count": {"field": f"{DS}/logs[*]",
                           "where": {"allOf": [
                               {"field": f"{DS}/logs[*].enabled", "equals": True},
                               {"anyOf": [
                                   {"field": f"{DS}/logs[*].category", "equals": "guard"},
                                   {"field": f"{DS}/logs[*].categoryGroup", "equals": "allLogs"},
                               ]},
                           ]}},
                 "greater": 0},
            ]},
            missing="no diagnostic setting on this cluster sends the guard category to a destination",
        ),
    ),
    Control(
        id="AKS-055",
        title="Audit logs use kube-audit-admin, not kube-audit",
        severity=Severity.LOW,
        section="Logging",
        rationale=(
            "kube-audit records every API request including get and list, which controllers issue constantly; "
            "it multiplies log volume and cost, and the noise buries the changes that matter. kube-audit-admin "
            "records the same events without reads. No diagnostic setting on the cluster should enable the "
            "kube-audit category, by name or through a category group that routes it (audit and allLogs both do; "
            "a group name managedClusters does not document is unknown). Enable kube-audit only where reads must "
            "be audited, and waive this control."),
        remediation=(
            "In the cluster's diagnostic settings replace {\"category\": \"kube-audit\"} with "
            "{\"category\": \"kube-audit-admin\"} in properties.logs, and an audit or allLogs category group with "
            "the categories it should route (az monitor diagnostic-settings update)."),
        references=("https://learn.microsoft.com/azure/aks/monitor-aks#aks-control-planeresource-logs",),
        mappings=Mappings(psrule=("Azure.AKS.AuditAdmin",), nist=("AU-4",)),
        check=check_audit_admin,
        policy_gap=("'No related resource has X' cannot be an existence condition (AuditIfNotExists asks for one "
                    "that has); no built-in covers it."),
    ),
    Control(
        id="AKS-056",
        title="Audit logs are retained for archival",
        severity=Severity.MEDIUM,
        section="Logging",
        rationale=(
            "Incident investigations and audits reach back months; Log Analytics keeps data 30 days by default. "
            "A diagnostic setting that collects audit logs must archive them: send them to a storage account "
            "(immutable or lifecycle-managed storage), or to a Log Analytics workspace that retains them for at "
            "least the threshold: the total retention of the table the logs land in (AzureDiagnostics, or with "
            "logAnalyticsDestinationType Dedicated AKSAudit for kube-audit and AKSAuditAdmin for "
            "kube-audit-admin; a table's total retention is its totalRetentionInDays, else its retentionInDays), "
            "else the workspace's retentionInDays (30 days when absent). The workspace is looked up among the "
            "scanned inputs; unknown when it is declared elsewhere."),
        remediation=(
            "Add properties.storageAccountId to the diagnostic setting, or set the workspace's "
            "properties.retentionInDays (or the table's totalRetentionInDays) to at least the threshold "
            "(az monitor log-analytics workspace update --retention-time 365; az monitor log-analytics workspace "
            "table update --name AKSAuditAdmin --total-retention-time 365)."),
        references=("https://learn.microsoft.com/azure/azure-monitor/logs/data-retention-configure",
                    "https://learn.microsoft.com/rest/api/monitor/diagnostic-settings/create-or-update"),
        mappings=Mappings(azure_policy=("245fc9df-fa96-4414-9a0b-3738c2f7341c",), nist=("AU-11", "AU-9")),
        parameters=(Parameter("minimumRetentionDays", 365, "Fewest days audit logs must be kept.", type="Integer",
                              schema={"minimum": 1}),),
        check=check_archival_retention,
        builtin_deviation=("The built-in is satisfied by any enabled log without a storage retention policy; this "
                           "control requires audit logs kept for the threshold in storage or in the workspace."),
        policy_gap=("Retention lives on the destination (the workspace or its tables), another resource; the "
                    "built-in 245fc9df checks only the deprecated retentionPolicy of storage destinations."),
    ),
]
