"""README's configuration table names every setting an operator or developer can set (issue 16: it
lacked JWT_LEEWAY_SECONDS)."""

from __future__ import annotations

import re

from tests.conftest import ROOT
from toolboxai_realtime.settings import Settings

# Wiring, not configuration: template.yaml sets these from its own resources and parameters.
SET_BY_THE_TEMPLATE = {
    "ENVIRONMENT",
    "PUSHER_SECRET_NAME",
    "JWT_SECRET_NAME",
    "RATE_LIMIT_TABLE",
    "PRESENCE_TABLE",
    "IDEMPOTENCY_TABLE",
    "CONNECTIONS_TABLE",
    "MAINTENANCE_TABLE",
    "HISTORY_TABLE",
    "LEGACY_WS_ENDPOINT",
    "LEGACY_FANOUT_FUNCTION",
}


def _documented() -> set[str]:
    section = (ROOT / "README.md").read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1])}


def test_every_setting_is_in_the_configuration_table():
    settings = {name.upper() for name in Settings.model_fields}
    missing = settings - SET_BY_THE_TEMPLATE - _documented()
    assert not missing, f"add to README's Configuration table: {sorted(missing)}"


def test_jwt_leeway_is_documented_with_its_default():
    section = (ROOT / "README.md").read_text().split("## Configuration", 1)[1]
    (row,) = [line for line in section.splitlines() if line.startswith("| `JWT_LEEWAY_SECONDS`")]
    assert f"`{Settings.model_fields['jwt_leeway_seconds'].default}`" in row
