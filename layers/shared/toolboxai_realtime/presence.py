"""The presence and occupancy read API of the dashboards, and the rule that says who is in a channel now.

Who is in a channel now: a stored member counts only if it joined during the channel's current state.
A channel vacated at ``t`` had no subscriber at ``t``, so every member stamped before ``t`` has left even
if its ``member_removed`` never arrived; likewise when a channel became occupied at ``since``, members
stamped before ``since`` belong to an earlier occupancy. Reads are therefore right as soon as the
occupancy events are in, without waiting for reconciliation to clean up the member items.

Who may read: a bearer token is required; admins see every channel, teachers the channels of their
classes (``channels.visible_to``), everyone else is refused (403). A presence channel nobody is in
(never used, or vacated) answers 200 with no members and ``occupied: false``: dashboards poll
classrooms before anyone arrives, and an empty room is not an error.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from .bodies import UtcMilliseconds
from .channels import (
    CHANNEL_NAME_MAX_LENGTH,
    CHANNEL_NAME_PATTERN,
    CLASSROOM,
    ChannelKind,
    id_pattern,
    parse_channel,
    visible_to,
)
from .errors import BadRequest, Forbidden
from .identity import Principal
from .observability import count
from .stores import presence as store
from .stores.presence import ChannelRecord, MemberRecord

__all__ = [
    "ChannelList",
    "ChannelMembers",
    "ChannelSummary",
    "ClassConnected",
    "ConnectedStudent",
    "Member",
    "channel_members",
    "class_connected",
    "current_members",
    "is_occupied",
    "list_channels",
]


# ------------------------------------------------------------------------------------------ the rule


def current_members(record: ChannelRecord) -> list[MemberRecord]:
    """The members present in the channel now (see the module docstring), sorted by user id."""
    if record.occupied is True:
        floor = record.since or 0
    elif record.occupied is False:
        floor = (record.changed_at or 0) + 1
    else:
        floor = 0
    return [m for m in record.members if m.present and m.t >= floor]


def is_occupied(record: ChannelRecord) -> bool:
    """Occupied by its own record, or implied by a member who joined after the last vacancy."""
    return record.occupied is True or bool(current_members(record))


def _subscription_count(record: ChannelRecord) -> int | None:
    if not is_occupied(record):
        return 0
    if record.subscription_count is None:
        return None
    if record.since is not None and (record.subscriptions_at or 0) < record.since:
        return None  # counted during an earlier occupancy
    return record.subscription_count


def _time(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=UTC)


# --------------------------------------------------------------------------------------------- models


class ChannelSummary(BaseModel):
    """One occupied channel. ``member_count`` only for presence channels; ``subscription_count`` only
    when Pusher reported one during the current occupancy (it needs the app's subscription counting)."""

    name: str
    kind: ChannelKind
    occupied: bool
    occupied_since: UtcMilliseconds | None = None
    last_change: UtcMilliseconds | None = None
    member_count: int | None = None
    subscription_count: int | None = None


class ChannelList(BaseModel):
    channels: list[ChannelSummary]
    count: int


class Member(BaseModel):
    """A member of a presence channel; ``user_info`` is what /pusher/auth signed, when it is known."""

    user_id: str
    joined_at: UtcMilliseconds | None = None
    user_info: dict[str, Any] | None = None


class ChannelMembers(BaseModel):
    channel: str
    occupied: bool
    occupied_since: UtcMilliseconds | None = None
    members: list[Member]
    count: int


# ---------------------------------------------------------------------------------------------- reads


def _require_viewer(principal: Principal) -> None:
    if not (principal.is_admin or principal.role == "teacher"):
        raise Forbidden(
            "Only teachers and administrators may view channel occupancy.", code="not_allowed_to_view"
        )


def _validate_prefix(prefix: str) -> str:
    if len(prefix) > CHANNEL_NAME_MAX_LENGTH or not re.fullmatch(CHANNEL_NAME_PATTERN, prefix):
        raise BadRequest(
            "The prefix may contain only letters, digits and _ - = @ , . ; (at most 164).",
            code="invalid_prefix",
        )
    return prefix


def list_channels(principal: Principal, prefix: str | None = None) -> ChannelList:
    """The occupied channels ``principal`` may see, optionally only those starting with ``prefix``,
    with member counts (presence channels) and subscription counts (when known).

    Raises ``Forbidden`` (``not_allowed_to_view``) unless the caller is a teacher or an admin,
    ``BadRequest`` (``invalid_prefix``) for a prefix outside the channel alphabet, and
    ``UpstreamUnavailable`` when the store fails.
    """
    _require_viewer(principal)
    records = store.active_channels(_validate_prefix(prefix) if prefix else None)
    summaries = []
    for record in records:
        if record.occupied is not True:
            continue  # members without an occupancy item: drift that reconciliation settles
        channel = parse_channel(record.name)
        if not visible_to(principal, channel):
            continue
        summaries.append(
            ChannelSummary(
                name=record.name,
                kind=channel.kind,
                occupied=True,
                occupied_since=_time(record.since),
                last_change=_time(record.changed_at),
                member_count=len(current_members(record)) if channel.is_presence else None,
                subscription_count=_subscription_count(record),
            )
        )
    count("ChannelsListed", len(summaries))
    return ChannelList(channels=summaries, count=len(summaries))


def channel_members(principal: Principal, name: str) -> ChannelMembers:
    """The members of presence channel ``name`` now, with the user info /pusher/auth signed for them.

    Raises ``InvalidChannel`` (400) for a malformed name, ``Forbidden`` (403, ``not_allowed_to_view``
    or ``channel_not_visible``) when the caller may not see the channel, ``BadRequest`` (400,
    ``not_a_presence_channel``) for other kinds of channel, ``UpstreamUnavailable`` when the store fails.
    """
    channel = parse_channel(name)
    _require_viewer(principal)
    if not visible_to(principal, channel):
        raise Forbidden("You may not view this channel.", code="channel_not_visible")
    if not channel.is_presence:
        raise BadRequest("Only presence channels have members.", code="not_a_presence_channel")
    record = store.channel_state(name)
    members = [
        Member(user_id=m.user_id, joined_at=_time(m.joined_at), user_info=m.user_info)
        for m in current_members(record)
    ]
    count("MembersListed", len(members))
    return ChannelMembers(
        channel=name,
        occupied=is_occupied(record),
        occupied_since=_time(record.since) if record.occupied else None,
        members=members,
        count=len(members),
    )


# ------------------------------------------------------------------------------------- class watch


class ConnectedStudent(BaseModel):
    """A student of the class who is connected now (a member of at least one presence channel)."""

    user_id: str
    name: str | None = None
    channels: list[str] = Field(description="The presence channels they are in that the caller may see.")
    other_channels: int = Field(description="How many presence channels they are in besides those.")
    signed_in_at: UtcMilliseconds | None = None


class ClassConnected(BaseModel):
    class_id: str
    students: list[ConnectedStudent]
    count: int


_CLASS_ID = re.compile(id_pattern(128))


def class_connected(principal: Principal, class_id: str) -> ClassConnected:
    """The students of class ``class_id`` who are connected right now, anywhere.

    Connected means present in a presence channel now (the presence store, ``current_members``).
    A student is of the class when their last sign-in (``pusher:signin``, the sign-in facts kept by
    ``/pusher/user-auth``) listed the class and the role ``student``, or, without sign-in facts, when
    they are a member of ``presence-classroom-{class_id}`` (the policy admitted them to it). The
    visibility rules are those of the members API: a teacher of the class (``class_id`` in their
    ``class_ids``) or an admin; each student's channels are listed only when the caller may see them
    (``channels.visible_to``), the others are only counted.

    Raises ``BadRequest`` (``invalid_class_id``), ``Forbidden`` (``not_allowed_to_view``,
    ``class_not_visible``) and ``UpstreamUnavailable`` when the store fails.
    """
    if not _CLASS_ID.fullmatch(class_id):
        raise BadRequest(
            "The class id must be 1-128 letters, digits or _ - = @ , . ;", code="invalid_class_id"
        )
    _require_viewer(principal)
    if not (principal.is_admin or class_id in principal.class_ids):
        raise Forbidden("You may only watch the classes you teach.", code="class_not_visible")
    where: dict[str, list[str]] = {}
    for record in store.active_channels(ChannelKind.PRESENCE.prefix):
        for member in current_members(record):
            where.setdefault(member.user_id, []).append(record.name)
    facts = store.signin_facts(list(where))
    classroom = CLASSROOM.name(class_id=class_id)
    students = []
    for user_id, names in sorted(where.items()):
        fact = facts.get(user_id)
        if fact is not None:
            if fact.role != "student" or class_id not in fact.class_ids:
                continue
        elif classroom not in names:
            continue
        seen = sorted(name for name in names if visible_to(principal, parse_channel(name)))
        students.append(
            ConnectedStudent(
                user_id=user_id,
                name=fact.name if fact else None,
                channels=seen,
                other_channels=len(names) - len(seen),
                signed_in_at=_time(fact.signed_in_at) if fact else None,
            )
        )
    count("ClassWatched", len(students))
    return ClassConnected(class_id=class_id, students=students, count=len(students))
