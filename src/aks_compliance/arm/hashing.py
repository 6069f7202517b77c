"""The deterministic hashes ARM computes: ``uniqueString()`` and ``guid()``.

``uniqueString`` is a 64-bit MurmurHash variant over the UTF-8 bytes of the arguments joined with
``-``, written as 13 lower-case base-32 characters. ``guid`` is a name-based (version 5) UUID in
ARM's fixed namespace over the same joined string. Known vectors live in tests/test_arm_functions.py.
"""

from __future__ import annotations

import uuid

_M32 = 0xFFFFFFFF
_C1 = 0xAB0E9789
_C2 = 0x239B961B
_C3 = 0x85EBCA6B
_C4 = 0xC2B2AE35
_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
_GUID_NAMESPACE = uuid.UUID("11fb06fb-712d-4ddd-98c7-e71bbd588830")


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (32 - r))) & _M32


def _fmix(h: int) -> int:
    h = ((h ^ (h >> 16)) * _C3) & _M32
    h = ((h ^ (h >> 13)) * _C4) & _M32
    return h ^ (h >> 16)


def murmur64(data: bytes) -> int:
    length = len(data)
    h1 = h2 = 0
    i = 0
    while i + 8 <= length:
        k1 = int.from_bytes(data[i:i + 4], "little")
        k2 = int.from_bytes(data[i + 4:i + 8], "little")
        k1 = (_rotl((k1 * _C2) & _M32, 15) * _C1) & _M32
        h1 = (_rotl(h1 ^ k1, 19) + h2) & _M32
        h1 = (h1 * 5 + 0x561CCD1B) & _M32
        k2 = (_rotl((k2 * _C1) & _M32, 17) * _C2) & _M32
        h2 = (_rotl(h2 ^ k2, 13) + h1) & _M32
        h2 = (h2 * 5 + 0x0BCAA747) & _M32
        i += 8
    rest = length - i
    if rest > 0:
        k1 = int.from_bytes(data[i:i + min(rest, 4)], "little")
        h1 ^= (_rotl((k1 * _C2) & _M32, 15) * _C1) & _M32
        if rest > 4:
            k2 = int.from_bytes(data[i + 4:i + rest], "little")
            h2 ^= (_rotl((k2 * _C1) & _M32, 17) * _C2) & _M32
    h2 = (h2 ^ length) & _M32
    h1 = ((h1 ^ length) + h2) & _M32
    h2 = (h2 + h1) & _M32
    h1 = _fmix(h1)
    h2 = _fmix(h2)
    h1 = (h1 + h2) & _M32
    h2 = (h2 + h1) & _M32
    return (h2 << 32) | h1


def unique_string(*values: str) -> str:
    h = murmur64("-".join(values).encode("utf-8", "surrogatepass"))
    out = []
    for _ in range(13):
        out.append(_ALPHABET[(h >> 59) & 31])
        h = (h << 5) & 0xFFFFFFFFFFFFFFFF
    return "".join(out)


def arm_guid(*values: str) -> str:
    return str(uuid.uuid5(_GUID_NAMESPACE, "-".join(values)))
