"""``make deploy ENV=<env>``: ``sam deploy --config-env <env>`` with the per-deployment values added.

    PUSHER_APP_ID=1234567 PUSHER_KEY=abc123 ALARM_EMAIL=ops@example.org make deploy ENV=prod
    .venv/bin/python -m scripts.deploy --env prod --dry-run        # print the command, run nothing

samconfig.toml holds what is the same for every deployment of an environment (stage, log level,
retention, ...). What is not, and must not be committed (the Pusher app of the account, who gets the
alarms), comes from the environment variables of ``FROM_ENVIRONMENT``. ``sam deploy`` replaces the
config's ``parameter_overrides`` with a command-line ``--parameter-overrides`` instead of merging them
(SAM CLI's documented precedence), so this script passes the merged set: the config's values, then the
variables, then ``Name=value`` arguments. It refuses to run when a template parameter without a default
would still have no value, or when the alarms would reach nobody (no ``AlarmEmail``/``AlarmTopicArn``),
naming the variables to set: ``sam deploy`` itself would fail later, or deploy alarms nobody reads.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path

from local_stack.template import load_template

ROOT = Path(__file__).resolve().parent.parent
SAMCONFIG = ROOT / "samconfig.toml"

# Template parameter <- environment variable, for the values that differ per deployment.
FROM_ENVIRONMENT: dict[str, str] = {
    "PusherAppId": "PUSHER_APP_ID",
    "PusherKey": "PUSHER_KEY",
    "AlarmEmail": "ALARM_EMAIL",
    "AlarmTopicArn": "ALARM_TOPIC_ARN",
}
# The template's rule AlarmsReachSomeone: one of these must be non-empty.
ALARM_TARGETS = ("AlarmEmail", "AlarmTopicArn")


class DeployError(Exception):
    """A deployment that must not start; the message says what to set."""


def parse_overrides(text: str) -> dict[str, str]:
    """``Name="value" Other=value`` (samconfig's parameter_overrides syntax) -> {Name: value}."""
    out: dict[str, str] = {}
    for item in shlex.split(text):
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise DeployError(f"not Name=value in parameter_overrides: {item!r}")
        out[name] = value
    return out


def format_overrides(values: Mapping[str, str]) -> str:
    """{Name: value} -> ``Name="value" ...``: one argument, in the syntax SAM CLI parses."""

    def quoted(value: str) -> str:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'

    return " ".join(f"{name}={quoted(value)}" for name, value in values.items())


def config_environments(path: Path = SAMCONFIG) -> dict[str, dict[str, str]]:
    """Each environment of samconfig.toml that deploys -> its parameter_overrides."""
    config = tomllib.loads(path.read_text(encoding="utf-8"))
    out: dict[str, dict[str, str]] = {}
    for env, commands in config.items():
        if not isinstance(commands, dict) or "deploy" not in commands:
            continue
        overrides = commands["deploy"].get("parameters", {}).get("parameter_overrides", "")
        out[env] = parse_overrides(overrides if isinstance(overrides, str) else " ".join(overrides))
    return out


def required_parameters() -> set[str]:
    """Template parameters without a default: every deployment must give them a value."""
    params = load_template().doc.get("Parameters", {})
    return {name for name, spec in params.items() if "Default" not in spec}


def plan(env: str, environ: Mapping[str, str], extra: Sequence[str] = ()) -> dict[str, str]:
    """The complete parameter overrides for ``sam deploy --config-env env``.

    Raises DeployError for an unknown environment, an unknown parameter, a missing value or no alarm
    target.
    """
    environments = config_environments()
    if env not in environments:
        raise DeployError(f"no [{env}.deploy.parameters] in samconfig.toml; one of: {sorted(environments)}")
    values = dict(environments[env])
    for name, var in FROM_ENVIRONMENT.items():
        if environ.get(var):
            values[name] = environ[var]
    values.update(parse_overrides(" ".join(shlex.quote(e) for e in extra)))
    known = set(load_template().doc.get("Parameters", {}))
    if unknown := sorted(set(values) - known):
        raise DeployError(f"not parameters of template.yaml: {', '.join(unknown)}")
    missing = sorted(name for name in required_parameters() if not values.get(name))
    if not any(values.get(name) for name in ALARM_TARGETS):
        missing.append(" or ".join(ALARM_TARGETS))
    if missing:
        hints = [
            f"{name} ({FROM_ENVIRONMENT[name]}=...)" if name in FROM_ENVIRONMENT else name for name in missing
        ]
        raise DeployError(
            f"{env}: no value for {', '.join(hints)}. Example: PUSHER_APP_ID=1234567 PUSHER_KEY=... "
            f"ALARM_EMAIL=ops@example.org make deploy ENV={env}"
        )
    return values


def command(env: str, values: Mapping[str, str], sam: str = "sam") -> list[str]:
    """The ``sam deploy`` command line for ``env`` with ``values`` as its parameter overrides."""
    return [sam, "deploy", "--config-env", env, "--parameter-overrides", format_overrides(values)]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns sam's exit status, or 2 when the deployment must not start."""
    parser = argparse.ArgumentParser(prog="make deploy", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--env", default="default", help="samconfig.toml environment (default, prod, ...)")
    parser.add_argument("--sam", default="sam", help="the SAM CLI executable")
    parser.add_argument("--dry-run", action="store_true", help="print the command instead of running it")
    parser.add_argument("overrides", nargs="*", help="more Name=value parameter overrides")
    args = parser.parse_args(argv)
    try:
        values = plan(args.env, os.environ, args.overrides)
    except DeployError as exc:
        print(f"[deploy] {exc}", file=sys.stderr)
        return 2
    cmd = command(args.env, values, args.sam)
    print("[deploy] " + shlex.join(cmd), flush=True)
    if args.dry_run:
        return 0
    return subprocess.run(cmd, cwd=ROOT, check=False).returncode  # noqa: S603 (our own argv)


if __name__ == "__main__":
    sys.exit(main())
