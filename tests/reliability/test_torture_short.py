"""A short seeded torture run (scripts/torture.py) in the CI suite; the long run is in docs/performance.md.

The run kills children with SIGKILL during enqueue, sync, export and migration, shakes the network through the
fault proxy, corrupts and unplugs the signature pad, hangs the camera and fills the disk, then checks the
history against the server: nothing lost, duplicated or unexpected, both databases intact.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from torture import EPISODES, Journal

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


@pytest.mark.timeout(240)
def test_short_seeded_torture_run_loses_nothing(tmp_path: Path) -> None:
    result_path = tmp_path / "result.json"
    completed = subprocess.run(
        [
            sys.executable,
            str(SCRIPTS / "torture.py"),
            "--minutes",
            "0.25",
            "--seed",
            "20240611",
            "--workdir",
            str(tmp_path / "run"),
            "--json",
            str(result_path),
        ],
        capture_output=True,
        text=True,
        timeout=220,
        env={**os.environ, "SDL_VIDEODRIVER": "dummy"},
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr[-4000:]
    result = json.loads(result_path.read_text())
    assert result["violations"] == []
    assert (result["lost"], result["duplicated"], result["unexpected"]) == (0, 0, 0)
    assert result["outbox_integrity"] == "ok" and result["server_integrity"] == "ok"
    # Every kind of fault was really played, and records really went through the power cuts.
    assert set(result["episodes"]) == set(EPISODES)
    assert result["kills"] > 0
    assert result["acknowledged"] > 0
    assert result["at_server"] >= result["acknowledged"]
    assert completed.stdout.strip().splitlines()[-1].endswith("PASS")


def test_journal_reader_drops_the_line_a_kill_tore(tmp_path: Path) -> None:
    path = tmp_path / "journal.log"
    journal = Journal(path)
    journal.write("attempt", 7, "rid-7")
    journal.write("ok", 7, "rid-7")
    journal.close()
    with open(path, "ab") as file:
        file.write(b"attempt 8 rid-")  # the child died inside this write

    assert Journal.read(path) == [("attempt", 7, "rid-7", ""), ("ok", 7, "rid-7", "")]
