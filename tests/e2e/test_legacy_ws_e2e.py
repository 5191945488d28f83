"""The legacy /ws/content WebSocket through the real local stack: a plain WebSocket client receives what
POST /realtime/trigger publishes on content-generation, exactly like a pusher-js client does."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from local_stack.token import mint_dev_token
from tests.e2e.conftest import PusherJs, Stack

pytestmark = pytest.mark.e2e


def ws_url(stack: Stack, query: str = "") -> str:
    return f"ws://127.0.0.1:{stack.env['REALTIME_PORT']}/ws/content{query}"


def publish(stack: Stack, event: str, data: dict[str, Any]) -> str:
    """Publish on content-generation; returns the event id (legacy clients get it in the data too)."""
    token = mint_dev_token("ops", role="admin", secret=stack.env["JWT_SECRET"])
    status, _, body = stack.json(
        "POST",
        "/realtime/trigger",
        {"channel": "content-generation", "event": event, "data": data},
        token=token,
    )
    assert status == 200, body
    return str(body["event_ids"][0])


def frames(ws: ClientConnection, count: int, timeout: float = 10) -> list[dict[str, Any]]:
    return [json.loads(ws.recv(timeout=timeout)) for _ in range(count)]


def connections_table(stack: Stack) -> int:
    client = boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{stack.env['DYNAMODB_PORT']}")
    return int(client.scan(TableName="ConnectionsTable", Select="COUNT")["Count"])


def test_legacy_clients_receive_content_generation_events_like_pusher_js(stack, pusher_js: PusherJs):
    pusher_js.connect("browser")
    assert pusher_js.call("subscribe", client="browser", channel="content-generation")["subscribed"]
    with connect(ws_url(stack)) as everyone, connect(ws_url(stack, "?content_id=content_e2e_1")) as mine:
        everyone.send("ping")
        assert json.loads(everyone.recv(timeout=5))["type"] == "pong"

        other = {"content_id": "content_e2e_2", "user_id": "7", "progress": 10, "stage": "outline"}
        own = {"content_id": "content_e2e_1", "user_id": "7", "progress": 100, "stage": "done"}
        other = {**other, "event_id": publish(stack, "progress_update", other)}
        own = {**own, "event_id": publish(stack, "generation_completed", own)}

        assert frames(everyone, 2) == [
            {"channel": "content-generation", "event": "progress_update", "data": other},
            {"channel": "content-generation", "event": "generation_completed", "data": own},
        ]
        # The filtered client's first frame is its own event: the other content's never came.
        assert frames(mine, 1) == [
            {"channel": "content-generation", "event": "generation_completed", "data": own}
        ]
        got = pusher_js.wait_event(
            client="browser", event="generation_completed", channel="content-generation"
        )
        assert got["data"] == own


def test_a_closed_connection_is_removed(stack):
    before = connections_table(stack)
    with connect(ws_url(stack, "?user_id=closing")):
        deadline = time.monotonic() + 5
        while connections_table(stack) != before + 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert connections_table(stack) == before + 1
    deadline = time.monotonic() + 5
    while connections_table(stack) != before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert connections_table(stack) == before


def test_a_bad_filter_refuses_the_handshake_and_an_unknown_path_closes_with_a_clear_code(stack):
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url(stack, "?content_id=" + "x" * 300))
    assert refused.value.response.status_code == 400
    other = f"ws://127.0.0.1:{stack.env['REALTIME_PORT']}/ws/other"
    with connect(other) as ws, pytest.raises(ConnectionClosed):
        ws.recv(timeout=5)
    assert ws.close_code == 4404
    assert "/ws/content" in (ws.close_reason or "")


def test_messages_get_error_frames_not_crashes(stack):
    with connect(ws_url(stack)) as ws:
        ws.send("{not json")
        assert json.loads(ws.recv(timeout=5))["code"] == "invalid_json"
        ws.send("x" * 5000)
        assert json.loads(ws.recv(timeout=5))["code"] == "message_too_large"
        ws.send(json.dumps({"action": "ping"}))
        assert json.loads(ws.recv(timeout=5))["type"] == "pong"
