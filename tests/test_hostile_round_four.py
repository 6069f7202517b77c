"""Hostile input, round four (issue 19): variations rounds two and three did not cover.

* secrets: an ``--arm-param`` argument without ``=`` (the value alone: ``--arm-param $TOKEN``) was quoted in the
  usage error; an attestation's evidence link (``?token=...``) or note and a waiver's justification reached every
  output as written; a ``user:password@host`` without a scheme (a DSN, an image reference) was shown as it is;
* cost: redaction patterns that rescanned the rest of a long text from every candidate start (``https://``
  repeated, ``-eyJ`` repeated, a long run of scheme characters) took minutes on a 1.6 MB resource name;
* outputs: an output path naming a device, a FIFO or a name in /dev (``--sarif /dev/null``, ``/dev/stdout``) was
  replaced by renaming a temporary file over it (as root, /dev/null became a regular file); two outputs given the
  same file, or an output given an input's path, silently replaced one another or the input.

All bounded by construction: small inputs, or inputs whose quadratic cost would never finish but whose linear
cost is a fraction of a second.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aks_compliance.atomic import write_text
from aks_compliance.option_values import OptionValueError, name_value_pairs
from aks_compliance.redaction import redact_text
from aks_compliance.waivers import load_attestations, load_waivers

from .conftest import FIXTURES
from .test_hostile_round_two import CANARY, CREDENTIAL_SHAPES

EXE = str(Path(sys.executable).with_name("aks-compliance"))
GOOD = (FIXTURES / "controls" / "AKS-002" / "failed-enabled.json").read_text()
BOUNDED = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                          HealthCheck.function_scoped_fixture])


def scan(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([EXE, "scan", *args, "-p", "no:cacheprovider"], capture_output=True, cwd=cwd, timeout=300)


# -- a value alone given to --arm-param ---------------------------------------------------------------------

@given(st.text(st.characters(blacklist_characters="=", blacklist_categories=("Cs",)), max_size=40)
       .map(lambda t: "CNRYq" + t))
@BOUNDED
def test_an_arm_param_without_a_name_is_refused_without_quoting_it(value: str) -> None:
    with pytest.raises(OptionValueError) as err:
        name_value_pairs([value], "--arm-param")
    assert value not in str(err.value).partition("got")[2]
    assert "NAME=VALUE" in str(err.value)


def test_an_arm_param_without_a_name_never_reaches_the_terminal(tmp_path: Path) -> None:
    (tmp_path / "good.json").write_text(GOOD)
    proc = scan("--arm", "good.json", "--arm-param", CANARY, cwd=tmp_path)
    assert proc.returncode == 4, proc.stderr.decode()[-500:]
    assert b"--arm-param expects NAME=VALUE" in proc.stdout + proc.stderr
    assert CANARY.encode() not in proc.stdout + proc.stderr


# -- governance free text ---------------------------------------------------------------------------------

def _attestation(**fields: str) -> str:
    entry = {"id": "A-1", "control": "AKS-023", "target": "'*'", "status": "passed", "owner": "o",
             "evidence": "https://wiki.example.com/review", "date": "2026-01-01", "expires": "2026-12-31", **fields}
    return "attestations:\n  - " + "\n    ".join(f"{k}: {v}" for k, v in entry.items()) + "\n"


def _waiver(**fields: str) -> str:
    entry = {"id": "W-1", "control": "AKS-002", "target": "'*'", "justification": "j", "approver": "a",
             "expires": "2026-12-31", **fields}
    return "waivers:\n  - " + "\n    ".join(f"{k}: {v}" for k, v in entry.items()) + "\n"


@pytest.mark.parametrize("shape", CREDENTIAL_SHAPES)
def test_governance_free_text_is_redacted_where_it_is_read(tmp_path: Path, shape: str) -> None:
    """Evidence links, notes, owners, justifications, approvers and references reach the reason of every
    result they decide: a credential in them is redacted like one in any other input."""
    quoted = json.dumps(shape)
    (tmp_path / "a.yaml").write_text(_attestation(evidence=quoted, note=quoted, owner=quoted))
    (tmp_path / "w.yaml").write_text(_waiver(justification=quoted, approver=quoted, reference=quoted))
    today = dt.date(2026, 6, 1)
    attestations = load_attestations(str(tmp_path / "a.yaml"), ["AKS-023"], ["AKS-023"], today)
    waivers = load_waivers(str(tmp_path / "w.yaml"), ["AKS-002"], today)
    said = json.dumps([a.record() for a in attestations] + [w.record() for w in waivers])
    assert CANARY not in said and "redacted" in said


def test_governance_secrets_never_reach_an_output(tmp_path: Path) -> None:
    today = dt.date.today()
    (tmp_path / "a.yaml").write_text(_attestation(
        evidence=f'"https://wiki.example.com/x?token={CANARY}"', note=f'"password={CANARY}"',
        date=(today - dt.timedelta(days=1)).isoformat(), expires=(today + dt.timedelta(days=60)).isoformat()))
    (tmp_path / "good.json").write_text(GOOD)
    proc = scan("--arm", "good.json", "--attestations", "a.yaml", "--results-json", "r.json", "--csv", "r.csv",
                "--audit-report", "a.html", "--sarif", "r.sarif", "--junitxml", "j.xml", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr.decode()[-500:]
    assert "attested passed" in (tmp_path / "r.json").read_text()
    for out in ("r.json", "r.csv", "a.html", "r.sarif", "j.xml"):
        assert CANARY not in (tmp_path / out).read_text(), out
    assert CANARY.encode() not in proc.stdout + proc.stderr


# -- user:password@host without a scheme -----------------------------------------------------------------

@pytest.mark.parametrize("value", [f"admin:{CANARY}@db.internal:5432/app", f"app:{CANARY}@tcp(db:3306)/shop",
                                   f"deploy:{CANARY}@registry.example.io/nginx:1.25",
                                   f"DATABASE_URL=svc:{CANARY}@pg.example.com/x"])
def test_userinfo_without_a_scheme_is_redacted(value: str) -> None:
    once = redact_text(value)
    assert CANARY not in once and "<redacted>@" in once and redact_text(once) == once


@pytest.mark.parametrize("value", ["nginx:1.25@sha256:" + "a" * 64, "registry.io:5000/img:1.0@sha256:" + "b" * 64,
                                   "mailto:ops@example.com", "ops@example.com", "git@github.com:org/repo.git",
                                   "ssh://git@github.com/o/r", "at 12:00 @ the office"])
def test_digests_and_addresses_are_not_userinfo(value: str) -> None:
    assert redact_text(value) == value


def test_an_image_with_credentials_never_reaches_evidence(tmp_path: Path) -> None:
    (tmp_path / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec:\n  containers:\n  - name: c\n"
        f"    image: 'deploy:{CANARY}@registry.example.io/nginx:1.25'\n")
    proc = scan("--k8s", "pod.yaml", "--results-json", "r.json", "--csv", "r.csv", cwd=tmp_path)
    assert proc.returncode in (1, 2), proc.stderr.decode()[-500:]
    assert "registry.example.io" in (tmp_path / "r.json").read_text()
    assert CANARY not in (tmp_path / "r.json").read_text() + (tmp_path / "r.csv").read_text()
    assert CANARY.encode() not in proc.stdout + proc.stderr


# -- redaction is linear in the text --------------------------------------------------------------------
# Fragments that start a candidate match of some pattern without completing it. Repeated to 100 KB, a pattern
# that rescans the rest of the text from each candidate start does ~10^9 steps or more (minutes); a linear one
# a fraction of a second. Names are capped only after redaction (a cut must not split a credential), so a
# resource name of megabytes is redacted whole.
FRAGMENTS = ["https://", "-eyJ", "eyJ", ".", "x-api-key", ",a:", "a:", "@", "xoxb-", "ghp_", "=", "key=", "?sig=",
             "Bearer ", "hook", "/", "{", "'", '"', "%3D", ":", " ", "-----BEGIN PRIVATE KEY-----", "==", "a", "0"]


@pytest.mark.parametrize("unit", ["https://", "https://hook", "-eyJ", ".x-api-key", ",a:", "a.b-c"])
def test_redaction_of_a_megabyte_is_linear(unit: str) -> None:
    """Each of these rescanned to the end from every repetition: at 1 MB, hours; linear, about a second."""
    redact_text(unit * (1_000_000 // len(unit) + 1) + "@x.io")


@given(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=3))
@settings(max_examples=20, deadline=None)
def test_redaction_of_a_long_text_is_linear(parts: list[str]) -> None:
    unit = "".join(parts)
    redact_text(unit * (200_000 // len(unit) + 1) + "@x.io")


# -- outputs that are streams, and outputs that collide -----------------------------------------------------

def test_an_output_to_a_fifo_is_written_into_it_never_replacing_it(tmp_path: Path) -> None:
    (tmp_path / "good.json").write_text(GOOD)
    fifo = tmp_path / "results.json"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    proc = scan("--arm", "good.json", "--results-json", "results.json", "--sarif", "r.sarif", cwd=tmp_path)
    reader.join(timeout=120)
    assert got, "nothing was written into the FIFO"
    assert proc.returncode == 1, proc.stderr.decode()[-500:]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert json.loads(got[0])["schema"] == "aks-compliance/results/v1"


def test_a_fifo_nobody_reads_is_a_named_output_fault_not_a_hang(tmp_path: Path) -> None:
    (tmp_path / "good.json").write_text(GOOD)
    os.mkfifo(tmp_path / "r.json")
    proc = scan("--arm", "good.json", "--results-json", "r.json", "--sarif", "r.sarif", cwd=tmp_path)
    assert proc.returncode == 4, proc.stderr.decode()[-500:]
    assert b"results JSON NOT written: r.json: a FIFO that nobody reads" in proc.stdout + proc.stderr
    assert (tmp_path / "r.sarif").is_file() and stat.S_ISFIFO(os.lstat(tmp_path / "r.json").st_mode)


def test_an_output_through_a_link_to_a_device_writes_to_the_device(tmp_path: Path) -> None:
    """``--sarif /dev/null`` (here through a link, so a regression cannot replace the machine's /dev/null)."""
    os.symlink(os.devnull, tmp_path / "null.sarif")
    write_text(tmp_path / "null.sarif", "{}")
    assert os.path.islink(tmp_path / "null.sarif")
    assert stat.S_ISCHR(os.stat(tmp_path / "null.sarif").st_mode)


def test_a_link_to_a_regular_file_is_replaced_never_followed(tmp_path: Path) -> None:
    (tmp_path / "victim.txt").write_text("keep")
    os.symlink(tmp_path / "victim.txt", tmp_path / "r.json")
    write_text(tmp_path / "r.json", "{}")
    assert (tmp_path / "victim.txt").read_text() == "keep" and not os.path.islink(tmp_path / "r.json")


@pytest.mark.parametrize("spelling", ["r.json", "./r.json", "sub/../r.json", "alias/r.json"])
def test_two_outputs_given_one_file_write_the_first_and_name_the_second(tmp_path: Path, spelling: str) -> None:
    (tmp_path / "good.json").write_text(GOOD)
    (tmp_path / "sub").mkdir()
    os.symlink(tmp_path, tmp_path / "alias")
    proc = scan("--arm", "good.json", "--results-json", "r.json", "--csv", spelling, "--sarif", "r.sarif",
                cwd=tmp_path)
    said = (proc.stdout + proc.stderr).decode()
    assert proc.returncode == 4, said[-500:]
    assert f"CSV matrix NOT written: {spelling}: is also the results JSON's path" in said
    assert json.loads((tmp_path / "r.json").read_text())["schema"] == "aks-compliance/results/v1"
    assert (tmp_path / "r.sarif").is_file()


@pytest.mark.parametrize("option", ["--results-json", "--sarif", "--junitxml"])
def test_an_output_given_an_input_path_leaves_the_input_alone(tmp_path: Path, option: str) -> None:
    (tmp_path / "good.json").write_text(GOOD)
    (tmp_path / "w.yaml").write_text("waivers: []\n")
    proc = scan("--arm", "good.json", "--waivers", "w.yaml", option, "./good.json", "--csv", "r.csv",
                cwd=tmp_path)
    said = (proc.stdout + proc.stderr).decode()
    assert proc.returncode == 4, said[-500:]
    assert "./good.json: is an input of this scan (--arm), not overwritten" in said
    assert (tmp_path / "good.json").read_text() == GOOD and (tmp_path / "r.csv").is_file()


# -- a results document read back by report and diff -------------------------------------------------------

@pytest.mark.parametrize("field,value", [("reason", f"password={CANARY}"), ("outcome", f"token={CANARY}"),
                                         ("control_id", f"ghp_{CANARY}abcdefgh"),
                                         ("title", f"https://hooks.slack.com/services/T0/B0/{CANARY}")])
def test_report_and_diff_redact_a_document_from_elsewhere(tmp_path: Path, field: str, value: str) -> None:
    """A results document from an older version or edited by hand is an input like any other: its texts are
    redacted before a message quotes a field (an outcome that is no outcome) or a report shows them."""
    (tmp_path / "good.json").write_text(GOOD)
    assert scan("--arm", "good.json", "--results-json", "base.json", cwd=tmp_path).returncode == 1
    doc = json.loads((tmp_path / "base.json").read_text())
    doc["results"][0][field] = value
    (tmp_path / "hostile.json").write_text(json.dumps(doc))
    for args in (["report", "hostile.json", "-o", "a.html", "--csv", "r.csv", "--sarif", "r.sarif"],
                 ["diff", "base.json", "hostile.json"], ["diff", "hostile.json", "base.json"]):
        proc = subprocess.run([EXE, *args], capture_output=True, cwd=tmp_path, timeout=300)
        assert proc.returncode in (0, 1, 4) and b"Traceback" not in proc.stderr, proc.stderr.decode()[-500:]
        assert CANARY.encode() not in proc.stdout + proc.stderr, args
    for out in ("a.html", "r.csv", "r.sarif"):
        if (tmp_path / out).exists():
            assert CANARY not in (tmp_path / out).read_text(), out


def test_every_string_of_a_deep_document_is_redacted_without_recursion() -> None:
    from aks_compliance.redaction import redact_strings
    doc: Any = f"password={CANARY}"
    for _ in range(50_000):
        doc = {"a": [doc]}
    node = redact_strings({"x": doc})["x"]
    while isinstance(node, dict):
        node = node["a"][0]
    assert node == "password=<redacted>"


def test_an_output_on_a_file_read_from_a_directory_input_leaves_it_alone(tmp_path: Path) -> None:
    # `--arm .` reads infra/good.json: the paths given cannot tell, the files read can
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "good.json").write_text(GOOD)
    proc = scan("--arm", ".", "--results-json", "infra/good.json", "--sarif", "r.sarif", cwd=tmp_path)
    said = (proc.stdout + proc.stderr).decode()
    assert proc.returncode == 4, said[-500:]
    assert "infra/good.json: is a file this scan read (an input), not overwritten" in said
    assert (tmp_path / "infra" / "good.json").read_text() == GOOD and (tmp_path / "r.sarif").is_file()
