"""The publisher: catalog validation before sending, compact encoding, typed errors, one Pusher call.

Pusher's HTTP API is mocked with ``responses``; the rate limit is off here and tested in
tests/integration/test_trigger*.py. History (DynamoDB) is on, in moto in-process.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from http.client import RemoteDisconnected
from typing import Any

import pytest
import requests
import responses
from nacl.secret import SecretBox
from pusher.crypto import generate_shared_secret
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from tests.conftest import reset_caches
from toolboxai_realtime import publisher
from toolboxai_realtime.catalog import MAX_EVENT_DATA_BYTES, encoded_size
from toolboxai_realtime.errors import (
    BadRequest,
    ConfigurationError,
    InvalidChannel,
    PayloadTooLarge,
    PublishOutcomeUnknown,
    RealtimeError,
    UpstreamUnavailable,
    ValidationFailed,
)
from toolboxai_realtime.event_ids import is_event_id
from toolboxai_realtime.publisher import BatchEvent, Publisher, TriggerRequest

EVENTS_URL = "http://127.0.0.1:6001/apps/1001/events"
BATCH_URL = "http://127.0.0.1:6001/apps/1001/batch_events"

NOTIFICATION = {"type": "success", "message": "System update completed", "timestamp": "2024-01-01T12:00:00Z"}
GRADE = {"type": "grade", "title": "New Grade Posted", "message": "Your math quiz has been graded"}


@pytest.fixture
def pusher() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(EVENTS_URL, json={})
        mock.post(BATCH_URL, json={})
        yield mock


@pytest.fixture(autouse=True)
def _tables(aws_tables: Any) -> Any:
    return aws_tables


@pytest.fixture
def pub() -> Publisher:
    return Publisher(rate_limit=False)


def sent(mock: responses.RequestsMock, index: int = -1) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(mock.calls[index].request.body)
    return body


EVENT_ID_BYTES = len(',"event_id":"01M8NNE7XZ72ZRS2F3Q212FTKV"')
"""What the server's event_id adds to a non-empty data object (ids are always 26 characters)."""


def without_id(data: dict[str, Any]) -> dict[str, Any]:
    assert is_event_id(data["event_id"])
    return {k: v for k, v in data.items() if k != "event_id"}


def sized(total: int, filler: str = "é", **base: Any) -> dict[str, Any]:
    """The trigger example's data padded with ``filler`` (plus ASCII) to exactly ``total`` bytes *as sent*,
    i.e. with the event_id the server adds."""
    data = {**NOTIFICATION, **base, "details": ""}
    room = total - EVENT_ID_BYTES - encoded_size(data)
    width = len(filler.encode())
    data["details"] = filler * (room // width) + "a" * (room % width)
    assert encoded_size(data) + EVENT_ID_BYTES == total
    return data


# ------------------------------------------------------------------------------------- what is sent


def test_documented_trigger_example_is_sent_once_as_compact_json(pub, pusher):
    result = pub.trigger("dashboard-updates", "notification", NOTIFICATION, "123456.789012")
    assert len(pusher.calls) == 1
    body = sent(pusher)
    assert body["name"] == "notification"
    assert body["channels"] == ["dashboard-updates"]
    assert body["socket_id"] == "123456.789012"
    (event_id,) = result.event_ids
    assert is_event_id(event_id)
    assert body["data"] == json.dumps({**NOTIFICATION, "event_id": event_id}, separators=(",", ":"))
    assert result.success is True
    assert result.message == "Event triggered successfully"
    assert result.channels == ["dashboard-updates"]
    assert result.event == "notification"
    assert result.event_count == 1
    assert result.events[0].event_id == event_id
    assert result.events[0].data_bytes == encoded_size(NOTIFICATION)
    assert result.events[0].sent_bytes == len(body["data"].encode())
    assert len(result.publish_id) == 32


def test_published_data_is_the_catalog_normalised_data(pub, pusher):
    pub.notify_user("12345", GRADE)
    data = json.loads(sent(pusher)["data"])
    assert without_id(data) == {**GRADE, "read": False}  # the catalog's default is filled in


def test_non_ascii_data_is_sent_as_utf8_not_escaped(pub, pusher):
    pub.trigger("dashboard-updates", "notification", {**NOTIFICATION, "message": "Mise à jour 完成 ✅"})
    assert "Mise à jour 完成 ✅" in sent(pusher)["data"]


def test_multi_channel_trigger_is_one_call_with_every_channel(pub, pusher):
    channels = [f"private-user-{i}" for i in range(100)]
    result = pub.trigger(channels, "personal_notification", GRADE)
    assert len(pusher.calls) == 1
    assert sent(pusher)["channels"] == channels
    assert result.channels == channels
    assert result.events[0].channels == channels


def test_duplicate_channels_are_published_once(pub, pusher):
    result = pub.trigger(["private-user-1", "private-user-1", "private-user-2"], "grade_posted", GRADE)
    assert sent(pusher)["channels"] == ["private-user-1", "private-user-2"]
    assert result.channels == ["private-user-1", "private-user-2"]


def test_batch_is_one_call_to_batch_events(pub, pusher):
    events = [
        {"channel": "dashboard-updates", "event": "notification", "data": NOTIFICATION},
        BatchEvent(channel="private-user-7", event="grade_posted", data=GRADE, socket_id="1.2"),
    ]
    result = pub.trigger_batch(events)
    assert [call.request.url.split("?")[0] for call in pusher.calls] == [BATCH_URL]
    batch = sent(pusher)["batch"]
    assert [item["channel"] for item in batch] == ["dashboard-updates", "private-user-7"]
    assert [item["name"] for item in batch] == ["notification", "grade_posted"]
    assert all(isinstance(item["data"], str) for item in batch)
    assert "socket_id" not in batch[0]
    assert batch[1]["socket_id"] == "1.2"
    assert result.message == "Events triggered successfully"
    assert result.event is None
    assert result.event_count == 2


def test_batch_event_at_exactly_the_limit_is_sent(pub, pusher):
    # pusher-http-python's own batch check (sys.getsizeof > 10240) would refuse this ASCII event.
    data = sized(MAX_EVENT_DATA_BYTES, filler="a")
    result = pub.trigger_batch([{"channel": "dashboard-updates", "event": "notification", "data": data}])
    assert len(sent(pusher)["batch"][0]["data"].encode()) == MAX_EVENT_DATA_BYTES
    assert result.events[0].sent_bytes == MAX_EVENT_DATA_BYTES


# ------------------------------------------------------------------------------------ the helpers


def test_notify_user_publishes_personal_notification_on_the_users_channel(pub, pusher):
    pub.notify_user("user_12345", GRADE)
    assert sent(pusher)["channels"] == ["private-user-user_12345"]
    assert sent(pusher)["name"] == "personal_notification"


def test_broadcast_system_message_goes_to_dashboard_updates(pub, pusher):
    message = {**NOTIFICATION, "type": "info", "title": "System Update"}
    pub.broadcast_system_message(message)
    assert (sent(pusher)["channels"], sent(pusher)["name"]) == (["dashboard-updates"], "system_notification")


def test_update_content_progress_sends_the_documented_fields(pub, pusher):
    pub.update_content_progress("content_12345", 75, "generating_scripts")
    assert sent(pusher)["channels"] == ["content-generation"]
    assert sent(pusher)["name"] == "progress_update"
    assert without_id(json.loads(sent(pusher)["data"])) == {
        "content_id": "content_12345",
        "progress": 75,
        "stage": "generating_scripts",
    }


@pytest.mark.parametrize(
    ("status", "event", "expected"),
    [("active", None, "system_health"), ("error", None, "agent_error"), ("active", "agent_started", None)],
)
def test_report_agent_status_picks_the_event(pub, pusher, status, event, expected):
    pub.report_agent_status("content_agent_001", "content_generation", status, event=event, task_id="t1")
    assert sent(pusher)["channels"] == ["agent-status"]
    assert sent(pusher)["name"] == (expected or event)
    assert json.loads(sent(pusher)["data"])["task_id"] == "t1"


def test_module_shortcuts_use_the_default_publisher(pusher, monkeypatch):
    monkeypatch.setattr(publisher, "default_publisher", lambda: Publisher(rate_limit=False))
    result = publisher.update_content_progress("c1", 10, "outline", event="generation_started")
    assert result.event == "generation_started"
    assert sent(pusher)["name"] == "generation_started"


# ----------------------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("channels", "event", "data", "socket_id", "error", "code"),
    [
        ("dashboard updates!", "notification", NOTIFICATION, None, InvalidChannel, "invalid_channel_name"),
        ("x" * 165, "notification", NOTIFICATION, None, InvalidChannel, "invalid_channel_name"),
        ("random-public", "notification", NOTIFICATION, None, ValidationFailed, "unknown_channel"),
        ("private-secret-9", "grade_posted", GRADE, None, ValidationFailed, "unknown_channel"),
        ("presence-foo", "user_joined", {}, None, ValidationFailed, "unknown_channel"),
        ([], "notification", NOTIFICATION, None, ValidationFailed, "no_channel"),
        ("dashboard-updates", "pusher:subscribe", NOTIFICATION, None, BadRequest, "invalid_event_name"),
        ("dashboard-updates", "pusher_internal:x", NOTIFICATION, None, BadRequest, "invalid_event_name"),
        ("dashboard-updates", "client-typing", NOTIFICATION, None, BadRequest, "invalid_event_name"),
        ("dashboard-updates", "bad event", NOTIFICATION, None, BadRequest, "invalid_event_name"),
        ("dashboard-updates", "grade_posted", GRADE, None, ValidationFailed, "unknown_event"),
        ("dashboard-updates", "notification", {"type": "nope"}, None, ValidationFailed, "invalid_event_data"),
        ("dashboard-updates", "notification", NOTIFICATION, "1.2:x", BadRequest, "invalid_socket_id"),
        ("dashboard-updates", "notification", NOTIFICATION, "abc", BadRequest, "invalid_socket_id"),
    ],
)
def test_invalid_publish_is_refused_before_sending(
    pub, pusher, channels, event, data, socket_id, error, code
):
    with pytest.raises(error) as info:
        pub.trigger(channels, event, data, socket_id)
    assert info.value.code == code
    assert not pusher.calls


def test_unknown_event_error_names_the_allowed_events(pub, pusher):
    with pytest.raises(ValidationFailed) as info:
        pub.trigger("content-generation", "notification", NOTIFICATION)
    assert "progress_update" in info.value.message
    assert "generation_failed" in info.value.message


def test_unknown_public_channel_is_refused_with_the_list_of_channels(pub, pusher):
    with pytest.raises(ValidationFailed) as info:
        pub.trigger("general-chat", "notification", NOTIFICATION)
    assert "'general-chat'" in info.value.message
    assert "private-user-{user_id}" in info.value.message


def test_channels_whose_families_read_the_data_differently_are_refused(pub, pusher):
    # progress_update exists on content-generation and on private-user with different models; this data
    # satisfies both, but private-user's adds read=false, so one payload cannot serve both channels.
    data = {**GRADE, "content_id": "c1", "progress": 5, "stage": "outline"}
    with pytest.raises(ValidationFailed) as info:
        pub.trigger(["content-generation", "private-user-1"], "progress_update", data)
    assert info.value.code == "mixed_channel_families"
    assert not pusher.calls


def test_101_channels_are_refused(pub, pusher):
    with pytest.raises(ValidationFailed) as info:
        pub.trigger([f"private-user-{i}" for i in range(101)], "grade_posted", GRADE)
    assert info.value.code == "too_many_channels"
    assert not pusher.calls


def test_encrypted_channel_cannot_be_in_a_multi_channel_trigger(pub, pusher):
    with pytest.raises(ValidationFailed) as info:
        pub.trigger(["private-encrypted-user-1", "private-user-1"], "grade_posted", GRADE)
    assert info.value.code == "encrypted_multi_channel"


def test_data_of_exactly_10240_bytes_is_published(pub, pusher):
    result = pub.trigger("dashboard-updates", "notification", sized(MAX_EVENT_DATA_BYTES))
    assert result.events[0].sent_bytes == MAX_EVENT_DATA_BYTES
    assert result.events[0].data_bytes == MAX_EVENT_DATA_BYTES - EVENT_ID_BYTES
    assert len(sent(pusher)["data"].encode()) == MAX_EVENT_DATA_BYTES


@pytest.mark.parametrize("filler", ["a", "é", "完", "😀"])
def test_data_of_10241_bytes_is_refused_whatever_the_characters(pub, pusher, filler):
    with pytest.raises(PayloadTooLarge) as info:
        pub.trigger("dashboard-updates", "notification", sized(MAX_EVENT_DATA_BYTES + 1, filler))
    assert info.value.status == 413
    assert "10241 bytes" in info.value.message
    assert not pusher.calls


def test_non_ascii_data_under_the_limit_in_characters_but_over_in_bytes_is_refused(pub, pusher):
    data = {**NOTIFICATION, "details": "完" * 3500}  # 3,500 characters, 10,500 bytes
    with pytest.raises(PayloadTooLarge):
        pub.trigger("dashboard-updates", "notification", data)


def test_batch_of_11_events_is_refused(pub, pusher):
    event = {"channel": "dashboard-updates", "event": "notification", "data": NOTIFICATION}
    with pytest.raises(ValidationFailed) as info:
        pub.trigger_batch([event] * 11)
    assert info.value.code == "too_many_events"
    assert not pusher.calls


def test_one_bad_batch_event_refuses_the_batch_and_is_named(pub, pusher):
    good = {"channel": "dashboard-updates", "event": "notification", "data": NOTIFICATION}
    bad = {"channel": "dashboard-updates", "event": "notification", "data": {"type": "nope"}}
    with pytest.raises(ValidationFailed) as info:
        pub.trigger_batch([good, good, bad])
    assert info.value.message.startswith("events[2]: ")
    assert info.value.details[0]["loc"][:2] == ["events", 2]
    assert not pusher.calls


@pytest.mark.parametrize("item", [{"channel": "dashboard-updates"}, {"x": 1}, "not an object"])
def test_malformed_batch_event_is_refused(pub, pusher, item):
    with pytest.raises(ValidationFailed) as info:
        pub.trigger_batch([item])
    assert info.value.code == "invalid_batch_event"


def test_every_refusal_is_a_realtime_error_with_a_status(pub, pusher):
    with pytest.raises(RealtimeError) as info:
        pub.trigger("dashboard-updates", "notification", {})
    assert 400 <= info.value.status < 500


# ----------------------------------------------------------------------------------- Pusher failures


def _refused() -> requests.ConnectionError:
    """What requests raises when the connection is refused: nothing was sent."""
    return requests.ConnectionError(
        MaxRetryError(None, EVENTS_URL, NewConnectionError(None, "[Errno 111] Connection refused"))  # type: ignore[arg-type]
    )


def _dropped() -> requests.ConnectionError:
    """What requests raises when the server closes the connection after the request went out."""
    return requests.ConnectionError(ProtocolError("Connection aborted.", RemoteDisconnected("closed")))


@pytest.mark.parametrize(
    ("failure", "status", "code"),
    [
        (_refused(), 503, "pusher_unreachable"),
        (requests.exceptions.ConnectTimeout("slow"), 503, "pusher_timeout"),
    ],
)
def test_pusher_never_reached_is_a_503_nothing_published(pub, failure, status, code):
    with responses.RequestsMock() as mock:
        mock.post(EVENTS_URL, body=failure)
        with pytest.raises(UpstreamUnavailable) as info:
            pub.trigger("dashboard-updates", "notification", NOTIFICATION)
    assert not isinstance(info.value, PublishOutcomeUnknown)
    assert info.value.http_status == status
    assert info.value.code == code
    assert info.value.headers["Retry-After"]


@pytest.mark.parametrize(
    "failure", [requests.exceptions.ReadTimeout("slow"), _dropped()], ids=["read_timeout", "dropped"]
)
def test_pusher_sent_but_no_answer_is_a_504_outcome_unknown_with_the_event_ids(pub, failure):
    with responses.RequestsMock() as mock:
        mock.post(EVENTS_URL, body=failure)
        with pytest.raises(PublishOutcomeUnknown) as info:
            pub.trigger("dashboard-updates", "notification", NOTIFICATION)
        (event_id,) = info.value.details["event_ids"]
        assert json.loads(json.loads(mock.calls[0].request.body)["data"])["event_id"] == event_id
    assert info.value.http_status == 504
    assert info.value.code == "publish_outcome_unknown"
    assert info.value.headers["Retry-After"]


@pytest.mark.parametrize("status", [500, 502, 503])
def test_pusher_5xx_is_an_unknown_outcome(pub, status):
    with responses.RequestsMock() as mock:
        mock.post(BATCH_URL, status=status, body="upstream broke")
        with pytest.raises(PublishOutcomeUnknown) as info:
            pub.trigger_batch(
                [{"channel": "dashboard-updates", "event": "notification", "data": NOTIFICATION}]
            )
    assert info.value.http_status == 504
    assert len(info.value.details["event_ids"]) == 1


@pytest.mark.parametrize("status", [404, 413])
def test_pusher_4xx_is_a_502_refusal(pub, status):
    with responses.RequestsMock() as mock:
        mock.post(BATCH_URL, status=status, body="no")
        with pytest.raises(UpstreamUnavailable) as info:
            pub.trigger_batch(
                [{"channel": "dashboard-updates", "event": "notification", "data": NOTIFICATION}]
            )
    assert not isinstance(info.value, PublishOutcomeUnknown)
    assert info.value.http_status == 502
    assert info.value.code == "pusher_error"


@pytest.mark.parametrize(("status", "reason"), [(404, "pusher_error"), (500, "publish_outcome_unknown")])
def test_publish_failure_is_counted_and_logged(pub, monkeypatch, caplog, status, reason):
    counted: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(publisher, "count", lambda name, value=1, **dims: counted.append((name, dims)))
    with responses.RequestsMock() as mock:
        mock.post(EVENTS_URL, status=status)
        with pytest.raises(UpstreamUnavailable):
            pub.trigger("dashboard-updates", "notification", NOTIFICATION)
    assert ("PublishFailures", {"reason": reason}) in counted
    assert not [name for name, _ in counted if name == "EventsPublished"]


@pytest.mark.parametrize(
    ("call", "reason"),
    [
        (lambda p: p.trigger("nope-channel", "notification", NOTIFICATION), "unknown_channel"),
        (lambda p: p.trigger("dashboard-updates", "notification", {"type": "x"}), "invalid_event_data"),
        (
            lambda p: p.trigger("dashboard-updates", "notification", sized(10241, "😀")),
            "event_data_too_large",
        ),
        (lambda p: p.trigger_batch([{"x": 1}]), "invalid_batch_event"),
    ],
    ids=["channel", "data", "size", "batch"],
)
def test_every_refusal_is_logged_and_counted(pub, pusher, monkeypatch, caplog, call, reason):
    counted: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(publisher, "count", lambda name, value=1, **dims: counted.append((name, dims)))
    with pytest.raises(RealtimeError):
        call(pub)
    assert counted == [("PublishRefused", {"reason": reason})]
    assert any(r.message == "publish refused" and r.levelname == "WARNING" for r in caplog.records)
    assert not pusher.calls


def test_success_counts_events_published_by_family(pub, pusher, monkeypatch):
    counted: list[tuple[str, float, dict[str, Any]]] = []
    monkeypatch.setattr(publisher, "count", lambda name, value=1, **dims: counted.append((name, value, dims)))
    pub.trigger(["private-user-1", "private-user-2"], "grade_posted", GRADE)
    assert counted == [("EventsPublished", 2, {"family": "private-user"})]


# -------------------------------------------------------------------------------- encrypted channels


def test_encrypted_channel_without_master_key_is_a_configuration_error(pub, pusher):
    with pytest.raises(ConfigurationError) as info:
        pub.notify_user("1", GRADE, encrypted=True)
    assert info.value.code == "encryption_not_configured"
    assert not pusher.calls


def test_encrypted_batch_event_is_encrypted_before_sending(pub, pusher, monkeypatch):
    key = bytes(range(32))
    monkeypatch.setenv("PUSHER_ENCRYPTION_MASTER_KEY_BASE64", base64.b64encode(key).decode())
    reset_caches()
    pub.trigger_batch([{"channel": "private-encrypted-user-1", "event": "grade_posted", "data": GRADE}])
    envelope = json.loads(sent(pusher)["batch"][0]["data"])
    box = SecretBox(generate_shared_secret(b"private-encrypted-user-1", key))
    plain = box.decrypt(base64.b64decode(envelope["ciphertext"]), base64.b64decode(envelope["nonce"]))
    assert without_id(json.loads(plain)) == {**GRADE, "read": False}


# ------------------------------------------------------------------------------------- request model


def test_trigger_request_needs_exactly_one_of_channel_and_channels():
    with pytest.raises(ValueError, match="either channel or channels"):
        TriggerRequest.model_validate({"event": "notification", "data": {}})
    with pytest.raises(ValueError, match="either channel or channels"):
        TriggerRequest.model_validate(
            {"channel": "a", "channels": ["b"], "event": "notification", "data": {}}
        )
    request = TriggerRequest.model_validate({"channels": ["a", "b"], "event": "notification", "data": {}})
    assert request.channel_names == ["a", "b"]
