"""The channel policy, declared as a table: the only place that knows channel names.

Read ``CHANNELS`` like Laravel's ``routes/channels.php``: one line per channel family with its template,
its kind, who may subscribe, who may view it in the read API, whether clients may send ``client-``
events on it (and how large) and whether its events are kept as history. Each line is also a module
constant (``USER``, ``CLASSROOM``, ...) that builds names: ``CLASSROOM.name(class_id="7")`` is
``"presence-classroom-7"``, ``CLASSROOM.channel(class_id="7")`` the parsed ``Channel``. Other modules
ask a parsed ``Channel`` (``channel.is_presence``, ``channel.keeps_history``, ``channel.family``) or
``kind_of`` instead of matching prefixes, and take the channel alphabet from ``id_pattern``.
``parse_channel`` finds the family of a name, ``authorize`` applies the family's rule,
``require_subscribe`` turns a refusal into a ``Forbidden``, ``visible_to`` applies the family's viewers.
The events each family carries live in ``toolboxai_realtime.catalog``, keyed by these family objects.

Names, in order of checking:

1. **Grammar** (Pusher's service limits): 1-164 characters from ``A-Z a-z 0-9 _ - = @ , . ;``.
   Anything else is ``InvalidChannel`` (400, ``invalid_channel_name``).
2. **Family**: the template of ``CHANNELS`` that matches the whole name. Template parameters
   (``{user_id}``, ``{class_id}``, ``{lesson_id}``, ``{run_id}``) match ``PARAM_PATTERN``, the whole
   channel alphabet *including* ``-``, so UUID-style ids get their channel
   (``private-user-0b6c1f2e-9d7a-…``). The templates' fixed parts are chosen so that no name matches
   two of them (``private-encrypted-user-5`` cannot be a ``private-user`` channel because no template is
   ``private-{x}``; a property test checks it over the whole table), so the table's order is a
   readability choice, not a precedence rule. A new template whose fixed part is a prefix of another's
   parameterised tail would break this; the property test is the guard.
3. **Kind** (Pusher's prefixes, ``ChannelKind.prefix``): ``private-encrypted-`` -> encrypted,
   ``presence-`` -> presence, ``private-`` -> private, anything else public. A private/presence/encrypted
   name that matches no template is an *unknown* channel: nobody may subscribe to it. A public name
   other than the three declared public channels is an unknown public channel: subscribing needs no
   authorization (Pusher does not ask), but the server publishes nothing on it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from operator import attrgetter
from types import MappingProxyType
from typing import Annotated, Any

from pydantic import AfterValidator, StringConstraints

from .errors import BadRequest, Forbidden, InvalidChannel
from .identity import TRIGGER_SCOPE, Principal

__all__ = [
    "AGENT_STATUS",
    "CANARY",
    "CHANNELS",
    "CHANNEL_NAME_MAX_LENGTH",
    "CLASS",
    "CLASSROOM",
    "CONTENT_GENERATION",
    "DASHBOARD_UPDATES",
    "ENCRYPTED_CLASS",
    "ENCRYPTED_USER",
    "EVENT_NAME_MAX_LENGTH",
    "FAMILIES",
    "LESSON",
    "PARAM_PATTERN",
    "USER",
    "Channel",
    "ChannelFamily",
    "ChannelKind",
    "ChannelName",
    "Decision",
    "EventName",
    "Rule",
    "ServerEventName",
    "SocketId",
    "ViewRule",
    "admins",
    "anyone",
    "authorize",
    "id_pattern",
    "in_class_or_admin",
    "in_lesson_or_admin",
    "kind_of",
    "own_user",
    "parse_channel",
    "require_subscribe",
    "service_or_admin",
    "teachers",
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

PARAM_PATTERN = rf"[{_CHANNEL_CHARS}]+"
"""What a template parameter matches: the whole channel alphabet, '-' included (UUID ids)."""


def id_pattern(max_length: int | None = None, *, colon: bool = False) -> str:
    """An anchored regex for ids written with the channel alphabet: ``^[A-Za-z0-9_\\-=@,.;]+$``, or
    ``{1,max_length}`` instead of ``+``. With ``colon=True`` the alphabet of event names (``:`` too).

    For ids that name channels or Pusher users (pusher-http-python's ``validate_user_id`` uses the same
    alphabet, at most 200 characters) and for pydantic ``pattern=`` constraints, so that the alphabet is
    written once. Never raises (``max_length`` below 1 gives a pattern nothing matches but ``""``).
    """
    chars = _EVENT_CHARS if colon else _CHANNEL_CHARS
    repeat = "+" if max_length is None else f"{{1,{max_length}}}"
    return f"^[{chars}]{repeat}$"


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

    @property
    def prefix(self) -> str:
        """The name prefix of this kind (``presence-``, ...; ``""`` for public), e.g. for store queries.

        ``private-`` also starts every encrypted name: to tell kinds apart, use ``kind_of``.
        """
        return next((prefix for prefix, kind in _KIND_PREFIXES if kind is self), "")


# Most specific first: "private-encrypted-" is also a "private-" prefix.
_KIND_PREFIXES: tuple[tuple[str, ChannelKind], ...] = (
    ("private-encrypted-", ChannelKind.ENCRYPTED),
    ("presence-", ChannelKind.PRESENCE),
    ("private-", ChannelKind.PRIVATE),
)


def kind_of(name: str) -> ChannelKind:
    """The kind of channel ``name`` by its prefix alone (no grammar check, no family). Never raises."""
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


ViewRule = Callable[[Principal, Mapping[str, str]], bool]
"""Who may view a channel in the read API (occupancy, members): the caller and the template's parameters."""


def admins(principal: Principal, params: Mapping[str, str]) -> bool:
    """Administrators only: the default viewers of a family."""
    return principal.is_admin


def teachers(principal: Principal, params: Mapping[str, str]) -> bool:
    """Administrators, and teachers whose ``class_ids`` hold the channel's ``{class_id}``."""
    if principal.is_admin:
        return True
    return principal.role == "teacher" and params["class_id"] in principal.class_ids


MemberData = Callable[[Principal, str, str | None], dict[str, Any]]
"""What a presence channel tells every member about a member (Pusher's ``user_info``): built from the
subscriber's verified token, its presence ``status`` and its ``current_activity`` (from the auth request).
Pusher limits the result to 1 KB of JSON; ``authorization.presence_member`` enforces it."""


def token_identity(principal: Principal, status: str, current_activity: str | None) -> dict[str, Any]:
    """The member data of the presence families: ``{name, role, avatar_url?, status, current_activity?}``,
    identity from the token only (``name`` falls back to the user id), never from the client."""
    info: dict[str, Any] = {"name": principal.name or principal.user_id, "role": principal.role}
    if principal.avatar_url:
        info["avatar_url"] = principal.avatar_url
    info["status"] = status
    if current_activity:
        info["current_activity"] = current_activity
    return info


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


@dataclass(frozen=True, eq=False)
class ChannelFamily:
    """One line of the policy: a channel template and what holds for the channels it names.

    The family ``id`` is the template without its parameter (``private-user-{user_id}`` ->
    ``private-user``): the metric dimension and the catalog schema's key. Families compare and hash by
    identity (each is one line of the table); ``toolboxai_realtime.catalog`` keys its events by them.
    """

    template: str
    kind: ChannelKind
    rule: Rule
    viewers: ViewRule = admins
    keeps_history: bool = False
    client_events: bool = False
    client_event_bytes: int = 0
    member_data: MemberData | None = None
    id: str = field(init=False)
    params: tuple[str, ...] = field(init=False)
    pattern: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # The table is code: a template whose prefix contradicts its declared kind is a bug caught at
        # import (pure string checks, no I/O).
        if kind_of(self.template) is not self.kind:
            raise ValueError(f"{self.template!r} is a {kind_of(self.template)} channel, not {self.kind}")
        if _channel_name_problem(_PLACEHOLDER.sub("x", self.template)):
            raise ValueError(f"{self.template!r} does not produce valid channel names")
        if self.client_events and self.kind in (ChannelKind.PUBLIC, ChannelKind.ENCRYPTED):
            raise ValueError(f"Pusher has no client events on {self.kind} channels ({self.template!r})")
        if self.client_events != (0 < self.client_event_bytes <= CLIENT_EVENT_MAX_BYTES):
            raise ValueError(
                f"{self.template!r}: client events need a data limit of 1-{CLIENT_EVENT_MAX_BYTES} bytes, "
                "and only families that accept them have one"
            )
        if (self.kind is ChannelKind.PRESENCE) != (self.member_data is not None):
            raise ValueError(f"{self.template!r}: presence channels, and only they, say their member data")
        if self.keeps_history and self.kind is ChannelKind.ENCRYPTED:
            raise ValueError(f"Encrypted channels keep no plaintext at rest: no history ({self.template!r})")
        if self.viewers is teachers and "{class_id}" not in self.template:
            raise ValueError(f"{self.template!r} has no class: its viewers cannot be the class's teachers")
        object.__setattr__(self, "id", self.template.split("-{", 1)[0])
        object.__setattr__(self, "params", tuple(_PLACEHOLDER.findall(self.template)))
        object.__setattr__(self, "pattern", _compile(self.template))

    def __repr__(self) -> str:
        return f"ChannelFamily({self.template!r})"

    def match(self, name: str) -> dict[str, str] | None:
        """The template parameters if ``name`` is a channel of this family, else ``None``."""
        found = self.pattern.fullmatch(name)
        return found.groupdict() if found else None

    def name(self, **params: str) -> str:
        """The channel name of this family for ``params``: ``CLASS.name(class_id="7")`` is
        ``"private-class-7"``. The name is not checked (``channel`` does that; publishing checks it too).

        Raises ``TypeError`` unless ``params`` are exactly the template's parameters (a programming error).
        """
        if set(params) != set(self.params):
            raise TypeError(f"{self.template!r} takes the parameters {self.params}, not {tuple(params)}")
        return self.template.format_map(params)

    def channel(self, **params: str) -> Channel:
        """The parsed ``Channel`` of this family for ``params`` (see ``name``).

        Raises ``InvalidChannel`` (400, ``invalid_channel_name``) when the name breaks Pusher's grammar
        or the values do not make a channel of this family (an empty id), and ``TypeError`` as ``name``.
        """
        channel = parse_channel(self.name(**params))
        if channel.family is not self:
            raise InvalidChannel(f"These ids do not make a {self.id} channel.")
        return channel


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
    # template                                    kind      may subscribe       may view  history, client
    # events (and their data limit), member data
    ChannelFamily("dashboard-updates",             PUBLIC,   anyone,             admins,   True),
    ChannelFamily("content-generation",            PUBLIC,   anyone,             admins,   True),
    ChannelFamily("agent-status",                  PUBLIC,   anyone,             admins,   True),
    ChannelFamily("private-user-{user_id}",        PRIVATE,  own_user,           admins,   True),
    ChannelFamily("private-class-{class_id}",      PRIVATE,  in_class_or_admin,  teachers, True),
    ChannelFamily("presence-classroom-{class_id}", PRESENCE, in_class_or_admin,  teachers, False,
                  True, 1024, token_identity),
    ChannelFamily("presence-lesson-{lesson_id}",   PRESENCE, in_lesson_or_admin, admins,   False,
                  True, 4096, token_identity),
    ChannelFamily("private-encrypted-user-{user_id}",   ENCRYPTED, own_user,           admins),
    ChannelFamily("private-encrypted-class-{class_id}", ENCRYPTED, in_class_or_admin,  teachers),
    ChannelFamily("private-canary-{run_id}",       PRIVATE,  service_or_admin,   admins),
)
# fmt: on
(
    DASHBOARD_UPDATES,
    CONTENT_GENERATION,
    AGENT_STATUS,
    USER,
    CLASS,
    CLASSROOM,
    LESSON,
    ENCRYPTED_USER,
    ENCRYPTED_CLASS,
    CANARY,
) = CHANNELS
"""The policy, also bound to one constant per line (``USER``, ``CLASSROOM``, ...) for other modules.
Client events are on only where people work together live (the presence channels);
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
canary's per-run probe channels (nobody reads them back).

Viewers (the occupancy and members read API): admins see every channel; teachers also see the channels
of their classes (the families with a ``{class_id}`` and ``teachers``); students see none."""

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
    """A parsed channel name. ``family`` is its line of ``CHANNELS``, ``None`` for channels the policy
    does not define; the other facts of the table are read through it."""

    name: str
    family: ChannelFamily | None
    kind: ChannelKind
    params: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), hash=False)

    @property
    def client_events(self) -> bool:
        """Whether clients may send ``client-`` events here (``False`` for unknown channels)."""
        return self.family is not None and self.family.client_events

    @property
    def client_event_bytes(self) -> int:
        """The data limit of a client event here, in bytes (0 where client events are not allowed)."""
        return self.family.client_event_bytes if self.family is not None else 0

    @property
    def keeps_history(self) -> bool:
        """Whether the events published here are kept for the history API (``False`` when unknown)."""
        return self.family is not None and self.family.keeps_history

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
            return Channel(name, family, family.kind, MappingProxyType(params))
    return Channel(name, None, kind_of(name))


def authorize(principal: Principal, channel: Channel) -> Decision:
    """Whether ``principal`` may subscribe to ``channel``, by its family's rule.

    Unknown channels (``family is None``, public or not) are refused with reason ``unknown_channel``.
    Never raises.
    """
    if channel.family is None:
        return _UNKNOWN
    return channel.family.rule(principal, channel.params)


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
    """Whether the read API may show ``channel`` (its occupancy, its members) to ``principal``: the
    ``viewers`` column of its family. Channels the table does not define only to admins (a stray
    channel is what an operator looks for). Never raises.
    """
    if channel.family is None:
        return principal.is_admin
    return channel.family.viewers(principal, channel.params)
