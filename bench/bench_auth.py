"""The auth function: cold start (import time against a bare ``import boto3``), warm cost per invocation
with DynamoDB on a local moto server, and AWS calls per request; each request with the revocation checks
(as deployed) and, in the same run, without them (the baseline: the auth path before revocations).

Run: ``PYTHONPATH=layers/shared:. .venv/bin/python -m bench auth`` (or ``make bench ARGS=auth``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import statistics
import subprocess
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from local_stack.moto_dynamodb import running
from toolboxai_realtime.caches import reset_caches

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "functions" / "auth" / "app.py"
HEALTH = ROOT / "functions" / "health" / "app.py"  # the smallest function: what the layer alone costs
COLD_RUNS = 9
WARM_CALLS = 1000
WARMUP_CALLS = 50

_IMPORT_BOTO3 = "import time; t = time.perf_counter(); import boto3; print(time.perf_counter() - t)"


def _import_module(path: Path) -> str:
    return (
        "import time, importlib.util as u; t = time.perf_counter(); "
        f"s = u.spec_from_file_location('app', {str(path)!r}); m = u.module_from_spec(s); "
        "s.loader.exec_module(m); print(time.perf_counter() - t)"
    )


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1))))]


def _import_seconds(code: str) -> float:
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'layers' / 'shared'}{os.pathsep}{ROOT}"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip().splitlines()[-1])


def cold_start() -> dict[str, float]:
    """Median import times (ms) of boto3 alone, the auth module and the health module, each in a fresh
    interpreter, the three interleaved run by run so that machine noise hits them alike."""
    runs: dict[str, list[float]] = {"boto3": [], "auth": [], "health": []}
    for _ in range(COLD_RUNS):
        runs["boto3"].append(_import_seconds(_IMPORT_BOTO3))
        runs["auth"].append(_import_seconds(_import_module(APP)))
        runs["health"].append(_import_seconds(_import_module(HEALTH)))
    return {name: statistics.median(values) * 1000 for name, values in runs.items()}


# ------------------------------------------------------------------------------------------------ warm


def _configure(endpoint: str) -> None:
    from local_stack.config import LOCAL_DEFAULTS
    from local_stack.template import load_template

    for key, value in LOCAL_DEFAULTS.items():
        os.environ.setdefault(key, value)
    os.environ.update(load_template().environment(os.environ))
    os.environ.update(
        {
            "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
            "POWERTOOLS_METRICS_DISABLED": "true",
            # The benchmark measures cost, not the limits: one user makes thousands of requests.
            "AUTH_RATE_LIMIT_PER_MINUTE": str(10**9),
        }
    )


CLASSES = [str(101 + i) for i in range(5)]


def _requests() -> dict[str, tuple[str, str]]:
    batch = {"socket_id": "123.456"}
    for i, class_id in enumerate(CLASSES):  # 10 channels the user may join: 5 private, 5 presence
        batch[f"channel_name[{2 * i}]"] = f"private-class-{class_id}"
        batch[f"channel_name[{2 * i + 1}]"] = f"presence-classroom-{class_id}"
    single = {"socket_id": "123.456", "channel_name": "private-user-bench-1"}
    presence = {"socket_id": "123.456", "channel_name": "presence-classroom-101", "status": "away"}
    return {
        "private channel": ("/pusher/auth", urlencode(single)),
        "presence channel": ("/pusher/auth", urlencode(presence)),
        "batch of 10 channels": ("/pusher/auth", "&" + urlencode(batch)),
        "user sign-in": ("/pusher/user-auth", "socket_id=123.456"),
    }


def warm(endpoint: str) -> tuple[dict[str, list[float]], dict[str, list[float]], dict[str, Counter[str]]]:  # noqa: PLR0915  (a benchmark reads top to bottom as its measurement)
    """Per-invocation times (ms), the part of them spent in AWS calls, and the AWS calls per request,
    with the handler loaded as Lambda would load it."""
    import boto3

    _configure(endpoint)
    from local_stack.dynamo import create_tables
    from local_stack.gateway import LocalContext, LocalGateway, build_http_event, load_handler
    from local_stack.token import mint_dev_token
    from toolboxai_realtime.observability import logger
    from toolboxai_realtime.stores import revocations

    create_tables(boto3.client("dynamodb", endpoint_url=endpoint))
    # Count (and time) every AWS call of every client the layer builds from the default session.
    calls: Counter[str] = Counter()
    in_aws = {"started": 0.0, "ms": 0.0}

    def before(model: Any, **_: Any) -> None:
        calls.update([f"{model.service_model.service_name}:{model.name}"])
        in_aws["started"] = time.perf_counter()

    def after(**_: Any) -> None:
        in_aws["ms"] += (time.perf_counter() - in_aws["started"]) * 1000

    boto3.setup_default_session()
    assert boto3.DEFAULT_SESSION is not None
    boto3.DEFAULT_SESSION.events.register("before-call", before)
    boto3.DEFAULT_SESSION.events.register("after-call", after)
    reset_caches()

    gateway = LocalGateway()
    handler = load_handler(gateway.functions["AuthFunction"])
    token = mint_dev_token("bench-1", role="teacher", name="Bench", class_ids=CLASSES)
    context = LocalContext(function_name="AuthFunction", aws_request_id="bench")
    headers = {
        "content-type": "application/x-www-form-urlencoded",
        "authorization": f"Bearer {token}",
    }

    def event_for(path: str, body: str) -> Callable[[], dict[str, Any]]:
        found = gateway.match("POST", path)
        assert found is not None
        route, params = found
        return lambda: build_http_event(
            method="POST",
            raw_path=path,
            raw_query="",
            headers=list(headers.items()),
            body=body.encode(),
            source_ip="127.0.0.1",
            route=route,
            path_params=params,
        )

    times: dict[str, list[float]] = {}
    aws_times: dict[str, list[float]] = {}
    per_request: dict[str, Counter[str]] = {}
    # A revocation of this user exists (for a class the requests do not touch), so the checks meet a
    # real item of the user's partition; the baseline runs without the checks (the auth path as it was
    # before revocations: one UpdateItem unless presence infos are written).
    now = int(time.time())
    revocations.put(revocations.Revocation("bench-1", "class#999", now, now + 3600))
    checks = revocations.condition_checks
    modes = {"": checks, " (no revocation check)": lambda *args, **kwargs: []}
    # Logs and EMF metrics go to stdout in Lambda too; here they go nowhere (the cost stays measured).
    log_handler = logger.registered_handler
    assert isinstance(log_handler, logging.StreamHandler)
    with Path(os.devnull).open("w") as devnull, contextlib.redirect_stdout(devnull):
        previous = log_handler.setStream(devnull)
        try:
            for request, (path, body) in _requests().items():
                make = event_for(path, body)
                for suffix, condition_checks in modes.items():  # the two modes back to back
                    name = request + suffix
                    revocations.condition_checks = condition_checks
                    for _ in range(WARMUP_CALLS):
                        result = handler(make(), context)
                        assert result["statusCode"] == 200, result
                    calls.clear()
                    handler(make(), context)
                    per_request[name] = Counter(calls)
                    samples, in_aws_samples = [], []
                    for _ in range(WARM_CALLS):
                        event = make()
                        in_aws["ms"] = 0.0
                        start = time.perf_counter()
                        result = handler(event, context)
                        samples.append((time.perf_counter() - start) * 1000)
                        in_aws_samples.append(in_aws["ms"])
                        assert result["statusCode"] == 200
                    times[name], aws_times[name] = samples, in_aws_samples
        finally:
            revocations.condition_checks = checks
            log_handler.setStream(previous)
    return times, aws_times, per_request


def main() -> None:
    # Metrics are disabled here, and disabled Powertools metrics are never flushed but warn when empty.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    cold = cold_start()
    print(f"cold start (median of {COLD_RUNS} fresh interpreters each, module import only):")
    for label, name in (
        ("boto3", "boto3"),
        ("functions/auth/app", "auth"),
        ("functions/health/app", "health"),
    ):
        ratio = "" if name == "boto3" else f"  = {cold[name] / cold['boto3']:.2f}x boto3"
        print(f"  import {label:22s} {cold[name]:7.1f} ms{ratio}")
    with running() as endpoint:  # the local stack's moto server
        times, aws_times, per_request = warm(endpoint)
    print(f"warm (handler in-process, DynamoDB on a local moto server, {WARM_CALLS} calls each, ms):")
    columns = ("p50", "p99", "in AWS p50", "own p50", "own p99")
    print(f"  {'request':44s} {columns[0]:>7s} {columns[1]:>7s}   {columns[2]:>10s}   ", end="")
    print(f"{columns[3]:>7s} {columns[4]:>7s}   AWS calls")
    for name, samples in times.items():
        own = [total - aws for total, aws in zip(samples, aws_times[name], strict=True)]
        detail = ", ".join(f"{k} x{v}" for k, v in sorted(per_request[name].items())) or "none"
        print(
            f"  {name:44s} {_percentile(samples, 50):7.2f} {_percentile(samples, 99):7.2f}"
            f"   {_percentile(aws_times[name], 50):10.2f}"
            f"   {_percentile(own, 50):7.2f} {_percentile(own, 99):7.2f}"
            f"   {sum(per_request[name].values())} ({detail})"
        )


if __name__ == "__main__":
    main()
