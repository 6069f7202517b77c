"""A user's own controls: Python modules and YAML files from ``--controls-path``, and installed packages.

* ``--controls-path PATH`` (repeatable): a ``.py`` or ``.yaml``/``.yml`` file, or a directory. A directory
  holding a ``controls/`` folder is a control repository (controls in ``controls/``, fixtures beside them);
  otherwise the directory itself holds the control files. A Python file declares ``CONTROLS`` (a list of
  :class:`~aks_compliance.controls.Control`, built with the same API as the built-ins); files whose name
  starts with ``_``, ``test_`` or ``conftest`` are not control files (a ``_*.py`` helper is imported relatively:
  each folder is a package of its own). A YAML file holds ``controls:``, a
  list of declarations (``yaml_controls.py``).
* Packages: an entry point in the group ``aks_compliance.controls`` names a module with ``CONTROLS``, or a
  list of controls, or a function returning one.

Every control records where it was declared (``Control.origin``), so a collision or a bad id names both
places; problems are :class:`~aks_compliance.controls.CatalogError` (a usage error, exit 4).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib.util
import sys
import types
from pathlib import Path
from typing import Any, Iterable

from ..errors import InputError
from ..inputfiles import open_input
from .model import Catalog, CatalogError, Control
from .validation import declaration_error

ENTRY_POINT_GROUP = "aks_compliance.controls"
YAML_SUFFIXES = (".yaml", ".yml")


def control_files(path: str | Path) -> list[Path]:
    """The control files a ``--controls-path`` names, in a stable order."""
    p = Path(path)
    if not p.is_dir():
        if p.exists() or p.is_symlink():  # a FIFO or a device too: loading it names what it is, never reads it
            return [p]
        raise CatalogError(f"--controls-path {path}: no such file or directory")
    folder = p / "controls" if (p / "controls").is_dir() else p
    # every control file by its name but a directory: one that is not a regular file (a FIFO, a link to a
    # device) is refused by name when it loads, never skipped in silence
    out = [f for f in sorted(folder.iterdir()) if _is_control_file(f) and not f.is_dir()]
    if not out:
        raise CatalogError(f"--controls-path {path}: no control files in {folder} (Python modules declaring "
                           f"CONTROLS, or YAML files with 'controls:')")
    return out


def _is_control_file(f: Path) -> bool:
    if f.name.startswith(("_", ".", "test_", "conftest")):
        return False
    return f.suffix == ".py" or f.suffix in YAML_SUFFIXES


def load_user_controls(paths: Iterable[str], *, entry_points: bool = True) -> tuple[list[Control], list[str]]:
    """(controls, sources): every control the paths and installed packages declare."""
    controls: list[Control] = []
    sources: list[str] = []
    seen: set[Path] = set()
    for path in paths:
        for f in control_files(path):
            if f.resolve() in seen:  # named twice (a repository and one of its files): one file, read once
                continue
            seen.add(f.resolve())
            found = load_yaml_controls(f) if f.suffix in YAML_SUFFIXES else load_python_controls(f)
            controls.extend(found)
            sources.append(str(f))
    if entry_points:
        for name, found in _entry_point_controls():
            controls.extend(found)
            sources.append(name)
    return controls, sources


def _stamped(controls: Any, origin: str, practice: str, source: Path | None = None,
             checked: bool = False) -> list[Control]:
    """The controls with where they were declared; a declaration that cannot work is a CatalogError naming
    ``origin`` and, for a Python file (``source``), the line that declares the control's id."""
    if callable(controls) and not isinstance(controls, (list, tuple)):
        controls = controls()
    if not isinstance(controls, (list, tuple)) or not all(isinstance(c, Control) for c in controls):
        raise CatalogError(f"{origin}: CONTROLS must be a list of aks_compliance.controls.Control")
    if not checked:  # a YAML file's declarations were checked as they were read, each at its own line
        problems = [f"{origin}{_id_line(source, c.id)}: {c.id}: {why}"
                    for c in controls if (why := declaration_error(c)) is not None]
        if problems:
            raise CatalogError("; ".join(problems))
    return [dataclasses.replace(c, origin=origin, practice=c.practice or practice) for c in controls]


def _id_line(source: Path | None, control_id: str) -> str:
    """``:LINE`` of the first line of a Python file that spells the id as a string literal, or ""."""
    if source is None or not isinstance(control_id, str):
        return ""
    try:
        text = source.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    for number, line in enumerate(text.splitlines(), 1):
        if f'"{control_id}"' in line or f"'{control_id}'" in line:
            return f":{number}"
    return ""


def load_python_controls(path: Path) -> list[Control]:
    """Import a control module from a file; its ``CONTROLS``. Import errors name the file and line."""
    resolved = path.resolve()
    name = f"{_package(resolved.parent)}.{path.stem}"
    module = sys.modules.get(name)
    if module is None:
        try:  # importing a FIFO blocks, a link to /dev/zero reads without end: regular files only
            open_input(path).close()
        except InputError as exc:
            raise CatalogError(f"{path}: {exc.message}") from None
        spec = importlib.util.spec_from_file_location(name, resolved)
        if spec is None or spec.loader is None:
            raise CatalogError(f"{path}: cannot be imported as a Python module")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except CatalogError:
            sys.modules.pop(name, None)
            raise
        except (Exception, SystemExit) as exc:  # the user's code (sys.exit() too): say where it broke, not a
            # traceback of ours or an INTERNALERROR
            sys.modules.pop(name, None)
            raise CatalogError(f"{path}{_line_of(exc, resolved)}: cannot load the control module: "
                               f"{type(exc).__name__}: {exc}{_import_hint(exc, resolved.parent)}") from None
    if not hasattr(module, "CONTROLS"):
        raise CatalogError(f"{path}: declares no CONTROLS (a list of aks_compliance.controls.Control)")
    return _stamped(module.CONTROLS, str(path), path.stem.replace("_", " "), source=resolved)


def _package(folder: Path) -> str:
    """The package a folder of control files is imported as, so that a file imports what its neighbours declare
    (``from ._shared import X``: ``_*`` files are not control files, the place for shared helpers). One per folder,
    named by its path's digest: two repositories' ``_shared.py`` stay apart."""
    name = f"aks_compliance_user_{hashlib.sha256(str(folder).encode()).hexdigest()[:12]}"
    if name not in sys.modules:
        package = types.ModuleType(name, f"the control files of {folder}")
        package.__path__ = [str(folder)]
        package.__package__ = name
        sys.modules[name] = package
    return name


def _import_hint(exc: BaseException, folder: Path) -> str:
    """How to import a module that is a file beside the control file (an absolute import does not find it)."""
    missing = getattr(exc, "name", None) if isinstance(exc, ModuleNotFoundError) else None
    if isinstance(missing, str) and "." not in missing and (folder / f"{missing}.py").is_file():
        return f" (a module beside the control files is imported relatively: from .{missing} import ...)"
    return ""


def _line_of(exc: BaseException, file: Path) -> str:
    if isinstance(exc, SyntaxError) and exc.lineno:
        return f":{exc.lineno}"
    tb = exc.__traceback__
    line = None
    while tb is not None:
        if Path(tb.tb_frame.f_code.co_filename) == file:
            line = tb.tb_lineno
        tb = tb.tb_next
    return f":{line}" if line else ""


def load_yaml_controls(path: Path) -> list[Control]:
    from .yaml_controls import read_yaml_controls
    return _stamped(read_yaml_controls(path), str(path), path.stem.replace("_", " ").replace("-", " "), checked=True)


def _entry_point_controls() -> list[tuple[str, list[Control]]]:
    from importlib.metadata import entry_points

    out = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        origin = f"{ep.dist.name if ep.dist else 'entry point'}:{ep.value}"
        try:
            obj = ep.load()
        except (Exception, SystemExit) as exc:
            raise CatalogError(f"entry point {ep.name} ({origin}): cannot load: {type(exc).__name__}: {exc}") from None
        controls = getattr(obj, "CONTROLS", obj)
        out.append((origin, _stamped(controls, origin, ep.name.replace("_", " "))))
    return out


@functools.lru_cache(maxsize=1)
def builtin_controls() -> tuple[Control, ...]:
    """The built-in controls, each knowing its practice area (the catalog module it is declared in)."""
    from .catalog import MODULES
    out = []
    for m in MODULES:
        practice = m.__name__.rsplit(".", 1)[-1].replace("_", " ")
        out.extend(c if c.practice else dataclasses.replace(c, practice=practice) for c in m.CONTROLS)
    return tuple(out)


def load_catalog(paths: Iterable[str] = (), *, entry_points: bool = True, overlays: Iterable[str] = ()) -> Catalog:
    """The built-in controls, plus a user's own (``--controls-path`` directories or files, and installed
    packages declaring the entry point ``aks_compliance.controls``), with overlays applied in order."""
    paths = list(paths)
    overlays = list(overlays)
    if not paths and not overlays and not entry_points:
        return Catalog(builtin_controls())
    custom, sources = load_user_controls(paths, entry_points=entry_points)
    catalog = Catalog([*builtin_controls(), *custom], sources=sources)
    if overlays:
        from .overlays import apply_overlays
        catalog = apply_overlays(catalog, overlays)
    return catalog
