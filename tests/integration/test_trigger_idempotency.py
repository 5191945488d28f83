"""idempotency.run_once (the Idempotency-Key of the trigger endpoints) on IdempotencyTable under moto."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import BaseModel

from tests.conftest import lambda_context, reset_caches
from toolboxai_realtime import idempotency
from toolboxai_realtime.errors import BadRequest, Conflict, RateLimited, UpstreamUnavailable, ValidationFailed


class Result(BaseModel):
    n: int


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    reset_caches()
    yield
    reset_caches()


class Counter:
    def __init__(self) -> None:
        self.runs = 0

    def __call__(self) -> Result:
        self.runs += 1
        return Result(n=self.runs)


def once(action, *, key: str = "k", owner: str = "ops", payload: dict | None = None, scope: str = "test"):
    return idempotency.run_once(
        scope=scope,
        key=key,
        owner=owner,
        payload=payload or {"a": 1},
        action=action,
        model=Result,
        lambda_context=lambda_context(),
    )


def test_first_call_runs_and_repeats_replay_the_stored_result(aws_tables):
    action = Counter()
    first = once(action)
    second = once(action)
    assert (first.result, first.replayed) == (Result(n=1), False)
    assert (second.result, second.replayed) == (Result(n=1), True)
    assert action.runs == 1


def test_keys_are_separate_per_owner_and_scope(aws_tables):
    action = Counter()
    once(action)
    once(action, owner="someone-else")
    once(action, scope="other")
    assert action.runs == 3


def test_payload_order_does_not_matter_but_content_does(aws_tables):
    action = Counter()
    once(action, payload={"a": 1, "b": 2})
    assert once(action, payload={"b": 2, "a": 1}).replayed
    with pytest.raises(ValidationFailed) as info:
        once(action, payload={"a": 1, "b": 3})
    assert info.value.code == "idempotency_key_reused"
    assert info.value.status == 422


def test_a_failed_action_stores_nothing(aws_tables):
    def fail() -> Result:
        raise RateLimited("busy", retry_after=3)

    with pytest.raises(RateLimited):
        once(fail)
    action = Counter()
    assert once(action).replayed is False
    assert action.runs == 1


def test_a_repeat_while_the_first_runs_is_409_with_retry_after(aws_tables):
    def outer() -> Result:
        once(Counter())  # the same key, while this first attempt is still in progress
        return Result(n=0)

    with pytest.raises(Conflict) as info:
        once(outer)
    assert info.value.code == "idempotency_key_in_progress"
    assert info.value.status == 409
    assert info.value.headers["Retry-After"] == "1"


@pytest.mark.parametrize("key", ["", "a b", "x" * 256, "clé", "tab\tkey"])
def test_malformed_keys_are_refused(aws_tables, key):
    with pytest.raises(BadRequest) as info:
        once(Counter(), key=key)
    assert info.value.code == "invalid_idempotency_key"


def test_store_failure_is_503_and_the_action_does_not_run(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9")
    reset_caches()
    action = Counter()
    with pytest.raises(UpstreamUnavailable) as info:
        once(action)
    assert info.value.code == "idempotency_store_unavailable"
    assert action.runs == 0
