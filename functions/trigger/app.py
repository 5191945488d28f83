"""POST /realtime/trigger and POST /realtime/trigger/batch: publish catalogued events to Pusher; and the
user-level control routes (toolboxai_realtime.user_control): POST /realtime/users/{user_id}/events,
POST /realtime/users/{user_id}/terminate, POST|GET /realtime/revocations, DELETE /realtime/revocations/{id}.

Admin role or ``realtime:trigger`` scope. The body is validated against the event catalog, the
per-channel rate limit is checked in one DynamoDB call and the events go out in one Pusher call; an
``Idempotency-Key`` header makes a retried request return the first result without publishing twice.
"""

from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from toolboxai_realtime import deadlines, trigger_api, user_control
from toolboxai_realtime.http import create_app, json_response
from toolboxai_realtime.identity import Principal
from toolboxai_realtime.observability import logger, metrics, tracer
from toolboxai_realtime.publisher import (
    BatchTriggerRequest,
    PublishResult,
    TriggerRequest,
    catalog_openapi_refs,
)

# The token is checked before Powertools validates the typed body: 401/403 before 422.
app = create_app(caller=trigger_api.caller)

RESPONSES: dict[int, Any] = {
    200: {
        "description": "Published: Pusher accepted the events. event_ids lists their ids (also in each "
        "event's data as event_id).",
        "content": {"application/json": {"model": PublishResult}},
    },
    400: {"description": "Malformed body, channel, event name or socket_id."},
    401: {"description": "Missing or invalid bearer token."},
    403: {"description": "The token has neither the admin role nor the realtime:trigger scope."},
    409: {"description": "A request with this Idempotency-Key is still running (Retry-After)."},
    413: {
        "description": "Event data above 10,240 bytes as sent (compact UTF-8 JSON with its event_id; "
        "event_data_too_large)."
    },
    422: {
        "description": "Not in the catalog, invalid data, data holding an event_id (event_id_not_allowed), "
        "or an Idempotency-Key reused with another body."
    },
    429: {"description": "Per-channel rate limit reached (Retry-After); nothing was published."},
    502: {"description": "Pusher refused the request (Retry-After); nothing was published."},
    503: {
        "description": "Pusher could not be reached, or DynamoDB is unavailable (Retry-After); nothing "
        "was published."
    },
    504: {
        "description": "publish_outcome_unknown: the publish was sent and no answer came back; it may have "
        "been delivered and is in history. details.event_ids are its ids. Retry with the same "
        "Idempotency-Key: it goes out again under the same ids (Retry-After)."
    },
}
CATALOG = {"x-event-catalog": catalog_openapi_refs()}


@app.post(
    "/realtime/trigger",
    summary="Trigger one event on one or more channels",
    responses=RESPONSES,
    openapi_extensions=CATALOG,
)
def trigger(body: TriggerRequest, idempotency_key: trigger_api.IdempotencyKeyHeader = None) -> Response[Any]:
    outcome = trigger_api.trigger(app.context["caller"], body, idempotency_key, app.lambda_context)
    return json_response(outcome.result, headers=trigger_api.response_headers(outcome))


@app.post(
    "/realtime/trigger/batch",
    summary="Trigger up to 10 events in one Pusher call",
    responses=RESPONSES,
    openapi_extensions=CATALOG,
)
def trigger_batch(
    body: BatchTriggerRequest, idempotency_key: trigger_api.IdempotencyKeyHeader = None
) -> Response[Any]:
    outcome = trigger_api.trigger_batch(app.context["caller"], body, idempotency_key, app.lambda_context)
    return json_response(outcome.result, headers=trigger_api.response_headers(outcome))


def _caller() -> Principal:
    """The verified caller (``create_app(caller=...)`` has checked the token: admin or trigger scope)."""
    principal: Principal = app.context["caller"]
    return principal


_CONTROL: dict[int, Any] = {
    401: {"description": "Missing or invalid bearer token."},
    403: {"description": "The token does not have the admin role."},
    503: {"description": "Pusher or DynamoDB unavailable (Retry-After)."},
}


@app.post(
    "/realtime/users/<user_id>/events",
    summary="Send a catalogued event to every connection of a signed-in user",
    responses={
        **RESPONSES,
        403: {"description": "The token has neither the admin role nor the realtime:trigger scope."},
        422: {"description": "Not in the private-user catalog, invalid data, or an unusable user id."},
    },
    openapi_extensions=CATALOG,
)
def send_to_user(user_id: str, body: user_control.UserEventRequest) -> Response[Any]:
    return json_response(user_control.send_event(_caller(), unquote(user_id), body))


@app.post(
    "/realtime/users/<user_id>/terminate",
    summary="End every connection of a signed-in user",
    responses={
        200: {
            "description": "Pusher ended the user's connections (none is not an error).",
            "content": {"application/json": {"model": user_control.TerminateResult}},
        },
        422: {"description": "A user id Pusher cannot address."},
        502: {"description": "Pusher answered with an error."},
        **_CONTROL,
    },
)
def terminate(user_id: str) -> Response[Any]:
    return json_response(user_control.terminate(_caller(), unquote(user_id)))


@app.post(
    "/realtime/revocations",
    summary="Revoke a user's access (whole user, a class or a lesson) and end their connections",
    responses={
        201: {
            "description": "Revoked: tokens issued until now are refused for that scope.",
            "content": {"application/json": {"model": user_control.RevocationOut}},
        },
        400: {"description": "Malformed JSON."},
        413: {"description": "Body over MAX_BODY_BYTES."},
        422: {"description": "Invalid user, class or lesson id, or both class_id and lesson_id."},
        **_CONTROL,
    },
)
def create_revocation(body: user_control.RevocationRequest) -> Response[Any]:
    return json_response(user_control.create_revocation(_caller(), body), status=201)


@app.get(
    "/realtime/revocations",
    summary="The revocations in force (optionally ?user_id=...)",
    responses={
        200: {
            "description": "By user and scope.",
            "content": {"application/json": {"model": user_control.RevocationList}},
        },
        422: {"description": "A user id Pusher cannot address."},
        **_CONTROL,
    },
)
def list_revocations() -> Response[Any]:
    principal = _caller()
    user_id = app.current_event.get_query_string_value("user_id")
    return json_response(user_control.list_revocations(principal, user_id))


@app.delete(
    "/realtime/revocations/<id>",
    summary="Lift a revocation",
    responses={
        200: {
            "description": "Lifted: the user's tokens are accepted again for that scope.",
            "content": {"application/json": {"model": user_control.RevocationLifted}},
        },
        404: {"description": "No revocation with this id is in force."},
        **_CONTROL,
    },
)
def delete_revocation(id: str) -> Response[Any]:
    return json_response(user_control.delete_revocation(_caller(), unquote(id)))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
@deadlines.bounded(deadlines.API_BUDGET_SECONDS)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
