"""User-level control in-process under moto, Pusher mocked: send to a user, terminate, revocations
(checked inside the auth request's one DynamoDB call), the client-event policy and the class watch.

Given a request, when the function handles it, then: 401 without a token, 403 without the role, 404 for
what does not exist, 422 for bad input, never a 500; and the effects on Pusher and on /pusher/auth.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import jwt
import pytest
import requests
import responses

from local_stack.token import mint_dev_token
from tests.conftest import client_events, gateway, http_event, invoke
from tests.integration.test_webhook import webhook_event
from toolboxai_realtime.caches import reset_caches
from toolboxai_realtime.stores import revocations

APP = "http://127.0.0.1:6001/apps/1001"
TERMINATE = re.compile(rf"{re.escape(APP)}/users/[^/]+/terminate_connections")
SECRET = "toolboxai-local-secret"
GRADE = {"type": "grade", "title": "New Grade Posted", "message": "Your math quiz has been graded"}


@pytest.fixture(autouse=True)
def _fresh_publisher() -> Iterator[None]:
    reset_caches()
    yield
    reset_caches()


@pytest.fixture
def pusher() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(f"{APP}/events", json={})
        mock.post(TERMINATE, json={})
        yield mock


@pytest.fixture
def calls(aws_tables) -> list[str]:
    """Every DynamoDB API call the layer makes, by operation name."""
    seen: list[str] = []
    client_events().register("before-call.dynamodb.*", lambda model, **_: seen.append(model.name))
    return seen


def admin() -> str:
    return mint_dev_token("ops", role="admin")


def student(sub: str = "s1", **claims: Any) -> str:
    return mint_dev_token(sub, name="Arnold", class_ids=["101"], lesson_ids=["9"], **claims)


def call(
    method: str, path: str, token: str | None, body: Any = None, query: str = ""
) -> tuple[int, dict[str, str], Any]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    if body is not None:
        headers["content-type"] = "application/json"
    raw = json.dumps(body).encode() if body is not None else None
    return invoke(http_event(method, path, body=raw, headers=headers, query=query))


def channel_auth(token: str, *channels: str, socket: str = "1.1") -> tuple[int, dict[str, str], Any]:
    fields = (
        {"channel_name": channels[0]}
        if len(channels) == 1
        else {f"channel_name[{i}]": name for i, name in enumerate(channels)}
    )
    body = urlencode({"socket_id": socket, **fields})
    headers = {"content-type": "application/x-www-form-urlencoded", "authorization": f"Bearer {token}"}
    return invoke(http_event("POST", "/pusher/auth", body=body, headers=headers))


def user_auth(token: str, socket: str = "1.1") -> tuple[int, dict[str, str], Any]:
    headers = {"content-type": "application/x-www-form-urlencoded", "authorization": f"Bearer {token}"}
    return invoke(http_event("POST", "/pusher/user-auth", body=f"socket_id={socket}", headers=headers))


def terminated(mock: responses.RequestsMock) -> list[str]:
    return [urlsplit(c.request.url).path for c in mock.calls if "terminate_connections" in c.request.url]


def revoke(**body: str) -> dict[str, Any]:
    status, _, answer = call("POST", "/realtime/revocations", admin(), body)
    assert status == 201, answer
    return answer


# ------------------------------------------------------------------------------ who may call what

ROUTES = [
    ("POST", "/realtime/users/s1/events", {"event": "grade_posted", "data": GRADE}),
    ("POST", "/realtime/users/s1/terminate", None),
    ("POST", "/realtime/revocations", {"user_id": "s1"}),
    ("GET", "/realtime/revocations", None),
    ("DELETE", "/realtime/revocations/czEKdXNlcg", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_every_route_is_401_without_a_token_and_403_for_a_student(aws_tables, pusher, method, path, body):
    status, headers, answer = call(method, path, None, body)
    assert (status, answer["code"]) == (401, "missing_token")
    assert headers["www-authenticate"].startswith("Bearer")
    status, _, answer = call(method, path, student(), body)
    assert status == 403, answer
    assert answer["code"] in {"admin_required", "trigger_not_allowed"}
    assert not pusher.calls


def test_a_teacher_may_not_terminate_or_revoke_but_a_service_may_send(aws_tables, pusher):
    teacher = mint_dev_token("t1", role="teacher", class_ids=["101"])
    assert call("POST", "/realtime/users/s1/terminate", teacher)[0] == 403
    assert call("POST", "/realtime/revocations", teacher, {"user_id": "s1"})[0] == 403
    service = mint_dev_token("svc", role="student", scopes=["realtime:trigger"])
    status, _, answer = call(
        "POST", "/realtime/users/s1/events", service, {"event": "grade_posted", "data": GRADE}
    )
    assert status == 200, answer
    status, _, answer = call("POST", "/realtime/users/s1/terminate", service)
    assert (status, answer["code"]) == (403, "admin_required")  # the scope sends; only admins terminate
    assert call("GET", "/realtime/revocations", service)[2]["code"] == "admin_required"


def test_unknown_routes_and_unknown_revocations_are_404(aws_tables, pusher):
    # No such route: API Gateway (the local gateway likewise) answers 404 before any function runs.
    assert gateway().match("GET", "/realtime/users/s1/terminate") is None
    assert gateway().match("DELETE", "/realtime/users/s1") is None
    for revocation_id in ("czEKdXNlcg", "not-base64!!", "x" * 500):
        status, _, answer = call("DELETE", f"/realtime/revocations/{revocation_id}", admin())
        assert (status, answer["code"]) == (404, "revocation_not_found")


BAD = {
    "unknown event": ("/realtime/users/s1/events", {"event": "maintenance_alert", "data": GRADE}, 422),
    "invalid data": ("/realtime/users/s1/events", {"event": "grade_posted", "data": {"type": 5}}, 422),
    "client event": ("/realtime/users/s1/events", {"event": "client-x", "data": GRADE}, 422),
    "extra field": ("/realtime/users/s1/events", {"event": "grade_posted", "data": GRADE, "x": 1}, 422),
    "bad user id": ("/realtime/users/a%20b/events", {"event": "grade_posted", "data": GRADE}, 422),
    "both scopes": ("/realtime/revocations", {"user_id": "s1", "class_id": "1", "lesson_id": "2"}, 422),
    "no user": ("/realtime/revocations", {"class_id": "1"}, 422),
    "bad class id": ("/realtime/revocations", {"user_id": "s1", "class_id": "a b"}, 422),
    "user id too long": ("/realtime/revocations", {"user_id": "u" * 129}, 422),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_422_in_the_error_model_and_changes_nothing(aws_tables, pusher, case):
    path, body, expected = BAD[case]
    status, _, answer = call("POST", path, admin(), body)
    assert status == expected, answer
    assert isinstance(answer["code"], str)
    assert isinstance(answer["message"], str)
    assert not pusher.calls
    assert revocations.list_active() == []


def test_terminate_of_a_bad_user_id_and_listing_by_a_bad_user_id_are_422(aws_tables, pusher):
    assert call("POST", "/realtime/users/a%3Ab/terminate", admin())[0] == 422
    assert call("GET", "/realtime/revocations", admin(), query="user_id=a%20b")[0] == 422
    assert not pusher.calls


# ------------------------------------------------------------------------------------ send to user


def test_send_to_user_goes_to_the_server_to_user_channel_with_the_trigger_checks(aws_tables, pusher, calls):
    status, _, answer = call(
        "POST", "/realtime/users/s1/events", admin(), {"event": "grade_posted", "data": GRADE}
    )
    assert status == 200, answer
    assert answer["channels"] == ["#server-to-user-s1"]
    (sent,) = [json.loads(c.request.body) for c in pusher.calls]
    assert sent["channels"] == ["#server-to-user-s1"]
    assert sent["name"] == "grade_posted"
    delivered = json.loads(sent["data"])
    assert delivered["title"] == GRADE["title"]
    assert delivered["event_id"] == answer["event_ids"][0]  # issue 13's event id, as on any trigger
    assert answer["events"][0]["sent_bytes"] == len(sent["data"].encode())  # measured on the bytes sent
    assert calls == ["UpdateItem"]  # the rate limit, as a trigger


def test_send_to_user_is_rate_limited_like_a_trigger(aws_tables, pusher, monkeypatch):
    monkeypatch.setenv("TRIGGER_RATE_LIMIT_PER_MINUTE", "2")

    reset_caches()
    body = {"event": "grade_posted", "data": GRADE}
    assert [call("POST", "/realtime/users/s1/events", admin(), body)[0] for _ in range(3)] == [200, 200, 429]
    assert call("POST", "/realtime/users/s2/events", admin(), body)[0] == 200  # per user
    assert len(pusher.calls) == 3


def test_send_to_user_refuses_an_event_id_in_the_data(aws_tables, pusher):
    body = {"event": "grade_posted", "data": {**GRADE, "event_id": "mine"}}
    status, _, answer = call("POST", "/realtime/users/s1/events", admin(), body)
    assert (status, answer["code"]) == (422, "event_id_not_allowed")
    assert not pusher.calls


def test_send_to_user_refuses_data_over_10240_bytes_with_413(aws_tables, pusher):
    big = {**GRADE, "details": "é" * 5200}  # extra keys are kept: 10,400 bytes of them
    status, _, answer = call(
        "POST", "/realtime/users/s1/events", admin(), {"event": "grade_posted", "data": big}
    )
    assert status == 413, answer
    assert not pusher.calls


# --------------------------------------------------------------------------------------- terminate


def test_terminate_posts_the_documented_path_signed_by_the_sdk(aws_tables, pusher):
    status, _, answer = call("POST", "/realtime/users/s-1.x/terminate", admin())
    assert (status, answer) == (200, {"user_id": "s-1.x", "terminated": True})
    (request,) = [c.request for c in pusher.calls]
    url = urlsplit(request.url)
    # pusher 3.3.4 would post /users/{id}/terminate_connections (no /apps/{app_id}): soketi answers 404.
    assert url.path == "/apps/1001/users/s-1.x/terminate_connections"
    query = dict(parse_qsl(url.query))
    signed = "\n".join(
        ["POST", url.path, "&".join(f"{k}={query[k]}" for k in sorted(query) if k != "auth_signature")]
    )
    expected = hmac.new(SECRET.encode(), signed.encode(), hashlib.sha256).hexdigest()
    assert hmac.compare_digest(query["auth_signature"], expected)


def test_terminate_when_pusher_fails_is_a_502_or_503_not_a_500(aws_tables):
    with responses.RequestsMock() as mock:
        mock.post(TERMINATE, status=500)
        status, _, answer = call("POST", "/realtime/users/s1/terminate", admin())
    assert status in (502, 503), answer


# ------------------------------------------------------------------------------------- revocations


def test_a_class_revocation_refuses_that_class_only_and_ends_the_connections(aws_tables, pusher):
    token = student()
    answer = revoke(user_id="s1", class_id="101")
    assert (answer["scope"], answer["class_id"], answer["connections_terminated"]) == ("class", "101", True)
    assert terminated(pusher) == ["/apps/1001/users/s1/terminate_connections"]
    for channel in ("private-class-101", "presence-classroom-101"):
        status, _, body = channel_auth(token, channel)
        assert (status, body["code"]) == (403, "access_revoked"), channel
    assert channel_auth(token, "private-user-s1")[0] == 200
    assert channel_auth(token, "presence-lesson-9")[0] == 200
    assert user_auth(token)[0] == 200  # signing in is not revoked
    assert channel_auth(student("s2"), "private-class-101")[0] == 200  # another user


def test_a_token_issued_after_the_revocation_is_accepted(aws_tables, pusher):
    answer = revoke(user_id="s1", class_id="101")
    revoked_at = int(
        time.mktime(time.strptime(answer["revoked_at"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
    )
    before = student(iat=revoked_at)
    after = student(iat=revoked_at + 1)
    assert channel_auth(before, "private-class-101")[0] == 403
    assert channel_auth(after, "private-class-101")[0] == 200


def test_a_whole_user_revocation_refuses_every_channel_and_the_sign_in(aws_tables, pusher):
    token = student()
    revoke(user_id="s1")
    assert channel_auth(token, "private-user-s1")[2]["code"] == "access_revoked"
    assert channel_auth(token, "presence-lesson-9")[0] == 403
    assert (user_auth(token)[0], user_auth(token)[2]["code"]) == (403, "access_revoked")


def test_a_lesson_revocation_refuses_the_lesson_channel(aws_tables, pusher):
    token = student()  # issued before the revocation (one minted in a later second is accepted)
    revoke(user_id="s1", lesson_id="9")
    assert channel_auth(token, "presence-lesson-9")[2]["code"] == "access_revoked"
    assert channel_auth(token, "presence-classroom-101")[0] == 200


def test_a_token_without_iat_counts_as_issued_before_every_revocation(aws_tables, pusher):
    revoke(user_id="s1", class_id="101")
    claims = {"sub": "s1", "class_ids": ["101"], "exp": int(time.time()) + 600}
    no_iat = jwt.encode(claims, os.environ["JWT_SECRET"], algorithm="HS256")
    assert channel_auth(no_iat, "private-class-101")[0] == 403


def test_each_auth_is_still_one_dynamodb_call_with_revocations_in_force(aws_tables, pusher, calls):
    token = student()
    revoke(user_id="s1", class_id="101")
    for request, expected in (
        (lambda: channel_auth(token, "private-user-s1"), 200),
        (lambda: channel_auth(token, "private-class-101"), 403),  # refused by the revocation
        (lambda: channel_auth(token, "presence-lesson-9"), 200),
        (lambda: channel_auth(token, "private-user-s1", "presence-lesson-9", "private-user-zz"), 200),
        (lambda: user_auth(token), 200),
    ):
        calls.clear()
        assert request()[0] == expected
        assert calls == ["TransactWriteItems"]


def test_a_batch_mixing_revoked_and_other_channels_answers_each_and_takes_a_second_call(
    aws_tables, pusher, calls
):
    token = student()
    revoke(user_id="s1", class_id="101")
    calls.clear()
    status, _, answer = channel_auth(token, "private-class-101", "private-user-s1", "presence-classroom-101")
    assert status == 200
    assert {name: entry["status"] for name, entry in answer.items()} == {
        "private-class-101": 403,
        "private-user-s1": 200,
        "presence-classroom-101": 403,
    }
    assert answer["private-class-101"]["code"] == "access_revoked"
    assert calls == ["TransactWriteItems", "TransactWriteItems"]


def test_a_revoked_user_at_the_rate_limit_learns_of_the_revocation_others_of_the_limit(
    aws_tables, pusher, monkeypatch
):
    monkeypatch.setenv("AUTH_RATE_LIMIT_PER_MINUTE", "1")

    reset_caches()
    first, second = student(), student("s2")
    assert channel_auth(first, "private-user-s1")[0] == 200
    assert channel_auth(second, "private-user-s2")[0] == 200
    revoke(user_id="s1", class_id="101")
    assert channel_auth(first, "private-class-101")[2]["code"] == "access_revoked"
    assert channel_auth(second, "private-class-101")[2]["code"] == "rate_limited"


def test_list_filter_and_lift(aws_tables, pusher):
    token = student()
    first = revoke(user_id="s1", class_id="101")
    revoke(user_id="s2")
    status, _, listed = call("GET", "/realtime/revocations", admin())
    assert status == 200
    assert [(r["user_id"], r["scope"]) for r in listed["revocations"]] == [("s1", "class"), ("s2", "user")]
    assert call("GET", "/realtime/revocations", admin(), query="user_id=s2")[2]["count"] == 1
    lifted = call("DELETE", f"/realtime/revocations/{first['id']}", admin())
    assert (lifted[0], lifted[2]) == (200, {"id": first["id"], "user_id": "s1", "lifted": True})
    assert channel_auth(token, "private-class-101")[0] == 200
    assert call("DELETE", f"/realtime/revocations/{first['id']}", admin())[0] == 404


def test_a_revocation_expires_with_the_longest_token_lifetime(aws_tables, pusher, monkeypatch):
    monkeypatch.setenv("MAX_TOKEN_LIFETIME_SECONDS", "3600")

    reset_caches()
    answer = revoke(user_id="s1")
    item = aws_tables.get_item(TableName="RevocationTable", Key={"pk": {"S": "s1"}, "sk": {"S": "user"}})[
        "Item"
    ]
    assert int(item["expires_at"]["N"]) - int(item["revoked_at"]["N"]) == 3600 + 30  # + JWT leeway
    assert answer["expires_at"] > answer["revoked_at"]
    # Lapsed (moto keeps items past their TTL): the check must not rely on the deletion.
    revocations.put(revocations.Revocation("s1", "user", int(time.time()) - 10, int(time.time()) - 1))
    assert channel_auth(student(), "private-user-s1")[0] == 200
    assert call("GET", "/realtime/revocations", admin())[2]["count"] == 0


def test_a_revocation_is_stored_even_when_pusher_cannot_end_the_connections(aws_tables):
    token = student()
    with responses.RequestsMock() as mock:
        mock.post(TERMINATE, body=requests.ConnectionError("down"))
        status, _, answer = call("POST", "/realtime/revocations", admin(), {"user_id": "s1"})
    assert (status, answer["connections_terminated"]) == (201, False)
    assert channel_auth(token, "private-user-s1")[0] == 403


# ---------------------------------------------------------------------------------- client events


def client_event(channel: str, data: str, user_id: str | None = None) -> dict[str, Any]:
    event = {"name": "client_event", "channel": channel, "event": "client-cursor", "data": data}
    event["socket_id"] = "7.8"
    if user_id is not None:
        event["user_id"] = user_id
    return event


def test_client_events_the_table_allows_are_left_alone(aws_tables, pusher):
    status, _, body = invoke(webhook_event([client_event("presence-lesson-9", json.dumps({"x": 1}), "s1")]))
    assert (status, body["client_events_refused"]) == (200, 0)
    assert not pusher.calls


@pytest.mark.parametrize(
    ("event", "terminated_user", "reason"),
    [
        (
            client_event("presence-lesson-9", json.dumps({"x": "a" * 4096}), "s1"),
            "s1",
            "client_event_too_large",
        ),
        (
            client_event("presence-classroom-101", json.dumps({"x": "a" * 1024}), "s2"),
            "s2",
            "client_event_too_large",
        ),
        (client_event("private-user-s3", "{}"), "s3", "client_events_not_allowed"),
        (client_event("private-class-101", "{}"), None, "client_events_not_allowed"),
        (client_event("private-unknown-1", "{}"), None, "client_events_not_allowed"),
    ],
)
def test_a_forbidden_client_event_ends_its_senders_connections_and_is_a_security_event(
    aws_tables, pusher, caplog, event, terminated_user, reason
):
    status, _, body = invoke(webhook_event([event]))
    assert (status, body["client_events_refused"]) == (200, 1)
    expected = [f"/apps/1001/users/{terminated_user}/terminate_connections"] if terminated_user else []
    assert terminated(pusher) == expected
    (logged,) = [
        r.__dict__ for r in caplog.records if r.__dict__.get("security_event") == "client_event_refused"
    ]
    assert logged["reason"] == reason
    assert logged["action"] == ("terminated" if terminated_user else "unattributed")
    assert "aaaa" not in json.dumps({k: str(v) for k, v in logged.items()})  # never the data


# ------------------------------------------------------------------------------------- class watch


def test_the_class_watch_lists_the_students_of_the_class_connected_anywhere(aws_tables, pusher):
    user_auth(student("s1"))  # sign-in facts: student of 101
    user_auth(mint_dev_token("s2", class_ids=["102"]))  # another class
    user_auth(mint_dev_token("t1", role="teacher", class_ids=["101"]))  # a teacher of 101
    members = [
        {"name": "member_added", "channel": "presence-lesson-9", "user_id": "s1"},
        {"name": "member_added", "channel": "presence-classroom-101", "user_id": "s1"},
        {"name": "member_added", "channel": "presence-lesson-9", "user_id": "s2"},
        {"name": "member_added", "channel": "presence-classroom-101", "user_id": "t1"},
        {"name": "member_added", "channel": "presence-classroom-101", "user_id": "s4"},  # no sign-in facts
    ]
    assert invoke(webhook_event(members))[0] == 200
    teacher = mint_dev_token("t1", role="teacher", class_ids=["101"])
    status, _, answer = call("GET", "/realtime/classes/101/connected", teacher)
    assert status == 200, answer
    assert [(s["user_id"], s["channels"], s["other_channels"]) for s in answer["students"]] == [
        ("s1", ["presence-classroom-101"], 1),
        ("s4", ["presence-classroom-101"], 0),
    ]
    assert answer["students"][0]["name"] == "Arnold"
    everyone = call("GET", "/realtime/classes/101/connected", admin())[2]["students"]
    assert [s["channels"] for s in everyone] == [
        ["presence-classroom-101", "presence-lesson-9"],
        ["presence-classroom-101"],
    ]


def test_the_class_watch_is_for_the_classes_teachers_and_admins(aws_tables):
    path = "/realtime/classes/101/connected"
    assert call("GET", path, None)[0] == 401
    assert call("GET", path, student())[2]["code"] == "not_allowed_to_view"
    other = mint_dev_token("t2", role="teacher", class_ids=["102"])
    assert call("GET", path, other)[2]["code"] == "class_not_visible"
    status, _, answer = call("GET", "/realtime/classes/a%20b/connected", admin())
    assert (status, answer["code"]) == (400, "invalid_class_id")


def test_one_delivery_with_many_violations_of_one_sender_terminates_once(aws_tables, pusher):
    events = [client_event("private-user-s9", "{}") for _ in range(5)]
    assert invoke(webhook_event(events))[2]["client_events_refused"] == 5
    assert terminated(pusher) == ["/apps/1001/users/s9/terminate_connections"]


def test_the_token_is_checked_before_the_body(aws_tables, pusher):
    for path in ("/realtime/users/s1/events", "/realtime/revocations"):
        assert call("POST", path, None, {"nonsense": True})[0] == 401
        assert call("POST", path, student(), {"nonsense": True})[0] == 403
