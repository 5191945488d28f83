"""HTTP conventions shared by every API function: the resolver, body parsing, the error model.

This is the single exception -> HTTP mapping of the system. Error bodies are JSON
``{"code": "...", "message": "...", "request_id": "...", "details"?: ...}``; the status comes from the
exception class. Unexpected exceptions become a 500 with a fixed message and the stack trace goes to
the log only. Powertools' own pitfalls (422 without ``msg``, non-UTF-8 base64 bodies, multipart without
a boundary) are mapped here so that no bad input yields a 500.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any
from urllib.parse import parse_qsl

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
    ResponseValidationError,
)
from aws_lambda_powertools.utilities.data_classes.api_gateway_proxy_event import APIGatewayProxyEventV2
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from .errors import (
    BadRequest,
    InternalError,
    NotFound,
    PayloadTooLarge,
    RealtimeError,
    UnsupportedMediaType,
    ValidationFailed,
    http_status,
)
from .observability import count, logger
from .settings import get_settings

JSON_TYPES = ("application/json",)
FORM_TYPE = "application/x-www-form-urlencoded"
MAX_FORM_FIELDS = 250


def create_app() -> APIGatewayHttpResolver:
    """A resolver with validation on and every error handler of the layer registered."""
    # A response that fails its own model raises ResponseValidationError (mapped to 500 below) instead
    # of Powertools' default, a RequestValidationError that reads as the client's 422.
    app = APIGatewayHttpResolver(enable_validation=True, response_validation_error_http_code=500)
    register_error_handlers(app)
    return app


def register_error_handlers(app: APIGatewayHttpResolver) -> None:
    """Register the one exception -> HTTP mapping on ``app``."""

    def internal_error() -> Response[Any]:
        # Called from an exception handler: logger.exception logs the exception being handled.
        logger.exception("unhandled error")
        count("UnhandledError")
        return error_response(InternalError(), request_id())

    def request_id() -> str | None:
        try:
            event: APIGatewayProxyEventV2 = app.current_event
            return event.request_context.request_id
        except (AttributeError, KeyError, TypeError):
            return None

    @app.exception_handler(RealtimeError)
    def _realtime(exc: RealtimeError) -> Response[Any]:
        return error_response(exc, request_id())

    @app.exception_handler(RequestValidationError)
    def _request_validation(exc: RequestValidationError) -> Response[Any]:
        return error_response(ValidationFailed(details=_clean_errors(exc.errors())), request_id())

    @app.exception_handler(PydanticValidationError)
    def _model_validation(exc: PydanticValidationError) -> Response[Any]:
        return error_response(
            ValidationFailed(details=_clean_errors(exc.errors(include_url=False))), request_id()
        )

    @app.exception_handler(ResponseValidationError)
    def _response_validation(exc: ResponseValidationError) -> Response[Any]:
        # Our answer did not match its declared model: a bug on our side, not the client's (Powertools
        # would answer 422, as if the request were wrong).
        logger.error("response failed validation", extra={"errors": _clean_errors(exc.errors())})
        count("UnhandledError")
        return error_response(InternalError(), request_id())

    @app.exception_handler(RequestUnsupportedContentType)
    def _content_type(_: RequestUnsupportedContentType) -> Response[Any]:
        return error_response(UnsupportedMediaType(), request_id())

    @app.exception_handler(UnicodeDecodeError)
    def _not_utf8(_: UnicodeDecodeError) -> Response[Any]:
        return error_response(
            BadRequest("The request body is not valid UTF-8.", code="body_not_utf8"), request_id()
        )

    @app.exception_handler(ValueError)
    def _value_error(_: ValueError) -> Response[Any]:
        # Powertools raises a bare ValueError for a multipart body without a boundary: that is the
        # client's input. Any other ValueError is a bug of ours and answers like one (500, logged).
        if media_type(app.current_event).startswith("multipart/"):
            logger.info("malformed multipart body")
            err = BadRequest("The request body is malformed.", code="malformed_body")
            return error_response(err, request_id())
        return internal_error()

    @app.not_found
    def _not_found(_: NotFoundError) -> Response[Any]:
        event = app.current_event
        message = f"No route for {event.http_method} {event.path}."
        return error_response(NotFound(message), request_id())

    @app.exception_handler(Exception)
    def _unexpected(_: Exception) -> Response[Any]:
        return internal_error()


def error_response(exc: RealtimeError, request_id: str | None = None) -> Response[Any]:
    """The JSON response for ``exc``."""
    body = exc.body()
    if request_id:
        body["request_id"] = request_id
    return Response(
        status_code=http_status(exc),
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(body),
        headers=exc.headers,
    )


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response[Any]:
    """A JSON response; pydantic models are dumped by alias with ``None`` fields left out."""
    if isinstance(body, BaseModel):
        payload = body.model_dump_json(by_alias=True, exclude_none=True)
    else:
        payload = json.dumps(body, separators=(",", ":"))
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=payload, headers=headers
    )


def _clean_errors(errors: Any) -> list[dict[str, Any]]:
    """Pydantic/Powertools errors without the input values (they may be large or sensitive)."""
    cleaned = []
    for err in errors:
        loc = [part for part in err.get("loc", ()) if part != "body"]
        cleaned.append(
            {
                "loc": loc,
                "msg": str(err.get("msg") or err.get("type", "invalid")),
                "type": str(err.get("type", "value_error")),
            }
        )
    return cleaned


# ---------------------------------------------------------------------------------------------- bodies


def media_type(event: APIGatewayProxyEventV2) -> str:
    """The request's media type, lower-cased, without parameters ('' when absent)."""
    value = event.headers.get("content-type") or ""
    return value.split(";", 1)[0].strip().lower()


def read_body(event: APIGatewayProxyEventV2, max_bytes: int | None = None) -> bytes:
    """The raw request body. Raises ``PayloadTooLarge`` or ``BadRequest`` (bad base64)."""
    limit = max_bytes or get_settings().max_body_bytes
    raw = event.body or ""
    if event.is_base64_encoded:
        if len(raw) > (limit * 4) // 3 + 8:
            raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
        try:
            data = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise BadRequest("The request body is not valid base64.", code="malformed_body") from exc
    else:
        data = raw.encode("utf-8", errors="surrogateescape")
    if len(data) > limit:
        raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
    return data


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest("The request body is not valid UTF-8.", code="body_not_utf8") from exc


def parse_json_object(event: APIGatewayProxyEventV2, max_bytes: int | None = None) -> dict[str, Any]:
    """The body as a JSON object. Raises 415 (not JSON), 413, 400 (malformed or not an object)."""
    if media_type(event) not in JSON_TYPES:
        raise UnsupportedMediaType("Send the body as application/json.")
    return _json_object(read_body(event, max_bytes))


def _json_object(data: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(_text(data))
    except json.JSONDecodeError as exc:
        raise BadRequest(
            f"The body is not valid JSON ({exc.msg} at position {exc.pos}).", code="malformed_json"
        ) from exc
    if not isinstance(doc, dict):
        raise BadRequest("The JSON body must be an object.", code="malformed_json")
    return doc


def parse_form_or_json(event: APIGatewayProxyEventV2, max_bytes: int | None = None) -> dict[str, Any]:
    """A form-encoded or JSON body as a dict (form values are strings; repeated keys are refused).

    Raises ``UnsupportedMediaType`` for any other content type, ``PayloadTooLarge``, ``BadRequest``.
    """
    kind = media_type(event)
    data = read_body(event, max_bytes)
    if kind in JSON_TYPES:
        return _json_object(data)
    if kind == FORM_TYPE or (not kind and not data):
        try:
            pairs = parse_qsl(_text(data), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
        except ValueError as exc:
            raise BadRequest("The form body has too many fields.", code="malformed_form") from exc
        form: dict[str, Any] = {}
        for key, value in pairs:
            if key in form:
                raise BadRequest(f"The form field {key!r} is repeated.", code="malformed_form")
            form[key] = value
        return form
    raise UnsupportedMediaType()


def source_ip(event: APIGatewayProxyEventV2) -> str | None:
    try:
        return event.request_context.http.source_ip
    except (AttributeError, KeyError):
        return None
