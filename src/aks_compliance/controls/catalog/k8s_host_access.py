"""What a pod can take from its node beyond the Pod Security Standards: the node's cloud credentials and the
container runtime socket through hostPath volumes, writable hostPath mounts, and capabilities on an
organisation's deny-list (kubescape's ``insecureCapabilities`` input).

These are narrower than AKS-105 (no hostPath at all) and AKS-106 (baseline capabilities), for teams that
must allow some hostPath volumes or capabilities and want the dangerous ones found.
"""

from __future__ import annotations

import posixpath
from typing import Any, Mapping

from ...k8s import kinds
from ...k8s.checks import (BEYOND_RULES, CONTAINER_SCOPE, WORKLOAD_ADMISSION, Findings, gap_text, k8s_control)
from ...k8s.podspec import as_dict, as_list, pod_view
from ...policy.conditions import Verdict
from ...targets import Target
from ..model import Mappings, Parameter, Severity

W = kinds.WORKLOAD
SECTION = "Host access"

# AKS nodes: the cloud provider configuration with the cluster identity's credentials, the node's client
# certificates and the kubelet's kubeconfig, and the Azure agent's provisioning data.
CLOUD_CREDENTIAL_PATHS = ["/etc/kubernetes/azure.json", "/etc/kubernetes/certs", "/var/lib/kubelet/kubeconfig",
                          "/var/lib/waagent"]
RUNTIME_SOCKETS = ["/run/containerd/containerd.sock", "/var/run/containerd/containerd.sock", "/var/run/docker.sock",
                   "/run/docker.sock", "/var/run/crio/crio.sock", "/run/crio/crio.sock", "/var/run/cri-dockerd.sock",
                   "/run/cri-dockerd.sock"]
PATHS = BEYOND_RULES.format(what="paths compared after normalisation (., .., //) and by directory, a path above "
                                   "a sensitive one exposing it")
INSECURE_CAPABILITIES = ["SETPCAP", "NET_ADMIN", "NET_RAW", "SYS_MODULE", "SYS_RAWIO", "SYS_PTRACE", "SYS_ADMIN",
                         "SYS_BOOT", "MAC_OVERRIDE", "MAC_ADMIN", "PERFMON", "ALL", "BPF"]


def _norm(path: Any) -> str | None:
    if not isinstance(path, str) or not path.startswith("/"):
        return None
    return posixpath.normpath(path)


def exposes(host_path: str, sensitive: str) -> bool:
    """Whether mounting ``host_path`` exposes ``sensitive``: the same path, inside it, or a directory above it."""
    a, b = _norm(host_path), _norm(sensitive)
    if a is None or b is None:
        return False
    return a == b or a.startswith(b.rstrip("/") + "/") or b.startswith(a.rstrip("/") + "/") or a == "/"


def _host_path_check(param: str, what: str):
    def check(target: Target, params: Mapping[str, Any]) -> Verdict:
        sensitive = [p for p in params.get(param) or [] if isinstance(p, str)]
        v = pod_view(target)
        f = Findings()
        for path, vol in v.volumes():
            hp = as_dict(vol.get("hostPath"))
            if not hp:
                continue
            host = hp.get("path")
            hits = [s for s in sensitive if isinstance(host, str) and exposes(host, s)]
            f.check(not hits, f"{path}.hostPath.path", "exposes none of", sensitive,
                    f"{host} (exposes {', '.join(hits)})" if hits else host)
        if not (f.good or f.bad):
            f.ok(v.p("volumes"), "contains no", "hostPath volumes", "none")
        return f.verdict()

    check.__name__ = f"no_host_path_to_{what}"
    return check


def read_only_host_paths(target: Target, params: Mapping[str, Any]) -> Verdict:
    v = pod_view(target)
    host_volumes = {str(vol.get("name")): path for path, vol in v.volumes() if as_dict(vol.get("hostPath"))}
    f = Findings()
    for c in v.containers():
        for i, m in enumerate(as_list(c.body.get("volumeMounts"))):
            m = as_dict(m)
            if str(m.get("name")) not in host_volumes:
                continue
            ro = m.get("readOnly", False)
            f.check(ro is True, c.p(f"volumeMounts[{i}].readOnly"), "equals", True,
                    f"{ro} (hostPath volume {m.get('name')} at {m.get('mountPath')})")
    if not (f.good or f.bad):
        f.ok(v.p("volumes"), "contains no", "hostPath volume mounted by a container", sorted(host_volumes) or "none")
    return f.verdict()


def _cap(name: Any) -> str:
    text = str(name).upper()
    return text[4:] if text.startswith("CAP_") else text


def insecure_capabilities(target: Target, params: Mapping[str, Any]) -> Verdict:
    denied = {_cap(c) for c in params.get("insecureCapabilities") or []}
    f = Findings()
    for c in pod_view(target).containers():
        add = as_list(as_dict(c.sc.get("capabilities")).get("add"))
        bad = [a for a in add if _cap(a) in denied]
        f.check(not bad, c.p("securityContext.capabilities.add"), "contains none of", sorted(denied), add or "(none)")
    if not (f.good or f.bad):
        f.ok(pod_view(target).p("containers"), "contains no", "containers", "none")
    return f.verdict()


CONTROLS = [
    k8s_control(
        id="AKS-156", exclusions=WORKLOAD_ADMISSION,
        title="Pods do not mount the node's cloud credentials", severity=Severity.HIGH, section=SECTION,
        rationale=(
            "Every AKS node holds credentials to Azure and to the API server: /etc/kubernetes/azure.json (the cloud "
            "provider configuration with the cluster identity), the node's client certificates and the kubelet's "
            "kubeconfig. A hostPath volume on one of them, or on a directory above it (/etc/kubernetes, /etc, /), "
            "gives the pod the node's identity: a service principal or managed identity token for Azure, the node's "
            "rights in the cluster."),
        remediation=(
            "Remove the hostPath volume; give the workload its own Azure identity with Microsoft Entra Workload ID "
            "and its own service account."),
        references=("https://learn.microsoft.com/azure/aks/workload-identity-overview",),
        mappings=Mappings(kubescape=("C-0020",), mitre=("T1552.001", "T1552.005")),
        types=W, check=_host_path_check("cloudCredentialPaths", "cloud_credentials"), policy_gap=gap_text(PATHS),
        parameters=(Parameter("cloudCredentialPaths", CLOUD_CREDENTIAL_PATHS,
                              "Node paths holding credentials; a hostPath on one, inside one or on a directory above "
                              "one fails.", type="Array"),)),
    k8s_control(
        id="AKS-157", exclusions=WORKLOAD_ADMISSION,
        title="Pods do not mount the container runtime socket", severity=Severity.HIGH, section=SECTION,
        rationale=(
            "The container runtime's socket (containerd on AKS; Docker or CRI-O elsewhere) starts containers with "
            "any privilege on the node: whoever can write to it is root on the node and sees every container. A "
            "hostPath volume on the socket or a directory above it (/run, /var/run, /) hands it to the pod."),
        remediation="Remove the hostPath volume; build images in the pipeline or with a rootless builder.",
        mappings=Mappings(kubescape=("C-0074",), mitre=("T1611", "T1610")),
        types=W, check=_host_path_check("runtimeSockets", "runtime_socket"), policy_gap=gap_text(PATHS),
        parameters=(Parameter("runtimeSockets", RUNTIME_SOCKETS,
                              "Container runtime socket paths; a hostPath on one or a directory above one fails.",
                              type="Array"),)),
    k8s_control(
        id="AKS-158", exclusions=WORKLOAD_ADMISSION, tags=(CONTAINER_SCOPE,),
        title="hostPath volumes are mounted read-only", severity=Severity.HIGH, section=SECTION,
        rationale=(
            "A writable hostPath mount lets a container change the node: plant binaries or configuration the node "
            "runs, tamper with other pods' data, or write through a symlink outside the path. Where a hostPath "
            "volume is unavoidable (log collectors, node agents), every container mounting it should do so "
            "read-only."),
        remediation="Set readOnly: true on every volumeMounts entry of a hostPath volume, or remove the volume.",
        mappings=Mappings(kubescape=("C-0045",), azure_policy=("098fc59e-46c7-4d99-9b16-64990e543d75",),
                          mitre=("T1611",)),
        mapping_note=("Azure's built-in 098fc59e checks allowedHostPaths with their readOnly flag; the baseline "
                      "initiative allows no hostPath at all, which is AKS-105."),
        types=W, check=read_only_host_paths, policy_gap=gap_text(BEYOND_RULES.format(
            what="each container's volumeMounts joined with the pod's hostPath volumes by name"),
            "098fc59e-46c7-4d99-9b16-64990e543d75"),
       builtin_deviation=("098fc59e allows hostPath volumes only under listed path prefixes (none by default); this control allows any hostPath that every container mounts read-only.")),
    k8s_control(
        id="AKS-159", exclusions=WORKLOAD_ADMISSION, tags=(CONTAINER_SCOPE,),
        title="Containers add none of the insecure capabilities", severity=Severity.HIGH, section=SECTION,
        rationale=(
            "Some capabilities are each a route to the node or the network: SYS_ADMIN, SYS_MODULE, SYS_PTRACE, "
            "NET_ADMIN, NET_RAW, BPF ... This control checks capabilities.add of every container against a deny-list, "
            "kubescape's insecureCapabilities input (set it with --control-param or --control-config); a CAP_ prefix "
            "and the case of the name do not matter. AKS-106 checks the Pod Security Standards' allow-list instead."),
        remediation="Remove the listed capabilities from securityContext.capabilities.add.",
        mappings=Mappings(kubescape=("C-0046",), azure_policy=("c26596ff-4d70-4e6a-9a30-c2506bd2f80c",),
                          mitre=("T1611",)),
        types=W, check=insecure_capabilities, policy_gap=gap_text(BEYOND_RULES.format(
            what="capability names compared without case and CAP_ prefix on both sides (the parameter's too)"),
            "c26596ff-4d70-4e6a-9a30-c2506bd2f80c"),
        parameters=(Parameter("insecureCapabilities", INSECURE_CAPABILITIES,
                              "Capabilities a container may not add (kubescape's insecureCapabilities).",
                              type="Array"),),
       builtin_deviation=("c26596ff is an allow-list of capabilities (none by default, so NET_BIND_SERVICE fails it); this control forbids a deny-list, kubescape's insecureCapabilities. The built-in reads no ephemeral container.")),
]
