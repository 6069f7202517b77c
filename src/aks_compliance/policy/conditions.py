"""An evaluator of the Azure Policy rule language (ARM modes) over resources as ARM returns them.

Semantics follow ``policy-language.md``: case-insensitive keys, aliases and string comparison;
``[*]`` aliases are all-of over the members (vacuously true on an empty or missing array); field and
value ``count`` with ``where`` and ``current()``; template functions in operands; evaluation errors
as a state of their own. On top of Azure's two values it adds *unknown*, for values a scan cannot
know offline: ``allOf`` is false as soon as one member is false, unknown if none is false but one is
unknown, and so on (Kleene logic), so that unknown never turns into a pass or a fail by accident.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from ..arm.expressions import Context, evaluate, literal_or_expression, parse
from ..arm.functions import BUILTINS, UNKNOWN_AWARE
from ..errors import ExpressionError
from ..memo import Memo
from ..values import Placeholder, Unknown
from ..wording import json_type
from .aliases import DEFAULT_ALIASES, Alias, AliasResolver, _lower_segments, split_path


class PolicyDefinitionError(Exception):
    """The condition itself is invalid (Azure would reject the definition)."""


class EvalError(Exception):
    """Evaluation failed the way Azure's does (template function error, type mismatch)."""


class MalformedValue(Exception):
    """A path into the resource crosses a value of the wrong JSON type: an object or array was expected
    (the resource's REST API would reject it). Raised only by a strict subject (``Subject.strict``):
    a control must never pass over such a value, so the verdict is an error naming where it is."""

    def __init__(self, path: str, expected: str, actual: Any, where: str = "", found: str | None = None) -> None:
        self.path = path
        self.expected = expected
        self.actual = found or json_type(actual)  # found: what was there, in words, when its type does not say
        self.where = where
        hint = ("; a PowerShell export written with too small a ConvertTo-Json -Depth turns nested objects into "
                "such strings" if isinstance(actual, str) and actual.startswith(("@{", "System.")) else "")
        super().__init__(f"{where + ': ' if where else ''}{path or '(the resource)'} must be {expected} "
                         f"(the REST API rejects anything else), found {self.actual}{hint}")




class Truth(enum.Enum):
    TRUE = "true"
    FALSE = "false"
    UNKNOWN = "unknown"
    ERROR = "error"


T, F, U, E = Truth.TRUE, Truth.FALSE, Truth.UNKNOWN, Truth.ERROR
MISSING = object()


def _not(t: Truth) -> Truth:
    return F if t is T else T if t is F else t


@dataclass
class Leaf:
    """One evaluated comparison: the evidence of a verdict."""

    path: str  # concrete JSON path in the resource, e.g. properties.agentPoolProfiles[1].count
    operator: str
    expected: Any
    actual: Any  # MISSING when absent
    truth: Truth
    alias: str | None = None
    in_count: bool = False  # evaluated inside a count's where: true means "counted"
    # Whether this comparison is part of why its condition has the truth it has: False when a sibling decided
    # (an allOf's true branch beside a false one), or inside a count, when its member is not one the count's
    # comparison fails because of. ``failing`` is set from it once the verdict is known to be false.
    relevant: bool = True
    failing: bool = False
    context: str = ""  # inside a count over values: which value the where was evaluated for


def mark_failing(verdict: "Verdict") -> "Verdict":
    """The failing comparisons of a false verdict a Python check built (its leaves are its own comparisons,
    each true or false): the false ones. The evaluator marks its own verdicts exactly (``Evaluator.verdict``)."""
    if verdict.truth is F:
        for leaf in verdict.leaves:
            leaf.failing = leaf.truth is F and leaf.relevant
    return verdict


@dataclass
class Verdict:
    truth: Truth
    reasons: list[str] = field(default_factory=list)  # why unknown / error
    leaves: list[Leaf] = field(default_factory=list)


@dataclass
class Member:
    """A bound array member during a field count (``where`` sees it as the only member)."""

    prefix: tuple[str, ...]  # alias segments up to and including the counted [*]
    path: str  # concrete path of the member
    value: Any


@dataclass
class Subject:
    """The resource under evaluation plus what built-in fields need."""

    body: Mapping[str, Any]
    full_name: str | None = None
    # For `value` expressions: resourceGroup(), subscription() ...
    context: Mapping[str, Any] = field(default_factory=dict)
    # Strict: a path that crosses a non-object (or a [*] over a non-array) raises MalformedValue instead of
    # reading as absent. Controls evaluate strictly; the Azure Policy emulation (definitions.py) does not.
    strict: bool = False
    where: Callable[[str], str] | None = None  # body path -> "file:line (at /pointer)" for messages
    # Field values already read (alias -> selection), when the subject is shared by many rules (the
    # controls of one target): the body does not change while it is evaluated. None: not kept.
    selected: dict[Any, tuple[bool, list[tuple[str, Any]]]] | None = field(default=None, compare=False, repr=False)

    def __repr__(self) -> str:  # short: the body may be megabytes (tracebacks show the reprs of arguments)
        return f"Subject({self.full_name!r})"


_OPERATORS = {
    "equals", "notequals", "like", "notlike", "match", "matchinsensitively", "notmatch",
    "notmatchinsensitively", "contains", "notcontains", "in", "notin", "containskey", "notcontainskey",
    "less", "lessorequals", "greater", "greaterorequals", "exists",
}
_COMPILED: Memo = Memo(20_000)
_CANON = {o.lower(): o for o in (
    "equals", "notEquals", "like", "notLike", "match", "matchInsensitively", "notMatch",
    "notMatchInsensitively", "contains", "notContains", "in", "notIn", "containsKey", "notContainsKey",
    "less", "lessOrEquals", "greater", "greaterOrEquals", "exists")}


_CI_CACHE: Memo = Memo(20_000)


def _ci(node: Mapping[str, Any]) -> dict[str, Any]:
    """The node with lower-case keys; memoised, since control rules are evaluated over and over.

    The cache holds the node itself, so its id cannot be reused while cached."""
    hit = _CI_CACHE.get(id(node))
    if hit is not None and hit[0] is node:
        return hit[1]
    lowered = {k.lower(): v for k, v in node.items()}
    _CI_CACHE.put(id(node), (node, lowered))
    return lowered


def _emptiness(op: str, value: str, operand: Any) -> bool:
    """Whether the comparison only asks if a non-empty stand-in is the empty string: the fact it stands for (a
    subscription id, a location) is never empty either, so that much is known of it."""
    return op.lower() in ("equals", "notequals") and operand == "" and value != ""


class Evaluator:
    """Evaluates conditions against one subject. Reusable across conditions for that subject."""

    def __init__(self, subject: Subject, parameters: Mapping[str, Any] | None = None,
                 aliases: AliasResolver = DEFAULT_ALIASES) -> None:
        self.subject = subject
        # read only: the lowered mapping is memoised (a control's parameters are the same object every time)
        self.parameters = _ci(parameters) if parameters else {}
        self.aliases = aliases
        self.leaves: list[Leaf] = []
        self.reasons: list[str] = []
        self._in_count = 0
        self._context = ""  # the value a count over values is evaluating its where for

    # -- entry point --
    def verdict(self, condition: Mapping[str, Any]) -> Verdict:
        self.leaves = []
        self.reasons = []
        try:
            truth = self.cond(condition, ())
        except EvalError as exc:
            return Verdict(E, [str(exc)], self.leaves)
        except MalformedValue as exc:
            self.leaves.append(Leaf(exc.path, "is", exc.expected, exc.actual, E))
            return Verdict(E, [str(exc)], self.leaves)
        reasons = list(dict.fromkeys(self.reasons)) if truth in (U, E) else []
        verdict = Verdict(truth, reasons, self.leaves)
        if truth is F:
            for leaf in self.leaves:
                leaf.failing = leaf.relevant
        return verdict

    # -- logical structure --
    def cond(self, node: Any, bindings: tuple) -> Truth:
        key = (id(node), id(self.aliases))
        hit = _COMPILED.get(key)
        if hit is None or hit[0] is not node:
            fn = self._compile(node)
            _COMPILED.put(key, (node, fn))  # the entry holds the node, so its id cannot be reused while cached
        else:
            fn = hit[1]
        return fn(self, bindings)

    def _compile(self, node: Any) -> Callable[["Evaluator", tuple], Truth]:
        """A condition node as a closure: key lowering, operator dispatch and alias resolution are done
        once per rule, not once per resource (controls evaluate the same rules thousands of times)."""
        if not isinstance(node, dict) or not node:
            raise PolicyDefinitionError(f"a condition must be a non-empty object, not {node!r}")
        n = _ci(node)
        if "allof" in n:
            children = self._list(n["allof"], "allOf")
            return lambda ev, b: ev._combine(children, b, ev._all)
        if "anyof" in n:
            children = self._list(n["anyof"], "anyOf")
            return lambda ev, b: ev._combine(children, b, ev._any)
        if "not" in n:
            child = n["not"]
            return lambda ev, b: _not(ev.cond(child, b))
        ops = [k for k in n if k in _OPERATORS]
        if len(ops) != 1:
            raise PolicyDefinitionError(f"a condition needs exactly one operator, found {ops or 'none'} in {dict(node)}")
        op = ops[0]
        operand = n[op]
        if "count" in n:
            spec = n["count"]
            return lambda ev, b: ev._count(spec, op, operand, b)
        if "field" in n:
            name = n["field"]
            if isinstance(name, str) and not name.startswith("["):
                kind, alias = self.resolve_field(name)
                static = not (isinstance(operand, str) and operand.startswith("["))

                def field_leaf(ev: "Evaluator", b: tuple) -> Truth:
                    value = operand if static else ev.operand(operand, b)
                    return ev._field_resolved(name, kind, alias, op, value, b)
                return field_leaf
            return lambda ev, b: ev._field(name, op, operand, b)
        if "value" in n:
            raw = n["value"]
            return lambda ev, b: ev._value(raw, op, operand, b)
        raise PolicyDefinitionError(f"a condition needs 'field', 'value' or 'count': {dict(node)}")

    @staticmethod
    def _list(v: Any, what: str) -> list:
        if not isinstance(v, list) or not v:
            raise PolicyDefinitionError(f"'{what}' needs a non-empty array")
        return v

    def _combine(self, children: list, bindings: tuple, combine: Callable[[list[Truth]], Truth]) -> Truth:
        """allOf / anyOf: a child whose truth differs from the result did not decide it (a true branch of a
        false allOf, a false one of a true anyOf): its comparisons are not relevant to why."""
        leaves = self.leaves
        starts = []
        truths = []
        for c in children:
            starts.append(len(leaves))
            truths.append(self.cond(c, bindings))
        truth = combine(truths)
        starts.append(len(leaves))
        for i, t in enumerate(truths):
            if t is not truth:
                for leaf in leaves[starts[i]:starts[i + 1]]:
                    leaf.relevant = False
        return truth

    @staticmethod
    def _all(ts: list[Truth]) -> Truth:
        if E in ts:
            return E
        if F in ts:
            return F
        return U if U in ts else T

    @staticmethod
    def _any(ts: list[Truth]) -> Truth:
        if E in ts:
            return E
        if T in ts:
            return T
        return U if U in ts else F

    # -- operands --
    def operand(self, raw: Any, bindings: tuple) -> Any:
        if isinstance(raw, str) and raw.startswith("["):
            is_expr, text = literal_or_expression(raw)
            if not is_expr:
                return text
            return self.expression(text, bindings)
        return raw

    def expression(self, text: str, bindings: tuple) -> Any:
        try:
            node = parse(text)
        except ExpressionError as exc:
            raise PolicyDefinitionError(f"invalid expression [{text}]: {exc}") from None
        ctx = _ValueContext(self, bindings)
        try:
            return evaluate(node, ctx)
        except ExpressionError as exc:
            raise EvalError(f"template function failed: {exc}") from None

    # -- field resolution --
    def resolve_field(self, name: str) -> tuple[str, Alias | None]:
        low = name.lower()
        if low in ("name", "fullname", "kind", "type", "location", "id", "identity.type"):
            return low, None
        if low == "tags" or low.startswith("tags.") or low.startswith("tags["):
            return "tags", None
        alias = self.aliases.resolve(name)
        if alias is None:
            raise PolicyDefinitionError(f"unknown alias '{name}'")
        return "alias", alias

    def select(self, name: str, bindings: tuple) -> tuple[bool, list[tuple[str, Any]]]:
        """(is_collection, [(path, value)]) for a field; value MISSING when absent, Unknown if unknowable."""
        kind, alias = self.resolve_field(name)
        return self._select_resolved(name, kind, alias, bindings)

    def _select_resolved(self, name: str, kind: str, alias: Alias | None,
                         bindings: tuple) -> tuple[bool, list[tuple[str, Any]]]:
        if kind != "alias":
            return False, [self._builtin_field(kind, name)]
        assert alias is not None
        memo = self.subject.selected
        if memo is not None and not bindings:
            hit = memo.get(id(alias))  # aliases are kept by their resolver: the id is theirs for the run
            if hit is None:
                hit = memo[id(alias)] = self._select_alias(alias, bindings)
            return hit
        return self._select_alias(alias, bindings)

    def _select_alias(self, alias: Alias, bindings: tuple) -> tuple[bool, list[tuple[str, Any]]]:
        body = self.subject.body
        segments = alias.segments
        start: list[tuple[str, Any]] = [("", body)]
        rest = segments
        if bindings:
            lowered = alias.lower
            for b in reversed(bindings):
                if isinstance(b, Member) and len(b.prefix) <= len(segments) and \
                        lowered[: len(b.prefix)] == _lower_segments(b.prefix):
                    start = [(b.path, b.value)]
                    rest = segments[len(b.prefix):]
                    break
        collection = "[*]" in rest
        if self.subject.strict:
            return collection, _walk_strict(start, rest, collection, self.subject.where)
        return collection, _walk(start, rest, collection)

    def _builtin_field(self, kind: str, name: str) -> tuple[str, Any]:
        body = self.subject.body
        if kind == "name":
            v = _get_ci(body, "name")
            if isinstance(v, str):
                v = v.rsplit("/", 1)[-1]
            return "name", v
        if kind == "fullname":
            return "fullName", self.subject.full_name if self.subject.full_name is not None else _get_ci(body, "name")
        if kind == "location":
            v = _get_ci(body, "location")
            if isinstance(v, str) and not isinstance(v, Placeholder):
                v = v.replace(" ", "").lower()
            elif v is MISSING:
                v = "global"
            return "location", v
        if kind == "identity.type":
            ident = _get_ci(body, "identity")
            if self.subject.strict:
                _need_object(ident, "identity", self.subject.where)
            return "identity.type", _get_ci(ident, "type") if isinstance(ident, dict) else (
                ident if isinstance(ident, Unknown) else MISSING)
        if kind == "tags":
            tags = _get_ci(body, "tags")
            if self.subject.strict:
                _need_object(tags, "tags", self.subject.where)
            m = re.fullmatch(r"tags(?:\.(.+)|\[(.+)\])?", name, re.I | re.S)
            key = None
            if m and (m.group(1) or m.group(2)):
                key = m.group(1) or m.group(2)
                if key.startswith("'") and key.endswith("'"):
                    key = key[1:-1].replace("''", "'")
            if key is None:
                return "tags", tags
            if isinstance(tags, Unknown):
                return f"tags['{key}']", tags
            return f"tags['{key}']", _get_ci(tags, key) if isinstance(tags, dict) else MISSING
        return kind, _get_ci(body, kind)

    # -- leaves --
    def _field(self, name: Any, op: str, raw_operand: Any, bindings: tuple) -> Truth:
        if isinstance(name, str) and name.startswith("["):
            name = self.operand(name, bindings)
            if isinstance(name, Unknown):
                self.reasons.append(name.reason)
                return U
        if not isinstance(name, str):
            raise PolicyDefinitionError(f"'field' must name a field or alias, not {name!r}")
        kind, alias = self.resolve_field(name)
        return self._field_resolved(name, kind, alias, op, self.operand(raw_operand, bindings), bindings)

    def _field_resolved(self, name: str, kind: str, alias: Alias | None, op: str, operand: Any,
                        bindings: tuple) -> Truth:
        if isinstance(operand, str) and operand.startswith("[["):
            operand = operand[1:]  # an escaped literal '[' (static operands skip operand())
        collection, values = self._select_resolved(name, kind, alias, bindings)
        alias_name = name
        if not collection:
            path, value = values[0]
            return self._leaf(path, op, value, operand, alias_name)
        truths = [self._leaf(path, op, value, operand, alias_name) for path, value in values]
        if any(t is Truth.ERROR for t in truths):
            return E
        truth = self._all(truths) if truths else T
        if truth is F:  # every member must match: the members that do are not why it fails
            for leaf in self.leaves[len(self.leaves) - len(truths):]:
                if leaf.truth is not F:
                    leaf.relevant = False
        return truth

    def _value(self, raw: Any, op: str, raw_operand: Any, bindings: tuple) -> Truth:
        value = self.operand(raw, bindings)
        operand = self.operand(raw_operand, bindings)
        label = raw if isinstance(raw, str) else None
        return self._leaf(f"value {label}" if label else "value", op, value, operand, None)

    def _leaf(self, path: str, op: str, value: Any, operand: Any, alias: str | None) -> Truth:
        if isinstance(value, Placeholder) and op.lower() != "exists" and not _emptiness(op, value, operand):
            value = Unknown(value.reason)  # a stand-in joins names, but no decision may rest on its text
        if isinstance(value, Unknown):
            self.reasons.append(value.reason)
            truth = U
        elif isinstance(operand, Unknown):
            self.reasons.append(operand.reason)
            truth = U
        else:
            try:
                truth = T if apply_operator(op, value, operand) else F
            except EvalError as exc:
                self.reasons.append(f"{path}: {exc}")
                truth = E
            except _Unknowable as exc:
                self.reasons.append(exc.reason)
                truth = U
        self.leaves.append(Leaf(path, _CANON.get(op, op), operand, value, truth, alias, self._in_count > 0,
                                context=self._context))
        return truth

    # -- count --
    def _count(self, spec: Any, op: str, raw_operand: Any, bindings: tuple) -> Truth:
        if not isinstance(spec, dict):
            raise PolicyDefinitionError("'count' must be an object")
        s = _ci(spec)
        where = s.get("where")
        if "field" in s:
            name = s["field"]
            kind, alias = self.resolve_field(name)
            if alias is None or not alias.is_array_member:
                raise PolicyDefinitionError(f"count.field must be an array alias ending in [*], not '{name}'")
            collection, members = self.select(name, bindings)
            unknown = next((v for p, v in members if isinstance(v, Unknown) and p.endswith("[*]")), None)
            if unknown is not None:
                self.reasons.append(unknown.reason)
                return self._leaf_count(f"count({name})", op, Unknown(unknown.reason), raw_operand, bindings)
            outcomes = []
            ranges = []
            self._in_count += 1
            try:
                for path, value in members:
                    if where is None:
                        outcomes.append(T)
                        continue
                    member = Member(alias.segments, path, value)
                    start = len(self.leaves)
                    outcomes.append(self.cond(where, bindings + (member,)))
                    ranges.append((start, len(self.leaves)))
            finally:
                self._in_count -= 1
            label = f"count({name})"
        elif "value" in s:
            items = self.operand(s["value"], bindings)
            if isinstance(items, Unknown):
                self.reasons.append(items.reason)
                return self._leaf_count("count(value)", op, items, raw_operand, bindings)
            if not isinstance(items, list):
                raise EvalError(f"count.value must be an array, not {json_type(items)}")
            cname = str(s.get("name", "default")).lower()
            outcomes = []
            ranges = []
            self._in_count += 1
            outer = self._context
            try:
                for item in items:
                    if where is None:
                        outcomes.append(T)
                        continue
                    start = len(self.leaves)
                    # the comparisons of this member say which value they were made for
                    self._context = (f"{outer}, " if outer else "") + \
                        f"{s.get('name', 'value')} `{item if isinstance(item, (str, int, float)) else '…'}`"
                    outcomes.append(self.cond(where, bindings + (("value", cname, item),)))
                    ranges.append((start, len(self.leaves)))
            finally:
                self._in_count -= 1
                self._context = outer
            label = "count(value)"
        else:
            raise PolicyDefinitionError("'count' needs 'field' or 'value'")
        if E in outcomes:
            return E
        low = outcomes.count(T)
        high = low + outcomes.count(U)
        operand = self.operand(raw_operand, bindings)
        if low == high:
            truth = self._leaf(label, op, low, operand, None)
            if ranges:
                self._blame_members(op, operand, low, truth, outcomes, ranges)
            return truth
        # Unknown members: decide only if every possible count gives the same answer.
        try:
            answers = {apply_operator(op, n, operand) for n in range(low, high + 1)}
        except EvalError as exc:
            self.reasons.append(str(exc))
            return E
        truth = (T if answers == {True} else F) if len(answers) == 1 else U
        self.leaves.append(Leaf(label, _CANON.get(op, op), operand, f"{low}..{high}", truth))
        return truth

    def _blame_members(self, op: str, operand: Any, count: int, truth: Truth, outcomes: list[Truth],
                       ranges: list[tuple[int, int]]) -> None:
        """Which members a count's comparison holds or fails because of. Too many counted ("none may match",
        "at most n"): the counted members; too few where every member must match: the members not counted;
        too few otherwise ("at least one"): the count itself, no member in particular. Either way, whether it
        reads as failing is decided from the count's own truth, as for any comparison: compared with the
        wanted count in both directions, so that a count under a not is read the right way round."""
        total = len(outcomes)

        def holds(n: int) -> bool:
            try:
                return apply_operator(op, n, operand) == (truth is T)
            except (EvalError, _Unknowable):
                return True
        fewer = any(not holds(n) for n in range(0, count))  # a smaller count would flip the comparison
        more = [n for n in range(count + 1, total + 1) if not holds(n)]
        if fewer and not more:
            culprit = T
        elif more and more == [total]:
            culprit = F
        else:
            for start, end in ranges:
                for leaf in self.leaves[start:end]:
                    leaf.relevant = False
            return
        for (start, end), outcome in zip(ranges, outcomes):
            if outcome is not culprit:
                for leaf in self.leaves[start:end]:
                    leaf.relevant = False
        if any(o is culprit for o in outcomes):
            self.leaves[-1].relevant = False  # the members carry the blame, not the count

    def _leaf_count(self, label: str, op: str, value: Any, raw_operand: Any, bindings: tuple) -> Truth:
        return self._leaf(label, op, value, self.operand(raw_operand, bindings), None)

    # -- functions for value expressions --
    def field_function(self, name: str, bindings: tuple) -> Any:
        collection, values = self.select(name, bindings)
        _, alias = self.resolve_field(name)
        # field() of a [*] alias is always an array; inside a count's where the counted member
        # contributes itself only, so field('<counted alias>.x') is a one-element array.
        if collection or (alias is not None and alias.has_wildcard):
            out = []
            for _, v in values:
                if isinstance(v, Unknown):
                    return v
                if v is not MISSING:
                    out.append(v)
            return out
        v = values[0][1]
        return None if v is MISSING else v

    def current_function(self, args: tuple, bindings: tuple) -> Any:
        if not args:
            for b in reversed(bindings):
                if isinstance(b, Member):
                    return b.value
                return b[2]
            raise EvalError("current() is used outside a count")
        name = str(args[0])
        low = name.lower()
        for b in reversed(bindings):
            if isinstance(b, tuple) and b[1] == low:
                return b[2]
        for b in reversed(bindings):
            if isinstance(b, Member):
                alias = self.aliases.resolve(name)
                if alias is None:
                    break
                segs = alias.segments
                if tuple(s.lower() for s in segs[: len(b.prefix)]) == tuple(s.lower() for s in b.prefix):
                    rest = segs[len(b.prefix):]
                    if self.subject.strict:
                        vals = _walk_strict([(b.path, b.value)], rest, "[*]" in rest, self.subject.where)
                    else:
                        vals = _walk([(b.path, b.value)], rest, "[*]" in rest)
                    if "[*]" in rest:
                        return [v for _, v in vals if v is not MISSING]
                    v = vals[0][1]
                    return None if v is MISSING else v
        raise EvalError(f"current('{name}') does not name a count in scope")


class _Unknowable(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason


def _get_ci(obj: Any, key: str) -> Any:
    if not isinstance(obj, dict):
        return MISSING
    v = obj.get(key, MISSING)
    if v is not MISSING:
        return MISSING if v is None else v
    low = key.lower()
    for k, v in obj.items():
        if k.lower() == low:
            return MISSING if v is None else v
    if type(obj) is not dict:
        missing = getattr(obj, "missing_member", None)  # a partly known object (values.Partial, reference())
        if missing is not None:
            try:
                return missing(key)
            except ExpressionError:
                return MISSING
    return MISSING


def _walk(start: list[tuple[str, Any]], segments: tuple[str, ...], collection: bool, strict: bool = False,
          where: Callable[[str], str] | None = None) -> list[tuple[str, Any]]:
    """``(path, value)`` of what ``segments`` name below each start, in document order (members in order).

    Absent is MISSING; an unknown array is marked by its path ending in ``[*]``: its members (and their
    number) are unknown, unlike a known array with an unknown member. In a collection an element without
    the property contributes nothing. ``strict`` (controls): crossing a value of the wrong type raises
    MalformedValue (``_walk_strict``)."""
    out: list[tuple[str, Any]] = []
    for path, value in start:
        _visit(path, value, 0, segments, collection, strict, where, out)
    if not collection and not out:
        return [(".".join(s for s in segments if s != "[*]"), MISSING)]
    return out


def _visit(path: str, value: Any, i: int, segments: tuple[str, ...], collection: bool, strict: bool,
           where: Callable[[str], str] | None, out: list[tuple[str, Any]]) -> None:
    """``_walk`` below one value (a module function, not a closure: a recursive closure is a reference
    cycle, garbage the cyclic collector alone frees)."""
    last = len(segments)
    while i < last:
        if isinstance(value, Unknown):
            out.append((path + "[*]" * segments[i:].count("[*]"), value))
            return
        seg = segments[i]
        if seg == "[*]":
            if isinstance(value, list):
                for j, v in enumerate(value):
                    _visit(f"{path}[{j}]", v, i + 1, segments, collection, strict, where, out)
                return
            if value is MISSING or collection:
                if strict and value is not MISSING and value is not None:
                    raise MalformedValue(path, "an array", value, where(path) if where else "")
                return  # missing or non-array: contributes nothing to the collection
            if strict and value is not None:
                raise MalformedValue(path, "an array", value, where(path) if where else "")
            value = MISSING
            i += 1
            continue
        if strict and value is not MISSING and value is not None and not isinstance(value, dict):
            raise MalformedValue(path, "an object", value, where(path) if where else "")
        child = _get_ci(value, seg)
        if child is MISSING and collection:
            return  # an element without the property contributes nothing
        path = f"{path}.{seg}" if path else seg
        value = child
        i += 1
    out.append((path, value))


def _need_object(value: Any, path: str, where: Callable[[str], str] | None) -> None:
    if value is MISSING or value is None or isinstance(value, (dict, Unknown)):
        return
    raise MalformedValue(path, "an object", value, where(path) if where else "")


def _walk_strict(start: list[tuple[str, Any]], segments: tuple[str, ...], collection: bool,
                 where: Callable[[str], str] | None) -> list[tuple[str, Any]]:
    """``_walk`` for controls: crossing a value of the wrong type is an error, never an absence.

    Absent (or null) is absent; an Unknown stays unknown; but a string where the path needs an object, or an
    object where ``[*]`` needs an array, is what the REST API rejects, so no verdict may rest on it."""
    return _walk(start, segments, collection, True, where)


# --- operators -------------------------------------------------------------------------------------

def _canon(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).lower()


def _scalar(v: Any) -> bool:
    return isinstance(v, (str, int, float, bool))


def policy_equals(a: Any, b: Any) -> bool:
    if _scalar(a) and _scalar(b):
        return _canon(a) == _canon(b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(policy_equals(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        if len(a) != len(b):
            return False
        bl = {k.lower(): v for k, v in b.items()}
        return all(k.lower() in bl and policy_equals(v, bl[k.lower()]) for k, v in a.items())
    return False


def _like(value: Any, pattern: Any) -> bool:
    """Azure Policy's ``like``: ``*`` matches any text, case-insensitively. Matched part by part, each at its
    first place after the last (a regular expression of ``.*`` parts backtracks exponentially in the number of
    wildcards, and quadratically over a long value with two)."""
    if not isinstance(value, str) or not isinstance(pattern, str):
        return False
    parts = pattern.lower().split("*")
    text = value.lower()
    if len(parts) == 1:
        return text == parts[0]
    first, last = parts[0], parts[-1]
    if len(text) < len(first) + len(last) or not text.startswith(first) or not text.endswith(last):
        return False
    pos, end = len(first), len(text) - len(last)
    for part in parts[1:-1]:  # leftmost placement of each middle part is optimal: it leaves the most room
        found = text.find(part, pos, end)
        if found < 0:
            return False
        pos = found + len(part)
    return True


def _match(value: Any, pattern: Any, insensitive: bool) -> bool:
    if not isinstance(value, str) or not isinstance(pattern, str):
        return False
    if len(value) != len(pattern):
        return False
    for c, p in zip(value, pattern):
        if p == "#":
            if not c.isdigit():
                return False
        elif p == "?":
            if not c.isalpha():
                return False
        elif p == ".":
            continue
        elif (c.lower() != p.lower()) if insensitive else (c != p):
            return False
    return True


def _compare(value: Any, operand: Any) -> int:
    num = (int, float)
    if isinstance(value, bool) or isinstance(operand, bool):
        raise EvalError(f"cannot compare {value!r} with {operand!r}")
    if isinstance(value, num) and isinstance(operand, num):
        return (value > operand) - (value < operand)
    if isinstance(value, str) and isinstance(operand, str):
        a, b = value.lower(), operand.lower()
        return (a > b) - (a < b)
    raise EvalError(f"cannot compare {json_type(value)} ({value!r}) with "
                    f"{json_type(operand)} ({operand!r})")


def _exists_flag(operand: Any) -> bool:
    if isinstance(operand, bool):
        return operand
    if isinstance(operand, str) and operand.lower() in ("true", "false"):
        return operand.lower() == "true"
    raise PolicyDefinitionError(f"'exists' needs true or false, not {operand!r}")


def apply_operator(op: str, value: Any, operand: Any) -> bool:
    """Apply a policy operator; ``value`` is MISSING when the field is absent."""
    op = op.lower()
    missing = value is MISSING or value is None
    if op == "exists":
        return (not missing) == _exists_flag(operand)
    if op in ("in", "notin"):
        if not isinstance(operand, list):
            raise PolicyDefinitionError(f"'{_CANON[op]}' needs an array operand, not {operand!r}")
        found = False if missing else any(policy_equals(value, o) for o in operand)
        return found if op == "in" else not found
    if op in ("equals", "notequals"):
        eq = False if missing else policy_equals(value, operand)
        return eq if op == "equals" else not eq
    if op in ("like", "notlike"):
        r = False if missing else _like(value, operand)
        return r if op == "like" else not r
    if op in ("match", "notmatch", "matchinsensitively", "notmatchinsensitively"):
        r = False if missing else _match(value, operand, "insensitively" in op)
        return r if not op.startswith("not") else not r
    if op in ("contains", "notcontains"):
        if missing:
            r = False
        elif isinstance(value, str):
            r = _canon(operand) in value.lower()
        elif isinstance(value, list):
            r = any(policy_equals(v, operand) for v in value)
        else:
            r = False
        return r if op == "contains" else not r
    if op in ("containskey", "notcontainskey"):
        r = (not missing and isinstance(value, dict)
             and str(operand).lower() in {k.lower() for k in value})
        return r if op == "containskey" else not r
    if op in ("less", "lessorequals", "greater", "greaterorequals"):
        if missing:
            raise EvalError(f"'{_CANON[op]}' cannot compare a missing value")
        c = _compare(value, operand)
        return {"less": c < 0, "lessorequals": c <= 0, "greater": c > 0, "greaterorequals": c >= 0}[op]
    raise PolicyDefinitionError(f"unknown operator '{op}'")


# --- template functions inside policy rules --------------------------------------------------------

_DISALLOWED = {"copyindex", "datetimeadd", "datetimefromepoch", "datetimetoepoch", "deployment", "environment",
               "extensionresourceid", "lambda", "listaccountsas", "listkeys", "listsecrets", "managementgroup",
               "newguid", "pickzones", "providers", "reference", "resourceid", "subscriptionresourceid",
               "tenantresourceid", "tenant", "variables"}


class _ValueContext(Context):
    unknown_aware = frozenset(UNKNOWN_AWARE)

    def __init__(self, ev: Evaluator, bindings: tuple) -> None:
        self.ev = ev
        self.bindings = bindings
        self.lambda_scopes: list = []

    def function(self, name: str):
        if name in _POLICY_FUNCTIONS:
            return _POLICY_FUNCTIONS[name]
        if name in _DISALLOWED or name.startswith("list"):
            raise PolicyDefinitionError(f"the function '{name}' is not allowed in policy rules")
        return BUILTINS.get(name)


def _p_field(ctx: _ValueContext, name: Any) -> Any:
    return ctx.ev.field_function(str(name), ctx.bindings)


def _p_current(ctx: _ValueContext, *args: Any) -> Any:
    return ctx.ev.current_function(args, ctx.bindings)


def _p_parameters(ctx: _ValueContext, name: Any) -> Any:
    key = str(name).lower()
    if key not in ctx.ev.parameters:
        raise ExpressionError(f"the policy has no parameter '{name}'")
    return ctx.ev.parameters[key]


def _p_context(key: str, fallback: Callable[[], Any]) -> Callable[..., Any]:
    def fn(ctx: _ValueContext) -> Any:
        return ctx.ev.subject.context.get(key) or fallback()
    return fn


def _p_ip_range_contains(ctx: _ValueContext, range_: Any, target: Any) -> bool:
    def net(v: Any) -> Any:
        text = str(v)
        if "-" in text:
            lo, hi = (ipaddress.ip_address(p.strip()) for p in text.split("-", 1))
            if lo.version != hi.version:
                raise ExpressionError("ipRangeContains: mixed address families")
            return (lo, hi)
        n = ipaddress.ip_network(text, strict=False)
        return (n[0], n[-1])

    try:
        r_lo, r_hi = net(range_)
        t_lo, t_hi = net(target)
    except ValueError as exc:
        raise ExpressionError(f"ipRangeContains: {exc}") from None
    if r_lo.version != t_lo.version:
        raise ExpressionError("ipRangeContains: mixed address families")
    return r_lo <= t_lo and t_hi <= r_hi


def _p_add_days(ctx: _ValueContext, dt_text: Any, days: Any) -> str:
    import datetime as dt
    from ..arm.functions import parse_datetime
    value = parse_datetime(str(dt_text)) + dt.timedelta(days=int(days))
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _p_utc_now(ctx: _ValueContext, fmt: Any = None) -> Any:
    now = ctx.ev.subject.context.get("utcNow")
    if now is None:
        return Unknown("utcNow() in a policy rule depends on the time Azure evaluates it")
    return now


_POLICY_FUNCTIONS: dict[str, tuple[Callable[..., Any], bool]] = {
    "field": (_p_field, False),
    "current": (_p_current, False),
    "parameters": (_p_parameters, False),
    "ipRangeContains".lower(): (_p_ip_range_contains, False),
    "addDays".lower(): (_p_add_days, False),
    "utcNow".lower(): (_p_utc_now, False),
    "resourceGroup".lower(): (_p_context("resourceGroup",
                                         lambda: Unknown("resourceGroup() is not known for this resource")), False),
    "subscription": (_p_context("subscription",
                                lambda: Unknown("subscription() is not known for this resource")), False),
    "requestContext".lower(): (_p_context("requestContext",
                                          lambda: Unknown("requestContext() only exists for a request")), False),
    "policy": (_p_context("policy", lambda: Unknown("policy() is only known in an assignment")), False),
}


def evaluate_condition(condition: Mapping[str, Any], subject: Subject,
                       parameters: Mapping[str, Any] | None = None,
                       aliases: AliasResolver = DEFAULT_ALIASES) -> Verdict:
    return Evaluator(subject, parameters, aliases).verdict(condition)


def aliases_in(condition: Any) -> list[str]:
    """Every alias a condition names in ``field`` / ``count.field`` (not built-in fields)."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k.lower() == "field" and isinstance(v, str) and not v.startswith("["):
                    low = v.lower()
                    if not (low in ("name", "fullname", "kind", "type", "location", "id", "identity.type")
                            or low == "tags" or low.startswith("tags.") or low.startswith("tags[")):
                        found.append(v)
                walk(v)
        elif isinstance(node, list):
            for x in node:
                walk(x)

    walk(condition)
    return list(dict.fromkeys(found))


def expression_problems(condition: Any, parameter_names: Iterable[str]) -> list[str]:
    """What is wrong with the expressions of a condition, found without evaluating it: a syntax error, a function
    the policy language lacks or forbids, ``parameters('x')`` of a parameter not declared. Evaluating a condition
    once does not find them all (an operand is not evaluated when its field is absent)."""
    from ..arm.expressions import Call, Index, Lit, Member

    names = {n.lower() for n in parameter_names}
    problems: list[str] = []

    def node_problems(node: Any, text: str) -> None:
        if isinstance(node, Call):
            if node.name == "parameters" and node.args and isinstance(node.args[0], Lit) \
                    and str(node.args[0].value).lower() not in names:
                problems.append(f"[{text}] reads parameters('{node.args[0].value}'), which is not declared "
                                f"(parameters: {', '.join(sorted(names)) or 'none'})")
            elif node.name not in _POLICY_FUNCTIONS and "." not in node.name:
                if node.name in _DISALLOWED or node.name.startswith("list"):
                    problems.append(f"[{text}]: the function '{node.name}' is not allowed in policy rules")
                elif node.name not in BUILTINS:
                    problems.append(f"[{text}]: unknown function '{node.name}'")
            for arg in node.args:
                node_problems(arg, text)
        elif isinstance(node, Member):
            node_problems(node.obj, text)
        elif isinstance(node, Index):
            node_problems(node.obj, text)
            node_problems(node.index, text)

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, str) and value.startswith("["):
            is_expr, text = literal_or_expression(value)
            if not is_expr:
                return
            try:
                node_problems(parse(text), text)
            except ExpressionError as exc:
                problems.append(f"invalid expression [{text}]: {exc}")

    walk(condition)
    return list(dict.fromkeys(problems))


__all__ = ["Evaluator", "EvalError", "Leaf", "MISSING", "MalformedValue", "PolicyDefinitionError", "Subject", "Truth",
           "Verdict", "aliases_in", "apply_operator", "expression_problems", "evaluate_condition", "policy_equals", "split_path"]
