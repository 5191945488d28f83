"""moto's server mode for DynamoDB, with requests applied one at a time.

``python -m moto.server`` handles requests on parallel threads and moto's in-memory backend does not lock
an item between the check and the write of a conditional update, so two racing requests can both pass
a condition. DynamoDB serialises writes to an item; to keep the local stack faithful (exactly N of N+k
racing rate-limit hits succeed) this server applies one request at a time, while connections are still
accepted on many threads so keep-alive clients never block each other.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class Serialized:
    """A WSGI app that runs the wrapped app under one lock (the body is produced inside it too)."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with self.lock:
            return list(self.app(environ, start_response))


@contextmanager
def running(port: int | None = None, timeout: float = 30) -> Iterator[str]:
    """This server in a child process (on a free port unless ``port`` is given) for the duration of the
    block; yields its URL once it answers. For tests and benchmarks."""
    if port is None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
    proc = subprocess.Popen(  # noqa: S603 - a fixed command line
        [sys.executable, "-m", "local_stack.moto_dynamodb", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(url, timeout=1).close()
                break
            except urllib.error.HTTPError:
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"moto's DynamoDB server did not start on {url}") from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_stack.moto_dynamodb")
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=8010)
    args = parser.parse_args(argv)
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, Serialized(app), threaded=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
