"""The ESC/POS printer on a serial port and on a USB printer device, against an emulated printer.

The emulator sits on the master side of a pseudo-terminal (``os.openpty``): the printer code opens
the slave side as it would open ``/dev/ttyUSB0`` or ``/dev/usb/lp0``, and the emulator records every
byte and answers the real-time status queries (``DLE EOT n``) with the status bytes a test sets.
"""

from __future__ import annotations

import errno
import os
import select
import threading
import time
import tty

import pytest
from escpos.printer import Dummy

from hal.device import HealthStatus
from hal.errors import DeviceDisconnected, DeviceError, DeviceTimeout
from hal.printer import PaperOut, PrinterOffline, Receipt, open_receipt_printer
from hal.printer.escpos_job import escpos_job
from hal.printer.escpos_printer import EscposPrinter, open_serial_printer, open_usb_printer
from hal.printer.receipt import layout_receipt
from hal.settings import PrinterSettings

DLE_EOT = b"\x10\x04"
ONLINE, OFFLINE = b"\x12", b"\x1a"
PAPER_OK, PAPER_LOW, PAPER_OUT = b"\x12", b"\x1e", b"\x72"
COVER_OPEN, PAPER_END_STOP = b"\x16", b"\x32"
CUT = b"\x1dV\x00"

RECEIPT = Receipt(
    title="Kartu Keluarga",
    reference="BMT-4HQ7-22PX",
    lines=("Layanan: perubahan KK", "Tanggal: 27-11-2026"),
    qr_data="https://dukcapil.example/r/BMT-4HQ7-22PX",
    footer=("Terima kasih",),
)


class PrinterEmulator:
    """An ESC/POS printer at the far end of a pty: records bytes, answers DLE EOT n."""

    def __init__(self) -> None:
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo, no newline translation: a plain 8-bit line
        self.port = os.ttyname(self._slave)
        self.answers: dict[int, bytes] = {1: ONLINE, 2: ONLINE, 4: PAPER_OK}
        self.received = bytearray()
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        pending = b""
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.02)
            if not ready:
                continue
            try:
                data = os.read(self.master, 4096)
            except OSError:
                return
            with self._changed:
                self.received += data
                self._changed.notify_all()
            pending += data
            while (start := pending.find(DLE_EOT)) != -1 and len(pending) > start + 2:
                answer = self.answers.get(pending[start + 2])
                if answer:
                    os.write(self.master, answer)
                pending = pending[start + 3 :]
            pending = pending[-2:]

    def wait_for(self, needle: bytes, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._changed:
            while needle not in self.received:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
            return True

    def take(self) -> bytes:
        with self._changed:
            data = bytes(self.received)
            self.received.clear()
            return data

    def unplug(self) -> None:
        self._stop.set()
        self._thread.join()
        os.close(self.master)

    def close(self) -> None:
        if not self._stop.is_set():
            self.unplug()
        os.close(self._slave)


@pytest.fixture
def emulator():
    emulator = PrinterEmulator()
    yield emulator
    emulator.close()


@pytest.fixture
def serial_printer(emulator, events):
    printer = open_serial_printer(
        PrinterSettings(backend="serial", port=emulator.port), events, status_timeout_s=0.3
    )
    yield printer
    printer.close()


def test_serial_receipt_carries_text_qr_and_cut(emulator, serial_printer):
    assert serial_printer.backend == "serial"
    assert serial_printer.health().status is HealthStatus.OK
    emulator.take()
    serial_printer.print_receipt(RECEIPT)
    assert emulator.wait_for(CUT)
    data = emulator.take()
    assert data.startswith(b"\x10\x04\x01\x10\x04\x04")  # asked: online? paper?
    assert b"Layanan: perubahan KK\n" in data
    assert b"BMT-4HQ7-22PX\n" in data
    assert b"\x1d(k" in data and b"1P0https://dukcapil.example/r/BMT-4HQ7-22PX" in data
    assert data.endswith(CUT)
    # Exactly the job python-escpos composed, in one piece.
    assert escpos_job(layout_receipt(RECEIPT, 384), 384) in data


def test_serial_offline_with_cover_open(emulator, serial_printer):
    emulator.answers.update({1: OFFLINE, 2: COVER_OPEN})
    emulator.take()
    with pytest.raises(PrinterOffline, match="cover is open"):
        serial_printer.print_receipt(RECEIPT)
    assert serial_printer.health().status is HealthStatus.FAILED
    assert serial_printer.health().detail == "the printer's cover is open"
    assert emulator.wait_for(b"\x10\x04\x02")  # it asked why the printer is offline...
    assert b"Kartu" not in emulator.take()  # ...and sent no receipt


def test_serial_paper_out_stops_the_printer(emulator, serial_printer):
    emulator.answers.update({1: OFFLINE, 2: PAPER_END_STOP})
    with pytest.raises(PaperOut, match="out of paper"):
        serial_printer.print_receipt(RECEIPT)
    assert serial_printer.health().detail == "the printer is out of paper"


def test_serial_paper_sensor_says_out(emulator, serial_printer):
    emulator.answers[4] = PAPER_OUT
    with pytest.raises(PaperOut):
        serial_printer.print_receipt(RECEIPT)
    assert serial_printer.self_test().status is HealthStatus.FAILED


def test_serial_paper_low_prints_and_degrades(emulator, serial_printer):
    emulator.answers[4] = PAPER_LOW
    serial_printer.print_receipt(RECEIPT)
    assert emulator.wait_for(CUT)
    assert serial_printer.health().status is HealthStatus.DEGRADED
    assert "paper is running low" in serial_printer.health().detail


def test_serial_recovers_once_the_fault_is_cleared(emulator, serial_printer, events):
    emulator.answers[4] = PAPER_OUT
    assert serial_printer.self_test().status is HealthStatus.FAILED
    emulator.answers[4] = PAPER_OK
    assert serial_printer.self_test().status is HealthStatus.OK
    serial_printer.print_receipt(RECEIPT)
    assert emulator.wait_for(CUT)
    statuses = [e.status for e in events.drain() if type(e).__name__ == "DeviceHealthChanged"]
    assert statuses == ["failed", "ok"]


def test_serial_printer_that_does_not_answer_is_offline(emulator, serial_printer):
    emulator.answers.clear()
    with pytest.raises(DeviceTimeout, match="does not answer"):
        serial_printer.print_receipt(RECEIPT)
    assert serial_printer.health().status is HealthStatus.FAILED


def test_serial_unplugged_printer_is_disconnected(emulator, serial_printer):
    emulator.unplug()
    with pytest.raises(DeviceDisconnected, match="disconnected"):
        serial_printer.print_receipt(RECEIPT)
    assert serial_printer.health().status is HealthStatus.FAILED


def test_missing_serial_port_fails_at_open_with_a_reason(tmp_path, events):
    printer = open_receipt_printer(PrinterSettings(backend="serial", port=str(tmp_path / "ttyUSB9")), events)
    assert printer.health().status is HealthStatus.FAILED
    assert "no printer at" in printer.health().detail
    with pytest.raises(DeviceError):
        printer.print_receipt(RECEIPT)
    printer.close()


def test_usb_printer_prints_and_reads_status(emulator, events):
    printer = open_usb_printer(
        PrinterSettings(backend="usb", usb_device=emulator.port), events, status_timeout_s=0.3
    )
    assert printer.backend == "usb" and printer.health().status is HealthStatus.OK
    printer.print_receipt(RECEIPT)
    assert emulator.wait_for(CUT)
    assert b"1P0https://dukcapil.example/r/BMT-4HQ7-22PX" in emulator.take()
    emulator.answers[4] = PAPER_OUT
    with pytest.raises(PaperOut):
        printer.print_receipt(RECEIPT)
    printer.close()


def test_usb_printer_without_status_still_prints(emulator, events):
    # The USB printer driver reports paper-out and unplugging itself, so silence is no fault.
    emulator.answers.clear()
    printer = open_usb_printer(
        PrinterSettings(backend="usb", usb_device=emulator.port), events, status_timeout_s=0.1
    )
    printer.print_receipt(RECEIPT)
    assert emulator.wait_for(CUT)
    assert printer.health().status is HealthStatus.OK
    printer.close()


def test_auto_picks_the_serial_port_that_exists(emulator, tmp_path, events):
    settings = PrinterSettings(backend="auto", port=emulator.port, usb_device=str(tmp_path / "lp0"))
    printer = open_receipt_printer(settings, events)
    assert printer.backend == "serial"
    printer.close()


# -- the driver's own error reports, through a python-escpos Dummy as the link ----------------------
class FailingLink(Dummy):
    """A link whose writes fail with ``error`` and whose status answers are fixed."""

    def __init__(self, error: OSError | None = None, answer: bytes = ONLINE) -> None:
        super().__init__()
        self.error = error
        self.answer = answer
        self.opened = 0

    def open(self) -> None:
        self.opened += 1

    def drop_input(self) -> None:
        pass

    def query_status(self, mode: bytes) -> bytes:
        return self.answer

    def _raw(self, msg: bytes) -> None:
        if self.error is not None:
            raise self.error
        super()._raw(msg)


def fake_printer(link: FailingLink, **kwargs) -> EscposPrinter:
    return EscposPrinter(lambda: link, backend="usb", where="/dev/usb/lp0", paper_width_dots=384, **kwargs)


@pytest.mark.parametrize(
    ("code", "error", "reason"),
    [
        (errno.ENOSPC, PaperOut, "out of paper"),
        (errno.ENODEV, DeviceDisconnected, "disconnected"),
        (errno.EIO, DeviceDisconnected, "disconnected"),
    ],
)
def test_write_errors_become_plain_device_errors(code, error, reason):
    link = FailingLink(OSError(code, os.strerror(code)))
    printer = fake_printer(link)
    with pytest.raises(error, match=reason):
        printer.print_receipt(RECEIPT)
    assert printer.health().status is HealthStatus.FAILED
    link.error = None
    printer.print_receipt(RECEIPT)  # the link is opened afresh and works again
    assert link.opened == 2
    assert link.output.endswith(CUT)


def test_status_check_can_be_switched_off():
    link = FailingLink(answer=b"")
    printer = fake_printer(link, check_status=False, silence_is_offline=True)
    printer.print_receipt(RECEIPT)
    assert link.output.endswith(CUT)
