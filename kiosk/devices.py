"""Opening the kiosk's devices from its config: the hardware half of the kiosk's assembly.

Every device kind has one null object in hal (:class:`~hal.camera.disabled.DisabledCamera`,
:class:`~hal.signature_pad.SwitchedOffSignaturePad`, :class:`~hal.power.SwitchedOffPower`,
:class:`~hal.printer.SwitchedOffPrinter`). It stands in both for a device switched off in the config
(backend ``"none"``: health "off" on the dashboard, it posts nothing) and for one that cannot even be
constructed (a library missing for an explicitly chosen backend, say: FAILED with the reason). So
:class:`Devices` always holds four devices of their own types, the kiosk keeps serving with what works,
and the dashboard and self-test say honestly what does not.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from hal.device import Device, HealthStatus
from hal.errors import DeviceError
from hal.events import EventQueue
from kiosk.config import Config

if TYPE_CHECKING:
    from hal.camera import Camera
    from hal.power import PowerSource
    from hal.printer import ReceiptPrinter
    from hal.signature_pad import SignaturePad

log = logging.getLogger(__name__)

#: The kiosk's devices in the order dashboards and the self-test list them.
DEVICE_NAMES = ("camera", "signature_pad", "power", "printer")

#: The status of a device switched off in the config (dashboards show it as "Switched off").
OFF = "off"


def switched_off(device: Device) -> bool:
    """Whether ``device`` is the null object of a device switched off in the config."""
    return device.backend == "none"


def device_status(device: Device) -> str:
    """``ok``, ``degraded``, ``failed``, or ``off`` for a device switched off in the config."""
    return OFF if switched_off(device) else str(device.health().status)


def device_works(device: Device) -> bool:
    """Whether ``device`` is there and has not failed (degraded still serves)."""
    return device_status(device) not in (OFF, str(HealthStatus.FAILED))


def _camera_switched_off() -> Camera:
    from hal.camera.disabled import DisabledCamera
    from hal.settings import CameraSettings

    return DisabledCamera(CameraSettings(backend="none"))


def _signature_pad_switched_off() -> SignaturePad:
    from hal.signature_pad import SwitchedOffSignaturePad

    return SwitchedOffSignaturePad()


def _power_switched_off() -> PowerSource:
    from hal.power import SwitchedOffPower

    return SwitchedOffPower()


def _printer_switched_off() -> ReceiptPrinter:
    from hal.printer import SwitchedOffPrinter

    return SwitchedOffPrinter()


@dataclass
class Devices:
    """The four devices of one kiosk; a device switched off or not openable is its kind's null object.

    A kind left out when constructing (``Devices(camera=..., printer=...)``, as tests do) is switched off.
    """

    camera: Camera = field(default_factory=_camera_switched_off)
    signature_pad: SignaturePad = field(default_factory=_signature_pad_switched_off)
    power: PowerSource = field(default_factory=_power_switched_off)
    printer: ReceiptPrinter = field(default_factory=_printer_switched_off)

    def __iter__(self) -> Iterator[tuple[str, Device]]:
        yield "camera", self.camera
        yield "signature_pad", self.signature_pad
        yield "power", self.power
        yield "printer", self.printer

    def __len__(self) -> int:
        return len(DEVICE_NAMES)

    def by_name(self) -> dict[str, Device]:
        """``name -> device`` in dashboard order."""
        return dict(self)

    def close(self) -> None:
        """Close every device; one failing to close does not keep the others open."""
        for name, device in self:
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
    return Devices(
        camera=_open(
            config.camera.backend,
            "camera",
            lambda: _camera(config, events),
            _camera_switched_off,
            lambda reason: _camera_unavailable(config, events, reason),
        ),
        signature_pad=_open(
            config.signature_pad.backend,
            "signature pad",
            lambda: _signature_pad(config, events),
            _signature_pad_switched_off,
            lambda reason: _signature_pad_unavailable(config, events, reason),
        ),
        power=_open(
            config.power.backend,
            "power monitor",
            lambda: _power(config, events),
            _power_switched_off,
            lambda reason: _power_unavailable(config, events, reason),
        ),
        printer=_open(
            config.printer.backend,
            "printer",
            lambda: _printer(config, events, receipts_dir or config.data_path / "receipts"),
            _printer_switched_off,
            lambda reason: _printer_unavailable(config, events, reason),
        ),
    )


D = TypeVar("D", bound=Device)


def _open(
    backend: str,
    what: str,
    opener: Callable[[], D],
    off: Callable[[], D],
    unavailable: Callable[[str], D],
) -> D:
    """The device ``opener`` makes, or its kind's null object when switched off or not openable."""
    if backend == "none":
        return off()
    try:
        return opener()
    except (DeviceError, OSError, ImportError) as exc:
        log.error("the %s (%s backend) cannot be opened: %s", what, backend, exc)
        return unavailable(f"cannot be opened: {exc}")


# The factories are imported where they are used so that a broken optional library (OpenCV on an
# odd platform, say) costs only its own device, not the whole kiosk.
def _camera(config: Config, events: EventQueue | None) -> Camera:
    from hal.camera import open_camera

    return open_camera(config.camera, events)


def _signature_pad(config: Config, events: EventQueue | None) -> SignaturePad:
    from hal.signature_pad import open_signature_pad

    return open_signature_pad(config.signature_pad, events)


def _power(config: Config, events: EventQueue | None) -> PowerSource:
    from hal.power import open_power_monitor

    return open_power_monitor(config.power, events)


def _printer(config: Config, events: EventQueue | None, receipts_dir: Path) -> ReceiptPrinter:
    from hal.printer import open_receipt_printer

    return open_receipt_printer(config.printer, events, output_dir=receipts_dir)


# A device that cannot be opened is its kind's null object with the reason and the configured backend; it
# announces its failure on the queue like any device whose health changes (one switched off posts nothing).
def _camera_unavailable(config: Config, events: EventQueue | None, reason: str) -> Camera:
    from hal.camera.disabled import DisabledCamera

    return DisabledCamera(config.camera, events, reason=reason, backend=config.camera.backend)


def _signature_pad_unavailable(config: Config, events: EventQueue | None, reason: str) -> SignaturePad:
    from hal.signature_pad import SwitchedOffSignaturePad

    return SwitchedOffSignaturePad(events, reason=reason, backend=config.signature_pad.backend)


def _power_unavailable(config: Config, events: EventQueue | None, reason: str) -> PowerSource:
    from hal.power import SwitchedOffPower

    return SwitchedOffPower(events, reason=reason, backend=config.power.backend)


def _printer_unavailable(config: Config, events: EventQueue | None, reason: str) -> ReceiptPrinter:
    from hal.printer import SwitchedOffPrinter

    return SwitchedOffPrinter(events, reason=reason, backend=config.printer.backend)
