"""Write the HTTP API's OpenAPI document to openapi.json, or check that it is current.

Run from the repository root with the layer on the path (``make openapi`` does):

    PYTHONPATH=layers/shared .venv/bin/python -m scripts.export_openapi          # write
    PYTHONPATH=layers/shared .venv/bin/python -m scripts.export_openapi --check  # 1 if stale

The document comes from the code itself: every function of template.yaml with ``HttpApi`` routes is
imported from its file (as the local gateway does), and the ``paths`` and ``components`` of its
Powertools resolver's ``get_openapi_schema()`` are merged into one document with this API's title,
version, servers and security schemes. A route of template.yaml that no resolver documents (or the
reverse) is an error, so the document cannot silently drift from the deployed API. The output is
deterministic (sorted keys, two-space indent, one trailing newline).
"""

from __future__ import annotations

import importlib.util
import json
import re
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from pydantic import BaseModel

from local_stack.template import Function, Template, load_template
from scripts import _generated
from toolboxai_realtime import bodies
from toolboxai_realtime.authorization import ChannelAuthBody, UserAuthBody
from toolboxai_realtime.maintenance import MaintenanceWindowRequest

ROOT = Path(__file__).resolve().parent.parent
OPENAPI_PATH = ROOT / "openapi.json"

TITLE = "ToolBoxAI Realtime API"
DESCRIPTION = (
    "The HTTP API of ToolBoxAI Realtime: Pusher Channels authorization for pusher-js, event publishing "
    "(the event catalog is in x-event-catalog of the trigger routes), Pusher webhooks, presence and "
    "occupancy, maintenance windows and health. Errors are JSON {code, message, request_id, details?}. "
    "Generated from the Lambda resolvers by scripts/export_openapi.py."
)
SERVERS = [
    {"url": "http://127.0.0.1:8008", "description": "make dev (the local stack)"},
    {
        "url": "https://{api_id}.execute-api.{region}.amazonaws.com",
        "description": "AWS (stack output ApiUrl)",
        "variables": {"api_id": {"default": "api-id"}, "region": {"default": "us-east-1"}},
    },
]
SECURITY_SCHEMES: dict[str, Any] = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A ToolBoxAI JWT: sub, exp, role, class_ids, lesson_ids, scope (README).",
    },
    "pusherWebhookSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Pusher-Signature",
        "description": "Hex HMAC-SHA256 of the raw body with the secret of the app key in X-Pusher-Key.",
    },
}
# Every operation needs a bearer token except these.
OPERATION_SECURITY: dict[tuple[str, str], list[dict[str, list[str]]]] = {
    ("get", "/health"): [],
    ("post", "/pusher/webhook"): [{"pusherWebhookSignature": []}],
}
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "description": (
        "Every error (README, Endpoints): a snake_case code for machines, a message for people, the "
        "request id (also the apigw-requestid header); 429 and 503 add retry_after (and Retry-After)."
    ),
    "type": "object",
    "required": ["code", "message"],
    "properties": {
        "code": {"type": "string", "pattern": "^[a-z0-9_]+$"},
        "message": {"type": "string"},
        "request_id": {"type": "string"},
        "retry_after": {"type": "integer", "minimum": 1},
        "details": {},
    },
}
_ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer", "minimum": 1},
    }
}
_LIMITS = (
    f"a body over a parser limit (nesting deeper than {bodies.MAX_DEPTH}, a number literal over "
    f"{bodies.MAX_NUMBER_CHARS} characters, a repeated or over-long key, more than "
    f"{bodies.MAX_FORM_FIELDS} form fields: code body_limit codes such as json_too_deep)"
)
# Statuses every operation of a kind may answer, beyond those its route declares.
COMMON_STATUSES: dict[str, dict[int, str]] = {
    "any": {
        400: f"Malformed request, or {_LIMITS}.",
        413: "The body is larger than the route accepts.",
        503: "DynamoDB, Pusher or Secrets Manager did not answer in time, or the server is not configured.",
    },
    "bearer": {401: "Missing or invalid bearer token (WWW-Authenticate: Bearer)."},
    "body": {415: "Unsupported Content-Type."},
}


def _form_and_json(model: type[BaseModel], description: str) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    return {
        "required": True,
        "description": description,
        "content": {
            "application/x-www-form-urlencoded": {"schema": schema},
            "application/json": {"schema": schema},
        },
    }


def _json(model: type[BaseModel], description: str) -> dict[str, Any]:
    return {
        "required": True,
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}},
    }


# Bodies the routes parse themselves (Powertools documents only typed ``body`` parameters).
REQUEST_BODIES: dict[tuple[str, str], tuple[dict[str, Any], list[type[BaseModel]]]] = {
    ("post", "/pusher/auth"): (
        _form_and_json(
            ChannelAuthBody,
            "What pusher-js sends (form-encoded) or JSON; the batch form channel_name[0], channel_name[1], "
            "... (the pusher-js-auth plugin) is accepted too.",
        ),
        [],
    ),
    ("post", "/pusher/user-auth"): (_form_and_json(UserAuthBody, "What pusher-js signin() sends."), []),
    ("post", "/realtime/maintenance"): (
        _json(MaintenanceWindowRequest, "The window to schedule."),
        [MaintenanceWindowRequest],
    ),
    ("post", "/pusher/webhook"): (
        {
            "required": True,
            "description": "A Pusher webhook delivery, signed over the raw bytes (X-Pusher-Signature).",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["time_ms", "events"],
                        "properties": {
                            "time_ms": {"type": "integer", "minimum": 1},
                            "events": {"type": "array", "items": {"type": "object"}},
                        },
                    }
                }
            },
        },
        [],
    ),
}


def finish_operation(method: str, path: str, operation: dict[str, Any], schemas: dict[str, Any]) -> None:
    """Make one operation describe the API as it answers: its request body, every status it can answer
    (those its route declares, plus the ones common to its kind), each error in the error model.

    Powertools' own additions are dropped where they do not happen: its 422 ``HTTPValidationError``
    (our 422 is the error model, declared by the routes that can answer it) and its 500 "Response
    Validation Error" (a bug of ours, not a documented answer).
    """
    if (method, path) in REQUEST_BODIES:
        _add_request_body(operation, *REQUEST_BODIES[(method, path)], schemas)
    responses: dict[str, Any] = operation.setdefault("responses", {})
    if responses.get("422", {}).get("description") == "Validation Error":
        del responses["422"]
    responses.pop("500", None)
    for code, description in _common_statuses(operation).items():
        responses.setdefault(str(code), {"description": description})
    for status, response in responses.items():
        if int(status) >= 400:
            _as_error(status, response)


def _add_request_body(
    operation: dict[str, Any], body: dict[str, Any], models: list[type[BaseModel]], schemas: dict[str, Any]
) -> None:
    operation["requestBody"] = body
    for model in models:
        top = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, schema in top.pop("$defs", {}).items():
            schemas.setdefault(name, schema)
        schemas.setdefault(model.__name__, top)


def _common_statuses(operation: dict[str, Any]) -> dict[int, str]:
    kinds = ["any"]
    if operation.get("security", [{"bearerAuth": []}]) == [{"bearerAuth": []}]:
        kinds.append("bearer")
    if "requestBody" in operation:
        kinds.append("body")
    return {code: text for kind in kinds for code, text in COMMON_STATUSES[kind].items()}


def _as_error(status: str, response: dict[str, Any]) -> None:
    # Powertools gives a declared response without a model a placeholder schema (the route's return
    # annotation, "Return"); a route that declares a model keeps it (health's 503).
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    if schema in ({}, {"title": "Return"}):
        response["content"] = _ERROR_CONTENT
    if status in ("409", "429", "503"):
        response["headers"] = _RETRY_AFTER


class OpenApiError(RuntimeError):
    """The resolvers and template.yaml disagree, or two resolvers define one name differently."""


def version() -> str:
    """The project version from pyproject.toml."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return str(project["version"])


def http_functions(template: Template) -> list[Function]:
    """The functions that serve HTTP API routes, by logical id."""
    functions = template.functions().values()
    served = [fn for fn in functions if any(e.get("Type") == "HttpApi" for e in fn.events.values())]
    return sorted(served, key=lambda fn: fn.logical_id)


def load_app(fn: Function) -> APIGatewayHttpResolver:
    """Import ``fn``'s module from its CodeUri under a name of its own and return its ``app`` resolver.

    Raises ``OpenApiError`` when the module has no ``app`` resolver.
    """
    module_name = fn.handler.rsplit(".", 1)[0]
    path = fn.code_uri / f"{module_name.replace('.', '/')}.py"
    spec = importlib.util.spec_from_file_location(f"openapi_{fn.logical_id}_{module_name}", path)
    if spec is None or spec.loader is None:
        raise OpenApiError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    app = getattr(module, "app", None)
    if not isinstance(app, APIGatewayHttpResolver):
        raise OpenApiError(f"{path} has no APIGatewayHttpResolver named app")
    return app


def _shape(path: str) -> str:
    """A path with its parameters unnamed: /a/{id}/b and /a/{window_id}/b are the same route."""
    return re.sub(r"\{[^}]+\}", "{}", path)


def build(template: Template | None = None) -> dict[str, Any]:
    """The merged OpenAPI document of every HTTP function of ``template``.

    Raises ``OpenApiError`` when an operation is defined twice, a component schema has two different
    definitions, or the documented routes are not exactly the routes of template.yaml.
    """
    tpl = template or load_template()
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {}
    for fn in http_functions(tpl):
        doc = json.loads(load_app(fn).get_openapi_json_schema(title=TITLE, version=version()))
        _merge(fn, doc, paths, schemas)
    _check_routes(tpl, paths)
    for path, operations in paths.items():
        for method, operation in operations.items():
            security = OPERATION_SECURITY.get((method, path))
            if security is not None:
                operation["security"] = security
            finish_operation(method, path, operation, schemas)
    for unused in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        schemas.pop(unused, None)
    schemas["Error"] = ERROR_SCHEMA
    return {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": version(), "description": DESCRIPTION},
        "servers": SERVERS,
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": SECURITY_SCHEMES},
    }


def _merge(
    fn: Function, doc: dict[str, Any], paths: dict[str, dict[str, Any]], schemas: dict[str, Any]
) -> None:
    """Add one function's operations and component schemas to the document's."""
    for path, operations in doc.get("paths", {}).items():
        merged = paths.setdefault(path, {})
        for method, operation in operations.items():
            if method in merged:
                raise OpenApiError(f"{method.upper()} {path} is defined by two functions")
            merged[method] = {**operation, "x-lambda-function": fn.logical_id}
    for name, schema in doc.get("components", {}).get("schemas", {}).items():
        if schemas.setdefault(name, schema) != schema:
            raise OpenApiError(f"two different component schemas are named {name}")


def _check_routes(tpl: Template, paths: dict[str, dict[str, Any]]) -> None:
    documented = {(m.upper(), _shape(p)) for p, ops in paths.items() for m in ops if m in _METHODS}
    routed = {(r.method, _shape(r.path)) for r in tpl.http_routes()}
    if documented != routed:
        missing = sorted(routed - documented)
        extra = sorted(documented - routed)
        raise OpenApiError(f"routes of template.yaml without a resolver: {missing}; not in template: {extra}")


def render(template: Template | None = None) -> str:
    """The document as the exact text committed to the repository."""
    return json.dumps(build(template), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def is_current(path: Path = OPENAPI_PATH) -> bool:
    """Whether ``path`` holds exactly ``render()``; False when it is missing or differs."""
    return _generated.is_current(path, render())


def write(path: Path = OPENAPI_PATH) -> bool:
    """Write ``render()`` to ``path``; True when the content changed."""
    return _generated.write(path, render())


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the exit status (1: ``--check`` found a stale file)."""
    return _generated.cli(
        argv,
        description=(__doc__ or "").splitlines()[0],
        default_path=OPENAPI_PATH,
        render=render,
        stale_hint="regenerate it with `make openapi`.",
    )


if __name__ == "__main__":
    raise SystemExit(main())
