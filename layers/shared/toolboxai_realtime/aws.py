"""Cached boto3 client factories: built on first use, never at import time.

``AWS_ENDPOINT_URL`` (honoured by boto3 itself) points every client at moto locally.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_CONFIG = Config(
    connect_timeout=2,
    read_timeout=3,
    retries={"max_attempts": 3, "mode": "standard"},
    tcp_keepalive=True,
)


@lru_cache(maxsize=1)
def dynamodb() -> DynamoDBClient:
    """The low-level DynamoDB client shared by every store."""
    return boto3.client("dynamodb", config=_CONFIG)
