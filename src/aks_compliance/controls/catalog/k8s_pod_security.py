"""Pod Security Standards, both levels, on Pods and on every workload controller's pod template.

One control per check of ``kubernetes/pod-security-admission`` (cluster-controls.md section 2, rows
1-19), with that check's allowed values at each Kubernetes version: the parameter ``pssVersion``
selects the version (default: latest). Containers are ``containers``, ``initContainers`` and
``ephemeralContainers``; pod-level defaults apply where the spec allows them. Workloads are Pods,
Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs, CronJobs and ReplicationControllers (the
pod spec is read from the right path per kind). Plus the namespace Pod Security Admission labels
(CIS 4.2.x remediation, not PodSecurityPolicy, which Kubernetes removed in 1.25).
"""

from __future__ import annotations

from typing import Any, Mapping

from ...k8s import kinds
from ...k8s.checks import CONTAINER_SCOPE, WORKLOAD_ADMISSION, ABSENT, Findings, gap_text, k8s_control, object_of, pss_version, unknown
from ...k8s.podspec import as_dict, as_list, pod_view
from ...k8s.scope import labels_of, meta
from ...policy.conditions import Verdict
from ...targets import Target
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

# Why some kubescape ids are not mapped although they look related (see Mappings in controls.md).
PSP_NOTE = ("kubescape's CIS-AKS 4.2.x controls (C-0213 to C-0219) audit PodSecurityPolicy objects, which Kubernetes "
            "removed in 1.25; this control checks the pods themselves, so those ids are not mapped.")
C0211_NOTE = ("kubescape C-0211 bundles eleven rules (fsGroup, fsGroupChangePolicy, supplementalGroups and "
              "seLinuxOptions set on every pod, NET_RAW dropped by name, a RuntimeDefault seccomp profile ...; one, "
              "set-systctls-params, reads a misspelt field and fails every workload): no single control checks what "
              "it checks, so it is not mapped.")
C0055_NOTE = ("kubescape C-0055 (Linux hardening) passes a container with any one of seccomp, AppArmor, SELinux or "
              "dropped capabilities; this control asks for its own setting, so C-0055 is not mapped.")


def val(d: Any, key: str) -> Any:
    """A field's value, or ABSENT when missing or null."""
    if isinstance(d, dict) and d.get(key) is not None:
        return d[key]
    return ABSENT


def _nothing(f: Findings, path: str, what: str) -> None:
    f.ok(path, "contains no", what, "none")


def _finish(f: Findings, target: Target, what: str) -> Verdict:
    if not (f.good or f.bad or f.unknown):
        _nothing(f, pod_view(target).p("containers"), what)
    return f.verdict()


def _userns_relaxed(target: Target, params: Mapping[str, Any], f: Findings) -> bool:
    v = pod_view(target)
    if v.host_users_false and pss_version(params, target.context.get("scope")) >= USERNS_RELAXED_SINCE:
        f.ok(v.p("hostUsers"), "equals", False, False)
        return True
    return False


# -- baseline -------------------------------------------------------------------------------------------

def privileged(target: Target, params: Mapping[str, Any]) -> Verdict:
    f = Findings()
    for c in pod_view(target).containers():
        v = val(c.sc, "privileged")
        f.check(v is not True, c.p("securityContext.privileged"), "notEquals", True, v)
    return _finish(f, target, "containers")


def _host_field(field_name: str):
    def check(target: Target, params: Mapping[str, Any]) -> Verdict:
        v = pod_view(target)
        value = val(v.spec, field_name)
        f = Findings()
        f.check(value is not True, v.p(field_name), "notEquals", True, value)
        return f.verdict()
    check.__name__ = f"no_{field_name}"
    return check


def host_ports(target: Target, params: Mapping[str, Any]) -> Verdict:
    f = Findings()
    for c in pod_view(target).containers():
        ports = [(i, p) for i, p in enumerate(as_list(c.body.get("ports"))) if isinstance(p, dict)]
        used = [(i, p.get("hostPort")) for i, p in ports if p.get("hostPort") not in (None, 0)]
        for i, hp in used:
            f.fail(c.p(f"ports[{i}].hostPort"), "in", "unset or 0", hp)
        if not used:
            f.ok(c.p("ports"), "contains no", "hostPort other than 0", [p.get("hostPort", 0) for _, p in ports])
    return _finish(f, target, "containers")


def host_path_volumes(target: Target, params: Mapping[str, Any]) -> Verdict:
    v = pod_view(target)
    f = Findings()
    for path, vol in v.volumes():
        hp = val(vol, "hostPath")
        f.check(hp is ABSENT, f"{path}.hostPath", "exists", False, hp)
    if not (f.good or f.bad):
        _nothing(f, v.p("volumes"), "volumes")
    return f.verdict()


def capabilities_baseline(target: Target, params: Mapping[str, Any]) -> Verdict:
    f = Findings()
    for c in pod_view(target).containers():
        add = as_list(as_dict(c.sc.get("capabilities")).get("add"))
        bad = [a for a in add if a not in CAPS_BASELINE]
        f.check(not bad, c.p("securityContext.capabilities.add"), "in", list(CAPS_BASELINE), add or ABSENT)
    return _finish(f, target, "containers")


def proc_mount(target: Target, params: Mapping[str, Any]) -> Verdict:
    f = Findings()
    if _userns_relaxed(target, params, f):
        return f.verdict()
    for c in pod_view(target).containers():
        pm = val(c.sc, "procMount")
        f.check(pm is ABSENT or pm == "Default", c.p("securityContext.procMount"), "in", ["Default", "(unset)"], pm)
    return _finish(f, target, "containers")


def sysctls(target: Target, params: Mapping[str, Any]) -> Verdict:
    v = pod_view(target)
    version = pss_version(params, target.context.get("scope"))
    allowed = [s for since, names in SYSCTLS if version >= since for s in names]
    f = Findings()
    for i, s in enumerate(as_list(v.sc.get("sysctls"))):
        name = s.get("name") if isinstance(s, dict) else s
        f.check(name in allowed, v.p(f"securityContext.sysctls[{i}].name"), "in", allowed, name)
    if not f.bad and not f.good:
        _nothing(f, v.p("securityContext.sysctls"), "sysctls")
    return f.verdict()


def _seccomp_annotation_ok(value: Any) -> bool:
    return value in ("runtime/default", "docker/default") or (isinstance(value, str) and value.startswith("localhost/"))


def seccomp_baseline(target: Target, params: Mapping[str, Any]) -> Verdict:
    v = pod_view(target)
    f = Findings()
    if pss_version(params, target.context.get("scope")) < (1, 19):
        keys = ["seccomp.security.alpha.kubernetes.io/pod"] + [
            f"container.seccomp.security.alpha.kubernetes.io/{c.body.get('name')}" for c in v.containers()]
        for key in keys:
            if key in v.annotations:
                value = v.annotations[key]
                f.check(_seccomp_annotation_ok(value), v.mp(f"annotations.{key}"), "in",
                        ["runtime/default", "docker/default", "localhost/*"], value)
        if not f.bad and not f.good:
            _nothing(f, v.mp("annotations"), "seccomp annotations")
        return f.verdict()
    pod_profile = v.sc.get("seccompProfile")
    if isinstance(pod_profile, dict):
        t = val(pod_profile, "type")
        f.check(t in SECCOMP_TYPES, v.p("securityContext.seccompProfile.type"), "in", list(SECCOMP_TYPES), t)
    for c in v.containers():
        prof = c.sc.get("seccompProfile")
        if isinstance(prof, dict):
            t = val(prof, "type")
            f.check(t in SECCOMP_TYPES, c.p("securityContext.seccompProfile.type"), "in", list(SECCOMP_TYPES), t)
        else:
            f.ok(c.p("securityContext.seccompProfile"), "in", list(SECCOMP_TYPES) + ["(unset)"], ABSENT)
    return _finish(f, target, "containers")


def app_armor(target: Target, params: Mapping[str, Any]) -> Verdict:
    v = pod_view(target)
    f = Findings()
    prof = v.sc.get("appArmorProfile")
    if isinstance(prof, dict):
        t = val(prof, "type")
        f.check(t in APPARMOR_TYPES, v.p("securityContext.appArmorProfile.type"), "in", list(APPARMOR_TYPES), t)
    for c in v.containers():
        prof = c.sc.get("appArmorProfile")
        if isinstance(prof, dict):
            t = val(prof, "type")
            f.check(t in APPARMOR_TYPES, c.p("securityContext.appArmorProfile.type"), "in", list(APPARMOR_TYPES), t)
        else:
            f.ok(c.p("securityContext.appArmorProfile"), "in", list(APPARMOR_TYPES) + ["(unset)"], ABSENT)
    for key, value in v.annotations.items():
        if str(key).startswith("container.apparmor.security.beta.kubernetes.io/"):
            ok = value in ("", "runtime/default") or (isinstance(value, str) and value.startswith("localhost/"))
            f.check(ok, v.mp(f"annotations.{key}"), "in", ["runtime/default", "localhost/*", ""], value)
    return _finish(f, target, "containers")


def se_linux(target: Target, params: Mapping[str, Any]) -> Verdict:
    v = pod_view(target)
    allowed = SELINUX_TYPES_1_31 if pss_version(params, target.context.get("scope")) >= (1, 31) else SELINUX_TYPES
    f = Findings()

    def one(opts: Any, path: str) -> None:
        if not isinstance(opts, dict):
            f.ok(path, "in", "unset or allowed values", ABSENT)
            return
        t = opts.get("type") or ""
        f.check(t in allowed, f"{path}.type", "in", list(allowed), t)
        for k in ("user", "role"):
            value = opts.get(k) or ""
            f.check(value == "", f"{path}.{k}", "equals", "", value)

    if v.sc.get("seLinuxOptions") is not None:
        one(v.sc.get("seLinuxOptions"), v.p("securityContext.seLinuxOptions"))
    for c in v.containers():
        one(c.sc.get("seLinuxOptions"), c.p("securityContext.seLinuxOptions"))
    return _finish(f, target, "containers")


def windows_host_process(target: Target, params: Mapping[str, Any]) -> Verdict:
    v = pod_view(target)
    f = Findings()
    hp = val(as_dict(v.sc.get("windowsOptions")), "hostProcess")
    f.check(hp is not True, v.p("securityContext.windowsOptions.hostProcess"), "notEquals", True, hp)
    for c in v.containers():
        hp = val(as_dict(c.sc.get("windowsOptions")), "hostProcess")
        f.check(hp is not True, c.p("securityContext.windowsOptions.hostProcess"), "notEquals", True, hp)
    return f.verdict()


PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
HANDLERS = ("postStart", "preStop")


def host_probes(target: Target, params: Mapping[str, Any]) -> Verdict:
    f = Findings()
    for c in pod_view(target).containers():
        checked = False
        handlers = [(p, as_dict(c.body.get(p))) for p in PROBES]
        handlers += [(f"lifecycle.{h}", as_dict(as_dict(c.body.get("lifecycle")).get(h))) for h in HANDLERS]
        for where, handler in handlers:
            for kind in ("httpGet", "tcpSocket"):
                action = handler.get(kind)
                if isinstance(action, dict):
                    checked = True
                    host = action.get("host") or ""
                    f.check(host == "", c.p(f"{where}.{kind}.host"), "equals", "", host)
        if not checked:
            f.ok(c.path, "contains no", "probe or lifecycle handler with a host", "none")
    return _finish(f, target, "containers")


# -- restricted -----------------------------------------------------------------------------------------

def restricted_volumes(target: Target, params: Mapping[str, Any]) -> Verdict:
    v = pod_view(target)
    f = Findings()
    for path, vol in v.volumes():
        sources = sorted(k for k in vol if k != "name" and vol.get(k) is not None)
        if not sources:
            f.ok(path, "in", list(RESTRICTED_VOLUME_SOURCES), "no source given (the API defaults it to emptyDir)")
            continue
        ok = [s for s in sources if s in RESTRICTED_VOLUME_SOURCES]
        f.check(bool(ok), f"{path}.{sources[0]}" if not ok else f"{path}.{ok[0]}", "in",
                list(RESTRICTED_VOLUME_SOURCES), sources)
    if not (f.good or f.bad):
        _nothing(f, v.p("volumes"), "volumes")
    return f.verdict()


def allow_privilege_escalation(target: Target, params: Mapping[str, Any]) -> Verdict:
    f = Findings()
    for c in pod_view(target).containers():
        ape = val(c.sc, "allowPrivilegeEscalation")
        f.check(ape is False, c.p("securityContext.allowPrivilegeEscalation"), "equals", False, ape)
    return _finish(f, target, "containers")


def run_as_non_root(target: Target, params: Mapping[str, Any]) -> Verdict:
    f = Findings()
    if _userns_relaxed(target, params, f):
        return f.verdict()
    v = pod_view(target)
    pod_value = val(v.sc, "runAsNonRoot")
    if pod_value is not ABSENT:
        f.check(pod_value is True, v.p("securityContext.runAsNonRoot"), "equals", True, pod_value)
    for c in v.containers():
        cv = val(c.sc, "runAsNonRoot")
        if cv is not ABSENT:
            f.check(cv is True, c.p("securityContext.runAsNonRoot"), "equals", True, cv)
        elif pod_value is True:
            f.ok(c.p("securityContext.runAsNonRoot"), "equals", "true (or unset with the pod-level value true)",
                 "(unset; pod-level true)")
        else:
            f.fail(c.p("securityContext.runAsNonRoot"), "equals", True, ABSENT)
    return _finish(f, target, "containers")


def run_as_user(target: Target, params: Mapping[str, Any]) -> Verdict:
    f = Findings()
    if _userns_relaxed(target, params, f):
        return f.verdict()
    v = pod_view(target)
    pv = val(v.sc, "runAsUser")
    f.check(pv != 0, v.p("securityContext.runAsUser"), "notEquals", 0, pv)
    for c in v.containers():
        cv = val(c.sc, "runAsUser")
        f.check(cv != 0, c.p("securityContext.runAsUser"), "notEquals", 0, cv)
    return f.verdict()


def seccomp_restricted(target: Target, params: Mapping[str, Any]) -> Verdict:
    v = pod_view(target)
    f = Findings()
    pod_prof = v.sc.get("seccompProfile")
    pod_ok = False
    if isinstance(pod_prof, dict):
        t = val(pod_prof, "type")
        pod_ok = t in SECCOMP_TYPES
        f.check(pod_ok, v.p("securityContext.seccompProfile.type"), "in", list(SECCOMP_TYPES), t)
    for c in v.containers():
        prof = c.sc.get("seccompProfile")
        if isinstance(prof, dict):
            t = val(prof, "type")
            f.check(t in SECCOMP_TYPES, c.p("securityContext.seccompProfile.type"), "in", list(SECCOMP_TYPES), t)
        elif pod_ok:
            f.ok(c.p("securityContext.seccompProfile"), "in", "unset with a valid pod-level profile",
                 "(unset; pod-level set)")
        else:
            f.fail(c.p("securityContext.seccompProfile.type"), "in", list(SECCOMP_TYPES), ABSENT)
    return _finish(f, target, "containers")


def capabilities_restricted(target: Target, params: Mapping[str, Any]) -> Verdict:
    f = Findings()
    for c in pod_view(target).containers():
        caps = as_dict(c.sc.get("capabilities"))
        drop = as_list(caps.get("drop"))
        add = as_list(caps.get("add"))
        f.check("ALL" in drop, c.p("securityContext.capabilities.drop"), "contains", "ALL", drop or ABSENT)
        if add:
            f.check(all(a == "NET_BIND_SERVICE" for a in add), c.p("securityContext.capabilities.add"), "in",
                    ["NET_BIND_SERVICE"], add)
    return _finish(f, target, "containers")


def proc_mount_restricted(target: Target, params: Mapping[str, Any]) -> Verdict:
    f = Findings()
    for c in pod_view(target).containers():
        pm = val(c.sc, "procMount")
        f.check(pm is ABSENT or pm == "Default", c.p("securityContext.procMount"), "in", ["Default", "(unset)"], pm)
    return _finish(f, target, "containers")


# -- namespace labels -----------------------------------------------------------------------------------

LEVELS = ("privileged", "baseline", "restricted")
PSA_ENFORCE = "pod-security.kubernetes.io/enforce"


def psa_labels(target: Target, params: Mapping[str, Any]) -> Verdict:
    obj = object_of(target)
    ns = target.resource.display_name()
    if target.context.get("implied"):
        return unknown(f"namespace {ns} has no Namespace object among the inputs: its Pod Security Admission "
                       f"labels are unknown", [])
    minimum = str(params.get("minimumLevel", "baseline"))
    allowed = [lvl for lvl in LEVELS if LEVELS.index(lvl) >= LEVELS.index(minimum)] if minimum in LEVELS else ["restricted"]
    labels = labels_of(meta(obj.body if obj else target.body))
    value = labels.get(PSA_ENFORCE, ABSENT)
    f = Findings()
    f.check(value in allowed, f"metadata.labels.{PSA_ENFORCE}", "in", allowed, value)
    return f.verdict()


def psa_restricted(target: Target, params: Mapping[str, Any]) -> Verdict:
    return psa_labels(target, {"minimumLevel": "restricted"})


# -- group ids (Azure Policy's restricted initiative: runAsGroup, supplementalGroups and fsGroup MustRunAs 1-65535) --

def _in_range(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def group_ids(target: Target, params: Mapping[str, Any]) -> Verdict:
    """runAsGroup (container, else pod) and fsGroup set within the range; supplementalGroups, where given, too."""
    low, high = int(params.get("minimumGroupId", 1)), int(params.get("maximumGroupId", 65535))
    allowed = f"{low}..{high}"
    v = pod_view(target)
    f = Findings()
    fs = val(v.sc, "fsGroup")
    f.check(_in_range(fs, low, high), v.p("securityContext.fsGroup"), "in", allowed, fs)
    for i, g in enumerate(as_list(v.sc.get("supplementalGroups"))):
        f.check(_in_range(g, low, high), v.p(f"securityContext.supplementalGroups[{i}]"), "in", allowed, g)
    pod_group = val(v.sc, "runAsGroup")
    if pod_group is not ABSENT:
        f.check(_in_range(pod_group, low, high), v.p("securityContext.runAsGroup"), "in", allowed, pod_group)
    for c in v.containers():
        cg = val(c.sc, "runAsGroup")
        if cg is not ABSENT:
            f.check(_in_range(cg, low, high), c.p("securityContext.runAsGroup"), "in", allowed, cg)
        elif pod_group is ABSENT:
            f.fail(c.p("securityContext.runAsGroup"), "in", f"{allowed} (container, or pod-level)", ABSENT)
    return f.verdict()


def _c(id: str, title: str, level: str, check_id: str, severity: Severity, rationale: str, remediation: str,
       check, mappings: Mappings, builtin: str | None, **kw):
    return k8s_control(
        id=id, title=title, severity=severity, section=BASELINE if level == "baseline" else RESTRICTED,
        rationale=rationale, remediation=remediation, mappings=mappings, types=W, check=check,
        policy_gap=gap_text(builtin), pss_check=check_id, references=(PSS_REF,), exclusions=WORKLOAD_ADMISSION, **kw)


CONTROLS = [
    _c("AKS-100", "Containers do not run privileged", "baseline", "privileged", Severity.HIGH,
       "A privileged container has every capability and access to all host devices: it is root on the node, and "
       "escaping the container is trivial. Pod Security Standards baseline forbids securityContext.privileged=true "
       "in every container, init container and ephemeral container.",
       "Remove securityContext.privileged or set it to false in every container; grant only the specific "
       "capabilities a workload needs.", privileged,
       Mappings(cis_aks=("4.2.1",), azure_policy=("95edb821-ddaf-4404-9732-666045e056b4",), pss=("baseline",),
                mitre=("T1611",)), "95edb821-ddaf-4404-9732-666045e056b4",
       mapping_note="kubescape C-0057 also fails a container that adds SYS_ADMIN (AKS-106 fails it), so it is not "
                    "mapped; " + PSP_NOTE, tags=(CONTAINER_SCOPE,)),
    _c("AKS-101", "Pods do not share the host process ID namespace (hostPID)", "baseline", "hostNamespaces",
       Severity.HIGH,
       "With hostPID a container sees every process on the node and can signal or trace them (with ptrace rights), "
       "reading secrets from other workloads' memory and environment. Pod Security Standards baseline forbids "
       "spec.hostPID=true.",
       "Remove spec.hostPID (or set it to false) in the pod spec or pod template.", _host_field("hostPID"),
       Mappings(cis_aks=("4.2.2",), kubescape=("C-0275",), azure_policy=("47a1ee2f-2a2a-4576-bf2a-e0e36709c2b8",),
                pss=("baseline",), mitre=("T1611",)), "47a1ee2f-2a2a-4576-bf2a-e0e36709c2b8",
       mapping_note="kubescape C-0038 fails hostPID or hostIPC together; hostPID alone is C-0275. " + PSP_NOTE),
    _c("AKS-102", "Pods do not share the host IPC namespace (hostIPC)", "baseline", "hostNamespaces", Severity.HIGH,
       "With hostIPC a container shares System V IPC and POSIX shared memory with every process on the node and "
       "can read or corrupt data other workloads exchange there. Pod Security Standards baseline forbids "
       "spec.hostIPC=true.",
       "Remove spec.hostIPC (or set it to false) in the pod spec or pod template.", _host_field("hostIPC"),
       Mappings(cis_aks=("4.2.3",), kubescape=("C-0276",), azure_policy=("47a1ee2f-2a2a-4576-bf2a-e0e36709c2b8",),
                pss=("baseline",), mitre=("T1611",)), "47a1ee2f-2a2a-4576-bf2a-e0e36709c2b8",
       mapping_note="kubescape C-0038 fails hostPID or hostIPC together; hostIPC alone is C-0276. " + PSP_NOTE),
    _c("AKS-103", "Pods do not use the host network namespace (hostNetwork)", "baseline", "hostNamespaces",
       Severity.HIGH,
       "A pod on the host network bypasses network policies, can bind to node ports, sniff node traffic and reach "
       "services listening on localhost of the node (kubelet, metadata endpoints). Pod Security Standards baseline "
       "forbids spec.hostNetwork=true.",
       "Remove spec.hostNetwork (or set it to false); expose the workload through a Service instead.",
       _host_field("hostNetwork"),
       Mappings(cis_aks=("4.2.4",), kubescape=("C-0041",), azure_policy=("82985f06-dc18-4a48-bc1c-b9f4f0098cfe",),
                pss=("baseline",), mitre=("T1611",)), "82985f06-dc18-4a48-bc1c-b9f4f0098cfe", mapping_note=PSP_NOTE),
    _c("AKS-104", "Containers do not bind host ports", "baseline", "hostPorts", Severity.MEDIUM,
       "A hostPort exposes the container directly on the node's address, outside Services and network policies, "
       "and limits scheduling. Pod Security Standards baseline allows hostPort only unset or 0 in every container.",
       "Remove ports[*].hostPort (or set it to 0) and expose the workload through a Service.", host_ports,
       Mappings(kubescape=("C-0044",), azure_policy=("82985f06-dc18-4a48-bc1c-b9f4f0098cfe",), pss=("baseline",),
                mitre=("T1133",)),
       "82985f06-dc18-4a48-bc1c-b9f4f0098cfe", tags=(CONTAINER_SCOPE,)),
    _c("AKS-105", "Pods do not mount hostPath volumes", "baseline", "hostPathVolumes", Severity.HIGH,
       "A hostPath volume gives the container the node's filesystem: the container runtime socket, kubelet "
       "credentials, other pods' data. It is the most common container escape. Pod Security Standards baseline "
       "forbids spec.volumes[*].hostPath.",
       "Replace hostPath volumes with emptyDir, a persistentVolumeClaim, a configMap or secret, or a CSI volume.",
       host_path_volumes,
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
       "Remove every other capability from securityContext.capabilities.add.", capabilities_baseline,
       Mappings(azure_policy=("c26596ff-4d70-4e6a-9a30-c2506bd2f80c", "d2e7ea85-6b44-4317-a0be-1b951587f626"),
                pss=("baseline",), mitre=("T1611",)),
       "c26596ff-4d70-4e6a-9a30-c2506bd2f80c",
       mapping_note="kubescape C-0046 flags a deny-list of capabilities (its insecureCapabilities input, which includes "
                    "SETPCAP that baseline allows); that is AKS-159. " + PSP_NOTE, tags=(CONTAINER_SCOPE,)),
    _c("AKS-107", "Containers keep the default /proc mount", "baseline", "procMount", Severity.MEDIUM,
       "The default /proc mount masks kernel interfaces that leak host information or allow changing host "
       "settings. An Unmasked procMount removes those masks. Pod Security Standards baseline allows procMount "
       "unset or Default; from v1.35 any value is allowed in a user namespace (spec.hostUsers: false).",
       "Remove securityContext.procMount or set it to Default.", proc_mount,
       Mappings(azure_policy=("f85eb0dd-92ee-40e9-8a76-db25a507d6d3",), pss=("baseline",), mitre=("T1611",)),
       "f85eb0dd-92ee-40e9-8a76-db25a507d6d3", mapping_note=C0211_NOTE, tags=(CONTAINER_SCOPE,)),
    _c("AKS-108", "Pods set only safe sysctls", "baseline", "sysctls", Severity.MEDIUM,
       "Sysctls outside the namespaced, isolated safe set change kernel settings for the whole node or disable "
       "security mechanisms. Pod Security Standards baseline allows only the safe set of the version checked "
       "(five in v1.0; ip_local_reserved_ports from v1.27; tcp keepalive and fin timeout from v1.29; tcp_rmem and "
       "tcp_wmem from v1.32; tcp_slow_start_after_idle and tcp_notsent_lowat from v1.37).",
       "Remove other entries from spec.securityContext.sysctls, or move the workload to dedicated nodes with the "
       "setting applied by node configuration.", sysctls,
       Mappings(azure_policy=("56d0a13f-712f-466b-8416-56fb354fb823",
                                                      "5e5a0673-649e-4d50-bf9d-5a387a4e2081"), pss=("baseline",),
                mitre=("T1611",)),
       "56d0a13f-712f-466b-8416-56fb354fb823", mapping_note=C0211_NOTE),
    _c("AKS-109", "Seccomp is not disabled (no Unconfined profile)", "baseline", "seccompProfile_baseline",
       Severity.MEDIUM,
       "Seccomp filters the system calls a container can make; Unconfined removes the filter and exposes the whole "
       "kernel attack surface. Pod Security Standards baseline allows seccompProfile.type RuntimeDefault, Localhost "
       "or unset at pod and container level (from v1.19; before that, the seccomp annotations).",
       "Set securityContext.seccompProfile.type to RuntimeDefault (or Localhost) or leave it unset; never Unconfined.",
       seccomp_baseline,
       Mappings(azure_policy=("975ce327-682c-4f2e-aa46-b9598289b86c",), pss=("baseline",), mitre=("T1611",)),
       "975ce327-682c-4f2e-aa46-b9598289b86c",
       mapping_note="kubescape C-0210 requires a RuntimeDefault profile to be set (AKS-118 requires a profile); "
                    "baseline only forbids Unconfined. " + C0055_NOTE, tags=(CONTAINER_SCOPE,)),
    _c("AKS-110", "AppArmor is not disabled or overridden", "baseline", "appArmorProfile", Severity.MEDIUM,
       "On nodes with AppArmor the runtime default profile confines every container; setting the profile to "
       "Unconfined (or another unlisted value) removes that confinement. Pod Security Standards baseline allows "
       "appArmorProfile.type RuntimeDefault, Localhost or unset, and the legacy annotations runtime/default, "
       "localhost/* or empty.",
       "Remove appArmorProfile (or the container.apparmor.security.beta.kubernetes.io annotations) or set them "
       "to RuntimeDefault / runtime/default or a Localhost profile.", app_armor,
       Mappings(azure_policy=("511f5417-5d12-434d-ab2e-816901e72a5e",), pss=("baseline",), mitre=("T1611",)),
       "511f5417-5d12-434d-ab2e-816901e72a5e", mapping_note=C0055_NOTE, tags=(CONTAINER_SCOPE,)),
    _c("AKS-111", "SELinux options stay within the allowed types", "baseline", "seLinuxOptions", Severity.MEDIUM,
       "A custom SELinux type, user or role can give a container a less confined label than the runtime's "
       "default. Pod Security Standards baseline allows seLinuxOptions.type empty, container_t, container_init_t, "
       "container_kvm_t (and container_engine_t from v1.31), and forbids setting user or role.",
       "Remove seLinuxOptions.user and .role and use one of the allowed types (or none).", se_linux,
       Mappings(azure_policy=("e1e6c427-07d9-46ab-9689-bfa85431e636",), pss=("baseline",), mitre=("T1611",)),
       "e1e6c427-07d9-46ab-9689-bfa85431e636",
       mapping_note="kubescape's set-seLinuxOptions (part of C-0211) asks for seLinuxOptions to be set on every pod, "
                    "which AKS nodes (AppArmor) do not use; this control restricts their values. " + C0211_NOTE + " "
                    + C0055_NOTE, tags=(CONTAINER_SCOPE,)),
    _c("AKS-112", "Windows pods do not run HostProcess containers", "baseline", "windowsHostProcess", Severity.HIGH,
       "A Windows HostProcess container runs directly on the node with the node's privileges and network: it is "
       "the Windows equivalent of a privileged container. Pod Security Standards baseline forbids "
       "windowsOptions.hostProcess=true at pod and container level.",
       "Remove securityContext.windowsOptions.hostProcess or set it to false.", windows_host_process,
       Mappings(azure_policy=("077f0ce1-86d6-4058-bc60-de05067e8622",), pss=("baseline",), mitre=("T1611",)),
       "077f0ce1-86d6-4058-bc60-de05067e8622", mapping_note=C0211_NOTE, tags=(CONTAINER_SCOPE,)),
    _c("AKS-113", "Probes and lifecycle handlers do not target other hosts", "baseline", "hostProbesAndHostLifecycle",
       Severity.LOW,
       "A probe or lifecycle hook with a host field makes the kubelet, from the node's network position, send "
       "requests to an arbitrary address: a server-side request forgery into networks the pod itself cannot reach. "
       "Pod Security Standards baseline (from v1.34) allows host only empty or unset in httpGet and tcpSocket "
       "probes and lifecycle handlers.",
       "Remove the host field from livenessProbe, readinessProbe, startupProbe and lifecycle handlers.", host_probes,
       Mappings(pss=("baseline",), mitre=("T1090",)), None, pss_since=(1, 34), tags=(CONTAINER_SCOPE,)),
    _c("AKS-114", "Pods use only the restricted volume types", "restricted", "restrictedVolumes", Severity.MEDIUM,
       "Inline volume sources such as nfs, iscsi, azureDisk, azureFile or flexVolume connect the node directly "
       "to storage with credentials or drivers outside the cluster's storage policy. Pod Security Standards "
       "restricted allows only configMap, csi, downwardAPI, emptyDir, ephemeral, image, persistentVolumeClaim, "
       "projected and secret (the Azure Policy list lacks image).",
       "Replace other inline volume sources with persistentVolumeClaims backed by a StorageClass, or CSI volumes.",
       restricted_volumes,
       Mappings(azure_policy=("16697877-1118-4fb1-9b65-9898ec2509ec",), pss=("restricted",), mitre=("T1611",)),
       "16697877-1118-4fb1-9b65-9898ec2509ec"),
    _c("AKS-115", "Containers disallow privilege escalation", "restricted", "allowPrivilegeEscalation",
       Severity.MEDIUM,
       "Unless allowPrivilegeEscalation is false, a process can gain more privileges than its parent through "
       "setuid binaries or file capabilities. Pod Security Standards restricted requires every container to set "
       "it explicitly to false (Windows pods are exempt from v1.25).",
       "Set securityContext.allowPrivilegeEscalation: false in every container, init container and ephemeral "
       "container.", allow_privilege_escalation,
       Mappings(cis_aks=("4.2.5",), kubescape=("C-0016",), azure_policy=("1c6e92c9-99f0-4e55-9cf2-0c234dc48f99",),
                pss=("restricted",), mitre=("T1548",)), "1c6e92c9-99f0-4e55-9cf2-0c234dc48f99", pss_since=(1, 8),
       mapping_note=PSP_NOTE,
       windows_exempt_since=(1, 25), tags=(CONTAINER_SCOPE,)),
    _c("AKS-116", "Containers must run as non-root (runAsNonRoot)", "restricted", "runAsNonRoot", Severity.MEDIUM,
       "A container running as UID 0 is root inside the container and, after any escape, root on the node. "
       "runAsNonRoot makes the kubelet refuse to start a container whose user is root. Pod Security Standards "
       "restricted requires runAsNonRoot=true at pod level or in every container, and forbids false anywhere "
       "(any value in a user namespace from v1.35).",
       "Set spec.securityContext.runAsNonRoot: true (or in every container) and run the image as a non-zero UID.",
       run_as_non_root,
       Mappings(azure_policy=("f06ddb64-5fa3-4b77-b166-acb36f7f6042",), pss=("restricted",), mitre=("T1611",)),
       "f06ddb64-5fa3-4b77-b166-acb36f7f6042",
       mapping_note="kubescape C-0013 judges runAsUser, runAsGroup and allowPrivilegeEscalation together, which is not "
                    "the Pod Security Standards check, so it is not mapped. " + PSP_NOTE, tags=(CONTAINER_SCOPE,)),
    _c("AKS-117", "Containers do not set runAsUser 0", "restricted", "runAsUser", Severity.MEDIUM,
       "runAsUser: 0 runs the container as root explicitly, whatever the image says. Pod Security Standards "
       "restricted (from v1.23) requires runAsUser unset or non-zero at pod and container level (any value in a "
       "user namespace from v1.35).",
       "Set runAsUser to a non-zero UID (or remove it and rely on runAsNonRoot with a non-root image).", run_as_user,
       Mappings(azure_policy=("f06ddb64-5fa3-4b77-b166-acb36f7f6042",), pss=("restricted",), mitre=("T1611",)),
       "f06ddb64-5fa3-4b77-b166-acb36f7f6042", pss_since=(1, 23),
       mapping_note="kubescape C-0013 judges runAsUser, runAsGroup and allowPrivilegeEscalation together, which is not "
                    "the Pod Security Standards check, so it is not mapped.", tags=(CONTAINER_SCOPE,)),
    _c("AKS-118", "A seccomp profile is set (RuntimeDefault or Localhost)", "restricted", "seccompProfile_restricted",
       Severity.MEDIUM,
       "Without a seccomp profile most runtimes run containers unconfined. Pod Security Standards restricted "
       "(from v1.19) requires seccompProfile.type RuntimeDefault or Localhost at pod level, or in every container, "
       "and forbids any other value at either level (Windows pods are exempt from v1.25).",
       "Set spec.securityContext.seccompProfile.type: RuntimeDefault in the pod spec or pod template.",
       seccomp_restricted,
       Mappings(kubescape=("C-0210",), azure_policy=("975ce327-682c-4f2e-aa46-b9598289b86c",), pss=("restricted",),
                mitre=("T1611",)),
       "975ce327-682c-4f2e-aa46-b9598289b86c", pss_since=(1, 19),
       mapping_note="kubescape C-0210 names RuntimeDefault; a Localhost profile, which the Pod Security Standards "
                    "allow, passes here. " + C0055_NOTE, windows_exempt_since=(1, 25), tags=(CONTAINER_SCOPE,)),
    _c("AKS-119", "Containers drop ALL capabilities and add at most NET_BIND_SERVICE", "restricted",
       "capabilities_restricted", Severity.MEDIUM,
       "The runtime's default capability set still includes powers a workload rarely needs (NET_RAW for spoofing, "
       "CHOWN, DAC_OVERRIDE). Pod Security Standards restricted (from v1.22) requires capabilities.drop to contain "
       "ALL and allows adding back only NET_BIND_SERVICE (Windows pods are exempt from v1.25). The Azure Policy "
       "restricted initiative does not require drop ALL as shipped.",
       "Set securityContext.capabilities.drop: [ALL] in every container; add NET_BIND_SERVICE only if needed.",
       capabilities_restricted,
       Mappings(azure_policy=("c26596ff-4d70-4e6a-9a30-c2506bd2f80c",), pss=("restricted",), mitre=("T1611",)),
       "c26596ff-4d70-4e6a-9a30-c2506bd2f80c", pss_since=(1, 22), mapping_note=C0211_NOTE + " " + C0055_NOTE, windows_exempt_since=(1, 25), tags=(CONTAINER_SCOPE,)),
    _c("AKS-120", "Containers keep the default /proc mount, even in user namespaces", "restricted",
       "procMount_restricted", Severity.LOW,
       "From v1.35 the baseline level allows any procMount in a user namespace; the restricted level keeps "
       "requiring the default masks there too, since an unmasked /proc still exposes kernel interfaces. Pod "
       "Security Standards restricted (from v1.35) allows procMount only unset or Default.",
       "Remove securityContext.procMount or set it to Default.", proc_mount_restricted,
       Mappings(azure_policy=("f85eb0dd-92ee-40e9-8a76-db25a507d6d3",), pss=("restricted",), mitre=("T1611",)),
       "f85eb0dd-92ee-40e9-8a76-db25a507d6d3", pss_since=(1, 35), mapping_note=C0211_NOTE, tags=(CONTAINER_SCOPE,)),
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
        types=kinds.NAMESPACE, check=psa_labels, policy_gap=gap_text(None), exclusions=WORKLOAD_ADMISSION,
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
            "every supplementalGroups entry within it (an absent list is accepted: it adds no group)."),
        remediation=(
            "Set spec.securityContext.runAsGroup and fsGroup to a non-zero group id (and supplementalGroups, if "
            "used, to non-zero ids)."),
        references=(PSS_REF, "https://kubernetes.io/docs/tasks/configure-pod-container/security-context/"),
        mappings=Mappings(azure_policy=("f06ddb64-5fa3-4b77-b166-acb36f7f6042",), mitre=("T1611",)),
        mapping_note=("Azure's restricted initiative also requires supplementalGroups to be present; an absent list adds "
                      "no group and passes here. kubescape's set-fsgroup-value and set-supplementalgroups-values are "
                      "parts of C-0211, which is not mapped (see AKS-124)."),
        types=W, check=group_ids, policy_gap=gap_text("f06ddb64-5fa3-4b77-b166-acb36f7f6042"),
        parameters=(Parameter("minimumGroupId", 1, "Lowest group id allowed.", type="Integer",
                              schema={"minimum": 0, "maximum": 2147483647}),
                    Parameter("maximumGroupId", 65535, "Highest group id allowed.", type="Integer",
                              schema={"minimum": 0, "maximum": 2147483647}))),
    k8s_control(
        id="AKS-155", exclusions=WORKLOAD_ADMISSION,
        title="Namespaces enforce the restricted Pod Security Standards level", severity=Severity.MEDIUM,
        section="CIS 4.2",
        rationale=(
            "The baseline level (AKS-121) stops known privilege escalations; the restricted level also requires "
            "running as non-root, dropping ALL capabilities, forbidding privilege escalation and a seccomp profile, "
            "which is what CIS Kubernetes 5.2.6 to 5.2.10 (privilege escalation, root containers, NET_RAW, added "
            "and assigned capabilities) ask admission to minimize. Checked: the namespace label "
            "pod-security.kubernetes.io/enforce is restricted."),
        remediation=(
            "kubectl label namespace <ns> pod-security.kubernetes.io/enforce=restricted, after fixing the workloads "
            "the restricted controls (AKS-114 to AKS-120) fail."),
        references=("https://kubernetes.io/docs/concepts/security/pod-security-admission/",),
        mappings=Mappings(cis_aks=("4.2.5",), kubescape=("C-0197", "C-0198", "C-0199", "C-0200", "C-0201"),
                          mitre=("T1610", "T1611")),
        types=kinds.NAMESPACE, check=psa_restricted, policy_gap=gap_text(None)),
]
