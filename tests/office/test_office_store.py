"""The store on SQLite and on a real PostgreSQL: schema, exactly-once, lookups, registry, heartbeats."""

from __future__ import annotations

import base64
import dataclasses
import datetime

import nacl.signing
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from ingest_lab import sample_record

from kiosk.protocol import verify_receipt
from kiosk.reference import reference_for
from kiosk.sealing import KioskIdentity, seal_record
from office import db
from office.ingest import ingest_record
from office.store import KeyConflict, KeysRequired, NewRecord, RegistryError, Store

KIOSK = "BMT-MODAYAG-01"
TOKEN = "token-of-modayag-01-0123456789"


@pytest.fixture
def identity(tmp_path) -> KioskIdentity:
    return KioskIdentity.load_or_create(tmp_path / "kiosk-keys")


@pytest.fixture
def enrolled(store, identity) -> Store:
    store.enroll(KIOSK, identity.verify_key_b64, TOKEN, actor="tester")
    return store


def deliver(store: Store, identity: KioskIdentity, seq: int = 0, **fields):
    record = sample_record(KIOSK, seq=seq)
    if fields:
        record = dataclasses.replace(record, fields={**record.fields, **fields})
    sealed = seal_record(record, identity, store.keys.box_public)
    kiosk = store.kiosk(KIOSK)
    return record, sealed, ingest_record(store, kiosk, sealed.record_id, sealed.sha256, sealed.blob, "http")


def test_the_migrations_make_exactly_the_declared_tables(database):
    engine = db.make_engine(database)
    try:
        assert db.migrate(engine) == (None, "0002_counter")
        assert db.migrate(engine) == ("0002_counter", "0002_counter")  # nothing left to do
        db.check_schema(engine)
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), db.metadata) == []
            unique = sa.inspect(conn).get_unique_constraints("records")
        assert {"kiosk_id", "record_id"} in [set(u["column_names"]) for u in unique]
    finally:
        engine.dispose()


def test_an_unmigrated_database_is_refused_with_the_command_to_run(database):
    engine = db.make_engine(database)
    try:
        with pytest.raises(db.SchemaOutOfDate, match="dukcapil-office migrate"):
            db.check_schema(engine)
    finally:
        engine.dispose()


def test_a_record_is_stored_once_with_its_signed_receipt(enrolled, identity):
    record, sealed, first = deliver(enrolled, identity)
    again = ingest_record(
        enrolled, enrolled.kiosk(KIOSK), sealed.record_id, sealed.sha256, sealed.blob, "http"
    )

    assert (first.status, again.status) == (201, 200)
    assert again.body == first.body
    verify_key = nacl.signing.VerifyKey(base64.b64decode(enrolled.keys.sign_public))
    verify_receipt(first.body, verify_key, record_id=record.record_id, kiosk_id=KIOSK, sha256=sealed.sha256)
    (row,) = enrolled.record_rows()
    assert row.sealed == sealed.blob  # sealed at rest, exactly as received
    assert (row.reference_code, row.service, row.state) == (
        reference_for(record.record_id),
        "ektp",
        "received",
    )
    assert row.captured_at == datetime.datetime.fromisoformat(record.created_at)
    assert row.received_at.tzinfo is not None and row.captured_at.tzinfo is not None
    assert enrolled.open_record(row) == record


def test_the_same_key_with_another_body_is_a_conflict(enrolled, identity):
    record, sealed, _ = deliver(enrolled, identity)
    other = seal_record(record, identity, enrolled.keys.box_public)  # a sealed box is never the same twice
    answer = ingest_record(enrolled, enrolled.kiosk(KIOSK), other.record_id, other.sha256, other.blob, "http")
    assert answer.status == 422 and "another record" in answer.detail
    with pytest.raises(KeyConflict):
        new = dataclasses.replace(_new_record(enrolled, sealed), sha256=other.sha256, sealed=other.blob)
        enrolled.store_record(new)
    assert enrolled.count() == 1


def _new_record(store, sealed) -> NewRecord:
    """The stored row of ``sealed`` as the NewRecord that stored it."""
    row = store.find(sealed.record_id, KIOSK)
    return NewRecord(**{f.name: getattr(row, f.name) for f in dataclasses.fields(NewRecord)})


def test_find_by_reference_takes_what_a_citizen_reads_out(enrolled, identity):
    record, _, _ = deliver(enrolled, identity, 1)
    deliver(enrolled, identity, 2)
    code = reference_for(record.record_id)
    spoken = code.lower().replace("-", " ").replace("1", "l").replace("0", "o")

    for text in (code, spoken, code.replace("-", "")):
        assert [row.record_id for row in enrolled.find_by_reference(text)] == [record.record_id]
    wrong_check = code[:-1] + ("0" if code[-1] != "0" else "1")
    assert enrolled.find_by_reference(wrong_check) == []
    assert enrolled.find_by_reference("not a code") == []


def test_nik_lookup_goes_through_the_keyed_hash_and_no_column_holds_plaintext(enrolled, identity):
    nik = "7110014501990003"
    record, _, _ = deliver(enrolled, identity, 3, nik=nik, full_name="SITI WARGA CONTOH")
    deliver(enrolled, identity, 4)

    assert [row.record_id for row in enrolled.find_by_nik(nik)] == [record.record_id]
    assert enrolled.find_by_nik("7110014501990004") == []
    with enrolled.engine.connect() as conn:
        everything = repr([list(conn.execute(sa.select(table))) for table in db.metadata.sorted_tables])
    assert nik not in everything and "SITI" not in everything
    assert Store(enrolled.engine).find_by_reference(reference_for(record.record_id))  # no key needed for this
    with pytest.raises(KeysRequired):
        Store(enrolled.engine).find_by_nik(nik)


def test_registry_enrol_rotate_revoke_are_audited(enrolled, identity, tmp_path):
    new_identity = KioskIdentity.load_or_create(tmp_path / "new-keys")
    _, sealed, _ = deliver(enrolled, identity, 5)
    enrolled.rotate(KIOSK, new_identity.verify_key_b64, "a-brand-new-token-0123456789", actor="tech")

    assert enrolled.kiosk_for_token(TOKEN) is None
    assert enrolled.kiosk_for_token("a-brand-new-token-0123456789").verify_key == new_identity.verify_key_b64
    (old,) = enrolled.record_rows()
    assert enrolled.open_record(old).record_id == sealed.record_id  # checked with the key it came with

    enrolled.revoke(KIOSK, actor="head of office", reason="stolen")
    kiosk = enrolled.kiosk(KIOSK)
    assert kiosk.revoked and kiosk.revoked_at is not None and kiosk.rotated_at is not None
    with pytest.raises(RegistryError, match="already revoked"):
        enrolled.revoke(KIOSK)
    with pytest.raises(RegistryError, match="revoked"):
        enrolled.rotate(KIOSK, identity.verify_key_b64, "yet-another-token-0123456789")
    with pytest.raises(RegistryError, match="revoked"):
        enrolled.enroll(KIOSK, identity.verify_key_b64, "yet-another-token-0123456789")
    audit = [(a.actor, a.action, a.detail) for a in enrolled.audit(KIOSK)]
    assert audit == [
        ("tester", "enrol", f"verify key {identity.verify_key_b64}"),
        ("tech", "rotated", f"verify key {new_identity.verify_key_b64}"),
        ("head of office", "revoke", "stolen"),
    ]


def test_a_record_sealed_before_a_key_rotation_still_arrives(enrolled, identity, tmp_path):
    before = seal_record(sample_record(KIOSK, seq=8), identity, enrolled.keys.box_public)  # still queued
    new_identity = KioskIdentity.load_or_create(tmp_path / "new-keys")
    enrolled.rotate(KIOSK, new_identity.verify_key_b64, "a-brand-new-token-0123456789")
    stranger = KioskIdentity.load_or_create(tmp_path / "stranger-keys")
    forged = seal_record(sample_record(KIOSK, seq=9), stranger, enrolled.keys.box_public)
    kiosk = enrolled.kiosk(KIOSK)

    kept = ingest_record(enrolled, kiosk, before.record_id, before.sha256, before.blob, "http")
    refused = ingest_record(enrolled, kiosk, forged.record_id, forged.sha256, forged.blob, "http")

    assert kept.status == 201
    assert enrolled.find(before.record_id, KIOSK).verify_key == identity.verify_key_b64
    assert refused.status == 422 and refused.detail.startswith("record rejected")
    assert kiosk.verify_keys == (new_identity.verify_key_b64, identity.verify_key_b64)


def test_records_stored_after_the_revocation_are_flagged(enrolled, identity):
    deliver(enrolled, identity, 6)
    enrolled.revoke(KIOSK, reason="stolen")
    deliver(enrolled, identity, 7)  # e.g. a USB bundle a technician carried in
    assert [row.after_revocation for row in enrolled.record_rows()] == [False, True]


def test_enrol_refuses_bad_input(enrolled, identity):
    with pytest.raises(RegistryError, match="kiosk id"):
        enrolled.enroll("bad id!", identity.verify_key_b64, "x" * 20)
    with pytest.raises(RegistryError, match="verify key"):
        enrolled.enroll("K-1", "not-base64", "x" * 20)
    with pytest.raises(RegistryError, match="at least"):
        enrolled.enroll("K-1", identity.verify_key_b64, "short")
    with pytest.raises(RegistryError, match="another kiosk"):
        enrolled.enroll("K-2", identity.verify_key_b64, TOKEN)
    with pytest.raises(RegistryError, match="not enrolled"):
        enrolled.revoke("K-3")
    assert [k.kiosk_id for k in enrolled.kiosks()] == [KIOSK]


def test_heartbeats_are_a_bounded_history_per_kiosk(database, keys, identity):
    now = [1_800_000_000.0]
    with Store.open(database, keys, clock=lambda: now[0], heartbeat_history=5) as store:
        store.enroll(KIOSK, identity.verify_key_b64, TOKEN)
        store.enroll("OTHER-01", identity.verify_key_b64, "other-token-0123456789")
        store.add_heartbeat("OTHER-01", {"n": -1})
        for n in range(12):
            now[0] += 60
            store.add_heartbeat(KIOSK, {"n": n})

        assert [beat.snapshot["n"] for beat in store.heartbeats(KIOSK)] == [7, 8, 9, 10, 11]
        assert [beat.snapshot["n"] for beat in store.heartbeats("OTHER-01")] == [-1]  # others untouched
        since = datetime.datetime.fromtimestamp(now[0] - 120, tz=datetime.UTC)
        assert [beat.snapshot["n"] for beat in store.heartbeats(KIOSK, since)] == [9, 10, 11]
        summary = {kiosk_id: (state, count, last) for kiosk_id, state, count, last in store.summary()}
        assert summary[KIOSK] == ("active", 0, datetime.datetime.fromtimestamp(now[0], tz=datetime.UTC))
