"""GET /realtime/channels and GET /realtime/channels/{channel}/members in-process under moto."""

from __future__ import annotations

import time
from typing import Any

import pytest

from local_stack.token import mint_dev_token
from tests.conftest import http_event, invoke, load_event
from toolboxai_realtime.stores import presence as store
from toolboxai_realtime.stores.presence import MemberChange, OccupancyChange, SubscriptionCountChange

ROOM, OTHER_ROOM = "presence-classroom-101", "presence-classroom-202"
NOW = int(time.time() * 1000)


def token(role: str = "admin", classes: tuple[str, ...] = (), sub: str = "9") -> str:
    return mint_dev_token(sub, role=role, class_ids=classes)  # type: ignore[arg-type]


def get(path: str, bearer: str | None, query: str = "") -> tuple[int, dict[str, str], Any]:
    headers = {"authorization": f"Bearer {bearer}"} if bearer else {}
    return invoke(http_event("GET", path, headers=headers, query=query))


@pytest.fixture
def classrooms(aws_tables) -> None:
    """Room 101: two members and a known count; room 202: one member; a private class channel; a
    lesson channel; and a vacated room whose member_removed was lost."""
    store.apply(
        [
            OccupancyChange(ROOM, True, NOW - 60_000),
            MemberChange(ROOM, "12345", True, NOW - 60_000),
            MemberChange(ROOM, "678", True, NOW - 30_000),
            MemberChange(ROOM, "left", False, NOW - 20_000),
            SubscriptionCountChange(ROOM, 3, NOW - 10_000),
            OccupancyChange(OTHER_ROOM, True, NOW - 5000),
            MemberChange(OTHER_ROOM, "1", True, NOW - 5000),
            OccupancyChange("private-class-101", True, NOW - 1000),
            OccupancyChange("presence-lesson-7", True, NOW - 1000),
            MemberChange("presence-lesson-7", "2", True, NOW - 1000),
            MemberChange("presence-classroom-303", "ghost", True, NOW - 9000),
            OccupancyChange("presence-classroom-303", False, NOW - 8000),
        ]
    )
    store.remember_member_info(ROOM, "12345", {"name": "Ms. Frizzle", "role": "teacher", "status": "active"})


# ------------------------------------------------------------------------------------------- listing


def test_admins_list_every_occupied_channel_with_counts(classrooms):
    status, _, body = get("/realtime/channels", token("admin"))
    assert status == 200
    by_name = {c["name"]: c for c in body["channels"]}
    assert sorted(by_name) == [
        "presence-classroom-101",
        "presence-classroom-202",
        "presence-lesson-7",
        "private-class-101",
    ]
    assert body["count"] == 4
    room = by_name[ROOM]
    assert (room["kind"], room["occupied"], room["member_count"], room["subscription_count"]) == (
        "presence",
        True,
        2,
        3,
    )
    assert room["occupied_since"].endswith("Z")
    assert by_name["private-class-101"]["kind"] == "private"
    assert "member_count" not in by_name["private-class-101"]  # not a presence channel


def test_the_prefix_filter_narrows_the_list(classrooms):
    status, _, body = get("/realtime/channels", token("admin"), query="prefix=presence-classroom-")
    assert status == 200
    assert [c["name"] for c in body["channels"]] == [ROOM, OTHER_ROOM]


def test_the_sample_list_event_answers_once_it_carries_a_real_token(classrooms):
    event = load_event("channels_list.json")
    event["headers"]["authorization"] = f"Bearer {token('admin')}"
    status, _, body = invoke(event)
    assert status == 200
    assert all(c["name"].startswith("presence-") for c in body["channels"])


def test_teachers_see_only_the_channels_of_their_classes(classrooms):
    status, _, body = get("/realtime/channels", token("teacher", ("101",)))
    assert status == 200
    assert [c["name"] for c in body["channels"]] == [ROOM, "private-class-101"]


@pytest.mark.parametrize("role", ["student"])
def test_students_may_not_list_channels(classrooms, role):
    status, _, body = get("/realtime/channels", token(role, ("101",)))
    assert status == 403
    assert body["code"] == "not_allowed_to_view"


def test_a_token_is_required(classrooms):
    status, headers, body = get("/realtime/channels", None)
    assert status == 401
    assert body["code"] == "missing_token"
    assert headers["www-authenticate"].startswith("Bearer")


def test_a_prefix_outside_the_channel_alphabet_is_400(classrooms):
    status, _, body = get("/realtime/channels", token("admin"), query="prefix=presence-%23x")
    assert status == 400
    assert body["code"] == "invalid_prefix"


# ------------------------------------------------------------------------------------------- members


def test_members_carry_the_user_info_auth_remembered(classrooms):
    status, _, body = get(f"/realtime/channels/{ROOM}/members", token("teacher", ("101",)))
    assert status == 200
    assert body["channel"] == ROOM
    assert body["occupied"] is True
    assert body["count"] == 2
    members = {m["user_id"]: m for m in body["members"]}
    assert members["12345"]["user_info"] == {"name": "Ms. Frizzle", "role": "teacher", "status": "active"}
    assert "user_info" not in members["678"]  # nothing was remembered for this one
    assert members["678"]["joined_at"].endswith("Z")


def test_the_sample_members_event_answers_once_it_carries_a_real_token(classrooms):
    event = load_event("channels_members.json")
    event["headers"]["authorization"] = f"Bearer {token('admin')}"
    status, _, body = invoke(event)
    assert (status, body["count"]) == (200, 2)


def test_a_vacated_room_has_no_members_even_if_a_removal_was_lost(classrooms):
    status, _, body = get("/realtime/channels/presence-classroom-303/members", token("admin"))
    assert status == 200
    assert body == {"channel": "presence-classroom-303", "occupied": False, "members": [], "count": 0}


def test_an_unknown_room_is_an_empty_room_not_a_404(classrooms):
    status, _, body = get("/realtime/channels/presence-classroom-999/members", token("admin"))
    assert (status, body["occupied"], body["members"]) == (200, False, [])


def test_teachers_may_not_see_other_classes(classrooms):
    status, _, body = get(f"/realtime/channels/{OTHER_ROOM}/members", token("teacher", ("101",)))
    assert status == 403
    assert body["code"] == "channel_not_visible"


def test_students_may_not_see_members_even_of_their_own_class(classrooms):
    status, _, body = get(f"/realtime/channels/{ROOM}/members", token("student", ("101",)))
    assert (status, body["code"]) == (403, "not_allowed_to_view")


@pytest.mark.parametrize("name", ["presence-classroom-1!", "x" * 165])
def test_invalid_channel_names_are_400(classrooms, name):
    status, _, body = get(f"/realtime/channels/{name}/members", token("admin"))
    assert status == 400
    assert body["code"] == "invalid_channel_name"


def test_only_presence_channels_have_members(classrooms):
    status, _, body = get("/realtime/channels/private-class-101/members", token("admin"))
    assert status == 400
    assert body["code"] == "not_a_presence_channel"


def test_percent_encoded_channel_names_are_decoded(aws_tables):
    store.apply(
        [
            OccupancyChange("presence-lesson-a@b", True, NOW),
            MemberChange("presence-lesson-a@b", "1", True, NOW),
        ]
    )
    status, _, body = get("/realtime/channels/presence-lesson-a%40b/members", token("admin"))
    assert status == 200
    assert (body["channel"], body["count"]) == ("presence-lesson-a@b", 1)


def test_expired_user_info_is_not_shown(aws_tables):
    store.apply([OccupancyChange(ROOM, True, NOW), MemberChange(ROOM, "1", True, NOW)])
    store.remember_member_info(
        ROOM, "1", {"name": "Old"}, now=lambda: time.time() - store.INFO_TTL_SECONDS - 5
    )
    status, _, body = get(f"/realtime/channels/{ROOM}/members", token("admin"))
    assert status == 200
    assert body["members"] == [{"user_id": "1", "joined_at": body["members"][0]["joined_at"]}]


def test_store_failure_is_503(aws_tables):
    aws_tables.delete_table(TableName="PresenceTable")
    status, _, body = get("/realtime/channels", token("admin"))
    assert (status, body["code"]) == (503, "store_unavailable")
