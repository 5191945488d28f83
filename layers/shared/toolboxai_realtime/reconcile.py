"""Drift reconciliation: make the stored presence agree with Pusher's own view.

Webhooks get lost (Pusher gives up after about five minutes of failures; soketi never retries), so
every few minutes this compares the store with Pusher: ``GET /channels`` (every occupied channel) and
``GET /channels/{c}/users`` for each occupied presence channel, and repairs what differs:

* ``missed_occupied`` / ``missed_vacated`` - a channel whose occupancy the store has wrong;
* ``missed_join`` - a member Pusher lists that the store does not show;
* ``ghost_member`` - a member the store holds as present that Pusher does not list (a lost
  ``member_removed``, or a member left over from an earlier occupancy).

The repairs are ordinary changes stamped with the time the snapshot was taken (minus a second for
clock skew between Pusher and us) and go through the same conditional writes as webhooks, so a webhook
about something that happened after the snapshot always wins over the repair. Members the store already
knows are re-stamped (keeping their join time) when the channel's occupancy is repaired, so that they
count as joined during the repaired occupancy.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

from pydantic import BaseModel

from . import pusher_gateway
from .channels import ChannelKind
from .channels import kind_of as channel_kind
from .observability import count, logger, tracer
from .presence import current_members
from .stores import presence as store
from .stores.presence import Change, ChannelRecord, MemberChange, OccupancyChange

__all__ = ["CLOCK_SKEW_MS", "ReconcileReport", "plan_repairs", "run"]

CLOCK_SKEW_MS = 1000
"""Repairs are stamped this much before the snapshot, so that webhooks from around it win."""

Repair = tuple[str, Change]
"""(kind of correction, the change that makes it); kind ``restamp`` is bookkeeping, not a correction."""


class ReconcileReport(BaseModel):
    """What one reconciliation found and did."""

    checked_channels: int
    occupied_channels: int
    presence_members: int
    corrections: dict[str, int]
    superseded: int
    dynamodb_write_calls: int
    pusher_calls: int


def plan_repairs(
    record: ChannelRecord, live_occupied: bool, live_members: set[str] | None, t: int
) -> list[Repair]:
    """The changes that make ``record`` agree with Pusher's view of the channel, stamped ``t``.

    ``live_members`` is Pusher's member list of a presence channel (``None`` for other channels).
    """
    name = record.name
    repairs: list[Repair] = []
    stored_occupied = record.occupied is True
    present = {m.user_id for m in record.members if m.present}
    current = {m.user_id for m in current_members(record)}
    if live_occupied and not stored_occupied:
        repairs.append(("missed_occupied", OccupancyChange(name, True, t)))
    elif stored_occupied and not live_occupied:
        repairs.append(("missed_vacated", OccupancyChange(name, False, t)))
    if live_members is None:
        return repairs
    live = live_members if live_occupied else set()
    for user_id in sorted(present - live):
        repairs.append(("ghost_member", MemberChange(name, user_id, False, t)))
    for user_id in sorted(live):
        if user_id not in current:
            repairs.append(("missed_join", MemberChange(name, user_id, True, t)))
        elif not stored_occupied:
            repairs.append(("restamp", MemberChange(name, user_id, True, t, keep_joined_at=True)))
    return repairs


@tracer.capture_method
def run(*, clock: Callable[[], float] = time.time) -> ReconcileReport:
    """Compare the store with Pusher and repair every difference; log and count each correction.

    Raises ``UpstreamUnavailable`` when Pusher or DynamoDB cannot be read or written (the next run
    tries again).
    """
    t = int(clock() * 1000) - CLOCK_SKEW_MS
    stored = {record.name: record for record in store.active_channels()}
    live = set(pusher_gateway.channels_info().get("channels", {}))
    pusher_calls = 1
    repairs: list[Repair] = []
    members_seen = 0
    occupied = 0
    for name in sorted(stored.keys() | live):
        record = stored.get(name) or ChannelRecord(name=name)
        live_members: set[str] | None = None
        live_occupied = name in live
        if channel_kind(name) is ChannelKind.PRESENCE:
            live_members = set(pusher_gateway.users_info(name)) if live_occupied else set()
            pusher_calls += live_occupied
            # A presence channel is occupied exactly while it has members (it may have emptied
            # between the two calls).
            live_occupied = bool(live_members)
            members_seen += len(live_members)
        occupied += live_occupied
        repairs += plan_repairs(record, live_occupied, live_members, t)

    kind_of = {change: kind for kind, change in repairs}  # one change per item: unique
    result = store.apply([change for _, change in repairs])
    corrections: Counter[str] = Counter()
    for change in result.applied:
        kind = kind_of[change]
        if kind == "restamp":
            continue
        corrections[kind] += 1
        logger.info(
            "presence drift corrected",
            extra={
                "correction": kind,
                "channel": change.channel,
                "user_id": getattr(change, "user_id", None),
            },
        )
    for kind, number in sorted(corrections.items()):
        count("ReconcileCorrections", number, kind=kind)
    count("OccupiedChannels", occupied)
    count("PresenceMembers", members_seen)
    report = ReconcileReport(
        checked_channels=len(stored.keys() | live),
        occupied_channels=occupied,
        presence_members=members_seen,
        corrections=dict(sorted(corrections.items())),
        superseded=len(result.stale),
        dynamodb_write_calls=result.calls,
        pusher_calls=pusher_calls,
    )
    logger.info("reconciliation finished", extra=report.model_dump())
    return report
