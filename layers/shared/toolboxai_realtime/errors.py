"""The typed exception hierarchy.

Every error a client can cause is a ``RealtimeError`` with a fixed status, a snake_case ``code`` and a
message written for people. ``toolboxai_realtime.http`` is the one place that turns them into responses;
nothing else builds error responses, and no response ever carries ``str(exc)`` of a library error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar


class RealtimeError(Exception):
    """Base class: an error with an HTTP status, a machine code and a message for people."""

    status: ClassVar[int] = 400
    default_code: ClassVar[str] = "bad_request"
    default_message: ClassVar[str] = "The request is not valid."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.code = code or self.default_code
        self.details = details
        self.headers = dict(headers or {})
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            out["details"] = self.details
        return out


class BadRequest(RealtimeError):
    status = 400
    default_code = "bad_request"


class InvalidChannel(BadRequest):
    default_code = "invalid_channel_name"
    default_message = "The channel name is not valid."


class ValidationFailed(RealtimeError):
    status = 422
    default_code = "validation_error"
    default_message = "The request failed validation (details name each field)."


class Unauthorized(RealtimeError):
    """Missing or invalid credentials. ``reason`` is logged; the response carries code and message."""

    status = 401
    default_code = "unauthorized"
    default_message = "A valid bearer token is required."

    def __init__(self, message: str | None = None, *, code: str | None = None, **kw: Any) -> None:
        headers = kw.pop("headers", None) or {}
        error = code or self.default_code
        headers.setdefault("WWW-Authenticate", f'Bearer realm="toolboxai-realtime", error="{_www(error)}"')
        super().__init__(message, code=code, headers=headers, **kw)


def _www(code: str) -> str:
    # RFC 6750 error codes: a missing token carries none of its own, anything else is invalid_token.
    return "invalid_request" if code == "missing_token" else "invalid_token"


class InvalidSignature(Unauthorized):
    default_code = "invalid_signature"
    default_message = "The request signature is not valid."

    def __init__(self, message: str | None = None, *, code: str | None = None, **kw: Any) -> None:
        RealtimeError.__init__(self, message, code=code, **kw)


class Forbidden(RealtimeError):
    status = 403
    default_code = "forbidden"
    default_message = "You are not allowed to do this."


class NotFound(RealtimeError):
    status = 404
    default_code = "not_found"
    default_message = "Not found."


class Conflict(RealtimeError):
    status = 409
    default_code = "conflict"
    default_message = "The request conflicts with the current state."


class Gone(RealtimeError):
    """What was asked for existed once and is no longer kept (e.g. history past its retention)."""

    status = 410
    default_code = "gone"
    default_message = "This is no longer available."


class PayloadTooLarge(RealtimeError):
    status = 413
    default_code = "payload_too_large"
    default_message = "The request is too large."


class UnsupportedMediaType(RealtimeError):
    status = 415
    default_code = "unsupported_media_type"
    default_message = "Send application/json or application/x-www-form-urlencoded."


class RateLimited(RealtimeError):
    status = 429
    default_code = "rate_limited"
    default_message = "Too many requests."

    def __init__(self, message: str | None = None, *, retry_after: int, **kw: Any) -> None:
        self.retry_after = max(1, int(retry_after))
        headers = kw.pop("headers", None) or {}
        headers["Retry-After"] = str(self.retry_after)
        super().__init__(message, headers=headers, **kw)

    def body(self) -> dict[str, Any]:
        return {**super().body(), "retry_after": self.retry_after}


class UpstreamUnavailable(RealtimeError):
    """Pusher or AWS did not answer usefully (timeout, refused connection, 5xx)."""

    status = 503
    default_code = "upstream_unavailable"
    default_message = "A service this request depends on is unavailable; try again shortly."

    def __init__(
        self, message: str | None = None, *, status: int = 503, retry_after: int = 2, **kw: Any
    ) -> None:
        self.status_override = status
        self.retry_after = retry_after
        headers = kw.pop("headers", None) or {}
        headers["Retry-After"] = str(retry_after)
        super().__init__(message, headers=headers, **kw)

    @property
    def http_status(self) -> int:
        return self.status_override


class PublishOutcomeUnknown(UpstreamUnavailable):
    """A publish was sent to Pusher and no usable answer came back: it may or may not have been delivered.

    Not a refusal: receivers may already have the event. Retrying with the same ``Idempotency-Key``
    publishes it again under the same event ids, so receivers that got it the first time can drop it.
    ``event_ids`` (in ``details``) are the ids it went out with.
    """

    default_code = "publish_outcome_unknown"
    default_message = (
        "The publish was sent to Pusher but no answer came back: it may have been delivered. "
        "Retry with the same Idempotency-Key to publish it again under the same event ids."
    )

    def __init__(self, message: str | None = None, **kw: Any) -> None:
        kw.setdefault("status", 504)
        super().__init__(message, **kw)


class InternalError(RealtimeError):
    """A bug on our side. The response says only that; the log has the stack trace."""

    status = 500
    default_code = "internal_error"
    default_message = "Something went wrong on our side."


class ConfigurationError(RealtimeError):
    """The deployment is missing something it needs (a secret, a key): the caller cannot fix it."""

    status = 503
    default_code = "not_configured"
    default_message = "This feature is not configured on the server."


def http_status(exc: RealtimeError) -> int:
    """The status to answer with (``UpstreamUnavailable`` may choose 502 or 503)."""
    if isinstance(exc, UpstreamUnavailable):
        return exc.http_status
    return exc.status


def is_server_fault(exc: RealtimeError) -> bool:
    """Whether ``exc`` is our (or a dependency's) failure rather than the caller's: a 5xx."""
    return http_status(exc) >= 500


def batch_entry(answer: Mapping[str, Any] | RealtimeError) -> dict[str, Any]:
    """One channel's answer in a pusher-js-auth batch response: ``{"status": 200, "data": answer}`` for a
    signed channel, ``{"status": <the error's status>, "code": <its code>}`` for a refused one."""
    if isinstance(answer, RealtimeError):
        return {"status": http_status(answer), "code": answer.code}
    return {"status": 200, "data": answer}
