"""Expanding a deployment template into the resources it would deploy.

Handles what real templates use: parameters with defaults and parameter files, variables (with
``copy``), user-defined functions, resource and property ``copy`` loops, ``condition``, child resources
declared nested or top-level, extension resources (``scope`` or ``.../providers/...`` names),
nested deployments with inner and outer expression scope, linked templates by ``templateLink.relativePath``
(read beside their parent by the scan's linker, arm/linked.py), ``languageVersion 2.0`` symbolic resources,
and ``reference()`` to the outputs of nested deployments in the same template (Bicep modules pass
values this way). A resource's body is evaluated only when a control needs it.
"""

from __future__ import annotations

from typing import Any, Iterator
from urllib.parse import urljoin

from ..diagnostics import NOT_EVALUATED, CoverageEntry, Declaration, Diagnostic
from ..errors import EvaluationLimit, ExpressionError
from ..jsonc import JsonDocument, escape_pointer_token
from ..redaction import is_secure_type
from ..resources import CLUSTER_TYPE, DEPLOYMENT_TYPE, REQUEST, Resource, Source, name_from_id, type_from_id
from ..values import Placeholder, Unknown
from ..wording import json_type
from .context import DeploymentScope, RuntimeObject, TemplateContext
from ..policy.conditions import MalformedValue
from .expressions import EXPRESSION_ERROR, Budget, ScanBudget
from .functions import to_text
from .linked import LinkedDoc, Linker
from .shapes import FailedExpression
from .structure import canonical_template

_NOT_IN_BODY = {"resources", "copy", "condition", "dependson", "comments", "scope", "existing",
                "metadata", "import", "apiprofile"}
MAX_NESTING = 64
BLUEPRINT_ARTIFACT_TYPE = "microsoft.blueprint/blueprints/artifacts"
# Work units of one resource instance: each becomes a target that every control of its type judges, so a
# template's budget (MAX_STEPS) allows about 2,000 of them (ARM itself allows 800 per deployment).
RESOURCE_UNITS = 1000
MAX_TEMPLATE_RESOURCES = 800  # ARM's limit per template, copies included (template best practices)
# Why a nested deployment with a templateLink is judged by no control (the coverage ledger; targets.py)
LINKED = ("a linked deployment (templateLink.relativePath): the resources of its linked template are listed on their "
          "own, under that file")
LINK_NOT_READ = ("a linked deployment (templateLink.relativePath) whose template could not be read: what it deploys "
                 "is not scanned (the error says why)")
URI_NOT_FETCHED = ("a linked deployment (templateLink): its template is not fetched (templateLink.uri: the scan reads no "
                   "URL), so what it deploys is not scanned")
SPEC_NOT_FETCHED = ("a linked deployment (templateLink): its template is not fetched (templateLink.id: a template spec), "
                    "so what it deploys is not scanned")
# Work a file's own template may do without drawing on the scan's budget, per character of the file: a resource
# declaration of 125 characters pays for its instance. Honest templates stay far below (the corpus 0.13-0.61
# units per character, the benchmark fleet about 1); what the scan budget bounds is amplification.
FREE_UNITS_PER_CHARACTER = 8


class NestedDeployment:
    """A ``Microsoft.Resources/deployments`` resource with an inline template, expanded once."""

    def __init__(self, expander: "Expander", raw: dict[str, Any], ctx: TemplateContext, ptr: str,
                 name: Any, depth: int, cond: Any = True) -> None:
        self.expander = expander
        # what it deploys is deployed only if its own condition (and any around it) holds
        self.enclosing = expander.within(cond)
        self.raw = raw
        self.ctx = ctx
        self.ptr = ptr
        self.name = name
        self.depth = depth
        self.child_ctx: TemplateContext | None = None
        self.state = "new"
        self._outputs: Any = None
        self.template: Any = None  # the template it deploys (inline, or read through its templateLink)
        self.template_ptr = ""  # where that template is in its document
        self.relative: str | None = None  # templateLink.relativePath, when it was read through one
        self.coverage_reason: str | None = None  # why the deployment itself is judged by no control (linked)

    def expand(self) -> None:
        if self.state != "new":
            return
        self.state = "expanding"
        outer, self.expander.enclosing = self.expander.enclosing, self.enclosing
        try:
            self._expand()
        finally:
            self.state = "done"
            self.expander.enclosing = outer

    def _expand(self) -> None:
        props = self.raw.get("properties")
        if not isinstance(props, dict):
            return
        ptr = f"{self.ptr}/properties"
        template = props.get("template")
        doc, tptr, linked = self.ctx.doc, f"{ptr}/template", None
        if not isinstance(template, dict):
            if "templateLink" not in props:
                return
            linked = self.expander.read_link(self, props["templateLink"], f"{ptr}/templateLink")
            if linked is None:
                return
            doc, template, tptr = linked.doc, self.expander.linked_template(linked), ""
        elif self.depth >= MAX_NESTING:
            self.expander.error(f"nested deployments go deeper than {MAX_NESTING} levels; not expanded",
                                self.ctx.doc, ptr)
            return
        self.template, self.template_ptr = template, tptr
        options = props.get("expressionEvaluationOptions")
        scope_mode = "outer"
        if linked is not None:
            scope_mode = "inner"  # a linked template is always a deployment of its own: its own scope
        elif isinstance(options, dict):
            scope_mode = str(self.ctx.eval_value(options.get("scope", "outer"), ptr)).lower()
        name = self.name if isinstance(self.name, str) else "nested-deployment"
        target: dict[str, Any] = {}  # where its resources land: the resource group and subscription it names
        rg = self.raw.get("resourceGroup")
        if rg is not None:
            rg_value = self.ctx.eval_value(rg, f"{self.ptr}/resourceGroup")
            if isinstance(rg_value, str):
                target["resource_group"] = rg_value
        sub = self.raw.get("subscriptionId")
        if sub is not None:
            sub_value = self.ctx.eval_value(sub, f"{self.ptr}/subscriptionId")
            if isinstance(sub_value, str):
                target["subscription_id"] = sub_value
        if scope_mode == "inner":
            supplied = self._supplied(props, ptr, template)
            base = self.ctx.deploy_scope  # a deployment of its own, in the group its parent deploys to
            if linked is not None:  # deployment().properties.templateLink.uri: the parent's, joined (or unknown)
                target["template_uri"] = urljoin(base.template_uri, self.relative or "") if base.template_uri \
                    else None
            if target.get("resource_group", base.resource_group) != base.resource_group or \
                    target.get("subscription_id", base.subscription_id) != base.subscription_id:
                # resourceGroup().location there is that group's, which nothing here says
                target["location"] = Placeholder(
                    f"{target.get('resource_group', base.resource_group)}-location",
                    f"the location of resource group '{target.get('resource_group', base.resource_group)}' "
                    f"(nested deployment {self._label()} deploys there), which is not known offline")
            child = TemplateContext(template, supplied, base.child(deployment_name=name, **target),
                                    doc, tptr, self.expander, supplied_from=f"nested deployment {self._label()}")
            child.links = self.ctx.links + (((doc.path, linked.key),) if linked is not None else ())
            self.expander.check_supplied(child, supplied, self.ctx.doc, f"{ptr}/parameters")
        elif target:
            # outer scope: its expressions are the parent's (resourceGroup() is still the parent's group),
            # but what it deploys lands in the group it names, and has that group's ids
            child = self.ctx.deploying_to(self.ctx.deploy_scope.child(**target))
        else:
            child = self.ctx
        self.child_ctx = child
        self.expander.expand_template(template, child, tptr, self.depth + 1)

    def _label(self) -> str:
        return f"'{self.name}'" if isinstance(self.name, str) else f"at {self.ptr}"

    def _supplied(self, props: dict[str, Any], ptr: str, template: dict[str, Any]) -> dict[str, Any]:
        """The parameter values the deployment passes to its template (inner scope, or linked)."""
        if "parametersLink" not in props:
            return self._parameters(props.get("parameters"), f"{ptr}/parameters", template)
        where = f"{ptr}/parametersLink"
        if "parameters" in props:
            self.expander.error(f"nested deployment {self._label()} sets both 'parameters' and 'parametersLink': "
                                f"ARM takes one or the other and rejects the deployment", self.ctx.doc, where)
        self.expander.warn(f"nested deployment {self._label()} takes its parameters from parametersLink, which is "
                           f"not fetched (the scan reads no URL): every parameter of its template is unknown (pass "
                           f"them in 'parameters' to have them judged)", self.ctx.doc, where)
        decls = template.get("parameters")
        return {k: Unknown(f"parameter '{k}' of nested deployment {self._label()} comes from its parametersLink, "
                           f"which is not fetched") for k in (decls if isinstance(decls, dict) else {})}

    def _parameters(self, raw: Any, ptr: str, template: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if not isinstance(raw, dict):
            return out
        decls = template.get("parameters")
        secure = {k.lower() for k, d in decls.items() if isinstance(d, dict) and is_secure_type(d.get("type"))} \
            if isinstance(decls, dict) else set()
        for k, v in raw.items():
            p = f"{ptr}/{escape_pointer_token(k)}"
            if isinstance(v, dict) and "value" in v and k.lower() in secure:
                out[k] = self.ctx.eval_secret(v["value"], f"{p}/value",
                                              f"the value of secure parameter '{k}' of nested deployment {self._label()}")
            elif isinstance(v, dict) and "value" in v:
                out[k] = self.ctx.eval_value(v["value"], f"{p}/value")
            elif isinstance(v, dict) and "reference" in v:
                out[k] = Unknown(f"parameter '{k}' of nested deployment {self._label()} is a Key Vault "
                                 f"reference, which is never read")
            else:
                out[k] = Unknown(f"parameter '{k}' of nested deployment {self._label()} has no 'value'")
        return out

    def outputs(self) -> Any:
        self.expand()
        if self._outputs is not None:
            return self._outputs
        ctx = self.child_ctx
        template = self.template
        if ctx is None or not isinstance(template, dict):
            return Unknown(f"the outputs of nested deployment {self._label()} are not known offline")
        raw_outputs = template.get("outputs") if isinstance(template.get("outputs"), dict) else {}
        self._outputs = Unknown(f"the outputs of nested deployment {self._label()} refer to themselves")
        result: dict[str, Any] = {}
        for k, spec in raw_outputs.items():
            if not isinstance(spec, dict):
                continue
            optr = f"{self.template_ptr}/outputs/{escape_pointer_token(k)}"
            otype = ctx._resolve_type(spec).get("type")
            if is_secure_type(otype):
                # ARM does not return a secure output with the deployment's outputs (reference() never sees
                # it): evaluated for its errors (reported without their text), then never read
                ctx.eval_secret(spec.get("value"), f"{optr}/value", f"secure output '{k}' of nested deployment "
                                                                      f"{self._label()}")
                value = Unknown(f"secure output '{k}' of nested deployment {self._label()} is not read")
            elif "copy" in spec and isinstance(spec["copy"], dict):
                value = ctx.property_copy(spec["copy"], f"{optr}/copy")
            else:
                value = ctx.eval_value(spec.get("value"), f"{optr}/value")
            result[k] = {"type": spec.get("type"), "value": value}
        self._outputs = result
        return result


class Expander:
    """Expands the templates of one file into resources, collecting diagnostics."""

    def __init__(self, doc: JsonDocument, diagnostics: list[Diagnostic] | None = None,
                 scan_budget: ScanBudget | None = None, linker: Linker | None = None,
                 link_root: str | None = None, free: int = 0) -> None:
        self.doc = doc
        # linked templates (templateLink.relativePath): read by the scan's linker, never above link_root
        self.linker = linker
        self.link_root = link_root
        self.source_key = linker.key(doc.path) if linker is not None else doc.path
        self.linked: dict[str, tuple[LinkedDoc, dict[str, Any]]] = {}  # key -> read, and as expanded
        self.budget = Budget(scan=scan_budget, free=free)  # the template's work units (arm/expressions.py)
        self.resources: list[Resource] = []
        # Shared with the scan: bodies are evaluated lazily, after expansion has returned.
        self.diagnostics: list[Diagnostic] = diagnostics if diagnostics is not None else []
        self.declarations: list[Declaration] = []
        # declarations that became no Resource, with the reason (the coverage ledger)
        self.coverage: list[CoverageEntry] = []
        self._seen_diag: set[tuple[str, str, str]] = set()
        self.evaluating = 0  # nesting of expression evaluations (variables read inside expressions)
        self.secret: str | None = None  # what secret value is being evaluated (TemplateContext.eval_secret)
        self.in_default = 0  # nesting of parameter default values being evaluated (utcNow() and newGuid() live only there)
        self._deployments: dict[tuple[str, Any], NestedDeployment] = {}
        self.template: Any = None  # the top-level template as read (set by expand())
        # the unknown condition of the parent resource or nested deployment being expanded, if any: what is
        # declared inside is deployed only if it holds
        self.enclosing: Unknown | None = None

    # -- diagnostics --
    def _add(self, severity: str, message: str, doc: JsonDocument, ptr: str) -> Diagnostic:
        line = doc.lines.nearest_line(ptr)[0]
        key = (doc.path, ptr, message)
        diag = Diagnostic(severity, message, doc.path, ptr, line)
        if key not in self._seen_diag:
            self._seen_diag.add(key)
            self.diagnostics.append(diag)
        return diag

    def error(self, message: str, doc: JsonDocument, ptr: str) -> Diagnostic:
        return self._add("error", message, doc, ptr)

    def warn(self, message: str, doc: JsonDocument, ptr: str) -> Diagnostic:
        return self._add("warning", message, doc, ptr)

    def expression_failed(self, exc: ExpressionError, doc: JsonDocument, ptr: str) -> Unknown:
        if self.secret is not None:  # the message and the expression could quote the secret
            exc = ExpressionError(f"{self.secret} cannot be evaluated (the error is not shown: it could "
                                  f"quote the secret value)")
        diag = self.error(str(exc), doc, ptr)
        return Unknown(f"{EXPRESSION_ERROR} at {diag.where()}: {exc}")

    def check_supplied(self, ctx: TemplateContext, supplied: dict[str, Any], doc: JsonDocument,
                       ptr: str, source: str | None = None) -> None:
        for k in supplied:
            if k.lower() not in ctx.param_decls:
                self.warn(f"{source or 'the deployment'} sets parameter '{k}', which the template does not "
                          f"declare; it is ignored", doc, ptr)
            else:  # ARM checks every value given (type, allowed values, limits), whether the template reads it or not
                try:
                    ctx.parameter(k)
                except ExpressionError:  # a problem of the template's own declaration: reported where it is read
                    pass

    # -- linked templates --
    def read_link(self, nd: NestedDeployment, link: Any, ptr: str) -> LinkedDoc | None:
        """The template a deployment's ``templateLink`` names, read when it is a ``relativePath`` beside its
        parent; otherwise (a URI, a template spec, a link that cannot be read) None, with the reason said and
        kept for the ledger (``nd.coverage_reason``)."""
        ctx, label = nd.ctx, nd._label()
        if not isinstance(link, dict):
            self.error(f"templateLink of nested deployment {label} must be an object, not {json_type(link)}",
                       ctx.doc, ptr)
            nd.coverage_reason = LINK_NOT_READ
            return None
        keys = {k.lower(): k for k in link if isinstance(k, str)}
        if "id" in keys:
            self.warn(f"nested deployment {label} deploys a template spec (templateLink.id): linked templates are not "
                      f"fetched, so what it deploys is not scanned; to scan it, export the template spec (az ts export "
                      f"--output-folder DIR) and scan the exported template with the parameters this deployment "
                      f"passes", ctx.doc, ptr)
            nd.coverage_reason = SPEC_NOT_FETCHED
            return None
        if "uri" in keys:
            self.warn(f"nested deployment {label} links its template by URI (templateLink.uri): linked templates are "
                      f"not fetched (the scan reads no URL), so what it deploys is not scanned; to scan it, keep the "
                      f"template beside its parent and link it with templateLink.relativePath (resolved against the "
                      f"parent's location), or scan it on its own with the parameters this deployment passes",
                      ctx.doc, ptr)
            nd.coverage_reason = URI_NOT_FETCHED
            return None
        if "relativepath" not in keys:
            self.error(f"templateLink of nested deployment {label} has no 'relativePath', 'uri' or 'id'", ctx.doc, ptr)
            nd.coverage_reason = LINK_NOT_READ
            return None
        rptr = f"{ptr}/{escape_pointer_token(keys['relativepath'])}"
        relative = ctx.eval_value(link[keys["relativepath"]], rptr)
        if isinstance(relative, Unknown):
            self.warn(f"the templateLink.relativePath of nested deployment {label} is unknown ({relative.reason}): "
                      f"its linked template is not read, so what it deploys is not scanned", ctx.doc, rptr)
            nd.coverage_reason = "a linked deployment whose templateLink.relativePath is unknown: what it deploys " \
                                 "is not scanned"
            return None
        if self.linker is None and isinstance(relative, str):  # an Azure snapshot's export: not a file on disk
            self.warn(f"nested deployment {label} links {relative!r} by relativePath, but this template is not a "
                      f"file of its own, so there is nothing it is relative to: what it deploys is not scanned",
                      ctx.doc, rptr)
            nd.coverage_reason = LINK_NOT_READ
            return None
        got: LinkedDoc | str
        if not isinstance(relative, str):
            got = f"relativePath must be a string, not {to_text(relative)!r}"
        else:
            got = self.linker.read(ctx.doc.path, relative, self.link_root)  # type: ignore[union-attr]
        if isinstance(got, LinkedDoc):
            chain = [p for p, _ in ctx.links] + [got.doc.path]
            if any(key == got.key for _, key in ctx.links):
                got = f"linked templates form a cycle: {' -> '.join(chain)}; ARM cannot deploy it"
            elif nd.depth >= MAX_NESTING:
                got = (f"nested deployments go deeper than {MAX_NESTING} levels; not expanded (linked templates "
                       f"{' -> '.join(chain)})")
        if isinstance(got, str):
            shown = f" {relative!r}" if isinstance(relative, str) else ""
            self.error(f"the linked template{shown} of nested deployment {label} is not read: {got}", ctx.doc, rptr)
            nd.coverage_reason = LINK_NOT_READ
            return None
        if "contentversion" in keys:  # "if included, must match the ContentVersion in the template"
            cptr = f"{ptr}/{escape_pointer_token(keys['contentversion'])}"
            wanted = ctx.eval_value(link[keys["contentversion"]], cptr)
            have = next((v for k, v in got.template.items() if k.lower() == "contentversion"), None)
            if not isinstance(wanted, Unknown) and wanted != have:
                self.error(f"templateLink.contentVersion of nested deployment {label} is {to_text(wanted)!r}, but the "
                           f"linked template {got.doc.path} has contentVersion {to_text(have)!r}: ARM rejects the "
                           f"deployment", ctx.doc, cptr)
                nd.coverage_reason = LINK_NOT_READ
                return None
        nd.relative = relative
        nd.coverage_reason = LINKED
        self.linker.reached(self.source_key, got, ctx.doc.path, ptr)  # type: ignore[union-attr]
        return got

    def linked_template(self, linked: LinkedDoc) -> dict[str, Any]:
        """The linked template as expanded (structural keys spelt canonically), made once per file."""
        if linked.key not in self.linked:
            self.linked[linked.key] = (linked, canonical_template(linked.template))
            # a file read is work in proportion to its size, as the top-level file's (once: a link in a copy
            # loop deploys it many times, and that draws on the scan's budget)
            self.budget.free += FREE_UNITS_PER_CHARACTER * len(linked.doc.text)
        return self.linked[linked.key][1]

    def within(self, cond: Any) -> Any:
        """A declaration's condition where it stands: its own unknown one, else the unknown one around it."""
        if isinstance(cond, Unknown) or self.enclosing is None:
            return cond
        return self.enclosing if cond is True else cond

    # -- expansion --
    def expand_template(self, template: dict[str, Any], ctx: TemplateContext, ptr: str, depth: int = 0) -> None:
        raw_resources = template.get("resources")
        items: list[tuple[str | None, Any, str]] = []
        if isinstance(raw_resources, dict):
            items = [(sym, r, f"{ptr}/resources/{escape_pointer_token(sym)}") for sym, r in raw_resources.items()]
        elif isinstance(raw_resources, list):
            items = [(None, r, f"{ptr}/resources/{i}") for i, r in enumerate(raw_resources)]
        elif raw_resources is not None:
            self.error(f"'resources' must be an array (or an object in languageVersion 2.0), "
                       f"not {json_type(raw_resources)}", ctx.doc, f"{ptr}/resources")
            return
        if len(items) > MAX_TEMPLATE_RESOURCES:  # still read: what it declares is judged as far as the budget goes
            self.warn(f"the template declares {len(items):,} resources; Azure Resource Manager rejects a template "
                      f"with more than {MAX_TEMPLATE_RESOURCES} (copies included), so it cannot be deployed as it is",
                      ctx.doc, f"{ptr}/resources")
        # First register nested deployments, so reference() to their outputs works in any order.
        for sym, raw, rptr in items:
            if isinstance(raw, dict) and _literal_type(raw) == DEPLOYMENT_TYPE:
                for ictx, index, cond in self._instances(raw, ctx, rptr):
                    if cond is False:
                        continue
                    name = ictx.eval_value(raw.get("name"), f"{rptr}/name")
                    nd = NestedDeployment(self, raw, ictx, rptr, name, depth, cond)
                    self._deployments[(rptr, index)] = nd
                    if isinstance(name, str):
                        ctx.deployments[name.lower()] = nd
                    if sym:
                        ctx.deployments[sym.lower()] = nd
                        if isinstance(index, int):  # Bicep reads a module of a loop as reference('mods[0]')
                            ctx.deployments[f"{sym.lower()}[{index}]"] = nd
        for sym, raw, rptr in items:
            self.expand_resource(raw, ctx, rptr, None, depth, sym)

    def _instances(self, raw: dict[str, Any], ctx: TemplateContext, ptr: str
                   ) -> Iterator[tuple[TemplateContext, Any, bool | Unknown]]:
        if ctx.budget.exhausted:  # reported once where it ran out; nothing more of this template is expanded
            return
        copy = raw.get("copy")
        if isinstance(copy, dict):
            loop = str(copy.get("name", "copy"))
            n = ctx.count(copy.get("count"), f"{ptr}/copy/count", f"copy loop '{loop}'")
            if isinstance(n, Unknown) and _refused(n):
                # ARM fails the deployment on a copy count it cannot evaluate: one instance, rejected
                yield ctx.with_copy(loop, Unknown(f"the copy count of loop '{loop}' is unknown: {n.reason}")), "?", \
                    _CountRefused(n.reason)
                return
            if isinstance(n, Unknown):
                indexes: list[Any] = [Unknown(f"the copy count of loop '{loop}' is unknown: {n.reason}")]
            else:
                indexes = list(range(n))
                try:  # charged before expanding: copy counts of nested deployments multiply
                    ctx.budget.spend(n * RESOURCE_UNITS, f"copy loop '{loop}' of {n} instances")
                except ExpressionError as exc:
                    self.expression_failed(exc, ctx.doc, f"{ptr}/copy/count")
                    return
            for i in indexes:
                if ctx.budget.exhausted:
                    return
                ictx = ctx.with_copy(loop, i)
                yield ictx, (i if isinstance(i, int) else "?"), self._condition(raw, ictx, ptr)
        else:
            try:
                ctx.budget.spend(RESOURCE_UNITS)
            except ExpressionError as exc:
                self.expression_failed(exc, ctx.doc, ptr)
                return
            yield ctx, None, self._condition(raw, ctx, ptr)

    def _condition(self, raw: dict[str, Any], ctx: TemplateContext, ptr: str) -> bool | Unknown:
        if "condition" not in raw:
            return True
        value = ctx.eval_value(raw["condition"], f"{ptr}/condition")
        if isinstance(value, Unknown):
            return value
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        diag = self.error(f"condition must be a boolean, not {to_text(value)!r}", ctx.doc, f"{ptr}/condition")
        # ARM refuses the deployment as it refuses an expression it cannot evaluate
        return Unknown(f"{EXPRESSION_ERROR} at {diag.where()}: condition must be a boolean, not {to_text(value)!r}")

    def skip(self, doc: JsonDocument, ptr: str, raw: Any, reason: str) -> None:
        """A declaration that deploys nothing the controls can judge: in the ledger, with the reason."""
        rtype = raw.get("type") if isinstance(raw, dict) else None
        name = raw.get("name") if isinstance(raw, dict) else None
        self.coverage.append(CoverageEntry(
            family="arm", type=rtype if isinstance(rtype, str) else "(no type)",
            name=name if isinstance(name, str) else f"(unnamed at {ptr or '/'})", status=NOT_EVALUATED,
            reason=reason, file=doc.path, pointer=ptr, line=doc.lines.nearest_line(ptr)[0]))

    def expand_resource(self, raw: Any, ctx: TemplateContext, ptr: str,
                        parent: tuple[str, Any, Any] | None, depth: int, symbol: str | None = None) -> None:
        if not isinstance(raw, dict):
            diag = self.error(f"a resource must be an object, not {json_type(raw)}", ctx.doc, ptr)
            self.skip(ctx.doc, ptr, raw, f"input error: {diag.message}")
            return
        is_cluster = _literal_type(raw) == CLUSTER_TYPE and parent is None
        if raw.get("existing") is True:
            if is_cluster:
                self._declare(ctx.doc, ptr, "existing",
                              "declared as an existing resource: its settings are not in this template")
            self.skip(ctx.doc, ptr, raw, "an existing-resource reference: its settings are not in this template")
            return
        reached = instances = 0
        for ictx, index, cond in self._instances(raw, ctx, ptr):
            instances += 1
            if cond is False:
                continue
            reached += 1
            self._expand_instance(raw, ictx, ptr, parent, depth, index, cond, symbol)
        stopped = not reached and ctx.budget.exhausted  # the template's work budget ran out before or here
        if stopped:
            self.skip(ctx.doc, ptr, raw, STOPPED)
        elif not reached:
            self.skip(ctx.doc, ptr, raw, "not deployed: its condition is false" if instances
                      else "not deployed: its copy count is 0")
        if is_cluster:
            if reached:
                self._declare(ctx.doc, ptr, "deployed")
            elif stopped:
                self._declare(ctx.doc, ptr, "not-reached", STOPPED)
            else:
                self._declare(ctx.doc, ptr, "condition-false", "not deployed: its condition is false "
                              "(or its copy count is 0)")

    def _declare(self, doc: JsonDocument, ptr: str, status: str, detail: str = "") -> None:
        self.declarations.append(Declaration(doc.path, ptr, doc.lines.nearest_line(ptr)[0], status, detail))

    def _expand_instance(self, raw: dict[str, Any], ctx: TemplateContext, ptr: str,
                         parent: tuple[str, Any, Any] | None, depth: int, index: Any,
                         cond: bool | Unknown, symbol: str | None) -> None:
        cond = self.within(cond)
        rtype = ctx.eval_value(raw.get("type"), f"{ptr}/type")
        if not isinstance(rtype, str) or "/" not in rtype and parent is None:
            if not isinstance(rtype, Unknown):
                diag = self.error(f"resource type must be a string like 'Namespace/type', not {to_text(rtype)!r}",
                                  ctx.doc, f"{ptr}/type")
                self.skip(ctx.doc, ptr, raw, f"input error: {diag.message}")
            else:
                self.skip(ctx.doc, ptr, raw, f"its type is unknown: {rtype.reason}")
            return
        name = ctx.eval_value(raw.get("name"), f"{ptr}/name")
        if name is not None and not isinstance(name, (str, Unknown)):
            self.error(f"resource name must be a string, not {to_text(name)!r}", ctx.doc, f"{ptr}/name")
            name = Unknown(f"the name at {ctx.doc.path}{ptr}/name is not a string")
        if name is None:
            name = Unknown(f"the resource at {ctx.doc.path}{ptr} has no name")
        full_type, full_name = _qualify(rtype, name, parent)
        scope_id = None
        if "scope" in raw:
            scope_value = ctx.eval_value(raw["scope"], f"{ptr}/scope")
            scope_id = _scope_id(scope_value, ctx)
            if isinstance(scope_id, Unknown) and not isinstance(scope_value, Unknown):
                self.error(f"scope must be a resource id (or 'Namespace/type/name'), not {to_text(scope_value)!r}",
                           ctx.doc, f"{ptr}/scope")
        ext = _extension_from_name(full_type, full_name, ctx) if scope_id is None else None
        if ext is not None:
            full_type, full_name, scope_id = ext
        rid = _resource_id(full_type, full_name, scope_id, ctx)
        if isinstance(full_name, str) and isinstance(rid, Unknown) and not isinstance(scope_id, Unknown) \
                and full_type.count("/") >= 2 and full_name.count("/") != full_type.count("/") - 1:
            # ARM rejects the deployment ("incorrect segment lengths"): a child resource names its parent,
            # as a node pool is named 'cluster/pool'. (A root name with a '/' keeps an unknown id, as before.)
            example = "/".join(f"<{t}>" for t in full_type.split("/")[1:])
            diag = self.error(f"the resource name '{full_name}' has incorrect segment lengths for its type "
                              f"'{full_type}': ARM needs a name of {full_type.count('/')} segment(s) ('{example}') "
                              f"and rejects the deployment", ctx.doc, f"{ptr}/name")
            self.skip(ctx.doc, ptr, raw, f"input error: {diag.message}")
            return
        source = Source(ctx.doc.path, ptr, ctx.doc)
        nd = None
        if full_type.lower() == DEPLOYMENT_TYPE:
            nd = self._deployments.get((ptr, index))
            if nd is None:
                nd = NestedDeployment(self, raw, ctx, ptr, name, depth, cond)
                self._deployments[(ptr, index)] = nd
            nd.expand()
        elif full_type.lower() == BLUEPRINT_ARTIFACT_TYPE:
            self.expand_artifact(raw, ctx, ptr, name, depth, in_template=True)
        body_name = full_name if isinstance(full_name, Unknown) else full_name.rsplit("/", 1)[-1]
        api = ctx.eval_value(raw["apiVersion"], f"{ptr}/apiVersion") if "apiVersion" in raw else None
        resource = Resource(full_type, full_name, rid, source,
                            make_body=_body_maker(raw, ctx, ptr, full_type, body_name, rid),
                            scope_id=scope_id, condition=cond, state=REQUEST,
                            api_version=api if isinstance(api, (str, Unknown)) else None)
        if isinstance(cond, Unknown) and _refused(cond):
            # a condition or copy count ARM cannot evaluate (its own or an enclosing deployment's) fails the
            # deployment: nothing of it is created, so no control may judge its body
            path = "copy.count" if isinstance(cond, _CountRefused) else "condition"
            resource.rejection = FailedExpression(path, cond.reason, resource.where_of(path))
        elif isinstance(cond, Unknown):
            resource.notes.append(f"deployed only if its condition holds, which is unknown: {cond.reason}")
        if isinstance(full_name, Unknown) and full_name.reason.startswith(EXPRESSION_ERROR):
            # a name ARM cannot evaluate (or under a parent's that it cannot): ARM rejects the deployment, so
            # no control may pass this instance for what its body says
            resource.rejection = MalformedValue("name", "a string", None, found=f"a name expression ARM cannot "
                                                                                f"evaluate ({full_name.reason})")
        if nd is not None:
            resource.coverage_reason = nd.coverage_reason
        self.resources.append(resource)
        children = raw.get("resources")
        if isinstance(children, list):
            outer, self.enclosing = self.enclosing, cond if isinstance(cond, Unknown) else self.enclosing
            try:
                for j, child in enumerate(children):
                    self.expand_resource(child, ctx, f"{ptr}/resources/{j}", (full_type, full_name, rid), depth)
            finally:
                self.enclosing = outer

    # -- blueprint artifacts --
    def expand_artifact(self, raw: dict[str, Any], ctx: TemplateContext | None, ptr: str, name: Any, depth: int,
                        in_template: bool, scope: DeploymentScope | None = None) -> None:
        """A ``Microsoft.Blueprint/blueprints/artifacts`` resource of kind ``template``: its template is
        expanded like a nested deployment with inner scope, its parameters bound from the artifact.

        Inside an ARM template, ARM evaluates the artifact's properties when it deploys the artifact, so
        authors escape the artifact template's expressions (``[[``); they are unescaped here. A parameter
        value that is a blueprint expression (``[parameters('x')]``) names a blueprint parameter, set when the
        blueprint is assigned: unknown."""
        doc = ctx.doc if ctx is not None else self.doc
        label = f"'{name}'" if isinstance(name, str) else f"at {ptr}"
        kind = raw.get("kind")
        if ctx is not None:
            kind = ctx.eval_value(kind, f"{ptr}/kind")
        if not (isinstance(kind, str) and kind.lower() == "template"):
            return  # policyAssignment / roleAssignment artifacts: listed in the ledger, judged by no control
        self.warn(f"blueprint artifact {label}: Azure Blueprints is being retired (phased from 31 July 2026, "
                  f"retired 31 January 2027, https://aka.ms/AzureBlueprintsRetirement); its template is scanned "
                  f"as a nested deployment, and should move to a template spec or a deployment stack", doc, ptr)
        props = raw.get("properties")
        template = props.get("template") if isinstance(props, dict) else None
        if not isinstance(template, dict):
            self.error(f"blueprint artifact {label} of kind template has no 'properties.template' object", doc,
                       f"{ptr}/properties")
            return
        if depth >= MAX_NESTING:
            self.error(f"nested deployments go deeper than {MAX_NESTING} levels; not expanded", doc, ptr)
            return
        pptr = f"{ptr}/properties/parameters"
        supplied: dict[str, Any] = {}
        raw_params = props.get("parameters")
        for k, v in (raw_params.items() if isinstance(raw_params, dict) else []):
            vptr = f"{pptr}/{escape_pointer_token(k)}/value"
            if not (isinstance(v, dict) and "value" in v):
                supplied[k] = Unknown(f"parameter '{k}' of blueprint artifact {label} has no 'value'")
                continue
            value = ctx.eval_value(v["value"], vptr) if ctx is not None else v["value"]
            if isinstance(value, str) and value.startswith("[") and not value.startswith("[["):
                value = Unknown(f"parameter '{k}' of blueprint artifact {label} is {value}: a blueprint "
                                f"parameter or expression, resolved when the blueprint is assigned")
            supplied[k] = value
        if in_template:
            template = _unescape(template)
        base = scope if scope is not None else ctx.scope  # type: ignore[union-attr]
        changes: dict[str, Any] = {"deployment_name": name if isinstance(name, str) else "blueprint-artifact"}
        rg = props.get("resourceGroup") if isinstance(props, dict) else None
        if isinstance(rg, str) and not rg.startswith("["):
            changes["resource_group"] = rg  # the blueprint's resource group placeholder name
        tptr = f"{ptr}/properties/template"
        child = TemplateContext(template, supplied, base.child(**changes), doc, tptr, self,
                                supplied_from=f"blueprint artifact {label}")
        child.links = ctx.links if ctx is not None else ((doc.path, self.source_key),)
        self.check_supplied(child, supplied, doc, pptr)
        self.expand_template(template, child, tptr, depth + 1)

    # -- reference() to deployment outputs --
    def resolve_reference(self, ctx: TemplateContext, target: str) -> Any:
        key = None
        if "/" not in target:
            key = target.lower()
        else:
            low = target.lower()
            marker = "/providers/microsoft.resources/deployments/"
            if marker in low:
                key = low.rsplit(marker, 1)[1].strip("/")
                if "/" in key:
                    return None
            elif low.startswith("microsoft.resources/deployments/"):
                key = low.split("/", 2)[2]
        if key is None:
            return None
        nd = ctx.deployments.get(key)
        if nd is None:
            return None
        if nd.state == "expanding" and nd._outputs is None and nd.child_ctx is None:
            return None
        outputs = nd.outputs()
        if isinstance(outputs, Unknown):
            return outputs
        return RuntimeObject({"outputs": outputs},
                             f"reference('{target}') reads deployed state other than outputs")


def _unescape(value: Any) -> Any:
    """``[[expr]`` -> ``[expr]`` throughout (ARM's escape, which deploying the enclosing template removes)."""
    if isinstance(value, str):
        return value[1:] if value.startswith("[[") else value
    if isinstance(value, dict):
        return {k: _unescape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unescape(v) for v in value]
    return value


# what a resource the template's evaluation never reached is, in the coverage and the declarations: neither
# judged nor "not deployed" (that would tell the auditor the template does not deploy it)
STOPPED = ("not evaluated: the template's evaluation was stopped before this resource (its work budget ran out; "
           "the error names where)")


def _literal_type(raw: dict[str, Any]) -> str | None:
    t = raw.get("type")
    return t.lower() if isinstance(t, str) and not t.startswith("[") else None


def _qualify(rtype: str, name: Any, parent: tuple[str, Any, Any] | None) -> tuple[str, Any]:
    """Full type and name of a resource; a child declared inside its parent has relative ones."""
    if parent is None:
        return rtype, name
    ptype, pname, _ = parent
    relative = "." not in rtype.split("/", 1)[0]  # 'subnets', 'providers/diagnosticSettings'
    if relative:
        full_type = f"{ptype}/{rtype}"
        if isinstance(name, Unknown):
            return full_type, name
        if isinstance(pname, Unknown):
            return full_type, pname
        return full_type, f"{pname}/{name}"
    segments = rtype.count("/")  # names needed
    if isinstance(name, str) and name.count("/") + 1 < segments and isinstance(pname, str):
        return rtype, f"{pname}/{name}"
    return rtype, name


def _scope_id(value: Any, ctx: TemplateContext) -> Any:
    if isinstance(value, Unknown):
        return value
    if not isinstance(value, str) or not value:
        return Unknown(f"the scope {to_text(value)!r} is not a resource id")
    if value.startswith("/"):
        return value
    # Relative form 'Namespace/type/name[/type/name]' within the deployment's resource group.
    parts = value.split("/")
    if len(parts) >= 3 and len(parts) % 2 == 1:
        return f"{ctx.deploy_scope.resource_group_id}/providers/{value}"
    return Unknown(f"the scope {value!r} is not a resource id")


def _extension_from_name(rtype: str, name: Any, ctx: TemplateContext) -> tuple[str, Any, Any] | None:
    """``T/providers/y`` named ``n/Ns/m`` is the extension ``Ns/y`` named ``m`` on the ``T`` named ``n``."""
    low = rtype.lower()
    if "/providers/" not in low:
        return None
    i = low.index("/providers/")
    base_type = rtype[:i]
    ext_tail = rtype[i + len("/providers/"):]
    base_segments = base_type.count("/")
    if isinstance(name, Unknown):
        return ext_tail, name, Unknown(f"the resource this extension applies to is unknown: {name.reason}")
    parts = name.split("/")
    if len(parts) < base_segments + 2:
        return None
    base_name = "/".join(parts[:base_segments])
    namespace = parts[base_segments]
    ext_type = ext_tail if "." in ext_tail.split("/", 1)[0] else f"{namespace}/{ext_tail}"
    ext_name = "/".join(parts[base_segments + 1:])
    base_id = _resource_id(base_type, base_name, None, ctx)
    return ext_type, ext_name, base_id


def _resource_id(rtype: str, name: Any, scope_id: Any, ctx: TemplateContext) -> Any:
    if isinstance(name, Unknown):
        return name
    if isinstance(scope_id, Unknown):
        return scope_id
    parts = rtype.split("/")
    names = name.split("/")
    if len(names) != len(parts) - 1:
        return Unknown(f"the name '{name}' does not fit the type '{rtype}'")
    tail = f"providers/{parts[0]}/" + "/".join(f"{t}/{n}" for t, n in zip(parts[1:], names))
    base = scope_id.rstrip("/") if isinstance(scope_id, str) else ctx.deploy_scope.resource_group_id
    return f"{base}/{tail}"


def _refused(value: Unknown) -> bool:
    """Whether an unknown value stands for an expression ARM refuses (not one this scan's limits stopped)."""
    return value.reason.startswith(EXPRESSION_ERROR) and EvaluationLimit.MARK not in value.reason


class _CountRefused(Unknown):
    """The 'condition' of the one instance of a copy loop whose count ARM cannot evaluate."""

    __slots__ = ()


def _body_maker(raw: dict[str, Any], ctx: TemplateContext, ptr: str, rtype: str, name: Any, rid: Any):
    def make() -> dict[str, Any]:
        body: dict[str, Any] = {}
        for k, v in raw.items():
            kl = k.lower()
            if kl in _NOT_IN_BODY:
                continue
            if kl == "properties" and rtype.lower() == DEPLOYMENT_TYPE and isinstance(v, dict):
                # the template is expanded on its own, and the parameters are bound into it (secure ones
                # evaluated as secrets, NestedDeployment._parameters): evaluating them here again would
                # report an error in a secure value with the value quoted
                v = {pk: pv for pk, pv in v.items() if pk.lower() not in ("template", "parameters")}
            body[k] = ctx.eval_value(v, f"{ptr}/{escape_pointer_token(k)}")
        body["type"] = rtype
        body["name"] = name
        body["id"] = rid
        return body
    return make


def expand(doc: JsonDocument, template: dict[str, Any], supplied: dict[str, Any], scope: DeploymentScope,
           supplied_from: str = "", pointer: str = "",
           diagnostics: list[Diagnostic] | None = None, scan_budget: ScanBudget | None = None,
           linker: Linker | None = None, link_root: str | None = None) -> Expander:
    """Expand a top-level template (or one found at ``pointer`` in ``doc``); ``expander.template`` is the
    template as read (its structural keys spelt canonically, arm/structure.py). With a ``linker``, templates
    linked by ``relativePath`` are read beside ``doc``, never outside ``link_root``. A file's own template may do
    work in proportion to its size without drawing on ``scan_budget`` (and so may each file it links: read_link);
    one found inside a file (``pointer``) draws on it from its first unit, since many of them share that size."""
    template = canonical_template(template)
    expander = Expander(doc, diagnostics, scan_budget, linker, link_root,
                        free=0 if pointer else FREE_UNITS_PER_CHARACTER * len(doc.text))
    expander.template = template
    ctx = TemplateContext(template, supplied, scope, doc, pointer, expander, supplied_from=supplied_from)
    ctx.links = ((doc.path, expander.source_key),)
    if supplied_from:
        expander.check_supplied(ctx, supplied, doc, pointer, source=supplied_from)
    expander.expand_template(template, ctx, pointer)
    return expander


def rest_resource(doc: JsonDocument, body: dict[str, Any], ptr: str) -> Resource:
    """A resource as the REST API returns it (ARM GET, ``az resource show``; ``az aks show`` flattens it, and
    arm/azcli.py un-flattens it first)."""
    rid = body.get("id")
    rtype = body.get("type")
    if not isinstance(rtype, str) and isinstance(rid, str):
        rtype = type_from_id(rid)
    full_name: Any
    if isinstance(rid, str):
        full_name = name_from_id(rid)
    else:
        full_name = body.get("name") if isinstance(body.get("name"), str) else Unknown(
            f"the resource at {doc.path}{ptr} has no name")
        rid = Unknown(f"the resource at {doc.path}{ptr} has no id")
    resource = Resource(str(rtype), full_name, rid, Source(doc.path, ptr, doc), body=body)
    if isinstance(rid, str):
        low = rid.lower()
        # Extension resources: '<base id>/providers/<Ns>/<type>/<name>' after the base resource.
        i = low.rfind("/providers/")
        if i > 0 and low.find("/providers/") != i:
            resource.scope_id = rid[:i]
    return resource
