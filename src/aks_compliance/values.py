"""Values that cannot be known offline.

An :class:`Unknown` stands wherever a template expression, parameter or API could not give a value
(``reference()``, a parameter without a value, a secure parameter, ...). It travels through the ARM
evaluator and the condition evaluator unchanged and always carries the reason, so a verdict that
depends on it becomes *unknown* with that reason instead of a guessed pass or fail.
"""

from __future__ import annotations

from typing import Any

from .redaction import redact_text


class Unknown:
    """A value not knowable offline; ``reason`` names the expression or input responsible."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        # redacted once, here: a reason quotes the expression or value responsible, and reaches evidence,
        # reasons and every report (a literal 'AccountKey=...' in a failing expression is still a credential)
        self.reason = redact_text(reason)

    def __repr__(self) -> str:
        return f"Unknown({self.reason!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Unknown) and other.reason == self.reason

    def __hash__(self) -> int:
        return hash(("Unknown", self.reason))


class Placeholder(str):
    """A stand-in string for a deployment fact not given to the scan (the resource group's location).

    It joins into names and ids like the real value would, so resources still find each other,
    but any decision on its value (a comparison, a lookup by it) is unknown, naming ``reason``.
    """

    reason: str

    def __new__(cls, text: str, reason: str) -> "Placeholder":
        obj = super().__new__(cls, text)
        obj.reason = reason
        return obj

    def __getnewargs__(self) -> tuple[str, str]:  # copied and pickled (shards, deep copies) with its reason
        return str(self), self.reason


class Partial(dict):
    """An object of which only some members are known: a member it lacks is unknown (``reason``), not absent.

    A node pool read without its cluster stands in a cluster body whose other properties are all Partial:
    rules over the pool judge it, rules over the cluster say why they cannot."""

    def __init__(self, data: dict[str, Any], reason: str) -> None:
        super().__init__(data)
        self.reason = reason

    def missing_member(self, name: str) -> Unknown:
        return Unknown(self.reason)


MAX_DEPTH = 64  # deeper than any real template value; deeper parts are not searched for unknowns

# first_unknown of containers already searched, on identity: template values are built once and shared
# (createArray(v, v), a variable read by 800 copies), never changed after, and searched again by every
# function they reach. Holding the container keeps its id from being reused while the entry lives.
_SEARCHED: dict[int, tuple[Any, Unknown | None]] = {}
_MAX_SEARCHED = 200_000


def first_unknown(value: Any) -> Unknown | None:
    """The first Unknown found anywhere inside ``value`` (depth-first), or None; each shared container is
    searched once, so a value that is small as a graph and huge as a tree costs its graph's size."""
    if isinstance(value, Unknown):
        return value
    if not isinstance(value, (dict, list)):
        return None
    if len(_SEARCHED) > _MAX_SEARCHED:
        _SEARCHED.clear()
    return _search(value, 0, {})[0]


def _search(value: Any, depth: int, cut: dict[int, Any]) -> tuple[Unknown | None, bool]:
    """(first Unknown, whether the search was complete: not cut at MAX_DEPTH). ``cut``: containers of this
    search whose search was cut, so that they are not searched again either."""
    hit = _SEARCHED.get(id(value))
    if hit is not None and hit[0] is value:
        return hit[1], True
    if id(value) in cut:
        return None, False
    if depth > MAX_DEPTH:
        cut[id(value)] = value
        return None, False
    complete = True
    found: Unknown | None = None
    for v in (value.values() if isinstance(value, dict) else value):
        if isinstance(v, Unknown):
            found = v
            break
        if isinstance(v, (dict, list)):
            u, whole = _search(v, depth + 1, cut)
            complete = complete and whole
            if u is not None:
                found = u
                break
    if complete or found is not None:
        _SEARCHED[id(value)] = (value, found)
    else:
        cut[id(value)] = value
    return found, complete


def plain(value: Any) -> Any:
    """A JSON-serialisable copy: Unknown becomes a short marker string naming its reason; a shared
    container is converted once (the copy shares it the same way)."""
    memo: dict[int, Any] = {}

    def walk(v: Any) -> Any:
        if isinstance(v, Unknown):
            return f"<unknown: {v.reason}>"
        if not isinstance(v, (dict, list)):
            return v
        hit = memo.get(id(v))
        if hit is not None:
            return hit
        out: Any = {k: walk(x) for k, x in v.items()} if isinstance(v, dict) else [walk(x) for x in v]
        memo[id(v)] = out
        return out

    return walk(value)
