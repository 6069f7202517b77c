"""``aks-compliance policies deploy`` with the real Azure SDK client against a local ARM server.

The server (tests/servers/arm_server.py) serves HTTPS on 127.0.0.1 with a self-signed certificate and
checks the bearer token, so the SDK's own pipeline runs unchanged: ARM bearer-token policy, retries
(with Retry-After), error mapping. Faults are injected per route; each must give a clear message.
"""

from __future__ import annotations

import json
import stat
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from aks_compliance import cli
from aks_compliance.policy import generate
from aks_compliance.policy.deploy import ASSIGNMENT_NAME, DeployError, DeployOptions, deploy

from .conftest import ROOT
from .servers.arm_server import ArmServer, Fault, ResourceStore

POLICIES = ROOT / "policies"
SUB = "0b1f6471-1bf0-4dda-aec3-cb9272f09590"
MG = "mg-platform"
TOKEN = "test-token-7f3a"
DEFS = sorted((POLICIES / generate.DEFINITIONS_DIR).glob("*.json"))
N_DEFS = len(DEFS)
INITIATIVE = json.loads((POLICIES / generate.INITIATIVE_FILE).read_text(encoding="utf-8"))
DEF_PATH = "/subscriptions/{sub}/providers/Microsoft.Authorization/policyDefinitions/{name}"


class StaticCredential:
    """A TokenCredential (the protocol azure-core calls) with a fixed token; no network."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any):
        from azure.core.credentials import AccessToken
        self.scopes.append(scopes)
        return AccessToken(self.token, int(time.time()) + 3600)


def _service_metadata(rtype: str, body: dict) -> None:
    """What ARM adds on a PUT of a policy resource: policyType, createdBy in metadata."""
    props = body.setdefault("properties", {})
    if rtype.lower() in ("microsoft.authorization/policydefinitions", "microsoft.authorization/policysetdefinitions"):
        props["policyType"] = "Custom"
        props.setdefault("metadata", {})
        props["metadata"] = {**props["metadata"], "createdBy": "f0e1d2c3", "createdOn": "2026-01-01T00:00:00Z"}


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """requests honours proxy variables: traffic to the local server must not go anywhere else."""
    for var in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
def server():
    with ArmServer(tls=True, token=TOKEN) as s:
        s.serve_resources(ResourceStore(page_size=4, on_put=_service_metadata))
        yield s


def _deploy(server: ArmServer, lines: list[str] | None = None, **options: Any):
    opts = DeployOptions(policies_dir=POLICIES, endpoint=server.url.rstrip("/"),
                         **({"subscription": SUB} | options))
    out = lines if lines is not None else []
    return deploy(opts, credential=StaticCredential(), out=out.append, connection_verify=server.ca_file,
                  retry_backoff_factor=0.01, retry_backoff_max=0.05)


def test_dry_run_reads_only_and_says_everything_would_be_created(server: ArmServer) -> None:
    lines: list[str] = []
    changes = _deploy(server, lines, dry_run=True, assign_scope=f"/subscriptions/{SUB}")
    assert [c.action for c in changes] == ["create"] * (N_DEFS + 2)
    assert not server.calls("PUT"), "a dry run must not write"
    assert len(server.calls("GET")) == N_DEFS + 2
    assert lines[-1] == f"dry run at /subscriptions/{SUB}: {N_DEFS + 2} to create, 0 to update, 0 unchanged; " \
                        "nothing was changed"
    assert any(line.startswith("definition [AKS-002] ") and line.endswith(": create") for line in lines)
    # the real bearer policy sent our token (the server checks it) and asked for the endpoint's scope
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in server.requests)
    assert all(r.api_version == "2026-06-01" for r in server.requests)


def test_deploy_creates_definitions_initiative_and_assignment_then_is_idempotent(server: ArmServer) -> None:
    lines: list[str] = []
    _deploy(server, lines, assign_scope=f"/subscriptions/{SUB}/resourceGroups/rg-aks")
    store = server.store
    for path in DEFS:
        doc = json.loads(path.read_text(encoding="utf-8"))
        stored = store.get(DEF_PATH.format(sub=SUB, name=doc["name"]))
        assert stored is not None, path.name
        assert stored["properties"]["policyRule"] == doc["properties"]["policyRule"]
        assert stored["properties"]["parameters"] == doc["properties"]["parameters"]
    kubernetes = [json.loads(p.read_text(encoding="utf-8")) for p in DEFS]
    kubernetes = [d for d in kubernetes if d["properties"]["mode"] == "Microsoft.Kubernetes.Data"]
    assert len(kubernetes) >= 30  # the Azure Policy for Kubernetes definitions (Gatekeeper) deploy the same way
    for doc in kubernetes:
        stored = store.get(DEF_PATH.format(sub=SUB, name=doc["name"]))
        assert stored["properties"]["mode"] == "Microsoft.Kubernetes.Data"
        assert stored["properties"]["policyRule"]["then"]["details"]["templateInfo"]["sourceType"] == "Base64Encoded"
    init = store.get(f"/subscriptions/{SUB}/providers/Microsoft.Authorization/policySetDefinitions/{INITIATIVE['name']}")
    assert init is not None
    refs = init["properties"]["policyDefinitions"]
    assert len(refs) == N_DEFS
    assert all(r["policyDefinitionId"].startswith(f"/subscriptions/{SUB}/providers/Microsoft.Authorization/"
                                                  "policyDefinitions/") for r in refs)
    assignment = store.get(f"/subscriptions/{SUB}/resourceGroups/rg-aks/providers/Microsoft.Authorization/"
                           f"policyAssignments/{ASSIGNMENT_NAME}")
    assert assignment["properties"]["policyDefinitionId"].endswith("/policySetDefinitions/" + INITIATIVE["name"])
    assert lines[-1] == f"deployed to /subscriptions/{SUB}: {N_DEFS + 2} created, 0 updated, 0 unchanged"

    puts = len(server.calls("PUT"))
    again: list[str] = []
    changes = _deploy(server, again, assign_scope=f"/subscriptions/{SUB}/resourceGroups/rg-aks")
    assert {c.action for c in changes} == {"unchanged"}, [c.line(False) for c in changes if c.action != "unchanged"]
    assert len(server.calls("PUT")) == puts, "an unchanged deployment writes nothing"


def test_dry_run_names_what_changed_on_the_server(server: ArmServer) -> None:
    _deploy(server)
    name = json.loads(DEFS[0].read_text(encoding="utf-8"))["name"]
    stored = server.store.get(DEF_PATH.format(sub=SUB, name=name))
    stored["properties"]["policyRule"]["if"] = {"field": "type", "equals": "Microsoft.Foo/bar"}
    stored["properties"]["displayName"] = "edited in the portal"
    lines: list[str] = []
    changes = _deploy(server, lines, dry_run=True)
    updated = [c for c in changes if c.action == "update"]
    assert [(c.name, c.fields) for c in updated] == [(name, ["displayName", "policyRule"])]
    assert f"dry run at /subscriptions/{SUB}: 0 to create, 1 to update, {N_DEFS} unchanged; nothing was changed" \
        in lines
    _deploy(server)  # and a real run puts it back
    assert server.store.get(DEF_PATH.format(sub=SUB, name=name))["properties"]["displayName"].startswith("[AKS-")


def test_management_group_scope(server: ArmServer) -> None:
    _deploy(server, subscription=None, management_group=MG,
            assign_scope=f"/providers/Microsoft.Management/managementGroups/{MG}")
    puts = server.calls("PUT")
    assert puts and all(r.path.startswith(f"/providers/Microsoft.Management/managementGroups/{MG}/") for r in puts)
    init = server.store.get(f"/providers/Microsoft.Management/managementGroups/{MG}/providers/"
                            f"Microsoft.Authorization/policySetDefinitions/{INITIATIVE['name']}")
    assert all(r["policyDefinitionId"].startswith(f"/providers/Microsoft.Management/managementGroups/{MG}/")
               for r in init["properties"]["policyDefinitions"])


def test_a_transient_429_is_retried_with_retry_after(server: ArmServer) -> None:
    fault = server.fault("PUT", "/subscriptions/{s}/providers/Microsoft.Authorization/policyDefinitions/{n}", 429,
                         times=2, retry_after=0)
    lines: list[str] = []
    _deploy(server, lines)
    assert fault.hits == 2
    assert lines[-1].startswith("deployed to")
    assert len(server.store.items) == N_DEFS + 1


@pytest.mark.parametrize("status,method,expected", [
    (409, "PUT", ["conflict (HTTP 409 Conflict", "writing policy definition [AKS-"]),
    (429, "PUT", ["throttled by Azure Resource Manager (HTTP 429 TooManyRequests", "Retry-After 1 s"]),
    (500, "GET", ["Azure Resource Manager failed (HTTP 500 InternalServerError", "reading policy definition"]),
    (403, "PUT", ["permission denied (HTTP 403 AuthorizationFailed", "Resource Policy Contributor"]),
], ids=["409", "429", "500", "403"])
def test_service_faults_give_a_clear_message(server: ArmServer, status: int, method: str, expected: list[str]) -> None:
    server.fault(method, "/subscriptions/{s}/providers/Microsoft.Authorization/policyDefinitions/{n}", status,
                 times=None, retry_after=1 if status == 429 else None)
    started = time.monotonic()
    with pytest.raises(DeployError) as info:
        _deploy(server)
    message = str(info.value)
    for fragment in expected:
        assert fragment in message, message
    assert "request id" in message and "Traceback" not in message
    assert time.monotonic() - started < 30
    if status in (429, 500):  # retried by the SDK before giving up
        assert len(server.calls(method)) == 4


def test_rejected_token_is_an_authentication_failure() -> None:
    with ArmServer(tls=True, token="the-right-token") as s:
        s.serve_resources()
        with pytest.raises(DeployError) as info:
            _deploy(s)
    message = str(info.value)
    assert "authentication failed (HTTP 401 InvalidAuthenticationToken" in message
    assert "az login" in message


def test_a_malformed_response_is_named_as_such(server: ArmServer) -> None:
    server.fault("GET", "/subscriptions/{s}/providers/Microsoft.Authorization/policyDefinitions/{n}", 200,
                 malformed=True)
    with pytest.raises(DeployError, match="sent a response that is not the JSON the API returns"):
        _deploy(server)


def test_unreachable_endpoint() -> None:
    with ArmServer() as s:
        url = s.url
    opts = DeployOptions(policies_dir=POLICIES, subscription=SUB, endpoint=url.rstrip("/"), dry_run=True)
    with pytest.raises(DeployError, match="cannot reach Azure Resource Manager at http://127.0.0.1"):
        deploy(opts, credential=StaticCredential(), out=lambda _l: None, retry_total=0,
               authentication_policy=__import__("azure.core.pipeline.policies", fromlist=["x"]).SansIOHTTPPolicy())


def test_options_are_validated_before_any_request() -> None:
    for opts, fragment in [
        (DeployOptions(POLICIES), "exactly one of"),
        (DeployOptions(POLICIES, subscription=SUB, management_group=MG), "exactly one of"),
        (DeployOptions(POLICIES, subscription="not-a-guid"), "not a subscription id"),
        (DeployOptions(POLICIES, subscription=SUB, assign_scope="rg-aks"), "must be a scope id"),
        (DeployOptions(POLICIES, subscription=SUB, assign_scope="/subscriptions/11111111-1111-1111-1111-111111111111"),
         "outside /subscriptions/"),
        (DeployOptions(Path("/nonexistent/policies"), subscription=SUB), "does not exist"),
    ]:
        with pytest.raises(DeployError, match=fragment):
            deploy(opts, credential=StaticCredential(), out=lambda _l: None)


# --- the CLI, with the real DefaultAzureCredential ----------------------------------------------

def _fake_az(directory: Path, token: str) -> None:
    """An 'az' executable answering 'az account get-access-token' as the Azure CLI does."""
    script = directory / "az"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, sys, time\n"
        "if sys.argv[1:3] != ['account', 'get-access-token']:\n"
        "    sys.exit('unexpected az call: ' + ' '.join(sys.argv[1:]))\n"
        f"print(json.dumps({{'accessToken': {token!r}, 'expires_on': int(time.time()) + 3600, "
        "'tokenType': 'Bearer', 'subscription': 'x', 'tenant': 'y'}))\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """DefaultAzureCredential restricted to the Azure CLI credential, with our fake 'az' first on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("AZURE_TOKEN_CREDENTIALS", "AzureCliCredential")
    monkeypatch.setenv("PATH", str(bin_dir))  # only our 'az' (its shebang is an absolute path)
    return bin_dir


def test_cli_deploy_with_default_azure_credential(server: ArmServer, cli_env: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    _fake_az(cli_env, TOKEN)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", server.ca_file)
    args = ["policies", "deploy", "--subscription", SUB, "--policies", str(POLICIES),
            "--arm-endpoint", server.url.rstrip("/")]
    assert cli.main(args + ["--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"{N_DEFS + 1} to create" in out and not server.calls("PUT")
    assert cli.main(args + ["--assign", f"/subscriptions/{SUB}"]) == 0
    out = capsys.readouterr().out
    assert f"deployed to /subscriptions/{SUB}: {N_DEFS + 2} created" in out
    assert len(server.calls("PUT")) == N_DEFS + 2


@pytest.mark.parametrize("fault,fragment", [
    (Fault("PUT", "*", 409, times=None), "conflict (HTTP 409"),
    (Fault("PUT", "*", 429, times=None, retry_after=0), "throttled"),
    (Fault("GET", "*", 500, times=None), "Azure Resource Manager failed (HTTP 500"),
], ids=["409", "429", "500"])
def test_cli_faults_exit_2_with_a_message_and_no_traceback(server: ArmServer, cli_env: Path,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str], fault: Fault,
                                                           fragment: str) -> None:
    _fake_az(cli_env, TOKEN)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", server.ca_file)
    server.faults.append(fault)
    code = cli.main(["policies", "deploy", "--subscription", SUB, "--policies", str(POLICIES),
                     "--arm-endpoint", server.url.rstrip("/")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("aks-compliance policies deploy: error: ") and fragment in err, err
    assert "Traceback" not in err


def test_cli_auth_failures(server: ArmServer, cli_env: Path, monkeypatch: pytest.MonkeyPatch,
                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", server.ca_file)
    args = ["policies", "deploy", "--subscription", SUB, "--policies", str(POLICIES),
            "--arm-endpoint", server.url.rstrip("/"), "--dry-run"]
    # no credential at all: DefaultAzureCredential finds no signed-in Azure CLI
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert "no Azure credential could be obtained" in err and "az login" in err and "Traceback" not in err
    assert not server.requests
    # a token the server rejects
    _fake_az(cli_env, "expired-token")
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert "authentication failed (HTTP 401 InvalidAuthenticationToken" in err and "Traceback" not in err


def test_cli_generate_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "p"
    assert cli.main(["policies", "generate", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "control(s) with a generated definition" in text
    assert cli.main(["policies", "generate", "--out", str(out), "--check"]) == 0
    (out / generate.INITIATIVE_FILE).write_text("{}\n")
    assert cli.main(["policies", "generate", "--out", str(out), "--check"]) == 1
    assert "initiative.json: differs" in capsys.readouterr().out
    assert cli.main(["policies", "deploy"]) == 4  # usage: a target scope is required


# --- the server's own helpers, through the real SDK ---------------------------------------------

def test_server_paging_through_the_sdk_pager(server: ArmServer) -> None:
    from azure.mgmt.resource.policy import PolicyClient
    _deploy(server)
    client = PolicyClient(StaticCredential(), SUB, base_url=server.url.rstrip("/"), connection_verify=server.ca_file,
                          credential_scopes=[server.url.rstrip("/") + "/.default"])
    names = [d.name for d in client.policy_definitions.list()]
    assert sorted(names) == sorted(json.loads(p.read_text())["name"] for p in DEFS)
    pages = [r for r in server.calls("GET") if r.path.lower().endswith("/policydefinitions")]
    assert len(pages) == -(-N_DEFS // 4)  # ceil: page size 4
    assert any("$skiptoken" in r.query for r in pages)


def test_server_long_running_operation_through_arm_polling(server: ArmServer) -> None:
    from azure.core.polling import LROPoller
    from azure.core.rest import HttpRequest
    from azure.mgmt.core.polling.arm_polling import ARMPolling
    from azure.mgmt.resource.policy import PolicyClient

    server.lro("POST", "/subscriptions/{sub}/resourcegroups/{rg}/exportTemplate", {"template": {"resources": []}},
               polls=2)
    client = PolicyClient(StaticCredential(), SUB, base_url=server.url.rstrip("/"), connection_verify=server.ca_file,
                          credential_scopes=[server.url.rstrip("/") + "/.default"])
    request = HttpRequest("POST", f"{server.url}subscriptions/{SUB}/resourcegroups/rg/exportTemplate"
                                  "?api-version=2025-04-01", json={"resources": ["*"]})
    initial = client._client._pipeline.run(request)  # the pipeline the SDK's own LRO methods use
    poller = LROPoller(client._client, initial, lambda r: r.http_response.json(), ARMPolling(0))
    assert poller.result(timeout=10) == {"template": {"resources": []}}
    statuses = [r for r in server.calls("GET", "/_operations/") if not r.path.endswith("/result")]
    assert len(statuses) == 3  # InProgress twice, then Succeeded


def test_service_nulls_are_not_differences_and_stale_policies_are_warned(tmp_path: Path) -> None:
    import shutil

    def add_nulls(rtype: str, body: dict) -> None:
        _service_metadata(rtype, body)
        for group in body["properties"].get("policyDefinitionGroups", []):
            group["additionalMetadataId"] = None
        body["properties"]["externalEvaluationEnforcementSettings"] = None

    with ArmServer(tls=True, token=TOKEN) as s:
        s.serve_resources(ResourceStore(on_put=add_nulls))
        _deploy(s)
        assert {c.action for c in _deploy(s, dry_run=True)} == {"unchanged"}
        copy = tmp_path / "policies"
        shutil.copytree(POLICIES, copy)
        (copy / "README.md").write_text("edited by hand\n")
        lines: list[str] = []
        deploy(DeployOptions(policies_dir=copy, subscription=SUB, endpoint=s.url.rstrip("/"), dry_run=True),
               credential=StaticCredential(), out=lines.append, connection_verify=s.ca_file)
    assert lines[0].startswith(f"warning: {copy} differs from what the control catalog generates")
    assert "README.md: differs" in lines[0]
