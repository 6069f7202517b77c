"""Regular expressions a user writes, run with a bound on their time.

They come from control parameters (AKS-123's ``sensitiveValues``/``sensitiveValuesAllowed``, AKS-014's name
formats, any parameter a ``matches`` operand reads) and from the ``matches`` operator of object rules, custom
controls' included. Python's ``re`` backtracks without limit: ``(a|aa)+$`` against forty ``a`` and a ``!`` runs
for years. No syntactic pre-check finds every such pattern (nested quantifiers are one shape of many:
overlapping alternatives, ``.*`` chains), so the patterns are run by the ``regex`` module (``re``'s syntax, its
VERSION0) with its ``timeout``: one match may take :data:`MATCH_SECONDS`, and a pattern's slow matches (over
:data:`FREE_SECONDS` each) together :data:`PATTERN_SECONDS` in one process; once that is spent each match has
:data:`FREE_SECONDS`. A match stopped is :class:`PatternTooSlow`, which the caller turns into an error result
naming the control and the parameter (that value is not judged; the others are), so a hostile pattern costs
seconds and then a few milliseconds a value, never the scan. A match under :data:`FREE_SECONDS` is not charged:
that work grows with the values read, as any other reading of them does (an honest pattern on an honest value
takes microseconds).
"""

from __future__ import annotations

import functools
import re
import time

MATCH_SECONDS = 1.0  # one match of one value
PATTERN_SECONDS = 3.0  # one pattern's slow matches together, in one process
FREE_SECONDS = 0.002  # a match at most this long is not charged
MEMO_VALUE_CHARS = 512  # values up to this long have their answer remembered per pattern
MEMO_ENTRIES = 4096  # per pattern and method; forgotten wholesale when full


class PatternTooSlow(ValueError):
    """A user's regular expression that ran past its time bound (the message names the pattern, never the value:
    the value may be a credential)."""


class UserPattern:
    """One user pattern, compiled once (:func:`user_pattern`), with what its slow matches have cost so far."""

    __slots__ = ("pattern", "_compiled", "_spent", "_memo")

    def __init__(self, pattern: str) -> None:
        import regex  # imported on first use: 10 ms of every start-up otherwise

        re.compile(pattern)  # re.error as before: the syntax accepted is re's (the parameters' format "regex")
        self.pattern = pattern
        self._compiled = regex.compile(pattern, regex.VERSION0)
        self._spent = 0.0
        # The same values come back on every object (images, namespace names, env names): a pattern's answer
        # for a short value is remembered (the regex module with a timeout costs microseconds a call, and that
        # was 6 % of a 10,000-pod scan). A stopped match raises and is not remembered: it is charged again.
        self._memo: dict[tuple[bool, str], bool] = {}

    def search(self, value: str) -> bool:
        return self._remembered(False, value)

    def fullmatch(self, value: str) -> bool:
        return self._remembered(True, value)

    def _remembered(self, full: bool, value: str) -> bool:
        key = (full, value)
        known = self._memo.get(key)
        if known is not None:
            return known
        found = self._run(self._compiled.fullmatch if full else self._compiled.search, value)
        if len(value) <= MEMO_VALUE_CHARS:
            if len(self._memo) >= MEMO_ENTRIES:
                self._memo.clear()
            self._memo[key] = found
        return found

    def _run(self, method, value: str) -> bool:
        allowed = max(min(MATCH_SECONDS, PATTERN_SECONDS - self._spent), FREE_SECONDS)
        start = time.monotonic()
        try:
            return method(value, timeout=allowed) is not None
        except TimeoutError:
            raise PatternTooSlow(
                f"the regular expression {self.pattern!r:.200} ran past its time bound ({allowed:.3g} s) on a value "
                f"of {len(value)} characters: it backtracks without bound on some texts (nested or overlapping "
                "repetition such as (a+)+ or (a|aa)+), so that value was not judged by it") from None
        finally:
            took = time.monotonic() - start
            if took > FREE_SECONDS:
                self._spent += took


@functools.lru_cache(maxsize=256)
def user_pattern(pattern: str) -> UserPattern:
    """The pattern compiled (``re.error`` when it is not a regular expression), shared by every use in the run."""
    return UserPattern(pattern)


__all__ = ["MATCH_SECONDS", "PATTERN_SECONDS", "PatternTooSlow", "UserPattern", "user_pattern"]
