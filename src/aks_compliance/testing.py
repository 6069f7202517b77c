"""Testing controls against fixtures: the harness the built-in catalog's own meta-tests use, for your controls.

Lay fixtures out one folder per control, each file named by the outcome it must give::

    fixtures/
      CONTOSO-001/
        passed-tagged.json            # an ARM template, export or REST resource (ARM-side control)
        failed-no-tags.json
        failed-absent-tag.json        # "absent": the property the control reads is missing
      CONTOSO-101/
        passed-labelled.yaml          # Kubernetes manifests or a snapshot (in-cluster control), or one node's
                                      # kube-bench JSON output (the node is named by the file)
        failed-unlabelled.yaml
        failed-absent-labels.yaml

Outcomes are ``passed``, ``failed``, ``unknown``, ``not_applicable`` and ``manual``. A fixture holds exactly
one target the control judges, or names it with a ``# expect-target: <Kind>/<name>`` comment (YAML). A
fixture that needs other thresholds has them beside it in ``<fixture>.control-config.yaml`` (or, in YAML,
as ``# control-param: NAME=VALUE`` comments). Each fixture
is scanned through the whole pipeline (reading, expansion, targets, evaluation), exactly as a scan would.

Then, in your test module, one line::

    from aks_compliance.testing import control_fixture_tests

    test_my_controls = control_fixture_tests("fixtures", controls_path="controls")

It yields one test per fixture (the control gives the outcome the name states, with evidence citing
``file:line``) and one per control (it has a passing and a failing fixture, and an absent-property case). For a
control declared as an object rule, each fixture is also run through the Gatekeeper template generated from it,
in a real Rego engine (``regopy``, skipped when it is not installed), with the constraint's match: it must
agree (:func:`check_fixture_in_gatekeeper`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from .controls import Catalog, Control, load_catalog
from .results import Result

# error: the input is one the resource's API rejects (a malformed value): no control may pass or fail over it
OUTCOMES = ("passed", "failed", "unknown", "not_applicable", "manual", "error")
FIXTURE_SUFFIXES = (".json", ".jsonc", ".yaml", ".yml", ".gz")
_TARGET = re.compile(r"^#\s*expect-target:\s*(\S+)\s*$", re.M)
_PARAM = re.compile(r"^#\s*control-param:\s*([A-Za-z][A-Za-z0-9]*)=(.*?)\s*$", re.M)
SIDECAR = ".control-config.yaml"


class FixtureError(AssertionError):
    """A fixture that does not give the outcome its name states (or breaks the layout's rules)."""


@dataclass(frozen=True)
class FixtureCase:
    control_id: str
    path: Path
    expected: str

    @property
    def id(self) -> str:
        return f"{self.control_id}/{self.path.name}"


def expected_outcome(path: Path) -> str:
    for o in OUTCOMES:
        if path.name.startswith(o + "-"):
            return o
    raise FixtureError(f"{path}: the name does not start with an outcome ({', '.join(OUTCOMES)}) and a '-'")


def is_fixture(path: Path) -> bool:
    name = path.name
    return path.is_file() and name.endswith(FIXTURE_SUFFIXES) and not name.endswith(SIDECAR) \
        and not name.endswith(".parameters.json")


def fixture_cases(fixtures: str | Path, catalog: Catalog | None = None) -> list[FixtureCase]:
    """Every fixture under ``fixtures/<control id>/`` (controls not in ``catalog`` are an error)."""
    root = Path(fixtures)
    if not root.is_dir():
        raise FixtureError(f"{root}: no such fixtures directory")
    out = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if catalog is not None and folder.name not in catalog:
            raise FixtureError(f"{folder}: no control {folder.name} in the catalog")
        for f in sorted(folder.iterdir()):
            if is_fixture(f):
                out.append(FixtureCase(folder.name, f, expected_outcome(f)))
    return out


def is_in_cluster(control: Control) -> bool:
    return all(t.lower().startswith("k8s/") for t in control.resource_types)


def scan_fixture(case: FixtureCase, catalog: Catalog) -> Any:
    """The scan of one fixture with only its control, as ``--arm``/``--k8s`` would run it."""
    from .arm.inputs import ArmOptions
    from .controls.config import load_control_config, validate_control_params
    from .k8s.source import K8sOptions
    from .scan import ScanOptions, run_scan

    control = catalog[case.control_id]
    params: dict[str, Any] = {}
    sidecar = case.path.with_name(case.path.stem + SIDECAR)
    if sidecar.exists():
        params = load_control_config(sidecar)
    inline = fixture_params(case.path)
    if inline:
        params.setdefault(case.control_id, {}).update(inline)
    if params:
        validate_control_params(params, catalog)
    inputs: Any = K8sOptions(paths=[str(case.path)]) if is_in_cluster(control) else ArmOptions(paths=[str(case.path)])
    if is_in_cluster(control) and case.path.suffix == ".json":
        from .kubebench.family import KubeBenchOptions
        from .kubebench.reader import looks_like_kube_bench
        if looks_like_kube_bench(case.path):  # one node's kube-bench output (the node is the file's name)
            inputs = KubeBenchOptions(paths=[str(case.path)])
    return run_scan(ScanOptions(inputs=[inputs], controls=[case.control_id], control_params=params,
                                catalog=catalog))


def fixture_params(path: Path) -> dict[str, Any]:
    """Parameters a YAML fixture sets for its control with ``# control-param: NAME=VALUE`` comments."""
    if path.suffix not in (".yaml", ".yml"):
        return {}
    from .option_values import parse_value
    return {m.group(1): parse_value(m.group(2)) for m in _PARAM.finditer(path.read_text(encoding="utf-8"))}


def expected_target(path: Path) -> str | None:
    if path.suffix not in (".yaml", ".yml"):
        return None
    m = _TARGET.search(path.read_text(encoding="utf-8"))
    return m.group(1) if m else None


def fixture_result(case: FixtureCase, catalog: Catalog) -> tuple[Result, Any]:
    """(the control's result on the fixture's one target, the run); FixtureError when that is not one."""
    run = scan_fixture(case, catalog)
    errors = [str(d) for d in run.errors]
    if errors:
        raise FixtureError(f"{case.path}: input errors: {errors}")
    results = [r for r in run.results if r.control_id == case.control_id]
    wanted = expected_target(case.path)
    if wanted:
        results = [r for r in results if r.key.endswith("/" + wanted)]
    if len(results) != 1:
        raise FixtureError(f"{case.path}: a fixture holds exactly one target for {case.control_id} (or names it "
                           f"with '# expect-target:'), found {[r.key for r in results]}")
    return results[0], run


def check_fixture(case: FixtureCase, catalog: Catalog) -> tuple[Result, Any]:
    """Assert that the fixture gives the outcome its name states, with reasons and evidence as a verdict
    needs; (the result, the run) for further checks."""
    result, run = fixture_result(case, catalog)
    got = result.outcome.value
    if got != case.expected:
        raise FixtureError(f"{case.control_id} on {case.path.name}: {got}, expected {case.expected} "
                           f"({result.reason}) evidence={[e.as_dict() for e in result.evidence]}")
    if got in ("unknown", "not_applicable", "error", "manual") and not result.reason:
        raise FixtureError(f"{case.id}: an {got} verdict must say why")
    if got in ("passed", "failed"):
        if not result.evidence:
            raise FixtureError(f"{case.id}: a verdict carries evidence")
        if not all(e.file and e.line for e in result.evidence):
            raise FixtureError(f"{case.id}: evidence must cite file:line: {[e.as_dict() for e in result.evidence]}")
    return result, run


def admission_expectation(result: Result) -> set[str]:
    """What Gatekeeper must do with the object of a fixture whose pytest verdict is ``result``: ``failed`` ->
    "violation"; ``passed`` -> "no violation" (matched by the constraint); not applicable because of an excluded
    namespace -> "not matched" (the constraint's match); any other not applicable, or unknown (a container
    without an image ...) -> no violation, matched or not: admission never denies what cannot be judged."""
    outcome = result.outcome.value
    if outcome == "failed":
        return {"violation"}
    if outcome == "passed":
        return {"no violation"}
    if outcome == "not_applicable" and "excluded by parameter excludedNamespaces" in result.reason:
        return {"not matched"}
    return {"no violation", "not matched"}


def check_fixture_in_gatekeeper(case: FixtureCase, catalog: Catalog, rego: str | None = None) -> str | None:
    """Run the Gatekeeper template of the fixture's control (``rego``: a template's Rego; default: compiled from
    the control's object rule) on the fixture's object, with the constraint the fixture's parameters make, and
    assert that it agrees with the pytest verdict, on the object as the API server admits it (its namespace filled
    in, k8s.gatekeeper.admitted_object). Returns what admission did, or None when the target stands for no object
    an admission request could carry (a snapshot gap, a namespace only implied by others, an object the API server
    rejects as malformed: an ``error`` verdict)."""
    from .k8s.gatekeeper import Engine, admitted_object, matches
    from .policy.kubernetes import constraint_for

    control = catalog[case.control_id]
    if control.object_rule is None:
        raise FixtureError(f"{case.control_id} is not declared as an object rule: it has no Gatekeeper template")
    result, run = fixture_result(case, catalog)
    label = result.label
    target = next(t for t in run.targets if t.label == label)
    if result.outcome.value == "error":
        from .k8s.shapes import rejected
        if rejected(target.resource) is not None:
            return None  # an object the API server rejects: no admission webhook ever sees it
    if "gap" in target.context or target.context.get("implied"):
        if result.outcome.value != "unknown":
            raise FixtureError(f"{case.id}: a target without an object must be unknown, not {result.outcome.value}")
        return None
    constraint = constraint_for(control, fixture_params(case.path))
    obj = admitted_object(target.resource.body, target.namespace)
    if not matches(constraint["spec"]["match"], obj):
        got = "not matched"
    else:
        engine = Engine(rego if rego is not None else control.object_rule.to_rego(control))
        got = "violation" if engine.count(obj, constraint["spec"].get("parameters", {})) else "no violation"
    if got not in admission_expectation(result):
        raise FixtureError(f"{case.id}: the control says {result.outcome.value} ({result.reason or 'no reason'}), "
                           f"its Gatekeeper template gives {got}")
    return got


def missing_fixtures(control: Control, cases: Iterable[FixtureCase]) -> list[str]:
    """What the control's fixtures lack: a passing and a failing one, and the absent-property case
    (a manual control: a manual one; a control that can be not applicable: a not_applicable one)."""
    names = [c.path.name for c in cases if c.control_id == control.id]
    if control.manual:
        return [] if any(n.startswith("manual-") for n in names) else ["a manual- fixture"]
    missing = []
    if not any(n.startswith("passed-") for n in names):
        missing.append("a passing fixture (passed-*)")
    if not any(n.startswith("failed-") for n in names):
        missing.append("a failing fixture (failed-*)")
    if not any("absent" in n for n in names):
        missing.append("an absent-property fixture (a name containing 'absent')")
    if (control.applicability is not None or control.not_applicable is not None) and \
            not any(n.startswith("not_applicable-") for n in names):
        missing.append(f"a not_applicable- fixture ({_why_not_applicable(control)})")
    return missing


def _why_not_applicable(control: Control) -> str:
    """What in the declaration makes a control not applicable somewhere, as its author wrote it."""
    if control.applicability is not None:
        return "the control has an applicability condition"
    if any(p.name == "excludedNamespaces" for p in control.parameters):
        return "objects in an excluded namespace are not applicable: parameter excludedNamespaces"
    return "the control has a not_applicable function"


def control_fixture_tests(fixtures: str | Path, controls_path: str | Path | Iterable[str | Path] | None = None,
                          *, catalog: Catalog | None = None, only_custom: bool = True) -> Callable[..., None]:
    """A pytest test function, parametrized: one case per fixture and one per control (its fixture set).

    ``controls_path`` loads your controls as ``--controls-path`` does (or pass a ``catalog``); with
    ``only_custom`` (the default) only your controls must have fixtures.
    """
    import pytest

    if catalog is None:
        paths = [controls_path] if isinstance(controls_path, (str, Path)) else list(controls_path or [])
        catalog = load_catalog([str(p) for p in paths])
    cases = fixture_cases(fixtures, catalog)
    controls = [c for c in catalog if not (only_custom and c.builtin)]
    params = [pytest.param(("fixture", c), id=c.id) for c in cases] + \
             [pytest.param(("gatekeeper", c), id=f"{c.id}/gatekeeper") for c in cases
              if catalog[c.control_id].object_rule is not None and not (only_custom and catalog[c.control_id].builtin)] + \
             [pytest.param(("control", c), id=f"{c.id}/fixtures") for c in controls]
    frozen = catalog

    @pytest.mark.parametrize("aksc_case", params)
    def test_control_fixtures(aksc_case: tuple[str, Any]) -> None:
        kind, what = aksc_case
        if kind == "fixture":
            check_fixture(what, frozen)
        elif kind == "gatekeeper":
            pytest.importorskip("regopy", reason="the Gatekeeper template is run in regopy (pip install regopy)")
            check_fixture_in_gatekeeper(what, frozen)
        else:
            missing = missing_fixtures(what, cases)
            if missing:
                raise FixtureError(f"{what.id} needs {', '.join(missing)} under {fixtures}/{what.id}/")

    return test_control_fixtures


__all__ = ["FixtureCase", "FixtureError", "admission_expectation", "check_fixture", "check_fixture_in_gatekeeper",
           "control_fixture_tests", "expected_outcome", "fixture_cases", "fixture_result", "missing_fixtures",
           "scan_fixture"]
