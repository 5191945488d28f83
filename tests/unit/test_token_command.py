"""`make token` prints a JWT that the system's own identity check accepts."""

from __future__ import annotations

from local_stack.token import main
from toolboxai_realtime.identity import authenticate


def test_token_command_prints_a_token_the_auth_code_accepts(capsys):
    assert (
        main(
            [
                "--sub",
                "12345",
                "--role",
                "teacher",
                "--class",
                "101",
                "--class",
                "102",
                "--lesson",
                "7",
                "--name",
                "Ms. Frizzle",
                "--scope",
                "realtime:trigger",
            ]
        )
        == 0
    )
    token = capsys.readouterr().out.strip()
    principal = authenticate(token)
    assert principal.user_id == "12345"
    assert principal.role == "teacher"
    assert principal.name == "Ms. Frizzle"
    assert principal.class_ids == frozenset({"101", "102"})
    assert principal.lesson_ids == frozenset({"7"})
    assert "realtime:trigger" in principal.scopes
