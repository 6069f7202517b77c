"""The JSON shapes the Kubernetes API server requires of the fields the in-cluster controls read.

The API server validates every object against its OpenAPI schema: a ``containers`` that is a string, a
``securityContext`` that is a list or a RoleBinding whose ``subjects`` is an object never reaches a
cluster. A manifest with such a value is an *error* for every control of its target, naming file, line
and path, as for ARM (``arm/shapes.py``): read as absent, ``containers: yo`` would pass every
container-level control over zero containers. Keys are matched exactly (Kubernetes field names are
case-sensitive). A null array member is malformed where the zero value of its type is invalid (a container
without a name), and allowed where it is valid (an empty NetworkPolicy rule, which allows all). Objects read
from a live cluster always have these shapes; a snapshot file is checked as a manifest is (about 1 % of a
10,000-pod scan).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..arm.shapes import ARRAY, BOOLEAN, INTEGER, NULLABLE_OBJECT, OBJECT, STRING, ShapeTable
from ..policy.conditions import MalformedValue
from .kinds import POD_PATHS

if TYPE_CHECKING:
    from ..resources import Resource

# resource.Quantity (apimachinery): a decimal number with a binary-SI (Ki..Ei), decimal-SI (n, u, m, k, M..E) or
# exponent suffix; JSON numbers too. The API server rejects anything else ("1GB", "lots", "1gi").
QUANTITY = "a resource quantity (such as 500m, 128Mi or 1.5)"
_QUANTITY = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|[KMGTPE]i|[numkMGTPE])?")


def _is_quantity(v: Any) -> bool:
    if isinstance(v, bool):
        return False
    # (the JSON decoder trims surrounding spaces before parsing)
    return isinstance(v, (int, float)) or isinstance(v, str) and _QUANTITY.fullmatch(v.strip()) is not None


# label and annotation values are strings (map[string]string): `version: 1.0` or `enforce: true` unquoted is refused
_METADATA = (("", OBJECT), ("metadata", OBJECT), ("metadata.labels", OBJECT), ("metadata.annotations", OBJECT),
             ("metadata.labels{*}", STRING), ("metadata.annotations{*}", STRING),
             ("metadata.ownerReferences", ARRAY), ("metadata.ownerReferences[*]", OBJECT))

_CONTAINER = (
    ("", OBJECT), ("securityContext", OBJECT), ("securityContext.capabilities", OBJECT),
    ("securityContext.capabilities.add", ARRAY), ("securityContext.capabilities.drop", ARRAY),
    ("securityContext.seccompProfile", OBJECT), ("securityContext.seLinuxOptions", OBJECT),
    ("securityContext.appArmorProfile", OBJECT), ("securityContext.windowsOptions", OBJECT),
    ("resources", OBJECT), ("resources.limits", OBJECT), ("resources.requests", OBJECT),
    ("resources.limits{*}", QUANTITY), ("resources.requests{*}", QUANTITY),
    ("ports", ARRAY), ("ports[*]", OBJECT), ("env", ARRAY), ("env[*]", OBJECT), ("envFrom", ARRAY),
    ("envFrom[*]", OBJECT), ("volumeMounts", ARRAY), ("volumeMounts[*]", OBJECT),
    ("livenessProbe", OBJECT), ("readinessProbe", OBJECT), ("startupProbe", OBJECT),
    ("command", ARRAY), ("args", ARRAY),
    # the typed scalars the controls compare: read as another type, `privileged: "true"` would not equal true
    ("name", STRING), ("image", STRING), ("imagePullPolicy", STRING),
    *((f"securityContext.{f}", BOOLEAN) for f in ("privileged", "allowPrivilegeEscalation", "runAsNonRoot",
                                                 "readOnlyRootFilesystem")),
    ("securityContext.runAsUser", INTEGER), ("securityContext.runAsGroup", INTEGER),
    ("securityContext.procMount", STRING), ("securityContext.capabilities.add[*]", STRING),
    ("securityContext.capabilities.drop[*]", STRING), ("securityContext.seccompProfile.type", STRING),
    ("securityContext.appArmorProfile.type", STRING), ("securityContext.windowsOptions.hostProcess", BOOLEAN),
    *((f"securityContext.seLinuxOptions.{f}", STRING) for f in ("type", "user", "role", "level")),
    ("ports[*].hostPort", INTEGER), ("ports[*].containerPort", INTEGER), ("env[*].name", STRING),
    ("command[*]", STRING), ("args[*]", STRING), ("env[*].value", STRING), ("env[*].valueFrom", OBJECT),
    ("env[*].valueFrom.secretKeyRef", OBJECT), ("envFrom[*].secretRef", OBJECT), ("envFrom[*].configMapRef", OBJECT),
)

_POD_SPEC = (
    ("", OBJECT), ("securityContext", OBJECT), ("securityContext.seccompProfile", OBJECT),
    ("securityContext.seLinuxOptions", OBJECT), ("securityContext.appArmorProfile", OBJECT),
    ("securityContext.windowsOptions", OBJECT), ("securityContext.sysctls", ARRAY),
    ("securityContext.sysctls[*]", OBJECT), ("securityContext.supplementalGroups", ARRAY),
    *((f"{group}", ARRAY) for group in ("containers", "initContainers", "ephemeralContainers")),
    *((f"{group}[*]{'.' + p if p else ''}", k) for group in ("containers", "initContainers", "ephemeralContainers")
      for p, k in _CONTAINER),
    ("volumes", ARRAY), ("volumes[*]", OBJECT), ("volumes[*].hostPath", OBJECT), ("volumes[*].projected", OBJECT),
    ("volumes[*].projected.sources", ARRAY), ("volumes[*].projected.sources[*]", OBJECT),
    ("volumes[*].secret", OBJECT), ("volumes[*].csi", OBJECT), ("volumes[*].ephemeral", OBJECT),
    ("os", OBJECT), ("tolerations", ARRAY), ("tolerations[*]", OBJECT), ("imagePullSecrets", ARRAY),
    ("hostAliases", ARRAY), ("nodeSelector", OBJECT), ("affinity", OBJECT),
    *((f, BOOLEAN) for f in ("hostPID", "hostIPC", "hostNetwork", "hostUsers", "automountServiceAccountToken",
                             "shareProcessNamespace")),
    ("serviceAccountName", STRING), ("serviceAccount", STRING), ("os.name", STRING),
    ("securityContext.runAsNonRoot", BOOLEAN), ("securityContext.windowsOptions.hostProcess", BOOLEAN),
    *((f"securityContext.{f}", INTEGER) for f in ("runAsUser", "runAsGroup", "fsGroup")),
    ("securityContext.supplementalGroups[*]", INTEGER), ("securityContext.sysctls[*].name", STRING),
    ("securityContext.seccompProfile.type", STRING), ("securityContext.appArmorProfile.type", STRING),
    *((f"securityContext.seLinuxOptions.{f}", STRING) for f in ("type", "user", "role", "level")),
    ("volumes[*].hostPath.path", STRING),
)


def _workload(spec_path: tuple[str, ...], meta_path: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    prefix = ".".join(spec_path)
    steps = tuple((".".join(spec_path[:n]), OBJECT) for n in range(1, len(spec_path)))  # spec, spec.template...
    meta = ".".join(meta_path)
    return (*_METADATA, *steps, (meta, OBJECT), (f"{meta}.labels", OBJECT), (f"{meta}.annotations", OBJECT),
            (f"{meta}.labels{{*}}", STRING), (f"{meta}.annotations{{*}}", STRING),
            *((f"{prefix}.{p}" if p else prefix, k) for p, k in _POD_SPEC))


_RULES = (("rules", ARRAY), ("rules[*]", OBJECT), ("rules[*].verbs", ARRAY), ("rules[*].resources", ARRAY),
          ("rules[*].apiGroups", ARRAY), ("rules[*].resourceNames", ARRAY), ("rules[*].nonResourceURLs", ARRAY))
_BINDING = (("roleRef", OBJECT), ("subjects", ARRAY), ("subjects[*]", OBJECT))

SHAPES: dict[str, tuple[tuple[str, str], ...]] = {
    **{kind: _workload(spec, meta) for kind, (spec, meta) in POD_PATHS.items()},
    "Role": (*_METADATA, *_RULES),
    "ClusterRole": (*_METADATA, *_RULES, ("aggregationRule", OBJECT), ("aggregationRule.clusterRoleSelectors", ARRAY)),
    "RoleBinding": (*_METADATA, *_BINDING),
    "ClusterRoleBinding": (*_METADATA, *_BINDING),
    "NetworkPolicy": (*_METADATA, ("spec", OBJECT), ("spec.podSelector", OBJECT), ("spec.policyTypes", ARRAY),
                      *((f"spec.{d}", ARRAY) for d in ("ingress", "egress")),
                      # a null rule is the empty rule, which allows all (as `- {}` does)
                      *((f"spec.{d}[*]", NULLABLE_OBJECT) for d in ("ingress", "egress")),
                      ("spec.ingress[*].from", ARRAY), ("spec.ingress[*].from[*]", OBJECT),
                      ("spec.egress[*].to", ARRAY), ("spec.egress[*].to[*]", OBJECT),
                      ("spec.ingress[*].ports", ARRAY), ("spec.egress[*].ports", ARRAY)),
    "Service": (*_METADATA, ("spec", OBJECT), ("spec.type", STRING), ("spec.ports", ARRAY), ("spec.ports[*]", OBJECT),
                ("spec.externalIPs", ARRAY), ("spec.loadBalancerSourceRanges", ARRAY), ("spec.selector", OBJECT)),
    "Ingress": (*_METADATA, ("spec", OBJECT), ("spec.tls", ARRAY), ("spec.tls[*]", NULLABLE_OBJECT),
                ("spec.rules", ARRAY), ("spec.rules[*]", NULLABLE_OBJECT)),
    "Namespace": _METADATA,
    "ServiceAccount": (*_METADATA, ("secrets", ARRAY), ("imagePullSecrets", ARRAY),
                       ("automountServiceAccountToken", BOOLEAN)),
    "ConfigMap": (*_METADATA, ("data", OBJECT), ("binaryData", OBJECT)),
    "Secret": (*_METADATA, ("data", OBJECT), ("stringData", OBJECT)),
    "CiliumNetworkPolicy": (*_METADATA, ("spec", OBJECT), ("specs", ARRAY), ("specs[*]", OBJECT),
                            *((f"{s}.{d}", ARRAY) for s in ("spec", "specs[*]") for d in
                              ("ingress", "egress", "ingressDeny", "egressDeny"))),
    "CiliumClusterwideNetworkPolicy": (*_METADATA, ("spec", OBJECT), ("specs", ARRAY), ("specs[*]", OBJECT),
                                       *((f"{s}.{d}", ARRAY) for s in ("spec", "specs[*]") for d in
                                         ("ingress", "egress", "ingressDeny", "egressDeny"))),
}

K8S_SHAPES = ShapeTable(SHAPES, fold=False, kinds={QUANTITY: _is_quantity})


NO_CONTAINERS = "a non-empty array (a pod runs at least one container)"


def rejected(resource: "Resource") -> MalformedValue | None:
    """The first field of a Kubernetes object whose type the API server rejects, or None (also for a kind
    without a table: what no control reads is not checked). Objects of snapshots too: a snapshot is a file,
    and one that was edited or corrupted must not pass over a field it cannot hold. A pod spec without
    containers is rejected too (core validation: spec.containers is required): over zero containers every
    container-level control would pass."""
    bad = K8S_SHAPES.malformed(resource.type, resource.body, resource.where_of)
    if bad is not None or resource.type not in POD_PATHS or not isinstance(resource.body, dict):
        return bad
    spec_path = POD_PATHS[resource.type][0]
    value: Any = resource.body
    for key in (*spec_path, "containers"):
        value = value.get(key) if isinstance(value, dict) else None
    if isinstance(value, list) and value:
        return None
    path = ".".join((*spec_path, "containers"))
    return MalformedValue(path, NO_CONTAINERS, value, resource.where_of(path),
                          found="an empty array" if isinstance(value, list) else "no containers")
