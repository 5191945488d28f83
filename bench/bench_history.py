"""Channel history: what it costs a publish, how many DynamoDB calls, and how fast it reads back.

In-process, against the local stack's moto server (``bench._support.moto_server``) and a stub Pusher HTTP
API that answers 200 at once (so the Pusher side costs the same in both arms and the difference is ours):

1. **Publish latency, history on against off**, same run, interleaved: ``Publisher().trigger`` of one
   event on ``dashboard-updates`` with the per-channel rate limit on. "On" is the real path (the counter
   update and the history ``Put`` in one ``TransactWriteItems``); "off" is the same publish with the
   family's ``history`` column turned off for the run (the counter's ``UpdateItem`` alone).
2. **DynamoDB calls per publish** for 1, 10 and 100 channels (``private-user-*``), history on and off,
   counted on the layer's client (``before-call`` events).
3. **History query** with 1,000 events kept on one channel: ``history.read`` after a random id (limit
   50) and without ``after`` (the latest 50), p50/p99.
"""

from __future__ import annotations

import contextlib
import io
import json
import random
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bench._support import moto_server, percentile, summary

PUBLISHES = 300  # per arm, after WARMUP
WARMUP = 20
QUERIES = 300
KEPT = 1000
NOTIFICATION = {"type": "info", "message": "Benchmark", "timestamp": "2024-01-01T12:00:00Z"}
GRADE = {"type": "grade", "title": "New Grade Posted", "message": "Your math quiz has been graded"}


@contextmanager
def stub_pusher() -> Iterator[int]:
    """A Pusher HTTP API stand-in: 200 ``{}`` to every POST, at once. Yields its port."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", 0)))
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()


@contextmanager
def history_off(family: str) -> Iterator[None]:
    """The channel table with ``family``'s history column off (the "off" arm)."""
    from toolboxai_realtime import channels

    # The catalog keys its events by the family objects, so the family is switched in place rather than
    # replaced by a copy (which the catalog would not know); frozen, hence object.__setattr__.
    line = channels.FAMILIES[family]
    object.__setattr__(line, "keeps_history", False)
    try:
        yield
    finally:
        object.__setattr__(line, "keeps_history", True)


def _latency() -> dict[str, list[float]]:
    from toolboxai_realtime.publisher import Publisher

    pub = Publisher(limit_per_minute=10_000_000)
    out: dict[str, list[float]] = {"on": [], "off": []}
    for i in range(WARMUP + PUBLISHES):
        for arm in ("on", "off"):
            start = time.perf_counter()
            if arm == "on":
                pub.trigger("dashboard-updates", "notification", NOTIFICATION)
            else:
                with history_off("dashboard-updates"):
                    pub.trigger("dashboard-updates", "notification", NOTIFICATION)
            if i >= WARMUP:
                out[arm].append((time.perf_counter() - start) * 1000)
    return out


def _calls() -> list[tuple[str, str, list[str]]]:
    from toolboxai_realtime import aws
    from toolboxai_realtime.publisher import Publisher

    seen: list[str] = []
    aws.dynamodb().meta.events.register("before-call.dynamodb", lambda **kw: seen.append(kw["model"].name))
    pub = Publisher(limit_per_minute=10_000_000)
    rows = []
    for width in (1, 10, 100):
        targets = [f"private-user-bench{i}" for i in range(width)]
        for arm in ("on", "off"):
            seen.clear()
            if arm == "on":
                pub.trigger(targets, "grade_posted", GRADE)
            else:
                with history_off("private-user"):
                    pub.trigger(targets, "grade_posted", GRADE)
            rows.append((f"{width} channel{'s' if width > 1 else ''}", arm, list(seen)))
    return rows


def _queries() -> dict[str, list[float]]:
    from toolboxai_realtime import history
    from toolboxai_realtime.event_ids import new_event_ids
    from toolboxai_realtime.stores import history as store

    channel = "private-user-history-bench"
    ids = new_event_ids(KEPT)
    items = [
        store.HistoryItem(channel, event_id, "grade_posted", json.dumps({**GRADE, "event_id": event_id}))
        for event_id in ids
    ]
    store.write(items)
    rng = random.Random(13)
    out: dict[str, list[float]] = {"after": [], "latest": []}
    for _ in range(QUERIES):
        after = ids[rng.randrange(KEPT - 1)]
        start = time.perf_counter()
        page = history.read(channel, after=after, limit=50)
        out["after"].append((time.perf_counter() - start) * 1000)
        assert page.events
        assert page.events[0].event_id > after
        start = time.perf_counter()
        page = history.read(channel, limit=50)
        out["latest"].append((time.perf_counter() - start) * 1000)
        assert [e.event_id for e in page.events] == ids[-50:]
    return out


def main() -> None:
    import os

    began = time.perf_counter()
    with stub_pusher() as port, moto_server():
        os.environ.update(
            {"PUSHER_HOST": "127.0.0.1", "PUSHER_PORT": str(port), "POWERTOOLS_LOG_LEVEL": "ERROR"}
        )

        from toolboxai_realtime.caches import reset_caches

        reset_caches()
        logging_off()
        # Powertools prints EMF lines when its metric buffer fills: keep them out of the figures.
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            latency = _latency()
            calls = _calls()
            queries = _queries()

    on, off = latency["on"], latency["off"]
    print(f"publish (Publisher.trigger, 1 channel, rate limit on), {PUBLISHES} per arm after {WARMUP}:")
    print(f"  history on  (TransactWriteItems: counter + history Put): {summary(on)}")
    print(f"  history off (UpdateItem: counter only):                  {summary(off)}")
    print(
        f"  ratio on / off: p50 {percentile(on, 50) / percentile(off, 50):.2f}x, "
        f"p99 {percentile(on, 99) / percentile(off, 99):.2f}x"
    )
    print()
    print("DynamoDB calls per publish (one event, private-user channels, rate limit on):")
    print("| channels | history | calls | operations |")
    print("|---|---|---|---|")
    for label, arm, ops in calls:
        print(f"| {label} | {arm} | {len(ops)} | {', '.join(ops)} |")
    print()
    print(f"history query, {KEPT} events kept on the channel, {QUERIES} queries each:")
    print(f"  after a random id, limit 50: {summary(queries['after'])}")
    print(f"  latest 50 (no after):        {summary(queries['latest'])}")
    print(f"\n(benchmark took {time.perf_counter() - began:.0f} s)")


def logging_off() -> None:
    import logging

    from toolboxai_realtime.observability import logger

    logger.setLevel(logging.ERROR)


if __name__ == "__main__":
    main()
