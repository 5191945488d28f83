"""Fixed-window rate-limit counters in DynamoDB: one conditional ``UpdateItem`` per check.

The counter for ``key`` in window ``w`` is the item ``{pk: "<key>#<w>"}``; the update adds ``cost`` only
if the result stays within the limit, so concurrent callers can never push it past the limit (exactly
``limit`` requests are accepted however many race). Items expire through the table's TTL.
``counter_update`` builds that update for both limiters that count this way (this one and
``stores.trigger_limits``, which puts several of them in one transaction).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..aws import dynamodb
from ..errors import RateLimited
from ..observability import count
from ..settings import get_settings
from ._dynamodb import CONDITION_FAILED, Refusal, attributes, guarded, plain


@dataclass(frozen=True)
class Window:
    """Where a counter stands after a successful hit."""

    used: int
    limit: int
    resets_in: int


def window(now: float, seconds: int) -> tuple[int, int]:
    """The fixed window holding ``now``: its start (epoch seconds) and the seconds until the next one."""
    start = int(now // seconds) * seconds
    return start, start + seconds - int(now)


def counter_update(key: str, *, start: int, window_seconds: int, cost: int, limit: int) -> dict[str, Any]:
    """The conditional ``Update`` that adds ``cost`` to the counter of ``key`` in the window starting at
    ``start``, only if the counter stays within ``limit``; the item expires two windows later."""
    return {
        "TableName": get_settings().rate_limit_table,
        "Key": attributes({"pk": f"{key}#{start}"}),
        "UpdateExpression": "ADD used :cost SET expires_at = if_not_exists(expires_at, :ttl)",
        "ConditionExpression": "attribute_not_exists(used) OR used <= :room",
        "ExpressionAttributeValues": attributes(
            {":cost": cost, ":room": limit - cost, ":ttl": start + window_seconds * 2}
        ),
    }


def hit(
    key: str,
    *,
    limit: int,
    window_seconds: int = 60,
    cost: int = 1,
    scope: str = "request",
    clock: Callable[[], float] = time.time,
) -> Window:
    """Count ``cost`` against ``key`` in the current window, or raise ``RateLimited``.

    Raises ``RateLimited`` (with ``Retry-After`` = seconds to the next window) when the limit would be
    exceeded, and ``UpstreamUnavailable`` when DynamoDB does not answer.
    """
    start, resets_in = window(clock(), window_seconds)
    update = counter_update(key, start=start, window_seconds=window_seconds, cost=cost, limit=limit)
    try:
        with guarded("rate-limit", "hit", expect={CONDITION_FAILED}):
            result = dynamodb().update_item(**update, ReturnValues="UPDATED_NEW")
    except Refusal as exc:
        count("RateLimited", scope=scope)
        raise RateLimited(
            f"Rate limit of {limit} per {window_seconds} s reached; retry in {resets_in} s.",
            retry_after=resets_in,
        ) from exc
    return Window(used=plain(result["Attributes"])["used"], limit=limit, resets_in=resets_in)
