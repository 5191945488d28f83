"""template.yaml: valid, lint-clean, builds, and keeps the promises of the design."""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

from local_stack.template import load_template
from tests.infrastructure.conftest import ROOT, tool, tool_env

TEMPLATE = load_template()
RESOURCES = TEMPLATE.resources
FUNCTIONS = {k: v for k, v in RESOURCES.items() if v["Type"] == "AWS::Serverless::Function"}
TABLES = {k: v for k, v in RESOURCES.items() if v["Type"] == "AWS::DynamoDB::Table"}


def test_sam_validate_lint_is_clean():
    result = subprocess.run(
        [tool("sam"), "validate", "--lint", "--region", "us-east-1", "--template", "template.yaml"],
        cwd=ROOT,
        env=tool_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_cfn_lint_is_clean():
    result = subprocess.run(
        [tool("cfn-lint"), "template.yaml"],
        cwd=ROOT,
        env=tool_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_sam_build_succeeds(sam_build):
    assert sam_build.returncode == 0, sam_build.stdout[-3000:] + sam_build.stderr[-3000:]
    assert "Build Succeeded" in sam_build.stdout + sam_build.stderr


def test_globals_pin_the_runtime_tracing_powertools_and_the_layer():
    fn = TEMPLATE.doc["Globals"]["Function"]
    assert fn["Runtime"] == "python3.12"
    assert fn["Tracing"] == "Active"
    assert fn["Layers"] == [{"Ref": "SharedLayer"}]
    env = fn["Environment"]["Variables"]
    assert env["POWERTOOLS_SERVICE_NAME"]
    assert env["POWERTOOLS_METRICS_NAMESPACE"]
    layer = RESOURCES["SharedLayer"]
    assert layer["Metadata"]["BuildMethod"] == "python3.12"
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.12"]


def test_functions_get_secret_names_never_secrets():
    env = TEMPLATE.doc["Globals"]["Function"]["Environment"]["Variables"]
    assert "PUSHER_SECRET_NAME" in env
    assert "JWT_SECRET_NAME" in env
    assert "PUSHER_SECRET" not in env
    assert "JWT_SECRET" not in env
    for fn in FUNCTIONS.values():
        local = fn["Properties"].get("Environment", {}).get("Variables", {})
        assert not {"PUSHER_SECRET", "JWT_SECRET"} & set(local)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_function_has_its_own_log_group_with_retention(name):
    ref = FUNCTIONS[name]["Properties"]["LoggingConfig"]["LogGroup"]
    group = RESOURCES[ref["Ref"]]
    assert group["Type"] == "AWS::Logs::LogGroup"
    assert group["Properties"]["RetentionInDays"]
    owners = [n for n, f in FUNCTIONS.items() if f["Properties"]["LoggingConfig"]["LogGroup"] == ref]
    assert owners == [name]


def _statements(fn):
    for policy in fn["Properties"].get("Policies", []):
        if isinstance(policy, dict) and "Statement" in policy:
            yield from policy["Statement"]


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_policies_have_no_wildcard_actions_or_resources(name):
    for statement in _statements(FUNCTIONS[name]):
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        for action in actions:
            assert action != "*", (name, action)
            assert not action.endswith(":*"), (name, action)
        resources = statement.get("Resource", [])
        resources = resources if isinstance(resources, list) else [resources]
        assert "*" not in resources, (name, statement)


@pytest.mark.parametrize("name", sorted(TABLES))
def test_every_table_is_on_demand_with_ttl(name):
    props = TABLES[name]["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["TimeToLiveSpecification"]["Enabled"] is True
    assert props["TimeToLiveSpecification"]["AttributeName"]


def test_outputs_name_the_api_url_and_every_table():
    outputs = TEMPLATE.doc["Outputs"]
    assert "ApiUrl" in outputs
    referenced = {o["Value"].get("Ref") for o in outputs.values() if isinstance(o["Value"], dict)}
    assert set(TABLES) <= referenced


def test_http_routes_are_explicit():
    for route in TEMPLATE.http_routes():
        assert "+}" not in route.path, route
        assert route.method != "ANY", route


def test_samconfig_has_default_and_prod_and_no_secrets_or_account_ids():
    text = (ROOT / "samconfig.toml").read_text()
    config = tomllib.loads(text)
    assert {"default", "prod"} <= set(config)
    assert not re.search(r"\b\d{12}\b", text), "an account id in samconfig.toml"
    assert not re.search(r"(?i)secret\s*=", text)


def test_every_function_code_uri_exists_with_its_handler():
    for name, fn in FUNCTIONS.items():
        code = ROOT / fn["Properties"]["CodeUri"]
        module, _, attr = fn["Properties"]["Handler"].rpartition(".")
        source = (code / f"{module}.py").read_text()
        assert f"def {attr}(" in source, name
        assert Path(code).is_dir()


def _checkov_skips_in_the_template() -> list[tuple[str, str, str]]:
    out = []
    for name, res in RESOURCES.items():
        for skip in res.get("Metadata", {}).get("checkov", {}).get("skip", []):
            out.append((name, skip["id"], skip.get("comment", "")))
    return out


def test_checkov_finds_nothing_unexplained():
    # checkov (its own environment, .venv-checkov) with every default check; .checkov.yaml and the
    # resources' Metadata skip only what they explain (next test).
    result = subprocess.run(
        [tool("checkov"), "--config-file", ".checkov.yaml", "--file", "template.yaml", "--output", "json"],
        cwd=ROOT,
        env={**tool_env(), "BC_SKIP_MAPPING": "TRUE"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = json.loads(result.stdout)
    failed = [
        f"{c['check_id']} {c['resource']}: {c['check_name']}"
        for c in report["results"].get("failed_checks", [])
    ]
    assert not failed, "\n".join(failed)
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["resource_count"] >= len(RESOURCES)
    assert report["summary"]["skipped"] == len(_checkov_skips_in_the_template())
    assert result.returncode == 0, result.stderr[-2000:]


def test_every_checkov_suppression_says_why():
    for name, check, comment in _checkov_skips_in_the_template():
        assert re.fullmatch(r"CKV2?_AWS_\d+", check), (name, check)
        assert len(comment.split()) >= 5, f"{name} skips {check} without a reason"
    config = yaml.safe_load((ROOT / ".checkov.yaml").read_text())
    lines = {
        line.split("#")[0].strip(" -"): line for line in (ROOT / ".checkov.yaml").read_text().splitlines()
    }
    for check in config["skip-check"]:
        _, _, reason = lines[check].partition("#")
        assert len(reason.split()) >= 5, f"{check} without a reason"


def test_cors_origins_are_a_parameter_and_production_names_its_own():
    template = load_template()
    cors = template.doc["Resources"]["RealtimeHttpApi"]["Properties"]["CorsConfiguration"]
    assert cors["AllowOrigins"] == {"Ref": "CorsAllowOrigins"}
    parameter = template.doc["Parameters"]["CorsAllowOrigins"]
    assert parameter["Type"] == "CommaDelimitedList"
    assert "*" not in parameter["Default"].split(",")
    prod = tomllib.loads((ROOT / "samconfig.toml").read_text())["prod"]["deploy"]["parameters"]
    origins = re.search(r'CorsAllowOrigins=\\?"([^"\\]+)', prod["parameter_overrides"])
    assert origins is not None, "the prod environment must name its CORS origins"
    assert all(o.startswith("https://") and o != "https://*" for o in origins.group(1).split(","))
