"""The debug console (/console) in a real headless Chromium, driven by playwright-core (js/console.mjs):
mint a token, subscribe, trigger an event from the form, see it arrive live, see a validation error.

Needs Debian's Chromium (`apt-get install -y chromium`; .ci/run installs it) or another Chromium named by
CHROMIUM. The screenshot is kept as test-artifacts/console.png.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, run_browser_script

pytestmark = pytest.mark.e2e

SCRIPT = Path(__file__).parent / "js" / "console.mjs"
ARTIFACTS = ROOT / "test-artifacts"


def test_console_mints_subscribes_triggers_and_shows_events_and_errors(stack):
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "console.png"
    screenshot.unlink(missing_ok=True)
    sub = f"console-{uuid.uuid4().hex[:8]}"
    marker = f"hello-{uuid.uuid4().hex}"
    class_id = f"c{uuid.uuid4().hex[:8]}"  # a classroom of its own: exactly one member, the console
    args = {
        "base": stack.base,
        "screenshot": str(screenshot),
        "sub": sub,
        "classId": class_id,
        "marker": marker,
    }

    page = run_browser_script(SCRIPT, args, timeout=180)
    assert page["ok"], page.get("error")
    assert page["pageErrors"] == []
    # The only failed request the page makes is the invalid trigger, on purpose.
    assert page["consoleErrors"] == [
        "Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)"
    ]
    assert f"sub {sub} · role admin · classes {class_id}" in page["claims"]
    assert page["socketId"].count(".") == 1
    # Presence: the console's own user is a member of the classroom.
    assert f"presence-classroom-{class_id} · 1 member" in page["members"]
    assert f"Console E2E (you) · {sub}" in page["members"]
    # The event form was prefilled with a valid example of the catalog's data.
    assert {"type", "title", "message"} <= set(page["prefilled"])
    # The triggered event came back over pusher-js and is on the page.
    assert page["triggerResult"].startswith("200 · Event triggered successfully")
    assert f"private-user-{sub}" in page["triggerResult"]
    assert marker in page["eventRow"]
    assert "personal_notification" in page["eventRow"]
    # An invalid event: the status, the code and each field's problem.
    assert page["validationError"].startswith("422 invalid_event_data")
    assert "data.title" in page["validationError"]
    assert "data.type" in page["validationError"]
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
