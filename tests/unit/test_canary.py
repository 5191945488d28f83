"""The delivery canary's pure parts: its URL, its channel policy and catalog entries, its CLI output."""

from __future__ import annotations

import os
import socket
from unittest import mock

import pytest

from local_stack import canary as canary_cli
from toolboxai_realtime import canary
from toolboxai_realtime.catalog import validate_event
from toolboxai_realtime.channels import CANARY, USER, authorize, parse_channel, require_subscribe
from toolboxai_realtime.errors import Forbidden, ValidationFailed
from toolboxai_realtime.identity import Principal
from toolboxai_realtime.settings import Settings


def _settings(**values: object) -> Settings:
    return Settings.model_validate(values)


# ------------------------------------------------------------------------------------------- the URL


def test_websocket_url_for_soketi_uses_its_host_port_and_plain_ws():
    s = _settings(pusher_host="127.0.0.1", pusher_port=6001, pusher_use_tls=False)

    assert canary.websocket_url("toolboxai-local-key", s) == (
        "ws://127.0.0.1:6001/app/toolboxai-local-key?protocol=7&client=toolboxai-canary&version=1.0"
    )


def test_websocket_url_for_pusher_uses_the_clusters_ws_host_over_tls():
    s = _settings(pusher_cluster="eu", pusher_use_tls=True)

    assert canary.websocket_url("abc123", s) == (
        "wss://ws-eu.pusher.com:443/app/abc123?protocol=7&client=toolboxai-canary&version=1.0"
    )


def test_websocket_url_turns_pushers_api_host_into_its_websocket_host():
    s = _settings(pusher_host="api-ap1.pusher.com", pusher_use_tls=True)

    assert canary.websocket_url("k", s).startswith("wss://ws-ap1.pusher.com:443/app/k?")


def test_websocket_url_quotes_the_key():
    s = _settings(pusher_host="127.0.0.1", pusher_port=6001, pusher_use_tls=False)

    assert "/app/a%2Fb%3F?" in canary.websocket_url("a/b?", s)


# ------------------------------------------------------------------------------------ policy, catalog


def test_the_canary_may_subscribe_to_its_own_channel_through_the_policy():
    channel = parse_channel("private-canary-0f3e2d4b6a70")

    decision = require_subscribe(canary.CANARY_PRINCIPAL, channel)

    assert channel.family is CANARY
    assert channel.is_private
    assert not channel.is_presence
    assert decision.reason == "service_principal"


def test_admins_may_watch_canary_channels():
    admin = Principal(user_id="ops", role="admin")

    assert authorize(admin, parse_channel("private-canary-1")).reason == "admin"


@pytest.mark.parametrize("role", ["student", "teacher"])
def test_people_without_the_service_scope_may_not_subscribe_to_canary_channels(role):
    person = Principal(user_id="12345", role=role, class_ids=frozenset({"1"}))

    with pytest.raises(Forbidden) as refused:
        require_subscribe(person, parse_channel("private-canary-1"))

    assert refused.value.code == "not_a_service"


def test_the_canary_probe_is_a_catalogued_event_of_the_canary_family():
    data = validate_event(CANARY, canary.CANARY_EVENT, {"run_id": "abc", "sent_at": "2024-01-01T12:00:00Z"})

    assert data == {"run_id": "abc", "sent_at": "2024-01-01T12:00:00Z"}
    with pytest.raises(ValidationFailed):
        validate_event(CANARY, canary.CANARY_EVENT, {"run_id": "abc"})
    with pytest.raises(ValidationFailed):
        validate_event(USER, canary.CANARY_EVENT, {"run_id": "abc", "sent_at": "2024-01-01T12:00:00Z"})


# ---------------------------------------------------------------------------------------- the report


def test_a_failed_report_says_where_and_why():
    report = canary._Run(run_id="r1", channel="private-canary-r1", connect_ms=3.0).report(
        canary._Failed("subscribe", "subscription_refused")
    )

    assert report.ok is False
    assert (report.failed_at, report.failure) == ("subscribe", "subscription_refused")
    assert report.connect_ms == 3.0
    assert report.latency_ms is None


# ---------------------------------------------------------------------------------------- make canary


def test_cli_prints_one_line_per_run_and_a_summary():
    ok = {"ok": True, "connect_ms": 4.25, "subscribe_ms": 2.0, "latency_ms": 9.5}
    failed = {"ok": False, "connect_ms": 5.0, "failed_at": "receive", "failure": "timeout"}

    assert (
        canary_cli.figure_line(1, ok)
        == "run  1: ok     connect 4.2 ms · subscribe 2.0 ms · publish → receipt 9.5 ms"
    )
    assert canary_cli.figure_line(2, failed) == "run  2: FAILED at receive (timeout) connect 5.0 ms"
    summary = canary_cli.summary_lines([ok, failed])
    assert summary[0] == "1/2 runs delivered"
    assert summary[1] == "          connect: median 4.6 ms · min 4.2 · max 5.0 (n=2)"
    assert summary[-1] == "publish → receipt: median 9.5 ms · min 9.5 · max 9.5 (n=1)"


def test_cli_refuses_to_run_without_a_stack(capsys):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # free once the socket is closed: nothing listens there
    # main() fills in the local defaults in os.environ, as a command line should: restore it afterwards.
    with mock.patch.dict(os.environ, {"PUSHER_HOST": "127.0.0.1", "PUSHER_PORT": str(port)}):
        assert canary_cli.main(["--runs", "1"]) == 2
    assert "start `make dev` first" in capsys.readouterr().err


def test_cli_rejects_zero_runs():
    with pytest.raises(SystemExit):
        canary_cli.parse_args(["--runs", "0"])
