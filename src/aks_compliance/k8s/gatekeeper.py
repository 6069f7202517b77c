"""Gatekeeper, as far as testing a ConstraintTemplate needs it: the constraint's ``match`` and a Rego engine.

* :func:`matches`: whether a constraint's ``match`` (kinds, namespaces, excludedNamespaces, labelSelector)
  selects an object, as Gatekeeper decides before it runs the Rego (a Namespace object is in the namespace it
  names; other cluster-scoped objects are in none).
* :func:`run_template`: the violations a template's Rego gives on an object under admission review, in
  ``regopy`` (Microsoft's rego-cpp interpreter; imported lazily, a test dependency).
* :func:`rego_v1`: Microsoft's built-in templates are written in Rego v0 (``violation[{"msg": msg}] {...}``);
  regopy reads such heads as Rego v1 *object* rules, which changes their meaning. This converts the constructs
  those templates use to their v1 spelling (``contains``/``if`` in rule heads, ``re_match`` -> ``regex.match``,
  ``any(x)`` -> ``true in x``), so they run faithfully; and binds one side of ``a[_] == b[_]`` first, a
  comparison regopy finds no solution for.
"""

from __future__ import annotations

import json
import re
from typing import Any, Mapping

from .checks import namespace_wildcard
from .rules import API_GROUPS


class RegoError(Exception):
    """A template that the Rego engine rejects, or a query that fails; the message says which."""


def review(obj: Mapping[str, Any], operation: str = "CREATE") -> dict[str, Any]:
    """``input.review`` as Gatekeeper builds it from an admission request for ``obj``."""
    api_version = str(obj.get("apiVersion", ""))
    group, _, version = api_version.rpartition("/")
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    out: dict[str, Any] = {"kind": {"group": group, "version": version, "kind": obj.get("kind", "")},
                           "operation": operation, "name": meta.get("name", ""), "object": obj,
                           "userInfo": {"username": "aks-compliance-test"}}
    if meta.get("namespace"):
        out["namespace"] = meta["namespace"]
    return out


def admitted_object(obj: Mapping[str, Any], namespace: str | None) -> dict[str, Any]:
    """``obj`` as the API server hands it to admission webhooks, when it is created in ``namespace`` (the one the
    scan places it in; None for a cluster-scoped object): a namespaced object written without metadata.namespace
    (or with "") gets the request's namespace (kubectl's: default), and a cluster-scoped object loses the one it
    was written with (apiserver rest.EnsureObjectNamespaceMatchesRequestNamespace, before admission). A manifest
    judged as the scan reads it, but admitted as it was, is matched against another namespace than the verdict's."""
    meta = obj.get("metadata")
    if not isinstance(meta, dict) or meta.get("namespace") == namespace:
        return dict(obj)
    meta = {k: v for k, v in meta.items() if k != "namespace"}
    if namespace is not None:
        meta["namespace"] = namespace
    return {**obj, "metadata": meta}


def namespace_of(obj: Mapping[str, Any]) -> str | None:
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    if obj.get("kind") == "Namespace":
        return meta.get("name")
    return meta.get("namespace")


def _ns_match(ns: str, patterns: Any) -> bool:
    # Gatekeeper allows a leading or trailing * (prefix/suffix match), nothing else (checks.namespace_wildcard)
    return any(namespace_wildcard(ns, p) for p in patterns or ())


def _selects(selector: Mapping[str, Any] | None, labels: Mapping[str, Any]) -> bool:
    if not selector:
        return True
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in selector.get("matchExpressions") or ():
        key, op, values = e.get("key"), e.get("operator"), e.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def matches(match: Mapping[str, Any], obj: Mapping[str, Any]) -> bool:
    """Whether a constraint's ``spec.match`` selects ``obj``."""
    kind = obj.get("kind")
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    kinds = match.get("kinds")
    if kinds:
        if not any((kind in k.get("kinds", []) or "*" in k.get("kinds", [])) and
                   (group in k.get("apiGroups", []) or "*" in k.get("apiGroups", [])) for k in kinds):
            return False
    ns = namespace_of(obj)
    if ns is not None:
        if match.get("namespaces") and not _ns_match(ns, match["namespaces"]):
            return False
        if _ns_match(ns, match.get("excludedNamespaces")):
            return False
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    labels = meta.get("labels") if isinstance(meta.get("labels"), dict) else {}
    return _selects(match.get("labelSelector"), labels)


def package_of(rego: str) -> str:
    m = re.search(r"^package\s+([A-Za-z0-9_.]+)", rego, re.M)
    if not m:
        raise RegoError("the Rego module has no package")
    return m.group(1)


class Engine:
    """A compiled template in regopy: query it on object after object."""

    def __init__(self, rego: str) -> None:
        try:
            from regopy import Interpreter
        except ImportError as exc:  # pragma: no cover - regopy is a test dependency
            raise RegoError("regopy is not installed (pip install 'aks-compliance[test]')") from exc
        self.package = package_of(rego)
        self.rego = rego
        self._interpreter = Interpreter()
        self._bundle: Any = None  # (builder, bundle) of compiled_count, built when first used
        self._runner: Any = None
        try:
            self._interpreter.add_module(self.package, rego)
        except Exception as exc:
            raise RegoError(f"package {self.package}: the Rego engine rejects the module: {_short(exc)}") from None

    def violations(self, obj: Mapping[str, Any], parameters: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """The template's violations on ``obj`` under review (the match is not applied: see :func:`matches`)."""
        # the count first: regopy can print a string made by some built-ins (lower, concat) with its quotes,
        # which makes the messages unreadable JSON, but never a number
        n = self.value("count(violation)", obj, parameters)
        if not n:
            return []
        try:
            found = self.value("violation", obj, parameters)
        except RegoError:
            return [{"msg": "(the engine's message could not be read)"}] * n
        if not isinstance(found, list):
            raise RegoError(f"package {self.package}: violation is not a set: {found!r:.300}")
        return found

    def count(self, obj: Mapping[str, Any], parameters: Mapping[str, Any] | None = None) -> int:
        """How many violations the template gives on ``obj`` (one query; the messages are not read)."""
        return int(self.value("count(violation)", obj, parameters) or 0)

    def compiled_count(self, obj: Mapping[str, Any], parameters: Mapping[str, Any] | None = None) -> int:
        """:meth:`count` from the module compiled once: ``query`` compiles the module again on every call (about
        14 ms, whatever the query), a bundle built once runs its plan in about a tenth of that. For the many-object
        differentials (tests/test_gatekeeper_fuzz.py, which checks this against :meth:`count`)."""
        if self._bundle is None:
            from regopy import Interpreter
            builder = Interpreter()
            builder.add_module(self.package, self.rego)
            self._bundle = (builder, builder.build(f"x := count(data.{self.package}.violation)"))
            self._runner = Interpreter()
        self._runner.set_input(self._input(obj, parameters))
        text = str(self._runner.query_bundle(self._bundle[1])).strip()
        try:
            return int(json.loads(text)["bindings"]["x"])
        except (ValueError, KeyError, TypeError):
            raise RegoError(f"package {self.package}: the compiled count gave {text[:300]!r}") from None

    @staticmethod
    def _input(obj: Mapping[str, Any], parameters: Mapping[str, Any] | None) -> Any:
        from regopy import Input
        params = dict(parameters or {})
        text = json.dumps(params)
        if any(c in text for c in _UNSAFE_IN_PARAMETERS):
            # regopy 1.5 fails on (or changes) strings with a backslash or a NUL in its input: never a silent wrong
            # answer
            raise RegoError("regopy cannot take a string with a backslash, a NUL (or the \\x01 and \\x02 standing in "
                            "for them) in its input (write a regular expression with character classes, e.g. [.] "
                            "for \\.)")
        return Input({"review": review(_regopy_safe(obj)), "parameters": params})

    def value(self, rule: str, obj: Mapping[str, Any], parameters: Mapping[str, Any] | None = None) -> Any:
        """The value of one rule of the package for ``obj`` under review (None when undefined)."""
        self._interpreter.set_input(self._input(obj, parameters))
        expr = f"count(data.{self.package}.{rule[len('count('):-1]})" if rule.startswith("count(") else \
            f"data.{self.package}.{rule}"
        try:
            out = self._interpreter.query(f"x := {expr}")
        except Exception as exc:
            raise RegoError(f"package {self.package}: the query of {rule} failed: {_short(exc)}") from None
        text = str(out).strip()
        if text == "undefined" or not text:
            return None
        try:
            doc = json.loads(text)
        except json.JSONDecodeError:
            raise RegoError(f"package {self.package}: the query of {rule} gave {text[:300]!r}") from None
        if isinstance(doc, dict) and "bindings" in doc:
            return doc["bindings"].get("x")
        raise RegoError(f"package {self.package}: the query of {rule} gave {text[:300]!r}")


# regopy 1.5 cannot read a backslash in an input string (a Windows user name: NT AUTHORITY\\SYSTEM), and ends a string
# at a NUL character (C strings: "\x00" reads as "", so a probe host "\x00" reads as empty and "ALL\x00" as ALL). In
# the object under review each stands for itself (Go's OPA, which Gatekeeper runs, reads both as any other
# character), so another character takes its place: one byte (regopy's glob.match reads '?' and classes byte by byte,
# so a role named "r\x00" must still match "r?"), a control character no rule literal holds, and a parameter holding
# any of the four characters is refused.
BACKSLASH_STAND_IN = "\x02"
NUL_STAND_IN = "\x01"
_UNSAFE_IN_PARAMETERS = ("\\\\", "\\u0000", "\\u0001", "\\u0002")  # as json.dumps writes them


def _regopy_safe(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\\", BACKSLASH_STAND_IN).replace("\x00", NUL_STAND_IN)
    if isinstance(value, list):
        return [_regopy_safe(v) for v in value]
    if isinstance(value, dict):
        return {_regopy_safe(k): _regopy_safe(v) for k, v in value.items()}
    return value


def run_template(rego: str, obj: Mapping[str, Any], parameters: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    return Engine(rego).violations(obj, parameters)


def _short(exc: Exception) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return " | ".join(lines[:6])


def template_rego(template: Mapping[str, Any]) -> str:
    """The admission target's Rego of a ConstraintTemplate (``rego`` or ``code[engine=Rego]``)."""
    for t in template.get("spec", {}).get("targets", []):
        if t.get("target") != "admission.k8s.gatekeeper.sh":
            continue
        if t.get("rego"):
            return t["rego"]
        for c in t.get("code") or []:
            if c.get("engine") == "Rego":
                return c["source"]["rego"]
    raise RegoError(f"template {template.get('metadata', {}).get('name')}: no Rego for the admission target")


# --- Rego v0 -> v1, for the constructs Microsoft's built-in templates use ---------------------------------

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*")


def _body_brace(line: str) -> int:
    """The index of the '{' that opens a rule's body (the first one outside brackets and strings), or -1."""
    depth, quote = 0, None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote and line[i - 1] != "\\":
                quote = None
            continue
        if ch in "\"`":
            quote = ch
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "{":
            if depth == 0:
                return i
            depth += 1
        elif ch == "}":
            depth -= 1
    return -1


def _convert_head(line: str) -> str:
    m = _NAME.match(line)
    if not m or line.startswith(("package ", "import ")):
        return line
    brace = _body_brace(line)
    if brace < 0:
        return line
    name, rest, tail = m.group(0), line[m.end():brace].strip(), line[brace + 1:].strip()
    if re.search(r"\bif\b", rest) or re.search(r"\bcontains\b", rest):
        return line
    if rest.startswith("[") and rest.endswith("]"):  # partial set: name[x] { ... }
        head = f"{name} contains {rest[1:-1]}"
    elif rest.startswith("("):  # function: f(x) { ... } / f(x) = v { ... }
        head = f"{name}{rest}"
    elif rest.startswith(("=", ":=")):  # complete rule with a body: name = v { ... }
        head = f"{name} {rest}"
    elif not rest:
        head = name
    else:
        return line
    return f"{head} if {{" + (f" {tail}" if tail else "")


_ITERATED = re.compile(r"\[[A-Za-z_][A-Za-z0-9_]*\]")
_ITERATED_IN_CALL = re.compile(r"([A-Za-z_][A-Za-z0-9_.]*\[_\])")


def _bind_iterations(line: str, n: int) -> str:
    """regopy rejects or finds no solution for two forms OPA evaluates: a comparison whose two sides both iterate
    (``a[k] == b[_]``) and an iteration inside a call's arguments (``trim(a[_], "*")``). Binding the iterated
    value to a variable first has the same meaning (the body is a conjunction; ``not``, assignments and
    comprehensions are left as they are)."""
    body = line.strip()
    if not line[:1].isspace() or not body or body.startswith(("not ", "some ", "#")) or "|" in body or \
            ":=" in body or re.search(r"(?<![=!<>])=(?!=)", body):
        return line
    indent = line[: len(line) - len(line.lstrip())]
    cmp = re.fullmatch(r"(.+?)\s*(==|!=)\s*(.+)", body)
    if cmp and _ITERATED.search(cmp.group(1)) and _ITERATED.search(cmp.group(3)):
        return f"{indent}v1_{n} := {cmp.group(1)}\n{indent}v1_{n} {cmp.group(2)} {cmp.group(3)}"
    if "(" in body and "[_]" in body[body.index("("):]:
        hoisted, k = [], 0

        def bind(m: re.Match[str]) -> str:
            nonlocal k
            k += 1
            hoisted.append(f"{indent}v1_{n}_{k} := {m.group(1)}")
            return f"v1_{n}_{k}"

        head, tail = body[: body.index("(")], body[body.index("("):]
        tail = _ITERATED_IN_CALL.sub(bind, tail)
        return "\n".join(hoisted + [f"{indent}{head}{tail}"])
    return line


def rego_v1(source: str) -> str:
    """A Rego v0 module (as Microsoft's built-in templates are written) in v1 syntax."""
    out = []
    for n, line in enumerate(source.splitlines()):
        if line and not line[0].isspace() and not line.startswith("#"):
            line = _convert_head(line)
        line = _bind_iterations(line, n)
        line = re.sub(r"\bre_match\(", "regex.match(", line)
        line = re.sub(r"\bnot any\(([A-Za-z_][A-Za-z0-9_]*)\)", r"not true in \1", line)
        line = re.sub(r"(?<![.\w])any\(([A-Za-z_][A-Za-z0-9_]*)\)", r"true in \1", line)
        out.append(line)
    text = "\n".join(out) + "\n"
    head, _, body = text.partition("\n")
    imports = "import future.keywords.contains\nimport future.keywords.if\nimport future.keywords.in\n"
    return f"{head}\n{imports}{body}" if head.startswith("package") else imports + text


__all__ = ["API_GROUPS", "Engine", "RegoError", "admitted_object", "matches", "namespace_of", "package_of", "rego_v1", "review",
           "run_template", "template_rego"]
