"""The Kubernetes kinds the in-cluster controls read, and how each is listed and selected on.

``COLLECTED`` is the collector's whole reading list (cluster-controls.md section 5): get/list only,
never Secrets; custom resources (Cilium's policies) where their API group is served. ``deploy/scanner-rbac.yaml`` grants exactly these (a test keeps the two in step).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class KindSpec:
    kind: str
    plural: str
    group: str  # "" for the core group
    version: str
    namespaced: bool
    api: str  # kubernetes.client API class
    method: str  # its cluster-wide list method
    why: str  # what the controls use it for
    custom: bool = False  # a custom resource: listed through CustomObjectsApi when its API group is served

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def path(self) -> str:
        """The cluster-wide list path, as the client requests it."""
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        return f"{base}/{self.plural}"


COLLECTED: tuple[KindSpec, ...] = (
    KindSpec("Namespace", "namespaces", "", "v1", False, "CoreV1Api", "list_namespace",
             "Pod Security Admission labels, network policies per namespace, exclusions"),
    KindSpec("Pod", "pods", "", "v1", True, "CoreV1Api", "list_pod_for_all_namespaces",
             "Pod Security Standards and workload controls on what actually runs"),
    KindSpec("ServiceAccount", "serviceaccounts", "", "v1", True, "CoreV1Api",
             "list_service_account_for_all_namespaces", "token automount, default service accounts"),
    KindSpec("Service", "services", "", "v1", True, "CoreV1Api", "list_service_for_all_namespaces",
             "internal load balancers, default namespace"),
    KindSpec("Node", "nodes", "", "v1", False, "CoreV1Api", "list_node",
             "the kubelet controls (one result per node, grouped by node pool), inventory and versions"),
    KindSpec("ReplicationController", "replicationcontrollers", "", "v1", True, "CoreV1Api",
             "list_replication_controller_for_all_namespaces", "pod templates"),
    KindSpec("PodTemplate", "podtemplates", "", "v1", True, "CoreV1Api", "list_pod_template_for_all_namespaces",
             "pod templates (Pod Security Admission checks them too)"),
    KindSpec("Deployment", "deployments", "apps", "v1", True, "AppsV1Api", "list_deployment_for_all_namespaces",
             "pod templates"),
    KindSpec("StatefulSet", "statefulsets", "apps", "v1", True, "AppsV1Api",
             "list_stateful_set_for_all_namespaces", "pod templates"),
    KindSpec("DaemonSet", "daemonsets", "apps", "v1", True, "AppsV1Api", "list_daemon_set_for_all_namespaces",
             "pod templates"),
    KindSpec("ReplicaSet", "replicasets", "apps", "v1", True, "AppsV1Api", "list_replica_set_for_all_namespaces",
             "pod templates"),
    KindSpec("Job", "jobs", "batch", "v1", True, "BatchV1Api", "list_job_for_all_namespaces", "pod templates"),
    KindSpec("CronJob", "cronjobs", "batch", "v1", True, "BatchV1Api", "list_cron_job_for_all_namespaces",
             "pod templates"),
    KindSpec("NetworkPolicy", "networkpolicies", "networking.k8s.io", "v1", True, "NetworkingV1Api",
             "list_network_policy_for_all_namespaces", "network policy per namespace, default deny, egress"),
    KindSpec("Ingress", "ingresses", "networking.k8s.io", "v1", True, "NetworkingV1Api",
             "list_ingress_for_all_namespaces", "TLS and HTTPS-only ingress"),
    KindSpec("Role", "roles", "rbac.authorization.k8s.io", "v1", True, "RbacAuthorizationV1Api",
             "list_role_for_all_namespaces", "RBAC: what a RoleBinding grants"),
    KindSpec("RoleBinding", "rolebindings", "rbac.authorization.k8s.io", "v1", True, "RbacAuthorizationV1Api",
             "list_role_binding_for_all_namespaces", "RBAC: who is granted what"),
    KindSpec("ClusterRole", "clusterroles", "rbac.authorization.k8s.io", "v1", False, "RbacAuthorizationV1Api",
             "list_cluster_role", "RBAC: what a binding grants"),
    KindSpec("ClusterRoleBinding", "clusterrolebindings", "rbac.authorization.k8s.io", "v1", False,
             "RbacAuthorizationV1Api", "list_cluster_role_binding", "RBAC: who is granted what"),
    KindSpec("ValidatingWebhookConfiguration", "validatingwebhookconfigurations", "admissionregistration.k8s.io",
             "v1", False, "AdmissionregistrationV1Api", "list_validating_webhook_configuration",
             "policy engine (Azure Policy / Gatekeeper) present"),
    KindSpec("MutatingWebhookConfiguration", "mutatingwebhookconfigurations", "admissionregistration.k8s.io",
             "v1", False, "AdmissionregistrationV1Api", "list_mutating_webhook_configuration",
             "policy engine present (evidence)"),
    # Azure CNI powered by Cilium: the network policies are Cilium's. Listed only where the API group is served
    # (API discovery, which also gives each kind's scope); a cluster without Cilium has none.
    KindSpec("CiliumNetworkPolicy", "ciliumnetworkpolicies", "cilium.io", "v2", True, "CustomObjectsApi",
             "list_cluster_custom_object", "Cilium network policies per namespace (Azure CNI powered by Cilium)",
             custom=True),
    KindSpec("CiliumClusterwideNetworkPolicy", "ciliumclusterwidenetworkpolicies", "cilium.io", "v2", False,
             "CustomObjectsApi", "list_cluster_custom_object",
             "Cilium cluster-wide network policies (default deny, egress, metadata endpoint)", custom=True),
    # Exposure through the Gateway API and Istio ingress gateways (AKS-171); listed where served.
    *(KindSpec(kind, plural, "gateway.networking.k8s.io", version, True, "CustomObjectsApi",
               "list_cluster_custom_object", "routes from Gateways to Services (exposure)", custom=True)
      for kind, plural, version in (("HTTPRoute", "httproutes", "v1"), ("GRPCRoute", "grpcroutes", "v1"),
                                    ("TLSRoute", "tlsroutes", "v1alpha2"), ("TCPRoute", "tcproutes", "v1alpha2"),
                                    ("UDPRoute", "udproutes", "v1alpha2"))),
    KindSpec("VirtualService", "virtualservices", "networking.istio.io", "v1", True, "CustomObjectsApi",
             "list_cluster_custom_object", "Istio routes from ingress gateways to Services (exposure)", custom=True),
)

# The kubelet's running configuration, one object per node, read (when the collector may ``get`` the
# ``nodes/proxy`` subresource: opt-in, deploy/scanner-rbac-kubelet-config.yaml) from
# ``/api/v1/nodes/{name}/proxy/configz`` and kept in the snapshot as
# ``{"apiVersion": KUBELET_CONFIGZ_API, "kind": KUBELET_CONFIGZ, "metadata": {"name": node}, "kubeletconfig": {...}}``.
KUBELET_CONFIGZ = "KubeletConfigz"
KUBELET_CONFIGZ_GROUP = "aks-compliance.io"
KUBELET_CONFIGZ_API = f"{KUBELET_CONFIGZ_GROUP}/v1"
KUBELET_CONFIGZ_PATH = "/api/v1/nodes/{name}/proxy/configz"

BY_KIND: dict[str, KindSpec] = {k.kind: k for k in COLLECTED}
BY_PLURAL: dict[str, KindSpec] = {k.plural: k for k in COLLECTED}
BUILTIN_CLUSTER_SCOPED: frozenset[str] = frozenset(k.kind for k in COLLECTED if not k.namespaced and not k.custom) | \
    frozenset({"PersistentVolume", "StorageClass", "CustomResourceDefinition", "PriorityClass", "IngressClass",
               "APIService", "CSIDriver", "RuntimeClass", "ValidatingAdmissionPolicy",
               "ValidatingAdmissionPolicyBinding", "CertificateSigningRequest", "PodSecurityPolicy", "FlowSchema",
               "PriorityLevelConfiguration", "VolumeAttachment", "CSINode", "ComponentStatus", "ServiceCIDR",
               "IPAddress", "DeviceClass", "ResourceSlice", "VolumeAttributesClass", "StorageVersionMigration",
               "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding", "ClusterTrustBundle"})

# Well-known custom resource groups and their cluster-scoped kinds (None: every kind of the group; the group's
# other kinds are namespaced). A manifest does not say whether a custom kind is namespaced (its
# CustomResourceDefinition does, and a live cluster's API discovery): these are placed in no namespace; a custom object of a kind not listed here and without metadata.namespace has
# an unknown scope, so it creates no namespace (it is listed in the coverage ledger instead).
CLUSTER_SCOPED_CUSTOM: dict[str, frozenset[str] | None] = {
    "cert-manager.io": frozenset({"ClusterIssuer"}),
    "cilium.io": frozenset({"CiliumClusterwideNetworkPolicy", "CiliumClusterwideEnvoyConfig", "CiliumNode",
                            "CiliumIdentity", "CiliumExternalWorkload", "CiliumLoadBalancerIPPool",
                            "CiliumBGPPeeringPolicy", "CiliumCIDRGroup", "CiliumBGPClusterConfig",
                            "CiliumBGPPeerConfig", "CiliumBGPAdvertisement", "CiliumL2AnnouncementPolicy"}),
    "templates.gatekeeper.sh": frozenset({"ConstraintTemplate"}),
    "constraints.gatekeeper.sh": None,  # every Gatekeeper constraint kind
    "mutations.gatekeeper.sh": frozenset({"Assign", "AssignMetadata", "ModifySet", "AssignImage"}),
    "expansion.gatekeeper.sh": frozenset({"ExpansionTemplate"}),
    "kyverno.io": frozenset({"ClusterPolicy", "ClusterCleanupPolicy", "ClusterPolicyReport",
                             "ClusterBackgroundScanReport", "ClusterAdmissionReport"}),
    "policies.kyverno.io": frozenset({"ValidatingPolicy", "ImageValidatingPolicy", "MutatingPolicy",
                                      "GeneratingPolicy", "DeletingPolicy"}),
    "wgpolicyk8s.io": frozenset({"ClusterPolicyReport"}),
    "gateway.networking.k8s.io": frozenset({"GatewayClass"}),
    "policy.networking.k8s.io": frozenset({"AdminNetworkPolicy", "BaselineAdminNetworkPolicy"}),
    "snapshot.storage.k8s.io": frozenset({"VolumeSnapshotClass", "VolumeSnapshotContent"}),
    "crd.projectcalico.org": frozenset({"GlobalNetworkPolicy", "GlobalNetworkSet", "HostEndpoint", "IPPool",
                                        "FelixConfiguration", "BGPConfiguration", "BGPPeer", "ClusterInformation",
                                        "IPAMBlock", "BlockAffinity", "IPAMHandle", "IPAMConfig", "KubeControllersConfiguration",
                                        "IPReservation"}),
    "projectcalico.org": frozenset({"GlobalNetworkPolicy", "GlobalNetworkSet", "HostEndpoint", "IPPool",
                                    "FelixConfiguration", "BGPConfiguration", "BGPPeer", "ClusterInformation",
                                    "Tier", "IPReservation", "KubeControllersConfiguration"}),
    "karpenter.sh": frozenset({"NodePool", "NodeClaim"}),
    "karpenter.azure.com": frozenset({"AKSNodeClass"}),
    "aks-compliance.io": None,  # the collector's own records (a node's kubelet configuration): no namespace
    # groups whose kinds are all namespaced
    "secrets-store.csi.x-k8s.io": frozenset(),
    "networking.istio.io": frozenset(),
    "security.istio.io": frozenset(),
    "monitoring.coreos.com": frozenset(),
}
CUSTOM_CLUSTER_SCOPED_KINDS: frozenset[str] = frozenset(k for kinds in CLUSTER_SCOPED_CUSTOM.values() if kinds
                                                        for k in kinds)
# Kinds looked up without a namespace (K8sScope.get): built-in and well-known custom cluster-scoped kinds.
CLUSTER_SCOPED: frozenset[str] = BUILTIN_CLUSTER_SCOPED | CUSTOM_CLUSTER_SCOPED_KINDS

# Built-in kinds no control selects but that are Kubernetes' own (with those above): an object of any other
# kind is a custom resource or a misspelt kind, and the scan says so (a `kind: Deploymnet` must not pass
# every workload control by silence).
BUILTIN_KINDS: frozenset[str] = frozenset(k.kind for k in COLLECTED if not k.custom) | BUILTIN_CLUSTER_SCOPED | frozenset({
    "ConfigMap", "Secret", "PersistentVolumeClaim", "Endpoints", "EndpointSlice", "LimitRange", "ResourceQuota",
    "HorizontalPodAutoscaler", "PodDisruptionBudget", "Lease", "Event", "ControllerRevision", "PodTemplate",
    "Binding", "ComponentStatus", "CSINode", "CSIStorageCapacity", "VolumeAttachment", "FlowSchema",
    "PriorityLevelConfiguration", "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding",
    "ServiceCIDR", "IPAddress", "ResourceClaim", "ResourceClaimTemplate", "DeviceClass", "ResourceSlice",
    "VolumeAttributesClass", "StorageVersionMigration", "List"})
BUILTIN_NAMESPACED: frozenset[str] = BUILTIN_KINDS - BUILTIN_CLUSTER_SCOPED - {"List"}


# API versions Kubernetes no longer serves (kubernetes.io/docs/reference/using-api/deprecation-guide/), by kind: the
# release that removed each, and what replaces it (None: nothing does). The API server refuses such a manifest as
# written; where the replacement keeps the spec (a workload's pod template, RBAC rules), the object is still judged
# as the replacement would be, and the scan says so (targets.unserved_api_versions).
_REMOVED: tuple[tuple[str, str, tuple[str, ...], str | None], ...] = (
    ("1.16", "extensions/v1beta1", ("Deployment", "DaemonSet", "ReplicaSet"), "apps/v1"),
    ("1.16", "apps/v1beta1", ("Deployment", "StatefulSet", "ControllerRevision"), "apps/v1"),
    ("1.16", "apps/v1beta2", ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ControllerRevision"), "apps/v1"),
    ("1.16", "extensions/v1beta1", ("NetworkPolicy",), "networking.k8s.io/v1"),
    ("1.16", "extensions/v1beta1", ("PodSecurityPolicy",), None),
    ("1.22", "extensions/v1beta1", ("Ingress",), "networking.k8s.io/v1"),
    ("1.22", "networking.k8s.io/v1beta1", ("Ingress", "IngressClass"), "networking.k8s.io/v1"),
    ("1.22", "rbac.authorization.k8s.io/v1beta1", ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"),
     "rbac.authorization.k8s.io/v1"),
    ("1.22", "rbac.authorization.k8s.io/v1alpha1", ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"),
     "rbac.authorization.k8s.io/v1"),
    ("1.22", "admissionregistration.k8s.io/v1beta1",
     ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"), "admissionregistration.k8s.io/v1"),
    ("1.22", "apiextensions.k8s.io/v1beta1", ("CustomResourceDefinition",), "apiextensions.k8s.io/v1"),
    ("1.22", "certificates.k8s.io/v1beta1", ("CertificateSigningRequest",), "certificates.k8s.io/v1"),
    ("1.22", "coordination.k8s.io/v1beta1", ("Lease",), "coordination.k8s.io/v1"),
    ("1.25", "batch/v1beta1", ("CronJob",), "batch/v1"),
    ("1.25", "policy/v1beta1", ("PodDisruptionBudget",), "policy/v1"),
    ("1.25", "policy/v1beta1", ("PodSecurityPolicy",), None),
    ("1.25", "discovery.k8s.io/v1beta1", ("EndpointSlice",), "discovery.k8s.io/v1"),
    ("1.25", "events.k8s.io/v1beta1", ("Event",), "events.k8s.io/v1"),
    ("1.25", "autoscaling/v2beta1", ("HorizontalPodAutoscaler",), "autoscaling/v2"),
    ("1.25", "node.k8s.io/v1beta1", ("RuntimeClass",), "node.k8s.io/v1"),
    ("1.26", "autoscaling/v2beta2", ("HorizontalPodAutoscaler",), "autoscaling/v2"),
    ("1.27", "storage.k8s.io/v1beta1", ("CSIStorageCapacity",), "storage.k8s.io/v1"),
)
REMOVED_API_VERSIONS: dict[tuple[str, str], tuple[str, str | None]] = {
    (api, kind): (release, replacement) for release, api, kinds_, replacement in _REMOVED for kind in kinds_}


def api_group(api_version: object) -> str:
    """The API group of an apiVersion ('' for the core group)."""
    return api_version.rsplit("/", 1)[0] if isinstance(api_version, str) and "/" in api_version else ""


def scope_of_kind(api_version: object, kind: str) -> str | None:
    """'cluster' or 'namespaced' when known from the kind alone (built-ins by kind; well-known custom resources
    by API group), else None: a custom kind's scope is stated by its CustomResourceDefinition, not by its objects."""
    group = api_group(api_version)
    if group in CLUSTER_SCOPED_CUSTOM:
        listed = CLUSTER_SCOPED_CUSTOM[group]
        return "cluster" if listed is None or kind in listed else "namespaced"
    if kind in BUILTIN_CLUSTER_SCOPED:
        return "cluster"
    if kind in BUILTIN_NAMESPACED:
        return "namespaced"
    return None


# Route kinds of the Gateway API (gateway.networking.k8s.io) the exposure control reads.
GATEWAY_ROUTE_KINDS = ("HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute")

# Network policy kinds the network-policy controls read (NetworkPolicy is also a namespaced object target).
NETWORK_POLICY_KINDS = frozenset({"NetworkPolicy", "CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy"})

# Custom resource kinds a control reads (so their objects are not reported as unchecked).
READ_CUSTOM_KINDS: frozenset[str] = frozenset({"FelixConfiguration",  # Calico, AKS-190
                                              "KubeletConfigz"})  # a node's kubelet configuration, AKS-180..188

# Where each workload kind keeps its pod spec and pod metadata.
POD_PATHS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Pod": (("spec",), ("metadata",)),
    "Deployment": (("spec", "template", "spec"), ("spec", "template", "metadata")),
    "StatefulSet": (("spec", "template", "spec"), ("spec", "template", "metadata")),
    "DaemonSet": (("spec", "template", "spec"), ("spec", "template", "metadata")),
    "ReplicaSet": (("spec", "template", "spec"), ("spec", "template", "metadata")),
    "ReplicationController": (("spec", "template", "spec"), ("spec", "template", "metadata")),
    "Job": (("spec", "template", "spec"), ("spec", "template", "metadata")),
    "CronJob": (("spec", "jobTemplate", "spec", "template", "spec"),
                ("spec", "jobTemplate", "spec", "template", "metadata")),
    # core/v1 PodTemplate: its template has no spec wrapper. Pod Security Admission checks it like a controller
    # (pod-security-admission's default pod-spec resources include podtemplates).
    "PodTemplate": (("template", "spec"), ("template", "metadata")),
}
WORKLOAD_KINDS: frozenset[str] = frozenset(POD_PATHS)

# Target types controls select on (Target.match_type).
WORKLOAD = "k8s/workload"
NAMESPACE = "k8s/Namespace"
SERVICE_ACCOUNT = "k8s/ServiceAccount"
DEFAULT_SERVICE_ACCOUNT = "k8s/ServiceAccount:default"
SERVICE = "k8s/Service"
INGRESS = "k8s/Ingress"
ROLE = "k8s/Role"
CLUSTER_ROLE = "k8s/ClusterRole"
ROLE_BINDING = "k8s/RoleBinding"
CLUSTER_ROLE_BINDING = "k8s/ClusterRoleBinding"
CONFIG_MAP = "k8s/ConfigMap"
OBJECT = "k8s/object"  # any other object of a built-in namespaced kind (Secret, PVC, Lease ...)
CLUSTER = "k8s/cluster"
NODE = "k8s/Node"  # a Node, with its kubelet configuration when the snapshot holds it
KUBE_BENCH = "k8s/kube-bench"  # one node's kube-bench results (kubebench/)
# The label AKS puts on every node: the name of its node pool.
AGENT_POOL_LABELS = ("kubernetes.azure.com/agentpool", "agentpool")
# The target types of namespaced objects (the default-namespace control reads them all).
NAMESPACED_TYPES = (WORKLOAD, SERVICE_ACCOUNT, SERVICE, INGRESS, ROLE, ROLE_BINDING, CONFIG_MAP, OBJECT)
# Every target type the Kubernetes inputs (and kube-bench's) give: what an in-cluster control can select
TARGET_TYPES = (WORKLOAD, NAMESPACE, SERVICE_ACCOUNT, DEFAULT_SERVICE_ACCOUNT, SERVICE, INGRESS, ROLE, CLUSTER_ROLE,
                ROLE_BINDING, CLUSTER_ROLE_BINDING, CONFIG_MAP, OBJECT, CLUSTER, NODE, KUBE_BENCH)


def match_type(kind: str, name: str) -> str | None:
    """The target type an object of this kind is checked as, or None when no control selects it."""
    if kind in WORKLOAD_KINDS:
        return WORKLOAD
    if kind == "ServiceAccount":
        return DEFAULT_SERVICE_ACCOUNT if name == "default" else SERVICE_ACCOUNT
    if kind in ("Namespace", "Service", "Ingress", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding",
                "ConfigMap", "Node"):
        return f"k8s/{kind}"
    if kind in BUILTIN_NAMESPACED:
        return OBJECT
    return None


def match_types_of_kind(kind: str) -> tuple[str, ...]:
    """Every target type objects of ``kind`` can have (for placeholders of unreadable kinds)."""
    if kind == "ServiceAccount":
        return (SERVICE_ACCOUNT, DEFAULT_SERVICE_ACCOUNT)
    t = match_type(kind, "")
    return (t,) if t else ()


# --- Pod Security Admission namespace labels -----------------------------------------------------------------

PSA_ENFORCE = "pod-security.kubernetes.io/enforce"
PSA_ENFORCE_VERSION = "pod-security.kubernetes.io/enforce-version"
PSA_LEVELS = ("privileged", "baseline", "restricted")
# api.ParseVersion: "latest" or v1.<minor> (no leading zero); RE2 and Python syntax, without a backslash
PSA_VERSION = "latest|v1[.](0|[1-9][0-9]*)"


def psa_label_notes(body: Any) -> dict[str, str]:
    """What Pod Security Admission makes of enforce labels it cannot parse, by evidence path: it refuses them on a
    new namespace or a change, and where a namespace has one (labelled before PSA, or by a path PSA does not see)
    it enforces restricted for a bad level and the latest version for a bad version
    (k8s.io/pod-security-admission api.PolicyToEvaluate, ParseLevel, ParseVersion)."""
    labels = body.get("metadata") if isinstance(body, dict) else None
    labels = labels.get("labels") if isinstance(labels, dict) else None
    if not isinstance(labels, dict):
        return {}
    notes = {}
    level, version = labels.get(PSA_ENFORCE), labels.get(PSA_ENFORCE_VERSION)
    refused = "not a value Pod Security Admission accepts: it refuses it on a new namespace and, where a namespace has it,"
    if isinstance(level, str) and level not in PSA_LEVELS:
        notes[f"metadata.labels.{PSA_ENFORCE}"] = (f"{refused} enforces restricted (levels: {', '.join(PSA_LEVELS)}; "
                                                   "case-sensitive)")
    if isinstance(version, str) and not re.fullmatch(PSA_VERSION, version):
        notes[f"metadata.labels.{PSA_ENFORCE_VERSION}"] = (f"{refused} evaluates the latest version (versions: latest "
                                                           "or v1.<minor>)")
    return notes
