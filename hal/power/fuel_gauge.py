"""The UPS HAT's battery fuel gauge: a MAX17040-style chip on I2C (address 0x36 on Geekworm HATs).

The chip keeps two 16-bit registers that matter here, each sent most significant byte first:

- ``VCELL`` (0x02): cell voltage, 12 bits left-aligned, 1.25 mV per step.
- ``SOC`` (0x04): state of charge, whole percent in the high byte, 1/256 % in the low byte.

SMBus "read word" assembles the two bytes least significant first, so the word smbus2 returns has
its bytes swapped relative to the register: swap them back before scaling.
"""

from __future__ import annotations

import logging
from typing import Protocol

from hal.errors import BackendUnavailable, DeviceNotFound

log = logging.getLogger(__name__)

DEFAULT_ADDRESS = 0x36
VCELL_REGISTER = 0x02
SOC_REGISTER = 0x04


class SMBusLike(Protocol):
    """The part of :class:`smbus2.SMBus` the gauge uses (a fake in tests, a simulated chip elsewhere)."""

    def read_word_data(self, i2c_addr: int, register: int, force: bool | None = None) -> int: ...


def _swap_bytes(word: int) -> int:
    return ((word & 0xFF) << 8) | ((word >> 8) & 0xFF)


def volts_from_word(word: int) -> float:
    """Convert the word smbus2 reads from ``VCELL`` into volts."""
    return _swap_bytes(word) * 1.25 / 1000 / 16


def percent_from_word(word: int) -> float:
    """Convert the word smbus2 reads from ``SOC`` into percent, clamped to 0..100.

    The chip may report slightly above 100 % right after a full charge; nobody needs to see 101 %.
    """
    return min(100.0, _swap_bytes(word) / 256)


class FuelGauge:
    """Reads voltage and charge from the gauge chip.

    Args:
        bus: An open SMBus (smbus2's, or anything with the same ``read_word_data``).
        address: The chip's I2C address.
        owns_bus: Close ``bus`` in :meth:`close` (True when the gauge opened it itself).
    """

    def __init__(self, bus: SMBusLike, address: int = DEFAULT_ADDRESS, *, owns_bus: bool = False) -> None:
        self._bus = bus
        self.address = address
        self._owns_bus = owns_bus

    @property
    def not_answering(self) -> str:
        """The plain reason reported while the chip does not answer."""
        return f"fuel gauge not answering at 0x{self.address:02x}: battery level unknown"

    def read(self) -> tuple[float, float]:
        """Return ``(volts, percent)`` read from the chip now.

        Raises:
            DeviceNotFound: The chip did not answer (not fitted, I2C off, cable loose).
        """
        try:
            volts = volts_from_word(self._bus.read_word_data(self.address, VCELL_REGISTER))
            percent = percent_from_word(self._bus.read_word_data(self.address, SOC_REGISTER))
        except OSError as exc:
            # Typically errno 121 (Remote I/O error): nothing acknowledged the address.
            log.debug("fuel gauge read failed: %s", exc)
            raise DeviceNotFound(self.not_answering) from exc
        return volts, percent

    def close(self) -> None:
        """Close the bus if the gauge opened it."""
        if self._owns_bus:
            close = getattr(self._bus, "close", None)
            if close is not None:
                close()


def open_fuel_gauge(bus_number: int, address: int = DEFAULT_ADDRESS) -> FuelGauge:
    """Open ``/dev/i2c-<bus_number>`` with smbus2 and return the gauge on it.

    Raises:
        BackendUnavailable: smbus2 is not installed.
        DeviceNotFound: The I2C bus does not exist or cannot be opened.
    """
    try:
        from smbus2 import SMBus
    except ImportError as exc:
        raise BackendUnavailable("smbus2 is not installed: battery level unknown") from exc
    try:
        bus = SMBus(bus_number)
    except OSError as exc:
        raise DeviceNotFound(
            f"no I2C bus /dev/i2c-{bus_number} ({exc.strerror or exc}): battery level unknown; "
            "is I2C switched on (raspi-config)?"
        ) from exc
    return FuelGauge(bus, address, owns_bus=True)
