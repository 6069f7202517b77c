"""The control catalog: the built-in controls and a user's own, as one value passed through a run.

Declaring a control (built-in or a user's) uses the same public API, re-exported here: :class:`Control`,
:class:`Mappings`, :class:`Parameter`, :class:`Related`, :class:`Severity`, and for in-cluster controls
:func:`k8s_control` with :class:`Findings` (see ``docs/custom-controls.md``).

A catalog is loaded once per run (:func:`load_catalog`: the built-ins, then ``--controls-path``
directories and packages that declare the entry point ``aks_compliance.controls``, then overlays) and
handed to everything that needs it: the scan, waivers, policy generation, the reports.
"""

from __future__ import annotations

from typing import Any

from .loading import builtin_controls, load_catalog
from .model import (CATALOG_VERSION, Catalog, CatalogError, Check, Control, Decision,
                    Mappings, ObjectRule, Parameter, Related, Severity)


def __getattr__(name: str) -> Any:
    # The in-cluster declaration helpers live with the Kubernetes family; re-exported lazily (no import cycle).
    if name in ("k8s_control", "Findings", "unknown"):
        from ..k8s import checks
        return getattr(checks, name)
    raise AttributeError(name)


__all__ = ["CATALOG_VERSION", "Catalog", "CatalogError", "Check", "Control", "Decision", "Findings", "Mappings",
           "ObjectRule", "Parameter", "Related", "Severity", "builtin_controls", "k8s_control", "load_catalog",
           "unknown"]
