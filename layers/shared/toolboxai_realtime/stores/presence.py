"""Presence and occupancy in the PresenceTable: order-safe, idempotent writes and the dashboard reads.

Every fact Pusher reports lives in an item of its own, stamped with the ``time_ms`` of the webhook delivery
that last changed it (attribute ``t``):

==================  ====================  ====================  =====================================
item                pk                    sk                    attributes
==================  ====================  ====================  =====================================
occupancy           ``channel#<name>``    ``occupancy``         state (occupied|vacated), since, t
subscription count  ``channel#<name>``    ``subscriptions``     subscription_count, t
member              ``channel#<name>``    ``member#<user_id>``  state (present|absent), joined_at, t
member info         ``channel#<name>``    ``info#<user_id>``    user_info (JSON text), updated_at
==================  ====================  ====================  =====================================

Order and duplicates: every write is conditional on ``attribute_not_exists(t) OR t < :t``, so an older
event never overwrites a newer one and a duplicate (same ``t``) has no second effect. A removal leaves a
tombstone (state ``absent``/``vacated``, deleted by TTL a day later, far beyond Pusher's five minutes of
retries and the 300 s freshness window of webhooks) so that a join delivered after a newer leave is
refused as well. When two deliveries carry the same ``time_ms`` the removal wins: Pusher delays removals,
so a join and a leave in the same millisecond describe a connection that did not last.

Listing: items that are "on" (an occupied channel, a present member, a non-zero subscription count)
carry the keys of the sparse index ``ActiveIndex``: ``gpk`` = ``active#<shard>`` (the CRC32 of the
item's ``gsk`` modulo ``INDEX_SHARDS``: spread by item, so one channel's members and count updates do not
share a partition) and ``gsk`` = ``<channel>#<item>``. ``#`` cannot occur in a channel name, so
``begins_with(gsk, prefix)`` filters by channel-name prefix and the key splits unambiguously. Readers
query every shard. Raising ``INDEX_SHARDS`` needs no backfill (the shards readers query include the old
ones; an entry moves to its new shard on its next write); lowering it does.

Batches: ``apply`` writes all changes with ``TransactWriteItems`` (up to 100 items per call). When every
condition holds that is one call. When some fail (duplicates, stale events) DynamoDB cancels the whole
transaction and reports per item which condition failed; those changes are dropped as stale and the
rest is written again, so a single stale event never costs the others their write. No change is lost:
a transaction is all or nothing, and every write is idempotent, so retrying is always safe.

Nothing above this module touches boto3.
"""

from __future__ import annotations

import contextvars
import json
import time
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..aws import dynamodb
from ..bodies import compact_json
from ..observability import logger
from ..settings import get_settings
from ._dynamodb import (
    CONDITION_FAILED_REASON,
    TRANSACTION_CANCELLED,
    ConflictRetries,
    Refusal,
    StoreUnavailable,
    attributes,
    guarded,
    plain,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

    from ..identity import Principal

__all__ = [
    "INDEX_NAME",
    "INDEX_SHARDS",
    "ApplyResult",
    "Change",
    "ChannelRecord",
    "MemberChange",
    "MemberRecord",
    "OccupancyChange",
    "SigninFacts",
    "SubscriptionCountChange",
    "active_channels",
    "apply",
    "channel_state",
    "member_info_put",
    "remember_member_info",
    "signin_facts",
    "signin_facts_put",
]

INDEX_NAME = "ActiveIndex"
"""The sparse GSI of everything current (template.yaml, PresenceTable)."""

INDEX_SHARDS = 64
"""Partitions of ``ActiveIndex``, from the class-start model (``bench/burst_model.py``, docs/capacity.md):
10,000 students joining 300 classes within 5 s write ~10,100 index entries a second (each subscription's
count, each presence member, each channel's occupancy); at most 30 % of a partition's 1,000 WCU/s each
needs at least 34 partitions, and CRC32 spreads these keys unevenly enough that 32 leave the busiest at
33 %; 64 leave it at 18 %. ``tests/unit/test_burst_hot_keys.py`` recomputes this from the key functions."""
_READ_WORKERS = 8
TOMBSTONE_TTL_SECONDS = 24 * 3600
"""How long removals (and subscription counts) are kept: far longer than any webhook can be late."""
INFO_TTL_SECONDS = 24 * 3600
"""How long the user info signed by /pusher/auth is kept (each new authorization refreshes it)."""

MAX_TRANSACTION_ITEMS = 100  # DynamoDB's limit per TransactWriteItems

_OCCUPIED, _VACATED, _PRESENT, _ABSENT = "occupied", "vacated", "present", "absent"
_STALE = CONDITION_FAILED_REASON  # the cancellation reason of an item whose stored t is newer


# --------------------------------------------------------------------------------------------- changes


@dataclass(frozen=True, slots=True)
class OccupancyChange:
    """The channel became occupied (``occupied=True``) or vacated at ``t`` (ms)."""

    channel: str
    occupied: bool
    t: int


@dataclass(frozen=True, slots=True)
class MemberChange:
    """``user_id`` joined (``present=True``) or left a presence channel at ``t`` (ms).

    ``keep_joined_at``: a reconciliation that only re-confirms a member keeps its known join time.
    """

    channel: str
    user_id: str
    present: bool
    t: int
    keep_joined_at: bool = False


@dataclass(frozen=True, slots=True)
class SubscriptionCountChange:
    """Pusher counted ``count`` subscriptions on the channel at ``t`` (ms)."""

    channel: str
    count: int
    t: int


Change = OccupancyChange | MemberChange | SubscriptionCountChange


@dataclass(frozen=True)
class ApplyResult:
    """What ``apply`` did: the changes written, those refused as stale or duplicate, DynamoDB calls made."""

    applied: tuple[Change, ...]
    stale: tuple[Change, ...]
    calls: int


# ----------------------------------------------------------------------------------------------- reads


@dataclass(frozen=True, slots=True)
class MemberRecord:
    """A stored member: ``present`` or a tombstone; ``t`` is the time of its last change (ms)."""

    user_id: str
    present: bool
    t: int
    joined_at: int | None = None
    user_info: dict[str, Any] | None = None


@dataclass(frozen=True)
class ChannelRecord:
    """Everything stored about one channel.

    ``occupied`` is ``None`` when nothing is known about its occupancy. ``since`` is when the current
    occupancy began, ``changed_at`` the time of the last occupancy change (all in ms).
    """

    name: str
    occupied: bool | None = None
    since: int | None = None
    changed_at: int | None = None
    subscription_count: int | None = None
    subscriptions_at: int | None = None
    members: tuple[MemberRecord, ...] = field(default_factory=tuple)


# ------------------------------------------------------------------------------------------------ keys


def _pk(channel: str) -> str:
    return f"channel#{channel}"


def _sk(change: Change) -> str:
    if isinstance(change, OccupancyChange):
        return "occupancy"
    if isinstance(change, SubscriptionCountChange):
        return "subscriptions"
    return f"member#{change.user_id}"


def _shard(channel: str, sk: str) -> str:
    """The index partition of an item: spread by item, not by channel, so a class's 30 members (and a
    busy channel's count updates) land on different partitions."""
    return f"active#{zlib.crc32(_gsk(channel, sk).encode()) % INDEX_SHARDS}"


def _gsk(channel: str, sk: str) -> str:
    return f"{channel}#{sk}"


# ---------------------------------------------------------------------------------------------- writes

_NEWER = "attribute_not_exists(#t) OR #t < :t"
# Removals also win a tie against an "on" state written at the very same time_ms.
_NEWER_OR_TIE_OFF = _NEWER + " OR (#t = :t AND #state = :on)"


def _update(change: Change, table: str) -> TransactWriteItemTypeDef:
    """The conditional ``Update`` of a transaction that records ``change``."""
    channel, t = change.channel, change.t
    sk = _sk(change)
    names: dict[str, str] = {"#t": "t", "#channel": "channel"}
    values: dict[str, Any] = {":t": t, ":channel": channel}
    sets = ["#channel = :channel", "#t = :t"]
    removes: list[str] = []
    condition = _NEWER
    on = False
    if isinstance(change, OccupancyChange):
        on = change.occupied
        names.update({"#state": "state", "#since": "since"})
        sets.append("#state = :state")
        values[":state"] = _OCCUPIED if on else _VACATED
        if on:
            sets.append("#since = :t")
        else:
            removes.append("#since")
            condition = _NEWER_OR_TIE_OFF
            values[":on"] = _OCCUPIED
    elif isinstance(change, MemberChange):
        on = change.present
        names.update({"#state": "state", "#user": "user_id", "#joined": "joined_at"})
        sets += ["#state = :state", "#user = :user"]
        values[":state"] = _PRESENT if on else _ABSENT
        values[":user"] = change.user_id
        if on:
            sets.append("#joined = if_not_exists(#joined, :t)" if change.keep_joined_at else "#joined = :t")
        else:
            removes.append("#joined")
            condition = _NEWER_OR_TIE_OFF
            values[":on"] = _PRESENT
    else:
        on = change.count > 0
        names["#count"] = "subscription_count"
        sets.append("#count = :count")
        values[":count"] = change.count

    names.update({"#gpk": "gpk", "#gsk": "gsk", "#exp": "expires_at"})
    if on:
        sets += ["#gpk = :gpk", "#gsk = :gsk"]
        values[":gpk"] = _shard(channel, sk)
        values[":gsk"] = _gsk(channel, sk)
    else:
        removes += ["#gpk", "#gsk"]
    if on and not isinstance(change, SubscriptionCountChange):
        removes.append("#exp")
    else:
        sets.append("#exp = :exp")
        values[":exp"] = t // 1000 + TOMBSTONE_TTL_SECONDS

    expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
    return {
        "Update": {
            "TableName": table,
            "Key": attributes({"pk": _pk(channel), "sk": sk}),
            "UpdateExpression": expression,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": attributes(values),
        }
    }


def apply(changes: Sequence[Change], *, sleep: Callable[[float], None] = time.sleep) -> ApplyResult:
    """Write ``changes`` (at most one per item), each only if it is newer than what is stored.

    Raises ``ValueError`` when two changes address the same item (collapse them first), and
    ``UpstreamUnavailable`` when DynamoDB fails or keeps reporting transaction conflicts (the caller
    answers 503 and Pusher retries the delivery; every write is idempotent).
    """
    keys = [(change.channel, _sk(change)) for change in changes]
    if len(set(keys)) != len(keys):
        raise ValueError("apply() needs at most one change per item: collapse the delivery first")
    table = get_settings().presence_table
    applied: list[Change] = []
    stale: list[Change] = []
    calls = 0
    for start in range(0, len(changes), MAX_TRANSACTION_ITEMS):
        chunk = list(changes[start : start + MAX_TRANSACTION_ITEMS])
        done, refused, made = _transact(chunk, table, sleep)
        applied += done
        stale += refused
        calls += made
    return ApplyResult(applied=tuple(applied), stale=tuple(stale), calls=calls)


def _transact(
    changes: list[Change], table: str, sleep: Callable[[float], None]
) -> tuple[list[Change], list[Change], int]:
    pending = changes
    stale: list[Change] = []
    calls = 0
    retries = ConflictRetries("presence", sleep)
    while pending:
        calls += 1
        try:
            with guarded("presence", "apply", expect={TRANSACTION_CANCELLED}):
                dynamodb().transact_write_items(TransactItems=[_update(c, table) for c in pending])
        except Refusal as refusal:
            reasons = refusal.codes()
            if len(reasons) != len(pending):
                logger.error("presence transaction cancelled without reasons", extra={"reasons": reasons})
                raise StoreUnavailable("presence") from refusal
            outcome = list(zip(pending, reasons, strict=True))
            stale += [c for c, code in outcome if code == _STALE]
            pending = [c for c, code in outcome if code != _STALE]
            if any(code not in ("None", _STALE) for code in reasons):
                # Another writer holds one of the items (TransactionConflict) or DynamoDB throttled us.
                retries.pause(refusal)
            continue
        return pending, stale, calls
    return [], stale, calls


def member_info_put(
    channel: str, user_id: str, user_info: Mapping[str, Any], *, now: Callable[[], float] = time.time
) -> TransactWriteItemTypeDef:
    """The write that remembers the ``user_info`` signed into a presence subscription, for the members
    read API, as a ``TransactWriteItems`` entry: /pusher/auth sends it in the same call as its limits
    update (the webhook only ever carries the user id). Kept for ``INFO_TTL_SECONDS`` after the last
    authorization."""
    at = int(now())
    item = attributes(
        {
            "pk": _pk(channel),
            "sk": f"info#{user_id}",
            "channel": channel,
            "user_id": user_id,
            "user_info": compact_json(dict(user_info)),
            "updated_at": at * 1000,
            "expires_at": at + INFO_TTL_SECONDS,
        }
    )
    return {"Put": {"TableName": get_settings().presence_table, "Item": item}}


SIGNIN_SK = "signin"


def signin_facts_put(
    principal: Principal, *, now: Callable[[], float] = time.time
) -> TransactWriteItemTypeDef:
    """The write that remembers who signed in (``pusher:signin``): role, name and class ids from the
    token, under ``pk = user#<user_id>``, ``sk = signin``, kept ``INFO_TTL_SECONDS``. /pusher/user-auth
    sends it in the same call as its limits update; the class watch reads it (``signin_facts``)."""
    at = int(now())
    item = attributes(
        {
            "pk": f"user#{principal.user_id}",
            "sk": SIGNIN_SK,
            "user_id": principal.user_id,
            "role": principal.role,
            "name": principal.name or principal.user_id,
            "signed_in_at": at * 1000,
            "expires_at": at + INFO_TTL_SECONDS,
            "class_ids": set(principal.class_ids) or None,  # DynamoDB keeps no empty set
        }
    )
    return {"Put": {"TableName": get_settings().presence_table, "Item": item}}


@dataclass(frozen=True, slots=True)
class SigninFacts:
    """What the last sign-in of a user said about them (from their token)."""

    user_id: str
    role: str
    name: str
    class_ids: frozenset[str]
    signed_in_at: int | None


def signin_facts(user_ids: Sequence[str], *, now: Callable[[], float] = time.time) -> dict[str, SigninFacts]:
    """The sign-in facts of ``user_ids`` that are still current (``BatchGetItem``, 100 keys a call).

    Raises ``UpstreamUnavailable`` when DynamoDB fails.
    """
    table = get_settings().presence_table
    at = int(now())
    out: dict[str, SigninFacts] = {}
    unique = list(dict.fromkeys(user_ids))
    with guarded("presence", "signin_facts"):
        for start in range(0, len(unique), 100):
            keys: list[Any] = [
                attributes({"pk": f"user#{uid}", "sk": SIGNIN_SK}) for uid in unique[start : start + 100]
            ]
            request: dict[str, Any] = {table: {"Keys": keys}}
            while request:
                answer = dynamodb().batch_get_item(RequestItems=request)
                for item in map(plain, answer.get("Responses", {}).get(table, [])):
                    if item.get("expires_at", 0) < at:
                        continue
                    uid = str(item.get("user_id", ""))
                    out[uid] = SigninFacts(
                        user_id=uid,
                        role=item.get("role") or "student",
                        name=item.get("name") or uid,
                        class_ids=frozenset(item.get("class_ids", ())),
                        signed_in_at=item.get("signed_in_at"),
                    )
                request = dict(answer.get("UnprocessedKeys") or {})
    return out


def remember_member_info(
    channel: str, user_id: str, user_info: Mapping[str, Any], *, now: Callable[[], float] = time.time
) -> None:
    """``member_info_put`` as one ``PutItem``. Raises ``UpstreamUnavailable`` when DynamoDB fails."""
    put = member_info_put(channel, user_id, user_info, now=now)["Put"]
    with guarded("presence", "remember_member_info"):
        dynamodb().put_item(TableName=put["TableName"], Item=put["Item"])


# ----------------------------------------------------------------------------------------------- reads


def channel_state(channel: str, *, now: Callable[[], float] = time.time) -> ChannelRecord:
    """Everything stored about ``channel`` (one strongly consistent ``Query``, paginated if large):
    occupancy, subscription count, members (present and tombstones) with the user info remembered
    for them. Expired items (moto never deletes them; DynamoDB takes up to two days) are ignored.

    Raises ``UpstreamUnavailable`` when DynamoDB fails.
    """
    items = _query(
        {
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": attributes({":pk": _pk(channel)}),
            "ConsistentRead": True,
        }
    )
    records = _group(items, int(now()))
    return records.get(channel, ChannelRecord(name=channel))


def active_channels(prefix: str | None = None) -> list[ChannelRecord]:
    """What is current in every channel whose name starts with ``prefix``: occupied channels, present
    members (without user info) and non-zero subscription counts, from the sparse index (one ``Query``
    per shard, ``_READ_WORKERS`` at a time: the shards are many so that a class start never heats one).
    A channel with present members but no occupancy item has ``occupied=None``.

    Raises ``UpstreamUnavailable`` when DynamoDB fails.
    """

    def shard_items(shard: int) -> list[dict[str, Any]]:
        values: dict[str, Any] = {":g": f"active#{shard}"}
        condition = "gpk = :g"
        if prefix:
            condition += " AND begins_with(gsk, :prefix)"
            values[":prefix"] = prefix
        query = {"IndexName": INDEX_NAME, "KeyConditionExpression": condition}
        return _query({**query, "ExpressionAttributeValues": attributes(values)})

    # The shard queries only wait on the network. A boto3 client is thread-safe but building one is not:
    # build it here first; each query runs in a copy of this context (the request's deadline is a
    # context variable, and picks the client).
    with guarded("presence"):
        dynamodb()
    with ThreadPoolExecutor(max_workers=_READ_WORKERS) as pool:
        found = [pool.submit(contextvars.copy_context().run, shard_items, s) for s in range(INDEX_SHARDS)]
        items = [item for future in found for item in future.result()]
    records = _group(items, int(time.time()))
    return sorted(records.values(), key=lambda r: r.name)


def _query(params: dict[str, Any]) -> list[dict[str, Any]]:
    with guarded("presence", "query"):
        return [plain(item) for item in _pages(params)]


def _pages(params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    request: dict[str, Any] = {"TableName": get_settings().presence_table, **params}
    for page in dynamodb().get_paginator("query").paginate(**request):
        yield from page.get("Items", [])


def _group(items: list[dict[str, Any]], now_seconds: int) -> dict[str, ChannelRecord]:
    """Channel records from the items (plain values) of one or more channels."""
    fields: dict[str, dict[str, Any]] = {}
    members: dict[str, dict[str, MemberRecord]] = {}
    infos: dict[tuple[str, str], dict[str, Any]] = {}
    for item in items:
        channel, sk = item.get("channel"), str(item.get("sk", ""))
        if channel is None:
            continue
        expires = item.get("expires_at")
        expired = expires is not None and expires < now_seconds
        rec = fields.setdefault(channel, {})
        members.setdefault(channel, {})
        if sk == "occupancy" and not expired:
            rec["occupied"] = item.get("state") == _OCCUPIED
            rec["since"] = item.get("since")
            rec["changed_at"] = item.get("t")
        elif sk == "subscriptions" and not expired:
            rec["subscription_count"] = item.get("subscription_count")
            rec["subscriptions_at"] = item.get("t")
        elif sk.startswith("member#") and not expired:
            user_id = item.get("user_id") or sk.removeprefix("member#")
            members[channel][user_id] = MemberRecord(
                user_id=user_id,
                present=item.get("state") == _PRESENT,
                t=item.get("t") or 0,
                joined_at=item.get("joined_at"),
            )
        elif sk.startswith("info#") and not expired:
            raw = item.get("user_info")
            if raw is not None:
                infos[(channel, item.get("user_id") or sk.removeprefix("info#"))] = json.loads(raw)
    out: dict[str, ChannelRecord] = {}
    for channel, rec in fields.items():
        listed = tuple(
            MemberRecord(m.user_id, m.present, m.t, m.joined_at, infos.get((channel, m.user_id)))
            for m in sorted(members[channel].values(), key=lambda m: m.user_id)
        )
        out[channel] = ChannelRecord(name=channel, members=listed, **rec)
    return out
