"""The ingest protocol's shared pieces: signed delivery receipts and the service's problem documents.

Both ends import this module, so the bytes a receipt is signed over and the shape of a rejection are written
once: the kiosk (:mod:`kiosk.sync`) verifies, the office service (``office/``) signs and rejects.

Delivery receipt (the JSON body of a 201 or 200 answer to ``POST /v1/records``)::

    {"record_id": "<uuid>", "kiosk_id": "BMT-MODAYAG-01", "sha256": "<64 hex>",
     "receipt_id": "<uuid>", "received_at": "2026-12-02T09:12:03.120Z", "signature": "<base64 Ed25519>"}

``signature`` is the office service's Ed25519 signature (its acknowledgement key, which every kiosk pins as
``[server] ack_verify_key``) over :func:`receipt_signing_bytes`: the other five fields as canonical JSON (keys
sorted, no whitespace, UTF-8) behind a domain tag, so a receipt signature can never be replayed as the
signature of a USB acknowledgement file or anything else the same key signs. Only a receipt that verifies and
names the record, kiosk and hash the kiosk sent lets the kiosk drop its sealed copy.

Problem document (RFC 9457, ``Content-Type: application/problem+json``) for every rejection the service
itself makes::

    {"type": "urn:dukcapil:problem:too-large", "title": "Record too large", "status": 413,
     "detail": "...", "record_id": "<uuid or null>", "permanent": true}

A 4xx answer without such a body (a proxy's, a captive portal's) is not the service's word and is never taken
as a permanent rejection.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Final

import nacl.exceptions
import nacl.signing

#: Headers of ``POST /v1/records``.
IDEMPOTENCY_KEY: Final = "Idempotency-Key"
KIOSK_ID: Final = "X-Kiosk-Id"
RECORD_SHA256: Final = "X-Record-SHA256"

PROBLEM_CONTENT_TYPE: Final = "application/problem+json"
PROBLEM_TYPE_PREFIX: Final = "urn:dukcapil:problem:"

#: Prefixed to the canonical receipt bytes before signing: a receipt signature means nothing else.
_RECEIPT_DOMAIN: Final = b"dukcapil-delivery-receipt-v1\n"
_RECEIPT_FIELDS: Final = ("record_id", "kiosk_id", "sha256", "receipt_id", "received_at")
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
_RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$")


class ReceiptError(ValueError):
    """A receipt that does not prove delivery: malformed, for another record, or not signed by the service."""


@dataclass(frozen=True)
class DeliveryReceipt:
    """The office service's signed word that it stored a record (see the module docstring)."""

    record_id: str
    kiosk_id: str
    sha256: str
    receipt_id: str
    received_at: str
    signature: str

    def to_json(self) -> str:
        """The receipt as the compact JSON text the service answers and the kiosk keeps."""
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))


def receipt_signing_bytes(
    record_id: str, kiosk_id: str, sha256: str, receipt_id: str, received_at: str
) -> bytes:
    """The exact bytes a receipt's signature covers."""
    fields = dict(zip(_RECEIPT_FIELDS, (record_id, kiosk_id, sha256, receipt_id, received_at), strict=True))
    return _RECEIPT_DOMAIN + json.dumps(fields, sort_keys=True, separators=(",", ":")).encode("utf-8")


def sign_receipt(
    signing_key: nacl.signing.SigningKey,
    *,
    record_id: str,
    kiosk_id: str,
    sha256: str,
    received_at: str,
    receipt_id: str | None = None,
) -> DeliveryReceipt:
    """Sign a receipt for a stored record (service side); a fresh ``receipt_id`` unless one is given."""
    receipt_id = receipt_id or str(uuid.uuid4())
    message = receipt_signing_bytes(record_id, kiosk_id, sha256, receipt_id, received_at)
    signature = base64.b64encode(signing_key.sign(message).signature).decode("ascii")
    return DeliveryReceipt(record_id, kiosk_id, sha256, receipt_id, received_at, signature)


def verify_receipt(
    body: bytes | str | Mapping[str, object],
    verify_key: nacl.signing.VerifyKey,
    *,
    record_id: str,
    kiosk_id: str,
    sha256: str,
) -> DeliveryReceipt:
    """Check that ``body`` is the service's signed receipt for exactly this record (kiosk side).

    Raises:
        ReceiptError: not JSON, a field missing or malformed, another record, kiosk or hash, or a signature
            that is not the service's; the message says which, in words a technician can act on.
    """
    fields = _receipt_fields(body)
    receipt = DeliveryReceipt(**fields)
    expected = {"record_id": record_id, "kiosk_id": kiosk_id, "sha256": sha256}
    for name, value in expected.items():
        if getattr(receipt, name) != value:
            raise ReceiptError(f"the receipt names {name} {getattr(receipt, name)!r}, not {value!r}")
    try:
        signature = base64.b64decode(receipt.signature, validate=True)
        verify_key.verify(
            receipt_signing_bytes(record_id, kiosk_id, sha256, receipt.receipt_id, receipt.received_at),
            signature,
        )
    except (binascii.Error, ValueError, nacl.exceptions.BadSignatureError):
        raise ReceiptError("the receipt is not signed by the office service's acknowledgement key") from None
    return receipt


def _receipt_fields(body: bytes | str | Mapping[str, object]) -> dict[str, str]:
    if isinstance(body, Mapping):
        data: object = dict(body)
    else:
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise ReceiptError("the answer is not a JSON receipt") from None
    if not isinstance(data, dict):
        raise ReceiptError("the answer is not a JSON receipt")
    names = (*_RECEIPT_FIELDS, "signature")
    missing = [name for name in names if not isinstance(data.get(name), str)]
    if missing:
        raise ReceiptError(f"the receipt lacks {', '.join(missing)}")
    fields = {name: str(data[name]) for name in names}
    if not _SHA256_HEX.match(fields["sha256"]):
        raise ReceiptError("the receipt's sha256 is not 64 hex digits")
    if not _RFC3339_UTC.match(fields["received_at"]):
        raise ReceiptError("the receipt's received_at is not an RFC 3339 UTC time")
    return fields


@dataclass(frozen=True)
class Problem:
    """A rejection in the service's own words (RFC 9457 problem details)."""

    status: int
    kind: str
    title: str
    detail: str
    record_id: str | None = None
    permanent: bool = False

    @property
    def type(self) -> str:
        """The problem type URI, e.g. ``urn:dukcapil:problem:too-large``."""
        return PROBLEM_TYPE_PREFIX + self.kind

    def to_json(self) -> bytes:
        """The body to send with ``Content-Type: application/problem+json``."""
        body = {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "record_id": self.record_id,
            "permanent": self.permanent,
        }
        return json.dumps(body, separators=(",", ":")).encode("utf-8")


def parse_problem(content_type: str | None, body: bytes, *, status: int) -> Problem | None:
    """The service's problem document in an answer, or None when the answer is not one.

    Only a body with the problem content type, this protocol's type prefix and the answer's own status counts:
    a proxy's or captive portal's 400 is not mistaken for the service rejecting a record.
    """
    if (content_type or "").split(";")[0].strip().lower() != PROBLEM_CONTENT_TYPE:
        return None
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    kind = data.get("type")
    if not isinstance(kind, str) or not kind.startswith(PROBLEM_TYPE_PREFIX) or data.get("status") != status:
        return None
    record_id = data.get("record_id")
    return Problem(
        status=status,
        kind=kind.removeprefix(PROBLEM_TYPE_PREFIX),
        title=str(data.get("title", "")),
        detail=str(data.get("detail", "")),
        record_id=record_id if isinstance(record_id, str) else None,
        permanent=data.get("permanent") is True,
    )


def parse_idempotency_key(value: str | None) -> str | None:
    """The record uuid in an ``Idempotency-Key: "<uuid>"`` header (a structured-field string), else None."""
    if not value or len(value) != 38 or value[0] != '"' or value[-1] != '"':
        return None
    inner = value[1:-1]
    try:
        return inner if str(uuid.UUID(inner)) == inner else None
    except ValueError:
        return None
