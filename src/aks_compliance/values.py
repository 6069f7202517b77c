"""Values that cannot be known offline.

An :class:`Unknown` stands wherever a template expression, parameter or API could not give a value
(``reference()``, a parameter without a value, a secure parameter, ...). It travels through the ARM
evaluator and the condition evaluator unchanged and always carries the reason, so a verdict that
depends on it becomes *unknown* with that reason instead of a guessed pass or fail.
"""

from __future__ import annotations

from typing import Any


class Unknown:
    """A value not knowable offline; ``reason`` names the expression or input responsible."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason

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


class Partial(dict):
    """An object of which only some members are known: a member it lacks is unknown (``reason``), not absent.

    A node pool read without its cluster stands in a cluster body whose other properties are all Partial:
    rules over the pool judge it, rules over the cluster say why they cannot."""

    def __init__(self, data: dict[str, Any], reason: str) -> None:
        super().__init__(data)
        self.reason = reason

    def missing_member(self, name: str) -> Unknown:
        return Unknown(self.reason)


def first_unknown(value: Any, _depth: int = 0) -> Unknown | None:
    """The first Unknown found anywhere inside ``value`` (depth-first), or None."""
    if isinstance(value, Unknown):
        return value
    if _depth > 64:
        return None
    if isinstance(value, dict):
        for v in value.values():
            u = first_unknown(v, _depth + 1)
            if u is not None:
                return u
    elif isinstance(value, list):
        for v in value:
            u = first_unknown(v, _depth + 1)
            if u is not None:
                return u
    return None


def plain(value: Any) -> Any:
    """A JSON-serialisable copy: Unknown becomes a short marker string naming its reason."""
    if isinstance(value, Unknown):
        return f"<unknown: {value.reason}>"
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
