"""Local defaults for the configuration variables (README "Configuration" lists them).

They only apply where the environment does not set a value. None of them is a production secret.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping, MutableMapping
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

# Where a running `make dev` records its addresses, so that `make reconcile`, `make canary` and
# `python -m local_stack.invoke` in another terminal reach the ports it was started with.
STATE_FILE_VAR = "LOCAL_STACK_STATE"
STATE_VARS = (
    "REALTIME_HOST",
    "REALTIME_PORT",
    "PUSHER_HOST",
    "PUSHER_PORT",
    "PUSHER_APP_ID",
    "PUSHER_KEY",
    "DYNAMODB_PORT",
    "SOKETI_METRICS_PORT",
)


def state_file(env: Mapping[str, str] | None = None) -> Path:
    """The running stack's record: ``$LOCAL_STACK_STATE``, else ``.local/stack.json``."""
    source = os.environ if env is None else env
    return Path(source.get(STATE_FILE_VAR) or ROOT / ".local" / "stack.json")


def write_state(env: Mapping[str, str]) -> Path:
    """Record this process's stack addresses (no secrets) for the other local commands."""
    path = state_file(env)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"pid": os.getpid(), "env": {key: env[key] for key in STATE_VARS if key in env}}
    path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return path


def remove_state(env: Mapping[str, str]) -> None:
    """Remove the record if this process wrote it (another `make dev` may have replaced it)."""
    path = state_file(env)
    with contextlib.suppress(OSError, ValueError, KeyError):
        if json.loads(path.read_text(encoding="utf-8"))["pid"] == os.getpid():
            path.unlink()


def running_stack(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The addresses a running `make dev` recorded; {} when none runs (no record, or its process is gone)."""
    try:
        record = json.loads(state_file(env).read_text(encoding="utf-8"))
        os.kill(int(record["pid"]), 0)  # signal 0: only asks whether the process exists
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return {str(k): str(v) for k, v in record.get("env", {}).items() if k in STATE_VARS}


def apply_defaults(
    env: MutableMapping[str, str] | None = None, *, follow_running_stack: bool = False
) -> MutableMapping[str, str]:
    """Fill in every local default that ``env`` (default: ``os.environ``) does not set.

    With ``follow_running_stack``, the addresses a running ``make dev`` recorded come first (variables
    set in ``env`` still win): the commands that talk to the stack find it on the ports it uses.
    """
    target = os.environ if env is None else env
    if follow_running_stack:
        for key, value in running_stack(target).items():
            target.setdefault(key, value)
    for key, value in LOCAL_DEFAULTS.items():
        target.setdefault(key, value)
    target.setdefault("AWS_ENDPOINT_URL_DYNAMODB", f"http://127.0.0.1:{target['DYNAMODB_PORT']}")
    # The legacy WebSocket's Management API is served by the local gateway itself.
    base = f"http://{target['REALTIME_HOST']}:{target['REALTIME_PORT']}"
    target.setdefault("LEGACY_WS_ENDPOINT", f"{base}/_ws")
    # Asynchronous Lambda invokes (the publisher's hand-off to the legacy fan-out) go to the gateway.
    target.setdefault("AWS_ENDPOINT_URL_LAMBDA", f"{base}/_lambda")
    # Metrics are Powertools EMF JSON on stdout: in CloudWatch they become metrics, in a terminal they
    # bury the log. Off locally (make dev, make reconcile, local_stack.invoke, the canary) unless asked
    # for with POWERTOOLS_METRICS_DISABLED=false.
    target.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    return target
