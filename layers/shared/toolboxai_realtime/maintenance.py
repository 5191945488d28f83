"""Scheduled maintenance alerts: maintenance windows, and ``maintenance_alert`` events sent exactly once.

Admins create windows (``create_window``), list them (``list_windows``) and cancel them
(``cancel_window``) through the HTTP API. Every minute an EventBridge schedule runs ``send_due_alerts``,
which publishes each due alert of each window on ``dashboard-updates`` as ``maintenance_alert``.

When an alert is due
--------------------
A window has lead times in minutes (default 1440, 60, 15 and 0: a day, an hour and a quarter of an hour
before the start, and at the start). The alert of lead ``m`` is due at ``starts_at - m`` and may go out
until its deadline: the start of the window for ``m > 0`` (an alert "maintenance in an hour" is wrong
once maintenance has begun), and ``START_ALERT_GRACE_SECONDS`` after the start, but never after the
end, for the start alert. An alert whose moment passed while nothing ran (downtime, a Pusher outage) is
therefore sent late if its deadline has not passed, and skipped with a warning log line once it has.
When several alerts of a window are due in the same run (after downtime, or a window created less than
a day ahead), only the latest one (the smallest lead) is sent; the earlier ones are recorded as
``superseded``: two identical banners at once would only be noise.

Exactly once: claim, then send, then record
-------------------------------------------
Pusher and DynamoDB share no transaction, so "never twice" and "never silently lost" must be traded
where they conflict. The options:

* *Send, then record*: two overlapping runs both see the alert unsent and both send it; a run that dies
  between the two steps leaves it unrecorded and the next run sends it again. Duplicates are routine.
* *Claim, then send* with a permanent claim: a run that dies after claiming leaves an alert nobody will
  ever send. Losses are silent.
* *Claim with a lease* (what this module does): one conditional ``UpdateItem`` claims the alert for
  ``LEASE_SECONDS``, and only if the window is still scheduled and nobody holds or has sent the alert,
  so of any number of concurrent runs exactly one sends it. Then the claimant publishes; then it records
  ``sent`` (conditional on still holding the claim). A failed publish releases the claim as ``failed``
  and the next run claims it again; a run that dies holding a claim stops blocking others when its
  lease runs out. The lease is longer than the scheduler's Lambda timeout (a test checks the template),
  so a claimant whose lease ran out is no longer running: two live runs never hold the same alert.

What remains is the doubt no protocol can remove: Pusher accepted the event but the claimant could not
record it (it was killed in the milliseconds in between, or DynamoDB failed even after retries), or
Pusher timed out after accepting it. Then the alert goes out again after the lease or with the next
run. We choose that over losing it, log it as an error, and every alert carries a stable ``alert_id``
(``<window id>:<alert key>``) so that a dashboard can drop the rare repeat.

Cancelling a window is a conditional update of the same item, so it is ordered with every claim: no
alert is claimed after it. If an alert went out before (or may have: a claim whose lease ran out), a
cancellation notice (alert key ``cancelled``) is due, sent through the same protocol, at once by the
``DELETE`` request and otherwise (Pusher down, or an alert still in flight) by the next runs.

Failures are loud: a failed alert is logged as an error and counted (``MaintenanceAlertFailures``), and
``send_due_alerts`` raises ``MaintenanceAlertFailed`` after the run, so the invocation fails, EventBridge
and Lambda retry it, and it lands in the dead-letter queue once their retries are exhausted.
"""

from __future__ import annotations

import contextlib
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from . import catalog
from .catalog import LinkUrl, Text, Timestamp
from .errors import Conflict, Forbidden, NotFound, RealtimeError, UpstreamUnavailable, ValidationFailed
from .identity import Principal
from .observability import count, logger, security_event
from .publisher import Publisher
from .stores import maintenance as store
from .stores.maintenance import WindowRecord

__all__ = [
    "CANCELLATION_KEY",
    "CHANNEL",
    "DEFAULT_LEAD_MINUTES",
    "EVENT",
    "LEASE_SECONDS",
    "START_ALERT_GRACE_SECONDS",
    "AlertView",
    "CancellationAlertView",
    "MaintenanceAlertFailed",
    "MaintenanceWindowList",
    "MaintenanceWindowRequest",
    "MaintenanceWindowView",
    "RunReport",
    "Step",
    "alert_data",
    "alert_key",
    "cancel_window",
    "cancellation_data",
    "create_window",
    "get_window",
    "list_windows",
    "plan",
    "require_admin",
    "send_due_alerts",
    "view",
]

CHANNEL = "dashboard-updates"
EVENT = "maintenance_alert"
CANCELLATION_KEY = "cancelled"

DEFAULT_LEAD_MINUTES = (1440, 60, 15, 0)
"""A day, an hour and a quarter of an hour before the start, and at the start."""
MAX_LEAD_MINUTES = 7 * 1440
MAX_LEAD_TIMES = 8
MAX_DURATION_SECONDS = 7 * 86400
MAX_HORIZON_SECONDS = 366 * 86400
MAX_TITLE_LENGTH = 180  # the catalog allows 200: room for the cancellation notice's "Cancelled: " prefix

START_ALERT_GRACE_SECONDS = 600
"""How long after the start the start alert (lead 0) may still go out (never after the window's end)."""
LEASE_SECONDS = 120
"""How long a claim keeps other runs off an alert. Must exceed the scheduler's (and API's) Lambda timeout."""
LATE_AFTER_SECONDS = 90
"""An alert sent this long after its moment is logged as late (the schedule runs every 60 s)."""
RECENT_SECONDS = 7 * 86400
"""``list_windows`` shows windows that ended at most this long ago."""
RETENTION_SECONDS = 30 * 86400
"""Windows expire (TTL) this long after their end."""

_WINDOW_ID = re.compile(r"^mw_[0-9a-f]{32}$")

# ---------------------------------------------------------------------------------------------- models


def _unique(values: list[int]) -> list[int]:
    if len(set(values)) != len(values):
        raise PydanticCustomError("unique_items", "Lead times must be distinct")
    return sorted(values, reverse=True)


WindowTitle = Annotated[str, Field(min_length=1, max_length=MAX_TITLE_LENGTH, pattern=r"\S")]
LeadMinutes = Annotated[
    list[Annotated[int, Field(ge=0, le=MAX_LEAD_MINUTES)]],
    Field(min_length=1, max_length=MAX_LEAD_TIMES, json_schema_extra={"uniqueItems": True}),
    AfterValidator(_unique),
]


class MaintenanceWindowRequest(BaseModel):
    """The body of ``POST /realtime/maintenance``."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    starts_at: Timestamp = Field(description="Start, RFC 3339 with a time zone; must be in the future.")
    ends_at: Timestamp = Field(description="End: after starts_at, at most 7 days later.")
    title: WindowTitle = Field(description="Headline of the alerts (1-180 characters).")
    message: Text = Field(description="Text of the alerts (1-2000 characters).")
    action_url: LinkUrl | None = Field(default=None, description="Optional link: an app path or http(s) URL.")
    lead_minutes: LeadMinutes = Field(
        default_factory=lambda: list(DEFAULT_LEAD_MINUTES),
        description="When alerts go out, in minutes before starts_at (0 = at the start); at most 7 days.",
    )

    @field_validator("ends_at")
    @classmethod
    def _ends_after_start(cls, ends_at: datetime, info: ValidationInfo) -> datetime:
        starts_at = info.data.get("starts_at")
        if starts_at is None:
            return ends_at
        if ends_at <= starts_at:
            raise PydanticCustomError("ends_before_start", "ends_at must be after starts_at")
        if (ends_at - starts_at).total_seconds() > MAX_DURATION_SECONDS:
            raise PydanticCustomError("window_too_long", "A maintenance window lasts at most 7 days")
        return ends_at


AlertStateName = Literal["pending", "sending", "sent", "failed", "skipped", "superseded", "cancelled"]


class AlertView(BaseModel):
    """One alert of a window: when it is due and whether it went out."""

    minutes_before_start: int = Field(description="The lead time; 0 is the alert at the start.")
    due_at: str
    state: AlertStateName = Field(
        description="pending, sending, sent, failed (retried), skipped, superseded."
    )
    sent_at: str | None = None
    publish_id: str | None = None
    error: str | None = Field(default=None, description="Why the last attempt failed (it is retried).")
    reason: str | None = Field(default=None, description="Why it was skipped or superseded.")


class CancellationAlertView(BaseModel):
    """The notice sent when a window whose alerts went out is cancelled."""

    state: Literal["pending", "not_needed", "sending", "sent", "failed", "skipped"]
    sent_at: str | None = None
    publish_id: str | None = None
    error: str | None = None


class MaintenanceWindowView(BaseModel):
    """A maintenance window as the API shows it."""

    id: str
    status: Literal["upcoming", "in_progress", "finished", "cancelled"]
    starts_at: str
    ends_at: str
    title: str
    message: str
    action_url: str | None = None
    lead_minutes: list[int]
    alerts: list[AlertView]
    alerts_sent: int = Field(description="How many of the alerts went out.")
    cancellation_alert: CancellationAlertView | None = None
    created_at: str
    created_by: str
    cancelled_at: str | None = None
    cancelled_by: str | None = None


class MaintenanceWindowList(BaseModel):
    """``GET /realtime/maintenance``: upcoming, in progress and recently ended windows, by start."""

    windows: list[MaintenanceWindowView]


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


# --------------------------------------------------------------------------------------------- access


def require_admin(principal: Principal) -> None:
    """Accept an admin (the routes take it as ``Depends(http.require(require_admin))``).

    Raises ``Forbidden`` (403, code ``admin_required``), recorded as a ``maintenance_denied`` security
    event, for a caller without the admin role.
    """
    if not principal.is_admin:
        security_event("maintenance_denied", reason="not_admin", user_id=principal.user_id)
        raise Forbidden("Managing maintenance windows needs the admin role.", code="admin_required")


# ---------------------------------------------------------------------------------------- pure logic


def alert_key(lead_minutes: int) -> str:
    """The key of the alert ``lead_minutes`` before the start (``"0m"`` is the start alert)."""
    return f"{lead_minutes}m"


def _due_at(window: WindowRecord, lead_minutes: int) -> int:
    return window.starts_at - lead_minutes * 60


def _deadline(window: WindowRecord, lead_minutes: int) -> int:
    if lead_minutes > 0:
        return window.starts_at
    return min(window.starts_at + START_ALERT_GRACE_SECONDS, window.ends_at)


@dataclass(frozen=True)
class Step:
    """One thing a run does about one alert: send it, or record that it never will be sent."""

    action: Literal["send", "skip", "supersede"]
    key: str
    reason: str | None = None


def plan(window: WindowRecord, now: int) -> list[Step]:  # noqa: C901  (maintenance.py becomes a package in a parallel change (issue 12, goal 3) that rewrites plan())
    """What to do about ``window``'s alerts at ``now`` (pure: reads only the record and the time).

    Alerts recorded as sent, skipped or superseded, and alerts another run is sending, are left alone.
    Of the alerts that are due and within their deadline, the latest is sent and the others superseded;
    those past their deadline are skipped. For a cancelled window: the cancellation notice, if due.
    """
    if window.status == "cancelled":
        return _plan_cancellation(window, now)
    steps: list[Step] = []
    due: list[int] = []
    for lead in sorted(window.lead_minutes, reverse=True):
        record = window.alerts.get(alert_key(lead))
        if record is not None and record.state in {"sent", "skipped", "superseded"}:
            continue
        if now < _due_at(window, lead):
            continue
        if now >= _deadline(window, lead):
            if record is None or record.claimable(now):
                reason = "window_started" if lead > 0 else "start_grace_passed"
                steps.append(Step("skip", alert_key(lead), reason))
            continue
        due.append(lead)
    if due:
        latest = min(due)
        for lead in due:
            record = window.alerts.get(alert_key(lead))
            if record is not None and not record.claimable(now):
                continue  # another run is sending it
            if lead == latest:
                steps.append(Step("send", alert_key(lead)))
            else:
                steps.append(Step("supersede", alert_key(lead), f"superseded_by_{alert_key(latest)}"))
    return sorted(steps, key=lambda step: step.action != "send")  # the send first: the rest is bookkeeping


def _notice_needed(window: WindowRecord, now: int) -> Literal["yes", "wait", "no"]:
    """Whether a cancelled window needs its cancellation notice: yes if an alert went out (or may have:
    a claim whose lease ran out), wait while one is being sent, otherwise no."""
    waiting = False
    for key, record in window.alerts.items():
        if key == CANCELLATION_KEY:
            continue
        if record.state == "sent" or (record.state == "sending" and not record.in_flight(now)):
            return "yes"
        waiting = waiting or record.in_flight(now)
    return "wait" if waiting else "no"


def _plan_cancellation(window: WindowRecord, now: int) -> list[Step]:
    record = window.alerts.get(CANCELLATION_KEY)
    if record is not None and not record.claimable(now):
        return []
    if _notice_needed(window, now) != "yes":
        return []
    if now >= window.ends_at:
        return [Step("skip", CANCELLATION_KEY, "window_ended")]
    return [Step("send", CANCELLATION_KEY)]


def _iso(seconds: int | float) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _epoch(value: datetime) -> int:
    return int(value.timestamp())


def alert_data(window: WindowRecord, lead_minutes: int, now: int) -> dict[str, Any]:
    """The ``maintenance_alert`` data of the alert ``lead_minutes`` before ``window`` starts.

    The catalog's fields (``type`` warning, ``title``, ``message``, ``timestamp`` = ``now``,
    ``action_url``, ``expires_at`` = the window's end) and, as the catalog allows, ``maintenance_id``,
    ``alert_id`` (stable: a dashboard may drop a repeat), ``starts_at``, ``ends_at`` and
    ``minutes_before_start``.
    """
    data: dict[str, Any] = {
        "type": "warning",
        "title": window.title,
        "message": window.message,
        "timestamp": _iso(now),
        "expires_at": _iso(window.ends_at),
        "maintenance_id": window.window_id,
        "alert_id": f"{window.window_id}:{alert_key(lead_minutes)}",
        "starts_at": _iso(window.starts_at),
        "ends_at": _iso(window.ends_at),
        "minutes_before_start": lead_minutes,
    }
    if window.action_url is not None:
        data["action_url"] = window.action_url
    return data


def cancellation_data(window: WindowRecord, now: int) -> dict[str, Any]:
    """The ``maintenance_alert`` that tells dashboards a window is cancelled (``type`` info)."""
    start, end = _iso(window.starts_at), _iso(window.ends_at)
    return {
        "type": "info",
        "title": f"Cancelled: {window.title}",
        "message": f"The maintenance planned from {start} to {end} is cancelled.",
        "timestamp": _iso(now),
        "expires_at": _iso(window.ends_at),
        "maintenance_id": window.window_id,
        "alert_id": f"{window.window_id}:{CANCELLATION_KEY}",
        "starts_at": start,
        "ends_at": end,
        "cancelled": True,
    }


def _data(window: WindowRecord, key: str, now: int) -> dict[str, Any]:
    if key == CANCELLATION_KEY:
        return cancellation_data(window, now)
    return alert_data(window, int(key.removesuffix("m")), now)


# -------------------------------------------------------------------------------------------- views


def _alert_view(window: WindowRecord, lead: int) -> AlertView:
    record = window.alerts.get(alert_key(lead))
    due = _due_at(window, lead)
    if record is None or (window.status == "cancelled" and record.state == "failed"):
        state: AlertStateName = "cancelled" if window.status == "cancelled" else "pending"
        return AlertView(minutes_before_start=lead, due_at=_iso(due), state=state)
    return AlertView(
        minutes_before_start=lead,
        due_at=_iso(due),
        state=record.state,
        sent_at=_iso(record.sent_at) if record.sent_at is not None else None,
        publish_id=record.publish_id,
        error=record.error,
        reason=record.reason,
    )


def _cancellation_view(window: WindowRecord, now: int) -> CancellationAlertView | None:
    if window.status != "cancelled":
        return None
    record = window.alerts.get(CANCELLATION_KEY)
    if record is None:
        needed = _notice_needed(window, now)
        return CancellationAlertView(state="not_needed" if needed == "no" else "pending")
    return CancellationAlertView(
        state="skipped" if record.state == "superseded" else record.state,
        sent_at=_iso(record.sent_at) if record.sent_at is not None else None,
        publish_id=record.publish_id,
        error=record.error,
    )


def _status(window: WindowRecord, now: int) -> Literal["upcoming", "in_progress", "finished", "cancelled"]:
    if window.status == "cancelled":
        return "cancelled"
    if now < window.starts_at:
        return "upcoming"
    return "in_progress" if now < window.ends_at else "finished"


def view(window: WindowRecord, now: int) -> MaintenanceWindowView:
    """The API's view of a stored window at ``now``."""
    alerts = [_alert_view(window, lead) for lead in sorted(window.lead_minutes, reverse=True)]
    return MaintenanceWindowView(
        id=window.window_id,
        status=_status(window, now),
        starts_at=_iso(window.starts_at),
        ends_at=_iso(window.ends_at),
        title=window.title,
        message=window.message,
        action_url=window.action_url,
        lead_minutes=sorted(window.lead_minutes, reverse=True),
        alerts=alerts,
        alerts_sent=sum(alert.state == "sent" for alert in alerts),
        cancellation_alert=_cancellation_view(window, now),
        created_at=_iso(window.created_at),
        created_by=window.created_by,
        cancelled_at=_iso(window.cancelled_at) if window.cancelled_at is not None else None,
        cancelled_by=window.cancelled_by,
    )


# ---------------------------------------------------------------------------------------- operations


@lru_cache(maxsize=1)
def _default_publisher() -> Publisher:
    # Maintenance alerts are few and must not be refused because someone else filled the channel's
    # per-minute budget: no rate limit (and so no RateLimitTable access for these functions).
    return Publisher(rate_limit=False)


def create_window(
    request: MaintenanceWindowRequest, principal: Principal, *, clock: Callable[[], float] = time.time
) -> MaintenanceWindowView:
    """Store a new maintenance window; its alerts go out on schedule.

    Raises ``ValidationFailed`` (422) with code ``starts_in_past`` or ``starts_too_far`` (more than a
    year ahead), ``PayloadTooLarge`` (413) when its alerts would exceed Pusher's 10 KB, ``Conflict``
    (409, an id collision) and ``UpstreamUnavailable`` (503) when DynamoDB fails.
    """
    now = int(clock())
    starts_at, ends_at = _epoch(request.starts_at), _epoch(request.ends_at)
    if starts_at <= now:
        raise _invalid("starts_at", "starts_in_past", "starts_at must be in the future.")
    if starts_at > now + MAX_HORIZON_SECONDS:
        raise _invalid("starts_at", "starts_too_far", "starts_at must be within a year from now.")
    window = WindowRecord(
        window_id=f"mw_{uuid.uuid4().hex}",
        starts_at=starts_at,
        ends_at=ends_at,
        title=request.title,
        message=request.message,
        action_url=request.action_url,
        lead_minutes=tuple(request.lead_minutes),
        created_at=now,
        created_by=principal.user_id,
        expires_at=ends_at + RETENTION_SECONDS,
    )
    # Validate the alerts now, against the catalog and Pusher's size limit, not when they are due.
    for key in (*(alert_key(lead) for lead in window.lead_minutes), CANCELLATION_KEY):
        catalog.check_size(catalog.validate_event(CHANNEL, EVENT, _data(window, key, ends_at)))
    store.create(window)
    logger.info(
        "maintenance window created",
        extra={
            "window_id": window.window_id,
            "starts_at": _iso(starts_at),
            "ends_at": _iso(ends_at),
            "lead_minutes": list(window.lead_minutes),
            "user_id": principal.user_id,
        },
    )
    count("MaintenanceWindowsCreated")
    return view(window, now)


def _invalid(field: str, code: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, code=code, details=[{"loc": [field], "msg": message, "type": code}])


def _find(window_id: str) -> WindowRecord:
    # A malformed id cannot exist: no DynamoDB call (and no oversized key error) for it.
    window = store.get(window_id) if _WINDOW_ID.fullmatch(window_id) else None
    if window is None:
        raise NotFound("No maintenance window has this id.", code="maintenance_not_found")
    return window


def get_window(window_id: str, *, clock: Callable[[], float] = time.time) -> MaintenanceWindowView:
    """One window. Raises ``NotFound`` (404) and ``UpstreamUnavailable`` (503)."""
    return view(_find(window_id), int(clock()))


def list_windows(*, clock: Callable[[], float] = time.time) -> MaintenanceWindowList:
    """Upcoming, in-progress and recently ended (``RECENT_SECONDS``) windows, cancelled ones included,
    by start time, each with the state of its alerts. Raises ``UpstreamUnavailable`` (503)."""
    now = int(clock())
    windows = sorted(store.ending_after(now - RECENT_SECONDS), key=lambda w: (w.starts_at, w.window_id))
    return MaintenanceWindowList(windows=[view(window, now) for window in windows])


def cancel_window(
    window_id: str,
    principal: Principal,
    *,
    clock: Callable[[], float] = time.time,
    publisher: Publisher | None = None,
) -> MaintenanceWindowView:
    """Cancel a window that has not ended; no further alert of it goes out.

    If an alert of it went out, the cancellation notice is sent now; if that fails (it is logged and
    counted) or an alert is still being sent, the scheduled runs send it. Cancelling a cancelled window
    again changes nothing and answers the same. Raises ``NotFound`` (404), ``Conflict`` (409, code
    ``maintenance_finished``) for a window that has ended, ``UpstreamUnavailable`` (503, DynamoDB).
    """
    now = int(clock())
    window = (
        store.cancel(window_id, by=principal.user_id, now=now) if _WINDOW_ID.fullmatch(window_id) else None
    )
    if window is None:  # unknown, already cancelled, or ended
        window = _find(window_id)
        if window.status != "cancelled":
            raise Conflict("This maintenance window has ended.", code="maintenance_finished")
    else:
        logger.info(
            "maintenance window cancelled", extra={"window_id": window_id, "user_id": principal.user_id}
        )
        count("MaintenanceWindowsCancelled")
    report = RunReport(windows=1)
    # A failed notice is logged and counted, and stays due: the next scheduled run sends it.
    with contextlib.suppress(MaintenanceAlertFailed):
        _carry_out(window, now, publisher or _default_publisher(), report, clock)
    if report.sent or report.failed or report.skipped:
        window = _find(window_id)  # the notice's record, for the answer
    return view(window, int(clock()))


def send_due_alerts(
    *, clock: Callable[[], float] = time.time, publisher: Publisher | None = None
) -> RunReport:
    """Send every due alert of every window once; the entry point of the scheduled function.

    Raises ``MaintenanceAlertFailed`` after the run when an alert could not be sent or recorded (the
    next run retries it), and ``UpstreamUnavailable`` when DynamoDB fails; both are logged and counted
    as ``MaintenanceAlertFailures``, so the invocation fails visibly.
    """
    now = int(clock())
    publisher = publisher or _default_publisher()
    report = RunReport()
    failure: MaintenanceAlertFailed | None = None
    try:
        for window in store.ending_after(now):
            if window.starts_at - max(window.lead_minutes, default=0) * 60 > now:
                continue  # nothing of it can be due yet
            report.windows += 1
            try:
                _carry_out(window, now, publisher, report, clock)
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


def _carry_out(
    window: WindowRecord,
    now: int,
    publisher: Publisher,
    report: RunReport,
    clock: Callable[[], float],
) -> None:
    """Carry out ``plan(window, now)``. Raises ``MaintenanceAlertFailed`` (after the other steps)."""
    failure: MaintenanceAlertFailed | None = None
    for step in plan(window, now):
        alert_id = f"{window.window_id}:{step.key}"
        if step.action == "send":
            try:
                if _deliver(window, step.key, now, publisher, clock):
                    report.sent.append(alert_id)
            except MaintenanceAlertFailed as exc:
                report.failed.append(alert_id)
                failure = exc
            continue
        state: Literal["skipped", "superseded"] = "skipped" if step.action == "skip" else "superseded"
        settled = store.settle(
            window.window_id,
            step.key,
            state=state,
            reason=step.reason or state,
            now=now,
            status=window.status,
        )
        if not settled:
            continue  # another run got there first
        extra = {"window_id": window.window_id, "alert_id": alert_id, "reason": step.reason}
        if state == "skipped":
            logger.warning(
                "maintenance alert skipped: its moment passed while it could not be sent", extra=extra
            )
            count("MaintenanceAlertsSkipped")
            report.skipped.append(alert_id)
        else:
            logger.info("maintenance alert superseded by a later one", extra=extra)
            report.superseded.append(alert_id)
    if failure is not None:
        raise failure


def _deliver(
    window: WindowRecord, key: str, now: int, publisher: Publisher, clock: Callable[[], float]
) -> bool:
    """Claim, send and record one alert. ``False`` when another run holds it or has sent it.

    Raises ``MaintenanceAlertFailed`` when the send fails (the claim is released as ``failed``) or the
    sent alert cannot be recorded; ``UpstreamUnavailable`` when the claim itself cannot be written.
    """
    alert_id = f"{window.window_id}:{key}"
    token = uuid.uuid4().hex
    if not store.claim(
        window.window_id, key, token=token, now=now, lease_until=now + LEASE_SECONDS, status=window.status
    ):
        return False
    try:
        result = publisher.trigger(CHANNEL, EVENT, _data(window, key, int(clock())))
    except RealtimeError as exc:
        logger.error(
            "maintenance alert not sent; the next run retries it",
            extra={"window_id": window.window_id, "alert_id": alert_id, "code": exc.code},
        )
        count("MaintenanceAlertFailures")
        try:
            store.mark_failed(window.window_id, key, token=token, at=int(clock()), error=exc.code)
        except UpstreamUnavailable:
            logger.error(
                "maintenance alert claim not released; retried when its lease ends",
                extra={"alert_id": alert_id},
            )
        raise MaintenanceAlertFailed() from exc
    sent_at = int(clock())
    try:
        recorded = store.mark_sent(
            window.window_id, key, token=token, at=sent_at, publish_id=result.publish_id
        )
    except UpstreamUnavailable as exc:
        logger.error(
            "maintenance alert sent but not recorded; it goes out again when its lease ends",
            extra={"window_id": window.window_id, "alert_id": alert_id, "publish_id": result.publish_id},
        )
        count("MaintenanceAlertFailures")
        raise MaintenanceAlertFailed("A maintenance alert was sent but could not be recorded.") from exc
    if not recorded:
        logger.error(
            "maintenance alert claim was taken over while sending; it may go out twice",
            extra={"window_id": window.window_id, "alert_id": alert_id, "publish_id": result.publish_id},
        )
        count("MaintenanceAlertFailures")
    due = _due_at(window, int(key.removesuffix("m"))) if key != CANCELLATION_KEY else sent_at
    late = sent_at - due
    logger.info(
        "maintenance alert sent late" if late > LATE_AFTER_SECONDS else "maintenance alert sent",
        extra={
            "window_id": window.window_id,
            "alert_id": alert_id,
            "publish_id": result.publish_id,
            "late_seconds": late,
        },
    )
    count("MaintenanceAlertsSent")
    return True
