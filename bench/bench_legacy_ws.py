"""Legacy WebSocket (/ws/content).

1. Fan-out time to post one content-generation event to 1,000 recorded connections. DynamoDB is the
   local stack's moto server; the Management API is moto's own threaded server, then a minimal stub
   (which isolates our side's cost). The baseline is the same fan-out with one worker, same run.
2. Trigger -> receipt latency on the local stack: ``POST /realtime/trigger`` on content-generation until
   a legacy WebSocket client has the frame, against a pusher-js client on the same channel receiving the
   same events (same run, same triggers).
"""

from __future__ import annotations

import os
import statistics
import time

from bench._support import moto_server, plain_moto_server, stub_management_api, summary

CONNECTIONS = 1000
RUNS = 5


def _measure(label: str, endpoint: str) -> None:
    from toolboxai_realtime import fanout

    os.environ["LEGACY_WS_ENDPOINT"] = endpoint
    from toolboxai_realtime.caches import reset_caches

    reset_caches()
    data = {"content_id": "content_1", "progress": 50, "stage": "generating_scripts"}
    medians = {}
    for workers in (fanout.MAX_WORKERS, 1):
        times = []
        for _ in range(RUNS):
            start = time.perf_counter()
            result = fanout.fan_out(["content-generation"], "progress_update", data, max_workers=workers)
            times.append((time.perf_counter() - start) * 1000)
            assert result.sent == CONNECTIONS, result
        medians[workers] = statistics.median(times)
        print(f"{label}: fan-out to {CONNECTIONS} connections, {workers:>2} worker(s): {summary(times)}")
    ratio = medians[1] / medians[fanout.MAX_WORKERS]
    print(f"{label}: {fanout.MAX_WORKERS} workers vs 1 (same run): {ratio:.1f}x")


def _latency(events: int = 100) -> None:
    import json

    from websockets.sync.client import connect

    from bench.bench_trigger import _timed_driver
    from local_stack.token import mint_dev_token
    from tests.e2e.conftest import start_stack, stop_stack

    stack = start_stack({"TRIGGER_RATE_LIMIT_PER_MINUTE": "1000000", "POWERTOOLS_LOG_LEVEL": "WARNING"})
    driver = _timed_driver(stack)  # event lines carry the perf_counter time they were read
    try:
        driver.connect("browser")
        assert driver.call("subscribe", client="browser", channel="content-generation")["subscribed"]
        token = mint_dev_token("ops", role="admin", secret=stack.env["JWT_SECRET"])
        legacy_ms, pusher_ms = [], []
        with connect(f"ws://127.0.0.1:{stack.env['REALTIME_PORT']}/ws/content") as ws:
            for i in range(events + 10):
                data = {"content_id": f"bench_{i}", "progress": i % 101, "stage": "bench"}
                start = time.perf_counter()
                status, _, body = stack.json(
                    "POST",
                    "/realtime/trigger",
                    {"channel": "content-generation", "event": "progress_update", "data": data},
                    token=token,
                )
                assert status == 200, body
                frame = json.loads(ws.recv(timeout=10))
                legacy = time.perf_counter()
                assert frame["data"]["content_id"] == data["content_id"]
                got = driver.wait_event(
                    client="browser", event="progress_update", channel="content-generation"
                )
                assert got["data"]["content_id"] == data["content_id"]
                if i >= 10:  # warm-up
                    legacy_ms.append((legacy - start) * 1000)
                    pusher_ms.append((got["received"] - start) * 1000)
        print(f"trigger -> legacy /ws/content receipt: {summary(legacy_ms)}")
        print(f"trigger -> pusher-js receipt (same triggers, timed on read): {summary(pusher_ms)}")
        ratio = statistics.median(legacy_ms) / statistics.median(pusher_ms)
        print(f"legacy / pusher-js median ratio: {ratio:.2f}")
    finally:
        driver.close()
        stop_stack(stack)


def main() -> None:
    _latency()
    with moto_server(), plain_moto_server() as moto_management, stub_management_api() as stub:
        from toolboxai_realtime.stores import connections

        for i in range(CONNECTIONS):
            connections.add(connections.Connection(f"conn-{i:04d}"))
        _measure("moto Management API", moto_management)
        _measure("stub Management API", stub)


if __name__ == "__main__":
    main()
