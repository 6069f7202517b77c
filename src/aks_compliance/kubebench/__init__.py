"""kube-bench's results as an input family (``--kube-bench``): what teams run for the CIS worker-node section.

``reader.py`` reads ``kube-bench run --benchmark aks-1.8 --json`` output (one node per file), ``checks.py`` says
what a check means for a CIS AKS v1.8.0 recommendation (status, the benchmark's numbering, kube-bench's known
defects), ``compare.py`` puts kube-bench's verdict beside ours for the same node, and ``family.py`` is the input
family (options, targets, the coverage ledger of every check).
"""
