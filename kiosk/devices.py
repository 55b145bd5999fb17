"""Opening the kiosk's devices from its config: the hardware half of the composition root.

A device whose backend is ``"none"`` is simply absent (``None``). A device that cannot even be
constructed (a library missing for an explicitly chosen backend, say) is represented by an
:class:`UnavailableDevice` that reports FAILED with the reason, so the kiosk keeps serving with
what works and the dashboard and self-test say honestly what does not.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from hal.device import Device, HealthStatus
from hal.errors import DeviceError
from hal.events import EventQueue
from kiosk.config import Config

log = logging.getLogger(__name__)

#: The kiosk's devices in the order dashboards and the self-test list them.
DEVICE_NAMES = ("camera", "signature_pad", "power", "printer")


class UnavailableDevice(Device):
    """Stands in for a device whose backend could not be opened at all; always FAILED."""

    def __init__(self, kind: str, backend: str, reason: str, events: EventQueue | None = None) -> None:
        super().__init__(events)
        self.kind = kind
        self.backend = backend
        self._set_health(HealthStatus.FAILED, reason)


@dataclass
class Devices:
    """The devices of one kiosk; each one may be ``None`` when switched off in the config."""

    camera: Device | None = None
    signature_pad: Device | None = None
    power: Device | None = None
    printer: Device | None = None

    def __iter__(self) -> Iterator[tuple[str, Device | None]]:
        for name in DEVICE_NAMES:
            yield name, getattr(self, name)

    def close(self) -> None:
        """Close every device; one failing to close does not keep the others open."""
        for name, device in self:
            if device is None:
                continue
            try:
                device.close()
            except Exception:  # noqa: BLE001 - closing must reach every device
                log.exception("closing the %s failed", name)

    def __enter__(self) -> Devices:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def open_devices(config: Config, events: EventQueue | None = None) -> Devices:
    """Open every device the config switches on (use ``config.simulated()`` for the simulator)."""
    receipts_dir = Path(config.printer.output_dir).expanduser() if config.printer.output_dir else None
    openers: dict[str, Callable[[], Device]] = {
        "camera": lambda: _camera(config, events),
        "signature_pad": lambda: _signature_pad(config, events),
        "power": lambda: _power(config, events),
        "printer": lambda: _printer(config, events, receipts_dir or config.data_path / "receipts"),
    }
    devices = Devices()
    for name, opener in openers.items():
        backend = getattr(config, name).backend
        if backend == "none":
            continue
        try:
            device = opener()
        except (DeviceError, OSError, ImportError) as exc:
            log.error("the %s (%s backend) cannot be opened: %s", name, backend, exc)
            device = UnavailableDevice(name, backend, f"cannot be opened: {exc}", events)
        setattr(devices, name, device)
    return devices


# The factories are imported where they are used so that a broken optional library (OpenCV on an
# odd platform, say) costs only its own device, not the whole kiosk.
def _camera(config: Config, events: EventQueue | None) -> Device:
    from hal.camera import open_camera

    return open_camera(config.camera, events)


def _signature_pad(config: Config, events: EventQueue | None) -> Device:
    from hal.signature_pad import open_signature_pad

    return open_signature_pad(config.signature_pad, events)


def _power(config: Config, events: EventQueue | None) -> Device:
    from hal.power import open_power_monitor

    return open_power_monitor(config.power, events)


def _printer(config: Config, events: EventQueue | None, receipts_dir: Path) -> Device:
    from hal.printer import open_receipt_printer

    return open_receipt_printer(config.printer, events, output_dir=receipts_dir)
