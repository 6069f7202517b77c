"""Overlays: an organisation's changes to the catalog, versioned in its own repository (as InSpec profiles
overlay another profile's controls).

::

    overlay:
      name: contoso-baseline
      version: "2026.2"
    controls:
      AKS-015:
        enabled: false
        reason: The dashboard add-on cannot be enabled in our subscriptions (Azure Policy deny).
      AKS-038:
        severity: critical
        parameters: {minimumKubernetesVersion: "1.32.0"}

A disabled control is not run and is listed, with the reason, in every report's scope section; a
changed severity or parameter default applies to the verdicts, the exit gate and the generated policies.
Each overlay (name, version, file, digest and every change) is recorded in the results document.
Overlays apply in the order given; unknown control ids or parameters are usage errors.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from .model import Catalog, CatalogError, Severity

@lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    return json.loads((Path(__file__).parent.parent / "schemas" / "overlay-v1.schema.json").read_text(encoding="utf-8"))


def read_overlay(path: str | Path) -> tuple[dict[str, Any], str, Any]:
    """The overlay document (validated), its sha256 and its pointer -> line lookup."""
    from .yaml_controls import _line, _read

    from ..inputfiles import read_input
    from ..yaml_input import MAX_YAML_BYTES

    p = Path(path)
    data, node = _read(p)
    raw = read_input(p, MAX_YAML_BYTES, "the overlay")
    import jsonschema

    errors = sorted(jsonschema.Draft202012Validator(_schema()).iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        raise CatalogError("; ".join(
            f"{p}:{_line(node, list(e.absolute_path))}: {'/'.join(map(str, e.absolute_path)) or '(top level)'}: "
            f"{e.message}" for e in errors[:10]))
    return data, hashlib.sha256(raw).hexdigest(), node


def apply_overlays(catalog: Catalog, paths: list[str]) -> Catalog:
    from .config import ControlConfigError, ControlParams, validate_control_params
    from .yaml_controls import _line

    controls = {c.id: c for c in catalog}
    disabled = dict(catalog.disabled)
    records = list(catalog.overlays)
    for path in paths:
        data, digest, lines = read_overlay(path)
        meta = data.get("overlay") or {}
        changes = []
        for cid, change in (data.get("controls") or {}).items():
            control = controls.get(cid)
            if control is None:
                raise CatalogError(f"{path}:{_line(lines, ['controls', cid])}: overlay changes unknown control {cid}"
                                   + (" (already disabled by an earlier overlay)" if cid in disabled else ""))
            if change.get("enabled") is False:
                disabled[cid] = f"disabled by overlay {meta.get('name', path)}: {change['reason']}"
                del controls[cid]
                changes.append({"control_id": cid, "enabled": False, "reason": change["reason"]})
                continue
            updates: dict[str, Any] = {}
            record: dict[str, Any] = {"control_id": cid}
            if "severity" in change:
                updates["severity"] = Severity(change["severity"])
                record["severity"] = {"from": control.severity.value, "to": change["severity"]}
            if change.get("parameters"):
                # each entry named where it was written: overlay.yaml:12:
                origins = {(cid, name): f"{path}:{_line(lines, ['controls', cid, 'parameters', name])}: "
                           for name in change["parameters"]}
                try:
                    validate_control_params(ControlParams({cid: change["parameters"]}, origins=origins),
                                            Catalog([control]))
                except ControlConfigError as exc:
                    raise CatalogError(str(exc)) from None
                values = change["parameters"]
                updates["parameters"] = tuple(dataclasses.replace(p, default=values[p.name]) if p.name in values else p
                                              for p in control.parameters)
                record["parameters"] = values
            if "reason" in change:
                record["reason"] = change["reason"]
            controls[cid] = dataclasses.replace(control, **updates)
            changes.append(record)
        records.append({"name": meta.get("name", Path(path).stem), "version": str(meta.get("version", "")),
                        "file": str(path), "sha256": digest, "changes": changes})
    return Catalog(controls.values(), overlays=records, sources=catalog.sources, disabled=disabled)
