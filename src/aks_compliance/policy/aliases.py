"""Azure Policy aliases: alias name -> JSON path in the resource as ARM returns it.

The project declares the aliases its controls use in ``KNOWN_ALIASES`` (each checked against
Microsoft's alias catalog by a test); other aliases resolve by the convention most aliases follow
(``<type>/<prop.path>`` -> ``properties.<prop.path>``). A full catalog can be plugged in with
:class:`CatalogAliases` (the project's tests do this with the catalog in ``../shared``).
"""

from __future__ import annotations

import re
from functools import lru_cache
from dataclasses import dataclass
from typing import Mapping

# Fields that are not aliases (docs: "Fields").
BUILTIN_FIELDS = {"name", "fullname", "kind", "type", "location", "id", "identity.type", "tags"}
_TOP_LEVEL = {"sku", "identity", "tags", "zones", "kind", "location", "plan", "extendedlocation", "managedby",
              "name", "type", "id"}

# Aliases used by this project's controls, with their default paths as Microsoft publishes them.
KNOWN_ALIASES: dict[str, str] = {
    # legacy aliases whose name has no [*] but whose path does (array-member collections)
    "microsoft.insights/diagnosticsettings/logs.enabled": "properties.logs[*].enabled",
    "microsoft.insights/diagnosticsettings/metrics.enabled": "properties.metrics[*].enabled",
    "microsoft.insights/diagnosticsettings/logs.category": "properties.logs[*].category",
    # Application Gateway: sku is inside properties, and frontend members keep their inner properties
    "microsoft.network/applicationgateways/sku.tier": "properties.sku.tier",
    "microsoft.network/applicationgateways/sku.name": "properties.sku.name",
    "microsoft.network/applicationgateways/frontendipconfigurations[*].publicipaddress":
        "properties.frontendIPConfigurations[*].properties.publicIPAddress",
}

_SEGMENT = re.compile(r"\[\*\]|[^.\[\]]+")


@dataclass(frozen=True)
class Alias:
    name: str
    path: str
    segments: tuple[str, ...]  # e.g. ("properties", "agentPoolProfiles", "[*]", "count")

    @property
    def lower(self) -> tuple[str, ...]:
        return _lower_segments(self.segments)

    @property
    def is_array_member(self) -> bool:
        return bool(self.segments) and self.segments[-1] == "[*]"

    @property
    def has_wildcard(self) -> bool:
        return "[*]" in self.segments


@lru_cache(maxsize=4096)
def _lower_segments(segments: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(s.lower() for s in segments)


def split_path(path: str) -> tuple[str, ...]:
    return tuple(_SEGMENT.findall(path))


def conventional_path(alias: str) -> str | None:
    """``Ns/type[/child]/prop.path`` -> ``properties.prop.path`` (``sku.*``, ``identity.*`` stay top-level)."""
    if "/" not in alias:
        return None
    prop = alias.rsplit("/", 1)[1]
    if not prop:
        return None
    first = re.split(r"[.\[]", prop, 1)[0].lower()
    return prop if first in _TOP_LEVEL else f"properties.{prop}"


def foreign_alias(field: str, types: tuple[str, ...]) -> str | None:
    """The resource type a field names as an alias when it is none of ``types``, else None. An alias name is
    ``<its resource type>/<property path>`` (so are all 6,160 of Microsoft's catalog this project is checked
    against: none has a '/' after its type), so an alias of a child type (``.../agentPools/vmSize``) or with a
    misspelt namespace is read as absent on every resource of ``types``. Fields without a '/' (``name``,
    ``tags.x``, property paths) and expressions are not aliases."""
    if "/" not in field or field.startswith("[") or field.lower().startswith("tags"):
        return None
    low = field.lower()
    for t in types:
        prefix = t.lower() + "/"
        if low.startswith(prefix) and "/" not in low[len(prefix):]:
            return None
    return field.rsplit("/", 1)[0]


class AliasResolver:
    """Resolves alias names (case-insensitively) to paths."""

    def __init__(self, known: Mapping[str, str] | None = None, convention: bool = True) -> None:
        self._known = {k.lower(): v for k, v in (known or KNOWN_ALIASES).items()}
        self._convention = convention
        self._cache: dict[str, Alias | None] = {}

    def resolve(self, name: str) -> Alias | None:
        key = name.lower()
        if key in self._cache:
            return self._cache[key]
        path = self._known.get(key)
        if path is None and self._convention:
            path = conventional_path(name)
        alias = Alias(name, path, split_path(path)) if path else None
        self._cache[key] = alias
        return alias

    def exists(self, name: str) -> bool:
        return name.lower() in self._known


class CatalogAliases(AliasResolver):
    """A resolver backed by a full alias catalog (``{alias name: default path}``)."""

    def __init__(self, catalog: Mapping[str, str]) -> None:
        super().__init__(known=catalog, convention=False)


DEFAULT_ALIASES = AliasResolver()
