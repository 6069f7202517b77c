"""Which files a directory input holds: the walk every file-based family shares.

A repository root is a normal input (``--arm .``, ``--k8s .``): it holds dependency trees, virtual
environments, version control and this tool's own earlier outputs besides the inputs. The walk leaves out
hidden directories, the default exclusions (``.git``, ``node_modules``, ``.venv``, ``reports``) and what
``--exclude GLOB`` names, and says so: each directory or file left out is a *skipped* entry of the coverage
ledger with the reason, never dropped in silence. Files a family does not read at all (a README) are not
listed; files that look like inputs of another kind (``.bicep`` beside ARM templates) are, with what to do.

``own_output`` recognises the documents this tool writes (results, SARIF, snapshots): they are never
read back as inputs. Leaf module: it imports only the ledger's entry type.
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from .diagnostics import SKIPPED, CoverageEntry
from .kubebench.reader import is_kube_bench_document

DEFAULT_EXCLUDED_DIRS = (".git", "node_modules", ".venv", "reports")
DEFAULT_EXCLUDED_TEXT = "excluded by default (.git, node_modules, .venv, reports; --exclude adds more)"


@dataclass
class Walk:
    """The files of one family's paths: given files as they are, directories walked."""

    files: list[Path] = field(default_factory=list)
    explicit: set[Path] = field(default_factory=set)  # files named on the command line (not found by a walk)
    origin: dict[Path, str] = field(default_factory=dict)  # a walked file -> the directory given
    skipped: list[CoverageEntry] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # paths that do not exist
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (directory, why) that could not be listed
    # each directory given -> (files listed as skipped, whether it holds anything at all)
    roots: dict[str, tuple[int, bool]] = field(default_factory=dict)


_GLOB = re.compile(r"[*?\[]")


def _as_pattern(text: str) -> str:
    p = text.replace("\\", "/").strip().rstrip("/")
    while p.startswith("./"):
        p = p[2:]
    return p


def excluded_by(rel: str, name: str, patterns: Iterable[str], path: Path | None = None) -> str | None:
    """The ``--exclude`` pattern matching a path relative to the walked directory ('/'-separated), its name, or
    (``path``, as walked) the path as the user sees it: from the working directory (``--arm infra --exclude
    infra/legacy``) or absolute. Each is what a user may write; a pattern that matched none would keep the tree
    in the scan without a word."""
    shown: tuple[str, ...] | None = None
    absolute = ""
    for pattern in patterns:
        p = _as_pattern(pattern)
        if not p:
            continue
        if fnmatch.fnmatchcase(rel, p) or fnmatch.fnmatchcase(name, p):
            return pattern
        if path is None:
            continue
        if shown is None:  # made once, and only when a pattern is given (most walks have none)
            absolute = Path(os.path.abspath(path)).as_posix()
            try:
                from_cwd = Path(os.path.relpath(path)).as_posix()
            except ValueError:  # another drive (Windows)
                from_cwd = absolute
            shown = (_as_pattern(path.as_posix()), from_cwd)
        if os.path.isabs(p):
            if fnmatch.fnmatchcase(absolute, p if _GLOB.search(p) else Path(os.path.abspath(p)).as_posix()):
                return pattern
        elif any(fnmatch.fnmatchcase(s, p) for s in shown):
            return pattern
    return None


def walk(paths: Iterable[str], family: str, wanted: Callable[[Path], bool], exclude: Iterable[str] = (),
         noted: Callable[[Path], str | None] = lambda p: None,
         other_dir: Callable[[Path], str | None] = lambda p: None,
         reserved: Mapping[str, str] | None = None) -> Walk:
    """Files under ``paths`` for which ``wanted`` holds (sorted, each once); ``noted`` gives the reason a file
    that is not wanted is still listed as skipped (an input of another kind), or None to pass over it;
    ``other_dir`` the reason a directory below a given one is not searched (a Helm chart), or None; ``reserved``
    directories (by :func:`folder_key`) below a given one are left out with their reason (:func:`control_fixtures`)."""
    out = Walk()
    patterns = list(exclude)
    seen: set[str] = set()

    def take(p: Path, root: str | None) -> None:
        key = os.path.normcase(os.path.abspath(p))
        if key in seen:
            return
        seen.add(key)
        out.files.append(p)
        if root is None:
            out.explicit.add(p)
        else:
            out.origin[p] = root

    def skip(p: Path, kind: str, reason: str) -> None:
        out.skipped.append(CoverageEntry(family=family, type=kind, name=str(p), status=SKIPPED, reason=reason,
                                         file=str(p), relevant=False))

    for raw in paths:
        top = Path(raw)
        if not top.is_dir():
            # a dangling link is taken too: reading it gives an error naming it, rather than losing it silently
            if top.exists() or top.is_symlink():
                take(top, None)
            else:
                out.missing.append(raw)
            continue
        listed = 0
        anything = False

        def failed(exc: OSError, _top: Path = top) -> None:  # never skipped in silence
            out.unreadable.append((str(exc.filename or _top), f"directory cannot be read: {exc.strerror or exc}"))

        for root, dirs, files in os.walk(top, onerror=failed, followlinks=False):
            base = Path(root)
            keep = []
            for d in sorted(dirs):
                anything = True
                rel = (base / d).relative_to(top).as_posix()
                pattern = excluded_by(rel, d, patterns, base / d)
                if pattern is not None:
                    skip(base / d, "directory", f"excluded by --exclude {pattern}")
                elif reserved and (why := reserved.get(folder_key(base / d))) is not None:
                    skip(base / d, "directory", why)
                elif d in DEFAULT_EXCLUDED_DIRS:
                    skip(base / d, "directory", DEFAULT_EXCLUDED_TEXT)
                elif d.startswith("."):
                    skip(base / d, "directory", "a hidden directory: not searched (name it to scan it)")
                elif (why := generated_policies(base / d)) is not None:
                    skip(base / d, "directory", why)
                    listed += 1
                elif (why := other_dir(base / d)) is not None:
                    skip(base / d, "directory", why)
                    listed += 1
                else:
                    keep.append(d)
            dirs[:] = keep
            for f in sorted(files):
                anything = True
                fp = base / f
                rel = fp.relative_to(top).as_posix()
                pattern = excluded_by(rel, f, patterns, fp)
                if pattern is not None:
                    if wanted(fp) or noted(fp):
                        skip(fp, "file", f"excluded by --exclude {pattern}")
                        listed += 1
                elif wanted(fp):
                    take(fp, raw)
                else:
                    reason = noted(fp)
                    if reason:
                        skip(fp, "file", reason)
                        listed += 1
        out.roots[raw] = (listed, anything)
    return out


GENERATED_POLICIES_MARK = "initiative.json"  # policy/generate.py INITIATIVE_FILE: the root of its output
_MAX_MARK_BYTES = 8 * 1024 * 1024


def generated_policies(directory: Path) -> str | None:
    """Why ``directory`` is not searched when it is the output of ``aks-compliance policies generate`` (its
    initiative says it comes from aks-compliance), else None: the Gatekeeper samples there are pods made to
    fail, and the definitions are Azure Policy, not infrastructure; ``--k8s .`` reported every failing sample
    as a finding. Named as an input, such a folder is read."""
    mark = directory / GENERATED_POLICIES_MARK
    try:
        if not mark.is_file() or mark.stat().st_size > _MAX_MARK_BYTES:
            return None
        import json

        with open(mark, "rb") as fh:
            data = json.loads(fh.read())
        source = data["properties"]["metadata"]["source"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if source != "aks-compliance":
        return None
    return ("the output of 'aks-compliance policies generate' (Azure Policy definitions and Gatekeeper templates "
            "with their test samples), not infrastructure: this tool's outputs are never read back; name the "
            "folder to scan it")


def folder_key(path: Path | str) -> str:
    """A directory as :func:`walk` compares it with ``reserved`` ones, however it was spelled."""
    return os.path.normcase(os.path.abspath(path))


def control_fixtures(controls_paths: Iterable[str]) -> dict[str, str]:
    """The ``fixtures`` folder of each control repository given with ``--controls-path`` (a directory holding
    ``controls/`` and ``fixtures/``), with why a directory walk leaves it out: its files are made to pass and to
    fail, test cases of the user's controls, not infrastructure (``--arm .`` found them in the repository root and
    reported every failing fixture as a finding). Named as an input, such a folder is read."""
    out = {}
    for given in controls_paths:
        p = Path(given)
        if (p / "controls").is_dir() and (p / "fixtures").is_dir():
            out[folder_key(p / "fixtures")] = (f"the fixtures of the control repository {given} (--controls-path): "
                                               "test cases of your controls, not infrastructure; name the folder "
                                               "to scan it")
    return out


def no_input_message(listed: int, anything: bool, what: str) -> str:
    """What to say of a directory given as input that gave none."""
    if not anything:
        return "the directory is empty: nothing to scan"
    return (f"no {what} found ({listed} file(s) skipped: listed in the coverage ledger with the reason)"
            if listed else f"no {what} found (its files are of no kind this input reads)")


def own_output(data: Any) -> str | None:
    """Which of this tool's outputs (or a scanner's output it reads elsewhere: a SARIF log, kube-bench's JSON) a
    parsed document is; None for anything else."""
    if is_kube_bench_document(data):
        return "kube-bench"
    if not isinstance(data, dict):
        return None
    schema = data.get("schema")
    if isinstance(schema, str) and schema.startswith("aks-compliance/"):
        return schema
    dollar = data.get("$schema")
    if (isinstance(dollar, str) and "sarif" in dollar.lower()) or (
            data.get("version") == "2.1.0" and isinstance(data.get("runs"), list)):
        return "sarif"
    return None


def own_output_reason(kind: str) -> str:
    """Why a document of ``own_output`` kind is not read, and what to do with it instead."""
    if kind == "sarif":
        return "a SARIF log (a scanner's output), not an input"
    if kind == "kube-bench":
        return "kube-bench's JSON output: give it to --kube-bench [NODE=]FILE"
    if "k8s-snapshot" in kind:
        return f"a Kubernetes snapshot ({kind}): give the file itself to --k8s to re-check it"
    if "azure-snapshot" in kind:
        return f"an Azure snapshot ({kind}): give the file itself to --arm to re-check it"
    return f"an aks-compliance output ({kind}), not an input: outputs are never read back"
