"""The whole local stack: it starts, answers /health, pusher-js connects, and it stops cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from tests.e2e.conftest import ROOT, free_port, start_stack

pytestmark = pytest.mark.e2e


def test_health_answers_200_with_both_dependencies_up(stack):
    status, headers, body = stack.request("GET", "/health")
    assert status == 200, body
    assert body["status"] == "ok"
    assert body["checks"]["dynamodb"]["status"] == "ok"
    assert body["checks"]["pusher"]["status"] == "ok"
    assert headers["apigw-requestid"]


def test_unknown_route_is_a_json_404(stack):
    status, _, body = stack.request("POST", "/no/such/route")
    assert status == 404
    assert body["code"] == "route_not_found"


def test_pusher_js_connects_to_soketi_and_gets_a_socket_id(pusher_js):
    socket_id = pusher_js.connect("smoke")
    assert socket_id.count(".") == 1
    assert all(part.isdigit() for part in socket_id.split("."))


def _children(pid: int) -> list[int]:
    out = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True, check=False
    )
    return [int(p) for p in out.stdout.split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = subprocess.run(["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True, check=False)
    return bool(state.stdout.strip()) and not state.stdout.strip().startswith("Z")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_stack_stops_every_child_on_signal(sig):
    stack = start_stack()
    children = _children(stack.proc.pid)
    assert len(children) >= 2, "moto and soketi should be running"
    stack.proc.send_signal(sig)
    assert stack.proc.wait(timeout=20) == 0
    assert not [pid for pid in children if _alive(pid)]


def test_a_taken_port_is_a_clear_error_and_a_nonzero_exit(stack):
    second = start_stack_expect_failure({"REALTIME_PORT": stack.env["REALTIME_PORT"]})
    assert second.returncode == 2
    assert "port already in use" in second.stderr
    assert f"127.0.0.1:{stack.env['REALTIME_PORT']}" in second.stderr


def start_stack_expect_failure(extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.update(
        {
            "PUSHER_PORT": str(free_port()),
            "DYNAMODB_PORT": str(free_port()),
            "SOKETI_METRICS_PORT": str(free_port()),
            **extra,
        }
    )
    return subprocess.run(
        [sys.executable, "-m", "local_stack"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
