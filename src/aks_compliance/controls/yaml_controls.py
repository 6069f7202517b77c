"""Controls declared in YAML, for the common cases: an Azure Policy condition on ARM resources, an
existence check on a related resource, or an object rule on Kubernetes objects (``object_rule:``, the language
of ``k8s/rule_lang.py``; the control is decided by it in Python and generated as a Gatekeeper template).

::

    controls:
      - id: CONTOSO-001
        title: Every cluster carries a costCenter tag
        severity: medium                 # critical | high | medium | low | info
        section: Governance               # report grouping: a CIS section ("CIS 5.4") or a practice
        rationale: Cost reports are built from the tag.
        remediation: Add tags.costCenter to the cluster resource.
        resource_type: Microsoft.ContainerService/managedClusters
        mappings: {nist: [CM-8]}
        parameters:
          - {name: tagName, type: String, default: costCenter, description: The tag every cluster carries}
        rule:                             # the compliant state, in the Azure Policy condition language
          field: "[concat('tags[', parameters('tagName'), ']')]"
          exists: true

An in-cluster control in YAML::

    controls:
      - id: CONTOSO-102
        title: Serving containers define a readiness probe
        severity: low
        rationale: ...
        remediation: ...
        exclusions: workload-admission    # or cluster-access: which namespaces are left out by default
        object_rule:
          kinds: workloads
          checks:
            - scope: containers
              groups: [containers]
              require: {field: readinessProbe, exists: true}

The document is validated against ``schemas/control-v1.schema.json``; every problem names the file, the
line and the control. Each declaration is then checked as every user's control is (``validation.py``: its
rule evaluated once, its expressions and the parameters they read, an object rule compiled to Rego), so an
unknown operator or parameter is a load error, not a verdict.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from .model import CatalogError, Control, Mappings, Parameter, Related, Severity
from .validation import declaration_problems

@lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    return json.loads((Path(__file__).parent.parent / "schemas" / "control-v1.schema.json").read_text(encoding="utf-8"))


def _read(path: Path) -> tuple[Any, Any]:
    """(data, pointer -> line lookup): bounded like every small YAML input (yaml_input.py)."""
    from ..errors import InputError
    from ..yaml_input import read_yaml
    try:
        return read_yaml(str(path), "a control file", line_depth=None)
    except InputError as exc:
        raise CatalogError(f"{path}{':' + str(exc.line) if exc.line else ''}: {exc.message}"
                           f"{_quote_hint(path, exc)}") from None


_WILDCARD_FIELD = re.compile(r"\bfield:\s*([^,{}\s\"']*\[\*\][^,{}\s\"']*)")


def _quote_hint(path: Path, exc: Any) -> str:
    """An alias with [*] inside { } or [ ] reads as a YAML alias (*name): say how to write it."""
    if "alias" not in exc.message or not exc.line:
        return ""
    try:
        line = path.read_text(encoding="utf-8", errors="replace").splitlines()[exc.line - 1]
    except (OSError, IndexError):
        return ""
    found = _WILDCARD_FIELD.search(line)
    return (f"; quote a value holding [*] inside {{ }} or [ ]: field: \"{found.group(1)}\""
            if found else "; quote a value holding [*] inside { } or [ ]")


# Schema messages that say what is missing in jsonschema's words, said as what to write
_REWORDED = {
    ("dependentRequired", "'exclusions' is a dependency of 'object_rule'"):
        "an object_rule control needs 'exclusions': workload-admission (Azure Policy's excluded namespaces) or "
        "cluster-access (none), the namespaces it leaves out by default",
    ("dependentRequired", "'object_rule' is a dependency of 'exclusions'"):
        "'exclusions' belongs to an object_rule control (the namespaces it leaves out); this control has none",
}


def _line(lines: Any, path: list[Any]) -> int | None:
    """The line of the value at ``path`` (keys and indexes), or of its nearest parent."""
    if lines is None:
        return None
    from ..jsonc import pointer
    return lines.nearest_line("/0" + pointer(*path))[0]


def read_yaml_controls(path: Path) -> list[Control]:
    data, node = _read(path)
    if data is None:
        raise CatalogError(f"{path}:1: the file is empty: a control file holds 'controls:', a list of declarations")
    import jsonschema

    validator = jsonschema.Draft202012Validator(_schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        problems = []
        for e in errors[:10]:
            where = list(e.absolute_path)
            cid = _control_id(data, where)
            loc = "/".join(str(p) for p in where) or "(top level)"
            problems.append(f"{path}:{_line(node, where)}: {cid + ': ' if cid else ''}"
                            f"{_REWORDED.get((e.validator, e.message)) or f'{loc}: {e.message}'}")
        raise CatalogError("; ".join(problems))
    out = []
    for i, entry in enumerate(data["controls"]):
        try:
            control = _control(entry)
        except (ValueError, TypeError) as exc:
            raise CatalogError(f"{path}:{_line(node, ['controls', i])}: {entry.get('id', '?')}: {exc}") from None
        problems = declaration_problems(control)
        if problems:  # each at the line of the key it is about (the rule, the parameters, ...)
            raise CatalogError("; ".join(f"{path}:{_line(node, ['controls', i, key])}: {control.id}: {message}"
                                         for key, message in problems))
        out.append(control)
    return out


def _control_id(data: Any, where: list[Any]) -> str:
    if len(where) >= 2 and where[0] == "controls" and isinstance(where[1], int):
        try:
            return str(data["controls"][where[1]].get("id", ""))
        except (AttributeError, IndexError, KeyError, TypeError):
            return ""
    return ""


def _tuple(v: Any) -> tuple[Any, ...]:
    if v is None:
        return ()
    return tuple(v) if isinstance(v, list) else (v,)


def _control(e: dict[str, Any]) -> Control:
    mappings = Mappings(**{k: _tuple(v) for k, v in (e.get("mappings") or {}).items()})
    params = tuple(Parameter(name=p["name"], default=p.get("default"), description=p.get("description", ""),
                             type=p.get("type", "String"), allowed=_tuple(p["allowed"]) if "allowed" in p else None)
                   for p in e.get("parameters") or ())
    related = None
    if "related" in e:
        r = e["related"]
        related = Related(type=r["type"], existence_condition=r["existence_condition"], missing=r["missing"])
    if "object_rule" in e:
        return _object_rule_control(e, mappings, params)
    types = e.get("resource_type", "Microsoft.ContainerService/managedClusters")
    control = Control(
        id=e["id"], title=e["title"], severity=Severity(e["severity"]), section=e.get("section", "Custom"),
        rationale=e["rationale"], remediation=e["remediation"], mappings=mappings,
        resource_type=tuple(types) if isinstance(types, list) else types,
        references=_tuple(e.get("references")), parameters=params, rule=e.get("rule"), related=related,
        applicability=e.get("applicability"), applicability_text=e.get("applicability_text", ""),
        policy_gap=e.get("policy_gap"), policy_effects=_tuple(e["policy_effects"]) if "policy_effects" in e else None,
        tags=_tuple(e.get("tags")))
    return control


def _object_rule_control(e: dict[str, Any], mappings: Mappings, params: tuple[Parameter, ...]) -> Control:
    # the in-cluster declaration helper, as Python controls use it (imported here: the Kubernetes family
    # imports the control model, whose package loads this module)
    from ..k8s.checks import k8s_control
    from ..k8s.rules import KubeRule

    rule = KubeRule(e["object_rule"], where=f"{e['id']}.object_rule")
    return k8s_control(
        id=e["id"], title=e["title"], severity=Severity(e["severity"]), section=e.get("section", "Custom"),
        rationale=e["rationale"], remediation=e["remediation"], mappings=mappings, exclusions=e["exclusions"],
        rule=rule, parameters=params, references=_tuple(e.get("references")), tags=_tuple(e.get("tags")))
