"""The local scheduler reads EventBridge rate expressions and sends EventBridge's scheduled event."""

from __future__ import annotations

import threading

import pytest

from local_stack.scheduler import Scheduler, rate_seconds, scheduled_event


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [("rate(1 minute)", 60), ("rate(5 minutes)", 300), ("rate(2 hours)", 7200), ("rate(1 day)", 86400)],
)
def test_rate_expressions(expression, seconds):
    assert rate_seconds(expression) == seconds


@pytest.mark.parametrize(
    "expression", ["cron(0 12 * * ? *)", "rate(0 minutes)", "rate(5 fortnights)", "every 5m"]
)
def test_unsupported_expressions_are_refused(expression):
    with pytest.raises(ValueError, match="unsupported schedule expression"):
        rate_seconds(expression)


def test_scheduled_event_has_eventbridges_shape():
    event = scheduled_event("MaintenanceSchedule", now=1_795_608_000.0)
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["time"] == "2026-11-25T12:00:00Z"
    assert event["resources"] == ["arn:aws:events:us-east-1:000000000000:rule/MaintenanceSchedule"]


def test_scheduler_invokes_the_function_with_a_scheduled_event_each_period_until_stopped():
    seen: list[tuple[str, dict]] = []
    called = threading.Event()

    def invoke(name, event):
        seen.append((name, event))
        called.set()

    scheduler = Scheduler([("Fn", "rate(1 minute)")], invoke)
    scheduler.schedules = [("Fn", 1)]  # one second instead of a minute, to keep the test fast
    scheduler.start()
    assert called.wait(3), "the scheduled function was not invoked"
    scheduler.stop()
    name, event = seen[0]
    assert name == "Fn"
    assert event["detail-type"] == "Scheduled Event"
