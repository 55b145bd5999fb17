"""The base every device of the hardware layer builds on: health, lifecycle, events."""

from __future__ import annotations

import enum
import threading
import time
from dataclasses import dataclass, field

from hal.errors import DeviceClosed
from hal.events import DeviceHealthChanged, EventQueue


class HealthStatus(enum.StrEnum):
    """How well a device works: ``ok``, ``degraded`` (works with limits) or ``failed``."""

    OK = "ok"
    DEGRADED = "degraded"
    FAILED = "failed"


@dataclass(frozen=True)
class Health:
    """A device's health with the last problem in plain words (empty when all is well)."""

    status: HealthStatus
    detail: str = ""
    since: float = field(default_factory=time.monotonic)

    @property
    def ok(self) -> bool:
        """True when the device works fully."""
        return self.status is HealthStatus.OK


class Device:
    """Base class of every device.

    Subclasses set ``kind`` (``"camera"``, ``"signature_pad"``, ...) and ``backend``, call
    :meth:`_set_health` when their state changes and implement :meth:`_close` and
    :meth:`self_test`. ``close()`` is idempotent and devices are context managers.
    """

    kind: str = "device"
    backend: str = "unknown"

    def __init__(self, events: EventQueue | None = None) -> None:
        self._events = events
        self._closed = False
        self._health_lock = threading.Lock()
        self._health = Health(HealthStatus.OK)

    # -- health ---------------------------------------------------------------------------------
    def health(self) -> Health:
        """Return the device's current health without touching the hardware."""
        with self._health_lock:
            return self._health

    def self_test(self) -> Health:
        """Exercise the hardware briefly and return the resulting health.

        The base implementation only reports the current health; devices override it with a real
        check (capture a frame, read the port, ...).
        """
        return self.health()

    def _set_health(self, status: HealthStatus, detail: str = "") -> None:
        with self._health_lock:
            if self._health.status is status and self._health.detail == detail:
                return
            self._health = Health(status, detail)
        if self._events is not None:
            self._events.post(DeviceHealthChanged(device=self.kind, status=str(status), detail=detail))

    # -- lifecycle ------------------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed

    def close(self) -> None:
        """Release the hardware. Calling it again does nothing."""
        if self._closed:
            return
        self._closed = True
        self._close()

    def _close(self) -> None:
        """Release backend resources; called once by :meth:`close`."""

    def _check_open(self) -> None:
        if self._closed:
            raise DeviceClosed(f"the {self.kind} is closed")

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else self.health().status
        return f"<{type(self).__name__} backend={self.backend} {state}>"
