"""The event catalog: documented examples, refusals, the size limit and the exported JSON Schema."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from scripts import export_catalog_schema
from toolboxai_realtime import catalog
from toolboxai_realtime.catalog import (
    EVENTS,
    MAX_EVENT_DATA_BYTES,
    check_size,
    encoded_size,
    encrypted_size,
    json_schema,
)
from toolboxai_realtime.channels import FAMILIES as TABLE
from toolboxai_realtime.channels import ChannelFamily
from toolboxai_realtime.errors import PayloadTooLarge, ValidationFailed

jsonschema = pytest.importorskip("jsonschema")

# The catalog is keyed by the channel table's families; the cases below name them by id.
BY_ID = {family.id: events for family, events in EVENTS.items()}


def validate_event(family: str | None, event: str, data: object) -> dict[str, Any]:
    return catalog.validate_event(TABLE.get(family) if family else None, event, data)


def allowed_events(family: str) -> tuple[str, ...]:
    return catalog.allowed_events(TABLE.get(family))


FAMILIES = {
    "dashboard-updates",
    "content-generation",
    "agent-status",
    "private-user",
    "private-encrypted-user",
    "private-class",
    "private-encrypted-class",
    "presence-classroom",
    "presence-lesson",
    "private-canary",
}

# ------------------------------------------------------------------ examples copied from the seed document

# POST /realtime/trigger request body example.
TRIGGER_EXAMPLE: dict[str, Any] = {
    "channel": "dashboard-updates",
    "event": "notification",
    "data": {"type": "success", "message": "System update completed", "timestamp": "2024-01-01T12:00:00Z"},
    "socket_id": "123456.789012",
}

# "Event Data Example" blocks. Values written "a|b|c" in the document list the allowed values.
DASHBOARD_EXAMPLE = {
    "type": "info|success|warning|error",
    "title": "System Update",
    "message": "New features have been deployed",
    "timestamp": "2024-01-01T12:00:00Z",
    "action_url": "/features/new",
    "expires_at": "2024-01-02T12:00:00Z",
}
CONTENT_EXAMPLE = {
    "content_id": "content_12345",
    "user_id": "user_67890",
    "progress": 75,
    "stage": "generating_scripts",
    "estimated_completion": "2024-01-01T12:05:00Z",
    "error": None,
}
AGENT_EXAMPLE = {
    "agent_id": "content_agent_001",
    "agent_type": "content_generation",
    "status": "active|idle|error",
    "task_id": "task_12345",
    "performance_metrics": {"cpu_usage": 45, "memory_usage": 67, "tasks_completed": 123},
}
USER_EXAMPLE = {
    "notification_id": "notif_12345",
    "type": "grade|assignment|message|system",
    "title": "New Grade Posted",
    "message": "Your math quiz has been graded",
    "data": {
        "assignment_id": "assign_67890",
        "grade": "85%",
        "feedback": "Good work on problem solving!",
    },
    "read": False,
    "created_at": "2024-01-01T12:00:00Z",
}
# "Presence Data" of presence-classroom (a member's user_info).
PRESENCE_EXAMPLE = {
    "user_id": "12345",
    "name": "John Doe",
    "role": "student|teacher",
    "avatar_url": "https://example.com/avatar.jpg",
    "status": "active|away|busy",
    "current_activity": "solving_problem_3",
}
# Python integration: notify_user(...) and update_content_progress(...).
NOTIFY_USER_EXAMPLE = {
    "type": "grade",
    "title": "New Grade Posted",
    "message": "Your math quiz has been graded",
    "data": {"assignment_id": "assign_67890", "grade": "85%"},
}
CONTENT_PROGRESS_EXAMPLE = {"content_id": "content_12345", "progress": 75, "stage": "generating_scripts"}


def expand(example: dict[str, Any]) -> list[dict[str, Any]]:
    """One concrete payload per documented alternative ("a|b" placeholders)."""
    out = [example]
    for key, value in example.items():
        if isinstance(value, str) and "|" in value:
            out = [{**doc, key: option} for doc in out for option in value.split("|")]
    return out


DATA_EXAMPLES: list[tuple[str, dict[str, Any]]] = [
    ("dashboard-updates", DASHBOARD_EXAMPLE),
    ("content-generation", CONTENT_EXAMPLE),
    ("agent-status", AGENT_EXAMPLE),
    ("private-user", USER_EXAMPLE),
    ("private-encrypted-user", USER_EXAMPLE),
]
DOCUMENTED: list[tuple[str, str, dict[str, Any]]] = [
    ("dashboard-updates", "notification", TRIGGER_EXAMPLE["data"]),
    *[
        (family, event, payload)
        for family, example in DATA_EXAMPLES
        for event in BY_ID[family]
        if event != "notification"
        for payload in expand(example)
    ],
    ("private-user", "personal_notification", NOTIFY_USER_EXAMPLE),
    ("content-generation", "progress_update", CONTENT_PROGRESS_EXAMPLE),
]

# One minimal valid payload for every event the seed gives no fields for.
TS = "2024-01-01T12:00:00Z"
UNDOCUMENTED: dict[tuple[str, str], dict[str, Any]] = {
    ("private-class", "class_announcement"): {
        "class_id": "101",
        "teacher_id": "t_1",
        "title": "Field trip",
        "message": "Bring a packed lunch on Friday.",
        "timestamp": TS,
    },
    ("private-class", "assignment_posted"): {
        "class_id": "101",
        "assignment_id": "assign_67890",
        "title": "Fractions worksheet",
        "due_at": "2024-01-08T09:00:00+01:00",
        "timestamp": TS,
    },
    ("private-class", "student_joined"): {"class_id": "101", "user_id": "12345", "timestamp": TS},
    ("private-class", "lesson_started"): {
        "class_id": "101",
        "lesson_id": "lesson_7",
        "title": "Photosynthesis",
        "timestamp": TS,
    },
    ("presence-classroom", "user_joined"): {"class_id": "101", "user_id": "12345", "timestamp": TS},
    ("presence-classroom", "user_left"): {"class_id": "101", "user_id": "12345", "timestamp": TS},
    ("presence-classroom", "activity_update"): {
        "class_id": "101",
        "user_id": "12345",
        "status": "busy",
        "current_activity": "solving_problem_3",
        "timestamp": TS,
    },
    ("presence-classroom", "collaboration_event"): {
        "class_id": "101",
        "user_id": "12345",
        "action": "whiteboard_stroke",
        "data": {"points": [[0, 0], [3, 4]]},
        "timestamp": TS,
    },
    ("presence-lesson", "progress_shared"): {
        "lesson_id": "lesson_7",
        "user_id": "12345",
        "progress": 40,
        "timestamp": TS,
    },
    ("presence-lesson", "help_requested"): {"lesson_id": "lesson_7", "user_id": "12345", "timestamp": TS},
    ("presence-lesson", "collaboration_started"): {
        "lesson_id": "lesson_7",
        "group_id": "group_a",
        "started_by": "t_1",
        "member_ids": ["12345", "23456"],
        "timestamp": TS,
    },
    ("presence-lesson", "assessment_submitted"): {
        "lesson_id": "lesson_7",
        "assessment_id": "quiz_3",
        "user_id": "12345",
        "timestamp": TS,
    },
    ("private-canary", "canary_probe"): {"run_id": "0f3e2d4b6a70", "sent_at": TS},
}
for _family in ("private-class",):
    for _event in BY_ID[_family]:
        UNDOCUMENTED[("private-encrypted-class", _event)] = UNDOCUMENTED[(_family, _event)]

ALL_VALID = [*DOCUMENTED, *[(f, e, d) for (f, e), d in UNDOCUMENTED.items()]]


def _id(case: tuple[str, str, dict[str, Any]]) -> str:
    family, event, data = case
    return f"{family}:{event}:{data.get('type') or data.get('status') or ''}"


def refused(family: str | None, event: str, data: object) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as info:
        validate_event(family, event, data)
    return info.value


def locs(exc: ValidationFailed) -> list[list[Any]]:
    return [d["loc"] for d in exc.details]


# -------------------------------------------------------------------------------------------- the table


def test_catalog_has_exactly_the_documented_families():
    assert set(BY_ID) == FAMILIES
    assert all(isinstance(family, ChannelFamily) for family in EVENTS)


def test_encrypted_families_accept_the_same_events_as_their_plain_ones():
    assert BY_ID["private-encrypted-user"] == BY_ID["private-user"]
    assert BY_ID["private-encrypted-class"] == BY_ID["private-class"]


def test_allowed_events_lists_documented_events_in_order():
    assert allowed_events("dashboard-updates") == (
        "system_notification",
        "maintenance_alert",
        "feature_update",
        "notification",
    )
    assert allowed_events("presence-lesson") == (
        "progress_shared",
        "help_requested",
        "collaboration_started",
        "assessment_submitted",
    )


def test_allowed_events_is_empty_for_unknown_family():
    assert allowed_events("presence-unknown") == ()


def test_catalog_cannot_be_mutated():
    with pytest.raises(TypeError):
        EVENTS["new-family"] = {}  # type: ignore[index]
    with pytest.raises(TypeError):
        EVENTS[TABLE["private-user"]]["new_event"] = object  # type: ignore[index]


def test_every_event_has_a_valid_sample_in_this_file():
    sampled = {(f, e) for f, e, _ in ALL_VALID}
    assert sampled == {(f, e) for f, events in BY_ID.items() for e in events}


# ------------------------------------------------------------------------------------------- valid data


@pytest.mark.parametrize("case", DOCUMENTED, ids=_id)
def test_documented_example_validates(case):
    family, event, data = case
    out = validate_event(family, event, copy.deepcopy(data))
    expected = {k: v for k, v in data.items() if v is not None}
    if "performance_metrics" in expected:
        # Usage percentages are numbers: 45 comes back as 45.0 (the same JSON number to a front end).
        assert out.pop("performance_metrics") == expected.pop("performance_metrics")
    if family.endswith("user"):
        expected.setdefault("read", False)
    assert out == expected


def test_trigger_example_validates_as_written():
    # Given the admin trigger example from the documentation (no title)
    body = TRIGGER_EXAMPLE
    # When its data is validated for its channel and event
    out = validate_event(body["channel"], body["event"], body["data"])
    # Then it is accepted unchanged
    assert out == body["data"]


def test_notify_user_example_gets_read_false_and_no_invented_ids():
    out = validate_event("private-user", "personal_notification", NOTIFY_USER_EXAMPLE)
    assert out == {**NOTIFY_USER_EXAMPLE, "read": False}
    assert "notification_id" not in out
    assert "created_at" not in out


def test_content_progress_without_user_id_validates():
    assert validate_event("content-generation", "progress_update", CONTENT_PROGRESS_EXAMPLE) == (
        CONTENT_PROGRESS_EXAMPLE
    )


@pytest.mark.parametrize("case", [(f, e, d) for (f, e), d in UNDOCUMENTED.items()], ids=_id)
def test_minimal_payload_for_undocumented_event_validates(case):
    family, event, data = case
    assert validate_event(family, event, data) == data


@pytest.mark.parametrize("case", ALL_VALID, ids=_id)
def test_validated_output_validates_to_itself(case):
    family, event, data = case
    once = validate_event(family, event, data)
    assert validate_event(family, event, once) == once
    json.dumps(once)  # JSON-ready


@pytest.mark.parametrize("payload", expand(PRESENCE_EXAMPLE), ids=lambda p: f"{p['role']}-{p['status']}")
def test_presence_member_info_is_a_valid_user_joined(payload):
    data = {**payload, "class_id": "101", "timestamp": TS}
    out = validate_event("presence-classroom", "user_joined", data)
    assert out == data


def test_extra_keys_are_kept_and_none_extras_dropped():
    data = {**TRIGGER_EXAMPLE["data"], "correlation_id": "c-1", "version": 2, "gone": None}
    out = validate_event("dashboard-updates", "notification", data)
    assert out["correlation_id"] == "c-1"
    assert out["version"] == 2
    assert "gone" not in out


def test_null_inside_free_form_data_is_kept():
    data = {**NOTIFY_USER_EXAMPLE, "data": {"grade": None}}
    assert validate_event("private-user", "grade_posted", data)["data"] == {"grade": None}


def test_input_is_not_modified():
    data = copy.deepcopy(NOTIFY_USER_EXAMPLE)
    validate_event("private-user", "grade_posted", data)
    assert data == NOTIFY_USER_EXAMPLE


# --------------------------------------------------------------------------------------------- timestamps


@pytest.mark.parametrize(
    ("given", "written"),
    [
        ("2024-01-01T12:00:00Z", "2024-01-01T12:00:00Z"),
        ("2024-01-01T12:00:00+00:00", "2024-01-01T12:00:00Z"),
        ("2024-01-01T13:00:00+01:00", "2024-01-01T13:00:00+01:00"),
        ("2024-01-01T12:00:00.250Z", "2024-01-01T12:00:00.250000Z"),
        (datetime(2024, 1, 1, 12, tzinfo=UTC), "2024-01-01T12:00:00Z"),
    ],
)
def test_timestamps_are_written_back_as_iso_8601(given, written):
    data = {**TRIGGER_EXAMPLE["data"], "timestamp": given}
    assert validate_event("dashboard-updates", "notification", data)["timestamp"] == written


@pytest.mark.parametrize(
    "bad",
    [
        "2024-01-01T12:00:00",  # no time zone
        "2024-01-01",
        "2024-13-01T12:00:00Z",
        "01/01/2024 12:00",
        "1704110400",
        1704110400,
        datetime(2024, 1, 1, 12),  # naive
    ],
)
def test_timestamp_without_zone_or_not_iso_is_refused(bad):
    exc = refused("dashboard-updates", "notification", {**TRIGGER_EXAMPLE["data"], "timestamp": bad})
    assert locs(exc) == [["data", "timestamp"]]


# ---------------------------------------------------------------------------------------- refusals


def test_missing_fields_are_named_in_details():
    exc = refused("content-generation", "progress_update", {"content_id": "c1"})
    assert exc.code == "invalid_event_data"
    assert exc.status == 422
    assert sorted(map(tuple, locs(exc))) == [("data", "progress"), ("data", "stage")]
    assert {d["type"] for d in exc.details} == {"missing"}


def test_dashboard_events_other_than_notification_require_a_title():
    exc = refused("dashboard-updates", "system_notification", TRIGGER_EXAMPLE["data"])
    assert locs(exc) == [["data", "title"]]


@pytest.mark.parametrize(
    ("family", "event", "base", "field", "bad"),
    [
        ("content-generation", "progress_update", CONTENT_EXAMPLE, "progress", "75"),
        ("content-generation", "progress_update", CONTENT_EXAMPLE, "progress", 75.5),
        ("content-generation", "progress_update", CONTENT_EXAMPLE, "progress", True),
        ("content-generation", "progress_update", CONTENT_EXAMPLE, "progress", 101),
        ("content-generation", "progress_update", CONTENT_EXAMPLE, "progress", -1),
        ("content-generation", "progress_update", CONTENT_EXAMPLE, "content_id", 12345),
        ("content-generation", "progress_update", CONTENT_EXAMPLE, "content_id", ""),
        ("content-generation", "progress_update", CONTENT_EXAMPLE, "content_id", "has space"),
        ("content-generation", "progress_update", CONTENT_EXAMPLE, "content_id", "x" * 129),
        ("content-generation", "progress_update", CONTENT_EXAMPLE, "stage", "   "),
        ("dashboard-updates", "system_notification", DASHBOARD_EXAMPLE, "type", "critical"),
        ("dashboard-updates", "system_notification", DASHBOARD_EXAMPLE, "title", "t" * 201),
        ("dashboard-updates", "system_notification", DASHBOARD_EXAMPLE, "message", ""),
        ("dashboard-updates", "system_notification", DASHBOARD_EXAMPLE, "action_url", "javascript:alert(1)"),
        ("dashboard-updates", "system_notification", DASHBOARD_EXAMPLE, "action_url", "//evil.example"),
        ("dashboard-updates", "system_notification", DASHBOARD_EXAMPLE, "action_url", "/\\evil.example"),
        ("agent-status", "agent_started", AGENT_EXAMPLE, "status", "busy"),
        ("private-user", "grade_posted", USER_EXAMPLE, "read", 0),
        ("private-user", "grade_posted", USER_EXAMPLE, "read", "false"),
        ("private-user", "grade_posted", USER_EXAMPLE, "data", ["not", "an", "object"]),
        ("private-user", "grade_posted", USER_EXAMPLE, "type", "grades"),
        (
            "presence-classroom",
            "user_joined",
            UNDOCUMENTED[("presence-classroom", "user_joined")],
            "user_id",
            "a/b",
        ),
        (
            "presence-classroom",
            "user_joined",
            UNDOCUMENTED[("presence-classroom", "user_joined")],
            "role",
            "admin",
        ),
        (
            "presence-lesson",
            "collaboration_started",
            UNDOCUMENTED[("presence-lesson", "collaboration_started")],
            "member_ids",
            ["12345", "12345"],
        ),
        (
            "presence-lesson",
            "collaboration_started",
            UNDOCUMENTED[("presence-lesson", "collaboration_started")],
            "member_ids",
            [],
        ),
    ],
)
def test_wrong_value_is_refused_naming_the_field(family, event, base, field, bad):
    data = {**expand(base)[0], field: bad}
    exc = refused(family, event, data)
    assert exc.code == "invalid_event_data"
    assert locs(exc) == [["data", field]]


@pytest.mark.parametrize(
    ("field", "bad"),
    [("cpu_usage", 100.5), ("memory_usage", -1), ("tasks_completed", -1), ("cpu_usage", "45")],
)
def test_wrong_performance_metric_is_refused_with_its_path(field, bad):
    data = expand(AGENT_EXAMPLE)[0]
    data["performance_metrics"] = {**data["performance_metrics"], field: bad}
    exc = refused("agent-status", "system_health", data)
    assert locs(exc) == [["data", "performance_metrics", field]]


def test_refusal_details_do_not_echo_input_values():
    secret = "s3cr3t-value-that-must-not-leak"
    exc = refused(
        "private-user", "grade_posted", {**NOTIFY_USER_EXAMPLE, "type": secret, "title": secret * 10}
    )
    assert secret not in json.dumps(exc.body())
    assert all(set(d) == {"loc", "msg", "type"} for d in exc.details)


@pytest.mark.parametrize("data", [None, [], "text", 42])
def test_data_that_is_not_an_object_is_refused(data):
    exc = refused("dashboard-updates", "notification", data)
    assert exc.code == "invalid_event_data"
    assert locs(exc) == [["data"]]


def _circular() -> list[Any]:
    items: list[Any] = []
    items.append(items)
    return items


@pytest.mark.parametrize(
    "extra", ["\ud800", b"\xff", object(), _circular()], ids=["surrogate", "bytes", "object", "circular"]
)
def test_extra_value_that_cannot_become_utf8_json_is_refused(extra):
    exc = refused("dashboard-updates", "notification", {**TRIGGER_EXAMPLE["data"], "x": extra})
    assert exc.code == "invalid_event_data"
    assert locs(exc) == [["data"]]


def test_unknown_event_is_refused_naming_the_allowed_events():
    exc = refused("content-generation", "generation_paused", CONTENT_EXAMPLE)
    assert exc.code == "unknown_event"
    assert exc.status == 422
    for event in BY_ID["content-generation"]:
        assert event in exc.message
    assert exc.details[0]["allowed"] == list(BY_ID["content-generation"])


def test_event_of_another_family_is_unknown_here():
    exc = refused("dashboard-updates", "personal_notification", NOTIFY_USER_EXAMPLE)
    assert exc.code == "unknown_event"


@pytest.mark.parametrize("family", [None, "presence-unknown", "private-user-12345", ""])
def test_unknown_channel_family_is_refused(family):
    exc = refused(family, "notification", TRIGGER_EXAMPLE["data"])
    assert exc.code == "unknown_channel"
    assert exc.details[0]["loc"] == ["channel"]


# ------------------------------------------------------------------------------------------- size limit


def padded(total_bytes: int, filler: str = "a") -> dict[str, Any]:
    """A valid personal notification whose compact UTF-8 JSON is exactly ``total_bytes`` long."""
    base = validate_event("private-user", "personal_notification", {**NOTIFY_USER_EXAMPLE, "pad": ""})
    room = total_bytes - encoded_size(base)
    unit = len(filler.encode("utf-8"))
    data = {**base, "pad": filler * (room // unit) + "a" * (room % unit)}
    assert encoded_size(data) == total_bytes
    return data


def test_encoded_size_counts_utf8_bytes_of_compact_json():
    assert encoded_size({"a": 1}) == len(b'{"a":1}')
    assert encoded_size({"m": "é"}) == len('{"m":"é"}'.encode()) == 10
    assert encoded_size({"m": "😀"}) == 12


def test_data_of_exactly_the_limit_is_accepted():
    data = padded(MAX_EVENT_DATA_BYTES)
    out = validate_event("private-user", "personal_notification", data)
    assert check_size(out) == MAX_EVENT_DATA_BYTES


def test_data_one_byte_over_the_limit_is_refused():
    data = validate_event("private-user", "personal_notification", padded(MAX_EVENT_DATA_BYTES + 1))
    with pytest.raises(PayloadTooLarge) as info:
        check_size(data)
    assert info.value.code == "event_data_too_large"
    assert info.value.status == 413
    assert "10241" in info.value.message
    assert "10240" in info.value.message


@pytest.mark.parametrize("filler", ["é", "😀"])
def test_non_ascii_text_is_measured_in_utf8_bytes(filler):
    at_limit = padded(MAX_EVENT_DATA_BYTES, filler)
    assert len(json.dumps(at_limit, separators=(",", ":"), ensure_ascii=False)) < MAX_EVENT_DATA_BYTES
    assert check_size(at_limit) == MAX_EVENT_DATA_BYTES
    over = padded(MAX_EVENT_DATA_BYTES + 1, filler)
    # Fewer characters than the limit, more bytes: still refused.
    assert len(json.dumps(over, separators=(",", ":"), ensure_ascii=False)) < MAX_EVENT_DATA_BYTES
    with pytest.raises(PayloadTooLarge):
        check_size(over)


def test_multibyte_character_crossing_the_limit_is_refused():
    data = padded(MAX_EVENT_DATA_BYTES)
    data["pad"] = data["pad"][:-1] + "é"  # at the limit, one ASCII byte replaced by two bytes
    assert encoded_size(data) == MAX_EVENT_DATA_BYTES + 1
    with pytest.raises(PayloadTooLarge):
        check_size(data)


def test_encrypted_size_matches_pusher_sdk_envelope():
    nacl = pytest.importorskip("nacl")
    assert nacl
    from pusher.crypto import encrypt

    master = b"k" * 32
    for n in (0, 1, 2, 3, 100, 7616):
        text = "x" * n
        envelope = json.dumps(encrypt("private-encrypted-user-1", text, master), ensure_ascii=False)
        assert len(envelope.encode("utf-8")) == encrypted_size(n)


def test_encrypted_channels_leave_less_room_for_data():
    data = padded(7616)
    assert check_size(data, encrypted=True) <= MAX_EVENT_DATA_BYTES
    with pytest.raises(PayloadTooLarge) as info:
        check_size(padded(7617), encrypted=True)
    assert "encrypted" in info.value.message


# ------------------------------------------------------------------------------------------ JSON Schema


def test_committed_schema_file_is_current():
    assert export_catalog_schema.is_current(), (
        "schema/catalog.schema.json is stale: run "
        "`PYTHONPATH=layers/shared .venv/bin/python -m scripts.export_catalog_schema`"
    )
    committed = json.loads(export_catalog_schema.SCHEMA_PATH.read_text(encoding="utf-8"))
    assert committed == json_schema()


def test_export_check_mode_detects_stale_file(tmp_path):
    path = tmp_path / "schema" / "catalog.schema.json"
    assert export_catalog_schema.main(["--check", "--path", str(path)]) == 1  # missing
    assert export_catalog_schema.main(["--path", str(path)]) == 0
    assert export_catalog_schema.main(["--check", "--path", str(path)]) == 0
    text = path.read_text(encoding="utf-8")
    assert text.endswith("}\n")
    assert not text.endswith("\n\n")
    path.write_text(text.replace('"x-max-data-bytes": 10240', '"x-max-data-bytes": 1'), encoding="utf-8")
    assert export_catalog_schema.main(["--check", "--path", str(path)]) == 1


def test_schema_rendering_is_deterministic():
    assert export_catalog_schema.render() == export_catalog_schema.render()


def test_json_schema_is_a_valid_draft_2020_12_schema():
    schema = json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_json_schema_maps_every_family_and_event_to_a_definition():
    schema = json_schema()
    channels = schema["x-channels"]
    assert {f: set(e) for f, e in channels.items()} == {f: set(e) for f, e in BY_ID.items()}
    for family, events in BY_ID.items():
        for event, model in events.items():
            assert channels[family][event] == {"$ref": f"#/$defs/{model.__name__}"}
    assert len(schema["oneOf"]) == sum(len(e) for e in EVENTS.values())


def test_undocumented_event_fields_are_described_in_the_schema():
    defs = json_schema()["$defs"]
    for (_family, _event), _ in UNDOCUMENTED.items():
        model = BY_ID[_family][_event]
        definition = defs[model.__name__]
        assert definition["description"]
        assert all(prop.get("description") for prop in definition["properties"].values())


def _validator() -> Any:
    schema = json_schema()
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def _event_validator(family: str, event: str) -> Any:
    schema = json_schema()
    sub = {**schema["x-channels"][family][event], "$defs": schema["$defs"]}
    return jsonschema.Draft202012Validator(sub, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


DELIVERED_ID = "01M8NNE7XZ72ZRS2F3Q212FTKV"


@pytest.mark.parametrize("case", ALL_VALID, ids=_id)
def test_front_end_schema_accepts_what_the_server_delivers(case):
    family, event, data = case
    delivered = {**validate_event(family, event, data), "event_id": DELIVERED_ID}
    _validator().validate({"family": family, "event": event, "data": delivered})
    _event_validator(family, event).validate(validate_event(family, event, data))


@pytest.mark.parametrize(
    "event_id", [None, "not-a-ulid", "01m8nne7xz72zrs2f3q212ftkv", "81M8NNE7XZ72ZRS2F3Q212FTKV"]
)
def test_front_end_schema_requires_an_event_id_on_every_delivered_event(event_id):
    family, event, data = ALL_VALID[0]
    delivered = validate_event(family, event, data)
    if event_id is not None:
        delivered["event_id"] = event_id
    assert not _validator().is_valid({"family": family, "event": event, "data": delivered})


@pytest.mark.parametrize(
    ("family", "event", "data"),
    [
        ("dashboard-updates", "system_notification", TRIGGER_EXAMPLE["data"]),  # no title
        ("dashboard-updates", "notification", {**TRIGGER_EXAMPLE["data"], "timestamp": "2024-01-01T12:00"}),
        ("dashboard-updates", "notification", {**TRIGGER_EXAMPLE["data"], "action_url": "//evil.example"}),
        ("content-generation", "progress_update", {**CONTENT_PROGRESS_EXAMPLE, "progress": 101}),
        ("content-generation", "progress_update", {**CONTENT_PROGRESS_EXAMPLE, "progress": "75"}),
        ("private-user", "grade_posted", {**NOTIFY_USER_EXAMPLE, "read": "no"}),
        ("content-generation", "generation_paused", CONTENT_PROGRESS_EXAMPLE),
        ("presence-unknown", "notification", TRIGGER_EXAMPLE["data"]),
        (
            "presence-lesson",
            "collaboration_started",
            {
                **UNDOCUMENTED[("presence-lesson", "collaboration_started")],
                "member_ids": ["a", "a"],
            },
        ),
    ],
)
def test_front_end_schema_refuses_what_the_server_refuses(family, event, data):
    with pytest.raises(ValidationFailed):
        validate_event(family, event, data)
    assert not _validator().is_valid({"family": family, "event": event, "data": data})


def test_module_exports_its_public_api():
    for name in catalog.__all__:
        assert hasattr(catalog, name)
