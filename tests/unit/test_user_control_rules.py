"""Pure rules of user-level control: the client-event policy of the channel table, revocation ids and
scopes. No I/O."""

from __future__ import annotations

import pytest

from toolboxai_realtime.channels import CHANNELS, ChannelFamily, ChannelKind, anyone, parse_channel
from toolboxai_realtime.client_events import violation
from toolboxai_realtime.stores.revocations import decode_id, encode_id, scope_key


def test_the_table_gives_client_events_only_to_the_presence_families_with_a_limit():
    accepting = {family.id: family.client_event_bytes for family in CHANNELS if family.client_events}
    assert accepting == {"presence-classroom": 1024, "presence-lesson": 4096}
    assert all(family.client_event_bytes == 0 for family in CHANNELS if not family.client_events)


@pytest.mark.parametrize(
    ("client_events", "limit"),
    [(True, 0), (True, 10241), (False, 100)],
    ids=["no limit", "over 10 KB", "limit without"],
)
def test_a_family_must_declare_a_limit_exactly_when_it_accepts_client_events(client_events, limit):
    with pytest.raises(ValueError, match="client events need a data limit"):
        ChannelFamily(
            "presence-x-{id}",
            ChannelKind.PRESENCE,
            anyone,
            client_events=client_events,
            client_event_bytes=limit,
        )


def test_a_parsed_channel_carries_its_familys_limit():
    assert parse_channel("presence-lesson-9").client_event_bytes == 4096
    assert parse_channel("private-class-1").client_event_bytes == 0


@pytest.mark.parametrize(
    ("channel", "size", "user_id", "expected"),
    [
        ("presence-lesson-9", 4096, "u1", None),
        ("presence-lesson-9", 4097, "u1", ("client_event_too_large", "u1")),
        ("presence-classroom-1", 1025, "u2", ("client_event_too_large", "u2")),
        ("private-class-1", 2, None, ("client_events_not_allowed", None)),
        ("private-user-u3", 2, None, ("client_events_not_allowed", "u3")),
        ("private-encrypted-user-u4", 2, None, ("client_events_not_allowed", "u4")),
        ("private-whatever", 2, None, ("client_events_not_allowed", None)),
        ("bad name!", 2, None, ("client_events_not_allowed", None)),
    ],
)
def test_client_event_violations_and_whose_connections_end(channel, size, user_id, expected):
    found = violation(channel, "client-x", size, user_id, "1.2")
    assert (None if found is None else (found.reason, found.user_id)) == expected


def test_revocation_ids_round_trip_and_junk_is_no_id():
    for user, scope in (
        ("12345", scope_key()),
        ("a-b.c", scope_key(class_id="7")),
        ("u", scope_key(lesson_id="x")),
    ):
        assert decode_id(encode_id(user, scope)) == (user, scope)
    assert scope_key() == "user"
    assert scope_key(class_id="7") == "class#7"
    assert scope_key(lesson_id="9") == "lesson#9"
    for junk in ("", "!!!", encode_id("", "user"), "dXNlcg"):  # "user" without a separator
        assert decode_id(junk) is None
