"""The scheduler run: for each due alert, claim it, send it, record it; the run's report.

``send_due_alerts`` is the entry point of the scheduled function; ``carry_out`` also sends a cancelled
window's notice for the ``DELETE`` request. Why claim → send → record with a lease gives "exactly once
except in one logged case" is explained in ``docs/maintenance.md``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from functools import lru_cache
from typing import Final, Literal

from pydantic import BaseModel, Field

from ..errors import RealtimeError, UpstreamUnavailable
from ..observability import count, logger
from ..publisher import Publisher
from ..stores import maintenance as store
from .records import AlertKey, LeadAlert, WindowRecord
from .schedule import CHANNEL, EVENT, LEASE_SECONDS, Step, alert_id, due_at, payload, plan

__all__ = [
    "LATE_AFTER_SECONDS",
    "MaintenanceAlertFailed",
    "RunReport",
    "carry_out",
    "send_due_alerts",
]

LATE_AFTER_SECONDS: Final = 90
"""An alert sent this long after its moment is logged as late (the schedule runs every 60 s)."""


class RunReport(BaseModel):
    """What one run of ``send_due_alerts`` did (alert ids ``<window id>:<alert key>``)."""

    windows: int = 0
    sent: list[str] = Field(default_factory=list)
    skipped: list[str] = Field(default_factory=list)
    superseded: list[str] = Field(default_factory=list)
    failed: list[str] = Field(default_factory=list)


class MaintenanceAlertFailed(UpstreamUnavailable):
    """A maintenance alert could not be sent (or recorded); the next run retries it."""

    default_code = "maintenance_alert_failed"
    default_message = "A maintenance alert could not be sent; the next scheduled run retries it."


@lru_cache(maxsize=1)
def default_publisher() -> Publisher:
    """The publisher of maintenance alerts (built on first use)."""
    # Maintenance alerts are few and must not be refused because someone else filled the channel's
    # per-minute budget: no rate limit (and so no RateLimitTable access for these functions).
    return Publisher(rate_limit=False)


def send_due_alerts(
    *, clock: Callable[[], float] = time.time, publisher: Publisher | None = None
) -> RunReport:
    """Send every due alert of every window once; the entry point of the scheduled function.

    Raises ``MaintenanceAlertFailed`` after the run when an alert could not be sent or recorded (the
    next run retries it), and ``UpstreamUnavailable`` when DynamoDB fails; both are logged and counted
    as ``MaintenanceAlertFailures``, so the invocation fails visibly.
    """
    now = int(clock())
    publisher = publisher or default_publisher()
    report = RunReport()
    failure: MaintenanceAlertFailed | None = None
    try:
        for window in store.ending_after(now):
            if window.starts_at - max(window.lead_minutes, default=0) * 60 > now:
                continue  # nothing of it can be due yet
            report.windows += 1
            try:
                carry_out(window, now, publisher, report, clock)
            except MaintenanceAlertFailed as exc:
                failure = failure or exc
                if isinstance(exc.__cause__, UpstreamUnavailable):
                    break  # Pusher (or DynamoDB) is down: other sends would fail alike; the next run retries
    except RealtimeError as exc:  # DynamoDB: the windows cannot be read or a claim cannot be written
        logger.error("maintenance run failed", extra={"code": exc.code, **report.model_dump()})
        count("MaintenanceAlertFailures")
        raise
    logger.info("maintenance run", extra=report.model_dump())
    if failure is not None:
        raise failure
    return report


def carry_out(
    window: WindowRecord,
    now: int,
    publisher: Publisher,
    report: RunReport,
    clock: Callable[[], float],
) -> None:
    """Carry out ``plan(window, now)``, adding what was done to ``report``.

    Raises ``MaintenanceAlertFailed`` (after the other steps) when the send failed, and
    ``UpstreamUnavailable`` when DynamoDB fails.
    """
    failure: MaintenanceAlertFailed | None = None
    for step in plan(window, now):
        if step.action == "send":
            try:
                if _deliver(window, step.key, now, publisher, clock):
                    report.sent.append(alert_id(window, step.key))
            except MaintenanceAlertFailed as exc:
                report.failed.append(alert_id(window, step.key))
                failure = exc
            continue
        _settle(window, step, now, report)
    if failure is not None:
        raise failure


def _settle(window: WindowRecord, step: Step, now: int, report: RunReport) -> None:
    """Record that the alert of ``step`` (a skip or a supersede) will never be sent, unless another run
    got there first."""
    state: Literal["skipped", "superseded"] = "skipped" if step.action == "skip" else "superseded"
    settled = store.settle(
        window.window_id,
        str(step.key),
        state=state,
        reason=step.reason or state,
        now=now,
        status=window.status,
    )
    if not settled:
        return
    settled_id = alert_id(window, step.key)
    extra = {"window_id": window.window_id, "alert_id": settled_id, "reason": step.reason}
    if state == "skipped":
        logger.warning("maintenance alert skipped: its moment passed while it could not be sent", extra=extra)
        count("MaintenanceAlertsSkipped")
        report.skipped.append(settled_id)
    else:
        logger.info("maintenance alert superseded by a later one", extra=extra)
        report.superseded.append(settled_id)


def _deliver(
    window: WindowRecord, key: AlertKey, now: int, publisher: Publisher, clock: Callable[[], float]
) -> bool:
    """Claim, send and record one alert. ``False`` when another run holds it or has sent it.

    Raises ``MaintenanceAlertFailed`` when the send fails (the claim is released as ``failed``) or the
    sent alert cannot be recorded; ``UpstreamUnavailable`` when the claim itself cannot be written.
    """
    extra = {"window_id": window.window_id, "alert_id": alert_id(window, key)}
    token = uuid.uuid4().hex
    if not store.claim(
        window.window_id,
        str(key),
        token=token,
        now=now,
        lease_until=now + LEASE_SECONDS,
        status=window.status,
    ):
        return False
    try:
        result = publisher.trigger(CHANNEL, EVENT, payload(window, key, int(clock())))
    except RealtimeError as exc:
        logger.error("maintenance alert not sent; the next run retries it", extra={**extra, "code": exc.code})
        count("MaintenanceAlertFailures")
        try:
            store.mark_failed(window.window_id, str(key), token=token, at=int(clock()), error=exc.code)
        except UpstreamUnavailable:
            logger.error(
                "maintenance alert claim not released; retried when its lease ends",
                extra={"alert_id": extra["alert_id"]},
            )
        raise MaintenanceAlertFailed() from exc
    extra["publish_id"] = result.publish_id
    sent_at = int(clock())
    try:
        recorded = store.mark_sent(
            window.window_id, str(key), token=token, at=sent_at, publish_id=result.publish_id
        )
    except UpstreamUnavailable as exc:
        logger.error(
            "maintenance alert sent but not recorded; it goes out again when its lease ends", extra=extra
        )
        count("MaintenanceAlertFailures")
        raise MaintenanceAlertFailed("A maintenance alert was sent but could not be recorded.") from exc
    if not recorded:
        logger.error("maintenance alert claim was taken over while sending; it may go out twice", extra=extra)
        count("MaintenanceAlertFailures")
    late = sent_at - due_at(window, key) if isinstance(key, LeadAlert) else 0  # a notice is due when sent
    logger.info(
        "maintenance alert sent late" if late > LATE_AFTER_SECONDS else "maintenance alert sent",
        extra={**extra, "late_seconds": late},
    )
    count("MaintenanceAlertsSent")
    return True
