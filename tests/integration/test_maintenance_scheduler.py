"""The scheduled run under a controlled clock: every alert once, whatever overlaps, fails or crashes."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
import requests
import responses
from urllib3.exceptions import MaxRetryError, NewConnectionError

from tests.conftest import gateway, load_event, reset_caches
from toolboxai_realtime import history, maintenance
from toolboxai_realtime.identity import Principal
from toolboxai_realtime.maintenance import (
    LEASE_SECONDS,
    MaintenanceAlertFailed,
    MaintenanceWindowRequest,
    send_due_alerts,
)
from toolboxai_realtime.maintenance import run as maintenance_run
from toolboxai_realtime.stores import maintenance as store

EVENTS_URL = "http://127.0.0.1:6001/apps/1001/events"
OPS = Principal(user_id="ops", role="admin")
MIN = 60
T0 = 1_900_000_000  # 2030-03-17T17:46:40Z: the controlled clock starts here


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def at(self, when: float) -> Clock:
        self.now = when
        return self


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def create(clock: Clock, start: int, length: int = 7200, **extra):
    body = {
        "starts_at": iso(start),
        "ends_at": iso(start + length),
        "title": "Database upgrade",
        "message": "ToolBoxAI is read-only for two hours.",
        "action_url": "/status",
        **extra,
    }
    return maintenance.create_window(MaintenanceWindowRequest.model_validate(body), OPS, clock=clock)


class Pusher:
    """Pusher's HTTP API, mocked; ``sent`` is the data of every event it accepted."""

    def __init__(self, mock: responses.RequestsMock) -> None:
        self.mock = mock

    def sent(self) -> list[dict]:
        return [
            json.loads(json.loads(call.request.body)["data"])
            for call in self.mock.calls
            if call.response is not None and call.response.status_code == 200
        ]

    def alert_ids(self) -> list[str]:
        return [data["alert_id"] for data in self.sent()]


@pytest.fixture
def pusher():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(EVENTS_URL, json={})
        yield Pusher(mock)


@pytest.fixture
def failures(monkeypatch):
    """The MaintenanceAlertFailures metrics the run emits."""
    seen: list[str] = []
    real = maintenance_run.count

    def count(name, *args, **kwargs):
        if name == "MaintenanceAlertFailures":
            seen.append(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(maintenance_run, "count", count)
    return seen


def logged(caplog, prefix: str) -> list:
    """The log records whose message starts with ``prefix`` (their ``extra`` fields are attributes)."""
    return [record for record in caplog.records if str(record.msg).startswith(prefix)]


# ------------------------------------------------------------------------------------- lead times


def test_every_lead_time_fires_once_at_its_moment(aws_tables, pusher):
    clock = Clock()
    start = T0 + 2 * 86400
    window = create(clock, start)
    moments = [start - lead * MIN for lead in (1440, 60, 15, 0)]
    # A run every minute around each moment, and every half hour in between: like the real schedule,
    # without 3,000 runs.
    runs = sorted(
        {t for moment in moments for t in range(moment - 3 * MIN, moment + 4 * MIN, MIN)}
        | set(range(T0, start + 3 * 3600, 1800))
    )
    for t in runs:
        send_due_alerts(clock=clock.at(t))

    sent = pusher.sent()
    assert [d["alert_id"] for d in sent] == [f"{window.id}:{k}" for k in ("1440m", "60m", "15m", "0m")]
    assert [d["timestamp"] for d in sent] == [iso(m) for m in moments]  # on time, to the minute
    for data in sent:
        assert data["type"] == "warning"
        assert (data["title"], data["message"]) == (
            "Database upgrade",
            "ToolBoxAI is read-only for two hours.",
        )
        assert data["action_url"] == "/status"
        assert data["expires_at"] == iso(start + 7200)
    assert [d["minutes_before_start"] for d in sent] == [1440, 60, 15, 0]
    final = maintenance.get_window(window.id, clock=clock)
    assert [a.state for a in final.alerts] == ["sent"] * 4
    assert final.alerts_sent == 4
    assert final.status == "finished"


def test_alerts_go_to_dashboard_updates_as_maintenance_alert(aws_tables, pusher):
    clock = Clock()
    create(clock, T0 + 10 * MIN, lead_minutes=[15])
    send_due_alerts(clock=clock)
    (call,) = pusher.mock.calls
    body = json.loads(call.request.body)
    assert body["name"] == "maintenance_alert"
    assert body["channels"] == ["dashboard-updates"]


def test_a_run_with_nothing_due_sends_nothing(aws_tables, pusher):
    clock = Clock()
    create(clock, T0 + 3 * 86400)
    report = send_due_alerts(clock=clock)
    assert report.sent == []
    assert report.windows == 0  # more than a week of lead time away: not even looked at
    assert pusher.sent() == []


# ------------------------------------------------------------------------------------ concurrency


def test_concurrent_runs_send_each_alert_once(served_tables, pusher):
    # Against the moto server (it serialises requests as DynamoDB serialises writes to an item);
    # moto in-process does not lock conditional writes between threads.
    base = T0 + 40 * 86400  # clear of any other test's windows on the shared server
    clock = Clock(base)
    starts = [base + 2 * 86400 + i * 600 for i in range(3)]
    windows = [create(clock, start) for start in starts]
    moments = sorted({start - lead * MIN for start in starts for lead in (1440, 60, 15, 0)})

    def runs_at(t: int, n: int = 8) -> None:
        barrier = threading.Barrier(n)

        def run(_: int) -> None:
            barrier.wait()
            send_due_alerts(clock=Clock(t))

        with ThreadPoolExecutor(max_workers=n) as pool:
            list(pool.map(run, range(n)))

    for moment in moments:
        runs_at(moment)
    runs_at(moments[-1] + MIN)

    ids = pusher.alert_ids()
    expected = {f"{w.id}:{k}" for w in windows for k in ("1440m", "60m", "15m", "0m")}
    assert sorted(ids) == sorted(expected)  # all twelve, none twice


# ------------------------------------------------------------------------------------------ downtime


def test_a_run_after_downtime_sends_the_missed_alert_once_late(aws_tables, pusher):
    clock = Clock()
    start = T0 + 2 * 86400
    window = create(clock, start)
    send_due_alerts(clock=clock.at(start - 1441 * MIN))  # last run before the outage
    assert pusher.sent() == []

    report = send_due_alerts(clock=clock.at(start - 30 * MIN))  # back up: 24 h and 1 h moments passed
    assert report.sent == [f"{window.id}:60m"]
    assert report.superseded == [f"{window.id}:1440m"]
    send_due_alerts(clock=clock.at(start - 29 * MIN))
    send_due_alerts(clock=clock.at(start - 28 * MIN))
    assert pusher.alert_ids() == [f"{window.id}:60m"]
    assert pusher.sent()[0]["timestamp"] == iso(start - 30 * MIN)
    # Maintenance alerts carry an event id and are in dashboard-updates' history (the banner in force).
    alert_id = pusher.sent()[0]["event_id"]
    kept = history.read("dashboard-updates")
    assert [(e.event_id, e.data["alert_id"]) for e in kept.events] == [(alert_id, f"{window.id}:60m")]

    send_due_alerts(clock=clock.at(start - 15 * MIN))
    assert pusher.alert_ids() == [f"{window.id}:60m", f"{window.id}:15m"]


def test_downtime_past_the_start_skips_the_lead_alerts_with_a_log_line(aws_tables, pusher, caplog):
    clock = Clock()
    start = T0 + 2 * 86400
    window = create(clock, start)

    report = send_due_alerts(clock=clock.at(start + 3 * MIN))
    assert report.sent == [f"{window.id}:0m"]  # the start alert is still within its grace
    assert sorted(report.skipped) == sorted(f"{window.id}:{k}" for k in ("1440m", "60m", "15m"))
    skipped = logged(caplog, "maintenance alert skipped")
    assert sorted(record.alert_id for record in skipped) == sorted(report.skipped)
    assert {record.levelname for record in skipped} == {"WARNING"}
    assert {record.reason for record in skipped} == {"window_started"}

    send_due_alerts(clock=clock.at(start + 4 * MIN))
    assert pusher.alert_ids() == [f"{window.id}:0m"]
    assert len(logged(caplog, "maintenance alert skipped")) == 3  # logged once, not every minute


def test_the_start_alert_is_skipped_once_its_grace_has_passed(aws_tables, pusher):
    clock = Clock()
    start = T0 + 86400
    window = create(clock, start)
    report = send_due_alerts(clock=clock.at(start + maintenance.START_ALERT_GRACE_SECONDS))
    assert report.sent == []
    assert f"{window.id}:0m" in report.skipped
    assert pusher.sent() == []
    states = [a.state for a in maintenance.get_window(window.id, clock=clock).alerts]
    assert states == ["skipped"] * 4


# ---------------------------------------------------------------------------------------- failures


def test_a_pusher_failure_fails_the_run_and_the_next_run_sends_the_alert_exactly_once(
    aws_tables, failures, caplog
):
    clock = Clock()
    start = T0 + 86400
    window = create(clock, start, lead_minutes=[15])
    with responses.RequestsMock() as mock:
        refused = NewConnectionError(None, "[Errno 111] Connection refused")  # type: ignore[arg-type]
        mock.post(EVENTS_URL, body=requests.ConnectionError(MaxRetryError(None, EVENTS_URL, refused)))
        with pytest.raises(MaintenanceAlertFailed):
            send_due_alerts(clock=clock.at(start - 15 * MIN))
    assert failures == ["MaintenanceAlertFailures"]
    (error,) = logged(caplog, "maintenance alert not sent")
    assert (error.levelname, error.alert_id, error.code) == (
        "ERROR",
        f"{window.id}:15m",
        "pusher_unreachable",
    )
    (alert,) = maintenance.get_window(window.id, clock=clock).alerts
    assert (alert.state, alert.error) == ("failed", "pusher_unreachable")

    with responses.RequestsMock() as mock:
        mock.post(EVENTS_URL, json={})
        send_due_alerts(clock=clock.at(start - 14 * MIN))
        send_due_alerts(clock=clock.at(start - 13 * MIN))
        send_due_alerts(clock=clock.at(start - 12 * MIN))
        assert len(mock.calls) == 1
        assert json.loads(json.loads(mock.calls[0].request.body)["data"])["alert_id"] == f"{window.id}:15m"
    (alert,) = maintenance.get_window(window.id, clock=clock).alerts
    assert alert.state == "sent"


def test_a_pusher_error_answer_is_retried_too(aws_tables, failures):
    clock = Clock()
    start = T0 + 86400
    window = create(clock, start, lead_minutes=[60])
    with responses.RequestsMock() as mock:
        mock.post(EVENTS_URL, status=500, body="boom")
        mock.post(EVENTS_URL, json={})
        with pytest.raises(MaintenanceAlertFailed):
            send_due_alerts(clock=clock.at(start - 60 * MIN))
        assert send_due_alerts(clock=clock.at(start - 59 * MIN)).sent == [f"{window.id}:60m"]
        assert send_due_alerts(clock=clock.at(start - 58 * MIN)).sent == []
        assert [c.response.status_code for c in mock.calls] == [500, 200]
    assert failures == ["MaintenanceAlertFailures"]


def test_when_pusher_is_down_the_run_stops_after_the_first_failure(aws_tables, failures):
    clock = Clock()
    first = create(clock, T0 + 86400, lead_minutes=[15])
    second = create(clock, T0 + 86400 + 60, lead_minutes=[15])
    with responses.RequestsMock() as mock:
        mock.post(EVENTS_URL, body=requests.ConnectionError("refused"))
        with pytest.raises(MaintenanceAlertFailed):
            send_due_alerts(clock=clock.at(T0 + 86400 - 14 * MIN))
        assert len(mock.calls) == 1  # one failed attempt, not one per alert
    with responses.RequestsMock() as mock:
        mock.post(EVENTS_URL, json={})
        report = send_due_alerts(clock=clock.at(T0 + 86400 - 13 * MIN))
    assert sorted(report.sent) == sorted([f"{first.id}:15m", f"{second.id}:15m"])


def test_a_run_that_died_holding_a_claim_blocks_the_alert_only_until_its_lease_ends(aws_tables, pusher):
    clock = Clock()
    start = T0 + 86400
    window = create(clock, start, lead_minutes=[15])
    due = start - 15 * MIN
    # A run claims the alert and is killed before it sends anything.
    assert store.claim(
        window.id, "15m", token="dead", now=due, lease_until=due + LEASE_SECONDS, status="scheduled"
    )
    assert send_due_alerts(clock=clock.at(due + MIN)).sent == []
    assert maintenance.get_window(window.id, clock=clock).alerts[0].state == "sending"
    assert send_due_alerts(clock=clock.at(due + LEASE_SECONDS + 1)).sent == [f"{window.id}:15m"]
    send_due_alerts(clock=clock.at(due + LEASE_SECONDS + MIN))
    assert pusher.alert_ids() == [f"{window.id}:15m"]


def test_only_the_current_claim_holder_can_record_the_alert(aws_tables, pusher):
    clock = Clock()
    start = T0 + 86400
    window = create(clock, start, lead_minutes=[15])
    due = start - 15 * MIN
    assert store.claim(window.id, "15m", token="mine", now=due, lease_until=due + 1, status="scheduled")
    assert store.claim(
        window.id, "15m", token="theirs", now=due + 2, lease_until=due + 200, status="scheduled"
    )
    assert not store.mark_sent(window.id, "15m", token="mine", at=due + 3, publish_id="p")
    assert store.mark_sent(window.id, "15m", token="theirs", at=due + 3, publish_id="p")
    assert send_due_alerts(clock=clock.at(due + MIN)).sent == []
    assert pusher.sent() == []


def test_the_scheduled_function_raises_when_pusher_is_unreachable(aws_tables, monkeypatch):
    now = time.time()  # the handler runs on the real clock: a window whose alert is due now
    window = maintenance.create_window(
        MaintenanceWindowRequest.model_validate(
            {
                "starts_at": iso(now + 600),
                "ends_at": iso(now + 4200),
                "title": "Database upgrade",
                "message": "Read-only for an hour.",
                "lead_minutes": [15],
            }
        ),
        OPS,
    )
    monkeypatch.setenv("PUSHER_PORT", "9")  # nothing listens there
    reset_caches()
    with pytest.raises(MaintenanceAlertFailed):
        gateway().invoke("MaintenanceSchedulerFunction", load_event("maintenance_scheduled.json"))
    assert maintenance.get_window(window.id).alerts[0].state == "failed"

    monkeypatch.setenv("PUSHER_PORT", "6001")
    reset_caches()
    with responses.RequestsMock() as mock:
        mock.post(EVENTS_URL, json={})
        report = gateway().invoke("MaintenanceSchedulerFunction", load_event("maintenance_scheduled.json"))
    assert report["sent"] == [f"{window.id}:15m"]


# ------------------------------------------------------------------------------------- cancellation


def test_a_window_cancelled_before_its_alerts_never_alerts(aws_tables, pusher):
    clock = Clock()
    start = T0 + 2 * 86400
    window = create(clock, start)
    maintenance.cancel_window(window.id, OPS, clock=clock)
    for lead in (1440, 60, 15, 0):  # a run at, and a minute after, every moment
        for t in (start - lead * MIN, start - lead * MIN + MIN):
            send_due_alerts(clock=clock.at(t))
    assert pusher.sent() == []
    final = maintenance.get_window(window.id, clock=clock)
    assert final.cancellation_alert.state == "not_needed"


def test_a_window_cancelled_while_an_alert_is_in_flight_gets_its_notice_once_the_alert_is_recorded(
    aws_tables, pusher
):
    clock = Clock()
    start = T0 + 86400
    window = create(clock, start, lead_minutes=[60, 15])
    due = start - 60 * MIN
    assert store.claim(
        window.id, "60m", token="t", now=due, lease_until=due + LEASE_SECONDS, status="scheduled"
    )

    cancelled = maintenance.cancel_window(window.id, OPS, clock=clock.at(due + 1))
    assert cancelled.cancellation_alert.state == "pending"
    assert pusher.sent() == []

    # The run that held the claim finishes sending; its alert is recorded although the window is cancelled.
    assert store.mark_sent(window.id, "60m", token="t", at=due + 2, publish_id="p")
    report = send_due_alerts(clock=clock.at(due + MIN))
    assert report.sent == [f"{window.id}:cancelled"]
    for t in (due + 2 * MIN, start - 15 * MIN, start - 14 * MIN, start, start + MIN):
        send_due_alerts(clock=clock.at(t))
    assert pusher.alert_ids() == [f"{window.id}:cancelled"]  # and never the 15-minute alert


def test_cancellation_and_runs_racing_send_the_notice_once(served_tables, pusher):
    base = T0 + 80 * 86400
    clock = Clock(base)
    start = base + 86400
    window = create(clock, start, lead_minutes=[60])
    send_due_alerts(clock=clock.at(start - 60 * MIN))
    assert pusher.alert_ids() == [f"{window.id}:60m"]

    barrier = threading.Barrier(6)

    def cancel(_: int) -> None:
        barrier.wait()
        maintenance.cancel_window(window.id, OPS, clock=Clock(start - 59 * MIN))

    def run(_: int) -> None:
        barrier.wait()
        send_due_alerts(clock=Clock(start - 59 * MIN))

    with ThreadPoolExecutor(max_workers=6) as pool:
        futures = [pool.submit(cancel, i) for i in range(3)] + [pool.submit(run, i) for i in range(3)]
        for future in futures:
            future.result()
    send_due_alerts(clock=clock.at(start - 58 * MIN))
    assert pusher.alert_ids() == [f"{window.id}:60m", f"{window.id}:cancelled"]
