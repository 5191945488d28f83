"""Webhooks and presence through the real local stack: soketi's webhooks reach /pusher/webhook, the read
API shows who is in a classroom, and `make reconcile` repairs what the webhooks missed."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from local_stack.token import mint_dev_token
from tests.e2e.conftest import ROOT, PusherJs, Stack

pytestmark = pytest.mark.e2e


def token(
    stack: Stack, sub: str, role: str = "student", classes: tuple[str, ...] = (), name: str | None = None
) -> str:
    return mint_dev_token(sub, role=role, class_ids=classes, name=name, secret=stack.env["JWT_SECRET"])  # type: ignore[arg-type]


def admin(stack: Stack) -> str:
    return token(stack, "e2e-admin", role="admin")


def eventually(probe: Callable[[], Any], accept: Callable[[Any], bool], timeout: float = 10) -> Any:
    """Poll ``probe`` until ``accept`` holds (soketi sends its webhooks asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if accept(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def members(stack: Stack, channel: str) -> dict[str, Any]:
    status, _, body = stack.request(
        "GET", f"/realtime/channels/{channel}/members", headers={"authorization": f"Bearer {admin(stack)}"}
    )
    assert status == 200, body
    return body


def listed(stack: Stack, prefix: str) -> list[str]:
    status, _, body = stack.request(
        "GET", f"/realtime/channels?prefix={prefix}", headers={"authorization": f"Bearer {admin(stack)}"}
    )
    assert status == 200, body
    return [c["name"] for c in body["channels"]]


def post_webhook(
    stack: Stack, events: list[dict[str, Any]], secret: str | None = None, age_s: float = 0
) -> tuple[int, Any]:
    body = json.dumps({"time_ms": int((time.time() - age_s) * 1000), "events": events}).encode()
    signature = hmac.new((secret or stack.env["PUSHER_SECRET"]).encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "content-type": "application/json",
        "x-pusher-key": stack.env["PUSHER_KEY"],
        "x-pusher-signature": signature,
    }
    status, _, answer = stack.request("POST", "/pusher/webhook", body=body, headers=headers)
    return status, answer


def join_classroom(stack: Stack, pusher_js: PusherJs, client: str, name: str) -> tuple[str, str]:
    """A pusher-js client of a student of a fresh class joins its classroom: (channel, user id)."""
    class_id = uuid.uuid4().hex[:10]
    channel, user_id = f"presence-classroom-{class_id}", f"s-{class_id}"
    pusher_js.connect(client, token(stack, user_id, classes=(class_id,), name=name))
    reply = pusher_js.call("subscribe", client=client, channel=channel)
    assert reply["subscribed"], reply
    return channel, user_id


def test_a_pusher_js_member_is_listed_and_gone_with_the_channel_when_it_leaves(stack, pusher_js: PusherJs):
    channel, user_id = join_classroom(stack, pusher_js, "ada", "Ada Lovelace")

    seen = eventually(lambda: members(stack, channel), lambda body: body["count"] == 1)
    assert seen["occupied"] is True
    assert [m["user_id"] for m in seen["members"]] == [user_id]
    assert listed(stack, channel) == [channel]

    pusher_js.call("disconnect", client="ada")
    gone = eventually(lambda: members(stack, channel), lambda body: not body["occupied"])
    assert gone == {"channel": channel, "occupied": False, "members": [], "count": 0}
    assert listed(stack, channel) == []


def test_a_pusher_js_member_is_listed_with_the_name_of_its_token(stack, pusher_js: PusherJs):
    # The webhook carries only the user id: the name is what /pusher/auth signed into channel_data and
    # recorded by /pusher/auth (stores.presence.member_info_put).
    channel, user_id = join_classroom(stack, pusher_js, "grace", "Grace Hopper")
    seen = eventually(lambda: members(stack, channel), lambda body: body["count"] == 1)
    assert [m["user_id"] for m in seen["members"]] == [user_id]
    assert seen["members"][0].get("user_info", {}).get("name") == "Grace Hopper", seen


def test_a_hand_signed_webhook_is_applied_and_a_forged_one_refused(stack):
    channel = f"presence-classroom-{uuid.uuid4().hex[:10]}"
    status, answer = post_webhook(
        stack,
        [
            {"name": "channel_occupied", "channel": channel},
            {"name": "member_added", "channel": channel, "user_id": "7"},
        ],
    )
    assert (status, answer["applied"]) == (200, 2)
    assert [m["user_id"] for m in members(stack, channel)["members"]] == ["7"]

    status, answer = post_webhook(
        stack, [{"name": "member_removed", "channel": channel, "user_id": "7"}], secret="forged"
    )
    assert (status, answer["code"]) == (401, "invalid_webhook_signature")
    assert [m["user_id"] for m in members(stack, channel)["members"]] == ["7"]


def test_make_reconcile_removes_a_ghost_the_webhooks_left_behind(stack):
    channel = f"presence-classroom-{uuid.uuid4().hex[:10]}"
    # soketi has nobody in this channel; the store was told someone joined 30 s ago (and the removal
    # was lost). A webhook from the last second would win over the repair: see reconcile.CLOCK_SKEW_MS.
    status, _ = post_webhook(
        stack,
        [
            {"name": "channel_occupied", "channel": channel},
            {"name": "member_added", "channel": channel, "user_id": "ghost"},
        ],
        age_s=30,
    )
    assert status == 200
    # The stack's own environment (its ports), never this process's: a test may have left an endpoint set.
    env = {k: v for k, v in stack.env.items() if k != "AWS_ENDPOINT_URL_DYNAMODB"}
    run = subprocess.run(
        [sys.executable, "-m", "local_stack.invoke", "ReconcileFunction", "events/reconcile_scheduled.json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["corrections"]["ghost_member"] >= 1
    assert report["corrections"]["missed_vacated"] >= 1
    assert members(stack, channel) == {"channel": channel, "occupied": False, "members": [], "count": 0}
