"""The command line and the pytest plugin against the local ARM server, with DefaultAzureCredential's real
Azure CLI path: a stand-in ``az`` on PATH answers ``az account get-access-token`` (AZURE_TOKEN_CREDENTIALS
selects the CLI credential, as a pipeline with ``az login`` would use it).

A live scan (``aks-compliance scan --azure-...``, with pytest-xdist workers) snapshots first and scans the
snapshot; the same snapshot re-scanned offline (``--arm``) gives the same results.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from aks_compliance.azure.snapshot import read_snapshot

from .azure_estate import APP_ID, ESTATE, SUB, TOKEN, estate_server, no_proxy
from .conftest import ROOT

AKSC = str(Path(sys.executable).parent / "aks-compliance")


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    no_proxy(monkeypatch)


def fake_az(directory: Path, token: str | None = TOKEN) -> Path:
    """An ``az`` that prints a token (or fails as a signed-out CLI does) and records its arguments."""
    directory.mkdir(parents=True, exist_ok=True)
    az = directory / "az"
    body = (f"print(json.dumps({{'accessToken': {token!r}, 'expiresOn': '2099-01-01 00:00:00.000000', "
            f"'expires_on': 4070908800, 'tokenType': 'Bearer', 'tenant': {ESTATE['tenant']!r}}}))"
            if token else
            "sys.stderr.write(\"ERROR: Please run 'az login' to setup account.\\n\"); sys.exit(1)")
    az.write_text(f"#!{sys.executable}\nimport json, sys\n"
                  f"open({str(directory / 'az-args.json')!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n"
                  f"{body}\n", encoding="utf-8")
    az.chmod(az.stat().st_mode | stat.S_IEXEC)
    return az


def env_for(bin_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().endswith("_PROXY") and not k.startswith("AZURE_")}
    env.update({"PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", "AZURE_TOKEN_CREDENTIALS": "AzureCliCredential",
                "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"})
    return env


def azure_args(server) -> list[str]:
    return ["--azure-subscription", SUB, "--azure-resource-group", "rg-platform-weu", "--azure-resource-group",
            "rg-batch-weu", "--azure-endpoint", server.url.rstrip("/"), "--azure-ca-file", server.ca_file]


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([AKSC, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=240)


def test_snapshot_command_with_the_azure_cli_credential(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    fake_az(bin_dir)
    out = tmp_path / "evidence" / "estate.json.gz"
    with estate_server() as server:
        done = run(["snapshot", *azure_args(server), "-o", str(out)], env_for(bin_dir), tmp_path)
        assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in server.requests)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"snapshot as {APP_ID}" in done.stdout and "12 resources by ARM GET" in done.stdout
    assert "7 Azure Policy state(s)" in done.stdout and str(out) in done.stdout
    calls = [json.loads(line) for line in (bin_dir / "az-args.json").read_text().splitlines()]
    assert calls[0][:4] == ["account", "get-access-token", "--output", "json"]
    assert calls[0][calls[0].index("--resource") + 1] == server.url.rstrip("/"), "the endpoint is the audience"
    assert "Traceback" not in done.stderr


def test_snapshot_command_when_nothing_can_be_read(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    fake_az(bin_dir, token=None)
    with estate_server() as server:
        done = run(["snapshot", *azure_args(server), "-o", str(tmp_path / "s.json.gz")], env_for(bin_dir), tmp_path)
        assert not server.requests
    assert done.returncode == 2, done.stdout + done.stderr
    assert "getting an access token" in done.stderr and "no Azure credential could be obtained" in done.stderr
    assert "az login" in done.stderr and "Traceback" not in done.stderr + done.stdout


def test_snapshot_command_usage_errors(tmp_path: Path) -> None:
    done = run(["snapshot", "--azure-resource-group", "rg", "-o", str(tmp_path / "s.json.gz")], os.environ.copy(),
               tmp_path)
    assert done.returncode == 4 and "needs --azure-subscription" in done.stderr
    done = run(["snapshot", "--azure-scope", "tenant:x", "-o", str(tmp_path / "s.json.gz")], os.environ.copy(),
               tmp_path)
    assert done.returncode == 4 and "expected management-group:ID or subscription:ID" in done.stderr


def test_a_live_scan_snapshots_first_and_an_offline_rescan_gives_the_same_results(tmp_path: Path) -> None:
    pytest.importorskip("xdist")
    bin_dir = tmp_path / "bin"
    fake_az(bin_dir)
    env = env_for(bin_dir)
    with estate_server() as server:
        live = run(["scan", *azure_args(server), "--azure-snapshot-dir", str(tmp_path / "snaps"),
                    "--results-json", str(tmp_path / "live.json"), "--audit-report", str(tmp_path / "report.html"),
                    "-n", "2"], env, tmp_path)
        listings = [r.path for r in server.calls("GET") if r.path.endswith("/managedClusters")]
    assert live.returncode == 1, live.stdout[-3000:] + live.stderr[-3000:]  # controls failed, no input errors
    assert len(listings) == 2, "only the controller read Azure (once per group); the workers read its snapshot"
    snaps = list((tmp_path / "snaps").glob("azure-snapshot-rg-platform-weu-rg-batch-weu-*.json.gz"))
    assert len(snaps) == 1
    meta = read_snapshot(snaps[0]).meta
    assert meta["counts"]["policy_states"] == 7 and meta["counts"]["errors"] == 0
    assert meta["identity"]["app_id"] == APP_ID

    offline = run(["scan", "--arm", str(snaps[0]), "--results-json", str(tmp_path / "offline.json")],
                  os.environ.copy(), tmp_path)
    assert offline.returncode == 1, offline.stdout[-3000:] + offline.stderr[-3000:]
    a = json.loads((tmp_path / "live.json").read_text())
    b = json.loads((tmp_path / "offline.json").read_text())
    key = lambda r: (r["control_id"] or "", r["target"]["name"], r["target"]["source"]["line"] or 0)  # noqa: E731
    assert sorted(a["results"], key=key) == sorted(b["results"], key=key)
    assert len(a["results"]) > 100 and a["inputs"] == b["inputs"]
    flagged = [r for r in a["results"] if (r.get("azure_policy") or {}).get("disagrees")]
    assert [(r["control_id"], r["target"]["name"]) for r in flagged] == [("AKS-009", "aks-prod-weu")]
    assert all(e["file"] == str(snaps[0]) for r in a["results"] for e in r["evidence"] if "file" in e)
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Azure Policy says (1 disagreeing)" in html and "DISAGREES" in html


def test_the_suite_ids_name_group_and_cluster(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    fake_az(bin_dir)
    with estate_server() as server:
        done = subprocess.run([sys.executable, "-m", "pytest", str(ROOT / "tests_compliance"), "-p",
                               "no:cacheprovider", "--collect-only", "-q", *azure_args(server),
                               "--azure-snapshot-dir", str(tmp_path)], env=env_for(bin_dir), cwd=tmp_path,
                              capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "test_controls[AKS-009-rg-platform-weu/aks-prod-weu]" in done.stdout
    assert "test_controls[AKS-012-rg-batch-weu/aks-batch-weu]" in done.stdout


@pytest.mark.parametrize("cloud,scope", [
    ("AzureCloud", "https://management.azure.com/.default"),
    ("AzureUSGovernment", "https://management.core.usgovcloudapi.net/.default"),
    ("AzureChinaCloud", "https://management.chinacloudapi.cn/.default"),
])
def test_the_cloud_picks_the_token_audience(cloud: str, scope: str, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    from azure.core.exceptions import ClientAuthenticationError

    from aks_compliance.azure.cli import snapshot_command

    asked: list[tuple[str, ...]] = []

    class Refusing:
        def get_token(self, *scopes: str, **kwargs):
            asked.append(scopes)
            raise ClientAuthenticationError("no account for this cloud")

    out = tmp_path / "s.json.gz"
    code = snapshot_command(["--azure-subscription", SUB, "--azure-resource-group", "rg", "--azure-cloud", cloud,
                             "-o", str(out)], credential=Refusing())
    assert code == 2 and asked == [(scope,)]
    assert read_snapshot(out).meta["cloud"] == cloud
    assert "no Azure credential could be obtained (no account for this cloud)" in capsys.readouterr().err
