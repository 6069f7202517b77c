"""Custom Azure Policy definitions generated from the controls (``aks-compliance policies generate``).

One definition per control whose decision is an Azure Policy condition (``rule``) or a
cross-resource existence check (``related``), an initiative (policy set) grouping them by CIS AKS
section and practice, an ARM template that deploys both, and a README listing what was generated
and what was not, and why. Everything is rendered with jinja2 (StrictUndefined, ``|tojson`` for every
interpolated value) and written as JSON with 2-space indentation and a trailing newline, so that
regenerating from the same catalog is byte-identical (a test diffs it against ``policies/``).

Shape of a definition (the PSRule / DESIGN convention): the control's rule states the *compliant*
state, so ``if`` is ``allOf[type guard, applicability (if any), not(rule)]`` with an ``effect``
parameter (Audit/Deny/Disabled); a ``related`` control gives ``if`` = type guard (+ applicability)
and ``then.details`` = ``{type, existenceCondition}`` with AuditIfNotExists/Disabled. The rule is
carried over unchanged except for spelling: canonical camelCase keys, and booleans as the strings
"true"/"false" where an operator compares them as strings anyway (the schema wants string|number
there, and the service treats them the same, ``policy-language.md`` §4/§11). The differential test
(tests/test_policy_generation.py) proves on every fixture that the emitted rule gives the control's
verdict. Negated operators are *not* paired with ``exists`` branches: ``notEquals``/``notIn`` on a
missing property are already true in both the service and our evaluator, and adding branches would
change nothing but the size of the rule.

Names: ``uuid5(NAMESPACE, control id)`` (the initiative: ``uuid5(NAMESPACE, "initiative")``), so a
definition keeps its resource name across regenerations and title changes; files are named by
control id (``policies/definitions/AKS-001.json``) and ``displayName`` is ``[AKS-001] <title>``.
"""

from __future__ import annotations

import functools
import json
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from ..atomic import write_text

if TYPE_CHECKING:
    import jinja2
from ..controls import CATALOG_VERSION, Catalog, Control, Decision, load_catalog
from . import kubernetes
from .conditions import _CANON as OPERATORS  # lower-case operator -> canonical camelCase
from .definitions import supports_indexed

# Fixed namespace for the definitions' names. Never change it: deployed definitions are found by name.
NAMESPACE = uuid.UUID("5d3c7f0e-8a51-4c1b-9f5e-2a6b7c8d9e01")
INITIATIVE_KEY = "initiative"
CIS_VERSION = "v1.8.0"
CIS_CATEGORY = f"CIS Azure Kubernetes Service (AKS) Benchmark {CIS_VERSION}"
PRACTICE_CATEGORY = "aks-compliance practices"
SCOPE_PLACEHOLDER = "{definitionScope}"  # replaced at deployment by /subscriptions/<id> or the MG id
DEFINITIONS_DIR = "definitions"
INITIATIVE_FILE = "initiative.json"
TEMPLATE_FILE = "deploy/azuredeploy.json"
README_FILE = "README.md"
KUBERNETES_DIR = kubernetes.KUBERNETES_DIR
# The built-in controls' fixtures (a source checkout): the Kubernetes policies' samples come from them.
PROJECT_FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "k8s"

DEFAULT_EFFECTS = ("Audit", "Deny", "Disabled")
RELATED_EFFECTS = ("AuditIfNotExists", "Disabled")
_KNOWN_EFFECTS = {e.lower(): e for e in ("Audit", "Deny", "Disabled", "AuditIfNotExists", "DeployIfNotExists",
                                         "Append", "Modify", "Manual", "DenyAction")}

# Service limits (resource names 64, displayName 128, description 512; policy-language.md §2).
MAX_DISPLAY_NAME = 128
MAX_DESCRIPTION = 512
MAX_IF_CONDITIONS = 4096
MAX_EXISTENCE_CONDITIONS = 128

# Operators whose operand is compared as a string, so true and "true" mean the same (§4).
_STRINGY_OPERATORS = {"equals", "notequals", "in", "notin", "exists", "contains", "notcontains",
                      "containskey", "notcontainskey"}
_LOGICAL = {"allof": "allOf", "anyof": "anyOf", "not": "not"}
_SIDES = {"field": "field", "value": "value", "count": "count", "where": "where", "name": "name"}
_CATEGORIES = {
    "microsoft.containerservice": "Kubernetes",
    "microsoft.containerregistry": "Container Registry",
    "microsoft.network": "Network",
    "microsoft.insights": "Monitoring",
    "microsoft.keyvault": "Key Vault",
    "microsoft.security": "Security Center",
    "microsoft.maintenance": "Kubernetes",
    "microsoft.operationalinsights": "Monitoring",
    "microsoft.storage": "Storage",
    "microsoft.compute": "Compute",
}


class GenerationError(Exception):
    """A control cannot be turned into a valid definition; the message names the control."""


@dataclass(frozen=True)
class Generated:
    control: Control
    name: str
    file: str  # relative to the output directory
    document: dict[str, Any]
    kube: kubernetes.KubePolicy | None = None  # the Gatekeeper folder of an Azure Policy for Kubernetes definition

    @property
    def properties(self) -> dict[str, Any]:
        return self.document["properties"]


@dataclass(frozen=True)
class Skipped:
    control: Control
    reason: str

    @property
    def builtins(self) -> tuple[str, ...]:
        return self.control.mappings.azure_policy

    @property
    def kind(self) -> str:
        c = self.control
        if c.decision is Decision.MANUAL:
            return "manual"
        if not c.azure_side:
            return "in-cluster, decided in Python"
        if c.decision is Decision.PYTHON or c.not_applicable is not None:
            return "decided by Python"
        return "policy gap declared"


@dataclass
class Plan:
    generated: list[Generated] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    initiative: dict[str, Any] = field(default_factory=dict)
    template: dict[str, Any] = field(default_factory=dict)
    readme: str = ""

    def files(self) -> dict[str, str]:
        """Relative path -> exact file content."""
        out = {g.file: dump_json(g.document) for g in self.generated}
        for g in self.generated:
            if g.kube is not None:
                out.update(g.kube.files())
        out[INITIATIVE_FILE] = dump_json(self.initiative)
        out[TEMPLATE_FILE] = dump_json(self.template)
        out[README_FILE] = self.readme
        return out


def definition_name(control_id: str) -> str:
    return str(uuid.uuid5(NAMESPACE, control_id))


def initiative_name(prefixes: tuple[str, ...] = ()) -> str:
    """The built-in catalog's initiative keeps one name; one holding a user's controls is named by their id
    prefixes, so both can be defined at the same scope."""
    key = INITIATIVE_KEY if not prefixes else f"{INITIATIVE_KEY}:{'+'.join(sorted(prefixes))}"
    return str(uuid.uuid5(NAMESPACE, key))


def custom_prefixes(controls: Any) -> tuple[str, ...]:
    return tuple(sorted({c.id.split("-", 1)[0] for c in controls if not c.builtin}))


def dump_json(doc: Any) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


@functools.lru_cache(maxsize=1)
def _env() -> "jinja2.Environment":
    """The policy templates' environment, made on first use: a scan names each control's generated policy
    (``policy_reference``) without rendering one, and need not import jinja2."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("aks_compliance.policy", "templates"),
                             undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["md"] = lambda text: " ".join(str(text).split()).replace("|", "\\|")
    # Keep the declared key order (declarations are code, so it is deterministic and readable).
    env.policies["json.dumps_kwargs"] = {"sort_keys": False, "ensure_ascii": False}
    return env


def _render_json(template: str, **context: Any) -> dict[str, Any]:
    text = _env().get_template(template).render(**context)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:  # a template bug, not a user error: say where
        raise GenerationError(f"template {template} rendered invalid JSON at line {exc.lineno}: {exc.msg}") from None


# --- which controls get a definition -------------------------------------------------------------

def skip_reason(control: Control) -> str | None:
    """Why a control gets no Azure Policy definition from this generator, or None when it gets one (an ARM-mode
    definition, or an Azure Policy for Kubernetes one with its Gatekeeper template)."""
    return control.no_policy_reason()


# --- the rule, in the form the schema and the service want ---------------------------------------

def _canonical_operand(op: str, value: Any) -> Any:
    if op in _STRINGY_OPERATORS:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, list):
            return [("true" if v else "false") if isinstance(v, bool) else v for v in value]
    return value


def to_policy_condition(node: Any, where: str = "rule") -> Any:
    """A condition with canonical key spelling and schema-friendly operands (same semantics)."""
    if isinstance(node, list):
        return [to_policy_condition(n, f"{where}[{i}]") for i, n in enumerate(node)]
    if not isinstance(node, Mapping):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        low = key.lower()
        if low in _LOGICAL:
            out[_LOGICAL[low]] = to_policy_condition(value, f"{where}.{_LOGICAL[low]}")
        elif low == "count":
            out["count"] = to_policy_condition(value, f"{where}.count")
        elif low == "where":
            out["where"] = to_policy_condition(value, f"{where}.where")
        elif low in _SIDES:
            out[_SIDES[low]] = value  # field / value / name: as declared
        elif low in OPERATORS:
            if low in ("like", "notlike") and isinstance(value, str) and value.count("*") > 1:
                raise GenerationError(f"{where}: '{key}' pattern {value!r} has more than one '*', which Azure "
                                      "Policy does not support")
            out[OPERATORS[low]] = _canonical_operand(low, value)
        else:
            raise GenerationError(f"{where}: unknown key '{key}' in a condition")
    return out


def _count_conditions(node: Any) -> int:
    if isinstance(node, list):
        return sum(_count_conditions(n) for n in node)
    if not isinstance(node, Mapping):
        return 0
    low = {k.lower(): v for k, v in node.items()}
    n = 1 if any(k in OPERATORS for k in low) else 0
    for k in ("allof", "anyof", "not", "where", "count"):
        if k in low:
            n += _count_conditions(low[k])
    return n


_PARAM_REF = re.compile(r"parameters\(\s*'([^']+)'\s*\)", re.I)


def _referenced_parameters(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, str):
        found.update(m.group(1) for m in _PARAM_REF.finditer(node))
    elif isinstance(node, Mapping):
        for v in node.values():
            found |= _referenced_parameters(v)
    elif isinstance(node, list):
        for v in node:
            found |= _referenced_parameters(v)
    return found


def _type_guard(types: tuple[str, ...]) -> dict[str, Any]:
    if len(types) == 1:
        return {"field": "type", "equals": types[0]}
    return {"field": "type", "in": list(types)}


def _effects(control: Control) -> tuple[str, ...]:
    if control.policy_engine == "gatekeeper":
        given = tuple(e.lower() for e in control.policy_effects or kubernetes.EFFECTS)
        if not set(given) <= set(kubernetes.EFFECTS) or not given:
            raise GenerationError(f"{control.id}: a Kubernetes definition's effects are audit, deny and disabled, "
                                  f"not {list(control.policy_effects or ())}")
        return given
    effects = control.policy_effects or (RELATED_EFFECTS if control.related is not None else DEFAULT_EFFECTS)
    out = []
    for e in effects:
        canon = _KNOWN_EFFECTS.get(e.lower())
        if canon is None:
            raise GenerationError(f"{control.id}: unknown effect {e!r} in policy_effects")
        out.append(canon)
    kinds = {e.lower() for e in out} - {"disabled"}
    if control.related is not None and not kinds <= {"auditifnotexists"}:
        raise GenerationError(f"{control.id}: a related (cross-resource) control allows only AuditIfNotExists and "
                              f"Disabled, not {sorted(kinds)}")
    if control.related is None and "auditifnotexists" in kinds:
        raise GenerationError(f"{control.id}: AuditIfNotExists needs a related check")
    return tuple(out)


def category(control: Control) -> str:
    ns = control.resource_types[0].split("/", 1)[0].lower()
    return _CATEGORIES.get(ns, control.resource_types[0].split("/", 1)[0])


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    stop = cut.rfind(". ")
    return cut[: stop + 1] if stop > limit // 2 else cut.rstrip() + "…"


def _parameters(control: Control, effects: tuple[str, ...]) -> dict[str, Any]:
    params: dict[str, Any] = {"effect": {
        "type": "String",
        "metadata": {"displayName": "Effect",
                     "description": ("AuditIfNotExists reports a resource without a compliant related resource; "
                                     if control.related is not None else
                                     "Audit reports a non-compliant resource, Deny blocks its creation or update; ")
                     + "Disabled turns the policy off."},
        "allowedValues": list(effects),
        "defaultValue": effects[0],
    }}
    for p in control.parameters:
        if p.name.lower() == "effect":
            raise GenerationError(f"{control.id}: a control parameter may not be named 'effect'")
        params[p.name] = p.policy_parameter()
    return params


def _groups_of(control: Control) -> list[str]:
    groups = {group_name(control.section)}
    for cis in control.mappings.cis_aks:
        groups.add(group_name("CIS " + ".".join(cis.split(".")[:2])))
    return sorted(groups)


def group_name(section: str) -> str:
    m = re.fullmatch(r"CIS\s+(\d+(?:\.\d+)*)", section.strip(), re.I)
    if m:
        return f"CIS_AKS_{CIS_VERSION}_{m.group(1)}"
    return "Practice_" + re.sub(r"[^A-Za-z0-9]+", "_", section.strip()).strip("_")


def _group(name: str, section: str) -> dict[str, Any]:
    if name.startswith("CIS_AKS_"):
        number = name.rsplit("_", 1)[1]
        return {"name": name, "category": CIS_CATEGORY, "displayName": f"CIS AKS {CIS_VERSION} section {number}",
                "description": f"Controls that implement recommendations of section {number} of the {CIS_CATEGORY}."}
    return {"name": name, "category": PRACTICE_CATEGORY, "displayName": section,
            "description": f"Controls of the practice '{section}'."}


def _metadata(control: Control) -> dict[str, Any]:
    return {
        "version": CATALOG_VERSION,
        "category": "Kubernetes" if control.policy_engine == "gatekeeper" else category(control),
        "source": "aks-compliance",
        "aksCompliance": {
            "controlId": control.id,
            "severity": control.severity.value,
            "section": control.section,
            "mappings": control.mappings.as_dict(),
            **({"builtinDeviation": control.builtin_deviation} if control.builtin_deviation else {}),
        },
    }


def build_kubernetes_definition(control: Control, fixtures: Path | None = None) -> Generated:
    """An Azure Policy for Kubernetes definition (mode Microsoft.Kubernetes.Data) with its Gatekeeper folder."""
    try:
        policy = kubernetes.build_policy(control, fixtures)
        parameters = kubernetes.definition_parameters(control)
        parameters["effect"]["allowedValues"] = list(_effects(control))
        parameters["effect"]["defaultValue"] = parameters["effect"]["allowedValues"][0]
        rule = kubernetes.policy_rule(control, policy.template_text())
    except (ValueError, KeyError) as exc:  # RuleError is a ValueError
        raise GenerationError(f"{control.id}: {exc}") from None
    meta = _metadata(control)
    meta["aksCompliance"]["gatekeeper"] = {"templateName": policy.template["metadata"]["name"],
                                           "constraintKind": policy.constraint["kind"],
                                           "folder": policy.folder}
    name = definition_name(control.id)
    doc = _render_json(
        "definition.json.j2", name=name,
        display_name=_clip(f"[{control.id}] {control.title}", MAX_DISPLAY_NAME),
        description=_clip(control.rationale, MAX_DESCRIPTION), mode="Microsoft.Kubernetes.Data",
        metadata=meta, parameters=parameters, rule_if=rule["if"], details=rule["then"]["details"])
    return Generated(control, name, f"{DEFINITIONS_DIR}/{control.id}.json", doc, policy)


def build_definition(control: Control, fixtures: Path | None = None) -> Generated:
    """The definition document for one control (which must have no skip reason)."""
    reason = skip_reason(control)
    if reason is not None:
        raise GenerationError(f"{control.id} gets no definition: {reason}")
    if control.policy_engine == "gatekeeper":
        return build_kubernetes_definition(control, fixtures)
    types = control.resource_types
    effects = _effects(control)
    declared = {p.name.lower() for p in control.parameters}
    sources = [control.rule, control.applicability,
               control.related.existence_condition if control.related is not None else None]
    missing = sorted(p for s in sources for p in _referenced_parameters(s) if p.lower() not in declared)
    if missing:
        raise GenerationError(f"{control.id}: the rule uses parameter(s) {', '.join(missing)} that the control does "
                              "not declare")
    guard: list[Any] = [_type_guard(types)]
    if control.applicability is not None:
        guard.append(to_policy_condition(control.applicability, f"{control.id}.applicability"))
    details = None
    if control.related is not None:
        existence = to_policy_condition(control.related.existence_condition, f"{control.id}.related")
        if _count_conditions(existence) > MAX_EXISTENCE_CONDITIONS:
            raise GenerationError(f"{control.id}: existenceCondition exceeds {MAX_EXISTENCE_CONDITIONS} conditions")
        details = {"type": control.related.type, "existenceCondition": existence}
        rule_if = guard[0] if len(guard) == 1 else {"allOf": guard}
    else:
        rule_if = {"allOf": guard + [{"not": to_policy_condition(control.rule, f"{control.id}.rule")}]}
    if _count_conditions(rule_if) > MAX_IF_CONDITIONS:
        raise GenerationError(f"{control.id}: the rule exceeds {MAX_IF_CONDITIONS} conditions")
    metadata = _metadata(control)
    name = definition_name(control.id)
    doc = _render_json(
        "definition.json.j2", name=name,
        display_name=_clip(f"[{control.id}] {control.title}", MAX_DISPLAY_NAME),
        description=_clip(control.rationale, MAX_DESCRIPTION),
        mode="Indexed" if all(supports_indexed(t) for t in types) else "All",
        metadata=metadata, parameters=_parameters(control, effects), rule_if=rule_if, details=details)
    return Generated(control, name, f"{DEFINITIONS_DIR}/{control.id}.json", doc)


def build_initiative(generated: list[Generated]) -> dict[str, Any]:
    sections: dict[str, str] = {}
    refs: list[dict[str, Any]] = []
    parameters: dict[str, Any] = {}
    for g in generated:
        c = g.control
        for gname in _groups_of(c):
            label = c.section if gname == group_name(c.section) else "CIS " + gname.rsplit("_", 1)[1]
            sections.setdefault(gname, label)
        values: dict[str, Any] = {}
        for pname, spec in g.properties["parameters"].items():
            set_name = f"{c.id}-{pname}"
            parameters[set_name] = {**spec, "metadata": {**spec["metadata"],
                                                         "displayName": f"{c.id} {spec['metadata']['displayName']}"}}
            values[pname] = {"value": f"[parameters('{set_name}')]"}
        refs.append({
            "policyDefinitionReferenceId": c.id,
            "policyDefinitionId": f"{SCOPE_PLACEHOLDER}/providers/Microsoft.Authorization/policyDefinitions/{g.name}",
            "parameters": values,
            "groupNames": _groups_of(c),
        })
    groups = [_group(n, sections[n]) for n in sorted(sections)]
    prefixes = custom_prefixes(g.control for g in generated)
    return _render_json(
        "initiative.json.j2", name=initiative_name(prefixes),
        display_name="[AKS] aks-compliance controls" + (f" with {', '.join(prefixes)} controls" if prefixes else ""),
        description=(f"The aks-compliance control catalog {CATALOG_VERSION} as Azure Policy: one custom definition "
                     "per control that the condition language can express, grouped by CIS AKS section and practice."),
        metadata={"version": CATALOG_VERSION, "category": "Kubernetes", "source": "aks-compliance"},
        parameters=parameters, groups=groups, refs=refs)


def arm_escape(value: Any) -> Any:
    """Escape strings that ARM would evaluate as expressions at deployment time (``[x]`` -> ``[[x]``)."""
    if isinstance(value, str):
        return "[" + value if value.startswith("[") and value.endswith("]") else value
    if isinstance(value, list):
        return [arm_escape(v) for v in value]
    if isinstance(value, Mapping):
        return {k: arm_escape(v) for k, v in value.items()}
    return value


def build_template(generated: list[Generated], initiative: dict[str, Any]) -> dict[str, Any]:
    definitions = [{"name": g.name, "properties": arm_escape(g.properties)} for g in generated]
    set_props = json.loads(json.dumps(initiative["properties"]))
    for ref in set_props["policyDefinitions"]:
        name = ref["policyDefinitionId"].rsplit("/", 1)[1]
        ref["policyDefinitionId"] = f"__ID__{name}"
    set_props = arm_escape(set_props)
    for ref in set_props["policyDefinitions"]:
        name = ref["policyDefinitionId"][len("__ID__"):]
        ref["policyDefinitionId"] = f"[subscriptionResourceId('Microsoft.Authorization/policyDefinitions', '{name}')]"
    depends = [f"[subscriptionResourceId('Microsoft.Authorization/policyDefinitions', '{g.name}')]"
               for g in generated]
    return _render_json("azuredeploy.json.j2", definitions=definitions, initiative_name=initiative["name"],
                        initiative_properties=set_props, depends=depends, version=CATALOG_VERSION)


def plan(catalog: Catalog | None = None, fixtures: str | Path | None = PROJECT_FIXTURES,
         command: str = "aks-compliance policies generate") -> Plan:
    """Everything generated from ``catalog``; the Kubernetes policies' samples come from ``fixtures``
    (``<dir>/<control id>/``; default: the project's, in a source checkout). ``command`` regenerates it (the
    README of a user's controls says so)."""
    catalog = catalog if catalog is not None else load_catalog()
    fixtures = Path(fixtures) if fixtures is not None and Path(fixtures).is_dir() else None
    result = Plan()
    errors: list[str] = []
    for control in catalog:
        reason = skip_reason(control)
        if reason is not None:
            result.skipped.append(Skipped(control, reason))
            continue
        try:
            result.generated.append(build_definition(control, fixtures))
        except GenerationError as exc:
            errors.append(str(exc))
    if errors:
        raise GenerationError(f"{len(errors)} control(s) cannot be generated:\n  " + "\n  ".join(errors))
    result.initiative = build_initiative(result.generated)
    result.template = build_template(result.generated, result.initiative)
    result.readme = _env().get_template("README.md.j2").render(
        generated=result.generated, skipped=result.skipped, initiative=result.initiative,
        version=CATALOG_VERSION, definitions_dir=DEFINITIONS_DIR, initiative_file=INITIATIVE_FILE,
        template_file=TEMPLATE_FILE, placeholder=SCOPE_PLACEHOLDER,
        deviations=[c for c in catalog if c.builtin_deviation], kinds=skipped_by_kind(result),
        kubernetes_dir=KUBERNETES_DIR, kubernetes=[g for g in result.generated if g.kube is not None],
        effects=lambda g: ", ".join(g.properties["parameters"]["effect"]["allowedValues"]),
        # a user's controls: their files and the command, never this project's catalog path (the built-in
        # catalog's own README keeps that wording)
        sources=catalog.sources, command=command, id_pattern="<control id>" if catalog.sources else "AKS-NNN")
    return result


def _stale(out: Path, files: dict[str, str]) -> list[Path]:
    """Generated files in ``out`` that the catalog no longer generates (definitions, Kubernetes policy folders)."""
    found = list((out / DEFINITIONS_DIR).glob("*.json")) if (out / DEFINITIONS_DIR).is_dir() else []
    if (out / KUBERNETES_DIR).is_dir():
        found += [p for p in (out / KUBERNETES_DIR).rglob("*") if p.is_file()]
    return sorted(p for p in found if p.relative_to(out).as_posix() not in files)


def write(out_dir: str | Path, catalog: Catalog | None = None, fixtures: str | Path | None = PROJECT_FIXTURES,
          command: str = "aks-compliance policies generate") -> Plan:
    """Generate into ``out_dir``; files of controls that no longer get a policy are removed."""
    out = Path(out_dir)
    result = plan(catalog, fixtures, command)
    files = result.files()
    for p in _stale(out, files):
        p.unlink()
    if (out / KUBERNETES_DIR).is_dir():  # folders left empty by a control that no longer gets a policy
        for d in sorted((p for p in (out / KUBERNETES_DIR).rglob("*") if p.is_dir()), reverse=True):
            if not any(d.iterdir()):
                d.rmdir()
    root = out.resolve()
    for rel, text in files.items():
        path = out / rel
        if not path.resolve().is_relative_to(root):  # names come from control ids: never outside out_dir
            raise ValueError(f"refusing to write {rel!r}: it is not inside {out}")
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            write_text(path, text)
    return result


def differences(out_dir: str | Path, catalog: Catalog | None = None,
                fixtures: str | Path | None = PROJECT_FIXTURES,
                command: str = "aks-compliance policies generate") -> list[str]:
    """What regenerating would change in ``out_dir`` (empty when it is up to date)."""
    out = Path(out_dir)
    files = plan(catalog, fixtures, command).files()
    diffs = []
    for rel, text in sorted(files.items()):
        path = out / rel
        if not path.exists():
            diffs.append(f"{rel}: missing")
        elif path.read_text(encoding="utf-8") != text:
            diffs.append(f"{rel}: differs")
    for p in _stale(out, files):
        diffs.append(f"{p.relative_to(out).as_posix()}: not generated from the catalog (stale)")
    return diffs


def skipped_by_kind(result: Plan) -> dict[str, int]:
    counts: dict[str, int] = {}
    for s in result.skipped:
        counts[s.kind] = counts.get(s.kind, 0) + 1
    return dict(sorted(counts.items()))


def summary(result: Plan) -> list[str]:
    kinds = ", ".join(f"{n} {k}" for k, n in skipped_by_kind(result).items())
    lines = [f"{len(result.generated)} control(s) with a generated definition, {len(result.skipped)} without"
             + (f" ({kinds})" if kinds else "")]
    for s in result.skipped:
        lines.append(f"  {s.control.id}: {s.reason}")
    return lines


def load_documents(directory: str | Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The committed definitions and initiative in ``directory``."""
    d = Path(directory)
    defs = []
    for p in sorted((d / DEFINITIONS_DIR).glob("*.json")):
        try:
            defs.append(json.loads(p.read_text(encoding="utf-8")))
        except json.JSONDecodeError as exc:
            raise GenerationError(f"{p}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    path = d / INITIATIVE_FILE
    try:
        initiative = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GenerationError(f"{path} does not exist: run 'aks-compliance policies generate' first") from None
    except json.JSONDecodeError as exc:
        raise GenerationError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    if not defs:
        raise GenerationError(f"{d / DEFINITIONS_DIR} holds no definitions: run 'aks-compliance policies generate'")
    return defs, initiative


__all__ = ["GenerationError", "Generated", "NAMESPACE", "Plan", "Skipped", "arm_escape", "build_definition",
           "definition_name", "differences", "dump_json", "initiative_name", "load_documents", "plan",
           "skip_reason", "summary", "to_policy_condition", "write"]


def generate_for_pytest(config: Any, out_dir: str, catalog: Catalog | None = None) -> Plan | None:
    """``pytest --generate-policies DIR``: generate once, and say so in the report header."""
    import pytest

    from ..stash import OPTIONS_KEY, OUTPUT_FAULTS_KEY

    try:
        result = write(out_dir, catalog)
    except GenerationError as exc:
        raise pytest.UsageError(f"--generate-policies {out_dir}: {exc}") from None
    except OSError as exc:  # a file where the directory belongs, a read-only place: with a scan to report,
        # its outputs are still written, this one is named and the run exits 4
        options = config.stash.get(OPTIONS_KEY, None)
        if options is None or not options.has_input:
            raise pytest.UsageError(f"--generate-policies {out_dir}: {exc}") from None
        config.stash.setdefault(OUTPUT_FAULTS_KEY, []).append(
            ("Azure Policy definitions", out_dir, exc.strerror or str(exc)))
        return None
    lines = [f"aks-compliance policies: {summary(result)[0]}; written to {out_dir}"]

    class _Header:
        def pytest_report_header(self, config: Any) -> list[str]:
            return lines

    config.pluginmanager.register(_Header(), "aks-compliance-policies")
    return result


def policy_reference(control: Control) -> dict[str, Any] | None:
    """What the report shows of a control's generated definition (None when it gets none)."""
    if skip_reason(control) is not None:
        return None
    try:
        effects = _effects(control)
    except GenerationError:
        return None
    out = {"name": definition_name(control.id), "path": f"policies/{DEFINITIONS_DIR}/{control.id}.json",
           "effect": effects[0], "effects": list(effects),
           "display_name": _clip(f"[{control.id}] {control.title}", MAX_DISPLAY_NAME)}
    if control.policy_engine == "gatekeeper":
        out["engine"] = "gatekeeper"
        out["gatekeeper"] = f"policies/{KUBERNETES_DIR}/{control.id}/"
    return out
