"""A counter desk for the page tests: a real office store (SQLite file), an enrolled kiosk, accounts."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import argon2
import pytest
from ingest_lab import IngestLab

from kiosk.receipt_qr import encode_receipt_qr
from kiosk.records import Record, utc_timestamp
from kiosk.sealing import SealedRecord
from kiosk.services import load_services
from office import db
from office.accounts import Accounts, User
from office.counter import Counter
from office.ingest import ingest_record
from office.notices import Notices
from office.store import Store

#: 2026-12-06 09:12 in Bolaang Mongondow Timur (WITA, UTC+8).
MORNING = datetime.datetime(2026, 12, 6, 1, 12, tzinfo=datetime.UTC).timestamp()
#: Cheap argon2 parameters: the tests check behaviour, not the cost.
FAST_HASHER = argon2.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
PASSWORD = "correct horse battery"


class FakeClock:
    """Seconds since the epoch, moved by the test."""

    def __init__(self, now: float = MORNING) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Desk:
    lab: IngestLab
    clock: FakeClock
    store: Store
    accounts: Accounts
    counter: Counter
    notices: Notices
    officer: User
    supervisor: User

    def record(self, seq: int = 0, **changes: object) -> Record:
        """A sample record captured now (on the desk's clock)."""
        record = self.lab.record(seq, photo_size=3000)
        values = {name: getattr(record, name) for name in record.__dataclass_fields__}
        values.update({"created_at": utc_timestamp(self.clock()), **changes})
        return Record(**values)

    def seal(self, record: Record) -> tuple[SealedRecord, str]:
        """The sealed record and its receipt QR payload, as the kiosk's registration makes them."""
        sealed = self.lab.seal(record)
        return sealed, encode_receipt_qr(sealed, self.lab.identity)

    def deliver(self, sealed: SealedRecord) -> None:
        """Through the office's own ingest code (the HTTP and USB paths both end here)."""
        kiosk = self.store.kiosk(sealed.kiosk_id)
        answer = ingest_record(self.store, kiosk, sealed.record_id, sealed.sha256, sealed.blob, "http")
        assert answer.accepted, answer.detail


@pytest.fixture
def desk(tmp_path, database) -> Desk:
    """On SQLite and on PostgreSQL (tests/office/conftest.py's ``database``)."""
    lab = IngestLab.create(tmp_path / "lab", kiosk_id="BMT-MODAYAG-01")
    clock = FakeClock()
    engine = db.make_engine(database)
    db.migrate(engine)
    store = Store(engine, lab.keys, clock=clock)
    store.enroll(lab.kiosk_id, lab.identity.verify_key_b64, lab.token)
    accounts = Accounts(engine, clock=clock, hasher=FAST_HASHER)
    officer = accounts.create_user("siti", "Siti Mokodompit", "officer", PASSWORD)
    supervisor = accounts.create_user("budi", "Budi Paputungan", "supervisor", PASSWORD)
    desk = Desk(
        lab,
        clock,
        store,
        accounts,
        Counter(store, accounts, load_services()),
        Notices(engine, accounts),
        officer,
        supervisor,
    )
    yield desk
    store.close()
