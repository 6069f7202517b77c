"""Reading JSON as ARM does, and finding lines for pointers."""

from __future__ import annotations

import codecs

import pytest

from aks_compliance.errors import InputError
from aks_compliance.jsonc import LineIndex, clean_jsonc, load_document, parse_json, pointer


def test_plain_json_uses_the_fast_parser() -> None:
    assert parse_json('{"a": [1, 2]}') == {"a": [1, 2]}


def test_comments_and_trailing_commas_are_accepted() -> None:
    text = '{\n  // line comment\n  "a": "http://x//y", /* block\n comment */ "b": [1, 2,],\n}'
    assert parse_json(text) == {"a": "http://x//y", "b": [1, 2]}


def test_cleaning_keeps_offsets_and_lines() -> None:
    text = '{"a": 1, /* c\n c */ "b": 2,}'
    cleaned = clean_jsonc(text)
    assert len(cleaned) == len(text) and cleaned.count("\n") == text.count("\n")


def test_syntax_error_names_file_line_and_column() -> None:
    with pytest.raises(InputError) as exc:
        parse_json('{\n  "a": 1,\n  "b": [1, 2\n}', "broken.json")
    err = exc.value
    assert err.file == "broken.json" and err.line == 4 and err.column
    assert str(err).startswith("broken.json:4:")


def test_bom_and_utf16_files(tmp_path) -> None:
    p = tmp_path / "bom.json"
    p.write_bytes(codecs.BOM_UTF8 + b'{"a": 1}')
    assert load_document(p).data == {"a": 1}
    p16 = tmp_path / "utf16.json"
    p16.write_bytes('{"b": "\u00e9"}'.encode("utf-16"))
    assert load_document(p16).data == {"b": "\u00e9"}


def test_invalid_utf8_names_the_file(tmp_path) -> None:
    p = tmp_path / "latin1.json"
    p.write_bytes(b'{"a": "\xe9"}')
    with pytest.raises(InputError, match="not valid UTF-8"):
        load_document(p)


def test_line_index_finds_values_case_insensitively() -> None:
    text = '{\n "Resources": [\n  {\n   "properties": {\n    "enableRBAC": true\n   }\n  }\n ]\n}'
    lines = LineIndex(text)
    assert lines.line("/resources/0/properties/enablerbac") == 5
    assert lines.line("/Resources/0") == 3
    assert lines.nearest_line("/resources/0/properties/missing/deeper") == (4, "/resources/0/properties")


def test_pointer_escaping() -> None:
    assert pointer("a/b", "c~d", 3) == "/a~1b/c~0d/3"


# The line index reads strict JSON with the C string scanner and anything else with the tokeniser: both must
# record the same offsets, whatever the layout (pretty, compact, odd whitespace), keys (escaped, "~", "/",
# differing in case, repeated) and nesting.
from hypothesis import given, settings, strategies as st  # noqa: E402

_keys = st.text(alphabet=st.sampled_from("aB~/\\\"é\u2028 x"), min_size=0, max_size=4)
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=4),
    max_leaves=25)


@settings(max_examples=300, deadline=None)
@given(_json, st.sampled_from([None, 0, 2, "\t"]), st.booleans())
def test_line_index_fast_path_matches_the_tokeniser(value, indent, ensure_ascii) -> None:
    import json

    text = json.dumps(value, indent=indent, ensure_ascii=ensure_ascii)
    fast, slow = LineIndex(text), LineIndex(text)
    fast._build()
    slow._tokenise()
    assert fast._offsets == slow._offsets


def test_line_index_falls_back_for_jsonc_and_still_finds_duplicates() -> None:
    text = '{\n  // a comment\n  "a": {"b": 1,},\n  "c": [1, 2]\n}'
    index = LineIndex(text)
    assert index.line("/a/b") == 3 and index.line("/c/1") == 4
    dup = LineIndex('{\n "a": 1,\n "A": 2,\n "a": 3\n}')
    assert dup.line("/a") == 2  # the first of keys equal but for case
    assert dup.duplicate("a") == (4, "/a")
