"""The channel policy, declared as a table: which channels exist and who may subscribe to them.

Read ``CHANNELS`` like Laravel's ``routes/channels.php``: one line per channel family with its template,
its kind, its rule and whether clients may send ``client-`` events on it. ``parse_channel`` finds the
family of a name, ``authorize`` applies the family's rule, ``require_subscribe`` turns a refusal into a
``Forbidden``. The events each family carries live in ``toolboxai_realtime.catalog``, keyed by the same
family ids.

Names, in order of checking:

1. **Grammar** (Pusher's service limits): 1-164 characters from ``A-Z a-z 0-9 _ - = @ , . ;``.
   Anything else is ``InvalidChannel`` (400, ``invalid_channel_name``).
2. **Family**: the first template of ``CHANNELS`` that matches the whole name. Template parameters
   (``{user_id}``, ``{class_id}``, ``{lesson_id}``) match ``[A-Za-z0-9_=@,.;]+``: the channel alphabet
   *without* ``-``. Because ``-`` separates the words of a template, no name can then match two
   templates (``private-encrypted-user-5`` can only be the encrypted family; a future
   ``presence-lesson-{lesson_id}-breakout`` could not swallow ``presence-lesson-7``), so the table is
   unambiguous by construction and its order is a readability choice, not a precedence rule. The
   price: an id containing ``-`` (a UUID, for instance) has no channel of its own.
3. **Kind** (Pusher's prefixes): ``private-encrypted-`` -> encrypted, ``presence-`` -> presence,
   ``private-`` -> private, anything else public. A private/presence/encrypted name that matches no
   template is an *unknown* channel: nobody may subscribe to it. A public name other than the three
   declared public channels is an unknown public channel: subscribing needs no authorization (Pusher
   does not ask), but the server publishes nothing on it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from operator import attrgetter
from types import MappingProxyType
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

from .errors import BadRequest, Forbidden, InvalidChannel
from .identity import TRIGGER_SCOPE, Principal

__all__ = [
    "CHANNELS",
    "CHANNEL_NAME_MAX_LENGTH",
    "EVENT_NAME_MAX_LENGTH",
    "FAMILIES",
    "PARAM_PATTERN",
    "Channel",
    "ChannelFamily",
    "ChannelKind",
    "ChannelName",
    "Decision",
    "EventName",
    "Rule",
    "ServerEventName",
    "SocketId",
    "anyone",
    "authorize",
    "in_class_or_admin",
    "in_lesson_or_admin",
    "own_user",
    "parse_channel",
    "require_subscribe",
    "service_or_admin",
    "validate_channel_name",
    "validate_event_name",
    "validate_server_event_name",
    "validate_socket_id",
    "visible_to",
]

# ------------------------------------------------------------------------------------------- grammar

CHANNEL_NAME_MAX_LENGTH = 164
"""Pusher's service limit (the SDKs allow 200, the service 164)."""

EVENT_NAME_MAX_LENGTH = 200
SOCKET_ID_MAX_LENGTH = 64

_CHANNEL_CHARS = r"A-Za-z0-9_\-=@,.;"
CHANNEL_NAME_PATTERN = rf"^[{_CHANNEL_CHARS}]+$"
_CHANNEL_NAME = re.compile(rf"[{_CHANNEL_CHARS}]+")
_CHANNEL_CHAR = re.compile(rf"[{_CHANNEL_CHARS}]")

# Event names: the channel alphabet plus ':' for namespaced names such as "lesson:started" (which is
# also why the reserved "pusher:" prefix needs a check of its own).
_EVENT_CHARS = _CHANNEL_CHARS + ":"
EVENT_NAME_PATTERN = rf"^[{_EVENT_CHARS}]+$"
_EVENT_NAME = re.compile(rf"[{_EVENT_CHARS}]+")
RESERVED_EVENT_PREFIXES = ("pusher:", "pusher_internal:")
CLIENT_EVENT_PREFIX = "client-"

# [0-9], not \d: \d also matches other scripts' digits, in Python and in pydantic's regex engine alike.
SOCKET_ID_PATTERN = r"^[0-9]+\.[0-9]+$"
_SOCKET_ID = re.compile(r"[0-9]+\.[0-9]+")

PARAM_PATTERN = r"[A-Za-z0-9_\-=@,.;]+"
"""What a template parameter matches: the whole channel alphabet, '-' included (UUID ids)."""


def _channel_name_problem(name: str) -> str | None:
    if not name:
        return "The channel name is empty."
    if len(name) > CHANNEL_NAME_MAX_LENGTH:
        return f"The channel name is {len(name)} characters long; the limit is {CHANNEL_NAME_MAX_LENGTH}."
    if not _CHANNEL_NAME.fullmatch(name):
        bad = sorted({char for char in name if not _CHANNEL_CHAR.fullmatch(char)})
        shown = ", ".join(repr(char) for char in bad[:5])
        return (
            f"The channel name contains characters that are not allowed ({shown}); use only letters, "
            "digits and _ - = @ , . ;"
        )
    return None


def validate_channel_name(name: str) -> str:
    """``name`` unchanged if it is a valid Pusher channel name.

    Raises ``InvalidChannel`` (400, code ``invalid_channel_name``) when it is empty, longer than 164
    characters or contains characters outside ``A-Z a-z 0-9 _ - = @ , . ;``; the message says which.
    """
    problem = _channel_name_problem(name)
    if problem:
        raise InvalidChannel(problem)
    return name


def _event_name_problem(name: str, *, server: bool) -> str | None:
    if not name:
        return "The event name is empty."
    if len(name) > EVENT_NAME_MAX_LENGTH:
        return f"The event name is {len(name)} characters long; the limit is {EVENT_NAME_MAX_LENGTH}."
    if not _EVENT_NAME.fullmatch(name):
        return "The event name may contain only letters, digits and _ - = @ , . ; :"
    if name.startswith(RESERVED_EVENT_PREFIXES):
        return "Event names starting with 'pusher:' or 'pusher_internal:' are reserved by Pusher."
    if server and name.startswith(CLIENT_EVENT_PREFIX):
        return "Events named 'client-…' are sent by clients; the server does not trigger them."
    return None


def validate_event_name(name: str) -> str:
    """``name`` unchanged if it is a valid event name (any sender).

    Raises ``BadRequest`` (code ``invalid_event_name``) when it is empty, longer than 200 characters,
    uses characters outside the channel alphabet plus ``:``, or starts with a reserved ``pusher:`` /
    ``pusher_internal:`` prefix.
    """
    problem = _event_name_problem(name, server=False)
    if problem:
        raise BadRequest(problem, code="invalid_event_name")
    return name


def validate_server_event_name(name: str) -> str:
    """``name`` unchanged if the server may trigger an event of that name.

    Raises ``BadRequest`` (code ``invalid_event_name``) for everything ``validate_event_name`` refuses
    and, in addition, for ``client-`` events (only clients send those).
    """
    problem = _event_name_problem(name, server=True)
    if problem:
        raise BadRequest(problem, code="invalid_event_name")
    return name


def validate_socket_id(value: str) -> str:
    """``value`` unchanged if it is a Pusher socket id (``<digits>.<digits>``, at most 64 characters).

    Raises ``BadRequest`` (code ``invalid_socket_id``) otherwise. This check is a security boundary: a
    socket id containing ``:`` would let a caller forge the signature of another channel.
    """
    if len(value) > SOCKET_ID_MAX_LENGTH or not _SOCKET_ID.fullmatch(value):
        raise BadRequest("The socket_id must look like 1234.5678.", code="invalid_socket_id")
    return value


def _no_reserved_prefix(name: str) -> str:
    problem = _event_name_problem(name, server=False)
    if problem:
        raise ValueError(problem)
    return name


def _server_may_send(name: str) -> str:
    problem = _event_name_problem(name, server=True)
    if problem:
        raise ValueError(problem)
    return name


ChannelName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=CHANNEL_NAME_MAX_LENGTH, pattern=CHANNEL_NAME_PATTERN),
]
"""A syntactically valid channel name (for pydantic models; the family is found by ``parse_channel``)."""

SocketId = Annotated[str, StringConstraints(max_length=SOCKET_ID_MAX_LENGTH, pattern=SOCKET_ID_PATTERN)]
"""A Pusher socket id, ``<digits>.<digits>``."""

EventName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=EVENT_NAME_MAX_LENGTH, pattern=EVENT_NAME_PATTERN),
    AfterValidator(_no_reserved_prefix),
]
"""An event name: 1-200 characters of the channel alphabet plus ``:``; ``pusher:`` names refused."""

ServerEventName = Annotated[EventName, AfterValidator(_server_may_send)]
"""An event name the server may trigger: an ``EventName`` that is not a ``client-`` event."""


# -------------------------------------------------------------------------------------------- kinds


class ChannelKind(StrEnum):
    """Pusher's channel types, decided by the name's prefix."""

    PUBLIC = "public"
    PRIVATE = "private"
    PRESENCE = "presence"
    ENCRYPTED = "encrypted"


# Most specific first: "private-encrypted-" is also a "private-" prefix.
_KIND_PREFIXES: tuple[tuple[str, ChannelKind], ...] = (
    ("private-encrypted-", ChannelKind.ENCRYPTED),
    ("presence-", ChannelKind.PRESENCE),
    ("private-", ChannelKind.PRIVATE),
)


def _kind_of(name: str) -> ChannelKind:
    for prefix, kind in _KIND_PREFIXES:
        if name.startswith(prefix):
            return kind
    return ChannelKind.PUBLIC


# ---------------------------------------------------------------------------------------------- rules


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer of a rule: ``allowed``, a machine ``reason`` and a ``message`` for people."""

    allowed: bool
    reason: str
    message: str


Rule = Callable[[Principal, Mapping[str, str]], Decision]
"""Who may subscribe: called with the caller and the parameters of the channel's template."""


def anyone(principal: Principal, params: Mapping[str, str]) -> Decision:
    """Public channels: everyone (Pusher does not even ask)."""
    return Decision(True, "public_channel", "Anyone may subscribe to a public channel.")


def own_user(principal: Principal, params: Mapping[str, str]) -> Decision:
    """Only the user whose ``sub`` is the channel's ``{user_id}`` (admins included: no override)."""
    if params["user_id"] == principal.user_id:
        return Decision(True, "own_user_channel", "This is your own channel.")
    return Decision(False, "not_own_user_channel", "This private channel belongs to another user.")


def _member_or_admin(
    param: str, ids_of: Callable[[Principal], frozenset[str]], entity: str, *, member: str, denied: str
) -> Rule:
    def rule(principal: Principal, params: Mapping[str, str]) -> Decision:
        entity_id = params[param]
        if entity_id in ids_of(principal):
            return Decision(True, member, f"You are a member of {entity} {entity_id}.")
        if principal.is_admin:
            return Decision(True, "admin", "Administrators may join every class and lesson channel.")
        return Decision(False, denied, f"You are not a member of {entity} {entity_id}.")

    rule.__name__ = rule.__qualname__ = f"in_{entity}_or_admin"
    rule.__doc__ = f"``{{{param}}}`` in the token's ``{param}s``, or the admin role."
    return rule


in_class_or_admin: Rule = _member_or_admin(
    "class_id", attrgetter("class_ids"), "class", member="class_member", denied="not_in_class"
)
in_lesson_or_admin: Rule = _member_or_admin(
    "lesson_id", attrgetter("lesson_ids"), "lesson", member="lesson_member", denied="not_in_lesson"
)


def service_or_admin(principal: Principal, params: Mapping[str, str]) -> Decision:
    """Service principals (the ``realtime:trigger`` scope) and admins: the delivery canary's channels."""
    if principal.is_admin:
        return Decision(True, "admin", "Administrators may join canary channels.")
    if principal.has_scope(TRIGGER_SCOPE):
        return Decision(True, "service_principal", "Service principals may join canary channels.")
    return Decision(False, "not_a_service", "Only services and administrators may join canary channels.")


_UNKNOWN = Decision(False, "unknown_channel", "This channel is not one of the channels this service defines.")


# ---------------------------------------------------------------------------------------------- table

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def _compile(template: str) -> re.Pattern[str]:
    parts: list[str] = []
    last = 0
    for placeholder in _PLACEHOLDER.finditer(template):
        parts.append(re.escape(template[last : placeholder.start()]))
        parts.append(f"(?P<{placeholder.group(1)}>{PARAM_PATTERN})")
        last = placeholder.end()
    parts.append(re.escape(template[last:]))
    return re.compile("".join(parts))


@dataclass(frozen=True)
class ChannelFamily:
    """One line of the policy: a channel template and what holds for the channels it names.

    The family ``id`` is the template without its parameter (``private-user-{user_id}`` ->
    ``private-user``); ``toolboxai_realtime.catalog`` keys its events by it.
    """

    template: str
    kind: ChannelKind
    rule: Rule
    client_events: bool = False
    client_event_bytes: int = 0
    history: bool = False
    id: str = field(init=False)
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # The table is code: a template whose prefix contradicts its declared kind is a bug caught at
        # import (pure string checks, no I/O).
        if _kind_of(self.template) is not self.kind:
            raise ValueError(f"{self.template!r} is a {_kind_of(self.template)} channel, not {self.kind}")
        if _channel_name_problem(_PLACEHOLDER.sub("x", self.template)):
            raise ValueError(f"{self.template!r} does not produce valid channel names")
        if self.client_events and self.kind in (ChannelKind.PUBLIC, ChannelKind.ENCRYPTED):
            raise ValueError(f"Pusher has no client events on {self.kind} channels ({self.template!r})")
        if self.client_events != (0 < self.client_event_bytes <= CLIENT_EVENT_MAX_BYTES):
            raise ValueError(
                f"{self.template!r}: client events need a data limit of 1-{CLIENT_EVENT_MAX_BYTES} bytes, "
                "and only families that accept them have one"
            )
        if self.history and self.kind is ChannelKind.ENCRYPTED:
            raise ValueError(f"Encrypted channels keep no plaintext at rest: no history ({self.template!r})")
        object.__setattr__(self, "id", self.template.split("-{", 1)[0])
        object.__setattr__(self, "pattern", _compile(self.template))

    def match(self, name: str) -> dict[str, str] | None:
        """The template parameters if ``name`` is a channel of this family, else ``None``."""
        found = self.pattern.fullmatch(name)
        return found.groupdict() if found else None


PUBLIC, PRIVATE, PRESENCE, ENCRYPTED = (
    ChannelKind.PUBLIC,
    ChannelKind.PRIVATE,
    ChannelKind.PRESENCE,
    ChannelKind.ENCRYPTED,
)

CLIENT_EVENT_MAX_BYTES = 10240
"""Pusher's limit on a client event's data (the same 10 KB as server events)."""

# fmt: off
CHANNELS: tuple[ChannelFamily, ...] = (
    #             template                              kind       who may subscribe   client (bytes), history
    ChannelFamily("dashboard-updates",                  PUBLIC,    anyone,             history=True),
    ChannelFamily("content-generation",                 PUBLIC,    anyone,             history=True),
    ChannelFamily("agent-status",                       PUBLIC,    anyone,             history=True),
    ChannelFamily("private-user-{user_id}",             PRIVATE,   own_user,           history=True),
    ChannelFamily("private-class-{class_id}",           PRIVATE,   in_class_or_admin,  history=True),
    ChannelFamily("presence-classroom-{class_id}",      PRESENCE,  in_class_or_admin,  True, 1024),
    ChannelFamily("presence-lesson-{lesson_id}",        PRESENCE,  in_lesson_or_admin, True, 4096),
    ChannelFamily("private-encrypted-user-{user_id}",   ENCRYPTED, own_user),
    ChannelFamily("private-encrypted-class-{class_id}", ENCRYPTED, in_class_or_admin),
    ChannelFamily("private-canary-{run_id}",            PRIVATE,   service_or_admin),
)
# fmt: on
"""The policy. Client events are on only where people work together live (the presence channels);
announcements and personal channels are server-to-client. Pusher offers none on encrypted channels.
Pusher (and soketi) relay a ``client-`` event on any private or presence channel of an app that enables
them: this column is enforced after the fact, from the ``client_event`` webhook (``client_events``
module): a client event on a family without them, or with data over the family's limit (a classroom's
reactions and typing indicators are small; a lesson's collaboration cursors and selections larger),
ends the sender's connections.
``private-canary-{run_id}`` is the delivery canary's channel, one per run (``toolboxai_realtime.canary``).

History (``GET /realtime/channels/{channel}/history``, kept for ``HISTORY_RETENTION``) is on for the
server-to-client families, where a missed event is a missed grade, assignment or status. It is off for:
the presence channels (most of their traffic is ``client-`` events, which go socket to socket through
Pusher and never pass through this service, so a history would be partial; who is there is the members
API's job); the encrypted channels (end-to-end encryption means no plaintext at rest, and a ciphertext
history would hand out what only the two ends should read for as long as it is kept: no history); and the
canary's per-run probe channels (nobody reads them back)."""

FAMILIES: Mapping[str, ChannelFamily] = MappingProxyType({family.id: family for family in CHANNELS})
"""Family id -> family (read-only)."""


def param_max_length(param: str) -> int:
    """The longest value of template parameter ``param`` (``class_id``, ``lesson_id``, ...) that still
    names a channel of at least one family: Pusher's 164 characters minus the shortest fixed part of
    a template using it (``private-class-`` leaves 150 for a class id). 0 when no template uses it.
    """
    placeholder = "{" + param + "}"
    fixed = [len(f.template) - len(placeholder) for f in CHANNELS if placeholder in f.template]
    return CHANNEL_NAME_MAX_LENGTH - min(fixed) if fixed else 0


if len(FAMILIES) != len(CHANNELS):  # pragma: no cover - a table bug, caught at import
    raise ValueError("channel family ids must be unique")


# ------------------------------------------------------------------------------------------- channels


@dataclass(frozen=True, slots=True)
class Channel:
    """A parsed channel name. ``family`` is ``None`` for channels the policy does not define."""

    name: str
    family: str | None
    kind: ChannelKind
    params: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), hash=False)
    client_events: bool = False
    client_event_bytes: int = 0
    history: bool = False

    @property
    def is_public(self) -> bool:
        """Public: Pusher lets anyone subscribe without asking this service."""
        return self.kind is ChannelKind.PUBLIC

    @property
    def is_private(self) -> bool:
        """Needs this service's authorization to subscribe: private, presence and encrypted channels."""
        return self.kind is not ChannelKind.PUBLIC

    @property
    def is_presence(self) -> bool:
        """A presence channel (``presence-``): its subscription carries ``channel_data``."""
        return self.kind is ChannelKind.PRESENCE

    @property
    def is_encrypted(self) -> bool:
        """An end-to-end encrypted channel (``private-encrypted-``)."""
        return self.kind is ChannelKind.ENCRYPTED

    @property
    def is_known(self) -> bool:
        """One of the channels the policy defines."""
        return self.family is not None


def parse_channel(name: str) -> Channel:
    """The ``Channel`` named ``name``: its family (or ``None``), kind and template parameters.

    Raises ``InvalidChannel`` (400, code ``invalid_channel_name``) when the name breaks Pusher's grammar
    or length limit. Names that are valid but match no template are returned with ``family=None``.
    """
    validate_channel_name(name)
    for family in CHANNELS:
        params = family.match(name)
        if params is not None:
            return Channel(
                name,
                family.id,
                family.kind,
                MappingProxyType(params),
                family.client_events,
                family.client_event_bytes,
                family.history,
            )
    return Channel(name, None, _kind_of(name))


def authorize(principal: Principal, channel: Channel) -> Decision:
    """Whether ``principal`` may subscribe to ``channel``, by its family's rule.

    Unknown channels (``family is None``, public or not) are refused with reason ``unknown_channel``.
    Never raises.
    """
    family = FAMILIES.get(channel.family) if channel.family is not None else None
    if family is None:
        return _UNKNOWN
    return family.rule(principal, channel.params)


def require_subscribe(principal: Principal, channel: Channel) -> Decision:
    """The allowing ``Decision`` for ``principal`` on ``channel``.

    Raises ``Forbidden`` (403) whose code is the refusal's reason: ``not_own_user_channel``,
    ``not_in_class``, ``not_in_lesson`` or ``unknown_channel``.
    """
    decision = authorize(principal, channel)
    if not decision.allowed:
        raise Forbidden(decision.message, code=decision.reason)
    return decision


def visible_to(principal: Principal, channel: Channel) -> bool:
    """Whether the read API may show ``channel`` (its occupancy, its members) to ``principal``.

    Admins see every channel. Teachers see the channels of their classes: the families with a
    ``{class_id}`` (``private-class``, ``presence-classroom``, ``private-encrypted-class``) whose id is
    in their ``class_ids``. Everyone else sees nothing. Never raises.
    """
    if principal.is_admin:
        return True
    if principal.role == "teacher" and channel.family is not None:
        class_id = channel.params.get("class_id")
        return class_id is not None and class_id in principal.class_ids
    return False
