"""Meta-tests of the in-cluster (Kubernetes) controls, AKS-100..199: prose, mappings, parameters.

The Azure-side per-control meta-tests live in test_catalog.py; these hold the Kubernetes controls to the
same standard, plus what is specific to them: CIS AKS v1.8.0 K-class coverage, real kubescape and Azure
Policy for Kubernetes ids, a declared policy gap (they decide in Python), the Pod Security Standards
level, and an excludedNamespaces parameter on every namespaced control.
"""

from __future__ import annotations

import csv
import re

import pytest

from aks_compliance.controls import Decision, Control, Severity, load_catalog

from .conftest import require_shared
from .test_k8s_control_fixtures import K8S_CONTROLS

K_CLASS = {*(f"4.1.{i}" for i in range(1, 13)), *(f"4.2.{i}" for i in range(1, 6)), "4.4.2", "4.5.1", "4.6.2",
           "4.6.3", "5.1.4", "5.4.5"}
# N class: node files and the kubelet, judged on nodes (kubelet configuration through the API, or kube-bench)
N_CLASS = {*(f"3.1.{i}" for i in range(1, 5)), *(f"3.2.{i}" for i in range(1, 10))}


def test_cis_aks_k_and_n_class_are_covered() -> None:
    mapped = {i for c in K8S_CONTROLS for i in c.mappings.cis_aks}
    assert K_CLASS <= mapped, sorted(K_CLASS - mapped)
    automated = {i for c in K8S_CONTROLS if not c.manual for i in c.mappings.cis_aks}
    assert N_CLASS <= automated, sorted(N_CLASS - automated)
    # 5.2.1 (dedicated service accounts) is manual in CIS; kubescape checks it on Kubernetes objects. 4.6.1
    # (namespaces as boundaries) is manual, judged by an auditor on the cluster.
    allowed = K_CLASS | N_CLASS | {"5.2.1", "4.6.1"}
    assert mapped <= allowed, f"in-cluster controls map to ids outside the K and N classes: {sorted(mapped - allowed)}"


@pytest.mark.parametrize("control", K8S_CONTROLS, ids=lambda c: c.id)
def test_prose_mappings_and_decision(control: Control) -> None:
    assert len(control.title) > 10 and len(control.rationale) > 80 and len(control.remediation) > 30
    assert isinstance(control.severity, Severity) and control.section
    assert control.rule is None and control.related is None
    if control.manual:  # decided by an auditor: says how, and why nothing is evaluated
        assert "Audit:" in control.remediation and control.policy_gap and control.policy_gap.startswith("Manual")
    elif control.decision is Decision.OBJECT_RULE:  # the check is the rule's Python form; the policy is generated
        assert control.check is not None
        assert control.object_rule is not None and control.policy_engine == "gatekeeper"
        assert control.policy_gap is None, "an object rule generates its policy: it declares no gap"
    else:
        assert control.check is not None
        assert control.decision is Decision.PYTHON
        assert control.policy_gap and "Python" in control.policy_gap, "a Python-decided control declares its gap"
    m = control.mappings
    assert any(m.as_dict().values())
    assert all(re.fullmatch(r"C-\d{4}", k) for k in m.kubescape), m.kubescape
    assert all(re.fullmatch(r"T\d{4}(\.\d{3})?", t) for t in m.mitre), m.mitre  # MITRE ATT&CK technique ids
    assert set(m.pss) <= {"baseline", "restricted"}
    names = [p.name for p in control.parameters]
    assert len(names) == len(set(names))
    for p in control.parameters:
        assert p.description and p.type in ("String", "Array", "Integer", "Boolean")
    namespaced_types = {"k8s/workload", "k8s/Namespace", "k8s/ServiceAccount", "k8s/ServiceAccount:default",
                        "k8s/Service", "k8s/Ingress", "k8s/Role", "k8s/RoleBinding"}
    types = {control.resource_type} if isinstance(control.resource_type, str) else set(control.resource_type)
    if types & namespaced_types:
        assert "excludedNamespaces" in names, f"{control.id} selects namespaced objects: it needs excludedNamespaces"


@pytest.mark.parametrize("control", K8S_CONTROLS, ids=lambda c: c.id)
def test_azure_policy_mappings_are_real_kubernetes_builtins(control: Control) -> None:
    path = require_shared("reference", "aks-builtin-policies.csv")
    with path.open(newline="") as fh:
        rows = {r["guid"].strip().lower(): r for r in csv.DictReader(fh)}
    for guid in control.mappings.azure_policy:
        assert guid in rows, f"{control.id} maps to {guid}, which is not a known built-in"
        if guid != "0a15ec92-a229-4763-bb14-0ea34a568f8d":  # the add-on's ARM-side audit (AKS-153 says so)
            assert rows[guid]["mode"] == "Microsoft.Kubernetes.Data", (guid, rows[guid]["mode"])


def test_mapping_guids_are_named_in_the_gap() -> None:
    """A Python-decided control names its mapped built-ins where it says why it has no policy (an object rule's
    mapped built-ins are run on its fixtures instead: tests/test_gatekeeper_policies.py)."""
    for c in K8S_CONTROLS:
        if c.decision is Decision.OBJECT_RULE:
            continue
        if c.mappings.azure_policy:
            assert any(g in c.policy_gap for g in c.mappings.azure_policy), c.id
        else:
            assert "No Azure Policy for Kubernetes built-in" in c.policy_gap, c.id


def test_the_whole_catalog_still_loads_with_unique_ids() -> None:
    ids = [c.id for c in load_catalog()]
    assert len(ids) == len(set(ids))


EXCLUSION_FAMILIES = {"workload-admission", "cluster-access", "cluster-wide"}


@pytest.mark.parametrize("control", K8S_CONTROLS, ids=lambda c: c.id)
def test_each_control_declares_which_namespace_exclusions_apply(control: Control) -> None:
    """Azure Policy's excludedNamespaces are for workload admission. RBAC, network-policy and namespace controls
    (family cluster-access) exclude nothing by default: kube-system is where a takeover matters most."""
    families = [t.split(":", 1)[1] for t in control.tags if t.startswith("exclusions:")]
    assert len(families) == 1 and families[0] in EXCLUSION_FAMILIES, (control.id, control.tags)
    defaults = control.parameter_defaults()
    if families[0] == "workload-admission":
        assert defaults["excludedNamespaces"] == ["kube-system", "gatekeeper-system", "azure-arc",
                                                  "azure-extensions-usage-system"]
    elif families[0] == "cluster-access":
        assert defaults["excludedNamespaces"] == []
    else:
        assert "excludedNamespaces" not in defaults
    if families[0] != "cluster-wide":
        assert "Namespace exclusions:" in control.rationale, "the rationale says which exclusions apply"


def test_kubescape_data_inputs_name_real_parameters() -> None:
    """Each kubescape data input the docs map is a parameter of the named control, and documented there."""
    from aks_compliance.controls.docs import KUBESCAPE_INPUTS
    catalog = load_catalog()
    for name, cid, param in KUBESCAPE_INPUTS:
        control = catalog.get(cid)
        assert control is not None and param in {p.name for p in control.parameters}, (name, cid, param)
        assert name in control.rationale, f"{cid}'s rationale names kubescape's input {name}"


def test_the_attack_path_controls_name_their_mitre_techniques() -> None:
    """Every attack-path control (AKS-154..189) maps MITRE ATT&CK techniques (and a tool or built-in it matches).
    AKS-190 on are other practices (encryption in transit), which no kubescape control or built-in covers."""
    new = [c for c in K8S_CONTROLS if 154 <= int(c.id[4:]) < 190]
    assert len(new) >= 22
    for c in new:
        assert c.mappings.mitre, c.id
        assert c.mappings.kubescape or c.mappings.azure_policy, c.id


# kubescape controls whose rules check something else than any control here: PodSecurityPolicy objects, an
# eleven-rule bundle, any one hardening, two host namespaces at once, a pull policy, a limit with a request,
# webhooks listed for review. Mapping them would claim what the controls do not check.
NOT_MAPPED = {"C-0213", "C-0214", "C-0215", "C-0216", "C-0217", "C-0218", "C-0219", "C-0211", "C-0055", "C-0038",
              "C-0013", "C-0075", "C-0004", "C-0050", "C-0036", "C-0039"}


def test_mappings_do_not_claim_what_the_controls_do_not_check() -> None:
    mapped = {k: c.id for c in K8S_CONTROLS for k in c.mappings.kubescape}
    assert not NOT_MAPPED & set(mapped), {k: mapped[k] for k in NOT_MAPPED & set(mapped)}
    # and the controls that look related say why, next to their mappings
    noted = " ".join(c.rationale for c in K8S_CONTROLS if "Mapping:" in c.rationale)
    assert all(k in noted for k in NOT_MAPPED - {"C-0214", "C-0215", "C-0216", "C-0217", "C-0218"}), \
        sorted(k for k in NOT_MAPPED if k not in noted)
    assert "C-0213 to C-0219" in noted
