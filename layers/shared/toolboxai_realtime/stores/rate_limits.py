"""Fixed-window rate-limit counters in DynamoDB: one conditional ``UpdateItem`` per check.

The counter for ``key`` in window ``w`` is the item ``{pk: "<key>#<w>"}``; the update adds ``cost`` only
if the result stays within the limit, so concurrent callers can never push it past the limit (exactly
``limit`` requests are accepted however many race). Items expire through the table's TTL.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError

from ..aws import dynamodb
from ..errors import RateLimited, UpstreamUnavailable
from ..observability import count, logger
from ..settings import get_settings


@dataclass(frozen=True)
class Window:
    """Where a counter stands after a successful hit."""

    used: int
    limit: int
    resets_in: int


def _window(now: float, seconds: int) -> tuple[int, int]:
    start = int(now // seconds) * seconds
    return start, start + seconds - int(now)


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
    now = clock()
    start, resets_in = _window(now, window_seconds)
    table = get_settings().rate_limit_table
    try:
        result = dynamodb().update_item(
            TableName=table,
            Key={"pk": {"S": f"{key}#{start}"}},
            UpdateExpression="ADD used :cost SET expires_at = if_not_exists(expires_at, :ttl)",
            ConditionExpression="attribute_not_exists(used) OR used <= :room",
            ExpressionAttributeValues={
                ":cost": {"N": str(cost)},
                ":room": {"N": str(limit - cost)},
                ":ttl": {"N": str(start + window_seconds * 2)},
            },
            ReturnValues="UPDATED_NEW",
        )
    except ClientError as exc:
        error_code = exc.response.get("Error", {}).get("Code")
        if error_code == "ConditionalCheckFailedException":
            count("RateLimited", scope=scope)
            raise RateLimited(
                f"Rate limit of {limit} per {window_seconds} s reached; retry in {resets_in} s.",
                retry_after=resets_in,
            ) from exc
        logger.error(
            "rate-limit store failed", extra={"error_code": exc.response.get("Error", {}).get("Code")}
        )
        raise UpstreamUnavailable("The rate-limit store is unavailable.", code="store_unavailable") from exc
    except BotoCoreError as exc:
        logger.error("rate-limit store unreachable", extra={"error_type": type(exc).__name__})
        raise UpstreamUnavailable("The rate-limit store is unavailable.", code="store_unavailable") from exc
    used = int(result["Attributes"]["used"]["N"])
    return Window(used=used, limit=limit, resets_in=resets_in)
