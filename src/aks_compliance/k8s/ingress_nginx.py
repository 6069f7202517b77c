"""The community ingress-nginx controller: which images are it, when the project ended, and the published
vulnerabilities by affected version range, each with the advisory it comes from.

Data, not logic: AKS-175 reads it. Ranges are half-open ``[introduced, fixed)`` on ``major.minor.patch``;
``introduced`` (0, 0, 0) means every earlier version.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

# Repositories (registry host + path) that publish the controller: upstream, the old Google registry, the
# pre-1.0 quay.io images, AKS's application routing add-on (Microsoft's build) and Bitnami's packaging.
# F5's NGINX Ingress Controller (nginx/nginx-ingress) is another project and is not listed.
IMAGE_REPOSITORIES = (
    "registry.k8s.io/ingress-nginx/controller",
    "registry.k8s.io/ingress-nginx/controller-chroot",
    "k8s.gcr.io/ingress-nginx/controller",
    "k8s.gcr.io/ingress-nginx/controller-chroot",
    "quay.io/kubernetes-ingress-controller/nginx-ingress-controller",
    "mcr.microsoft.com/oss/kubernetes/ingress/nginx-ingress-controller",
    "docker.io/bitnami/nginx-ingress-controller",
)

# Kubernetes SIG Network and the Security Response Committee retired the project: best-effort maintenance
# until March 2026, then no releases, bug fixes or security fixes.
END_OF_LIFE = dt.date(2026, 3, 31)
END_OF_LIFE_SOURCE = "https://kubernetes.io/blog/2025/11/11/ingress-nginx-retirement/"

Version = tuple[int, int, int]


@dataclass(frozen=True)
class Advisory:
    cve: str
    title: str
    affected: tuple[tuple[Version, Version], ...]  # [introduced, fixed) ranges
    url: str

    def affects(self, version: Version) -> bool:
        return any(low <= version < high for low, high in self.affected)


_NIGHTMARE = (((0, 0, 0), (1, 11, 5)), ((1, 12, 0), (1, 12, 1)))  # fixed in v1.11.5 and v1.12.1
ADVISORIES: tuple[Advisory, ...] = (
    Advisory("CVE-2025-1974", "unauthenticated configuration injection through the admission webhook (remote code "
             "execution, IngressNightmare)", _NIGHTMARE, "https://github.com/kubernetes/kubernetes/issues/131009"),
    Advisory("CVE-2025-1097", "configuration injection via the auth-tls-match-cn annotation", _NIGHTMARE,
             "https://github.com/kubernetes/kubernetes/issues/131007"),
    Advisory("CVE-2025-1098", "configuration injection via the mirror annotations", _NIGHTMARE,
             "https://github.com/kubernetes/kubernetes/issues/131008"),
    Advisory("CVE-2025-24514", "configuration injection via the auth-url annotation", _NIGHTMARE,
             "https://github.com/kubernetes/kubernetes/issues/131006"),
    Advisory("CVE-2025-24513", "auth secret file path traversal", _NIGHTMARE,
             "https://github.com/kubernetes/kubernetes/issues/131005"),
    Advisory("CVE-2026-24512", "configuration injection (fixed in v1.13.7 and v1.14.3)",
             (((0, 0, 0), (1, 13, 7)), ((1, 14, 0), (1, 14, 3))),
             "https://github.com/kubernetes/kubernetes/issues/136678"),
    Advisory("CVE-2025-15566", "configuration injection (fixed in v1.13.7 and v1.14.3)",
             (((0, 0, 0), (1, 13, 7)), ((1, 14, 0), (1, 14, 3))),
             "https://github.com/kubernetes/kubernetes/issues/136789"),
    Advisory("CVE-2024-7646", "annotation validation bypass (command injection, controller credentials)",
             (((0, 0, 0), (1, 10, 4)), ((1, 11, 0), (1, 11, 2))),
             "https://github.com/kubernetes/kubernetes/issues/126744"),
    Advisory("CVE-2023-5043", "annotation injection via configuration-snippet (arbitrary command execution); "
             "v1.9.0 allows the mitigation (--enable-annotation-validation)", (((0, 0, 0), (1, 9, 0)),),
             "https://github.com/kubernetes/ingress-nginx/issues/10571"),
    Advisory("CVE-2023-5044", "code injection via the permanent-redirect annotation", (((0, 0, 0), (1, 9, 0)),),
             "https://github.com/kubernetes/ingress-nginx/issues/10572"),
    Advisory("CVE-2021-25742", "custom snippets retrieve the controller's service account token and every secret; "
             "v0.49.1 and v1.0.1 allow the mitigation (allow-snippet-annotations: false)",
             (((0, 0, 0), (0, 49, 1)), ((1, 0, 0), (1, 0, 1))),
             "https://github.com/kubernetes/kubernetes/issues/126811"),
)

_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)")


def is_controller_image(host: str, path: str) -> bool:
    repo = f"{host}/{path}".lower()
    return repo in IMAGE_REPOSITORIES


def version_of(tag: str | None) -> Version | None:
    """The controller version a tag names (v1.11.3, 1.11.3-debian-12-r0), or None."""
    m = _VERSION.match(tag or "")
    return (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None


def advisories_for(version: Version) -> list[Advisory]:
    return [a for a in ADVISORIES if a.affects(version)]
