"""What is stored about a maintenance window and its alerts, and the typed key of an alert.

Pure (stdlib only): the store (``stores.maintenance``) reads and writes these records, the schedule
decides from them, and neither of those needs the other to be importable.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

__all__ = [
    "CANCELLATION",
    "AlertKey",
    "AlertRecord",
    "AlertState",
    "CancellationNotice",
    "LeadAlert",
    "WindowRecord",
    "WindowStatus",
    "parse_alert_key",
]

WindowStatus = Literal["scheduled", "cancelled"]
AlertState = Literal["sending", "sent", "failed", "skipped", "superseded"]


@dataclass(frozen=True, order=True, slots=True)
class LeadAlert:
    """The alert ``minutes`` minutes before a window starts (``0`` is the start alert). Spelled ``"60m"``."""

    minutes: int

    def __post_init__(self) -> None:
        if self.minutes < 0:
            raise ValueError("a lead time is zero or more minutes before the start")

    def __str__(self) -> str:
        return f"{self.minutes}m"


@dataclass(frozen=True, slots=True)
class CancellationNotice:
    """The notice that a window whose alerts went out is cancelled. Spelled ``"cancelled"``."""

    def __str__(self) -> str:
        return "cancelled"


AlertKey = LeadAlert | CancellationNotice
"""Which alert of a window. ``str(key)`` is its stored spelling: the key of ``WindowRecord.alerts``, the
suffix of ``alert_id`` (``<window id>:<key>``); ``parse_alert_key`` reads it back."""

CANCELLATION: Final = CancellationNotice()

_LEAD = re.compile(r"(0|[1-9][0-9]{0,5})m")


def parse_alert_key(text: str) -> AlertKey:
    """The key spelled ``text`` (``"1440m"``, ``"0m"``, ``"cancelled"``). Raises ``ValueError`` otherwise."""
    if text == str(CANCELLATION):
        return CANCELLATION
    if (match := _LEAD.fullmatch(text)) is None:
        raise ValueError(f"not an alert key: {text!r}")
    return LeadAlert(int(match.group(1)))


@dataclass(frozen=True)
class AlertRecord:
    """What is recorded about one alert of a window (times in Unix seconds)."""

    state: AlertState
    at: int
    token: str | None = None
    lease_until: int | None = None
    sent_at: int | None = None
    publish_id: str | None = None
    error: str | None = None
    reason: str | None = None

    def claimable(self, now: int) -> bool:
        """Whether a run may claim it at ``now`` (the same rule as the store's condition)."""
        if self.state == "failed":
            return True
        return self.state == "sending" and (self.lease_until or 0) < now

    def in_flight(self, now: int) -> bool:
        """Claimed by a run whose lease has not run out: that run is sending it."""
        return self.state == "sending" and (self.lease_until or 0) >= now


@dataclass(frozen=True)
class WindowRecord:
    """A maintenance window as stored (times in Unix seconds).

    ``alerts`` maps an alert key's stored spelling (``str(key)``) to its record; read it with ``alert``.
    """

    window_id: str
    starts_at: int
    ends_at: int
    title: str
    message: str
    lead_minutes: tuple[int, ...]
    created_at: int
    created_by: str
    expires_at: int
    status: WindowStatus = "scheduled"
    action_url: str | None = None
    cancelled_at: int | None = None
    cancelled_by: str | None = None
    alerts: Mapping[str, AlertRecord] = field(default_factory=dict)

    def alert(self, key: AlertKey) -> AlertRecord | None:
        """The record of alert ``key``, or ``None`` if nothing was recorded about it."""
        return self.alerts.get(str(key))

    def leads(self) -> list[LeadAlert]:
        """The window's lead alerts, the earliest (largest lead time) first."""
        return [LeadAlert(minutes) for minutes in sorted(self.lead_minutes, reverse=True)]
