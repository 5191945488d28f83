"""Time budgets: every outbound call ends before the invocation has to answer.

An entry point opens an invocation deadline with ``invocation(context, budget_seconds)``: the earlier of
``budget_seconds`` from now (the route's own budget: ``API_BUDGET_SECONDS`` for the HTTP API,
``WEBHOOK_BUDGET_SECONDS`` for Pusher's webhooks) and the function's remaining time
(``context.get_remaining_time_in_millis()``) less ``RESERVE_SECONDS`` kept to answer. Outbound calls
read it:

- AWS (DynamoDB, Secrets Manager, Lambda, the Management API): ``toolboxai_realtime.aws`` picks, per
  call, the client whose botocore ``Config`` (connect timeout, read timeout, ``total_max_attempts`` in
  standard retry mode) has a worst case that fits the time left (``AttemptPlan.worst_case_seconds``),
  and a ``before-send`` hook refuses any attempt (retries included) once the deadline has passed
  (``aws.DeadlineExceeded``: botocore lives in ``aws`` and ``stores`` only);
- Pusher's HTTP API: the SDK client's per-request timeout is the time left, capped by
  ``PUSHER_TIMEOUT_SECONDS`` (the SDK makes one attempt, no retries).

So a stalled dependency costs at most the budget, and the caller gets our own JSON 503 with
``Retry-After`` (the stores' and ``pusher_timeout``) instead of a killed function and API
Gateway's bare 503. Outside an invocation deadline (tests, tools) the largest plan applies.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass
from functools import wraps
from typing import Any, Protocol, TypeVar

API_BUDGET_SECONDS = 6.0
"""HTTP API routes: the functions time out at 10 s (template.yaml); 6 s leaves room to answer."""
WEBHOOK_BUDGET_SECONDS = 3.0
"""Pusher gives a webhook delivery 4 s (then counts it as failed); we answer within 3 s."""
WHOLE_INVOCATION = math.inf
"""Scheduled and asynchronous functions: the function's own remaining time is the budget."""
RESERVE_SECONDS = 0.5
"""Kept back from the function's remaining time to build and send the answer."""


class _Context(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


@dataclass(frozen=True)
class AttemptPlan:
    """How botocore may spend a budget: ``attempts`` tries of at most ``connect`` + ``read`` seconds."""

    attempts: int
    connect: float
    read: float

    @property
    def worst_case_seconds(self) -> float:
        # botocore's standard retry mode sleeps random() * 2**(n-1) s before retry n: at most 1 s, 2 s, ...
        backoff = sum(2.0**n for n in range(self.attempts - 1))
        return self.attempts * (self.connect + self.read) + backoff


PLANS: tuple[AttemptPlan, ...] = (
    AttemptPlan(attempts=3, connect=1.0, read=3.0),  # 15 s: no deadline (scheduled jobs, tools)
    AttemptPlan(attempts=2, connect=0.5, read=1.75),  # 5.5 s: fits an API budget
    # 2.75 s, fits a webhook budget: one long attempt rather than two short ones. A 20-item transaction
    # can take moto over a second (docs/benchmarks.md), and Pusher itself retries a failed delivery.
    AttemptPlan(attempts=1, connect=0.25, read=2.5),
    AttemptPlan(attempts=1, connect=0.25, read=0.75),  # 1 s
    AttemptPlan(attempts=1, connect=0.1, read=0.3),  # 0.4 s: the last useful try
)
"""From the largest to the smallest; DynamoDB answers in milliseconds, so even the last one is generous."""

_deadline: ContextVar[float | None] = ContextVar("toolboxai_realtime_deadline", default=None)


@contextmanager
def invocation(context: _Context | None, budget_seconds: float) -> Iterator[float]:
    """Open the deadline of one invocation; yields the seconds it allows. Nested uses keep the earlier."""
    now = time.monotonic()
    allowed = budget_seconds
    if context is not None:
        # A context without a clock (a test's stand-in): the budget alone.
        with suppress(AttributeError, TypeError, ValueError):
            allowed = min(allowed, context.get_remaining_time_in_millis() / 1000 - RESERVE_SECONDS)
    deadline = now + max(0.0, allowed)
    current = _deadline.get()
    token = _deadline.set(deadline if current is None else min(current, deadline))
    try:
        yield max(0.0, allowed)
    finally:
        _deadline.reset(token)


F = TypeVar("F", bound=Callable[..., Any])


def bounded(budget_seconds: float) -> Callable[[F], F]:
    """Decorate a Lambda handler ``(event, context)``: its outbound calls share ``budget_seconds``."""

    def decorate(handler: F) -> F:
        @wraps(handler)
        def wrapper(event: Any, context: Any, *args: Any, **kwargs: Any) -> Any:
            with invocation(context, budget_seconds):
                return handler(event, context, *args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def remaining() -> float | None:
    """Seconds left before the deadline (may be negative), or ``None`` outside any deadline."""
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()


def plan() -> AttemptPlan | None:
    """The largest plan whose worst case fits the time left; ``None`` when not even the last one does."""
    left = remaining()
    if left is None:
        return PLANS[0]
    for candidate in PLANS:
        if candidate.worst_case_seconds <= left:
            return candidate
    return None


def call_timeout(cap_seconds: float, floor_seconds: float = 0.1) -> float:
    """A per-request timeout for a single-attempt call (Pusher): the time left, at most ``cap_seconds``,
    at least ``floor_seconds``; rounded down to 0.25 s so that clients can be cached per value."""
    left = remaining()
    if left is None:
        return cap_seconds
    return max(floor_seconds, min(cap_seconds, int(left * 4) / 4))
