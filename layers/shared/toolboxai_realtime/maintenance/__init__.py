"""Scheduled maintenance: windows that admins plan, and ``maintenance_alert`` events sent exactly once.

Admins create, list and cancel windows through the HTTP API (``windows``); every minute the scheduled
function sends each due alert of each window on ``dashboard-updates`` (``run``). The modules:

* ``records`` — what is stored about a window and its alerts, and the typed alert key (``LeadAlert``,
  ``CANCELLATION``), spelled ``"60m"`` / ``"cancelled"`` only where it is stored or shown;
* ``schedule`` — pure: which alert is due, what a run does about it (``plan``), the alerts' payloads;
* ``models`` and ``views`` — the API's request and views (pure);
* ``windows`` — the window service: create, get, list, cancel, through the store;
* ``run`` — the scheduler run: claim → send → record, returning its ``RunReport``.

How an alert is due and why claim → send → record with a lease sends it once: ``docs/maintenance.md``.

The names below are imported on first use (PEP 562), so that importing the pure modules
(``records``, ``schedule``, ``models``, ``views``) loads neither the stores nor any AWS library.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import (
        AlertView,
        CancellationAlertView,
        MaintenanceWindowList,
        MaintenanceWindowRequest,
        MaintenanceWindowView,
    )
    from .records import CANCELLATION, AlertKey, AlertRecord, LeadAlert, WindowRecord, parse_alert_key
    from .run import MaintenanceAlertFailed, RunReport, send_due_alerts
    from .schedule import (
        CHANNEL,
        DEFAULT_LEAD_MINUTES,
        EVENT,
        LEASE_SECONDS,
        START_ALERT_GRACE_SECONDS,
        Step,
        alert_data,
        cancellation_data,
        plan,
    )
    from .views import view
    from .windows import cancel_window, create_window, get_window, list_windows, require_admin

_EXPORTS: dict[str, tuple[str, ...]] = {
    "models": (
        "AlertView",
        "CancellationAlertView",
        "MaintenanceWindowList",
        "MaintenanceWindowRequest",
        "MaintenanceWindowView",
    ),
    "records": ("CANCELLATION", "AlertKey", "AlertRecord", "LeadAlert", "WindowRecord", "parse_alert_key"),
    "run": ("MaintenanceAlertFailed", "RunReport", "send_due_alerts"),
    "schedule": (
        "CHANNEL",
        "DEFAULT_LEAD_MINUTES",
        "EVENT",
        "LEASE_SECONDS",
        "START_ALERT_GRACE_SECONDS",
        "Step",
        "alert_data",
        "cancellation_data",
        "plan",
    ),
    "views": ("view",),
    "windows": ("cancel_window", "create_window", "get_window", "list_windows", "require_admin"),
}
_HOME = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = [
    "CANCELLATION",
    "CHANNEL",
    "DEFAULT_LEAD_MINUTES",
    "EVENT",
    "LEASE_SECONDS",
    "START_ALERT_GRACE_SECONDS",
    "AlertKey",
    "AlertRecord",
    "AlertView",
    "CancellationAlertView",
    "LeadAlert",
    "MaintenanceAlertFailed",
    "MaintenanceWindowList",
    "MaintenanceWindowRequest",
    "MaintenanceWindowView",
    "RunReport",
    "Step",
    "WindowRecord",
    "alert_data",
    "cancel_window",
    "cancellation_data",
    "create_window",
    "get_window",
    "list_windows",
    "parse_alert_key",
    "plan",
    "require_admin",
    "send_due_alerts",
    "view",
]


def __getattr__(name: str) -> object:
    """Import the module that defines ``name`` on first use. Raises ``AttributeError`` for other names."""
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
