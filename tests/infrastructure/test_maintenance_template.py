"""template.yaml for maintenance alerts: the schedule, its dead-letter queue, the table, least privilege."""

from __future__ import annotations

import json
from typing import Any

import pytest

from local_stack.scheduler import rate_seconds
from local_stack.template import load_template
from toolboxai_realtime import maintenance
from toolboxai_realtime.stores import maintenance as store

TEMPLATE = load_template()
RESOURCES = TEMPLATE.resources
SCHEDULER = RESOURCES["MaintenanceSchedulerFunction"]["Properties"]
API = RESOURCES["MaintenanceApiFunction"]["Properties"]
QUEUE = {"Fn::GetAtt": ["MaintenanceDeadLetterQueue", "Arn"]}
TABLE_ARN = {"Fn::GetAtt": ["MaintenanceTable", "Arn"]}
INDEX_ARN = {"Fn::Sub": "${MaintenanceTable.Arn}/index/" + store.INDEX_NAME}
RULE_NAME = "toolboxai-realtime-${Stage}-maintenance"


def statements(props) -> list[dict]:
    return [s for p in props.get("Policies", []) if isinstance(p, dict) for s in p.get("Statement", [])]


def grants(props) -> set[tuple[str, str]]:
    """(action, resource) pairs of the function's own statements, resources as JSON."""
    out = set()
    for statement in statements(props):
        assert statement["Effect"] == "Allow"
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        out |= {
            (action, json.dumps(resource, sort_keys=True)) for action in actions for resource in resources
        }
    return out


def secrets(props) -> list[str]:
    return [
        p["AWSSecretsManagerGetSecretValuePolicy"]["SecretArn"]["Fn::Sub"]
        for p in props.get("Policies", [])
        if "AWSSecretsManagerGetSecretValuePolicy" in p
    ]


def r(value) -> str:
    return json.dumps(value, sort_keys=True)


# -------------------------------------------------------------------------------------------- schedule


def test_the_scheduler_runs_every_minute_on_an_eventbridge_schedule():
    (event,) = SCHEDULER["Events"].values()
    assert event["Type"] == "Schedule"
    assert event["Properties"]["Schedule"] == "rate(1 minute)"
    assert event["Properties"]["Name"] == {"Fn::Sub": RULE_NAME}


def test_the_local_stack_runs_the_same_schedule():
    assert ("MaintenanceSchedulerFunction", "rate(1 minute)") in TEMPLATE.schedules()
    assert rate_seconds("rate(1 minute)") == 60


def test_undeliverable_schedule_events_are_retried_then_dead_lettered():
    props = next(iter(SCHEDULER["Events"].values()))["Properties"]
    assert props["RetryPolicy"]["MaximumRetryAttempts"] >= 1
    assert 60 <= props["RetryPolicy"]["MaximumEventAgeInSeconds"] <= 3600
    assert props["DeadLetterConfig"] == {"Arn": QUEUE}


def test_failed_runs_are_retried_by_lambda_then_sent_to_the_same_queue():
    config = SCHEDULER["EventInvokeConfig"]
    assert 0 <= config["MaximumRetryAttempts"] <= 2
    assert config["DestinationConfig"]["OnFailure"] == {"Type": "SQS", "Destination": QUEUE}


def test_the_dead_letter_queue_accepts_only_this_rules_events():
    queue = RESOURCES["MaintenanceDeadLetterQueue"]
    assert queue["Type"] == "AWS::SQS::Queue"
    assert queue["Properties"]["MessageRetentionPeriod"] == 14 * 86400
    assert queue["Properties"]["SqsManagedSseEnabled"] is True
    policy = RESOURCES["MaintenanceDeadLetterQueuePolicy"]
    assert policy["Type"] == "AWS::SQS::QueuePolicy"
    assert policy["Properties"]["Queues"] == [{"Ref": "MaintenanceDeadLetterQueue"}]
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Resource"] == QUEUE
    source = statement["Condition"]["ArnEquals"]["aws:SourceArn"]["Fn::Sub"]
    assert source == "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/" + RULE_NAME


def test_the_claim_lease_outlasts_every_function_that_claims_alerts():
    # A claimant whose lease ran out must no longer be running, or two runs could send one alert.
    default = TEMPLATE.doc["Globals"]["Function"]["Timeout"]
    assert SCHEDULER.get("Timeout", default) < maintenance.LEASE_SECONDS
    assert API.get("Timeout", default) < maintenance.LEASE_SECONDS


# ------------------------------------------------------------------------------------- least privilege


HISTORY_ARN = {"Fn::GetAtt": ["HistoryTable", "Arn"]}


def test_the_scheduler_may_only_query_the_index_update_windows_keep_history_and_read_the_pusher_secret():
    # dashboard-updates keeps history: each alert is written there (BatchWriteItem) before it is sent.
    assert grants(SCHEDULER) == {
        ("dynamodb:UpdateItem", r(TABLE_ARN)),
        ("dynamodb:Query", r(INDEX_ARN)),
        ("dynamodb:BatchWriteItem", r(HISTORY_ARN)),
    }
    (secret,) = secrets(SCHEDULER)
    assert secret.endswith(":secret:${PusherSecretName}-*")


def test_the_api_may_only_write_read_and_query_windows_keep_history_and_read_its_two_secrets():
    assert grants(API) == {
        ("dynamodb:PutItem", r(TABLE_ARN)),
        ("dynamodb:GetItem", r(TABLE_ARN)),
        ("dynamodb:UpdateItem", r(TABLE_ARN)),
        ("dynamodb:Query", r(INDEX_ARN)),
        ("dynamodb:BatchWriteItem", r(HISTORY_ARN)),
    }
    assert sorted(s.rsplit(":", 1)[1] for s in secrets(API)) == [
        "${JwtSecretName}-*",
        "${PusherSecretName}-*",
    ]


@pytest.mark.parametrize("props", [SCHEDULER, API], ids=["scheduler", "api"])
def test_maintenance_functions_have_no_wildcards_and_their_own_log_group(props):
    for action, resource in grants(props):
        assert "*" not in action
        assert resource != r("*")
    group = RESOURCES[props["LoggingConfig"]["LogGroup"]["Ref"]]
    assert group["Type"] == "AWS::Logs::LogGroup"
    assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_the_transformed_scheduler_role_sends_only_to_its_queue(sam_transformed: dict[str, Any]) -> None:
    """SAM adds the dead-letter permission itself: check the role it generates."""
    out = sam_transformed
    role = out["MaintenanceSchedulerFunctionRole"]["Properties"]
    generated = [
        s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"] if "sqs" in json.dumps(s)
    ]
    assert generated == [{"Action": "sqs:SendMessage", "Effect": "Allow", "Resource": QUEUE}]
    (target,) = out["MaintenanceSchedulerFunctionMaintenanceSchedule"]["Properties"]["Targets"]
    assert target["DeadLetterConfig"] == {"Arn": QUEUE}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 1


# ------------------------------------------------------------------------------------------- the table


def test_the_maintenance_table_has_ttl_and_the_index_the_store_queries():
    props = RESOURCES["MaintenanceTable"]["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    (index,) = props["GlobalSecondaryIndexes"]
    assert index["IndexName"] == store.INDEX_NAME
    assert index["KeySchema"] == [
        {"AttributeName": "gpk", "KeyType": "HASH"},
        {"AttributeName": "ends_at", "KeyType": "RANGE"},
    ]
    assert index["Projection"] == {"ProjectionType": "ALL"}
    assert props["SSESpecification"] == {"SSEEnabled": True}


def test_functions_find_the_table_and_outputs_name_the_table_and_queue():
    env = TEMPLATE.doc["Globals"]["Function"]["Environment"]["Variables"]
    assert env["MAINTENANCE_TABLE"] == {"Ref": "MaintenanceTable"}
    outputs = TEMPLATE.doc["Outputs"]
    assert outputs["MaintenanceTableName"]["Value"] == {"Ref": "MaintenanceTable"}
    assert outputs["MaintenanceDeadLetterQueueUrl"]["Value"] == {"Ref": "MaintenanceDeadLetterQueue"}
    assert outputs["MaintenanceDeadLetterQueueArn"]["Value"] == QUEUE


def test_the_maintenance_routes_are_served_by_the_api_function():
    routes = {(r.method, r.path): r.function for r in TEMPLATE.http_routes() if "maintenance" in r.path}
    assert routes == {
        ("POST", "/realtime/maintenance"): "MaintenanceApiFunction",
        ("GET", "/realtime/maintenance"): "MaintenanceApiFunction",
        ("GET", "/realtime/maintenance/{id}"): "MaintenanceApiFunction",
        ("DELETE", "/realtime/maintenance/{id}"): "MaintenanceApiFunction",
    }
