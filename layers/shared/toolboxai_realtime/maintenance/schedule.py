"""The pure schedule of maintenance alerts: what is due, what a run does about it, what each alert says.

No I/O, no clock: every function reads a ``WindowRecord`` and ``now`` (Unix seconds) and returns a value,
so it is tested with known answers and imports neither the stores nor any AWS library. The rules and
the reasons for them are in ``docs/maintenance.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal

from ..channels import DASHBOARD_UPDATES
from .records import CANCELLATION, AlertKey, CancellationNotice, LeadAlert, WindowRecord

__all__ = [
    "CHANNEL",
    "DEFAULT_LEAD_MINUTES",
    "EVENT",
    "LEASE_SECONDS",
    "START_ALERT_GRACE_SECONDS",
    "Step",
    "alert_data",
    "alert_id",
    "cancellation_data",
    "deadline",
    "due_at",
    "iso",
    "notice_needed",
    "payload",
    "plan",
]

CHANNEL: Final = DASHBOARD_UPDATES.name()
EVENT: Final = "maintenance_alert"

DEFAULT_LEAD_MINUTES: Final = (1440, 60, 15, 0)
"""A day, an hour and a quarter of an hour before the start, and at the start."""
START_ALERT_GRACE_SECONDS: Final = 600
"""How long after the start the start alert (lead 0) may still go out (never after the window's end)."""
LEASE_SECONDS: Final = 120
"""How long a claim keeps other runs off an alert. Must exceed the scheduler's (and API's) Lambda timeout."""


@dataclass(frozen=True)
class Step:
    """One thing a run does about one alert: send it, or record that it never will be sent."""

    action: Literal["send", "skip", "supersede"]
    key: AlertKey
    reason: str | None = None


def iso(seconds: int | float) -> str:
    """``seconds`` (Unix time) as RFC 3339 UTC to the second, e.g. ``"2027-01-15T08:00:00Z"``."""
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def alert_id(window: WindowRecord, key: AlertKey) -> str:
    """The stable id of an alert, ``<window id>:<key>``: a dashboard may drop a repeat by it."""
    return f"{window.window_id}:{key}"


def due_at(window: WindowRecord, key: LeadAlert) -> int:
    """When the alert ``key`` is due: ``key.minutes`` before the start (Unix seconds)."""
    return window.starts_at - key.minutes * 60


def deadline(window: WindowRecord, key: LeadAlert) -> int:
    """Until when (exclusive) the alert ``key`` may go out: the start for an alert before it (one that
    says "in an hour" is wrong once maintenance began), ``START_ALERT_GRACE_SECONDS`` after the start but
    never after the end for the start alert."""
    if key.minutes > 0:
        return window.starts_at
    return min(window.starts_at + START_ALERT_GRACE_SECONDS, window.ends_at)


def plan(window: WindowRecord, now: int) -> list[Step]:
    """What to do about ``window``'s alerts at ``now``, the send (if any) first.

    Alerts recorded as sent, skipped or superseded, and alerts another run is sending, are left alone.
    Of the alerts that are due and within their deadline, the latest is sent and the others superseded;
    those past their deadline are skipped. For a cancelled window: the cancellation notice, if due.
    """
    if window.status == "cancelled":
        return _plan_cancellation(window, now)
    reached = [key for key in window.leads() if _unsettled(window, key) and due_at(window, key) <= now]
    steps = [
        Step("skip", key, "window_started" if key.minutes > 0 else "start_grace_passed")
        for key in reached
        if now >= deadline(window, key) and _claimable(window, key, now)
    ]
    due = [key for key in reached if now < deadline(window, key)]
    if due:
        latest = min(due)
        steps += [
            Step("send", key) if key == latest else Step("supersede", key, f"superseded_by_{latest}")
            for key in due
            if _claimable(window, key, now)  # otherwise another run is sending it
        ]
    return sorted(steps, key=lambda step: step.action != "send")  # the send first: the rest is bookkeeping


def _unsettled(window: WindowRecord, key: AlertKey) -> bool:
    """Neither sent nor recorded as never to be sent (it may be in flight, or failed)."""
    record = window.alert(key)
    return record is None or record.state not in {"sent", "skipped", "superseded"}


def _claimable(window: WindowRecord, key: AlertKey, now: int) -> bool:
    record = window.alert(key)
    return record is None or record.claimable(now)


def notice_needed(window: WindowRecord, now: int) -> Literal["yes", "wait", "no"]:
    """Whether a cancelled window needs its cancellation notice: yes if an alert went out (or may have:
    a claim whose lease ran out), wait while one is being sent, otherwise no."""
    waiting = False
    for key, record in window.alerts.items():
        if key == str(CANCELLATION):
            continue
        if record.state == "sent" or (record.state == "sending" and not record.in_flight(now)):
            return "yes"
        waiting = waiting or record.in_flight(now)
    return "wait" if waiting else "no"


def _plan_cancellation(window: WindowRecord, now: int) -> list[Step]:
    if not _claimable(window, CANCELLATION, now):
        return []
    if notice_needed(window, now) != "yes":
        return []
    if now >= window.ends_at:
        return [Step("skip", CANCELLATION, "window_ended")]
    return [Step("send", CANCELLATION)]


def alert_data(window: WindowRecord, key: LeadAlert, now: int) -> dict[str, Any]:
    """The ``maintenance_alert`` data of the alert ``key`` before ``window`` starts.

    The catalog's fields (``type`` warning, ``title``, ``message``, ``timestamp`` = ``now``,
    ``action_url``, ``expires_at`` = the window's end) and, as the catalog allows, ``maintenance_id``,
    ``alert_id`` (stable: a dashboard may drop a repeat), ``starts_at``, ``ends_at`` and
    ``minutes_before_start``.
    """
    data: dict[str, Any] = {
        "type": "warning",
        "title": window.title,
        "message": window.message,
        "timestamp": iso(now),
        "expires_at": iso(window.ends_at),
        "maintenance_id": window.window_id,
        "alert_id": alert_id(window, key),
        "starts_at": iso(window.starts_at),
        "ends_at": iso(window.ends_at),
        "minutes_before_start": key.minutes,
    }
    if window.action_url is not None:
        data["action_url"] = window.action_url
    return data


def cancellation_data(window: WindowRecord, now: int) -> dict[str, Any]:
    """The ``maintenance_alert`` that tells dashboards a window is cancelled (``type`` info)."""
    start, end = iso(window.starts_at), iso(window.ends_at)
    return {
        "type": "info",
        "title": f"Cancelled: {window.title}",
        "message": f"The maintenance planned from {start} to {end} is cancelled.",
        "timestamp": iso(now),
        "expires_at": iso(window.ends_at),
        "maintenance_id": window.window_id,
        "alert_id": alert_id(window, CANCELLATION),
        "starts_at": start,
        "ends_at": end,
        "cancelled": True,
    }


def payload(window: WindowRecord, key: AlertKey, now: int) -> dict[str, Any]:
    """The ``maintenance_alert`` data of alert ``key`` sent at ``now``."""
    match key:
        case LeadAlert():
            return alert_data(window, key, now)
        case CancellationNotice():
            return cancellation_data(window, now)
