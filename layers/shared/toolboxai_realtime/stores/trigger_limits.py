"""Per-channel publish limits (``TRIGGER_RATE_LIMIT_PER_MINUTE``): leased in blocks, not one call a publish.

Each channel has a fixed-window counter in RateLimitTable, the same item layout as
``rate_limits.hit`` (``{pk: "trigger#<channel>#<window start>", used, expires_at}``). ``used`` counts the
allowance *leased* by all instances (``lease``); each instance spends its leases from its
``allowance.LeaseBook`` (``consume(..., book=...)``), so a publish goes to DynamoDB for the limit only
when its instance's allowance on one of its channels is short. The history items of the publish
(``stores.history``) ride in that lease call when there is one:

* one channel, no history: one conditional ``UpdateItem``;
* otherwise, while counters + history items fit DynamoDB's 100 actions: one ``TransactWriteItems``
  holding a conditional update per short channel and a ``Put`` per history item;
* beyond that (one event on 51-100 channels that keep history): the counters' transaction first, then
  the history items in ``BatchWriteItem`` calls of 25 (one event on 100 channels: 1 + 4 = 5 calls).
* a publish the book covers: no call for the limit; its history items alone (``stores.history.keep``,
  one ``BatchWriteItem`` per 25), still before the publish.

History is never written for a publish the limit refused. The lease is atomic: the counter never exceeds
``limit`` however many callers race, and a refused publish consumes nothing on any of its channels and
keeps no history. In one instance exactly ``limit`` events per channel and window are accepted; with
several, allowance leased by an instance and not spent before the window ends is lost, so *fewer* may be
accepted, never more (``toolboxai_realtime.allowance``). A transaction cancelled by a *conflict* (two
transactions on the same counter at the same instant) is retried (``stores._dynamodb.ConflictRetries``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..allowance import Ask, Exhausted, LeaseBook, Leased
from ..aws import dynamodb
from ..errors import RateLimited, UpstreamUnavailable
from ..observability import count, logger
from ..settings import get_settings
from . import history as history_store
from . import rate_limits
from ._dynamodb import (
    CONDITION_FAILED,
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

__all__ = [
    "CONFLICT_RETRIES",
    "MAX_CHANNELS_PER_CALL",
    "MAX_TRANSACTION_ACTIONS",
    "consume",
    "counter_key",
    "lease",
]

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
    book: LeaseBook | None = None,
) -> None:
    """Count ``costs`` (channel -> events about to be published on it) against the per-channel limit,
    and keep the ``history`` items of the publish when (and only when) it is within the limit.

    ``limit`` defaults to ``TRIGGER_RATE_LIMIT_PER_MINUTE``. All channels are counted, or none. ``book``
    is the instance's leased allowance (``toolboxai_realtime.allowance``): a publish it covers makes no
    DynamoDB call for the limit, and only its history items (if any) are written, before it returns.
    Without a book every publish leases exactly its cost (one call, history included, as above).

    Raises ``RateLimited`` (429, code ``channel_rate_limited``, ``Retry-After`` = seconds to the next
    window) naming the channels that are over the limit; ``PublishOutcomeUnknown`` when history items
    written outside the transaction could be neither completed nor removed (``stores.history.keep``);
    ``StoreUnavailable`` (503) when DynamoDB does not answer; ``ValueError`` for an empty ``costs``,
    more than ``MAX_CHANNELS_PER_CALL`` channels or a cost below 1 (callers validate first).
    """
    if not costs or len(costs) > MAX_CHANNELS_PER_CALL or min(costs.values()) < 1:
        raise ValueError("costs must hold 1-100 channels, each with a cost of at least 1")
    per_window = limit or get_settings().trigger_rate_limit_per_minute
    book = book or LeaseBook()
    start, resets_in = rate_limits.window(clock(), window_seconds)
    kept_in_lease = False

    def lease_with_history(at: int, asks: Mapping[str, Ask]) -> Leased:
        nonlocal kept_in_lease
        together = bool(history) and len(asks) + len(history) <= MAX_TRANSACTION_ACTIONS
        result = lease(
            asks,
            limit=per_window,
            window_start=at,
            window_seconds=window_seconds,
            history=history if together else (),
            sleep=sleep,
        )
        kept_in_lease = together and not result.short
        return result

    try:
        taken = book.take(costs, window_start=start, limit=per_window, lease=lease_with_history)
    except Exhausted as exc:
        count("RateLimited", scope=SCOPE)
        raise _limited(exc.channels, per_window, window_seconds, resets_in) from exc
    if history and not kept_in_lease:
        try:
            history_store.keep(history)  # all or none; PublishOutcomeUnknown if it cannot be undone
        except UpstreamUnavailable:
            book.give_back(taken)  # nothing is published: the allowance is this instance's again
            raise


def lease(
    asks: Mapping[str, Ask],
    *,
    limit: int,
    window_start: int,
    window_seconds: int = 60,
    history: Sequence[HistoryItem] = (),
    sleep: Callable[[float], None] = time.sleep,
) -> Leased:
    """Lease allowance on every channel of ``asks`` in the window starting at ``window_start`` (epoch
    seconds), all or none, writing the ``history`` items in the same call: ``toolboxai_realtime.allowance``.

    Each channel's counter (``rate_limits.counter_update``: ``{pk: "trigger#<channel>#<window start>",
    used, expires_at}``) gets ``ADD used :block`` under ``used <= limit - block``, so the total leased
    per window never exceeds ``limit``. One channel without history: one ``UpdateItem``; otherwise one
    ``TransactWriteItems`` (channels + history items <= 100 actions; the caller sees to it). When a
    counter's condition fails, its old ``used`` comes back with the failure
    (``ReturnValuesOnConditionCheckFailure=ALL_OLD``): if at least the ask's ``need`` is left, the call
    is repeated leasing exactly what is left; otherwise the answer is ``Leased(short=[...])`` and nothing
    was written. Transaction conflicts are retried (``stores._dynamodb.ConflictRetries``).

    Returns ``Leased`` (``granted``: channel -> units, between ``need`` and ``block``). Raises
    ``StoreUnavailable`` (503) when DynamoDB fails or does not answer.
    """
    channels = list(asks)
    amounts = {channel: ask.block for channel, ask in asks.items()}
    puts = [history_store.put_action(item) for item in history]
    retries = ConflictRetries("rate-limit", sleep)
    while True:
        updates: list[Any] = [
            {
                "Update": {
                    **rate_limits.counter_update(
                        counter_key(channel),
                        start=window_start,
                        window_seconds=window_seconds,
                        cost=amounts[channel],
                        limit=limit,
                    ),
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            }
            for channel in channels
        ]
        try:
            with guarded("rate-limit", "lease", expect={CONDITION_FAILED, TRANSACTION_CANCELLED}):
                if len(updates) == 1 and not puts:
                    dynamodb().update_item(**updates[0]["Update"])
                else:
                    dynamodb().transact_write_items(TransactItems=[*updates, *puts])
            return Leased(granted=dict(amounts))
        except Refusal as refusal:
            failed = _failed_counters(refusal, channels, limit)
            if not failed:
                if not CONFLICT_CODES.intersection(refusal.codes()):
                    logger.error("trigger rate-limit lease cancelled", extra={"reasons": refusal.codes()})
                    raise StoreUnavailable("rate-limit") from refusal
                retries.pause(refusal)
                continue
            short = []
            for channel, used in failed.items():
                left = limit - used
                if left < asks[channel].need:
                    short.append(channel)
                elif left >= amounts[channel]:  # the store contradicts itself: do not loop on it
                    logger.error("trigger rate-limit counter unreadable", extra={"channel": channel})
                    raise StoreUnavailable("rate-limit") from refusal
                else:
                    amounts[channel] = left
            if short:
                return Leased(short=short)
            # someone leased first: lease exactly what is left


def _failed_counters(refusal: Refusal, channels: Sequence[str], limit: int) -> dict[str, int]:
    """channel -> the ``used`` it held, for each counter whose condition failed (none read: ``limit``,
    i.e. treated as full, so an unreadable answer refuses rather than over-leases)."""
    if refusal.code == CONDITION_FAILED:
        return {channels[0]: int((refusal.item or {}).get("used", limit))}
    return {
        channel: int((reason.item or {}).get("used", limit))
        for channel, reason in zip(channels, refusal.reasons, strict=False)
        if reason.code == CONDITION_FAILED_REASON
    }


def _limited(channels: Sequence[str], limit: int, window_seconds: int, retry_after: int) -> RateLimited:
    shown = ", ".join(channels[:5]) + (f" and {len(channels) - 5} more" if len(channels) > 5 else "")
    return RateLimited(
        f"The limit of {limit} events per channel per {window_seconds} s is reached on {shown}; "
        f"nothing was published. Retry in {retry_after} s.",
        code="channel_rate_limited",
        retry_after=retry_after,
        details={"channels": list(channels), "limit": limit, "window_seconds": window_seconds},
    )
