"""The community ingress-nginx controller: end of life, and the versions published vulnerabilities affect, read
from the controller's image tag against the data in :mod:`aks_compliance.k8s.ingress_nginx`."""

from __future__ import annotations

import datetime as dt
from typing import Any, Mapping

from ...k8s import ingress_nginx as data
from ...k8s import kinds
from ...k8s.checks import BEYOND_RULES, WORKLOAD_ADMISSION, Findings, gap_text, k8s_control
from ...k8s.podspec import pod_view
from ...policy.conditions import Verdict
from ...targets import Target
from ..model import Mappings, Parameter, Severity
from ...k8s.rules import parse_image, well_formed_image


def _controllers(target: Target):
    for c in pod_view(target).containers():
        image = c.body.get("image")
        if isinstance(image, str):
            host, path, tag, digest = parse_image(image)
            if data.is_controller_image(host, path):
                yield c, image, tag


def _eol(params: Mapping[str, Any]) -> dt.date:
    raw = params.get("endOfLifeDate", data.END_OF_LIFE.isoformat())
    try:
        return dt.date.fromisoformat(str(raw))
    except ValueError:
        raise ValueError(f"parameter endOfLifeDate is not a date (YYYY-MM-DD): {raw!r}") from None


def ingress_nginx_supported(target: Target, params: Mapping[str, Any]) -> Verdict:
    eol = _eol(params)
    retired = dt.date.today() > eol
    f = Findings()
    for c, image, tag in _controllers(target):
        path = c.p("image")
        if retired:
            f.fail(path, "is not", f"ingress-nginx, end of life since {eol.isoformat()} (no security fixes; "
                   f"{data.END_OF_LIFE_SOURCE})", image)
        if not well_formed_image(image):  # the kubelet refuses it: its tag is no version (never a pass)
            f.cannot_tell(path, "is not", "a version with published vulnerabilities",
                          f"{image} is not a well-formed image reference (the kubelet refuses it: InvalidImageName)")
            continue
        version = data.version_of(tag)
        if version is None:
            f.cannot_tell(path, "is not", "a version with published vulnerabilities",
                          f"the version of {image} cannot be read from its tag (a digest only?)")
            continue
        hits = data.advisories_for(version)
        for a in hits:
            f.fail(path, "is not affected by", f"{a.cve}: {a.title} ({a.url})", image)
        if not hits and not retired:
            f.ok(path, "is affected by", "none of the advisories known here", image)
    return f.verdict()


def _no_controller(target: Target, params: Mapping[str, Any]) -> str | None:
    if next(_controllers(target), None) is None:
        return "no container runs an ingress-nginx controller image"
    return None


CONTROLS = [
    k8s_control(
        id="AKS-175", exclusions=WORKLOAD_ADMISSION,
        title="No end-of-life or vulnerable ingress-nginx controller runs", severity=Severity.HIGH,
        section="Exposure",
        rationale=(
            "The community ingress-nginx controller sits at the cluster's edge and, in its default installation, "
            "can read every Secret of the cluster: its vulnerabilities (configuration injection through annotations "
            "or its admission webhook, CVE-2021-25742, CVE-2023-5043/5044, CVE-2024-7646, CVE-2025-1974 and the "
            "other IngressNightmare issues, and later ones) hand those to whoever can create an Ingress or reach the "
            "webhook. The project was retired after March 2026: no release fixes what is found after that. The "
            "version is read from the controller image's tag (upstream, AKS application routing's and Bitnami's "
            "images) and compared with the published affected ranges; the data names each advisory."),
        remediation=(
            "Migrate to a maintained controller (the Gateway API with Application Gateway for Containers, the Istio "
            "add-on's ingress gateway, or another Ingress controller); until then run the newest release and set "
            "allow-snippet-annotations: false."),
        references=(data.END_OF_LIFE_SOURCE, "https://kubernetes.io/blog/2025/03/24/ingress-nginx-cve-2025-1974/"),
        mappings=Mappings(kubescape=("C-0292",), mitre=("T1190",)),
        mapping_note=("kubescape C-0059 (CVE-2021-25742) also reads the controller's ConfigMap for "
                      "allow-snippet-annotations, which this control does not, so C-0059 is not mapped."),
        types=kinds.WORKLOAD, check=ingress_nginx_supported, applies=_no_controller,
        policy_gap=gap_text(BEYOND_RULES.format(what="image versions compared with end-of-life and advisory data")),
        parameters=(Parameter("endOfLifeDate", data.END_OF_LIFE.isoformat(),
                              "The date after which every ingress-nginx controller is end of life (YYYY-MM-DD).",
                              type="String", schema={"format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}),)),
]
