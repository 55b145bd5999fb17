"""Registering a confirmed journey: record, seal, commit to the outbox, then tell the UI and wake sync.

When the citizen confirms on the review step, :meth:`kiosk.journey.Journey.confirm` hands over a
:class:`~kiosk.journey.SaveRequest` (a snapshot taken on the UI thread). :meth:`Registration.submit` does the
slow part on its own worker thread, never on the UI thread:

1. :meth:`kiosk.records.Record.new` makes the record (fresh UUID, timestamps, consent);
2. :func:`kiosk.sealing.seal_record` signs it with the kiosk key and seals it to the server's public key;
3. :meth:`kiosk.outbox.Outbox.enqueue` commits the sealed blob (durable when it returns);
4. only then :class:`kiosk.events.RecordSaved` (reference code, record id) is posted, so the receipt never
   appears for a record that is not on disk, and the sync worker is woken.

Any failure posts :class:`kiosk.events.RecordSaveFailed` with a reason code the UI translates and shows with
what to do; the citizen's answers stay in the journey (RAM) so they can try again:

=====================  ====================================================================================
reason                 meaning
=====================  ====================================================================================
``storage_full``       the data partition or the outbox size limit is full (:class:`~kiosk.outbox.OutboxFull`)
``storage_error``      the outbox could not be written (read-only, I/O error, damaged file)
``not_configured``     the server's public key is missing from the config: nothing can be sealed
``sealing_failed``     the server key in the config is unusable
``invalid_record``     the answers do not make a valid record (a bug: the journey validated them)
``internal_error``     anything else (logged with its traceback, without its message)
=====================  ====================================================================================

The ``detail`` of a failure names what went wrong for the technician and never carries personal data.

:func:`build_receipt` turns the journey's :class:`~kiosk.journey.ReceiptView` into the printer's
:class:`hal.printer.receipt.Receipt` (service name, reference, document checklist, "photo taken at the
counter", "saved on this kiosk, will be sent automatically"); its fixed sentences are English source strings
marked ``N_`` for the UI's gettext catalogs, translated through the ``translate`` callable the UI passes.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

from hal.events import EventQueue
from hal.printer.receipt import Receipt
from kiosk import __version__
from kiosk.events import RecordSaved, RecordSaveFailed
from kiosk.journey import PHOTO_AT_COUNTER, ReceiptView, SaveRequest
from kiosk.outbox import OutboxError, OutboxFull
from kiosk.receipt_qr import encode_receipt_qr
from kiosk.records import Consent, Record, RecordError, utc_timestamp
from kiosk.reference import reference_for
from kiosk.sealing import SealError, seal_record

if TYPE_CHECKING:
    from kiosk.outbox import Outbox
    from kiosk.sealing import KioskIdentity

log = logging.getLogger(__name__)


def N_(message: str) -> str:
    """Mark ``message`` for the gettext catalogs without translating it here (the UI translates)."""
    return message


class Registration:
    """Stores confirmed journeys as sealed records, one at a time, on a worker thread.

    Args:
        outbox: Where sealed records wait for the sync worker.
        identity: The kiosk's signing key.
        server_public_key: The registry server's public key (base64), from ``[server] public_key``.
        kiosk_id: This kiosk's id, from ``[kiosk] id``.
        events: The main loop's queue; :class:`RecordSaved` / :class:`RecordSaveFailed` go there.
        wake_sync: Called after each commit so the sync worker sends the record now (e.g.
            ``SyncWorker.wake``).
        software_version: Written into every record.
        clock: Seconds since the epoch, for the record's ``created_at``.
    """

    def __init__(
        self,
        *,
        outbox: Outbox,
        identity: KioskIdentity,
        server_public_key: str,
        kiosk_id: str,
        events: EventQueue,
        wake_sync: Callable[[], object] | None = None,
        software_version: str = __version__,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._outbox = outbox
        self._identity = identity
        self._server_public_key = server_public_key
        self._kiosk_id = kiosk_id
        self._events = events
        self._wake_sync = wake_sync
        self._software_version = software_version
        self._clock = clock
        # One worker: saves are rare (one per citizen) and must be committed in the order they were confirmed.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="registration")
        self._closed = threading.Event()

    def submit(self, request: SaveRequest) -> Future[RecordSaved | RecordSaveFailed]:
        """Register ``request`` on the worker thread; returns at once.

        The outcome is posted to ``events`` (and is also the future's result, for tests and tools).

        Raises:
            RuntimeError: after :meth:`close`.
        """
        if self._closed.is_set():
            raise RuntimeError("registration is closed")
        return self._executor.submit(self.register, request)

    def register(self, request: SaveRequest) -> RecordSaved | RecordSaveFailed:
        """Do the whole registration on the calling thread and post the outcome (the worker's job)."""
        outcome = self._store(request)
        if isinstance(outcome, RecordSaved) and self._wake_sync is not None:
            try:
                self._wake_sync()
            except Exception:  # the record is safe; a sync that did not wake retries on its timer
                log.exception("could not wake the sync worker; it will pick the record up on its timer")
        self._events.post(outcome)
        return outcome

    def close(self) -> None:
        """Finish the saves already submitted (a commit is never abandoned half-way) and stop the worker."""
        self._closed.set()
        self._executor.shutdown(wait=True)

    def __enter__(self) -> Registration:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _store(self, request: SaveRequest) -> RecordSaved | RecordSaveFailed:
        if not self._server_public_key:
            return _failed("not_configured", "the server's public key is not set ([server] public_key)")
        try:
            record = Record.new(
                kiosk_id=self._kiosk_id,
                service=request.service.id,
                language=request.language,
                fields=dict(request.fields),
                photo_jpeg=request.photo_jpeg,
                photo_note=request.photo_note,
                signature=request.signature,
                consent=Consent(
                    given=request.consent_given,
                    text_version=request.consent_version,
                    at=utc_timestamp(request.consent_at),
                ),
                software_version=self._software_version,
                clock=self._clock,
            )
            sealed = seal_record(record, self._identity, self._server_public_key)
            qr_payload = encode_receipt_qr(sealed, self._identity)
            # The plaintext record is not needed any more: drop it before the (slow) commit.
            del record
            self._outbox.enqueue(sealed)
        except RecordError as exc:
            return _failed("invalid_record", str(exc))
        except SealError as exc:
            return _failed("sealing_failed", str(exc))
        except OutboxFull as exc:
            return _failed("storage_full", str(exc))
        except OutboxError as exc:
            return _failed("storage_error", str(exc))
        except Exception as exc:  # whatever happens, the citizen must hear about it
            # The message of an unexpected error might quote a value: log where it happened, not what it said.
            frames = "".join(traceback.format_tb(exc.__traceback__))
            log.error("saving a record failed with %s at:\n%s", type(exc).__name__, frames)
            return _failed("internal_error", type(exc).__name__)
        log.info("record %s saved (%s)", sealed.record_id, request.service.id)
        return RecordSaved(
            reference=reference_for(sealed.record_id), record_id=sealed.record_id, qr_payload=qr_payload
        )


def _failed(reason: str, detail: str) -> RecordSaveFailed:
    log.error("a record could not be saved: %s (%s)", reason, detail)
    return RecordSaveFailed(reason=reason, detail=detail)


# --------------------------------------------------------------------------------------------- the receipt

_BRING = N_("Bring these documents to the counter:")
_IF_APPLICABLE = N_("(if applicable)")
_PHOTO_AT_COUNTER = N_("Your photo will be taken at the counter.")
_OFFLINE = N_("Saved on this kiosk. It will be sent to the registry automatically.")
_SHOW_CODE = N_("Show this code at the counter.")
_NO_PERSONAL_DATA = N_("This receipt holds no personal data.")


def build_receipt(
    view: ReceiptView, language: str, translate: Callable[[str], str] = lambda text: text
) -> Receipt:
    """The receipt to print (and to show when no printer works) for a saved journey.

    Args:
        view: The journey's receipt (:attr:`kiosk.journey.Journey.receipt`).
        language: ``"id"`` or ``"en"``, for the service's own texts.
        translate: The UI's gettext for ``language`` (the fixed sentences are marked ``N_`` in English).

    Returns:
        A receipt with the service name as title, the reference code (also in the QR code), the document
        checklist, and the notes on the photo and on sending. Nothing personal is on it.
    """
    lines: list[str] = [translate(_BRING)]
    for item in view.documents:
        label = item.label.get(language)
        lines.append(f"- {label}" if item.required else f"- {label} {translate(_IF_APPLICABLE)}")
        if item.note is not None:
            lines.append(f"  {item.note.get(language)}")
    notes = [notice.text(language) for notice in view.service_notices]
    if view.photo_note == PHOTO_AT_COUNTER:
        notes.append(translate(_PHOTO_AT_COUNTER))
    if view.offline:
        notes.append(translate(_OFFLINE))
    if notes:
        lines += ["", *notes]
    return Receipt(
        title=view.service.name.get(language),
        reference=view.reference,
        lines=tuple(lines),
        qr_data=view.qr_payload or view.reference,
        footer=(translate(_SHOW_CODE), translate(_NO_PERSONAL_DATA)),
    )
