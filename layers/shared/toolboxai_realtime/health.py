"""Dependency checks for ``GET /health``: does DynamoDB answer, does the Pusher HTTP API answer."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel

from . import pusher_gateway
from .errors import RealtimeError
from .observability import MetricUnit, logger, metrics
from .stores import tables


class Check(BaseModel):
    status: Literal["ok", "unavailable"]
    latency_ms: float
    detail: str | None = None


class HealthReport(BaseModel):
    status: Literal["ok", "degraded"]
    checks: dict[str, Check]
    # Present when degraded, so the 503 carries the error model's code and message too.
    code: str | None = None
    message: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _timed(probe: Callable[[], None]) -> Check:
    start = time.perf_counter()
    try:
        probe()
    except tables.StoreUnavailable as exc:  # what DynamoDB said, for the operator reading /health
        return Check(status="unavailable", latency_ms=_ms(start), detail=exc.cause or exc.code)
    except RealtimeError as exc:
        return Check(status="unavailable", latency_ms=_ms(start), detail=exc.code)
    return Check(status="ok", latency_ms=_ms(start))


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)


def check_dependencies() -> HealthReport:
    """Probe DynamoDB (every table) and the Pusher HTTP API; never raises."""
    checks = {"dynamodb": _timed(tables.describe_all), "pusher": _timed(pusher_gateway.ping)}
    healthy = all(c.status == "ok" for c in checks.values())
    metrics.add_metric(name="HealthCheckFailed", unit=MetricUnit.Count, value=0 if healthy else 1)
    if not healthy:
        logger.warning("health check failed", extra={"checks": {k: c.detail for k, c in checks.items()}})
    if healthy:
        return HealthReport(status="ok", checks=checks)
    down = ", ".join(name for name, c in checks.items() if c.status != "ok")
    return HealthReport(
        status="degraded",
        checks=checks,
        code="dependency_unavailable",
        message=f"Unavailable: {down}.",
    )
