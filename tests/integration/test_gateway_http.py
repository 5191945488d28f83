"""The local gateway behaves like API Gateway (issue 11, item 7): CORS from the template, and every error
it answers itself is JSON in the error model with a ``request_id``.

Quoted cases: ``GET /realtime/maintenance/a%0Ab`` answered ``text/plain``; ``route_not_found`` had no
``request_id``; ``OPTIONS /pusher/auth`` from ``http://localhost:3000`` was a 404 without CORS headers.
"""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from local_stack.template import CorsConfiguration, load_template
from tests.conftest import gateway

ALLOWED, OTHER = "http://localhost:3000", "http://evil.example"


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(gateway().asgi())


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        # quoted: was Starlette's text/plain 404; API Gateway hands it to the function (no token: 401)
        ("GET", "/realtime/maintenance/a%0Ab", 401, "missing_token"),
        ("GET", "/nope", 404, "route_not_found"),  # quoted: had no request_id
        ("GET", "/%0A", 404, "route_not_found"),
        ("DELETE", "/health", 405, "method_not_allowed"),
        ("PROPFIND", "/health", 405, "method_not_allowed"),
        ("TRACE", "/realtime/maintenance/w1", 405, "method_not_allowed"),
        ("PROPFIND", "/nope", 404, "route_not_found"),
    ],
)
def test_errors_of_the_gateway_itself_are_json_with_a_request_id(client, method, path, status, code):
    response = client.request(method, path)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code
    assert body["message"]
    assert body["request_id"]
    assert body["request_id"] == response.headers["apigw-requestid"]
    if status == 405:
        assert response.headers["allow"]


def test_a_function_404_also_carries_the_request_id(client):
    response = client.get("/realtime/maintenance/a%20b/extra")
    assert response.status_code == 404
    assert response.json()["request_id"]


def test_preflight_from_an_allowed_origin(client):
    response = client.options(
        "/pusher/auth",
        headers={"origin": ALLOWED, "access-control-request-method": "POST"},
    )
    assert response.status_code == 204  # quoted: was 404
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert "idempotency-key" in response.headers["access-control-allow-headers"].split(",")
    assert response.headers["access-control-max-age"] == "600"


def test_preflight_from_another_origin_gets_no_cors_headers(client):
    response = client.options(
        "/pusher/auth", headers={"origin": OTHER, "access-control-request-method": "POST"}
    )
    assert response.status_code == 204
    assert "access-control-allow-origin" not in response.headers


def test_responses_carry_cors_headers_for_allowed_origins_only(client):
    allowed = client.get("/realtime/channels", headers={"origin": ALLOWED})
    assert allowed.status_code == 401
    assert allowed.headers["access-control-allow-origin"] == ALLOWED
    assert "retry-after" in allowed.headers["access-control-expose-headers"].split(",")
    assert "Origin" in allowed.headers["vary"]
    other = client.get("/realtime/channels", headers={"origin": OTHER})
    assert "access-control-allow-origin" not in other.headers
    unrouted = client.get("/nope", headers={"origin": ALLOWED})
    assert unrouted.headers["access-control-allow-origin"] == ALLOWED


def test_the_origins_come_from_the_template_parameter_or_cors_allow_origins():
    template = load_template()
    assert template.doc["Resources"]["RealtimeHttpApi"]["Properties"]["CorsConfiguration"][
        "AllowOrigins"
    ] == {"Ref": "CorsAllowOrigins"}
    default = template.cors({})
    assert default is not None
    assert ALLOWED in default.allow_origins
    assert "*" not in default.allow_origins
    local = template.cors({"CORS_ALLOW_ORIGINS": "https://app.example.com, https://*"})
    assert local is not None
    assert local.allow_origins == ("https://app.example.com", "https://*")


@pytest.mark.parametrize(
    ("origins", "origin", "allowed"),
    [
        (("*",), "http://anything:1", True),
        (("https://*",), "https://a.example", True),
        (("https://*",), "http://a.example", False),
        (("http://localhost:3000",), "HTTP://LOCALHOST:3000", True),
        (("http://localhost:3000",), "http://localhost:3001", False),
    ],
)
def test_origin_matching_follows_api_gateway(origins, origin, allowed):
    assert CorsConfiguration(allow_origins=origins).allows(origin) is allowed
