"""Linked templates (issue 12, nothing dropped in silence): a nested deployment whose ``templateLink`` has a
``relativePath`` deploys the template at that path relative to its parent (ARM's TemplateLink.relativePath).
Offline the parent is a file, so the linked template is read beside it and expanded as a deployment of its
own (inner scope: parameters only through ``parameters``), its resources judged and cited in the linked file.
A link by ``uri`` or template spec ``id`` is not fetched: a warning says what would be needed, and the ledger
lists the deployment as not evaluated.

The fixtures are in tests/fixtures/inputs/linked (written for these tests), one scenario per directory."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from aks_compliance.diagnostics import NOT_EVALUATED, SKIPPED

from .conftest import line_of, outcome_of, scan, write_files

HERE = Path(__file__).resolve().parent / "fixtures" / "inputs" / "linked"
SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
MC = "Microsoft.ContainerService/managedClusters"
DEPLOYMENTS = "Microsoft.Resources/deployments"



def clusters(run) -> dict[str, object]:
    return {t.ref().name: t for t in run.targets if t.resource.type == MC}


def errors_in(run, file_end: str) -> list:
    return [d for d in run.diagnostics if d.severity == "error" and d.file.endswith(file_end)]


def template(*resources: dict, **extra) -> str:
    return json.dumps({"$schema": SCHEMA, "contentVersion": "1.0.0.0", "resources": list(resources), **extra},
                      indent=1)


def link(name: str, relative: str, **props) -> dict:
    return {"type": DEPLOYMENTS, "apiVersion": "2022-09-01", "name": name,
            "properties": {"mode": "Incremental", "templateLink": {"relativePath": relative}, **props}}


def cluster(name: str = "aks-mod", **props) -> dict:
    return {"type": MC, "apiVersion": "2024-05-01", "name": name, "location": "westeurope",
            "properties": {"dnsPrefix": "x", **props}}


# --- a cluster deployed through a relativePath link ------------------------------------------------------

@pytest.mark.parametrize("given", ["directory", "file"])
def test_a_cluster_deployed_through_a_relative_path_is_judged_from_the_linked_file(given: str) -> None:
    root = HERE / "basic"
    module = root / "modules" / "aks.json"
    run = scan(root if given == "directory" else root / "main.json")
    assert not run.errors, [str(d) for d in run.errors]
    (target,) = clusters(run).values()  # once: not also scanned on its own without its parameters
    assert target.ref().name == "aks-linked"  # the parameter the parent passes
    assert target.resource.source.file == str(module)
    # localAccountsOff is false in main.json, passed as disableLocalAccounts: local accounts stay on
    aks002 = outcome_of(run, "AKS-002")
    assert aks002.outcome.value == "failed", aks002.reason
    (ev,) = [e for e in aks002.evidence if e.file]
    assert ev.file == str(module) and ev.line == line_of(module, '"disableLocalAccounts": "[parameters')
    # nodePublicIP: true passed over the linked template's default (false)
    aks011 = outcome_of(run, "AKS-011")
    assert aks011.outcome.value == "failed"
    assert any(e.file == str(module) and e.line == line_of(module, '"enableNodePublicIP"') for e in aks011.evidence)
    # the linked file is an input, linked from its parent
    inputs = {i["path"]: i for i in run.inputs}
    assert inputs[str(module)]["kind"] == "arm-linked-template"
    assert inputs[str(module)]["linked_from"] == [str(root / "main.json")]
    assert inputs[str(root / "main.json")]["kind"] == "arm-template"
    # the deployment itself: in the ledger, its resources listed under the linked file
    (dep,) = [e for e in run.ledger.entries if e.type == DEPLOYMENTS]
    assert dep.status == NOT_EVALUATED and "relativePath" in dep.reason and "listed on their own" in dep.reason
    (cl,) = [e for e in run.ledger.entries if e.type == MC]
    assert cl.file == str(module) and cl.pointer == "/resources/0"
    if given == "directory":  # walked too: said to be scanned through its parent, not judged on its own
        (entry,) = [e for e in run.ledger.entries if e.status == SKIPPED and e.name == str(module)]
        assert "linked template" in entry.reason and str(root / "main.json") in entry.reason
    # reference() reads the linked template's outputs: no error, no warning about linked templates
    assert not [d for d in run.diagnostics if "linked" in d.message], [str(d) for d in run.diagnostics]


def test_a_linked_template_scanned_alone_keeps_the_old_behaviour() -> None:
    """Named on its own, a module is a template like any other: parameters without a value are unknown, no error."""
    run = scan(HERE / "basic" / "modules" / "aks.json")
    assert not run.errors
    assert outcome_of(run, "AKS-002").outcome.value == "unknown"


# --- copy loops and conditions -----------------------------------------------------------------------------

def test_a_link_in_a_copy_loop_deploys_one_cluster_per_copy() -> None:
    root = HERE / "copy"
    module = root / "cluster.json"  # sorts before main.json: read on its own first, then known to be linked
    run = scan(root)
    assert not run.errors, [str(d) for d in run.errors]
    found = clusters(run)
    assert sorted(found) == ["aks-copy-0", "aks-copy-1"], sorted(found)
    assert all(t.resource.source.file == str(module) for t in found.values())
    assert outcome_of(run, "AKS-002", "aks-copy-0").outcome.value == "failed"
    assert outcome_of(run, "AKS-002", "aks-copy-1").outcome.value == "passed"
    # no target, result or error of its standalone scan (whose clusterName has no value) is left
    assert not [r for r in run.results if r.outcome.value == "unknown" and "clusterName" in r.reason]
    kinds = [(i["path"], i["kind"]) for i in run.inputs]
    assert (str(module), "arm-linked-template") in kinds and (str(module), "arm-template") not in kinds


def test_a_conditioned_link_deploys_only_if_its_condition_holds() -> None:
    run = scan(HERE / "condition")
    assert not run.errors, [str(d) for d in run.errors]
    found = clusters(run)
    assert list(found) == ["aks-maybe"]  # aks-off's condition is false
    target = found["aks-maybe"]
    assert any("deployed only if its condition holds" in n for n in target.resource.notes), target.resource.notes
    assert "/resourceGroups/rg-other/" in target.resource.id  # the group the deployment targets
    off = [e for e in run.ledger.entries if e.type == DEPLOYMENTS and e.name == "aks-off"]
    assert off and off[0].status == NOT_EVALUATED and "condition is false" in off[0].reason


def test_parameters_from_a_parameters_link_are_unknown_and_said_so() -> None:
    run = scan(HERE / "params" / "main.json")
    assert not run.errors, [str(d) for d in run.errors]
    (target,) = clusters(run).values()
    r = outcome_of(run, "AKS-002")
    assert r.outcome.value == "unknown" and "parametersLink" in r.reason, r.reason
    warned = [d for d in run.diagnostics if d.severity == "warning" and "parametersLink" in d.message]
    assert warned and warned[0].pointer == "/resources/0/properties/parametersLink"


# --- bad links: an error naming the parent and the pointer, the rest of the scan going on -------------------

def test_a_missing_file_a_parameter_file_and_a_directory_are_errors_at_the_link() -> None:
    root = HERE / "missing"
    run = scan(root)
    errors = {d.pointer: d for d in errors_in(run, "main.json")}
    ptr = "/resources/{}/properties/templateLink/relativePath"
    assert "does not exist" in errors[ptr.format(0)].message and "nope.json" in errors[ptr.format(0)].message
    assert "not an ARM template" in errors[ptr.format(1)].message and "parameter file" in errors[ptr.format(1)].message
    assert "directory" in errors[ptr.format(2)].message
    for i in range(3):
        assert errors[ptr.format(i)].file == str(root / "main.json") and errors[ptr.format(i)].line
    # the cluster beside the broken links is still judged
    assert outcome_of(run, "AKS-002").outcome.value == "failed"
    reasons = {e.name: e.reason for e in run.ledger.entries if e.type == DEPLOYMENTS}
    assert all("could not be read" in reasons[n] for n in ("gone", "params-not-template", "a-directory")), reasons


def test_a_cycle_of_links_is_an_error_naming_the_chain() -> None:
    root = HERE / "cycle"
    run = scan(root)
    (err,) = [d for d in run.diagnostics if "cycle" in d.message]
    assert err.severity == "error"
    assert f"{root / 'a.json'} -> {root / 'b.json'} -> {root / 'a.json'}" in err.message, err.message
    # the cluster of b.json is judged once (b.json is reached through a.json, not scanned twice)
    assert list(clusters(run)) == ["aks-in-cycle"]
    assert outcome_of(run, "AKS-002").outcome.value == "passed"


def test_a_path_escaping_the_scanned_root_is_an_error() -> None:
    root = HERE / "escape"
    for given in (root, root / "main.json"):
        run = scan(given)
        (err,) = errors_in(run, "main.json")
        assert "outside the scanned root" in err.message and err.pointer.endswith("/templateLink/relativePath")
        assert not clusters(run)


def test_an_absolute_path_a_uri_and_backslashes_are_errors(tmp_path: Path) -> None:
    (tmp_path / "m.json").write_text(template(cluster()))
    write_files(tmp_path, {"main.json": template(link("abs", str(tmp_path / "m.json")),
                                                 link("uri", "https://example.invalid/m.json"),
                                                 link("back", "sub\\m.json"),
                                                 link("empty", ""),
                                                 link("number", "[add(1, 2)]"))})
    run = scan(tmp_path / "main.json")
    errors = {d.pointer.split("/")[2]: d.message for d in errors_in(run, "main.json")}
    assert "absolute" in errors["0"] and "absolute" in errors["1"], errors
    assert "'/'" in errors["2"] and "empty" in errors["3"] and "must be a string" in errors["4"], errors
    assert not clusters(run)


def test_a_link_to_a_fifo_or_a_huge_file_is_an_error_and_never_blocks(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.json")
    with open(tmp_path / "big.json", "wb") as fh:
        fh.truncate(40 * 1024 * 1024)
    write_files(tmp_path, {"main.json": template(link("pipe", "pipe.json"), link("big", "big.json"))})
    run = scan(tmp_path / "main.json")
    errors = {d.pointer.split("/")[2]: d.message for d in errors_in(run, "main.json")}
    assert "named pipe" in errors["0"] and "limit" in errors["1"], errors


def test_a_link_to_this_tools_own_output_is_not_read(tmp_path: Path) -> None:
    write_files(tmp_path, {"results.json": json.dumps({"schema": "aks-compliance/results/v1", "results": []}),
                           "main.json": template(link("own", "results.json"))})
    run = scan(tmp_path / "main.json")
    (err,) = errors_in(run, "main.json")
    assert "aks-compliance output" in err.message
    assert str(tmp_path / "results.json") not in {i["path"] for i in run.inputs}


def test_a_content_version_other_than_the_linked_templates_is_an_error() -> None:
    root = HERE / "version"
    run = scan(root / "main.json")
    (err,) = errors_in(run, "main.json")
    assert "contentVersion" in err.message and "2.0.0.0" in err.message and "1.0.0.0" in err.message
    assert err.pointer == "/resources/0/properties/templateLink/contentVersion"
    assert not clusters(run)  # ARM rejects the deployment


def test_links_nested_deeper_than_the_limit_are_an_error_naming_the_chain(tmp_path: Path) -> None:
    files = {f"t{i}.json": template(link(f"d{i}", f"t{i + 1}.json")) for i in range(70)}
    files["t70.json"] = template(cluster("aks-deep"))
    write_files(tmp_path, files)
    run = scan(tmp_path / "t0.json")
    (err,) = [d for d in run.errors if "deeper" in d.message]
    assert "t0.json -> " in err.message and "t1.json" in err.message


# --- links by URI or template spec: not fetched, said so --------------------------------------------------

def test_a_uri_or_template_spec_link_is_not_fetched_and_listed_as_not_evaluated() -> None:
    run = scan(HERE / "uri" / "main.json")
    assert not run.errors
    warnings = {d.pointer: d.message for d in run.diagnostics if d.severity == "warning"}
    uri = warnings["/resources/0/properties/templateLink"]
    assert "linked templates are not fetched" in uri and "relativePath" in uri, uri
    spec = warnings["/resources/1/properties/templateLink"]
    assert "template spec" in spec and "az ts export" in spec, spec
    reasons = {e.name: e for e in run.ledger.entries if e.type == DEPLOYMENTS}
    assert reasons["by-uri"].status == NOT_EVALUATED and "templateLink.uri" in reasons["by-uri"].reason
    assert reasons["by-spec"].status == NOT_EVALUATED and "template spec" in reasons["by-spec"].reason


@pytest.mark.parametrize("relative", ["a-module.json", "[concat('a-module', '.json')]"])
def test_a_linked_templates_own_parameter_file_is_listed_as_not_used(tmp_path: Path, relative: str) -> None:
    """Whether the link is known before expanding (a literal) or only after (an expression, the module sorting
    first and read alone first), the module is judged once, with its parent's parameters."""
    module = template(cluster("[parameters('name')]", disableLocalAccounts="[parameters('off')]"),
                      parameters={"name": {"type": "string"}, "off": {"type": "bool"}})
    write_files(tmp_path, {
        "a-module.json": module,
        "a-module.parameters.json": json.dumps({"parameters": {"name": {"value": "aks-alone"},
                                                               "off": {"value": "not-a-bool"}}}),
        "main.json": template(link("m", relative, parameters={"name": {"value": "aks-parent"},
                                                               "off": {"value": True}}))})
    run = scan(tmp_path)
    assert not run.errors, [str(d) for d in run.errors]  # the module's own (bad) values are never bound
    assert list(clusters(run)) == ["aks-parent"]
    assert outcome_of(run, "AKS-002").outcome.value == "passed"
    assert not [d for d in run.diagnostics if "not paired" in d.message]
    (entry,) = [e for e in run.ledger.entries if e.name.endswith("a-module.parameters.json")]
    assert entry.status == SKIPPED and "linked template" in entry.reason and "not used" in entry.reason
    kinds = sorted(i["kind"] for i in run.inputs)
    assert kinds == ["arm-linked-template", "arm-parameters", "arm-template"], kinds


def test_a_deployment_read_from_rest_json_reads_its_linked_template(tmp_path: Path) -> None:
    """A deployment resource as ARM GET returns it, with an inline template that links a file beside it."""
    write_files(tmp_path, {
        "aks.json": template(cluster("aks-rest", disableLocalAccounts=True)),
        "deployment.json": json.dumps({
            "type": DEPLOYMENTS, "name": "outer", "id": "/subscriptions/0/resourceGroups/rg/providers/"
                                                        "Microsoft.Resources/deployments/outer",
            "properties": {"template": json.loads(template(link("inner", "aks.json")))}})})
    run = scan(tmp_path)
    assert not run.errors, [str(d) for d in run.errors]
    (target,) = clusters(run).values()
    assert target.resource.source.file == str(tmp_path / "aks.json")
    assert {i["kind"] for i in run.inputs} == {"arm-resources", "arm-linked-template"}


def test_which_templates_are_scanned_on_their_own() -> None:
    """linked.standalone: a file no other reaches is kept; what a kept one reaches is not; of files that reach one
    another only (a cycle), the first whose every reacher it reaches itself."""
    from aks_compliance.arm.linked import standalone

    assert standalone(["main", "mod"], {"main": {"mod"}}) == {"main"}
    assert standalone(["mod", "main"], {"main": {"mod"}, "mod": set()}) == {"main"}
    assert standalone(["a", "b"], {"a": {"b"}, "b": {"a"}}) == {"a"}
    # e is reached by f only; f and g reach each other: f is kept (not e, which comes first but is entered)
    assert standalone(["e", "f", "g"], {"f": {"g", "e"}, "g": {"f", "e"}}) == {"f"}
    # a file reached only by one that is itself not kept is kept (its reacher's parent did not reach it)
    assert standalone(["k", "w", "x"], {"k": {"w"}, "w": {"x"}}) == {"k", "x"}
