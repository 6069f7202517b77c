"""Reading JSON the way ARM reads it, and finding lines for JSON pointers.

ARM accepts ``//`` and ``/* */`` comments and trailing commas (the aks-baseline template relies on it);
``json.loads`` does not. Files are parsed with the fast C parser first and only cleaned when it fails,
with offsets preserved so that error positions and line numbers stay true to the original file.
"""

from __future__ import annotations

import bisect
import json
import re
from pathlib import Path
from typing import Any

from .errors import InputError
from .inputfiles import read_input_text

# Strings as "unrolled loops" ([^"\\]*(?:\\.[^"\\]*)*): the alternation (?:[^"\\]|\\.)* keeps a backtracking
# frame per character, which for a 10 MB string value costs gigabytes of memory.
_COMMENT_OR_STRING = re.compile(r'"[^"\\\n]*(?:\\.[^"\\\n]*)*"|//[^\n]*|/\*[\s\S]*?\*/')
_TRAILING_COMMA_OR_STRING = re.compile(r'"[^"\\\n]*(?:\\.[^"\\\n]*)*"|,(?=\s*[}\]])')
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[{}\[\],:]|[^\s{}\[\],:"/]+|//[^\n]*|/\*[\s\S]*?\*/')


# ARM refuses templates over 4 MB; anything far beyond that is not a template, and reading it would
# cost memory the rest of the scan needs.
MAX_INPUT_BYTES = 32 * 1024 * 1024


def read_text(path: str | Path, max_bytes: int = MAX_INPUT_BYTES) -> str:
    """The file's text (a regular file; UTF-8, UTF-16 or UTF-32, see :mod:`inputfiles`). Errors name the file."""
    return read_input_text(path, max_bytes, "the file (ARM itself accepts templates up to 4 MB)")


def _blank(match: re.Match[str]) -> str:
    text = match.group(0)
    if text.startswith('"'):
        return text
    # Keep newlines so that line numbers of everything after a comment stay right.
    return re.sub(r"[^\n]", " ", text)


def _drop_trailing_comma(match: re.Match[str]) -> str:
    text = match.group(0)
    return text if text.startswith('"') else " "


def clean_jsonc(text: str) -> str:
    """Comments and trailing commas replaced by spaces; every other character keeps its offset."""
    text = _COMMENT_OR_STRING.sub(_blank, text)
    return _TRAILING_COMMA_OR_STRING.sub(_drop_trailing_comma, text)


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


class _BadNumber(Exception):
    def __init__(self, text: str) -> None:
        self.text = text


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # ARM (Json.NET) rejects an object with the same property twice; json.loads would keep the last.
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise _DuplicateKey(k)
        out[k] = v
    return out


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _BadNumber(text)
    return value


def _bad_constant(text: str) -> Any:
    raise _BadNumber(text)  # NaN, Infinity: not JSON


def _loads(text: str) -> Any:
    return json.loads(text, object_pairs_hook=_unique_pairs, parse_float=_finite_float,
                      parse_constant=_bad_constant)


# Python refuses to convert an integer of more digits than sys.get_int_max_str_digits() (4,300): a ValueError that
# is no JSONDecodeError, worded for Python programmers. Every JSON reader says it plainly, with the line.
_DIGITS_LIMIT = re.compile(r"limit \((\d+) digits\) for integer string conversion.*?value has (\d+) digits", re.S)


def number_too_long(exc: BaseException, text: str | None = None) -> tuple[str, int | None] | None:
    """(message, line in ``text`` or None) when ``exc`` is Python's refusal of an over-long integer, else None."""
    m = _DIGITS_LIMIT.search(str(exc))
    if m is None:
        return None
    limit, digits = int(m.group(1)), int(m.group(2))
    line = None
    if text is not None:
        hit = re.search(r"(?<![0-9])[0-9]{%d,}" % (limit + 1), text)  # tried from the start of a run only: linear
        line = text.count("\n", 0, hit.start()) + 1 if hit else None
    return f"a number of {digits:,} digits (more than {limit:,} cannot be read)", line


def parse_json(text: str, file: str | None = None) -> Any:
    """Parse JSON or ARM-style JSONC. Errors name file, line and column."""
    try:
        try:
            return _loads(text)
        except json.JSONDecodeError:
            pass
        try:
            return _loads(clean_jsonc(text))
        except json.JSONDecodeError as exc:
            raise InputError(f"invalid JSON: {exc.msg}", file=file, line=exc.lineno, column=exc.colno) from None
    except RecursionError:
        raise InputError("JSON nested too deeply to read", file=file) from None
    except _DuplicateKey as exc:
        line, ptr = LineIndex(text).duplicate(exc.key)
        raise InputError(f"property {exc.key!r} appears twice in the same object (ARM rejects this)",
                         file=file, line=line, pointer=ptr) from None
    except _BadNumber as exc:
        raise InputError(f"number {exc.text[:40]!r} is outside the range JSON numbers can hold", file=file,
                         line=_first_line_of(text, exc.text)) from None
    except ValueError as exc:  # e.g. integers with more digits than Python converts
        long = number_too_long(exc, text)
        if long is not None:
            raise InputError(f"invalid JSON: {long[0]}", file=file, line=long[1]) from None
        raise InputError(f"invalid JSON: {exc}", file=file) from None


def _first_line_of(text: str, needle: str) -> int | None:
    i = text.find(needle)
    return text.count("\n", 0, i) + 1 if i >= 0 else None


def escape_pointer_token(token: str | int) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def pointer(*tokens: str | int) -> str:
    return "".join("/" + escape_pointer_token(t) for t in tokens)


_WS = re.compile(r"[ \t\n\r]*").match
_SCALAR = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false|null").match
_scanstring = json.decoder.scanstring  # the C decoder's: a key or string value read at C speed


class _NotStrict(Exception):
    """The text is not strict JSON (comments, trailing commas...): the tokeniser indexes it."""


def _strict_offsets(text: str) -> dict[str, int]:
    """Pointer -> offset for strict JSON, as :meth:`LineIndex._tokenise` records them (an object member at
    its key, an array element at its value, keys lower case, the first of equal keys), read with the C
    string scanner a value at a time rather than a token at a time: most of a template's reading time was
    this index. Iterative, so nesting depth costs no recursion."""
    ws, scalar, scanstring = _WS, _SCALAR, _scanstring
    offsets: dict[str, int] = {"": 0}
    setdefault = offsets.setdefault
    stack: list[list[Any]] = []  # [is_object, pointer, element count]
    ptr = ""
    pos = ws(text, 0).end()
    while True:
        c = text[pos]  # a value starts here; its pointer is ptr
        if c == '"':
            pos = scanstring(text, pos + 1)[1]
        elif c == "{" or c == "[":
            pos = ws(text, pos + 1).end()
            if text[pos] == ("}" if c == "{" else "]"):
                pos += 1
            elif c == "[":
                stack.append([False, ptr, 0])
                ptr += "/0"
                setdefault(ptr, pos)
                continue
            else:
                stack.append([True, ptr, 0])
                c = ","  # read the first member as the ones after a comma are
                pos -= 1
        else:
            m = scalar(text, pos)
            if m is None:
                raise _NotStrict
            pos = m.end()
        while True:  # after a value (or an object opened): the next member or element, or containers closed
            if c != ",":
                pos = ws(text, pos).end()
                if not stack:
                    if pos != len(text):
                        raise _NotStrict
                    return offsets
                c = text[pos]
            frame = stack[-1]
            if c == ",":
                pos = ws(text, pos + 1).end()
                if frame[0]:
                    if text[pos] != '"':
                        raise _NotStrict
                    key, end = scanstring(text, pos + 1)
                    if "~" in key or "/" in key:
                        key = escape_pointer_token(key)
                    ptr = frame[1] + "/" + key.lower()
                    setdefault(ptr, pos)
                    pos = ws(text, end).end()
                    if text[pos] != ":":
                        raise _NotStrict
                    pos = ws(text, pos + 1).end()
                else:
                    frame[2] += 1
                    ptr = frame[1] + "/" + str(frame[2])
                    setdefault(ptr, pos)
                break
            if c != ("}" if frame[0] else "]"):
                raise _NotStrict
            pos += 1
            c = ""
            stack.pop()


class LineIndex:
    """Maps JSON pointers of one file to line numbers.

    Built on first use with one tokenising pass; keys are matched case-insensitively because ARM
    property names are case-insensitive and evidence paths come from normalised resources.
    """

    def __init__(self, text: str) -> None:
        self._text = text
        self._offsets: dict[str, int] | None = None
        self._newlines: list[int] | None = None
        self._duplicates: list[tuple[str, str, int]] | None = None

    def _build(self) -> None:
        try:
            self._offsets = _strict_offsets(self._text)
        except (_NotStrict, ValueError, IndexError):  # comments, trailing commas, anything else: the tokeniser
            self._tokenise()

    def _tokenise(self) -> None:
        offsets: dict[str, int] = {"": 0}
        duplicates: list[tuple[str, str, int]] = []
        # Each frame: [is_object, pointer, next_index, pending_key, expecting_key, keys seen]
        stack: list[list[Any]] = []
        text = self._text

        def value_pointer() -> str | None:
            if not stack:
                return ""
            frame = stack[-1]
            if frame[0]:
                key = frame[3]
                return None if key is None else frame[1] + "/" + escape_pointer_token(key).lower()
            return frame[1] + "/" + str(frame[2])

        for m in _TOKEN.finditer(text):
            tok = m.group(0)
            c = tok[0]
            if c == "/" and len(tok) > 1 and tok[1] in "/*":
                continue  # comment
            if stack and stack[-1][0] and stack[-1][4]:
                # inside an object, waiting for a key
                if c == '"':
                    if "\\" not in tok:  # most keys have no escape: no decoder call for them
                        stack[-1][3] = tok[1:-1]
                    else:
                        try:
                            stack[-1][3] = json.loads(tok)
                        except ValueError:
                            stack[-1][3] = tok[1:-1]
                    stack[-1][4] = False
                    if stack[-1][3] in stack[-1][5]:
                        duplicates.append((stack[-1][3], value_pointer() or "", m.start()))
                    stack[-1][5].add(stack[-1][3])
                    offsets.setdefault(value_pointer() or "", m.start())
                    continue
                if c == "}":
                    stack.pop()
                    continue
                continue  # comma between members or stray token
            if c in "{[":
                ptr = value_pointer()
                if ptr is not None and not (stack and stack[-1][0]):
                    offsets.setdefault(ptr, m.start())
                stack.append([c == "{", ptr if ptr is not None else "", 0, None, c == "{", set()])
            elif c in "}]":
                if stack:
                    stack.pop()
            elif c == ",":
                if stack:
                    if stack[-1][0]:
                        stack[-1][4] = True
                        stack[-1][3] = None
                    else:
                        stack[-1][2] += 1
            elif c == ":":
                continue
            else:
                ptr = value_pointer()
                if ptr is not None and not (stack and stack[-1][0]):
                    offsets.setdefault(ptr, m.start())
        self._offsets = offsets
        self._duplicates = duplicates

    def duplicate(self, key: str) -> tuple[int | None, str | None]:
        """Line and pointer of the second occurrence of ``key`` within one object."""
        if self._duplicates is None:  # only the tokeniser records them (an error path: rare)
            self._tokenise()
        for k, ptr, off in self._duplicates or ():
            if k == key:
                return self._line_at(off), ptr
        return None, None

    def _line_at(self, offset: int) -> int:
        if self._newlines is None:
            self._newlines = [m.start() for m in re.finditer("\n", self._text)]
        return bisect.bisect_right(self._newlines, offset - 1) + 1 if offset else 1

    def line(self, ptr: str) -> int | None:
        """Line of the value at ``ptr`` (exact, case-insensitive), or None."""
        if self._offsets is None:
            self._build()
        assert self._offsets is not None
        off = self._offsets.get(ptr.lower())
        return None if off is None else self._line_at(off)

    def nearest_line(self, ptr: str) -> tuple[int, str]:
        """Line of ``ptr`` or of its deepest existing ancestor, and that ancestor's pointer."""
        if self._offsets is None:
            self._build()
        assert self._offsets is not None
        cur = ptr
        while True:
            off = self._offsets.get(cur.lower())
            if off is not None:
                return self._line_at(off), cur
            if not cur:
                return 1, ""
            cur = cur.rsplit("/", 1)[0]


class JsonDocument:
    """A parsed JSON file with its text kept for line lookups."""

    __slots__ = ("path", "data", "text", "_lines")

    def __init__(self, path: str, data: Any, text: str) -> None:
        self.path = path
        self.data = data
        self.text = text
        self._lines: LineIndex | None = None

    @property
    def lines(self) -> LineIndex:
        if self._lines is None:
            self._lines = LineIndex(self.text)
        return self._lines


def load_document(path: str | Path) -> JsonDocument:
    text = read_text(path)
    return JsonDocument(str(path), parse_json(text, str(path)), text)
