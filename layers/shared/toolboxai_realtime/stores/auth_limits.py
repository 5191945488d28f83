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
subscription signed, for the members read API; a sign-in's facts) or guards to check (the revocation
``ConditionCheck``s of ``stores.revocations``: the auth endpoints always pass them), the update, the
guards and those puts go in one ``TransactWriteItems`` instead: still one call, and nothing is written
when a limit or a guard refuses. DynamoDB's ``CancellationReasons`` (one per item, in order) say which:
a failed guard is ``Refused``, a failed update the rate limit or the connection cap (read from the
update's ``ALL_OLD`` item). Only a ``TransactionConflict`` (another request of the same user in flight)
is retried, at most twice.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from ..aws import dynamodb
from ..errors import RateLimited, UpstreamUnavailable
from ..observability import logger
from ..settings import get_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, TransactWriteItemTypeDef

__all__ = ["RATE_WINDOW_SECONDS", "Admission", "Refused", "admit", "item_key"]

RATE_WINDOW_SECONDS = 60
"""The request limit is per fixed minute (``AUTH_RATE_LIMIT_PER_MINUTE``)."""

_CONFLICT_RETRIES = 2
_CONFLICTS = {"TransactionConflict", "TransactionConflictException"}
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


class Refused(Exception):
    """Guards of the transaction failed (``guards`` indexes): nothing was counted or written."""

    def __init__(self, guards: tuple[int, ...]) -> None:
        super().__init__(f"guards {guards} failed")
        self.guards = guards


def item_key(user_id: str) -> str:
    """The partition key of a user's limits item in the rate-limit table."""
    return f"auth-limits#{user_id}"


def admit(  # noqa: C901, PLR0915  (the DynamoDB toolkit (issue 12, goal 1) moves its transaction building out)
    user_id: str,
    socket_id: str | None,
    *,
    limit: int,
    cap: int,
    lease_seconds: int,
    clock: Callable[[], float] = time.time,
    with_items: Sequence[TransactWriteItemTypeDef] = (),
    guards: Sequence[TransactWriteItemTypeDef] = (),
) -> Admission:
    """Count one auth request of ``user_id`` and, when ``socket_id`` is given, take or renew its lease.

    Exactly one DynamoDB ``UpdateItem`` (or, with ``with_items``, one ``TransactWriteItems`` holding the
    update and those items, all written or none). Pass ``socket_id=None`` for a request that authorizes
    nothing (it still counts toward the request limit, but holds no lease).

    Raises ``RateLimited`` with code ``rate_limited`` (``Retry-After``: seconds to the next minute) when
    the user has used up ``limit`` requests of this minute, or with code ``too_many_connections``
    (``Retry-After``: seconds to the next lease bucket) when ``socket_id`` is new and ``cap`` sockets
    already hold leases; nothing is counted or leased in either case.

    ``guards`` are ``ConditionCheck`` entries (``stores.revocations.condition_checks``) that go in the
    same transaction, right after the update: when one fails nothing is written and ``Refused`` is
    raised with the indexes of the failed guards (checked before the limits: a revoked user learns
    that, not a rate limit). Raises ``UpstreamUnavailable``
    (code ``store_unavailable``) when DynamoDB does not answer or refuses the call.
    """
    now = clock()
    window = int(now // RATE_WINDOW_SECONDS)
    bucket = int(now // lease_seconds)
    rate_resets_in = max(1, math.ceil((window + 1) * RATE_WINDOW_SECONDS - now))
    lease_resets_in = max(1, math.ceil((bucket + 1) * lease_seconds - now))
    counter = f"r{window}"
    current = f"s{bucket}"

    names = {"#r": counter, "#exp": "expires_at"}
    values: dict[str, AttributeValueTypeDef] = {
        ":one": {"N": "1"},
        ":limit": {"N": str(limit)},
        # The item matters until the later of: the end of this minute, the end of the next bucket.
        ":exp": {"N": str(max((window + 1) * RATE_WINDOW_SECONDS, (bucket + 2) * lease_seconds))},
    }
    adds = ["#r :one"]
    condition = "(attribute_not_exists(#r) OR #r < :limit)"
    if socket_id is not None:
        names |= {"#cur": current, "#next": f"s{bucket + 1}"}
        values |= {":sids": {"SS": [socket_id]}, ":sid": {"S": socket_id}, ":cap": {"N": str(cap)}}
        adds.append("#cur :sids, #next :sids")
        condition += " AND (attribute_not_exists(#cur) OR size(#cur) < :cap OR contains(#cur, :sid))"
    stale = _stale_names(window, bucket, lease_seconds)
    stale_refs = [f"#x{i}" for i in range(len(stale))]
    names |= dict(zip(stale_refs, stale, strict=True))

    update: dict[str, Any] = {
        "TableName": get_settings().rate_limit_table,
        "Key": {"pk": {"S": item_key(user_id)}},
        "UpdateExpression": f"ADD {', '.join(adds)} SET #exp = :exp REMOVE {', '.join(stale_refs)}",
        "ConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    for attempt in range(_CONFLICT_RETRIES + 1):
        try:
            if with_items or guards:
                transaction: list[Any] = [{"Update": update}, *guards, *with_items]
                dynamodb().transact_write_items(TransactItems=transaction)
                return Admission(None, limit, rate_resets_in, None, cap)
            result = dynamodb().update_item(**update, ReturnValues="ALL_NEW")
            break
        except ClientError as exc:
            error = exc.response.get("Error", {}).get("Code")
            old_item = exc.response.get("Item")
            reasons = exc.response.get("CancellationReasons") or []
            if error == "TransactionCanceledException" and reasons:
                failed_guards = tuple(
                    i
                    for i, reason in enumerate(reasons[1 : 1 + len(guards)])
                    if reason.get("Code") == "ConditionalCheckFailed"
                )
                if failed_guards:
                    raise Refused(failed_guards) from exc
                error = reasons[0].get("Code") or error
                old_item = reasons[0].get("Item")
                if any(r.get("Code") == "TransactionConflict" for r in reasons):
                    error = "TransactionConflict"
            if error in {"ConditionalCheckFailedException", "ConditionalCheckFailed"}:
                raise _refusal(old_item, counter, limit, cap, rate_resets_in, lease_resets_in) from exc
            if error in _CONFLICTS and attempt < _CONFLICT_RETRIES:
                time.sleep(random.uniform(0.005, 0.03) * (attempt + 1))  # noqa: S311 - jitter, not crypto
                continue
            logger.error("auth-limits store failed", extra={"error_code": error})
            raise UpstreamUnavailable(
                "The rate-limit store is unavailable.", code="store_unavailable"
            ) from exc
        except BotoCoreError as exc:
            logger.error("auth-limits store unreachable", extra={"error_type": type(exc).__name__})
            raise UpstreamUnavailable(
                "The rate-limit store is unavailable.", code="store_unavailable"
            ) from exc

    item = result.get("Attributes", {})
    return Admission(
        requests=_number(item.get(counter)),
        limit=limit,
        resets_in=rate_resets_in,
        connections=len(item.get(current, {}).get("SS", [])) if socket_id is not None else None,
        cap=cap,
    )


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


def _number(value: Any) -> int:
    if isinstance(value, dict) and "N" in value:
        return int(value["N"])
    return 0


def _refusal(
    item: Any, counter: str, limit: int, cap: int, rate_resets_in: int, lease_resets_in: int
) -> RateLimited:
    """Which half of the condition failed, read from the item as it was (``ALL_OLD``)."""
    old = item if isinstance(item, dict) else {}
    # No item in the answer should not happen (a missing item passes both halves); reading it as
    # rate-limited is the conservative choice.
    if not old or _number(old.get(counter)) >= limit:
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
