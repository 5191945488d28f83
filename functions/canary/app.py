"""Every five minutes (EventBridge schedule): the delivery canary, a real Pusher client.

It connects over the Pusher WebSocket protocol, subscribes to its own ``private-canary-…`` channel,
publishes one event through the publisher and waits for it: ``CanaryConnectTime``, ``CanaryLatency``
and ``CanaryFailure`` feed the dashboard and the alarms. See ``toolboxai_realtime.canary``.
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from toolboxai_realtime import canary, deadlines
from toolboxai_realtime.entry_point import entry_point


@entry_point(deadlines.WHOLE_INVOCATION, correlation_id_path="id")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return canary.run().model_dump()
