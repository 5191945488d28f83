"""Cold start (issue 15): importing a function's ``app`` loads nothing it does not need yet.

Each check is a fresh interpreter importing ``app`` as Lambda's runtime would (``PYTHONPATH`` =
the layer and the function's directory, the template's environment). With tracing off the X-Ray SDK
(150 ms) is never imported; the Pusher SDK and requests (60 ms) wait for the first call that signs or
publishes; pyOpenSSL (45 ms), which pusher's requirements put beside botocore, is never imported. The
timings themselves are ``make bench ARGS=cold_start`` (no timing thresholds in tests).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from local_stack.template import load_template
from tests.conftest import ROOT

FUNCTIONS = sorted(p.parent.name for p in (ROOT / "functions").glob("*/app.py"))
NOT_AT_IMPORT = ("aws_xray_sdk", "pusher", "requests", "OpenSSL", "urllib3.contrib.pyopenssl")


def _loaded_after_import(fn: str, code: str, prelude: str = "", **env_overrides: str) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "AWS_LAMBDA", "LAMBDA_"))}
    env.update(load_template().environment({}))
    env.update(
        AWS_DEFAULT_REGION="us-east-1", PYTHONPATH=os.pathsep.join(["layers/shared", f"functions/{fn}"])
    )
    env.update(env_overrides)
    out = subprocess.run(
        [sys.executable, "-c", f"import sys, json\n{prelude}\nimport app\n{code}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    result: dict[str, object] = json.loads(out.stdout.splitlines()[-1])
    return result


@pytest.mark.parametrize("fn", FUNCTIONS)
def test_importing_a_function_loads_no_tracer_sdk_or_pusher_sdk_when_tracing_is_off(fn: str) -> None:
    modules = sorted(NOT_AT_IMPORT)
    loaded = _loaded_after_import(
        fn,
        f"print(json.dumps({{'loaded': [m for m in {modules!r} if sys.modules.get(m) is not None]}}))",
        POWERTOOLS_TRACE_DISABLED="true",
    )
    assert loaded == {"loaded": []}


def test_tracing_off_hands_the_function_back_unwrapped(monkeypatch: pytest.MonkeyPatch) -> None:
    from toolboxai_realtime.observability import LazyTracer

    def handler(event: dict[str, object], context: object) -> dict[str, object]:
        return event

    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")  # in Lambda, but switched off
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    tracer = LazyTracer()
    assert tracer.capture_lambda_handler(handler) is handler
    assert tracer.capture_method(handler) is handler
    assert tracer._tracer is None  # no Powertools Tracer was built


def test_tracing_on_in_lambda_builds_powertools_tracer_and_patches_botocore() -> None:
    # In Lambda (LAMBDA_TASK_ROOT set) with tracing on, tracing is Powertools' own, X-Ray SDK and all.
    loaded = _loaded_after_import(
        "auth",
        "from toolboxai_realtime.observability import tracer\n"
        "print(json.dumps({'xray': 'aws_xray_sdk.core' in sys.modules, 'tracer': type(tracer.real).__name__,"
        " 'enabled': tracer.enabled()}))",
        LAMBDA_TASK_ROOT=str(ROOT / "functions" / "auth"),
        AWS_XRAY_SDK_ENABLED="true",
    )
    assert loaded == {"xray": True, "tracer": "Tracer", "enabled": True}


# Lambda's managed runtime provides snapshot_restore_py; here a stand-in records the hooks, and the
# test runs them as Lambda does before taking the snapshot.
_FAKE_RUNTIME_HOOKS = """
import types
hooks = []
fake = types.ModuleType("snapshot_restore_py")
fake.register_before_snapshot = lambda func, *args, **kwargs: hooks.append((func, args, kwargs))
sys.modules["snapshot_restore_py"] = fake
"""


@pytest.mark.parametrize("fn", ["auth", "trigger"])  # the request-path functions that sign or publish
def test_under_snapstart_the_pusher_sdk_is_in_the_snapshot_not_in_the_first_request(fn: str) -> None:
    loaded = _loaded_after_import(
        fn,
        "before = 'pusher' in sys.modules or 'requests' in sys.modules\n"
        "for func, args, kwargs in hooks: func(*args, **kwargs)\n"
        "after = ['pusher' in sys.modules, 'requests' in sys.modules]\n"
        "print(json.dumps({'before': before, 'after': after}))",
        prelude=_FAKE_RUNTIME_HOOKS,
        POWERTOOLS_TRACE_DISABLED="true",
        AWS_LAMBDA_INITIALIZATION_TYPE="snap-start",  # what Lambda sets when it initialises for a snapshot
    )
    assert loaded == {"before": False, "after": [True, True]}


@pytest.mark.parametrize("fn", ["auth", "trigger"])
def test_a_provisioned_concurrency_instance_imports_the_pusher_sdk_at_init(fn: str) -> None:
    # AuthProvisionedConcurrency/TriggerProvisionedConcurrency > 0: Lambda initialises these instances
    # before traffic (AWS_LAMBDA_INITIALIZATION_TYPE=provisioned-concurrency), so nothing waits for it.
    loaded = _loaded_after_import(
        fn,
        "print(json.dumps({'after_import': ['pusher' in sys.modules, 'requests' in sys.modules]}))",
        POWERTOOLS_TRACE_DISABLED="true",
        AWS_LAMBDA_INITIALIZATION_TYPE="provisioned-concurrency",
    )
    assert loaded == {"after_import": [True, True]}


def test_without_snapstart_nothing_is_primed() -> None:
    loaded = _loaded_after_import(
        "auth",
        "print(json.dumps({'hooks': len(hooks)}))",
        prelude=_FAKE_RUNTIME_HOOKS,
        POWERTOOLS_TRACE_DISABLED="true",
        AWS_LAMBDA_INITIALIZATION_TYPE="on-demand",
    )
    assert loaded == {"hooks": 0}


# PyJWT imports cryptography (about 75 ms) whenever it is installed; in Lambda, with only HS* configured,
# the layer imports PyJWT without it (toolboxai_realtime.pyjwt).
@pytest.mark.parametrize("fn", FUNCTIONS)
def test_in_lambda_with_hmac_tokens_only_no_function_imports_cryptography(fn: str) -> None:
    modules = sorted({*NOT_AT_IMPORT, "cryptography"})
    loaded = _loaded_after_import(
        fn,
        f"print(json.dumps({{'loaded': [m for m in {modules!r} if sys.modules.get(m) is not None]}}))",
        POWERTOOLS_TRACE_DISABLED="true",
        LAMBDA_TASK_ROOT=str(ROOT / "functions" / fn),
        JWT_ALGORITHMS="HS256",
    )
    assert loaded == {"loaded": []}


_VERIFY_BOTH = """
import jwt
from jwt.algorithms import get_default_algorithms
from toolboxai_realtime import identity
from toolboxai_realtime.settings import Settings
key = "k" * 32
claims = {"sub": "42", "role": "student", "exp": 4102444800, "iat": 1700000000}
token = jwt.encode(claims, key, algorithm="HS256")
principal = identity.authenticate(token, Settings.from_env({"JWT_SECRET": key, "JWT_ALGORITHMS": "HS256"}))
print(json.dumps({"cryptography": "cryptography" in sys.modules, "rs256": "RS256" in get_default_algorithms(),
                  "sub": principal.user_id}))
"""


@pytest.mark.parametrize(
    ("lambda_task_root", "algorithms", "crypto"),
    [
        ("/var/task", "HS256", False),  # in Lambda, HMAC only: no cryptography, HS256 still verifies
        ("/var/task", "HS256,HS512", False),
        ("/var/task", "HS256,RS256", True),  # a JWKS algorithm configured: PyJWT gets cryptography
        ("/var/task", "ES256", True),
        ("", "HS256", True),  # outside Lambda the settings may change within a process (tests, local stack)
    ],
)
def test_pyjwt_gets_cryptography_exactly_when_an_asymmetric_algorithm_may_be_needed(
    lambda_task_root: str, algorithms: str, crypto: bool
) -> None:
    loaded = _loaded_after_import(
        "auth",
        _VERIFY_BOTH,
        POWERTOOLS_TRACE_DISABLED="true",
        LAMBDA_TASK_ROOT=lambda_task_root,
        JWT_ALGORITHMS=algorithms,
    )
    assert loaded == {"cryptography": crypto, "rs256": crypto, "sub": "42"}


def test_hmac_only_reads_jwt_algorithms_as_settings_does() -> None:
    from toolboxai_realtime.pyjwt import hmac_only

    assert hmac_only({"LAMBDA_TASK_ROOT": "/var/task"})  # the default, HS256
    assert hmac_only({"LAMBDA_TASK_ROOT": "/var/task", "JWT_ALGORITHMS": " HS384 , HS512,"})
    assert not hmac_only({"LAMBDA_TASK_ROOT": "/var/task", "JWT_ALGORITHMS": "HS256,PS256"})
    assert not hmac_only({"LAMBDA_TASK_ROOT": "/var/task", "JWT_ALGORITHMS": " , "})
    assert not hmac_only({"LAMBDA_TASK_ROOT": "/var/task", "JWT_ALGORITHMS": "hs256"})  # settings refuse it
    assert not hmac_only({"JWT_ALGORITHMS": "HS256"})
    # Settings.from_env matches names case-insensitively: any spelling that asks for more counts.
    both = {"LAMBDA_TASK_ROOT": "/var/task", "JWT_ALGORITHMS": "HS256", "jwt_algorithms": "RS256"}
    assert not hmac_only(both)
