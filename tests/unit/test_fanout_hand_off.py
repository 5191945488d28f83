"""The publisher hands content-generation events to the legacy fan-out with one async invoke."""

from __future__ import annotations

import json

import pytest
from botocore.stub import Stubber

from toolboxai_realtime import aws, fanout
from toolboxai_realtime.caches import reset_caches


@pytest.fixture
def lambda_stub(monkeypatch):
    monkeypatch.setenv("LEGACY_FANOUT_FUNCTION", "LegacyFanoutFunction")
    reset_caches()
    client = aws.lambda_client()
    with Stubber(client) as stub:
        yield stub
    reset_caches()


def test_content_generation_events_are_invoked_asynchronously_with_the_published_data(lambda_stub):
    data = '{"content_id":"c1","progress":40,"stage":"scripts"}'
    expected = {"channels": ["content-generation"], "event": "progress_update", "data": json.loads(data)}
    lambda_stub.add_response(
        "invoke",
        {"StatusCode": 202},
        {
            "FunctionName": "LegacyFanoutFunction",
            "InvocationType": "Event",
            "Payload": json.dumps(expected, separators=(",", ":")).encode(),
        },
    )
    assert fanout.hand_off(["content-generation"], "progress_update", data) is True
    lambda_stub.assert_no_pending_responses()


def test_other_channels_are_not_handed_off(lambda_stub):
    assert fanout.hand_off(["dashboard-updates"], "system_notification", "{}") is False


def test_a_failed_invoke_is_logged_and_never_raised(lambda_stub):
    lambda_stub.add_client_error("invoke", service_error_code="ServiceException", http_status_code=500)
    assert fanout.hand_off(["content-generation", "agent-status"], "progress_update", '{"a":1}') is False


def test_without_a_fan_out_function_nothing_is_invoked(monkeypatch):
    monkeypatch.delenv("LEGACY_FANOUT_FUNCTION", raising=False)
    assert fanout.hand_off(["content-generation"], "progress_update", "{}") is False
