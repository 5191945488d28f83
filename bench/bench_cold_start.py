"""Cold start: each function's ``import app`` in a fresh interpreter, against a bare ``import boto3``.

For every ``functions/<fn>`` a new ``python`` process times ``import app`` (``time.perf_counter`` around
the import only, so interpreter start-up is not counted) with the Lambda environment template.yaml
gives (``Template.environment``; ``POWERTOOLS_TRACE_DISABLED=true``: tracing off) and
``PYTHONPATH=layers/shared:functions/<fn>``, as Lambda's runtime would import the handler module. The
baselines run in the same loop, interleaved, in the same interpreter and site-packages:

- ``import boto3`` (the issue's baseline). pusher 3.3.4 declares pyOpenSSL as a dependency, so it is
  installed beside boto3, and botocore then imports it (``botocore.httpsession``);
- ``import boto3`` with ``urllib3.contrib.pyopenssl`` blocked, i.e. boto3's floor without pyOpenSSL:
  the stricter baseline, since the layer blocks that import (``toolboxai_realtime/__init__.py``).

The "first request" column is the same fresh process timing ``import app`` plus the first
``lambda_handler`` call on an API Gateway event that needs no network (no bearer token: the handler
parses, routes, answers 401 in the JSON error model, logs and flushes metrics). Moving work from the
import to the first request is not a win; this column shows whether that happened. It does not include
the I/O of a real request (Secrets Manager, DynamoDB, Pusher), nor the first botocore client's creation.

The row ``auth 200`` is the auth function's first *successful* request instead: a verified HS256
bearer token for ``private-user-42`` (secrets from the environment, as locally), the DynamoDB call
answered at botocore's ``before-send`` (no network; the client is created, the request built and
signed), the Pusher signature computed. That is where work deferred from the import would show up.

Every process has ``LAMBDA_TASK_ROOT`` set, as in Lambda: the layer imports PyJWT without
``cryptography`` there when only HS* algorithms are configured (``toolboxai_realtime.pyjwt``).

``ARGS`` of ``make bench`` picks benches by name; ``COLD_START_REPEATS`` (default 9) sets N, the figure
printed is the median of N processes per row. ``COLD_START_COMPARE=<another checkout>`` (e.g. a
``git worktree`` of main) adds its functions as rows ``<fn> @compare``, interleaved in the same run:
before/after figures under the same machine load. Several checkouts, ``:``-separated, are rows
``<fn> @<directory name>`` (e.g. the base, and this tree byte-compiled as ``make build`` does).
``COLD_START_FUNCTIONS=auth,trigger`` limits the rows to those functions (and ``auth 200``).

The rows ``libraries of auth`` and ``libraries of trigger`` are the floor that the libraries alone set:
a fresh process imports, in the same order, every module that ``import app`` of that function leaves in
``sys.modules`` except our own (the layer and ``app``): boto3, Powertools, pydantic, PyJWT and the
standard library modules they load, with the same two imports hidden as the layer hides
(``urllib3.contrib.pyopenssl``; ``cryptography`` when the function runs without it), and then builds one
one-field pydantic model (the first model pays for pydantic's schema machinery, and every function
builds models). No code of ours runs. The goal's ratio cannot go below this row's without dropping a
library.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from local_stack.template import load_template

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = sorted(p.parent.name for p in ROOT.glob("functions/*/app.py"))

# Functions reached over the HTTP API, with a route whose unauthenticated call does no I/O.
HTTP_PROBES: dict[str, tuple[str, str]] = {
    "auth": ("POST", "/pusher/auth"),
    "trigger": ("POST", "/realtime/trigger"),
    "channels": ("GET", "/realtime/channels"),
    "maintenance_api": ("GET", "/realtime/maintenance"),
}

_TIMED_IMPORT = """
import sys, time
{prelude}
c0, t0 = time.process_time(), time.perf_counter()
import {module}
c1, t1 = time.process_time(), time.perf_counter()
{after}
c2, t2 = time.process_time(), time.perf_counter()
print(" ".join(f"{{ms * 1000:.3f}}" for ms in (t1 - t0, t2 - t0, c1 - c0, c2 - c0)))
"""

_FIRST_REQUEST = """
import json
class Context:  # the LambdaContext attributes Powertools reads
    function_name = "bench"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:bench"
    memory_limit_in_mb = 512
    aws_request_id = "cold-start"
    log_group_name = "/aws/lambda/bench"
    log_stream_name = "bench"
    def get_remaining_time_in_millis(self):
        return 10_000
result = app.lambda_handler(json.loads(sys.argv[1]), Context())
assert 400 <= result["statusCode"] < 500, result
"""

# The first successful auth: DynamoDB answered at before-send (an empty TransactWriteItems/UpdateItem
# answer), the handler run on an event with a bearer token (sys.argv[1]).
_FIRST_AUTH = """
import boto3
from botocore.awsrequest import AWSResponse
class Raw:
    def stream(self, **_):
        yield b"{}"
def answer(request, **_):
    return AWSResponse(request.url, 200, {"content-type": "application/x-amz-json-1.0"}, Raw())
boto3.setup_default_session()
boto3.DEFAULT_SESSION.events.register("before-send.dynamodb", answer)
""" + _FIRST_REQUEST.replace("400 <= result", "200 == result")

_BLOCK_PYOPENSSL = 'sys.modules["urllib3.contrib.pyopenssl"] = None'

# What ``import app`` loads, in order: printed by a process that imports the function (sys.argv[1..]).
_LOADED = """
import json, sys
before = set(sys.modules)
import app
print(json.dumps([name for name in sys.modules if name not in before]))
"""
# The libraries alone: the modules listed in sys.argv[1] (JSON), imported in that order, then one model.
_LIBRARIES = """
import importlib, json, sys, time
names = json.loads(sys.argv[1])
for name in {hidden!r}:
    sys.modules[name] = None
c0, t0 = time.process_time(), time.perf_counter()
for name in names:
    try:
        importlib.import_module(name)
    except ImportError:  # an alias some package put in sys.modules (e.g. ``six.moves``), not importable
        pass
import pydantic
class First(pydantic.BaseModel):
    value: int
First(value=1)
c1, t1 = time.process_time(), time.perf_counter()
print(" ".join(f"{{ms * 1000:.3f}}" for ms in (t1 - t0, t1 - t0, c1 - c0, c1 - c0)))
"""
_OURS = ("app", "toolboxai_realtime")
# Secrets from the environment (as locally): no Secrets Manager call in the "auth 200" row.
_SECRETS = {"JWT_SECRET": "bench-cold-start-" + "k" * 32, "PUSHER_SECRET": "bench-secret"}


def _event(method: str, path: str) -> dict[str, object]:
    return {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"host": "127.0.0.1", "content-type": "application/json"},
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": "127.0.0.1",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"},
            "requestId": "cold-start",
            "routeKey": f"{method} {path}",
            "stage": "$default",
            "timeEpoch": 0,
        },
        "body": "{}" if method == "POST" else None,
        "isBase64Encoded": False,
    }


def _auth_event() -> dict[str, object]:
    from local_stack.token import mint_dev_token

    event = _event("POST", "/pusher/auth")
    token = mint_dev_token("42", secret=_SECRETS["JWT_SECRET"])
    event["headers"] = {
        "host": "127.0.0.1",
        "content-type": "application/x-www-form-urlencoded",
        "authorization": f"Bearer {token}",
    }
    event["body"] = "socket_id=1234.5678&channel_name=private-user-42"
    return event


def lambda_env(fn: str | None, tree: Path = ROOT) -> dict[str, str]:
    """The deployed function's environment (template defaults), tracing off, no AWS credentials needed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "AWS_"))}
    env.update(load_template().environment({}))
    env.update(
        POWERTOOLS_TRACE_DISABLED="true",
        POWERTOOLS_METRICS_DISABLED="true",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="bench",  # botocore signs the stubbed DynamoDB call of the "auth 200" row
        AWS_SECRET_ACCESS_KEY="bench",
        PYTHONDONTWRITEBYTECODE="1",
        LAMBDA_TASK_ROOT=str(tree / "functions" / (fn or "")),  # what Lambda sets
    )
    paths = [str(tree / "layers/shared"), str(tree / "functions" / fn)] if fn else []
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def libraries_job(fn: str) -> tuple[str, dict[str, str], tuple[str, ...]]:
    """The ``libraries of <fn>`` row: code, environment and argument (the module list, JSON)."""
    env = lambda_env(fn)
    proc = subprocess.run(
        [sys.executable, "-c", _LOADED], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    loaded: list[str] = json.loads(proc.stdout.splitlines()[-1])
    theirs = [name for name in loaded if name.split(".")[0] not in _OURS]
    hidden = ["urllib3.contrib.pyopenssl"] + ([] if "cryptography" in loaded else ["cryptography"])
    return _LIBRARIES.format(hidden=hidden), {**env, "PYTHONPATH": ""}, (json.dumps(theirs),)


def run_once(code: str, env: dict[str, str], *args: str) -> tuple[float, float, float, float]:
    """One fresh process: (import, import + after) in wall-clock ms, then the same in CPU ms."""
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    import_ms, total_ms, import_cpu, total_cpu = (float(x) for x in proc.stdout.split()[-4:])
    return import_ms, total_ms, import_cpu, total_cpu


Job = tuple[str, dict[str, str], tuple[str, ...]]


def _jobs(trees: list[tuple[str, Path]], only: list[str] | None) -> dict[str, Job]:
    """Every row: its name, then the code, environment and arguments of one fresh process."""
    base_env = lambda_env(None)
    jobs: dict[str, Job] = {
        "boto3": (_TIMED_IMPORT.format(prelude="", module="boto3", after=""), base_env, ()),
        "boto3 (no pyOpenSSL)": (
            _TIMED_IMPORT.format(prelude=_BLOCK_PYOPENSSL, module="boto3", after=""),
            base_env,
            (),
        ),
    }
    for fn in [f for f in FUNCTIONS if not only or f in only]:
        probe = HTTP_PROBES.get(fn)
        after = _FIRST_REQUEST if probe else ""
        args: tuple[str, ...] = (json.dumps(_event(*probe)),) if probe else ()
        for suffix, tree in trees:
            code = _TIMED_IMPORT.format(prelude="", module="app", after=after)
            jobs[fn + suffix] = (code, lambda_env(fn, tree), args)
    for fn in ("auth", "trigger"):
        if not only or fn in only:
            jobs[f"libraries of {fn}"] = libraries_job(fn)
    for suffix, tree in trees:
        code = _TIMED_IMPORT.format(prelude="", module="app", after=_FIRST_AUTH)
        env = {**lambda_env("auth", tree), **_SECRETS, "PUSHER_APP_ID": "1", "PUSHER_KEY": "bench-key"}
        jobs["auth 200" + suffix] = (code, env, (json.dumps(_auth_event()),))
    return jobs


def main() -> None:
    repeats = int(os.environ.get("COLD_START_REPEATS", "9"))
    compare = os.environ.get("COLD_START_COMPARE")
    others = [Path(path).resolve() for path in compare.split(os.pathsep)] if compare else []
    trees = [("", ROOT)] + [(" @" + (tree.name if len(others) > 1 else "compare"), tree) for tree in others]
    only = os.environ.get("COLD_START_FUNCTIONS")  # e.g. "auth,trigger": fewer rows, more repeats
    jobs = _jobs(trees, only.split(",") if only else None)
    samples: dict[str, list[tuple[float, float, float, float]]] = {name: [] for name in jobs}
    for _ in range(repeats):  # interleaved: machine noise lands on every row alike
        for name, (code, env, argv) in jobs.items():
            samples[name].append(run_once(code, env, *argv))

    def median(name: str, column: int) -> float:
        return statistics.median(sample[column] for sample in samples[name])

    boto3, floor = median("boto3", 0), median("boto3 (no pyOpenSSL)", 0)
    boto3_cpu = median("boto3", 2)
    print(f"cold import, median of {repeats} fresh processes each (tracing off, template environment)")
    print(
        f"{'':26}{'import ms':>10}{'÷ boto3':>9}{'÷ floor':>9}{'CPU ÷ boto3':>13}"
        f"{'first request ms':>18}{'÷ boto3':>9}{'CPU ÷ boto3':>13}"
    )
    for name in jobs:
        imp = median(name, 0)
        cpu = median(name, 2) / boto3_cpu
        line = f"{name:26}{imp:10.1f}{imp / boto3:8.2f}x{imp / floor:8.2f}x{cpu:12.2f}x"
        if name.split(" ")[0] in HTTP_PROBES:
            first = median(name, 1)
            line += f"{first:18.1f}{first / boto3:8.2f}x{median(name, 3) / boto3_cpu:12.2f}x"
        print(line, flush=True)
    print("÷ floor: against import boto3 with urllib3.contrib.pyopenssl blocked (no pyOpenSSL)")
    print("CPU: process_time of the same span, against import boto3's: less sensitive to a loaded machine")
    print("libraries of <fn>: what import app loads but our code, imported alone, then one pydantic model")
    for suffix, tree in trees[1:]:
        print(f"{suffix.strip()}: {tree}")


if __name__ == "__main__":
    main()
