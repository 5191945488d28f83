"""Outbound calls fit the invocation's deadline (issue 11, item 2): plans, clients, the before-send hook."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from toolboxai_realtime import aws, deadlines, pusher_gateway


@dataclass
class Context:
    remaining_ms: int

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def test_every_plan_is_sorted_and_the_route_budgets_have_one_that_fits():
    worst = [p.worst_case_seconds for p in deadlines.PLANS]
    assert worst == sorted(worst, reverse=True)
    for budget in (deadlines.API_BUDGET_SECONDS, deadlines.WEBHOOK_BUDGET_SECONDS):
        with deadlines.invocation(Context(10_000), budget):
            chosen = deadlines.plan()
            assert chosen is not None
            assert chosen.worst_case_seconds <= budget


def test_the_old_configuration_did_not_fit_the_function_timeout():
    # 3 s read timeout x 3 attempts (+ connect + backoff): the 12.1 s stall of the issue, past 10 s.
    old = deadlines.AttemptPlan(attempts=3, connect=2.0, read=3.0)
    assert old.worst_case_seconds > 10


def test_the_deadline_is_the_earlier_of_budget_and_remaining_time_less_the_reserve():
    with deadlines.invocation(Context(2_000), deadlines.API_BUDGET_SECONDS) as allowed:
        assert allowed == pytest.approx(2.0 - deadlines.RESERVE_SECONDS)
        chosen = deadlines.plan()
        assert chosen is not None
        assert chosen.worst_case_seconds <= 1.5
    with deadlines.invocation(Context(300_000), deadlines.API_BUDGET_SECONDS) as allowed:
        assert allowed == deadlines.API_BUDGET_SECONDS
    assert deadlines.remaining() is None  # closed again


def test_no_plan_and_no_call_when_the_time_is_spent():
    with deadlines.invocation(Context(600), deadlines.API_BUDGET_SECONDS):
        assert deadlines.plan() is None
        with pytest.raises(aws.DeadlineExceeded):
            aws.dynamodb()


def test_the_client_inside_a_webhook_budget_has_the_webhook_plan():
    with deadlines.invocation(Context(10_000), deadlines.WEBHOOK_BUDGET_SECONDS):
        config = aws.dynamodb().meta.config
    assert (config.connect_timeout, config.read_timeout) == (0.25, 2.5)
    assert config.retries["total_max_attempts"] == 1


def test_every_invocation_of_a_container_reuses_the_client_of_its_plan():
    aws.clear_clients()
    clients = []
    for _ in range(3):  # three API invocations of one warm container
        with deadlines.invocation(Context(10_000), deadlines.API_BUDGET_SECONDS):
            clients += [aws.dynamodb(), aws.dynamodb()]
    assert all(client is clients[0] for client in clients)


def test_botocore_does_not_validate_the_requests_our_stores_build():
    """Our stores build every request themselves (issue 15): a request botocore would refuse on the
    client side (required members missing) goes out, and DynamoDB answers a malformed one with a
    ValidationException."""
    sent: list[object] = []

    def record(request: object, **_: object) -> None:
        sent.append(request)

    events = aws.client_events()
    events.register("before-send.dynamodb", record)
    try:
        client = aws.dynamodb()
        with deadlines.invocation(Context(10_000), 0.0), pytest.raises(aws.DeadlineExceeded):
            client.transact_write_items(TransactItems=[{"Update": {"TableName": "t"}}])  # type: ignore[typeddict-item]
    finally:
        events.unregister("before-send.dynamodb", record)
        aws.clear_clients()
    assert len(sent) == 1  # stopped after it was built, by the spent deadline


def test_no_attempt_starts_after_the_deadline(monkeypatch):
    with deadlines.invocation(Context(10_000), 0.0), pytest.raises(aws.DeadlineExceeded):
        aws.refuse_when_spent(request=None)
    aws.refuse_when_spent(request=None)  # outside a deadline: allowed


def test_pusher_timeout_is_the_time_left_capped_by_the_setting():
    assert deadlines.call_timeout(3.0) == 3.0
    with deadlines.invocation(Context(10_000), 1.3):
        assert deadlines.call_timeout(3.0) == 1.25
        assert pusher_gateway.client()._pusher_client.timeout == 1.25
    with deadlines.invocation(Context(10_000), 0.0):
        assert deadlines.call_timeout(3.0) == 0.1


def test_bounded_wraps_a_handler_in_an_invocation():
    seen: list[float | None] = []

    @deadlines.bounded(deadlines.WEBHOOK_BUDGET_SECONDS)
    def handler(event: object, context: object) -> None:
        seen.append(deadlines.remaining())

    handler({}, Context(60_000))
    assert seen[0] is not None
    assert 0 < seen[0] <= deadlines.WEBHOOK_BUDGET_SECONDS


def test_a_jwks_fetch_gets_the_time_left(monkeypatch):
    import jwt

    from toolboxai_realtime import identity
    from toolboxai_realtime.errors import UpstreamUnavailable

    class Unreachable:
        timeout: float | None = None

        def get_signing_keys(self) -> None:
            raise jwt.PyJWKClientConnectionError("unreachable")

    client = Unreachable()
    monkeypatch.setattr(identity, "_jwks_client", lambda url: client)
    with deadlines.invocation(Context(10_000), 1.3), pytest.raises(UpstreamUnavailable):
        identity._jwks_key({"kid": "k1"}, "RS256", "https://keys.example/jwks.json")
    assert client.timeout == 1.25
