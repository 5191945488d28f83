"""Local defaults for the configuration variables (README "Configuration" lists them).

They only apply where the environment does not set a value. None of them is a production secret.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"

LOCAL_DEFAULTS: dict[str, str] = {
    "ENVIRONMENT": "local",
    "REALTIME_HOST": "127.0.0.1",
    "REALTIME_PORT": "8008",
    "PUSHER_APP_ID": "1001",
    "PUSHER_KEY": "toolboxai-local-key",
    "PUSHER_SECRET": "toolboxai-local-secret",
    "PUSHER_CLUSTER": "mt1",
    "PUSHER_HOST": "127.0.0.1",
    "PUSHER_PORT": "6001",
    "PUSHER_USE_TLS": "false",
    "PUSHER_USER_AUTHENTICATION": "false",
    "JWT_SECRET": "toolboxai-local-jwt-secret-for-development-only",
    "JWT_ALGORITHMS": "HS256",
    "AUTH_RATE_LIMIT_PER_MINUTE": "10",
    "TRIGGER_RATE_LIMIT_PER_MINUTE": "1000",
    "MAX_CONNECTIONS_PER_USER": "100",
    # moto's DynamoDB server and the fake credentials boto3 needs to sign requests to it.
    "DYNAMODB_PORT": "8010",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "SOKETI_METRICS_PORT": "9601",
    # Powertools: no X-Ray daemon locally; metrics are printed as EMF unless disabled.
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "ToolBoxAI/Realtime",
    "POWERTOOLS_SERVICE_NAME": "toolboxai-realtime",
}

# Template variables that name a secret in AWS; locally the secret itself is in the environment.
SECRET_NAME_VARS = {"PUSHER_SECRET_NAME": "PUSHER_SECRET", "JWT_SECRET_NAME": "JWT_SECRET"}


def apply_defaults(env: MutableMapping[str, str] | None = None) -> MutableMapping[str, str]:
    """Fill in every local default that ``env`` (default: ``os.environ``) does not set."""
    target = os.environ if env is None else env
    for key, value in LOCAL_DEFAULTS.items():
        target.setdefault(key, value)
    target.setdefault("AWS_ENDPOINT_URL_DYNAMODB", f"http://127.0.0.1:{target['DYNAMODB_PORT']}")
    # The legacy WebSocket's Management API is served by the local gateway itself.
    base = f"http://{target['REALTIME_HOST']}:{target['REALTIME_PORT']}"
    target.setdefault("LEGACY_WS_ENDPOINT", f"{base}/_ws")
    # Asynchronous Lambda invokes (the publisher's hand-off to the legacy fan-out) go to the gateway.
    target.setdefault("AWS_ENDPOINT_URL_LAMBDA", f"{base}/_lambda")
    return target
