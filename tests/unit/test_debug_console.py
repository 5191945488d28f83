"""The local-only pages of the gateway: the debug console's files, dev tokens, config and catalog."""

from __future__ import annotations

import os
from typing import Any

import anyio
import httpx
import pytest
from starlette.applications import Starlette
from starlette.types import ASGIApp

from local_stack import console
from tests.conftest import gateway
from toolboxai_realtime.catalog import EVENTS, validate_event
from toolboxai_realtime.channels import FAMILIES
from toolboxai_realtime.identity import authenticate

LOCAL = ("127.0.0.1", 50000)


class Client:
    """Synchronous requests to an ASGI app through httpx's ASGI transport, from a given client address."""

    def __init__(self, app: ASGIApp, client: tuple[str, int] = LOCAL) -> None:
        self.transport = httpx.ASGITransport(app=app, client=client)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async def send() -> httpx.Response:
            async with httpx.AsyncClient(transport=self.transport, base_url="http://127.0.0.1") as http:
                return await http.request(method, path, **kwargs)

        return anyio.run(send)

    def get(self, path: str) -> httpx.Response:
        return self.request("GET", path)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)


@pytest.fixture
def client() -> Client:
    return Client(Starlette(routes=console.routes()))


# ------------------------------------------------------------------------------------------ files


@pytest.mark.parametrize(
    ("path", "media", "needle"),
    [
        ("/console", "text/html", b'src="/console/pusher.min.js"'),
        ("/console/console.js", "text/javascript", b"/realtime/trigger"),
        ("/console/console.css", "text/css", b"--accent"),
        ("/console/pusher.min.js", "text/javascript", b"Pusher"),
        ("/docs", "text/html", b'src="/docs/docs.js"'),
        ("/docs/docs.js", "text/javascript", b"/openapi.json"),
        ("/openapi.json", "application/json", b'"openapi"'),
    ],
)
def test_console_docs_and_openapi_files_are_served(client, path, media, needle):
    response = client.get(path)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media)
    assert needle in response.content


def test_only_the_listed_files_are_served(client):
    assert client.get("/console/../pyproject.toml").status_code == 404
    assert client.get("/console/index.html").status_code == 404


def test_a_missing_file_is_a_404_with_a_hint(client, monkeypatch, tmp_path):
    monkeypatch.setitem(console._FILES, "/openapi.json", (tmp_path / "openapi.json", "application/json"))
    monkeypatch.setitem(console._HINTS, tmp_path / "openapi.json", "run `make openapi`")

    response = client.get("/openapi.json")

    assert response.status_code == 404
    assert response.json() == {"code": "file_not_found", "message": "run `make openapi`"}


def test_the_gateway_serves_the_console_before_its_catch_all_and_keeps_its_404():
    http = Client(gateway().asgi())

    assert http.get("/console").status_code == 200
    missing = http.get("/no/such/route")
    assert missing.status_code == 404
    assert missing.json()["code"] == "route_not_found"


# ----------------------------------------------------------------------------------------- tokens


def test_minted_token_is_accepted_by_the_stack_with_the_claims_asked_for(client):
    response = client.post(
        "/_local/token",
        json={
            "sub": "12345",
            "role": "teacher",
            "name": "Ms. Frizzle",
            "class_ids": ["101"],
            "scopes": ["realtime:trigger"],
        },
    )

    assert response.status_code == 200
    body = response.json()
    principal = authenticate(body["token"])
    assert (principal.user_id, principal.role, principal.name) == ("12345", "teacher", "Ms. Frizzle")
    assert principal.class_ids == frozenset({"101"})
    assert principal.can_trigger
    assert body["claims"]["exp"] - body["claims"]["iat"] == 3600


def test_tokens_are_minted_only_for_loopback_clients():
    remote = Client(Starlette(routes=console.routes()), client=("203.0.113.9", 40000))

    response = remote.post("/_local/token", json={"sub": "12345", "role": "admin"})

    assert response.status_code == 403
    assert response.json()["code"] == "local_only"
    assert "token" not in response.json()


@pytest.mark.parametrize(
    "body",
    [
        {"role": "admin"},
        {"sub": "1", "role": "root"},
        {"sub": "a b"},
        {"sub": "1", "ttl_seconds": 10**9},
        {"sub": "1", "x": 1},
    ],
)
def test_invalid_token_requests_are_422_with_details(client, body):
    response = client.post("/_local/token", json=body)

    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert response.json()["details"]


def test_without_a_jwt_secret_minting_is_503(client, monkeypatch):
    monkeypatch.delenv("JWT_SECRET", raising=False)
    monkeypatch.delenv("JWT_SECRET_NAME", raising=False)

    response = client.post("/_local/token", json={"sub": "1"})

    assert response.status_code == 503
    assert response.json()["code"] == "jwt_not_configured"


# --------------------------------------------------------------------------------- config, catalog


def test_config_tells_pusher_js_where_soketi_is_and_nothing_secret(client):
    body = client.get("/_local/config").json()

    assert body["key"] == os.environ["PUSHER_KEY"]
    assert body["wsPort"] == int(os.environ["PUSHER_PORT"])
    assert body["channelAuthorizationEndpoint"] == "/pusher/auth"
    text = client.get("/_local/config").text
    assert os.environ["PUSHER_SECRET"] not in text
    assert os.environ["JWT_SECRET"] not in text


def test_catalog_lists_every_family_and_event_with_a_valid_example(client):
    families = client.get("/_local/catalog").json()["families"]

    assert {f["family"] for f in families} == {family.id for family in EVENTS}
    for family in families:
        assert set(family["events"]) == set(EVENTS[FAMILIES[family["family"]]])
        for event, spec in family["events"].items():
            # The console fills in the channel's parameters; the rest must already be valid data.
            validate_event(FAMILIES[family["family"]], event, spec["example"])
