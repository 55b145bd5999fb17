"""A whole e-KTP journey in a pygame window on an X server, tapped with real X11 pointer events.

Run by ``tests/e2e/test_x11_journey.py`` in a subprocess with ``SDL_VIDEODRIVER=x11`` and ``DISPLAY`` set
to a private Xvfb. The kiosk runs in this process (simulated camera, no signature pad so the citizen signs
on the touchscreen canvas, simulated printer); every tap, key press and signature stroke is an X11 pointer
event sent by ``xdotool`` to the window, read back by SDL from the X server, as a mouse or a touchscreen
driver would deliver it. The in-process pilot only looks (which widget is where, which step is shown).

Waiting is on observable progress, never on a fixed sleep: after each ``xdotool`` call (which returns once
the X server has the events) the loop runs until the app has dispatched as many pointer events as were sent.

Prints one JSON line per observation on stdout for the test to assert on; exit 0 when the walk finished.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pygame
from ingest_lab import IngestLab

from hal.camera.simulated import SimulatedCamera
from hal.events import EventQueue
from hal.printer import SimulatedPrinter
from hal.settings import CameraSettings
from kiosk.assembly import build_kiosk
from kiosk.config import Config, KioskSettings, ServerSettings, UiSettings
from kiosk.devices import Devices
from kiosk.journey import Step
from kiosk.services import load_services
from ui.app import App, Pointer, open_display
from ui.autopilot import Autopilot, today
from ui.citizens import citizen_values
from ui.kiosk_app import make_view
from ui.pilot import Pilot

#: Longest wait for the app to see events the X server already has, or for worker threads; a bound on a
#: failure, never a pace: every wait ends as soon as the progress it waits for is there.
WAIT_S = 20.0


def report(**observation: object) -> None:
    """One observation for the test, as a JSON line."""
    print(json.dumps(observation), flush=True)


class X11Pilot(Pilot):
    """A pilot whose taps and drags are real X11 pointer events sent by ``xdotool`` to the app's window."""

    def __init__(self, app: App) -> None:
        super().__init__(app)
        self.window = str(pygame.display.get_wm_info()["window"])
        self.pointer_events = 0
        dispatch = app.dispatch

        def counting(pointer: Pointer) -> None:
            self.pointer_events += 1
            dispatch(pointer)

        app.dispatch = counting  # type: ignore[method-assign]

    def xdotool(self, *args: str, events: int) -> None:
        """Run ``xdotool``, then the loop until the app has dispatched ``events`` more pointer events."""
        expected = self.pointer_events + events
        subprocess.run(["xdotool", *args], check=True, timeout=WAIT_S)
        self.wait_until(lambda: self.pointer_events >= expected, WAIT_S, f"{events} pointer events")

    def _move(self, pos: tuple[int, int]) -> list[str]:
        return ["mousemove", "--window", self.window, str(pos[0]), str(pos[1])]

    def drag(self, points: list[tuple[int, int]]) -> None:
        """Press the button at the first point, move through the others, release at the last."""
        self.look()
        args = [*self._move(points[0]), "mousedown", "1"]
        for point in points[1:]:
            args += self._move(point)
        args += ["mouseup", "1"]
        self.xdotool(*args, events=len(points) + 1)

    def double_tap(self, pos: tuple[int, int]) -> None:
        """Two clicks 80 ms apart at ``pos``, as a hurried finger gives them."""
        self.look()
        self.xdotool(*self._move(pos), "click", "--repeat", "2", "--delay", "80", "1", events=4)


def main(directory: Path) -> int:
    """Walk one citizen through the e-KTP journey; see the module docstring."""
    lab = IngestLab.create(directory / "lab")
    config = Config(
        kiosk=KioskSettings(id="X11-KIOSK-01", data_dir=str(directory / "kiosk"), regency="71.10"),
        server=ServerSettings(url="http://127.0.0.1:9", public_key=lab.keys.box_public, lab=True),
        ui=UiSettings(fullscreen=False, size=(800, 480)),
    )
    events = EventQueue()
    camera = SimulatedCamera(
        CameraSettings(backend="simulated", preview_size=(480, 360), still_size=(960, 720)),
        events,
        frame_interval=0.05,
    )
    printer = SimulatedPrinter(directory / "receipts", events=events)
    # No signature pad: the citizen signs on the touchscreen canvas, with the X pointer.
    kiosk = build_kiosk(config, events, devices=Devices(camera=camera, printer=printer))
    open_display((800, 480), fullscreen=False)
    view = make_view(kiosk)
    app = App(view, events, state=kiosk.state)
    view.attach(app)
    pilot = X11Pilot(app)
    auto = Autopilot(pilot, view)
    journey = kiosk.journey
    entered = citizen_values(load_services().get("ektp"), journey.districts, today=today(), seed=11)
    try:
        pilot.settle()
        pilot.tap("welcome.start")
        pilot.tap("language.id")
        pilot.tap("service.ektp")
        report(at="checklist", step=str(journey.step))
        pilot.double_tap(pilot.find("nav.next").rect.center)
        report(at="after double tap on Lanjut", step=str(journey.step), issues=sorted(journey.issues))
        for spec in journey.fields_on_step():
            auto.fill(spec, entered[spec.id])
        pilot.double_tap(pilot.find("nav.next").rect.center)
        report(
            at="after double tap on identity's Lanjut",
            step=str(journey.step),
            issues=sorted(journey.issues),
            page=view.screen.page_shown(),
        )
        auto.fill_step(entered, name="details")
        report(at="after details", step=str(journey.step))
        auto.take_photo()
        auto.sign()
        report(at="review", step=str(journey.step), has_signature=journey.signature is not None)
        pilot.tap("review.consent")
        pilot.double_tap(pilot.find("nav.next").rect.center)
        pilot.wait_until(lambda: journey.step is not Step.SAVING, WAIT_S, "saving the record")
        pilot.screenshot(directory / "receipt.png")
        report(
            at="after double tap on Save",
            step=str(journey.step),
            can_finish=journey.can_finish(),
            records=kiosk.outbox.counts(),
            screen=type(view.screen).__name__,
        )
        auto.wait_for_done()
        pilot.tap("nav.next")
        report(at="after Done", step=str(journey.step))
    finally:
        app.close()
        kiosk.close()
        pygame.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
