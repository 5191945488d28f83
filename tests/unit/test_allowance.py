"""The lease book (toolboxai_realtime.allowance) against an in-memory store with DynamoDB's rule."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

import pytest

from toolboxai_realtime.allowance import Ask, Exhausted, LeaseBook, Leased
from toolboxai_realtime.stores.rate_limits import window

W = 1_000_020  # a window start (60 s windows)


class Store:
    """RateLimitTable's counters as ``stores.trigger_limits.lease`` uses them: per (channel, window), add
    the block if the counter stays within the limit, else exactly what is left if that covers the need,
    all channels or none."""

    def __init__(self, limit: int, *, delay: float = 0.0) -> None:
        self.limit = limit
        self.delay = delay
        self.used: dict[tuple[str, int], int] = {}
        self.asks: list[dict[str, Ask]] = []
        self._lock = threading.Lock()

    def __call__(self, start: int, asks: Mapping[str, Ask]) -> Leased:
        if self.delay:
            time.sleep(self.delay)  # let other threads interleave, as a network round trip does
        with self._lock:
            self.asks.append(dict(asks))
            left = {ch: self.limit - self.used.get((ch, start), 0) for ch in asks}
            short = [ch for ch, ask in asks.items() if left[ch] < ask.need]
            if short:
                return Leased(short=short)
            granted = {ch: min(ask.block, left[ch]) for ch, ask in asks.items()}
            for ch, n in granted.items():
                self.used[(ch, start)] = self.used.get((ch, start), 0) + n
            return Leased(granted=granted)


def accept(book: LeaseBook, costs: Mapping[str, int], store: Store, start: int = W) -> bool:
    try:
        book.take(costs, window_start=start, limit=store.limit, lease=store)
    except Exhausted:
        return False
    return True


def test_window_start_is_the_fixed_window_of_the_epoch():
    assert window(1_000_040.5, 60)[0] == W
    assert window(1_000_020.0, 60)[0] == W
    assert window(1_000_019.9, 60)[0] == W - 60


def test_blocks_grow_geometrically_up_to_an_eighth_of_the_limit():
    store, book = Store(1000), LeaseBook()
    for _ in range(1000):
        assert accept(book, {"c": 1}, store)
    blocks = [ask["c"].block for ask in store.asks]
    assert blocks[:8] == [1, 2, 4, 8, 16, 32, 64, 125]
    assert set(blocks[8:]) <= {125}
    assert len(store.asks) == 14  # 1 + 2 + ... + 64 = 127, then 7 blocks of 125 (the last one 123)
    assert store.used[("c", W)] == 1000
    assert book.left("c", W) == 0
    assert not accept(book, {"c": 1}, store)


def test_a_quiet_channel_leases_only_what_it_publishes():
    store, book = Store(1000), LeaseBook()
    assert accept(book, {"quiet": 3}, store)
    assert store.asks == [{"quiet": Ask(need=3, block=3)}]
    assert store.used[("quiet", W)] == 3
    assert book.left("quiet", W) == 0


def test_less_than_a_block_left_leases_exactly_the_remainder():
    store, book = Store(16), LeaseBook()  # blocks up to 2
    store.used[("c", W)] = 13  # other instances leased 13
    assert accept(book, {"c": 1}, store)  # block 1
    assert accept(book, {"c": 1}, store)  # block 2: only 2 left
    assert store.used[("c", W)] == 16
    assert accept(book, {"c": 1}, store)  # the last unit, held locally
    assert len(store.asks) == 2
    assert not accept(book, {"c": 1}, store)
    assert store.used[("c", W)] == 16


def test_a_cost_larger_than_what_is_left_is_refused_and_takes_nothing():
    store, book = Store(10), LeaseBook()
    store.used[("c", W)] = 8
    with pytest.raises(Exhausted) as info:
        book.take({"c": 3}, window_start=W, limit=10, lease=store)
    assert info.value.channels == ["c"]
    assert store.used[("c", W)] == 8
    assert accept(book, {"c": 2}, store)


def test_a_refused_publish_takes_nothing_on_any_channel():
    store, book = Store(16), LeaseBook()
    for _ in range(2):
        assert accept(book, {"a": 1}, store)  # blocks 1, then 2: one unit of a left locally
    assert book.left("a", W) == 1
    store.used[("b", W)] = 16  # b is exhausted by other instances
    with pytest.raises(Exhausted) as info:
        book.take({"a": 1, "b": 1}, window_start=W, limit=16, lease=store)
    assert info.value.channels == ["b"]
    assert book.left("a", W) == 1  # a's local allowance is untouched
    assert store.used[("a", W)] == 3
    assert accept(book, {"a": 1}, store)


def test_a_publish_leases_all_its_short_channels_in_one_call():
    store, book = Store(800), LeaseBook()
    assert accept(book, {"a": 1}, store)
    assert accept(book, {"a": 1, "b": 2, "c": 1}, store)  # a short (0 left), b and c new
    assert store.asks[-1] == {"a": Ask(1, 2), "b": Ask(2, 2), "c": Ask(1, 1)}
    assert book.left("a", W) == 1


def test_the_next_window_starts_again_and_forgets_the_last_one():
    store, book = Store(1000), LeaseBook()
    for _ in range(4):
        assert accept(book, {"c": 1}, store)  # leases 1, 2, 4: 3 units left unspent
    assert book.left("c", W) == 3
    assert accept(book, {"c": 1}, store, start=W + 60)
    assert store.asks[-1] == {"c": Ask(need=1, block=1)}  # a new window starts with a block of 1
    assert book.left("c", W) == 0  # the unspent 3 are lost: fewer accepted, never more
    assert store.used[("c", W)] == 7


def test_a_failing_lease_takes_nothing_and_gives_back_what_was_held():
    store, book = Store(100), LeaseBook()
    assert accept(book, {"a": 1}, store)
    assert accept(book, {"a": 1}, store)  # a: 1 left
    assert book.left("a", W) == 1

    def broken(start: int, asks: Mapping[str, Ask]) -> Leased:
        raise RuntimeError("store down")

    with pytest.raises(RuntimeError):
        book.take({"a": 2}, window_start=W, limit=100, lease=broken)
    assert book.left("a", W) == 1


def test_give_back_returns_what_a_publish_took():
    store, book = Store(100), LeaseBook()
    taken = book.take({"a": 3}, window_start=W, limit=100, lease=store)
    assert taken.leased
    book.give_back(taken)
    assert book.left("a", W) == 3
    again = book.take({"a": 2}, window_start=W, limit=100, lease=store)
    assert not again.leased
    assert len(store.asks) == 1


@pytest.mark.parametrize("costs", [{}, {"a": 0}, {"a": 1, "b": -1}])
def test_bad_costs_are_a_programming_error(costs):
    with pytest.raises(ValueError, match="costs"):
        LeaseBook().take(costs, window_start=W, limit=5, lease=Store(5))


def test_exactly_the_limit_is_accepted_when_20_threads_race_on_one_book():
    store, book = Store(1000, delay=0.0005), LeaseBook()
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda _: accept(book, {"c": 1}, store), range(1020)))
    assert results.count(True) == 1000
    assert store.used[("c", W)] == 1000
    assert book.left("c", W) == 0


def test_several_books_never_accept_more_than_the_limit():
    store = Store(400, delay=0.0005)
    books = [LeaseBook() for _ in range(4)]
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda i: accept(books[i % 4], {"c": 1}, store), range(600)))
    left = sum(book.left("c", W) for book in books)
    assert store.used[("c", W)] == 400  # every unit of the window was leased ...
    assert results.count(True) == 400 - left  # ... and each one was spent or is still held
    assert left <= 4 * (400 // 8)  # at most one block per instance is lost
