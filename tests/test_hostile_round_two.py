"""Hostile input, round two: cost, encoding and message content (issue 19), class by class.

Every test is bounded by construction: the budgets are passed in small (a template budget of thousands of
work units, not millions), inputs are small, and nothing waits on a timer.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aks_compliance.arm.context import DeploymentScope, TemplateContext
from aks_compliance.arm.expressions import Budget, evaluate, parse
from aks_compliance.option_values import OptionValueError, parse_value as parse_param_value
from aks_compliance.arm.template import Expander
from aks_compliance.errors import ExpressionError, InputError
from aks_compliance.discovery import walk
from aks_compliance.inputfiles import decode_text, read_input
from aks_compliance.jsonc import JsonDocument
from aks_compliance.redaction import looks_like_credential, redact_text
from aks_compliance.report.diff import load as load_results
from aks_compliance.textsafe import escape_controls, escape_terminal
from aks_compliance.values import Unknown, first_unknown, plain
from aks_compliance.waivers import GovernanceError, MAX_HORIZON_YEARS, load_waivers

from .conftest import FIXTURES, outcome_of, scan

SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
MC = "Microsoft.ContainerService/managedClusters"
GOOD = (FIXTURES / "controls" / "AKS-002" / "failed-enabled.json").read_text()
CANARY = "CNRYround2SecretQx9"
BOUNDED = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                          HealthCheck.function_scoped_fixture])


def template(resources: list | None = None, **extra: Any) -> dict:
    return {"$schema": SCHEMA, "contentVersion": "1.0.0.0", "resources": resources or [], **extra}


def cluster(name: str = "aks-bad", **props: Any) -> dict:
    return {"type": MC, "apiVersion": "2024-05-01", "name": name, "location": "westeurope", "properties": props}


def everything_said(run: Any) -> str:
    """Every text a run gives its outputs: diagnostics, reasons, evidence and the results document."""
    return json.dumps(run.document(), ensure_ascii=False) + "".join(str(d) for d in run.diagnostics)


# -- class 1: no secret in a message or in evidence ------------------------------------------------------

SECURE_CASES = {
    "string-given-an-object": ({"type": "securestring"}, {"value": {"a": CANARY}}),
    "string-not-allowed": ({"type": "securestring", "allowedValues": ["a", "b"]}, {"value": CANARY}),
    "allowed-values-are-secret": ({"type": "securestring", "allowedValues": [CANARY + "x"]}, {"value": "other"}),
    "object-given-a-string": ({"type": "secureObject"}, {"value": CANARY}),
    "object-given-a-list": ({"type": "secureObject"}, {"value": [CANARY]}),
    "string-given-a-number-list": ({"type": "secureString"}, {"value": [1, CANARY]}),
}


@pytest.mark.parametrize("case", sorted(SECURE_CASES))
@pytest.mark.parametrize("source", ["parameter-file", "arm-param", "nested-deployment"])
def test_a_secure_parameter_message_names_the_parameter_never_the_value(tmp_path: Path, case: str,
                                                                       source: str) -> None:
    decl, given_ = SECURE_CASES[case]
    body = cluster(dnsPrefix="[string(parameters('secret'))]", disableLocalAccounts=True)
    options: dict[str, Any] = {}
    if source == "nested-deployment":
        t = template([{"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "inner",
                       "properties": {"mode": "Incremental", "expressionEvaluationOptions": {"scope": "inner"},
                                      "parameters": {"secret": given_},
                                      "template": template([body], parameters={"secret": decl})}}])
    else:
        t = template([body], parameters={"secret": decl})
        if source == "parameter-file":
            (tmp_path / "t.parameters.json").write_text(json.dumps({
                "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#",
                "parameters": {"secret": given_}}))
        else:
            options["parameters"] = {"secret": given_["value"]}
    (tmp_path / "t.json").write_text(json.dumps(t))
    run = scan(tmp_path / "t.json", controls=["AKS-002"], **options)
    errors = [d.message for d in run.diagnostics if "secret" in d.message]
    assert errors and all("secure parameter 'secret'" in m for m in errors), errors
    assert CANARY not in everything_said(run)


def test_a_plain_parameter_named_like_a_secret_is_not_quoted_either(tmp_path: Path) -> None:
    """``adminPassword`` declared ``string`` (not secure) still holds a password: a value ARM would reject is
    described without its text, as a secure parameter's is."""
    (tmp_path / "t.json").write_text(json.dumps(template(
        [cluster(dnsPrefix="[parameters('adminPassword')]", kubernetesVersion="[string(parameters('clientSecret'))]",
                 disableLocalAccounts=True)],
        parameters={"adminPassword": {"type": "string", "allowedValues": ["a"]},
                    "clientSecret": {"type": "int"}})))
    run = scan(tmp_path / "t.json", controls=["AKS-002"],
               parameters={"adminPassword": CANARY, "clientSecret": CANARY + "2"})
    messages = [d.message for d in run.diagnostics]
    assert any("parameter 'adminPassword'" in m and "not one of its allowed values" in m for m in messages), messages
    assert any("parameter 'clientSecret'" in m and "expected an integer" in m for m in messages), messages
    assert CANARY not in everything_said(run)


def test_a_malformed_value_is_described_by_its_type_never_its_text(tmp_path: Path) -> None:
    """A Secret whose ``data`` is a string (the API server rejects it) is an error; the string may be the
    secret itself, so the message says "a string", never what it holds."""
    from aks_compliance.k8s.source import K8sOptions
    from aks_compliance.scan import ScanOptions, run_scan
    (tmp_path / "s.yaml").write_text(f"apiVersion: v1\nkind: Secret\nmetadata: {{name: s, namespace: default}}\n"
                                     f"data: {CANARY}\n---\napiVersion: v1\nkind: ConfigMap\n"
                                     f"metadata: {{name: c, namespace: default}}\ndata: '{CANARY}2'\n")
    run = run_scan(ScanOptions(inputs=[K8sOptions(paths=[str(tmp_path / "s.yaml")])]))
    errors = [r.reason for r in run.results if r.outcome.value == "error"]
    assert errors and all("found a string" in e for e in errors), errors
    assert CANARY not in everything_said(run)


@pytest.mark.parametrize("expression", ["[int(concat('x', '" + CANARY + "'))]", "[json('" + CANARY + "')]",
                                        "[base64ToString('" + CANARY + "!')]"])
def test_an_error_in_a_secure_default_or_nested_secure_value_does_not_quote_it(tmp_path: Path,
                                                                              expression: str) -> None:
    t = template([cluster(dnsPrefix="[parameters('secret')]", disableLocalAccounts=True),
                  {"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "inner",
                   "properties": {"mode": "Incremental", "expressionEvaluationOptions": {"scope": "inner"},
                                  "parameters": {"s": {"value": expression}},
                                  "template": template([], parameters={"s": {"type": "securestring"}})}}],
                 parameters={"secret": {"type": "securestring", "defaultValue": expression}})
    (tmp_path / "t.json").write_text(json.dumps(t))
    run = scan(tmp_path / "t.json", controls=["AKS-002"])
    messages = [d.message for d in run.diagnostics]
    assert any("default value of secure parameter 'secret'" in m for m in messages), messages
    assert any("secure parameter 's' of nested deployment" in m for m in messages), messages
    assert CANARY not in everything_said(run)


CREDENTIAL_SHAPES = [
    f"Bearer {CANARY}0123456789",
    f"Authorization: Basic {CANARY}dXNlcjpwYXNz==",
    f"ghp_{CANARY}abcdefghijklmnopqrstuv",
    f"github_pat_11AAAA{CANARY}",
    f"xoxb-1234-5678-{CANARY}",
    f"xoxp-{CANARY}",
    f"https://hooks.slack.com/services/T000/B000/{CANARY}",
    f"https://discord.com/api/webhooks/1234/{CANARY}",
    f"https://contoso.webhook.office.com/webhookb2/a@b/IncomingWebhook/{CANARY}/c",
    f"https://prod-01.westeurope.logic.azure.com/workflows/1/triggers/manual/paths/invoke?sp=x&sig={CANARY}",
    f"Server=tcp:db;Database=app;User ID=app;Password='{CANARY} with; semicolon';Encrypt=true",
    f'Server=db;Password="{CANARY}";',
    f"Server=db;Pwd={{{CANARY}}};",
    f"Server=db;Password= {CANARY};",
    f"AccountName=x;AccountKey={CANARY}==;EndpointSuffix=core.windows.net",
    f"https://user:{CANARY}@example.com/repo.git",
    f"https://x.blob.core.windows.net/c?sv=2022&sig={CANARY}",
    # a credential named by its key, in any notation: env assignment, header, JSON, a Python repr, URL-encoded
    f"aws_secret_access_key={CANARY}/abcdEFGH1234",
    f"DD_API_KEY={CANARY}",
    f"client_secret={CANARY}",
    f"host.redis.cache.windows.net:6380,password={CANARY},ssl=True",
    f"InstrumentationKey={CANARY};IngestionEndpoint=https://x",
    f"https://dev.azure.com/org?pat={CANARY}",
    f"Password%3D{CANARY}",
    f"password: {CANARY}",
    f"X-Api-Key: {CANARY}",
    f'{{"password": "{CANARY}"}}',
    f"{{'client_secret': '{CANARY}'}}",
    # a token as a URL's user (with a dummy password), a bare storage account key (64 bytes in base64)
    f"https://{CANARY}:x-oauth-basic@github.com/o/r.git",
    f"AAAA{CANARY}" + "B" * (86 - 4 - len(CANARY)) + "==",
]


@pytest.mark.parametrize("value", CREDENTIAL_SHAPES)
def test_credential_shapes_are_redacted_keeping_the_shape(value: str) -> None:
    once = redact_text(value)
    assert CANARY not in once and "redacted" in once
    assert redact_text(once) == once  # idempotent
    assert looks_like_credential(value)


@pytest.mark.parametrize("value", ["Basic tier", "Standard_D4ds_v5", "https://example.com/webhooks-docs",
                                   "kube-system", "bearer-token-authentication", "1.30.5", "azure",
                                   "no credential: Azure CLI", "enableSecretRotation: true", "secretName: app",
                                   "sku=Basic", "--authentication-token-webhook=true", "ssh://git@github.com/o/r"])
def test_ordinary_values_are_not_redacted(value: str) -> None:
    assert redact_text(value) == value


@pytest.mark.parametrize("value", CREDENTIAL_SHAPES)
def test_credential_shaped_property_values_never_reach_evidence(tmp_path: Path, value: str) -> None:
    (tmp_path / "t.json").write_text(json.dumps(template([cluster(
        kubernetesVersion=value, networkProfile={"networkPlugin": value, "networkPolicy": value},
        disableLocalAccounts=False)])))
    run = scan(tmp_path / "t.json")
    shown = [e.actual for r in run.results for e in r.evidence if "redacted" in e.actual]
    assert shown, "the properties are read by controls, so their (redacted) values are evidence"
    assert CANARY not in everything_said(run)


@pytest.mark.parametrize("expression", ["[int('{v}')]", "[concat('{v}' 'x')]", "[base64ToString('{v}')]"])
def test_a_credential_quoted_in_an_expression_error_never_reaches_evidence(tmp_path: Path, expression: str) -> None:
    """A failing expression is quoted in its error, and the error is the unknown value's reason, shown as
    evidence of every control that reads the property: the reason is redacted where the unknown is made."""
    shape = f"DefaultEndpointsProtocol=https;AccountName=a;AccountKey={CANARY}=="
    (tmp_path / "t.json").write_text(json.dumps(template([cluster(
        kubernetesVersion=expression.format(v=shape), networkProfile={"networkPlugin": expression.format(v=shape)},
        disableLocalAccounts=False)])))
    run = scan(tmp_path / "t.json")
    assert any("AccountKey=<redacted>" in e.actual for r in run.results for e in r.evidence)
    assert CANARY not in everything_said(run)


# -- class 2: bounded work -----------------------------------------------------------------------------

def context(budget: Budget) -> TemplateContext:
    doc = JsonDocument("t.json", {}, "{}")
    expander = Expander(doc)
    expander.budget = budget
    return TemplateContext({}, {}, DeploymentScope(), doc, "", expander)


def doubling(fn: str, n: int, seed: str = "createArray('x')") -> dict:
    variables = {"v0": f"[{seed}]"}
    for i in range(1, n):
        variables[f"v{i}"] = f"[{fn.format(a=f'variables(' + chr(39) + f'v{i - 1}' + chr(39) + ')')}]"
    return variables


GROWING = {
    "createArray": "createArray({a}, {a})",
    "concat-arrays": "concat({a}, {a})",
    "union-objects": "union(createObject('x', {a}), createObject('y', {a}))",
    "createObject": "createObject('l', {a}, 'r', {a})",
    "mul": "mul({a}, {a})",
    "concat-strings": "concat(string({a}), string({a}))",
    "join": "join(createArray(string({a}), string({a}), string({a})), string({a}))",
    "format-width": "format('{{0,999999999}}{{1}}', {a}, {a})",
    "format-digits": "format('{{0:D999999999}}{{1}}', 5, {a})",
    "padLeft": "padLeft(string({a}), 1000000000, 'y')",
}


@pytest.mark.parametrize("fn", sorted(GROWING))
def test_a_value_growing_chain_stops_at_the_bound_naming_file_line_and_expression(tmp_path: Path, fn: str) -> None:
    seed = "int(7)" if fn == "mul" else "createArray('x')"
    variables = doubling(GROWING[fn], 70, seed)
    t = template([cluster(dnsPrefix="[string(variables('v69'))]", disableLocalAccounts=True)], variables=variables)
    (tmp_path / "t.json").write_text(json.dumps(t, indent=1))
    (tmp_path / "good.json").write_text(GOOD)
    run = scan(tmp_path / "t.json", tmp_path / "good.json", controls=["AKS-002"])
    assert outcome_of(run, "AKS-002", "aks-fixture").outcome.value == "failed"  # the rest goes on
    errors = [d for d in run.diagnostics if d.file.endswith("t.json")]
    assert errors and all(d.line for d in errors), [str(d) for d in errors]
    bounded = ("over the limit", "overflows", "nests too deeply", "would produce more than")  # a chain of 70 variables is deep, too
    assert any(any(b in d.message for b in bounded) for d in errors), [str(d) for d in errors]


@st.composite
def growing_expressions(draw: st.DrawFn) -> str:
    """Chains of value-building functions, nested up to 8 deep around shared arguments."""
    expr = draw(st.sampled_from(["createArray('a')", "range(0, 50)", "'abc'", "7", "createObject('k', 'v')"]))
    for _ in range(draw(st.integers(1, 8))):
        template_ = draw(st.sampled_from(list(GROWING.values()) + [
            "map(range(0, 40), lambda('i', {a}))", "flatten(createArray({a}, {a}))", "items(createObject('k', {a}))",
            "reduce(range(0, 30), {a}, lambda('c', 'n', concat(string(lambdaVariables('c')), 'x')))",
            "intersection({a}, {a})", "range(0, length(string({a})))"]))
        expr = template_.format(a=expr)
    return expr


@BOUNDED
@given(growing_expressions())
def test_growing_expressions_stay_within_a_small_budget(expr: str) -> None:
    budget = Budget(limit=20_000, max_value=5_000)
    try:
        value = evaluate(parse(expr), context(budget))
    except ExpressionError:
        value = None
    # one charge past the limit at most: a value is refused when it is built, before anything walks it
    assert budget.steps <= 20_000 + 100_000
    if isinstance(value, (list, dict)):
        assert budget.size(value) <= 5_000
        first_unknown(value)  # members that failed are unknown; finding them, or not, is bounded too
        assert plain(value) is not None


@pytest.mark.parametrize("step", ["[0]", ".a", "['a']"])
def test_a_long_chain_of_member_and_index_steps_is_refused_while_parsing(step: str) -> None:
    """Each ``[i]`` or ``.name`` nests the expression once more (and an index keeps its source text, so an
    unbounded chain costs its length squared): a chain is refused at the same depth as nested calls."""
    with pytest.raises(ExpressionError, match="nested too deeply"):
        parse("createArray(1)" + step * 2000)
    parse("reference('x').outputs.a.value[0]['b']")  # ordinary chains parse


def test_the_budget_is_per_template_not_per_expression(tmp_path: Path) -> None:
    # each expression is cheap; 800 copies of it are not: the copies share the template's budget
    prop = "[length(string(range(0, 10000)))]"
    t = template([dict(cluster(name="[concat('c', copyIndex())]", dnsPrefix=prop, disableLocalAccounts=True),
                       copy={"name": "c", "count": 800})])
    (tmp_path / "t.json").write_text(json.dumps(t))
    run = scan(tmp_path / "t.json", controls=["AKS-002"])
    assert any("work units" in d.message and d.line for d in run.diagnostics), [str(d) for d in run.diagnostics]


def test_nested_deployment_copies_multiply_into_the_budget(tmp_path: Path) -> None:
    inner = template([dict(cluster(name="[concat('c', copyIndex())]", disableLocalAccounts=True),
                           copy={"name": "c", "count": 800})])
    for d in range(3):
        inner = template([{"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01",
                           "name": f"[concat('d{d}', copyIndex())]", "copy": {"name": f"l{d}", "count": 800},
                           "properties": {"mode": "Incremental", "template": inner}}])
    (tmp_path / "t.json").write_text(json.dumps(inner))
    run = scan(tmp_path / "t.json", controls=["AKS-002"])
    assert any("work units" in d.message for d in run.diagnostics)
    assert len(run.targets) <= 2_000  # RESOURCE_UNITS: about 2,000 instances per template budget


def test_what_the_budget_stopped_before_is_listed_as_not_reached_not_as_not_deployed(tmp_path: Path) -> None:
    """Resources after the point where a template's budget ran out were listed as "not deployed: its copy count
    is 0" and clusters declared "condition-false": an auditor read that the template does not deploy them."""
    t = template([cluster(name=f"c{i}", disableLocalAccounts=True) for i in range(2_100)])
    (tmp_path / "t.json").write_text(json.dumps(t))
    run = scan(tmp_path / "t.json", controls=["AKS-002"])
    assert any("work units" in d.message for d in run.diagnostics)
    assert any("declares 2,100 resources; Azure Resource Manager rejects a template with more than 800"
               in d.message and d.pointer == "/resources" for d in run.diagnostics)
    skipped = [e for e in run.ledger.entries if e.status == "not_evaluated"]
    judged = [e for e in run.ledger.entries if e.status == "evaluated"]
    assert skipped and judged and len(skipped) + len(judged) == 2_100
    assert all(e.reason.startswith("not evaluated: the template's evaluation was stopped") for e in skipped)
    assert {d.status for d in run.declarations} == {"deployed", "not-reached"}
    assert sum(d.status == "not-reached" for d in run.declarations) == len(skipped)


@given(st.text(alphabet="aAbB-*\n", max_size=10), st.text(alphabet="aAbB-\n", max_size=12))
@settings(max_examples=2000, deadline=None)
def test_property_like_is_the_wildcard_match_a_regular_expression_gives(pattern: str, value: str) -> None:
    from aks_compliance.policy.conditions import _like
    parts = [re.escape(p) for p in pattern.lower().split("*")]
    assert _like(value, pattern) == (re.fullmatch(".*".join(parts), value.lower(), re.S) is not None)


def test_like_with_many_wildcards_does_not_backtrack() -> None:
    """As a regular expression, 20 wildcards over 60 characters backtrack for longer than the universe has
    existed: a value from a template must not be able to stall a policy condition (or a user's control)."""
    from aks_compliance.policy.conditions import _like
    assert _like("a" * 60, "*a" * 20 + "*b") is False
    assert _like("x" * 1_000_000 + "y", "*x*x*y") is True
    assert _like("prod-aks-weu", "PROD-*-weu") is True and _like("prod", "prod*d") is False


def test_shared_values_are_walked_once() -> None:
    v: Any = ["x", Unknown("deep")]
    for _ in range(60):  # 2^60 paths as a tree
        v = [v, v]
    assert first_unknown(v) == Unknown("deep")
    copy = plain(v)  # each shared list converted once, and shared the same way in the copy
    assert copy[0] is copy[1]
    w: Any = ["x"]
    for _ in range(200):  # deeper than values.MAX_DEPTH: the cut parts are not searched twice either
        w = [w, w]
    assert first_unknown(w) is None


# -- class 3: only regular files, bounded reads ----------------------------------------------------------

def test_special_files_are_input_errors_never_read(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.json")
    os.symlink("/dev/zero", tmp_path / "zero.json")
    (tmp_path / "good.json").write_text(GOOD)
    run = scan(tmp_path, controls=["AKS-002"])
    assert outcome_of(run, "AKS-002", "aks-fixture").outcome.value == "failed"
    by_file = {Path(d.file).name: d.message for d in run.diagnostics}
    assert "named pipe" in by_file["pipe.json"] and "character device" in by_file["zero.json"]


def test_a_fifo_or_dev_zero_as_k8s_input_or_waiver_file(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.yaml")
    from aks_compliance.k8s.source import K8sOptions
    from aks_compliance.scan import ScanOptions, run_scan
    run = run_scan(ScanOptions(inputs=[K8sOptions(paths=[str(tmp_path / "pipe.yaml")])], controls=["AKS-002"]))
    assert any("named pipe" in d.message for d in run.diagnostics)
    for bad in (str(tmp_path / "pipe.yaml"), "/dev/zero"):
        with pytest.raises(GovernanceError, match="not a regular file"):
            load_waivers(bad, ["AKS-002"])


def test_a_fifo_or_a_device_as_kube_bench_output_is_an_input_error(tmp_path: Path) -> None:
    """A FIFO given as --kube-bench: the reader refuses it, and so must the probe that words the hint
    ("is this kube-bench output?"), which opened it and blocked for ever."""
    from aks_compliance.kubebench.family import KubeBenchOptions
    from aks_compliance.kubebench.reader import looks_like_kube_bench
    from aks_compliance.scan import ScanOptions, run_scan
    os.mkfifo(tmp_path / "node1.json")
    assert not looks_like_kube_bench(tmp_path / "node1.json") and not looks_like_kube_bench("/dev/zero")
    run = run_scan(ScanOptions(inputs=[KubeBenchOptions(paths=[str(tmp_path / "node1.json"), "node2=/dev/zero"])]))
    messages = [d.message for d in run.diagnostics]
    assert any("named pipe" in m for m in messages) and any("character device" in m for m in messages), messages


@pytest.mark.parametrize("content", ["fifo", "devzero", "alias-bomb"])
def test_a_kubeconfig_is_read_as_our_own_inputs_are(tmp_path: Path, content: str) -> None:
    """The Kubernetes client opens and YAML-loads the kubeconfig itself, without a limit: a FIFO blocked
    for ever, /dev/zero filled memory, an alias bomb expanded. It is read first as our inputs are."""
    from aks_compliance.k8s.collector import CollectError, make_api_client
    path = tmp_path / "kubeconfig"
    if content == "fifo":
        os.mkfifo(path)
    elif content == "devzero":
        os.symlink("/dev/zero", path)
    else:
        path.write_text("a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                        "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                        "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\nusers: [*f]\n")
    with pytest.raises(CollectError, match="named pipe|character device|alias"):
        make_api_client(str(path), "ctx")


def test_gzip_is_bounded_while_decompressing(tmp_path: Path) -> None:
    bomb = tmp_path / "s.json.gz"
    with gzip.open(bomb, "wb") as g:
        for _ in range(64):
            g.write(b" " * (1 << 20))
    assert bomb.stat().st_size < 1 << 20
    with pytest.raises(InputError, match="limit once decompressed"):
        read_input(bomb, 8 << 20, gunzip=True)
    assert len(read_input(bomb, 65 << 20, gunzip=True)) == 64 << 20


def test_walk_reports_what_it_cannot_read(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text("{}")
    gone = tmp_path / "gone"
    found = walk([str(tmp_path), str(gone)], "arm", lambda p: p.suffix == ".json")
    assert found.files == [tmp_path / "a.json"] and found.missing == [str(gone)]
    # a directory that cannot be listed: see test_an_unlistable_subdirectory_is_reported_not_skipped


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-32"])
def test_text_encodings_with_a_bom_are_read(tmp_path: Path, encoding: str) -> None:
    (tmp_path / "t.json").write_bytes(GOOD.replace("aks-fixture", "aks-enc").encode(encoding))
    run = scan(tmp_path / "t.json", controls=["AKS-002"])
    assert not run.errors and outcome_of(run, "AKS-002", "aks-enc").outcome.value == "failed"


@pytest.mark.parametrize("encoding,name", [("utf-32-le", "UTF-32"), ("utf-16-be", "UTF-16")])
def test_text_without_its_bom_is_named(encoding: str, name: str) -> None:
    with pytest.raises(InputError, match=f"looks like {name} without a byte order mark"):
        decode_text('{"a": 1}'.encode(encoding), "x.json")


# -- class 4: characters that are not text -------------------------------------------------------------

HOSTILE_TEXT = st.lists(st.sampled_from(["a", "\x1b", "[2J", "\x07", "\x00", "\u202e", "\ud800", "\udcff", "\r",
                                        "é", "\u2066", "\x9b"]), max_size=30).map("".join)


@BOUNDED
@given(HOSTILE_TEXT)
def test_escaped_text_has_no_control_character_and_encodes(text: str) -> None:
    for shown in (escape_controls(text), escape_terminal(text)):
        shown.encode("utf-8")
        assert not any(ord(c) < 0x20 and c not in "\t\n" or c in "\x7f\u202e\u2066\x9b" for c in shown)


@pytest.mark.parametrize("name", ["aks\x1b[2J\x07\u202eevil\x00x", "aks-\ud800-lone", "=cmd|' /C calc'!A0"])
def test_hostile_names_reach_every_output_escaped(tmp_path: Path, name: str) -> None:
    import subprocess
    import sys
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "t.json").write_text(json.dumps(template([cluster(name=name, disableLocalAccounts=False)])))
    os.fsencode(str(tmp_path))
    out = tmp_path / "out"
    exe = str(Path(sys.executable).with_name("aks-compliance"))
    proc = subprocess.run([exe, "scan", "--arm", str(tmp_path / "in"), "--controls", "AKS-002", "-p",
                           "no:cacheprovider", "--results-json", str(out / "r.json"), "--csv", str(out / "r.csv"),
                           "--sarif", str(out / "r.sarif"), "--audit-report", str(out / "r.html"),
                           "--junitxml", str(out / "j.xml")], capture_output=True, timeout=300)
    terminal = proc.stdout + proc.stderr
    assert proc.returncode == 1, terminal.decode(errors="replace")[-2000:]
    assert b"Traceback" not in terminal
    for raw in (b"\x1b[2J", b"\x07", b"\x00", "\u202e".encode()):
        assert raw not in terminal and raw not in (out / "r.csv").read_bytes()
    assert not (out / "r.csv").read_text().splitlines()[1].split(",")[8].startswith("=")
    json.loads((out / "r.json").read_text())


@pytest.mark.parametrize("case", ["control-config", "waivers", "k-expression"])
def test_usage_errors_quoting_an_input_are_escaped_on_the_terminal(tmp_path: Path, case: str) -> None:
    """A usage error is printed by pytest before any terminal guard is in place: a control id from a control
    configuration, a waiver field or a -k expression quoted in it must not act on the terminal either."""
    import subprocess
    import sys
    hostile = "X\x1b[2J\x07\u202e"
    (tmp_path / "good.json").write_text(GOOD)
    if case == "control-config":
        (tmp_path / "c.yaml").write_text(json.dumps({"AKS-" + hostile: {"x": 1}}))
        extra = ["--control-config", str(tmp_path / "c.yaml")]
    elif case == "waivers":
        (tmp_path / "w.yaml").write_text(json.dumps({"waivers": [{"id": hostile, "control": "AKS-" + hostile,
                                                                  "target": "*", "justification": "j",
                                                                  "approver": "a", "expires": "2026-12-31"}]}))
        extra = ["--waivers", str(tmp_path / "w.yaml")]
    else:
        extra = ["-k", "AKS and " + hostile]
    exe = str(Path(sys.executable).with_name("aks-compliance"))
    proc = subprocess.run([exe, "scan", "--arm", str(tmp_path / "good.json"), "-p", "no:cacheprovider", *extra],
                          capture_output=True, timeout=300)
    terminal = proc.stdout + proc.stderr
    assert proc.returncode == 4, terminal.decode(errors="replace")[-1500:]
    assert b"\\x1b" in terminal and b"Traceback" not in terminal
    for raw in (b"\x1b[2J", b"\x07", "\u202e".encode()):
        assert raw not in terminal


def test_non_utf8_file_names_and_huge_epochs_do_not_crash(tmp_path: Path) -> None:
    folder = os.fsencode(str(tmp_path))
    with open(os.path.join(folder, b"bad\xff\xfe.json"), "w") as fh:
        fh.write(GOOD.replace("aks-fixture", "aks-bytes"))
    (tmp_path / "epoch.json").write_text(json.dumps(template([cluster(
        name="aks-epoch", dnsPrefix="[dateTimeFromEpoch(99999999999999999)]", disableLocalAccounts=True)])))
    run = scan(tmp_path, controls=["AKS-002"])
    assert outcome_of(run, "AKS-002", "aks-bytes").outcome.value == "failed"
    assert any("dateTimeFromEpoch" in d.message for d in run.diagnostics)
    from aks_compliance.results import write_results
    write_results(str(tmp_path / "r.json"), run.document())
    assert "aks-bytes" in (tmp_path / "r.json").read_text()


# -- class 5: governance and option files ----------------------------------------------------------------

def waiver(expires: str) -> str:
    return (f"waivers:\n  - id: W-1\n    control: AKS-002\n    target: '*'\n    justification: j\n"
            f"    approver: a\n    expires: {expires}\n")


BAD_GOVERNANCE = {
    "impossible-date": (waiver("2027-02-30"), r"w.yaml:2: waiver #1 \(W-1\): 'expires'.*not a real date"),
    "timestamp-tag": (waiver("!!timestamp 2027-02-30"), r"w.yaml:2: waiver #1 \(W-1\): 'expires'"),
    "hour-25": (waiver("2027-01-01T25:00:00"), r"w.yaml:2: waiver #1 \(W-1\): 'expires'"),
    "far-future": (waiver("9999-12-31"), rf"w.yaml:2: waiver #1 \(W-1\).*more than {MAX_HORIZON_YEARS} years"),
    "recursive-alias": ("waivers: &a\n  - *a\n", r"w.yaml:\d+: .*recursive alias"),
    "deep-nesting": ("waivers: " + "[" * 5000 + "]" * 5000 + "\n", r"w.yaml:\d+: .*nesting depth"),
    "billion-laughs": ("a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                       "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                       "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\nwaivers: [*f]\n",
                       r"w.yaml:\d+: .*alias"),
    "two-documents": (waiver("2026-12-31") + "---\nwaivers: []\n", r"w.yaml:\d+: holds 2 YAML documents"),
}


@pytest.mark.parametrize("case", sorted(BAD_GOVERNANCE))
def test_bad_governance_files_name_file_line_and_entry(tmp_path: Path, case: str) -> None:
    text, message = BAD_GOVERNANCE[case]
    (tmp_path / "w.yaml").write_text(text)
    with pytest.raises(GovernanceError, match=message):
        load_waivers(str(tmp_path / "w.yaml"), ["AKS-002"], dt.date.today())


def test_a_waiver_within_the_horizon_is_accepted(tmp_path: Path) -> None:
    soon = dt.date.today() + dt.timedelta(days=365 * MAX_HORIZON_YEARS - 2)
    (tmp_path / "w.yaml").write_text(waiver(soon.isoformat()))
    assert load_waivers(str(tmp_path / "w.yaml"), ["AKS-002"], dt.date.today())[0].expires == soon


@pytest.mark.parametrize("option", ["--control-config", "--control-param", "--arm-param"])
def test_deeply_nested_option_values_are_usage_errors(tmp_path: Path, option: str) -> None:
    import subprocess
    import sys
    deep = "[" * 20000 + "]" * 20000
    if option == "--control-config":
        (tmp_path / "c.yaml").write_text("AKS-038: {minimumKubernetesVersion: " + deep + "}\n")
        args = [option, str(tmp_path / "c.yaml")]
    elif option == "--control-param":
        args = [option, "AKS-038.minimumKubernetesVersion=" + deep]
    else:
        args = [option, "p=" + deep]
    (tmp_path / "good.json").write_text(GOOD)
    exe = str(Path(sys.executable).with_name("aks-compliance"))
    proc = subprocess.run([exe, "scan", "--arm", str(tmp_path / "good.json"), "-p", "no:cacheprovider", *args],
                          capture_output=True, timeout=300)
    assert proc.returncode == 4, proc.stderr.decode()[-1000:]
    assert b"Traceback" not in proc.stdout + proc.stderr and b"INTERNALERROR" not in proc.stdout + proc.stderr
    with pytest.raises(OptionValueError):
        parse_param_value(deep)


# -- class 8: large but honest: waivers are matched by index ---------------------------------------------

def test_many_waivers_are_matched_without_the_product(tmp_path: Path) -> None:
    from aks_compliance.results import Outcome, Result, TargetRef
    from aks_compliance.waivers import Governance, Waiver, apply_governance
    n = 20_000
    results = [Result("AKS-002", TargetRef(name=f"aks-{i}", type=MC), Outcome.FAILED, "", [], label=f"k{i}")
               for i in range(n)]
    far = dt.date.today() + dt.timedelta(days=100)
    gov = Governance(waivers=[Waiver(f"W-{i}", "AKS-002", f"aks-{i}", "j", "a", far, "w.yaml", i + 1)
                              for i in range(n)])
    apply_governance(gov, results, ["AKS-002"], dt.date.today())  # 4e8 pattern matches without the index
    assert all(r.outcome is Outcome.WAIVED for r in results)
    assert {w.status for w in gov.waivers} == {"active"}


# -- class 9: report and diff refuse malformed documents naming the field --------------------------------

def results_document(tmp_path: Path) -> dict:
    (tmp_path / "good.json").write_text(GOOD)
    return scan(tmp_path / "good.json", controls=["AKS-002"]).document()


@pytest.mark.parametrize("change,field", [
    (lambda d: d.__setitem__("waivers", 5), "waivers"),
    (lambda d: d["controls"][0].__setitem__("id", ["AKS-002"]), "controls[0]"),
    (lambda d: d["results"][0].__setitem__("control_id", ["AKS-002"]), "results[0].control_id"),
    (lambda d: d["results"][0]["target"].__setitem__("name", {"x": 1}), "results[0].target.name"),
    (lambda d: d.__setitem__("inputs", {"a": 1}), "inputs"),
    (lambda d: d.__setitem__("run", "x" * 10), "run"),
    # every section the tool writes is in the schema: these two were not, and a string crashed the template
    (lambda d: d.__setitem__("declarations", "x"), "declarations"),
    (lambda d: d.__setitem__("diagnostics", [["x"]]), "diagnostics[0]"),
    # each evidence item is an object of the fields the reports show (a nested list was rendered as one)
    (lambda d: d["results"][0].__setitem__("evidence", [[[[1]]]]), "results[0].evidence[0] is an array"),
    (lambda d: d["results"][0]["evidence"][0].__setitem__("actual", {"a": 1}), "results[0].evidence[0].actual"),
    (lambda d: d["results"][0]["target"].__setitem__("line", 10 ** 400), "results[0].target.line is a number of 401 digits"),
])
def test_report_and_diff_name_the_malformed_field(tmp_path: Path, change: Any, field: str) -> None:
    from aks_compliance.report.commands import diff, report
    doc = results_document(tmp_path)
    change(doc)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=rf"bad.json: not a valid results document: {field}".replace("[", r"\[")
                       .replace("]", r"\]")):
        load_results(str(bad))
    assert report([str(bad), "-o", str(tmp_path / "r.html")]) == 4
    assert diff([str(bad), str(bad)]) == 4


@pytest.mark.parametrize("content", ["deep", "devzero", "fifo"])
def test_report_reads_results_bounded(tmp_path: Path, content: str) -> None:
    from aks_compliance.report.commands import report
    path = tmp_path / "r.json"
    if content == "deep":
        path.write_text("[" * 100000 + "]" * 100000)
    elif content == "devzero":
        os.symlink("/dev/zero", path)
    else:
        os.mkfifo(path)
    assert report([str(path), "-o", str(tmp_path / "r.html")]) == 4


def test_report_and_diff_refuse_nan_and_infinity(tmp_path: Path) -> None:
    """Python's reader takes NaN and Infinity; JSON has no such values, and no results document holds them."""
    from aks_compliance.report.commands import report
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(results_document(tmp_path)).replace('"results": [', '"x": NaN, "results": [', 1))
    with pytest.raises(ValueError, match="bad.json: not a results JSON: NaN is not a JSON value"):
        load_results(str(bad))
    assert report([str(bad), "-o", str(tmp_path / "r.html")]) == 4


def test_report_and_diff_read_a_document_with_an_input_error(tmp_path: Path) -> None:
    """An input error is a result without a control (control_id null): a document a scan writes whenever a
    file is broken. The checks that refuse malformed documents must not refuse it."""
    from aks_compliance.report.commands import diff, report
    from aks_compliance.results import write_results
    (tmp_path / "good.json").write_text(GOOD)
    (tmp_path / "broken.json").write_text("{broken")
    doc = scan(tmp_path / "good.json", tmp_path / "broken.json", controls=["AKS-002"]).document()
    assert any(r["control_id"] is None for r in doc["results"])
    write_results(str(tmp_path / "r.json"), doc)
    assert load_results(str(tmp_path / "r.json"))["results"]
    assert report([str(tmp_path / "r.json"), "-o", str(tmp_path / "r.html")]) == 0
    assert diff([str(tmp_path / "r.json"), str(tmp_path / "r.json")]) == 0


def test_diff_and_merge_print_texts_of_a_document_escaped(tmp_path: Path) -> None:
    """'diff' printed a changed reason as it was: a lone surrogate crashed it (UnicodeEncodeError, a
    traceback) and ESC sequences reached the terminal. Every command but 'scan' (which guards its own
    terminal) prints through the one escaping layer."""
    import subprocess
    import sys
    before = results_document(tmp_path)
    for r in before["results"]:
        r["outcome"], r["reason"] = "unknown", "a value cannot be known"
    after = json.loads(json.dumps(before))
    for r in after["results"]:  # a changed unknown: its new reason is printed
        r["reason"] = "\x1b[2J\u202e\x07\ud800 changed"
    (tmp_path / "a.json").write_text(json.dumps(before))
    (tmp_path / "b.json").write_text(json.dumps(after))  # ASCII JSON: the surrogate as an escape
    exe = str(Path(sys.executable).with_name("aks-compliance"))
    proc = subprocess.run([exe, "diff", str(tmp_path / "a.json"), str(tmp_path / "b.json")], capture_output=True,
                          timeout=300)
    terminal = proc.stdout + proc.stderr
    assert proc.returncode in (0, 1) and b"Traceback" not in terminal, terminal.decode(errors="replace")[-1500:]
    assert b"\\ud800 changed" in terminal
    for raw in (b"\x1b[2J", b"\x07", "\u202e".encode()):
        assert raw not in terminal


@pytest.mark.parametrize("content", ["deep", "devzero", "fifo", "malformed"])
def test_merge_reads_shards_as_report_reads_results(tmp_path: Path, content: str) -> None:
    """``merge`` read its shards with a plain open() and json.load: a FIFO blocked, /dev/zero filled memory,
    deep nesting was a traceback. It reads them as 'report' does: bounded, checked, named (exit 4)."""
    from aks_compliance.shards import merge_command
    path = tmp_path / "shard1.json"
    if content == "deep":
        path.write_text("[" * 100000 + "]" * 100000)
    elif content == "devzero":
        os.symlink("/dev/zero", path)
    elif content == "fifo":
        os.mkfifo(path)
    else:
        doc = results_document(tmp_path)
        doc["results"][0]["target"] = None
        path.write_text(json.dumps(doc))
    assert merge_command([str(path), "-o", str(tmp_path / "m.json")]) == 4
    assert not (tmp_path / "m.json").exists()


def test_a_gzip_snapshot_is_recognised_from_its_start_and_refused_past_the_limit(tmp_path: Path) -> None:
    from aks_compliance.azure import snapshot as azure_snapshot
    bomb = tmp_path / "azure.json.gz"
    with gzip.open(bomb, "wb") as g:
        g.write(b'{"schema": "aks-compliance/azure-snapshot/v1", "meta": {},\n"resources": [\n')
        for _ in range(40):
            g.write(b" " * (1 << 20))
    assert azure_snapshot.is_azure_snapshot(bomb)  # the header, without inflating the rest
    limit = azure_snapshot.MAX_SNAPSHOT_BYTES
    try:
        azure_snapshot.MAX_SNAPSHOT_BYTES = 8 << 20  # a small limit, passed in: bounded by construction
        run = scan(bomb)
    finally:
        azure_snapshot.MAX_SNAPSHOT_BYTES = limit
    assert any("limit once decompressed" in d.message for d in run.diagnostics), [str(d) for d in run.diagnostics]


@pytest.mark.parametrize("meta,message", [
    ('{"gaps": 5}', "meta.gaps must be an array"),
    ('{"lists": [1]}', "meta.lists must be an object"),
    ('{"lists": {"pods": "complete"}}', "meta.lists.pods must be an object"),
    ('{"cluster": "x", "scope": 7}', "meta.scope must be a string"),
    ('{"a": ' * 5000 + "1" + "}" * 5000, "nested too deeply"),
])
def test_a_snapshot_with_a_malformed_meta_is_an_input_error(tmp_path: Path, meta: str, message: str) -> None:
    """A hand-made or damaged Kubernetes snapshot whose meta has a member of the wrong type (or is nested past
    the parser) stopped the whole scan with a TypeError (exit 3, nothing judged); it is one input error naming
    the member, and the other --k8s inputs are judged."""
    from aks_compliance.k8s.source import K8sOptions
    from aks_compliance.scan import ScanOptions, run_scan
    snapshot = tmp_path / "snap.json"
    snapshot.write_text('{"schema": "aks-compliance/k8s-snapshot/v1", "meta": ' + meta + ',\n"items":[\n]}\n')
    (tmp_path / "pod.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: good-pod, namespace: default}\n"
                                       "spec: {containers: [{name: c, image: nginx:1.25}]}\n")
    run = run_scan(ScanOptions(inputs=[K8sOptions(paths=[str(snapshot), str(tmp_path / "pod.yaml")])]))
    assert any(message in d.message and d.file.endswith("snap.json") for d in run.diagnostics), \
        [str(d) for d in run.diagnostics]
    assert any(r.target.name.endswith("good-pod") for r in run.results)


def test_an_unlistable_subdirectory_is_reported_not_skipped(tmp_path: Path) -> None:
    """A directory whose path is longer than the system allows cannot be listed, even by root (a permission
    denial cannot be staged for root): it is an error naming it, and the files beside it are still read."""
    (tmp_path / "good.json").write_text(GOOD)
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(20):  # 20 x 250 characters: past PATH_MAX (4,096)
            os.mkdir("d" * 250, dir_fd=fd)
            inner = os.open("d" * 250, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = inner
        with open(os.open("lost.json", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), "w") as fh:
            fh.write(GOOD)
    finally:
        os.close(fd)
    run = scan(tmp_path, controls=["AKS-002"])
    assert outcome_of(run, "AKS-002", "aks-fixture").outcome.value == "failed"
    assert any("directory cannot be read" in d.message for d in run.diagnostics), [str(d) for d in run.diagnostics]
