"""Running a control's Python code (``check``, ``not_applicable``) so that a bug in it is an error result.

A check is written by whoever declared the control: the built-in catalog, or a user's ``--controls-path``
module. When it raises, or returns something that is not a verdict, that is one error result naming the
control, the function and the line of the declaring file where it broke; the other controls and targets
are still judged (never a traceback that ends the scan, never a pass).
"""

from __future__ import annotations

import os
import sysconfig
from pathlib import Path
from typing import Any, Callable

from .policy.conditions import MalformedValue, PolicyDefinitionError, Truth, Verdict

_PACKAGE = str(Path(__file__).resolve().parent) + os.sep
# Raised on purpose by the evaluator and its helpers, and reported by the engine with their own evidence.
_OURS = (MalformedValue, PolicyDefinitionError)


def _library_dirs() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    return tuple(str(Path(paths[k]).resolve()) + os.sep for k in ("stdlib", "platstdlib") if k in paths)


_LIBRARY = (_PACKAGE, *_library_dirs())


def where_raised(exc: BaseException) -> str:
    """``file:line`` of the deepest frame of the traceback in neither this package nor Python's standard library
    (the code of whoever declared the control), or "" when there is none (a built-in control's own bug)."""
    tb = exc.__traceback__
    found = None
    while tb is not None:
        file = tb.tb_frame.f_code.co_filename
        if not str(Path(file).resolve()).startswith(_LIBRARY) and not file.startswith("<"):
            found = (file, tb.tb_lineno)
        tb = tb.tb_next
    if found is None:
        return ""
    file, line = found
    try:
        rel = os.path.relpath(file)
        file = rel if not rel.startswith("..") else file
    except ValueError:  # another drive (Windows)
        pass
    return f"{file}:{line}"


def function_name(fn: Any) -> str:
    return getattr(fn, "__name__", None) or type(fn).__name__


def call_check(control_id: str, fn: Callable[..., Any], target: Any, params: Any) -> Verdict:
    """``fn(target, params)`` as a verdict: an exception or a value of another type is an error verdict."""
    try:
        verdict = fn(target, params)
    except _OURS:
        raise
    except Exception as exc:  # the control's own code: one error result, not the end of the scan
        at = where_raised(exc)
        return Verdict(Truth.ERROR, [f"{control_id}: its check {function_name(fn)}() raised "
                                     f"{type(exc).__name__}: {exc}{' at ' + at if at else ''} on {_what(target)}"], [])
    if type(verdict) is not Verdict and not isinstance(verdict, Verdict):
        return Verdict(Truth.ERROR, [f"{control_id}: its check {function_name(fn)}() returned "
                                     f"{verdict!r:.80} on {_what(target)}, not a verdict (return "
                                     f"Findings().verdict(), or unknown('why'))"], [])
    return verdict


def _what(target: Any) -> str:
    return f"{target.resource.type} {target.resource.display_name()}"


def call_applicability(control_id: str, fn: Callable[..., Any], target: Any, params: Any) -> str | None | Verdict:
    """``not_applicable(target, params)``: why the control does not apply (a string) or None; an exception or
    another type is an error verdict."""
    try:
        why = fn(target, params)
    except _OURS:
        raise
    except Exception as exc:
        at = where_raised(exc)
        return Verdict(Truth.ERROR, [f"{control_id}: its applicability {function_name(fn)}() raised "
                                     f"{type(exc).__name__}: {exc}{' at ' + at if at else ''}"], [])
    if why is not None and not isinstance(why, str):
        return Verdict(Truth.ERROR, [f"{control_id}: its applicability {function_name(fn)}() returned "
                                     f"{why!r:.80}, not a reason (a string) or None"], [])
    return why
