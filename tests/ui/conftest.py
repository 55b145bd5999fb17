"""Fixtures of the UI tests: a headless display, the widget kit, and a journey on screen with a pilot."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pygame
import pytest

from hal.events import EventQueue
from kiosk.config import PowerPolicySettings
from kiosk.devices import Devices
from kiosk.events import RecordSaved, RecordSaveFailed
from kiosk.journey import Journey
from kiosk.power_policy import PowerPolicy, ShutdownSequence
from kiosk.regions import districts_of
from kiosk.service_notices import ServiceNotices
from kiosk.services import load_services
from kiosk.state import KioskState
from ui.app import App, open_display
from ui.i18n import Translator
from ui.journey_view import JourneyView
from ui.pilot import FakeClock, Pilot
from ui.text import TextRenderer, find_fonts
from ui.theme import Theme
from ui.widgets import Kit

TODAY = datetime.date(2024, 5, 1)


@pytest.fixture(scope="session")
def text() -> TextRenderer:
    """One text renderer for the session (as the kiosk keeps one for its life)."""
    pygame.display.init()
    return TextRenderer(find_fonts())


@pytest.fixture
def display():
    """An 800 x 480 off-screen display (SDL's dummy driver, set by tests/conftest.py)."""
    surface = open_display((800, 480), fullscreen=False)
    yield surface
    pygame.event.clear()


@pytest.fixture
def kit(display, text) -> Kit:
    """Theme, text and translator for an 800 x 480 screen."""
    return Kit(Theme.create(800, 480), text, Translator("en"))


class FakeRegistration:
    """Stands in for :class:`kiosk.registration.Registration`: answers at once through the event queue."""

    def __init__(self, events: EventQueue, *, fail: str | None = None) -> None:
        self.events = events
        self.fail = fail
        self.requests: list[Any] = []

    def submit(self, request) -> None:
        self.requests.append(request)
        if self.fail:
            self.events.post(RecordSaveFailed(reason=self.fail, detail="test"))
        else:
            self.events.post(
                RecordSaved(reference="7KQ2-M9XD-4RA", record_id="9b2f4e1c-0000-4000-8000-000000000001")
            )


@dataclass
class OnScreen:
    """A journey on the (dummy) display with its pilot."""

    journey: Journey
    view: JourneyView
    app: App
    pilot: Pilot
    clock: FakeClock
    events: EventQueue
    registration: Any


def quiet_power_policy(devices: Devices, clock: Callable[[], float]) -> PowerPolicy:
    """The power policy over ``devices``' UPS, whose shutdown sequence is never started (a screen test shuts
    nothing down)."""
    return PowerPolicy(
        PowerPolicySettings(),
        shutdown=ShutdownSequence(("true",)),
        reading=devices.power.reading,
        clock=clock,
        start=lambda run: None,
    )


@pytest.fixture
def on_screen(display, text) -> Callable[..., OnScreen]:
    """Make a journey on screen: ``on_screen(devices={...}, registration=..., language="id")``."""
    made: list[App] = []

    def make(
        *,
        devices: Devices | None = None,
        registration: Any = None,
        fail: str | None = None,
        language: str = "id",
        size: tuple[int, int] = (800, 480),
        idle_warning_s: float = 60.0,
        idle_reset_s: float = 30.0,
        service_notices: ServiceNotices | None = None,
        high_contrast: bool = False,
    ) -> OnScreen:
        pygame.display.set_mode(size)
        clock = FakeClock()
        events = EventQueue()
        journey = Journey(
            load_services(),
            districts=districts_of("71.10"),
            clock=clock,
            today=lambda: TODAY,
            default_language=language,
            idle_warning_s=idle_warning_s,
            idle_reset_s=idle_reset_s,
            service_notices=service_notices,
        )
        devices = devices or Devices()
        registration = registration or FakeRegistration(events, fail=fail)
        state = KioskState(devices, quiet_power_policy(devices, clock))
        view = JourneyView(
            journey,
            state=state,
            text=text,
            clock=clock,
            devices=devices,
            registration=registration,
            kiosk_id="TEST-KIOSK",
            events=events,
            high_contrast=high_contrast,
        )
        app = App(view, events, clock=clock, state=state)
        view.attach(app)
        made.append(app)
        return OnScreen(journey, view, app, Pilot(app, clock), clock, events, registration)

    yield make
    for app in made:
        app.close()


@pytest.fixture
def rig(tmp_path, cheap_scrypt):
    """One kiosk in maintenance-test shape (tests/ui/maintenance_rig.py), closed after the test."""
    from maintenance_rig import Rig  # as the maintenance tests import it: one copy of the module

    rig = Rig(tmp_path)
    yield rig
    rig.close()
