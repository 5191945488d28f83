"""The logic behind ``POST /realtime/trigger`` and ``POST /realtime/trigger/batch``.

Who may publish (the admin role or the ``realtime:trigger`` scope), and publishing through the one
publisher (``toolboxai_realtime.publisher``), at most once per ``Idempotency-Key`` when the caller sends
one. Without a key a request costs one DynamoDB call (the rate limit and the history items) and one Pusher
call. With a key, the event ids are kept under it before the publish (``idempotency.event_ids_for``), so
an idempotent replay returns them and the retry of a publish whose outcome was unknown reuses them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Header
from aws_lambda_powertools.utilities.typing import LambdaContext

from . import idempotency
from .errors import Forbidden
from .idempotency import Outcome
from .identity import TRIGGER_SCOPE, Principal
from .observability import logger, security_event
from .publisher import BatchTriggerRequest, IdSource, PublishResult, TriggerRequest, default_publisher

__all__ = ["IdempotencyKeyHeader", "require_trigger", "response_headers", "trigger", "trigger_batch"]

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="idempotency-key",
        min_length=1,
        max_length=idempotency.MAX_KEY_LENGTH,
        pattern=idempotency.KEY_PATTERN,
        description=(
            "Optional. A retry with the same key (and the same body) returns the first result without "
            "publishing again, for an hour. 1-255 printable ASCII characters, e.g. a UUID."
        ),
    ),
]
"""The ``Idempotency-Key`` request header, as a typed route parameter."""


def require_trigger(principal: Principal) -> None:
    """Accept a caller who may trigger events: the admin role or the ``realtime:trigger`` scope.

    Raises ``Forbidden`` (403, code ``trigger_not_allowed``), recorded as a ``trigger_denied`` security
    event, otherwise. (Routes take it as ``Depends(http.require(require_trigger))``.)
    """
    if not principal.can_trigger:
        security_event("trigger_denied", reason="not_admin_nor_scope", user_id=principal.user_id)
        raise Forbidden(
            f"Triggering events needs the admin role or the {TRIGGER_SCOPE} scope.",
            code="trigger_not_allowed",
        )


def trigger(
    principal: Principal,
    request: TriggerRequest,
    idempotency_key: str | None = None,
    lambda_context: LambdaContext | None = None,
) -> Outcome[PublishResult]:
    """Publish ``request`` (one event, one or more channels), once per ``idempotency_key``.

    Raises what ``Publisher.trigger`` and ``idempotency.run_once`` raise.
    """

    def publish(ids: IdSource | None) -> PublishResult:
        return default_publisher().trigger(
            request.channel_names, request.event, request.data, request.socket_id, id_source=ids
        )

    return _once("trigger", principal, request, publish, idempotency_key, lambda_context)


def trigger_batch(
    principal: Principal,
    request: BatchTriggerRequest,
    idempotency_key: str | None = None,
    lambda_context: LambdaContext | None = None,
) -> Outcome[PublishResult]:
    """Publish a batch of up to 10 events in one Pusher call, once per ``idempotency_key``.

    Raises what ``Publisher.trigger_batch`` and ``idempotency.run_once`` raise.
    """

    def publish(ids: IdSource | None) -> PublishResult:
        return default_publisher().trigger_batch(request.events, id_source=ids)

    return _once("trigger_batch", principal, request, publish, idempotency_key, lambda_context)


def response_headers(outcome: Outcome[PublishResult]) -> dict[str, str]:
    """``Idempotent-Replayed: true`` on a stored result, so a client can tell a replay from a publish."""
    return {"Idempotent-Replayed": "true"} if outcome.replayed else {}


def _once(
    scope: str,
    principal: Principal,
    request: TriggerRequest | BatchTriggerRequest,
    publish: Callable[[IdSource | None], PublishResult],
    key: str | None,
    lambda_context: LambdaContext | None,
) -> Outcome[PublishResult]:
    if key is None:
        outcome = Outcome(result=publish(None))
    else:
        payload = request.model_dump(mode="json", exclude_none=True)
        ids = idempotency.event_ids_for(scope=scope, key=key, owner=principal.user_id, payload=payload)
        outcome = idempotency.run_once(
            scope=scope,
            key=key,
            owner=principal.user_id,
            payload=payload,
            action=lambda: publish(ids),
            model=PublishResult,
            lambda_context=lambda_context,
        )
    logger.info(
        "trigger accepted",
        extra={
            "user_id": principal.user_id,
            "publish_id": outcome.result.publish_id,
            "replayed": outcome.replayed,
            "idempotent": key is not None,
        },
    )
    return outcome
