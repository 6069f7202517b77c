"""Gatekeeper, as far as testing a ConstraintTemplate needs it: the constraint's ``match`` and a Rego engine.

* :func:`matches`: whether a constraint's ``match`` (kinds, namespaces, excludedNamespaces, labelSelector)
  selects an object, as Gatekeeper decides before it runs the Rego (a Namespace object is in the namespace it
  names; other cluster-scoped objects are in none).
* :func:`run_template`: the violations a template's Rego gives on an object under admission review, in
  ``regopy`` (Microsoft's rego-cpp interpreter; imported lazily, a test dependency).
* :func:`rego_v1`: Microsoft's built-in templates are written in Rego v0 (``violation[{"msg": msg}] {...}``);
  regopy reads such heads as Rego v1 *object* rules, which changes their meaning. This converts the constructs
  those templates use to their v1 spelling (``contains``/``if`` in rule heads, ``re_match`` -> ``regex.match``,
  ``any(x)`` -> ``true in x``), so they run faithfully.
"""

from __future__ import annotations

import fnmatch
import json
import re
from typing import Any, Mapping

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


def namespace_of(obj: Mapping[str, Any]) -> str | None:
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    if obj.get("kind") == "Namespace":
        return meta.get("name")
    return meta.get("namespace")


def _ns_match(ns: str, patterns: Any) -> bool:
    # Gatekeeper allows a leading or trailing * (prefix/suffix match)
    return any(isinstance(p, str) and fnmatch.fnmatchcase(ns, p) for p in patterns or ())


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
        try:
            self._interpreter.add_module(self.package, rego)
        except Exception as exc:
            raise RegoError(f"package {self.package}: the Rego engine rejects the module: {_short(exc)}") from None

    def violations(self, obj: Mapping[str, Any], parameters: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """The template's violations on ``obj`` under review (the match is not applied: see :func:`matches`)."""
        from regopy import Input
        self._interpreter.set_input(Input({"review": review(obj), "parameters": dict(parameters or {})}))
        try:
            out = self._interpreter.query(f"x := data.{self.package}.violation")
        except Exception as exc:
            raise RegoError(f"package {self.package}: the query failed: {_short(exc)}") from None
        text = str(out).strip()
        if text == "undefined" or not text:
            return []
        try:
            doc = json.loads(text)
        except json.JSONDecodeError:
            raise RegoError(f"package {self.package}: the query gave {text[:300]!r}") from None
        if isinstance(doc, dict) and "bindings" in doc:
            found = doc["bindings"].get("x")
            if not isinstance(found, list):
                raise RegoError(f"package {self.package}: violation is not a set: {text[:300]}")
            return found
        raise RegoError(f"package {self.package}: the query gave {text[:300]!r}")


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

_HEAD = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<rest>.*?)\s*\{\s*(?P<tail>.*)$")


def _convert_head(line: str) -> str:
    m = _HEAD.match(line)
    if not m or line.startswith(("package", "import")):
        return line
    name, rest, tail = m.group("name"), m.group("rest").strip(), m.group("tail")
    if re.search(r"\bif\b", rest) or re.match(r"\s*(:=|=)\s*\{", line[len(name):]):
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


def rego_v1(source: str) -> str:
    """A Rego v0 module (as Microsoft's built-in templates are written) in v1 syntax."""
    out = []
    for line in source.splitlines():
        if line and not line[0].isspace() and not line.startswith("#"):
            line = _convert_head(line)
        line = re.sub(r"\bre_match\(", "regex.match(", line)
        line = re.sub(r"\bnot any\(([A-Za-z_][A-Za-z0-9_]*)\)", r"not true in \1", line)
        line = re.sub(r"(?<![.\w])any\(([A-Za-z_][A-Za-z0-9_]*)\)", r"true in \1", line)
        out.append(line)
    text = "\n".join(out) + "\n"
    head, _, body = text.partition("\n")
    imports = "import future.keywords.contains\nimport future.keywords.if\nimport future.keywords.in\n"
    return f"{head}\n{imports}{body}" if head.startswith("package") else imports + text


__all__ = ["API_GROUPS", "Engine", "RegoError", "matches", "namespace_of", "package_of", "rego_v1", "review",
           "run_template", "template_rego"]
