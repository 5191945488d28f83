"""CORS as API Gateway applies it, from another origin in real headless Chromium (issue 11, item 7).

Quoted case: ``OPTIONS /pusher/auth`` from ``Origin: http://localhost:3000`` was a 404 and answers carried
no ``Access-Control-Allow-Origin``, so Chromium blocked a front end on its own dev server. The allowed
origins are the template's ``CorsAllowOrigins`` parameter (default: local dev servers such as
http://localhost:3000); http://localhost:4999 is not one of them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from local_stack.token import mint_dev_token
from tests.e2e.conftest import Stack, run_browser_script

pytestmark = pytest.mark.e2e

SCRIPT = Path(__file__).parent / "js" / "cors.mjs"


def test_preflight_from_an_allowed_origin_is_answered_with_the_templates_cors(stack: Stack):
    status, headers, _ = stack.request(
        "OPTIONS",
        "/pusher/auth",
        headers={
            "origin": "http://localhost:3000",
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization,content-type",
        },
    )
    assert status == 204  # used to be 404
    assert headers["access-control-allow-origin"] == "http://localhost:3000"
    assert {"authorization", "content-type"} <= set(headers["access-control-allow-headers"].split(","))
    assert "POST" in headers["access-control-allow-methods"].split(",")
    assert headers["access-control-max-age"] == "600"


class _FrontEnd(BaseHTTPRequestHandler):
    """A front end's dev server: one empty page."""

    def do_GET(self) -> None:
        body = b"<!doctype html><title>front end</title>"
        self.send_response(200)
        self.send_header("content-type", "text/html")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def front_end() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FrontEnd)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def test_a_browser_on_another_origin_can_authorize_only_from_an_allowed_origin(stack: Stack, front_end: int):
    sub = "cors-e2e"
    args = {
        "base": stack.base,
        "token": mint_dev_token(sub, secret=stack.env["JWT_SECRET"]),  # type: ignore[arg-type]
        "channel": f"private-user-{sub}",
        "pagePort": front_end,
    }
    seen = run_browser_script(SCRIPT, args, timeout=120)

    allowed = seen["allowed"]
    assert allowed["auth"].get("status") == 200, seen
    assert allowed["auth"]["body"]["auth"].startswith(stack.env["PUSHER_KEY"] + ":")
    assert allowed["auth"]["requestId"]  # an exposed header is readable from the page
    assert allowed["get"]["status"] == 401  # no token: the error model reaches the page too
    assert allowed["get"]["body"]["code"] == "missing_token"

    refused = seen["refused"]
    assert "Failed to fetch" in refused["auth"]["error"]  # Chromium refused it: not an allowed origin
    assert "Failed to fetch" in refused["get"]["error"]
    assert any("blocked by CORS policy" in e for e in refused["consoleErrors"]), refused
    assert not any("CORS" in e for e in allowed["consoleErrors"]), allowed
