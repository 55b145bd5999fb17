"""Waiting on a running sync worker by its own events (never by sleeping): shared by the worker's tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from hal.events import EventQueue
from kiosk.sync import SyncStatus, SyncWorker


def wait_for(worker: SyncWorker, events: EventQueue, check: Callable[[SyncStatus], bool], timeout=15.0):
    """Wait on the worker's events (not by sleeping) until its status passes ``check``."""
    woken = threading.Event()
    events.add_waker(woken.set)
    try:
        deadline = time.monotonic() + timeout
        while not check(status := worker.status()):
            assert time.monotonic() < deadline, f"worker never got there; last status {status}"
            woken.wait(0.25)
            woken.clear()
        return status
    finally:
        events.remove_waker(woken.set)


def settled(sent: int, dead: int = 0) -> Callable[[SyncStatus], bool]:
    """The worker is idle with ``sent`` records sent and ``dead`` dead."""
    return lambda s: s.state == "idle" and s.counts.get("sent") == sent and s.counts.get("dead") == dead
