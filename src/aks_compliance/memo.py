"""Bounded memos for the hot paths: evidence, paths, redaction and rule compilation see the same few hundred
values on every target of a large scan, and remember what they made of each.

A memo is cleared when full rather than evicted entry by entry: a scan's working set refills it at once, and
no input can make it hold more than its bound. Memos keyed by an object's identity (``id(node)``) store
``(node, value)`` and check ``hit[0] is node`` when reading: holding the object keeps its id from being
reused by another object while the entry lives. Reads stay inline at each use (``memo.get``): they are the
hot part.
"""

from __future__ import annotations

from typing import Any, TypeVar

V = TypeVar("V")


class Memo(dict):
    """A dict with a bound: ``put`` clears it first when it is full."""

    __slots__ = ("limit",)

    def __init__(self, limit: int = 50_000) -> None:
        super().__init__()
        self.limit = limit

    def put(self, key: Any, value: V) -> V:
        if len(self) >= self.limit:
            self.clear()
        self[key] = value
        return value
