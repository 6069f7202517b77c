"""The control catalog: every declared control, in id order."""

from __future__ import annotations

import re
from typing import Iterator

from .catalog import MODULES
from .model import Check, Control, Mappings, Parameter, Related, Severity

CATALOG_VERSION = "0.1.0"
_ID = re.compile(r"^AKS-\d{3}$")


class Catalog:
    def __init__(self, controls: list[Control]) -> None:
        seen: dict[str, Control] = {}
        for c in controls:
            if not _ID.match(c.id):
                raise ValueError(f"control id {c.id!r} is not of the form AKS-NNN")
            if c.id in seen:
                raise ValueError(f"control id {c.id} is declared twice")
            seen[c.id] = c
        self._by_id = dict(sorted(seen.items()))

    def __iter__(self) -> Iterator[Control]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def __getitem__(self, control_id: str) -> Control:
        return self._by_id[control_id]

    def get(self, control_id: str) -> Control | None:
        return self._by_id.get(control_id)

    def select(self, ids: list[str] | None) -> "Catalog":
        if not ids:
            return self
        unknown = [i for i in ids if i not in self._by_id]
        if unknown:
            raise KeyError(f"unknown control id(s): {', '.join(unknown)}")
        return Catalog([self._by_id[i] for i in ids])


def load_catalog() -> Catalog:
    return Catalog([c for m in MODULES for c in m.CONTROLS])


__all__ = ["CATALOG_VERSION", "Catalog", "Check", "Control", "Mappings", "Parameter", "Related", "Severity",
           "load_catalog"]
