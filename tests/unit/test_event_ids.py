"""Event ids: ULIDs that sort by mint time and strictly increase within a process."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from toolboxai_realtime import event_ids
from toolboxai_realtime.event_ids import EventIdGenerator, Reuse


def test_ids_of_one_millisecond_strictly_increase():
    ids = EventIdGenerator(clock=lambda: 1_700_000_000_000).many(1000)
    assert ids == sorted(ids)
    assert len(set(ids)) == 1000
    assert {event_ids.milliseconds(i) for i in ids} == {1_700_000_000_000}


def test_a_clock_that_steps_back_does_not_reorder_ids():
    times = iter([1_700_000_000_500, 1_700_000_000_100, 1_700_000_000_600])
    gen = EventIdGenerator(clock=lambda: next(times))
    first, second, third = gen.new(), gen.new(), gen.new()
    assert first < second < third
    assert event_ids.milliseconds(second) == 1_700_000_000_500  # held at the last millisecond


def test_ids_of_later_milliseconds_sort_after_and_carry_their_time():
    early = EventIdGenerator(clock=lambda: 1_700_000_000_000).new()
    late = EventIdGenerator(clock=lambda: 1_700_000_000_001).new()
    assert early < late
    assert event_ids.published_at(early) == datetime.fromtimestamp(1_700_000_000, tz=UTC)


def test_two_generators_in_one_millisecond_do_not_collide():
    # Randomness comes from os.urandom, not from state copied into every restored SnapStart environment.
    a = EventIdGenerator(clock=lambda: 1_700_000_000_000).new()
    b = EventIdGenerator(clock=lambda: 1_700_000_000_000).new()
    assert a != b


def test_floor_id_is_below_every_id_of_its_millisecond():
    ids = EventIdGenerator(clock=lambda: 1_700_000_000_000).many(10)
    floor = event_ids.floor_id(1_700_000_000_000)
    assert all(floor < i for i in ids)
    assert event_ids.floor_id(1_700_000_000_001) > max(ids)


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        (event_ids.new_event_id(), True),
        ("01M8NNE7XZ72ZRS2F3Q212FTKV", True),
        ("01m8nne7xz72zrs2f3q212ftkv", False),  # canonical ids are upper case
        ("81M8NNE7XZ72ZRS2F3Q212FTKV", False),  # beyond 48 bits of time
        ("01M8NNE7XZ72ZRS2F3Q212FTKU", False),  # U is not Crockford base32
        ("01M8NNE7XZ72ZRS2F3Q212FTK", False),
        (None, False),
    ],
)
def test_is_event_id(value, valid):
    assert event_ids.is_event_id(value) is valid


def test_reuse_gives_the_same_ids_and_says_so():
    ids = event_ids.new_event_ids(2)
    source = Reuse(ids)
    assert source(2) == ids
    assert source.reused is True
    with pytest.raises(ValueError, match="2 event ids kept, 3 events"):
        source(3)
