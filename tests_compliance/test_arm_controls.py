"""The Azure-side controls: one item per control and cluster, named like AKS-001-<file>/<cluster>.

Verdicts are computed once per run by the aks-compliance plugin; each item reports one of them.
"""

from aks_compliance.plugin import check_result


def test_controls(aksc_result):
    check_result(aksc_result)
