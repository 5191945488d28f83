"""The SAM CLI and cfn-lint live in .venv-tools, checkov in .venv-checkov (make tools); `make test` puts
them on PATH."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def tool(name: str) -> str:
    own = [str(ROOT / venv / "bin" / name) for venv in (".venv-tools", ".venv-checkov")]
    for candidate in (shutil.which(name), *own):
        if candidate and Path(candidate).exists():
            return candidate
    pytest.fail(f"{name} is not installed: run `make tools` (make test does it for you)")


def tool_env() -> dict[str, str]:
    env = dict(os.environ)
    # sam build for python3.12 needs python3.12 on PATH: the interpreter this venv was made from has it.
    base = Path(sys._base_executable).resolve().parent
    env["PATH"] = f"{base}{os.pathsep}{env.get('PATH', '')}"
    env["SAM_CLI_TELEMETRY"] = "0"
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    return env


@pytest.fixture(scope="session")
def sam_build(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    """One `sam build` for the whole run (it installs the layer's dependencies: slow)."""
    build_dir = tmp_path_factory.mktemp("sam-build")
    return subprocess.run(
        [tool("sam"), "build", "--build-dir", str(build_dir), "--template", str(ROOT / "template.yaml")],
        cwd=ROOT,
        env=tool_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
