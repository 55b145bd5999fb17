"""Slow maintenance work off the UI thread, with progress the screen can show.

A :class:`Job` is one kind of work a page can start (send the queue now, export to a USB stick, print a
test slip). The work runs on the app's worker threads; its progress reports travel as
:class:`JobProgress` events on the main loop's queue (the only way another thread may reach the UI), and
its result comes back on the main thread. A job runs at most once at a time: its button is disabled while
it runs.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from hal.events import Event


@dataclass(frozen=True)
class JobProgress(Event):
    """Progress of a maintenance job, posted by the worker thread doing it."""

    job: str
    done: int
    total: int
    #: What is being worked on now (a device's name for "Check all"), or "".
    item: str = ""


class JobState(enum.StrEnum):
    """Where a job is."""

    IDLE = "idle"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Job:
    """One kind of background work and how its last run went.

    Args:
        name: Stable name, also used in widget ids (``sync``, ``export``).
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.state = JobState.IDLE
        self.done = 0
        self.total: int | None = None
        #: What is being worked on now (the page words it), or "".
        self.item = ""
        self.result: Any = None
        self.error: BaseException | None = None

    @property
    def running(self) -> bool:
        """True while the work runs."""
        return self.state is JobState.RUNNING

    @property
    def fraction(self) -> float | None:
        """Share done, or None while the total is not known."""
        if self.state is JobState.DONE:
            return 1.0
        if not self.total:
            return None
        return self.done / self.total

    def started(self, total: int | None = None, item: str = "") -> None:
        """The work was handed to a worker thread; ``total`` and ``item`` when known before it starts (the
        first frame after the tap shows them, however long the worker takes to report)."""
        self.state = JobState.RUNNING
        self.done, self.total, self.item = 0, total, item
        self.result = self.error = None

    def progressed(self, done: int, total: int, item: str = "") -> bool:
        """A progress report arrived; True when it changed what is shown."""
        if not self.running or (done, total, item) == (self.done, self.total, self.item):
            return False
        self.done, self.total, self.item = done, total, item
        return True

    def finished(self, result: Any = None, error: BaseException | None = None) -> None:
        """The work ended, with ``result`` or ``error``."""
        self.state = JobState.FAILED if error is not None else JobState.DONE
        self.result, self.error = result, error
