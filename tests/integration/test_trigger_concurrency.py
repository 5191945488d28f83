"""The per-channel limit holds exactly when many publishers race.

Against the moto server the local stack runs (``served_tables``): like DynamoDB, it applies conditional
writes and transactions one at a time, which moto's in-process mock does not do for parallel threads.
Pusher is mocked; every accepted publish must reach it exactly once, every refused one never.
"""

from __future__ import annotations

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


def race(n: int, attempt: Callable[[int], object]) -> list[bool]:
    def run(i: int) -> bool:
        try:
            attempt(i)
        except RateLimited:
            return False
        return True

    # Warm the shared client first: botocore builds it lazily and that is not thread-safe.
    aws.dynamodb()
    with ThreadPoolExecutor(max_workers=25) as pool:
        return list(pool.map(run, range(n)))


def used(endpoint: str, channel: str) -> int:
    client = boto3.client("dynamodb", endpoint_url=endpoint)
    start = int(NOW // 60) * 60
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
    assert used(served_tables, a) == together  # refused transactions charged a nothing
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
    assert used(served_tables, other) == 15
    assert len(pusher.calls) == 15


def test_the_default_publisher_uses_the_configured_limit(served_tables, frozen_window, pusher, monkeypatch):
    from tests.conftest import reset_caches

    monkeypatch.setenv("TRIGGER_RATE_LIMIT_PER_MINUTE", "7")
    reset_caches()
    channel = f"private-user-{uuid.uuid4().hex[:12]}"
    results = race(30, lambda _: publisher.notify_user(channel.removeprefix("private-user-"), GRADE))
    reset_caches()
    assert results.count(True) == 7
