"""Credentials inside values: a SAS URL's signature, a connection string's key, ``user:password@`` in a URL,
a private key, a bearer token (JWT). Redacting by key name (``adminPassword``, ``secret``) misses these:
a storage SAS URL is a plain string property, yet ``sig=`` is the whole credential.

:func:`redact_text` keeps the shape (``...&sig=<redacted>``) so evidence still says what was there.
"""

from __future__ import annotations

import re

REDACTED = "<redacted>"
# query parameters that carry a credential (SAS signatures, OAuth tokens and codes, API keys)
_URL_PARAM = re.compile(r"([?&](?:sig|signature|token|access_token|id_token|refresh_token|code|client_secret|"
                        r"secret|password|passwd|pwd|api[-_]?key|apikey|key|sas)=)[^&#\s\"'<>]+", re.I)
# connection strings: AccountKey=...; SharedAccessKey=...; Password=...
_CONNECTION = re.compile(r"((?:^|[;\s\"'])(?:AccountKey|SharedAccessKey|SharedAccessSignature|Password|Pwd|"
                         r"ClientSecret|AccessKey|PrimaryKey|SecondaryKey)\s*=)[^;\"']+", re.I)
_USERINFO = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@\"'<>]*:)[^/\s@\"'<>]+@", re.I)
_PRIVATE_KEY = re.compile(r"-----BEGIN ([A-Z ]*)PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)", re.S)
# command-line flags with a credential value (a kubelet or kube-apiserver command line in kube-bench's audit output)
_FLAG = re.compile(r"(--[a-z0-9-]*(?:token|password|passwd|secret)=[\"']?)[^\s\"']+", re.I)
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]*")


def redact_text(text: str) -> str:
    """``text`` with credential-looking parts replaced by ``<redacted>`` (cheap when there are none)."""
    if "=" in text:
        text = _URL_PARAM.sub(lambda m: m.group(1) + REDACTED, text)
        text = _CONNECTION.sub(lambda m: m.group(1) + REDACTED, text)
        if "--" in text:
            text = _FLAG.sub(lambda m: m.group(1) + REDACTED, text)
    if "@" in text:
        text = _USERINFO.sub(lambda m: m.group(1) + REDACTED + "@", text)
    if "PRIVATE KEY-----" in text:
        text = _PRIVATE_KEY.sub(lambda m: f"<redacted {m.group(1)}private key>", text)
    if "eyJ" in text:
        text = _JWT.sub("<redacted token>", text)
    return text
