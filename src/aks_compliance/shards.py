"""Sharded runs: one scan split over processes (pytest-xdist workers) or machines (a CI matrix), merged into
the document one process would have written.

The *targets* are partitioned, not the reading: every process reads every input and builds every target
(cheap: template bodies are expanded on first use), then evaluates only the targets of its shard. A
target's shard is ``sha256(key) mod N``, the key chosen by its input family (``InputFamily.shard_key``: the
file for ARM templates and manifests, the resource group for live Azure, the namespace for Kubernetes
snapshots), so the assignment is stable across runs and machines. Evaluating a target depends only on the
complete inputs, which every process holds: cross-file joins (diagnostic settings, pools declared as
separate resources, RBAC across objects) see everything, and each result is the one a single process
computes.

A shard's document is a results document (schema v1) with a ``shard`` block: which shard of how many, the
targets it evaluated (index, label), the key of each result, and where each diagnostic came from (read
by every process, or found while evaluating a target: a template body reports expression errors when
it is expanded). ``merge_shards`` checks the shards belong together (each present once, the same inputs,
catalog and coverage, no result twice) and puts the results back in the order of a single-process run;
input errors, the waiver and attestation register and the selection are computed once, over everything.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable

from .diagnostics import Diagnostic, CoverageEntry, Ledger
from .results import COMPACT, Result, TargetRef
from .waivers import Attestation, Governance, Waiver, register

if TYPE_CHECKING:
    from .controls import Catalog
    from .progress import Progress
    from .scan import Evaluated, PreparedScan, ScanRun

PARTITION = ("sha256(key) mod N; key: the file of ARM templates and manifests, the resource group of live "
             "Azure resources, the namespace (or cluster scope) of Kubernetes snapshot objects")
# Sections every shard computes identically from the same inputs: a merge takes them from the first
# shard and refuses shards that differ in any of them.
COMMON = ("schema", "tool", "started", "inputs", "controls", "catalog_version", "run", "catalog", "declarations",
          "coverage")
MUST_AGREE = ("schema", "inputs", "controls", "catalog_version", "catalog", "declarations", "coverage")
SHARD_LABEL = "shard"  # the narrowing a shard's selection names: "shard K of N"
# A part read back from a pytest-xdist worker (distributed.py): (text, start, end) of each result's JSON
# in the worker's text, its target named by an index; a merged result's JSON is that text with the
# target spliced in (byte for byte what one process writes), not encoded again.
SPLICE = "_lines"
# A part evaluated in the merging process itself (jobs.py): its Result objects as they are, not their JSON read back.
LIVE = "_live"


class MergeError(ValueError):
    """Shard documents that do not make one run: the message says which shard and what."""


def shard_of(key: str, count: int) -> int:
    """The shard (0-based) of a partition key among ``count``: stable across processes, runs and machines."""
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") % count


def parse_shard(text: str) -> tuple[int, int]:
    """``K/N`` (1 <= K <= N) -> (K, N)."""
    k, sep, n = text.partition("/")
    try:
        index, count = int(k), int(n)
    except ValueError:
        index = count = 0
    if not sep or count < 1 or not 1 <= index <= count:
        raise ValueError(f"--aksc-shard expects K/N with 1 <= K <= N (e.g. 2/4), got {text!r}")
    return index, count


@dataclass
class ShardedScan:
    """A prepared scan partitioned into ``count`` shards, evaluated shard by shard (each once)."""

    prepared: "PreparedScan"
    count: int
    members: list[list[int]] = field(default_factory=list)  # per shard: its target indexes, in order

    def __post_init__(self) -> None:
        self.members = [[] for _ in range(self.count)]
        for i, key in enumerate(self.prepared.shard_keys()):
            self.members[shard_of(key, self.count)].append(i)

    def evaluate(self, index: int, progress: "Progress | None" = None) -> "Evaluated":
        """Shard ``index`` (0-based): its targets' results, governance decided."""
        return self.prepared.evaluate(self.members[index], progress)

    def part(self, index: int, progress: "Progress | None" = None,
             sections: dict[str, Any] | None = None) -> tuple["ScanRun", dict[str, Any], dict[str, Any]]:
        """Shard ``index`` evaluated for a merge in another process (a pytest-xdist controller, the parent of
        ``--jobs``): its run, the document's sections alike in every shard (``sections``: those already made for
        another shard, reused), and its own part. Input errors are left to the merge, which numbers them over
        every shard."""
        run = self.run(index, self.evaluate(index, progress), input_errors=False)
        if sections is not None:
            run.sections = sections
        common, part = split(run.document_for(run.results, lazy=True))
        return run, common, part

    def run(self, index: int, evaluated: "Evaluated", input_errors: bool = True) -> "ScanRun":
        """Shard ``index``'s own run: its results, with the input errors it owns (``input_errors``: those of
        files that hash to it, and those found evaluating it), and the ``shard`` block a merge needs."""
        prepared = self.prepared

        def owns(d: Diagnostic, found: set[int] = {id(d) for _, _, d in evaluated.found}) -> bool:
            return input_errors and (id(d) in found or shard_of(d.file, self.count) == index)

        run = prepared.run(evaluated, owns=owns)
        origin = {id(d): [f, t] for f, t, d in evaluated.found}
        loaded = {id(d): [f, -1] for f, (_, r) in enumerate(prepared.loaded)
                  for d in r.diagnostics[: prepared.loaded_diagnostics[f]]}
        labels = [prepared.targets[i].label for i, _ in evaluated.targets]
        run.shard = {
            "index": index + 1, "count": self.count, "partition": PARTITION, "targets": len(prepared.targets),
            "evaluated": [[i, label] for (i, _), label in zip(evaluated.targets, labels)],
            "computed": len(evaluated.results),  # control results: the document holds those reported
            # where each diagnostic of the document came from: [family, target] (target -1: from reading;
            # family -1: the shard's register); the document adds the key of each result it holds
            "diagnostics": [origin.get(id(d)) or loaded.get(id(d)) or [-1, -1] for d in run.diagnostics],
        }
        return run


def part_json(part: dict[str, Any], results: list[Any]) -> str:
    """A shard's part as JSON text (what a pytest-xdist worker or a forked job hands over), its results as the results JSON writes them except that each names its
    target by an index into ``targets`` (the results of a target share it: sent once, and the controller
    gets one dict per target back, not one per result). ``lengths``: the length of each result's text,
    so that the controller writes the results JSON from these lines, not encoding them again."""
    index: dict[int, int] = {}
    targets: list[dict[str, Any]] = []
    lines = []
    for r in results:
        n = index.get(id(r.target))
        if n is None:
            n = index[id(r.target)] = len(targets)
            targets.append(r.target.as_dict())
        lines.append(r.as_json(target=str(n)))
    head = json.dumps({k: v for k, v in part.items() if k != "results"}, ensure_ascii=False)
    return "".join((head[:-1], ',"targets":', COMPACT(targets), ',"lengths":', COMPACT([len(x) for x in lines]),
                    ',"results":[', ",".join(lines), "]}"))


def part_of(text: str) -> dict[str, Any]:
    """``part_json`` read back: each result's target the shared dict of its target, and (``SPLICE``) where
    each result's text is in ``text``."""
    part = json.loads(text)
    targets = part.pop("targets", None)
    lengths = part.pop("lengths", None)
    if targets is not None:
        for r in part["results"]:
            r["target"] = targets[r["target"]]
    if lengths is not None and len(lengths) == len(part["results"]):
        end = len(text) - 2  # the results array closes the text: "...]}"
        start = end - sum(lengths) - max(len(lengths) - 1, 0)
        if text.startswith(',"results":[', start - 12) and text.endswith("]}"):
            spans = []
            for n in lengths:
                spans.append((text, start, start + n))
                start += n + 1
            part[SPLICE] = spans
    return part


def split(doc: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A shard document as (what every shard of the run has alike, what is its own): pytest-xdist workers
    send the first once and the second per shard."""
    return ({k: v for k, v in doc.items() if k in COMMON}, {k: v for k, v in doc.items() if k not in COMMON})


# ---------------------------------------------------------------------------------------------------
# merging


def _name(doc: dict[str, Any], fallback: int) -> str:
    return str(doc.get("_source") or f"shard document {fallback + 1}")


def _check(docs: list[dict[str, Any]], partial: bool = False) -> list[dict[str, Any]]:
    """The shard documents ordered by index, after checking they make one run (``partial``: some shards may
    be missing, e.g. a pytest-xdist worker died; the caller says so)."""
    for n, doc in enumerate(docs):
        if not isinstance(doc.get("shard"), dict):
            raise MergeError(f"{_name(doc, n)}: not a shard document (no 'shard' block; shard documents are "
                             "written by a run with --aksc-shard K/N)")
        _check_dates(doc, n)
    counts = {d["shard"].get("count") for d in docs}
    if len(counts) != 1:
        raise MergeError(f"the shards were cut differently: shard counts {sorted(counts)}")
    count = counts.pop()
    seen: dict[int, str] = {}
    for n, doc in enumerate(docs):
        index = doc["shard"].get("index")
        if index in seen:
            raise MergeError(f"shard {index}/{count} given twice: {seen[index]} and {_name(doc, n)}")
        seen[index] = _name(doc, n)
    missing = [k for k in range(1, count + 1) if k not in seen]
    if missing and not partial:
        raise MergeError(f"shard(s) {', '.join(f'{k}/{count}' for k in missing)} missing: every shard of the "
                         f"run is needed once ({len(docs)} of {count} given)")
    ordered = sorted(docs, key=lambda d: d["shard"]["index"])
    first = ordered[0]
    for doc in ordered[1:]:
        k = doc["shard"]["index"]
        for section in MUST_AGREE:
            if doc.get(section) != first.get(section):
                raise MergeError(f"shard {k}/{count} ({_name(doc, k - 1)}) differs from shard 1/{count} in "
                                 f"'{section}': the shards did not read the same inputs with the same catalog")
        if (doc.get("tool") or {}).get("version") != (first.get("tool") or {}).get("version"):
            raise MergeError(f"shard {k}/{count} was written by aks-compliance {doc['tool'].get('version')}, "
                             f"shard 1/{count} by {first['tool'].get('version')}")
        if doc["shard"].get("targets") != first["shard"].get("targets"):
            raise MergeError(f"shard {k}/{count} built {doc['shard'].get('targets')} targets, shard 1/{count} "
                             f"{first['shard'].get('targets')}: not the same inputs")
        if _loaded(doc) != _loaded(first):
            raise MergeError(f"shard {k}/{count} read its inputs with other diagnostics than shard 1/{count}")
    evaluated: dict[int, int] = {}
    for doc in ordered:
        k = doc["shard"]["index"]
        for i, _ in doc["shard"].get("evaluated", []):
            if i in evaluated:
                raise MergeError(f"target {i} was evaluated by shard {evaluated[i]} and shard {k}")
            evaluated[i] = k
    total = first["shard"].get("targets", 0)
    if len(evaluated) != total and not partial:
        raise MergeError(f"the shards evaluated {len(evaluated)} of {total} targets")
    return ordered


def _check_dates(doc: dict[str, Any], n: int) -> None:
    """The times merging computes with (the run's start, the waivers' and attestations' dates): the schema
    says only that they are strings, and '2027-02-30' is one; a shard from elsewhere is refused naming the
    field, never a ValueError from the date arithmetic."""
    def bad(where: str, value: Any, what: str) -> MergeError:
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
        return MergeError(f"{_name(doc, n)}: {where} is {shown}, not {what}")

    started = doc.get("started")
    try:
        dt.datetime.fromisoformat(started)
    except (TypeError, ValueError):
        raise bad("started", started, "an ISO 8601 date and time") from None
    for section, fields in (("waivers", ("expires",)), ("attestations", ("date", "expires"))):
        for i, entry in enumerate(doc.get(section) or []):
            for name in fields:
                value = entry.get(name) if isinstance(entry, dict) else None
                try:
                    dt.date.fromisoformat(value)
                except (TypeError, ValueError):
                    raise bad(f"{section}[{i}].{name}", value, "an ISO 8601 date (YYYY-MM-DD)") from None


def _loaded(doc: dict[str, Any]) -> list[Any]:
    """The diagnostics a shard has from reading the inputs (every shard has the same)."""
    origin = doc["shard"].get("diagnostics", [])
    return [d for d, (f, t) in zip(doc.get("diagnostics", []), origin) if f >= 0 and t < 0]


def merge_shards(docs: list[dict[str, Any]], catalog: "Catalog | None" = None,
                 run_id: str | None = None, partial: bool = False) -> "ScanRun":
    """One run from the documents of all its shards, as a single process would have computed it."""
    from .scan import ScanRun, error_results

    if not docs:
        raise MergeError("no shard documents given")
    ordered = _check(docs, partial)
    first = ordered[0]
    count = first["shard"]["count"]

    # results: control results in target order (each shard's in its order), input errors after them
    blocks: list[tuple[int, int, Result]] = []
    keys: set[str] = set()
    refs: dict[int, TargetRef] = {}  # one ref per target dict: a target's results share it (and its JSON)
    by_content: dict[tuple, TargetRef] = {}  # documents read from files have a dict per result
    for doc in ordered:
        sh = doc["shard"]
        index_of = {label: i for i, label in sh.get("evaluated", [])}
        live = doc.get(LIVE)
        if live is not None:
            for n, r in enumerate(live):
                if r.control_id is None:
                    continue
                key = r.key
                if key in keys:
                    raise MergeError(f"result {key} is in more than one shard")
                keys.add(key)
                if r.label not in index_of:
                    raise MergeError(f"shard {sh['index']}/{count}: result {key} is of a target the shard did not "
                                     "evaluate")
                blocks.append((index_of[r.label], n, r))
            continue
        spans = doc.get(SPLICE)
        for n, (d, key) in enumerate(zip(doc["results"], sh.get("keys", []))):
            cid = d.get("control_id")
            if cid is None:
                continue  # input errors are numbered over the merged diagnostics, below
            if key in keys:
                raise MergeError(f"result {key} is in more than one shard")
            keys.add(key)
            label = key[len(cid) + 1:]
            if label not in index_of:
                raise MergeError(f"shard {sh['index']}/{count}: result {key} is of a target the shard did not "
                                 "evaluate")
            t = d["target"]
            ref = refs.get(id(t))
            if ref is None:
                src = t.get("source") or {}
                same = (t.get("type"), t.get("name"), t.get("id"), t.get("cluster"), t.get("namespace"),
                        src.get("file"), src.get("pointer"), src.get("line"))
                ref = refs[id(t)] = by_content.get(same) or by_content.setdefault(same, TargetRef.from_dict(t))
            d["target"] = ref.as_dict()  # the results of a target share its dict (and its JSON)
            r = Result.from_dict(d, label, ref)
            if spans is not None:
                r._span = spans[n]
            blocks.append((index_of[label], n, r))
    blocks.sort(key=lambda b: (b[0], b[1]))
    results = [r for _, _, r in blocks]

    diagnostics = _merged_diagnostics(ordered)
    results.extend(error_results(diagnostics))

    governance = _governance(first)
    started = min(d["started"] for d in ordered)
    scope = [c["id"] for c in first.get("controls", [])]
    register(governance, results, scope, dt.date.fromisoformat(started[:10]))
    diagnostics.extend(governance.diagnostics)

    meta = {k: v for k, v in (first.get("run") or {}).items() if k != "selection"}
    ids = {(d.get("run") or {}).get("id") for d in ordered}
    meta["id"] = run_id or (ids.pop() if len(ids) == 1 and None not in ids else str(uuid.uuid4()))
    if len({(d.get("run") or {}).get("id") for d in ordered}) > 1:  # separate jobs: say which runs made it
        meta["shards"] = [{"index": d["shard"]["index"], "run_id": (d.get("run") or {}).get("id"),
                           "started": d["started"], "host": (d.get("run") or {}).get("host")} for d in ordered]
    selection = _selection(ordered, results)
    if selection is not None:
        meta["selection"] = selection
    coverage = first.get("coverage") or {}
    return ScanRun(started=started, catalog=catalog, inputs=first.get("inputs", []), targets=[],  # type: ignore[arg-type]
                   results=results, diagnostics=diagnostics, declarations=[], governance=governance, meta=meta,
                   ledger=Ledger([CoverageEntry.from_dict(e) for e in coverage.get("entries", [])]),
                   sections={k: first[k] for k in ("controls", "catalog_version", "catalog", "declarations",
                                                    "coverage") if k in first},
                   target_total=first["shard"].get("targets", 0))


def _merged_diagnostics(ordered: list[dict[str, Any]]) -> list[Diagnostic]:
    """Per family: the diagnostics of reading (alike in every shard), then those found while evaluating, in
    target order. A body several shards expanded reports in each: kept as often as one shard has it."""
    found: list[tuple[int, int, int, int, dict[str, Any]]] = []  # family, target, shard, position, diagnostic
    families: set[int] = set()
    for doc in ordered:
        k = doc["shard"]["index"]
        for n, (d, (f, t)) in enumerate(zip(doc.get("diagnostics", []), doc["shard"].get("diagnostics", []))):
            if f < 0:
                continue  # the shard's own register: recomputed over everything
            families.add(f)
            if t >= 0:
                found.append((f, t, k, n, d))
    loaded_by_family: dict[int, list[dict[str, Any]]] = {}
    for d, (f, t) in zip(ordered[0].get("diagnostics", []), ordered[0]["shard"].get("diagnostics", [])):
        if f >= 0 and t < 0:
            loaded_by_family.setdefault(f, []).append(d)
    found.sort(key=lambda x: (x[0], x[1], x[2], x[3]))
    out: list[Diagnostic] = []
    for f in sorted(families):
        out.extend(Diagnostic.from_dict(d) for d in loaded_by_family.get(f, []))
        kept: dict[tuple, int] = {}
        per_shard: dict[tuple, int] = {}
        for ff, _, k, _, d in found:
            if ff != f:
                continue
            content = tuple(sorted((a, str(b)) for a, b in d.items()))
            per_shard[(k, content)] = per_shard.get((k, content), 0) + 1
            if per_shard[(k, content)] > kept.get(content, 0):
                kept[content] = kept.get(content, 0) + 1
                out.append(Diagnostic.from_dict(d))
    return out


def _governance(doc: dict[str, Any]) -> Governance:
    """The waivers and attestations as the shards read them (the register is recomputed from results)."""
    def date(value: str) -> dt.date:
        return dt.date.fromisoformat(value)

    waivers = [Waiver(id=w["id"], control=w["control"], target=w["target"], justification=w["justification"],
                      approver=w["approver"], expires=date(w["expires"]), file=w["file"], line=w["line"],
                      reference=w.get("reference", "")) for w in doc.get("waivers", [])]
    attestations = [Attestation(id=a["id"], control=a["control"], target=a["target"], status=a["status"],
                                owner=a["owner"], evidence=a["evidence"], date=date(a["date"]),
                                expires=date(a["expires"]), file=a["file"], line=a["line"], note=a.get("note", ""))
                    for a in doc.get("attestations", [])]
    return Governance(waivers=waivers, attestations=attestations, files=list(doc.get("governance_files", [])))


def _selection(ordered: list[dict[str, Any]], results: list[Result]) -> dict[str, Any] | None:
    """Whether every result of every shard was reported: a shard narrowed by -k or stopped early leaves the
    merged run partial, and says so. Input errors are counted once, as merged."""
    selections = [(d.get("run") or {}).get("selection") for d in ordered]
    if any(s is None for s in selections):
        return None
    narrowed = [f"shard {d['shard']['index']}: {why}" for d, s in zip(ordered, selections)
                for why in s.get("narrowed_by", []) if not why.startswith(SHARD_LABEL + " ")]
    errors = sum(1 for r in results if r.control_id is None)
    computed = sum(d["shard"].get("computed", 0) for d in ordered) + errors
    return {"complete": not narrowed and len(results) == computed, "narrowed_by": narrowed,
            "results_reported": len(results), "results_computed": computed}


def load_shard_documents(paths: Iterable[str]) -> list[dict[str, Any]]:
    """The shards' results documents, read as 'report' and 'diff' read one (a regular file within a limit,
    nesting bounded, every field checked): a FIFO, /dev/zero or a malformed shard is named, never a hang,
    a traceback or a TypeError while merging."""
    from .report.diff import load

    docs = []
    for p in paths:
        try:
            doc = load(p)
        except ValueError as exc:
            raise MergeError(str(exc)) from None
        doc["_source"] = p  # named in errors; never a section of the merged document
        docs.append(doc)
    return docs


def merge_command(argv: list[str]) -> int:
    """``aks-compliance merge SHARD.json... -o results.json``: the shards of one run as one results document.
    Exit status as ``aks-compliance scan`` gives for the merged run: 0, 1 failures (at or above --fail-on),
    2 input errors; 4 when the shards do not make one run (named) or a file cannot be read or written."""
    import argparse
    import sys

    from .report.common import FAIL_ON_CHOICES, gate
    from .results import write_results

    ap = argparse.ArgumentParser(
        prog="aks-compliance merge",
        description="Merge the shard results of one run (each written by a job with --aksc-shard K/N and "
                    "--results-json) into one results document; build reports from it with 'aks-compliance "
                    "report'. Every shard must be given once, and all must have read the same inputs.")
    ap.add_argument("shards", nargs="+", metavar="SHARD.json")
    ap.add_argument("-o", "--output", required=True, metavar="FILE", help="the merged results JSON")
    ap.add_argument("--fail-on", choices=FAIL_ON_CHOICES, default="info", metavar="SEVERITY",
                    help="exit 1 only when a failure at or above SEVERITY remains after waivers (default: any)")
    ap.add_argument("--fail-on-unknown", action="store_true",
                    help="count unknown and unattested manual results at or above --fail-on as failing")
    try:
        args = ap.parse_args(argv)
    except SystemExit as exc:
        return 0 if exc.code == 0 else 4
    try:
        run = merge_shards(load_shard_documents(args.shards))
    except MergeError as exc:
        print(f"aks-compliance merge: {exc}", file=sys.stderr)
        return 4
    doc = run.document()
    try:
        write_results(args.output, doc)
    except OSError as exc:
        print(f"aks-compliance merge: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
        return 4
    severity = {c["id"]: c.get("severity") for c in doc.get("controls", [])}
    g = gate(((r, r.outcome.value, severity.get(r.control_id or "")) for r in run.results), args.fail_on,
             args.fail_on_unknown)
    counts: dict[str, int] = {}
    for r in run.results:
        counts[r.outcome.value] = counts.get(r.outcome.value, 0) + 1
    selection = run.meta.get("selection") or {}
    print(f"merged {len(args.shards)} shard(s): {len(run.results)} result(s) "
          f"({', '.join(f'{n} {o}' for o, n in sorted(counts.items()))}); {args.output}")
    if selection and not selection.get("complete"):
        print(f"PARTIAL RUN: narrowed by {'; '.join(selection.get('narrowed_by') or ['?'])}")
    if g.errors:
        return 2
    return 1 if g.fails else 0
