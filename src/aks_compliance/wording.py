"""A failing comparison in plain words, for the people who fix it.

Evidence keeps the policy-language form (``expected equals true, actual false``) for the results JSON and
the audit report; what a person reads first in a failure (the terminal, JUnit, pytest-html, SARIF) is
"pool `user1`: enableEncryptionAtHost is false, must be true": the element (the array member a path runs
through, named by its ``name``), the property, its value, and what it must be instead. A comparison that
fails by being true (under a ``not``, or a counted member of "none may match") states the opposite of its
operator.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Callable, Mapping

from .memo import Memo


# the JSON type a shape check expects, in the words json_type uses for what it found
TYPE_WORDS = {str: "a string", int: "a number", float: "a number", bool: "a boolean", dict: "an object",
              list: "an array"}


def json_type(value: Any) -> str:
    """What JSON (or YAML) type ``value`` is, in words: never its text (a malformed value may be anything, a
    Secret's data included; and messages counted by their text, as coverage reasons are, must not vary)."""
    if value is None:
        return "null"
    for t in (bool, int, float, str, list, dict):  # bool before int: True is an int to isinstance
        if isinstance(value, t):
            return TYPE_WORDS[t]
    return f"a {type(value).__name__}"


# What a person calls a member of these arrays (others: the array's name)
ELEMENT_NOUNS = {"agentpoolprofiles": "pool", "logs": "log", "metrics": "metric", "containers": "container",
                 "initcontainers": "init container", "rules": "rule", "subnets": "subnet"}
# What a person calls a resource of these types when the comparison is on a resource other than the target
RESOURCE_NOUNS = {"microsoft.insights/diagnosticsettings": "diagnostic setting",
                  "microsoft.containerservice/managedclusters/agentpools": "pool",
                  "microsoft.containerservice/managedclusters/maintenanceconfigurations": "maintenance configuration"}

# (operator -> (words when it must hold, words when it must not))
_WORDS = {
    "equals": ("must be {}", "must not be {}"),
    "notequals": ("must not be {}", "must be {}"),
    "in": ("must be one of {}", "must not be one of {}"),
    "notin": ("must not be one of {}", "must be one of {}"),
    "like": ("must match {}", "must not match {}"),
    "notlike": ("must not match {}", "must match {}"),
    "match": ("must match the pattern {}", "must not match the pattern {}"),
    "matchinsensitively": ("must match the pattern {}", "must not match the pattern {}"),
    "notmatch": ("must not match the pattern {}", "must match the pattern {}"),
    "notmatchinsensitively": ("must not match the pattern {}", "must match the pattern {}"),
    "contains": ("must contain {}", "must not contain {}"),
    "notcontains": ("must not contain {}", "must contain {}"),
    "containskey": ("must have the key {}", "must not have the key {}"),
    "notcontainskey": ("must not have the key {}", "must have the key {}"),
    "less": ("must be less than {}", "must be at least {}"),
    "lessorequals": ("must be at most {}", "must be greater than {}"),
    "greater": ("must be greater than {}", "must be at most {}"),
    "greaterorequals": ("must be at least {}", "must be less than {}"),
}
_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
_COUNT = re.compile(r"^count\((?:[^)]*/)?([^/)]*?)(?:\[\*\])?\)$")


_REQUIREMENTS: Memo = Memo(20_000)


def not_objects(unread: list[str], what: str = "item(s) of the list") -> str:
    """Why a list read from an API is incomplete: its members that are not objects, where they were (the first
    five) and what they were ("page 2 item 3: a string")."""
    return (f"{len(unread)} {what} are not objects and were not read ({'; '.join(unread[:5])}"
            f"{'; ...' if len(unread) > 5 else ''})")


def requirement(operator: str, expected: Any, holds: bool, show: Callable[[Any], str]) -> str | None:
    """What the value must be: the operator's words, or their opposite when the comparison must not hold.
    Memoised: a rule's operands are the same objects every time (the cache holds the operand, so its id stays
    unique)."""
    key = (operator, holds, id(expected))
    hit = _REQUIREMENTS.get(key)
    if hit is not None and hit[0] is expected:
        return hit[1]
    op = operator.lower()
    if op == "exists":
        must_exist = (str(expected).lower() == "true") == holds
        text: str | None = "must be set" if must_exist else "must not be set"
    else:
        words = _WORDS.get(op)
        text = None if words is None else (words[0] if holds else words[1]).format(show(expected))
    _REQUIREMENTS.put(key, (expected, text))
    return text


@lru_cache(maxsize=4096)
def _parse(path: str) -> tuple[tuple[tuple[str | None, str | None], ...], str, str, str] | None:
    """(tokens up to the last array index, its noun, the property after it, the index) for a path through an
    array member; None for a path without one. Cached: the same paths recur on every cluster."""
    tokens = [(m.group(1), m.group(2)) for m in _TOKEN.finditer(path)]
    last = max((i for i, (_, index) in enumerate(tokens) if index is not None), default=None)
    if last is None:
        return None
    array = next((name for name, index in reversed(tokens[:last]) if name is not None), "")
    rest = [name for name, index in tokens[last + 1:] if name is not None]
    return tuple(tokens[: last + 1]), ELEMENT_NOUNS.get(array.lower(), array), ".".join(rest) or "the value", \
        tokens[last][1] or ""


@lru_cache(maxsize=4096)
def _property(path: str) -> str:
    count = _COUNT.match(path)
    if count:
        return f"{count.group(1) or 'the array'}: the count"
    names = [m.group(1) for m in _TOKEN.finditer(path) if m.group(1) is not None and m.group(1) != "properties"]
    return ".".join(names) or path


def _element(path: str, body: Any) -> tuple[str, str]:
    """("pool `user1`", "enableEncryptionAtHost") for properties.agentPoolProfiles[1].enableEncryptionAtHost;
    ("", "disableLocalAccounts") for properties.disableLocalAccounts."""
    parsed = _parse(path) if not path.startswith("count(") else None
    if parsed is None:
        return "", _property(path)
    tokens, noun, prop, index = parsed
    node: Any = body
    for name, i in tokens:
        try:
            node = node.get(name) if name is not None else node[int(i)]
        except (AttributeError, IndexError, KeyError, TypeError, ValueError):
            node = None
            break
    label = None
    if isinstance(node, Mapping):
        label = next((node.get(k) for k in ("name", "category", "metric") if isinstance(node.get(k), str)), None)
    elif isinstance(node, (str, int, float)) and not isinstance(node, bool):
        label = node
    return (f"{noun} `{label}`" if label is not None else f"{noun} #{index}"), prop


def plain(path: str, operator: str, expected: Any, actual: Any, truth_is_true: bool, body: Any,
          show: Callable[[Any], str], missing: object, note: str = "", context: str = "",
          resource: str = "", shown: str | None = None) -> str:
    """One failing comparison as a sentence. ``truth_is_true``: the comparison held (and fails by holding);
    ``shown``: the value as evidence already renders it."""
    element, prop = _element(path, body)
    where = ", ".join(x for x in (resource, context, element) if x)
    value = "not set" if actual is missing else (shown if shown is not None else show(actual))
    if note:
        value = f"{value} ({note})"
    must = requirement(operator, expected, not truth_is_true, show)
    if must is None:  # a check's own operator ("version >=", "count >="): say it as it is
        must = f"expected {'not ' if truth_is_true else ''}{operator} {show(expected)}"
    return f"{where + ': ' if where else ''}{prop} is {value}, {must}"


def resource_label(rtype: str, name: str) -> str:
    """How a failing comparison on a resource other than the target names it: diagnostic setting `to-law`."""
    noun = RESOURCE_NOUNS.get(rtype.lower(), rtype.rsplit("/", 1)[-1])
    return f"{noun} `{name}`"
