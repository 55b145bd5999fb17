"""Samples queue depth and battery into the metrics table, on a thread of its own, for the 24-hour chart.

:meth:`kiosk.maintenance.metrics.Metrics.sample_if_due` writes to SQLite (a commit with
``synchronous=FULL``), which must never run inside a frame; so it runs here, woken every ``interval_s``,
whatever screen is shown. Stopping wakes the thread at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping

from kiosk.maintenance.metrics import Metrics

log = logging.getLogger(__name__)


class MetricsRecorder:
    """Takes a sample every ``metrics.interval_s`` until stopped.

    Args:
        metrics: The metrics table.
        read: Returns the values to store (:func:`kiosk.maintenance.metrics.queue_and_battery`).
    """

    def __init__(self, metrics: Metrics, read: Callable[[], Mapping[str, float | None]]) -> None:
        self.metrics = metrics
        self.read = read
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start sampling (the first sample is taken at once when one is due)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="metrics", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread (idempotent)."""
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            # sample_if_due logs and swallows its own failures: a broken gauge never ends the chart.
            self.metrics.sample_if_due(self.read)
            self._stop.wait(self.metrics.interval_s)
