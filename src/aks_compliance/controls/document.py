"""A control as the results document (and so every report) describes it."""

from __future__ import annotations

from typing import Any

from .model import Control


def control_document(control: Control) -> dict[str, Any]:
    """The summary, the prose a report lays out, the parameters, and the generated policy or why there is none."""
    from ..policy.generate import policy_reference

    out = dict(control.summary())
    policy = policy_reference(control)
    out.update({
        "rationale": control.rationale, "remediation": control.remediation,
        "references": list(control.references),
        "manual": control.manual,
        "policy": policy,
        "policy_gap": None if policy is not None else (control.no_policy_reason() or control.policy_gap),
        "parameters": [{"name": p.name, "default": p.default, "description": p.description}
                       for p in control.parameters],
    })
    if control.builtin_deviation:
        out["builtin_deviation"] = control.builtin_deviation
    if control.practice:
        out["practice"] = control.practice
    if not control.builtin:
        out["origin"] = control.origin
    return out
