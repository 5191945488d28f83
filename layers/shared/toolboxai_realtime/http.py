"""HTTP conventions shared by every API function: the resolver, body parsing, the error model.

This is the single exception -> HTTP mapping of the system. Error bodies are JSON
``{"code": "...", "message": "...", "request_id": "...", "details"?: ...}``; the status comes from the
exception class. Unexpected exceptions become a 500 with a fixed message and the stack trace goes to
the log only. Powertools' own pitfalls (422 without ``msg``, non-UTF-8 base64 bodies, multipart without
a boundary) are mapped here so that no bad input yields a 500.
"""

# No ``from __future__ import annotations`` in this module: Powertools 3.37 reads the type hints of every
# dependency (``current_principal``, ``require(...)``) again on every request, and string annotations are
# compiled and evaluated each time (~170 µs of an authenticated request; test_http_dependencies.py).

import base64
import binascii
from collections.abc import Callable, Mapping
from functools import cache
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import (
    APIGatewayHttpResolver,
    Depends,
    Request,
    Response,
    content_types,
)

# Powertools keeps the per-request dependency cache under this context key; resolving a route's
# dependencies ahead of its validation (below) fills the same cache, so the route does not resolve twice.
from aws_lambda_powertools.event_handler.api_gateway import _DEPENDS_CACHE_KEY
from aws_lambda_powertools.event_handler.depends import (
    DependencyResolutionError,
    DependencyTree,
    build_dependency_tree,
    solve_dependencies,
)
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import (
    OpenAPIRequestValidationMiddleware,
    OpenAPIResponseValidationMiddleware,
)
from aws_lambda_powertools.event_handler.openapi.compat import ModelField
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
    ResponseValidationError,
)
from aws_lambda_powertools.event_handler.types import EventHandlerInstance
from aws_lambda_powertools.utilities.data_classes.api_gateway_proxy_event import APIGatewayProxyEventV2
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from . import bodies
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
from .identity import Principal, authenticate, bearer_token
from .observability import count, logger
from .settings import get_settings

JSON_TYPES = ("application/json",)
FORM_TYPE = "application/x-www-form-urlencoded"
MAX_FORM_FIELDS = bodies.MAX_FORM_FIELDS

# ------------------------------------------------------------------------------------------------ caller


def current_principal(request: Request) -> Principal:
    """The verified caller of ``Authorization: Bearer <jwt>``, as a Powertools dependency:
    ``principal: CurrentPrincipal`` (``Annotated[Principal, Depends(current_principal)]``) on a route.

    Raises ``Unauthorized`` (401) with the codes of ``identity.bearer_token`` and
    ``identity.authenticate``; ``ConfigurationError`` / ``UpstreamUnavailable`` as ``authenticate`` does.
    """
    return authenticate(bearer_token(request.headers.get("authorization")))


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
"""A route parameter holding the verified caller (401 before anything else of the route runs)."""


def require(check: Callable[[Principal], None]) -> Callable[[Principal], Principal]:
    """A dependency: the verified caller, once ``check`` has accepted it.

    ``check`` is a domain rule (``user_control.require_admin``, ...) that raises ``Forbidden`` (403) and
    records the denial as a security event. Build it once per module (Powertools caches a dependency's
    result per request by function): ``Admin = Annotated[Principal, Depends(require(require_admin))]``.
    """

    def principal_allowed(principal: CurrentPrincipal) -> Principal:
        check(principal)
        return principal

    principal_allowed.__name__ = f"allowed_by_{getattr(check, '__name__', 'check')}"
    return principal_allowed


def reply[M: BaseModel](body: M, *, status: int = 200, headers: dict[str, str] | None = None) -> Response[M]:
    """A typed JSON response other than a plain 200 (a 201, extra headers): annotate the route
    ``-> Response[Model]`` and Powertools validates ``body`` and documents ``Model`` under ``status``
    (``status_code=`` of the route decorator). A plain 200 route returns its model itself.
    """
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=body, headers=headers
    )


_ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}


def documented(
    success: str, errors: Mapping[int, str], *, status: int = 200, bearer: bool = True
) -> dict[int, Any]:
    """A route's ``responses=``: ``status`` described as ``success`` (its schema follows from the route's
    return annotation) and the ``errors`` it can answer, each in the one error model (``Error``, defined
    by ``scripts/export_openapi.py``, which also adds the statuses every route of a kind can answer).
    ``bearer`` adds the 401 of a route that reads the caller's token (``CurrentPrincipal``, ``require``).
    """
    responses: dict[int, Any] = {status: {"description": success}}
    if bearer:
        errors = {401: "Missing or invalid bearer token.", **errors}
    for code, description in errors.items():
        responses[code] = {"description": description, "content": _ERROR_CONTENT}
    return responses


# ------------------------------------------------------------------------------------------------ resolver


def create_app(
    max_body_bytes: int | None = None,
    *,
    verify_first: bool = False,
    form_bodies: bool = False,
) -> APIGatewayHttpResolver:
    """A resolver with validation on, the parser limits of ``bodies`` on every body, and every error
    handler of the layer registered.

    ``max_body_bytes`` is the largest body the function's routes accept (default: the ``MAX_BODY_BYTES``
    setting). Bodies are held to ``bodies``' limits twice over, so that no route can forget: Powertools
    decodes JSON with ``bodies.loads`` (its ``json_body_deserializer``, the path of typed ``body:``
    parameters), and every body is checked ahead of Powertools' request validation and of the route,
    so before the token is verified or anything is read or written; a body that merely fails to
    parse is left to the route, so routes keep their own order (401 before 400 on the authenticated
    ones). ``verify_first=True`` leaves the check out, for a route that verifies a signature over the
    raw body before it parses anything (the webhook: ``bodies.loads`` applies the limits after it).

    ``form_bodies=True`` lets the routes take ``application/x-www-form-urlencoded`` bodies (the auth
    endpoints: pusher-js sends forms); elsewhere a form body is 415 ``unsupported_media_type`` before
    anything else, rather than a form that Powertools would validate field by field (``curl -d`` without
    a JSON ``Content-Type`` sends one).

    A route's ``Depends`` parameters (``CurrentPrincipal``, ``require(...)``) are resolved after the body
    limits and before Powertools validates typed bodies and parameters, so a request without a valid
    token is a 401/403 whatever its input (the token before the input, on every route).

    Typed returns are serialised by alias with ``None`` fields left out.
    """
    # A response that fails its own model raises ResponseValidationError (mapped to 500 below) instead
    # of Powertools' default, a RequestValidationError that reads as the client's 422.
    app = APIGatewayHttpResolver(
        enable_validation=True,
        response_validation_error_http_code=500,
        json_body_deserializer=_bounded_json(max_body_bytes),
    )
    if not verify_first:
        # Powertools runs its request validation ahead of every middleware of ours and parses form
        # bodies there without a field limit; it has no public hook in front of it, so the check rides
        # on that middleware (it runs for every route: validation is on for the whole resolver).
        app._request_validation_middleware = _BoundedRequestValidation(max_body_bytes, form_bodies)
    app._response_validation_middleware = _ResponseValidation(
        validation_serializer=app._serializer, has_response_validation_error=True
    )
    register_error_handlers(app)
    return app


def _limit(max_body_bytes: int | None) -> int:
    return max_body_bytes or get_settings().max_body_bytes


def _bounded_json(max_body_bytes: int | None) -> Callable[[str], Any]:
    def deserialize(text: str) -> Any:
        # Malformed JSON is 400 ``malformed_json`` here as on every other route (not Powertools' 422).
        return bodies.loads(text, max_bytes=_limit(max_body_bytes))

    return deserialize


class _BoundedRequestValidation(OpenAPIRequestValidationMiddleware):
    """Powertools' request validation with ``check_body_limits`` and the route's dependencies in front."""

    def __init__(self, max_body_bytes: int | None, form_bodies: bool) -> None:
        # The base class's __init__ does nothing.
        self.max_body_bytes = max_body_bytes
        self.form_bodies = form_bodies

    def handler(self, app: EventHandlerInstance, next_middleware: NextMiddleware) -> Response[Any]:
        if isinstance(app, APIGatewayHttpResolver):
            event = app.current_event
            if event.body and not self.form_bodies and media_type(event) == FORM_TYPE:
                raise UnsupportedMediaType("Send the body as application/json.")
            check_body_limits(event, self.max_body_bytes)
            _resolve_dependencies(app)
        return super().handler(app, next_middleware)


def _resolve_dependencies(app: APIGatewayHttpResolver) -> None:
    """Resolve the route's ``Depends`` parameters now, into the request's dependency cache.

    Powertools resolves them only when it calls the route, after validating the input; resolving them
    first keeps 401/403 ahead of 422. What a dependency raises is raised as itself: Powertools wraps it
    in one ``DependencyResolutionError`` per level of nesting and unwraps only one.
    """
    route = app.context.get("_route")
    if route is None or not route.has_dependencies:
        return
    try:
        solve_dependencies(
            dependant=_dependency_tree(route.func),
            request=app.request,
            dependency_overrides=app.dependency_overrides or None,
            dependency_cache=app.context.setdefault(_DEPENDS_CACHE_KEY, {}),
        )
    except DependencyResolutionError as exc:
        cause: BaseException = exc
        while isinstance(cause, DependencyResolutionError) and cause.__cause__ is not None:
            cause = cause.__cause__
        raise cause from None


@cache
def _dependency_tree(func: Callable[..., Any]) -> DependencyTree:
    # A route's dependencies follow from its signature alone: read its type hints once per process,
    # not on every request (``typing.get_type_hints`` is most of what resolving them costs).
    return build_dependency_tree(func)


class _ResponseValidation(OpenAPIResponseValidationMiddleware):
    """Powertools' response validation, serialising by alias without ``None`` fields: an optional field
    that is absent is left out of the answer, not sent as ``null``."""

    def _serialize_response_with_validation(
        self, *, field: ModelField, response_content: Any, **options: Any
    ) -> Any:
        return super()._serialize_response_with_validation(
            field=field, response_content=response_content, **{**options, "exclude_none": True}
        )


def check_body_limits(event: APIGatewayProxyEventV2, max_body_bytes: int | None = None) -> None:
    """Hold the body (if any) to the size limit and, for JSON and form bodies, to ``bodies``' parser
    limits. Raises ``PayloadTooLarge`` (413) and ``bodies.BodyLimitExceeded`` (400); a body that is
    merely malformed passes (its route reports it).
    """
    if not event.body:
        return
    limit = _limit(max_body_bytes)
    data = read_body(event, limit)
    kind = media_type(event)
    try:
        if kind in JSON_TYPES or not kind:
            bodies.loads(data, max_bytes=limit)
        elif kind == FORM_TYPE:
            bodies.parse_form(_text(data))
    except bodies.BodyLimitExceeded:
        raise
    except BadRequest:
        return


def register_error_handlers(app: APIGatewayHttpResolver) -> None:
    """Register the one exception -> HTTP mapping on ``app``."""
    _register_client_errors(app)
    _register_server_errors(app)


def _request_id(app: APIGatewayHttpResolver) -> str | None:
    try:
        event: APIGatewayProxyEventV2 = app.current_event
        return event.request_context.request_id
    except (AttributeError, KeyError, TypeError):
        return None


def _internal_error(app: APIGatewayHttpResolver) -> Response[Any]:
    # Called from an exception handler: logger.exception logs the exception being handled.
    logger.exception("unhandled error")
    count("UnhandledError")
    return error_response(InternalError(), _request_id(app))


def _register_client_errors(app: APIGatewayHttpResolver) -> None:
    """Our errors, and the client's input that Powertools or pydantic refused."""

    @app.exception_handler(RealtimeError)
    def _realtime(exc: RealtimeError) -> Response[Any]:
        return error_response(exc, _request_id(app))

    @app.exception_handler(RequestValidationError)
    def _request_validation(exc: RequestValidationError) -> Response[Any]:
        return error_response(ValidationFailed(details=_clean_errors(exc.errors())), _request_id(app))

    @app.exception_handler(PydanticValidationError)
    def _model_validation(exc: PydanticValidationError) -> Response[Any]:
        return error_response(
            ValidationFailed(details=_clean_errors(exc.errors(include_url=False))), _request_id(app)
        )

    @app.exception_handler(RequestUnsupportedContentType)
    def _content_type(_: RequestUnsupportedContentType) -> Response[Any]:
        return error_response(UnsupportedMediaType(), _request_id(app))

    @app.exception_handler(UnicodeDecodeError)
    def _not_utf8(_: UnicodeDecodeError) -> Response[Any]:
        return error_response(
            BadRequest("The request body is not valid UTF-8.", code="body_not_utf8"), _request_id(app)
        )

    @app.not_found
    def _not_found(_: NotFoundError) -> Response[Any]:
        event = app.current_event
        message = f"No route for {event.http_method} {event.path}."
        return error_response(NotFound(message), _request_id(app))


def _register_server_errors(app: APIGatewayHttpResolver) -> None:
    """Everything else: a bug of ours is a 500 with a fixed message, its stack trace in the log only."""

    @app.exception_handler(ResponseValidationError)
    def _response_validation(exc: ResponseValidationError) -> Response[Any]:
        # Our answer did not match its declared model: a bug on our side, not the client's (Powertools
        # would answer 422, as if the request were wrong).
        logger.error("response failed validation", extra={"errors": _clean_errors(exc.errors())})
        count("UnhandledError")
        return error_response(InternalError(), _request_id(app))

    @app.exception_handler(ValueError)
    def _value_error(_: ValueError) -> Response[Any]:
        # Powertools raises a bare ValueError for a multipart body without a boundary: that is the
        # client's input. Any other ValueError is a bug of ours and answers like one (500, logged).
        if media_type(app.current_event).startswith("multipart/"):
            logger.info("malformed multipart body")
            err = BadRequest("The request body is malformed.", code="malformed_body")
            return error_response(err, _request_id(app))
        return _internal_error(app)

    @app.exception_handler(Exception)
    def _unexpected(_: Exception) -> Response[Any]:
        return _internal_error(app)


def error_response(exc: RealtimeError, request_id: str | None = None) -> Response[Any]:
    """The JSON response for ``exc``."""
    body = exc.body()
    if request_id:
        body["request_id"] = request_id
    return Response(
        status_code=http_status(exc),
        content_type=content_types.APPLICATION_JSON,
        body=bodies.compact_json(body),
        headers=exc.headers,
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
    doc = bodies.loads(data, max_bytes=len(data))
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
        return dict(bodies.parse_form(_text(data)))
    raise UnsupportedMediaType()


def source_ip(event: APIGatewayProxyEventV2) -> str | None:
    try:
        return event.request_context.http.source_ip
    except (AttributeError, KeyError):
        return None
