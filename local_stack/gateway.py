"""A local stand-in for API Gateway (HTTP API, payload format 2.0).

It reads the routes from template.yaml, turns each HTTP request into the event API Gateway would send,
calls the function's handler in-process and writes the Lambda response back. As API Gateway does, it
answers CORS preflights itself and adds the CORS headers of the template's ``CorsConfiguration`` (the
``CorsAllowOrigins`` parameter, or ``CORS_ALLOW_ORIGINS`` locally), and every error it produces itself
(no route, too large, a crashed function) is JSON with a ``request_id``. Lambda runs one invocation
at a time per instance and Powertools keeps the current event on the resolver, so each function's
handler is serialised by its own lock; different functions run concurrently (a trigger's Pusher call
may cause a webhook call back into the gateway).
"""

from __future__ import annotations

import base64
import importlib.util
import json
import logging
import os
import secrets
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl, unquote

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route as StarletteRoute
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from .template import CorsConfiguration, Function, Route, Template, load_template

Handler = Callable[[dict[str, Any], Any], Any]
log = logging.getLogger("local_stack")

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's limit
WS_PATH = "/ws/content"  # where the template's WebSocket API is served locally
MANAGEMENT_PATH = "/_ws"  # its Management API (LEGACY_WS_ENDPOINT points here locally)
LAMBDA_PATH = "/_lambda"  # Lambda's Invoke API for async hand-offs (AWS_ENDPOINT_URL_LAMBDA locally)
_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript")


@dataclass
class LocalContext:
    """The parts of the Lambda context object that Powertools and our handlers read."""

    function_name: str
    aws_request_id: str
    timeout_seconds: float = 10.0
    memory_limit_in_mb: int = 512
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"
    _deadline: float = field(default=0.0)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:000000000000:function:{self.function_name}"
        self.log_group_name = self.log_group_name or f"/aws/lambda/{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def request_id() -> str:
    """An id shaped like API Gateway's (base64 of random bytes, e.g. ``J7gHnhl0IAMEbXw=``)."""
    return base64.b64encode(secrets.token_bytes(10)).decode()


def is_text(content_type: str) -> bool:
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind.startswith(_TEXT_TYPES) or kind.endswith(("+json", "+xml"))


def build_http_event(
    *,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    source_ip: str,
    route: Route,
    path_params: Mapping[str, str],
    req_id: str | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """The API Gateway HTTP API v2 event for one request.

    As API Gateway does: header names lower-cased and repeated values joined with commas, cookies
    moved to ``cookies``, query parameters joined with commas, path parameters URL-decoded, and the
    body base64-encoded unless it is text (JSON, text/*, XML) that decodes as UTF-8.
    """
    when = time.time() if now is None else now
    merged, cookies = _headers(headers)
    query = _joined(parse_qsl(raw_query, keep_blank_values=True))
    rid = req_id or request_id()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": merged,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": merged.get("host", "127.0.0.1"),
            "domainPrefix": merged.get("host", "127.0.0.1").split(".", 1)[0],
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": merged.get("user-agent", ""),
            },
            "requestId": rid,
            "routeKey": route.route_key,
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(when)),
            "timeEpoch": int(when * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if path_params:
        event["pathParameters"] = {k: unquote(v) for k, v in path_params.items()}
    if body:
        text = _text(body, merged.get("content-type", ""))
        event["body"] = base64.b64encode(body).decode() if text is None else text
        event["isBase64Encoded"] = text is None
    return event


def _joined(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Repeated names joined with commas, as API Gateway joins headers and query parameters."""
    joined: dict[str, str] = {}
    for key, value in pairs:
        joined[key] = f"{joined[key]},{value}" if key in joined else value
    return joined


def _headers(headers: Iterable[tuple[str, str]]) -> tuple[dict[str, str], list[str]]:
    """The headers by lower-cased name, and the cookies API Gateway moves out of them."""
    cookies: list[str] = []
    rest: list[tuple[str, str]] = []
    for name, value in headers:
        key = name.lower()
        if key == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
        else:
            rest.append((key, value))
    return _joined(rest), cookies


def _text(body: bytes, content_type: str) -> str | None:
    """The body as text when it is a text type that decodes as UTF-8, else ``None`` (sent as base64)."""
    if not is_text(content_type):
        return None
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


def to_response(result: Any, rid: str) -> Response:
    """The HTTP response for a Lambda result (payload 2.0 rules: a non-dict becomes a JSON 200)."""
    if not isinstance(result, dict) or "statusCode" not in result:
        return Response(json.dumps(result), status_code=200, media_type="application/json")
    body = result.get("body") or ""
    raw = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
    response = Response(raw, status_code=int(result["statusCode"]))
    for name, value in (result.get("headers") or {}).items():
        response.headers[name] = str(value)
    for name, values in (result.get("multiValueHeaders") or {}).items():
        for value in values:
            response.headers.append(name, str(value))
    for cookie in result.get("cookies") or []:
        response.headers.append("set-cookie", cookie)
    response.headers["apigw-requestid"] = rid
    return response


def gateway_error(status: int, code: str, message: str, rid: str) -> JSONResponse:
    """An error the gateway answers itself, in the API's error model (with ``request_id``)."""
    return JSONResponse(
        {"code": code, "message": message, "request_id": rid},
        status_code=status,
        headers={"apigw-requestid": rid},
    )


def preflight(cors: CorsConfiguration, origin: str) -> Response:
    """API Gateway's own answer to a CORS preflight: 204, with the CORS headers if ``origin`` is allowed
    (without them the browser refuses the actual request, which is the point)."""
    response = Response(status_code=204)
    if cors.allows(origin):
        response.headers["access-control-allow-origin"] = allowed_origin(cors, origin)
        if cors.allow_methods:
            response.headers["access-control-allow-methods"] = ",".join(cors.allow_methods)
        if cors.allow_headers:
            response.headers["access-control-allow-headers"] = ",".join(cors.allow_headers)
        if cors.max_age is not None:
            response.headers["access-control-max-age"] = str(cors.max_age)
        if cors.allow_credentials:
            response.headers["access-control-allow-credentials"] = "true"
    return response


def allowed_origin(cors: CorsConfiguration, origin: str) -> str:
    return "*" if "*" in cors.allow_origins and not cors.allow_credentials else origin


def add_cors_headers(response: Response, cors: CorsConfiguration | None, origin: str | None) -> Response:
    """The CORS headers API Gateway adds to an integration's response (and it ignores the backend's own)."""
    for name in [n for n in response.headers if n.lower().startswith("access-control-")]:
        del response.headers[name]
    if cors is None or not origin or not cors.allows(origin):
        return response
    response.headers["access-control-allow-origin"] = allowed_origin(cors, origin)
    if cors.expose_headers:
        response.headers["access-control-expose-headers"] = ",".join(cors.expose_headers)
    if cors.allow_credentials:
        response.headers["access-control-allow-credentials"] = "true"
    if response.headers["access-control-allow-origin"] != "*":
        response.headers.append("vary", "Origin")
    return response


def build_ws_event(
    *,
    route_key: str,
    event_type: str,
    connection_id: str,
    source_ip: str,
    headers: Mapping[str, str] | None = None,
    query: Mapping[str, str] | None = None,
    body: str | None = None,
    connected_at: int = 0,
    now: float | None = None,
) -> dict[str, Any]:
    """The event API Gateway's WebSocket API sends for $connect / $default / $disconnect."""
    when = time.time() if now is None else now
    ctx: dict[str, Any] = {
        "routeKey": route_key,
        "eventType": event_type,
        "messageDirection": "IN",
        "stage": "ws",
        "connectedAt": connected_at or int(when * 1000),
        "requestTimeEpoch": int(when * 1000),
        "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(when)),
        "identity": {"sourceIp": source_ip, "userAgent": (headers or {}).get("user-agent", "")},
        "requestId": request_id(),
        "domainName": "127.0.0.1",
        "connectionId": connection_id,
        "apiId": "local-ws",
    }
    event: dict[str, Any] = {"requestContext": ctx, "isBase64Encoded": False}
    if event_type == "CONNECT":
        event["headers"] = dict(headers or {})
        event["multiValueHeaders"] = {k: [v] for k, v in (headers or {}).items()}
        if query:
            event["queryStringParameters"] = dict(query)
            event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()}
    elif event_type == "MESSAGE":
        ctx["messageId"] = request_id()
        event["body"] = body or ""
    else:
        ctx["disconnectStatusCode"] = 1000
        ctx["disconnectReason"] = ""
    return event


def load_handler(fn: Function) -> Handler:
    """Import a function's module from its CodeUri under a unique name and return its handler."""
    module_name, attr = fn.handler.rsplit(".", 1)
    path = fn.code_uri / f"{module_name.replace('.', '/')}.py"
    spec = importlib.util.spec_from_file_location(f"lambda_{fn.logical_id}_{module_name}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module: ModuleType = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    handler: Handler = getattr(module, attr)
    return handler


class LocalGateway:
    """Routes requests to in-process handlers, one invocation at a time per function."""

    def __init__(self, template: Template | None = None) -> None:
        self.template = template or load_template()
        # Lambda puts the layer's python/ directory on sys.path (/opt/python); so do we.
        for layer in self.template.layer_dirs():
            if str(layer) not in sys.path:
                sys.path.insert(0, str(layer))
        self.routes = self.template.http_routes()
        self.functions = self.template.functions()
        self._handlers: dict[str, Handler] = {}
        self._locks = {name: threading.Lock() for name in self.functions}
        self._load_lock = threading.Lock()
        self.cors = self.template.cors(os.environ)
        self.ws_routes = self.template.websocket_routes()
        self.sockets: dict[str, WebSocket] = {}

    def handler(self, name: str) -> Handler:
        with self._load_lock:
            if name not in self._handlers:
                self._handlers[name] = load_handler(self.functions[name])
            return self._handlers[name]

    def load_all(self) -> None:
        """Import every function now (as Lambda's init phase would), so import errors show at start."""
        for name in self.functions:
            self.handler(name)

    def invoke(self, name: str, event: dict[str, Any]) -> Any:
        """Invoke a function's handler as Lambda would (serialised per function)."""
        handler = self.handler(name)
        context = LocalContext(function_name=name, aws_request_id=request_id())
        with self._locks[name]:
            return handler(event, context)

    def methods_of(self, path: str) -> list[str]:
        """The methods the template routes for ``path`` (empty: no such path)."""
        return sorted({r.method for r in self.routes if r.pattern.match(path)})

    def no_route(self, method: str, path: str, rid: str) -> JSONResponse:
        """404 for an unknown path; 405 with ``Allow`` for a known path and another method."""
        methods = self.methods_of(path)
        if not methods:
            return gateway_error(404, "route_not_found", f"No route for {method} {path!r}.", rid)
        response = gateway_error(405, "method_not_allowed", f"{path!r} does not take {method}.", rid)
        response.headers["allow"] = ", ".join(methods)
        return response

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            if route.method not in (method, "ANY"):
                continue
            m = route.pattern.match(path)
            if m:
                return route, m.groupdict()
        return None

    async def http(self, request: Request) -> Response:
        origin = request.headers.get("origin")
        if (
            self.cors is not None
            and request.method.upper() == "OPTIONS"
            and origin
            and "access-control-request-method" in request.headers
        ):
            return preflight(self.cors, origin)
        return add_cors_headers(await self._http(request), self.cors, origin)

    async def _http(self, request: Request) -> Response:
        method = request.method.upper()
        raw_path = request.scope.get("raw_path", request.url.path.encode()).decode("latin-1")
        path = unquote(raw_path.split("?", 1)[0])
        rid = request_id()
        found = self.match(method, path)
        if found is None:
            return self.no_route(method, path, rid)
        route, params = found
        body = await request.body()
        if len(body) > MAX_PAYLOAD_BYTES:
            return gateway_error(413, "payload_too_large", "Request Entity Too Large", rid)
        event = build_http_event(
            method=method,
            raw_path=raw_path.split("?", 1)[0],
            raw_query=request.url.query,
            headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.scope["headers"]],
            body=body,
            source_ip=request.client.host if request.client else "127.0.0.1",
            route=route,
            path_params=params,
            req_id=rid,
        )
        try:
            result = await anyio.to_thread.run_sync(self.invoke, route.function, event)
        except Exception:  # a crashed Lambda: API Gateway answers 500 without details
            log.exception("function %s crashed", route.function)
            return gateway_error(500, "internal_error", "Internal Server Error", rid)
        return to_response(result, rid)

    # ----------------------------------------------------------------------- WebSocket API (/ws/content)

    async def _ws_invoke(self, route_key: str, event: dict[str, Any]) -> dict[str, Any]:
        name = self.ws_routes.get(route_key) or self.ws_routes["$default"]
        result = await anyio.to_thread.run_sync(self.invoke, name, event)
        return result if isinstance(result, dict) else {"statusCode": 200}

    async def websocket(self, ws: WebSocket) -> None:
        """One client of the WebSocket API: $connect, a $default per message, $disconnect."""
        # API Gateway's connection ids are URL-safe (they go into the Management API's path).
        connection_id = base64.urlsafe_b64encode(secrets.token_bytes(10)).decode()
        source_ip = ws.client.host if ws.client else "127.0.0.1"
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in ws.scope["headers"]}
        connect = build_ws_event(
            route_key="$connect",
            event_type="CONNECT",
            connection_id=connection_id,
            source_ip=source_ip,
            headers=headers,
            query=dict(ws.query_params),
        )
        result = await self._ws_invoke("$connect", connect)
        status = int(result.get("statusCode", 500))
        if status != 200:
            # API Gateway refuses the handshake with the function's status and body.
            if "websocket.http.response" in ws.scope.get("extensions", {}):
                body = str(result.get("body") or "")
                await ws.send_denial_response(
                    Response(body, status_code=status, media_type="application/json")
                )
            else:
                await ws.close(code=4400)
            return
        connected_at = connect["requestContext"]["connectedAt"]
        await ws.accept()
        self.sockets[connection_id] = ws
        try:
            while True:
                text = await ws.receive_text()
                event = build_ws_event(
                    route_key="$default",
                    event_type="MESSAGE",
                    connection_id=connection_id,
                    source_ip=source_ip,
                    body=text,
                    connected_at=connected_at,
                )
                reply = await self._ws_invoke("$default", event)
                if reply.get("body"):
                    await ws.send_text(str(reply["body"]))
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            self.sockets.pop(connection_id, None)
            gone = build_ws_event(
                route_key="$disconnect",
                event_type="DISCONNECT",
                connection_id=connection_id,
                source_ip=source_ip,
                connected_at=connected_at,
            )
            await self._ws_invoke("$disconnect", gone)

    async def unknown_websocket(self, ws: WebSocket) -> None:
        """A WebSocket on any other path: refused with a clear close code and reason."""
        await ws.accept()
        await ws.close(code=4404, reason="No WebSocket route here; the legacy stream is /ws/content.")

    async def management(self, request: Request) -> Response:
        """The API Gateway Management API for the WebSocket API: POST/GET/DELETE @connections/{id}."""
        connection_id = unquote(request.path_params["connection_id"])
        ws = self.sockets.get(connection_id)
        if ws is None:
            return JSONResponse(
                {"message": "Gone"}, status_code=410, headers={"x-amzn-ErrorType": "GoneException"}
            )
        if request.method == "POST":
            await ws.send_text((await request.body()).decode("utf-8", "replace"))
        elif request.method == "DELETE":
            await ws.close(code=1000)
        return Response(status_code=200)

    # ------------------------------------------------------------------ Lambda Invoke API (async hand-offs)

    async def lambda_invoke(self, request: Request) -> Response:
        """Lambda's Invoke API for the template's functions: ``Event`` runs in the background (202),
        ``RequestResponse`` answers with the function's result."""
        name = unquote(request.path_params["function_name"]).rsplit(":", 1)[-1]
        if name not in self.functions:
            return JSONResponse(
                {"Type": "User", "message": f"Function not found: {name}"},
                status_code=404,
                headers={"x-amzn-ErrorType": "ResourceNotFoundException"},
            )
        try:
            event = json.loads(await request.body() or b"{}")
        except json.JSONDecodeError:
            return JSONResponse(
                {"message": "Could not parse request body into json"},
                status_code=400,
                headers={"x-amzn-ErrorType": "InvalidRequestContentException"},
            )
        if request.headers.get("x-amz-invocation-type", "RequestResponse") == "Event":
            threading.Thread(target=self._invoke_quietly, args=(name, event), daemon=True).start()
            return Response(status_code=202)
        result = await anyio.to_thread.run_sync(self.invoke, name, event)
        return JSONResponse(result, status_code=200)

    def _invoke_quietly(self, name: str, event: dict[str, Any]) -> None:
        try:
            self.invoke(name, event)
        except Exception:  # an asynchronous invocation's error is only logged, as in Lambda
            log.exception("asynchronous invocation of %s failed", name)

    def asgi(self) -> Starlette:
        methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
        routes: list[Any] = []
        if self.ws_routes:
            routes += [
                WebSocketRoute(WS_PATH, self.websocket),
                StarletteRoute(
                    f"{MANAGEMENT_PATH}/@connections/{{connection_id:path}}",
                    self.management,
                    methods=["POST", "GET", "DELETE"],
                ),
            ]
        routes.append(
            StarletteRoute(
                f"{LAMBDA_PATH}/2015-03-31/functions/{{function_name}}/invocations",
                self.lambda_invoke,
                methods=["POST"],
            )
        )
        # Local-only pages (debug console, API docs, dev tokens): never in template.yaml. Imported here,
        # once __init__ has put the layer on the path (the console mints tokens with it).
        from .console import routes as console_routes

        routes += console_routes()
        routes += [
            WebSocketRoute("/{path:path}", self.unknown_websocket),
            StarletteRoute("/{path:path}", self.http, methods=methods),
        ]
        # What no route takes (a path with a line break, which {path:path} does not match; an unknown
        # method) would be Starlette's text/plain 404/405: answer in the error model instead.
        return Starlette(routes=routes, exception_handlers={HTTPException: self.unrouted})

    async def unrouted(self, request: Request, exc: Exception) -> Response:
        if request.method.upper() in self.methods_of(request.url.path):
            return await self.http(request)  # a route of the template after all ({path:path} stops at \n)
        response = self.no_route(request.method.upper(), request.url.path, request_id())
        return add_cors_headers(response, self.cors, request.headers.get("origin"))
