"""The controls as pytest tests: one item per control and target, named like
``test_controls[AKS-012-estate-export/aks-prod-weu]`` (control AKS-012 on cluster aks-prod-weu from
estate-export.json), plus one per input error.

Verdicts are computed once per run by the aks-compliance plugin, in bulk; each item reports one of
them (the plugin collects this function as lean items, so its body is the fallback).
"""

from aks_compliance.outcomes import check_result


def test_controls(aksc_result):
    check_result(aksc_result)
