"""The legacy WebSocket function and the fan-out to its connections (Management API)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from local_stack.gateway import build_ws_event
from tests.conftest import gateway
from toolboxai_realtime import fanout
from toolboxai_realtime.caches import reset_caches
from toolboxai_realtime.stores import connections


def ws(route_key: str, event_type: str, connection_id: str, **kw):
    event = build_ws_event(
        route_key=route_key, event_type=event_type, connection_id=connection_id, source_ip="203.0.113.5", **kw
    )
    return gateway().invoke("LegacyWsFunction", event)


def stored(aws_tables) -> dict[str, dict]:
    items = aws_tables.scan(TableName="ConnectionsTable")["Items"]
    return {i["connection_id"]["S"]: i for i in items}


def test_connect_records_the_connection_with_its_filters_and_ttl(aws_tables):
    assert ws("$connect", "CONNECT", "c1", query={"content_id": "content_1"})["statusCode"] == 200
    item = stored(aws_tables)["c1"]
    assert item["content_id"]["S"] == "content_1"
    assert "user_id" not in item
    assert int(item["expires_at"]["N"]) - int(item["connected_at"]["N"]) == 7200


def test_connect_with_a_bad_filter_is_refused_with_400_and_nothing_stored(aws_tables):
    reply = ws("$connect", "CONNECT", "c1", query={"user_id": "x" * 200})
    assert reply["statusCode"] == 400
    assert json.loads(reply["body"])["code"] == "invalid_user_id"
    assert stored(aws_tables) == {}


def test_disconnect_removes_the_connection(aws_tables):
    ws("$connect", "CONNECT", "c1")
    assert ws("$disconnect", "DISCONNECT", "c1")["statusCode"] == 200
    assert stored(aws_tables) == {}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("ping", "pong"),
        ('{"action": "ping"}', "pong"),
        ("{not json", "invalid_json"),
        ('{"action": "subscribe"}', "unknown_action"),
        ("[1, 2]", "unknown_action"),
        ("x" * 4097, "message_too_large"),
    ],
)
def test_messages_are_answered_with_a_frame_never_a_crash(aws_tables, body, expected):
    reply = ws("$default", "MESSAGE", "c1", body=body)
    assert reply["statusCode"] == 200
    frame = json.loads(reply["body"])
    assert expected in (frame["type"], frame.get("code"))


class _Management(BaseHTTPRequestHandler):
    """A stand-in for the Management API: 200, 410 Gone or 500 by connection id."""

    received: dict[str, bytes] = {}  # noqa: RUF012 - per-test state, reset by the fixture

    def do_POST(self) -> None:
        cid = self.path.rsplit("/", 1)[-1]
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        if cid.startswith("gone"):
            self._answer(410, b'{"message":"Gone"}', {"x-amzn-ErrorType": "GoneException"})
            return
        if cid.startswith("broken"):
            self._answer(500, b'{"message":"Internal"}', {})
            return
        self.received[cid] = body
        self._answer(200, b"", {})

    def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in {**headers, "content-length": str(len(body))}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # the fan-out opens up to 32 connections at once


@pytest.fixture
def management(monkeypatch) -> Iterator[type[_Management]]:
    _Management.received = {}
    server = _Server(("127.0.0.1", 0), _Management)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("LEGACY_WS_ENDPOINT", f"http://127.0.0.1:{server.server_address[1]}")
    reset_caches()
    yield _Management
    server.shutdown()


def test_fan_out_sends_the_frame_to_matching_connections_and_deletes_gone_ones(aws_tables, management):
    connections.add(connections.Connection("all"))
    connections.add(connections.Connection("mine", content_id="content_1"))
    connections.add(connections.Connection("other", content_id="content_2"))
    connections.add(connections.Connection("user5", user_id="5"))
    connections.add(connections.Connection("gone1"))
    connections.add(connections.Connection("broken1"))
    data = {"content_id": "content_1", "user_id": "5", "progress": 40, "stage": "scripts"}

    result = fanout.fan_out(["content-generation"], "progress_update", data)

    assert result == fanout.FanOutResult(sent=3, gone=1, failed=1)
    assert set(management.received) == {"all", "mine", "user5"}
    assert json.loads(management.received["mine"]) == {
        "channel": "content-generation",
        "event": "progress_update",
        "data": data,
    }
    assert set(stored(aws_tables)) == {"all", "mine", "other", "user5", "broken1"}


def test_fan_out_ignores_other_channels_and_expired_connections(aws_tables, management):
    connections.add(connections.Connection("old"), now=0)
    assert fanout.fan_out(["dashboard-updates"], "system_notification", {"x": 1}) == fanout.FanOutResult()
    assert (
        fanout.fan_out(["content-generation"], "progress_update", {"content_id": "c"})
        == fanout.FanOutResult()
    )
    assert management.received == {}


def test_fan_out_to_a_thousand_connections_deletes_every_gone_one(aws_tables, management):
    for i in range(1000):
        connections.add(connections.Connection(f"gone{i}" if i % 10 == 0 else f"live{i}"))
    result = fanout.fan_out(
        ["content-generation"], "generation_completed", {"content_id": "c", "progress": 100}
    )
    assert result.sent == 900
    assert result.gone == 100
    assert len(stored(aws_tables)) == 900


def test_fan_out_never_raises_when_the_store_is_down(aws_tables, management, monkeypatch):
    monkeypatch.setenv("CONNECTIONS_TABLE", "NoSuchTable")

    reset_caches()
    result = fanout.fan_out(["content-generation"], "progress_update", {"content_id": "c"})
    assert result == fanout.FanOutResult(failed=1)
