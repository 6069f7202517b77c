"""Control thresholds from a file: ``--control-config FILE``.

The file is YAML (JSON is YAML too): a mapping from control id to ``{parameter: value}``::

    AKS-038:
      minimumKubernetesVersion: "1.34.0"
    AKS-007:
      allowedUpgradeChannels: [stable, patch]

Unknown control ids and parameter names are errors, so a typo does not silently keep a default; every
value is validated against its parameter's type and constraints (``Parameter.json_schema``), so a wrong
value is a usage error naming the control and parameter, never a finding on the user's template.
``--control-param ID.NAME=VALUE`` on the command line overrides the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from .model import Catalog


class ControlConfigError(ValueError):
    pass


def load_control_config(path: str | Path) -> dict[str, dict[str, Any]]:
    p = Path(path)
    from ..errors import InputError
    from ..yaml_input import read_yaml
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


def _value_problem(cid: str, param: Any, value: Any) -> str | None:
    import jsonschema

    try:
        jsonschema.validate(value, param.json_schema())
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path)
        return f"{cid}.{param.name}={_show(value)}: {exc.message}" + (f" (at {where})" if where else "")
    return None


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def validate_control_params(params: Mapping[str, Mapping[str, Any]], catalog: Catalog) -> None:
    problems = []
    for cid, values in params.items():
        if cid == "*":  # a parameter of every control that has it
            named = {p.name: (c.id, p) for c in catalog for p in c.parameters}
            for name, value in values.items():
                if name not in named:
                    problems.append(f"no control has a parameter {name!r}")
                else:
                    problem = _value_problem("*", named[name][1], value)
                    if problem:
                        problems.append(problem)
            continue
        control = catalog.get(cid)
        if control is None:
            problems.append(f"unknown control id {cid}")
            continue
        by_name = {p.name: p for p in control.parameters}
        for name, value in values.items():
            if name not in by_name:
                known = ", ".join(sorted(by_name)) or "none"
                problems.append(f"{cid} has no parameter {name!r} (its parameters: {known})")
                continue
            problem = _value_problem(cid, by_name[name], value)
            if problem:
                problems.append(problem)
    if problems:
        raise ControlConfigError("; ".join(problems))
