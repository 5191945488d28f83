"""Known-answer vectors for the signatures pusher-js checks (PROTOCOL.md), through the ``pusher`` SDK and
our gateway, plus the encrypted channels' shared secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pusher
import pytest
from pusher.signature import sign

from toolboxai_realtime import pusher_gateway
from toolboxai_realtime.caches import reset_caches

KEY = "278d425bdf160c739803"
SECRET = "7ad3773142a6692b25b8"
SOCKET = "1234.1234"
PRIVATE_VECTOR = "58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"
USER_VECTOR = "4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba"
PRESENCE_VECTOR = "31935e7d86dba64c2a90aed31fdc61869f9b22ba9d8863bba239c03ca481bc80"
PRESENCE_DATA = {"user_id": 10, "user_info": {"name": "Mr. Channels"}}
MASTER_KEY = base64.b64encode(bytes(range(32))).decode()


class CompactJSON(json.JSONEncoder):
    """The SDK json-dumps channel/user data with spaced separators; the vectors were made compact."""

    item_separator = ","
    key_separator = ":"


@pytest.fixture
def vector_app(monkeypatch):
    """Configure the layer with the key and secret the vectors were computed with."""
    monkeypatch.setenv("PUSHER_KEY", KEY)
    monkeypatch.setenv("PUSHER_SECRET", SECRET)
    monkeypatch.delenv("PUSHER_SECRET_NAME", raising=False)
    monkeypatch.delenv("PUSHER_ENCRYPTION_MASTER_KEY_BASE64", raising=False)
    reset_caches()


def sdk() -> pusher.Pusher:
    return pusher.Pusher(app_id="1", key=KEY, secret=SECRET, json_encoder=CompactJSON)


def hmac_hex(message: str, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def test_the_vectors_are_hmac_sha256_of_the_documented_strings():
    assert hmac_hex(f"{SOCKET}:private-foobar") == PRIVATE_VECTOR
    assert hmac_hex(f'{SOCKET}::user::{{"id":"12345"}}') == USER_VECTOR
    assert hmac_hex(f"{SOCKET}:presence-foobar:{json.dumps(PRESENCE_DATA, separators=(',', ':'))}") == (
        PRESENCE_VECTOR
    )


def test_sdk_signs_a_private_channel_as_the_vector():
    assert sdk().authenticate(channel="private-foobar", socket_id=SOCKET) == {
        "auth": f"{KEY}:{PRIVATE_VECTOR}"
    }


def test_sdk_signs_a_presence_channel_as_the_vector_and_returns_the_signed_channel_data():
    out = sdk().authenticate(channel="presence-foobar", socket_id=SOCKET, custom_data=PRESENCE_DATA)
    assert out == {
        "auth": f"{KEY}:{PRESENCE_VECTOR}",
        "channel_data": '{"user_id":10,"user_info":{"name":"Mr. Channels"}}',
    }


def test_sdk_signs_a_user_sign_in_as_the_vector():
    out = sdk().authenticate_user(socket_id=SOCKET, user_data={"id": "12345"})
    assert out == {"auth": f"{KEY}:{USER_VECTOR}", "user_data": '{"id":"12345"}'}
    assert sign(SECRET, f'{SOCKET}::user::{{"id":"12345"}}') == USER_VECTOR


def test_gateway_signs_a_private_channel_as_the_vector(vector_app):
    assert pusher_gateway.authorize_channel(SOCKET, "private-foobar") == {"auth": f"{KEY}:{PRIVATE_VECTOR}"}


def test_gateway_presence_signature_covers_exactly_the_channel_data_it_returns(vector_app):
    out = pusher_gateway.authorize_channel(SOCKET, "presence-foobar", PRESENCE_DATA)
    assert json.loads(out["channel_data"]) == PRESENCE_DATA
    assert out["auth"] == f"{KEY}:{hmac_hex(f'{SOCKET}:presence-foobar:' + out['channel_data'])}"


def test_gateway_user_signature_covers_exactly_the_user_data_it_returns(vector_app):
    out = pusher_gateway.authenticate_user(SOCKET, {"id": "12345"})
    assert json.loads(out["user_data"]) == {"id": "12345"}
    assert out["auth"] == f"{KEY}:{hmac_hex(f'{SOCKET}::user::' + out['user_data'])}"


def test_encrypted_channel_gets_base64_sha256_of_name_and_master_key(vector_app, monkeypatch):
    monkeypatch.setenv("PUSHER_ENCRYPTION_MASTER_KEY_BASE64", MASTER_KEY)
    reset_caches()
    out = pusher_gateway.authorize_channel(SOCKET, "private-encrypted-user-5")
    expected = base64.b64encode(
        hashlib.sha256(b"private-encrypted-user-5" + bytes(range(32))).digest()
    ).decode()
    assert out["shared_secret"] == expected
    assert out["auth"] == f"{KEY}:{hmac_hex(f'{SOCKET}:private-encrypted-user-5')}"
    assert pusher_gateway.shared_secret("private-encrypted-user-5", MASTER_KEY) == expected
