"""Evaluating the catalog over targets, once, in bulk. pytest items only report these results."""

from __future__ import annotations

import json
import sys
from typing import Any, Iterable, Mapping

from .arm.api_versions import note_for
from .arm.shapes import rejection_of
from .controls import Catalog, Control
from .memo import Memo
from .policy.aliases import DEFAULT_ALIASES, AliasResolver
from .redaction import REDACTED, SECRET_KEY, redact_capped, redact_text
from .textsafe import MAX_MESSAGE, cap
from .policy.conditions import MISSING, Evaluator, Leaf, MalformedValue, PolicyDefinitionError, Subject, Truth, Verdict, \
    mark_failing
from .resources import Resource
from .results import Evidence, Outcome, Result, failing_first
from .targets import Target
from .user_code import call_applicability, call_check
from .values import Unknown
from .wording import plain, resource_label

MAX_ACTUAL = 300
MAX_EVIDENCE = 25


def redact(value: Any, _memo: dict[int, Any] | None = None) -> Any:
    """Evidence never carries values of secret-looking keys; a shared subtree is redacted once."""
    if isinstance(value, Unknown):
        return f"<unknown: {value.reason}>"
    if not isinstance(value, (dict, list)):
        return value
    memo = {} if _memo is None else _memo
    hit = memo.get(id(value))
    if hit is not None:
        return hit
    if isinstance(value, dict):
        out: Any = {k: (REDACTED if SECRET_KEY.search(k) else redact(v, memo)) for k, v in value.items()}
    else:
        out = [redact(v, memo) for v in value]
    memo[id(value)] = out
    return out


_SCALAR_TEXT = {True: "true", False: "false", None: "null"}


_SCALAR_TYPES = (str, int, float, bool)
# Rendered values, by value (strings, numbers, short lists of them) or, for objects, by identity (the entry
# holds the object, so its id stays unique): evidence shows the same values again and again (an image
# name on every pod, a container's securityContext to each control that reads it), and one shared string
# per value also keeps a large run's results small.
_RENDERED: Memo = Memo()


def _scalar_key(value: Any) -> Any:
    """A hashable key equal only for equal scalars of equal types, or None for anything else."""
    t = type(value)
    if t is float:
        return (t, repr(value))  # -0.0 == 0.0, and nan != nan: the text is what tells them apart
    if t in _SCALAR_TYPES or value is None:
        return (t, value)
    return None


def _value_key(value: Any) -> Any:
    """A hashable key equal only for equal values of equal types (scalars, short lists of them), or None."""
    t = type(value)
    if (t is list or t is tuple) and len(value) <= 16:
        members = tuple(_scalar_key(v) for v in value)
        return (t, members) if None not in members else None
    return _scalar_key(value)


def _content_key(value: Any, budget: list[int]) -> Any:
    """A hashable key equal only for values of equal content, types and key order (so of equal JSON), or
    None when the value is larger than ``budget`` nodes or holds other types. Objects repeat by content,
    not identity: the same securityContext or volume list on thousands of pods is rendered once."""
    budget[0] -= 1
    if budget[0] < 0:
        return None
    t = type(value)
    if t is dict:
        items = []
        for k, v in value.items():
            if type(k) is not str:
                return None
            kv = _content_key(v, budget)
            if kv is None:
                return None
            items.append((k, kv))
        return ("d", tuple(items))
    if t is list:
        members = []
        for v in value:
            kv = _content_key(v, budget)
            if kv is None:
                return None
            members.append(kv)
        return ("l", tuple(members))
    return _scalar_key(value)


def render(value: Any) -> str:
    if value is MISSING:
        return "(absent)"
    if value is True or value is False or value is None:
        return _SCALAR_TEXT[value]
    if type(value) is int:
        return str(value)
    if isinstance(value, Unknown):
        return f"unknown: {value.reason}"
    key = _value_key(value) if isinstance(value, (str, list, tuple)) else None
    if key is None and type(value) in (dict, list):
        hit = _RENDERED.get(("id", id(value)))
        if hit is not None and hit[0] is value:
            return hit[1]
        content = _content_key(value, [64])
        if content is not None:
            key = ("c", content)
    if key is None:
        key = ("id", id(value))
    hit = _RENDERED.get(key)
    if hit is not None and (key[0] != "id" or hit[0] is value):
        return hit[1]
    if isinstance(value, str):  # values are redacted too: a SAS URL's sig=, a connection string's key
        # only the start is shown: a 10 MB name costs no more than a short one
        text = json.dumps(redact_text(value[: 4 * MAX_ACTUAL]), ensure_ascii=False)
    else:
        text = _bounded_json(value, MAX_ACTUAL + 1)
    text = text if len(text) <= MAX_ACTUAL else text[: MAX_ACTUAL - 3] + "..."
    _RENDERED.put(key, (value if key[0] == "id" else None, text))
    return text


def _scalar_json(value: Any) -> str:
    if isinstance(value, Unknown):
        value = f"<unknown: {value.reason}>"
    if isinstance(value, str):
        value = redact_text(value[: 4 * MAX_ACTUAL])
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except ValueError:  # an integer of more digits than int -> str allows
        return '"<a number too long to show>"'


def _key_text(key: Any) -> str:
    """A mapping key as ``json.dumps`` writes it (YAML keys may be numbers, booleans, dates)."""
    if isinstance(key, str):
        return key
    if key is True or key is False or key is None:
        return _SCALAR_TEXT[key]
    if isinstance(key, (int, float)):
        return _scalar_json(key)
    return str(key)


def _bounded_json(value: Any, limit: int) -> str:
    """``json.dumps(redact(value))``, cut after about ``limit`` characters, in time and memory bounded by it.

    A value read from YAML may be nested hundreds of levels deep or share subtrees through aliases (a
    billion-laughs document is small as a graph and astronomically large as a tree): copying or
    serialising it whole overflows the stack or never finishes, though only the first few hundred
    characters are shown. Iterators on an explicit stack: no recursion, nothing copied.
    """
    out: list[str] = []
    size = 0

    def emit(text: str) -> None:
        nonlocal size
        out.append(text)
        size += len(text)

    stack: list[tuple[str, Any]] = []  # ("dict" | "list", iterator over the entries not yet written)

    def open_(item: Any) -> None:
        if isinstance(item, dict):
            emit("{")
            stack.append(("dict", iter(item.items())))
        elif isinstance(item, (list, tuple)):
            emit("[")
            stack.append(("list", iter(item)))
        else:
            emit(_scalar_json(item))

    open_(value)
    first = True
    while stack and size < limit:
        kind, entries = stack[-1]
        try:
            entry = next(entries)
        except StopIteration:
            stack.pop()
            emit("}" if kind == "dict" else "]")
            first = False
            continue
        if not first:
            emit(", ")
        first = True
        if kind == "dict":
            key = _key_text(entry[0])
            emit(json.dumps(redact_text(key[: 4 * MAX_ACTUAL]), ensure_ascii=False) + ": ")  # a key may hold one
            if SECRET_KEY.search(key):
                emit(json.dumps(REDACTED))
                first = False
                continue
            entry = entry[1]
        before = len(stack)
        open_(entry)
        first = len(stack) > before  # an opened container has no entry yet: no separator before its first
    return "".join(out)


_EXPECTED: Memo = Memo()
_EXPECTED_BY_ID: Memo = Memo()


def _expected_text(operator: str, operand: Any) -> str:
    """``equals true``, ``in ["azure", "calico"]``...; memoised by value (or, for objects, by identity: a
    rule's operands are the same objects every time it is evaluated; the entry holds the operand, so its
    id stays unique)."""
    by_id = _EXPECTED_BY_ID.get((operator, id(operand)))  # a rule's operands are the same objects each time
    if by_id is not None and by_id[0] is operand:
        return by_id[1]
    value = _value_key(operand)
    key = (operator, value) if value is not None else (operator, "id", id(operand))
    hit = _EXPECTED.get(key)
    if hit is not None and (value is not None or hit[0] is operand):
        _EXPECTED_BY_ID.put((operator, id(operand)), (operand, hit[1]))
        return hit[1]
    if operator == "exists":
        text = "exists" if str(operand).lower() == "true" else "absent"
    else:
        text = f"{operator} {render(operand)}"
    _EXPECTED.put(key, (operand if value is None else None, text))
    _EXPECTED_BY_ID.put((operator, id(operand)), (operand, text))  # holds the operand: its id stays unique
    return text


def leaf_evidence(leaf: Leaf, resource: Resource, target: Resource | None = None) -> Evidence:
    expected = _expected_text(leaf.operator, leaf.expected)
    actual = shown = render(leaf.actual)
    if leaf.in_count:
        # inside a count's where, a true comparison means the member is counted, not that it passed
        expected = f"counted where {expected}"
        actual += {Truth.TRUE: " (counted)", Truth.FALSE: " (not counted)"}.get(leaf.truth, "")
    file, line = resource.location_of(leaf.path)
    note = resource.value_notes.get(leaf.path) if resource.value_notes else None
    if resource.subtree_notes:  # a property the request's API version lacks (arm/api_versions.py): rare
        ignored = note_for(resource, leaf.path)
        note = f"{ignored}; {note}" if ignored and note else ignored or note
    if note:
        actual = f"{actual} ({note})"
    text = ""
    if leaf.failing:  # what a person reads first: plain words (computed for failing items only)
        other = target is not None and resource is not target
        text = redact_capped(plain(leaf.path, leaf.operator, leaf.expected, leaf.actual, leaf.truth is Truth.TRUE,
                                   resource.body, render, MISSING, note or "", leaf.context,
                                   resource_label(resource.type, resource.display_name()) if other else "", shown),
                             MAX_ACTUAL)
    # the same paths on every target of a type: one string each, capped once
    path = _PATHS.get(leaf.path)
    if path is None:  # (its keys are the input's: an annotation key may hold a credential)
        path = _PATHS.put(leaf.path, sys.intern(redact_capped(leaf.path, MAX_ACTUAL)))
    return Evidence(path, expected if len(expected) <= MAX_ACTUAL else cap(expected, MAX_ACTUAL), actual, file, line,
                    leaf.failing, text)


_PATHS: Memo = Memo()


def _evidence(leaves: list[Leaf], resource: Resource, target: Resource | None = None) -> list[Evidence]:
    if len(leaves) == 1:  # most results: one comparison (nothing to order, nothing to deduplicate)
        return [leaf_evidence(leaves[0], resource, target)]
    seen: set[tuple[str, str]] = set()
    out: list[Evidence] = []
    # the failing comparisons first, so that the cap never drops them and every report leads with them
    if any(leaf.failing for leaf in leaves):
        leaves = [leaf for leaf in leaves if leaf.failing] + [leaf for leaf in leaves if not leaf.failing]
    for leaf in leaves:
        key = (leaf.path, leaf.operator)
        if key in seen:
            continue
        seen.add(key)
        out.append(leaf_evidence(leaf, resource, target))
        if len(out) >= MAX_EVIDENCE:
            break
    return out[:]  # exactly its size: a list grown by appending keeps spare room (500,000 results: 12 MB)


def subject_of(resource: Resource) -> Subject:
    """The strict subject controls evaluate: a malformed shape is an error naming file, line and pointer."""
    name = resource.full_name if isinstance(resource.full_name, str) else None
    return Subject(resource.body, full_name=name, strict=True, where=resource.where_of)


_subject = subject_of


def _reason(verdict: Verdict) -> str:
    return "; ".join(verdict.reasons[:3]) + (f" (and {len(verdict.reasons) - 3} more)" if len(verdict.reasons) > 3 else "")


_OUTCOME_OF = {Truth.TRUE: Outcome.PASSED, Truth.FALSE: Outcome.FAILED, Truth.UNKNOWN: Outcome.UNKNOWN,
               Truth.ERROR: Outcome.ERROR}


def _from_truth(truth: Truth) -> Outcome:
    return _OUTCOME_OF[truth]


def evaluate_control(control: Control, target: Target, params: Mapping[str, Any],
                     aliases: AliasResolver = DEFAULT_ALIASES,
                     subject: Subject | None = None) -> tuple[Outcome, str, list[Evidence]]:
    """One control on one target. ``subject`` (the target's, from ``subject_of``) may be shared by the
    controls of one target: it is read, never changed."""
    resource = target.resource
    if control.not_applicable is not None:
        why = call_applicability(control.id, control.not_applicable, target, params)
        if isinstance(why, Verdict):
            return Outcome.ERROR, _reason(why), []
        if why:
            return Outcome.NOT_APPLICABLE, why, []
    if control.applicability is None and control.rule is None:
        evaluator = None
    else:
        evaluator = Evaluator(subject or _subject(resource), params, aliases)
    if control.applicability is not None:
        assert evaluator is not None
        applies = evaluator.verdict(control.applicability)
        if applies.truth is Truth.FALSE:
            return Outcome.NOT_APPLICABLE, control.applicability_text or "the control does not apply", \
                _evidence(applies.leaves, resource)
        if applies.truth is not Truth.TRUE:
            return _from_truth(applies.truth), "whether the control applies is " + (
                "unknown: " if applies.truth is Truth.UNKNOWN else "an error: ") + _reason(applies), \
                _evidence(applies.leaves, resource)
    if control.rule is not None:
        assert evaluator is not None
        verdict = evaluator.verdict(control.rule)
        outcome = _from_truth(verdict.truth)
        reason = _reason(verdict) if outcome in (Outcome.UNKNOWN, Outcome.ERROR) else ""
        return outcome, reason, _evidence(verdict.leaves, resource)
    if control.related is not None:
        return _evaluate_related(control, target, params, aliases)
    if control.check is not None:
        verdict = mark_failing(call_check(control.id, control.check, target, params))
        outcome = _from_truth(verdict.truth)
        return outcome, _reason(verdict) if outcome in (Outcome.UNKNOWN, Outcome.ERROR) else "", \
            _evidence(verdict.leaves, resource)
    return Outcome.MANUAL, "this control is checked by hand", []


def _evaluate_related(control: Control, target: Target, params: Mapping[str, Any],
                      aliases: AliasResolver) -> tuple[Outcome, str, list[Evidence]]:
    assert control.related is not None
    rel = control.related
    rtype = rel.type.lower()
    candidates = target.related.get(rtype, [])
    maybe = target.maybe_related.get(rtype, [])
    if not candidates and not maybe and target.context.get("unknown_related"):
        # e.g. a node pool read without its cluster: the cluster's attached resources were not read at all
        res = target.resource
        return Outcome.UNKNOWN, f"{rel.type} of this target are unknown: {target.context['unknown_related']}", [
            Evidence(path=rel.type, expected="a related resource satisfying the control", actual="not read",
                     file=res.source.file, line=res.source.line)]
    evidence: list[Evidence] = []
    reasons: list[str] = []
    errors: list[str] = []
    for r in candidates + maybe:
        verdict = Evaluator(_subject(r), params, aliases).verdict(rel.existence_condition)
        if verdict.truth is Truth.TRUE and r in candidates:
            return Outcome.PASSED, "", _evidence(verdict.leaves, r)
        evidence.extend(_evidence(verdict.leaves, r, target.resource))
        if verdict.truth is Truth.TRUE:
            reasons.append(f"{r.type} {r.display_name()} at {r.source.file}:{r.source.line} satisfies the "
                           f"control but its scope is unknown: {r.scope_id.reason if isinstance(r.scope_id, Unknown) else ''}")
        elif verdict.truth is Truth.UNKNOWN:
            reasons.extend(verdict.reasons)
        elif verdict.truth is Truth.ERROR:
            errors.extend(verdict.reasons)
    if errors:
        return Outcome.ERROR, "; ".join(errors[:3]), evidence[:MAX_EVIDENCE]
    if reasons:
        return Outcome.UNKNOWN, "; ".join(dict.fromkeys(reasons[:3])), evidence[:MAX_EVIDENCE]
    evidence = failing_first(evidence)
    if not candidates:
        res = target.resource
        evidence = [Evidence(path=rel.type, expected="a related resource satisfying the control",
                             actual="none found in the scanned inputs", file=res.source.file, line=res.source.line,
                             failing=True, text=f"{rel.missing} (none found in the scanned inputs)")]
    return Outcome.FAILED, rel.missing if not candidates else \
        f"no {rel.type} on this cluster satisfies the control", evidence[:MAX_EVIDENCE]


def _rejected(target: Target) -> MalformedValue | None:
    """A resource with a value of the wrong shape (arm/shapes.py, k8s/shapes.py) is rejected by its API as a
    whole: every control says so, including those that read nothing near it."""
    if target.type.lower().startswith("k8s/"):
        if target.context.get("implied") or "gap" in target.context or not isinstance(target.resource.type, str):
            return None  # a namespace only named by other objects, a kind not read: there is no object to check
        from .k8s.shapes import rejected
        return rejected(target.resource)
    return rejection_of(target.resource)


class Evaluation:
    """The catalog ready to judge targets one at a time: parameters resolved and the controls of each
    target type listed once. ``evaluate_all`` runs it over every target; a sharded run (shards.py) over
    the targets of its shard only."""

    def __init__(self, catalog: Catalog, overrides: Mapping[str, Mapping[str, Any]] | None = None,
                 aliases: AliasResolver = DEFAULT_ALIASES) -> None:
        overrides = overrides or {}
        # "*" overrides a parameter of every control that has it (e.g. *.excludedNamespaces)
        everywhere = overrides.get("*", {})
        self.params = {c.id: {**c.parameter_defaults(),
                              **{k: v for k, v in everywhere.items() if k in c.parameter_defaults()},
                              **overrides.get(c.id, {})} for c in catalog}
        self.catalog = catalog
        self.aliases = aliases
        self._by_type: dict[str, list[Control]] = {}

    def controls_for(self, target: Target) -> list[Control]:
        """The controls that judge a target: one result each."""
        ttype = target.type.lower()
        controls = self._by_type.get(ttype)
        if controls is None:
            controls = self._by_type[ttype] = [c for c in self.catalog if c.applies_to_type(ttype)]
        return controls

    def evaluate(self, target: Target) -> list[Result]:
        results: list[Result] = []
        ref = target.ref()
        controls = self.controls_for(target)
        params = self.params
        aliases = self.aliases
        rejected = _rejected(target)  # reads the body even when no control applies: its diagnostics are the run's
        subject = _subject(target.resource) if controls and rejected is None else None
        if subject is not None:
            subject.selected = {}  # the target's controls read many of the same fields
        if rejected is not None:  # said once for all its controls (its path holds the input's keys)
            rejected_reason = redact_capped(str(rejected), MAX_MESSAGE)
            rejected_path = redact_capped(rejected.path, MAX_ACTUAL)
            rejected_at = target.resource.location_of(rejected.path)
        for control in controls:
            if rejected is not None:  # the API rejects the whole resource: no control judges it
                results.append(Result(control.id, ref, Outcome.ERROR, rejected_reason, [
                    Evidence(path=rejected_path, expected=rejected.expected, actual=rejected.actual,
                             file=rejected_at[0], line=rejected_at[1])], label=target.label))
                continue
            try:
                outcome, reason, evidence = evaluate_control(control, target, params[control.id], aliases, subject)
            except PolicyDefinitionError as exc:
                outcome, reason, evidence = Outcome.ERROR, f"the control's rule is invalid: {exc}", []
            except MalformedValue as exc:  # a check (Python) read across a malformed shape
                outcome, reason, evidence = Outcome.ERROR, str(exc), [
                    Evidence(path=redact_capped(exc.path, MAX_ACTUAL), expected=exc.expected, actual=exc.actual,
                             file=target.resource.location_of(exc.path)[0],
                             line=target.resource.location_of(exc.path)[1])]
            if target.resource.notes and outcome is Outcome.PASSED:
                reason = "; ".join(target.resource.notes)
            if reason:
                reason = redact_capped(reason, MAX_MESSAGE)
            results.append(Result(control.id, ref, outcome, reason, evidence, label=target.label))
        target.resource.forget_locations()  # its controls are done: what they cited need not be kept
        return results


def evaluate_all(catalog: Catalog, targets: Iterable[Target],
                 overrides: Mapping[str, Mapping[str, Any]] | None = None,
                 aliases: AliasResolver = DEFAULT_ALIASES) -> list[Result]:
    evaluation = Evaluation(catalog, overrides, aliases)
    results: list[Result] = []
    for target in targets:
        results.extend(evaluation.evaluate(target))
    return results
