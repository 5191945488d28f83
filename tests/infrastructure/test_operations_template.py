"""template.yaml as an operator runs it (issue 16): alarms that reach someone, data that survives, and
throttling that protects DynamoDB and Pusher.

The rules are generic: a function, a table or a route added later is covered without editing this file.
What each must carry is in the assertion messages (and the README's "Dashboard and alarms").
"""

from __future__ import annotations

from typing import Any

import pytest

from local_stack.template import load_template

TEMPLATE = load_template()
RESOURCES = TEMPLATE.resources
PARAMETERS = TEMPLATE.doc["Parameters"]
FUNCTIONS = {k: v for k, v in RESOURCES.items() if v["Type"] == "AWS::Serverless::Function"}
TABLES = {k: v for k, v in RESOURCES.items() if v["Type"] == "AWS::DynamoDB::Table"}
ALARMS = {k: v["Properties"] for k, v in RESOURCES.items() if v["Type"] == "AWS::CloudWatch::Alarm"}

# Tables whose loss costs nothing that matters: counters and leases that expire within the hour, and
# connection records that die with their sockets. Every other table is retained and protected.
DISPOSABLE_TABLES = {
    "RateLimitTable": "per-minute counters and connection leases (minutes of TTL)",
    "IdempotencyTable": "an hour of Idempotency-Key records",
    "ConnectionsTable": "legacy WebSocket connections; they close when the API does",
    "HistoryTable": "a catch-up window of HISTORY_RETENTION (24 h); a new table starts that window afresh",
}
# Pusher: "answer 2xx within 4 s" (shared/PROTOCOL.md, webhooks).
PUSHER_WEBHOOK_BUDGET_MS = 4000


def _lambda_alarms(metric: str) -> dict[str, dict[str, Any]]:
    """Function logical id -> the alarm on its AWS/Lambda ``metric``."""
    out = {}
    for props in ALARMS.values():
        if props.get("Namespace") == "AWS/Lambda" and props.get("MetricName") == metric:
            (dimension,) = props["Dimensions"]
            assert dimension["Name"] == "FunctionName"
            out[dimension["Value"]["Ref"]] = props
    return out


def _expression(props: dict[str, Any]) -> str:
    """The alarm's Metrics Insights / math expressions, one per line ("" for a single-metric alarm)."""
    out = []
    for query in props.get("Metrics", []):
        expression = query.get("Expression", "")
        out.append(str(expression["Fn::Sub"] if isinstance(expression, dict) else expression))
    return "\n".join(out)


# ------------------------------------------------------------------------------ alarms reach someone


def test_alarms_need_a_subscriber_by_rule():
    # `sam deploy` fails a stack whose alarm topic would have no subscriber (AlarmsReachSomeone).
    (assertion,) = TEMPLATE.doc["Rules"]["AlarmsReachSomeone"]["Assertions"]
    assert "RuleCondition" not in TEMPLATE.doc["Rules"]["AlarmsReachSomeone"], "every stage"
    assert assertion["Assert"] == {
        "Fn::Not": [
            {
                "Fn::And": [
                    {"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]},
                    {"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]},
                ]
            }
        ]
    }
    subscription = RESOURCES["AlarmEmailSubscription"]["Properties"]
    assert subscription == {
        "TopicArn": {"Ref": "AlarmTopic"},
        "Protocol": "email",
        "Endpoint": {"Ref": "AlarmEmail"},
    }


@pytest.mark.parametrize("metric", ["Errors", "Throttles"])
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_function_has_an_errors_and_a_throttles_alarm(name, metric):
    alarms = _lambda_alarms(metric)
    assert name in alarms, f"{name} needs an AWS/Lambda {metric} alarm (FunctionName: !Ref {name})"
    props = alarms[name]
    assert props["Statistic"] == "Sum"
    assert props["Threshold"] == 1
    assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    # No invocations is no errors: an idle function must not alarm.
    assert props["TreatMissingData"] == "notBreaching"


@pytest.mark.parametrize("name", sorted(TABLES))
def test_every_table_has_a_throttled_requests_alarm(name):
    matching = [
        props
        for props in ALARMS.values()
        if "Metrics" in props
        and "AWS/DynamoDB" in _expression(props)
        and f"TableName = '${{{name}}}'" in _expression(props)
    ]
    assert len(matching) == 1, f"{name} needs one ThrottledRequests alarm (WHERE TableName = '${{{name}}}')"
    expression = " ".join(_expression(matching[0]).split())
    # ThrottledRequests is published per Operation: the query sums every operation of the table.
    assert expression.startswith(
        'SELECT SUM(ThrottledRequests) FROM SCHEMA("AWS/DynamoDB", Operation, TableName)'
    )
    assert matching[0]["Threshold"] == 1
    assert matching[0]["TreatMissingData"] == "notBreaching"


def test_webhook_latency_alarm_watches_pushers_delivery_budget():
    (props,) = [p for name, p in _lambda_alarms("Duration").items() if name == "WebhookFunction"]
    assert props["ExtendedStatistic"] == "p99"
    assert props["Threshold"] == {"Ref": "WebhookLatencyBudgetMs"}
    assert props["ComparisonOperator"] == "GreaterThanThreshold"
    budget = PARAMETERS["WebhookLatencyBudgetMs"]
    assert budget["Default"] < PUSHER_WEBHOOK_BUDGET_MS
    assert budget["MaxValue"] <= PUSHER_WEBHOOK_BUDGET_MS


# ------------------------------------------------------------------------------------ data survives


@pytest.mark.parametrize("name", sorted(TABLES))
def test_every_table_that_matters_is_retained_protected_and_recoverable(name):
    table = TABLES[name]
    if name in DISPOSABLE_TABLES:
        return  # see DISPOSABLE_TABLES for why losing it is fine
    hint = f"{name}: retain it (or list it in DISPOSABLE_TABLES with the reason its loss is harmless)"
    assert table.get("DeletionPolicy") == "Retain", hint
    assert table.get("UpdateReplacePolicy") == "Retain", hint
    assert table["Properties"].get("DeletionProtectionEnabled") is True, hint
    recovery = table["Properties"].get("PointInTimeRecoverySpecification")
    assert recovery == {"PointInTimeRecoveryEnabled": True}, hint


def test_the_presence_and_maintenance_tables_are_the_retained_ones():
    # The issue names them; the counter tables need not be retained.
    assert {"PresenceTable", "MaintenanceTable"} <= set(TABLES) - set(DISPOSABLE_TABLES)
    assert set(DISPOSABLE_TABLES) <= set(TABLES), "a disposable table that no longer exists"


# -------------------------------------------------------------------------------------- throttling


def _route_settings() -> dict[str, dict[str, Any]]:
    settings: dict[str, dict[str, Any]] = RESOURCES["RealtimeHttpApi"]["Properties"]["RouteSettings"]
    return settings


def test_route_settings_name_only_routes_of_the_api():
    keys = {route.route_key for route in TEMPLATE.http_routes()}
    assert set(_route_settings()) <= keys


@pytest.mark.parametrize(
    "route", sorted(r.route_key for r in TEMPLATE.http_routes() if r.function == "AuthFunction")
)
def test_auth_routes_get_a_higher_burst_than_the_default(route):
    default = RESOURCES["RealtimeHttpApi"]["Properties"]["DefaultRouteSettings"]
    settings = _route_settings()[route]
    assert settings == {
        "ThrottlingBurstLimit": {"Ref": "AuthRouteBurstLimit"},
        "ThrottlingRateLimit": {"Ref": "AuthRouteRateLimit"},
    }
    assert PARAMETERS["AuthRouteBurstLimit"]["Default"] > default["ThrottlingBurstLimit"]


def test_the_webhook_route_has_its_own_throttle_parameters_defaulting_to_the_apis():
    default = RESOURCES["RealtimeHttpApi"]["Properties"]["DefaultRouteSettings"]
    assert _route_settings()["POST /pusher/webhook"] == {
        "ThrottlingBurstLimit": {"Ref": "WebhookRouteBurstLimit"},
        "ThrottlingRateLimit": {"Ref": "WebhookRouteRateLimit"},
    }
    assert PARAMETERS["WebhookRouteBurstLimit"]["Default"] == default["ThrottlingBurstLimit"]
    assert PARAMETERS["WebhookRouteRateLimit"]["Default"] == default["ThrottlingRateLimit"]


@pytest.mark.parametrize(
    "route", sorted(r.route_key for r in TEMPLATE.http_routes() if r.function == "TriggerFunction")
)
def test_trigger_routes_get_a_lower_rate_than_the_default(route):
    default = RESOURCES["RealtimeHttpApi"]["Properties"]["DefaultRouteSettings"]
    settings = _route_settings()[route]
    assert settings == {
        "ThrottlingBurstLimit": {"Ref": "TriggerRouteBurstLimit"},
        "ThrottlingRateLimit": {"Ref": "TriggerRouteRateLimit"},
    }
    assert PARAMETERS["TriggerRouteRateLimit"]["Default"] < default["ThrottlingRateLimit"]


@pytest.mark.parametrize(
    ("function", "parameter"),
    [
        ("TriggerFunction", "TriggerReservedConcurrency"),  # Pusher HTTP API calls, counter writes
        ("WebhookFunction", "WebhookReservedConcurrency"),  # PresenceTable transactions
        ("LegacyFanoutFunction", "LegacyFanoutReservedConcurrency"),  # Management API, Scan
    ],
)
def test_reserved_concurrency_protects_dynamodb_and_pusher_as_a_parameter(function, parameter):
    assert FUNCTIONS[function]["Properties"]["ReservedConcurrentExecutions"] == {"Ref": parameter}
    assert PARAMETERS[parameter]["Type"] == "Number"
    assert PARAMETERS[parameter]["MinValue"] >= 1  # 0 would switch the function off


def test_legacy_websocket_api_has_access_logs_and_throttling():
    stage = RESOURCES["LegacyWsStage"]["Properties"]
    assert stage["DefaultRouteSettings"] == {
        "ThrottlingBurstLimit": {"Ref": "LegacyWsBurstLimit"},
        "ThrottlingRateLimit": {"Ref": "LegacyWsRateLimit"},
    }
    destination = stage["AccessLogSettings"]["DestinationArn"]
    group = RESOURCES[destination["Fn::GetAtt"][0]]
    assert group["Type"] == "AWS::Logs::LogGroup"
    assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    for variable in ("$context.requestId", "$context.routeKey", "$context.connectionId", "$context.status"):
        assert variable in stage["AccessLogSettings"]["Format"]
    # A WebSocket API logs only once the account's API Gateway CloudWatch role is set.
    assert RESOURCES["ApiGatewayAccount"]["Condition"] == "CreateApiGatewayLogsRole"
    assert stage["Tags"]["logs-role"]["Fn::If"][1] == {"Ref": "ApiGatewayAccount"}


def test_http_api_has_access_logs_and_default_throttling():
    props = RESOURCES["RealtimeHttpApi"]["Properties"]
    assert props["AccessLogSettings"]["DestinationArn"] == {"Fn::GetAtt": ["HttpApiAccessLogGroup", "Arn"]}
    assert props["DefaultRouteSettings"]["ThrottlingBurstLimit"] > 0
