"""Normalised Azure resources with provenance.

Every input form (deployment template, ``az group export``, REST JSON) becomes :class:`Resource`
objects shaped as ARM GET returns them (``id``, ``name``, ``type``, ``properties``...), each knowing
the file and JSON pointer it came from, so evidence can cite ``file:line``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

from .jsonc import JsonDocument
from .memo import Memo
from .values import Unknown

CLUSTER_TYPE = "microsoft.containerservice/managedclusters"
AGENT_POOL_TYPE = "microsoft.containerservice/managedclusters/agentpools"
DEPLOYMENT_TYPE = "microsoft.resources/deployments"
# Resources beside the clusters that are targets of their own (arm/targets.py); with the clusters, every type an
# Azure-side control can judge
NEIGHBOUR_TYPES = (
    "microsoft.containerregistry/registries",
    "microsoft.keyvault/vaults",
    "microsoft.network/applicationgateways",
    "microsoft.network/applicationgatewaywebapplicationfirewallpolicies",
    "microsoft.security/pricings",
)

# What a resource body stands for. A *request* (a template resource) is what would be sent to ARM at its
# apiVersion: an absent property takes that API version's default. *Deployed* state (ARM GET, an export,
# Resource Graph, a PowerShell export, an Azure CLI output, a snapshot) is what Azure returned: an absent
# property there is unknown unless the service always returns it (arm/defaults.py).
REQUEST = "request"
DEPLOYED = "deployed"
UNREAD = "unread"  # a stand-in for related resources that could not be read (a gap): nothing was read


@dataclass(frozen=True)
class Source:
    """Where something came from: a file and a JSON pointer in it (line computed on demand)."""

    file: str
    pointer: str = ""
    doc: JsonDocument | None = field(default=None, compare=False, repr=False)

    @property
    def line(self) -> int | None:
        if self.doc is None:
            return None
        return self.doc.lines.nearest_line(self.pointer)[0]

    def line_of(self, sub_pointer: str) -> int | None:
        """Line of a pointer below this source's pointer, or of its deepest existing ancestor."""
        if self.doc is None:
            return None
        return self.doc.lines.nearest_line(self.pointer + sub_pointer)[0]

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "pointer": self.pointer, "line": self.line}


class Resource:
    """One resource as ARM would return it. ``body`` may be computed lazily (template resources)."""

    __slots__ = ("type", "full_name", "id", "source", "scope_id", "existing", "condition",
                 "_body", "_make_body", "notes", "origins", "_locations", "state", "api_version", "value_notes",
                 "coverage_reason", "subtree_notes", "rejection")

    def __init__(self, type: str, full_name: str | Unknown, id: str | Unknown, source: Source,
                 body: dict[str, Any] | None = None,
                 make_body: Callable[[], dict[str, Any]] | None = None,
                 scope_id: str | Unknown | None = None, existing: bool = False,
                 condition: bool | Unknown = True, state: str = DEPLOYED,
                 api_version: str | Unknown | None = None) -> None:
        self.type = type
        self.full_name = full_name
        self.id = id
        self.source = source
        self.scope_id = scope_id  # for extension resources: the id of the resource they extend
        self.existing = existing
        self.condition = condition
        self._body = body
        self._make_body = make_body
        self.notes: list[str] = []
        # body path prefix (tuple of keys/indexes) -> Source, for parts merged in from elsewhere
        self.origins: dict[tuple, Source] = {}
        self._locations: dict[str, tuple[str, int | None]] | None = None
        self.state = state  # REQUEST or DEPLOYED
        self.api_version = api_version  # the template's apiVersion (None when the input does not say)
        # body path -> what the value is when it is not the input's own (an API default, a legacy value
        # translated): evidence shows it beside the value.
        self.value_notes: dict[str, str] = {}
        # why no control judges it, when its reader knows better than its type (a linked deployment: targets.py)
        self.coverage_reason: str | None = None
        # body path -> note for a property the request set but its API version lacks (arm/api_versions.py): it
        # covers every path below it, which the body no longer has
        self.subtree_notes: dict[str, str] | None = None
        # why the resource's API rejects the request as a whole (a field its version lacks, from API 2024-01-01)
        self.rejection: Any = None

    @property
    def type_lower(self) -> str:
        return self.type.lower()

    @property
    def name(self) -> str | Unknown:
        if isinstance(self.full_name, Unknown):
            return self.full_name
        return self.full_name.rsplit("/", 1)[-1]

    @property
    def body(self) -> dict[str, Any]:
        if self._body is None:
            assert self._make_body is not None
            self._body = self._make_body()
            self._make_body = None
        return self._body

    def display_name(self) -> str:
        if isinstance(self.full_name, Unknown):
            return f"<name unresolved: {self.full_name.reason}>"
        return self.full_name

    def source_for(self, path: tuple) -> tuple[Source, tuple]:
        """The source that holds body ``path`` and the remaining path below it."""
        best: tuple = ()
        for prefix in self.origins:
            if len(prefix) > len(best) and path[: len(prefix)] == prefix:
                best = prefix
        if best:
            return self.origins[best], path[len(best):]
        return self.source, path

    def location_of(self, path: str) -> tuple[str, int | None]:
        """File and line of a body path like ``properties.pools[1].x`` (or of its nearest ancestor).

        Memoised per resource: many controls cite the same paths."""
        source = self.source
        if self._locations is None:
            self._locations = {}
        if not self.origins and source.doc is not None and getattr(source.doc.lines, "flat", False):
            path = ""  # an object on one line (a snapshot item): every path is on the object's line
        hit = self._locations.get(path)
        if hit is None:
            parsed = parse_body_path(path)
            if parsed is None:
                hit = (self.source.file, self.source.line)
            else:
                source, rest = self.source_for(parsed) if self.origins else (self.source, parsed)
                hit = (source.file, source.line_of(_pointer_of(rest)))
            self._locations[path] = hit
        return hit

    def forget_locations(self) -> None:
        """Drop the memo of ``location_of`` (asked again, it is computed again)."""
        self._locations = None

    def pointer_of(self, path: str) -> tuple[Source, str]:
        """The source holding body ``path`` and the JSON pointer of the path in that source's file."""
        parsed = parse_body_path(path)
        if parsed is None:
            return self.source, self.source.pointer
        source, rest = self.source_for(parsed)
        return source, source.pointer + _pointer_of(rest)

    def where_of(self, path: str) -> str:
        """``file:line (at /pointer)`` of a body path, for messages about a value (a malformed shape)."""
        source, pointer = self.pointer_of(path)
        file, line = self.location_of(path)
        return f"{file}" + (f":{line}" if line else "") + (f" (at {pointer})" if pointer else "")

    def __repr__(self) -> str:
        return f"Resource({self.type}, {self.display_name()}, {self.source.file}{self.source.pointer})"


_PATH_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
# Evidence cites the same few hundred body paths on every resource of a type: parsed once each.
_PARSED: Memo = Memo()
_POINTERS: Memo = Memo()


def parse_body_path(path: str) -> tuple | None:
    """``properties.pools[1].x`` -> ('properties', 'pools', 1, 'x'); None for labels like ``count(...)``."""
    try:
        return _PARSED[path]
    except KeyError:
        pass
    if not path or " " in path or "(" in path:
        parsed = None
    else:
        parsed = tuple(m.group(1) if m.group(1) is not None else int(m.group(2)) for m in _PATH_TOKEN.finditer(path))
    return _PARSED.put(path, parsed)


def _pointer_of(tokens: tuple) -> str:
    """The JSON pointer suffix of body path tokens (``/properties/pools/1/x``)."""
    hit = _POINTERS.get(tokens)
    if hit is None:
        hit = _POINTERS.put(tokens, "".join("/" + str(t).replace("~", "~0").replace("/", "~1") for t in tokens))
    return hit


def id_parent(resource_id: str) -> str | None:
    """``/subscriptions/s/resourceGroups/g/providers/NS/t/n/c/m`` -> ``.../NS/t/n`` (None at top)."""
    parts = resource_id.rstrip("/").split("/")
    try:
        p = [s.lower() for s in parts].index("providers")
    except ValueError:
        return None
    tail = parts[p + 2:]
    if len(tail) <= 2:
        return None
    return "/".join(parts[: p + 2 + len(tail) - 2])


_GROUP = re.compile(r"^/subscriptions/([^/]+)(?:/resourceGroups/([^/]+))?", re.I)


def group_key(resource: Resource) -> str:
    """``subscription/resourcegroup`` of a resource's id (lower case), or its file when the id says neither:
    live Azure targets are partitioned by it in a sharded run (a group's resources stay together)."""
    m = _GROUP.match(resource.id) if isinstance(resource.id, str) else None
    return f"{m.group(1)}/{m.group(2) or ''}".lower() if m else resource.source.file


def type_from_id(resource_id: str) -> str | None:
    parts = resource_id.strip("/").split("/")
    low = [s.lower() for s in parts]
    if "providers" not in low:
        return None
    p = len(low) - 1 - low[::-1].index("providers")
    rest = parts[p + 1:]
    if len(rest) < 3:
        return None
    types = [rest[0]] + rest[1::2]
    # A nested provider segment (extension resource) restarts the type at that namespace.
    return "/".join(types)


def name_from_id(resource_id: str) -> str:
    parts = resource_id.strip("/").split("/")
    low = [s.lower() for s in parts]
    p = len(low) - 1 - low[::-1].index("providers") if "providers" in low else -1
    rest = parts[p + 1:] if p >= 0 else parts
    return "/".join(rest[2::2]) if len(rest) >= 3 else parts[-1]
