"""The maintenance-window routes, in-process under moto: admin only, validated, listed, cancelled."""

from __future__ import annotations

import json
import time

import pytest
import responses

from local_stack.token import mint_dev_token
from tests.conftest import http_event, invoke, load_event, reset_caches
from toolboxai_realtime import maintenance
from toolboxai_realtime.identity import Principal
from toolboxai_realtime.maintenance import MaintenanceWindowRequest

EVENTS_URL = "http://127.0.0.1:6001/apps/1001/events"
OPS = Principal(user_id="ops", role="admin")


def iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def token(role: str = "admin", **kw) -> str:
    return mint_dev_token("ops" if role == "admin" else "12345", role=role, **kw)


def window_body(start_in: float = 3 * 3600, length: float = 7200, **extra) -> dict:
    now = time.time()
    return {
        "starts_at": iso(now + start_in),
        "ends_at": iso(now + start_in + length),
        "title": "Database upgrade",
        "message": "ToolBoxAI is read-only for two hours.",
        **extra,
    }


def call(method: str, path: str, *, body=None, tok: str | None = None, headers: dict | None = None):
    hdrs = dict(headers or {})
    if tok is not None:
        hdrs["authorization"] = f"Bearer {tok}"
    return invoke(http_event(method, path, body=body, headers=hdrs))


@pytest.fixture
def no_dynamodb(monkeypatch):
    """DynamoDB on a closed port: for requests that must be refused before any store access."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9")
    reset_caches()


@pytest.fixture
def pusher():
    """Pusher's HTTP API; ``pusher.sent`` is the data of every event it received."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(EVENTS_URL, json={})
        mock.sent = lambda: [json.loads(json.loads(c.request.body)["data"]) for c in mock.calls]
        yield mock


# ----------------------------------------------------------------------------------------- create


def test_an_admin_schedules_a_window_with_the_default_alerts(aws_tables):
    body = window_body(action_url="/status")
    status, headers, window = call("POST", "/realtime/maintenance", body=body, tok=token())
    assert status == 201, window
    assert headers["location"] == f"/realtime/maintenance/{window['id']}"
    assert window["status"] == "upcoming"
    assert (window["starts_at"], window["ends_at"]) == (body["starts_at"], body["ends_at"])
    assert window["title"] == "Database upgrade"
    assert window["action_url"] == "/status"
    assert window["created_by"] == "ops"
    assert [(a["minutes_before_start"], a["state"]) for a in window["alerts"]] == [
        (1440, "pending"),
        (60, "pending"),
        (15, "pending"),
        (0, "pending"),
    ]
    assert window["alerts_sent"] == 0
    assert "cancellation_alert" not in window


def test_the_sample_create_event_works_with_a_real_token_and_dates(aws_tables):
    event = load_event("maintenance_create.json")
    event["headers"]["authorization"] = f"Bearer {token()}"
    body = json.loads(event["body"])
    body.update(window_body(start_in=86400 * 2))
    event["body"] = json.dumps(body)
    status, _, window = invoke(event)
    assert status == 201, window
    assert window["lead_minutes"] == [1440, 60, 15, 0]


def test_lead_times_are_custom_and_listed_latest_last(aws_tables):
    status, _, window = call(
        "POST", "/realtime/maintenance", body=window_body(lead_minutes=[5, 120, 0]), tok=token()
    )
    assert status == 201
    assert window["lead_minutes"] == [120, 5, 0]


def test_no_token_is_401_with_www_authenticate(no_dynamodb):
    status, headers, body = call("POST", "/realtime/maintenance", body=window_body())
    assert status == 401
    assert body["code"] == "missing_token"
    assert headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "tok",
    [
        pytest.param(lambda: token("teacher"), id="teacher"),
        pytest.param(lambda: token("student"), id="student"),
        pytest.param(lambda: token("student", scopes=["realtime:trigger"]), id="trigger-scope"),
    ],
)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/realtime/maintenance"),
        ("GET", "/realtime/maintenance"),
        ("GET", "/realtime/maintenance/mw_" + "0" * 32),
        ("DELETE", "/realtime/maintenance/mw_" + "0" * 32),
    ],
)
def test_only_admins_manage_windows(no_dynamodb, tok, method, path):
    status, _, body = call(method, path, body=window_body() if method == "POST" else None, tok=tok())
    assert status == 403
    assert body["code"] == "admin_required"


def test_the_token_is_checked_before_the_body(no_dynamodb):
    status, _, body = call("POST", "/realtime/maintenance", body={"title": 5}, tok=token("student"))
    assert status == 403, body


@pytest.mark.parametrize(
    ("body", "code", "loc"),
    [
        (window_body(length=-60), "validation_error", ["ends_at"]),
        (window_body(length=0), "validation_error", ["ends_at"]),
        (window_body(length=8 * 86400), "validation_error", ["ends_at"]),
        (window_body(start_in=-60), "starts_in_past", ["starts_at"]),
        (window_body(start_in=-7200, length=3600), "starts_in_past", ["starts_at"]),
        (window_body(start_in=367 * 86400), "starts_too_far", ["starts_at"]),
        (window_body(title="x" * 181), "validation_error", ["title"]),
        (window_body(message=""), "validation_error", ["message"]),
        (window_body(action_url="javascript:alert(1)"), "validation_error", ["action_url"]),
        (window_body(lead_minutes=[15, 15]), "validation_error", ["lead_minutes"]),
        (window_body(lead_minutes=[20000]), "validation_error", ["lead_minutes", 0]),
        (window_body(channel="private-user-1"), "validation_error", ["channel"]),
        ({"title": "Upgrade", "message": "Soon"}, "validation_error", ["starts_at"]),
    ],
)
def test_invalid_windows_are_a_clear_422(no_dynamodb, body, code, loc):
    status, _, answer = call("POST", "/realtime/maintenance", body=body, tok=token())
    assert status == 422, answer
    assert answer["code"] == code
    assert loc in [detail["loc"] for detail in answer["details"]]


def test_alerts_too_large_for_pusher_are_refused_when_the_window_is_created(no_dynamodb):
    body = window_body(title="🛠" * 180, message="🛠" * 2000, action_url="https://example.com/" + "a" * 2000)
    status, _, answer = call("POST", "/realtime/maintenance", body=body, tok=token())
    assert status == 413
    assert answer["code"] == "event_data_too_large"


def test_a_body_that_is_not_json_is_415_and_malformed_json_400(no_dynamodb):
    status, _, body = call(
        "POST", "/realtime/maintenance", body="a=b", tok=token(), headers={"content-type": "text/plain"}
    )
    assert (status, body["code"]) == (415, "unsupported_media_type")
    status, _, body = call(
        "POST", "/realtime/maintenance", body="{", tok=token(), headers={"content-type": "application/json"}
    )
    assert (status, body["code"]) == (400, "malformed_json")


# ------------------------------------------------------------------------------------------- read


def test_the_list_shows_upcoming_and_recent_windows_with_the_alerts_that_went_out(aws_tables, pusher):
    now = time.time()
    ago = lambda seconds: lambda: now - seconds  # noqa: E731 - a clock stopped in the past
    req = MaintenanceWindowRequest.model_validate
    old = maintenance.create_window(
        req(window_body(start_in=-9 * 86400, length=3600)), OPS, clock=ago(10 * 86400)
    )
    recent = maintenance.create_window(
        req(window_body(start_in=-2 * 86400, length=3600)), OPS, clock=ago(3 * 86400)
    )
    maintenance.send_due_alerts(clock=ago(2 * 86400 + 14 * 60))  # the 15-minute alert of "recent"
    upcoming = maintenance.create_window(req(window_body(start_in=3600)), OPS)

    status, _, body = call("GET", "/realtime/maintenance", tok=token())
    assert status == 200
    listed = {w["id"]: w for w in body["windows"]}
    assert list(listed) == [recent.id, upcoming.id]  # by start; the one that ended 9 days ago is gone
    assert old.id not in listed
    assert listed[recent.id]["status"] == "finished"
    states = {a["minutes_before_start"]: a["state"] for a in listed[recent.id]["alerts"]}
    assert states == {1440: "superseded", 60: "superseded", 15: "sent", 0: "pending"}
    assert listed[recent.id]["alerts_sent"] == 1
    assert listed[upcoming.id]["status"] == "upcoming"


def test_one_window_is_read_by_id_and_an_unknown_id_is_404(aws_tables):
    created = maintenance.create_window(MaintenanceWindowRequest.model_validate(window_body()), OPS)
    status, _, body = call("GET", f"/realtime/maintenance/{created.id}", tok=token())
    assert (status, body["id"]) == (200, created.id)
    for unknown in ("mw_" + "f" * 32, "nope", "x" * 3000):
        status, _, body = call("GET", f"/realtime/maintenance/{unknown}", tok=token())
        assert (status, body["code"]) == (404, "maintenance_not_found")


# ----------------------------------------------------------------------------------------- cancel


def test_cancelling_a_window_before_any_alert_sends_nothing(aws_tables, pusher):
    created = maintenance.create_window(
        MaintenanceWindowRequest.model_validate(window_body(start_in=3 * 86400)), OPS
    )
    status, _, body = call("DELETE", f"/realtime/maintenance/{created.id}", tok=token())
    assert status == 200, body
    assert body["status"] == "cancelled"
    assert body["cancelled_by"] == "ops"
    assert body["cancellation_alert"] == {"state": "not_needed"}
    assert [a["state"] for a in body["alerts"]] == ["cancelled"] * 4
    assert pusher.sent() == []
    assert maintenance.send_due_alerts().sent == []  # and no run sends any of its alerts
    assert pusher.sent() == []


def test_cancelling_after_an_alert_went_out_sends_one_cancellation_notice(aws_tables, pusher):
    created = maintenance.create_window(
        MaintenanceWindowRequest.model_validate(window_body(start_in=1800)), OPS
    )
    maintenance.send_due_alerts()  # the one-hour alert is due already
    assert [d["alert_id"] for d in pusher.sent()] == [f"{created.id}:60m"]

    status, _, body = call("DELETE", f"/realtime/maintenance/{created.id}", tok=token())
    assert status == 200
    assert body["cancellation_alert"]["state"] == "sent"
    notice = pusher.sent()[-1]
    assert notice["type"] == "info"
    assert notice["title"] == "Cancelled: Database upgrade"
    assert notice["alert_id"] == f"{created.id}:cancelled"

    status, _, again = call("DELETE", f"/realtime/maintenance/{created.id}", tok=token())
    assert status == 200
    assert again["cancellation_alert"] == body["cancellation_alert"]
    maintenance.send_due_alerts()
    assert len(pusher.sent()) == 2  # the alert and the notice, once each


def test_cancelling_when_pusher_is_down_answers_200_and_the_schedule_sends_the_notice(aws_tables):
    created = maintenance.create_window(
        MaintenanceWindowRequest.model_validate(window_body(start_in=1800)), OPS
    )
    with responses.RequestsMock() as mock:
        mock.post(EVENTS_URL, json={})
        maintenance.send_due_alerts()
    with responses.RequestsMock() as mock:
        mock.post(EVENTS_URL, status=503, body="down")
        status, _, body = call("DELETE", f"/realtime/maintenance/{created.id}", tok=token())
    assert status == 200
    assert body["status"] == "cancelled"
    assert body["cancellation_alert"]["state"] == "failed"
    with responses.RequestsMock() as mock:
        mock.post(EVENTS_URL, json={})
        report = maintenance.send_due_alerts()
        assert report.sent == [f"{created.id}:cancelled"]
        assert len(mock.calls) == 1


def test_cancelling_an_ended_window_is_409_and_an_unknown_one_404(aws_tables):
    past = lambda: time.time() - 3 * 86400  # noqa: E731
    ended = maintenance.create_window(
        MaintenanceWindowRequest.model_validate(window_body(start_in=-2 * 86400, length=3600)),
        OPS,
        clock=past,
    )
    status, _, body = call("DELETE", f"/realtime/maintenance/{ended.id}", tok=token())
    assert (status, body["code"]) == (409, "maintenance_finished")
    status, _, body = call("DELETE", "/realtime/maintenance/mw_" + "a" * 32, tok=token())
    assert (status, body["code"]) == (404, "maintenance_not_found")
