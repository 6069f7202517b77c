"""Text from inputs made safe to show where characters act instead of printing: terminals and CI logs
(an ESC sequence can clear or rewrite a log, BEL rings, NUL cuts a line, a right-to-left override reverses
what follows) and spreadsheets, and every report a person reads (HTML, SARIF, JUnit XML). Also lone surrogates (a JSON ``\\ud800`` escape, a file name that is not
UTF-8), which no UTF-8 output can encode: they are written as escapes, never a crash.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

# C0 controls but tab and newline, DEL, C1 controls, lone surrogates; bidirectional marks, embeddings, overrides
# and isolates (U+061C, U+200E/F, U+202A-E, U+2066-9: they reorder what a reader sees); characters that show
# nothing (zero-width space, joiners, word joiner, invisible operators, soft hyphen, BOM, tag characters, Hangul
# fillers: "aks-prod" and "aks-pr<U+200B>od" would read the same) and line or paragraph separators (a new line in
# some viewers). Joiners are escaped too, though emoji and some scripts use them: a name is shown unambiguously.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\xad\u061c\u115f\u1160\u180e\u200b-\u200f\u2028-\u202e"
                     "\u2060-\u2064\u2066-\u206f\u3164\ufeff\uffa0\ufff9-\ufffb\ud800-\udfff"
                     "\U000e0001\U000e0020-\U000e007f]")
# what pytest's own colour markup writes (Select Graphic Rendition): kept when markup is on
_SGR = re.compile(r"\x1b\[[0-9;]*m")


def _escape(m: re.Match[str]) -> str:
    ch = m.group(0)
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def escape_controls(text: str) -> str:
    """``text`` with control, bidi-override and lone-surrogate characters as visible escapes (``\\x1b``)."""
    if text.isascii() and text.isprintable():  # most texts, and two C-speed tests are half the regex's cost
        return text
    return _UNSAFE.sub(_escape, text)


def escape_strings(value: Any) -> Any:
    """``value`` (JSON-like) with :func:`escape_controls` applied to every string in it, keys included: for
    documents a person reads through a viewer (SARIF in a code-scanning page)."""
    if isinstance(value, str):
        return escape_controls(value)
    if isinstance(value, dict):
        return {escape_strings(k): escape_strings(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [escape_strings(v) for v in value]
    return value


def escape_terminal(text: str, keep_colour: bool = False) -> str:
    """For a terminal: :func:`escape_controls`, keeping carriage returns out too; with ``keep_colour`` the
    colour codes pytest itself writes stay (an input's colour code is harmless; no other sequence is kept)."""
    if not keep_colour or "\x1b" not in text:
        return _UNSAFE.sub(_escape, text)
    out = []
    pos = 0
    for m in _SGR.finditer(text):
        out.append(_UNSAFE.sub(_escape, text[pos:m.start()]))
        out.append(m.group(0))
        pos = m.end()
    out.append(_UNSAFE.sub(_escape, text[pos:]))
    return "".join(out)


class EscapingFile:
    """A text stream that writes :func:`escape_terminal` of everything: installed under pytest's terminal
    writer, it covers test ids, failure texts and the summary alike."""

    def __init__(self, inner, keep_colour: bool) -> None:
        self._inner = inner
        self._keep_colour = keep_colour

    def write(self, text: str) -> int:
        return self._inner.write(escape_terminal(text, self._keep_colour) if isinstance(text, str) else text)

    def __getattr__(self, name: str):
        return getattr(self._inner, name)


class _Guard:
    """Wraps the terminal writer once the terminal reporter exists (it may be configured after us)."""

    def __init__(self, config) -> None:
        self.config = config

    def pytest_sessionstart(self) -> None:
        _wrap(self.config)

    def pytest_collection_finish(self) -> None:
        _wrap(self.config)


def guard_terminal(config) -> None:
    """Put :class:`EscapingFile` under pytest's terminal reporter, now or when the session starts."""
    _wrap(config)
    if not config.pluginmanager.has_plugin("aksc-terminal-guard"):
        config.pluginmanager.register(_Guard(config), "aksc-terminal-guard")


def _wrap(config) -> None:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    tw = getattr(reporter, "_tw", None)
    if tw is None or isinstance(getattr(tw, "_file", None), EscapingFile):
        return
    tw._file = EscapingFile(tw._file, keep_colour=bool(getattr(tw, "hasmarkup", False)))


# Names from inputs (a cluster, a file, an object) are shown in evidence, test ids and every report, once per
# result: a 10 MB name would make gigabytes of output. Longer ones are cut with a visible marker that keeps
# them distinct (the length and a hash of the whole name).
MAX_NAME = 256
MAX_MESSAGE = 4000


def cap(text: str, limit: int = MAX_NAME, total: int | None = None) -> str:
    """``text`` when it is at most ``limit`` characters, else its start and a marker ``…[+N characters, #hash]``.
    ``total``: the length of the whole text when ``text`` is only its head (the hash is then the head's)."""
    if not isinstance(text, str) or (len(text) <= limit and total is None):
        return text
    size = len(text) if total is None else total
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass") +
                            (b"" if total is None else f"/{total}".encode())).hexdigest()[:10]
    marker = f"…[+{size - limit + 40:,} characters, #{digest}]"
    return text[: max(0, limit - 40)] + marker
