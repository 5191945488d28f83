"""The auth path's direct ``TransactWriteItems`` (``stores._direct``) behaves as the botocore client's own
call: the same request, the same errors, the same retries, the deadline and the call counters — checked
side by side with ``client.transact_write_items`` on scripted HTTP answers. No AWS, no sockets."""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

from toolboxai_realtime import aws, deadlines
from toolboxai_realtime.stores import _direct
from toolboxai_realtime.stores._dynamodb import Refusal, attributes, guarded

ITEMS: list[Any] = [
    {
        "Update": {
            "TableName": "RateLimitTable",
            "Key": attributes({"pk": "auth-limits#u1"}),
            "UpdateExpression": "ADD #r :one",
            "ExpressionAttributeNames": {"#r": "r1"},
            "ExpressionAttributeValues": attributes({":one": 1}),
        }
    },
    {
        "ConditionCheck": {
            "TableName": "RevocationTable",
            "Key": attributes({"pk": "u1", "sk": "user"}),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    },
]
CANCELLED = {
    "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
    "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons",
    "CancellationReasons": [
        {"Code": "ConditionalCheckFailed", "Item": {"r1": {"N": "10"}}},
        {"Code": "None"},
    ],
}
THROTTLED = {
    "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
    "Message": "slow down",
}


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, *_: Any, **__: Any) -> Iterator[bytes]:
        yield self.data


@dataclass
class Wire:
    """DynamoDB at the HTTP layer: answers in order (the last one repeats), requests recorded."""

    answers: list[tuple[int, dict[str, Any]]]
    sent: list[Any]
    calls: list[str]

    def answer(self, request: Any, **_: Any) -> AWSResponse:
        self.sent.append(request)
        status, body = self.answers[min(len(self.sent), len(self.answers)) - 1]
        data = json.dumps(body).encode()
        headers = {
            "x-amzn-requestid": "REQ",
            "x-amz-crc32": str(zlib.crc32(data)),
            "content-type": "application/x-amz-json-1.0",
            "content-length": str(len(data)),
        }
        return AWSResponse(request.url, status, headers, _Body(data))  # type: ignore[arg-type]


@pytest.fixture
def wire(monkeypatch) -> Iterator[Callable[..., Wire]]:
    monkeypatch.setattr(_direct.time, "sleep", lambda _: None)  # the direct path's back-off
    made: list[tuple[Any, Wire]] = []
    events = aws.client_events()

    def make(*answers: tuple[int, dict[str, Any]]) -> Wire:
        w = Wire(list(answers) or [(200, {})], [], [])
        events.register("before-send.dynamodb", w.answer)
        events.register("before-call.dynamodb", lambda model, **_: w.calls.append(model.name))
        made.append((w.answer, w))
        return w

    yield make
    for handler, _w in made:
        events.unregister("before-send.dynamodb", handler)
    aws.clear_clients()


def both(wire: Callable[..., Wire], *answers: tuple[int, dict[str, Any]]) -> dict[str, tuple[Wire, Any]]:
    """The same call through the client and the direct path, each on its own wire: what each raised
    (or returned)."""
    out: dict[str, tuple[Wire, Any]] = {}
    for path in ("client", "direct"):
        w = wire(*answers)
        client = aws.dynamodb()
        try:
            if path == "client":
                result: Any = client.transact_write_items(TransactItems=ITEMS)
            else:
                result = _direct.transact_write_items(client, ITEMS)
        except Exception as exc:  # compared below
            result = exc
        out[path] = (w, result)
        aws.client_events().unregister("before-send.dynamodb", w.answer)
        aws.clear_clients()
    return out


def test_the_request_is_the_clients_request(wire):
    runs = both(wire)
    (client_wire, _), (direct_wire, answer) = runs["client"], runs["direct"]
    sent, expected = direct_wire.sent[0], client_wire.sent[0]
    assert (sent.method, sent.url) == (expected.method, expected.url)
    assert sent.headers["X-Amz-Target"] == expected.headers["X-Amz-Target"]
    body, expected_body = json.loads(sent.body), json.loads(expected.body)
    assert body.pop("ClientRequestToken")  # both idempotent
    assert expected_body.pop("ClientRequestToken")
    assert body == expected_body
    # Signed the same way (SigV4, same credential scope and signed headers).
    scope = expected.headers["Authorization"].split(b"Signature=")[0].split(b", ")[:2]
    assert sent.headers["Authorization"].split(b"Signature=")[0].split(b", ")[:2] == scope
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_a_cancelled_transaction_is_the_same_client_error_with_its_reasons(wire):
    runs = both(wire, (400, CANCELLED))
    client_error, direct_error = runs["client"][1], runs["direct"][1]
    assert type(direct_error) is type(client_error)
    assert isinstance(direct_error, ClientError)
    assert direct_error.response["Error"] == client_error.response["Error"]
    assert direct_error.response["CancellationReasons"] == client_error.response["CancellationReasons"]
    with pytest.raises(Refusal) as caught, guarded("rate-limit", expect={"TransactionCanceledException"}):
        raise direct_error
    assert caught.value.codes() == ["ConditionalCheckFailed", "None"]
    assert caught.value.reasons[0].item == {"r1": 10}


def test_throttling_is_retried_by_the_clients_own_retry_handler(wire):
    runs = both(wire, (400, THROTTLED), (200, {}))
    for path in ("client", "direct"):
        w, result = runs[path]
        assert len(w.sent) == 2, path
        assert result["ResponseMetadata"]["HTTPStatusCode"] == 200, path


def test_throttling_to_the_end_makes_as_many_attempts_as_the_client_then_raises(wire):
    runs = both(wire, (400, THROTTLED))
    (client_wire, client_error), (direct_wire, direct_error) = runs["client"], runs["direct"]
    assert len(direct_wire.sent) == len(client_wire.sent) == deadlines.PLANS[0].attempts
    assert type(direct_error) is type(client_error)
    assert direct_error.response["Error"]["Code"] == "ProvisionedThroughputExceededException"


def test_each_call_is_announced_once_for_the_call_counters(wire):
    w = wire()
    _direct.transact_write_items(aws.dynamodb(), ITEMS)
    assert w.calls == ["TransactWriteItems"]


@dataclass
class Context:
    remaining_ms: int

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def test_no_attempt_starts_once_the_deadline_has_passed(wire):
    w = wire()
    client = aws.dynamodb()
    with deadlines.invocation(Context(10_000), 0.0), pytest.raises(aws.DeadlineExceeded):
        _direct.transact_write_items(client, ITEMS)
    # The scripted wire is a session hook, so it sees the request before the client's own deadline
    # hook refuses it (as with the client's call); nothing is sent after that, and nothing is retried.
    assert len(w.sent) == 1
