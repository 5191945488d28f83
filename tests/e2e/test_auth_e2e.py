"""Channel authorization and sign-in end to end: pusher-js 8 with its default options against soketi and
the local gateway (form-encoded POSTs to /pusher/auth and /pusher/user-auth with a bearer token)."""

from __future__ import annotations

import urllib.parse

import pytest

from local_stack.token import mint_dev_token
from tests.e2e.conftest import PusherJs, start_stack, stop_stack

pytestmark = pytest.mark.e2e


def student(sub: str = "e2e-s1") -> str:
    return mint_dev_token(sub, role="student", name="Arnold Perlstein", class_ids=["101"])


def test_default_pusher_js_subscribes_to_its_private_class_and_presence_channels(pusher_js):
    pusher_js.connect("arnold", token=student("e2e-s1"))
    own = pusher_js.call("subscribe", client="arnold", channel="private-user-e2e-s1")
    klass = pusher_js.call("subscribe", client="arnold", channel="private-class-101")
    room = pusher_js.call("subscribe", client="arnold", channel="presence-classroom-101")
    assert own["subscribed"], own
    assert klass["subscribed"], klass
    assert room["subscribed"], room
    assert room["me"] == {
        "id": "e2e-s1",
        "info": {"name": "Arnold Perlstein", "role": "student", "status": "active"},
    }
    assert {"id": "e2e-s1", "info": room["me"]["info"]} in room["members"]


def test_presence_members_see_each_others_name_role_and_status(pusher_js):
    teacher = mint_dev_token("e2e-t1", role="teacher", name="Ms. Frizzle", class_ids=["102"])
    pusher_js.connect("frizzle", token=teacher, authParams={"status": "busy", "current_activity": "Grading"})
    pusher_js.connect("wanda", token=mint_dev_token("e2e-s2", name="Wanda Li", class_ids=["102"]))
    assert pusher_js.call("subscribe", client="frizzle", channel="presence-classroom-102")["subscribed"]
    joined = pusher_js.call("subscribe", client="wanda", channel="presence-classroom-102")
    members = {m["id"]: m["info"] for m in joined["members"]}
    assert members == {
        "e2e-t1": {"name": "Ms. Frizzle", "role": "teacher", "status": "busy", "current_activity": "Grading"},
        "e2e-s2": {"name": "Wanda Li", "role": "student", "status": "active"},
    }


def test_another_users_channel_is_a_403_and_no_token_a_401(pusher_js):
    pusher_js.connect("arnold", token=student("e2e-s3"))
    pusher_js.connect("anonymous", token=None)
    other = pusher_js.call("subscribe", client="arnold", channel="private-user-e2e-s4")
    assert (other["subscribed"], other["status"]) == (False, 403)
    anonymous = pusher_js.call("subscribe", client="anonymous", channel="private-class-101")
    assert (anonymous["subscribed"], anonymous["status"]) == (False, 401)


def test_the_batch_plugins_request_authorizes_several_channels_in_one_post(pusher_js):
    pusher_js.connect("batcher", token=student("e2e-s5"), authorizer="batch")
    reply = pusher_js.call(
        "subscribe_many",
        client="batcher",
        channels=["private-user-e2e-s5", "presence-classroom-101", "private-user-e2e-s6"],
    )
    results = reply["results"]
    assert reply["batchRequests"] == 1
    assert results["private-user-e2e-s5"]["subscribed"], results
    assert results["presence-classroom-101"]["subscribed"], results
    assert results["private-user-e2e-s6"]["subscribed"] is False
    assert "403" in results["private-user-e2e-s6"]["error"]


def test_json_and_form_requests_get_the_same_signature(stack):
    token = student("e2e-s7")
    fields = {"socket_id": "123.456", "channel_name": "private-user-e2e-s7"}
    auth = {"authorization": f"Bearer {token}"}
    as_json = stack.json("POST", "/pusher/auth", fields, token=token)
    as_form = stack.request(
        "POST",
        "/pusher/auth",
        body=urllib.parse.urlencode(fields).encode(),
        headers={**auth, "content-type": "application/x-www-form-urlencoded"},
    )
    assert as_json[0] == as_form[0] == 200
    assert as_json[2] == as_form[2]
    assert set(as_json[2]) == {"auth"}


def test_signin_works_when_user_authentication_is_on():
    stack = start_stack({"PUSHER_USER_AUTHENTICATION": "true"})
    driver = PusherJs(stack)
    try:
        token = mint_dev_token("e2e-s8", name="Keesha Franklin", class_ids=["101"])
        driver.connect("keesha", token=token)
        signed = driver.call("signin", client="keesha")
        assert signed["signed_in"], signed
        assert signed["user_data"] == {
            "id": "e2e-s8",
            "user_info": {"name": "Keesha Franklin", "role": "student"},
        }
        room = driver.call("subscribe", client="keesha", channel="presence-classroom-101")
        assert room["subscribed"], room

        driver.connect("nobody", token=mint_dev_token("e2e-s9", ttl_seconds=-60))
        refused = driver.call("signin", client="nobody")
        assert (refused["signed_in"], refused["status"]) == (False, 401)
    finally:
        driver.close()
        assert stop_stack(stack) == 0
