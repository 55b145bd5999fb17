"""Kiosk-level events: what the kiosk's services tell the main loop (and maintenance) from their threads.

They travel on the same :class:`hal.events.EventQueue` as the device events, so the UI drains one queue.
Others may append event types here (keep them small, frozen, and free of personal data).
"""

from __future__ import annotations

from dataclasses import dataclass

from hal.events import Event


@dataclass(frozen=True)
class SyncStatusChanged(Event):
    """The sync worker's state or the queue changed.

    Attributes:
        state: ``idle`` (nothing to send), ``sending``, ``waiting`` (backing off after a failure),
            ``held`` (the server rejects the kiosk's credentials) or ``stopped``.
        pending: records waiting to be delivered (pending + being sent).
        dead: records the server rejected for good (a technician must look at them).
        detail: plain words for the maintenance screen, e.g. the last error.
    """

    state: str
    pending: int
    dead: int
    detail: str = ""


@dataclass(frozen=True)
class CredentialsRejected(Event):
    """The server answered 401/403: the whole queue is held until the kiosk's token is fixed.

    Attributes:
        status: 401 (token unknown) or 403 (token of another kiosk).
        reason: the server's explanation, in plain words.
    """

    status: int
    reason: str


@dataclass(frozen=True)
class RecordRejected(Event):
    """The server rejected a record for good (400/413/422): it is dead-lettered, kept for a technician."""

    record_id: str
    status: int | None
    reason: str


@dataclass(frozen=True)
class DeliveryAlert(Event):
    """Something a technician must look at, although no record is lost: a middlebox (proxy, captive portal)
    answering for the ingest service, or a "delivery" without the service's signed receipt.

    Attributes:
        reason: plain words naming what answered and what to check.
    """

    reason: str


@dataclass(frozen=True)
class RecordSaved(Event):
    """The citizen's record is committed to the outbox (sealed): the receipt may be shown.

    Attributes:
        reference: the short reference printed on the receipt.
        record_id: the record's uuid.
    """

    reference: str
    record_id: str
    #: The receipt's QR payload, signed by the kiosk (:mod:`kiosk.receipt_qr`); None = the reference alone.
    qr_payload: str | None = None


@dataclass(frozen=True)
class RecordSaveFailed(Event):
    """Saving the citizen's record failed; nothing was stored and every answer is kept for a retry.

    Attributes:
        reason: a code the UI translates (``"storage_full"``, ``"storage_error"``, ...).
        detail: the technical detail for the log and the technician (never personal data).
    """

    reason: str
    detail: str = ""


@dataclass(frozen=True)
class StopRequested(Event):
    """The process was asked to stop (SIGTERM from systemd, SIGINT from a terminal): run the clean shutdown.

    Attributes:
        reason: what asked, e.g. ``SIGTERM``.
    """

    reason: str
