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

from botocore.exceptions import BotoCoreError, ClientError

from ..aws import dynamodb
from ..errors import Conflict, UpstreamUnavailable
from ..maintenance.records import AlertRecord, AlertState, WindowRecord, WindowStatus
from ..observability import logger
from ..settings import get_settings
from ._attributes import get_int as _int
from ._attributes import get_str as _str
from ._attributes import n as _n
from ._attributes import s as _s

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
    item: dict[str, AttributeValueTypeDef] = {
        "id": _s(window.window_id),
        "gpk": _s(_PARTITION),
        "starts_at": _n(window.starts_at),
        "ends_at": _n(window.ends_at),
        "title": _s(window.title),
        "message": _s(window.message),
        "lead_minutes": {"L": [_n(m) for m in window.lead_minutes]},
        "status": _s(window.status),
        "created_at": _n(window.created_at),
        "created_by": _s(window.created_by),
        "expires_at": _n(window.expires_at),
        "alerts": {"M": {key: {"M": _alert_attrs(rec)} for key, rec in window.alerts.items()}},
    }
    if window.action_url is not None:
        item["action_url"] = _s(window.action_url)
    return item


def _alert_attrs(record: AlertRecord) -> dict[str, AttributeValueTypeDef]:
    attrs: dict[str, AttributeValueTypeDef] = {"state": _s(record.state), "at": _n(record.at)}
    for name in ("token", "publish_id", "error", "reason"):
        value = getattr(record, name)
        if value is not None:
            attrs[name] = _s(value)
    for name in ("lease_until", "sent_at"):
        value = getattr(record, name)
        if value is not None:
            attrs[name] = _n(value)
    return attrs


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
        state=_STATES.get(_str(attrs, "state"), "failed"),
        at=_int(attrs, "at") or 0,
        token=_str(attrs, "token"),
        lease_until=_int(attrs, "lease_until"),
        sent_at=_int(attrs, "sent_at"),
        publish_id=_str(attrs, "publish_id"),
        error=_str(attrs, "error"),
        reason=_str(attrs, "reason"),
    )


def _window(item: Mapping[str, Any]) -> WindowRecord:
    alerts = item.get("alerts", {}).get("M", {})
    return WindowRecord(
        window_id=str(item["id"]["S"]),
        starts_at=_int(item, "starts_at") or 0,
        ends_at=_int(item, "ends_at") or 0,
        title=_str(item, "title") or "",
        message=_str(item, "message") or "",
        lead_minutes=tuple(int(v["N"]) for v in item.get("lead_minutes", {}).get("L", [])),
        created_at=_int(item, "created_at") or 0,
        created_by=_str(item, "created_by") or "",
        expires_at=_int(item, "expires_at") or 0,
        status="cancelled" if _str(item, "status") == "cancelled" else "scheduled",
        action_url=_str(item, "action_url"),
        cancelled_at=_int(item, "cancelled_at"),
        cancelled_by=_str(item, "cancelled_by"),
        alerts={key: _alert(value.get("M", {})) for key, value in alerts.items()},
    )


# --------------------------------------------------------------------------------------------- calls


def _table() -> str:
    return get_settings().maintenance_table


def _unavailable(exc: Exception) -> UpstreamUnavailable:
    if isinstance(exc, ClientError):
        logger.error(
            "maintenance store failed", extra={"error_code": exc.response.get("Error", {}).get("Code")}
        )
    else:
        logger.error("maintenance store unreachable", extra={"error_type": type(exc).__name__})
    return UpstreamUnavailable("The maintenance store is unavailable.", code="store_unavailable")


def _condition_failed(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def _update(window_id: str, **kwargs: Any) -> dict[str, Any] | None:
    """One conditional ``UpdateItem``: the response, or ``None`` when the condition did not hold."""
    names = {
        k: v for k, v in _NAMES.items() if k in kwargs["UpdateExpression"] + kwargs["ConditionExpression"]
    }
    names.update(kwargs.pop("ExtraNames", {}))
    try:
        response: dict[str, Any] = dynamodb().update_item(  # type: ignore[assignment]
            TableName=_table(),
            Key={"id": _s(window_id)},
            ExpressionAttributeNames=names,
            **kwargs,
        )
    except ClientError as exc:
        if _condition_failed(exc):
            return None
        raise _unavailable(exc) from exc
    except BotoCoreError as exc:
        raise _unavailable(exc) from exc
    return response


def create(window: WindowRecord) -> None:
    """Store a new window. Raises ``Conflict`` if its id is taken, ``UpstreamUnavailable``."""
    try:
        dynamodb().put_item(
            TableName=_table(), Item=_item(window), ConditionExpression="attribute_not_exists(id)"
        )
    except ClientError as exc:
        if _condition_failed(exc):
            raise Conflict("A maintenance window with this id exists.", code="maintenance_exists") from exc
        raise _unavailable(exc) from exc
    except BotoCoreError as exc:
        raise _unavailable(exc) from exc


def get(window_id: str) -> WindowRecord | None:
    """The window (strongly consistent read), or ``None``. Raises ``UpstreamUnavailable``."""
    try:
        item = dynamodb().get_item(TableName=_table(), Key={"id": _s(window_id)}, ConsistentRead=True)
    except (ClientError, BotoCoreError) as exc:
        raise _unavailable(exc) from exc
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
        "ExpressionAttributeValues": {":g": _s(_PARTITION), ":at": _n(at)},
    }
    try:
        for page in dynamodb().get_paginator("query").paginate(**request):
            yield from page.get("Items", [])
    except (ClientError, BotoCoreError) as exc:
        raise _unavailable(exc) from exc


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
    return (
        _update(
            window_id,
            UpdateExpression="SET #alerts.#key = :record",
            ConditionExpression="#alerts.#key.#token = :token",
            ExtraNames={"#key": key},
            ExpressionAttributeValues={":record": {"M": _alert_attrs(sent)}, ":token": _s(token)},
        )
        is not None
    )


def mark_failed(window_id: str, key: str, *, token: str, at: int, error: str) -> bool:
    """Release the caller's claim on alert ``key`` as failed, so that the next run sends it again.

    ``False`` when the claim is no longer the caller's. Raises ``UpstreamUnavailable``.
    """
    failed = AlertRecord(state="failed", at=at, error=error)
    return (
        _update(
            window_id,
            UpdateExpression="SET #alerts.#key = :record",
            ConditionExpression="#alerts.#key.#token = :token",
            ExtraNames={"#key": key},
            ExpressionAttributeValues={":record": {"M": _alert_attrs(failed)}, ":token": _s(token)},
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
                ":record": {"M": _alert_attrs(record)},
                ":status": _s(status),
                ":failed": _s("failed"),
                ":sending": _s("sending"),
                ":now": _n(now),
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
            ":cancelled": _s("cancelled"),
            ":scheduled": _s("scheduled"),
            ":now": _n(now),
            ":by": _s(by),
        },
        ReturnValues="ALL_NEW",
    )
    return _window(response["Attributes"]) if response is not None else None
