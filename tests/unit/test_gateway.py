"""The local gateway builds the events API Gateway (HTTP API, payload 2.0) would send."""

from __future__ import annotations

import base64
import json

import pytest

from local_stack.gateway import build_http_event, is_text, to_response
from local_stack.template import load_template
from tests.conftest import gateway


def _route(method: str, path: str):
    found = gateway().match(method, path)
    assert found is not None
    return found


def test_event_has_the_v2_shape_with_request_context():
    route, params = _route("GET", "/health")
    event = build_http_event(
        method="GET",
        raw_path="/health",
        raw_query="a=1&b=2&a=3",
        headers=[("Host", "127.0.0.1:8008"), ("User-Agent", "curl/8"), ("X-Multi", "1"), ("x-multi", "2")],
        body=b"",
        source_ip="203.0.113.9",
        route=route,
        path_params=params,
        req_id="abc=",
        now=1_700_000_000.0,
    )
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /health"
    assert event["rawQueryString"] == "a=1&b=2&a=3"
    assert event["queryStringParameters"] == {"a": "1,3", "b": "2"}
    assert event["headers"]["x-multi"] == "1,2"
    assert "body" not in event
    assert event["isBase64Encoded"] is False
    ctx = event["requestContext"]
    assert ctx["requestId"] == "abc="
    assert ctx["http"] == {
        "method": "GET",
        "path": "/health",
        "protocol": "HTTP/1.1",
        "sourceIp": "203.0.113.9",
        "userAgent": "curl/8",
    }
    assert ctx["timeEpoch"] == 1_700_000_000_000
    assert ctx["stage"] == "$default"


def test_json_body_is_passed_as_text_and_form_body_as_base64():
    route, params = _route("GET", "/health")
    common = {"method": "POST", "raw_path": "/x", "raw_query": "", "source_ip": "1.2.3.4", "route": route}
    as_json = build_http_event(
        headers=[("content-type", "application/json")], body=b'{"a": 1}', path_params=params, **common
    )
    assert as_json["body"] == '{"a": 1}'
    assert as_json["isBase64Encoded"] is False
    form = build_http_event(
        headers=[("content-type", "application/x-www-form-urlencoded")],
        body=b"socket_id=1.2&channel_name=private-user-1",
        path_params=params,
        **common,
    )
    assert form["isBase64Encoded"] is True
    assert base64.b64decode(form["body"]) == b"socket_id=1.2&channel_name=private-user-1"


def test_text_body_that_is_not_utf8_is_base64_encoded():
    route, params = _route("GET", "/health")
    event = build_http_event(
        method="POST",
        raw_path="/x",
        raw_query="",
        headers=[("content-type", "application/json")],
        body=b"\xff\xfe{}",
        source_ip="1.2.3.4",
        route=route,
        path_params=params,
    )
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\xff\xfe{}"


def test_cookies_move_out_of_headers():
    route, params = _route("GET", "/health")
    event = build_http_event(
        method="GET",
        raw_path="/health",
        raw_query="",
        headers=[("Cookie", "a=1; b=2")],
        body=b"",
        source_ip="1.2.3.4",
        route=route,
        path_params=params,
    )
    assert event["cookies"] == ["a=1", "b=2"]
    assert "cookie" not in event["headers"]


@pytest.mark.parametrize(
    ("content_type", "text"),
    [
        ("application/json", True),
        ("application/json; charset=utf-8", True),
        ("application/problem+json", True),
        ("text/plain", True),
        ("application/x-www-form-urlencoded", False),
        ("application/octet-stream", False),
        ("", False),
    ],
)
def test_text_detection(content_type, text):
    assert is_text(content_type) is text


def test_lambda_response_is_written_back_with_headers_and_base64_body():
    resp = to_response(
        {
            "statusCode": 429,
            "headers": {"Retry-After": "3", "Content-Type": "application/json"},
            "body": base64.b64encode(b'{"code":"rate_limited"}').decode(),
            "isBase64Encoded": True,
            "cookies": ["a=1"],
        },
        "rid",
    )
    assert resp.status_code == 429
    assert resp.headers["retry-after"] == "3"
    assert resp.headers["apigw-requestid"] == "rid"
    assert resp.headers["set-cookie"] == "a=1"
    assert json.loads(resp.body) == {"code": "rate_limited"}


def test_a_non_dict_result_becomes_a_json_200():
    resp = to_response({"hello": "world"}, "rid")
    assert resp.status_code == 200
    assert json.loads(resp.body) == {"hello": "world"}


def test_every_template_route_is_served_and_matches_its_own_path():
    routes = load_template().http_routes()
    assert routes, "template.yaml declares no HTTP routes"
    for route in routes:
        concrete = route.path.replace("{", "").replace("}", "")
        found = gateway().match(route.method, concrete)
        assert found is not None, route
        assert found[0].function == route.function


def test_unknown_paths_and_methods_do_not_match():
    assert gateway().match("GET", "/nope") is None
    assert gateway().match("DELETE", "/health") is None
