"""GET /realtime/channels, GET /realtime/channels/{channel}/members (occupancy for dashboards),
GET /realtime/channels/{channel}/history (the events a channel received, for catching up) and
GET /realtime/classes/{class_id}/connected (which students of a class are connected now: the class watch)."""

from typing import Annotated, Any
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from toolboxai_realtime import deadlines, history, presence
from toolboxai_realtime.event_ids import EVENT_ID_PATTERN
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


HISTORY_RESPONSES: dict[int, Any] = {
    200: {
        "description": "The channel's events in publish order.",
        "content": {"application/json": {"model": history.HistoryPage}},
    },
    400: {"description": "Malformed channel name, after or limit."},
    401: {"description": "Missing or invalid bearer token."},
    403: {"description": "The caller may not subscribe to this channel (someone else's, or unknown)."},
    404: {"description": "This channel's family keeps no history (history_not_kept)."},
    410: {"description": "after is older than HISTORY_RETENTION (history_expired): reload the state."},
    422: {"description": "after is not an event id, or limit is not 1-100."},
    503: {"description": "The history store is unavailable (Retry-After)."},
}


@app.get(
    "/realtime/channels/<channel>/history",
    summary="Events a channel received, for catching up after a reconnect",
    responses=HISTORY_RESPONSES,
)
def channel_history(
    channel: str,
    after: Annotated[
        str | None,
        Query(
            pattern=EVENT_ID_PATTERN,
            description="Return the events after this event_id (the last one the client saw).",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=history.MAX_LIMIT, description="At most this many events.")] = (
        history.DEFAULT_LIMIT
    ),
) -> Response[Any]:
    page = history.read_for(_caller(), unquote(channel), after=after, limit=limit)
    return json_response(page)


@app.get("/realtime/classes/<class_id>/connected")
def class_connected(class_id: str) -> Response[Any]:
    return json_response(presence.class_connected(_caller(), unquote(class_id)))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
@deadlines.bounded(deadlines.API_BUDGET_SECONDS)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
