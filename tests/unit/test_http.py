"""Body parsing and the error model: bad input is a clear 4xx, never a 500."""

from __future__ import annotations

import base64
import json

import pytest
from aws_lambda_powertools.utilities.data_classes.api_gateway_proxy_event import APIGatewayProxyEventV2

from toolboxai_realtime.errors import (
    BadRequest,
    PayloadTooLarge,
    RateLimited,
    Unauthorized,
    UnsupportedMediaType,
    UpstreamUnavailable,
)
from toolboxai_realtime.http import error_response, parse_form_or_json, parse_json_object


def _event(body: bytes, content_type: str | None, b64: bool = False) -> APIGatewayProxyEventV2:
    headers = {"content-type": content_type} if content_type else {}
    raw = base64.b64encode(body).decode() if b64 else body.decode("utf-8", "surrogateescape")
    return APIGatewayProxyEventV2({"headers": headers, "body": raw, "isBase64Encoded": b64})


def test_form_body_is_parsed_from_base64():
    event = _event(b"socket_id=1.2&channel_name=private-user-1", "application/x-www-form-urlencoded", True)
    assert parse_form_or_json(event) == {"socket_id": "1.2", "channel_name": "private-user-1"}


def test_json_body_is_parsed():
    event = _event(b'{"socket_id": "1.2"}', "application/json; charset=utf-8")
    assert parse_form_or_json(event) == {"socket_id": "1.2"}


@pytest.mark.parametrize(
    ("body", "content_type", "b64", "error", "code"),
    [
        (b"<xml/>", "application/xml", False, UnsupportedMediaType, "unsupported_media_type"),
        (b"--x", "multipart/form-data", False, UnsupportedMediaType, "unsupported_media_type"),
        (b"a=1", "text/plain", False, UnsupportedMediaType, "unsupported_media_type"),
        (b"{not json", "application/json", False, BadRequest, "malformed_json"),
        (b"[1, 2]", "application/json", False, BadRequest, "malformed_json"),
        (b"\xff\xfe", "application/json", True, BadRequest, "body_not_utf8"),
        (b"a=\xff", "application/x-www-form-urlencoded", True, BadRequest, "body_not_utf8"),
        (b"a=1&a=2", "application/x-www-form-urlencoded", False, BadRequest, "malformed_form"),
        (b"x" * 70_000, "application/json", False, PayloadTooLarge, "payload_too_large"),
    ],
)
def test_bad_bodies_raise_clear_errors(body, content_type, b64, error, code):
    with pytest.raises(error) as info:
        parse_form_or_json(_event(body, content_type, b64))
    assert info.value.code == code


def test_invalid_base64_is_a_bad_request():
    event = APIGatewayProxyEventV2(
        {"headers": {"content-type": "application/json"}, "body": "!!!not base64", "isBase64Encoded": True}
    )
    with pytest.raises(BadRequest):
        parse_form_or_json(event)


def test_json_only_parser_refuses_forms():
    with pytest.raises(UnsupportedMediaType):
        parse_json_object(_event(b"a=1", "application/x-www-form-urlencoded"))


def test_error_response_carries_code_message_request_id_and_headers():
    resp = error_response(RateLimited("Slow down.", retry_after=7), "req-1")
    assert resp.status_code == 429
    assert resp.headers["Retry-After"] == "7"
    body = json.loads(resp.body)
    assert body == {"code": "rate_limited", "message": "Slow down.", "retry_after": 7, "request_id": "req-1"}


def test_unauthorized_sets_www_authenticate():
    resp = error_response(Unauthorized(code="token_expired", message="The token has expired."))
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"].startswith("Bearer ")
    assert 'error="invalid_token"' in resp.headers["WWW-Authenticate"]


def test_upstream_errors_choose_502_or_503_and_ask_to_retry():
    assert error_response(UpstreamUnavailable(status=502)).status_code == 502
    resp = error_response(UpstreamUnavailable())
    assert resp.status_code == 503
    assert resp.headers["Retry-After"] == "2"
