"""template.yaml's monitoring: the delivery canary, the dashboard, the alarms and their topic.

The central promise: every custom metric the dashboard and the alarms name is emitted by the code, with
exactly the dimension set they name. The code side is read from the source (every
``observability.count(...)`` / ``metrics.add_metric(...)`` call in layers/ and functions/), the way EMF
emits it: the keyword arguments of ``count`` are dimensions, and Powertools adds ``service``.
"""

from __future__ import annotations

import ast
import json
import re
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest

from local_stack.template import load_template
from tests.infrastructure.conftest import ROOT

TEMPLATE = load_template()
RESOURCES = TEMPLATE.resources
GLOBAL_ENV = TEMPLATE.doc["Globals"]["Function"]["Environment"]["Variables"]
NAMESPACE = GLOBAL_ENV["POWERTOOLS_METRICS_NAMESPACE"]
SERVICE = GLOBAL_ENV["POWERTOOLS_SERVICE_NAME"]
ALARMS = {k: v["Properties"] for k, v in RESOURCES.items() if v["Type"] == "AWS::CloudWatch::Alarm"}

# What the issue asks the dashboard to show (metric names of this application).
REQUIRED_ON_DASHBOARD = {
    "AuthGranted",
    "AuthDenied",
    "AuthLatency",
    "EventsPublished",
    "PublishFailures",
    "RateLimited",
    "WebhookEvents",
    "WebhookSignatureFailures",
    "OccupiedChannels",
    "PresenceMembers",
    "CanaryConnectTime",
    "CanaryLatency",
    "CanaryFailure",
}


# ------------------------------------------------------------------------------- what the code emits

_NON_DIMENSION_KWARGS = {"value", "unit"}


def _emitted_metrics() -> dict[str, set[frozenset[str]]]:
    """Metric name -> the dimension sets it is emitted with, read from the source code."""
    found: dict[str, set[frozenset[str]]] = defaultdict(set)
    files = [*(ROOT / "layers").rglob("*.py"), *(ROOT / "functions").rglob("*.py")]
    for path in files:
        for call in (n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Call)):
            func = call.func
            if isinstance(func, ast.Name) and func.id == "count":
                name = call.args[0] if call.args else None
                if not (isinstance(name, ast.Constant) and isinstance(name.value, str)):
                    continue
                keys = {kw.arg for kw in call.keywords}
                assert None not in keys, f"{path}: count(**...) hides the dimensions of {name.value}"
                found[name.value].add(frozenset({"service", *(keys - _NON_DIMENSION_KWARGS)}))
            elif isinstance(func, ast.Attribute) and func.attr == "add_metric":
                for kw in call.keywords:
                    if kw.arg == "name" and isinstance(kw.value, ast.Constant):
                        found[kw.value.value].add(frozenset({"service"}))
    return dict(found)


EMITTED = _emitted_metrics()


# ------------------------------------------------------------------------------ what monitoring names


def _dashboard_body() -> dict[str, Any]:
    body = RESOURCES["RealtimeDashboard"]["Properties"]["DashboardBody"]
    text = body["Fn::Sub"]
    assert isinstance(text, str)
    # The !Sub placeholders sit inside JSON strings; give them harmless values to parse the JSON.
    parsed: dict[str, Any] = json.loads(re.sub(r"\$\{[^}]+\}", "SUB", text))
    return parsed


def _sub_names(text: str) -> set[str]:
    return {m.split(".")[0] for m in re.findall(r"\$\{([^}]+)\}", text)}


_SEARCH = re.compile(r"SEARCH\('\{([^}]*)\}\s+MetricName=\"(\w+)\"")
_INSIGHTS = re.compile(r'SELECT\s+\w+\("?(\w+)"?\)\s+FROM\s+SCHEMA\(([^)]*)\)', re.IGNORECASE)


def _unquote(part: str) -> str:
    return part.strip().strip('"')


def _from_expression(expression: str) -> Iterator[tuple[str, str, frozenset[str]]]:
    """(namespace, metric, dimension keys) of each SEARCH or Metrics Insights query in ``expression``."""
    for schema, metric in _SEARCH.findall(expression):
        namespace, *keys = (_unquote(p) for p in schema.split(","))
        yield namespace, metric, frozenset(keys)
    for metric, schema in _INSIGHTS.findall(expression):
        namespace, *keys = (_unquote(p) for p in schema.split(","))
        yield namespace, metric, frozenset(keys)


def _dashboard_metrics() -> Iterator[tuple[str, str, frozenset[str], dict[str, str]]]:
    """(namespace, metric, dimension keys, dimension values) of every metric on the dashboard."""
    for widget in _dashboard_body()["widgets"]:
        for entry in widget.get("properties", {}).get("metrics", []):
            for item in entry:
                if isinstance(item, dict) and "expression" in item:
                    for namespace, metric, keys in _from_expression(item["expression"]):
                        values = dict(re.findall(r'(\w+)="([^"]*)"', item["expression"]))
                        yield namespace, metric, keys, {k: v for k, v in values.items() if k in keys}
            plain = [part for part in entry if isinstance(part, str)]
            if len(plain) >= 2 and entry and isinstance(entry[0], str):
                namespace, metric, *dims = plain
                pairs = dict(zip(dims[::2], dims[1::2], strict=True))
                yield namespace, metric, frozenset(pairs), pairs


def _alarm_metrics() -> Iterator[tuple[str, str, str, frozenset[str], dict[str, Any]]]:
    """(alarm, namespace, metric, dimension keys, dimension values) of every metric every alarm reads."""
    for name, props in ALARMS.items():
        if "MetricName" in props:
            dims = {d["Name"]: d["Value"] for d in props.get("Dimensions", [])}
            yield name, props["Namespace"], props["MetricName"], frozenset(dims), dims
        for query in props.get("Metrics", []):
            if "MetricStat" in query:
                metric = query["MetricStat"]["Metric"]
                dims = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
                yield name, metric["Namespace"], metric["MetricName"], frozenset(dims), dims
            elif "Expression" in query:
                expression = query["Expression"]
                expression = expression["Fn::Sub"] if isinstance(expression, dict) else expression
                for namespace, metric_name, keys in _from_expression(expression):
                    found = re.search(r"WHERE\s+\"?service\"?\s*=\s*'([^']*)'", expression)
                    values = {"service": found.group(1)} if found else {}
                    yield name, namespace, metric_name, keys, values


DASHBOARD = list(_dashboard_metrics())
ALARM_METRICS = list(_alarm_metrics())


# ------------------------------------------------------------------------------------------- the tests


def test_the_code_emits_the_metrics_the_issue_lists():
    assert set(EMITTED) >= REQUIRED_ON_DASHBOARD, REQUIRED_ON_DASHBOARD - set(EMITTED)


def test_the_dashboard_shows_every_required_metric():
    shown = {metric for namespace, metric, _, _ in DASHBOARD if namespace == NAMESPACE}
    assert shown >= REQUIRED_ON_DASHBOARD, REQUIRED_ON_DASHBOARD - shown


@pytest.mark.parametrize(
    ("where", "namespace", "metric", "keys", "values"),
    [("dashboard", *m) for m in DASHBOARD] + [(f"alarm {a}", n, m, k, v) for a, n, m, k, v in ALARM_METRICS],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_every_custom_metric_referenced_is_emitted_with_exactly_those_dimensions(
    where, namespace, metric, keys, values
):
    if namespace != NAMESPACE:
        assert namespace in {"AWS/ApiGateway", "AWS/SQS", "AWS/Lambda", "AWS/DynamoDB"}, (where, namespace)
        return
    assert metric in EMITTED, f"{where} names {metric}, which nothing in layers/ or functions/ emits"
    emitted = sorted(map(sorted, EMITTED[metric]))
    assert keys in EMITTED[metric], f"{where} reads {metric} with {sorted(keys)}; the code emits {emitted}"
    assert values.get("service") == SERVICE, (where, metric, values)


def test_dashboard_body_is_json_and_names_only_resources_of_the_template():
    body = _dashboard_body()
    assert body["widgets"]
    text = RESOURCES["RealtimeDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    assert _sub_names(text) - set(RESOURCES) == {"AWS::Region", "Stage"}
    for widget in body["widgets"]:
        assert widget["x"] + widget["width"] <= 24


def test_dashboard_shows_api_errors_and_the_dead_letter_queue_and_every_alarm():
    namespaces = {(namespace, metric) for namespace, metric, _, _ in DASHBOARD}
    assert ("AWS/ApiGateway", "5xx") in namespaces
    assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible") in namespaces
    alarm_widgets = [w for w in _dashboard_body()["widgets"] if w["type"] == "alarm"]
    text = RESOURCES["RealtimeDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    shown = set(re.findall(r"\$\{(\w+)\.Arn\}", text))
    assert alarm_widgets
    assert shown == set(ALARMS)


def _single(alarm: str, namespace: str | None = None) -> tuple[str, dict[str, Any]]:
    metrics = [(m, v) for a, n, m, _, v in ALARM_METRICS if a == alarm and namespace in (None, n)]
    assert metrics, alarm
    return metrics[0]


def test_api_5xx_alarm_is_a_rate_over_the_http_api():
    props = ALARMS["Api5xxRateAlarm"]
    stats = {q["Id"]: q["MetricStat"]["Metric"] for q in props["Metrics"] if "MetricStat" in q}
    assert {m["MetricName"] for m in stats.values()} == {"5xx", "Count"}
    for metric in stats.values():
        assert metric["Namespace"] == "AWS/ApiGateway"
        assert metric["Dimensions"] == [{"Name": "ApiId", "Value": {"Ref": "RealtimeHttpApi"}}]
    (expression,) = [q for q in props["Metrics"] if q.get("ReturnData")]
    assert "100" in expression["Expression"]
    assert set(stats) <= set(re.findall(r"\b\w+\b", expression["Expression"]))
    assert props["Threshold"] == {"Ref": "Api5xxRatePercent"}


def test_dead_letter_alarm_watches_the_maintenance_dead_letter_queue():
    props = ALARMS["DeadLetterQueueAlarm"]
    assert RESOURCES["MaintenanceDeadLetterQueue"]["Type"] == "AWS::SQS::Queue"
    assert props["Namespace"] == "AWS/SQS"
    assert props["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["MaintenanceDeadLetterQueue", "QueueName"]}}
    ]
    assert props["Threshold"] == 1
    assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


def test_security_alarms_fire_on_webhook_signature_failures_and_auth_denial_spikes():
    metric, values = _single("WebhookSignatureFailureAlarm")
    assert metric == "WebhookSignatureFailures"
    assert values == {"service": SERVICE}
    assert ALARMS["WebhookSignatureFailureAlarm"]["Threshold"] == 1
    metric, _ = _single("AuthDenialSpikeAlarm")
    assert metric == "AuthDenied"
    assert ALARMS["AuthDenialSpikeAlarm"]["Threshold"] == {"Ref": "AuthDenialsPerFiveMinutes"}


def test_canary_alarms_do_not_fire_before_the_first_run_and_latency_against_a_parameter():
    # Issue 16: right after a deploy the canary has not run; no data must not open the alarm. A canary
    # that crashes or is throttled is caught by its function's errors/throttles alarms.
    failure = ALARMS["CanaryFailureAlarm"]
    assert failure["MetricName"] == "CanaryFailure"
    assert failure["TreatMissingData"] == "notBreaching"
    assert {"CanaryErrorsAlarm", "CanaryThrottlesAlarm"} <= set(ALARMS)
    latency = ALARMS["CanaryLatencyAlarm"]
    assert latency["MetricName"] == "CanaryLatency"
    assert latency["Threshold"] == {"Ref": "CanaryLatencyThresholdMs"}
    assert latency["Unit"] == "Milliseconds"


@pytest.mark.parametrize("name", sorted(ALARMS))
def test_every_alarm_notifies_the_topic_on_alarm_and_recovery(name):
    target = [{"Fn::If": ["CreateAlarmTopic", {"Ref": "AlarmTopic"}, {"Ref": "AlarmTopicArn"}]}]
    assert ALARMS[name]["AlarmActions"] == target
    assert ALARMS[name]["OKActions"] == target
    assert ALARMS[name]["AlarmDescription"]
    assert ALARMS[name]["AlarmName"] == {"Fn::Sub": ALARMS[name]["AlarmName"]["Fn::Sub"]}
    assert "${Stage}" in ALARMS[name]["AlarmName"]["Fn::Sub"]


def test_alarm_topic_is_created_unless_one_is_given_and_email_is_optional():
    params = TEMPLATE.doc["Parameters"]
    assert params["AlarmTopicArn"]["Default"] == ""
    assert params["AlarmEmail"]["Default"] == ""
    conditions = TEMPLATE.doc["Conditions"]
    assert conditions["CreateAlarmTopic"] == {"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}
    assert RESOURCES["AlarmTopic"]["Condition"] == "CreateAlarmTopic"
    subscription = RESOURCES["AlarmEmailSubscription"]
    assert subscription["Condition"] == "SubscribeAlarmEmail"
    assert subscription["Properties"]["Protocol"] == "email"


def test_canary_function_runs_every_five_minutes_without_retries_and_with_least_privilege():
    fn = RESOURCES["CanaryFunction"]["Properties"]
    assert fn["CodeUri"] == "functions/canary"
    (event,) = fn["Events"].values()
    assert event == {
        "Type": "Schedule",
        "Properties": {"Schedule": "rate(5 minutes)", "Description": "ToolBoxAI Realtime delivery canary"},
    }
    assert fn["EventInvokeConfig"]["MaximumRetryAttempts"] == 0
    # Only the Pusher secret: the canary publishes without the rate limit, so no DynamoDB access.
    assert [next(iter(policy)) for policy in fn["Policies"]] == ["AWSSecretsManagerGetSecretValuePolicy"]
    assert fn["Timeout"] >= 4 * 10


def test_debug_mode_is_one_parameter_that_reaches_every_function():
    assert TEMPLATE.doc["Parameters"]["RealtimeDebug"]["AllowedValues"] == ["true", "false"]
    assert GLOBAL_ENV["REALTIME_DEBUG"] == {"Ref": "RealtimeDebug"}
    for name, res in RESOURCES.items():
        if res["Type"] == "AWS::Serverless::Function":
            local = res["Properties"].get("Environment", {}).get("Variables", {})
            assert "REALTIME_DEBUG" not in local, name


def test_outputs_name_the_dashboard_and_the_alarm_topic():
    outputs = TEMPLATE.doc["Outputs"]
    assert "RealtimeDashboard" in outputs["DashboardUrl"]["Value"]["Fn::Sub"]
    assert outputs["AlarmTopic"]["Value"] == {
        "Fn::If": ["CreateAlarmTopic", {"Ref": "AlarmTopic"}, {"Ref": "AlarmTopicArn"}]
    }


def test_the_source_scan_sees_dimensions_as_emf_emits_them(monkeypatch, capsys):
    # The scan's model of count(): keyword arguments other than value/unit are dimensions, plus the
    # service Powertools adds. Checked against the EMF that count() really prints.
    from toolboxai_realtime.observability import MetricUnit, count, metrics

    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    metrics.clear_metrics()  # what earlier tests added (with metrics disabled) is not part of this check
    count("AuthDenied", reason="invalid_signature", family="private-user")
    count("CanaryLatency", 12.5, MetricUnit.Milliseconds)
    metrics.flush_metrics()
    blobs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    emitted = {
        m["Name"]: frozenset(dims)
        for blob in blobs
        for directive in blob["_aws"]["CloudWatchMetrics"]
        for dims in directive["Dimensions"]
        for m in directive["Metrics"]
    }
    assert {blob["service"] for blob in blobs} == {SERVICE}
    assert {directive["Namespace"] for blob in blobs for directive in blob["_aws"]["CloudWatchMetrics"]} == {
        NAMESPACE
    }
    assert emitted == {
        "AuthDenied": frozenset({"reason", "family", "service"}),
        "CanaryLatency": frozenset({"service"}),
    }
    assert emitted["AuthDenied"] in EMITTED["AuthDenied"]
    assert emitted["CanaryLatency"] in EMITTED["CanaryLatency"]
