"""The shared layer's requirements and pyproject's runtime dependencies are the same pinned set."""

from __future__ import annotations

import re
import tomllib

from tests.conftest import ROOT

# Provided by the Lambda runtime: pinned in pyproject for tests, not installed into the layer.
RUNTIME_PROVIDED = {"boto3"}


def _name(requirement: str) -> str:
    return re.split(r"[\[=<>~!; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _pyproject() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {_name(r): r for r in project["dependencies"]}


def _layer() -> dict[str, str]:
    lines = (ROOT / "layers" / "shared" / "requirements.txt").read_text().splitlines()
    requirements = [line.split("#", 1)[0].strip() for line in lines]
    return {_name(r): r for r in requirements if r}


def test_layer_requirements_are_pyprojects_runtime_dependencies():
    runtime = {name: req for name, req in _pyproject().items() if name not in RUNTIME_PROVIDED}
    assert _layer() == runtime


def test_every_runtime_dependency_is_pinned_exactly():
    for requirement in [*_pyproject().values(), *_layer().values()]:
        assert re.fullmatch(r"[A-Za-z0-9_.\-]+(\[[a-z,]+\])?==[0-9][0-9A-Za-z.]*", requirement), requirement


def test_websockets_is_a_runtime_dependency_for_the_canary():
    assert _layer()["websockets"] == "websockets==17.4"
    dev = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["dev"]
    assert "websockets" not in {_name(r) for r in dev}
