"""Upgrades and lifecycle."""

from typing import Any, Mapping

from ...policy.conditions import MISSING, Truth, Verdict
from ...resources import DEPLOYED
from ...targets import Target
from ...values import Unknown
from ..checks import Check, all_of, lower, parse_version, pool_field, pool_name, pools, version_at_least
from ..model import Control, Mappings, Parameter, Severity

MC = "Microsoft.ContainerService/managedClusters"
T, F, U = Truth.TRUE, Truth.FALSE, Truth.UNKNOWN
MAINTENANCE = "microsoft.containerservice/managedclusters/maintenanceconfigurations"

CONTROLS = [
    Control(
        id="AKS-007",
        title="Cluster auto-upgrade is enabled",
        severity=Severity.MEDIUM,
        section="Upgrades",
        rationale=(
            "Kubernetes minor versions leave support after about a year and patch releases carry security fixes. "
            "An auto-upgrade channel keeps the control plane and nodes on supported, patched versions without "
            "relying on someone remembering to upgrade. The channel none, or no channel, fails."),
        remediation=(
            "Set properties.autoUpgradeProfile.upgradeChannel to patch, stable, rapid or node-image "
            "(az aks update --auto-upgrade-channel stable), and pair it with a planned maintenance window."),
        references=("https://learn.microsoft.com/azure/aks/auto-upgrade-cluster",),
        mappings=Mappings(azure_policy=("5c345cdf-2049-47e0-b8fe-b0e96bc2df35",), psrule=("Azure.AKS.AutoUpgrade",),
                          checkov=("CKV_AZURE_171",), nist=("SI-2",)),
        parameters=(Parameter("allowedUpgradeChannels", ["patch", "stable", "rapid", "node-image"],
                              "Auto-upgrade channels that count as compliant.", type="Array",
                              allowed=("rapid", "stable", "patch", "node-image", "none")),),
        # The built-in's default channels omit node-image; state this control's list for the comparison.
        builtin_parameters={"5c345cdf-2049-47e0-b8fe-b0e96bc2df35": {
            "allowedClusterAutoUpgradeChannels": ["patch", "stable", "rapid", "node-image"]}},
        rule={"field": f"{MC}/autoUpgradeProfile.upgradeChannel", "in": "[parameters('allowedUpgradeChannels')]"},
    ),
    Control(
        id="AKS-008",
        title="Node OS images are upgraded automatically",
        severity=Severity.MEDIUM,
        section="Upgrades",
        rationale=(
            "Node images carry the OS kernel and packages; security fixes reach nodes only when the image is "
            "updated. The NodeImage or SecurityPatch node OS channel (or the node-image cluster channel) applies "
            "them automatically; None and Unmanaged leave nodes on their original image."),
        remediation=(
            "Set properties.autoUpgradeProfile.nodeOSUpgradeChannel to NodeImage or SecurityPatch "
            "(az aks update --node-os-upgrade-channel NodeImage)."),
        references=("https://learn.microsoft.com/azure/aks/auto-upgrade-node-os-image",),
        mappings=Mappings(azure_policy=("04408ca5-aa10-42ce-8536-98955cdddd4c",),
                          psrule=("Azure.AKS.NodeAutoUpgrade",), nist=("SI-2",)),
        parameters=(Parameter("allowedNodeOsUpgradeChannels", ["NodeImage", "SecurityPatch"],
                              "Node OS upgrade channels that count as compliant.", type="Array",
                              allowed=("None", "Unmanaged", "NodeImage", "SecurityPatch")),),
        rule={"anyOf": [
            {"field": f"{MC}/autoUpgradeProfile.upgradeChannel", "equals": "node-image"},
            {"field": f"{MC}/autoUpgradeProfile.nodeOSUpgradeChannel",
             "in": "[parameters('allowedNodeOsUpgradeChannels')]"},
        ]},
    ),
]


def _version_text(v: tuple[int, int, int | None]) -> str:
    return f"{v[0]}.{v[1]}" + (f".{v[2]}" if v[2] is not None else "")


def _deployed(c: Check) -> bool:
    return c.target.resource.state == DEPLOYED


# In deployed state the version a cluster or pool runs is currentKubernetesVersion / currentOrchestratorVersion
# (read-only; REST API: "the version of Kubernetes the Managed Cluster is running"): kubernetesVersion and
# orchestratorVersion are what was asked, which a failed or running upgrade has not reached. A request's read-only
# fields are ignored by AKS, so a template is judged on what it asks.
def control_plane_version(c: Check) -> tuple[str, Any]:
    asked = c.value(f"{MC}/kubernetesVersion")
    if _deployed(c):
        running = c.value(f"{MC}/currentKubernetesVersion")
        if running[1] not in (MISSING, None, ""):
            return running
    return asked


def running_pool_version(c: Check, pool: tuple[str, Any]) -> tuple[str, Any]:
    asked = pool_field(c, pool, "orchestratorVersion")
    if _deployed(c):
        running = pool_field(c, pool, "currentOrchestratorVersion")
        if running[1] not in (MISSING, None, ""):
            return running
    return asked


def check_minimum_version(target: Target, params: Mapping[str, Any]) -> Verdict:
    """The control plane and every pool that pins a version run at least minimumKubernetesVersion."""
    c = Check(target, params)
    minimum = parse_version(str(params["minimumKubernetesVersion"]))
    if minimum is None:
        c.record("parameters.minimumKubernetesVersion", "is", "a version like 1.33.0",
                 params["minimumKubernetesVersion"], F)
        return c.verdict(F)
    keeping = {lower(ch) for ch in params["upgradeChannelsKeepingCurrent"]}
    channel_path, channel = c.value(f"{MC}/autoUpgradeProfile.upgradeChannel")
    minimum_text = _version_text(minimum)

    def judge(path: str, value: Any) -> Truth:
        parsed = None if isinstance(value, Unknown) else parse_version(value)
        if parsed is not None and version_at_least(parsed, minimum):
            return c.compare(path, "version >=", minimum_text, value, True)
        # below the minimum, not a version, or unknowable: a channel that keeps minors current decides
        if not isinstance(channel, Unknown) and lower(channel) in keeping:
            return c.compare(channel_path, "in", sorted(keeping), channel, True)
        if isinstance(value, Unknown):
            return c.unknown(path, value.reason, expected=f">= {minimum_text}", operator="version")
        c.compare(path, "version >=", minimum_text, value, False)
        if isinstance(channel, Unknown):
            return c.unknown(channel_path, channel.reason, expected=sorted(keeping), operator="in")
        return F

    truths: list[Truth] = []
    cp_path, cp = control_plane_version(c)
    if cp is MISSING and _deployed(c):
        truths.append(judge(cp_path or "properties.kubernetesVersion", Unknown(
            "kubernetesVersion (and currentKubernetesVersion) is absent from deployed state: the version the cluster "
            "runs is not in the input")))
    elif cp is MISSING:
        truths.append(c.compare(cp_path, "version >=", minimum_text,
                                "(absent): AKS deploys its current default version", True))
    else:
        truths.append(judge(cp_path, cp))
    members = pools(c)
    if isinstance(members, Unknown):
        truths.append(c.unknown("properties.agentPoolProfiles", members.reason))
    else:
        for pool in members:
            path, version = running_pool_version(c, pool)
            if version is not MISSING:
                truths.append(judge(path, version))
    return c.verdict(all_of(truths))


def check_pool_version_skew(target: Target, params: Mapping[str, Any]) -> Verdict:
    """No pool runs a newer minor than the control plane, or more than maxMinorVersionSkew minors behind it."""
    c = Check(target, params)
    skew = int(params["maxMinorVersionSkew"])
    cp_path, cp = control_plane_version(c)
    members = pools(c)
    if isinstance(members, Unknown):
        c.unknown("properties.agentPoolProfiles", members.reason)
        return c.verdict(U)
    cp_version = parse_version(cp)
    truths: list[Truth] = []
    for pool in members:
        path, version = running_pool_version(c, pool)
        if version is MISSING:
            truths.append(c.compare(path, "equals", "the control plane version",
                                    "(absent): the pool follows the control plane", True))
            continue
        if isinstance(version, Unknown):
            truths.append(c.unknown(path, version.reason))
            continue
        if isinstance(cp, Unknown):
            truths.append(c.unknown(cp_path, cp.reason))
            continue
        if cp is MISSING:
            truths.append(c.unknown(cp_path, f"kubernetesVersion is absent: the control plane gets AKS's default "
                                             f"version, which pool {pool_name(c, pool)} ({version}) may not match"))
            continue
        pool_version = parse_version(version)
        if cp_version is None or pool_version is None:
            truths.append(c.compare(path, "is", "a Kubernetes version", version, False))
            continue
        behind = (cp_version[0] - pool_version[0]) * 1000 + cp_version[1] - pool_version[1]
        ok = 0 <= behind <= skew
        truths.append(c.compare(path, f"within {skew} minor version(s) below", cp, version, ok))
    return c.verdict(all_of(truths))


def _member(obj: Any, name: str) -> Any:
    """``obj``'s member ``name`` as ARM matches names (any case), None when absent or ``obj`` is no object."""
    if isinstance(obj, Unknown):
        return obj
    return next((v for k, v in obj.items() if isinstance(k, str) and k.lower() == name.lower()), None) \
        if isinstance(obj, dict) else None


def check_maintenance_windows(target: Target, params: Mapping[str, Any]) -> Verdict:
    """Each auto-upgrade channel in use has its planned maintenance configuration."""
    c = Check(target, params)
    channel_path, channel = c.value(f"{MC}/autoUpgradeProfile.upgradeChannel")
    os_path, os_channel = c.value(f"{MC}/autoUpgradeProfile.nodeOSUpgradeChannel")
    configs = target.related.get(MAINTENANCE, [])
    maybe = target.maybe_related.get(MAINTENANCE, [])
    truths: list[Truth] = []
    for needed_path, needed, name in (
            (channel_path, channel if isinstance(channel, Unknown) else
             lower(channel) in ("patch", "stable", "rapid", "node-image"), "aksManagedAutoUpgradeSchedule"),
            (os_path, os_channel if isinstance(os_channel, Unknown) else
             lower(os_channel) in ("nodeimage", "securitypatch"), "aksManagedNodeOSUpgradeSchedule")):
        if needed is False:
            continue
        found = next((r for r in configs if isinstance(r.name, str) and r.name.lower() == name.lower()), None)
        if found is not None:
            c.intact(found, "maintenanceConfiguration")  # a schedule AKS rejects schedules nothing
            truths.append(c.compare(c.joined(found, "name", "maintenanceConfiguration"), "equals", name,
                                    found.name, True))
            # the window is the schedule: without one (timeInWeek is the 'default' configuration's field, for
            # AKS's weekly releases) nothing is planned for the channel
            window = _member(_member(found.body, "properties"), "maintenanceWindow")
            where = c.joined(found, "properties.maintenanceWindow", "maintenanceConfiguration")
            if isinstance(window, Unknown):
                truths.append(c.unknown(where, window.reason))
            else:
                truths.append(c.compare(where, "is", "a maintenance window (schedule, durationHours, startTime)",
                                        window if window is not None else MISSING, isinstance(window, dict)))
        elif maybe:
            truths.append(c.unknown(name, f"maintenance configurations at "
                                          f"{', '.join(f'{r.source.file}:{r.source.line}' for r in maybe[:3])} "
                                          f"may belong to this cluster, but their parent is unknown"))
        elif isinstance(needed, Unknown):
            truths.append(c.unknown(needed_path, needed.reason))
        else:
            truths.append(c.compare(name, "is", f"a maintenanceConfigurations child named {name}",
                                    "none found in the scanned inputs", False))
    return c.verdict(all_of(truths))


CONTROLS += [
    Control(
        id="AKS-038",
        title="The cluster runs a supported Kubernetes version",
        severity=Severity.HIGH,
        section="Upgrades",
        rationale=(
            "Kubernetes minor versions leave upstream and AKS support about a year after release; after that "
            "they get no security fixes, and AKS eventually upgrades them forcibly. The control plane and every "
            "pool that pins orchestratorVersion must be at least the minimum version. A version without a patch "
            "(1.33) means the newest patch of that minor. A cluster on an upgrade channel that keeps minors "
            "current (rapid, stable) passes, as PSRule allows. An omitted kubernetesVersion deploys AKS's current "
            "default, which is supported; in deployed state (an export, ARM GET) the version judged is the one "
            "running, currentKubernetesVersion and each pool's currentOrchestratorVersion where given (a failed "
            "upgrade leaves them behind what was asked), and a cluster without any version there is unknown. "
            "Microsoft's built-in fb893a29 only lists versions up to 1.13."),
        remediation=(
            "Set properties.kubernetesVersion (and orchestratorVersion on pools) to a supported version, at least "
            "the threshold (az aks upgrade --kubernetes-version <version>), or set "
            "properties.autoUpgradeProfile.upgradeChannel to stable (az aks update --auto-upgrade-channel stable)."),
        references=("https://learn.microsoft.com/azure/aks/supported-kubernetes-versions",),
        mappings=Mappings(azure_policy=("fb893a29-21bb-418c-a157-e99480ec364c",), psrule=("Azure.AKS.Version",),
                          nist=("SI-2", "SA-22")),
        parameters=(
            Parameter("minimumKubernetesVersion", "1.33.0",
                      "Oldest accepted version (Kubernetes 1.32 left upstream support in February 2026); raise it "
                      "as AKS retires minors.",
                      schema={"pattern": r"^\s*v?[0-9]+\.[0-9]+(\.[0-9]+)?\s*$"}),  # as checks.parse_version reads it
            Parameter("upgradeChannelsKeepingCurrent", ["rapid", "stable"],
                      "Auto-upgrade channels that keep the minor version current, so a pinned older version passes.",
                      type="Array", allowed=("rapid", "stable", "patch", "node-image")),
        ),
        check=check_minimum_version,
        builtin_deviation=("The built-in flags only a fixed list of versions up to 1.13, so every current-era old "
                           "version (1.29, 1.22, ...) is compliant there."),
        policy_gap=("The condition language compares versions as strings (1.9 after 1.30); template functions "
                    "(int(split(...))) could compare the numbers, but a version left out (AKS's default), a "
                    "minor-only version (its newest patch) and a template parameter make the verdict unknown or "
                    "depend on the upgrade channel, which a definition cannot say (compliant, non-compliant or an "
                    "error; a malformed version is an error there, failed here). The built-in fb893a29 only matches "
                    "a fixed list of versions up to 1.13."),
    ),
    Control(
        id="AKS-039",
        title="Node pools run the control plane's Kubernetes minor version",
        severity=Severity.LOW,
        section="Upgrades",
        rationale=(
            "A pool left behind the control plane misses the fixes of the newer version and drifts towards the "
            "unsupported skew (nodes may be at most three minors behind); upgrades then have to jump several "
            "versions at once. A pool newer than the control plane is rejected by AKS. Pools that do not pin "
            "orchestratorVersion follow the control plane. Patch differences within a minor are accepted. In "
            "deployed state the versions compared are the running ones (currentKubernetesVersion, "
            "currentOrchestratorVersion) where given."),
        remediation=(
            "Set properties.agentPoolProfiles[].orchestratorVersion on every pool to properties.kubernetesVersion "
            "(or omit it) "
            "(az aks nodepool upgrade --kubernetes-version <version>)."),
        references=("https://learn.microsoft.com/azure/aks/upgrade-cluster",),
        mappings=Mappings(psrule=("Azure.AKS.PoolVersion",), nist=("SI-2", "CM-2")),
        parameters=(Parameter("maxMinorVersionSkew", 0,
                              "How many minor versions a pool may be behind the control plane.", type="Integer",
                              schema={"minimum": 0, "maximum": 3}),),  # nodes may be at most three minors behind
        check=check_pool_version_skew,
        policy_gap=("Template functions (int(split(...))) could compare the two fields' minor versions per pool, but "
                    "a control plane version left out of a template (AKS's default) makes the verdict unknown, which "
                    "a definition cannot say, and a malformed version is an evaluation error there but a failure "
                    "here; no built-in covers it."),
    ),
    Control(
        id="AKS-040",
        title="Auto-upgrades run in planned maintenance windows",
        severity=Severity.LOW,
        section="Upgrades",
        rationale=(
            "Without a planned maintenance configuration, AKS applies auto-upgrades at any time, including during "
            "peak hours or change freezes. Each channel in use needs its schedule: "
            "aksManagedAutoUpgradeSchedule for the cluster upgrade channel and aksManagedNodeOSUpgradeSchedule for "
            "the node OS channel. They are maintenanceConfigurations children of the cluster, found wherever in "
            "the scanned inputs they are declared, and each must hold a maintenanceWindow (a configuration with "
            "only timeInWeek, the 'default' configuration's field, plans no window). PSRule's Azure.AKS.MaintenanceWindow asks for both schedules "
            "on every cluster; here a schedule is asked for only while its channel is in use (a window for "
            "upgrades that never run schedules nothing), which from API 2023-06-01 (node OS channel NodeImage by "
            "default) is both for a cluster with an upgrade channel."),
        remediation=(
            "Deploy Microsoft.ContainerService/managedClusters/maintenanceConfigurations named "
            "aksManagedAutoUpgradeSchedule and aksManagedNodeOSUpgradeSchedule with properties.maintenanceWindow "
            "(az aks maintenanceconfiguration add --name aksManagedAutoUpgradeSchedule --schedule-type Weekly "
            "--day-of-week Sunday --start-time 01:00 --duration 4)."),
        references=("https://learn.microsoft.com/azure/aks/planned-maintenance",),
        mappings=Mappings(azure_policy=("e1352e44-d34d-4e4d-a22e-451a15f759a1",), psrule=("Azure.AKS.MaintenanceWindow",),
                          nist=("SI-2", "MA-2")),
        applicability={"anyOf": [
            {"field": f"{MC}/autoUpgradeProfile.upgradeChannel", "in": ["patch", "stable", "rapid", "node-image"]},
            {"field": f"{MC}/autoUpgradeProfile.nodeOSUpgradeChannel", "in": ["NodeImage", "SecurityPatch"]},
        ]},
        applicability_text="no auto-upgrade channel is in use, so there is nothing to schedule (see AKS-007, AKS-008)",
        check=check_maintenance_windows,
        builtin_parameters={"e1352e44-d34d-4e4d-a22e-451a15f759a1": {
            "configurationType": "aksManagedAutoUpgradeSchedule",
            "maintenanceWindow": {"properties": {"maintenanceWindow": {
                "schedule": {"weekly": {"intervalWeeks": 1, "dayOfWeek": "Sunday"}},
                "durationHours": 4, "startTime": "01:00"}}}}},
        builtin_deviation=("The built-in checks one named configuration per assignment on every cluster; this control "
                           "asks for each schedule whose channel is in use (both for both channels) and does not apply "
                           "without a channel."),
        policy_gap=("Two named child resources must exist depending on two channels; the built-in e1352e44 "
                    "(AuditIfNotExists/DeployIfNotExists) checks one configuration name per assignment."),
    ),
    Control(
        id="AKS-041",
        title="The control plane has the Standard (uptime SLA) tier",
        severity=Severity.LOW,
        section="Reliability",
        rationale=(
            "The Free tier has no financially backed SLA and a control plane sized for small clusters; the "
            "Standard tier (Paid before API 2023-07-01, which took both from 2023-01-01) scales the API server and "
            "comes with a 99.95% SLA with "
            "availability zones. Production clusters need it. Premium (Standard's SLA plus long-term support) "
            "passes too, where PSRule's Azure.AKS.UptimeSLA asks for the word Standard (Paid before 2023-07-01). A "
            "tier or SKU name the request's API version does not take (Paid or Basic from 2023-07-01, Standard or "
            "Base before 2023-01-01) is an error: AKS rejects the request; Premium before API 2023-05-01 is "
            "unknown."),
        remediation=(
            "Set sku.tier to Standard (or Premium) (az aks update --tier standard)."),
        references=("https://learn.microsoft.com/azure/aks/free-standard-pricing-tiers",),
        mappings=Mappings(psrule=("Azure.AKS.UptimeSLA",), checkov=("CKV_AZURE_170",), nist=("CP-10",)),
        rule={"field": f"{MC}/sku.tier", "in": ["Standard", "Premium"]},
    ),
]
