"""The shared layer's requirements and pyproject's runtime dependencies are the same pinned set, and the
versions the tests run."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib

import pytest

from tests.conftest import ROOT


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
    assert _layer() == _pyproject()


def test_every_runtime_dependency_is_pinned_exactly():
    for requirement in [*_pyproject().values(), *_layer().values()]:
        assert re.fullmatch(r"[A-Za-z0-9_.\-]+(\[[a-z,]+\])?==[0-9][0-9A-Za-z.]*", requirement), requirement


def test_the_layer_bundles_boto3_and_botocore_together():
    # Both or neither: the runtime's boto3 against a bundled botocore is a pair nobody tested (issue 16).
    layer = _layer()
    assert {"boto3", "botocore"} <= set(layer)
    assert layer["boto3"].split("==")[1] == layer["botocore"].split("==")[1]


@pytest.mark.parametrize("name", sorted(_layer()))
def test_the_pins_are_the_versions_the_tests_run(name):
    pinned = _layer()[name].split("==")[1]
    assert importlib.metadata.version(name) == pinned, f"{name}: the tests run another version"


def test_websockets_is_a_runtime_dependency_for_the_canary():
    assert _layer()["websockets"] == "websockets==17.4"
    dev = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["dev"]
    assert "websockets" not in {_name(r) for r in dev}
