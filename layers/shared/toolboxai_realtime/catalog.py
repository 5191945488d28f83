"""The event catalog: which events each channel family accepts, and the data each event carries.

``EVENTS`` maps a channel family (a line of ``toolboxai_realtime.channels.CHANNELS``) to its events and
each event to the pydantic model of its ``data``. The server validates every event it publishes
against it (``validate_event``), checks Pusher's size limit on the result (``check_size``), and the same
definitions are exported as one JSON Schema document (``json_schema``, committed as
``schema/catalog.schema.json``) so that front ends validate with exactly the same rules.

Deliberate choices:

* **Extra keys are allowed and kept** (``extra="allow"``) on every data object: the seed documentation
  tells publishers to add correlation ids and to version events, and a strict ``forbid`` would turn
  every additive change into a breaking one. The documented fields, however, are validated strictly:
  no type coercion (``"75"`` is not a progress, ``0`` is not ``false``), closed enumerations, bounded
  string lengths. Extra keys are bounded only by the 10 KB size limit.
* **Every constraint is expressible in JSON Schema**, so the exported schema accepts what the server
  accepts. Timestamps are RFC 3339 / ISO-8601 strings *with* a time zone
  (``2024-01-01T12:00:00Z``); numbers (Unix times) and zone-less times are refused, and timestamps are
  written back as ISO-8601 strings (UTC as ``Z``).
* **``null`` means absent**: optional fields accept ``null`` (the seed's ``"error": null``) and the
  validated data leaves ``None`` out. ``null`` *inside* free-form objects (``data``) is kept.
* **Ids** are 1-128 printable ASCII characters without spaces. Ids that appear in channel names
  (user, class and lesson ids) are further limited to the characters Pusher allows in channel names.
* Where the seed's own examples send less than its data examples show, the missing fields are
  optional: ``notification`` on ``dashboard-updates`` has no title (the trigger example), a
  ``content-generation`` update may omit ``user_id`` (``update_content_progress``), and a personal
  notification may omit ``notification_id`` and ``created_at`` (``notify_user``); ``read`` defaults to
  ``false`` and is always present in the validated data. Publishers that know the omitted values
  should send them; the catalog does not invent ids or read a clock.
* The seed gives no fields for the class, classroom and lesson events. Those defined here are minimal,
  repeat the id of the channel's entity (``class_id`` / ``lesson_id``) so that a client listening on
  several channels can route an event without parsing channel names, and carry a ``timestamp``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
)
from pydantic.json_schema import JsonSchemaValue, WithJsonSchema, models_json_schema
from pydantic_core import PydanticCustomError, PydanticSerializationError

from . import channels
from .bodies import compact_json
from .channels import ChannelFamily
from .errors import PayloadTooLarge, ValidationFailed
from .event_ids import EVENT_ID_PATTERN

__all__ = [
    "EVENTS",
    "JSON_SCHEMA_DIALECT",
    "MAX_EVENT_DATA_BYTES",
    "allowed_events",
    "check_size",
    "encoded_size",
    "encrypted_size",
    "json_schema",
    "validate_event",
]

MAX_EVENT_DATA_BYTES = 10240
"""Pusher's limit on one event's data: 10 KB of the UTF-8 encoded JSON string."""

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

# ------------------------------------------------------------------------------------------ field types

_TIMESTAMP_PATTERN = r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$"
_TIMESTAMP_RE = re.compile(_TIMESTAMP_PATTERN)


def _rfc3339_only(value: object) -> object:
    # Pydantic would also take Unix times and many ISO variants; the schema says RFC 3339, so do we.
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and _TIMESTAMP_RE.match(value):
        return value
    raise PydanticCustomError(
        "datetime_format",
        "Input should be an ISO-8601 date-time with a time zone, like 2024-01-01T12:00:00Z",
    )


Timestamp = Annotated[
    AwareDatetime,
    Field(strict=False),
    BeforeValidator(_rfc3339_only),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": _TIMESTAMP_PATTERN}),
]
"""An ISO-8601 / RFC 3339 date-time with seconds and a time zone; serialised as an ISO-8601 string."""

Id = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")]
"""An opaque id: 1-128 printable ASCII characters, no spaces."""

ChannelId = Annotated[str, Field(min_length=1, max_length=128, pattern=channels.id_pattern())]
"""A user, class or lesson id: it appears in channel names, so only Pusher's channel-name characters."""

Title = Annotated[str, Field(min_length=1, max_length=200, pattern=r"\S")]
Text = Annotated[str, Field(min_length=1, max_length=2000, pattern=r"\S")]
Label = Annotated[str, Field(min_length=1, max_length=100, pattern=r"\S")]
DisplayName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"\S")]
Percent = Annotated[int, Field(ge=0, le=100)]
Usage = Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]
# Relative paths (not protocol-relative "//host" or "/\host") or absolute http(s) URLs: the front end
# renders them as links, so javascript: and data: URLs are refused.
LinkUrl = Annotated[
    str, Field(min_length=1, max_length=2048, pattern=r"^(?:https?://[^\s\\]+|/(?:[^/\s\\][^\s\\]*)?)$")
]
JsonObject = dict[str, Any]


def _unique(values: list[str]) -> list[str]:
    if len(set(values)) != len(values):
        raise PydanticCustomError("unique_items", "List items should be unique")
    return values


MemberIds = Annotated[
    list[ChannelId],
    Field(min_length=1, max_length=100, json_schema_extra={"uniqueItems": True}),
    AfterValidator(_unique),
]

# ---------------------------------------------------------------------------------------------- models


class EventData(BaseModel):
    """Base of every event's data: documented fields strict, unknown keys allowed and kept."""

    model_config = ConfigDict(strict=True, extra="allow", frozen=True)


# dashboard-updates


class DashboardMessage(EventData):
    """`notification` on dashboard-updates: a short system message; the title is optional.

    This is the shape the documented admin trigger example sends (`type`, `message`, `timestamp`).
    """

    type: Literal["info", "success", "warning", "error"] = Field(description="Severity, for styling.")
    title: Title | None = Field(default=None, description="Optional headline.")
    message: Text = Field(description="The text shown to users.")
    timestamp: Timestamp = Field(description="When the message was issued.")
    action_url: LinkUrl | None = Field(
        default=None, description="Optional link: an app path like /features/new or an http(s) URL."
    )
    expires_at: Timestamp | None = Field(default=None, description="When to stop showing the message.")


class DashboardNotification(DashboardMessage):
    """system_notification, maintenance_alert and feature_update on dashboard-updates."""

    title: Title = Field(description="Headline of the announcement.")


# content-generation


class ContentGenerationUpdate(EventData):
    """generation_started, progress_update, generation_completed and generation_failed.

    `user_id` is optional because the documented publisher (`update_content_progress`) sends only
    `content_id`, `progress` and `stage`.
    """

    content_id: Id = Field(description="The content being generated.")
    user_id: ChannelId | None = Field(default=None, description="Who requested the content, when known.")
    progress: Percent = Field(description="Completion in percent, an integer 0-100.")
    stage: Label = Field(description="Current pipeline stage, e.g. generating_scripts.")
    estimated_completion: Timestamp | None = Field(default=None, description="Expected finish time.")
    error: Text | None = Field(default=None, description="What went wrong (generation_failed).")


# agent-status


class PerformanceMetrics(EventData):
    """Resource use of an agent."""

    cpu_usage: Usage = Field(description="CPU use in percent, 0-100.")
    memory_usage: Usage = Field(description="Memory use in percent, 0-100.")
    tasks_completed: int = Field(ge=0, description="Tasks completed since the agent started.")


class AgentStatusUpdate(EventData):
    """agent_started, agent_completed, agent_error and system_health on agent-status."""

    agent_id: Id = Field(description="The agent instance.")
    agent_type: Label = Field(description="Kind of agent, e.g. content_generation.")
    status: Literal["active", "idle", "error"] = Field(description="The agent's state.")
    task_id: Id | None = Field(default=None, description="The task being processed, if any.")
    performance_metrics: PerformanceMetrics | None = Field(default=None, description="Resource use.")


# private-user-{user_id} (and private-encrypted-user-{user_id})


class UserNotification(EventData):
    """personal_notification, progress_update, assignment_due and grade_posted for one user.

    `notification_id` and `created_at` are optional and `read` defaults to false, because the
    documented publisher (`notify_user`) sends only `type`, `title`, `message` and `data`.
    """

    notification_id: Id | None = Field(default=None, description="Id of the stored notification, if any.")
    type: Literal["grade", "assignment", "message", "system"] = Field(description="Kind of notification.")
    title: Title = Field(description="Headline.")
    message: Text = Field(description="The text shown to the user.")
    data: JsonObject | None = Field(
        default=None, description="Free-form details, e.g. assignment_id, grade, feedback."
    )
    read: bool = Field(default=False, description="Whether the user has read it; false when omitted.")
    created_at: Timestamp | None = Field(default=None, description="When the notification was created.")


# private-class-{class_id} (and private-encrypted-class-{class_id})


class ClassAnnouncement(EventData):
    """class_announcement: a teacher's announcement to the class."""

    class_id: ChannelId = Field(description="The class (the channel's id).")
    announcement_id: Id | None = Field(default=None, description="Id of the stored announcement, if any.")
    teacher_id: ChannelId = Field(description="The teacher who posted it.")
    title: Title = Field(description="Headline.")
    message: Text = Field(description="The announcement text.")
    timestamp: Timestamp = Field(description="When it was posted.")


class AssignmentPosted(EventData):
    """assignment_posted: a new assignment in the class."""

    class_id: ChannelId = Field(description="The class (the channel's id).")
    assignment_id: Id = Field(description="The assignment.")
    title: Title = Field(description="Assignment title.")
    due_at: Timestamp | None = Field(default=None, description="Deadline; absent when there is none.")
    teacher_id: ChannelId | None = Field(default=None, description="Who posted it, when known.")
    action_url: LinkUrl | None = Field(default=None, description="Where to open it (app path or URL).")
    timestamp: Timestamp = Field(description="When it was posted.")


class StudentJoined(EventData):
    """student_joined: a student enrolled in the class."""

    class_id: ChannelId = Field(description="The class (the channel's id).")
    user_id: ChannelId = Field(description="The student.")
    name: DisplayName | None = Field(default=None, description="Display name.")
    timestamp: Timestamp = Field(description="When the student enrolled.")


class LessonStarted(EventData):
    """lesson_started: a live lesson began; clients may join presence-lesson-{lesson_id}."""

    class_id: ChannelId = Field(description="The class (the channel's id).")
    lesson_id: ChannelId = Field(description="The lesson (its presence-lesson channel id).")
    title: Title = Field(description="Lesson title.")
    teacher_id: ChannelId | None = Field(default=None, description="The teacher leading it, when known.")
    timestamp: Timestamp = Field(description="When the lesson started.")


# presence-classroom-{class_id}


class ClassroomPresenceChange(EventData):
    """user_joined and user_left: someone entered or left the classroom.

    Only `user_id` is required besides the ids: presence webhooks (member_removed) carry nothing else.
    """

    class_id: ChannelId = Field(description="The class (the channel's id).")
    user_id: ChannelId = Field(description="Who joined or left.")
    name: DisplayName | None = Field(default=None, description="Display name.")
    role: Literal["student", "teacher"] | None = Field(default=None, description="Role in the class.")
    timestamp: Timestamp = Field(description="When it happened.")


class ClassroomActivity(EventData):
    """activity_update: a user's status and current activity in the classroom."""

    class_id: ChannelId = Field(description="The class (the channel's id).")
    user_id: ChannelId = Field(description="Whose activity.")
    status: Literal["active", "away", "busy"] = Field(description="Availability.")
    current_activity: Label | None = Field(default=None, description="What they do, e.g. solving_problem_3.")
    timestamp: Timestamp = Field(description="When it changed.")


class CollaborationEvent(EventData):
    """collaboration_event: one action in a collaborative activity (an edit, a drawing, a reaction)."""

    class_id: ChannelId = Field(description="The class (the channel's id).")
    user_id: ChannelId = Field(description="Who acted.")
    action: Label = Field(description="What happened, e.g. whiteboard_stroke or document_edit.")
    data: JsonObject | None = Field(default=None, description="Free-form details of the action.")
    timestamp: Timestamp = Field(description="When it happened.")


# presence-lesson-{lesson_id}


class LessonProgressShared(EventData):
    """progress_shared: a student shares their progress in the lesson."""

    lesson_id: ChannelId = Field(description="The lesson (the channel's id).")
    user_id: ChannelId = Field(description="The student.")
    progress: Percent = Field(description="Completion in percent, an integer 0-100.")
    stage: Label | None = Field(default=None, description="Where they are, e.g. exercise_2.")
    timestamp: Timestamp = Field(description="When it was shared.")


class HelpRequested(EventData):
    """help_requested: a student asks for help."""

    lesson_id: ChannelId = Field(description="The lesson (the channel's id).")
    user_id: ChannelId = Field(description="The student asking.")
    message: Text | None = Field(default=None, description="What they need help with.")
    timestamp: Timestamp = Field(description="When help was requested.")


class CollaborationStarted(EventData):
    """collaboration_started: group work began in the lesson."""

    lesson_id: ChannelId = Field(description="The lesson (the channel's id).")
    group_id: Id = Field(description="The working group.")
    started_by: ChannelId = Field(description="Who started it.")
    member_ids: MemberIds = Field(description="The group's members: 1-100 distinct user ids.")
    timestamp: Timestamp = Field(description="When it started.")


class AssessmentSubmitted(EventData):
    """assessment_submitted: a student handed in a quiz or assignment.

    No score: everyone in the lesson receives this event. Grades go to the student alone, as
    grade_posted on private-user-{user_id}.
    """

    lesson_id: ChannelId = Field(description="The lesson (the channel's id).")
    assessment_id: Id = Field(description="The quiz or assignment.")
    user_id: ChannelId = Field(description="The student.")
    attempt: int | None = Field(default=None, ge=1, description="Attempt number, from 1.")
    timestamp: Timestamp = Field(description="When it was submitted.")


# private-canary-{run_id}


class CanaryProbe(EventData):
    """canary_probe: the delivery canary's own event, published and received by the canary itself."""

    run_id: ChannelId = Field(description="The canary run (the channel's id).")
    sent_at: Timestamp = Field(description="When the canary published it.")


# ----------------------------------------------------------------------------------------------- table


def _events(**models: type[EventData]) -> Mapping[str, type[EventData]]:
    return MappingProxyType(dict(models))


_DASHBOARD = _events(
    system_notification=DashboardNotification,
    maintenance_alert=DashboardNotification,
    feature_update=DashboardNotification,
    notification=DashboardMessage,
)
_CONTENT = _events(
    generation_started=ContentGenerationUpdate,
    progress_update=ContentGenerationUpdate,
    generation_completed=ContentGenerationUpdate,
    generation_failed=ContentGenerationUpdate,
)
_AGENT = _events(
    agent_started=AgentStatusUpdate,
    agent_completed=AgentStatusUpdate,
    agent_error=AgentStatusUpdate,
    system_health=AgentStatusUpdate,
)
_USER = _events(
    personal_notification=UserNotification,
    progress_update=UserNotification,
    assignment_due=UserNotification,
    grade_posted=UserNotification,
)
_CLASS = _events(
    class_announcement=ClassAnnouncement,
    assignment_posted=AssignmentPosted,
    student_joined=StudentJoined,
    lesson_started=LessonStarted,
)
_CLASSROOM = _events(
    user_joined=ClassroomPresenceChange,
    user_left=ClassroomPresenceChange,
    activity_update=ClassroomActivity,
    collaboration_event=CollaborationEvent,
)
_LESSON = _events(
    progress_shared=LessonProgressShared,
    help_requested=HelpRequested,
    collaboration_started=CollaborationStarted,
    assessment_submitted=AssessmentSubmitted,
)
_CANARY = _events(canary_probe=CanaryProbe)

EVENTS: Mapping[ChannelFamily, Mapping[str, type[BaseModel]]] = MappingProxyType(
    {
        channels.DASHBOARD_UPDATES: _DASHBOARD,
        channels.CONTENT_GENERATION: _CONTENT,
        channels.AGENT_STATUS: _AGENT,
        channels.USER: _USER,
        channels.ENCRYPTED_USER: _USER,
        channels.CLASS: _CLASS,
        channels.ENCRYPTED_CLASS: _CLASS,
        channels.CLASSROOM: _CLASSROOM,
        channels.LESSON: _LESSON,
        channels.CANARY: _CANARY,
    }
)
"""Channel family -> event name -> model of the event's data (read-only), in the table's order."""

# ------------------------------------------------------------------------------------------------- API


def allowed_events(family: ChannelFamily | None) -> tuple[str, ...]:
    """The events the server may publish on ``family``, in catalog order; ``()`` for ``None`` (a channel
    the table does not define) and families without events."""
    return tuple(EVENTS.get(family, ())) if family is not None else ()


def validate_event(family: ChannelFamily | None, event: str, data: object) -> dict[str, Any]:
    """Validate ``data`` for ``event`` on a channel of ``family`` and return it JSON-ready.

    The result is the validated data as JSON values (timestamps as ISO-8601 strings, ``None`` fields
    left out, defaults such as ``read: false`` filled in, extra keys kept). Measure its size with
    ``check_size`` before publishing it.

    Raises ``ValidationFailed`` (422) with code ``unknown_channel`` when ``family`` is ``None`` or not in
    the catalog, ``unknown_event`` when the family does not define ``event`` (the message names the
    allowed events), and ``invalid_event_data`` when the data does not fit the event's model; the
    details are ``[{"loc": ["data", ...], "msg": ..., "type": ...}]`` and never echo input values.
    """
    events = EVENTS.get(family) if family is not None else None
    if family is None or events is None:
        message = "Events cannot be published on this channel: it is not one of the catalog's channels."
        raise ValidationFailed(
            message,
            code="unknown_channel",
            details=[{"loc": ["channel"], "msg": message, "type": "unknown_channel"}],
        )
    model = events.get(event)
    if model is None:
        allowed = tuple(events)
        message = f"The event is not allowed on {family.id} channels. Allowed events: {', '.join(allowed)}."
        raise ValidationFailed(
            message,
            code="unknown_event",
            details=[{"loc": ["event"], "msg": message, "type": "unknown_event", "allowed": list(allowed)}],
        )
    try:
        out = model.model_validate(data).model_dump(mode="json", exclude_none=True)
        # Extra keys are not validated: make sure they can become the UTF-8 JSON Pusher receives.
        _encode(out)
    except ValidationError as exc:
        raise _invalid(_details(exc)) from exc
    except (PydanticSerializationError, ValueError) as exc:  # unserialisable extras, lone surrogates
        raise _invalid(
            [{"loc": ["data"], "msg": "The data is not representable as UTF-8 JSON.", "type": "json_invalid"}]
        ) from exc
    return out


def encoded_size(data: object) -> int:
    """Bytes of ``data`` as compact UTF-8 JSON: what Pusher counts against its 10 KB limit.

    Publish exactly this encoding (pass the string to the SDK): pusher-http-python's own ``json.dumps``
    uses spaced separators and would send more bytes than measured here. Raises ``TypeError`` /
    ``ValueError`` (``UnicodeEncodeError`` for lone surrogates) for data that is not JSON; the output of
    ``validate_event`` never does.
    """
    return len(_encode(data))


def encrypted_size(plaintext_bytes: int) -> int:
    """Bytes of the data Pusher receives for an encrypted channel whose plaintext is ``plaintext_bytes``.

    pusher-http-python sends ``json.dumps({"nonce": b64(24 bytes), "ciphertext": b64(MAC + text)})``:
    the secretbox adds a 16-byte MAC and base64 adds a third, so the plaintext must stay under ~7.4 KB.
    """
    ciphertext_b64 = 4 * -(-(plaintext_bytes + 16) // 3)
    return len('{"nonce": "') + 32 + len('", "ciphertext": "') + ciphertext_b64 + len('"}')


def check_size(data: object, *, encrypted: bool = False) -> int:
    """Check ``data`` against Pusher's event size limit and return its size in bytes.

    With ``encrypted=True`` (``private-encrypted-*`` channels) the size of the encrypted envelope is
    checked instead. Raises ``PayloadTooLarge`` (413, code ``event_data_too_large``) above
    ``MAX_EVENT_DATA_BYTES``; the message gives the byte count and the limit.
    """
    size = encoded_size(data)
    if encrypted:
        sent = encrypted_size(size)
        if sent > MAX_EVENT_DATA_BYTES:
            raise PayloadTooLarge(
                f"The event data is {sent} bytes once encrypted ({size} bytes before); "
                f"the limit is {MAX_EVENT_DATA_BYTES} bytes.",
                code="event_data_too_large",
            )
        return sent
    if size > MAX_EVENT_DATA_BYTES:
        raise PayloadTooLarge(
            f"The event data is {size} bytes; the limit is {MAX_EVENT_DATA_BYTES} bytes.",
            code="event_data_too_large",
        )
    return size


def json_schema() -> dict[str, Any]:
    """The whole catalog as one JSON Schema (draft 2020-12) document.

    ``$defs`` holds every data model. ``x-channels`` maps family -> event -> ``{"$ref": ...}`` for
    clients that know the family and event (the data a publisher sends); the document itself validates a
    delivered event ``{"family": ..., "event": ..., "data": ...}`` through ``oneOf`` (one branch per family
    and event), whose data also carries the ``event_id`` the server adds (``$defs/DeliveredEvent``).
    """
    models: list[type[BaseModel]] = []
    for events in EVENTS.values():
        for model in events.values():
            if model not in models:
                models.append(model)
    refs, top = models_json_schema(
        [(model, "validation") for model in models], ref_template="#/$defs/{model}"
    )
    defs: dict[str, JsonSchemaValue] = top.get("$defs", {})
    defs["DeliveredEvent"] = {
        "type": "object",
        "description": (
            "What every delivered event's data carries besides its model's fields. event_id is set by "
            "the server (a publisher may not supply it): a ULID, unique, sorting by publish time, the "
            "same on every channel of one publish and on any retry of it."
        ),
        "properties": {"event_id": {"type": "string", "pattern": EVENT_ID_PATTERN}},
        "required": ["event_id"],
    }

    by_family: dict[str, dict[str, JsonSchemaValue]] = {}
    branches: list[JsonSchemaValue] = []
    for family, events in EVENTS.items():
        by_family[family.id] = {}
        for event, model in events.items():
            ref = refs[(model, "validation")]
            by_family[family.id][event] = ref
            branches.append(
                {
                    "properties": {
                        "family": {"const": family.id},
                        "event": {"const": event},
                        "data": ref,
                    }
                }
            )
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": "urn:toolboxai-realtime:event-catalog",
        "title": "ToolBoxAI Realtime event catalog",
        "description": (
            "Events the server publishes, per channel family. Validate an event's data with "
            "x-channels[family][event], or a whole {family, event, data} envelope with this document. "
            "Generated from toolboxai_realtime.catalog by scripts/export_catalog_schema.py."
        ),
        "type": "object",
        "properties": {
            "family": {"enum": [family.id for family in EVENTS]},
            "event": {"type": "string", "minLength": 1, "maxLength": 200},
            "data": {"$ref": "#/$defs/DeliveredEvent"},
        },
        "required": ["family", "event", "data"],
        "oneOf": branches,
        "x-channels": by_family,
        "x-max-data-bytes": MAX_EVENT_DATA_BYTES,
        "$defs": defs,
    }


# ------------------------------------------------------------------------------------------- internals


def _encode(data: object) -> bytes:
    return compact_json(data).encode("utf-8")


def _details(exc: ValidationError) -> list[dict[str, Any]]:
    # Rebuilt from scratch so neither the input values nor the constraint context reach the response.
    return [
        {"loc": ["data", *err["loc"]], "msg": err["msg"], "type": err["type"]}
        for err in exc.errors(include_url=False, include_input=False, include_context=False)
    ]


def _invalid(details: list[dict[str, Any]]) -> ValidationFailed:
    return ValidationFailed(
        "The event data does not match the event's schema.", code="invalid_event_data", details=details
    )
