"""The simulated signature pad: the real serial driver reading a :class:`PadEmulator` on a pty.

Nothing here bypasses the serial path: the emulator writes protocol bytes into a pseudo-terminal
and :class:`~hal.signature_pad.serial_pad.SerialSignaturePad` opens, reads, decodes and reconnects
exactly as it does with a pad on a USB adapter.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import msgspec

from hal.device import Health, HealthStatus
from hal.events import EventQueue, PenSample
from hal.settings import SignaturePadSettings
from hal.signature_pad.emulator import PadEmulator
from hal.signature_pad.serial_pad import SerialSignaturePad


class SimulatedSignaturePad(SerialSignaturePad):
    """A signature pad whose hardware is a :class:`PadEmulator` that signs once per signature step.

    Args:
        settings: The ``[signature_pad]`` section; ``protocol`` picks what the emulator speaks and
            ``simulated_fault`` starts it unplugged or with line noise. ``port`` is ignored.
        events: Where pen samples and health changes go.
        clock: Monotonic clock stamping the samples.
        emulator: An emulator to read instead of a new one (it is closed with the pad); a given one is
            driven by its owner (a test), so :meth:`expect_signature` leaves it alone.

    Attributes:
        emulator: The emulated hardware, for tests and maintenance (``unplug()``, ``replug()``, ...).
        signs_when_expected: Whether :meth:`expect_signature` makes the emulator sign (its own emulator).
    """

    backend = "simulated"
    #: How long the self-test waits for the test touch to come back as samples.
    self_test_timeout_s = 2.0

    def __init__(
        self,
        settings: SignaturePadSettings,
        events: EventQueue | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        emulator: PadEmulator | None = None,
    ) -> None:
        # One signature each time the kiosk asks for one, not a loop: a looping pad overwrote a signature
        # tried with the mouse and saved a half-drawn one when "Next" came mid-stroke (issue 13).
        self.signs_when_expected = emulator is None
        if emulator is None:
            emulator = PadEmulator(
                protocol=settings.protocol,
                noise=settings.simulated_fault == "garbage",
                plugged=settings.simulated_fault != "unplugged",
            )
        self.emulator = emulator
        try:
            super().__init__(msgspec.structs.replace(settings, port=emulator.path), events, clock=clock)
        except BaseException:
            emulator.close()
            raise

    def expect_signature(self) -> None:
        """Sign once on the emulator (the simulated citizen), unless a test drives it."""
        if self.signs_when_expected:
            self.emulator.play(self.emulator.signature())

    def self_test(self) -> Health:
        """Check the port, then touch the emulated pad and wait for the samples to come through."""
        health = super().self_test()
        if health.status is HealthStatus.FAILED:
            return health
        arrived = threading.Event()

        def on_sample(_sample: PenSample) -> None:
            arrived.set()

        self.add_listener(on_sample)
        try:
            self.emulator.tap()
            if not arrived.wait(self.self_test_timeout_s):
                self._set_health(HealthStatus.FAILED, "signature pad sends no pen samples")
        finally:
            self.remove_listener(on_sample)
        return self.health()

    def _close(self) -> None:
        super()._close()
        self.emulator.close()
