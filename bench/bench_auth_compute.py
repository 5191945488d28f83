"""Auth handler compute per request (issue 15): ``POST /pusher/auth`` through the Lambda handler, I/O
excluded, botocore's client-side work included.

The real handler (``functions/auth/app.py``, decorators and all) is invoked in-process with a real API
Gateway HTTP API v2 event. DynamoDB is answered at the HTTP layer: a ``before-send`` hook on every
DynamoDB client hands botocore a canned ``AWSResponse`` (200, the real ``TransactWriteItems`` success
body ``{}``, DynamoDB's headers), so botocore does everything it does client-side (parameter
validation, serialisation, endpoint resolution, signing, the event hooks, retry bookkeeping, response
parsing) but no socket is touched. Every request must make exactly one DynamoDB call.

Per tree it prints p50/p99 over ``N`` calls after a warm-up, for a private class channel and a presence
classroom channel, then a breakdown from timing hooks (a second pass, so that the hooks do not cost the
clean figures), split into the libraries' work (PyJWT, pydantic's ``Principal``, botocore's one call,
the HMAC signature, and Powertools: the resolver, its validation, the logger/metrics decorators) and
ours (the rest of identity, composing the transaction, the route's body, policy and verdicts): the sum
of the libraries' rows is the floor that the libraries alone set (``_breakdown``).

``BENCH_METRICS_DISABLED=false`` measures with CloudWatch metrics on, as deployed (each invocation
flushes its EMF line; the dimensioned ``AuthGranted`` is printed at once by ``single_metric``); the
default leaves them off, as the figures recorded before had them.

Each tree is measured in fresh interpreters, the trees interleaved round by round so that machine noise
hits them alike. Set ``BENCH_BASELINE_REF`` to a git ref (e.g. the branch's base) to measure that revision's
layer, functions and local stack in the same run as the working tree (``git archive``; nothing in the
repository changes).

Run: ``BENCH_BASELINE_REF=a800999 PYTHONPATH=layers/shared:. .venv/bin/python -m bench auth_compute``
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import warnings
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from functools import wraps
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
N = 2000
WARMUP = 300
ROUNDS = 2
CLASS_ID = "101"
CLOCK = time.thread_time
"""Compute is CPU time: on a shared machine wall time mostly measures who else had the cores."""
REQUESTS = {
    "private-class": {"socket_id": "123.456", "channel_name": f"private-class-{CLASS_ID}"},
    "presence": {"socket_id": "123.456", "channel_name": f"presence-classroom-{CLASS_ID}", "status": "away"},
}
_EMPTY = b"{}"  # what DynamoDB answers to a successful TransactWriteItems


# ------------------------------------------------------------------------------------- the worker


class _Body:
    """The part of urllib3's response that botocore's ``AWSResponse`` reads (``stream``)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, *_: Any, **__: Any) -> Iterator[bytes]:
        yield self.data


def _configure() -> None:
    from local_stack.config import LOCAL_DEFAULTS
    from local_stack.template import load_template

    for key, value in LOCAL_DEFAULTS.items():
        os.environ.setdefault(key, value)
    os.environ.update(load_template().environment(os.environ))
    # DynamoDB at its regional endpoint, as in Lambda: botocore resolves it (the stub answers).
    os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ["POWERTOOLS_METRICS_DISABLED"] = os.environ.get("BENCH_METRICS_DISABLED", "true")
    # The benchmark measures cost, not the limits: one user makes thousands of requests.
    os.environ["AUTH_RATE_LIMIT_PER_MINUTE"] = str(10**9)
    os.environ["MAX_CONNECTIONS_PER_USER"] = str(10**9)


def _stub_dynamodb(calls: Counter[str]) -> Callable[..., Any]:
    """A ``before-send`` hook answering every DynamoDB request with a success, counting operations."""
    from botocore.awsrequest import AWSResponse

    headers = {
        "x-amzn-requestid": "BENCH0000000000000000000000000000000000000000000000",
        "x-amz-crc32": str(zlib.crc32(_EMPTY)),
        "content-type": "application/x-amz-json-1.0",
        "content-length": str(len(_EMPTY)),
        "date": "Mon, 30 Nov 2026 10:00:00 GMT",
    }

    def answer(request: Any, **_: Any) -> AWSResponse:
        target = request.headers.get("X-Amz-Target", b"")
        calls[(target.decode() if isinstance(target, bytes) else target).rpartition(".")[2]] += 1
        return AWSResponse(request.url, 200, headers, _Body(_EMPTY))  # type: ignore[arg-type]

    return answer


class _Timers:
    """Per-request time (s) accumulated in hooked functions (wrapped in place, not nested twice)."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = defaultdict(float)

    def wrap(self, owner: Any, attribute: str, label: str) -> None:
        original = getattr(owner, attribute)
        spent = self.spent

        @wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = CLOCK()
            try:
                return original(*args, **kwargs)
            finally:
                spent[label] += CLOCK() - start

        setattr(owner, attribute, timed)

    def span(self, owner: Any, first: str, last: str, label: str) -> None:
        """Time from the start of ``owner.first`` to the end of ``owner.last`` (an object's lifetime: the
        auth routes' work is one ``AuthAttempt``, from its construction to its ``__exit__``)."""
        started: list[float] = []
        spent = self.spent
        begin, end = getattr(owner, first), getattr(owner, last)

        @wraps(begin)
        def opening(*args: Any, **kwargs: Any) -> Any:
            started.append(CLOCK())
            return begin(*args, **kwargs)

        @wraps(end)
        def closing(*args: Any, **kwargs: Any) -> Any:
            try:
                return end(*args, **kwargs)
            finally:
                spent[label] += CLOCK() - started.pop()

        setattr(owner, first, opening)
        setattr(owner, last, closing)


def _hooks(timers: _Timers) -> None:
    """The breakdown's timing hooks, on names both trees have."""
    import botocore.client
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

    from toolboxai_realtime import authorization, http, identity, pusher_gateway
    from toolboxai_realtime.stores import auth_limits

    timers.wrap(authorization.AuthAttempt, "authenticate", "identity")
    timers.wrap(type(identity._DECODER), "decode", "PyJWT")
    timers.wrap(identity.Principal, "model_validate", "Principal")
    timers.wrap(auth_limits, "admit", "limits store")
    timers.wrap(botocore.client.BaseClient, "_make_api_call", "botocore")
    if hasattr(auth_limits, "transact_write_items"):  # the direct path (stores._direct) of issue 15
        timers.wrap(auth_limits, "transact_write_items", "botocore")
    timers.wrap(pusher_gateway, "authorize_channel", "signature")
    timers.wrap(APIGatewayHttpResolver, "resolve", "resolver")
    timers.span(authorization.AuthAttempt, "__init__", "__exit__", "route")
    if hasattr(http, "check_body_limits"):  # ours, run by our request-validation middleware
        timers.wrap(http, "check_body_limits", "body limits")


_PARTS = (
    "identity",
    "PyJWT",
    "Principal",
    "limits store",
    "botocore",
    "signature",
    "resolver",
    "route",
    "body limits",
)


def worker(n: int, warmup: int) -> dict[str, Any]:  # noqa: C901, PLR0915  (a benchmark reads top to bottom as its measurement)
    """Measure this interpreter's tree: ``{"times": {request: [s]}, "parts": {request: {part: [s]}},
    "calls": {request: {operation: count}}}``."""
    _configure()
    import jwt

    from local_stack.gateway import LocalContext, LocalGateway, build_http_event, load_handler
    from toolboxai_realtime import aws
    from toolboxai_realtime.observability import logger

    calls: Counter[str] = Counter()
    aws.client_events().register("before-send.dynamodb", _stub_dynamodb(calls))

    gateway = LocalGateway()
    handler = load_handler(gateway.functions["AuthFunction"])
    now = int(time.time())
    claims = {"sub": "bench-1", "role": "student", "name": "Bench", "class_ids": [CLASS_ID]}
    token = jwt.encode({**claims, "iat": now, "exp": now + 3600}, os.environ["JWT_SECRET"], "HS256")
    headers = [
        ("content-type", "application/x-www-form-urlencoded"),
        ("authorization", f"Bearer {token}"),
        ("user-agent", "pusher-js bench"),
    ]
    found = gateway.match("POST", "/pusher/auth")
    assert found is not None
    route, params = found

    def event(body: str) -> dict[str, Any]:
        return build_http_event(
            method="POST",
            raw_path="/pusher/auth",
            raw_query="",
            headers=headers,
            body=body.encode(),
            source_ip="203.0.113.7",
            route=route,
            path_params=params,
        )

    def _context() -> LocalContext:
        return LocalContext(function_name="AuthFunction", aws_request_id="bench")

    out: dict[str, Any] = {"times": {}, "walls": {}, "parts": {}, "calls": {}}
    timers = _Timers()
    log_handler = logger.registered_handler
    assert isinstance(log_handler, logging.StreamHandler)
    with Path(os.devnull).open("w") as devnull, contextlib.redirect_stdout(devnull):
        previous = log_handler.setStream(devnull)  # Lambda writes logs to stdout; here nowhere
        try:
            for hooked in (False, True):
                if hooked:
                    _hooks(timers)
                for name, form in REQUESTS.items():
                    body = urlencode(form)
                    # Events built outside the timing; a fresh context per invocation, as in Lambda.
                    events = [event(body) for _ in range(warmup + n)]
                    for e in events[:warmup]:
                        result = handler(e, _context())
                        assert result["statusCode"] == 200, result
                    calls.clear()
                    samples: list[float] = []
                    walls: list[float] = []
                    parts: dict[str, list[float]] = defaultdict(list)
                    for e in events[warmup:]:
                        context = _context()
                        timers.spent.clear()
                        wall, start = time.perf_counter(), CLOCK()
                        result = handler(e, context)
                        samples.append(CLOCK() - start)
                        walls.append(time.perf_counter() - wall)
                        if hooked:
                            parts["handler"].append(samples[-1])
                            for label in _PARTS:
                                parts[label].append(timers.spent[label])
                    assert result["statusCode"] == 200, result
                    per_request = {op: c / n for op, c in calls.items()}
                    assert per_request == {"TransactWriteItems": 1.0}, per_request
                    if hooked:
                        out["parts"][name] = parts
                    else:
                        out["times"][name] = samples
                        out["walls"][name] = walls
                        out["calls"][name] = per_request
        finally:
            log_handler.setStream(previous)
    return out


# ------------------------------------------------------------------------------------- the runner


def _baseline_tree(ref: str, into: Path) -> Path:
    """The layer, functions, local stack and template of ``ref``, unpacked under ``into``."""
    archive = subprocess.run(
        ["git", "archive", ref, "layers", "functions", "local_stack", "template.yaml"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def _run(tree: Path, n: int, warmup: int) -> dict[str, Any]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tree / "layers" / "shared"), str(tree)]),
        "PYTHONHASHSEED": "0",
    }
    code = (
        "import json, sys, runpy; "
        f"mod = runpy.run_path({str(Path(__file__).resolve())!r}); "
        f"json.dump(mod['worker']({n}, {warmup}), sys.stdout)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tree, env=env, capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(f"worker in {tree} failed:\n{out.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def _us(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1))))] * 1e6


def _breakdown(parts: dict[str, list[float]]) -> dict[str, float]:
    """Medians (µs) of each part; the derived ones per request, then their medians.

    The parts are split into the libraries' work and ours. Libraries: PyJWT's verification and decoding,
    the ``Principal`` model's validation (pydantic), the one DynamoDB call (botocore: ``stores/_direct``
    only hands botocore's pieces the request), the Pusher signature (``hmac``), and Powertools: the
    resolver, its request and response validation and the Lambda decorators (logger, metrics), i.e. the
    handler without the route it calls and without our body-limit check. Ours: the rest of identity (the
    bearer header, the lifetime rule), composing the transaction (with boto3's ``TypeSerializer``), the
    body-limit check, and the route (body, policy, verdicts, security log, metrics calls).
    """
    handler, route = parts["handler"], parts["route"]
    admit, boto = parts["limits store"], parts["botocore"]
    identity, signature = parts["identity"], parts["signature"]
    pyjwt, principal = parts["PyJWT"], parts["Principal"]
    limits = parts["body limits"]
    powertools = [h - r - b for h, r, b in zip(handler, route, limits, strict=True)]
    libraries = [
        j + p + b + s + w for j, p, b, s, w in zip(pyjwt, principal, boto, signature, powertools, strict=True)
    ]
    rows = {
        "PyJWT (verify, decode claims)": pyjwt,
        "pydantic (the Principal model)": principal,
        "identity, ours (header, claim rules)": [
            i - j - p for i, j, p in zip(identity, pyjwt, principal, strict=True)
        ],
        "composing the transaction (ours, TypeSerializer)": [a - b for a, b in zip(admit, boto, strict=True)],
        "botocore (one TransactWriteItems)": boto,  # the client call, or the direct path
        "Pusher signature (HMAC)": signature,
        "route, ours (body, policy, verdicts, log)": [
            r - i - a - s for r, i, a, s in zip(route, identity, admit, signature, strict=True)
        ],
        "body limits, ours (before the route)": limits,
        "Powertools (resolver, validation, decorators)": powertools,
        "handler (with the hooks)": handler,
        "of which libraries (PyJWT, pydantic, botocore, HMAC, Powertools)": libraries,
        "of which ours": [h - x for h, x in zip(handler, libraries, strict=True)],
    }
    return {label: statistics.median(values) * 1e6 for label, values in rows.items()}


def main() -> None:
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    ref = os.environ.get("BENCH_BASELINE_REF")
    n = int(os.environ.get("BENCH_N", N))
    with tempfile.TemporaryDirectory(prefix="bench-auth-compute-") as tmp:
        trees = {"now": ROOT}
        if ref:
            trees = {f"baseline ({ref})": _baseline_tree(ref, Path(tmp)), "now": ROOT}
        results: dict[str, list[dict[str, Any]]] = {name: [] for name in trees}
        for _ in range(ROUNDS):
            for name, tree in trees.items():
                results[name].append(_run(tree, n, WARMUP))
    print(
        f"auth compute per request (handler in-process, DynamoDB stubbed at the HTTP layer; "
        f"{ROUNDS} rounds x {n} calls after {WARMUP} warm-up, per tree and request; thread CPU time, µs):"
    )
    p50s: dict[str, dict[str, float]] = defaultdict(dict)
    for name, runs in results.items():
        for request in REQUESTS:
            samples = [s for run in runs for s in run["times"][request]]
            walls = [s for run in runs for s in run["walls"][request]]
            calls = runs[0]["calls"][request]
            p50s[name][request] = _us(samples, 50)
            print(
                f"  {name:22s} {request:14s} CPU p50 {_us(samples, 50):7.1f}  p99 {_us(samples, 99):7.1f}"
                f"   (wall p50 {_us(walls, 50):7.1f})"
                f"   DynamoDB calls: {', '.join(f'{k} x{v:g}' for k, v in calls.items())}"
            )
    if ref:
        base = next(iter(results))
        for request in REQUESTS:
            ratio = p50s["now"][request] / p50s[base][request]
            print(f"  ratio now / baseline, {request:14s} p50 {ratio:.2f}x")
    print("breakdown (CPU medians per request with timing hooks, µs; medians need not add up):")
    for request in REQUESTS:
        columns = {
            name: _breakdown(
                {k: [v for run in runs for v in run["parts"][request][k]] for k in runs[0]["parts"][request]}
            )
            for name, runs in results.items()
        }
        print(f"  {request}: " + " | ".join(columns))
        for label in next(iter(columns.values())):
            figures = "  ".join(f"{col[label]:8.1f}" for col in columns.values())
            print(f"    {label:66s} {figures}")


if __name__ == "__main__":
    main()
