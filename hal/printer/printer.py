"""The receipt printer's interface and the errors it raises."""

from __future__ import annotations

import abc

from hal.device import Device
from hal.errors import DeviceDisconnected, DeviceError
from hal.events import EventQueue
from hal.printer.receipt import Receipt, columns_for


class PrinterOffline(DeviceDisconnected):
    """The printer is switched off, unplugged, its cover is open or it reports an error."""


class PaperOut(DeviceError, OSError):
    """The printer has no paper."""


class ReceiptPrinter(Device, abc.ABC):
    """A printer of receipts on thermal paper.

    Subclasses implement :meth:`print_receipt` and :meth:`self_test`; both report a failure as a
    :class:`~hal.errors.DeviceError` subclass with a plain reason and set the health to FAILED.

    Args:
        paper_width_dots: Printable width: 384 (58 mm paper) or 576 (80 mm paper).
        events: Where health changes go.
    """

    kind = "printer"

    def __init__(self, paper_width_dots: int, events: EventQueue | None = None) -> None:
        super().__init__(events)
        self.paper_width_dots = paper_width_dots

    @property
    def columns(self) -> int:
        """Characters per line at normal size."""
        return columns_for(self.paper_width_dots)

    @abc.abstractmethod
    def print_receipt(self, receipt: Receipt) -> None:
        """Print ``receipt`` and cut the paper.

        Raises:
            PaperOut: No paper.
            PrinterOffline: The printer is off, open or in error.
            DeviceError: Any other failure, with a plain reason.
        """
