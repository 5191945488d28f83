"""Helpers shared by the benchmarks: percentiles and a local moto DynamoDB server."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def percentile(values: Sequence[float], pct: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1))))
    return ordered[k]


def summary(values: Sequence[float], unit: str = "ms") -> str:
    return (
        f"n={len(values)} p50={percentile(values, 50):.2f} {unit} p99={percentile(values, 99):.2f} {unit} "
        f"mean={statistics.fmean(values):.2f} {unit}"
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while True:
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.1)


@contextmanager
def plain_moto_server() -> Iterator[str]:
    """moto's own (threaded) server, e.g. as the API Gateway Management API endpoint."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-p", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    _wait(url, proc)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextmanager
def moto_server() -> Iterator[str]:
    """The local stack's moto server on a free port, with the template's tables; yields its URL and
    points this process's DynamoDB client at it (AWS_ENDPOINT_URL_DYNAMODB, caches cleared)."""
    import boto3

    from local_stack.config import LOCAL_DEFAULTS
    from local_stack.dynamo import create_tables
    from local_stack.moto_dynamodb import running
    from local_stack.template import load_template

    for key, value in LOCAL_DEFAULTS.items():
        os.environ.setdefault(key, value)
    os.environ.update(load_template().environment(os.environ))
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    with running() as url:
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = url
        _clear_layer_caches()
        create_tables(boto3.client("dynamodb", endpoint_url=url))
        yield url


def _clear_layer_caches() -> None:
    """Forget clients and settings built for an earlier endpoint (benchmarks share one process)."""

    from toolboxai_realtime.caches import reset_caches

    reset_caches()


@contextmanager
def stub_management_api() -> Iterator[str]:
    """A minimal Management API (answers 200 to every post at once): isolates our side's cost."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", 0)))
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return

    class Server(ThreadingHTTPServer):
        request_queue_size = 128
        daemon_threads = True

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
