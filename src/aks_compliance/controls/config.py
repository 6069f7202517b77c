"""Control thresholds from a file: ``--control-config FILE``.

The file is YAML (JSON is YAML too): a mapping from control id to ``{parameter: value}``::

    AKS-038:
      minimumKubernetesVersion: "1.34.0"
    AKS-007:
      allowedUpgradeChannels: [stable, patch]

Unknown control ids and parameter names are errors, so a typo does not silently keep a default.
``--control-param ID.NAME=VALUE`` on the command line overrides the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from . import Catalog, load_catalog


class ControlConfigError(ValueError):
    pass


def load_control_config(path: str | Path) -> dict[str, dict[str, Any]]:
    p = Path(path)
    from ..errors import InputError
    from ..waivers import read_yaml
    try:  # bounded like the governance files: a regular file, bounded aliases and nesting
        data, _ = read_yaml(str(p), "the control configuration")
    except InputError as exc:
        raise ControlConfigError(f"{exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ControlConfigError(f"{p}: expected a mapping of control id to {{parameter: value}}")
    return {str(k): {str(n): v for n, v in params.items()} for k, params in data.items()}


def merge_control_params(*layers: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Later layers override earlier ones, parameter by parameter."""
    out: dict[str, dict[str, Any]] = {}
    for layer in layers:
        for cid, params in layer.items():
            out.setdefault(cid, {}).update(params)
    return out


def validate_control_params(params: Mapping[str, Mapping[str, Any]], catalog: Catalog | None = None) -> None:
    catalog = catalog if catalog is not None else load_catalog()
    problems = []
    for cid, values in params.items():
        if cid == "*":  # a parameter of every control that has it
            names = {p.name for c in catalog for p in c.parameters}
            problems += [f"no control has a parameter {name!r}" for name in values if name not in names]
            continue
        control = catalog.get(cid)
        if control is None:
            problems.append(f"unknown control id {cid}")
            continue
        names = {p.name for p in control.parameters}
        for name in values:
            if name not in names:
                known = ", ".join(sorted(names)) or "none"
                problems.append(f"{cid} has no parameter {name!r} (its parameters: {known})")
    if problems:
        raise ControlConfigError("; ".join(problems))
