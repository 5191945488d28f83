"""Issue 15: no DynamoDB partition key above 30 % of its ceiling in the modelled class start.

The model (``bench/burst_model.py``) lists every item the burst's auth requests and webhooks write, built
with the layer's own key functions and transaction builders, so these figures follow the code: the
presence index's shard function, the auth-limits key, the presence store's items.
"""

from __future__ import annotations

from collections import Counter

import pytest

from bench import burst_model
from bench.burst_model import MODELLED_BURST, PARTITION_WCU_CEILING, TARGET_SHARE

NOW = 1_764_500_000.0


@pytest.fixture(scope="module")
def burst() -> list[burst_model.Access]:
    return burst_model.model(MODELLED_BURST, now=NOW)


def test_the_model_covers_every_write_of_a_class_start(burst):
    writes = Counter(a.where for a in burst if a.wcu)
    students, per_student_auths = MODELLED_BURST.students, 3
    # One limits update per auth; per student one info put and one member item (the presence channel),
    # three subscription counts; one occupancy per channel.
    channels = students + 2 * MODELLED_BURST.classes
    assert writes["RateLimitTable"] == students * per_student_auths
    assert writes["PresenceTable"] == students * (1 + 1 + 3) + channels
    assert writes["PresenceTable/ActiveIndex"] == students * (1 + 3) + channels
    # Revocations are only ever checked (reads) by an auth, never written: the user's scope on each of
    # the three channels, and the class's scope on the two class channels.
    assert writes["RevocationTable"] == 0
    reads = Counter(a.where for a in burst if not a.wcu)
    assert reads == {"RevocationTable": students * (3 + 2)}


def test_no_partition_key_above_30_percent_of_its_ceiling_in_the_modelled_burst(burst):
    loads = burst_model.key_loads(burst, MODELLED_BURST.seconds)
    limit = TARGET_SHARE * PARTITION_WCU_CEILING
    hot = [
        f"{load.where} {load.key}: {load.wcu_per_second:.0f} WCU/s"
        for load in loads
        if load.wcu_per_second > limit
    ]
    assert not hot, f"above {limit:.0f} WCU/s: {hot[:5]}"
    # The busiest key is the index shard, and the spread is real: every shard takes a share.
    busiest = loads[0]
    assert busiest.where == "PresenceTable/ActiveIndex"
    shards = [load for load in loads if load.where == "PresenceTable/ActiveIndex"]
    from toolboxai_realtime.stores import presence

    assert len(shards) == presence.INDEX_SHARDS


def test_the_check_fails_with_the_previous_index_key(monkeypatch):
    """Four shards chosen by channel (the key before issue 15) put ~2,500 WCU/s on each shard."""
    import zlib

    from toolboxai_realtime.stores import presence

    monkeypatch.setattr(presence, "_shard", lambda channel, sk: f"active#{zlib.crc32(channel.encode()) % 4}")
    loads = burst_model.key_loads(burst_model.model(MODELLED_BURST, now=NOW), MODELLED_BURST.seconds)
    assert loads[0].where == "PresenceTable/ActiveIndex"
    assert loads[0].share_of_ceiling > 1
