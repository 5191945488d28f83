"""GET /realtime/channels, GET /realtime/channels/{channel}/members: occupancy for dashboards; and
GET /realtime/classes/{class_id}/connected: which students of a class are connected now (the class watch)."""

from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from toolboxai_realtime import deadlines, presence
from toolboxai_realtime.http import create_app, json_response
from toolboxai_realtime.identity import Principal, authenticate, bearer_token
from toolboxai_realtime.observability import logger, metrics, tracer

app = create_app()


def _caller() -> Principal:
    return authenticate(bearer_token(app.current_event.headers.get("authorization")))


_PUSHER: dict[int, Any] = {
    502: {"description": "Pusher answered with an error (Retry-After)."},
}


@app.get(
    "/realtime/channels",
    summary="Occupied channels the caller may see, with member counts",
    responses={200: {"description": "By name."}, 403: {"description": "Not allowed to list."}, **_PUSHER},
)
def list_channels() -> Response[Any]:
    prefix = app.current_event.get_query_string_value("prefix")
    return json_response(presence.list_channels(_caller(), prefix))


@app.get(
    "/realtime/channels/<channel>/members",
    summary="The members of a presence channel the caller may view",
    responses={
        200: {"description": "The members with their user_info."},
        400: {"description": "Not a valid presence channel name."},
        403: {"description": "The caller may not view this channel."},
        **_PUSHER,
    },
)
def channel_members(channel: str) -> Response[Any]:
    # API Gateway hands the path segment over still percent-encoded; '%' is not a channel character.
    return json_response(presence.channel_members(_caller(), unquote(channel)))


@app.get("/realtime/classes/<class_id>/connected")
def class_connected(class_id: str) -> Response[Any]:
    return json_response(presence.class_connected(_caller(), unquote(class_id)))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
@deadlines.bounded(deadlines.API_BUDGET_SECONDS)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
