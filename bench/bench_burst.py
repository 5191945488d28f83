"""Class start: N classes x 30 students x 3 channels through ``POST /pusher/auth``, then the webhooks the
subscriptions cause; auth latency, 429s, DynamoDB calls per auth, and the write distribution over
partition keys, measured and then modelled at the issue's burst (10,000 students, 300 classes, 5 s).

Run: ``make bench ARGS="burst"`` (or ``PYTHONPATH=layers/shared:. .venv/bin/python -m bench burst``);
options after the name: ``--classes N`` (default 4), ``--concurrency C`` (default 16), ``--students S``
(also model S students over S/33 classes, e.g. 100000 for the capacity model; slow: ~40 s per 100,000).

1. **Stack**: the local stack's moto server (tables from ``template.yaml``) and the local gateway serving
   every route of the template over HTTP on a free port, in this process (so that botocore's events see
   every DynamoDB call). Auth limits as configured (``AUTH_RATE_LIMIT_PER_MINUTE``, default 10).
2. **Auth burst**: each student's lesson page authorizes ``private-user-{id}``, ``private-class-{class}``
   and ``presence-classroom-{class}``: the request pusher-js's auth transport sends (form-encoded
   ``socket_id`` + ``channel_name``, ``Authorization: Bearer``), the students interleaved across classes,
   ``C`` requests in flight. The local gateway runs one invocation of a function at a time, as one Lambda
   instance does: the client-side latency includes queueing for that one instance; the **handler** time
   (one invocation, in-process) and its **own** part (handler minus the time inside botocore calls) are
   what a warm Lambda instance spends per auth, and what faster auth code shows up in.
3. **Webhooks**: the events Pusher sends for those subscriptions (``channel_occupied``, ``member_added``,
   ``subscription_count``), 20 per signed delivery, through ``POST /pusher/webhook``.
4. **Write distribution**: every DynamoDB call is read from botocore's ``before-call`` event and turned
   into item accesses (``bench/burst_model.py``); the writes per partition key are compared with the
   model of the same population (they must match), then the model is run at the modelled burst and its
   per-key rates set against the 1,000 WCU/s partition ceiling.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import hmac
import http.client
import json
import os
import sys
import threading
import time
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench import burst_model
from bench._support import free_port, moto_server, percentile
from bench.burst_model import MODELLED_BURST, PARTITION_WCU_CEILING, TARGET_SHARE, Access, Burst

STUDENTS_PER_CLASS = burst_model.STUDENTS_PER_CLASS


@dataclass
class Invocation:
    function: str
    handler_ms: float
    aws_ms: float
    calls: list[tuple[str, dict[str, Any]]]


@dataclass
class Recorder:
    """Per-thread accounting of botocore calls, and every invocation the gateway ran."""

    local: threading.local = field(default_factory=threading.local)
    invocations: list[Invocation] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def parameters(self, model: Any, params: Any, **_: Any) -> None:
        """``before-parameter-build``: the call's API parameters, as the layer passed them."""
        if getattr(self.local, "calls", None) is not None and model.service_model.service_name == "dynamodb":
            self.local.calls.append((model.name, params))

    def before(self, model: Any, params: Any, **_: Any) -> None:
        """``before-call``. The auth path's ``stores._direct`` skips parameter building and announces its
        API parameters here instead (botocore's own calls pass the serialised request, with a ``body``)."""
        if getattr(self.local, "calls", None) is not None:
            self.local.started = time.perf_counter()
            if model.service_model.service_name == "dynamodb" and "body" not in params:
                self.local.calls.append((model.name, params))

    def after(self, **_: Any) -> None:
        if getattr(self.local, "calls", None) is not None:
            self.local.aws += time.perf_counter() - self.local.started

    def wrap(self, name: str, handler: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
        def timed(event: Any, context: Any) -> Any:
            self.local.calls, self.local.aws = [], 0.0
            start = time.perf_counter()
            try:
                return handler(event, context)
            finally:
                took = (time.perf_counter() - start) * 1000
                with self.lock:
                    self.invocations.append(Invocation(name, took, self.local.aws * 1000, self.local.calls))
                self.local.calls = None

        return timed


@contextlib.contextmanager
def _stack(recorder: Recorder) -> Iterator[str]:
    """moto + the gateway over HTTP on free ports, in this process; yields the API's ``host:port``."""
    import uvicorn

    with moto_server():
        from local_stack.gateway import LocalGateway
        from toolboxai_realtime import aws

        events = aws.client_events()
        events.register("before-parameter-build", recorder.parameters)
        events.register("before-call", recorder.before)
        events.register("after-call", recorder.after)
        aws.clear_clients()
        gateway = LocalGateway()
        gateway.load_all()
        for name in list(gateway.functions):
            gateway._handlers[name] = recorder.wrap(name, gateway._handlers[name])
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(gateway.asgi(), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        try:
            yield f"127.0.0.1:{port}"
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            events.unregister("before-parameter-build", recorder.parameters)
            events.unregister("before-call", recorder.before)
            events.unregister("after-call", recorder.after)


# ---------------------------------------------------------------------------------------------- drive


_connections = threading.local()


def _post(address: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, float, bytes]:
    """One keep-alive POST from this thread's connection: (status, ms, body)."""
    conn = getattr(_connections, "conn", None)
    if conn is None:
        host, port = address.split(":")
        conn = _connections.conn = http.client.HTTPConnection(host, int(port), timeout=60)
    start = time.perf_counter()
    conn.request("POST", path, body=body, headers=headers)
    response = conn.getresponse()
    answer = response.read()
    return response.status, (time.perf_counter() - start) * 1000, answer


@dataclass(frozen=True)
class AuthResult:
    channel: str
    status: int
    ms: float
    error: str | None = None


def _auth_burst(address: str, students: Sequence[burst_model.Student], concurrency: int) -> list[AuthResult]:
    from local_stack.token import mint_dev_token

    secret = os.environ["JWT_SECRET"]
    requests: list[tuple[str, bytes, dict[str, str]]] = []
    for n, student in enumerate(students):
        token = mint_dev_token(student.user_id, role="student", class_ids=[student.class_id], secret=secret)
        headers = {
            "content-type": "application/x-www-form-urlencoded",
            "authorization": f"Bearer {token}",
        }
        socket_id = f"{1000 + n}.{4242 + n}"  # one pusher-js connection per student
        for channel in burst_model.lesson_channels(student):
            body = urlencode({"socket_id": socket_id, "channel_name": channel}).encode()
            requests.append((channel, body, headers))

    def send(request: tuple[str, bytes, dict[str, str]]) -> AuthResult:
        channel, body, headers = request
        status, ms, answer = _post(address, "/pusher/auth", body, headers)
        return AuthResult(
            channel, status, ms, None if status == 200 else answer.decode(errors="replace")[:200]
        )

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return list(pool.map(send, requests))


def _webhooks(address: str, students: Sequence[burst_model.Student]) -> list[str]:
    """Post the deliveries; one answer per delivery: the status, with the error code when not 200."""
    key, secret = os.environ["PUSHER_KEY"], os.environ["PUSHER_SECRET"]
    statuses = []
    events = burst_model.webhook_events(students)
    for body in burst_model.deliveries(events, time_ms=int(time.time() * 1000)):
        raw = json.dumps(body).encode()
        signature = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
        headers = {"content-type": "application/json", "x-pusher-key": key, "x-pusher-signature": signature}
        status, _, answer = _post(address, "/pusher/webhook", raw, headers)
        statuses.append(str(status) if status == 200 else f"{status} {json.loads(answer).get('code')}")
    return statuses


# --------------------------------------------------------------------------------------------- report


def _ms(values: Sequence[float]) -> str:
    return f"p50 {percentile(values, 50):7.2f}  p99 {percentile(values, 99):7.2f}  (n={len(values)})"


def _accesses_by_key(accesses: Sequence[Access]) -> Counter[tuple[str, str, str]]:
    return Counter(("write" if a.wcu else "read", a.where, a.key) for a in accesses)


def _distribution(accesses: Sequence[Access], seconds: float, title: str) -> None:
    loads = burst_model.key_loads(accesses, seconds)
    by_where: dict[str, list[burst_model.KeyLoad]] = defaultdict(list)
    for load in loads:
        by_where[load.where].append(load)
    reads = Counter(a.where for a in accesses if not a.wcu)
    print(title)
    print(
        f"  {'table / index':28s} {'keys':>6s} {'writes':>8s} {'WCU/s':>8s}   hottest key"
        f"{'':28s} {'writes':>6s} {'share':>6s} {'WCU/s':>7s} {'of ceiling':>10s}"
    )
    for where in sorted(by_where):
        group = by_where[where]
        top = group[0]
        writes = sum(g.writes for g in group)
        wcu = sum(g.wcu for g in group) / seconds
        print(
            f"  {where:28s} {len(group):6d} {writes:8d} {wcu:8.0f}   {top.key[:38]:38s} {top.writes:6d}"
            f" {top.writes / writes:6.1%} {top.wcu_per_second:7.1f} {top.share_of_ceiling:10.1%}"
        )
    for where, n in sorted(reads.items()):
        print(f"  {where:28s} {n} reads (ConditionCheck), no writes")
    auths = sum(1 for a in accesses if a.table == "RateLimitTable" and a.wcu)  # one limits update per auth
    if auths:
        wru = sum(a.wcu for a in accesses)
        checks = sum(1 for a in accesses if not a.wcu)
        print(
            f"  per auth request: {wru / auths:.2f} write request units (all tables and the index, webhook"
            f" writes included), {checks / auths:.2f} ConditionChecks (transactional reads)"
        )
    busiest = loads[0]
    verdict = "within" if busiest.share_of_ceiling <= TARGET_SHARE else "ABOVE"
    print(
        f"  busiest partition key: {busiest.where} {busiest.key} at {busiest.wcu_per_second:.0f} WCU/s ="
        f" {busiest.share_of_ceiling:.1%} of {PARTITION_WCU_CEILING} ({verdict} the {TARGET_SHARE:.0%} goal)"
    )


def _args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench burst", add_help=False)
    parser.add_argument("--classes", type=int, default=int(os.environ.get("BURST_CLASSES", "4")))
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--students", type=int, default=0)
    known, _ = parser.parse_known_args(argv)
    return known


def main() -> None:
    args = _args(sys.argv[1:])
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    simulated = Burst(args.classes * STUDENTS_PER_CLASS, args.classes, MODELLED_BURST.seconds)
    students = burst_model.population(simulated)
    recorder = Recorder()
    started = time.perf_counter()
    # The functions' configuration before anything of the layer is imported (the Metrics namespace is
    # read when observability is imported; moto_server() applies the same again).
    from local_stack.config import LOCAL_DEFAULTS
    from local_stack.template import load_template

    for key, value in LOCAL_DEFAULTS.items():
        os.environ.setdefault(key, value)
    os.environ.update(load_template().environment(os.environ))
    from toolboxai_realtime.observability import logger

    log_handler = logger.registered_handler
    with (
        Path(os.environ.get("BURST_LOG", os.devnull)).open("w") as devnull,
        contextlib.redirect_stdout(devnull),
    ):
        previous = log_handler.setStream(devnull)  # type: ignore[attr-defined]
        try:
            with _stack(recorder) as address:
                stack_ready = time.perf_counter()
                auth_started = time.perf_counter()
                results = _auth_burst(address, students, args.concurrency)
                auth_seconds = time.perf_counter() - auth_started
                auths = [i for i in recorder.invocations if i.function == "AuthFunction"]
                hook_statuses = _webhooks(address, students)
                hooks = [i for i in recorder.invocations if i.function == "WebhookFunction"]
        finally:
            log_handler.setStream(previous)  # type: ignore[attr-defined]
    total = time.perf_counter() - started

    print(
        f"class start: {args.classes} classes x {STUDENTS_PER_CLASS} students x 3 channels = {len(results)}"
        f" auth requests, {args.concurrency} in flight; stack up in {stack_ready - started:.1f} s,"
        f" run {total:.1f} s"
    )
    statuses = Counter(r.status for r in results)
    print(
        f"  auth answers: {dict(sorted(statuses.items()))}; 429s: {statuses.get(429, 0)};"
        f" {len(results) / auth_seconds:.0f} auth/s through one local instance"
    )
    for error, n in Counter(r.error for r in results if r.error).items():
        print(f"  {n} x {error}")
    print("auth latency, ms (client: HTTP round trip incl. queueing for the one local instance):")
    print(f"  client, all                     {_ms([r.ms for r in results])}")
    for family in ("private-user-", "private-class-", "presence-classroom-"):
        print(f"  client, {family:24s}{_ms([r.ms for r in results if r.channel.startswith(family)])}")
    print(f"  handler (one invocation)        {_ms([i.handler_ms for i in auths])}")
    print(f"  handler, inside DynamoDB calls  {_ms([i.aws_ms for i in auths])}")
    print(f"  handler, own (without AWS)      {_ms([i.handler_ms - i.aws_ms for i in auths])}")

    per_auth = Counter(len(i.calls) for i in auths)
    ops = Counter(op for i in auths for op, _ in i.calls)
    print(
        f"DynamoDB calls per auth: {sum(len(i.calls) for i in auths) / len(auths):.2f}"
        f" (calls -> auths: {dict(sorted(per_auth.items()))}; operations: {dict(ops)})"
    )
    hook_ops = Counter(op for i in hooks for op, _ in i.calls)
    print(
        f"webhooks: {len(hook_statuses)} deliveries of <= {burst_model.WEBHOOK_BATCH_EVENTS} events,"
        f" answers {dict(Counter(hook_statuses))}, DynamoDB calls {dict(hook_ops)},"
        f" handler {_ms([i.handler_ms for i in hooks])}"
    )

    measured = [
        a for i in auths + hooks for op, params in i.calls for a in burst_model.accesses_of_call(op, params)
    ]
    expected = burst_model.model(simulated)
    got, want = _accesses_by_key(measured), _accesses_by_key(expected)
    differing = sorted(k for k in set(got) | set(want) if got[k] != want[k])
    print(
        f"model check: {sum(got.values())} item accesses (writes and ConditionChecks) on {len(got)} keys"
        f" measured; the model of the same population predicts {sum(want.values())} on {len(want)}:"
        f" {f'{len(differing)} keys differ, e.g. {differing[:3]}' if differing else 'identical, key by key'}"
    )
    _distribution(
        measured, simulated.seconds, f"write distribution, measured ({simulated.students} students in 5 s):"
    )
    for burst in (
        MODELLED_BURST,
        *(
            [Burst(args.students, args.students * MODELLED_BURST.classes // MODELLED_BURST.students, 5.0)]
            if args.students
            else []
        ),
    ):
        _distribution(
            burst_model.model(burst),
            burst.seconds,
            f"write distribution, modelled ({burst.students:,} students, {burst.classes} classes,"
            f" {3 * burst.students:,} auths within {burst.seconds:.0f} s ="
            f" {3 * burst.students / burst.seconds:,.0f} auth/s):",
        )


if __name__ == "__main__":
    main()
