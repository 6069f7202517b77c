"""ARM template expressions: tokenizer, parser and evaluator.

Grammar (as ARM implements it)::

    expression := primary ( '.' IDENT | '[' expression ']' )*
    primary    := STRING | NUMBER | IDENT [ '.' IDENT ] '(' [ expression (',' expression)* ] ')'
                | 'true' | 'false' | 'null'

Strings are single-quoted with ``''`` as the escaped quote. A JSON string is an expression when it
starts with ``[`` and ends with ``]``; a leading ``[[`` escapes a literal ``[``.

The evaluator is shared by the template engine and the policy condition evaluator; each supplies
a context (parameters, variables, ``field()``...) through :class:`Context`.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Callable

from ..errors import EvaluationLimit, ExpressionError
from ..jsonc import number_too_long
from ..values import Placeholder, Unknown

# --- AST -------------------------------------------------------------------------------------------


class Node:
    __slots__ = ()


class Lit(Node):
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"Lit({self.value!r})"


class Call(Node):
    __slots__ = ("name", "args", "text")

    def __init__(self, name: str, args: list[Node], text: str) -> None:
        self.name = name  # lower-case; "ns.fn" for user-defined functions
        self.args = args
        self.text = text  # source text of this call, for reasons and errors

    def __repr__(self) -> str:
        return f"Call({self.name}, {self.args!r})"


class Member(Node):
    __slots__ = ("obj", "name")

    def __init__(self, obj: Node, name: str) -> None:
        self.obj = obj
        self.name = name


class Index(Node):
    __slots__ = ("obj", "index", "text")

    def __init__(self, obj: Node, index: Node, text: str = "") -> None:
        self.obj = obj
        self.index = index
        self.text = text


# --- tokenizer / parser ----------------------------------------------------------------------------

_TOKENS = re.compile(
    r"\s*(?:"
    r"(?P<str>'(?:[^']|'')*')"
    r"|(?P<num>-?\d+(?:\.\d+)?)"
    r"|(?P<ident>[A-Za-z_$][A-Za-z0-9_$]*)"
    r"|(?P<punct>[()\[\],.])"
    r")"
)


def _tokenize(text: str) -> list[tuple[str, Any, int]]:
    tokens: list[tuple[str, Any, int]] = []
    pos = 0
    n = len(text)
    while pos < n:
        if text[pos].isspace():
            pos += 1
            continue
        m = _TOKENS.match(text, pos)
        if not m or m.end() == pos:
            if text[pos] == "'":
                raise ExpressionError("unterminated string literal", text)
            raise ExpressionError(f"unexpected character {text[pos]!r} at position {pos}", text)
        kind = m.lastgroup
        assert kind is not None
        raw = m.group(kind)
        start = m.start(kind)
        if kind == "str":
            tokens.append(("str", raw[1:-1].replace("''", "'"), start))
        elif kind == "num":
            tokens.append(("num", float(raw) if "." in raw else int(raw), start))
        else:
            tokens.append((kind, raw, start))
        pos = m.end()
    tokens.append(("end", None, n))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0

    def peek(self) -> tuple[str, Any, int]:
        return self.tokens[self.i]

    def take(self) -> tuple[str, Any, int]:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def expect(self, value: str) -> None:
        kind, val, pos = self.take()
        if kind != "punct" or val != value:
            found = "end of expression" if kind == "end" else repr(val)
            raise ExpressionError(f"expected {value!r} but found {found} at position {pos}", self.text)

    def parse(self) -> Node:
        node = self.expression(0)
        kind, val, pos = self.peek()
        if kind != "end":
            raise ExpressionError(f"unexpected {val!r} at position {pos}", self.text)
        return node

    def expression(self, depth: int) -> Node:
        if depth > 200:
            raise EvaluationLimit("expression nested too deeply", self.text)
        start = self.peek()[2]
        node = self.primary(depth)
        while True:
            kind, val, _ = self.peek()
            if kind == "punct" and val in ".[":
                # each '.name' or '[i]' wraps the node once more: a chain is as deep as a nesting (and an
                # index keeps its text, so an unbounded chain would cost its length squared)
                depth += 1
                if depth > 200:
                    raise EvaluationLimit("expression nested too deeply", self.text)
            if kind == "punct" and val == ".":
                self.take()
                k2, name, p2 = self.take()
                if k2 != "ident":
                    raise ExpressionError(f"expected a property name after '.' at position {p2}", self.text)
                node = Member(node, name)
            elif kind == "punct" and val == "[":
                self.take()
                idx = self.expression(depth + 1)
                end = self.peek()[2]
                self.expect("]")
                node = Index(node, idx, self.text[start:end + 1])
            else:
                return node

    def primary(self, depth: int) -> Node:
        kind, val, pos = self.take()
        if kind == "str" or kind == "num":
            return Lit(val)
        if kind == "ident":
            name = val
            nk, nv, _ = self.peek()
            # namespace.function( ... ) for user-defined functions
            if nk == "punct" and nv == "." and self.tokens[self.i + 1][0] == "ident" \
                    and self.tokens[self.i + 2][:2] == ("punct", "("):
                self.take()
                name = f"{name}.{self.take()[1]}"
                nk, nv, _ = self.peek()
            if nk == "punct" and nv == "(":
                self.take()
                args: list[Node] = []
                if self.peek()[:2] != ("punct", ")"):
                    while True:
                        args.append(self.expression(depth + 1))
                        if self.peek()[:2] == ("punct", ","):
                            self.take()
                            continue
                        break
                end = self.peek()[2]
                self.expect(")")
                return Call(name.lower(), args, self.text[pos:end + 1])
            low = name.lower()
            if low == "true":
                return Lit(True)
            if low == "false":
                return Lit(False)
            if low == "null":
                return Lit(None)
            raise ExpressionError(f"'{name}' at position {pos} is not a function call", self.text)
        if kind == "end":
            raise ExpressionError("expression ends unexpectedly", self.text)
        raise ExpressionError(f"unexpected {val!r} at position {pos}", self.text)


@lru_cache(maxsize=65536)
def parse(text: str) -> Node:
    """Parse the inside of ``[...]`` (without the brackets). Cached: templates repeat expressions."""
    return _Parser(text).parse()


def unparse(node: Node) -> str:
    """Expression text for a node (the inverse of ``parse``, up to spacing)."""
    if isinstance(node, Lit):
        v = node.value
        if v is True:
            return "true"
        if v is False:
            return "false"
        if v is None:
            return "null"
        if isinstance(v, str):
            return "'" + v.replace("'", "''") + "'"
        return repr(v)
    if isinstance(node, Call):
        return f"{node.name}({', '.join(unparse(a) for a in node.args)})"
    if isinstance(node, Member):
        return f"{unparse(node.obj)}.{node.name}"
    if isinstance(node, Index):
        return f"{unparse(node.obj)}[{unparse(node.index)}]"
    raise TypeError(f"not an expression node: {node!r}")


def literal_or_expression(value: str) -> tuple[bool, str]:
    """(True, inner text) for an expression, else (False, the literal string with ``[[`` unescaped)."""
    if len(value) >= 2 and value[0] == "[":
        if value[1] == "[":
            return False, value[1:]
        if value[-1] == "]":
            return True, value[1:-1]
    return False, value


# --- evaluation ------------------------------------------------------------------------------------

Function = Callable[..., Any]

# Bounds that keep hostile templates from eating memory or time: ARM's own limits are lower
# (4 MB templates, 800 copies), so real templates never get near them.
MAX_STRING = 1_000_000
MAX_ARRAY = 100_000
MAX_STEPS = 2_000_000  # work units per template (all its expressions, copies and nested deployments)
# Work units per scan beyond what each template may do for its own size (Budget.free): what small files can
# make together by amplification (copies, nested deployments, lambdas). Five template budgets: about 15 s of
# expression work, or 10,000 copied resource instances, on a machine at half the speed of a laptop. Honest
# templates never draw on it (the corpus does 0.13-0.61 units per character, the benchmark fleet about 0.7).
MAX_SCAN_STEPS = 10_000_000
# A value's size as a tree: every array, object and scalar is 1, a string 1 per 64 characters. Values are
# shared, not copied (createArray(v, v) holds v twice), so a chain of 60 doublings is small in memory yet
# 2^60 as a tree; anything that walks or prints it would never finish. Checked on every built value.
MAX_VALUE_SIZE = 2_000_000
CHARS_PER_UNIT = 64
INT_MIN, INT_MAX = -(2 ** 63), 2 ** 63 - 1  # ARM integers are 64-bit


class ScanBudget:
    """Work units left for the whole scan, shared by the budgets of its templates: each pays in what it does
    beyond its own size (:attr:`Budget.free`)."""

    __slots__ = ("spent", "limit")

    def __init__(self, limit: int = MAX_SCAN_STEPS) -> None:
        self.spent = 0
        self.limit = limit


class Budget:
    """Work units of one template: a function call is 1, a built value its top-level length (a string one
    per :data:`CHARS_PER_UNIT` characters), a resource instance or copy element 1. Charged *before* the
    work where its size is known (copy counts, padding widths) and right after a value is built otherwise;
    exceeding it is an expression error naming the expression, and every later expression of the template
    fails the same way at once, so a hostile template costs a bounded time and the rest of the scan goes on.

    ``free``: the units the template may spend without drawing on the scan's budget, in proportion to its size
    (arm/template.py, FREE_UNITS_PER_CHARACTER: an input's own size is what it costs to read anyway; 0 for
    templates inside another file, such as the exports of an Azure snapshot). Work within it is never stopped by the scan budget, so a good template read after
    hostile ones that spent the scan's share is still expanded and judged."""

    __slots__ = ("steps", "limit", "scan", "sizes", "max_value", "free")

    def __init__(self, limit: int = MAX_STEPS, scan: ScanBudget | None = None,
                 max_value: int = MAX_VALUE_SIZE, free: int = 0) -> None:
        self.steps = 0
        self.limit = limit
        self.scan = scan
        self.max_value = max_value
        self.free = free
        self.sizes: dict[int, tuple[Any, int]] = {}  # id -> (container, its size as a tree): memo on identity

    @property
    def exhausted(self) -> bool:
        scan = self.scan
        return self.steps > self.limit or (scan is not None and self.steps > self.free and scan.spent > scan.limit)

    def spend(self, units: int, expression: str | None = None) -> None:
        self.steps += units
        if self.steps > self.limit:
            raise EvaluationLimit(f"the template's evaluation takes more than {self.limit:,} work units "
                                  f"(function calls, built values, resource instances), over the limit; stopped",
                                  expression)
        scan = self.scan
        if scan is not None and self.steps > self.free:  # only the work beyond the template's own size
            scan.spent += min(units, self.steps - self.free)
            if scan.spent > scan.limit:
                raise EvaluationLimit(f"the scan's template evaluation takes more than {scan.limit:,} work units, "
                                      f"over the limit; stopped", expression)

    def charge(self, value: Any, name: str, expression: str | None) -> None:
        """Account for a value a function returned; refuse one too large as a tree or an integer out of range."""
        t = type(value)
        if t is int:
            if value > INT_MAX or value < INT_MIN:
                raise ExpressionError(f"'{name}' overflows a 64-bit integer", expression)
            return
        if t is str:
            if len(value) > MAX_STRING:
                raise EvaluationLimit(f"'{name}' would produce a value of {len(value)} characters, over the limit",
                                      expression)
            if len(value) >= CHARS_PER_UNIT:
                self.spend(len(value) // CHARS_PER_UNIT, expression)
            return
        if isinstance(value, (list, dict)):
            if t is list and len(value) > MAX_ARRAY:
                raise EvaluationLimit(f"'{name}' would produce a value of {len(value)} elements, over the limit",
                                      expression)
            self.spend(len(value), expression)
            size = self.size(value)
            if size > self.max_value:
                raise EvaluationLimit(f"'{name}' would produce a value of more than {self.max_value} elements "
                                      f"as a tree (shared parts counted each time they occur), over the limit",
                                      expression)

    def size(self, value: Any) -> int:
        """``value``'s size as a tree, each shared container measured once (memoised on identity)."""
        sizes = self.sizes
        if len(sizes) > 500_000:
            sizes.clear()
        cap = self.max_value + 1

        def measure(v: Any, depth: int) -> int:
            t = type(v)
            if t is str:
                return 1 + len(v) // CHARS_PER_UNIT
            if not isinstance(v, (list, dict)):
                return 1
            hit = sizes.get(id(v))
            if hit is not None and hit[0] is v:
                return hit[1]
            if depth > 200:
                return cap
            total = 1
            for x in (v.values() if isinstance(v, dict) else v):
                total += measure(x, depth + 1)
                if total >= cap:
                    total = cap
                    break
            sizes[id(v)] = (v, total)
            return total

        return measure(value, 0)


class Context:
    """What an expression can see. Subclasses supply parameters(), variables() and the like.

    ``functions`` maps lower-case names to ``(callable, lazy)``: a lazy function receives the
    context and the argument nodes (``if``, ``and``, ``lambda``...), a strict one the context and
    the evaluated arguments. Strict functions are not called with an Unknown argument: the
    evaluator returns that Unknown instead, unless the function is listed in ``unknown_aware``.
    """

    functions: dict[str, tuple[Function, bool]] = {}
    unknown_aware: frozenset[str] = frozenset()
    depth: int = 0
    budget: Budget | None = None  # work units of the template; created on first use when not shared

    def function(self, name: str) -> tuple[Function, bool] | None:
        return self.functions.get(name)


def evaluate(node: Node, ctx: Context) -> Any:
    t = type(node)
    if t is Lit:
        return node.value  # type: ignore[attr-defined]
    if t is Call:
        return _call(node, ctx)  # type: ignore[arg-type]
    if t is Member:
        obj = evaluate(node.obj, ctx)  # type: ignore[attr-defined]
        return member(obj, node.name)  # type: ignore[attr-defined]
    if t is Index:
        obj = evaluate(node.obj, ctx)  # type: ignore[attr-defined]
        idx = evaluate(node.index, ctx)  # type: ignore[attr-defined]
        if isinstance(idx, Placeholder) and isinstance(obj, dict):
            return Unknown(f"{node.text} looks up {idx.reason}")  # type: ignore[attr-defined]
        return index(obj, idx)
    raise ExpressionError(f"cannot evaluate {node!r}")


def _call(node: Call, ctx: Context) -> Any:
    budget = ctx.budget
    if budget is None:
        budget = ctx.budget = Budget()
    budget.spend(1, node.text)
    entry = ctx.function(node.name)
    if entry is None:
        if "." in node.name:
            raise ExpressionError(f"unknown user-defined function '{node.name}'", node.text)
        raise ExpressionError(f"unknown function '{node.name}'", node.text)
    fn, lazy = entry
    if lazy:
        result = fn(ctx, node)
        budget.charge(result, node.name, node.text)
        return result
    if node.name in _RECOVERING:
        args = [_evaluate_recovering(a, ctx) for a in node.args]
    else:
        args = [evaluate(a, ctx) for a in node.args]
    aware = node.name in ctx.unknown_aware
    stand_in = None
    for a in args:
        kind = type(a)
        if kind is Unknown:
            if not aware:
                return a
        elif kind is Placeholder and stand_in is None:
            stand_in = a
    if stand_in is not None and node.name not in _STAND_IN_TEXT and node.name not in _STAND_IN_CARRIERS:
        # any other answer (contains, endsWith, indexOf, length, less...) would be a decision on the
        # stand-in's own text, which is not the deployment's
        return Unknown(f"{node.text} depends on {stand_in.reason}")
    reads = _READS_WHOLE.get(node.name)
    if reads:  # work in the size of what it reads, whatever it returns: charged first
        budget.spend(sum(_read_cost(a, budget, reads) for a in args), node.text)
    try:
        result = fn(ctx, *args)
        budget.charge(result, node.name, node.text)
        if stand_in is not None and type(result) is str and node.name in _STAND_IN_TEXT:
            return Placeholder(result, stand_in.reason)  # text built from a stand-in is one too
        return result
    except ExpressionError as exc:
        if exc.expression is None:
            exc.expression = node.text
        raise
    except TypeError as exc:
        raise ExpressionError(f"wrong arguments for '{node.name}': {exc}", node.text) from None
    except (OverflowError, OSError):
        # a number beyond what Python's dates and the platform's clock hold (dateTimeAdd of P99999999999Y,
        # dateTimeFromEpoch(10^17)): said plainly, not in Python's words ("too large to convert to C int")
        hint = " (dates run from year 1 to 9999)" if node.name.startswith("datetime") else ""
        raise ExpressionError(f"'{node.name}' failed: a value out of range{hint}", node.text) from None
    except (ValueError, IndexError, KeyError, ZeroDivisionError) as exc:
        long = number_too_long(exc)
        raise ExpressionError(f"'{node.name}' failed: {long[0] if long else exc}", node.text) from None


# What a function given a stand-in (a Placeholder: the deployment location when --arm-location is not given)
# may still answer. Text built from it is a stand-in of the same reason, so names and ids built from the
# location keep joining while any decision on them stays unknown; containers carry it as it is.
_STAND_IN_TEXT = frozenset({
    "concat", "format", "string", "tolower", "toupper", "trim", "replace", "substring", "take", "skip", "first",
    "last", "padleft", "uniquestring", "guid", "base64", "uri", "uricomponent", "datauri", "resourceid",
    "subscriptionresourceid", "tenantresourceid", "extensionresourceid", "managementgroupresourceid"})
_STAND_IN_CARRIERS = frozenset({"createarray", "createobject", "array", "union"})

# Builders of objects and arrays keep going past a broken member: the error is reported once (see
# Context.recovered) and only that member becomes unknown, as a property would in the template body.
_RECOVERING = frozenset({"createobject", "createarray"})
# Functions that read all of their arguments (deep comparison, hashing, searching text) but may return little:
# the result's size does not show their work, so each call is charged its arguments' size before it is done
# (equals of a shared million-node tree in a map of 10,000 was hours; uniqueString of a megabyte 3,000 times,
# half a minute). A value's size is memoised on its identity (Budget.size): charging it again costs nothing.
# Each maps to the characters of text one unit reads: uniqueString's MurmurHash64 runs in Python, about 16 times
# slower a character than the rest.
_READS_WHOLE = {name: CHARS_PER_UNIT for name in (
    "equals", "contains", "indexof", "lastindexof", "startswith", "endswith", "less", "lessorequals", "greater",
    "greaterorequals", "guid", "union", "intersection")} | {"uniquestring": 4}


def _read_cost(value: Any, budget: Budget, chars_per_unit: int) -> int:
    t = type(value)
    if t is str:
        return len(value) // chars_per_unit
    if t is list or t is dict:
        return budget.size(value)
    return 0


EXPRESSION_ERROR = "expression error"  # how the reason of a value whose expression failed begins


def _evaluate_recovering(node: Node, ctx: Context) -> Any:
    try:
        return evaluate(node, ctx)
    except ExpressionError as exc:
        if exc.expression is None and isinstance(node, Call):
            exc.expression = node.text
        recovered = getattr(ctx, "recovered", None)
        if recovered is None:
            raise
        recovered.append(exc)
        return Unknown(f"{EXPRESSION_ERROR}: {exc}")


def member(obj: Any, name: str) -> Any:
    """``obj.name``: case-insensitive, as ARM resolves property names."""
    if type(obj) is Unknown:
        return obj
    if isinstance(obj, dict):
        if name in obj:
            return obj[name]
        low = name.lower()
        for k, v in obj.items():
            if k.lower() == low:
                return v
        missing = getattr(obj, "missing_member", None)
        if missing is not None:
            return missing(name)
        raise ExpressionError(f"the language expression property '{name}' doesn't exist, "
                              f"available properties are '{', '.join(obj)}'")
    raise ExpressionError(f"cannot access property '{name}' of {a_type_name(obj)}")


def index(obj: Any, idx: Any) -> Any:
    if type(obj) is Unknown:
        return obj
    if type(idx) is Unknown:
        return idx
    if isinstance(obj, list):
        if isinstance(idx, bool) or not isinstance(idx, int):
            raise ExpressionError(f"an array index must be an integer, not {a_type_name(idx)}")
        if idx < 0 or idx >= len(obj):
            raise ExpressionError(f"the array index '{idx}' is out of bounds (length {len(obj)})")
        return obj[idx]
    if isinstance(obj, dict):
        if not isinstance(idx, str):
            raise ExpressionError(f"an object property name must be a string, not {a_type_name(idx)}")
        return member(obj, idx)
    raise ExpressionError(f"cannot index {a_type_name(obj)}")


def a_type_name(value: Any) -> str:
    """``type_name`` with its article, for messages: "an Integer", "a String", "null"."""
    name = type_name(value)
    return name if name == "null" else ("an " if name[0].lower() in "aeiou" else "a ") + name


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        return "Integer"
    if isinstance(value, float):
        return "Float"
    if isinstance(value, str):
        return "String"
    if isinstance(value, list):
        return "Array"
    if isinstance(value, dict):
        return "Object"
    if isinstance(value, Unknown):
        return "unknown value"
    return type(value).__name__
