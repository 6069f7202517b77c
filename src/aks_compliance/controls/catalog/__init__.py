"""The control declarations, grouped by topic. Each module exports ``CONTROLS``."""

from . import access, governance, logging, network, node_config, node_pools, upgrades
from . import container_registry, defender, keyvault, secrets, waf

MODULES = (access, network, node_pools, upgrades, governance, logging)
MODULES += (secrets, defender, container_registry, keyvault, waf, node_config)

# In-cluster (Kubernetes object) controls, AKS-100..199
from . import k8s_cluster, k8s_egress, k8s_exposure, k8s_host_access, k8s_ingress_nginx, k8s_network, k8s_nodes
from . import k8s_pod_security, k8s_rbac, k8s_workload_rbac, k8s_workloads

MODULES += (k8s_pod_security, k8s_host_access, k8s_workloads, k8s_rbac, k8s_workload_rbac, k8s_network, k8s_egress,
            k8s_exposure, k8s_ingress_nginx, k8s_cluster, k8s_nodes)
