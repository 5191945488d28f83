"""Hostile bodies (issue 11, item 1): every parser limit is a 4xx in the error model on every route,
decided before the token is looked at, never a 500 (``RecursionError``, the int string limit, ``inf``).

The quoted case is ``test_quoted_deep_array_on_trigger_without_a_token_is_400``: 1,500 nested arrays
(3 KB) sent to ``/realtime/trigger`` with no token used to answer 500 ``internal_error``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
import responses

from local_stack.template import load_template
from tests.conftest import http_event, invoke, reset_caches
from toolboxai_realtime import legacy_ws

# Every route of the template, with a concrete path (GET/DELETE routes are held to the same limits:
# API Gateway passes a body on any method).
ROUTES = [
    (r.method, r.path.replace("{channel}", "private-class-1").replace("{id}", "w1"))
    for r in load_template().http_routes()
    if r.path != "/pusher/webhook"  # signed: see test_signed_hostile_webhook_is_400_after_the_signature
]

# The routes that take form bodies (what pusher-js sends); every other route is JSON only.
FORM_ROUTES = {"/pusher/auth", "/pusher/user-auth"}


@pytest.fixture
def nothing_reachable(monkeypatch):
    """DynamoDB on a closed port and no Pusher at all: the answer must come before either is asked."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9")
    reset_caches()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock
    assert not mock.calls


def _deep(opening: str, closing: str, levels: int) -> str:
    return opening * levels + "1" + closing * levels


HOSTILE_JSON: dict[str, tuple[str, str]] = {
    # name: (body, expected code)
    "arrays_1500_deep": ("[" * 1500 + "]" * 1500, "json_too_deep"),
    "objects_1500_deep": (_deep('{"a":', "}", 1500), "json_too_deep"),
    "mixed_1500_deep": (_deep('{"a":[', "]}", 750), "json_too_deep"),
    "inside_an_object": ('{"channel": ' + "[" * 100 + "]" * 100 + "}", "json_too_deep"),
    "one_level_over": ("[" * 33 + "]" * 33, "json_too_deep"),
    "int_4301_digits": ('{"channel": ' + "9" * 4301 + "}", "number_too_long"),
    "negative_int_5000_digits": ('{"n": -' + "1" * 5000 + "}", "number_too_long"),
    "int_41_digits_in_a_list": ('{"n": [1, ' + "1" * 41 + "]}", "number_too_long"),
    "float_5000_digits": ('{"n": 0.' + "1" * 5000 + "}", "number_too_long"),
    "float_overflows_to_inf": ('{"n": 1e400}', "number_out_of_range"),
    "duplicate_key": ('{"channel": "a", "channel": "b"}', "duplicate_key"),
    "nested_duplicate_key": ('{"data": {"x": 1, "x": 2}}', "duplicate_key"),
    "key_of_300_chars": ('{"' + "k" * 300 + '": 1}', "key_too_long"),
    "1001_members": (json.dumps({f"k{i}": i for i in range(1001)}), "too_many_members"),
    "lone_surrogate": ('{"data": {"message": "\\ud800"}}', "invalid_unicode"),
}
HOSTILE_FORM: dict[str, tuple[str, str]] = {
    "251_fields": ("&".join(f"f{i}=1" for i in range(251)), "too_many_fields"),
    "field_name_of_300_chars": ("k" * 300 + "=1", "key_too_long"),
}


def _call(method: str, path: str, body: str, content_type: str) -> tuple[int, dict[str, str], object]:
    return invoke(http_event(method, path, body=body, headers={"content-type": content_type}))


def test_quoted_deep_array_on_trigger_without_a_token_is_400(nothing_reachable):
    status, headers, body = _call("POST", "/realtime/trigger", "[" * 1500 + "]" * 1500, "application/json")
    assert status == 400, body
    assert headers["content-type"].startswith("application/json")
    assert isinstance(body, dict)
    assert body["code"] == "json_too_deep"
    assert body["request_id"]


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("case", sorted(HOSTILE_JSON))
def test_hostile_json_is_a_400_on_every_route_before_the_token(nothing_reachable, method, path, case):
    raw, code = HOSTILE_JSON[case]
    status, headers, body = _call(method, path, raw, "application/json")
    assert (status, body["code"]) == (400, code), body
    assert headers["content-type"].startswith("application/json")
    assert "Traceback" not in json.dumps(body)


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("case", sorted(HOSTILE_FORM))
def test_hostile_form_is_a_4xx_on_every_route_before_the_token(nothing_reachable, method, path, case):
    raw, code = HOSTILE_FORM[case]
    status, _, body = _call(method, path, raw, "application/x-www-form-urlencoded")
    if path in FORM_ROUTES:
        assert (status, body["code"]) == (400, code), body
    else:  # a JSON-only route refuses any form at once
        assert (status, body["code"]) == (415, "unsupported_media_type"), body


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_an_oversize_body_is_413_on_every_route_before_the_token(nothing_reachable, method, path):
    status, _, body = _call(method, path, '{"a": "' + "x" * 70_000 + '"}', "application/json")
    assert (status, body["code"]) == (413, "payload_too_large"), body


@pytest.mark.parametrize(
    "raw",
    [
        '{"channel": "dashboard-updates", "note": "' + "[" * 2000 + '"}',  # brackets inside a string
        "[" * 32 + "]" * 32,  # exactly the limit
        '{"n": ' + "1" * 40 + "}",  # exactly the number limit
    ],
)
def test_bodies_within_the_limits_reach_the_route(nothing_reachable, raw):
    # No token: within the limits, the route's own answer comes back (401 for the missing token).
    status, _, body = _call("POST", "/pusher/auth", raw, "application/json")
    assert (status, body["code"]) == (401, "missing_token"), body


KEY, SECRET = "toolboxai-local-key", "toolboxai-local-secret"


@pytest.mark.parametrize(
    "case", ["arrays_1500_deep", "objects_1500_deep", "int_4301_digits", "duplicate_key"]
)
def test_signed_hostile_webhook_is_400_after_the_signature(aws_tables, case):
    raw, code = HOSTILE_JSON[case]
    # A valid time_ms in front so that only the limit can be what is refused.
    payload = f'{{"time_ms": {int(time.time() * 1000)}, "events": [], "x": {raw}}}'.encode()
    signature = hmac.new(SECRET.encode(), payload, hashlib.sha256).hexdigest()
    headers = {"content-type": "application/json", "x-pusher-key": KEY, "x-pusher-signature": signature}
    status, _, body = invoke(http_event("POST", "/pusher/webhook", body=payload, headers=headers))
    assert (status, body["code"]) == (400, code), body


def test_unsigned_hostile_webhook_is_still_a_401_signature_first(aws_tables):
    headers = {"content-type": "application/json", "x-pusher-key": KEY, "x-pusher-signature": "0" * 64}
    raw = HOSTILE_JSON["arrays_1500_deep"][0]
    status, _, body = invoke(http_event("POST", "/pusher/webhook", body=raw, headers=headers))
    assert (status, body["code"]) == (401, "invalid_webhook_signature"), body


@pytest.mark.parametrize("case", ["arrays_1500_deep", "int_41_digits_in_a_list", "lone_surrogate"])
def test_hostile_legacy_ws_message_is_an_error_frame(aws_tables, case):
    raw, code = HOSTILE_JSON[case]
    event = {"requestContext": {"connectionId": "c1", "routeKey": "$default"}, "body": raw}
    reply = legacy_ws.message(event)
    assert json.loads(reply["body"])["code"] == code
