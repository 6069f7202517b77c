"""In-cluster controls at scale: scan time and peak memory, and the collector's memory as lists grow.

    .venv/bin/python benchmarks/k8s_snapshot.py                 # both parts, default sizes
    .venv/bin/python benchmarks/k8s_snapshot.py scan            # 10,000 pods / 200 namespaces / 2,000 RBAC objects
    .venv/bin/python benchmarks/k8s_snapshot.py scan --suite    # also the full pytest suite over it (items per target above 20,000 results)
    .venv/bin/python benchmarks/k8s_snapshot.py collect 1000 10000 50000

scan:    a snapshot is generated (deterministic; realistic pods with status, owner references, mixed
         hardening; 200 namespaces with network policies on some; Roles, RoleBindings, ClusterRoles and
         ClusterRoleBindings), then run_scan() with every in-cluster control runs in a fresh process.
collect: tests/servers/k8s_server.py serves N generated pods on 127.0.0.1 from this process; the
         collector (the real kubernetes client, page size 500) runs in a fresh process and writes a
         snapshot. Its peak RSS should not grow with N: pages are processed and spooled, not kept.
Peak RSS is the child's own maximum (os.wait4), as in benchmarks/fleet.py.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# The measured processes use bytecode caches, as an installed package does (pip compiles them): with
# PYTHONDONTWRITEBYTECODE set, as on some CI images, every start compiles the whole package again.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

sys.path.insert(0, str(ROOT))  # tests.servers
BIN = Path(sys.executable).parent

from aks_compliance.k8s.kinds import COLLECTED  # noqa: E402
from aks_compliance.k8s.snapshot import write_snapshot  # noqa: E402

IMAGES = ["myacr.azurecr.io/shop/web:1.4.2", "mcr.microsoft.com/dotnet/aspnet:8.0", "nginx:1.27", "redis:latest",
          "myacr.azurecr.io/jobs/worker@sha256:" + "ab" * 32]


def make_pod(i: int, namespaces: int = 200) -> dict:
    rng = random.Random(i)
    ns = f"team-{i % namespaces:03d}"
    app = f"app-{(i // namespaces) % 25:02d}"
    hardened = rng.random() < 0.6
    sc = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}} \
        if hardened else ({"privileged": True} if rng.random() < 0.05 else {})
    containers = [{
        "name": app, "image": rng.choice(IMAGES), "imagePullPolicy": "IfNotPresent",
        "ports": [{"containerPort": 8080, "protocol": "TCP"}],
        "env": [{"name": "ASPNETCORE_URLS", "value": "http://*:8080"}, {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]
        + ([{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}] if rng.random() < 0.2 else []),
        "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}, "requests": {"cpu": "100m", "memory": "128Mi"}}
        if rng.random() < 0.7 else {"requests": {"cpu": "50m"}},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 10},
        "volumeMounts": [{"name": "kube-api-access", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": True}],
        "securityContext": sc, "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"}]
    if rng.random() < 0.3:
        containers.append({"name": "sidecar", "image": "mcr.microsoft.com/oss/envoyproxy/envoy:v1.29.2",
                           "securityContext": sc, "resources": {"limits": {"memory": "64Mi"}}})
    rs = f"{app}-{rng.randrange(16**8):08x}"
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": f"{rs}-{rng.randrange(36**5):05x}", "namespace": ns, "uid": f"{i:08d}-0000-4000-8000-000000000000",
                     "resourceVersion": str(100000 + i), "creationTimestamp": "2026-11-01T08:00:00Z",
                     "labels": {"app.kubernetes.io/name": app, "pod-template-hash": rs[-8:]},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs, "uid": f"rs-{i}",
                                          "controller": True, "blockOwnerDeletion": True}]},
        "spec": {"serviceAccountName": app if hardened else "default", "automountServiceAccountToken": not hardened,
                 "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "seccompProfile": {"type": "RuntimeDefault"}} if hardened else {},
                 "containers": containers, "restartPolicy": "Always", "dnsPolicy": "ClusterFirst",
                 "nodeName": f"aks-user-{i % 40:02d}-vmss000000", "schedulerName": "default-scheduler",
                 "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}],
                 "volumes": [{"name": "kube-api-access", "projected": {"sources": [{"serviceAccountToken": {"path": "token", "expirationSeconds": 3607}}]}}]},
        "status": {"phase": "Running", "podIP": f"10.244.{i // 250 % 256}.{i % 250}", "hostIP": f"10.224.0.{i % 40}",
                   "conditions": [{"type": t, "status": "True", "lastTransitionTime": "2026-11-01T08:00:05Z"}
                                  for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")],
                   "containerStatuses": [{"name": c["name"], "ready": True, "restartCount": 0, "image": c["image"],
                                          "imageID": "sha256:" + "cd" * 32, "started": True,
                                          "state": {"running": {"startedAt": "2026-11-01T08:00:04Z"}}} for c in containers]},
    }


def cluster(pods: int = 10_000, namespaces: int = 200, rbac: int = 2_000) -> list[dict]:
    objs: list[dict] = []
    for n in range(namespaces):
        labels = {"pod-security.kubernetes.io/enforce": "baseline"} if n % 3 else {}
        objs.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"team-{n:03d}", "labels": labels}})
        objs.append({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": f"team-{n:03d}"}})
        if n % 2:
            objs.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                         "metadata": {"name": "default-deny", "namespace": f"team-{n:03d}"},
                         "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}})
    for ns in ("kube-system", "default", "gatekeeper-system"):
        objs.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    objs += [make_pod(i, namespaces) for i in range(pods)]
    verbs = [["get", "list", "watch"], ["get", "list", "create", "update", "patch", "delete"], ["*"]]
    resources = [["pods", "services"], ["secrets"], ["deployments"], ["*"], ["pods/exec"], ["serviceaccounts/token"]]
    quarter = rbac // 4
    for i in range(quarter):
        ns = f"team-{i % namespaces:03d}"
        objs.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": f"role-{i}", "namespace": ns},
                     "rules": [{"apiGroups": [["", "apps"], ["*"]][i % 7 == 0], "resources": resources[i % 6], "verbs": verbs[i % 3]}]})
        objs.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": f"rb-{i}", "namespace": ns},
                     "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": f"role-{i}"},
                     "subjects": [{"kind": "Group", "name": f"group-{i % 97}"}, {"kind": "ServiceAccount", "name": "default"}]})
        objs.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": f"crole-{i}"},
                     "rules": [{"apiGroups": [""], "resources": resources[(i + 1) % 6], "verbs": verbs[(i + 2) % 3]}]})
        objs.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": f"crb-{i}"},
                     "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": f"crole-{i}"},
                     "subjects": [{"kind": "User", "name": f"user-{i}@contoso.com"}]})
    return objs


def measure(cmd: list[str], **kw) -> tuple[float, float, int, str]:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, **kw)
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    return time.perf_counter() - start, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status), out


ENGINE = ("import sys, collections; from aks_compliance.scan import ScanOptions, run_scan; from aks_compliance.k8s.source import K8sOptions; "
          "run = run_scan(ScanOptions(inputs=[K8sOptions(paths=[sys.argv[1]])])); "
          "ks = [r for r in run.results if r.control_id and r.control_id >= 'AKS-100']; "
          "c = collections.Counter(r.outcome.value for r in ks); "
          "print(len(run.targets), len(ks), len({r.control_id for r in ks}), dict(c))")


def bench_scan(suite: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        snap = Path(tmp) / "snapshot.json.gz"
        objs = cluster()
        kinds = sorted({o["kind"] for o in objs})
        # every kind the collector reads, as on a cluster without Cilium, the Gateway API or Istio
        lists = {k.kind: {"status": "not-served" if k.custom else "complete"} for k in COLLECTED}
        meta = {"scope": "bench", "cluster": {"server": "https://bench", "version": {"major": "1", "minor": "30", "gitVersion": "v1.30.5"}},
                "lists": lists, "gaps": []}
        write_snapshot(snap, meta, objs)
        counts = {k: sum(1 for o in objs if o["kind"] == k) for k in kinds}
        del objs
        print(f"snapshot: {snap.stat().st_size / 1e6:.1f} MB gzip; " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        wall, rss, code, out = measure([sys.executable, "-c", ENGINE, str(snap)])
        if code:
            raise SystemExit(f"engine run failed ({code})")
        targets, results, controls, outcomes = out.strip().split(" ", 3)
        print(f"engine (run_scan, all in-cluster controls): {wall:.1f} s wall, {rss:.0f} MB peak RSS; "
              f"{targets} targets, {controls} controls, {results} results {outcomes}")
        if suite:
            out_json = Path(tmp) / "results.json"
            wall, rss, code, _ = measure([str(BIN / "aks-compliance"), "scan", "--k8s", str(snap), "--results-json", str(out_json)])
            print(f"suite (aks-compliance scan --k8s, --aksc-items auto, results JSON): {wall:.1f} s wall, "
                  f"{rss:.0f} MB peak RSS, exit {code}, results JSON {out_json.stat().st_size / 1e6:.0f} MB")
            # the same with the scan's own forked processes: the snapshot read once, shards by namespace
            out_jobs = Path(tmp) / "results-jobs.json"
            wall, rss, code, _ = measure([str(BIN / "aks-compliance"), "scan", "--k8s", str(snap), "--results-json",
                                          str(out_jobs), "--jobs", "2"])
            same = _comparable(out_json) == _comparable(out_jobs)
            print(f"suite --jobs 2: {wall:.1f} s wall, {rss:.0f} MB peak RSS (largest process), exit {code}, "
                  f"results {'the same' if same else 'DIFFERENT'}")


def _comparable(path: Path) -> str:
    """A results document's results, as written (the lines that differ between runs are the start and id)."""
    text = path.read_text(encoding="utf-8")
    return text[text.index('\n "results": ['):]


COLLECT = ("import sys; from aks_compliance.k8s.collector import collect_snapshot, CollectOptions; "
           "m = collect_snapshot(sys.argv[2], kubeconfig=sys.argv[1], context='bench', options=CollectOptions(page_size=500)); "
           "print(m['lists']['Pod']['count'], m['lists']['Pod']['pages'])")


def bench_collect(sizes: list[int]) -> None:
    from tests.servers.k8s_server import FakeKubeAPI

    print(f"{'pods':>7} {'pages':>6} {'collect s':>10} {'collector peak MB':>18} {'snapshot MB':>12}")
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp, \
                FakeKubeAPI(generated={"pods": (n, make_pod)}, token="bench", record=False) as api:
            kubeconfig = api.write_kubeconfig(Path(tmp) / "kubeconfig", context="bench")
            out = Path(tmp) / "snap.json.gz"
            wall, rss, code, stdout = measure([sys.executable, "-c", COLLECT, str(kubeconfig), str(out)])
            if code:
                raise SystemExit(f"collection of {n} pods failed ({code})")
            count, pages = stdout.split()
            assert int(count) == n
            print(f"{n:>7} {pages:>6} {wall:>10.1f} {rss:>18.0f} {out.stat().st_size / 1e6:>12.1f}")


def main(argv: list[str]) -> None:
    what = argv[0] if argv and argv[0] in ("scan", "collect") else "both"
    rest = argv[1:] if what != "both" else argv
    if what in ("scan", "both"):
        bench_scan("--suite" in rest)
    if what in ("collect", "both"):
        sizes = [int(a) for a in rest if a.isdigit()] or [1_000, 5_000, 20_000, 50_000]
        bench_collect(sizes)


if __name__ == "__main__":
    main(sys.argv[1:])
