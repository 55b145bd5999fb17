"""What the kiosk needs from a power source, and the one null object for a kiosk without UPS monitoring.

:class:`PowerSource` is the small interface the kiosk reads (the last reading, whether it runs on
battery, the request to cut power after halt); :class:`~hal.power.monitor.PowerMonitor` implements it on a
UPS HAT and :class:`SwitchedOffPower` stands in when monitoring is switched off or cannot be opened, so the
kiosk never has to ask whether it has a power source at all.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

from hal.device import Device, Health, HealthStatus
from hal.events import EventQueue


@dataclass(frozen=True)
class PowerReading:
    """What the UPS last reported.

    Attributes:
        on_battery: True while mains power is lost.
        percent: Battery charge 0..100, or None when the fuel gauge is absent or not answering.
        volts: Battery cell voltage, or None likewise.
    """

    on_battery: bool
    percent: float | None
    volts: float | None


class PowerSource(Device, abc.ABC):
    """A source of power readings and the power-cut request."""

    kind = "power"

    @abc.abstractmethod
    def reading(self) -> PowerReading:
        """Return the last known reading without touching the hardware."""

    @property
    def on_battery(self) -> bool:
        """True while mains power is lost (as last seen)."""
        return self.reading().on_battery

    @abc.abstractmethod
    def cut_power_after_halt(self) -> bool:
        """Ask the UPS to cut the power once the Pi has halted; False when it cannot."""


class SwitchedOffPower(PowerSource):
    """No power monitoring: switched off (backend ``none``) or not openable; always "on mains".

    Without a UPS the kiosk cannot know better than "mains present", which is what a kiosk without a
    battery lives on anyway; its health says honestly that nothing is watched.

    Args:
        events: Where its health goes (None for monitoring switched off: that is not news).
        reason: Why there is no monitoring, in plain words.
        backend: The configured backend (``"none"`` when switched off).
    """

    _READING = PowerReading(on_battery=False, percent=None, volts=None)

    def __init__(
        self,
        events: EventQueue | None = None,
        *,
        reason: str = "power monitoring switched off in the settings",
        backend: str = "none",
    ) -> None:
        super().__init__(events)
        self.backend = backend
        self._set_health(HealthStatus.FAILED, reason)

    def reading(self) -> PowerReading:
        """Mains present, charge unknown."""
        return self._READING

    def cut_power_after_halt(self) -> bool:
        """There is no UPS to ask."""
        return False

    def self_test(self) -> Health:
        """Nothing to exercise: report why there is no monitoring."""
        self._check_open()
        return self.health()
