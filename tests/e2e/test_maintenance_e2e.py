"""Maintenance windows through the real local stack: a browser on dashboard-updates gets the alerts.

The window is created through the stack's API with a start two minutes ahead and a 15-minute lead time,
so its alert is due at once. Instead of waiting for the stack's own minute tick, the scheduled function
is run now with ``python -m local_stack.invoke`` against the stack's DynamoDB and soketi (if the tick
comes first, it sends the alert and the invocation finds nothing left to do: either way, once).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

import pytest

from local_stack.token import mint_dev_token
from tests.e2e.conftest import ROOT, PusherJs, Stack

pytestmark = pytest.mark.e2e

CHANNEL = "dashboard-updates"


def iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def admin(stack: Stack) -> str:
    return mint_dev_token("ops", role="admin", secret=stack.env["JWT_SECRET"])


def run_schedule_now(stack: Stack) -> dict[str, Any]:
    """One run of the scheduled function against the stack; its report."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "local_stack.invoke",
            "MaintenanceSchedulerFunction",
            "events/maintenance_scheduled.json",
        ],
        cwd=ROOT,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    report: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return report


def create_window(stack: Stack, title: str) -> dict[str, Any]:
    now = time.time()
    body = {
        "starts_at": iso(now + 120),
        "ends_at": iso(now + 3720),
        "title": title,
        "message": "ToolBoxAI is read-only for an hour.",
        "action_url": "/status",
        "lead_minutes": [15],
    }
    status, headers, window = stack.json("POST", "/realtime/maintenance", body, token=admin(stack))
    assert status == 201, window
    assert headers["location"] == f"/realtime/maintenance/{window['id']}"
    return dict(window)


def dashboard(pusher_js: PusherJs, client: str) -> None:
    pusher_js.connect(client)
    reply = pusher_js.call("subscribe", client=client, channel=CHANNEL)
    assert reply["subscribed"], reply


def alert(pusher_js: PusherJs, client: str, alert_id: str, timeout: float = 10) -> dict[str, Any]:
    """The data of the maintenance_alert ``alert_id`` once ``client`` has it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = received(pusher_js, client, alert_id)
        if found:
            return found[0]
        time.sleep(0.05)
    raise AssertionError(f"{client} did not receive {alert_id} within {timeout} s")


def received(pusher_js: PusherJs, client: str, alert_id: str) -> list[dict[str, Any]]:
    out = []
    for msg in list(pusher_js.lines):
        if msg.get("type") != "event" or msg["client"] != client or msg["event"] != "maintenance_alert":
            continue
        data = json.loads(msg["data"]) if isinstance(msg["data"], str) else msg["data"]
        if msg["channel"] == CHANNEL and data.get("alert_id") == alert_id:
            out.append(data)
    return out


def test_an_alert_of_a_window_created_through_the_api_reaches_pusher_js_once(stack, pusher_js):
    dashboard(pusher_js, "ops-dashboard")
    window = create_window(stack, "Database upgrade")
    alert_id = f"{window['id']}:15m"

    run_schedule_now(stack)
    data = alert(pusher_js, "ops-dashboard", alert_id)
    assert data["type"] == "warning"
    assert data["title"] == "Database upgrade"
    assert data["message"] == "ToolBoxAI is read-only for an hour."
    assert data["action_url"] == "/status"
    assert data["expires_at"] == window["ends_at"]
    assert data["maintenance_id"] == window["id"]

    assert run_schedule_now(stack)["sent"] == []  # a second run finds it sent
    time.sleep(0.5)
    assert len(received(pusher_js, "ops-dashboard", alert_id)) == 1

    status, _, shown = stack.request(
        "GET", f"/realtime/maintenance/{window['id']}", headers={"authorization": f"Bearer {admin(stack)}"}
    )
    assert status == 200
    assert [(a["minutes_before_start"], a["state"]) for a in shown["alerts"]] == [(15, "sent")]


def test_cancelling_a_window_whose_alert_went_out_sends_the_notice_to_pusher_js(stack, pusher_js):
    dashboard(pusher_js, "ops-dashboard")
    window = create_window(stack, "Search reindex")
    run_schedule_now(stack)
    alert(pusher_js, "ops-dashboard", f"{window['id']}:15m")

    status, _, cancelled = stack.request(
        "DELETE", f"/realtime/maintenance/{window['id']}", headers={"authorization": f"Bearer {admin(stack)}"}
    )
    assert status == 200, cancelled
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancellation_alert"]["state"] == "sent"
    notice = alert(pusher_js, "ops-dashboard", f"{window['id']}:cancelled")
    assert notice["type"] == "info"
    assert notice["title"] == "Cancelled: Search reindex"
    assert notice["cancelled"] is True
