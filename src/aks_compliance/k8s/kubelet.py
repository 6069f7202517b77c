"""The kubelet's running configuration (``/api/v1/nodes/{name}/proxy/configz``) and what CIS AKS 3.2 asks of it.

The endpoint answers ``{"kubeletconfig": {...}}``: the kubelet's effective configuration (flags and config file
merged, defaults applied), serialised as ``kubelet.config.k8s.io/v1beta1`` KubeletConfiguration
(kubernetes ``test/e2e_node/util.go``, ``configzWrapper``). That serialisation omits empty values of plain
fields (``omitempty``): an absent ``readOnlyPort`` is 0 (disabled), an absent ``rotateCertificates`` is false, an
absent ``authentication.x509.clientCAFile`` is no client CA. Pointer fields (``authentication.anonymous.enabled``,
``makeIPTablesUtilChains``, ``eventRecordQPS``) and structs (``streamingConnectionIdleTimeout``) are always written
once defaults are applied, so their absence means the answer is not what a kubelet reports: unknown. An absent
feature gate is the gate's own default. (Field semantics: k8s.io/kubelet/config/v1beta1 ``types.go``.)

``SETTINGS`` is the one table: per CIS id the field, the flag, what an absent value means and the rule; the node
controls (``controls/catalog/k8s_nodes.py``) and the pool grouping in the reports read it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from ..wording import json_type

TYPES_SOURCE = "https://github.com/kubernetes/kubernetes/blob/master/staging/src/k8s.io/kubelet/config/v1beta1/types.go"
CONFIGZ_SOURCE = "https://github.com/kubernetes/kubernetes/blob/master/test/e2e_node/util.go"

# Values of these fields may carry credentials (HTTP headers for static pod URLs): kept out of snapshots.
SECRET_FIELDS = ("staticPodURLHeader",)


class Malformed(ValueError):
    """A value of the wrong type in the kubelet's configuration: an error, never read as compliant."""


_ABSENT = object()


def field(config: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    """The value at ``path`` (``_ABSENT`` when a member is missing); a non-object on the way is malformed."""
    value: Any = config
    for i, key in enumerate(path):
        if value is None:
            return _ABSENT
        if not isinstance(value, Mapping):
            raise Malformed(f"{'.'.join(path[:i]) or 'kubeletconfig'} is {json_type(value)}, not an object")
        if key not in value:
            return _ABSENT
        value = value[key]
    return _ABSENT if value is None else value


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|\u00b5s|ms|s|m|h)")
MAX_DURATION = 100


def duration_seconds(text: Any) -> float:
    """Seconds of a Go duration (``4h0m0s``, ``5m``, ``0s``, ``0``), as metav1.Duration writes it."""
    if not isinstance(text, str):
        raise Malformed(f"{text!r} is not a duration")
    if len(text) > MAX_DURATION:  # int64 nanoseconds: no duration is longer; findall would rescan a long run
        raise Malformed(f"a text of {len(text):,} characters is not a duration")
    s = text.strip()
    if s in ("0", "-0", "+0"):
        return 0.0
    sign = -1.0 if s.startswith("-") else 1.0
    body = s.lstrip("+-")
    parts = _DURATION.findall(body)
    if not parts or "".join(n + u for n, u in parts) != body:
        raise Malformed(f"{text!r} is not a duration")
    unit = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
    return sign * sum(float(n) * unit[u] for n, u in parts)


def _bool(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise Malformed(f"{what} is {value!r}, not a boolean")
    return value


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Malformed(f"{what} is {value!r}, not an integer")
    return value


@dataclass(frozen=True)
class Judgement:
    ok: bool | None  # None: unknown (with ``reason``)
    expected: str
    actual: Any
    reason: str = ""
    note: str = ""  # what an absent value stands for, shown beside it


@dataclass(frozen=True)
class KubeletSetting:
    cis: str
    path: tuple[str, ...]  # in KubeletConfiguration (configz)
    flag: str
    absent: str  # "zero": omitted when empty (then ``zero``); "always": the kubelet always writes it; "gate"
    compliant: Callable[[Any, Mapping[str, Any]], bool]  # of a present value; raises Malformed on a wrong type
    expected: str  # what CIS asks, as evidence shows it ({minimum}: the minimumEventRecordQPS parameter)
    zero: Any = None

    @property
    def dotted(self) -> str:
        return ".".join(self.path)

    def expected_text(self, params: Mapping[str, Any]) -> str:
        return self.expected.format(minimum=params.get("minimumEventRecordQPS", 5))


def _anonymous(v: Any, p: Mapping[str, Any]) -> bool:
    return _bool(v, "authentication.anonymous.enabled") is False


def _authorization(v: Any, p: Mapping[str, Any]) -> bool:
    if not isinstance(v, str):
        raise Malformed(f"authorization.mode is {v!r}, not a string")
    return v not in ("AlwaysAllow", "")


def _client_ca(v: Any, p: Mapping[str, Any]) -> bool:
    if not isinstance(v, str):
        raise Malformed(f"authentication.x509.clientCAFile is {v!r}, not a string")
    return bool(v.strip())


def _read_only_port(v: Any, p: Mapping[str, Any]) -> bool:
    return _int(v, "readOnlyPort") == 0


def _idle_timeout(v: Any, p: Mapping[str, Any]) -> bool:
    return duration_seconds(v) != 0


def _iptables(v: Any, p: Mapping[str, Any]) -> bool:
    return _bool(v, "makeIPTablesUtilChains") is True


def _event_qps(v: Any, p: Mapping[str, Any]) -> bool:
    n = _int(v, "eventRecordQPS")
    if n < 0:
        raise Malformed(f"eventRecordQPS is {n}: the kubelet rejects a negative value")
    return n == 0 or n >= int(p.get("minimumEventRecordQPS", 5))


def _rotate(v: Any, p: Mapping[str, Any]) -> bool:
    return _bool(v, "rotateCertificates") is True


def _server_rotation(v: Any, p: Mapping[str, Any]) -> bool:
    return _bool(v, "featureGates.RotateKubeletServerCertificate") is True


SETTINGS: tuple[KubeletSetting, ...] = (
    KubeletSetting("3.2.1", ("authentication", "anonymous", "enabled"), "--anonymous-auth", "always", _anonymous,
                   "false"),
    KubeletSetting("3.2.2", ("authorization", "mode"), "--authorization-mode", "always", _authorization,
                   "not AlwaysAllow (Webhook)"),
    KubeletSetting("3.2.3", ("authentication", "x509", "clientCAFile"), "--client-ca-file", "zero", _client_ca,
                   "a client CA file", ""),
    KubeletSetting("3.2.4", ("readOnlyPort",), "--read-only-port", "zero", _read_only_port,
                   "0 (the read-only port disabled)", 0),
    KubeletSetting("3.2.5", ("streamingConnectionIdleTimeout",), "--streaming-connection-idle-timeout", "always",
                   _idle_timeout, "not 0"),
    KubeletSetting("3.2.6", ("makeIPTablesUtilChains",), "--make-iptables-util-chains", "always", _iptables, "true"),
    KubeletSetting("3.2.7", ("eventRecordQPS",), "--event-qps", "always", _event_qps,
                   "0 (no limit) or at least {minimum}"),
    KubeletSetting("3.2.8", ("rotateCertificates",), "--rotate-certificates", "zero", _rotate, "true", False),
    KubeletSetting("3.2.9", ("featureGates", "RotateKubeletServerCertificate"), "--feature-gates", "gate",
                   _server_rotation, "true"),
)
BY_CIS: dict[str, KubeletSetting] = {s.cis: s for s in SETTINGS}

# RotateKubeletServerCertificate: beta and enabled by default since Kubernetes 1.12 (kubernetes/enhancements#267).
GATE_DEFAULT_TRUE_SINCE = (1, 12)
GATE_SOURCE = "https://github.com/kubernetes/enhancements/issues/267"


def judge(setting: KubeletSetting, config: Mapping[str, Any], params: Mapping[str, Any],
          kubelet_version: tuple[int, int] | None) -> Judgement:
    """One CIS 3.2 setting of a node's effective kubelet configuration. Raises Malformed on a wrong type."""
    expected = setting.expected_text(params)
    value = field(config, setting.path)
    if value is not _ABSENT:
        return Judgement(setting.compliant(value, params), expected, value)
    if setting.absent == "zero":
        return Judgement(setting.compliant(setting.zero, params), expected, setting.zero,
                         note=f"absent: the kubelet omits the empty value (omitempty), so it is {setting.zero!r}")
    if setting.absent == "gate":
        if kubelet_version is None:
            return Judgement(None, expected, _ABSENT, reason="the feature gate RotateKubeletServerCertificate is not "
                             "set and the node's kubelet version, which decides its default, is not known")
        on = kubelet_version >= GATE_DEFAULT_TRUE_SINCE
        return Judgement(on, expected, on, note=f"absent: the feature gate's default, "
                         f"{'true since' if on else 'false before'} Kubernetes 1.12 ({GATE_SOURCE})")
    return Judgement(None, expected, _ABSENT, reason=f"{setting.dotted} is absent from the node's configz answer: a "
                     "kubelet always reports it once its defaults are applied, so the answer is incomplete")


def is_absent(value: Any) -> bool:
    return value is _ABSENT


def redact_configz(config: dict[str, Any]) -> dict[str, Any]:
    """The configuration without values that may be credentials (``SECRET_FIELDS``)."""
    out = dict(config)
    for key in SECRET_FIELDS:
        if isinstance(out.get(key), dict):
            out[key] = {k: ["<redacted>"] for k in out[key]}
    return out
