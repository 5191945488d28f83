"""Webhook verification, parsing and per-delivery collapsing: pure logic, no AWS."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from tests.conftest import load_event
from toolboxai_realtime import pusher_gateway, webhooks
from toolboxai_realtime.errors import BadRequest, InvalidSignature
from toolboxai_realtime.stores.presence import MemberChange, OccupancyChange, SubscriptionCountChange

KEY, SECRET = "toolboxai-local-key", "toolboxai-local-secret"
NOW = 1_795_608_000.0  # 2026-11-25T12:00:00Z, the time_ms of the sample events
T = int(NOW * 1000)


def signed(doc: dict, secret: str = SECRET) -> tuple[bytes, str]:
    body = json.dumps(doc).encode()
    return body, hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# ----------------------------------------------------------------------------------------- verifying


def test_a_correctly_signed_fresh_body_is_returned_parsed():
    body, signature = signed({"time_ms": T, "events": []})
    assert pusher_gateway.verify_webhook(KEY, signature, body, now=NOW) == {"time_ms": T, "events": []}


def test_the_sample_event_verifies_at_its_own_time():
    event = load_event("webhook_member_added.json")
    headers = event["headers"]
    doc = pusher_gateway.verify_webhook(
        headers["x-pusher-key"], headers["x-pusher-signature"], event["body"].encode(), now=NOW
    )
    assert [e["name"] for e in doc["events"]] == ["channel_occupied", "member_added"]


def test_signature_in_upper_case_hex_is_accepted():
    body, signature = signed({"time_ms": T, "events": []})
    assert pusher_gateway.verify_webhook(KEY, signature.upper(), body, now=NOW)["time_ms"] == T


def test_a_tampered_body_is_refused():
    body, signature = signed({"time_ms": T, "events": [{"name": "member_added"}]})
    with pytest.raises(InvalidSignature) as err:
        pusher_gateway.verify_webhook(KEY, signature, body.replace(b"added", b"xadded"), now=NOW)
    assert err.value.code == "invalid_webhook_signature"
    assert err.value.status == 401


def test_a_signature_made_with_another_secret_is_refused():
    body, signature = signed({"time_ms": T, "events": []}, secret="someone-elses-secret")
    with pytest.raises(InvalidSignature) as err:
        pusher_gateway.verify_webhook(KEY, signature, body, now=NOW)
    assert err.value.code == "invalid_webhook_signature"


def test_an_unknown_key_is_refused_before_any_hmac():
    body, signature = signed({"time_ms": T, "events": []})
    with pytest.raises(InvalidSignature) as err:
        pusher_gateway.verify_webhook("not-our-key", signature, body, now=NOW)
    assert err.value.code == "unknown_webhook_key"


def test_a_rotated_key_pair_from_pusher_webhook_keys_is_accepted(monkeypatch):
    monkeypatch.setenv("PUSHER_WEBHOOK_KEYS", "old-key:old-secret, older-key:older-secret")
    body, signature = signed({"time_ms": T, "events": []}, secret="older-secret")
    assert pusher_gateway.verify_webhook("older-key", signature, body, now=NOW)["time_ms"] == T
    with pytest.raises(InvalidSignature):
        pusher_gateway.verify_webhook("old-key", signature, body, now=NOW)  # pairs do not mix


@pytest.mark.parametrize("offset_s", [-301, 301])
def test_time_ms_outside_the_sdk_window_is_refused(offset_s):
    body, signature = signed({"time_ms": T + offset_s * 1000, "events": []})
    with pytest.raises(InvalidSignature) as err:
        pusher_gateway.verify_webhook(KEY, signature, body, now=NOW)
    assert err.value.code == "stale_webhook"


def test_time_ms_at_the_edge_of_the_window_is_accepted():
    body, signature = signed({"time_ms": T - 300_000, "events": []})
    assert pusher_gateway.verify_webhook(KEY, signature, body, now=NOW)["events"] == []


@pytest.mark.parametrize(
    "body", [b"not json", b"\xff\xfe", b"[1, 2]", b'{"events": []}', b'{"time_ms": "soon", "events": []}']
)
def test_a_correctly_signed_body_that_is_not_a_webhook_is_a_400(body):
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    with pytest.raises(BadRequest) as err:
        pusher_gateway.verify_webhook(KEY, signature, body, now=NOW)
    assert err.value.code == "malformed_webhook"


def test_a_wrongly_signed_body_that_is_not_json_is_a_401_not_a_400():
    with pytest.raises(InvalidSignature):
        pusher_gateway.verify_webhook(KEY, "00" * 32, b"not json", now=NOW)


# ------------------------------------------------------------------------------------------- parsing


def test_all_seven_event_types_parse_to_their_models():
    doc = json.loads(load_event("webhook_all_types.json")["body"])
    delivery = webhooks.parse_delivery(doc)
    kinds = {type(event).__name__ for event in delivery.events}
    assert kinds == {
        "ChannelOccupied",
        "ChannelVacated",
        "MemberAdded",
        "MemberRemoved",
        "ClientEvent",
        "CacheMiss",
        "SubscriptionCount",
    }
    assert delivery.time_ms == T
    assert delivery.ignored == 0
    assert {
        "channel_occupied",
        "channel_vacated",
        "member_added",
        "member_removed",
        "client_event",
        "cache_miss",
        "subscription_count",
    } == webhooks.EVENT_TYPES


def test_unknown_types_and_malformed_events_are_skipped_and_the_rest_kept(caplog):
    delivery = webhooks.parse_delivery(
        {
            "time_ms": T,
            "events": [
                {"name": "channel_exploded", "channel": "presence-classroom-1"},
                {"name": "member_added", "channel": "presence-classroom-1"},  # no user_id
                {"name": "member_added", "channel": "private-class-1", "user_id": "1"},  # not presence
                {"name": "channel_occupied", "channel": "bad channel!"},
                "not an object",
                {"name": "member_added", "channel": "presence-classroom-1", "user_id": 42},
            ],
        }
    )
    assert delivery.ignored == 5
    assert len(delivery.events) == 1
    assert isinstance(delivery.events[0], webhooks.MemberAdded)
    assert delivery.events[0].user_id == "42"  # numbers are ids too, as in tokens
    logged = [
        (r.getMessage(), getattr(r, "event_name", None), getattr(r, "position", None)) for r in caplog.records
    ]
    assert logged == [
        ("unknown webhook event ignored", "channel_exploded", 0),
        ("malformed webhook event ignored", "member_added", 1),
        ("malformed webhook event ignored", "member_added", 2),
        ("malformed webhook event ignored", "channel_occupied", 3),
        ("unknown webhook event ignored", "NoneType", 4),
    ]


@pytest.mark.parametrize(
    "doc", [{"time_ms": T, "events": {"name": "x"}}, {"time_ms": 0, "events": []}, {"time_ms": T}]
)
def test_a_delivery_without_an_events_list_or_a_positive_time_is_a_400(doc):
    with pytest.raises(BadRequest) as err:
        webhooks.parse_delivery(doc)
    assert err.value.code == "malformed_webhook"


def test_client_event_size_is_the_bytes_of_its_data_as_sent():
    text = webhooks.ClientEvent(name="client_event", channel="presence-a", event="client-x", data='{"é":1}')
    assert text.size_bytes == len('{"é":1}'.encode())
    obj = webhooks.ClientEvent(name="client_event", channel="presence-a", event="client-x", data={"a": [1]})
    assert obj.size_bytes == len(b'{"a":[1]}')


# ------------------------------------------------------------------------------------------ collapsing


def delivery(*events: dict, t: int = T) -> webhooks.Delivery:
    return webhooks.parse_delivery({"time_ms": t, "events": list(events)})


def test_the_last_event_about_a_member_in_one_delivery_wins():
    changes = webhooks.plan(
        delivery(
            {"name": "member_added", "channel": "presence-a", "user_id": "1"},
            {"name": "member_removed", "channel": "presence-a", "user_id": "1"},
            {"name": "member_removed", "channel": "presence-a", "user_id": "2"},
            {"name": "member_added", "channel": "presence-a", "user_id": "2"},
        )
    )
    assert sorted(changes, key=lambda c: c.user_id) == [
        MemberChange("presence-a", "1", False, T),
        MemberChange("presence-a", "2", True, T),
    ]


def test_occupancy_and_counts_collapse_per_channel_and_client_events_store_nothing():
    changes = webhooks.plan(
        delivery(
            {"name": "channel_vacated", "channel": "presence-a"},
            {"name": "channel_occupied", "channel": "presence-a"},
            {"name": "subscription_count", "channel": "private-b", "subscription_count": 2},
            {"name": "subscription_count", "channel": "private-b", "subscription_count": 5},
            {"name": "client_event", "channel": "presence-a", "event": "client-x", "data": "{}"},
            {"name": "cache_miss", "channel": "cache-c"},
        )
    )
    assert set(changes) == {
        OccupancyChange("presence-a", True, T),
        SubscriptionCountChange("private-b", 5, T),
    }


def test_twenty_events_about_twenty_items_make_twenty_changes():
    events = [{"name": "member_added", "channel": "presence-a", "user_id": str(i)} for i in range(20)]
    assert len(webhooks.plan(delivery(*events))) == 20
