"""Auth limits: requests per user per minute and connections per user (sliding leases), one DynamoDB call
per request whatever it asks for; the store on its own with a controlled clock, then through the
endpoints."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest

from local_stack.token import mint_dev_token
from tests.conftest import client_events, http_event, invoke
from toolboxai_realtime import authorization
from toolboxai_realtime.caches import reset_caches
from toolboxai_realtime.errors import RateLimited, UpstreamUnavailable
from toolboxai_realtime.stores import auth_limits

LEASE = 300
T0 = 1_800_000_000.0  # a minute and a lease-bucket boundary (1_800_000_000 = 6_000_000 * 300)
assert T0 % 60 == 0
assert T0 % LEASE == 0


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    """The clock of the limits, for the store and (through ``authorization.limits_clock``, which every
    ``AuthAttempt`` of the auth routes reads) for the endpoints."""
    c = Clock()
    monkeypatch.setattr(authorization, "limits_clock", lambda: c)
    return c


@pytest.fixture
def calls(aws_tables) -> list[str]:
    """Every DynamoDB API call the layer makes, by operation name."""
    seen: list[str] = []
    client_events().register("before-call.dynamodb.*", lambda model, **_: seen.append(model.name))
    return seen


def admit(user: str, socket: str | None, clock: Clock, *, limit: int = 100, cap: int = 100):
    return auth_limits.admit(user, socket, limit=limit, cap=cap, lease_seconds=LEASE, clock=clock)


def refused(user: str, socket: str | None, clock: Clock, **kw: Any) -> RateLimited:
    with pytest.raises(RateLimited) as caught:
        admit(user, socket, clock, **kw)
    return caught.value


def item(client, user: str) -> dict[str, Any]:
    found = client.get_item(TableName="RateLimitTable", Key={"pk": {"S": auth_limits.item_key(user)}})
    return found.get("Item", {})


def live_sockets(client, user: str, clock: Clock) -> set[str]:
    bucket = int(clock() // LEASE)
    return set(item(client, user).get(f"s{bucket}", {}).get("SS", []))


# ------------------------------------------------------------------------------------ request limit


def test_requests_are_limited_per_user_per_minute_with_retry_after_to_the_next_minute(aws_tables, clock):
    clock.now = T0 + 15
    for n in range(1, 4):
        assert admit("u1", "1.1", clock, limit=3).requests == n
    error = refused("u1", "1.1", clock, limit=3)
    assert (error.code, error.retry_after, error.headers["Retry-After"]) == ("rate_limited", 45, "45")
    assert admit("u2", "1.1", clock, limit=3).requests == 1  # per user


def test_a_new_minute_starts_from_zero(aws_tables, clock):
    clock.now = T0 + 59.5
    admit("u1", None, clock, limit=1)
    assert refused("u1", None, clock, limit=1).retry_after == 1
    clock.now = T0 + 60
    assert admit("u1", None, clock, limit=1).requests == 1


def test_a_refused_request_is_not_counted(aws_tables, clock):
    admit("u1", None, clock, limit=2)
    admit("u1", None, clock, limit=2)
    for _ in range(3):
        refused("u1", None, clock, limit=2)
    assert item(aws_tables, "u1")[f"r{int(T0 // 60)}"] == {"N": "2"}


def test_a_request_without_a_socket_counts_but_takes_no_lease(aws_tables, clock):
    admission = admit("u1", None, clock)
    assert (admission.requests, admission.connections) == (1, None)
    assert live_sockets(aws_tables, "u1", clock) == set()


# ---------------------------------------------------------------------------------- connection cap


def test_sockets_beyond_the_cap_are_refused_and_leased_sockets_keep_working(aws_tables, clock):
    assert admit("u1", "1.1", clock, cap=2).connections == 1
    assert admit("u1", "1.2", clock, cap=2).connections == 2
    clock.now = T0 + 100
    error = refused("u1", "1.3", clock, cap=2)
    assert (error.code, error.retry_after) == ("too_many_connections", LEASE - 100)
    assert "2 connections" in error.message
    assert admit("u1", "1.1", clock, cap=2).connections == 2  # a leased socket renews
    assert admit("u1", "1.2", clock, cap=2).connections == 2
    assert live_sockets(aws_tables, "u1", clock) == {"1.1", "1.2"}  # the refused one was never written


def test_the_cap_is_per_user(aws_tables, clock):
    admit("u1", "1.1", clock, cap=1)
    assert admit("u2", "1.2", clock, cap=1).connections == 1


def test_a_connection_refusal_is_not_counted_as_a_request(aws_tables, clock):
    admit("u1", "1.1", clock, cap=1, limit=5)
    refused("u1", "1.2", clock, cap=1, limit=5)
    assert admit("u1", "1.1", clock, cap=1, limit=5).requests == 2


def test_a_lease_outlives_the_bucket_boundary_so_the_cap_slides(aws_tables, clock):
    clock.now = T0 + LEASE - 1  # the last second of a bucket
    admit("u1", "1.1", clock, cap=2)
    admit("u1", "1.2", clock, cap=2)
    clock.now = T0 + LEASE + 1  # the next bucket: both leases are still live
    assert refused("u1", "1.3", clock, cap=2).code == "too_many_connections"
    assert live_sockets(aws_tables, "u1", clock) == {"1.1", "1.2"}


def test_leases_lapse_after_a_whole_bucket_without_an_auth(aws_tables, clock):
    clock.now = T0 + 10
    admit("u1", "1.1", clock, cap=2)
    admit("u1", "1.2", clock, cap=2)
    clock.now = T0 + LEASE + 10  # 1.1 renews, 1.2 stays silent
    admit("u1", "1.1", clock, cap=2)
    assert refused("u1", "1.3", clock, cap=2).retry_after == LEASE - 10
    clock.now = T0 + 2 * LEASE  # 1.2's lease has lapsed, 1.1's has not
    assert live_sockets(aws_tables, "u1", clock) == {"1.1"}
    assert admit("u1", "1.3", clock, cap=2).connections == 2
    assert refused("u1", "1.4", clock, cap=2).code == "too_many_connections"
    clock.now = T0 + 4 * LEASE  # everything lapsed
    assert admit("u1", "1.4", clock, cap=2).connections == 1


def test_the_item_keeps_only_what_still_matters_and_expires_after_the_next_bucket(aws_tables, clock):
    for step in range(0, 3 * LEASE, 50):  # a request every 50 s for three buckets
        clock.now = T0 + step
        admit("u1", f"1.{step}", clock)
    names = set(item(aws_tables, "u1")) - {"pk", "expires_at"}
    bucket, window = int(clock() // LEASE), int(clock() // 60)
    assert names == {f"r{window}", f"s{bucket}", f"s{bucket + 1}"}
    assert item(aws_tables, "u1")["expires_at"] == {"N": str(int((bucket + 2) * LEASE))}


def test_a_request_late_in_the_items_life_clears_every_older_name(aws_tables, clock):
    admit("u1", "1.1", clock, cap=1, limit=1)
    clock.now = T0 + 2 * LEASE - 1  # the last second before the item expires
    assert admit("u1", "1.1", clock, cap=1, limit=1).connections == 1
    assert set(item(aws_tables, "u1")) - {"pk", "expires_at"} == {
        f"r{int(clock() // 60)}",
        f"s{int(clock() // LEASE)}",
        f"s{int(clock() // LEASE) + 1}",
    }


# --------------------------------------------------------------------------------- one call, errors


def test_admit_is_exactly_one_update_item_whatever_the_outcome(calls, clock):
    admit("u1", "1.1", clock, cap=1, limit=2)
    refused("u1", "1.2", clock, cap=1, limit=2)  # connection cap
    admit("u1", None, clock, cap=1, limit=2)
    refused("u1", "1.1", clock, cap=1, limit=2)  # request limit
    assert calls == ["UpdateItem"] * 4


def test_store_failures_are_upstream_unavailable(aws_tables, clock):
    aws_tables.delete_table(TableName="RateLimitTable")
    with pytest.raises(UpstreamUnavailable) as caught:
        admit("u1", "1.1", clock)
    assert (caught.value.code, caught.value.http_status) == ("store_unavailable", 503)


# ------------------------------------------------------------------------------------- via endpoints


@pytest.fixture
def limits(monkeypatch):
    def apply(requests: int = 1000, connections: int = 100) -> None:
        monkeypatch.setenv("AUTH_RATE_LIMIT_PER_MINUTE", str(requests))
        monkeypatch.setenv("MAX_CONNECTIONS_PER_USER", str(connections))
        monkeypatch.setenv("CONNECTION_LEASE_SECONDS", str(LEASE))
        reset_caches()

    return apply


def bearer() -> str:
    return mint_dev_token("555", name="Arnold", class_ids=["101"])


def channel_auth(token: str, socket: str = "1.1", **fields: str) -> tuple[int, dict[str, str], Any]:
    body = urlencode({"socket_id": socket, **(fields or {"channel_name": "private-user-555"})})
    headers = {"content-type": "application/x-www-form-urlencoded", "authorization": f"Bearer {token}"}
    return invoke(http_event("POST", "/pusher/auth", body=body, headers=headers))


def user_auth(token: str, socket: str) -> tuple[int, dict[str, str], Any]:
    headers = {"content-type": "application/x-www-form-urlencoded", "authorization": f"Bearer {token}"}
    return invoke(http_event("POST", "/pusher/user-auth", body=f"socket_id={socket}", headers=headers))


def batch(n: int) -> dict[str, str]:
    names = ["private-user-555", "private-class-101", "presence-classroom-101", "private-user-9"]
    return {
        f"channel_name[{i}]": names[i % len(names)] + ("" if i < len(names) else f"x{i}") for i in range(n)
    }


def test_the_endpoint_answers_429_with_retry_after_past_the_limit(aws_tables, clock, limits):
    limits(requests=3)
    clock.now = T0 + 20
    token = bearer()
    assert [channel_auth(token)[0] for _ in range(3)] == [200, 200, 200]
    status, headers, body = channel_auth(token)
    assert (status, body["code"], headers["retry-after"], body["retry_after"]) == (
        429,
        "rate_limited",
        "40",
        40,
    )
    clock.now = T0 + 60
    assert channel_auth(token)[0] == 200


def test_a_batch_counts_once_toward_the_limit(aws_tables, clock, limits):
    limits(requests=2)
    token = bearer()
    for _ in range(2):
        status, _, body = channel_auth(token, **batch(4))
        assert status == 200
        assert [entry["status"] for entry in body.values()] == [200, 200, 200, 403]
    assert channel_auth(token, **batch(4))[0] == 429


def test_refused_channels_count_toward_the_limit_but_malformed_requests_do_not(aws_tables, clock, limits):
    limits(requests=2)
    token = bearer()
    assert channel_auth(token, channel_name="private-user-9")[0] == 403
    for _ in range(5):
        assert channel_auth(token, channel_name="dashboard-updates")[0] == 400
        assert channel_auth(token, socket="1.1:x")[0] == 400
    assert channel_auth(token)[0] == 200
    assert channel_auth(token)[0] == 429


def test_sign_in_and_channel_auth_share_the_limit(aws_tables, clock, limits):
    limits(requests=2)
    token = bearer()
    assert user_auth(token, "1.1")[0] == 200
    assert channel_auth(token)[0] == 200
    status, _, body = user_auth(token, "1.1")
    assert (status, body["code"]) == (429, "rate_limited")


def test_the_endpoint_refuses_a_socket_beyond_the_connection_cap_until_a_lease_lapses(
    aws_tables, clock, limits
):
    limits(connections=2)
    token = bearer()
    assert channel_auth(token, "1.1")[0] == 200
    assert user_auth(token, "1.2")[0] == 200  # sign-in takes a lease too
    status, headers, body = channel_auth(token, "1.3")
    assert (status, body["code"], headers["retry-after"]) == (429, "too_many_connections", str(LEASE))
    assert channel_auth(token, "1.1", channel_name="presence-classroom-101")[0] == 200
    clock.now = T0 + 2 * LEASE  # 1.2 has not authorized for a whole bucket: its lease lapsed
    assert channel_auth(token, "1.3")[0] == 200


def test_a_socket_that_is_refused_every_channel_takes_no_lease(aws_tables, clock, limits):
    limits(connections=1)
    token = bearer()
    assert channel_auth(token, "1.1", channel_name="private-user-9")[0] == 403
    assert channel_auth(token, "1.2")[0] == 200


@pytest.mark.parametrize(
    ("request_kind", "expected"),
    [
        # One transaction: the limits update + the revocation checks (+ the signed user_info for
        # presence, the sign-in facts for a sign-in).
        ("single", ["TransactWriteItems"]),
        ("presence", ["TransactWriteItems"]),
        ("refused", ["TransactWriteItems"]),
        ("batch of 4", ["TransactWriteItems"]),
        ("batch of 50", ["TransactWriteItems"]),
        ("sign-in", ["TransactWriteItems"]),
        ("no token", []),
        ("bad socket id", []),
        ("public channel", []),
    ],
)
def test_each_request_makes_at_most_one_dynamodb_call(calls, clock, limits, request_kind, expected):
    limits()
    token = bearer()
    send = {
        "single": lambda: channel_auth(token),
        "presence": lambda: channel_auth(token, channel_name="presence-classroom-101"),
        "refused": lambda: channel_auth(token, channel_name="private-user-9"),
        "batch of 4": lambda: channel_auth(token, **batch(4)),
        "batch of 50": lambda: channel_auth(token, **batch(50)),
        "sign-in": lambda: user_auth(token, "1.1"),
        "no token": lambda: channel_auth(""),
        "bad socket id": lambda: channel_auth(token, socket="1.1:private-user-9"),
        "public channel": lambda: channel_auth(token, channel_name="agent-status"),
    }[request_kind]
    status, _, _ = send()
    assert status < 500
    assert calls == expected


def test_a_presence_grant_keeps_the_signed_user_info_for_the_members_api(aws_tables, clock, limits):
    limits()
    assert channel_auth(bearer(), channel_name="presence-classroom-101")[0] == 200
    item = aws_tables.get_item(
        TableName="PresenceTable",
        Key={"pk": {"S": "channel#presence-classroom-101"}, "sk": {"S": "info#555"}},
    ).get("Item")
    assert item is not None
    assert json.loads(item["user_info"]["S"])["role"] == "student"


def test_a_refused_presence_auth_writes_no_user_info(aws_tables, clock, limits):
    limits(requests=1)
    token = bearer()
    assert channel_auth(token)[0] == 200
    assert channel_auth(token, channel_name="presence-classroom-101")[0] == 429
    items = aws_tables.scan(TableName="PresenceTable")["Items"]
    assert [i for i in items if i["sk"]["S"].startswith("info#")] == []
