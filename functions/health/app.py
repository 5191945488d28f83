"""GET /health: reports whether DynamoDB and the Pusher HTTP API answer (200) or not (503)."""

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from toolboxai_realtime import deadlines
from toolboxai_realtime.health import HealthReport, check_dependencies
from toolboxai_realtime.http import create_app, json_response
from toolboxai_realtime.observability import logger, metrics, tracer

app = create_app()


@app.get(
    "/health",
    summary="Whether DynamoDB and the Pusher HTTP API answer",
    responses={
        200: {
            "description": "Every dependency answers.",
            "content": {"application/json": {"model": HealthReport}},
        },
        503: {
            "description": "A dependency does not answer (the report says which).",
            "content": {"application/json": {"model": HealthReport}},
        },
    },
)
def health() -> Response[Any]:
    report = check_dependencies()
    return json_response(report, status=200 if report.ok else 503)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
@deadlines.bounded(deadlines.API_BUDGET_SECONDS)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
