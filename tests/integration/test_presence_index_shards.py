"""The presence index's shards (issue 15): entries spread by item, and readers still find everything."""

from __future__ import annotations

import time
import zlib

from toolboxai_realtime.stores import presence as store
from toolboxai_realtime.stores.presence import MemberChange, OccupancyChange

ROOM = "presence-classroom-101"


def now_ms() -> int:
    return int(time.time() * 1000)


def test_one_class_spreads_over_the_index_and_is_listed_whole(aws_tables):
    t = now_ms()
    students = [f"s{i}" for i in range(30)]
    store.apply([OccupancyChange(ROOM, True, t), *(MemberChange(ROOM, s, True, t) for s in students)])

    entries = aws_tables.scan(TableName="PresenceTable", IndexName=store.INDEX_NAME)["Items"]
    shards = {item["gpk"]["S"] for item in entries}
    assert len(entries) == 31
    assert len(shards) > 10  # one channel's items no longer share one partition

    (record,) = store.active_channels("presence-classroom-")
    assert record.occupied is True
    assert {m.user_id for m in record.members if m.present} == set(students)


def test_entries_written_under_the_previous_four_shards_are_still_listed(aws_tables):
    """Raising the shard count needs no backfill: the old shard keys are among those readers query."""
    t = now_ms()
    old_shard = f"active#{zlib.crc32(ROOM.encode()) % 4}"  # the key before issue 15
    aws_tables.put_item(
        TableName="PresenceTable",
        Item={
            "pk": {"S": f"channel#{ROOM}"},
            "sk": {"S": "member#old-student"},
            "channel": {"S": ROOM},
            "user_id": {"S": "old-student"},
            "state": {"S": "present"},
            "joined_at": {"N": str(t)},
            "t": {"N": str(t)},
            "gpk": {"S": old_shard},
            "gsk": {"S": f"{ROOM}#member#old-student"},
        },
    )
    (record,) = store.active_channels()
    assert [m.user_id for m in record.members] == ["old-student"]

    # Its next write moves it to its new shard; it is listed once, not twice.
    store.apply([MemberChange(ROOM, "old-student", True, t + 1)])
    (record,) = store.active_channels()
    assert [m.user_id for m in record.members] == ["old-student"]
    (entry,) = aws_tables.scan(TableName="PresenceTable", IndexName=store.INDEX_NAME)["Items"]
    assert entry["gpk"]["S"] == store._shard(ROOM, "member#old-student")
