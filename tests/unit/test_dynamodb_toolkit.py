"""The DynamoDB toolkit every store uses (``stores._dynamodb``): error mapping, cancellation reasons, the
conflict-retry policy and attribute (de)serialisation. No AWS."""

from __future__ import annotations

from decimal import Decimal

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from toolboxai_realtime.errors import UpstreamUnavailable, http_status
from toolboxai_realtime.stores._dynamodb import (
    CONFLICT_RETRIES,
    ConflictRetries,
    Reason,
    Refusal,
    StoreUnavailable,
    attributes,
    guarded,
    may_have_landed,
    plain,
)


def client_error(code: str, **extra: object) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "x"}, **extra}, "TransactWriteItems")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("failure", "cause"),
    [
        (client_error("ResourceNotFoundException"), "ResourceNotFoundException"),
        (client_error("ProvisionedThroughputExceededException"), "ProvisionedThroughputExceededException"),
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:9"), "EndpointConnectionError"),
    ],
)
def test_every_botocore_failure_is_a_503_naming_the_store(failure, cause):
    with pytest.raises(StoreUnavailable) as caught, guarded("presence", "query"):
        raise failure
    error = caught.value
    assert isinstance(error, UpstreamUnavailable)
    assert (http_status(error), error.code, error.cause) == (503, "store_unavailable", cause)
    assert error.message == "The presence store is unavailable."  # never str() of the library error
    assert error.headers["Retry-After"]
    assert error.__cause__ is failure


def test_expected_codes_leave_as_a_refusal_with_the_reasons_and_items_read():
    failure = client_error(
        "TransactionCanceledException",
        CancellationReasons=[
            {"Code": "ConditionalCheckFailed", "Item": {"r1": {"N": "3"}, "s1": {"SS": ["1.1"]}}},
            {"Code": "None"},
            {},
        ],
    )
    with pytest.raises(Refusal) as caught, guarded("rate-limit", expect={"TransactionCanceledException"}):
        raise failure
    refusal = caught.value
    assert refusal.code == "TransactionCanceledException"
    assert refusal.codes() == ["ConditionalCheckFailed", "None", "None"]
    assert refusal.reasons[0] == Reason("ConditionalCheckFailed", {"r1": 3, "s1": {"1.1"}})


def test_a_failed_single_write_returns_the_old_item_plain():
    failure = client_error("ConditionalCheckFailedException", Item={"used": {"N": "5"}})
    with pytest.raises(Refusal) as caught, guarded("rate-limit", expect={"ConditionalCheckFailedException"}):
        raise failure
    assert (caught.value.reasons, caught.value.item) == ((), {"used": 5})


def test_other_exceptions_pass_through_untouched():
    with pytest.raises(KeyError), guarded("presence"):
        raise KeyError("x")


def test_only_a_call_sent_without_an_answer_may_have_landed():
    def unavailable(cause: Exception) -> StoreUnavailable:
        error = StoreUnavailable("history")
        error.__cause__ = cause
        return error

    assert may_have_landed(unavailable(ReadTimeoutError(endpoint_url="http://x")))
    assert not may_have_landed(unavailable(EndpointConnectionError(endpoint_url="http://x")))
    assert not may_have_landed(unavailable(client_error("ValidationException")))


# ---------------------------------------------------------------------------------------- conflicts


def test_conflicts_back_off_exponentially_with_jitter_then_answer_503():
    slept: list[float] = []
    retries = ConflictRetries("presence", slept.append)
    refusal = Refusal("TransactionCanceledException", (Reason("TransactionConflict"),))
    for _ in range(CONFLICT_RETRIES):
        retries.pause(refusal)
    assert len(slept) == CONFLICT_RETRIES == 3
    for n, pause in enumerate(slept):
        assert 0.01 * 2**n <= pause <= 0.02 * 2**n
    with pytest.raises(StoreUnavailable) as caught:
        retries.pause(refusal)
    assert caught.value.__cause__ is refusal
    assert len(slept) == 3  # no pause before giving up


# --------------------------------------------------------------------------------------- attributes


def test_attributes_use_dynamodb_types_and_leave_out_none():
    assert attributes(
        {"pk": "a", "n": 7, "flag": True, "ids": ["x"], "sids": {"1.1"}, "m": {"k": 1}, "gone": None}
    ) == {
        "pk": {"S": "a"},
        "n": {"N": "7"},
        "flag": {"BOOL": True},
        "ids": {"L": [{"S": "x"}]},
        "sids": {"SS": ["1.1"]},
        "m": {"M": {"k": {"N": "1"}}},
    }


def test_plain_reads_whole_numbers_as_int_and_keeps_fractions_exact():
    item = {"n": {"N": "42"}, "f": {"N": "1.5"}, "l": {"L": [{"N": "1"}]}, "m": {"M": {"k": {"N": "2"}}}}
    assert plain(item) == {"n": 42, "f": Decimal("1.5"), "l": [1], "m": {"k": 2}}
    assert type(plain(item)["n"]) is int


def test_a_float_is_refused_rather_than_rounded():
    with pytest.raises(TypeError):
        attributes({"x": 0.1})
