"""Leased publish allowance: this instance's share of ``TRIGGER_RATE_LIMIT_PER_MINUTE``, held in memory.

The per-channel limit is counted in RateLimitTable (``stores.trigger_limits``), but not one publish at a
time: an instance *leases* a block of allowance for a (channel, window) with one conditional write and
then spends it locally, so most publishes make no DynamoDB call for the limit at all.

* **Leasing** (``Lease``, in production ``stores.trigger_limits.lease``): the store adds the block to the
  window's counter only if the counter stays within the limit; when less than a block is left it leases
  exactly what is left. The counter therefore holds what all instances together have *leased*, and
  never exceeds the limit, however many instances and threads race.
* **Spending** (``LeaseBook.take``): a publish takes its cost on every channel from the book, all or
  nothing: a refused publish takes nothing on any channel. Only when a channel's local allowance is
  short does it lease, for all its short channels in one call (if a lease of the channel is already
  under way in this book, it waits for that one to land first instead of leasing beside it). The units
  it needs are its own at once (other threads cannot take them between the lease and the publish); the
  rest of the block goes to the book.
* **Block size**: per (channel, window) the first lease is the cost of the publish, and every further
  lease twice the previous block, up to ``limit // BLOCK_DIVISOR`` (at least 1). A quiet channel leases
  one event at a time; a busy one at a limit of 1,000 goes to DynamoDB 14 times a window when its
  publishes come one after another (1 + 2 + ... + 64, then blocks of 125; 20 threads racing in one
  book made 35 calls in the integration test). A block is at most twice the previous one (or the publish's
  own cost), so the unspent allowance an instance holds is about what it already spent in the window.
* **Refusal** (``Exhausted``): a publish is refused only when the store could not lease what it is short
  of *and*, once every lease of that channel still in flight in this book has landed, the book cannot
  cover it either. In one instance that is exactly the old rule: of 1,020 racing publishes at a limit of
  1,000, exactly 1,000 are accepted.

What is inexact, and in which direction: allowance an instance leased and did not spend before its
window ends is lost (the instance is recycled, or the channel goes quiet). With several instances
publishing on one channel, fewer than ``limit`` events may therefore be accepted in a window (a Lambda
instance, one request at a time, loses at most one block, and a block is at most
``limit // BLOCK_DIVISOR``); more than ``limit`` never are. Windows are the counter's fixed windows
(``stores.rate_limits.window``), named by their start on every call.

Thread-safe: one lock per book; the store call runs outside it. A Lambda instance serves one request at a
time, so the lock matters for the local gateway and for services that publish from threads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

__all__ = ["BLOCK_DIVISOR", "Ask", "Exhausted", "Lease", "LeaseBook", "Leased", "Taken"]

BLOCK_DIVISOR = 8
"""The largest block leased at once is ``limit // BLOCK_DIVISOR`` (at least 1)."""


@dataclass(frozen=True)
class Ask:
    """What a publish asks the store for on one channel: ``need`` units at least, ``block`` if there is
    room (``block >= need >= 1``)."""

    need: int
    block: int


@dataclass(frozen=True)
class Leased:
    """The store's answer to one lease call, for all the channels asked.

    Either ``granted`` (channel -> units leased, each between the ask's ``need`` and ``block``) and no
    ``short``, or ``short`` (the channels with fewer than ``need`` units left in the window) and nothing
    leased on any channel.
    """

    granted: Mapping[str, int] = field(default_factory=dict)
    short: Sequence[str] = ()


Lease = Callable[[int, Mapping[str, Ask]], Leased]
"""``lease(window_start, asks)``: lease on every channel of ``asks`` in the window starting at
``window_start`` (epoch seconds), all or none. Raises whatever the store raises when it fails."""


class Exhausted(Exception):
    """The publish is over the limit on ``channels``; nothing was taken."""

    def __init__(self, channels: Sequence[str], window_start: int) -> None:
        super().__init__(f"allowance exhausted on {', '.join(channels)}")
        self.channels = list(channels)
        self.window_start = window_start


@dataclass(frozen=True)
class Taken:
    """What a publish took: its ``costs`` in the window starting at ``window_start``; ``leased`` when it
    made the store call (which may have carried other writes of the publish)."""

    window_start: int
    costs: Mapping[str, int]
    leased: bool


@dataclass
class _Channel:
    left: int = 0  # leased, not yet taken
    block: int = 0  # the last block leased (0: none yet in this window)
    in_flight: int = 0  # lease calls of this book under way for this (channel, window)


class LeaseBook:
    """The allowance this instance has leased and not spent, per (channel, window).

    The book has no clock: every call names its window by its start (``stores.rate_limits.window``),
    and a ``take`` in a later window forgets the earlier ones (their unspent allowance is lost).
    """

    def __init__(self) -> None:
        self._entries: dict[tuple[str, int], _Channel] = {}
        self._changed = threading.Condition()

    def left(self, channel: str, window_start: int) -> int:
        """The units held and not spent on ``channel`` in the window starting at ``window_start``."""
        with self._changed:
            entry = self._entries.get((channel, window_start))
            return entry.left if entry else 0

    def take(self, costs: Mapping[str, int], *, window_start: int, limit: int, lease: Lease) -> Taken:
        """Take ``costs`` (channel -> units, each >= 1) in the window starting at ``window_start`` (epoch
        seconds), leasing what the book is short of.

        ``limit`` is the per-channel limit per window (it sets the largest block). ``lease`` is called at
        most once, outside the lock, with only the short channels. Raises ``Exhausted`` (nothing taken on
        any channel) when the publish is over the limit, ``ValueError`` for no costs, a cost below 1 or a
        limit below 1, and whatever ``lease`` raises (nothing taken).
        """
        if not costs or min(costs.values()) < 1 or limit < 1:
            raise ValueError("costs must be at least 1 per channel and limit at least 1")
        start = window_start
        cap = max(1, limit // BLOCK_DIVISOR)
        with self._changed:
            self._forget_before(start)
            # A short channel with a lease of this book under way: wait for it to land rather than
            # lease beside it (one round trip either way, and one DynamoDB call instead of many).
            self._changed.wait_for(lambda: self._covers(costs, start) or not self._awaited(costs, start))
            if self._covers(costs, start):
                self._spend(costs, start)
                return Taken(start, dict(costs), leased=False)
            held: dict[str, int] = {}
            asks: dict[str, Ask] = {}
            for channel, cost in costs.items():
                entry = self._entries.setdefault((channel, start), _Channel())
                held[channel] = min(entry.left, cost)
                entry.left -= held[channel]
                need = cost - held[channel]
                if need:
                    asks[channel] = Ask(need=need, block=max(need, min(cap, entry.block * 2)))
                    entry.in_flight += 1
        try:
            result = lease(start, asks)
        except BaseException:
            with self._changed:
                self._landed(asks, start)
                self._give(held, start)
            raise
        with self._changed:
            self._landed(asks, start)
            if not result.short:
                for channel, ask in asks.items():
                    granted = result.granted[channel]
                    entry = self._entries[(channel, start)]
                    entry.left += granted - ask.need
                    entry.block = max(entry.block, granted)
                return Taken(start, dict(costs), leased=True)
            self._give(held, start)
            # Leases of these channels by other threads may still land: wait for them, then look again.
            self._changed.wait_for(lambda: not any(self._in_flight(ch, start) for ch in result.short))
            if self._covers(costs, start):
                self._spend(costs, start)
                return Taken(start, dict(costs), leased=False)
            raise Exhausted(result.short, start)

    def give_back(self, taken: Taken) -> None:
        """Return what a publish took (it was not published after all), if its window is still held."""
        with self._changed:
            self._give(taken.costs, taken.window_start)

    # --- under the lock

    def _forget_before(self, start: int) -> None:
        stale = [key for key, entry in self._entries.items() if key[1] < start and not entry.in_flight]
        for key in stale:
            del self._entries[key]

    def _covers(self, costs: Mapping[str, int], start: int) -> bool:
        return all(
            (entry := self._entries.get((channel, start))) is not None and entry.left >= cost
            for channel, cost in costs.items()
        )

    def _spend(self, costs: Mapping[str, int], start: int) -> None:
        for channel, cost in costs.items():
            self._entries[(channel, start)].left -= cost

    def _give(self, units: Mapping[str, int], start: int) -> None:
        for channel, n in units.items():
            entry = self._entries.get((channel, start))
            if entry is not None and n:
                entry.left += n
        self._changed.notify_all()

    def _landed(self, asks: Mapping[str, Ask], start: int) -> None:
        for channel in asks:
            self._entries[(channel, start)].in_flight -= 1
        self._changed.notify_all()

    def _awaited(self, costs: Mapping[str, int], start: int) -> bool:
        """Whether a channel the book cannot cover has a lease under way."""
        return any(
            (entry := self._entries.get((channel, start))) is not None
            and entry.left < cost
            and entry.in_flight
            for channel, cost in costs.items()
        )

    def _in_flight(self, channel: str, start: int) -> bool:
        entry = self._entries.get((channel, start))
        return entry is not None and entry.in_flight > 0
