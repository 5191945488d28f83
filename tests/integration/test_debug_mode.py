"""Debug mode: REALTIME_DEBUG=true turns on debug logging in every function without code changes, and a
debug log of real auth requests still carries no token, signature or secret.

The logger reads the setting once, when the layer is imported (as in a Lambda cold start), so each
check runs the auth handler in a fresh Python process (``_probe`` below) and reads what it logged.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from toolboxai_realtime.caches import reset_caches

_FORM = "application/x-www-form-urlencoded"


def _probe() -> None:  # pragma: no cover - runs in the child process
    """Three auth requests (granted, refused by the policy, forged token) under moto; the values that must
    not be logged go to the file named by DEBUG_PROBE_OUT."""
    import boto3
    from moto import mock_aws

    from local_stack.dynamo import create_tables
    from local_stack.token import mint_dev_token
    from tests.conftest import http_event, invoke

    with mock_aws():
        create_tables(boto3.client("dynamodb", region_name=os.environ["AWS_DEFAULT_REGION"]))
        token = mint_dev_token("12345", role="student", name="Debug Dana", class_ids=["101"])
        forged = token[:-6] + ("AAAAAA" if not token.endswith("AAAAAA") else "BBBBBB")
        results = []
        for bearer, channel in (
            (token, "private-user-12345"),
            (token, "private-user-99999"),
            (forged, "private-user-12345"),
        ):
            event = http_event(
                "POST",
                "/pusher/auth",
                body=f"socket_id=1234.5678&channel_name={channel}",
                headers={"authorization": f"Bearer {bearer}", "content-type": _FORM},
            )
            results.append(invoke(event))
    Path(os.environ["DEBUG_PROBE_OUT"]).write_text(
        json.dumps(
            {
                "statuses": [status for status, _, _ in results],
                "token": token,
                "forged": forged,
                "signature": results[0][2]["auth"].split(":", 1)[1],
            }
        )
    )


def _run(tmp_path: Path, **env: str) -> tuple[dict[str, Any], list[dict[str, Any]], str]:
    out = tmp_path / "probe.json"
    child_env = {key: value for key, value in os.environ.items() if key != "REALTIME_DEBUG"}
    # The child finds the layer and the tests as pytest does (pyproject's pythonpath).
    pythonpath = os.pathsep.join([str(ROOT / "layers" / "shared"), str(ROOT)])
    child_env.update({"DEBUG_PROBE_OUT": str(out), "PYTHONPATH": pythonpath, **env})
    result = subprocess.run(
        [sys.executable, "-c", "from tests.integration.test_debug_mode import _probe; _probe()"],
        cwd=ROOT,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    logs = [json.loads(line) for line in result.stdout.splitlines() if line.startswith('{"level"')]
    return json.loads(out.read_text()), logs, result.stdout + result.stderr


def test_realtime_debug_turns_on_debug_logs_of_auth_requests_without_tokens_or_secrets(tmp_path):
    probe, logs, output = _run(tmp_path, REALTIME_DEBUG="true", POWERTOOLS_LOG_LEVEL="INFO")

    assert probe["statuses"] == [200, 403, 401]
    debug = [line for line in logs if line["level"] == "DEBUG"]
    assert any(line["message"] == "channels authorized" and line["user_id"] == "12345" for line in debug)
    assert {"WARNING"} <= {line["level"] for line in logs}  # the two refusals are security events
    secrets = {
        "bearer token": probe["token"],
        "forged token": probe["forged"],
        "token signature": probe["token"].rsplit(".", 1)[1],
        "channel signature": probe["signature"],
        "PUSHER_SECRET": os.environ["PUSHER_SECRET"],
        "JWT_SECRET": os.environ["JWT_SECRET"],
    }
    for what, value in secrets.items():
        assert value not in output, f"the debug log contains the {what}"


def test_without_realtime_debug_there_are_no_debug_logs(tmp_path):
    probe, logs, _ = _run(tmp_path, POWERTOOLS_LOG_LEVEL="INFO")

    assert probe["statuses"] == [200, 403, 401]
    assert logs, "the refusals are still logged"
    assert "DEBUG" not in {line["level"] for line in logs}


@pytest.mark.parametrize(
    ("env", "level"),
    [
        ({"REALTIME_DEBUG": "true"}, "DEBUG"),
        ({"REALTIME_DEBUG": "1", "POWERTOOLS_LOG_LEVEL": "ERROR"}, "DEBUG"),
        ({"REALTIME_DEBUG": "false", "POWERTOOLS_LOG_LEVEL": "WARNING"}, "WARNING"),
        ({}, "INFO"),
    ],
)
def test_log_level_comes_from_realtime_debug_first_then_powertools(monkeypatch, env, level):
    from toolboxai_realtime import observability

    monkeypatch.delenv("REALTIME_DEBUG", raising=False)
    monkeypatch.delenv("POWERTOOLS_LOG_LEVEL", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)

    assert observability._level() == level


def test_realtime_debug_is_a_setting_of_the_model(monkeypatch):
    from toolboxai_realtime.settings import get_settings

    monkeypatch.setenv("REALTIME_DEBUG", "true")
    reset_caches()

    assert get_settings().realtime_debug is True
