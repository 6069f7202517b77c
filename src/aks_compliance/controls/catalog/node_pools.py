"""Node pools."""

from typing import Any, Mapping

from ...policy.conditions import MISSING, Leaf, Truth, Verdict
from ...targets import Target
from ...values import Unknown
from ..checks import (NON_SYSTEM_MODES, Check, all_of, is_system_pool, known, lower, pool_field, pool_name,
                      pools)
from ..model import Control, Mappings, Parameter, Severity

MC = "Microsoft.ContainerService/managedClusters"
T, F, U = Truth.TRUE, Truth.FALSE, Truth.UNKNOWN

CONTROLS = [
    Control(
        id="AKS-010",
        title="Every node pool encrypts temporary disks and caches at host",
        severity=Severity.MEDIUM,
        section="Encryption",
        rationale=(
            "Without encryption at host, the node VMs' temporary disks, OS and data disk caches are stored "
            "unencrypted on the host, outside the server-side encryption of managed disks. Every pool counts: "
            "pools in agentPoolProfiles and separate agentPools resources; a cluster none of whose pools is "
            "among the inputs is unknown (AKS requires a pool, so its pools exist but were not read)."),
        remediation=(
            "Set enableEncryptionAtHost to true on every pool in properties.agentPoolProfiles and every agentPools "
            "resource (az aks nodepool add --enable-encryption-at-host); "
            "the subscription needs the EncryptionAtHost feature, and existing pools must be replaced."),
        references=("https://learn.microsoft.com/azure/aks/enable-host-encryption",),
        mappings=Mappings(azure_policy=("41425d9f-d1a5-499a-9932-f8ed8453932c",), checkov=("CKV_AZURE_227",),
                          nist=("SC-28",)),
        rule={"allOf": [
            {"count": {"field": f"{MC}/agentPoolProfiles[*]"}, "greater": 0},
            {"count": {"field": f"{MC}/agentPoolProfiles[*]",
                       "where": {"field": f"{MC}/agentPoolProfiles[*].enableEncryptionAtHost", "notEquals": True}},
             "equals": 0},
        ]},
    ),
]

# Regions with availability zones (programmatic names), per Microsoft's region list; extend with the
# zonalRegions parameter as regions gain zones.
ZONAL_REGIONS = [
    "australiaeast", "austriaeast", "belgiumcentral", "brazilsouth", "canadacentral", "centralindia", "centralus",
    "chinanorth3", "eastasia", "eastus", "eastus2", "francecentral", "germanywestcentral", "israelcentral",
    "italynorth", "japaneast", "japanwest", "koreacentral", "mexicocentral", "newzealandnorth", "northeurope",
    "norwayeast", "polandcentral", "qatarcentral", "southafricanorth", "southcentralus", "southeastasia",
    "spaincentral", "swedencentral", "switzerlandnorth", "uaenorth", "uksouth", "usgovvirginia", "westeurope",
    "westus2", "westus3",
]


def _unknown_pools(c: Check, members: Any) -> Verdict | None:
    if isinstance(members, Unknown):
        c.unknown("properties.agentPoolProfiles", members.reason)
        return c.verdict(U)
    return None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def check_max_pods(target: Target, params: Mapping[str, Any]) -> Verdict:
    """Every pool allows at least minimumMaxPods pods; an omitted maxPods takes the network plugin's default."""
    c = Check(target, params)
    minimum = int(params["minimumMaxPods"])
    members = pools(c)
    if (v := _unknown_pools(c, members)) is not None:
        return v
    truths: list[Truth] = []
    for pool in members:
        path, max_pods = pool_field(c, pool, "maxPods")
        if isinstance(max_pods, Unknown):
            truths.append(c.unknown(path, max_pods.reason))
            continue
        if max_pods is MISSING:  # a request's absent maxPods carries its default (arm/defaults.py) by now
            truths.append(c.unknown(path, f"maxPods is absent on pool {pool_name(c, pool)} and no default is known "
                                          f"for this network configuration; set maxPods explicitly"))
            continue
        n = _int(max_pods)
        truths.append(c.compare(path, "greaterOrEquals", minimum, max_pods, n is not None and n >= minimum))
    return c.verdict(all_of(truths))


def check_availability_zones(target: Target, params: Mapping[str, Any]) -> Verdict:
    """In a region with zones, every scale-set pool spreads over at least minimumZones zones."""
    c = Check(target, params)
    minimum = int(params["minimumZones"])
    regions = {str(r).replace(" ", "").lower() for r in params["zonalRegions"]}
    members = pools(c)
    if (v := _unknown_pools(c, members)) is not None:
        return v
    location = target.body.get("location", MISSING)
    if location is MISSING and hasattr(target.body, "missing_member"):  # a pool read without its cluster
        location = target.body.missing_member("location")
    location = known(location, "location (resourceGroup().location)")
    region_zonal: Any
    if isinstance(location, Unknown):
        region_zonal = location
    elif isinstance(location, str):
        region_zonal = location.replace(" ", "").lower() in regions
    else:
        region_zonal = Unknown("the cluster has no location")
    truths: list[Truth] = []
    for pool in members:
        type_path, ptype = pool_field(c, pool, "type")
        if lower(ptype) == "availabilityset":
            truths.append(c.compare(type_path, "equals", "AvailabilitySet (zones do not apply)", ptype, True))
            continue
        zones_path, zones = pool_field(c, pool, "availabilityZones")
        if isinstance(zones, Unknown):
            truths.append(c.unknown(zones_path, zones.reason))
            continue
        count = len(zones) if isinstance(zones, list) else 0
        if count >= minimum:
            truths.append(c.compare(zones_path, "count >=", minimum, zones, True))
        elif isinstance(region_zonal, Unknown):
            truths.append(c.record("location", "in", "regions with availability zones", region_zonal, U))
        elif region_zonal:
            truths.append(c.compare(zones_path, "count >=", minimum,
                                    zones if zones is not MISSING else MISSING, False))
        else:
            truths.append(c.compare("location", "notIn", "regions with availability zones", location, True))
    return c.verdict(all_of(truths))


def check_system_nodes(target: Target, params: Mapping[str, Any]) -> Verdict:
    """System pools (mode not User) have at least minimumSystemNodes nodes together (minCount when autoscaled)."""
    c = Check(target, params)
    minimum = int(params["minimumSystemNodes"])
    members = pools(c)
    if (v := _unknown_pools(c, members)) is not None:
        return v
    total, unknown_reasons = 0, []
    for pool in members:
        system = is_system_pool(c, pool)
        if isinstance(pool[1], Unknown) or isinstance(system, Unknown):
            unknown_reasons.append(pool[1].reason if isinstance(pool[1], Unknown) else system.reason)
            continue
        if not system:  # cited: with no system pool at all, the evidence shows why none was counted
            mode_path, mode = pool_field(c, pool, "mode")
            c.compare(mode_path, "in", f"{list(NON_SYSTEM_MODES)} (not a system pool: not counted)", mode, True)
            continue
        min_path, min_count = pool_field(c, pool, "minCount")
        count_path, count = pool_field(c, pool, "count")
        n = _int(min_count)
        path, value = min_path, min_count
        if n is None or n <= 0:
            n = _int(count)
            path, value = count_path, count
            if count is MISSING:  # a request's absent count carries the API default (1) by now
                value = Unknown("count is absent and no default applies")
        if isinstance(value, Unknown):
            unknown_reasons.append(value.reason)
            c.leaves.append(Leaf(path, "counted", "system nodes", value, U))
            continue
        c.compare(path, "counted", "system nodes", value, True)
        total += n or 0
    if total < minimum and target.context.get("pool_only"):
        unknown_reasons.append(f"the cluster's other node pools are not known: {target.context['pool_only']}")
    truth = T if total >= minimum else (U if unknown_reasons else F)
    c.reasons.extend(unknown_reasons)
    c.leaves.append(Leaf("properties.agentPoolProfiles", "sum of system nodes >=", minimum,
                         f"{total}" + (" plus unknown" if unknown_reasons else ""), truth))
    return c.verdict(truth)


def check_ephemeral_os_disk(target: Target, params: Mapping[str, Any]) -> Verdict:
    """Every pool uses an ephemeral OS disk; an omitted osDiskType depends on the VM size, so it is unknown."""
    c = Check(target, params)
    members = pools(c)
    if (v := _unknown_pools(c, members)) is not None:
        return v
    truths: list[Truth] = []
    for pool in members:
        path, disk = pool_field(c, pool, "osDiskType")
        if isinstance(disk, Unknown):
            truths.append(c.unknown(path, disk.reason))
        elif disk is MISSING:
            _, size = pool_field(c, pool, "vmSize")
            truths.append(c.unknown(path, f"osDiskType is absent on pool {pool_name(c, pool)}: AKS picks Ephemeral only "
                                          f"when the cache or temporary disk of {size if isinstance(size, str) else 'its VM size'} "
                                          f"holds the OS disk, which is not known offline; set osDiskType explicitly",
                                    expected="Ephemeral", operator="equals"))
        else:
            truths.append(c.compare(path, "equals", "Ephemeral", disk, lower(disk) == "ephemeral"))
    return c.verdict(all_of(truths))


CONTROLS += [
    Control(
        id="AKS-030",
        title="Every node pool allows enough pods per node",
        severity=Severity.LOW,
        section="Reliability",
        rationale=(
            "maxPods is fixed when a pool is created. A low limit (Azure CNI's default is 30) is exhausted by "
            "the DaemonSets of monitoring, security and policy agents, so nodes stay half empty and scaling is "
            "triggered early. Every pool counts. An omitted maxPods takes the plugin's default: 110 for kubenet, "
            "250 for Azure CNI overlay, 30 for Azure CNI node subnet (unknown with a pod subnet); PSRule's "
            "Azure.AKS.NodeMinPods and Checkov's CKV_AZURE_168 fail an omitted maxPods whatever the plugin."),
        remediation=(
            "Set maxPods to at least the threshold on every pool in properties.agentPoolProfiles and every "
            "agentPools resource (az aks nodepool add --max-pods 110); existing pools must be replaced."),
        references=("https://learn.microsoft.com/azure/aks/azure-cni-overview#maximum-pods-per-node",),
        mappings=Mappings(psrule=("Azure.AKS.NodeMinPods",), checkov=("CKV_AZURE_168",), nist=("CP-10", "SC-5")),
        parameters=(Parameter("minimumMaxPods", 50, "Smallest maxPods accepted on a pool.", type="Integer",
                              schema={"minimum": 10, "maximum": 250}),),  # AKS accepts maxPods 10..250
        check=check_max_pods,
        policy_gap=("An omitted maxPods takes a default that depends on the network plugin, its mode and the API "
                    "version (arm/defaults.py), and where no default is known offline the verdict is unknown, which "
                    "a definition cannot say (its evaluation is compliant, non-compliant or an error); Azure sees "
                    "the resolved value through the alias agentPoolProfiles[*].maxPods, but no built-in covers the "
                    "concept."),
    ),
    Control(
        id="AKS-031",
        title="Every node pool uses virtual machine scale sets",
        severity=Severity.LOW,
        section="Reliability",
        rationale=(
            "Availability-set pools are legacy: they cannot autoscale, use availability zones, or run more than "
            "one pool, and they are retired. Virtual Machines pools (type VirtualMachines) are not scale sets "
            "either: they are scaled by their virtualMachinesProfile, not the cluster autoscaler, so they fail "
            "too (as the title says: every pool a scale set). Every pool counts; an omitted type is "
            "VirtualMachineScaleSets from API 2020-04-01 and AvailabilitySet before (see the defaults below)."),
        remediation=(
            "Set properties.agentPoolProfiles[].type to VirtualMachineScaleSets (or omit it) on every pool; a cluster "
            "on availability sets must "
            "be recreated (az aks create --vm-set-type VirtualMachineScaleSets)."),
        references=("https://learn.microsoft.com/azure/aks/availability-sets-on-aks",),
        mappings=Mappings(psrule=("Azure.AKS.PoolScaleSet",), checkov=("CKV_AZURE_169",), nist=("CP-10",)),
        rule={"count": {"field": f"{MC}/agentPoolProfiles[*]",
                        "where": {"field": f"{MC}/agentPoolProfiles[*].type", "notEquals": "VirtualMachineScaleSets"}},
              "equals": 0},
    ),
    Control(
        id="AKS-032",
        title="Node pools are spread across availability zones where the region has them",
        severity=Severity.MEDIUM,
        section="Reliability",
        rationale=(
            "A pool confined to one zone (or to none) goes down with that datacenter. In a region with "
            "availability zones every scale-set pool should list at least minimumZones zones; pools in regions "
            "without zones pass. The region comes from the cluster's location; when the template takes it from "
            "the resource group, it is unknown until --arm-location says which region it is."),
        remediation=(
            "Set availabilityZones to [\"1\",\"2\",\"3\"] on every pool in properties.agentPoolProfiles and every "
            "agentPools resource (az aks nodepool add --zones 1 2 3); zones cannot be changed on an existing pool."),
        references=("https://learn.microsoft.com/azure/aks/availability-zones",),
        mappings=Mappings(azure_policy=("2dec5f47-bc40-40d1-8c7d-a39d9d6808d1",), psrule=("Azure.AKS.AvailabilityZone",),
                          nist=("CP-10", "SC-36")),
        parameters=(
            Parameter("minimumZones", 3, "Fewest availability zones a pool may list in a zonal region "
                                         "(3 as Microsoft's zone-redundancy built-in asks).", type="Integer",
                      schema={"minimum": 1, "maximum": 3}),
            Parameter("zonalRegions", ZONAL_REGIONS, "Regions (programmatic names) that have availability zones.",
                      type="Array", schema={"items": {"pattern": "^[a-z0-9]+$"}}),
        ),
        check=check_availability_zones,
        builtin_deviation=("The preview built-in asks every pool for three zones and three nodes in any region; this "
                           "control passes pools in regions without zones and leaves the zone count to a parameter, "
                           "and is unknown where the region is."),
        policy_gap=("A pool whose type deployed state leaves out is a scale-set pool here (Azure returns the type; "
                    "exports may omit it), while the condition language reads the absent value as unknown; so the "
                    "verdict stays in Python. The rule would be count(scale-set pools with fewer zones) = 0 or the "
                    "location not zonal. The preview built-in 2dec5f47 audits zone redundancy without regard to "
                    "region."),
    ),
    Control(
        id="AKS-033",
        title="System node pools have enough nodes",
        severity=Severity.MEDIUM,
        section="Reliability",
        rationale=(
            "CoreDNS, metrics-server, konnectivity and the policy and security agents run on the system pools. "
            "With fewer than three nodes, one node's failure or upgrade takes out cluster DNS and admission. "
            "The nodes of all system pools (mode System, or absent; Gateway and Machines pools run no system pods; "
            "before API 2020-03-01 there was no mode and AKS created User pools only, so such a cluster has none) "
            "are summed, using minCount for autoscaled pools and "
            "count otherwise (an omitted count is 1)."),
        remediation=(
            "Give the System pools at least three nodes together: count (or minCount with enableAutoScaling) "
            "in properties.agentPoolProfiles (az aks nodepool update --min-count 3 --enable-cluster-autoscaler)."),
        references=("https://learn.microsoft.com/azure/aks/use-system-pools",),
        mappings=Mappings(psrule=("Azure.AKS.MinNodeCount",), nist=("CP-10",)),
        parameters=(Parameter("minimumSystemNodes", 3, "Fewest nodes the system pools must have together.",
                              type="Integer", schema={"minimum": 1}),),
        check=check_system_nodes,
        policy_gap=("The system pools' nodes are added up over the pools (minCount when autoscaled, else count): "
                    "count() counts members but cannot add their values, and no template function sums a field "
                    "over an array of objects; no built-in covers it."),
    ),
    Control(
        id="AKS-034",
        title="System node pools run only critical add-ons",
        severity=Severity.MEDIUM,
        section="Workload isolation",
        rationale=(
            "Without the CriticalAddonsOnly taint, application pods are scheduled onto system nodes next to "
            "CoreDNS and the security agents, where a noisy or compromised workload can starve or attack them. "
            "Every system pool (mode System, or absent; not User, Gateway or Machines; before API 2020-03-01 "
            "AKS created User pools only) must carry "
            "CriticalAddonsOnly=true:NoSchedule (or NoExecute), "
            "which also means applications need a separate User pool. The cluster add-ons tolerate the "
            "CriticalAddonsOnly key whatever its value (operator Exists), so another value counts too; "
            "PreferNoSchedule does not (the scheduler may still place other pods there)."),
        remediation=(
            "Add \"CriticalAddonsOnly=true:NoSchedule\" to properties.agentPoolProfiles[].nodeTaints of every System pool "
            "(az aks nodepool add --mode System --node-taints CriticalAddonsOnly=true:NoSchedule) and run "
            "workloads on User pools."),
        references=("https://learn.microsoft.com/azure/aks/use-system-pools#system-and-user-node-pools",),
        mappings=Mappings(azure_policy=("48940d92-ff05-449e-9111-e742d9280451",), checkov=("CKV_AZURE_232",),
                          nist=("SC-39", "CM-7")),
        rule={"count": {"field": f"{MC}/agentPoolProfiles[*]",
                        "where": {"allOf": [
                            {"field": f"{MC}/agentPoolProfiles[*].mode", "notIn": list(NON_SYSTEM_MODES)},
                            # the cluster add-ons tolerate the key with operator Exists (as the upstream manifests,
                            # kubernetes cluster/addons/dns/coredns, do): any value keeps other pods off, with an
                            # effect the scheduler enforces (NoSchedule, NoExecute; PreferNoSchedule does not)
                            {"count": {"field": f"{MC}/agentPoolProfiles[*].nodeTaints[*]",
                                       "where": {"anyOf": [
                                           {"field": f"{MC}/agentPoolProfiles[*].nodeTaints[*]",
                                            "like": "CriticalAddonsOnly=*:NoSchedule"},
                                           {"field": f"{MC}/agentPoolProfiles[*].nodeTaints[*]",
                                            "like": "CriticalAddonsOnly=*:NoExecute"}]}},
                             "equals": 0},
                        ]}},
              "equals": 0},
    ),
    Control(
        id="AKS-035",
        title="Node pools use ephemeral OS disks",
        severity=Severity.LOW,
        section="Reliability",
        rationale=(
            "Ephemeral OS disks live on the VM's local storage: faster reimage and upgrade, no remote disk to "
            "fail or throttle, and no persistent OS state left after a node is deleted. Every pool counts. An "
            "omitted osDiskType is Ephemeral only when the VM size's cache or temporary disk can hold the OS "
            "disk, which is not known offline, so it is unknown (PSRule passes it, Checkov fails it); at API "
            "2020-09-01 it was Managed (see the defaults below)."),
        remediation=(
            "Set properties.agentPoolProfiles[].osDiskType to Ephemeral on every pool, with an osDiskSizeGB that fits "
            "the VM size's cache or "
            "temporary disk (az aks nodepool add --node-osdisk-type Ephemeral)."),
        references=("https://learn.microsoft.com/azure/aks/concepts-storage#ephemeral-os-disk",),
        mappings=Mappings(psrule=("Azure.AKS.EphemeralOSDisk",), checkov=("CKV_AZURE_226",), nist=("CP-10",)),
        check=check_ephemeral_os_disk,
        policy_gap=("An omitted osDiskType depends on the VM size's disks, which no condition can read offline; "
                    "Azure sees the resolved value (alias agentPoolProfiles[*].osDiskType) but no built-in covers it."),
    ),
    Control(
        id="AKS-036",
        title="OS and data disks are encrypted with a customer-managed key",
        severity=Severity.LOW,
        section="Encryption",
        rationale=(
            "By default node OS and data disks are encrypted with platform-managed keys. A disk encryption set "
            "with a customer-managed key in Key Vault puts key rotation and revocation under the organisation's "
            "control, as some regulations require."),
        remediation=(
            "Set properties.diskEncryptionSetID to a Microsoft.Compute/diskEncryptionSets resource id at creation "
            "(az aks create --node-osdisk-diskencryptionset-id <des-id>)."),
        references=("https://learn.microsoft.com/azure/aks/azure-disk-customer-managed-keys",),
        mappings=Mappings(azure_policy=("7d7be79c-23ba-4033-84dd-45e2a5ccdd67",), checkov=("CKV_AZURE_117",),
                          nist=("SC-28", "SC-12")),
        rule={"allOf": [
            {"field": f"{MC}/diskEncryptionSetID", "exists": True},
            {"field": f"{MC}/diskEncryptionSetID", "notEquals": ""},
        ]},
    ),
    Control(
        id="AKS-037",
        title="Scale-set node pools autoscale",
        severity=Severity.LOW,
        section="Reliability",
        rationale=(
            "A pool with a fixed node count cannot absorb load spikes or a failed node, and pods stay pending "
            "until someone scales it by hand. Every scale-set pool counts (an omitted type is a scale set, the "
            "API's default; PSRule's Azure.AKS.AutoScaling judges only pools whose type says so); "
            "availability-set pools cannot autoscale, and Virtual Machines pools (type VirtualMachines) are not "
            "scale sets: they scale through virtualMachinesProfile.scale, not enableAutoScaling."),
        remediation=(
            "Set properties.agentPoolProfiles[].enableAutoScaling true with minCount and maxCount on every scale-set pool "
            "(az aks nodepool update --enable-cluster-autoscaler --min-count 3 --max-count 10)."),
        references=("https://learn.microsoft.com/azure/aks/cluster-autoscaler",),
        mappings=Mappings(psrule=("Azure.AKS.AutoScaling",), nist=("CP-10", "SC-5")),
        rule={"count": {"field": f"{MC}/agentPoolProfiles[*]",
                        "where": {"allOf": [
                            {"field": f"{MC}/agentPoolProfiles[*].type", "equals": "VirtualMachineScaleSets"},
                            {"field": f"{MC}/agentPoolProfiles[*].enableAutoScaling", "notEquals": True},
                        ]}},
              "equals": 0},
    ),
]

CONTROLS += [
    Control(
        id="AKS-072",
        title="User node pools have at least three nodes",
        severity=Severity.LOW,
        section="Reliability",
        rationale=(
            "A User pool with one or two nodes loses half or all of its capacity when a node fails, is reimaged "
            "or is upgraded (surge and drain move every pod at once), so the workloads it carries have no "
            "failover. Each pool whose mode is User needs at least minimumUserPoolNodes nodes: minCount when the "
            "autoscaler runs, count otherwise (an omitted count is 1, the API's default; unlike PSRule's rule, "
            "an autoscaled pool with minCount 0 fails whatever its current count: it may scale to none). Spot "
            "pools are left "
            "out (as PSRule's rule does): Azure may evict their nodes at any time, so they carry no availability "
            "to count on whatever their size. Pools named in excludedPools (batch or GPU pools that scale to "
            "zero) are left out too. A user pool read without its cluster is judged on its own."),
        remediation=(
            "Raise properties.agentPoolProfiles[].count (or minCount with enableAutoScaling) of every User pool to 3 "
            "(az aks nodepool update --enable-cluster-autoscaler --min-count 3 --max-count 6), or list pools meant "
            "to be small in excludedPools."),
        references=("https://learn.microsoft.com/azure/aks/use-system-pools#system-and-user-node-pools",
                    "https://azure.github.io/PSRule.Rules.Azure/en/rules/Azure.AKS.MinUserPoolNodes/"),
        mappings=Mappings(psrule=("Azure.AKS.MinUserPoolNodes",), nist=("CP-10",)),
        parameters=(Parameter("minimumUserPoolNodes", 3, "Fewest nodes each User pool must have.", type="Integer",
                              schema={"minimum": 0}),
                    Parameter("excludedPools", [], "Names of User pools not held to the minimum (e.g. pools that "
                              "scale to zero).", type="Array")),
        # per pool, the field that holds its minimum depends on its own enableAutoScaling: a cross-field condition
        # inside the count's where; coalesce() reads an absent field as 0 (too few), as 'less' on it would error
        rule={"count": {"field": f"{MC}/agentPoolProfiles[*]", "where": {"allOf": [
            {"field": f"{MC}/agentPoolProfiles[*].mode", "equals": "User"},
            {"field": f"{MC}/agentPoolProfiles[*].name", "notIn": "[parameters('excludedPools')]"},
            {"field": f"{MC}/agentPoolProfiles[*].scaleSetPriority", "notEquals": "Spot"},  # absent: Regular
            {"anyOf": [
                {"allOf": [{"field": f"{MC}/agentPoolProfiles[*].enableAutoScaling", "equals": True},
                           {"value": f"[coalesce(current('{MC}/agentPoolProfiles[*].minCount'), 0)]",
                            "less": "[parameters('minimumUserPoolNodes')]"}]},
                {"allOf": [{"field": f"{MC}/agentPoolProfiles[*].enableAutoScaling", "notEquals": True},
                           {"value": f"[coalesce(current('{MC}/agentPoolProfiles[*].count'), 0)]",
                            "less": "[parameters('minimumUserPoolNodes')]"}]}]}]}},
              "equals": 0},
    ),
]
