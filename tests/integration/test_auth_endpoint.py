"""POST /pusher/auth and POST /pusher/user-auth through the handler, under moto: the policy matrix, every
bad input, the batch form, presence data, encrypted channels, sign-in, and the security log."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import logging
import os
import time
from typing import Any
from urllib.parse import urlencode

import jwt
import pytest

from local_stack.token import mint_dev_token
from tests.conftest import http_event, invoke, load_event
from toolboxai_realtime import authorization
from toolboxai_realtime.caches import reset_caches
from toolboxai_realtime.observability import MetricUnit, logger

FORM = "application/x-www-form-urlencoded"
SOCKET = "123.456"
MASTER_KEY = base64.b64encode(b"k" * 32).decode()


@pytest.fixture(autouse=True)
def generous_limits(monkeypatch):
    """These tests are about answers, not limits (tests/integration/test_auth_limits.py)."""
    monkeypatch.setenv("AUTH_RATE_LIMIT_PER_MINUTE", "1000")
    monkeypatch.delenv("PUSHER_ENCRYPTION_MASTER_KEY_BASE64", raising=False)
    reset_caches()


@pytest.fixture
def encryption(monkeypatch):
    monkeypatch.setenv("PUSHER_ENCRYPTION_MASTER_KEY_BASE64", MASTER_KEY)
    reset_caches()


@pytest.fixture
def recorded(monkeypatch):
    """The security events and metrics the auth logic emits, as (name, args, kwargs)."""
    calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
    monkeypatch.setattr(authorization, "count", lambda *a, **k: calls.append(("count", a, k)))
    monkeypatch.setattr(authorization, "security_event", lambda *a, **k: calls.append(("security", a, k)))
    return calls


def token(sub: str = "555", **claims: Any) -> str:
    claims.setdefault("name", "Arnold")
    return mint_dev_token(sub, **claims)


def post(
    path: str,
    body: str | bytes | dict[str, Any],
    bearer: str | None = None,
    content_type: str | None = "auto",
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], Any]:
    """POST ``body`` (form-encoded unless it is a dict: JSON); ``content_type=None`` sends no header."""
    hdrs = dict(headers or {})
    if content_type == "auto":
        content_type = "application/json" if isinstance(body, dict) else FORM
    if content_type:
        hdrs["content-type"] = content_type
    if bearer:
        hdrs["authorization"] = f"Bearer {bearer}"
    return invoke(http_event("POST", path, body=body, headers=hdrs))


def auth(bearer: str | None, **fields: Any) -> tuple[int, dict[str, str], Any]:
    return post("/pusher/auth", urlencode(fields), bearer)


def signature(message: str) -> str:
    secret = os.environ["PUSHER_SECRET"].encode()
    return f"{os.environ['PUSHER_KEY']}:{hmac.new(secret, message.encode(), hashlib.sha256).hexdigest()}"


def assert_signed(answer: dict[str, Any], channel: str, socket_id: str = SOCKET) -> None:
    message = f"{socket_id}:{channel}"
    if "channel_data" in answer:
        message += f":{answer['channel_data']}"
    assert answer["auth"] == signature(message)


# ------------------------------------------------------------------------------------------- matrix

ROLES = {
    "student": {"sub": "s1", "role": "student", "class_ids": ["101"], "lesson_ids": ["7"]},
    "teacher": {"sub": "t1", "role": "teacher", "class_ids": ["101"]},
    "admin": {"sub": "a1", "role": "admin"},
    "outsider": {"sub": "o1", "role": "student", "class_ids": ["202"]},
}
OK, NO = 200, 403
# channel template ({me} = the caller's own id, {other} = someone else's) -> status per role
MATRIX: dict[str, dict[str, int]] = {
    "private-user-{me}": {"student": OK, "teacher": OK, "admin": OK, "outsider": OK},
    "private-user-{other}": {"student": NO, "teacher": NO, "admin": NO, "outsider": NO},
    "private-class-101": {"student": OK, "teacher": OK, "admin": OK, "outsider": NO},
    "private-class-202": {"student": NO, "teacher": NO, "admin": OK, "outsider": OK},
    "presence-classroom-101": {"student": OK, "teacher": OK, "admin": OK, "outsider": NO},
    "presence-lesson-7": {"student": OK, "teacher": NO, "admin": OK, "outsider": NO},
    "presence-lesson-8": {"student": NO, "teacher": NO, "admin": OK, "outsider": NO},
    "private-encrypted-user-{me}": {"student": OK, "teacher": OK, "admin": OK, "outsider": OK},
    "private-encrypted-user-{other}": {"student": NO, "teacher": NO, "admin": NO, "outsider": NO},
    "private-encrypted-class-101": {"student": OK, "teacher": OK, "admin": OK, "outsider": NO},
    "private-anything-1": {"student": NO, "teacher": NO, "admin": NO, "outsider": NO},
    "presence-anything-1": {"student": NO, "teacher": NO, "admin": NO, "outsider": NO},
}
CASES = [(role, template, by_role[role]) for template, by_role in MATRIX.items() for role in ROLES]


@pytest.mark.parametrize(("role", "template", "expected"), CASES)
def test_policy_matrix_through_the_endpoint(aws_tables, encryption, role, template, expected):
    claims = dict(ROLES[role])
    sub = claims.pop("sub")
    channel = template.format(me=sub, other="zz9")
    status, _, body = auth(token(sub, **claims), socket_id=SOCKET, channel_name=channel)
    assert status == expected, body
    if expected == OK:
        assert_signed(body, channel)
        if channel.startswith("presence-"):
            member = json.loads(body["channel_data"])
            assert member["user_id"] == sub
            assert member["user_info"]["role"] == claims["role"]
        assert ("shared_secret" in body) is channel.startswith("private-encrypted-")
    else:
        assert body["code"] in {"not_own_user_channel", "not_in_class", "not_in_lesson", "unknown_channel"}
        assert "auth" not in body


# ------------------------------------------------------------------------------------------ answers


def test_private_channel_answer_is_exactly_the_auth_signature(aws_tables):
    status, headers, body = auth(token(), socket_id=SOCKET, channel_name="private-user-555")
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert body == {"auth": signature(f"{SOCKET}:private-user-555")}


def test_json_body_is_accepted_like_the_form(aws_tables):
    status, _, body = post("/pusher/auth", {"socket_id": SOCKET, "channel_name": "private-user-555"}, token())
    assert status == 200
    assert body == {"auth": signature(f"{SOCKET}:private-user-555")}


def test_form_content_type_with_charset_is_accepted(aws_tables):
    status, _, _ = post(
        "/pusher/auth",
        urlencode({"socket_id": SOCKET, "channel_name": "private-user-555"}),
        token(),
        content_type="application/x-www-form-urlencoded; charset=UTF-8",
    )
    assert status == 200


def test_presence_channel_data_comes_from_the_token_and_validated_parameters(aws_tables):
    bearer = token(
        "12345", role="teacher", name="Ms. Frizzle", class_ids=[101], avatar_url="https://i.test/f.png"
    )
    status, _, body = auth(
        bearer,
        socket_id=SOCKET,
        channel_name="presence-classroom-101",
        status="busy",
        current_activity="Grading essays",
        # A client cannot choose who it is on the channel:
        user_id="999",
        name="Someone Else",
        role="admin",
    )
    assert status == 200, body
    assert json.loads(body["channel_data"]) == {
        "user_id": "12345",
        "user_info": {
            "name": "Ms. Frizzle",
            "role": "teacher",
            "avatar_url": "https://i.test/f.png",
            "status": "busy",
            "current_activity": "Grading essays",
        },
    }
    assert_signed(body, "presence-classroom-101")


def test_presence_status_defaults_to_active(aws_tables):
    _, _, body = auth(token(class_ids=["101"]), socket_id=SOCKET, channel_name="presence-classroom-101")
    assert json.loads(body["channel_data"])["user_info"]["status"] == "active"


def test_encrypted_channel_answer_carries_the_shared_secret(aws_tables, encryption):
    status, _, body = auth(token(), socket_id=SOCKET, channel_name="private-encrypted-user-555")
    assert status == 200
    digest = hashlib.sha256(b"private-encrypted-user-555" + b"k" * 32).digest()
    assert body["shared_secret"] == base64.b64encode(digest).decode()
    assert_signed(body, "private-encrypted-user-555")


def test_encrypted_channel_without_a_master_key_is_a_clear_503(aws_tables):
    status, _, body = auth(token(), socket_id=SOCKET, channel_name="private-encrypted-user-555")
    assert status == 503
    assert body["code"] == "encryption_not_configured"
    assert "not enabled" in body["message"]


def test_someone_elses_encrypted_channel_is_403_whether_or_not_encryption_is_configured(aws_tables):
    status, _, body = auth(token(), socket_id=SOCKET, channel_name="private-encrypted-user-556")
    assert (status, body["code"]) == (403, "not_own_user_channel")


def test_a_master_key_that_is_not_32_bytes_is_a_503_not_a_400(aws_tables, monkeypatch):
    monkeypatch.setenv("PUSHER_ENCRYPTION_MASTER_KEY_BASE64", base64.b64encode(b"short").decode())
    reset_caches()
    status, _, body = auth(token(), socket_id=SOCKET, channel_name="private-user-555")
    assert (status, body["code"]) == (503, "encryption_misconfigured")


@pytest.mark.parametrize(
    "channel", ["dashboard-updates", "content-generation", "agent-status", "my-public-thing"]
)
def test_public_channel_is_a_clear_400(aws_tables, channel):
    status, _, body = auth(token(), socket_id=SOCKET, channel_name=channel)
    assert status == 400
    assert body["code"] == "public_channel"
    assert "no authorization" in body["message"]


# -------------------------------------------------------------------------------------------- batch


def test_batch_form_of_the_plugin_is_answered_per_channel(aws_tables):
    body = (
        f"&socket_id={SOCKET}&channel_name[0]=private-user-555&channel_name[1]=private-user-556"
        "&channel_name[2]=presence-classroom-101"
    )
    status, _, answer = post("/pusher/auth", body, token(class_ids=["101"]))
    assert status == 200
    assert set(answer) == {"private-user-555", "private-user-556", "presence-classroom-101"}
    assert answer["private-user-556"] == {"status": 403, "code": "not_own_user_channel"}
    assert answer["private-user-555"]["status"] == 200
    assert_signed(answer["private-user-555"]["data"], "private-user-555")
    assert answer["presence-classroom-101"]["status"] == 200
    assert_signed(answer["presence-classroom-101"]["data"], "presence-classroom-101")


def test_batch_with_url_encoded_brackets_is_the_same_request(aws_tables):
    body = urlencode({"socket_id": SOCKET, "channel_name[0]": "private-user-555"})
    assert "%5B0%5D" in body
    status, _, answer = post("/pusher/auth", body, token())
    assert status == 200
    assert answer["private-user-555"]["data"] == {"auth": signature(f"{SOCKET}:private-user-555")}


def test_batch_answers_bad_names_public_names_and_missing_encryption_per_channel(aws_tables):
    body = urlencode(
        {
            "socket_id": SOCKET,
            "channel_name[0]": "private-user-555",
            "channel_name[1]": "private-user-5 5",
            "channel_name[2]": "dashboard-updates",
            "channel_name[3]": "private-encrypted-user-555",
        }
    )
    status, _, answer = post("/pusher/auth", body, token())
    assert status == 200
    assert answer["private-user-555"]["status"] == 200
    assert answer["private-user-5 5"] == {"status": 400, "code": "invalid_channel_name"}
    assert answer["dashboard-updates"] == {"status": 400, "code": "public_channel"}
    assert answer["private-encrypted-user-555"] == {"status": 503, "code": "encryption_not_configured"}


def test_json_batch_is_a_list_of_channel_names(aws_tables):
    payload = {"socket_id": SOCKET, "channel_name": ["private-user-555", "private-class-9"]}
    status, _, answer = post("/pusher/auth", payload, token())
    assert status == 200
    assert answer["private-user-555"]["status"] == 200
    assert answer["private-class-9"] == {"status": 403, "code": "not_in_class"}


def test_batch_where_everything_is_refused_is_still_a_200_with_every_channel(aws_tables):
    body = urlencode(
        {"socket_id": SOCKET, "channel_name[0]": "private-user-1", "channel_name[1]": "private-user-2"}
    )
    status, _, answer = post("/pusher/auth", body, token())
    assert status == 200
    assert answer == {
        "private-user-1": {"status": 403, "code": "not_own_user_channel"},
        "private-user-2": {"status": 403, "code": "not_own_user_channel"},
    }


# ---------------------------------------------------------------------------------------- bad input


def _none_token() -> str:
    now = int(time.time())
    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    claims = json.dumps({"sub": "555", "exp": now + 600}).encode()
    return f"{header}.{base64.urlsafe_b64encode(claims).rstrip(b'=').decode()}."


TOKEN_CASES = {
    "no header": (None, "missing_token"),
    "basic scheme": ("Basic dXNlcjpwYXNz", "malformed_token"),
    "bearer without token": ("Bearer ", "missing_token"),
    "not a jwt": ("Bearer not-a-jwt", "malformed_token"),
    "alg none": (lambda: f"Bearer {_none_token()}", "unsupported_algorithm"),
    "wrong key": (
        lambda: f"Bearer {mint_dev_token('555', secret='another-secret-of-enough-length-1234')}",
        "invalid_signature",
    ),
    "expired": (lambda: f"Bearer {mint_dev_token('555', ttl_seconds=-3600)}", "token_expired"),
    "hs512 not accepted": (
        lambda: "Bearer " + jwt.encode({"sub": "1", "exp": time.time() + 60}, "k" * 64, algorithm="HS512"),
        "unsupported_algorithm",
    ),
}


@pytest.mark.parametrize("path", ["/pusher/auth", "/pusher/user-auth"])
@pytest.mark.parametrize("case", sorted(TOKEN_CASES))
def test_bad_tokens_are_401_with_www_authenticate(aws_tables, path, case):
    value, code = TOKEN_CASES[case]
    header = value() if callable(value) else value
    headers = {"authorization": header} if header is not None else {}
    body = urlencode({"socket_id": SOCKET, "channel_name": "private-user-555"})
    status, resp_headers, answer = post(path, body, headers=headers)
    assert status == 401, answer
    assert answer["code"] == code
    assert resp_headers["www-authenticate"].startswith("Bearer ")


def test_token_for_another_audience_is_401(aws_tables, monkeypatch):
    monkeypatch.setenv("JWT_AUDIENCE", "toolboxai-realtime")
    reset_caches()
    bearer = mint_dev_token("555", audience="someone-else")
    status, _, answer = auth(bearer, socket_id=SOCKET, channel_name="private-user-555")
    assert (status, answer["code"]) == (401, "invalid_audience")
    good = mint_dev_token("555", audience="toolboxai-realtime")
    assert auth(good, socket_id=SOCKET, channel_name="private-user-555")[0] == 200


BODY_CASES: dict[str, tuple[str | bytes | dict[str, Any], str | None, int, str]] = {
    # name: (body, content type, status, code)
    "text/plain": (
        "socket_id=1.1&channel_name=private-user-555",
        "text/plain",
        415,
        "unsupported_media_type",
    ),
    "xml": ("<auth/>", "application/xml", 415, "unsupported_media_type"),
    "multipart": ("--x\r\n", "multipart/form-data; boundary=x", 415, "unsupported_media_type"),
    "no content type with a body": ("socket_id=1.1", None, 415, "unsupported_media_type"),
    "malformed json": ('{"socket_id": ', "application/json", 400, "malformed_json"),
    "json array": ('["1.1", "private-user-555"]', "application/json", 400, "malformed_json"),
    "repeated form field": (
        "socket_id=1.1&socket_id=2.2&channel_name=private-user-555",
        FORM,
        400,
        "malformed_form",
    ),
    "form not utf-8": (b"socket_id=1.1&channel_name=private-user-\xff", FORM, 400, "body_not_utf8"),
    "empty body": ("", FORM, 400, "missing_socket_id"),
    "missing socket_id": ("channel_name=private-user-555", FORM, 400, "missing_socket_id"),
    "missing channel_name": ("socket_id=1.1", FORM, 400, "missing_channel_name"),
    "socket id forging another channel": (
        "socket_id=1.1:private-user-2&channel_name=private-user-555",
        FORM,
        400,
        "invalid_socket_id",
    ),
    "socket id without dot": ("socket_id=1234&channel_name=private-user-555", FORM, 400, "invalid_socket_id"),
    "socket id with letters": ("socket_id=a.b&channel_name=private-user-555", FORM, 400, "invalid_socket_id"),
    "socket id as json number": (
        {"socket_id": 123.456, "channel_name": "private-user-555"},
        "application/json",
        400,
        "invalid_socket_id",
    ),
    "channel name too long": (
        f"socket_id=1.1&channel_name=private-user-{'5' * 152}",
        FORM,
        400,
        "invalid_channel_name",
    ),
    "channel name with a space": (
        "socket_id=1.1&channel_name=private-user-5+5",
        FORM,
        400,
        "invalid_channel_name",
    ),
    "channel name with a colon": (
        "socket_id=1.1&channel_name=private-user-5:5",
        FORM,
        400,
        "invalid_channel_name",
    ),
    "channel name not ascii": (
        "socket_id=1.1&channel_name=private-user-%C3%BC",
        FORM,
        400,
        "invalid_channel_name",
    ),
    "channel name as json object": (
        {"socket_id": "1.1", "channel_name": {"x": 1}},
        "application/json",
        400,
        "invalid_channel_name",
    ),
    "public channel": ("socket_id=1.1&channel_name=dashboard-updates", FORM, 400, "public_channel"),
    "mixed single and batch": (
        "socket_id=1.1&channel_name=private-user-555&channel_name[0]=private-user-555",
        FORM,
        400,
        "malformed_batch",
    ),
    "unknown status": (
        "socket_id=1.1&channel_name=presence-classroom-101&status=offline",
        FORM,
        422,
        "invalid_status",
    ),
    "control characters in current_activity": (
        "socket_id=1.1&channel_name=presence-classroom-101&current_activity=a%0Ab",
        FORM,
        422,
        "invalid_current_activity",
    ),
    "too large": (
        "socket_id=1.1&channel_name=private-user-555&pad=" + "x" * 70_000,
        FORM,
        413,
        "payload_too_large",
    ),
}


@pytest.mark.parametrize("case", sorted(BODY_CASES))
def test_bad_bodies_are_the_right_4xx_never_a_500(aws_tables, case):
    body, content_type, expected, code = BODY_CASES[case]
    status, headers, answer = post("/pusher/auth", body, token(class_ids=["101"]), content_type=content_type)
    assert (status, answer["code"]) == (expected, code), answer
    assert headers["content-type"] == "application/json"
    assert answer["message"]


def test_channel_name_of_exactly_164_characters_is_judged_by_the_policy(aws_tables):
    name = "private-user-" + "5" * 151
    assert len(name) == 164
    status, _, answer = auth(token(), socket_id=SOCKET, channel_name=name)
    assert (status, answer["code"]) == (403, "not_own_user_channel")


# ------------------------------------------------------------------------------------------ sign-in


def test_user_auth_signs_user_data_with_the_sub_and_the_tokens_user_info(aws_tables):
    bearer = token("555", role="student", avatar_url="https://i.test/a.png")
    status, _, answer = post("/pusher/user-auth", urlencode({"socket_id": SOCKET}), bearer)
    assert status == 200, answer
    assert set(answer) == {"auth", "user_data"}
    assert json.loads(answer["user_data"]) == {
        "id": "555",
        "user_info": {"name": "Arnold", "role": "student", "avatar_url": "https://i.test/a.png"},
    }
    assert answer["auth"] == signature(f"{SOCKET}::user::{answer['user_data']}")


def test_user_auth_accepts_json(aws_tables):
    status, _, answer = post("/pusher/user-auth", {"socket_id": SOCKET}, token())
    assert status == 200
    assert json.loads(answer["user_data"])["id"] == "555"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("", "missing_socket_id"),
        ("socket_id=1.1%3A%3Auser%3A%3A", "invalid_socket_id"),
        ("socket_id=x", "invalid_socket_id"),
    ],
)
def test_user_auth_refuses_bad_socket_ids(aws_tables, body, code):
    status, _, answer = post("/pusher/user-auth", body, token())
    assert (status, answer["code"]) == (400, code)


def test_user_auth_refuses_a_sub_pusher_cannot_use_as_user_id(aws_tables):
    status, _, answer = post("/pusher/user-auth", urlencode({"socket_id": SOCKET}), token("auth0|42"))
    assert (status, answer["code"]) == (403, "unsupported_user_id")


# ------------------------------------------------------------------------------- security log, metrics


def test_a_refusal_is_a_security_event_and_an_auth_denied_metric(aws_tables, recorded):
    auth(token(), socket_id=SOCKET, channel_name="private-user-556")
    assert (
        "security",
        ("auth_denied",),
        {
            "reason": "not_own_user_channel",
            "level": "warning",
            "endpoint": "channel",
            "status": 403,
            "user_id": "555",
            "channel": "private-user-556",
            "family": "private-user",
            "source_ip": "198.51.100.7",
        },
    ) in recorded
    assert (
        "count",
        ("AuthDenied",),
        {"reason": "not_own_user_channel", "family": "private-user"},
    ) in recorded


def test_a_bad_token_is_recorded_without_user_or_token(aws_tables, recorded):
    bearer = mint_dev_token("555", ttl_seconds=-3600)
    auth(bearer, socket_id=SOCKET, channel_name="private-user-555")
    events = [k for kind, _, k in recorded if kind == "security"]
    assert events == [
        {
            "reason": "token_expired",
            "level": "warning",
            "endpoint": "channel",
            "status": 401,
            "user_id": None,
            "channel": None,
            "family": "none",
            "source_ip": "198.51.100.7",
        }
    ]
    assert bearer not in repr(recorded)


def test_each_refused_channel_of_a_batch_is_recorded_and_grants_are_counted_by_family(aws_tables, recorded):
    body = urlencode(
        {
            "socket_id": SOCKET,
            "channel_name[0]": "private-user-555",
            "channel_name[1]": "private-user-1",
            "channel_name[2]": "private-class-9",
            "channel_name[3]": "private-user-555x",
        }
    )
    post("/pusher/auth", body, token())
    denied = sorted((k["reason"], k["channel"]) for kind, _, k in recorded if kind == "security")
    assert denied == [
        ("not_in_class", "private-class-9"),
        ("not_own_user_channel", "private-user-1"),
        ("not_own_user_channel", "private-user-555x"),
    ]
    assert ("count", ("AuthGranted", 1), {"family": "private-user"}) in recorded


def test_every_request_records_its_latency(aws_tables, recorded):
    auth(token(), socket_id=SOCKET, channel_name="private-user-555")
    post("/pusher/user-auth", urlencode({"socket_id": SOCKET}), token())
    latencies = [a for kind, a, _ in recorded if kind == "count" and a[0] == "AuthLatency"]
    assert len(latencies) == 2
    assert all(a[2] is MetricUnit.Milliseconds and a[1] >= 0 for a in latencies)
    assert ("count", ("AuthGranted",), {"family": "signin"}) in recorded


def test_a_store_or_configuration_failure_is_an_auth_error_not_a_denial(aws_tables, recorded):
    aws_tables.delete_table(TableName="RateLimitTable")
    status, _, answer = auth(token(), socket_id=SOCKET, channel_name="private-user-555")
    assert (status, answer["code"]) == (503, "store_unavailable")
    assert ("count", ("AuthError",), {"reason": "store_unavailable", "endpoint": "channel"}) in recorded
    assert not [c for c in recorded if c[0] == "security"]


def test_the_log_carries_the_event_and_never_the_token(aws_tables):
    stream = io.StringIO()
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    previous = handler.setStream(stream)
    try:
        bearer = token()
        auth(bearer, socket_id=SOCKET, channel_name="private-user-556")
        auth(bearer + "x", socket_id=SOCKET, channel_name="private-user-555")
    finally:
        handler.setStream(previous)
    entries = [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]
    events = [e for e in entries if e.get("security_event") == "auth_denied"]
    # (The logger leaves out fields whose value is None.)
    assert [(e["reason"], e.get("user_id"), e.get("channel"), e["source_ip"]) for e in events] == [
        ("not_own_user_channel", "555", "private-user-556", "198.51.100.7"),
        ("invalid_signature", None, None, "198.51.100.7"),
    ]
    assert bearer.split(".")[2] not in stream.getvalue()
    assert bearer not in stream.getvalue()


# ----------------------------------------------------------------------------------- sample events

SAMPLES = {
    "auth_private_form.json": 200,
    "auth_presence_form.json": 200,
    "auth_private_json.json": 200,
    "auth_batch_form.json": 200,
    "auth_other_user_forbidden.json": 403,
    "auth_no_token.json": 401,
    "auth_user_signin_form.json": 200,
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_sample_events_answer_as_their_names_say(aws_tables, name):
    status, _, answer = invoke(load_event(name))
    assert status == SAMPLES[name], answer


def test_sample_batch_event_is_answered_per_channel(aws_tables):
    _, _, answer = invoke(load_event("auth_batch_form.json"))
    assert {name: entry["status"] for name, entry in answer.items()} == {
        "private-user-555": 200,
        "presence-classroom-101": 200,
        "private-user-12345": 403,
    }
    member = json.loads(answer["presence-classroom-101"]["data"]["channel_data"])
    assert member["user_info"]["avatar_url"] == "https://example.test/arnold.png"


def test_sample_presence_event_carries_status_and_activity(aws_tables):
    _, _, answer = invoke(load_event("auth_presence_form.json"))
    info = json.loads(answer["channel_data"])["user_info"]
    assert (info["status"], info["current_activity"]) == ("away", "Grading essays")


# ------------------------------------------------------------------------- claim elements (issue 11)


def test_quoted_class_id_of_150_characters_does_not_refuse_the_token(aws_tables):
    # Used to be 401 invalid_claims, even for the user's own private-user- channel.
    long_id = "c" * 150
    bearer = token("555", class_ids=[long_id, "101"])
    status, _, answer = auth(bearer, socket_id=SOCKET, channel_name="private-user-555")
    assert status == 200, answer
    assert_signed(answer, "private-user-555")
    # private-class- + 150 characters is a legal 164-character channel name, and it is this user's.
    status, _, answer = auth(bearer, socket_id=SOCKET, channel_name=f"private-class-{long_id}")
    assert status == 200, answer


@pytest.mark.parametrize(
    ("claims", "channel", "expected"),
    [
        # An element that can name no channel is dropped; the other elements keep working.
        ({"class_ids": ["c" * 151, "101"]}, "presence-classroom-101", 200),
        ({"class_ids": ["bad id", "101"]}, "private-class-101", 200),
        ({"lesson_ids": ["l" * 200, "7"]}, "presence-lesson-7", 200),
        ({"lesson_ids": [{"nested": 1}, "7"]}, "presence-lesson-7", 200),
        ({"class_ids": ["c" * 151]}, "private-user-555", 200),
        # presence-lesson- + 148 characters = 164: the longest lesson id that names a channel.
        ({"lesson_ids": ["l" * 148]}, "presence-lesson-" + "l" * 148, 200),
    ],
)
def test_claim_elements_naming_no_channel_are_ignored_per_family(aws_tables, claims, channel, expected):
    status, _, answer = auth(token("555", **claims), socket_id=SOCKET, channel_name=channel)
    assert status == expected, answer
