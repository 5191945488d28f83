"""Issue 11 item 4: every limit is measured on exactly the bytes that are sent, and those bytes are sent.

The quoted case: data holding an emoji (a character outside the Basic Multilingual Plane) of 7,712 bytes
was refused by /realtime/trigger with 400 invalid_publish, because the pusher SDK checked
``sys.getsizeof`` of the Python string (4 bytes a character once one is astral). The kind, covered here:
other astral characters, both trigger routes, the Python publisher, the exact body Pusher receives
(compact UTF-8, not ``\\uXXXX``), presence ``channel_data`` (what is signed is compact UTF-8 and the 1 KB
``user_info`` limit is measured on it).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest

from local_stack.token import mint_dev_token
from tests.conftest import http_event, invoke
from toolboxai_realtime.authorization import MAX_USER_INFO_BYTES
from toolboxai_realtime.caches import reset_caches
from toolboxai_realtime.catalog import MAX_EVENT_DATA_BYTES, encoded_size
from toolboxai_realtime.publisher import Publisher

EVENT_ID_BYTES = len(',"event_id":"01M8NNE7XZ72ZRS2F3Q212FTKV"')
ASTRAL = ["🎉", "😀", "𝄞", "𠜎", "🏳️‍🌈"]  # emoji, musical symbol, CJK extension B, a ZWJ sequence


@pytest.fixture(autouse=True)
def _fresh(aws_tables: Any) -> Iterator[None]:
    reset_caches()
    yield
    reset_caches()


def quoted_case(message: str = "Deployed 🎉") -> dict[str, Any]:
    """The issue's body, built exactly as its python3 -c line builds it."""
    data = {"type": "success", "message": message, "timestamp": "2024-01-01T12:00:00Z", "details": "x" * 7620}
    return {"channel": "dashboard-updates", "event": "notification", "data": data}


def trigger(payload: dict[str, Any], path: str = "/realtime/trigger") -> tuple[int, dict[str, str], Any]:
    headers = {"authorization": f"Bearer {mint_dev_token('ops', role='admin')}"}
    # Sent as the issue sends it: ensure_ascii=False, so the request body itself is raw UTF-8.
    body = json.dumps(payload, ensure_ascii=False).encode()
    headers["content-type"] = "application/json"
    return invoke(http_event("POST", path, body=body, headers=headers))


def astral_data(total_sent: int, char: str) -> dict[str, Any]:
    """Notification data of exactly ``total_sent`` bytes as Pusher receives it, mostly ``char``."""
    data = {"type": "success", "message": "Deployed", "timestamp": "2024-01-01T12:00:00Z", "details": ""}
    room = total_sent - EVENT_ID_BYTES - encoded_size(data)
    width = len(char.encode())
    data["details"] = char * (room // width) + "x" * (room % width)
    assert encoded_size(data) + EVENT_ID_BYTES == total_sent
    return data


def test_the_quoted_emoji_case_is_published_with_data_bytes_7712(pusher):
    status, _, body = trigger(quoted_case())
    assert status == 200, body
    assert body["events"][0]["data_bytes"] == 7712
    sent = pusher.calls[0].request.body
    # What was measured is what went out: compact UTF-8, the emoji as its 4 UTF-8 bytes.
    assert "🎉".encode() in sent
    assert b"\\ud83c" not in sent
    data = json.loads(json.loads(sent)["data"])
    assert len(json.loads(sent)["data"].encode()) == body["events"][0]["sent_bytes"] == 7712 + EVENT_ID_BYTES
    assert data["message"] == "Deployed 🎉"


@pytest.mark.parametrize("char", ASTRAL)
@pytest.mark.parametrize("path", ["/realtime/trigger", "/realtime/trigger/batch"])
def test_astral_data_of_exactly_10240_bytes_sent_is_accepted_on_both_routes(pusher, char, path):
    event = {"channel": "dashboard-updates", "event": "notification", "data": astral_data(10240, char)}
    status, _, body = trigger(event if path == "/realtime/trigger" else {"events": [event]}, path)
    assert status == 200, body
    assert body["events"][0]["sent_bytes"] == MAX_EVENT_DATA_BYTES
    request = json.loads(pusher.calls[0].request.body)
    data = request["data"] if path == "/realtime/trigger" else request["batch"][0]["data"]
    assert len(data.encode()) == MAX_EVENT_DATA_BYTES
    assert char.encode() in pusher.calls[0].request.body


@pytest.mark.parametrize("char", ASTRAL)
@pytest.mark.parametrize("path", ["/realtime/trigger", "/realtime/trigger/batch"])
def test_one_byte_more_is_413_on_both_routes(pusher, char, path):
    event = {"channel": "dashboard-updates", "event": "notification", "data": astral_data(10241, char)}
    status, _, body = trigger(event if path == "/realtime/trigger" else {"events": [event]}, path)
    assert status == 413, body
    assert body["code"] == "event_data_too_large"
    assert "10241 bytes" in body["message"]
    assert not pusher.calls


@pytest.mark.parametrize("char", ASTRAL)
def test_the_python_publisher_sends_astral_data_up_to_the_limit(pusher, char):
    result = Publisher(rate_limit=False).broadcast_system_message(
        astral_data(10240, char), event="notification"
    )
    assert result.events[0].sent_bytes == MAX_EVENT_DATA_BYTES
    assert len(json.loads(pusher.calls[0].request.body)["data"].encode()) == MAX_EVENT_DATA_BYTES


def test_the_python_publisher_accepts_the_quoted_case(pusher):
    case = quoted_case()
    result = Publisher(rate_limit=False).trigger(case["channel"], case["event"], case["data"])
    assert result.events[0].data_bytes == 7712


def test_the_whole_trigger_body_is_compact_utf8(pusher):
    trigger({"channels": ["private-user-1", "private-user-2"], "event": "grade_posted", "data": _grade()})
    raw = pusher.calls[0].request.body
    assert raw == json.dumps(json.loads(raw), separators=(",", ":"), ensure_ascii=False).encode()
    assert "Résultat 🎓".encode() in raw


# -------------------------------------------------------------------------------------------- presence


SOCKET = "1234.5678"


def presence_auth(name: str) -> tuple[int, Any]:
    bearer = mint_dev_token("12345", role="student", name=name, class_ids=["101"])
    fields = {"socket_id": SOCKET, "channel_name": "presence-classroom-101"}
    headers = {"authorization": f"Bearer {bearer}", "content-type": "application/x-www-form-urlencoded"}
    status, _, body = invoke(http_event("POST", "/pusher/auth", body=urlencode(fields), headers=headers))
    return status, body


def test_presence_channel_data_is_signed_and_sent_as_compact_utf8(aws_tables):
    status, body = presence_auth("Zoë 🎉")
    assert status == 200, body
    channel_data = body["channel_data"]
    assert "Zoë 🎉" in channel_data
    assert "\\u" not in channel_data
    assert channel_data == json.dumps(json.loads(channel_data), separators=(",", ":"), ensure_ascii=False)
    secret = os.environ["PUSHER_SECRET"].encode()
    import hashlib
    import hmac

    message = f"{SOCKET}:presence-classroom-101:{channel_data}".encode()
    assert body["auth"].split(":", 1)[1] == hmac.new(secret, message, hashlib.sha256).hexdigest()


def _user_info_bytes(channel_data: str) -> int:
    info = json.loads(channel_data)["user_info"]
    start = channel_data.index('"user_info":') + len('"user_info":')
    text = channel_data[start:-1]  # the user_info object exactly as it stands in what was signed
    assert json.loads(text) == info
    return len(text.encode())


def _name_for(total: int, char: str) -> str:
    """A token name whose presence user_info is exactly ``total`` bytes of compact UTF-8 JSON."""
    base = {"name": "", "role": "student", "status": "active"}
    room = total - len(json.dumps(base, separators=(",", ":"), ensure_ascii=False).encode())
    width = len(char.encode())
    return char * (room // width) + "x" * (room % width)


@pytest.mark.parametrize("char", ["🎉", "𝄞", "é"])
def test_presence_user_info_of_exactly_1024_bytes_is_accepted_and_sent_at_that_size(aws_tables, char):
    status, body = presence_auth(_name_for(MAX_USER_INFO_BYTES, char))
    assert status == 200, body
    assert _user_info_bytes(body["channel_data"]) == MAX_USER_INFO_BYTES


@pytest.mark.parametrize("char", ["🎉", "é"])
def test_presence_user_info_of_1025_bytes_is_refused(aws_tables, char):
    status, body = presence_auth(_name_for(MAX_USER_INFO_BYTES + 1, char))
    assert status == 422, body
    assert body["code"] == "user_info_too_large"
    assert "1025 bytes" in body["message"]


def _grade() -> dict[str, Any]:
    return {"type": "grade", "title": "Résultat 🎓", "message": "Your math quiz has been graded"}
