"""POST /realtime/trigger through the real local stack: pusher-js clients receive what is triggered.

pusher-js 8 clients (tests/e2e/js/driver.mjs) on public, private and presence channels; private and
presence subscriptions are authorized by the stack's /pusher/auth. The README's curl example is run
as written, with a real socket id.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from typing import Any

import pytest

from local_stack.token import mint_dev_token
from tests.e2e.conftest import ROOT, PusherJs, Stack

pytestmark = pytest.mark.e2e

NOTIFICATION = {"type": "success", "message": "System update completed", "timestamp": "2024-01-01T12:00:00Z"}
GRADE = {"type": "grade", "title": "New Grade Posted", "message": "Your math quiz has been graded"}


def token(stack: Stack, sub: str, **kw: Any) -> str:
    return mint_dev_token(sub, secret=stack.env["JWT_SECRET"], **kw)


def admin(stack: Stack) -> str:
    return token(stack, "ops", role="admin")


def subscribe(pusher_js: PusherJs, client: str, channel: str) -> None:
    reply = pusher_js.call("subscribe", client=client, channel=channel)
    assert reply["subscribed"], reply


def trigger(stack: Stack, payload: dict[str, Any], path: str = "/realtime/trigger") -> dict[str, Any]:
    status, _, body = stack.json("POST", path, payload, token=admin(stack))
    assert status == 200, body
    assert body["success"] is True
    return dict(body)


def events_of(pusher_js: PusherJs, client: str) -> list[tuple[str, str]]:
    """(channel, event) of everything ``client`` has received so far, in order."""
    return [
        (m["channel"], m["event"])
        for m in pusher_js.lines
        if m.get("type") == "event" and m["client"] == client
    ]


def marker(stack: Stack, pusher_js: PusherJs, client: str) -> None:
    """Publish a maintenance_alert on dashboard-updates and wait until ``client`` has it.

    Pusher keeps the order of events on a connection: whatever ``client`` has not received before the
    marker, it was never sent.
    """
    alert = {**NOTIFICATION, "type": "warning", "title": "Marker"}
    trigger(stack, {"channel": "dashboard-updates", "event": "maintenance_alert", "data": alert})
    pusher_js.wait_event(client=client, event="maintenance_alert", channel="dashboard-updates")


def test_public_channel_client_receives_the_documented_event(stack, pusher_js):
    pusher_js.connect("viewer")
    subscribe(pusher_js, "viewer", "dashboard-updates")
    body = trigger(stack, {"channel": "dashboard-updates", "event": "notification", "data": NOTIFICATION})
    got = pusher_js.wait_event(client="viewer", event="notification", channel="dashboard-updates")
    assert got["data"] == {**NOTIFICATION, "event_id": body["event_ids"][0]}
    assert body["channels"] == ["dashboard-updates"]


def test_private_user_channel_receives_a_personal_notification(stack, pusher_js):
    pusher_js.connect("student", token=token(stack, "12345", role="student"))
    subscribe(pusher_js, "student", "private-user-12345")
    body = trigger(stack, {"channel": "private-user-12345", "event": "personal_notification", "data": GRADE})
    got = pusher_js.wait_event(client="student", event="personal_notification", channel="private-user-12345")
    assert got["data"] == {**GRADE, "read": False, "event_id": body["event_ids"][0]}


def test_presence_classroom_members_receive_an_activity_update(stack, pusher_js):
    pusher_js.connect("teacher", token=token(stack, "t-1", role="teacher", class_ids=["101"], name="Ms. F"))
    subscribe(pusher_js, "teacher", "presence-classroom-101")
    data = {
        "class_id": "101",
        "user_id": "555",
        "status": "busy",
        "current_activity": "solving_problem_3",
        "timestamp": "2024-01-01T12:00:00Z",
    }
    body = trigger(stack, {"channel": "presence-classroom-101", "event": "activity_update", "data": data})
    got = pusher_js.wait_event(client="teacher", event="activity_update", channel="presence-classroom-101")
    assert got["data"] == {**data, "event_id": body["event_ids"][0]}


def test_excluded_socket_does_not_receive_and_the_others_do(stack, pusher_js):
    sender = pusher_js.connect("sender")
    pusher_js.connect("other")
    for client in ("sender", "other"):
        subscribe(pusher_js, client, "agent-status")
    status = {"agent_id": "a-1", "agent_type": "content_generation", "status": "active"}
    trigger(stack, {"channel": "agent-status", "event": "agent_started", "data": status, "socket_id": sender})
    pusher_js.wait_event(client="other", event="agent_started", channel="agent-status")
    # Then one event for everyone: per-connection order is kept, so if the sender's first event is this
    # one, the excluded event never reached it.
    trigger(stack, {"channel": "agent-status", "event": "agent_completed", "data": status})
    pusher_js.wait_event(client="other", event="agent_completed", channel="agent-status")
    pusher_js.wait_event(client="sender", event="agent_completed", channel="agent-status")
    assert events_of(pusher_js, "sender") == [("agent-status", "agent_completed")]


def test_multi_channel_trigger_reaches_each_user(stack, pusher_js):
    for user in ("u-1", "u-2"):
        pusher_js.connect(user, token=token(stack, user))
        subscribe(pusher_js, user, f"private-user-{user}")
    body = trigger(
        stack, {"channels": ["private-user-u-1", "private-user-u-2"], "event": "grade_posted", "data": GRADE}
    )
    assert body["event_count"] == 1
    for user in ("u-1", "u-2"):
        got = pusher_js.wait_event(client=user, event="grade_posted", channel=f"private-user-{user}")
        assert got["data"]["title"] == GRADE["title"]


def test_batch_events_all_arrive(stack, pusher_js):
    pusher_js.connect("watcher")
    for channel in ("content-generation", "dashboard-updates"):
        subscribe(pusher_js, "watcher", channel)
    progress = {"content_id": "content_12345", "progress": 75, "stage": "generating_scripts"}
    body = trigger(
        stack,
        {
            "events": [
                {"channel": "content-generation", "event": "progress_update", "data": progress},
                {"channel": "dashboard-updates", "event": "notification", "data": NOTIFICATION},
            ]
        },
        path="/realtime/trigger/batch",
    )
    assert body["event_count"] == 2
    got = pusher_js.wait_event(client="watcher", event="progress_update", channel="content-generation")
    assert got["data"] == {**progress, "event_id": body["event_ids"][0]}
    pusher_js.wait_event(client="watcher", event="notification", channel="dashboard-updates")


def test_idempotency_key_retry_is_delivered_once(stack, pusher_js):
    pusher_js.connect("once")
    subscribe(pusher_js, "once", "content-generation")
    payload = {
        "channel": "content-generation",
        "event": "generation_completed",
        "data": {"content_id": "c-idem", "progress": 100, "stage": "done"},
    }
    headers = {"idempotency-key": f"e2e-{time.time_ns()}"}
    first = stack.json("POST", "/realtime/trigger", payload, token=admin(stack), headers=headers)
    second = stack.json("POST", "/realtime/trigger", payload, token=admin(stack), headers=headers)
    assert first[0] == second[0] == 200
    assert second[1]["idempotent-replayed"] == "true"
    pusher_js.wait_event(client="once", event="generation_completed", channel="content-generation")
    marker = {**payload, "data": {**payload["data"], "content_id": "c-marker"}}
    trigger(stack, marker)
    got = pusher_js.wait_event(client="once", event="generation_completed", channel="content-generation")
    assert got["data"]["content_id"] == "c-marker"  # not a second copy of the first event


def test_non_admin_is_refused_and_nothing_is_delivered(stack, pusher_js):
    pusher_js.connect("bystander")
    subscribe(pusher_js, "bystander", "dashboard-updates")
    payload = {"channel": "dashboard-updates", "event": "notification", "data": NOTIFICATION}
    status, _, body = stack.json(
        "POST", "/realtime/trigger", payload, token=token(stack, "s", role="student")
    )
    assert status == 403
    assert body["code"] == "trigger_not_allowed"
    status, headers, _ = stack.json("POST", "/realtime/trigger", payload)
    assert status == 401
    assert headers["www-authenticate"].startswith("Bearer")
    marker(stack, pusher_js, "bystander")
    assert events_of(pusher_js, "bystander") == [("dashboard-updates", "maintenance_alert")]


def readme_curl_example() -> str:
    """The first curl block under the README's POST /realtime/trigger heading, as written."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### `POST /realtime/trigger`", 1)[1]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.DOTALL)
    return next(block for block in blocks if "curl" in block and "/realtime/trigger" in block)


def test_readme_curl_example_works_as_written(stack, pusher_js):
    socket_id = pusher_js.connect("excluded")
    pusher_js.connect("audience")
    for client in ("excluded", "audience"):
        subscribe(pusher_js, client, "dashboard-updates")
    script = readme_curl_example()
    assert "123456.789012" in script
    lines = [line for line in script.splitlines() if not line.startswith("TOKEN=")]
    command = (
        "\n".join(lines).replace("http://127.0.0.1:8008", stack.base).replace("123456.789012", socket_id)
    )
    out = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", command],
        env={**os.environ, "TOKEN": admin(stack)},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    answer = json.loads(out.stdout)
    assert answer["success"] is True
    assert answer["message"] == "Event triggered successfully"
    got = pusher_js.wait_event(client="audience", event="notification", channel="dashboard-updates")
    assert got["data"] == {**NOTIFICATION, "event_id": answer["event_ids"][0]}
    marker(stack, pusher_js, "excluded")
    assert events_of(pusher_js, "excluded") == [("dashboard-updates", "maintenance_alert")]
