"""The SAM CLI and cfn-lint live in .venv-tools, checkov in .venv-checkov (make tools); `make test` puts
them on PATH."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

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


def _without_python312(path: str) -> str:
    """PATH minus every directory whose python3.12 works: `make build` must find one by itself."""
    kept = []
    for directory in path.split(os.pathsep):
        candidate = Path(directory) / "python3.12"
        if candidate.exists():
            probe = subprocess.run(
                [str(candidate), "-c", "import sys; assert sys.version_info[:2] == (3, 12)"],
                capture_output=True,
                check=False,
                timeout=30,
            )
            if probe.returncode == 0:
                continue
        kept.append(directory)
    return os.pathsep.join(kept)


@pytest.fixture(scope="session")
def sam_build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where `sam_build` puts the artifacts (``SAM_BUILD_DIR``)."""
    return tmp_path_factory.mktemp("sam-build")


@pytest.fixture(scope="session")
def sam_build(sam_build_dir: Path) -> subprocess.CompletedProcess[str]:
    """One `make build` (sam build) for the whole run, with no working python3.12 on PATH: the Makefile
    must find one as `make dev` does (issue 16). Slow: it installs the layer's dependencies."""
    build_dir = sam_build_dir
    env = dict(os.environ)
    env["PATH"] = _without_python312(env.get("PATH", ""))
    env["SAM_CLI_TELEMETRY"] = "0"
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    tool("sam")  # the install hint when the tools environment is missing
    return subprocess.run(
        # -o: the tools environments are there (tool() checked); make must not reinstall them here.
        [
            "make",
            "-o",
            ".venv-tools/.installed",
            "-o",
            ".venv-checkov/.installed",
            "build",
            f"SAM_BUILD_DIR={build_dir}",
            f"SAM_BUILD_ARGS=--template {ROOT / 'template.yaml'}",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


_TRANSFORM = textwrap.dedent(
    """
    import json, sys
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse
    class NoManagedPolicies:
        def load(self):
            return {}
    doc = yaml_parse(open("template.yaml").read())
    for res in doc["Resources"].values():
        props = res.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if key in props:
                props[key] = "s3://bucket/key"
    json.dump(transform(doc, {}, NoManagedPolicies())["Resources"], sys.stdout)
    """
)


@pytest.fixture(scope="session")
def sam_transformed() -> dict[str, Any]:
    """The resources of template.yaml after the SAM transform (samtranslator from the tools
    environment, no AWS call): what SAM generates itself (aliases, roles, permissions) can be checked."""
    python = ROOT / ".venv-tools" / "bin" / "python"
    if not python.exists():
        pytest.fail("the tools environment is missing: run `make tools` (make test does it for you)")
    result = subprocess.run(
        [str(python), "-c", _TRANSFORM],
        cwd=ROOT,
        env=tool_env(),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    resources: dict[str, Any] = json.loads(result.stdout)
    return resources
