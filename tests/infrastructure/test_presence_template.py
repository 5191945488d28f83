"""template.yaml keeps the promises the presence code relies on: the sparse index, the routes, the
schedule, and least-privilege policies for the webhook, channels and reconcile functions."""

from __future__ import annotations

import pytest

from local_stack.template import load_template
from toolboxai_realtime.stores import presence

TEMPLATE = load_template()
RESOURCES = TEMPLATE.resources


def _statements(name: str) -> list[dict]:
    out = []
    for policy in RESOURCES[name]["Properties"].get("Policies", []):
        if isinstance(policy, dict) and "Statement" in policy:
            out += policy["Statement"]
    return out


def _secret_names(name: str) -> set[str]:
    names = set()
    for policy in RESOURCES[name]["Properties"].get("Policies", []):
        if isinstance(policy, dict) and "AWSSecretsManagerGetSecretValuePolicy" in policy:
            arn = policy["AWSSecretsManagerGetSecretValuePolicy"]["SecretArn"]["Fn::Sub"]
            names.add(arn.rsplit("${", 1)[1].split("}", 1)[0])
    return names


def test_presence_table_has_the_sparse_index_the_store_queries():
    props = RESOURCES["PresenceTable"]["Properties"]
    (index,) = [i for i in props["GlobalSecondaryIndexes"] if i["IndexName"] == presence.INDEX_NAME]
    assert index["KeySchema"] == [
        {"AttributeName": "gpk", "KeyType": "HASH"},
        {"AttributeName": "gsk", "KeyType": "RANGE"},
    ]
    projected = set(index["Projection"]["NonKeyAttributes"])
    # Everything the store reads from an index item (ChannelRecord / MemberRecord fields).
    assert {
        "channel",
        "user_id",
        "state",
        "t",
        "since",
        "joined_at",
        "subscription_count",
        "expires_at",
    } <= projected
    assert {"AttributeName": "gpk", "AttributeType": "S"} in props["AttributeDefinitions"]
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_routes_belong_to_the_webhook_and_channels_functions():
    routes = {(r.method, r.path): r.function for r in TEMPLATE.http_routes()}
    assert routes[("POST", "/pusher/webhook")] == "WebhookFunction"
    assert routes[("GET", "/realtime/channels")] == "ChannelsFunction"
    assert routes[("GET", "/realtime/channels/{channel}/members")] == "ChannelsFunction"


def test_reconcile_runs_every_five_minutes_one_at_a_time():
    assert ("ReconcileFunction", "rate(5 minutes)") in TEMPLATE.schedules()
    props = RESOURCES["ReconcileFunction"]["Properties"]
    assert props["ReservedConcurrentExecutions"] == 1
    assert props["EventInvokeConfig"]["MaximumRetryAttempts"] == 0


@pytest.mark.parametrize(
    ("function", "grants", "secrets"),
    [
        ("WebhookFunction", {("dynamodb:UpdateItem", "table")}, {"PusherSecretName"}),
        (
            "ChannelsFunction",
            {
                ("dynamodb:Query", "table"),
                ("dynamodb:Query", "index"),
                ("dynamodb:Query", "history"),
                ("dynamodb:BatchGetItem", "table"),
            },
            {"JwtSecretName"},
        ),
        (
            "ReconcileFunction",
            {("dynamodb:Query", "index"), ("dynamodb:UpdateItem", "table")},
            {"PusherSecretName"},
        ),
    ],
)
def test_each_function_gets_only_the_actions_it_uses(function, grants, secrets):
    found = set()
    for statement in _statements(function):
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        for action in actions:
            for resource in resources:
                if resource == {"Fn::GetAtt": ["PresenceTable", "Arn"]}:
                    found.add((action, "table"))
                elif resource == {"Fn::Sub": "${PresenceTable.Arn}/index/" + presence.INDEX_NAME}:
                    found.add((action, "index"))
                elif resource == {"Fn::GetAtt": ["HistoryTable", "Arn"]}:
                    found.add((action, "history"))
                else:
                    found.add((action, str(resource)))
    assert found == grants
    assert _secret_names(function) == secrets
