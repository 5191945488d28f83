"""The parser limits of ``toolboxai_realtime.bodies`` (issue 11, item 1), without HTTP."""

from __future__ import annotations

import pytest

from toolboxai_realtime import bodies
from toolboxai_realtime.errors import PayloadTooLarge


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("{}", 1),
        ('{"a": [1, {"b": []}]}', 4),
        ('["[[[[", "]]]]"]', 1),
        ('["\\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["]', 1),  # an escaped quote does not end the string
        ("[" * 40 + "]" * 40, 40),
        ("[" * 40 + '"unterminated', 40),  # not JSON: a lower bound, and the scan stops
    ],
)
def test_nesting_depth_counts_brackets_outside_strings(text, depth):
    assert bodies.nesting_depth(text) == depth


def test_nesting_depth_of_many_unterminated_quotes_is_answered():
    # Each opening quote scanned to the end would be quadratic; the scan stops at the first one.
    assert bodies.nesting_depth("[" * 40 + '["' + '\\"' * 50_000) == 41


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("[" * 1500 + "]" * 1500, "json_too_deep"),
        ('{"a":' * 33 + "1" + "}" * 33, "json_too_deep"),
        ("9" * 4301, "number_too_long"),
        ("-" + "9" * 41, "number_too_long"),
        ("1." + "0" * 40, "number_too_long"),
        ("1e999", "number_out_of_range"),
        ("-1e999", "number_out_of_range"),
        ('{"a": 1, "a": 1}', "duplicate_key"),
        ('[{"a": {"b": 1, "b": 2}}]', "duplicate_key"),
        ('{"' + "k" * 257 + '": 0}', "key_too_long"),
        ('["\\udfff"]', "invalid_unicode"),
        ('"\\ud83c"', "invalid_unicode"),
    ],
)
def test_limits_are_refused_with_their_code(text, code):
    with pytest.raises(bodies.BodyLimitExceeded) as refused:
        bodies.loads(text, max_bytes=1 << 20)
    assert refused.value.code == code
    assert refused.value.status == 400


@pytest.mark.parametrize("text", ["NaN", "[Infinity]", '{"a": -Infinity}', "{", "[1,]"])
def test_what_is_not_json_is_malformed(text):
    with pytest.raises(bodies.MalformedJson):
        bodies.loads(text, max_bytes=1 << 20)


def test_values_within_the_limits_decode_as_json():
    text = (
        '{"n": '
        + "9" * 40
        + ', "f": 1.5e300, "emoji": "\\ud83c\\udf89", "deep": '
        + "[" * 31
        + "]" * 31
        + "}"
    )
    doc = bodies.loads(text, max_bytes=1 << 20)
    assert doc["n"] == int("9" * 40)
    assert doc["emoji"] == "\N{PARTY POPPER}"


def test_size_is_counted_in_utf8_bytes():
    with pytest.raises(PayloadTooLarge):
        bodies.loads('"' + "\N{PARTY POPPER}" * 300 + '"', max_bytes=1024)  # 302 characters, 1,202 bytes


def test_form_limits():
    assert bodies.parse_form("a=1&b=") == {"a": "1", "b": ""}
    with pytest.raises(bodies.BodyLimitExceeded) as many:
        bodies.parse_form("&".join(["x=1"] * 251))
    assert many.value.code == "too_many_fields"
    with pytest.raises(bodies.BadRequest) as repeated:
        bodies.parse_form("a=1&a=2")
    assert repeated.value.code == "malformed_form"
