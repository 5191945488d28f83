"""Maintenance alerts, pure logic: when each alert is due, what a run does, what the alert carries."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from toolboxai_realtime import catalog
from toolboxai_realtime.channels import DASHBOARD_UPDATES
from toolboxai_realtime.maintenance.models import MaintenanceWindowRequest
from toolboxai_realtime.maintenance.records import (
    CANCELLATION,
    AlertRecord,
    LeadAlert,
    WindowRecord,
    parse_alert_key,
)
from toolboxai_realtime.maintenance.schedule import (
    LEASE_SECONDS,
    START_ALERT_GRACE_SECONDS,
    Step,
    alert_data,
    cancellation_data,
    payload,
    plan,
)
from toolboxai_realtime.maintenance.views import view

START = 1_800_000_000  # 2027-01-15T08:00:00Z
END = START + 7200
MIN = 60


def window(**overrides) -> WindowRecord:
    fields = {
        "window_id": "mw_" + "0" * 32,
        "starts_at": START,
        "ends_at": END,
        "title": "Database upgrade",
        "message": "ToolBoxAI is read-only for two hours.",
        "lead_minutes": (1440, 60, 15, 0),
        "created_at": START - 3 * 86400,
        "created_by": "ops",
        "expires_at": END + 30 * 86400,
        "action_url": "/status",
    }
    fields.update(overrides)
    return WindowRecord(**fields)


def sent(at: int) -> AlertRecord:
    return AlertRecord(state="sent", at=at, sent_at=at, publish_id="p")


# ------------------------------------------------------------------------------------------- plan


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (START - 1440 * MIN - 1, []),
        (START - 1440 * MIN, [Step("send", LeadAlert(1440))]),
        (
            START - 60 * MIN,
            [Step("send", LeadAlert(60)), Step("supersede", LeadAlert(1440), "superseded_by_60m")],
        ),
        (
            START - 1,
            [
                Step("send", LeadAlert(15)),
                Step("supersede", LeadAlert(1440), "superseded_by_15m"),
                Step("supersede", LeadAlert(60), "superseded_by_15m"),
            ],
        ),
    ],
)
def test_the_latest_due_alert_is_sent_and_earlier_unsent_ones_are_superseded(now, expected):
    assert plan(window(), now) == expected


def test_alerts_that_went_out_or_were_settled_are_left_alone():
    w = window(
        alerts={
            "1440m": sent(START - 1440 * MIN),
            "60m": AlertRecord(state="superseded", at=START - 30 * MIN, reason="superseded_by_15m"),
            "15m": sent(START - 15 * MIN),
        }
    )
    assert plan(w, START - 5 * MIN) == []
    assert plan(w, START) == [Step("send", LeadAlert(0))]


def test_lead_alerts_whose_moment_passed_are_skipped_once_the_window_started():
    assert plan(window(), START + 3 * MIN) == [
        Step("send", LeadAlert(0)),
        Step("skip", LeadAlert(1440), "window_started"),
        Step("skip", LeadAlert(60), "window_started"),
        Step("skip", LeadAlert(15), "window_started"),
    ]


def test_the_start_alert_is_due_at_the_start_and_until_its_grace_ends():
    w = window(alerts={k: sent(0) for k in ("1440m", "60m", "15m")})
    assert plan(w, START - 1) == []
    assert plan(w, START) == [Step("send", LeadAlert(0))]
    assert plan(w, START + START_ALERT_GRACE_SECONDS - 1) == [Step("send", LeadAlert(0))]
    assert plan(w, START + START_ALERT_GRACE_SECONDS) == [Step("skip", LeadAlert(0), "start_grace_passed")]


def test_the_start_alert_grace_never_outlasts_a_short_window():
    w = window(ends_at=START + 5 * MIN, lead_minutes=(0,))
    assert plan(w, START + 4 * MIN) == [Step("send", LeadAlert(0))]
    assert plan(w, START + 5 * MIN) == [Step("skip", LeadAlert(0), "start_grace_passed")]


def test_an_alert_in_flight_is_not_touched_until_its_lease_runs_out():
    claimed = AlertRecord(
        state="sending", at=START - 15 * MIN, token="t", lease_until=START - 15 * MIN + LEASE_SECONDS
    )
    w = window(alerts={"1440m": sent(0), "60m": sent(0), "15m": claimed})
    assert plan(w, START - 14 * MIN) == []
    assert plan(w, START - 15 * MIN + LEASE_SECONDS + 1) == [Step("send", LeadAlert(15))]


def test_an_alert_in_flight_still_supersedes_earlier_unsent_ones():
    claimed = AlertRecord(state="sending", at=START - 60 * MIN, token="t", lease_until=START - 58 * MIN)
    w = window(alerts={"60m": claimed})
    assert plan(w, START - 59 * MIN) == [Step("supersede", LeadAlert(1440), "superseded_by_60m")]


def test_a_failed_alert_is_sent_again():
    failed = AlertRecord(state="failed", at=START - 60 * MIN, error="pusher_unreachable")
    w = window(alerts={"1440m": sent(0), "60m": failed})
    assert plan(w, START - 59 * MIN) == [Step("send", LeadAlert(60))]


def test_custom_lead_times_are_honoured():
    w = window(lead_minutes=(120, 5))
    assert plan(w, START - 121 * MIN) == []
    assert plan(w, START - 120 * MIN) == [Step("send", LeadAlert(120))]
    assert plan(
        w,
        START - 5 * MIN,
    ) == [Step("send", LeadAlert(5)), Step("supersede", LeadAlert(120), "superseded_by_5m")]
    assert plan(w, START) == [
        Step("skip", LeadAlert(120), "window_started"),
        Step("skip", LeadAlert(5), "window_started"),
    ]


# ---------------------------------------------------------------------------------- cancellation


def test_a_cancelled_window_without_alerts_sent_needs_no_notice():
    w = window(status="cancelled", alerts={"1440m": AlertRecord(state="failed", at=0, error="x")})
    assert plan(w, START - 30 * MIN) == []
    assert view(w, START - 30 * MIN).cancellation_alert.state == "not_needed"


def test_a_cancelled_window_whose_alert_went_out_needs_the_notice_until_it_is_sent():
    w = window(status="cancelled", alerts={"1440m": sent(START - 1440 * MIN)})
    assert plan(w, START - 30 * MIN) == [Step("send", CANCELLATION)]
    done = window(status="cancelled", alerts={"1440m": sent(0), str(CANCELLATION): sent(START - 29 * MIN)})
    assert plan(done, START - 28 * MIN) == []


def test_a_cancelled_window_with_an_alert_in_flight_waits_for_it():
    claimed = AlertRecord(state="sending", at=START - 60 * MIN, token="t", lease_until=START - 58 * MIN)
    w = window(status="cancelled", alerts={"60m": claimed})
    assert plan(w, START - 59 * MIN) == []
    assert view(w, START - 59 * MIN).cancellation_alert.state == "pending"
    # Its claimant died: the alert may have gone out, so the notice goes out.
    assert plan(w, START - 57 * MIN) == [Step("send", CANCELLATION)]


def test_a_cancelled_window_sends_no_regular_alert():
    w = window(status="cancelled")
    assert plan(w, START) == []
    assert [a.state for a in view(w, START).alerts] == ["cancelled"] * 4


# ------------------------------------------------------------------------------------------ data


def test_alert_data_is_the_catalogs_maintenance_alert_with_a_stable_alert_id():
    data = alert_data(window(), LeadAlert(15), START - 15 * MIN)
    assert catalog.validate_event(DASHBOARD_UPDATES, "maintenance_alert", data) == data
    assert data["type"] == "warning"
    assert data["title"] == "Database upgrade"
    assert data["message"] == "ToolBoxAI is read-only for two hours."
    assert data["timestamp"] == "2027-01-15T07:45:00Z"
    assert data["expires_at"] == "2027-01-15T10:00:00Z"
    assert data["action_url"] == "/status"
    assert data["alert_id"] == "mw_" + "0" * 32 + ":15m"
    assert data["minutes_before_start"] == 15


def test_alert_data_without_action_url_leaves_it_out():
    assert "action_url" not in alert_data(window(action_url=None), LeadAlert(0), START)


def test_cancellation_data_is_an_info_maintenance_alert():
    data = cancellation_data(window(), START - 60 * MIN)
    assert catalog.validate_event(DASHBOARD_UPDATES, "maintenance_alert", data) == data
    assert data["type"] == "info"
    assert data["title"] == "Cancelled: Database upgrade"
    assert data["cancelled"] is True
    assert data["alert_id"].endswith(":cancelled")


# -------------------------------------------------------------------------------------- the key


@pytest.mark.parametrize(
    ("text", "key"), [("1440m", LeadAlert(1440)), ("0m", LeadAlert(0)), ("cancelled", CANCELLATION)]
)
def test_an_alert_key_reads_back_from_its_stored_spelling(text, key):
    assert parse_alert_key(text) == key
    assert str(key) == text


@pytest.mark.parametrize("text", ["60", "m", "-1m", "01m", "1.5m", " 60m", "60M", "cancel", "1234567m", ""])
def test_an_alert_key_refuses_other_spellings(text):
    with pytest.raises(ValueError, match="not an alert key"):
        parse_alert_key(text)


def test_a_lead_time_is_never_negative():
    with pytest.raises(ValueError, match="zero or more"):
        LeadAlert(-1)


def test_the_payload_of_a_key_is_its_alert_or_the_cancellation_notice():
    assert payload(window(), LeadAlert(60), START) == alert_data(window(), LeadAlert(60), START)
    assert payload(window(), CANCELLATION, START) == cancellation_data(window(), START)


def test_records_are_read_by_typed_key():
    w = window(alerts={"60m": sent(1), "cancelled": sent(2)})
    assert w.alert(LeadAlert(60)) == sent(1)
    assert w.alert(CANCELLATION) == sent(2)
    assert w.alert(LeadAlert(15)) is None
    assert w.leads() == [LeadAlert(1440), LeadAlert(60), LeadAlert(15), LeadAlert(0)]


# ------------------------------------------------------------------------------------ the request


def request(**overrides):
    body = {
        "starts_at": "2027-01-15T08:00:00Z",
        "ends_at": "2027-01-15T10:00:00+00:00",
        "title": "Database upgrade",
        "message": "Read-only for two hours.",
    }
    body.update(overrides)
    return MaintenanceWindowRequest.model_validate(body)


def test_request_defaults_to_a_day_an_hour_a_quarter_and_the_start():
    req = request()
    assert req.lead_minutes == [1440, 60, 15, 0]
    assert req.starts_at == datetime(2027, 1, 15, 8, tzinfo=UTC)
    assert req.action_url is None


def test_request_lead_times_are_sorted_latest_last():
    assert request(lead_minutes=[0, 30, 120]).lead_minutes == [120, 30, 0]


@pytest.mark.parametrize(
    ("overrides", "error_type"),
    [
        ({"ends_at": "2027-01-15T08:00:00Z"}, "ends_before_start"),
        ({"ends_at": "2027-01-15T07:00:00Z"}, "ends_before_start"),
        ({"ends_at": "2027-01-22T08:00:01Z"}, "window_too_long"),
        ({"starts_at": "2027-01-15T08:00:00"}, "datetime_format"),
        ({"starts_at": 1800000000}, "datetime_format"),
        ({"title": ""}, "string_too_short"),
        ({"title": "x" * 181}, "string_too_long"),
        ({"title": "   "}, "string_pattern_mismatch"),
        ({"message": "x" * 2001}, "string_too_long"),
        ({"action_url": "javascript:alert(1)"}, "string_pattern_mismatch"),
        ({"lead_minutes": [60, 60]}, "unique_items"),
        ({"lead_minutes": [-1]}, "greater_than_equal"),
        ({"lead_minutes": [7 * 1440 + 1]}, "less_than_equal"),
        ({"lead_minutes": ["15"]}, "int_type"),
        ({"lead_minutes": []}, "too_short"),
        ({"lead_minutes": list(range(9))}, "too_long"),
        ({"channel": "private-user-1"}, "extra_forbidden"),
    ],
)
def test_request_refuses_bad_windows(overrides, error_type):
    with pytest.raises(ValidationError) as info:
        request(**overrides)
    assert error_type in {err["type"] for err in info.value.errors()}
