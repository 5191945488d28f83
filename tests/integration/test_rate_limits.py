"""The fixed-window counter: exact under concurrency, one DynamoDB call per check."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from toolboxai_realtime.errors import RateLimited
from toolboxai_realtime.stores import rate_limits


def test_limit_is_enforced_and_retry_after_points_to_the_next_window(aws_tables):
    clock = lambda: 1_000_040.0  # noqa: E731 - 20 s into a minute window (1_000_020 is a boundary)
    for i in range(3):
        assert rate_limits.hit("k", limit=3, clock=clock).used == i + 1
    with pytest.raises(RateLimited) as info:
        rate_limits.hit("k", limit=3, clock=clock)
    assert info.value.retry_after == 40
    assert info.value.headers["Retry-After"] == "40"


def test_a_new_window_starts_from_zero(aws_tables):
    rate_limits.hit("k", limit=1, clock=lambda: 60.0)
    with pytest.raises(RateLimited):
        rate_limits.hit("k", limit=1, clock=lambda: 119.0)
    assert rate_limits.hit("k", limit=1, clock=lambda: 120.0).used == 1


def test_cost_counts_several_units_at_once(aws_tables):
    assert rate_limits.hit("k", limit=10, cost=7, clock=lambda: 0.0).used == 7
    with pytest.raises(RateLimited):
        rate_limits.hit("k", limit=10, cost=4, clock=lambda: 0.0)
    assert rate_limits.hit("k", limit=10, cost=3, clock=lambda: 0.0).used == 10


def test_exactly_the_limit_is_accepted_when_50_clients_race(served_tables):
    # Against the moto server of the local stack: moto's in-process mock does not serialise
    # conditional writes from parallel threads, DynamoDB (and this server) does.
    def attempt(_: int) -> bool:
        try:
            rate_limits.hit("race-50", limit=20, clock=lambda: 0.0)
        except RateLimited:
            return False
        return True

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(attempt, range(50)))
    assert results.count(True) == 20
