"""Pod Security Standards, both levels, on Pods and on every workload controller's pod template.

One control per check of ``kubernetes/pod-security-admission`` (cluster-controls.md section 2, rows
1-19), with that check's allowed values at each Kubernetes version: the parameter ``pssVersion``
selects the version (default: latest). Containers are ``containers``, ``initContainers`` and
``ephemeralContainers``; pod-level defaults apply where the spec allows them. Workloads are Pods,
Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs, CronJobs, ReplicationControllers and PodTemplates (the
pod spec is read from the right path per kind). Plus the namespace Pod Security Admission labels
(CIS 4.2.x remediation, not PodSecurityPolicy, which Kubernetes removed in 1.25).
"""

from __future__ import annotations

from typing import Any

from ...k8s import kinds
from ...k8s.kinds import PSA_ENFORCE, PSA_ENFORCE_VERSION, PSA_LEVELS, PSA_VERSION
from ...k8s.checks import CONTAINER_SCOPE, WORKLOAD_ADMISSION, k8s_control
from ...k8s.rules import KubeRule
from ..model import Mappings, Parameter, Severity

W = kinds.WORKLOAD
BASELINE = "Pod Security Standards: baseline"
RESTRICTED = "Pod Security Standards: restricted"
PSS_REF = "https://kubernetes.io/docs/concepts/security/pod-security-standards/"

CAPS_BASELINE = ("AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
                 "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT")
SYSCTLS = (
    ((1, 0), ("kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
              "net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start")),
    ((1, 27), ("net.ipv4.ip_local_reserved_ports",)),
    ((1, 29), ("net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
               "net.ipv4.tcp_keepalive_probes")),
    ((1, 32), ("net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem")),
    ((1, 37), ("net.ipv4.tcp_slow_start_after_idle", "net.ipv4.tcp_notsent_lowat")),
)
SELINUX_TYPES = ("", "container_t", "container_init_t", "container_kvm_t")
SELINUX_TYPES_1_31 = SELINUX_TYPES + ("container_engine_t",)
SECCOMP_TYPES = ("RuntimeDefault", "Localhost")
APPARMOR_TYPES = ("RuntimeDefault", "Localhost")
RESTRICTED_VOLUME_SOURCES = ("configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image",
                             "persistentVolumeClaim", "projected", "secret")
USERNS_RELAXED_SINCE = (1, 35)

# Why a control's verdict differs from its mapped built-in's template on some fixtures (tests/test_gatekeeper_policies.py).
EPHEMERAL_NOTE = ("Microsoft's template reads containers and initContainers only: an offending ephemeral container "
                  "(kubectl debug) passes it and fails here.")
SECCOMP_ANNOTATIONS_NOTE = ("The template in the reference set reads only the seccomp annotations (deprecated since "
                            "v1.19, ignored from v1.27), not securityContext.seccompProfile: a pod without the "
                            "annotation fails it whatever its profile.")
# The node-level sysctls a deny-list names to state the baseline's intent to 56d0a13f (which has no default).
UNSAFE_SYSCTLS = ["kernel.msg*", "kernel.sem", "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "vm.*", "fs.*",
                  "net.core.*"]

# Why some kubescape ids are not mapped although they look related (see Mappings in controls.md).
PSP_NOTE = ("kubescape's CIS-AKS 4.2.x controls (C-0213 to C-0219) audit PodSecurityPolicy objects, which Kubernetes "
            "removed in 1.25; this control checks the pods themselves, so those ids are not mapped.")
C0211_NOTE = ("kubescape C-0211 bundles eleven rules (fsGroup, fsGroupChangePolicy, supplementalGroups and "
              "seLinuxOptions set on every pod, NET_RAW dropped by name, a RuntimeDefault seccomp profile ...; one, "
              "set-systctls-params, reads a misspelt field and fails every workload): no single control checks what "
              "it checks, so it is not mapped.")
C0055_NOTE = ("kubescape C-0055 (Linux hardening) passes a container with any one of seccomp, AppArmor, SELinux or "
              "dropped capabilities; this control asks for its own setting, so C-0055 is not mapped.")


# -- the rules: one object rule per check, decided the same way in Python and in the generated Rego ----------

def _rule(*checks: dict[str, Any], exempt: tuple[dict[str, Any], ...] = (), derived: dict[str, Any] | None = None,
          kinds: Any = "workloads", applies: tuple[dict[str, Any], ...] = ()) -> KubeRule:
    spec: dict[str, Any] = {"kinds": kinds, "checks": list(checks)}
    if applies:
        spec["applies"] = list(applies)
    if exempt:
        spec["exempt"] = list(exempt)
    if derived:
        spec["derived"] = derived
    return KubeRule(spec)


def _absent_or(field: str, *alternatives: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [{"field": field, "exists": False}, *alternatives]}


def _in_range(field: Any) -> dict[str, Any]:
    return {"allOf": [{"field": field, "greaterOrEquals": {"param": "minimumGroupId"}},
                      {"field": field, "lessOrEquals": {"param": "maximumGroupId"}}]}


# From v1.35 a pod in a user namespace (spec.hostUsers: false) may run as root and set any procMount.
USERNS = {"allOf": [{"field": "$pod.hostUsers", "equals": False},
                    {"field": "$pssVersion", "greaterOrEquals": USERNS_RELAXED_SINCE[0] * 1000 + USERNS_RELAXED_SINCE[1]}]}
PROC_MOUNT_DEFAULT = _absent_or("securityContext.procMount", {"field": "securityContext.procMount", "equals": "Default"})


def _seccomp_ok(prefix: str) -> dict[str, Any]:
    return _absent_or(f"{prefix}seccompProfile", {"field": f"{prefix}seccompProfile.type", "in": list(SECCOMP_TYPES)})


def _annotation_ok(key: str) -> dict[str, Any]:
    return _absent_or(key, {"field": key, "in": ["runtime/default", "docker/default"]},
                      {"field": key, "startsWith": "localhost/"})


def _selinux_ok(prefix: str) -> dict[str, Any]:
    opts = f"{prefix}seLinuxOptions"
    return {"allOf": [_absent_or(f"{opts}.type", {"field": f"{opts}.type", "in": {"derived": "allowedSELinuxTypes"}}),
                      {"field": f"{opts}.user", "empty": True}, {"field": f"{opts}.role", "empty": True}]}


def _versions(steps: tuple[tuple[tuple[int, int], tuple[str, ...]], ...], cumulative: bool) -> dict[str, Any]:
    out, acc = [], []
    for since, values in steps:
        acc = acc + list(values) if cumulative else list(values)
        out.append({"since": f"{since[0]}.{since[1]}", "value": acc})
    return {"pssVersion": out, "before": []}


PRIVILEGED = _rule({"scope": "containers", "require": {"field": "securityContext.privileged", "notEquals": True}})


def _host_namespace(field_name: str) -> KubeRule:
    return _rule({"scope": "pod", "require": {"field": field_name, "notEquals": True}})


# On the host network every declared port is a host port: the API server defaults a hostNetwork Pod's hostPort (0 or
# unset) to its containerPort and rejects any other value (pkg/apis/core/v1 defaults, since 1.28 on Pods only, not on
# templates; the Pods a controller makes from a template are defaulted when created).
HOST_PORTS = _rule({"scope": "containers", "require": {
    "each": "ports", "require": {"allOf": [_absent_or("hostPort", {"field": "hostPort", "equals": 0}),
                                           {"field": "$pod.hostNetwork", "notEquals": True}]}}})
HOST_PATH_VOLUMES = _rule({"scope": "volumes", "require": {"field": "hostPath", "exists": False}})
CAPABILITIES_BASELINE = _rule({"scope": "containers", "require": {
    "each": "securityContext.capabilities.add", "require": {"field": ".", "in": list(CAPS_BASELINE)}}})
PROC_MOUNT = _rule({"scope": "containers", "require": PROC_MOUNT_DEFAULT}, exempt=(USERNS,))
SYSCTLS_RULE = _rule({"scope": "pod", "require": {
    "each": "securityContext.sysctls", "require": {"field": "name", "in": {"derived": "allowedSysctls"}}}},
    derived={"allowedSysctls": _versions(SYSCTLS, cumulative=True)})
SECCOMP_BASELINE = _rule(
    # before v1.19 only the (since removed) annotations count; from v1.19 only the fields
    {"scope": "pod", "when": {"field": "$pssVersion", "lessOrEquals": 1018},
     "require": _annotation_ok("$meta.annotations['seccomp.security.alpha.kubernetes.io/pod']")},
    {"scope": "containers", "when": {"field": "$pssVersion", "lessOrEquals": 1018},
     "require": _annotation_ok("$meta.annotations['container.seccomp.security.alpha.kubernetes.io/{name}']")},
    {"scope": "pod", "when": {"field": "$pssVersion", "greaterOrEquals": 1019},
     "require": _seccomp_ok("securityContext.")},
    {"scope": "containers", "when": {"field": "$pssVersion", "greaterOrEquals": 1019},
     "require": _seccomp_ok("securityContext.")})
APPARMOR_OK = {"anyOf": [{"field": "securityContext.appArmorProfile", "exists": False},
                         {"field": "securityContext.appArmorProfile.type", "in": list(APPARMOR_TYPES)}]}
APP_ARMOR = _rule(
    {"scope": "pod", "require": APPARMOR_OK},
    {"scope": "containers", "require": APPARMOR_OK},
    {"scope": "pod", "require": {
        "each": "$meta.annotations", "entries": True,
        "where": {"field": "$key", "startsWith": "container.apparmor.security.beta.kubernetes.io/"},
        "require": {"anyOf": [{"field": ".", "in": ["", "runtime/default"]}, {"field": ".", "startsWith": "localhost/"}]}}})
SE_LINUX = _rule({"scope": "pod", "require": _selinux_ok("securityContext.")},
                 {"scope": "containers", "require": _selinux_ok("securityContext.")},
                 derived={"allowedSELinuxTypes": _versions(((( 1, 0), SELINUX_TYPES), ((1, 31), SELINUX_TYPES_1_31)),
                                                           cumulative=False)})
HOST_PROCESS = {"field": "securityContext.windowsOptions.hostProcess", "notEquals": True}
WINDOWS_HOST_PROCESS = _rule({"scope": "pod", "require": HOST_PROCESS}, {"scope": "containers", "require": HOST_PROCESS})
PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
HANDLERS = ("postStart", "preStop")
HOST_PROBES = _rule({"scope": "containers", "require": {"allOf": [
    {"field": f"{where}.{kind}.host", "empty": True}
    for where in PROBES + tuple(f"lifecycle.{h}" for h in HANDLERS) for kind in ("httpGet", "tcpSocket")]}})
SOURCES = {"keys": ".", "except": ["name"]}
RESTRICTED_VOLUMES = _rule({"scope": "volumes", "require": {"anyOf": [
    # no source at all: the API server defaults it to emptyDir
    {"field": SOURCES, "empty": True},
    {"some": SOURCES, "require": {"field": ".", "in": list(RESTRICTED_VOLUME_SOURCES)}}]}})
# "allowPrivilegeEscalation is always true when the container is run as privileged, or has CAP_SYS_ADMIN"
# (kubernetes.io/docs/tasks/configure-pod-container/security-context/): an explicit false does not hold then (the API
# server rejects the pair). The runtime adds SYS_ADMIN as CAP_SYS_ADMIN, in any case: containerd adds "CAP_" +
# strings.ToUpper(name), and Go upper-cases the long s and the dotless i to S and I ("\u017fys_adm\u0131n" is
# SYS_ADMIN), while a look-alike (a Cyrillic letter, a dotted capital I) stays a capability the kernel does not have;
# ALL, read in any case, includes it.
SYS_ADMIN_SPELLINGS = ["SYS_ADMIN", "CAP_SYS_ADMIN", "ALL"]  # compared upper-cased as the runtime does
NO_PRIVILEGE_ESCALATION = {"allOf": [
    {"field": "securityContext.allowPrivilegeEscalation", "equals": False},
    {"field": "securityContext.privileged", "notEquals": True},
    {"each": "securityContext.capabilities.add", "require": {"field": {"upper": "."}, "notIn": SYS_ADMIN_SPELLINGS}}]}
ALLOW_PRIVILEGE_ESCALATION = _rule({"scope": "containers", "require": NO_PRIVILEGE_ESCALATION})
RUN_AS_NON_ROOT = _rule(
    {"scope": "pod", "require": _absent_or("securityContext.runAsNonRoot",
                                           {"field": "securityContext.runAsNonRoot", "equals": True})},
    {"scope": "containers", "require": {
        "field": ["securityContext.runAsNonRoot", "$pod.securityContext.runAsNonRoot"], "equals": True}},
    exempt=(USERNS,))
RUN_AS_USER = _rule({"scope": "pod", "require": {"field": "securityContext.runAsUser", "notEquals": 0}},
                    {"scope": "containers", "require": {"field": "securityContext.runAsUser", "notEquals": 0}},
                    exempt=(USERNS,))
SECCOMP_RESTRICTED = _rule(
    {"scope": "pod", "require": _seccomp_ok("securityContext.")},
    {"scope": "containers", "require": {"anyOf": [
        {"allOf": [{"field": "securityContext.seccompProfile", "exists": True},
                   {"field": "securityContext.seccompProfile.type", "in": list(SECCOMP_TYPES)}]},
        {"allOf": [{"field": "securityContext.seccompProfile", "exists": False},
                   {"field": "$pod.securityContext.seccompProfile.type", "in": list(SECCOMP_TYPES)}]}]}})
CAPABILITIES_RESTRICTED = _rule({"scope": "containers", "require": {"allOf": [
    {"field": "securityContext.capabilities.drop", "contains": "ALL"},
    {"each": "securityContext.capabilities.add", "require": {"field": ".", "equals": "NET_BIND_SERVICE"}}]}})
PROC_MOUNT_RESTRICTED = _rule({"scope": "containers", "require": PROC_MOUNT_DEFAULT})

# -- namespace labels -----------------------------------------------------------------------------------

LEVELS = PSA_LEVELS
ENFORCE, ENFORCE_VERSION = (f"metadata.labels['{label}']" for label in (PSA_ENFORCE, PSA_ENFORCE_VERSION))


def _psa_rule(allowed: Any) -> KubeRule:
    # Pod Security Admission enforces restricted for a set level it cannot parse (api.ParseLevel: "Restricted",
    # "strict"), the strictest level, in every allowed set; and the latest version for a version it cannot parse
    # (api.ParseVersion), which no level check depends on: that check only shows the version in the evidence (the
    # namespace's notes say what PSA makes of either, kinds.psa_label_notes).
    level = {"scope": "object", "require": {"anyOf": [
        {"field": ENFORCE, "in": allowed},
        {"allOf": [{"field": ENFORCE, "exists": True}, {"field": ENFORCE, "notIn": list(PSA_LEVELS)}]}]}}
    bad_version = {"allOf": [{"field": f"$object.{ENFORCE_VERSION}", "exists": True},
                             {"field": f"$object.{ENFORCE_VERSION}", "notMatches": PSA_VERSION}]}
    version = {"scope": "object", "when": bad_version, "require": bad_version}
    return _rule(level, version, kinds=["Namespace"],
                 derived={"allowedLevels": {"param": "minimumLevel", "default": ["restricted"], "choices": {
                     name: list(LEVELS[i:]) for i, name in enumerate(LEVELS)}}} if isinstance(allowed, dict) else None)


PSA_LABELS = _psa_rule({"derived": "allowedLevels"})
PSA_RESTRICTED = _psa_rule(["restricted"])

# -- group ids (Azure Policy's restricted initiative: runAsGroup, supplementalGroups and fsGroup MustRunAs 1-65535) --

# A Windows pod (spec.os.name: windows) may not set the Linux security settings: the API server rejects a pod that
# sets runAsGroup, fsGroup, supplementalGroups, seccompProfile, capabilities, readOnlyRootFilesystem, privileged,
# allowPrivilegeEscalation ... ("cannot be set for a windows pod"). A control asking for one of them cannot be met
# there, so it does not apply (the Pod Security Standards exempt such pods from the same checks).
NOT_WINDOWS = {"when": {"field": "$pod.os.name", "notEquals": "windows"},
               "reason": "Windows pod (spec.os.name = windows): the API server forbids {what} for Windows pods"}


def not_windows(what: str) -> dict[str, Any]:
    return {**NOT_WINDOWS, "reason": NOT_WINDOWS["reason"].format(what=what)}


GROUP_IDS = _rule(
    {"scope": "pod", "require": {"allOf": [
        _in_range("securityContext.fsGroup"),
        {"each": "securityContext.supplementalGroups", "require": _in_range(".")},
        _absent_or("securityContext.runAsGroup", _in_range("securityContext.runAsGroup"))]}},
    {"scope": "containers", "require": _in_range(["securityContext.runAsGroup", "$pod.securityContext.runAsGroup"])},
    applies=(not_windows("runAsGroup, fsGroup and supplementalGroups"),))


def _c(id: str, title: str, level: str, check_id: str, severity: Severity, rationale: str, remediation: str,
       rule: KubeRule, mappings: Mappings, builtin: str | None, **kw):
    return k8s_control(
        id=id, title=title, severity=severity, section=BASELINE if level == "baseline" else RESTRICTED,
        rationale=rationale, remediation=remediation, mappings=mappings, rule=rule, pss_check=check_id,
        references=(PSS_REF,), exclusions=WORKLOAD_ADMISSION, **kw)


CONTROLS = [
    _c("AKS-100", "Containers do not run privileged", "baseline", "privileged", Severity.HIGH,
       "A privileged container has every capability and access to all host devices: it is root on the node, and "
       "escaping the container is trivial. Pod Security Standards baseline forbids securityContext.privileged=true "
       "in every container, init container and ephemeral container.",
       "Remove securityContext.privileged or set it to false in every container; grant only the specific "
       "capabilities a workload needs.", PRIVILEGED,
       Mappings(cis_aks=("4.2.1",), azure_policy=("95edb821-ddaf-4404-9732-666045e056b4",), pss=("baseline",),
                mitre=("T1611",)), "95edb821-ddaf-4404-9732-666045e056b4",
       mapping_note="kubescape C-0057 also fails a container that adds SYS_ADMIN (AKS-106 fails it), so it is not "
                    "mapped; " + PSP_NOTE, tags=(CONTAINER_SCOPE,),
       builtin_deviation=EPHEMERAL_NOTE),
    _c("AKS-101", "Pods do not share the host process ID namespace (hostPID)", "baseline", "hostNamespaces",
       Severity.HIGH,
       "With hostPID a container sees every process on the node and can signal or trace them (with ptrace rights), "
       "reading secrets from other workloads' memory and environment. Pod Security Standards baseline forbids "
       "spec.hostPID=true.",
       "Remove spec.hostPID (or set it to false) in the pod spec or pod template.", _host_namespace("hostPID"),
       Mappings(cis_aks=("4.2.2",), kubescape=("C-0275",), azure_policy=("47a1ee2f-2a2a-4576-bf2a-e0e36709c2b8",),
                pss=("baseline",), mitre=("T1611",)), "47a1ee2f-2a2a-4576-bf2a-e0e36709c2b8",
       mapping_note="kubescape C-0038 fails hostPID or hostIPC together; hostPID alone is C-0275. " + PSP_NOTE),
    _c("AKS-102", "Pods do not share the host IPC namespace (hostIPC)", "baseline", "hostNamespaces", Severity.HIGH,
       "With hostIPC a container shares System V IPC and POSIX shared memory with every process on the node and "
       "can read or corrupt data other workloads exchange there. Pod Security Standards baseline forbids "
       "spec.hostIPC=true.",
       "Remove spec.hostIPC (or set it to false) in the pod spec or pod template.", _host_namespace("hostIPC"),
       Mappings(cis_aks=("4.2.3",), kubescape=("C-0276",), azure_policy=("47a1ee2f-2a2a-4576-bf2a-e0e36709c2b8",),
                pss=("baseline",), mitre=("T1611",)), "47a1ee2f-2a2a-4576-bf2a-e0e36709c2b8",
       mapping_note="kubescape C-0038 fails hostPID or hostIPC together; hostIPC alone is C-0276. " + PSP_NOTE),
    _c("AKS-103", "Pods do not use the host network namespace (hostNetwork)", "baseline", "hostNamespaces",
       Severity.HIGH,
       "A pod on the host network bypasses network policies, can bind to node ports, sniff node traffic and reach "
       "services listening on localhost of the node (kubelet, metadata endpoints). Pod Security Standards baseline "
       "forbids spec.hostNetwork=true.",
       "Remove spec.hostNetwork (or set it to false); expose the workload through a Service instead.",
       _host_namespace("hostNetwork"),
       Mappings(cis_aks=("4.2.4",), kubescape=("C-0041",), azure_policy=("82985f06-dc18-4a48-bc1c-b9f4f0098cfe",),
                pss=("baseline",), mitre=("T1611",)), "82985f06-dc18-4a48-bc1c-b9f4f0098cfe", mapping_note=PSP_NOTE),
    _c("AKS-104", "Containers do not bind host ports", "baseline", "hostPorts", Severity.MEDIUM,
       "A hostPort exposes the container directly on the node's address, outside Services and network policies, "
       "and limits scheduling. Pod Security Standards baseline allows hostPort only unset or 0 in every container. "
       "On the host network (spec.hostNetwork: true) every declared port is a host port: the API server sets each "
       "port's hostPort to its containerPort when it creates the Pod, so such a port fails although no hostPort is "
       "written.",
       "Remove ports[*].hostPort (or set it to 0) and expose the workload through a Service; off the host network.",
       HOST_PORTS,
       Mappings(kubescape=("C-0044",), azure_policy=("82985f06-dc18-4a48-bc1c-b9f4f0098cfe",), pss=("baseline",),
                mitre=("T1133",)),
       "82985f06-dc18-4a48-bc1c-b9f4f0098cfe", tags=(CONTAINER_SCOPE,),
       builtin_deviation=EPHEMERAL_NOTE + " The template in the reference set reads host ports against minPort/maxPort (given as 0, no host port), older than the definition's allowedHostPorts.",
       builtin_parameters={"82985f06-dc18-4a48-bc1c-b9f4f0098cfe": {"minPort": 0, "maxPort": 0}}),
    _c("AKS-105", "Pods do not mount hostPath volumes", "baseline", "hostPathVolumes", Severity.HIGH,
       "A hostPath volume gives the container the node's filesystem: the container runtime socket, kubelet "
       "credentials, other pods' data. It is the most common container escape. Pod Security Standards baseline "
       "forbids spec.volumes[*].hostPath.",
       "Replace hostPath volumes with emptyDir, a persistentVolumeClaim, a configMap or secret, or a CSI volume.",
       HOST_PATH_VOLUMES,
       Mappings(kubescape=("C-0048",), azure_policy=("098fc59e-46c7-4d99-9b16-64990e543d75",), pss=("baseline",),
                mitre=("T1611",)),
       "098fc59e-46c7-4d99-9b16-64990e543d75",
       mapping_note="any hostPath fails here; kubescape's narrower hostPath controls are mapped to the controls that "
                    "check the same: C-0045 (writable hostPath) to AKS-158, C-0074 (runtime socket) to AKS-157, "
                    "C-0020 (cloud credentials file) to AKS-156."),
    _c("AKS-106", "Containers add only the capabilities baseline allows", "baseline", "capabilities_baseline",
       Severity.HIGH,
       "Capabilities such as SYS_ADMIN, NET_ADMIN, SYS_PTRACE or NET_RAW give a container powers close to root on "
       "the node. Pod Security Standards baseline allows adding only AUDIT_WRITE, CHOWN, DAC_OVERRIDE, FOWNER, "
       "FSETID, KILL, MKNOD, NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID and SYS_CHROOT (NET_RAW is not "
       "allowed; the Azure Policy baseline initiative does allow it, so it is looser than PSS).",
       "Remove every other capability from securityContext.capabilities.add.", CAPABILITIES_BASELINE,
       Mappings(azure_policy=("c26596ff-4d70-4e6a-9a30-c2506bd2f80c", "d2e7ea85-6b44-4317-a0be-1b951587f626"),
                pss=("baseline",), mitre=("T1611",)),
       "c26596ff-4d70-4e6a-9a30-c2506bd2f80c",
       mapping_note="kubescape C-0046 flags a deny-list of capabilities (its insecureCapabilities input, which includes "
                    "SETPCAP that baseline allows); that is AKS-159. " + PSP_NOTE, tags=(CONTAINER_SCOPE,),
       builtin_deviation=EPHEMERAL_NOTE + " d2e7ea85 forbids SYS_ADMIN only: NET_RAW and the other capabilities outside the baseline list pass it.",
       builtin_parameters={"c26596ff-4d70-4e6a-9a30-c2506bd2f80c": {"allowedCapabilities": list(CAPS_BASELINE)}}),
    _c("AKS-107", "Containers keep the default /proc mount", "baseline", "procMount", Severity.MEDIUM,
       "The default /proc mount masks kernel interfaces that leak host information or allow changing host "
       "settings. An Unmasked procMount removes those masks. Pod Security Standards baseline allows procMount "
       "unset or Default; from v1.35 any value is allowed in a user namespace (spec.hostUsers: false).",
       "Remove securityContext.procMount or set it to Default.", PROC_MOUNT,
       Mappings(azure_policy=("f85eb0dd-92ee-40e9-8a76-db25a507d6d3",), pss=("baseline",), mitre=("T1611",)),
       "f85eb0dd-92ee-40e9-8a76-db25a507d6d3", mapping_note=C0211_NOTE, tags=(CONTAINER_SCOPE,),
       builtin_deviation=EPHEMERAL_NOTE + " It has no user-namespace relaxation (from v1.35 any procMount with spec.hostUsers: false)."),
    _c("AKS-108", "Pods set only safe sysctls", "baseline", "sysctls", Severity.MEDIUM,
       "Sysctls outside the namespaced, isolated safe set change kernel settings for the whole node or disable "
       "security mechanisms. Pod Security Standards baseline allows only the safe set of the version checked "
       "(five in v1.0; ip_local_reserved_ports from v1.27; tcp keepalive and fin timeout from v1.29; tcp_rmem and "
       "tcp_wmem from v1.32; tcp_slow_start_after_idle and tcp_notsent_lowat from v1.37).",
       "Remove other entries from spec.securityContext.sysctls, or move the workload to dedicated nodes with the "
       "setting applied by node configuration.", SYSCTLS_RULE,
       Mappings(azure_policy=("56d0a13f-712f-466b-8416-56fb354fb823",
                                                      "5e5a0673-649e-4d50-bf9d-5a387a4e2081"), pss=("baseline",),
                mitre=("T1611",)),
       "56d0a13f-712f-466b-8416-56fb354fb823", mapping_note=C0211_NOTE,
       builtin_parameters={"56d0a13f-712f-466b-8416-56fb354fb823": {"forbiddenSysctls": UNSAFE_SYSCTLS}}),
    _c("AKS-109", "Seccomp is not disabled (no Unconfined profile)", "baseline", "seccompProfile_baseline",
       Severity.MEDIUM,
       "Seccomp filters the system calls a container can make; Unconfined removes the filter and exposes the whole "
       "kernel attack surface. Pod Security Standards baseline allows seccompProfile.type RuntimeDefault, Localhost "
       "or unset at pod and container level (from v1.19; before that, the seccomp annotations).",
       "Set securityContext.seccompProfile.type to RuntimeDefault (or Localhost) or leave it unset; never Unconfined.",
       SECCOMP_BASELINE,
       Mappings(azure_policy=("975ce327-682c-4f2e-aa46-b9598289b86c",), pss=("baseline",), mitre=("T1611",)),
       "975ce327-682c-4f2e-aa46-b9598289b86c",
       mapping_note="kubescape C-0210 requires a RuntimeDefault profile to be set (AKS-118 requires a profile); "
                    "baseline only forbids Unconfined. " + C0055_NOTE, tags=(CONTAINER_SCOPE,),
       builtin_deviation=SECCOMP_ANNOTATIONS_NOTE,
       builtin_parameters={"975ce327-682c-4f2e-aa46-b9598289b86c": {"allowedProfiles": ["runtime/default", "docker/default"]}}),
    _c("AKS-110", "AppArmor is not disabled or overridden", "baseline", "appArmorProfile", Severity.MEDIUM,
       "On nodes with AppArmor the runtime default profile confines every container; setting the profile to "
       "Unconfined (or another unlisted value) removes that confinement. Pod Security Standards baseline allows "
       "appArmorProfile.type RuntimeDefault, Localhost or unset, and the legacy annotations runtime/default, "
       "localhost/* or empty.",
       "Remove appArmorProfile (or the container.apparmor.security.beta.kubernetes.io annotations) or set them "
       "to RuntimeDefault / runtime/default or a Localhost profile.", APP_ARMOR,
       Mappings(azure_policy=("511f5417-5d12-434d-ab2e-816901e72a5e",), pss=("baseline",), mitre=("T1611",)),
       "511f5417-5d12-434d-ab2e-816901e72a5e", mapping_note=C0055_NOTE, tags=(CONTAINER_SCOPE,),
       builtin_deviation=("The template in the reference set reads only the AppArmor annotations and requires runtime/default on every container: a pod that sets no profile (the runtime default applies) fails it.")),
    _c("AKS-111", "SELinux options stay within the allowed types", "baseline", "seLinuxOptions", Severity.MEDIUM,
       "A custom SELinux type, user or role can give a container a less confined label than the runtime's "
       "default. Pod Security Standards baseline allows seLinuxOptions.type empty, container_t, container_init_t, "
       "container_kvm_t (and container_engine_t from v1.31), and forbids setting user or role.",
       "Remove seLinuxOptions.user and .role and use one of the allowed types (or none).", SE_LINUX,
       Mappings(azure_policy=("e1e6c427-07d9-46ab-9689-bfa85431e636",), pss=("baseline",), mitre=("T1611",)),
       "e1e6c427-07d9-46ab-9689-bfa85431e636",
       mapping_note="kubescape's set-seLinuxOptions (part of C-0211) asks for seLinuxOptions to be set on every pod, "
                    "which AKS nodes (AppArmor) do not use; this control restricts their values. " + C0211_NOTE + " "
                    + C0055_NOTE, tags=(CONTAINER_SCOPE,),
       builtin_deviation=EPHEMERAL_NOTE,
       builtin_parameters={"e1e6c427-07d9-46ab-9689-bfa85431e636": {"allowedSELinuxOptions": {"options": [{"type": t} for t in SELINUX_TYPES_1_31 if t]}}}),
    _c("AKS-112", "Windows pods do not run HostProcess containers", "baseline", "windowsHostProcess", Severity.HIGH,
       "A Windows HostProcess container runs directly on the node with the node's privileges and network: it is "
       "the Windows equivalent of a privileged container. Pod Security Standards baseline forbids "
       "windowsOptions.hostProcess=true at pod and container level.",
       "Remove securityContext.windowsOptions.hostProcess or set it to false.", WINDOWS_HOST_PROCESS,
       Mappings(azure_policy=("077f0ce1-86d6-4058-bc60-de05067e8622",), pss=("baseline",), mitre=("T1611",)),
       "077f0ce1-86d6-4058-bc60-de05067e8622", mapping_note=C0211_NOTE, tags=(CONTAINER_SCOPE,)),
    _c("AKS-113", "Probes and lifecycle handlers do not target other hosts", "baseline", "hostProbesAndHostLifecycle",
       Severity.LOW,
       "A probe or lifecycle hook with a host field makes the kubelet, from the node's network position, send "
       "requests to an arbitrary address: a server-side request forgery into networks the pod itself cannot reach. "
       "Pod Security Standards baseline (from v1.34) allows host only empty or unset in httpGet and tcpSocket "
       "probes and lifecycle handlers.",
       "Remove the host field from livenessProbe, readinessProbe, startupProbe and lifecycle handlers.", HOST_PROBES,
       Mappings(pss=("baseline",), mitre=("T1090",)), None, pss_since=(1, 34), tags=(CONTAINER_SCOPE,)),
    _c("AKS-114", "Pods use only the restricted volume types", "restricted", "restrictedVolumes", Severity.MEDIUM,
       "Inline volume sources such as nfs, iscsi, azureDisk, azureFile or flexVolume connect the node directly "
       "to storage with credentials or drivers outside the cluster's storage policy. Pod Security Standards "
       "restricted allows only configMap, csi, downwardAPI, emptyDir, ephemeral, image, persistentVolumeClaim, "
       "projected and secret (the Azure Policy list lacks image).",
       "Replace other inline volume sources with persistentVolumeClaims backed by a StorageClass, or CSI volumes.",
       RESTRICTED_VOLUMES,
       Mappings(azure_policy=("16697877-1118-4fb1-9b65-9898ec2509ec",), pss=("restricted",), mitre=("T1611",)),
       "16697877-1118-4fb1-9b65-9898ec2509ec",
       builtin_parameters={"16697877-1118-4fb1-9b65-9898ec2509ec": {"allowedVolumeTypes": list(RESTRICTED_VOLUME_SOURCES)}}),
    _c("AKS-115", "Containers disallow privilege escalation", "restricted", "allowPrivilegeEscalation",
       Severity.MEDIUM,
       "Unless allowPrivilegeEscalation is false, a process can gain more privileges than its parent through "
       "setuid binaries or file capabilities. Pod Security Standards restricted requires every container to set "
       "it explicitly to false (Windows pods are exempt from v1.25). It is always true for a privileged container "
       "or one adding SYS_ADMIN (or ALL, in any case, with or without the CAP_ prefix), whatever the field says, so "
       "those fail too. The API server refuses false beside privileged: true, or beside an add entry written "
       "exactly CAP_SYS_ADMIN: such an object is an error naming the field, not a verdict.",
       "Set securityContext.allowPrivilegeEscalation: false in every container, init container and ephemeral "
       "container.", ALLOW_PRIVILEGE_ESCALATION,
       Mappings(cis_aks=("4.2.5",), kubescape=("C-0016",), azure_policy=("1c6e92c9-99f0-4e55-9cf2-0c234dc48f99",),
                pss=("restricted",), mitre=("T1548",)), "1c6e92c9-99f0-4e55-9cf2-0c234dc48f99", pss_since=(1, 8),
       mapping_note=PSP_NOTE,
       windows_exempt_since=(1, 25), tags=(CONTAINER_SCOPE,),
       builtin_deviation=EPHEMERAL_NOTE + " It exempts no Windows pod (the Pod Security Standards do from v1.25)."),
    _c("AKS-116", "Containers must run as non-root (runAsNonRoot)", "restricted", "runAsNonRoot", Severity.MEDIUM,
       "A container running as UID 0 is root inside the container and, after any escape, root on the node. "
       "runAsNonRoot makes the kubelet refuse to start a container whose user is root. Pod Security Standards "
       "restricted requires runAsNonRoot=true at pod level or in every container, and forbids false anywhere "
       "(any value in a user namespace from v1.35).",
       "Set spec.securityContext.runAsNonRoot: true (or in every container) and run the image as a non-zero UID.",
       RUN_AS_NON_ROOT,
       Mappings(azure_policy=("f06ddb64-5fa3-4b77-b166-acb36f7f6042",), pss=("restricted",), mitre=("T1611",)),
       "f06ddb64-5fa3-4b77-b166-acb36f7f6042",
       mapping_note="kubescape C-0013 judges runAsUser, runAsGroup and allowPrivilegeEscalation together, which is not "
                    "the Pod Security Standards check, so it is not mapped. " + PSP_NOTE, tags=(CONTAINER_SCOPE,),
       builtin_deviation=("f06ddb64 (MustRunAsNonRoot) judges runAsUser, not runAsNonRoot: a container with runAsNonRoot false and a non-zero runAsUser passes it; it reads no ephemeral container and has no user-namespace relaxation.")),
    _c("AKS-117", "Containers do not set runAsUser 0", "restricted", "runAsUser", Severity.MEDIUM,
       "runAsUser: 0 runs the container as root explicitly, whatever the image says. Pod Security Standards "
       "restricted (from v1.23) requires runAsUser unset or non-zero at pod and container level (any value in a "
       "user namespace from v1.35).",
       "Set runAsUser to a non-zero UID (or remove it and rely on runAsNonRoot with a non-root image).", RUN_AS_USER,
       Mappings(azure_policy=("f06ddb64-5fa3-4b77-b166-acb36f7f6042",), pss=("restricted",), mitre=("T1611",)),
       "f06ddb64-5fa3-4b77-b166-acb36f7f6042", pss_since=(1, 23),
       mapping_note="kubescape C-0013 judges runAsUser, runAsGroup and allowPrivilegeEscalation together, which is not "
                    "the Pod Security Standards check, so it is not mapped.", tags=(CONTAINER_SCOPE,),
       builtin_deviation=("f06ddb64 (MustRunAsNonRoot) requires runAsUser to be set to a non-zero id; the Pod Security Standards only forbid 0, so an unset runAsUser passes here. " + EPHEMERAL_NOTE)),
    _c("AKS-118", "A seccomp profile is set (RuntimeDefault or Localhost)", "restricted", "seccompProfile_restricted",
       Severity.MEDIUM,
       "Without a seccomp profile most runtimes run containers unconfined. Pod Security Standards restricted "
       "(from v1.19) requires seccompProfile.type RuntimeDefault or Localhost at pod level, or in every container, "
       "and forbids any other value at either level (Windows pods are exempt from v1.25).",
       "Set spec.securityContext.seccompProfile.type: RuntimeDefault in the pod spec or pod template.",
       SECCOMP_RESTRICTED,
       Mappings(kubescape=("C-0210",), azure_policy=("975ce327-682c-4f2e-aa46-b9598289b86c",), pss=("restricted",),
                mitre=("T1611",)),
       "975ce327-682c-4f2e-aa46-b9598289b86c", pss_since=(1, 19),
       mapping_note="kubescape C-0210 names RuntimeDefault; a Localhost profile, which the Pod Security Standards "
                    "allow, passes here. " + C0055_NOTE, windows_exempt_since=(1, 25), tags=(CONTAINER_SCOPE,),
       builtin_deviation=SECCOMP_ANNOTATIONS_NOTE,
       builtin_parameters={"975ce327-682c-4f2e-aa46-b9598289b86c": {"allowedProfiles": ["runtime/default", "docker/default"]}}),
    _c("AKS-119", "Containers drop ALL capabilities and add at most NET_BIND_SERVICE", "restricted",
       "capabilities_restricted", Severity.MEDIUM,
       "The runtime's default capability set still includes powers a workload rarely needs (NET_RAW for spoofing, "
       "CHOWN, DAC_OVERRIDE). Pod Security Standards restricted (from v1.22) requires capabilities.drop to contain "
       "ALL and allows adding back only NET_BIND_SERVICE (Windows pods are exempt from v1.25). The Azure Policy "
       "restricted initiative does not require drop ALL as shipped.",
       "Set securityContext.capabilities.drop: [ALL] in every container; add NET_BIND_SERVICE only if needed.",
       CAPABILITIES_RESTRICTED,
       Mappings(azure_policy=("c26596ff-4d70-4e6a-9a30-c2506bd2f80c",), pss=("restricted",), mitre=("T1611",)),
       "c26596ff-4d70-4e6a-9a30-c2506bd2f80c", pss_since=(1, 22), mapping_note=C0211_NOTE + " " + C0055_NOTE, windows_exempt_since=(1, 25), tags=(CONTAINER_SCOPE,),
       builtin_deviation=EPHEMERAL_NOTE,
       builtin_parameters={"c26596ff-4d70-4e6a-9a30-c2506bd2f80c": {"allowedCapabilities": ["NET_BIND_SERVICE"], "requiredDropCapabilities": ["ALL"]}}),
    _c("AKS-120", "Containers keep the default /proc mount, even in user namespaces", "restricted",
       "procMount_restricted", Severity.LOW,
       "From v1.35 the baseline level allows any procMount in a user namespace; the restricted level keeps "
       "requiring the default masks there too, since an unmasked /proc still exposes kernel interfaces. Pod "
       "Security Standards restricted (from v1.35) allows procMount only unset or Default.",
       "Remove securityContext.procMount or set it to Default.", PROC_MOUNT_RESTRICTED,
       Mappings(azure_policy=("f85eb0dd-92ee-40e9-8a76-db25a507d6d3",), pss=("restricted",), mitre=("T1611",)),
       "f85eb0dd-92ee-40e9-8a76-db25a507d6d3", pss_since=(1, 35), mapping_note=C0211_NOTE, tags=(CONTAINER_SCOPE,),
       builtin_deviation=EPHEMERAL_NOTE),
    k8s_control(
        id="AKS-121", title="Namespaces enforce a Pod Security Standards level (Pod Security Admission labels)",
        severity=Severity.MEDIUM, section="CIS 4.2",
        rationale=(
            "Pod Security Admission rejects pods that break the level a namespace enforces. PodSecurityPolicy, "
            "which CIS AKS 4.2.x was written for, was removed in Kubernetes 1.25; the namespace label "
            "pod-security.kubernetes.io/enforce (baseline or restricted) is its replacement. Without it, every "
            "control of section 4.2 depends on each workload being written correctly."),
        remediation=(
            "Label each namespace: kubectl label namespace <ns> pod-security.kubernetes.io/enforce=baseline (or "
            "restricted), optionally with enforce-version, warn and audit labels."),
        references=("https://kubernetes.io/docs/concepts/security/pod-security-admission/",),
        mappings=Mappings(cis_aks=("4.2.1", "4.2.2", "4.2.3", "4.2.4"),
                          kubescape=("C-0193", "C-0194", "C-0195", "C-0196", "C-0202", "C-0203", "C-0204"),
                          mitre=("T1610", "T1611")),
        mapping_note=("the kubescape controls mapped here ask for the baseline level at least (CIS Kubernetes 5.2.x "
                      "through Pod Security Admission); those asking for restricted (C-0197 to C-0201), and CIS AKS "
                      "4.2.5 (privilege escalation, which only the restricted level forbids), are AKS-155's."),
        rule=PSA_LABELS, exclusions=WORKLOAD_ADMISSION,
        parameters=(Parameter("minimumLevel", "baseline", "The least strict enforce level that passes "
                                                           "(baseline or restricted).", allowed=("baseline", "restricted")),)),
    k8s_control(
        id="AKS-154", exclusions=WORKLOAD_ADMISSION, tags=(CONTAINER_SCOPE,),
        title="Pods run with non-root group ids (runAsGroup, fsGroup, supplementalGroups)", severity=Severity.MEDIUM,
        section=RESTRICTED,
        rationale=(
            "A process running with group id 0 reads and writes every file the root group may, on volumes and in the "
            "image; fsGroup and supplementalGroups set the groups that own and can open mounted volumes. Azure "
            "Policy's restricted pod security initiative asks every container to run with runAsGroup, fsGroup and "
            "supplementalGroups within 1-65535 (built-in f06ddb64); the Pod Security Standards list non-root groups "
            "as optional. Checked: runAsGroup (the container's, else the pod's) and fsGroup set within the range, and "
            "every supplementalGroups entry within it (an absent list is accepted: it adds no group). A Windows pod "
            "(spec.os.name: windows) may not set group ids (the API server rejects them): the control does not apply."),
        remediation=(
            "Set spec.securityContext.runAsGroup and fsGroup to a non-zero group id (and supplementalGroups, if "
            "used, to non-zero ids)."),
        references=(PSS_REF, "https://kubernetes.io/docs/tasks/configure-pod-container/security-context/"),
        mappings=Mappings(azure_policy=("f06ddb64-5fa3-4b77-b166-acb36f7f6042",), mitre=("T1611",)),
        mapping_note=("Azure's restricted initiative also requires supplementalGroups to be present; an absent list adds "
                      "no group and passes here. kubescape's set-fsgroup-value and set-supplementalgroups-values are "
                      "parts of C-0211, which is not mapped (see AKS-124)."),
        rule=GROUP_IDS,
        builtin_deviation=("f06ddb64 exempts no Windows pod: one without fsGroup and runAsGroup (which the API server "
                           "forbids there) is denied by it and not applicable here."),
        parameters=(Parameter("minimumGroupId", 1, "Lowest group id allowed.", type="Integer",
                              schema={"minimum": 0, "maximum": 2147483647}),
                    Parameter("maximumGroupId", 65535, "Highest group id allowed.", type="Integer",
                              schema={"minimum": 0, "maximum": 2147483647})),
        builtin_parameters={"f06ddb64-5fa3-4b77-b166-acb36f7f6042": {"runAsUserRule": "RunAsAny", **{f"{field}{kind}": value for field in ("runAsGroup", "supplementalGroups", "fsGroup") for kind, value in (("Rule", "MustRunAs"), ("Ranges", {"ranges": [{"min": 1, "max": 65535}]}))}}}),
    k8s_control(
        id="AKS-155", exclusions=WORKLOAD_ADMISSION,
        title="Namespaces enforce the restricted Pod Security Standards level", severity=Severity.MEDIUM,
        section="CIS 4.2",
        rationale=(
            "The baseline level (AKS-121) stops known privilege escalations; the restricted level also requires "
            "running as non-root, dropping ALL capabilities, forbidding privilege escalation and a seccomp profile, "
            "which is what CIS Kubernetes 5.2.6 to 5.2.10 (privilege escalation, root containers, NET_RAW, added "
            "and assigned capabilities) ask admission to minimize. Checked: the namespace label "
            "pod-security.kubernetes.io/enforce is restricted, or a value Pod Security Admission cannot parse (such as "
            "Restricted), which it enforces as restricted at the latest version."),
        remediation=(
            "kubectl label namespace <ns> pod-security.kubernetes.io/enforce=restricted, after fixing the workloads "
            "the restricted controls (AKS-114 to AKS-120) fail."),
        references=("https://kubernetes.io/docs/concepts/security/pod-security-admission/",),
        mappings=Mappings(cis_aks=("4.2.5",), kubescape=("C-0197", "C-0198", "C-0199", "C-0200", "C-0201"),
                          mitre=("T1610", "T1611")),
        rule=PSA_RESTRICTED),
]
