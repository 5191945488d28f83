"""POST /realtime/trigger and POST /realtime/trigger/batch: publish catalogued events to Pusher; and the
user-level control routes (toolboxai_realtime.user_control): POST /realtime/users/{user_id}/events,
POST /realtime/users/{user_id}/terminate, POST|GET /realtime/revocations, DELETE /realtime/revocations/{id}.

Admin role or ``realtime:trigger`` scope. The body is validated against the event catalog, the
per-channel rate limit is checked in one DynamoDB call and the events go out in one Pusher call; an
``Idempotency-Key`` header makes a retried request return the first result without publishing twice.
"""

from typing import Annotated, Any
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import Depends, Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.utilities.typing import LambdaContext

from toolboxai_realtime import deadlines, trigger_api, user_control
from toolboxai_realtime.entry_point import HTTP_API, entry_point
from toolboxai_realtime.http import create_app, documented, reply, require
from toolboxai_realtime.identity import Principal
from toolboxai_realtime.publisher import (
    BatchTriggerRequest,
    PublishResult,
    TriggerRequest,
    catalog_openapi_refs,
)
from toolboxai_realtime.user_control import (
    RevocationLifted,
    RevocationList,
    RevocationOut,
    RevocationRequest,
    TerminateResult,
    UserEventRequest,
)

app = create_app()

# The dependencies run before Powertools validates a typed body (http.create_app): 401/403 before 422.
Triggerer = Annotated[Principal, Depends(require(trigger_api.require_trigger))]
"""An admin, or a token with the realtime:trigger scope."""
Admin = Annotated[Principal, Depends(require(user_control.require_admin))]
"""An admin."""

_TRIGGER_ERRORS: dict[int, str] = {
    400: "Malformed body, channel, event name or socket_id.",
    403: "The token has neither the admin role nor the realtime:trigger scope.",
    409: "A request with this Idempotency-Key is still running (Retry-After).",
    413: "Event data above 10,240 bytes as sent (compact UTF-8 JSON with its event_id; "
    "event_data_too_large).",
    422: "Not in the catalog, invalid data, data holding an event_id (event_id_not_allowed), or an "
    "Idempotency-Key reused with another body.",
    429: "Per-channel rate limit reached (Retry-After); nothing was published.",
    502: "Pusher refused the request (Retry-After); nothing was published.",
    503: "Pusher could not be reached, or DynamoDB is unavailable (Retry-After); nothing was published.",
    504: "publish_outcome_unknown: the publish was sent and no answer came back; it may have been "
    "delivered and is in history. details.event_ids are its ids. Retry with the same Idempotency-Key: "
    "it goes out again under the same ids (Retry-After).",
}
_PUBLISHED = (
    "Published: Pusher accepted the events. event_ids lists their ids (also in each event's data as "
    "event_id)."
)
_CONTROL_ERRORS: dict[int, str] = {
    403: "The token does not have the admin role.",
    503: "Pusher or DynamoDB unavailable (Retry-After).",
}
CATALOG = {"x-event-catalog": catalog_openapi_refs()}


@app.post(
    "/realtime/trigger",
    summary="Trigger one event on one or more channels",
    responses=documented(_PUBLISHED, _TRIGGER_ERRORS),
    openapi_extensions=CATALOG,
)
def trigger(
    body: TriggerRequest, principal: Triggerer, idempotency_key: trigger_api.IdempotencyKeyHeader = None
) -> Response[PublishResult]:
    outcome = trigger_api.trigger(principal, body, idempotency_key, app.lambda_context)
    return reply(outcome.result, headers=trigger_api.response_headers(outcome))


@app.post(
    "/realtime/trigger/batch",
    summary="Trigger up to 10 events in one Pusher call",
    responses=documented(_PUBLISHED, _TRIGGER_ERRORS),
    openapi_extensions=CATALOG,
)
def trigger_batch(
    body: BatchTriggerRequest, principal: Triggerer, idempotency_key: trigger_api.IdempotencyKeyHeader = None
) -> Response[PublishResult]:
    outcome = trigger_api.trigger_batch(principal, body, idempotency_key, app.lambda_context)
    return reply(outcome.result, headers=trigger_api.response_headers(outcome))


@app.post(
    "/realtime/users/<user_id>/events",
    summary="Send a catalogued event to every connection of a signed-in user",
    responses=documented(
        _PUBLISHED,
        {**_TRIGGER_ERRORS, 422: "Not in the private-user catalog, invalid data, or an unusable user id."},
    ),
    openapi_extensions=CATALOG,
)
def send_to_user(user_id: str, body: UserEventRequest, principal: Triggerer) -> PublishResult:
    return user_control.send_event(principal, unquote(user_id), body)


@app.post(
    "/realtime/users/<user_id>/terminate",
    summary="End every connection of a signed-in user",
    responses=documented(
        "Pusher ended the user's connections (none is not an error).",
        {422: "A user id Pusher cannot address.", 502: "Pusher answered with an error.", **_CONTROL_ERRORS},
    ),
)
def terminate(user_id: str, principal: Admin) -> TerminateResult:
    return user_control.terminate(principal, unquote(user_id))


@app.post(
    "/realtime/revocations",
    summary="Revoke a user's access (whole user, a class or a lesson) and end their connections",
    status_code=201,
    responses=documented(
        "Revoked: tokens issued until now are refused for that scope.",
        {
            400: "Malformed JSON.",
            413: "Body over MAX_BODY_BYTES.",
            422: "Invalid user, class or lesson id, or both class_id and lesson_id.",
            **_CONTROL_ERRORS,
        },
        status=201,
    ),
)
def create_revocation(body: RevocationRequest, principal: Admin) -> Response[RevocationOut]:
    return reply(user_control.create_revocation(principal, body), status=201)


@app.get(
    "/realtime/revocations",
    summary="The revocations in force (optionally ?user_id=...)",
    responses=documented("By user and scope.", {422: "A user id Pusher cannot address.", **_CONTROL_ERRORS}),
)
def list_revocations(
    principal: Admin,
    user_id: Annotated[str | None, Query(description="Only this user's revocations.")] = None,
) -> RevocationList:
    return user_control.list_revocations(principal, user_id)


@app.delete(
    "/realtime/revocations/<id>",
    summary="Lift a revocation",
    responses=documented(
        "Lifted: the user's tokens are accepted again for that scope.",
        {404: "No revocation with this id is in force.", **_CONTROL_ERRORS},
    ),
)
def delete_revocation(id: str, principal: Admin) -> RevocationLifted:
    return user_control.delete_revocation(principal, unquote(id))


@entry_point(deadlines.API_BUDGET_SECONDS, correlation_id_path=HTTP_API)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
