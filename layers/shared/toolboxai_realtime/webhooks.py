"""Pusher webhooks: verified, parsed, collapsed per delivery and applied order-safely.

``receive`` turns the two headers and the raw body into a ``Delivery``: the signature is checked over the
raw bytes before anything is parsed (``pusher_gateway.verify_webhook``: several key/secret pairs for
rotation, the SDK's 300 s ``time_ms`` window); a refusal is a 401 with a structured security event and
the ``WebhookSignatureFailures`` metric, and nothing is written. The events are a discriminated union on
``name`` over Pusher's seven types; an unknown type is logged and ignored, and so is a known type with a
malformed shape (Pusher would only send the same bytes again), so one odd event never costs the others.

``ingest`` collapses the delivery in memory (the events array order applies: the last event about an
item wins) into at most one change per stored item, all stamped with the delivery's ``time_ms``, and
writes them in as few DynamoDB calls as the store allows (``stores.presence.apply``: one
``TransactWriteItems`` when nothing is stale). Duplicated deliveries and older events have no effect,
so the answer is the same whatever order Pusher delivers in. Statistics go out as metrics: webhook
events by type, members joined and left, channels occupied and vacated (effects actually applied, so
duplicates are not counted twice). Client events are logged by channel, event, user id and size, never
their data.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    TypeAdapter,
    ValidationError,
)

from . import client_events, pusher_gateway
from .bodies import compact_json
from .channels import EVENT_NAME_MAX_LENGTH, ChannelKind, ChannelName, kind_of
from .errors import BadRequest, InvalidSignature
from .identity import UserId
from .observability import count, logger, security_event, tracer
from .stores import presence
from .stores.presence import Change, MemberChange, OccupancyChange, SubscriptionCountChange

__all__ = [
    "EVENT_TYPES",
    "MAX_BODY_BYTES",
    "CacheMiss",
    "ChannelOccupied",
    "ChannelVacated",
    "ClientEvent",
    "Delivery",
    "MemberAdded",
    "MemberRemoved",
    "SubscriptionCount",
    "WebhookEvent",
    "WebhookReport",
    "ingest",
    "parse_delivery",
    "plan",
    "receive",
]

MAX_BODY_BYTES = 1024 * 1024
"""Up to 20 events per delivery, client events carrying up to 10 KB each (escaped): well under 1 MiB."""

_LOGGED_KEY_CHARS = 64


def _presence_channel(name: str) -> str:
    if kind_of(name) is not ChannelKind.PRESENCE:
        raise ValueError("member events are only sent for presence channels")
    return name


PresenceChannelName = Annotated[ChannelName, AfterValidator(_presence_channel)]


# --------------------------------------------------------------------------------------------- events


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class ChannelOccupied(_Event):
    """The first subscription to ``channel``."""

    name: Literal["channel_occupied"]
    channel: ChannelName


class ChannelVacated(_Event):
    """The last subscription to ``channel`` ended."""

    name: Literal["channel_vacated"]
    channel: ChannelName


class MemberAdded(_Event):
    """``user_id``'s first socket joined the presence ``channel``."""

    name: Literal["member_added"]
    channel: PresenceChannelName
    user_id: UserId


class MemberRemoved(_Event):
    """``user_id``'s last socket left the presence ``channel``."""

    name: Literal["member_removed"]
    channel: PresenceChannelName
    user_id: UserId


class ClientEvent(_Event):
    """A ``client-`` event a client sent on a private or presence channel."""

    name: Literal["client_event"]
    channel: ChannelName
    event: Annotated[str, Field(min_length=1, max_length=EVENT_NAME_MAX_LENGTH)]
    data: Any = None
    socket_id: str | None = None
    user_id: UserId | None = None

    @property
    def size_bytes(self) -> int:
        """The size of ``data`` as it travelled (Pusher sends it as a JSON string)."""
        if isinstance(self.data, str):
            return len(self.data.encode())
        return len(compact_json(self.data).encode())


class CacheMiss(_Event):
    """A client subscribed to a cache channel that holds no event yet."""

    name: Literal["cache_miss"]
    channel: ChannelName


class SubscriptionCount(_Event):
    """Pusher's count of subscriptions to ``channel``."""

    name: Literal["subscription_count"]
    channel: ChannelName
    subscription_count: NonNegativeInt


WebhookEvent = Annotated[
    ChannelOccupied
    | ChannelVacated
    | MemberAdded
    | MemberRemoved
    | ClientEvent
    | CacheMiss
    | SubscriptionCount,
    Field(discriminator="name"),
]
_EVENT = TypeAdapter(WebhookEvent)

EVENT_TYPES: frozenset[str] = frozenset(
    get_args(model.model_fields["name"].annotation)[0] for model in get_args(get_args(WebhookEvent)[0])
)
"""The seven event types Pusher sends."""


@dataclass(frozen=True)
class Delivery:
    """One verified webhook: its ``time_ms`` and its events in array order."""

    time_ms: int
    events: tuple[WebhookEvent, ...]
    ignored: int = 0


class WebhookReport(BaseModel):
    """The answer to Pusher (it only needs a 2xx; the counts help whoever replays a delivery by hand)."""

    status: Literal["ok"] = "ok"
    events: int
    applied: int
    stale: int
    ignored: int
    client_events_refused: int = 0


# ------------------------------------------------------------------------------------------- receive


def receive(key: str | None, signature: str | None, body: bytes, *, source_ip: str | None = None) -> Delivery:
    """The verified, parsed delivery of a ``POST /pusher/webhook``.

    Raises ``InvalidSignature`` (401; logged as a security event and counted in
    ``WebhookSignatureFailures``) when a header is missing, the key is unknown, the signature does not
    match the raw body or ``time_ms`` is stale; ``BadRequest`` (400) when a correctly signed body is not
    a JSON object with a numeric ``time_ms`` and a list of ``events``.
    """
    if not key or not signature:
        refusal = InvalidSignature(
            "X-Pusher-Key and X-Pusher-Signature are required.", code="missing_webhook_headers"
        )
        _refused(refusal, key, source_ip, len(body))
        raise refusal
    try:
        doc = pusher_gateway.verify_webhook(key, signature, body)
    except InvalidSignature as refusal:
        _refused(refusal, key, source_ip, len(body))
        raise
    return parse_delivery(doc)


def _refused(refusal: InvalidSignature, key: str | None, source_ip: str | None, size: int) -> None:
    # The key is public (every browser has it) and is cut short; the signature is never logged.
    security_event(
        "webhook_rejected",
        reason=refusal.code,
        source_ip=source_ip,
        webhook_key=(key or "")[:_LOGGED_KEY_CHARS] or None,
        body_bytes=size,
    )
    count("WebhookSignatureFailures", reason=refusal.code)


def parse_delivery(doc: dict[str, Any]) -> Delivery:
    """The events of a verified webhook body, in array order; unknown or malformed events are skipped
    with a log line. Raises ``BadRequest`` (code ``malformed_webhook``) when ``events`` is not a list or
    ``time_ms`` is not a positive number.
    """
    time_ms, raw_events = doc.get("time_ms"), doc.get("events")
    if not isinstance(raw_events, list):
        raise BadRequest("The webhook body must carry a list of events.", code="malformed_webhook")
    if not isinstance(time_ms, int | float) or isinstance(time_ms, bool) or time_ms <= 0:
        raise BadRequest("The webhook time_ms must be a positive number.", code="malformed_webhook")
    events: list[WebhookEvent] = []
    ignored = 0
    for position, raw in enumerate(raw_events):
        name = raw.get("name") if isinstance(raw, dict) else None
        if name not in EVENT_TYPES:
            ignored += 1
            shown = name[:EVENT_NAME_MAX_LENGTH] if isinstance(name, str) else type(name).__name__
            logger.info("unknown webhook event ignored", extra={"event_name": shown, "position": position})
            count("WebhookEventsIgnored", reason="unknown_type")
            continue
        try:
            events.append(_EVENT.validate_python(raw))
        except ValidationError as exc:
            ignored += 1
            problems = [{"loc": list(e["loc"]), "type": e["type"]} for e in exc.errors(include_input=False)]
            logger.warning(
                "malformed webhook event ignored",
                extra={"event_name": name, "position": position, "problems": problems},
            )
            count("WebhookEventsIgnored", reason="malformed")
    return Delivery(time_ms=int(time_ms), events=tuple(events), ignored=ignored)


# -------------------------------------------------------------------------------------------- ingest


def plan(delivery: Delivery) -> list[Change]:
    """The delivery collapsed to at most one change per stored item (the last event about it wins),
    each stamped with the delivery's ``time_ms``. Client events, cache misses: nothing to store."""
    t = delivery.time_ms
    changes: dict[tuple[str, ...], Change] = {}
    for event in delivery.events:
        match event:
            case ChannelOccupied() | ChannelVacated():
                changes[("occupancy", event.channel)] = OccupancyChange(
                    event.channel, isinstance(event, ChannelOccupied), t
                )
            case MemberAdded() | MemberRemoved():
                changes[("member", event.channel, event.user_id)] = MemberChange(
                    event.channel, event.user_id, isinstance(event, MemberAdded), t
                )
            case SubscriptionCount():
                changes[("subscriptions", event.channel)] = SubscriptionCountChange(
                    event.channel, event.subscription_count, t
                )
    return list(changes.values())


@tracer.capture_method
def ingest(delivery: Delivery) -> WebhookReport:
    """Apply a verified delivery to the presence store, log client events and cache misses, count;
    enforce the client-event policy (``client_events``: a refused event ends its sender's connections).

    Raises ``UpstreamUnavailable`` when the store fails (the 503 makes Pusher retry the delivery, which
    is safe: every write is idempotent).
    """
    count("WebhookDeliveries")
    for name, number in sorted(Counter(event.name for event in delivery.events).items()):
        count("WebhookEvents", number, type=name)
    refused = 0
    cut_off: set[str | None] = {None}
    for event in delivery.events:
        if isinstance(event, ClientEvent):
            logger.info(
                "client event",
                extra={
                    "channel": event.channel,
                    "client_event": event.event,
                    "user_id": event.user_id,
                    "size_bytes": event.size_bytes,
                },
            )
            found = client_events.violation(
                event.channel, event.event, event.size_bytes, event.user_id, event.socket_id
            )
            if found is not None:
                # One termination per sender and delivery: Pusher wants its answer within 4 s.
                client_events.enforce(found, terminate=found.user_id not in cut_off)
                cut_off.add(found.user_id)
                refused += 1
        elif isinstance(event, CacheMiss):
            logger.info("cache miss", extra={"channel": event.channel})
    changes = plan(delivery)
    result = presence.apply(changes) if changes else presence.ApplyResult((), (), 0)
    _count_effects(result.applied)
    if result.stale:
        count("WebhookStaleChanges", len(result.stale))
    logger.info(
        "webhook processed",
        extra={
            "time_ms": delivery.time_ms,
            "events": len(delivery.events),
            "applied": len(result.applied),
            "stale": len(result.stale),
            "ignored": delivery.ignored,
            "dynamodb_calls": result.calls,
        },
    )
    return WebhookReport(
        events=len(delivery.events),
        applied=len(result.applied),
        stale=len(result.stale),
        ignored=delivery.ignored,
        client_events_refused=refused,
    )


def _count_effects(applied: tuple[Change, ...]) -> None:
    tally: Counter[str] = Counter()
    for change in applied:
        if isinstance(change, MemberChange):
            tally["MembersJoined" if change.present else "MembersLeft"] += 1
        elif isinstance(change, OccupancyChange):
            tally["ChannelsOccupied" if change.occupied else "ChannelsVacated"] += 1
    for metric, number in sorted(tally.items()):
        count(metric, number)
