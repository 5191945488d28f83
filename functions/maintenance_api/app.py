"""Maintenance windows (admin): POST/GET /realtime/maintenance, GET/DELETE /realtime/maintenance/{id}.

Windows are stored in MaintenanceTable; the scheduled function (functions/maintenance_scheduler) sends
their ``maintenance_alert`` events on ``dashboard-updates``. Cancelling a window whose alerts went out
sends a cancellation notice. The token is checked before the body is read (401/403 before 4xx of input).
"""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Depends, Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from toolboxai_realtime import deadlines, maintenance
from toolboxai_realtime.entry_point import HTTP_API, entry_point
from toolboxai_realtime.http import create_app, documented, parse_json_object, reply, require
from toolboxai_realtime.identity import Principal
from toolboxai_realtime.maintenance import (
    MaintenanceWindowList,
    MaintenanceWindowRequest,
    MaintenanceWindowView,
)

app = create_app()

Admin = Annotated[Principal, Depends(require(maintenance.require_admin))]
"""An admin (401/403 before the body is read)."""

_COMMON: dict[int, str] = {
    403: "The token does not have the admin role.",
    503: "DynamoDB unavailable (Retry-After).",
}


@app.post(
    "/realtime/maintenance",
    summary="Schedule a maintenance window and its alerts",
    status_code=201,
    responses=documented(
        "Scheduled (Location names the window).",
        {
            400: "Malformed JSON.",
            413: "Body, or the alerts it would produce, too large.",
            415: "Not application/json.",
            422: "Invalid window: ends before it starts, starts in the past, lengths, ...",
            **_COMMON,
        },
        status=201,
    ),
)
def create_window(principal: Admin) -> Response[MaintenanceWindowView]:
    # The body is parsed here, not as a typed parameter: anything but application/json is a 415.
    request = MaintenanceWindowRequest.model_validate(parse_json_object(app.current_event))
    window = maintenance.create_window(request, principal)
    return reply(window, status=201, headers={"Location": f"/realtime/maintenance/{window.id}"})


@app.get(
    "/realtime/maintenance",
    summary="Upcoming and recent maintenance windows, with the alerts that went out",
    responses=documented("By start time.", _COMMON),
)
def list_windows(_: Admin) -> MaintenanceWindowList:
    return maintenance.list_windows()


@app.get(
    "/realtime/maintenance/<window_id>",
    summary="One maintenance window",
    responses=documented("The window.", {404: "Unknown id.", **_COMMON}),
)
def get_window(window_id: str, _: Admin) -> MaintenanceWindowView:
    return maintenance.get_window(window_id)


@app.delete(
    "/realtime/maintenance/<window_id>",
    summary="Cancel a maintenance window (a notice goes out if its alerts did)",
    responses=documented(
        "Cancelled (also when it already was).",
        {404: "Unknown id.", 409: "The window has ended.", **_COMMON},
    ),
)
def cancel_window(window_id: str, principal: Admin) -> MaintenanceWindowView:
    return maintenance.cancel_window(window_id, principal)


@entry_point(deadlines.API_BUDGET_SECONDS, correlation_id_path=HTTP_API)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
