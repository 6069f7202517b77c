"""The scan under pytest-xdist: workers evaluate shards, the controller merges (shards.py holds the
partition and the merge; this module is the pytest side of it).

Every worker collects the same fixed number of shard items (``ShardItem``: 4 per worker unless
``--aksc-xdist-shards`` says otherwise). A worker reads every input and builds every target once, at
collection; running shard item K evaluates shard K and reports, from the worker, one test report per
result (or per target) under the node id a single process gives it (``test_controls[AKS-012-...]``), so
the terminal, JUnit XML and pytest-html on the controller show the same test cases. Each shard's part of
the results document travels to the controller as JSON text in ``config.workeroutput`` (xdist sends it
when the worker finishes); the controller merges the parts (``merge_shards``) and never computes the
scan itself. Input errors are numbered over the merged diagnostics, so the controller reports them as
items, once, after the workers are done.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any, Callable, TypeVar

import pytest

from .controls import CatalogError
from .controls.config import ControlConfigError
from .items import ResultItem, ShardItem, item_mode, make_items, report_result_item, user_properties
from .option_values import OptionValueError
from .waivers import GovernanceError
from .stash import CRASH_KEY, INTERRUPTED_KEY, OPTIONS_KEY, RUN_KEY, interrupted_while_scanning

if TYPE_CHECKING:
    from .scan import ScanRun
    from .shards import ShardedScan

USAGE_ERRORS = (CatalogError, ControlConfigError, GovernanceError, OptionValueError)

OUTPUT = "aksc"  # the key of the scan's parts in config.workeroutput
HANDOFF = "aksc"  # the controller's hand-off to each worker (workerinput key; plugin.pytest_configure_node)
SHARDS_PER_WORKER = 4  # enough for xdist's load scheduling to even out unequal shards

SPOOL_KEY = pytest.StashKey[dict]()  # controller: the local directory its workers write shard parts into
SHARDED_KEY = pytest.StashKey["ShardedScan"]()  # worker: the prepared, partitioned scan
SHARD_RUNS_KEY = pytest.StashKey[dict]()  # worker: shard index -> its run (a shard is evaluated once)
STATE_KEY = pytest.StashKey[dict]()  # worker: the document sections alike in every shard, first report sent
PARTS_KEY = pytest.StashKey[list]()  # controller: what each worker sent (its workeroutput[OUTPUT])
READ_KEY = pytest.StashKey[dict]()  # controller: shard index -> its part, read as soon as a worker announced it


def sharded_xdist(config: pytest.Config) -> bool:
    """Whether this process takes part in a sharded pytest-xdist run: the controller decides (``--dist each``
    runs every item on every worker, which then computes the whole scan) and tells its workers
    (``pytest_configure_node``: xdist resets a worker's own --dist)."""
    worker_input = getattr(config, "workerinput", None)
    if worker_input is not None:
        return bool((worker_input.get(HANDOFF) or {}).get("sharded"))
    dist = getattr(config.option, "dist", "no")
    if dist in ("no", "each") or getattr(config.option, "collectonly", False):  # xdist collects locally then
        return False
    return bool(getattr(config.option, "tx", None) or getattr(config.option, "numprocesses", None))


def shard_count(config: pytest.Config) -> int:
    wanted = config.getoption("aksc_xdist_shards")
    if wanted:
        return int(wanted)
    workers = int(getattr(config, "workerinput", {}).get("workercount", 1) or 1)
    return SHARDS_PER_WORKER * workers


T = TypeVar("T")


def get_crash_safe(config: pytest.Config, compute: Callable[[pytest.Config], T]) -> T:
    """``compute(config)``: a usage error (a bad catalog, waiver file...) is pytest's usage error; anything
    else is recorded as the scan's crash (exit 3) and raised."""
    try:
        return compute(config)
    except USAGE_ERRORS as exc:
        raise pytest.UsageError(str(exc)) from None
    except KeyboardInterrupt as exc:
        # Ctrl-C or SIGTERM mid-scan: pytest renders an interrupt's traceback with the arguments of every frame
        # (computed in full even when only its last line is shown); raised afresh here, it holds none of the
        # scan's frames, whose arguments are the whole run. Recorded, so that nothing computes the scan again
        config.stash[INTERRUPTED_KEY] = interrupted_while_scanning(str(exc) or "interrupted")
        raise KeyboardInterrupt(*exc.args) from None
    except Exception as exc:
        config.stash[CRASH_KEY] = f"the scan crashed: {type(exc).__name__}: {exc}"
        raise


# ---------------------------------------------------------------------------------------------------
# worker


def prepared(config: pytest.Config) -> "ShardedScan":
    """The worker's scan: every input read and every target built, once (at collection)."""
    sharded = config.stash.get(SHARDED_KEY, None)
    if sharded is None:
        from .scan import collector_paused, prepare_scan
        from .shards import ShardedScan

        with collector_paused(freeze=True):  # the targets live to the end of the worker
            sharded = ShardedScan(prepare_scan(config.stash[OPTIONS_KEY]), shard_count(config))
        config.stash[SHARDED_KEY] = sharded
        config.stash[SHARD_RUNS_KEY] = {}
    return sharded


def shard_items(collector: pytest.Collector, function: str, lineno: int) -> list[pytest.Item]:
    get_crash_safe(collector.config, prepared)
    count = shard_count(collector.config)
    items: list[pytest.Item] = [ShardItem.from_parent(collector, name=f"{function}[aksc-shard-{k + 1}-of-{count}]",
                                                      function=function, shard=k, shards=count, lineno=lineno)
                                for k in range(count)]
    out = _output(collector.config)
    node = items[0]
    location = node.location
    out["functions"].append({"nodeid": f"{collector.nodeid}::{function}", "path": str(node.path),
                             "location": [location[0], location[1]], "function": function, "lineno": lineno})
    return items


def _output(config: pytest.Config) -> dict[str, Any]:
    return config.workeroutput.setdefault(OUTPUT, {"common": None, "shards": {}, "functions": []})  # type: ignore[attr-defined]


def shard_run(config: pytest.Config, shard: int) -> "ScanRun":
    """Shard ``shard`` evaluated (once per worker, whatever number of control functions report it); its
    part of the document is put in the worker's output for the controller."""
    runs: dict[int, ScanRun] = config.stash[SHARD_RUNS_KEY]
    run = runs.get(shard)
    if run is not None:
        return run
    from .scan import collector_paused
    from .shards import part_json

    sharded = prepared(config)
    with collector_paused(freeze=True):
        out = _output(config)
        state = config.stash.setdefault(STATE_KEY, {})
        # the sections alike in every shard are computed for the first one; the controller numbers input errors
        run, common, part = sharded.part(shard, sections=state.get("sections"))
        if out["common"] is None:
            out["common"] = json.dumps(common, ensure_ascii=False)
            state["sections"] = {k: common[k] for k in ("controls", "catalog_version", "catalog", "declarations",
                                                        "coverage") if k in common}
        out["shards"][str(shard)] = _ship(config, shard, part_json(part, run.results))
    runs[shard] = run
    return run


def spool_for(config: pytest.Config) -> dict[str, str]:
    """Controller: a private directory its workers write their shard parts into, with a token that tells a
    worker it shares this file system. A part is hundreds of megabytes at fleet scale: through execnet it
    is serialised, piped and unserialised at the end of the run, where nothing else runs beside it; a
    file costs a write and a read. Removed when the session ends."""
    spool = config.stash.get(SPOOL_KEY, None)
    if spool is None:
        import shutil
        import tempfile
        import uuid

        directory = tempfile.mkdtemp(prefix="aksc-shards-")
        token = uuid.uuid4().hex
        with open(os.path.join(directory, "token"), "w", encoding="ascii") as fh:
            fh.write(token)
        spool = config.stash[SPOOL_KEY] = {"dir": directory, "token": token}
        config.add_cleanup(lambda: shutil.rmtree(directory, ignore_errors=True))
    return spool


def _ship(config: pytest.Config, shard: int, text: str) -> Any:
    """A shard's part as the worker output carries it: the name of the file holding it when the worker shares
    the controller's file system (the spool's token reads back), else the text itself (a remote --tx worker)."""
    spool = (getattr(config, "workerinput", {}).get(HANDOFF) or {}).get("spool") or {}
    directory = spool.get("dir")
    try:
        with open(os.path.join(directory, "token"), encoding="ascii") as fh:
            local = fh.read() == spool.get("token")
    except (OSError, TypeError):
        local = False
    if not local:
        return text
    path = os.path.join(directory, f"part-{shard}-{os.getpid()}.json")
    with open(path, "w", encoding="utf-8", errors="surrogatepass") as fh:
        fh.write(text)
    return {"file": path}


def _received(config: pytest.Config, value: Any) -> str:
    """A part as a worker shipped it (``_ship``), as text; a file only from this run's spool."""
    if not isinstance(value, dict):
        return value
    path = value["file"]
    spool = config.stash.get(SPOOL_KEY, {}).get("dir")
    if not spool or os.path.dirname(path) != spool or not os.path.basename(path).startswith("part-"):
        raise ValueError(f"a worker named a shard part outside this run's spool: {path!r}")
    with open(path, "rb") as fh:
        data = fh.read()
    os.unlink(path)
    return data.decode("utf-8", "surrogatepass")


def run_shard_item(item: ShardItem) -> None:
    """Report shard ``item.shard``'s results as the items one process collects (after -k, -m, --deselect
    and other plugins' selection), one by one."""
    config = item.config
    session = item.session
    run = get_crash_safe(config, lambda c: shard_run(c, item.shard))
    sharded = config.stash[SHARDED_KEY]
    total_results = _total_results(sharded)
    mode = item_mode(config, total_results)
    items = make_items(item.parent, item.function, run.results, run.catalog, item._lineno, mode)  # type: ignore[arg-type]
    if items:
        kept = list(items)
        config.hook.pytest_collection_modifyitems(session=session, config=config, items=kept)
        items = kept
    state = config.stash.setdefault(STATE_KEY, {})
    shipped = _output(config)["shards"].get(str(item.shard))
    if items and isinstance(shipped, dict):  # spooled: the controller can read it while the workers go on
        items[0].aksc_part = {"shard": item.shard, **shipped}  # type: ignore[attr-defined]
    if items and not state.get("total_sent"):  # the first report tells the controller how many to expect
        state["total_sent"] = True
        items[0].aksc_total = _total_items(sharded, mode)  # type: ignore[attr-defined]
    # xdist's worker checks that each report is of the item it runs (session.items[its index], by node id):
    # each result's item stands in the shard item's place while it is reported
    index = session.items.index(item)
    try:
        for it in items:
            session.items[index] = it
            report_result_item(it, run.catalog)
            if session.shouldfail or session.shouldstop:
                break
    finally:
        session.items[index] = item


def _total_results(sharded: "ShardedScan") -> int:
    """Results of the whole run, known before evaluating: one per (target, control that applies), one per
    input error found reading (errors found while expanding a body are the only ones not counted)."""
    p = sharded.prepared
    errors = sum(1 for f, (_, r) in enumerate(p.loaded) for d in r.diagnostics[: p.loaded_diagnostics[f]]
                 if d.severity == "error")
    return sum(p.control_counts().values()) + errors


def _total_items(sharded: "ShardedScan", mode: str) -> int:
    p = sharded.prepared
    errors = sum(1 for f, (_, r) in enumerate(p.loaded) for d in r.diagnostics[: p.loaded_diagnostics[f]]
                 if d.severity == "error")
    if mode == "target":
        return sum(1 for n in p.control_counts().values() if n) + errors
    return _total_results(sharded)


# ---------------------------------------------------------------------------------------------------
# controller


class Controller:
    """The controller's part (registered on the controller of a sharded run only)."""

    def __init__(self, config: pytest.Config, get_run: Any) -> None:
        self.config = config
        self.get_run = get_run
        self.session: pytest.Session | None = None
        self.finished = 0  # items reported so far

    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        self.finished += 1

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.session = session

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """A worker's first report says how many items the run has (xdist counted the shard items): the
        terminal's progress counts them."""
        total = getattr(report, "aksc_total", None)
        if total and self.session is not None:
            self.session.testscollected = max(self.session.testscollected, total)
        part = getattr(report, "aksc_part", None)
        if isinstance(part, dict):
            read_part(self.config, part)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """A worker finished (or died): keep the shards it sent."""
        out = (getattr(node, "workeroutput", None) or {}).get(OUTPUT)
        if out:
            self.config.stash.setdefault(PARTS_KEY, []).append(out)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Any:
        """Once the workers are done: merge their shards and report the input errors (numbered over every
        shard's diagnostics) as a single process does."""
        result = yield
        if session.shouldfail or session.shouldstop or CRASH_KEY in self.config.stash:
            return result
        try:
            self.get_run(self.config)
        except pytest.UsageError:
            raise
        except Exception:  # recorded as the crash: the reporter says so and exits 3
            return result
        report_input_errors(session, self.finished)
        return result


def merged_run(config: pytest.Config) -> "ScanRun | None":
    """The run merged from the workers' shards; None when no worker sent any (they failed before)."""
    from .run_metadata import who_ran
    from .shards import MergeError, merge_shards, part_of

    outputs = config.stash.get(PARTS_KEY, [])
    commons = [o["common"] for o in outputs if o.get("common")]
    if not commons:
        return None
    if any(c != commons[0] for c in commons[1:]):
        raise MergeError("the workers read different inputs (their documents differ outside the results): "
                         "were the inputs changed during the run?")
    common = json.loads(commons[0])
    parts: dict[int, dict[str, Any]] = dict(config.stash.get(READ_KEY, {}))
    for o in outputs:
        for k, text in o.get("shards", {}).items():
            if int(k) not in parts:  # a shard run twice (a worker replaced) counts once
                parts[int(k)] = part_of(_received(config, text))
    count = next(iter(parts.values()))["shard"]["count"]
    options = config.stash[OPTIONS_KEY]
    run = merge_shards([{**common, **part} for part in parts.values()],
                       catalog=options.full_catalog().select(options.controls), run_id=options.run_id,
                       partial=True)
    run.meta.update(who_ran())  # the controller ran it (workers may be remote: --tx)
    missing = [k + 1 for k in range(count) if k not in parts]
    if missing:
        run.narrowed.append(f"{len(missing)} of {count} shards not run ({', '.join(map(str, missing[:10]))}"
                            f"{' ...' if len(missing) > 10 else ''})")
    return run


def read_part(config: pytest.Config, shipped: dict[str, Any]) -> None:
    """A spooled shard part read as soon as its worker announces it (with the first report of the shard), so
    that the merge after the last worker is left with the last shards only. A part that cannot be read
    here is read from the worker's output at the end (and fails there, with the merge's error)."""
    from .scan import collector_paused
    from .shards import part_of

    parts = config.stash.setdefault(READ_KEY, {})
    shard = shipped.get("shard")
    if not isinstance(shard, int) or shard in parts:
        return
    try:
        with collector_paused(freeze=True):  # the parts live to the end of the run
            parts[shard] = part_of(_received(config, {"file": shipped["file"]}))
    except (OSError, KeyError, TypeError, ValueError):
        return


def report_input_errors(session: pytest.Session, finished: int) -> None:
    """Input errors as items, once, as a single process reports them (their keys are numbered over the
    diagnostics of every shard)."""
    config = session.config
    run = config.stash.get(RUN_KEY, None)
    outputs = config.stash.get(PARTS_KEY, [])
    if run is None or not outputs:
        return
    functions = {f["nodeid"]: f for o in outputs for f in o.get("functions", [])}
    errors = [r for r in run.results if r.control_id is None]
    if not errors or not functions:
        return
    from pathlib import Path

    session.testscollected = finished + len(errors) * len(functions)  # now the count is known
    for f in functions.values():
        base = f["nodeid"]
        for r in errors:
            name = f"{f['function']}[{r.key}]"
            item = ResultItem.from_parent(session, name=name, nodeid=f"{base}[{r.key}]", path=Path(f["path"]),
                                          result=r, lineno=f["lineno"])
            item.__dict__["location"] = (f["location"][0], f["location"][1], name)
            item.user_properties = user_properties(r, run.catalog)
            report_result_item(item, run.catalog)
