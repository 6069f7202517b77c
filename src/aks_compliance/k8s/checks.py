"""What every in-cluster control shares: its parameters, applicability, evidence and the declaration helper.

Controls over Kubernetes objects decide in Python (``Control.check``) and return a
:class:`Verdict` whose :class:`Leaf` evidence carries body paths (``spec.template.spec.containers[0]
.securityContext.privileged``), so the engine cites ``file:line``. Evidence about *another* object (the
Role a binding points to, the NetworkPolicy of a namespace) uses the path prefix ``Kind/name`` and
:func:`cite` registers that object's source under the prefix, so those lines are cited too.

:func:`k8s_control` wraps each check:

* a target standing for a kind the collector could not read -> *unknown* with the reason;
* an object in an excluded namespace (parameter ``excludedNamespaces``) -> *not applicable*, with
  the namespace named: excluded objects are listed, never hidden. Which namespaces are excluded by
  default is each control's explicit choice (``exclusions``, one of :data:`EXCLUSION_FAMILIES`):
  workload admission controls keep Azure Policy's default list, while RBAC, network-policy and
  namespace controls exclude nothing (kube-system is where a takeover matters most);
* a Pod Security Standards version without the check (parameter ``pssVersion``) -> *not applicable*;
* an exception inside a check -> *error* naming the object, and the scan goes on.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from typing import Any, Callable, Iterable, Mapping

from ..controls.model import Control, Mappings, Parameter, Severity
from ..memo import Memo
from ..policy.conditions import MISSING, Leaf, Truth, Verdict
from ..resources import Resource, parse_body_path
from ..targets import Target
from ..user_code import where_raised
from . import kinds
from .scope import K8sObject, K8sScope

DEFAULT_EXCLUDED_NAMESPACES = ("kube-system", "gatekeeper-system", "azure-arc", "azure-extensions-usage-system")

# Which namespaces a control leaves out by default: an explicit choice per control family.
WORKLOAD_ADMISSION = "workload-admission"  # pod security, images, probes, resources: Azure Policy's default list
CLUSTER_ACCESS = "cluster-access"  # RBAC, network policies, namespaces: nothing excluded
CLUSTER_WIDE = "cluster-wide"  # one result per cluster: no namespace to exclude
EXCLUSION_FAMILIES = (WORKLOAD_ADMISSION, CLUSTER_ACCESS, CLUSTER_WIDE)
EXCLUSION_TEXT = {
    WORKLOAD_ADMISSION: (
        "Namespace exclusions: Azure Policy's default excludedNamespaces (kube-system, gatekeeper-system, azure-arc, "
        "azure-extensions-usage-system) apply, as for workload admission: the managed add-ons there need what this "
        "control forbids; results in them are listed as not applicable."),
    CLUSTER_ACCESS: (
        "Namespace exclusions: none by default (excludedNamespaces is empty): RBAC, network-policy and namespace "
        "controls check kube-system too, where a takeover matters most; exclude namespaces only on purpose."),
}
# Tags of controls that judge each container (every group: containers, initContainers, ephemeralContainers,
# through PodView.containers()), and of those judging container resources, which Kubernetes forbids on
# ephemeral containers. tests/test_k8s_control_fixtures.py holds every tagged control to its scope.
CONTAINER_SCOPE = "scope:container"
RESOURCES_SCOPE = "scope:container-resources"

# An entry of excludedNamespaces as Gatekeeper reads the constraint's match (pkg/wildcard: a name, or a prefix or
# suffix glob, "kube-*", "*-system", "*system*"); its CRD refuses any other entry, so the parameter does too.
NAMESPACE_WILDCARD = r"^\*?[-:a-z0-9]*\*?$"
_EXCLUDED = ("Namespaces whose objects are not checked (results say not_applicable and name the namespace): names, "
             "or Gatekeeper's prefix and suffix globs (kube-*, *-system, *system*). ")
EXCLUDED_NAMESPACES = Parameter(
    "excludedNamespaces", list(DEFAULT_EXCLUDED_NAMESPACES),
    _EXCLUDED + "The default is Azure Policy's for Kubernetes built-ins (workload admission).", type="Array",
    schema={"items": {"pattern": NAMESPACE_WILDCARD}})
NO_EXCLUDED_NAMESPACES = Parameter(
    "excludedNamespaces", [],
    _EXCLUDED + "Empty by default: RBAC, network-policy and namespace controls check kube-system too.", type="Array",
    schema={"items": {"pattern": NAMESPACE_WILDCARD}})
LATEST_PSS = (1, 37)
PSS_VERSION = Parameter(
    "pssVersion", "latest",
    "Pod Security Standards version to check against: 'latest' (v1.37), 'v1.N', or 'cluster' (the "
    "snapshot's server version; latest for manifests).", type="String",
    schema={"pattern": "^\\s*([Ll][Aa][Tt][Ee][Ss][Tt]|[Cc][Ll][Uu][Ss][Tt][Ee][Rr]|[Vv]?[0-9]+\\.[0-9]+)\\s*$"})

ABSENT = MISSING


class Findings:
    """Leaves collected by a check; failing ones first in the verdict so they survive the evidence cap."""

    def __init__(self) -> None:
        self.bad: list[Leaf] = []
        self.good: list[Leaf] = []
        self.unknown: list[Leaf] = []
        self.reasons: list[str] = []

    def ok(self, path: str, op: str, expected: Any, actual: Any) -> None:
        self.good.append(Leaf(path, op, expected, actual, Truth.TRUE))

    def fail(self, path: str, op: str, expected: Any, actual: Any) -> None:
        self.bad.append(Leaf(path, op, expected, actual, Truth.FALSE))

    def check(self, passed: bool, path: str, op: str, expected: Any, actual: Any) -> None:
        (self.ok if passed else self.fail)(path, op, expected, actual)

    def cannot_tell(self, path: str, op: str, expected: Any, reason: str) -> None:
        self.unknown.append(Leaf(path, op, expected, MISSING, Truth.UNKNOWN))
        self.reasons.append(reason)

    def verdict(self) -> Verdict:
        if self.bad:
            return Verdict(Truth.FALSE, [], self.bad + self.unknown + self.good)
        if self.unknown:
            return Verdict(Truth.UNKNOWN, list(dict.fromkeys(self.reasons)), self.unknown + self.good)
        return Verdict(Truth.TRUE, [], self.good)


def unknown(reason: str, leaves: list[Leaf] | None = None) -> Verdict:
    return Verdict(Truth.UNKNOWN, [reason], leaves or [])


def scope_of(target: Target) -> K8sScope:
    return target.context["scope"]


def object_of(target: Target) -> K8sObject | None:
    return target.context.get("object")


def cite(target: Target, other: Resource, prefix: str | None = None) -> str:
    """A path prefix naming ``other`` in evidence (``Kind/name``), whose lines cite ``other``'s file."""
    label = prefix or f"{other.type}/{other.name}"
    key = parse_body_path(label)
    if key is not None and other is not target.resource:
        target.resource.origins[key] = other.source
    return label


def glob_any(value: str, patterns: Iterable[Any]) -> str | None:
    """The first pattern (fnmatch, case-sensitive) matching ``value``, or None."""
    for p in patterns or ():
        if isinstance(p, str) and fnmatch.fnmatchcase(value, p):
            return p
    return None


def pss_version(params: Mapping[str, Any], scope: K8sScope | None) -> tuple[int, int]:
    raw = params.get("pssVersion", "latest")
    if isinstance(raw, str) and raw.strip().lower() == "cluster":
        return scope.server_version if scope is not None and scope.server_version else LATEST_PSS
    return _pss_text_version(str(raw))


@functools.lru_cache(maxsize=64)  # read for every in-cluster result: parsed once per distinct value
def _pss_text_version(raw: str) -> tuple[int, int]:
    m = re.fullmatch(r"v?(\d+)\.(\d+)", raw.strip().lower())
    if m:
        return int(m.group(1)), int(m.group(2))
    return LATEST_PSS


def version_text(v: tuple[int, int]) -> str:
    return f"v{v[0]}.{v[1]}"


def namespace_wildcard(namespace: str, pattern: Any) -> bool:
    """Whether an entry of match.excludedNamespaces (or namespaces) selects ``namespace``, as Gatekeeper decides
    (pkg/wildcard Wildcard.Matches): a leading and/or trailing '*' is a glob (suffix, prefix, substring), every
    other character stands for itself."""
    if not isinstance(pattern, str):
        return False
    if pattern.startswith("*") and pattern.endswith("*"):  # (one '*' trimmed from each end, as Go's Trim*)
        inner = pattern[1:]
        return (inner[:-1] if inner.endswith("*") else inner) in namespace
    if pattern.startswith("*"):
        return namespace.endswith(pattern[1:])
    if pattern.endswith("*"):
        return namespace.startswith(pattern[:-1])
    return namespace == pattern


def excluded_namespace(target: Target, params: Mapping[str, Any]) -> str | None:
    ns = target.namespace
    if target.match_type == kinds.NAMESPACE:
        ns = target.resource.name if isinstance(target.resource.name, str) else ns
    excluded = params.get("excludedNamespaces") or ()
    # asked for every in-cluster result: one answer per (namespace, list), the entry holding the list (its id stays its own)
    key = (ns, id(excluded))
    hit = _EXCLUDED.get(key)
    if hit is not None and hit[0] is excluded:
        return hit[1]
    return _EXCLUDED.put(key, (excluded, _excluded(ns, excluded)))[1]


_EXCLUDED: Memo = Memo(4096)


def _excluded(ns: Any, excluded: Any) -> str | None:
    if ns and isinstance(excluded, (list, tuple)):
        if ns in excluded:  # read for every result: the usual exact name first, no set made
            return f"namespace {ns} is excluded by parameter excludedNamespaces"
        pattern = next((p for p in excluded if isinstance(p, str) and "*" in p and namespace_wildcard(ns, p)), None)
        if pattern is not None:
            return f"namespace {ns} is excluded by parameter excludedNamespaces ({pattern})"
    return None


def k8s_control(*, id: str, title: str, severity: Severity, section: str, rationale: str, remediation: str,
                mappings: Mappings, exclusions: str, types: str | tuple[str, ...] | None = None,
                check: Callable[[Target, Mapping[str, Any]], Verdict] | None = None, rule: Any = None,
                policy_gap: str | None = None, parameters: tuple[Parameter, ...] = (),
                references: tuple[str, ...] = (), pss_since: tuple[int, int] | None = None, pss_check: str | None = None,
                windows_exempt_since: tuple[int, int] | None = None,
                applies: Callable[[Target, Mapping[str, Any]], str | None] | None = None,
                tags: tuple[str, ...] = (), mapping_note: str = "", builtin_deviation: str | None = None,
                builtin_parameters: Mapping[str, Mapping[str, Any]] | None = None) -> Control:
    """Declare an in-cluster control (see the module docstring for what the wrapper adds).

    Give ``check`` (a Python function; ``policy_gap`` says why no policy is generated) or ``rule`` (an object rule,
    ``k8s.rules.KubeRule``: the check is its Python form and a Gatekeeper template is generated from it). With a
    rule, the Pod Security Standards version and Windows applicability become the rule's own guards, so the
    generated Rego applies them too.
    """
    if exclusions not in EXCLUSION_FAMILIES:
        raise ValueError(f"{id}: exclusions must be one of {EXCLUSION_FAMILIES}, not {exclusions!r}")
    if (check is None) == (rule is None):
        raise ValueError(f"{id}: give one of check (a Python function) and rule (an object rule)")
    if rule is not None:
        if policy_gap:
            raise ValueError(f"{id}: an object rule generates a Gatekeeper policy: it has no policy_gap")
        rule = rule.with_guards(_pss_guards(pss_check, pss_since, windows_exempt_since))
        check = rule.evaluate
        types = types or rule.target_types
    elif not policy_gap:
        raise ValueError(f"{id}: a Python check says why no policy is generated (policy_gap)")
    if types is None:
        raise ValueError(f"{id}: types is required with a Python check")
    params = tuple(parameters)
    if rule is not None:  # a glob parameter refuses the patterns the two engines would read differently
        params = tuple(_glob_schema(p) if p.name in rule.spec.glob_params() else p for p in params)
    namespaced = exclusions != CLUSTER_WIDE
    if exclusions == WORKLOAD_ADMISSION:
        params += (EXCLUDED_NAMESPACES,)
    elif exclusions == CLUSTER_ACCESS:
        params += (NO_EXCLUDED_NAMESPACES,)
    if exclusions in EXCLUSION_TEXT:
        rationale = f"{rationale} {EXCLUSION_TEXT[exclusions]}"
    if mapping_note:  # where this control deliberately means something else than a related tool's check
        rationale = f"{rationale} Mapping: {mapping_note}"
    if pss_check is not None:
        params += (PSS_VERSION,)

    def not_applicable(target: Target, p: Mapping[str, Any]) -> str | None:
        if "gap" in target.context:
            return None  # the check says unknown
        if namespaced:
            why = excluded_namespace(target, p)
            if why:
                return why
        if rule is not None:
            why = rule.not_applicable(target, p)
            if why:
                return why
        elif pss_check is not None:
            v = pss_version(p, target.context.get("scope"))
            if pss_since is not None and v < pss_since:
                return (f"Pod Security Standards {version_text(v)} (parameter pssVersion) has no check "
                        f"'{pss_check}': it was added in {version_text(pss_since)}")
            if windows_exempt_since is not None and v >= windows_exempt_since and target.match_type == kinds.WORKLOAD:
                from .podspec import pod_view
                if pod_view(target).is_windows:
                    return (f"Windows pod (spec.os.name = windows): exempt from '{pss_check}' since Pod Security "
                            f"Standards {version_text(windows_exempt_since)}")
        if applies is not None:
            return applies(target, p)
        return None

    def wrapped(target: Target, p: Mapping[str, Any]) -> Verdict:
        gap = target.context.get("gap")
        if gap:
            return unknown(f"{gap}; this control cannot be evaluated for them (never counted as passed)")
        try:
            return check(target, p)
        except Exception as exc:  # a malformed object must not stop the scan
            at = where_raised(exc)
            return Verdict(Truth.ERROR, [f"{id} could not evaluate {target.resource.type} "
                                         f"{target.resource.display_name()}: {type(exc).__name__}: {exc}"
                                         f"{' (at ' + at + ')' if at else ''}"], [])

    wrapped.__name__ = "object_rule" if rule is not None else getattr(check, "__name__", "check")
    wrapped.__doc__ = check.__doc__
    # a control that can never be not applicable (one result per cluster, no applicability rule) declares none
    decides_applicability = namespaced or pss_check is not None or applies is not None
    return Control(id=id, title=title, severity=severity, section=section, rationale=rationale,
                   remediation=remediation, mappings=mappings, resource_type=types, references=references,
                   parameters=params, check=wrapped, object_rule=rule,
                   not_applicable=not_applicable if decides_applicability else None,
                   policy_gap=policy_gap or None, builtin_deviation=builtin_deviation,
                   builtin_parameters=dict(builtin_parameters or {}),
                   tags=tags + (f"exclusions:{exclusions}",) + (("pss:" + pss_check,) if pss_check else ()))


def _glob_schema(param: Parameter) -> Parameter:
    from dataclasses import replace

    from .rule_lang import GLOB_PATTERN
    schema = dict(param.schema or {})
    schema["items"] = {**schema.get("items", {}), "pattern": GLOB_PATTERN}
    return replace(param, schema=schema)


def _pss_guards(pss_check: str | None, since: tuple[int, int] | None,
                windows_since: tuple[int, int] | None) -> tuple[Any, ...]:
    """The Pod Security Standards applicability of a check, as object-rule guards (both engines apply them)."""
    from .rule_lang import AnyOf, Cmp, Field, Guard, Lit, PssVersion
    if pss_check is None:
        return ()
    guards = []
    if since is not None:
        guards.append(Guard(Cmp(PssVersion(), "greaterOrEquals", Lit(since[0] * 1000 + since[1])),
                            f"Pod Security Standards {{pssVersion}} (parameter pssVersion) has no check '{pss_check}': "
                            f"it was added in {version_text(since)}"))
    if windows_since is not None:
        windows = Cmp(Field("pod", ("os", "name"), "$pod.os.name"), "equals", Lit("windows"), negated=True)
        older = Cmp(PssVersion(), "greaterOrEquals", Lit(windows_since[0] * 1000 + windows_since[1]), negated=True)
        guards.append(Guard(AnyOf((older, windows)),
                            f"Windows pod (spec.os.name = windows): exempt from '{pss_check}' since Pod Security "
                            f"Standards {version_text(windows_since)}"))
    return tuple(guards)


# Why an in-cluster control decided in Python gets no Gatekeeper policy (Control.policy_gap; docs/controls.md).
# An admission request carries one object; Gatekeeper's synced inventory (data.inventory) is eventually
# consistent and partial, sound for neither a deny nor a verdict, so joins across objects stay in Python.
SEVERAL_OBJECTS = ("its verdict joins several objects ({what}), while an admission request carries one object and "
                   "Gatekeeper's synced inventory is eventually consistent, sound for neither a deny nor a verdict")
CLUSTER_STATE = ("it judges the cluster's state ({what}), not an object under admission")
BEYOND_RULES = "it needs {what}, which the object-rule language has no operator for"


def gap_text(why: str, builtin: str | None = None) -> str:
    """Why no policy is generated from an in-cluster control decided in Python (and the built-in that covers the
    concept, if one does)."""
    base = f"In-cluster control decided in Python: {why}, so no Gatekeeper policy is generated."
    if builtin:
        return base + f" Azure Policy for Kubernetes covers the concept with built-in {builtin}."
    return base + " No Azure Policy for Kubernetes built-in covers it."
