"""Parser limits for untrusted bodies: one bounded JSON decoder and one bounded form decoder.

Every body a client, Pusher or a legacy WebSocket sends is decoded here, so each limit holds on every
route: ``http.create_app`` hands ``loads`` to Powertools as its ``json_body_deserializer`` (the path of
routes with typed bodies) and checks every body against these limits before the route runs. A body
over a limit is a ``PayloadTooLarge`` (413) or a ``BadRequest`` (400) with its own code, decided in time
linear in the body's size, before the parse can recurse or build big numbers:

- nesting deeper than ``MAX_DEPTH`` (CPython's decoder would raise ``RecursionError`` at ~1,000);
- a number literal longer than ``MAX_NUMBER_CHARS`` (Python refuses ints of more than 4,300 digits with
  ``ValueError``, and a long float overflows to ``inf``, which is not JSON), ``NaN``/``Infinity``;
- an object with a repeated key (RFC 8259 §4 leaves it undefined; we refuse rather than guess), a key
  longer than ``MAX_KEY_CHARS``, more than ``MAX_MEMBERS`` members;
- lone UTF-16 surrogates (``"\\ud800"``), which cannot be encoded as UTF-8 when the data goes out;
- a form with more than ``MAX_FORM_FIELDS`` fields, a repeated or over-long field name.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from typing import Annotated, Any, NoReturn
from urllib.parse import parse_qsl

from pydantic import PlainSerializer, WithJsonSchema

from .errors import BadRequest, PayloadTooLarge


def compact_json(value: Any, *, ensure_ascii: bool = False, sort_keys: bool = False) -> str:
    """``value`` as compact JSON text (no spaces after ``,`` and ``:``), non-ASCII kept as UTF-8.

    The one spelling of the layer's compact ``json.dumps``: what Pusher receives and limits (event data,
    ``user_info``), what the API answers, what stores keep. ``ensure_ascii=True`` escapes non-ASCII as
    ``\\uXXXX`` where existing keys were built that way (idempotency keys). Raises ``TypeError`` for a
    value JSON cannot represent and ``ValueError`` for a circular one.
    """
    return json.dumps(value, separators=(",", ":"), ensure_ascii=ensure_ascii, sort_keys=sort_keys)


MAX_DEPTH = 32
"""Arrays/objects open at once. Catalogued event data nests 3 levels; 32 leaves room for free-form data."""
MAX_NUMBER_CHARS = 40
"""Characters of one number literal: every IEEE double and every 64-bit integer fits in 25."""
MAX_KEY_CHARS = 256
MAX_MEMBERS = 1000
MAX_FORM_FIELDS = 250

# A complete JSON string (possessive: no backtracking), a bracket, or an opening quote that never closes.
_TOKEN = re.compile(r'"(?:[^"\\]++|\\.)*+"|[\[\]{}]|"')
_LONE_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abAB]|\\u[dD][c-fC-F]")


class BodyLimitExceeded(BadRequest):
    """A body over one of the parser limits (400). Subclasses ``BadRequest``: same error model."""

    default_code = "body_limit_exceeded"


class MalformedJson(BadRequest):
    default_code = "malformed_json"


def _refuse(message: str, code: str) -> NoReturn:
    raise BodyLimitExceeded(message, code=code)


def check_size(data: str | bytes, max_bytes: int) -> None:
    """Raise ``PayloadTooLarge`` (413) when ``data`` is more than ``max_bytes`` bytes (UTF-8 for text)."""
    size = len(data)
    if size > max_bytes or (isinstance(data, str) and len(data.encode("utf-8", "surrogatepass")) > max_bytes):
        raise PayloadTooLarge(f"The request body is larger than {max_bytes} bytes.")


def nesting_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in ``text``, brackets inside strings not counted.

    Linear in ``len(text)``; on text that is not JSON the answer is a lower bound (scanning stops at an
    unterminated string), which is all a limit needs: the parser refuses that text anyway.
    """
    depth = deepest = 0
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif token in "]}":
            depth -= 1
        elif token == '"':
            break
    return deepest


def _int(literal: str) -> int:
    if len(literal) > MAX_NUMBER_CHARS:
        _refuse(f"A number in the body is longer than {MAX_NUMBER_CHARS} characters.", "number_too_long")
    return int(literal)


def _float(literal: str) -> float:
    if len(literal) > MAX_NUMBER_CHARS:
        _refuse(f"A number in the body is longer than {MAX_NUMBER_CHARS} characters.", "number_too_long")
    value = float(literal)
    if not math.isfinite(value):
        _refuse("A number in the body is out of range.", "number_out_of_range")
    return value


def _constant(name: str) -> NoReturn:
    raise MalformedJson(f"{name} is not JSON.")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len(pairs) > MAX_MEMBERS:
        _refuse(f"A JSON object in the body has more than {MAX_MEMBERS} members.", "too_many_members")
    doc: dict[str, Any] = {}
    for key, value in pairs:
        if len(key) > MAX_KEY_CHARS:
            _refuse(f"A JSON key in the body is longer than {MAX_KEY_CHARS} characters.", "key_too_long")
        if key in doc:
            _refuse("A JSON object in the body repeats a key.", "duplicate_key")
        doc[key] = value
    return doc


def loads(data: str | bytes, *, max_bytes: int) -> Any:
    """Decode one JSON document within the limits above.

    Raises ``PayloadTooLarge`` (413); ``BodyLimitExceeded`` (400, codes ``json_too_deep``,
    ``number_too_long``, ``number_out_of_range``, ``duplicate_key``, ``key_too_long``,
    ``too_many_members``, ``invalid_unicode``); ``MalformedJson`` (400, ``malformed_json``) for text that
    is not JSON; ``BadRequest`` (400, ``body_not_utf8``) for bytes that are not UTF-8.
    """
    check_size(data, max_bytes)
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadRequest("The request body is not valid UTF-8.", code="body_not_utf8") from exc
    else:
        text = data
    # Counting brackets is C-speed; only a body with more than MAX_DEPTH of them needs the scan.
    if text.count("[") + text.count("{") > MAX_DEPTH and nesting_depth(text) > MAX_DEPTH:
        _refuse(f"The JSON body nests deeper than {MAX_DEPTH} levels.", "json_too_deep")
    try:
        doc = json.loads(
            text, parse_int=_int, parse_float=_float, parse_constant=_constant, object_pairs_hook=_object
        )
    except json.JSONDecodeError as exc:
        raise MalformedJson(f"The body is not valid JSON ({exc.msg} at position {exc.pos}).") from exc
    except RecursionError as exc:  # unreachable after nesting_depth; kept so no input can make a 500
        raise BodyLimitExceeded("The JSON body nests too deeply.", code="json_too_deep") from exc
    if _LONE_SURROGATE_ESCAPE.search(text) or _has_surrogate(text):
        try:
            json.dumps(doc, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise BodyLimitExceeded(
                "The JSON body holds a lone UTF-16 surrogate.", code="invalid_unicode"
            ) from exc
    return doc


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def parse_form(text: str) -> dict[str, str]:
    """A form-encoded body as a dict. Raises ``BodyLimitExceeded`` (400, ``too_many_fields``,
    ``key_too_long``) and ``BadRequest`` (400, ``malformed_form``) for a repeated field."""
    try:
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except ValueError as exc:
        raise BodyLimitExceeded(
            f"The form body has more than {MAX_FORM_FIELDS} fields.", code="too_many_fields"
        ) from exc
    form: dict[str, str] = {}
    for key, value in pairs:
        if len(key) > MAX_KEY_CHARS:
            _refuse(f"A form field name is longer than {MAX_KEY_CHARS} characters.", "key_too_long")
        if key in form:
            raise BadRequest(f"The form field {key[:64]!r} is repeated.", code="malformed_form")
        form[key] = value
    return form


def _utc_milliseconds(value: datetime) -> str:
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


UtcMilliseconds = Annotated[
    datetime,
    PlainSerializer(_utc_milliseconds, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
"""A UTC time kept to the millisecond (an event id's, a webhook's ``time_ms``), always written with three
decimals: ``2026-11-30T07:31:02.113Z``. pydantic's default drops the fraction of a whole second, which
gave one field two shapes."""
