"""`make canary` against the real local stack: soketi, the real publisher, the real channel signature."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.e2e.conftest import ROOT

pytestmark = pytest.mark.e2e


def _canary(stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "local_stack.canary", *args],
        cwd=ROOT,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_canary_delivers_through_soketi_and_reports_its_figures(stack):
    result = _canary(stack, "--runs", "3", "--json")

    assert result.returncode == 0, result.stdout + result.stderr
    reports = json.loads(result.stdout.splitlines()[-1])
    assert len(reports) == 3
    for report in reports:
        assert report["ok"], report
        assert report["channel"] == f"private-canary-{report['run_id']}"
        assert 0 < report["connect_ms"] < 5000
        assert 0 < report["subscribe_ms"] < 5000
        assert 0 <= report["latency_ms"] < 5000


def test_make_canary_prints_one_line_per_run_and_a_summary(stack):
    result = _canary(stack, "--runs", "2")

    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert [line.split(":")[0] for line in lines[:2]] == ["run  1", "run  2"]
    assert "2/2 runs delivered" in lines
    assert any(line.lstrip().startswith("publish → receipt: median") for line in lines)
    assert '"_aws"' not in result.stdout  # EMF lines only with --emf
