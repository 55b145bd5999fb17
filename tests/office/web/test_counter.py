"""The counter on a real office store: find, verify receipts offline, states, ticks, search, export."""

from __future__ import annotations

import csv
import datetime
import io
import json

import pytest

from kiosk.receipt_qr import QR_SIGNATURE_CONTEXT, encode_receipt_qr, parse_receipt_qr
from kiosk.reference import reference_for
from kiosk.sealing import KioskIdentity, SealedRecord
from office.counter import CounterError, Found, ReceiptNotReceived, Refused, State


def test_a_typed_code_is_forgiven_and_finds_the_record(desk):
    sealed, _ = desk.seal(desk.record(1))
    desk.deliver(sealed)
    code = reference_for(sealed.record_id)
    sloppy = code.lower().replace("-", " ").replace("0", "o").replace("1", "l")
    found = desk.counter.find(sloppy, desk.officer)
    assert isinstance(found, Found) and [r.record_id for r in found.rows] == [sealed.record_id]


@pytest.mark.parametrize("text", ["", "hello", "7KQ2-M9XD-4RB"])
def test_not_a_code_is_refused_with_a_sentence(desk, text):
    found = desk.counter.find(text, desk.officer)
    assert isinstance(found, Refused) and found.message.endswith(".")


def test_a_valid_code_that_has_not_arrived(desk):
    sealed, _ = desk.seal(desk.record(1))
    found = desk.counter.find(reference_for(sealed.record_id), desk.officer)
    assert isinstance(found, Refused) and "has arrived" in found.message


def test_a_scanned_receipt_opens_its_record(desk):
    sealed, payload = desk.seal(desk.record(1))
    desk.deliver(sealed)
    found = desk.counter.find(payload, desk.officer)
    assert isinstance(found, Found) and found.rows[0].record_id == sealed.record_id


def test_a_receipt_not_received_is_verified_against_the_enrolled_key(desk):
    desk.store.add_heartbeat("BMT-MODAYAG-01", {"version": "1"})  # heard at 09:12 WITA
    desk.clock.advance(3600)
    sealed, payload = desk.seal(desk.record(1))  # captured at 10:12, then the network went down
    found = desk.counter.find(payload, desk.officer)
    assert isinstance(found, ReceiptNotReceived)
    assert found.claim.record_id == sealed.record_id and found.kiosk.kiosk_id == "BMT-MODAYAG-01"
    assert found.last_heard == datetime.datetime(2026, 12, 6, 1, 12, tzinfo=datetime.UTC)


def test_a_receipt_signed_by_another_key_is_refused_and_audited(desk, tmp_path):
    thief = KioskIdentity.load_or_create(tmp_path / "thief")
    sealed, _ = desk.seal(desk.record(1))
    found = desk.counter.find(encode_receipt_qr(sealed, thief), desk.officer)
    assert isinstance(found, Refused) and "not signed by kiosk" in found.message
    assert found.values == {"kiosk": "BMT-MODAYAG-01"}
    assert desk.accounts.audit_entries()[0].action == "forged_receipt"


def test_a_receipt_from_an_unknown_kiosk_is_refused(desk, tmp_path):
    stranger = KioskIdentity.load_or_create(tmp_path / "stranger")
    record = desk.record(1, kiosk_id="XYZ-ELSEWHERE-09")
    sealed = SealedRecord(record.record_id, record.kiosk_id, record.created_at, b"blob", "ab" * 32)
    found = desk.counter.find(encode_receipt_qr(sealed, stranger), desk.officer)
    assert isinstance(found, Refused) and "not enrolled" in found.message


def test_an_edited_hash_is_refused(desk):
    sealed, payload = desk.seal(desk.record(1))
    desk.deliver(sealed)
    claim = parse_receipt_qr(payload)
    # Someone swaps the body hash in the printed code: the kiosk's signature no longer covers it.
    edited = SealedRecord(sealed.record_id, sealed.kiosk_id, sealed.created_at, b"", "00" * 32)
    forged = encode_receipt_qr(edited, desk.lab.identity)[:-103] + payload[-103:]
    assert (
        parse_receipt_qr(forged).body_sha256 == "00" * 32
        and parse_receipt_qr(forged).signature == claim.signature
    )
    found = desk.counter.find(forged, desk.officer)
    assert isinstance(found, Refused) and "forged or was altered" in found.message


def test_a_genuine_receipt_for_another_body_than_the_one_received_is_refused(desk):
    """The kiosk's own key signed a different body than it delivered: never serve on that receipt."""
    sealed, _ = desk.seal(desk.record(1))
    desk.deliver(sealed)
    other = SealedRecord(sealed.record_id, sealed.kiosk_id, sealed.created_at, b"", "11" * 32)
    found = desk.counter.find(encode_receipt_qr(other, desk.lab.identity), desk.officer)
    assert isinstance(found, Refused) and "does not match" in found.message
    assert QR_SIGNATURE_CONTEXT.startswith(b"dukcapil-kiosk receipt qr")


def test_open_is_audited_and_shows_the_content(desk):
    sealed, _ = desk.seal(desk.record(7))
    desk.deliver(sealed)
    view = desk.counter.open("BMT-MODAYAG-01", sealed.record_id, desk.officer)
    assert view.record.fields["full_name"] == "WARGA PERCOBAAN 7" and view.record.photo_jpeg
    assert view.state is State.RECEIVED and view.next_states() == (State.CHECKED, State.HAS_ISSUES)
    labels = dict(view.field_lines("en"))
    assert labels["Full name"] == "WARGA PERCOBAAN 7" and labels["seq"] == "7"
    [entry] = desk.accounts.audit_entries(record_id=sealed.record_id)
    assert (entry.username, entry.action, entry.kiosk_id) == ("siti", "view_record", "BMT-MODAYAG-01")
    with pytest.raises(CounterError, match="There is no record"):
        desk.counter.open("BMT-MODAYAG-01", "nope", desk.officer)


def test_ticks_states_and_their_audit(desk):
    sealed, _ = desk.seal(desk.record(1))
    desk.deliver(sealed)
    key = ("BMT-MODAYAG-01", sealed.record_id)
    desk.counter.tick(*key, ["kk"], desk.officer)
    with pytest.raises(CounterError, match="Unknown document"):
        desk.counter.tick(*key, ["passport"], desk.officer)
    with pytest.raises(CounterError, match="Write what is wrong"):
        desk.counter.move(*key, State.HAS_ISSUES, desk.officer)
    desk.counter.move(*key, "has_issues", desk.officer, "no letter from the village")
    with pytest.raises(CounterError, match="cannot become served"):
        desk.counter.move(*key, State.SERVED, desk.officer)
    desk.counter.tick(*key, ["kk", "cover_letter"], desk.officer)
    desk.counter.move(*key, State.CHECKED, desk.officer)
    desk.counter.move(*key, State.SERVED, desk.supervisor)
    view = desk.counter.open(*key, desk.officer)
    assert view.state is State.SERVED and view.ticked == {"kk", "cover_letter"}
    assert view.comment == "no letter from the village" and view.next_states() == ()
    with pytest.raises(CounterError, match="closed"):
        desk.counter.tick(*key, [], desk.officer)
    trail = [
        (e.username, e.action, e.detail) for e in reversed(desk.accounts.audit_entries(record_id=key[1]))
    ]
    assert trail == [
        ("siti", "documents", "kk"),
        ("siti", "state", "received -> has_issues: no letter from the village"),
        ("siti", "documents", "cover_letter,kk"),
        ("siti", "state", "has_issues -> checked"),
        ("budi", "state", "checked -> served"),
        ("siti", "view_record", ""),
    ]


def test_two_officers_cannot_both_move_a_record(desk):
    sealed, _ = desk.seal(desk.record(1))
    desk.deliver(sealed)
    key = ("BMT-MODAYAG-01", sealed.record_id)
    stale = desk.counter.row(*key)
    desk.counter.move(*key, State.CHECKED, desk.officer)
    # The second officer's page still showed "received": the guarded UPDATE refuses the stale move.
    desk.counter.row = lambda *_: stale
    with pytest.raises(CounterError, match="Someone else changed"):
        desk.counter.move(*key, State.HAS_ISSUES, desk.supervisor, "x")


def test_search_by_nik_day_kiosk_and_state(desk):
    first, _ = desk.seal(desk.record(1))
    desk.deliver(first)
    desk.clock.advance(86400)
    second, _ = desk.seal(desk.record(2))
    desk.deliver(second)
    desk.counter.move("BMT-MODAYAG-01", second.record_id, State.CHECKED, desk.officer)
    ids = lambda rows: [r.record_id for r in rows]  # noqa: E731
    assert ids(desk.counter.search(desk.officer, nik="7110000000000001")) == [first.record_id]
    assert ids(desk.counter.search(desk.officer, nik="7110000000000009")) == []
    assert ids(desk.counter.search(desk.officer, day=datetime.date(2026, 12, 7))) == [second.record_id]
    assert ids(desk.counter.search(desk.officer, state="checked")) == [second.record_id]
    assert ids(desk.counter.search(desk.officer, kiosk_id="OTHER")) == []
    assert ids(desk.counter.search(desk.officer, kiosk_id="BMT-MODAYAG-01")) == [
        first.record_id,
        second.record_id,
    ]
    assert [e.detail for e in desk.accounts.audit_entries() if e.action == "search_nik"] == ["by NIK"] * 2


def test_the_day_is_the_office_day(desk):
    # 23:30 UTC on the 5th is 07:30 on the 6th in WITA.
    desk.clock.now = datetime.datetime(2026, 12, 5, 23, 30, tzinfo=datetime.UTC).timestamp()
    sealed, _ = desk.seal(desk.record(1))
    desk.deliver(sealed)
    assert desk.counter.today() == datetime.date(2026, 12, 6)
    assert len(desk.counter.search(desk.officer, day=datetime.date(2026, 12, 6))) == 1
    assert desk.counter.search(desk.officer, day=datetime.date(2026, 12, 5)) == []


def test_daily_export_csv_and_json(desk):
    sealed, _ = desk.seal(desk.record(1, fields={"nik": "7110000000000001", "full_name": "=HYPERLINK(1)"}))
    desk.deliver(sealed)
    csv_text, json_text = desk.counter.export(datetime.date(2026, 12, 6), desk.officer)
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    assert len(rows) == 1 and rows[0]["nik"] == "7110000000000001"
    assert rows[0]["full_name"] == "'=HYPERLINK(1)"  # a spreadsheet shows it as text, never runs it
    assert rows[0]["reference"] == reference_for(sealed.record_id) and rows[0]["captured_at"].endswith(
        "+08:00"
    )
    data = json.loads(json_text)
    assert data["day"] == "2026-12-06" and data["records"][0]["fields"]["full_name"] == "=HYPERLINK(1)"
    assert desk.accounts.audit_entries()[0].detail == "2026-12-06: 1 records"
