"""Dependency checks for ``GET /health``: does DynamoDB answer, does the Pusher HTTP API answer."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel

from . import pusher_gateway
from .aws import dynamodb
from .errors import RealtimeError
from .observability import MetricUnit, logger, metrics
from .settings import get_settings


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
    except RealtimeError as exc:
        return Check(status="unavailable", latency_ms=_ms(start), detail=exc.code)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", "client_error"))
        return Check(status="unavailable", latency_ms=_ms(start), detail=code)
    except BotoCoreError as exc:
        return Check(status="unavailable", latency_ms=_ms(start), detail=type(exc).__name__)
    return Check(status="ok", latency_ms=_ms(start))


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)


def _dynamodb() -> None:
    s = get_settings()
    client = dynamodb()
    for table in (
        s.rate_limit_table,
        s.presence_table,
        s.idempotency_table,
        s.connections_table,
        s.maintenance_table,
        s.revocation_table,
        s.history_table,
    ):
        client.describe_table(TableName=table)


def check_dependencies() -> HealthReport:
    """Probe DynamoDB (every table) and the Pusher HTTP API; never raises."""
    checks = {"dynamodb": _timed(_dynamodb), "pusher": _timed(pusher_gateway.ping)}
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
