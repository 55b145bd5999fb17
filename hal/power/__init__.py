"""The UPS / power monitor: mains lost or back, the HAT's button, the battery level.

``open_power_monitor(settings, events)`` picks the backend from ``settings.backend``:

- ``"gpio"``: the HAT on the Pi's GPIO header, read through gpiozero, and its I2C fuel gauge.
- ``"simulated"``: :class:`SimulatedUps`, the same monitor on gpiozero mock pins and a simulated
  fuel gauge, with ``lose_mains()``, ``restore_mains()``, ``set_battery()`` and ``press_button()``.
- ``"auto"``: ``"gpio"`` when gpiozero finds real pins, else ``"simulated"`` with a
  :class:`~hal.errors.DeviceFallbackWarning`.
- ``"none"``: no power monitoring; opening raises :class:`~hal.errors.DeviceNotFound`.
"""

from __future__ import annotations

import warnings
from typing import Any

from hal.errors import DeviceFallbackWarning, DeviceNotFound, UnknownBackend
from hal.events import EventQueue
from hal.power.fuel_gauge import FuelGauge, open_fuel_gauge, percent_from_word, volts_from_word
from hal.power.monitor import POWER_CUT_PULSE_S, PowerMonitor, PowerReading
from hal.power.presets import PRESETS, UpsPins, ups_pins
from hal.power.simulated import SimulatedFuelGauge, SimulatedUps
from hal.power.source import PowerSource, SwitchedOffPower
from hal.settings import PowerSettings

__all__ = [
    "POWER_CUT_PULSE_S",
    "PRESETS",
    "FuelGauge",
    "PowerMonitor",
    "PowerReading",
    "PowerSource",
    "SimulatedFuelGauge",
    "SimulatedUps",
    "SwitchedOffPower",
    "UpsPins",
    "open_fuel_gauge",
    "open_power_monitor",
    "percent_from_word",
    "ups_pins",
    "volts_from_word",
]


def open_power_monitor(
    settings: PowerSettings,
    events: EventQueue | None = None,
    *,
    pin_factory: Any = None,
    i2c_bus: Any = None,
) -> PowerMonitor:
    """Open the power monitor that ``settings`` asks for.

    Args:
        settings: The ``[power]`` settings.
        events: The queue that receives MainsLost, MainsRestored, BatteryLow and
            ShutdownButtonPressed.
        pin_factory: A gpiozero pin factory to use instead of the default (a ``MockFactory`` in
            tests); given with ``"auto"`` it counts as real GPIO.
        i2c_bus: An SMBus-like object for the fuel gauge instead of ``/dev/i2c-<n>``.

    Raises:
        DeviceNotFound: The backend is ``"none"``.
        UnknownBackend: The backend name is not known.
    """
    backend = settings.backend
    if backend == "auto":
        if pin_factory is None:
            pin_factory, reason = _real_pin_factory()
            if pin_factory is None:
                warnings.warn(
                    f"no GPIO for the UPS ({reason}); using the simulated UPS",
                    DeviceFallbackWarning,
                    stacklevel=2,
                )
                return SimulatedUps(settings, events)
        backend = "gpio"
    if backend == "gpio":
        return PowerMonitor(settings, events, pin_factory=pin_factory, i2c_bus=i2c_bus)
    if backend == "simulated":
        return SimulatedUps(settings, events)
    if backend == "none":
        raise DeviceNotFound('power monitoring is switched off in the config (backend = "none")')
    raise UnknownBackend(f"unknown power backend {backend!r} (known: auto, gpio, simulated, none)")


def _real_pin_factory() -> tuple[Any, str]:
    """Return gpiozero's default pin factory if it drives real pins, else ``(None, reason)``."""
    from gpiozero import Device as GpioDevice
    from gpiozero.pins.mock import MockFactory

    try:
        with warnings.catch_warnings():
            # One warning per pin library gpiozero tries; the outcome is reported instead.
            warnings.simplefilter("ignore")
            GpioDevice.ensure_pin_factory()
    except Exception as exc:  # noqa: BLE001 - gpiozero raises several kinds here
        return None, str(exc)
    factory = GpioDevice.pin_factory
    if isinstance(factory, MockFactory):
        return None, "gpiozero is set to mock pins"
    return factory, ""
