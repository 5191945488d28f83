"""Event ids: a ULID on every published event, minted before anything is sent.

An event id is a ULID (https://github.com/ulid/spec): 26 characters of Crockford base32, 48 bits of
Unix time in milliseconds followed by 80 random bits, so ids sort as text by the time they were minted.
They come from ``python-ulid``'s ``ULIDGenerator``:

* **Randomness from ``os.urandom``** (the library's default), never from ``random`` state: under Lambda
  SnapStart every restored environment shares the snapshot's memory, and ids must still differ. Nothing
  is minted at import time.
* **Monotonic within a process**: two ids minted in the same millisecond are ordered by incrementing the
  random part (``LaxMonotonicPolicy``: on the 2^80 overflow it draws fresh randomness instead of raising),
  and the clock given to the generator never goes backwards (``_MonotonicClock``: an NTP step back keeps
  the last millisecond). So ids minted one after the other by one process are strictly increasing.
* **Across processes** ids are ordered by their clocks' milliseconds, ties broken at random: two
  publishes from two Lambda instances in the same millisecond have no defined order (Pusher itself
  gives none to concurrent HTTP calls).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from ulid import ULID, LaxMonotonicPolicy, ULIDGenerator

__all__ = [
    "EVENT_ID_LENGTH",
    "EVENT_ID_PATTERN",
    "EventIdGenerator",
    "Reuse",
    "floor_id",
    "is_event_id",
    "milliseconds",
    "new_event_id",
    "new_event_ids",
    "published_at",
]

EVENT_ID_LENGTH = 26
EVENT_ID_PATTERN = r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$"
"""A canonical ULID: Crockford base32 upper case; the first character is 0-7 (48-bit time)."""
_EVENT_ID = re.compile(EVENT_ID_PATTERN[1:-1])


class _MonotonicClock:
    """Wall-clock milliseconds that never go backwards within the process."""

    def __init__(self, clock: Callable[[], int]) -> None:
        self._clock = clock
        self._last = 0
        self._lock = threading.Lock()

    def __call__(self) -> int:
        with self._lock:
            self._last = max(self._last, self._clock())
            return self._last


class EventIdGenerator:
    """Mints strictly increasing event ids (see the module docstring). Thread-safe.

    ``clock`` returns Unix time in milliseconds (default: the system clock); tests inject one.
    """

    def __init__(self, clock: Callable[[], int] | None = None) -> None:
        self._generator = ULIDGenerator(
            clock=_MonotonicClock(clock or (lambda: time.time_ns() // 1_000_000)),
            policy=LaxMonotonicPolicy(),
        )

    def new(self) -> str:
        """One new event id."""
        return str(self._generator.generate())

    def many(self, count: int) -> list[str]:
        """``count`` new event ids, in increasing order."""
        return [self.new() for _ in range(count)]


class Reuse:
    """An id source (``Publisher.trigger(..., id_source=Reuse(ids))``) that gives ``ids`` again: the
    retry of a publish whose outcome was unknown, under its first ids.

    ``reused`` tells the publisher these ids may already have been delivered, so a refused retry leaves
    their history in place (it may be the only copy a disconnected client can still get).
    """

    reused = True

    def __init__(self, ids: Sequence[str], *, reused: bool = True) -> None:
        self.ids = list(ids)
        self.reused = reused

    def __call__(self, size: int) -> list[str]:
        if size != len(self.ids):
            raise ValueError(f"{len(self.ids)} event ids kept, {size} events to publish")
        return list(self.ids)


_default: EventIdGenerator | None = None
_default_lock = threading.Lock()


def _generator() -> EventIdGenerator:
    global _default  # one generator per process is what makes ids monotonic
    with _default_lock:
        if _default is None:
            _default = EventIdGenerator()
        return _default


def new_event_id() -> str:
    """A new event id from the process's generator (strictly greater than any it minted before)."""
    return _generator().new()


def new_event_ids(count: int) -> list[str]:
    """``count`` new event ids from the process's generator, increasing."""
    return _generator().many(count)


def is_event_id(value: object) -> bool:
    """Whether ``value`` is a canonical event id (a 26-character upper-case ULID)."""
    return isinstance(value, str) and _EVENT_ID.fullmatch(value) is not None


def milliseconds(event_id: str) -> int:
    """The Unix time in milliseconds at which ``event_id`` was minted. Raises ``ValueError`` if invalid."""
    if not is_event_id(event_id):
        raise ValueError("not an event id")
    return ULID.from_str(event_id).milliseconds


def published_at(event_id: str) -> datetime:
    """The UTC time at which ``event_id`` was minted (its publish time). Raises ``ValueError``."""
    return datetime.fromtimestamp(milliseconds(event_id) / 1000, tz=UTC)


def floor_id(ms: int) -> str:
    """The smallest event id of millisecond ``ms``: every id minted at ``ms`` or later sorts above it."""
    return str(ULID.from_bytes(max(ms, 0).to_bytes(6, "big") + bytes(10)))
