"""Worker nodes: CIS AKS v1.8.0 section 3 (node files and the kubelet), and 4.6.1 (namespaces as boundaries).

Two inputs see a node. The kubelet's running configuration, read through the API server
(``/api/v1/nodes/{name}/proxy/configz``, opt-in: ``nodes/proxy`` get) into a live snapshot, decides 3.2.1-3.2.9
on each Node (``k8s/kubelet.py`` says what each field means, absent ones included). kube-bench's results
(``--kube-bench``) decide 3.1.1-3.1.4, which no API shows (file modes and owners on the node), and 3.2.x again,
as kube-bench sees them (``kubebench/checks.py``); where both judged one node, the report shows them side by side.
Reports group nodes by their node pool (label ``kubernetes.azure.com/agentpool``).
"""

from __future__ import annotations

from typing import Any, Mapping

from ...arm.defaults import AKS_KUBELET_BY_CIS, SOURCES
from ...k8s import kinds
from ...k8s.checks import CLUSTER_WIDE, cite, k8s_control, object_of, scope_of, unknown
from ...k8s.kubelet import BY_CIS, CONFIGZ_SOURCE, TYPES_SOURCE, KubeletSetting, Malformed, is_absent, judge
from ...k8s.targets import parse_version
from ...kubebench.checks import verdict as kube_bench_verdict
from ...policy.conditions import MISSING, Leaf, Truth, Verdict
from ...targets import Target
from ..model import Control, Mappings, Parameter, Severity

KUBE_BENCH_DOCS = "https://github.com/aquasecurity/kube-bench/blob/main/docs/running.md"
KUBE_BENCH_CFG = "https://github.com/aquasecurity/kube-bench/tree/main/cfg/aks-1.8"
CONFIGZ_RBAC = "deploy/scanner-rbac-kubelet-config.yaml"


def _from_kube_bench(target: Target, cis: str) -> Verdict:
    run = target.context["kube_bench"]
    return kube_bench_verdict(run.checks_for(cis), cis, run.node)


# --- CIS 3.1: files on the node (kube-bench only) -------------------------------------------------------------

FILES = (
    ("3.1.1", "AKS-176", "The kubelet kubeconfig file is mode 644 or more restrictive",
     "The kubelet's kubeconfig (/var/lib/kubelet/kubeconfig on AKS) holds the credentials the kubelet uses against "
     "the API server; writable by others, it can be pointed at another server or its credentials swapped.",
     "chmod 644 /var/lib/kubelet/kubeconfig", "C-0238", Severity.MEDIUM, ("T1552.001",)),
    ("3.1.2", "AKS-177", "The kubelet kubeconfig file is owned by root:root",
     "Owned by another account, the kubelet's kubeconfig (its API credentials) can be changed by that account.",
     "chown root:root /var/lib/kubelet/kubeconfig", "C-0167", Severity.MEDIUM, ("T1552.001",)),
    ("3.1.3", "AKS-178", "The azure.json file is mode 644 or more restrictive",
     "/etc/kubernetes/azure.json holds the node's cloud provider configuration (and, on clusters with a service "
     "principal, its secret); writable by others, the node's Azure identity can be redirected.",
     "chmod 644 /etc/kubernetes/azure.json", "C-0235", Severity.HIGH, ("T1552.001",)),
    ("3.1.4", "AKS-179", "The azure.json file is owned by root:root",
     "Owned by another account, /etc/kubernetes/azure.json (cloud provider configuration and credentials) can be "
     "changed by that account.", "chown root:root /etc/kubernetes/azure.json", "C-0171", Severity.HIGH,
     ("T1552.001",)),
)


def _file_check(cis: str):
    def check(target: Target, params: Mapping[str, Any]) -> Verdict:
        return _from_kube_bench(target, cis)
    check.__name__ = f"kube_bench_{cis.replace('.', '_')}"
    check.__doc__ = f"kube-bench's check {cis} of the node (its status, audit command and output as evidence)."
    return check


CONTROLS = [
    k8s_control(
        id=cid, title=title, severity=severity, section="CIS 3.1",
        rationale=(f"{why} The Kubernetes API cannot see file modes or owners on a node: this control reads kube-bench's "
                   f"check {cis} (kube-bench run --benchmark aks-1.8 --json, one file per node, given to --kube-bench), "
                   "with kube-bench's audit command and output as evidence. Without kube-bench's output for a node, "
                   "CIS " + cis + " is not assessed for it. kube-bench's FAIL is failed, PASS passed; WARN and INFO are "
                   "unknown" + (". cfg/aks-1.8 audits the kubelet configuration file here instead of azure.json: "
                                "such a check is unknown, never read as a verdict on azure.json" if cis in
                                ("3.1.3", "3.1.4") else "") + "."),
        remediation=(f"On each node (kubectl debug node/<name> -it --image=mcr.microsoft.com/cbl-mariner/busybox:2.0, "
                     f"then chroot /host): {fix}. AKS recreates nodes from its image: a difference that persists "
                     "comes from a DaemonSet or extension changing the node; remove it."),
        references=(KUBE_BENCH_DOCS, KUBE_BENCH_CFG),
        mappings=Mappings(cis_aks=(cis,), kubescape=(ks,), nist=("AC-3", "CM-6"), mitre=mitre),
        types=kinds.KUBE_BENCH, check=_file_check(cis), exclusions=CLUSTER_WIDE,
        policy_gap=("A file on the node, read by kube-bench and judged in Python: no API object holds it, so no "
                    "Azure Policy definition can be generated. No Azure Policy for Kubernetes built-in covers it."))
    for cis, cid, title, why, fix, ks, severity, mitre in FILES
]


# --- CIS 3.2: the kubelet's running configuration (configz) and kube-bench -------------------------------------

def _kubelet_version(target: Target) -> tuple[int, int] | None:
    status = target.body.get("status")
    info = status.get("nodeInfo") if isinstance(status, dict) else None
    return parse_version(info.get("kubeletVersion")) if isinstance(info, dict) else None


def _aks_statement(cis: str) -> str:
    row = AKS_KUBELET_BY_CIS.get(cis)
    return f"{row.fact} ({SOURCES[row.source]})" if row else ""


def _missing_configz(target: Target, setting: KubeletSetting) -> str:
    """Why this node's kubelet configuration is not known."""
    scope = scope_of(target)
    node = object_of(target).name
    aks = _aks_statement(setting.cis)
    tail = (f"; AKS's own statement ({aks}) is not a reading of this node" if aks else "") + \
        "; never counted as passed"
    if not scope.is_snapshot:
        return f"node {node}: manifests hold no kubelet configuration (collect a live snapshot){tail}"
    gap = scope.gap(kinds.KUBELET_CONFIGZ)
    if gap:
        return f"node {node}: its kubelet configuration could not be read: {gap}{tail}"
    record = (scope.meta.get("lists") or {}).get(kinds.KUBELET_CONFIGZ) or {}
    failed = record.get("failed_nodes") if isinstance(record.get("failed_nodes"), dict) else {}
    if node in failed:
        return f"node {node}: its kubelet configuration could not be read: {failed[node]}{tail}"
    return (f"node {node}: the snapshot holds no kubelet configuration for it (the node was not among those whose "
            f"configz was read){tail}")


def _from_configz(target: Target, setting: KubeletSetting, params: Mapping[str, Any]) -> Verdict:
    configz = target.context.get("configz")
    if configz is None:
        return unknown(_missing_configz(target, setting))
    node = object_of(target).name
    prefix = cite(target, configz.resource, "configz")
    config = configz.body.get("kubeletconfig")
    if not isinstance(config, dict):
        return Verdict(Truth.ERROR, [f"node {node}: the configz record at {configz.resource.source.file}:"
                                     f"{configz.resource.source.line} has no kubeletconfig object"], [])
    path = f"{prefix}.kubeletconfig.{setting.dotted}"
    try:
        j = judge(setting, config, params, _kubelet_version(target))
    except Malformed as exc:
        file, line = target.resource.location_of(path)
        return Verdict(Truth.ERROR, [f"node {node}: malformed kubelet configuration at {file}:{line}: {exc}"], [])
    actual = MISSING if is_absent(j.actual) else j.actual
    if j.note:
        target.resource.value_notes[path] = j.note
    if j.ok is None:
        return Verdict(Truth.UNKNOWN, [f"node {node}: {j.reason}"], [Leaf(path, "equals", j.expected, actual,
                                                                         Truth.UNKNOWN)])
    truth = Truth.TRUE if j.ok else Truth.FALSE
    leaves = [Leaf(path, "is", j.expected, actual, truth)]
    aks = _aks_statement(setting.cis)
    if not j.ok and aks:  # AKS sets a compliant value: this node's kubelet was changed after AKS configured it
        leaves.append(Leaf(f"{setting.flag} (AKS default)", "AKS states", "compliant", aks, truth))
    return Verdict(truth, [], leaves)


def _kubelet_check(setting: KubeletSetting):
    def check(target: Target, params: Mapping[str, Any]) -> Verdict:
        if target.type.lower() == kinds.KUBE_BENCH:
            return _from_kube_bench(target, setting.cis)
        return _from_configz(target, setting, params)
    check.__name__ = f"kubelet_{setting.cis.replace('.', '_')}"
    check.__doc__ = (f"{setting.dotted} of the node's kubelet configuration (configz), or kube-bench's check "
                     f"{setting.cis} of the node.")
    return check


VIRTUAL_KUBELET = "virtual-kubelet"


def _virtual_node(target: Target, params: Mapping[str, Any]) -> str | None:
    """AKS virtual nodes (ACI) are virtual-kubelet: no kubelet and no kubelet configuration to secure."""
    if target.type.lower() != kinds.NODE.lower():
        return None
    labels = (target.body.get("metadata") or {}).get("labels") or {}
    if isinstance(labels, dict) and labels.get("type") == VIRTUAL_KUBELET:
        return (f"node {target.resource.display_name()} is a virtual node (label type={VIRTUAL_KUBELET}: Azure "
                "Container Instances): no kubelet runs, so CIS 3.2 has nothing to check on it")
    return None


KUBELET = (
    ("3.2.1", "The kubelet rejects anonymous requests", Severity.HIGH, "C-0172", ("T1609",),
     "Requests to the kubelet API (port 10250: exec, logs, pod listing) that no authenticator rejects are served "
     "as system:anonymous when anonymous authentication is on.",
     "authentication.anonymous.enabled: false (--anonymous-auth=false)"),
    ("3.2.2", "The kubelet does not authorise every request (authorization mode not AlwaysAllow)", Severity.HIGH,
     "C-0173", ("T1609",),
     "With authorization mode AlwaysAllow every authenticated caller may exec into any pod on the node through the "
     "kubelet API; Webhook asks the API server (SubjectAccessReview).",
     "authorization.mode: Webhook (--authorization-mode=Webhook)"),
    ("3.2.3", "The kubelet authenticates clients with a client CA", Severity.HIGH, "C-0174", ("T1557",),
     "Without a client CA file the kubelet cannot verify client certificates, so certificate authentication of the "
     "API server and of other clients is off.",
     "authentication.x509.clientCAFile: /etc/kubernetes/certs/ca.crt (--client-ca-file)"),
    ("3.2.4", "The kubelet's read-only port is disabled", Severity.MEDIUM, "C-0175", ("T1613",),
     "The read-only port (10255) serves pods, node specifications and metrics with no authentication at all.",
     "readOnlyPort: 0 (--read-only-port=0)"),
    ("3.2.5", "The kubelet closes idle streaming connections", Severity.LOW, "C-0176", ("T1609",),
     "streamingConnectionIdleTimeout 0 keeps idle exec, attach and port-forward streams open forever (newer "
     "kubelets document the field as having no effect; CIS still asks for it).",
     "streamingConnectionIdleTimeout: 4h (--streaming-connection-idle-timeout=4h)"),
    ("3.2.6", "The kubelet manages its iptables utility chains", Severity.LOW, "C-0178", ("T1562.004",),
     "makeIPTablesUtilChains keeps the kubelet's iptables chains in place, so the node's packet filtering matches "
     "what Kubernetes expects.", "makeIPTablesUtilChains: true (--make-iptables-util-chains=true)"),
    ("3.2.7", "The kubelet records events at a rate that captures them", Severity.LOW, "C-0180", ("T1562.006",),
     "eventRecordQPS limits the events the kubelet creates per second: set low, events investigations rely on are "
     "dropped; 0 is no limit. CIS asks for 0 or a level that ensures appropriate event capture (parameter "
     "minimumEventRecordQPS; kube-bench accepts only 0, so the two can disagree on the kubelet's default of 50).",
     "eventRecordQPS: 0, or at least minimumEventRecordQPS"),
    ("3.2.8", "The kubelet rotates its client certificate", Severity.MEDIUM, "C-0182", ("T1552.004",),
     "Without rotateCertificates the kubelet keeps its client certificate until it expires, and a stolen one stays "
     "valid as long (an absent value is false: the kubelet omits it when it is false).",
     "rotateCertificates: true (--rotate-certificates=true)"),
    ("3.2.9", "The kubelet's serving certificate rotation feature is enabled", Severity.MEDIUM, "C-0183", ("T1557",),
     "The RotateKubeletServerCertificate feature gate lets the kubelet request and renew its serving certificate "
     "from the API server instead of a long-lived self-signed one (an absent gate is its default: on since 1.12).",
     "featureGates: RotateKubeletServerCertificate: true (--feature-gates=RotateKubeletServerCertificate=true)"),
)

CONTROLS += [
    k8s_control(
        id=f"AKS-{180 + i}", title=title, severity=severity, section="CIS 3.2",
        rationale=(
            f"{why} Read from the node's running kubelet configuration ({BY_CIS[cis].dotted}), which a live snapshot "
            f"holds when the collector may get nodes/proxy ({CONFIGZ_RBAC}: opt-in, as CIS 4.1.9 asks to minimise "
            "that permission); without it every node is unknown with that reason, never passed. The configuration is "
            "the kubelet's effective one (flags and file merged); a field the kubelet omits when empty is read as "
            "its empty value. kube-bench's check " + cis + " of a node (--kube-bench) is judged too, and shown beside "
            "ours. AKS virtual nodes run no kubelet and are not applicable. "
            + (f"AKS's default: {_aks_statement(cis)}." if _aks_statement(cis) else "")),
        remediation=(
            f"The kubelet should run with {fix}. AKS sets this on every node and the AKS API cannot change it: a node "
            "that differs was changed after provisioning (a DaemonSet or extension rewriting "
            "/etc/default/kubelet or the kubelet configuration file): remove that change and reimage the node pool "
            "(az aks nodepool upgrade --node-image-only)."),
        references=(TYPES_SOURCE, CONFIGZ_SOURCE, KUBE_BENCH_CFG, SOURCES["learn-cis-kubernetes"]),
        mappings=Mappings(cis_aks=(cis,), kubescape=(ks,), nist=("CM-6", "AC-3"), mitre=mitre),
        types=(kinds.NODE, kinds.KUBE_BENCH), check=_kubelet_check(BY_CIS[cis]), applies=_virtual_node,
        exclusions=CLUSTER_WIDE,
        parameters=((Parameter("minimumEventRecordQPS", 5, "Smallest eventRecordQPS accepted besides 0 (no limit); "
                               "5 is kube-bench's example of an appropriate level.", type="Integer",
                               schema={"minimum": 1}),) if cis == "3.2.7" else ()),
        policy_gap=("The kubelet's running configuration is read from the node through the API server and judged "
                    "in Python: no Azure Policy mode sees it. No Azure Policy for Kubernetes built-in covers it."))
    for i, (cis, title, severity, ks, mitre, why, fix) in enumerate(KUBELET)
]


# --- CIS 4.6.1: namespaces as administrative boundaries (manual) ---------------------------------------------

CONTROLS += [
    Control(
        id="AKS-189", title="Namespaces are the administrative boundaries between teams and workloads",
        severity=Severity.LOW, section="CIS 4.6", resource_type=kinds.CLUSTER,
        rationale=(
            "CIS 4.6.1 asks that resources be separated into namespaces along administrative boundaries, so RBAC, "
            "network policies, quotas and Pod Security Admission can be applied per team or application. Whether "
            "the namespaces of a cluster follow the organisation's boundaries is a judgement no object states: an "
            "auditor decides, and records it as an attestation. The automated controls that rely on the boundaries "
            "are the per-namespace ones (network policies, Pod Security Admission labels, the default namespace)."),
        remediation=(
            "Audit: list the namespaces and what runs in each (kubectl get namespaces --show-labels; kubectl get "
            "pods -A -o wide), and check that each team or application has its own namespaces, with RoleBindings "
            "scoped to them rather than ClusterRoleBindings (az aks command invoke can run kubectl on a private "
            "cluster). Record the result as an attestation."),
        references=("https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces/",
                    "https://learn.microsoft.com/azure/aks/operator-best-practices-cluster-isolation"),
        mappings=Mappings(cis_aks=("4.6.1",), kubescape=("C-0209",), nist=("AC-4", "SC-2"), mitre=("T1078",)),
        policy_gap=("Manual: no object states whether namespaces follow administrative boundaries. No Azure Policy "
                    "for Kubernetes built-in covers it."),
        tags=("exclusions:cluster-wide",),
    ),
]
