"""``make dev`` notices a child that dies (issue 11, item 7).

Quoted case: a killed soketi stayed a zombie and ``make dev`` printed nothing (only ``/health`` showed
it). Now the stack says which child exited and stops with exit code 3. Each case runs its own stack.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import child_pid, start_stack, stop_stack

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(("name", "marker"), [("soketi", "soketi"), ("moto", "local_stack.moto_dynamodb")])
def test_a_child_that_dies_is_reported_and_stops_the_stack(name, marker):
    stack = start_stack()
    try:
        pid = child_pid(stack, marker)
        others = [child_pid(stack, m) for m in ("soketi", "local_stack.moto_dynamodb") if m != marker]
        os.kill(pid, signal.SIGKILL)
        code = stack.proc.wait(timeout=20)
    finally:
        if stack.proc.poll() is None:
            stop_stack(stack)
    time.sleep(0.2)  # the output pump thread reads the last lines
    output = "".join(stack.output)
    assert code == 3, output[-2000:]
    assert f"error: {name} (pid {pid}) exited with code -9" in output
    assert "Stopping the stack." in output
    # Everything it started is gone (no zombie, no orphan).
    assert not [p for p in (pid, *others) if Path(f"/proc/{p}").exists()]
