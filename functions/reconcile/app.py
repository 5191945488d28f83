"""Scheduled (EventBridge): reconcile the stored presence and occupancy with Pusher's own view."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from toolboxai_realtime import deadlines, reconcile
from toolboxai_realtime.entry_point import entry_point


@entry_point(deadlines.WHOLE_INVOCATION)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return reconcile.run().model_dump()
