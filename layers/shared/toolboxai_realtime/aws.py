"""Cached boto3 client factories: built on first use, never at import time, and sized to the deadline.

Each factory returns, per call, the client whose botocore ``Config`` fits the invocation's time left
(``deadlines.plan``: connect/read timeouts and ``total_max_attempts``), with a ``before-send`` hook that
refuses any attempt once the deadline has passed (``deadlines.DeadlineExceeded``, a ``BotoCoreError``).
There are at most ``len(deadlines.PLANS)`` clients per service. ``AWS_ENDPOINT_URL`` (honoured by boto3
itself) points every client at moto locally.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from .deadlines import PLANS, AttemptPlan, DeadlineExceeded, plan, refuse_when_spent

if TYPE_CHECKING:
    from mypy_boto3_apigatewaymanagementapi import ApiGatewayManagementApiClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_secretsmanager import SecretsManagerClient


def _current_plan() -> AttemptPlan:
    chosen = plan()
    if chosen is None:
        raise DeadlineExceeded()
    return chosen


@lru_cache(maxsize=4 * len(PLANS) * 4)
def _client(service: str, endpoint_url: str | None, attempt_plan: AttemptPlan, pool: int) -> Any:
    config = Config(
        connect_timeout=attempt_plan.connect,
        read_timeout=attempt_plan.read,
        retries={"total_max_attempts": attempt_plan.attempts, "mode": "standard"},
        tcp_keepalive=True,
        max_pool_connections=pool,
    )
    client = boto3.client(service, endpoint_url=endpoint_url, config=config)  # type: ignore[call-overload]
    client.meta.events.register(
        f"before-send.{client.meta.service_model.service_id.hyphenize()}", refuse_when_spent
    )
    return client


def dynamodb() -> DynamoDBClient:
    """The low-level DynamoDB client shared by every store (and Powertools' idempotency layer).

    Raises ``deadlines.DeadlineExceeded`` (a ``BotoCoreError``) when the deadline leaves no time for a call.
    """
    client: DynamoDBClient = _client("dynamodb", None, _current_plan(), 10)
    return client


def secrets_manager() -> SecretsManagerClient:
    """Secrets Manager, for Powertools Parameters (``toolboxai_realtime.secrets``)."""
    client: SecretsManagerClient = _client("secretsmanager", None, _current_plan(), 10)
    return client


def lambda_client() -> LambdaClient:
    """Lambda's Invoke API (the legacy fan-out hand-off)."""
    client: LambdaClient = _client("lambda", None, _current_plan(), 10)
    return client


def management_api(endpoint: str, pool: int = 32) -> ApiGatewayManagementApiClient:
    """The API Gateway Management API of the legacy WebSocket API at ``endpoint``."""
    client: ApiGatewayManagementApiClient = _client(
        "apigatewaymanagementapi", endpoint, _current_plan(), pool
    )
    return client


def clear_clients() -> None:
    """Forget every client (tests change endpoints and credentials)."""
    _client.cache_clear()


def client_events() -> Any:
    """The botocore event hooks of every client built from now on, whatever its plan (for tests and
    benchmarks that count calls: there is one client per plan, so hooks on one instance miss the rest).
    Forgets the clients built so far."""
    clear_clients()
    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    assert boto3.DEFAULT_SESSION is not None
    return boto3.DEFAULT_SESSION.events
