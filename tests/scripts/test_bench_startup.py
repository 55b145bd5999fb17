"""scripts/bench.py's start-up rows: both moments of a start are read from the program's own notifications.

No figure is asserted (speed is measured by running the benchmark); these check that the first frame
(``READY=1``) and the kiosk built (``STATUS=serving``, sent later) are told apart, that the bytecode cache is
written where the bench says, and that the rows name both moments beside their references.
"""

from __future__ import annotations

import sys
from pathlib import Path

import bench

#: Says READY=1 (the first frame), imports something, then says STATUS=serving in a datagram of its own (the
#: kiosk built), and waits to be terminated, as the kiosk does.
_TWO_MOMENTS = """
import os, socket
notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
notify.sendto(b"READY=1\\nSTATUS=starting", os.environ["NOTIFY_SOCKET"])
import json  # something to import after the first moment
notify.sendto(b"STATUS=serving", os.environ["NOTIFY_SOCKET"])
import signal
signal.pause()
"""


def test_a_start_is_timed_to_its_first_frame_and_to_serving(tmp_path: Path) -> None:
    bytecode = tmp_path / "pycache"
    start = bench._time_to_ready(
        [sys.executable, "-c", _TWO_MOMENTS], tmp_path, tmp_path / "log.txt", bytecode=bytecode, serving=True
    )
    assert start.serving_s is not None
    assert 0 < start.ready_s <= start.serving_s
    assert start.memory["VmRSS"] > 0
    # Without PYTHONDONTWRITEBYTECODE, the imports wrote their bytecode into the bench's own cache.
    assert list(bytecode.rglob("*.pyc"))

    only_ready = bench._time_to_ready([sys.executable, "-c", _TWO_MOMENTS], tmp_path, tmp_path / "log.txt")
    assert only_ready.serving_s is None


def test_the_start_up_rows_name_the_first_frame_and_the_kiosk_built() -> None:
    kiosk = [bench.StartUp(r, s, {"VmRSS": 36.0}) for r, s in ((0.15, 0.35), (0.16, 0.36), (0.17, 0.37))]
    bare = [bench.StartUp(r, None, {"VmRSS": 54.0}) for r in (0.2, 0.225, 0.25)]
    figures = {f.name: f for f in bench._startup_figures(kiosk, bare, [0.8, 0.85, 0.9], "/usr/bin/chromium")}
    first = figures["start-up: process start to first welcome frame"]
    built = figures["start-up: process start to the kiosk built (first tap served)"]
    assert first.value == 160.0 and built.value == 360.0
    assert "compiled" in first.note and "READY=1" in first.note
    assert "STATUS=serving" in built.note
    assert figures["start-up ratio to the bare pygame window"].value == 160.0 / 225.0
    assert figures["start-up ratio to Chromium"].met is True
