"""openapi.json describes the API as it answers (issue 11, item 6): schemathesis, every check, against a
local stack of its own (schedules off: the maintenance windows it creates must not send alerts into
the other tests' channels).

Bounded: a few examples per operation (``-n``), deterministic generation. ``schemathesis.toml`` states
the one thing the document cannot: the domain rules (catalog, channel policy, calendar) that refuse some
schema-valid requests with a documented 4xx. The failures this replaced: 200/422/500-only responses on
/pusher/*, /realtime/channels*; no request bodies on the auth routes and maintenance POST; Powertools'
422 shape; a blanket 500; 422 before 401 on the trigger routes; 405 without Allow.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from local_stack.token import mint_dev_token
from tests.e2e.conftest import ROOT, Stack, start_stack, stop_stack

pytestmark = pytest.mark.e2e

EXAMPLES_PER_OPERATION = 5


@pytest.fixture(scope="module")
def own_stack() -> Iterator[Stack]:
    stack = start_stack({"LOCAL_SCHEDULES": "off", "AUTH_RATE_LIMIT_PER_MINUTE": "100000"})
    yield stack
    stop_stack(stack)


def test_schemathesis_finds_no_failure_with_every_check(own_stack: Stack):
    token = mint_dev_token("schemathesis", role="admin", secret=own_stack.env["JWT_SECRET"])  # type: ignore[arg-type]
    st = Path(sys.executable).with_name("st")
    result = subprocess.run(
        [
            str(st),
            "run",
            str(ROOT / "openapi.json"),
            "--url",
            own_stack.base,
            "--header",
            f"Authorization: Bearer {token}",
            "--checks",
            "all",
            "--max-examples",
            str(EXAMPLES_PER_OPERATION),
            "--generation-deterministic",
            "--no-color",
        ],
        cwd=ROOT,  # schemathesis.toml
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    summary = result.stdout[-6000:]
    print(summary)
    assert result.returncode == 0, summary
    assert " failure" not in summary.splitlines()[-1], summary
