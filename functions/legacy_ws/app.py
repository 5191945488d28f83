"""The legacy WebSocket API (/ws/content): $connect, $disconnect and $default of API Gateway."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from toolboxai_realtime import deadlines, legacy_ws
from toolboxai_realtime.entry_point import entry_point


@entry_point(deadlines.API_BUDGET_SECONDS, correlation_id_path="requestContext.requestId")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return legacy_ws.handle(event)
