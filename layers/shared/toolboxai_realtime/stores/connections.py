"""Legacy WebSocket connections (``/ws/content``): one item per connection, expiring through TTL.

API Gateway closes a WebSocket after two hours at the most, so an item whose ``$disconnect`` was lost
lapses by itself; readers also filter on ``expires_at`` because TTL deletion is lazy.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..aws import dynamodb
from ..settings import get_settings
from ._dynamodb import attributes, guarded, plain

MAX_CONNECTION_SECONDS = 2 * 3600  # API Gateway's limit on one WebSocket connection


@dataclass(frozen=True)
class Connection:
    connection_id: str
    content_id: str | None = None
    user_id: str | None = None
    connected_at: int = 0

    def wants(self, data: dict[str, object]) -> bool:
        """Whether an event with this data passes the connection's filters."""
        if self.content_id is not None and str(data.get("content_id")) != self.content_id:
            return False
        return self.user_id is None or str(data.get("user_id")) == self.user_id


def _table() -> str:
    return get_settings().connections_table


def add(conn: Connection, now: float | None = None) -> None:
    """Record a connection. Raises ``UpstreamUnavailable``."""
    at = int(time.time() if now is None else now)
    item = attributes(
        {
            "connection_id": conn.connection_id,
            "connected_at": at,
            "expires_at": at + MAX_CONNECTION_SECONDS,
            "content_id": conn.content_id,
            "user_id": conn.user_id,
        }
    )
    with guarded("connection", "add"):
        dynamodb().put_item(TableName=_table(), Item=item)


def remove(connection_id: str) -> None:
    """Forget a connection (idempotent). Raises ``UpstreamUnavailable``."""
    with guarded("connection", "remove"):
        dynamodb().delete_item(TableName=_table(), Key=attributes({"connection_id": connection_id}))


def live(now: float | None = None) -> Iterator[Connection]:
    """Every connection that has not expired (paginated scan). Raises ``UpstreamUnavailable``."""
    at = int(time.time() if now is None else now)
    kwargs = {
        "TableName": _table(),
        "FilterExpression": "expires_at > :now",
        "ExpressionAttributeValues": attributes({":now": at}),
    }
    with guarded("connection", "live"):
        for page in dynamodb().get_paginator("scan").paginate(**kwargs):  # type: ignore[arg-type]
            for raw in page.get("Items", []):
                item = plain(raw)
                yield Connection(
                    connection_id=item["connection_id"],
                    content_id=item.get("content_id"),
                    user_id=item.get("user_id"),
                    connected_at=int(item.get("connected_at", 0)),
                )


def remove_many(connection_ids: list[str]) -> None:
    """Forget several connections with as few calls as DynamoDB allows (25 per BatchWriteItem)."""
    table = _table()
    for start in range(0, len(connection_ids), 25):
        requests: list[Any] = [
            {"DeleteRequest": {"Key": attributes({"connection_id": cid})}}
            for cid in connection_ids[start : start + 25]
        ]
        with guarded("connection", "remove_many"):
            for _ in range(5):
                result = dynamodb().batch_write_item(RequestItems={table: requests})
                requests = result.get("UnprocessedItems", {}).get(table, [])
                if not requests:
                    break
