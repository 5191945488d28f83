"""Property: whatever order and however often Pusher delivers, the stored presence equals the truth.

A random history of joins and leaves of several users in several presence channels is turned into the
webhooks Pusher would send (``channel_occupied`` before the first ``member_added``, ``channel_vacated``
after the last ``member_removed``), cut into deliveries that each carry their own ``time_ms``; some
deliveries are duplicated and all are delivered in a shuffled order. The stored state must then be the
state at the end of the history: every member's present/absent record, each channel's occupancy, and
what the read API derives from them (members now, occupied channels with member counts).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from local_stack.dynamo import create_tables
from toolboxai_realtime import webhooks
from toolboxai_realtime.identity import Principal
from toolboxai_realtime.presence import current_members, list_channels
from toolboxai_realtime.stores import presence as store

USERS = ["u1", "u2", "u3", "u4"]
CHANNELS = 3
ADMIN = Principal(user_id="admin", role="admin")


@dataclass
class History:
    deliveries: list[dict[str, Any]]
    truth: dict[str, set[str]]  # channel -> users present at the end
    seen: set[tuple[str, str]]  # (channel, user) pairs the history mentions


def pusher_events(steps: list[tuple[int, int]], names: list[str]) -> Iterator[list[dict[str, Any]]]:
    """The events Pusher sends for each step (a user toggling its membership of a channel)."""
    members: dict[str, set[str]] = {name: set() for name in names}
    for channel_index, user_index in steps:
        channel, user = names[channel_index], USERS[user_index]
        if user in members[channel]:
            members[channel].discard(user)
            events = [{"name": "member_removed", "channel": channel, "user_id": user}]
            if not members[channel]:
                events.append({"name": "channel_vacated", "channel": channel})
        else:
            events = [{"name": "member_added", "channel": channel, "user_id": user}]
            if not members[channel]:
                events.insert(0, {"name": "channel_occupied", "channel": channel})
            members[channel].add(user)
        yield events


@st.composite
def histories(draw: st.DrawFn) -> History:
    names = [f"presence-classroom-{i}" for i in range(CHANNELS)]
    steps = draw(
        st.lists(
            st.tuples(st.integers(0, CHANNELS - 1), st.integers(0, len(USERS) - 1)), min_size=1, max_size=24
        )
    )
    # Pusher batches events of up to 250 ms into one delivery: a step may join the previous delivery.
    starts_new = draw(st.lists(st.booleans(), min_size=len(steps), max_size=len(steps)))
    batches: list[list[dict[str, Any]]] = []
    for index, events in enumerate(pusher_events(steps, names)):
        if index == 0 or starts_new[index]:
            batches.append([])
        batches[-1].extend(events)
    # time_ms are offsets here; the test adds the current time (tombstones expire a day after theirs).
    deliveries = [{"time_ms": 1000 * (i + 1), "events": b} for i, b in enumerate(batches)]
    duplicated = draw(st.lists(st.sampled_from(deliveries), max_size=len(deliveries)))
    shuffled = draw(st.permutations(deliveries + duplicated))

    truth: dict[str, set[str]] = {name: set() for name in names}
    for channel_index, user_index in steps:
        truth[names[channel_index]] ^= {USERS[user_index]}
    seen = {(names[c], USERS[u]) for c, u in steps}
    return History(list(shuffled), truth, seen)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=histories())
def test_stored_presence_equals_the_truth_whatever_the_delivery_order(aws_tables, history):
    # A fresh table per example (moto copies the whole table in every transaction: keep it small).
    aws_tables.delete_table(TableName="PresenceTable")
    create_tables(aws_tables)
    base = int(time.time() * 1000) - 60_000
    for doc in history.deliveries:
        webhooks.ingest(webhooks.parse_delivery({**doc, "time_ms": base + doc["time_ms"]}))

    for channel, expected in history.truth.items():
        record = store.channel_state(channel)
        members = {m.user_id: m.present for m in record.members}
        for seen_channel, user in history.seen:
            if seen_channel == channel:
                assert members[user] == (user in expected), (channel, user)
        assert {m.user_id for m in current_members(record)} == expected
        if any(c == channel for c, _ in history.seen):
            assert record.occupied is bool(expected)

    listed = {c.name: c.member_count for c in list_channels(ADMIN, "presence-").channels}
    assert listed == {channel: len(users) for channel, users in history.truth.items() if users}
