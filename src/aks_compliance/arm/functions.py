"""The ARM template function library (the part that needs no deployment context).

Each strict function takes ``(ctx, *args)`` with evaluated arguments; lazy functions take
``(ctx, node)`` and evaluate what they need (``if`` evaluates only the branch it takes, as ARM does).
Semantics follow the ARM documentation: string comparison in ``equals``/``contains`` is
case-sensitive, ``indexOf``/``startsWith``/``endsWith`` are case-insensitive, object keys are
case-insensitive, ``string(true)`` is ``"True"``.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import re
import urllib.parse
from typing import Any, Callable

from ..errors import EvaluationLimit, ExpressionError
from ..jsonc import number_too_long
from ..values import Placeholder, Unknown, first_unknown
from .expressions import CHARS_PER_UNIT, MAX_ARRAY, MAX_STRING, Call, Context, Lit, evaluate, a_type_name, member, type_name
from .hashing import arm_guid, unique_string

Registry = dict[str, tuple[Callable[..., Any], bool]]
MAX_SET_OPERANDS = 20_000  # union/intersection of arrays compare pairwise
BUILTINS: Registry = {}
UNKNOWN_AWARE: set[str] = set()


def builtin(name: str, *, lazy: bool = False, unknown_aware: bool = False):
    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        BUILTINS[name.lower()] = (fn, lazy)
        if unknown_aware:
            UNKNOWN_AWARE.add(name.lower())
        return fn
    return register


# --- helpers ---------------------------------------------------------------------------------------

def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _need_str(fn: str, v: Any) -> str:
    if not isinstance(v, str):
        raise ExpressionError(f"'{fn}' expects a string, not {a_type_name(v)}")
    return v


def _need_int(fn: str, v: Any) -> int:
    if not _is_int(v):
        raise ExpressionError(f"'{fn}' expects an integer, not {a_type_name(v)}")
    return v


def _room(fn: str, chars: int) -> None:
    """Refuse, before building it, a string of ``chars`` characters over the limit."""
    if chars > MAX_STRING:
        raise EvaluationLimit(f"'{fn}' would produce more than {MAX_STRING} characters, over the limit")


def _need_list(fn: str, v: Any) -> list:
    if not isinstance(v, list):
        raise ExpressionError(f"'{fn}' expects an array, not {a_type_name(v)}")
    return v


def to_text(v: Any) -> str:
    """How ARM turns a value into text inside ``string()``, ``concat`` and ``format``."""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "True" if v else "False"
    if v is None:
        return ""
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, Unknown):
        return f"<unknown: {v.reason}>"
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False,
                      default=lambda o: f"<unknown: {o.reason}>" if isinstance(o, Unknown) else str(o))


def _keys_ci(obj: dict) -> dict[str, str]:
    return {k.lower(): k for k in obj}


def arm_equals(a: Any, b: Any) -> bool:
    """JToken deep equality: types matter (1 != '1'), strings are case-sensitive."""
    if a is b and isinstance(a, (list, dict, str)):  # a shared subtree is equal to itself: not walked again
        return True
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        if len(a) != len(b):
            return False
        kb = _keys_ci(b)
        for k, v in a.items():
            other = kb.get(k.lower())
            if other is None or not arm_equals(v, b[other]):
                return False
        return True
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(arm_equals(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def _canonical(v: Any, memo: dict[int, Any] | None = None) -> Any:
    """A hashable key with ``arm_equals(a, b) == (_canonical(a) == _canonical(b))`` for known values, so that
    union and intersection find duplicates in linear time (shared subtrees keyed once)."""
    if isinstance(v, bool):
        return ("b", v)
    if isinstance(v, (int, float)):
        return ("n", v)
    if isinstance(v, str):
        return ("s", v)
    if v is None:
        return ("z",)
    memo = {} if memo is None else memo
    hit = memo.get(id(v))
    if hit is not None:
        return hit[1]
    if isinstance(v, list):
        key: Any = ("l", tuple(_canonical(x, memo) for x in v))
    elif isinstance(v, dict):
        key = ("d", frozenset((str(k).lower(), _canonical(x, memo)) for k, x in v.items()))
    else:
        key = ("o", id(v))
    memo[id(v)] = (v, key)
    return key


# --- logical and comparison ------------------------------------------------------------------------

@builtin("if", lazy=True)
def _if(ctx: Context, node: Call) -> Any:
    if len(node.args) != 3:
        raise ExpressionError("'if' expects 3 arguments", node.text)
    cond = evaluate(node.args[0], ctx)
    if isinstance(cond, Unknown):
        return Unknown(f"{cond.reason} (decides {_short(node.text)})")
    if not isinstance(cond, bool):
        cond = _coerce_bool("if", cond)
    return evaluate(node.args[1] if cond else node.args[2], ctx)


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _coerce_bool(fn: str, v: Any) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.lower() in ("true", "false"):
        return v.lower() == "true"
    raise ExpressionError(f"'{fn}' expects a boolean, not {a_type_name(v)}")


@builtin("and", lazy=True)
def _and(ctx: Context, node: Call) -> Any:
    unknown = None
    for a in node.args:
        v = evaluate(a, ctx)
        if isinstance(v, Unknown):
            unknown = unknown or v
            continue
        if not _coerce_bool("and", v):
            return False
    return unknown if unknown is not None else True


@builtin("or", lazy=True)
def _or(ctx: Context, node: Call) -> Any:
    unknown = None
    for a in node.args:
        v = evaluate(a, ctx)
        if isinstance(v, Unknown):
            unknown = unknown or v
            continue
        if _coerce_bool("or", v):
            return True
    return unknown if unknown is not None else False


@builtin("not")
def _not(ctx: Context, v: Any) -> bool:
    return not _coerce_bool("not", v)


@builtin("true")
def _true(ctx: Context) -> bool:
    return True


@builtin("false")
def _false(ctx: Context) -> bool:
    return False


@builtin("null")
def _null(ctx: Context) -> None:
    return None


@builtin("bool")
def _bool(ctx: Context, v: Any) -> bool:
    if isinstance(v, bool):
        return v
    if _is_int(v):
        return v != 0
    if isinstance(v, str) and v.strip().lower() in ("true", "false"):
        return v.strip().lower() == "true"
    raise ExpressionError(f"'bool' cannot convert {to_text(v)!r}")


@builtin("equals", unknown_aware=True)
def _equals(ctx: Context, a: Any, b: Any) -> Any:
    u = first_unknown(a) or first_unknown(b)
    if u is not None:
        return u
    for v in (a, b):
        if isinstance(v, Placeholder):
            return Unknown(f"a comparison with {v.reason}")
    return arm_equals(a, b)


def _compare(fn: str, a: Any, b: Any) -> int:
    if _is_num(a) and _is_num(b):
        return (a > b) - (a < b)
    if isinstance(a, str) and isinstance(b, str):
        # Culture-aware like .NET's string.Compare, not ordinal: letters order alphabetically and case
        # only breaks ties, lower case first (greater('A', 'a') is true in the comparison examples).
        ka, kb = (a.casefold(), a.swapcase()), (b.casefold(), b.swapcase())
        return (ka > kb) - (ka < kb)
    raise ExpressionError(f"'{fn}' cannot compare {a_type_name(a)} with {a_type_name(b)}")


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


@builtin("less")
def _less(ctx: Context, a: Any, b: Any) -> bool:
    return _compare("less", a, b) < 0


@builtin("lessOrEquals")
def _less_eq(ctx: Context, a: Any, b: Any) -> bool:
    return _compare("lessOrEquals", a, b) <= 0


@builtin("greater")
def _greater(ctx: Context, a: Any, b: Any) -> bool:
    return _compare("greater", a, b) > 0


@builtin("greaterOrEquals")
def _greater_eq(ctx: Context, a: Any, b: Any) -> bool:
    return _compare("greaterOrEquals", a, b) >= 0


@builtin("coalesce", lazy=True)
def _coalesce(ctx: Context, node: Call) -> Any:
    for a in node.args:
        v = evaluate(a, ctx)
        if isinstance(v, Unknown):
            return v  # an unknown value may or may not be null
        if v is not None:
            return v
    return None


# --- numbers ---------------------------------------------------------------------------------------

@builtin("int")
def _int(ctx: Context, v: Any) -> int:
    if _is_int(v):
        return v
    if isinstance(v, float):
        return int(v)
    if isinstance(v, str):
        try:
            return int(v.strip())
        except ValueError:
            raise ExpressionError(f"'int' cannot convert {v!r} to an integer") from None
    raise ExpressionError(f"'int' cannot convert {a_type_name(v)}")


@builtin("float")
def _float(ctx: Context, v: Any) -> float:
    if _is_num(v):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            raise ExpressionError(f"'float' cannot convert {v!r}") from None
    raise ExpressionError(f"'float' cannot convert {a_type_name(v)}")


def _nums(fn: str, *args: Any) -> list[int]:
    for a in args:
        if not _is_num(a):
            raise ExpressionError(f"'{fn}' expects integers, not {a_type_name(a)}")
    return list(args)


@builtin("add")
def _add(ctx: Context, a: Any, b: Any) -> Any:
    a, b = _nums("add", a, b)
    return a + b


@builtin("sub")
def _sub(ctx: Context, a: Any, b: Any) -> Any:
    a, b = _nums("sub", a, b)
    return a - b


@builtin("mul")
def _mul(ctx: Context, a: Any, b: Any) -> Any:
    a, b = _nums("mul", a, b)
    return a * b


@builtin("div")
def _div(ctx: Context, a: Any, b: Any) -> Any:
    a, b = _nums("div", a, b)
    if b == 0:
        raise ExpressionError("'div' cannot divide by zero")
    q = abs(a) // abs(b)  # C# integer division truncates toward zero
    return q if (a >= 0) == (b >= 0) else -q


@builtin("mod")
def _mod(ctx: Context, a: Any, b: Any) -> Any:
    a, b = _nums("mod", a, b)
    if b == 0:
        raise ExpressionError("'mod' cannot divide by zero")
    r = abs(a) % abs(b)
    return r if a >= 0 else -r


def _flatten_args(fn: str, args: tuple) -> list:
    if len(args) == 1 and isinstance(args[0], list):
        values = args[0]
    else:
        values = list(args)
    if not values:
        raise ExpressionError(f"'{fn}' needs at least one value")
    u = first_unknown(values)
    if u is not None:
        raise _UnknownResult(u)
    return values


class _UnknownResult(Exception):
    def __init__(self, unknown: Unknown) -> None:
        self.unknown = unknown


def _catch_unknown(fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(ctx: Context, *args: Any) -> Any:
        try:
            return fn(ctx, *args)
        except _UnknownResult as exc:
            return exc.unknown
    return wrapper


@builtin("min")
@_catch_unknown
def _min(ctx: Context, *args: Any) -> Any:
    values = _flatten_args("min", args)
    if all(_is_num(v) for v in values) or all(isinstance(v, str) for v in values):
        return min(values)
    raise ExpressionError("'min' expects integers")


@builtin("max")
@_catch_unknown
def _max(ctx: Context, *args: Any) -> Any:
    values = _flatten_args("max", args)
    if all(_is_num(v) for v in values) or all(isinstance(v, str) for v in values):
        return max(values)
    raise ExpressionError("'max' expects integers")


RANGE_START_MIN, RANGE_END_MAX = -(2 ** 31), 2 ** 31 - 1


@builtin("range")
def _range(ctx: Context, start: Any, count: Any) -> list[int]:
    start = _need_int("range", start)
    count = _need_int("range", count)
    if count < 0 or count > 10000:
        raise ExpressionError(f"'range' count must be between 0 and 10000, not {count}")
    # ARM's startIndex is a 32-bit integer and startIndex + count may not pass 2147483647 (the ARM template
    # function reference): anything else is refused, never built into integers ARM cannot hold
    if not RANGE_START_MIN <= start or start + count > RANGE_END_MAX:
        raise ExpressionError(f"'range' start index {start} and count {count} are outside ARM's range: the start "
                              f"must be at least {RANGE_START_MIN} and start + count at most {RANGE_END_MAX}")
    return list(range(start, start + count))


# --- strings ---------------------------------------------------------------------------------------

@builtin("concat", unknown_aware=True)
def _concat(ctx: Context, *args: Any) -> Any:
    if not args:
        raise ExpressionError("'concat' needs at least one argument")
    if isinstance(args[0], list) or (args[0] is None and any(isinstance(a, list) for a in args)):
        out: list = []
        for a in args:
            if isinstance(a, Unknown):
                return a
            if a is None:
                continue
            if not isinstance(a, list):
                raise ExpressionError(f"'concat' cannot mix arrays with {a_type_name(a)}")
            if len(out) + len(a) > MAX_ARRAY:
                raise ExpressionError(f"'concat' would produce more than {MAX_ARRAY} elements")
            out.extend(a)
        return out
    parts = []
    total = 0
    for a in args:
        if isinstance(a, Unknown):
            return a
        if isinstance(a, (list, dict)):
            u = first_unknown(a)
            if u is not None:
                return u
        parts.append(to_text(a))
        total += len(parts[-1])
        _room("concat", total)
    return "".join(parts)


_FORMAT_ITEM = re.compile(r"\{\{|\}\}|\{(\d+)(?:,(-?\d+))?(?::([^}]*))?\}")


def dotnet_format_value(v: Any, spec: str | None) -> str:
    if spec and _is_num(v):
        kind = spec[0].upper()
        digits = int(spec[1:]) if spec[1:].isdigit() else None
        _room("format", (digits or 0) + len(spec))
        if kind == "D" and _is_int(v):
            return str(v).zfill(digits or 0) if v >= 0 else "-" + str(-v).zfill(digits or 0)
        if kind == "N":
            return f"{v:,.{2 if digits is None else digits}f}"
        if kind == "X" and _is_int(v):
            text = format(v, "x" if spec[0] == "x" else "X")
            return text.zfill(digits or 0)
        if kind == "F":
            return f"{v:.{2 if digits is None else digits}f}"
        if set(spec) <= {"0", "#", "."}:
            zeros = spec.count("0")
            return str(v).zfill(zeros)
    return to_text(v)


@builtin("format", unknown_aware=True)
def _format(ctx: Context, fmt: Any, *args: Any) -> Any:
    if isinstance(fmt, Unknown):
        return fmt
    fmt = _need_str("format", fmt)
    produced = [0]

    def repl(m: re.Match[str]) -> str:
        token = m.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        i = int(m.group(1))
        if i >= len(args):
            raise ExpressionError(f"'format' refers to argument {i} but only {len(args)} were given")
        value = args[i]
        u = first_unknown(value)
        if u is not None:
            raise _UnknownResult(u)
        text = dotnet_format_value(value, m.group(3))
        if m.group(2):
            width = int(m.group(2))
            if abs(width) > MAX_STRING:
                raise EvaluationLimit(f"'format' alignment {width} is over the limit")
            text = text.rjust(width) if width > 0 else text.ljust(-width)
        produced[0] += len(text)
        _room("format", produced[0] + len(fmt))
        return text

    try:
        return _FORMAT_ITEM.sub(repl, fmt)
    except _UnknownResult as exc:
        return exc.unknown


@builtin("string", unknown_aware=True)
def _string(ctx: Context, v: Any) -> Any:
    u = first_unknown(v)
    return u if u is not None else to_text(v) if v is not None else ""


@builtin("toLower")
def _to_lower(ctx: Context, v: Any) -> str:
    return _need_str("toLower", v).lower()


@builtin("toUpper")
def _to_upper(ctx: Context, v: Any) -> str:
    return _need_str("toUpper", v).upper()


@builtin("trim")
def _trim(ctx: Context, v: Any) -> str:
    return _need_str("trim", v).strip()


@builtin("replace")
def _replace(ctx: Context, s: Any, old: Any, new: Any) -> str:
    s = _need_str("replace", s)
    old = _need_str("replace", old)
    if old == "":
        raise ExpressionError("'replace' cannot replace an empty string")
    new = to_text(new)
    if len(s) + s.count(old) * max(0, len(new) - len(old)) > MAX_STRING:
        raise EvaluationLimit(f"'replace' would produce more than {MAX_STRING} characters")
    return s.replace(old, new)


@builtin("split")
def _split(ctx: Context, s: Any, delim: Any) -> list[str]:
    s = _need_str("split", s)
    delims = delim if isinstance(delim, list) else [delim]
    delims = [_need_str("split", d) for d in delims]
    if not delims or any(d == "" for d in delims):
        return [s]
    if len(delims) > 1 and ctx.budget is not None:
        # an alternation is tried delimiter by delimiter at every position: a megabyte split at 10,000
        # delimiters sharing a prefix was half a minute of one expression. Charged before the work.
        ctx.budget.spend(len(s) * len(delims) // CHARS_PER_UNIT)
    pattern = "|".join(re.escape(d) for d in delims)
    return re.split(pattern, s)


@builtin("join")
def _join(ctx: Context, arr: Any, delim: Any) -> Any:
    arr = _need_list("join", arr)
    u = first_unknown(arr)
    if u is not None:
        return u
    delim = _need_str("join", delim)
    parts = [to_text(x) for x in arr]
    _room("join", sum(map(len, parts)) + len(delim) * max(0, len(parts) - 1))
    return delim.join(parts)


@builtin("substring")
def _substring(ctx: Context, s: Any, start: Any, length: Any = None) -> str:
    s = _need_str("substring", s)
    start = _need_int("substring", start)
    if start < 0 or start > len(s):
        raise ExpressionError(f"'substring' start index {start} is outside the string (length {len(s)})")
    if length is None:
        return s[start:]
    length = _need_int("substring", length)
    if length < 0 or start + length > len(s):
        raise ExpressionError(f"'substring' length {length} from {start} is outside the string (length {len(s)})")
    return s[start:start + length]


@builtin("padLeft")
def _pad_left(ctx: Context, v: Any, total: Any, char: Any = " ") -> str:
    text = to_text(v)
    total = _need_int("padLeft", total)
    if total > MAX_STRING:
        raise EvaluationLimit(f"'padLeft' length {total} is over the limit of {MAX_STRING}")
    char = _need_str("padLeft", char)
    if len(char) != 1:
        raise ExpressionError("'padLeft' padding must be a single character")
    return text.rjust(total, char)


@builtin("startsWith")
def _starts_with(ctx: Context, s: Any, prefix: Any) -> bool:
    return _need_str("startsWith", s).lower().startswith(_need_str("startsWith", prefix).lower())


@builtin("endsWith")
def _ends_with(ctx: Context, s: Any, suffix: Any) -> bool:
    return _need_str("endsWith", s).lower().endswith(_need_str("endsWith", suffix).lower())


@builtin("indexOf", unknown_aware=True)
def _index_of(ctx: Context, container: Any, item: Any) -> Any:
    if isinstance(container, Unknown) or isinstance(item, Unknown):
        return container if isinstance(container, Unknown) else item
    if isinstance(container, str):
        return container.lower().find(_need_str("indexOf", item).lower())
    container = _need_list("indexOf", container)
    for i, x in enumerate(container):
        if isinstance(x, Unknown):
            return x
        if arm_equals(x, item):
            return i
    return -1


@builtin("lastIndexOf", unknown_aware=True)
def _last_index_of(ctx: Context, container: Any, item: Any) -> Any:
    if isinstance(container, Unknown) or isinstance(item, Unknown):
        return container if isinstance(container, Unknown) else item
    if isinstance(container, str):
        return container.lower().rfind(_need_str("lastIndexOf", item).lower())
    container = _need_list("lastIndexOf", container)
    for i in range(len(container) - 1, -1, -1):
        if isinstance(container[i], Unknown):
            return container[i]
        if arm_equals(container[i], item):
            return i
    return -1


@builtin("base64")
def _base64(ctx: Context, s: Any) -> str:
    return base64.b64encode(_need_str("base64", s).encode("utf-8")).decode("ascii")


@builtin("base64ToString")
def _base64_to_string(ctx: Context, s: Any) -> str:
    try:
        return base64.b64decode(_need_str("base64ToString", s), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        raise ExpressionError("'base64ToString' input is not valid base64 text") from None


@builtin("base64ToJson")
def _base64_to_json(ctx: Context, s: Any) -> Any:
    return _json(ctx, _base64_to_string(ctx, s))


@builtin("dataUri")
def _data_uri(ctx: Context, v: Any) -> str:
    if isinstance(v, str):
        return "data:text/plain;charset=utf8;base64," + base64.b64encode(v.encode("utf-8")).decode("ascii")
    return "data:application/json;charset=utf8;base64," + base64.b64encode(
        json.dumps(v, separators=(",", ":")).encode("utf-8")).decode("ascii")


@builtin("dataUriToString")
def _data_uri_to_string(ctx: Context, v: Any) -> Any:
    v = _need_str("dataUriToString", v)
    m = re.match(r"data:([^;,]*)((?:;[^;,]*)*),(.*)$", v, re.S)
    if not m:
        raise ExpressionError("'dataUriToString' input is not a data URI")
    media, params, data = m.groups()
    raw = base64.b64decode(data) if ";base64" in params else urllib.parse.unquote_to_bytes(data)
    text = raw.decode("utf-8")
    if media == "application/json":
        return json.loads(text)
    return text


@builtin("uri")
def _uri(ctx: Context, base: Any, relative: Any) -> str:
    return urllib.parse.urljoin(_need_str("uri", base), _need_str("uri", relative))


@builtin("uriComponent")
def _uri_component(ctx: Context, s: Any) -> str:
    return urllib.parse.quote(_need_str("uriComponent", s), safe="")


@builtin("uriComponentToString")
def _uri_component_to_string(ctx: Context, s: Any) -> str:
    return urllib.parse.unquote(_need_str("uriComponentToString", s))


@builtin("uniqueString")
def _unique_string(ctx: Context, *args: Any) -> str:
    if not args:
        raise ExpressionError("'uniqueString' needs at least one argument")
    return unique_string(*[_need_str("uniqueString", a) for a in args])


@builtin("guid")
def _guid(ctx: Context, *args: Any) -> str:
    if not args:
        raise ExpressionError("'guid' needs at least one argument")
    return arm_guid(*[_need_str("guid", a) for a in args])


@builtin("newGuid")
def _new_guid(ctx: Context) -> Unknown:
    return Unknown("newGuid() gives a new value on every deployment")


# --- arrays and objects ----------------------------------------------------------------------------

@builtin("array", unknown_aware=True)
def _array(ctx: Context, v: Any) -> Any:
    if isinstance(v, list):
        return v
    return [v]


@builtin("createArray", unknown_aware=True)
def _create_array(ctx: Context, *args: Any) -> list:
    return list(args)


@builtin("createObject", unknown_aware=True)
def _create_object(ctx: Context, *args: Any) -> Any:
    if len(args) % 2:
        raise ExpressionError("'createObject' expects key/value pairs")
    out: dict[str, Any] = {}
    for i in range(0, len(args), 2):
        key = args[i]
        if isinstance(key, Unknown):
            return key
        out[_need_str("createObject", key)] = args[i + 1]
    return out


@builtin("json")
def _json(ctx: Context, s: Any) -> Any:
    s = _need_str("json", s)
    try:
        return json.loads(s)
    except ValueError as exc:
        error = exc
    # ARM reads JSON with Json.NET, which also takes single-quoted strings: the base64ToJson example
    # decodes "{'one': 'a', 'two': 'b'}" to an object.
    if "'" in s:
        try:
            return json.loads(_SINGLE_QUOTED.sub(_double_quoted, s))
        except ValueError:
            pass
    long = number_too_long(error)
    raise ExpressionError(f"'json' input is not valid JSON: {long[0] if long else error}") from None


_SINGLE_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"|\'((?:[^\'\\]|\\.)*)\'', re.S)


def _double_quoted(m: re.Match[str]) -> str:
    if m.group(1) is None:
        return m.group(0)  # a double-quoted string, kept as is
    body = re.sub(r'\\\'|\\.|"', lambda e: {"\\'": "'", '"': '\\"'}.get(e.group(0), e.group(0)), m.group(1))
    return f'"{body}"'


@builtin("length", unknown_aware=True)
def _length(ctx: Context, v: Any) -> Any:
    if isinstance(v, Unknown):
        return v
    if isinstance(v, (str, list, dict)):
        return len(v)
    raise ExpressionError(f"'length' expects a string, array or object, not {a_type_name(v)}")


@builtin("empty", unknown_aware=True)
def _empty(ctx: Context, v: Any) -> Any:
    if isinstance(v, Unknown):
        return v
    if v is None:
        return True
    if isinstance(v, (str, list, dict)):
        return len(v) == 0
    raise ExpressionError(f"'empty' expects a string, array or object, not {a_type_name(v)}")


@builtin("contains", unknown_aware=True)
def _contains(ctx: Context, container: Any, item: Any) -> Any:
    if isinstance(container, Unknown):
        return container
    if isinstance(item, Unknown):
        return item
    if isinstance(container, str):
        return to_text(item) in container
    if isinstance(container, dict):
        found = _need_str("contains", item).lower() in _keys_ci(container)
        missing = None if found or type(container) is dict else getattr(container, "missing_member", None)
        if missing is not None:  # a partly known object (reference(), deployment().properties): maybe there
            try:
                value = missing(item)
            except ExpressionError:
                return False
            if isinstance(value, Unknown):
                return value
        return found
    if isinstance(container, list):
        unknown = None
        for x in container:
            u = first_unknown(x)
            if u is not None:
                unknown = unknown or u
                continue
            if arm_equals(x, item):
                return True
        return unknown if unknown is not None else False
    if container is None:
        return False
    raise ExpressionError(f"'contains' expects a string, array or object, not {a_type_name(container)}")


@builtin("first", unknown_aware=True)
def _first(ctx: Context, v: Any) -> Any:
    if isinstance(v, Unknown):
        return v
    if isinstance(v, str):
        return v[:1]
    v = _need_list("first", v)
    return v[0] if v else None


@builtin("last", unknown_aware=True)
def _last(ctx: Context, v: Any) -> Any:
    if isinstance(v, Unknown):
        return v
    if isinstance(v, str):
        return v[-1:]
    v = _need_list("last", v)
    return v[-1] if v else None


@builtin("skip")
def _skip(ctx: Context, v: Any, n: Any) -> Any:
    n = max(0, _need_int("skip", n))
    if isinstance(v, str) or isinstance(v, list):
        return v[n:]
    raise ExpressionError(f"'skip' expects a string or array, not {a_type_name(v)}")


@builtin("take")
def _take(ctx: Context, v: Any, n: Any) -> Any:
    n = max(0, _need_int("take", n))
    if isinstance(v, str) or isinstance(v, list):
        return v[:n]
    raise ExpressionError(f"'take' expects a string or array, not {a_type_name(v)}")


@builtin("flatten")
def _flatten(ctx: Context, v: Any) -> list:
    out: list = []
    for x in _need_list("flatten", v):
        if isinstance(x, Unknown):
            return x  # type: ignore[return-value]
        if len(out) + len(_need_list("flatten", x)) > MAX_ARRAY:
            raise ExpressionError(f"'flatten' would produce more than {MAX_ARRAY} elements")
        out.extend(x)
    return out


def _merge(a: dict, b: dict) -> dict:
    """Union of objects: later keys win, nested objects merge recursively (case-insensitive keys)."""
    out = dict(a)
    index = _keys_ci(out)
    for k, v in b.items():
        existing = index.get(k.lower())
        if existing is not None:
            old = out[existing]
            if isinstance(old, dict) and isinstance(v, dict):
                out[existing] = _merge(old, v)
            else:
                out[existing] = v
        else:
            out[k] = v
            index[k.lower()] = k
    return out


@builtin("union", unknown_aware=True)
def _union(ctx: Context, *args: Any) -> Any:
    if not args:
        raise ExpressionError("'union' needs at least one argument")
    for a in args:
        if isinstance(a, Unknown):
            return a
    values = [a for a in args if a is not None]
    if not values:
        return None
    if all(isinstance(a, dict) for a in values):
        out: dict = {}
        for a in values:
            out = _merge(out, a)
        return out
    if all(isinstance(a, list) for a in values):
        if sum(len(a) for a in values) > MAX_SET_OPERANDS:
            raise ExpressionError(f"'union' of more than {MAX_SET_OPERANDS} elements is not evaluated")
        result: list = []
        seen: set = set()
        memo: dict[int, Any] = {}
        for a in values:
            for x in a:
                if first_unknown(x) is not None:
                    result.append(x)
                    continue
                key = _canonical(x, memo)
                if key not in seen:
                    seen.add(key)
                    result.append(x)
        return result
    raise ExpressionError("'union' expects all objects or all arrays")


@builtin("intersection")
def _intersection(ctx: Context, *args: Any) -> Any:
    if not args:
        raise ExpressionError("'intersection' needs at least one argument")
    u = first_unknown(list(args))
    if u is not None:
        return u
    if all(isinstance(a, dict) for a in args):
        first = args[0]
        memo: dict[int, Any] = {}
        others = [{(str(k2).lower(), _canonical(v2, memo)) for k2, v2 in o.items()} for o in args[1:]]
        out = {}
        for k, v in first.items():
            key = (str(k).lower(), _canonical(v, memo))
            if all(key in o for o in others):
                out[k] = v
        return out
    if all(isinstance(a, list) for a in args):
        if sum(len(a) for a in args) > MAX_SET_OPERANDS:
            raise ExpressionError(f"'intersection' of more than {MAX_SET_OPERANDS} elements is not evaluated")
        memo = {}
        present = [{_canonical(y, memo) for y in o} for o in args[1:]]
        result = []
        seen: set = set()
        for x in args[0]:
            key = _canonical(x, memo)
            if key not in seen and all(key in o for o in present):
                seen.add(key)
                result.append(x)
        return result
    raise ExpressionError("'intersection' expects all objects or all arrays")


@builtin("items")
def _items(ctx: Context, obj: Any) -> list:
    if not isinstance(obj, dict):
        raise ExpressionError(f"'items' expects an object, not {a_type_name(obj)}")
    return [{"key": k, "value": obj[k]} for k in sorted(obj, key=lambda k: (k.lower(), k))]


@builtin("objectKeys")
def _object_keys(ctx: Context, obj: Any) -> list:
    if not isinstance(obj, dict):
        raise ExpressionError(f"'objectKeys' expects an object, not {a_type_name(obj)}")
    return list(obj)


@builtin("shallowMerge")
def _shallow_merge(ctx: Context, arr: Any) -> Any:
    out: dict = {}
    for o in _need_list("shallowMerge", arr):
        if isinstance(o, Unknown):
            return o
        if not isinstance(o, dict):
            raise ExpressionError("'shallowMerge' expects an array of objects")
        out.update(o)
    return out


@builtin("tryGet", unknown_aware=True)
def _try_get(ctx: Context, obj: Any, *keys: Any) -> Any:
    cur = obj
    for k in keys:
        if isinstance(cur, Unknown):
            return cur
        if isinstance(k, Unknown):
            return k
        if isinstance(cur, dict) and isinstance(k, str):
            idx = _keys_ci(cur)
            real = idx.get(k.lower())
            if real is None:
                return _absent_member(cur, k)
            cur = cur[real]
        elif isinstance(cur, list) and _is_int(k):
            if k < 0 or k >= len(cur):
                return None
            cur = cur[k]
        else:
            return None
    return cur


def _absent_member(obj: dict, name: str) -> Any:
    """What ``tryGet`` gives for a member ``obj`` lacks: null, unless ``obj`` is only partly known (reference()
    of a deployment, deployment().properties, a pool's cluster): there the member may exist, so it is unknown,
    as ``contains`` says too."""
    missing = None if type(obj) is dict else getattr(obj, "missing_member", None)
    if missing is None:
        return None
    try:
        value = missing(name)
    except ExpressionError:  # the object is known to lack it
        return None
    return value if isinstance(value, Unknown) else None


@builtin("tryIndexFromEnd", unknown_aware=True)
def _try_index_from_end(ctx: Context, arr: Any, i: Any) -> Any:
    if isinstance(arr, Unknown):
        return arr
    arr = _need_list("tryIndexFromEnd", arr)
    i = _need_int("tryIndexFromEnd", i)
    return arr[-i] if 0 < i <= len(arr) else None


@builtin("indexFromEnd")
def _index_from_end(ctx: Context, arr: Any, i: Any) -> Any:
    arr = _need_list("indexFromEnd", arr)
    i = _need_int("indexFromEnd", i)
    if not 0 < i <= len(arr):
        raise ExpressionError(f"'indexFromEnd' index {i} is out of bounds (length {len(arr)})")
    return arr[-i]


# --- lambdas ---------------------------------------------------------------------------------------

class Lambda:
    __slots__ = ("params", "body")

    def __init__(self, params: list[str], body: Any) -> None:
        self.params = params
        self.body = body


@builtin("lambda", lazy=True)
def _lambda(ctx: Context, node: Call) -> Lambda:
    if len(node.args) < 2:
        raise ExpressionError("'lambda' needs parameter names and a body", node.text)
    params = []
    for a in node.args[:-1]:
        if not isinstance(a, Lit) or not isinstance(a.value, str):
            raise ExpressionError("'lambda' parameter names must be string literals", node.text)
        params.append(a.value.lower())
    return Lambda(params, node.args[-1])


@builtin("lambdaVariables")
def _lambda_variables(ctx: Context, name: Any) -> Any:
    name = _need_str("lambdaVariables", name)
    scopes = getattr(ctx, "lambda_scopes", None) or []
    for scope in reversed(scopes):
        if name.lower() in scope:
            return scope[name.lower()]
    raise ExpressionError(f"'lambdaVariables' refers to '{name}', which is not a lambda parameter here")


def call_lambda(ctx: Context, fn: Any, *args: Any) -> Any:
    if not isinstance(fn, Lambda):
        raise ExpressionError("expected a lambda function")
    scopes = getattr(ctx, "lambda_scopes", None)
    if scopes is None:
        scopes = []
        ctx.lambda_scopes = scopes  # type: ignore[attr-defined]
    scopes.append(dict(zip(fn.params, args)))
    try:
        return evaluate(fn.body, ctx)
    finally:
        scopes.pop()


def _need_known_list(fn: str, v: Any) -> list:
    v = _need_list(fn, v)
    return v


@builtin("filter")
def _filter(ctx: Context, arr: Any, fn: Any) -> Any:
    out = []
    for i, x in enumerate(_need_known_list("filter", arr)):
        keep = call_lambda(ctx, fn, x, i)
        if isinstance(keep, Unknown):
            return keep
        if _coerce_bool("filter", keep):
            out.append(x)
    return out


@builtin("map")
def _map(ctx: Context, arr: Any, fn: Any) -> list:
    return [call_lambda(ctx, fn, x, i) for i, x in enumerate(_need_known_list("map", arr))]


@builtin("mapValues")
def _map_values(ctx: Context, obj: Any, fn: Any) -> dict:
    if not isinstance(obj, dict):
        raise ExpressionError(f"'mapValues' expects an object, not {a_type_name(obj)}")
    return {k: call_lambda(ctx, fn, v) for k, v in obj.items()}


@builtin("reduce")
def _reduce(ctx: Context, arr: Any, initial: Any, fn: Any) -> Any:
    acc = initial
    for i, x in enumerate(_need_known_list("reduce", arr)):
        acc = call_lambda(ctx, fn, acc, x, i)
    return acc


@builtin("sort")
def _sort(ctx: Context, arr: Any, fn: Any) -> Any:
    items = list(_need_known_list("sort", arr))
    unknown: list[Unknown] = []

    def before(a: Any, b: Any) -> int:
        r = call_lambda(ctx, fn, a, b)
        if isinstance(r, Unknown):
            unknown.append(r)
            return 0
        return -1 if _coerce_bool("sort", r) else 1

    import functools
    items.sort(key=functools.cmp_to_key(before))
    return unknown[0] if unknown else items


@builtin("toObject")
def _to_object(ctx: Context, arr: Any, key_fn: Any, value_fn: Any = None) -> Any:
    out: dict = {}
    for x in _need_known_list("toObject", arr):
        k = call_lambda(ctx, key_fn, x)
        if isinstance(k, Unknown):
            return k
        out[_need_str("toObject", k)] = call_lambda(ctx, value_fn, x) if value_fn is not None else x
    return out


@builtin("groupBy")
def _group_by(ctx: Context, arr: Any, fn: Any) -> Any:
    out: dict = {}
    for x in _need_known_list("groupBy", arr):
        k = call_lambda(ctx, fn, x)
        if isinstance(k, Unknown):
            return k
        out.setdefault(to_text(k), []).append(x)
    return out


# --- dates -----------------------------------------------------------------------------------------

_DOTNET_TOKENS = re.compile(r"yyyy|yy|MMMM|MMM|MM|M|dddd|ddd|dd|d|HH|H|hh|h|mm|m|ss|s|fffffff|ffffff|fff|ff|f|"
                            r"tt|K|'[^']*'|\\.|.", re.S)
# Invariant-culture patterns of the one-letter standard formats: utcNow('d') gives 03/05/2019 in the
# date page's example.
_DOTNET_STANDARD = {
    "d": "MM/dd/yyyy", "D": "dddd, dd MMMM yyyy", "f": "dddd, dd MMMM yyyy HH:mm",
    "F": "dddd, dd MMMM yyyy HH:mm:ss", "g": "MM/dd/yyyy HH:mm", "G": "MM/dd/yyyy HH:mm:ss",
    "m": "MMMM dd", "M": "MMMM dd", "o": "yyyy-MM-ddTHH:mm:ss.fffffffK", "O": "yyyy-MM-ddTHH:mm:ss.fffffffK",
    "r": "ddd, dd MMM yyyy HH:mm:ss 'GMT'", "R": "ddd, dd MMM yyyy HH:mm:ss 'GMT'",
    "s": "yyyy-MM-ddTHH:mm:ss", "t": "HH:mm", "T": "HH:mm:ss", "u": "yyyy-MM-dd HH:mm:ssZ",
    "y": "yyyy MMMM", "Y": "yyyy MMMM",
}


def dotnet_datetime(value: dt.datetime, fmt: str) -> str:
    fmt = _DOTNET_STANDARD.get(fmt, fmt)
    out = []
    for tok in _DOTNET_TOKENS.findall(fmt):
        if tok == "yyyy":
            out.append(f"{value.year:04d}")
        elif tok == "yy":
            out.append(f"{value.year % 100:02d}")
        elif tok == "MMMM":
            out.append(_MONTHS[value.month - 1])
        elif tok == "MMM":
            out.append(_MONTHS[value.month - 1][:3])
        elif tok == "dddd":
            out.append(_DAYS[value.weekday()])
        elif tok == "ddd":
            out.append(_DAYS[value.weekday()][:3])
        elif tok == "MM":
            out.append(f"{value.month:02d}")
        elif tok == "M":
            out.append(str(value.month))
        elif tok == "dd":
            out.append(f"{value.day:02d}")
        elif tok == "d":
            out.append(str(value.day))
        elif tok == "HH":
            out.append(f"{value.hour:02d}")
        elif tok == "H":
            out.append(str(value.hour))
        elif tok == "hh":
            out.append(f"{(value.hour % 12) or 12:02d}")
        elif tok == "h":
            out.append(str((value.hour % 12) or 12))
        elif tok == "mm":
            out.append(f"{value.minute:02d}")
        elif tok == "m":
            out.append(str(value.minute))
        elif tok == "ss":
            out.append(f"{value.second:02d}")
        elif tok == "s":
            out.append(str(value.second))
        elif tok.startswith("f"):
            out.append(f"{value.microsecond:06d}0"[: len(tok)])
        elif tok == "tt":
            out.append("AM" if value.hour < 12 else "PM")
        elif tok == "K":
            out.append("Z")
        elif tok.startswith("'"):
            out.append(tok[1:-1])
        elif tok.startswith("\\"):
            out.append(tok[1:])
        else:
            out.append(tok)
    return "".join(out)


_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def parse_datetime(text: str) -> dt.datetime:
    t = text.strip().replace("Z", "+00:00")
    try:
        value = dt.datetime.fromisoformat(t)
    except ValueError:
        m = re.fullmatch(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(?:\+00:00)?", t)
        if not m:
            raise ExpressionError(f"cannot read the date-time {text!r}") from None
        value = dt.datetime(*map(int, m.groups()), tzinfo=dt.timezone.utc)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc)


_DURATION = re.compile(r"(-)?P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")


@builtin("dateTimeAdd")
def _date_time_add(ctx: Context, base: Any, duration: Any, fmt: Any = None) -> str:
    value = parse_datetime(_need_str("dateTimeAdd", base))
    m = _DURATION.match(_need_str("dateTimeAdd", duration))
    if not m:
        raise ExpressionError(f"'dateTimeAdd' duration {duration!r} is not ISO 8601")
    sign = -1 if m.group(1) else 1
    years, months, weeks, days, hours, minutes = (int(g or 0) for g in m.groups()[1:7])
    seconds = float(m.group(8) or 0)
    # Not calendar arithmetic: ARM reads P1Y as P365D and P1M as P30D, leap year or not (the page's
    # remarks: 2024-01-01 plus P1Y is 2024-12-31, 2023-02-01 plus P1M is 2023-03-03).
    value += sign * dt.timedelta(days=365 * years + 30 * months + 7 * weeks + days, hours=hours,
                                 minutes=minutes, seconds=seconds)
    return dotnet_datetime(value, fmt) if isinstance(fmt, str) else value.strftime("%Y-%m-%dT%H:%M:%SZ")


@builtin("dateTimeToEpoch")
def _date_time_to_epoch(ctx: Context, v: Any) -> int:
    return int(parse_datetime(_need_str("dateTimeToEpoch", v)).timestamp())


@builtin("dateTimeFromEpoch")
def _date_time_from_epoch(ctx: Context, v: Any) -> str:
    value = dt.datetime.fromtimestamp(_need_int("dateTimeFromEpoch", v), tz=dt.timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- CIDR ------------------------------------------------------------------------------------------

@builtin("parseCidr")
def _parse_cidr(ctx: Context, cidr: Any) -> dict:
    net = ipaddress.ip_network(_need_str("parseCidr", cidr), strict=False)
    out: dict[str, Any] = {"network": str(net.network_address), "netmask": str(net.netmask)}
    if net.version == 4:
        # IPv4 reserves the network and broadcast addresses (not in a /31 or /32).
        reserved = 1 if net.num_addresses > 2 else 0
        out["broadcast"] = str(net.broadcast_address)
    else:
        # IPv6 has no broadcast: the documented /48 example's usable range is the whole range.
        reserved = 0
    out["firstUsable"] = str(net.network_address + reserved)
    out["lastUsable"] = str(net.broadcast_address - reserved)
    out["cidr"] = net.prefixlen
    return out


@builtin("cidrSubnet")
def _cidr_subnet(ctx: Context, cidr: Any, prefix: Any, idx: Any) -> str:
    net = ipaddress.ip_network(_need_str("cidrSubnet", cidr), strict=False)
    prefix = _need_int("cidrSubnet", prefix)
    idx = _need_int("cidrSubnet", idx)
    if prefix < net.prefixlen:
        raise ExpressionError(f"'cidrSubnet' new prefix /{prefix} is larger than {net}")
    if prefix > net.max_prefixlen:  # a /33 of an IPv4 network: no such subnet (and never a float size)
        raise ExpressionError(f"'cidrSubnet' new prefix /{prefix} is longer than an IPv{net.version} address "
                              f"(/{net.max_prefixlen})")
    size = 2 ** (net.max_prefixlen - prefix)
    count = 2 ** (prefix - net.prefixlen)
    if idx < 0 or idx >= count:
        raise ExpressionError(f"'cidrSubnet' index {idx} is out of range for {net} split into /{prefix}")
    start = net.network_address + idx * size
    return f"{start}/{prefix}"


@builtin("cidrHost")
def _cidr_host(ctx: Context, cidr: Any, idx: Any) -> str:
    net = ipaddress.ip_network(_need_str("cidrHost", cidr), strict=False)
    idx = _need_int("cidrHost", idx)
    # Index 0 is the address after the network address, in IPv6 too (the documented /52 example
    # starts at ::1); the IPv4 broadcast address is not a host.
    offset = 1 if net.num_addresses > 2 else 0
    last = net.num_addresses - (2 if net.version == 4 and net.num_addresses > 2 else 1)
    if idx < 0 or idx + offset > last:
        raise ExpressionError(f"'cidrHost' index {idx} is outside the usable hosts of {net}")
    return str(net.network_address + idx + offset)


# Functions that read runtime state: never guessed. reference()/list*() are resolved (or not) by the
# template engine's context, which overrides these defaults.
def _runtime(name: str) -> Callable[..., Unknown]:
    def fn(ctx: Context, node: Call) -> Unknown:
        return Unknown(f"{_short(node.text)} reads deployed state, which is not available offline")
    return fn


for _name in ("reference", "references", "providers", "pickZones", "listKeys", "listSecrets",
              "listAccountSas", "listServiceSas", "managementGroup", "environmentVariable", "deployer"):
    BUILTINS[_name.lower()] = (_runtime(_name), True)


# Template functions ARM documents that this evaluator does not compute: what they give is unknown, never an
# "unknown function" (a name ARM does not know fails the deployment; these do not)
def _not_evaluated(name: str) -> Callable[..., Unknown]:
    def fn(ctx: Context, node: Call) -> Unknown:
        return Unknown(f"{_short(node.text)}: the template function {name}() is not evaluated offline by this tool")
    return fn


for _name in ("buildUri", "parseUri"):
    BUILTINS[_name.lower()] = (_not_evaluated(_name), True)


def list_function(name: str) -> bool:
    """``list*`` functions (listKeys, listCredentials, ...) all read secrets or runtime state."""
    return name.startswith("list") and "." not in name


__all__ = ["BUILTINS", "UNKNOWN_AWARE", "Lambda", "arm_equals", "call_lambda", "dotnet_datetime",
           "list_function", "member", "to_text"]
