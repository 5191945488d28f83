"""The one decorator stack of every Lambda entry point, in one fixed order.

Outermost first: the logger's Lambda context (and correlation id), the tracer's handler segment, the
metrics flush (with the cold-start metric), then the invocation's time budget (``deadlines.bounded``) right
around the handler, so that every outbound call shares it and what the budget cuts short is still logged,
traced and counted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from aws_lambda_powertools.logging import correlation_paths

from . import deadlines
from .observability import logger, metrics, tracer

__all__ = ["HTTP_API", "entry_point"]

HTTP_API = correlation_paths.API_GATEWAY_HTTP
"""The correlation id of an HTTP API event: API Gateway's request id (also the ``apigw-requestid`` header)."""


def entry_point[F: Callable[..., Any]](
    budget_seconds: float, *, correlation_id_path: str | None = None
) -> Callable[[F], F]:
    """Decorate a Lambda handler ``(event, context)`` with the layer's logger, tracer, metrics and
    deadline, always in the order above.

    ``budget_seconds`` is the time the handler's outbound calls share (``deadlines.API_BUDGET_SECONDS``,
    ``deadlines.WEBHOOK_BUDGET_SECONDS`` or ``deadlines.WHOLE_INVOCATION``); ``correlation_id_path`` is
    the JMESPath of the event's correlation id (``HTTP_API``, ``"id"`` for EventBridge, ...), none when
    the event has none.
    """

    def decorate(handler: F) -> F:
        bounded = deadlines.bounded(budget_seconds)(handler)
        flushed = metrics.log_metrics(bounded, capture_cold_start_metric=True)
        traced = tracer.capture_lambda_handler(flushed)
        return cast(F, logger.inject_lambda_context(traced, correlation_id_path=correlation_id_path))

    return decorate
