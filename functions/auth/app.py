"""POST /pusher/auth and POST /pusher/user-auth: sign pusher-js subscriptions and sign-ins.

pusher-js sends form-encoded bodies with ``Authorization: Bearer <jwt>``; JSON bodies work too. The
logic (identity, channel policy, limits, signatures, security log) is ``toolboxai_realtime.authorization``.
"""

from typing import Any, NotRequired, TypedDict

from aws_lambda_powertools.utilities.typing import LambdaContext

from toolboxai_realtime import deadlines
from toolboxai_realtime.authorization import AuthAttempt
from toolboxai_realtime.entry_point import HTTP_API, entry_point
from toolboxai_realtime.http import create_app, documented, parse_form_or_json, source_ip

app = create_app(form_bodies=True)  # pusher-js sends forms


class ChannelAuthorization(TypedDict):
    """pusher-js's ``ChannelAuthorizationData``: the signature, with the presence member data and the
    key of an encrypted channel where they apply."""

    auth: str
    channel_data: NotRequired[str]
    shared_secret: NotRequired[str]


class BatchItem(TypedDict):
    """One channel of a pusher-js-auth batch: its status, the signature or the error code."""

    status: int
    data: NotRequired[ChannelAuthorization]
    code: NotRequired[str]


class UserAuthentication(TypedDict):
    """pusher-js's ``UserAuthenticationData``: the signature over ``user_data``."""

    auth: str
    user_data: str


# Unlike the other routes these take no Depends parameter at all. Not the caller: they authenticate
# inside AuthAttempt, because a refused token here (401) must be recorded as a security event and counted
# like every other refusal of the auth endpoints (toolboxai_realtime.authorization). Nor anything else:
# these routes are the class-start burst's hot path, and Powertools 3.37 rebuilds the dependency tree of
# a route that has one with typing.get_type_hints on every request (~200 µs of an auth's ~1 ms,
# docs/benchmarks.md "Auth compute"; tests/integration/test_auth_hot_path.py).


@app.post(
    "/pusher/auth",
    summary="Sign a pusher-js subscription (or a pusher-js-auth batch) for one socket",
    responses=documented(
        "Signed: {auth, channel_data?, shared_secret?}, or a batch keyed by channel.",
        {
            400: "Malformed socket_id or channel name, a public channel, a malformed batch.",
            403: "The channel policy refuses this user (the policy's reason as code), or the user's access "
            "to the channel was revoked (access_revoked).",
            422: "Invalid status, current_activity or user_info.",
            429: "Auth rate limit or connection cap reached (Retry-After).",
        },
    ),
)
def channel_auth() -> ChannelAuthorization | dict[str, BatchItem]:
    """One channel (``channel_name``) or a pusher-js-auth batch (``channel_name[i]``) for one socket."""
    event = app.current_event
    with AuthAttempt("channel", source_ip(event)) as attempt:
        principal = attempt.authenticate(event.headers.get("authorization"))
        answer: Any = attempt.authorize_channels(principal, parse_form_or_json(event))
    return answer  # type: ignore[no-any-return]


@app.post(
    "/pusher/user-auth",
    summary="Sign a pusher-js signin() for the token's user",
    responses=documented(
        "Signed: {auth, user_data}.",
        {
            400: "Missing or malformed socket_id.",
            403: "The user id cannot sign in to Pusher (unsupported_user_id), or the user's access was "
            "revoked (access_revoked).",
            422: "The user_data the token yields is invalid or too large.",
            429: "Auth rate limit or connection cap reached (Retry-After).",
        },
    ),
)
def user_auth() -> UserAuthentication:
    """pusher-js ``signin()``: ``user_data`` for the token's user, signed for the socket."""
    event = app.current_event
    with AuthAttempt("user", source_ip(event)) as attempt:
        principal = attempt.authenticate(event.headers.get("authorization"))
        answer: Any = attempt.authenticate_user(principal, parse_form_or_json(event))
    return answer  # type: ignore[no-any-return]


@entry_point(deadlines.API_BUDGET_SECONDS, correlation_id_path=HTTP_API)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
