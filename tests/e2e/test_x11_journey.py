"""A citizen's e-KTP journey tapped with real X11 pointer events on a private Xvfb (issue 13).

The pilot's injected taps go straight into pygame's queue; these go through an X server, SDL's x11 video
driver and the app's pointer reader, as a mouse or a touchscreen driver delivers them. Double taps on
"Lanjut" and on "Setuju dan simpan" must act once, and the receipt must stay on screen; a second tap soon
after a screen change, and a press that began before one, never act on the new screen.

Needs ``Xvfb`` and ``xdotool`` (Debian packages ``xvfb`` and ``xdotool``; ``scripts/run-tests`` installs
them where it runs as root); skipped with one line naming them where they are missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

pytestmark = pytest.mark.skipif(
    not (shutil.which("Xvfb") and shutil.which("xdotool")),
    reason="X11 journey: Xvfb or xdotool missing (apt-get install xvfb xdotool)",
)


def test_a_whole_ektp_journey_with_x11_taps_acts_once_per_double_tap(x_display, tmp_path):
    env = {
        **os.environ,
        "DISPLAY": x_display,
        "SDL_VIDEODRIVER": "x11",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "scripts")]),
    }
    done = subprocess.run(
        [sys.executable, str(HERE / "x11_citizen.py"), str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    seen = {line["at"]: line for line in map(json.loads, done.stdout.splitlines())}

    assert seen["checklist"]["step"] == "checklist"
    # The second click of the double tap came while the identity screen settled: one screen forward only.
    # (had it pressed the identity screen's "Lanjut", the empty fields would be flagged)
    assert seen["after double tap on Lanjut"] == {
        "at": "after double tap on Lanjut",
        "step": "identity",
        "issues": [],
    }
    # A second tap that came 0.2 s (by the app's clock) after the identity screen was drawn, on its "Lanjut":
    # ignored by the screen-change guard (without it, the empty fields would be flagged).
    assert seen["after a second tap on the new screen"] == {
        "at": "after a second tap on the new screen",
        "step": "identity",
        "issues": [],
    }
    # The same on identity's "Lanjut": details page 1 shown untouched, not page 2 nor its fields' errors.
    assert seen["after double tap on identity's Lanjut"] == {
        "at": "after double tap on identity's Lanjut",
        "step": "details",
        "issues": [],
        "page": 0,
    }
    # A finger that went down on page 1's "Lanjut" and came up after the page turned did not press page 2's.
    assert seen["after a press across a page turn"] == {
        "at": "after a press across a page turn",
        "step": "details",
        "page": 1,
    }
    assert seen["after details"]["step"] == "photo"
    assert seen["review"] == {"at": "review", "step": "review", "has_signature": True}
    after_save = seen["after double tap on Save"]
    # Saved once, and the second click did not press "Selesai" where "Simpan" was: the receipt stays.
    assert after_save["step"] == "receipt"
    assert after_save["screen"] == "ReceiptScreen"
    assert after_save["can_finish"] is False
    assert sum(after_save["records"].values()) == 1
    assert seen["after Done"]["step"] == "welcome"
    assert (tmp_path / "receipt.png").stat().st_size > 0
