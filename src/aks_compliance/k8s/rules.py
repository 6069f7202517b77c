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

import difflib
import fnmatch
import functools
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping

from ..policy.conditions import MISSING, Leaf, Truth, Verdict
from ..user_regex import PatternTooSlow, user_pattern
from . import kinds as kindlib
from .checks import Findings, pss_version
from .podspec import PodView, as_dict, as_list, pod_view
from .rule_lang import (AllOf, AnyOf, Check, Cmp, Derived, Each, Field, First, Guard, ImagePart, Keys, Lit, Lower,
                        MapKey, NamespacedName, NameKey, Param, ParamRef, PssVersion, RuleError, RuleSpec,
                        Some, Upper, VersionSteps, describe, glob_problem, go_upper, parse_rule)

if TYPE_CHECKING:
    from ..controls.model import Control
    from ..targets import Target

ABSENT = MISSING
WORKLOAD_KINDS = tuple(kindlib.POD_PATHS)  # in the declared (stable) order
# API groups of the kinds object rules match (Gatekeeper's match.kinds, the definition's apiGroups/kinds).
API_GROUPS = {"Pod": "", "ReplicationController": "", "PodTemplate": "", "Service": "", "Namespace": "", "ConfigMap": "",
              "ServiceAccount": "", "Deployment": "apps", "StatefulSet": "apps", "DaemonSet": "apps",
              "ReplicaSet": "apps", "Job": "batch", "CronJob": "batch", "Ingress": "networking.k8s.io",
              "Role": "rbac.authorization.k8s.io", "ClusterRole": "rbac.authorization.k8s.io",
              "RoleBinding": "rbac.authorization.k8s.io", "ClusterRoleBinding": "rbac.authorization.k8s.io"}


def _check_kind(kind: str, where: str) -> None:
    """A kind the rule can match in both engines (a target type here, an API group for Gatekeeper's match): a
    misspelt kind would judge nothing, and a lower-case one match here but never in Gatekeeper (kinds are
    case-sensitive)."""
    if kind in API_GROUPS:
        return
    close = [k for k in API_GROUPS if k.lower() == kind.lower()] or \
        difflib.get_close_matches(kind, list(API_GROUPS), n=1, cutoff=0.8)
    hint = f" (did you mean {close[0]}?)" if close else f"; they are: {', '.join(API_GROUPS)}, or 'workloads'"
    raise RuleError(f"{where}.kinds: {kind!r} is not a kind an object rule can match{hint}")


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


# A well-formed image reference, as the container runtime parses it (distribution's reference grammar,
# distribution/reference regexp.go; go-digest for the digest): [domain/]path[:tag][@digest]. Outside it the
# kubelet refuses the image (InvalidImageName): "nginx:" is no empty tag and "sha256:bad" no digest, so neither
# parse_image's parts nor a verdict on them mean anything. A digest of an algorithm go-digest knows, in lower-case
# hex of its length (sha256: 64). In the syntax both engines share (rule_lang: RE2, no backslash).
_ALNUM = "[a-z0-9]+"
_PATH_COMPONENT = f"{_ALNUM}(([_.]|__|[-]+){_ALNUM})*"
_DOMAIN_COMPONENT = "([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = f"{_DOMAIN_COMPONENT}([.]{_DOMAIN_COMPONENT})*(:[0-9]+)?"
_REMAINDER = (f"{_PATH_COMPONENT}(/{_PATH_COMPONENT})*"
              "(:[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,127})?"
              "(@(sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128}))?")
IMAGE_REFERENCE = f"({_DOMAIN}/)?{_REMAINDER}"
# An IPv6 literal host, "[fd00::1]:5000/app:1.0": distribution/reference reads one from v0.6 (ipv6address,
# \[[a-fA-F0-9:]+\], with an optional port), the version Kubernetes and containerd use. Its brackets cannot be written
# in the shared syntax (regopy reads neither "[[]" nor "[]]" as Python does), so an object rule says it in three
# parts (ipv6_image_reference): the image starts with "[", matches IPV6_IMAGE_SHAPE, whose [Z-^] classes hold each
# bracket, and its closing character is none of the others the class holds but the backslash (IPV6_NOT_CLOSED, [Z-[^];
# a backslash there is the one difference from the grammar left, in both engines alike).
IPV6_IMAGE_SHAPE = f"[Z-^][a-fA-F0-9:]+[Z-^](:[0-9]+)?/{_REMAINDER}"
IPV6_NOT_CLOSED = "[Z-^][a-fA-F0-9:]+[Z-[^].*"


def ipv6_image_reference(field: Any) -> dict[str, Any]:
    """The object-rule predicate: ``field`` is a well-formed reference with an IPv6 literal host."""
    return {"allOf": [{"field": field, "startsWith": "["}, {"field": field, "matches": IPV6_IMAGE_SHAPE},
                      {"field": field, "notMatches": IPV6_NOT_CLOSED}]}


_IMAGE_REFERENCE = re.compile(f"({_DOMAIN}/|\\[[a-fA-F0-9:]+\\](:[0-9]+)?/)?{_REMAINDER}")


def well_formed_image(image: str) -> bool:
    """Whether ``image`` is a reference the runtime can pull (IMAGE_REFERENCE, or an IPv6 literal host), for checks
    written in Python."""
    return _IMAGE_REFERENCE.fullmatch(image) is not None


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
        _globs(operand)
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
        _globs(operand)
        return isinstance(value, str) and isinstance(operand, list) and \
            any(isinstance(p, str) and fnmatch.fnmatchcase(value, p) for p in operand)
    if op == "fromRegistry":
        _globs(operand)
        return isinstance(value, str) and isinstance(operand, list) and from_registry(value, operand)
    if op == "matches":
        if not (isinstance(value, str) and isinstance(operand, str)):
            return False
        try:  # a rule's or a parameter's pattern: run with a time bound (user_regex.py)
            return user_pattern(operand).fullmatch(value)
        except PatternTooSlow as exc:
            raise RuleError(f"matches: {exc}") from None
    raise RuleError(f"unknown operator {op}")


def _globs(patterns: Any) -> None:
    """A pattern from a parameter (rule literals are checked when parsed) that the engines would read differently is
    an error, never one engine's reading (rule_lang.glob_problem)."""
    for p in patterns if isinstance(patterns, list) else (patterns,):
        if isinstance(p, str) and _glob_problem(p):
            raise RuleError(glob_problem(p) or "")


@functools.lru_cache(maxsize=1024)
def _glob_problem(pattern: str) -> bool:
    return glob_problem(pattern) is not None


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


# Each predicate, reference and operand of a rule is compiled once into a closure (the rule is evaluated on every
# object of its kinds: a tree walk that dispatched on node types cost more than the comparisons themselves).
# A node of an unknown type compiles to a function that raises when it is evaluated, as the walk did.

_COMPILED: dict[int, tuple[Any, Callable[[_Ctx], Any]]] = {}


def _compiled(node: Any, compile: Callable[[Any], Callable[[_Ctx], Any]]) -> Callable[[_Ctx], Any]:
    hit = _COMPILED.get(id(node))
    if hit is not None and hit[0] is node:  # the entry holds the node: its id is not reused while cached
        return hit[1]
    fn = compile(node)
    _COMPILED[id(node)] = (node, fn)
    return fn


def _raises(message: str) -> Callable[[_Ctx], Any]:
    def fn(ctx: _Ctx) -> Any:
        raise RuleError(message)
    return fn


def _field(ref: Field) -> Callable[[_Ctx], tuple[Any, str]]:
    base, segments, text = ref.base, ref.segments, ref.text
    named = any(type(seg) is NameKey for seg in segments)
    suffix = "" if named else ".".join(str(seg) for seg in segments)

    def get(ctx: _Ctx) -> tuple[Any, str]:
        if base == "item":
            item = ctx.stack[-1] if ctx.stack else ctx.check_item
            if item is None:
                raise RuleError(f"{text} is read relative to no item")
            value, path = item.value, item.path
        elif base == "pod":
            assert ctx.pod is not None
            value, path = ctx.pod.spec, ctx.pod.spec_path
        elif base == "meta":
            assert ctx.pod is not None
            value, path = ctx.pod.meta, ctx.pod.meta_path
        else:
            value, path = ctx.body, ""
        if not named:  # the usual case: the path below the base is the same every time, joined once
            for seg in segments:
                value = value.get(seg) if isinstance(value, dict) else None
            if suffix:
                path = f"{path}.{suffix}" if path else suffix
            return (value if value is not None else ABSENT), path
        for seg in segments:
            if type(seg) is NameKey:
                name = as_dict(ctx.check_item.value if ctx.check_item else None).get("name")
                seg = seg.template.replace("{name}", name if isinstance(name, str) else str(name))
            path = f"{path}.{seg}" if path else seg
            value = value.get(seg) if isinstance(value, dict) else None
        return (value if value is not None else ABSENT), path
    return get


_IMAGE_PARTS = ("registry", "repository", "tag", "digest")  # parse_image's order


def _ref(ref: Any) -> Callable[[_Ctx], tuple[Any, str | None]]:
    """(value or ABSENT, the body path it was read from; None for values that are not in the object)."""
    return _compiled(ref, _compile_ref)


def _compile_ref(ref: Any) -> Callable[[_Ctx], tuple[Any, str | None]]:
    if isinstance(ref, Field):
        return _field(ref)
    if isinstance(ref, First):
        getters = [_ref(r) for r in ref.refs]

        def first(ctx: _Ctx) -> tuple[Any, str | None]:
            first_path = None
            for get in getters:
                v, p = get(ctx)
                first_path = first_path or p
                if present(v):
                    return v, p
            return ABSENT, first_path
        return first
    if isinstance(ref, ImagePart):
        if ref.part not in _IMAGE_PARTS:
            return _raises(f"unknown image part {ref.part!r}")
        inner, index = _ref(ref.ref), _IMAGE_PARTS.index(ref.part)

        def image_part(ctx: _Ctx) -> tuple[Any, str | None]:
            v, p = inner(ctx)
            if not isinstance(v, str):
                return ABSENT, p
            out = parse_image(v)[index]
            return (out if out is not None else ABSENT), p
        return image_part
    if isinstance(ref, Lower):
        inner = _ref(ref.ref)

        def lower(ctx: _Ctx) -> tuple[Any, str | None]:
            v, p = inner(ctx)
            return (v.lower() if isinstance(v, str) else ABSENT), p
        return lower
    if isinstance(ref, Upper):
        inner = _ref(ref.ref)

        def upper(ctx: _Ctx) -> tuple[Any, str | None]:
            v, p = inner(ctx)
            return (go_upper(v) if isinstance(v, str) else ABSENT), p
        return upper
    if isinstance(ref, Keys):
        inner, exclude = _ref(ref.ref), ref.exclude

        def keys(ctx: _Ctx) -> tuple[Any, str | None]:
            v, p = inner(ctx)
            return sorted(k for k, x in as_dict(v).items() if x is not None and k not in exclude), p
        return keys
    if isinstance(ref, MapKey):
        def map_key(ctx: _Ctx) -> tuple[Any, None]:
            item = ctx.stack[-1] if ctx.stack else None
            return (item.key if item is not None else ABSENT), None
        return map_key
    if isinstance(ref, PssVersion):
        return lambda ctx: (ctx.version, None)
    if isinstance(ref, ParamRef):
        name = ref.name

        def param(ctx: _Ctx) -> tuple[Any, None]:
            v = ctx.params.get(name)
            return (v if v is not None else ABSENT), None
        return param
    if isinstance(ref, NamespacedName):
        return lambda ctx: (f"{ctx.namespace}/{as_dict(ctx.body.get('metadata')).get('name')}", None)
    return _raises(f"unknown reference {ref!r}")


def _operand(operand: Any) -> Callable[[_Ctx], Any]:
    if isinstance(operand, Lit):
        value = operand.value
        return lambda ctx: value
    if isinstance(operand, Param):
        name = operand.name
        return lambda ctx: ctx.params.get(name)
    if isinstance(operand, Derived):
        name = operand.name
        return lambda ctx: ctx.derived[name]
    return _raises(f"unknown operand {operand!r}")


def _holds(ctx: _Ctx, p: Any) -> tuple[bool, list[Leaf]]:
    """Whether ``p`` holds, and the leaves that show it (all true when it holds, all false when not)."""
    return _predicate(p)(ctx)


def _predicate(p: Any) -> Callable[[_Ctx], tuple[bool, list[Leaf]]]:
    return _compiled(p, _compile_predicate)


def _compile_predicate(p: Any) -> Callable[[_Ctx], tuple[bool, list[Leaf]]]:
    if isinstance(p, Cmp):
        return _compile_cmp(p)
    if isinstance(p, AllOf):
        parts = [_predicate(i) for i in p.items]

        def all_of(ctx: _Ctx) -> tuple[bool, list[Leaf]]:
            results = [part(ctx) for part in parts]
            ok = all(r[0] for r in results)
            return ok, [leaf for r in results if r[0] == ok for leaf in r[1]]
        return all_of
    if isinstance(p, AnyOf):
        parts = [_predicate(i) for i in p.items]

        def any_of(ctx: _Ctx) -> tuple[bool, list[Leaf]]:
            results = [part(ctx) for part in parts]
            good = next((r for r in results if r[0]), None)
            if good is not None:
                return True, good[1]
            return False, [leaf for r in results for leaf in r[1]]
        return any_of
    if isinstance(p, (Each, Some)):
        return _compile_elements(p)
    return _raises(f"unknown predicate {p!r}")


def _compile_cmp(p: Cmp) -> Callable[[_Ctx], tuple[bool, list[Leaf]]]:
    get, operand, op, negated, op_text = _ref(p.ref), _operand(p.operand), p.op, p.negated, p.op_text
    # what the object holds where a transform (lower-casing, an image part) does not apply
    untransformed = _ref(p.ref.ref) if isinstance(p.ref, (Lower, Upper, ImagePart)) else None
    presence = op in ("exists", "empty")

    def cmp(ctx: _Ctx) -> tuple[bool, list[Leaf]]:
        value, path = get(ctx)
        expected = operand(ctx)
        ok = compare(op, value, expected) != negated
        if path is None:
            return ok, []
        shown = untransformed(ctx)[0] if value is ABSENT and untransformed is not None else value
        return ok, [Leaf(path, op_text, (not negated) if presence else expected, shown,
                         Truth.TRUE if ok else Truth.FALSE)]
    return cmp


def _compile_elements(p: Each | Some) -> Callable[[_Ctx], tuple[bool, list[Leaf]]]:
    collection, require = _ref(p.coll), _predicate(p.require)
    where = _predicate(p.where) if p.where is not None else None
    entries, keys, every = p.entries, isinstance(p.coll, Keys), isinstance(p, Each)
    described: list[str] = []  # describe(p.require), made when first shown

    def elements(ctx: _Ctx) -> tuple[bool, list[Leaf]]:
        coll, path = collection(ctx)
        items = _elements(coll, path or "", entries, keys)
        results = []
        for item in items:
            ctx.stack.append(item)
            try:
                if where is not None and not where(ctx)[0]:
                    continue
                results.append(require(ctx))
            finally:
                ctx.stack.pop()
        if every:
            ok = all(r[0] for r in results)
            leaves = [leaf for r in results if r[0] == ok for leaf in r[1]]
        else:
            good = next((r for r in results if r[0]), None)
            ok = good is not None
            leaves = good[1] if good is not None else [leaf for r in results for leaf in r[1]]
        if path is not None and (not leaves or not ok):
            # the collection itself: the only evidence when it is empty, and beside the offending elements. Its
            # content only when it is a list of values, not objects (capabilities, sysctl names): entries that are
            # objects (env, annotations ...) may hold values evidence never carries, and their own leaves say what
            # failed
            shown = "none" if not items else coll if isinstance(coll, list) and not any(
                isinstance(e, dict) for e in coll) else f"{len(items)} entries"
            if not described:
                described.append(describe(p.require))
            leaves = [Leaf(path, "every element" if every else "some element", described[0],
                           shown, Truth.TRUE if ok else Truth.FALSE)] + leaves
        return ok, leaves
    return elements


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
        for kind in self.spec.kinds:
            _check_kind(kind, where)
        # the context of the last (target, parameters): the engine asks not_applicable, then evaluate
        self._last: tuple[Any, Any, _Ctx] | None = None

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
        last = self._last
        if last is not None and last[0] is target and last[1] is params:
            ctx = last[2]
            ctx.check_item = None
            ctx.stack.clear()
            return ctx
        ctx = self._new_ctx(target, params)
        self._last = (target, params, ctx)
        return ctx

    def _new_ctx(self, target: "Target", params: Mapping[str, Any]) -> _Ctx:
        version = version_number(pss_version(params, target.context.get("scope")))
        derived = self.derived_values(params, version)
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


__all__ = ["API_GROUPS", "IMAGE_REFERENCE", "ipv6_image_reference", "KubeRule", "RuleError", "WORKLOAD_KINDS", "compare", "json_eq", "parse_image", "well_formed_image",
           "python_check", "version_number"]
