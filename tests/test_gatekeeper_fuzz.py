"""The two engines of every object rule, on harsh random objects: the pytest verdict (Python) and the committed
Gatekeeper template (Rego, in regopy) must agree on every object Gatekeeper could be asked to admit.

Objects come from ``k8s_pods.harsh_objects`` (every workload kind at its template path, Namespaces, Services,
Ingresses, Roles; wide and hostile values), scanned through the whole pipeline in batches, each batch under one of
``PARAMETER_SETS`` (every Pod Security Standards version that changes a check, and the other parameters' edges).
Each (object, control) result is handled by category, none skipped in silence (all are counted and shown):

* ``error`` because the object is malformed (``k8s.shapes.rejected``: a field of a type the API server rejects, no
  containers, a request above its limit ...): the API server refuses such an object before any admission webhook
  sees it, so Gatekeeper has nothing to judge: out of the differential. An ``error`` on a well-formed object is an
  exception inside the rule: a finding, reported.
* a target that stands for no object (a namespace only implied by other objects): nothing to admit.
* everything else, as :func:`aks_compliance.testing.admission_expectation` says (the fixtures' rule): ``failed``
  <-> a violation; ``passed`` -> matched and no violation; ``not_applicable`` for an excluded namespace -> not
  matched by the constraint; other ``not_applicable`` and ``unknown`` -> no violation (admission never denies what
  the control cannot judge).

The CI budget is small (AKSC_FUZZ_EXAMPLES objects, default 120); a longer run, which writes what it found to a file:
    AKSC_FUZZ_EXAMPLES=20000 AKSC_FUZZ_REPORT=/tmp/gk-fuzz.json .venv/bin/pytest tests/test_gatekeeper_fuzz.py -q
A disagreement is minimised (fields and list members removed while it stays one) before it is shown; a new one
belongs in fixtures/k8s/<control>/ as a fixture, which proves both engines on it from then on.

regopy is the Rego engine here, and it differs from Go's OPA (which Gatekeeper runs) where no rule of the catalog
should depend on it: a NUL or a backslash in an input string (Engine passes a stand-in), and non-ASCII text, which
its glob.match ('?', classes), regex.match ('.') and lower() read byte by byte or leave as they are. The generator
draws non-ASCII text for values compared exactly (capabilities, annotations, hosts) but not for values matched by a
'?' pattern or lowered against a non-ASCII literal.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import yaml

from aks_compliance.controls import Control, Decision
from aks_compliance.controls.config import validate_control_params
from aks_compliance.k8s.gatekeeper import Engine, admitted_object, matches
from aks_compliance.k8s.shapes import rejected
from aks_compliance.k8s.source import K8sOptions
from aks_compliance.policy import kubernetes
from aks_compliance.scan import ScanOptions, run_scan
from aks_compliance.testing import admission_expectation

from .k8s_pods import harsh_objects
from .test_gatekeeper_policies import CATALOG, engine, no_object

pytest.importorskip("regopy")

EXAMPLES = int(os.environ.get("AKSC_FUZZ_EXAMPLES", "120"))
REPORT = os.environ.get("AKSC_FUZZ_REPORT")
BATCH = 200
RULES = [c for c in CATALOG if c.decision is Decision.OBJECT_RULE]
IDS = [c.id for c in RULES]
# Parameter values, each given to every rule that declares the parameter; one set per batch, in turn.
PARAMETER_SETS: list[dict[str, Any]] = [
    {},
    {"pssVersion": "v1.18"}, {"pssVersion": "v1.19"}, {"pssVersion": "v1.22"}, {"pssVersion": "v1.24"},
    {"pssVersion": "v1.25"}, {"pssVersion": "v1.27"}, {"pssVersion": "v1.30"}, {"pssVersion": "v1.34"},
    {"pssVersion": "v1.35"}, {"pssVersion": "cluster"}, {"pssVersion": " V1.31 "}, {"pssVersion": "1.0"},
    {"requireDigest": True, "minimumLevel": "restricted", "pssVersion": "v1.23"},
    {"allowedRegistries": ["docker.io", "*.azurecr.io/team/*", "MCR.microsoft.com", "localhost:5000", "ghcr.io/o/*"],
     "allowedPublicServices": ["app/*", "default/s1?", "*/s2*"], "exemptRoles": ["r1*", "cluster-admin"]},
    {"minimumGroupId": 0, "maximumGroupId": 2147483647, "exemptRoles": []},
    {"excludedNamespaces": []}, {"excludedNamespaces": ["app", "default"]},
    # globs with every character but the refused ones (test_rule_language.py: test_patterns_read_differently_are_
    # refused), and Gatekeeper's namespace wildcards (a leading or trailing *)
    {"exemptRoles": ["r?", "r1*", "system:*a*", "*-admin", "r]", "r}*", "ra,b", "r!*", "r[0-4]*", "[!rs]*"],
     "allowedPublicServices": ["app/s1?", "*/s2*", "default/*", "?pp/*", "app/s[13579]"],
     "allowedRegistries": ["*.azurecr.io", "docker.io", "mcr.microsoft.com/oss/*", "localhost:5000", "?hcr.io",
                           "[a-m]*.azurecr.io/*"]},
    {"exemptRoles": ["*"], "allowedRegistries": ["*"], "allowedPublicServices": ["*"]},
    {"excludedNamespaces": ["kube-*", "*-system", "*arc*"]}, {"excludedNamespaces": ["*"]},
    {"excludedNamespaces": ["app*", "*fault", "**", "*t-*"]},
]
MAX_SHOWN = 25


def overrides(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out = {c.id: {k: v for k, v in values.items() if k in c.parameter_defaults()} for c in RULES}
    validate_control_params({k: v for k, v in out.items() if v}, CATALOG)  # as --control-param would take them
    return out


def batches(total: int) -> Iterator[tuple[int, list[dict[str, Any]], dict[str, dict[str, Any]]]]:
    """Batches small enough that every parameter set gets its share of the budget."""
    done, n = 0, 0
    batch = max(5, min(BATCH, total // (2 * len(PARAMETER_SETS))))
    while done < total:
        size = min(batch, total - done)
        yield n, harsh_objects(seed=1000 + n, count=size), overrides(PARAMETER_SETS[n % len(PARAMETER_SETS)])
        done, n = done + size, n + 1


def scan(objs: list[dict[str, Any]], params: dict[str, dict[str, Any]], folder: Path,
         controls: list[str] = IDS) -> Any:
    path = folder / "objects.yaml"
    path.write_text(yaml.safe_dump_all(objs, allow_unicode=True), encoding="utf-8")
    return run_scan(ScanOptions(inputs=[K8sOptions(paths=[str(path)])], controls=controls,
                                control_params={k: v for k, v in params.items() if v and k in controls}))


REPLACED: dict[str, Engine] = {}  # a template other than the committed one (test_a_wrong_template_is_caught)


def admission(control: Control, obj: dict[str, Any], params: dict[str, Any] | None, *, compiled: bool = True) -> str:
    """What Gatekeeper does with ``obj`` under the control's constraint (made from ``params``)."""
    constraint = kubernetes.constraint_for(control, params)
    if not matches(constraint["spec"]["match"], obj):
        return "not matched"
    values = constraint["spec"].get("parameters", {})
    rego = REPLACED.get(control.id) or engine(control.id)
    n = rego.compiled_count(obj, values) if compiled else rego.count(obj, values)
    return "violation" if n else "no violation"


class Differential:
    """Counts by category, and the disagreements (with what is needed to minimise them)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {"failed <-> violation": 0, "passed <-> no violation": 0,
                                       "not_applicable (excluded namespace) <-> not matched": 0,
                                       "not_applicable (other) <-> no violation": 0, "unknown <-> no violation": 0,
                                       "error: malformed, out (the API server rejects it)": 0,
                                       "no object (implied namespace), out": 0, "compiled plan checked": 0}
        self.found: list[dict[str, Any]] = []

    def run(self, objs: list[dict[str, Any]], params: dict[str, dict[str, Any]], folder: Path) -> None:
        result_run = scan(objs, params, folder)
        # every object is read (a file the reader refused would leave its objects judged by nobody)
        assert not result_run.errors, [str(e) for e in result_run.errors][:5]
        targets = {t.label: t for t in result_run.targets}
        for r in result_run.results:
            if r.control_id not in params:
                continue
            control, target = CATALOG[r.control_id], targets[r.label]
            outcome = r.outcome.value
            if outcome == "error":
                if rejected(target.resource) is not None:
                    self.counts["error: malformed, out (the API server rejects it)"] += 1
                else:
                    self.found.append(self.record(control, target, params, outcome, r.reason, "(not run)"))
                continue
            if no_object(target):
                self.counts["no object (implied namespace), out"] += 1
                continue
            obj = admitted_object(target.resource.body, target.namespace)
            got = admission(control, obj, params[control.id])
            if sum(self.counts.values()) % 25 == 0:  # the compiled plan is the interpreter's answer
                assert admission(control, obj, params[control.id], compiled=False) == got, (control.id, obj)
                self.counts["compiled plan checked"] += 1
            expected = admission_expectation(r)
            if got not in expected:
                self.found.append(self.record(control, target, params, outcome, r.reason, got))
                continue
            if outcome in ("failed", "passed", "unknown"):
                key = {"failed": "failed <-> violation", "passed": "passed <-> no violation",
                       "unknown": "unknown <-> no violation"}[outcome]
            else:
                key = "not_applicable (excluded namespace) <-> not matched" if got == "not matched" else \
                    "not_applicable (other) <-> no violation"
            self.counts[key] += 1

    @staticmethod
    def record(control: Control, target: Any, params: dict[str, dict[str, Any]], outcome: str, reason: str,
               got: str) -> dict[str, Any]:
        return {"control": control.id, "params": params[control.id], "python": outcome, "reason": reason,
                "rego": got, "object": copy.deepcopy(target.resource.body)}


# --- minimising a disagreement ---------------------------------------------------------------------------

def verdicts(control: Control, obj: dict[str, Any], params: dict[str, Any], folder: Path) -> tuple[str, str, str]:
    """(the Python outcome, its reason, what admission does) for one object; ("none", ...) when the scan judges
    no such object (the reduction removed what makes it one)."""
    run = scan([obj], {control.id: params}, folder, controls=[control.id])
    targets = {t.label: t for t in run.targets}
    results = [r for r in run.results if r.label in targets and not no_object(targets[r.label])]
    if len(results) != 1:
        return "none", "", ""
    r, target = results[0], targets[results[0].label]
    if r.outcome.value == "error" and rejected(target.resource) is not None:
        return "malformed", r.reason, ""
    obj = admitted_object(target.resource.body, target.namespace)
    got = admission(control, obj, params) if r.outcome.value != "error" else "(not run)"
    return r.outcome.value, r.reason, got


def _reductions(value: Any) -> Iterator[Any]:
    """Smaller versions of a JSON value: a member removed (the largest first), then a member reduced."""
    if isinstance(value, dict):
        for k in sorted(value, key=lambda k: -len(json.dumps(value[k], default=str))):
            yield {kk: vv for kk, vv in value.items() if kk != k}
        for k in value:
            for smaller in _reductions(value[k]):
                yield {**value, k: smaller}
    elif isinstance(value, list):
        for i in range(len(value)):
            yield value[:i] + value[i + 1:]
        for i, v in enumerate(value):
            for smaller in _reductions(v):
                yield value[:i] + [smaller] + value[i + 1:]


def minimise(obj: dict[str, Any], still: Callable[[dict[str, Any]], bool], budget: int = 1500) -> dict[str, Any]:
    """Remove fields and list members while ``still`` holds (greedy, until no single removal keeps it)."""
    tries = 0
    progress = True
    while progress and tries < budget:
        progress = False
        for smaller in _reductions(obj):
            tries += 1
            if still(smaller):
                obj, progress = smaller, True
                break
            if tries >= budget:
                break
    return obj


def minimised(found: dict[str, Any], folder: Path) -> dict[str, Any]:
    control, params = CATALOG[found["control"]], found["params"]
    python, _, got = verdicts(control, found["object"], params, folder)

    def still(candidate: dict[str, Any]) -> bool:
        return verdicts(control, candidate, params, folder)[::2] == (python, got)

    small = minimise(found["object"], still)
    python, reason, got = verdicts(control, small, params, folder)
    return {**found, "object": small, "python": python, "reason": reason, "rego": got}


# --- the test --------------------------------------------------------------------------------------------

def test_both_engines_agree_on_harsh_objects(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    diff = Differential()
    for n, objs, params in batches(EXAMPLES):
        diff.run(objs, params, tmp_path)
    shown, seen = [], set()
    for found in diff.found:
        key = (found["control"], found["python"], found["rego"], json.dumps(found["params"], sort_keys=True))
        if key in seen or len(shown) >= MAX_SHOWN:
            continue
        seen.add(key)
        shown.append(minimised(found, tmp_path))
    if REPORT:
        Path(REPORT).write_text(json.dumps({"examples": EXAMPLES, "counts": diff.counts,
                                            "disagreements": len(diff.found), "minimised": shown,
                                            "all": diff.found},
                                           indent=1, default=str), encoding="utf-8")
    with capsys.disabled():
        print(f"\ntwo engines on {EXAMPLES} harsh objects: {diff.counts}; {len(diff.found)} disagreement(s)")
    assert not shown, "the engines disagree (minimised):\n" + "\n".join(
        f"{f['control']} {json.dumps(f['params'])}: Python {f['python']} ({f['reason'][:200]}), Rego {f['rego']} on "
        f"{json.dumps(f['object'], ensure_ascii=False)}" for f in shown)
    # every category is exercised, none is empty by accident of the generator
    for category in ("failed <-> violation", "passed <-> no violation", "error: malformed, out (the API server "
                     "rejects it)", "not_applicable (excluded namespace) <-> not matched", "compiled plan checked"):
        assert diff.counts[category] > 0, (category, diff.counts)



def test_a_wrong_template_is_caught(tmp_path: Path) -> None:
    """AKS-100's template reading a misspelt field never denies: the differential finds it, minimised to a small
    object that still shows it."""
    rego = engine("AKS-100").rego
    REPLACED["AKS-100"] = Engine(rego.replace('"privileged"]', '"privilegd"]'))
    try:
        diff = Differential()
        for n, objs, params in batches(60):
            diff.run(objs, params, tmp_path)
        found = [f for f in diff.found if f["control"] == "AKS-100"]
        assert found and all((f["python"], f["rego"]) == ("failed", "no violation") for f in found)
        small = minimised(found[0], tmp_path)
        assert (small["python"], small["rego"]) == ("failed", "no violation")
        assert len(json.dumps(small["object"])) < len(json.dumps(found[0]["object"]))
    finally:
        REPLACED.clear()
