"""MaintenanceTable: one item per maintenance window, its alerts recorded on the same item.

Item ``{id: "mw_…"}`` holds the window (``starts_at``/``ends_at`` as Unix seconds, ``title``, ``message``,
``action_url``?, ``lead_minutes``, ``status`` ``scheduled``|``cancelled``, who created/cancelled it and
when) and ``alerts``, a map from alert key (``"1440m"``, ``"0m"``, ``"cancelled"``) to the alert's record:

* ``{state: "sending", token, lease_until, at}`` — claimed by one run, which is sending it now;
* ``{state: "sent", sent_at, publish_id, at}``;
* ``{state: "failed", error, at}`` — the send failed; the next run claims it again;
* ``{state: "skipped" | "superseded", reason, at}`` — will never be sent (see ``maintenance``).

Keeping the alerts on the window's own item is what makes the exactly-once protocol cheap: a claim is
one conditional ``UpdateItem`` that checks, atomically, both the window's status (a cancelled window is
never alerted) and the alert's record (nobody else holds it and it was not sent). Cancelling is a
conditional update of the same item, so it is serialised with every claim.

Listing uses the ``by-end`` index (every window under ``gpk = "window"``, sorted by ``ends_at``): the
scheduler reads the windows that have not ended, the API the upcoming and recent ones. The index is
eventually consistent, which is harmless: what is read there only decides what to *try*; every write is
conditional on the base item. Windows expire through TTL (``expires_at``) 30 days after their end;
readers never ask for windows that old, so moto's never-expiring items do not show.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal

from ..aws import dynamodb
from ..errors import Conflict
from ..maintenance.records import AlertRecord, AlertState, WindowRecord, WindowStatus
from ..settings import get_settings
from ._dynamodb import CONDITION_FAILED, Refusal, attributes, guarded, plain

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

# The records are defined beside the pure schedule that reads them (which imports no AWS library).
__all__ = [
    "INDEX_NAME",
    "AlertRecord",
    "AlertState",
    "WindowRecord",
    "WindowStatus",
    "cancel",
    "claim",
    "create",
    "ending_after",
    "get",
    "mark_failed",
    "mark_sent",
    "settle",
]

INDEX_NAME = "by-end"
_PARTITION = "window"

# Names used in expressions (several are DynamoDB reserved words: status, state, token).
_NAMES = {
    "#status": "status",
    "#alerts": "alerts",
    "#state": "state",
    "#token": "token",
    "#lease": "lease_until",
    "#ends": "ends_at",
}
# The alert #key may be claimed: never recorded, or its send failed, or its claimant's lease ran out.
_CLAIMABLE = (
    "(attribute_not_exists(#alerts.#key) OR #alerts.#key.#state = :failed"
    " OR (#alerts.#key.#state = :sending AND #alerts.#key.#lease < :now))"
)


# ------------------------------------------------------------------------------------------- encoding


def _item(window: WindowRecord) -> dict[str, AttributeValueTypeDef]:
    return attributes(
        {
            "id": window.window_id,
            "gpk": _PARTITION,
            "starts_at": window.starts_at,
            "ends_at": window.ends_at,
            "title": window.title,
            "message": window.message,
            "lead_minutes": list(window.lead_minutes),
            "status": window.status,
            "created_at": window.created_at,
            "created_by": window.created_by,
            "expires_at": window.expires_at,
            "alerts": {key: _alert_attrs(rec) for key, rec in window.alerts.items()},
            "action_url": window.action_url,
        }
    )


def _alert_attrs(record: AlertRecord) -> dict[str, Any]:
    """The alert's record as a map value (unset fields left out)."""
    fields = ("state", "at", "token", "publish_id", "error", "reason", "lease_until", "sent_at")
    return {name: value for name in fields if (value := getattr(record, name)) is not None}


_STATES: dict[str | None, AlertState] = {
    "sending": "sending",
    "sent": "sent",
    "failed": "failed",
    "skipped": "skipped",
    "superseded": "superseded",
}


def _alert(attrs: Mapping[str, Any]) -> AlertRecord:
    return AlertRecord(
        # An unreadable state is taken as failed: claimable again, so never silently dropped.
        state=_STATES.get(attrs.get("state"), "failed"),
        at=attrs.get("at") or 0,
        token=attrs.get("token"),
        lease_until=attrs.get("lease_until"),
        sent_at=attrs.get("sent_at"),
        publish_id=attrs.get("publish_id"),
        error=attrs.get("error"),
        reason=attrs.get("reason"),
    )


def _window(raw: Mapping[str, Any]) -> WindowRecord:
    item = plain(raw)
    alerts = item.get("alerts") or {}
    return WindowRecord(
        window_id=str(item["id"]),
        starts_at=item.get("starts_at") or 0,
        ends_at=item.get("ends_at") or 0,
        title=item.get("title") or "",
        message=item.get("message") or "",
        lead_minutes=tuple(item.get("lead_minutes") or ()),
        created_at=item.get("created_at") or 0,
        created_by=item.get("created_by") or "",
        expires_at=item.get("expires_at") or 0,
        status="cancelled" if item.get("status") == "cancelled" else "scheduled",
        action_url=item.get("action_url"),
        cancelled_at=item.get("cancelled_at"),
        cancelled_by=item.get("cancelled_by"),
        alerts={key: _alert(value if isinstance(value, dict) else {}) for key, value in alerts.items()},
    )


# --------------------------------------------------------------------------------------------- calls


def _table() -> str:
    return get_settings().maintenance_table


def _update(window_id: str, **kwargs: Any) -> dict[str, Any] | None:
    """One conditional ``UpdateItem``: the response, or ``None`` when the condition did not hold."""
    names = {
        k: v for k, v in _NAMES.items() if k in kwargs["UpdateExpression"] + kwargs["ConditionExpression"]
    }
    names.update(kwargs.pop("ExtraNames", {}))
    values = attributes(kwargs.pop("ExpressionAttributeValues"))
    try:
        with guarded("maintenance", "update", expect={CONDITION_FAILED}):
            response: dict[str, Any] = dynamodb().update_item(  # type: ignore[assignment]
                TableName=_table(),
                Key=attributes({"id": window_id}),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                **kwargs,
            )
    except Refusal:
        return None
    return response


def create(window: WindowRecord) -> None:
    """Store a new window. Raises ``Conflict`` if its id is taken, ``UpstreamUnavailable``."""
    try:
        with guarded("maintenance", "create", expect={CONDITION_FAILED}):
            dynamodb().put_item(
                TableName=_table(), Item=_item(window), ConditionExpression="attribute_not_exists(id)"
            )
    except Refusal as exc:
        raise Conflict("A maintenance window with this id exists.", code="maintenance_exists") from exc


def get(window_id: str) -> WindowRecord | None:
    """The window (strongly consistent read), or ``None``. Raises ``UpstreamUnavailable``."""
    with guarded("maintenance", "get"):
        item = dynamodb().get_item(TableName=_table(), Key=attributes({"id": window_id}), ConsistentRead=True)
    found = item.get("Item")
    return _window(found) if found else None


def ending_after(at: int) -> list[WindowRecord]:
    """Every window whose end is after ``at``, by end time (the ``by-end`` index, every page).

    Raises ``UpstreamUnavailable``.
    """
    return [_window(item) for item in _query(at)]


def _query(at: int) -> Iterator[dict[str, Any]]:
    request: dict[str, Any] = {
        "TableName": _table(),
        "IndexName": INDEX_NAME,
        "KeyConditionExpression": "gpk = :g AND #ends > :at",
        "ExpressionAttributeNames": {"#ends": "ends_at"},
        "ExpressionAttributeValues": attributes({":g": _PARTITION, ":at": at}),
    }
    with guarded("maintenance", "query"):
        for page in dynamodb().get_paginator("query").paginate(**request):
            yield from page.get("Items", [])


def claim(window_id: str, key: str, *, token: str, now: int, lease_until: int, status: WindowStatus) -> bool:
    """Claim alert ``key`` for the caller (identified by ``token``) until ``lease_until``.

    Succeeds, in one conditional write, only if the window's status is ``status`` and the alert is
    claimable (never recorded, failed, or claimed under a lease that ended before ``now``): of any number
    of concurrent claimants exactly one gets ``True``. Raises ``UpstreamUnavailable``.
    """
    claimed = AlertRecord(state="sending", at=now, token=token, lease_until=lease_until)
    return _set_if_claimable(window_id, key, claimed, now=now, status=status)


def mark_sent(window_id: str, key: str, *, token: str, at: int, publish_id: str) -> bool:
    """Record alert ``key`` as sent, if the caller's claim (``token``) still holds.

    ``False`` means another run took the claim over (the lease ran out while this one was sending).
    Deliberately not conditional on the window's status: an alert that went out is recorded as sent even
    if the window was cancelled meanwhile (that is what makes the cancellation notice go out).
    Raises ``UpstreamUnavailable``.
    """
    sent = AlertRecord(state="sent", at=at, sent_at=at, publish_id=publish_id)
    return _set_if_held(window_id, key, sent, token=token)


def mark_failed(window_id: str, key: str, *, token: str, at: int, error: str) -> bool:
    """Release the caller's claim on alert ``key`` as failed, so that the next run sends it again.

    ``False`` when the claim is no longer the caller's. Raises ``UpstreamUnavailable``.
    """
    return _set_if_held(window_id, key, AlertRecord(state="failed", at=at, error=error), token=token)


def _set_if_held(window_id: str, key: str, record: AlertRecord, *, token: str) -> bool:
    """Set alert ``key`` to ``record`` in one conditional write, only if the claim ``token`` holds it."""
    return (
        _update(
            window_id,
            UpdateExpression="SET #alerts.#key = :record",
            ConditionExpression="#alerts.#key.#token = :token",
            ExtraNames={"#key": key},
            ExpressionAttributeValues={":record": _alert_attrs(record), ":token": token},
        )
        is not None
    )


def settle(
    window_id: str,
    key: str,
    *,
    state: Literal["skipped", "superseded"],
    reason: str,
    now: int,
    status: WindowStatus,
) -> bool:
    """Record that alert ``key`` will never be sent, if it is still claimable (as for ``claim``).

    ``False`` when another run holds it or has settled it. Raises ``UpstreamUnavailable``.
    """
    return _set_if_claimable(
        window_id, key, AlertRecord(state=state, at=now, reason=reason), now=now, status=status
    )


def _set_if_claimable(
    window_id: str, key: str, record: AlertRecord, *, now: int, status: WindowStatus
) -> bool:
    """Set alert ``key`` to ``record`` in one conditional write, only if the window's status is
    ``status`` and the alert is claimable (``_CLAIMABLE``). Raises ``UpstreamUnavailable``."""
    return (
        _update(
            window_id,
            UpdateExpression="SET #alerts.#key = :record",
            ConditionExpression=f"#status = :status AND {_CLAIMABLE}",
            ExtraNames={"#key": key},
            ExpressionAttributeValues={
                ":record": _alert_attrs(record),
                ":status": status,
                ":failed": "failed",
                ":sending": "sending",
                ":now": now,
            },
        )
        is not None
    )


def cancel(window_id: str, *, by: str, now: int) -> WindowRecord | None:
    """Cancel a scheduled window that has not ended; returns it as cancelled.

    ``None`` when there is no such window, it is already cancelled or it has ended (the caller reads it
    to tell which). Raises ``UpstreamUnavailable``.
    """
    response = _update(
        window_id,
        UpdateExpression="SET #status = :cancelled, cancelled_at = :now, cancelled_by = :by",
        ConditionExpression="#status = :scheduled AND #ends > :now",
        ExpressionAttributeValues={
            ":cancelled": "cancelled",
            ":scheduled": "scheduled",
            ":now": now,
            ":by": by,
        },
        ReturnValues="ALL_NEW",
    )
    return _window(response["Attributes"]) if response is not None else None
