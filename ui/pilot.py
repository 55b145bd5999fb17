"""A test pilot for the UI, in the spirit of Textual's: find a widget by id, tap it, type, advance time.

Taps go through the real input path: the pilot posts the ``FINGERDOWN`` / ``FINGERUP`` events
a touchscreen produces, together with the synthetic mouse events SDL adds for them, and then runs
the main loop until it is idle. Time is a :class:`FakeClock` the pilot advances, so idle timers
and countdowns are tested without sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path

import pygame

from ui.app import App
from ui.widgets.base import Widget
from ui.widgets.keyboard import key_name


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self, start: float = 10_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``."""
        self.now += seconds


class Pilot:
    """Drives an :class:`~ui.app.App` the way a citizen's finger would.

    Args:
        app: The app, with its display open (the dummy driver in tests).
        clock: The fake clock the app and the scene were given, if any.
    """

    _finger = 0

    def __init__(self, app: App, clock: FakeClock | None = None) -> None:
        self.app = app
        self.clock = clock
        self.settle()

    # -- running ---------------------------------------------------------------------------------
    def settle(self, iterations: int = 3) -> None:
        """Run loop iterations without waiting until queued input and events are handled."""
        for _ in range(iterations):
            self.app.step(0.0)
            if not pygame.event.peek():
                break
        self.app.step(0.0)

    def advance(self, seconds: float, *, steps: int = 1) -> None:
        """Advance the fake clock by ``seconds`` (in ``steps`` equal parts), running the loop after each."""
        if self.clock is None:
            raise RuntimeError("the pilot has no fake clock to advance")
        for _ in range(steps):
            self.clock.advance(seconds / steps)
            self.settle()

    def wait_until(
        self, condition: Callable[[], bool], timeout: float = 10.0, what: str = "condition"
    ) -> None:
        """Run the loop (really waiting, for worker threads) until ``condition()`` holds.

        For work that happens on other threads (a capture, a commit): the loop sleeps in
        ``event.wait`` and is woken by the worker, so this does not poll busily.
        """
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} did not happen within {timeout} s (screen: {self.ids()[:12]}...)")
            self.app.step(0.05)
        self.settle()

    # -- looking ---------------------------------------------------------------------------------
    @property
    def root(self) -> Widget:
        """The widget tree on screen now."""
        return self.app._current_root()

    def widgets(self) -> Iterable[Widget]:
        """Every visible widget."""
        return self.root.walk()

    def ids(self) -> list[str]:
        """Ids of every visible widget."""
        return [w.id for w in self.widgets()]

    def exists(self, id: str) -> bool:
        """Whether a visible widget has this id."""
        return any(w.id == id for w in self.widgets())

    def find(self, id: str) -> Widget:
        """The visible widget with this id; LookupError naming what is on screen otherwise."""
        for widget in self.widgets():
            if widget.id == id:
                return widget
        raise LookupError(f"no visible widget {id!r}; on screen: {', '.join(self.ids())}")

    def texts(self) -> list[str]:
        """Every text shown on the screen now."""
        return [text for widget in self.widgets() for text in widget.texts()]

    def screen_text(self) -> str:
        """All texts on the screen joined by newlines (for ``in`` checks)."""
        return "\n".join(self.texts())

    # -- acting ----------------------------------------------------------------------------------
    def look(self) -> None:
        """Let the fake clock pass the app's settle time after a screen change, as a person reading it would.

        The app ignores touches for :data:`ui.app.SCREEN_SETTLE_S` after the screen changes; with a real
        clock the pilot waits for it.
        """
        self.app.draw_if_needed(self.app.clock())  # a screen change starts the app's settle time
        remaining = self.app.settles_at - self.app.clock()
        if remaining <= 0:
            return
        if self.clock is not None:
            self.advance(remaining)
        else:
            time.sleep(remaining)
            self.settle()

    def tap(self, id: str) -> None:
        """Tap the middle of the widget ``id``; it must be visible, enabled and really under the finger."""
        widget = self.find(id)
        if not widget.enabled:
            raise AssertionError(f"{id!r} is disabled")
        point = widget.rect.center
        under = self.root.hit(point)
        # The widget itself, a part of it, or a container that handles touches for it (a list's rows).
        if under is None or not (under is widget or _inside(under, widget) or _inside(widget, under)):
            raise AssertionError(f"{id!r} is covered by {under!r} at {point}")
        self.tap_at(point)

    def tap_at(self, pos: tuple[int, int]) -> None:
        """Tap the screen at ``pos`` (window pixels)."""
        self.drag([pos])

    def double_tap(self, pos: tuple[int, int]) -> None:
        """Two quick taps at ``pos``: both reach the app in one batch, as a real double tap does."""
        self.look()
        for _ in range(2):
            Pilot._finger += 1
            post_finger(pygame.FINGERDOWN, pos, Pilot._finger)
            post_finger(pygame.FINGERUP, pos, Pilot._finger)
        self.settle(6)

    def hold(self, pos: tuple[int, int], seconds: float) -> None:
        """Put a finger down at ``pos``, keep it there for ``seconds`` (the pilot's clock) and lift it."""
        finger = self.finger_down(pos)
        self.settle()
        self.advance(seconds)
        self.finger_up(pos, finger)
        self.settle()

    def finger_down(self, pos: tuple[int, int]) -> int:
        """Post a finger landing at ``pos`` (not handled until the next :meth:`settle`); return its id."""
        self.look()
        Pilot._finger += 1
        post_finger(pygame.FINGERDOWN, pos, Pilot._finger)
        return Pilot._finger

    def finger_up(self, pos: tuple[int, int], finger: int) -> None:
        """Post the finger ``finger`` lifting at ``pos`` (handled at the next :meth:`settle`)."""
        post_finger(pygame.FINGERUP, pos, finger)

    def drag(self, points: list[tuple[int, int]]) -> None:
        """Put a finger down at the first point, move it through the others and lift it at the last."""
        self.look()
        Pilot._finger += 1
        finger = Pilot._finger
        post_finger(pygame.FINGERDOWN, points[0], finger)
        for point in points[1:]:
            post_finger(pygame.FINGERMOTION, point, finger)
        post_finger(pygame.FINGERUP, points[-1], finger)
        self.settle(len(points) + 3)

    def type(self, text: str, keyboard: str = "keyboard") -> None:
        """Type ``text`` on the on-screen keyboard, one key tap per character."""
        for char in text:
            self.tap(f"{keyboard}.key.{key_name(char)}")

    def clear_field(self, length: int = 40, keyboard: str = "keyboard") -> None:
        """Tap the delete key ``length`` times."""
        for _ in range(length):
            self.tap(f"{keyboard}.key.backspace")

    def screenshot(self, path: str | Path | None = None) -> pygame.Surface:
        """Draw a fresh frame and return a copy of the display (saved as PNG when ``path`` is given)."""
        self.app.draw()
        image = pygame.display.get_surface().copy()
        if path is not None:
            path = Path(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            pygame.image.save(image, str(path))
        return image


def _inside(child: Widget, parent: Widget) -> bool:
    return any(w is child for w in parent.walk())


def post_finger(kind: int, pos: tuple[int, int], finger: int) -> None:
    """Queue a finger event at ``pos`` (window pixels) as SDL queues a touch, with its synthetic mouse twin.

    Works without an app (a touch made before the main loop runs waits in SDL's queue, as a real one does).
    """
    width, height = pygame.display.get_surface().get_size()
    x, y = pos[0] / width, pos[1] / height
    pygame.event.post(
        pygame.event.Event(kind, touch_id=1, finger_id=finger, x=x, y=y, dx=0.0, dy=0.0, pressure=1.0)
    )
    # SDL adds a synthetic mouse event for every finger event; the app must ignore it.
    mouse = {pygame.FINGERDOWN: pygame.MOUSEBUTTONDOWN, pygame.FINGERUP: pygame.MOUSEBUTTONUP}.get(kind)
    if mouse is not None:
        pygame.event.post(pygame.event.Event(mouse, pos=pos, button=1, touch=True))
    else:
        pygame.event.post(
            pygame.event.Event(pygame.MOUSEMOTION, pos=pos, rel=(0, 0), buttons=(1, 0, 0), touch=True)
        )
