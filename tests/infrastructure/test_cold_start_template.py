"""template.yaml for cold starts (issue 15): SnapStart on the request path, and the routes use it.

Auth and trigger take ``<Fn>ProvisionedConcurrency`` instead: 0 (the default) keeps SnapStart, above 0
puts provisioned concurrency on the alias and turns SnapStart off (Lambda documents the two as mutually
exclusive on one function), so the checks below resolve the template's conditions for both values.

SnapStart applies to published versions only: a route that invoked ``$LATEST`` would still cold-start
from scratch, so the transformed template (what CloudFormation deploys) is checked, not only the
properties. README "Cold starts" gives the reasoning (SnapStart rather than provisioned concurrency).
"""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path
from typing import Any

import pytest

from local_stack.template import load_template
from tests.infrastructure.conftest import ROOT

TEMPLATE = load_template()
RESOURCES = TEMPLATE.resources
GLOBALS = TEMPLATE.doc["Globals"]["Function"]
# The functions a page load or a publish waits on (the class-start burst).
REQUEST_PATH = ("AuthFunction", "TriggerFunction", "ChannelsFunction")
SNAPSTART = {
    name: res
    for name, res in RESOURCES.items()
    if res["Type"] == "AWS::Serverless::Function" and "SnapStart" in res["Properties"]
}


# The functions whose provisioned concurrency is a parameter; the others always use SnapStart.
PROVISIONABLE = {
    "AuthFunction": "AuthProvisionedConcurrency",
    "TriggerFunction": "TriggerProvisionedConcurrency",
}


def _resolve(node: Any, params: dict[str, str]) -> Any:
    """``node`` with the template's ``Ref``/``Fn::If``/``Condition`` resolved for ``params``.

    Only the intrinsics these properties use; ``AWS::NoValue`` drops the key, as CloudFormation does.
    """
    if isinstance(node, list):
        return [_resolve(item, params) for item in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {"Ref"} and node["Ref"] in params:
        return params[node["Ref"]]
    if set(node) == {"Fn::If"}:
        condition, then, otherwise = node["Fn::If"]
        chosen = then if _condition(TEMPLATE.doc["Conditions"][condition], params) else otherwise
        return _resolve(chosen, params)
    resolved = {key: _resolve(value, params) for key, value in node.items()}
    return {key: value for key, value in resolved.items() if value != {"Ref": "AWS::NoValue"}}


def _condition(node: dict[str, Any], params: dict[str, str]) -> bool:
    ((fn, args),) = node.items()
    if fn == "Fn::Not":
        return not _condition(args[0], params)
    if fn == "Fn::Equals":
        left, right = (_resolve(arg, params) for arg in args)
        return bool(str(left) == str(right))
    if fn == "Condition":
        return _condition(TEMPLATE.doc["Conditions"][args], params)
    raise AssertionError(f"unexpected condition function {fn}")


def _properties(name: str, **params: str) -> dict[str, Any]:
    defaults = {key: str(p.get("Default", "")) for key, p in TEMPLATE.doc["Parameters"].items()}
    resolved: dict[str, Any] = _resolve(RESOURCES[name]["Properties"], {**defaults, **params})
    return resolved


@pytest.mark.parametrize("name", REQUEST_PATH)
def test_request_path_functions_restore_from_a_snapshot_of_their_published_alias(name: str) -> None:
    props = _properties(name)  # the parameters' defaults
    assert props["SnapStart"] == {"ApplyOn": "PublishedVersions"}
    assert props["AutoPublishAlias"] == "live"
    assert "ProvisionedConcurrencyConfig" not in props


@pytest.mark.parametrize(("name", "parameter"), sorted(PROVISIONABLE.items()))
def test_provisioned_concurrency_above_zero_replaces_snapstart(name: str, parameter: str) -> None:
    assert TEMPLATE.doc["Parameters"][parameter]["Default"] == 0
    props = _properties(name, **{parameter: "12"})
    assert props["ProvisionedConcurrencyConfig"] == {"ProvisionedConcurrentExecutions": "12"}
    assert props["SnapStart"] == {"ApplyOn": "None"}
    assert props["AutoPublishAlias"] == "live"  # provisioned concurrency is set on the alias


@pytest.mark.parametrize("name", sorted(SNAPSTART))
@pytest.mark.parametrize("provisioned", ["0", "3"])
def test_snapstart_functions_use_nothing_snapstart_does_not_support(name: str, provisioned: str) -> None:
    # Lambda's documented limits: Python 3.12 or later, no provisioned concurrency, no EFS, no
    # ephemeral storage above 512 MB. With provisioned concurrency, SnapStart is off.
    params = {PROVISIONABLE[name]: provisioned} if name in PROVISIONABLE else {}
    props = {**GLOBALS, **_properties(name, **params)}
    if props["SnapStart"] == {"ApplyOn": "None"}:
        assert name in PROVISIONABLE
        assert provisioned != "0"
        return
    assert props["SnapStart"] == {"ApplyOn": "PublishedVersions"}
    runtime = props["Runtime"]
    assert runtime.startswith("python3.")
    assert int(runtime.split(".")[1]) >= 12
    assert "ProvisionedConcurrencyConfig" not in props
    assert "FileSystemConfigs" not in props
    assert props.get("EphemeralStorage", {"Size": 512})["Size"] <= 512


@pytest.fixture(scope="module")
def transformed(sam_transformed: dict[str, Any]) -> dict[str, Any]:
    """The SAM transform of template.yaml (``sam_transformed`` in conftest)."""
    return sam_transformed


@pytest.mark.parametrize("name", REQUEST_PATH)
def test_every_route_of_a_snapstart_function_invokes_its_alias(
    name: str, transformed: dict[str, Any]
) -> None:
    alias = f"{name}Aliaslive"
    assert transformed[alias]["Type"] == "AWS::Lambda::Alias"
    routes = [
        (event["Properties"]["Method"].lower(), event["Properties"]["Path"])
        for event in RESOURCES[name]["Properties"]["Events"].values()
        if event["Type"] == "HttpApi"
    ]
    assert routes
    body = transformed["RealtimeHttpApi"]["Properties"]["Body"]["paths"]
    for method, path in routes:
        uri = body[path][method]["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
        assert f"${{{alias}}}/invocations" in uri, (method, path, uri)
    permissions = [
        res["Properties"]["FunctionName"]
        for key, res in transformed.items()
        if res["Type"] == "AWS::Lambda::Permission" and key.startswith(name)
    ]
    assert len(permissions) == len(routes)
    assert all(target == {"Ref": alias} for target in permissions)


@pytest.mark.parametrize(("name", "parameter"), sorted(PROVISIONABLE.items()))
def test_provisioned_concurrency_lands_on_the_alias_the_routes_invoke(
    name: str, parameter: str, transformed: dict[str, Any]
) -> None:
    config = transformed[f"{name}Aliaslive"]["Properties"]["ProvisionedConcurrencyConfig"]
    condition = config["Fn::If"][0]
    provisioned = {"ProvisionedConcurrentExecutions": {"Ref": parameter}}
    assert config == {"Fn::If": [condition, provisioned, {"Ref": "AWS::NoValue"}]}
    assert _condition(TEMPLATE.doc["Conditions"][condition], {parameter: "4"})
    assert not _condition(TEMPLATE.doc["Conditions"][condition], {parameter: "0"})


def test_the_readme_says_which_and_why() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Cold starts", 1)[1].split("\n## ", 1)[0]
    for name in REQUEST_PATH:
        assert name in section
    assert "provisioned concurrency" in section.lower()


def test_the_build_ships_bytecode_lambda_can_use_without_its_sources_mtime(
    sam_build: subprocess.CompletedProcess[str], sam_build_dir: Path
) -> None:
    # Lambda's /opt and /var/task are read-only: without .pyc files in the artifact, every cold start
    # compiles every module it imports. PEP 552 flags 0b01 = hash-based, check_source off.
    assert sam_build.returncode == 0, sam_build.stdout[-3000:] + sam_build.stderr[-3000:]
    layer = sam_build_dir / "SharedLayer" / "python"
    expected = [
        layer / "toolboxai_realtime" / "__pycache__" / "authorization.cpython-312.pyc",
        layer / "boto3" / "__pycache__" / "__init__.cpython-312.pyc",
        layer / "jwt" / "__pycache__" / "algorithms.cpython-312.pyc",
        sam_build_dir / "AuthFunction" / "__pycache__" / "app.cpython-312.pyc",
        sam_build_dir / "TriggerFunction" / "__pycache__" / "app.cpython-312.pyc",
    ]
    for pyc in expected:
        header = pyc.read_bytes()[:8]
        assert header[:4] == importlib.util.MAGIC_NUMBER, pyc  # what python3.12 reads
        assert int.from_bytes(header[4:8], "little") == 0b01, pyc
