"""Contoso's in-cluster controls, in Python: the same declaration API the built-in catalog uses."""

from typing import Any, Mapping

from aks_compliance.controls import Findings, Mappings, Parameter, Severity, k8s_control
from aks_compliance.k8s import kinds
from aks_compliance.k8s.podspec import pod_view


def team_label(target: Any, params: Mapping[str, Any]):
    """The workload's pod template (or the pod) carries the owning team's label."""
    view = pod_view(target)
    f = Findings()
    label = params["label"]
    value = view.labels.get(label)
    f.check(bool(value), view.mp(f"labels.{label}"), "exists", True, value if value else "(absent)")
    return f.verdict()


CONTROLS = [
    k8s_control(
        id="CONTOSO-101",
        title="Workloads name their owning team",
        severity=Severity.LOW,
        section="Contoso ownership",
        rationale="On-call routing and cost reports find a workload's team by the label on its pods.",
        remediation="Add the label (default: team) to the pod template's metadata.labels.",
        mappings=Mappings(),
        types=kinds.WORKLOAD,
        check=team_label,
        parameters=(Parameter("label", "team", "The label that names the owning team.", type="String"),),
        policy_gap="Contoso audits this with its own Gatekeeper constraint; no definition is generated.",
        # which namespaces are skipped: a workload-admission control keeps Azure Policy's excluded namespaces
        exclusions="workload-admission",
    ),
]
