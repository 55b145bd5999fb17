"""Typed events and the one thread-safe queue that carries them to the main loop.

Device callbacks run on their own threads (gpiozero's, the serial reader's, the camera worker's)
and the sync worker runs on another. None of them may touch pygame or the UI's state: they post an
event here and the main loop drains the queue once per frame. A *waker* lets the main loop sleep
in ``pygame.event.wait`` and still wake up the moment an event arrives.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Event:
    """Base of every event; ``at`` is a monotonic timestamp taken when the event was made."""

    at: float = field(default_factory=time.monotonic, kw_only=True)


@dataclass(frozen=True)
class DeviceHealthChanged(Event):
    """A device's health changed (for example the camera went from ok to failed)."""

    device: str
    status: str
    detail: str


@dataclass(frozen=True)
class PenSample(Event):
    """One sample from a signature pad, in the pad's own coordinates.

    Attributes:
        x: Horizontal position, 0 .. ``max_x``.
        y: Vertical position, 0 .. ``max_y``.
        pen_down: True while the pen tip touches the pad.
        in_range: True while the pen is in proximity of the pad.
        pressure: Tip pressure 0 .. ``max_pressure`` where the protocol has one, else None.
        t: Monotonic time the sample was decoded.
    """

    x: int
    y: int
    pen_down: bool
    in_range: bool = True
    pressure: int | None = None
    t: float = 0.0


@dataclass(frozen=True)
class MainsLost(Event):
    """The UPS reports that mains power is gone; the kiosk now runs on battery."""


@dataclass(frozen=True)
class MainsRestored(Event):
    """Mains power is back."""


@dataclass(frozen=True)
class BatteryLow(Event):
    """The battery fell below the configured threshold while on battery."""

    percent: float | None
    volts: float | None


@dataclass(frozen=True)
class ShutdownButtonPressed(Event):
    """The UPS HAT's own button was pressed."""


class EventQueue:
    """A thread-safe, unbounded FIFO of :class:`Event` objects.

    ``post`` never blocks, so a device thread cannot be held up by a slow frame. Wakers are called
    after every post from the posting thread: they must be cheap and thread-safe (posting a pygame
    user event is).
    """

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Event] = queue.SimpleQueue()
        self._wakers: list[Callable[[], Any]] = []
        self._lock = threading.Lock()

    def post(self, event: Event) -> None:
        """Add ``event`` and wake the main loop."""
        self._queue.put(event)
        with self._lock:
            wakers = list(self._wakers)
        for wake in wakers:
            wake()

    def add_waker(self, wake: Callable[[], Any]) -> None:
        """Call ``wake()`` after every post (from the posting thread)."""
        with self._lock:
            self._wakers.append(wake)

    def remove_waker(self, wake: Callable[[], Any]) -> None:
        """Stop calling ``wake``; unknown wakers are ignored."""
        with self._lock:
            if wake in self._wakers:
                self._wakers.remove(wake)

    def get(self, timeout: float | None = None) -> Event | None:
        """Return the next event, waiting up to ``timeout`` seconds; None when none came."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def drain(self) -> list[Event]:
        """Return every event queued so far, oldest first, without waiting."""
        events: list[Event] = []
        while True:
            try:
                events.append(self._queue.get_nowait())
            except queue.Empty:
                return events

    def wait_for(self, kind: type[Event], timeout: float) -> Event | None:
        """Return the first event of type ``kind`` within ``timeout`` seconds, dropping others.

        Meant for tests and the self-test, which wait on an event instead of sleeping.
        """
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            event = self.get(timeout=left)
            if isinstance(event, kind):
                return event
        return None
