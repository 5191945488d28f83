"""The presence store's transaction handling, against a scripted fake DynamoDB client (no AWS)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from toolboxai_realtime.errors import UpstreamUnavailable
from toolboxai_realtime.stores import presence
from toolboxai_realtime.stores.presence import MemberChange, OccupancyChange, SubscriptionCountChange

CH = "presence-classroom-1"


def cancelled(*codes: str) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
            "CancellationReasons": [{"Code": code} for code in codes],
        },
        "TransactWriteItems",
    )


class FakeDynamoDB:
    """Answers each transact_write_items with the next scripted outcome (None: success)."""

    def __init__(self, *outcomes: Exception | None) -> None:
        self.outcomes = list(outcomes)
        self.requests: list[list[dict[str, Any]]] = []

    def transact_write_items(self, TransactItems: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        self.requests.append(TransactItems)
        outcome = self.outcomes.pop(0)
        if outcome is not None:
            raise outcome
        return {}


@pytest.fixture
def sleeps() -> list[float]:
    return []


def run(fake: FakeDynamoDB, changes: list, sleeps: list[float], monkeypatch) -> presence.ApplyResult:
    monkeypatch.setattr(presence, "dynamodb", lambda: fake)
    return presence.apply(changes, sleep=sleeps.append)


def users(request: list[dict[str, Any]]) -> list[str]:
    return [item["Update"]["Key"]["sk"]["S"] for item in request]


def test_stale_items_are_dropped_and_the_rest_written_again(monkeypatch, sleeps):
    changes = [MemberChange(CH, u, True, 100) for u in ("a", "b", "c")]
    fake = FakeDynamoDB(cancelled("None", "ConditionalCheckFailed", "None"), None)
    result = run(fake, changes, sleeps, monkeypatch)
    assert [c.user_id for c in result.applied] == ["a", "c"]
    assert [c.user_id for c in result.stale] == ["b"]
    assert result.calls == 2
    assert users(fake.requests[1]) == ["member#a", "member#c"]
    assert sleeps == []  # stale is final: no back-off


def test_all_stale_is_one_call_and_nothing_applied(monkeypatch, sleeps):
    fake = FakeDynamoDB(cancelled("ConditionalCheckFailed", "ConditionalCheckFailed"))
    result = run(fake, [MemberChange(CH, "a", True, 1), OccupancyChange(CH, True, 1)], sleeps, monkeypatch)
    assert (result.applied, len(result.stale), result.calls) == ((), 2, 1)


def test_a_transaction_conflict_is_retried_after_a_back_off(monkeypatch, sleeps):
    fake = FakeDynamoDB(cancelled("TransactionConflict", "None"), None)
    result = run(fake, [MemberChange(CH, "a", True, 1), MemberChange(CH, "b", True, 1)], sleeps, monkeypatch)
    assert (len(result.applied), result.stale, result.calls) == (2, (), 2)
    # The stores' one conflict policy (stores._dynamodb.ConflictRetries): 0.02 s, jittered to 0.01-0.02.
    assert len(sleeps) == 1
    assert 0.01 <= sleeps[0] <= 0.02


def test_conflicts_that_do_not_end_are_a_503(monkeypatch, sleeps):
    fake = FakeDynamoDB(*[cancelled("TransactionConflict")] * 4)
    with pytest.raises(UpstreamUnavailable) as err:
        run(fake, [MemberChange(CH, "a", True, 1)], sleeps, monkeypatch)
    assert err.value.code == "store_unavailable"
    assert len(fake.requests) == 4  # the first try and three retries
    # Exponential back-off, each pause jittered to between half and all of 0.02 * 2**n s.
    assert [0.01 * 2**n <= pause <= 0.02 * 2**n for n, pause in enumerate(sleeps)] == [True] * 3


@pytest.mark.parametrize(
    "failure",
    [
        ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "x"}}, "TransactWriteItems"),
        EndpointConnectionError(endpoint_url="http://127.0.0.1:9"),
        ClientError(
            {"Error": {"Code": "TransactionCanceledException", "Message": "x"}}, "TransactWriteItems"
        ),
    ],
)
def test_other_failures_are_a_503(monkeypatch, sleeps, failure):
    with pytest.raises(UpstreamUnavailable):
        run(FakeDynamoDB(failure), [MemberChange(CH, "a", True, 1)], sleeps, monkeypatch)


def test_nothing_to_write_makes_no_call(monkeypatch, sleeps):
    fake = FakeDynamoDB()
    assert run(fake, [], sleeps, monkeypatch) == presence.ApplyResult((), (), 0)
    assert fake.requests == []


def test_writes_are_conditional_on_being_newer_and_removals_win_ties():
    join = presence._update(MemberChange(CH, "a", True, 5), "T")["Update"]
    leave = presence._update(MemberChange(CH, "a", False, 5), "T")["Update"]
    assert join["ConditionExpression"] == "attribute_not_exists(#t) OR #t < :t"
    assert leave["ConditionExpression"] == "attribute_not_exists(#t) OR #t < :t OR (#t = :t AND #state = :on)"
    assert leave["ExpressionAttributeValues"][":on"] == {"S": "present"}
    # A present member is in the sparse index and never expires; a tombstone leaves it and expires.
    assert "#gpk = :gpk" in join["UpdateExpression"]
    assert "REMOVE #exp" in join["UpdateExpression"]
    assert "REMOVE #joined, #gpk, #gsk" in leave["UpdateExpression"]
    assert leave["ExpressionAttributeValues"][":exp"] == {"N": str(presence.TOMBSTONE_TTL_SECONDS)}


def test_index_keys_start_with_the_channel_so_that_prefixes_filter():
    update = presence._update(SubscriptionCountChange(CH, 3, 5), "T")["Update"]
    assert update["ExpressionAttributeValues"][":gsk"] == {"S": f"{CH}#subscriptions"}
    assert update["ExpressionAttributeValues"][":gpk"]["S"].startswith("active#")
    zero = presence._update(SubscriptionCountChange(CH, 0, 5), "T")["Update"]
    assert ":gsk" not in zero["ExpressionAttributeValues"]
