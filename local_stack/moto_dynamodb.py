"""moto's server mode for DynamoDB, with requests applied one at a time.

``python -m moto.server`` handles requests on parallel threads and moto's in-memory backend does not lock
an item between the check and the write of a conditional update, so two racing requests can both pass
a condition. DynamoDB serialises writes to an item; to keep the local stack faithful (exactly N of N+k
racing rate-limit hits succeed) this server applies one request at a time, while connections are still
accepted on many threads so keep-alive clients never block each other.
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Callable, Iterable
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
