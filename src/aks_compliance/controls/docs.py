"""The catalog document (``docs/controls.md``): every control with its mappings, and coverage per CIS
AKS Benchmark section, rendered with jinja2 from the catalog itself.

``aks-compliance catalog --markdown docs/controls.md`` writes it; ``tests/test_controls_doc.py``
regenerates it in memory and compares it with the committed file, so it cannot drift from the code.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from ..atomic import write_text
from . import CATALOG_VERSION, Catalog, Control, Decision, load_catalog
from ..policy.conditions import aliases_in
from .cis import SECTIONS, WHERE, input_of

# CIS AKS Benchmark v1.8.0: sections, recommendations and where each can be verified (one home: cis.py).
CIS_SECTIONS = SECTIONS


def decided_by(control: Control) -> str:
    d = control.decision
    if d is Decision.CONDITION:
        return "rule (Azure Policy condition)"
    if d is Decision.RELATED:
        assert control.related is not None
        return f"related resource ({control.related.type}, AuditIfNotExists)"
    if d is Decision.OBJECT_RULE:
        return "object rule (Python and Gatekeeper Rego)"
    if d is Decision.PYTHON:
        return f"Python check `{getattr(control.check, '__name__', 'check')}`"
    return "manual (audit by hand)"


def aliases(control: Control) -> list[str]:
    conditions = [c for c in (control.rule, control.applicability) if c is not None]
    if control.related is not None:
        conditions.append(control.related.existence_condition)
    return list(dict.fromkeys(a for cond in conditions for a in aliases_in(cond)))


@dataclass
class Row:
    control: Control
    side: str
    manual: bool
    generated: bool
    target: str
    aliases: list[str] = field(default_factory=list)

    @property
    def c(self) -> Control:
        return self.control


def _rows(catalog: Catalog) -> list[Row]:
    out = []
    for c in catalog:
        out.append(Row(c, "Azure" if c.azure_side else "in-cluster", c.manual, c.policy_engine is not None,
                       ", ".join(t.split("/", 1)[-1] if t.startswith("Microsoft.") else t for t in c.resource_types),
                       aliases(c)))
    return out


def _cis_coverage(rows: list[Row]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    by_id: dict[str, list[Row]] = {}
    for r in rows:
        for cis in r.c.mappings.cis_aks:
            by_id.setdefault(cis, []).append(r)
    sections, items = [], []
    for number, name, recs in CIS_SECTIONS:
        automated = manual = uncovered = 0
        for rec in recs:
            mapped = by_id.get(rec.id, [])
            auto = [r for r in mapped if not r.manual]
            status = "automated" if auto else ("manual" if mapped else "not covered")
            automated += status == "automated"
            manual += status == "manual"
            uncovered += status == "not covered"
            inputs = list(dict.fromkeys(input_of(t) for r in auto for t in r.c.resource_types))
            items.append({"id": rec.id, "section": number, "where": WHERE[rec.where], "status": status,
                          "controls": [r.c.id for r in mapped], "inputs": inputs, "title": rec.title})
        sections.append({"number": number, "name": name, "total": len(recs), "automated": automated,
                         "manual": manual, "uncovered": uncovered})
    return sections, items


def _tool_coverage(rows: list[Row], field_name: str) -> list[tuple[str, list[str]]]:
    out: dict[str, list[str]] = {}
    for r in rows:
        for ref in getattr(r.c.mappings, field_name):
            out.setdefault(ref, []).append(r.c.id)
    return sorted(out.items())


def _by_practice(rows: list[Row]) -> list[tuple[str, list[Row]]]:
    groups: dict[str, list[Row]] = {}
    for r in rows:
        groups.setdefault(r.c.section, []).append(r)
    # CIS sections first, in benchmark order, then practices alphabetically
    def key(name: str) -> tuple:
        if name.startswith("CIS "):
            return (0, tuple(int(p) for p in name[4:].split(".") if p.isdigit()), name)
        return (1, (), name.lower())
    return [(name, groups[name]) for name in sorted(groups, key=key)]


# kubescape's data inputs (postureControlInputs) that decide a verdict, and the control parameter taking the same
# setting (--control-param ID.NAME=VALUE or --control-config FILE).
KUBESCAPE_INPUTS: list[tuple[str, str, str]] = [
    ("imageRepositoryAllowList", "AKS-126", "allowedRegistries"),
    ("insecureCapabilities", "AKS-159", "insecureCapabilities"),
    ("sensitiveKeyNames", "AKS-123", "sensitiveKeyNames"),
    ("sensitiveValues", "AKS-123", "sensitiveValues"),
    ("sensitiveKeyNamesAllowed", "AKS-123", "sensitiveKeyNamesAllowed"),
    ("sensitiveValuesAllowed", "AKS-123", "sensitiveValuesAllowed"),
]

EXCLUSION_FAMILY_TEXT = {
    "workload-admission": "Workload admission (pod security, images, probes, resources, credentials in pod specs): "
                          "Azure Policy's default excludedNamespaces, whose managed add-ons need what these controls "
                          "forbid.",
    "cluster-access": "RBAC, network policies, exposure and namespaces: nothing excluded by default; kube-system is "
                      "where a takeover matters most.",
    "cluster-wide": "One result per cluster: no namespace to exclude.",
}


def _exclusions(rows: list[Row]) -> list[dict[str, Any]]:
    """In-cluster controls grouped by the namespace exclusions they apply by default (k8s_control's choice)."""
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        family = next((t.split(":", 1)[1] for t in r.c.tags if t.startswith("exclusions:")), None)
        if family is None:
            continue
        entry = out.setdefault(family, {"family": family, "text": EXCLUSION_FAMILY_TEXT.get(family, ""),
                                        "default": r.c.parameter_defaults().get("excludedNamespaces"),
                                        "controls": []})
        entry["controls"].append(r.c.id)
    return [out[f] for f in EXCLUSION_FAMILY_TEXT if f in out]


def _defaults_for(control_id: str) -> list[str]:
    """The API defaults a control's verdict relies on when a request leaves a property out (arm/defaults.py)."""
    from ..arm.defaults import describe, rows_for, when_text
    out = []
    for r in rows_for(control_id):
        when = ", ".join(when_text(ref, v) for ref, v in r.when)
        value = f"unknown ({r.value.reason})" if hasattr(r.value, "reason") else f"`{r.value!r}`"
        out.append(f"`{r.path}`" + (f" (when {when})" if when else "") + f" = {value}: {describe(r)}"
                   + ("; also in deployed state, where Azure returns the setting only when it was set"
                      if r.omitted_when_unset else ""))
    return out


def _defaults_table() -> list[dict[str, Any]]:
    from ..arm.defaults import DEFAULTS, LEGACY, SOURCES, when_text
    rows = []
    for r in DEFAULTS:
        when = ", ".join(when_text(k, v) for k, v in r.when)
        rows.append({"path": r.path, "scope": r.scope, "since": r.since or "", "until": r.until or "",
                     "when": when, "value": f"unknown: {r.value.reason}" if hasattr(r.value, "reason") else repr(r.value),
                     "source": SOURCES[r.source], "fact": r.fact, "controls": ", ".join(r.controls)})
    for r in LEGACY:
        rows.append({"path": r.path, "scope": "cluster", "since": "", "until": r.until, "when": f"value {r.old!r}",
                     "value": f"{r.new!r} (renamed)", "source": SOURCES[r.source], "fact": r.fact, "controls": ""})
    return rows


def _api_properties_for(control_id: str) -> list[str]:
    """The properties a control reads that exist only at some AKS API versions (arm/api_versions.py)."""
    from ..arm.api_versions import VALUES, rows_for
    return [f"`{r.path}` ({r.fact()})" for r in rows_for(control_id)] + [
        f"`{r.path}` value `{r.value}` (" + "; ".join(t for t in (
            f"rejected at {r.lacking} and before" if r.lacking else "",
            f"taken from {r.having}" if r.having else "",
            f"unlisted through {r.unlisted_through}" if r.unlisted_through else "",
            f"rejected from {r.gone}" if r.gone else "") if t) + ")"
        for r in VALUES if control_id in r.controls]


def _aks_kubelet() -> list[Any]:
    from ..arm.defaults import AKS_KUBELET
    return list(AKS_KUBELET)


def _api_properties() -> list[Any]:
    from ..arm.api_versions import PROPERTIES
    return list(PROPERTIES)


def _api_values() -> list[Any]:
    from ..arm.api_versions import VALUES
    return list(VALUES)


def _sources() -> dict[str, str]:
    from ..arm.defaults import SOURCES
    return dict(SOURCES)


def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("aks_compliance.controls", "templates"),
                             undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["json"] = lambda v: json.dumps(v, ensure_ascii=False)
    env.filters["cell"] = lambda v: str(v).replace("|", "\\|").replace("\n", " ")
    env.filters["join_or_dash"] = lambda v: ", ".join(v) if v else "–"
    return env


def render_markdown(catalog: Catalog | None = None) -> str:
    catalog = catalog if catalog is not None else load_catalog()
    rows = _rows(catalog)
    sections, cis_items = _cis_coverage(rows)
    azure = [r for r in rows if r.side == "Azure"]
    counts = {
        "total": len(rows), "azure": len(azure), "in_cluster": len(rows) - len(azure),
        "generated": sum(r.generated for r in rows), "manual": sum(r.manual for r in rows),
        "gatekeeper": sum(r.c.policy_engine == "gatekeeper" for r in rows),
        "checks": sum(r.c.decision is Decision.PYTHON for r in rows),
        "severity": Counter(r.c.severity.value for r in rows),
        "types": Counter(t for r in azure for t in r.c.resource_types),
    }
    text = _env().get_template("controls.md.j2").render(
        version=CATALOG_VERSION, rows=rows, counts=counts, sections=sections, cis_items=cis_items,
        practices=_by_practice(rows), psrule=_tool_coverage(rows, "psrule"),
        checkov=_tool_coverage(rows, "checkov"), builtins=_tool_coverage(rows, "azure_policy"),
        severities=["critical", "high", "medium", "low", "info"], decided_by=decided_by,
        exclusions=_exclusions(rows), kubescape_inputs=KUBESCAPE_INPUTS, mitre=_tool_coverage(rows, "mitre"),
        kubescape=_tool_coverage(rows, "kubescape"), defaults_for=_defaults_for, defaults_table=_defaults_table(),
        aks_kubelet=_aks_kubelet(), sources=_sources(), api_properties=_api_properties(), api_values=_api_values(),
        api_properties_for=_api_properties_for)
    return "\n".join(line.rstrip() for line in text.split("\n"))


def catalog_command(argv: list[str]) -> int:
    """``aks-compliance catalog``: list the controls (id, severity, title, CIS), or write the catalog document.

    0; 4 on a usage error (a bad option, a control file that does not load)."""
    import argparse
    import sys

    from .model import CatalogError
    parser = argparse.ArgumentParser(prog="aks-compliance catalog",
                                     description="List the controls, or write the control catalog document (every "
                                                 "control, its mappings, and coverage per CIS AKS section).")
    parser.add_argument("ids", nargs="*", metavar="ID",
                        help="show these controls in full (rationale, remediation, parameters, mappings, policy)")
    parser.add_argument("--markdown", metavar="FILE", help="write the Markdown catalog document to FILE")
    parser.add_argument("--format", default="text", type=str.lower, choices=("text", "json", "markdown"),
                        help="how to list the controls on standard output (default: text)")
    parser.add_argument("--controls-path", action="append", default=[], metavar="PATH",
                        help="also your own controls (as 'scan --controls-path'); repeatable")
    parser.add_argument("--overlay", action="append", default=[], metavar="FILE", help="apply an overlay; repeatable")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return 0 if exc.code == 0 else 4
    try:
        catalog = load_catalog(args.controls_path, entry_points=True, overlays=args.overlay)
    except CatalogError as exc:
        print(f"aks-compliance catalog: error: {exc}", file=sys.stderr)
        return 4
    if args.ids:
        try:
            chosen = catalog.select([i for a in args.ids for i in a.split(",") if i])
        except CatalogError as exc:
            print(f"aks-compliance catalog: error: {exc}", file=sys.stderr)
            return 4
        if args.format == "text" and not args.markdown:
            sys.stdout.write("\n".join(render_detail(c) for c in chosen))
            return 0
        catalog = chosen
    if args.markdown:
        path = write_markdown(args.markdown, catalog)
        print(f"wrote {path}")
        return 0
    if args.format == "markdown":
        sys.stdout.write(render_markdown(catalog))
    elif args.format == "json":
        from .document import control_document
        sys.stdout.write(json.dumps({"catalog": catalog.scope_document(),
                                     "controls": [control_document(c) for c in catalog]}, indent=1) + "\n")
    else:
        sys.stdout.write(render_listing(catalog))
    return 0


def render_detail(control: Control) -> str:
    """One control in full, as the failure text's 'docs:' line points at: wherever the tool is installed."""
    from .document import control_document

    d = control_document(control)
    mappings = "; ".join(f"{k}: {', '.join(v)}" for k, v in d["mappings"].items() if v) or "none"
    lines = [f"{d['id']}  {d['title']}",
             f"  severity: {d['severity']}  decided by: {d['decision']}  section: {d['section']}",
             f"  CIS AKS: {', '.join(control.mappings.cis_aks) or '-'}",
             f"  rationale: {d['rationale']}", f"  remediation: {d['remediation']}"]
    for i, p in enumerate(control.parameters):
        lines.append(f"  {'parameters:' if i == 0 else '           '} {p.name} ({p.type}, default {p.default!r}): "
                     f"{p.description}")
    lines.append(f"  mappings: {mappings}")
    policy = d.get("policy")
    lines.append(f"  Azure Policy definition: {policy['display_name'] if policy else 'none: ' + str(d.get('policy_gap'))}")
    lines += [f"  reference: {r}" for r in d.get("references", [])]
    if not control.builtin:
        lines.append(f"  declared in: {control.origin}")
    return "\n".join(lines) + "\n"


def render_listing(catalog: Catalog) -> str:
    """One line per control: id, severity, how it is decided, CIS ids, title."""
    lines = []
    for c in catalog:
        cis = ",".join(c.mappings.cis_aks) or "-"
        lines.append(f"{c.id:<14} {c.severity.value:<8} {c.decision.value:<11} {cis:<18} {c.title}")
    disabled = [f"(disabled) {cid}: {why}" for cid, why in sorted(catalog.disabled.items())]
    head = f"{'ID':<14} {'SEVERITY':<8} {'DECIDED BY':<11} {'CIS AKS':<18} TITLE"
    return "\n".join([head, *lines, *disabled, f"{len(catalog)} controls"]) + "\n"


def write_markdown(path: str | Path, catalog: Catalog | None = None) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    write_text(p, render_markdown(catalog))
    return p
