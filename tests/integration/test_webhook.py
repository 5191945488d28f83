"""POST /pusher/webhook in-process under moto: signatures, idempotency, order, batching, statistics."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import http_event, invoke, load_event
from toolboxai_realtime import webhooks
from toolboxai_realtime.stores import presence as store

KEY, SECRET = "toolboxai-local-key", "toolboxai-local-secret"
CH = "presence-classroom-101"


def now_ms() -> int:
    return int(time.time() * 1000)


def webhook_event(
    events: list[dict[str, Any]],
    *,
    time_ms: int | None = None,
    key: str = KEY,
    secret: str = SECRET,
    raw: bytes | None = None,
) -> dict[str, Any]:
    body = raw if raw is not None else json.dumps({"time_ms": time_ms or now_ms(), "events": events}).encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    headers = {"content-type": "application/json", "x-pusher-key": key, "x-pusher-signature": signature}
    return http_event("POST", "/pusher/webhook", body=body, headers=headers)


def added(user_id: str, channel: str = CH) -> dict[str, Any]:
    return {"name": "member_added", "channel": channel, "user_id": user_id}


def removed(user_id: str, channel: str = CH) -> dict[str, Any]:
    return {"name": "member_removed", "channel": channel, "user_id": user_id}


def present(channel: str = CH) -> dict[str, bool]:
    return {m.user_id: m.present for m in store.channel_state(channel).members}


def table_items(client) -> list[dict[str, Any]]:
    return client.scan(TableName="PresenceTable")["Items"]


@pytest.fixture
def counted(monkeypatch) -> list[tuple[str, float, dict[str, str]]]:
    calls: list[tuple[str, float, dict[str, str]]] = []
    monkeypatch.setattr(webhooks, "count", lambda name, value=1, **dims: calls.append((name, value, dims)))
    return calls


@pytest.fixture
def dynamodb_calls(aws_tables) -> list[str]:
    """The DynamoDB operations the layer's client makes (counted at the botocore level)."""
    from toolboxai_realtime import aws

    seen: list[str] = []
    aws.client_events().register("before-call.dynamodb", lambda model, **_: seen.append(model.name))
    return seen


# ------------------------------------------------------------------------------------------ accepted


def test_a_signed_delivery_is_applied_and_answered_200(aws_tables):
    status, _, body = invoke(webhook_event([{"name": "channel_occupied", "channel": CH}, added("12345")]))
    assert status == 200
    assert body == {
        "status": "ok",
        "events": 2,
        "applied": 2,
        "stale": 0,
        "ignored": 0,
        "client_events_refused": 0,
    }
    record = store.channel_state(CH)
    assert record.occupied is True
    assert [(m.user_id, m.present) for m in record.members] == [("12345", True)]


def test_the_sample_event_is_accepted_once_re_signed_with_a_fresh_time(aws_tables):
    doc = json.loads(load_event("webhook_member_added.json")["body"])
    status, _, body = invoke(webhook_event(doc["events"]))
    assert status == 200
    assert body["applied"] == 2


def test_a_rotated_key_pair_is_accepted(aws_tables, monkeypatch):
    monkeypatch.setenv("PUSHER_WEBHOOK_KEYS", "previous-key:previous-secret")
    status, _, _ = invoke(webhook_event([added("1")], key="previous-key", secret="previous-secret"))
    assert status == 200
    assert present() == {"1": True}


def test_unknown_event_types_are_ignored_and_counted(aws_tables, counted):
    status, _, body = invoke(webhook_event([{"name": "channel_renamed", "channel": CH}, added("1")]))
    assert status == 200
    assert body["ignored"] == 1
    assert body["applied"] == 1


# ------------------------------------------------------------------------------------------ refused


def _signed_fresh() -> tuple[bytes, str, dict[str, str]]:
    body = json.dumps({"time_ms": now_ms(), "events": [added("1")]}).encode()
    return (
        body,
        hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest(),
        {"content-type": "application/json"},
    )


def _tampered() -> dict[str, Any]:
    body, sig, base = _signed_fresh()
    headers = {**base, "x-pusher-key": KEY, "x-pusher-signature": sig}
    return http_event("POST", "/pusher/webhook", body=body.replace(b'"1"', b'"2"'), headers=headers)


def _without(header: str) -> dict[str, Any]:
    body, sig, base = _signed_fresh()
    headers = {**base, "x-pusher-key": KEY, "x-pusher-signature": sig}
    del headers[header]
    return http_event("POST", "/pusher/webhook", body=body, headers=headers)


def _unsigned_non_json() -> dict[str, Any]:
    headers = {"content-type": "application/json", "x-pusher-key": KEY, "x-pusher-signature": "0" * 64}
    return http_event("POST", "/pusher/webhook", body=b"this is not json", headers=headers)


# Built when the test runs (not at collection), so that "fresh" time_ms stay fresh in a long run.
REFUSED: dict[str, tuple[Callable[[], dict[str, Any]], int, str]] = {
    "tampered body": (_tampered, 401, "invalid_webhook_signature"),
    "wrong secret": (lambda: webhook_event([added("1")], secret="guessed"), 401, "invalid_webhook_signature"),
    "unknown key": (lambda: webhook_event([added("1")], key="other-app"), 401, "unknown_webhook_key"),
    "stale time_ms": (lambda: webhook_event([added("1")], time_ms=now_ms() - 301_000), 401, "stale_webhook"),
    "future time_ms": (lambda: webhook_event([added("1")], time_ms=now_ms() + 301_000), 401, "stale_webhook"),
    "missing signature": (lambda: _without("x-pusher-signature"), 401, "missing_webhook_headers"),
    "missing key": (lambda: _without("x-pusher-key"), 401, "missing_webhook_headers"),
    "signed non-JSON": (lambda: webhook_event([], raw=b"this is not json"), 400, "malformed_webhook"),
    "unsigned non-JSON": (_unsigned_non_json, 401, "invalid_webhook_signature"),
    "signed events that are not a list": (
        lambda: webhook_event([], raw=json.dumps({"time_ms": now_ms(), "events": "x"}).encode()),
        400,
        "malformed_webhook",
    ),
}


@pytest.mark.parametrize("case", REFUSED)
def test_refused_deliveries_change_nothing(aws_tables, counted, case):
    build, status, code = REFUSED[case]
    got, headers, body = invoke(build())
    assert (got, body["code"]) == (status, code)
    assert headers["content-type"] == "application/json"
    assert table_items(aws_tables) == []
    failures = [c for c in counted if c[0] == "WebhookSignatureFailures"]
    assert failures == ([("WebhookSignatureFailures", 1, {"reason": code})] if status == 401 else [])


def test_a_refused_signature_is_a_security_event_without_the_signature(aws_tables, caplog):
    event = webhook_event([added("1")], secret="guessed")
    signature = event["headers"]["x-pusher-signature"]
    status, _, _ = invoke(event)
    assert status == 401
    records = [r for r in caplog.records if getattr(r, "security_event", None) == "webhook_rejected"]
    assert len(records) == 1
    entry = records[0].__dict__
    assert entry["reason"] == "invalid_webhook_signature"
    assert entry["source_ip"] == "198.51.100.7"
    assert entry["webhook_key"] == KEY
    assert signature not in json.dumps({k: str(v) for k, v in entry.items()})


def test_a_body_over_one_mebibyte_is_413(aws_tables):
    event = webhook_event([], raw=b"{" + b" " * (webhooks.MAX_BODY_BYTES + 1) + b"}")
    status, _, body = invoke(event)
    assert status == 413
    assert body["code"] == "payload_too_large"


def test_a_store_failure_is_503_so_that_pusher_retries(aws_tables):
    aws_tables.delete_table(TableName="PresenceTable")
    status, headers, body = invoke(webhook_event([added("1")]))
    assert status == 503
    assert body["code"] == "store_unavailable"
    assert headers["retry-after"]


# ------------------------------------------------------------------------------- duplicates and order


def test_a_duplicated_delivery_has_no_second_effect(aws_tables, counted):
    event = webhook_event([{"name": "channel_occupied", "channel": CH}, added("1"), added("2")])
    assert invoke(event)[2]["applied"] == 3
    before = table_items(aws_tables)
    status, _, body = invoke(event)
    assert status == 200
    assert (body["applied"], body["stale"]) == (0, 3)
    assert table_items(aws_tables) == before
    joined = [value for name, value, _ in counted if name == "MembersJoined"]
    assert joined == [2]  # counted once


def test_an_older_join_delivered_after_a_newer_leave_is_refused(aws_tables):
    t = now_ms()
    invoke(webhook_event([removed("1")], time_ms=t))
    invoke(webhook_event([added("1")], time_ms=t - 5000))
    assert present() == {"1": False}


def test_an_older_leave_delivered_after_a_newer_join_is_refused(aws_tables):
    t = now_ms()
    invoke(webhook_event([added("1")], time_ms=t))
    invoke(webhook_event([removed("1")], time_ms=t - 5000))
    assert present() == {"1": True}


@pytest.mark.parametrize("first", ["join", "leave"])
def test_a_leave_wins_a_join_with_the_same_time_ms_whatever_arrives_first(aws_tables, first):
    t = now_ms()
    join, leave = webhook_event([added("1")], time_ms=t), webhook_event([removed("1")], time_ms=t)
    for event in (join, leave) if first == "join" else (leave, join):
        assert invoke(event)[0] == 200
    assert present() == {"1": False}


def test_within_one_delivery_the_array_order_applies(aws_tables):
    status, _, body = invoke(webhook_event([added("1"), removed("1"), removed("2"), added("2")]))
    assert status == 200
    assert body["applied"] == 2
    assert present() == {"1": False, "2": True}


def test_vacated_then_occupied_in_one_delivery_leaves_the_channel_occupied(aws_tables):
    t = now_ms()
    invoke(webhook_event([{"name": "channel_occupied", "channel": CH}], time_ms=t - 1000))
    invoke(
        webhook_event(
            [{"name": "channel_vacated", "channel": CH}, {"name": "channel_occupied", "channel": CH}],
            time_ms=t,
        )
    )
    record = store.channel_state(CH)
    assert (record.occupied, record.since) == (True, t)


# ------------------------------------------------------------------------------------------- batching


def test_a_batch_of_twenty_events_is_one_dynamodb_call(aws_tables, dynamodb_calls):
    events = [{"name": "channel_occupied", "channel": CH}] + [added(str(i)) for i in range(19)]
    status, _, body = invoke(webhook_event(events))
    assert status == 200
    assert body["applied"] == 20
    assert dynamodb_calls == ["TransactWriteItems"]


def test_one_stale_event_does_not_cost_the_others_their_write(aws_tables, dynamodb_calls):
    t = now_ms()
    invoke(webhook_event([removed("1")], time_ms=t))
    dynamodb_calls.clear()
    status, _, body = invoke(webhook_event([added("1"), added("2"), added("3")], time_ms=t - 1000))
    assert status == 200
    assert (body["applied"], body["stale"]) == (2, 1)
    assert dynamodb_calls == ["TransactWriteItems", "TransactWriteItems"]
    assert present() == {"1": False, "2": True, "3": True}


def test_more_than_a_hundred_changes_are_split_into_transactions_of_a_hundred(aws_tables, dynamodb_calls):
    changes = [store.MemberChange(CH, str(i), True, now_ms()) for i in range(150)]
    result = store.apply(changes)
    assert (len(result.applied), result.calls) == (150, 2)
    assert dynamodb_calls == ["TransactWriteItems", "TransactWriteItems"]


def test_two_changes_to_one_item_are_refused_before_any_call(aws_tables, dynamodb_calls):
    with pytest.raises(ValueError, match="collapse"):
        store.apply([store.MemberChange(CH, "1", True, 1), store.MemberChange(CH, "1", False, 2)])
    assert dynamodb_calls == []


# ----------------------------------------------------------------------------------------- statistics


def test_statistics_count_events_by_type_and_applied_effects(aws_tables, counted):
    doc = json.loads(load_event("webhook_all_types.json")["body"])
    status, _, _ = invoke(webhook_event(doc["events"]))
    assert status == 200
    by_type = {dims["type"]: value for name, value, dims in counted if name == "WebhookEvents"}
    assert by_type == {
        "cache_miss": 1,
        "channel_occupied": 2,
        "channel_vacated": 1,
        "client_event": 1,
        "member_added": 1,
        "member_removed": 1,
        "subscription_count": 1,
    }
    effects = {name: value for name, value, dims in counted if not dims}
    assert effects == {
        "WebhookDeliveries": 1,
        "ChannelsOccupied": 2,
        "ChannelsVacated": 1,
        "MembersJoined": 1,
        "MembersLeft": 1,
    }


def test_client_events_are_logged_by_channel_event_user_and_size_never_their_data(aws_tables, caplog):
    secret_data = json.dumps({"answer": "the-students-private-answer"})
    event = {
        "name": "client_event",
        "channel": CH,
        "event": "client-answer",
        "data": secret_data,
        "socket_id": "1.2",
        "user_id": "12345",
    }
    assert invoke(webhook_event([event]))[0] == 200
    logged = [r for r in caplog.records if r.getMessage() == "client event"]
    assert len(logged) == 1
    entry = logged[0].__dict__
    assert (entry["channel"], entry["client_event"], entry["user_id"], entry["size_bytes"]) == (
        CH,
        "client-answer",
        "12345",
        len(secret_data.encode()),
    )
    assert all(
        "the-students-private-answer" not in str(value)
        for r in caplog.records
        for value in r.__dict__.values()
    )
