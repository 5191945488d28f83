"""GET /realtime/channels, GET /realtime/channels/{channel}/members (occupancy for dashboards),
GET /realtime/channels/{channel}/history (the events a channel received, for catching up) and
GET /realtime/classes/{class_id}/connected (which students of a class are connected now: the class watch)."""

from typing import Annotated, Any
from urllib.parse import unquote

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.utilities.typing import LambdaContext

from toolboxai_realtime import deadlines, history, presence
from toolboxai_realtime.entry_point import HTTP_API, entry_point
from toolboxai_realtime.event_ids import EVENT_ID_PATTERN
from toolboxai_realtime.history import HistoryPage
from toolboxai_realtime.http import CurrentPrincipal, create_app, documented
from toolboxai_realtime.presence import ChannelList, ChannelMembers, ClassConnected

app = create_app()

# Every route reads its caller through CurrentPrincipal (401 first); who may see what is presence's and
# history's rule (403).
_PUSHER = {502: "Pusher answered with an error (Retry-After)."}


@app.get(
    "/realtime/channels",
    summary="Occupied channels the caller may see, with member counts",
    responses=documented("By name.", {403: "Not allowed to list.", **_PUSHER}),
)
def list_channels(
    principal: CurrentPrincipal,
    prefix: Annotated[str | None, Query(description="Only channels whose name starts with this.")] = None,
) -> ChannelList:
    return presence.list_channels(principal, prefix)


@app.get(
    "/realtime/channels/<channel>/members",
    summary="The members of a presence channel the caller may view",
    responses=documented(
        "The members with their user_info.",
        {
            400: "Not a valid presence channel name.",
            403: "The caller may not view this channel.",
            **_PUSHER,
        },
    ),
)
def channel_members(channel: str, principal: CurrentPrincipal) -> ChannelMembers:
    # API Gateway hands the path segment over still percent-encoded; '%' is not a channel character.
    return presence.channel_members(principal, unquote(channel))


@app.get(
    "/realtime/channels/<channel>/history",
    summary="Events a channel received, for catching up after a reconnect",
    responses=documented(
        "The channel's events in publish order.",
        {
            400: "Malformed channel name, after or limit.",
            403: "The caller may not subscribe to this channel (someone else's, or unknown).",
            404: "This channel's family keeps no history (history_not_kept).",
            410: "after is older than HISTORY_RETENTION (history_expired): reload the state.",
            422: "after is not an event id, or limit is not 1-100.",
            503: "The history store is unavailable (Retry-After).",
        },
    ),
)
def channel_history(
    channel: str,
    principal: CurrentPrincipal,
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
) -> HistoryPage:
    return history.read_for(principal, unquote(channel), after=after, limit=limit)


@app.get(
    "/realtime/classes/<class_id>/connected",
    summary="Which students of a class are connected now (the class watch)",
    responses=documented(
        "The class's connected students.",
        {
            400: "Not a valid class id (invalid_class_id).",
            403: "Only admins and the class's teachers may watch it.",
        },
    ),
)
def class_connected(class_id: str, principal: CurrentPrincipal) -> ClassConnected:
    return presence.class_connected(principal, unquote(class_id))


@entry_point(deadlines.API_BUDGET_SECONDS, correlation_id_path=HTTP_API)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
