"""Event ids and channel history through the real local stack, with real pusher-js clients.

The issue's scenario: a client receives three events and records their ids; its socket disconnects;
twenty events are published to its private-user channel; it reconnects and asks for history after the
last id it saw, and gets exactly those twenty, in order, each with the id pusher-js delivered (a second
client, connected all along, is the witness of what pusher-js delivered). And issue 11's case: with
soketi paused (SIGSTOP) the publish times out, is reported as 504 publish_outcome_unknown, is delivered
when soketi resumes, and its retry with the same Idempotency-Key goes out under the same event id.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local_stack.token import mint_dev_token
from tests.e2e.conftest import PusherJs, Stack

pytestmark = pytest.mark.e2e

GRADE = {"type": "grade", "title": "New Grade Posted", "message": "Your math quiz has been graded"}


def token(stack: Stack, sub: str, **kw: Any) -> str:
    return mint_dev_token(sub, secret=stack.env["JWT_SECRET"], **kw)


def publish(stack: Stack, channel: str, n: int, headers: dict[str, str] | None = None) -> Any:
    data = {**GRADE, "title": f"Grade {n}"}
    payload = {"channel": channel, "event": "grade_posted", "data": data}
    return stack.json(
        "POST", "/realtime/trigger", payload, token=token(stack, "ops", role="admin"), headers=headers
    )


def history(stack: Stack, channel: str, bearer: str | None, query: str = "") -> Any:
    headers = {"authorization": f"Bearer {bearer}"} if bearer else {}
    path = f"/realtime/channels/{channel}/history" + (f"?{query}" if query else "")
    return stack.request("GET", path, headers=headers)


def received(pusher_js: PusherJs, client: str, channel: str) -> list[dict[str, Any]]:
    """The data of every grade_posted ``client`` got on ``channel``, in arrival order."""
    return [
        m["data"]
        for m in pusher_js.lines
        if m.get("type") == "event"
        and m["client"] == client
        and m["channel"] == channel
        and m["event"] == "grade_posted"
    ]


def wait_for(predicate: Any, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def test_a_reconnecting_client_catches_up_on_exactly_what_it_missed(stack, pusher_js):
    channel = "private-user-catchup1"
    bearer = token(stack, "catchup1")
    for client in ("alice", "witness"):
        pusher_js.connect(client, bearer)
        assert pusher_js.call("subscribe", client=client, channel=channel)["subscribed"]

    for n in range(3):
        assert publish(stack, channel, n)[0] == 200
    wait_for(lambda: len(received(pusher_js, "alice", channel)) == 3)
    seen = [data["event_id"] for data in received(pusher_js, "alice", channel)]
    assert seen == sorted(seen)

    pusher_js.call("disconnect", client="alice")
    published = []
    for n in range(3, 23):
        status, _, body = publish(stack, channel, n)
        assert status == 200, body
        published += body["event_ids"]
    wait_for(lambda: len(received(pusher_js, "witness", channel)) == 23)

    pusher_js.connect("alice", bearer)
    assert pusher_js.call("subscribe", client="alice", channel=channel)["subscribed"]
    status, _, page = history(stack, channel, bearer, f"after={seen[-1]}")
    assert status == 200, page
    assert page["has_more"] is False
    missed = received(pusher_js, "witness", channel)[3:]
    assert [e["event_id"] for e in page["events"]] == published == [d["event_id"] for d in missed]
    assert [e["data"] for e in page["events"]] == missed  # byte for byte what pusher-js delivered
    assert [e["data"]["title"] for e in page["events"]] == [f"Grade {n}" for n in range(3, 23)]


def test_history_is_only_for_those_who_may_subscribe(stack):
    channel = "private-user-owner1"
    assert publish(stack, channel, 1)[0] == 200
    status, _, body = history(stack, channel, token(stack, "someone-else"))
    assert (status, body["code"]) == (403, "not_own_user_channel")
    status, headers, body = history(stack, channel, None)
    assert (status, body["code"]) == (401, "missing_token")
    assert headers["www-authenticate"].startswith("Bearer")
    status, _, body = history(stack, "dashboard-updates", token(stack, "any-student"), "limit=1")
    assert status == 200, body
    assert body["channel"] == "dashboard-updates"


# -------------------------------------------------------------------------- unknown outcome (soketi paused)


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def soketi_pid(stack: Stack) -> int:
    """The soketi process this test session's stack started (a descendant of the stack's process)."""
    pending, seen = [stack.proc.pid], []
    while pending:
        pid = pending.pop()
        for child in _children(pid):
            seen.append(child)
            pending.append(child)
    for pid in seen:
        with contextlib.suppress(OSError):
            if b"soketi" in Path(f"/proc/{pid}/cmdline").read_bytes():
                return pid
    raise AssertionError("soketi not found among the stack's processes")


@contextlib.contextmanager
def paused(pid: int) -> Iterator[None]:
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def test_a_publish_to_a_paused_soketi_is_an_unknown_outcome_and_its_retry_keeps_the_event_id(
    stack, pusher_js
):
    channel = "private-user-paused1"
    bearer = token(stack, "paused1")
    pusher_js.connect("receiver", bearer)
    assert pusher_js.call("subscribe", client="receiver", channel=channel)["subscribed"]
    key = {"idempotency-key": "paused-soketi-1"}

    started = time.monotonic()
    with paused(soketi_pid(stack)):
        status, headers, first = publish(stack, channel, 1, headers=key)
        took = time.monotonic() - started
    # Sent, no answer: not "nothing was published".
    assert status == 504, first
    assert first["code"] == "publish_outcome_unknown"
    assert int(headers["retry-after"]) >= 1
    (event_id,) = first["details"]["event_ids"]
    assert took < 10
    # soketi resumes and delivers the request it had already received.
    wait_for(lambda: len(received(pusher_js, "receiver", channel)) == 1)

    status, _, second = publish(stack, channel, 1, headers=key)
    assert status == 200, second
    assert second["event_ids"] == [event_id]
    wait_for(lambda: len(received(pusher_js, "receiver", channel)) == 2)
    copies = received(pusher_js, "receiver", channel)
    # Delivered twice (a timeout is not a refusal), but under one id: a receiver drops the second copy.
    assert [d["event_id"] for d in copies] == [event_id, event_id]
    status, _, page = history(stack, channel, bearer)
    assert [e["event_id"] for e in page["events"]] == [event_id]
