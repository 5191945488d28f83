"""Fan-out of ``content-generation`` events to legacy WebSocket clients (API Gateway Management API).

Two halves. The publisher, after Pusher accepted an event, calls ``hand_off``: one asynchronous Lambda
invoke of the fan-out function (``LEGACY_FANOUT_FUNCTION``), so the publishing request neither waits for
nor fails with the fan-out, and keeps its one-DynamoDB-call budget. The fan-out function then calls
``fan_out``: it reads the recorded connections, posts the frame to each in parallel with bounded
concurrency, and deletes connections that are gone (``GoneException``, HTTP 410). Errors in either
half are logged and counted, never raised.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from dataclasses import dataclass
from typing import Any

from . import aws
from .channels import CONTENT_GENERATION
from .errors import RealtimeError
from .legacy_ws import frame
from .observability import count, logger
from .settings import get_settings
from .stores import connections

MAX_WORKERS = 32
LEGACY_CHANNEL = CONTENT_GENERATION.name()


@dataclass(frozen=True)
class FanOutResult:
    sent: int = 0
    gone: int = 0
    failed: int = 0


def hand_off(channels: list[str], event_name: str, data_json: str) -> bool:
    """Queue a published event for the legacy fan-out function (asynchronous invoke); never raises.

    Returns True when the event was handed off, False when it is not for legacy clients, the fan-out
    is not configured, or the invoke failed (logged and counted).
    """
    function = get_settings().legacy_fanout_function
    if LEGACY_CHANNEL not in channels or not function:
        return False
    payload = f'{{"channels":{json.dumps(channels)},"event":{json.dumps(event_name)},"data":{data_json}}}'
    failure = aws.invoke_async(function, payload.encode())
    if failure is not None:
        logger.error("legacy fan-out hand-off failed", extra={"error_type": failure})
        count("LegacyFanOutFailures")
        return False
    return True


def fan_out(channels: list[str], event_name: str, data: Any, max_workers: int = MAX_WORKERS) -> FanOutResult:
    """Send one event to every legacy connection that wants it, if it was published on
    ``content-generation``. Never raises."""
    endpoint = get_settings().legacy_ws_endpoint
    if LEGACY_CHANNEL not in channels or not endpoint or not isinstance(data, dict):
        return FanOutResult()
    try:
        targets = [c.connection_id for c in connections.live() if c.wants(data)]
        if not targets:
            return FanOutResult()
        post = aws.connection_poster(endpoint, MAX_WORKERS)
        payload = frame(event_name, data)
        with ThreadPoolExecutor(max_workers=min(max_workers, len(targets))) as pool:
            # Each post runs in a copy of this context: the invocation's deadline holds in the workers.
            futures = [pool.submit(copy_context().run, post, cid, payload) for cid in targets]
            outcomes = [future.result() for future in futures]
        gone = [cid for cid, outcome in zip(targets, outcomes, strict=True) if outcome == "gone"]
        if gone:
            connections.remove_many(gone)
    except (RealtimeError, aws.DeadlineExceeded) as exc:  # no time left to build the client
        logger.error("legacy fan-out failed", extra={"code": getattr(exc, "code", type(exc).__name__)})
        count("LegacyFanOutFailures")
        return FanOutResult(failed=1)
    result = FanOutResult(sent=outcomes.count("sent"), gone=len(gone), failed=outcomes.count("failed"))
    count("LegacyFanOutSent", value=result.sent)
    if result.failed:
        logger.warning("legacy fan-out partly failed", extra={"failed": result.failed, "sent": result.sent})
        count("LegacyFanOutFailures", value=result.failed)
    return result
