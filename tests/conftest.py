"""Shared fixtures: local configuration, cache resets, moto tables from template.yaml, handler loading."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import responses

from local_stack.config import LOCAL_DEFAULTS
from local_stack.dynamo import create_tables
from local_stack.gateway import LocalContext, LocalGateway
from local_stack.template import load_template
from toolboxai_realtime.caches import reset_caches

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"
# The Pusher HTTP API of the local defaults (soketi's address, app 1001), as the SDK calls it.
EVENTS_URL = "http://127.0.0.1:6001/apps/1001/events"
BATCH_URL = "http://127.0.0.1:6001/apps/1001/batch_events"

# The local configuration, with metrics off (EMF lines on stdout would only add noise to test output).
os.environ.update({k: v for k, v in LOCAL_DEFAULTS.items() if k not in os.environ})
os.environ.update(load_template().environment(os.environ))
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)  # unit/integration tests use moto in-process


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    reset_caches()
    yield
    reset_caches()


@pytest.fixture
def aws_tables() -> Iterator[Any]:
    """moto in-process with every table of template.yaml created from its definition."""
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("dynamodb", region_name=os.environ["AWS_DEFAULT_REGION"])
        create_tables(client)
        yield client


@pytest.fixture(scope="session")
def dynamodb_server() -> Iterator[str]:
    """moto's DynamoDB server as the local stack runs it (requests serialised like DynamoDB's item
    writes), with the template's tables; for tests of atomicity under concurrency."""
    from local_stack.moto_dynamodb import running

    with running() as endpoint:
        region = os.environ["AWS_DEFAULT_REGION"]
        create_tables(boto3.client("dynamodb", endpoint_url=endpoint, region_name=region))
        yield endpoint


@pytest.fixture
def served_tables(dynamodb_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the layer's DynamoDB client at the moto server for this test."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_server)
    reset_caches()
    return dynamodb_server


_GATEWAY: LocalGateway | None = None


def gateway() -> LocalGateway:
    """One gateway (and so one import of each function) for the whole test session."""
    global _GATEWAY
    if _GATEWAY is None:
        _GATEWAY = LocalGateway()
    return _GATEWAY


def http_event(
    method: str,
    path: str,
    *,
    body: bytes | str | dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    query: str = "",
    source_ip: str = "198.51.100.7",
) -> dict[str, Any]:
    """The API Gateway v2 event the local gateway would build for this request."""
    from local_stack.gateway import build_http_event

    hdrs = {k.lower(): v for k, v in (headers or {}).items()}
    if isinstance(body, dict):
        raw = json.dumps(body).encode()
        hdrs.setdefault("content-type", "application/json")
    elif isinstance(body, str):
        raw = body.encode()
    else:
        raw = body or b""
    found = gateway().match(method, path)
    assert found is not None, f"no route for {method} {path}"
    route, params = found
    return build_http_event(
        method=method,
        raw_path=path,
        raw_query=query,
        headers=list(hdrs.items()),
        body=raw,
        source_ip=source_ip,
        route=route,
        path_params=params,
    )


def invoke(event: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
    """Invoke the function owning the event's route; returns (status, headers, parsed JSON body)."""
    found = gateway().match(event["requestContext"]["http"]["method"], event["rawPath"])
    assert found is not None
    result = gateway().invoke(found[0].function, event)
    body = result.get("body") or ""
    if result.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    try:
        parsed = json.loads(body) if body else None
    except json.JSONDecodeError:
        parsed = body
    return int(result["statusCode"]), {k.lower(): v for k, v in (result.get("headers") or {}).items()}, parsed


def client_events() -> Any:
    """The botocore event hooks of every client the layer builds from now on (``aws.client_events``)."""
    from toolboxai_realtime import aws

    return aws.client_events()


def load_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return event


def lambda_context(name: str = "test") -> LocalContext:
    return LocalContext(function_name=name, aws_request_id="test-request")


@pytest.fixture
def pusher() -> Iterator[responses.RequestsMock]:
    """The Pusher HTTP API, answering every trigger and batch with 200 (``mock.calls`` lists them)."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(EVENTS_URL, json={})
        mock.post(BATCH_URL, json={})
        yield mock
