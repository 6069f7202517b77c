"""Finding, recognising and loading ARM inputs.

An input is a deployment template (paired with its parameter file), an ``az group export``
template, resources as the REST API returns them (one, a list, or ``{"value": [...]}``), as Azure
PowerShell (arm/powershell.py) or the Azure CLI (arm/azcli.py) print them, or a deployment resource
with an inline template. Each file is read and parsed once; a broken file
becomes an error diagnostic naming it and the scan goes on. A template that a scanned template links to
(``templateLink.relativePath``) is scanned through that parent, not on its own (``_settle_links``).
"""

from __future__ import annotations

import hashlib
import os
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from ..discovery import Walk, no_input_message, own_output, own_output_reason, walk
from ..errors import InputError
from ..inputfiles import read_input
from ..jsonc import MAX_INPUT_BYTES, JsonDocument, escape_pointer_token, parse_json, read_text
from ..resources import CLUSTER_TYPE, DEPLOYMENT_TYPE, Resource
from ..values import Unknown
from .context import DeploymentScope
from ..diagnostics import NOT_EVALUATED, SKIPPED, CoverageEntry, Declaration, Diagnostic
from .expressions import ScanBudget
from .azcli import FLATTENED, LISTING, arm_body as cli_body, cli_resource, cli_shape
from .linked import Linker, standalone, static_links
from .powershell import children as powershell_children, cut_child, is_cut, is_powershell_export, \
    is_powershell_object, powershell_resource
from .template import BLUEPRINT_ARTIFACT_TYPE, Expander, expand, rest_resource

JSON_SUFFIXES = (".json", ".jsonc")


@dataclass
class InputFile:
    path: str
    sha256: str
    kind: str  # template | linked-template | parameters | resources | azure-cli | error
    linked_from: list[str] = field(default_factory=list)  # a linked template: the templates that link to it

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "sha256": self.sha256, "kind": f"arm-{self.kind}"}
        if self.linked_from:
            out["linked_from"] = list(self.linked_from)
        return out


@dataclass
class ArmOptions:
    """The ARM family's options (``--arm``, ``--arm-parameters``, ``--arm-param``, the deployment scope)."""

    paths: list[str] = field(default_factory=list)
    parameter_files: list[str] = field(default_factory=list)  # FILE or TEMPLATE=FILE
    parameters: dict[str, Any] = field(default_factory=dict)  # --arm-param NAME=VALUE
    # Where the templates deploy to (--arm-subscription-id, --arm-tenant-id, --arm-resource-group, --arm-location); None
    # keeps a placeholder whose decisions are unknown.
    subscription_id: str | None = None
    tenant_id: str | None = None
    resource_group: str | None = None
    location: str | None = None
    template_uri: str | None = None  # --arm-template-uri: deployment().properties.templateLink.uri
    exclude: list[str] = field(default_factory=list)  # --exclude GLOB: left out of directory walks
    # folders left out of directory walks with the reason (discovery.control_fixtures: your controls' fixtures)
    reserved: dict[str, str] = field(default_factory=dict)
    scope: DeploymentScope = field(default_factory=DeploymentScope)

    def deployment_scope(self, now: Any) -> DeploymentScope:
        """The deployment scope of a run started at ``now``, with the given subscription, group, location."""
        changes = {k: v for k, v in (("subscription_id", self.subscription_id), ("tenant_id", self.tenant_id),
                                     ("resource_group", self.resource_group),
                                     ("location", self.location), ("template_uri", self.template_uri)) if v}
        scope = DeploymentScope(now=now)
        return scope.child(**changes) if changes else scope


@dataclass
class ArmScan:
    inputs: list[InputFile] = field(default_factory=list)
    resources: list[Resource] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    declarations: list[Declaration] = field(default_factory=list)
    documents: dict[str, JsonDocument] = field(default_factory=dict)
    # what was read and is no target (files skipped, declarations that deploy nothing, ...): the ledger
    coverage: list[CoverageEntry] = field(default_factory=list)

    def skip_file(self, path: str, reason: str, line: int | None = None) -> None:
        self.coverage.append(CoverageEntry(family="arm", type="file", name=path, status=SKIPPED, reason=reason,
                                           file=path, line=line))

    def not_evaluated(self, doc: JsonDocument, ptr: str, rtype: Any, name: Any, reason: str) -> None:
        self.coverage.append(CoverageEntry(
            family="arm", type=rtype if isinstance(rtype, str) else "(no type)",
            name=name if isinstance(name, str) else f"(unnamed at {ptr or '/'})", status=NOT_EVALUATED,
            reason=reason, file=doc.path, pointer=ptr, line=doc.lines.nearest_line(ptr)[0]))
    budget: ScanBudget = field(default_factory=ScanBudget)  # template evaluation work of the whole scan


def _resource_like(item: Any) -> bool:
    """An item of a REST list: a resource with a 'type' (Namespace/type) or an ARM id, or a PowerShell object."""
    if not isinstance(item, dict):
        return False
    rtype, rid = item.get("type"), item.get("id")
    return (isinstance(rtype, str) and "/" in rtype) or (isinstance(rid, str) and rid.startswith(("/subscriptions/",
                                                                                                  "/providers/"))) \
        or is_powershell_object(item)


def classify(data: Any) -> str | None:
    """What a JSON document is to the ARM family: "template", "parameters", "resources" (REST JSON, an export,
    a PowerShell export, an Azure CLI output), or None for anything else (``not_an_arm_input`` says what). The one place that
    decides; reading the file is the caller's."""
    if own_output(data) is not None:
        return None
    if isinstance(data, list):
        # a REST list; an empty one is a list of nothing. A list of other things (a word list) is not ARM.
        return "resources" if not data or any(_resource_like(item) for item in data) else None
    if not isinstance(data, dict):
        return None
    schema = str(data.get("$schema", "")).lower()
    if "deploymentparameters" in schema:
        return "parameters"
    if "deploymenttemplate" in schema:
        return "template"
    if "resources" in data and ("contentVersion" in data or "parameters" in data or "variables" in data
                                or "outputs" in data or "languageVersion" in data):
        return "template"
    if isinstance(data.get("value"), list) or is_graph_result(data):
        return "resources"
    if isinstance(data.get("type"), str) and "/" in data["type"] and (
            "id" in data or "properties" in data or "name" in data):
        return "resources"
    if is_powershell_export(data):
        return "resources"
    if isinstance(data.get("parameters"), dict) and "resources" not in data and all(
            isinstance(v, dict) and ("value" in v or "reference" in v) for v in data["parameters"].values()):
        return "parameters"
    return None


# Resource Graph's answer as `az graph query` prints it (count, data, skip_token, total_records) or as its REST
# API returns it (totalRecords, count, data, facets, resultTruncated, $skipToken): the rows are resources.
_GRAPH_KEYS = ("count", "total_records", "totalRecords", "skip_token", "$skipToken", "resultTruncated", "facets")


def is_graph_result(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("data"), list) and any(k in data for k in _GRAPH_KEYS) \
        and (not data["data"] or any(_resource_like(row) for row in data["data"]))


def more_pages(data: Any) -> str | None:
    """Why a REST list or Resource Graph answer holds only part of what was asked (a next page not read), or
    None: the resources beyond it were never read, and a scan must not look complete without them."""
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("nextLink"), str) and data["nextLink"]:
        return ("the list has a nextLink: it is one page of a longer list, the resources on the next pages were "
                "not read (save every page, or scan live with --azure)")
    if is_graph_result(data):
        token = data.get("skip_token") or data.get("$skipToken")
        total = data.get("total_records", data.get("totalRecords"))
        rows = len(data["data"])
        if token or str(data.get("resultTruncated", "")).lower() == "true" or (
                type(total) is int and total > rows):
            return (f"the Resource Graph result holds {rows} of "
                    f"{total if type(total) is int and total > rows else 'more'} rows (a skip token or truncation "
                    "is set): the rows of the next pages were not read (az graph query --first 1000 with "
                    "--skip-token for every page, or scan live with --azure)")
    return None


NOT_ARM = "not an ARM template, parameter file, REST resource or export"


def not_an_arm_input(data: Any) -> str:
    """Why a document ``classify`` does not recognise is no ARM input, and what it is when that is known."""
    own = own_output(data)
    if own is not None:
        return own_output_reason(own)
    if isinstance(data, dict) and isinstance(data.get("apiVersion"), str) and isinstance(data.get("kind"), str):
        return f"a Kubernetes object ({data['kind']}): scanned with --k8s, not --arm"
    return (f"{NOT_ARM} (a template has '$schema' or 'resources', a resource a 'type' such as "
            f"Microsoft.ContainerService/managedClusters)")


BICEP_HINT = "a Bicep file: compile it with `az bicep build` (or `bicep build`) and pass the JSON to --arm"
BICEPPARAM_HINT = ("a Bicep parameters file: build it with `az bicep build-params` (or `bicep build-params`) and "
                   "pass the JSON to --arm-parameters")
YAML_HINT = "a YAML file: ARM inputs are JSON; Kubernetes manifests are scanned with --k8s"
GZIP_HINT = "a compressed file: give an Azure snapshot to --arm as a file, a Kubernetes snapshot to --k8s"


def other_kind_of_input(path: Path) -> str | None:
    """Files that are not ARM JSON but look like inputs of another kind: what to do with them."""
    name = path.name.lower()
    if name.endswith(".bicep"):
        return BICEP_HINT
    if name.endswith(".bicepparam"):
        return BICEPPARAM_HINT
    if name.endswith((".yaml", ".yml")):
        return YAML_HINT
    if name.endswith(".sarif"):
        return own_output_reason("sarif")
    if name.endswith(".gz"):
        return GZIP_HINT
    return None


def discover(paths: Iterable[str], exclude: Iterable[str] = (), reserved: Mapping[str, str] | None = None) -> Walk:
    """Files to read: given files as they are, directories recursively (``.json``/``.jsonc``), without the
    default exclusions and ``exclude``; other files that look like inputs are listed as skipped."""
    return walk(paths, "arm", lambda p: p.name.lower().endswith(JSON_SUFFIXES), exclude, other_kind_of_input,
                reserved=reserved)


def parameter_partner(template: Path) -> Path | None:
    """``X.json`` -> ``X.parameters.json`` beside it, if it exists."""
    stem = template.name[: -len(template.suffix)] if template.suffix else template.name
    candidate = template.with_name(f"{stem}.parameters{template.suffix or '.json'}")
    return candidate if candidate.exists() else None


def read_parameter_file(doc: JsonDocument) -> tuple[dict[str, Any], list[Diagnostic]]:
    data = doc.data
    problems: list[Diagnostic] = []
    if not isinstance(data, dict) or not isinstance(data.get("parameters"), dict):
        problems.append(Diagnostic("error", "a parameter file needs a 'parameters' object", doc.path, "",
                                   doc.lines.nearest_line("/parameters")[0]))
        return {}, problems
    values: dict[str, Any] = {}
    for name, spec in data["parameters"].items():
        ptr = f"/parameters/{escape_pointer_token(name)}"
        if isinstance(spec, dict) and "value" in spec:
            values[name] = spec["value"]
        elif isinstance(spec, dict) and "reference" in spec:
            values[name] = Unknown(f"parameter '{name}' is a Key Vault reference in {doc.path}; secrets are never read")
        else:
            problems.append(Diagnostic("error", f"parameter '{name}' needs a 'value' (or a Key Vault 'reference')",
                                       doc.path, ptr, doc.lines.nearest_line(ptr)[0]))
    return values, problems


def _load(path: Path, scan: ArmScan) -> JsonDocument | None:
    key = str(path)
    if key in scan.documents:
        return scan.documents[key]
    try:
        text = read_text(path)
    except InputError as exc:
        scan.diagnostics.append(Diagnostic("error", exc.message, key, "", exc.line))
        scan.inputs.append(InputFile(key, _sha256_file(path), "error"))
        scan.skip_file(key, f"input error: {exc.message}", exc.line)
        return None
    try:
        data = parse_json(text, key)
    except InputError as exc:
        scan.diagnostics.append(Diagnostic("error", exc.message, key, "", exc.line))
        scan.inputs.append(InputFile(key, _sha256_text(text), "error"))
        scan.skip_file(key, f"input error: {exc.message}", exc.line)
        return None
    doc = JsonDocument(key, data, text)
    scan.documents[key] = doc
    return doc


def _sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _sha256_file(path: Path) -> str:
    try:
        return hashlib.sha256(read_input(path, MAX_INPUT_BYTES)).hexdigest()
    except InputError:
        return ""


def load_arm(options: ArmOptions) -> ArmScan:
    scan = ArmScan()
    found = discover(options.paths, options.exclude, options.reserved)
    scan.coverage.extend(found.skipped)
    scan.diagnostics.extend(Diagnostic("error", "input path does not exist", p) for p in found.missing)
    scan.diagnostics.extend(Diagnostic("error", why, where) for where, why in found.unreadable)
    files = []
    for path in found.files:
        hint = other_kind_of_input(path) if path in found.explicit else None
        if hint is not None:  # named on the command line: an error that says what to do instead
            scan.diagnostics.append(Diagnostic("error", hint, str(path)))
            scan.inputs.append(InputFile(str(path), _sha256_file(path), "error"))
            scan.skip_file(str(path), f"input error: {hint}")
        else:
            files.append(path)

    explicit_all: list[str] = []
    explicit_for: dict[str, str] = {}
    for spec in options.parameter_files:
        if "=" in spec and not Path(spec).exists():
            tpl, pfile = spec.split("=", 1)
            explicit_for[os.path.normcase(os.path.abspath(tpl))] = pfile
        else:
            explicit_all.append(spec)
    param_docs: dict[str, tuple[dict[str, Any], str] | None] = {}

    def parameters_from(pfile: str, for_template: str) -> tuple[dict[str, Any], str] | None:
        if pfile in param_docs:
            return param_docs[pfile]
        p = Path(pfile)
        if not p.exists():
            scan.diagnostics.append(Diagnostic("error", f"parameter file does not exist (given for {for_template})",
                                               pfile))
            param_docs[pfile] = None
            return None
        doc = _load(p, scan)
        if doc is None:
            param_docs[pfile] = None
            return None
        values, diags = read_parameter_file(doc)
        scan.diagnostics.extend(diags)
        scan.inputs.append(InputFile(doc.path, _sha256_text(doc.text), "parameters"))
        param_docs[pfile] = (values, doc.path)
        return param_docs[pfile]

    documents: list[tuple[Path, JsonDocument, str]] = []
    paired: set[str] = set()
    answered: set[str] = set()  # directories given that held an ARM document (or a broken file)
    for path in files:
        doc = _load(path, scan)
        if doc is None:
            answered.add(found.origin.get(path, ""))
            continue
        kind = classify(doc.data)
        if kind is None:
            why = not_an_arm_input(doc.data)
            if path in found.explicit:  # named on the command line: the user meant it as input
                scan.diagnostics.append(Diagnostic("error", why, doc.path, "", 1))
                scan.inputs.append(InputFile(doc.path, _sha256_text(doc.text), "error"))
                scan.skip_file(doc.path, f"input error: {why}", 1)
            else:  # found in a directory: one of the many other files a repository holds
                scan.skip_file(doc.path, why, 1)
                found.roots[found.origin[path]] = (found.roots[found.origin[path]][0] + 1, True)
            del scan.documents[doc.path]
            continue
        answered.add(found.origin.get(path, ""))
        documents.append((path, doc, kind))
    for root, (listed, anything) in found.roots.items():
        if root not in answered:
            scan.diagnostics.append(Diagnostic("warning", no_input_message(listed, anything, "ARM input"), root))

    linker = Linker(classify, not_an_arm_input)
    templates = [(path, doc) for path, doc, kind in documents if kind == "template"]
    for _, doc in templates:
        linker.register(doc)
    # files a template links to by a literal relativePath: read after the others, so that one reached through
    # its parent is not also expanded alone first
    linked_here = set().union(*(static_links(doc, linker.key) for _, doc in templates))
    alone: dict[str, _Alone] = {}  # template files expanded on their own, by key
    always: set[str] = set()  # REST files: what their deployments link to is deployed by them

    def own_parameter_files(path: Path) -> list[str]:
        """The parameter file given for this template (TEMPLATE=FILE), or the one beside it."""
        pfile = explicit_for.get(os.path.normcase(os.path.abspath(path)))
        if pfile:
            return [pfile]
        partner = parameter_partner(path) if not explicit_all else None
        return [str(partner)] if partner is not None else []

    def expand_alone(path: Path, doc: JsonDocument) -> None:
        record = _Alone(doc, InputFile(doc.path, _sha256_text(doc.text), "template"))
        scan.inputs.append(record.input)
        supplied: dict[str, Any] = {}
        sources: list[str] = []
        for c in own_parameter_files(path) or explicit_all:
            got = parameters_from(c, doc.path)
            if got is not None:
                supplied.update(got[0])
                sources.append(got[1])
                paired.add(os.path.normcase(os.path.abspath(c)))
                scan.skip_file(got[1], f"parameter file: its values are bound into {doc.path}")
                record.bound.append(scan.coverage[-1])
        supplied.update(options.parameters)
        if options.parameters:
            sources.append("--arm-param")
        scope = options.scope.child(deployment_name=_deployment_name(path))
        with record.recording(scan):
            expander = expand(doc, doc.data, supplied, scope,
                              supplied_from=" and ".join(sources) if sources else "",
                              diagnostics=scan.diagnostics, scan_budget=scan.budget,
                              linker=linker, link_root=_root_of(path, found))
            _collect(scan, expander)
            _unreached_declarations(scan, doc, expander.template, expander)
            unreached(scan, doc, expander.template, "", expander)
            _account_linked(scan, expander)
        alone[linker.key(doc.path)] = record

    for path, doc, kind in documents:
        if kind == "template" and linker.key(doc.path) not in linked_here:
            expand_alone(path, doc)
        elif kind == "resources":
            record = InputFile(doc.path, _sha256_text(doc.text), "resources")
            scan.inputs.append(record)
            always.add(linker.key(doc.path))
            record.kind = _load_rest(scan, doc, options, linker, _root_of(path, found))

    def not_alone(path: Path, doc: JsonDocument, parent: str) -> None:
        """A linked template a scanned parent deploys: its own parameter files are read, and not used."""
        reason = (f"parameter file of {doc.path}, a linked template that {parent} deploys with the parameters it "
                  f"passes: not used")
        record = alone.get(linker.key(doc.path))
        if record is not None:  # expanded on its own before it was known to be linked
            for entry in record.bound:
                entry.reason = reason
            return
        for c in own_parameter_files(path):
            got = parameters_from(c, doc.path)
            if got is not None:
                paired.add(os.path.normcase(os.path.abspath(c)))
                scan.skip_file(got[1], reason)

    _settle_links(scan, linker, templates, alone, always, expand_alone, not_alone)

    for path, doc, kind in documents:
        if kind == "parameters":
            key = os.path.normcase(os.path.abspath(path))
            if key not in paired:
                scan.inputs.append(InputFile(doc.path, _sha256_text(doc.text), "parameters"))
                scan.diagnostics.append(Diagnostic(
                    "warning", "parameter file not paired with any template (name it X.parameters.json beside "
                               "X.json, or pass --arm-parameters TEMPLATE=FILE)", doc.path, "", 1))
                scan.skip_file(doc.path, "parameter file not paired with any template", 1)
    return scan


def _root_of(path: Path, found: Walk) -> str:
    """The scanned root of a file: the directory given that held it, or, for a file given by name, its own."""
    return found.origin.get(path) or str(path.parent)


@dataclass
class _Alone:
    """A template expanded on its own, with what its expansion added to the scan (taken back if it turns out
    to be a linked template that a scanned parent deploys: linked.standalone)."""

    doc: JsonDocument
    input: InputFile
    bound: list[CoverageEntry] = field(default_factory=list)  # its parameter files' ledger entries
    added: dict[str, list[Any]] = field(default_factory=dict)  # ArmScan list -> the objects it added

    @contextmanager
    def recording(self, scan: ArmScan) -> Iterator[None]:
        lists = ("resources", "declarations", "coverage", "diagnostics")
        start = {name: len(getattr(scan, name)) for name in lists}
        try:
            yield
        finally:
            self.added = {name: getattr(scan, name)[start[name]:] for name in lists}

    def take_back(self, scan: ArmScan) -> None:
        for name, objects in self.added.items():
            ids = {id(o) for o in objects}
            getattr(scan, name)[:] = [o for o in getattr(scan, name) if id(o) not in ids]  # the same list
        scan.inputs.remove(self.input)


def _settle_links(scan: ArmScan, linker: Linker, templates: list[tuple[Path, JsonDocument]],
                  alone: dict[str, _Alone], always: set[str], expand_alone: Any, not_alone: Any) -> None:
    """Decide which templates are scanned on their own and which only through the parents that link to them
    (linked.standalone), expand those not decided yet, take back the standalone expansions of linked ones, and
    list every linked template among the inputs with the files that link to it."""
    order = [linker.key(doc.path) for _, doc in templates]

    def kept() -> set[str]:
        reaches: dict[str, set[str]] = {}
        for r in linker.reaches:
            reaches.setdefault(r.source, set()).add(r.linked.key)
        deployed = linker.reached_by(always)  # what a REST file's deployment links to is never alone
        return standalone([k for k in order if k in alone and k not in deployed], reaches)

    while True:  # a file no kept template reaches is expanded on its own; that may reach others
        linked = linker.reached_by(kept() | always)
        left = [(p, d) for (p, d), k in zip(templates, order) if k not in alone and k not in linked]
        if not left:
            break
        for path, doc in left:
            expand_alone(path, doc)
    linked = linker.reached_by(kept() | always)
    for (path, doc), key in zip(templates, order):
        if key in linked:
            if key in alone:
                alone[key].take_back(scan)
            not_alone(path, doc, linked[key][0].parent)
    walked = set(order)
    for key, reaches in linked.items():
        doc = reaches[0].linked.doc
        parents = list(dict.fromkeys(r.parent for r in reaches))
        scan.inputs.append(InputFile(doc.path, _sha256_text(doc.text), "linked-template", linked_from=parents))
        if key in walked:
            scan.skip_file(doc.path, f"a linked template: scanned through {', '.join(parents)}, which deploys it "
                                     f"with the parameters it passes, not on its own", 1)


def _account_linked(scan: ArmScan, expander: Any) -> None:
    """The linked templates an expansion read: their declarations never reached, in the ledger too."""
    for linked, template in expander.linked.values():
        _unreached_declarations(scan, linked.doc, template, expander)
        unreached(scan, linked.doc, template, "", expander)


def _static_declarations(data: Any, ptr: str, out: list[tuple[str, dict[str, Any]]]) -> None:
    """Every managedClusters declaration in a template, deployed or not (by pointer)."""
    if isinstance(data, dict):
        resources = data.get("resources")
        if isinstance(resources, dict):
            entries = [(f"{ptr}/resources/{escape_pointer_token(k)}", v) for k, v in resources.items()]
        elif isinstance(resources, list):
            entries = [(f"{ptr}/resources/{i}", v) for i, v in enumerate(resources)]
        else:
            entries = []
        for rptr, r in entries:
            if isinstance(r, dict) and str(r.get("type", "")).lower() == CLUSTER_TYPE:
                out.append((rptr, r))
        for k, v in data.items():
            _static_declarations(v, f"{ptr}/{escape_pointer_token(k)}", out)
    elif isinstance(data, list):
        for i, v in enumerate(data):
            _static_declarations(v, f"{ptr}/{i}", out)


_NESTED_TEMPLATE_TYPES = (DEPLOYMENT_TYPE, "microsoft.blueprint/blueprints/artifacts")


def template_declarations(template: Any, ptr: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every resource declaration of a template (pointer, raw): top-level, children declared inside their
    parent, and the resources of inline templates (nested deployments, blueprint artifacts), deployed or not."""
    if not isinstance(template, dict):
        return
    resources = template.get("resources")
    if isinstance(resources, dict):
        entries = [(f"{ptr}/resources/{escape_pointer_token(k)}", v) for k, v in resources.items()]
    elif isinstance(resources, list):
        entries = [(f"{ptr}/resources/{i}", v) for i, v in enumerate(resources)]
    else:
        return
    for rptr, raw in entries:
        if not isinstance(raw, dict):
            continue
        yield rptr, raw
        yield from template_declarations({"resources": raw.get("resources")}, rptr)
        props = raw.get("properties")
        if str(raw.get("type", "")).lower() in _NESTED_TEMPLATE_TYPES and isinstance(props, dict):
            yield from template_declarations(props.get("template"), f"{rptr}/properties/template")


def unreached(scan: ArmScan, doc: JsonDocument, template: Any, ptr: str, expander: Any) -> None:
    """Declarations the expansion never reached (inside a parent or nested deployment that is not deployed,
    or a linked template): in the ledger, so that nothing read is dropped in silence."""
    # an expansion covers the linked templates it read too: pointers are compared within this file
    covered = {r.source.pointer for r in expander.resources if r.source.file == doc.path} | \
        {e.pointer for e in expander.coverage if e.file == doc.path}
    for rptr, raw in template_declarations(template, ptr):
        if rptr not in covered:
            scan.not_evaluated(doc, rptr, raw.get("type"), raw.get("name"),
                               "not reached: its parent or nested deployment is not deployed (a condition that is "
                               "false, a copy count of 0, an existing reference) or cannot be expanded")


def _unreached_declarations(scan: ArmScan, doc: JsonDocument, template: Any, expander: Any) -> None:
    seen = {d.pointer for d in expander.declarations if d.file == doc.path}
    found: list[tuple[str, dict[str, Any]]] = []
    _static_declarations(template, "", found)
    for ptr, raw in found:
        if ptr in seen:
            continue
        what = "an existing-resource reference" if raw.get("existing") is True else "a cluster"
        scan.declarations.append(Declaration(
            doc.path, ptr, doc.lines.nearest_line(ptr)[0], "not-reached",
            f"{what} inside a nested deployment or parent that is not deployed "
            f"(its condition is false, its copy count is 0, or it is linked rather than inline)"))


def _deployment_name(path: Path) -> str:
    return path.name.split(".")[0] or "deployment"


def _collect(scan: ArmScan, expander: Any) -> None:
    scan.resources.extend(expander.resources)
    scan.declarations.extend(expander.declarations)
    scan.coverage.extend(expander.coverage)


def _load_rest(scan: ArmScan, doc: JsonDocument, options: ArmOptions, linker: Linker | None = None,
               root: str | None = None) -> str:
    """Read REST resources, exports and CLI outputs; the input kind: "azure-cli" when the Azure CLI's own
    shapes were read (arm/azcli.py), else "resources"."""
    data = doc.data
    if isinstance(data, list):
        items = [(f"/{i}", r) for i, r in enumerate(data)]
    elif isinstance(data, dict) and isinstance(data.get("value"), list):
        items = [(f"/value/{i}", r) for i, r in enumerate(data["value"])]
    elif is_graph_result(data):
        items = [(f"/data/{i}", r) for i, r in enumerate(data["data"])]
    else:
        items = [("", data)]
    partial = more_pages(data)
    if partial:
        where = "/nextLink" if "nextLink" in data else "/data"
        scan.diagnostics.append(Diagnostic("warning", partial, doc.path, where, doc.lines.nearest_line(where)[0]))
    stack = deque(items)
    kind = "resources"
    listed: list[str] = []  # pointers of objects that hold no properties (a listing)
    while stack:
        ptr, body = stack.popleft()
        obj, shape = body, cli_shape(body)
        if shape is not None:  # az aks show / list, az acr show, az monitor diagnostic-settings list, ...
            body = cli_body(obj, shape)
            if shape == FLATTENED or _properties_null(obj):
                kind = "azure-cli"
            if shape == LISTING:
                listed.append(ptr)
        if is_powershell_object(body):  # Get-AzResource -ExpandProperties, Export-AzRuleData: as ARM GET
            resource = powershell_resource(doc, body, ptr)
            for cptr, child in powershell_children(body, ptr):
                if is_cut(child):
                    _cut_powershell_child(scan, doc, child, cptr, resource.id)
                else:
                    stack.append((cptr, child))
            scan.resources.append(resource)
            continue
        if not isinstance(body, dict) or not isinstance(body.get("type"), str):
            scan.diagnostics.append(Diagnostic("error", "a resource must be an object with a 'type'", doc.path, ptr,
                                               doc.lines.nearest_line(ptr)[0]))
            scan.not_evaluated(doc, ptr, None, body.get("name") if isinstance(body, dict) else None,
                               "input error: a resource must be an object with a 'type'")
            continue
        if body["type"].lower() == DEPLOYMENT_TYPE and isinstance(body.get("properties"), dict) \
                and isinstance(body["properties"].get("template"), dict):
            _expand_deployment_resource(scan, doc, body, ptr, options, linker, root)
            continue
        if body["type"].lower() == BLUEPRINT_ARTIFACT_TYPE:
            _expand_artifact_resource(scan, doc, body, ptr, options, linker, root)
            continue
        children = body.get("resources")
        if isinstance(children, list):
            body = {k: v for k, v in body.items() if k != "resources"}
            stack.extend((f"{ptr}/resources/{j}", c) for j, c in enumerate(children))
        scan.resources.append(cli_resource(doc, body, obj, ptr, shape) if shape else rest_resource(doc, body, ptr))
    if listed:
        n = len(listed)
        scan.diagnostics.append(Diagnostic(
            "warning", f"{n} resource{'s' if n != 1 else ''} in this file {'have' if n != 1 else 'has'} no properties "
                       f"(a listing such as az resource list, which prints each resource's id, type, sku and tags but "
                       f"not its settings): controls that need {'their' if n != 1 else 'its'} settings say unknown; "
                       f"export the resources themselves (az aks show, az acr show, az resource show)",
            doc.path, listed[0], doc.lines.nearest_line(listed[0])[0]))
    return kind


def _properties_null(obj: dict[str, Any]) -> bool:
    """``"properties": null``: how the CLI prints a listing's resources (a REST list leaves properties out)."""
    return any(isinstance(k, str) and k.lower() == "properties" and v is None for k, v in obj.items())


def _cut_powershell_child(scan: ArmScan, doc: JsonDocument, text: str, ptr: str, parent_id: Any) -> None:
    """A nested resource ConvertTo-Json cut to a string: read as a resource of the type it names with unknown
    properties, or, naming none, listed as not evaluated; a warning either way (not the user's error)."""
    line = doc.lines.nearest_line(ptr)[0]
    child = cut_child(doc, text, ptr, parent_id)
    what = f"a {child.type} resource" if child is not None else "a resource whose type it does not say"
    scan.diagnostics.append(Diagnostic(
        "warning", f"ConvertTo-Json cut {what} to a string (its -Depth was too small): controls that need it say "
                   f"unknown; export again with ConvertTo-Json -Depth 100", doc.path, ptr, line))
    if child is None:
        scan.not_evaluated(doc, ptr, None, None, "cut to a string by ConvertTo-Json -Depth: its type is not in "
                                                 "the export")
    else:
        scan.resources.append(child)


def _expand_deployment_resource(scan: ArmScan, doc: JsonDocument, body: dict[str, Any], ptr: str,
                                options: ArmOptions, linker: Linker | None = None, root: str | None = None) -> None:
    props = body["properties"]
    supplied: dict[str, Any] = {}
    params = props.get("parameters")
    if isinstance(params, dict):
        for k, v in params.items():
            if isinstance(v, dict) and "value" in v:
                supplied[k] = v["value"]
            elif isinstance(v, dict) and "reference" in v:
                supplied[k] = Unknown(f"parameter '{k}' is a Key Vault reference; secrets are never read")
    supplied.update(options.parameters)
    name = body.get("name") if isinstance(body.get("name"), str) else "deployment"
    scope = options.scope.child(deployment_name=name)
    expander = expand(doc, props["template"], supplied, scope,
                      supplied_from=f"deployment '{name}' parameters", pointer=f"{ptr}/properties/template",
                      diagnostics=scan.diagnostics, scan_budget=scan.budget, linker=linker, link_root=root)
    _collect(scan, expander)
    _account_linked(scan, expander)
    scan.not_evaluated(doc, ptr, body.get("type"), name,
                       "a deployment: the resources of its inline template are listed on their own")
    unreached(scan, doc, expander.template, f"{ptr}/properties/template", expander)


def _expand_artifact_resource(scan: ArmScan, doc: JsonDocument, body: dict[str, Any], ptr: str,
                              options: ArmOptions, linker: Linker | None = None, root: str | None = None) -> None:
    """A blueprint artifact as exported (``Export-AzBlueprintWithArtifact``, the REST API): kind ``template``
    is expanded like a nested deployment; other kinds are listed in the ledger."""
    name = body.get("name") if isinstance(body.get("name"), str) else "blueprint-artifact"
    expander = Expander(doc, scan.diagnostics, scan.budget, linker=linker, link_root=root)
    expander.expand_artifact(body, None, ptr, name, 0, in_template=False,
                             scope=options.scope.child(deployment_name=name))
    _collect(scan, expander)
    _account_linked(scan, expander)
    kind = body.get("kind")
    scan.not_evaluated(doc, ptr, body.get("type"), name,
                       "a blueprint artifact of kind template: the resources of its template are listed on their own"
                       if isinstance(kind, str) and kind.lower() == "template" else
                       f"a blueprint artifact of kind {kind!r}: no control judges it")
    props = body.get("properties")
    if isinstance(props, dict) and isinstance(props.get("template"), dict):
        unreached(scan, doc, props["template"], f"{ptr}/properties/template", expander)

