"""IdempotencyTable access: Powertools' ``DynamoDBPersistenceLayer`` on the layer's shared DynamoDB client.

The persistence layer builds a boto3 client in its constructor unless it is given one, and Powertools
configures an instance once, for the first function that uses it. So instances are built on first use
(never at import time: region and credentials must be set first) and there is one per ``scope``, i.e.
per idempotent function.

Next to Powertools' records, ``reserve_event_ids`` keeps the event ids of an idempotent publish in an
item of its own (``id = "<prefix>.event-ids#<sha256>"``): Powertools deletes its in-progress record when the
action raises, and a publish whose outcome is unknown raises, so the ids must outlive that record for the
retry to reuse them.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

from ..aws import dynamodb
from ..bodies import compact_json
from ..errors import UpstreamUnavailable
from ..settings import get_settings
from ._dynamodb import StoreUnavailable, attributes, guarded, plain

__all__ = ["Reservation", "fingerprint", "persistence_layer", "reserve_event_ids"]


@lru_cache(maxsize=8)
def persistence_layer(scope: str) -> DynamoDBPersistenceLayer:
    """The persistence layer of the idempotent function ``scope`` (built once, on first use).

    The table's key is ``id`` and its TTL attribute ``expiration`` (Powertools' defaults, as declared in
    template.yaml).
    """
    return DynamoDBPersistenceLayer(table_name=get_settings().idempotency_table, boto3_client=dynamodb())


@dataclass(frozen=True)
class Reservation:
    """The event ids kept under an idempotency key, and the fingerprint of the request they were for."""

    event_ids: list[str]
    payload_hash: str


def reserve_event_ids(
    name: str,
    payload_hash: str,
    fresh: Sequence[str],
    *,
    expires_after_seconds: int,
    clock: Callable[[], float] = time.time,
) -> Reservation:
    """The ids kept under ``name`` (scope, key and owner), keeping ``fresh`` if there are none yet.

    One conditional-free ``UpdateItem`` (``if_not_exists`` on each attribute): the first caller's ids and
    payload hash stay, later callers read them back. Raises ``UpstreamUnavailable`` (503,
    ``idempotency_store_unavailable``) when DynamoDB fails.
    """
    digest = hashlib.sha256(name.encode()).hexdigest()
    try:
        with guarded("idempotency", "reserve_event_ids"):
            out = dynamodb().update_item(
                TableName=get_settings().idempotency_table,
                Key=attributes({"id": f"toolboxai-realtime.event-ids#{digest}"}),
                UpdateExpression=(
                    "SET event_ids = if_not_exists(event_ids, :ids), "
                    "payload_hash = if_not_exists(payload_hash, :hash), "
                    "expiration = if_not_exists(expiration, :exp)"
                ),
                ExpressionAttributeValues=attributes(
                    {
                        ":ids": list(fresh),
                        ":hash": payload_hash,
                        ":exp": int(clock()) + expires_after_seconds,
                    }
                ),
                ReturnValues="ALL_NEW",
            )
    except StoreUnavailable as exc:  # Powertools' idempotency failures answer with a code of their own
        raise UpstreamUnavailable(
            "The idempotency store is unavailable; retry shortly.", code="idempotency_store_unavailable"
        ) from exc.__cause__
    item = plain(out["Attributes"])
    return Reservation(event_ids=list(item["event_ids"]), payload_hash=item["payload_hash"])


def fingerprint(value: object) -> str:
    """A stable hash of a JSON value (sorted keys, compact)."""
    text = compact_json(value, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()
