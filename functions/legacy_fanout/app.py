"""Fans one content-generation event out to the legacy /ws/content clients (invoked asynchronously by
the publisher after Pusher accepted the event)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field

from toolboxai_realtime import deadlines, fanout
from toolboxai_realtime.entry_point import entry_point


class FanOutRequest(BaseModel):
    channels: list[str] = Field(min_length=1, max_length=100)
    event: str = Field(min_length=1, max_length=200)
    data: dict[str, Any]


@entry_point(deadlines.WHOLE_INVOCATION)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    request = FanOutRequest.model_validate(event)
    result = fanout.fan_out(request.channels, request.event, request.data)
    return {"sent": result.sent, "gone": result.gone, "failed": result.failed}
