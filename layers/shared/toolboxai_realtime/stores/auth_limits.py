"""Per-user limits of the auth endpoints, in one DynamoDB item and one conditional ``UpdateItem``.

Two limits guard ``POST /pusher/auth`` and ``POST /pusher/user-auth``:

* **Requests**: at most ``limit`` auth requests per user per fixed minute window (a batch is one
  request). The counter of window ``w = floor(now / 60)`` is the attribute ``r<w>``.
* **Connections**: at most ``cap`` distinct socket ids per user holding a *lease*. A socket takes or
  renews its lease on every successful auth; the lease lapses after inactivity.

Leases are tracked in string sets named by lease bucket ``b = floor(now / L)`` (``L`` is
``CONNECTION_LEASE_SECONDS``). Every auth ADDs its socket id to the set of the current bucket ``s<b>``
*and* of the next one ``s<b+1>``. So at any moment ``s<b>`` holds exactly the sockets that authorized
in the previous bucket or in this one: the live sockets, in a single attribute. That lets the
condition itself decide the cap (``size(s<b>) < cap OR contains(s<b>, sid)``), exactly and atomically,
and a refused socket is never written (the condition fails before anything is). A socket's lease thus
lasts between ``L`` and ``2 L`` seconds after its last auth, and a refused socket can retry once a
bucket boundary has let older leases lapse (that is its ``Retry-After``).

The update also REMOVEs the counters and sets that can no longer matter (the names of the windows and
buckets between the previous possible request and this one) and moves ``expires_at`` (the table's TTL)
to the end of the last live bucket, so an idle user's item disappears on its own.

**Limitation.** Pusher webhooks carry no socket ids, so a disconnect cannot free a lease early, and a
connection that stays open without authorizing again stops being counted after its lease lapses. The
cap therefore bounds how many sockets a user can get *authorized* within one lease, which is what
stops one token from opening sockets without limit; it is not an exact count of open connections.

One call per request, always: the outcome (allowed; over the request limit; over the connection cap)
is read from the item the call returns (``ALL_NEW`` on success, ``ALL_OLD`` with the condition
failure). When the request also has items to write with it (the ``user_info`` a presence
subscription signed, for the members read API; a sign-in's facts: ``stores.presence`` builds them) or
guards to check (the revocation ``ConditionCheck``s of ``stores.revocations``: the auth endpoints always
ask for them), this module composes the update, the guards and those puts into one
``TransactWriteItems`` instead: still one call, and nothing is written
when a limit or a guard refuses. DynamoDB's ``CancellationReasons`` (one per item, in order) say which:
a failed guard is ``Refused``, a failed update the rate limit or the connection cap (read from the
update's ``ALL_OLD`` item). Only a ``TransactionConflict`` (another request of the same user in flight)
is retried (``stores._dynamodb.ConflictRetries``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..aws import dynamodb
from ..errors import RateLimited
from ..settings import get_settings
from . import presence, revocations
from ._direct import transact_write_items
from ._dynamodb import (
    CONDITION_FAILED,
    CONDITION_FAILED_REASON,
    CONFLICT_CODES,
    TRANSACTION_CANCELLED,
    ConflictRetries,
    Refusal,
    StoreUnavailable,
    attributes,
    guarded,
    plain,
)

if TYPE_CHECKING:
    from ..identity import Principal

__all__ = [
    "MAX_TRANSACTION_ITEMS",
    "RATE_WINDOW_SECONDS",
    "Admission",
    "MemberInfo",
    "Refused",
    "admit",
    "item_key",
]

RATE_WINDOW_SECONDS = 60
"""The request limit is per fixed minute (``AUTH_RATE_LIMIT_PER_MINUTE``)."""

MAX_TRANSACTION_ITEMS = 100
"""DynamoDB's limit on one ``TransactWriteItems``: the limits update, the revocation checks (the whole
user, and each class and lesson of the granted channels) and the presence infos."""

_MAX_STALE_COUNTERS = 32  # keeps the expression small for long leases; the TTL collects the rest


@dataclass(frozen=True, slots=True)
class Admission:
    """What one admitted request left behind.

    ``requests`` counts this request; ``connections`` is the number of live sockets including this one,
    or ``None`` when the request registered no socket. A transactional admission (with items) learns
    neither (DynamoDB transactions return no attributes): both are ``None`` then.
    """

    requests: int | None
    limit: int
    resets_in: int
    connections: int | None
    cap: int


@dataclass(frozen=True, slots=True)
class MemberInfo:
    """The ``user_info`` signed into a presence subscription of ``channel``, to remember for the members
    read API (``stores.presence.member_info_put``)."""

    channel: str
    user_id: str
    user_info: Mapping[str, Any]


class Refused(Exception):
    """The user is revoked for ``scopes`` (the revocation checks that failed): nothing was counted or
    written."""

    def __init__(self, scopes: tuple[str, ...]) -> None:
        super().__init__(f"revoked for {scopes}")
        self.scopes = scopes


def item_key(user_id: str) -> str:
    """The partition key of a user's limits item in the rate-limit table."""
    return f"auth-limits#{user_id}"


def admit(
    user_id: str,
    socket_id: str | None,
    *,
    limit: int,
    cap: int,
    lease_seconds: int,
    clock: Callable[[], float] = time.time,
    member_infos: Sequence[MemberInfo] = (),
    signin: Principal | None = None,
    scopes: Sequence[str] = (),
    issued_at: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Admission:
    """Count one auth request of ``user_id`` and, when ``socket_id`` is given, take or renew its lease.

    Exactly one DynamoDB call: an ``UpdateItem``, or, when there is anything to write or check with it,
    one ``TransactWriteItems`` holding the update, a revocation ``ConditionCheck`` per scope in
    ``scopes`` (``stores.revocations.condition_checks`` for a token issued at ``issued_at``), the
    ``member_infos`` and the sign-in facts of ``signin`` (``stores.presence``): all written or none.
    Scopes beyond the transaction's 100 actions are not checked, and infos beyond them not remembered.
    Pass ``socket_id=None`` for a request that authorizes nothing (it still counts toward the request
    limit, but holds no lease).

    Raises ``RateLimited`` with code ``rate_limited`` (``Retry-After``: seconds to the next minute) when
    the user has used up ``limit`` requests of this minute, or with code ``too_many_connections``
    (``Retry-After``: seconds to the next lease bucket) when ``socket_id`` is new and ``cap`` sockets
    already hold leases; nothing is counted or leased in either case. Raises ``Refused`` with the
    revoked scopes when a revocation check fails (checked before the limits: a revoked user learns
    that, not a rate limit), and ``UpstreamUnavailable`` (503) when DynamoDB does not answer, refuses
    the call or keeps reporting conflicts.
    """
    now = clock()
    window = int(now // RATE_WINDOW_SECONDS)
    bucket = int(now // lease_seconds)
    rate_resets_in = max(1, math.ceil((window + 1) * RATE_WINDOW_SECONDS - now))
    lease_resets_in = max(1, math.ceil((bucket + 1) * lease_seconds - now))
    counter = f"r{window}"
    update = _update(user_id, socket_id, counter, window, bucket, limit, cap, lease_seconds)
    checked = list(dict.fromkeys(scopes))[: MAX_TRANSACTION_ITEMS - 1]
    guards = revocations.condition_checks(user_id, checked, issued_at, now=clock)
    writes: list[Any] = [presence.signin_facts_put(signin, now=clock)] if signin is not None else []
    writes += [presence.member_info_put(i.channel, i.user_id, i.user_info, now=clock) for i in member_infos]
    writes = writes[: MAX_TRANSACTION_ITEMS - 1 - len(guards)]

    retries = ConflictRetries("rate-limit", sleep)
    while True:
        try:
            with guarded(
                "rate-limit", "admit", expect={CONDITION_FAILED, TRANSACTION_CANCELLED, *CONFLICT_CODES}
            ):
                if guards or writes:
                    actions: list[Any] = [{"Update": update}, *guards, *writes]
                    # The hot call of every auth, without the client's per-call machinery (_direct).
                    transact_write_items(dynamodb(), actions)
                    return Admission(None, limit, rate_resets_in, None, cap)
                result = dynamodb().update_item(**update, ReturnValues="ALL_NEW")
            break
        except Refusal as refusal:
            reasons = refusal.codes()
            revoked = tuple(
                scope
                for scope, reason in zip(checked, reasons[1 : 1 + len(guards)], strict=False)
                if reason == CONDITION_FAILED_REASON
            )
            if revoked:
                raise Refused(revoked) from refusal
            if CONFLICT_CODES.intersection([refusal.code, *reasons]):
                retries.pause(refusal)
                continue
            old = refusal.reasons[0].item if refusal.reasons else refusal.item
            if refusal.code == CONDITION_FAILED or reasons[:1] == [CONDITION_FAILED_REASON]:
                raise _refusal(old, counter, limit, cap, rate_resets_in, lease_resets_in) from refusal
            raise StoreUnavailable("rate-limit") from refusal

    item = plain(result.get("Attributes", {}))
    return Admission(
        requests=item.get(counter, 0),
        limit=limit,
        resets_in=rate_resets_in,
        connections=len(item.get(f"s{bucket}", ())) if socket_id is not None else None,
        cap=cap,
    )


def _update(
    user_id: str,
    socket_id: str | None,
    counter: str,
    window: int,
    bucket: int,
    limit: int,
    cap: int,
    lease_seconds: int,
) -> dict[str, Any]:
    """The conditional ``Update`` of the user's limits item (the module docstring says how it works)."""
    current = f"s{bucket}"
    names = {"#r": counter, "#exp": "expires_at"}
    values: dict[str, Any] = {
        ":one": 1,
        ":limit": limit,
        # The item matters until the later of: the end of this minute, the end of the next bucket.
        ":exp": max((window + 1) * RATE_WINDOW_SECONDS, (bucket + 2) * lease_seconds),
    }
    adds = ["#r :one"]
    condition = "(attribute_not_exists(#r) OR #r < :limit)"
    if socket_id is not None:
        names |= {"#cur": current, "#next": f"s{bucket + 1}"}
        values |= {":sids": {socket_id}, ":sid": socket_id, ":cap": cap}
        adds.append("#cur :sids, #next :sids")
        condition += " AND (attribute_not_exists(#cur) OR size(#cur) < :cap OR contains(#cur, :sid))"
    stale = _stale_names(window, bucket, lease_seconds)
    stale_refs = [f"#x{i}" for i in range(len(stale))]
    names |= dict(zip(stale_refs, stale, strict=True))
    return {
        "TableName": get_settings().rate_limit_table,
        "Key": attributes({"pk": item_key(user_id)}),
        "UpdateExpression": f"ADD {', '.join(adds)} SET #exp = :exp REMOVE {', '.join(stale_refs)}",
        "ConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": attributes(values),
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }


def _stale_names(window: int, bucket: int, lease_seconds: int) -> list[str]:
    """Counters and sets that earlier requests may have left and that no longer matter.

    An item outlives its last request by at most two lease buckets (``expires_at``), so a request made
    while the item still lives follows the previous one by fewer than ``2 L`` seconds: the counters of
    the windows in that span and the two buckets before the current one cover everything it can have
    written. (Leases longer than 15 minutes remove only the last 32 counters, and an item DynamoDB has
    not yet deleted after its TTL may keep a few older names: nothing reads them, and the TTL removes
    them with the item.)
    """
    windows_back = min(_MAX_STALE_COUNTERS, math.ceil(2 * lease_seconds / RATE_WINDOW_SECONDS) + 1)
    counters = [f"r{window - k}" for k in range(1, windows_back + 1)]
    return [*counters, f"s{bucket - 1}", f"s{bucket - 2}"]


def _refusal(
    item: Any, counter: str, limit: int, cap: int, rate_resets_in: int, lease_resets_in: int
) -> RateLimited:
    """Which half of the condition failed, read from the item as it was (``ALL_OLD``)."""
    old = item if isinstance(item, dict) else {}
    # No item in the answer should not happen (a missing item passes both halves); reading it as
    # rate-limited is the conservative choice.
    if not old or int(old.get(counter, 0)) >= limit:
        return RateLimited(
            f"At most {limit} auth requests per minute; retry in {rate_resets_in} s.",
            code="rate_limited",
            retry_after=rate_resets_in,
        )
    return _too_many_connections(cap, lease_resets_in)


def _too_many_connections(cap: int, lease_resets_in: int) -> RateLimited:
    return RateLimited(
        f"At most {cap} connections per user; close one or retry in {lease_resets_in} s.",
        code="too_many_connections",
        retry_after=lease_resets_in,
    )
