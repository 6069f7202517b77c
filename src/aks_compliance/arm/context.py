"""The deployment context a template is evaluated in: scope, parameters, variables, functions.

What the scan is told (``--arm-subscription-id``, ``--arm-tenant-id``, ``--arm-resource-group``, ``--arm-location``) or
fixed placeholders stand for the deployment target. Everything that only exists after deployment
(``reference()`` of a real resource, ``list*()``, ``newGuid()``) evaluates to :class:`Unknown`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable

from ..errors import ExpressionError
from ..jsonc import JsonDocument, escape_pointer_token
from ..redaction import SECRET_PARAMETER, is_secure_type
from ..values import Placeholder, Unknown
from .expressions import INT_MAX, INT_MIN, Call, Context, evaluate, literal_or_expression, parse, type_name
from .functions import BUILTINS, UNKNOWN_AWARE, arm_equals, dotnet_datetime, to_text
from .structure import canonical_copy, is_property_copy

if TYPE_CHECKING:
    from .template import Expander

# Stand-ins for where the template deploys, when the scan is not told: names built from them stay
# consistent (joins work), but a decision on one (an if() on resourceGroup().name, a contains() on the
# subscription id) is unknown, as it is for the location below. Resource ids are built from their plain
# text (DeploymentScope.resource_group_id).
DEFAULT_SUBSCRIPTION = Placeholder("00000000-0000-0000-0000-000000000000",
                                   "the subscription id, which is not known offline (set it with --arm-subscription-id)")
DEFAULT_TENANT = Placeholder("00000000-0000-0000-0000-000000000000",
                             "the tenant id, which is not known offline (set it with --arm-tenant-id)")
DEFAULT_RESOURCE_GROUP = Placeholder("resource-group", "the resource group's name, which is not known offline "
                                                       "(set it with --arm-resource-group)")
# Placeholder for resourceGroup().location: resource names and ids built from it stay consistent,
# so joins (a pool to its cluster, a diagnostic setting to its scope) still work. No control
# compares it; --arm-location sets the real value.
DEFAULT_LOCATION = Placeholder("resource-group-location",
                               "the deployment location, which is not known offline (set it with --arm-location)")
MAX_COPY = 800  # ARM's limit on copy count


@dataclass(frozen=True)
class DeploymentScope:
    subscription_id: str = DEFAULT_SUBSCRIPTION
    resource_group: str = DEFAULT_RESOURCE_GROUP
    location: Any = DEFAULT_LOCATION
    tenant_id: str = DEFAULT_TENANT
    deployment_name: str = "deployment"
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))
    management_group: str | None = None
    template_uri: str | None = None  # --arm-template-uri: the template is deployed from this URI (linked)

    def child(self, **changes: Any) -> "DeploymentScope":
        return replace(self, **changes)

    @property
    def resource_group_id(self) -> str:
        # plain text, as every resource id built from it: ids join resources, and what a rule decides on an id
        # (that it exists, that it names a workspace) does not rest on the group's or subscription's name
        return f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"

    def location_value(self) -> Any:
        return self.location


AZURE_CLOUD = {
    "name": "AzureCloud",
    "gallery": "https://gallery.azure.com/",
    "graph": "https://graph.windows.net/",
    "portal": "https://portal.azure.com",
    "graphAudience": "https://graph.windows.net/",
    "activeDirectoryDataLake": "https://datalake.azure.net/",
    "batch": "https://batch.core.windows.net/",
    "media": "https://rest.media.azure.net",
    "sqlManagement": "https://management.core.windows.net:8443/",
    "vmImageAliasDoc": "https://raw.githubusercontent.com/Azure/azure-rest-api-specs/main/arm-compute/quickstart-templates/aliases.json",
    "resourceManager": "https://management.azure.com/",
    "authentication": {
        "loginEndpoint": "https://login.microsoftonline.com/",
        "audiences": ["https://management.core.windows.net/", "https://management.azure.com/"],
        "tenant": "common",
        "identityProvider": "AAD",
    },
    "suffixes": {
        "acrLoginServer": ".azurecr.io",
        "azureDatalakeAnalyticsCatalogAndJob": "azuredatalakeanalytics.net",
        "azureDatalakeStoreFileSystem": "azuredatalakestore.net",
        "azureFrontDoorEndpointSuffix": "azurefd.net",
        "keyvaultDns": ".vault.azure.net",
        "sqlServerHostname": ".database.windows.net",
        "storage": "core.windows.net",
    },
}


class RuntimeObject(dict):
    """An object returned by ``reference()``: known members are there, others are Unknown."""

    def __init__(self, data: dict[str, Any], reason: str) -> None:
        super().__init__(data)
        self.reason = reason

    def missing_member(self, name: str) -> Unknown:
        return Unknown(f"{self.reason} (property '{name}')")


_IN_PROGRESS = object()


class TemplateContext(Context):
    """Evaluation context of one template (a top-level template or an inner-scope nested one)."""

    unknown_aware = frozenset(UNKNOWN_AWARE)

    def __init__(self, template: dict[str, Any], supplied: dict[str, Any], scope: DeploymentScope,
                 doc: JsonDocument, pointer: str, expander: "Expander",
                 supplied_from: str = "") -> None:
        self.template = template
        self.scope = scope  # what its functions see (resourceGroup(), subscription(), deployment())
        self.deploy_scope = scope  # where its resources land (another group for an outer-scope nested deployment)
        self.doc = doc
        self.pointer = pointer  # JSON pointer of this template inside doc
        self.expander = expander
        self.budget = expander.budget  # one per template file: nested deployments and copies share it
        self.supplied_from = supplied_from
        params = template.get("parameters") if isinstance(template.get("parameters"), dict) else {}
        self.param_decls = {k.lower(): (k, v if isinstance(v, dict) else {}) for k, v in params.items()}
        self.supplied = {k.lower(): v for k, v in supplied.items()}
        self._params: dict[str, Any] = {}
        variables = template.get("variables") if isinstance(template.get("variables"), dict) else {}
        self.var_decls: dict[str, tuple[str, Any, str]] = {}
        self.copy_vars: dict[str, tuple[dict[str, Any], str]] = {}
        for k, v in variables.items():
            if k == "copy" and isinstance(v, list):
                for i, c in enumerate(v):
                    if isinstance(c, dict) and isinstance(c.get("name"), str):
                        self.copy_vars[c["name"].lower()] = (c, f"{pointer}/variables/copy/{i}")
                continue
            self.var_decls[k.lower()] = (k, v, f"{pointer}/variables/{escape_pointer_token(k)}")
        self._vars: dict[str, Any] = {}
        self.user_functions = _user_functions(template, pointer)
        self.copy_indices: dict[str, Any] = {}
        self.copy_stack: tuple[str, ...] = ()
        self.lambda_scopes: list[dict[str, Any]] = []
        self.recovered: list[ExpressionError] = []
        self.deployments: dict[str, Any] = {}  # lower-case name -> NestedDeployment
        self.symbols: dict[str, Any] = {}  # languageVersion 2.0 symbolic names -> resource info
        # the files this template was reached through, top-level first: (path, identity) of each (linked templates)
        self.links: tuple[tuple[str, str], ...] = ()

    # -- dispatch --
    def function(self, name: str):
        entry = CONTEXT_FUNCTIONS.get(name)
        if entry is not None:
            return entry
        if name in self.user_functions:
            return (lambda ctx, node, _n=name: call_user_function(ctx, _n, node), True)
        entry = BUILTINS.get(name)
        if entry is not None:
            return entry
        if name.startswith("list") and "." not in name:
            return (_list_function, True)
        return None

    def with_copy(self, loop: str, index_value: Any) -> "TemplateContext":
        clone = object.__new__(TemplateContext)
        clone.__dict__.update(self.__dict__)
        clone.copy_indices = dict(self.copy_indices)
        clone.copy_indices[loop.lower()] = index_value
        clone.copy_stack = self.copy_stack + (loop.lower(),)
        clone.lambda_scopes = []
        clone.recovered = self.recovered
        return clone

    def deploying_to(self, target: DeploymentScope) -> "TemplateContext":
        """This context (the same parameters, variables and functions) deploying its resources to ``target``."""
        clone = object.__new__(TemplateContext)
        clone.__dict__.update(self.__dict__)
        clone.deploy_scope = target
        return clone

    # -- values --
    def eval_value(self, raw: Any, ptr: str) -> Any:
        """Evaluate a JSON value of the template: expressions in strings, property ``copy`` loops."""
        if isinstance(raw, str):
            if raw and raw[0] == "[":
                is_expr, text = literal_or_expression(raw)
                if is_expr:
                    return self.eval_expression(text, ptr)
                return text
            return raw
        if isinstance(raw, dict):
            out: dict[str, Any] = {}
            for k, v in raw.items():
                if is_property_copy(k, v):
                    for i, c in enumerate(v):
                        c = canonical_copy(c)
                        name = c.get("name")
                        if isinstance(name, str):
                            out[name] = self.property_copy(c, f"{ptr}/copy/{i}")
                    continue
                out[k] = self.eval_value(v, f"{ptr}/{escape_pointer_token(k)}")
            return out
        if isinstance(raw, list):
            return [self.eval_value(v, f"{ptr}/{i}") for i, v in enumerate(raw)]
        return raw

    def eval_secret(self, raw: Any, ptr: str, label: str) -> Any:
        """:meth:`eval_value` for a value that is a secret (a secure parameter's default, a value passed to a
        nested deployment's secure parameter): an error in it is reported without its message, which could
        quote the value."""
        outer = self.expander.secret
        self.expander.secret = label
        try:
            return self.eval_value(raw, ptr)
        finally:
            self.expander.secret = outer

    def eval_expression(self, text: str, ptr: str) -> Any:
        self.expander.evaluating += 1
        try:
            value = evaluate(parse(text), self)
        except ExpressionError as exc:
            value = self.expander.expression_failed(exc, self.doc, ptr)
        except RecursionError:
            value = self.expander.expression_failed(
                ExpressionError("expression nests too deeply to evaluate", text), self.doc, ptr)
        finally:
            self.expander.evaluating -= 1
        while self.recovered:
            self.expander.expression_failed(self.recovered.pop(0), self.doc, ptr)
        return value

    def count(self, raw: Any, ptr: str, what: str) -> int | Unknown:
        value = self.eval_value(raw, ptr)
        if isinstance(value, Unknown):
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            return self.expander.expression_failed(
                ExpressionError(f"{what} count must be an integer, not {to_text(value)!r}"), self.doc, ptr)
        if value < 0 or value > MAX_COPY:
            return self.expander.expression_failed(
                ExpressionError(f"{what} count {value} is outside 0..{MAX_COPY}"), self.doc, ptr)
        return value

    def property_copy(self, spec: dict[str, Any], ptr: str) -> Any:
        spec = canonical_copy(spec)
        name = str(spec.get("name", ""))
        n = self.count(spec.get("count"), f"{ptr}/count", f"copy loop '{name}'")
        if isinstance(n, Unknown):
            return Unknown(f"the number of '{name}' entries is unknown: {n.reason}")
        try:  # charged before the loop: copies nested in copies multiply
            self.budget.spend(n, f"copy loop '{name}'")
        except ExpressionError as exc:
            return self.expander.expression_failed(exc, self.doc, ptr)
        return [self.with_copy(name, i).eval_value(spec.get("input"), f"{ptr}/input") for i in range(n)]

    def parameter(self, name: str) -> Any:
        key = name.lower()
        cached = self._params.get(key, _MISSING)
        if cached is _IN_PROGRESS:
            raise ExpressionError(f"parameter '{name}' refers to itself")
        if cached is not _MISSING:
            return cached
        decl = self.param_decls.get(key)
        if decl is None:
            raise ExpressionError(f"the template has no parameter '{name}'")
        real, spec = decl
        spec = self._resolve_type(spec)
        self._params[key] = _IN_PROGRESS
        try:
            ptype = str(spec.get("type", "")).lower()
            if key in self.supplied:
                value = self._checked(real, spec, self.supplied[key])
            elif "defaultValue" in spec:
                ptr = f"{self.pointer}/parameters/{escape_pointer_token(real)}/defaultValue"
                self.expander.in_default += 1
                try:
                    if is_secure_type(ptype):
                        value = self.eval_secret(spec["defaultValue"], ptr,
                                                 f"the default value of secure parameter '{real}'")
                    else:
                        value = self.eval_value(spec["defaultValue"], ptr)
                finally:
                    self.expander.in_default -= 1
                # ARM validates a default it uses as it validates a given value; a stand-in (the group's
                # location) is not the value ARM would see, so it is not judged
                if not _has_stand_in(value):
                    value = self._checked(real, spec, value, default=True)
            elif spec.get("nullable") is True:
                value = None
            else:
                where = f" in {self.supplied_from}" if self.supplied_from else ""
                value = Unknown(f"parameter '{real}' has no value (no default value, and none given{where}; "
                                f"set one with a parameter file or --arm-param {real}=VALUE)")
            if is_secure_type(ptype) and not isinstance(value, Unknown):
                value = Unknown(f"secure parameter '{real}' is not read")
        finally:
            self._params.pop(key, None)
        self._params[key] = value
        return value

    def _checked(self, name: str, spec: dict[str, Any], value: Any, default: bool = False) -> Any:
        """A supplied value (or the ``default`` value used) that ARM would reject (wrong type, not allowed,
        out of range) is reported, not used."""
        if isinstance(value, Unknown) or value is None:
            return value
        secure = is_secure_type(spec.get("type"))
        # a plain parameter named like a secret (adminPassword: string) holds one all the same
        hidden = secure or bool(SECRET_PARAMETER.search(name))
        problem = _type_problem(str(spec.get("type", "")).lower(), value, hidden)
        allowed = spec.get("allowedValues")
        if problem is None and isinstance(allowed, list) and not isinstance(value, (dict,)):
            values = value if isinstance(value, list) else [value]
            bad = [v for v in values if not isinstance(v, Unknown) and not _allowed(v, allowed)]
            if bad:
                # a secure parameter's value, and its allowed values, which may be secrets too, are never shown
                problem = "its value is not one of its allowed values" if hidden else \
                    f"{to_text(bad[0])!r} is not one of its allowed values {to_text(allowed)}"
        if problem is None:
            problem = _range_problem(spec, value, hidden)
        if problem is None:
            ptype = str(spec.get("type", "")).lower()
            if ptype == "int" and isinstance(value, str):
                return _as_int(value)
            if ptype == "bool" and isinstance(value, str):
                return value.lower() == "true"
            return value
        what = f"secure parameter '{name}'" if secure else f"parameter '{name}'"
        ptr = f"{self.pointer}/parameters/{escape_pointer_token(name)}"
        if default:
            message = f"the default value of {what}: {problem}; ARM would reject this deployment"
            ptr += "/defaultValue"
        else:
            message = f"{what} from {self.supplied_from or 'the deployment'}: {problem}; ARM would reject this deployment"
        self.expander.error(message, self.doc, ptr)
        return Unknown(message)

    def _resolve_type(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Follow ``$ref`` to user-defined types (languageVersion 2.0) for ``type`` and ``nullable``."""
        seen = 0
        while isinstance(spec.get("$ref"), str) and spec["$ref"].startswith("#/definitions/") and seen < 16:
            seen += 1
            definitions = self.template.get("definitions")
            target = definitions.get(spec["$ref"].split("/", 2)[2]) if isinstance(definitions, dict) else None
            if not isinstance(target, dict):
                break
            merged = dict(target)
            merged.update({k: v for k, v in spec.items() if k != "$ref"})
            if "$ref" in target:
                merged["$ref"] = target["$ref"]
            spec = merged
        return spec

    def variable(self, name: str) -> Any:
        key = name.lower()
        cached = self._vars.get(key, _MISSING)
        if cached is _IN_PROGRESS:
            raise ExpressionError(f"variable '{name}' refers to itself")
        if cached is not _MISSING:
            return cached
        if key in self.copy_vars:
            spec, ptr = self.copy_vars[key]
            self._vars[key] = _IN_PROGRESS
            try:
                value = self.property_copy(spec, ptr)
            finally:
                self._vars.pop(key, None)
            self._vars[key] = value
            return value
        decl = self.var_decls.get(key)
        if decl is None:
            raise ExpressionError(f"the template has no variable '{name}'")
        _, raw, ptr = decl
        self._vars[key] = _IN_PROGRESS
        try:
            value = self.eval_value(raw, ptr)
        finally:
            self._vars.pop(key, None)
        self._vars[key] = value
        return value


_MISSING = object()


def _has_stand_in(value: Any) -> bool:
    """Whether ``value`` holds a stand-in or an unknown anywhere. Each container is visited once: a value
    built by doubling (createArray(v, v) chained) shares its subtrees."""
    seen: set[int] = set()
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, (Placeholder, Unknown)):
            return True
        if isinstance(v, (list, dict)):
            if id(v) in seen:
                continue
            seen.add(id(v))
            stack.extend(v.values() if isinstance(v, dict) else v)
    return False


_INT_TEXT = re.compile(r"\s*-?[0-9]{1,19}\s*", re.ASCII)


def _as_int(value: Any) -> int | None:
    """An ARM int parameter's value (a 64-bit integer, or its decimal digits as a string), or None."""
    if isinstance(value, str) and _INT_TEXT.fullmatch(value):
        value = int(value)
    if type(value) is not int or not INT_MIN <= value <= INT_MAX:
        return None
    return value


def _allowed(value: Any, allowed: list) -> bool:
    """Whether ARM accepts ``value`` for ``allowedValues``: strings compare without regard to case (ARM accepts
    'eastus' for an allowed 'EastUS'; only Bicep's @allowed checks case), other values as JSON values."""
    if isinstance(value, str):
        low = value.lower()
        return any(isinstance(a, str) and a.lower() == low for a in allowed)
    return any(arm_equals(value, a) for a in allowed)


def _range_problem(spec: dict[str, Any], value: Any, hidden: bool) -> str | None:
    """What ``minValue``/``maxValue`` (an int) or ``minLength``/``maxLength`` (a string or array) say against
    ``value``, or None: ARM rejects the deployment of a value outside them."""
    shown = "its value" if hidden else repr(to_text(value)) if not isinstance(value, list) else "its array"
    number = _as_int(value) if str(spec.get("type", "")).lower() == "int" else None
    if number is not None:
        low, high = spec.get("minValue"), spec.get("maxValue")
        if type(low) is int and number < low:
            return f"{shown} is less than its minValue {low}"
        if type(high) is int and number > high:
            return f"{shown} is more than its maxValue {high}"
    if isinstance(value, (str, list)):
        low, high = spec.get("minLength"), spec.get("maxLength")
        size = "items" if isinstance(value, list) else "characters"
        if type(low) is int and len(value) < low:
            return f"{shown} has {len(value)} {size}, fewer than its minLength {low}"
        if type(high) is int and len(value) > high:
            return f"{shown} has {len(value)} {size}, more than its maxLength {high}"
    return None


def _type_problem(ptype: str, value: Any, hidden: bool = False) -> str | None:
    """What is wrong with ``value`` for a parameter of ``ptype``; a secure parameter's value (or a ``hidden``
    one's) is described by its type alone (its text would put the secret into every report)."""
    if hidden or is_secure_type(ptype):
        shown = f"a value of type {type_name(value)}"
    else:
        shown = to_text(value)
        shown = repr(shown if len(shown) <= 80 else shown[:77] + "...")
    if ptype == "array" and not isinstance(value, list):
        return f"expected an array, got {shown}"
    if ptype in ("object", "secureobject") and not isinstance(value, dict):
        return f"expected an object, got {shown}"
    if ptype in ("string", "securestring") and not isinstance(value, str):
        return f"expected a string, got {shown}"
    if ptype == "int" and _as_int(value) is None:
        return f"expected an integer, got {shown}"
    if ptype == "bool" and not isinstance(value, bool):
        if not (isinstance(value, str) and value.lower() in ("true", "false")):
            return f"expected a boolean, got {shown}"
    return None


# --- context-dependent functions -------------------------------------------------------------------

def _ctx_fn(name: str, lazy: bool = False):
    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        CONTEXT_FUNCTIONS[name.lower()] = (fn, lazy)
        return fn
    return register


CONTEXT_FUNCTIONS: dict[str, tuple[Callable[..., Any], bool]] = {}


@_ctx_fn("parameters")
def _parameters(ctx: Any, name: Any) -> Any:
    if not isinstance(name, str):
        raise ExpressionError("'parameters' expects a parameter name")
    return ctx.parameter(name)


@_ctx_fn("variables")
def _variables(ctx: Any, name: Any) -> Any:
    if not isinstance(name, str):
        raise ExpressionError("'variables' expects a variable name")
    return ctx.variable(name)


@_ctx_fn("copyIndex")
def _copy_index(ctx: Any, *args: Any) -> Any:
    loop = None
    offset = 0
    for a in args:
        if isinstance(a, str):
            loop = a.lower()
        elif isinstance(a, int) and not isinstance(a, bool):
            offset = a
    if loop is None:
        if not ctx.copy_stack:
            raise ExpressionError("'copyIndex' is used outside a copy loop")
        loop = ctx.copy_stack[-1]
    if loop not in ctx.copy_indices:
        raise ExpressionError(f"'copyIndex' refers to loop '{loop}', which is not running here")
    value = ctx.copy_indices[loop]
    return value if isinstance(value, Unknown) else value + offset


@_ctx_fn("resourceGroup")
def _resource_group(ctx: Any) -> dict[str, Any]:
    s = ctx.scope
    return {"id": s.resource_group_id, "name": s.resource_group, "type": "Microsoft.Resources/resourceGroups",
            "location": s.location_value(), "managedBy": None, "tags": {},
            "properties": {"provisioningState": "Succeeded"}}


@_ctx_fn("subscription")
def _subscription(ctx: Any) -> dict[str, Any]:
    s = ctx.scope
    return {"id": f"/subscriptions/{s.subscription_id}", "subscriptionId": s.subscription_id,
            "tenantId": s.tenant_id,
            "displayName": Unknown("the subscription's display name is not known offline")}


@_ctx_fn("tenant")
def _tenant(ctx: Any) -> dict[str, Any]:
    return {"tenantId": ctx.scope.tenant_id, "countryCode": Unknown("tenant country is not known offline"),
            "displayName": Unknown("tenant display name is not known offline")}


class DeploymentProperties(dict):
    """``deployment().properties``: ARM adds ``templateLink`` only to a deployment from a URI (a linked
    template). Whether a file will be deployed that way is not known offline, so reading it (or asking
    whether it is there) is unknown with that reason, unless ``--arm-template-uri`` says; any other missing
    member is ARM's error."""

    def missing_member(self, name: str) -> Any:
        if name.lower() == "templatelink":
            return Unknown("deployment().properties.templateLink exists only when the template is deployed from a "
                           "URI (a linked deployment), which is not known offline; give --arm-template-uri URI")
        raise ExpressionError(f"the language expression property '{name}' doesn't exist, available properties are "
                     f"'{', '.join(self)}'")


@_ctx_fn("deployment")
def _deployment(ctx: Any) -> dict[str, Any]:
    props = DeploymentProperties({
        # The template as written (expressions unevaluated), as the deployment page's example shows.
        "template": {"contentVersion": "1.0.0.0", **ctx.template},
        "templateHash": Unknown("the template hash is computed by ARM"),
        "parameters": {}, "mode": "Incremental", "provisioningState": "Accepted"})
    if ctx.scope.template_uri:
        props["templateLink"] = {"uri": ctx.scope.template_uri, "contentVersion": "1.0.0.0"}
    return {"name": ctx.scope.deployment_name, "location": ctx.scope.location_value(), "properties": props}


@_ctx_fn("environment")
def _environment(ctx: Any) -> dict[str, Any]:
    return AZURE_CLOUD


def _only_in_defaults(ctx: Any, fn: str) -> None:
    """ARM accepts utcNow() and newGuid() only in a parameter's default value and rejects the template
    anywhere else."""
    if not ctx.expander.in_default:
        raise ExpressionError(f"{fn}() can be used only in the default value of a parameter; ARM rejects "
                              f"the template")


@_ctx_fn("utcNow")
def _utc_now(ctx: Any, fmt: Any = "yyyyMMddTHHmmssZ") -> str:
    _only_in_defaults(ctx, "utcNow")
    return dotnet_datetime(ctx.scope.now, fmt if isinstance(fmt, str) else "yyyyMMddTHHmmssZ")


@_ctx_fn("newGuid")
def _new_guid(ctx: Any) -> Unknown:
    _only_in_defaults(ctx, "newGuid")
    return Unknown("newGuid() gives a new value on every deployment")


def _split_type(fn: str, rtype: str) -> tuple[str, list[str]]:
    parts = rtype.strip("/").split("/")
    if len(parts) < 2:
        raise ExpressionError(f"'{fn}' needs a resource type like 'Namespace/type', not {rtype!r}")
    return parts[0], parts[1:]


def _id_tail(fn: str, rtype: str, names: list[Any]) -> str:
    ns, types = _split_type(fn, rtype)
    flat: list[str] = []
    for n in names:
        if not isinstance(n, str):
            raise ExpressionError(f"'{fn}' resource names must be strings, not {to_text(n)!r}")
        flat.extend(n.split("/"))
    if len(flat) != len(types):
        raise ExpressionError(f"'{fn}' got {len(flat)} name segment(s) for type '{rtype}', "
                              f"which needs {len(types)}")
    return f"providers/{ns}/" + "/".join(f"{t}/{n}" for t, n in zip(types, flat))


def _type_position(args: tuple) -> int:
    for i, a in enumerate(args):
        if isinstance(a, str) and "/" in a and "." in a.split("/")[0]:
            return i
    raise ExpressionError("no resource type ('Namespace/type') among the arguments")


@_ctx_fn("resourceId")
def _resource_id(ctx: Any, *args: Any) -> str:
    pos = _type_position(args)
    sub, rg = ctx.scope.subscription_id, ctx.scope.resource_group
    if pos == 1:
        rg = args[0]
    elif pos == 2:
        sub, rg = args[0], args[1]
    elif pos > 2:
        raise ExpressionError("'resourceId' got too many arguments before the resource type")
    tail = _id_tail("resourceId", args[pos], list(args[pos + 1:]))
    return f"/subscriptions/{sub}/resourceGroups/{rg}/{tail}"


@_ctx_fn("subscriptionResourceId")
def _subscription_resource_id(ctx: Any, *args: Any) -> str:
    pos = _type_position(args)
    sub = args[0] if pos == 1 else ctx.scope.subscription_id
    tail = _id_tail("subscriptionResourceId", args[pos], list(args[pos + 1:]))
    return f"/subscriptions/{sub}/{tail}"


@_ctx_fn("tenantResourceId")
def _tenant_resource_id(ctx: Any, *args: Any) -> str:
    return "/" + _id_tail("tenantResourceId", args[0], list(args[1:]))


@_ctx_fn("managementGroupResourceId")
def _management_group_resource_id(ctx: Any, *args: Any) -> Any:
    pos = _type_position(args)
    mg = args[0] if pos == 1 else ctx.scope.management_group
    if mg is None:
        return Unknown("the management group is not known offline")
    tail = _id_tail("managementGroupResourceId", args[pos], list(args[pos + 1:]))
    return f"/providers/Microsoft.Management/managementGroups/{mg}/{tail}"


@_ctx_fn("extensionResourceId")
def _extension_resource_id(ctx: Any, base: Any, rtype: Any, *names: Any) -> str:
    if not isinstance(base, str):
        raise ExpressionError("'extensionResourceId' expects a resource id")
    return base.rstrip("/") + "/" + _id_tail("extensionResourceId", rtype, list(names))


@_ctx_fn("reference", lazy=True)
def _reference(ctx: Any, node: Call) -> Any:
    if not node.args:
        raise ExpressionError("'reference' needs a resource", node.text)
    target = evaluate(node.args[0], ctx)
    if isinstance(target, Unknown):
        return Unknown(f"{_short(node.text)} refers to a resource that is unknown: {target.reason}")
    if isinstance(target, str):
        resolved = ctx.expander.resolve_reference(ctx, target)
        if resolved is not None:
            return resolved
    return Unknown(f"{_short(node.text)} reads deployed state, which is not available offline")


@_ctx_fn("references", lazy=True)
def _references(ctx: Any, node: Call) -> Any:
    return Unknown(f"{_short(node.text)} reads deployed state, which is not available offline")


def _list_function(ctx: Any, node: Call) -> Any:
    return Unknown(f"{_short(node.text)} reads keys or secrets of a deployed resource, which are never read")


@_ctx_fn("pickZones", lazy=True)
def _pick_zones(ctx: Any, node: Call) -> Any:
    return Unknown(f"{_short(node.text)} depends on the region's zone support, which is not known offline")


@_ctx_fn("providers", lazy=True)
def _providers(ctx: Any, node: Call) -> Any:
    return Unknown(f"{_short(node.text)} reads resource provider metadata, which is not available offline")


@_ctx_fn("managementGroup", lazy=True)
def _management_group(ctx: Any, node: Call) -> Any:
    return Unknown("managementGroup() is not known offline")


def _short(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- user-defined functions ------------------------------------------------------------------------

def _user_functions(template: dict[str, Any], pointer: str) -> dict[str, tuple[dict, str]]:
    out: dict[str, tuple[dict, str]] = {}
    fns = template.get("functions")
    if not isinstance(fns, list):
        return out
    for i, ns in enumerate(fns):
        if not isinstance(ns, dict) or not isinstance(ns.get("members"), dict):
            continue
        prefix = str(ns.get("namespace", "")).lower()
        for name, spec in ns["members"].items():
            if isinstance(spec, dict):
                out[f"{prefix}.{name.lower()}"] = (spec, f"{pointer}/functions/{i}/members/{escape_pointer_token(name)}")
    return out


class _FunctionContext(Context):
    """Inside a user-defined function only its own parameters (and other functions) are visible."""

    unknown_aware = frozenset(UNKNOWN_AWARE)

    def __init__(self, outer: TemplateContext, args: dict[str, Any], depth: int) -> None:
        self.outer = outer
        self.args = args
        self.user_functions = outer.user_functions
        self.call_depth = depth
        self.lambda_scopes: list[dict[str, Any]] = []
        self.copy_stack = ()
        self.copy_indices: dict[str, Any] = {}
        self.scope = outer.scope
        self.template = outer.template
        self.expander = outer.expander
        self.budget = outer.budget

    def function(self, name: str):
        if name == "parameters":
            return (lambda ctx, n: self._param(n), False)
        if name == "variables":
            return (lambda ctx, n: (_ for _ in ()).throw(
                ExpressionError("user-defined functions cannot use variables()")), False)
        return self.outer.function(name)

    def _param(self, name: Any) -> Any:
        if not isinstance(name, str) or name.lower() not in self.args:
            raise ExpressionError(f"user-defined function has no parameter {name!r}")
        return self.args[name.lower()]


MAX_FUNCTION_DEPTH = 32


def call_user_function(ctx: TemplateContext, name: str, node: Call) -> Any:
    depth = getattr(ctx, "call_depth", 0) + 1
    if depth > MAX_FUNCTION_DEPTH:
        raise ExpressionError(f"user-defined functions call each other more than {MAX_FUNCTION_DEPTH} deep",
                              node.text)
    spec, ptr = ctx.user_functions[name]
    params = spec.get("parameters") or []
    args = [evaluate(a, ctx) for a in node.args]
    if len(args) != len(params):
        raise ExpressionError(f"'{name}' expects {len(params)} argument(s), got {len(args)}", node.text)
    bound = {str(p.get("name", "")).lower(): v for p, v in zip(params, args) if isinstance(p, dict)}
    output = spec.get("output") or {}
    raw = output.get("value")
    fctx = _FunctionContext(getattr(ctx, "outer", ctx), bound, depth)
    if isinstance(raw, str) and raw.startswith("["):
        is_expr, text = literal_or_expression(raw)
        if is_expr:
            return evaluate(parse(text), fctx)
        return text
    return raw


__all__ = ["DeploymentScope", "RuntimeObject", "TemplateContext", "DEFAULT_SUBSCRIPTION",
           "DEFAULT_RESOURCE_GROUP", "DEFAULT_TENANT", "MAX_COPY"]
