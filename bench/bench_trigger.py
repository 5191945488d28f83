"""POST /realtime/trigger: trigger -> pusher-js receipt latency, and AWS / Pusher calls per request.

Starts its own local stack (moto server, soketi, the gateway) on free ports, like the e2e tests, and a
pusher-js 8 client (a teacher of class ``bench``) subscribed to ``dashboard-updates`` (keeps history) and
``presence-classroom-bench`` (no history).

1. **Latency**: time from sending a trigger to the pusher-js client receiving the event, one event at a
   time, through ``POST /realtime/trigger`` (keep-alive HTTP, admin token) and, in the same run and
   interleaved with it, through a direct ``pusher`` SDK trigger to the same soketi (the baseline), on
   each of the two channels: four paths, interleaved. Receipt is timestamped when the driver's line is
   read, on the same clock as the send.
2. **Calls per request**: the trigger function invoked in-process (the handler the gateway runs),
   against the stack's moto and soketi, counting every DynamoDB operation of the layer's client and every
   HTTP request to soketi, for the first request of each kind and on average over all of them (the
   per-channel allowance is leased in blocks, ``toolboxai_realtime.allowance``, so most requests make no
   call for the limit); plus the warm in-process time per invocation.

The per-channel limit is raised for the run (``TRIGGER_RATE_LIMIT_PER_MINUTE``) so that the benchmark's
volume is not refused; the limit is still checked and leased as always (blocks up to limit / 8).
"""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import os
import statistics
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

from bench._support import percentile, summary

EVENTS = 300  # per path, after WARMUP
WARMUP = 20
INVOCATIONS = 100  # in-process, per request kind
LIMIT = "100000"

NOTIFICATION = {"type": "info", "message": "Benchmark", "timestamp": "2024-01-01T12:00:00Z"}
GRADE = {"type": "grade", "title": "New Grade Posted", "message": "Your math quiz has been graded"}
CLASS = "bench"
ACTIVITY = {"class_id": CLASS, "user_id": "s1", "status": "active", "timestamp": "2024-01-01T12:00:00Z"}
TARGETS: dict[str, tuple[str, str, dict[str, Any]]] = {
    # label: (channel, event, data)
    "dashboard-updates (history)": ("dashboard-updates", "notification", NOTIFICATION),
    "presence-classroom (no history)": (f"presence-classroom-{CLASS}", "activity_update", ACTIVITY),
}


# ------------------------------------------------------------------------------------------ latency


def _timed_driver(stack: Any) -> Any:
    """A pusher-js driver whose event lines carry the time (perf_counter) they were read."""
    from tests.e2e.conftest import PusherJs

    class TimedPusherJs(PusherJs):
        def _read(self) -> None:
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                received = time.perf_counter()
                msg = json.loads(line)
                self.lines.append(msg)
                if "id" in msg and msg["id"] in self._replies:
                    self._replies[msg["id"]].put(msg)
                elif msg.get("type") == "event":
                    msg["received"] = received
                    self.events.put(msg)

    return TimedPusherJs(stack)


def _measure_latency(stack: Any) -> dict[str, list[float]]:
    import pusher

    from local_stack.token import mint_dev_token

    env = stack.env
    token = mint_dev_token("bench", role="admin", secret=env["JWT_SECRET"], ttl_seconds=3600)
    api = http.client.HTTPConnection("127.0.0.1", int(env["REALTIME_PORT"]), timeout=10)
    headers = {"content-type": "application/json", "authorization": f"Bearer {token}"}
    sdk = pusher.Pusher(
        app_id=env["PUSHER_APP_ID"],
        key=env["PUSHER_KEY"],
        secret=env["PUSHER_SECRET"],
        host=env["PUSHER_HOST"],
        port=int(env["PUSHER_PORT"]),
        ssl=False,
        timeout=5,
    )

    def via_api(target: tuple[str, str, dict[str, Any]], seq: int) -> None:
        channel, event, data = target
        body = {"channel": channel, "event": event, "data": {**data, "seq": seq}}
        api.request("POST", "/realtime/trigger", body=json.dumps(body), headers=headers)
        resp = api.getresponse()
        answer = resp.read()
        if resp.status != 200:
            raise RuntimeError(f"trigger answered {resp.status}: {answer[:200]!r}")

    def via_sdk(target: tuple[str, str, dict[str, Any]], seq: int) -> None:
        channel, event, data = target
        sdk.trigger([channel], event, json.dumps({**data, "seq": seq}, separators=(",", ":")))

    teacher = mint_dev_token(
        "bench-teacher", role="teacher", class_ids=[CLASS], secret=env["JWT_SECRET"], ttl_seconds=3600
    )
    driver = _timed_driver(stack)
    try:
        driver.connect("bench", token=teacher)
        for channel, _, _ in TARGETS.values():
            reply = driver.call("subscribe", client="bench", channel=channel)
            assert reply["subscribed"], reply
        paths: dict[str, Callable[[int], None]] = {}
        for label, target in TARGETS.items():
            paths[f"api {label}"] = partial(via_api, target)
            paths[f"sdk {label}"] = partial(via_sdk, target)
        out: dict[str, list[float]] = {name: [] for name in paths}
        seq = 0
        for i in range(WARMUP + EVENTS):
            for name, send in paths.items():
                seq += 1
                elapsed = _time_one(driver, send, seq)
                if i >= WARMUP:
                    out[name].append(elapsed)
        return out
    finally:
        api.close()
        driver.close()


def _time_one(driver: Any, send: Callable[[int], None], seq: int) -> float:
    """Milliseconds from sending event ``seq`` to pusher-js receiving it."""
    start = time.perf_counter()
    send(seq)
    msg = driver.events.get(timeout=10)
    while msg.get("event", "").startswith("pusher"):  # presence bookkeeping, not ours
        msg = driver.events.get(timeout=10)
    if msg["data"].get("seq") != seq:
        raise RuntimeError(f"expected event {seq}, got {msg['data']}")
    return float((msg["received"] - start) * 1000)


# ---------------------------------------------------------------------------------- calls per request


@contextmanager
def _in_process(env: dict[str, str]) -> Iterator[Any]:
    """The stack's gateway functions, in this process, pointed at the stack's moto and soketi."""
    os.environ.update(env)
    os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = f"http://127.0.0.1:{env['DYNAMODB_PORT']}"
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
    from local_stack.gateway import LocalGateway
    from local_stack.template import load_template

    template = load_template()
    os.environ.update(template.environment(os.environ))
    from toolboxai_realtime.caches import reset_caches

    reset_caches()
    yield LocalGateway(template)


def _multi(channels: int) -> tuple[str, dict[str, Any]]:
    targets = [f"private-user-{i}" for i in range(channels)]
    return "/realtime/trigger", {"channels": targets, "event": "grade_posted", "data": GRADE}


KINDS: dict[str, tuple[str, dict[str, Any]]] = {
    "single (1 channel, history)": (
        "/realtime/trigger",
        {"channel": "dashboard-updates", "event": "notification", "data": NOTIFICATION},
    ),
    "single (1 channel, no history)": (
        "/realtime/trigger",
        {"channel": f"presence-classroom-{CLASS}", "event": "activity_update", "data": ACTIVITY},
    ),
    "multi-channel (10 channels)": _multi(10),
    "batch (10 events, 10 channels)": (
        "/realtime/trigger/batch",
        {
            "events": [
                {"channel": f"private-user-{i}", "event": "grade_posted", "data": GRADE} for i in range(10)
            ]
        },
    ),
    # moto deep-copies the whole table for every item of a transaction, so 100-channel transactions slow
    # down as RateLimitTable fills (an artefact of the fake): they are counted, timed only a few times.
    "multi-channel (100 channels)": _multi(100),
}
FEW = 5


class _Counter:
    """Counts the layer's DynamoDB operations and the HTTP requests to soketi, in this process."""

    def __init__(self, soketi: str) -> None:
        self.soketi = soketi
        self.dynamodb: list[str] = []
        self.pusher: list[str] = []

    @contextmanager
    def installed(self) -> Iterator[None]:
        import requests

        from toolboxai_realtime import aws

        original = requests.Session.send
        counter = self

        def send(session: requests.Session, request: Any, **kw: Any) -> Any:
            if str(request.url).startswith(counter.soketi):
                counter.pusher.append(str(request.url).split("?", 1)[0].rsplit("/", 1)[1])
            return original(session, request, **kw)

        aws.client_events().register(
            "before-call.dynamodb", lambda **kw: self.dynamodb.append(kw["model"].name)
        )
        requests.Session.send = send  # type: ignore[method-assign,assignment]
        try:
            yield
        finally:
            requests.Session.send = original  # type: ignore[method-assign]

    def reset(self) -> None:
        self.dynamodb.clear()
        self.pusher.clear()


def _count_calls(stack: Any) -> list[dict[str, Any]]:
    from local_stack.gateway import build_http_event
    from local_stack.token import mint_dev_token

    counter = _Counter(f"http://{stack.env['PUSHER_HOST']}:{stack.env['PUSHER_PORT']}/")
    rows: list[dict[str, Any]] = []
    with _in_process(stack.env) as gateway, counter.installed():
        token = mint_dev_token("bench", role="admin", secret=stack.env["JWT_SECRET"])

        def invoke(
            path: str, payload: dict[str, Any], key: str | None = None
        ) -> tuple[dict[str, Any], float]:
            headers = {"content-type": "application/json", "authorization": f"Bearer {token}"}
            if key is not None:
                headers["idempotency-key"] = key
            found = gateway.match("POST", path)
            assert found is not None
            route, params = found
            event = build_http_event(
                method="POST",
                raw_path=path,
                raw_query="",
                headers=list(headers.items()),
                body=json.dumps(payload).encode(),
                source_ip="127.0.0.1",
                route=route,
                path_params=params,
            )
            counter.reset()
            start = time.perf_counter()
            result: dict[str, Any] = gateway.invoke(route.function, event)
            elapsed = (time.perf_counter() - start) * 1000
            if result["statusCode"] != 200:
                raise RuntimeError(f"{path}: {result['statusCode']} {result.get('body')}")
            return result, elapsed

        for label, (path, payload) in KINDS.items():
            _empty_tables(stack.env)
            invocations = FEW if "100 channels" in label else INVOCATIONS
            for idempotent in (False, True):
                times, counts, total = [], None, 0
                for n in range(invocations):
                    key = f"bench-{time.time_ns()}-{n}" if idempotent else None
                    _, elapsed = invoke(path, payload, key)
                    times.append(elapsed)
                    total += len(counter.dynamodb)
                    counts = counts or (list(counter.dynamodb), list(counter.pusher))
                assert counts is not None
                rows.append(
                    _row(
                        label + (", Idempotency-Key (first)" if idempotent else ""),
                        *counts,
                        times,
                        total / invocations,
                    )
                )
            key = f"bench-replay-{time.time_ns()}"
            invoke(path, payload, key)
            replays, total = [], 0
            for _ in range(invocations):
                replay, elapsed = invoke(path, payload, key)
                assert replay["headers"].get("Idempotent-Replayed") == "true", replay
                replays.append(elapsed)
                total += len(counter.dynamodb)
            rows.append(
                _row(
                    f"{label}, Idempotency-Key replay",
                    counter.dynamodb,
                    counter.pusher,
                    replays,
                    total / invocations,
                )
            )
    return rows


def _empty_tables(env: dict[str, str]) -> None:
    """Start each kind with empty history and idempotency tables: moto deep-copies every table for each
    transaction, so the thousands of items the previous kinds left would slow its transactions past the
    client's timeout (the fake's cost, not DynamoDB's)."""
    import boto3

    from local_stack.dynamo import create_tables

    client = boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{env['DYNAMODB_PORT']}")
    for table in ("HistoryTable", "IdempotencyTable"):
        client.delete_table(TableName=table)
    create_tables(client)


def _row(label: str, dynamo: list[str], pusher: list[str], times: list[float], mean: float) -> dict[str, Any]:
    return {
        "request": label,
        "dynamodb": len(dynamo),
        "dynamodb_mean": mean,
        "dynamodb_ops": ", ".join(dynamo),
        "pusher": len(pusher),
        "pusher_ops": ", ".join(pusher),
        "p50_ms": percentile(times, 50),
        "p99_ms": percentile(times, 99),
    }


# ----------------------------------------------------------------------------------------------- main


def main() -> None:
    from tests.e2e.conftest import start_stack, stop_stack

    began = time.perf_counter()
    stack = start_stack({"TRIGGER_RATE_LIMIT_PER_MINUTE": LIMIT, "POWERTOOLS_LOG_LEVEL": "WARNING"})
    try:
        latency = _measure_latency(stack)
        _print_latency(latency)
        # The in-process handler prints its cold-start EMF line and Powertools warns about empty metrics.
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rows = _count_calls(stack)
    finally:
        stop_stack(stack)

    print(f"calls per request (in-process handler, {INVOCATIONS} invocations each, warm):")
    print(
        "| request | DynamoDB calls, first request | DynamoDB calls, mean | Pusher calls "
        "| handler p50 | handler p99 |"
    )
    print("|---|---|---|---|---|---|")
    for row in rows:
        timing = f"{row['p50_ms']:.2f} ms | {row['p99_ms']:.2f} ms" if row["p50_ms"] is not None else "- | -"
        print(
            f"| {row['request']} | {row['dynamodb']} ({row['dynamodb_ops']}) | {row['dynamodb_mean']:.2f} | "
            f"{row['pusher']} ({row['pusher_ops'] or '-'}) | {timing} |"
        )
    print(f"\n(benchmark took {time.perf_counter() - began:.0f} s)")


def _print_latency(latency: dict[str, list[float]]) -> None:
    print(f"trigger -> pusher-js receipt, {EVENTS} events per path (after {WARMUP} warm-up), interleaved:")
    for label in TARGETS:
        api, sdk = latency[f"api {label}"], latency[f"sdk {label}"]
        print(f"  {label}:")
        print(f"    POST /realtime/trigger (local stack): {summary(api)}")
        print(f"    direct pusher SDK trigger (baseline): {summary(sdk)}")
        ratio50 = percentile(api, 50) / percentile(sdk, 50)
        ratio99 = percentile(api, 99) / percentile(sdk, 99)
        print(f"    ratio API / direct: p50 {ratio50:.2f}x, p99 {ratio99:.2f}x")
        extra = statistics.median(api) - statistics.median(sdk)
        print(f"    added by the endpoint (median difference): {extra:.2f} ms")
    print(flush=True)


if __name__ == "__main__":
    main()
