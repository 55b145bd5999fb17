"""A stolen SD card leaks nothing: no personal data in plaintext in any file under the data directory.

A record with a known NIK, name, photo and signature goes through everything the kiosk does with it (keys,
sealing, enqueue, a failed send, a retry, a USB export, a checkpoint), then every file under the data
directory (database, -wal, -shm, keys, bundle, SQLite temp files) is scanned for the personal data as UTF-8,
UTF-16 LE and UTF-16 BE, and for the raw photo and signature bytes.
"""

from __future__ import annotations

import base64
import logging
import os
from pathlib import Path

import pytest

from kiosk.outbox import Outbox
from kiosk.records import Consent, PenPoint, Record, SignatureCapture
from kiosk.sealing import KioskIdentity, generate_server_keypair, seal_record
from kiosk.usb_export import export_bundle

NIK = "7110014507900003"
NAME = "Siti Nurhaliza Mokoginta"
ADDRESS = "Jl. Trans Sulawesi No. 17, Desa Moyongkota"


def needles(photo: bytes, signature_png: bytes) -> dict[str, bytes]:
    found = {}
    for label, text in (("NIK", NIK), ("name", NAME), ("address", ADDRESS)):
        for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
            found[f"{label} ({encoding})"] = text.encode(encoding)
    found["photo bytes"] = photo[100:164]
    found["photo base64"] = base64.b64encode(photo[99:147])
    found["signature PNG bytes"] = signature_png[100:164]
    return found


def test_no_personal_data_in_any_file(tmp_path: Path, monkeypatch, caplog) -> None:
    data_dir = tmp_path / "data"
    # SQLite's own temp files go to TMPDIR: point it into the data directory so they are scanned too.
    sqlite_tmp = data_dir / "tmp"
    sqlite_tmp.mkdir(parents=True)
    monkeypatch.setenv("SQLITE_TMPDIR", str(sqlite_tmp))
    monkeypatch.setenv("TMPDIR", str(sqlite_tmp))
    photo = os.urandom(200_000)
    signature_png = os.urandom(5_000)
    record = Record.new(
        kiosk_id="BMT-MODAYAG-01",
        service="ktp-baru",
        language="id",
        fields={"nik": NIK, "nama_lengkap": NAME, "alamat": ADDRESS},
        photo_jpeg=photo,
        photo_note=None,
        signature=SignatureCapture(
            samples=tuple(PenPoint(i / 100, 100 + i, 200 - i, i % 5 != 0, 512) for i in range(300)),
            width=640,
            height=240,
            png=signature_png,
            source="pad",
        ),
        consent=Consent(True, "2024-01", "2024-05-01T03:04:05Z"),
        software_version="0.1.0",
    )
    server_public, _ = generate_server_keypair()
    usb = data_dir / "usb"
    usb.mkdir()

    with caplog.at_level(logging.DEBUG):
        identity = KioskIdentity.load_or_create(data_dir / "keys")
        sealed = seal_record(record, identity, server_public)
        outbox = Outbox(data_dir / "outbox.sqlite3")
        outbox.enqueue(sealed)
        item = outbox.claim_next()
        outbox.mark_retry(item.record_id, "connection refused", 0.0)
        export_bundle(outbox, identity, usb, kiosk_id="BMT-MODAYAG-01")
        # Leave the WAL in place for the scan (a power cut before any checkpoint), then check the file after
        # a checkpoint too.
        wal_snapshot = Path(f"{outbox.path}-wal").read_bytes()
        outbox.checkpoint()
        outbox.close()
        del record

    files = [path for path in data_dir.rglob("*") if path.is_file()]
    names = {path.name for path in files}
    assert {"outbox.sqlite3", "kiosk.key", "kiosk.pub"} <= names
    assert any(name.endswith(".bundle.tar") for name in names)
    contents = {str(path): path.read_bytes() for path in files}
    contents["outbox.sqlite3-wal before checkpoint"] = wal_snapshot
    assert len(wal_snapshot) > 200_000  # the sealed record really went through the WAL
    leaks = [
        f"{what} in {where}"
        for where, content in contents.items()
        for what, needle in needles(photo, signature_png).items()
        if needle in content
    ]
    assert leaks == []
    log_text = caplog.text
    assert NIK not in log_text and NAME not in log_text


def test_scanner_finds_plaintext_when_it_is_there(tmp_path: Path) -> None:
    """The scan itself works: the same needles are found in a file that does hold them."""
    photo, png = os.urandom(1000), os.urandom(1000)
    leaked = tmp_path / "leak.bin"
    leaked.write_bytes(b"xx" + NAME.encode("utf-16-be") + b"yy" + photo)
    found = {what for what, needle in needles(photo, png).items() if needle in leaked.read_bytes()}
    assert found == {"name (utf-16-be)", "photo bytes"}


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16-le", "utf-16-be"])
def test_scanner_finds_the_nik_in_every_encoding(encoding: str) -> None:
    content = b"\x00" * 10 + NIK.encode(encoding) + b"\x00" * 10
    assert any(
        needle in content for what, needle in needles(b"\x00" * 200, b"\x00" * 200).items() if "NIK" in what
    )
