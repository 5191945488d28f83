"""The API's view of a stored maintenance window at a given time (pure, like the schedule)."""

from __future__ import annotations

from .models import AlertStateName, AlertView, CancellationAlertView, MaintenanceWindowView, WindowStatusName
from .records import CANCELLATION, LeadAlert, WindowRecord
from .schedule import due_at, iso, notice_needed

__all__ = ["view"]


def view(window: WindowRecord, now: int) -> MaintenanceWindowView:
    """The API's view of ``window`` at ``now`` (Unix seconds)."""
    alerts = [_alert_view(window, key) for key in window.leads()]
    return MaintenanceWindowView(
        id=window.window_id,
        status=_status(window, now),
        starts_at=iso(window.starts_at),
        ends_at=iso(window.ends_at),
        title=window.title,
        message=window.message,
        action_url=window.action_url,
        lead_minutes=sorted(window.lead_minutes, reverse=True),
        alerts=alerts,
        alerts_sent=sum(alert.state == "sent" for alert in alerts),
        cancellation_alert=_cancellation_view(window, now),
        created_at=iso(window.created_at),
        created_by=window.created_by,
        cancelled_at=iso(window.cancelled_at) if window.cancelled_at is not None else None,
        cancelled_by=window.cancelled_by,
    )


def _alert_view(window: WindowRecord, key: LeadAlert) -> AlertView:
    record = window.alert(key)
    due = iso(due_at(window, key))
    if record is None or (window.status == "cancelled" and record.state == "failed"):
        state: AlertStateName = "cancelled" if window.status == "cancelled" else "pending"
        return AlertView(minutes_before_start=key.minutes, due_at=due, state=state)
    return AlertView(
        minutes_before_start=key.minutes,
        due_at=due,
        state=record.state,
        sent_at=iso(record.sent_at) if record.sent_at is not None else None,
        publish_id=record.publish_id,
        error=record.error,
        reason=record.reason,
    )


def _cancellation_view(window: WindowRecord, now: int) -> CancellationAlertView | None:
    if window.status != "cancelled":
        return None
    record = window.alert(CANCELLATION)
    if record is None:
        needed = notice_needed(window, now)
        return CancellationAlertView(state="not_needed" if needed == "no" else "pending")
    return CancellationAlertView(
        state="skipped" if record.state == "superseded" else record.state,
        sent_at=iso(record.sent_at) if record.sent_at is not None else None,
        publish_id=record.publish_id,
        error=record.error,
    )


def _status(window: WindowRecord, now: int) -> WindowStatusName:
    if window.status == "cancelled":
        return "cancelled"
    if now < window.starts_at:
        return "upcoming"
    return "in_progress" if now < window.ends_at else "finished"
