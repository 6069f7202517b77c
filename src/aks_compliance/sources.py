"""The registered input families (``family.py`` defines the protocol). A new family is one module and a
line here; the plugin, the scan and the reports take it from this list."""

from __future__ import annotations

from typing import Any

from .arm.family import ArmFamily
from .azure.family import AzureFamily
from .family import InputFamily, LoadContext, SourceResult
from .k8s.family import K8sFamily
from .kubebench.family import KubeBenchFamily

FAMILIES: tuple[InputFamily, ...] = (ArmFamily(), K8sFamily(), AzureFamily(), KubeBenchFamily())


def family_named(name: str) -> InputFamily:
    for f in FAMILIES:
        if f.name == name:
            return f
    raise KeyError(name)


def family_of(options: Any) -> InputFamily:
    """The family whose options ``options`` are."""
    for f in FAMILIES:
        if isinstance(options, f.options_type):
            return f
    raise TypeError(f"{type(options).__name__} are not the options of a registered input family")


__all__ = ["FAMILIES", "InputFamily", "LoadContext", "SourceResult", "family_named", "family_of"]
