"""Command-line values of the form ``NAME=VALUE`` (``--arm-param``, ``--control-param``), read once, here."""

from __future__ import annotations

import json
from typing import Any, Callable, Iterable


class OptionValueError(ValueError):
    """A malformed option value; the message names the option and the value (a usage error)."""


MAX_OPTION_DEPTH = 64  # nesting of a JSON value given on the command line


def parse_value(text: str, what: str = "the option") -> Any:
    """VALUE is JSON when it parses as JSON, else the string itself. JSON nested deeper than
    :data:`MAX_OPTION_DEPTH` is refused before it is parsed (the parser recurses)."""
    if _nesting(text) > MAX_OPTION_DEPTH:
        raise OptionValueError(f"{what} value is nested more than {MAX_OPTION_DEPTH} levels deep")
    try:
        return json.loads(text, parse_constant=_not_json, parse_float=_finite)
    except ValueError:  # not JSON (NaN, Infinity and 1e999 included: JSON has no such numbers), so a string
        return text
    except RecursionError:  # pragma: no cover - the depth check comes first
        raise OptionValueError(f"{what} value is nested too deeply") from None


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON value")


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"{text} is outside the range of a JSON number")
    return value


def _nesting(text: str) -> int:
    """The deepest ``[``/``{`` nesting of a JSON text, outside strings."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def name_value_pairs(values: list[str], what: str) -> list[tuple[str, str]]:
    """``NAME=VALUE`` options as (name, raw value) pairs."""
    out = []
    for v in values:
        if "=" not in v:  # the argument may be the value alone, a secret (`--arm-param $TOKEN`): never quoted
            raise OptionValueError(f"{what} expects NAME=VALUE, got an argument of {len(v)} characters without '='")
        k, val = v.split("=", 1)
        out.append((k.strip(), val))
    return out


def any_case(choices: Iterable[str]) -> Callable[[str], str]:
    """An argparse ``type`` that takes a choice in any case (``--fail-on HIGH``, ``--azure-cloud azurecloud``)
    and gives its canonical spelling; anything else passes through for argparse's own "invalid choice"."""
    canonical = {c.lower(): c for c in choices}

    def convert(value: str) -> str:
        return canonical.get(value.strip().lower(), value)
    convert.__name__ = "choice"
    return convert
