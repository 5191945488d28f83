"""Child processes of the local stack (moto's DynamoDB server, soketi) and the checks before them."""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from .config import ROOT

SOKETI = ROOT / "node_modules" / "@soketi" / "soketi" / "bin" / "server.js"
WEBHOOK_EVENTS = [
    "channel_occupied",
    "channel_vacated",
    "member_added",
    "member_removed",
    "client_event",
    "subscription_count",
    "cache_miss",
]


class StackError(RuntimeError):
    """A prerequisite is missing or a component did not start: the message says what to do."""


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def check_ports(ports: Mapping[str, tuple[str, int]]) -> None:
    """Raise ``StackError`` naming every port that is already taken."""
    taken = [f"{what} ({host}:{port})" for what, (host, port) in ports.items() if port_in_use(host, port)]
    if taken:
        raise StackError(
            "port already in use: " + ", ".join(taken) + ". Stop whatever holds it (another `make dev`?) "
            "or choose other ports with REALTIME_PORT / PUSHER_PORT / DYNAMODB_PORT / SOKETI_METRICS_PORT."
        )


def check_prerequisites() -> str:
    """The node binary, or ``StackError`` when node or soketi is missing."""
    node = shutil.which("node")
    if node is None:
        raise StackError("Node.js 20 is required for soketi (the local Pusher): install it and retry.")
    if not SOKETI.exists():
        raise StackError("soketi is not installed: run `npm ci` (or `make dev`, which installs it).")
    return node


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    # If this process is killed without a chance to clean up, the kernel stops the child too.
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def spawn(args: list[str], env: Mapping[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("ab")
    return subprocess.Popen(  # noqa: S603 - fixed argument lists built here
        args,
        env=dict(env),
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        preexec_fn=_die_with_parent,
    )


def wait_until(url: str, proc: subprocess.Popen[bytes], what: str, timeout: float = 30.0) -> None:
    """Poll ``url`` until it answers (any HTTP status), or raise ``StackError``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StackError(f"{what} exited with code {proc.returncode}; see its log under .local/.")
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - loopback URL built here
                return
        except urllib.error.HTTPError:
            return
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    raise StackError(f"{what} did not answer on {url} within {timeout:.0f} s.")


def moto_command(host: str, port: int) -> list[str]:
    return [sys.executable, "-m", "local_stack.moto_dynamodb", "-H", host, "-p", str(port)]


def soketi_env(env: Mapping[str, str], webhook_url: str) -> dict[str, str]:
    """soketi's configuration, from the ``PUSHER_*`` variables, kept on loopback."""
    out = dict(os.environ)
    out.update(
        {
            "SOKETI_HOST": env["PUSHER_HOST"],
            "SOKETI_PORT": env["PUSHER_PORT"],
            "SOKETI_CLUSTER_UNICAST_ADDRESSES": "127.0.0.1",
            "SOKETI_METRICS_HOST": "127.0.0.1",
            "SOKETI_METRICS_SERVER_PORT": env["SOKETI_METRICS_PORT"],
            "SOKETI_DEFAULT_APP_ID": env["PUSHER_APP_ID"],
            "SOKETI_DEFAULT_APP_KEY": env["PUSHER_KEY"],
            "SOKETI_DEFAULT_APP_SECRET": env["PUSHER_SECRET"],
            "SOKETI_DEFAULT_APP_ENABLE_CLIENT_MESSAGES": "true",
            "SOKETI_DEFAULT_APP_USER_AUTHENTICATION": env.get("PUSHER_USER_AUTHENTICATION", "false"),
            "SOKETI_DEFAULT_APP_WEBHOOKS": json.dumps([{"url": webhook_url, "event_types": WEBHOOK_EVENTS}]),
            # Pusher's own limits, so local behaviour matches production.
            "SOKETI_CHANNEL_LIMITS_MAX_NAME_LENGTH": "164",
            "SOKETI_PRESENCE_MAX_MEMBERS": "100",
            "SOKETI_SHUTDOWN_GRACE_PERIOD": "200",
        }
    )
    return out


def stop(procs: list[subprocess.Popen[bytes]], grace: float = 5.0) -> None:
    """SIGTERM every child, then SIGKILL whatever is still alive after ``grace`` seconds."""
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + grace
    for proc in procs:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
