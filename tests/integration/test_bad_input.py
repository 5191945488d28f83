"""Every route of template.yaml answers bad input with a JSON 4xx, never a 500 or a stack trace.

The cases are Powertools' known pitfalls (non-UTF-8 base64 bodies, multipart without a boundary) and
the usual garbage: wrong content types, malformed JSON, oversize bodies, junk headers.
"""

from __future__ import annotations

import base64

import pytest
import responses

from local_stack.template import load_template
from tests.conftest import http_event, invoke

ROUTES = [
    (r.method, r.path.replace("{channel}", "private-class-1").replace("{id}", "w1"))
    for r in load_template().http_routes()
]

BAD_BODIES = {
    "not_utf8_base64": (b"\xff\xfe\xfd", "application/json", True),
    "multipart_without_boundary": (b"--x\r\n", "multipart/form-data", False),
    "malformed_json": (b'{"socket_id": ', "application/json", False),
    "json_array": (b"[1,2,3]", "application/json", False),
    "xml": (b"<a/>", "application/xml", False),
    "oversize": (b"a" * 200_000, "application/json", False),
    "form_not_utf8": (b"socket_id=\xff", "application/x-www-form-urlencoded", True),
}


@pytest.fixture
def quiet_pusher():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get("http://127.0.0.1:6001/apps/1001/channels", json={"channels": {}})
        yield mock


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("case", sorted(BAD_BODIES))
def test_bad_body_is_a_json_4xx(aws_tables, quiet_pusher, method, path, case):
    raw, content_type, b64 = BAD_BODIES[case]
    event = http_event(method, path, headers={"content-type": content_type, "authorization": "Bearer x"})
    event["body"] = base64.b64encode(raw).decode() if b64 else raw.decode("latin-1")
    event["isBase64Encoded"] = b64
    status, headers, body = invoke(event)
    assert status < 500 or status == 503, (status, body)
    assert headers["content-type"].startswith("application/json")
    assert isinstance(body, dict)
    if status >= 400:
        assert set(body) >= {"code", "message"}
        assert "Traceback" not in str(body)
