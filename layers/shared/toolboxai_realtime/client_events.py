"""The client-event policy, enforced: ``client-`` events that the channel table does not allow end the
sender's connections.

Pusher (and soketi) relay a client event to the channel's other members as soon as the sender's socket
is subscribed; no server is asked first. What the server does learn is the ``client_event`` webhook
(``{channel, event, data, socket_id, user_id?}``). So the rule of the channel table (``channels.CHANNELS``:
``client_events`` and ``client_event_bytes`` per family) is enforced after the fact, for the next event:

* a client event on a family that does not accept them (or on a channel the policy does not define) is
  ``client_events_not_allowed``; data over the family's limit (UTF-8 bytes of the data string, as
  relayed) is ``client_event_too_large``;
* the sender is the webhook's ``user_id`` (Pusher and soketi add it on presence channels, where it is
  the signed ``channel_data`` user) or, on a ``{user_id}`` channel, its owner (only they may subscribe);
* their connections are ended with Pusher's terminate-connections API (which reaches the connections
  that signed in: sign-in required, ``PUSHER_USER_AUTHENTICATION=true``), and the violation is a
  security event (``client_event_refused``) and a ``ClientEventViolations`` metric.

**Limitation.** On a private channel without a ``{user_id}`` (``private-class-{class_id}``) the webhook
names only the socket, and Pusher cannot end a single socket from the server: the violation is recorded
(with the socket id) and counted with ``action=unattributed``, and nothing is terminated.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import pusher_gateway
from .channels import parse_channel
from .errors import InvalidChannel, RealtimeError
from .observability import count, logger, security_event

__all__ = ["Violation", "enforce", "violation"]


@dataclass(frozen=True, slots=True)
class Violation:
    """A client event the policy refuses: why, and whose connections to end (``None``: unknown)."""

    reason: str
    channel: str
    event: str
    size_bytes: int
    limit_bytes: int
    user_id: str | None
    socket_id: str | None


def violation(
    channel: str, event: str, size_bytes: int, user_id: str | None, socket_id: str | None
) -> Violation | None:
    """The violation of a relayed client event, or ``None`` when the channel table allows it. Pure."""
    try:
        parsed = parse_channel(channel)
    except InvalidChannel:
        parsed = None
    limit = parsed.client_event_bytes if parsed is not None else 0
    if limit == 0:
        reason = "client_events_not_allowed"
    elif size_bytes > limit:
        reason = "client_event_too_large"
    else:
        return None
    sender = user_id
    if sender is None and parsed is not None and parsed.family is not None:
        sender = parsed.params.get("user_id")  # a {user_id} channel: only its owner can be subscribed
    return Violation(reason, channel, event, size_bytes, limit, sender, socket_id)


def enforce(found: Violation, *, terminate: bool = True) -> bool:
    """Record ``found`` and end the sender's connections; ``True`` when Pusher ended them.

    ``terminate=False`` records it only (``action=already_terminated``: the same delivery already ended
    this sender's connections). Never raises: a failed termination is logged and counted
    (``action=terminate_failed``), so that the rest of the webhook delivery is still applied.
    """
    action = "unattributed" if found.user_id is None else "already_terminated"
    if found.user_id is not None and terminate:
        try:
            pusher_gateway.terminate_user_connections(found.user_id)
            action = "terminated"
        except RealtimeError as exc:
            logger.error("client event sender not terminated", extra={"code": exc.code})
            action = "terminate_failed"
    security_event(
        "client_event_refused",
        reason=found.reason,
        user_id=found.user_id,
        socket_id=found.socket_id,
        channel=found.channel,
        client_event=found.event[:200],
        size_bytes=found.size_bytes,
        limit_bytes=found.limit_bytes,
        action=action,
    )
    count("ClientEventViolations", reason=found.reason, action=action)
    return action == "terminated"
