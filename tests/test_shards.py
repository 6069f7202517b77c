"""Sharded runs give the document a single process gives: shards evaluated apart and merged (in-process,
``--aksc-shard K/N`` jobs with ``aks-compliance merge``, and pytest-xdist workers), on the ARM corpus, a
generated fleet and a Kubernetes snapshot whose controls join across objects."""

from __future__ import annotations

import copy
import datetime as dt
import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from aks_compliance.arm.inputs import ArmOptions
from aks_compliance.k8s.source import K8sOptions
from aks_compliance.scan import ScanOptions, prepare_scan, run_scan
from aks_compliance.shards import MergeError, ShardedScan, merge_shards, parse_shard, shard_of
from aks_compliance.waivers import apply_governance, decide, load_governance, register

from .conftest import FIXTURES, ROOT, require_shared

SUITE = str(ROOT / "tests_compliance")
EXE = str(Path(sys.executable).with_name("aks-compliance"))
STARTED = "2026-11-02T09:00:00+00:00"
SCHEMA = json.loads((ROOT / "src" / "aks_compliance" / "schemas" / "results-v1.schema.json").read_text())
GOVERNANCE = ["--waivers", str(FIXTURES / "governance" / "waivers.yaml"),
              "--attestations", str(FIXTURES / "governance" / "attestations.yaml")]

pytest_plugins = ["pytester"]


def _bench(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "benchmarks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated fleet (benchmarks/fleet.py): pools as separate resources, diagnostic settings as extension
    resources in the same file, parameters with defaults."""
    path = tmp_path_factory.mktemp("fleet") / "fleet"
    _bench("fleet").generate(36, path)
    return path


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Kubernetes snapshot (benchmarks/k8s_snapshot.py) with namespaces, network policies and RBAC across
    objects (bindings to roles, service accounts, cluster-wide roles)."""
    bench = _bench("k8s_snapshot")
    from aks_compliance.k8s.kinds import COLLECTED
    from aks_compliance.k8s.snapshot import write_snapshot

    path = tmp_path_factory.mktemp("snap") / "snapshot.json.gz"
    lists = {k.kind: {"status": "not-served" if k.custom else "complete"} for k in COLLECTED}
    meta = {"scope": "bench", "cluster": {"server": "https://bench", "version": {"major": "1", "minor": "30",
                                                                                "gitVersion": "v1.30.5"}},
            "lists": lists, "gaps": []}
    write_snapshot(path, meta, bench.cluster(pods=240, namespaces=12, rbac=80))
    return path


@pytest.fixture(scope="module")
def broken_estate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example estate with two files that are input errors (numbered over every shard)."""
    import shutil

    path = tmp_path_factory.mktemp("estate") / "estate"
    shutil.copytree(FIXTURES / "examples", path)
    (path / "broken.json").write_text('{"resources": [\n')
    # a template whose cluster name is an expression that does not parse (a JSON file that is no ARM
    # document at all would be skipped and listed in a directory, not an error)
    (path / "bad-expression.json").write_text(
        '{"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",\n'
        ' "contentVersion": "1.0.0.0", "resources": [{"type": "Microsoft.ContainerService/managedClusters",\n'
        ' "apiVersion": "2024-09-01", "name": "[concat(\'aks\', ]", "location": "westeurope", "properties": {}}]}\n')
    (path / "unknown.json").write_text('{"hello": 1}\n')
    return path


def comparable(doc: dict[str, Any]) -> dict[str, Any]:
    """A results document without what differs between two runs of the same scan: start time, run id, who
    ran it, and (a merge) which jobs made it."""
    doc = copy.deepcopy(doc)
    doc.pop("started", None)
    run = doc.get("run") or {}
    for key in ("id", "shards", "user", "host", "ci"):
        run.pop(key, None)
    return json.loads(json.dumps(doc))


def _options(kind: str, path: Path, **kw: Any) -> ScanOptions:
    inputs = [ArmOptions(paths=[str(path)])] if kind == "arm" else [K8sOptions(paths=[str(path)])]
    return ScanOptions(inputs=inputs, started=STARTED, run_id="r", **kw)


def _sharded(kind: str, path: Path, count: int, **kw: Any) -> dict[str, Any]:
    docs = []
    for k in range(count):  # each shard in a fresh scan, as a separate process would
        sharded = ShardedScan(prepare_scan(_options(kind, path, **kw)), count)
        docs.append(json.loads(json.dumps(sharded.run(k, sharded.evaluate(k)).document())))
    return merge_shards(docs).document()


# ---------------------------------------------------------------------------------------------------
# the partition


def test_the_partition_is_a_stable_hash() -> None:
    # fixed values: a job of a CI matrix gets the same targets on every run and machine
    assert [shard_of(k, 4) for k in ("a.json", "team01/cluster-00001.json", "bench/team-007", "")] == [2, 1, 1, 0]
    keys = [f"team{i % 20:02d}/cluster-{i:05d}.json" for i in range(2000)]
    sizes = [sum(1 for k in keys if shard_of(k, 8) == s) for s in range(8)]
    assert sum(sizes) == 2000 and min(sizes) > 200  # even enough


@pytest.mark.parametrize("text", ["0/4", "5/4", "2", "a/b", "1/0", "-1/3"])
def test_a_bad_shard_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="K/N"):
        parse_shard(text)
    assert parse_shard("2/4") == (2, 4)


def test_targets_are_partitioned_by_file_namespace_or_group(fleet: Path, snapshot: Path) -> None:
    arm = ShardedScan(prepare_scan(_options("arm", fleet)), 3)
    for members in arm.members:  # a file's resources (cluster, pools, diagnostic settings) stay together
        files = {arm.prepared.targets[i].resource.source.file for i in members}
        for other in arm.members:
            if other is not members:
                assert not files & {arm.prepared.targets[i].resource.source.file for i in other}
    k8s = ShardedScan(prepare_scan(_options("k8s", snapshot)), 3)
    namespaces = [{k8s.prepared.targets[i].namespace for i in m} - {None} for m in k8s.members]
    assert all(namespaces) and not namespaces[0] & namespaces[1] and not namespaces[1] & namespaces[2]
    assert sorted(i for m in k8s.members for i in m) == list(range(len(k8s.prepared.targets)))


# ---------------------------------------------------------------------------------------------------
# in-process: shards merged = one process


def test_merged_shards_are_the_single_process_document_on_the_arm_corpus() -> None:
    corpus = require_shared("corpus", "arm")
    single = run_scan(_options("arm", corpus)).document()
    assert comparable(_sharded("arm", corpus, 3)) == comparable(single)


def test_merged_shards_are_the_single_process_document_on_a_fleet(fleet: Path) -> None:
    single = run_scan(_options("arm", fleet)).document()
    for count in (1, 4):
        assert comparable(_sharded("arm", fleet, count)) == comparable(single)


def test_merged_shards_are_the_single_process_document_on_a_snapshot(snapshot: Path) -> None:
    single = run_scan(_options("k8s", snapshot)).document()
    joined = {r["control_id"] for r in single["results"] if r["outcome"] == "failed"}
    assert {"AKS-146"} <= joined  # a namespace without a network policy: a join across objects
    assert comparable(_sharded("k8s", snapshot, 5)) == comparable(single)


def test_merged_shards_keep_input_errors_and_governance(broken_estate: Path) -> None:
    gov = {"waivers_file": str(FIXTURES / "governance" / "waivers.yaml"),
           "attestations_file": str(FIXTURES / "governance" / "attestations.yaml")}
    single = run_scan(_options("arm", broken_estate, **gov)).document()
    assert [r["outcome"] for r in single["results"] if r["control_id"] is None] == ["error", "error"]
    assert {w["status"] for w in single["waivers"]} == {"active", "expired", "unused"}
    assert comparable(_sharded("arm", broken_estate, 3, **gov)) == comparable(single)


def test_governance_decided_per_shard_and_registered_once_is_governance_applied_once(broken_estate: Path) -> None:
    today = dt.date.fromisoformat(STARTED[:10])
    gov_files = (str(FIXTURES / "governance" / "waivers.yaml"), str(FIXTURES / "governance" / "attestations.yaml"))
    whole = run_scan(_options("arm", broken_estate))
    scope = [c.id for c in whole.catalog]
    once = load_governance(*gov_files, whole.catalog, today)
    results = copy.deepcopy(whole.results)
    apply_governance(once, results, scope, today)
    split = load_governance(*gov_files, whole.catalog, today)
    parts = copy.deepcopy(whole.results)
    for half in (parts[: len(parts) // 2], parts[len(parts) // 2:]):
        decide(split, half, scope, today)
    register(split, parts, scope, today)
    assert [r.as_dict() for r in parts] == [r.as_dict() for r in results]
    assert split.document(today) == once.document(today)
    assert [str(d) for d in split.diagnostics] == [str(d) for d in once.diagnostics]


# ---------------------------------------------------------------------------------------------------
# merging refuses what is not one run


def _shard_docs(fleet: Path, count: int) -> list[dict[str, Any]]:
    sharded = ShardedScan(prepare_scan(_options("arm", fleet)), count)
    return [json.loads(json.dumps(sharded.run(k, sharded.evaluate(k)).document())) for k in range(count)]


def test_merge_refuses_missing_twice_foreign_and_other_inputs(fleet: Path, tmp_path: Path) -> None:
    docs = _shard_docs(fleet, 3)
    with pytest.raises(MergeError, match=r"shard\(s\) 2/3 missing"):
        merge_shards([docs[0], docs[2]])
    with pytest.raises(MergeError, match="shard 1/3 given twice"):
        merge_shards([docs[0], docs[0], docs[1], docs[2]])
    with pytest.raises(MergeError, match="not a shard document"):
        merge_shards([run_scan(_options("arm", fleet)).document()])
    other = copy.deepcopy(docs[1])
    other["inputs"][0]["sha256"] = "0" * 64
    with pytest.raises(MergeError, match="differs from shard 1/3 in 'inputs'"):
        merge_shards([docs[0], other, docs[2]])
    recut = _shard_docs(fleet, 2)
    with pytest.raises(MergeError, match="cut differently"):
        merge_shards([docs[0], recut[1]])
    twice = copy.deepcopy(docs[2])
    twice["shard"]["evaluated"].append(docs[1]["shard"]["evaluated"][0])
    with pytest.raises(MergeError, match="evaluated by shard 2 and shard 3"):
        merge_shards([docs[0], docs[1], twice])
    # the command names the problem and exits 4
    paths = []
    for k, d in enumerate(docs[:2]):
        paths.append(tmp_path / f"s{k}.json")
        paths[-1].write_text(json.dumps(d))
    proc = subprocess.run([EXE, "merge", *map(str, paths), "-o", str(tmp_path / "m.json")], capture_output=True,
                          text=True)
    assert proc.returncode == 4 and "3/3 missing" in proc.stderr and not (tmp_path / "m.json").exists()


# ---------------------------------------------------------------------------------------------------
# as users run it: pytest-xdist, and --aksc-shard jobs merged


def _pytest(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    # one start time for every run compared: templates build names from utcNow()
    return pytester.runpytest_subprocess(SUITE, "-p", "no:cacheprovider", "-q", "--tb=short", "--aksc-started",
                                         STARTED, *args, timeout=600)


def _result_lines(path: Path) -> list[str]:
    """The results JSON's lines of results, as written (one compact line each)."""
    text = path.read_text(encoding="utf-8")
    lines = text[text.index('\n "results": ['):].splitlines()[2:-2]
    assert lines and all(line.startswith('  {"control_id":') for line in lines)
    return lines


def _junit(path: Path) -> dict[str, Any]:
    import xml.etree.ElementTree as ET

    cases = {}
    for tc in ET.parse(path).getroot().iter("testcase"):
        kids = sorted((c.tag, (c.get("message") or "")[:200]) for c in tc if c.tag != "properties")
        props = sorted((p.get("name"), p.get("value")) for p in tc.iter("property"))
        cases[(tc.get("classname"), tc.get("name"))] = (kids, props)
    return cases


@pytest.mark.parametrize("case", ["corpus", "estate", "fleet", "snapshot"])
def test_xdist_and_shard_jobs_give_the_single_process_document(case: str, pytester: pytest.Pytester, tmp_path: Path,
                                                               request: pytest.FixtureRequest,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    temp = tmp_path / "temp"  # where the controller spools the workers' parts
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    if case == "corpus":
        inputs = ["--arm", str(require_shared("corpus", "arm"))]
    elif case == "estate":
        inputs = ["--arm", str(request.getfixturevalue("broken_estate")), *GOVERNANCE]
    elif case == "fleet":
        inputs = ["--arm", str(request.getfixturevalue("fleet")), "--aksc-items", "target"]
    else:
        inputs = ["--k8s", str(request.getfixturevalue("snapshot"))]
    out = {name: tmp_path / f"{name}.json" for name in ("single", "xdist", "merged", "jobs")}
    single = _pytest(pytester, *inputs, "--results-json", str(out["single"]), "--junitxml", str(tmp_path / "s.xml"))
    xdist = _pytest(pytester, *inputs, "--results-json", str(out["xdist"]), "--junitxml", str(tmp_path / "x.xml"),
                    "-n", "2")
    assert xdist.ret == single.ret
    assert comparable(json.loads(out["xdist"].read_text())) == comparable(json.loads(out["single"].read_text()))
    # byte for byte: the controller writes the workers' lines with their targets spliced in (not encoded again)
    assert _result_lines(out["xdist"]) == _result_lines(out["single"])
    # the same test cases, outcomes and properties reach JUnit (and so the terminal and pytest-html)
    assert _junit(tmp_path / "x.xml") == _junit(tmp_path / "s.xml") and _junit(tmp_path / "s.xml")
    assert single.parseoutcomes() == xdist.parseoutcomes()
    assert not list(temp.glob("aksc-shards-*"))  # the spool is removed with the session

    # --jobs 3: read once, three forked processes evaluate the shards, merged before pytest collects
    jobs = _pytest(pytester, *inputs, "--results-json", str(out["jobs"]), "--junitxml", str(tmp_path / "j.xml"),
                   "--jobs", "3")
    assert jobs.ret == single.ret
    assert comparable(json.loads(out["jobs"].read_text())) == comparable(json.loads(out["single"].read_text()))
    assert _result_lines(out["jobs"]) == _result_lines(out["single"])
    assert _junit(tmp_path / "j.xml") == _junit(tmp_path / "s.xml")
    assert single.parseoutcomes() == jobs.parseoutcomes()
    assert not list(temp.glob("aksc-jobs-*"))  # the jobs' spool is removed

    shards = [tmp_path / f"shard{k}.json" for k in (1, 2, 3)]
    for k, path in enumerate(shards, 1):
        job = subprocess.run([EXE, "scan", *inputs, "--aksc-shard", f"{k}/3", "--aksc-started", STARTED,
                              "--results-json", str(path)],
                             capture_output=True, text=True, timeout=600)
        assert job.returncode in (0, 1, 2), job.stdout[-2000:] + job.stderr[-2000:]
        doc = json.loads(path.read_text())
        jsonschema.validate(doc, SCHEMA)
        assert doc["shard"]["index"] == k and doc["shard"]["count"] == 3
        assert doc["run"]["selection"]["complete"] is False and f"shard {k} of 3" in doc["run"]["selection"]["narrowed_by"]
    merge = subprocess.run([EXE, "merge", *map(str, reversed(shards)), "-o", str(out["merged"])],
                           capture_output=True, text=True, timeout=600)
    assert merge.returncode in (0, 1, 2), merge.stderr
    merged = json.loads(out["merged"].read_text())
    jsonschema.validate(merged, SCHEMA)
    assert [s["index"] for s in merged["run"]["shards"]] == [1, 2, 3]
    assert comparable(merged) == comparable(json.loads(out["single"].read_text()))


def test_xdist_selection_narrows_the_results_as_one_process(pytester: pytest.Pytester, broken_estate: Path,
                                                            tmp_path: Path) -> None:
    one, two = tmp_path / "one.json", tmp_path / "two.json"
    args = ["--arm", str(broken_estate), "-k", "AKS-001 or input-error"]
    single = _pytest(pytester, *args, "--results-json", str(one))
    xdist = _pytest(pytester, *args, "--results-json", str(two), "-n", "2")
    assert comparable(json.loads(two.read_text())) == comparable(json.loads(one.read_text()))
    doc = json.loads(two.read_text())
    assert doc["run"]["selection"]["complete"] is False and len(doc["results"]) == 7  # 5 clusters (one unnamed) + 2 input errors
    assert {k: v for k, v in xdist.parseoutcomes().items() if k != "deselected"} == \
        {k: v for k, v in single.parseoutcomes().items() if k != "deselected"}


def test_xdist_remote_execution_gateways_share_the_scan(pytester: pytest.Pytester, broken_estate: Path,
                                                        tmp_path: Path) -> None:
    """pytest-xdist's own execution specs (--tx, here two local interpreters through execnet's gateways)."""
    one, tx = tmp_path / "one.json", tmp_path / "tx.json"
    single = _pytest(pytester, "--arm", str(broken_estate), "--results-json", str(one))
    remote = _pytest(pytester, "--arm", str(broken_estate), "--results-json", str(tx), "-d", "--tx", "2*popen")
    assert remote.parseoutcomes() == single.parseoutcomes()
    assert comparable(json.loads(tx.read_text())) == comparable(json.loads(one.read_text()))


def test_shard_option_errors(pytester: pytest.Pytester, fleet: Path) -> None:
    bad = _pytest(pytester, "--arm", str(fleet), "--aksc-shard", "4/3")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR and "1 <= K <= N" in bad.stderr.str()
    both = _pytest(pytester, "--arm", str(fleet), "--aksc-shard", "1/3", "-n", "2")
    assert both.ret == pytest.ExitCode.USAGE_ERROR and "--aksc-shard runs one shard" in both.stderr.str()


# ---------------------------------------------------------------------------------------------------
# the progress line


def test_progress_line_appears_after_a_delay_and_is_rewritten_then_erased() -> None:
    from aks_compliance.progress import Progress

    now = [100.0]
    lines: list[str] = []
    erased: list[bool] = []
    p = Progress(lines.append, lambda: erased.append(True), delay=2.0, clock=lambda: now[0])
    p.start(1000)
    for done in range(0, 1000, 100):
        now[0] += 0.5
        p.update(done)
    p.finish(1000)
    # nothing in the first 2 s; then the line says how far, how fast and how long is left
    assert lines and all(line.startswith("aks-compliance: ") for line in lines)
    assert lines[0] == "aks-compliance: 300 / 1,000 targets scanned, 150/s, about 5 s left"
    big = Progress(lines.append, None, clock=lambda: 0.0)
    big.start(500_000)
    assert len(big.line(123_456, 10.0)) < 80  # a terminal cuts a rewritten line at its width
    assert erased == [True]
    quick = Progress(lines.append, None, delay=2.0, clock=lambda: 0.0)
    quick.start(10)
    quick.update(5)
    quick.finish(10)
    assert len(lines) == len([line for line in lines if "/" in line])  # a short scan writes nothing


def test_progress_in_a_log_is_a_line_every_few_seconds_and_a_last_one() -> None:
    from aks_compliance.progress import Progress

    now = [0.0]
    lines: list[str] = []
    p = Progress(lines.append, None, delay=2.0, clock=lambda: now[0])
    p.start(100)
    for done in range(100):
        now[0] += 0.25
        p.update(done)
    p.finish(100)
    assert 4 <= len(lines) <= 6 and lines[-1] == "aks-compliance: 100 targets scanned in 25.0 s"


def test_progress_is_quiet_in_ci_logs_unless_asked(pytester: pytest.Pytester, fleet: Path) -> None:
    from aks_compliance.progress import progress_for

    quiet = _pytest(pytester, "--arm", str(fleet), "--controls", "AKS-001")
    assert "targets scanned" not in quiet.stdout.str()  # not a terminal: no progress line
    config = pytester.parseconfig("--aksc-progress", "always")
    config._do_configure()
    try:
        p = progress_for(config)
        assert p is not None and p.erase is None  # a log: whole lines, no carriage returns
    finally:
        config._ensure_unconfigure()
    never = pytester.parseconfig("--aksc-progress", "never")
    assert progress_for(never) is None


def test_the_progress_line_reaches_the_terminal_while_pytest_collects(pytester: pytest.Pytester, fleet: Path) -> None:
    """The scan runs during collection, when pytest captures output: the line must step out of the capture (it
    was swallowed, so no run ever showed it). A separate process, as a user runs it; a plugin of the test makes
    the line appear at once."""
    pytester.makepyfile(progress_now="import aks_compliance.progress as p\np.DELAY = 0.0\np.LOG_EVERY = 0.0\n")
    result = _pytest(pytester, "-p", "progress_now", "--arm", str(fleet), "--aksc-progress", "always")
    lines = [line for line in result.outlines if line.startswith("aks-compliance: ")]
    assert lines and "targets scanned in" in lines[-1], result.outlines[:20]
    assert any(" / " in line for line in lines), lines


def test_an_interrupted_xdist_run_writes_nothing_and_does_not_scan_on_the_controller(pytester: pytest.Pytester,
                                                                                     fleet: Path) -> None:
    """SIGTERM to the controller before any worker's shard arrived: the controller scanned the whole input
    itself to write outputs of 0 reported results (a second full scan after Ctrl-C)."""
    counted = pytester.path / "controller-evaluations.txt"
    pytester.makepyfile(term_early=(
        "import atexit, os, signal\n"
        "import aks_compliance.engine as e\n"
        "calls = [0]\n"
        "orig = e.Evaluation.evaluate\n"
        "def evaluate(self, target):\n"
        "    calls[0] += 1\n"
        "    return orig(self, target)\n"
        "e.Evaluation.evaluate = evaluate\n"
        "def pytest_configure(config):\n"
        "    if not hasattr(config, 'workerinput'):\n"
        f"        atexit.register(lambda: open({str(counted)!r}, 'w').write(str(calls[0])))\n"
        "def pytest_xdist_make_scheduler(config, log):\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"))
    out = pytester.path / "r.json"
    result = _pytest(pytester, "-p", "term_early", "--arm", str(fleet), "-n", "2", "--results-json", str(out))
    assert result.ret == pytest.ExitCode.INTERRUPTED, result.stdout.str()[-2000:]
    assert counted.read_text() == "0" and not out.exists()
    assert "interrupted while scanning: nothing was judged and no output was written" in result.stdout.str()


class _Process:
    """What ``_ship`` and ``_received`` read of a pytest config: a worker's hand-off, a controller's stash."""

    def __init__(self, handoff: dict[str, Any] | None = None) -> None:
        self.workerinput = {"aksc": handoff or {}}
        self.stash = pytest.Stash()


def test_shard_parts_travel_by_file_on_one_machine_and_by_execnet_otherwise(tmp_path: Path) -> None:
    from aks_compliance.distributed import SPOOL_KEY, _received, _ship

    spool = tmp_path / "spool"
    spool.mkdir()
    (spool / "token").write_text("secret-token", encoding="ascii")
    controller = _Process()
    controller.stash[SPOOL_KEY] = {"dir": str(spool), "token": "secret-token"}
    text = '{"results":["\u00e9\udc80"]}'  # non-ASCII and a lone surrogate (from a hostile input) survive

    local = _ship(_Process({"spool": {"dir": str(spool), "token": "secret-token"}}), 3, text)  # type: ignore[arg-type]
    assert isinstance(local, dict) and Path(local["file"]).parent == spool
    assert _received(controller, local) == text  # type: ignore[arg-type]
    assert not Path(local["file"]).exists()  # read once, then gone

    # a worker on another machine (--tx ssh=...) does not see the token: its part goes through execnet
    assert _ship(_Process({"spool": {"dir": str(spool), "token": "another"}}), 3, text) == text  # type: ignore[arg-type]
    assert _ship(_Process({"spool": {"dir": str(tmp_path / "absent"), "token": "t"}}), 3, text) == text  # type: ignore[arg-type]
    assert _ship(_Process(), 3, text) == text  # type: ignore[arg-type]
    assert _received(controller, text) == text  # type: ignore[arg-type]

    # the controller reads parts from its own spool only
    elsewhere = tmp_path / "part-1-1.json"
    elsewhere.write_text("{}", encoding="utf-8")
    with pytest.raises(ValueError, match="outside this run's spool"):
        _received(controller, {"file": str(elsewhere)})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="outside this run's spool"):
        _received(controller, {"file": str(spool / "token")})  # type: ignore[arg-type]
    assert elsewhere.exists() and (spool / "token").exists()
