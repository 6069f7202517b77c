"""Random workloads for the two-engine cross-check: Pods, Deployments and CronJobs whose pod specs set (or leave
out, or set wrongly) the fields the Pod Security Standards and the workload controls read, in every container
group. Seeded, so a failure names a reproducible object."""

from __future__ import annotations

import random
from typing import Any

SECCOMP = [{"type": "RuntimeDefault"}, {"type": "Unconfined"}, {"type": "Localhost", "localhostProfile": "p.json"}, {},
           {"type": "Other"}]
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
