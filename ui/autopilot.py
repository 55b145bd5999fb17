"""The autopilot: synthetic citizens walked through the real screens by the test pilot.

Used by ``kiosk run --autopilot`` (a headless demo that also produces the screenshots in the docs)
and by the end-to-end tests. Every step taps widgets by id, exactly as a finger would.
"""

from __future__ import annotations

import datetime
import logging
import re
import time
from pathlib import Path

from hal.signature_pad.simulated_pad import SimulatedSignaturePad
from kiosk.journey import Step
from kiosk.services import FieldSpec
from ui.journey_view import JourneyView
from ui.pilot import Pilot

log = logging.getLogger(__name__)

_CHOICE_KINDS = ("choice", "sex", "kecamatan")


class Autopilot:
    """Drives one :class:`JourneyView` with a :class:`Pilot`.

    Args:
        pilot: The pilot of the app showing ``view``.
        view: The journey view.
        shots: Where to save screenshots (None = no screenshots).
        wait_s: Longest wait for work on other threads (a capture, a commit).
    """

    def __init__(
        self, pilot: Pilot, view: JourneyView, *, shots: Path | None = None, wait_s: float = 20.0
    ) -> None:
        self.pilot = pilot
        self.view = view
        self.shots = shots
        self.wait_s = wait_s
        self.taken: list[Path] = []
        self._count = 0
        #: Screen names to save (None = all); set by the caller between walks.
        self.only: set[str] | None = None

    @property
    def journey(self):
        """The journey being driven."""
        return self.view.journey

    def shot(self, name: str) -> None:
        """Save a screenshot called ``name`` (numbered in the order taken)."""
        if self.shots is None or (self.only is not None and name.split("-")[0] not in self.only):
            return
        self._count += 1
        # Named by screen, not numbered: a screen caught or not (the brief "saving" step) must not
        # rename every later file.
        path = self.shots / f"{re.sub(r'[^a-z0-9_-]+', '-', name.lower())}.png"
        self.pilot.screenshot(path)
        self.taken.append(path)

    # -- fields ---------------------------------------------------------------------------------
    def fill(self, spec: FieldSpec, value: str, *, shoot: str | None = None) -> None:
        """Open the field's editor, enter ``value`` and close it again."""
        pilot = self.pilot
        pilot.tap(spec.id)
        if spec.kind in _CHOICE_KINDS:
            option = f"{spec.id}.option.{value}"
            down = f"{spec.id}.down"
            while not pilot.exists(option) and pilot.exists(down) and pilot.find(down).enabled:
                pilot.tap(down)
            if shoot:
                self.shot(shoot)
            pilot.tap(option)
            return
        current = self.journey.fields.get(spec.id, "")
        if current:
            pilot.clear_field(len(current))
        typed = value.replace("-", "") if spec.kind == "date" else value
        pilot.type(typed)
        if shoot:
            self.shot(shoot)
        pilot.tap("editor.done")

    def fill_step(self, values: dict[str, str], *, name: str, shoot_editors: bool = False) -> None:
        """Fill every field of the current step, page by page, and continue."""
        step = self.journey.step
        page = 0
        editors_shot: set[str] = set()
        while self.journey.step is step:
            page += 1
            for spec in self.journey.fields_on_step():
                if not self.pilot.exists(spec.id) or spec.id not in values:
                    continue
                editor = None
                if shoot_editors and spec.kind not in editors_shot:
                    editors_shot.add(spec.kind)
                    editor = f"{name}-edit-{spec.kind}"
                self.fill(spec, values[spec.id], shoot=editor)
            self.shot(f"{name}-page{page}")
            self.pilot.tap("nav.next")
            if self.pilot.exists("confirm.yes"):
                self.shot(f"{name}-confirm")
                self.pilot.tap("confirm.yes")
            if page > 10:
                raise RuntimeError(f"the {step} step does not accept the values: {dict(self.journey.issues)}")

    # -- a whole citizen --------------------------------------------------------------------------
    def register(
        self, service_id: str, language: str, values: dict[str, str], *, shoot_editors: bool = False
    ) -> str:
        """Walk one citizen from welcome to the receipt; returns the reference code."""
        pilot, journey = self.pilot, self.journey
        if journey.step is not Step.WELCOME:
            raise RuntimeError(f"the autopilot starts on the welcome screen, not {journey.step}")
        self.shot("welcome")
        pilot.tap("welcome.start")
        self.shot("language")
        pilot.tap(f"language.{language}")
        self.shot("service")
        pilot.tap(f"service.{service_id}")
        self.shot(f"checklist-{service_id}")
        pilot.tap("nav.next")
        self.fill_step(values, name=f"identity-{service_id}", shoot_editors=shoot_editors)
        self.fill_step(values, name=f"details-{service_id}", shoot_editors=shoot_editors)
        if journey.step is Step.PHOTO:
            self.take_photo()
        if journey.step is Step.SIGNATURE:
            self.sign()
        if journey.step is not Step.REVIEW:
            raise RuntimeError(f"expected the review step, not {journey.step}")
        review = self.view.screen
        # The thumbnails are decoded on a worker thread; the screenshot waits for them.
        pilot.wait_until(
            lambda: (
                (journey.photo_jpeg is None or review.photo is not None)
                and (journey.signature is None or review.signature is not None)
            ),
            self.wait_s,
            "the review thumbnails",
        )
        self.shot(f"review-{service_id}")
        pilot.tap("review.consent")
        pilot.tap("nav.next")
        if journey.step is Step.SAVING:
            self.shot("saving")
        pilot.wait_until(lambda: journey.step is not Step.SAVING, self.wait_s, "saving the record")
        if journey.step is not Step.RECEIPT:
            raise RuntimeError(f"saving failed: {journey.save_error}")
        reference = journey.receipt.reference
        screen = self.view.screen
        pilot.wait_until(lambda: getattr(screen, "print_state", "") != "printing", self.wait_s, "printing")
        self.shot(f"receipt-{service_id}")
        self.wait_for_done()
        pilot.tap("nav.next")
        return reference

    def wait_for_done(self) -> None:
        """Let the receipt's guard time pass ("Done" is greyed for a moment after the receipt appears)."""
        allowed_at = self.view.journey.finish_allowed_at()
        if allowed_at is None:
            return
        if self.pilot.clock is not None:
            self.pilot.advance(max(0.0, allowed_at - self.pilot.clock()))
        else:
            self.pilot.wait_until(self.view.journey.can_finish, self.wait_s, "the receipt's guard time")

    def take_photo(self) -> None:
        """Wait for the face check, take the photo through the countdown, accept it."""
        pilot = self.pilot
        screen = self.view.screen
        pilot.wait_until(
            lambda: getattr(screen, "problems", None) is not None or screen.state != "live",
            self.wait_s,
            "the face check",
        )
        self.shot("photo-live")
        pilot.tap("photo.take")
        self.shot("photo-countdown")
        for _ in range(4):
            if pilot.clock is not None:
                pilot.advance(1.0)
            if screen.state != "countdown":
                break
        pilot.wait_until(
            lambda: screen.state not in ("countdown", "capturing"), self.wait_s, "the photo capture"
        )
        self.shot("photo-review")
        if pilot.exists("photo.accept"):
            pilot.tap("photo.accept")
        else:
            pilot.tap("photo.skip")

    def sign(self) -> None:
        """Sign: on the pad (wait for the emulator's strokes) or with a finger on the canvas."""
        pilot = self.pilot
        screen = self.view.screen
        if screen.ink.source == "pad":
            pad = self.view.devices.signature_pad
            emulator = pad.emulator if isinstance(pad, SimulatedSignaturePad) else None
            if emulator is not None and not emulator.autoplay and not pad.signs_when_expected:
                emulator.play(emulator.signature())
            # A signature is done when the pen has been lifted and stayed away for a moment.
            quiet = {"count": -1, "since": time.monotonic()}

            def finished() -> bool:
                count = len(screen.ink.samples)
                if count != quiet["count"]:
                    quiet.update(count=count, since=time.monotonic())
                    return False
                return (
                    screen.ink.has_ink
                    and not screen.ink.samples[-1].pen_down
                    and (time.monotonic() - quiet["since"] > 0.6)
                )

            pilot.wait_until(finished, self.wait_s, "a signature from the pad")
        else:
            canvas = pilot.find("signature.canvas").rect
            for stroke in handwriting(canvas):
                pilot.drag(stroke)
        self.shot("signature")
        pilot.tap("nav.next")


def handwriting(rect) -> list[list[tuple[int, int]]]:
    """A few finger strokes across ``rect`` that look like a quick signature."""
    import math

    strokes = []
    left, width = rect.x + rect.width * 0.12, rect.width * 0.7
    base = rect.y + rect.height * 0.58
    loop = [
        (left + width * t / 60, base - rect.height * 0.22 * math.sin(t / 4.2) * (1 - t / 90))
        for t in range(60)
    ]
    strokes.append([(round(x), round(y)) for x, y in loop])
    strokes.append(
        [
            (round(left + width * 0.15 + i * width * 0.011), round(base + rect.height * 0.12))
            for i in range(40)
        ]
    )
    return strokes


def today() -> datetime.date:
    """Today, for the synthetic citizens' dates."""
    return datetime.date.today()
