"""The DynamoDB mechanics every store shares, so that a store holds only its keys, expressions,
conditions and records.

* **Errors** — ``guarded(store)`` turns every botocore failure into ``StoreUnavailable`` (503 with
  ``Retry-After``, logged by error code, never the request), except the codes a store asks to handle
  itself (``expect=``), which leave as ``Refusal`` (a failed condition, a cancelled transaction) with
  the per-action ``CancellationReasons`` and the ``ALL_OLD`` item already read.
* **Conflicts** — ``ConflictRetries``: the one retry policy for transactions that collide with
  another writer (``CONFLICT_RETRIES`` more tries, exponential back-off with jitter, injectable sleep).
* **Attributes** — ``attributes`` / ``plain``: boto3's ``TypeSerializer`` / ``TypeDeserializer``, with
  whole numbers read back as ``int`` (DynamoDB numbers come back as ``Decimal``) and ``None`` values left
  out of what is written (an absent attribute, not a ``NULL`` one).

The other stores and ``toolboxai_realtime.aws`` are the only modules that import botocore.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError, ConnectionClosedError, ReadTimeoutError

from ..errors import UpstreamUnavailable
from ..observability import logger

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

__all__ = [
    "CONDITION_FAILED",
    "CONFLICT_CODES",
    "CONFLICT_RETRIES",
    "TRANSACTION_CANCELLED",
    "ConflictRetries",
    "Reason",
    "Refusal",
    "StoreUnavailable",
    "attributes",
    "guarded",
    "may_have_landed",
    "plain",
]

CONDITION_FAILED = "ConditionalCheckFailedException"
"""The error code of a single write whose condition did not hold."""
TRANSACTION_CANCELLED = "TransactionCanceledException"
"""The error code of a cancelled transaction (``CancellationReasons`` say why, per action)."""
CONDITION_FAILED_REASON = "ConditionalCheckFailed"
"""The cancellation reason of a transaction action whose condition did not hold."""
CONFLICT_CODES = frozenset({"TransactionConflict", "TransactionConflictException"})
"""Another transaction holds the item: the reason inside a cancelled transaction, and the error code of
a single write that met one."""

CONFLICT_RETRIES = 3
"""How many more tries a conflicting write gets before the store answers 503."""
_BACKOFF_SECONDS = 0.02  # the first pause; doubles per retry: at most 0.02 + 0.04 + 0.08 s in all


class StoreUnavailable(UpstreamUnavailable):
    """A DynamoDB store did not answer, or answered with an error the caller cannot fix (503,
    ``Retry-After``). The message names the store; ``cause`` is what went wrong (DynamoDB's error code,
    or the botocore error type: for operators, never for the response), ``__cause__`` the botocore
    error itself."""

    default_code = "store_unavailable"

    def __init__(self, store: str, cause: str | None = None) -> None:
        super().__init__(f"The {store} store is unavailable.")
        self.cause = cause


@dataclass(frozen=True, slots=True)
class Reason:
    """Why one action of a cancelled transaction failed: ``code`` (``"None"`` when it did not) and the
    item as it was, when the action asked for it (``ReturnValuesOnConditionCheckFailure``)."""

    code: str
    item: dict[str, Any] | None = None


class Refusal(Exception):
    """DynamoDB refused a call for a reason the store handles itself (``guarded(expect=…)``).

    ``code`` is the error code; ``reasons`` the per-action reasons of a cancelled transaction (empty
    otherwise); ``item`` the stored item a failed single write returned (``ALL_OLD``), as plain values.
    """

    def __init__(
        self, code: str, reasons: tuple[Reason, ...] = (), item: dict[str, Any] | None = None
    ) -> None:
        super().__init__(code)
        self.code = code
        self.reasons = reasons
        self.item = item

    def codes(self) -> list[str]:
        """The cancellation reason codes, one per action, in order."""
        return [reason.code for reason in self.reasons]


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _refusal(exc: ClientError) -> Refusal:
    answer: Mapping[str, Any] = exc.response
    raw = answer.get("CancellationReasons") or []
    reasons = tuple(
        Reason(str(r.get("Code") or "None"), plain(r["Item"]) if r.get("Item") else None) for r in raw
    )
    old = answer.get("Item")
    return Refusal(_error_code(exc), reasons, plain(old) if old else None)


@contextmanager
def guarded(store: str, operation: str | None = None, *, expect: Collection[str] = ()) -> Iterator[None]:
    """Run DynamoDB calls of ``store`` (its name in messages: ``"rate-limit"``, ``"presence"`` …).

    Raises ``Refusal`` for a ``ClientError`` whose code is in ``expect``, and ``StoreUnavailable`` for
    every other botocore error (``ClientError`` or ``BotoCoreError``: no answer, no credentials, the
    invocation's deadline spent), logged with the store, the operation and the error code or type.
    """
    try:
        yield
    except ClientError as exc:
        code = _error_code(exc)
        if code in expect:
            raise _refusal(exc) from exc
        logger.error("store failed", extra={"store": store, "operation": operation, "error_code": code})
        raise StoreUnavailable(store, code) from exc
    except BotoCoreError as exc:
        logger.error(
            "store unreachable",
            extra={"store": store, "operation": operation, "error_type": type(exc).__name__},
        )
        raise StoreUnavailable(store, type(exc).__name__) from exc


def may_have_landed(exc: BaseException) -> bool:
    """Whether the call behind ``exc`` (a ``StoreUnavailable``) may have been applied: it was sent and
    no answer came back. An error answer, no connection or no credentials wrote nothing."""
    return isinstance(exc.__cause__, ReadTimeoutError | ConnectionClosedError)


class ConflictRetries:
    """The conflict-retry policy of every store: up to ``CONFLICT_RETRIES`` more tries, pausing
    ``0.02 * 2**n`` seconds (jittered to between half and all of it, so that two colliding writers do
    not collide again) before retry ``n``.

    Use one per write: ``pause(refusal)`` before each retry; it raises ``StoreUnavailable`` (from the
    refusal) once the retries are spent.
    """

    def __init__(self, store: str, sleep: Callable[[float], None] = time.sleep) -> None:
        self.store = store
        self.sleep = sleep
        self.used = 0

    def pause(self, refusal: Exception) -> None:
        """Wait before the next try, or raise ``StoreUnavailable`` when there is none left."""
        if self.used >= CONFLICT_RETRIES:
            logger.error("store kept conflicting", extra={"store": self.store, "tries": self.used + 1})
            raise StoreUnavailable(self.store) from refusal
        jitter = random.SystemRandom().uniform(0.5, 1.0)  # os.urandom: SnapStart restores share no seed
        self.sleep(_BACKOFF_SECONDS * 2**self.used * jitter)
        self.used += 1


_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def attributes(values: Mapping[str, Any]) -> dict[str, AttributeValueTypeDef]:
    """``values`` as DynamoDB attribute values (an item, a key or ``ExpressionAttributeValues``).

    ``None`` values are left out. Python ``set``s become string or number sets, ``list``s lists,
    ``dict``s maps. Raises ``TypeError`` for a ``float`` (boto3 wants ``Decimal``; nothing here keeps one).
    """
    return {name: _serializer.serialize(value) for name, value in values.items() if value is not None}


def plain(item: Mapping[str, Any]) -> dict[str, Any]:
    """An item (or ``Attributes``) as plain Python values: whole numbers as ``int``, sets as ``set``."""
    return {name: _whole(_deserializer.deserialize(value)) for name, value in item.items()}


def _whole(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else value
    if isinstance(value, dict):
        return {key: _whole(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_whole(inner) for inner in value]
    if isinstance(value, set):
        return {_whole(inner) for inner in value}
    return value
