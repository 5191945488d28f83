"""The README matches what a newcomer sees (issue 16): its `make dev` banner is what the stack prints, and
its `bash` examples, run in README order in one shell against a fresh stack, print what their `# …`
lines say.

Every ```bash block runs unless the line before it is ``<!-- readme-test: skip (reason) -->``. A block
is cut into segments at its comment lines: the commands, then the ``# …`` lines that describe their
output. An expected line is checked when it is output: a JSON object (possibly elided with ``…``), a
status line ``HTTP/1.1 401 …``, a hyphenated header such as ``www-authenticate: …``, or a row of status
codes; prose comments are not. In JSON, every ``"key": value`` written is looked for in the output's
JSON objects (at any depth): strings as patterns (``…`` is anything, a run of hex digits or digits is
any such run: ids, times; so is a ULID event id), integers exactly (except the ones that depend on the
clock), floats (timings) not at all.

The shell has none of the stack's port variables: `make reconcile` and `local_stack.invoke` must find
the stack through the record the running stack wrote, as in a developer's second terminal. Only the
HTTP API's address in the commands is rewritten to the test stack's.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from local_stack.config import LOCAL_DEFAULTS, STATE_FILE_VAR
from tests.e2e.conftest import ROOT, Stack, start_stack, stop_stack

README = (ROOT / "README.md").read_text(encoding="utf-8")
SKIP = re.compile(r"<!-- readme-test: skip \((?P<reason>[^)]+)\) -->")
# Integers that depend on the clock (seconds to the next minute).
CLOCK_DEPENDENT = {"retry_after"}


@dataclass
class Segment:
    block: int
    code: list[str] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)


def bash_blocks(text: str) -> Iterator[tuple[int, list[str], str | None]]:
    """(line number, lines without the block's indentation, skip reason) of every ```bash block."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        opening = re.fullmatch(r"(\s*)```bash", lines[i])
        if not opening:
            i += 1
            continue
        indent = len(opening.group(1))
        before = lines[i - 1].strip() if i else ""
        skip = SKIP.fullmatch(before)
        body: list[str] = []
        j = i + 1
        while lines[j].strip() != "```":
            body.append(lines[j][indent:])
            j += 1
        yield i + 1, body, skip.group("reason") if skip else None
        i = j + 1


def segments() -> list[Segment]:
    out: list[Segment] = []
    for number, body, skip in bash_blocks(README):
        if skip:
            continue
        current = Segment(number)
        for line in body:
            stripped = line.strip()
            if not stripped:
                continue
            if stripped.startswith("#"):
                comment = stripped[1:]
                if comment.startswith("  ") and current.expected:  # "#  …" continues the line above
                    current.expected[-1] += " " + comment.strip()
                elif current.code:
                    current.expected.append(comment.strip())
                continue
            if current.expected:  # a command after expected output starts the next segment
                out.append(current)
                current = Segment(number)
            current.code.append(line)
        if current.code:
            out.append(current)
    return out


# ------------------------------------------------------------------------------------ the comparison

# Channel and user authorization signatures: "<app key>:<hex HMAC>" (PROTOCOL.md, Signatures).
SIGNATURE_PREFIX = LOCAL_DEFAULTS["PUSHER_KEY"] + ":"
# An event id as the README writes one (a ULID, or its first characters before "…"): Crockford base32.
_ULID = r"0[0-9A-HJKMNP-TV-Z]{9,25}"
_PAIR = re.compile(r'("(?:[^"\\]|\\.)*")\s*:\s*("(?:[^"\\]|\\.)*"|true|false|null|-?\d+(?:\.\d+)?)')


def _pattern(expected: str) -> re.Pattern[str]:
    if expected.startswith(SIGNATURE_PREFIX):
        # A signature is determined by the example's inputs and the local secret: its hex must match
        # (as far as the README writes it), or the README shows a signature of some other string.
        return re.compile(re.escape(expected).replace("…", ".*"), re.DOTALL)
    pieces = []
    for token in re.split(rf"(…|{_ULID}|[0-9a-f]*\d[0-9a-f]*)", expected):
        if token == "…":
            pieces.append(".*")
        elif re.fullmatch(_ULID, token):  # an event id (or its start): any other one
            pieces.append("[0-9A-HJKMNP-TV-Z]+")
        elif token and re.fullmatch(r"[0-9a-f]*\d[0-9a-f]*", token):
            pieces.append("[0-9a-f]+")
        else:
            pieces.append(re.escape(token))
    return re.compile("".join(pieces), re.DOTALL)


def _items(value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key, item
            yield from _items(item)
    elif isinstance(value, list):
        for item in value:
            yield from _items(item)


def _json_objects(output: str) -> list[Any]:
    found = []
    for line in output.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                found.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return found


def check(expected: str, output: str) -> str | None:
    """None when ``output`` shows what ``expected`` says; otherwise what is wrong."""
    lines = [line.rstrip("\r") for line in output.splitlines()]
    if re.fullmatch(r"\d{3}( \d{3})*", expected):
        return None if expected in (line.strip() for line in lines) else f"no line {expected!r}"
    if expected.startswith("HTTP/") or re.match(r"[a-z]+(-[a-z]+)+: ", expected):  # status, header
        wanted = expected.lower()
        return None if any(line.lower() == wanted for line in lines) else f"no line {expected!r}"
    if not expected.startswith(("{", "…")):
        return None  # prose
    pairs = [(json.loads(k), v) for k, v in _PAIR.findall(expected)]
    assert pairs, f"an expected JSON line with no key/value to check: {expected}"
    items = [item for obj in _json_objects(output) for item in _items(obj)]
    for key, literal in pairs:
        value = json.loads(literal)
        if isinstance(value, float) or key in CLOCK_DEPENDENT:
            continue
        if isinstance(value, str):
            pattern = _pattern(value)
            ok = any(k == key and isinstance(v, str) and pattern.fullmatch(v) for k, v in items)
        else:
            ok = any(k == key and v == value and type(v) is type(value) for k, v in items)
        if not ok:
            return f"no {key!r}: {literal} in the output"
    return None


# ------------------------------------------------------------------------------------------ the tests


@pytest.fixture(scope="module")
def readme_stack() -> Iterator[Stack]:
    # The README's limits are the local defaults (the session stack raises the auth limit), and
    # metrics are left to the stack's own default, as with `make dev`. The schedules are off: the
    # README runs each scheduled function itself (`make reconcile`, `local_stack.invoke`), and a
    # scheduled run landing between two of its steps (reconcile every 5 min, the maintenance scheduler
    # every minute, aligned to the clock) would do the work first and change what the step prints.
    s = start_stack(
        {
            "AUTH_RATE_LIMIT_PER_MINUTE": LOCAL_DEFAULTS["AUTH_RATE_LIMIT_PER_MINUTE"],
            "LOCAL_SCHEDULES": "off",
        },
        unset=("POWERTOOLS_METRICS_DISABLED",),
    )
    yield s
    stop_stack(s)


def _shell_env(stack: Stack) -> dict[str, str]:
    """A developer's second terminal: none of the stack's variables, only where its record is."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in LOCAL_DEFAULTS and not k.startswith(("AWS_", "POWERTOOLS_", "PUSHER_", "JWT_"))
    }
    env[STATE_FILE_VAR] = stack.env[STATE_FILE_VAR]
    return env


def _run_segments(stack: Stack, segs: list[Segment]) -> list[str]:
    """Run every segment in one bash, in order; the output of each."""
    script = ["cd " + json.dumps(str(ROOT))]
    for index, seg in enumerate(segs):
        # The auth limit counts per calendar minute: start no README block in a minute's last seconds.
        # Per block, not per segment: a wait between two segments of one block (the rate-limit loop,
        # then the request it refuses) would itself start a new minute.
        if index == 0 or segs[index - 1].block != seg.block:
            script.append('s=$(date +%-S); if [ "$s" -ge 50 ]; then sleep $((61 - s)); fi')
        script.append(f"printf '\\n@@segment {index}@@\\n'")
        code = "\n".join(seg.code).replace("127.0.0.1:8008", f"127.0.0.1:{stack.env['REALTIME_PORT']}")
        script.append(code)
    script.append("printf '\\n@@end@@\\n'")
    result = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        env=_shell_env(stack),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    parts = re.split(r"\n@@segment \d+@@\n", result.stdout + "\n" + result.stderr)
    assert "@@end@@" in result.stdout, result.stdout[-3000:] + result.stderr[-3000:]
    outputs = parts[1:]
    outputs[-1] = outputs[-1].split("\n@@end@@\n")[0]
    assert len(outputs) == len(segs)
    return outputs


def test_the_readme_examples_print_what_the_readme_says(readme_stack: Stack):
    segs = segments()
    assert sum(len(s.expected) for s in segs) >= 20, "the README's examples lost their expected output"
    outputs = _run_segments(readme_stack, segs)
    problems = []
    for seg, output in zip(segs, outputs, strict=True):
        for expected in seg.expected:
            wrong = check(expected, output)
            if wrong:
                problems.append(
                    f"README block at line {seg.block}:\n  {seg.code[0]}\n  expected: {expected}\n"
                    f"  {wrong}\n  output: {output.strip()[-1500:]}"
                )
    assert not problems, "\n\n".join(problems)
    # The terminal of the stack stayed readable: no metric JSON among its lines.
    assert not [line for line in readme_stack.output if line.startswith('{"_aws"')]


def test_the_make_dev_banner_is_what_the_stack_prints(readme_stack: Stack):
    block = README.split("<!-- make-dev-banner -->", 1)[1].split("```", 2)[1]
    documented = [line for line in block.splitlines() if line.strip()]
    env = readme_stack.env
    ports = {
        env["REALTIME_PORT"]: LOCAL_DEFAULTS["REALTIME_PORT"],
        env["PUSHER_PORT"]: LOCAL_DEFAULTS["PUSHER_PORT"],
        env["DYNAMODB_PORT"]: LOCAL_DEFAULTS["DYNAMODB_PORT"],
    }

    def normal(line: str) -> str:
        line = re.sub(r":(\d+)", lambda m: ":" + ports.get(m.group(1), m.group(1)), line.rstrip("\n"))
        return re.sub(r"\(\d+\.\d s\)", "(… s)", line)

    printed = []
    for line in readme_stack.output:
        printed.append(normal(line))
        if "ready:" in line:
            break
    assert printed == [normal(line) for line in documented]


def test_make_canary_follows_the_ports_of_the_running_stack(readme_stack: Stack):
    result = subprocess.run(
        ["make", "-s", "canary", "ARGS=--runs 1"],
        cwd=ROOT,
        env=_shell_env(readme_stack),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "1/1 runs delivered" in result.stdout


def test_every_skipped_block_says_why_and_the_rest_run():
    blocks = list(bash_blocks(README))
    assert [reason for _, _, reason in blocks if reason is not None]
    assert all(len(reason.split()) >= 2 for _, _, reason in blocks if reason)
    assert len([b for b in blocks if b[2] is None]) >= 8


@pytest.mark.parametrize(
    ("expected", "output", "ok"),
    [
        ('{"code": "not_own_user_channel", …}', '{"code": "not_own_user_channel", "x": 1}', True),
        ('{"code": "not_own_user_channel", …}', '{"code": "public_channel"}', False),
        ('{"id":"mw_c22b…","status":"upcoming"}', '{"id":"mw_2d6d62","status":"upcoming"}', True),
        ('{"applied":2}', '{"applied":0}', False),
        ("200 200 429", "200 200 429 ", True),
        ("200 200 429", "200 200 200", False),
        ("HTTP/1.1 401 Unauthorized", "HTTP/1.1 401 Unauthorized\r\n", True),
        ("runs the scheduler once now", "", True),
        ("presence: channel_data comes from the token", "", True),
        ("www-authenticate: Bearer x", "WWW-Authenticate: Bearer x", True),
    ],
)
def test_the_comparison_can_fail(expected, output, ok):
    assert (check(expected, output) is None) is ok
