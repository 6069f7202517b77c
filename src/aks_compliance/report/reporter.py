"""The end of a run: which results were reported, the exit-status gate, every output file, the terminal summary.

Registered by the plugin on every process; only the controller (not a pytest-xdist worker) writes. Each
output is written on its own: one that cannot be written (a directory, a read-only place) is named on
the terminal and makes the run exit with the usage-error status, and the others are still written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

from ..atomic import is_stream
from ..results import Result
from ..scan import collector_paused
from ..stash import CRASH_KEY, GATE_KEY, INTERRUPTED_KEY, OUTPUT_FAULTS_KEY, RAN_KEY, RUN_KEY, \
    interrupted_while_scanning, is_worker, options
from ..jobs import can_fork
from . import background
from .common import gate

# (option dest, label, writer module, writer function)
OUTPUTS: tuple[tuple[str, str, str, str], ...] = (
    ("results_json", "results JSON", "aks_compliance.results", "write_results"),
    ("audit_report", "audit report", "aks_compliance.report.html", "write_report"),
    ("sarif", "SARIF", "aks_compliance.report.sarif", "write_sarif"),
    ("csv", "CSV matrix", "aks_compliance.report.csv_matrix", "write_csv"),
)

INPUT_HELP = ("aks-compliance: no input given, nothing to check. Give input with --arm PATH (a template, "
              "export or REST resource JSON, or a directory of them; repeatable), optionally with "
              "--arm-parameters FILE and --arm-param NAME=VALUE; or Kubernetes objects with --k8s PATH (manifests "
              "or a snapshot), or a live cluster with --kube-context NAME / --kubeconfig FILE; or live Azure with "
              "--azure-subscription ID --azure-resource-group NAME, --azure-cluster RESOURCE_ID or --azure-scope "
              "management-group:ID (snapshotted first; re-check a snapshot offline with --arm FILE).")


# outputs pytest and its plugins write themselves: (option dest, label)
PYTEST_OUTPUTS = (("xmlpath", "JUnit XML"), ("htmlpath", "pytest-html report"))


def unwritable(path: str) -> str | None:
    """Why a file cannot be written at ``path`` (None when it can): tried by creating a file beside it."""
    import os
    import tempfile

    try:
        target = Path(path)
        if target.is_dir():
            return "is a directory"
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".aksc-check-")
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        return exc.strerror or str(exc)
    except ValueError as exc:  # a NUL in the path
        return str(exc)
    return None


def refuse_unwritable_pytest_outputs(config: pytest.Config) -> None:
    """Leave out (and name, for the session's end) an output of pytest's own writers that cannot be written:
    they would raise at session end, after or instead of ours, with a traceback and exit status 1."""
    if is_worker(config):
        return
    for dest, label in PYTEST_OUTPUTS:
        path = getattr(config.option, dest, None)
        why = unwritable(path) if path else None
        if why:
            setattr(config.option, dest, None)
            config.stash.setdefault(OUTPUT_FAULTS_KEY, []).append((label, path, why))


# options naming files the scan reads: an output given one of their paths would overwrite the input
_INPUT_OPTIONS = ("arm", "arm_parameters", "k8s", "waivers", "attestations", "control_config", "overlay",
                  "kubeconfig", "controls_path")


def refuse_colliding_outputs(config: pytest.Config) -> None:
    """Leave out (and name) an output whose path is an input's (``--results-json main.json --arm main.json``
    replaced the template) or another output's (``--csv r.json --results-json r.json``: one silently replaced
    the other), whatever the spelling (``./r.json``, ``sub/../r.json``, a symlinked directory). The first of two
    outputs is written. Streams (``/dev/null``, ``/dev/stdout``) may take any number of outputs."""
    if is_worker(config):
        return
    inputs: dict[str, str] = {}
    for dest in _INPUT_OPTIONS:
        given = getattr(config.option, dest, None)
        for path in [given] if isinstance(given, str) else list(given or ()):
            for part in {path, path.partition("=")[2]} - {""}:  # --arm-parameters [TEMPLATE=]FILE
                inputs.setdefault(_same_file_key(part), "--" + dest.replace("_", "-"))
    seen: dict[str, str] = {}
    for dest, label in [(d, lab) for d, lab, _, _ in OUTPUTS] + list(PYTEST_OUTPUTS):
        path = getattr(config.option, dest, None)
        if not path or is_stream(Path(path)):
            continue
        key = _same_file_key(path)
        why = (f"is an input of this scan ({inputs[key]}), not overwritten" if key in inputs else
               f"is also the {seen[key]}'s path: each output needs a file of its own" if key in seen else None)
        if why:
            setattr(config.option, dest, None)
            config.stash.setdefault(OUTPUT_FAULTS_KEY, []).append((label, path, why))
        else:
            seen[key] = label


def _same_file_key(path: str) -> str:
    import os
    try:
        return os.path.normcase(os.path.realpath(path))
    except (OSError, ValueError):  # a NUL in the name: compared as written (the writer names the fault)
        return path


def _writer(module: str, name: str) -> Callable[[str, dict[str, Any]], None]:
    import importlib
    return getattr(importlib.import_module(module), name)


class Reporter:
    """Session-end reporting; keeps which results ran (under xdist, as the controller sees reports)."""

    def __init__(self, config: pytest.Config, get_run: Callable[[pytest.Config], Any]) -> None:
        self.config = config
        self.get_run = get_run
        self.other_failures = 0  # failures of tests that are not controls: --fail-on never hides them
        self.failed_outputs: list[tuple[str, str, str]] = []  # (label, path, why)
        self.written: list[tuple[str, str]] = []
        self.ran_targets: set[str] = set()  # labels of targets reported as one item (all their results ran)
        self._ran: tuple[tuple[int, int, int], list[Result]] | None = None  # ran(), for what had been reported
        self._background: list[tuple[str, str, background.Background]] = []  # (label, path, child) writing
        self._order: dict[str, int] = {}  # output label -> its place in the list of what was written

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        from _pytest.junitxml import xml_key
  # pytest keeps its JUnit writer under this stash key

        xml = self.config.stash.get(xml_key, None)  # JUnit XML: the run id as a test-suite property
        if xml is not None and not is_worker(self.config):
            xml.add_global_property("aks_compliance_run_id", options(self.config).run_id or "")

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        key = getattr(report, "aksc_key", None)
        if key is None:
            if report.failed:
                self.other_failures += 1
            return
        if report.when in ("setup", "call"):
            # a target item: all the results of the target (not aksc_target, which pytest-html's column sets on
            # result items too: an error result, one setup report, was then lost from every output)
            target = getattr(report, "aksc_all_of", None)
            if target is not None:
                self.ran_targets.add(target)
            else:
                self.config.stash[RAN_KEY].add(key)
        if report.when != "call" and report.passed:
            # pytest's terminal reporter keeps every passing setup/teardown report and scans them all
            # once per failure to find teardown output (quadratic: minutes at 10k failures). Our
            # items have no setup or teardown output, so those reports need not be kept.
            terminal = self.config.pluginmanager.get_plugin("terminalreporter")
            kept = terminal.stats.get("") if terminal is not None else None
            if kept and kept[-1] is report:
                kept.pop()

    def ran(self) -> list[Result]:
        """The results whose items were reported. Asked three times at the end of a session (the gate, the
        outputs, the summary): computed once for what has been reported (a key per result: 0.3 s at 325,000)."""
        run = self.get_run(self.config)
        keys, targets = self.config.stash[RAN_KEY], self.ran_targets
        state = (id(run), len(keys), len(targets))
        if self._ran is not None and self._ran[0] == state:
            return self._ran[1]
        # a result's key is made when read: not made when no result item was reported (target items)
        ran = [r for r in run.results if (keys and r.key in keys)
               or (targets and r.control_id is not None and r.label in targets)]
        self._ran = (state, ran)
        return ran

    @pytest.hookimpl(tryfirst=True)  # before pytest's own writers (JUnit XML, pytest-html): one failing
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:  # must not cost ours
        config = self.config
        if is_worker(config) or not options(config).has_input:
            return
        faults = config.stash.get(OUTPUT_FAULTS_KEY, [])
        self.failed_outputs.extend(f for f in faults if f not in self.failed_outputs)
        try:
            self._finish(session, exitstatus)
        except KeyboardInterrupt:  # SIGTERM or Ctrl-C while writing: the output being written is removed with
            # its temporary (atomic.py), those not reached are named; an interrupted run, never a traceback
            self.stop_background()
            done = {p for _, p in self.written} | {p for _, p, _ in self.failed_outputs}
            self.failed_outputs.extend((label, config.getoption(dest), "not written: the run was interrupted")
                                       for dest, label, _, _ in OUTPUTS
                                       if config.getoption(dest) and config.getoption(dest) not in done)
            session.exitstatus = pytest.ExitCode.INTERRUPTED
            return
        self._settle(session)

    def _settle(self, session: pytest.Session) -> None:
        if CRASH_KEY in self.config.stash:  # a writer crashed: an internal error
            session.exitstatus = pytest.ExitCode.INTERNAL_ERROR
        if self.failed_outputs and session.exitstatus not in (pytest.ExitCode.INTERNAL_ERROR,
                                                              pytest.ExitCode.INTERRUPTED):
            session.exitstatus = pytest.ExitCode.USAGE_ERROR

    # after pytest's own writers (JUnit XML, pytest-html) and before the terminal summary (a hook wrapper's
    # second half): the output written by a forked child is waited for here
    @pytest.hookimpl(trylast=True, specname="pytest_sessionfinish")  # pytest reads only pytest_* names
    def pytest_sessionfinish_join(self, session: pytest.Session) -> None:
        if not self._background:
            return
        try:
            self.join_all()
        except KeyboardInterrupt:
            session.exitstatus = pytest.ExitCode.INTERRUPTED
            return
        self._settle(session)

    def join_all(self) -> None:
        """Wait for the outputs written by forked children: each is written or named as not written."""
        while self._background:
            label, path, child = self._background[0]
            try:
                fault = child.join()
            except BaseException:
                self.stop_background()
                raise
            self._background.pop(0)
            if fault is None:
                self.written.append((label, path))
                self.written.sort(key=lambda w: self._order.get(w[0], len(self._order)))
                continue
            kind, message = fault
            self.failed_outputs.append((label, path, message))
            if kind == "internal":
                self.config.stash[CRASH_KEY] = f"writing the {label} failed: {message}"
            elif kind == "interrupted":
                raise KeyboardInterrupt(message)

    def stop_background(self) -> None:
        """An interrupted run: children still writing are stopped (their temporaries removed) and named."""
        for label, path, child in self._background:
            child.terminate()
            self.failed_outputs.append((label, path, "not written: the run was interrupted"))
        self._background.clear()

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.stop_background()  # never left running when a session ended early (another plugin raised)

    def _finish(self, session: pytest.Session, exitstatus: int) -> None:
        config = self.config
        if CRASH_KEY in config.stash:  # the scan crashed: nothing to write; an internal error, never "failed"
            session.exitstatus = pytest.ExitCode.INTERNAL_ERROR
            return
        if INTERRUPTED_KEY not in config.stash and exitstatus == pytest.ExitCode.INTERRUPTED \
                and RUN_KEY not in config.stash:  # under xdist: interrupted before the shards were merged
            reported = len(config.stash[RAN_KEY]) + len(self.ran_targets)
            config.stash[INTERRUPTED_KEY] = (
                f"interrupted before the workers' results were merged ({reported} items reported): no output was "
                "written" if reported else interrupted_while_scanning("interrupted"))
        if INTERRUPTED_KEY in config.stash:  # stopped while scanning: stop now, never scan again to write outputs
            session.exitstatus = pytest.ExitCode.INTERRUPTED
            return
        run = self.get_run(config)
        ran = self.ran()
        severity = {c.id: c.severity.value for c in run.catalog}
        fail_on, fail_on_unknown = config.getoption("fail_on"), config.getoption("fail_on_unknown")
        g = config.stash[GATE_KEY] = gate(((r, r.outcome.value, severity.get(r.control_id or "")) for r in ran),
                                          fail_on or "info", fail_on_unknown)
        if (fail_on or fail_on_unknown) and not self.other_failures and \
                session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
            # pytest says 1 for any failed item; the threshold decides instead (waived items are xfail: 0)
            session.exitstatus = pytest.ExitCode.TESTS_FAILED if g.fails else pytest.ExitCode.OK
        wanted = [(label, config.getoption(dest), module, fn) for dest, label, module, fn in OUTPUTS
                  if config.getoption(dest)]
        if not wanted:
            return
        doc = run.document_for(ran, lazy=True)  # the results JSON (first) is written without a copy of them
        doc["run"] = {**doc.get("run", {}), "selection": self.selection(session, exitstatus, len(ran), len(run.results),
                                                                         run.narrowed)}
        if fail_on or fail_on_unknown:  # what decided the exit status, for the auditor
            doc["run"] = {**doc.get("run", {}), "options": {**doc.get("run", {}).get("options", {}),
                                                            "fail_on": fail_on or "info", "fail_on_unknown": fail_on_unknown}}
        if any(fn != "write_results" for _, _, _, fn in wanted):  # the reports read them more than once:
            doc["results"] = doc["results"].made()  # read-only views made once, the results JSON from the results
        with collector_paused():  # writing makes millions of short-lived objects and no garbage cycles
            self._write(config, doc, wanted)  # an interrupt while writing: pytest_sessionfinish says what was not
        if CRASH_KEY in config.stash:  # a writer crashed (an output that cannot be written: pytest_sessionfinish)
            session.exitstatus = pytest.ExitCode.INTERNAL_ERROR

    def _write(self, config: pytest.Config, doc: dict[str, Any], wanted: list[tuple[str, Any, str, str]]) -> None:
        # the files the scan read, found in directories too (--arm . --results-json infra/main.json): the paths
        # given were compared when the run started (refuse_colliding_outputs), these only once they were read
        read = {_same_file_key(i["path"]) for i in doc.get("inputs") or ()
                if isinstance(i, dict) and isinstance(i.get("path"), str)}
        self._order = {label: n for n, (label, *_) in enumerate(wanted)}
        # the auditor report of a large run is written by a forked child beside the others (background.py),
        # started first so that it overlaps everything else written at the end of the session
        fork = can_fork() and len(doc.get("results") or ()) >= background.FORK_MIN_RESULTS
        for label, path, module, fn in sorted(wanted, key=lambda w: not (fork and w[3] == "write_report")):
            if _same_file_key(path) in read and not is_stream(Path(path)):
                self.failed_outputs.append((label, path, "is a file this scan read (an input), not overwritten"))
                continue
            try:
                if Path(path).is_dir():
                    raise IsADirectoryError(f"{path} is a directory")
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                writer = _writer(module, fn)
                if fork and fn == "write_report" and not is_stream(Path(path)):
                    self._background.append((label, path, background.Background(
                        lambda writer=writer, path=path: writer(path, doc))))
                    continue
                writer(path, doc)
                self.written.append((label, path))
            except OSError as exc:  # a directory, a read-only place, /proc: the user's path, a usage error
                self.failed_outputs.append((label, path, exc.strerror or str(exc)))
            except Exception as exc:  # a bug of ours: the other outputs are still written, the run exits 3
                self.failed_outputs.append((label, path, f"internal error: {type(exc).__name__}: {exc}"))
                config.stash[CRASH_KEY] = f"writing the {label} failed: {type(exc).__name__}: {exc}"

    def selection(self, session: pytest.Session, exitstatus: int, reported: int, computed: int,
                  narrowed_by_run: list[str] = ()) -> dict[str, Any]:  # type: ignore[assignment]
        """Whether every result of the scan was reported, and if not, what narrowed the run: a partial run
        says so in every output, never passes for a complete one (a shard, --aksc-shard, is one)."""
        config = self.config
        narrowed: list[str] = list(narrowed_by_run)
        controls = options(config).controls
        if controls:
            narrowed.append(f"--controls {','.join(controls)}")
        if getattr(config.option, "keyword", ""):
            narrowed.append(f"-k {config.option.keyword}")
        if getattr(config.option, "markexpr", ""):
            narrowed.append(f"-m {config.option.markexpr}")
        for d in getattr(config.option, "deselect", None) or ():
            narrowed.append(f"--deselect {d}")
        if getattr(config.option, "collectonly", False):
            narrowed.append("--collect-only (nothing reported)")
        if session.shouldfail or session.shouldstop:
            narrowed.append(f"stopped early ({session.shouldfail or session.shouldstop})")
        if exitstatus == pytest.ExitCode.INTERRUPTED:
            narrowed.append("interrupted")
        if reported < computed and not narrowed:
            narrowed.append(f"only {reported} of {computed} results were reported")
        return {"complete": not narrowed and reported == computed, "narrowed_by": narrowed,
                "results_reported": reported, "results_computed": computed}

    def pytest_terminal_summary(self, terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
        from ..stash import NO_INPUT_KEY

        tr = terminalreporter
        if not options(config).has_input:
            if config.stash.get(NO_INPUT_KEY, False):
                tr.write_line(INPUT_HELP, yellow=True)
            return
        if is_worker(config):
            return
        crash = config.stash.get(CRASH_KEY, None)
        if crash and RUN_KEY not in config.stash:
            tr.write_line(f"aks-compliance: internal error: {crash} (exit status 3)", red=True, bold=True)
            return
        if INTERRUPTED_KEY in config.stash and RUN_KEY not in config.stash:
            tr.write_line(f"aks-compliance: {config.stash[INTERRUPTED_KEY]}", red=True, bold=True)
            return
        from .terminal import write_summary
        write_summary(tr, self.get_run(config), self.ran(), config.stash.get(GATE_KEY, None),
                      bool(config.getoption("fail_on") or config.getoption("fail_on_unknown")), self.written)
        for label, path, why in self.failed_outputs:
            tr.write_line(f"{label} NOT written: {path}: {why}", red=True)
        run = self.get_run(config)
        ran = len(self.ran())
        session = getattr(tr, "_session", None)
        if session is not None:
            sel = self.selection(session, exitstatus, ran, len(run.results), run.narrowed)
            if not sel["complete"]:
                tr.write_line(f"PARTIAL RUN: {ran} of {len(run.results)} results reported; narrowed by "
                              f"{'; '.join(sel['narrowed_by'])}", yellow=True, bold=True)
        if crash:
            tr.write_line(f"aks-compliance: internal error: {crash} (exit status 3)", red=True, bold=True)
        tr.write_line(f"run id {run.meta.get('id', '?')}")


__all__ = ["INPUT_HELP", "OUTPUTS", "Reporter"]
