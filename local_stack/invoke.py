"""Invoke one function of template.yaml in-process with a sample event, against the running ``make dev``.

    python -m local_stack.invoke ReconcileFunction events/reconcile_scheduled.json    # make reconcile

The configuration is the one ``make dev`` uses: the ports the running ``make dev`` recorded
(``.local/stack.json``), else the local defaults, and variables you set win over both. The function
reaches the stack's DynamoDB on ``DYNAMODB_PORT`` and soketi on ``PUSHER_HOST:PUSHER_PORT``.
The handler's result is printed as JSON on the last line; its logs come before it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .config import ROOT, apply_defaults
from .gateway import LocalContext, load_handler, request_id
from .processes import port_in_use
from .template import load_template


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (2 for usage errors or a stack that is not up)."""
    parser = argparse.ArgumentParser(prog="python -m local_stack.invoke", description=__doc__.split("\n")[0])
    parser.add_argument("function", help="logical id in template.yaml, e.g. ReconcileFunction")
    parser.add_argument("event", type=Path, help="a JSON event file, e.g. events/reconcile_scheduled.json")
    args = parser.parse_args(argv)

    template = load_template()
    functions = template.functions()
    if args.function not in functions:
        parser.error(
            f"no function {args.function!r} in template.yaml; one of: {', '.join(sorted(functions))}"
        )
    event_path = args.event if args.event.is_absolute() else ROOT / args.event
    if not event_path.is_file():
        parser.error(f"no event file {args.event}")

    env = apply_defaults(follow_running_stack=True)
    dynamo_port = int(env["DYNAMODB_PORT"])
    if not port_in_use("127.0.0.1", dynamo_port):
        print(
            f"[invoke] nothing listens on 127.0.0.1:{dynamo_port} (DynamoDB): start `make dev` first, "
            "with the same DYNAMODB_PORT / PUSHER_PORT.",
            file=sys.stderr,
        )
        return 2
    os.environ.update(template.environment(os.environ))
    # Lambda puts the layer on the path (/opt/python); so does the local gateway.
    for layer in template.layer_dirs():
        if str(layer) not in sys.path:
            sys.path.insert(0, str(layer))

    handler = load_handler(functions[args.function])
    event = json.loads(event_path.read_text(encoding="utf-8"))
    context = LocalContext(function_name=args.function, aws_request_id=request_id(), timeout_seconds=120)
    result = handler(event, context)
    print(json.dumps(result, default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
