"""POST /pusher/auth and POST /pusher/user-auth: sign pusher-js subscriptions and sign-ins.

pusher-js sends form-encoded bodies with ``Authorization: Bearer <jwt>``; JSON bodies work too. The
logic (identity, channel policy, limits, signatures, security log) is ``toolboxai_realtime.authorization``.
"""

from collections.abc import Callable
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Depends, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from toolboxai_realtime import deadlines
from toolboxai_realtime.authorization import AuthAttempt, limits_clock
from toolboxai_realtime.http import create_app, json_response, parse_form_or_json, source_ip
from toolboxai_realtime.observability import logger, metrics, tracer

app = create_app(form_bodies=True)  # pusher-js sends forms


@app.post(
    "/pusher/auth",
    summary="Sign a pusher-js subscription (or a pusher-js-auth batch) for one socket",
    responses={
        200: {"description": "Signed: {auth, channel_data?, shared_secret?}, or a batch keyed by channel."},
        400: {"description": "Malformed socket_id or channel name, a public channel, a malformed batch."},
        403: {
            "description": "The channel policy refuses this user (the policy's reason as code), or the "
            "user's access to the channel was revoked (access_revoked)."
        },
        422: {"description": "Invalid status, current_activity or user_info."},
        429: {"description": "Auth rate limit or connection cap reached (Retry-After)."},
    },
)
def channel_auth(clock: Annotated[Callable[[], float], Depends(limits_clock)]) -> Response[Any]:
    """One channel (``channel_name``) or a pusher-js-auth batch (``channel_name[i]``) for one socket."""
    event = app.current_event
    with AuthAttempt("channel", source_ip(event), clock=clock) as attempt:
        principal = attempt.authenticate(event.headers.get("authorization"))
        answer = attempt.authorize_channels(principal, parse_form_or_json(event))
    return json_response(answer)


@app.post(
    "/pusher/user-auth",
    summary="Sign a pusher-js signin() for the token's user",
    responses={
        200: {"description": "Signed: {auth, user_data}."},
        400: {"description": "Missing or malformed socket_id."},
        403: {
            "description": "The user id cannot sign in to Pusher (unsupported_user_id), or the user's "
            "access was revoked (access_revoked)."
        },
        422: {"description": "The user_data the token yields is invalid or too large."},
        429: {"description": "Auth rate limit or connection cap reached (Retry-After)."},
    },
)
def user_auth(clock: Annotated[Callable[[], float], Depends(limits_clock)]) -> Response[Any]:
    """pusher-js ``signin()``: ``user_data`` for the token's user, signed for the socket."""
    event = app.current_event
    with AuthAttempt("user", source_ip(event), clock=clock) as attempt:
        principal = attempt.authenticate(event.headers.get("authorization"))
        answer = attempt.authenticate_user(principal, parse_form_or_json(event))
    return json_response(answer)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
@deadlines.bounded(deadlines.API_BUDGET_SECONDS)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
