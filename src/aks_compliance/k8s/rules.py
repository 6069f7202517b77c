"""Object rules: in-cluster controls declared once (:mod:`.rule_lang`) and decided by two engines.

:class:`KubeRule` implements ``controls.model.ObjectRule``: :meth:`KubeRule.evaluate` is the pytest verdict (a
:class:`Verdict` whose leaves cite body paths such as ``spec.template.spec.containers[0].securityContext
.privileged``, so the engine cites ``file:line``), :meth:`KubeRule.to_rego` the Gatekeeper ConstraintTemplate's
Rego (:mod:`.rego`). Namespace exclusions are Gatekeeper's ``match`` (``excludedNamespaces``), not part of the
rule: :func:`.checks.k8s_control` applies them in Python.

Pod Security Standards versions: ``$pssVersion`` and ``derived`` values by version read the parameter
``pssVersion`` in both engines from the same table; ``cluster`` means the snapshot's server version in Python
and the latest version in Gatekeeper, which sees no server version (manifests also read it as latest).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

from ..policy.conditions import MISSING, Leaf, Truth, Verdict
from . import kinds as kindlib
from .checks import Findings, pss_version
from .podspec import PodView, as_dict, as_list, pod_view
from .rule_lang import (AllOf, AnyOf, Check, Cmp, Derived, Each, Field, First, Guard, ImagePart, Keys, Lit, Lower,
                        MapKey, NamespacedName, NameKey, Param, ParamRef, PssVersion, RuleError, RuleSpec,
                        Some, VersionSteps, describe, parse_rule)

if TYPE_CHECKING:
    from ..controls.model import Control
    from ..targets import Target

ABSENT = MISSING
WORKLOAD_KINDS = tuple(kindlib.POD_PATHS)  # in the declared (stable) order
# API groups of the kinds object rules match (Gatekeeper's match.kinds, the definition's apiGroups/kinds).
API_GROUPS = {"Pod": "", "ReplicationController": "", "Service": "", "Namespace": "", "ConfigMap": "",
              "ServiceAccount": "", "Deployment": "apps", "StatefulSet": "apps", "DaemonSet": "apps",
              "ReplicaSet": "apps", "Job": "batch", "CronJob": "batch", "Ingress": "networking.k8s.io",
              "Role": "rbac.authorization.k8s.io", "ClusterRole": "rbac.authorization.k8s.io",
              "RoleBinding": "rbac.authorization.k8s.io", "ClusterRoleBinding": "rbac.authorization.k8s.io"}


def version_number(v: tuple[int, int]) -> int:
    """A Pod Security Standards version as the rule language compares it (1.27 -> 1027)."""
    return v[0] * 1000 + v[1]


# --- values, as JSON has them -------------------------------------------------------------------------

def present(v: Any) -> bool:
    return v is not ABSENT and v is not None


def json_eq(a: Any, b: Any) -> bool:
    """Equality as Rego has it: types matter (true is not 1), numbers compare by value."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(json_eq(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(json_eq(a[k], b[k]) for k in a)
    return a == b


def is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def parse_image(image: str) -> tuple[str, str, str | None, str | None]:
    """(registry host, repository path, tag, digest) as the container runtime resolves a reference."""
    ref, _, digest = image.partition("@")
    first, sep, rest = ref.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        host, path = first, rest
    else:
        host, path = "docker.io", ref if sep else f"library/{ref}"
    tag = None
    last = path.rsplit("/", 1)[-1]
    if ":" in last:
        path, tag = path.rsplit(":", 1)
    return host.lower(), path, tag, digest or None


def compare(op: str, value: Any, operand: Any) -> bool:
    """One operator, the same in both engines (rego.py compiles each to the Rego twin of these lines)."""
    if op == "exists":
        return present(value)
    if op == "empty":
        return not present(value) or (isinstance(value, (str, list, dict)) and len(value) == 0)
    if not present(value):
        return False
    if op == "equals":
        return json_eq(value, operand)
    if op == "in":
        return isinstance(operand, list) and any(json_eq(value, o) for o in operand)
    if op == "like":
        return isinstance(value, str) and isinstance(operand, str) and fnmatch.fnmatchcase(value, operand)
    if op == "startsWith":
        return isinstance(value, str) and isinstance(operand, str) and value.startswith(operand)
    if op == "contains":
        return isinstance(value, list) and any(json_eq(e, operand) for e in value)
    if op == "greaterOrEquals":
        return is_number(value) and is_number(operand) and value >= operand
    if op == "lessOrEquals":
        return is_number(value) and is_number(operand) and value <= operand
    if op == "likeAny":
        return isinstance(value, str) and isinstance(operand, list) and \
            any(isinstance(p, str) and fnmatch.fnmatchcase(value, p) for p in operand)
    if op == "fromRegistry":
        return isinstance(value, str) and isinstance(operand, list) and from_registry(value, operand)
    raise RuleError(f"unknown operator {op}")


def from_registry(image: str, patterns: list[Any]) -> bool:
    """Whether an image comes from one of the registries: a pattern with a '/' is matched against host/path, one
    without against the host (globs, case-insensitive for the host: patterns are lower-cased)."""
    host, path, _, _ = parse_image(image)
    for p in patterns:
        if isinstance(p, str) and fnmatch.fnmatchcase(f"{host}/{path}" if "/" in p else host, p.lower()):
            return True
    return False


# --- the Python engine ---------------------------------------------------------------------------------

@dataclass
class _Item:
    value: Any
    path: str
    key: Any = None


@dataclass
class _Ctx:
    rule: "KubeRule"
    params: Mapping[str, Any]
    version: int
    derived: dict[str, Any]
    body: dict[str, Any]
    pod: PodView | None
    namespace: str | None = None
    check_item: _Item | None = None
    stack: list[_Item] = field(default_factory=list)


def _get(ctx: _Ctx, ref: Field) -> tuple[Any, str]:
    if ref.base == "item":
        item = ctx.stack[-1] if ctx.stack else ctx.check_item
        if item is None:
            raise RuleError(f"{ref.text} is read relative to no item")
        value, path = item.value, item.path
    elif ref.base == "pod":
        assert ctx.pod is not None
        value, path = ctx.pod.spec, ctx.pod.spec_path
    elif ref.base == "meta":
        assert ctx.pod is not None
        value, path = ctx.pod.meta, ctx.pod.meta_path
    else:
        value, path = ctx.body, ""
    for seg in ref.segments:
        if type(seg) is NameKey:
            name = as_dict(ctx.check_item.value if ctx.check_item else None).get("name")
            seg = seg.template.replace("{name}", name if isinstance(name, str) else str(name))
        path = f"{path}.{seg}" if path else seg
        value = value.get(seg) if type(value) is dict or isinstance(value, dict) else None
    return (value if value is not None else ABSENT), path


def _value(ctx: _Ctx, ref: Any) -> tuple[Any, str | None]:
    """(value or ABSENT, the body path it was read from; None for values that are not in the object)."""
    if isinstance(ref, Field):
        return _get(ctx, ref)
    if isinstance(ref, First):
        first_path = None
        for r in ref.refs:
            v, p = _get(ctx, r)
            first_path = first_path or p
            if present(v):
                return v, p
        return ABSENT, first_path
    if isinstance(ref, ImagePart):
        v, p = _value(ctx, ref.ref)
        if not isinstance(v, str):
            return ABSENT, p
        host, repo, tag, digest = parse_image(v)
        out = {"registry": host, "repository": repo, "tag": tag, "digest": digest}[ref.part]
        return (out if out is not None else ABSENT), p
    if isinstance(ref, Lower):
        v, p = _value(ctx, ref.ref)
        return (v.lower() if isinstance(v, str) else ABSENT), p
    if isinstance(ref, Keys):
        v, p = _get(ctx, ref.ref)
        keys = sorted(k for k, x in as_dict(v).items() if x is not None and k not in ref.exclude)
        return keys, p
    if isinstance(ref, MapKey):
        item = ctx.stack[-1] if ctx.stack else None
        return (item.key if item is not None else ABSENT), None
    if isinstance(ref, PssVersion):
        return ctx.version, None
    if isinstance(ref, ParamRef):
        v = ctx.params.get(ref.name)
        return (v if v is not None else ABSENT), None
    if isinstance(ref, NamespacedName):
        return f"{ctx.namespace}/{as_dict(ctx.body.get('metadata')).get('name')}", None
    raise RuleError(f"unknown reference {ref!r}")


def _operand(ctx: _Ctx, operand: Any) -> Any:
    if isinstance(operand, Lit):
        return operand.value
    if isinstance(operand, Param):
        return ctx.params.get(operand.name)
    if isinstance(operand, Derived):
        return ctx.derived[operand.name]
    raise RuleError(f"unknown operand {operand!r}")


def _holds(ctx: _Ctx, p: Any) -> tuple[bool, list[Leaf]]:
    """Whether ``p`` holds, and the leaves that show it (all true when it holds, all false when not)."""
    if type(p) is Cmp:
        value, path = _value(ctx, p.ref)
        expected = _operand(ctx, p.operand)
        ok = compare(p.op, value, expected) != p.negated
        shown = value
        if value is ABSENT and isinstance(p.ref, (Lower, ImagePart)):
            shown = _value(ctx, p.ref.ref)[0]  # what the object holds where the transform does not apply
        leaves = [] if path is None else [Leaf(path, p.op_text, expected if p.op not in ("exists", "empty")
                                                else not p.negated, shown, Truth.TRUE if ok else Truth.FALSE)]
        return ok, leaves
    if isinstance(p, AllOf):
        results = [_holds(ctx, i) for i in p.items]
        ok = all(r[0] for r in results)
        return ok, [leaf for r in results if r[0] == ok for leaf in r[1]]
    if isinstance(p, AnyOf):
        results = [_holds(ctx, i) for i in p.items]
        good = next((r for r in results if r[0]), None)
        if good is not None:
            return True, good[1]
        return False, [leaf for r in results for leaf in r[1]]
    if isinstance(p, (Each, Some)):
        coll, path = _value(ctx, p.coll)
        items = _elements(coll, path or "", p.entries, isinstance(p.coll, Keys))
        results = []
        for item in items:
            ctx.stack.append(item)
            try:
                if p.where is not None and not _holds(ctx, p.where)[0]:
                    continue
                results.append(_holds(ctx, p.require))
            finally:
                ctx.stack.pop()
        if isinstance(p, Each):
            ok = all(r[0] for r in results)
            leaves = [leaf for r in results if r[0] == ok for leaf in r[1]]
        else:
            good = next((r for r in results if r[0]), None)
            ok = good is not None
            leaves = good[1] if good is not None else [leaf for r in results for leaf in r[1]]
        if path is not None and (not leaves or not ok):
            # the collection itself: the only evidence when it is empty, and beside the offending elements. Its
            # content only when it is a list of values, not objects (capabilities, sysctl names): entries that are objects
            # (env, annotations ...) may hold values evidence never carries, and their own leaves say what failed
            shown = "none" if not items else coll if isinstance(coll, list) and not any(
                isinstance(e, dict) for e in coll) else f"{len(items)} entries"
            leaves = [Leaf(path, "every element" if isinstance(p, Each) else "some element", describe(p.require),
                           shown, Truth.TRUE if ok else Truth.FALSE)] + leaves
        return ok, leaves
    raise RuleError(f"unknown predicate {p!r}")


def _elements(coll: Any, path: str, entries: bool, keys: bool) -> list[_Item]:
    if keys:
        return [_Item(k, f"{path}.{k}", k) for k in as_list(coll)]
    if entries:
        return [_Item(v, f"{path}.{k}", k) for k, v in as_dict(coll).items()]
    return [_Item(v, f"{path}[{i}]", i) for i, v in enumerate(as_list(coll))]


class KubeRule:
    """An object rule (the ``ObjectRule`` protocol of ``controls.model``), parsed from its data form."""

    def __init__(self, spec: Mapping[str, Any] | RuleSpec, where: str = "object_rule") -> None:
        self.spec = spec if isinstance(spec, RuleSpec) else parse_rule(spec, WORKLOAD_KINDS, where)

    # -- what the rule matches ----------------------------------------------------------------------------

    @property
    def target_types(self) -> tuple[str, ...]:
        """The aks-compliance target types the rule judges (Target.match_type)."""
        if self.spec.workloads:
            return (kindlib.WORKLOAD,)
        return tuple(dict.fromkeys(kindlib.match_type(k, "") or f"k8s/{k}" for k in self.spec.kinds))

    def match_kinds(self) -> list[dict[str, list[str]]]:
        """Gatekeeper's match.kinds: one entry per API group."""
        groups: dict[str, list[str]] = {}
        for k in self.spec.kinds:
            if k not in API_GROUPS:
                raise RuleError(f"kind {k} has no known API group")
            groups.setdefault(API_GROUPS[k], []).append(k)
        return [{"apiGroups": [g], "kinds": ks} for g, ks in groups.items()]

    def with_guards(self, guards: tuple[Guard, ...]) -> "KubeRule":
        from dataclasses import replace
        return KubeRule(replace(self.spec, guards=tuple(guards) + self.spec.guards))

    # -- the Python engine --------------------------------------------------------------------------------

    def _ctx(self, target: "Target", params: Mapping[str, Any]) -> _Ctx:
        version = version_number(pss_version(params, target.context.get("scope")))
        derived = {}
        for name, d in self.spec.derived:
            derived[name] = d.at(version) if isinstance(d, VersionSteps) else d.at(params.get(d.param))
        body = target.resource.body if isinstance(target.resource.body, dict) else {}
        pod = None
        if self.spec.workloads and target.resource.type in kindlib.POD_PATHS:
            pod = pod_view(target)
        return _Ctx(self, params, version, derived, body, pod, target.namespace)

    def not_applicable(self, target: "Target", params: Mapping[str, Any]) -> str | None:
        """Why the rule does not apply to the target (its first guard that fails), or None."""
        if not self.spec.guards:
            return None
        ctx = self._ctx(target, params)
        for g in self.spec.guards:
            ok, leaves = _holds(ctx, g.when)
            if not ok:
                value = next((leaf.actual for leaf in leaves), ABSENT)
                return g.reason.replace("{value}", "(unset)" if value is ABSENT else str(value)).replace(
                    "{pssVersion}", f"v{ctx.version // 1000}.{ctx.version % 1000}")
        return None

    def evaluate(self, target: "Target", params: Mapping[str, Any]) -> Verdict:
        if target.context.get("implied"):
            # a namespace only named by other objects: there is no object to read the fields of
            return Verdict(Truth.UNKNOWN, [f"{target.resource.type} {target.resource.display_name()} has no "
                                           f"{target.resource.type} object among the inputs: its fields are unknown"], [])
        ctx = self._ctx(target, params)
        f = Findings()
        for e in self.spec.exempt:
            ok, leaves = _holds(ctx, e)
            if ok:
                return Verdict(Truth.TRUE, [], leaves)
        for check in self.spec.checks:
            if check.when is not None and not _holds(ctx, check.when)[0]:
                continue
            items = self._items(ctx, check)
            if not items:
                path, what = self._scope_path(ctx, check)
                f.ok(path, "contains no", what, "none")
            for item in items:
                ctx.check_item = item
                if check.unknown_when is not None and _holds(ctx, check.unknown_when)[0]:
                    f.cannot_tell(item.path, "satisfies", describe(check.require),
                                  check.unknown_reason.replace("{item}", item.path))
                    continue
                ok, leaves = _holds(ctx, check.require)
                if not leaves:
                    leaves = [Leaf(item.path, "satisfies", describe(check.require), "yes" if ok else "no",
                                   Truth.TRUE if ok else Truth.FALSE)]
                (f.good if ok else f.bad).extend(leaves)
            ctx.check_item = None
        if not (f.good or f.bad or f.unknown):
            f.ok(ctx.pod.p("containers") if ctx.pod else "metadata", "contains no", "checked fields", "none")
        return f.verdict()

    def _items(self, ctx: _Ctx, check: Check) -> list[_Item]:
        if check.scope == "object":
            return [_Item(ctx.body, "")]
        if ctx.pod is None:
            return []
        if check.scope == "pod":
            return [_Item(ctx.pod.spec, ctx.pod.spec_path)]
        if check.scope == "volumes":
            return [_Item(v, p) for p, v in ctx.pod.volumes()]
        return [_Item(c.body, c.path) for c in ctx.pod.containers(check.groups)]

    def _scope_path(self, ctx: _Ctx, check: Check) -> tuple[str, str]:
        assert ctx.pod is not None
        if check.scope == "volumes":
            return ctx.pod.p("volumes"), "volumes"
        return ctx.pod.p("containers"), "containers"

    def derived_values(self, params: Mapping[str, Any], version: int) -> dict[str, Any]:
        return {name: d.at(version) if isinstance(d, VersionSteps) else d.at(params.get(d.param))
                for name, d in self.spec.derived}

    # -- the Rego engine ----------------------------------------------------------------------------------

    def to_rego(self, control: "Control") -> str:
        from .rego import compile_rule
        return compile_rule(self, control)

    def describe_checks(self) -> list[str]:
        return [f"{c.scope}: {describe(c.require)}" for c in self.spec.checks]


def python_check(rule: KubeRule):
    """The rule's Python form, as ``Control.check`` (the k8s_control wrapper adds exclusions, gaps and errors)."""
    def check(target: "Target", params: Mapping[str, Any]) -> Verdict:
        return rule.evaluate(target, params)
    check.__name__ = "object_rule"
    return check


__all__ = ["API_GROUPS", "KubeRule", "RuleError", "WORKLOAD_KINDS", "compare", "json_eq", "parse_image",
           "python_check", "version_number"]
