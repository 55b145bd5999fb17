"""Putting the UI together for ``kiosk run``: display, theme, fonts, the journey view, the loop.

Called by :mod:`kiosk.commands.run` (the composition root) with the kiosk's parts already built.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pygame

from hal.events import DeviceHealthChanged, EventQueue, MainsLost, MainsRestored
from kiosk.assembly import Kiosk
from kiosk.events import SyncStatusChanged
from kiosk.journey import Journey
from kiosk.warm_up import start_warm_up
from kiosk.watchdog import Watchdog
from ui.app import App, Scene, open_display
from ui.first_frame import FirstFrame
from ui.journey_view import JourneyView
from ui.text import TextRenderer, find_fonts

log = logging.getLogger(__name__)

#: The UI's modules that the welcome screen leaves for the warm-up: photo decoding (Pillow, numpy), and
#: pygame's numpy module, which ``kiosk run`` leaves out of pygame's own import (kiosk.warm_up). Maintenance
#: mode's scene is not among them: it would hold ~10 MB for a technician's visit, and its first long press
#: can afford the ~0.1 s of imports.
UI_WARM_UP = ("ui.pictures", "PIL.ImageOps", "pygame.surfarray")

#: How long a stopping kiosk waits for its warm-up (a few seconds on a Pi 4; see let_warm_up_finish).
WARM_UP_GRACE_S = 15.0


def make_view(kiosk: Kiosk, *, clock=time.monotonic, text: TextRenderer | None = None) -> JourneyView:
    """The journey view over the kiosk's parts."""
    config = kiosk.config
    return JourneyView(
        kiosk.journey,
        state=kiosk.state,
        text=text or TextRenderer(find_fonts(config.ui.font)),
        clock=clock,
        devices=kiosk.devices,
        registration=kiosk.registration,
        kiosk_id=config.kiosk.id,
        high_contrast=config.ui.high_contrast,
        face_check=kiosk.face_check,
        events=kiosk.events,
    )


def make_app(kiosk: Kiosk, scene: Scene, *, clock=time.monotonic, watchdog: Watchdog | None = None) -> App:
    """The main loop over ``scene``, feeding the kiosk's state every event and tick."""
    return App(
        scene,
        kiosk.events,
        clock=clock,
        heartbeat=watchdog.tick if watchdog is not None else None,
        max_sleep_s=(watchdog.wait_timeout(5.0) if watchdog is not None else None) or 5.0,
        quit_on_close=not kiosk.config.ui.fullscreen,
        state=kiosk.state,
    )


def run_kiosk(
    kiosk: Kiosk,
    *,
    first_frame: FirstFrame | None = None,
    watchdog: Watchdog | None = None,
    autopilot: bool = False,
    screenshots: Path | None = None,
    sizes: Sequence[tuple[int, int]] = (),
    languages: Sequence[str] = ("id", "en"),
    clock=None,
) -> int:
    """Show the kiosk until it is stopped (or, with ``autopilot``, until every citizen is through).

    Args:
        kiosk: The kiosk, built.
        first_frame: The welcome frame ``kiosk run`` showed before building the kiosk
            (:func:`ui.first_frame.show_first_frame`): the display is open and its text renderer is taken
            over. None: the display is opened here.
        watchdog: systemd's watchdog (``READY=1`` was sent with the first frame); from the environment when
            None.
        autopilot: Walk synthetic citizens through every service, then return.
        screenshots: With ``autopilot``: where to save a PNG of every screen.
        sizes: With ``autopilot``: the screen sizes to walk (default: the configured one).
        languages: With ``autopilot``: the languages to walk.
        clock: The clock the journey was built with (the autopilot's fake clock).
    """
    config = kiosk.config
    size = tuple(config.ui.size)
    clock = clock or time.monotonic
    if first_frame is None:
        open_display(sizes[0] if sizes else size, fullscreen=config.ui.fullscreen)
    watchdog = watchdog or Watchdog.from_environment()
    view = make_view(kiosk, clock=clock, text=first_frame.text if first_frame is not None else None)
    scene = _with_maintenance(kiosk, view, clock)
    app = make_app(kiosk, scene, clock=clock, watchdog=watchdog)
    scene.attach(app)
    kiosk.start_workers()
    warming: threading.Thread | None = None
    try:
        if autopilot:
            return walk_everything(app, view, kiosk, clock, screenshots, sizes or (size,), languages)
        # The welcome screen again, with what the kiosk knows now (devices, power, queue, notices). Touches
        # made since the first frame are still in SDL's queue: app.run() hands them to this screen.
        app.draw()
        watchdog.ready("serving")
        # What the welcome screen did not need (numpy, Pillow, the receipt's libraries, the NIK prefix
        # table), now, in the background, so that the first photo step and receipt do not wait for it.
        warming = start_warm_up(UI_WARM_UP, then=(kiosk.devices.camera.prepare,))
        log.info("kiosk serving")
        app.run()
        return 0
    finally:
        watchdog.stopping("stopping")
        let_warm_up_finish(warming)
        pygame.display.quit()


def let_warm_up_finish(thread: threading.Thread | None, grace_s: float = WARM_UP_GRACE_S) -> None:
    """Wait up to ``grace_s`` for the warm-up before the kiosk closes its parts and the interpreter ends.

    A kiosk told to stop right after it started (a second SIGTERM from systemd, a power cut at boot) may still
    be importing numpy or Pillow on the warm-up thread. Closing the camera under its ``prepare`` or ending
    the interpreter while a daemon thread is inside a C extension's import can abort the process (exit status
    -6 after "shutdown: done", seen once under load): systemd would then count a clean stop as a crash.
    """
    if thread is None or not thread.is_alive():
        return
    log.info("shutdown: letting the warm-up finish")
    thread.join(grace_s)
    if thread.is_alive():
        log.warning("shutdown: the warm-up is still running after %.0f s; stopping without it", grace_s)


def _with_maintenance(kiosk: Kiosk, view: JourneyView, clock) -> Scene:
    """The citizen view with the technician's hidden entry (long press, PIN) around it.

    When the maintenance store could not be opened (a damaged data partition), citizens are still
    served: the kiosk runs without maintenance mode (the builder logged why).
    """
    from ui.maintenance import KioskScenes, open_maintenance

    maintenance = open_maintenance(kiosk, text=view.text, clock=clock)
    if maintenance is None:
        return view
    kiosk.on_close(maintenance.close)
    return KioskScenes(view, maintenance.scene)


def walk_everything(
    app: App,
    view: JourneyView,
    kiosk: Kiosk,
    clock,
    screenshots: Path | None,
    sizes: Sequence[tuple[int, int]],
    languages: Sequence[str],
) -> int:
    """Walk a synthetic citizen through every service, at every size, in every language."""
    from ui.autopilot import Autopilot, today
    from ui.citizens import citizen_values
    from ui.pilot import Pilot

    journey = kiosk.journey
    count = 0
    for width, height in sizes:
        pygame.display.set_mode((width, height))
        for language in languages:
            folder = screenshots / f"{width}x{height}" / language if screenshots else None
            pilot = Pilot(app, clock)
            pilot_run = Autopilot(pilot, view, shots=folder)
            for index, service in enumerate(journey.catalog):
                values = citizen_values(service, journey.districts, today=today(), seed=index + 1)
                # The first service shows every screen; the others only what differs between services.
                pilot_run.only = (
                    None if index == 0 else {"checklist", "identity", "details", "review", "receipt"}
                )
                reference = pilot_run.register(service.id, language, values, shoot_editors=index == 0)
                count += 1
                log.info(
                    "autopilot: %s (%s, %dx%d) saved as %s", service.id, language, width, height, reference
                )
            pilot_run.only = None
            walk_degraded_and_idle(pilot_run, pilot, kiosk.events, kiosk.journey, language)
            # The "network down" above was the autopilot's word, not the worker's: say the worker's again,
            # or every later screenshot shows the kiosk offline with records waiting.
            real = kiosk.sync.status()
            kiosk.events.post(
                SyncStatusChanged(
                    state=real.state,
                    pending=real.pending,
                    dead=real.counts.get("dead", 0),
                    detail=real.last_error or "",
                )
            )
            pilot.settle()
    log.info("autopilot: %d registrations saved", count)
    return 0


def walk_degraded_and_idle(autopilot, pilot, events: EventQueue, journey: Journey, language: str) -> None:
    """Screens that need a situation, in ``language``: a broken device, the network down, the idle warning."""
    events.post(
        DeviceHealthChanged(device="printer", status="failed", detail="autopilot: printer switched off")
    )
    events.post(
        DeviceHealthChanged(device="camera", status="failed", detail="autopilot: camera switched off")
    )
    events.post(SyncStatusChanged(state="waiting", pending=3, dead=0, detail="autopilot: network down"))
    events.post(MainsLost())
    pilot.settle()
    autopilot.shot("welcome-degraded")
    pilot.tap("welcome.start")
    # The language being walked: the journey is back on the kiosk's default language after the last receipt.
    pilot.tap(f"language.{language}")
    autopilot.shot("service-degraded")
    pilot.advance(journey.idle_warning_s + 1)
    autopilot.shot("idle-warning")
    pilot.advance(journey.idle_reset_s + 1)
    autopilot.shot("welcome-after-idle")
    for device in ("printer", "camera"):
        events.post(DeviceHealthChanged(device=device, status="ok", detail=""))
    events.post(MainsRestored())
    pilot.settle()
