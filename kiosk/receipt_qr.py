"""The receipt's QR code: a claim signed by the kiosk that the counter checks even before the record arrives.

The kiosk prints (and shows) a QR code carrying the record id (from which the reference code follows, see
:func:`kiosk.reference.reference_for`), the SHA-256 of the sealed blob (the ``X-Record-SHA256`` the kiosk
sends and the office stores; it names exactly one sealed body without opening it), the capture time, the
kiosk id, and the kiosk's Ed25519 signature over all of them. At the counter, a USB scanner types the payload;
the office checks the signature against the kiosk's enrolled verify key, so it can tell a genuine receipt
whose record is still on an offline kiosk from a forged one (bad signature, unknown kiosk, edited hash)::

    payload = encode_receipt_qr(sealed, identity)          # kiosk, right after the commit
    claim = parse_receipt_qr(payload)                      # office: ReceiptQrError on garbage
    verify_receipt_qr(claim, enrolled_verify_key_b64)      # office: ReceiptQrError on a forgery

Layout, chosen for a keyboard-wedge scanner and a small printed code: ``"DK1"`` then the RFC 4648 base32 (no
padding) of ``record_id[16] || sha256[32] || captured_at[u32 BE] || len(kiosk_id)[1] || kiosk_id ||
signature[64]``. Base32 uses only capital letters and digits: every character is in the QR alphanumeric mode
(5.5 bits a character), and a scanner emulating any keyboard layout types it the same (no ``:``, ``/`` or
``%`` whose key moves between layouts); decoding ignores case, so a Caps Lock left on changes nothing. With a
14-character kiosk id the payload is 213 characters: segno picks version 8 at error correction M (49 x 49
modules), which :func:`hal.printer.escpos_job.qr_module_dots` prints at 4 dots a module on a 58 mm roll
(384 dots: 196 dots, about 25 mm wide); the longest kiosk id (64) gives 293 characters, version 10, still
under the receipt's 300-character limit (a test measures both).

The signature is over ``QR_SIGNATURE_CONTEXT || everything before the signature``; the context keeps it from
being taken for a record, bundle or heartbeat signature made with the same key.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import re
import struct
import uuid
from dataclasses import dataclass

from kiosk.reference import reference_for
from kiosk.sealing import KioskIdentity, SealedRecord, SealError, verify_detached

#: First characters of every receipt payload; names the layout.
PREFIX = "DK1"
#: Prefix of what the kiosk signs for a receipt QR code.
QR_SIGNATURE_CONTEXT = b"dukcapil-kiosk receipt qr v1\x00"
_SIGNATURE_SIZE = 64
_FIXED = struct.Struct(">16s32sI")
_KIOSK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class ReceiptQrError(ValueError):
    """A scanned payload that is not a genuine receipt; the message is a plain sentence for the officer."""


@dataclass(frozen=True)
class ReceiptClaim:
    """What a receipt QR code says: this kiosk captured this record (this sealed body) at this time."""

    record_id: str
    #: Hex SHA-256 of the sealed blob (``X-Record-SHA256``).
    body_sha256: str
    kiosk_id: str
    #: Capture time, whole seconds since the epoch (the record's ``created_at``, truncated).
    captured_at: int
    signature: bytes

    @property
    def reference(self) -> str:
        """The receipt's reference code (derived from the record id)."""
        return reference_for(self.record_id)

    @property
    def captured_at_utc(self) -> datetime.datetime:
        """The capture time as an aware UTC datetime."""
        return datetime.datetime.fromtimestamp(self.captured_at, tz=datetime.UTC)

    def signed_bytes(self) -> bytes:
        """The bytes the kiosk signs: the context string and every field before the signature."""
        return QR_SIGNATURE_CONTEXT + _body(self.record_id, self.body_sha256, self.captured_at, self.kiosk_id)


def _body(record_id: str, body_sha256: str, captured_at: int, kiosk_id: str) -> bytes:
    kiosk = kiosk_id.encode("ascii")
    fixed = _FIXED.pack(uuid.UUID(record_id).bytes, bytes.fromhex(body_sha256), captured_at)
    return fixed + bytes([len(kiosk)]) + kiosk


def _epoch_seconds(rfc3339: str) -> int:
    return int(datetime.datetime.fromisoformat(rfc3339).timestamp())


def encode_receipt_qr(sealed: SealedRecord, identity: KioskIdentity) -> str:
    """The QR payload for a sealed record, signed with the kiosk's key (kiosk side, after the commit).

    Raises:
        ValueError: the sealed record's id, hash, time or kiosk id is malformed.
    """
    if not _KIOSK_ID.match(sealed.kiosk_id):
        raise ValueError(f"kiosk id {sealed.kiosk_id!r} is not valid")
    captured_at = _epoch_seconds(sealed.created_at)
    body = _body(sealed.record_id, sealed.sha256, captured_at, sealed.kiosk_id)
    signature = identity.sign(QR_SIGNATURE_CONTEXT + body)
    return PREFIX + base64.b32encode(body + signature).decode("ascii").rstrip("=")


def looks_like_receipt_qr(text: str) -> bool:
    """Whether ``text`` is meant as a receipt payload (as opposed to a typed reference code)."""
    return isinstance(text, str) and text.strip().upper().startswith(PREFIX) and len(text.strip()) > 40


def parse_receipt_qr(text: str) -> ReceiptClaim:
    """The claim a scanned payload makes, not yet verified (see :func:`verify_receipt_qr`).

    Raises:
        ReceiptQrError: not a receipt payload, or damaged (the sentence says so).
    """
    compact = "".join(str(text).split()).upper()
    if not compact.startswith(PREFIX):
        raise ReceiptQrError("This is not a receipt code from a Dukcapil kiosk.")
    encoded = compact[len(PREFIX) :]
    try:
        raw = base64.b32decode(encoded + "=" * (-len(encoded) % 8))
    except (binascii.Error, ValueError):
        raise ReceiptQrError(
            "The receipt code is damaged: scan it again or type the reference code."
        ) from None
    minimum = _FIXED.size + 1 + 1 + _SIGNATURE_SIZE
    if len(raw) < minimum or len(raw) != _FIXED.size + 1 + raw[_FIXED.size] + _SIGNATURE_SIZE:
        raise ReceiptQrError("The receipt code is incomplete: scan it again or type the reference code.")
    record_bytes, digest, captured_at = _FIXED.unpack_from(raw)
    kiosk_end = _FIXED.size + 1 + raw[_FIXED.size]
    try:
        kiosk_id = raw[_FIXED.size + 1 : kiosk_end].decode("ascii")
    except UnicodeDecodeError:
        kiosk_id = ""
    record_id = str(uuid.UUID(bytes=record_bytes))
    if not _KIOSK_ID.match(kiosk_id) or uuid.UUID(record_id).version != 4:
        raise ReceiptQrError("The receipt code is not valid: it was not made by a Dukcapil kiosk.")
    return ReceiptClaim(
        record_id=record_id,
        body_sha256=digest.hex(),
        kiosk_id=kiosk_id,
        captured_at=captured_at,
        signature=raw[kiosk_end:],
    )


def verify_receipt_qr(claim: ReceiptClaim, verify_key_b64: str) -> None:
    """Check the claim's signature against the kiosk's enrolled verify key (office side).

    Raises:
        ReceiptQrError: the signature does not match: the code was forged or edited.
    """
    try:
        verify_detached(claim.signed_bytes(), claim.signature, verify_key_b64)
    except SealError:
        raise ReceiptQrError(
            f"This receipt was not signed by kiosk {claim.kiosk_id}: it is forged or was altered. "
            "Do not accept it; ask the citizen for their reference code."
        ) from None
