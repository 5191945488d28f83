"""Event ids and channel history, in-process under moto with Pusher mocked.

Given publishes through POST /realtime/trigger (or the Python publisher), when a client reads
GET /realtime/channels/{channel}/history, then: the events it would have received, in publish order, each
with the event_id pusher-js delivered; only for callers who may subscribe; nothing for a publish that
was refused; the same id for an idempotent replay and for the retry of an unknown outcome; and nothing
past the retention.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import botocore.exceptions
import pytest
import requests
import responses

from local_stack.token import mint_dev_token
from tests.conftest import EVENTS_URL, http_event, invoke
from toolboxai_realtime import event_ids, history
from toolboxai_realtime.caches import reset_caches
from toolboxai_realtime.errors import BadRequest, Gone, NotFound, PublishOutcomeUnknown
from toolboxai_realtime.event_ids import EventIdGenerator, Reuse
from toolboxai_realtime.publisher import Publisher

GRADE = {"type": "grade", "title": "New Grade Posted", "message": "Your math quiz has been graded"}
NOTIFICATION = {"type": "success", "message": "System update completed", "timestamp": "2024-01-01T12:00:00Z"}
HELP = {
    "lesson_id": "7",
    "user_id": "u1",
    "message": "Stuck on question 3",
    "timestamp": "2024-01-01T12:00:00Z",
}


@pytest.fixture(autouse=True)
def _fresh(aws_tables: Any) -> Iterator[None]:
    reset_caches()
    yield
    reset_caches()


def admin() -> str:
    return mint_dev_token("ops", role="admin")


def student(sub: str = "u1", classes: tuple[str, ...] = ()) -> str:
    return mint_dev_token(sub, role="student", class_ids=classes, lesson_ids=("7",))


def trigger(payload: dict[str, Any], *, path: str = "/realtime/trigger", key: str | None = None) -> Any:
    headers = {"authorization": f"Bearer {admin()}"}
    if key is not None:
        headers["idempotency-key"] = key
    return invoke(http_event("POST", path, body=payload, headers=headers))


def read(channel: str, bearer: str | None, query: str = "") -> tuple[int, dict[str, str], Any]:
    headers = {"authorization": f"Bearer {bearer}"} if bearer else {}
    return invoke(http_event("GET", f"/realtime/channels/{channel}/history", headers=headers, query=query))


def delivered(mock: responses.RequestsMock) -> list[dict[str, Any]]:
    """The data of every event Pusher received (single-event calls)."""
    return [json.loads(json.loads(call.request.body)["data"]) for call in mock.calls]


def grade(n: int) -> dict[str, Any]:
    return {"channel": "private-user-u1", "event": "grade_posted", "data": {**GRADE, "title": f"Grade {n}"}}


# ------------------------------------------------------------------------------------------ event ids


def test_every_published_event_carries_the_id_the_response_lists(pusher):
    status, _, body = trigger(grade(1))
    assert status == 200, body
    (event_id,) = body["event_ids"]
    assert event_ids.is_event_id(event_id)
    assert body["events"][0]["event_id"] == event_id
    assert delivered(pusher)[0]["event_id"] == event_id


def test_one_multi_channel_publish_has_one_id_on_every_channel(pusher):
    status, _, body = trigger({"channels": ["private-user-u1", "private-user-u2"], **_event(grade(1))})
    assert status == 200, body
    (event_id,) = body["event_ids"]
    for channel in ("private-user-u1", "private-user-u2"):
        _, _, page = read(channel, student(channel.removeprefix("private-user-")))
        assert [e["event_id"] for e in page["events"]] == [event_id]


def test_a_batch_has_one_increasing_id_per_event(pusher):
    status, _, body = trigger({"events": [grade(i) for i in range(5)]}, path="/realtime/trigger/batch")
    assert status == 200, body
    ids = body["event_ids"]
    assert len(set(ids)) == 5
    assert ids == sorted(ids)
    sent = json.loads(pusher.calls[0].request.body)["batch"]
    assert [json.loads(item["data"])["event_id"] for item in sent] == ids


@pytest.mark.parametrize("path", ["/realtime/trigger", "/realtime/trigger/batch"])
def test_a_publisher_cannot_supply_an_event_id(pusher, path):
    event = grade(1)
    event["data"] = {**event["data"], "event_id": "01M8NNE7XZ72ZRS2F3Q212FTKV"}
    status, _, body = trigger(event if path == "/realtime/trigger" else {"events": [event]}, path=path)
    assert status == 422
    assert body["code"] == "event_id_not_allowed"
    assert not pusher.calls


def test_publishes_in_the_same_millisecond_keep_their_order_in_history(pusher, monkeypatch):
    # A frozen clock: every id falls in one millisecond, and history must still be in publish order.
    frozen = EventIdGenerator(clock=lambda: int(time.time() * 1000))
    frozen_ms = frozen.new()
    same_ms = EventIdGenerator(clock=lambda: event_ids.milliseconds(frozen_ms))
    monkeypatch.setattr(event_ids, "_default", same_ms)
    published = [trigger(grade(i))[2]["event_ids"][0] for i in range(20)]
    assert len({event_ids.milliseconds(i) for i in published}) == 1
    _, _, page = read("private-user-u1", student())
    assert [e["event_id"] for e in page["events"]] == published
    assert [e["data"]["title"] for e in page["events"]] == [f"Grade {i}" for i in range(20)]


# -------------------------------------------------------------------------------------------- history


def test_history_after_the_last_seen_id_is_exactly_what_was_missed_in_order(pusher):
    ids = [trigger(grade(i))[2]["event_ids"][0] for i in range(23)]
    status, _, page = read("private-user-u1", student(), f"after={ids[2]}")
    assert status == 200, page
    assert page["channel"] == "private-user-u1"
    assert page["has_more"] is False
    assert [e["event_id"] for e in page["events"]] == ids[3:]
    # Each event exactly as pusher-js received it.
    assert [e["data"] for e in page["events"]] == delivered(pusher)[3:]
    first = page["events"][0]
    assert first["event"] == "grade_posted"
    assert first["published_at"].endswith("Z")
    assert first["published_at"] == event_ids.published_at(first["event_id"]).isoformat(
        timespec="milliseconds"
    ).replace("+00:00", "Z")


def test_published_at_has_milliseconds_even_on_a_whole_second():
    from toolboxai_realtime.history import HistoryEvent

    whole = HistoryEvent(
        event_id=event_ids.floor_id(1_700_000_000_000),
        event="e",
        data={},
        published_at=event_ids.published_at(event_ids.floor_id(1_700_000_000_000)),
    )
    assert whole.model_dump(mode="json")["published_at"] == "2023-11-14T22:13:20.000Z"


def test_without_after_the_latest_events_come_oldest_first(pusher):
    ids = [trigger(grade(i))[2]["event_ids"][0] for i in range(5)]
    status, _, page = read("private-user-u1", student(), "limit=2")
    assert status == 200
    assert [e["event_id"] for e in page["events"]] == ids[3:]
    assert page["has_more"] is True
    _, _, everything = read("private-user-u1", student())
    assert [e["event_id"] for e in everything["events"]] == ids
    assert everything["has_more"] is False


def test_pages_after_an_id_follow_each_other_until_has_more_is_false(pusher):
    ids = [trigger(grade(i))[2]["event_ids"][0] for i in range(7)]
    seen: list[str] = []
    after = ids[0]
    while True:
        _, _, page = read("private-user-u1", student(), f"after={after}&limit=3")
        seen += [e["event_id"] for e in page["events"]]
        if not page["has_more"]:
            break
        after = seen[-1]
    assert seen == ids[1:]


def test_a_public_channel_is_readable_with_any_valid_token(pusher):
    trigger({"channel": "dashboard-updates", "event": "notification", "data": NOTIFICATION})
    status, _, page = read("dashboard-updates", student("anyone"))
    assert status == 200
    assert [e["event"] for e in page["events"]] == ["notification"]


def test_class_history_for_members_and_admins_only(pusher):
    trigger({"channel": "private-class-101", "event": "class_announcement", "data": _announcement()})
    assert read("private-class-101", student("s1", ("101",)))[0] == 200
    assert read("private-class-101", admin())[0] == 200
    status, _, body = read("private-class-101", student("s2", ("202",)))
    assert (status, body["code"]) == (403, "not_in_class")


def test_another_users_channel_is_403_and_a_security_event(pusher, caplog):
    trigger(grade(1))
    with caplog.at_level(logging.WARNING):
        status, _, body = read("private-user-u1", student("u2"))
    assert status == 403
    assert body["code"] == "not_own_user_channel"
    assert "events" not in body
    (event,) = [r for r in caplog.records if getattr(r, "security_event", None) == "history_denied"]
    assert (event.reason, event.user_id, event.channel) == ("not_own_user_channel", "u2", "private-user-u1")


def test_admins_get_no_other_users_private_history(pusher):
    # The policy has no admin override on private-user channels (the same answer as /pusher/auth).
    trigger(grade(1))
    assert read("private-user-u1", admin())[0] == 403


def test_no_token_is_401(pusher):
    status, headers, body = read("dashboard-updates", None)
    assert status == 401
    assert body["code"] == "missing_token"
    assert headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("channel", "query", "status", "code"),
    [
        ("private-user-u1", "after=not-an-id", 422, "validation_error"),
        ("private-user-u1", "after=01m8nne7xz72zrs2f3q212ftkv", 422, "validation_error"),
        ("private-user-u1", "limit=0", 422, "validation_error"),
        ("private-user-u1", "limit=101", 422, "validation_error"),
        ("private-user-u1", "limit=ten", 422, "validation_error"),
        ("private-user-u1!", "", 400, "invalid_channel_name"),
        ("presence-lesson-7", "", 404, "history_not_kept"),
        ("private-encrypted-user-u1", "", 404, "history_not_kept"),
        ("private-secret-1", "", 403, "unknown_channel"),
        ("general-chat", "", 403, "unknown_channel"),
    ],
)
def test_bad_requests_are_4xx_in_the_error_model(pusher, channel, query, status, code):
    got, _, body = read(channel, student(), query)
    assert got == status, body
    assert body["code"] == code
    assert body["message"]


# ------------------------------------------------------------------------------------------ retention


def _old_ids(hours_ago: float) -> EventIdGenerator:
    return EventIdGenerator(clock=lambda: int((time.time() - hours_ago * 3600) * 1000))


def test_an_event_past_the_retention_is_not_returned(pusher):
    pub = Publisher(rate_limit=False)
    old = pub.trigger("private-user-u1", "grade_posted", GRADE, id_source=_old_ids(25).many).event_ids[0]
    recent = pub.trigger("private-user-u1", "grade_posted", GRADE, id_source=_old_ids(23).many).event_ids[0]
    _, _, page = read("private-user-u1", student())
    assert [e["event_id"] for e in page["events"]] == [recent]
    assert old < recent


def test_after_older_than_the_retention_is_410_history_expired(pusher):
    pub = Publisher(rate_limit=False)
    old = pub.trigger("private-user-u1", "grade_posted", GRADE, id_source=_old_ids(25).many).event_ids[0]
    status, _, body = read("private-user-u1", student(), f"after={old}")
    assert status == 410
    assert body["code"] == "history_expired"


def test_retention_follows_the_setting_and_an_injected_clock(pusher, monkeypatch):
    monkeypatch.setenv("HISTORY_RETENTION", "3600")

    reset_caches()
    result = Publisher(rate_limit=False).notify_user("u1", GRADE)
    (event_id,) = result.event_ids
    now = time.time()
    assert [e.event_id for e in history.read("private-user-u1", clock=lambda: now).events] == [event_id]
    assert history.read("private-user-u1", clock=lambda: now + 3601).events == []
    with pytest.raises(Gone):
        history.read("private-user-u1", after=event_id, clock=lambda: now + 3601)


# ------------------------------------------------------------------------- what reaches history, when


def test_a_refused_publish_is_not_in_history(aws_tables):
    with responses.RequestsMock() as mock:
        mock.post(EVENTS_URL, status=404)
        status, _, body = trigger(grade(1))
    assert (status, body["code"]) == (502, "pusher_error")
    assert read("private-user-u1", student())[2]["events"] == []


def test_a_rate_limited_publish_is_not_in_history(pusher, monkeypatch):
    monkeypatch.setenv("TRIGGER_RATE_LIMIT_PER_MINUTE", "2")

    reset_caches()
    statuses = [trigger(grade(i))[0] for i in range(3)]
    assert statuses == [200, 200, 429]
    assert len(read("private-user-u1", student())[2]["events"]) == 2


def test_an_unknown_outcome_is_in_history_under_the_ids_the_504_names(aws_tables):
    with responses.RequestsMock() as mock:
        mock.post(EVENTS_URL, body=requests.exceptions.ReadTimeout("no answer"))
        status, headers, body = trigger(grade(1))
    assert status == 504
    assert body["code"] == "publish_outcome_unknown"
    assert int(headers["retry-after"]) >= 1
    (event_id,) = body["details"]["event_ids"]
    assert [e["event_id"] for e in read("private-user-u1", student())[2]["events"]] == [event_id]


def test_the_retry_of_an_unknown_outcome_with_the_same_key_reuses_the_event_id(aws_tables):
    # The case: Pusher got the publish but did not answer in time; the retry with the same
    # Idempotency-Key must go out under the same event id, so receivers can drop the second copy.
    with responses.RequestsMock() as slow:
        slow.post(EVENTS_URL, body=requests.exceptions.ReadTimeout("no answer"))
        status, _, first = trigger(grade(1), key="k-unknown")
        first_sent = delivered(slow)
    assert status == 504
    with responses.RequestsMock() as up:
        up.post(EVENTS_URL, json={})
        status, headers, second = trigger(grade(1), key="k-unknown")
        second_sent = delivered(up)
    assert status == 200
    assert "idempotent-replayed" not in headers
    assert second["event_ids"] == first["details"]["event_ids"]
    assert second_sent[0]["event_id"] == first_sent[0]["event_id"] == second["event_ids"][0]
    # History holds it once.
    assert [e["event_id"] for e in read("private-user-u1", student())[2]["events"]] == second["event_ids"]


def test_an_idempotent_replay_returns_the_same_event_ids(pusher):
    first = trigger({"events": [grade(1), grade(2)]}, path="/realtime/trigger/batch", key="k-batch")
    second = trigger({"events": [grade(1), grade(2)]}, path="/realtime/trigger/batch", key="k-batch")
    assert second[1]["idempotent-replayed"] == "true"
    assert second[2]["event_ids"] == first[2]["event_ids"]
    assert len(pusher.calls) == 1


def test_a_key_whose_unknown_outcome_is_retried_with_another_body_is_refused(aws_tables):
    with responses.RequestsMock() as slow:
        slow.post(EVENTS_URL, body=requests.exceptions.ReadTimeout("no answer"))
        assert trigger(grade(1), key="k-other")[0] == 504
    with responses.RequestsMock(assert_all_requests_are_fired=False) as up:
        up.post(EVENTS_URL, json={})
        status, _, body = trigger(grade(2), key="k-other")
        assert not up.calls
    assert (status, body["code"]) == (422, "idempotency_key_reused")


# ------------------------------------------------------------------------------------ Python publisher


def test_the_python_publisher_returns_ids_and_reads_history(pusher):
    pub = Publisher(rate_limit=False)
    ids = [pub.notify_user("u9", GRADE).event_ids[0] for _ in range(3)]
    assert pub.history("private-user-u9").events[-1].event_id == ids[-1]
    page = pub.history("private-user-u9", after=ids[0], limit=1)
    assert [e.event_id for e in page.events] == [ids[1]]
    assert page.has_more is True


def test_the_python_publisher_history_refuses_bad_arguments(aws_tables):
    pub = Publisher(rate_limit=False)
    with pytest.raises(BadRequest):
        pub.history("private-user-u9", after="nope")
    with pytest.raises(BadRequest):
        pub.history("private-user-u9", limit=101)
    with pytest.raises(NotFound):
        pub.history("presence-lesson-7")


# ---------------------------------------------------------------------------------------- internals


def _event(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k != "channel"}


def _announcement() -> dict[str, Any]:
    return {
        "class_id": "101",
        "teacher_id": "t_1",
        "title": "Field trip",
        "message": "Bring a packed lunch on Friday.",
        "timestamp": "2024-01-01T12:00:00Z",
    }


def test_presence_channels_keep_no_history_even_when_published(pusher, aws_tables):
    status, _, _ = trigger({"channel": "presence-lesson-7", "event": "help_requested", "data": HELP})
    assert status == 200
    assert len(pusher.calls) == 1
    assert aws_tables.scan(TableName="HistoryTable")["Items"] == []


def test_a_refused_retry_of_an_unknown_outcome_leaves_its_history(aws_tables):
    # The first attempt may have been delivered: its history is the only copy a disconnected client can
    # still get, so a retry that Pusher refuses must not remove it.
    with responses.RequestsMock() as slow:
        slow.post(EVENTS_URL, body=requests.exceptions.ReadTimeout("no answer"))
        (event_id,) = trigger(grade(1), key="k-refused-retry")[2]["details"]["event_ids"]
    with responses.RequestsMock() as refusing:
        refusing.post(EVENTS_URL, status=404)
        status, _, body = trigger(grade(1), key="k-refused-retry")
    assert (status, body["code"]) == (502, "pusher_error")
    assert [e["event_id"] for e in read("private-user-u1", student())[2]["events"]] == [event_id]


def test_a_refused_first_attempt_with_a_key_is_removed_from_history(aws_tables):
    with responses.RequestsMock() as refusing:
        refusing.post(EVENTS_URL, status=404)
        assert trigger(grade(1), key="k-refused-first")[0] == 502
    assert read("private-user-u1", student())[2]["events"] == []


def test_the_python_publisher_retries_an_unknown_outcome_under_the_same_id(aws_tables):
    pub = Publisher(rate_limit=False)
    with responses.RequestsMock() as slow:
        slow.post(EVENTS_URL, body=requests.exceptions.ReadTimeout("no answer"))
        with pytest.raises(PublishOutcomeUnknown) as info:
            pub.notify_user("u1", GRADE)
    ids = info.value.details["event_ids"]
    with responses.RequestsMock() as up:
        up.post(EVENTS_URL, json={})
        result = pub.trigger("private-user-u1", "personal_notification", GRADE, id_source=Reuse(ids))
        assert delivered(up)[0]["event_id"] == ids[0]
    assert result.event_ids == ids


class _FailingDynamoDB:
    """A DynamoDB client whose BatchWriteItem fails with ``error`` and records the calls it was asked."""

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.calls: list[str] = []

    def batch_write_item(self, **_: Any) -> Any:
        self.calls.append("BatchWriteItem")
        raise self.error


@pytest.mark.parametrize(
    ("error", "status", "code", "undo_calls"),
    [
        # Raised before anything left this process: nothing can be in history, nothing was sent.
        (botocore.exceptions.NoCredentialsError(), 503, "store_unavailable", 0),
        (
            botocore.exceptions.EndpointConnectionError(endpoint_url="http://127.0.0.1:9"),
            503,
            "store_unavailable",
            0,
        ),
        # Sent and not answered: the items may be stored, the undo fails too, so the outcome is unknown.
        (
            botocore.exceptions.ReadTimeoutError(endpoint_url="http://127.0.0.1:9"),
            504,
            "publish_outcome_unknown",
            1,
        ),
    ],
)
def test_a_history_write_that_cannot_have_landed_is_a_plain_503_before_any_publish(
    aws_tables, monkeypatch, error, status, code, undo_calls
):
    # The installed publisher without DynamoDB credentials answered 504 "sent to Pusher but no answer"
    # although nothing was written to history and nothing was sent to Pusher.
    from toolboxai_realtime.errors import UpstreamUnavailable
    from toolboxai_realtime.stores import history as history_store

    failing = _FailingDynamoDB(error)
    monkeypatch.setattr(history_store, "dynamodb", lambda: failing)
    with responses.RequestsMock() as mock, pytest.raises(UpstreamUnavailable) as raised:
        Publisher(rate_limit=False).broadcast_system_message(
            {"type": "info", "title": "t", "message": "m", "timestamp": "2024-01-01T12:00:00Z"}
        )
    assert not mock.calls  # Pusher was never asked
    assert (raised.value.http_status, raised.value.code) == (status, code)
    assert len(failing.calls) == 1 + undo_calls
    if status == 504:
        assert "Nothing was sent to Pusher" in raised.value.message
