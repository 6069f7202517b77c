"""One home for recognising secrets: by the name they are stored under and by the shape of the value.

Every output (evidence, reasons, diagnostics, the run's metadata, pytest-html) and both snapshot writers
(``k8s/snapshot.py`` through the collector, ``azure/snapshot.py``) use these patterns; no other module
keeps its own.

*Names.* A property, parameter, env variable or option whose name says "secret" holds one wherever it
occurs (``adminPassword``, ``clientSecret``, ``DB_PASSWORD``). The patterns differ by where the name is
found, because the cost of a false match differs: evidence keeps a boolean ``enableSecretRotation``
readable (only *string* values of :data:`SECRET_LEAF` keys are dropped from snapshots), while run metadata
drops anything that might be a credential.

*Values.* Redacting by key name misses credentials inside plain strings: a storage SAS URL is a plain
string property, yet ``sig=`` is the whole credential. :func:`redact_text` keeps the shape
(``...&sig=<redacted>``) so evidence still says what was there.
"""

from __future__ import annotations

import re
from typing import Any

from .memo import Memo
from .textsafe import cap

REDACTED = "<redacted>"

# -- names --------------------------------------------------------------------------------------------
# keys inside evidence values (a nested object shown as evidence): any key containing one of these
SECRET_KEY = re.compile(r"secret|password|passwd|token|connectionstring|sas|credential|privatekey|"
                        r"clientkey|accesskey|adminkey|primarykey|secondarykey|apikey|certificate(?!s?authority)",
                        re.I)
# snapshot leaves: string values of keys ending in one of these are secrets wherever they occur
SECRET_LEAF = re.compile(r"(password|passwd|secret|clientsecret|connectionstring|primarykey|secondarykey|accesskey|"
                         r"privatekey|sastoken|apikey|accesstoken|refreshtoken|token)$", re.I)
# template parameter names whose default values are dropped from exported templates
SECRET_PARAMETER = re.compile(r"passw(or)?d|pwd|secret|token|connectionstring|key$|sas|credential|api_?key|"
                              r"private_?key|access_?key|key_?data|pat$|auth|cert", re.I)
# container env variable names (AKS-123; the collector drops such literal values from snapshots)
SECRET_ENV_NAME = re.compile(
    r"passw(or)?d|passwd|(^|_)pwd($|_)|secret|token|api_?key|access_?key|private_?key|client_?key|credential|"
    r"conn(ection)?_?str|(^|_)key($|_)|sas_?token|signature", re.I)
# run metadata and pytest-html environment keys: anything that might name a credential
SECRET_SETTING = re.compile(r"secret|passw|pwd|token|credential|private|apikey|api_key|access_key|accesskey|"
                            r"connection_?string|sas|auth|cookie|session|signature|\bpat\b|_pat$|^pat_|key$", re.I)
# ARM parameter types whose values are never read or shown
SECURE_TYPES = frozenset({"securestring", "secureobject"})


def is_secure_type(ptype: Any) -> bool:
    return isinstance(ptype, str) and ptype.lower() in SECURE_TYPES


# -- values -------------------------------------------------------------------------------------------
_H = r"[^/\s\"'<>]"  # a character of a URL's host
# query parameters that carry a credential (SAS signatures, OAuth tokens and codes, API keys)
_URL_PARAM = re.compile(r"([?&](?:sig|signature|token|access_token|id_token|refresh_token|code|client_secret|"
                        r"secret|password|passwd|pwd|api[-_]?key|apikey|key|sas)=)[^&#\s\"'<>]+", re.I)
# connection strings: AccountKey=...; SharedAccessKey=...; Password=...; Password='...'; Pwd={...}
_CONNECTION = re.compile(r"((?:^|[;\s\"'])(?:AccountKey|SharedAccessKey|SharedAccessSignature|Password|Passwd|Pwd|"
                         r"ClientSecret|Client Secret|AccessKey|PrimaryKey|SecondaryKey|Secret|ApiKey|AuthToken|Token)"
                         r"\s*=\s*)('[^']*'?|\"[^\"]*\"?|\{[^}]*\}?|[^;\"'\s][^;\"']*)", re.I)
# a URL's user:password@ (both parts: a token is often the user, with a dummy password like x-oauth-basic)
# (a scheme is at most 32 characters: unbounded, every word of a long "a.b-c.d-..." rescanned it to its end)
_USERINFO = re.compile(r"(\b[a-z][a-z0-9+.-]{0,31}://)[^/\s:@\"'<>]*:[^/\s@\"'<>]+@", re.I)
# the same without a scheme: "admin:pw@db.internal:5432/app" (a DSN), "user:pw@tcp(db:3306)/x" (Go's MySQL),
# "u:pw@registry.io/nginx" (an image). Not an image digest ("nginx:1.25@sha256:<hex>") nor an e-mail address.
# Both parts bounded: unbounded, every ",a:" of a long text would rescan to its end (quadratic).
_BARE_USERINFO = re.compile(r"(?<![A-Za-z0-9_.%+:/@-])(?!mailto:)[A-Za-z0-9_.%+-]{1,256}:[^/\s@\"'<>]{1,256}@"
                            r"(?![A-Za-z0-9+._-]{1,32}:[0-9a-fA-F]{32,})(?=[A-Za-z0-9(\[])", re.I)
# NAME=VALUE or NAME: VALUE where NAME says it holds a credential, in any notation: an env assignment
# (DD_API_KEY=...), a connection string member (,password=...), a header (X-Api-Key: ...), JSON or a Python
# repr ("password": "...", 'client_secret': '...'), URL-encoded (Password%3D...). The value is the credential.
_SECRET_NAME = (r"[A-Za-z0-9_.-]*?(?:passw(?:or)?d|pwd|secret|token|api[-_]?key|access[-_]?key|private[-_]?key|"
                r"account[-_]?key|shared[-_]?access[-_]?key|client[-_]?key|credentials?|signature|sig|pat|auth)")
_VALUE = r"('[^']*'?|\"[^\"]*\"?|\{[^}]*\}?|(?!<redacted)[^\s;,&\"'<>{}]+)"
_ASSIGNED = re.compile(r"((?<![A-Za-z0-9_.%-])(?:" + _SECRET_NAME + r"|[A-Za-z0-9_.-]*key)\s*(?:=|%3D)\s*)" + _VALUE,
                       re.I)
# after a colon only the names that cannot start prose ("no credential: ...")
_COLON_NAME = r"[A-Za-z0-9_.-]*?(?:passw(?:or)?d|pwd|secret|token|api[-_]?key|access[-_]?key|private[-_]?key|account[-_]?key)"
_COLON = re.compile(r"((?:(?<=^)|(?<=[\s{,;(\[]))([\"']?)" + _COLON_NAME + r"\2\s*:\s*)" + _VALUE, re.I)
# a bare 64-byte key in base64 (Azure storage and Cosmos DB account keys): 86 characters and '=='
_ACCOUNT_KEY = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{86}==(?![A-Za-z0-9+/=])")
_PRIVATE_KEY = re.compile(r"-----BEGIN ([A-Z ]*)PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)", re.S)
# command-line flags with a credential value (a kubelet or kube-apiserver command line in kube-bench's audit output)
# (from the start of a run of dashes only, and a flag's name bounded: from every "--" of a run of 80,000 dashes
# the run was rescanned, minutes)
# (--flag=value, or --flag value as Go's flag package also reads it: the next word, unless it is another flag)
_FLAG = re.compile(r"((?<![a-z0-9-])--[a-z0-9-]{0,128}?(?:token|password|passwd|secret)(?:=|[ \t]+)[\"']?)(?!-)"
                   r"[^\s\"']+", re.I)
# an env variable as a list entry, serialised (an env list copied into an annotation, a ConfigMap, a kubeconfig's
# exec env): {"name": "DB_PASSWORD", "value": "..."}, {name: X, value: Y}, or YAML's "- name: X" and "value: Y" on
# the next line. The value is the credential when the name says so (the names _ASSIGNED reads, ending the name).
# Every part bounded: a candidate starts at a "name" that is a whole word, and reads at most a few hundred characters.
_PAIR = re.compile(
    r"((?<![A-Za-z0-9_])([\"']?)name\2[ \t]{0,8}:[ \t]{0,8}([\"']?)[A-Za-z0-9_.-]{0,128}?"
    r"(?:passw(?:or)?d|pwd|secret|token|api[-_]?key|access[-_]?key|private[-_]?key|account[-_]?key|"
    r"client[-_]?key|credentials?|signature|auth|key)\3[ \t]{0,8}(?:,|\r?\n)[ \t\r\n]{0,64}"
    r"([\"']?)value\4[ \t]{0,8}:[ \t]{0,8})" + _VALUE, re.I)
# a Docker config's "auth" (base64 of user:password: a Secret's .dockerconfigjson, an imagePullSecret copied
# elsewhere); the JSON key only, so prose ("auth: required") stays
_DOCKER_AUTH = re.compile(r"(\"auth\"[ \t]{0,8}:[ \t]{0,8})(\"[^\"]*\"?)")
# a private key in base64 (a kubeconfig's client-key-data, a Secret's tls.key): "-----BEGIN" then "PRIVATE KEY" in
# any of base64's three alignments
_B64_PRIVATE_KEY = re.compile(r"LS0tLS1CRUdJTi[A-Za-z0-9+/]{0,40}?(?:UFJJVkFURSBLRV|BSSVZBVEUgS0VZ|QUklWQVRFIEtFW)"
                              r"[A-Za-z0-9+/=]*")
# (not inside a run of token characters: "-eyJ-eyJ-..." would rescan the run from every "eyJ", quadratic)
_JWT = re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]*")
# opaque tokens after an HTTP auth scheme ("Authorization: Bearer abc...", "Basic dXNlcjpwYXNz"): a word of
# token characters with a digit, or a long one (so "Basic tier" stays readable)
_TOKEN_CHARS = r"[A-Za-z0-9._~+/=-]"
_AUTH_SCHEME = re.compile(r"\b(Bearer|Basic)(\s+)(?:(?=" + _TOKEN_CHARS + r"*[0-9+/=])" + _TOKEN_CHARS + r"{8,}|"
                          + _TOKEN_CHARS + r"{20,})", re.I)
# issued tokens with a recognisable prefix: GitHub, Slack, GitLab, npm, PyPI, AWS access key ids, Stripe...
_PREFIXED_TOKEN = re.compile(
    r"(?<![A-Za-z0-9])(?:gh[pousr]_[A-Za-z0-9_]{8,}|github_pat_[A-Za-z0-9_]{8,}|xox[a-z]-[A-Za-z0-9-]{6,}|"
    r"xapp-[A-Za-z0-9-]{6,}|glpat-[A-Za-z0-9_-]{8,}|npm_[A-Za-z0-9]{16,}|pypi-[A-Za-z0-9_-]{16,}|"
    r"(?:AKIA|ASIA)[0-9A-Z]{16}|[rs]k_live_[A-Za-z0-9]{8,}|AIza[0-9A-Za-z_-]{20,})")
# webhook URLs whose path is the credential: Slack, Discord, Teams/Office 365 connectors, Zapier...
# Every part bounded (a host by 253 characters, the path before the webhook segment by 512): unbounded, each of
# the "https://" of "https://https://..." rescanned the rest of the text (quadratic: 1.6 MB took minutes).
_WEBHOOK = re.compile(
    r"(\bhttps?://(?:" + _H + r"{0,253}?hook" + _H + r"{0,253}/[^/\s\"'<>?#]{1,512}/|"
    + _H + r"{1,253}/(?:[^\s\"'<>?#]{0,512}?/)??(?:api/webhooks|webhooks?|webhookb2|IncomingWebhook)/))[^\s\"'<>?#]+",
    re.I)


# Texts already redacted (evidence and reasons repeat the same few hundred texts over every target:
# 150,000 calls and 166 distinct texts on 2,000 templates); short texts only, the memo bounded.
_REDACTED_TEXTS: Memo = Memo()
_MEMO_TEXT = 1000


def redact_text(text: str) -> str:
    """``text`` with credential-looking parts replaced by ``<redacted>`` (cheap when there are none)."""
    if type(text) is not str or len(text) > _MEMO_TEXT:  # a subclass (a Placeholder) is its own
        return _redact_text(text)
    hit = _REDACTED_TEXTS.get(text)
    if hit is not None:
        return hit
    return _REDACTED_TEXTS.put(text, _redact_text(text))


# A text is redacted before it is cut (a cut must not split a credential). Of a text far longer than what is kept,
# only a head this long is redacted: what is kept is its start, and a credential starting there is redacted whole
# unless it is longer than the window. Redacted whole, a name of 10 MB quoted by 22 sentences cost 22 redactions.
_HEAD_WINDOW = 256 * 1024


def redact_capped(text: str, limit: int) -> str:
    """``cap(redact_text(text), limit)``, in time bounded by ``limit`` for a text of any length."""
    if len(text) <= limit + _HEAD_WINDOW:
        return cap(redact_text(text), limit)
    return cap(redact_text(text[: limit + _HEAD_WINDOW]), limit, total=len(text))


def _redact_text(text: str) -> str:
    if "=" in text:
        text = _URL_PARAM.sub(lambda m: m.group(1) + REDACTED, text)
        text = _CONNECTION.sub(lambda m: m.group(1) + REDACTED, text)
    if "--" in text:
        text = _FLAG.sub(lambda m: m.group(1) + REDACTED, text)
    if "=" in text or "%3D" in text or "%3d" in text:
        text = _ASSIGNED.sub(lambda m: m.group(1) + REDACTED, text)
    if ":" in text:
        text = _COLON.sub(lambda m: m.group(1) + REDACTED, text)
        if "alue" in text or "ALUE" in text:
            text = _PAIR.sub(lambda m: m.group(1) + REDACTED, text)
        if '"auth"' in text:
            text = _DOCKER_AUTH.sub(lambda m: m.group(1) + REDACTED, text)
    if "LS0tLS1CRUdJTi" in text:
        text = _B64_PRIVATE_KEY.sub("<redacted base64 private key>", text)
    if "==" in text:
        text = _ACCOUNT_KEY.sub("<redacted key>", text)
    if "@" in text:
        text = _USERINFO.sub(lambda m: m.group(1) + REDACTED + "@", text)
        text = _BARE_USERINFO.sub(REDACTED + "@", text)
    if "PRIVATE KEY-----" in text:
        text = _PRIVATE_KEY.sub(lambda m: f"<redacted {m.group(1)}private key>", text)
    if "eyJ" in text:
        text = _JWT.sub("<redacted token>", text)
    if "://" in text and "hook" in text.lower():  # every webhook shape has "hook" in it
        text = _WEBHOOK.sub(lambda m: m.group(1) + REDACTED, text)
    text = _AUTH_SCHEME.sub(lambda m: m.group(1) + m.group(2) + REDACTED, text)
    text = _PREFIXED_TOKEN.sub("<redacted token>", text)
    return text


# markers of a credential even when the value is cut or reformatted (a key without its dashes, a bare prefix)
_CREDENTIAL_MARKER = re.compile(
    r"BEGIN [A-Z ]*PRIVATE KEY|(^|[^A-Z0-9])AKIA[0-9A-Z]{16}|(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.|"
    r"AccountKey=|SharedAccessKey=|SharedAccessSignature=|(^|[?&])sig=[A-Za-z0-9%]{20,}")


def looks_like_credential(value: str) -> bool:
    """Whether a literal value has a credential's shape (a marker, or :func:`redact_text` would change it)."""
    return bool(_CREDENTIAL_MARKER.search(value)) or redact_text(value) != value


def redact_strings(value: Any) -> Any:
    """``value`` (parsed JSON) with every string value passed through :func:`redact_text`, in place; keys are
    kept. Iterative, so a document of any depth is walked (a results document read back by ``report``)."""
    if isinstance(value, str):
        return redact_text(value)
    stack = [value]
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for k, v in list(items):
            if isinstance(v, str):
                node[k] = redact_text(v)
            elif isinstance(v, (dict, list)):
                stack.append(v)
    return value


def scrub(value: Any, counter: list[int] | None = None) -> Any:
    """A copy for a snapshot: string values of :data:`SECRET_LEAF` keys replaced (booleans and objects stay:
    ``enableSecretRotation: true`` is evidence), and credentials inside other strings (a SAS URL's ``sig=``, a
    connection string's key, a token in an annotation) redacted in place. ``counter[0]`` counts the changes."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if isinstance(v, str) and v and v != REDACTED and SECRET_LEAF.search(str(k)):
                out[k] = REDACTED
                if counter is not None:
                    counter[0] += 1
            elif isinstance(v, list) and SECRET_LEAF.search(str(k)):
                out[k] = _secret_list(v, counter)  # passwords: [..] is as secret as password: ..
            else:
                out[k] = scrub(v, counter)
        return out
    if isinstance(value, list):
        return [scrub(v, counter) for v in value]
    if isinstance(value, str):
        cleaned = redact_text(value)
        if cleaned != value and counter is not None:
            counter[0] += 1
        return cleaned
    return value


def _secret_list(items: list, counter: list[int] | None) -> list:
    """The list under a secret key, for a snapshot: its strings (in nested lists too) replaced, objects scrubbed."""
    out: list = []
    for v in items:
        if isinstance(v, str) and v and v != REDACTED:
            out.append(REDACTED)
            if counter is not None:
                counter[0] += 1
        elif isinstance(v, list):
            out.append(_secret_list(v, counter))
        else:
            out.append(scrub(v, counter))
    return out
