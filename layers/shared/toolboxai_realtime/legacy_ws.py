"""The legacy WebSocket (``/ws/content``) for front ends not yet migrated to Pusher.

API Gateway's WebSocket API calls one function for ``$connect``, ``$disconnect`` and ``$default``.
Connections are recorded with optional filters (``?content_id=…``, ``?user_id=…``); the publisher fans
``content-generation`` events out to them (``toolboxai_realtime.fanout``). Messages from clients: a
``ping`` (text ``ping`` or ``{"action": "ping"}``) is answered with a ``pong`` frame; anything else gets
an error frame, never a crash. Frames sent to clients are JSON text:
``{"channel": "content-generation", "event": "<name>", "data": {...}}``.
"""

from __future__ import annotations

import re
import time
from typing import Any

from . import bodies
from .channels import CONTENT_GENERATION, id_pattern
from .errors import BadRequest, RealtimeError
from .observability import count, logger
from .stores import connections
from .stores.connections import Connection

MAX_MESSAGE_BYTES = 4096
_FILTER = re.compile(id_pattern(128, colon=True))  # the alphabet of event names


def _reply(status: int, body: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"statusCode": status}
    if body is not None:
        out["body"] = bodies.compact_json(body)
    return out


def _error(code: str, message: str, status: int = 200) -> dict[str, Any]:
    return _reply(status, {"type": "error", "code": code, "message": message})


def handle(event: dict[str, Any]) -> dict[str, Any]:
    """Dispatch one WebSocket event by its route key; never raises for client input."""
    ctx = event.get("requestContext") or {}
    route = ctx.get("routeKey")
    connection_id = ctx.get("connectionId")
    if not connection_id:
        return _error("bad_event", "No connection id in the event.", 400)
    if route == "$connect":
        return connect(connection_id, event.get("queryStringParameters") or {})
    if route == "$disconnect":
        connections.remove(connection_id)
        count("LegacyWsDisconnected")
        return _reply(200)
    return message(event)


def connect(connection_id: str, query: dict[str, str]) -> dict[str, Any]:
    """Record the connection with its filters; a bad filter refuses the handshake with 400."""
    filters: dict[str, str | None] = {}
    for name in ("content_id", "user_id"):
        value = query.get(name)
        if value is not None and not _FILTER.fullmatch(value):
            logger.info("legacy ws connect refused", extra={"reason": f"invalid_{name}"})
            return _error(f"invalid_{name}", f"{name} must be 1-128 letters, digits or _ - = @ , . ; :", 400)
        filters[name] = value
    try:
        connections.add(Connection(connection_id, filters["content_id"], filters["user_id"]))
    except RealtimeError as exc:
        return _error(exc.code, exc.message, 503)
    count("LegacyWsConnected")
    return _reply(200)


def message(event: dict[str, Any]) -> dict[str, Any]:
    """Answer one client message: ``ping`` → ``pong``; anything else → an error frame."""
    raw = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return _error("binary_not_supported", "Send text frames (JSON).")
    if len(raw.encode("utf-8", "surrogatepass")) > MAX_MESSAGE_BYTES:
        return _error("message_too_large", f"Messages are limited to {MAX_MESSAGE_BYTES} bytes.")
    if raw.strip() == "ping":
        return _reply(200, {"type": "pong", "time": int(time.time() * 1000)})
    try:
        doc = bodies.loads(raw, max_bytes=MAX_MESSAGE_BYTES)
    except bodies.BodyLimitExceeded as exc:
        return _error(exc.code, exc.message)
    except BadRequest:
        return _error("invalid_json", 'Send JSON such as {"action": "ping"}.')
    action = doc.get("action") if isinstance(doc, dict) else None
    if action == "ping":
        return _reply(200, {"type": "pong", "time": int(time.time() * 1000)})
    return _error("unknown_action", 'The only action is "ping"; updates arrive without asking.')


def frame(event_name: str, data: dict[str, Any]) -> bytes:
    """The frame a legacy client receives for one content-generation event."""
    doc = {"channel": CONTENT_GENERATION.name(), "event": event_name, "data": data}
    return bodies.compact_json(doc).encode()
