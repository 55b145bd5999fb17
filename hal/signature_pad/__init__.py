"""The signature pad: a serial pen digitiser on which the citizen signs.

Pen samples arrive on the driver's reader thread and are delivered as
:class:`hal.events.PenSample` on the :class:`~hal.events.EventQueue` (and to listeners added with
:meth:`SignaturePad.add_listener`). Choose a backend with :func:`open_signature_pad`:

* ``serial``: the real pad on ``settings.port`` (:class:`~hal.signature_pad.serial_pad.SerialSignaturePad`).
* ``simulated``: a Topaz (or ISDV4) emulator on a pseudo-terminal, read through the *same* serial
  driver, so the simulator exercises the real path (:mod:`hal.signature_pad.emulator`).
* ``auto``: ``serial`` when the port exists, else ``simulated`` with a :class:`DeviceFallbackWarning`.
* ``none``: no pad; the device reports failed and the kiosk offers the touch-screen canvas.

A missing or unplugged pad never raises out of :func:`open_signature_pad`: the pad reports failed
with a plain reason and keeps trying to reconnect in the background.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import warnings
from collections.abc import Callable

from hal.device import Device, Health, HealthStatus
from hal.errors import DeviceFallbackWarning, UnknownBackend
from hal.events import EventQueue, PenSample
from hal.settings import SignaturePadSettings

__all__ = ["PenListener", "SignaturePad", "SwitchedOffSignaturePad", "open_signature_pad"]

log = logging.getLogger(__name__)

#: Called with every pen sample, on the driver's reader thread.
PenListener = Callable[[PenSample], object]


class SignaturePad(Device):
    """A pen digitiser. Coordinates are in the protocol's own units.

    Attributes:
        max_x: Largest X the pad reports (Topaz: 4095).
        max_y: Largest Y the pad reports (Topaz: 4095).
        max_pressure: Largest tip pressure, or None when the pad reports none.
    """

    kind = "signature_pad"
    max_x: int = 4095
    max_y: int = 4095
    max_pressure: int | None = None

    def __init__(
        self, events: EventQueue | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(events)
        self._clock = clock
        self._listeners: list[PenListener] = []
        self._listeners_lock = threading.Lock()

    def expect_signature(self) -> None:
        """The kiosk now waits for a signature on this pad (the signature step began or was cleared).

        A real pad needs nothing; the simulated one signs once in answer, as a citizen would.
        """

    def add_listener(self, listener: PenListener) -> None:
        """Call ``listener(sample)`` for every pen sample, from the reader thread.

        Meant for tests and the maintenance drawing test; the UI reads the event queue. A listener
        must be quick and must not touch pygame.
        """
        with self._listeners_lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: PenListener) -> None:
        """Stop calling ``listener``; an unknown listener is ignored."""
        with self._listeners_lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def _deliver(self, sample: PenSample) -> None:
        """Post ``sample`` to the event queue and hand it to every listener."""
        if self._events is not None:
            self._events.post(sample)
        with self._listeners_lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(sample)
            except Exception as exc:
                # A broken listener must not stop the pad. The message names only the error's type:
                # its text might quote the sample, and pen coordinates are a signature.
                log.error("a pen-sample listener failed with %s", type(exc).__name__)


class SwitchedOffSignaturePad(SignaturePad):
    """No pad: switched off (backend ``none``) or not openable; the kiosk offers the touch canvas instead.

    Args:
        events: Where its health goes (None for a pad switched off: that is not news).
        reason: Why there is no pad, in plain words.
        backend: The configured backend (``"none"`` when switched off).
    """

    def __init__(
        self,
        events: EventQueue | None = None,
        *,
        reason: str = "signature pad switched off in the settings",
        backend: str = "none",
    ) -> None:
        super().__init__(events)
        self.backend = backend
        self._set_health(HealthStatus.FAILED, reason)

    def self_test(self) -> Health:
        """Nothing to exercise: report why there is no pad."""
        self._check_open()
        return self.health()


def open_signature_pad(settings: SignaturePadSettings, events: EventQueue | None = None) -> SignaturePad:
    """Open the signature pad that ``settings`` describe.

    Args:
        settings: The ``[signature_pad]`` section.
        events: Where pen samples and health changes go.

    Returns:
        The pad; check :meth:`~hal.device.Device.health` to learn whether it works.

    Raises:
        UnknownBackend: ``settings.backend`` names no backend (only possible when the settings
            struct was built without validation).
        BackendUnavailable: pyserial is not installed.
    """
    backend = settings.backend
    if backend == "auto":
        if _port_present(settings.port):
            backend = "serial"
        else:
            warnings.warn(
                f"no signature pad at {settings.port}; using the simulated pad",
                DeviceFallbackWarning,
                stacklevel=2,
            )
            backend = "simulated"
    if backend == "serial":
        from hal.signature_pad.serial_pad import SerialSignaturePad

        return SerialSignaturePad(settings, events)
    if backend == "simulated":
        from hal.signature_pad.simulated_pad import SimulatedSignaturePad

        return SimulatedSignaturePad(settings, events)
    if backend == "none":
        return SwitchedOffSignaturePad(events)
    raise UnknownBackend(f"unknown signature pad backend {settings.backend!r}")


def _port_present(port: str) -> bool:
    # A pyserial URL (rfc2217://, socket://, loop://) cannot be checked without opening it: trust it.
    return "://" in port or os.path.exists(port)
