"""One scan: read the inputs, build targets, evaluate every control once."""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence

from .version import __version__
from .diagnostics import Declaration, Diagnostic, Ledger, build_ledger
from .controls import CATALOG_VERSION, Catalog, load_catalog
from .engine import Evaluation
from .controls.document import control_document
from .family import LoadContext
from .results import Outcome, Result, TargetRef, results_document
from .run_metadata import run_metadata
from .sources import FAMILIES, InputFamily, SourceResult, family_named, family_of
from .targets import Target
from .waivers import Governance, decide, load_governance, register

if TYPE_CHECKING:
    from .progress import Progress


@dataclass
class ScanOptions:
    """What one scan reads and how: each input family's options, and what is common to all of them."""

    # Each input family's options (ArmOptions, K8sOptions, AzureOptions, ...), by family name; a list of
    # options objects is accepted and keyed by the family they belong to.
    inputs: dict[str, Any] | list[Any] = field(default_factory=dict)
    controls: list[str] | None = None  # control ids to run (default: every control of the catalog)
    control_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    # ISO time the run started: utcNow() in templates evaluates to it, so every process of one run
    # (pytest-xdist workers) computes the same names; None means now.
    started: str | None = None
    # One id per run, on every output it writes (results JSON, reports, SARIF, CSV, JUnit), so a reader can
    # tell a set of files from one run from a mix of two; every process of one run shares it. None: new.
    run_id: str | None = None
    waivers_file: str | None = None  # waivers.py: applied after evaluation
    attestations_file: str | None = None
    governance: Governance | None = None  # the files above, already loaded (the plugin validates them early)
    # The catalog of this run (built-ins, the user's controls, overlays): loaded once by the caller and
    # passed along; None means the built-in controls.
    catalog: Catalog | None = None
    # Told how far the evaluation is (progress.py: a line on the terminal); not part of what is scanned.
    progress: Progress | None = field(default=None, repr=False, compare=False)
    # Processes evaluating the targets (jobs.run_scan_in_jobs: forked after reading, results merged); not part
    # of what is scanned.
    jobs: int = field(default=1, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.inputs, (list, tuple)):
            self.inputs = {family_of(o).name: o for o in self.inputs}

    def input(self, family: str) -> Any:
        """The options of one family (its defaults when none were given)."""
        opts = self.inputs.get(family)
        if opts is None:
            opts = self.inputs[family] = family_named(family).options_type()
        return opts

    @property
    def has_input(self) -> bool:
        return any(f.has_input(self.inputs[f.name]) for f in FAMILIES if f.name in self.inputs)

    def full_catalog(self) -> Catalog:
        return self.catalog if self.catalog is not None else load_catalog()


@dataclass
class ScanRun:
    started: str
    catalog: Catalog
    inputs: list[dict[str, Any]]
    targets: list[Target]
    results: list[Result]
    diagnostics: list[Diagnostic]
    declarations: list[Declaration]
    governance: Governance = field(default_factory=Governance)  # waiver/attestation register
    meta: dict[str, Any] = field(default_factory=dict)  # who ran, scope, options (run_metadata.py)
    ledger: Ledger = field(default_factory=Ledger)  # every object read: evaluated or why not
    # Sections of the results document taken as they are, not computed from the fields above: a run merged
    # from shards (shards.py) holds what the shards wrote (controls, catalog, coverage, declarations, ...).
    sections: dict[str, Any] = field(default_factory=dict)
    target_total: int | None = None  # targets of the run when ``targets`` does not hold them (merged runs)
    shard: dict[str, Any] | None = None  # a shard run (--aksc-shard K/N): which one, for the document
    # What made this run less than the whole scan, beside what pytest narrowed ("shard 2 of 4", shards a
    # crashed worker did not send): the selection in every output names it.
    narrowed: list[str] = field(default_factory=list)

    def __repr__(self) -> str:  # short: every result and target of a run is in it (tracebacks show reprs)
        return f"ScanRun({self.target_count} targets, {len(self.results)} results)"

    @property
    def target_count(self) -> int:
        return self.target_total if self.target_total is not None else len(self.targets)

    def document(self) -> dict[str, Any]:
        return self.document_for(self.results)

    def document_for(self, results: list[Result], lazy: bool = False) -> dict[str, Any]:
        """The results document of ``results`` (those reported); ``lazy``: its results made when read
        (``ResultDicts``: the results JSON of a large run is written without a copy of every result)."""
        fixed = self.sections

        def section(name: str, compute: Any) -> Any:
            return fixed[name] if name in fixed else compute()

        doc = results_document(
            tool_version=__version__, started=self.started, inputs=self.inputs,
            controls=section("controls", lambda: [control_document(c) for c in self.catalog]), results=results,
            extra={"catalog_version": section("catalog_version", lambda: CATALOG_VERSION), "run": self.meta,
                   "catalog": section("catalog", lambda: self.catalog.scope_document()),
                   **self.governance.document(dt.date.fromisoformat(self.started[:10])),
                   "diagnostics": [d.as_dict() for d in self.diagnostics],
                   "declarations": section("declarations", lambda: [d.__dict__ for d in self.declarations]),
                   "coverage": section("coverage", self.ledger.document)}, lazy=lazy)
        if self.shard is not None:  # a shard's document (shards.py): the key of each result it holds
            doc["shard"] = {**self.shard, "keys": [r.key for r in results]}
        return doc

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]


def error_results(diagnostics: list[Diagnostic], keep: Callable[[Diagnostic], bool] | None = None) -> list[Result]:
    """One result per error diagnostic, keyed by file and line (numbered when several share them); ``keep``
    picks some (a shard reports those it owns) without changing the keys."""
    out: list[Result] = []
    seen: dict[str, int] = {}
    for d in diagnostics:
        if d.severity != "error":
            continue
        base = f"input-error-{Path(d.file).name}" + (f":{d.line}" if d.line else "")
        n = seen.get(base, 0)
        seen[base] = n + 1
        if keep is not None and not keep(d):
            continue
        key = base if not n else f"{base}#{n + 1}"
        ref = TargetRef(type="file", name=d.file, file=d.file, pointer=d.pointer or None, line=d.line)
        out.append(Result(None, ref, Outcome.ERROR, f"{d.where()}: {d.message}", [], label=key))
    return out


def recorded_options(options: ScanOptions) -> dict[str, Any]:
    """What the results document records of the options: common ones and each family's (no secret values)."""
    out: dict[str, Any] = {"controls": options.controls, "control_params": options.control_params}
    for f in FAMILIES:
        if f.name in options.inputs:
            out.update(f.recorded_options(options.inputs[f.name]))
    return out


def run_scan(options: ScanOptions) -> ScanRun:
    """Read, evaluate every target, apply governance: the whole run in this process."""
    with collector_paused():
        return _run_scan(options)


def _run_scan(options: ScanOptions) -> ScanRun:
    prepared = prepare_scan(options)
    return prepared.run(prepared.evaluate(range(len(prepared.targets)), options.progress))


@contextlib.contextmanager
def collector_paused(freeze: bool = False) -> Iterator[None]:
    """The cyclic garbage collector off while a scan builds millions of small objects that live to its end
    (it would traverse them again and again: a third of the time at 100,000 results); reference counting
    still frees what dies. ``freeze``: what exists at the end is moved out of the collector's reach before
    it runs again (gc.freeze), so it never traverses the run: for a process whose run lives to its end
    (pytest), not for one that scans again and again (nothing frozen is ever collected)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if enabled:
            gc.enable()


@dataclass
class Evaluated:
    """What evaluating some targets gave: their results (governance decided), the number of results of each
    target, and the diagnostics found while evaluating (a template body expanded on first use reports its
    expression errors then), each with the family and the target it was found at."""

    results: list[Result] = field(default_factory=list)
    targets: list[tuple[int, int]] = field(default_factory=list)  # (target index, results) in target order
    found: list[tuple[int, int, Diagnostic]] = field(default_factory=list)  # (family, target index, diagnostic)

    def __repr__(self) -> str:
        return f"Evaluated({len(self.targets)} targets, {len(self.results)} results)"


@dataclass
class PreparedScan:
    """A scan with its inputs read and its targets built, nothing evaluated yet. Evaluating a target depends
    on the complete inputs, which every process of a sharded run reads, so any subset of the targets can be
    evaluated here and gets exactly the results a whole run gives them (shards.py)."""

    options: ScanOptions
    started: dt.datetime
    full: Catalog
    catalog: Catalog
    loaded: list[tuple[InputFamily, SourceResult]]
    targets: list[Target]
    owner: list[int]  # per target: the index in ``loaded`` of the family that built it
    evaluation: Evaluation
    governance: Governance
    loaded_diagnostics: list[int]  # per family: its diagnostics after reading, before any evaluation
    _ledger: Ledger | None = None
    _meta: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"PreparedScan({len(self.targets)} targets, {len(self.catalog)} controls)"

    def shard_keys(self) -> list[str]:
        """Each target's partition key (its family's ``shard_key``): shards.py hashes it."""
        return [self.loaded[f][0].shard_key(t) for f, t in zip(self.owner, self.targets)]

    def evaluate(self, indices: Sequence[int], progress: Progress | None = None) -> Evaluated:
        out = Evaluated()
        lists = [r.diagnostics for _, r in self.loaded]
        sizes = [len(d) for d in lists]
        if progress is not None:
            progress.start(len(indices))
        for n, i in enumerate(indices):
            if progress is not None and not n & 63:
                progress.update(n)
            results = self.evaluation.evaluate(self.targets[i])
            out.results.extend(results)
            out.targets.append((i, len(results)))
            for f, diagnostics in enumerate(lists):
                if len(diagnostics) != sizes[f]:
                    out.found.extend((f, i, d) for d in diagnostics[sizes[f]:])
                    sizes[f] = len(diagnostics)
        if progress is not None:
            progress.finish(len(indices))
        for annotate in (a for _, r in self.loaded for a in r.annotators):
            annotate(out.results, self.catalog)
        for f, diagnostics in enumerate(lists):  # found after the last target: reported after its own
            out.found.extend((f, len(self.targets), d) for d in diagnostics[sizes[f]:])
        decide(self.governance, out.results, [c.id for c in self.catalog], self.started.date())
        return out

    def diagnostics(self, found: Iterable[tuple[int, int, Diagnostic]]) -> list[Diagnostic]:
        """The run's diagnostics in the order one process reports them: each family's from reading, then those
        found while evaluating (by target)."""
        by_family: dict[int, list[Diagnostic]] = {}
        for f, _, d in sorted(found, key=lambda x: (x[0], x[1])):
            by_family.setdefault(f, []).append(d)
        out: list[Diagnostic] = []
        for f, (_, r) in enumerate(self.loaded):
            out.extend(r.diagnostics[: self.loaded_diagnostics[f]])
            out.extend(by_family.get(f, ()))
        return out

    def control_counts(self) -> dict[str, int]:
        """Results per target label, known before evaluating: one per control that applies."""
        return {t.label: len(self.evaluation.controls_for(t)) for t in self.targets}

    def ledger(self) -> Ledger:
        if self._ledger is None:
            self._ledger = build_ledger(self.targets, self.control_counts(),
                                        (e for _, r in self.loaded for e in r.coverage))
        return self._ledger

    def meta(self) -> dict[str, Any]:
        if self._meta is None:
            self._meta = {"id": self.options.run_id or str(uuid.uuid4()),
                          **run_metadata(self.options, self.targets, recorded_options(self.options))}
        return dict(self._meta)

    def run(self, evaluated: Evaluated, owns: Callable[[Diagnostic], bool] | None = None) -> ScanRun:
        """The run of what was evaluated: diagnostics in order, input errors as results (``owns`` picks which:
        a shard reports those it owns), the register over its results, the ledger and the run metadata."""
        diagnostics = self.diagnostics(evaluated.found)
        results = evaluated.results + error_results(diagnostics, owns)
        today = self.started.date()
        register(self.governance, results, [c.id for c in self.catalog], today)
        diagnostics.extend(self.governance.diagnostics)
        return ScanRun(started=self.started.isoformat(timespec="seconds"), catalog=self.catalog,
                       inputs=[i for _, r in self.loaded for i in r.inputs], targets=self.targets, results=results,
                       diagnostics=diagnostics, declarations=[d for _, r in self.loaded for d in r.declarations],
                       governance=self.governance, meta=self.meta(), ledger=self.ledger())


def prepare_scan(options: ScanOptions) -> PreparedScan:
    """Read every input and build every target (bodies of template resources stay unexpanded until used)."""
    started = dt.datetime.fromisoformat(options.started) if options.started else dt.datetime.now(dt.timezone.utc)
    full = options.full_catalog()
    catalog = full.select(options.controls)
    context = LoadContext(started=started, control_params=options.control_params, catalog=catalog)
    loaded: list[tuple[InputFamily, SourceResult]] = []
    for f in FAMILIES:
        if f.name in options.inputs:
            r = f.load(options.inputs[f.name], context)
            if r is not None:
                loaded.append((f, r))
    targets: list[Target] = []
    owner: list[int] = []
    for n, (_, r) in enumerate(loaded):
        targets.extend(r.targets)
        owner.extend([n] * len(r.targets))
    governance = options.governance if options.governance is not None else \
        load_governance(options.waivers_file, options.attestations_file, full, started.date())
    return PreparedScan(options=options, started=started, full=full, catalog=catalog, loaded=loaded,
                        targets=targets, owner=owner, evaluation=Evaluation(catalog, options.control_params),
                        governance=governance, loaded_diagnostics=[len(r.diagnostics) for _, r in loaded])
