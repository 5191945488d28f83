"""A stalled dependency costs at most the route's budget (issue 11, item 2), on the real local stack.

The local DynamoDB (moto's server) and, separately, soketi are stopped with SIGSTOP for a bounded time,
as a hung dependency looks to a client: connections open, nothing answered. Each answer is our own JSON
503 with ``Retry-After``, well before the functions' 10 s timeout (the API's budget is 6 s) and, for the
webhook, inside Pusher's 4 s delivery budget. Quoted case: with DynamoDB stalled, auth, trigger and
webhook used to answer 503 ``store_unavailable`` after 12.1 s. The processes are resumed (SIGCONT) in a
``finally``: the session's stack is shared with the other e2e tests.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from local_stack.token import mint_dev_token
from tests.e2e.conftest import Stack, child_pid
from toolboxai_realtime import deadlines

pytestmark = pytest.mark.e2e

FUNCTION_TIMEOUT_SECONDS = 10.0  # template.yaml Globals
API_LIMIT = deadlines.API_BUDGET_SECONDS + 1.0  # the budget, plus the gateway and this test's overhead
WEBHOOK_LIMIT = 4.0  # Pusher's delivery budget


@contextmanager
def stopped(pid: int) -> Iterator[None]:
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def timed(call: Any) -> tuple[float, tuple[int, dict[str, str], Any]]:
    started = time.monotonic()
    answer = call()
    return time.monotonic() - started, answer


def bearer(stack: Stack, sub: str, role: str = "admin") -> dict[str, str]:
    token = mint_dev_token(sub, role=role, secret=stack.env["JWT_SECRET"])  # type: ignore[arg-type]
    return {"authorization": f"Bearer {token}"}


def trigger(stack: Stack) -> tuple[int, dict[str, str], Any]:
    data = {"type": "info", "message": "fault test", "timestamp": "2024-01-01T12:00:00Z"}
    body = {"channel": "dashboard-updates", "event": "notification", "data": data}
    return stack.json("POST", "/realtime/trigger", body, headers=bearer(stack, "faults-admin"))


def auth(stack: Stack) -> tuple[int, dict[str, str], Any]:
    sub = f"faults-{uuid.uuid4().hex[:8]}"
    headers = {**bearer(stack, sub, role="student"), "content-type": "application/x-www-form-urlencoded"}
    body = f"socket_id=123.456&channel_name=private-user-{sub}".encode()
    return stack.request("POST", "/pusher/auth", body=body, headers=headers)


def webhook(stack: Stack) -> tuple[int, dict[str, str], Any]:
    channel = f"presence-classroom-faults{uuid.uuid4().hex[:6]}"
    events = [{"name": "member_added", "channel": channel, "user_id": "faults-1"}]
    body = json.dumps({"time_ms": int(time.time() * 1000), "events": events}).encode()
    signature = hmac.new(stack.env["PUSHER_SECRET"].encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "content-type": "application/json",
        "x-pusher-key": stack.env["PUSHER_KEY"],
        "x-pusher-signature": signature,
    }
    return stack.request("POST", "/pusher/webhook", body=body, headers=headers)


def assert_our_503(answer: tuple[int, dict[str, str], Any], code: str, status: int = 503) -> None:
    got, headers, body = answer
    assert got == status, body
    assert headers["content-type"].startswith("application/json")
    assert body["code"] == code
    assert body["request_id"]
    assert int(headers["retry-after"]) >= 1


def test_stalled_dynamodb_answers_503_within_the_budgets(stack):
    assert trigger(stack)[0] == 200  # warm: the functions are loaded and their clients built
    with stopped(child_pid(stack, "local_stack.moto_dynamodb")):
        trigger_took, trigger_answer = timed(lambda: trigger(stack))
        auth_took, auth_answer = timed(lambda: auth(stack))
        webhook_took, webhook_answer = timed(lambda: webhook(stack))

    print(
        f"DynamoDB stalled: trigger {trigger_took:.2f} s, auth {auth_took:.2f} s,",
        f"webhook {webhook_took:.2f} s",
    )
    assert_our_503(trigger_answer, "store_unavailable")
    assert_our_503(auth_answer, "store_unavailable")
    assert_our_503(webhook_answer, "store_unavailable")
    # Used to be 12.1 s each, past the functions' 10 s timeout.
    assert trigger_took < API_LIMIT < FUNCTION_TIMEOUT_SECONDS, trigger_took
    assert auth_took < API_LIMIT, auth_took
    assert webhook_took < WEBHOOK_LIMIT, webhook_took
    # Resumed: the stack answers again.
    assert trigger(stack)[0] == 200


def test_stalled_soketi_answers_504_within_the_budget(stack):
    # A stopped soketi still accepts the connection (the kernel does) and never answers: the publish
    # was sent, so the outcome is unknown (504 publish_outcome_unknown, README "Delivery"), not "nothing
    # was published" — and it must come well inside the function's timeout.
    with stopped(child_pid(stack, "soketi")):
        took, answer = timed(lambda: trigger(stack))
    print(f"soketi stalled: trigger {took:.2f} s")
    assert_our_503(answer, "publish_outcome_unknown", status=504)
    assert answer[2]["details"]["event_ids"]
    assert took < API_LIMIT, took
    assert trigger(stack)[0] == 200
