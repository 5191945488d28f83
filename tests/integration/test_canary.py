"""The delivery canary against a small fake Pusher WebSocket server on loopback.

The fake speaks the protocol steps the canary uses (connection_established, subscribe with a checked
signature, subscription_succeeded/error, ping, error) and can fail each of them; the publisher is the
real one, with ``pusher_gateway.trigger`` replaced by a broadcast through the fake server. The real
thing (soketi) is in tests/e2e/test_canary_e2e.py.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from websockets.datastructures import Headers
from websockets.http11 import Request, Response
from websockets.sync.server import ServerConnection, serve

from tests.conftest import gateway, lambda_context, load_event, reset_caches
from toolboxai_realtime import canary, pusher_gateway
from toolboxai_realtime.errors import UpstreamUnavailable
from toolboxai_realtime.event_ids import is_event_id

SOCKET_ID = "1234.5678"


@dataclass
class FakePusher:
    """A one-app Pusher WebSocket server with switches for each failure the canary must report."""

    key: str
    secret: str
    ping_first: bool = False
    refuse_subscriptions: bool = False
    error_on_connect: bool = False
    reject_handshake: bool = False
    paths: list[str] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    subscribed: dict[str, ServerConnection] = field(default_factory=dict)

    def process_request(self, conn: ServerConnection, request: Request) -> Response | None:
        self.paths.append(request.path)
        if self.reject_handshake:
            return Response(403, "Forbidden", Headers(), b"no")
        return None

    def handler(self, conn: ServerConnection) -> None:
        if self.error_on_connect:
            conn.send(
                json.dumps({"event": "pusher:error", "data": {"code": 4001, "message": "App not found"}})
            )
            conn.close(4001)
            return
        if self.ping_first:
            conn.send(json.dumps({"event": "pusher:ping", "data": {}}))
        established = json.dumps({"socket_id": SOCKET_ID, "activity_timeout": 30})
        conn.send(json.dumps({"event": "pusher:connection_established", "data": established}))
        for raw in conn:
            message = json.loads(raw)
            self.received.append(message)
            if message.get("event") != "pusher:subscribe":
                continue
            channel = message["data"]["channel"]
            signature = hmac.new(self.secret.encode(), f"{SOCKET_ID}:{channel}".encode(), hashlib.sha256)
            if (
                self.refuse_subscriptions
                or message["data"].get("auth") != f"{self.key}:{signature.hexdigest()}"
            ):
                error = {"type": "AuthError", "error": "Invalid signature", "status": 401}
                conn.send(
                    json.dumps({"event": "pusher:subscription_error", "channel": channel, "data": error})
                )
                continue
            self.subscribed[channel] = conn
            conn.send(json.dumps({"event": "pusher_internal:subscription_succeeded", "channel": channel}))

    def broadcast(self, channel: str, event: str, data: str) -> None:
        self.subscribed[channel].send(json.dumps({"event": event, "channel": channel, "data": data}))


@pytest.fixture
def fake_pusher(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakePusher]:
    fake = FakePusher(key=os.environ["PUSHER_KEY"], secret=os.environ["PUSHER_SECRET"])
    server = serve(fake.handler, "127.0.0.1", 0, process_request=fake.process_request, compression=None)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("PUSHER_HOST", "127.0.0.1")
    monkeypatch.setenv("PUSHER_PORT", str(server.socket.getsockname()[1]))
    monkeypatch.setenv("PUSHER_USE_TLS", "false")
    reset_caches()
    yield fake
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def delivered(fake_pusher: FakePusher, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, str]]:
    """Make the publisher's Pusher call a broadcast through the fake server; records what was sent."""
    sent: list[tuple[str, str, str]] = []

    def trigger(channels: list[str], event: str, data: str, socket_id: str | None = None) -> None:
        sent.append((channels[0], event, data))
        fake_pusher.broadcast(channels[0], event, data)

    monkeypatch.setattr(pusher_gateway, "trigger", trigger)
    return sent


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, float, dict[str, str]]]:
    metrics: list[tuple[str, float, dict[str, str]]] = []

    def count(name: str, value: float = 1, unit: Any = None, **dimensions: str) -> None:
        metrics.append((name, value, dimensions))

    monkeypatch.setattr(canary, "count", count)
    return metrics


def _names(recorded: list[tuple[str, float, dict[str, str]]]) -> dict[str, float]:
    return {name: value for name, value, _ in recorded}


# ------------------------------------------------------------------------------------------ success


def test_canary_connects_subscribes_publishes_and_times_the_receipt(fake_pusher, delivered, recorded):
    report = canary.run(timeout=5)

    assert report.ok, report
    assert report.socket_id == SOCKET_ID
    assert report.channel == f"private-canary-{report.run_id}"
    assert all(v is not None and v >= 0 for v in (report.connect_ms, report.subscribe_ms, report.latency_ms))
    # One catalogued event, through the publisher, on the canary's own channel.
    ((channel, event, data),) = delivered
    assert (channel, event) == (report.channel, "canary_probe")
    assert json.loads(data)["run_id"] == report.run_id
    assert is_event_id(json.loads(data)["event_id"])  # the canary's probe carries an event id too
    # The URL is the Pusher protocol's, and the subscription was signed for this socket and channel
    # (the fake server checks the HMAC and would have refused it otherwise).
    assert fake_pusher.paths == [f"/app/{fake_pusher.key}?protocol=7&client=toolboxai-canary&version=1.0"]
    assert [m["event"] for m in fake_pusher.received] == ["pusher:subscribe"]
    # Dimensionless metrics, so they carry only the service dimension the alarms name.
    assert _names(recorded) == {
        "CanaryConnectTime": report.connect_ms,
        "CanarySubscribeTime": report.subscribe_ms,
        "CanaryLatency": report.latency_ms,
        "CanaryFailure": 0,
    }
    assert all(dims == {} for _, _, dims in recorded)


def test_canary_answers_pushers_ping(fake_pusher, delivered, recorded):
    fake_pusher.ping_first = True

    report = canary.run(timeout=5)

    assert report.ok
    assert {"event": "pusher:pong", "data": {}} in fake_pusher.received


# ------------------------------------------------------------------------------------------ failures


def test_a_refused_subscription_fails_the_subscribe_step(fake_pusher, delivered, recorded):
    fake_pusher.refuse_subscriptions = True

    report = canary.run(timeout=5)

    assert (report.ok, report.failed_at, report.failure) == (False, "subscribe", "subscription_refused")
    assert delivered == []
    assert _names(recorded)["CanaryFailure"] == 1
    assert "CanaryLatency" not in _names(recorded)


def test_an_event_that_never_arrives_is_a_receive_timeout(fake_pusher, recorded, monkeypatch):
    monkeypatch.setattr(pusher_gateway, "trigger", lambda *args, **kwargs: None)  # Pusher "accepts", drops it

    report = canary.run(timeout=0.5)

    assert (report.ok, report.failed_at, report.failure) == (False, "receive", "timeout")
    assert report.publish_ms is not None
    assert _names(recorded)["CanaryFailure"] == 1


def test_a_failed_publish_fails_the_publish_step_with_the_publishers_code(fake_pusher, recorded, monkeypatch):
    def unreachable(*args: Any, **kwargs: Any) -> None:
        raise UpstreamUnavailable("Pusher could not be reached.", code="pusher_unreachable")

    monkeypatch.setattr(pusher_gateway, "trigger", unreachable)

    report = canary.run(timeout=5)

    assert (report.ok, report.failed_at, report.failure) == (False, "publish", "pusher_unreachable")
    assert report.subscribe_ms is not None
    assert _names(recorded)["CanaryFailure"] == 1


def test_a_pusher_error_on_connect_fails_the_connect_step(fake_pusher, recorded):
    fake_pusher.error_on_connect = True

    report = canary.run(timeout=5)

    assert (report.ok, report.failed_at, report.failure) == (False, "connect", "pusher_error")
    assert report.socket_id is None


def test_a_refused_handshake_fails_the_connect_step(fake_pusher, recorded):
    fake_pusher.reject_handshake = True

    report = canary.run(timeout=5)

    assert (report.failed_at, report.failure) == ("connect", "handshake_refused")
    assert _names(recorded) == {"CanaryFailure": 1}


def test_nothing_listening_fails_the_connect_step(recorded, monkeypatch):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("PUSHER_HOST", "127.0.0.1")
    monkeypatch.setenv("PUSHER_PORT", str(port))
    monkeypatch.setenv("PUSHER_USE_TLS", "false")
    reset_caches()

    report = canary.run(timeout=2)

    assert (report.ok, report.failed_at, report.failure) == (False, "connect", "unreachable")
    assert _names(recorded) == {"CanaryFailure": 1}


def test_missing_pusher_credentials_are_reported_not_raised(recorded, monkeypatch):
    monkeypatch.delenv("PUSHER_SECRET", raising=False)
    monkeypatch.delenv("PUSHER_SECRET_NAME", raising=False)
    reset_caches()

    report = canary.run(timeout=1)

    assert (report.failed_at, report.failure) == ("connect", "pusher_not_configured")


# ------------------------------------------------------------------------------------ the Lambda entry


def test_the_scheduled_function_returns_the_report_and_emits_emf_with_the_service_dimension(
    fake_pusher, delivered, monkeypatch, capsys
):
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    handler = gateway().handler("CanaryFunction")

    result = handler(load_event("canary_scheduled.json"), lambda_context("CanaryFunction"))

    assert result["ok"] is True
    assert result["failed_at"] is None
    blobs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    canary_blob = next(b for b in blobs if "CanaryFailure" in b)
    (directive,) = canary_blob["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == os.environ["POWERTOOLS_METRICS_NAMESPACE"]
    assert directive["Dimensions"] == [["service"]]
    assert {m["Name"] for m in directive["Metrics"]} >= {
        "CanaryConnectTime",
        "CanaryLatency",
        "CanaryFailure",
    }
    assert canary_blob["CanaryFailure"] == [0.0]
