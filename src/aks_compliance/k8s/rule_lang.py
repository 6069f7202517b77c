"""The object-rule language: a small declarative language over one Kubernetes object, with one meaning in two
engines (Python for the pytest verdict, :mod:`.rules`; Rego for a Gatekeeper ConstraintTemplate, :mod:`.rego`).

A rule is data (a dict, or the ``object_rule:`` of a YAML control)::

    kinds: workloads                  # Pods and every controller's pod template; or a list of kinds
    derived:                          # values computed from the parameters, the same way in both engines
      allowedSysctls: {pssVersion: [{since: "1.0", value: [...]}, {since: "1.27", value: [...]}], before: []}
      allowedLevels: {param: minimumLevel, choices: {baseline: [baseline, restricted]}, default: [restricted]}
    applies:                          # the control applies only where each holds (else: not applicable)
      - {when: {field: $pssVersion, greaterOrEquals: 1023}, reason: "..."}
    exempt:                           # where one holds, the object passes (with that evidence)
      - {allOf: [{field: $pod.hostUsers, equals: false}, {field: $pssVersion, greaterOrEquals: 1035}]}
    checks:                           # every item of each check's scope must satisfy its predicate
      - scope: containers             # containers (every group) | volumes | pod | object
        require: {field: securityContext.privileged, notEquals: true}

Globs (like, likeAny, fromRegistry): ``*`` (any run of characters, '/' too), ``?`` (one character) and classes of
ASCII characters (``[AD]``, ``[a-z]``, ``[!0-9]``); every other character stands for itself. A pattern with ``{``, a
backslash, an unclosed ``[`` or a reversed range is refused (in a rule, and in a parameter's value): Python's
fnmatch and Gatekeeper's glob.match give them different meanings.

Predicates: ``{field: REF, OP: OPERAND}`` with OP one of equals, notEquals, in, notIn, exists, like, notLike,
likeAny (one of a list of patterns), matches (a regular expression matching the whole string, in the syntax
Python's re and RE2 share: no lookaround, no backreferences), startsWith, notStartsWith, contains, notContains, greaterOrEquals,
lessOrEquals, empty, fromRegistry (an image from one of a list of registry globs: a host, or host/path when the
pattern has a '/'), and their not- forms; ``allOf``, ``anyOf``,
``not``; ``{each: REF, where: P, require: P}`` (every element) and ``{some: REF, where: P, require: P}``, over a
list, or over a map's entries with ``entries: true`` (``$key`` is the entry's key).

References (REF): a path relative to the current item (a container, a volume, a list element), or from
``$pod.`` (the pod spec, wherever the kind keeps it), ``$meta.`` (the pod's metadata), ``$object.`` (the whole
object); keys with dots go in brackets (``$meta.annotations['seccomp.security.alpha.kubernetes.io/pod']``), and
``{name}`` inside a bracketed key is the checked container's name. ``.`` is the current item itself, ``$key``
the current map key, ``$pssVersion`` the Pod Security Standards version checked (major * 1000 + minor),
``$params.NAME`` a parameter, ``$namespacedName`` the object's ``namespace/name``. A list of
paths is the first one set (a container value, else the pod's); ``{image: REF, part: registry|repository|tag|
digest}`` reads an image reference as the container runtime does; ``{lower: REF}``; ``{upper: REF}`` (as Go's strings.ToUpper, letter by letter); ``{keys: REF, except: [...]}``
the keys whose values are set. OPERAND: a literal, ``{param: NAME}`` or ``{derived: NAME}``.

Values follow JSON: a missing field and ``null`` are the same (absent), ``true`` is not ``1``, a field below a
value that is not an object is absent.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Union

CONTAINER_GROUPS = ("containers", "initContainers", "ephemeralContainers")


class RuleError(ValueError):
    """An object rule that cannot be used; the message names the place in the rule."""


def go_upper(text: str) -> str:
    """``text`` upper-cased letter by letter, as Go's strings.ToUpper (simple case mapping: a letter whose upper case is
    several letters, such as the sharp s, stays as it is); the long s and the dotless i become S and I."""
    return "".join(u if len(u := c.upper()) == 1 else c for c in text)


# --- references ----------------------------------------------------------------------------------------

BASES = {"$pod": "pod", "$meta": "meta", "$object": "object"}


@dataclass(frozen=True)
class NameKey:
    """A map key built from the checked item's name: ``container.apparmor.security.beta.kubernetes.io/{name}``."""

    template: str


Segment = Union[str, NameKey]


@dataclass(frozen=True)
class Field:
    base: str  # item | pod | meta | object
    segments: tuple[Segment, ...]
    text: str


@dataclass(frozen=True)
class First:
    """The first of the references that is set."""

    refs: tuple[Field, ...]
    text: str


@dataclass(frozen=True)
class ImagePart:
    ref: Any
    part: str  # registry | repository | tag | digest
    text: str


@dataclass(frozen=True)
class Lower:
    ref: Any
    text: str


@dataclass(frozen=True)
class Upper:
    """A string upper-cased as Go's strings.ToUpper does it (the container runtime's reading of a capability name):
    per letter, so the long s (U+017F) and the dotless i (U+0131) become S and I. Compare it with ASCII literals."""

    ref: Any
    text: str


@dataclass(frozen=True)
class Keys:
    ref: Field
    exclude: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class MapKey:
    text: str = "$key"


@dataclass(frozen=True)
class PssVersion:
    text: str = "$pssVersion"


@dataclass(frozen=True)
class ParamRef:
    """A parameter's value, read as a field (``$params.requireDigest``)."""

    name: str
    text: str


@dataclass(frozen=True)
class NamespacedName:
    """``namespace/name`` of the object (its namespace as the scan places it, or as the admission request has it)."""

    text: str = "$namespacedName"


IMAGE_PARTS = ("registry", "repository", "tag", "digest")

# --- operands ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    name: str


@dataclass(frozen=True)
class Derived:
    name: str


@dataclass(frozen=True)
class Lit:
    value: Any


# --- predicates (kept in negation normal form) -----------------------------------------------------------

# operator -> (the operator it negates to, whether that is the negated form)
OPERATORS = {
    "equals": ("equals", False), "notequals": ("equals", True),
    "in": ("in", False), "notin": ("in", True),
    "exists": ("exists", False),
    "like": ("like", False), "notlike": ("like", True),
    "startswith": ("startsWith", False), "notstartswith": ("startsWith", True),
    "contains": ("contains", False), "notcontains": ("contains", True),
    "greaterorequals": ("greaterOrEquals", False), "lessorequals": ("lessOrEquals", False),
    "empty": ("empty", False),
    "likeany": ("likeAny", False), "notlikeany": ("likeAny", True),
    "fromregistry": ("fromRegistry", False), "notfromregistry": ("fromRegistry", True),
    "matches": ("matches", False), "notmatches": ("matches", True),
}
NEGATED_NAMES = {"equals": "notEquals", "in": "notIn", "like": "notLike", "startsWith": "notStartsWith",
                 "contains": "notContains", "likeAny": "notLikeAny", "fromRegistry": "notFromRegistry",
                 "matches": "notMatches"}


@dataclass(frozen=True)
class Cmp:
    ref: Any
    op: str  # equals | in | exists | like | startsWith | contains | greaterOrEquals | lessOrEquals | empty
    operand: Any  # Lit | Param | Derived
    negated: bool = False

    @functools.cached_property  # read for every leaf of every evaluation
    def op_text(self) -> str:
        if self.op in ("exists", "empty") and isinstance(self.operand, Lit) and isinstance(self.operand.value, bool):
            return self.op
        if self.negated:
            return NEGATED_NAMES.get(self.op, f"not {self.op}")
        return self.op


@dataclass(frozen=True)
class AllOf:
    items: tuple[Any, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Any, ...]


@dataclass(frozen=True)
class Each:
    """Every element of a collection (that satisfies ``where``) satisfies ``require``."""

    coll: Any  # Field | Keys
    require: Any
    where: Any = None
    entries: bool = False  # iterate a map's entries instead of a list's elements


@dataclass(frozen=True)
class Some:
    """Some element of a collection (that satisfies ``where``) satisfies ``require``."""

    coll: Any
    require: Any
    where: Any = None
    entries: bool = False


def negate(p: Any) -> Any:
    if isinstance(p, Cmp):
        return Cmp(p.ref, p.op, p.operand, not p.negated)
    if isinstance(p, AllOf):
        return AnyOf(tuple(negate(i) for i in p.items))
    if isinstance(p, AnyOf):
        return AllOf(tuple(negate(i) for i in p.items))
    if isinstance(p, Each):
        return Some(p.coll, negate(p.require), p.where, p.entries)
    if isinstance(p, Some):
        return Each(p.coll, negate(p.require), p.where, p.entries)
    raise RuleError(f"cannot negate {p!r}")


# --- the parts of a rule -------------------------------------------------------------------------------

SCOPES = ("containers", "volumes", "pod", "object")


@dataclass(frozen=True)
class Check:
    scope: str
    require: Any
    groups: tuple[str, ...] = CONTAINER_GROUPS
    when: Any = None  # the check is made only where this holds (e.g. a Pod Security Standards version)
    unknown_when: Any = None  # the item cannot be judged where this holds (unknown, never passed)
    unknown_reason: str = ""


@dataclass(frozen=True)
class Guard:
    when: Any
    reason: str  # "{value}" is replaced by the first field read


@dataclass(frozen=True)
class VersionSteps:
    """A value by Pod Security Standards version: the value of the last step at or below the version."""

    steps: tuple[tuple[int, Any], ...]  # (major * 1000 + minor, value), ascending
    before: Any

    def at(self, version: int) -> Any:
        value = self.before
        for since, v in self.steps:
            if version >= since:
                value = v
        return value


@dataclass(frozen=True)
class ParamChoice:
    """A value chosen by a parameter's value."""

    param: str
    choices: tuple[tuple[str, Any], ...]
    default: Any

    def at(self, raw: Any) -> Any:
        for key, v in self.choices:
            if raw == key:
                return v
        return self.default


@dataclass(frozen=True)
class RuleSpec:
    kinds: tuple[str, ...]  # the object kinds (workload kinds for "workloads")
    workloads: bool
    checks: tuple[Check, ...]
    guards: tuple[Guard, ...] = ()
    exempt: tuple[Any, ...] = ()
    derived: tuple[tuple[str, Any], ...] = ()
    source: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def glob_params(self) -> set[str]:
        """The parameters given as the patterns of like, likeAny or fromRegistry."""
        return {n.operand.name for n in self.nodes()
                if isinstance(n, Cmp) and n.op in GLOB_OPERATORS and isinstance(n.operand, Param)}

    def params_used(self) -> set[str]:
        found: set[str] = set()
        for _, d in self.derived:
            if isinstance(d, ParamChoice):
                found.add(d.param)
            if isinstance(d, VersionSteps):
                found.add("pssVersion")
        for node in self.nodes():
            if isinstance(node, (Param, ParamRef)):
                found.add(node.name)
            if isinstance(node, PssVersion):
                found.add("pssVersion")
        return found

    def nodes(self) -> list[Any]:
        out: list[Any] = []

        def walk(n: Any) -> None:
            if n is None:
                return
            out.append(n)
            if isinstance(n, Cmp):
                walk(n.ref)
                walk(n.operand)
            elif isinstance(n, (AllOf, AnyOf)):
                for i in n.items:
                    walk(i)
            elif isinstance(n, (Each, Some)):
                walk(n.coll)
                walk(n.where)
                walk(n.require)
            elif isinstance(n, First):
                for r in n.refs:
                    walk(r)
            elif isinstance(n, (ImagePart, Lower, Upper)):
                walk(n.ref)
            elif isinstance(n, Keys):
                walk(n.ref)

        for c in self.checks:
            walk(c.require)
            walk(c.when)
            walk(c.unknown_when)
        for g in self.guards:
            walk(g.when)
        for e in self.exempt:
            walk(e)
        return out


# --- parsing the data form -----------------------------------------------------------------------------

_SEGMENT = re.compile(r"\[(?:'([^']*)'|\"([^\"]*)\")\]|([^.\[\]]+)")


def parse_path(text: str, where: str) -> Any:
    if not isinstance(text, str) or not text.strip():
        raise RuleError(f"{where}: a field path must be a non-empty string, not {text!r}")
    text = text.strip()
    if text == "$key":
        return MapKey()
    if text == "$pssVersion":
        return PssVersion()
    if text == "$namespacedName":
        return NamespacedName()
    if text.startswith("$params."):
        name = text[len("$params."):]
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name):
            raise RuleError(f"{where}: {text!r} does not name a parameter")
        return ParamRef(name, text)
    base, rest = "item", text
    head = text.split(".", 1)[0]
    if head.startswith("$"):
        if head not in BASES:
            raise RuleError(f"{where}: unknown path root {head!r} (use $pod, $meta, $object, $params, $key, "
                            "$namespacedName or $pssVersion)")
        base, rest = BASES[head], text[len(head):].lstrip(".")
    if rest in ("", "."):
        return Field(base, (), text)
    segments: list[Segment] = []
    pos = 0
    while pos < len(rest):
        if rest[pos] == ".":
            pos += 1
            continue
        m = _SEGMENT.match(rest, pos)
        if not m:
            raise RuleError(f"{where}: cannot read the path {text!r} at {rest[pos:]!r}")
        quoted = m.group(1) if m.group(1) is not None else m.group(2)
        if quoted is not None:
            segments.append(NameKey(quoted) if "{name}" in quoted else quoted)
        else:
            segments.append(m.group(3))
        pos = m.end()
    return Field(base, tuple(segments), text)


def parse_ref(spec: Any, where: str) -> Any:
    if isinstance(spec, str):
        return parse_path(spec, where)
    if isinstance(spec, list):
        if len(spec) < 2:
            raise RuleError(f"{where}: a list of fields (the first one set) needs two or more paths")
        refs = tuple(parse_path(s, f"{where}[{i}]") for i, s in enumerate(spec))
        if not all(isinstance(r, Field) for r in refs):
            raise RuleError(f"{where}: only field paths can be listed")
        return First(refs, " else ".join(r.text for r in refs))
    if isinstance(spec, dict):
        if "image" in spec:
            _only(spec, {"image", "part"}, where)
            part = spec.get("part")
            if part not in IMAGE_PARTS:
                raise RuleError(f"{where}: image part must be one of {', '.join(IMAGE_PARTS)}, not {part!r}")
            inner = parse_ref(spec["image"], f"{where}.image")
            return ImagePart(inner, part, f"{part} of {inner.text}")
        if "lower" in spec:
            _only(spec, {"lower"}, where)
            inner = parse_ref(spec["lower"], f"{where}.lower")
            return Lower(inner, f"lower({inner.text})")
        if "upper" in spec:
            _only(spec, {"upper"}, where)
            inner = parse_ref(spec["upper"], f"{where}.upper")
            return Upper(inner, f"upper({inner.text})")
        if "keys" in spec:
            _only(spec, {"keys", "except"}, where)
            inner = parse_path(spec["keys"], f"{where}.keys")
            if not isinstance(inner, Field):
                raise RuleError(f"{where}.keys: a field path")
            exclude = spec.get("except") or []
            if not isinstance(exclude, list) or not all(isinstance(e, str) for e in exclude):
                raise RuleError(f"{where}.except: a list of keys")
            return Keys(inner, tuple(exclude), f"keys of {inner.text}")
    raise RuleError(f"{where}: a field is a path, a list of paths, or {{image|lower|upper|keys: ...}}, not {spec!r}")


def parse_operand(value: Any, where: str) -> Any:
    if isinstance(value, dict) and len(value) == 1 and set(value) <= {"param", "derived"}:
        (kind, name), = value.items()
        if not isinstance(name, str) or not name:
            raise RuleError(f"{where}: {kind} names a {kind}")
        return Param(name) if kind == "param" else Derived(name)
    return Lit(value)


def _only(spec: Mapping[str, Any], allowed: set[str], where: str) -> None:
    extra = sorted(set(spec) - allowed)
    if extra:
        raise RuleError(f"{where}: unknown key(s) {', '.join(extra)} (allowed: {', '.join(sorted(allowed))})")


def parse_predicate(spec: Any, where: str) -> Any:
    if not isinstance(spec, dict) or not spec:
        raise RuleError(f"{where}: a predicate is a non-empty mapping, not {spec!r}")
    keys = {k.lower(): k for k in spec}
    if "allof" in keys or "anyof" in keys:
        name = keys.get("allof") or keys["anyof"]
        _only(spec, {name}, where)
        items = spec[name]
        if not isinstance(items, list) or not items:
            raise RuleError(f"{where}.{name}: a non-empty list of predicates")
        parsed = tuple(parse_predicate(p, f"{where}.{name}[{i}]") for i, p in enumerate(items))
        return AllOf(parsed) if name.lower() == "allof" else AnyOf(parsed)
    if "not" in keys:
        _only(spec, {keys["not"]}, where)
        return negate(parse_predicate(spec[keys["not"]], f"{where}.not"))
    if "each" in keys or "some" in keys:
        name = keys.get("each") or keys["some"]
        _only(spec, {name, "where", "require", "entries"}, where)
        coll = parse_ref(spec[name], f"{where}.{name}")
        if not isinstance(coll, (Field, Keys)):
            raise RuleError(f"{where}.{name}: iterate a field or {{keys: ...}}")
        if "require" not in spec:
            raise RuleError(f"{where}: '{name}' needs 'require'")
        require = parse_predicate(spec["require"], f"{where}.require")
        cond = parse_predicate(spec["where"], f"{where}.where") if "where" in spec else None
        entries = spec.get("entries", False)
        if not isinstance(entries, bool):
            raise RuleError(f"{where}.entries: true or false")
        return (Each if name.lower() == "each" else Some)(coll, require, cond, entries)
    if "field" not in spec:
        raise RuleError(f"{where}: a predicate has 'field' and an operator, or allOf/anyOf/not/each/some")
    ops = [k for k in spec if k != "field"]
    if len(ops) != 1 or ops[0].lower() not in OPERATORS:
        raise RuleError(f"{where}: exactly one operator ({', '.join(sorted(OPERATORS))}) beside 'field', got "
                        f"{', '.join(ops) or 'none'}")
    op, negated = OPERATORS[ops[0].lower()]
    operand = parse_operand(spec[ops[0]], f"{where}.{ops[0]}")
    if op in ("exists", "empty") and not (isinstance(operand, Lit) and isinstance(operand.value, bool)):
        raise RuleError(f"{where}.{ops[0]}: true or false")
    if op in ("exists", "empty") and operand.value is False:
        operand, negated = Lit(True), True
    if op in ("greaterOrEquals", "lessOrEquals") and isinstance(operand, Lit) and \
            (isinstance(operand.value, bool) or not isinstance(operand.value, (int, float))):
        raise RuleError(f"{where}.{ops[0]}: a number")
    if op in ("like", "startsWith", "matches") and isinstance(operand, Lit) and not isinstance(operand.value, str):
        raise RuleError(f"{where}.{ops[0]}: a string")
    if op == "matches" and isinstance(operand, Lit):
        _check_regex(operand.value, f"{where}.{ops[0]}")
    if op in GLOB_OPERATORS and isinstance(operand, Lit):
        _check_globs(operand.value, f"{where}.{ops[0]}")
    if op in ("in", "likeAny", "fromRegistry") and isinstance(operand, Lit) and not isinstance(operand.value, list):
        raise RuleError(f"{where}.{ops[0]}: a list")
    return Cmp(parse_ref(spec["field"], f"{where}.field"), op, operand, negated)


# The glob operators. Python's fnmatch and Gatekeeper's glob.match (gobwas/glob) agree on '*', '?' and simple
# classes ([AD], [a-z], [!0-9]); they part on the rest: glob.match reads {a,b} as alternatives and a backslash as an
# escape, and finds no pattern at all in an unclosed '[' or '{' or a reversed range, where fnmatch reads them as
# characters. A pattern outside the common part is refused, so it means one thing everywhere.
GLOB_OPERATORS = ("like", "likeAny", "fromRegistry")
_CLASS_CHAR = r"[\x22-\x29\x2b\x2c\x2e-\x3e\x40-\x5a\x5f-\x7a\x7c\x7e]"  # printable ASCII but !*-?[\]^{}
_CLASS = rf"\[!?(?:{_CLASS_CHAR}-{_CLASS_CHAR}|{_CLASS_CHAR})+\]"
GLOB_PATTERN = rf"^(?:[^\[{{\\]|{_CLASS})*$"  # (also the parameters' JSON Schema pattern)
_GLOB = re.compile(GLOB_PATTERN)
_RANGE = re.compile(rf"({_CLASS_CHAR})-({_CLASS_CHAR})")


def glob_problem(pattern: Any) -> str | None:
    """Why ``pattern`` is not a glob both engines read alike, or None."""
    if not isinstance(pattern, str):
        return None
    if _GLOB.match(pattern) and all(a <= b for a, b in _RANGE.findall(
            "".join(re.findall(_CLASS, pattern)))):
        return None
    return (f"{pattern!r} is not a glob of the object-rule language ('*', '?' and classes of ASCII characters such "
            "as [a-z] or [!0-9]): '{', a backslash, an unclosed '[' or a reversed range mean different things to "
            "Python's fnmatch and to Gatekeeper's glob.match")


def _check_globs(value: Any, where: str) -> None:
    for p in value if isinstance(value, list) else [value]:
        problem = glob_problem(p)
        if problem:
            raise RuleError(f"{where}: {problem}")


# Python-only regular-expression syntax: lookaround, backreferences, conditionals, possessive and atomic forms. RE2
# (Gatekeeper's regex.match) refuses them, so a rule using them would mean one thing in Python and fail in Rego.
_PYTHON_ONLY = re.compile(r"\(\?(?:[=!<>]|P=|\(|\w+\))|\\[1-9]|[*+?}]\+|\(\?>")


def _check_regex(pattern: str, where: str) -> None:
    try:
        re.compile(pattern)
    except re.error as e:
        raise RuleError(f"{where}: {pattern!r} is not a regular expression ({e})") from None
    if _PYTHON_ONLY.search(pattern):
        raise RuleError(f"{where}: {pattern!r} uses syntax only Python has (lookaround, backreferences ...): a "
                        "pattern must mean the same in both engines (Python re and RE2)")


def parse_version(text: Any, where: str) -> int:
    m = re.fullmatch(r"v?(\d+)\.(\d+)", str(text).strip())
    if not m:
        raise RuleError(f"{where}: a version like 1.27, not {text!r}")
    return int(m.group(1)) * 1000 + int(m.group(2))


def parse_derived(name: str, spec: Any, where: str) -> Any:
    if not isinstance(spec, dict):
        raise RuleError(f"{where}: a derived value is {{pssVersion: [...]}} or {{param: ..., choices: ...}}")
    if "pssVersion" in spec:
        _only(spec, {"pssVersion", "before"}, where)
        steps = spec["pssVersion"]
        if not isinstance(steps, list) or not steps:
            raise RuleError(f"{where}.pssVersion: a list of {{since: VERSION, value: ...}}")
        parsed = []
        for i, s in enumerate(steps):
            if not isinstance(s, dict) or set(s) != {"since", "value"}:
                raise RuleError(f"{where}.pssVersion[{i}]: {{since: VERSION, value: ...}}")
            parsed.append((parse_version(s["since"], f"{where}.pssVersion[{i}].since"), s["value"]))
        if [p[0] for p in parsed] != sorted({p[0] for p in parsed}):
            raise RuleError(f"{where}.pssVersion: versions ascending, each once")
        return VersionSteps(tuple(parsed), spec.get("before"))
    if "param" in spec:
        _only(spec, {"param", "choices", "default"}, where)
        choices = spec.get("choices")
        if not isinstance(choices, dict) or not choices or not all(isinstance(k, str) for k in choices):
            raise RuleError(f"{where}.choices: a mapping from the parameter's values")
        return ParamChoice(str(spec["param"]), tuple(choices.items()), spec.get("default"))
    raise RuleError(f"{where}: a derived value is {{pssVersion: [...]}} or {{param: ..., choices: ...}}")


def parse_rule(spec: Any, workload_kinds: tuple[str, ...], where: str = "object_rule") -> RuleSpec:
    if not isinstance(spec, dict):
        raise RuleError(f"{where}: a mapping")
    _only(spec, {"kinds", "derived", "applies", "exempt", "checks"}, where)
    kinds = spec.get("kinds")
    if kinds == "workloads":
        kind_list, workloads = workload_kinds, True
    elif isinstance(kinds, list) and kinds and all(isinstance(k, str) and k for k in kinds):
        kind_list, workloads = tuple(kinds), False
    else:
        raise RuleError(f"{where}.kinds: 'workloads' or a list of kinds")
    derived = []
    for name, d in (spec.get("derived") or {}).items():
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", str(name)):
            raise RuleError(f"{where}.derived: {name!r} is not a name")
        derived.append((str(name), parse_derived(str(name), d, f"{where}.derived.{name}")))
    guards = []
    for i, g in enumerate(spec.get("applies") or []):
        if not isinstance(g, dict) or set(g) != {"when", "reason"} or not isinstance(g["reason"], str):
            raise RuleError(f"{where}.applies[{i}]: {{when: PREDICATE, reason: TEXT}}")
        guards.append(Guard(parse_predicate(g["when"], f"{where}.applies[{i}].when"), g["reason"]))
    exempt = tuple(parse_predicate(e, f"{where}.exempt[{i}]") for i, e in enumerate(spec.get("exempt") or []))
    checks = []
    raw_checks = spec.get("checks")
    if not isinstance(raw_checks, list) or not raw_checks:
        raise RuleError(f"{where}.checks: a non-empty list")
    for i, c in enumerate(raw_checks):
        w = f"{where}.checks[{i}]"
        if not isinstance(c, dict):
            raise RuleError(f"{w}: a mapping")
        _only(c, {"scope", "require", "groups", "when", "unknown_when", "unknown_reason"}, w)
        scope = c.get("scope")
        if scope not in SCOPES:
            raise RuleError(f"{w}.scope: one of {', '.join(SCOPES)}")
        if scope in ("containers", "volumes", "pod") and not workloads:
            raise RuleError(f"{w}.scope: {scope} needs kinds: workloads")
        groups = tuple(c.get("groups") or CONTAINER_GROUPS)
        if not set(groups) <= set(CONTAINER_GROUPS):
            raise RuleError(f"{w}.groups: some of {', '.join(CONTAINER_GROUPS)}")
        if "require" not in c:
            raise RuleError(f"{w}: 'require' is missing")
        unknown_when = parse_predicate(c["unknown_when"], f"{w}.unknown_when") if "unknown_when" in c else None
        if unknown_when is not None and not c.get("unknown_reason"):
            raise RuleError(f"{w}: unknown_when needs unknown_reason")
        checks.append(Check(scope, parse_predicate(c["require"], f"{w}.require"), groups,
                            parse_predicate(c["when"], f"{w}.when") if "when" in c else None,
                            unknown_when, str(c.get("unknown_reason", ""))))
    rule = RuleSpec(kind_list, workloads, tuple(checks), tuple(guards), exempt, tuple(derived), spec)
    _validate(rule, where)
    return rule


def _validate(rule: RuleSpec, where: str) -> None:
    names = {n for n, _ in rule.derived}
    for node in rule.nodes():
        if isinstance(node, Derived) and node.name not in names:
            raise RuleError(f"{where}: derived value {node.name!r} is not declared under derived")
        if isinstance(node, Field) and node.base in ("pod", "meta") and not rule.workloads:
            raise RuleError(f"{where}: {node.text} reads a pod spec: the rule needs kinds: workloads")

    def item_free(p: Any, what: str) -> None:
        for n in _walk(p):
            if isinstance(n, Field) and n.base == "item" and not _inside_iteration(p, n):
                raise RuleError(f"{where}: {what} reads {n.text!r} relative to no item: use $pod, $meta or $object")

    for g in rule.guards:
        item_free(g.when, "applies")
    for e in rule.exempt:
        item_free(e, "exempt")


def _walk(p: Any) -> list[Any]:
    return RuleSpec((), False, (Check("object", p),)).nodes()


def _inside_iteration(p: Any, target: Any) -> bool:
    """Whether ``target`` is read inside an each/some (relative to an element) within ``p``."""
    if isinstance(p, (Each, Some)):
        inner = _walk(p.require) + (_walk(p.where) if p.where is not None else [])
        return any(n is target for n in inner) or _inside_iteration(p.require, target)
    if isinstance(p, (AllOf, AnyOf)):
        return any(_inside_iteration(i, target) for i in p.items)
    return False


def describe(p: Any) -> str:
    """A predicate in words, for violation messages."""
    if p is None:
        return ""
    if isinstance(p, Cmp):
        operand = p.operand
        if isinstance(operand, Param):
            text = f"parameter {operand.name}"
        elif isinstance(operand, Derived):
            text = operand.name
        else:
            text = _literal_text(operand.value)
        if p.op in ("exists", "empty"):
            return f"{p.ref.text} is {'not ' if p.negated else ''}{'set' if p.op == 'exists' else 'empty'}"
        return f"{p.ref.text} {p.op_text} {text}"
    if isinstance(p, AllOf):
        return " and ".join(_paren(describe(i)) for i in p.items)
    if isinstance(p, AnyOf):
        return " or ".join(_paren(describe(i)) for i in p.items)
    if isinstance(p, (Each, Some)):
        head = "every" if isinstance(p, Each) else "some"
        cond = f" where {describe(p.where)}" if p.where is not None else ""
        return f"{head} entry of {p.coll.text}{cond}: {describe(p.require)}"
    return str(p)


def _paren(text: str) -> str:
    return f"({text})" if (" and " in text or " or " in text) else text


def _literal_text(v: Any) -> str:
    import json
    return json.dumps(v, ensure_ascii=False)
