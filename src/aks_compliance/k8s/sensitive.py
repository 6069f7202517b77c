"""What looks like a credential in a container's environment or a ConfigMap (names and literal values).

Used by AKS-123 (literal credentials in env and ConfigMaps) and by the collector, which never writes such
a literal env value into a snapshot: it stores :data:`REDACTED` in its place, which AKS-123 still
recognises.

A *name* is sensitive when it contains one of the key names (kubescape's ``sensitiveKeyNames``): a key
name of five characters or more matches anywhere in the name, a shorter one (``key``, ``pwd``, ``jwt``)
only as a whole word, so ``MONKEY`` is not a key. A name flagged by its name alone is then judged by its
value: a file path (the remedy: the secret mounted as a file), a reference (``$(VAR)``, ``${VAR}``, a Key
Vault reference), a switch, a number or a URL without credentials is not a credential. A *value* is
sensitive when it matches one of the value patterns (``sensitiveValues``: private keys, AWS keys, JWTs,
bearer tokens in any case, Azure connection strings and SAS signatures ...), whatever its name.
``sensitiveKeyNamesAllowed`` and ``sensitiveValuesAllowed`` clear names and values an organisation knows
to be harmless.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from ..user_regex import PatternTooSlow, UserPattern, user_pattern
from .podspec import CONTAINER_GROUPS

DEFAULT_KEY_NAMES = (
    "password", "passwd", "pwd", "secret", "token", "apikey", "api_key", "accesskey", "access_key", "privatekey",
    "private_key", "clientkey", "client_key", "key", "credential", "connectionstring", "connection_string",
    "connstr", "conn_str", "sas", "signature", "bearer", "jwt", "aws_secret_access_key", "azure_batch_key",
    "azure_batchai_storage_key")
DEFAULT_VALUES = (
    r"BEGIN [A-Z ]*PRIVATE KEY",
    r"(^|[^A-Z0-9])AKIA[0-9A-Z]{16}",
    # not inside a run of token characters: from every "eyJ" of "eyJeyJ..." the run was rescanned (quadratic)
    r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.",
    r"(?i)\bbearer\s+[A-Za-z0-9\-._~+/]{8,}=*",
    r"(?i)\bbasic\s+[A-Za-z0-9+/]{12,}={0,2}(\s|$)",
    r"AccountKey=|SharedAccessKey=|SharedAccessSignature=",
    r"(^|[?&])sig=[A-Za-z0-9%]{20,}",
    r"\bghp_[A-Za-z0-9]{36}\b",
    r"\bxox[abpr]-[A-Za-z0-9-]{10,}",
    r"\bAIza[0-9A-Za-z_-]{35}\b",
)
REDACTED = "<redacted by the aks-compliance collector: a credential-looking literal>"

_WHOLE_WORD_BELOW = 5  # key names shorter than this match only as a whole word of the name
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_REFERENCE = re.compile(r"^\$\([A-Za-z_][A-Za-z0-9_]*\)$|^\$\{[^}]+\}$|^@Microsoft\.KeyVault\(|"
                        r"^https://[a-z0-9-]+\.vault\.azure\.net/|^secretref:", re.I)
_PATH = re.compile(r"^(/|\./|\.\./|~/|[A-Za-z]:\\)[^\s]*$")
_SWITCH = re.compile(r"^(true|false|yes|no|on|off|enabled|disabled|none|null)$", re.I)
_NUMBER = re.compile(r"^-?\d+(\.\d+)?(ms|s|m|h|d)?$", re.I)
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://[^\s@/]+(/[^\s?]*)?(\?[^\s]*)?$", re.I)
_URL_CREDENTIAL_QUERY = re.compile(r"[?&](sig|token|key|password|secret|code)=", re.I)


def _words(name: str) -> list[str]:
    return [w for w in re.split(r"[^a-z0-9]+", _CAMEL.sub("_", name).lower()) if w]


def _squash(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def not_a_credential(value: str) -> str | None:
    """Why a literal value cannot be a credential (a path, a reference, a switch ...), or None."""
    v = value.strip()
    if not v:
        return "empty"
    if _REFERENCE.search(v):
        return "a reference"
    if _PATH.match(v):
        return "a file path"
    if _SWITCH.match(v):
        return "a switch"
    if _NUMBER.match(v):
        return "a number"
    if _URL.match(v) and not _URL_CREDENTIAL_QUERY.search(v):
        return "a URL without credentials"
    return None


def _list(value: Any, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"parameter {what} must be a list of strings, not {value!r}")
    return tuple(value)


class _Ours:
    """A pattern of :data:`DEFAULT_VALUES`: linear on any text (tests/test_hostile_round_six.py), run by ``re``."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._compiled = re.compile(pattern)

    def search(self, value: str) -> bool:
        return self._compiled.search(value) is not None


def _compile(patterns: Iterable[str], what: str) -> tuple[tuple[str, UserPattern | _Ours], ...]:
    out: list[tuple[str, UserPattern | _Ours]] = []
    for p in patterns:
        try:  # the user's patterns run with a time bound (user_regex.py)
            out.append((what, _Ours(p) if p in DEFAULT_VALUES else user_pattern(p)))
        except re.error as exc:
            raise ValueError(f"parameter {what}: {p!r} is not a regular expression ({exc})") from None
    return tuple(out)


def _search(patterns: tuple[tuple[str, UserPattern | _Ours], ...], value: str) -> str | None:
    """The first pattern found in ``value``; one that ran past its time bound is an error naming its parameter."""
    for what, p in patterns:
        try:
            if p.search(value):
                return p.pattern
        except PatternTooSlow as exc:
            raise PatternTooSlow(f"parameter {what}: {exc}") from None
    return None


@dataclass(frozen=True)
class SensitiveRules:
    key_names: tuple[str, ...] = DEFAULT_KEY_NAMES
    values: tuple[str, ...] = DEFAULT_VALUES
    key_names_allowed: tuple[str, ...] = ()
    values_allowed: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "_values", _compile(self.values, "sensitiveValues"))
        object.__setattr__(self, "_values_allowed", _compile(self.values_allowed, "sensitiveValuesAllowed"))
        # key names prepared once: (name, squashed, words, matches anywhere)
        keys = [(k, _squash(k), _words(k)) for k in self.key_names]
        object.__setattr__(self, "_keys", [(k, sq, w, len(sq) >= _WHOLE_WORD_BELOW) for k, sq, w in keys if sq])
        object.__setattr__(self, "_allowed", [sq for sq in (_squash(a) for a in self.key_names_allowed) if sq])

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> "SensitiveRules":
        """The rules a control's parameters state (kubescape's data inputs of the same names); built once per
        distinct setting."""
        return _rules(_list(params.get("sensitiveKeyNames", DEFAULT_KEY_NAMES), "sensitiveKeyNames"),
                      _list(params.get("sensitiveValues", DEFAULT_VALUES), "sensitiveValues"),
                      _list(params.get("sensitiveKeyNamesAllowed"), "sensitiveKeyNamesAllowed"),
                      _list(params.get("sensitiveValuesAllowed"), "sensitiveValuesAllowed"))

    def name_matches(self, name: str) -> str | None:
        """The key name ``name`` contains (None when none does, or an allowed name is in it)."""
        squashed = _squash(name)
        if any(a in squashed for a in self._allowed):  # type: ignore[attr-defined]
            return None
        words: list[str] | None = None
        for key, k, kw, anywhere in self._keys:  # type: ignore[attr-defined]
            if anywhere:
                if k in squashed:
                    return key
                continue
            if k not in squashed:
                continue  # a whole word is also a substring: most names stop here
            words = words if words is not None else _words(name)
            if any(words[i:i + len(kw)] == kw for i in range(len(words) - len(kw) + 1)):
                return key
        return None

    def value_matches(self, value: str) -> str | None:
        if _search(self._values_allowed, value):  # type: ignore[attr-defined]
            return None
        return _search(self._values, value)  # type: ignore[attr-defined]

    def judge(self, name: Any, value: Any) -> str | None:
        """Why a literal value looks like a credential, in words, or None."""
        if not isinstance(value, str) or value == "":
            return None
        if value == REDACTED:
            return "a value the collector redacted as a credential"
        pattern = self.value_matches(value)
        if pattern:
            return f"a credential-looking value (pattern {pattern!r})"
        key = self.name_matches(str(name or ""))
        if key and not_a_credential(value) is None:
            return f"a credential-looking name (contains {key!r}) with a literal value"
        return None


@functools.lru_cache(maxsize=32)
def _rules(*lists: tuple[str, ...]) -> SensitiveRules:
    return SensitiveRules(*lists)


DEFAULT_RULES = SensitiveRules()


def looks_sensitive(name: Any, value: Any, rules: SensitiveRules = DEFAULT_RULES) -> str | None:
    """Why a literal env value looks like a credential, or None (see :meth:`SensitiveRules.judge`)."""
    return rules.judge(name, value)


def redact_env(pod_spec: Any) -> int:
    """Replace credential-looking literal env values in every container of ``pod_spec``; how many."""
    n = 0
    if not isinstance(pod_spec, dict):
        return 0
    for group in CONTAINER_GROUPS:
        for c in pod_spec.get(group) or []:
            if not isinstance(c, dict):
                continue
            for e in c.get("env") or []:
                if isinstance(e, dict) and looks_sensitive(e.get("name"), e.get("value")):
                    if e["value"] != REDACTED:
                        e["value"] = REDACTED
                        n += 1
    return n
