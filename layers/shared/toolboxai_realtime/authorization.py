"""Channel authorization and user authentication for pusher-js: the logic of ``/pusher/auth`` and
``/pusher/user-auth``, free of HTTP.

One request, in order:

1. **Who** — the bearer token becomes a ``Principal`` (``identity``); ``Unauthorized`` otherwise.
2. **What** — the body (form-encoded as pusher-js sends it, or JSON) becomes a ``ChannelAuthRequest``:
   ``socket_id`` strictly ``<digits>.<digits>`` (a ``:`` in it could forge another channel's
   signature), one ``channel_name`` or the pusher-js-auth batch ``channel_name[0]``, ``channel_name[1]``,
   … (a JSON list works too), and the presence parameters ``status`` / ``current_activity``.
3. **May they** — each channel through the declarative policy (``channels``), answered by a verdict
   (``decide``): ``Granted``; ``Malformed`` (not a channel name); ``Public`` (pusher-js never asks for
   one); ``Denied`` with the policy's reason; ``EncryptionOff`` for an allowed encrypted channel on a
   server without a master key (``encryption_not_configured``: a deployment problem, not the caller's,
   so not a denial). Each refusal keeps the error it answers with; ``http`` / ``errors`` give the
   status.
4. **Limits and revocations** — one DynamoDB call (``stores.auth_limits.admit``, a
   ``TransactWriteItems`` the store composes) counts the request (a batch once), takes or renews the
   socket's connection lease when anything is granted (``RateLimited`` beyond either limit), remembers
   the presence infos, and checks with ``ConditionCheck``s that the user is not revoked
   (``stores.revocations``) for the whole account or for the class or lesson of a granted channel, for
   a token issued at or before the revocation (``Denied``, ``access_revoked``). A request whose every
   channel was malformed or public is answered without counting.
5. **Sign** — every granted channel through ``pusher_gateway`` (the ``pusher`` SDK); presence
   ``channel_data`` is built from the token only, plus the validated presence parameters.

``AuthAttempt`` wraps one request: it records every denial as a structured security event and an
``AuthDenied`` metric (reason and channel family; never the token), counts grants (``AuthGranted``)
and measures ``AuthLatency``.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Annotated, Any, ClassVar, Final, Literal, Self, cast, get_args

from pydantic import BaseModel, ConfigDict, StringConstraints

from . import pusher_gateway
from .bodies import compact_json
from .channels import (
    Channel,
    ChannelName,
    MemberData,
    SocketId,
    authorize,
    id_pattern,
    parse_channel,
    token_identity,
    validate_socket_id,
)
from .errors import (
    BadRequest,
    ConfigurationError,
    Forbidden,
    InvalidChannel,
    RateLimited,
    RealtimeError,
    Unauthorized,
    ValidationFailed,
    batch_entry,
    http_status,
    is_server_fault,
)
from .identity import Principal, authenticate, bearer_token
from .observability import MetricUnit, count, logger, security_event
from .secrets import PusherCredentials, pusher_credentials
from .settings import get_settings
from .stores import auth_limits, revocations

__all__ = [
    "MAX_BATCH_CHANNELS",
    "MAX_CURRENT_ACTIVITY_LENGTH",
    "MAX_USER_INFO_BYTES",
    "AuthAttempt",
    "ChannelAuthBody",
    "ChannelAuthRequest",
    "Denied",
    "EncryptionOff",
    "Granted",
    "Malformed",
    "PresenceStatus",
    "Public",
    "Refused",
    "UserAuthBody",
    "Verdict",
    "decide",
    "limits_clock",
    "parse_channel_auth_request",
    "parse_socket_id",
    "presence_member",
    "signin_user_data",
]

PresenceStatus = Literal["active", "away", "busy"]
PRESENCE_STATUSES: Final = frozenset(get_args(PresenceStatus))

MAX_BATCH_CHANNELS = 100
"""Channels in one batch request; more is refused (a page rarely subscribes to more than a dozen)."""

MAX_CURRENT_ACTIVITY_LENGTH = 100
MAX_USER_INFO_BYTES = 1024
"""Pusher's limit on a presence member's ``user_info`` (the UTF-8 bytes of its JSON)."""
MAX_TRANSACTION_ITEMS = 100
"""DynamoDB's limit on the items of one transaction (``TransactWriteItems``), shared by the limits update,
the revocation checks (the whole user, and each class and lesson of the granted channels) and the presence
infos of one authorization."""

_BATCH_KEY = re.compile(r"channel_name\[([0-9]{1,4})\]")
_PUSHER_USER_ID = re.compile(id_pattern(200))  # what pusher:signin accepts as user_data.id
_LOGGED_NAME_LENGTH = 200  # channel names in log entries are cut here (refused ones may be junk)

# ------------------------------------------------------------------------------------------- requests


class ChannelAuthBody(BaseModel):
    """The body of ``POST /pusher/auth`` as documented (OpenAPI), form-encoded or JSON. The parser
    (``parse_channel_auth_request``) also takes the pusher-js-auth batch form ``channel_name[i]``."""

    model_config = ConfigDict(extra="allow")

    socket_id: SocketId
    channel_name: ChannelName
    status: PresenceStatus | None = None
    current_activity: Annotated[str, StringConstraints(max_length=MAX_CURRENT_ACTIVITY_LENGTH)] | None = None


class UserAuthBody(BaseModel):
    """The body of ``POST /pusher/user-auth`` (pusher-js ``signin()``), form-encoded or JSON."""

    model_config = ConfigDict(extra="allow")

    socket_id: SocketId


@dataclass(frozen=True, slots=True)
class ChannelAuthRequest:
    """A parsed ``/pusher/auth`` body. ``batch`` is the pusher-js-auth form (answered per channel)."""

    socket_id: str
    channels: tuple[str, ...]
    batch: bool
    status: PresenceStatus = "active"
    current_activity: str | None = None


def parse_socket_id(body: Mapping[str, Any]) -> str:
    """The body's ``socket_id``.

    Raises ``BadRequest`` with code ``missing_socket_id`` when it is absent or empty, and
    ``invalid_socket_id`` when it is not a string of the form ``<digits>.<digits>``.
    """
    value = body.get("socket_id")
    if value is None or value == "":
        raise BadRequest("The socket_id parameter is required.", code="missing_socket_id")
    if not isinstance(value, str):
        raise BadRequest("The socket_id must look like 1234.5678.", code="invalid_socket_id")
    return validate_socket_id(value)


def parse_channel_auth_request(body: Mapping[str, Any]) -> ChannelAuthRequest:
    """The channel authorization request in a form or JSON body.

    Raises ``BadRequest`` with code ``missing_socket_id`` / ``invalid_socket_id``, ``missing_channel_name``,
    ``invalid_channel_name`` (a name that is not a string), ``malformed_batch`` (``channel_name`` and
    ``channel_name[i]`` together, or a key such as ``channel_name[x]``), ``too_many_channels``; and
    ``ValidationFailed`` with code ``invalid_status`` or ``invalid_current_activity``.
    Channel names are *not* checked here: in a batch each one is answered on its own.
    """
    socket_id = parse_socket_id(body)
    names, batch = _channel_names(body)
    status, activity = _presence_parameters(body)
    return ChannelAuthRequest(socket_id, names, batch, status, activity)


def _channel_names(body: Mapping[str, Any]) -> tuple[tuple[str, ...], bool]:
    single = body.get("channel_name")
    indexed: dict[int, Any] = {}
    for key, value in body.items():
        if key.startswith("channel_name["):
            found = _BATCH_KEY.fullmatch(key)
            if found is None:
                raise BadRequest(
                    "Batch channel names are sent as channel_name[0], channel_name[1], …",
                    code="malformed_batch",
                )
            indexed[int(found.group(1))] = value
    if indexed and single is not None:
        raise BadRequest("Send either channel_name or channel_name[i], not both.", code="malformed_batch")

    names: list[Any]
    if isinstance(single, list):  # the JSON spelling of a batch
        names, batch = single, True
    elif indexed:
        names, batch = [indexed[i] for i in sorted(indexed)], True
    else:
        names, batch = ([] if single is None or single == "" else [single]), False
    if not names:
        raise BadRequest("The channel_name parameter is required.", code="missing_channel_name")
    if len(names) > MAX_BATCH_CHANNELS:
        raise BadRequest(
            f"At most {MAX_BATCH_CHANNELS} channels can be authorized in one request.",
            code="too_many_channels",
        )
    if not all(isinstance(name, str) for name in names):
        raise BadRequest("Channel names must be strings.", code="invalid_channel_name")
    return tuple(dict.fromkeys(names)), batch


def _presence_parameters(body: Mapping[str, Any]) -> tuple[PresenceStatus, str | None]:
    raw_status = body.get("status")
    status: PresenceStatus = "active"
    if raw_status is not None and raw_status != "":
        if not isinstance(raw_status, str) or raw_status not in PRESENCE_STATUSES:
            raise ValidationFailed("The status must be one of active, away, busy.", code="invalid_status")
        status = cast(PresenceStatus, raw_status)
    activity = body.get("current_activity")
    if activity is None or (isinstance(activity, str) and not activity.strip()):
        return status, None
    if (
        not isinstance(activity, str)
        or len(activity.strip()) > MAX_CURRENT_ACTIVITY_LENGTH
        or not activity.isprintable()
    ):
        raise ValidationFailed(
            f"The current_activity must be text of at most {MAX_CURRENT_ACTIVITY_LENGTH} printable "
            "characters.",
            code="invalid_current_activity",
        )
    return status, activity.strip()


# ------------------------------------------------------------------------------------------- decisions


@dataclass(frozen=True)
class Granted:
    """The policy lets the caller subscribe: the channel will be signed (``reason`` says which rule)."""

    name: str
    family: str
    channel: Channel
    reason: str
    message: str
    granted: ClassVar[bool] = True

    @property
    def code(self) -> str:
        """The policy's reason."""
        return self.reason


@dataclass(frozen=True)
class Refused:
    """A channel that will not be signed, with the error that says why (``error``; raised as is for a
    single channel, its status and code answered per channel in a batch).

    ``family`` is the metric dimension: the family id, ``unknown`` (a private/presence name no template
    matches), ``public`` or ``invalid``.
    """

    name: str
    family: str
    error: RealtimeError
    channel: Channel | None = None
    granted: ClassVar[bool] = False

    @property
    def code(self) -> str:
        """The error's code (the reason of the refusal)."""
        return self.error.code

    @property
    def message(self) -> str:
        """The error's message."""
        return self.error.message


class Malformed(Refused):
    """The name is not a channel name (``error``: the ``InvalidChannel`` the parser raised)."""


class Public(Refused):
    """A public channel: pusher-js never asks to authorize one (``BadRequest`` ``public_channel``)."""


class Denied(Refused):
    """The policy refuses the caller, or the caller's access to the channel was revoked (``Forbidden``
    with the reason as code)."""

    @property
    def reason(self) -> str:
        """Why the policy refused (``not_in_class``, ``access_revoked`` …)."""
        return self.error.code


class EncryptionOff(Refused):
    """Allowed, but an end-to-end encrypted channel on a server without a master key
    (``ConfigurationError`` ``encryption_not_configured``: a deployment problem, not the caller's)."""


Verdict = Granted | Malformed | Public | Denied | EncryptionOff
"""The answer for one channel."""

_PUBLIC_MESSAGE = "Public channels need no authorization: subscribe without calling this endpoint."
_NO_ENCRYPTION_MESSAGE = "End-to-end encrypted channels are not enabled on this server."
_REVOKED_MESSAGE = "Your access to this channel was revoked; sign in again to get a new token."


def decide(principal: Principal, name: str) -> Verdict:
    """Whether ``principal`` may subscribe to the channel ``name``, by the policy alone. Never raises."""
    try:
        channel = parse_channel(name)
    except InvalidChannel as exc:
        return Malformed(name, "invalid", exc)
    family = channel.family.id if channel.family else ("public" if channel.is_public else "unknown")
    if channel.is_public:
        return Public(name, family, BadRequest(_PUBLIC_MESSAGE, code="public_channel"), channel)
    decision = authorize(principal, channel)
    if decision.allowed:
        return Granted(name, family, channel, decision.reason, decision.message)
    return Denied(name, family, Forbidden(decision.message, code=decision.reason), channel)


def _without_encryption(verdict: Granted) -> EncryptionOff:
    error = ConfigurationError(_NO_ENCRYPTION_MESSAGE, code="encryption_not_configured")
    return EncryptionOff(verdict.name, verdict.family, error, verdict.channel)


def _with_encryption_checked(verdicts: list[Verdict]) -> list[Verdict]:
    """``verdicts`` with granted encrypted channels turned into ``EncryptionOff`` when no master key is
    configured.

    Raises ``ConfigurationError`` as ``_signing_credentials`` does (only when something is granted).
    """
    if not any(isinstance(v, Granted) for v in verdicts):
        return verdicts
    if _signing_credentials().encryption_master_key_base64:
        return verdicts
    return [
        _without_encryption(v) if isinstance(v, Granted) and v.channel.is_encrypted else v for v in verdicts
    ]


def _signing_credentials() -> PusherCredentials:
    """The Pusher credentials, checked so that the SDK cannot fail on them while signing.

    Raises ``ConfigurationError`` when Pusher is not configured or the encryption master key is set
    but is not base64 of 32 bytes (the SDK refuses to build a client with it, for every channel).
    """
    creds = pusher_credentials()
    master = creds.encryption_master_key_base64
    if master is not None and not _is_32_byte_base64(master):
        raise ConfigurationError(
            "The encryption master key configured on the server is not base64 of 32 bytes.",
            code="encryption_misconfigured",
        )
    return creds


def _is_32_byte_base64(value: str) -> bool:
    try:
        return len(base64.b64decode(value, validate=True)) == 32
    except (binascii.Error, ValueError):
        return False


def presence_member(
    principal: Principal,
    status: PresenceStatus = "active",
    current_activity: str | None = None,
    *,
    member_data: MemberData = token_identity,
) -> dict[str, Any]:
    """The presence ``channel_data`` of ``principal``: ``{user_id, user_info}``, ``user_info`` being the
    channel family's ``member_data`` (the channel table's column; ``channels.token_identity`` for both
    presence families): identity from the token, never from the client.

    Raises ``ValidationFailed`` (code ``user_info_too_large``) when ``user_info`` would exceed Pusher's
    1 KB.
    """
    info = member_data(principal, status, current_activity)
    size = len(compact_json(info).encode())
    if size > MAX_USER_INFO_BYTES:
        raise ValidationFailed(
            f"The presence user_info would be {size} bytes; Pusher allows {MAX_USER_INFO_BYTES}.",
            code="user_info_too_large",
        )
    return {"user_id": principal.user_id, "user_info": info}


def signin_user_data(principal: Principal) -> dict[str, Any]:
    """The ``user_data`` of a ``pusher:signin``: ``id`` = the token's ``sub``, ``user_info`` from the token.

    Raises ``Forbidden`` (code ``unsupported_user_id``) when the user id has characters Pusher does not
    accept in user ids (it names the user's ``#server-to-user-{id}`` channel).
    """
    if not _PUSHER_USER_ID.fullmatch(principal.user_id):
        raise Forbidden(
            "Your user id cannot be used to sign in to Pusher: it may contain only letters, digits "
            "and _ - = @ , . ;",
            code="unsupported_user_id",
        )
    info: dict[str, Any] = {"name": principal.name or principal.user_id, "role": principal.role}
    if principal.avatar_url:
        info["avatar_url"] = principal.avatar_url
    return {"id": principal.user_id, "user_info": info}


# -------------------------------------------------------------------------------------------- attempts


def limits_clock() -> Callable[[], float]:
    """The clock (epoch seconds) of the auth limits and of what they write: ``time.time``. An
    ``AuthAttempt`` made without a clock reads it here when it is created, so tests replace this function
    (``monkeypatch.setattr``) to move between windows and lease buckets.

    It is not a Powertools ``Depends`` of the auth routes: Powertools 3.37 rebuilds a route's dependency
    tree with ``typing.get_type_hints`` on every request of a route that has one, about 200 µs of an
    auth request's ~1 ms of compute (docs/benchmarks.md, "Auth compute").
    """
    return time.time


class AuthAttempt:
    """One auth request: the steps above, with its security log, metrics and latency.

    Use it as a context manager around the whole request: a ``RealtimeError`` leaving the block is
    recorded as a denial (4xx) or a failure (5xx) with what is known by then (user, channel, source
    IP) and re-raised unchanged; the latency is recorded either way. ``clock`` (epoch seconds) dates
    the limits, the revocation checks and the presence items the request writes.
    """

    def __init__(
        self,
        endpoint: Literal["channel", "user"],
        source_ip: str | None,
        *,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.source_ip = source_ip
        self.clock = clock if clock is not None else limits_clock()
        self.user_id: str | None = None
        self.channel: str | None = None
        self.family = "signin" if endpoint == "user" else "none"
        self._started = 0.0

    def __enter__(self) -> Self:
        self._started = time.perf_counter()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if isinstance(exc, RealtimeError):
            self._refused(exc, self.channel, self.family)
        # Without dimensions, so it goes out with the invocation's own metrics (``log_metrics``).
        count("AuthLatency", (time.perf_counter() - self._started) * 1000, MetricUnit.Milliseconds)

    # ------------------------------------------------------------------------------------ steps

    def authenticate(self, authorization: str | None) -> Principal:
        """The caller of an ``Authorization: Bearer <jwt>`` header value.

        Raises ``Unauthorized`` with the codes of ``identity.bearer_token`` and
        ``identity.authenticate``; ``ConfigurationError`` / ``UpstreamUnavailable`` as they do.
        """
        principal = authenticate(bearer_token(authorization))
        self.user_id = principal.user_id
        return principal

    def authorize_channels(self, principal: Principal, body: Mapping[str, Any]) -> dict[str, Any]:
        """Sign the subscriptions ``body`` asks for.

        A single channel answers ``{"auth", "channel_data"?, "shared_secret"?}`` or raises the error of
        its refusal: ``BadRequest`` (``public_channel``, ``invalid_channel_name`` and the codes of
        ``parse_channel_auth_request``), ``ValidationFailed``, ``Forbidden`` (the policy's reason as
        code, or ``access_revoked``), ``ConfigurationError`` (``encryption_not_configured``). A batch
        answers ``{channel: errors.batch_entry(signed data | error)}`` and raises only for the request
        as a whole. Both raise ``RateLimited`` (``rate_limited``, ``too_many_connections``) and
        ``UpstreamUnavailable``.
        """
        request = parse_channel_auth_request(body)
        verdicts = _with_encryption_checked([decide(principal, name) for name in request.channels])
        first = verdicts[0]
        if not request.batch:
            self.channel, self.family = first.name, first.family
            if isinstance(first, Malformed | Public):
                raise first.error  # refused without counting
        members = {
            v.name: presence_member(
                principal, request.status, request.current_activity, member_data=v.channel.family.member_data
            )
            for v in verdicts
            if isinstance(v, Granted) and v.channel.family and v.channel.family.member_data
        }
        if not all(isinstance(v, Malformed | Public) for v in verdicts):
            verdicts = self._admit_channels(principal, request, verdicts, members)
        signed = {
            v.name: pusher_gateway.authorize_channel(request.socket_id, v.name, members.get(v.name))
            for v in verdicts
            if isinstance(v, Granted)
        }
        self._record(verdicts, batch=request.batch)
        if request.batch:
            return {
                v.name: batch_entry(v.error if isinstance(v, Refused) else signed[v.name]) for v in verdicts
            }
        if isinstance(verdicts[0], Refused):
            raise verdicts[0].error
        return signed[verdicts[0].name]

    def authenticate_user(self, principal: Principal, body: Mapping[str, Any]) -> dict[str, str]:
        """Sign a pusher-js ``signin()``: ``{"auth", "user_data"}``.

        Raises ``BadRequest`` (``missing_socket_id``, ``invalid_socket_id``), ``Forbidden``
        (``unsupported_user_id``, ``access_revoked``), ``RateLimited``, ``ConfigurationError``,
        ``UpstreamUnavailable``.
        """
        socket_id = parse_socket_id(body)
        user_data = signin_user_data(principal)
        _signing_credentials()
        # The sign-in facts (role, classes) let the class watch find this user's class in any channel.
        try:
            self._admit(principal, socket_id, signin=True, scopes=[revocations.USER_SCOPE])
        except auth_limits.Refused as exc:
            raise _revoked() from exc
        signed = pusher_gateway.authenticate_user(socket_id, user_data)
        count("AuthGranted", family="signin")
        logger.debug("user signed in", extra={"user_id": principal.user_id})
        return signed

    # ---------------------------------------------------------------------------------- helpers

    def _admit_channels(
        self,
        principal: Principal,
        request: ChannelAuthRequest,
        verdicts: list[Verdict],
        members: Mapping[str, dict[str, Any]],
    ) -> list[Verdict]:
        """Count the request, lease the socket, remember presence infos and check revocations: one
        DynamoDB call. Returns ``verdicts`` with the channels of revoked scopes denied
        (``access_revoked``).

        A single channel of a revoked scope raises ``Forbidden``. A batch mixing revoked and other
        channels costs a second call (the first one was cancelled, so nothing was counted): the only
        case with two. Raises ``RateLimited`` and ``UpstreamUnavailable`` as ``auth_limits.admit``.
        """
        for _ in range(2):
            granted = [v for v in verdicts if isinstance(v, Granted)]
            # The user_info signed into presence channels is kept for the members read API, written
            # in the same DynamoDB call as the limits (and not at all when a limit refuses).
            infos = [
                auth_limits.MemberInfo(v.name, principal.user_id, members[v.name]["user_info"])
                for v in granted
                if v.name in members
            ]
            scopes = [revocations.USER_SCOPE, *(scope for v in granted if (scope := _scope_of(v)))]
            socket_id = request.socket_id if granted else None
            try:
                self._admit(principal, socket_id, member_infos=infos, scopes=scopes)
                return verdicts
            except auth_limits.Refused as exc:
                if not request.batch or revocations.USER_SCOPE in exc.scopes:
                    raise _revoked() from exc
                verdicts = [
                    _as_revoked(v) if isinstance(v, Granted) and _scope_of(v) in exc.scopes else v
                    for v in verdicts
                ]
                if not any(isinstance(v, Granted) for v in verdicts):
                    return verdicts  # refused without counting, as a cancelled transaction is
        raise _revoked()  # pragma: no cover - a scope revoked between the two calls

    def _admit(
        self,
        principal: Principal,
        socket_id: str | None,
        *,
        member_infos: Sequence[auth_limits.MemberInfo] = (),
        signin: bool = False,
        scopes: Sequence[str] = (),
    ) -> auth_limits.Admission:
        s = get_settings()
        return auth_limits.admit(
            principal.user_id,
            socket_id,
            limit=s.auth_rate_limit_per_minute,
            cap=s.max_connections_per_user,
            lease_seconds=s.connection_lease_seconds,
            clock=self.clock,
            member_infos=member_infos,
            signin=principal if signin else None,
            scopes=scopes,
            issued_at=principal.issued_at,
        )

    def _record(self, verdicts: list[Verdict], *, batch: bool) -> None:
        """Count grants; record each refusal of a batch (a single refusal is raised and recorded on exit)."""
        granted = Counter(v.family for v in verdicts if isinstance(v, Granted))
        for family, n in granted.items():
            count("AuthGranted", n, family=family)
        if granted:
            logger.debug(
                "channels authorized",
                extra={"user_id": self.user_id, "channels": [_cut(v.name) for v in verdicts if v.granted]},
            )
        if batch:
            for v in verdicts:
                if isinstance(v, Refused):
                    self._refused(v.error, v.name, v.family)

    def _refused(self, error: RealtimeError, channel: str | None, family: str) -> None:
        reason = error.code
        fields = {
            "endpoint": self.endpoint,
            "status": http_status(error),
            "user_id": self.user_id,
            "channel": _cut(channel) if channel else None,
            "family": family,
            "source_ip": self.source_ip,
        }
        if is_server_fault(error):
            logger.error("auth failed", extra={"reason": reason, **fields})
            count("AuthError", reason=reason, endpoint=self.endpoint)
            return
        # Credentials, policy and limits refusals are warnings (someone may be probing); so is a
        # socket id that could forge another channel's signature.
        probing = isinstance(error, Unauthorized | Forbidden | RateLimited) or reason == "invalid_socket_id"
        security_event("auth_denied", reason=reason, level="warning" if probing else "info", **fields)
        count("AuthDenied", reason=reason, family=family)


def _revoked() -> Forbidden:
    return Forbidden(_REVOKED_MESSAGE, code="access_revoked")


def _scope_of(verdict: Granted) -> str | None:
    """The revocation scope of a channel other than the whole user: its class or its lesson."""
    params = verdict.channel.params
    if "class_id" in params or "lesson_id" in params:
        return revocations.scope_key(params.get("class_id"), params.get("lesson_id"))
    return None


def _as_revoked(verdict: Granted) -> Denied:
    return Denied(verdict.name, verdict.family, _revoked(), verdict.channel)


def _cut(name: str) -> str:
    return name if len(name) <= _LOGGED_NAME_LENGTH else name[:_LOGGED_NAME_LENGTH] + "…"
