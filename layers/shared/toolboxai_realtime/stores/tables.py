"""Whether DynamoDB answers for every table the layer uses (``GET /health``)."""

from __future__ import annotations

from ..aws import dynamodb
from ..settings import get_settings
from ._dynamodb import StoreUnavailable, guarded

__all__ = ["StoreUnavailable", "describe_all"]


def describe_all() -> None:
    """One ``DescribeTable`` per table (rate limits, presence, idempotency, connections, maintenance,
    revocations, history).

    Raises ``StoreUnavailable`` at the first table that does not answer; its ``cause`` is DynamoDB's
    error code (``ResourceNotFoundException`` for a missing table) or the botocore error type.
    """
    s = get_settings()
    with guarded("DynamoDB", "describe_table"):
        client = dynamodb()  # inside: no time left for a client is an unanswered check too
        for table in (
            s.rate_limit_table,
            s.presence_table,
            s.idempotency_table,
            s.connections_table,
            s.maintenance_table,
            s.revocation_table,
            s.history_table,
        ):
            client.describe_table(TableName=table)
