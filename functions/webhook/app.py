"""POST /pusher/webhook: Pusher's webhooks, verified over the raw body and applied to the presence store."""

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from toolboxai_realtime import deadlines, webhooks
from toolboxai_realtime.http import create_app, json_response, read_body, source_ip
from toolboxai_realtime.observability import logger, metrics, tracer

# Signature first, over the raw bytes (then webhooks' parser limits): no pre-route body check.
app = create_app(max_body_bytes=webhooks.MAX_BODY_BYTES, verify_first=True)


@app.post(
    "/pusher/webhook",
    summary="Pusher webhooks: presence and occupancy changes, client events",
    responses={
        200: {"description": "Processed: how many events were applied, stale or ignored."},
        400: {"description": "A correctly signed body that is not a webhook delivery, or over a limit."},
        401: {
            "description": "Missing headers, unknown key, bad signature or stale time_ms (nothing applied)."
        },
    },
)
def pusher_webhook() -> Response[Any]:
    event = app.current_event
    body = read_body(event, max_bytes=webhooks.MAX_BODY_BYTES)
    delivery = webhooks.receive(
        event.headers.get("x-pusher-key"),
        event.headers.get("x-pusher-signature"),
        body,
        source_ip=source_ip(event),
    )
    return json_response(webhooks.ingest(delivery))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
@deadlines.bounded(deadlines.WEBHOOK_BUDGET_SECONDS)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
