"""The only module that talks to Pusher (soketi locally), through the official ``pusher`` SDK.

Signatures (channel authorization, user authentication) and the HTTP API calls (trigger, batch,
channel queries) go through the SDK; webhook verification is the SDK's check made explicit.

**What is measured is what is sent.** Every JSON text that leaves here is compact UTF-8
(``ensure_ascii=False``, ``(",", ":")`` separators): event data, the trigger and batch request bodies,
presence ``channel_data`` and sign-in ``user_data``. The SDK would send ``\\uXXXX``-escaped JSON with
spaced separators and checks event size with ``sys.getsizeof`` on the Python string (a measure of
CPython's memory, 4 bytes a character once one character lies outside the Basic Multilingual Plane), so
it refuses valid events. Publishes therefore build the SDK's signed ``Request`` with a compact body
(``_CompactRequest``) and send it through the SDK's own HTTP backend; the callers have checked sizes on
exactly these bytes (``catalog.check_size``).

**A failed publish says whether anything went out.** Failures become ``UpstreamUnavailable``:

* nothing was sent, or Pusher refused it (connection refused or not made in time, a 4xx answer): 503
  ``pusher_unreachable`` / ``pusher_timeout`` / ``pusher_forbidden``, 502 ``pusher_auth_failed`` /
  ``pusher_rejected`` / ``pusher_error``: nothing was published;
* the request was sent and no usable answer came back (read timeout, connection dropped after sending,
  a 5xx answer): ``PublishOutcomeUnknown``, 504 ``publish_outcome_unknown``: it may have been delivered.
  Reads (channel queries) have no outcome to be unsure of: they answer 503 ``pusher_timeout`` instead.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from . import bodies, deadlines, snapstart
from .bodies import compact_json
from .channels import ChannelKind, kind_of
from .errors import (
    BadRequest,
    ConfigurationError,
    InvalidSignature,
    PublishOutcomeUnknown,
    RealtimeError,
    UpstreamUnavailable,
)
from .observability import count, logger, tracer
from .secrets import PusherCredentials, pusher_credentials
from .settings import Settings, get_settings

# The SDK (and requests under it) is imported by the functions that sign or call Pusher, not by this
# module: importing it costs 25 ms, requests 38 ms more, and most of the layer's users never sign
# (issue 15). Annotations only here.
if TYPE_CHECKING:
    import pusher
    import requests
    from pusher.errors import PusherBadStatus

# Under SnapStart they are imported before the snapshot instead (toolboxai_realtime.snapstart).
snapstart.prime("pusher", "pusher.requests")

WEBHOOK_MAX_AGE_SECONDS = 300  # the SDK's own window for time_ms


class CompactJSONEncoder(json.JSONEncoder):
    """The SDK's ``json_encoder``: compact UTF-8 JSON whatever ``json.dumps`` is asked for.

    The SDK serialises presence ``channel_data`` and sign-in ``user_data`` with
    ``json.dumps(value, cls=json_encoder)`` and its defaults (``\\uXXXX`` escapes, spaced separators); the
    signed string is the one returned to the client, so this decides the bytes that Pusher and the other
    members receive, and the 1 KB ``user_info`` limit is measured on them.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.update(ensure_ascii=False, separators=(",", ":"))
        super().__init__(**kwargs)


@lru_cache(maxsize=1)
def _compact_request() -> type[Any]:
    """``_CompactRequest``, defined on first publish (it subclasses the SDK's ``Request``)."""
    from pusher.http import POST, Request

    class _CompactRequest(Request):  # type: ignore[misc]
        """The SDK's signed ``Request`` with a compact UTF-8 JSON body instead of ``json.dumps(params)``.

        The signature covers ``body_md5``, so the body is set before ``_generate_auth`` signs it.
        """

        def __init__(self, client: Any, path: str, params: dict[str, Any]) -> None:
            self.client = client
            self.method = POST
            self.path = path
            self.params = dict(params)
            self.body = encode(params).encode("utf-8")
            self.query_params: dict[str, str] = {}
            self._generate_auth()

    return _CompactRequest


@lru_cache(maxsize=32)
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
    import pusher

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
        json_encoder=CompactJSONEncoder,
    )


def client(settings: Settings | None = None, creds: PusherCredentials | None = None) -> pusher.Pusher:
    """The SDK client for the configured app (cached per credentials, so a rotated secret takes effect).

    Its per-request timeout is the invocation's time left (``deadlines.call_timeout``, in 0.25 s steps),
    at most ``PUSHER_TIMEOUT_SECONDS``: the SDK makes a single attempt, so that bounds the call.
    """
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
        deadlines.call_timeout(s.pusher_timeout_seconds),
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
    if kind_of(channel) is ChannelKind.ENCRYPTED and not c.encryption_master_key_base64:
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


def verify_webhook(key: str, signature: str, body: bytes, *, now: float | None = None) -> dict[str, Any]:
    """The webhook body, verified: ``signature`` is the hex HMAC-SHA256 of the raw ``body`` under the
    secret of ``key`` (any configured pair, so that secrets can be rotated), and its ``time_ms`` lies
    within ``WEBHOOK_MAX_AGE_SECONDS`` of ``now``.

    These are the checks of the SDK's ``validate_webhook`` made explicit (it answers ``None`` whatever
    went wrong, and only takes text), computed over the raw bytes, signature first. Raises
    ``InvalidSignature`` (401) with code ``unknown_webhook_key``, ``invalid_webhook_signature`` or
    ``stale_webhook``; ``BadRequest`` (400, code ``malformed_webhook``) when a correctly signed body is
    not a JSON object with a numeric ``time_ms``, ``bodies.BodyLimitExceeded`` (400) when it is over a
    parser limit (``toolboxai_realtime.bodies``); ``ConfigurationError`` when Pusher is not configured.
    """
    secret = pusher_credentials().webhook_keys.get(key)
    if secret is None:
        raise InvalidSignature("The webhook key is not known.", code="unknown_webhook_key")
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest().encode()
    if not hmac.compare_digest(expected, signature.strip().lower().encode("utf-8", "replace")):
        raise InvalidSignature("The webhook signature is not valid.", code="invalid_webhook_signature")
    try:
        doc = bodies.loads(body, max_bytes=len(body))
    except bodies.BodyLimitExceeded:
        raise
    except BadRequest as exc:  # not UTF-8, or not JSON
        raise BadRequest("The webhook body is not valid JSON.", code="malformed_webhook") from exc
    time_ms = doc.get("time_ms") if isinstance(doc, dict) else None
    if not isinstance(time_ms, int | float) or isinstance(time_ms, bool):
        raise BadRequest(
            "The webhook body must be a JSON object with a numeric time_ms.", code="malformed_webhook"
        )
    clock = time.time() if now is None else now
    if abs(clock * 1000 - time_ms) > WEBHOOK_MAX_AGE_SECONDS * 1000:
        raise InvalidSignature("The webhook is too old to be accepted.", code="stale_webhook")
    result: dict[str, Any] = doc
    return result


def shared_secret(channel: str, master_key_b64: str) -> str:
    """The base64 ``shared_secret`` of an encrypted channel (exposed for tests and documentation)."""
    from pusher.crypto import generate_shared_secret

    raw = generate_shared_secret(channel.encode(), base64.b64decode(master_key_b64))
    return base64.b64encode(raw).decode()


# ------------------------------------------------------------------------------------ HTTP API


# Library exception -> (reason counted, our error), first match wins (subclasses before their bases).
_Failures = tuple[tuple[type[Exception], str, Callable[[], RealtimeError]], ...]


@lru_cache(maxsize=1)
def _failures() -> _Failures:
    # Built on first failure: the SDK and requests are imported lazily (see the top of the module).
    import requests
    from pusher.errors import PusherBadAuth, PusherBadRequest, PusherForbidden

    return (
        (  # before requests.Timeout: no connection, nothing sent
            requests.ConnectTimeout,
            "connect_timeout",
            lambda: UpstreamUnavailable(
                "Pusher did not accept the connection in time; nothing was sent.", code="pusher_timeout"
            ),
        ),
        (
            requests.Timeout,
            "timeout",
            lambda: UpstreamUnavailable("Pusher did not answer in time.", code="pusher_timeout"),
        ),
        (
            requests.ConnectionError,
            "unreachable",
            lambda: UpstreamUnavailable("Pusher could not be reached.", code="pusher_unreachable"),
        ),
        (
            PusherForbidden,
            "forbidden",
            lambda: UpstreamUnavailable(
                "Pusher refused the request (quota or app disabled).", code="pusher_forbidden", status=503
            ),
        ),
        (
            PusherBadAuth,
            "bad_auth",
            lambda: UpstreamUnavailable(
                "Pusher refused our credentials.", code="pusher_auth_failed", status=502
            ),
        ),
        (
            PusherBadRequest,
            "bad_request",
            lambda: UpstreamUnavailable("Pusher rejected the request.", code="pusher_rejected", status=502),
        ),
    )


def _pusher_error() -> UpstreamUnavailable:
    return UpstreamUnavailable("Pusher answered with an error.", code="pusher_error", status=502)


@contextmanager
def _upstream(operation: str, *, publish: bool = False) -> Iterator[None]:
    import requests
    from pusher.errors import PusherError

    try:
        yield
    except (PusherError, requests.RequestException) as exc:
        reason, error = _failure(exc, publish=publish)
        _failed(operation, reason)
        raise error from exc
    except ValueError as exc:
        # The SDK validates names and sizes itself; we validate first, so this is a client error we missed.
        raise BadRequest("Pusher's client refused the request.", code="invalid_publish") from exc


def _failure(exc: Exception, *, publish: bool) -> tuple[str, RealtimeError]:
    """The reason to count and the error to raise for a failed call to Pusher."""
    if publish and _maybe_delivered(exc):
        return "outcome_unknown", PublishOutcomeUnknown()
    for kind, reason, error in _failures():
        if isinstance(exc, kind):
            return reason, error()
    return "error", _pusher_error()


def _maybe_delivered(exc: Exception) -> bool:
    """Whether a publish that failed so may have gone out: the request was sent and no answer came back
    (a read timeout, a connection dropped after it was sent), or Pusher answered with a server error, which
    says nothing about what it did. A connect timeout never sent anything."""
    import requests
    from pusher.errors import PusherBadStatus

    if isinstance(exc, requests.ConnectTimeout):
        return False
    if isinstance(exc, requests.Timeout):
        return True
    if isinstance(exc, requests.ConnectionError):
        return not _never_connected(exc)
    return isinstance(exc, PusherBadStatus) and _status_of(exc) >= 500


def _never_connected(exc: requests.ConnectionError) -> bool:
    """Whether the connection was never made (refused, unresolvable): then nothing was sent."""
    from urllib3.exceptions import MaxRetryError, NewConnectionError

    cause = exc.args[0] if exc.args else None
    return isinstance(cause, MaxRetryError) and isinstance(cause.reason, NewConnectionError)


def _status_of(exc: PusherBadStatus) -> int:
    # The SDK raises PusherBadStatus("<status>: <body>") for statuses it has no class for.
    head = str(exc).split(":", 1)[0].strip()
    return int(head) if head.isdigit() else 0


def _failed(operation: str, kind: str) -> None:
    logger.error("pusher call failed", extra={"operation": operation, "failure": kind})
    count("PusherFailure", operation=operation, failure=kind)


@tracer.capture_method
def trigger(channels: Sequence[str], event: str, data: Any, socket_id: str | None = None) -> None:
    """Publish one event to up to 100 channels (one HTTP call, ``POST /apps/{id}/events``).

    ``data`` goes out as compact JSON (``encode``); a ``str`` is taken as already encoded and sent
    unchanged, encrypted here for a ``private-encrypted-`` channel (the SDK's envelope). The SDK's own
    checks are bypassed (see the module docstring): callers validate names and sizes first
    (``toolboxai_realtime.publisher``). Raises ``UpstreamUnavailable`` (nothing published),
    ``PublishOutcomeUnknown`` (sent, no answer) and ``ConfigurationError`` for an encrypted channel when
    no master key is configured.
    """
    names = list(channels)
    text = _as_text(data)
    key = _master_key(names)
    if key is not None:
        text = _encrypt(names[0], text, key)
    params: dict[str, Any] = {"name": event, "channels": names, "data": text}
    if socket_id:
        params["socket_id"] = socket_id
    with _upstream("trigger", publish=True):
        _send("events", params)


@tracer.capture_method
def trigger_batch(events: Sequence[dict[str, Any]]) -> None:
    """Publish up to 10 events ``{"channel", "name", "data", "socket_id"?}`` in one HTTP call.

    Data is encoded and encrypted as in ``trigger``, and the body is compact UTF-8 as there. Raises what
    ``trigger`` raises.
    """
    batch = [_batch_item(event) for event in events]
    with _upstream("trigger_batch", publish=True):
        _send("batch_events", {"batch": batch})


def _send(resource: str, params: dict[str, Any]) -> None:
    sdk = client()._pusher_client  # the HTTP client inside the SDK's facade (its backend and signing)
    sdk.http.send_request(_compact_request()(sdk, f"/apps/{sdk.app_id}/{resource}", params))


def _encrypt(channel: str, text: str, key: bytes) -> str:
    from pusher.crypto import encrypt

    # The same envelope (and separators) as the SDK's trigger(): catalog.encrypted_size measures it.
    return json.dumps(encrypt(channel, text, key), ensure_ascii=False)


def _as_text(data: Any) -> str:
    return data if isinstance(data, str) else encode(data)


def _master_key(channels: Sequence[str]) -> bytes | None:
    """The encryption master key when ``channels`` include an encrypted one, else ``None``."""
    if not any(kind_of(name) is ChannelKind.ENCRYPTED for name in channels):
        return None
    master = pusher_credentials().encryption_master_key_base64
    if not master:
        raise ConfigurationError(
            "End-to-end encrypted channels are not enabled on this server.", code="encryption_not_configured"
        )
    return base64.b64decode(master)


def _batch_item(event: dict[str, Any]) -> dict[str, Any]:
    item = dict(event)
    data = _as_text(item["data"])
    key = _master_key([item["channel"]])
    if key is not None:
        data = _encrypt(item["channel"], data, key)
    item["data"] = data
    return item


SERVER_TO_USER_PREFIX = "#server-to-user-"
"""Pusher's server-to-user channel: an event on ``#server-to-user-{id}`` reaches every connection signed
in as ``id`` (apps with user authentication; soketi 1.6.1 serves it too)."""


@tracer.capture_method
def send_to_user(user_id: str, event: str, data: Any) -> None:
    """Send one event to every connection signed in as ``user_id``: one HTTP call, ``POST /apps/{id}/events``
    on the ``#server-to-user-{id}`` channel, what the SDK's ``send_to_user`` does, but with the compact body
    of ``trigger`` (the bytes the caller measured). ``data`` as in ``trigger``.

    Raises what ``trigger`` raises; ``BadRequest`` (``invalid_publish``) for a user id Pusher does not
    accept (the SDK's ``validate_user_id``; callers check it first).
    """
    from pusher.util import validate_user_id

    with _upstream("send_to_user", publish=True):
        validate_user_id(user_id)
        _send(
            "events", {"name": event, "channels": [SERVER_TO_USER_PREFIX + user_id], "data": _as_text(data)}
        )


@tracer.capture_method
def terminate_user_connections(user_id: str) -> None:
    """End every connection signed in as ``user_id``: ``POST /apps/{id}/users/{uid}/terminate_connections``.

    pusher 3.3.4's ``terminate_user_connections`` posts to ``/users/{id}/terminate_connections``, without
    the ``/apps/{app_id}`` that Pusher's HTTP API reference documents and that soketi 1.6.1 serves (404
    otherwise): we build the documented path and send it as a request of the SDK itself, so it is signed
    (``auth_signature`` over method, path and query) and sent by the SDK's HTTP backend like every other
    call. Raises ``UpstreamUnavailable``; ``BadRequest`` (``invalid_publish``) for an unusable user id.
    """
    from pusher.http import POST, Request
    from pusher.util import validate_user_id

    sdk = client()._pusher_client  # the SDK's REST client (pusher.Pusher delegates to it)
    with _upstream("terminate_user_connections"):
        validate_user_id(user_id)
        path = f"/apps/{sdk.app_id}/users/{quote(user_id, safe='')}/terminate_connections"
        sdk.http.send_request(Request(sdk, POST, path, {}))


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
    channels_info(prefix=ChannelKind.PRESENCE.prefix)


def encode(data: Any) -> str:
    """The event payload as Pusher will carry it (compact JSON)."""
    return compact_json(data)
