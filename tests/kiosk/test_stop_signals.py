"""SIGTERM and SIGINT stop a fullscreen ``kiosk run`` cleanly: sync stopped, outbox checkpointed, exit 0."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest


def _wait_for(process: subprocess.Popen[str], needle: str, seen: list[str]) -> None:
    """Read the child's log until a line containing ``needle`` (the test waits on progress, not on time)."""
    assert process.stderr is not None
    for line in process.stderr:
        seen.append(line)
        if needle in line:
            return
    raise AssertionError(f"the kiosk ended before logging {needle!r}:\n{''.join(seen)}")


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_runs_the_clean_shutdown_in_fullscreen(tmp_path: Path, stop: signal.Signals) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text(f'[kiosk]\ndata_dir = "{tmp_path / "data"}"\n\n[ui]\nfullscreen = true\n')
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"}
    process = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "run", "--simulate", "--config", str(config)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    seen: list[str] = []
    try:
        _wait_for(process, "kiosk serving", seen)
        process.send_signal(stop)
        for step in (
            f"{stop.name} received",
            "stopping sync",
            "checkpointing the outbox",
            "closing the outbox",
            "shutdown: done",
        ):
            _wait_for(process, step, seen)
        assert process.wait(timeout=5) == 0, "".join(seen)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
