"""Architecture: the channel table (``toolboxai_realtime.channels``) is the only code that knows channel
names. Everywhere else in the layer and the functions, no string in code starts with a channel kind's
prefix (``private-``, ``presence-``, ``private-encrypted-``), a family's fixed part or a public channel's
name, and none spells the channel alphabet: such strings mean a module matches prefixes, assembles names
or re-declares the grammar instead of asking a parsed ``Channel``, a family's builder, ``kind_of`` or
``id_pattern``.

Prose is not code: docstrings and comments may name channels as examples, and so may field descriptions
and messages (they do not start with a name). Tests, ``local_stack`` and ``docs`` may use literal names
as data.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT
from toolboxai_realtime.channels import CHANNELS

LAYER = ROOT / "layers" / "shared" / "toolboxai_realtime"
TABLE = LAYER / "channels.py"
SOURCES = sorted(
    path
    for path in [*LAYER.rglob("*.py"), *(ROOT / "functions").rglob("*.py")]
    if path != TABLE and ".aws-sam" not in path.parts
)

# Pusher's kind prefixes (written out: the test must not trust the module it guards), then every
# family's fixed part and id, which also covers the public channels' names.
_PREFIXES = tuple(
    sorted(
        {"private-", "presence-", "private-encrypted-"}
        | {family.template.split("{", 1)[0] for family in CHANNELS}
        | {family.id for family in CHANNELS}
    )
)
# The channel alphabet as a regex character class writes these five characters in a row (in either
# of the orders used by Pusher's SDK and by this codebase); prose lists them with spaces.
_ALPHABET_MARKERS = ("=@,.;", "_=@,.;")


def _strings_in_code(tree: ast.AST) -> Iterator[tuple[int, str]]:
    prose = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in prose:
            yield node.lineno, node.value


def _offences(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for line, text in _strings_in_code(tree):
        if text.startswith(_PREFIXES) or any(marker in text for marker in _ALPHABET_MARKERS):
            found.append(f"{path.relative_to(ROOT)}:{line}: {text!r}")
    return found


def test_the_scan_sees_the_layer_and_the_functions():
    # Guards the test itself: an empty file list would pass without checking anything.
    assert LAYER / "publisher.py" in SOURCES
    assert any(path.parts[-3] == "functions" for path in SOURCES)
    assert "presence-" in _PREFIXES
    assert "private-encrypted-" in _PREFIXES
    assert "dashboard-updates" in _PREFIXES


@pytest.mark.parametrize(
    ("source", "offends"),
    [
        ('if name.startswith("presence-"): pass', True),
        ('name = f"private-canary-{run_id}"', True),
        ('prefix = "private-encrypted-user-" if encrypted else "private-user-"', True),
        ('CHANNEL = "dashboard-updates"', True),
        ('ID = re.compile(r"[A-Za-z0-9_\\-=@,.;]{1,128}")', True),
        ('"""Send to ``private-user-{user_id}``."""', False),
        ('x = Field(description="The channel, e.g. private-user-12345.")', False),
        ("CHANNEL = channels.DASHBOARD_UPDATES.name()", False),
    ],
)
def test_the_scan_tells_code_from_prose(source, offends):
    found = [
        text
        for _, text in _strings_in_code(ast.parse(source))
        if text.startswith(_PREFIXES) or any(marker in text for marker in _ALPHABET_MARKERS)
    ]

    assert bool(found) is offends, found


@pytest.mark.parametrize("path", SOURCES, ids=[str(p.relative_to(ROOT)) for p in SOURCES])
def test_no_module_outside_the_channel_table_spells_channel_names_or_the_alphabet(path):
    assert _offences(path) == []
