"""The receipt printer's interface and the errors it raises."""

from __future__ import annotations

import abc

from hal.device import Device, Health, HealthStatus
from hal.errors import DeviceDisconnected, DeviceError, DeviceNotFound
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


class SwitchedOffPrinter(ReceiptPrinter):
    """No printer: switched off (backend ``none``) or not openable; the receipt is shown on screen instead.

    Args:
        events: Where its health goes (None for a printer switched off: that is not news).
        reason: Why there is no printer, in plain words.
        backend: The configured backend (``"none"`` when switched off).
    """

    def __init__(
        self,
        events: EventQueue | None = None,
        *,
        reason: str = "the receipt printer is switched off in the settings",
        backend: str = "none",
    ) -> None:
        super().__init__(384, events)
        self.backend = backend
        self._reason = reason
        self._set_health(HealthStatus.FAILED, reason)

    def print_receipt(self, receipt: Receipt) -> None:
        """There is no printer to print on.

        Raises:
            DeviceNotFound: Always, with the reason.
        """
        self._check_open()
        raise DeviceNotFound(self._reason)

    def self_test(self) -> Health:
        """Nothing to exercise: report why there is no printer."""
        self._check_open()
        return self.health()
