"""IdempotencyTable access: Powertools' ``DynamoDBPersistenceLayer`` on the layer's shared DynamoDB client.

The persistence layer builds a boto3 client in its constructor unless it is given one, and Powertools
configures an instance once, for the first function that uses it. So instances are built on first use
(never at import time: region and credentials must be set first) and there is one per ``scope``, i.e.
per idempotent function.
"""

from __future__ import annotations

from functools import lru_cache

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

from ..aws import dynamodb
from ..settings import get_settings

__all__ = ["persistence_layer"]


@lru_cache(maxsize=8)
def persistence_layer(scope: str) -> DynamoDBPersistenceLayer:
    """The persistence layer of the idempotent function ``scope`` (built once, on first use).

    The table's key is ``id`` and its TTL attribute ``expiration`` (Powertools' defaults, as declared in
    template.yaml).
    """
    return DynamoDBPersistenceLayer(table_name=get_settings().idempotency_table, boto3_client=dynamodb())
