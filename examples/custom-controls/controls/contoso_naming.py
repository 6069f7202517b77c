"""A Contoso Azure-side control decided in Python: a regular expression is beyond the policy language."""

import re
from typing import Any, Mapping

from aks_compliance.controls import Control, Findings, Mappings, Parameter, Severity, unknown


def cluster_name(target: Any, params: Mapping[str, Any]):
    """The cluster's name matches the naming convention (parameter nameFormat, a regular expression)."""
    name = target.resource.body.get("name")
    if not isinstance(name, str):
        return unknown(f"the cluster's name is not known offline ({name!r})")
    f = Findings()
    f.check(re.fullmatch(params["nameFormat"], name) is not None, "name", "matches", params["nameFormat"], name)
    return f.verdict()


CONTROLS = [
    Control(
        id="CONTOSO-003",
        title="Cluster names follow the naming convention",
        severity=Severity.INFO,
        section="Contoso naming",
        rationale="Runbooks, dashboards and cost reports find clusters by name: aks-<app>-<env>.",
        remediation="Recreate the cluster under a conforming name (AKS cannot rename a cluster).",
        mappings=Mappings(),
        parameters=(Parameter("nameFormat", r"aks-[a-z0-9]+-(dev|test|prod)",
                              "Regular expression the whole cluster name must match."),),
        check=cluster_name,
        policy_gap="Regular expressions are beyond the Azure Policy condition language.",
    ),
]
