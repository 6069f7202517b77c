"""Random workloads for the two-engine cross-check: Pods, Deployments and CronJobs whose pod specs set (or leave
out, or set wrongly) the fields the Pod Security Standards and the workload controls read, in every container
group. Seeded, so a failure names a reproducible object."""

from __future__ import annotations

import random
from typing import Any

# profiles the API server admits: a profile without a type, of another type, or Localhost without localhostProfile is
# rejected (an error, k8s.shapes; test_gatekeeper_fuzz.py draws those and counts them as malformed)
SECCOMP = [{"type": "RuntimeDefault"}, {"type": "Unconfined"}, {"type": "Localhost", "localhostProfile": "p.json"}]
APPARMOR = [{"type": "RuntimeDefault"}, {"type": "Unconfined"}, {"type": "Localhost", "localhostProfile": "p"}]
SELINUX = [{"type": "container_t"}, {"type": "spc_t"}, {"user": "u"}, {"role": "r"}, {"type": "container_engine_t"},
           {"level": "s0"}, {"type": ""}]
CAPS = ["NET_BIND_SERVICE", "CHOWN", "SYS_ADMIN", "NET_RAW", "ALL", "KILL"]
SYSCTLS = ["kernel.shm_rmid_forced", "net.ipv4.ip_local_reserved_ports", "net.ipv4.tcp_keepalive_time",
           "net.ipv4.tcp_rmem", "net.ipv4.tcp_slow_start_after_idle", "kernel.msgmax",
           "net.ipv4.ip_unprivileged_port_start"]
VOLUMES = [{"hostPath": {"path": "/var"}}, {"emptyDir": {}}, {"nfs": {"server": "s", "path": "/"}},
           {"configMap": {"name": "c"}}, {}, {"projected": {"sources": []}}, {"image": {"reference": "x"}},
           {"azureFile": {"secretName": "s", "shareName": "x"}}, {"csi": {"driver": "d"}}]
IMAGES = ["myacr.azurecr.io/x:1", "nginx", "nginx:latest", "docker.io/library/nginx:1.2",
          "mcr.microsoft.com/a/b@sha256:abc", "localhost:5000/x", "MyAcr.AzureCR.io/team/x:2",
          "ghcr.io/o/r:v1@sha256:1", "reg.example.com:443/a/b"]
ENV = [{"name": "A", "value": "x"}, {"name": "B", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
       {"name": "C", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k"}}},
       {"name": "D", "valueFrom": {"secretKeyRef": {}}}]


# the quantities drawn, with the numbers they stand for
QUANTITIES: dict[Any, float] = {"100m": 0.1, "0": 0, 0: 0, "0m": 0, "1": 1, 1: 1, "128Mi": 128 * 2**20}


class PodGenerator:
    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)

    def maybe(self, *options: Any, absent: float = 0.5) -> Any:
        return None if self.r.random() < absent else self.r.choice(options)

    @staticmethod
    def put(d: dict[str, Any], key: str, value: Any) -> None:
        if value is not None:
            d[key] = value

    def container_security(self) -> dict[str, Any]:
        sc: dict[str, Any] = {}
        self.put(sc, "privileged", self.maybe(True, False, absent=0.7))
        self.put(sc, "allowPrivilegeEscalation", self.maybe(True, False))
        if sc.get("privileged") is True and sc.get("allowPrivilegeEscalation") is False:
            sc["allowPrivilegeEscalation"] = True  # the API server refuses false beside privileged (k8s.shapes)
        self.put(sc, "runAsNonRoot", self.maybe(True, False, absent=0.6))
        self.put(sc, "runAsUser", self.maybe(0, 1000, absent=0.6))
        self.put(sc, "runAsGroup", self.maybe(0, 1000, absent=0.6))
        self.put(sc, "procMount", self.maybe("Default", "Unmasked", absent=0.7))
        self.put(sc, "seccompProfile", self.maybe(*SECCOMP, absent=0.6))
        self.put(sc, "appArmorProfile", self.maybe(*APPARMOR, absent=0.7))
        self.put(sc, "seLinuxOptions", self.maybe(*SELINUX, absent=0.7))
        self.put(sc, "readOnlyRootFilesystem", self.maybe(True, False, absent=0.7))
        if self.r.random() < 0.2:
            sc["windowsOptions"] = {"hostProcess": self.r.choice([True, False])}
        if self.r.random() < 0.6:
            caps: dict[str, Any] = {}
            self.put(caps, "drop", self.maybe(["ALL"], ["NET_RAW"], [], absent=0.3))
            self.put(caps, "add", self.maybe(self.r.sample(CAPS, self.r.randint(0, 2)), absent=0.4))
            sc["capabilities"] = caps
        return sc

    def container(self, i: int, group: str) -> dict[str, Any]:
        c: dict[str, Any] = {"name": f"{group[:4]}{i}"}
        self.put(c, "image", self.maybe(*IMAGES, absent=0.05))
        if self.r.random() < 0.85:
            c["securityContext"] = self.container_security()
        if self.r.random() < 0.4:
            c["env"] = [self.r.choice(ENV)]
        if self.r.random() < 0.2:
            c["envFrom"] = [self.r.choice([{"secretRef": {"name": "s"}}, {"configMapRef": {"name": "c"}}])]
        if group != "ephemeralContainers":
            if self.r.random() < 0.7:
                # quantities the API server accepts ("" is not one: resource.ParseQuantity rejects it)
                c["resources"] = res = {f: {k: self.r.choice(list(QUANTITIES))
                                            for k in self.r.sample(["cpu", "memory"], self.r.randint(0, 2))}
                                        for f in ("limits", "requests") if self.r.random() < 0.6}
                for k in set(res.get("limits", {})) & set(res.get("requests", {})):
                    # a request above its limit is rejected too ("must be less than or equal to ... limit")
                    lim, req = res["limits"][k], res["requests"][k]
                    if QUANTITIES[req] > QUANTITIES[lim]:
                        res["limits"][k], res["requests"][k] = req, lim
            if self.r.random() < 0.3:
                port: dict[str, Any] = {"containerPort": 80}
                self.put(port, "hostPort", self.maybe(0, 80))
                c["ports"] = [port]
        if self.r.random() < 0.2:
            action: dict[str, Any] = {"port": 80}
            self.put(action, "host", self.maybe("", "10.0.0.1", absent=0.4))
            c[self.r.choice(["livenessProbe", "readinessProbe", "startupProbe"])] = {
                self.r.choice(["httpGet", "tcpSocket"]): action}
        if self.r.random() < 0.1:
            c["lifecycle"] = {"preStop": {"httpGet": {"port": 80, "host": "1.2.3.4"}}}
        return c

    def pod(self) -> tuple[dict[str, Any], dict[str, Any]]:
        r = self.r
        spec: dict[str, Any] = {"containers": [self.container(i, "containers") for i in range(r.randint(1, 2))]}
        if r.random() < 0.3:
            spec["initContainers"] = [self.container(0, "initContainers")]
        if r.random() < 0.2:
            spec["ephemeralContainers"] = [self.container(0, "ephemeralContainers")]
        for f in ("hostPID", "hostIPC", "hostNetwork"):
            self.put(spec, f, self.maybe(True, False, absent=0.8))
        self.put(spec, "hostUsers", self.maybe(False, True, absent=0.7))
        self.put(spec, "serviceAccountName", self.maybe("default", "web"))
        self.put(spec, "serviceAccount", self.maybe("default", "legacy", absent=0.8))
        if r.random() < 0.15:
            spec["os"] = {"name": r.choice(["windows", "linux"])}
        if r.random() < 0.8:
            sc: dict[str, Any] = {}
            self.put(sc, "runAsNonRoot", self.maybe(True, False))
            self.put(sc, "runAsUser", self.maybe(0, 1000, absent=0.6))
            self.put(sc, "runAsGroup", self.maybe(0, 1000))
            self.put(sc, "fsGroup", self.maybe(0, 1000))
            self.put(sc, "supplementalGroups", self.maybe([], [0], [1000], absent=0.7))
            self.put(sc, "seccompProfile", self.maybe(*SECCOMP))
            self.put(sc, "appArmorProfile", self.maybe(*APPARMOR, absent=0.7))
            self.put(sc, "seLinuxOptions", self.maybe(*SELINUX, absent=0.7))
            if r.random() < 0.3:
                sc["sysctls"] = [{"name": n, "value": "1"} for n in r.sample(SYSCTLS, r.randint(1, 2))]
            if r.random() < 0.1:
                sc["windowsOptions"] = {"hostProcess": True}
            spec["securityContext"] = sc
        if r.random() < 0.5:
            spec["volumes"] = [{"name": f"v{i}", **r.choice(VOLUMES)} for i in range(r.randint(1, 2))]
        annotations = {}
        first = spec["containers"][0]["name"]
        if r.random() < 0.3:
            annotations["seccomp.security.alpha.kubernetes.io/pod"] = r.choice(
                ["runtime/default", "unconfined", "localhost/x", "docker/default"])
        if r.random() < 0.3:
            annotations[f"container.seccomp.security.alpha.kubernetes.io/{first}"] = r.choice(
                ["runtime/default", "unconfined"])
        if r.random() < 0.3:
            annotations[f"container.apparmor.security.beta.kubernetes.io/{first}"] = r.choice(
                ["runtime/default", "unconfined", "localhost/x", ""])
        meta: dict[str, Any] = {"labels": {"app": "x"}}
        if annotations:
            meta["annotations"] = annotations
        if spec.get("os", {}).get("name") == "windows":  # the API server refuses Linux settings there (k8s.shapes)
            from aks_compliance.k8s.shapes import WINDOWS_CONTAINER_FORBIDDEN, WINDOWS_POD_FORBIDDEN
            for sc, forbidden in [(spec.get("securityContext") or {}, WINDOWS_POD_FORBIDDEN)] + [
                    (c.get("securityContext") or {}, WINDOWS_CONTAINER_FORBIDDEN)
                    for g in ("containers", "initContainers", "ephemeralContainers") for c in spec.get(g, [])]:
                for key in forbidden:
                    sc.pop(key, None)
        return spec, meta

    def workload(self, i: int, namespace: str = "app") -> dict[str, Any]:
        spec, meta = self.pod()
        kind = self.r.choice(["Pod", "Pod", "Deployment", "CronJob"])
        if kind == "Pod":
            m = {"name": f"w{i}", "namespace": namespace, **meta}
            if self.r.random() < 0.4:
                m["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "u"}]
            return {"apiVersion": "v1", "kind": "Pod", "metadata": m, "spec": spec}
        template = {"metadata": meta, "spec": spec}
        if kind == "Deployment":
            return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": f"w{i}", "namespace": namespace},
                    "spec": {"selector": {"matchLabels": {"app": "x"}}, "template": template}}
        return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": f"w{i}", "namespace": namespace},
                "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": template}}}}


def workloads(seed: int, count: int) -> list[dict[str, Any]]:
    g = PodGenerator(seed)
    return [g.workload(i) for i in range(count)]


# --- the harsh generator: what real and hostile objects hold ---------------------------------------------
#
# Every workload kind at its real template path, and the other kinds object rules judge (Namespace, Service,
# Ingress, Role, ClusterRole). Values are drawn from wide domains: case variants, CAP_ prefixes, quantities in every
# notation, integral floats, explicit nulls, odd keys; and, rarely, a value of the wrong JSON type ("true" for true,
# a list for an object ...), which the API server rejects: the scan must make such an object an error, never a
# verdict (tests/test_gatekeeper_fuzz.py keeps those out of the two-engine comparison and counts them).

NULL = object()  # an explicit null (put() leaves None out)

API_VERSIONS = {"Pod": "v1", "ReplicationController": "v1", "PodTemplate": "v1", "Deployment": "apps/v1",
                "StatefulSet": "apps/v1", "DaemonSet": "apps/v1", "ReplicaSet": "apps/v1", "Job": "batch/v1",
                "CronJob": "batch/v1"}
NAMESPACES = ["app", "app", "app", "default", "kube-system", "gatekeeper-system", "azure-arc",
              "azure-extensions-usage-system", "kube-public", "kube-node-lease", "team-a", "kube-system-2", "system"]
CAP_NAMES = ["NET_BIND_SERVICE", "net_bind_service", "CAP_NET_BIND_SERVICE", "Net_Bind_Service", "SYS_ADMIN",
             "sys_admin", "CAP_SYS_ADMIN", "cap_sys_admin", "Cap_Sys_Admin", "ALL", "all", "All", "CAP_ALL", "NET_RAW",
             "CAP_NET_RAW", "CHOWN", "chown", "KILL", "SYS_CHROOT", "AUDIT_WRITE", "SETPCAP", "MKNOD", "BPF",
             "PERFMON", "SYS_PTRACE", "NET_ADMIN", "", " ALL", "ALL ", "SYS_ADMIN\u200b", "ＡＬＬ",
             "\u017fys_admin", "sys_adm\u0131n", "SYS_ADM\u0130N", "CAP_\u017fYS_ADMIN", "ALL\x00", "\x00"]
SECCOMP_TYPES_ANY = ["RuntimeDefault", "Localhost", "Unconfined", "runtimedefault", "RUNTIMEDEFAULT", "localhost",
                     "unconfined", "", "Other", " RuntimeDefault", NULL]
SELINUX_TYPES_ANY = ["", "container_t", "container_init_t", "container_kvm_t", "container_engine_t", "spc_t",
                     "Container_t", "unconfined_t", NULL]
SYSCTL_NAMES = ["kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
                "net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start", "net.ipv4.ip_local_reserved_ports",
                "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
                "net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem",
                "net.ipv4.tcp_slow_start_after_idle", "net.ipv4.tcp_notsent_lowat", "kernel.msgmax", "kernel.sem",
                "net.core.somaxconn", "vm.swappiness", "Kernel.Shm_rmid_forced", "net/ipv4/tcp_syncookies",
                "kernel.shm_rmid_forced ", ""]
VOLUME_SOURCES: list[dict[str, Any]] = [
    {"hostPath": {"path": "/var/run/docker.sock"}}, {"hostPath": {"path": "/", "type": "Directory"}},
    {"hostPath": {}}, {"emptyDir": {}}, {"emptyDir": {"medium": "Memory", "sizeLimit": "1Gi"}},
    {"configMap": {"name": "c"}}, {"secret": {"secretName": "s"}}, {"persistentVolumeClaim": {"claimName": "p"}},
    {"projected": {"sources": [{"serviceAccountToken": {"path": "t"}}]}}, {"downwardAPI": {"items": []}},
    {"csi": {"driver": "file.csi.azure.com"}}, {"ephemeral": {"volumeClaimTemplate": {"spec": {}}}},
    {"image": {"reference": "x:1"}}, {"azureFile": {"secretName": "s", "shareName": "x"}},
    {"azureDisk": {"diskName": "d", "diskURI": "u"}}, {"nfs": {"server": "s", "path": "/"}},
    {"iscsi": {"targetPortal": "t", "iqn": "i", "lun": 0}}, {"rbd": {"monitors": ["m"], "image": "i"}},
    {"cephfs": {"monitors": ["m"]}}, {"cinder": {"volumeID": "v"}}, {"fc": {}}, {"flocker": {"datasetName": "d"}},
    {"flexVolume": {"driver": "d"}}, {"gcePersistentDisk": {"pdName": "p"}},
    {"awsElasticBlockStore": {"volumeID": "v"}}, {"gitRepo": {"repository": "r"}},
    {"glusterfs": {"endpoints": "e", "path": "p"}}, {"photonPersistentDisk": {"pdID": "p"}},
    {"portworxVolume": {"volumeID": "v"}}, {"quobyte": {"registry": "r", "volume": "v"}},
    {"scaleIO": {"gateway": "g", "system": "s", "secretRef": {}}}, {"storageos": {}},
    {"vsphereVolume": {"volumePath": "p"}}, {}, {"hostPath": None}, {"emptyDir": None, "configMap": {"name": "c"}},
    {"nfs": None}, {"emptyDir": {}, "hostPath": {"path": "/x"}}]
HARSH_IMAGES = IMAGES + [
    "nginx:1.25", "nginx@sha256:" + "a" * 64, "nginx:latest@sha256:" + "b" * 64, "NGINX:LATEST", "nginx:Latest",
    "registry:5000/team/app", "registry:5000/team/app:5000", "myacr.azurecr.io/x", "myacr.azurecr.io:443/x:1",
    "evil.azurecr.io.attacker.com/x:1", "azurecr.io/x:1", "a.azurecr.io/x:latest", "mcr.microsoft.com/oss/nginx:1",
    "MCR.Microsoft.com/x:1", "mcr.microsoft.com.evil.io/x:1", "docker.io/nginx", "index.docker.io/library/nginx:1",
    "localhost/x:1", "x@sha256:", "x:", ":1", "@sha256:abc", "a/b/c/d:1", "[::1]:5000/x:1", "ghcr.io/o/r@",
    "myacr.azurecr.io/team/x:1.0@sha256:" + "c" * 64, "library/nginx:1.0", "busybox", "", " nginx:1",
    "mcr.microsoft.com:443/x:1", "xmcr.microsoft.com/x:1", "mcr.microsoft.com/", "ünicode.azurecr.io/x:1",
    "[fd00::1]/x", "[fd00::1[:5000/x:1", "[fd00::1^/x:1", "Zfd00::1]/x:1", "[fd00::1]x:1", "[]/x:1"]
# resource.Quantity spellings the API server accepts (non-negative), with the number each stands for
HARSH_QUANTITIES: dict[Any, float] = {
    **QUANTITIES, "500m": 0.5, "0.5": 0.5, "1Gi": 2.0**30, "1e3": 1e3, "1E3": 1e3, "1k": 1e3, "1M": 1e6,
    "1Ki": 1024, "0.0": 0, "+0": 0, "-0": 0, "0e3": 0, "0Ki": 0, "0Gi": 0, "00": 0, ".0": 0, "0.": 0, "0n": 0,
    " 0": 0, "0 ": 0, "1n": 1e-9, "0.000000001": 1e-9, "2": 2, 2: 2, 0.5: 0.5, 0.0: 0, 1.0: 1, 1000: 1000,
    "1.5Gi": 1.5 * 2**30, "+1": 1, "1e-3": 1e-3, "0e0": 0, "0.0e10": 0, "100Mi": 100 * 2**20, "0.1m": 1e-4}
PROBE_HOSTS = ["", " ", "\x00", "\x00x", "localhost", "127.0.0.1", "10.0.0.1", "169.254.169.254",
               "metadata.google.internal", NULL]
ODD_KEYS = ["a", "app.kubernetes.io/name", "example.com/x.y", "x-y_z.w", "ключ", "a/b", "k8s.io/", "UPPER", "1",
            "seccomp.security.alpha.kubernetes.io/pod ", "container.apparmor.security.beta.kubernetes.io/",
            "container.apparmor.security.beta.kubernetes.io/c0/x", "Container.apparmor.security.beta.kubernetes.io/c0"]
ODD_VALUES = ["", "\x00", "x", "true", "false", "1", "null", "ünïcödé", "a b", "x" * 63, "runtime/default",
              "localhost/p"]
SECCOMP_ANNOTATION_VALUES = ["runtime/default", "docker/default", "unconfined", "localhost/x", "localhost/", "",
                             "Localhost/x", "RUNTIME/DEFAULT", "runtime/default ", "localhost", "other"]
APPARMOR_ANNOTATION_VALUES = ["runtime/default", "\x00", "\x00runtime/default", "unconfined", "localhost/x",
                              "localhost/", "", "Localhost/x",
                              "RUNTIME/DEFAULT", " runtime/default", "localhost", "docker/default"]
# integers outside int64 or outside a field's range (ids: 0 to 2147483647, ports: 0 to 65535), which the API
# server rejects; an integral float is decoded as the integer it is
OUT_OF_RANGE = [-1, -2147483648, 2147483648, 2**63 - 1, 2**63, 2**64, 2**64 + 1, 1e20, -1.0]
WRONG_TYPES = ["true", "True", "false", 0, 1, [], {}, [True], "1", 1.5]


class HarshPodGenerator(PodGenerator):
    """Workloads, and the other objects the object rules judge, from wide (and sometimes malformed) domains."""

    def __init__(self, seed: int, malformed: float = 0.003) -> None:
        super().__init__(seed)
        self.bad = malformed  # the chance that one field gets a value of the wrong JSON type

    # -- values -------------------------------------------------------------------------------------------

    def pick(self, options: list[Any], absent: float = 0.5, wrong: list[Any] | None = None) -> Any:
        """A value from ``options`` (NULL for an explicit null); None (left out) with chance ``absent``; rarely one
        of the wrong JSON type."""
        r = self.r
        if r.random() < self.bad:
            return r.choice(wrong if wrong is not None else WRONG_TYPES)
        if r.random() < absent:
            return None
        return r.choice(options)

    @staticmethod
    def set(d: dict[str, Any], key: str, value: Any) -> None:
        if value is NULL:
            d[key] = None
        elif value is not None:
            d[key] = value

    def boolean(self, absent: float = 0.5) -> Any:
        return self.pick([True, False, NULL], absent, ["true", "True", "false", 0, 1, [], {}, "yes"])

    def integer(self, absent: float = 0.5) -> Any:
        value = self.pick([0, 0, 1, 1000, 65535, 65536, 2147483647, 0.0, 1000.0, 1.0, NULL], absent,
                          ["0", "1000", True, False, 1.5, [], {}])
        if value is not None and self.r.random() < self.bad:  # a number the API server refuses (range)
            value = self.r.choice(OUT_OF_RANGE)
        return value

    def string(self, options: list[Any], absent: float = 0.5) -> Any:
        return self.pick(options, absent, [0, 1, True, [], {}])

    def many(self, make: Any, most: int) -> list[Any]:
        return [make(i) for i in range(self.r.randint(0, most))]

    # -- a container --------------------------------------------------------------------------------------

    def profile(self, localhost: bool = True) -> Any:
        r = self.r
        if r.random() < self.bad:
            return r.choice(["RuntimeDefault", [], [{"type": "RuntimeDefault"}], True])
        p: dict[str, Any] = {}
        if r.random() < 0.05:  # one the API server rejects (k8s.shapes): no type, another type, a misplaced or
            # missing localhostProfile: malformed, out of the comparison; the rest are admitted and compared
            self.set(p, "type", self.pick(SECCOMP_TYPES_ANY, 0.1))
            if localhost and r.random() < 0.3:
                self.set(p, "localhostProfile", self.string(["p.json", "", NULL], 0.2))
            return p
        p["type"] = r.choice(["RuntimeDefault", "Localhost", "Unconfined"])
        if p["type"] == "Localhost":
            p["localhostProfile"] = "p.json"
        return p

    def capabilities(self) -> Any:
        r = self.r
        if r.random() < self.bad:
            return r.choice(["ALL", ["ALL"], True])
        caps: dict[str, Any] = {}
        for key in ("add", "drop"):
            roll = r.random()
            if roll < 0.3:
                continue
            if roll < 0.35:
                caps[key] = None
            elif roll < 0.35 + self.bad:
                caps[key] = r.choice(["ALL", {"ALL": True}, "NET_RAW"])
            else:
                values: list[Any] = r.sample(CAP_NAMES, r.randint(0, 3))
                if r.random() < 0.1 and values:
                    values.append(values[0])  # a duplicate
                if r.random() < self.bad:
                    values.append(r.choice([None, 1, True, ["ALL"]]))
                caps[key] = values
        return caps

    def harsh_security_context(self, pod: bool) -> Any:
        r = self.r
        if r.random() < self.bad:
            return r.choice(["privileged", [], [{"privileged": True}], True])
        sc: dict[str, Any] = {}
        if not pod:
            for f in ("privileged", "allowPrivilegeEscalation", "readOnlyRootFilesystem"):
                self.set(sc, f, self.boolean())
            self.set(sc, "procMount", self.string(["Default", "Unmasked", "default", "", "DEFAULT", NULL], 0.7))
            if r.random() < 0.6:
                sc["capabilities"] = self.capabilities()
        self.set(sc, "runAsNonRoot", self.boolean())
        self.set(sc, "runAsUser", self.integer())
        self.set(sc, "runAsGroup", self.integer())
        if pod:
            self.set(sc, "fsGroup", self.integer())
            if r.random() < 0.3:
                sc["supplementalGroups"] = [self.integer(absent=0) for _ in range(r.randint(0, 3))]
            if r.random() < 0.35:
                sc["sysctls"] = [self.sysctl() for _ in range(r.randint(0, 3))]
        if r.random() < 0.5:
            sc["seccompProfile"] = self.profile() if r.random() > 0.05 else None
        if r.random() < 0.3:
            sc["appArmorProfile"] = self.profile() if r.random() > 0.05 else None
        if r.random() < 0.3:
            opts: dict[str, Any] = {}
            self.set(opts, "type", self.string(SELINUX_TYPES_ANY, 0.3))
            self.set(opts, "user", self.string(["", "u", "system_u", NULL], 0.6))
            self.set(opts, "role", self.string(["", "r", "system_r", NULL], 0.6))
            self.set(opts, "level", self.string(["s0", "s0:c1,c2", ""], 0.6))
            sc["seLinuxOptions"] = opts
        if r.random() < 0.2:
            wo: dict[str, Any] = {}
            self.set(wo, "hostProcess", self.boolean(0.2))
            self.set(wo, "runAsUserName", self.string(["NT AUTHORITY\\SYSTEM", "ContainerUser", NULL], 0.5))
            sc["windowsOptions"] = wo
        return sc

    def sysctl(self) -> Any:
        r = self.r
        if r.random() < self.bad:
            return r.choice(["kernel.shm_rmid_forced=1", {"name": 1, "value": "1"}, {"name": ["x"], "value": "1"}])
        return {"name": r.choice(SYSCTL_NAMES), "value": r.choice(["1", "0", "", "1 2"])}

    def quantity(self) -> Any:
        return self.r.choice(list(HARSH_QUANTITIES))

    def resources(self) -> Any:
        r = self.r
        if r.random() < self.bad:
            return r.choice([{"limits": {"cpu": "lots"}}, {"limits": {"memory": "1GB"}}, {"limits": "1"},
                             {"limits": {"cpu": True}}, {"requests": {"cpu": "-1"}}])
        res: dict[str, Any] = {}
        for f in ("limits", "requests"):
            if r.random() < 0.65:
                res[f] = {k: self.quantity() for k in r.sample(["cpu", "memory", "ephemeral-storage"],
                                                                r.randint(0, 3))}
            elif r.random() < 0.1:
                res[f] = None
        lim, req = res.get("limits") or {}, res.get("requests") or {}
        for k in set(lim) & set(req):  # a request above its limit is rejected: keep them in order
            if HARSH_QUANTITIES[req[k]] > HARSH_QUANTITIES[lim[k]]:
                lim[k], req[k] = req[k], lim[k]
        return res

    def probe(self) -> Any:
        r = self.r
        kind = r.choice(["httpGet", "tcpSocket", "exec", "grpc"])
        if kind == "exec":
            return {"exec": {"command": ["true"]}}
        if kind == "grpc":
            return {"grpc": {"port": 80}}
        action: dict[str, Any] = {"port": r.choice([80, "http"])}
        self.set(action, "host", self.pick(PROBE_HOSTS, 0.4, [0, True, [], {}]))
        return {kind: action}

    def ports(self) -> Any:
        r = self.r
        if r.random() < self.bad:
            return r.choice([{"containerPort": 80}, [{"containerPort": 80, "hostPort": "80"}], [80]])
        out = []
        for i in range(r.randint(0, 3)):
            port: dict[str, Any] = {"containerPort": 80 + i}
            self.set(port, "hostPort", self.pick([0, 0, 80, 8080, 65535, 0.0, 80.0, NULL], 0.4,
                                                 ["80", "0", True, [], 80.5] + OUT_OF_RANGE + [65536]))
            self.set(port, "protocol", self.pick(["TCP", "UDP", "SCTP"], 0.7))
            out.append(port)
        return out

    def env(self) -> list[Any]:
        r = self.r
        out = []
        for i in range(r.randint(0, 3)):
            e = dict(r.choice(ENV + [{"name": "E", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                                     {"name": "F", "value": ""}, {"name": "G"}]))
            e["name"] = f"{e['name']}{i}"
            if e.get("valueFrom") == {"secretKeyRef": {}}:
                e["valueFrom"] = {"secretKeyRef": {"name": "s", "key": "k", "optional": True}}
            out.append(e)
        return out

    def harsh_container(self, i: int, group: str) -> Any:
        r = self.r
        if r.random() < self.bad / 2:
            return r.choice(["nginx", None, ["nginx"]])
        c: dict[str, Any] = {"name": f"{group[:4].lower()}{i}"}
        self.set(c, "image", self.pick(HARSH_IMAGES + [NULL], 0.03, [1, True, ["nginx"], {}]))
        self.set(c, "imagePullPolicy", self.pick(["Always", "IfNotPresent", "Never"], 0.6))
        if r.random() < 0.85:
            c["securityContext"] = self.harsh_security_context(pod=False)
        elif r.random() < 0.2:
            c["securityContext"] = None
        if r.random() < 0.4:
            c["env"] = self.env()
        if r.random() < 0.2:
            c["envFrom"] = [r.choice([{"secretRef": {"name": "s"}}, {"configMapRef": {"name": "c"}},
                                      {"secretRef": {"name": "s"}, "prefix": "P_"}])
                            for _ in range(r.randint(0, 2))]
        if group != "ephemeralContainers":  # the API server rejects resources, ports and probes on these
            if r.random() < 0.75:
                c["resources"] = self.resources()
            if r.random() < 0.35:
                c["ports"] = self.ports()
            for p in ("livenessProbe", "readinessProbe", "startupProbe"):
                if r.random() < 0.15:
                    c[p] = self.probe()
            if r.random() < 0.15:
                c["lifecycle"] = {h: self.probe() for h in r.sample(["postStart", "preStop"], r.randint(1, 2))}
        return c

    # -- a pod spec and its metadata ----------------------------------------------------------------------

    def groups(self, spec: dict[str, Any]) -> None:
        r = self.r
        roll = r.random()
        n = 1 if roll < 0.6 else r.randint(2, 5) if roll < 0.97 else 0  # none: the API server rejects it
        spec["containers"] = [self.harsh_container(i, "containers") for i in range(n)]
        for g in ("initContainers", "ephemeralContainers"):
            roll = r.random()
            if roll < 0.55:
                continue
            if roll < 0.62:
                spec[g] = None if roll < 0.58 else []
            else:
                spec[g] = [self.harsh_container(i, g) for i in range(r.randint(1, 3))]

    def harsh_pod(self) -> tuple[dict[str, Any], dict[str, Any]]:
        r = self.r
        spec: dict[str, Any] = {}
        self.groups(spec)
        for f in ("hostPID", "hostIPC", "hostNetwork", "hostUsers", "automountServiceAccountToken",
                  "shareProcessNamespace"):
            self.set(spec, f, self.boolean(absent=0.75))
        self.set(spec, "serviceAccountName", self.string(["default", "web", "", "Default", NULL], 0.5))
        self.set(spec, "serviceAccount", self.string(["default", "legacy", "", NULL], 0.8))
        if r.random() < 0.2:
            spec["os"] = {} if r.random() < 0.1 else {"name": self.string(["windows", "linux", "Windows", "", NULL],
                                                                           0.05)}
        if r.random() < 0.15:
            spec["nodeSelector"] = {"kubernetes.io/os": r.choice(["windows", "linux"])}
        if r.random() < 0.8:
            spec["securityContext"] = self.harsh_security_context(pod=True)
        if r.random() < 0.5:
            spec["volumes"] = [{"name": f"v{i}", **r.choice(VOLUME_SOURCES)} for i in range(r.randint(0, 4))]
        names = [c["name"] for g in ("containers", "initContainers", "ephemeralContainers")
                 for c in (spec.get(g) or []) if isinstance(c, dict)] + ["nobody"]
        annotations: dict[str, Any] = {}
        if r.random() < 0.3:
            annotations["seccomp.security.alpha.kubernetes.io/pod"] = r.choice(SECCOMP_ANNOTATION_VALUES)
        for _ in range(r.choice([0, 0, 1, 2])):
            annotations[f"container.seccomp.security.alpha.kubernetes.io/{r.choice(names)}"] = r.choice(
                SECCOMP_ANNOTATION_VALUES)
        for _ in range(r.choice([0, 0, 1, 2])):
            annotations[f"container.apparmor.security.beta.kubernetes.io/{r.choice(names)}"] = r.choice(
                APPARMOR_ANNOTATION_VALUES)
        for _ in range(r.choice([0, 0, 1])):
            annotations[r.choice(ODD_KEYS)] = r.choice(ODD_VALUES)
        if r.random() < self.bad and annotations:
            annotations[next(iter(annotations))] = r.choice([True, 1, None, ["x"]])
        meta: dict[str, Any] = {}
        if r.random() < 0.8:
            meta["labels"] = {r.choice(ODD_KEYS): r.choice(ODD_VALUES) for _ in range(r.randint(0, 2))}
        if annotations or r.random() < 0.1:
            meta["annotations"] = annotations
        return spec, meta

    def metadata(self, name: str, namespaced: bool = True) -> dict[str, Any]:
        r = self.r
        m: dict[str, Any] = {"name": name}
        if namespaced:
            roll = r.random()
            if roll < 0.85:
                m["namespace"] = r.choice(NAMESPACES)
            elif roll < 0.9:
                m["namespace"] = ""
            # else: none (kubectl's default namespace)
        if r.random() < 0.3:
            m["labels"] = {r.choice(ODD_KEYS): r.choice(ODD_VALUES)}
        return m

    def harsh_workload(self, i: int) -> dict[str, Any]:
        r = self.r
        kind = r.choice(list(API_VERSIONS) + ["Pod", "Deployment"])
        name = f"w{i}"
        spec, pod_meta = self.harsh_pod()
        meta = self.metadata(name)
        if kind == "Pod":
            meta.update(pod_meta)
            if r.random() < 0.4:
                meta["ownerReferences"] = r.choice([
                    [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "u", "controller": True}],
                    [{"apiVersion": "v1", "kind": "Node", "name": "n", "uid": "u"}], [], None])
            obj: dict[str, Any] = {"metadata": meta, "spec": spec}
        else:
            template = {"metadata": pod_meta, "spec": spec}
            if kind == "PodTemplate":
                obj = {"metadata": meta, "template": template}
            elif kind == "CronJob":
                obj = {"metadata": meta, "spec": {"schedule": "*/5 * * * *",
                                                  "jobTemplate": {"spec": {"template": template}}}}
            else:
                obj = {"metadata": meta, "spec": {"selector": {"matchLabels": {"app": "x"}}, "template": template}}
        return {"apiVersion": API_VERSIONS[kind], "kind": kind, **obj}

    # -- the other kinds object rules judge -----------------------------------------------------------------

    def namespace(self, i: int) -> dict[str, Any]:
        r = self.r
        labels: dict[str, Any] = {}
        for suffix, values in (("enforce", ["privileged", "baseline", "restricted", "Restricted", "BASELINE", "",
                                            "strict", " restricted", "restricted "]),
                               ("enforce-version", ["latest", "v1.30", "v1.0", "1.30", "v2.0", "v1.01", "LATEST",
                                                    "", "v1.3O", "v1.35"]),
                               ("warn", ["restricted", "baseline"]), ("audit", ["restricted"])):
            self.set(labels, f"pod-security.kubernetes.io/{suffix}", self.pick(values, 0.35, [1, True, None]))
        name = r.choice(NAMESPACES[2:8] + [f"ns{i}"])
        meta: dict[str, Any] = {"name": name}
        if labels or r.random() < 0.2:
            meta["labels"] = labels
        return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}

    def service(self, i: int) -> dict[str, Any]:
        r = self.r
        meta = self.metadata(f"s{i}")
        if r.random() < 0.6:
            meta["annotations"] = {"service.beta.kubernetes.io/azure-load-balancer-internal": r.choice(
                ["true", "True", "TRUE", "false", "", " true", "yes", "1"])}
        spec: dict[str, Any] = {"ports": [{"port": 80}], "selector": {"app": "x"}}
        self.set(spec, "type", self.string(["LoadBalancer", "LoadBalancer", "ClusterIP", "NodePort", "ExternalName",
                                            "loadbalancer", "", NULL], 0.1))
        return {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec}

    def ingress(self, i: int) -> dict[str, Any]:
        r = self.r
        meta = self.metadata(f"i{i}")
        annotations = {}
        for key in ("kubernetes.io/ingress.allow-http", "nginx.ingress.kubernetes.io/force-ssl-redirect",
                    "nginx.ingress.kubernetes.io/ssl-redirect", "appgw.ingress.kubernetes.io/ssl-redirect",
                    "traefik.ingress.kubernetes.io/router.tls"):
            if r.random() < 0.25:
                annotations[key] = r.choice(["true", "false", "True", "FALSE", "", "tRuE", " true", "1", "yes"])
        if annotations:
            meta["annotations"] = annotations
        spec: dict[str, Any] = {"rules": [{"host": r.choice(["a.example.com", "*.example.com"])}]}
        roll = r.random()
        if roll < 0.6:
            spec["tls"] = [{"hosts": ["a.example.com"], "secretName": "t"}] if r.random() < 0.8 else [{}]
        elif roll < 0.7:
            spec["tls"] = r.choice([[], None])
        return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta, "spec": spec}

    def role(self, i: int) -> dict[str, Any]:
        r = self.r
        kind = r.choice(["Role", "ClusterRole"])
        name = r.choice([f"r{i}", "cluster-admin", f"system:r{i}", f"System:r{i}", f"systemr{i}", f"cluster-admin-{i}",
                         f"r{{{i}", f"r[{i}]", "r{a,b}", "ra", f"system:{{a,b}}{i}", "r\x00"])
        words = ["", "*", "*/scale", "pods", "pods/*", "get", "list", " *", "**", "apps", "x*"]
        rules = []
        for _ in range(r.randint(0, 3)):
            rule: dict[str, Any] = {}
            for key in ("apiGroups", "resources", "verbs"):
                roll = r.random()
                if roll < 0.1:
                    continue
                rule[key] = None if roll < 0.13 else r.sample(words, r.randint(0, 3))
            rules.append(rule)
        meta = self.metadata(name, namespaced=kind == "Role")
        obj: dict[str, Any] = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": meta}
        if rules or r.random() < 0.5:
            obj["rules"] = rules
        return obj

    def harsh_object(self, i: int) -> dict[str, Any]:
        roll = self.r.random()
        if roll < 0.8:
            return self.harsh_workload(i)
        return [self.namespace, self.service, self.ingress, self.role][int((roll - 0.8) / 0.05)](i)


def _nulls(value: Any) -> Any:
    if value is NULL:
        return None
    if isinstance(value, dict):
        return {k: _nulls(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nulls(v) for v in value]
    return value


def harsh_objects(seed: int, count: int, malformed: float = 0.003) -> list[dict[str, Any]]:
    """``count`` objects (about 80 % workloads of every kind), each with a name unique in the list."""
    g = HarshPodGenerator(seed, malformed)
    return [_nulls(g.harsh_object(i)) for i in range(count)]
