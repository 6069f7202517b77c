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

import json
import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..arm.shapes import ARRAY, BOOLEAN, INTEGER, NULLABLE_OBJECT, OBJECT, STRING, ShapeTable
from ..memo import Memo
from ..policy.conditions import MalformedValue
from .kinds import POD_PATHS

if TYPE_CHECKING:
    from ..resources import Resource

# resource.Quantity (apimachinery): a decimal number with a binary-SI (Ki..Ei), decimal-SI (n, u, m, k, M..E) or
# exponent suffix; JSON numbers too. The API server rejects anything else ("1GB", "lots", "1gi").
# Container resources are non-negative too (core validation, ValidateNonnegativeQuantity).
QUANTITY = "a non-negative resource quantity (such as 500m, 128Mi or 1.5)"
_QUANTITY = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|[KMGTPE]i|[numkMGTPE])?")
# The spellings of zero in that grammar (0, "0m", "0Mi", "00Gi", "0.0", "+0", "-0", "0e3" ...): whatever the suffix
# multiplies, the number is zero. Object rules compare a string quantity with it (``matches``, in the syntax both
# engines share); a JSON number is zero when it equals 0. The spaces the decoder trims may surround it: ASCII ones,
# as characters (\s is wider in Python than in RE2; no backslash at all, which regopy's input cannot carry).
ZERO_QUANTITY = "[ \t\n\f\r\v]*[+-]?(0+([.]0*)?|[.]0+)([eE][+-]?[0-9]+|[KMGTPE]i|[numkMGTPE])?[ \t\n\f\r\v]*"

_MULTIPLIERS = {"": 1, "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "k": 10**3, "M": 10**6,
                "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
                **{f"{p}i": 2 ** (10 * (n + 1)) for n, p in enumerate("KMGTPE")}}


def quantity_value(v: Any) -> Decimal | None:
    """The number a resource.Quantity stands for (500m -> 0.5, 1Ki -> 1024), None for what is not a quantity."""
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        return None
    if isinstance(v, int):
        return Decimal(v)
    if isinstance(v, float):
        return Decimal(repr(v)) if v == v else None  # (inf is Decimal's Infinity; NaN compares with nothing)
    text = v.strip()  # the JSON decoder trims surrounding spaces before parsing
    m = _QUANTITY.fullmatch(text)
    if m is None:
        return None
    suffix = m.group(3) or ""
    if suffix not in _MULTIPLIERS:  # an exponent (1e3; E alone is exa): the whole text is a decimal number
        return Decimal(text)
    return Decimal(text[:len(text) - len(suffix)]) * _MULTIPLIERS[suffix]


def _is_quantity(v: Any) -> bool:
    q = quantity_value(v)
    return q is not None and q >= 0  # "-0" is zero, not negative


# []byte fields (Secret.data, ConfigMap.binaryData) are base64 text in JSON: encoding/json decodes them with
# base64.StdEncoding, which wants padding and skips line breaks (a YAML block scalar). "illegal base64 data" is a
# refusal of the whole object; the message says "found a string", never the text (it may be the secret).
BASE64 = "base64-encoded data"
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")


def _is_base64(v: Any) -> bool:
    if not isinstance(v, str):
        return False
    text = v.replace("\r", "").replace("\n", "") if ("\n" in v or "\r" in v) else v
    return len(text) % 4 == 0 and _BASE64.fullmatch(text) is not None


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


# rbacv1.PolicyRule's lists are []string, Subject and RoleRef fields strings: a subject named [system:anonymous] or
# a rule over resources [[secrets]] is refused, so never read as "not anonymous" or "no secrets"
_RULE_LISTS = ("verbs", "resources", "apiGroups", "resourceNames", "nonResourceURLs")
_RULES = (("rules", ARRAY), ("rules[*]", OBJECT), *((f"rules[*].{f}", ARRAY) for f in _RULE_LISTS),
          *((f"rules[*].{f}[*]", STRING) for f in _RULE_LISTS))
_BINDING = (("roleRef", OBJECT), ("subjects", ARRAY), ("subjects[*]", OBJECT),
            *((f"roleRef.{f}", STRING) for f in ("apiGroup", "kind", "name")),
            *((f"subjects[*].{f}", STRING) for f in ("apiGroup", "kind", "name", "namespace")))

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
                      ("spec.ingress[*].ports", ARRAY), ("spec.egress[*].ports", ARRAY),
                      ("spec.policyTypes[*]", STRING), ("spec.podSelector.matchLabels", OBJECT),
                      ("spec.podSelector.matchLabels{*}", STRING), ("spec.podSelector.matchExpressions", ARRAY)),
    "Service": (*_METADATA, ("spec", OBJECT), ("spec.type", STRING), ("spec.ports", ARRAY), ("spec.ports[*]", OBJECT),
                ("spec.externalIPs", ARRAY), ("spec.loadBalancerSourceRanges", ARRAY), ("spec.selector", OBJECT),
                ("spec.externalIPs[*]", STRING), ("spec.loadBalancerSourceRanges[*]", STRING),
                ("spec.loadBalancerClass", STRING)),
    "Ingress": (*_METADATA, ("spec", OBJECT), ("spec.tls", ARRAY), ("spec.tls[*]", NULLABLE_OBJECT),
                ("spec.rules", ARRAY), ("spec.rules[*]", NULLABLE_OBJECT), ("spec.tls[*].hosts", ARRAY),
                ("spec.tls[*].hosts[*]", STRING), ("spec.tls[*].secretName", STRING), ("spec.rules[*].host", STRING)),
    "Namespace": _METADATA,  # (label values strings: read as a level, `enforce: 1` would be judged)
    "ServiceAccount": (*_METADATA, ("secrets", ARRAY), ("imagePullSecrets", ARRAY),
                       ("automountServiceAccountToken", BOOLEAN)),
    # map[string]string and map[string][]byte: `DB_PASSWORD: 5` is refused, so never read as "no credential"
    "ConfigMap": (*_METADATA, ("data", OBJECT), ("binaryData", OBJECT), ("data{*}", STRING), ("binaryData{*}", BASE64),
                  ("immutable", BOOLEAN)),
    "Secret": (*_METADATA, ("data", OBJECT), ("stringData", OBJECT), ("data{*}", BASE64), ("stringData{*}", STRING),
               ("type", STRING), ("immutable", BOOLEAN)),
    "CiliumNetworkPolicy": (*_METADATA, ("spec", OBJECT), ("specs", ARRAY), ("specs[*]", OBJECT),
                            *((f"{s}.{d}", ARRAY) for s in ("spec", "specs[*]") for d in
                              ("ingress", "egress", "ingressDeny", "egressDeny"))),
    "CiliumClusterwideNetworkPolicy": (*_METADATA, ("spec", OBJECT), ("specs", ARRAY), ("specs[*]", OBJECT),
                                       *((f"{s}.{d}", ARRAY) for s in ("spec", "specs[*]") for d in
                                         ("ingress", "egress", "ingressDeny", "egressDeny"))),
}

K8S_SHAPES = ShapeTable(SHAPES, fold=False, kinds={QUANTITY: _is_quantity, BASE64: _is_base64})


NO_CONTAINERS = "a non-empty array (a pod runs at least one container)"

# Core validation of a container's environment (validateEnvVarValueFrom, validateEnvFrom): a valueFrom names exactly
# one source and only beside an empty value; an envFrom entry exactly one of configMapRef and secretRef. Read as it
# is, a secretKeyRef beside a literal value, or beside a configMapKeyRef, would be judged on a pod that cannot exist.
VALUE_FROM_SOURCES = ("fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef", "fileKeyRef")
ONE_SOURCE = "exactly one of fieldRef, resourceFieldRef, configMapKeyRef, secretKeyRef or fileKeyRef"
NOT_BESIDE_VALUE = "absent where value is not empty (the API server: may not be specified when `value` is not empty)"
ONE_ENV_FROM = "exactly one of configMapRef or secretRef"


def _sources(entry: dict[str, Any], names: tuple[str, ...]) -> list[str]:
    return [n for n in names if entry.get(n) is not None]


def _env_rejected(container: dict[str, Any], path: str, where: Any) -> MalformedValue | None:
    for i, e in enumerate(container.get("env") or []):
        value_from = e.get("valueFrom") if isinstance(e, dict) else None
        if not isinstance(value_from, dict):
            continue
        at = f"{path}.env[{i}].valueFrom"
        found = _sources(value_from, VALUE_FROM_SOURCES)
        if not found:
            return MalformedValue(at, ONE_SOURCE, value_from, where(at), found="none of them")
        if e.get("value") not in (None, ""):
            return MalformedValue(at, NOT_BESIDE_VALUE, value_from, where(at), found=f"{found[0]} beside a value")
        if len(found) > 1:
            return MalformedValue(at, ONE_SOURCE, value_from, where(at), found=" and ".join(found))
    for i, e in enumerate(container.get("envFrom") or []):
        found = _sources(e, ("configMapRef", "secretRef")) if isinstance(e, dict) else ["?"]
        if len(found) != 1:
            at = f"{path}.envFrom[{i}]"
            return MalformedValue(at, ONE_ENV_FROM, e, where(at), found=" and ".join(found) or "neither")
    return None


# A request above its limit (requests.cpu: 1 with limits.cpu: 500m) is refused by core validation ("must be less
# than or equal to cpu limit"): such a pod never runs, and its limit controls would judge a pod that cannot exist.
def _requests_rejected(container: dict[str, Any], path: str, where: Any) -> MalformedValue | None:
    resources = container.get("resources")
    requests = resources.get("requests") if isinstance(resources, dict) else None
    limits = resources.get("limits") if isinstance(resources, dict) else None
    if not isinstance(requests, dict) or not isinstance(limits, dict):
        return None
    for name, request in requests.items():
        asked, limit = quantity_value(request), quantity_value(limits.get(name))
        if asked is not None and limit is not None and asked > limit:
            at = f"{path}.resources.requests.{name}"
            return MalformedValue(at, f"at most the {name} limit ({limits[name]})", request, where(at),
                                  found=str(request))
    return None


# Integers with a range the API server validates (pkg/apis/core/validation), beyond their type: user and group ids
# (runAsUser, runAsGroup, fsGroup, supplementalGroups: validation.IsValidUserID / IsValidGroupID, 0 to
# math.MaxInt32) and host ports (0, no host port, or validation.IsValidPortNum). Outside them a value is no verdict's
# to judge: runAsUser 2**64 is no uid (regopy even reads it as 0), fsGroup -1 no group.
ID_RANGE = (0, 2**31 - 1, "an id from 0 to 2147483647 (validation.IsValidUserID/IsValidGroupID)")
PORT_RANGE = (0, 65535, "0 (no host port) or a port from 1 to 65535")


def _out_of_range(spec: dict[str, Any], prefix: str, where: Any) -> MalformedValue | None:
    checked: list[tuple[str, Any, tuple[int, int, str]]] = []
    pod_sc = spec.get("securityContext")
    if isinstance(pod_sc, dict):
        checked += [(f"securityContext.{f}", pod_sc.get(f), ID_RANGE) for f in ("runAsUser", "runAsGroup", "fsGroup")]
        groups = pod_sc.get("supplementalGroups")
        checked += [(f"securityContext.supplementalGroups[{i}]", g, ID_RANGE)
                    for i, g in enumerate(groups if isinstance(groups, list) else [])]
    for group in ("containers", "initContainers", "ephemeralContainers"):
        for i, c in enumerate(spec.get(group) or []):
            if not isinstance(c, dict):
                continue
            sc = c.get("securityContext")
            if isinstance(sc, dict):
                checked += [(f"{group}[{i}].securityContext.{f}", sc.get(f), ID_RANGE)
                            for f in ("runAsUser", "runAsGroup")]
            ports = c.get("ports")
            checked += [(f"{group}[{i}].ports[{j}].hostPort", p.get("hostPort"), PORT_RANGE)
                        for j, p in enumerate(ports if isinstance(ports, list) else []) if isinstance(p, dict)]
    for rel, value, (low, high, what) in checked:
        # (the shape table has made every one of them an integer, or absent)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and not low <= value <= high:
            at = f"{prefix}.{rel}"
            return MalformedValue(at, what, value, where(at), found=str(value))
    return None


# Core validation of a seccomp or AppArmor profile (validateSeccompProfileField, validateAppArmorProfileField): a type
# is required and one of three, and localhostProfile is required with Localhost and refused beside any other type.
# Read as written, a Localhost profile naming no file passed every seccomp and AppArmor control, on a pod that cannot
# exist (and that no kubelet could confine).
PROFILE_TYPES = ("Localhost", "RuntimeDefault", "Unconfined")
PROFILE_TYPE = "one of Localhost, RuntimeDefault or Unconfined (the API server: type is required)"
LOCALHOST_PROFILE = "a non-empty localhostProfile with type Localhost (the API server: must be set when type is Localhost)"
NO_LOCALHOST_PROFILE = "absent unless type is Localhost (the API server: can only be set when type is Localhost)"


def _profiles_rejected(sc: Any, at: str, where: Any) -> MalformedValue | None:
    if not isinstance(sc, dict):
        return None
    for key in ("seccompProfile", "appArmorProfile"):
        profile = sc.get(key)
        if not isinstance(profile, dict):  # (absent; the table checked its type)
            continue
        kind, local = profile.get("type"), profile.get("localhostProfile")
        path = f"{at}.{key}"
        if kind not in PROFILE_TYPES:
            return MalformedValue(f"{path}.type", PROFILE_TYPE, kind, where(f"{path}.type"),
                                  found="no type" if kind is None else str(kind))
        if kind == "Localhost" and (not isinstance(local, str) or not local):
            return MalformedValue(f"{path}.localhostProfile", LOCALHOST_PROFILE, local, where(path),
                                  found="no profile" if local in (None, "") else str(local))
        if kind != "Localhost" and local is not None:
            return MalformedValue(f"{path}.localhostProfile", NO_LOCALHOST_PROFILE, local,
                                  where(f"{path}.localhostProfile"), found=f"a localhostProfile beside type {kind}")
    return None


# Core validation of a container's securityContext (ValidateSecurityContext): allowPrivilegeEscalation false is
# refused beside privileged true, and beside a capabilities.add entry that is exactly "CAP_SYS_ADMIN" (the API server
# compares the string as written: SYS_ADMIN, sys_admin or cap_sys_admin are admitted, and AKS-115 judges them).
# Judged as written, the pair failed AKS-115 and AKS-100 on a container that cannot exist.
NO_ESCALATION_BESIDE = ("absent or true beside {what} (the API server: cannot set `allowPrivilegeEscalation` to false "
                        "and {what})")


def _escalation_rejected(sc: Any, at: str, where: Any) -> MalformedValue | None:
    if not isinstance(sc, dict) or sc.get("allowPrivilegeEscalation") is not False:
        return None
    path = f"{at}.allowPrivilegeEscalation"
    if sc.get("privileged") is True:
        return MalformedValue(path, NO_ESCALATION_BESIDE.format(what="`privileged` to true"), False, where(path),
                              found="false beside privileged: true")
    caps = sc.get("capabilities")
    added = caps.get("add") if isinstance(caps, dict) else None
    if isinstance(added, list) and "CAP_SYS_ADMIN" in added:
        return MalformedValue(path, NO_ESCALATION_BESIDE.format(what="`capabilities.add` CAP_SYS_ADMIN"), False,
                              where(path), found="false beside capabilities.add CAP_SYS_ADMIN")
    return None


# RBAC validation of a binding (pkg/apis/rbac/validation: ValidateRoleBinding, ValidateClusterRoleBinding,
# ValidateRoleBindingSubject), after v1 defaulting (an empty roleRef.apiGroup, and an empty apiGroup of a User or Group
# subject, become rbac.authorization.k8s.io). A roleRef of another kind or group, a ClusterRoleBinding of a Role, a
# subject of an unknown kind ("group"), a ServiceAccount subject with an apiGroup or, in a ClusterRoleBinding, without
# a namespace, are refused: read as written, such a subject was judged as no one (AKS-145 passed a "group"
# system:authenticated) or the grant as unknown, of a binding that cannot exist.
RBAC_GROUP = "rbac.authorization.k8s.io"
SUBJECT_KINDS = ("ServiceAccount", "User", "Group")


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _binding_rejected(kind: str, body: dict[str, Any], where: Any) -> MalformedValue | None:
    ref = body.get("roleRef")
    ref = ref if isinstance(ref, dict) else {}
    kinds = ("ClusterRole",) if kind == "ClusterRoleBinding" else ("Role", "ClusterRole")
    checks: list[tuple[str, Any, bool, str]] = [
        ("roleRef.apiGroup", ref.get("apiGroup"), ref.get("apiGroup") in (None, "", RBAC_GROUP),
         f"{RBAC_GROUP} (or empty, which defaults to it)"),
        ("roleRef.kind", ref.get("kind"), ref.get("kind") in kinds, " or ".join(kinds)),
        ("roleRef.name", ref.get("name"), bool(ref.get("name")), "a role name (required)")]
    subjects = body.get("subjects")
    for i, sub in enumerate(subjects if isinstance(subjects, list) else []):
        if not isinstance(sub, dict):
            continue
        at, sub_kind, group = f"subjects[{i}]", sub.get("kind"), sub.get("apiGroup")
        checks.append((f"{at}.name", sub.get("name"), bool(sub.get("name")), "a name (required)"))
        checks.append((f"{at}.kind", sub_kind, sub_kind in SUBJECT_KINDS, "one of ServiceAccount, User or Group"))
        if sub_kind == "ServiceAccount":
            checks.append((f"{at}.apiGroup", group, group in (None, ""), "empty for a ServiceAccount (the core group)"))
            if kind == "ClusterRoleBinding":
                checks.append((f"{at}.namespace", sub.get("namespace"), bool(sub.get("namespace")),
                               "the ServiceAccount's namespace (required in a ClusterRoleBinding)"))
        elif sub_kind in ("User", "Group"):
            checks.append((f"{at}.apiGroup", group, group in (None, "", RBAC_GROUP),
                           f"{RBAC_GROUP} for a {sub_kind} (or empty, which defaults to it)"))
    for path, value, ok, expected in checks:
        if not ok:
            return MalformedValue(path, expected, value, where(path),
                                  found="nothing" if value in (None, "") else _json_text(value))
    return None


# RBAC validation of a role's rules (ValidatePolicyRule): verbs are required; a rule over non-resource URLs names no
# group, resource or resource name and is refused in a (namespaced) Role; any other rule needs an apiGroups and a
# resources entry. `{resources: [secrets], verbs: [get]}` without apiGroups is refused ("resource rules must supply at
# least one api group"): read as written it granted nothing, and the bindings of the role passed AKS-135.
def _rules_rejected(kind: str, body: dict[str, Any], where: Any) -> MalformedValue | None:
    rules = body.get("rules")
    for i, rule in enumerate(rules if isinstance(rules, list) else []):
        if not isinstance(rule, dict):
            continue
        at = f"rules[{i}]"
        urls = rule.get("nonResourceURLs")
        problems: list[tuple[str, str]] = []
        if not rule.get("verbs"):
            problems.append(("verbs", "at least one verb (the API server: verbs must contain at least one value)"))
        if urls:
            if kind == "Role":
                problems.append(("nonResourceURLs", "absent in a Role (the API server: namespaced rules cannot apply "
                                                    "to non-resource URLs)"))
            if any(rule.get(k) for k in ("apiGroups", "resources", "resourceNames")):
                problems.append(("nonResourceURLs", "alone in its rule (the API server: rules cannot apply to both "
                                                    "regular resources and non-resource URLs)"))
        else:
            if not rule.get("apiGroups"):
                problems.append(("apiGroups", "at least one API group, \"\" for the core group (the API server: "
                                              "resource rules must supply at least one api group)"))
            if not rule.get("resources"):
                problems.append(("resources", "at least one resource (the API server: resource rules must supply at "
                                              "least one resource)"))
        for field, expected in problems[:1]:
            path = f"{at}.{field}"
            value = rule.get(field)
            return MalformedValue(path, expected, value, where(path if value is not None else at),
                                  found="nothing" if not value else _json_text(value))
    return None


# A Windows pod (spec.os.name: windows) may not set the Linux security settings: core validation (validateWindows)
# refuses each one that is set, with "cannot be set for a windows pod" (the API reference: "Note that this field cannot
# be set when spec.os.name is windows"). Read as written, a Windows pod with privileged: true failed AKS-100 and one
# with runAsUser: 0 AKS-117, pods that cannot exist. runAsNonRoot and windowsOptions are Windows' own.
WINDOWS_POD_FORBIDDEN = ("appArmorProfile", "seLinuxOptions", "runAsUser", "runAsGroup", "supplementalGroups", "fsGroup",
                         "fsGroupChangePolicy", "seccompProfile", "sysctls")
WINDOWS_CONTAINER_FORBIDDEN = ("appArmorProfile", "seLinuxOptions", "runAsUser", "runAsGroup", "privileged",
                               "allowPrivilegeEscalation", "procMount", "capabilities", "readOnlyRootFilesystem",
                               "seccompProfile")
NOT_ON_WINDOWS = "absent in a Windows pod (spec.os.name: windows; the API server: cannot be set for a windows pod)"


def _windows_rejected(spec: dict[str, Any], prefix: str, where: Any) -> MalformedValue | None:
    os_ = spec.get("os")
    if not isinstance(os_, dict) or os_.get("name") != "windows":
        return None
    contexts = [(f"{prefix}.securityContext", spec.get("securityContext"), WINDOWS_POD_FORBIDDEN)]
    for group in ("containers", "initContainers", "ephemeralContainers"):
        for i, c in enumerate(spec.get(group) or []):
            if isinstance(c, dict):
                contexts.append((f"{prefix}.{group}[{i}].securityContext", c.get("securityContext"),
                                 WINDOWS_CONTAINER_FORBIDDEN))
    for at, sc, forbidden in contexts:
        if not isinstance(sc, dict):
            continue
        for key in forbidden:
            value = sc.get(key)
            if value is not None and not (key == "sysctls" and value == []):
                path = f"{at}.{key}"
                return MalformedValue(path, NOT_ON_WINDOWS, value, where(path), found=f"{key} set")
    return None


# rejected() of one object is asked once per target that reads it: every policy of a namespace for each of its
# pods, every role for each binding. 1,000 pods and 1,000 policies were a million shape walks (80 s). On identity.
_REJECTED: Memo = Memo()


def rejected(resource: "Resource") -> MalformedValue | None:
    """:func:`_rejected`, once per object."""
    hit = _REJECTED.get(id(resource))
    if hit is not None and hit[0] is resource:
        return hit[1]
    return _REJECTED.put(id(resource), (resource, _rejected(resource)))[1]


def _rejected(resource: "Resource") -> MalformedValue | None:
    """The first field of a Kubernetes object whose type the API server rejects, or None (also for a kind
    without a table: what no control reads is not checked). Objects of snapshots too: a snapshot is a file,
    and one that was edited or corrupted must not pass over a field it cannot hold. A pod spec without
    containers is rejected too (core validation: spec.containers is required): over zero containers every
    container-level control would pass."""
    bad = K8S_SHAPES.malformed(resource.type, resource.body, resource.where_of)
    if bad is None and resource.type in ("RoleBinding", "ClusterRoleBinding") and isinstance(resource.body, dict):
        return _binding_rejected(resource.type, resource.body, resource.where_of)
    if bad is None and resource.type in ("Role", "ClusterRole") and isinstance(resource.body, dict):
        return _rules_rejected(resource.type, resource.body, resource.where_of)
    if bad is not None or resource.type not in POD_PATHS or not isinstance(resource.body, dict):
        return bad
    spec_path = POD_PATHS[resource.type][0]
    spec: Any = resource.body
    for key in spec_path:
        spec = spec.get(key) if isinstance(spec, dict) else None
    spec = spec if isinstance(spec, dict) else {}
    prefix = ".".join(spec_path)
    bad = _out_of_range(spec, prefix, resource.where_of) or _windows_rejected(spec, prefix, resource.where_of) or \
        _profiles_rejected(spec.get("securityContext"), f"{prefix}.securityContext", resource.where_of)
    if bad is not None:
        return bad
    for group in ("containers", "initContainers", "ephemeralContainers"):  # (the table checked their types)
        for i, c in enumerate(spec.get(group) or []):
            if not isinstance(c, dict):
                continue
            at = f"{prefix}.{group}[{i}]"
            bad = _env_rejected(c, at, resource.where_of) or _requests_rejected(c, at, resource.where_of) or \
                _profiles_rejected(c.get("securityContext"), f"{at}.securityContext", resource.where_of) or \
                _escalation_rejected(c.get("securityContext"), f"{at}.securityContext", resource.where_of)
            if bad is not None:
                return bad
    value = spec.get("containers")
    if isinstance(value, list) and value:
        return None
    path = ".".join((*spec_path, "containers"))
    return MalformedValue(path, NO_CONTAINERS, value, resource.where_of(path),
                          found="an empty array" if isinstance(value, list) else "no containers")
