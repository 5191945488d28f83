"""Per-channel publish limits (``TRIGGER_RATE_LIMIT_PER_MINUTE``): one DynamoDB call per publish.

Each channel has a fixed-window counter in RateLimitTable, the same item layout as
``rate_limits.hit`` (``{pk: "trigger#<channel>#<window start>", used, expires_at}``). The history items
of the publish (``stores.history``) ride in the same call:

* one channel, no history: one conditional ``UpdateItem`` (``rate_limits.hit``);
* otherwise, while counters + history items fit DynamoDB's 100 actions: one ``TransactWriteItems``
  holding a conditional update per channel and a ``Put`` per history item (a single-channel publish with
  history: 2 actions, one call; one event on 10 channels: 20 actions, one call);
* beyond that (one event on 51-100 channels that keep history): the counters' transaction first, then
  the history items in ``BatchWriteItem`` calls of 25 (one event on 100 channels: 1 + 4 = 5 calls).
  History is never written for a publish the limit refused.

Either way the check is atomic: exactly ``limit`` events per channel and window are accepted however
many callers race, and a refused publish consumes nothing on any of its channels and keeps no history.
A transaction cancelled by a *conflict* (two transactions on the same counter at the same instant) is
retried (``stores._dynamodb.ConflictRetries``, ``CONFLICT_RETRIES`` times at most).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..aws import dynamodb
from ..errors import RateLimited
from ..observability import count, logger
from ..settings import get_settings
from . import history as history_store
from . import rate_limits
from ._dynamodb import (
    CONDITION_FAILED_REASON,
    CONFLICT_CODES,
    CONFLICT_RETRIES,
    TRANSACTION_CANCELLED,
    ConflictRetries,
    Refusal,
    StoreUnavailable,
    guarded,
)
from .history import HistoryItem

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

__all__ = ["CONFLICT_RETRIES", "MAX_CHANNELS_PER_CALL", "MAX_TRANSACTION_ACTIONS", "consume", "counter_key"]

MAX_CHANNELS_PER_CALL = 100
"""DynamoDB's limit on the actions of one transaction, and Pusher's on the channels of one trigger."""

MAX_TRANSACTION_ACTIONS = 100
"""DynamoDB's limit on the actions of one ``TransactWriteItems``."""

SCOPE = "trigger"


def counter_key(channel: str) -> str:
    """The counter key of ``channel`` (the window start is appended to it)."""
    return f"{SCOPE}#{channel}"


def consume(
    costs: Mapping[str, int],
    *,
    limit: int | None = None,
    history: Sequence[HistoryItem] = (),
    window_seconds: int = 60,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Count ``costs`` (channel -> events about to be published on it) against the per-channel limit,
    and keep the ``history`` items of the publish when (and only when) it is within the limit.

    ``limit`` defaults to ``TRIGGER_RATE_LIMIT_PER_MINUTE``. All channels are counted, or none.

    Raises ``RateLimited`` (429, code ``channel_rate_limited``, ``Retry-After`` = seconds to the next
    window) naming the channels that are over the limit; ``PublishOutcomeUnknown`` when history items
    written outside the transaction could be neither completed nor removed (``stores.history.keep``);
    ``UpstreamUnavailable`` (503) when
    DynamoDB does not answer; ``ValueError`` for an empty ``costs``, more
    than ``MAX_CHANNELS_PER_CALL`` channels or a cost below 1 (callers validate first).
    """
    if not costs or len(costs) > MAX_CHANNELS_PER_CALL or min(costs.values()) < 1:
        raise ValueError("costs must hold 1-100 channels, each with a cost of at least 1")
    per_window = limit or get_settings().trigger_rate_limit_per_minute
    if len(costs) == 1 and not history:
        ((channel, cost),) = costs.items()
        try:
            rate_limits.hit(
                counter_key(channel),
                limit=per_window,
                window_seconds=window_seconds,
                cost=cost,
                scope=SCOPE,
                clock=clock,
            )
        except RateLimited as exc:
            raise _limited([channel], per_window, window_seconds, exc.retry_after) from exc
        return
    together = len(costs) + len(history) <= MAX_TRANSACTION_ACTIONS
    puts = [history_store.put_action(item) for item in history] if together else []
    _transact(costs, per_window, window_seconds, clock, sleep, puts)
    if history and not together:
        history_store.keep(history)  # all or none; PublishOutcomeUnknown if it cannot be undone


def _transact(
    costs: Mapping[str, int],
    limit: int,
    window_seconds: int,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    puts: Sequence[TransactWriteItemTypeDef] = (),
) -> None:
    start, resets_in = rate_limits.window(clock(), window_seconds)
    channels = list(costs)
    items: list[Any] = [
        {
            "Update": rate_limits.counter_update(
                counter_key(channel),
                start=start,
                window_seconds=window_seconds,
                cost=costs[channel],
                limit=limit,
            )
        }
        for channel in channels
    ]
    items.extend(puts)
    retries = ConflictRetries("rate-limit", sleep)
    while True:
        try:
            with guarded("rate-limit", "consume", expect={TRANSACTION_CANCELLED}):
                dynamodb().transact_write_items(TransactItems=items)
            return
        except Refusal as refusal:
            reasons = refusal.codes()
            if CONDITION_FAILED_REASON in reasons:
                over = [
                    ch for ch, why in zip(channels, reasons, strict=False) if why == CONDITION_FAILED_REASON
                ]
                count("RateLimited", scope=SCOPE)
                raise _limited(over, limit, window_seconds, resets_in) from refusal
            if not CONFLICT_CODES.intersection(reasons):
                logger.error("trigger rate-limit transaction cancelled", extra={"reasons": reasons})
                raise StoreUnavailable("rate-limit") from refusal
            retries.pause(refusal)


def _limited(channels: Sequence[str], limit: int, window_seconds: int, retry_after: int) -> RateLimited:
    shown = ", ".join(channels[:5]) + (f" and {len(channels) - 5} more" if len(channels) > 5 else "")
    return RateLimited(
        f"The limit of {limit} events per channel per {window_seconds} s is reached on {shown}; "
        f"nothing was published. Retry in {retry_after} s.",
        code="channel_rate_limited",
        retry_after=retry_after,
        details={"channels": list(channels), "limit": limit, "window_seconds": window_seconds},
    )
