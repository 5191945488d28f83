"""``make token ARGS="--sub 12345 --role teacher --class 101"``: print a dev JWT signed with JWT_SECRET.

The token carries the claims of the contract (sub, role, name, class_ids, lesson_ids, scope) and is
accepted by the local stack as it is configured (JWT_SECRET, JWT_ISSUER, JWT_AUDIENCE). ``mint_dev_token``
is the same minting for the tests, the benchmarks and the local console; it lives here, outside the
deployed layer, because production never issues tokens.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterable
from typing import Any

import jwt

from toolboxai_realtime.errors import ConfigurationError
from toolboxai_realtime.identity import Role
from toolboxai_realtime.secrets import jwt_secret
from toolboxai_realtime.settings import Settings, get_settings

from .config import apply_defaults


def mint_dev_token(
    sub: str | int,
    role: Role = "student",
    name: str | None = None,
    class_ids: Iterable[str | int] = (),
    lesson_ids: Iterable[str | int] = (),
    scopes: Iterable[str] = (),
    ttl_seconds: int = 3600,
    secret: str | None = None,
    *,
    issuer: str | None = None,
    audience: str | None = None,
    settings: Settings | None = None,
    **extra_claims: Any,
) -> str:
    """An HS256 token for local development and tests, accepted by ``authenticate`` when HS256 is on.

    ``secret`` defaults to the configured ``JWT_SECRET``; ``issuer``/``audience`` default to
    ``JWT_ISSUER``/``JWT_AUDIENCE`` when those are set. A negative ``ttl_seconds`` gives an expired
    token. ``extra_claims`` are added last and override the claims built from the other arguments
    (e.g. ``nbf=...``, ``avatar_url=...``).

    Raises ``ConfigurationError`` when no secret is given and none is configured.
    """
    s = settings or get_settings()
    key = secret or jwt_secret(s)
    if not key:
        raise ConfigurationError(
            "Set JWT_SECRET (or pass secret=) to mint development tokens.", code="jwt_not_configured"
        )
    now = int(time.time())
    claims: dict[str, Any] = {"sub": sub, "role": role, "iat": now, "exp": now + ttl_seconds}
    if name is not None:
        claims["name"] = name
    if class_ids := list(class_ids):
        claims["class_ids"] = class_ids
    if lesson_ids := list(lesson_ids):
        claims["lesson_ids"] = lesson_ids
    if scope := " ".join(scopes):
        claims["scope"] = scope
    if iss := issuer or s.jwt_issuer:
        claims["iss"] = iss
    if aud := audience or s.jwt_audience:
        claims["aud"] = aud
    claims.update(extra_claims)
    return jwt.encode(claims, key, algorithm="HS256")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="make token", description=__doc__.splitlines()[0] if __doc__ else ""
    )
    parser.add_argument("--sub", required=True, help="user id (the token's sub)")
    parser.add_argument("--role", choices=["student", "teacher", "admin"], default="student")
    parser.add_argument("--name", help="display name shown in presence channels")
    parser.add_argument("--avatar-url", help="avatar shown in presence channels")
    parser.add_argument("--class", dest="classes", action="append", default=[], help="class id (repeatable)")
    parser.add_argument(
        "--lesson", dest="lessons", action="append", default=[], help="lesson id (repeatable)"
    )
    parser.add_argument("--scope", dest="scopes", action="append", default=[], help="e.g. realtime:trigger")
    parser.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds (default 3600)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    extra = {"avatar_url": args.avatar_url} if args.avatar_url else {}
    env = apply_defaults(dict(os.environ))
    settings = Settings.from_env(env)
    token = mint_dev_token(
        args.sub,
        role=args.role,
        name=args.name,
        class_ids=args.classes,
        lesson_ids=args.lessons,
        scopes=args.scopes,
        ttl_seconds=args.ttl,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        settings=settings,
        **extra,
    )
    print(token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
