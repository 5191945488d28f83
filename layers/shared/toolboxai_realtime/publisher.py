"""The publisher: catalogued events to Pusher, validated, rate limited, and never a silent failure.

The one publish path of the system. ``POST /realtime/trigger`` (and ``/realtime/trigger/batch``) use it,
and so can any ToolBoxAI Python service that has this package and the ``PUSHER_*`` settings::

    from toolboxai_realtime.publisher import Publisher

    publisher = Publisher()
    publisher.notify_user("12345", {"type": "grade", "title": "New Grade Posted",
                                    "message": "Your math quiz has been graded"})
    publisher.update_content_progress("content_12345", 75, "generating_scripts")

Every publish, in this order:

1. **Channels**: 1-100 names (duplicates dropped), each valid (``InvalidChannel``, 400) and one of the
   catalog's channels (``unknown_channel``, 422: the server publishes nothing on channels it does not
   define). An encrypted channel must be the only channel of its event (``encrypted_multi_channel``).
2. **Event and data**: the name is one the server may send (no ``pusher:``, no ``client-``; 400) and
   the data validates against the catalog for every channel's family (``unknown_event`` naming the
   allowed events, ``invalid_event_data``; 422). The validated data is encoded once, as compact UTF-8
   JSON, and must be at most 10,240 bytes (413; measured after encryption for encrypted channels).
   That encoded string is what Pusher receives.
3. **Rate limit**: ``TRIGGER_RATE_LIMIT_PER_MINUTE`` events per channel, counted in one DynamoDB call
   for the whole publish (``stores.trigger_limits``); over the limit is ``RateLimited`` (429) and
   nothing is published or counted.
4. **Pusher**: one HTTP call, ``POST /events`` for one event (on up to 100 channels) or
   ``POST /batch_events`` for a batch of up to 10. A failure is ``UpstreamUnavailable`` (503 for timeouts
   and refused connections, 502 for error answers), logged and counted as ``PublishFailures``.

Every error is a ``toolboxai_realtime.errors.RealtimeError`` subclass with a status, a ``code`` and a
message; nothing returns ``False``. Metrics: ``EventsPublished`` (by channel family),
``PublishFailures``, ``RateLimited`` (``scope=trigger``).
"""

from __future__ import annotations

import operator
import re
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache, reduce
from types import MappingProxyType
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, GetJsonSchemaHandler, TypeAdapter, model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from . import catalog, fanout, pusher_gateway
from .channels import (
    CHANNELS,
    Channel,
    ChannelKind,
    ChannelName,
    ServerEventName,
    SocketId,
    parse_channel,
    validate_server_event_name,
    validate_socket_id,
)
from .errors import RealtimeError, UpstreamUnavailable, ValidationFailed
from .observability import count, logger, tracer
from .stores import trigger_limits

__all__ = [
    "MAX_BATCH_EVENTS",
    "MAX_CHANNELS",
    "BatchEvent",
    "BatchTriggerRequest",
    "PublishResult",
    "PublishedEvent",
    "Publisher",
    "TriggerRequest",
    "broadcast_system_message",
    "catalog_openapi_refs",
    "default_publisher",
    "notify_user",
    "report_agent_status",
    "send_to_user",
    "trigger",
    "trigger_batch",
    "update_content_progress",
]

MAX_CHANNELS = 100
"""Pusher's limit on the channels of one event."""

MAX_BATCH_EVENTS = 10
"""Pusher's limit on the events of one batch call."""

SUCCESS_MESSAGE = "Event triggered successfully"
BATCH_SUCCESS_MESSAGE = "Events triggered successfully"

# ------------------------------------------------------------------------------------------ data type


def _catalog_models() -> list[type[BaseModel]]:
    models: list[type[BaseModel]] = []
    for events in catalog.EVENTS.values():
        for model in events.values():
            if model not in models:
                models.append(model)
    return models


class _CatalogJsonSchema:
    """Documents event data as one of the catalog's models; validation stays a plain JSON object.

    Which model applies depends on the channel's family and the event, which a JSON Schema of the body
    cannot express: the publisher validates with ``catalog.validate_event``. In OpenAPI the models land in
    ``components/schemas`` and ``x-event-catalog`` (``catalog_openapi_refs``) maps family and event to them.
    """

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        union: TypeAdapter[Any] = TypeAdapter(reduce(operator.or_, _catalog_models()))
        schema = handler(union.core_schema)
        schema["description"] = (
            "The event's data: the catalog model of the channel's family and the event "
            "(see x-event-catalog), at most 10,240 bytes as compact UTF-8 JSON."
        )
        return schema


EventData = Annotated[dict[str, Any], _CatalogJsonSchema()]
"""A JSON object, documented as the catalog's data models."""


def catalog_openapi_refs() -> dict[str, dict[str, dict[str, str]]]:
    """``{family: {event: {"$ref": "#/components/schemas/<Model>"}}}``: the catalog, for OpenAPI."""
    return {
        family: {event: {"$ref": f"#/components/schemas/{model.__name__}"} for event, model in events.items()}
        for family, events in catalog.EVENTS.items()
    }


# -------------------------------------------------------------------------------------- request models


class TriggerRequest(BaseModel):
    """One event on one channel (``channel``) or several (``channels``, at most 100)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: ChannelName | None = Field(default=None, description="The channel, e.g. dashboard-updates.")
    channels: Annotated[list[ChannelName], Field(min_length=1, max_length=MAX_CHANNELS)] | None = Field(
        default=None, description="Several channels (instead of channel): 1-100, no encrypted channel."
    )
    event: ServerEventName = Field(description="An event of the catalog for the channel's family.")
    data: EventData
    socket_id: SocketId | None = Field(
        default=None, description="Exclude this connection (the sender's own) from the recipients."
    )

    @model_validator(mode="after")
    def _one_of_channel_or_channels(self) -> Self:
        if (self.channel is None) == (self.channels is None):
            raise ValueError("Give either channel or channels (not both).")
        return self

    @property
    def channel_names(self) -> list[str]:
        """The target channels as a list."""
        return [self.channel] if self.channel is not None else list(self.channels or ())


class BatchEvent(BaseModel):
    """One event of a batch: one channel each (Pusher's batch API)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: ChannelName = Field(description="The channel, e.g. private-user-12345.")
    event: ServerEventName = Field(description="An event of the catalog for the channel's family.")
    data: EventData
    socket_id: SocketId | None = Field(default=None, description="Exclude this connection.")


class BatchTriggerRequest(BaseModel):
    """Up to 10 events, published in one Pusher call."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    events: Annotated[list[BatchEvent], Field(min_length=1, max_length=MAX_BATCH_EVENTS)]


# ------------------------------------------------------------------------------------------- results


class PublishedEvent(BaseModel):
    """One event as published."""

    channels: list[str]
    event: str
    data_bytes: int = Field(description="Size of the data Pusher received (after encryption, if any).")


class PublishResult(BaseModel):
    """What a successful publish returns (and what ``POST /realtime/trigger`` answers)."""

    success: Literal[True] = True
    message: str = SUCCESS_MESSAGE
    publish_id: str = Field(description="Our id of this publish, also in the logs.")
    event: str | None = Field(default=None, description="The event name (single and multi-channel).")
    channels: list[str] = Field(description="Every channel published on, in request order.")
    event_count: int = Field(description="Events in the Pusher call (1, or the size of the batch).")
    events: list[PublishedEvent]


# ------------------------------------------------------------------------------------------ validation


@dataclass(frozen=True)
class _Prepared:
    """An event that passed every check, with its data encoded as Pusher will receive it."""

    channels: tuple[Channel, ...]
    event: str
    data: str
    data_bytes: int
    socket_id: str | None

    @property
    def names(self) -> list[str]:
        return [channel.name for channel in self.channels]


_KNOWN_CHANNELS = ", ".join(family.template for family in CHANNELS)


def _prepare(channels: Sequence[str], event: str, data: object, socket_id: str | None) -> _Prepared:
    if not all(isinstance(name, str) for name in channels) or not isinstance(event, str):
        raise ValidationFailed("Channel and event names must be strings.", code="invalid_name_type")
    if socket_id is not None and not isinstance(socket_id, str):
        raise ValidationFailed("The socket_id must be a string.", code="invalid_socket_id")
    names = list(dict.fromkeys(channels))
    if not names:
        raise ValidationFailed("Give at least one channel.", code="no_channel")
    if len(names) > MAX_CHANNELS:
        raise ValidationFailed(
            f"One event can go to at most {MAX_CHANNELS} channels; this one names {len(names)}.",
            code="too_many_channels",
        )
    parsed = tuple(parse_channel(name) for name in names)
    unknown = [channel.name for channel in parsed if channel.family is None]
    if unknown:
        raise ValidationFailed(
            f"Events cannot be published on {_shown(unknown)}: not a channel this service defines. "
            f"Channels: {_KNOWN_CHANNELS}.",
            code="unknown_channel",
            details=[{"loc": ["channel"], "msg": "unknown channel", "type": "unknown_channel"}],
        )
    if len(parsed) > 1 and any(channel.is_encrypted for channel in parsed):
        raise ValidationFailed(
            "Encrypted channels (private-encrypted-…) cannot be part of a multi-channel trigger; "
            "trigger each one on its own.",
            code="encrypted_multi_channel",
        )
    validate_server_event_name(event)
    if socket_id is not None:
        validate_socket_id(socket_id)
    families = dict.fromkeys(channel.family for channel in parsed)
    validated, *others = [catalog.validate_event(family, event, data) for family in families]
    if any(other != validated for other in others):
        raise ValidationFailed(
            "These channels' families define this event differently; trigger each family on its own.",
            code="mixed_channel_families",
        )
    data_bytes = catalog.check_size(validated, encrypted=parsed[0].is_encrypted)
    return _Prepared(parsed, event, pusher_gateway.encode(validated), data_bytes, socket_id)


USER_EVENTS_FAMILY = "private-user"
"""The catalog family whose events may be sent to a user on every device (``Publisher.send_to_user``)."""

_PUSHER_USER_ID = re.compile(r"[A-Za-z0-9_\-=@,.;]{1,200}")  # the SDK's validate_user_id


def _user_channel(user_id: object) -> Channel:
    """The server-to-user channel of ``user_id`` as a ``Channel`` of the ``private-user`` family."""
    if not isinstance(user_id, str) or not _PUSHER_USER_ID.fullmatch(user_id):
        raise ValidationFailed(
            "The user id must be 1-200 letters, digits or _ - = @ , . ; (what Pusher accepts).",
            code="invalid_user_id",
        )
    name = pusher_gateway.SERVER_TO_USER_PREFIX + user_id
    return Channel(name, USER_EVENTS_FAMILY, ChannelKind.PRIVATE, MappingProxyType({"user_id": user_id}))


def _prepare_for(channel: Channel, family: str, event: str, data: object) -> _Prepared:
    """``_prepare`` for a channel the policy table does not name (the server-to-user channel)."""
    if not isinstance(event, str):
        raise ValidationFailed("The event name must be a string.", code="invalid_name_type")
    validate_server_event_name(event)
    validated = catalog.validate_event(family, event, data)
    data_bytes = catalog.check_size(validated, encrypted=False)
    return _Prepared((channel,), event, pusher_gateway.encode(validated), data_bytes, None)


def _shown(names: Sequence[str]) -> str:
    head = ", ".join(repr(name) for name in names[:3])
    return head + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def _at_index(index: int, exc: RealtimeError) -> RealtimeError:
    """``exc`` again, its message and details pointing at ``events[index]`` of a batch."""
    details = exc.details
    if isinstance(details, list):
        details = [
            {**item, "loc": ["events", index, *item.get("loc", [])]} if isinstance(item, dict) else item
            for item in details
        ]
    return type(exc)(f"events[{index}]: {exc.message}", code=exc.code, details=details, headers=exc.headers)


# ------------------------------------------------------------------------------------------ publisher


class Publisher:
    """Publishes catalogued events; see the module docstring for the checks and the errors.

    ``rate_limit=False`` skips the per-channel limit (and its DynamoDB call): for services that cannot
    reach RateLimitTable. ``limit_per_minute`` overrides ``TRIGGER_RATE_LIMIT_PER_MINUTE``.
    """

    def __init__(self, *, rate_limit: bool = True, limit_per_minute: int | None = None) -> None:
        self.rate_limit = rate_limit
        self.limit_per_minute = limit_per_minute

    # --- generic

    def trigger(
        self,
        channels: str | Sequence[str],
        event: str,
        data: Mapping[str, Any],
        socket_id: str | None = None,
    ) -> PublishResult:
        """Publish ``event`` with ``data`` on one channel or several (at most 100), in one Pusher call.

        ``socket_id`` excludes that connection (the sender's own) from the recipients.
        Raises ``InvalidChannel``/``BadRequest`` (400), ``ValidationFailed`` (422), ``PayloadTooLarge``
        (413), ``RateLimited`` (429), ``UpstreamUnavailable`` (502/503), ``ConfigurationError`` (503).
        """
        names = [channels] if isinstance(channels, str) else list(channels)
        prepared = _prepare(names, event, data, socket_id)
        return self._publish([prepared], batch=False)

    def trigger_batch(self, events: Sequence[BatchEvent | Mapping[str, Any]]) -> PublishResult:
        """Publish up to 10 events (``{"channel", "event", "data", "socket_id"?}``) in one Pusher call.

        All or nothing: one invalid event refuses the batch (the message names ``events[i]``).
        Raises what ``trigger`` raises, and ``ValidationFailed`` (``too_many_events``, ``no_events``).
        """
        if not events:
            raise ValidationFailed("Give at least one event.", code="no_events")
        if len(events) > MAX_BATCH_EVENTS:
            raise ValidationFailed(
                f"A batch holds at most {MAX_BATCH_EVENTS} events; this one has {len(events)}.",
                code="too_many_events",
            )
        prepared = []
        for index, item in enumerate(events):
            spec = item if isinstance(item, BatchEvent) else _batch_event(index, item)
            try:
                prepared.append(_prepare([spec.channel], spec.event, spec.data, spec.socket_id))
            except RealtimeError as exc:
                raise _at_index(index, exc) from exc
        return self._publish(prepared, batch=True)

    def send_to_user(self, user_id: str, event: str, data: Mapping[str, Any]) -> PublishResult:
        """Send ``event`` to every connection signed in as ``user_id``, through Pusher's server-to-user
        channel (``#server-to-user-{user_id}``; the connections must have signed in, ``signin()``).

        The event is one of the user's own channel's catalog (``private-user``: ``personal_notification``,
        ``progress_update``, ``assignment_due``, ``grade_posted``), validated, size-checked and rate
        limited exactly as a trigger on ``private-user-{user_id}`` (the limit is counted on
        ``#server-to-user-{user_id}``). Raises what ``trigger`` raises, and ``ValidationFailed``
        (``invalid_user_id``) for a user id Pusher cannot address (1-200 of ``A-Z a-z 0-9 _ - = @ , . ;``).
        """
        target = _user_channel(user_id)
        prepared = _prepare_for(target, USER_EVENTS_FAMILY, event, data)
        return self._publish([prepared], batch=False)

    # --- the documented helpers

    def notify_user(
        self,
        user_id: str,
        notification: Mapping[str, Any],
        *,
        event: str = "personal_notification",
        socket_id: str | None = None,
        encrypted: bool = False,
    ) -> PublishResult:
        """Send ``notification`` to one user, on ``private-user-{user_id}``.

        ``event`` is one of ``personal_notification`` (default), ``progress_update``,
        ``assignment_due``, ``grade_posted``; ``encrypted=True`` uses ``private-encrypted-user-{user_id}``.
        Raises what ``trigger`` raises.
        """
        prefix = "private-encrypted-user-" if encrypted else "private-user-"
        return self.trigger(f"{prefix}{user_id}", event, notification, socket_id)

    def broadcast_system_message(
        self, message: Mapping[str, Any], *, event: str = "system_notification"
    ) -> PublishResult:
        """Broadcast ``message`` to everyone on ``dashboard-updates``.

        ``event`` is ``system_notification`` (default), ``maintenance_alert``, ``feature_update`` or
        ``notification`` (title optional). Raises what ``trigger`` raises.
        """
        return self.trigger("dashboard-updates", event, message)

    def update_content_progress(
        self,
        content_id: str,
        progress: int,
        stage: str,
        *,
        event: str = "progress_update",
        user_id: str | None = None,
        **extra: Any,
    ) -> PublishResult:
        """Report content-generation progress (0-100) on ``content-generation``.

        ``event`` is ``progress_update`` (default), ``generation_started``, ``generation_completed``
        or ``generation_failed``; ``extra`` adds fields such as ``estimated_completion`` or ``error``.
        Raises what ``trigger`` raises.
        """
        data: dict[str, Any] = {"content_id": content_id, "progress": progress, "stage": stage, **extra}
        if user_id is not None:
            data["user_id"] = user_id
        return self.trigger("content-generation", event, data)

    def report_agent_status(
        self,
        agent_id: str,
        agent_type: str,
        status: Literal["active", "idle", "error"],
        *,
        event: str | None = None,
        task_id: str | None = None,
        performance_metrics: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> PublishResult:
        """Report an AI agent's state on ``agent-status``.

        ``event`` defaults to ``agent_error`` for ``status="error"`` and ``system_health`` otherwise;
        pass ``agent_started`` or ``agent_completed`` explicitly. Raises what ``trigger`` raises.
        """
        data: dict[str, Any] = {"agent_id": agent_id, "agent_type": agent_type, "status": status, **extra}
        if task_id is not None:
            data["task_id"] = task_id
        if performance_metrics is not None:
            data["performance_metrics"] = dict(performance_metrics)
        name = event or ("agent_error" if status == "error" else "system_health")
        return self.trigger("agent-status", name, data)

    # --- the one publish path

    @tracer.capture_method
    def _publish(self, prepared: Sequence[_Prepared], *, batch: bool) -> PublishResult:
        publish_id = uuid.uuid4().hex
        if self.rate_limit:
            costs = Counter(name for item in prepared for name in item.names)
            trigger_limits.consume(costs, limit=self.limit_per_minute)
        try:
            if batch:
                pusher_gateway.trigger_batch([_batch_item(item) for item in prepared])
            else:
                (item,) = prepared
                to_user = item.channels[0].name.startswith(pusher_gateway.SERVER_TO_USER_PREFIX)
                if to_user:
                    pusher_gateway.send_to_user(item.channels[0].params["user_id"], item.event, item.data)
                else:
                    pusher_gateway.trigger(item.names, item.event, item.data, item.socket_id)
        except UpstreamUnavailable as exc:
            logger.error(
                "publish failed",
                extra={"publish_id": publish_id, "code": exc.code, "events": len(prepared), "batch": batch},
            )
            count("PublishFailures", reason=exc.code)
            raise
        for item in prepared:  # after Pusher accepted it: legacy /ws/content clients get it too
            fanout.hand_off(item.names, item.event, item.data)
        families = Counter(_family_metric(channel) for item in prepared for channel in item.channels)
        for family, deliveries in families.items():
            count("EventsPublished", value=deliveries, family=family)
        channels = list(dict.fromkeys(name for item in prepared for name in item.names))
        logger.info(
            "published",
            extra={
                "publish_id": publish_id,
                "events": [item.event for item in prepared],
                "channel_count": len(channels),
                "batch": batch,
            },
        )
        return PublishResult(
            message=BATCH_SUCCESS_MESSAGE if batch else SUCCESS_MESSAGE,
            publish_id=publish_id,
            event=None if batch else prepared[0].event,
            channels=channels,
            event_count=len(prepared),
            events=[
                PublishedEvent(channels=item.names, event=item.event, data_bytes=item.data_bytes)
                for item in prepared
            ],
        )


def _family_metric(channel: Channel) -> str:
    if channel.name.startswith(pusher_gateway.SERVER_TO_USER_PREFIX):
        return "server-to-user"
    return channel.family or "unknown"


def _batch_event(index: int, item: Mapping[str, Any]) -> BatchEvent:
    if not isinstance(item, Mapping):
        raise ValidationFailed(f"events[{index}] must be an object.", code="invalid_batch_event")
    unknown = sorted(set(item) - set(BatchEvent.model_fields))
    if unknown or "channel" not in item or "event" not in item or "data" not in item:
        raise ValidationFailed(
            f"events[{index}] must have channel, event and data (and optionally socket_id).",
            code="invalid_batch_event",
        )
    # The checks themselves (names, catalog, size) run in _prepare, with their own error codes.
    return BatchEvent.model_construct(**dict(item))


def _batch_item(item: _Prepared) -> dict[str, Any]:
    out: dict[str, Any] = {"channel": item.names[0], "name": item.event, "data": item.data}
    if item.socket_id is not None:
        out["socket_id"] = item.socket_id
    return out


# ----------------------------------------------------------------------------- module-level shortcuts


@lru_cache(maxsize=1)
def default_publisher() -> Publisher:
    """The process's ``Publisher`` with the configured rate limit (built on first use)."""
    return Publisher()


def trigger(
    channels: str | Sequence[str], event: str, data: Mapping[str, Any], socket_id: str | None = None
) -> PublishResult:
    """``default_publisher().trigger(...)``: see ``Publisher.trigger``."""
    return default_publisher().trigger(channels, event, data, socket_id)


def trigger_batch(events: Sequence[BatchEvent | Mapping[str, Any]]) -> PublishResult:
    """``default_publisher().trigger_batch(...)``: see ``Publisher.trigger_batch``."""
    return default_publisher().trigger_batch(events)


def send_to_user(user_id: str, event: str, data: Mapping[str, Any]) -> PublishResult:
    """``default_publisher().send_to_user(...)``: see ``Publisher.send_to_user``."""
    return default_publisher().send_to_user(user_id, event, data)


def notify_user(user_id: str, notification: Mapping[str, Any], **kwargs: Any) -> PublishResult:
    """``default_publisher().notify_user(...)``: see ``Publisher.notify_user``."""
    return default_publisher().notify_user(user_id, notification, **kwargs)


def broadcast_system_message(message: Mapping[str, Any], **kwargs: Any) -> PublishResult:
    """``default_publisher().broadcast_system_message(...)``: see ``Publisher.broadcast_system_message``."""
    return default_publisher().broadcast_system_message(message, **kwargs)


def update_content_progress(content_id: str, progress: int, stage: str, **kwargs: Any) -> PublishResult:
    """``default_publisher().update_content_progress(...)``: see ``Publisher.update_content_progress``."""
    return default_publisher().update_content_progress(content_id, progress, stage, **kwargs)


def report_agent_status(
    agent_id: str, agent_type: str, status: Literal["active", "idle", "error"], **kwargs: Any
) -> PublishResult:
    """``default_publisher().report_agent_status(...)``: see ``Publisher.report_agent_status``."""
    return default_publisher().report_agent_status(agent_id, agent_type, status, **kwargs)
