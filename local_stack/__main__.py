"""``make dev``: the whole stack in the foreground until Ctrl-C / SIGTERM.

Order: check prerequisites and ports, start moto's DynamoDB server and create the template's tables,
start soketi with its webhooks pointed at /pusher/webhook, import every function, serve the routes of
template.yaml, and print the ready line once ``GET /health`` answers 200. A child that exits while the
stack runs (soketi or moto killed, crashed) is noticed within half a second: the stack says which one,
stops everything and exits with code 3 (a half-working stack would only confuse).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterable, Mapping
from types import FrameType

import boto3
import uvicorn

from .config import ROOT, apply_defaults, remove_state, write_state
from .dynamo import create_tables
from .gateway import LocalGateway
from .processes import (
    SOKETI,
    StackError,
    check_ports,
    check_prerequisites,
    moto_command,
    soketi_env,
    spawn,
    stop,
    wait_until,
)
from .scheduler import Scheduler
from .template import load_template

LOGS = ROOT / ".local" / "logs"


def _say(message: str) -> None:
    print(f"[make dev] {message}", flush=True)


def _announce_ready(base: str, started: float, server: uvicorn.Server) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not server.should_exit:
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=5) as resp:  # noqa: S310
                if resp.status == 200:
                    _say(f"ready: {base} answers GET /health 200 ({time.monotonic() - started:.1f} s)")
                    return
        except OSError:
            pass
        time.sleep(0.2)
    _say("GET /health did not answer 200 within 60 s; see the log above")


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


CHILD_DIED = 3


def _watch(children: dict[str, subprocess.Popen[bytes]], server: uvicorn.Server, died: list[str]) -> None:
    """Poll the children; the first that exits stops the server (``main`` then exits ``CHILD_DIED``)."""
    while not server.should_exit:
        for name, proc in children.items():
            code = proc.poll()  # also reaps it: no zombie
            if code is not None:
                print(
                    f"[make dev] error: {name} (pid {proc.pid}) exited with code {code}; its log is "
                    f"{LOGS / (name.split()[0] + '.log')}. Stopping the stack.",
                    file=sys.stderr,
                    flush=True,
                )
                died.append(name)
                server.should_exit = True
                return
        time.sleep(0.5)


def _banner(env: Mapping[str, str], base: str, routes: int, dynamo_port: int, tables: Iterable[str]) -> None:
    """Where everything of the stack listens."""
    _say(f"HTTP API        {base}  ({routes} routes from template.yaml)")
    _say(f"Pusher (soketi) ws://{env['PUSHER_HOST']}:{env['PUSHER_PORT']}  app {env['PUSHER_APP_ID']}")
    _say(f"DynamoDB (moto) http://127.0.0.1:{dynamo_port}  tables: {', '.join(tables)}")
    _say(f"debug console   {base}/console  (API docs: {base}/docs)")
    _say(f"logs of moto and soketi: {LOGS.relative_to(ROOT)}/")
    if env["POWERTOOLS_METRICS_DISABLED"].lower() == "true":
        _say("metrics         off (POWERTOOLS_METRICS_DISABLED=false make dev prints the EMF lines)")


def main() -> int:
    started = time.monotonic()
    # SIGTERM stops the stack like Ctrl-C does: the finally below stops every child. (uvicorn re-raises
    # the signal it caught after its graceful shutdown; this handler turns that into KeyboardInterrupt.)
    signal.signal(signal.SIGTERM, _interrupt)
    env = apply_defaults()  # metrics off unless POWERTOOLS_METRICS_DISABLED=false (config.apply_defaults)
    host, port = env["REALTIME_HOST"], int(env["REALTIME_PORT"])
    dynamo_port = int(env["DYNAMODB_PORT"])
    base = f"http://{host}:{port}"
    procs: list[subprocess.Popen[bytes]] = []
    try:
        node = check_prerequisites()
        check_ports(
            {
                "HTTP API": (host, port),
                "soketi": (env["PUSHER_HOST"], int(env["PUSHER_PORT"])),
                "soketi metrics": ("127.0.0.1", int(env["SOKETI_METRICS_PORT"])),
                "DynamoDB (moto)": ("127.0.0.1", dynamo_port),
            }
        )
        moto = spawn(moto_command("127.0.0.1", dynamo_port), os.environ, LOGS / "moto.log")
        procs.append(moto)
        wait_until(f"http://127.0.0.1:{dynamo_port}/", moto, "moto (DynamoDB)")
        template = load_template()
        tables = create_tables(boto3.client("dynamodb"), template)
        os.environ.update(template.environment(os.environ))

        soketi = spawn(
            [node, str(SOKETI), "start"],
            soketi_env(os.environ, f"{base}/pusher/webhook"),
            LOGS / "soketi.log",
        )
        procs.append(soketi)
        pusher_url = f"http://{env['PUSHER_HOST']}:{env['PUSHER_PORT']}"
        wait_until(pusher_url, soketi, "soketi")

        gateway = LocalGateway(template)
        gateway.load_all()
        server = uvicorn.Server(
            uvicorn.Config(gateway.asgi(), host=host, port=port, log_level="warning", lifespan="off")
        )
        _banner(env, base, len(gateway.routes), dynamo_port, tables)
        scheduler = Scheduler(template.schedules(), gateway.invoke)
        for name, period in scheduler.schedules:
            _say(f"schedule        {name} every {period} s (from template.yaml)")
        if env.get("LOCAL_SCHEDULES", "on") != "off":
            scheduler.start()
        write_state(env)  # make reconcile / make canary / local_stack.invoke follow these ports
        threading.Thread(target=_announce_ready, args=(base, started, server), daemon=True).start()
        died: list[str] = []
        children = {"moto": moto, "soketi": soketi}
        threading.Thread(target=_watch, args=(children, server, died), daemon=True).start()
        server.run()
        scheduler.stop()
        return CHILD_DIED if died else 0
    except StackError as exc:
        print(f"[make dev] error: {exc}", file=sys.stderr, flush=True)
        return 2
    except KeyboardInterrupt:
        return 0
    finally:
        remove_state(env)
        stop(procs)
        if procs:
            _say("stopped")


if __name__ == "__main__":
    sys.exit(main())
