"""GET /health reports DynamoDB and Pusher: 200 when both answer, 503 with details otherwise."""

from __future__ import annotations

import pytest
import responses

from tests.conftest import http_event, invoke, load_event


@pytest.fixture
def pusher_up():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.get("http://127.0.0.1:6001/apps/1001/channels", json={"channels": {}})
        yield mock


def test_health_is_ok_when_dynamodb_and_pusher_answer(aws_tables, pusher_up):
    status, headers, body = invoke(load_event("health_get.json"))
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert body["status"] == "ok"
    assert body["checks"]["dynamodb"]["status"] == "ok"
    assert body["checks"]["pusher"]["status"] == "ok"


def test_health_is_503_when_pusher_is_unreachable(aws_tables, monkeypatch):
    monkeypatch.setenv("PUSHER_PORT", "9")  # discard port: nothing listens
    status, _, body = invoke(http_event("GET", "/health"))
    assert status == 503
    assert body["status"] == "degraded"
    assert body["code"] == "dependency_unavailable"
    assert body["checks"]["pusher"] == {
        "status": "unavailable",
        "latency_ms": body["checks"]["pusher"]["latency_ms"],
        "detail": "pusher_unreachable",
    }
    assert body["checks"]["dynamodb"]["status"] == "ok"


def test_health_is_503_when_a_table_is_missing(aws_tables, pusher_up):
    aws_tables.delete_table(TableName="PresenceTable")
    status, _, body = invoke(http_event("GET", "/health"))
    assert status == 503
    assert body["checks"]["dynamodb"] == {
        "status": "unavailable",
        "latency_ms": body["checks"]["dynamodb"]["latency_ms"],
        "detail": "ResourceNotFoundException",
    }


def test_health_is_503_when_pusher_refuses_our_credentials(aws_tables):
    with responses.RequestsMock() as mock:
        mock.get("http://127.0.0.1:6001/apps/1001/channels", status=401, body="bad auth")
        status, _, body = invoke(http_event("GET", "/health"))
    assert status == 503
    assert body["checks"]["pusher"]["detail"] == "pusher_auth_failed"
