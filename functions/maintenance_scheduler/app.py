"""Every minute (EventBridge schedule): send the due ``maintenance_alert`` events, each exactly once.

A run that could not send an alert raises, so the invocation fails: the alert is retried by the next
run, and the failed invocation goes to the dead-letter queue once the retries are exhausted.
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from toolboxai_realtime import deadlines, maintenance
from toolboxai_realtime.entry_point import entry_point


@entry_point(deadlines.WHOLE_INVOCATION, correlation_id_path="id")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return maintenance.send_due_alerts().model_dump()
