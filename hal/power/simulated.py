"""A simulated UPS HAT that runs the real monitor: gpiozero mock pins plus a simulated fuel gauge.

:class:`SimulatedUps` *is* a :class:`~hal.power.monitor.PowerMonitor`; only the hardware under it is
pretend. Its pins live on a private gpiozero ``MockFactory`` and its gauge answers SMBus word reads
with the same byte-swapped registers as the real chip, so the simulator and its tests exercise the
same callbacks, debouncing and register conversion as a kiosk on a Pi.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from hal.errors import DeviceNotFound
from hal.events import EventQueue
from hal.power.fuel_gauge import DEFAULT_ADDRESS, SOC_REGISTER, VCELL_REGISTER
from hal.power.monitor import PowerMonitor
from hal.power.presets import UpsPins
from hal.settings import PowerSettings

#: The simulated cell's voltage at 0 % and 100 % (an 18650 Li-ion cell, linear in between).
EMPTY_VOLTS = 3.3
FULL_VOLTS = 4.2

#: Nothing to protect in a simulation: a short pulse keeps the simulator's shutdown quick.
SIMULATED_POWER_CUT_PULSE_S = 0.1


def _smbus_word(register_value: int) -> int:
    """The word smbus2 returns for a register the chip sends most significant byte first."""
    register_value &= 0xFFFF
    return ((register_value & 0xFF) << 8) | (register_value >> 8)


class SimulatedFuelGauge:
    """A MAX17040-style gauge behind an SMBus-like ``read_word_data``, with a scriptable discharge.

    Args:
        percent: Charge to start with.
        address: The I2C address it answers at.
        discharge_percent_per_min: Charge lost per minute while discharging.
        clock: Monotonic clock in seconds (injected by tests).
    """

    def __init__(
        self,
        percent: float = 100.0,
        *,
        address: int = DEFAULT_ADDRESS,
        discharge_percent_per_min: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.address = address
        self._clock = clock
        self._lock = threading.Lock()
        self._percent = float(percent)
        self._rate = discharge_percent_per_min
        self._discharging = False
        self._since = clock()
        self._answering = True

    @property
    def percent(self) -> float:
        """The charge now, discharge included."""
        with self._lock:
            self._advance()
            return self._percent

    @property
    def volts(self) -> float:
        """The cell voltage matching the charge now."""
        return EMPTY_VOLTS + (FULL_VOLTS - EMPTY_VOLTS) * self.percent / 100

    def set_percent(self, percent: float) -> None:
        """Set the charge (clamped to 0..100)."""
        with self._lock:
            self._advance()
            self._percent = max(0.0, min(100.0, float(percent)))

    def set_discharging(self, discharging: bool, percent_per_min: float | None = None) -> None:
        """Start or stop discharging, optionally at a new rate."""
        with self._lock:
            self._advance()
            self._discharging = discharging
            if percent_per_min is not None:
                self._rate = percent_per_min

    def set_answering(self, answering: bool) -> None:
        """Make the chip stop (or start again) answering on the bus, like an unplugged HAT."""
        with self._lock:
            self._answering = answering

    def _advance(self) -> None:
        now = self._clock()
        if self._discharging and self._rate > 0:
            self._percent = max(0.0, self._percent - self._rate * (now - self._since) / 60)
        self._since = now

    def read_word_data(self, i2c_addr: int, register: int, force: bool | None = None) -> int:
        """Answer an SMBus read-word like the chip (bytes swapped as smbus2 delivers them).

        Raises:
            OSError: errno 121 when nothing answers at ``i2c_addr`` or the chip is switched off.
        """
        with self._lock:
            answering = self._answering
        if i2c_addr != self.address or not answering:
            raise OSError(121, "Remote I/O error")
        if register == VCELL_REGISTER:
            return _smbus_word(round(self.volts * 1000 / 1.25) << 4)
        if register == SOC_REGISTER:
            return _smbus_word(round(self.percent * 256))
        return 0

    def close(self) -> None:
        """Nothing to release; here so the gauge can own it like a real bus."""


class SimulatedUps(PowerMonitor):
    """A UPS HAT that the simulator (or a technician's test) can drive.

    It honours the configured preset and pin overrides, polarity included: losing mains drives
    the mains pin HIGH on an X728 and LOW on an X120x.

    Args:
        settings: The ``[power]`` settings; ``simulated_*`` fields set the starting state.
        events: Where the monitor's events go.
        clock: Monotonic clock driving the simulated discharge.
        poll: Start the monitor's polling thread.
    """

    backend = "simulated"

    def __init__(
        self,
        settings: PowerSettings,
        events: EventQueue | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        poll: bool = True,
    ) -> None:
        from gpiozero.pins.mock import MockFactory

        self.pin_factory = MockFactory()
        self.gauge = SimulatedFuelGauge(
            settings.simulated_battery_percent,
            address=settings.i2c_address,
            discharge_percent_per_min=settings.simulated_discharge_percent_per_min,
            clock=clock,
        )
        super().__init__(
            settings,
            events,
            pin_factory=self.pin_factory,
            i2c_bus=self.gauge,
            power_cut_pulse_s=SIMULATED_POWER_CUT_PULSE_S,
            poll=poll,
        )
        if settings.simulated_on_battery:
            self.lose_mains()

    def lose_mains(self) -> None:
        """Pull the plug: the mains pin goes to its "lost" level and the battery discharges."""
        self._require_pins()
        self.gauge.set_discharging(True)
        self._drive_mains(lost=True)

    def restore_mains(self) -> None:
        """Mains is back: the pin returns to its "OK" level and the discharge stops."""
        self._require_pins()
        self.gauge.set_discharging(False)
        self._drive_mains(lost=False)

    def set_battery(self, percent: float) -> None:
        """Set the battery charge; the monitor sees it at its next poll."""
        self.gauge.set_percent(percent)

    def press_button(self) -> None:
        """Press and release the HAT's button (its shutdown line goes HIGH, then LOW).

        Raises:
            DeviceNotFound: The configured HAT has no button.
        """
        pins = self._require_pins()
        if pins.button_pin is None:
            raise DeviceNotFound(f"the {self.settings.preset} UPS has no button")
        pin = self.pin_factory.pin(pins.button_pin)
        pin.drive_high()
        pin.drive_low()

    def _drive_mains(self, *, lost: bool) -> None:
        pins = self._require_pins()
        pin = self.pin_factory.pin(pins.mains_pin)
        if lost == pins.mains_lost_when_high:
            pin.drive_high()
        else:
            pin.drive_low()

    def _require_pins(self) -> UpsPins:
        self._check_open()
        if self.pins is None or self._mains is None:
            raise DeviceNotFound(f"the simulated UPS has no usable pins: {self.health().detail}")
        return self.pins
