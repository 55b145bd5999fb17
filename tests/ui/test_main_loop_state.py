"""The main loop feeds the kiosk's state every event and ticks it, whatever scene is on screen.

So a low battery shuts the kiosk down and SIGTERM stops it while maintenance (or any scene that ticks
nothing of the citizen's) is shown: the shutdown path no longer depends on the hidden citizen view.
"""

from __future__ import annotations

import pygame

from hal.events import BatteryLow, Event, EventQueue, MainsLost
from kiosk.config import PowerPolicySettings
from kiosk.devices import Devices
from kiosk.events import StopRequested
from kiosk.power_policy import PowerPolicy, PowerState, ShutdownSequence
from kiosk.state import KioskState
from ui.app import App
from ui.pilot import FakeClock
from ui.widgets.base import Kit, Widget


class BlankScene:
    """A scene that decides nothing and ticks nothing, like the maintenance screens."""

    def __init__(self, kit: Kit) -> None:
        self.kit = kit
        self.seen: list[Event] = []

    def root(self, size: tuple[int, int]) -> Widget:
        return Widget("blank", pygame.Rect((0, 0), size), self.kit)

    def handle_event(self, event: Event) -> bool:
        self.seen.append(event)
        return False

    def touched(self) -> None:
        """No idle timer to restart: the test reads what the state saw, not the scene."""

    def update(self, now: float) -> None:
        """Nothing moves on this scene."""

    def next_deadline(self, now: float) -> float | None:
        return None

    def key(self, event: pygame.event.Event) -> None:
        """No keyboard on this scene."""

    def shown(self) -> object:
        return self


def _loop(kit: Kit) -> tuple[App, BlankScene, KioskState, list[object], EventQueue]:
    clock = FakeClock()
    started: list[object] = []
    devices = Devices()
    policy = PowerPolicy(
        PowerPolicySettings(),
        shutdown=ShutdownSequence(("true",)),
        reading=devices.power.reading,
        clock=clock,
        start=started.append,
    )
    state = KioskState(devices, policy)
    events = EventQueue()
    scene = BlankScene(kit)
    return App(scene, events, clock=clock, state=state), scene, state, started, events


def test_a_low_battery_starts_the_shutdown_under_a_scene_that_ticks_nothing(display, kit: Kit) -> None:
    app, scene, state, started, events = _loop(kit)
    try:
        events.post(MainsLost())
        events.post(BatteryLow(percent=8.0, volts=3.3))
        app.step()
        assert state.power_policy.state is PowerState.SHUTTING_DOWN
        assert started == [state.power_policy.shutdown.run]
        assert [type(e).__name__ for e in scene.seen] == ["MainsLost", "BatteryLow"]  # the scene still hears
    finally:
        app.close()


def test_sigterm_ends_the_loop_through_the_state(display, kit: Kit) -> None:
    app, scene, state, _started, events = _loop(kit)
    try:
        app.running = True
        events.post(StopRequested(reason="SIGTERM"))
        app.step()
        assert not app.running and state.stop_requested and state.stop_reason == "SIGTERM"
        assert scene.seen == []  # a stop request is the loop's business, not the scene's
    finally:
        app.close()
