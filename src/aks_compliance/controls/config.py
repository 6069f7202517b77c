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


class ControlParams(dict):
    """``{control id: {parameter: value}}`` that remembers where each entry came from, so that a bad value is
    named where the person wrote it: ``thresholds.yaml:5: `` or ``--control-param ``. Keys of ``origins``
    are ``(control id, parameter)``, and ``(control id, None)`` for the control's own entry."""

    def __init__(self, *args: Any, origins: Mapping[tuple[str, str | None], str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.origins: dict[tuple[str, str | None], str] = dict(origins or {})


def load_control_config(path: str | Path) -> ControlParams:
    p = Path(path)
    from ..errors import InputError
    from ..yaml_input import read_yaml
    try:  # bounded like the governance files: a regular file, bounded aliases and nesting
        data, lines = read_yaml(str(p), "the control configuration", line_depth=None)
    except InputError as exc:
        raise ControlConfigError(f"{exc}") from None
    if data is None:
        return ControlParams()
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ControlConfigError(f"{p}: expected a mapping of control id to {{parameter: value}}")
    from ..jsonc import pointer
    params = {str(k): {str(n): v for n, v in values.items()} for k, values in data.items()}
    origins = {(cid, name): f"{p}:{lines.nearest_line('/0' + pointer(*([cid] if name is None else [cid, name])))[0]}: "
               for cid, values in params.items() for name in [None, *values]}
    return ControlParams(params, origins=origins)


def merge_control_params(*layers: Mapping[str, Mapping[str, Any]]) -> ControlParams:
    """Later layers override earlier ones, parameter by parameter (and so does where each came from)."""
    out = ControlParams()
    for layer in layers:
        for cid, params in layer.items():
            out.setdefault(cid, {}).update(params)
        out.origins.update(getattr(layer, "origins", {}))
    return out


def _value_problem(cid: str, param: Any, value: Any, where: str = "") -> str | None:
    import jsonschema

    try:
        # formats (a regular expression, a date) are constraints too: a value must be usable, not only typed
        jsonschema.validate(value, param.json_schema(), format_checker=jsonschema.FormatChecker())
    except jsonschema.ValidationError as exc:
        at = "/".join(str(p) for p in exc.absolute_path)
        return f"{where}{cid}.{param.name}={_show(value)}: {exc.message}" + (f" (at {at})" if at else "")
    return None


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def validate_control_params(params: Mapping[str, Mapping[str, Any]], catalog: Catalog) -> None:
    """Every entry names a control and a parameter it has, with a value its schema accepts; else a usage error
    naming each bad entry where it was written (file and line, or --control-param)."""
    origins = getattr(params, "origins", {})
    problems = []
    for cid, values in params.items():
        if cid == "*":  # a parameter of every control that has it
            named = {p.name: (c.id, p) for c in catalog for p in c.parameters}
            for name, value in values.items():
                where = origins.get((cid, name), "")
                if name not in named:
                    problems.append(f"{where}no control has a parameter {name!r}")
                else:
                    problem = _value_problem("*", named[name][1], value, where)
                    if problem:
                        problems.append(problem)
            continue
        control = catalog.get(cid)
        if control is None:
            problems.append(f"{origins.get((cid, None), '')}unknown control id {cid}")
            continue
        by_name = {p.name: p for p in control.parameters}
        for name, value in values.items():
            where = origins.get((cid, name), "")
            if name not in by_name:
                known = ", ".join(sorted(by_name)) or "none"
                problems.append(f"{where}{cid} has no parameter {name!r} (its parameters: {known})")
                continue
            problem = _value_problem(cid, by_name[name], value, where)
            if problem:
                problems.append(problem)
    if problems:
        raise ControlConfigError("; ".join(problems))
