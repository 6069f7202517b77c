"""Small YAML inputs read safely: governance files, control configuration, a user's control files, overlays.

A regular file within a byte limit, one document, aliases bounded and not recursive, nesting bounded,
duplicate keys refused, timestamps kept as text; every problem an :class:`~aks_compliance.errors.InputError`
naming the file and line. The pointer -> line lookup lets messages name the line of an entry.
"""

from __future__ import annotations

import os
from typing import Any

from .errors import InputError
from .inputfiles import read_input_text
from .memo import Memo
from .k8s.manifests import TextDatesLoader, parse_yaml_stream

# 100,000 waivers are about 20 MB of YAML
MAX_YAML_BYTES = 64 * 1024 * 1024


_PARSED: Memo = Memo(4)  # one parse per process: the plugin validates early, the scan applies


def read_yaml(path: str, what: str, line_depth: int | None = 3) -> tuple[Any, Any]:
    """(data, pointer -> line lookup) of a small YAML input (governance, control configuration): a regular
    file within a byte limit, one document, aliases bounded and not recursive, nesting bounded, duplicate
    keys refused, timestamps kept as text; every problem an :class:`InputError` naming the file and line.
    The result is shared by later reads of the unchanged file: callers must not change it."""
    if not os.path.lexists(path):
        raise InputError("file does not exist", file=path)
    try:
        st = os.stat(path)
        key: tuple | None = (os.path.abspath(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, line_depth)
    except (OSError, ValueError):
        key = None
    if key is not None and key in _PARSED:
        return _PARSED[key]
    result = _read_yaml(path, what, line_depth)
    if key is not None:
        _PARSED.put(key, result)
    return result


def _read_yaml(path: str, what: str, line_depth: int | None) -> tuple[Any, Any]:
    text = read_input_text(path, MAX_YAML_BYTES, what)
    # lines of the entries (/0/waivers/N) are what messages name; deeper values only need the checks
    docs, lines = parse_yaml_stream(text, path, loader=TextDatesLoader, duplicate="duplicate key {key!r}",
                                    line_depth=line_depth)
    if len(docs) > 1:
        raise InputError(f"holds {len(docs)} YAML documents; expected one", file=path, line=docs[1][2])
    return (docs[0][1] if docs else None), lines
