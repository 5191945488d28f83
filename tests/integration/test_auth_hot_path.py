"""The auth endpoints are the class-start burst's hot path (issue 15): per-request work that a warm
request must not repeat. The cost of each is measured by ``make bench ARGS=auth_compute``
(docs/benchmarks.md, "Auth compute"); these tests pin what the measurement found."""

from __future__ import annotations

import typing
from typing import Any
from urllib.parse import urlencode

import pytest
from aws_lambda_powertools.event_handler import depends

from local_stack.token import mint_dev_token
from tests.conftest import http_event, invoke

REQUESTS = {
    "channel": ("/pusher/auth", {"socket_id": "1.1", "channel_name": "private-user-555"}),
    "presence": ("/pusher/auth", {"socket_id": "1.1", "channel_name": "presence-classroom-101"}),
    "user": ("/pusher/user-auth", {"socket_id": "1.1"}),
}


def _auth(path: str, fields: dict[str, str]) -> tuple[int, dict[str, str], Any]:
    headers = {
        "content-type": "application/x-www-form-urlencoded",
        "authorization": f"Bearer {mint_dev_token('555', name='Arnold', class_ids=['101'])}",
    }
    return invoke(http_event("POST", path, body=urlencode(fields), headers=headers))


@pytest.fixture
def type_hint_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every ``typing.get_type_hints`` call, by the qualified name of what it read (Powertools' Depends
    module imports the function by name, so it is replaced there too)."""
    seen: list[str] = []
    original = typing.get_type_hints

    def counting(obj: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(getattr(obj, "__qualname__", repr(obj)))
        return original(obj, *args, **kwargs)

    monkeypatch.setattr(typing, "get_type_hints", counting)
    monkeypatch.setattr(depends, "get_type_hints", counting)
    return seen


@pytest.mark.parametrize("request_name", list(REQUESTS))
def test_a_warm_auth_request_reads_no_type_hints(
    aws_tables: Any, type_hint_reads: list[str], request_name: str
):
    # Powertools resolves a route's Depends parameters by reading the route's and each dependency's type
    # hints again on every request (~200 µs of an auth's ~1 ms); the auth routes have none.
    path, fields = REQUESTS[request_name]
    assert _auth(path, fields)[0] == 200  # warm: anything read once per process is read now
    type_hint_reads.clear()
    status, _, body = _auth(path, fields)
    assert status == 200, body
    assert type_hint_reads == []
