"""Secrets: from the environment locally, from Secrets Manager in AWS (through Powertools Parameters).

In AWS the environment holds only ``PUSHER_SECRET_NAME`` / ``JWT_SECRET_NAME``; the values are fetched on
first use and cached for five minutes, so a rotated secret is picked up without a deploy. The Pusher
secret may be a plain string or a JSON object ``{"secret": ..., "webhook_keys": {"key": "secret"},
"encryption_master_key_base64": ...}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache

from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

from . import aws, deadlines
from .errors import ConfigurationError, UpstreamUnavailable
from .settings import Settings, get_settings

_MAX_AGE = 300


@dataclass(frozen=True)
class PusherCredentials:
    app_id: str
    key: str
    secret: str
    # key -> secret of every pair accepted on webhooks (current one included), for rotation.
    webhook_keys: dict[str, str] = field(default_factory=dict)
    encryption_master_key_base64: str | None = None


@lru_cache(maxsize=len(deadlines.PLANS))
def _provider(plan: deadlines.AttemptPlan | None) -> parameters.SecretsProvider:
    # One provider per attempt plan (Powertools caches values per provider; there are few plans), on
    # a client sized to the invocation's deadline: Powertools' default client would wait 60 s per read.
    return parameters.SecretsProvider(boto3_client=aws.secrets_manager())


def _fetch(name: str) -> str:
    """The secret's value, cached for five minutes. Raises ``UpstreamUnavailable`` (503,
    ``secrets_unavailable``) when Secrets Manager does not answer within the deadline."""
    try:
        value = _provider(deadlines.plan()).get(name, max_age=_MAX_AGE)
    except (GetParameterError, aws.DeadlineExceeded) as exc:
        raise UpstreamUnavailable(
            "The server's secrets could not be read; try again shortly.", code="secrets_unavailable"
        ) from exc
    if isinstance(value, bytes):
        return value.decode()
    return str(value)


def pusher_credentials(settings: Settings | None = None) -> PusherCredentials:
    """The Pusher app credentials. Raises ``ConfigurationError`` when no secret is configured."""
    s = settings or get_settings()
    secret = s.pusher_secret
    extra: dict[str, str] = {}
    master = s.pusher_encryption_master_key_base64
    if secret is None and s.pusher_secret_name:
        raw = _fetch(s.pusher_secret_name)
        secret, extra, master = _parse_pusher_secret(raw, master)
    if not secret or not s.pusher_key or not s.pusher_app_id:
        raise ConfigurationError("Pusher credentials are not configured.", code="pusher_not_configured")
    keys = {s.pusher_key: secret, **_parse_pairs(s.pusher_webhook_keys), **extra}
    return PusherCredentials(
        app_id=s.pusher_app_id,
        key=s.pusher_key,
        secret=secret,
        webhook_keys=keys,
        encryption_master_key_base64=master,
    )


def jwt_secret(settings: Settings | None = None) -> str | None:
    """The HS256 key for bearer tokens, or None when only asymmetric (JWKS) tokens are accepted."""
    s = settings or get_settings()
    if s.jwt_secret:
        return s.jwt_secret
    if s.jwt_secret_name:
        return _fetch(s.jwt_secret_name)
    return None


def _parse_pusher_secret(raw: str, master: str | None) -> tuple[str, dict[str, str], str | None]:
    text = raw.strip()
    if not text.startswith("{"):
        return text, {}, master
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(
            "The Pusher secret is not valid JSON.", code="pusher_not_configured"
        ) from exc
    keys = doc.get("webhook_keys") or {}
    return (
        str(doc.get("secret", "")),
        {str(k): str(v) for k, v in keys.items()},
        (doc.get("encryption_master_key_base64") or master),
    )


def _parse_pairs(value: str | None) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in (value or "").split(","):
        key, sep, secret = item.strip().partition(":")
        if sep and key and secret:
            pairs[key] = secret
    return pairs
