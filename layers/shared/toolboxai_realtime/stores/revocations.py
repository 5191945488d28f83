"""Revocations in the RevocationTable: one item per user and scope, checked inside the auth transaction.

==========  ===========================  =======================================================
attribute   value                        meaning
==========  ===========================  =======================================================
pk          the user id                  whose access is revoked
sk          ``user`` | ``class#<id>`` |  the scope: everything, or one class's / lesson's channels
            ``lesson#<id>``
revoked_at  whole seconds since epoch    tokens issued at or before it (``iat``) are refused
expires_at  ``revoked_at`` + max token   the table's TTL: by then every token issued before the
            lifetime + leeway            revocation has expired, so the item has no work left
created_by  the admin's user id          for the audit trail
==========  ===========================  =======================================================

One item per user and scope: revoking a scope again moves ``revoked_at`` forward (the newer revocation
covers every token the older one did). The auth path never reads this table: ``condition_checks`` gives
``ConditionCheck`` entries that ride in the auth request's one ``TransactWriteItems``
(``stores.auth_limits.admit``); DynamoDB cancels the transaction when one of them fails and says which.

Nothing above this module touches boto3.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..aws import dynamodb
from ..settings import get_settings
from ._dynamodb import attributes, guarded, plain

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

__all__ = [
    "UNBOUNDED_LIFETIME_SECONDS",
    "USER_SCOPE",
    "Revocation",
    "condition_checks",
    "decode_id",
    "delete",
    "encode_id",
    "lifetime_seconds",
    "list_active",
    "put",
    "scope_key",
]

USER_SCOPE = "user"
"""The sort key of a whole-user revocation."""

# Passes when there is no revocation, when the token is newer than it, or when it has lapsed (moto and
# DynamoDB keep items for a while after their TTL: the condition must not rely on the deletion).
_NOT_REVOKED = "attribute_not_exists(pk) OR revoked_at < :iat OR expires_at < :now"


def scope_key(class_id: str | None = None, lesson_id: str | None = None) -> str:
    """The sort key of a scope: ``user``, ``class#<id>`` or ``lesson#<id>`` (give at most one id)."""
    if class_id is not None:
        return f"class#{class_id}"
    if lesson_id is not None:
        return f"lesson#{lesson_id}"
    return USER_SCOPE


def encode_id(user_id: str, scope: str) -> str:
    """The public id of a revocation: base64url (no padding) of ``<user_id>\\n<scope>``."""
    return base64.urlsafe_b64encode(f"{user_id}\n{scope}".encode()).decode().rstrip("=")


def decode_id(revocation_id: str) -> tuple[str, str] | None:
    """``(user_id, scope)`` of a public id, or ``None`` when it is not one (never raises)."""
    try:
        raw = base64.urlsafe_b64decode(revocation_id + "=" * (-len(revocation_id) % 4)).decode()
    except (binascii.Error, ValueError):
        return None
    user_id, sep, scope = raw.partition("\n")
    if not sep or not user_id or not scope:
        return None
    return user_id, scope


@dataclass(frozen=True, slots=True)
class Revocation:
    """One stored revocation."""

    user_id: str
    scope: str
    revoked_at: int
    expires_at: int
    created_by: str | None = None

    @property
    def id(self) -> str:
        """The public id (``encode_id``)."""
        return encode_id(self.user_id, self.scope)


UNBOUNDED_LIFETIME_SECONDS = 7 * 86400
"""How long a revocation is kept when ``MAX_TOKEN_LIFETIME_SECONDS`` is unset (tokens are not bounded:
one living longer than this regains access when the revocation lapses; set the bound in production)."""


def lifetime_seconds() -> int:
    """How long a revocation is kept: the longest a token may live (``MAX_TOKEN_LIFETIME_SECONDS``, else
    ``UNBOUNDED_LIFETIME_SECONDS``), plus the clock leeway."""
    settings = get_settings()
    bound = settings.max_token_lifetime_seconds or UNBOUNDED_LIFETIME_SECONDS
    return bound + settings.jwt_leeway_seconds


def condition_checks(
    user_id: str, scopes: Iterable[str], issued_at: int | None, *, now: Callable[[], float] = time.time
) -> list[TransactWriteItemTypeDef]:
    """``ConditionCheck`` entries that fail when ``user_id`` is revoked for a scope in ``scopes`` for a
    token issued at ``issued_at`` (``None``: unknown, so every active revocation applies)."""
    table = get_settings().revocation_table
    values = attributes({":iat": issued_at if issued_at is not None else 0, ":now": int(now())})
    return [
        {
            "ConditionCheck": {
                "TableName": table,
                "Key": attributes({"pk": user_id, "sk": scope}),
                "ConditionExpression": _NOT_REVOKED,
                "ExpressionAttributeValues": values,
            }
        }
        for scope in dict.fromkeys(scopes)
    ]


def put(revocation: Revocation) -> None:
    """Store ``revocation`` (replacing that user's revocation of the same scope): one ``PutItem``.

    Raises ``UpstreamUnavailable`` (503) when DynamoDB fails.
    """
    item = attributes(
        {
            "pk": revocation.user_id,
            "sk": revocation.scope,
            "revoked_at": revocation.revoked_at,
            "expires_at": revocation.expires_at,
            "created_by": revocation.created_by,
        }
    )
    with guarded("revocation", "put"):
        dynamodb().put_item(TableName=get_settings().revocation_table, Item=item)


def delete(user_id: str, scope: str) -> bool:
    """Remove the revocation of ``user_id`` for ``scope``; ``False`` when there was none (or it had
    lapsed). One ``DeleteItem``. Raises ``UpstreamUnavailable`` when DynamoDB fails."""
    with guarded("revocation", "delete"):
        answer = dynamodb().delete_item(
            TableName=get_settings().revocation_table,
            Key=attributes({"pk": user_id, "sk": scope}),
            ReturnValues="ALL_OLD",
        )
    old = plain(answer.get("Attributes") or {})
    return bool(old) and old.get("expires_at", 0) >= int(time.time())


def list_active(user_id: str | None = None, *, now: Callable[[], float] = time.time) -> list[Revocation]:
    """The revocations that still apply, of one user (one ``Query``) or of everyone (a ``Scan``: the
    table holds only live revocations, which the TTL removes), sorted by user and scope.

    Raises ``UpstreamUnavailable`` when DynamoDB fails.
    """
    table = get_settings().revocation_table
    at = int(now())
    items: list[dict[str, Any]] = []
    with guarded("revocation", "list"):
        if user_id is not None:
            pages = (
                dynamodb()
                .get_paginator("query")
                .paginate(
                    TableName=table,
                    KeyConditionExpression="pk = :pk",
                    ExpressionAttributeValues=attributes({":pk": user_id}),
                )
            )
        else:
            pages = dynamodb().get_paginator("scan").paginate(TableName=table)
        for page in pages:
            items += [plain(item) for item in page.get("Items", [])]
    out = [_revocation(item) for item in items]
    return sorted((r for r in out if r.expires_at >= at), key=lambda r: (r.user_id, r.scope))


def _revocation(item: dict[str, Any]) -> Revocation:
    return Revocation(
        user_id=str(item.get("pk", "")),
        scope=str(item.get("sk", USER_SCOPE)),
        revoked_at=int(item.get("revoked_at", 0)),
        expires_at=int(item.get("expires_at", 0)),
        created_by=item.get("created_by"),
    )
