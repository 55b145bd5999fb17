"""Registration: a confirmed journey becomes a sealed record in a real outbox, on a worker thread."""

from __future__ import annotations

import datetime
import logging
import threading
from types import MappingProxyType

import pytest

from kiosk.events import RecordSaved, RecordSaveFailed
from kiosk.journey import (
    CONSENT_VERSION,
    PHOTO_AT_COUNTER,
    Capabilities,
    Journey,
    ReceiptView,
    SaveRequest,
    Step,
)
from kiosk.outbox import Outbox
from kiosk.receipt_qr import parse_receipt_qr, verify_receipt_qr
from kiosk.records import PenPoint, SignatureCapture
from kiosk.reference import parse_reference, reference_for
from kiosk.regions import districts_of
from kiosk.registration import Registration, build_receipt
from kiosk.sealing import KioskIdentity, generate_server_keypair, open_sealed_record
from kiosk.services import load_services

CATALOG = load_services()
NIK = "7110045708900001"
FIELDS = {
    "nik": NIK,
    "kk_number": "7110041203150002",
    "full_name": "Siti Aminah Mokodompit",
    "sex": "female",
    "birth_place": "RSUD Kotamobagu",
    "birth_date": "1990-08-17",
    "marital_status": "single",
    "kecamatan": "71.10.04",
    "address": "Jl. Trans Sulawesi, RT 01",
}
PHOTO = b"\xff\xd8\xff\xe0 face"
WAIT = 10.0


def signature() -> SignatureCapture:
    samples = (PenPoint(0.0, 10, 10, True), PenPoint(0.05, 80, 40, True), PenPoint(0.1, 80, 40, False))
    return SignatureCapture(samples=samples, width=640, height=200, png=b"\x89PNG sig", source="pad")


def request(**changes) -> SaveRequest:
    values = dict(
        service=CATALOG.get("ektp"),
        language="id",
        fields=MappingProxyType(dict(FIELDS)),
        photo_jpeg=PHOTO,
        photo_note=None,
        signature=signature(),
        consent_given=True,
        consent_version=CONSENT_VERSION,
        consent_at=1_748_736_000.0,
        offline=False,
    )
    values.update(changes)
    return SaveRequest(**values)


@pytest.fixture
def server_keys() -> tuple[str, str]:
    return generate_server_keypair()


@pytest.fixture
def identity(tmp_path) -> KioskIdentity:
    return KioskIdentity.load_or_create(tmp_path / "keys")


@pytest.fixture
def outbox(tmp_path):
    with Outbox(tmp_path / "outbox.sqlite3") as box:
        yield box


class Wakes:
    """Counts sync wake-ups and remembers the thread they came from."""

    def __init__(self) -> None:
        self.threads: list[str] = []
        self.done = threading.Event()

    def __call__(self) -> None:
        self.threads.append(threading.current_thread().name)
        self.done.set()


@pytest.fixture
def wakes() -> Wakes:
    return Wakes()


@pytest.fixture
def registration(outbox, identity, server_keys, events, wakes):
    with Registration(
        outbox=outbox,
        identity=identity,
        server_public_key=server_keys[0],
        kiosk_id="BMT-MODAYAG-01",
        events=events,
        wake_sync=wakes,
        clock=lambda: 1_748_736_001.0,
    ) as registration:
        yield registration


def test_saves_a_sealed_record_then_reports_and_wakes_sync(
    registration, outbox, identity, server_keys, events, wakes
):
    outcome = registration.submit(request()).result(timeout=WAIT)
    assert isinstance(outcome, RecordSaved)
    assert events.wait_for(RecordSaved, timeout=WAIT) == outcome
    assert outcome.reference == reference_for(outcome.record_id)
    assert parse_reference(outcome.reference) == outcome.reference
    # The receipt's QR payload is signed by this kiosk and names the sealed body exactly.
    claim = parse_receipt_qr(outcome.qr_payload)
    verify_receipt_qr(claim, identity.verify_key_b64)
    assert claim.record_id == outcome.record_id and claim.kiosk_id == "BMT-MODAYAG-01"
    assert claim.body_sha256 == outbox.get(outcome.record_id).sha256
    # Committed before the event: the outbox already holds it, pending, and sync was woken from the worker.
    assert [item.record_id for item in outbox.items("pending")] == [outcome.record_id]
    assert wakes.threads and wakes.threads[0].startswith("registration")
    assert wakes.threads[0] != threading.main_thread().name
    blob = outbox.read_blob(outcome.record_id)
    assert NIK.encode() not in blob and PHOTO not in blob
    record = open_sealed_record(blob, server_keys[1], identity.verify_key_b64)
    assert record.fields == FIELDS
    assert record.photo_jpeg == PHOTO and record.photo_note is None
    assert record.signature == signature()
    assert record.service == "ektp" and record.language == "id" and record.kiosk_id == "BMT-MODAYAG-01"
    assert record.consent.given and record.consent.text_version == CONSENT_VERSION
    assert record.consent.at == "2025-06-01T00:00:00.000Z"
    assert record.created_at == "2025-06-01T00:00:01.000Z"


def test_photo_taken_at_the_counter_is_recorded(registration, outbox, identity, server_keys):
    outcome = registration.submit(request(photo_jpeg=None, photo_note=PHOTO_AT_COUNTER)).result(timeout=WAIT)
    record = open_sealed_record(outbox.read_blob(outcome.record_id), server_keys[1], identity.verify_key_b64)
    assert record.photo_jpeg is None and record.photo_note == PHOTO_AT_COUNTER


def test_storage_full_is_reported_and_nothing_is_stored(tmp_path, identity, server_keys, events):
    with Outbox(tmp_path / "small.sqlite3", max_size_bytes=64 * 1024) as small:
        registration = Registration(
            outbox=small, identity=identity, server_public_key=server_keys[0], kiosk_id="K1", events=events
        )
        big = request(photo_jpeg=b"\xff\xd8" + bytes(200_000))
        outcome = registration.submit(big).result(timeout=WAIT)
        registration.close()
        assert isinstance(outcome, RecordSaveFailed)
        assert outcome.reason == "storage_full" and "full" in outcome.detail
        assert events.wait_for(RecordSaveFailed, timeout=WAIT) == outcome
        assert small.counts()["pending"] == 0


def test_missing_server_key_is_reported(outbox, identity, events):
    registration = Registration(
        outbox=outbox, identity=identity, server_public_key="", kiosk_id="K1", events=events
    )
    outcome = registration.register(request())
    assert outcome == RecordSaveFailed(reason="not_configured", detail=outcome.detail, at=outcome.at)
    assert "public_key" in outcome.detail
    assert outbox.counts()["pending"] == 0
    registration.close()


def test_unusable_server_key_is_reported(outbox, identity, events):
    registration = Registration(
        outbox=outbox, identity=identity, server_public_key="not base64!", kiosk_id="K1", events=events
    )
    assert registration.register(request()).reason == "sealing_failed"
    registration.close()


def test_an_invalid_record_is_reported(registration):
    outcome = registration.register(request(language="Bahasa Indonesia"))
    assert outcome.reason == "invalid_record" and "language" in outcome.detail


class ExplodingOutbox:
    def enqueue(self, sealed):
        raise KeyError(NIK)  # an unexpected error whose message quotes personal data


def test_an_unexpected_error_is_reported_without_its_message(identity, server_keys, events, caplog):
    registration = Registration(
        outbox=ExplodingOutbox(),
        identity=identity,
        server_public_key=server_keys[0],
        kiosk_id="K1",
        events=events,
    )
    with caplog.at_level(logging.DEBUG):
        outcome = registration.register(request())
    registration.close()
    assert outcome.reason == "internal_error" and outcome.detail == "KeyError"
    assert "KeyError" in caplog.text and NIK not in caplog.text


def test_a_sync_wake_that_fails_does_not_undo_the_save(outbox, identity, server_keys, events):
    def broken_wake():
        raise RuntimeError("sync worker gone")

    registration = Registration(
        outbox=outbox,
        identity=identity,
        server_public_key=server_keys[0],
        kiosk_id="K1",
        events=events,
        wake_sync=broken_wake,
    )
    assert isinstance(registration.register(request()), RecordSaved)
    registration.close()


def test_closed_registration_refuses_new_work(registration):
    registration.close()
    with pytest.raises(RuntimeError):
        registration.submit(request())


def test_journey_to_outbox_to_receipt(registration, outbox, events):
    """The citizen's confirm hands a snapshot to the worker; the receipt appears only after the commit."""
    journey = Journey(CATALOG, districts=districts_of("71.10"), today=lambda: datetime.date(2025, 6, 1))
    journey.update_capabilities(Capabilities(network_ok=False))
    journey.start()
    journey.choose_language("en")
    journey.choose_service("kk_change")
    journey.next()
    journey.set_field("nik", "7110040501850002")
    journey.set_field("kk_number", "7110041203150002")
    journey.next()
    journey.set_field("full_name", "Budi Paputungan")
    journey.set_field("change_reason", "split")
    journey.set_field("kecamatan", "71.10.03")
    journey.next()
    journey.signature_done(signature())
    journey.set_consent(True)
    future = registration.submit(journey.confirm())
    assert journey.step is Step.SAVING
    outcome = future.result(timeout=WAIT)
    assert outbox.get(outcome.record_id).state == "pending"
    for event in events.drain():
        journey.apply_event(event)
    assert journey.step is Step.RECEIPT
    assert journey.receipt.reference == outcome.reference and journey.receipt.offline
    receipt = build_receipt(journey.receipt, journey.language)
    assert receipt.reference == outcome.reference
    assert (
        receipt.qr_data == outcome.qr_payload
        and parse_receipt_qr(receipt.qr_data).reference == receipt.reference
    )
    assert any("sent to the registry automatically" in line for line in receipt.lines)


def view(**changes) -> ReceiptView:
    service = CATALOG.get("ektp")
    values = dict(
        service=service,
        reference="7KQ2-M9XD-4RA",
        record_id="0b7f7e0e-6d7e-4c8e-9d3e-2f1a8c6b5a4d",
        documents=service.documents,
        photo_note=None,
        offline=False,
    )
    values.update(changes)
    return ReceiptView(**values)


def test_receipt_lists_the_checklist_in_the_citizen_language():
    receipt = build_receipt(view(), "id")
    assert receipt.title == "Perekaman KTP-el"
    assert receipt.reference == "7KQ2-M9XD-4RA" and receipt.qr_data == "7KQ2-M9XD-4RA"
    assert "- Kartu Keluarga (KK) asli atau fotokopi" in receipt.lines
    assert any(line.startswith("- Buku nikah") and line.endswith("(if applicable)") for line in receipt.lines)
    assert not any("counter." in line and "photo" in line for line in receipt.lines)
    assert not any("automatically" in line for line in receipt.lines)


def test_receipt_notes_photo_at_counter_and_offline_and_uses_the_translator():
    catalog = {
        "Your photo will be taken at the counter.": "Foto Anda akan diambil di loket.",
        "Saved on this kiosk. It will be sent to the registry automatically.": "Tersimpan di kios ini.",
    }
    receipt = build_receipt(
        view(photo_note=PHOTO_AT_COUNTER, offline=True), "id", lambda message: catalog.get(message, message)
    )
    assert receipt.lines[-2:] == ("Foto Anda akan diambil di loket.", "Tersimpan di kios ini.")
    english = build_receipt(view(photo_note=PHOTO_AT_COUNTER), "en")
    assert english.title == "e-KTP recording"
    assert "Your photo will be taken at the counter." in english.lines
