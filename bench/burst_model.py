"""The class-start burst as a DynamoDB write model, built from the layer's own key functions.

When a lesson starts, every student's lesson page subscribes to three channels through pusher-js: one
``POST /pusher/auth`` each, then Pusher's webhooks report what the subscriptions changed. This module
lists, for a given population, every DynamoDB item those requests write and every item they read, using
the same builders the code uses (``stores.auth_limits.item_key``, ``stores.presence.member_info_put``,
``stores.revocations.condition_checks``, ``webhooks.plan`` and the presence store's transaction items),
so a change to a key function changes the model. ``bench/bench_burst.py`` checks the model against the
keys the local stack really writes for a small population, then scales it to the modelled burst.

What is written, per student (three auth requests, their webhooks):

* ``RateLimitTable`` ``auth-limits#<user>``: one update per auth request (the request counter and the
  socket lease), inside the auth's one ``TransactWriteItems``;
* ``RevocationTable``: ``ConditionCheck`` reads only (the user's scope, and the class scope of the two
  class channels); nothing is written;
* ``PresenceTable`` ``channel#presence-classroom-<class>``: the ``info#<user>`` put of the presence auth
  (same transaction), then the webhook writes: ``member#<user>`` (``member_added``), ``occupancy`` of
  every channel's first subscription (``channel_occupied``), ``subscriptions`` on every count change
  (``subscription_count``: modelled once per subscription, the upper bound, since consecutive events of
  one channel in one delivery collapse);
* the presence table's ``ActiveIndex``: every one of those webhook items is "on", so each also writes its
  index entry under ``gpk`` (the shard key).

Capacity units (DynamoDB pricing and quotas; items here are under 1 KB): a write inside
``TransactWriteItems`` costs 2 WCU, a plain write 1 WCU, and the index entry of a written item 1 WCU on
the index. Each partition key serves at most 1,000 WCU/s (``PARTITION_WCU_CEILING``).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "MODELLED_BURST",
    "PARTITION_WCU_CEILING",
    "TARGET_SHARE",
    "WEBHOOK_BATCH_EVENTS",
    "Access",
    "Burst",
    "KeyLoad",
    "Student",
    "accesses_of_call",
    "auth_transaction",
    "lesson_channels",
    "model",
    "population",
    "webhook_events",
]

PARTITION_WCU_CEILING = 1000
"""Write capacity units per second one partition key can take (DynamoDB's per-partition limit)."""
TARGET_SHARE = 0.30
"""Issue 15's goal: no partition key above 30 % of its ceiling in the modelled burst."""
WEBHOOK_BATCH_EVENTS = 20
"""Pusher batches webhook events: up to 20 events (or 250 ms) per delivery (shared/PROTOCOL.md)."""
STUDENTS_PER_CLASS = 30


@dataclass(frozen=True, slots=True)
class Burst:
    """``students`` spread evenly over ``classes``, all opening the lesson page within ``seconds``."""

    students: int
    classes: int
    seconds: float


MODELLED_BURST = Burst(students=10_000, classes=300, seconds=5.0)
"""Issue 15's modelled class start: 10,000 students, 300 classes, 3 channels each, within 5 s."""


@dataclass(frozen=True, slots=True)
class Student:
    user_id: str
    class_id: str


@dataclass(frozen=True, slots=True)
class Access:
    """One item access: a write (``wcu`` > 0) or a read (``wcu`` == 0) of ``key`` in ``table`` (or in
    its index ``index``, whose partition key is then ``key``)."""

    table: str
    index: str | None
    key: str
    wcu: int

    @property
    def where(self) -> str:
        return f"{self.table}/{self.index}" if self.index else self.table


@dataclass(frozen=True)
class KeyLoad:
    """The writes of one partition key over a burst."""

    where: str
    key: str
    writes: int
    wcu: int
    seconds: float

    @property
    def wcu_per_second(self) -> float:
        return self.wcu / self.seconds

    @property
    def share_of_ceiling(self) -> float:
        return self.wcu_per_second / PARTITION_WCU_CEILING


def lesson_channels(student: Student) -> tuple[str, str, str]:
    """The three channels a lesson page authorizes (the seed's integration example: the user's
    notifications, the class's updates, the classroom presence). ``content-generation`` is public: no
    auth request."""
    return (
        f"private-user-{student.user_id}",
        f"private-class-{student.class_id}",
        f"presence-classroom-{student.class_id}",
    )


def population(burst: Burst, *, first_class: int = 101) -> list[Student]:
    """``burst.students`` students, dealt round-robin over ``burst.classes`` classes (so class sizes
    differ by at most one), in the order they open the page: interleaved across classes, as a real
    class start is."""
    return [
        Student(user_id=f"s{i + 1}", class_id=str(first_class + i % burst.classes))
        for i in range(burst.students)
    ]


def auth_transaction(student: Student, channel: str, *, now: float) -> list[dict[str, Any]]:
    """The ``TransactWriteItems`` entries of one ``POST /pusher/auth`` for ``channel``, as
    ``authorization.AuthAttempt`` builds them: the limits update, the revocation checks (the user's scope,
    plus the class scope of a class channel), and the ``user_info`` put of a presence channel."""
    from toolboxai_realtime.channels import parse_channel
    from toolboxai_realtime.settings import get_settings
    from toolboxai_realtime.stores import auth_limits, revocations
    from toolboxai_realtime.stores import presence as presence_store

    update = {
        "Update": {
            "TableName": get_settings().rate_limit_table,
            "Key": {"pk": {"S": auth_limits.item_key(student.user_id)}},
        }
    }
    # As ``authorization._scope_of``: a channel with a class or lesson parameter is also checked for a
    # revocation of that class or lesson.
    params = parse_channel(channel).params
    scopes = [revocations.USER_SCOPE]
    if "class_id" in params or "lesson_id" in params:
        scopes.append(revocations.scope_key(params.get("class_id"), params.get("lesson_id")))
    items: list[Any] = [
        update,
        *revocations.condition_checks(student.user_id, scopes, int(now), now=lambda: now),
    ]
    if parse_channel(channel).is_presence:
        info = {"name": student.user_id, "role": "student", "status": "active"}
        items.append(dict(presence_store.member_info_put(channel, student.user_id, info, now=lambda: now)))
    return items


def webhook_events(students: Sequence[Student]) -> list[dict[str, Any]]:
    """The webhook events the students' subscriptions cause, in order: ``channel_occupied`` for a
    channel's first subscription, ``member_added`` for a presence channel, and ``subscription_count``
    after each subscription."""
    from toolboxai_realtime.channels import parse_channel

    counts: dict[str, int] = defaultdict(int)
    events: list[dict[str, Any]] = []
    for student in students:
        for channel in lesson_channels(student):
            if counts[channel] == 0:
                events.append({"name": "channel_occupied", "channel": channel})
            counts[channel] += 1
            if parse_channel(channel).is_presence:
                events.append({"name": "member_added", "channel": channel, "user_id": student.user_id})
            events.append(
                {"name": "subscription_count", "channel": channel, "subscription_count": counts[channel]}
            )
    return events


def deliveries(events: Sequence[dict[str, Any]], *, time_ms: int) -> Iterator[dict[str, Any]]:
    """``events`` as Pusher would deliver them: bodies of ``WEBHOOK_BATCH_EVENTS`` events each."""
    for n, start in enumerate(range(0, len(events), WEBHOOK_BATCH_EVENTS)):
        yield {"time_ms": time_ms + n, "events": list(events[start : start + WEBHOOK_BATCH_EVENTS])}


def webhook_transactions(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The presence store's transaction items for one delivery (``webhooks.plan`` then the store's
    conditional update of each change)."""
    from toolboxai_realtime import webhooks
    from toolboxai_realtime.settings import get_settings
    from toolboxai_realtime.stores import presence as presence_store

    table = get_settings().presence_table
    changes = webhooks.plan(webhooks.parse_delivery(dict(body)))
    return [dict(presence_store._update(change, table)) for change in changes]


# ------------------------------------------------------------------------------------- key extraction


def _index_keys() -> dict[str, list[tuple[str, str]]]:
    """(index name, its partition-key attribute) of every table, from template.yaml."""
    from local_stack.template import load_template

    out: dict[str, list[tuple[str, str]]] = {}
    for name, props in load_template().tables().items():
        for gsi in props.get("GlobalSecondaryIndexes", []):
            hash_key = next(k["AttributeName"] for k in gsi["KeySchema"] if k["KeyType"] == "HASH")
            out.setdefault(name, []).append((gsi["IndexName"], hash_key))
    return out


_INDEXES: dict[str, list[tuple[str, str]]] | None = None


def _indexes() -> dict[str, list[tuple[str, str]]]:
    global _INDEXES
    if _INDEXES is None:
        _INDEXES = _index_keys()
    return _INDEXES


def _string(value: Any) -> str:
    return str(value.get("S") if isinstance(value, Mapping) and "S" in value else value)


def _set_values(update: Mapping[str, Any]) -> dict[str, Any]:
    """Attribute name -> value of the ``SET a = :v`` clauses of an update expression (plain values only)."""
    names = update.get("ExpressionAttributeNames", {})
    values = update.get("ExpressionAttributeValues", {})
    expression = str(update.get("UpdateExpression", ""))
    out: dict[str, Any] = {}
    if "SET " not in expression:
        return out
    clause = expression.split("SET ", 1)[1]
    for stop in (" REMOVE ", " ADD ", " DELETE "):
        clause = clause.split(stop, 1)[0]
    for part in clause.split(","):
        left, _, right = part.partition("=")
        left, right = left.strip(), right.strip()
        if right in values:
            out[names.get(left, left)] = values[right]
    return out


def _item_accesses(kind: str, body: Mapping[str, Any], write_wcu: int) -> list[Access]:
    table = str(body["TableName"])
    if kind == "ConditionCheck":
        return [Access(table, None, _string(body["Key"]["pk"]), 0)]
    attributes = body["Item"] if kind == "Put" else _set_values(body) if kind == "Update" else {}
    key = body["Item"]["pk"] if kind == "Put" else body["Key"]["pk"]
    out = [Access(table, None, _string(key), write_wcu)]
    for index, attribute in _indexes().get(table, []):
        if attribute in attributes:
            out.append(Access(table, index, _string(attributes[attribute]), 1))
    return out


def accesses_of_call(operation: str, params: Mapping[str, Any]) -> list[Access]:
    """The item accesses of one DynamoDB call (botocore's operation name and parameters): a write inside
    a transaction is 2 WCU, a plain one 1 WCU; an index entry written with it 1 WCU on the index; a
    ``ConditionCheck`` or a ``GetItem`` a read. Queries and scans are not item accesses (empty)."""
    if operation == "TransactWriteItems":
        out: list[Access] = []
        for entry in params["TransactItems"]:
            ((kind, body),) = entry.items()
            out += _item_accesses(kind, body, 2)
        return out
    if operation in ("PutItem", "UpdateItem", "DeleteItem"):
        kind = {"PutItem": "Put", "UpdateItem": "Update", "DeleteItem": "Delete"}[operation]
        return _item_accesses(kind, params, 1)
    if operation == "GetItem":
        return [Access(str(params["TableName"]), None, _string(params["Key"]["pk"]), 0)]
    return []


# -------------------------------------------------------------------------------------------- the model


def model(burst: Burst, *, now: float | None = None) -> list[Access]:
    """Every item access of ``burst``: the auth transactions of each student's three channels, then the
    presence store's writes of the webhook deliveries those subscriptions cause."""
    at = time.time() if now is None else now
    students = population(burst)
    out: list[Access] = []
    for student in students:
        for channel in lesson_channels(student):
            out += accesses_of_call(
                "TransactWriteItems", {"TransactItems": auth_transaction(student, channel, now=at)}
            )
    for body in deliveries(webhook_events(students), time_ms=int(at * 1000)):
        items = webhook_transactions(body)
        if items:
            out += accesses_of_call("TransactWriteItems", {"TransactItems": items})
    return out


def key_loads(accesses: Iterable[Access], seconds: float) -> list[KeyLoad]:
    """Writes and WCU per partition key (reads left out), busiest first."""
    writes: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for access in accesses:
        if access.wcu:
            slot = writes[(access.where, access.key)]
            slot[0] += 1
            slot[1] += access.wcu
    loads = [KeyLoad(where, key, n, wcu, seconds) for (where, key), (n, wcu) in writes.items()]
    return sorted(loads, key=lambda load: (-load.wcu, load.where, load.key))
