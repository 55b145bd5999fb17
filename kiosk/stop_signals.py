"""SIGTERM and SIGINT as a :class:`~kiosk.events.StopRequested` event on the main loop's queue.

Without this, SDL installs its own SIGTERM handler, which turns the signal into a window-close event that a
fullscreen kiosk must ignore: ``systemctl stop`` then ended in SIGKILL after ``TimeoutStopSec`` and skipped
the clean shutdown. The handlers are installed before pygame starts (SDL leaves a signal alone when someone
already handles it). A Python handler runs on the main thread, possibly in the middle of the main loop, so
it only hands the event to a short-lived thread to post: posting takes the queue's locks, which the
interrupted loop may hold.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType, TracebackType

from hal.events import EventQueue
from kiosk.events import StopRequested

log = logging.getLogger(__name__)

#: The signals that ask the kiosk to stop cleanly.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopSignals:
    """While entered, SIGTERM and SIGINT post :class:`StopRequested` to ``events`` instead of killing.

    Enter it on the main thread before pygame is initialised.

    Args:
        events: The main loop's queue.
    """

    def __init__(self, events: EventQueue) -> None:
        self._events = events
        self._previous: dict[signal.Signals, object] = {}

    def __enter__(self) -> StopSignals:
        for number in STOP_SIGNALS:
            self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for number, previous in self._previous.items():
            signal.signal(number, previous)  # type: ignore[arg-type]

    def _handle(self, number: int, frame: FrameType | None) -> None:
        name = signal.Signals(number).name
        event = StopRequested(reason=name)
        threading.Thread(target=self._post, args=(event,), name="stop-signal", daemon=True).start()

    def _post(self, event: StopRequested) -> None:
        log.info("shutdown: %s received, stopping cleanly", event.reason)
        self._events.post(event)
