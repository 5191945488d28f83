"""GET /health: reports whether DynamoDB and the Pusher HTTP API answer (200) or not (503)."""

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from toolboxai_realtime import deadlines
from toolboxai_realtime.entry_point import HTTP_API, entry_point
from toolboxai_realtime.health import HealthReport, check_dependencies
from toolboxai_realtime.http import create_app, reply

app = create_app()


@app.get(
    "/health",
    summary="Whether DynamoDB and the Pusher HTTP API answer",
    # Both answers are the report (not the error model): their schema follows from the return annotation.
    responses={
        200: {"description": "Every dependency answers."},
        503: {"description": "A dependency does not answer (the report says which)."},
    },
)
def health() -> Response[HealthReport]:
    report = check_dependencies()
    return reply(report, status=200 if report.ok else 503)


@entry_point(deadlines.API_BUDGET_SECONDS, correlation_id_path=HTTP_API)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
