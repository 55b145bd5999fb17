"""Fixtures of the end-to-end tests: a private X server for the tests that tap with real X11 events."""

from __future__ import annotations

import os
import subprocess

import pytest


@pytest.fixture
def x_display():
    """A private Xvfb on a display number the server picks itself (``-displayfd``); its DISPLAY."""
    read, write = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    try:
        # Xvfb writes the display number once it accepts connections: a wait on readiness, not a sleep.
        with os.fdopen(read) as ready:
            number = ready.readline().strip()
        if not number:
            pytest.fail(f"Xvfb did not start (exit status {server.poll()})")
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(timeout=10)
