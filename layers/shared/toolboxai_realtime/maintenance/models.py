"""The maintenance API's models: the request that creates a window and the views of windows and alerts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from ..catalog import LinkUrl, Text, Timestamp
from .schedule import DEFAULT_LEAD_MINUTES

__all__ = [
    "MAX_DURATION_SECONDS",
    "MAX_LEAD_MINUTES",
    "MAX_LEAD_TIMES",
    "MAX_TITLE_LENGTH",
    "AlertStateName",
    "AlertView",
    "CancellationAlertView",
    "MaintenanceWindowList",
    "MaintenanceWindowRequest",
    "MaintenanceWindowView",
    "WindowStatusName",
]

MAX_LEAD_MINUTES = 7 * 1440
MAX_LEAD_TIMES = 8
MAX_DURATION_SECONDS = 7 * 86400
MAX_TITLE_LENGTH = 180  # the catalog allows 200: room for the cancellation notice's "Cancelled: " prefix


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
WindowStatusName = Literal["upcoming", "in_progress", "finished", "cancelled"]


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
    status: WindowStatusName
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
