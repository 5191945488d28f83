"""User-level control end to end, with sign-in required: pusher-js 8 (``signin()`` against
/pusher/user-auth), soketi with ``PUSHER_USER_AUTHENTICATION=true`` and the local gateway.

One stack with sign-in on (``signin_stack``) is started once for these tests; every test uses its own
user ids so that they do not see each other's connections.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from local_stack.token import mint_dev_token
from tests.e2e.conftest import PusherJs, Stack

pytestmark = pytest.mark.e2e

GRADE = {"type": "grade", "title": "New Grade Posted", "message": "Your math quiz has been graded"}


def admin() -> str:
    return mint_dev_token("e2e-admin", role="admin")


def student(sub: str, **claims: Any) -> str:
    return mint_dev_token(sub, name=sub, class_ids=["701"], lesson_ids=["801"], **claims)


def signed_in(driver: PusherJs, client: str, token: str) -> str:
    socket_id = driver.connect(client, token=token)
    answer = driver.call("signin", client=client)
    assert answer["signed_in"], answer
    driver.call("bind_user", client=client)
    return socket_id


def dropped(driver: PusherJs, client: str, timeout: float) -> dict[str, Any]:
    return driver.wait_line(
        lambda m: m.get("type") == "state" and m["client"] == client and m["current"] == "disconnected",
        timeout=timeout,
    )


def test_sign_in_is_required_and_works_with_the_user_auth_endpoint(signin_pusher_js):
    signin_pusher_js.connect("anna", token=student("e2e-u-anna"))
    answer = signin_pusher_js.call("signin", client="anna")
    assert answer["signed_in"], answer
    assert answer["user_data"]["id"] == "e2e-u-anna"


def test_a_user_targeted_event_reaches_both_connections_of_the_user_and_no_one_else(
    signin_stack: Stack, signin_pusher_js: PusherJs
):
    driver = signin_pusher_js
    signed_in(driver, "bea-laptop", student("e2e-u-bea"))
    signed_in(driver, "bea-phone", student("e2e-u-bea"))
    signed_in(driver, "carl", student("e2e-u-carl"))
    status, _, answer = signin_stack.json(
        "POST", "/realtime/users/e2e-u-bea/events", {"event": "grade_posted", "data": GRADE}, token=admin()
    )
    assert status == 200, answer
    for client in ("bea-laptop", "bea-phone"):
        got = driver.wait_event(client=client, event="grade_posted", channel="#user")
        assert got["data"]["title"] == GRADE["title"]
        assert got["data"]["event_id"] == answer["event_ids"][0]
    time.sleep(1.0)  # the two deliveries above went out together; anything for carl would be here by now
    assert not [m for m in driver.lines if m.get("type") == "event" and m["client"] == "carl"]


def test_terminate_drops_both_connections_of_the_user_only(signin_stack: Stack, signin_pusher_js: PusherJs):
    driver = signin_pusher_js
    signed_in(driver, "dan-1", student("e2e-u-dan"))
    signed_in(driver, "dan-2", student("e2e-u-dan"))
    signed_in(driver, "eve", student("e2e-u-eve"))
    status, _, answer = signin_stack.json("POST", "/realtime/users/e2e-u-dan/terminate", {}, token=admin())
    assert (status, answer) == (200, {"user_id": "e2e-u-dan", "terminated": True})
    dropped(driver, "dan-1", timeout=5)
    dropped(driver, "dan-2", timeout=5)
    assert driver.call("state", client="eve")["state"] == "connected"


def test_a_class_revocation_cuts_the_class_channels_within_5_s_and_keeps_the_private_channel(
    signin_stack: Stack, signin_pusher_js: PusherJs
):
    driver = signin_pusher_js
    token = student("e2e-u-fay")
    signed_in(driver, "fay", token)
    for channel in ("private-class-701", "presence-classroom-701", "private-user-e2e-u-fay"):
        assert driver.call("subscribe", client="fay", channel=channel)["subscribed"], channel

    started = time.monotonic()
    status, _, answer = signin_stack.json(
        "POST", "/realtime/revocations", {"user_id": "e2e-u-fay", "class_id": "701"}, token=admin()
    )
    assert status == 201, answer
    assert answer["connections_terminated"] is True
    dropped(driver, "fay", timeout=5)
    assert time.monotonic() - started < 5

    # pusher-js reconnects (the page calls connect()), signs in again and re-authorizes every channel.
    mark = len(driver.lines)
    driver.call("reconnect", client="fay")

    def resubscribed(channel: str) -> dict[str, Any]:
        return driver.wait_line(
            lambda m: (
                m.get("type") == "subscription"
                and m["client"] == "fay"
                and m["channel"] == channel
                and driver.lines.index(m) >= mark
            )
        )

    assert resubscribed("private-user-e2e-u-fay")["ok"] is True
    for channel in ("private-class-701", "presence-classroom-701"):
        again = resubscribed(channel)
        assert (again["ok"], again["status"]) == (False, 403), channel

    # A token issued after the revocation is accepted for the scopes that are not revoked.
    time.sleep(1.1)  # iat is in whole seconds; the revocation covers tokens issued in its second
    signed_in(driver, "fay-new", student("e2e-u-fay"))
    assert driver.call("subscribe", client="fay-new", channel="presence-lesson-801")["subscribed"]
    assert driver.call("subscribe", client="fay-new", channel="private-user-e2e-u-fay")["subscribed"]


def test_a_forbidden_client_event_ends_the_senders_connection(
    signin_stack: Stack, signin_pusher_js: PusherJs
):
    driver = signin_pusher_js
    signed_in(driver, "gil", student("e2e-u-gil"))
    signed_in(driver, "hal", student("e2e-u-hal"))
    assert driver.call("subscribe", client="gil", channel="presence-lesson-801")["subscribed"]
    assert driver.call("subscribe", client="hal", channel="presence-lesson-801")["subscribed"]

    # Within the lesson's limit (4,096 bytes): relayed, and nobody is cut off.
    driver.call(
        "trigger_client", client="gil", channel="presence-lesson-801", event="client-cursor", data={"x": 1}
    )
    driver.wait_event(client="hal", event="client-cursor", channel="presence-lesson-801")
    time.sleep(1.0)
    assert driver.call("state", client="gil")["state"] == "connected"

    # Over the limit: the webhook ends the sender's connections.
    big = {"x": "a" * 5000}
    assert driver.call(
        "trigger_client", client="gil", channel="presence-lesson-801", event="client-cursor", data=big
    )["sent"]
    dropped(driver, "gil", timeout=5)
    assert driver.call("state", client="hal")["state"] == "connected"
    refused = [
        json.loads(line)
        for line in list(signin_stack.output)
        if '"client_event_refused"' in line and "e2e-u-gil" in line
    ]
    assert [(r["reason"], r["action"]) for r in refused] == [("client_event_too_large", "terminated")]
