"""The pure half of channel authorization: request parsing, per-channel decisions, presence and sign-in
data. No AWS, no Pusher."""

from __future__ import annotations

import pytest

from toolboxai_realtime.authorization import (
    MAX_BATCH_CHANNELS,
    ChannelAuthRequest,
    Denied,
    Granted,
    Malformed,
    Public,
    Refused,
    _without_encryption,
    decide,
    parse_channel_auth_request,
    parse_socket_id,
    presence_member,
    signin_user_data,
)
from toolboxai_realtime.errors import (
    BadRequest,
    ConfigurationError,
    Forbidden,
    InvalidChannel,
    ValidationFailed,
    batch_entry,
)
from toolboxai_realtime.identity import Principal

STUDENT = Principal(user_id="555", role="student", name="Arnold", class_ids=frozenset({"101"}))


def refused(body, kind=BadRequest):
    with pytest.raises(kind) as caught:
        parse_channel_auth_request(body)
    return caught.value


# ------------------------------------------------------------------------------------------ requests


def test_single_channel_request_from_a_form():
    request = parse_channel_auth_request({"socket_id": "123.456", "channel_name": "private-user-555"})
    assert request == ChannelAuthRequest("123.456", ("private-user-555",), batch=False)
    assert request.status == "active"
    assert request.current_activity is None


def test_batch_request_keeps_the_order_of_the_indices_not_of_the_keys():
    body = {
        "socket_id": "1.2",
        "channel_name[10]": "private-class-10",
        "channel_name[2]": "private-class-2",
        "channel_name[0]": "private-class-0",
    }
    request = parse_channel_auth_request(body)
    assert request.batch is True
    assert request.channels == ("private-class-0", "private-class-2", "private-class-10")


def test_json_list_of_channel_names_is_a_batch():
    request = parse_channel_auth_request(
        {"socket_id": "1.2", "channel_name": ["private-user-1", "private-user-2"]}
    )
    assert request.batch is True
    assert request.channels == ("private-user-1", "private-user-2")


def test_a_batch_naming_a_channel_twice_answers_it_once():
    body = {"socket_id": "1.2", "channel_name[0]": "private-user-1", "channel_name[1]": "private-user-1"}
    assert parse_channel_auth_request(body).channels == ("private-user-1",)


def test_a_batch_of_one_is_still_answered_per_channel():
    assert parse_channel_auth_request({"socket_id": "1.2", "channel_name[0]": "private-user-1"}).batch is True


def test_single_and_batch_names_together_are_refused():
    error = refused(
        {"socket_id": "1.2", "channel_name": "private-user-1", "channel_name[0]": "private-user-2"}
    )
    assert error.code == "malformed_batch"


@pytest.mark.parametrize(
    "key", ["channel_name[x]", "channel_name[]", "channel_name[-1]", "channel_name[12345]"]
)
def test_batch_keys_other_than_channel_name_index_are_refused(key):
    assert refused({"socket_id": "1.2", key: "private-user-1"}).code == "malformed_batch"


def test_more_channels_than_a_batch_may_hold_are_refused():
    body = {
        "socket_id": "1.2",
        **{f"channel_name[{i}]": f"private-user-{i}" for i in range(MAX_BATCH_CHANNELS + 1)},
    }
    error = refused(body)
    assert error.code == "too_many_channels"
    assert str(MAX_BATCH_CHANNELS) in error.message


def test_exactly_the_batch_limit_is_accepted():
    body = {
        "socket_id": "1.2",
        **{f"channel_name[{i}]": f"private-user-{i}" for i in range(MAX_BATCH_CHANNELS)},
    }
    assert len(parse_channel_auth_request(body).channels) == MAX_BATCH_CHANNELS


@pytest.mark.parametrize(
    "body",
    [
        {"socket_id": "1.2"},
        {"socket_id": "1.2", "channel_name": ""},
        {"socket_id": "1.2", "channel_name": []},
    ],
)
def test_missing_channel_name_is_refused(body):
    assert refused(body).code == "missing_channel_name"


@pytest.mark.parametrize("value", [5, 0, {"a": 1}, ["private-user-1", 7]])
def test_channel_names_that_are_not_strings_are_refused(value):
    assert refused({"socket_id": "1.2", "channel_name": value}).code == "invalid_channel_name"


def test_channel_names_are_not_judged_while_parsing():
    # Each name is answered on its own (a batch must still sign the good ones).
    request = parse_channel_auth_request({"socket_id": "1.2", "channel_name": "has space"})
    assert request.channels == ("has space",)


# ------------------------------------------------------------------------------------------ socket ids


@pytest.mark.parametrize("socket_id", ["1.1", "123.456", "98765432101234.0"])
def test_socket_ids_of_digits_dot_digits_are_accepted(socket_id):
    assert parse_socket_id({"socket_id": socket_id}) == socket_id


@pytest.mark.parametrize(
    "socket_id",
    [
        "1.1:private-user-2",  # would sign "1.1:private-user-2:<channel>": another channel's string
        "1.1:",
        "1234",
        "1.",
        ".1",
        "1.1.1",
        "-1.1",
        "a.b",
        "1.1 ",
        " 1.1",
        "1.1\n",
        "١٢.٣٤",  # Arabic-Indic digits are \d in Python, not in Pusher
        "1" * 40 + "." + "1" * 40,
    ],
)
def test_socket_ids_that_are_not_digits_dot_digits_are_refused(socket_id):
    with pytest.raises(BadRequest) as caught:
        parse_socket_id({"socket_id": socket_id})
    assert caught.value.code == "invalid_socket_id"
    assert caught.value.message == "The socket_id must look like 1234.5678."  # fixed: never echoes input


@pytest.mark.parametrize("value", [123.456, 1, ["1.1"], {"a": "1.1"}, True])
def test_socket_ids_that_are_not_strings_are_refused(value):
    with pytest.raises(BadRequest) as caught:
        parse_socket_id({"socket_id": value})
    assert caught.value.code == "invalid_socket_id"


@pytest.mark.parametrize("body", [{}, {"socket_id": ""}, {"socket_id": None}])
def test_missing_socket_id_is_refused(body):
    with pytest.raises(BadRequest) as caught:
        parse_socket_id(body)
    assert caught.value.code == "missing_socket_id"


# ------------------------------------------------------------------------------ presence parameters


@pytest.mark.parametrize("status", ["active", "away", "busy"])
def test_presence_status_is_one_of_three(status):
    body = {"socket_id": "1.2", "channel_name": "presence-classroom-101", "status": status}
    assert parse_channel_auth_request(body).status == status


@pytest.mark.parametrize("status", ["offline", "ACTIVE", " away", 1, ["away"], {"s": 1}])
def test_other_presence_statuses_are_a_422(status):
    body = {"socket_id": "1.2", "channel_name": "presence-classroom-101", "status": status}
    assert refused(body, ValidationFailed).code == "invalid_status"


def test_blank_presence_parameters_mean_their_defaults():
    body = {
        "socket_id": "1.2",
        "channel_name": "presence-classroom-101",
        "status": "",
        "current_activity": "  ",
    }
    request = parse_channel_auth_request(body)
    assert (request.status, request.current_activity) == ("active", None)


def test_current_activity_is_trimmed():
    body = {"socket_id": "1.2", "channel_name": "presence-classroom-101", "current_activity": "  Quiz 3 "}
    assert parse_channel_auth_request(body).current_activity == "Quiz 3"


@pytest.mark.parametrize("activity", ["x" * 101, "line\nbreak", "tab\there", "bell\x07", 42, ["a"]])
def test_current_activity_must_be_short_printable_text(activity):
    body = {"socket_id": "1.2", "channel_name": "presence-classroom-101", "current_activity": activity}
    assert refused(body, ValidationFailed).code == "invalid_current_activity"


def test_current_activity_of_100_characters_is_accepted():
    body = {"socket_id": "1.2", "channel_name": "presence-classroom-101", "current_activity": "é" * 100}
    assert parse_channel_auth_request(body).current_activity == "é" * 100


# ------------------------------------------------------------------------------------------ decisions


@pytest.mark.parametrize(
    ("name", "verdict", "status", "code", "family"),
    [
        ("private-user-555", Granted, 200, "own_user_channel", "private-user"),
        ("private-user-556", Denied, 403, "not_own_user_channel", "private-user"),
        ("presence-classroom-101", Granted, 200, "class_member", "presence-classroom"),
        ("private-class-202", Denied, 403, "not_in_class", "private-class"),
        ("presence-lesson-7", Denied, 403, "not_in_lesson", "presence-lesson"),
        ("private-encrypted-user-555", Granted, 200, "own_user_channel", "private-encrypted-user"),
        ("private-whatever", Denied, 403, "unknown_channel", "unknown"),
        ("presence-whatever-1", Denied, 403, "unknown_channel", "unknown"),
        ("dashboard-updates", Public, 400, "public_channel", "dashboard-updates"),
        ("some-public-name", Public, 400, "public_channel", "public"),
        ("private-user-5 5", Malformed, 400, "invalid_channel_name", "invalid"),
        ("p" * 165, Malformed, 400, "invalid_channel_name", "invalid"),
    ],
)
def test_decide_answers_each_channel_with_a_verdict_reason_and_family(name, verdict, status, code, family):
    outcome = decide(STUDENT, name)
    assert type(outcome) is verdict
    assert (outcome.code, outcome.family) == (code, family)
    assert outcome.granted is (verdict is Granted)
    assert outcome.message
    # The status is the HTTP layer's: a refusal keeps the error it answers with, and errors map it.
    assert batch_entry(outcome.error if isinstance(outcome, Refused) else {})["status"] == status


def test_a_malformed_name_keeps_the_parsers_own_error():
    outcome = decide(STUDENT, "private-user-5 5")
    assert isinstance(outcome, Malformed)
    assert isinstance(outcome.error, InvalidChannel)


def test_encryption_off_is_a_configuration_error_not_a_denial():
    granted = decide(STUDENT, "private-encrypted-user-555")
    assert isinstance(granted, Granted)
    off = _without_encryption(granted)
    assert isinstance(off.error, ConfigurationError)
    assert (off.code, batch_entry(off.error)["status"]) == ("encryption_not_configured", 503)


# ---------------------------------------------------------------------------------- presence & sign-in


def test_presence_member_comes_from_the_token_and_the_presence_parameters():
    teacher = Principal(
        user_id="12345", role="teacher", name="Ms. Frizzle", avatar_url="https://img.test/f.png"
    )
    assert presence_member(teacher, "busy", "Grading") == {
        "user_id": "12345",
        "user_info": {
            "name": "Ms. Frizzle",
            "role": "teacher",
            "avatar_url": "https://img.test/f.png",
            "status": "busy",
            "current_activity": "Grading",
        },
    }


def test_presence_member_without_a_name_in_the_token_shows_the_user_id():
    member = presence_member(Principal(user_id="77"))
    assert member == {"user_id": "77", "user_info": {"name": "77", "role": "student", "status": "active"}}


def test_presence_user_info_over_one_kilobyte_is_refused():
    with pytest.raises(ValidationFailed) as caught:
        presence_member(Principal(user_id="1", name="n" * 1000), "active", "a" * 100)
    assert caught.value.code == "user_info_too_large"


def test_presence_user_info_counts_bytes_not_characters():
    # 330 three-byte characters: 990 bytes of name; with the other fields > 1024 bytes.
    with pytest.raises(ValidationFailed):
        presence_member(Principal(user_id="1", name="€" * 330))
    assert presence_member(Principal(user_id="1", name="€" * 300))["user_info"]["name"] == "€" * 300


def test_sign_in_user_data_has_the_sub_as_id_and_the_token_as_user_info():
    assert signin_user_data(STUDENT) == {"id": "555", "user_info": {"name": "Arnold", "role": "student"}}


@pytest.mark.parametrize("user_id", ["auth0|123", "user 1", "ü"])
def test_sign_in_refuses_user_ids_pusher_does_not_accept(user_id):
    with pytest.raises(Forbidden) as caught:
        signin_user_data(Principal(user_id=user_id))
    assert caught.value.code == "unsupported_user_id"
