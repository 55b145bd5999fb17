"""The hidden way in: a long press on the top-left corner of any citizen screen opens maintenance mode.

:class:`KioskScenes` is the :class:`~ui.app.Scene` the main loop drives. It shows the citizen's scene and,
after a long press on the corner, a maintenance scene made fresh for the occasion (it starts at the PIN
pad); when that scene leaves (the technician's "Back to kiosk", the idle exit, or the PIN pad left alone),
the citizen's scene is back exactly where it was.

The citizen scene keeps running underneath: every event reaches it (so a save in flight completes) and
its timers keep ticking (so a citizen's half-finished session is still wiped when left idle behind the PIN
pad). The power policy and stop requests do not depend on it: the main loop feeds and ticks the kiosk's
:class:`~kiosk.state.KioskState` itself, whatever scene is on screen. Only touches and keys go to the scene
on screen.

A failure inside maintenance mode (a bug) is logged and closes it: the citizens' screen comes back, so
maintenance can never take the kiosk down with it.

The corner gives no hint of itself. A touch there that is not held long enough is passed on, as a normal
tap, to whatever citizen widget is under it, so the corner never swallows a citizen's touch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pygame

from hal.events import Event
from ui.app import Scene
from ui.widgets.base import Container, Widget

log = logging.getLogger(__name__)

#: Seconds the corner must be held.
HOLD_S = 3.0
#: Side of the corner square, in design pixels (0.8 x 0.8 cm on a 7 inch panel).
CORNER = 44
#: How far (design pixels) the finger may wander while holding before the press stops counting.
WANDER = 24

#: Makes the maintenance scene; it is given the function to call when it leaves.
MakeMaintenance = Callable[[Callable[[], None]], Any]


class HotCorner(Widget):
    """The invisible corner that times a long press and hands every other touch to the widget below.

    Args:
        below: The citizen's widget tree under the corner.
    """

    interactive = True

    def __init__(self, id: str, rect: pygame.Rect, below: Widget) -> None:
        super().__init__(id, rect, below.kit)
        self.below = below
        self.down_at: float | None = None
        self._start: tuple[int, int] | None = None
        self._passed_to: Widget | None = None

    # -- pointer --------------------------------------------------------------------------------
    def pointer_down(self, pos: tuple[int, int], now: float) -> None:
        self.down_at = now
        self._start = pos
        self._passed_to = self.below.hit(pos)
        if self._passed_to is not None:
            self._passed_to.pointer_down(pos, now)

    def pointer_move(self, pos: tuple[int, int], now: float) -> None:
        if self.down_at is not None and self._start is not None:
            limit = self.kit.metrics.px(WANDER)
            if abs(pos[0] - self._start[0]) > limit or abs(pos[1] - self._start[1]) > limit:
                self.down_at = None  # a drag, not a hold
        if self._passed_to is not None:
            self._passed_to.pointer_move(pos, now)

    def pointer_up(self, pos: tuple[int, int], now: float) -> None:
        self.down_at = None
        target, self._passed_to = self._passed_to, None
        if target is not None:
            target.pointer_up(pos, now)

    def pointer_cancel(self) -> None:
        self.down_at = None
        target, self._passed_to = self._passed_to, None
        if target is not None:
            target.pointer_cancel()

    def take_over(self, old: HotCorner) -> None:
        """Continue the press ``old`` was timing (the citizen's screen was rebuilt under the finger)."""
        self.down_at, self._start, self._passed_to = old.down_at, old._start, old._passed_to

    def held_until(self) -> float | None:
        """When the press being held becomes long enough, or None when nothing is held."""
        return None if self.down_at is None else self.down_at + HOLD_S

    def fire(self) -> None:
        """The hold was long enough: the widget below must not see a tap when the finger lifts."""
        self.down_at = None
        target, self._passed_to = self._passed_to, None
        if target is not None:
            target.pointer_cancel()


class KioskScenes:
    """The citizen scene, with maintenance mode behind a long press (see the module docstring).

    Implements the :class:`~ui.app.Scene` protocol, plus :meth:`attach` like the citizen's view.

    Args:
        citizen: The citizen's scene (:class:`~ui.journey_view.JourneyView`).
        make_maintenance: ``make_maintenance(leave)`` returns a new maintenance scene that calls ``leave()``
            when it is done (e.g. :meth:`ui.maintenance.mode.MaintenanceMode.scene`).
    """

    def __init__(self, citizen: Scene, make_maintenance: MakeMaintenance) -> None:
        self.citizen = citizen
        self.make_maintenance = make_maintenance
        self.maintenance: Any = None
        self._app: Any = None
        self._corner: HotCorner | None = None
        self._below: Widget | None = None
        self._frame: Widget | None = None

    @property
    def active(self) -> Any:
        """The scene on screen."""
        return self.maintenance if self.maintenance is not None else self.citizen

    @property
    def in_maintenance(self) -> bool:
        """True while the PIN pad or a maintenance screen is shown."""
        return self.maintenance is not None

    def attach(self, app: Any) -> None:
        """Connect both scenes to the app (worker threads, wake-ups)."""
        self._app = app
        attach = getattr(self.citizen, "attach", None)
        if attach is not None:
            attach(app)

    # -- switching -------------------------------------------------------------------------------
    def open_maintenance(self) -> None:
        """Show the PIN pad (what the long press does)."""
        if self.maintenance is not None:
            return
        try:
            scene = self.make_maintenance(self._maintenance_left)
            if self._app is not None and hasattr(scene, "attach"):
                scene.attach(self._app)
        except Exception:  # a broken maintenance mode must never take the citizens' screen with it
            log.exception("maintenance mode cannot be opened")
            return
        self.maintenance = scene
        log.info("maintenance PIN pad opened")

    def _maintenance_left(self) -> None:
        self.maintenance = None
        self._frame = None  # the citizen's screen is rebuilt into a fresh frame

    def _maintenance_failed(self, doing: str) -> None:
        """A bug in a maintenance screen: log it and give the screen back to the citizens."""
        log.exception("maintenance mode failed while %s; back to the citizens' screen", doing)
        scene = self.maintenance
        self._maintenance_left()
        try:
            scene.leave("maintenance screen failed")
        except Exception:  # noqa: BLE001 - already logged above; the citizens come first
            log.debug("closing the failed maintenance scene failed too", exc_info=True)

    # -- Scene -----------------------------------------------------------------------------------
    def root(self, size: tuple[int, int]) -> Widget:
        """The active scene's widgets; the citizen's with the corner on top."""
        if self.maintenance is not None:
            try:
                return self.maintenance.root(size)
            except Exception:
                self._maintenance_failed("drawing")
        below = self.citizen.root(size)
        if below is not self._below or self._frame is None:
            # A new frame only when the citizen's tree changed: the app redraws when the root object changes.
            corner_side = below.kit.metrics.px(CORNER)
            corner = HotCorner("maintenance.corner", pygame.Rect(0, 0, corner_side, corner_side), below)
            if self._corner is not None and self._corner.down_at is not None:
                # The citizen's screen was rebuilt under a finger that is still holding the corner.
                corner.take_over(self._corner)
            self._corner = corner
            self._below = below
            self._frame = Container("kiosk", below.rect, below.kit, [below, corner])
        return self._frame

    def handle_event(self, event: Event) -> bool:
        """Every event reaches the citizen scene; the maintenance scene gets it too while it is open."""
        changed = self.citizen.handle_event(event)
        if self.maintenance is None:
            return changed
        try:
            return self.maintenance.handle_event(event)
        except Exception:
            self._maintenance_failed("handling an event")
            return True

    def shown(self) -> object:
        """The maintenance page while maintenance is open, else the citizen's screen."""
        if self.maintenance is None:
            return self.citizen.shown()
        return self.maintenance.shown()

    def touched(self) -> None:
        """A touch restarts the idle timers of the scene on screen only."""
        if self.maintenance is None:
            self.citizen.touched()
            return
        try:
            self.maintenance.touched()
        except Exception:
            self._maintenance_failed("handling a touch")

    def update(self, now: float) -> None:
        """Both scenes' timers; then the long press, when one is held long enough."""
        self.citizen.update(now)
        if self.maintenance is not None:
            try:
                self.maintenance.update(now)
            except Exception:
                self._maintenance_failed("updating")
            return
        corner = self._corner
        if corner is not None and (due := corner.held_until()) is not None and now >= due:
            corner.fire()
            self.open_maintenance()

    def next_deadline(self, now: float) -> float | None:
        """The sooner of both scenes' deadlines and the end of a long press being held."""
        deadlines = [self.citizen.next_deadline(now)]
        if self.maintenance is not None:
            try:
                deadlines.append(self.maintenance.next_deadline(now))
            except Exception:
                self._maintenance_failed("planning its timers")
        elif self._corner is not None:
            deadlines.append(self._corner.held_until())
        found = [d for d in deadlines if d is not None]
        return min(found) if found else None

    def key(self, event: pygame.event.Event) -> None:
        """A physical keyboard's key, for the scene on screen."""
        if self.maintenance is None:
            self.citizen.key(event)
            return
        try:
            self.maintenance.key(event)
        except Exception:
            self._maintenance_failed("handling a key")
