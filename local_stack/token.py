"""``make token ARGS="--sub 12345 --role teacher --class 101"``: print a dev JWT signed with JWT_SECRET.

The token carries the claims of the contract (sub, role, name, class_ids, lesson_ids, scope) and is
accepted by the local stack as it is configured (JWT_SECRET, JWT_ISSUER, JWT_AUDIENCE).
"""

from __future__ import annotations

import argparse
import os
import sys

from toolboxai_realtime.identity import mint_dev_token
from toolboxai_realtime.settings import Settings

from .config import apply_defaults


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
    settings = Settings.model_validate({key.lower(): value for key, value in env.items()})
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
