"""A whole e-KTP journey in a pygame window on an X server, tapped with real X11 pointer events.

Run by ``tests/e2e/test_x11_journey.py`` in a subprocess with ``SDL_VIDEODRIVER=x11`` and ``DISPLAY`` set
to a private Xvfb. The kiosk runs in this process (simulated camera, no signature pad so the citizen signs
on the touchscreen canvas, simulated printer); every tap, key press and signature stroke is an X11 pointer
event sent by ``xdotool`` to the window, read back by SDL from the X server, as a mouse or a touchscreen
driver would deliver it. The in-process pilot only looks (which widget is where, which step is shown).

Waiting is on observable progress, never on a fixed sleep: after each ``xdotool`` call (which returns once
the X server has the events) the loop runs until the app has dispatched as many pointer events as were sent.

The app's clock can be held still and moved by hand (:class:`HeldClock`), so that "the second tap of a double
tap came 0.2 s after the new screen appeared" is what the app sees whatever the machine's load: the screen-
change guard (:data:`ui.app.SCREEN_SETTLE_S`) is then pinned, not passed by luck of timing.

Prints one JSON line per observation on stdout for the test to assert on; exit 0 when the walk finished.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
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


#: When the second tap of a hurried double tap comes, after the screen the first one opened was drawn.
SECOND_TAP_AFTER_S = 0.2


class HeldClock:
    """The app's clock: monotonic time that the walk can hold still, move by hand and let go again."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._held: float | None = None

    def __call__(self) -> float:
        return self._held if self._held is not None else time.monotonic() + self._offset

    def hold(self) -> None:
        """Stop time where it is."""
        self._held = self()

    def advance(self, seconds: float) -> None:
        """Move held time forward."""
        assert self._held is not None, "hold the clock first"
        self._held += seconds

    def release(self) -> None:
        """Let time run again from where it was held (it never goes back)."""
        assert self._held is not None
        self._offset = self._held - time.monotonic()
        self._held = None


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

    def double_tap_across(self, pos: tuple[int, int], clock: HeldClock) -> None:
        """A click at ``pos``; the screen it opens is drawn; :data:`SECOND_TAP_AFTER_S` later by the app's
        clock, a second click at ``pos``, on the new screen."""
        self.look()
        clock.hold()
        try:
            self.xdotool(*self._move(pos), "click", "1", events=2)
            self.app.draw_if_needed(clock())  # the new screen is shown: the guard starts now
            clock.advance(SECOND_TAP_AFTER_S)
            self.xdotool("click", "1", events=2)
            self.settle()
        finally:
            clock.release()

    def press(self, pos: tuple[int, int]) -> None:
        """Put the button (a finger) down at ``pos`` and keep it there."""
        self.look()
        self.xdotool(*self._move(pos), "mousedown", "1", events=1)

    def lift(self) -> None:
        """Lift the button (the finger) where it is.

        A release the app drops (the press it ended was cancelled) is dispatched as nothing, so a click on
        the screen's title, which does nothing, follows it: once that click is dispatched, the X server's
        events before it were read too.
        """
        title = self.find("header.title").rect.center
        self.xdotool("mouseup", "1", *self._move(title), "click", "1", events=2)


def press_across_a_page_turn(pilot: X11Pilot, auto: Autopilot, view, entered: dict[str, str]) -> None:
    """On details page 1 (every page answered), the finger goes down on "Lanjut", the page turns under it
    (not by a tap: any cause, a timer or an event), and the finger comes up: page 2's "Lanjut", which would
    leave the step, must not be pressed."""
    form = view.screen
    fill_page(auto, view, entered)
    pilot.tap("nav.next")
    fill_page(auto, view, entered)
    pilot.tap("nav.back")
    pilot.press(pilot.find("nav.next").rect.center)
    form.go_next()
    pilot.settle()
    pilot.lift()


def fill_page(auto: Autopilot, view, entered: dict[str, str]) -> None:
    """Answer the fields of the page shown."""
    for spec in view.journey.fields_on_step():
        if auto.pilot.exists(spec.id) and spec.id in entered:
            auto.fill(spec, entered[spec.id])


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
    clock = HeldClock()
    app = App(view, events, state=kiosk.state, clock=clock)
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
        pilot.tap("nav.back")
        pilot.double_tap_across(pilot.find("nav.next").rect.center, clock)
        issues = sorted(journey.issues)
        report(at="after a second tap on the new screen", step=str(journey.step), issues=issues)
        for spec in journey.fields_on_step():
            auto.fill(spec, entered[spec.id])
        pilot.double_tap(pilot.find("nav.next").rect.center)
        report(
            at="after double tap on identity's Lanjut",
            step=str(journey.step),
            issues=sorted(journey.issues),
            page=view.screen.page_shown(),
        )
        press_across_a_page_turn(pilot, auto, view, entered)
        report(at="after a press across a page turn", step=str(journey.step), page=view.screen.page_shown())
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
