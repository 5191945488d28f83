"""The scheduled reconciliation in-process under moto, with Pusher's HTTP API mocked."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import responses

from tests.conftest import gateway, load_event, reset_caches
from toolboxai_realtime import reconcile
from toolboxai_realtime.errors import UpstreamUnavailable
from toolboxai_realtime.presence import current_members
from toolboxai_realtime.stores import presence as store
from toolboxai_realtime.stores.presence import MemberChange, OccupancyChange

API = "http://127.0.0.1:6001/apps/1001"
ROOM, NEW_ROOM, EMPTIED = "presence-classroom-101", "presence-classroom-202", "presence-classroom-303"


def now_ms() -> int:
    return int(time.time() * 1000)


def members(channel: str) -> set[str]:
    return {m.user_id for m in current_members(store.channel_state(channel))}


@pytest.fixture
def pusher() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def pusher_view(mock: responses.RequestsMock, channels: dict[str, list[str] | None]) -> None:
    """Pusher's answer: the occupied channels, and the users of each presence channel."""
    mock.get(f"{API}/channels", json={"channels": {name: {} for name in channels}})
    for name, users in channels.items():
        if users is not None:
            mock.get(f"{API}/channels/{name}/users", json={"users": [{"id": u} for u in users]})


@pytest.fixture
def drifted(aws_tables) -> int:
    """ROOM: "a" is really there, "ghost" left without a webhook, "late" joined without one.
    NEW_ROOM: occupied without a webhook; "b" is known from a member_added, "c" is not.
    EMPTIED: vacated without a webhook. private-class-1: occupied, but Pusher says it is not.
    Returns the time (ms) the history is relative to."""
    now = now_ms()
    store.apply(
        [
            OccupancyChange(ROOM, True, now - 60_000),
            MemberChange(ROOM, "a", True, now - 60_000),
            MemberChange(ROOM, "ghost", True, now - 50_000),
            MemberChange(NEW_ROOM, "b", True, now - 40_000),
            OccupancyChange(EMPTIED, True, now - 30_000),
            MemberChange(EMPTIED, "d", True, now - 30_000),
            OccupancyChange("private-class-1", True, now - 20_000),
        ]
    )
    return now


def test_every_kind_of_drift_is_repaired_and_reported(drifted, pusher, caplog):
    pusher_view(pusher, {ROOM: ["a", "late"], NEW_ROOM: ["b", "c"], "private-class-2": None})
    report = reconcile.run()
    assert report.corrections == {
        "ghost_member": 2,  # ROOM's ghost, EMPTIED's d
        "missed_join": 2,  # ROOM's late, NEW_ROOM's c
        "missed_occupied": 2,  # NEW_ROOM, private-class-2
        "missed_vacated": 2,  # EMPTIED, private-class-1
    }
    assert (report.checked_channels, report.occupied_channels, report.presence_members) == (5, 3, 4)
    assert report.pusher_calls == 3  # /channels, and /users of the two occupied presence channels
    assert report.superseded == 0
    assert members(ROOM) == {"a", "late"}
    assert members(NEW_ROOM) == {"b", "c"}
    assert members(EMPTIED) == set()
    assert store.channel_state(EMPTIED).occupied is False
    assert store.channel_state("private-class-1").occupied is False
    assert store.channel_state("private-class-2").occupied is True
    logged = {
        (r.correction, r.channel, r.user_id)
        for r in caplog.records
        if r.getMessage() == "presence drift corrected"
    }
    assert ("ghost_member", ROOM, "ghost") in logged
    assert ("missed_vacated", EMPTIED, None) in logged
    assert len(logged) == 8


def test_a_repaired_occupancy_keeps_the_known_join_time_of_its_members(drifted, pusher):
    pusher_view(pusher, {ROOM: ["a"], NEW_ROOM: ["b", "c"]})
    reconcile.run()
    joined = {m.user_id: m.joined_at for m in store.channel_state(NEW_ROOM).members}
    assert joined["b"] == drifted - 40_000
    assert joined["c"] > drifted - 40_000


def test_a_second_run_finds_nothing_to_repair(drifted, pusher):
    pusher_view(pusher, {ROOM: ["a", "late"], NEW_ROOM: ["b", "c"], "private-class-2": None})
    reconcile.run()
    assert reconcile.run().corrections == {}


def test_a_webhook_newer_than_the_snapshot_wins_over_the_repair(aws_tables, pusher):
    now = now_ms()
    future = now + 60_000  # a member_added Pusher sent after it answered our query
    store.apply([OccupancyChange(ROOM, True, now - 1000), MemberChange(ROOM, "fresh", True, future)])
    pusher_view(pusher, {ROOM: ["someone"]})
    report = reconcile.run()
    assert report.superseded == 1
    assert report.corrections == {"missed_join": 1}
    assert members(ROOM) == {"fresh", "someone"}


def test_a_presence_channel_that_emptied_between_the_two_calls_is_vacated(aws_tables, pusher):
    now = now_ms()
    store.apply([OccupancyChange(ROOM, True, now - 1000), MemberChange(ROOM, "a", True, now - 1000)])
    pusher_view(pusher, {ROOM: []})
    report = reconcile.run()
    assert report.corrections == {"ghost_member": 1, "missed_vacated": 1}
    assert store.channel_state(ROOM).occupied is False


def test_pusher_unavailable_fails_the_run_and_changes_nothing(drifted, aws_tables, monkeypatch):
    monkeypatch.setenv("PUSHER_PORT", "9")  # discard: nothing listens
    reset_caches()  # the fixture has read the settings already
    before = aws_tables.scan(TableName="PresenceTable")["Items"]
    with pytest.raises(UpstreamUnavailable):
        reconcile.run()
    assert aws_tables.scan(TableName="PresenceTable")["Items"] == before


def test_the_scheduled_handler_answers_the_report(drifted, pusher):
    pusher_view(pusher, {ROOM: ["a", "ghost"]})
    result = gateway().invoke("ReconcileFunction", load_event("reconcile_scheduled.json"))
    # ROOM is right; NEW_ROOM's "b" and EMPTIED's "d" are ghosts; EMPTIED and private-class-1 are vacated.
    assert result["corrections"] == {"ghost_member": 2, "missed_vacated": 2}
    assert result["occupied_channels"] == 1
