"""Maintenance windows (admin): POST/GET /realtime/maintenance, GET/DELETE /realtime/maintenance/{id}.

Windows are stored in MaintenanceTable; the scheduled function (functions/maintenance_scheduler) sends
their ``maintenance_alert`` events on ``dashboard-updates``. Cancelling a window whose alerts went out
sends a cancellation notice. The token is checked before the body is read (401/403 before 4xx of input).
"""

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from toolboxai_realtime import deadlines, maintenance
from toolboxai_realtime.http import create_app, json_response, parse_json_object
from toolboxai_realtime.maintenance import (
    MaintenanceWindowList,
    MaintenanceWindowRequest,
    MaintenanceWindowView,
)
from toolboxai_realtime.observability import logger, metrics, tracer

app = create_app()

_WINDOW: dict[str, Any] = {"application/json": {"model": MaintenanceWindowView}}
_COMMON: dict[int, Any] = {
    401: {"description": "Missing or invalid bearer token."},
    403: {"description": "The token does not have the admin role."},
    503: {"description": "DynamoDB unavailable (Retry-After)."},
}


@app.post(
    "/realtime/maintenance",
    summary="Schedule a maintenance window and its alerts",
    responses={
        201: {"description": "Scheduled (Location names the window).", "content": _WINDOW},
        400: {"description": "Malformed JSON."},
        413: {"description": "Body, or the alerts it would produce, too large."},
        415: {"description": "Not application/json."},
        422: {"description": "Invalid window: ends before it starts, starts in the past, lengths, ..."},
        **_COMMON,
    },
)
def create_window() -> Response[Any]:
    principal = maintenance.admin(app.current_event.headers.get("authorization"))
    request = MaintenanceWindowRequest.model_validate(parse_json_object(app.current_event))
    window = maintenance.create_window(request, principal)
    return json_response(window, status=201, headers={"Location": f"/realtime/maintenance/{window.id}"})


@app.get(
    "/realtime/maintenance",
    summary="Upcoming and recent maintenance windows, with the alerts that went out",
    responses={
        200: {
            "description": "By start time.",
            "content": {"application/json": {"model": MaintenanceWindowList}},
        },
        **_COMMON,
    },
)
def list_windows() -> Response[Any]:
    maintenance.admin(app.current_event.headers.get("authorization"))
    return json_response(maintenance.list_windows())


@app.get(
    "/realtime/maintenance/<window_id>",
    summary="One maintenance window",
    responses={
        200: {"description": "The window.", "content": _WINDOW},
        404: {"description": "Unknown id."},
        **_COMMON,
    },
)
def get_window(window_id: str) -> Response[Any]:
    maintenance.admin(app.current_event.headers.get("authorization"))
    return json_response(maintenance.get_window(window_id))


@app.delete(
    "/realtime/maintenance/<window_id>",
    summary="Cancel a maintenance window (a notice goes out if its alerts did)",
    responses={
        200: {"description": "Cancelled (also when it already was).", "content": _WINDOW},
        404: {"description": "Unknown id."},
        409: {"description": "The window has ended."},
        **_COMMON,
    },
)
def cancel_window(window_id: str) -> Response[Any]:
    principal = maintenance.admin(app.current_event.headers.get("authorization"))
    return json_response(maintenance.cancel_window(window_id, principal))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
@deadlines.bounded(deadlines.API_BUDGET_SECONDS)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
