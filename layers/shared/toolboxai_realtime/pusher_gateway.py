"""The only module that talks to Pusher (soketi locally), through the official ``pusher`` SDK.

Signatures (channel authorization, user authentication, webhook verification) and the HTTP API calls
(trigger, batch, channel queries) all go through the SDK. Failures of the HTTP API become
``UpstreamUnavailable`` (503 for timeouts and refused connections, 502 for answers we cannot use), so a
caller can never mistake a failed publish for a success.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import pusher
import requests
from pusher.errors import PusherBadAuth, PusherBadRequest, PusherBadStatus, PusherError, PusherForbidden

from .errors import BadRequest, ConfigurationError, UpstreamUnavailable
from .observability import count, logger, tracer
from .secrets import PusherCredentials, pusher_credentials
from .settings import Settings, get_settings

WEBHOOK_MAX_AGE_SECONDS = 300  # the SDK's own window for time_ms


@lru_cache(maxsize=8)
def _build(
    app_id: str,
    key: str,
    secret: str,
    host: str | None,
    port: int | None,
    ssl: bool,
    cluster: str,
    timeout: float,
    master_key_b64: str | None,
) -> pusher.Pusher:
    return pusher.Pusher(
        app_id=app_id,
        key=key,
        secret=secret,
        ssl=ssl,
        host=host,
        port=port,
        cluster=None if host else cluster,
        timeout=timeout,
        encryption_master_key_base64=master_key_b64,
    )


def client(settings: Settings | None = None, creds: PusherCredentials | None = None) -> pusher.Pusher:
    """The SDK client for the configured app (cached per credentials, so a rotated secret takes effect)."""
    s = settings or get_settings()
    c = creds or pusher_credentials(s)
    return _build(
        c.app_id,
        c.key,
        c.secret,
        s.pusher_host,
        s.pusher_port,
        s.pusher_use_tls,
        s.pusher_cluster,
        s.pusher_timeout_seconds,
        c.encryption_master_key_base64,
    )


# ------------------------------------------------------------------------------------ signatures


def authorize_channel(
    socket_id: str, channel: str, channel_data: dict[str, Any] | None = None
) -> dict[str, str]:
    """Sign a private/presence/encrypted subscription: ``{"auth", "channel_data"?, "shared_secret"?}``.

    Raises ``ConfigurationError`` for an encrypted channel when no master key is configured.
    """
    c = pusher_credentials()
    if channel.startswith("private-encrypted-") and not c.encryption_master_key_base64:
        raise ConfigurationError(
            "End-to-end encrypted channels are not enabled on this server.", code="encryption_not_configured"
        )
    out = client(creds=c).authenticate(channel=channel, socket_id=socket_id, custom_data=channel_data)
    result: dict[str, str] = {"auth": out["auth"]}
    if "channel_data" in out:
        result["channel_data"] = out["channel_data"]
    if "shared_secret" in out:
        secret = out["shared_secret"]
        result["shared_secret"] = secret.decode() if isinstance(secret, bytes) else str(secret)
    return result


def authenticate_user(socket_id: str, user_data: dict[str, Any]) -> dict[str, str]:
    """Sign a ``pusher:signin``: ``{"auth", "user_data"}``."""
    out = client().authenticate_user(socket_id=socket_id, user_data=user_data)
    return {"auth": out["auth"], "user_data": out["user_data"]}


def verify_webhook(key: str, signature: str, body: bytes) -> dict[str, Any] | None:
    """The webhook body if ``signature`` is the HMAC of ``body`` under ``key``'s secret and fresh.

    Several key/secret pairs are accepted so that secrets can be rotated. Returns None on any failure
    (unknown key, bad signature, stale or missing ``time_ms``, not JSON); the caller logs and refuses.
    """
    s = get_settings()
    creds = pusher_credentials(s)
    secret = creds.webhook_keys.get(key)
    if secret is None:
        return None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    verifier = _build(
        creds.app_id,
        key,
        secret,
        s.pusher_host,
        s.pusher_port,
        s.pusher_use_tls,
        s.pusher_cluster,
        s.pusher_timeout_seconds,
        None,
    )
    doc = verifier.validate_webhook(key=key, signature=signature, body=text)
    return doc if isinstance(doc, dict) else None


def shared_secret(channel: str, master_key_b64: str) -> str:
    """The base64 ``shared_secret`` of an encrypted channel (exposed for tests and documentation)."""
    from pusher.crypto import generate_shared_secret

    raw = generate_shared_secret(channel.encode(), base64.b64decode(master_key_b64))
    return base64.b64encode(raw).decode()


# ------------------------------------------------------------------------------------ HTTP API


@contextmanager
def _upstream(operation: str) -> Iterator[None]:
    try:
        yield
    except requests.Timeout as exc:
        _failed(operation, "timeout")
        raise UpstreamUnavailable("Pusher did not answer in time.", code="pusher_timeout") from exc
    except requests.ConnectionError as exc:
        _failed(operation, "unreachable")
        raise UpstreamUnavailable("Pusher could not be reached.", code="pusher_unreachable") from exc
    except PusherForbidden as exc:
        _failed(operation, "forbidden")
        raise UpstreamUnavailable(
            "Pusher refused the request (quota or app disabled).", code="pusher_forbidden", status=503
        ) from exc
    except PusherBadAuth as exc:
        _failed(operation, "bad_auth")
        raise UpstreamUnavailable(
            "Pusher refused our credentials.", code="pusher_auth_failed", status=502
        ) from exc
    except PusherBadRequest as exc:
        _failed(operation, "bad_request")
        raise UpstreamUnavailable("Pusher rejected the request.", code="pusher_rejected", status=502) from exc
    except (PusherBadStatus, PusherError, requests.RequestException) as exc:
        _failed(operation, "error")
        raise UpstreamUnavailable("Pusher answered with an error.", code="pusher_error", status=502) from exc
    except ValueError as exc:
        # The SDK validates names and sizes itself; we validate first, so this is a client error we missed.
        raise BadRequest("Pusher's client refused the request.", code="invalid_publish") from exc


def _failed(operation: str, kind: str) -> None:
    logger.error("pusher call failed", extra={"operation": operation, "failure": kind})
    count("PusherFailure", operation=operation, failure=kind)


@tracer.capture_method
def trigger(channels: Sequence[str], event: str, data: Any, socket_id: str | None = None) -> None:
    """Publish one event to up to 100 channels (one HTTP call). Raises ``UpstreamUnavailable``."""
    with _upstream("trigger"):
        client().trigger(list(channels), event, data, socket_id)


@tracer.capture_method
def trigger_batch(events: Sequence[dict[str, Any]]) -> None:
    """Publish up to 10 events ``{"channel", "name", "data", "socket_id"?}`` in one HTTP call."""
    with _upstream("trigger_batch"):
        client().trigger_batch(list(events))


@tracer.capture_method
def channels_info(prefix: str | None = None, attributes: Sequence[str] = ()) -> dict[str, Any]:
    """``GET /channels``: the occupied channels (``{"channels": {name: {...}}}``)."""
    with _upstream("channels_info"):
        result: dict[str, Any] = client().channels_info(prefix_filter=prefix, attributes=list(attributes))
    return result


@tracer.capture_method
def users_info(channel: str) -> list[str]:
    """``GET /channels/{channel}/users``: the user ids present in a presence channel."""
    with _upstream("users_info"):
        result = client().users_info(channel)
    return [str(u["id"]) for u in result.get("users", [])]


def ping() -> None:
    """One cheap signed call, for health checks. Raises ``UpstreamUnavailable``."""
    channels_info(prefix="presence-")


def encode(data: Any) -> str:
    """The event payload as Pusher will carry it (compact JSON)."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)
