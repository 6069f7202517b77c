"""Command-line values of the form ``NAME=VALUE`` (``--arm-param``, ``--control-param``), read once, here."""

from __future__ import annotations

import json
from typing import Any, Callable, Iterable


class OptionValueError(ValueError):
    """A malformed option value; the message names the option and the value (a usage error)."""


def parse_value(text: str) -> Any:
    """VALUE is JSON when it parses as JSON, else the string itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text
    except RecursionError:
        raise OptionValueError(f"value nested too deeply: {text[:40]}...") from None


def name_value_pairs(values: list[str], what: str) -> list[tuple[str, str]]:
    """``NAME=VALUE`` options as (name, raw value) pairs."""
    out = []
    for v in values:
        if "=" not in v:
            raise OptionValueError(f"{what} expects NAME=VALUE, got {v!r}")
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
