"""The per-channel publish counters (stores.trigger_limits) under moto: all channels or none, one call."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from tests.conftest import client_events
from toolboxai_realtime.errors import RateLimited, UpstreamUnavailable
from toolboxai_realtime.stores import trigger_limits

AT = 1_000_040.0  # 20 s into a minute window (1_000_020 is a boundary)


def clock() -> float:
    return AT


def used(client: Any, channel: str) -> int:
    item = client.get_item(TableName="RateLimitTable", Key={"pk": {"S": f"trigger#{channel}#1000020"}})
    return int(item.get("Item", {}).get("used", {}).get("N", 0))


def test_one_channel_is_one_update_item(aws_tables):
    calls: list[str] = []
    client_events().register("before-call.dynamodb", lambda **kw: calls.append(kw["model"].name))
    trigger_limits.consume({"a": 3}, limit=10, clock=clock)
    assert calls == ["UpdateItem"]
    assert used(aws_tables, "a") == 3


def test_several_channels_are_one_transaction(aws_tables):
    calls: list[str] = []
    client_events().register("before-call.dynamodb", lambda **kw: calls.append(kw["model"].name))
    trigger_limits.consume({f"c{i}": 1 for i in range(100)}, limit=10, clock=clock)
    assert calls == ["TransactWriteItems"]
    assert used(aws_tables, "c99") == 1


def test_refusal_names_the_full_channels_and_charges_none(aws_tables):
    trigger_limits.consume({"full": 2}, limit=2, clock=clock)
    with pytest.raises(RateLimited) as info:
        trigger_limits.consume({"free": 1, "full": 1}, limit=2, clock=clock)
    assert info.value.code == "channel_rate_limited"
    assert info.value.retry_after == 40
    assert info.value.headers["Retry-After"] == "40"
    assert info.value.details["channels"] == ["full"]
    assert "full" in info.value.message
    assert "free" not in info.value.message
    assert used(aws_tables, "free") == 0
    assert used(aws_tables, "full") == 2


def test_single_channel_refusal_is_the_same_error(aws_tables):
    trigger_limits.consume({"x": 1}, limit=1, clock=clock)
    with pytest.raises(RateLimited) as info:
        trigger_limits.consume({"x": 1}, limit=1, clock=clock)
    assert info.value.code == "channel_rate_limited"
    assert info.value.details == {"channels": ["x"], "limit": 1, "window_seconds": 60}


def test_the_next_window_starts_from_zero(aws_tables):
    trigger_limits.consume({"a": 1, "b": 1}, limit=1, clock=lambda: 60.0)
    with pytest.raises(RateLimited):
        trigger_limits.consume({"a": 1, "b": 1}, limit=1, clock=lambda: 119.0)
    trigger_limits.consume({"a": 1, "b": 1}, limit=1, clock=lambda: 120.0)


def test_limit_defaults_to_the_setting(aws_tables, monkeypatch):
    from tests.conftest import reset_caches

    monkeypatch.setenv("TRIGGER_RATE_LIMIT_PER_MINUTE", "2")
    reset_caches()
    trigger_limits.consume({"a": 2, "b": 1}, clock=clock)
    with pytest.raises(RateLimited):
        trigger_limits.consume({"a": 1, "b": 1}, clock=clock)


@pytest.mark.parametrize("costs", [{}, {"a": 0}, {f"c{i}": 1 for i in range(101)}])
def test_bad_costs_are_a_programming_error(costs):
    with pytest.raises(ValueError, match="costs"):
        trigger_limits.consume(costs, limit=5)


class _Flaky:
    """A client whose transactions fail with the given cancellation reasons, then succeed."""

    def __init__(self, *failures: list[str] | Exception) -> None:
        self.failures = list(failures)
        self.calls = 0

    def transact_write_items(self, **_: Any) -> dict[str, Any]:
        self.calls += 1
        if self.failures:
            failure = self.failures.pop(0)
            if isinstance(failure, Exception):
                raise failure
            raise ClientError(
                {
                    "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                    "CancellationReasons": [{"Code": code} for code in failure],
                },
                "TransactWriteItems",
            )
        return {}


def test_transaction_conflicts_are_retried(monkeypatch):
    flaky = _Flaky(["TransactionConflict", "None"], ["None", "TransactionConflict"])
    monkeypatch.setattr(trigger_limits, "dynamodb", lambda: flaky)
    slept: list[float] = []
    trigger_limits.consume({"a": 1, "b": 1}, limit=5, clock=clock, sleep=slept.append)
    assert flaky.calls == 3
    assert len(slept) == 2


def test_persistent_conflicts_become_503(monkeypatch):
    flaky = _Flaky(*[["TransactionConflict", "None"]] * 5)
    monkeypatch.setattr(trigger_limits, "dynamodb", lambda: flaky)
    with pytest.raises(UpstreamUnavailable) as info:
        trigger_limits.consume({"a": 1, "b": 1}, limit=5, clock=clock, sleep=lambda _: None)
    assert info.value.code == "store_unavailable"
    assert flaky.calls == 1 + trigger_limits.CONFLICT_RETRIES


@pytest.mark.parametrize(
    "failure",
    [
        ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "TransactWriteItems"),
        EndpointConnectionError(endpoint_url="http://127.0.0.1:9"),
    ],
)
def test_store_failures_become_503(monkeypatch, failure):
    monkeypatch.setattr(trigger_limits, "dynamodb", lambda: _Flaky(failure))
    with pytest.raises(UpstreamUnavailable) as info:
        trigger_limits.consume({"a": 1, "b": 1}, limit=5, clock=clock)
    assert info.value.http_status == 503
    assert info.value.headers["Retry-After"]


# ------------------------------------------------------------------ leased allowance (allowance.LeaseBook)

ACTIVITY = {"class_id": "c1", "user_id": "u1", "status": "active", "timestamp": "2024-01-01T12:00:00Z"}
MESSAGE = {"type": "info", "message": "Class starts now", "timestamp": "2024-01-01T12:00:00Z"}


@pytest.fixture
def frozen(monkeypatch):
    """Every publish in the window of ``AT``, whatever the wall clock says."""
    from functools import partial

    monkeypatch.setattr(trigger_limits, "consume", partial(trigger_limits.consume, clock=clock))


def test_a_busy_channel_goes_to_dynamodb_once_per_block_not_once_per_publish(aws_tables, pusher, frozen):
    from toolboxai_realtime.publisher import Publisher

    pub = Publisher(limit_per_minute=1000)
    calls: list[str] = []
    client_events().register("before-call.dynamodb", lambda **kw: calls.append(kw["model"].name))
    for _ in range(100):
        pub.trigger("presence-classroom-c1", "activity_update", ACTIVITY)
    assert calls == ["UpdateItem"] * 7  # leases of 1, 2, 4, ..., 64 (before: 100 calls)
    assert used(aws_tables, "presence-classroom-c1") == 127
    assert pub.allowance.left("presence-classroom-c1", 1000020) == 27
    assert len(pusher.calls) == 100


def test_a_history_channel_writes_history_before_every_publish_even_when_the_lease_is_local(
    aws_tables, frozen, monkeypatch
):
    import responses

    from tests.conftest import EVENTS_URL
    from toolboxai_realtime.publisher import Publisher

    pub = Publisher(limit_per_minute=1000)
    calls: list[str] = []
    client_events().register("before-call.dynamodb", lambda **kw: calls.append(kw["model"].name))
    in_history_at_publish: list[int] = []

    def on_publish(request: Any) -> tuple[int, dict[str, str], str]:
        kept = aws_tables.query(
            TableName="HistoryTable",
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": "dashboard-updates"}},
        )["Items"]
        in_history_at_publish.append(len(kept))
        return 200, {}, "{}"

    with responses.RequestsMock() as mock:
        mock.add_callback(responses.POST, EVENTS_URL, callback=on_publish)
        for _ in range(5):
            pub.trigger("dashboard-updates", "notification", MESSAGE)
    # Leases of 1 and 2 carry the history item in their transaction; a local lease writes it alone.
    assert calls == [
        "TransactWriteItems",
        "TransactWriteItems",
        "BatchWriteItem",
        "TransactWriteItems",
        "BatchWriteItem",
    ]
    assert in_history_at_publish == [1, 2, 3, 4, 5]  # each event was in history before Pusher got it


def test_a_failed_history_write_gives_the_allowance_back_and_publishes_nothing(
    aws_tables, pusher, frozen, monkeypatch
):
    from toolboxai_realtime.publisher import Publisher
    from toolboxai_realtime.stores import history as history_store

    pub = Publisher(limit_per_minute=1000)
    pub.trigger("dashboard-updates", "notification", MESSAGE)
    pub.trigger("dashboard-updates", "notification", MESSAGE)  # leases 2: one unit held
    assert pub.allowance.left("dashboard-updates", 1000020) == 1

    def down(_: Any) -> None:
        raise UpstreamUnavailable("The history store is unavailable.", code="store_unavailable")

    monkeypatch.setattr(history_store, "keep", down)
    with pytest.raises(UpstreamUnavailable):
        pub.trigger("dashboard-updates", "notification", MESSAGE)
    assert len(pusher.calls) == 2
    assert pub.allowance.left("dashboard-updates", 1000020) == 1


def test_a_lease_learns_what_is_left_and_leases_exactly_that(aws_tables):
    from toolboxai_realtime.allowance import Ask

    start = 1000020
    trigger_limits.consume({"a": 7}, limit=10, clock=clock)
    calls: list[str] = []
    client_events().register("before-call.dynamodb", lambda **kw: calls.append(kw["model"].name))
    leased = trigger_limits.lease({"a": Ask(need=1, block=5)}, limit=10, window_start=start)
    assert leased.granted == {"a": 3}  # 5 did not fit: the failed condition returned used=7
    assert calls == ["UpdateItem", "UpdateItem"]
    assert used(aws_tables, "a") == 10
    refused = trigger_limits.lease({"a": Ask(need=1, block=1), "b": Ask(1, 4)}, limit=10, window_start=start)
    assert refused.short == ["a"]
    assert refused.granted == {}
    assert used(aws_tables, "b") == 0  # all or none


def test_a_transaction_lease_learns_what_is_left_per_channel(aws_tables):
    from toolboxai_realtime.allowance import Ask

    start = 1000020
    trigger_limits.consume({"a": 6, "b": 9}, limit=10, clock=clock)
    leased = trigger_limits.lease({"a": Ask(1, 2), "b": Ask(1, 2)}, limit=10, window_start=start)
    assert leased.granted == {"a": 2, "b": 1}
    assert (used(aws_tables, "a"), used(aws_tables, "b")) == (8, 10)
