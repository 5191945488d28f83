"""`sam deploy --config-env <env>` works as written (issue 16): every samconfig.toml environment, with the
variables `make deploy` documents, supplies every template parameter that has no default."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from local_stack.template import load_template
from scripts import deploy
from tests.infrastructure.conftest import ROOT, tool

PARAMETERS = load_template().doc["Parameters"]
ENVIRONMENTS = deploy.config_environments()
# What README's "Deploying" tells an operator to set.
DOCUMENTED = {
    "PUSHER_APP_ID": "1234567",
    "PUSHER_KEY": "0123456789abcdef0123",
    "ALARM_EMAIL": "ops@example.org",
}


def test_the_environments_the_issue_names_exist():
    assert {"default", "prod"} <= set(ENVIRONMENTS)


def test_parameters_without_a_default_are_the_per_deployment_ones():
    # A new parameter without a default must be added to samconfig.toml or to deploy.FROM_ENVIRONMENT.
    required = {name for name, spec in PARAMETERS.items() if "Default" not in spec}
    assert required == deploy.required_parameters()
    assert required <= set(deploy.FROM_ENVIRONMENT) | set.intersection(*map(set, ENVIRONMENTS.values()))


@pytest.mark.parametrize("env", sorted(ENVIRONMENTS))
def test_each_environment_with_the_documented_variables_supplies_every_parameter(env):
    values = deploy.plan(env, DOCUMENTED)
    missing = {name for name, spec in PARAMETERS.items() if "Default" not in spec and not values.get(name)}
    assert not missing, f"[{env}] no value for {missing}"
    # The config's own values are kept: sam deploy replaces them with the command line's.
    assert ENVIRONMENTS[env].items() <= values.items()
    assert values["Stage"] == ("dev" if env == "default" else env)


@pytest.mark.parametrize("env", sorted(ENVIRONMENTS))
def test_each_environment_names_only_template_parameters_with_allowed_values(env):
    for name, value in ENVIRONMENTS[env].items():
        assert name in PARAMETERS, f"[{env}] {name} is not a parameter of template.yaml"
        allowed = PARAMETERS[name].get("AllowedValues")
        if allowed is not None:
            assert value in [str(a) for a in allowed], (env, name, value)
        if "AllowedPattern" in PARAMETERS[name]:
            assert re.fullmatch(PARAMETERS[name]["AllowedPattern"], value), (env, name, value)


@pytest.mark.parametrize("env", sorted(ENVIRONMENTS))
def test_without_the_variables_make_deploy_refuses_and_names_them(env):
    with pytest.raises(deploy.DeployError) as refused:
        deploy.plan(env, {})
    message = str(refused.value)
    for variable in ("PUSHER_APP_ID", "PUSHER_KEY", "ALARM_EMAIL"):
        assert variable in message


def test_an_alarm_topic_instead_of_an_email_is_enough():
    environ = {k: v for k, v in DOCUMENTED.items() if k != "ALARM_EMAIL"}
    environ["ALARM_TOPIC_ARN"] = "arn:aws:sns:us-east-1:000000000000:ops"  # zeros: not an account
    assert deploy.plan("prod", environ)["AlarmTopicArn"] == environ["ALARM_TOPIC_ARN"]


def test_a_typo_in_an_override_is_refused():
    with pytest.raises(deploy.DeployError, match="PusherAppID"):
        deploy.plan("prod", DOCUMENTED, ["PusherAppID=1"])


def test_sam_cli_parses_the_merged_overrides_back_to_the_same_values():
    # The command line make deploy runs, read by SAM CLI's own parser (quotes and spaces survive).
    values = deploy.plan("prod", {**DOCUMENTED, "ALARM_EMAIL": 'ops "team"@example.org'})
    (argument,) = deploy.command("prod", values)[-1:]
    python = str(ROOT / ".venv-tools" / "bin" / "python")
    tool("sam")  # fails with the install hint when the tools environment is missing
    script = (
        "import json, sys\n"
        "from samcli.cli.types import CfnParameterOverridesType\n"
        "print(json.dumps(CfnParameterOverridesType().convert((sys.argv[1],), None, None)))\n"
    )
    out = subprocess.run(
        [python, "-c", script, argument], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(out.stdout) == values


def test_readme_documents_the_deploy_line_with_every_variable():
    readme = (ROOT / "README.md").read_text()
    lines = [line for line in readme.splitlines() if "make deploy ENV=prod" in line]
    assert any(all(f"{v}=" in line for v in DOCUMENTED) for line in lines), lines


def test_samconfig_has_no_account_ids_or_secrets():
    text = (ROOT / "samconfig.toml").read_text()
    assert not re.search(r"\b\d{12}\b", text)
    assert not re.search(r"(?i)(secret|password)\s*=", text)
