"""Our own failures are 500 internal_error, never a client 4xx: a response that fails its declared model
(not Powertools' 422), a ValueError that is not a malformed multipart body (not a 400).

(No ``from __future__ import annotations`` here: Powertools reads the route's return annotation.)
"""

import json
from typing import Any

from aws_lambda_powertools.event_handler import Response
from pydantic import BaseModel

from toolboxai_realtime.http import create_app


class Answer(BaseModel):
    count: int


app = create_app()


@app.get("/answer")
def answer() -> Answer:
    return {"count": "not a number"}  # type: ignore[return-value]


@app.get("/fine")
def fine() -> Response[Any]:
    return Response(200, "application/json", json.dumps({"ok": True}))


def call(path: str) -> dict[str, Any]:
    event = {
        "version": "2.0",
        "routeKey": f"GET {path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {},
        "isBase64Encoded": False,
        "requestContext": {
            "http": {"method": "GET", "path": path, "sourceIp": "1.2.3.4"},
            "requestId": "r",
            "stage": "$default",
        },
    }
    result: dict[str, Any] = app.resolve(event, {})
    return result


def test_a_response_that_fails_its_own_model_is_a_500_not_a_422():
    broken = call("/answer")
    assert broken["statusCode"] == 500
    assert json.loads(broken["body"]) == {
        "code": "internal_error",
        "message": "Something went wrong on our side.",
        "request_id": "r",
    }


def test_a_valid_response_is_untouched():
    assert call("/fine")["statusCode"] == 200


@app.get("/bug")
def bug() -> Response[Any]:
    raise ValueError("a bug of ours, not the client's input")


def test_a_value_error_of_our_own_is_a_500_not_a_400():
    result = call("/bug")
    assert result["statusCode"] == 500
    assert json.loads(result["body"])["code"] == "internal_error"
