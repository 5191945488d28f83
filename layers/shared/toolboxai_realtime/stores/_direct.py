"""The auth path's one ``TransactWriteItems``, sent through botocore's lower-level public pieces.

Why not ``client.transact_write_items``: every call through a botocore client walks the generic
machinery — the parameter serializer over the whole request, the endpoint ruleset (with a JMESPath
search over the transaction for ``ResourceArnList``), about fifteen event emissions, user-agent and
auth-scheme resolution — and on the auth path that was most of the handler's compute (docs/benchmarks.md,
"Auth compute": about 0.85 ms of 1.9 ms with validation already off; this path takes about a quarter of
that). The request itself is fixed in shape and already in DynamoDB's wire format (``attributes`` gives
typed values), so it is one ``json.dumps``.

What stays botocore's, so that behaviour is the client's:

* **the client** (``aws.dynamodb()``, one per deadline plan): its region, endpoint URL (``AWS_ENDPOINT_URL*``,
  FIPS/dual-stack as the client resolved them), timeouts, pool size and keep-alive, its credentials;
* **signing**: ``botocore.auth.SigV4Auth`` over an ``AWSRequest``, with the credentials refreshed as
  botocore refreshes them;
* **its event hooks**: ``before-call`` (what counts calls), ``before-send`` (the deadline's
  ``aws.refuse_when_spent``, moto's mock in tests, stubs in benchmarks), ``needs-retry`` (the client's
  own standard-mode retry handler: the same retryable errors, attempts, back-off and retry quota as any
  call of that client) and ``after-call`` (which returns the quota);
* **the HTTP layer**: ``botocore.httpsession.URLLib3Session``, built once per client with its settings;
* **the answer**: botocore's JSON parser with the operation's modeled error fields, and the client's own
  exception classes — so a refusal is the same ``ClientError`` (``CancellationReasons`` included) that
  ``stores._dynamodb.guarded`` maps, and a transport failure the same ``BotoCoreError``.

Left out: parameter validation (our stores build the request), client-side endpoint rules per call
(the endpoint depends on the client only: the request names tables, not ARNs), the
``provide-client-params`` / ``before-parameter-build`` hooks and answers from ``before-call`` handlers
(botocore's ``Stubber``: nothing stubs this call that way; moto and our benchmark answer at
``before-send``). X-Ray's botocore patch wraps the client's ``_make_api_call``, so with tracing on this
call has no subsegment of its own: its time shows in the route's segment.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.endpoint import convert_to_response_dict
from botocore.hooks import first_non_none_response
from botocore.httpsession import URLLib3Session
from botocore.parsers import create_parser
from botocore.utils import get_environ_proxies

if TYPE_CHECKING:
    from botocore.model import OperationModel
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["transact_write_items"]

_OPERATION = "TransactWriteItems"


@dataclass(frozen=True)
class _Route:
    """What one client's calls share: where and how to send them."""

    url: str
    region: str
    signing_name: str
    target: str
    operation: OperationModel
    session: URLLib3Session
    credentials: Any
    event_prefix: str
    parser: Any  # botocore's JSON response parser: stateless between parses, built once per client


@lru_cache(maxsize=16)  # one per client, and there is one client per deadline plan
def _route(client: DynamoDBClient) -> _Route:
    meta = client.meta
    config: Any = meta.config
    operation = meta.service_model.operation_model(_OPERATION)
    options: Any = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]  # botocore's own default
    if getattr(config, "tcp_keepalive", False):
        options.append((socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1))
    session = URLLib3Session(
        verify=os.environ.get("AWS_CA_BUNDLE") or True,  # type: ignore[arg-type]  # botocore takes a path too
        proxies=get_environ_proxies(meta.endpoint_url),
        timeout=(config.connect_timeout, config.read_timeout),  # type: ignore[arg-type]  # (connect, read) too
        max_pool_connections=config.max_pool_connections,
        socket_options=options,
    )
    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    assert boto3.DEFAULT_SESSION is not None
    return _Route(
        url=meta.endpoint_url.rstrip("/") + "/",
        region=meta.region_name,
        signing_name=meta.service_model.signing_name,
        target=f"{meta.service_model.metadata['targetPrefix']}.{_OPERATION}",
        operation=operation,
        session=session,
        credentials=boto3.DEFAULT_SESSION.get_credentials(),
        event_prefix=f"{meta.service_model.service_id.hyphenize()}.{_OPERATION}",
        parser=create_parser("json"),
    )


def transact_write_items(client: DynamoDBClient, items: list[Any]) -> dict[str, Any]:
    """``client.transact_write_items(TransactItems=items)``, without the client's per-call machinery.

    ``items`` must already be in DynamoDB's wire format (``stores._dynamodb.attributes``). Returns the
    parsed answer. Raises what the client raises: its ``ClientError`` subclasses for DynamoDB's error
    answers (``TransactionCanceledException`` with ``CancellationReasons``), ``BotoCoreError`` for
    transport failures and for ``aws.DeadlineExceeded``; retries as the client's retry handler decides.
    """
    route = _route(client)
    events: Any = client.meta.events  # a botocore HierarchicalEmitter
    body = json.dumps(
        # botocore fills the idempotency token of a transaction itself; so do we.
        {"TransactItems": items, "ClientRequestToken": str(uuid.uuid4())},
        separators=(",", ":"),
    ).encode()
    context: dict[str, Any] = {}
    # As the client announces a call (tests and benchmarks count calls on this event).
    events.emit(
        f"before-call.{route.event_prefix}",
        model=route.operation,
        params={"TransactItems": items},
        request_signer=None,
        context=context,
    )
    attempts = 0
    while True:
        attempts += 1
        http_response, parsed, caught = _attempt(route, events, body)
        decision = first_non_none_response(
            events.emit(
                f"needs-retry.{route.event_prefix}",
                response=None if http_response is None else (http_response, parsed),
                endpoint=None,
                operation=route.operation,
                attempts=attempts,
                caught_exception=caught,
                request_dict={"context": context},
            )
        )
        if not decision:  # None or False: no retry
            break
        time.sleep(decision)
    if caught is not None:
        raise caught
    assert http_response is not None
    assert parsed is not None
    events.emit(
        f"after-call.{route.event_prefix}",
        http_response=http_response,
        parsed=parsed,
        model=route.operation,
        context=context,
    )
    if http_response.status_code >= 300:
        code = parsed.get("Error", {}).get("Code")
        error: Any = client.exceptions.from_code(code)
        raise error(parsed, _OPERATION)
    return parsed


def _attempt(route: _Route, events: Any, body: bytes) -> tuple[Any, dict[str, Any] | None, Exception | None]:
    """One signed attempt: ``(http_response, parsed, None)`` or ``(None, None, the exception)``."""
    request = AWSRequest(
        method="POST",
        url=route.url,
        data=body,
        headers={"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": route.target},
    )
    try:
        SigV4Auth(route.credentials.get_frozen_credentials(), route.signing_name, route.region).add_auth(
            request
        )
        # As botocore's endpoint: header values as UTF-8 bytes, every before-send hook called (the
        # deadline's refusal, moto's mock, benchmark stubs), the first answer taken, else the network.
        for name, value in list(request.headers.items()):
            if isinstance(value, str):
                request.headers[name] = value.encode()  # type: ignore[assignment]
        prepared = request.prepare()
        http_response = first_non_none_response(
            events.emit(f"before-send.{route.event_prefix}", request=prepared)
        ) or route.session.send(prepared)
    except Exception as exc:  # handed to the retry handler, then raised, as botocore's endpoint does
        return None, None, exc
    response = convert_to_response_dict(http_response, route.operation)
    output: Any = route.operation.output_shape
    parsed: dict[str, Any] = route.parser.parse(response, output)
    if http_response.status_code >= 300:
        # As botocore's endpoint: the error's modeled fields (CancellationReasons) in a second pass.
        code = parsed.get("Error", {}).get("Code")
        shape = route.operation.service_model.shape_for_error_code(code) if code else None
        if shape is not None:
            parsed.update(route.parser.parse(response, shape))
    return http_response, parsed, None
