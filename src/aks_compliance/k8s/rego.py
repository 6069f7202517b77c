"""The Rego engine of object rules: a rule (:mod:`.rule_lang`) compiled to a Gatekeeper ConstraintTemplate.

The Rego is written for both OPA v0 (with ``future.keywords`` imports, which Gatekeeper accepts) and Rego v1:
``violation contains {"msg": msg} if {...}``, ``if`` on every rule body, no deprecated built-ins. It reads the
object under review at ``input.review.object`` and the constraint's parameters at ``input.parameters`` (a
parameter the constraint leaves out has the control's default). Each operator is a small function below,
the twin of one branch of ``rules.compare``; the predicates compile to functions (``allOf``: one body,
``anyOf``: one body per alternative, ``each``: no element that fails, ``some``: an element that holds), so the
meaning is the Python engine's, operator by operator. Namespace exclusions are the constraint's ``match``.

Strings are joined with ``concat``, never ``sprintf``: regopy 1.5 prints a computed string (from ``lower``,
``concat`` ...) with its quotes inside ``sprintf``; ``sprintf`` only formats paths and the violation message.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from . import kinds as kindlib
from .checks import LATEST_PSS
from .rule_lang import (AllOf, AnyOf, Cmp, Derived, Each, Field, First, ImagePart, Keys, Lit, Lower, MapKey,
                        NamespacedName, NameKey, Param, ParamChoice, ParamRef, PssVersion, RuleError, Some,
                        Upper, VersionSteps, describe)

if TYPE_CHECKING:
    from ..controls.model import Control
    from .rules import KubeRule

TARGET = "admission.k8s.gatekeeper.sh"
IMPORTS = "import future.keywords.contains\nimport future.keywords.if\nimport future.keywords.in\n"

# Helpers every template carries (Gatekeeper templates are self-contained: no shared library to install).
LIBRARY = r'''
# --- values, as JSON has them: a missing field and null are the same (absent) ---
_obj(x) := x if { is_object(x) } else := {}

_array(x) := x if { is_array(x) } else := []

_get(o, p) := v if {
	is_object(o)
	v := object.get(o, p, null)
} else := null

_first(a, b) := a if { a != null } else := b

_str(x) := x if { is_string(x) } else := sprintf("%v", [x])

_lower(x) := lower(x) if { is_string(x) } else := null

# Go's strings.ToUpper, as the container runtime applies it: the two letters outside ASCII it maps into ASCII (the
# long s and the dotless i, written as themselves: regopy does not read a \u escape as the letter) are mapped first,
# for engines whose upper() reads ASCII only.
_upper(x) := upper(replace(replace(x, "@LONG_S@", "S"), "@DOTLESS_I@", "I")) if { is_string(x) } else := null

# --- operators: each the twin of one branch of aks_compliance.k8s.rules.compare ---
_exists(v) if { v != null }

_empty(v) if { v == null }

_empty(v) if { v == "" }

_empty(v) if { v == [] }

_empty(v) if { v == {} }

_equals(v, x) if {
	v != null
	v == x
}

_in(v, xs) if {
	v != null
	is_array(xs)
	some x in xs
	x == v
}

_like(v, p) if {
	is_string(v)
	is_string(p)
	glob.match(p, null, v)
}

_starts_with(v, p) if {
	is_string(v)
	is_string(p)
	startswith(v, p)
}

_contains(v, x) if {
	is_array(v)
	some e in v
	e == x
}

_ge(v, n) if {
	is_number(v)
	is_number(n)
	v >= n
}

_le(v, n) if {
	is_number(v)
	is_number(n)
	v <= n
}

# the whole string (regex.match finds the pattern anywhere; rules.compare full-matches)
_matches(v, p) if {
	is_string(v)
	is_string(p)
	regex.match(concat("", ["^(?:", p, ")$"]), v)
}

_like_any(v, ps) if {
	is_string(v)
	is_array(ps)
	some p in ps
	is_string(p)
	glob.match(p, null, v)
}
'''.replace("@LONG_S@", "\u017f").replace("@DOTLESS_I@", "\u0131")

IMAGE_LIBRARY = r'''
# --- image references, as the container runtime reads them (rules.parse_image) ---
_image_ref(img) := split(img, "@")[0]

_image_hosty(f) if { indexof(f, ".") >= 0 }

_image_hosty(f) if { indexof(f, ":") >= 0 }

_image_hosty(f) if { f == "localhost" }

_image_has_host(ref) if {
	indexof(ref, "/") >= 0
	_image_hosty(split(ref, "/")[0])
}

_image_fullpath(img) := p if {
	ref := _image_ref(img)
	_image_has_host(ref)
	p := substring(ref, indexof(ref, "/") + 1, -1)
} else := ref if {
	ref := _image_ref(img)
	indexof(ref, "/") >= 0
} else := concat("", ["library/", _image_ref(img)])

_image_registry(img) := r if {
	is_string(img)
	ref := _image_ref(img)
	_image_has_host(ref)
	r := lower(split(ref, "/")[0])
} else := "docker.io" if { is_string(img) } else := null

_image_tag(img) := t if {
	is_string(img)
	segments := split(_image_fullpath(img), "/")
	last := segments[count(segments) - 1]
	indexof(last, ":") >= 0
	parts := split(last, ":")
	t := parts[count(parts) - 1]
} else := null

_image_repository(img) := r if {
	is_string(img)
	p := _image_fullpath(img)
	t := _image_tag(img)
	t != null
	r := substring(p, 0, (count(p) - count(t)) - 1)
} else := _image_fullpath(img) if { is_string(img) } else := null

_image_digest(img) := d if {
	is_string(img)
	i := indexof(img, "@")
	i >= 0
	d := substring(img, i + 1, -1)
	d != ""
} else := null

_from_registry(img, ps) if {
	is_string(img)
	is_array(ps)
	some p in ps
	is_string(p)
	indexof(p, "/") >= 0
	glob.match(lower(p), null, concat("/", [_image_registry(img), _image_repository(img)]))
}

_from_registry(img, ps) if {
	is_string(img)
	is_array(ps)
	some p in ps
	is_string(p)
	indexof(p, "/") < 0
	glob.match(lower(p), null, _image_registry(img))
}
'''

OPS = {"exists": "_exists", "empty": "_empty", "equals": "_equals", "in": "_in", "like": "_like",
       "startsWith": "_starts_with", "contains": "_contains", "greaterOrEquals": "_ge", "lessOrEquals": "_le",
       "likeAny": "_like_any", "fromRegistry": "_from_registry", "matches": "_matches"}


def constraint_kind(control_id: str) -> str:
    """The constraint's kind (CamelCase; the template's name is its lower case): AKS-100 -> AksComplianceAks100."""
    parts = re.split(r"[^A-Za-z0-9]+", control_id)
    return "AksCompliance" + "".join(p[:1].upper() + p[1:].lower() for p in parts if p)


def template_name(control_id: str) -> str:
    return constraint_kind(control_id).lower()


def rego_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def rego_value(value: Any) -> str:
    """A JSON value as a Rego term (JSON is Rego's term syntax)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=False)


class _Compiler:
    def __init__(self, rule: "KubeRule", control: "Control") -> None:
        self.rule = rule
        self.spec = rule.spec
        self.control = control
        self.defaults = control.parameter_defaults()
        self.functions: list[str] = []
        self.counter = 0
        self.uses_image = False
        self.uses_pss = False
        self.params: set[str] = set()

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    # -- references and operands --------------------------------------------------------------------------

    def field(self, ref: Field, scope: list[tuple[str, str | None]]) -> str:
        if ref.base == "item":
            base = scope[-1][0]
        else:
            base = {"pod": "_pod_spec", "meta": "_pod_meta", "object": "input.review.object"}[ref.base]
        if not ref.segments:
            return base
        segs = []
        for s in ref.segments:
            if isinstance(s, NameKey):
                pieces = s.template.split("{name}")
                name = '_str(_get(x.body, ["name"]))'
                joined: list[str] = []
                for i, piece in enumerate(pieces):
                    if i:
                        joined.append(name)
                    if piece:
                        joined.append(rego_string(piece))
                segs.append(f'concat("", [{", ".join(joined)}])')
            else:
                segs.append(rego_string(s))
        return f"_get({base}, [{', '.join(segs)}])"

    def ref(self, ref: Any, scope: list[tuple[str, str | None]]) -> str:
        if isinstance(ref, Field):
            return self.field(ref, scope)
        if isinstance(ref, First):
            terms = [self.field(r, scope) for r in ref.refs]
            out = terms[-1]
            for t in reversed(terms[:-1]):
                out = f"_first({t}, {out})"
            return out
        if isinstance(ref, ImagePart):
            self.uses_image = True
            return f"_image_{ref.part}({self.ref(ref.ref, scope)})"
        if isinstance(ref, Lower):
            return f"_lower({self.ref(ref.ref, scope)})"
        if isinstance(ref, Upper):
            return f"_upper({self.ref(ref.ref, scope)})"
        if isinstance(ref, Keys):
            depth = len(scope)
            k, v = f"kq{depth}", f"vq{depth}"
            return (f"[{k} | {v} := _obj({self.field(ref.ref, scope)})[{k}]; {v} != null; "
                    f"not {k} in {rego_value(list(ref.exclude))}]")
        if isinstance(ref, MapKey):
            key = scope[-1][1]
            if key is None:
                raise RuleError("$key is read outside a map's entries")
            return key
        if isinstance(ref, PssVersion):
            self.uses_pss = True
            return "_pss_version"
        if isinstance(ref, ParamRef):
            self.params.add(ref.name)
            return f"_param_{ref.name}"
        if isinstance(ref, NamespacedName):
            return "_namespaced_name"
        raise RuleError(f"unknown reference {ref!r}")

    def operand(self, operand: Any) -> str:
        if isinstance(operand, Lit):
            return rego_value(operand.value)
        if isinstance(operand, Param):
            self.params.add(operand.name)
            return f"_param_{operand.name}"
        if isinstance(operand, Derived):
            return f"_d_{operand.name}"
        raise RuleError(f"unknown operand {operand!r}")

    # -- predicates -----------------------------------------------------------------------------------------

    @staticmethod
    def _args(scope: list[tuple[str, str | None]]) -> list[str]:
        out = []
        for value, key in scope:
            out.append(value.split(".")[0])
            if key:
                out.append(key)
        return list(dict.fromkeys(out))

    def _head(self, name: str, scope: list[tuple[str, str | None]]) -> str:
        args = self._args(scope)
        return f"{name}({', '.join(args)})" if args else name

    def define(self, name: str, scope: list[tuple[str, str | None]], lines: list[str]) -> str:
        head = self._head(name, scope)
        body = "\n".join(f"    {line}" for line in lines)
        self.functions.append(f"{head} if {{\n{body}\n}}")
        return head

    def positive(self, p: Any, scope: list[tuple[str, str | None]]) -> str:
        """An expression that holds exactly when ``p`` holds, usable after ``not``."""
        expr, negative = self.expr(p, scope)
        if not negative:
            return expr
        return self.define(self.fresh("_p"), scope, [expr])

    def expr(self, p: Any, scope: list[tuple[str, str | None]]) -> tuple[str, bool]:
        """(one Rego expression that holds exactly when ``p`` holds, whether it starts with ``not``)."""
        if isinstance(p, Cmp):
            value = self.ref(p.ref, scope)
            if p.op == "fromRegistry":
                self.uses_image = True
            if p.op in ("exists", "empty"):
                call = f"{OPS[p.op]}({value})"
            else:
                call = f"{OPS[p.op]}({value}, {self.operand(p.operand)})"
            return (f"not {call}", True) if p.negated else (call, False)
        if isinstance(p, AllOf):
            if len(p.items) == 1:
                return self.expr(p.items[0], scope)
            lines = [self.expr(i, scope)[0] for i in p.items]
            return self.define(self.fresh("_p"), scope, lines), False
        if isinstance(p, AnyOf):
            if len(p.items) == 1:
                return self.expr(p.items[0], scope)
            name = self.fresh("_p")
            head = ""
            for i in p.items:
                head = self.define(name, scope, [self.expr(i, scope)[0]])
            return head, False
        if isinstance(p, (Each, Some)):
            depth = len(scope)
            elem, key = f"e{depth}", (f"k{depth}" if p.entries else None)
            coll = self.ref(p.coll, scope)
            if p.entries:
                loop = f"some {key}, {elem} in _obj({coll})"
            elif isinstance(p.coll, Keys):
                loop = f"some {elem} in {coll}"
            else:
                loop = f"some {elem} in _array({coll})"
            inner = scope + [(elem, key)]
            lines = [loop]
            if p.where is not None:
                lines.append(self.expr(p.where, inner)[0])
            if isinstance(p, Each):
                lines.append(f"not {self.positive(p.require, inner)}")
                return f"not {self.define(self.fresh('_p'), scope, lines)}", True
            lines.append(self.expr(p.require, inner)[0])
            return self.define(self.fresh("_p"), scope, lines), False
        raise RuleError(f"unknown predicate {p!r}")

    # -- the module -----------------------------------------------------------------------------------------

    def compile(self) -> str:
        control = self.control
        item_scope = [("x.body", None)]
        violations = []
        prefix = f"[{control.id}] {control.title}"
        guard_lines = []
        for i, g in enumerate(self.spec.guards):
            guard_lines.append(self.positive(g.when, []))
        exempt_heads = []
        for e in self.spec.exempt:
            exempt_heads.append(self.positive(e, []))
        for k, check in enumerate(self.spec.checks):
            source = {"containers": f"_containers_{k}", "volumes": "_volumes", "pod": "_pod_item",
                      "object": "_object_item"}[check.scope]
            lines = []
            if guard_lines:
                lines.append("_applies")
            if exempt_heads:
                lines.append("not _exempt")
            lines.append(f"some x in {source}" if check.scope in ("containers", "volumes") else f"x := {source}")
            if check.when is not None:
                lines.append(self.define(f"_when_{k}", item_scope, [self.expr(check.when, item_scope)[0]]))
            if check.unknown_when is not None:
                lines.append("not " + self.define(f"_unknown_{k}", item_scope,
                                                  [self.expr(check.unknown_when, item_scope)[0]]))
            lines.append("not " + self.define(f"_check_{k}", item_scope, [self.expr(check.require, item_scope)[0]]))
            lines.append(f"msg := sprintf(\"%s: %s: %s\", [{rego_string(prefix)}, _where(x), "
                         f"{rego_string('required: ' + describe(check.require))}])")
            body = "\n".join(f"    {line}" for line in lines)
            violations.append(f'violation contains {{"msg": msg}} if {{\n{body}\n}}')
        parts = [f"package {template_name(control.id)}", "", IMPORTS.rstrip("\n"), "",
                 f"# Generated by aks-compliance from control {control.id}: do not edit, regenerate "
                 f"(aks-compliance policies generate).", ""]
        parts += [v + "\n" for v in violations]
        if guard_lines:
            parts.append("_applies if {\n" + "\n".join(f"\t{g}" for g in guard_lines) + "\n}\n")
        for head in exempt_heads:
            parts.append(f"_exempt if {{\n\t{head}\n}}\n")
        parts += [f + "\n" for f in self.functions]
        parts.append(self.sources())
        parts.append(self.parameters())
        parts.append(LIBRARY.strip("\n") + "\n")
        if self.uses_image:
            parts.append(IMAGE_LIBRARY.strip("\n") + "\n")
        # four spaces, not tabs: the module is a YAML block scalar in the template
        return ("\n".join(parts).rstrip("\n") + "\n").replace("\t", "    ")

    def sources(self) -> str:
        out = ["# --- what is checked: the object, its pod spec wherever the kind keeps it ---",
               "_where(x) := x.path if { x.path != \"\" } else := sprintf(\"%v %v\", "
               "[object.get(input.review.object, \"kind\", \"\"), object.get(_obj(object.get(input.review.object, "
               "\"metadata\", {})), \"name\", \"\")])", "",
               '_object_item := {"path": "", "body": input.review.object}', "",
               "# the object's namespace: as written, else the one the request is made in",
               '_namespace := ns if {\n\tns := input.review.object.metadata.namespace\n\tis_string(ns)\n'
               '} else := ns if {\n\tns := input.review.namespace\n\tis_string(ns)\n} else := "default"', "",
               '_namespaced_name := concat("/", [_namespace, _str(_get(input.review.object, ["metadata", '
               '"name"]))])', ""]
        if self.spec.workloads:
            # the path strings are in the table: regopy quotes a concat() result inside sprintf()
            table = {k: {"spec": list(spec), "meta": list(meta), "path": ".".join(spec)}
                     for k, (spec, meta) in kindlib.POD_PATHS.items()}
            out += [f"_pod_paths := {rego_value(table)}", "",
                    "# the object's kind; else the request's; an object without either but with a pod spec is a Pod",
                    '_kind := k if {\n\tk := input.review.object.kind\n\tis_string(k)\n\tk != ""\n} else := k if {\n'
                    '\tk := input.review.kind.kind\n\tis_string(k)\n\tk != ""\n} else := "Pod" if {\n'
                    '\tis_array(input.review.object.spec.containers)\n} else := ""', "",
                    "_pod_spec := _obj(object.get(input.review.object, _pod_paths[_kind].spec, null))", "",
                    "_pod_meta := _obj(object.get(input.review.object, _pod_paths[_kind].meta, null))", "",
                    '_pod_path := _pod_paths[_kind].path', "",
                    '_pod_item := {"path": _pod_path, "body": _pod_spec}', "",
                    '_volumes contains {"path": sprintf("%s.volumes[%d]", [_pod_path, i]), "body": v} if {\n'
                    '\tsome i, v in _array(object.get(_pod_spec, "volumes", null))\n}', ""]
            for k, check in enumerate(self.spec.checks):
                if check.scope == "containers":
                    out += [f'_containers_{k} contains {{"path": sprintf("%s.%s[%d]", [_pod_path, g, i]), '
                            f'"body": c}} if {{\n\tsome g in {rego_value(list(check.groups))}\n'
                            f'\tsome i, c in _array(object.get(_pod_spec, g, null))\n}}', ""]
        return "\n".join(out)

    def parameters(self) -> str:
        out = ["# --- parameters (the constraint's, else the control's defaults) and values derived from them ---",
               '_params := p if {\n\tp := input.parameters\n\tis_object(p)\n} else := {}', ""]
        derived = []
        for name, d in self.spec.derived:
            if isinstance(d, VersionSteps):
                self.uses_pss = True
                chain = []
                for since, value in reversed(d.steps):
                    chain.append(f"{rego_value(value)} if {{ _pss_version >= {since} }}")
                text = f"_d_{name} := " + " else := ".join(chain) + f" else := {rego_value(d.before)}"
            else:
                assert isinstance(d, ParamChoice)
                self.params.add(d.param)
                chain = [f"{rego_value(v)} if {{ _param_{d.param} == {rego_value(key)} }}" for key, v in d.choices]
                text = f"_d_{name} := " + " else := ".join(chain) + f" else := {rego_value(d.default)}"
            derived += [text, ""]
        for name in sorted(self.params):
            if name not in self.defaults:
                raise RuleError(f"{self.control.id}: the rule reads parameter {name!r}, which the control does not "
                                "declare")
            out += [f"_param_{name} := object.get(_params, {rego_string(name)}, {rego_value(self.defaults[name])})",
                    ""]
        if self.uses_pss:
            latest = LATEST_PSS[0] * 1000 + LATEST_PSS[1]
            out += ['# pssVersion: "latest", "v1.N" or "cluster" (the latest here: admission sees no server '
                    "version)",
                    '_pss_raw := lower(trim_space(sprintf("%v", [object.get(_params, "pssVersion", "latest")])))', "",
                    "_pss_version := n if {\n\tregex.match(`^v?[0-9]+\\.[0-9]+$`, _pss_raw)\n"
                    '\tparts := split(trim_prefix(_pss_raw, "v"), ".")\n'
                    "\tn := (to_number(parts[0]) * 1000) + to_number(parts[1])\n"
                    f"}} else := {latest}", ""]
        return "\n".join(out + derived)


def compile_rule(rule: "KubeRule", control: "Control") -> str:
    """The Rego module of a control's object rule."""
    compiler = _Compiler(rule, control)
    # the body is compiled first: it records which parameters, images and versions the library must define
    return compiler.compile()


__all__ = ["TARGET", "compile_rule", "constraint_kind", "rego_value", "template_name"]
