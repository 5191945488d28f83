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

from local_stack.template import Function, Template, load_template
from scripts import _generated

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
        for path, operations in doc.get("paths", {}).items():
            merged = paths.setdefault(path, {})
            for method, operation in operations.items():
                if method in merged:
                    raise OpenApiError(f"{method.upper()} {path} is defined by two functions")
                merged[method] = {**operation, "x-lambda-function": fn.logical_id}
        for name, schema in doc.get("components", {}).get("schemas", {}).items():
            if schemas.setdefault(name, schema) != schema:
                raise OpenApiError(f"two different component schemas are named {name}")

    documented = {(m.upper(), _shape(p)) for p, ops in paths.items() for m in ops if m in _METHODS}
    routed = {(r.method, _shape(r.path)) for r in tpl.http_routes()}
    if documented != routed:
        missing = sorted(routed - documented)
        extra = sorted(documented - routed)
        raise OpenApiError(f"routes of template.yaml without a resolver: {missing}; not in template: {extra}")

    for path, operations in paths.items():
        for method, operation in operations.items():
            security = OPERATION_SECURITY.get((method, path))
            if security is not None:
                operation["security"] = security
    return {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": version(), "description": DESCRIPTION},
        "servers": SERVERS,
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": SECURITY_SCHEMES},
    }


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
