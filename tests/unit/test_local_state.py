"""`make dev` records its ports; `make reconcile`, `make canary` and local_stack.invoke follow them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from local_stack import config


def test_the_commands_follow_the_ports_the_running_stack_recorded(tmp_path):
    state = tmp_path / "stack.json"
    started = {config.STATE_FILE_VAR: str(state), "REALTIME_PORT": "8161", "DYNAMODB_PORT": "8162"}
    config.write_state(started)
    record = json.loads(state.read_text())
    assert record["pid"] == os.getpid()
    assert "PUSHER_SECRET" not in record["env"]

    other_terminal: dict[str, str] = {config.STATE_FILE_VAR: str(state)}
    config.apply_defaults(other_terminal, follow_running_stack=True)
    assert other_terminal["REALTIME_PORT"] == "8161"
    assert other_terminal["DYNAMODB_PORT"] == "8162"
    assert other_terminal["AWS_ENDPOINT_URL_DYNAMODB"] == "http://127.0.0.1:8162"
    assert other_terminal["PUSHER_PORT"] == config.LOCAL_DEFAULTS["PUSHER_PORT"]  # not recorded: default


def test_a_variable_set_by_hand_wins_over_the_record(tmp_path):
    state = tmp_path / "stack.json"
    config.write_state({config.STATE_FILE_VAR: str(state), "DYNAMODB_PORT": "8162"})
    env = {config.STATE_FILE_VAR: str(state), "DYNAMODB_PORT": "9999"}
    config.apply_defaults(env, follow_running_stack=True)
    assert env["DYNAMODB_PORT"] == "9999"


def test_a_record_whose_stack_is_gone_is_ignored(tmp_path):
    state = tmp_path / "stack.json"
    state.write_text(json.dumps({"pid": 2**22 + 12345, "env": {"DYNAMODB_PORT": "8162"}}))
    env = {config.STATE_FILE_VAR: str(state)}
    config.apply_defaults(env, follow_running_stack=True)
    assert env["DYNAMODB_PORT"] == config.LOCAL_DEFAULTS["DYNAMODB_PORT"]


def test_only_the_stack_that_wrote_the_record_removes_it(tmp_path):
    state = tmp_path / "stack.json"
    state.write_text(json.dumps({"pid": os.getpid() + 1, "env": {}}))
    config.remove_state({config.STATE_FILE_VAR: str(state)})
    assert state.exists()
    config.write_state({config.STATE_FILE_VAR: str(state)})
    config.remove_state({config.STATE_FILE_VAR: str(state)})
    assert not state.exists()


def test_without_following_the_defaults_apply():
    env = {config.STATE_FILE_VAR: "/nonexistent/stack.json"}
    config.apply_defaults(env)
    assert env["REALTIME_PORT"] == config.LOCAL_DEFAULTS["REALTIME_PORT"]


def _cold_start_output(monkeypatch, capsys, disabled: str) -> str:
    from toolboxai_realtime.observability import metrics

    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", disabled)

    class Context:
        function_name = "HealthFunction"

    metrics.provider.add_cold_start_metric(Context())  # type: ignore[arg-type]
    return capsys.readouterr().out


def test_metrics_off_means_no_emf_json_in_the_terminal_not_even_cold_start(monkeypatch, capsys):
    # make dev runs with metrics off: Powertools' ColdStart (single_metric) used to print anyway.
    assert _cold_start_output(monkeypatch, capsys, "true") == ""
    assert '"ColdStart"' in _cold_start_output(monkeypatch, capsys, "false")


def test_every_local_command_has_metrics_off_unless_asked():
    # make reconcile / local_stack.invoke printed EMF lines: only make dev turned metrics off.
    env: dict[str, str] = {config.STATE_FILE_VAR: "/nonexistent/stack.json"}
    config.apply_defaults(env, follow_running_stack=True)
    assert env["POWERTOOLS_METRICS_DISABLED"] == "true"
    asked = {config.STATE_FILE_VAR: "/nonexistent/stack.json", "POWERTOOLS_METRICS_DISABLED": "false"}
    config.apply_defaults(asked, follow_running_stack=True)
    assert asked["POWERTOOLS_METRICS_DISABLED"] == "false"


def test_an_invocation_that_counted_nothing_leaves_no_warning():
    # A fresh interpreter (pytest's own warning capture would override the filter under test).
    script = (
        "from toolboxai_realtime.observability import metrics\n"
        "@metrics.log_metrics\n"
        "def handler(event, context): return 1\n"
        "handler({}, None)\n"
    )
    env = {**os.environ, "POWERTOOLS_METRICS_NAMESPACE": "Test", "PYTHONPATH": "layers/shared"}
    done = subprocess.run(
        [sys.executable, "-W", "default", "-c", script],
        cwd=config.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "No application metrics" not in done.stderr
