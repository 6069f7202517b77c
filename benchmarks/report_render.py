"""Render the auditor report (and SARIF, CSV) for synthetic results documents; print time and size.

    .venv/bin/python benchmarks/report_render.py                 # 1k, 10k, 100k results
    .venv/bin/python benchmarks/report_render.py 5000 200000     # chosen sizes
    .venv/bin/python benchmarks/report_render.py --no-browser    # skip the Chromium load timing

Documents are generated directly (no scan): the real control catalog, N / controls clusters spread over
subscriptions, resource groups and files, outcomes in a realistic mix (about 55 % passed, 28 % failed,
6 % unknown, 7 % not applicable, 3 % waived, plus manual controls) with 1-4 evidence items each, and a
waiver register. Columns:
  render   - build_context + jinja2 to a file (what --audit-report and `aks-compliance report` do)
  size     - the HTML file, and gzipped (what a CI artifact store keeps)
  load     - headless Chromium: navigation to the load event (parse, style, layout of what is on screen;
             sections below use content-visibility:auto and are laid out when scrolled to)
  layout   - then laying out every section at once (what printing or scrolling through all costs;
             collapsed <details> stay collapsed)
  sarif, csv - time to write each; the SARIF file's size, and gzipped (GitHub's upload limit: 10 MB gzipped,
             25,000 results per run: the most severe are kept)
"""

from __future__ import annotations

import gzip
import os
import random
import sys
import tempfile
import time
from pathlib import Path

from aks_compliance.controls import load_catalog
from aks_compliance.report.csv_matrix import write_csv
from aks_compliance.report.html import write_report
from aks_compliance.controls.document import control_document
from aks_compliance.report.sarif import write_sarif

OUTCOMES = (("passed", 55), ("failed", 28), ("unknown", 6), ("not_applicable", 7), ("waived", 3), ("error", 1))
# evidence: passes 1-6 items identical across targets of the same shape; failures 1-6 items with varying values
PATHS = ("properties.apiServerAccessProfile.enablePrivateCluster", "properties.disableLocalAccounts",
         "properties.agentPoolProfiles[{i}].enableNodePublicIP", "properties.networkProfile.networkPolicy",
         "properties.addonProfiles.azurepolicy.enabled", "properties.autoUpgradeProfile.upgradeChannel",
         "properties.securityProfile.defender.securityMonitoring.enabled",
         "properties.agentPoolProfiles[{i}].enableEncryptionAtHost", "properties.aadProfile.managed")


FULL_LAYOUT = """(() => {
  const s = document.createElement("style");
  s.textContent = ".cv, article.control { content-visibility: visible !important; }";
  const t = performance.now();
  document.head.appendChild(s);
  void document.body.offsetHeight;
  return performance.now() - t;
})()"""


def synthetic_document(n: int, seed: int = 7) -> dict:
    rng = random.Random(seed)
    controls = [control_document(c) for c in load_catalog()]
    per_target = len(controls)
    n_targets = max(1, n // per_target)
    weights = [w for _, w in OUTCOMES]
    names = [o for o, _ in OUTCOMES]
    results = []
    sub = "6f1c2a3e-7b8d-4c9e-a1f2-3b4c5d6e7f{:02d}"
    for t in range(n_targets):
        s, g = t % 40, t % 300
        file = f"estate/sub-{s:02d}/rg-{g:03d}/export-{t // 25:04d}.json"
        name = f"aks-{['prod', 'dev', 'test', 'batch'][t % 4]}-{t:05d}"
        base_line = 20 + (t % 25) * 180
        target = {"type": "Microsoft.ContainerService/managedClusters", "name": name,
                  "id": f"/subscriptions/{sub.format(s)}/resourceGroups/rg-{g:03d}/providers/"
                        f"Microsoft.ContainerService/managedClusters/{name}",
                  "cluster": name, "namespace": None, "source": {"file": file, "pointer": f"/resources/{t % 25}",
                                                                  "line": base_line}}
        for c in controls:
            if len(results) >= n:
                break
            outcome = "manual" if c["manual"] else rng.choices(names, weights)[0]
            evidence = []
            crng = random.Random(c["id"])  # a control checks the same paths on every target
            pools = 1 + t % 3
            for k in range(crng.randint(1, 2) * pools if outcome not in ("not_applicable", "manual", "error") else 0):
                path = crng.choice(PATHS).format(i=k % pools)
                if outcome == "passed":  # passes look alike: the expected value is there
                    evidence.append({"path": path, "expected": "equals true", "actual": "true", "file": file,
                                     "line": base_line + 10 + 4 * k})
                    continue
                evidence.append({"path": path, "expected": ["equals true", "exists", "notEquals false",  # per path
                                                             "in [\"azure\", \"calico\", \"cilium\"]"][len(path) % 4],
                                 "actual": rng.choice(["true", "false", "(absent)", "\"kubenet\"", "null"]),
                                 "file": file, "line": base_line + rng.randint(1, 170)})
            reason = {"unknown": f"parameter 'enable{c['id'][-3:]}' has no value and no default",
                      "not_applicable": "the cluster does not use the Key Vault secrets provider",
                      "manual": "this control is checked by hand",
                      "error": f"{file}:{base_line}: unknown function 'notafunction'",
                      "waived": f"waiver W-{int(c['id'][-3:]):03d} approved by CISO office, expires 2027-12-31: "
                                "accepted for the migration"}.get(outcome, "")
            r = {"control_id": c["id"], "target": target, "outcome": outcome, "reason": reason, "evidence": evidence}
            if outcome == "waived":
                r["waiver"] = {"id": f"W-{int(c['id'][-3:]):03d}", "approver": "CISO office",
                               "expires": "2027-12-31", "justification": "accepted for the migration"}
            results.append(r)
    waivers = [{"id": f"W-{int(c['id'][-3:]):03d}", "control": c["id"], "target": "aks-*", "justification":
                "accepted for the migration", "approver": "CISO office", "expires": "2027-12-31", "reference": "",
                "file": "waivers.yaml", "line": 3 + 7 * i, "status": "active", "detail": "", "count": 0,
                "results": [], "days_left": 400} for i, c in enumerate(controls)]
    return {"schema": "aks-compliance/results/v1", "tool": {"name": "aks-compliance", "version": "bench"},
            "started": "2026-11-29T12:00:00+00:00", "catalog_version": "bench",
            "inputs": [{"path": f"estate/sub-{s:02d}/export.json", "sha256": "0" * 64, "kind": "arm-template"}
                       for s in range(40)],
            "controls": controls, "results": results, "waivers": waivers, "diagnostics": [], "declarations": [],
            "run": {"user": "bench", "host": "bench", "scope": {"subscriptions": [], "resource_groups": [],
                                                                "clusters": []}, "options": {}}}


def main(argv: list[str]) -> int:
    browser = "--no-browser" not in argv
    sizes = [int(a) for a in argv if a.isdigit()] or [1_000, 10_000, 100_000]
    chromium = None
    if browser:
        from aks_compliance.report.browser import Chromium, find_chromium
        chromium = Chromium(timeout=300) if find_chromium() else None
        if chromium is None:
            print("(chromium not installed: no load timing)")
    print(f"{'results':>8} {'targets':>7} {'render s':>8} {'html MB':>8} {'gzip MB':>8} {'B/result':>8} "
          f"{'load s':>7} {'layout s':>8} {'sarif s':>7} {'sarif MB':>8} {'gz MB':>6} {'csv s':>6}")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for n in sizes:
                doc = synthetic_document(n)
                html = Path(tmp, f"report-{n}.html")
                t0 = time.perf_counter()
                write_report(str(html), doc)
                render = time.perf_counter() - t0
                size = html.stat().st_size
                gz = len(gzip.compress(html.read_bytes(), 6))
                load = layout = ""
                if chromium is not None:
                    rep = chromium.check(html, settle=0.1, expressions={"layout": FULL_LAYOUT})
                    load = f"{rep.load_seconds:.2f}" + ("!" if rep.errors else "")
                    layout = f"{rep.values['layout'] / 1000:.2f}"
                t0 = time.perf_counter()
                write_sarif(os.path.join(tmp, "r.sarif"), doc)
                sarif = time.perf_counter() - t0
                sarif_size = os.path.getsize(os.path.join(tmp, "r.sarif"))
                sarif_gz = len(gzip.compress(Path(tmp, "r.sarif").read_bytes(), 6))
                t0 = time.perf_counter()
                write_csv(os.path.join(tmp, "r.csv"), doc)
                csv_t = time.perf_counter() - t0
                targets = len({r["target"]["name"] for r in doc["results"]})
                print(f"{len(doc['results']):>8} {targets:>7} {render:>8.2f} {size / 1e6:>8.2f} {gz / 1e6:>8.2f} "
                      f"{size / len(doc['results']):>8.0f} {load:>7} {layout:>8} {sarif:>7.2f} {sarif_size / 1e6:>8.2f} {sarif_gz / 1e6:>6.2f} {csv_t:>6.2f}",
                      flush=True)
    finally:
        if chromium is not None:
            chromium.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
