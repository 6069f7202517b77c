"""The Kubernetes kinds the in-cluster controls read, and how each is listed and selected on.

``COLLECTED`` is the collector's whole reading list (cluster-controls.md section 5): get/list only,
never Secrets. ``deploy/scanner-rbac.yaml`` grants exactly these (a test keeps the two in step).
"""

from __future__ import annotations

from dataclasses import dataclass


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
    KindSpec("Node", "nodes", "", "v1", False, "CoreV1Api", "list_node", "inventory and versions (evidence)"),
    KindSpec("ReplicationController", "replicationcontrollers", "", "v1", True, "CoreV1Api",
             "list_replication_controller_for_all_namespaces", "pod templates"),
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
)

BY_KIND: dict[str, KindSpec] = {k.kind: k for k in COLLECTED}
BY_PLURAL: dict[str, KindSpec] = {k.plural: k for k in COLLECTED}
CLUSTER_SCOPED: frozenset[str] = frozenset(k.kind for k in COLLECTED if not k.namespaced) | frozenset({
    "PersistentVolume", "StorageClass", "CustomResourceDefinition", "PriorityClass", "IngressClass",
    "APIService", "CSIDriver", "RuntimeClass", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
    "CertificateSigningRequest", "PodSecurityPolicy"})

# Built-in kinds no control selects but that are Kubernetes' own (with those above): an object of any other
# kind is a custom resource or a misspelt kind, and the scan says so (a `kind: Deploymnet` must not pass
# every workload control by silence).
BUILTIN_KINDS: frozenset[str] = frozenset(BY_KIND) | CLUSTER_SCOPED | frozenset({
    "ConfigMap", "Secret", "PersistentVolumeClaim", "Endpoints", "EndpointSlice", "LimitRange", "ResourceQuota",
    "HorizontalPodAutoscaler", "PodDisruptionBudget", "Lease", "Event", "ControllerRevision", "PodTemplate",
    "Binding", "ComponentStatus", "CSINode", "CSIStorageCapacity", "VolumeAttachment", "FlowSchema",
    "PriorityLevelConfiguration", "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding",
    "ServiceCIDR", "IPAddress", "ResourceClaim", "ResourceClaimTemplate", "DeviceClass", "ResourceSlice",
    "VolumeAttributesClass", "StorageVersionMigration", "List"})

# Custom resource kinds a control reads (so their objects are not reported as unchecked).
READ_CUSTOM_KINDS: frozenset[str] = frozenset({"FelixConfiguration"})  # Calico, AKS-190

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
CLUSTER = "k8s/cluster"


def match_type(kind: str, name: str) -> str | None:
    """The target type an object of this kind is checked as, or None when no control selects it."""
    if kind in WORKLOAD_KINDS:
        return WORKLOAD
    if kind == "ServiceAccount":
        return DEFAULT_SERVICE_ACCOUNT if name == "default" else SERVICE_ACCOUNT
    if kind in ("Namespace", "Service", "Ingress", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"):
        return f"k8s/{kind}"
    return None


def match_types_of_kind(kind: str) -> tuple[str, ...]:
    """Every target type objects of ``kind`` can have (for placeholders of unreadable kinds)."""
    if kind == "ServiceAccount":
        return (SERVICE_ACCOUNT, DEFAULT_SERVICE_ACCOUNT)
    t = match_type(kind, "")
    return (t,) if t else ()
