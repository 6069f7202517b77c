"""The control catalog: the built-in controls and a user's own, as one value passed through a run.

Declaring a control (built-in or a user's) uses the same public API, re-exported here: :class:`Control`,
:class:`Mappings`, :class:`Parameter`, :class:`Related`, :class:`Severity`, and for in-cluster controls
:func:`k8s_control` with :class:`Findings` (see ``docs/custom-controls.md``).

A catalog is loaded once per run (:func:`load_catalog`: the built-ins, then ``--controls-path``
directories and packages that declare the entry point ``aks_compliance.controls``, then overlays) and
handed to everything that needs it: the scan, waivers, policy generation, the reports.
"""

from __future__ import annotations

import functools
from typing import Any, Iterable, Iterator

from .model import (BUILTIN_PREFIX, CONTROL_ID, Check, Control, Decision, Mappings, ObjectRule, Parameter,
                    Related, Severity)

CATALOG_VERSION = "0.1.0"


class CatalogError(ValueError):
    """A control declaration that cannot be used (bad id, a collision, a broken file): a usage error."""


class Catalog:
    def __init__(self, controls: Iterable[Control], *, overlays: list[dict[str, Any]] | None = None,
                 sources: list[str] | None = None, disabled: dict[str, str] | None = None) -> None:
        seen: dict[str, Control] = {}
        for c in controls:
            if not CONTROL_ID.match(c.id):
                raise CatalogError(f"{c.origin}: control id {c.id!r} is not of the form PREFIX-ID (upper-case "
                                   f"letters and digits, e.g. ACME-001)")
            if c.id.startswith(BUILTIN_PREFIX + "-") and not c.builtin:
                raise CatalogError(f"{c.origin}: control id {c.id} uses the prefix {BUILTIN_PREFIX}-, which is "
                                   f"reserved for the built-in controls: choose a prefix of your own")
            if c.id in seen:
                raise CatalogError(f"control id {c.id} is declared twice: in {seen[c.id].origin} and in {c.origin}")
            seen[c.id] = c
        self._by_id = dict(sorted(seen.items()))
        # What shaped this catalog beyond the built-ins, for the reports' scope section.
        self.overlays = list(overlays or [])
        self.sources = list(sources or [])
        self.disabled = dict(disabled or {})  # control id -> why (an overlay disabled it)

    def __iter__(self) -> Iterator[Control]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, control_id: object) -> bool:
        return control_id in self._by_id

    def __getitem__(self, control_id: str) -> Control:
        return self._by_id[control_id]

    def get(self, control_id: str) -> Control | None:
        return self._by_id.get(control_id)

    def ids(self) -> list[str]:
        return list(self._by_id)

    def select(self, ids: list[str] | None) -> "Catalog":
        """The controls named (case-insensitively); CatalogError naming the ids that do not exist."""
        if not ids:
            return self
        upper = {i.upper(): i for i in self._by_id}
        unknown = [i for i in ids if i.upper() not in upper]
        if unknown:
            raise CatalogError(f"unknown control id(s): {', '.join(unknown)}")
        return self._derive([self._by_id[upper[i.upper()]] for i in dict.fromkeys(ids)])

    def _derive(self, controls: list[Control]) -> "Catalog":
        return Catalog(controls, overlays=self.overlays, sources=self.sources, disabled=self.disabled)

    def scope_document(self) -> dict[str, Any]:
        """What the reports' scope section says about the catalog: custom sources, overlays, disabled controls."""
        return {"version": CATALOG_VERSION, "controls": len(self), "custom": sum(not c.builtin for c in self),
                "sources": self.sources, "overlays": self.overlays,
                "disabled": [{"control_id": k, "reason": v} for k, v in sorted(self.disabled.items())]}


@functools.lru_cache(maxsize=1)
def builtin_controls() -> tuple[Control, ...]:
    """The built-in controls, each knowing its practice area (the catalog module it is declared in)."""
    import dataclasses

    from .catalog import MODULES
    out = []
    for m in MODULES:
        practice = m.__name__.rsplit(".", 1)[-1].replace("_", " ")
        out.extend(c if c.practice else dataclasses.replace(c, practice=practice) for c in m.CONTROLS)
    return tuple(out)


def load_catalog(paths: Iterable[str] = (), *, entry_points: bool = True, overlays: Iterable[str] = ()) -> Catalog:
    """The built-in controls, plus a user's own (``--controls-path`` directories or files, and installed
    packages declaring the entry point ``aks_compliance.controls``), with overlays applied in order."""
    paths = list(paths)
    overlays = list(overlays)
    if not paths and not overlays and not entry_points:
        return Catalog(builtin_controls())
    from .loading import load_user_controls
    custom, sources = load_user_controls(paths, entry_points=entry_points)
    catalog = Catalog([*builtin_controls(), *custom], sources=sources)
    if overlays:
        from .overlays import apply_overlays
        catalog = apply_overlays(catalog, overlays)
    return catalog


def __getattr__(name: str) -> Any:
    # The in-cluster declaration helpers live with the Kubernetes family; re-exported lazily (no import cycle).
    if name in ("k8s_control", "Findings", "unknown"):
        from ..k8s import checks
        return getattr(checks, name)
    raise AttributeError(name)


__all__ = ["CATALOG_VERSION", "Catalog", "CatalogError", "Check", "Control", "Decision", "Findings", "Mappings",
           "ObjectRule", "Parameter", "Related", "Severity", "builtin_controls", "k8s_control", "load_catalog",
           "unknown"]
