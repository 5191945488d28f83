"""openapi.json: generated from the resolvers, current, complete, with the catalog and security schemes."""

from __future__ import annotations

import copy
import json
import re

import pytest

from local_stack.template import Template, load_template
from scripts import export_openapi

DOCUMENT = export_openapi.build()


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def test_committed_openapi_json_is_current():
    assert export_openapi.is_current(), "openapi.json is stale: run `make openapi`"
    assert json.loads(export_openapi.OPENAPI_PATH.read_text(encoding="utf-8")) == DOCUMENT


def test_every_route_of_the_template_is_documented_once():
    documented = sorted((m.upper(), _shape(p)) for p, ops in DOCUMENT["paths"].items() for m in ops)
    routed = sorted((r.method, _shape(r.path)) for r in load_template().http_routes())
    assert documented == routed


def test_document_has_this_apis_title_version_and_servers():
    assert DOCUMENT["openapi"].startswith("3.1")
    assert DOCUMENT["info"]["title"] == "ToolBoxAI Realtime API"
    assert DOCUMENT["info"]["version"] == export_openapi.version()
    assert DOCUMENT["servers"][0]["url"] == "http://127.0.0.1:8008"


def test_bearer_tokens_everywhere_but_health_and_the_signed_webhook():
    schemes = DOCUMENT["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {
        **schemes["bearerAuth"],
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    assert schemes["pusherWebhookSignature"]["name"] == "X-Pusher-Signature"
    assert DOCUMENT["security"] == [{"bearerAuth": []}]
    assert DOCUMENT["paths"]["/health"]["get"]["security"] == []
    assert DOCUMENT["paths"]["/pusher/webhook"]["post"]["security"] == [{"pusherWebhookSignature": []}]
    assert "security" not in DOCUMENT["paths"]["/pusher/auth"]["post"]


def test_trigger_routes_show_the_event_catalog_and_its_schemas():
    for path in ("/realtime/trigger", "/realtime/trigger/batch"):
        catalog = DOCUMENT["paths"][path]["post"]["x-event-catalog"]
        assert catalog["private-user"]["personal_notification"] == {
            "$ref": "#/components/schemas/UserNotification"
        }
        assert catalog["private-canary"]["canary_probe"] == {"$ref": "#/components/schemas/CanaryProbe"}
        for events in catalog.values():
            for ref in events.values():
                assert ref["$ref"].rsplit("/", 1)[-1] in DOCUMENT["components"]["schemas"]


def test_every_reference_resolves_inside_the_document():
    text = json.dumps(DOCUMENT)
    for ref in set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', text)):
        assert ref in DOCUMENT["components"]["schemas"], ref


def test_each_operation_names_its_lambda_function():
    functions = set(load_template().functions())
    for operations in DOCUMENT["paths"].values():
        for operation in operations.values():
            assert operation["x-lambda-function"] in functions


def test_a_template_route_without_a_resolver_is_an_error():
    doc = copy.deepcopy(dict(load_template().doc))
    events = doc["Resources"]["HealthFunction"]["Properties"]["Events"]
    events["Ghost"] = {"Type": "HttpApi", "Properties": {"Method": "GET", "Path": "/ghost"}}

    with pytest.raises(export_openapi.OpenApiError, match="/ghost"):
        export_openapi.build(Template(doc))


def test_check_mode_reports_a_stale_file_and_write_fixes_it(tmp_path, capsys):
    target = tmp_path / "openapi.json"
    target.write_text("{}\n")

    assert export_openapi.main(["--check", "--path", str(target)]) == 1
    assert "make openapi" in capsys.readouterr().err
    assert export_openapi.main(["--path", str(target)]) == 0
    assert export_openapi.main(["--check", "--path", str(target)]) == 0
    assert json.loads(target.read_text()) == DOCUMENT


# ----------------------------------------------------------------------------- issue 11, item 6


def _document():
    from scripts import export_openapi

    return export_openapi.build()


def test_every_error_status_is_the_error_model_and_no_blanket_500():
    doc = _document()
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "500" not in responses, (method, path)
            assert {"400", "503"} <= set(responses), (method, path)
            for status, response in responses.items():
                if int(status) >= 400 and path != "/health":
                    ref = response["content"]["application/json"]["schema"]["$ref"]
                    assert ref == "#/components/schemas/Error", (method, path, status)


@pytest.mark.parametrize(
    ("path", "media_types"),
    [
        ("/pusher/auth", {"application/x-www-form-urlencoded", "application/json"}),
        ("/pusher/user-auth", {"application/x-www-form-urlencoded", "application/json"}),
        ("/realtime/maintenance", {"application/json"}),
        ("/pusher/webhook", {"application/json"}),
        ("/realtime/trigger", {"application/json"}),
    ],
)
def test_every_body_route_documents_its_body(path, media_types):
    operation = _document()["paths"][path]["post"]
    assert set(operation["requestBody"]["content"]) == media_types
    assert {"413", "415"} <= set(operation["responses"]) or path == "/pusher/webhook"


def test_bearer_routes_document_401_and_the_auth_routes_429():
    paths = _document()["paths"]
    assert "401" in paths["/realtime/channels"]["get"]["responses"]
    assert "429" in paths["/pusher/auth"]["post"]["responses"]
    assert "Retry-After" in paths["/pusher/auth"]["post"]["responses"]["429"]["headers"]
