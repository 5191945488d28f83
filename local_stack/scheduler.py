"""Runs the scheduled functions of template.yaml locally, on the schedules the template declares.

EventBridge ``rate(...)`` expressions only (every schedule of this application is one); each tick invokes
the function through the gateway (so it is serialised with any other invocation of that function) with
the event EventBridge would send.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger("local_stack")

_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}


def rate_seconds(expression: str) -> int:
    """Seconds between runs of an EventBridge ``rate(N unit)`` expression; ValueError otherwise."""
    m = re.fullmatch(r"rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)", expression.strip())
    if not m or int(m.group(1)) < 1:
        raise ValueError(f"unsupported schedule expression {expression!r} (use rate(N minutes|hours|days))")
    return int(m.group(1)) * _UNITS[m.group(2)]


def scheduled_event(rule: str, now: float | None = None) -> dict[str, Any]:
    """The event EventBridge sends to a scheduled target."""
    when = datetime.fromtimestamp(time.time() if now is None else now, tz=UTC)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "000000000000",
        "time": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1",
        "resources": [f"arn:aws:events:us-east-1:000000000000:rule/{rule}"],
        "detail": {},
    }


class Scheduler:
    """One daemon thread per schedule; ``stop()`` ends them all."""

    def __init__(
        self, schedules: list[tuple[str, str]], invoke: Callable[[str, dict[str, Any]], Any]
    ) -> None:
        self.schedules = [(name, rate_seconds(expr)) for name, expr in schedules]
        self._invoke = invoke
        self._stop = threading.Event()

    def start(self) -> None:
        for name, period in self.schedules:
            threading.Thread(
                target=self._loop, args=(name, period), daemon=True, name=f"schedule-{name}"
            ).start()

    def _loop(self, name: str, period: int) -> None:
        # Like EventBridge, the first run comes one period after the rule exists, aligned to the period.
        while not self._stop.wait(period - (time.time() % period)):
            try:
                self._invoke(name, scheduled_event(f"{name}Schedule"))
            except Exception:  # a failed scheduled run is logged; the next tick runs again, as in AWS
                log.exception("scheduled run of %s failed", name)

    def stop(self) -> None:
        self._stop.set()
