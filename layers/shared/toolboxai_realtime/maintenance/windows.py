"""The window service: admins create, read, list and cancel maintenance windows through the store."""

from __future__ import annotations

import contextlib
import re
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Final

from .. import catalog
from ..channels import DASHBOARD_UPDATES
from ..errors import Conflict, Forbidden, NotFound, ValidationFailed
from ..identity import Principal
from ..observability import count, logger, security_event
from ..publisher import Publisher
from ..stores import maintenance as store
from .models import MaintenanceWindowList, MaintenanceWindowRequest, MaintenanceWindowView
from .records import CANCELLATION, AlertKey, WindowRecord
from .run import MaintenanceAlertFailed, RunReport, carry_out, default_publisher
from .schedule import EVENT, iso, payload
from .views import view

__all__ = [
    "MAX_HORIZON_SECONDS",
    "RECENT_SECONDS",
    "RETENTION_SECONDS",
    "cancel_window",
    "create_window",
    "get_window",
    "list_windows",
    "require_admin",
]

MAX_HORIZON_SECONDS: Final = 366 * 86400
"""A window starts at most this far ahead."""
RECENT_SECONDS: Final = 7 * 86400
"""``list_windows`` shows windows that ended at most this long ago."""
RETENTION_SECONDS: Final = 30 * 86400
"""Windows expire (TTL) this long after their end."""

_WINDOW_ID = re.compile(r"^mw_[0-9a-f]{32}$")


def require_admin(principal: Principal) -> None:
    """Accept an admin (the routes take it as ``Depends(http.require(require_admin))``).

    Raises ``Forbidden`` (403, code ``admin_required``), recorded as a ``maintenance_denied`` security
    event, for a caller without the admin role.
    """
    if not principal.is_admin:
        security_event("maintenance_denied", reason="not_admin", user_id=principal.user_id)
        raise Forbidden("Managing maintenance windows needs the admin role.", code="admin_required")


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
    keys: list[AlertKey] = [*window.leads(), CANCELLATION]
    for key in keys:
        catalog.check_size(catalog.validate_event(DASHBOARD_UPDATES, EVENT, payload(window, key, ends_at)))
    store.create(window)
    logger.info(
        "maintenance window created",
        extra={
            "window_id": window.window_id,
            "starts_at": iso(starts_at),
            "ends_at": iso(ends_at),
            "lead_minutes": list(window.lead_minutes),
            "user_id": principal.user_id,
        },
    )
    count("MaintenanceWindowsCreated")
    return view(window, now)


def _epoch(value: datetime) -> int:
    return int(value.timestamp())


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
        carry_out(window, now, publisher or default_publisher(), report, clock)
    if report.sent or report.failed or report.skipped:
        window = _find(window_id)  # the notice's record, for the answer
    return view(window, int(clock()))
