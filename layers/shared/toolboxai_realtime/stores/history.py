"""HistoryTable: the events published on channels that keep history, for ``HISTORY_RETENTION``.

One item per (channel, event): ``{pk: <channel>, sk: <event_id>, event, data, expires_at}``. ``data`` is
the exact JSON text Pusher received (the ``event_id`` inside it), so history gives back byte for byte what
a connected client got. ``sk`` is the event id, a ULID, so a channel's items are in id order, which is
mint order (``toolboxai_realtime.event_ids``); ``expires_at`` (epoch seconds) is the table's TTL.

Writes are not made here alone: ``put_action`` gives the ``Put`` of one item for a ``TransactWriteItems``
(the publisher folds it into the rate-limit call, ``stores.trigger_limits.consume``), ``write`` puts items
outside a transaction (``BatchWriteItem``, 25 at a time), ``delete`` removes the items of a publish that
Pusher refused. A rewritten item (the retry of a publish, same event id) is identical to the first one.

Reads (``query``) never return an expired item: DynamoDB deletes expired items up to a few days late and
moto never does, so the key condition starts at the retention floor (the smallest event id minted
``HISTORY_RETENTION`` ago) and a filter drops items whose ``expires_at`` has passed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from ..aws import dynamodb
from ..errors import PublishOutcomeUnknown, UpstreamUnavailable
from ..event_ids import floor_id, milliseconds
from ..observability import logger
from ..settings import get_settings
from ._dynamodb import StoreUnavailable, attributes, guarded, may_have_landed, plain

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef, WriteRequestTypeDef

__all__ = [
    "BATCH_WRITE_ITEMS",
    "HistoryItem",
    "StoredEvent",
    "delete",
    "keep",
    "put_action",
    "query",
    "write",
]

BATCH_WRITE_ITEMS = 25
"""DynamoDB's limit on the requests of one ``BatchWriteItem``."""
_UNPROCESSED_RETRIES = 3


@dataclass(frozen=True)
class HistoryItem:
    """One event to keep: ``data`` is the JSON text Pusher receives (with its ``event_id``)."""

    channel: str
    event_id: str
    event: str
    data: str

    def expires_at(self, retention_seconds: int) -> int:
        """Epoch seconds after which the item is gone: its publish time plus the retention."""
        return milliseconds(self.event_id) // 1000 + retention_seconds


@dataclass(frozen=True)
class StoredEvent:
    """One event read back: the event id, the event name and the data text as Pusher received it."""

    event_id: str
    event: str
    data: str


def _attributes(item: HistoryItem, retention_seconds: int) -> dict[str, Any]:
    return attributes(
        {
            "pk": item.channel,
            "sk": item.event_id,
            "event": item.event,
            "data": item.data,
            "expires_at": item.expires_at(retention_seconds),
        }
    )


def put_action(item: HistoryItem) -> TransactWriteItemTypeDef:
    """The ``Put`` of ``item`` as one action of a ``TransactWriteItems`` (unconditional: a retry with the
    same event id rewrites the same item)."""
    s = get_settings()
    return {"Put": {"TableName": s.history_table, "Item": _attributes(item, s.history_retention)}}


def write(items: Sequence[HistoryItem]) -> int:
    """Put ``items`` outside a transaction: ``BatchWriteItem`` calls of up to 25, unprocessed items retried.

    Returns the number of DynamoDB calls made. Raises ``UpstreamUnavailable`` (503) when DynamoDB fails
    or leaves items unprocessed after the retries.
    """
    s = get_settings()
    requests: list[WriteRequestTypeDef] = [
        {"PutRequest": {"Item": _attributes(item, s.history_retention)}} for item in items
    ]
    return _batch(s.history_table, requests)


def keep(items: Sequence[HistoryItem]) -> None:
    """Write all of ``items`` or none: ``write``, and on failure ``delete`` what may have been written.

    A first call that failed without possibly reaching DynamoDB (an error answer, no connection, no
    credentials) wrote nothing and needs no undoing. Raises
    ``UpstreamUnavailable`` (503) when the write failed and nothing is left, and
    ``PublishOutcomeUnknown`` (504) when it could not be undone: some items may then be in history.
    """
    try:
        write(items)
    except UpstreamUnavailable as exc:
        # Only a first call that may have been applied (sent, then no answer) can have written anything:
        # an error answer, no connection, no credentials or a bad request wrote nothing.
        if isinstance(exc, _BatchFailed) and exc.succeeded == 0 and not may_have_landed(exc):
            raise
        try:
            delete(items)
        except UpstreamUnavailable as undo:
            raise PublishOutcomeUnknown(
                "The history store failed part way; the events may be in history although they were "
                "not sent to Pusher."
            ) from undo
        raise


class _BatchFailed(StoreUnavailable):
    """The history store failed, knowing how many ``BatchWriteItem`` calls had succeeded before."""

    def __init__(self, succeeded: int) -> None:
        super().__init__("history")
        self.succeeded = succeeded


def delete(items: Sequence[HistoryItem]) -> int:
    """Remove ``items`` (a publish Pusher refused). Returns the calls made; raises ``UpstreamUnavailable``."""
    s = get_settings()
    requests: list[WriteRequestTypeDef] = [
        {"DeleteRequest": {"Key": attributes({"pk": item.channel, "sk": item.event_id})}} for item in items
    ]
    return _batch(s.history_table, requests)


def _batch(table: str, requests: list[WriteRequestTypeDef]) -> int:
    calls = 0
    succeeded = 0
    for start in range(0, len(requests), BATCH_WRITE_ITEMS):
        pending = requests[start : start + BATCH_WRITE_ITEMS]
        for attempt in range(_UNPROCESSED_RETRIES + 1):
            calls += 1
            try:
                with guarded("history", "batch_write"):
                    out = dynamodb().batch_write_item(RequestItems={table: pending})
            except StoreUnavailable as exc:
                raise _BatchFailed(succeeded) from exc.__cause__
            succeeded += 1
            pending = cast("list[WriteRequestTypeDef]", out.get("UnprocessedItems", {}).get(table, []))
            if not pending:
                break
            if attempt < _UNPROCESSED_RETRIES:
                time.sleep(0.02 * 2**attempt)
        else:
            logger.error("history store left items unprocessed", extra={"items": len(pending)})
            raise StoreUnavailable("history")
    return calls


def query(
    channel: str,
    *,
    after: str | None,
    limit: int,
    newest_first: bool,
    clock: Callable[[], float] = time.time,
) -> list[StoredEvent]:
    """Up to ``limit`` unexpired events of ``channel`` with an id above ``after`` (all, when ``None``).

    Oldest first, or newest first with ``newest_first``. Pages through the table until ``limit`` events
    are found or the channel is exhausted (the expiry filter may thin a page). Raises
    ``UpstreamUnavailable`` (503).
    """
    s = get_settings()
    now = clock()
    floor = floor_id(int((now - s.history_retention) * 1000))
    lower = max(floor, after) if after is not None else floor
    found: list[StoredEvent] = []
    start_key: dict[str, Any] | None = None
    while len(found) < limit:
        kwargs: dict[str, Any] = {
            "TableName": s.history_table,
            "KeyConditionExpression": "pk = :channel AND sk > :lower",
            "FilterExpression": "expires_at > :now",
            "ExpressionAttributeValues": attributes({":channel": channel, ":lower": lower, ":now": int(now)}),
            "ProjectionExpression": "sk, #event, #data",
            "ExpressionAttributeNames": {"#event": "event", "#data": "data"},
            "ScanIndexForward": not newest_first,
            "Limit": limit - len(found),
        }
        if start_key is not None:
            kwargs["ExclusiveStartKey"] = start_key
        with guarded("history", "query"):
            page = dynamodb().query(**kwargs)
        found.extend(
            StoredEvent(event_id=i["sk"], event=i["event"], data=i["data"])
            for i in map(plain, page.get("Items", []))
        )
        start_key = page.get("LastEvaluatedKey")
        if start_key is None:
            break
    return found
