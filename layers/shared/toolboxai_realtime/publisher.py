"""The publisher: catalogued events to Pusher, validated, rate limited, and never a silent failure.

The one publish path of the system. ``POST /realtime/trigger`` (and ``/realtime/trigger/batch``) use it,
and so can any ToolBoxAI Python service that has this package and the ``PUSHER_*`` settings::

    from toolboxai_realtime.publisher import Publisher

    publisher = Publisher()
    publisher.notify_user("12345", {"type": "grade", "title": "New Grade Posted",
                                    "message": "Your math quiz has been graded"})
    publisher.update_content_progress("content_12345", 75, "generating_scripts")

Every publish, in this order:

0. **Event ids**: every event carries ``event_id`` in its data, a ULID minted here before anything is
   sent (``toolboxai_realtime.event_ids``): one id per event, the same on every channel of a
   multi-channel publish. Data that already holds an ``event_id`` is refused (422,
   ``event_id_not_allowed``): publishers cannot supply it.
1. **Channels**: 1-100 names (duplicates dropped), each valid (``InvalidChannel``, 400) and one of the
   catalog's channels (``unknown_channel``, 422: the server publishes nothing on channels it does not
   define). An encrypted channel must be the only channel of its event (``encrypted_multi_channel``).
2. **Event and data**: the name is one the server may send (no ``pusher:``, no ``client-``; 400) and
   the data validates against the catalog for every channel's family (``unknown_event`` naming the
   allowed events, ``invalid_event_data``; 422). The validated data plus its ``event_id`` is encoded
   once, as compact UTF-8 JSON, and must be at most 10,240 bytes (413, ``event_data_too_large``;
   measured after encryption for encrypted channels). That encoded string is what Pusher receives.
3. **Rate limit and history**: ``TRIGGER_RATE_LIMIT_PER_MINUTE`` events per channel, spent from the
   allowance this publisher has leased (``toolboxai_realtime.allowance``); only when it is short on a
   channel does the publish lease more, in one DynamoDB call for the whole publish
   (``stores.trigger_limits``), which also writes the history items of the channels that keep history
   (``stores.history``); otherwise the history items alone are written, still before step 4. Over the
   limit is ``RateLimited`` (429) and nothing is published, counted or kept. Without the rate limit
   (``rate_limit=False``) the history items are written on their own (``BatchWriteItem``).
4. **Pusher**: one HTTP call, ``POST /events`` for one event (on up to 100 channels) or
   ``POST /batch_events`` for a batch of up to 10. Two kinds of failure:

   * *nothing published* (``UpstreamUnavailable``: 503 when Pusher was unreachable or refused for quota,
     502 for an error answer): the history items written in step 3 are deleted again, so history never
     holds an event that was not published;
   * *outcome unknown* (``PublishOutcomeUnknown``, 504 ``publish_outcome_unknown``: the request went out
     and no answer came back, or the history items of a refused publish could not be deleted): the event
     may have been delivered and stays in history; ``details.event_ids`` are its ids. Retrying under the
     same ids (``Idempotency-Key`` on the HTTP API, ``id_source`` here) is safe for receivers.

Every error is a ``toolboxai_realtime.errors.RealtimeError`` subclass with a status, a ``code`` and a
message; nothing returns ``False``. Every refusal and failure is logged and counted. Metrics:
``EventsPublished`` (by channel family), ``PublishRefused`` (by ``reason``: the error code, for refusals
before anything was sent), ``PublishFailures`` (by ``reason``), ``RateLimited`` (``scope=trigger``).
"""

from __future__ import annotations

import operator
import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache, reduce
from types import MappingProxyType
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, GetJsonSchemaHandler, TypeAdapter, model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from . import catalog, event_ids, fanout, pusher_gateway
from . import history as history_api
from .allowance import LeaseBook
from .channels import (
    AGENT_STATUS,
    CHANNELS,
    CONTENT_GENERATION,
    DASHBOARD_UPDATES,
    ENCRYPTED_USER,
    USER,
    Channel,
    ChannelFamily,
    ChannelKind,
    ChannelName,
    ServerEventName,
    SocketId,
    id_pattern,
    parse_channel,
    validate_server_event_name,
    validate_socket_id,
)
from .errors import PublishOutcomeUnknown, RealtimeError, UpstreamUnavailable, ValidationFailed
from .observability import count, logger, tracer
from .stores import history as history_store
from .stores import trigger_limits
from .stores.history import HistoryItem

__all__ = [
    "EVENT_ID_FIELD",
    "MAX_BATCH_EVENTS",
    "MAX_CHANNELS",
    "BatchEvent",
    "BatchTriggerRequest",
    "IdSource",
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

EVENT_ID_FIELD = "event_id"
"""The key of the event id in every event's data."""

IdSource = Callable[[int], Sequence[str]]
"""Where the ids of a publish come from: given the number of events, that many event ids."""

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
        family.id: {
            event: {"$ref": f"#/components/schemas/{model.__name__}"} for event, model in events.items()
        }
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

    event_id: str = Field(
        description="The event's id, also in its data as event_id: a ULID, sorting by publish time.",
        pattern=event_ids.EVENT_ID_PATTERN,
    )
    channels: list[str]
    event: str
    data_bytes: int = Field(description="Size of the data as given, in bytes of compact UTF-8 JSON.")
    sent_bytes: int = Field(
        description="Size of the data Pusher received: with its event_id, after encryption if any. "
        "This is what the 10,240-byte limit applies to."
    )


class PublishResult(BaseModel):
    """What a successful publish returns (and what ``POST /realtime/trigger`` answers)."""

    success: Literal[True] = True
    message: str = SUCCESS_MESSAGE
    publish_id: str = Field(description="Our id of this publish, also in the logs.")
    event_ids: list[str] = Field(
        description="The id of each event, in request order (one for a single or multi-channel trigger)."
    )
    event: str | None = Field(default=None, description="The event name (single and multi-channel).")
    channels: list[str] = Field(description="Every channel published on, in request order.")
    event_count: int = Field(description="Events in the Pusher call (1, or the size of the batch).")
    events: list[PublishedEvent]


# ------------------------------------------------------------------------------------------ validation


@dataclass(frozen=True)
class _Checked:
    """An event that passed the name and catalog checks: ``data`` is the validated data, without id."""

    channels: tuple[Channel, ...]
    event: str
    data: dict[str, Any]
    socket_id: str | None

    @property
    def names(self) -> list[str]:
        return [channel.name for channel in self.channels]


@dataclass(frozen=True)
class _Prepared:
    """An event ready to go: its id, and its data encoded (with the id) exactly as Pusher receives it."""

    checked: _Checked
    event_id: str
    text: str
    data_bytes: int
    sent_bytes: int

    @property
    def names(self) -> list[str]:
        return self.checked.names

    @property
    def event(self) -> str:
        return self.checked.event

    def history(self) -> list[HistoryItem]:
        """The history items of this event: one per channel whose family keeps history."""
        return [
            HistoryItem(channel.name, self.event_id, self.event, self.text)
            for channel in self.checked.channels
            if channel.keeps_history
        ]


_KNOWN_CHANNELS = ", ".join(family.template for family in CHANNELS)


def _check(channels: Sequence[str], event: str, data: object, socket_id: str | None) -> _Checked:
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
    _refuse_event_id(data)
    families = dict.fromkeys(channel.family for channel in parsed)
    validated, *others = [catalog.validate_event(family, event, data) for family in families]
    if any(other != validated for other in others):
        raise ValidationFailed(
            "These channels' families define this event differently; trigger each family on its own.",
            code="mixed_channel_families",
        )
    return _Checked(parsed, event, validated, socket_id)


def _prepare(checked: _Checked, event_id: str) -> _Prepared:
    """``checked`` with its id, encoded; raises ``PayloadTooLarge`` when the bytes sent exceed the limit."""
    data_bytes = catalog.encoded_size(checked.data)
    with_id = {**checked.data, EVENT_ID_FIELD: event_id}
    sent_bytes = catalog.check_size(with_id, encrypted=checked.channels[0].is_encrypted)
    return _Prepared(checked, event_id, pusher_gateway.encode(with_id), data_bytes, sent_bytes)


USER_EVENTS_FAMILY = USER
"""The catalog family whose events may be sent to a user on every device (``Publisher.send_to_user``)."""

_PUSHER_USER_ID = re.compile(id_pattern(200))  # the SDK's validate_user_id


def _user_channel(user_id: object) -> Channel:
    """The server-to-user channel of ``user_id`` as a ``Channel``: Pusher's, not a line of the table
    (``family`` ``None``, so no history); its events are those of ``USER_EVENTS_FAMILY``."""
    if not isinstance(user_id, str) or not _PUSHER_USER_ID.fullmatch(user_id):
        raise ValidationFailed(
            "The user id must be 1-200 letters, digits or _ - = @ , . ; (what Pusher accepts).",
            code="invalid_user_id",
        )
    name = pusher_gateway.SERVER_TO_USER_PREFIX + user_id
    return Channel(name, None, ChannelKind.PRIVATE, MappingProxyType({"user_id": user_id}))


def _check_for(channel: Channel, family: ChannelFamily, event: str, data: object) -> _Checked:
    """``_check`` for a channel the policy table does not name (the server-to-user channel): the event
    name, no ``event_id`` in the data, the catalog of ``family``."""
    if not isinstance(event, str):
        raise ValidationFailed("The event name must be a string.", code="invalid_name_type")
    validate_server_event_name(event)
    _refuse_event_id(data)
    return _Checked((channel,), event, catalog.validate_event(family, event, data), None)


def _refuse_event_id(data: object) -> None:
    if isinstance(data, Mapping) and EVENT_ID_FIELD in data:
        message = "The event_id is set by the server on every event; leave it out of the data."
        raise ValidationFailed(
            message,
            code="event_id_not_allowed",
            details=[{"loc": ["data", EVENT_ID_FIELD], "msg": message, "type": "event_id_not_allowed"}],
        )


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

    ``rate_limit=False`` skips the per-channel limit (and its DynamoDB calls): for services that cannot
    reach RateLimitTable. ``limit_per_minute`` overrides ``TRIGGER_RATE_LIMIT_PER_MINUTE``. Each
    publisher holds the allowance it has leased (``allowance``, a ``toolboxai_realtime.allowance.LeaseBook``):
    keep one publisher per process (``default_publisher()``) so that its leases are spent.
    """

    def __init__(self, *, rate_limit: bool = True, limit_per_minute: int | None = None) -> None:
        self.rate_limit = rate_limit
        self.limit_per_minute = limit_per_minute
        self.allowance = LeaseBook()

    # --- generic

    def trigger(
        self,
        channels: str | Sequence[str],
        event: str,
        data: Mapping[str, Any],
        socket_id: str | None = None,
        *,
        id_source: IdSource | None = None,
    ) -> PublishResult:
        """Publish ``event`` with ``data`` on one channel or several (at most 100), in one Pusher call.

        ``socket_id`` excludes that connection (the sender's own) from the recipients. ``id_source``
        gives the event id (default: a new one); ``id_source=event_ids.Reuse(exc.details["event_ids"])``
        retries a publish whose outcome was unknown under its first ids, so that receivers can drop what
        they already have. The result lists the id
        (``event_ids``). Raises ``InvalidChannel``/``BadRequest`` (400), ``ValidationFailed`` (422),
        ``PayloadTooLarge`` (413), ``RateLimited`` (429), ``UpstreamUnavailable`` (502/503: nothing was
        published), ``PublishOutcomeUnknown`` (504: it may have been), ``ConfigurationError`` (503).
        """
        names = [channels] if isinstance(channels, str) else list(channels)
        with _refusals(batch=False):
            checked = _check(names, event, data, socket_id)
            (event_id,) = _ids(id_source, 1)
            prepared = _prepare(checked, event_id)
        return self._publish([prepared], batch=False, reused=_reused(id_source))

    def trigger_batch(
        self,
        events: Sequence[BatchEvent | Mapping[str, Any]],
        *,
        id_source: IdSource | None = None,
    ) -> PublishResult:
        """Publish up to 10 events (``{"channel", "event", "data", "socket_id"?}``) in one Pusher call.

        All or nothing: one invalid event refuses the batch (the message names ``events[i]``). Each event
        gets its own id, increasing in request order (``id_source`` as in ``trigger``). Raises what
        ``trigger`` raises, and ``ValidationFailed`` (``too_many_events``, ``no_events``).
        """
        with _refusals(batch=True):
            if not events:
                raise ValidationFailed("Give at least one event.", code="no_events")
            if len(events) > MAX_BATCH_EVENTS:
                raise ValidationFailed(
                    f"A batch holds at most {MAX_BATCH_EVENTS} events; this one has {len(events)}.",
                    code="too_many_events",
                )
            checked = []
            for index, item in enumerate(events):
                spec = item if isinstance(item, BatchEvent) else _batch_event(index, item)
                try:
                    checked.append(_check([spec.channel], spec.event, spec.data, spec.socket_id))
                except RealtimeError as exc:
                    raise _at_index(index, exc) from exc
            ids = _ids(id_source, len(checked))
            prepared = []
            for index, (one, event_id) in enumerate(zip(checked, ids, strict=True)):
                try:
                    prepared.append(_prepare(one, event_id))
                except RealtimeError as exc:
                    raise _at_index(index, exc) from exc
        return self._publish(prepared, batch=True, reused=_reused(id_source))

    def history(
        self, channel: str, *, after: str | None = None, limit: int = history_api.DEFAULT_LIMIT
    ) -> history_api.HistoryPage:
        """The events kept for ``channel``: those after the event id ``after`` (oldest first), or without
        ``after`` the latest ``limit`` (oldest first). A trusted service reads any channel; the HTTP
        route checks the caller. Raises what ``toolboxai_realtime.history.read`` raises (``HistoryExpired``
        410, ``NotFound`` 404 for a channel without history, ``BadRequest``/``InvalidChannel`` 400).
        """
        return history_api.read(channel, after=after, limit=limit)

    def send_to_user(
        self, user_id: str, event: str, data: Mapping[str, Any], *, id_source: IdSource | None = None
    ) -> PublishResult:
        """Send ``event`` to every connection signed in as ``user_id``, through Pusher's server-to-user
        channel (``#server-to-user-{user_id}``; the connections must have signed in, ``signin()``).

        The event is one of the user's own channel's catalog (``private-user``: ``personal_notification``,
        ``progress_update``, ``assignment_due``, ``grade_posted``), validated, size-checked and rate
        limited exactly as a trigger on ``private-user-{user_id}`` (the limit is counted on
        ``#server-to-user-{user_id}``), with an ``event_id`` in its data (``id_source`` as in ``trigger``)
        and its size checked on the bytes sent. Nothing is kept in history (the user's devices are not a
        channel anyone can read back). Raises what ``trigger`` raises, and ``ValidationFailed``
        (``invalid_user_id``) for a user id Pusher cannot address (1-200 of ``A-Z a-z 0-9 _ - = @ , . ;``).
        """
        with _refusals(batch=False):
            checked = _check_for(_user_channel(user_id), USER_EVENTS_FAMILY, event, data)
            (event_id,) = _ids(id_source, 1)
            prepared = _prepare(checked, event_id)
        return self._publish([prepared], batch=False, reused=_reused(id_source))

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
        family = ENCRYPTED_USER if encrypted else USER
        return self.trigger(family.name(user_id=user_id), event, notification, socket_id)

    def broadcast_system_message(
        self, message: Mapping[str, Any], *, event: str = "system_notification"
    ) -> PublishResult:
        """Broadcast ``message`` to everyone on ``dashboard-updates``.

        ``event`` is ``system_notification`` (default), ``maintenance_alert``, ``feature_update`` or
        ``notification`` (title optional). Raises what ``trigger`` raises.
        """
        return self.trigger(DASHBOARD_UPDATES.name(), event, message)

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
        return self.trigger(CONTENT_GENERATION.name(), event, data)

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
        return self.trigger(AGENT_STATUS.name(), name, data)

    # --- the one publish path

    def _admit(self, prepared: Sequence[_Prepared], kept: list[HistoryItem], *, batch: bool) -> None:
        """Charge the rate limit (from this instance's leased allowance, ``self.allowance``) and keep the
        history items, before the publish: an event in flight is in history. Raises ``RateLimited`` and
        what ``_refusals`` maps."""
        with _refusals(batch=batch):
            if self.rate_limit:
                costs = Counter(name for item in prepared for name in item.names)
                trigger_limits.consume(costs, limit=self.limit_per_minute, history=kept, book=self.allowance)
            elif kept:
                history_store.keep(kept)

    @tracer.capture_method
    def _publish(self, prepared: Sequence[_Prepared], *, batch: bool, reused: bool) -> PublishResult:
        publish_id = uuid.uuid4().hex
        ids = [item.event_id for item in prepared]
        kept = [entry for item in prepared for entry in item.history()]
        try:
            self._admit(prepared, kept, batch=batch)
        except PublishOutcomeUnknown as exc:
            raise _unknown(
                publish_id,
                ids,
                batch,
                "history_partly_written",
                message=(
                    "Nothing was sent to Pusher, but the history store failed part way: some of the events "
                    "may be in history. Retry with the same Idempotency-Key to publish them under the "
                    "same event ids."
                ),
            ) from exc
        try:
            if batch:
                pusher_gateway.trigger_batch([_batch_item(item) for item in prepared])
            else:
                (item,) = prepared
                channel = item.checked.channels[0]
                if channel.name.startswith(pusher_gateway.SERVER_TO_USER_PREFIX):
                    pusher_gateway.send_to_user(channel.params["user_id"], item.event, item.text)
                else:
                    pusher_gateway.trigger(item.names, item.event, item.text, item.checked.socket_id)
        except PublishOutcomeUnknown as exc:
            raise _unknown(publish_id, ids, batch, exc.code) from exc
        except RealtimeError as exc:
            # Nothing went out: take the events out of history again, or say the outcome is unknown.
            # Not for reused ids: an earlier attempt may have delivered them, and their history is then
            # the only copy a disconnected client can still get.
            if kept and not reused:
                try:
                    history_store.delete(kept)
                except UpstreamUnavailable as cleanup:
                    raise _unknown(publish_id, ids, batch, "history_not_removed") from cleanup
            logger.error(
                "publish failed",
                extra={"publish_id": publish_id, "code": exc.code, "events": len(prepared), "batch": batch},
            )
            count("PublishFailures", reason=exc.code)
            raise
        _delivered(prepared)
        channels = list(dict.fromkeys(name for item in prepared for name in item.names))
        logger.info(
            "published",
            extra={
                "publish_id": publish_id,
                "event_ids": ids,
                "events": [item.event for item in prepared],
                "channel_count": len(channels),
                "history_items": len(kept),
                "batch": batch,
            },
        )
        return PublishResult(
            message=BATCH_SUCCESS_MESSAGE if batch else SUCCESS_MESSAGE,
            publish_id=publish_id,
            event_ids=ids,
            event=None if batch else prepared[0].event,
            channels=channels,
            event_count=len(prepared),
            events=[
                PublishedEvent(
                    event_id=item.event_id,
                    channels=item.names,
                    event=item.event,
                    data_bytes=item.data_bytes,
                    sent_bytes=item.sent_bytes,
                )
                for item in prepared
            ],
        )


def _family_metric(channel: Channel) -> str:
    if channel.name.startswith(pusher_gateway.SERVER_TO_USER_PREFIX):
        return "server-to-user"
    return channel.family.id if channel.family else "unknown"


@contextmanager
def _refusals(*, batch: bool) -> Iterator[None]:
    """Log and count a publish refused before anything was sent (validation, size, rate limit)."""
    try:
        yield
    except RealtimeError as exc:
        if not isinstance(exc, UpstreamUnavailable):
            logger.warning("publish refused", extra={"code": exc.code, "batch": batch})
            count("PublishRefused", reason=exc.code)
        raise


def _delivered(prepared: Sequence[_Prepared]) -> None:
    """What follows Pusher's acceptance: the legacy /ws/content hand-off and the per-family counts."""
    for item in prepared:  # legacy /ws/content clients get it too
        fanout.hand_off(item.names, item.event, item.text)
    families = Counter(_family_metric(channel) for item in prepared for channel in item.checked.channels)
    for family, deliveries in families.items():
        count("EventsPublished", value=deliveries, family=family)


def _unknown(
    publish_id: str, ids: list[str], batch: bool, reason: str, *, message: str | None = None
) -> PublishOutcomeUnknown:
    logger.error(
        "publish outcome unknown",
        extra={"publish_id": publish_id, "event_ids": ids, "reason": reason, "batch": batch},
    )
    count("PublishFailures", reason=PublishOutcomeUnknown.default_code)
    return PublishOutcomeUnknown(message, details={"event_ids": ids})


def _reused(source: IdSource | None) -> bool:
    """Whether ``source`` gave ids that may have been published before (``event_ids.Reuse``)."""
    return getattr(source, "reused", False) is True


def _ids(source: IdSource | None, count_: int) -> list[str]:
    ids = list(source(count_)) if source is not None else event_ids.new_event_ids(count_)
    if len(ids) != count_ or not all(event_ids.is_event_id(i) for i in ids) or len(set(ids)) != count_:
        raise ValueError("an id source must give as many distinct event ids as there are events")
    return ids


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
    out: dict[str, Any] = {"channel": item.names[0], "name": item.event, "data": item.text}
    if item.checked.socket_id is not None:
        out["socket_id"] = item.checked.socket_id
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


def send_to_user(user_id: str, event: str, data: Mapping[str, Any], **kwargs: Any) -> PublishResult:
    """``default_publisher().send_to_user(...)``: see ``Publisher.send_to_user``."""
    return default_publisher().send_to_user(user_id, event, data, **kwargs)


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
