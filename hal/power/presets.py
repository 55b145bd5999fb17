"""Which GPIO pins a UPS HAT uses, from a preset for a known HAT plus the overrides in the config.

Known HATs (BCM pin numbers):

- Geekworm X728 v2: GPIO6 HIGH = mains lost; GPIO5 = the HAT's shutdown line (its button); holding
  GPIO26 HIGH for a few seconds asks the HAT to shut down and cut power once the Pi has halted.
- Geekworm X729: GPIO6 HIGH = mains lost.
- Geekworm / SupTronics X1200, X1201, X1202 (``x120x``): GPIO6 HIGH = mains OK (opposite polarity).

All of them carry a MAX17040-style fuel gauge at I2C address 0x36 (see :mod:`hal.power.fuel_gauge`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from hal.settings import PowerSettings


@dataclass(frozen=True)
class UpsPins:
    """The pins of one UPS HAT.

    Attributes:
        mains_pin: Input that tells whether mains power is present.
        mains_lost_when_high: True when ``mains_pin`` reads HIGH on mains loss, False when HIGH
            means mains OK.
        button_pin: Input that goes HIGH when the HAT's button asks for a shutdown; None if none.
        power_cut_pin: Output that, held HIGH for a few seconds, makes the HAT cut power after
            the Pi has halted; None if the HAT has none.
    """

    mains_pin: int
    mains_lost_when_high: bool = True
    button_pin: int | None = None
    power_cut_pin: int | None = None

    def __post_init__(self) -> None:
        used = [pin for pin in (self.mains_pin, self.button_pin, self.power_cut_pin) if pin is not None]
        if len(used) != len(set(used)):
            raise ValueError(
                f"the UPS pins overlap (mains {self.mains_pin}, button {self.button_pin}, "
                f"power cut {self.power_cut_pin}): each needs its own GPIO"
            )


PRESETS: dict[str, UpsPins] = {
    "x728": UpsPins(mains_pin=6, mains_lost_when_high=True, button_pin=5, power_cut_pin=26),
    "x729": UpsPins(mains_pin=6, mains_lost_when_high=True),
    "x120x": UpsPins(mains_pin=6, mains_lost_when_high=False),
}


def ups_pins(settings: PowerSettings) -> UpsPins:
    """Return the pins for ``settings``: its preset, with every pin it names overriding the preset.

    Raises:
        ValueError: Two functions were given the same pin, or ``custom`` lacks a mains pin.
    """
    if settings.preset == "custom":
        if settings.mains_pin is None:
            raise ValueError("preset 'custom' needs mains_pin")
        # A custom HAT reports like the Geekworm ones unless told otherwise.
        base = UpsPins(mains_pin=settings.mains_pin)
    else:
        base = PRESETS[settings.preset]
    overrides = {
        name: value
        for name in ("mains_pin", "mains_lost_when_high", "button_pin", "power_cut_pin")
        if (value := getattr(settings, name)) is not None
    }
    return replace(base, **overrides)
