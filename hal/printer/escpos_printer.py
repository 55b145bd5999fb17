"""An ESC/POS thermal printer on a serial port or a USB printer-class device (``/dev/usb/lp0``).

python-escpos drives the port (``escpos.printer.Serial`` and ``escpos.printer.File``); two small
subclasses adapt it where a kiosk needs more than a point-of-sale script:

- status answers are read as soon as their one byte arrives instead of after a 16-byte read
  timed out, and stale bytes are dropped before each query;
- the serial port gets a write timeout, so a printer that stopped taking data (paper out with
  hardware flow control) fails the receipt instead of hanging the kiosk;
- the USB device is opened read-write so that the printer's status answers can come back.

Before each receipt the printer is asked whether it is online and has paper (``DLE EOT``). Over
serial, silence means the printer is off or unplugged; the USB printer driver reports those itself
when writing, so there silence only means the printer does not do status.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import select
import termios
import threading
from collections.abc import Callable
from typing import Any

from escpos.capabilities import CAPABILITIES
from escpos.exceptions import DeviceNotFoundError
from escpos.printer import File, Serial

from hal.device import Health, HealthStatus
from hal.errors import DeviceDisconnected, DeviceError, DeviceNotFound, DeviceTimeout
from hal.events import EventQueue
from hal.printer.escpos_job import (
    RT_STATUS_OFFLINE_CAUSE,
    RT_STATUS_ONLINE,
    RT_STATUS_PAPER,
    PrinterStatus,
    decode_offline_cause,
    decode_online,
    decode_paper,
    escpos_job,
)
from hal.printer.printer import PaperOut, PrinterOffline, ReceiptPrinter
from hal.printer.receipt import Receipt, layout_receipt
from hal.settings import PrinterSettings

log = logging.getLogger(__name__)

#: How long to wait for the one-byte answer to a status query.
STATUS_TIMEOUT_S = 1.0
#: How long one write to the serial port may take: a receipt with a raster QR code is ~10 kB,
#: about 5 s at 19200 baud.
WRITE_TIMEOUT_S = 15.0

PAPER_LOW = "the paper is running low: put in a new roll soon"


class _SerialLink(Serial):
    """python-escpos's serial printer with a write timeout and prompt status reads."""

    def open(self, raise_not_found: bool = True) -> None:
        super().open(raise_not_found)
        if self._device:
            self._device.write_timeout = WRITE_TIMEOUT_S

    def _read(self) -> bytes:
        # A status answer is one byte; the library's read(16) would always wait out the timeout.
        return self.device.read(1)

    def drop_input(self) -> None:
        """Forget bytes that arrived unasked (late answers, automatic status)."""
        self.device.reset_input_buffer()

    def close(self) -> None:
        # The library flushes (tcdrain) first, which fails or blocks on a vanished or stalled
        # port and then leaves it open; the kernel drains a closing tty by itself.
        device, self._device = self._device, False
        if device:
            device.close()


class _UsbLink(File):
    """python-escpos's file printer, opened read-write so that status answers can be read."""

    def __init__(self, devfile: str, *, read_timeout_s: float, **kwargs: Any) -> None:
        super().__init__(devfile, **kwargs)
        self._read_timeout_s = read_timeout_s

    def open(self, raise_not_found: bool = True) -> None:
        if self._device:
            self.close()
        try:
            self.device = open(self.devfile, "r+b", buffering=0)  # noqa: SIM115 - owned by the link
        except OSError as exc:
            self.device = None
            raise DeviceNotFoundError(f"cannot open {self.devfile}: {exc.strerror or exc}") from exc

    def _raw(self, msg: bytes) -> None:
        view = memoryview(msg)
        while view:
            written = self.device.write(view)
            view = view[written or 0 :]

    def _read(self) -> bytes:
        ready, _, _ = select.select([self.device], [], [], self._read_timeout_s)
        return os.read(self.device.fileno(), 1) if ready else b""

    def drop_input(self) -> None:
        """Forget bytes that arrived unasked."""
        while select.select([self.device], [], [], 0)[0]:
            if not os.read(self.device.fileno(), 64):
                return

    def close(self) -> None:
        device, self._device = self._device, False
        if device:
            device.close()


class EscposPrinter(ReceiptPrinter):
    """A thermal receipt printer spoken to in ESC/POS through python-escpos.

    Args:
        link_factory: Makes a fresh, unopened python-escpos printer (a new one after every failure,
            so that a replugged printer is found again).
        backend: ``"serial"`` or ``"usb"``.
        where: The port or device path, for messages.
        paper_width_dots: Printable width in dots.
        profile: python-escpos printer profile name.
        check_status: Ask for the printer's status before each receipt.
        silence_is_offline: True when no answer to a status query means the printer is off.
        events: Where health changes go.
    """

    def __init__(
        self,
        link_factory: Callable[[], Any],
        *,
        backend: str,
        where: str,
        paper_width_dots: int,
        profile: str = "default",
        check_status: bool = True,
        silence_is_offline: bool = True,
        events: EventQueue | None = None,
    ) -> None:
        super().__init__(paper_width_dots, events)
        self.backend = backend
        self.where = where
        self.profile = profile
        self._link_factory = link_factory
        self._check_status = check_status
        self._silence_is_offline = silence_is_offline
        self._link: Any = None
        self._lock = threading.Lock()
        self.self_test()

    # -- printing -------------------------------------------------------------------------------
    def print_receipt(self, receipt: Receipt) -> None:
        """Check the printer, send the receipt as one job and cut the paper."""
        self._check_open()
        job = escpos_job(layout_receipt(receipt, self.paper_width_dots), self.paper_width_dots, self.profile)
        with self._lock:
            paper = self._guarded(self._ready)
            # One write: python-escpos's documented way of sending a job prepared on a Dummy.
            self._guarded(lambda: self._link._raw(job))
            self._report_paper(paper)

    def self_test(self) -> Health:
        """Open the port and ask the printer for its status (paper sensor included)."""
        self._check_open()
        # On failure _guarded has already set the health, with the reason.
        with self._lock, contextlib.suppress(DeviceError):
            self._report_paper(self._guarded(self._ready))
        return self.health()

    def status(self) -> PrinterStatus:
        """Ask the printer how it is (online, paper, why offline) without printing."""
        self._check_open()
        with self._lock:
            return self._guarded(self._query)

    # -- internals (called with the lock held) ----------------------------------------------------
    def _report_paper(self, paper: str | None) -> None:
        if paper == "low":
            self._set_health(HealthStatus.DEGRADED, PAPER_LOW)
        else:
            self._set_health(HealthStatus.OK)

    def _guarded(self, action: Callable[[], Any]) -> Any:
        """Run ``action`` on the link; on failure drop the link, report FAILED and raise plainly."""
        try:
            if self._link is None:
                self._link = self._open_link()
            return action()
        except Exception as exc:
            error = exc if isinstance(exc, DeviceError) else self._explain(exc)
            self._drop_link()
            self._set_health(HealthStatus.FAILED, str(error))
            if error is exc:
                raise
            raise error from exc

    def _open_link(self) -> Any:
        link = self._link_factory()
        link.open()
        return link

    def _query(self) -> PrinterStatus:
        online = decode_online(self._ask(RT_STATUS_ONLINE))
        if online is None:
            return PrinterStatus(online=None)
        if not online:
            return PrinterStatus(
                online=False, offline_reason=decode_offline_cause(self._ask(RT_STATUS_OFFLINE_CAUSE))
            )
        return PrinterStatus(online=True, paper=decode_paper(self._ask(RT_STATUS_PAPER)))

    def _ask(self, query: bytes) -> bytes:
        self._link.drop_input()
        return self._link.query_status(query)

    def _ready(self) -> str | None:
        """Raise if the printer cannot print now; return the paper state (None when unknown)."""
        if not self._check_status:
            return None
        status = self._query()
        if not status.answered:
            if self._silence_is_offline:
                raise DeviceTimeout(
                    f"the printer on {self.where} does not answer: is it switched on and plugged in?"
                )
            return None
        if not status.online:
            error = PaperOut if "paper" in status.offline_reason else PrinterOffline
            raise error(status.offline_reason)
        if status.paper == "out":
            raise PaperOut("the printer is out of paper")
        return status.paper

    def _explain(self, exc: Exception) -> DeviceError:
        """Turn a port or library error into a DeviceError with a plain reason."""
        import serial

        if isinstance(exc, DeviceNotFoundError):
            return DeviceNotFound(f"no printer at {self.where} ({exc.msg})")
        if isinstance(exc, serial.SerialTimeoutException):
            return DeviceTimeout("the printer stopped taking data: is it out of paper or its cover open?")
        # termios.error (from tcflush on a vanished port) is not an OSError but carries an errno.
        code = exc.args[0] if isinstance(exc, termios.error) and exc.args else getattr(exc, "errno", None)
        if code == errno.ENOSPC:
            return PaperOut("the printer is out of paper")
        if code in (errno.ENODEV, errno.ENXIO, errno.ENOENT, errno.EIO, errno.EPIPE):
            return DeviceDisconnected(f"the printer on {self.where} was disconnected")
        if isinstance(exc, OSError | serial.SerialException | termios.error):
            return DeviceDisconnected(f"the printer on {self.where} failed: {exc}")
        return DeviceError(f"the printer on {self.where} failed: {exc}")

    def _drop_link(self) -> None:
        link, self._link = self._link, None
        if link is not None:
            try:
                link.close()
            except Exception:  # noqa: BLE001 - the link is broken anyway
                log.debug("closing the printer link failed", exc_info=True)

    def _close(self) -> None:
        with self._lock:
            self._drop_link()


def check_profile(profile: str) -> None:
    """Raise ValueError for a python-escpos profile name that does not exist."""
    if profile not in CAPABILITIES["profiles"]:
        known = ", ".join(sorted(CAPABILITIES["profiles"]))
        raise ValueError(f"unknown printer profile {profile!r} (known: {known})")


def open_serial_printer(
    settings: PrinterSettings, events: EventQueue | None = None, *, status_timeout_s: float = STATUS_TIMEOUT_S
) -> EscposPrinter:
    """An ESC/POS printer on the serial port ``settings.port``."""
    check_profile(settings.profile)
    return EscposPrinter(
        lambda: _SerialLink(
            devfile=settings.port,
            baudrate=settings.baudrate,
            timeout=status_timeout_s,
            profile=settings.profile,
        ),
        backend="serial",
        where=settings.port,
        paper_width_dots=settings.paper_width_dots,
        profile=settings.profile,
        check_status=settings.check_status,
        silence_is_offline=True,
        events=events,
    )


def open_usb_printer(
    settings: PrinterSettings, events: EventQueue | None = None, *, status_timeout_s: float = STATUS_TIMEOUT_S
) -> EscposPrinter:
    """An ESC/POS printer on the USB printer-class device ``settings.usb_device``."""
    check_profile(settings.profile)
    return EscposPrinter(
        lambda: _UsbLink(settings.usb_device, read_timeout_s=status_timeout_s, profile=settings.profile),
        backend="usb",
        where=settings.usb_device,
        paper_width_dots=settings.paper_width_dots,
        profile=settings.profile,
        check_status=settings.check_status,
        silence_is_offline=False,
        events=events,
    )
