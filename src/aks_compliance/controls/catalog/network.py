"""Cluster networking."""

import ipaddress
from typing import Any, Mapping

from ...arm.defaults import ci_key
from ...policy.conditions import MISSING, Truth, Verdict
from ...targets import Target
from ...values import Unknown
from ..checks import Check, all_of, any_of, body_path_text, lower, pool_field, pool_name, pools
from ..model import Control, Mappings, Parameter, Severity
from .waf import gateway_waf

MC = "Microsoft.ContainerService/managedClusters"
T, F, U = Truth.TRUE, Truth.FALSE, Truth.UNKNOWN

CONTROLS = [
    Control(
        id="AKS-005",
        title="A network policy engine is enabled",
        severity=Severity.MEDIUM,
        section="CIS 5.4",
        rationale=(
            "Without a network policy engine, Kubernetes NetworkPolicy objects are accepted but not enforced: "
            "every pod can reach every other pod, so one compromised workload can move laterally through the "
            "cluster. Azure, Calico and Cilium network policy all enforce them."),
        remediation=(
            "Set properties.networkProfile.networkPolicy to azure, calico or cilium "
            "(az aks create --network-policy azure|calico|cilium; existing clusters: az aks update "
            "--network-policy)."),
        references=("https://learn.microsoft.com/azure/aks/use-network-policies",),
        mappings=Mappings(cis_aks=("5.4.4",), psrule=("Azure.AKS.NetworkPolicy",), checkov=("CKV_AZURE_7",),
                          nist=("SC-7", "AC-4")),
        rule={"field": f"{MC}/networkProfile.networkPolicy", "in": ["azure", "calico", "cilium"]},
    ),
    Control(
        id="AKS-011",
        title="No node pool gives its nodes public IP addresses",
        severity=Severity.HIGH,
        section="CIS 5.4",
        rationale=(
            "Nodes with public IP addresses can be reached from the internet directly, around the load balancer, "
            "firewall and network security groups in front of the cluster. Every pool counts: pools declared in "
            "agentPoolProfiles and pools deployed as separate agentPools resources."),
        remediation=(
            "Set enableNodePublicIP to false (or omit it) on every pool in properties.agentPoolProfiles and on "
            "every Microsoft.ContainerService/managedClusters/agentPools resource; the setting cannot be changed "
            "on an existing pool, so create a new pool without --enable-node-public-ip (az aks nodepool add) and "
            "delete the old one (az aks nodepool delete)."),
        references=("https://learn.microsoft.com/azure/aks/use-node-public-ips",),
        mappings=Mappings(cis_aks=("5.4.3",), checkov=("CKV_AZURE_143",), nist=("SC-7",)),
        rule={"count": {"field": f"{MC}/agentPoolProfiles[*]",
                        "where": {"field": f"{MC}/agentPoolProfiles[*].enableNodePublicIP", "equals": True}},
              "equals": 0},
    ),
]


def _prefix_length(prefix: Any) -> int | None:
    try:
        return ipaddress.ip_network(str(prefix), strict=False).prefixlen
    except ValueError:
        return None


def _member(obj: Any, key: str) -> Any:
    """``obj[key]``, the key matched case-insensitively as ARM does; MISSING when absent."""
    found = ci_key(obj, key, None) if isinstance(obj, dict) else None
    return MISSING if found is None else obj[found]


def check_cni_subnet_size(target: Target, params: Mapping[str, Any]) -> Verdict:
    """Every subnet that hands out pod IPs (podSubnetID, else vnetSubnetID) is at least /N."""
    c = Check(target, params)
    maximum = int(params["maximumSubnetPrefixLength"])
    members = pools(c)
    if isinstance(members, Unknown):
        c.unknown("properties.agentPoolProfiles", members.reason)
        return c.verdict(U)
    index = target.context.get("index")
    truths: list[Truth] = []
    for pool in members:
        pod_path, pod_subnet = pool_field(c, pool, "podSubnetID")
        node_path, node_subnet = pool_field(c, pool, "vnetSubnetID")
        path, subnet_id = (pod_path, pod_subnet) if pod_subnet not in (MISSING, None, "") else (node_path, node_subnet)
        if isinstance(subnet_id, Unknown):
            truths.append(c.unknown(path, subnet_id.reason))
            continue
        if subnet_id in (MISSING, None, ""):
            truths.append(c.compare(node_path, "is", "a subnet of the cluster's own virtual network",
                                    "(absent): AKS creates a managed virtual network with a /16 node subnet", True))
            continue
        found = index.subnet(subnet_id) if index is not None else None
        if found is None:
            truths.append(c.unknown(path, f"subnet {subnet_id} (pool {pool_name(c, pool)}) is not among the "
                                          f"scanned inputs; scan its virtual network too to judge its size"))
            continue
        holder, at = found
        base = body_path_text(at)
        props_path = f"{base}.properties" if base else "properties"
        subnet_obj: Any = holder.body
        for step in at:
            subnet_obj = subnet_obj[step] if isinstance(subnet_obj, (dict, list)) else MISSING
        props = _member(subnet_obj, "properties")
        if isinstance(subnet_obj, Unknown) or isinstance(props, Unknown):
            u = subnet_obj if isinstance(subnet_obj, Unknown) else props
            truths.append(c.unknown(c.joined(holder, props_path, "subnet"), u.reason))
            continue
        prefix = _member(props, "addressPrefix")
        prefix = None if prefix is MISSING else prefix
        prefix_path = f"{props_path}.addressPrefix"
        prefixes = _member(props, "addressPrefixes")
        if prefix is None and isinstance(prefixes, list):
            prefix, prefix_path = (prefixes[0] if prefixes else None), f"{props_path}.addressPrefixes[0]"
        evidence_path = c.joined(holder, prefix_path, "subnet")
        if isinstance(prefix, Unknown):
            truths.append(c.unknown(evidence_path, prefix.reason))
            continue
        length = _prefix_length(prefix)
        if length is None:
            truths.append(c.compare(evidence_path, "is", f"a CIDR of /{maximum} or larger", prefix if prefix is not None
                                    else MISSING, False))
            continue
        truths.append(c.compare(evidence_path, "prefix length <=", maximum, prefix, length <= maximum))
    return c.verdict(all_of(truths))


APPGW = "microsoft.network/applicationgateways"
APIM = "microsoft.apimanagement/service"


def check_public_ingress_protected(target: Target, params: Mapping[str, Any]) -> Verdict:
    c = Check(target, params)
    index = target.context.get("index")
    truths: list[Truth] = []
    agic_path, agic = c.value(f"{MC}/addonProfiles.ingressApplicationGateway.enabled")
    if agic is True or isinstance(agic, Unknown):
        gw_path, gw_id = c.value(f"{MC}/addonProfiles.ingressApplicationGateway.config.applicationGatewayId")
        if gw_id in (MISSING, None, ""):
            gw_path, gw_id = c.value(f"{MC}/addonProfiles.ingressApplicationGateway.config.effectiveApplicationGatewayId")
        if isinstance(agic, Unknown):
            truths.append(c.unknown(agic_path, agic.reason))
        elif isinstance(gw_id, Unknown):
            truths.append(c.unknown(gw_path, gw_id.reason))
        elif gw_id in (MISSING, None, ""):
            truths.append(c.compare(gw_path, "is", "the id of a WAF_v2 gateway",
                                    "(absent): the add-on creates its own Standard_v2 gateway, which has no WAF", False))
        else:
            gw = index.get(gw_id) if index is not None else None
            if gw is None:
                truths.append(c.unknown(gw_path, f"application gateway {gw_id} is not among the scanned inputs"))
            else:
                truths.append(gateway_waf(c, gw))
    public_paths: list[tuple[str, str]] = []
    routing_path, routing = c.value(f"{MC}/ingressProfile.webAppRouting.enabled")
    if routing is True:
        nginx_path, nginx = c.value(f"{MC}/ingressProfile.webAppRouting.nginx.defaultIngressControllerType")
        if isinstance(nginx, Unknown):
            truths.append(c.unknown(nginx_path, nginx.reason))
        elif lower(nginx) in ("internal", "none"):
            truths.append(c.compare(nginx_path, "in", ["Internal", "None"], nginx, True))
        else:
            public_paths.append((nginx_path, "the application routing add-on's default ingress controller is public"))
    elif isinstance(routing, Unknown):
        truths.append(c.unknown(routing_path, routing.reason))
    http_path, http = c.value(f"{MC}/addonProfiles.httpApplicationRouting.enabled")
    if http is True:
        public_paths.append((http_path, "HTTP application routing publishes services on a public address"))
    elif isinstance(http, Unknown):
        truths.append(c.unknown(http_path, http.reason))
    if public_paths:
        fronts = _fronts(c, index)
        for path, what in public_paths:
            if not fronts:
                truths.append(c.compare(path, "is behind", "a WAF gateway or API Management declared with the cluster",
                                        f"{what}; no application gateway or API Management is declared with it", False))
            else:
                truths.append(any_of(fronts))
    return c.verdict(all_of(truths) if truths else U)


def _fronts(c: Check, index: Any) -> list[Truth]:
    """WAF verdicts of the gateways (and API Management instances) declared in the cluster's file."""
    if index is None:
        return []
    file = c.target.resource.source.file
    out: list[Truth] = []
    for r in index.of_type(APIM):
        if r.source.file == file:
            out.append(c.compare(c.joined(r, "", "apiManagement"), "is", "an API Management instance",
                                 r.display_name(), True))
    for r in index.of_type(APPGW):
        if r.source.file == file:
            out.append(gateway_waf(c, r))
    return out


CONTROLS += [
    Control(
        id="AKS-025",
        title="The cluster uses the Standard load balancer",
        severity=Severity.LOW,
        section="Networking",
        rationale=(
            "The Basic load balancer has no availability zone support, no outbound rules, no SLA and is retired; "
            "network security groups are optional on it, so a Basic frontend is open by default. AKS uses "
            "Standard unless the template asks for Basic from API 2020-04-01; an absent loadBalancerSku is Basic at "
            "earlier API versions (see the defaults below)."),
        remediation=(
            "Set properties.networkProfile.loadBalancerSku to standard (or omit it) "
            "(az aks create --load-balancer-sku standard); a Basic cluster must be migrated or recreated."),
        references=("https://learn.microsoft.com/azure/aks/load-balancer-standard",),
        mappings=Mappings(psrule=("Azure.AKS.StandardLB",), nist=("SC-7", "CP-10")),
        rule={"field": f"{MC}/networkProfile.loadBalancerSku", "notEquals": "basic"},
    ),
    Control(
        id="AKS-026",
        title="Egress leaves through a controlled path (user-defined routing or a NAT gateway)",
        severity=Severity.MEDIUM,
        section="Egress control",
        rationale=(
            "With the default outbound type (loadBalancer) every node reaches the internet directly through the "
            "cluster's load balancer, so a compromised pod can exfiltrate data or fetch tooling from anywhere. "
            "userDefinedRouting sends egress through a route table to a firewall or network appliance that can "
            "filter and log it; a NAT gateway gives a fixed, attributable egress address that network rules can "
            "govern; block (a network-isolated cluster) lets nothing out at all. None of PSRule, Checkov or the "
            "built-ins check this. To require a filtering firewall, set allowedOutboundTypes to "
            "[\"userDefinedRouting\"]; none (AKS sets up no outbound path, the subnet's own routing decides) is not "
            "counted by default: what it leads to is not in the cluster's definition."),
        remediation=(
            "Set properties.networkProfile.outboundType to userDefinedRouting with a route table on the node "
            "subnet whose 0.0.0.0/0 route points at Azure Firewall (az aks create --outbound-type "
            "userDefinedRouting), or to userAssignedNATGateway / managedNATGateway "
            "(az aks update --outbound-type userAssignedNATGateway)."),
        references=("https://learn.microsoft.com/azure/aks/egress-outboundtype",
                    "https://learn.microsoft.com/azure/aks/limit-egress-traffic"),
        mappings=Mappings(nist=("SC-7", "SC-7(5)")),
        parameters=(Parameter("allowedOutboundTypes", ["userDefinedRouting", "userAssignedNATGateway", "managedNATGateway",
                                                        "block"],
                              "Outbound types that count as controlled egress.", type="Array",
                              allowed=("loadBalancer", "userDefinedRouting", "managedNATGateway",
                                       "userAssignedNATGateway", "none", "block")),),
        rule={"field": f"{MC}/networkProfile.outboundType", "in": "[parameters('allowedOutboundTypes')]"},
    ),
    Control(
        id="AKS-027",
        title="The cluster uses the Azure CNI network plugin",
        severity=Severity.LOW,
        section="Networking",
        rationale=(
            "Azure CNI (node subnet, pod subnet or overlay) is the supported network plugin family for network "
            "policy with Azure or Cilium, Windows pools and virtual nodes; kubenet is retired. Microsoft's "
            "built-in audits clusters that do not use it. An absent networkPlugin follows the Kubernetes version: "
            "kubenet before 1.30 (fails), Azure CNI overlay from 1.30 or with kubernetesVersion absent (see the "
            "defaults below)."),
        remediation=(
            "Set properties.networkProfile.networkPlugin to azure, with networkPluginMode overlay for most "
            "clusters (az aks create --network-plugin azure --network-plugin-mode overlay); existing kubenet "
            "clusters can be upgraded to overlay (az aks update --network-plugin-mode overlay)."),
        references=("https://learn.microsoft.com/azure/aks/azure-cni-overlay",),
        mappings=Mappings(azure_policy=("46238e2f-3f6f-4589-9f3f-77bed4116e67",), checkov=("CKV2_AZURE_29",),
                          nist=("SC-7",)),
        rule={"field": f"{MC}/networkProfile.networkPlugin", "equals": "azure"},
    ),
    Control(
        id="AKS-028",
        title="Azure CNI subnets are large enough for the pods",
        severity=Severity.LOW,
        section="Networking",
        rationale=(
            "With Azure CNI without overlay, every pod takes an address from a virtual network subnet. A small "
            "subnet runs out during scale-out or upgrades (surge nodes need addresses too), and the cluster can "
            "then neither scale nor be patched. The subnet that hands out pod addresses (podSubnetID, else "
            "vnetSubnetID) of every pool must be /N or larger; the subnet is looked up among the scanned inputs "
            "(its own resource or its virtual network's subnets) and is unknown when it is declared elsewhere."),
        remediation=(
            "Give each pool a subnet of /23 or larger (virtualNetworks/subnets addressPrefix), or use Azure CNI "
            "overlay (properties.networkProfile.networkPluginMode overlay; az aks update --network-plugin-mode "
            "overlay), where pods do not use subnet addresses."),
        references=("https://learn.microsoft.com/azure/aks/azure-cni-overview#plan-ip-addressing-for-your-cluster",),
        mappings=Mappings(psrule=("Azure.AKS.CNISubnetSize",), checkov=("CKV2_AZURE_29",), nist=("CP-10", "SC-5")),
        parameters=(Parameter("maximumSubnetPrefixLength", 23,
                              "Largest prefix length (smallest subnet) accepted for pod address subnets.",
                              type="Integer", schema={"minimum": 8, "maximum": 29}),),
        applicability={"allOf": [
            {"field": f"{MC}/networkProfile.networkPlugin", "equals": "azure"},
            {"field": f"{MC}/networkProfile.networkPluginMode", "notEquals": "overlay"},
        ]},
        applicability_text="pods do not take subnet addresses (not Azure CNI, or Azure CNI overlay)",
        check=check_cni_subnet_size,
        policy_gap=("The subnet size comes from another resource (the subnet) and a CIDR computation; a policy on "
                    "managedClusters cannot read it. No built-in covers it."),
    ),
    Control(
        id="AKS-029",
        title="Public ingress to the cluster passes a WAF in Prevention mode or API Management",
        severity=Severity.MEDIUM,
        section="Ingress",
        rationale=(
            "Applications exposed through a managed ingress add-on are reachable from the internet. A web "
            "application firewall in Prevention mode (Application Gateway WAF) or API Management in front filters "
            "injection and protocol attacks before they reach pods. The control applies when the template "
            "enables a managed ingress: the application gateway ingress controller (its gateway is joined by id "
            "and must run WAF in Prevention mode), the application routing add-on with a public ingress "
            "controller, or HTTP application routing; for the latter two, a WAF gateway or API Management "
            "instance must be declared alongside the cluster. Unknown when the gateway is not among the inputs."),
        remediation=(
            "Point the ingressApplicationGateway add-on at a WAF_v2 gateway with a WAF policy in Prevention mode "
            "(az aks enable-addons --addons ingress-appgw --appgw-id <id>); or set "
            "properties.ingressProfile.webAppRouting.nginx.defaultIngressControllerType to Internal and publish "
            "through an Application Gateway WAF or API Management (az aks approuting update --nginx Internal)."),
        references=("https://learn.microsoft.com/azure/architecture/reference-architectures/containers/aks/baseline-aks",
                    "https://learn.microsoft.com/azure/aks/app-routing-nginx-configuration"),
        mappings=Mappings(nist=("SC-7", "SI-4")),
        applicability={"anyOf": [
            {"field": f"{MC}/addonProfiles.ingressApplicationGateway.enabled", "equals": True},
            {"field": f"{MC}/ingressProfile.webAppRouting.enabled", "equals": True},
            {"field": f"{MC}/addonProfiles.httpApplicationRouting.enabled", "equals": True},
        ]},
        applicability_text=("the template enables no managed ingress add-on; ingress controllers installed in the "
                            "cluster are not visible in ARM (application gateways are judged by AKS-068)"),
        check=check_public_ingress_protected,
        policy_gap=("Joins the cluster to other resources (its gateway, API Management); there is no alias for "
                    "addonProfiles.ingressApplicationGateway or httpApplicationRouting and no built-in."),
    ),
]

ADV = f"{MC}/networkProfile.advancedNetworking"
CILIUM = {"field": f"{MC}/networkProfile.networkDataplane", "equals": "cilium"}

CONTROLS += [
    Control(
        id="AKS-070",
        title="Pod traffic between nodes is encrypted in transit (WireGuard on Azure CNI powered by Cilium)",
        severity=Severity.MEDIUM,
        section="Encryption in transit",
        rationale=(
            "Pod-to-pod traffic between nodes crosses the virtual network in clear text unless the dataplane "
            "encrypts it; anyone who can read the network (a compromised node, a mirrored NIC, a peered network) "
            "sees it. On Azure CNI powered by Cilium, Advanced Container Networking Services encrypts traffic that "
            "leaves a node with WireGuard (transitEncryption.type WireGuard; the default is None; in preview in the "
            "AKS API). It applies only to the Cilium dataplane: on other dataplanes encryption in transit is "
            "decided in the cluster (Calico's FelixConfiguration wireguardEnabled, AKS-190)."),
        remediation=(
            "Set properties.networkProfile.advancedNetworking.enabled to true and "
            "properties.networkProfile.advancedNetworking.security.transitEncryption.type to WireGuard on a cluster "
            "with networkDataplane cilium (az aks update --enable-acns --acns-transit-encryption-type wireguard)."),
        references=("https://learn.microsoft.com/azure/aks/container-network-security-wireguard-encryption-concepts",
                    "https://docs.cilium.io/en/latest/security/network/encryption-wireguard/"),
        mappings=Mappings(nist=("SC-8", "SC-8(1)")),
        applicability=CILIUM,
        applicability_text=("the network dataplane is not Azure CNI powered by Cilium: encryption between nodes is "
                            "then configured in the cluster (Calico's FelixConfiguration wireguardEnabled, AKS-190)"),
        rule={"field": f"{ADV}.security.transitEncryption.type", "equals": "WireGuard"},
        policy_gap=("No alias for networkProfile.advancedNetworking.security.transitEncryption.type (the alias "
                    "catalog has only the transitEncryption object); no built-in covers it."),
    ),
    Control(
        id="AKS-071",
        title="Pod egress is restricted by FQDN or layer-7 network policies (Advanced Container Networking)",
        severity=Severity.MEDIUM,
        section="Egress control",
        rationale=(
            "Layer-3/4 network policies allow egress to IP ranges, which for cloud services change and are shared "
            "by many tenants. On Azure CNI powered by Cilium, Advanced Container Networking Services' security "
            "features let CiliumNetworkPolicies allow egress by DNS name (FQDN) or at layer 7 (HTTP, Kafka): the "
            "managed way to restrict what pods can reach. advancedNetworkPolicies is FQDN by default once "
            "advancedNetworking.security.enabled is true; None turns the policies off. The earlier preview shape "
            "security.fqdnPolicy.enabled counts too. Only the Cilium dataplane has them."),
        remediation=(
            "Set properties.networkProfile.advancedNetworking.enabled and "
            "properties.networkProfile.advancedNetworking.security.enabled to true, with advancedNetworkPolicies "
            "FQDN or L7 (az aks update --enable-acns --acns-advanced-networkpolicies FQDN), then write "
            "CiliumNetworkPolicies with toFQDNs egress rules."),
        references=("https://learn.microsoft.com/azure/aks/container-network-security-fqdn-filtering-concepts",
                    "https://learn.microsoft.com/azure/aks/advanced-container-networking-services-overview"),
        mappings=Mappings(nist=("SC-7", "SC-7(5)")),
        applicability=CILIUM,
        applicability_text=("the network dataplane is not Azure CNI powered by Cilium: FQDN and layer-7 policies of "
                            "Advanced Container Networking Services need it (egress is judged by AKS-026)"),
        rule={"allOf": [
            {"field": f"{ADV}.enabled", "equals": True},
            {"anyOf": [
                {"allOf": [{"field": f"{ADV}.security.enabled", "equals": True},
                           {"field": f"{ADV}.security.advancedNetworkPolicies", "in": ["FQDN", "L7"]}]},
                {"field": f"{ADV}.security.fqdnPolicy.enabled", "equals": True},
            ]},
        ]},
    ),
]
