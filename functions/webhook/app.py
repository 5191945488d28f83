"""POST /pusher/webhook: Pusher's webhooks, verified over the raw body and applied to the presence store."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from toolboxai_realtime import deadlines, webhooks
from toolboxai_realtime.entry_point import HTTP_API, entry_point
from toolboxai_realtime.http import create_app, documented, read_body, source_ip
from toolboxai_realtime.webhooks import WebhookReport

# Signature first, over the raw bytes (then webhooks' parser limits): no pre-route body check.
app = create_app(max_body_bytes=webhooks.MAX_BODY_BYTES, verify_first=True)


@app.post(
    "/pusher/webhook",
    summary="Pusher webhooks: presence and occupancy changes, client events",
    responses=documented(
        "Processed: how many events were applied, stale or ignored.",
        {
            400: "A correctly signed body that is not a webhook delivery, or over a limit.",
            401: "Missing headers, unknown key, bad signature or stale time_ms (nothing applied).",
        },
        bearer=False,
    ),
)
def pusher_webhook() -> WebhookReport:
    event = app.current_event
    body = read_body(event, max_bytes=webhooks.MAX_BODY_BYTES)
    delivery = webhooks.receive(
        event.headers.get("x-pusher-key"),
        event.headers.get("x-pusher-signature"),
        body,
        source_ip=source_ip(event),
    )
    return webhooks.ingest(delivery)


@entry_point(deadlines.WEBHOOK_BUDGET_SECONDS, correlation_id_path=HTTP_API)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
