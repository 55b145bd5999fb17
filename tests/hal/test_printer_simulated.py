"""The simulated printer: PNGs of the paper, switchable faults, and choosing the backend."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from hal.device import HealthStatus
from hal.errors import DeviceError, DeviceFallbackWarning, DeviceNotFound
from hal.printer import PaperOut, PrinterOffline, Receipt, SimulatedPrinter, open_receipt_printer
from hal.settings import PrinterSettings

RECEIPT = Receipt(
    title="Akta Kematian",
    reference="BMT-8XW2-K3TD",
    lines=("Layanan: akta kematian", "Kecamatan: Nuangan", "", "Bawa surat keterangan kematian asli."),
    qr_data="https://dukcapil.example/r/BMT-8XW2-K3TD",
    footer=("Terima kasih – sampai jumpa",),
)


@pytest.mark.parametrize("width", [384, 576])
def test_receipt_png_has_the_paper_width_and_a_readable_qr(tmp_path, events, width):
    printer = open_receipt_printer(
        PrinterSettings(backend="simulated", paper_width_dots=width), events, output_dir=tmp_path
    )
    printer.print_receipt(RECEIPT)
    path = printer.last_receipt
    assert path is not None and path.parent == tmp_path and path.suffix == ".png"
    assert "BMT-8XW2-K3TD" in path.name
    with Image.open(path) as image:
        assert image.width == width
        assert image.height > 300
        pixels = np.array(image.convert("L"))
    # Text and code are printed: there are burnt dots, and white paper around them.
    assert (pixels == 0).any() and (pixels == 255).mean() > 0.5
    data, points, _ = cv2.QRCodeDetector().detectAndDecode(pixels)
    assert data == RECEIPT.qr_data
    # The code sits in the middle of the paper, below the text.
    centre_x = float(points[0][:, 0].mean())
    assert abs(centre_x - width / 2) < width * 0.1
    printer.close()


def test_without_qr_there_is_no_code(tmp_path):
    printer = SimulatedPrinter(tmp_path)
    printer.print_receipt(Receipt(title="Tes", reference="REF-1", lines=("baris",), qr_data=None))
    pixels = np.array(Image.open(printer.last_receipt).convert("L"))
    assert cv2.QRCodeDetector().detectAndDecode(pixels)[0] == ""
    assert (pixels == 0).any()


def test_every_receipt_gets_its_own_file(tmp_path):
    printer = SimulatedPrinter(tmp_path)
    printer.print_receipt(RECEIPT)
    printer.print_receipt(RECEIPT)
    assert len(set(printer.printed)) == 2
    assert sorted(tmp_path.iterdir()) == sorted(printer.printed)


@pytest.mark.parametrize(
    ("fault", "error", "reason"),
    [("offline", PrinterOffline, "offline"), ("paper_out", PaperOut, "out of paper")],
)
def test_faults_switch_at_runtime(tmp_path, events, fault, error, reason):
    printer = SimulatedPrinter(tmp_path, events=events)
    printer.set_fault(fault)
    assert printer.health().status is HealthStatus.FAILED
    assert reason in printer.health().detail
    with pytest.raises(error, match=reason):
        printer.print_receipt(RECEIPT)
    assert list(tmp_path.iterdir()) == []  # nothing was printed
    printer.set_fault("none")
    assert printer.self_test().status is HealthStatus.OK
    printer.print_receipt(RECEIPT)
    assert printer.last_receipt.exists()
    statuses = [e.status for e in events.drain() if type(e).__name__ == "DeviceHealthChanged"]
    assert statuses == ["failed", "ok"]


def test_fault_from_the_config(tmp_path):
    settings = PrinterSettings(backend="simulated", simulated_fault="paper_out")
    printer = open_receipt_printer(settings, output_dir=tmp_path)
    assert printer.self_test().status is HealthStatus.FAILED
    with pytest.raises(PaperOut):
        printer.print_receipt(RECEIPT)


def test_unknown_fault_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown printer fault"):
        SimulatedPrinter(tmp_path).set_fault("on_fire")


def test_unwritable_folder_is_a_plain_device_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    printer = SimulatedPrinter(blocker / "receipts")
    with pytest.raises(DeviceError, match="cannot save the simulated receipt"):
        printer.print_receipt(RECEIPT)
    assert printer.health().status is HealthStatus.FAILED


def test_output_dir_in_the_config_wins(tmp_path):
    configured = tmp_path / "configured"
    printer = open_receipt_printer(
        PrinterSettings(backend="simulated", output_dir=str(configured)), output_dir=tmp_path / "given"
    )
    printer.print_receipt(RECEIPT)
    assert printer.last_receipt.parent == configured


def test_auto_without_a_printer_falls_back_to_the_simulated_one(tmp_path):
    settings = PrinterSettings(backend="auto", port=str(tmp_path / "ttyS9"), usb_device=str(tmp_path / "lp9"))
    with pytest.warns(DeviceFallbackWarning, match="simulated printer"):
        printer = open_receipt_printer(settings, output_dir=tmp_path)
    assert isinstance(printer, SimulatedPrinter) and printer.backend == "simulated"
    assert printer.kind == "printer"


def test_backend_none_is_not_a_device():
    with pytest.raises(DeviceNotFound, match="switched off"):
        open_receipt_printer(PrinterSettings(backend="none"))


def test_unknown_profile_is_refused():
    with pytest.raises(ValueError, match="unknown printer profile"):
        open_receipt_printer(PrinterSettings(backend="serial", profile="TM-9000"))


def test_closed_printer_refuses_to_print(tmp_path):
    printer = SimulatedPrinter(tmp_path)
    printer.close()
    printer.close()
    with pytest.raises(RuntimeError, match="closed"):
        printer.print_receipt(RECEIPT)
