"""Cached boto3 client factories: built on first use, never at import time, and sized to the deadline.

Each factory returns, per call, the client whose botocore ``Config`` fits the invocation's time left
(``deadlines.plan``: connect/read timeouts and ``total_max_attempts``), with a ``before-send`` hook that
refuses any attempt once the deadline has passed (``DeadlineExceeded``, a ``BotoCoreError``).
There are at most ``len(deadlines.PLANS)`` clients per service. ``AWS_ENDPOINT_URL`` (honoured by boto3
itself) points every client at moto locally.

Only this module and ``stores`` import boto3 or botocore (``tests/unit/test_architecture.py``): the
calls other modules need (the legacy fan-out's ``Invoke`` and ``PostToConnection``) are here too, and
answer in our terms.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .deadlines import PLANS, AttemptPlan, plan, remaining
from .observability import logger

if TYPE_CHECKING:
    from mypy_boto3_apigatewaymanagementapi import ApiGatewayManagementApiClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_secretsmanager import SecretsManagerClient


class DeadlineExceeded(BotoCoreError):
    """An AWS call was not attempted because the invocation's deadline has passed (or is too near).

    A ``BotoCoreError``, so the stores map it like any other unanswered call (503 with
    ``Retry-After``), and botocore does not retry it.
    """

    fmt = "Not attempted: the invocation's time budget is spent."


def refuse_when_spent(**_: Any) -> None:
    """botocore ``before-send`` hook: no attempt (first or retry) starts once the deadline has passed."""
    left = remaining()
    if left is not None and left <= 0:
        raise DeadlineExceeded()


def _current_plan() -> AttemptPlan:
    chosen = plan()
    if chosen is None:
        raise DeadlineExceeded()
    return chosen


@lru_cache(maxsize=4 * len(PLANS) * 4)
def _client(service: str, endpoint_url: str | None, attempt_plan: AttemptPlan, pool: int) -> Any:
    config = Config(
        # Every request is built by our own code (stores/, Powertools' idempotency layer) from fixed
        # shapes, and DynamoDB itself refuses a malformed one (ValidationException, a ClientError the
        # stores map like any other). botocore's client-side validation walks every parameter on every
        # call: on the auth path's TransactWriteItems it was about a quarter of botocore's time
        # (docs/benchmarks.md, "Auth compute").
        parameter_validation=False,
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

    Raises ``DeadlineExceeded`` (a ``BotoCoreError``) when the deadline leaves no time for a call.
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


def invoke_async(function: str, payload: bytes) -> str | None:
    """One asynchronous ``Invoke`` (``InvocationType=Event``) of ``function``; never raises.

    Returns ``None`` when Lambda accepted it, else what failed (the botocore error type, logged).
    """
    try:
        lambda_client().invoke(FunctionName=function, InvocationType="Event", Payload=payload)
    except (ClientError, BotoCoreError) as exc:
        logger.error("lambda invoke failed", extra={"error_type": type(exc).__name__})
        return type(exc).__name__
    return None


PostOutcome = Literal["sent", "gone", "failed"]


def connection_poster(endpoint: str, pool: int = 32) -> Callable[[str, bytes], PostOutcome]:
    """A function that posts one frame to a connection of the WebSocket API at ``endpoint``
    (``PostToConnection``) and says how it went: ``sent``, ``gone`` (``GoneException``, HTTP 410: the
    client left) or ``failed`` (logged); it never raises. Safe to call from ``pool`` threads at once.

    Raises ``DeadlineExceeded`` when the deadline leaves no time to build the client.
    """
    client = management_api(endpoint, pool)

    def post(connection_id: str, payload: bytes) -> PostOutcome:
        try:
            client.post_to_connection(ConnectionId=connection_id, Data=payload)
        except ClientError as exc:
            error_code = exc.response.get("Error", {}).get("Code")
            if error_code == "GoneException":
                return "gone"
            logger.warning("post to connection failed", extra={"error_code": error_code})
            return "failed"
        except BotoCoreError as exc:
            logger.warning("post to connection failed", extra={"error_type": type(exc).__name__})
            return "failed"
        return "sent"

    return post


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
