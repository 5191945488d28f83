"""The channel policy: name grammar, families, who may subscribe, what the read API shows."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, TypeAdapter, ValidationError

from toolboxai_realtime import catalog
from toolboxai_realtime.channels import (
    AGENT_STATUS,
    CANARY,
    CHANNEL_NAME_MAX_LENGTH,
    CHANNELS,
    CLASS,
    CLASSROOM,
    CONTENT_GENERATION,
    DASHBOARD_UPDATES,
    ENCRYPTED_CLASS,
    ENCRYPTED_USER,
    FAMILIES,
    LESSON,
    USER,
    Channel,
    ChannelFamily,
    ChannelKind,
    ChannelName,
    EventName,
    ServerEventName,
    SocketId,
    admins,
    anyone,
    authorize,
    id_pattern,
    kind_of,
    parse_channel,
    require_subscribe,
    teachers,
    token_identity,
    validate_channel_name,
    validate_event_name,
    validate_server_event_name,
    validate_socket_id,
    visible_to,
)
from toolboxai_realtime.errors import BadRequest, Forbidden, InvalidChannel, ValidationFailed
from toolboxai_realtime.identity import Principal

STUDENT = Principal(
    user_id="student_1", role="student", class_ids=frozenset({"7"}), lesson_ids=frozenset({"l1"})
)
TEACHER = Principal(
    user_id="teacher_1", role="teacher", class_ids=frozenset({"7"}), lesson_ids=frozenset({"l1"})
)
ADMIN = Principal(user_id="admin_1", role="admin", class_ids=frozenset({"9"}))
PRINCIPALS = {"student": STUDENT, "teacher": TEACHER, "admin": ADMIN}

# Own ids: student_1 / teacher_1 / admin_1, class 7 (admin: 9), lesson l1 (admin: none).
# Other ids: class 8, lesson l2.
# fmt: off
MATRIX = [
    # who        channel                                  allowed  reason
    ("student", "dashboard-updates",                      True,  "public_channel"),
    ("student", "content-generation",                     True,  "public_channel"),
    ("student", "agent-status",                           True,  "public_channel"),
    ("student", "private-user-student_1",                 True,  "own_user_channel"),
    ("student", "private-user-teacher_1",                 False, "not_own_user_channel"),
    ("student", "private-class-7",                        True,  "class_member"),
    ("student", "private-class-8",                        False, "not_in_class"),
    ("student", "presence-classroom-7",                   True,  "class_member"),
    ("student", "presence-classroom-8",                   False, "not_in_class"),
    ("student", "presence-lesson-l1",                     True,  "lesson_member"),
    ("student", "presence-lesson-l2",                     False, "not_in_lesson"),
    ("student", "private-encrypted-user-student_1",       True,  "own_user_channel"),
    ("student", "private-encrypted-user-teacher_1",       False, "not_own_user_channel"),
    ("student", "private-encrypted-class-7",              True,  "class_member"),
    ("student", "private-encrypted-class-8",              False, "not_in_class"),
    ("student", "private-notes-7",                        False, "unknown_channel"),
    ("student", "presence-lobby",                         False, "unknown_channel"),
    ("student", "private-encrypted-notes",                False, "unknown_channel"),
    ("student", "random-public",                          False, "unknown_channel"),
    ("teacher", "dashboard-updates",                      True,  "public_channel"),
    ("teacher", "content-generation",                     True,  "public_channel"),
    ("teacher", "agent-status",                           True,  "public_channel"),
    ("teacher", "private-user-teacher_1",                 True,  "own_user_channel"),
    ("teacher", "private-user-student_1",                 False, "not_own_user_channel"),
    ("teacher", "private-class-7",                        True,  "class_member"),
    ("teacher", "private-class-8",                        False, "not_in_class"),
    ("teacher", "presence-classroom-7",                   True,  "class_member"),
    ("teacher", "presence-classroom-8",                   False, "not_in_class"),
    ("teacher", "presence-lesson-l1",                     True,  "lesson_member"),
    ("teacher", "presence-lesson-l2",                     False, "not_in_lesson"),
    ("teacher", "private-encrypted-user-teacher_1",       True,  "own_user_channel"),
    ("teacher", "private-encrypted-user-student_1",       False, "not_own_user_channel"),
    ("teacher", "private-encrypted-class-7",              True,  "class_member"),
    ("teacher", "private-encrypted-class-8",              False, "not_in_class"),
    ("teacher", "private-notes-7",                        False, "unknown_channel"),
    ("teacher", "presence-lobby",                         False, "unknown_channel"),
    ("teacher", "private-encrypted-notes",                False, "unknown_channel"),
    ("teacher", "random-public",                          False, "unknown_channel"),
    ("admin",   "dashboard-updates",                      True,  "public_channel"),
    ("admin",   "content-generation",                     True,  "public_channel"),
    ("admin",   "agent-status",                           True,  "public_channel"),
    ("admin",   "private-user-admin_1",                   True,  "own_user_channel"),
    ("admin",   "private-user-student_1",                 False, "not_own_user_channel"),
    ("admin",   "private-class-9",                        True,  "class_member"),
    ("admin",   "private-class-8",                        True,  "admin"),
    ("admin",   "presence-classroom-9",                   True,  "class_member"),
    ("admin",   "presence-classroom-8",                   True,  "admin"),
    ("admin",   "presence-lesson-l2",                     True,  "admin"),
    ("admin",   "private-encrypted-user-admin_1",         True,  "own_user_channel"),
    ("admin",   "private-encrypted-user-student_1",       False, "not_own_user_channel"),
    ("admin",   "private-encrypted-class-9",              True,  "class_member"),
    ("admin",   "private-encrypted-class-8",              True,  "admin"),
    ("admin",   "private-notes-7",                        False, "unknown_channel"),
    ("admin",   "presence-lobby",                         False, "unknown_channel"),
    ("admin",   "private-encrypted-notes",                False, "unknown_channel"),
    ("admin",   "random-public",                          False, "unknown_channel"),
]
# fmt: on


# ------------------------------------------------------------------------------------------- policy


@pytest.mark.parametrize(("who", "name", "allowed", "reason"), MATRIX, ids=[f"{r[0]}:{r[1]}" for r in MATRIX])
def test_policy_matrix_decides_who_may_subscribe(who, name, allowed, reason):
    decision = authorize(PRINCIPALS[who], parse_channel(name))

    assert (decision.allowed, decision.reason) == (allowed, reason)
    assert decision.message


@pytest.mark.parametrize(
    ("who", "name", "reason"),
    [row[:2] + row[3:] for row in MATRIX if not row[2]],
    ids=[f"{r[0]}:{r[1]}" for r in MATRIX if not r[2]],
)
def test_require_subscribe_raises_forbidden_with_the_refusal_reason_as_code(who, name, reason):
    with pytest.raises(Forbidden) as caught:
        require_subscribe(PRINCIPALS[who], parse_channel(name))

    assert caught.value.status == 403
    assert caught.value.code == reason


def test_require_subscribe_returns_the_allowing_decision():
    decision = require_subscribe(STUDENT, parse_channel("presence-classroom-7"))

    assert decision.allowed
    assert decision.reason == "class_member"


def test_refusal_message_names_the_class_the_caller_is_not_in():
    decision = authorize(STUDENT, parse_channel("private-class-8"))

    assert decision.message == "You are not a member of class 8."


def test_admin_may_not_read_another_users_private_channel():
    assert not authorize(ADMIN, parse_channel("private-user-student_1")).allowed


def test_numeric_sub_owns_the_private_channel_of_its_decimal_string():
    principal = Principal.model_validate({"user_id": 12345})

    assert authorize(principal, parse_channel("private-user-12345")).allowed


def test_user_id_containing_a_dash_gets_its_own_private_channel():
    # UUID subjects (Cognito and most identity providers) contain '-': their channels must work, and
    # the templates' distinct prefixes keep every name on one template (see the property test).
    principal = Principal(user_id="0b6c1f2e-9d7a-4c1b-8f3e-2a5d6c7b8e9f")
    channel = parse_channel("private-user-0b6c1f2e-9d7a-4c1b-8f3e-2a5d6c7b8e9f")

    assert channel.family is FAMILIES["private-user"]
    assert authorize(principal, channel).allowed
    assert not authorize(Principal(user_id="0b6c1f2e"), channel).allowed


# ---------------------------------------------------------------------------------------- families


@pytest.mark.parametrize(
    ("name", "family", "kind", "params"),
    [
        ("dashboard-updates", "dashboard-updates", ChannelKind.PUBLIC, {}),
        ("content-generation", "content-generation", ChannelKind.PUBLIC, {}),
        ("agent-status", "agent-status", ChannelKind.PUBLIC, {}),
        ("private-user-12345", "private-user", ChannelKind.PRIVATE, {"user_id": "12345"}),
        ("private-user-user_12345", "private-user", ChannelKind.PRIVATE, {"user_id": "user_12345"}),
        ("private-class-7", "private-class", ChannelKind.PRIVATE, {"class_id": "7"}),
        ("presence-classroom-7", "presence-classroom", ChannelKind.PRESENCE, {"class_id": "7"}),
        ("presence-lesson-l1", "presence-lesson", ChannelKind.PRESENCE, {"lesson_id": "l1"}),
        ("private-encrypted-user-5", "private-encrypted-user", ChannelKind.ENCRYPTED, {"user_id": "5"}),
        ("private-encrypted-class-7", "private-encrypted-class", ChannelKind.ENCRYPTED, {"class_id": "7"}),
        ("private-user-a=b@c,d.e;f", "private-user", ChannelKind.PRIVATE, {"user_id": "a=b@c,d.e;f"}),
    ],
)
def test_parse_channel_finds_the_family_kind_and_parameters(name, family, kind, params):
    channel = parse_channel(name)

    assert (channel.name, channel.family, channel.kind, dict(channel.params)) == (
        name,
        FAMILIES[family],
        kind,
        params,
    )


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("private-encrypted-user-", ChannelKind.ENCRYPTED),
        ("private-encrypted-", ChannelKind.ENCRYPTED),
        ("private-user-", ChannelKind.PRIVATE),
        ("private-users-1", ChannelKind.PRIVATE),
        ("private-", ChannelKind.PRIVATE),
        ("private-classroom-7", ChannelKind.PRIVATE),
        ("presence-classroom-", ChannelKind.PRESENCE),
        ("presence-lessons-l1", ChannelKind.PRESENCE),
        ("presence-class-7", ChannelKind.PRESENCE),
        ("dashboard-updates-2", ChannelKind.PUBLIC),
        ("Dashboard-Updates", ChannelKind.PUBLIC),
        ("privateuser-1", ChannelKind.PUBLIC),
    ],
)
def test_names_matching_no_template_are_unknown_channels_of_their_prefix_kind(name, kind):
    channel = parse_channel(name)

    assert channel.family is None
    assert not channel.is_known
    assert channel.kind is kind
    assert dict(channel.params) == {}
    assert authorize(ADMIN, channel).reason == "unknown_channel"


def test_encrypted_user_channel_is_never_taken_for_a_private_user_channel():
    channel = parse_channel("private-encrypted-user-5")

    assert channel.family is FAMILIES["private-encrypted-user"]
    assert channel.is_encrypted
    assert authorize(Principal(user_id="encrypted-user-5"), channel).reason == "not_own_user_channel"
    assert authorize(Principal(user_id="5"), channel).allowed


@pytest.mark.parametrize(
    ("name", "public", "private", "presence", "encrypted"),
    [
        ("agent-status", True, False, False, False),
        ("private-class-7", False, True, False, False),
        ("presence-lesson-1", False, True, True, False),
        ("private-encrypted-class-7", False, True, False, True),
    ],
)
def test_channel_kind_flags(name, public, private, presence, encrypted):
    channel = parse_channel(name)

    assert (channel.is_public, channel.is_private, channel.is_presence, channel.is_encrypted) == (
        public,
        private,
        presence,
        encrypted,
    )


def test_client_events_are_allowed_only_on_presence_families():
    with_client_events = {family.id for family in CHANNELS if family.client_events}

    assert with_client_events == {"presence-classroom", "presence-lesson"}
    assert parse_channel("presence-lesson-1").client_events
    assert not parse_channel("private-user-1").client_events
    assert not parse_channel("presence-unknown").client_events


def test_family_ids_are_exactly_the_catalogs_keys():
    assert set(FAMILIES.values()) == set(catalog.EVENTS)
    assert [family.id for family in CHANNELS] == list(FAMILIES)


def test_parsed_channel_is_immutable_and_hashable():
    channel = parse_channel("private-class-7")

    with pytest.raises(TypeError):
        channel.params["class_id"] = "8"  # type: ignore[index]
    assert hash(channel) == hash(parse_channel("private-class-7"))


@pytest.mark.parametrize(
    "bad",
    [
        {"template": "presence-x-{id}", "kind": ChannelKind.PRIVATE},
        {"template": "private-x-{id}", "kind": ChannelKind.ENCRYPTED},
        {"template": "public x", "kind": ChannelKind.PUBLIC},
        {"template": "private-encrypted-x-{id}", "kind": ChannelKind.ENCRYPTED, "client_events": True},
    ],
)
def test_a_table_line_that_contradicts_pusher_is_refused_when_declared(bad):
    with pytest.raises(ValueError):
        ChannelFamily(rule=anyone, **bad)


_PARAM = st.text(alphabet="abcXYZ019_=@,.;", min_size=1, max_size=40)


@given(value=_PARAM)
def test_every_template_filled_with_any_parameter_parses_back_to_its_family(value):
    for family in CHANNELS:
        if "{" not in family.template:
            continue
        name = family.template.split("{", 1)[0] + value
        channel = parse_channel(name)
        assert channel.family is family
        assert list(channel.params.values()) == [value]


_PREFIXES = st.sampled_from([family.template.split("{", 1)[0] for family in CHANNELS] + ["private-", ""])
_SUFFIXES = st.text(alphabet="abc019_-=@,.;", max_size=40)


@given(prefix=_PREFIXES, middle=_PREFIXES, suffix=_SUFFIXES)
def test_no_name_matches_two_templates(prefix, middle, suffix):
    name = prefix + middle + suffix

    assert sum(family.match(name) is not None for family in CHANNELS) <= 1


# ------------------------------------------------------------------------------------------ grammar


def test_channel_name_of_164_characters_is_accepted():
    name = "private-class-" + "7" * (CHANNEL_NAME_MAX_LENGTH - len("private-class-"))

    assert len(name) == 164
    assert parse_channel(name).family is FAMILIES["private-class"]


def test_channel_name_of_165_characters_is_refused_with_its_length_and_the_limit():
    name = "private-class-" + "7" * (165 - len("private-class-"))

    with pytest.raises(InvalidChannel) as caught:
        parse_channel(name)

    assert caught.value.status == 400
    assert caught.value.code == "invalid_channel_name"
    assert "165" in caught.value.message
    assert "164" in caught.value.message


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("private user", "' '"),
        ("private-user-1#", "'#'"),
        ("presence-lesson-ü", "'ü'"),
        ("private-class-7/8", "'/'"),
        ("private-user-1\n", "'\\n'"),
        ("chat:1", "':'"),
        ("#server-to-user-1", "'#'"),
        ("private-user-\u0661\u0662", "'\u0661'"),  # Arabic-Indic digits
    ],
)
def test_channel_name_with_illegal_characters_is_refused_naming_them(name, shown):
    with pytest.raises(InvalidChannel) as caught:
        parse_channel(name)

    assert caught.value.code == "invalid_channel_name"
    assert shown in caught.value.message


def test_empty_channel_name_is_refused():
    with pytest.raises(InvalidChannel, match="empty"):
        validate_channel_name("")


def test_validate_channel_name_returns_a_valid_name_unchanged():
    assert validate_channel_name("a-Z_0=@,.;") == "a-Z_0=@,.;"


# ------------------------------------------------------------------------------------------ visible_to


# fmt: off
VISIBILITY = [
    # who        channel                        visible
    ("admin",   "private-user-student_1",      True),
    ("admin",   "presence-lesson-l9",          True),
    ("admin",   "private-class-8",             True),
    ("admin",   "dashboard-updates",           True),
    ("admin",   "private-unknown",             True),
    ("teacher", "private-class-7",             True),
    ("teacher", "presence-classroom-7",        True),
    ("teacher", "private-encrypted-class-7",   True),
    ("teacher", "private-class-8",             False),
    ("teacher", "presence-classroom-8",        False),
    ("teacher", "private-encrypted-class-8",   False),
    ("teacher", "presence-lesson-l1",          False),
    ("teacher", "private-user-teacher_1",      False),
    ("teacher", "dashboard-updates",           False),
    ("teacher", "private-unknown",             False),
    ("student", "private-class-7",             False),
    ("student", "presence-classroom-7",        False),
    ("student", "presence-lesson-l1",          False),
    ("student", "private-user-student_1",      False),
    ("student", "dashboard-updates",           False),
]
# fmt: on


@pytest.mark.parametrize(("who", "name", "visible"), VISIBILITY, ids=[f"{r[0]}:{r[1]}" for r in VISIBILITY])
def test_read_api_shows_admins_everything_and_teachers_their_classes(who, name, visible):
    assert visible_to(PRINCIPALS[who], parse_channel(name)) is visible


# ------------------------------------------------------------------------------------ boundary types


class Body(BaseModel):
    channel: ChannelName
    socket_id: SocketId | None = None
    event: EventName | None = None
    server_event: ServerEventName | None = None


@pytest.mark.parametrize("socket_id", ["1234.1234", "0.0", "123456789.987654321"])
def test_socket_id_accepts_digits_dot_digits(socket_id):
    assert Body(channel="c", socket_id=socket_id).socket_id == socket_id
    assert validate_socket_id(socket_id) == socket_id


@pytest.mark.parametrize(
    "socket_id",
    [
        "",
        "1234",
        "1234.",
        ".1234",
        "1234.1234:private-admin",
        "1234.1234\n",
        "\u0661\u0662.\u0663",  # Arabic-Indic digits match \d, but are no socket id
        "1.2.3",
        "-1.2",
        "1" * 32 + "." + "1" * 32,
    ],
)
def test_socket_id_refuses_anything_else(socket_id):
    with pytest.raises(ValidationError):
        Body(channel="c", socket_id=socket_id)
    with pytest.raises(BadRequest) as caught:
        validate_socket_id(socket_id)
    assert caught.value.code == "invalid_socket_id"


def test_channel_name_alias_enforces_grammar_and_length():
    adapter = TypeAdapter(ChannelName)

    assert adapter.validate_python("x" * 164) == "x" * 164
    for bad in ["", "x" * 165, "a b", "a\n", "ü"]:
        with pytest.raises(ValidationError):
            adapter.validate_python(bad)


@pytest.mark.parametrize("name", ["progress_update", "lesson:started", "client-typing", "x" * 200])
def test_event_name_alias_accepts_names_of_the_grammar(name):
    assert TypeAdapter(EventName).validate_python(name) == name
    assert validate_event_name(name) == name


@pytest.mark.parametrize(
    "name", ["", "x" * 201, "pusher:subscribe", "pusher_internal:member_added", "a b", "App\\Events\\X"]
)
def test_event_name_alias_refuses_reserved_long_and_illegal_names(name):
    with pytest.raises(ValidationError):
        TypeAdapter(EventName).validate_python(name)
    with pytest.raises(BadRequest) as caught:
        validate_event_name(name)
    assert caught.value.code == "invalid_event_name"


def test_server_may_not_trigger_client_events():
    with pytest.raises(ValidationError, match="client"):
        TypeAdapter(ServerEventName).validate_python("client-typing")
    with pytest.raises(BadRequest) as caught:
        validate_server_event_name("client-typing")
    assert caught.value.code == "invalid_event_name"


@pytest.mark.parametrize("name", ["pusher:subscribe", "x" * 201, ""])
def test_server_event_name_refuses_what_any_event_name_refuses(name):
    with pytest.raises(BadRequest):
        validate_server_event_name(name)


def test_server_event_name_accepts_catalog_names():
    assert validate_server_event_name("system_notification") == "system_notification"
    assert TypeAdapter(ServerEventName).validate_python("lesson:started") == "lesson:started"


def test_channel_is_a_plain_value():
    channel = Channel("foo", None, ChannelKind.PUBLIC)

    assert channel.is_public
    assert not channel.is_known
    assert authorize(STUDENT, channel).reason == "unknown_channel"


# ------------------------------------------------------------------------------------------- builders


@pytest.mark.parametrize(
    ("family", "params", "name"),
    [
        (DASHBOARD_UPDATES, {}, "dashboard-updates"),
        (USER, {"user_id": "0b6c1f2e-9d7a"}, "private-user-0b6c1f2e-9d7a"),
        (CLASSROOM, {"class_id": "7"}, "presence-classroom-7"),
        (LESSON, {"lesson_id": "l1"}, "presence-lesson-l1"),
        (ENCRYPTED_USER, {"user_id": "5"}, "private-encrypted-user-5"),
        (CANARY, {"run_id": "0f3e"}, "private-canary-0f3e"),
    ],
)
def test_a_family_builds_the_names_it_parses(family, params, name):
    assert family.name(**params) == name
    channel = family.channel(**params)
    assert (channel.name, channel.family, dict(channel.params)) == (name, family, params)
    assert channel == parse_channel(name)


def test_every_family_has_a_constant_and_builds_its_own_names():
    constants = (DASHBOARD_UPDATES, CONTENT_GENERATION, AGENT_STATUS, USER, CLASS, CLASSROOM, LESSON)
    assert set(constants) | {ENCRYPTED_USER, ENCRYPTED_CLASS, CANARY} == set(CHANNELS)
    for family in CHANNELS:
        assert family.channel(**dict.fromkeys(family.params, "x1")).family is family


@pytest.mark.parametrize(("params", "code"), [({"user_id": ""}, 400), ({"user_id": "a b"}, 400)])
def test_a_builder_refuses_ids_that_make_no_channel_of_its_family(params, code):
    with pytest.raises(InvalidChannel) as caught:
        USER.channel(**params)

    assert (caught.value.status, caught.value.code) == (code, "invalid_channel_name")


def test_a_builder_takes_exactly_the_templates_parameters():
    with pytest.raises(TypeError):
        USER.name(class_id="7")
    with pytest.raises(TypeError):
        DASHBOARD_UPDATES.name(user_id="7")


def test_families_are_table_lines_compared_by_identity():
    twin = ChannelFamily(USER.template, USER.kind, USER.rule)

    assert twin != USER
    assert FAMILIES["private-user"] is USER
    assert repr(USER) == "ChannelFamily('private-user-{user_id}')"


def test_history_is_a_column_read_through_the_parsed_channel():
    kept = {family.id for family in CHANNELS if family.keeps_history}

    public = {"dashboard-updates", "content-generation", "agent-status"}
    assert kept == public | {"private-user", "private-class"}
    assert parse_channel("private-class-7").keeps_history
    assert not parse_channel("presence-lesson-1").keeps_history
    assert not parse_channel("private-unknown-1").keeps_history


def test_viewers_are_a_column_of_the_table():
    by_teachers = {family.id for family in CHANNELS if family.viewers is teachers}

    assert by_teachers == {"private-class", "presence-classroom", "private-encrypted-class"}
    assert all(family.viewers is admins for family in CHANNELS if family.id not in by_teachers)


def test_a_family_without_a_class_cannot_be_viewed_by_class_teachers():
    with pytest.raises(ValueError, match="no class"):
        ChannelFamily("private-x-{user_id}", ChannelKind.PRIVATE, anyone, teachers)


def test_member_data_is_a_column_of_the_presence_families_only():
    saying = {family.id for family in CHANNELS if family.member_data is not None}

    assert saying == {family.id for family in CHANNELS if family.kind is ChannelKind.PRESENCE}
    assert CLASSROOM.member_data is token_identity
    assert LESSON.member_data is token_identity
    with pytest.raises(ValueError, match="member data"):
        ChannelFamily("presence-x-{class_id}", ChannelKind.PRESENCE, anyone)
    with pytest.raises(ValueError, match="member data"):
        ChannelFamily("private-x-{user_id}", ChannelKind.PRIVATE, anyone, member_data=token_identity)


def test_presence_member_signs_the_member_data_the_family_says_within_pusher_s_1_kb():
    from toolboxai_realtime import authorization

    def lesson_member(principal: Principal, status: str, activity: str | None) -> dict[str, object]:
        return {"name": principal.name, "in_lesson": True, "note": activity}

    ada = Principal(user_id="9", name="Ada")
    member = authorization.presence_member(ada, "away", "x", member_data=lesson_member)
    assert member == {"user_id": "9", "user_info": {"name": "Ada", "in_lesson": True, "note": "x"}}
    assert authorization.presence_member(ada)["user_info"] == token_identity(ada, "active", None)
    with pytest.raises(ValidationFailed):
        authorization.presence_member(ada, "away", "n" * 1100, member_data=lesson_member)


# ------------------------------------------------------------------------------------ kinds, alphabet


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("private-encrypted-user-5", ChannelKind.ENCRYPTED),
        ("private-encrypted-", ChannelKind.ENCRYPTED),
        ("presence-anything", ChannelKind.PRESENCE),
        ("private-anything", ChannelKind.PRIVATE),
        ("dashboard-updates", ChannelKind.PUBLIC),
        ("not a valid name", ChannelKind.PUBLIC),
    ],
)
def test_kind_of_reads_pushers_prefix_alone(name, kind):
    assert kind_of(name) is kind


def test_each_kind_knows_its_prefix():
    assert {kind: kind.prefix for kind in ChannelKind} == {
        ChannelKind.PUBLIC: "",
        ChannelKind.PRIVATE: "private-",
        ChannelKind.PRESENCE: "presence-",
        ChannelKind.ENCRYPTED: "private-encrypted-",
    }


def test_id_pattern_is_the_channel_alphabet_with_a_length():
    assert re.fullmatch(id_pattern(), "a-Z_0=@,.;" * 30)
    assert re.fullmatch(id_pattern(128), "x" * 128)
    assert not re.fullmatch(id_pattern(128), "x" * 129)
    assert not re.fullmatch(id_pattern(), "a:b")
    assert re.fullmatch(id_pattern(colon=True), "a:b")
    for bad in ["", "a b", "ü", "a/b"]:
        assert not re.fullmatch(id_pattern(), bad)
