"""A simulated receipt printer: each receipt becomes a PNG of the paper, in a folder.

Its faults can be switched at run time (:meth:`SimulatedPrinter.set_fault`), so the simulator and
the tests can see how the kiosk copes with a printer that is offline or out of paper. Receipts
carry no personal data (see :class:`~hal.printer.receipt.Receipt`), so writing them to disk is fine.
"""

from __future__ import annotations

import itertools
import re
import tempfile
import threading
import time
from pathlib import Path
from typing import Literal

from hal.device import Health, HealthStatus
from hal.errors import DeviceError
from hal.events import EventQueue
from hal.printer.printer import PaperOut, PrinterOffline, ReceiptPrinter
from hal.printer.receipt import Receipt, layout_receipt

Fault = Literal["none", "offline", "paper_out"]

_FAULT_ERRORS: dict[str, DeviceError] = {
    "offline": PrinterOffline("the printer is offline (switched off or unplugged)"),
    "paper_out": PaperOut("the printer is out of paper"),
}


class SimulatedPrinter(ReceiptPrinter):
    """Prints receipts as PNG images of the paper into ``output_dir``.

    Args:
        output_dir: Folder for the PNGs (created if missing).
        paper_width_dots: Image width: 384 (58 mm paper) or 576 (80 mm paper).
        fault: A fault switched on from the start.
        events: Where health changes go.
    """

    backend = "simulated"

    def __init__(
        self,
        output_dir: Path,
        paper_width_dots: int = 384,
        *,
        fault: Fault = "none",
        events: EventQueue | None = None,
    ) -> None:
        super().__init__(paper_width_dots, events)
        self.output_dir = Path(output_dir)
        self._lock = threading.Lock()
        self._fault: Fault = "none"
        self._counter = itertools.count(1)
        #: Every PNG printed so far, oldest first.
        self.printed: list[Path] = []
        self.set_fault(fault)

    @property
    def fault(self) -> Fault:
        """The fault switched on now (``"none"`` when the printer works)."""
        return self._fault

    def set_fault(self, fault: Fault) -> None:
        """Switch a fault on (``"offline"``, ``"paper_out"``) or off (``"none"``)."""
        if fault != "none" and fault not in _FAULT_ERRORS:
            raise ValueError(f"unknown printer fault {fault!r} (known: none, offline, paper_out)")
        self._fault = fault
        if fault == "none":
            self._set_health(HealthStatus.OK)
        else:
            self._set_health(HealthStatus.FAILED, str(_FAULT_ERRORS[fault]))

    def print_receipt(self, receipt: Receipt) -> None:
        """Render ``receipt`` to ``<output_dir>/receipt-<time>-<n>-<reference>.png``."""
        self._check_open()
        with self._lock:
            self._raise_fault()
            # Imported at the first receipt, not at start-up: the renderer pulls in Pillow, segno and
            # python-escpos (whose printer profiles alone take ~0.5 s to load), none of which the welcome
            # screen needs. The kiosk warms it up in the background after its first frame (kiosk.warm_up).
            from hal.printer.receipt_image import render_receipt_image

            image = render_receipt_image(
                layout_receipt(receipt, self.paper_width_dots), self.paper_width_dots
            )
            path = self.output_dir / self._file_name(receipt)
            try:
                self.output_dir.mkdir(parents=True, exist_ok=True)
                image.save(path, format="PNG")
            except OSError as exc:
                error = DeviceError(
                    f"cannot save the simulated receipt in {self.output_dir}: {exc.strerror or exc}"
                )
                self._set_health(HealthStatus.FAILED, str(error))
                raise error from exc
            self.printed.append(path)
            self._set_health(HealthStatus.OK)

    @property
    def last_receipt(self) -> Path | None:
        """The PNG of the last receipt printed, or None."""
        return self.printed[-1] if self.printed else None

    def self_test(self) -> Health:
        """Report the switched-on fault, if any."""
        self._check_open()
        self.set_fault(self._fault)
        return self.health()

    def _raise_fault(self) -> None:
        if self._fault != "none":
            error = _FAULT_ERRORS[self._fault]
            self._set_health(HealthStatus.FAILED, str(error))
            raise type(error)(str(error))

    def _file_name(self, receipt: Receipt) -> str:
        reference = re.sub(r"[^A-Za-z0-9_-]+", "-", receipt.reference).strip("-")[:40] or "receipt"
        stamp = time.strftime("%Y%m%d-%H%M%S")
        return f"receipt-{stamp}-{next(self._counter):04d}-{reference}.png"


def default_output_dir() -> Path:
    """A fresh temporary folder, for a simulated printer that was given none."""
    return Path(tempfile.mkdtemp(prefix="kiosk-receipts-"))
