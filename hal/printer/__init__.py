"""The receipt printer: an ESC/POS thermal printer, or a simulated one that saves PNGs.

``open_receipt_printer(settings, events, output_dir=...)`` picks the backend from
``settings.backend``:

- ``"serial"``: an ESC/POS printer on ``settings.port``.
- ``"usb"``: a USB printer-class printer on ``settings.usb_device`` (``/dev/usb/lp0``).
- ``"simulated"``: :class:`SimulatedPrinter`, PNGs of the paper in ``output_dir``.
- ``"auto"``: USB when ``usb_device`` exists, else serial when ``port`` exists, else simulated
  with a :class:`~hal.errors.DeviceFallbackWarning`.
- ``"none"``: no printer; opening raises :class:`~hal.errors.DeviceNotFound`.

A printer that is there but broken is returned all the same, reporting FAILED with the reason, so
that the kiosk can show the receipt on screen and the technician can see why.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from hal.errors import DeviceFallbackWarning, DeviceNotFound, UnknownBackend
from hal.events import EventQueue
from hal.printer.printer import PaperOut, PrinterOffline, ReceiptPrinter, SwitchedOffPrinter
from hal.printer.receipt import Receipt
from hal.printer.simulated import SimulatedPrinter, default_output_dir
from hal.settings import PrinterSettings

__all__ = [
    "PaperOut",
    "PrinterOffline",
    "Receipt",
    "ReceiptPrinter",
    "SimulatedPrinter",
    "SwitchedOffPrinter",
    "open_receipt_printer",
]


def open_receipt_printer(
    settings: PrinterSettings, events: EventQueue | None = None, *, output_dir: Path | None = None
) -> ReceiptPrinter:
    """Open the receipt printer that ``settings`` asks for.

    Args:
        settings: The ``[printer]`` settings.
        events: Where health changes go.
        output_dir: Where the simulated printer saves receipts; ``settings.output_dir`` when that
            is set, else this, else a fresh temporary folder.

    Raises:
        DeviceNotFound: The backend is ``"none"``.
        UnknownBackend: The backend name is not known.
        ValueError: The printer profile is not known to python-escpos.
    """
    backend = settings.backend
    if backend == "auto":
        if os.path.exists(settings.usb_device):
            backend = "usb"
        elif os.path.exists(settings.port):
            backend = "serial"
        else:
            warnings.warn(
                f"no printer at {settings.usb_device} or {settings.port}; using the simulated printer",
                DeviceFallbackWarning,
                stacklevel=2,
            )
            backend = "simulated"
    if backend == "serial":
        from hal.printer.escpos_printer import open_serial_printer

        return open_serial_printer(settings, events)
    if backend == "usb":
        from hal.printer.escpos_printer import open_usb_printer

        return open_usb_printer(settings, events)
    if backend == "simulated":
        if settings.output_dir:
            folder = Path(settings.output_dir).expanduser()
        elif output_dir is not None:
            folder = Path(output_dir)
        else:
            folder = default_output_dir()
        return SimulatedPrinter(
            folder, settings.paper_width_dots, fault=settings.simulated_fault, events=events
        )
    if backend == "none":
        raise DeviceNotFound('the receipt printer is switched off in the config (backend = "none")')
    raise UnknownBackend(f"unknown printer backend {backend!r} (known: auto, serial, usb, simulated, none)")
