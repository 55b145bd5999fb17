"""What a receipt may say and how it is laid out, and the ESC/POS job made from it."""

from __future__ import annotations

import pytest

from hal.printer import Receipt
from hal.printer.escpos_job import decode_offline_cause, decode_online, decode_paper, escpos_job
from hal.printer.receipt import MAX_QR_CHARS, Style, columns_for, layout_receipt, printable


def receipt(**changes) -> Receipt:
    fields = {
        "title": "Akta Kelahiran",
        "reference": "BMT-7K2Q-9XF4",
        "lines": ("Tanggal: 27-11-2026",),
        "qr_data": "BMT-7K2Q-9XF4",
        "footer": ("Terima kasih",),
    }
    fields.update(changes)
    return Receipt(**fields)


@pytest.mark.parametrize(
    "changes",
    [
        {"lines": ("NIK 7110011203900001",)},
        {"reference": "7110011203900001"},
        {"qr_data": "https://x/7110011203900001"},
        {"footer": ("KK 7110010101200002",)},
        {"title": "No 71100112039000011"},
        {"lines": ("NIK: 7110 0112 0390 0001",)},
        {"lines": ("KK 7110.0101.2000.0002",)},
    ],
)
def test_a_nik_or_kk_number_never_goes_on_a_receipt(changes):
    with pytest.raises(ValueError, match="16-digit"):
        receipt(**changes)


def test_shorter_numbers_are_fine():
    made = receipt(lines=("Nomor antrean 000123", "Telp 0812-3456-7890", "27-11-2026 10.30"))
    assert made.lines[0] == "Nomor antrean 000123"


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"title": "  "}, ValueError),
        ({"reference": ""}, ValueError),
        ({"qr_data": ""}, ValueError),
        ({"qr_data": "x" * (MAX_QR_CHARS + 1)}, ValueError),
        ({"lines": "one string"}, TypeError),
        ({"lines": ("ok", 3)}, TypeError),
        ({"title": None}, TypeError),
        ({"qr_data": 42}, TypeError),
    ],
)
def test_bad_receipts_are_refused_plainly(changes, error):
    with pytest.raises(error):
        receipt(**changes)


def test_lists_are_kept_as_tuples():
    made = receipt(lines=["a", "b"], footer=["c"])
    assert made.lines == ("a", "b") and made.footer == ("c",)


def test_printable_folds_to_ascii_and_drops_control_characters():
    assert printable("Kartu Keluarga – “baru” é…") == 'Kartu Keluarga - "baru" e...'
    # An ESC in citizen-visible text must not become a printer command.
    assert printable("a\x1b@b\x1dV\x00c\td") == "a@bVc d"


def test_layout_wraps_to_the_paper_width():
    long_line = "Bawa dokumen asli berikut ke loket pelayanan: surat keterangan lahir, KK, KTP"
    layout = layout_receipt(receipt(lines=(long_line, "", "Selesai")), 384)
    assert layout.columns == columns_for(384) == 32
    body = [line for line in layout.head if line.style is Style.BODY]
    assert all(len(line.text) <= 32 for line in body)
    assert " ".join(line.text for line in body if line.text).startswith(long_line)
    assert body[-2].text == "" and body[-1].text == "Selesai"  # the blank line is kept
    titles = [line for line in layout.head if line.style is Style.TITLE]
    assert all(len(line.text) <= 16 for line in titles)  # double width: half the columns
    assert layout_receipt(receipt(), 576).columns == 48


def test_escpos_job_has_the_text_the_qr_and_a_cut():
    job = escpos_job(layout_receipt(receipt(lines=("Layanan: Akta – Kelahiran",)), 384), 384)
    assert job.startswith(b"\x1b@")  # initialise
    assert b"Layanan: Akta - Kelahiran\n" in job
    assert b"BMT-7K2Q-9XF4\n" in job
    assert b"\x1d(k" in job and b"1P0BMT-7K2Q-9XF4" in job and b"1Q0" in job  # store and print QR
    assert job.endswith(b"\x1dV\x00")  # full cut


def test_escpos_job_without_a_qr_code_is_plain_ascii():
    job = escpos_job(layout_receipt(receipt(qr_data=None, lines=("Kecamatan Motongkad – “é”",)), 384), 384)
    assert b"\x1d(k" not in job
    assert max(job) < 0x80  # nothing depends on the printer's code pages
    assert b'Kecamatan Motongkad - "e"' in job
    assert job.endswith(b"\x1dV\x00")


def test_escpos_job_falls_back_to_a_raster_qr_for_printers_without_native_qr():
    job = escpos_job(layout_receipt(receipt(), 384), 384, profile="simple")
    assert b"\x1d(k" not in job
    assert b"\x1dv0" in job  # GS v 0: raster bit image


def test_status_answers_decode():
    assert decode_online(b"") is None
    assert decode_online(b"\x12") is True
    assert decode_online(b"\x1a") is False
    assert decode_paper(b"") is None
    assert decode_paper(b"\x12") == "ok"
    assert decode_paper(b"\x1e") == "low"
    assert decode_paper(b"\x72") == "out"
    assert decode_paper(b"\x7e") == "out"
    assert "paper" in decode_offline_cause(b"\x32")
    assert "cover" in decode_offline_cause(b"\x16")
    assert "error" in decode_offline_cause(b"\x52")
    assert decode_offline_cause(b"\x12") == "the printer is offline"
