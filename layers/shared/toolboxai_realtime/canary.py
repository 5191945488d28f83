"""The delivery canary: a real Pusher client that measures what a browser would feel.

One run (``functions/canary``, every five minutes; ``make canary`` locally):

1. **Connect** over the Pusher WebSocket protocol, ``ws(s)://host:port/app/{key}?protocol=7&client=
   toolboxai-canary&version=1.0``, and wait for ``pusher:connection_established`` (it carries the
   ``socket_id``). Socket opening -> established is ``CanaryConnectTime``.
2. **Subscribe** to a fresh ``private-canary-{run_id}``: the canary's service principal goes through the
   declarative channel policy (``channels.require_subscribe``) and the subscription is signed by
   ``pusher_gateway.authorize_channel``, exactly as for a browser. Policy check ->
   ``pusher_internal:subscription_succeeded`` is ``CanarySubscribeTime``.
3. **Publish** one ``canary_probe`` event through the publisher (catalog validation, one Pusher call).
4. **Receive** it on the socket. Publish start -> receipt is ``CanaryLatency``.

Every run emits ``CanaryFailure``: 0 when the probe came back, 1 when a step failed or the event did not
arrive within the timeout. The 0 matters: the alarm treats *no* data as a failure, so a canary that
stopped running alarms too. A failed run is logged with its step and a code and returned as a report;
it never raises (a retry would only measure the same outage again, five minutes early).

The canary publishes without the per-channel rate limit: its channel is new every run, and it needs no
DynamoDB access, only the Pusher secret.
"""

from __future__ import annotations

import contextlib
import json
import queue
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.sync.client import ClientConnection, connect

from .bodies import compact_json
from .channels import CANARY, parse_channel, require_subscribe
from .errors import RealtimeError
from .identity import TRIGGER_SCOPE, Principal
from .observability import MetricUnit, count, logger, tracer
from .publisher import Publisher
from .pusher_gateway import authorize_channel
from .secrets import pusher_credentials
from .settings import Settings, get_settings

__all__ = [
    "CANARY_EVENT",
    "CANARY_PRINCIPAL",
    "CLIENT_NAME",
    "DEFAULT_TIMEOUT_SECONDS",
    "CanaryReport",
    "Stage",
    "run",
    "websocket_url",
]

CANARY_EVENT = "canary_probe"
"""The event the canary publishes (catalog family ``private-canary``)."""

CLIENT_NAME = "toolboxai-canary"
CLIENT_VERSION = "1.0"
PROTOCOL_VERSION = 7

DEFAULT_TIMEOUT_SECONDS = 10.0
"""Longest wait for each step (connect, subscribe, publish, receive)."""

CANARY_PRINCIPAL = Principal(
    user_id="toolboxai-canary", name="Delivery canary", scopes=frozenset({TRIGGER_SCOPE})
)
"""Who the canary is to the channel policy: a service principal (``realtime:trigger`` scope)."""

Stage = Literal["connect", "subscribe", "publish", "receive"]

# Pusher's own HTTP API hosts have a WebSocket twin: api-<cluster>.pusher.com -> ws-<cluster>.pusher.com.
_PUSHER_API_HOST = re.compile(r"^api-([a-z0-9-]+)\.pusher\.com$")


class CanaryReport(BaseModel):
    """One canary run: where it got to and how long each step took (milliseconds)."""

    model_config = ConfigDict(frozen=True)

    ok: bool = Field(description="True when the published probe came back on the socket.")
    run_id: str
    channel: str
    socket_id: str | None = None
    connect_ms: float | None = Field(default=None, description="Socket opening -> connection_established.")
    subscribe_ms: float | None = Field(default=None, description="Policy check -> subscription_succeeded.")
    publish_ms: float | None = Field(default=None, description="The publisher's Pusher call.")
    latency_ms: float | None = Field(default=None, description="Publish start -> the probe's receipt.")
    failed_at: Stage | None = Field(default=None, description="The step that failed.")
    failure: str | None = Field(default=None, description="A snake_case code of what went wrong.")


class _Failed(Exception):
    """A step of the run failed; ``code`` says how (never a library message)."""

    def __init__(self, stage: Stage, code: str) -> None:
        super().__init__(f"{stage}: {code}")
        self.stage = stage
        self.code = code


@dataclass
class _Run:
    run_id: str
    channel: str
    socket_id: str | None = None
    connect_ms: float | None = None
    subscribe_ms: float | None = None
    publish_ms: float | None = None
    latency_ms: float | None = None

    def report(self, failure: _Failed | None = None) -> CanaryReport:
        return CanaryReport(
            ok=failure is None,
            run_id=self.run_id,
            channel=self.channel,
            socket_id=self.socket_id,
            connect_ms=self.connect_ms,
            subscribe_ms=self.subscribe_ms,
            publish_ms=self.publish_ms,
            latency_ms=self.latency_ms,
            failed_at=failure.stage if failure else None,
            failure=failure.code if failure else None,
        )


# ------------------------------------------------------------------------------------------------ run


def websocket_url(key: str, settings: Settings | None = None) -> str:
    """The Pusher WebSocket URL of the app ``key``.

    ``PUSHER_HOST``/``PUSHER_PORT`` name a self-hosted server (soketi locally), which serves the HTTP
    API and WebSockets on one address; Pusher's own ``api-<cluster>.pusher.com`` becomes its
    ``ws-<cluster>.pusher.com``; without a host, ``ws-<PUSHER_CLUSTER>.pusher.com``. ``PUSHER_USE_TLS``
    chooses ``wss`` (default port 443) or ``ws`` (80).
    """
    s = settings or get_settings()
    tls = s.pusher_use_tls
    host = s.pusher_host or f"ws-{s.pusher_cluster}.pusher.com"
    host = _PUSHER_API_HOST.sub(r"ws-\1.pusher.com", host)
    port = s.pusher_port or (443 if tls else 80)
    query = f"protocol={PROTOCOL_VERSION}&client={CLIENT_NAME}&version={CLIENT_VERSION}"
    return f"{'wss' if tls else 'ws'}://{host}:{port}/app/{quote(key, safe='')}?{query}"


@tracer.capture_method
def run(
    *,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    publisher: Publisher | None = None,
    settings: Settings | None = None,
) -> CanaryReport:
    """Run the canary once, record its metrics and log line, and return its report. Never raises.

    ``timeout`` bounds each step; ``publisher`` defaults to one without the rate limit.
    """
    run_id = uuid.uuid4().hex[:16]
    state = _Run(run_id=run_id, channel=CANARY.name(run_id=run_id))
    failure: _Failed | None = None
    try:
        _probe(state, timeout, publisher or Publisher(rate_limit=False), settings or get_settings())
    except _Failed as exc:
        failure = exc
    report = state.report(failure)
    _record(report)
    return report


def _probe(state: _Run, timeout: float, publisher: Publisher, s: Settings) -> None:
    try:
        url = websocket_url(pusher_credentials(s).key, s)
    except RealtimeError as exc:
        raise _Failed("connect", exc.code) from exc
    opened = time.perf_counter()
    try:
        ws = connect(
            url,
            open_timeout=timeout,
            close_timeout=1,
            ping_interval=None,  # Pusher keeps the connection alive with its own pusher:ping
            user_agent_header=f"{CLIENT_NAME}/{CLIENT_VERSION}",
        )
    except TimeoutError as exc:
        raise _Failed("connect", "timeout") from exc
    except (InvalidHandshake, InvalidURI) as exc:
        raise _Failed("connect", "handshake_refused") from exc
    except OSError as exc:
        raise _Failed("connect", "unreachable") from exc
    with ws:
        inbox = _Inbox(ws)
        arrived, established = inbox.wait(
            "connect", timeout, lambda m: m.get("event") == "pusher:connection_established"
        )
        state.socket_id = _socket_id(established)
        state.connect_ms = _ms(opened, arrived)
        _subscribe(inbox, state, timeout)
        _deliver(inbox, state, timeout, publisher)


def _subscribe(inbox: _Inbox, state: _Run, timeout: float) -> None:
    started = time.perf_counter()
    try:
        require_subscribe(CANARY_PRINCIPAL, parse_channel(state.channel))
        signed = authorize_channel(state.socket_id or "", state.channel)
    except RealtimeError as exc:
        raise _Failed("subscribe", exc.code) from exc
    inbox.send("subscribe", {"event": "pusher:subscribe", "data": {"channel": state.channel, **signed}})

    def answered(message: dict[str, Any]) -> bool:
        if message.get("channel") != state.channel:
            return False
        if message.get("event") == "pusher:subscription_error":
            raise _Failed("subscribe", "subscription_refused")
        return message.get("event") == "pusher_internal:subscription_succeeded"

    arrived, _ = inbox.wait("subscribe", timeout, answered)
    state.subscribe_ms = _ms(started, arrived)


def _deliver(inbox: _Inbox, state: _Run, timeout: float, publisher: Publisher) -> None:
    data = {"run_id": state.run_id, "sent_at": datetime.now(UTC).isoformat()}
    started = time.perf_counter()
    try:
        publisher.trigger(state.channel, CANARY_EVENT, data)
    except RealtimeError as exc:
        raise _Failed("publish", exc.code) from exc
    state.publish_ms = _ms(started, time.perf_counter())

    def is_probe(message: dict[str, Any]) -> bool:
        if message.get("event") != CANARY_EVENT or message.get("channel") != state.channel:
            return False
        return _payload(message).get("run_id") == state.run_id

    arrived, _ = inbox.wait("receive", timeout, is_probe)
    state.latency_ms = _ms(started, arrived)


# ------------------------------------------------------------------------------------------ protocol


class _Inbox:
    """Reads the socket on a thread of its own and stamps each message with its arrival time.

    The probe often arrives while the publisher's HTTP call is still returning: stamped on arrival, the
    latency is the delivery's own, not the moment the main thread got round to reading. The thread also
    answers Pusher's ``pusher:ping``, and ends when the connection closes.
    """

    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws
        self._messages: queue.Queue[tuple[float, dict[str, Any] | None]] = queue.Queue()
        threading.Thread(target=self._read, name="canary-inbox", daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                raw = self._ws.recv()
            except ConnectionClosed:
                self._messages.put((time.perf_counter(), None))
                return
            arrived = time.perf_counter()
            message = _decode(raw)
            if message.get("event") == "pusher:ping":
                with contextlib.suppress(ConnectionClosed):  # the next recv() reports the close
                    self._ws.send(_encode({"event": "pusher:pong", "data": {}}))
                continue
            self._messages.put((arrived, message))

    def send(self, stage: Stage, message: dict[str, Any]) -> None:
        """Send one protocol message; a closed connection fails ``stage``."""
        try:
            self._ws.send(_encode(message))
        except ConnectionClosed as exc:
            raise _Failed(stage, "connection_closed") from exc

    def wait(
        self, stage: Stage, timeout: float, wanted: Callable[[dict[str, Any]], bool]
    ) -> tuple[float, dict[str, Any]]:
        """The arrival time and the first message ``wanted`` accepts within ``timeout`` seconds.

        Raises ``_Failed`` on timeout, a closed connection or a ``pusher:error``.
        """
        deadline = time.perf_counter() + timeout
        while True:
            try:
                arrived, message = self._messages.get(timeout=max(0.0, deadline - time.perf_counter()))
            except queue.Empty as exc:
                raise _Failed(stage, "timeout") from exc
            if message is None:
                raise _Failed(stage, "connection_closed")
            if message.get("event") == "pusher:error":
                logger.warning("pusher error on the canary socket", extra={"stage": stage, **_error(message)})
                raise _Failed(stage, "pusher_error")
            if wanted(message):
                return arrived, message


def _encode(message: dict[str, Any]) -> str:
    return compact_json(message)


def _decode(raw: str | bytes) -> dict[str, Any]:
    try:
        message = json.loads(raw)
    except ValueError:
        return {}
    return message if isinstance(message, dict) else {}


def _payload(message: dict[str, Any]) -> dict[str, Any]:
    """A message's ``data``: Pusher sends it as a JSON string (or, from some servers, an object)."""
    data = message.get("data")
    if isinstance(data, str | bytes):
        return _decode(data)
    return data if isinstance(data, dict) else {}


def _socket_id(established: dict[str, Any]) -> str:
    socket_id = _payload(established).get("socket_id")
    if not isinstance(socket_id, str) or not socket_id:
        raise _Failed("connect", "no_socket_id")
    return socket_id


def _error(message: dict[str, Any]) -> dict[str, Any]:
    data = _payload(message)
    return {"pusher_code": data.get("code"), "pusher_message": str(data.get("message", ""))[:200]}


def _ms(start: float, end: float) -> float:
    return round((end - start) * 1000, 1)


# ------------------------------------------------------------------------------------------- metrics


def _record(report: CanaryReport) -> None:
    """The run's metrics and its log line.

    No dimensions (so they go out with the invocation's EMF, dimension ``service`` only), and literal
    names: the dashboard and alarms are checked against the names the source code emits.
    """
    if report.connect_ms is not None:
        count("CanaryConnectTime", report.connect_ms, MetricUnit.Milliseconds)
    if report.subscribe_ms is not None:
        count("CanarySubscribeTime", report.subscribe_ms, MetricUnit.Milliseconds)
    if report.latency_ms is not None:
        count("CanaryLatency", report.latency_ms, MetricUnit.Milliseconds)
    count("CanaryFailure", 0 if report.ok else 1)
    if report.ok:
        logger.info("canary delivered", extra=report.model_dump())
    else:
        logger.error("canary failed", extra=report.model_dump())
