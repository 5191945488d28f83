"""``make canary``: run the delivery canary against the running ``make dev`` stack and print its figures.

    python -m local_stack.canary              # 5 runs, one line each and a summary
    python -m local_stack.canary --runs 20 --json

Each run invokes ``CanaryFunction`` of template.yaml in-process, as the local scheduler does every five
minutes: it connects to soketi over the Pusher WebSocket protocol, subscribes to a fresh
``private-canary-…`` channel, publishes one event through the publisher and times its arrival. The
configuration is the one ``make dev`` uses (the ports the running ``make dev`` recorded, else the local
defaults; variables you set win).
Exit status: 0 when every run delivered, 1 when one failed, 2 when the stack is not up.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import sys
from collections.abc import Sequence
from typing import Any

from .config import apply_defaults
from .gateway import LocalContext, load_handler, request_id
from .processes import port_in_use
from .scheduler import scheduled_event
from .template import load_template

FUNCTION = "CanaryFunction"
_STEPS = (("connect_ms", "connect"), ("subscribe_ms", "subscribe"), ("latency_ms", "publish → receipt"))


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="make canary", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="how many runs (default 5)")
    parser.add_argument("--json", action="store_true", help="print the reports as one JSON list")
    parser.add_argument("--emf", action="store_true", help="also print the EMF metric lines")
    parser.add_argument("--verbose", action="store_true", help="also print the function's log lines")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def figure_line(index: int, report: dict[str, Any]) -> str:
    """One run as a line of text: its timings, or where it failed."""
    parts = [f"{label} {report[key]:.1f} ms" for key, label in _STEPS if report.get(key) is not None]
    status = "ok    " if report["ok"] else f"FAILED at {report['failed_at']} ({report['failure']})"
    return f"run {index:>2}: {status} " + " · ".join(parts)


def summary_lines(reports: Sequence[dict[str, Any]]) -> list[str]:
    """Median, minimum and maximum of each step over the runs that measured it."""
    lines = [f"{sum(r['ok'] for r in reports)}/{len(reports)} runs delivered"]
    for key, label in _STEPS:
        values = [r[key] for r in reports if r.get(key) is not None]
        if values:
            lines.append(
                f"{label:>17}: median {statistics.median(values):.1f} ms · "
                f"min {min(values):.1f} · max {max(values):.1f} (n={len(values)})"
            )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = parse_args(argv)
    env = apply_defaults(follow_running_stack=True)
    host, port = env["PUSHER_HOST"], int(env["PUSHER_PORT"])
    if not port_in_use(host, port):
        print(
            f"[canary] nothing listens on {host}:{port} (soketi): start `make dev` first, "
            "with the same PUSHER_PORT.",
            file=sys.stderr,
        )
        return 2
    # Before the layer is imported: its logger reads this once (REALTIME_DEBUG=true still wins).
    if not args.verbose:
        os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
    template = load_template()
    os.environ.update(template.environment(os.environ))
    for layer in template.layer_dirs():
        if str(layer) not in sys.path:
            sys.path.insert(0, str(layer))

    handler = load_handler(template.functions()[FUNCTION])
    reports: list[dict[str, Any]] = []
    for index in range(1, args.runs + 1):
        context = LocalContext(function_name=FUNCTION, aws_request_id=request_id(), timeout_seconds=60)
        # Powertools prints its EMF lines (metrics) on stdout; keep them out of the figures unless asked.
        with contextlib.nullcontext() if args.emf else contextlib.redirect_stdout(io.StringIO()):
            report: dict[str, Any] = handler(scheduled_event(f"{FUNCTION}Schedule"), context)
        reports.append(report)
        if not args.json:
            print(figure_line(index, report), flush=True)
    if args.json:
        print(json.dumps(reports), flush=True)
    else:
        print("\n".join(summary_lines(reports)), flush=True)
    return 0 if all(report["ok"] for report in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
