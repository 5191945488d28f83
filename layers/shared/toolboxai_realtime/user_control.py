"""User-level control: send to a user on every device, end a user's connections, revoke access.

The logic of ``POST /realtime/users/{user_id}/events``, ``POST /realtime/users/{user_id}/terminate``
and ``POST|GET /realtime/revocations``, ``DELETE /realtime/revocations/{id}``, free of HTTP. All of it
rests on Pusher's user authentication (``signin()``, ``PUSHER_USER_AUTHENTICATION=true`` locally): the
server-to-user channel and the terminate-connections API reach the connections signed in as a user.

* **Events** (admin role or ``realtime:trigger`` scope): ``Publisher.send_to_user``, the trigger path
  (catalog of ``private-user``, 10,240-byte limit, rate limit) on ``#server-to-user-{user_id}``.
* **Terminate** (admin): ``pusher_gateway.terminate_user_connections``; pusher-js is told
  ``4009`` and does not reconnect by itself.
* **Revocations** (admin): stored per user and scope (``stores.revocations``); ``/pusher/auth`` refuses
  that scope from then on to tokens issued at or before it, inside its one DynamoDB call; the user's
  connections are ended so that every subscription has to be authorized again. A revocation lapses on
  its own once every token issued before it has expired.

Every action is a structured security event (who did what to whom) and a metric.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from . import pusher_gateway
from .channels import PARAM_PATTERN, ServerEventName, id_pattern
from .errors import Forbidden, NotFound, RealtimeError, ValidationFailed
from .identity import Principal
from .observability import count, logger, security_event
from .publisher import EventData, PublishResult, default_publisher
from .stores import revocations as store

__all__ = [
    "RevocationLifted",
    "RevocationList",
    "RevocationOut",
    "RevocationRequest",
    "TerminateResult",
    "UserEventRequest",
    "create_revocation",
    "delete_revocation",
    "list_revocations",
    "require_admin",
    "send_event",
    "terminate",
    "validate_user_id",
]

_USER_ID_PATTERN = id_pattern(128)
_USER_ID = re.compile(_USER_ID_PATTERN)  # the same rule for path parameters
PusherUserId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=_USER_ID_PATTERN)]
"""A user id Pusher can address (sign-in ``id``, ``#server-to-user-{id}``): 1-128 of the channel alphabet."""

ScopeId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=rf"^{PARAM_PATTERN}$")]


# ------------------------------------------------------------------------------------------ models


class UserEventRequest(BaseModel):
    """One event of the ``private-user`` catalog for every connection of a user."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event: ServerEventName = Field(description="An event of the private-user catalog, e.g. grade_posted.")
    data: EventData


class TerminateResult(BaseModel):
    """What ``POST /realtime/users/{user_id}/terminate`` answers."""

    user_id: str
    terminated: Literal[True] = True


class RevocationRequest(BaseModel):
    """Who loses access, and to what: the whole user, or one class's or one lesson's channels."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    user_id: PusherUserId = Field(description="The user (the token's sub).")
    class_id: ScopeId | None = Field(default=None, description="Only this class's channels.")
    lesson_id: ScopeId | None = Field(default=None, description="Only this lesson's channels.")

    @model_validator(mode="after")
    def _at_most_one_scope(self) -> Self:
        if self.class_id is not None and self.lesson_id is not None:
            raise ValueError("Give class_id or lesson_id, not both (or neither: the whole user).")
        return self


class RevocationOut(BaseModel):
    """One revocation in force."""

    id: str = Field(description="Its id, for DELETE /realtime/revocations/{id}.")
    user_id: str
    scope: Literal["user", "class", "lesson"]
    class_id: str | None = None
    lesson_id: str | None = None
    revoked_at: datetime = Field(description="Tokens issued at or before this second are refused.")
    expires_at: datetime = Field(description="When it lapses: every token issued before it has expired.")
    created_by: str | None = None
    connections_terminated: bool | None = Field(
        default=None, description="On creation: whether Pusher ended the user's connections."
    )


class RevocationLifted(BaseModel):
    """What ``DELETE /realtime/revocations/{id}`` answers."""

    id: str
    user_id: str
    lifted: Literal[True] = True


class RevocationList(BaseModel):
    revocations: list[RevocationOut]
    count: int


# ------------------------------------------------------------------------------------------ checks


def require_admin(principal: Principal) -> None:
    """Raises ``Forbidden`` (``admin_required``) unless ``principal`` has the admin role."""
    if not principal.is_admin:
        security_event("user_control_denied", reason="not_admin", user_id=principal.user_id)
        raise Forbidden("Only administrators may do this.", code="admin_required")


def validate_user_id(user_id: str) -> str:
    """``user_id`` unchanged if Pusher can address it. Raises ``ValidationFailed`` (``invalid_user_id``)."""
    if not _USER_ID.fullmatch(user_id):
        raise ValidationFailed(
            "The user id must be 1-128 letters, digits or _ - = @ , . ; (what Pusher accepts).",
            code="invalid_user_id",
        )
    return user_id


# ---------------------------------------------------------------------------------------- actions


def send_event(principal: Principal, user_id: str, body: UserEventRequest) -> PublishResult:
    """Send ``body`` to every connection signed in as ``user_id``.

    Raises ``Forbidden`` (``trigger_not_allowed``) without the admin role or the ``realtime:trigger``
    scope; ``ValidationFailed`` (``invalid_user_id``, ``unknown_event``, ``invalid_event_data``),
    ``PayloadTooLarge``, ``RateLimited``, ``UpstreamUnavailable`` as ``Publisher.send_to_user``.
    """
    if not principal.can_trigger:
        security_event("user_control_denied", reason="not_admin_nor_scope", user_id=principal.user_id)
        raise Forbidden(
            "Only administrators and services with the realtime:trigger scope may send events.",
            code="trigger_not_allowed",
        )
    result = default_publisher().send_to_user(validate_user_id(user_id), body.event, body.data)
    logger.info("sent to user", extra={"by": principal.user_id, "user_id": user_id, "event": body.event})
    return result


def terminate(principal: Principal, user_id: str) -> TerminateResult:
    """End every connection signed in as ``user_id``.

    Raises ``Forbidden`` (``admin_required``), ``ValidationFailed`` (``invalid_user_id``) and
    ``UpstreamUnavailable`` when Pusher does not do it.
    """
    require_admin(principal)
    pusher_gateway.terminate_user_connections(validate_user_id(user_id))
    security_event("connections_terminated", reason="admin_request", by=principal.user_id, user_id=user_id)
    count("ConnectionsTerminated", reason="admin_request")
    return TerminateResult(user_id=user_id)


def create_revocation(
    principal: Principal, body: RevocationRequest, *, now: Callable[[], float] = time.time
) -> RevocationOut:
    """Revoke ``body.user_id``'s access (whole user, class or lesson) for every token issued until now,
    and end their connections so that pusher-js has to authorize every subscription again.

    The revocation is stored first (from then on ``/pusher/auth`` refuses); a termination that fails is
    logged and reported as ``connections_terminated: false`` (retry with ``POST .../terminate``).
    Raises ``Forbidden`` (``admin_required``) and ``UpstreamUnavailable`` when the store fails.
    """
    require_admin(principal)
    revoked_at = int(now())
    scope = store.scope_key(body.class_id, body.lesson_id)
    record = store.Revocation(
        user_id=body.user_id,
        scope=scope,
        revoked_at=revoked_at,
        expires_at=revoked_at + store.lifetime_seconds(),
        created_by=principal.user_id,
    )
    store.put(record)
    try:
        pusher_gateway.terminate_user_connections(body.user_id)
        terminated = True
    except RealtimeError as exc:
        logger.error("revoked user's connections not terminated", extra={"code": exc.code})
        terminated = False
    security_event(
        "access_revoked",
        reason="admin_request",
        by=principal.user_id,
        user_id=body.user_id,
        scope=scope,
        connections_terminated=terminated,
    )
    count("Revocations", scope=scope.split("#", 1)[0])
    return _out(record, terminated)


def list_revocations(principal: Principal, user_id: str | None = None) -> RevocationList:
    """The revocations in force (of one user, when given). Raises ``Forbidden`` (``admin_required``),
    ``ValidationFailed`` (``invalid_user_id``) and ``UpstreamUnavailable``."""
    require_admin(principal)
    found = store.list_active(validate_user_id(user_id) if user_id is not None else None)
    return RevocationList(revocations=[_out(r) for r in found], count=len(found))


def delete_revocation(principal: Principal, revocation_id: str) -> RevocationLifted:
    """Lift one revocation. Raises ``Forbidden`` (``admin_required``), ``NotFound``
    (``revocation_not_found``: no such id, or it has lapsed) and ``UpstreamUnavailable``."""
    require_admin(principal)
    key = store.decode_id(revocation_id) if len(revocation_id) <= 400 else None
    if key is None or not store.delete(*key):
        raise NotFound("No revocation with this id is in force.", code="revocation_not_found")
    security_event(
        "revocation_lifted", reason="admin_request", level="info", by=principal.user_id, user_id=key[0]
    )
    count("RevocationsLifted")
    return RevocationLifted(id=revocation_id, user_id=key[0])


def _out(record: store.Revocation, terminated: bool | None = None) -> RevocationOut:
    kind, _, scope_id = record.scope.partition("#")
    return RevocationOut(
        id=record.id,
        user_id=record.user_id,
        scope="class" if kind == "class" else "lesson" if kind == "lesson" else "user",
        class_id=scope_id if kind == "class" else None,
        lesson_id=scope_id if kind == "lesson" else None,
        revoked_at=datetime.fromtimestamp(record.revoked_at, tz=UTC),
        expires_at=datetime.fromtimestamp(record.expires_at, tz=UTC),
        created_by=record.created_by,
        connections_terminated=terminated,
    )
