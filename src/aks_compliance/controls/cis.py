"""The CIS AKS Benchmark v1.8.0 recommendations: the one list the catalog document and the reports use.

Numbering and titles as kube-bench ``cfg/aks-1.8`` encodes them (``../shared/reference/cluster-controls.md``
section 1(a)); where they can be verified: A = an Azure resource property, K = Kubernetes API objects,
N = node files or the kubelet's configuration, M = process (manual), A/M = an Azure property an auditor
still has to judge. Leaf module: plain data.
"""

from __future__ import annotations

from dataclasses import dataclass

VERSION = "v1.8.0"


@dataclass(frozen=True)
class Recommendation:
    id: str
    title: str
    where: str  # A, K, N, M or A/M


WHERE = {"A": "Azure resource", "A/M": "Azure resource / manual", "K": "Kubernetes API", "N": "node", "M": "manual"}

# (section number, section name, its recommendations)
SECTIONS: list[tuple[str, str, list[Recommendation]]] = [
    ("2.1", "Logging", [Recommendation("2.1.1", "Enable audit Logs", "A")]),
    ("3.1", "Worker node configuration files", [
        Recommendation("3.1.1", "Ensure that the kubeconfig file permissions are set to 644 or more restrictive", "N"),
        Recommendation("3.1.2", "Ensure that the kubelet kubeconfig file ownership is set to root:root", "N"),
        Recommendation("3.1.3", "Ensure that the azure.json file has permissions set to 644 or more restrictive", "N"),
        Recommendation("3.1.4", "Ensure that the azure.json file ownership is set to root:root", "N"),
    ]),
    ("3.2", "Kubelet", [
        Recommendation("3.2.1", "Ensure that the --anonymous-auth argument is set to false", "N"),
        Recommendation("3.2.2", "Ensure that the --authorization-mode argument is not set to AlwaysAllow", "N"),
        Recommendation("3.2.3", "Ensure that the --client-ca-file argument is set as appropriate", "N"),
        Recommendation("3.2.4", "Ensure that the --read-only-port is secured", "N"),
        Recommendation("3.2.5", "Ensure that the --streaming-connection-idle-timeout argument is not set to 0", "N"),
        Recommendation("3.2.6", "Ensure that the --make-iptables-util-chains argument is set to true", "N"),
        Recommendation("3.2.7", "Ensure that the --eventRecordQPS argument is set to 0 or a level which ensures "
                                "appropriate event capture", "N"),
        Recommendation("3.2.8", "Ensure that the --rotate-certificates argument is not set to false", "N"),
        Recommendation("3.2.9", "Ensure that the RotateKubeletServerCertificate argument is set to true", "N"),
    ]),
    ("4.1", "RBAC and service accounts", [
        Recommendation("4.1.1", "Ensure that the cluster-admin role is only used where required", "K"),
        Recommendation("4.1.2", "Minimize access to secrets", "K"),
        Recommendation("4.1.3", "Minimize wildcard use in Roles and ClusterRoles", "K"),
        Recommendation("4.1.4", "Minimize access to create pods", "K"),
        Recommendation("4.1.5", "Ensure that default service accounts are not actively used", "K"),
        Recommendation("4.1.6", "Ensure that Service Account Tokens are only mounted where necessary", "K"),
        Recommendation("4.1.7", "Limit use of the Bind, Impersonate and Escalate permissions in the Kubernetes "
                                "cluster", "K"),
        Recommendation("4.1.8", "Minimize access to create Persistent Volumes", "K"),
        Recommendation("4.1.9", "Minimize access to the proxy sub-resource of Nodes", "K"),
        Recommendation("4.1.10", "Minimize access to the approval sub-resource of CertificateSigningRequests "
                                 "objects", "K"),
        Recommendation("4.1.11", "Minimize access to webhook configuration objects", "K"),
        Recommendation("4.1.12", "Minimize access to the service account token creation", "K"),
    ]),
    ("4.2", "Pod security", [
        Recommendation("4.2.1", "Minimize the admission of privileged containers", "K"),
        Recommendation("4.2.2", "Minimize the admission of containers wishing to share the host process ID "
                                "namespace", "K"),
        Recommendation("4.2.3", "Minimize the admission of containers wishing to share the host IPC namespace", "K"),
        Recommendation("4.2.4", "Minimize the admission of containers wishing to share the host network "
                                "namespace", "K"),
        Recommendation("4.2.5", "Minimize the admission of containers with allowPrivilegeEscalation", "K"),
    ]),
    ("4.4", "CNI plugin and network policies", [
        Recommendation("4.4.1", "Ensure latest CNI version is used", "M"),
        Recommendation("4.4.2", "Ensure that all Namespaces have Network Policies defined", "K"),
    ]),
    ("4.5", "Secrets management", [
        Recommendation("4.5.1", "Prefer using secrets as files over secrets as environment variables", "K"),
        Recommendation("4.5.2", "Consider external secret storage", "M"),
    ]),
    ("4.6", "General policies", [
        Recommendation("4.6.1", "Create administrative boundaries between resources using namespaces", "M"),
        Recommendation("4.6.2", "Apply Security Context to Your Pods and Containers", "K"),
        Recommendation("4.6.3", "The default namespace should not be used", "K"),
    ]),
    ("5.1", "Image registry and image scanning", [
        Recommendation("5.1.1", "Ensure Image Vulnerability Scanning using Microsoft Defender for Cloud (MDC) image "
                                "scanning or a third party provider", "A"),
        Recommendation("5.1.2", "Minimize user access to Azure Container Registry (ACR)", "A/M"),
        Recommendation("5.1.3", "Minimize cluster access to read-only for Azure Container Registry (ACR)", "A/M"),
        Recommendation("5.1.4", "Minimize Container Registries to only those approved", "K"),
    ]),
    ("5.2", "Access and identity options", [Recommendation("5.2.1", "Prefer using dedicated AKS Service Accounts", "M")]),
    ("5.3", "Key Management Service (KMS)", [Recommendation("5.3.1", "Ensure Kubernetes Secrets are encrypted", "A")]),
    ("5.4", "Cluster networking", [
        Recommendation("5.4.1", "Restrict Access to the Control Plane Endpoint", "A"),
        Recommendation("5.4.2", "Ensure clusters are created with Private Endpoint Enabled and Public Access "
                                "Disabled", "A"),
        Recommendation("5.4.3", "Ensure clusters are created with Private Nodes", "A"),
        Recommendation("5.4.4", "Ensure Network Policy is Enabled and set as appropriate", "A"),
        Recommendation("5.4.5", "Encrypt traffic to HTTPS load balancers with TLS certificates", "K"),
    ]),
    ("5.5", "Authentication and authorization", [
        Recommendation("5.5.1", "Manage Kubernetes RBAC users with Azure AD", "A"),
        Recommendation("5.5.2", "Use Azure RBAC for Kubernetes Authorization", "A"),
    ]),
]

RECOMMENDATIONS: tuple[Recommendation, ...] = tuple(r for _, _, recs in SECTIONS for r in recs)
BY_ID: dict[str, Recommendation] = {r.id: r for r in RECOMMENDATIONS}


def input_of(resource_type: str) -> str:
    """Which input a control of this target type reads (the CIS tables' "automated by" column)."""
    low = resource_type.lower()
    if low == "k8s/node":
        return "kubelet configuration (live snapshot, nodes/proxy)"
    if low == "k8s/kube-bench":
        return "kube-bench"
    if low.startswith("k8s/"):
        return "Kubernetes objects"
    return "ARM / live Azure"
