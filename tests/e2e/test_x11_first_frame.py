"""``kiosk run`` on an X server: a real X11 tap on the first welcome frame, made before the kiosk behind it is
built, starts the session once it is.

The kiosk runs as the command runs it (``kiosk.cli.main``) in a child process on a private Xvfb. A probe holds
it right after the first frame (the ``READY=1`` it sends systemd) until the test has clicked the window with
``xdotool`` (which returns once the X server has the click): the tap is certainly made before the kiosk is
built. Then the kiosk goes on; the probe reports the journey's step after the main loop's first pass.

Needs ``Xvfb`` and ``xdotool``; skipped with one line naming them where they are missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kiosk.sealing import generate_server_keypair

pytestmark = pytest.mark.skipif(
    not (shutil.which("Xvfb") and shutil.which("xdotool")),
    reason="X11 first frame: Xvfb or xdotool missing (apt-get install xvfb xdotool)",
)

ROOT = Path(__file__).resolve().parents[2]

_PROBE = textwrap.dedent(
    """
    import json, os, sys
    import kiosk.watchdog
    import ui.kiosk_app
    from kiosk.steps import Step

    def report(**seen):
        print(json.dumps(seen), flush=True)

    def ready(self, status=None):
        if status == "starting":
            import pygame
            report(at="first frame", window=pygame.display.get_wm_info()["window"],
                   size=list(pygame.display.get_surface().get_size()))
            # Held here, before the kiosk is built, until the test's click is with the X server.
            assert sys.stdin.readline().strip() == "clicked"

    make_app = ui.kiosk_app.make_app

    def make_app_and_watch(kiosk, scene, **kwargs):
        app = make_app(kiosk, scene, **kwargs)
        step = app.step

        def first_pass(timeout=0.0):
            # The loop's first pass reads what the X server queued meanwhile; the step after it is the answer.
            step(timeout)
            report(at="after the first pass", step=str(kiosk.journey.step))
            os._exit(0)

        app.step = first_pass
        return app

    kiosk.watchdog.Watchdog.ready = ready
    ui.kiosk_app.make_app = make_app_and_watch
    from kiosk.cli import main
    main(["run", "--simulate", "--windowed", "--config", sys.argv[1]])
    os._exit(3)
    """
)


def test_an_x11_tap_on_the_first_frame_starts_the_session_once_the_kiosk_is_built(x_display, tmp_path):
    public, _ = generate_server_keypair()
    config = tmp_path / "kiosk.toml"
    config.write_text(
        f'[kiosk]\nid = "X11-FIRST-01"\ndata_dir = "{tmp_path / "data"}"\n\n'
        f'[server]\nurl = "http://127.0.0.1:9/"\nlab = true\npublic_key = "{public}"\n\n'
        "[ui]\nfullscreen = false\nsize = [800, 480]\n",
        encoding="utf-8",
    )
    env = {**os.environ, "DISPLAY": x_display, "SDL_VIDEODRIVER": "x11", "GPIOZERO_PIN_FACTORY": "mock"}
    env.pop("NOTIFY_SOCKET", None)
    kiosk = subprocess.Popen(
        [sys.executable, "-c", _PROBE, str(config)],
        env=env,
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert kiosk.stdout is not None and kiosk.stdin is not None
        first = json.loads(kiosk.stdout.readline() or "{}")
        assert first.get("at") == "first frame", kiosk.stderr.read()[-3000:] if kiosk.stderr else ""
        width, height = first["size"]
        # A tap in the middle of the welcome screen (a touch anywhere starts), with the kiosk not built yet.
        subprocess.run(
            ["xdotool", "mousemove", "--window", str(first["window"]), str(width // 2), str(height // 2)],
            env=env,
            check=True,
            timeout=20,
        )
        subprocess.run(["xdotool", "click", "1"], env=env, check=True, timeout=20)
        kiosk.stdin.write("clicked\n")
        kiosk.stdin.flush()
        out, err = kiosk.communicate(timeout=120)
        seen = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        assert seen == [{"at": "after the first pass", "step": "language"}], err[-3000:]
        assert kiosk.returncode == 0
    finally:
        if kiosk.poll() is None:
            kiosk.kill()
            kiosk.wait()
