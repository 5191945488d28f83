"""The Python publisher other services install (issue 16): `make dist` builds the wheel, a fresh virtual
environment installs it (no PYTHONPATH, no checkout), and its Publisher reaches a pusher-js client."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, PusherJs, Stack

# What another ToolBoxAI service would run: configuration from the environment only.
SERVICE_SCRIPT = """
import json, sys
import toolboxai_realtime
from toolboxai_realtime.publisher import Publisher

result = Publisher(rate_limit=False).broadcast_system_message(
    {"type": "info", "title": "From an installed publisher", "message": sys.argv[1],
     "timestamp": "2024-01-01T12:00:00Z"}
)
print(json.dumps({"module": toolboxai_realtime.__file__, "channels": list(result.channels),
                  "event_ids": list(result.event_ids)}))
"""


@pytest.fixture(scope="module")
def service_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh python3.12 virtual environment with only the wheel (and its dependencies) installed."""
    work = tmp_path_factory.mktemp("publisher-wheel")
    dist = work / "dist"
    # The Makefile's own recipe; -o: the application's .venv is there already (this test runs in it).
    subprocess.run(
        ["make", "-s", "-o", ".venv/.installed", "dist", f"DIST_DIR={dist}"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = dist.glob("toolboxai_realtime_publisher-*.whl")
    python312 = subprocess.run(
        [str(ROOT / "scripts" / "find-python312.sh")], capture_output=True, text=True, check=True
    ).stdout.strip()
    venv = work / "venv"
    subprocess.run([python312, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    # The test environment's pip installs into the new environment (pip --python): the same index as
    # configured on this machine, without bootstrapping a second pip; --no-compile saves the .pyc time.
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--quiet",
            "--no-compile",
            "--disable-pip-version-check",
            str(wheel),
        ],
        check=True,
        timeout=600,
    )
    return python


def test_the_installed_wheel_publishes_to_the_local_stack(
    stack: Stack, pusher_js: PusherJs, service_python: Path, tmp_path: Path
):
    pusher_js.connect("dashboard")
    reply = pusher_js.call("subscribe", client="dashboard", channel="dashboard-updates")
    assert reply["subscribed"], reply

    keep = ("PATH", "HOME", "LANG")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update({k: v for k, v in stack.env.items() if k.startswith("PUSHER_")})
    env.update({"AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_METRICS_DISABLED": "true"})
    # The publisher keeps channel history in DynamoDB before it publishes (README, Delivery): a service
    # needs the history table's name and access to it, here the stack's moto server and its fake keys.
    env.update({k: stack.env[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")})
    env["AWS_ENDPOINT_URL_DYNAMODB"] = f"http://127.0.0.1:{stack.env['DYNAMODB_PORT']}"
    assert "PYTHONPATH" not in env
    result = subprocess.run(
        [str(service_python), "-c", SERVICE_SCRIPT, "wheel-e2e"],
        cwd=tmp_path,  # not the checkout: nothing of the repository is importable from here
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    printed = json.loads(result.stdout.strip().splitlines()[-1])
    assert printed["channels"] == ["dashboard-updates"]
    assert Path(printed["module"]).is_relative_to(service_python.parent.parent), printed["module"]

    got = pusher_js.wait_event(client="dashboard", event="system_notification", channel="dashboard-updates")
    assert got["data"]["message"] == "wheel-e2e"
    assert [got["data"]["event_id"]] == printed["event_ids"]
