"""The share of unknown verdicts over the real-world ARM corpus (../shared/corpus/arm), and why.

    .venv/bin/python benchmarks/corpus_unknowns.py [CORPUS_DIR]

Prints one row per cluster (passed / failed / unknown counts), the overall unknown share, and the
unknown verdicts grouped by reason. aks-baseline is paired with its prod parameter file, as its
repository documents.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from aks_compliance.scan import ScanOptions, run_scan
from aks_compliance.arm.inputs import ArmOptions

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "arm"


def main(corpus: Path) -> None:
    baseline = corpus / "aks-baseline"
    run = run_scan(ScanOptions(inputs=[ArmOptions(paths=[str(corpus)], parameter_files=[f"{baseline / 'cluster-stamp.json'}={baseline / 'azuredeploy.parameters.prod.json'}"])]))
    results = [r for r in run.results if r.control_id]
    # the share is over verdicts a control could reach: not_applicable and manual results are not verdicts
    verdicts = [r for r in results if r.outcome.value in ("passed", "failed", "unknown")]
    print(f"{len(run.declarations)} managedClusters declarations: "
          + ", ".join(f"{n} {s}" for s, n in Counter(d.status for d in run.declarations).items()))
    print(f"{len(run.targets)} targets ({', '.join(f'{n} {t}' for t, n in Counter(t.type for t in run.targets).items())}); "
          f"{len(results)} results, {len(verdicts)} of them passed/failed/unknown\n")
    print(f"{'target':70} {'type':28} {'passed':>6} {'failed':>6} {'unknown':>7}")
    for t in run.targets:
        mine = Counter(r.outcome.value for r in verdicts if r.key.endswith("-" + t.label))
        print(f"{t.label[:70]:70} {t.type.split('/')[-1][:28]:28} {mine['passed']:>6} {mine['failed']:>6} "
              f"{mine['unknown']:>7}")
    total = Counter(r.outcome.value for r in results)
    unknown = sum(1 for r in verdicts if r.outcome.value == "unknown")
    share = unknown / len(verdicts) if verdicts else 0.0
    print(f"\nall results: {dict(total)}")
    print(f"unknown share: {unknown}/{len(verdicts)} = {share:.1%} of verdicts")
    reasons = Counter(r.reason[:150] for r in verdicts if r.outcome.value == "unknown")
    print("\nunknown verdicts by reason:")
    for reason, n in reasons.most_common():
        print(f"  {n:4d}  {reason}")
    errors = [d for d in run.diagnostics if d.severity == "error"]
    print(f"\ninput errors reported: {len(errors)}")
    for d in errors:
        print(f"  {str(d)[:200]}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT)
