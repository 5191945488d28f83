"""POST /realtime/trigger and /realtime/trigger/batch, in-process under moto, Pusher mocked.

Given a request, when the trigger function handles it, then: the right status (never a 500 for bad
input), exactly one DynamoDB call and one Pusher call per accepted request, nothing published twice
for a retried Idempotency-Key, and Pusher's failures reported as 502/503 with Retry-After.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import responses
from urllib3.exceptions import MaxRetryError, NewConnectionError

from local_stack.token import mint_dev_token
from tests.conftest import (
    BATCH_URL,
    EVENTS_URL,
    ROOT,
    client_events,
    http_event,
    invoke,
    load_event,
    reset_caches,
)
from toolboxai_realtime.catalog import EVENTS, MAX_EVENT_DATA_BYTES, encoded_size
from toolboxai_realtime.channels import DASHBOARD_UPDATES

# The documentation's example, exactly as written there.
DOC_EXAMPLE: dict[str, Any] = {
    "channel": "dashboard-updates",
    "event": "notification",
    "data": {"type": "success", "message": "System update completed", "timestamp": "2024-01-01T12:00:00Z"},
    "socket_id": "123456.789012",
}
NOTIFICATION = DOC_EXAMPLE["data"]
GRADE = {"type": "grade", "title": "New Grade Posted", "message": "Your math quiz has been graded"}


@pytest.fixture(autouse=True)
def _fresh_publisher_caches() -> Iterator[None]:
    reset_caches()
    yield
    reset_caches()


@pytest.fixture
def dynamo_calls(aws_tables) -> list[str]:
    """The DynamoDB operations the layer's client makes during the test, in order."""
    calls: list[str] = []
    client_events().register("before-call.dynamodb", lambda **kw: calls.append(kw["model"].name))
    return calls


ADMIN = {"sub": "ops", "role": "admin"}


def token(sub: str = "ops", role: str = "admin", scopes: tuple[str, ...] = ()) -> str:
    return mint_dev_token(sub, role=role, scopes=scopes)  # type: ignore[arg-type]


def post(
    payload: Any,
    *,
    path: str = "/realtime/trigger",
    bearer: str | None = "admin",
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], Any]:
    hdrs = dict(headers or {})
    if bearer == "admin":
        hdrs["authorization"] = f"Bearer {token()}"
    elif bearer is not None:
        hdrs["authorization"] = f"Bearer {bearer}"
    if isinstance(payload, bytes):
        event = http_event("POST", path, headers={"content-type": "application/json", **hdrs})
        event["body"] = payload.decode()
    else:
        event = http_event("POST", path, body=payload, headers=hdrs)
    return invoke(event)


def pusher_calls(mock: responses.RequestsMock) -> list[str]:
    return [call.request.url.split("?")[0] for call in mock.calls]


EVENT_ID_BYTES = len(',"event_id":"01M8NNE7XZ72ZRS2F3Q212FTKV"')
"""What the server's event_id adds to a non-empty data object (ids are always 26 characters)."""


def sized(total: int, filler: str) -> dict[str, Any]:
    """Data of exactly ``total`` bytes as sent (compact UTF-8 JSON, with the event_id the server adds)."""
    data = {**NOTIFICATION, "details": ""}
    room = total - EVENT_ID_BYTES - encoded_size(data)
    data["details"] = filler * (room // len(filler.encode())) + "a" * (room % len(filler.encode()))
    assert encoded_size(data) + EVENT_ID_BYTES == total
    return data


# ------------------------------------------------------------------------------------- the happy path


def test_documented_example_works_as_written(aws_tables, pusher):
    status, _, body = post(DOC_EXAMPLE)
    assert status == 200, body
    assert body["success"] is True
    assert body["message"] == "Event triggered successfully"
    assert body["channels"] == ["dashboard-updates"]
    assert body["event"] == "notification"
    assert body["event_count"] == 1
    assert body["publish_id"]
    sent = json.loads(pusher.calls[0].request.body)
    assert sent["socket_id"] == "123456.789012"
    (event_id,) = body["event_ids"]
    assert json.loads(sent["data"]) == {**NOTIFICATION, "event_id": event_id}


@pytest.mark.parametrize(
    ("name", "status", "calls"),
    [
        ("trigger_documented_example", 200, [EVENTS_URL]),
        ("trigger_multi_channel", 200, [EVENTS_URL]),
        ("trigger_batch", 200, [BATCH_URL]),
        ("trigger_idempotent", 200, [EVENTS_URL]),
        ("trigger_forbidden_student", 403, []),
    ],
)
def test_sample_events_answer_as_their_names_say(aws_tables, pusher, name, status, calls):
    # The same files serve `sam local invoke` (their tokens are signed with the local JWT_SECRET).
    got, _, body = invoke(load_event(f"{name}.json"))
    assert got == status, body
    assert pusher_calls(pusher) == calls


def test_service_token_with_trigger_scope_may_trigger(aws_tables, pusher):
    status, _, _ = post(DOC_EXAMPLE, bearer=token("svc", role="student", scopes=("realtime:trigger",)))
    assert status == 200


@pytest.mark.parametrize("role", ["student", "teacher"])
def test_other_roles_are_forbidden_and_nothing_is_published(aws_tables, pusher, role):
    status, _, body = post(DOC_EXAMPLE, bearer=token("u1", role=role, scopes=("other:scope",)))
    assert status == 403
    assert body["code"] == "trigger_not_allowed"
    assert not pusher.calls


@pytest.mark.parametrize("bearer", [None, "not-a-jwt", token(role="admin")[:-4] + "AAAA"])
def test_missing_or_invalid_token_is_401_with_www_authenticate(aws_tables, pusher, bearer):
    status, headers, body = post(DOC_EXAMPLE, bearer=bearer)
    assert status == 401, body
    assert headers["www-authenticate"].startswith("Bearer")
    assert not pusher.calls


@pytest.mark.parametrize("path", ["/realtime/trigger", "/realtime/trigger/batch"])
@pytest.mark.parametrize(
    ("bearer", "status"), [(None, 401), ("not-a-jwt", 401), (token("u1", role="student"), 403)]
)
def test_the_token_is_checked_before_the_body_is_validated(aws_tables, pusher, path, bearer, status):
    # Used to be 422 validation_error (Powertools validated the typed body before the route ran).
    headers = {"content-type": "application/json"}
    if bearer:
        headers["authorization"] = f"Bearer {bearer}"
    event = http_event("POST", path, body=b'{"channel": "x", "channels": ["y"]}', headers=headers)
    answer, _, body = invoke(event)
    assert answer == status, body
    assert not pusher.calls


def test_multi_channel_trigger_reaches_every_channel_in_one_call(aws_tables, pusher):
    channels = ["private-user-1", "private-user-2", "private-user-3"]
    status, _, body = post({"channels": channels, "event": "grade_posted", "data": GRADE})
    assert status == 200, body
    assert body["channels"] == channels
    assert json.loads(pusher.calls[0].request.body)["channels"] == channels


def test_batch_publishes_up_to_10_events_in_one_call(aws_tables, pusher):
    events = [
        {"channel": f"private-user-{i}", "event": "personal_notification", "data": GRADE} for i in range(9)
    ] + [{"channel": "dashboard-updates", "event": "notification", "data": NOTIFICATION, "socket_id": "1.1"}]
    status, _, body = post({"events": events}, path="/realtime/trigger/batch")
    assert status == 200, body
    assert body["event_count"] == 10
    assert body["message"] == "Events triggered successfully"
    assert pusher_calls(pusher) == [BATCH_URL]
    assert len(json.loads(pusher.calls[0].request.body)["batch"]) == 10


# ------------------------------------------------------------------------------------------ bad input


def _many(n: int) -> list[str]:
    return [f"private-user-{i}" for i in range(n)]


BAD_REQUESTS: dict[str, tuple[str, Any, int, str | None]] = {
    # name: (path, body, status, code or None for "validation_error")
    # 400 malformed_json as on every other route (it was Powertools' 422 here alone).
    "malformed_json": ("/realtime/trigger", b'{"channel": "dashboard-updates", ', 400, "malformed_json"),
    "malformed_json_batch": ("/realtime/trigger/batch", b'{"events": [', 400, "malformed_json"),
    "not_json_at_all": ("/realtime/trigger", b"not json", 400, "malformed_json"),
    "json_array": ("/realtime/trigger", b"[1, 2]", 422, None),
    "empty_body": ("/realtime/trigger", b"", 422, None),
    "illegal_channel_characters": ("/realtime/trigger", {**DOC_EXAMPLE, "channel": "dash board!"}, 422, None),
    "channel_too_long": ("/realtime/trigger", {**DOC_EXAMPLE, "channel": "a" * 165}, 422, None),
    "pusher_event": ("/realtime/trigger", {**DOC_EXAMPLE, "event": "pusher:subscribe"}, 422, None),
    "client_event": ("/realtime/trigger", {**DOC_EXAMPLE, "event": "client-typing"}, 422, None),
    "event_with_space": ("/realtime/trigger", {**DOC_EXAMPLE, "event": "a b"}, 422, None),
    "bad_socket_id": ("/realtime/trigger", {**DOC_EXAMPLE, "socket_id": "1.2:private-x"}, 422, None),
    "channel_and_channels": ("/realtime/trigger", {**DOC_EXAMPLE, "channels": ["agent-status"]}, 422, None),
    "no_channel": ("/realtime/trigger", {"event": "notification", "data": NOTIFICATION}, 422, None),
    "unknown_field": ("/realtime/trigger", {**DOC_EXAMPLE, "priority": 1}, 422, None),
    "data_not_object": ("/realtime/trigger", {**DOC_EXAMPLE, "data": "hello"}, 422, None),
    "101_channels": (
        "/realtime/trigger",
        {"channels": _many(101), "event": "grade_posted", "data": GRADE},
        422,
        None,
    ),
    "zero_channels": (
        "/realtime/trigger",
        {"channels": [], "event": "grade_posted", "data": GRADE},
        422,
        None,
    ),
    "unknown_public_channel": (
        "/realtime/trigger",
        {**DOC_EXAMPLE, "channel": "general-chat"},
        422,
        "unknown_channel",
    ),
    "unknown_private_channel": (
        "/realtime/trigger",
        {"channel": "private-admin-1", "event": "grade_posted", "data": GRADE},
        422,
        "unknown_channel",
    ),
    "event_not_in_catalog_for_channel": (
        "/realtime/trigger",
        {**DOC_EXAMPLE, "event": "grade_posted"},
        422,
        "unknown_event",
    ),
    "data_not_matching_schema": (
        "/realtime/trigger",
        {**DOC_EXAMPLE, "data": {"type": "fine", "message": "x"}},
        422,
        "invalid_event_data",
    ),
    "encrypted_in_multi_channel": (
        "/realtime/trigger",
        {"channels": ["private-encrypted-user-1", "private-user-1"], "event": "grade_posted", "data": GRADE},
        422,
        "encrypted_multi_channel",
    ),
    "10241_byte_data": (
        "/realtime/trigger",
        {**DOC_EXAMPLE, "data": sized(MAX_EVENT_DATA_BYTES + 1, "a")},
        413,
        "event_data_too_large",
    ),
    "non_ascii_10241_bytes": (
        "/realtime/trigger",
        {**DOC_EXAMPLE, "data": sized(MAX_EVENT_DATA_BYTES + 1, "😀")},
        413,
        "event_data_too_large",
    ),
    "11_batch_events": (
        "/realtime/trigger/batch",
        {"events": [{"channel": "dashboard-updates", "event": "notification", "data": NOTIFICATION}] * 11},
        422,
        None,
    ),
    "empty_batch": ("/realtime/trigger/batch", {"events": []}, 422, None),
    "batch_event_with_channels": (
        "/realtime/trigger/batch",
        {"events": [{"channels": ["dashboard-updates"], "event": "notification", "data": NOTIFICATION}]},
        422,
        None,
    ),
    "batch_event_oversize": (
        "/realtime/trigger/batch",
        {"events": [{"channel": "dashboard-updates", "event": "notification", "data": sized(10241, "é")}]},
        413,
        "event_data_too_large",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_REQUESTS))
def test_bad_input_is_the_right_4xx_and_publishes_nothing(dynamo_calls, pusher, case):
    path, payload, expected, code = BAD_REQUESTS[case]
    status, headers, body = post(payload, path=path)
    assert status == expected, body
    assert headers["content-type"].startswith("application/json")
    assert body["code"] == (code or "validation_error")
    assert body["message"]
    assert not pusher.calls
    assert not dynamo_calls, "refused before the rate limit was touched"


@pytest.mark.parametrize("path", ["/realtime/trigger", "/realtime/trigger/batch"])
def test_a_form_body_is_415_not_a_field_by_field_422(dynamo_calls, pusher, path):
    # `curl -d '{...}'` without a JSON Content-Type sends a form: it used to be a 422 listing "Field
    # required" and the whole JSON text as an unknown field.
    raw = json.dumps(DOC_EXAMPLE).encode()
    status, _, body = post(raw, path=path, headers={"content-type": "application/x-www-form-urlencoded"})
    assert (status, body["code"]) == (415, "unsupported_media_type"), body
    assert "application/json" in body["message"]
    assert not pusher.calls
    assert not dynamo_calls


def test_unknown_event_names_the_allowed_events(aws_tables, pusher):
    status, _, body = post({**DOC_EXAMPLE, "event": "grade_posted"})
    assert status == 422
    for allowed in EVENTS[DASHBOARD_UPDATES]:
        assert allowed in body["message"]


@pytest.mark.parametrize("filler", ["é", "完", "😀"])
def test_non_ascii_data_of_exactly_10240_bytes_is_accepted(aws_tables, pusher, filler):
    status, _, body = post({**DOC_EXAMPLE, "data": sized(MAX_EVENT_DATA_BYTES, filler)})
    assert status == 200, body
    assert body["events"][0]["sent_bytes"] == MAX_EVENT_DATA_BYTES
    assert len(json.loads(pusher.calls[0].request.body)["data"].encode()) == MAX_EVENT_DATA_BYTES


@pytest.mark.parametrize("key", ["has space", "x" * 256, "ключ"])
def test_invalid_idempotency_key_is_refused(aws_tables, pusher, key):
    status, _, body = post(DOC_EXAMPLE, headers={"idempotency-key": key})
    assert status == 422
    assert body["details"][0]["loc"] == ["header", "idempotency-key"]
    assert not pusher.calls


# ---------------------------------------------------------------------------------------- call counts


HELP = {
    "lesson_id": "7",
    "user_id": "u1",
    "message": "Stuck on question 3",
    "timestamp": "2024-01-01T12:00:00Z",
}


@pytest.mark.parametrize(
    ("path", "payload", "operations", "pusher_url"),
    [
        # One channel that keeps history: the counter update and the history Put in one transaction.
        ("/realtime/trigger", DOC_EXAMPLE, ["TransactWriteItems"], EVENTS_URL),
        # One channel without history (presence): the counter's conditional UpdateItem alone.
        (
            "/realtime/trigger",
            {"channel": "presence-lesson-7", "event": "help_requested", "data": HELP},
            ["UpdateItem"],
            EVENTS_URL,
        ),
        # 10 channels: 10 counters + 10 history Puts = 20 actions, one transaction.
        (
            "/realtime/trigger",
            {"channels": _many(10), "event": "grade_posted", "data": GRADE},
            ["TransactWriteItems"],
            EVENTS_URL,
        ),
        # 100 channels: 200 actions exceed the transaction's 100: counters first, history in 4 x 25.
        (
            "/realtime/trigger",
            {"channels": _many(100), "event": "grade_posted", "data": GRADE},
            ["TransactWriteItems"] + ["BatchWriteItem"] * 4,
            EVENTS_URL,
        ),
        (
            "/realtime/trigger/batch",
            {
                "events": [
                    {"channel": f"private-user-{i % 4}", "event": "grade_posted", "data": GRADE}
                    for i in range(10)
                ]
            },
            ["TransactWriteItems"],
            BATCH_URL,
        ),
        (
            "/realtime/trigger/batch",
            {
                "events": [{"channel": "dashboard-updates", "event": "notification", "data": NOTIFICATION}]
                * 10
            },
            ["TransactWriteItems"],
            BATCH_URL,
        ),
    ],
    ids=[
        "single",
        "single_no_history",
        "multi_channel_10",
        "multi_channel_100",
        "batch_4_channels",
        "batch_1_channel",
    ],
)
def test_dynamodb_and_pusher_calls_per_request(dynamo_calls, pusher, path, payload, operations, pusher_url):
    status, _, body = post(payload, path=path)
    assert status == 200, body
    assert dynamo_calls == operations
    assert pusher_calls(pusher) == [pusher_url]


# ---------------------------------------------------------------------------------------- idempotency


def test_retried_request_with_the_same_key_publishes_once(dynamo_calls, pusher):
    key = {"idempotency-key": "9f0c6e2a-2b4e-4a53-9d1e-7d3c0f5b1a11"}
    first = post(DOC_EXAMPLE, headers=key)
    second = post(DOC_EXAMPLE, headers=key)
    assert first[0] == second[0] == 200
    assert pusher_calls(pusher) == [EVENTS_URL]
    assert second[2] == first[2]
    assert "idempotent-replayed" not in first[1]
    assert second[1]["idempotent-replayed"] == "true"
    assert second[2]["event_ids"] == first[2]["event_ids"]
    # save in progress, keep the event ids, rate limit + history, save result; the retry reads the
    # stored result in one call.
    assert dynamo_calls == ["PutItem", "UpdateItem", "TransactWriteItems", "UpdateItem", "PutItem"]


def test_retried_batch_with_the_same_key_publishes_once(aws_tables, pusher):
    batch = {"events": [{"channel": "dashboard-updates", "event": "notification", "data": NOTIFICATION}]}
    for _ in range(3):
        status, _, _ = post(batch, path="/realtime/trigger/batch", headers={"idempotency-key": "b-1"})
        assert status == 200
    assert pusher_calls(pusher) == [BATCH_URL]


def test_same_key_with_a_different_body_is_refused(aws_tables, pusher):
    post(DOC_EXAMPLE, headers={"idempotency-key": "k1"})
    other = {**DOC_EXAMPLE, "data": {**NOTIFICATION, "message": "Something else"}}
    status, _, body = post(other, headers={"idempotency-key": "k1"})
    assert status == 422
    assert body["code"] == "idempotency_key_reused"
    assert len(pusher.calls) == 1


def test_the_same_key_of_another_caller_is_a_different_request(aws_tables, pusher):
    other = token("ops-2", role="admin")
    post(DOC_EXAMPLE, headers={"idempotency-key": "shared"})
    status, headers, _ = post(DOC_EXAMPLE, bearer=other, headers={"idempotency-key": "shared"})
    assert status == 200
    assert "idempotent-replayed" not in headers
    assert len(pusher.calls) == 2


def test_the_key_of_a_refused_request_can_be_retried(aws_tables):
    with responses.RequestsMock() as down:
        down.post(EVENTS_URL, status=404)
        status, _, _ = post(DOC_EXAMPLE, headers={"idempotency-key": "retry-me"})
    assert status == 502
    with responses.RequestsMock() as up:
        up.post(EVENTS_URL, json={})
        status, headers, body = post(DOC_EXAMPLE, headers={"idempotency-key": "retry-me"})
        assert status == 200
        assert body["success"] is True
        assert "idempotent-replayed" not in headers
        assert len(up.calls) == 1


# ------------------------------------------------------------------------------------- Pusher failures


REFUSED = requests.exceptions.ConnectionError(
    MaxRetryError(None, EVENTS_URL, NewConnectionError(None, "[Errno 111] Connection refused"))  # type: ignore[arg-type]
)


@pytest.mark.parametrize(
    ("failure", "status", "code"),
    [
        # Nothing was sent, or Pusher refused it: nothing published.
        ({"body": REFUSED}, 503, "pusher_unreachable"),
        ({"body": requests.exceptions.ConnectTimeout("no connection")}, 503, "pusher_timeout"),
        ({"status": 401}, 502, "pusher_auth_failed"),
        ({"status": 404}, 502, "pusher_error"),
        # Sent and no usable answer: it may have been delivered.
        ({"body": requests.exceptions.ReadTimeout("too slow")}, 504, "publish_outcome_unknown"),
        ({"status": 500}, 504, "publish_outcome_unknown"),
        ({"status": 502}, 504, "publish_outcome_unknown"),
    ],
)
@pytest.mark.parametrize("path", ["/realtime/trigger", "/realtime/trigger/batch"])
def test_pusher_failure_is_a_5xx_with_retry_after_never_success(aws_tables, failure, status, code, path):
    payload = DOC_EXAMPLE if path == "/realtime/trigger" else {"events": [DOC_EXAMPLE]}
    with responses.RequestsMock() as mock:
        mock.post(EVENTS_URL if path == "/realtime/trigger" else BATCH_URL, **failure)
        got, headers, body = post(payload, path=path)
    assert got == status, body
    assert int(headers["retry-after"]) >= 1
    assert body["code"] == code
    assert "success" not in body


# ---------------------------------------------------------------------------------------- rate limits


@pytest.fixture
def limit_of(monkeypatch):
    def set_limit(n: int) -> None:
        monkeypatch.setenv("TRIGGER_RATE_LIMIT_PER_MINUTE", str(n))
        reset_caches()

    return set_limit


def test_channel_over_its_limit_is_429_with_retry_after(aws_tables, pusher, limit_of):
    limit_of(3)
    assert [post(DOC_EXAMPLE)[0] for _ in range(3)] == [200, 200, 200]
    status, headers, body = post(DOC_EXAMPLE)
    assert status == 429
    assert 1 <= int(headers["retry-after"]) <= 60
    assert body["code"] == "channel_rate_limited"
    assert "dashboard-updates" in body["message"]
    assert len(pusher.calls) == 3
    # Another channel has its own budget.
    agent = {"agent_id": "a1", "agent_type": "content_generation", "status": "idle"}
    assert post({"channel": "agent-status", "event": "system_health", "data": agent})[0] == 200


def test_refused_multi_channel_trigger_consumes_no_budget_elsewhere(aws_tables, pusher, limit_of):
    limit_of(2)
    grade = {"event": "grade_posted", "data": GRADE}
    assert post({"channel": "private-user-a", **grade})[0] == 200
    assert post({"channel": "private-user-a", **grade})[0] == 200
    status, _, body = post({"channels": ["private-user-a", "private-user-b"], **grade})
    assert status == 429
    assert body["details"]["channels"] == ["private-user-a"]
    # b was not charged for the refused request: its whole budget is left.
    assert post({"channel": "private-user-b", **grade})[0] == 200
    assert post({"channel": "private-user-b", **grade})[0] == 200
    assert post({"channel": "private-user-b", **grade})[0] == 429


def test_batch_counts_each_event_against_its_channel(aws_tables, pusher, limit_of):
    limit_of(5)
    event = {"channel": "dashboard-updates", "event": "notification", "data": NOTIFICATION}
    assert post({"events": [event] * 4}, path="/realtime/trigger/batch")[0] == 200
    status, _, _ = post({"events": [event] * 2}, path="/realtime/trigger/batch")
    assert status == 429
    assert post({"events": [event]}, path="/realtime/trigger/batch")[0] == 200
    assert len(pusher.calls) == 2


def test_rate_limited_is_counted_with_scope_trigger(aws_tables, pusher, limit_of, monkeypatch):
    from toolboxai_realtime.stores import rate_limits, trigger_limits

    counted: list[tuple[str, dict[str, str]]] = []
    fake = lambda name, value=1, **dims: counted.append((name, dims))  # noqa: E731
    monkeypatch.setattr(rate_limits, "count", fake)
    monkeypatch.setattr(trigger_limits, "count", fake)
    limit_of(1)
    assert post(DOC_EXAMPLE)[0] == 200
    assert post(DOC_EXAMPLE)[0] == 429  # one UpdateItem
    grade = {"event": "grade_posted", "data": GRADE}
    assert post({"channel": "private-user-1", **grade})[0] == 200
    assert post({"channels": ["private-user-1", "private-user-2"], **grade})[0] == 429  # one transaction
    assert counted == [("RateLimited", {"scope": "trigger"})] * 2


def test_rate_limit_store_failure_is_503_and_nothing_is_published(pusher, monkeypatch):
    # No moto: DynamoDB is unreachable.
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9")
    reset_caches()
    status, headers, body = post(DOC_EXAMPLE)
    assert status == 503
    assert body["code"] == "store_unavailable"
    assert headers["retry-after"]
    assert not pusher.calls


# -------------------------------------------------------------------------------------------- OpenAPI


def _trigger_app() -> Any:
    spec = importlib.util.spec_from_file_location("trigger_app_openapi", ROOT / "functions/trigger/app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app


def test_openapi_document_shows_the_catalog():
    doc = json.loads(_trigger_app().get_openapi_json_schema())
    schemas = doc["components"]["schemas"]
    for path in ("/realtime/trigger", "/realtime/trigger/batch"):
        operation = doc["paths"][path]["post"]
        catalog = operation["x-event-catalog"]
        assert set(catalog) == {family.id for family in EVENTS}
        for family, events in EVENTS.items():
            assert set(catalog[family.id]) == set(events)
            for event, model in events.items():
                ref = catalog[family.id][event]["$ref"]
                assert ref == f"#/components/schemas/{model.__name__}"
                assert ref.rsplit("/", 1)[1] in schemas
        assert {p["name"] for p in operation["parameters"]} == {"idempotency-key"}
        assert {"200", "401", "403", "413", "422", "429", "502", "503"} <= set(operation["responses"])
    data = schemas["TriggerRequest"]["properties"]["data"]
    refs = {branch["$ref"] for branch in data["anyOf"]}
    assert "#/components/schemas/DashboardMessage" in refs
    assert "#/components/schemas/UserNotification" in refs
    severities = ["info", "success", "warning", "error"]
    assert schemas["DashboardMessage"]["properties"]["type"]["enum"] == severities
    assert schemas["BatchTriggerRequest"]["properties"]["events"]["maxItems"] == 10
