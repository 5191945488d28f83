"""Modelled configuration, read once from the environment.

The same variable names are used locally and in Lambda (see README "Configuration"). Secrets are never
read here: in AWS the environment only names them (``*_SECRET_NAME``) and ``toolboxai_realtime.secrets``
fetches them through Powertools Parameters on first use.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


def _csv(value: object) -> object:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


def _blank_is_none(value: object) -> object:
    if isinstance(value, str) and not value.strip():
        return None
    return value


CSV = Annotated[tuple[str, ...], BeforeValidator(_csv)]
OptStr = Annotated[str | None, BeforeValidator(_blank_is_none)]
OptInt = Annotated[int | None, BeforeValidator(_blank_is_none)]


class Settings(BaseModel):
    """Every setting of the system. Field names are the environment variable names, lower-cased."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    # Pusher
    pusher_app_id: str = Field(default="", pattern=r"^\d*$")
    pusher_key: str = ""
    pusher_secret: OptStr = None
    pusher_secret_name: OptStr = None
    pusher_cluster: str = "mt1"
    pusher_host: OptStr = None
    pusher_port: OptInt = None
    pusher_use_tls: bool = True
    pusher_timeout_seconds: float = Field(default=3.0, gt=0, le=10)
    # Extra webhook key/secret pairs accepted during rotation: "key1:secret1,key2:secret2".
    pusher_webhook_keys: OptStr = None
    pusher_encryption_master_key_base64: OptStr = None

    # Tokens
    jwt_secret: OptStr = None
    jwt_secret_name: OptStr = None
    jwt_algorithms: CSV = ("HS256",)
    jwt_issuer: OptStr = None
    jwt_audience: OptStr = None
    jwt_jwks_url: OptStr = None
    jwt_leeway_seconds: int = Field(default=30, ge=0, le=300)
    # The longest a token may live (exp - iat), enforced when set; a revocation is kept this long (plus
    # the leeway), so every token issued before it has expired when it lapses. Unset: no bound, and a
    # revocation is kept for revocations.UNBOUNDED_LIFETIME_SECONDS.
    max_token_lifetime_seconds: Annotated[
        Annotated[int, Field(ge=60)] | None, BeforeValidator(_blank_is_none)
    ] = None

    # Limits
    auth_rate_limit_per_minute: int = Field(default=10, ge=1)
    trigger_rate_limit_per_minute: int = Field(default=1000, ge=1)
    max_connections_per_user: int = Field(default=100, ge=1)
    connection_lease_seconds: int = Field(default=300, ge=30)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)

    # Tables (CloudFormation passes their generated names)
    rate_limit_table: str = "RateLimitTable"
    presence_table: str = "PresenceTable"
    idempotency_table: str = "IdempotencyTable"
    connections_table: str = "ConnectionsTable"
    maintenance_table: str = "MaintenanceTable"
    revocation_table: str = "RevocationTable"
    history_table: str = "HistoryTable"

    # Channel history: how long published events are kept (seconds; default 24 h), for the families
    # whose ``history`` column is on (``toolboxai_realtime.channels``).
    history_retention: int = Field(default=24 * 3600, ge=60, le=30 * 24 * 3600)

    # Legacy WebSocket: the API Gateway Management API endpoint of the /ws/content API (unset: no fan-out)
    legacy_ws_endpoint: OptStr = None
    # The function that fans content-generation events out to legacy clients (invoked asynchronously)
    legacy_fanout_function: OptStr = None

    # Observability
    realtime_debug: bool = False
    environment: str = "local"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """The settings an environment describes (``os.environ`` by default; names are matched
        case-insensitively). The one way settings are built from variables: ``get_settings`` caches it
        for the process; the local stack's tools read a stack's environment afresh with it.

        Raises ``pydantic.ValidationError`` for a value of the wrong type (e.g. ``PUSHER_PORT=abc``).
        """
        source = os.environ if env is None else env
        return cls.model_validate({key.lower(): value for key, value in source.items()})


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings, read from the environment once per process (``caches.reset_caches`` forgets them)."""
    return Settings.from_env()
