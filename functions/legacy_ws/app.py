"""The legacy WebSocket API (/ws/content): $connect, $disconnect and $default of API Gateway."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from toolboxai_realtime import deadlines, legacy_ws
from toolboxai_realtime.observability import logger, metrics, tracer


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@tracer.capture_lambda_handler
@metrics.log_metrics
@deadlines.bounded(deadlines.API_BUDGET_SECONDS)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return legacy_ws.handle(event)
