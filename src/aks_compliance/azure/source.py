"""The Azure input family for ``sources.LOADERS``: live scopes and Azure snapshots given to ``--arm``.

A live run (``--azure-...``) is first read into a snapshot under ``--azure-snapshot-dir`` (the pytest
plugin does that once, in the controller, and hands the file to xdist workers); then every Azure
snapshot (``--arm SNAPSHOT.json.gz``) is scanned with the ARM pipeline:

* the REST resources (ARM GET bodies) become ``Resource``s as ``--arm`` REST JSON does
  (``arm.template.rest_resource``), with the snapshot as their file, so evidence cites snapshot lines;
* Resource Graph rows likewise, unless the same cluster was read by ARM GET;
* each export template is expanded by the ordinary expander, for the group's other resources;
* ``arm.targets.build_arm_targets`` merges agent pools into their clusters and attaches diagnostic
  settings and maintenance configurations, exactly as for offline input;
* gaps (a list that could not be read, or was not read in a fleet scan) make the controls that need it
  unknown; errors become error items; Azure Policy's states are joined to the results.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any

from ..diagnostics import NOT_EVALUATED, CoverageEntry, Diagnostic
from ..errors import InputError
from ..resources import CLUSTER_TYPE, DEPLOYED, UNREAD, Resource, Source
from ..redaction import redact_text
from ..values import Unknown
from ..wording import json_type
from .snapshot import SECTIONS, AzureSnapshot, read_snapshot

if TYPE_CHECKING:
    from ..arm.expressions import ScanBudget
    from ..family import SourceResult
    from ..targets import Target
    from .collector import AzureOptions

_ID = re.compile(r"^/subscriptions/([^/]+)/resourceGroups/([^/]+)/", re.I)


def snapshot_for_options(options: "AzureOptions", started: dt.datetime, **collect_kwargs: Any) -> str:
    """Read the live scopes the options name into ``options.snapshot_dir``; the snapshot's path.

    Raises ``collector.AzureUsageError`` for options that cannot work. ``collect_kwargs`` (a credential,
    client settings) are for callers that are not the command line, such as tests.
    """
    from .collector import collect_snapshot, default_snapshot_path

    options.validate()
    path = default_snapshot_path(options.snapshot_dir or "reports", options, started)
    collect_snapshot(path, options, **collect_kwargs)
    return str(path)


def load_azure_source(options: "AzureOptions", started: dt.datetime) -> "SourceResult | None":
    from ..family import SourceResult
    from .collector import AzureUsageError

    snapshots = list(options.snapshots)
    result = SourceResult()
    if options.error:
        result.diagnostics.append(Diagnostic("error", f"cannot read Azure: {options.error}", "azure"))
    if options.live:
        try:
            snapshots.append(snapshot_for_options(options, started))
        except AzureUsageError as exc:
            result.diagnostics.append(Diagnostic("error", str(exc), "azure"))
        options.clear_live()
    if not snapshots and not result.diagnostics:
        return None
    labels: dict[str, int] = {}  # target labels stay unique across several snapshots of one run
    from ..arm.expressions import ScanBudget
    budget = ScanBudget()  # the export templates of every snapshot of the run share one scan budget
    for path in snapshots:
        load_snapshot(path, started, result, labels, budget)
    return result


def load_snapshot(path: str, started: dt.datetime, result: "SourceResult",
                  labels: dict[str, int] | None = None, budget: "ScanBudget | None" = None) -> None:
    """Scan one Azure snapshot into ``result`` (targets, inputs, diagnostics, the policy-state join)."""
    try:
        snap = read_snapshot(path)
    except InputError as exc:
        result.diagnostics.append(Diagnostic("error", exc.message, exc.file or path, "", exc.line))
        result.inputs.append({"path": path, "sha256": "", "kind": "azure-snapshot"})
        return
    result.inputs.append({"path": path, "sha256": snap.sha256, "kind": "azure-snapshot"})
    targets, diagnostics = snapshot_targets(snap, started, labels, result.coverage, budget)
    result.targets.extend(targets)
    result.diagnostics.extend(diagnostics)
    states = snap.section("policy_states")
    if states:
        from .policy_states import annotate

        def join(results: list[Any], catalog: Any, _states: list[dict[str, Any]] = states) -> None:
            annotate(results, _states, snap.path, lambda ptr: snap.doc.lines.nearest_line(ptr)[0], catalog)
        result.annotators.append(join)


def _line(snap: AzureSnapshot, ptr: str) -> int:
    return snap.doc.lines.nearest_line(ptr)[0]


def snapshot_targets(snap: AzureSnapshot, started: dt.datetime, labels: dict[str, int] | None = None,
                     coverage: list[CoverageEntry] | None = None, budget: "ScanBudget | None" = None
                     ) -> tuple[list["Target"], list[Diagnostic]]:
    """Targets of a snapshot; what is read and no target goes into ``coverage`` (the ledger), with the reason.
    Its export templates draw on ``budget`` (the run's, else the snapshot's own): many exports of one file must
    not each cost a template budget."""
    from ..arm.context import DeploymentScope
    from ..arm.inputs import ArmScan
    from ..arm.targets import build_arm_targets
    from ..arm.template import expand, rest_resource

    doc = snap.doc
    scan = ArmScan()
    if budget is not None:
        scan.budget = budget
    ledger = coverage if coverage is not None else []

    def not_judged(rtype: Any, name: Any, ptr: str, reason: str, relevant: bool | None = None) -> None:
        ledger.append(CoverageEntry(family="azure", type=rtype if isinstance(rtype, str) else "(no type)",
                                    name=name if isinstance(name, str) else f"(unnamed at {ptr})",
                                    status=NOT_EVALUATED, reason=reason, file=snap.path, pointer=ptr,
                                    line=_line(snap, ptr), relevant=relevant))
    scan.documents[snap.path] = doc
    diagnostics: list[Diagnostic] = []
    # a snapshot from elsewhere (hand-made, edited, damaged): a section or entry of another type is an error
    # naming it, never read as empty (its clusters would vanish without a word) nor a crash
    for name in SECTIONS:
        value = doc.data.get(name) if isinstance(doc.data, dict) else None
        if value is not None and not isinstance(value, list):
            diagnostics.append(Diagnostic("error", f"'{name}' must be an array, found {json_type(value)}; the "
                                          f"snapshot's {name} are not read", snap.path, f"/{name}",
                                          _line(snap, f"/{name}")))
    for name, what in (("policy_states", "a policy state must be an object"),
                       ("gaps", "a gap (what was not read, and why) must be an object with a 'type'"),
                       ("errors", "an error of the collection must be an object")):
        for i, entry in enumerate(snap.section(name)):
            if not isinstance(entry, dict) or (name == "gaps" and not isinstance(entry.get("type"), str)):
                found = json_type(entry) if not isinstance(entry, dict) else "an object without one"
                ptr = f"/{name}/{i}"
                diagnostics.append(Diagnostic("error", f"{what}, found {found}", snap.path, ptr, _line(snap, ptr)))
    read: set[str] = set()
    from_graph: set[str] = set()

    def add_rest(section: str) -> None:
        for i, body in enumerate(snap.section(section)):
            ptr = f"/{section}/{i}"
            if not isinstance(body, dict) or not isinstance(body.get("type"), str) or \
                    not isinstance(body.get("id"), str):
                diagnostics.append(Diagnostic("error", "a resource must be an object with a 'type' and an 'id'",
                                              snap.path, ptr, _line(snap, ptr)))
                not_judged(body.get("type") if isinstance(body, dict) else None,
                           body.get("name") if isinstance(body, dict) else None, ptr,
                           "input error: a resource must be an object with a 'type' and an 'id'")
                continue
            if not isinstance(body.get("properties"), dict):
                # ARM GET (and Resource Graph) always returns a resource's properties: a body without them says
                # nothing about the resource, and read as "every property absent" it would pass controls
                # whose setting is off when absent. Not judged, an error naming the resource.
                problem = (f"{body['type']} {body['id']} was read from Azure without a 'properties' object (got "
                           f"{json_type(body.get('properties')) if 'properties' in body else 'none'}); it is not "
                           "judged: read it again")
                diagnostics.append(Diagnostic("error", problem, snap.path, ptr, _line(snap, ptr)))
                not_judged(body["type"], body.get("name"), ptr, f"input error: {problem}")
                continue
            key = body["id"].lower()
            if key in read:  # a cluster read by ARM GET is not taken again from Resource Graph
                not_judged(body["type"], body.get("name"), ptr, f"duplicate: the same resource ({body['id']}) "
                           f"read by ARM GET is judged instead", relevant=False)
                continue
            read.add(key)
            if section == "graph":
                from_graph.add(key)
            scan.resources.append(rest_resource(doc, body, ptr))

    add_rest("resources")
    add_rest("graph")

    for i, export in enumerate(snap.section("exports")):
        template = export.get("template") if isinstance(export, dict) else None
        if not isinstance(template, dict):
            continue
        sub, group = str(export.get("subscription") or ""), str(export.get("resource_group") or "")
        scope = DeploymentScope(now=started).child(subscription_id=sub, resource_group=group,
                                                   deployment_name="export")
        expander = expand(doc, template, {}, scope, pointer=f"/exports/{i}/template", diagnostics=scan.diagnostics,
                          scan_budget=scan.budget)
        for e in expander.coverage:  # declarations of the export that deploy nothing
            e.family = "azure"
            ledger.append(e)
        for r in expander.resources:
            low = r.type_lower
            # The live GET wins over the export for clusters and their children (pools, maintenance
            # configurations): an export is a deployment template, so it drops read-only state
            # (provisioning and power state, the running Kubernetes and node image versions), write-only
            # and newer-than-its-api-version properties, and may parameterise or omit some; ARM GET at a
            # current api-version is exactly what Azure Policy evaluates. The export supplies the group's
            # other resources: networks, registries, key vaults, gateways.
            if low == CLUSTER_TYPE or low.startswith(CLUSTER_TYPE + "/"):
                not_judged(r.type, r.display_name(), r.source.pointer,
                           "from a group export: clusters and their children are judged from their ARM GET",
                           relevant=False)
                continue
            if not isinstance(r.id, str):
                # an export with an unresolved name: it could attach to any cluster of the snapshot
                not_judged(r.type, r.display_name(), r.source.pointer,
                           f"from a group export, with a name that does not resolve: {r.id.reason}")
                continue
            if r.id.lower() in read:
                not_judged(r.type, r.display_name(), r.source.pointer,
                           "duplicate: the same resource read by ARM GET is judged instead", relevant=False)
                continue
            read.add(r.id.lower())
            r.state = DEPLOYED  # an export describes what is deployed, not a request
            scan.resources.append(r)
    diagnostics.extend(scan.diagnostics)

    targets = build_arm_targets(scan)
    for e in scan.coverage:
        e.family = "azure"
    ledger.extend(scan.coverage)
    for t in targets:
        t.context["family"] = "azure"
    by_id = {t.resource.id.lower(): t for t in targets if isinstance(t.resource.id, str)}
    for i, gap in enumerate(snap.section("gaps")):
        if not isinstance(gap, dict) or not isinstance(gap.get("type"), str):
            continue
        ptr = f"/gaps/{i}"
        reason = f"{gap.get('reason') or 'not read'} (snapshot {snap.path}:{_line(snap, ptr)})"
        if isinstance(gap.get("resource_id"), str):
            owners = [by_id[k] for k in [gap["resource_id"].lower()] if k in by_id]
        elif gap.get("source") == "graph":
            owners = [t for k, t in by_id.items() if k in from_graph]
        else:
            owners = []
        for t in owners:
            t.maybe_related.setdefault(gap["type"].lower(), []).append(_unread(gap["type"], reason, snap, ptr))
    for i, err in enumerate(snap.section("errors")):
        if not isinstance(err, dict):
            continue
        ptr = f"/errors/{i}"
        severity = "warning" if err.get("severity") == "warning" else "error"
        text = redact_text(str(err.get("message") or err.get("kind") or "a read failed"))  # a snapshot from elsewhere
        diagnostics.append(Diagnostic(severity, f"Azure: {text}",
                                      snap.path, ptr, _line(snap, ptr)))
    _relabel(targets, {} if labels is None else labels)
    return targets, diagnostics


def _unread(rtype: str, reason: str, snap: AzureSnapshot, ptr: str) -> Resource:
    """A stand-in for related resources that were not read: every check on it is unknown, with the reason."""
    unknown = Unknown(reason)
    return Resource(rtype, unknown, unknown, Source(snap.path, ptr, snap.doc),
                    body={"type": rtype, "name": unknown, "properties": unknown}, scope_id=unknown, state=UNREAD)


def _relabel(targets: list["Target"], seen: dict[str, int]) -> None:
    """Test ids that read like an audit trail and do not change from run to run: ``<group>/<name>``."""
    for t in targets:
        rid = t.resource.id
        m = _ID.match(rid) if isinstance(rid, str) else None
        if not m:
            continue
        label = f"{m.group(2)}/{t.resource.display_name()}"
        n = seen.get(label.lower(), 0)
        seen[label.lower()] = n + 1
        t.label = label if not n else f"{label}#{n + 1}"
