"""Who is in a channel now, and what a reconciliation repairs: pure rules over stored records."""

from __future__ import annotations

from toolboxai_realtime.presence import current_members, is_occupied
from toolboxai_realtime.reconcile import plan_repairs
from toolboxai_realtime.stores.presence import ChannelRecord, MemberChange, MemberRecord, OccupancyChange

CH = "presence-classroom-101"


def member(user_id: str, t: int, present: bool = True) -> MemberRecord:
    return MemberRecord(user_id=user_id, present=present, t=t, joined_at=t if present else None)


def ids(record: ChannelRecord) -> list[str]:
    return [m.user_id for m in current_members(record)]


def test_members_who_joined_during_the_current_occupancy_are_in():
    record = ChannelRecord(
        CH, occupied=True, since=100, changed_at=100, members=(member("a", 100), member("b", 150))
    )
    assert ids(record) == ["a", "b"]


def test_a_member_from_an_earlier_occupancy_is_out_even_without_its_removal():
    # "a" joined at 50; the channel was vacated and occupied again at 100; a's member_removed was lost.
    record = ChannelRecord(
        CH, occupied=True, since=100, changed_at=100, members=(member("a", 50), member("b", 120))
    )
    assert ids(record) == ["b"]


def test_a_vacated_channel_has_nobody_left_from_before_the_vacancy():
    record = ChannelRecord(CH, occupied=False, changed_at=200, members=(member("a", 100), member("b", 200)))
    assert ids(record) == []
    assert not is_occupied(record)


def test_a_member_who_joined_after_the_vacancy_implies_occupancy():
    record = ChannelRecord(CH, occupied=False, changed_at=200, members=(member("a", 250),))
    assert ids(record) == ["a"]
    assert is_occupied(record)


def test_without_occupancy_records_present_members_count_and_tombstones_do_not():
    record = ChannelRecord(CH, members=(member("a", 10), member("b", 20, present=False)))
    assert ids(record) == ["a"]


def test_agreeing_views_need_no_repair():
    record = ChannelRecord(CH, occupied=True, since=100, changed_at=100, members=(member("a", 100),))
    assert plan_repairs(record, True, {"a"}, 1000) == []


def test_ghosts_are_removed_and_missed_joins_added():
    record = ChannelRecord(
        CH, occupied=True, since=100, changed_at=100, members=(member("a", 100), member("old", 50))
    )
    repairs = plan_repairs(record, True, {"a", "new", "old"}, 1000)
    assert repairs == [
        ("missed_join", MemberChange(CH, "new", True, 1000)),
        # "old" is stored as present but belongs to an earlier occupancy: it joined again.
        ("missed_join", MemberChange(CH, "old", True, 1000)),
    ]
    repairs = plan_repairs(record, True, {"new"}, 1000)
    assert repairs == [
        ("ghost_member", MemberChange(CH, "a", False, 1000)),
        ("ghost_member", MemberChange(CH, "old", False, 1000)),
        ("missed_join", MemberChange(CH, "new", True, 1000)),
    ]


def test_a_channel_vacated_without_a_webhook_is_vacated_and_emptied():
    record = ChannelRecord(CH, occupied=True, since=100, changed_at=100, members=(member("a", 100),))
    assert plan_repairs(record, False, set(), 1000) == [
        ("missed_vacated", OccupancyChange(CH, False, 1000)),
        ("ghost_member", MemberChange(CH, "a", False, 1000)),
    ]


def test_a_missed_occupancy_restamps_known_members_keeping_their_join_time():
    record = ChannelRecord(CH, members=(member("a", 100),))
    assert plan_repairs(record, True, {"a", "b"}, 1000) == [
        ("missed_occupied", OccupancyChange(CH, True, 1000)),
        ("restamp", MemberChange(CH, "a", True, 1000, keep_joined_at=True)),
        ("missed_join", MemberChange(CH, "b", True, 1000)),
    ]


def test_other_channels_only_get_their_occupancy_repaired():
    assert plan_repairs(ChannelRecord("private-class-1"), True, None, 1000) == [
        ("missed_occupied", OccupancyChange("private-class-1", True, 1000))
    ]
    stored = ChannelRecord("private-class-1", occupied=True, since=1, changed_at=1)
    assert plan_repairs(stored, False, None, 1000) == [
        ("missed_vacated", OccupancyChange("private-class-1", False, 1000))
    ]
