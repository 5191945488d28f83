"""The real local stack (moto server, soketi, the gateway) started once for the e2e session, on free
ports so it never collides with a developer's own `make dev`; and a pusher-js driver to talk to it."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from local_stack.config import LOCAL_DEFAULTS

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).parent / "js" / "driver.mjs"


def chromium() -> str:
    """The Chromium the browser tests drive: $CHROMIUM, or chromium on PATH (`make browser` installs it)."""
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail(
            "Chromium is needed for the browser tests: `sudo apt-get install -y chromium`, or set CHROMIUM"
        )
    return path


def run_browser_script(script: Path, args: dict[str, Any], timeout: float) -> Any:
    """Run a playwright-core script of tests/e2e/js with Chromium and ``args`` (JSON, argv[2]); the JSON
    of its last stdout line. Fails the test when the script exits non-zero."""
    result = subprocess.run(
        ["node", str(script), json.dumps({**args, "chromium": chromium()})],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Stack:
    proc: subprocess.Popen[str]
    env: dict[str, str]
    output: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.env['REALTIME_PORT']}"

    def request(
        self, method: str, path: str, *, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], Any]:
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=15) as resp:
                status, hdrs, raw = resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as err:
            status, hdrs, raw = err.code, dict(err.headers), err.read()
        try:
            parsed = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            parsed = raw.decode(errors="replace")
        return status, {k.lower(): v for k, v in hdrs.items()}, parsed

    def json(
        self,
        method: str,
        path: str,
        payload: Any,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], Any]:
        hdrs = {"content-type": "application/json", **(headers or {})}
        if token:
            hdrs["authorization"] = f"Bearer {token}"
        return self.request(method, path, body=json.dumps(payload).encode(), headers=hdrs)


def start_stack(
    extra_env: dict[str, str] | None = None, timeout: float = 90, unset: tuple[str, ...] = ()
) -> Stack:
    env = dict(os.environ)
    for key in ("AWS_ENDPOINT_URL_DYNAMODB", "POWERTOOLS_METRICS_DISABLED"):
        env.pop(key, None)
    env.update(LOCAL_DEFAULTS)
    env.update(
        {
            "REALTIME_PORT": str(free_port()),
            "PUSHER_PORT": str(free_port()),
            "DYNAMODB_PORT": str(free_port()),
            "SOKETI_METRICS_PORT": str(free_port()),
            "POWERTOOLS_METRICS_DISABLED": "true",
            "AUTH_RATE_LIMIT_PER_MINUTE": "1000",
            # Its own record of its ports, never the developer's .local/stack.json.
            "LOCAL_STACK_STATE": tempfile.mktemp(prefix="toolboxai-stack-", suffix=".json"),
            **(extra_env or {}),
        }
    )
    for key in unset:  # as a developer's `make dev` would run: the stack's own default applies
        env.pop(key, None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "local_stack"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    stack = Stack(proc, env)
    ready = threading.Event()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            stack.output.append(line)
            if "ready:" in line:
                ready.set()

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + timeout
    while not ready.wait(0.2):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("local stack did not become ready:\n" + "".join(stack.output[-40:]))
    return stack


def child_pid(stack: Stack, marker: str) -> int:
    """The pid of the stack's child process whose command line contains ``marker`` (Linux /proc)."""
    pid = stack.proc.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    for child in children:
        cmdline = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        if marker in cmdline:
            return int(child)
    raise AssertionError(f"no child process of the stack runs {marker!r}: {children}")


def stop_stack(stack: Stack) -> int:
    if stack.proc.poll() is None:
        stack.proc.send_signal(signal.SIGTERM)
    return stack.proc.wait(timeout=20)


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    s = start_stack()
    yield s
    stop_stack(s)


@pytest.fixture(scope="session")
def signin_stack() -> Iterator[Stack]:
    """A second stack, with sign-in required (``PUSHER_USER_AUTHENTICATION=true``: soketi answers
    ``pusher:signin`` and closes connections that do not sign in within 30 s), started once per session
    for the user-level control tests."""
    s = start_stack({"PUSHER_USER_AUTHENTICATION": "true"})
    yield s
    stop_stack(s)


class PusherJs:
    """A node process running pusher-js 8, commanded over JSON lines (see js/driver.mjs)."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.proc = subprocess.Popen(
            ["node", str(DRIVER)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self._ids = itertools.count(1)
        self._replies: dict[int, queue.Queue[dict[str, Any]]] = {}
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.lines: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            msg = json.loads(line)
            self.lines.append(msg)
            if "id" in msg and msg["id"] in self._replies:
                self._replies[msg["id"]].put(msg)
            elif msg.get("type") == "event":
                self.events.put(msg)

    def call(self, op: str, timeout: float = 20, **kw: Any) -> dict[str, Any]:
        cid = next(self._ids)
        box: queue.Queue[dict[str, Any]] = queue.Queue()
        self._replies[cid] = box
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"id": cid, "op": op, **kw}) + "\n")
        self.proc.stdin.flush()
        reply = box.get(timeout=timeout)
        assert reply["ok"], reply
        return reply

    def connect(self, client: str, token: str | None = None, **kw: Any) -> str:
        env = self.stack.env
        reply = self.call(
            "connect",
            client=client,
            token=token,
            key=env["PUSHER_KEY"],
            wsHost=env["PUSHER_HOST"],
            wsPort=int(env["PUSHER_PORT"]),
            authEndpoint=f"{self.stack.base}/pusher/auth",
            userAuthEndpoint=f"{self.stack.base}/pusher/user-auth",
            **kw,
        )
        return str(reply["socket_id"])

    def wait_event(
        self, *, client: str, event: str, channel: str | None = None, timeout: float = 10
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        skipped = []
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{client} did not receive {event} on {channel} within {timeout} s")
                msg = self.events.get(timeout=left)
                if msg["client"] == client and msg["event"] == event and channel in (None, msg["channel"]):
                    return msg
                skipped.append(msg)
        finally:
            for msg in skipped:
                self.events.put(msg)

    def wait_line(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 10) -> dict[str, Any]:
        """The first line the driver printed (events, states, subscriptions) that ``predicate`` accepts,
        waiting up to ``timeout`` seconds for it."""
        deadline = time.monotonic() + timeout
        seen = 0
        while time.monotonic() < deadline:
            lines = list(self.lines)
            for line in lines[seen:]:
                if predicate(line):
                    return line
            seen = len(lines)
            time.sleep(0.05)
        raise AssertionError(f"no matching driver line within {timeout} s")

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(Exception):  # best effort: it is killed below anyway
                self.call("exit", timeout=5)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture
def signin_pusher_js(signin_stack: Stack) -> Iterator[PusherJs]:
    driver = PusherJs(signin_stack)
    yield driver
    driver.close()


@pytest.fixture
def pusher_js(stack: Stack) -> Iterator[PusherJs]:
    driver = PusherJs(stack)
    yield driver
    driver.close()
