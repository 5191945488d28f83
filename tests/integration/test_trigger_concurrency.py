"""The per-channel limit holds exactly when many publishers race.

Against the moto server the local stack runs (``served_tables``): like DynamoDB, it applies conditional
writes and transactions one at a time, which moto's in-process mock does not do for parallel threads.
Pusher is mocked; every accepted publish must reach it exactly once, every refused one never.

Each ``Publisher`` is one instance with its own leased allowance (``toolboxai_realtime.allowance``):
RateLimitTable counts what was *leased*, so where a publisher may still hold unspent allowance the
tests compare the counter with what was spent plus what is held (``pub.allowance.left``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import boto3
import pytest

from toolboxai_realtime import aws, publisher
from toolboxai_realtime.errors import RateLimited
from toolboxai_realtime.publisher import Publisher
from toolboxai_realtime.stores import trigger_limits

GRADE = {"type": "grade", "title": "New Grade Posted", "message": "Your math quiz has been graded"}
NOW = 1_000_000.0  # every racer in the same window, wherever the wall clock is


@pytest.fixture
def frozen_window(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trigger_limits, "consume", partial(trigger_limits.consume, clock=lambda: NOW))


def race(n: int, attempt: Callable[[int], object], workers: int = 25) -> list[bool]:
    def run(i: int) -> bool:
        try:
            attempt(i)
        except RateLimited:
            return False
        return True

    # Warm the shared client first: botocore builds it lazily and that is not thread-safe.
    aws.dynamodb()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(run, range(n)))


START = int(NOW // 60) * 60


def classroom() -> tuple[str, dict[str, str]]:
    """A fresh presence-classroom channel (no history) and an activity_update a server may send on it."""
    class_id = uuid.uuid4().hex[:12]
    activity = {
        "class_id": class_id,
        "user_id": "u1",
        "status": "active",
        "timestamp": "2024-01-01T12:00:00Z",
    }
    return f"presence-classroom-{class_id}", activity


def used(endpoint: str, channel: str) -> int:
    """What all publishers together leased on ``channel`` in the window (RateLimitTable's counter)."""
    client = boto3.client("dynamodb", endpoint_url=endpoint)
    start = START
    item = client.get_item(TableName="RateLimitTable", Key={"pk": {"S": f"trigger#{channel}#{start}"}})
    return int(item.get("Item", {}).get("used", {}).get("N", 0))


def test_exactly_the_limit_is_published_when_50_publishers_race_on_one_channel(
    served_tables, frozen_window, pusher
):
    channel = f"private-user-{uuid.uuid4().hex[:12]}"
    pub = Publisher(limit_per_minute=20)
    results = race(50, lambda _: pub.trigger(channel, "grade_posted", GRADE))
    assert results.count(True) == 20
    assert len(pusher.calls) == 20
    assert used(served_tables, channel) == 20


def test_exactly_the_limit_holds_for_multi_channel_transactions(served_tables, frozen_window, pusher):
    a, b = (f"private-user-{uuid.uuid4().hex[:12]}" for _ in range(2))
    pub = Publisher(limit_per_minute=20)

    def attempt(i: int) -> None:
        # Half the racers publish on a and b together (one transaction), half on b alone (one update).
        pub.trigger([a, b] if i % 2 else [b], "grade_posted", GRADE)

    results = race(50, attempt)
    assert results.count(True) == 20  # b is in every request, so b's budget decides
    assert used(served_tables, b) == 20
    together = sum(ok for i, ok in enumerate(results) if i % 2)
    # Refused transactions charged a nothing: what was leased on a is what was spent plus what is held.
    assert used(served_tables, a) - pub.allowance.left(a, START) == together
    assert len(pusher.calls) == 20


def test_exactly_the_limit_holds_for_batches(served_tables, frozen_window, pusher):
    channel = f"private-user-{uuid.uuid4().hex[:12]}"
    other = f"private-user-{uuid.uuid4().hex[:12]}"
    pub = Publisher(limit_per_minute=30)
    batch = [
        {"channel": channel, "event": "grade_posted", "data": GRADE},
        {"channel": channel, "event": "grade_posted", "data": GRADE},
        {"channel": other, "event": "grade_posted", "data": GRADE},
    ]
    results = race(40, lambda _: pub.trigger_batch(batch))
    assert results.count(True) == 15  # 2 events per batch on `channel`: 30 / 2
    assert used(served_tables, channel) == 30
    assert used(served_tables, other) - pub.allowance.left(other, START) == 15
    assert len(pusher.calls) == 15


def test_the_default_publisher_uses_the_configured_limit(served_tables, frozen_window, pusher, monkeypatch):
    from tests.conftest import reset_caches

    monkeypatch.setenv("TRIGGER_RATE_LIMIT_PER_MINUTE", "7")
    reset_caches()
    channel = f"private-user-{uuid.uuid4().hex[:12]}"
    results = race(30, lambda _: publisher.notify_user(channel.removeprefix("private-user-"), GRADE))
    reset_caches()
    assert results.count(True) == 7


def test_exactly_1000_of_1020_publishes_from_20_threads_are_accepted(served_tables, frozen_window, pusher):
    from tests.conftest import client_events

    channel, activity = classroom()  # a family without history: the limit is the only DynamoDB write
    pub = Publisher(limit_per_minute=1000)
    calls: list[str] = []
    client_events().register("before-call.dynamodb", lambda **kw: calls.append(kw["model"].name))
    results = race(1020, lambda _: pub.trigger(channel, "activity_update", activity), workers=20)
    assert results.count(True) == 1000
    assert len(pusher.calls) == 1000
    assert used(served_tables, channel) == 1000
    assert pub.allowance.left(channel, START) == 0
    # Leased in blocks, not one round trip per publish (before: 1,020 UpdateItem calls).
    assert set(calls) == {"UpdateItem", "GetItem"}  # GetItem: used(), above
    assert len(calls) < 1020 // 10


def test_several_instances_racing_never_accept_more_than_the_limit(served_tables, frozen_window, pusher):
    channel, activity = classroom()
    instances = [Publisher(limit_per_minute=400) for _ in range(4)]
    results = race(600, lambda i: instances[i % 4].trigger(channel, "activity_update", activity), workers=20)
    held = sum(pub.allowance.left(channel, START) for pub in instances)
    assert used(served_tables, channel) == 400  # never more was leased than the limit
    assert results.count(True) == 400 - held  # accepted: all that was leased, less what is still held
    assert len(pusher.calls) == results.count(True)
    assert held <= 4 * (400 // 8)  # lost to the instances: at most one block each


def test_a_history_channel_keeps_exactly_the_accepted_events_under_a_race(
    served_tables, frozen_window, pusher
):
    pub = Publisher(limit_per_minute=50)
    message = {"type": "info", "message": "Class starts now", "timestamp": "2024-01-01T12:00:00Z"}
    results = race(60, lambda _: pub.trigger("dashboard-updates", "notification", message), workers=10)
    assert results.count(True) == 50
    assert len(pusher.calls) == 50
    client = boto3.client("dynamodb", endpoint_url=served_tables)
    kept = client.query(
        TableName="HistoryTable",
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "dashboard-updates"}},
        ConsistentRead=True,
    )["Items"]
    sent = {json.loads(json.loads(call.request.body)["data"])["event_id"] for call in pusher.calls}
    assert {item["sk"]["S"] for item in kept} >= sent  # every event any socket got is in history
