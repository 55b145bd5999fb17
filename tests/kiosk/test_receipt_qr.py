"""The receipt QR code: signed on the kiosk, parsed and verified at the counter, small enough to print."""

from __future__ import annotations

import base64
import io
import uuid

import cv2
import numpy
import pytest
import segno
from PIL import Image

from hal.printer.escpos_job import qr_module_dots
from hal.printer.receipt import MAX_QR_CHARS
from kiosk.receipt_qr import (
    PREFIX,
    ReceiptQrError,
    encode_receipt_qr,
    looks_like_receipt_qr,
    parse_receipt_qr,
    verify_receipt_qr,
)
from kiosk.records import Consent, Record
from kiosk.reference import reference_for
from kiosk.sealing import KioskIdentity, generate_server_keypair, seal_record

KIOSK = "BMT-MODAYAG-01"


@pytest.fixture(scope="module")
def identity(tmp_path_factory) -> KioskIdentity:
    return KioskIdentity.load_or_create(tmp_path_factory.mktemp("kiosk") / "keys")


def sealed(kiosk_id: str = KIOSK, identity_: KioskIdentity | None = None, at: float = 1_765_012_320.5):
    record = Record.new(
        kiosk_id=kiosk_id,
        service="ektp",
        language="id",
        fields={"nik": "7110045708900001"},
        photo_jpeg=None,
        photo_note="taken_at_counter",
        signature=None,
        consent=Consent(given=True, text_version="2024-1", at="2025-12-06T09:12:00Z"),
        software_version="test",
        clock=lambda: at,
    )
    return seal_record(record, identity_, generate_server_keypair()[0])


def reencode(raw: bytes) -> str:
    return PREFIX + base64.b32encode(raw).decode().rstrip("=")


def raw_of(payload: str) -> bytearray:
    body = payload[len(PREFIX) :]
    return bytearray(base64.b32decode(body + "=" * (-len(body) % 8)))


def test_round_trip_names_the_record_its_body_and_its_kiosk(identity):
    record = sealed(identity_=identity)
    payload = encode_receipt_qr(record, identity)
    claim = parse_receipt_qr(payload)
    verify_receipt_qr(claim, identity.verify_key_b64)
    assert claim.record_id == record.record_id and claim.body_sha256 == record.sha256
    assert claim.kiosk_id == KIOSK and claim.reference == reference_for(record.record_id)
    assert claim.captured_at == 1_765_012_320
    assert claim.captured_at_utc.isoformat() == "2025-12-06T09:12:00+00:00"
    assert looks_like_receipt_qr(payload) and not looks_like_receipt_qr(claim.reference)
    # Only capital letters and digits: the QR alphanumeric mode, and the same keys on every keyboard layout.
    assert payload.isalnum() and payload == payload.upper()


def test_scanner_quirks_are_forgiven(identity):
    payload = encode_receipt_qr(sealed(identity_=identity), identity)
    claim = parse_receipt_qr(f"  {payload.lower()[:50]} {payload.lower()[50:]}\n")
    verify_receipt_qr(claim, identity.verify_key_b64)


def test_another_kiosk_key_is_refused(identity, tmp_path):
    other = KioskIdentity.load_or_create(tmp_path / "other")
    payload = encode_receipt_qr(sealed(identity_=other), other)
    with pytest.raises(ReceiptQrError, match=f"not signed by kiosk {KIOSK}.*forged"):
        verify_receipt_qr(parse_receipt_qr(payload), identity.verify_key_b64)


@pytest.mark.parametrize("offset", [0, 16, 40, 48, 53, 60])
def test_any_edited_byte_breaks_the_signature(identity, offset):
    """Record id, body hash, time, kiosk id: each is covered by the signature."""
    raw = raw_of(encode_receipt_qr(sealed(identity_=identity), identity))
    raw[offset] ^= 0x01
    try:
        claim = parse_receipt_qr(reencode(bytes(raw)))
    except ReceiptQrError:
        return  # an edit that makes the payload malformed is refused even earlier
    with pytest.raises(ReceiptQrError, match="forged or was altered"):
        verify_receipt_qr(claim, identity.verify_key_b64)


@pytest.mark.parametrize(
    "text, sentence",
    [
        ("7KQ2-M9XD-4RA", "not a receipt code"),
        ("https://example.com/", "not a receipt code"),
        (PREFIX + "0189", "damaged"),
        (PREFIX + "AAAA", "incomplete"),
        ("", "not a receipt code"),
    ],
)
def test_garbage_gets_a_plain_sentence(text, sentence):
    with pytest.raises(ReceiptQrError, match=sentence):
        parse_receipt_qr(text)


def test_truncated_and_padded_payloads_are_refused(identity):
    payload = encode_receipt_qr(sealed(identity_=identity), identity)
    raw = raw_of(payload)
    for broken in (bytes(raw[:-1]), bytes(raw) + b"\x00"):
        with pytest.raises(ReceiptQrError, match="incomplete"):
            parse_receipt_qr(reencode(broken))


def test_a_record_id_that_is_not_a_uuid4_is_refused(identity):
    raw = raw_of(encode_receipt_qr(sealed(identity_=identity), identity))
    raw[0:16] = uuid.UUID(int=5).bytes
    with pytest.raises(ReceiptQrError, match="not made by a Dukcapil kiosk"):
        parse_receipt_qr(reencode(bytes(raw)))


def test_printable_size_measured(identity):
    """Version 8 at error correction M for a usual kiosk id, 4 dots a module on a 58 mm roll; the longest
    kiosk id still fits the receipt's QR limit."""
    usual = encode_receipt_qr(sealed(identity_=identity), identity)
    code = segno.make(usual, error="m", micro=False)
    assert len(usual) == 213 and code.version == 8 and code.mode == "alphanumeric"
    assert qr_module_dots(usual, 384) == 4
    longest = encode_receipt_qr(sealed("K" * 64, identity), identity)
    assert len(longest) <= MAX_QR_CHARS
    assert segno.make(longest, error="m", micro=False).version <= 10


def test_the_printed_code_scans_back(identity):
    """What the printer's segno rendering encodes, OpenCV's detector reads back and verifies."""
    payload = encode_receipt_qr(sealed(identity_=identity), identity)
    png = io.BytesIO()
    segno.make(payload, error="m", micro=False).save(png, kind="png", scale=4, border=4)
    image = numpy.asarray(Image.open(io.BytesIO(png.getvalue())).convert("L"))
    decoded, _points, _ = cv2.QRCodeDetector().detectAndDecode(image)
    assert decoded == payload
    verify_receipt_qr(parse_receipt_qr(decoded), identity.verify_key_b64)
