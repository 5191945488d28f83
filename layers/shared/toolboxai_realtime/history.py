"""Channel history: the events a channel received, for clients that were not connected at the time.

``GET /realtime/channels/{channel}/history?after=&limit=`` and ``Publisher.history`` read it. What is kept
and for how long: every event published through this service on a channel whose family keeps history
(the ``keeps_history`` column of ``toolboxai_realtime.channels.CHANNELS``), for ``HISTORY_RETENTION`` seconds
(default 24 h), written before the publish is sent (``toolboxai_realtime.publisher``).

Guarantees (per channel):

* **Order**: events come back in event-id order, which is publish order for publishes made one after the
  other (ids are minted before sending and increase within a process; see
  ``toolboxai_realtime.event_ids`` for publishes that race from different processes).
* **Complete**: an event Pusher delivered, or may have delivered (outcome unknown), is in history; an
  event that was refused or never sent is not (its items are removed before the error is returned).
* **No duplicates**: one item per channel and event id; the retry of a publish rewrites the same item.

``after`` older than the retention answers 410 ``history_expired`` (decided from the time inside the
ULID, so it does not depend on DynamoDB having deleted anything yet): events after it may be gone, and
the client must reload its state instead of catching up.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

from . import event_ids
from .bodies import UtcMilliseconds
from .channels import Channel, authorize, parse_channel
from .errors import BadRequest, Forbidden, Gone, NotFound
from .identity import Principal
from .observability import count, security_event
from .settings import get_settings
from .stores import history as store

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "HistoryEvent", "HistoryPage", "read", "read_for"]

DEFAULT_LIMIT = 50
MAX_LIMIT = 100


class HistoryEvent(BaseModel):
    """One event as it was delivered: ``data`` is what pusher-js received (``event_id`` included)."""

    event_id: str = Field(pattern=event_ids.EVENT_ID_PATTERN, description="The event's id (a ULID).")
    event: str = Field(description="The event name, as bound with channel.bind(event, ...).")
    data: dict[str, Any] = Field(description="The event's data, exactly as delivered.")
    published_at: UtcMilliseconds = Field(
        description="When it was published (the time inside its event_id), UTC to the millisecond."
    )


class HistoryPage(BaseModel):
    """Events of one channel in publish order, and whether there are more."""

    channel: str
    events: list[HistoryEvent]
    has_more: bool = Field(
        description="With after: more events follow the last one returned (ask again with its id). "
        "Without after: older events than the first one returned are still kept."
    )


def read_for(
    principal: Principal,
    channel: str,
    *,
    after: str | None = None,
    limit: int = DEFAULT_LIMIT,
    clock: Callable[[], float] = time.time,
) -> HistoryPage:
    """``read``, allowed exactly when ``principal`` may subscribe to ``channel``.

    The decision is the channel policy's (``channels.authorize``, the function ``/pusher/auth`` applies):
    public channels to any valid token, ``private-user-{id}`` to that user, class channels to members
    and admins. Raises ``InvalidChannel`` (400) for a malformed name, ``Forbidden`` (403, the policy's
    reason as code, logged as a security event) when the caller may not subscribe, then what ``read``
    raises.
    """
    parsed = parse_channel(channel)
    decision = authorize(principal, parsed)
    if not decision.allowed:
        security_event(
            "history_denied", reason=decision.reason, user_id=principal.user_id, channel=channel[:164]
        )
        raise Forbidden(decision.message, code=decision.reason)
    return _read(parsed, after, limit, clock)


def read(
    channel: str,
    *,
    after: str | None = None,
    limit: int = DEFAULT_LIMIT,
    clock: Callable[[], float] = time.time,
) -> HistoryPage:
    """The kept events of ``channel``: after the event id ``after`` (oldest first, the first ``limit``),
    or without ``after`` the latest ``limit`` (oldest first).

    No authorization: for trusted services (``Publisher.history``); the HTTP route uses ``read_for``.
    Raises ``InvalidChannel`` (400); ``BadRequest`` (400, ``invalid_after`` / ``invalid_limit``) for an
    ``after`` that is not an event id or a ``limit`` outside 1-100; ``NotFound`` (404,
    ``history_not_kept``) for a channel whose family keeps no history; ``Gone`` (410,
    ``history_expired``) for an ``after`` older than ``HISTORY_RETENTION``; ``UpstreamUnavailable``
    (503) when the history store fails.
    """
    return _read(parse_channel(channel), after, limit, clock)


def _read(channel: Channel, after: str | None, limit: int, clock: Callable[[], float]) -> HistoryPage:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(f"limit must be an integer from 1 to {MAX_LIMIT}.", code="invalid_limit")
    if after is not None and not event_ids.is_event_id(after):
        raise BadRequest("after must be an event_id (a 26-character ULID).", code="invalid_after")
    if not channel.keeps_history:
        raise NotFound("This channel keeps no history.", code="history_not_kept")
    now = clock()
    retention = get_settings().history_retention
    if after is not None and event_ids.milliseconds(after) < (now - retention) * 1000:
        count("HistoryExpired")
        raise Gone(
            f"Events after this id may be gone: history is kept for {retention} s. Reload the state "
            "instead of catching up.",
            code="history_expired",
        )
    found = store.query(channel.name, after=after, limit=limit + 1, newest_first=after is None, clock=clock)
    has_more = len(found) > limit
    page = found[:limit]
    if after is None:
        page.reverse()
    count("HistoryReads")
    return HistoryPage(
        channel=channel.name,
        events=[
            HistoryEvent(
                event_id=item.event_id,
                event=item.event,
                data=json.loads(item.data),
                published_at=event_ids.published_at(item.event_id),
            )
            for item in page
        ],
        has_more=has_more,
    )
