"""Checking, opening and storing one sealed record: the HTTP endpoint and the USB bundle import share it.

Every rejection is the service's own problem document (:class:`kiosk.protocol.Problem`) naming the record:
the kiosk dead-letters a record only on that word of the service's.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import logging
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path

from kiosk.protocol import PROBLEM_CONTENT_TYPE, Problem
from kiosk.records import Record
from kiosk.reference import reference_for
from kiosk.sealing import BoxUnreadable, SealError, SignatureMismatch, open_sealed_record
from kiosk.usb_export import read_bundle, write_ack
from office.store import KeyConflict, KioskRow, NewRecord, Store

log = logging.getLogger(__name__)

#: Problem type and title per status (``urn:dukcapil:problem:<kind>``).
PROBLEM_KINDS = {
    400: ("malformed", "Malformed request"),
    401: ("unauthorized", "Unknown kiosk"),
    403: ("forbidden", "Kiosk not allowed"),
    404: ("not-found", "No such resource"),
    408: ("timeout", "Request took too long"),
    411: ("length-required", "Content-Length required"),
    413: ("too-large", "Record too large"),
    422: ("key-reused", "Record rejected"),
    429: ("rate-limited", "Too many requests"),
    503: ("busy", "Service busy"),
}
KEY_REUSED = "this Idempotency-Key was used for another record"


@dataclass(frozen=True)
class Answer:
    """The service's answer: HTTP status, body and its content type."""

    status: int
    body: str
    content_type: str = "application/json"
    detail: str = ""

    @classmethod
    def error(
        cls, status: int, message: str, *, record_id: str | None = None, permanent: bool = False
    ) -> Answer:
        """A rejection as the service's problem document (RFC 9457)."""
        kind, title = PROBLEM_KINDS.get(status, ("error", "Request refused"))
        problem = Problem(status, kind, title, message, record_id=record_id, permanent=permanent)
        return cls(status, problem.to_json().decode(), PROBLEM_CONTENT_TYPE, message)

    @property
    def accepted(self) -> bool:
        """True for 200 and 201: the record is at the service."""
        return self.status in (HTTPStatus.OK, HTTPStatus.CREATED)


def ingest_record(
    store: Store, kiosk: KioskRow, record_id: str, sha256: str, blob: bytes, source: str
) -> Answer:
    """Check, open and store one sealed record of an authenticated kiosk; the answer to send.

    Args:
        store: the database (with the server keys).
        kiosk: the kiosk the record comes from (authenticated by its token, or the bundle's signature).
        record_id: the Idempotency-Key (a uuid).
        sha256: the hex SHA-256 the kiosk gave for the body.
        blob: the sealed record.
        source: ``"http"`` or ``"usb"``.
    """
    rejected = {"record_id": record_id, "permanent": True}
    if hashlib.sha256(blob).hexdigest() != sha256:
        return Answer.error(HTTPStatus.BAD_REQUEST, "X-Record-SHA256 does not match the body", **rejected)
    existing = store.find(record_id, kiosk.kiosk_id)
    if existing is not None:
        # The fast path for a retry after a lost answer: no need to open the box again.
        if existing.body_sha256 == sha256:
            return Answer(HTTPStatus.OK, existing.receipt)
        return Answer.error(HTTPStatus.UNPROCESSABLE_ENTITY, KEY_REUSED, **rejected)
    try:
        record, verify_key = _open(store, kiosk, blob)
    except BoxUnreadable as exc:
        return Answer.error(HTTPStatus.BAD_REQUEST, f"not a record sealed to this server: {exc}", **rejected)
    except SealError as exc:
        return Answer.error(HTTPStatus.UNPROCESSABLE_ENTITY, f"record rejected: {exc}", **rejected)
    if record.record_id != record_id:
        return Answer.error(
            HTTPStatus.UNPROCESSABLE_ENTITY, "the sealed record's id is not the Idempotency-Key", **rejected
        )
    if record.kiosk_id != kiosk.kiosk_id:
        return Answer.error(
            HTTPStatus.UNPROCESSABLE_ENTITY, "the sealed record belongs to another kiosk", **rejected
        )
    nik = record.fields.get("nik")
    new = NewRecord(
        kiosk_id=kiosk.kiosk_id,
        record_id=record_id,
        sha256=sha256,
        sealed=blob,
        reference_code=reference_for(record_id),
        service=record.service,
        captured_at=datetime.datetime.fromisoformat(record.created_at),
        nik_hmac=store.keys.nik_hmac(nik) if nik else None,
        source=source,
        verify_key=verify_key,
    )
    try:
        row, created = store.store_record(new)
    except KeyConflict:
        return Answer.error(HTTPStatus.UNPROCESSABLE_ENTITY, KEY_REUSED, **rejected)
    return Answer(HTTPStatus.CREATED if created else HTTPStatus.OK, row.receipt)


def _open(store: Store, kiosk: KioskRow, blob: bytes) -> tuple[Record, str]:
    """The record and the kiosk key it verified with: the current key, else the one before the last rotation
    (records the kiosk sealed before its key was rotated are genuine: they came with its new token)."""
    assert store.keys is not None
    *earlier, last = kiosk.verify_keys
    for verify_key in earlier:
        with contextlib.suppress(SignatureMismatch):
            return open_sealed_record(blob, store.keys.box_secret, verify_key), verify_key
    return open_sealed_record(blob, store.keys.box_secret, last), last


@dataclass(frozen=True)
class ImportResult:
    """What importing one USB bundle did."""

    bundle: Path
    kiosk_id: str
    ack: Path
    #: Records the service now holds (new or already received), acknowledged in the ack file.
    acknowledged: int
    #: Of those, records received for the first time.
    new: int
    #: (record_id, reason) of records refused for good (listed as rejected in the ack file).
    rejected: list[tuple[str, str]]
    #: (record_id, what is wrong) of records missing or damaged in the bundle (neither acknowledged nor
    #: rejected: the kiosk still holds them and sends them later).
    problems: list[tuple[str, str]]

    def summary(self) -> str:
        """One line for the technician, then one per rejected or damaged record."""
        line = (
            f"{self.bundle.name}: kiosk {self.kiosk_id}, {self.acknowledged} record(s) acknowledged "
            f"({self.new} new), {len(self.rejected)} rejected, {len(self.problems)} damaged or missing; "
            f"acknowledgement written to {self.ack}"
        )
        details = [f"  rejected {rid}: {why}" for rid, why in self.rejected]
        details += [f"  damaged {rid}: {why}" for rid, why in self.problems]
        return "\n".join([line, *details])


def import_bundle(store: Store, bundle_path: Path, ack_out: Path) -> ImportResult:
    """Import a kiosk's USB bundle exactly as HTTP deliveries, and write the signed acknowledgement file.

    Importing the same bundle again stores nothing new and acknowledges the same records with the same
    receipts. A revoked kiosk's bundle is still imported (a technician carried it in), its records flagged
    ``after_revocation``.

    Raises:
        kiosk.usb_export.BundleError: not a bundle, a kiosk that is not enrolled, or a manifest the kiosk
            did not sign.
        OSError: the bundle cannot be read or the acknowledgement cannot be written.
    """

    def enrolled_keys(kiosk_id: str) -> tuple[str, ...] | None:
        # The previous key too: a bundle written before a key rotation was signed with it.
        kiosk = store.kiosk(kiosk_id)
        return kiosk.verify_keys if kiosk else None

    bundle = read_bundle(bundle_path, enrolled_keys)
    kiosk = store.kiosk(bundle.kiosk_id)
    assert kiosk is not None and store.keys is not None  # read_bundle refuses kiosks that are not enrolled
    acknowledged: list[tuple[str, str, str]] = []
    rejected: list[tuple[str, str, str]] = []
    new = 0
    for record_id, blob, sha256 in bundle.records:
        answer = ingest_record(store, kiosk, record_id, sha256, blob, "usb")
        if answer.accepted:
            acknowledged.append((record_id, sha256, answer.body))
            new += answer.status == HTTPStatus.CREATED
        else:
            rejected.append((record_id, sha256, answer.detail))
    ack = write_ack(ack_out, bundle, acknowledged, store.keys.sign_secret, rejected=rejected)
    log.info(
        "bundle %s from %s: %d acknowledged, %d rejected",
        bundle.bundle_id,
        kiosk.kiosk_id,
        len(acknowledged),
        len(rejected),
    )
    return ImportResult(
        bundle=Path(bundle_path),
        kiosk_id=kiosk.kiosk_id,
        ack=ack,
        acknowledged=len(acknowledged),
        new=new,
        rejected=[(rid, why) for rid, _sha, why in rejected],
        problems=list(bundle.problems),
    )
