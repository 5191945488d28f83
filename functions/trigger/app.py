"""POST /realtime/trigger and POST /realtime/trigger/batch: publish catalogued events to Pusher.

Admin role or ``realtime:trigger`` scope. The body is validated against the event catalog, the
per-channel rate limit is checked in one DynamoDB call and the events go out in one Pusher call; an
``Idempotency-Key`` header makes a retried request return the first result without publishing twice.
"""

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from toolboxai_realtime import trigger_api
from toolboxai_realtime.http import create_app, json_response
from toolboxai_realtime.observability import logger, metrics, tracer
from toolboxai_realtime.publisher import (
    BatchTriggerRequest,
    PublishResult,
    TriggerRequest,
    catalog_openapi_refs,
)

app = create_app()

RESPONSES: dict[int, Any] = {
    200: {
        "description": "Published: Pusher accepted the events. event_ids lists their ids (also in each "
        "event's data as event_id).",
        "content": {"application/json": {"model": PublishResult}},
    },
    400: {"description": "Malformed body, channel, event name or socket_id."},
    401: {"description": "Missing or invalid bearer token."},
    403: {"description": "The token has neither the admin role nor the realtime:trigger scope."},
    409: {"description": "A request with this Idempotency-Key is still running (Retry-After)."},
    413: {
        "description": "Event data above 10,240 bytes as sent (compact UTF-8 JSON with its event_id; "
        "event_data_too_large)."
    },
    422: {
        "description": "Not in the catalog, invalid data, data holding an event_id (event_id_not_allowed), "
        "or an Idempotency-Key reused with another body."
    },
    429: {"description": "Per-channel rate limit reached (Retry-After); nothing was published."},
    502: {"description": "Pusher refused the request (Retry-After); nothing was published."},
    503: {
        "description": "Pusher could not be reached, or DynamoDB is unavailable (Retry-After); nothing "
        "was published."
    },
    504: {
        "description": "publish_outcome_unknown: the publish was sent and no answer came back; it may have "
        "been delivered and is in history. details.event_ids are its ids. Retry with the same "
        "Idempotency-Key: it goes out again under the same ids (Retry-After)."
    },
}
CATALOG = {"x-event-catalog": catalog_openapi_refs()}


@app.post(
    "/realtime/trigger",
    summary="Trigger one event on one or more channels",
    responses=RESPONSES,
    openapi_extensions=CATALOG,
)
def trigger(body: TriggerRequest, idempotency_key: trigger_api.IdempotencyKeyHeader = None) -> Response[Any]:
    principal = trigger_api.caller(app.current_event.headers.get("authorization"))
    outcome = trigger_api.trigger(principal, body, idempotency_key, app.lambda_context)
    return json_response(outcome.result, headers=trigger_api.response_headers(outcome))


@app.post(
    "/realtime/trigger/batch",
    summary="Trigger up to 10 events in one Pusher call",
    responses=RESPONSES,
    openapi_extensions=CATALOG,
)
def trigger_batch(
    body: BatchTriggerRequest, idempotency_key: trigger_api.IdempotencyKeyHeader = None
) -> Response[Any]:
    principal = trigger_api.caller(app.current_event.headers.get("authorization"))
    outcome = trigger_api.trigger_batch(principal, body, idempotency_key, app.lambda_context)
    return json_response(outcome.result, headers=trigger_api.response_headers(outcome))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
